// SPDX-License-Identifier: GPL-2.0-only
/*
 * meshsim: the scheduler's placement code (control/sched_place.c) over a
 * simulated cluster in one process, next to a centralized least-allocated
 * greedy scheduler on the same input. Reports placement time, balance
 * (max/mean node CPU utilisation), and replicas moved on one node failure
 * and on one node join (the failed node is the one holding the most
 * replicas; the joiner is a fresh node of random size).
 *
 * With --by-topic, placement is computed per placement topic
 * (control/sched_topic.h: each topic's replicas alone, with their own
 * bounded loads), as agents that receive only the topics they serve would.
 *
 *   meshsim [--nodes N] [--workloads N] [--replicas R] [--seed S] [--by-topic]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched_place.h"
#include "sched_topic.h"

struct sim {
	size_t n_nodes, n_reps;
	struct sched_node *nodes; /* n_nodes + 1: room for the joiner */
	char (*node_names)[32];
	struct pm_labels *labels;
	struct pm_label (*label_items)[2];
	struct sched_replica *reps;
	char (*keys)[64];
	struct wl_pod_spec pods[8]; /* constraint shapes shared by replicas */
};

static const char *const zones[] = {"z0", "z1", "z2", "z3"};
static struct sched_taint gpu_taint = {"dedicated", "gpu", WL_EFFECT_NO_SCHEDULE};
static struct pm_label zone_sel[4] = {
	{"zone", "z0"}, {"zone", "z1"}, {"zone", "z2"}, {"zone", "z3"}};
static struct wl_node_expr ssd_expr = {
	.key = "disk", .op = WL_NODE_IN, .values = (char *[]){"ssd"}, .n_values = 1};
static struct wl_node_term ssd_term = {&ssd_expr, 1};
static struct wl_toleration gpu_tol = {
	.key = "dedicated", .value = "gpu", .effect = WL_EFFECT_NO_SCHEDULE};

static bool is_by_topic;
static size_t n_topics = 1;

