// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh observe: live flow verdict events. With a bus (--bus, or the bus
 * of the agent answering for the state directory) it follows every node's
 * bpfmesh.v1.flow.NODE subject; without one it reads the local pinned ring
 * buffer, which only one reader can drain (the agent, when one runs).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <jansson.h>

#include <abi/abi.h>

#include "agent.h"
#include "agent_sock.h"
#include "bus.h"
#include "cli.h"
#include "cmd_rootless.h"
#include "flow_json.h"
#include "id_names.h"
#include "log.h"
#include "pinned.h"
#include "rootless_probe.h"

#define OBSERVE_USAGE                                                                             \
	"usage: bpfmesh observe [--bus URL | --local] [--json] [--count N] [--timeout SECONDS]\n" \
	"        [--identity ID] [--from ID] [--to ID] [--namespace NS] [--verdict V] [--port "   \
	"N]\n"                                                                                    \
	"        [--node NAME]\n"

struct observe_ctx {
	struct flow_filter filter;
	bool is_json, is_local;
	const char *bus_url;
	unsigned int count; /* stop after this many events; 0: never */
	unsigned int timeout_s; /* 0: never */
	pthread_mutex_t lock; /* bus callbacks run on libnats threads */
	unsigned int seen;
	const struct id_names *names;
	int64_t boot_to_real_ns;
};

static volatile sig_atomic_t is_stopping;

static void on_signal(int sig)
{
	(void)sig;
	is_stopping = 1;
}

/* Filter and print one event; true once --count is reached. Caller holds the lock. */
static bool emit(struct observe_ctx *ctx, const json_t *ev)
{
	if ((ctx->count && ctx->seen >= ctx->count) || !flow_filter_match(&ctx->filter, ev))
		return ctx->count && ctx->seen >= ctx->count;
	if (ctx->is_json) {
		json_dumpf(ev, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		flow_json_print_line(stdout, ev);
	}
	fflush(stdout);
	ctx->seen++;
	return ctx->count && ctx->seen >= ctx->count;
}

static int on_ring_event(void *arg, void *data, size_t size)
{
	struct observe_ctx *ctx = arg;
	bool is_done;
	json_t *ev;

	if (size < sizeof(struct bm_flow_event))
		return 0;
	ev = flow_json_event(data, NULL, ctx->names, ctx->boot_to_real_ns);
	if (!ev)
		return 0;
	is_done = emit(ctx, ev);
	json_decref(ev);
	return is_done ? 1 : 0; /* 1 stops ring_buffer__poll */
}

static void on_bus_msg(void *arg, const char *subject, const void *data, size_t len)
{
	struct observe_ctx *ctx = arg;
	const json_t *events, *ev;
	json_int_t dropped;
	json_error_t jerr;
	json_t *msg;
	size_t i;

	msg = json_loadb(data, len, 0, &jerr);
	if (!json_is_object(msg) || json_integer_value(json_object_get(msg, "schema")) != 1) {
		pr_warn("observe: ignored a message on %s: not a schema 1 flow batch", subject);
		json_decref(msg);
		return;
	}
	dropped = json_integer_value(json_object_get(msg, "dropped"));
	if (dropped > 0)
		fprintf(stderr,
			"bpfmesh: observe: node %s dropped %lld events (rate limit or bus)\n",
			json_string_value(json_object_get(msg, "node")), (long long)dropped);
	events = json_object_get(msg, "events");
	pthread_mutex_lock(&ctx->lock);
	json_array_foreach (events, i, ev) {
		if (emit(ctx, ev))
			is_stopping = 1;
	}
	pthread_mutex_unlock(&ctx->lock);
	json_decref(msg);
}

static bool timed_out(const struct observe_ctx *ctx, const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ctx->timeout_s && now.tv_sec - start->tv_sec >= (time_t)ctx->timeout_s;
}

static int observe_ring(const struct cli_globals *g, struct observe_ctx *ctx)
{
	struct ring_buffer *rb = NULL;
	struct timespec start;
	int fd, err, ret = CLI_EXIT_ERROR;

	fd = pinned_map_fd(g->pin_dir, BM_MAP_EVENTS);
	if (fd < 0)
		return CLI_EXIT_ERROR;
	ctx->names = id_names_load(g->state_dir);
	ctx->boot_to_real_ns = flow_json_boot_to_real_ns();
	rb = ring_buffer__new(fd, on_ring_event, ctx, NULL);
	if (!rb) {
		fprintf(stderr, "bpfmesh: observe: open ring buffer: %s\n", strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!is_stopping && !(ctx->count && ctx->seen >= ctx->count) &&
	       !timed_out(ctx, &start)) {
		err = ring_buffer__poll(rb, 200);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "bpfmesh: observe: poll: %s\n", strerror(-err));
			goto out;
		}
	}
	ret = CLI_EXIT_OK;
out:
	ring_buffer__free(rb);
	id_names_free((struct id_names *)ctx->names);
	close(fd);
	return ret;
}

