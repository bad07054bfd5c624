// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy compiler's inlined sort (control/cc_sort.h) against qsort() on
 * random, sorted, reversed, few-valued and adversarial inputs, plus the
 * heapsort path forced directly (depth 0) and a comparison that uses ctx.
 * ctest-labels: unit dataplane
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bm_test.h"
#include "cc_sort.h"

#define U32_LESS(ctx, a, b) (*(a) < *(b))
CC_SORT_DEFINE(sort_u32, uint32_t, U32_LESS)

struct rec {
	uint32_t key;
	uint32_t tag;
	uint64_t wide;
};

/* ctx selects descending order: proves the context reaches LESS. */
static inline int rec_less(const int *is_desc, const struct rec *a, const struct rec *b)
{
	if (a->key != b->key)
		return *is_desc ? a->key > b->key : a->key < b->key;
	return a->tag < b->tag;
}

#define REC_LESS(ctx, a, b) rec_less((const int *)(ctx), a, b)
CC_SORT_DEFINE(sort_rec, struct rec, REC_LESS)

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

enum shape { SHAPE_RANDOM, SHAPE_SORTED, SHAPE_REVERSED, SHAPE_FEW, SHAPE_ORGAN, SHAPE_NR };

static void fill(uint32_t *v, size_t n, enum shape sh)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (sh) {
		case SHAPE_RANDOM:
			v[i] = next_rand();
			break;
		case SHAPE_SORTED:
			v[i] = (uint32_t)i;
			break;
		case SHAPE_REVERSED:
			v[i] = (uint32_t)(n - i);
			break;
		case SHAPE_FEW:
			v[i] = next_rand() % 3;
			break;
		default: /* organ pipe: up then down */
			v[i] = (uint32_t)(i < n / 2 ? i : n - i);
			break;
		}
	}
}

static void check_u32(size_t n, enum shape sh)
{
	uint32_t *v = malloc((n + 1) * sizeof(*v)), *w = malloc((n + 1) * sizeof(*w));

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	fill(v, n, sh);
	memcpy(w, v, n * sizeof(*v));
	sort_u32(v, n, NULL);
	if (n)
		qsort(w, n, sizeof(*w), cmp_u32);
	CU_ASSERT_EQUAL(memcmp(v, w, n * sizeof(*v)), 0);
	free(v);
	free(w);
}

static void test_cc_sort_u32_shapes(void)
{
	static const size_t sizes[] = {0, 1, 2, 3, 15, 16, 17, 33, 100, 1000, 65537};
	size_t i;
	int sh;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (sh = 0; sh < SHAPE_NR; sh++)
			check_u32(sizes[i], (enum shape)sh);
}

static void test_cc_sort_heap_path(void)
{
	uint32_t v[500], w[500];
	size_t i;

	fill(v, 500, SHAPE_RANDOM);
	for (i = 0; i < 500; i += 7)
		v[i] = 42; /* duplicates too */
	memcpy(w, v, sizeof(v));
	sort_u32_intro(v, 500, 0, NULL); /* depth 0: heapsort at once */
	qsort(w, 500, sizeof(*w), cmp_u32);
	CU_ASSERT_EQUAL(memcmp(v, w, sizeof(v)), 0);
}

static void test_cc_sort_struct_ctx(void)
{
	struct rec r[300];
	int is_desc = 1;
	size_t i;

	for (i = 0; i < 300; i++)
		r[i] = (struct rec){next_rand() % 40, (uint32_t)i, (uint64_t)i << 40};
	sort_rec(r, 300, &is_desc);
	for (i = 1; i < 300; i++) {
		CU_ASSERT_FATAL(r[i - 1].key > r[i].key ||
				(r[i - 1].key == r[i].key && r[i - 1].tag < r[i].tag));
		CU_ASSERT_EQUAL(r[i].wide, (uint64_t)r[i].tag << 40); /* moved whole */
	}
	is_desc = 0;
	sort_rec(r, 300, &is_desc);
	for (i = 1; i < 300; i++)
		CU_ASSERT_FATAL(r[i - 1].key < r[i].key ||
				(r[i - 1].key == r[i].key && r[i - 1].tag < r[i].tag));
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"u32_shapes", test_cc_sort_u32_shapes},
		{"heap_path", test_cc_sort_heap_path},
		{"struct_ctx", test_cc_sort_struct_ctx},
		{NULL, NULL},
	};

	return bm_test_add_suite("cc_sort", NULL, NULL, cases);
}
