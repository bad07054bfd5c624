// SPDX-License-Identifier: GPL-2.0-only
/*
 * bm_xdp_ingress verdicts: one test per verdict reason and per decision
 * step (policy_eval.h), on the dry-run instance (verdict, reason, rule,
 * identities) and the live one (XDP action, bm_reasons, pair counters, the
 * ring-buffer event), plus the flow cache with replies and generation swaps,
 * fragments, authentication expiry and sampling.
 * ctest-labels: bpf dataplane
 */
#include <errno.h>
#include <stddef.h>
#include <sched.h>
#include <unistd.h>

#include "bm_test.h"
#include "pinned.h"
#include "xdp_expect.h"
#include "xdp_fixture.h"

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

static void frame4(struct pb *b, uint8_t proto, uint32_t s, uint32_t d, uint16_t sport,
		   uint16_t dport)
{
	pb_init(b);
	pb_eth(b, PB_ETH_IP);
	pb_ipv4(b, proto, s, d);
	if (proto == 6)
		pb_tcp(b, sport, dport);
	else if (proto == 17)
		pb_udp(b, sport, dport);
	else if (proto == 132)
		pb_sctp(b, sport, dport);
	else if (proto == 1)
		pb_icmp(b, (uint8_t)sport, 0, dport); /* sport: type, dport: echo id */
	pb_payload(b, 10);
}

static void frame6(struct pb *b, uint8_t proto, uint16_t s, uint16_t d, uint16_t sport,
		   uint16_t dport)
{
	uint8_t sa[16], da[16];

	pb_init(b);
	pb_eth(b, PB_ETH_IPV6);
	pb_addr6(sa, s);
	pb_addr6(da, d);
	pb_ipv6(b, proto, sa, da);
	if (proto == 6)
		pb_tcp(b, sport, dport);
	else if (proto == 17)
		pb_udp(b, sport, dport);
	else if (proto == 58)
		pb_icmp(b, (uint8_t)sport, 0, dport);
	pb_payload(b, 10);
}

static struct bm_verdict_record dry(const struct pb *b)
{
	struct bm_verdict_record rec;

	memset(&rec, 0xff, sizeof(rec));
	CU_ASSERT_EQUAL(dp_test_run(fx.dry, b->d, b->len, &rec), 0);
	return rec;
}

static void expect_dry(const struct pb *b, uint8_t reason, uint32_t rule, uint32_t src,
		       uint32_t dst)
{
	struct bm_verdict_record rec = dry(b);

	CU_ASSERT_EQUAL(rec.reason, reason);
	CU_ASSERT_EQUAL(rec.rule_id, rule);
	CU_ASSERT_EQUAL(rec.src_id, src);
	CU_ASSERT_EQUAL(rec.dst_id, dst);
	CU_ASSERT_EQUAL(rec.xdp_action, bm_reason_is_deny(reason) ? XDP_DROP : XDP_PASS);
	CU_ASSERT_EQUAL(rec.generation, fx.generation);
	if (rec.reason != reason || rec.rule_id != rule)
		fprintf(stderr, "  dry: reason %u rule %u, want %u rule %u\n", rec.reason,
			rec.rule_id, reason, rule);
}

static void both(const struct pb *b, uint8_t reason, uint32_t rule, uint32_t src, uint32_t dst)
{
	expect_dry(b, reason, rule, src, dst);
	xfx_expect_live(&fx, b, reason);
}

static int reinstall(void)
{
	struct bm_tables t;
	int err;

	xfx_tables(&t);
	err = dp_install(fx.live, &t, &fx.generation);
	tables_release(&t);
	return err;
}

static void set_auth(uint32_t src, uint32_t dst, uint64_t expires)
{
	struct bm_auth_key k = {.src_id = src, .dst_id = dst};
	struct bm_auth_value v = {.expires_boot_ns = expires, .handshake_id = 7};

	CU_ASSERT_EQUAL(bpf_map_update_elem(dp_map_fd(fx.live, BM_MAP_AUTH), &k, &v, BPF_ANY), 0);
}

static void del_auth(uint32_t src, uint32_t dst)
{
	struct bm_auth_key k = {.src_id = src, .dst_id = dst};

	bpf_map_delete_elem(dp_map_fd(fx.live, BM_MAP_AUTH), &k);
}

static bool flow_cached(uint8_t proto, uint32_t s, uint32_t d, uint16_t sport, uint16_t dport)
{
	struct bm_flow_key k;
	struct bm_flow_value v;

	memset(&k, 0, sizeof(k));
	pb_be32(k.saddr, s);
	pb_be32(k.daddr, d);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	k.family = BM_FAMILY_IPV4;
	return !bpf_map_lookup_elem(dp_map_fd(fx.live, BM_MAP_FLOWS), &k, &v);
}

