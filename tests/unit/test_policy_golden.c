// SPDX-License-Identifier: GPL-2.0-only
/* Policy compiler output pinned byte for byte: every table of 28 generated
 * models (small dense ones, wide, spilling, varied parameters, and the
 * realistic-cluster parameters of bench_install) hashed and compared with
 * hashes recorded from the compiler before its speed-ups (main at 45d6a40).
 * A change of any compiled entry, of the entry order or of a class id fails.
 * Each model is compiled on one thread and on two (cc_set_threads()): the
 * output must not depend on it.
 *
 * An intended change of the output (the map ABI, the emit order) regenerates
 * the table with: BM_GOLDEN_PRINT=1 build/tests/test_policy_golden, after
 * checking the new output with the differential tests.
 * ctest-labels: unit dataplane
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_test.h"
#include "policy_compile.h"
#include "policy_compile_priv.h"
#include "policy_gen.h"

enum golden_kind {
	G_DEFAULTS, /* policy_gen_defaults() */
	G_WIDE, /* test_policy_compile's differential_wide parameters */
	G_SPILL, /* many ports per rule */
	G_VARIED, /* parameters drawn from the seed */
	G_DENSE, /* bench_install's "300:100" */
	G_SCALE, /* policy_gen_scale_defaults(endpoints) */
};

struct golden {
	enum golden_kind kind;
	uint32_t endpoints; /* G_SCALE only */
	uint64_t seed;
	uint32_t nr_classes;
	size_t n[TABLES_NR];
	uint64_t hash[TABLES_NR];
};

/*
 * Recorded with BM_GOLDEN_PRINT=1 from main at 45d6a40; the policy values and
 * the range pool re-recorded for the range pool (ABI 7) and again for two
 * inline ranges (ABI 8): every other table, every count and the policy keys'
 * order were unchanged.
 */
static const struct golden goldens[] = {
#include "test_policy_golden.inc"
};

static void params_varied(uint64_t seed, struct policy_gen_params *p)
{
	struct policy_gen_rng r;

	policy_gen_seed(&r, seed);
	policy_gen_defaults(p);
	p->n_namespaces = 1 + policy_gen_below(&r, 5);
	p->n_endpoints = 1 + policy_gen_below(&r, 120);
	p->n_policies = policy_gen_below(&r, 30);
	p->max_rules = policy_gen_below(&r, 5);
	p->max_peers = 1 + policy_gen_below(&r, 4);
	p->max_ports = 1 + policy_gen_below(&r, 4);
	p->n_label_values = 1 + policy_gen_below(&r, 5);
	p->pct_cidr_endpoint = policy_gen_below(&r, 101);
	p->pct_dual_stack = policy_gen_below(&r, 101);
	p->pct_local = policy_gen_below(&r, 101);
	p->pct_mesh = policy_gen_below(&r, 101);
	p->pct_ip_block = policy_gen_below(&r, 101);
	p->pct_named_port = policy_gen_below(&r, 101);
	p->pct_end_port = policy_gen_below(&r, 101);
	p->pct_no_peers = policy_gen_below(&r, 101);
	p->pct_no_ports = policy_gen_below(&r, 101);
	p->pct_broad = policy_gen_below(&r, 50);
	p->pct_ns_peer = policy_gen_below(&r, 101);
	p->pct_external_block = policy_gen_below(&r, 101);
	p->replicas = 1 + policy_gen_below(&r, 4);
}

static void params_of(enum golden_kind kind, uint32_t endpoints, uint64_t seed,
		      struct policy_gen_params *p)
{
	policy_gen_defaults(p);
	switch (kind) {
	case G_DEFAULTS:
		break;
	case G_WIDE:
		p->n_namespaces = 6;
		p->n_endpoints = 200;
		p->n_policies = 40;
		p->max_rules = 2;
		p->pct_cidr_endpoint = 30;
		p->pct_ip_block = 50;
		break;
	case G_SPILL:
		p->max_ports = 10;
		p->pct_end_port = 10;
		break;
	case G_VARIED:
		params_varied(seed, p);
		break;
	case G_DENSE:
		p->n_namespaces = 20;
		p->n_endpoints = 300;
		p->n_policies = 100;
		p->max_rules = 4;
		p->n_label_values = 40;
		break;
	case G_SCALE:
		policy_gen_scale_defaults(p, endpoints);
		break;
	}
}

