// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy swap (dp_install, control/tables_install.c): the inactive
 * slot's inner maps are refilled in place (no new maps, exact entry counts,
 * right verdicts after every swap), a table that outgrows its map gets a
 * fresh one, and a packet judged while swaps run back to back sees one
 * whole generation, never the ipcache of one and the policy of the other.
 * ctest-labels: bpf dataplane
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "bm_test.h"
#include "pinned.h"
#include "xdp_expect.h"
#include "xdp_fixture.h"

#define SWAP_ROUNDS 200
#define MIX_RULE_X 1001
#define MIX_RULE_Y 1002
#define EXTRA_HOST 0x0a000009u /* 10.0.0.9: known only to the "extra" variant */

static struct xfx fx;

static int suite_init(void)
{
	return xfx_open_installed(&fx, 0, 0) ? -1 : 0;
}

static int suite_clean(void)
{
	xfx_close(&fx);
	return 0;
}

static void tcp4(struct pb *b, uint32_t s, uint32_t d, uint16_t dport)
{
	pb_init(b);
	pb_eth(b, PB_ETH_IP);
	pb_ipv4(b, 6, s, d);
	pb_tcp(b, 40000, dport);
	pb_payload(b, 10);
}

/* The fixture, plus n_extra hosts from EXTRA_HOST on with identity A (class 2). */
static int install_variant(unsigned int n_extra, struct bm_tables *t)
{
	unsigned int i;

	xfx_tables(t);
	for (i = 0; i < n_extra; i++)
		xfx_host4(t, EXTRA_HOST + i, FX_ID_A, 2, 0);
	return dp_install(fx.live, t, &fx.generation);
}

static void slot_ids(uint32_t ids[TABLES_NR][BM_GEN_SLOTS])
{
	uint32_t slot;
	int k;

	for (k = 0; k < TABLES_NR; k++)
		for (slot = 0; slot < BM_GEN_SLOTS; slot++)
			CU_ASSERT_EQUAL(bpf_map_lookup_elem(dp_map_fd(fx.live, tables_map_name(k)),
							    &slot, &ids[k][slot]),
					0);
}

/* Every table's entries in the live slot; the range pool is an array: room for them. */
static void expect_counts(const struct bm_tables *t)
{
	long n;
	int k;

	for (k = 0; k < TABLES_NR; k++) {
		n = pinned_inner_entries(dp_map_fd(fx.live, tables_map_name(k)),
					 BM_GEN_SLOT(fx.generation));
		if (k == TABLES_RANGES) {
			CU_ASSERT_TRUE(n >= (long)t->maps[k].n && n > 0);
		} else {
			CU_ASSERT_EQUAL(n, (long)t->maps[k].n);
		}
	}
}

static void expect_extra(bool is_known)
{
	struct bm_verdict_record rec;
	struct pb b;

	tcp4(&b, EXTRA_HOST, FX_B4, 80);
	CU_ASSERT_EQUAL_FATAL(dp_test_run(fx.dry, b.d, b.len, &rec), 0);
	CU_ASSERT_EQUAL(rec.generation, fx.generation);
	CU_ASSERT_EQUAL(rec.reason, is_known ? BM_REASON_ALLOW_POLICY : BM_REASON_DENY_INGRESS);
	CU_ASSERT_EQUAL(rec.rule_id, is_known ? FX_R_B_IN_TCP80 : 0);
}

/* Install the variant with n_extra extra hosts and check what it enforces. */
static void install_checked(unsigned int n_extra)
{
	struct bm_tables t;

	CU_ASSERT_EQUAL_FATAL(install_variant(n_extra, &t), 0);
	expect_counts(&t);
	expect_extra(n_extra > 0);
	tables_release(&t);
}