static void test_xdp_verdict_allow_policy(void)
{
	struct pb b;

	frame4(&b, 6, FX_A4, FX_B4, 2001, 80);
	both(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP80, FX_ID_A, FX_ID_B);
	frame6(&b, 6, FX_A6, FX_B6, 2001, 80);
	both(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP80, FX_ID_A, FX_ID_B);
}

static void test_xdp_verdict_range_and_spill(void)
{
	struct pb b;

	frame4(&b, 6, FX_A4, FX_B4, 2002, 8000);
	expect_dry(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP8000, FX_ID_A, FX_ID_B);
	frame4(&b, 6, FX_A4, FX_B4, 2002, 8080);
	expect_dry(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP8000, FX_ID_A, FX_ID_B);
	frame4(&b, 6, FX_A4, FX_B4, 2002, 8081);
	expect_dry(&b, BM_REASON_DENY_INGRESS, 0, FX_ID_A, FX_ID_B);
	frame4(&b, 6, FX_A4, FX_B4, 2002, 9090);
	both(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP9090_SPILL, FX_ID_A, FX_ID_B);
	frame4(&b, 6, FX_A4, FX_B4, 2002, 9091);
	expect_dry(&b, BM_REASON_DENY_INGRESS, 0, FX_ID_A, FX_ID_B);
	frame4(&b, 17, FX_A4, FX_B4, 2002, 65535);
	both(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_UDP, FX_ID_A, FX_ID_B);
	frame4(&b, 132, FX_A4, FX_B4, 2002, 5000);
	both(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_SCTP5000, FX_ID_A, FX_ID_B);
	frame4(&b, 1, FX_A4, FX_B4, 8, 2002);
	both(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_ICMP, FX_ID_A, FX_ID_B);
}

/* {subject, peer} is complete when present; {subject, ANY} only without it. */
static void test_xdp_verdict_any_peer(void)
{
	struct pb b;

	frame4(&b, 6, FX_C4, FX_B4, 2003, 22);
	both(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_ANY_TCP22, FX_ID_C, FX_ID_B);
	frame4(&b, 6, FX_W4, FX_B4, 2003, 22);
	both(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_ANY_TCP22, BM_ID_WORLD, FX_ID_B);
	frame4(&b, 6, FX_A4, FX_B4, 2003, 22);
	expect_dry(&b, BM_REASON_DENY_INGRESS, 0, FX_ID_A, FX_ID_B);
}

static void test_xdp_verdict_deny_ingress(void)
{
	struct pb b;

	frame4(&b, 6, FX_C4, FX_B4, 2004, 80);
	both(&b, BM_REASON_DENY_INGRESS, 0, FX_ID_C, FX_ID_B);
	CU_ASSERT_EQUAL(fx.last_event.src_id, FX_ID_C);
	CU_ASSERT_EQUAL(fx.last_event.dst_id, FX_ID_B);
	CU_ASSERT_EQUAL(fx.last_event.dport, htons(80));
	CU_ASSERT_EQUAL(fx.last_event.verdict, BM_VERDICT_DENY);
	CU_ASSERT_FALSE(flow_cached(6, FX_C4, FX_B4, 2004, 80)); /* denies are never cached */
	xfx_expect_live(&fx, &b, BM_REASON_DENY_INGRESS);
}

static void test_xdp_verdict_deny_egress(void)
{
	struct pb b;

	frame4(&b, 6, FX_D4, FX_C4, 2005, 80);
	both(&b, BM_REASON_DENY_EGRESS, 0, FX_ID_D, FX_ID_C);
	frame4(&b, 6, FX_A4, FX_C4, 2005, 80); /* A egress allows only B */
	both(&b, BM_REASON_DENY_EGRESS, 0, FX_ID_A, FX_ID_C);
}

static void test_xdp_verdict_not_isolated(void)
{
	struct pb b;

	frame4(&b, 17, FX_R4, FX_C4, 2006, 53);
	both(&b, BM_REASON_ALLOW_NOT_ISOLATED, 0, FX_ID_R, FX_ID_C);
}

static void test_xdp_verdict_not_endpoint(void)
{
	struct pb b;

	frame4(&b, 17, FX_R4, FX_W4, 2007, 53);
	both(&b, BM_REASON_ALLOW_NOT_ENDPOINT, 0, FX_ID_R, BM_ID_WORLD);
	frame4(&b, 17, FX_W4, FX_W4 + 1, 2007, 53);
	both(&b, BM_REASON_ALLOW_NOT_ENDPOINT, 0, BM_ID_WORLD, BM_ID_WORLD);
}

