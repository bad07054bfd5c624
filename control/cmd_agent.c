// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh agent: run the node agent, or talk to the local one over its socket. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "agent_rootless.h"
#include "agent_flows.h"
#include "agent_metrics.h"
#include "agent_sock.h"
#include "bus.h"
#include "cli.h"
#include "log.h"
#include "policy_store.h"
#include "policy_sources_json.h"

#define CALL_TIMEOUT_MS 30000

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static bool is_node_name(const char *s)
{
	return bus_is_valid_key(s) && !strpbrk(s, ".=") && strlen(s) < 64;
}

static int check_metrics_addr(const struct agent_config *c)
{
	struct sockaddr_storage ss;
	char why[256];
	socklen_t len;

	if (!c->metrics_addr)
		return 0;
	if (!agent_metrics_parse_addr(c->metrics_addr, c->is_metrics_public, &ss, &len, why,
				      sizeof(why)))
		return 0;
	fprintf(stderr, "bpfmesh: agent: --metrics-addr: %s\n", why);
	return -EINVAL;
}

/* The smallest value of a numeric option. */
static unsigned long num_min(const struct agent_config *c, const unsigned int *num)
{
	if (num == &c->nats_port)
		return 1;
	return num == &c->flow_rate || num == &c->allow_sample || num == &c->deny_event_rate ? 0
											     : 10;
}

static int parse_run(int argc, char **argv, struct agent_config *c, char *node, size_t len)
{
	unsigned int *num;
	int i;

	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rl =
			agent_rl_parse_opt(&c->rl_opts, argv[i], i + 1 < argc ? argv[i + 1] : NULL);

		if (rl < 0)
			return -EINVAL;
		if (rl) { /* an option of the rootless mode (agent_rootless.h) */
			i += rl - 1;
			continue;
		}

		num = !strcmp(argv[i], "--heartbeat-ms")    ? &c->heartbeat_ms
		      : !strcmp(argv[i], "--dead-after-ms") ? &c->dead_after_ms
		      : !strcmp(argv[i], "--nats-port")	    ? &c->nats_port
		      : !strcmp(argv[i], "--flow-rate")	    ? &c->flow_rate
		      : !strcmp(argv[i], "--allow-sample")  ? &c->allow_sample
		      : !strcmp(argv[i], "--deny-event-rate") ? &c->deny_event_rate
							    : NULL;
		if (!strcmp(argv[i], "--metrics-public")) {
			c->is_metrics_public = true;
			continue;
		}
		if (!strcmp(argv[i], "--no-sidecars")) {
			c->is_sidecars_off = true;
			continue;
		}
		if (!v && strcmp(argv[i], "run"))
			return -EINVAL;
		if (!strcmp(argv[i], "run") && i == 1)
			continue;
		if (num && cli_parse_u32(v, num_min(c, num),
					 num == &c->flow_rate || num == &c->deny_event_rate ? 1000000
											     : 3600000,
					 num))
			return -EINVAL;
		c->has_allow_sample |= num == &c->allow_sample;
		c->has_deny_event_rate |= num == &c->deny_event_rate;
		if (!strcmp(argv[i], "--bus"))
			c->bus_urls = v;
		else if (!strcmp(argv[i], "--node"))
			snprintf(node, len, "%s", v);
		else if (!strcmp(argv[i], "--socket"))
			c->sock_path = v;
		else if (!strcmp(argv[i], "--metrics-addr"))
			c->metrics_addr = v;
		else if (!strcmp(argv[i], "--sidecar-bin"))
			c->sidecar_bin = v;
		else if (!strcmp(argv[i], "--sidecar-bus"))
			c->sidecar_bus = v;
		else if (!num && agent_node_opt(c, argv[i], v))
			return -EINVAL;
		i++;
	}
	if (!is_node_name(node)) {
		fprintf(stderr, "bpfmesh: agent: node name '%s' must be letters, digits, - or _\n",
			node);
		return -EINVAL;
	}
	return c->dead_after_ms > c->heartbeat_ms ? check_metrics_addr(c) : -EINVAL;
}

