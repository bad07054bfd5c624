// SPDX-License-Identifier: GPL-2.0-only
/* Placement topics: classes, subjects, the subscription rule, and agreement
 * of agents that receive only the topics they serve.
 * ctest-labels: unit scheduler
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_test.h"
#include "sched_topic.h"

#define N_NODES 64
#define N_REPS 3000

static struct sched_node nodes[N_NODES];
static char names[N_NODES][16];
static struct pm_label node_items[N_NODES][3];
static struct pm_labels node_labels[N_NODES];
static struct sched_replica reps[N_REPS], sub[N_REPS];
static char keys[N_REPS][48];
static int32_t out_full[N_REPS], out_sub[N_REPS], out_again[N_REPS];
static size_t sub_idx[N_REPS];

static char *const zones[] = {"a", "b", "c", "d"};
static struct pm_label sel_items[6][2] = {
	{{"zone", "a"}},
	{{"zone", "b"}},
	{{"zone", "c"}, {"disk", "ssd"}},
	{{"disk", "ssd"}},
	{{"kubernetes.io/hostname", "n003"}},
	{{"gpu", "yes"}},
};
static struct wl_pod_spec pods[7];

/* Nodes of 1-16 cores, 1-64 GiB, a zone, ssd on half, a gpu on an eighth. */
static void make_cluster(unsigned int seed)
{
	static const size_t sel_n[] = {1, 1, 2, 1, 1, 1};
	static const uint64_t cpus[] = {100, 900, 1000, 1001, 2000, 2500, 4000, 9000};
	size_t i, n;

	for (i = 0; i < N_NODES; i++) {
		snprintf(names[i], sizeof(names[i]), "n%03zu", i);
		n = 0;
		node_items[i][n++] = (struct pm_label){"zone", zones[rand_r(&seed) % 4]};
		if (rand_r(&seed) % 2)
			node_items[i][n++] = (struct pm_label){"disk", "ssd"};
		if (rand_r(&seed) % 8 == 0)
			node_items[i][n++] = (struct pm_label){"gpu", "yes"};
		node_labels[i] = (struct pm_labels){node_items[i], n};
		nodes[i] = (struct sched_node){.name = names[i],
					       .cpu_milli = 1000ULL << (rand_r(&seed) % 5),
					       .mem_bytes = (1ULL << 30) << (rand_r(&seed) % 7),
					       .labels = &node_labels[i]};
	}
	for (i = 0; i < 6; i++)
		pods[1 + i].node_selector = (struct pm_labels){sel_items[i], sel_n[i]};
	for (i = 0; i < N_REPS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "ns/app-%zu/%zu", i / 3, i % 3);
		reps[i] = (struct sched_replica){
			.key = keys[i],
			.pod = i % 3 ? reps[i - 1].pod : &pods[rand_r(&seed) % 7],
			.req = {.cpu_milli = i % 3 ? reps[i - 1].req.cpu_milli
						   : cpus[rand_r(&seed) % 8],
				.mem_bytes = (64ULL << 20) << (rand_r(&seed) % 8)}};
	}
}

static void test_topic_classes_and_subjects(void)
{
	struct sched_replica r = {.key = "k"};
	struct sched_topic t;
	char buf[SCHED_TOPIC_SUBJECT_MAX];
	struct pm_label sel[2] = {{"zone", "b"}, {"disk", "ssd"}};
	struct wl_pod_spec pod = {.node_selector = {sel, 2}};

	r.req = (struct wl_resources){.cpu_milli = 1000, .mem_bytes = 1ULL << 30};
	sched_topic_of(&r, &t);
	CU_ASSERT_EQUAL(t.cpu_class, 0);
	CU_ASSERT_EQUAL(t.mem_class, 0);
	CU_ASSERT_EQUAL(sched_topic_subject(&t, buf, sizeof(buf)), 29);
	CU_ASSERT_STRING_EQUAL(buf, "bpfmesh.v1.sched.req.c0m0.any");
	r.req = (struct wl_resources){.cpu_milli = 1001, .mem_bytes = (1ULL << 30) + 1};
	sched_topic_of(&r, &t);
	CU_ASSERT_EQUAL(t.cpu_class, 1);
	CU_ASSERT_EQUAL(t.mem_class, 1);
	r.req = (struct wl_resources){.cpu_milli = 4001, .mem_bytes = 8ULL << 30};
	sched_topic_of(&r, &t);
	CU_ASSERT_EQUAL(t.cpu_class, 3);
	CU_ASSERT_EQUAL(t.mem_class, 3);
	/* the first pair in key order names the selector, whatever the order given */
	r.pod = &pod;
	sched_topic_of(&r, &t);
	CU_ASSERT_NOT_EQUAL(t.selector, 0);
	CU_ASSERT_TRUE(sched_topic_subject(&t, buf, sizeof(buf)) > 0);
	CU_ASSERT_EQUAL(strncmp(buf, "bpfmesh.v1.sched.req.c3m3.s", 27), 0);
	CU_ASSERT_EQUAL(strlen(buf), 27 + 16);
	CU_ASSERT_EQUAL(strpbrk(buf + 27, ".*> "), NULL);
	{
		struct pm_label swapped[2] = {{"disk", "ssd"}, {"zone", "b"}};
		struct wl_pod_spec pod2 = {.node_selector = {swapped, 2}};
		struct sched_replica r2 = r;
		struct sched_topic t2;

		r2.pod = &pod2;
		sched_topic_of(&r2, &t2);
		CU_ASSERT_EQUAL(t2.selector, t.selector);
	}
	CU_ASSERT_EQUAL(sched_topic_subject(&t, buf, 20), -ENOSPC);
}

