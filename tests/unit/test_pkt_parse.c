// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userland frame parser (control/pkt_parse.c): the same header variants
 * and truncation points as tests/bpf/test_xdp_parse.c, with the facts it
 * reports (tuple, fragment, ND, flow ports).
 * ctest-labels: unit dataplane
 */
#include <arpa/inet.h>

#include "bm_test.h"
#include "pkt_cases.h"
#include "pkt_parse.h"

/* Every case: the full frame's reason, and every shorter cut is malformed. */
static void test_pkt_parse_cases(void)
{
	struct pkt_info info;
	struct pb full, cut;
	size_t i, n, end;

	for (i = 0; i < PKT_CASES_N; i++) {
		pb_init(&full);
		end = pkt_cases[i].build(&full);
		CU_ASSERT_EQUAL(pkt_parse(full.d, full.len, &info), pkt_cases[i].parse_reason);
		for (n = 0; n < end; n++) {
			cut = full;
			pb_cut_frame(&cut, n);
			CU_ASSERT_EQUAL(pkt_parse(cut.d, cut.len, &info), BM_REASON_DENY_MALFORMED);
			cut = full;
			pb_cut_datagram(&cut, n);
			CU_ASSERT_EQUAL(pkt_parse(cut.d, cut.len, &info), BM_REASON_DENY_MALFORMED);
		}
	}
}

static void test_pkt_parse_tuple_v4(void)
{
	struct pkt_info info;
	struct pb b;

	pb_init(&b);
	pc_v4_tcp_opts(&b);
	CU_ASSERT_EQUAL_FATAL(pkt_parse(b.d, b.len, &info), PKT_PARSE_OK);
	CU_ASSERT_TRUE(info.is_ip);
	CU_ASSERT_EQUAL(info.tuple.family, BM_FAMILY_IPV4);
	CU_ASSERT_EQUAL(info.tuple.proto, 6);
	CU_ASSERT_EQUAL(info.tuple.sport, 1111);
	CU_ASSERT_EQUAL(info.tuple.dport, 80);
	CU_ASSERT_EQUAL(info.flow_sport, 1111);
	CU_ASSERT_EQUAL(info.tuple.saddr[0], 10);
	CU_ASSERT_EQUAL(info.tuple.saddr[3], 1);
	CU_ASSERT_EQUAL(info.tuple.daddr[3], 2);
	CU_ASSERT_EQUAL(info.tuple.daddr[4], 0);
	CU_ASSERT_FALSE(info.is_first_frag || info.is_later_frag);
}

static void test_pkt_parse_icmp_echo(void)
{
	struct pkt_info info;
	struct pb b;

	pb_init(&b);
	pc_v6_icmp6_echo(&b);
	CU_ASSERT_EQUAL_FATAL(pkt_parse(b.d, b.len, &info), PKT_PARSE_OK);
	CU_ASSERT_EQUAL(info.tuple.family, BM_FAMILY_IPV6);
	CU_ASSERT_EQUAL(info.tuple.proto, 58);
	CU_ASSERT_EQUAL(info.tuple.sport, 0); /* the policy sees port 0 */
	CU_ASSERT_EQUAL(info.tuple.dport, 0);
	CU_ASSERT_EQUAL(info.flow_sport, 0x99); /* the flow key sees the identifier */
	CU_ASSERT_EQUAL(info.flow_dport, 0x99);
	CU_ASSERT_EQUAL(info.tuple.daddr[15], FX_B6);
}

static void test_pkt_parse_nd(void)
{
	struct pkt_info info;
	struct pb b;

	pb_init(&b);
	pc_v6_nd(&b);
	CU_ASSERT_EQUAL(pkt_parse(b.d, b.len, &info), BM_REASON_ALLOW_ICMP6_ND);
	CU_ASSERT_TRUE(info.is_icmp6_nd);
	b.d[54] = 132; /* MLD done: not ND */
	CU_ASSERT_EQUAL(pkt_parse(b.d, b.len, &info), PKT_PARSE_OK);
	CU_ASSERT_FALSE(info.is_icmp6_nd);
}

static void test_pkt_parse_fragments(void)
{
	struct pkt_info info;
	struct pb b;

	pb_init(&b);
	pc_v4_first_frag(&b);
	CU_ASSERT_EQUAL_FATAL(pkt_parse(b.d, b.len, &info), PKT_PARSE_OK);
	CU_ASSERT_TRUE(info.is_first_frag);
	CU_ASSERT_FALSE(info.is_later_frag);
	CU_ASSERT_EQUAL(info.frag_id, 0x4242);
	CU_ASSERT_EQUAL(info.frag_proto, 17);
	CU_ASSERT_EQUAL(info.tuple.dport, 53);
	pb_init(&b);
	pc_v6_later_frag_tcp(&b);
	CU_ASSERT_EQUAL_FATAL(pkt_parse(b.d, b.len, &info), PKT_PARSE_OK);
	CU_ASSERT_TRUE(info.is_later_frag);
	CU_ASSERT_EQUAL(info.frag_id, 0x52525252);
	CU_ASSERT_EQUAL(info.frag_proto, 6);
	CU_ASSERT_EQUAL(info.tuple.proto, 6);
	CU_ASSERT_EQUAL(info.tuple.dport, 0);
	pb_init(&b);
	pc_v6_atomic_frag_tcp(&b);
	CU_ASSERT_EQUAL_FATAL(pkt_parse(b.d, b.len, &info), PKT_PARSE_OK);
	CU_ASSERT_FALSE(info.is_first_frag || info.is_later_frag);
	CU_ASSERT_EQUAL(info.tuple.dport, 80);
}

static void test_pkt_parse_inconsistent(void)
{
	struct pkt_info info;
	struct pb b;

	pb_init(&b);
	pc_v4_tcp(&b);
	b.d[14] = 0x44; /* ihl 4 */
	CU_ASSERT_EQUAL(pkt_parse(b.d, b.len, &info), BM_REASON_DENY_MALFORMED);
	pb_init(&b);
	pc_v4_tcp(&b);
	b.d[46] = 0x40; /* doff 4 */
	CU_ASSERT_EQUAL(pkt_parse(b.d, b.len, &info), BM_REASON_DENY_MALFORMED);
	pb_init(&b);
	pc_v6_tcp(&b);
	b.d[14] = 0x45; /* IPv4 in an IPv6 ethertype */
	CU_ASSERT_EQUAL(pkt_parse(b.d, b.len, &info), BM_REASON_DENY_MALFORMED);
	pb_init(&b);
	pc_v4_tcp(&b);
	pb_be16(b.d + 16, 20); /* TCP only in the padding */
	CU_ASSERT_EQUAL(pkt_parse(b.d, b.len, &info), BM_REASON_DENY_MALFORMED);
}

static const struct bm_test_case cases[] = {
	{"test_pkt_parse_cases", test_pkt_parse_cases},
	{"test_pkt_parse_tuple_v4", test_pkt_parse_tuple_v4},
	{"test_pkt_parse_icmp_echo", test_pkt_parse_icmp_echo},
	{"test_pkt_parse_nd", test_pkt_parse_nd},
	{"test_pkt_parse_fragments", test_pkt_parse_fragments},
	{"test_pkt_parse_inconsistent", test_pkt_parse_inconsistent},
	{NULL, NULL},
};

int bm_test_register(void)
{
	return bm_test_add_suite("pkt_parse", NULL, NULL, cases);
}
