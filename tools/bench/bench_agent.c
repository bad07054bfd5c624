// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_agent: propagation through running agents, observed in the kernel.
 *
 *   bench_agent --socks SOCK1,SOCK2,... --pins PIN1,PIN2,... --policy A.yaml
 *               --policy B.yaml [--count N] [--revoke SPIFFE-ID]
 *
 * Policy: publish A and B alternately through the agent on SOCK1 (what
 * `policy load` does on a node with an agent) and time, from the request,
 * until the bm_config generation changed in every node's pinned maps, i.e.
 * every kernel enforces the new revision. Revocation: write auth entries for
 * the identity in every node's bm_auth, publish the revocation and time until
 * every node's entries are gone; then lift it and wait until every agent
 * has forgotten it. Prints p50/p99/max in milliseconds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <jansson.h>

#include <abi/abi.h>

#include "agent_sock.h"
#include "benchlib.h"
#include "ident_id.h"
#include "pinned.h"
#include "policy_store.h"

#define MAX_NODES 16
#define WAIT_NS 5000000000ULL

struct node {
	int config_fd, auth_fd;
	char sock[4096];
};

struct opts {
	const char *sock, *revoke_id, *policy[2];
	char *pins[MAX_NODES], *socks[MAX_NODES];
	struct node nodes[MAX_NODES];
	unsigned int n_nodes, count;
};

/* Poll gently: a spinning poller would steal the CPU the agents need (2 vCPUs). */
static void pause_us(long us)
{
	struct timespec ts = {0, us * 1000};

	nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	printf("%-34s n=%u p50=%.2f ms p99=%.2f ms max=%.2f ms\n", what, n, v[n / 2],
	       v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], v[n - 1]);
}

static uint32_t generation(int fd)
{
	struct bm_config cfg;
	__u32 zero = 0;

	return bpf_map_lookup_elem(fd, &zero, &cfg) ? 0 : cfg.generation;
}

static json_t *call(const char *sock, json_t *req)
{
	json_t *reply = NULL;

	if (!req || agent_sock_call(sock, req, 10000, &reply))
		reply = NULL;
	json_decref(req);
	if (reply && !json_is_true(json_object_get(reply, "ok"))) {
		fprintf(stderr, "bench_agent: %s\n",
			json_string_value(json_object_get(reply, "error")));
		json_decref(reply);
		reply = NULL;
	}
	return reply;
}

static json_t *sources(const char *path)
{
	struct policy_sources s = {0};
	json_t *arr;

	if (policy_sources_read(&s, path))
		return NULL;
	arr = json_pack("[{s:s, s:s%}]", "name", s.items[0].name, "data", s.items[0].data,
			s.items[0].len);
	policy_sources_free(&s);
	return arr;
}

/* One policy update: ms from request until every kernel runs a new generation. */
static int one_policy(struct opts *o, json_t *srcs, double *total_ms, double *ack_ms)
{
	uint32_t before[MAX_NODES];
	uint64_t t0, deadline;
	unsigned int i, done = 0;
	json_t *reply;

	for (i = 0; i < o->n_nodes; i++)
		before[i] = generation(o->nodes[i].config_fd);
	t0 = bench_now_ns();
	reply = call(o->sock, json_pack("{s:s, s:O}", "op", "policy-publish", "sources", srcs));
	if (!reply)
		return -EIO;
	json_decref(reply);
	*ack_ms = (double)(bench_now_ns() - t0) / 1e6;
	deadline = t0 + WAIT_NS;
	while (done != (1u << o->n_nodes) - 1 && bench_now_ns() < deadline) {
		for (i = 0; i < o->n_nodes; i++)
			if (!(done & (1u << i)) && generation(o->nodes[i].config_fd) != before[i])
				done |= 1u << i;
		pause_us(50);
	}
	*total_ms = (double)(bench_now_ns() - t0) / 1e6;
	return done == (1u << o->n_nodes) - 1 ? 0 : -ETIMEDOUT;
}

static bool all_revoked_count(struct opts *o, long want)
{
	unsigned int i;
	json_t *st;
	long n;

	for (i = 0; i < o->n_nodes; i++) {
		st = call(o->nodes[i].sock, json_pack("{s:s}", "op", "status"));
		n = st ? (long)json_integer_value(json_object_get(st, "revoked")) : -1;
		json_decref(st);
		if (n != want)
			return false;
	}
	return true;
}

