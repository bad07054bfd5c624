// SPDX-License-Identifier: GPL-2.0-only
/* The placement function: determinism, fit filtering, minimal movement, balance.
 * ctest-labels: unit scheduler
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_test.h"
#include "sched_place.h"

#define MAX_NODES 256
#define MAX_REPS 4096

static struct sched_node nodes[MAX_NODES];
static char names[MAX_NODES][16];
static struct pm_label zone_label[MAX_NODES][2];
static struct pm_labels node_labels[MAX_NODES];
static struct sched_replica reps[MAX_REPS];
static char keys[MAX_REPS][48];
static int32_t out_a[MAX_REPS], out_b[MAX_REPS], prev[MAX_REPS];
static bool joined[MAX_NODES];

static const char *const zones[] = {"a", "b", "c"};

/* Node i: name nNNN (id chosen by caller), CPU 4, 8 or 16 cores, zone by id. */
static void make_node(size_t i, unsigned int id)
{
	snprintf(names[i], sizeof(names[i]), "n%03u", id);
	zone_label[i][0] = (struct pm_label){"disk", id % 2 ? "hdd" : "ssd"};
	zone_label[i][1] = (struct pm_label){"zone", (char *)zones[id % 3]};
	node_labels[i] = (struct pm_labels){zone_label[i], 2};
	nodes[i] = (struct sched_node){.name = names[i],
				       .cpu_milli = 4000u << (id % 3),
				       .mem_bytes = 64ULL << 30,
				       .labels = &node_labels[i]};
}

static void make_nodes(size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		make_node(i, (unsigned int)i);
}

static void make_reps(size_t n, const struct wl_pod_spec *pod, uint64_t cpu)
{
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "shop/app-%zu/%zu", i / 3, i % 3);
		reps[i] = (struct sched_replica){.key = keys[i],
						 .pod = pod,
						 .req = {.cpu_milli = cpu, .mem_bytes = 1 << 20}};
	}
}

/* cpu, or less so that the replicas fill at most half of the nodes. */
static uint64_t fitting_cpu(size_t n_nodes, size_t n_reps, uint64_t cpu)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < n_nodes; i++)
		total += nodes[i].cpu_milli;
	return cpu * n_reps <= total / 2 ? cpu : total / 2 / n_reps;
}

static int place(size_t n_nodes, size_t n_reps, const struct sched_opts *o, int32_t *out)
{
	struct sched_view v;
	int ret;

	if (sched_view_init(&v, nodes, n_nodes))
		return -1;
	ret = sched_place(&v, reps, n_reps, o, out);
	sched_view_release(&v);
	return ret;
}

static void test_sched_deterministic(void)
{
	static char saved[MAX_REPS][16];
	struct sched_node tmp;
	size_t i;

	make_nodes(50);
	make_reps(1000, NULL, 100);
	CU_ASSERT_EQUAL_FATAL(place(50, 1000, NULL, out_a), 0);
	for (i = 0; i < 1000; i++)
		snprintf(saved[i], sizeof(saved[i]), "%s", nodes[out_a[i]].name);
	/* the same view in another order gives the same node names */
	for (i = 0; i < 25; i++) {
		tmp = nodes[i];
		nodes[i] = nodes[49 - i];
		nodes[49 - i] = tmp;
	}
	CU_ASSERT_EQUAL_FATAL(place(50, 1000, NULL, out_b), 0);
	for (i = 0; i < 1000; i++)
		CU_ASSERT_STRING_EQUAL(nodes[out_b[i]].name, saved[i]);
}