static int observe_bus(struct observe_ctx *ctx)
{
	struct bus_config bc = {.urls = ctx->bus_url, .name = "bpfmesh-observe"};
	char subject[128];
	struct timespec start;
	struct bus *bus;
	int err;

	snprintf(subject, sizeof(subject), FLOW_SUBJECT_PREFIX "%s",
		 ctx->filter.node ? ctx->filter.node : "*");
	err = bus_open(&bc, NULL, NULL, &bus);
	if (!err)
		err = bus_subscribe(bus, subject, on_bus_msg, ctx);
	if (err) {
		fprintf(stderr,
			"bpfmesh: observe: bus %s: %s; check the URL, or run observe "
			"with --local on a node without an agent\n",
			ctx->bus_url, strerror(-err));
		bus_close(bus);
		return CLI_EXIT_ERROR;
	}
	/* Every event published from now on is ours: scripts wait for this line. */
	fprintf(stderr, "bpfmesh: observe: following %s on %s\n", subject, ctx->bus_url);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!is_stopping && !timed_out(ctx, &start))
		usleep(50 * 1000);
	/* The bus reports its own orderly close as a lost connection: not news here. */
	log_set_level(LOG_LEVEL_WARN - 1);
	bus_close(bus);
	return CLI_EXIT_OK;
}

/* The bus of the agent answering for the state directory, or NULL (no agent). */
static char *agent_bus(const struct cli_globals *g)
{
	json_t *req = json_pack("{s:s}", "op", "status"), *reply = NULL;
	const char *urls;
	char sock[4096], *out = NULL;

	agent_sock_path(g->state_dir, sock, sizeof(sock));
	if (req && agent_sock_is_up(sock) && !agent_sock_call(sock, req, 5000, &reply)) {
		urls = json_string_value(json_object_get(json_object_get(reply, "bus"), "urls"));
		out = urls ? strdup(urls) : NULL;
	}
	json_decref(req);
	json_decref(reply);
	return out;
}

static const char **string_opt(struct observe_ctx *ctx, const char *name)
{
	struct flow_filter *f = &ctx->filter;

	return !strcmp(name, "--identity")    ? &f->identity
	       : !strcmp(name, "--from")      ? &f->from
	       : !strcmp(name, "--to")	      ? &f->to
	       : !strcmp(name, "--namespace") ? &f->ns
	       : !strcmp(name, "--verdict")   ? &f->verdict
	       : !strcmp(name, "--node")      ? &f->node
	       : !strcmp(name, "--bus")	      ? &ctx->bus_url
					      : NULL;
}

static int parse_one(struct observe_ctx *ctx, const char *name, const char *value)
{
	const char **s = string_opt(ctx, name);

	if (s) {
		*s = value;
		return 0;
	}
	if (!strcmp(name, "--count"))
		return cli_parse_u32(value, 1, UINT32_MAX, &ctx->count);
	if (!strcmp(name, "--timeout"))
		return cli_parse_u32(value, 1, 86400 * 365, &ctx->timeout_s);
	if (!strcmp(name, "--port")) {
		ctx->filter.has_port = true;
		return cli_parse_u32(value, 0, 65535, &ctx->filter.port);
	}
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct observe_ctx *ctx)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			ctx->is_json = true;
		} else if (!strcmp(argv[i], "--local")) {
			ctx->is_local = true;
		} else if (i + 1 >= argc || parse_one(ctx, argv[i], argv[i + 1])) {
			fprintf(stderr, "bpfmesh: observe: bad or incomplete option '%s%s%s'\n",
				argv[i], i + 1 < argc ? " " : "", i + 1 < argc ? argv[i + 1] : "");
			return -EINVAL;
		} else {
			i++;
		}
	}
	if (ctx->is_local && ctx->bus_url) {
		fprintf(stderr, "bpfmesh: observe: --local and --bus exclude each other\n");
		return -EINVAL;
	}
	return 0;
}

static bool has_arg(int argc, char **argv, const char *name)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

/* See cli.h. */
int cmd_observe(const struct cli_globals *g, int argc, char **argv)
{
	struct observe_ctx ctx = {.lock = PTHREAD_MUTEX_INITIALIZER};
	char *from_agent = NULL;
	int ret;

	/*
	 * A rootless forwarder judges in userland and appends its events to a
	 * file instead of the ring buffer: follow that (same lines and keys;
	 * --all reads it from the start), unless the bus is asked for, which a
	 * rootless agent publishes them on too.
	 */
	if (rootless_is_running(g->state_dir) && !has_arg(argc, argv, "--bus") &&
	    !has_arg(argc, argv, "--node"))
		return rootless_observe(g, argc, argv);
	if (parse_args(argc, argv, &ctx)) {
		fprintf(stderr, OBSERVE_USAGE "run 'bpfmesh observe --help' for examples\n");
		return CLI_EXIT_ERROR;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!ctx.is_local && !ctx.bus_url)
		ctx.bus_url = from_agent = agent_bus(g);
	if (ctx.bus_url) {
		ret = observe_bus(&ctx);
	} else {
		if (ctx.filter.node)
			pr_warn("observe: no agent answers for %s: showing this node's events only",
				g->state_dir);
		ret = observe_ring(g, &ctx);
	}
	free(from_agent);
	return ret;
}