static void test_xdp_verdict_auth(void)
{
	struct pb b;

	del_auth(FX_ID_A, FX_ID_B);
	frame4(&b, 6, FX_A4, FX_B4, 2008, 443);
	both(&b, BM_REASON_DENY_AUTH_MISSING, FX_R_B_IN_TCP443_AUTH, FX_ID_A, FX_ID_B);
	set_auth(FX_ID_A, FX_ID_B, xfx_boot_ns() - 1);
	both(&b, BM_REASON_DENY_AUTH_EXPIRED, FX_R_B_IN_TCP443_AUTH, FX_ID_A, FX_ID_B);
	set_auth(FX_ID_A, FX_ID_B, xfx_boot_ns() + 60ull * 1000000000ull);
	expect_dry(&b, BM_REASON_ALLOW_AUTH, FX_R_B_IN_TCP443_AUTH, FX_ID_A, FX_ID_B);
	CU_ASSERT_EQUAL(dry(&b).verdict, BM_VERDICT_ALLOW_AUTH);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_AUTH);
	del_auth(FX_ID_A, FX_ID_B);
}

/* A cached auth verdict ends with the auth entry it was given under. */
static void test_xdp_verdict_auth_expiry_in_cache(void)
{
	struct pb b;

	frame4(&b, 6, FX_A4, FX_B4, 2009, 443);
	set_auth(FX_ID_A, FX_ID_B, xfx_boot_ns() + 100ull * 1000000);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_AUTH);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_FLOW);
	CU_ASSERT_EQUAL(dry(&b).verdict, BM_VERDICT_ALLOW_AUTH);
	usleep(150 * 1000);
	expect_dry(&b, BM_REASON_DENY_AUTH_EXPIRED, FX_R_B_IN_TCP443_AUTH, FX_ID_A, FX_ID_B);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_AUTH_EXPIRED);
	CU_ASSERT_FALSE(flow_cached(6, FX_A4, FX_B4, 2009, 443));
	del_auth(FX_ID_A, FX_ID_B);
}

/* Revoking the pair's authentication cuts its established flows at once. */
static void test_xdp_verdict_auth_revoked_in_cache(void)
{
	struct pb fwd, rep;

	frame4(&fwd, 6, FX_A4, FX_B4, 2014, 443);
	frame4(&rep, 6, FX_B4, FX_A4, 443, 2014);
	set_auth(FX_ID_A, FX_ID_B, xfx_boot_ns() + 60ull * 1000000000ull);
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_AUTH);
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_FLOW);
	xfx_expect_live(&fx, &rep, BM_REASON_ALLOW_REPLY);
	del_auth(FX_ID_A, FX_ID_B);
	expect_dry(&fwd, BM_REASON_DENY_AUTH_MISSING, FX_R_B_IN_TCP443_AUTH, FX_ID_A, FX_ID_B);
	xfx_expect_live(&fx, &rep, BM_REASON_DENY_INGRESS); /* the original direction needs auth now */
	xfx_expect_live(&fx, &fwd, BM_REASON_DENY_AUTH_MISSING);
	CU_ASSERT_FALSE(flow_cached(6, FX_A4, FX_B4, 2014, 443));
}

static void test_xdp_verdict_not_ip(void)
{
	struct pb b;

	pb_init(&b);
	pc_arp(&b);
	both(&b, BM_REASON_ALLOW_NOT_IP, 0, 0, 0);
}

static void test_xdp_verdict_icmp6_nd(void)
{
	struct pb b;

	frame6(&b, 58, 0x77, FX_B6, 136, 0); /* from WORLD to an isolated B: ND still passes */
	both(&b, BM_REASON_ALLOW_ICMP6_ND, 0, 0, 0);
	frame6(&b, 58, 0x77, FX_B6, 128, 5); /* an echo request is judged */
	both(&b, BM_REASON_DENY_INGRESS, 0, BM_ID_WORLD, FX_ID_B);
}

/* The flow cache: forward hits, replies pass an ingress-isolated client. */
static void test_xdp_verdict_flow_and_reply(void)
{
	struct pb fwd, rep, other;

	frame4(&fwd, 6, FX_A4, FX_B4, 40001, 80);
	frame4(&rep, 6, FX_B4, FX_A4, 80, 40001);
	frame4(&other, 6, FX_B4, FX_A4, 80, 40002);
	expect_dry(&rep, BM_REASON_DENY_INGRESS, 0, FX_ID_B, FX_ID_A);
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_POLICY);
	CU_ASSERT_TRUE(flow_cached(6, FX_A4, FX_B4, 40001, 80));
	CU_ASSERT_TRUE(flow_cached(6, FX_B4, FX_A4, 80, 40001));
	expect_dry(&fwd, BM_REASON_ALLOW_FLOW, FX_R_B_IN_TCP80, FX_ID_A, FX_ID_B);
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_FLOW);
	expect_dry(&rep, BM_REASON_ALLOW_REPLY, FX_R_B_IN_TCP80, FX_ID_B, FX_ID_A);
	xfx_expect_live(&fx, &rep, BM_REASON_ALLOW_REPLY);
	both(&other, BM_REASON_DENY_INGRESS, 0, FX_ID_B, FX_ID_A);
}