/* sched_place(), or sched_place_by_topic() with --by-topic. */
static int place(const struct sched_view *v, const struct sched_replica *reps, size_t n,
		 const struct sched_opts *opts, int32_t *out)
{
	if (is_by_topic)
		return sched_place_by_topic(v, reps, n, opts, out, &n_topics);
	return sched_place(v, reps, n, opts, out);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU time too: on a shared machine wall time includes waiting for a core. */
static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* Node i: 4/8/16/32 cores, 4 GiB per core, one of 4 zones, ssd on 60%, 5% gpu-tainted. */
static void make_node(struct sim *s, size_t i, unsigned int *seed)
{
	struct sched_node *n = &s->nodes[i];
	unsigned int cores = 4u << (rand_r(seed) % 4);

	snprintf(s->node_names[i], sizeof(s->node_names[i]), "node-%05zu", i);
	s->label_items[i][0] = (struct pm_label){"disk", rand_r(seed) % 10 < 6 ? "ssd" : "hdd"};
	s->label_items[i][1] = (struct pm_label){"zone", (char *)zones[rand_r(seed) % 4]};
	s->labels[i] = (struct pm_labels){s->label_items[i], 2};
	*n = (struct sched_node){.name = s->node_names[i],
				 .cpu_milli = cores * 1000ull,
				 .mem_bytes = (uint64_t)cores << 32,
				 .labels = &s->labels[i]};
	if (rand_r(seed) % 100 < 5) {
		n->taints = &gpu_taint;
		n->n_taints = 1;
	}
}

/* Shapes: none (68%), a zone (20%, 4 shapes), ssd affinity (10%), gpu toleration (2%). */
static const struct wl_pod_spec *pick_pod(struct sim *s, unsigned int *seed)
{
	unsigned int r = rand_r(seed) % 100;

	if (r < 68)
		return &s->pods[0];
	if (r < 88)
		return &s->pods[1 + r % 4];
	return r < 98 ? &s->pods[5] : &s->pods[6];
}

static int make_sim(struct sim *s, size_t n_nodes, size_t n_work, size_t per, unsigned int seed)
{
	static const uint64_t cpus[] = {100, 250, 500, 1000};
	size_t i;

	s->n_nodes = n_nodes;
	s->n_reps = n_work * per;
	s->nodes = calloc(n_nodes + 1, sizeof(*s->nodes));
	s->node_names = calloc(n_nodes + 1, sizeof(*s->node_names));
	s->labels = calloc(n_nodes + 1, sizeof(*s->labels));
	s->label_items = calloc(n_nodes + 1, sizeof(*s->label_items));
	s->reps = calloc(s->n_reps, sizeof(*s->reps));
	s->keys = calloc(s->n_reps, sizeof(*s->keys));
	if (!s->nodes || !s->node_names || !s->labels || !s->label_items || !s->reps || !s->keys)
		return -ENOMEM;
	for (i = 0; i < 4; i++)
		s->pods[1 + i].node_selector = (struct pm_labels){&zone_sel[i], 1};
	s->pods[5] = (struct wl_pod_spec){.terms = &ssd_term, .n_terms = 1};
	s->pods[6] = (struct wl_pod_spec){.tolerations = &gpu_tol, .n_tolerations = 1};
	for (i = 0; i <= n_nodes; i++)
		make_node(s, i, &seed);
	for (i = 0; i < s->n_reps; i++) {
		snprintf(s->keys[i], sizeof(s->keys[i]), "ns%zu/app-%zu/%zu", (i / per) % 50,
			 i / per, i % per);
		s->reps[i] = (struct sched_replica){
			.key = s->keys[i],
			.pod = i % per ? s->reps[i - 1].pod : pick_pod(s, &seed),
			.req = {.cpu_milli = i % per ? s->reps[i - 1].req.cpu_milli
						     : cpus[rand_r(&seed) % 4],
				.mem_bytes = 64ull << (20 + rand_r(&seed) % 4)}};
	}
	return 0;
}

/* max/mean of CPU utilisation over the nodes. */
static double balance(const struct sched_node *nodes, size_t n, const struct sched_replica *reps,
		      const int32_t *assign, size_t n_reps)
{
	double *used = calloc(n, sizeof(*used)), max = 0, sum = 0, u;
	size_t i;

	if (!used)
		return -1;
	for (i = 0; i < n_reps; i++)
		if (assign[i] >= 0)
			used[assign[i]] += (double)reps[i].req.cpu_milli;
	for (i = 0; i < n; i++) {
		u = used[i] / (double)nodes[i].cpu_milli;
		sum += u;
		max = u > max ? u : max;
	}
	free(used);
	return sum > 0 ? max / (sum / (double)n) : 0;
}

/*
 * The centralized baseline: replicas in input order, each on the fitting
 * node with the lowest CPU utilisation after placing it (least allocated).
 * Node fit per constraint shape is computed once (s->pods holds the shapes).
 */
static size_t greedy(const struct sim *s, const struct sched_node *nodes, size_t n, int32_t *out)
{
	size_t n_shapes = sizeof(s->pods) / sizeof(s->pods[0]), i, j, k, unplaced = 0;
	uint64_t *cpu = calloc(n, sizeof(*cpu)), *mem = calloc(n, sizeof(*mem));
	uint8_t *fit = malloc(n * n_shapes), *f;
	const struct sched_replica *r;
	double best, u;

	for (k = 0; fit && k < n_shapes; k++)
		for (j = 0; j < n; j++)
			fit[k * n + j] = sched_node_fits(
				&nodes[j], &(struct sched_replica){.pod = &s->pods[k]});
	for (i = 0; cpu && mem && fit && i < s->n_reps; i++) {
		r = &s->reps[i];
		f = fit + (size_t)(r->pod - s->pods) * n;
		out[i] = -1;
		for (j = 0, best = 2; j < n; j++) {
			if (!f[j] || cpu[j] + r->req.cpu_milli > nodes[j].cpu_milli ||
			    mem[j] + r->req.mem_bytes > nodes[j].mem_bytes)
				continue;
			u = (double)(cpu[j] + r->req.cpu_milli) / (double)nodes[j].cpu_milli;
			if (u < best) {
				best = u;
				out[i] = (int32_t)j;
			}
		}
		if (out[i] < 0) {
			unplaced++;
			continue;
		}
		cpu[out[i]] += r->req.cpu_milli;
		mem[out[i]] += r->req.mem_bytes;
	}
	free(cpu);
	free(mem);
	free(fit);
	return unplaced;
}

struct result {
	double place_s, fail_s, join_s, greedy_s, place_cpu_s, greedy_cpu_s;
	double balance, greedy_balance;
	int unplaced;
	size_t greedy_unplaced, on_victim, fail_moves, join_moves, greedy_fail_moves;
	bool is_deterministic;
};

static void free_sim(struct sim *s)
{
	free(s->nodes);
	free(s->node_names);
	free(s->labels);
	free(s->label_items);
	free(s->reps);
	free(s->keys);
}

/* The node holding the most replicas: the failure that moves the most. */
static size_t busiest(const struct sim *s, const int32_t *assign)
{
	size_t *count = calloc(s->n_nodes, sizeof(*count)), i, best = 0;

	for (i = 0; count && i < s->n_reps; i++)
		if (assign[i] >= 0)
			count[assign[i]]++;
	for (i = 0; count && i < s->n_nodes; i++)
		if (count[i] > count[best])
			best = i;
	free(count);
	return best;
}

static int run_failure(struct sim *s, const struct sched_view *v, const int32_t *assign,
		       struct result *r)
{
	size_t victim = busiest(s, assign), i, n = s->n_nodes - 1;
	struct sched_node *survivors = malloc(n * sizeof(*survivors));
	int32_t *prev = malloc(s->n_reps * sizeof(*prev)), *after = malloc(s->n_reps * 4);
	int32_t *g_before = malloc(s->n_reps * 4), *g_after = malloc(s->n_reps * 4);
	struct sched_opts o = {.prev = prev};
	struct sched_view nv = {0};
	int err = -ENOMEM;
	double t0;

	if (!survivors || !prev || !after || !g_before || !g_after)
		goto out;
	memcpy(survivors, s->nodes, victim * sizeof(*survivors));
	memcpy(survivors + victim, s->nodes + victim + 1, (n - victim) * sizeof(*survivors));
	for (i = 0; i < s->n_reps; i++)
		r->on_victim += (size_t)assign[i] == victim;
	err = sched_view_init(&nv, survivors, n);
	if (err)
		goto out;
	t0 = now_s();
	err = sched_remap(v, assign, s->n_reps, &nv, prev, NULL);
	if (!err)
		err = place(&nv, s->reps, s->n_reps, &o, after) < 0 ? -ENOMEM : 0;
	r->fail_s = now_s() - t0;
	r->fail_moves = sched_moves(v, assign, &nv, after, s->n_reps, NULL);
	/* the greedy baseline has no memory: it recomputes everything */
	greedy(s, s->nodes, s->n_nodes, g_before);
	greedy(s, survivors, n, g_after);
	r->greedy_fail_moves = sched_moves(v, g_before, &nv, g_after, s->n_reps, NULL);
out:
	sched_view_release(&nv);
	free(survivors);
	free(prev);
	free(after);
	free(g_before);
	free(g_after);
	return err;
}

static int run_join(struct sim *s, const struct sched_view *v, const int32_t *assign,
		    struct result *r)
{
	int32_t *prev = malloc(s->n_reps * sizeof(*prev)), *after = malloc(s->n_reps * 4);
	bool *joined = calloc(s->n_nodes + 1, sizeof(*joined));
	struct sched_opts o = {.prev = prev, .is_joined = joined};
	struct sched_view nv = {0};
	int err = -ENOMEM;
	double t0;

	if (!prev || !after || !joined)
		goto out;
	err = sched_view_init(&nv, s->nodes, s->n_nodes + 1); /* node n_nodes is the joiner */
	if (err)
		goto out;
	t0 = now_s();
	err = sched_remap(v, assign, s->n_reps, &nv, prev, joined);
	if (!err)
		err = place(&nv, s->reps, s->n_reps, &o, after) < 0 ? -ENOMEM : 0;
	r->join_s = now_s() - t0;
	r->join_moves = sched_moves(v, assign, &nv, after, s->n_reps, NULL);
out:
	sched_view_release(&nv);
	free(prev);
	free(after);
	free(joined);
	return err;
}

static int run(struct sim *s, struct result *r)
{
	int32_t *a = malloc(s->n_reps * 4), *b = malloc(s->n_reps * 4), *g = malloc(s->n_reps * 4);
	struct sched_view v = {0};
	int err = -ENOMEM;
	double t0, c0;

	if (!a || !b || !g || sched_view_init(&v, s->nodes, s->n_nodes))
		goto out;
	t0 = now_s();
	c0 = cpu_s();
	r->unplaced = place(&v, s->reps, s->n_reps, NULL, a);
	r->place_cpu_s = cpu_s() - c0;
	r->place_s = now_s() - t0;
	if (r->unplaced < 0 || place(&v, s->reps, s->n_reps, NULL, b) < 0)
		goto out;
	r->is_deterministic = !memcmp(a, b, s->n_reps * sizeof(*a));
	r->balance = balance(s->nodes, s->n_nodes, s->reps, a, s->n_reps);
	t0 = now_s();
	c0 = cpu_s();
	r->greedy_unplaced = greedy(s, s->nodes, s->n_nodes, g);
	r->greedy_cpu_s = cpu_s() - c0;
	r->greedy_s = now_s() - t0;
	r->greedy_balance = balance(s->nodes, s->n_nodes, s->reps, g, s->n_reps);
	err = run_failure(s, &v, a, r);
	if (!err)
		err = run_join(s, &v, a, r);
out:
	sched_view_release(&v);
	free(a);
	free(b);
	free(g);
	return err;
}

static void report(const struct sim *s, const struct result *r)
{
	printf("meshsim: %zu nodes, %zu replicas, placed %s\n", s->n_nodes, s->n_reps,
	       is_by_topic ? "per topic" : "all together");
	if (is_by_topic)
		printf("%-34s %12zu\n", "placement topics", n_topics);
	printf("%-34s %12s %12s\n", "", "rendezvous", "greedy");
	printf("%-34s %12.3f %12.3f\n", "placement time (s)", r->place_s, r->greedy_s);
	printf("%-34s %12.3f %12.3f\n", "placement CPU time (s)", r->place_cpu_s, r->greedy_cpu_s);
	printf("%-34s %12.3f %12.3f\n", "balance (max/mean CPU utilisation)", r->balance,
	       r->greedy_balance);
	printf("%-34s %12d %12zu\n", "unplaced", r->unplaced, r->greedy_unplaced);
	printf("%-34s %12zu %12zu\n", "moves on one failure", r->fail_moves, r->greedy_fail_moves);
	printf("%-34s %12zu\n", "  (replicas on the failed node)", r->on_victim);
	printf("%-34s %12.3f\n", "re-placement after failure (s)", r->fail_s);
	printf("%-34s %12zu\n", "moves on one join", r->join_moves);
	printf("%-34s %12.3f\n", "re-placement after join (s)", r->join_s);
	printf("%-34s %12s\n", "deterministic (two runs)", r->is_deterministic ? "yes" : "NO");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"nodes", required_argument, NULL, 'n'},
		{"workloads", required_argument, NULL, 'w'},
		{"replicas", required_argument, NULL, 'r'},
		{"seed", required_argument, NULL, 's'},
		{"by-topic", no_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	unsigned long v[4] = {10000, 100000, 1, 1}; /* nodes, workloads, replicas, seed */
	struct result r = {0};
	struct sim s = {0};
	char *end;
	int opt, i;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 't') {
			is_by_topic = true;
			continue;
		}
		i = opt == 'n' ? 0 : opt == 'w' ? 1 : opt == 'r' ? 2 : opt == 's' ? 3 : -1;
		if (i < 0)
			return 2;
		errno = 0;
		v[i] = strtoul(optarg, &end, 10);
		if (errno || *end || (i < 3 && (!v[i] || v[i] > 10000000))) {
			fprintf(stderr, "meshsim: bad value %s\n", optarg);
			return 2;
		}
	}
	if (make_sim(&s, v[0], v[1], v[2], (unsigned int)v[3]) || run(&s, &r)) {
		fprintf(stderr, "meshsim: out of memory\n");
		free_sim(&s);
		return 1;
	}
	report(&s, &r);
	free_sim(&s);
	return r.is_deterministic && r.fail_moves <= r.on_victim ? 0 : 1;
}
