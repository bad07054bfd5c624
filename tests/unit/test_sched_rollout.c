// SPDX-License-Identifier: GPL-2.0-only
/* Rolling updates without a controller: surge and availability bounds hold at every
 * step, and every rollout converges on the newest generation.
 * ctest-labels: unit scheduler
 */
#include <string.h>

#include "bm_test.h"
#include "sched_rollout.h"

#define MAX_GENS 4

struct rollout {
	uint32_t desired, surge, unavail;
	struct wl_int_or_percent max_surge, max_unavailable;
	struct sched_generation g[MAX_GENS];
	size_t n;
};

/* One step: every agent applies the targets; started replicas become ready next step. */
static bool step(struct rollout *r)
{
	uint32_t target[MAX_GENS], total = 0, ready = 0;
	size_t i;

	sched_rollout(r->desired, &r->max_surge, &r->max_unavailable, r->g, r->n, target);
	for (i = 0; i < r->n; i++) {
		if (target[i] < r->g[i].running) { /* the unready go first */
			r->g[i].running = target[i];
			if (r->g[i].ready > target[i])
				r->g[i].ready = target[i];
		} else {
			r->g[i].ready = r->g[i].running; /* last step's starts are ready now */
			r->g[i].running = target[i];
		}
		total += r->g[i].running;
		ready += r->g[i].ready;
	}
	return total <= r->desired + r->surge && ready + r->unavail >= r->desired;
}

/* Roll from gens[0] (all ready) to a new generation; true if bounds held and it converged. */
static bool roll(uint32_t desired, struct wl_int_or_percent s, struct wl_int_or_percent u,
		 uint32_t surge, uint32_t unavail)
{
	struct rollout r = {desired, surge, unavail, s, u, {{desired, desired}}, 2};
	bool is_ok = true;
	int t;

	for (t = 0; t < 100; t++)
		is_ok &= step(&r);
	return is_ok && r.g[0].running == 0 && r.g[1].running == desired && r.g[1].ready == desired;
}

static void test_sched_rollout_defaults(void)
{
	struct wl_int_or_percent pct25 = {25, true};

	/* 10 replicas, 25%/25%: surge 3 (rounded up), unavailable 2 (rounded down) */
	CU_ASSERT_TRUE(roll(10, pct25, pct25, 3, 2));
	CU_ASSERT_TRUE(roll(1, pct25, pct25, 1, 0));
	CU_ASSERT_TRUE(roll(3, (struct wl_int_or_percent){1, false},
			    (struct wl_int_or_percent){0, true}, 1, 0));
}

static void test_sched_rollout_recreate(void)
{
	struct wl_int_or_percent zero = {0, false}, all = {100, true};

	CU_ASSERT_TRUE(roll(5, zero, all, 0, 5));
}

static void test_sched_rollout_first_step(void)
{
	struct wl_int_or_percent one = {1, false}, zero = {0, false};
	struct sched_generation g[2] = {{4, 4}, {0, 0}};
	uint32_t target[2];

	/* maxSurge 1, maxUnavailable 0: start one new, keep every old one */
	sched_rollout(4, &one, &zero, g, 2, target);
	CU_ASSERT_EQUAL(target[0], 4);
	CU_ASSERT_EQUAL(target[1], 1);
	/* once it is ready, one old may go */
	g[1] = (struct sched_generation){1, 1};
	sched_rollout(4, &one, &zero, g, 2, target);
	CU_ASSERT_EQUAL(target[0], 3);
	CU_ASSERT_EQUAL(target[1], 1);
}

static void test_sched_rollout_interrupted(void)
{
	struct wl_int_or_percent pct25 = {25, true};
	struct rollout r = {8, 2, 2, pct25, pct25, {{8, 8}, {0, 0}}, 2};
	bool is_ok = true;
	int t;

	for (t = 0; t < 2; t++)
		is_ok &= step(&r);
	r.n = 3; /* v3 arrives while v1 -> v2 is under way */
	for (t = 0; t < 100; t++)
		is_ok &= step(&r);
	CU_ASSERT_TRUE(is_ok);
	CU_ASSERT_EQUAL(r.g[0].running, 0);
	CU_ASSERT_EQUAL(r.g[1].running, 0);
	CU_ASSERT_EQUAL(r.g[2].ready, 8);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"defaults and counts", test_sched_rollout_defaults},
		{"recreate", test_sched_rollout_recreate},
		{"first steps", test_sched_rollout_first_step},
		{"interrupted by a newer generation", test_sched_rollout_interrupted},
		{NULL, NULL},
	};

	return bm_test_add_suite("sched_rollout", NULL, NULL, cases);
}