static void test_xdp_verdict_icmp_echo_reply(void)
{
	struct pb req, rep;

	frame4(&req, 1, FX_A4, FX_B4, 8, 0x4d4d);
	frame4(&rep, 1, FX_B4, FX_A4, 0, 0x4d4d);
	expect_dry(&rep, BM_REASON_DENY_INGRESS, 0, FX_ID_B, FX_ID_A);
	xfx_expect_live(&fx, &req, BM_REASON_ALLOW_POLICY);
	xfx_expect_live(&fx, &rep, BM_REASON_ALLOW_REPLY);
	frame4(&rep, 1, FX_B4, FX_A4, 0, 0x4d4e);
	xfx_expect_live(&fx, &rep, BM_REASON_DENY_INGRESS);
}

/* Not cached: flow cache off, or a dry run. */
static void test_xdp_verdict_no_cache_writes(void)
{
	struct pb b;

	frame4(&b, 6, FX_A4, FX_B4, 40010, 80);
	expect_dry(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP80, FX_ID_A, FX_ID_B);
	CU_ASSERT_FALSE(flow_cached(6, FX_A4, FX_B4, 40010, 80));
	CU_ASSERT_EQUAL(dp_configure(fx.live, BM_CFG_F_EVENTS, 0), 0);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_POLICY);
	xfx_expect_live(&fx, &b, BM_REASON_ALLOW_POLICY);
	CU_ASSERT_FALSE(flow_cached(6, FX_A4, FX_B4, 40010, 80));
	CU_ASSERT_EQUAL(dp_configure(fx.live, BM_CFG_F_FLOW_CACHE | BM_CFG_F_EVENTS, 0), 0);
}

/* A new generation makes every entry stale: replies re-judge the original direction. */
static void test_xdp_verdict_generation_swap(void)
{
	struct pb fwd, rep;
	uint32_t old = fx.generation;

	frame4(&fwd, 6, FX_A4, FX_B4, 40020, 80);
	frame4(&rep, 6, FX_B4, FX_A4, 80, 40020);
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_POLICY);
	CU_ASSERT_EQUAL_FATAL(reinstall(), 0);
	CU_ASSERT_NOT_EQUAL(fx.generation, old);
	expect_dry(&rep, BM_REASON_ALLOW_REPLY, FX_R_B_IN_TCP80, FX_ID_B, FX_ID_A);
	xfx_expect_live(&fx, &rep, BM_REASON_ALLOW_REPLY); /* refreshed through the original direction */
	xfx_expect_live(&fx, &rep, BM_REASON_ALLOW_REPLY); /* now a current entry */
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_FLOW);
	CU_ASSERT_EQUAL_FATAL(reinstall(), 0);
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_POLICY); /* stale forward: judged afresh */
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_FLOW);
}

/* A policy that no longer allows the original direction ends its replies. */
static void test_xdp_verdict_swap_revokes(void)
{
	struct pb fwd, rep;
	struct bm_tables t;

	frame4(&fwd, 6, FX_C4, FX_B4, 40030, 22);
	frame4(&rep, 6, FX_B4, FX_C4, 22, 40030);
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_POLICY);
	xfx_expect_live(&fx, &rep, BM_REASON_ALLOW_REPLY);
	tables_init(&t); /* C and B unknown: nothing isolated, all WORLD */
	CU_ASSERT_EQUAL_FATAL(dp_install(fx.live, &t, &fx.generation), 0);
	tables_release(&t);
	xfx_expect_live(&fx, &rep, BM_REASON_ALLOW_NOT_ENDPOINT);
	CU_ASSERT_FALSE(flow_cached(6, FX_B4, FX_C4, 22, 40030));
	CU_ASSERT_EQUAL_FATAL(reinstall(), 0);
	expect_dry(&rep, BM_REASON_ALLOW_NOT_ISOLATED, 0, FX_ID_B, FX_ID_C);
}

static void frag4(struct pb *b, uint8_t proto, uint16_t frag, uint16_t id, uint16_t dport)
{
	pb_init(b);
	pb_eth(b, PB_ETH_IP);
	pb_ipv4_ex(b, proto, FX_A4, FX_B4, 5, frag, id);
	if (!(frag & 0x1fff))
		pb_tcp(b, id, dport); /* a new flow per datagram: no cache hits */
	pb_payload(b, 40);
}

