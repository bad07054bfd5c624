// SPDX-License-Identifier: GPL-2.0-only
/*
 * Anti-spoofing guards in userland (control/guard.c): building the map
 * value, the spoofing rule, address parsing, and the reference verdict of
 * a frame entering a guarded interface (ref_packet_verdict_guarded()).
 * ctest-labels: unit dataplane
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "bm_test.h"
#include "guard.h"
#include "pkt_build.h"
#include "policy_model.h"
#include "ref_packet.h"

static struct bm_addr addr(const char *text)
{
	struct bm_addr a;

	CU_ASSERT_EQUAL(guard_addr_parse(text, &a), 0);
	return a;
}

static void test_guard_build(void)
{
	struct bm_addr list[10];
	struct bm_ifguard g;
	char text[32];
	int i;

	list[0] = addr("198.18.0.2");
	list[1] = addr("fd00::2");
	list[2] = addr("198.18.0.2"); /* duplicate: kept once */
	CU_ASSERT_EQUAL(guard_build(list, 3, &g), 0);
	CU_ASSERT_EQUAL(g.nr_v4, 1);
	CU_ASSERT_EQUAL(g.nr_v6, 1);
	CU_ASSERT_EQUAL(g.v4[0], htonl(0xc6120002));
	CU_ASSERT_EQUAL(g.v6[0][0], 0xfd);
	CU_ASSERT_EQUAL(g.v6[0][15], 2);
	CU_ASSERT_EQUAL(guard_build(NULL, 0, &g), 0);
	CU_ASSERT_EQUAL(g.nr_v4 + g.nr_v6, 0);
	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "198.18.0.%d", 10 + i);
		list[i] = addr(text);
	}
	CU_ASSERT_EQUAL(guard_build(list, 4, &g), 0);
	CU_ASSERT_EQUAL(guard_build(list, 5, &g), -E2BIG);
	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "fd00::%d", 10 + i);
		list[i] = addr(text);
	}
	CU_ASSERT_EQUAL(guard_build(list, 4, &g), 0);
	CU_ASSERT_EQUAL(guard_build(list, 5, &g), -E2BIG);
	list[0].family = 9;
	CU_ASSERT_EQUAL(guard_build(list, 1, &g), -EINVAL);
	list[0] = addr("198.18.0.2");
	list[0].addr[4] = 1;
	CU_ASSERT_EQUAL(guard_build(list, 1, &g), -EINVAL);
}

static void test_guard_rule(void)
{
	struct bm_addr list[2] = {addr("198.18.0.2"), addr("fd00::2")};
	struct bm_addr real4 = addr("198.18.0.2"), fake4 = addr("198.18.0.3");
	struct bm_addr real6 = addr("fd00::2"), fake6 = addr("fd00::3");
	struct bm_ifguard g;

	CU_ASSERT_EQUAL_FATAL(guard_build(list, 2, &g), 0);
	CU_ASSERT_FALSE(guard_is_spoofed(&g, BM_FAMILY_IPV4, real4.addr));
	CU_ASSERT_TRUE(guard_is_spoofed(&g, BM_FAMILY_IPV4, fake4.addr));
	CU_ASSERT_FALSE(guard_is_spoofed(&g, BM_FAMILY_IPV6, real6.addr));
	CU_ASSERT_TRUE(guard_is_spoofed(&g, BM_FAMILY_IPV6, fake6.addr));
	CU_ASSERT_FALSE(guard_is_spoofed(NULL, BM_FAMILY_IPV4, fake4.addr));
	CU_ASSERT_EQUAL_FATAL(guard_build(list, 1, &g), 0); /* IPv4 only */
	CU_ASSERT_TRUE(guard_is_spoofed(&g, BM_FAMILY_IPV6, real6.addr));
}

static void test_guard_addr_parse(void)
{
	struct bm_addr a;

	CU_ASSERT_EQUAL(guard_addr_parse("198.18.0.256", &a), -EINVAL);
	CU_ASSERT_EQUAL(guard_addr_parse("198.18.0.0/24", &a), -EINVAL);
	CU_ASSERT_EQUAL(guard_addr_parse("", &a), -EINVAL);
	CU_ASSERT_EQUAL(guard_addr_parse("fd00::1", &a), 0);
	CU_ASSERT_EQUAL(a.family, BM_FAMILY_IPV6);
}

/* The reference verdict: spoofed first, then everything as without a guard. */
static void test_guard_reference_verdict(void)
{
	struct bm_addr real = addr("10.0.0.1");
	struct pm_model *m = pm_model_new();
	struct pe_result r;
	struct bm_ifguard g;
	struct pb b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL_FATAL(guard_build(&real, 1, &g), 0);
	pb_init(&b);
	pb_eth(&b, PB_ETH_IP);
	pb_ipv4(&b, 6, 0x0a000002, 0x0a000009);
	pb_tcp(&b, 1000, 80);
	CU_ASSERT_EQUAL(ref_packet_verdict_guarded(m, &g, b.d, b.len, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_DENY_SPOOFED);
	CU_ASSERT_EQUAL(r.verdict, BM_VERDICT_DENY);
	CU_ASSERT_EQUAL(ref_packet_verdict_guarded(m, NULL, b.d, b.len, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_ALLOW_NOT_ENDPOINT);
	pb_init(&b);
	pb_eth(&b, PB_ETH_IP);
	pb_ipv4(&b, 6, 0x0a000001, 0x0a000009);
	pb_tcp(&b, 1000, 80);
	CU_ASSERT_EQUAL(ref_packet_verdict_guarded(m, &g, b.d, b.len, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_ALLOW_NOT_ENDPOINT);
	pb_cut_frame(&b, 20); /* malformed stays malformed */
	CU_ASSERT_EQUAL(ref_packet_verdict_guarded(m, &g, b.d, b.len, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_DENY_MALFORMED);
	pm_model_free(m);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"build", test_guard_build},
		{"rule", test_guard_rule},
		{"addr_parse", test_guard_addr_parse},
		{"reference_verdict", test_guard_reference_verdict},
		{NULL, NULL},
	};

	return bm_test_add_suite("guard", NULL, NULL, cases);
}
