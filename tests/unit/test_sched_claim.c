// SPDX-License-Identifier: GPL-2.0-only
/* StatefulSet claims: disagreeing views, cut-off holders and crashes never run an
 * ordinal twice, and views that agree converge on the placed node.
 * ctest-labels: unit scheduler
 */
#include <stdlib.h>
#include <string.h>

#include "bm_test.h"
#include "sched_claim.h"

#define N_NODES 3
#define TICK_MS 100
#define LEASE_MS 1000

static const char *const names[N_NODES] = {"n1", "n2", "n3"};

/* The KV entry of one ordinal: holder (-1: free) and revision (0: absent). */
struct kv {
	int holder;
	uint64_t rev;
};

struct node {
	bool is_crashed, is_cut_off, is_running;
	int owner; /* placement's answer in this node's view; -1: none */
	int seen_holder; /* the claim as this node last saw it */
	uint64_t seen_rev, seen_at_ms, renewed_at_ms;
};

struct world {
	struct kv kv;
	struct node n[N_NODES];
	uint64_t now_ms;
};

static bool cas(struct world *w, int i, int new_holder)
{
	struct node *n = &w->n[i];

	if (n->is_cut_off || w->kv.rev != n->seen_rev)
		return false;
	w->kv.holder = new_holder;
	w->kv.rev++;
	n->seen_rev = w->kv.rev;
	n->seen_holder = new_holder;
	n->seen_at_ms = w->now_ms;
	if (new_holder == i)
		n->renewed_at_ms = w->now_ms;
	return true;
}

static void observe(struct world *w, int i)
{
	struct node *n = &w->n[i];

	if (n->is_cut_off || n->seen_rev == w->kv.rev)
		return;
	n->seen_rev = w->kv.rev;
	n->seen_holder = w->kv.holder;
	n->seen_at_ms = w->now_ms;
}

static void step(struct world *w, int i)
{
	struct node *n = &w->n[i];
	struct sched_claim_in in = {
		.me = names[i],
		.owner = n->owner >= 0 ? names[n->owner] : NULL,
		.renew_age_ms = w->now_ms - n->renewed_at_ms,
		.lease_ms = LEASE_MS,
	};

	observe(w, i);
	in.holder = n->seen_holder >= 0 ? names[n->seen_holder] : NULL;
	in.claim_age_ms = w->now_ms - n->seen_at_ms;
	switch (sched_claim_decide(&in)) {
	case SCHED_CLAIM_RUN:
		n->is_running = true;
		break;
	case SCHED_CLAIM_RENEW:
		cas(w, i, i);
		n->is_running = true;
		break;
	case SCHED_CLAIM_ACQUIRE:
		n->is_running = cas(w, i, i);
		break;
	case SCHED_CLAIM_RELEASE:
		n->is_running = false; /* stop first, then free the claim */
		cas(w, i, -1);
		break;
	case SCHED_CLAIM_FENCED:
		n->is_running = false;
		cas(w, i, i);
		break;
	case SCHED_CLAIM_IDLE:
		n->is_running = false;
		break;
	}
}

static int n_running(const struct world *w)
{
	int i, count = 0;

	for (i = 0; i < N_NODES; i++)
		count += w->n[i].is_running;
	return count;
}

/* One tick: every live node steps, in an order that varies; the invariant holds after each. */
static bool tick(struct world *w, unsigned int *seed)
{
	unsigned int i, k, first = (unsigned int)rand_r(seed) % N_NODES;
	bool is_ok = true;

	w->now_ms += TICK_MS;
	for (i = 0; i < N_NODES; i++) {
		k = (first + i) % N_NODES; /* unsigned: gcc -O2 sees k cannot be negative */
		if (!w->n[k].is_crashed)
			step(w, (int)k);
		is_ok &= n_running(w) <= 1;
	}
	return is_ok;
}

static void world_init(struct world *w, int owner)
{
	int i;

	memset(w, 0, sizeof(*w));
	w->kv.holder = -1;
	w->now_ms = 10 * LEASE_MS;
	for (i = 0; i < N_NODES; i++) {
		w->n[i].owner = owner;
		w->n[i].seen_holder = -1;
	}
}

static void test_sched_claim_agreeing_views(void)
{
	unsigned int seed = 1;
	struct world w;
	int t;

	world_init(&w, 1);
	for (t = 0; t < 30; t++)
		CU_ASSERT_TRUE(tick(&w, &seed));
	CU_ASSERT_TRUE(w.n[1].is_running);
	CU_ASSERT_EQUAL(n_running(&w), 1);
	CU_ASSERT_EQUAL(w.kv.holder, 1);
}