static void test_xdp_verdict_fragments(void)
{
	struct pb first, later, unseen;

	frag4(&first, 6, 0x2000, 0x0a0a, 80);
	frag4(&later, 6, 0x2000 | 3, 0x0a0a, 0);
	frag4(&unseen, 6, 3, 0x0b0b, 0);
	expect_dry(&later, BM_REASON_DENY_FRAGMENT, 0, FX_ID_A, FX_ID_B);
	xfx_expect_live(&fx, &first, BM_REASON_ALLOW_POLICY);
	expect_dry(&later, BM_REASON_ALLOW_FRAGMENT, FX_R_B_IN_TCP80, FX_ID_A, FX_ID_B);
	xfx_expect_live(&fx, &later, BM_REASON_ALLOW_FRAGMENT);
	both(&unseen, BM_REASON_DENY_FRAGMENT, 0, FX_ID_A, FX_ID_B);
	/* a denied first fragment records nothing */
	frag4(&first, 6, 0x2000, 0x0c0c, 81);
	frag4(&later, 6, 3, 0x0c0c, 0);
	xfx_expect_live(&fx, &first, BM_REASON_DENY_INGRESS);
	xfx_expect_live(&fx, &later, BM_REASON_DENY_FRAGMENT);
	/* a record of an older generation does not count */
	frag4(&first, 6, 0x2000, 0x0d0d, 80);
	frag4(&later, 6, 3, 0x0d0d, 0);
	xfx_expect_live(&fx, &first, BM_REASON_ALLOW_POLICY);
	CU_ASSERT_EQUAL_FATAL(reinstall(), 0);
	xfx_expect_live(&fx, &later, BM_REASON_DENY_FRAGMENT);
	/* UDP: every port allowed both ways, so unseen fragments pass on policy */
	frag4(&unseen, 17, 5, 0x0e0e, 0);
	both(&unseen, BM_REASON_ALLOW_POLICY, FX_R_B_IN_UDP, FX_ID_A, FX_ID_B);
}

static void test_xdp_verdict_fragments6(void)
{
	struct pb first, later;
	uint8_t s[16], d[16];

	pb_addr6(s, FX_A6);
	pb_addr6(d, FX_B6);
	pb_init(&first);
	pb_eth(&first, PB_ETH_IPV6);
	pb_ipv6(&first, 44, s, d);
	pb_ipv6_frag(&first, 6, 0, 1, 0xabcdef01);
	pb_tcp(&first, 40050, 8001);
	pb_payload(&first, 40);
	pb_init(&later);
	pb_eth(&later, PB_ETH_IPV6);
	pb_ipv6(&later, 44, s, d);
	pb_ipv6_frag(&later, 6, 7, 0, 0xabcdef01);
	pb_payload(&later, 40);
	expect_dry(&later, BM_REASON_DENY_FRAGMENT, 0, FX_ID_A, FX_ID_B);
	xfx_expect_live(&fx, &first, BM_REASON_ALLOW_POLICY);
	both(&later, BM_REASON_ALLOW_FRAGMENT, FX_R_B_IN_TCP8000, FX_ID_A, FX_ID_B);
}

/* A generation whose inner maps are gone fails closed. */
static void test_xdp_verdict_internal(void)
{
	uint32_t slot = BM_GEN_SLOT(fx.generation);
	struct pb b;

	frame4(&b, 6, FX_A4, FX_B4, 2010, 80);
	CU_ASSERT_EQUAL_FATAL(bpf_map_delete_elem(dp_map_fd(fx.live, BM_MAP_POLICY), &slot), 0);
	both(&b, BM_REASON_DENY_INTERNAL, 0, FX_ID_A, FX_ID_B);
	CU_ASSERT_EQUAL_FATAL(bpf_map_delete_elem(dp_map_fd(fx.live, BM_MAP_HOST4), &slot), 0);
	expect_dry(&b, BM_REASON_DENY_INTERNAL, 0, 0, 0);
	CU_ASSERT_EQUAL_FATAL(reinstall(), 0);
	expect_dry(&b, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP80, FX_ID_A, FX_ID_B);
}