/* Between the two snapshots, only slot's IPv4 host map was replaced. */
static void expect_only_host4_replaced(uint32_t before[TABLES_NR][BM_GEN_SLOTS],
				       uint32_t after[TABLES_NR][BM_GEN_SLOTS], uint32_t slot)
{
	int k;

	for (k = 0; k < TABLES_NR; k++)
		CU_ASSERT_EQUAL(before[k][slot] != after[k][slot], k == TABLES_HOST4);
}

/* Prepared slots: every install refills them in place, none gets a fresh map. */
static void test_xdp_swap_prepared(void)
{
	uint32_t before[TABLES_NR][BM_GEN_SLOTS], after[TABLES_NR][BM_GEN_SLOTS];
	int i;

	CU_ASSERT_EQUAL_FATAL(dp_prepare(fx.live), 0);
	slot_ids(before);
	for (i = 0; i < 2 * BM_GEN_SLOTS; i++) {
		install_checked(i % 2 ? 3 : 0);
	}
	slot_ids(after);
	CU_ASSERT_EQUAL(memcmp(before, after, sizeof(before)), 0);
	/* Nothing left to prepare: the same maps again. */
	CU_ASSERT_EQUAL(dp_prepare(fx.live), 0);
	slot_ids(after);
	CU_ASSERT_EQUAL(memcmp(before, after, sizeof(before)), 0);
}

/* Swaps between two variants that fit: the same inner maps throughout. */
static void test_xdp_swap_in_place(void)
{
	uint32_t before[TABLES_NR][BM_GEN_SLOTS], after[TABLES_NR][BM_GEN_SLOTS];
	struct bm_tables t;
	int i;

	for (i = 1; i < BM_GEN_SLOTS; i++) { /* every slot has maps now */
		CU_ASSERT_EQUAL_FATAL(install_variant(0, &t), 0);
		tables_release(&t);
	}
	slot_ids(before);
	for (i = 1; i <= 2 * BM_GEN_SLOTS + 1; i++) {
		install_checked(i % 2 ? 3 : 0);
	}
	slot_ids(after);
	CU_ASSERT_EQUAL(memcmp(before, after, sizeof(before)), 0);
}

/* A table beyond its map's room gets a fresh map; the other tables keep theirs. */
static void test_xdp_swap_grows(void)
{
	uint32_t before[TABLES_NR][BM_GEN_SLOTS], after[TABLES_NR][BM_GEN_SLOTS];
	uint32_t slot = BM_GEN_SLOT(fx.generation + 1);

	slot_ids(before);
	install_checked(1500); /* over the 512 floor */
	CU_ASSERT_EQUAL(BM_GEN_SLOT(fx.generation), slot);
	slot_ids(after);
	expect_only_host4_replaced(before, after, slot);
	/* And back: the next slot, in place again. */
	install_checked(0);
	/* Past PARALLEL_MIN_ENTRIES: one thread per table, one batch per table. */
	install_checked(6000);
	install_checked(0);
}

/*
 * A slot whose inner map has room for more than INNER_CLEAR_MAX (32768)
 * entries gets a fresh map when it comes round again, even though the table
 * would fit: emptying a large map costs more than creating one.
 */
static void test_xdp_swap_large_replaced(void)
{
	uint32_t before[TABLES_NR][BM_GEN_SLOTS], after[TABLES_NR][BM_GEN_SLOTS];
	uint32_t slot = BM_GEN_SLOT(fx.generation + 1);
	struct bm_tables t;
	int i;

	install_checked(25000); /* room 37516 */
	CU_ASSERT_EQUAL(BM_GEN_SLOT(fx.generation), slot);
	for (i = 1; i < BM_GEN_SLOTS; i++) {
		CU_ASSERT_EQUAL_FATAL(install_variant(0, &t), 0);
		tables_release(&t);
	}
	slot_ids(before);
	install_checked(25000); /* the same slot again */
	CU_ASSERT_EQUAL(BM_GEN_SLOT(fx.generation), slot);
	slot_ids(after);
	expect_only_host4_replaced(before, after, slot);
	install_checked(0);
}

