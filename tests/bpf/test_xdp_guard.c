// SPDX-License-Identifier: GPL-2.0-only
/*
 * Anti-spoofing guards (bm_ifguard, dp_guard_set()) through bm_xdp_ingress:
 * a source the ingress interface's guard does not list is dropped with
 * DENY_SPOOFED (counted, reported as a deny event), before the flow cache
 * and with no policy loaded too; listed sources, interfaces without a guard,
 * non-IP frames and ICMPv6 ND are unaffected; the API refuses bad input and
 * leaves the old guard in place. BPF_PROG_TEST_RUN without a context runs
 * on the namespace's loopback (ifindex 1), the interface guarded here.
 * ctest-labels: bpf dataplane
 */
#include <errno.h>

#include "bm_test.h"
#include "guard.h"
#include "xdp_expect.h"
#include "xdp_fixture.h"

#define LO 1

static struct xfx fx;

static int suite_init(void)
{
	return xfx_open_installed(&fx, BM_CFG_F_FLOW_CACHE | BM_CFG_F_EVENTS, 0) ? -1 : 0;
}

static int suite_clean(void)
{
	xfx_close(&fx);
	return 0;
}

static void frame4(struct pb *b, uint32_t s, uint32_t d, uint16_t sport, uint16_t dport)
{
	pb_init(b);
	pb_eth(b, PB_ETH_IP);
	pb_ipv4(b, 6, s, d);
	pb_tcp(b, sport, dport);
	pb_payload(b, 10);
}

static void frame6(struct pb *b, uint16_t s, uint16_t d, uint8_t proto, uint8_t type)
{
	uint8_t sa[16], da[16];

	pb_init(b);
	pb_eth(b, PB_ETH_IPV6);
	pb_addr6(sa, s);
	pb_addr6(da, d);
	pb_ipv6(b, proto, sa, da);
	if (proto == 58)
		pb_icmp(b, type, 0, 7);
	else
		pb_tcp(b, 2000, 80);
	pb_payload(b, 10);
}

static struct bm_addr a4(uint32_t host_order)
{
	struct bm_addr a = {.family = BM_FAMILY_IPV4};
	uint32_t be = htonl(host_order);

	memcpy(a.addr, &be, 4);
	return a;
}

static struct bm_addr a6(uint16_t last)
{
	struct bm_addr a = {.family = BM_FAMILY_IPV6};

	pb_addr6(a.addr, last);
	return a;
}

static uint8_t dry_reason(const struct pb *b)
{
	struct bm_verdict_record rec;

	CU_ASSERT_EQUAL(dp_test_run(fx.dry, b->d, b->len, &rec), 0);
	return rec.reason;
}

/* Guard lists A's IPv4 and IPv6 addresses: A passes as before, others are spoofed. */
static void test_guard_spoofed_and_real(void)
{
	const struct bm_addr addrs[] = {a4(FX_A4), a6(FX_A6)};
	struct bm_verdict_record rec;
	struct pb b;

	frame4(&b, FX_A4, FX_B4, 3001, 80);
	CU_ASSERT_EQUAL_FATAL(dp_guard_set(fx.live, LO, addrs, 2), 0);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_POLICY);
	frame4(&b, FX_C4, FX_B4, 3002, 80); /* C's address from A's interface */
	xfx_expect_live(&fx, &b, BM_REASON_DENY_SPOOFED);
	CU_ASSERT_EQUAL(fx.last_event.saddr[3], FX_C4 & 0xff);
	CU_ASSERT_EQUAL(fx.last_event.ifindex, LO);
	CU_ASSERT_EQUAL(fx.last_event.dport, htons(80));
	CU_ASSERT_EQUAL(dp_test_run(fx.dry, b.d, b.len, &rec), 0);
	CU_ASSERT_EQUAL(rec.reason, BM_REASON_DENY_SPOOFED);
	CU_ASSERT_EQUAL(rec.xdp_action, XDP_DROP);
	CU_ASSERT_EQUAL(rec.src_id, 0);
	frame6(&b, FX_A6, FX_B6, 6, 0);
	CU_ASSERT_EQUAL(dry_reason(&b), BM_REASON_ALLOW_POLICY);
	frame6(&b, FX_B6, FX_A6, 6, 0);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_SPOOFED);
	CU_ASSERT_EQUAL(dp_guard_del(fx.live, LO), 0);
	CU_ASSERT_EQUAL(dp_guard_del(fx.live, LO), -ENOENT);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_INGRESS); /* B6 -> A6 without a guard: policy */
}