/* 1-in-N allow events; no events at all without BM_CFG_F_EVENTS. */
static void test_xdp_verdict_events(void)
{
	struct bm_verdict_record rec;
	struct pb b;

	frame4(&b, 17, FX_R4, FX_C4, 2011, 53);
	CU_ASSERT_EQUAL(dp_configure(fx.live, BM_CFG_F_FLOW_CACHE | BM_CFG_F_EVENTS, 1), 0);
	xfx_events(&fx);
	CU_ASSERT_EQUAL(dp_test_run(fx.live, b.d, b.len, &rec), 0);
	CU_ASSERT_EQUAL(xfx_events(&fx), 1);
	CU_ASSERT_EQUAL(fx.last_event.reason, BM_REASON_ALLOW_NOT_ISOLATED);
	CU_ASSERT_EQUAL(fx.last_event.verdict, BM_VERDICT_ALLOW);
	CU_ASSERT_EQUAL(fx.last_event.src_id, FX_ID_R);
	CU_ASSERT_EQUAL(fx.last_event.dst_id, FX_ID_C);
	CU_ASSERT_EQUAL(fx.last_event.sport, htons(2011));
	CU_ASSERT_EQUAL(fx.last_event.family, BM_FAMILY_IPV4);
	CU_ASSERT_EQUAL(fx.last_event.saddr[0], 10);
	CU_ASSERT_NOT_EQUAL(fx.last_event.ts_boot_ns, 0);
	CU_ASSERT_EQUAL(dp_configure(fx.live, BM_CFG_F_FLOW_CACHE, 1), 0);
	frame4(&b, 6, FX_C4, FX_B4, 2011, 80);
	CU_ASSERT_EQUAL(dp_test_run(fx.live, b.d, b.len, &rec), 0);
	CU_ASSERT_EQUAL(rec.xdp_action, XDP_DROP);
	CU_ASSERT_EQUAL(xfx_events(&fx), 0);
	CU_ASSERT_EQUAL(dp_configure(fx.live, BM_CFG_F_FLOW_CACHE | BM_CFG_F_EVENTS, 0), 0);
}

/* Denied packets counted on the pair's slot, which the data plane allocated. */
static uint64_t pair_denied(uint32_t src, uint32_t dst, uint32_t *slot)
{
	struct bm_pair_key k = {.src_id = src, .dst_id = dst};
	int n = libbpf_num_possible_cpus(), i;
	struct bm_pair_stats *per;
	uint64_t denied = 0;

	*slot = 0;
	if (bpf_map_lookup_elem(dp_map_fd(fx.live, BM_MAP_PAIR_SLOTS), &k, slot))
		return 0;
	per = calloc((size_t)n, sizeof(*per));
	if (per && !bpf_map_lookup_elem(dp_map_fd(fx.live, BM_MAP_PAIR_STATS), slot, per)) {
		for (i = 0; i < n; i++)
			denied += per[i].packets[BM_VERDICT_DENY];
	}
	free(per);
	return denied;
}

/* Zero every CPU's deny-event budget; returns 0 or -errno. */
static int budget_reset(void)
{
	int n = libbpf_num_possible_cpus();
	struct bm_event_budget *per;
	uint32_t zero = 0;
	int err;

	per = calloc((size_t)n, sizeof(*per));
	if (!per)
		return -ENOMEM;
	err = bpf_map_update_elem(dp_map_fd(fx.live, BM_MAP_EVENT_BUDGET), &zero, per, BPF_ANY);
	free(per);
	return err ? -errno : 0;
}

/* Deny events held back by the rate, summed over the CPUs. */
static uint64_t budget_suppressed(void)
{
	uint64_t sum[sizeof(struct bm_event_budget) / sizeof(uint64_t)];

	if (pinned_percpu_sum(dp_map_fd(fx.live, BM_MAP_EVENT_BUDGET), 0, sum,
			      sizeof(sum) / sizeof(sum[0])))
		return 0;
	return sum[offsetof(struct bm_event_budget, suppressed) / sizeof(uint64_t)];
}

/* Send b n times; returns how many were dropped. */
static unsigned int send_n(const struct pb *b, unsigned int n)
{
	struct bm_verdict_record rec;
	unsigned int i, dropped = 0;

	for (i = 0; i < n; i++) {
		if (dp_test_run(fx.live, b->d, b->len, &rec) == 0 && rec.xdp_action == XDP_DROP)
			dropped++;
	}
	return dropped;
}

/*
 * The per-CPU deny event rate: over it, denies are still dropped and
 * counted but not put on the ring; the next one-second window emits again;
 * rate 0 is no limit. The thread stays on one CPU so that one budget counts.
 */
