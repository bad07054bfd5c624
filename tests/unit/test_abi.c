// SPDX-License-Identifier: GPL-2.0-only
/* ABI layout checks: sizes and offsets both compilers must agree on.
 * ctest-labels: unit dataplane
 */
#include <stddef.h>

#include <abi/abi.h>

#include "bm_test.h"
#include "tables.h"

static void test_abi_sizes(void)
{
	CU_ASSERT_EQUAL(sizeof(struct bm_ipcache_value), 16);
	CU_ASSERT_EQUAL(sizeof(struct bm_policy_key), 12);
	CU_ASSERT_EQUAL(sizeof(struct bm_policy_value), 36);
	CU_ASSERT_EQUAL(sizeof(struct bm_port_range), 12);
	CU_ASSERT_EQUAL(sizeof(struct bm_flow_key), 40);
	CU_ASSERT_EQUAL(sizeof(struct bm_flow_event), 80);
	CU_ASSERT_EQUAL(sizeof(struct bm_config), 24);
	CU_ASSERT_EQUAL(sizeof(struct bm_event_budget), 24);
	CU_ASSERT_EQUAL(sizeof(struct bm_addr), 20);
	CU_ASSERT_EQUAL(sizeof(struct bm_ifguard_key), 4);
	CU_ASSERT_EQUAL(sizeof(struct bm_ifguard), 88);
}

static void test_abi_offsets(void)
{
	CU_ASSERT_EQUAL(offsetof(struct bm_policy_key, direction), 8);
	CU_ASSERT_EQUAL(offsetof(struct bm_policy_key, proto), 9);
	CU_ASSERT_EQUAL(offsetof(struct bm_flow_key, sport), 32);
	CU_ASSERT_EQUAL(offsetof(struct bm_flow_event, saddr), 32);
	CU_ASSERT_EQUAL(offsetof(struct bm_config, generation), 0);
	CU_ASSERT_EQUAL(offsetof(struct bm_cidr6_key, addr), 4);
	CU_ASSERT_EQUAL(offsetof(struct bm_addr, addr), 4);
	CU_ASSERT_EQUAL(offsetof(struct bm_ifguard, v4), 8);
	CU_ASSERT_EQUAL(offsetof(struct bm_ifguard, v6), 24);
}

static void test_abi_reasons_split(void)
{
	CU_ASSERT_FALSE(bm_reason_is_deny(BM_REASON_ALLOW_RELATED));
	CU_ASSERT_TRUE(bm_reason_is_deny(BM_REASON_DENY_INGRESS));
	CU_ASSERT_TRUE(BM_REASON_DENY_SPOOFED < BM_REASON_MAX);
	CU_ASSERT_EQUAL(BM_VERDICT_DENY, 0);
}

static void test_abi_tables_append_find(void)
{
	struct bm_tables t;
	struct bm_host4_key k = { .addr = 0x010012c6 };
	struct bm_ipcache_value v = { .sec_id = 300, .class_id = 5 };
	const struct bm_ipcache_value *found;
	int i;

	tables_init(&t);
	for (i = 0; i < 1000; i++) {
		k.addr = (__u32)i;
		v.class_id = (__u32)i;
		CU_ASSERT_EQUAL_FATAL(tables_append(&t, TABLES_HOST4, &k, &v), 0);
	}
	k.addr = 777;
	found = tables_find(&t, TABLES_HOST4, &k);
	CU_ASSERT_PTR_NOT_NULL_FATAL(found);
	CU_ASSERT_EQUAL(found->class_id, 777);
	CU_ASSERT_EQUAL(t.maps[TABLES_HOST4].n, 1000);
	tables_release(&t);
	tables_release(&t);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{ "sizes", test_abi_sizes },
		{ "offsets", test_abi_offsets },
		{ "reasons_split", test_abi_reasons_split },
		{ "tables_append_find", test_abi_tables_append_find },
		{ NULL, NULL },
	};

	return bm_test_add_suite("abi", NULL, NULL, cases);
}