/* Eight bytes at a time; the table sizes are part of the hash. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t w;

	for (; n >= 8; n -= 8, s += 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; n; n--, s++)
		h = (h ^ *s) * 0x100000001b3ULL;
	return h;
}

static uint64_t table_hash(const struct tables_map *t)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = hash_bytes(h, &t->n, sizeof(t->n));
	if (!t->n)
		return h;
	h = hash_bytes(h, t->keys, t->n * t->key_size);
	return hash_bytes(h, t->values, t->n * t->value_size);
}

/* Compile the model g names; got receives its hashes. */
static int compile_one(const struct golden *g, struct golden *got)
{
	struct policy_gen_params p;
	struct compile_report rep;
	struct pm_model *m = NULL;
	struct bm_tables tb;
	int k, err;

	*got = *g;
	params_of(g->kind, g->endpoints, g->seed, &p);
	tables_init(&tb);
	err = policy_gen_model(g->seed, &p, &m);
	if (!err)
		err = policy_compile(m, &tb, &rep);
	if (err)
		fprintf(stderr, "golden model %d/%u/%" PRIu64 ": %d %s\n", (int)g->kind,
			g->endpoints, g->seed, err, m ? rep.error : "");
	got->nr_classes = tb.nr_classes;
	for (k = 0; k < TABLES_NR && !err; k++) {
		got->n[k] = tb.maps[k].n;
		got->hash[k] = table_hash(&tb.maps[k]);
	}
	tables_release(&tb);
	pm_model_free(m);
	return err;
}

static void print_golden(const struct golden *g)
{
	int k;

	static const char *const names[] = {"G_DEFAULTS", "G_WIDE",  "G_SPILL",
					    "G_VARIED",	  "G_DENSE", "G_SCALE"};

	printf("{%s, %u, %" PRIu64 ", %u, {", names[g->kind], g->endpoints, g->seed, g->nr_classes);
	for (k = 0; k < TABLES_NR; k++)
		printf("%s%zu", k ? ", " : "", g->n[k]);
	printf("}, {");
	for (k = 0; k < TABLES_NR; k++)
		printf("%s0x%016" PRIx64 "ULL", k ? ", " : "", g->hash[k]);
	printf("}},\n");
}

static bool golden_equal(const struct golden *a, const struct golden *b)
{
	int k;

	if (a->nr_classes != b->nr_classes)
		return false;
	for (k = 0; k < TABLES_NR; k++) {
		if (a->n[k] != b->n[k] || a->hash[k] != b->hash[k])
			return false;
	}
	return true;
}

/* Compile every model with threads (see cc_set_threads()); 0 or a count of differences. */
static size_t check_all(unsigned int threads, bool is_print)
{
	size_t i, n = sizeof(goldens) / sizeof(goldens[0]), differ = 0;
	struct golden got;

	cc_set_threads(threads);
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL_FATAL(compile_one(&goldens[i], &got), 0);
		if (is_print) {
			print_golden(&got);
			continue;
		}
		if (!golden_equal(&goldens[i], &got)) {
			fprintf(stderr,
				"golden model %zu (kind %d, seed %" PRIu64
				") differs, %u thread(s):\n",
				i, (int)got.kind, got.seed, threads);
			print_golden(&got);
			differ++;
		}
		CU_ASSERT_TRUE(got.n[TABLES_HOST4] + got.n[TABLES_HOST6] > 0);
	}
	cc_set_threads(0);
	return differ;
}

static void test_policy_golden_tables(void)
{
	bool is_print = getenv("BM_GOLDEN_PRINT") != NULL;

	CU_ASSERT_TRUE_FATAL(sizeof(goldens) / sizeof(goldens[0]) >= 10);
	if (is_print) {
		printf("\n"); /* after CUnit's "Test: tables ..." */
		check_all(1, true);
		return;
	}
	CU_ASSERT_EQUAL(check_all(1, false), 0);
	CU_ASSERT_EQUAL(check_all(2, false), 0);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"tables", test_policy_golden_tables},
		{NULL, NULL},
	};

	return bm_test_add_suite("policy_golden", NULL, NULL, cases);
}