/* Every node that fits a replica serves its topic; the rule is not vacuous. */
static void test_topic_fit_implies_served(void)
{
	size_t i, j, fits = 0, served_not_fit = 0;
	struct sched_topic t;
	unsigned int seed;

	for (seed = 1; seed <= 5; seed++) {
		make_cluster(seed);
		for (i = 0; i < N_REPS; i++) {
			sched_topic_of(&reps[i], &t);
			for (j = 0; j < N_NODES; j++) {
				bool is_fit = sched_node_fits(&nodes[j], &reps[i]);
				bool is_served = sched_node_serves(&nodes[j], &t);

				fits += is_fit;
				served_not_fit += is_served && !is_fit;
				if (is_fit && !is_served) {
					CU_FAIL("a fitting node does not serve the replica's topic");
					return;
				}
			}
		}
	}
	CU_ASSERT_TRUE(fits > 0);
	CU_ASSERT_TRUE(served_not_fit > 0); /* topics are coarser than fit: that is fine */
}

/*
 * An agent that receives only the topics its node serves computes, for each
 * of those topics, the same placement as from every request: for each node,
 * place the served subset and compare with the full placement.
 */
static void test_topic_agreement_from_served_topics(void)
{
	struct sched_topic t;
	struct sched_view v;
	size_t i, j, m, n_topics = 0, checked = 0, here = 0;

	make_cluster(7);
	CU_ASSERT_EQUAL_FATAL(sched_view_init(&v, nodes, N_NODES), 0);
	CU_ASSERT_TRUE(sched_place_by_topic(&v, reps, N_REPS, NULL, out_full, &n_topics) >= 0);
	CU_ASSERT_TRUE(n_topics >= 10);
	for (j = 0; j < N_NODES; j++) {
		for (i = 0, m = 0; i < N_REPS; i++) {
			sched_topic_of(&reps[i], &t);
			if (!sched_node_serves(&nodes[j], &t))
				continue;
			sub[m] = reps[i];
			sub_idx[m++] = i;
		}
		CU_ASSERT_FATAL(m < N_REPS);
		CU_ASSERT_TRUE(sched_place_by_topic(&v, sub, m, NULL, out_sub, NULL) >= 0);
		for (i = 0; i < m; i++) {
			if (out_sub[i] != out_full[sub_idx[i]]) {
				CU_FAIL("a node's view of its own topics disagrees with the full one");
				sched_view_release(&v);
				return;
			}
			checked++;
			here += out_sub[i] == (int32_t)j;
		}
	}
	/* every placed replica's node saw it, so each is counted "here" once */
	for (i = 0, m = 0; i < N_REPS; i++)
		m += out_full[i] >= 0;
	CU_ASSERT_EQUAL(here, m);
	CU_ASSERT_TRUE(checked > N_REPS);
	/* the same input in reverse order: the same answer */
	for (i = 0; i < N_REPS; i++)
		sub[i] = reps[N_REPS - 1 - i];
	CU_ASSERT_TRUE(sched_place_by_topic(&v, sub, N_REPS, NULL, out_again, NULL) >= 0);
	for (i = 0; i < N_REPS; i++)
		CU_ASSERT_EQUAL(out_again[N_REPS - 1 - i], out_full[i]);
	sched_view_release(&v);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"classes and subjects", test_topic_classes_and_subjects},
		{"every fitting node serves the topic", test_topic_fit_implies_served},
		{"agents agree from the topics they serve",
		 test_topic_agreement_from_served_topics},
		{NULL, NULL},
	};

	return bm_test_add_suite("sched_topic", NULL, NULL, cases);
}