/* One revocation: ms from request until no node's bm_auth has the identity. */
static int one_revoke(struct opts *o, uint32_t id, double *ms)
{
	struct bm_auth_value val = {.expires_boot_ns = UINT64_MAX / 2};
	struct bm_auth_key key = {.src_id = id, .dst_id = 1};
	unsigned int i, k, done = 0;
	uint64_t t0, deadline;
	json_t *reply;

	for (i = 0; i < o->n_nodes; i++)
		bpf_map_update_elem(o->nodes[i].auth_fd, &key, &val, BPF_ANY);
	t0 = bench_now_ns();
	reply = call(o->sock, json_pack("{s:s, s:s}", "op", "revoke", "identity", o->revoke_id));
	if (!reply)
		return -EIO;
	json_decref(reply);
	deadline = t0 + WAIT_NS;
	while (done != (1u << o->n_nodes) - 1 && bench_now_ns() < deadline) {
		for (i = 0; i < o->n_nodes; i++)
			if (!(done & (1u << i)) &&
			    bpf_map_lookup_elem(o->nodes[i].auth_fd, &key, &val))
				done |= 1u << i;
		pause_us(50);
	}
	*ms = (double)(bench_now_ns() - t0) / 1e6;
	reply = call(o->sock, json_pack("{s:s, s:s}", "op", "unrevoke", "identity", o->revoke_id));
	json_decref(reply);
	for (k = 0; k < 500 && !all_revoked_count(o, 0); k++)
		usleep(2000);
	return done == (1u << o->n_nodes) - 1 ? 0 : -ETIMEDOUT;
}

/* Split a comma list into at most MAX_NODES parts; returns the count. */
static unsigned int split(char *list, char **out)
{
	unsigned int n = 0;
	char *tok, *save;

	for (tok = list ? strtok_r(list, ",", &save) : NULL; tok && n < MAX_NODES;
	     tok = strtok_r(NULL, ",", &save))
		out[n++] = tok;
	return n;
}

static int parse(int argc, char **argv, struct opts *o)
{
	char *pins = NULL, *socks = NULL;
	int i, n_pol = 0;

	o->count = 100;
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--socks"))
			socks = argv[i + 1];
		else if (!strcmp(argv[i], "--pins"))
			pins = argv[i + 1];
		else if (!strcmp(argv[i], "--policy") && n_pol < 2)
			o->policy[n_pol++] = argv[i + 1];
		else if (!strcmp(argv[i], "--revoke"))
			o->revoke_id = argv[i + 1];
		else if (!strcmp(argv[i], "--count"))
			bench_parse_u32(argv[i + 1], 1, 100000, &o->count);
		else
			return -EINVAL;
	}
	o->n_nodes = split(pins, o->pins);
	if (split(socks, o->socks) != o->n_nodes)
		return -EINVAL;
	o->sock = o->socks[0];
	return i == argc && o->n_nodes && n_pol == 2 ? 0 : -EINVAL;
}

static int open_nodes(struct opts *o)
{
	unsigned int i;

	for (i = 0; i < o->n_nodes; i++) {
		o->nodes[i].config_fd = pinned_map_fd(o->pins[i], BM_MAP_CONFIG);
		o->nodes[i].auth_fd = pinned_map_fd(o->pins[i], BM_MAP_AUTH);
		if (o->nodes[i].config_fd < 0 || o->nodes[i].auth_fd < 0)
			return -ENOENT;
		snprintf(o->nodes[i].sock, sizeof(o->nodes[i].sock), "%s", o->socks[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	double *total, *ack;
	json_t *srcs[2];
	unsigned int i, n = 0;
	uint32_t id = 0;
	int err = 0;

	if (parse(argc, argv, &o) || open_nodes(&o)) {
		fprintf(stderr, "usage: bench_agent --socks SOCK1,SOCK2,... --pins PIN1,PIN2,... "
				"--policy A --policy B [--count N] [--revoke SPIFFE-ID]\n");
		return 2;
	}
	total = calloc(o.count, sizeof(*total));
	ack = calloc(o.count, sizeof(*ack));
	srcs[0] = sources(o.policy[0]);
	srcs[1] = sources(o.policy[1]);
	for (i = 0; total && ack && srcs[0] && srcs[1] && i < o.count && !err; i++)
		err = one_policy(&o, srcs[i & 1], &total[n], &ack[n]), n += !err;
	if (n) {
		report("policy: publish acknowledged", ack, n);
		report("policy: enforced on every node", total, n);
	}
	if (!err && o.revoke_id && !ident_numeric_id(o.revoke_id, &id)) {
		for (i = 0, n = 0; i < o.count && !err; i++)
			err = one_revoke(&o, id, &total[n]), n += !err;
		if (n)
			report("revocation: gone on every node", total, n);
	}
	if (err)
		fprintf(stderr, "bench_agent: stopped: %s\n", strerror(-err));
	json_decref(srcs[0]);
	json_decref(srcs[1]);
	free(total);
	free(ack);
	return err ? 1 : 0;
}