static int agent_main(const struct cli_globals *g, int argc, char **argv)
{
	struct agent_config c = {
		.state_dir = g->state_dir,
		.pin_dir = g->pin_dir,
		.heartbeat_ms = AGENT_DEFAULT_HEARTBEAT_MS,
		.dead_after_ms = AGENT_DEFAULT_DEAD_AFTER_MS,
		.flow_rate = AGENT_FLOWS_DEFAULT_RATE,
	};
	char node[HOST_NAME_MAX + 1] = "", sock[4096];
	struct sigaction sa = {.sa_handler = on_signal};
	int err;

	if (gethostname(node, sizeof(node) - 1))
		snprintf(node, sizeof(node), "localhost");
	agent_sock_path(g->state_dir, sock, sizeof(sock));
	c.sock_path = sock;
	if (parse_run(argc, argv, &c, node, sizeof(node))) {
		fprintf(stderr,
			"usage: bpfmesh agent [run] [--bus nats://HOST:PORT[,...]] "
			"[--node NAME] [--heartbeat-ms N] [--dead-after-ms N (> heartbeat)] "
			"[--nats-port N] [--socket PATH] [--flow-rate N] [--allow-sample N] [--deny-event-rate N] "
			"[--metrics-addr HOST:PORT [--metrics-public]] [--rootless] [--workload "
			"NS/NAME[=CMD]]... "
			"[--identity NS/NAME=DOC]... [--port N]... [--udp-port N]... "
			"[--udp-idle S] [--ttl S] [--slirp-cidr CIDR] [--pod-cidr CIDR] [--uplink "
			"IFACE] "
			"[--cgroup-root DIR] [--rootfs-dir DIR] [--label K=V]... "
			"[--taint K=V:EFFECT]... [--cpu MILLI] [--memory BYTES] "
			"[--workload-ttl DURATION] [--auth-port PORT] [--auth-ttl DURATION] "
			"[--no-sidecars] [--sidecar-bin PATH] [--sidecar-bus URLS]\n");
		agent_rl_opts_free(c.rl_opts);
		return CLI_EXIT_ERROR;
	}
	c.node = node;
	if (log_get_level() < LOG_LEVEL_INFO)
		log_set_level(LOG_LEVEL_INFO);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	err = agent_run(&c, &stop_requested);
	agent_rl_opts_free(c.rl_opts);
	return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

/* Send req (reference taken) to the local agent; print its error. */
static int call(const struct cli_globals *g, json_t *req, json_t **reply)
{
	const char *error;
	char sock[4096];
	int err;

	if (!req)
		return -ENOMEM;
	agent_sock_path(g->state_dir, sock, sizeof(sock));
	err = agent_sock_call(sock, req, CALL_TIMEOUT_MS, reply);
	json_decref(req);
	if (err) {
		fprintf(stderr,
			"bpfmesh: no agent answers on %s: %s; start one with 'bpfmesh agent' "
			"(or pass the agent's --state-dir)\n",
			sock, strerror(-err));
		return err == -ECONNREFUSED ? -ENOENT : err;
	}
	if (json_is_true(json_object_get(*reply, "ok")))
		return 0;
	error = json_string_value(json_object_get(*reply, "error"));
	fprintf(stderr, "bpfmesh: agent: %s\n", error ? error : "request failed");
	json_decref(*reply);
	*reply = NULL;
	return -EIO;
}

/* Call and print "revision N" on success. */
static int call_rev(const struct cli_globals *g, json_t *req)
{
	json_t *reply = NULL;

	if (call(g, req, &reply))
		return CLI_EXIT_ERROR;
	if (json_object_get(reply, "revision"))
		printf("revision %lld\n",
		       (long long)json_integer_value(json_object_get(reply, "revision")));
	json_decref(reply);
	return CLI_EXIT_OK;
}

static void print_status(const json_t *st)
{
	const json_t *p, *bus = json_object_get(st, "bus"), *v;
	const char *key;
	size_t i;

	printf("node:        %s (%s)\n", json_string_value(json_object_get(st, "node")),
	       json_is_true(json_object_get(st, "ready")) ? "ready" : "replaying");
	printf("mode:        %s\n", json_string_value(json_object_get(st, "mode")) ?: "bpf");
	printf("bus:         %s %s\n", json_string_value(json_object_get(bus, "urls")),
	       json_is_true(json_object_get(bus, "connected")) ? "connected" : "DISCONNECTED");
	printf("revision:    %lld enforced (latest %lld), generation %lld, %lld rejected\n",
	       (long long)json_integer_value(json_object_get(st, "revision")),
	       (long long)json_integer_value(json_object_get(st, "latest_revision")),
	       (long long)json_integer_value(json_object_get(st, "generation")),
	       (long long)json_integer_value(json_object_get(st, "rejected")));
	printf("peers:\n");
	json_array_foreach (json_object_get(st, "peers"), i, p)
		printf("  %-16s %s revision %lld, seen %lld ms ago\n",
		       json_string_value(json_object_get(p, "node")),
		       json_is_true(json_object_get(p, "alive")) ? "alive" : "DEAD ",
		       (long long)json_integer_value(json_object_get(p, "revision")),
		       (long long)json_integer_value(json_object_get(p, "last_seen_ms")));
	printf("map fill:\n");
	json_object_foreach ((json_t *)json_object_get(st, "maps"), key, v)
		printf("  %-14s %lld\n", key, (long long)json_integer_value(v));
}

static int agent_status(const struct cli_globals *g, int argc, char **argv)
{
	json_t *reply = NULL;

	if (call(g, json_pack("{s:s}", "op", "status"), &reply))
		return CLI_EXIT_ERROR;
	if (argc > 1 && !strcmp(argv[1], "--json")) {
		json_dumpf(reply, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_status(reply);
	}
	json_decref(reply);
	return CLI_EXIT_OK;
}

/* See agent.h. */
int agent_client_publish(const char *state_dir, const struct policy_sources *srcs,
			 unsigned long long *revision)
{
	struct cli_globals g = {.state_dir = state_dir};
	json_t *reply = NULL;
	char sock[4096];
	int err;

	agent_sock_path(state_dir, sock, sizeof(sock));
	if (!agent_sock_is_up(sock))
		return -ENOENT;
	err = call(&g,
		   json_pack("{s:s, s:o}", "op", "policy-publish", "sources",
			     policy_sources_to_json(srcs)),
		   &reply);
	if (err)
		return err;
	*revision = (unsigned long long)json_integer_value(json_object_get(reply, "revision"));
	json_decref(reply);
	return 0;
}

static int agent_publish(const struct cli_globals *g, int argc, char **argv)
{
	struct policy_sources srcs = {0};
	unsigned long long rev = 0;
	int i, err = 0;

	for (i = 1; i < argc && !err; i++)
		err = policy_sources_read(&srcs, argv[i]);
	if (!err && !srcs.n) {
		fprintf(stderr, "usage: bpfmesh agent publish FILE...|-\n");
		err = -EINVAL;
	}
	if (!err)
		err = agent_client_publish(g->state_dir, &srcs, &rev);
	if (err == -ENOENT)
		fprintf(stderr, "bpfmesh: no agent runs for state directory %s\n", g->state_dir);
	if (!err)
		printf("published policy revision %llu\n", rev);
	policy_sources_free(&srcs);
	return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

static void set_label(json_t *labels, char *kv, char *eq)
{
	*eq = '\0';
	json_object_set_new(labels, kv, json_string(eq + 1));
}

/* endpoint put NS/NAME --identity URI --address A... [--label K=V]... [--node N] */
static json_t *endpoint_args(int argc, char **argv)
{
	json_t *ep, *addrs = json_array(), *labels = json_object();
	char *slash = argc > 2 ? strchr(argv[2], '/') : NULL, *eq;
	int i;

	ep = json_pack("{s:s%, s:s, s:o, s:o}", "namespace", argv[2],
		       slash ? (size_t)(slash - argv[2]) : (size_t)0, "name",
		       slash ? slash + 1 : "", "addresses", addrs, "labels", labels);
	for (i = 3; ep && i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--identity"))
			json_object_set_new(ep, "identity", json_string(argv[i + 1]));
		else if (!strcmp(argv[i], "--address"))
			json_array_append_new(addrs, json_string(argv[i + 1]));
		else if (!strcmp(argv[i], "--node"))
			json_object_set_new(ep, "node", json_string(argv[i + 1]));
		else if (!strcmp(argv[i], "--label") && (eq = strchr(argv[i + 1], '=')))
			set_label(labels, argv[i + 1], eq);
		else
			break;
	}
	if (!ep || i != argc || !slash || !json_object_get(ep, "identity")) {
		json_decref(ep);
		return NULL;
	}
	return ep;
}

static int agent_endpoint(const struct cli_globals *g, int argc, char **argv)
{
	json_t *ep;
	char key[300];

	if (argc == 3 && !strcmp(argv[1], "del") && strchr(argv[2], '/')) {
		snprintf(key, sizeof(key), "%s", argv[2]);
		*strchr(key, '/') = '.';
		return call_rev(g, json_pack("{s:s, s:s}", "op", "endpoint-delete", "key", key));
	}
	ep = argc > 2 && !strcmp(argv[1], "put") ? endpoint_args(argc, argv) : NULL;
	if (!ep) {
		fprintf(stderr, "usage: bpfmesh agent endpoint put NS/NAME --identity URI "
				"--address ADDR... [--label K=V]... [--node NODE]\n"
				"       bpfmesh agent endpoint del NS/NAME\n");
		return CLI_EXIT_ERROR;
	}
	return call_rev(g, json_pack("{s:s, s:o}", "op", "endpoint-put", "endpoint", ep));
}

static int agent_revoke(const struct cli_globals *g, int argc, char **argv)
{
	const char *op = !strcmp(argv[0], "revoke") ? "revoke" : "unrevoke";
	unsigned int id;

	if (argc != 2) {
		fprintf(stderr, "usage: bpfmesh agent %s SPIFFE-ID|NUMERIC-ID\n", op);
		return CLI_EXIT_ERROR;
	}
	if (!strncmp(argv[1], "spiffe://", 9))
		return call_rev(g, json_pack("{s:s, s:s}", "op", op, "identity", argv[1]));
	if (cli_parse_u32(argv[1], 1, UINT32_MAX, &id))
		return CLI_EXIT_ERROR;
	return call_rev(g, json_pack("{s:s, s:I}", "op", op, "id", (json_int_t)id));
}

/* raw BUCKET|- KEY|SUBJECT: stdin, unchecked, onto the bus (tests, operators). */
static int agent_raw(const struct cli_globals *g, int argc, char **argv)
{
	struct policy_sources in = {0};
	json_t *req;

	if (argc != 3 || policy_sources_read(&in, "-")) {
		fprintf(stderr, "usage: bpfmesh agent raw BUCKET|- KEY|SUBJECT <DATA\n");
		policy_sources_free(&in);
		return CLI_EXIT_ERROR;
	}
	req = json_pack("{s:s, s:s, s:s%}", "op", "raw", "key", argv[2], "data", in.items[0].data,
			in.items[0].len);
	if (req && strcmp(argv[1], "-"))
		json_object_set_new(req, "bucket", json_string(argv[1]));
	policy_sources_free(&in);
	return call_rev(g, req);
}

static const struct {
	const char *name;
	int (*run)(const struct cli_globals *g, int argc, char **argv);
} actions[] = {
	{"status", agent_status}, {"publish", agent_publish}, {"endpoint", agent_endpoint},
	{"revoke", agent_revoke}, {"unrevoke", agent_revoke}, {"raw", agent_raw},
};

/* See cli.h. */
int cmd_agent(const struct cli_globals *g, int argc, char **argv)
{
	size_t i;

	for (i = 0; argc > 1 && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(argv[1], actions[i].name))
			return actions[i].run(g, argc - 1, argv + 1);
	return agent_main(g, argc, argv);
}