static void test_xdp_verdict_deny_event_rate(void)
{
	cpu_set_t old, one;
	struct pb b;
	uint32_t slot;
	uint64_t denied;

	CU_ASSERT_EQUAL_FATAL(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	CU_ASSERT_EQUAL_FATAL(sched_setaffinity(0, sizeof(one), &one), 0);
	frame4(&b, 6, FX_C4, FX_B4, 2012, 80);
	CU_ASSERT_EQUAL(dp_configure(fx.live, BM_CFG_F_FLOW_CACHE | BM_CFG_F_EVENTS, 0), 0);
	CU_ASSERT_EQUAL(dp_set_deny_event_rate(fx.live, 3), 0);
	CU_ASSERT_EQUAL(budget_reset(), 0);
	xfx_events(&fx);
	denied = pair_denied(FX_ID_C, FX_ID_B, &slot);
	CU_ASSERT_EQUAL(send_n(&b, 10), 10);
	CU_ASSERT_EQUAL(xfx_events(&fx), 3);
	CU_ASSERT_EQUAL(fx.last_event.verdict, BM_VERDICT_DENY);
	CU_ASSERT_EQUAL(budget_suppressed(), 7);
	CU_ASSERT_EQUAL(pair_denied(FX_ID_C, FX_ID_B, &slot), denied + 10);
	usleep(1100 * 1000); /* the next window */
	CU_ASSERT_EQUAL(send_n(&b, 4), 4);
	CU_ASSERT_EQUAL(xfx_events(&fx), 3);
	CU_ASSERT_EQUAL(budget_suppressed(), 8);
	CU_ASSERT_EQUAL(dp_set_deny_event_rate(fx.live, 0), 0);
	CU_ASSERT_EQUAL(send_n(&b, 10), 10);
	CU_ASSERT_EQUAL(xfx_events(&fx), 10);
	CU_ASSERT_EQUAL(budget_suppressed(), 8);
	CU_ASSERT_EQUAL(dp_set_deny_event_rate(fx.live, BM_DENY_EVENT_RATE_DEFAULT), 0);
	CU_ASSERT_EQUAL(sched_setaffinity(0, sizeof(old), &old), 0);
}

static void test_xdp_verdict_pair_stats(void)
{
	uint64_t before, after;
	uint32_t slot;
	struct pb b;

	frame4(&b, 6, FX_D4, FX_C4, 2012, 80);
	before = pair_denied(FX_ID_D, FX_ID_C, &slot);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_EGRESS);
	xfx_expect_live(&fx, &b, BM_REASON_DENY_EGRESS);
	after = pair_denied(FX_ID_D, FX_ID_C, &slot);
	CU_ASSERT_NOT_EQUAL(slot, 0);
	CU_ASSERT_EQUAL(after, before + 2);
}

/* Before any generation is installed, everything passes. */
static void test_xdp_verdict_no_policy(void)
{
	struct bm_verdict_record rec;
	struct xfx empty;
	struct pb b;

	CU_ASSERT_EQUAL_FATAL(xfx_open(&empty), 0);
	frame4(&b, 6, FX_C4, FX_B4, 2013, 80);
	CU_ASSERT_EQUAL(dp_test_run(empty.dry, b.d, b.len, &rec), 0);
	CU_ASSERT_EQUAL(rec.reason, BM_REASON_ALLOW_NO_POLICY);
	CU_ASSERT_EQUAL(rec.generation, 0);
	CU_ASSERT_EQUAL(rec.xdp_action, XDP_PASS);
	pb_cut_frame(&b, 20); /* not even parsed */
	CU_ASSERT_EQUAL(dp_test_run(empty.live, b.d, b.len, &rec), 0);
	CU_ASSERT_EQUAL(rec.xdp_action, XDP_PASS);
	CU_ASSERT_EQUAL(xfx_reason(&empty, BM_REASON_ALLOW_NO_POLICY).packets, 1);
	xfx_close(&empty);
}

/* An ICMP error from s to d quoting the datagram in q (from its IP header). */
static void icmp_error4(struct pb *b, uint32_t s, uint32_t d, uint8_t type, const struct pb *q)
{
	pb_init(b);
	pb_eth(b, PB_ETH_IP);
	pb_ipv4(b, 1, s, d);
	pb_icmp(b, type, 3, 0);
	memcpy(pb_put(b, q->len - 14), q->d + 14, q->len - 14);
	pb_fix(b);
}

/* ICMP errors about a cached flow pass as ALLOW_RELATED, others are judged. */
static void test_xdp_verdict_related(void)
{
	struct pb fwd, err, q;

	frame4(&fwd, 6, FX_A4, FX_B4, 40060, 80);
	frame4(&q, 6, FX_A4, FX_B4, 40060, 80);
	pb_cut_frame(&q, 14 + 20 + 8); /* errors quote the IP header and 8 bytes */
	icmp_error4(&err, FX_W4, FX_A4, 3, &q);
	expect_dry(&err, BM_REASON_DENY_INGRESS, 0, BM_ID_WORLD, FX_ID_A);
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_POLICY);
	expect_dry(&err, BM_REASON_ALLOW_RELATED, FX_R_B_IN_TCP80, BM_ID_WORLD, FX_ID_A);
	xfx_expect_live(&fx, &err, BM_REASON_ALLOW_RELATED);
	xfx_expect_live(&fx, &err, BM_REASON_ALLOW_RELATED);
	icmp_error4(&err, FX_W4, FX_B4, 11, &q); /* not addressed to the quoted source */
	both(&err, BM_REASON_DENY_INGRESS, 0, BM_ID_WORLD, FX_ID_B);
	frame4(&q, 6, FX_B4, FX_A4, 80, 40060); /* the reply direction, back to B */
	icmp_error4(&err, FX_W4, FX_B4, 3, &q);
	both(&err, BM_REASON_ALLOW_RELATED, FX_R_B_IN_TCP80, BM_ID_WORLD, FX_ID_B);
	frame4(&q, 6, FX_A4, FX_B4, 40061, 80); /* a flow never seen */
	icmp_error4(&err, FX_W4, FX_A4, 3, &q);
	both(&err, BM_REASON_DENY_INGRESS, 0, BM_ID_WORLD, FX_ID_A);
	pb_cut_frame(&q, 14 + 20 + 2); /* a quote too short for the ports */
	icmp_error4(&err, FX_W4, FX_A4, 3, &q);
	both(&err, BM_REASON_DENY_INGRESS, 0, BM_ID_WORLD, FX_ID_A);
}

