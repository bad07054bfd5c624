// SPDX-License-Identifier: GPL-2.0-only
/*
 * bm_xdp_ingress parsing: every header variant of pkt_cases.h through the
 * dry-run instance (reason, rule, action) and the live one (action, reason
 * counter, deny event), and every truncation point of every header, both as
 * a cut frame (IP lengths still announce the whole datagram) and as a cut
 * datagram (IP lengths shortened with it). The userland parser must give the
 * same reason on each frame.
 * ctest-labels: bpf dataplane
 */
#include <errno.h>

#include "bm_test.h"
#include "pkt_parse.h"
#include "xdp_expect.h"
#include "xdp_fixture.h"

static struct xfx fx;

static int suite_init(void)
{
	/* No flow cache: every case is judged afresh, whatever ran before. */
	return xfx_open_installed(&fx, BM_CFG_F_EVENTS, 0) ? -1 : 0;
}

static int suite_clean(void)
{
	xfx_close(&fx);
	return 0;
}

static uint8_t expected_parse(uint8_t bpf_reason, uint8_t parse_reason)
{
	return parse_reason == PC_OK ? PC_OK : bpf_reason;
}

/* The dry run of b: reason and action agree, and the userland parser agrees. */
static void check_dry(const struct pb *b, uint8_t reason, uint32_t rule_id, bool check_rule)
{
	struct bm_verdict_record rec;
	struct pkt_info info;
	uint8_t pr;

	CU_ASSERT_EQUAL_FATAL(dp_test_run(fx.dry, b->d, b->len, &rec), 0);
	CU_ASSERT_EQUAL(rec.reason, reason);
	CU_ASSERT_EQUAL(rec.xdp_action, bm_reason_is_deny(reason) ? XDP_DROP : XDP_PASS);
	CU_ASSERT_EQUAL(rec.verdict == BM_VERDICT_DENY, bm_reason_is_deny(reason));
	CU_ASSERT_EQUAL(rec.generation, fx.generation);
	if (check_rule)
		CU_ASSERT_EQUAL(rec.rule_id, rule_id);
	pr = pkt_parse(b->d, b->len, &info);
	if (pr != PC_OK)
		CU_ASSERT_EQUAL(pr, reason);
	if (rec.reason != reason || (pr != PC_OK && pr != reason))
		fprintf(stderr, "  len %zu: bpf reason %u, userland %u, want %u\n", b->len,
			rec.reason, pr, reason);
}

static void run_case(size_t i)
{
	const struct pkt_case *c = &pkt_cases[i];
	struct bm_verdict_record rec;
	struct pb full, cut;
	size_t end, n;

	pb_init(&full);
	end = c->build(&full);
	CU_ASSERT_EQUAL(expected_parse(c->reason, c->parse_reason),
			pkt_parse(full.d, full.len, &(struct pkt_info){0}));
	check_dry(&full, c->reason, c->rule_id, true);
	xfx_expect_live(&fx, &full, c->reason);
	for (n = 0; n < end; n++) {
		cut = full;
		pb_cut_frame(&cut, n);
		if (n < 14) {
			/* the kernel refuses test frames shorter than Ethernet */
			CU_ASSERT_EQUAL(dp_test_run(fx.dry, cut.d, cut.len, &rec), -EINVAL);
			CU_ASSERT_EQUAL(pkt_parse(cut.d, cut.len, &(struct pkt_info){0}),
					BM_REASON_DENY_MALFORMED);
			continue;
		}
		check_dry(&cut, BM_REASON_DENY_MALFORMED, 0, false);
		cut = full;
		pb_cut_datagram(&cut, n);
		check_dry(&cut, BM_REASON_DENY_MALFORMED, 0, false);
	}
	if (end > 14) {
		cut = full;
		pb_cut_datagram(&cut, end - 1);
		xfx_expect_live(&fx, &cut, BM_REASON_DENY_MALFORMED);
	}
}

static char case_names[PKT_CASES_N][64];

/* One registered test per case; the running test's name says which. */
static void test_xdp_parse_case(void)
{
	const char *name = CU_get_current_test()->pName;
	size_t i;

	for (i = 0; i < PKT_CASES_N; i++) {
		if (!strcmp(name, case_names[i]))
			run_case(i);
	}
}