static void test_sched_claim_views_disagree_then_converge(void)
{
	unsigned int seed = 2;
	struct world w;
	int t;

	world_init(&w, 0);
	w.n[1].owner = 1; /* n2 thinks it is the owner, n1 thinks it is */
	w.n[2].owner = 2;
	for (t = 0; t < 50; t++)
		CU_ASSERT_TRUE(tick(&w, &seed));
	CU_ASSERT_EQUAL(n_running(&w), 1);
	w.n[0].owner = w.n[1].owner = w.n[2].owner = 2; /* views agree on n3 */
	for (t = 0; t < 3 * LEASE_MS / TICK_MS; t++)
		CU_ASSERT_TRUE(tick(&w, &seed));
	CU_ASSERT_TRUE(w.n[2].is_running);
	CU_ASSERT_EQUAL(n_running(&w), 1);
}

static void test_sched_claim_cut_off_holder_is_fenced(void)
{
	unsigned int seed = 3;
	struct world w;
	int t;

	world_init(&w, 0);
	for (t = 0; t < 10; t++)
		tick(&w, &seed);
	CU_ASSERT_TRUE_FATAL(w.n[0].is_running);
	/* n1 loses the bus; the others declare it failed and place the ordinal on n2 */
	w.n[0].is_cut_off = true;
	w.n[1].owner = w.n[2].owner = 1;
	for (t = 0; t < 3 * LEASE_MS / TICK_MS; t++)
		CU_ASSERT_TRUE(tick(&w, &seed));
	CU_ASSERT_FALSE(w.n[0].is_running);
	CU_ASSERT_TRUE(w.n[1].is_running);
	/* n1 comes back, learns it lost the claim, agrees and stays idle */
	w.n[0].is_cut_off = false;
	w.n[0].owner = 1;
	for (t = 0; t < 10; t++)
		CU_ASSERT_TRUE(tick(&w, &seed));
	CU_ASSERT_EQUAL(n_running(&w), 1);
	CU_ASSERT_TRUE(w.n[1].is_running);
}

/* Random chaos; the invariant after every step; convergence once things settle. */
static void chaos(struct world *w, unsigned int *seed)
{
	struct node *n = &w->n[rand_r(seed) % N_NODES];
	unsigned int r = rand_r(seed) % 100;

	if (r < 5) {
		n->is_cut_off = !n->is_cut_off;
	} else if (r < 12) {
		n->owner = (int)(rand_r(seed) % (N_NODES + 1)) - 1;
	} else if (r < 14) {
		n->is_crashed =
			!n->is_crashed; /* a crash kills the replica; a restart knows nothing */
		n->is_running = false;
		n->seen_rev = 0;
		n->seen_holder = -1;
		n->seen_at_ms = w->now_ms;
		n->renewed_at_ms = 0;
	}
}

static void test_sched_claim_random(void)
{
	unsigned int seed = 4242, trial;
	int t, i, owner, violations = 0, not_converged = 0;
	struct world w;

	for (trial = 0; trial < 300; trial++) {
		world_init(&w, (int)(trial % N_NODES));
		for (t = 0; t < 300; t++) {
			chaos(&w, &seed);
			violations += !tick(&w, &seed);
		}
		owner = (int)(rand_r(&seed) % N_NODES);
		for (i = 0; i < N_NODES; i++) {
			w.n[i].is_cut_off = false;
			w.n[i].owner = owner;
			w.n[i].is_crashed = false; /* a crashed node restarts */
		}
		for (t = 0; t < 3 * LEASE_MS / TICK_MS; t++)
			violations += !tick(&w, &seed);
		not_converged += !(w.n[owner].is_running && n_running(&w) == 1);
	}
	CU_ASSERT_EQUAL(violations, 0);
	CU_ASSERT_EQUAL(not_converged, 0);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"agreeing views", test_sched_claim_agreeing_views},
		{"views disagree, then converge", test_sched_claim_views_disagree_then_converge},
		{"cut-off holder is fenced before takeover",
		 test_sched_claim_cut_off_holder_is_fenced},
		{"random chaos: never twice, converges", test_sched_claim_random},
		{NULL, NULL},
	};

	return bm_test_add_suite("sched_claim", NULL, NULL, cases);
}
