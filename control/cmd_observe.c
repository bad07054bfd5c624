// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh observe: stream flow verdict events from the pinned ring buffer. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <jansson.h>

#include <abi/abi.h>

#include "cli.h"
#include "cmd_rootless.h"
#include "id_names.h"
#include "names.h"
#include "pinned.h"
#include "rootless_probe.h"

struct observe_ctx {
	bool is_json;
	unsigned int count; /* stop after this many events; 0: never */
	unsigned int seen;
	const struct id_names *names;
};

static volatile sig_atomic_t is_stopping;

static void on_signal(int sig)
{
	(void)sig;
	is_stopping = 1;
}

static const char *format_addr(const struct bm_flow_event *e, const __u8 *addr, char *buf,
			       size_t len)
{
	return inet_ntop(e->family == BM_FAMILY_IPV6 ? AF_INET6 : AF_INET, addr, buf,
			 (socklen_t)len);
}

static void print_event(const struct observe_ctx *ctx, const struct bm_flow_event *e)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pbuf[8];
	const char *proto = names_proto(e->proto, pbuf, sizeof(pbuf));
	const char *src_name = id_names_get(ctx->names, e->src_id);
	const char *dst_name = id_names_get(ctx->names, e->dst_id);
	json_t *j;

	format_addr(e, e->saddr, src, sizeof(src));
	format_addr(e, e->daddr, dst, sizeof(dst));
	if (!ctx->is_json) {
		printf("%-10s %s:%u (%s) -> %s:%u (%s) %s %s rule %u\n", names_verdict(e->verdict),
		       src, ntohs(e->sport), src_name, dst, ntohs(e->dport), dst_name, proto,
		       names_reason(e->reason), e->rule_id);
		fflush(stdout);
		return;
	}
	j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:i, s:s, s:I, s:s, s:i, s:s, s:I, s:I, s:I}",
		      "verdict", names_verdict(e->verdict), "reason", names_reason(e->reason),
		      "src_id", (json_int_t)e->src_id, "src_identity", src_name, "src", src,
		      "sport", ntohs(e->sport), "dst_identity", dst_name, "dst_id",
		      (json_int_t)e->dst_id, "dst", dst, "dport", ntohs(e->dport), "proto", proto,
		      "rule_id", (json_int_t)e->rule_id, "ifindex", (json_int_t)e->ifindex,
		      "generation", (json_int_t)e->generation);
	if (!j)
		return;
	json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
	fflush(stdout);
	json_decref(j);
}

static int on_event(void *arg, void *data, size_t size)
{
	struct observe_ctx *ctx = arg;

	if (size < sizeof(struct bm_flow_event))
		return 0;
	print_event(ctx, data);
	ctx->seen++;
	if (ctx->count && ctx->seen >= ctx->count)
		return 1; /* stops ring_buffer__poll */
	return 0;
}

static int parse_args(int argc, char **argv, struct observe_ctx *ctx, unsigned int *timeout_s)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			ctx->is_json = true;
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			if (cli_parse_u32(argv[++i], 1, UINT32_MAX, &ctx->count))
				return -EINVAL;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			if (cli_parse_u32(argv[++i], 1, 86400 * 365, timeout_s))
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

/* See cli.h. */
int cmd_observe(const struct cli_globals *g, int argc, char **argv)
{
	struct observe_ctx ctx = {0};
	struct ring_buffer *rb = NULL;
	unsigned int timeout_s = 0;
	struct timespec start, now;
	int fd, err, ret = CLI_EXIT_ERROR;

	/*
	 * A rootless forwarder judges in userland and appends its events to a
	 * file instead of the ring buffer: follow that (same lines and keys,
	 * plus "source"; --all reads it from the start).
	 */
	if (rootless_is_running(g->state_dir))
		return rootless_observe(g, argc, argv);
	if (parse_args(argc, argv, &ctx, &timeout_s)) {
		fprintf(stderr,
			"usage: bpfmesh observe [--json] [--count N] [--timeout SECONDS]\n");
		return CLI_EXIT_ERROR;
	}
	fd = pinned_map_fd(g->pin_dir, BM_MAP_EVENTS);
	if (fd < 0)
		return CLI_EXIT_ERROR;
	ctx.names = id_names_load(g->state_dir);
	rb = ring_buffer__new(fd, on_event, &ctx, NULL);
	if (!rb) {
		fprintf(stderr, "bpfmesh: observe: open ring buffer: %s\n", strerror(errno));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!is_stopping) {
		err = ring_buffer__poll(rb, 200);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "bpfmesh: observe: poll: %s\n", strerror(-err));
			goto out;
		}
		if (ctx.count && ctx.seen >= ctx.count)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout_s && now.tv_sec - start.tv_sec >= (time_t)timeout_s)
			break;
	}
	ret = CLI_EXIT_OK;
out:
	ring_buffer__free(rb);
	id_names_free((struct id_names *)ctx.names);
	close(fd);
	return ret;
}