/*
 * Variant X puts A in class 2 and allows class 2 -> B; Y puts A in class 4
 * and allows class 4 -> B. Each allows A -> B:80 with its own rule; the
 * ipcache of one with the policy of the other denies.
 */
static void mix_tables(struct bm_tables *t, bool is_y)
{
	uint32_t cls = is_y ? 4 : 2;

	tables_init(t);
	xfx_host4(t, FX_A4, FX_ID_A, cls, 0);
	xfx_host4(t, FX_B4, FX_ID_B, 3, BM_IPC_F_LOCAL | BM_IPC_F_INGRESS_ISOLATED);
	xfx_policy(t, 3, cls, BM_DIR_INGRESS, BM_PROTO_TCP, XFX_ALL(is_y ? MIX_RULE_Y : MIX_RULE_X),
		   0, 0);
	t->nr_classes = 5;
}

struct judge {
	atomic_bool is_done;
	unsigned long runs, seen_x, seen_y, mixed, errors;
	struct bm_verdict_record bad;
};

static void *judge_thread(void *arg)
{
	struct judge *j = arg;
	struct bm_verdict_record rec;
	struct pb b;

	tcp4(&b, FX_A4, FX_B4, 80);
	while (!atomic_load(&j->is_done)) {
		if (dp_test_run(fx.dry, b.d, b.len, &rec)) {
			j->errors++;
			continue;
		}
		j->runs++;
		if (rec.reason == BM_REASON_ALLOW_POLICY && rec.rule_id == MIX_RULE_X)
			j->seen_x++;
		else if (rec.reason == BM_REASON_ALLOW_POLICY && rec.rule_id == MIX_RULE_Y)
			j->seen_y++;
		else if (!j->mixed++)
			j->bad = rec;
	}
	return NULL;
}

/* Back-to-back swaps while another thread judges packets: never a mix. */
static void test_xdp_swap_never_mixed(void)
{
	struct judge j = {0};
	struct bm_tables t;
	pthread_t thread;
	int i, err = 0;

	mix_tables(&t, false);
	CU_ASSERT_EQUAL_FATAL(dp_install(fx.live, &t, &fx.generation), 0);
	tables_release(&t);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&thread, NULL, judge_thread, &j), 0);
	for (i = 1; i <= SWAP_ROUNDS && !err; i++) {
		mix_tables(&t, i % 2);
		err = dp_install(fx.live, &t, &fx.generation);
		tables_release(&t);
	}
	atomic_store(&j.is_done, true);
	pthread_join(thread, NULL);
	CU_ASSERT_EQUAL(err, 0);
	CU_ASSERT_EQUAL(j.errors, 0);
	CU_ASSERT_EQUAL(j.mixed, 0);
	CU_ASSERT(j.seen_x > 0 && j.seen_y > 0);
	if (j.mixed)
		fprintf(stderr, "  %lu of %lu verdicts mixed: reason %u rule %u generation %u\n",
			j.mixed, j.runs, j.bad.reason, j.bad.rule_id, j.bad.generation);
	fprintf(stderr, "  %d swaps, %lu verdicts during them (%lu X, %lu Y)\n", SWAP_ROUNDS,
		j.runs, j.seen_x, j.seen_y);
}

static const struct bm_test_case cases[] = {
	{"test_xdp_swap_prepared", test_xdp_swap_prepared},
	{"test_xdp_swap_in_place", test_xdp_swap_in_place},
	{"test_xdp_swap_grows", test_xdp_swap_grows},
	{"test_xdp_swap_large_replaced", test_xdp_swap_large_replaced},
	{"test_xdp_swap_never_mixed", test_xdp_swap_never_mixed},
	{NULL, NULL},
};

int bm_test_register(void)
{
	bm_test_require_root();
	return bm_test_add_suite("xdp_swap", suite_init, suite_clean, cases);
}