/* A guard with no address of a family refuses the family; ND, ARP and malformed frames keep their
 * reasons. */
static void test_guard_family_and_exempt(void)
{
	const struct bm_addr v4only = a4(FX_C4);
	struct pb b;

	CU_ASSERT_EQUAL_FATAL(dp_guard_set(fx.live, LO, &v4only, 1), 0);
	frame6(&b, FX_A6, FX_B6, 6, 0);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_SPOOFED);
	frame6(&b, FX_A6, FX_B6, 58, 135); /* neighbour solicitation */
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_ICMP6_ND);
	frame6(&b, FX_A6, FX_B6, 58, 128); /* echo request */
	xfx_expect_live(&fx, &b, BM_REASON_DENY_SPOOFED);
	pb_init(&b);
	pb_eth(&b, PB_ETH_ARP);
	pb_payload(&b, 28);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_NOT_IP);
	frame4(&b, FX_A4, FX_B4, 3003, 80);
	pb_cut_frame(&b, 14 + 30); /* inside the TCP header */
	xfx_expect_live(&fx, &b, BM_REASON_DENY_MALFORMED);
	CU_ASSERT_EQUAL_FATAL(dp_guard_set(fx.live, LO, NULL, 0), 0); /* admits no source */
	frame4(&b, FX_C4, FX_B4, 3004, 80);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_SPOOFED);
	CU_ASSERT_EQUAL(dp_guard_del(fx.live, LO), 0);
}

/* A non-first fragment is checked too: it carries the datagram's source. */
static void test_guard_later_fragment(void)
{
	const struct bm_addr real = a4(FX_A4);
	struct pb b;

	CU_ASSERT_EQUAL_FATAL(dp_guard_set(fx.live, LO, &real, 1), 0);
	pb_init(&b);
	pb_eth(&b, PB_ETH_IP);
	pb_ipv4_ex(&b, 17, FX_C4, FX_B4, 5, 0x0010, 77);
	pb_payload(&b, 24);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_SPOOFED);
	CU_ASSERT_EQUAL(dp_guard_del(fx.live, LO), 0);
}

/* An established (cached) flow is cut as soon as its source is no longer admitted. */
static void test_guard_before_flow_cache(void)
{
	const struct bm_addr other = a4(FX_C4);
	struct pb b;

	frame4(&b, FX_A4, FX_B4, 3005, 80);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_POLICY);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_FLOW);
	CU_ASSERT_EQUAL_FATAL(dp_guard_set(fx.live, LO, &other, 1), 0);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_SPOOFED);
	CU_ASSERT_EQUAL(dp_guard_del(fx.live, LO), 0);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_FLOW);
}

/* Guards of other interfaces never touch this one. */
static void test_guard_other_interfaces(void)
{
	const struct bm_addr other = a4(FX_C4);
	struct pb b;
	int ifindex;

	for (ifindex = 2; ifindex < 40; ifindex++)
		CU_ASSERT_EQUAL(dp_guard_set(fx.live, ifindex, &other, 1), 0);
	frame4(&b, FX_A4, FX_B4, 3006, 80);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_POLICY);
	for (ifindex = 2; ifindex < 40; ifindex++)
		CU_ASSERT_EQUAL(dp_guard_del(fx.live, ifindex), 0);
}

/* With no policy loaded, spoofed sources are still dropped; real ones pass. */
static void test_guard_no_policy(void)
{
	const struct bm_addr real = a4(FX_A4);
	struct xfx empty;
	struct pb b;

	CU_ASSERT_EQUAL_FATAL(xfx_open(&empty), 0);
	CU_ASSERT_EQUAL_FATAL(dp_guard_set(empty.live, LO, &real, 1), 0);
	frame4(&b, FX_A4, FX_B4, 3007, 80);
	xfx_expect_live(&empty, &b, BM_REASON_ALLOW_NO_POLICY);
	frame4(&b, FX_C4, FX_B4, 3008, 80);
	xfx_expect_live(&empty, &b, BM_REASON_DENY_SPOOFED);
	xfx_close(&empty);
}

