// SPDX-License-Identifier: GPL-2.0-only
/* The decision contract of policy_eval.h on the well-known NetworkPolicy
 * recipes; every expectation is checked on the model (policy_eval) and on
 * the compiled tables (tables_eval).
 * ctest-labels: unit dataplane
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <abi/abi.h>

#include "bm_test.h"
#include "policy_compile.h"
#include "policy_eval.h"
#include "policy_gen.h"

#define NOW_NS 5000000000ULL

enum { WEB = 301, DB, API, DBP, TOOL, BATCH };

/* The cluster every recipe starts from. */
static struct pm_model *cluster(void)
{
	struct pm_model *m = pm_model_new();
	int ep;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(
		policy_gen_add_namespace(m, "default", "kubernetes.io/metadata.name=default"), 0);
	CU_ASSERT_EQUAL(
		policy_gen_add_namespace(m, "prod", "kubernetes.io/metadata.name=prod,team=a"), 0);
	CU_ASSERT_EQUAL(
		policy_gen_add_namespace(m, "dev", "kubernetes.io/metadata.name=dev,team=b"), 0);
	ep = policy_gen_add_endpoint(m, "default", "web", "app=web", "10.0.0.1,fd00::1", true, WEB);
	CU_ASSERT_EQUAL(policy_gen_add_named_port(m, (size_t)ep, "http", BM_PROTO_TCP, 8080), 0);
	ep = policy_gen_add_endpoint(m, "default", "db", "app=db", "10.0.0.2", true, DB);
	CU_ASSERT_EQUAL(policy_gen_add_named_port(m, (size_t)ep, "pg", BM_PROTO_TCP, 5432), 0);
	CU_ASSERT(policy_gen_add_endpoint(m, "prod", "api", "app=api", "10.0.1.1", true, API) >= 0);
	ep = policy_gen_add_endpoint(m, "prod", "dbp", "app=db", "10.0.1.2", false, DBP);
	CU_ASSERT_EQUAL(policy_gen_add_named_port(m, (size_t)ep, "pg", BM_PROTO_TCP, 6432), 0);
	CU_ASSERT(policy_gen_add_endpoint(m, "dev", "tool", "app=tool", "10.0.2.1", true, TOOL) >=
		  0);
	CU_ASSERT(policy_gen_add_endpoint(m, "dev", "batch", "app=batch", "10.0.3.0/28", true,
					  BATCH) >= 0);
	return m;
}

/* A finished model with its compiled tables. */
struct fixture {
	struct pm_model *m;
	struct bm_tables tb;
	struct pe_auth auth;
	struct bm_auth_key keys[4];
	struct bm_auth_value values[4];
};

static void compile(struct fixture *f, struct pm_model *m)
{
	struct compile_report rep;

	memset(f, 0, sizeof(*f));
	f->m = m;
	CU_ASSERT_EQUAL_FATAL(policy_gen_finish(m), 0);
	tables_init(&f->tb);
	CU_ASSERT_EQUAL_FATAL(policy_compile(m, &f->tb, &rep), 0);
	f->auth = (struct pe_auth){f->keys, f->values, 0, NOW_NS};
}

static void release(struct fixture *f)
{
	tables_release(&f->tb);
	pm_model_free(f->m);
}

static void add_auth(struct fixture *f, uint32_t src, uint32_t dst, uint64_t expires)
{
	f->keys[f->auth.n] = (struct bm_auth_key){src, dst};
	f->values[f->auth.n] = (struct bm_auth_value){expires, 1};
	f->auth.n++;
}

/* The rule id of a policy's rule, after policy_gen_finish(). */
static uint32_t rule_of(const struct pm_model *m, const char *ns, const char *name, uint8_t dir,
			size_t i)
{
	size_t k;

	for (k = 0; k < m->n_policies; k++) {
		if (strcmp(m->policies[k].ns, ns) || strcmp(m->policies[k].name, name))
			continue;
		return dir == BM_DIR_INGRESS ? m->policies[k].ingress[i].rule_id
					     : m->policies[k].egress[i].rule_id;
	}
	CU_FAIL("no such policy");
	return 0;
}