static void test_sched_fit(void)
{
	struct wl_label_buf {
		struct pm_label l;
	} sel = {{"zone", "b"}};
	struct wl_node_expr ssd = {
		.key = "disk", .op = WL_NODE_IN, .values = (char *[]){"ssd"}, .n_values = 1};
	struct wl_node_term term = {&ssd, 1};
	struct wl_pod_spec pod = {.node_selector = {&sel.l, 1}, .terms = &term, .n_terms = 1};
	struct sched_taint taint = {"dedicated", "db", WL_EFFECT_NO_SCHEDULE};
	struct wl_toleration tol = {
		.key = "dedicated", .value = "db", .effect = WL_EFFECT_NO_SCHEDULE};
	size_t i;

	make_nodes(60);
	make_reps(300, &pod, 100);
	CU_ASSERT_EQUAL_FATAL(place(60, 300, NULL, out_a), 0);
	for (i = 0; i < 300; i++) {
		CU_ASSERT_STRING_EQUAL(pm_labels_get(nodes[out_a[i]].labels, "zone"), "b");
		CU_ASSERT_STRING_EQUAL(pm_labels_get(nodes[out_a[i]].labels, "disk"), "ssd");
	}
	/* tainted nodes take only replicas that tolerate the taint */
	for (i = 0; i < 30; i++) {
		nodes[i].taints = &taint;
		nodes[i].n_taints = 1;
	}
	make_reps(300, NULL, 100);
	CU_ASSERT_EQUAL_FATAL(place(60, 300, NULL, out_a), 0);
	for (i = 0; i < 300; i++)
		CU_ASSERT_TRUE(out_a[i] >= 30);
	pod = (struct wl_pod_spec){.tolerations = &tol, .n_tolerations = 1};
	make_reps(300, &pod, 100);
	CU_ASSERT_EQUAL_FATAL(place(60, 300, NULL, out_a), 0);
	for (i = 0; i < 300 && out_a[i] >= 30; i++)
		;
	CU_ASSERT_TRUE(i < 300); /* some do land on the tainted half */
	/* larger than every node: not placed */
	make_nodes(60);
	make_reps(10, NULL, 17000);
	CU_ASSERT_EQUAL(place(60, 10, NULL, out_a), 10);
	CU_ASSERT_EQUAL(out_a[0], -1);
}

static void test_sched_gt_lt(void)
{
	struct sched_node n = {.name = "x", .cpu_milli = 1000, .mem_bytes = 1 << 30};
	struct pm_label l = {"gen", "7"};
	struct pm_labels labels = {&l, 1};
	struct wl_node_expr e = {
		.key = "gen", .op = WL_NODE_GT, .values = (char *[]){"5"}, .n_values = 1};
	struct wl_node_term t = {&e, 1};
	struct wl_pod_spec pod = {.terms = &t, .n_terms = 1};
	struct sched_replica r = {.key = "k", .pod = &pod};

	n.labels = &labels;
	CU_ASSERT_TRUE(sched_node_fits(&n, &r));
	e.op = WL_NODE_LT;
	CU_ASSERT_FALSE(sched_node_fits(&n, &r));
	t.n_exprs = 0; /* an empty term matches nothing */
	CU_ASSERT_FALSE(sched_node_fits(&n, &r));
}

/* Move the failed node to the end of the view, remove it, re-place with prev. */
static void check_failure(size_t n_nodes, size_t n_reps, size_t victim)
{
	struct sched_view old, new;
	struct sched_opts o = {.prev = prev};
	size_t i, moved, on_victim = 0, idx[MAX_REPS];

	CU_ASSERT_EQUAL_FATAL(sched_view_init(&old, nodes, n_nodes), 0);
	CU_ASSERT_EQUAL_FATAL(sched_place(&old, reps, n_reps, NULL, out_a), 0);
	for (i = 0; i < n_reps; i++)
		on_victim += (size_t)out_a[i] == victim;
	/* the new view is the old one minus the victim, the first or the last node */
	CU_ASSERT_EQUAL_FATAL(sched_view_init(&new, nodes + (victim ? 0 : 1), n_nodes - 1), 0);
	CU_ASSERT_EQUAL(sched_remap(&old, out_a, n_reps, &new, prev, joined), 0);
	CU_ASSERT_EQUAL(sched_place(&new, reps, n_reps, &o, out_b), 0);
	moved = sched_moves(&old, out_a, &new, out_b, n_reps, idx);
	CU_ASSERT_EQUAL(moved, on_victim);
	for (i = 0; i < moved; i++)
		CU_ASSERT_EQUAL((size_t)out_a[idx[i]], victim);
	sched_view_release(&old);
	sched_view_release(&new);
}

