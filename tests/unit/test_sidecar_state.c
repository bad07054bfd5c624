// SPDX-License-Identifier: GPL-2.0-only
/* Sidecar state pieces without NATS: key encoding, ETags, the hybrid
 * logical clock, the LWW order and the eventual map's merge (commutative,
 * idempotent: any delivery order converges).
 * ctest-labels: unit sidecar
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_test.h"
#include "eventual.h"
#include "hlc.h"
#include "store.h"

static void test_sidecar_state_key_encoding(void)
{
	const char *keys[] = {"plain-key_1", "a.b", "with space/ü", "=", "x*>"};
	char enc[128], dec[128];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		CU_ASSERT_EQUAL(store_key_encode(keys[i], enc, sizeof(enc)), 0);
		CU_ASSERT_PTR_NULL(strpbrk(enc, ". *>/"));
		CU_ASSERT_EQUAL(store_key_decode(enc, dec, sizeof(dec)), 0);
		CU_ASSERT_STRING_EQUAL(dec, keys[i]);
	}
	CU_ASSERT_EQUAL(store_key_encode("a.b", enc, sizeof(enc)), 0);
	CU_ASSERT_STRING_EQUAL(enc, "a=2Eb");
	CU_ASSERT_EQUAL(store_key_encode("", enc, sizeof(enc)), -EINVAL);
	CU_ASSERT_EQUAL(store_key_encode("....", enc, 8), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(store_key_decode("a=2", dec, sizeof(dec)), -EINVAL);
	CU_ASSERT_EQUAL(store_key_decode("a=00", dec, sizeof(dec)), -EINVAL);
}

static void test_sidecar_state_etag_parse(void)
{
	unsigned long long v = 0;

	CU_ASSERT_EQUAL(store_etag_parse("42", &v), 0);
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_EQUAL(store_etag_parse("18446744073709551615", &v), 0);
	CU_ASSERT_EQUAL(store_etag_parse("18446744073709551616", &v), -EINVAL);
	CU_ASSERT_EQUAL(store_etag_parse("0", &v), -EINVAL);
	CU_ASSERT_EQUAL(store_etag_parse("-1", &v), -EINVAL);
	CU_ASSERT_EQUAL(store_etag_parse("12a", &v), -EINVAL);
	CU_ASSERT_EQUAL(store_etag_parse("", &v), -EINVAL);
	CU_ASSERT_EQUAL(store_etag_parse(" 1", &v), -EINVAL);
}

static void test_sidecar_state_hlc(void)
{
	uint64_t t1, t2, t3;

	/* Wall time moves: physical part, counter 0. */
	t1 = hlc_send(0, 1000);
	CU_ASSERT_EQUAL(t1, 1000ULL << HLC_LOGICAL_BITS);
	/* Wall time stalls or goes back: the counter moves, never backwards. */
	t2 = hlc_send(t1, 1000);
	CU_ASSERT_EQUAL(t2, t1 + 1);
	CU_ASSERT_EQUAL(hlc_send(t2, 900), t2 + 1);
	/* A remote clock ahead of ours: we move past it. */
	t3 = hlc_recv(t2, 5000ULL << HLC_LOGICAL_BITS | 7, 1001);
	CU_ASSERT_EQUAL(t3, (5000ULL << HLC_LOGICAL_BITS | 7) + 1);
	CU_ASSERT_TRUE(hlc_send(t3, 1002) > t3);
	/* A remote clock behind: wall time wins. */
	CU_ASSERT_EQUAL(hlc_recv(t1, 5, 2000), 2000ULL << HLC_LOGICAL_BITS);
}

static void test_sidecar_state_lww_order(void)
{
	CU_ASSERT_TRUE(lww_compare(2, "a", 1, "z") > 0);
	CU_ASSERT_TRUE(lww_compare(1, "a", 2, "a") < 0);
	CU_ASSERT_TRUE(lww_compare(5, "b", 5, "a") > 0);
	CU_ASSERT_EQUAL(lww_compare(5, "a", 5, "a"), 0);
}