/* policy check --bpf asks about policy alone: the check's own interface is no workload's. */
static void test_guard_policy_check_ignores(void)
{
	const struct bm_addr other = a4(FX_C4);
	struct bm_verdict_record rec;
	struct dataplane *pc = NULL;
	struct pb b;

	CU_ASSERT_EQUAL_FATAL(dp_open_policy_check(fx.pin_dir, &pc), 0);
	CU_ASSERT_EQUAL_FATAL(dp_guard_set(fx.live, LO, &other, 1), 0);
	frame4(&b, FX_A4, FX_B4, 3009, 80);
	CU_ASSERT_EQUAL(dp_test_run(pc, b.d, b.len, &rec), 0);
	CU_ASSERT_EQUAL(rec.reason, BM_REASON_ALLOW_POLICY);
	CU_ASSERT_EQUAL(dp_guard_del(fx.live, LO), 0);
	dp_close(pc);
}

/* Bad input is refused and changes nothing. */
static void test_guard_api_errors(void)
{
	struct bm_addr five[5], bad = a4(FX_A4);
	const struct bm_addr real = a4(FX_A4);
	struct bm_ifguard g;
	int i;

	for (i = 0; i < 5; i++)
		five[i] = a4(FX_A4 + 16 + (uint32_t)i);
	CU_ASSERT_EQUAL(dp_guard_set(fx.live, 0, &real, 1), -EINVAL);
	CU_ASSERT_EQUAL(dp_guard_set(fx.live, -3, &real, 1), -EINVAL);
	CU_ASSERT_EQUAL(dp_guard_set(fx.live, LO, NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(dp_guard_set(fx.live, LO, &real, 1), 0);
	CU_ASSERT_EQUAL(dp_guard_set(fx.live, LO, five, 5), -E2BIG);
	bad.family = 5;
	CU_ASSERT_EQUAL(dp_guard_set(fx.live, LO, &bad, 1), -EINVAL);
	bad = a4(FX_A4);
	bad.addr[9] = 1; /* an IPv4 address with bytes past the fourth */
	CU_ASSERT_EQUAL(dp_guard_set(fx.live, LO, &bad, 1), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(dp_guard_get(fx.live, LO, &g), 0);
	CU_ASSERT_EQUAL(g.nr_v4, 1);
	CU_ASSERT_EQUAL(g.nr_v6, 0);
	CU_ASSERT_EQUAL(g.v4[0], htonl(FX_A4));
	CU_ASSERT_EQUAL(dp_guard_set(fx.live, LO, five, 4), 0);
	CU_ASSERT_EQUAL_FATAL(dp_guard_get(fx.live, LO, &g), 0);
	CU_ASSERT_EQUAL(g.nr_v4, 4);
	CU_ASSERT_EQUAL(dp_guard_del(fx.live, LO), 0);
	CU_ASSERT_EQUAL(dp_guard_get(fx.live, LO, &g), -ENOENT);
	CU_ASSERT_EQUAL(dp_guard_del(fx.live, 0), -EINVAL);
}

static const struct bm_test_case cases[] = {
	{"spoofed_and_real", test_guard_spoofed_and_real},
	{"family_and_exempt", test_guard_family_and_exempt},
	{"later_fragment", test_guard_later_fragment},
	{"before_flow_cache", test_guard_before_flow_cache},
	{"other_interfaces", test_guard_other_interfaces},
	{"no_policy", test_guard_no_policy},
	{"policy_check_ignores", test_guard_policy_check_ignores},
	{"api_errors", test_guard_api_errors},
	{NULL, NULL},
};

int bm_test_register(void)
{
	bm_test_require_root();
	return bm_test_add_suite("xdp_guard", suite_init, suite_clean, cases);
}
