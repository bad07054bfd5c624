// SPDX-License-Identifier: GPL-2.0-only
/* Numeric identities: derivation, collision detection and resolution.
 * ctest-labels: unit identity
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <abi/types.h>

#include "bm_test.h"
#include "ident_id.h"
#include "ident_registry.h"

/* Two IDs whose probe 0 collide (found by brute force, pinned here). */
#define ID_A "spiffe://example.org/ns/default/sa/svc42235"
#define ID_B "spiffe://example.org/ns/default/sa/svc85185"
#define ID_AB_NUMBER 2378244295U

struct moves {
	int n;
	char who[4][128];
	uint32_t from[4], to[4];
};

static void record_move(void *ctx, const char *spiffe_id, uint32_t old_id, uint32_t new_id)
{
	struct moves *m = ctx;

	if (m->n < 4) {
		snprintf(m->who[m->n], sizeof(m->who[0]), "%s", spiffe_id);
		m->from[m->n] = old_id;
		m->to[m->n] = new_id;
	}
	m->n++;
}

static void test_ident_registry_numeric_stable(void)
{
	uint32_t a, b, p1;

	CU_ASSERT_EQUAL(ident_numeric_id(ID_A, &a), 0);
	CU_ASSERT_EQUAL(ident_numeric_id(ID_B, &b), 0);
	/* pinned: the derivation must never change across releases or nodes */
	CU_ASSERT_EQUAL(a, ID_AB_NUMBER);
	CU_ASSERT_EQUAL(b, ID_AB_NUMBER);
	CU_ASSERT_EQUAL(ident_numeric_id_probe(ID_A, 0, &p1), 0);
	CU_ASSERT_EQUAL(p1, a);
	CU_ASSERT_EQUAL(ident_numeric_id_probe(ID_A, 1, &p1), 0);
	CU_ASSERT_NOT_EQUAL(p1, a);
	CU_ASSERT_TRUE(p1 >= BM_ID_FIRST_WORKLOAD);
	CU_ASSERT_EQUAL(ident_numeric_id("http://example.org/x", &a), -EINVAL);
}

/* Both insertion orders give the same numbers; the smaller ID keeps probe 0. */
static void test_ident_registry_collision_order_independent(void)
{
	struct ident_registry *r1 = ident_registry_new(), *r2 = ident_registry_new();
	struct moves m = {0};
	uint32_t a1, b1, a2, b2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
	CU_ASSERT_EQUAL(ident_registry_add(r1, ID_A, &a1, record_move, &m), 0);
	CU_ASSERT_EQUAL(ident_registry_add(r1, ID_B, &b1, record_move, &m), 0);
	CU_ASSERT_EQUAL(m.n, 0); /* the newcomer probes on, nobody moves */
	CU_ASSERT_EQUAL(a1, ID_AB_NUMBER);
	CU_ASSERT_NOT_EQUAL(b1, ID_AB_NUMBER);
	CU_ASSERT_EQUAL(ident_registry_collisions(r1), 1);

	CU_ASSERT_EQUAL(ident_registry_add(r2, ID_B, &b2, record_move, &m), 0);
	CU_ASSERT_EQUAL(b2, ID_AB_NUMBER);
	CU_ASSERT_EQUAL(ident_registry_add(r2, ID_A, &a2, record_move, &m), 0);
	/* ID_A sorts first, takes the number back; ID_B's move is reported */
	CU_ASSERT_EQUAL(a2, a1);
	CU_ASSERT_EQUAL(ident_registry_lookup(r2, ID_B, &b2), 0);
	CU_ASSERT_EQUAL(b2, b1);
	CU_ASSERT_EQUAL_FATAL(m.n, 1);
	CU_ASSERT_STRING_EQUAL(m.who[0], ID_B);
	CU_ASSERT_EQUAL(m.from[0], ID_AB_NUMBER);
	CU_ASSERT_EQUAL(m.to[0], b1);
	CU_ASSERT_STRING_EQUAL(ident_registry_owner(r2, ID_AB_NUMBER), ID_A);
	CU_ASSERT_STRING_EQUAL(ident_registry_owner(r2, b1), ID_B);
	ident_registry_free(r1);
	ident_registry_free(r2);
}

static void test_ident_registry_remove_moves_back(void)
{
	struct ident_registry *r = ident_registry_new();
	struct moves m = {0};
	uint32_t a, b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(ident_registry_add(r, ID_A, &a, NULL, NULL), 0);
	CU_ASSERT_EQUAL(ident_registry_add(r, ID_B, &b, NULL, NULL), 0);
	CU_ASSERT_EQUAL(ident_registry_remove(r, ID_A, record_move, &m), 0);
	CU_ASSERT_EQUAL(ident_registry_lookup(r, ID_B, &b), 0);
	CU_ASSERT_EQUAL(b, ID_AB_NUMBER);
	CU_ASSERT_EQUAL(m.n, 1);
	CU_ASSERT_EQUAL(ident_registry_collisions(r), 0);
	CU_ASSERT_EQUAL(ident_registry_remove(r, ID_A, NULL, NULL), -ENOENT);
	CU_ASSERT_EQUAL(ident_registry_lookup(r, ID_A, &a), -ENOENT);
	ident_registry_free(r);
}

/* Many IDs: every number unique, plain IDs keep ident_numeric_id(). */
static void test_ident_registry_many(void)
{
	struct ident_registry *r = ident_registry_new();
	uint32_t id, plain;
	char buf[96];
	int i, same = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	for (i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "spiffe://example.org/ns/n%d/sa/s%d", i % 97, i);
		CU_ASSERT_EQUAL_FATAL(ident_registry_add(r, buf, &id, NULL, NULL), 0);
	}
	CU_ASSERT_EQUAL(ident_registry_count(r), 20000);
	for (i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "spiffe://example.org/ns/n%d/sa/s%d", i % 97, i);
		CU_ASSERT_EQUAL_FATAL(ident_registry_lookup(r, buf, &id), 0);
		CU_ASSERT_STRING_EQUAL_FATAL(ident_registry_owner(r, id), buf);
		ident_numeric_id(buf, &plain);
		same += plain == id;
	}
	CU_ASSERT_EQUAL(same + (int)ident_registry_collisions(r), 20000);
	CU_ASSERT_EQUAL(ident_registry_add(r, "not-an-id", &id, NULL, NULL), -EINVAL);
	ident_registry_free(r);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"numeric_stable", test_ident_registry_numeric_stable},
		{"collision_order_independent", test_ident_registry_collision_order_independent},
		{"remove_moves_back", test_ident_registry_remove_moves_back},
		{"many", test_ident_registry_many},
		{NULL, NULL},
	};

	return bm_test_add_suite("ident_registry", NULL, NULL, cases);
}