/* IPv6 packet too big about a cached UDP flow. */
static void test_xdp_verdict_related6(void)
{
	uint8_t w[16], a[16];
	struct pb fwd, err;

	frame6(&fwd, 17, FX_A6, FX_B6, 40062, 53);
	xfx_expect_live(&fx, &fwd, BM_REASON_ALLOW_POLICY);
	pb_addr6(w, 0x77);
	pb_addr6(a, FX_A6);
	pb_init(&err);
	pb_eth(&err, PB_ETH_IPV6);
	pb_ipv6(&err, 58, w, a);
	pb_icmp(&err, 2, 0, 0);
	memcpy(pb_put(&err, fwd.len - 14), fwd.d + 14, fwd.len - 14);
	pb_fix(&err);
	both(&err, BM_REASON_ALLOW_RELATED, FX_R_B_IN_UDP, BM_ID_WORLD, FX_ID_A);
	err.d[54] = 1; /* destination unreachable: related too */
	expect_dry(&err, BM_REASON_ALLOW_RELATED, FX_R_B_IN_UDP, BM_ID_WORLD, FX_ID_A);
	err.d[54] = 128; /* an echo request is no error */
	expect_dry(&err, BM_REASON_DENY_INGRESS, 0, BM_ID_WORLD, FX_ID_A);
}

static const struct bm_test_case cases[] = {
	{"test_xdp_verdict_allow_policy", test_xdp_verdict_allow_policy},
	{"test_xdp_verdict_range_and_spill", test_xdp_verdict_range_and_spill},
	{"test_xdp_verdict_any_peer", test_xdp_verdict_any_peer},
	{"test_xdp_verdict_deny_ingress", test_xdp_verdict_deny_ingress},
	{"test_xdp_verdict_deny_egress", test_xdp_verdict_deny_egress},
	{"test_xdp_verdict_not_isolated", test_xdp_verdict_not_isolated},
	{"test_xdp_verdict_not_endpoint", test_xdp_verdict_not_endpoint},
	{"test_xdp_verdict_auth", test_xdp_verdict_auth},
	{"test_xdp_verdict_auth_expiry_in_cache", test_xdp_verdict_auth_expiry_in_cache},
	{"test_xdp_verdict_auth_revoked_in_cache", test_xdp_verdict_auth_revoked_in_cache},
	{"test_xdp_verdict_not_ip", test_xdp_verdict_not_ip},
	{"test_xdp_verdict_icmp6_nd", test_xdp_verdict_icmp6_nd},
	{"test_xdp_verdict_flow_and_reply", test_xdp_verdict_flow_and_reply},
	{"test_xdp_verdict_icmp_echo_reply", test_xdp_verdict_icmp_echo_reply},
	{"test_xdp_verdict_no_cache_writes", test_xdp_verdict_no_cache_writes},
	{"test_xdp_verdict_generation_swap", test_xdp_verdict_generation_swap},
	{"test_xdp_verdict_swap_revokes", test_xdp_verdict_swap_revokes},
	{"test_xdp_verdict_fragments", test_xdp_verdict_fragments},
	{"test_xdp_verdict_fragments6", test_xdp_verdict_fragments6},
	{"test_xdp_verdict_internal", test_xdp_verdict_internal},
	{"test_xdp_verdict_events", test_xdp_verdict_events},
	{"test_xdp_verdict_deny_event_rate", test_xdp_verdict_deny_event_rate},
	{"test_xdp_verdict_pair_stats", test_xdp_verdict_pair_stats},
	{"test_xdp_verdict_related", test_xdp_verdict_related},
	{"test_xdp_verdict_related6", test_xdp_verdict_related6},
	{"test_xdp_verdict_no_policy", test_xdp_verdict_no_policy},
	{NULL, NULL},
};

int bm_test_register(void)
{
	bm_test_require_root();
	return bm_test_add_suite("xdp_verdict", suite_init, suite_clean, cases);
}
