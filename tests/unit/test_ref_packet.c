// SPDX-License-Identifier: GPL-2.0-only
/*
 * Whole-frame reference verdicts (control/ref_packet.c): parse outcomes,
 * the policy verdict of a frame's tuple, and the fragment rule with and
 * without recorded first fragments; on the model and on compiled tables.
 * ctest-labels: unit dataplane
 */
#include "bm_test.h"
#include "pkt_build.h"
#include "policy_compile.h"
#include "policy_gen.h"
#include "ref_packet.h"

#define CLI 0x0a000001u
#define WEB 0x0a000002u

static struct pm_model *model;
static struct bm_tables tables;

/* default/web accepts TCP 80 from default/cli; nothing else isolates. */
static int suite_init(void)
{
	struct pm_rule *r;
	int pi;

	model = pm_model_new();
	tables_init(&tables);
	if (!model ||
	    policy_gen_add_namespace(model, "default", "kubernetes.io/metadata.name=default"))
		return -1;
	if (policy_gen_add_endpoint(model, "default", "cli", "app=cli", "10.0.0.1", true, 300) <
		    0 ||
	    policy_gen_add_endpoint(model, "default", "web", "app=web", "10.0.0.2", true, 301) < 0)
		return -1;
	pi = policy_gen_add_policy(model, "default", "web", "app=web", true, false, false);
	if (pi < 0)
		return -1;
	r = policy_gen_add_rule(model, (size_t)pi, BM_DIR_INGRESS);
	if (!r || policy_gen_add_peer(r, NULL, "app=cli") ||
	    policy_gen_add_port(r, BM_PROTO_TCP, "80"))
		return -1;
	if (policy_gen_finish(model) || policy_compile(model, &tables, NULL))
		return -1;
	return 0;
}

static int suite_clean(void)
{
	tables_release(&tables);
	pm_model_free(model);
	return 0;
}

/* Both references agree and give reason / rule; returns the model's result. */
static struct pe_result judge(const struct pb *b, struct ref_frag_state *fm,
			      struct ref_frag_state *ft)
{
	struct pe_result m, t;

	CU_ASSERT_EQUAL(ref_packet_verdict(model, b->d, b->len, NULL, fm, &m), 0);
	CU_ASSERT_EQUAL(ref_packet_verdict_tables(&tables, b->d, b->len, NULL, ft, &t), 0);
	CU_ASSERT_EQUAL(m.verdict, t.verdict);
	CU_ASSERT_EQUAL(m.reason, t.reason);
	CU_ASSERT_EQUAL(m.rule_id, t.rule_id);
	CU_ASSERT_EQUAL(m.src_id, t.src_id);
	CU_ASSERT_EQUAL(m.dst_id, t.dst_id);
	return m;
}

static void tcp(struct pb *b, uint16_t frag, uint16_t id, uint16_t dport)
{
	pb_init(b);
	pb_eth(b, PB_ETH_IP);
	pb_ipv4_ex(b, 6, CLI, WEB, 5, frag, id);
	if (!(frag & 0x1fff))
		pb_tcp(b, 40000, dport);
	pb_payload(b, 32);
}

static void test_ref_packet_policy(void)
{
	struct pe_result r;
	struct pb b;

	tcp(&b, 0, 1, 80);
	r = judge(&b, NULL, NULL);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_ALLOW_POLICY);
	CU_ASSERT_EQUAL(r.rule_id, 1);
	CU_ASSERT_EQUAL(r.src_id, 300);
	CU_ASSERT_EQUAL(r.dst_id, 301);
	tcp(&b, 0, 1, 81);
	r = judge(&b, NULL, NULL);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_DENY_INGRESS);
	CU_ASSERT_EQUAL(r.verdict, BM_VERDICT_DENY);
}

static void test_ref_packet_parse_outcomes(void)
{
	struct pe_result r;
	struct pb b;

	tcp(&b, 0, 1, 80);
	pb_cut_datagram(&b, 14 + 20 + 19);
	r = judge(&b, NULL, NULL);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_DENY_MALFORMED);
	CU_ASSERT_EQUAL(r.verdict, BM_VERDICT_DENY);
	CU_ASSERT_EQUAL(r.rule_id, 0);
	CU_ASSERT_EQUAL(r.src_id, 0);
	pb_init(&b);
	pb_eth(&b, PB_ETH_ARP);
	pb_payload(&b, 28);
	r = judge(&b, NULL, NULL);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_ALLOW_NOT_IP);
	CU_ASSERT_EQUAL(r.verdict, BM_VERDICT_ALLOW);
}

static void test_ref_packet_fragments(void)
{
	struct ref_frag_state fm, ft;
	struct pb first, later;
	struct pe_result r;

	ref_frag_state_init(&fm);
	ref_frag_state_init(&ft);
	tcp(&later, 4, 7, 0);
	r = judge(&later, &fm, &ft);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_DENY_FRAGMENT); /* TCP 80 only: ports matter */
	tcp(&first, 0x2000, 7, 80);
	r = judge(&first, &fm, &ft);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_ALLOW_POLICY);
	CU_ASSERT_EQUAL(fm.n, 1);
	r = judge(&later, &fm, &ft);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_ALLOW_FRAGMENT);
	CU_ASSERT_EQUAL(r.rule_id, 1);
	CU_ASSERT_EQUAL(r.src_id, 300);
	CU_ASSERT_EQUAL(r.dst_id, 301);
	r = judge(&later, NULL, NULL);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_DENY_FRAGMENT);
	tcp(&first, 0x2000, 8, 81); /* a denied first fragment records nothing */
	r = judge(&first, &fm, &ft);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_DENY_INGRESS);
	CU_ASSERT_EQUAL(fm.n, 1);
	tcp(&later, 4, 8, 0);
	r = judge(&later, &fm, &ft);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_DENY_FRAGMENT);
	ref_frag_state_release(&fm);
	ref_frag_state_release(&ft);
	ref_frag_state_release(&ft);
}

/* Unisolated ends: an unseen fragment passes, as any port would. */
static void test_ref_packet_fragment_unisolated(void)
{
	struct pe_result r;
	struct pb b;

	pb_init(&b);
	pb_eth(&b, PB_ETH_IP);
	pb_ipv4_ex(&b, 17, WEB, CLI, 5, 9, 3);
	pb_payload(&b, 32);
	r = judge(&b, NULL, NULL);
	CU_ASSERT_EQUAL(r.reason, BM_REASON_ALLOW_NOT_ISOLATED);
}

static const struct bm_test_case cases[] = {
	{"test_ref_packet_policy", test_ref_packet_policy},
	{"test_ref_packet_parse_outcomes", test_ref_packet_parse_outcomes},
	{"test_ref_packet_fragments", test_ref_packet_fragments},
	{"test_ref_packet_fragment_unisolated", test_ref_packet_fragment_unisolated},
	{NULL, NULL},
};

int bm_test_register(void)
{
	return bm_test_add_suite("ref_packet", suite_init, suite_clean, cases);
}