/* Frames whose one inconsistency is the point: each must be malformed. */
static void test_xdp_parse_inconsistent(void)
{
	struct pb b;

	pb_init(&b); /* IPv4 ihl 4 */
	pc_v4_tcp(&b);
	b.d[14] = 0x44;
	check_dry(&b, BM_REASON_DENY_MALFORMED, 0, false);
	pb_init(&b); /* IPv6 version in an IPv4 ethertype */
	pc_v4_tcp(&b);
	b.d[14] = 0x65;
	check_dry(&b, BM_REASON_DENY_MALFORMED, 0, false);
	pb_init(&b); /* IPv4 in an IPv6 ethertype */
	pc_v6_tcp(&b);
	b.d[14] = 0x45;
	check_dry(&b, BM_REASON_DENY_MALFORMED, 0, false);
	pb_init(&b); /* total length below the header length */
	pc_v4_tcp(&b);
	pb_be16(b.d + 16, 19);
	check_dry(&b, BM_REASON_DENY_MALFORMED, 0, false);
	pb_init(&b); /* total length past the frame */
	pc_v4_tcp(&b);
	pb_be16(b.d + 16, (uint16_t)(b.len - 14 + 1));
	check_dry(&b, BM_REASON_DENY_MALFORMED, 0, false);
	pb_init(&b); /* IPv6 payload length past the frame */
	pc_v6_tcp(&b);
	pb_be16(b.d + 18, (uint16_t)(b.len - 54 + 1));
	check_dry(&b, BM_REASON_DENY_MALFORMED, 0, false);
	pb_init(&b); /* TCP data offset 4 */
	pc_v4_tcp(&b);
	b.d[34 + 12] = 0x40;
	check_dry(&b, BM_REASON_DENY_MALFORMED, 0, false);
	pb_init(&b); /* TCP data offset past the datagram */
	pb_eth(&b, PB_ETH_IP);
	pb_ipv4(&b, 6, FX_A4, FX_B4);
	pb_tcp(&b, 1111, 80);
	b.d[34 + 12] = 0x60;
	check_dry(&b, BM_REASON_DENY_MALFORMED, 0, false);
	pb_init(&b); /* TCP in the Ethernet padding only */
	pc_v4_tcp(&b);
	pb_be16(b.d + 16, 20);
	check_dry(&b, BM_REASON_DENY_MALFORMED, 0, false);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_MALFORMED);
}

/* Frame padding after a complete datagram is ignored. */
static void test_xdp_parse_padding(void)
{
	struct pb b;

	pb_init(&b);
	pc_v4_tcp(&b);
	pb_cut_datagram(&b, 54);
	pb_put(&b, 6);
	check_dry(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP80, true);
}

/* 802.3 length field instead of an ethertype: not IP. */
static void test_xdp_parse_8023(void)
{
	struct pb b;

	pb_init(&b);
	pb_eth(&b, 46);
	pb_payload(&b, 46);
	check_dry(&b, BM_REASON_ALLOW_NOT_IP, 0, true);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_NOT_IP);
}

/* The ports really are read: a port the policy does not allow is denied. */
static void test_xdp_parse_ports(void)
{
	struct pb b;

	pb_init(&b);
	pb_eth(&b, PB_ETH_8021Q);
	pb_vlan(&b, PB_ETH_IPV6);
	pc_v6(&b, 0);
	pb_ipv6_opts(&b, 6, 2);
	pb_tcp(&b, 1111, 81);
	check_dry(&b, BM_REASON_DENY_INGRESS, 0, true);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_INGRESS);
	CU_ASSERT_EQUAL(fx.last_event.dport, htons(81));
	CU_ASSERT_EQUAL(fx.last_event.sport, htons(1111));
	CU_ASSERT_EQUAL(fx.last_event.proto, 6);
	CU_ASSERT_EQUAL(fx.last_event.family, BM_FAMILY_IPV6);
	CU_ASSERT_EQUAL(fx.last_event.src_id, FX_ID_A);
	CU_ASSERT_EQUAL(fx.last_event.dst_id, FX_ID_B);
}

int bm_test_register(void)
{
	static struct bm_test_case cases[PKT_CASES_N + 5];
	size_t i;

	bm_test_require_root();
	for (i = 0; i < PKT_CASES_N; i++) {
		snprintf(case_names[i], sizeof(case_names[i]), "test_xdp_parse_%s",
			 pkt_cases[i].name);
		cases[i].name = case_names[i];
		cases[i].fn = test_xdp_parse_case;
	}
	cases[i++] =
		(struct bm_test_case){"test_xdp_parse_inconsistent", test_xdp_parse_inconsistent};
	cases[i++] = (struct bm_test_case){"test_xdp_parse_padding", test_xdp_parse_padding};
	cases[i++] = (struct bm_test_case){"test_xdp_parse_8023", test_xdp_parse_8023};
	cases[i++] = (struct bm_test_case){"test_xdp_parse_ports", test_xdp_parse_ports};
	cases[i] = (struct bm_test_case){NULL, NULL};
	return bm_test_add_suite("xdp_parse", suite_init, suite_clean, cases);
}