struct version {
	const char *key, *value, *origin;
	uint64_t ts;
};

static const struct version versions[] = {
	{"k", "v1", "r1", 10}, {"k", "v2", "r2", 11}, {"k", NULL, "r3", 12}, {"k", "v4", "r1", 12},
	{"j", "a", "r2", 3},   {"j", "b", "r3", 3},   {"i", "x", "r1", 1},   {"i", NULL, "r2", 2},
};
#define NR_VERSIONS (sizeof(versions) / sizeof(versions[0]))

static struct ev_map *apply_order(const size_t *order, size_t n)
{
	struct ev_map *m = ev_map_new();
	const struct version *v;
	size_t i;

	for (i = 0; m && i < n; i++) {
		v = &versions[order[i]];
		ev_map_merge(m, v->key, v->value, v->value ? strlen(v->value) : 0, v->ts,
			     v->origin);
	}
	return m;
}

static void expect_final(struct ev_map *m)
{
	uint64_t ts = 0;
	size_t len = 0;
	char *val = NULL;

	/* k: ts 12 from r3 (tombstone) and r1 ("v4"): r3 > r1 wins, so deleted. */
	CU_ASSERT_EQUAL(ev_map_get(m, "k", &val, &len, &ts), -ENOENT);
	/* j: same ts, r3 > r2. */
	CU_ASSERT_EQUAL(ev_map_get(m, "j", &val, &len, &ts), 0);
	CU_ASSERT_STRING_EQUAL(val, "b");
	CU_ASSERT_EQUAL(ts, 3);
	free(val);
	CU_ASSERT_EQUAL(ev_map_get(m, "i", &val, &len, &ts), -ENOENT);
}

static void test_sidecar_state_merge_converges(void)
{
	size_t order[NR_VERSIONS * 2], i, j, k, tmp;
	struct ev_map *first = NULL, *m;
	unsigned int seed = 1;

	for (i = 0; i < 50; i++) {
		/* A random permutation, each version delivered twice (duplicates). */
		for (j = 0; j < NR_VERSIONS * 2; j++)
			order[j] = j % NR_VERSIONS;
		for (j = NR_VERSIONS * 2 - 1; j > 0; j--) {
			k = (size_t)rand_r(&seed) % (j + 1);
			tmp = order[j];
			order[j] = order[k];
			order[k] = tmp;
		}
		m = apply_order(order, NR_VERSIONS * 2);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		expect_final(m);
		if (!first) {
			first = m;
			continue;
		}
		CU_ASSERT_EQUAL(ev_map_digest(m), ev_map_digest(first));
		ev_map_free(m);
	}
	ev_map_free(first);
}

static void test_sidecar_state_merge_result(void)
{
	struct ev_map *m = ev_map_new();
	char key[16];
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(ev_map_merge(m, "a", "1", 1, 5, "r1"), 1);
	CU_ASSERT_EQUAL(ev_map_merge(m, "a", "0", 1, 4, "r2"), 0);
	CU_ASSERT_EQUAL(ev_map_merge(m, "a", "1", 1, 5, "r1"), 0);
	/* Growth past the initial table keeps every key. */
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CU_ASSERT_EQUAL(ev_map_merge(m, key, key, strlen(key), 1, "r"), 1);
	}
	CU_ASSERT_EQUAL(ev_map_merge(m, "k4999", "x", 1, 1, "r"), 0);
	ev_map_free(m);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"key_encoding", test_sidecar_state_key_encoding},
		{"etag_parse", test_sidecar_state_etag_parse},
		{"hlc", test_sidecar_state_hlc},
		{"lww_order", test_sidecar_state_lww_order},
		{"merge_converges", test_sidecar_state_merge_converges},
		{"merge_result", test_sidecar_state_merge_result},
		{NULL, NULL},
	};

	return bm_test_add_suite("sidecar_state", NULL, NULL, cases);
}