static void check(const struct fixture *f, uint8_t proto, const char *src, const char *dst,
		  uint16_t dport, uint8_t reason, uint32_t rule_id, int line)
{
	struct pe_result want, got;
	struct pe_tuple t = {.proto = proto, .sport = 40000, .dport = dport};
	struct pm_addr a;

	CU_ASSERT_EQUAL_FATAL(pm_addr_parse(src, &a), 0);
	memcpy(t.saddr, a.addr, 16);
	t.family = a.family;
	CU_ASSERT_EQUAL_FATAL(pm_addr_parse(dst, &a), 0);
	memcpy(t.daddr, a.addr, 16);
	CU_ASSERT_EQUAL_FATAL(policy_eval(f->m, &t, &f->auth, &want), 0);
	CU_ASSERT_EQUAL_FATAL(tables_eval(&f->tb, &t, &f->auth, &got), 0);
	if (want.reason != reason || want.rule_id != rule_id || got.reason != want.reason ||
	    got.rule_id != want.rule_id || got.verdict != want.verdict ||
	    got.src_id != want.src_id || got.dst_id != want.dst_id)
		fprintf(stderr,
			"line %d: %s -> %s/%u:%u: want reason %u rule %u; model %u/%u, "
			"tables %u/%u\n",
			line, src, dst, proto, dport, reason, rule_id, want.reason, want.rule_id,
			got.reason, got.rule_id);
	CU_ASSERT_EQUAL(want.reason, reason);
	CU_ASSERT_EQUAL(want.rule_id, rule_id);
	CU_ASSERT_EQUAL(want.verdict, bm_reason_is_deny(reason)	       ? BM_VERDICT_DENY
				      : reason == BM_REASON_ALLOW_AUTH ? BM_VERDICT_ALLOW_AUTH
								       : BM_VERDICT_ALLOW);
	CU_ASSERT_EQUAL(got.verdict, want.verdict);
	CU_ASSERT_EQUAL(got.reason, want.reason);
	CU_ASSERT_EQUAL(got.rule_id, want.rule_id);
	CU_ASSERT_EQUAL(got.src_id, want.src_id);
	CU_ASSERT_EQUAL(got.dst_id, want.dst_id);
	CU_ASSERT_EQUAL(got.is_auth_required, want.is_auth_required);
}