static void test_sched_failure_moves_only_victims(void)
{
	unsigned int seed = 12345, round;
	size_t n_nodes, n_reps;

	for (round = 0; round < 20; round++) {
		n_nodes = 5 + (size_t)rand_r(&seed) % 120;
		n_reps = 200 + (size_t)rand_r(&seed) % 2000;
		make_nodes(n_nodes);
		make_reps(n_reps, NULL, fitting_cpu(n_nodes, n_reps, 50 + rand_r(&seed) % 400));
		check_failure(n_nodes, n_reps, round % 2 ? 0 : n_nodes - 1);
	}
}

static void check_join(size_t n_nodes, size_t n_reps)
{
	struct sched_view old, new;
	struct sched_opts o = {.prev = prev, .is_joined = joined};
	size_t i, moved, idx[MAX_REPS];

	CU_ASSERT_EQUAL_FATAL(sched_view_init(&old, nodes, n_nodes), 0);
	CU_ASSERT_EQUAL_FATAL(sched_place(&old, reps, n_reps, NULL, out_a), 0);
	make_node(n_nodes, 900);
	CU_ASSERT_EQUAL_FATAL(sched_view_init(&new, nodes, n_nodes + 1), 0);
	CU_ASSERT_EQUAL(sched_remap(&old, out_a, n_reps, &new, prev, joined), 0);
	CU_ASSERT_TRUE(joined[n_nodes]);
	CU_ASSERT_FALSE(joined[0]);
	CU_ASSERT_EQUAL(sched_place(&new, reps, n_reps, &o, out_b), 0);
	moved = sched_moves(&old, out_a, &new, out_b, n_reps, idx);
	for (i = 0; i < moved; i++)
		CU_ASSERT_EQUAL((size_t)out_b[idx[i]], n_nodes);
	/* about its share: at most load_factor times the mean, and not nothing */
	CU_ASSERT_TRUE(moved > 0);
	CU_ASSERT_TRUE(moved <= 2 * n_reps / n_nodes + 2);
	sched_view_release(&old);
	sched_view_release(&new);
}

static void test_sched_join_moves_only_to_new(void)
{
	unsigned int seed = 777, round;
	size_t n_nodes, n_reps;

	for (round = 0; round < 20; round++) {
		n_nodes = 5 + (size_t)rand_r(&seed) % 120;
		n_reps = 500 + (size_t)rand_r(&seed) % 3000;
		make_nodes(n_nodes);
		make_reps(n_reps, NULL, fitting_cpu(n_nodes, n_reps, 100));
		check_join(n_nodes, n_reps);
	}
}

static void test_sched_balance(void)
{
	double util, max = 0, sum = 0;
	uint64_t used[MAX_NODES] = {0};
	size_t i;

	make_nodes(100);
	make_reps(4000, NULL, 100);
	CU_ASSERT_EQUAL_FATAL(place(100, 4000, NULL, out_a), 0);
	for (i = 0; i < 4000; i++)
		used[out_a[i]] += reps[i].req.cpu_milli;
	for (i = 0; i < 100; i++) {
		util = (double)used[i] / (double)nodes[i].cpu_milli;
		sum += util;
		max = util > max ? util : max;
	}
	CU_ASSERT_TRUE(max / (sum / 100) <= SCHED_LOAD_FACTOR_DEFAULT + 0.05);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"deterministic", test_sched_deterministic},
		{"fit filtering", test_sched_fit},
		{"affinity Gt/Lt and empty terms", test_sched_gt_lt},
		{"failure moves only the failed node's replicas",
		 test_sched_failure_moves_only_victims},
		{"join moves only to the new node", test_sched_join_moves_only_to_new},
		{"balance", test_sched_balance},
		{NULL, NULL},
	};

	return bm_test_add_suite("sched", NULL, NULL, cases);
}