#define TCP BM_PROTO_TCP
#define UDP BM_PROTO_UDP
#define SCTP BM_PROTO_SCTP
#define EXPECT(f, proto, src, dst, port, reason, rule) \
	check(f, proto, src, dst, port, BM_REASON_##reason, rule, __LINE__)

static const char *web = "10.0.0.1", *db = "10.0.0.2", *api = "10.0.1.1", *dbp = "10.0.1.2",
		  *tool = "10.0.2.1", *batch = "10.0.3.9", *world = "8.8.8.8";

static void test_policy_eval_no_policy(void)
{
	struct fixture f;

	compile(&f, cluster());
	EXPECT(&f, TCP, web, db, 80, ALLOW_NOT_ISOLATED, 0);
	EXPECT(&f, TCP, world, "192.0.2.1", 80, ALLOW_NOT_ENDPOINT, 0);
	EXPECT(&f, TCP, dbp, world, 80, ALLOW_NOT_ENDPOINT, 0);
	release(&f);
}

static void test_policy_eval_deny_all_ingress(void)
{
	struct pm_model *m = cluster();
	struct fixture f;

	policy_gen_add_policy(m, "default", "deny", "", true, false, false);
	compile(&f, m);
	EXPECT(&f, TCP, api, web, 80, DENY_INGRESS, 0);
	EXPECT(&f, TCP, db, web, 80, DENY_INGRESS, 0);
	EXPECT(&f, BM_PROTO_ICMP, world, db, 0, DENY_INGRESS, 0);
	EXPECT(&f, TCP, web, api, 80, ALLOW_NOT_ISOLATED, 0);
	EXPECT(&f, TCP, tool, api, 80, ALLOW_NOT_ISOLATED, 0);
	release(&f);
}

static void test_policy_eval_deny_all_egress(void)
{
	struct pm_model *m = cluster();
	struct fixture f;

	policy_gen_add_policy(m, "default", "deny", "", false, true, false);
	compile(&f, m);
	EXPECT(&f, TCP, web, api, 80, DENY_EGRESS, 0);
	EXPECT(&f, UDP, db, world, 53, DENY_EGRESS, 0);
	EXPECT(&f, TCP, api, web, 80, ALLOW_NOT_ISOLATED, 0);
	release(&f);
}

static void test_policy_eval_allow_all(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	int pi;

	pi = policy_gen_add_policy(m, "default", "allow", "", true, false, false);
	policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_policy(m, "default", "deny", "", true, false, false);
	compile(&f, m);
	EXPECT(&f, TCP, world, web, 80, ALLOW_POLICY, 1);
	EXPECT(&f, BM_PROTO_ICMP, api, db, 0, ALLOW_POLICY, 1);
	EXPECT(&f, 47, "fd00::99", "fd00::1", 0, ALLOW_POLICY, 1);
	release(&f);
}

static void test_policy_eval_same_namespace(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	pi = policy_gen_add_policy(m, "default", "same-ns", "", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_peer(r, NULL, "");
	compile(&f, m);
	EXPECT(&f, TCP, db, web, 80, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, web, web, 80, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, api, web, 80, DENY_INGRESS, 0);
	EXPECT(&f, TCP, world, web, 80, DENY_INGRESS, 0);
	release(&f);
}

static void test_policy_eval_pod_label(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	pi = policy_gen_add_policy(m, "default", "db", "app=db", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_peer(r, NULL, "app=web");
	policy_gen_add_port(r, TCP, "5432");
	compile(&f, m);
	EXPECT(&f, TCP, web, db, 5432, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, web, db, 5433, DENY_INGRESS, 0);
	EXPECT(&f, TCP, tool, db, 5432, DENY_INGRESS, 0);
	/* app=db in prod is not selected: the policy lives in default */
	EXPECT(&f, TCP, tool, dbp, 5432, ALLOW_NOT_ISOLATED, 0);
	/* podSelector alone means the policy's namespace: web in default only */
	EXPECT(&f, TCP, "fd00::1", db, 5432, ALLOW_NOT_ISOLATED, 0);
	release(&f);
}

static void test_policy_eval_namespace_label(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	pi = policy_gen_add_policy(m, "default", "from-team-a", "app=web", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_peer(r, "team=a", NULL);
	compile(&f, m);
	EXPECT(&f, TCP, api, web, 443, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, dbp, web, 443, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, tool, web, 443, DENY_INGRESS, 0);
	EXPECT(&f, TCP, db, web, 443, DENY_INGRESS, 0);
	EXPECT(&f, TCP, world, web, 443, DENY_INGRESS, 0);
	release(&f);
}

static void test_policy_eval_namespace_and_pod(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	/* one peer with both selectors: AND */
	pi = policy_gen_add_policy(m, "default", "and", "app=web", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_peer(r, "team=a", "app=db");
	/* two peers: OR, on another subject */
	pi = policy_gen_add_policy(m, "default", "or", "app=db", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_peer(r, "team=a", NULL);
	policy_gen_add_peer(r, NULL, "app=web");
	compile(&f, m);
	EXPECT(&f, TCP, dbp, web, 80, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, api, web, 80, DENY_INGRESS, 0);
	EXPECT(&f, TCP, db, web, 80, DENY_INGRESS, 0);
	EXPECT(&f, TCP, api, db, 80, ALLOW_POLICY, 2);
	EXPECT(&f, TCP, web, db, 80, ALLOW_POLICY, 2);
	EXPECT(&f, TCP, tool, db, 80, DENY_INGRESS, 0);
	release(&f);
}

static void test_policy_eval_namespace_expression(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	pi = policy_gen_add_policy(m, "default", "not-dev", "app=web", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_peer(r, NULL, NULL);
	policy_gen_add_expr(r, true, "kubernetes.io/metadata.name", PM_OP_NOT_IN, "dev");
	compile(&f, m);
	EXPECT(&f, TCP, api, web, 80, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, db, web, 80, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, tool, web, 80, DENY_INGRESS, 0);
	EXPECT(&f, TCP, world, web, 80, DENY_INGRESS, 0);
	release(&f);
}

static void test_policy_eval_ip_block_except(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	pi = policy_gen_add_policy(m, "default", "blocks", "app=web", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_ip_block(r, "192.0.2.0/24", "192.0.2.128/25");
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_ip_block(r, "10.0.0.0/16", "10.0.1.0/24,10.0.3.8/29");
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_ip_block(r, "fd00::/64", NULL);
	compile(&f, m);
	EXPECT(&f, TCP, "192.0.2.1", web, 80, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, "192.0.2.127", web, 80, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, "192.0.2.128", web, 80, DENY_INGRESS, 0);
	EXPECT(&f, TCP, "192.0.3.1", web, 80, DENY_INGRESS, 0);
	/* pod addresses match ipBlocks by address */
	EXPECT(&f, TCP, db, web, 80, ALLOW_POLICY, 2);
	EXPECT(&f, TCP, tool, web, 80, ALLOW_POLICY, 2);
	EXPECT(&f, TCP, api, web, 80, DENY_INGRESS, 0);
	/* an except inside a CIDR endpoint splits it */
	EXPECT(&f, TCP, "10.0.3.2", web, 80, ALLOW_POLICY, 2);
	EXPECT(&f, TCP, batch, web, 80, DENY_INGRESS, 0);
	EXPECT(&f, TCP, "fd00::77", "fd00::1", 80, ALLOW_POLICY, 3);
	EXPECT(&f, TCP, "fd00:0:0:1::77", "fd00::1", 80, DENY_INGRESS, 0);
	release(&f);
}

static void test_policy_eval_port_range(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	pi = policy_gen_add_policy(m, "default", "range", "app=web", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_port(r, TCP, "32000-32768");
	policy_gen_add_port(r, TCP, "80");
	compile(&f, m);
	EXPECT(&f, TCP, world, web, 32000, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, world, web, 32768, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, world, web, 31999, DENY_INGRESS, 0);
	EXPECT(&f, TCP, world, web, 32769, DENY_INGRESS, 0);
	EXPECT(&f, TCP, world, web, 80, ALLOW_POLICY, 1);
	EXPECT(&f, UDP, world, web, 32000, DENY_INGRESS, 0);
	EXPECT(&f, BM_PROTO_ICMP, world, web, 0, DENY_INGRESS, 0);
	release(&f);
}

static void test_policy_eval_named_ports(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	/* ingress: resolved against the subject */
	pi = policy_gen_add_policy(m, "default", "http", "app=web", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_port(r, TCP, "http");
	/* egress to any peer: resolved against each destination */
	pi = policy_gen_add_policy(m, "dev", "pg", "app=tool", false, true, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_EGRESS);
	policy_gen_add_port(r, TCP, "pg");
	compile(&f, m);
	EXPECT(&f, TCP, world, web, 8080, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, world, web, 80, DENY_INGRESS, 0);
	EXPECT(&f, UDP, world, web, 8080, DENY_INGRESS, 0);
	EXPECT(&f, TCP, tool, db, 5432, ALLOW_POLICY, 2);
	EXPECT(&f, TCP, tool, db, 6432, DENY_EGRESS, 0);
	EXPECT(&f, TCP, tool, dbp, 6432, ALLOW_POLICY, 2);
	EXPECT(&f, TCP, tool, dbp, 5432, DENY_EGRESS, 0);
	EXPECT(&f, TCP, tool, world, 5432, DENY_EGRESS, 0);
	EXPECT(&f, TCP, tool, api, 5432, DENY_EGRESS, 0);
	release(&f);
}

static void test_policy_eval_sctp_udp(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	pi = policy_gen_add_policy(m, "default", "proto", "app=web", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_port(r, SCTP, "3868");
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_port(r, UDP, "53");
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_port(r, UDP, NULL);
	compile(&f, m);
	EXPECT(&f, SCTP, world, web, 3868, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, world, web, 3868, DENY_INGRESS, 0);
	EXPECT(&f, UDP, world, web, 53, ALLOW_POLICY, 2);
	EXPECT(&f, UDP, world, web, 9999, ALLOW_POLICY, 3);
	EXPECT(&f, TCP, world, web, 53, DENY_INGRESS, 0);
	release(&f);
}

static void test_policy_eval_icmp_portless_only(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	pi = policy_gen_add_policy(m, "default", "web", "app=web", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_port(r, TCP, "80");
	pi = policy_gen_add_policy(m, "default", "xdb", "app=db", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_peer(r, NULL, "app=web");
	compile(&f, m);
	EXPECT(&f, BM_PROTO_ICMP, world, web, 0, DENY_INGRESS, 0);
	EXPECT(&f, BM_PROTO_ICMPV6, "fd00::5", "fd00::1", 0, DENY_INGRESS, 0);
	EXPECT(&f, BM_PROTO_ICMP, web, db, 0, ALLOW_POLICY, 2);
	EXPECT(&f, 47, web, db, 0, ALLOW_POLICY, 2);
	EXPECT(&f, SCTP, web, db, 1, ALLOW_POLICY, 2);
	release(&f);
}

static void test_policy_eval_mesh_auth(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	pi = policy_gen_add_policy(m, "default", "a-plain", "app=db", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_peer(r, NULL, "");
	pi = policy_gen_add_policy(m, "default", "b-mesh", "app=db", true, false, true);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_peer(r, NULL, "app=web");
	policy_gen_add_port(r, TCP, "5432");
	compile(&f, m);
	/* the authenticating rule decides even though rule 1 has a lower id */
	EXPECT(&f, TCP, web, db, 5432, DENY_AUTH_MISSING, 2);
	add_auth(&f, WEB, DB, NOW_NS);
	EXPECT(&f, TCP, web, db, 5432, DENY_AUTH_EXPIRED, 2);
	f.values[0].expires_boot_ns = NOW_NS + 1;
	EXPECT(&f, TCP, web, db, 5432, ALLOW_AUTH, 2);
	/* the other direction's pair is a different key */
	add_auth(&f, DB, WEB, NOW_NS + 100);
	f.values[0].expires_boot_ns = NOW_NS - 1;
	EXPECT(&f, TCP, web, db, 5432, DENY_AUTH_EXPIRED, 2);
	/* other ports: only the plain rule */
	EXPECT(&f, TCP, web, db, 80, ALLOW_POLICY, 1);
	EXPECT(&f, TCP, api, db, 5432, DENY_INGRESS, 0);
	release(&f);
}

static void test_policy_eval_egress_and_ingress(void)
{
	struct pm_model *m = cluster();
	struct fixture f;
	struct pm_rule *r;
	int pi;

	pi = policy_gen_add_policy(m, "default", "web-out", "app=web", false, true, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_EGRESS);
	policy_gen_add_peer(r, NULL, "app=db");
	pi = policy_gen_add_policy(m, "default", "db-in", "app=db", true, false, false);
	compile(&f, m);
	EXPECT(&f, TCP, web, db, 5432, DENY_INGRESS, 0);
	EXPECT(&f, TCP, web, api, 80, DENY_EGRESS, 0);
	release(&f);

	m = cluster();
	pi = policy_gen_add_policy(m, "default", "web-out", "app=web", false, true, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_EGRESS);
	policy_gen_add_peer(r, NULL, "app=db");
	pi = policy_gen_add_policy(m, "default", "db-in", "app=db", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	policy_gen_add_peer(r, NULL, "app=web");
	compile(&f, m);
	/* both allow: the ingress rule is reported */
	EXPECT(&f, TCP, web, db, 5432, ALLOW_POLICY, rule_of(f.m, "default", "db-in", 0, 0));
	/* web is isolated for egress only */
	EXPECT(&f, TCP, db, web, 5432, ALLOW_NOT_ISOLATED, 0);
	EXPECT(&f, TCP, web, batch, 80, DENY_EGRESS, 0);
	release(&f);
}

static void test_policy_eval_endpoints(void)
{
	struct pm_model *m = cluster();
	struct pe_result res;
	struct pe_tuple t = {.family = 5};
	struct fixture f;

	policy_gen_add_policy(m, "dev", "deny", "", true, true, false);
	compile(&f, m);
	/* a CIDR endpoint owns its whole prefix */
	EXPECT(&f, TCP, batch, world, 80, DENY_EGRESS, 0);
	EXPECT(&f, TCP, web, "10.0.3.15", 80, DENY_INGRESS, 0);
	EXPECT(&f, TCP, web, "10.0.3.16", 80, ALLOW_NOT_ISOLATED, 0);
	CU_ASSERT_EQUAL(policy_eval(f.m, &t, NULL, &res), -EINVAL);
	CU_ASSERT_EQUAL(tables_eval(&f.tb, &t, NULL, &res), -EINVAL);
	release(&f);
}

static void test_policy_eval_policy_proto(void)
{
	CU_ASSERT_EQUAL(pe_policy_proto(6), BM_PROTO_TCP);
	CU_ASSERT_EQUAL(pe_policy_proto(17), BM_PROTO_UDP);
	CU_ASSERT_EQUAL(pe_policy_proto(132), BM_PROTO_SCTP);
	CU_ASSERT_EQUAL(pe_policy_proto(1), BM_PROTO_ICMP);
	CU_ASSERT_EQUAL(pe_policy_proto(58), BM_PROTO_ICMPV6);
	CU_ASSERT_EQUAL(pe_policy_proto(47), BM_PROTO_OTHER);
	CU_ASSERT_EQUAL(pe_policy_proto(0), BM_PROTO_OTHER);
	CU_ASSERT_EQUAL(pe_policy_proto(255), BM_PROTO_OTHER);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"policy_proto", test_policy_eval_policy_proto},
		{"no_policy", test_policy_eval_no_policy},
		{"deny_all_ingress", test_policy_eval_deny_all_ingress},
		{"deny_all_egress", test_policy_eval_deny_all_egress},
		{"allow_all", test_policy_eval_allow_all},
		{"same_namespace", test_policy_eval_same_namespace},
		{"pod_label", test_policy_eval_pod_label},
		{"namespace_label", test_policy_eval_namespace_label},
		{"namespace_and_pod", test_policy_eval_namespace_and_pod},
		{"namespace_expression", test_policy_eval_namespace_expression},
		{"ip_block_except", test_policy_eval_ip_block_except},
		{"port_range", test_policy_eval_port_range},
		{"named_ports", test_policy_eval_named_ports},
		{"sctp_udp", test_policy_eval_sctp_udp},
		{"icmp_portless_only", test_policy_eval_icmp_portless_only},
		{"mesh_auth", test_policy_eval_mesh_auth},
		{"egress_and_ingress", test_policy_eval_egress_and_ingress},
		{"endpoints", test_policy_eval_endpoints},
		{NULL, NULL},
	};

	return bm_test_add_suite("policy_eval", NULL, NULL, cases);
}
