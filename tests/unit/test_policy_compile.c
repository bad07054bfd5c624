// SPDX-License-Identifier: GPL-2.0-only
/* Policy compiler: classes, entries, spill, determinism, and the differential
 * test policy_eval() == tables_eval() over random models and tuples.
 * ctest-labels: unit dataplane
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <abi/abi.h>

#include "bm_test.h"
#include "policy_compile.h"
#include "policy_eval.h"
#include "policy_gen.h"
#include "tables_eval.h"

#define NOW_NS 1000000000ULL

static void tuple(struct pe_tuple *t, uint8_t proto, const char *src, const char *dst,
		  uint16_t dport)
{
	struct pm_addr a;

	memset(t, 0, sizeof(*t));
	CU_ASSERT_EQUAL_FATAL(pm_addr_parse(src, &a), 0);
	memcpy(t->saddr, a.addr, 16);
	t->family = a.family;
	CU_ASSERT_EQUAL_FATAL(pm_addr_parse(dst, &a), 0);
	memcpy(t->daddr, a.addr, 16);
	t->proto = proto;
	t->sport = 40000;
	t->dport = dport;
}

static void format_tuple(const struct pe_tuple *t, char *buf, size_t len)
{
	struct pm_addr s = {.family = t->family}, d = {.family = t->family};
	char sb[64], db[64];

	s.prefixlen = d.prefixlen = t->family == BM_FAMILY_IPV4 ? 32 : 128;
	memcpy(s.addr, t->saddr, 16);
	memcpy(d.addr, t->daddr, 16);
	snprintf(buf, len, "%s -> %s proto %u dport %u", pm_addr_format(&s, sb, sizeof(sb)),
		 pm_addr_format(&d, db, sizeof(db)), t->proto, t->dport);
}

static bool same_result(const struct pe_result *a, const struct pe_result *b)
{
	return a->verdict == b->verdict && a->reason == b->reason && a->rule_id == b->rule_id &&
	       a->src_id == b->src_id && a->dst_id == b->dst_id &&
	       a->is_auth_required == b->is_auth_required;
}

/* Both evaluators on one tuple; prints the difference with the seed. */
static bool agree(uint64_t seed, const struct pm_model *m, const struct bm_tables *tb,
		  const struct pe_tuple *t, const struct pe_auth *auth)
{
	struct pe_result want, got;
	char buf[160];

	CU_ASSERT_EQUAL_FATAL(policy_eval(m, t, auth, &want), 0);
	CU_ASSERT_EQUAL_FATAL(tables_eval(tb, t, auth, &got), 0);
	if (same_result(&want, &got))
		return true;
	format_tuple(t, buf, sizeof(buf));
	fprintf(stderr,
		"seed %" PRIu64 ": %s: model says verdict %u reason %u rule %u ids %u->%u auth %d,"
		" tables say verdict %u reason %u rule %u ids %u->%u auth %d\n",
		seed, buf, want.verdict, want.reason, want.rule_id, want.src_id, want.dst_id,
		want.is_auth_required, got.verdict, got.reason, got.rule_id, got.src_id, got.dst_id,
		got.is_auth_required);
	return false;
}

/* One random model: compile, then n random tuples through both evaluators. */
static int differential(uint64_t seed, const struct policy_gen_params *p, size_t n_tuples,
			size_t *n_checked)
{
	struct bm_auth_key *keys = NULL;
	struct bm_auth_value *values = NULL;
	struct compile_report rep;
	struct policy_gen_rng rng;
	struct pm_model *m = NULL;
	struct bm_tables tb;
	struct pe_auth auth;
	struct pe_tuple t;
	int err, bad = 0;
	size_t i;

	tables_init(&tb);
	err = policy_gen_model(seed, p, &m);
	if (err)
		goto out;
	err = policy_compile(m, &tb, &rep);
	if (err) {
		fprintf(stderr, "seed %" PRIu64 ": compile: %s\n", seed, rep.error);
		goto out;
	}
	policy_gen_seed(&rng, seed * 7919 + 1);
	err = policy_gen_auth(&rng, m, m->n_endpoints * 20, NOW_NS, &keys, &values);
	if (err)
		goto out;
	auth = (struct pe_auth){keys, values, m->n_endpoints * 20, NOW_NS};
	for (i = 0; i < n_tuples && bad < 5; i++) {
		policy_gen_tuple(&rng, m, &t);
		bad += !agree(seed, m, &tb, &t, i % 5 ? &auth : NULL);
		(*n_checked)++;
	}
	err = bad ? -EPROTO : 0;
out:
	free(keys);
	free(values);
	tables_release(&tb);
	pm_model_free(m);
	return err;
}

static void test_policy_compile_differential(void)
{
	struct policy_gen_params p;
	size_t checked = 0;
	uint64_t seed;
	int failed = 0;

	policy_gen_defaults(&p);
	for (seed = 1; seed <= 60; seed++) {
		if (differential(seed, &p, 2000, &checked)) {
			fprintf(stderr, "differential test failed, seed %" PRIu64 "\n", seed);
			failed++;
		}
	}
	printf("\n  differential: %zu tuples over 60 models, %d failing models\n", checked, failed);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_TRUE(checked >= 100000);
}

/* Bigger, sparser models: more classes, more CIDR regions. */
static void test_policy_compile_differential_wide(void)
{
	struct policy_gen_params p;
	size_t checked = 0;
	uint64_t seed;
	int failed = 0;

	policy_gen_defaults(&p);
	p.n_namespaces = 6;
	p.n_endpoints = 200;
	p.n_policies = 40;
	p.max_rules = 2;
	p.pct_cidr_endpoint = 30;
	p.pct_ip_block = 50;
	for (seed = 1000; seed < 1010; seed++) {
		if (differential(seed, &p, 3000, &checked)) {
			fprintf(stderr, "wide differential test failed, seed %" PRIu64 "\n", seed);
			failed++;
		}
	}
	CU_ASSERT_EQUAL(failed, 0);
}

/* Rules with many ports: entries spill single ports to bm_ports. */
static void test_policy_compile_differential_spill(void)
{
	struct policy_gen_params p;
	size_t checked = 0;
	uint64_t seed;
	int failed = 0;

	policy_gen_defaults(&p);
	p.max_ports = 10;
	p.pct_end_port = 10;
	for (seed = 2000; seed < 2020; seed++) {
		if (differential(seed, &p, 2000, &checked)) {
			fprintf(stderr, "spill differential test failed, seed %" PRIu64 "\n", seed);
			failed++;
		}
	}
	CU_ASSERT_EQUAL(failed, 0);
}

/* Parameters themselves drawn from the seed: corner mixes the others miss. */
static void test_policy_compile_differential_varied(void)
{
	struct policy_gen_params p;
	struct policy_gen_rng r;
	size_t checked = 0;
	uint64_t seed;
	int failed = 0;

	for (seed = 3000; seed < 3040; seed++) {
		policy_gen_seed(&r, seed);
		policy_gen_defaults(&p);
		p.n_namespaces = 1 + policy_gen_below(&r, 5);
		p.n_endpoints = 1 + policy_gen_below(&r, 120);
		p.n_policies = policy_gen_below(&r, 30);
		p.max_rules = policy_gen_below(&r, 5);
		p.max_peers = 1 + policy_gen_below(&r, 4);
		p.max_ports = 1 + policy_gen_below(&r, 4);
		p.n_label_values = 1 + policy_gen_below(&r, 5);
		p.pct_cidr_endpoint = policy_gen_below(&r, 101);
		p.pct_dual_stack = policy_gen_below(&r, 101);
		p.pct_local = policy_gen_below(&r, 101);
		p.pct_mesh = policy_gen_below(&r, 101);
		p.pct_ip_block = policy_gen_below(&r, 101);
		p.pct_named_port = policy_gen_below(&r, 101);
		p.pct_end_port = policy_gen_below(&r, 101);
		p.pct_no_peers = policy_gen_below(&r, 101);
		p.pct_no_ports = policy_gen_below(&r, 101);
		p.pct_broad = policy_gen_below(&r, 50);
		p.pct_ns_peer = policy_gen_below(&r, 101);
		p.pct_external_block = policy_gen_below(&r, 101);
		p.replicas = 1 + policy_gen_below(&r, 4);
		if (differential(seed, &p, 1500, &checked)) {
			fprintf(stderr, "varied differential test failed, seed %" PRIu64 "\n",
				seed);
			failed++;
		}
	}
	CU_ASSERT_EQUAL(failed, 0);
}

static bool tables_equal(const struct bm_tables *a, const struct bm_tables *b)
{
	const struct tables_map *x, *y;
	int k;

	for (k = 0; k < TABLES_NR; k++) {
		x = &a->maps[k];
		y = &b->maps[k];
		if (x->n != y->n)
			return false;
		if (x->n && (memcmp(x->keys, y->keys, x->n * x->key_size) ||
			     memcmp(x->values, y->values, x->n * x->value_size)))
			return false;
	}
	return a->nr_classes == b->nr_classes;
}

static void test_policy_compile_deterministic(void)
{
	struct policy_gen_params p;
	struct bm_tables a, b;
	struct pm_model *m;

	policy_gen_defaults(&p);
	tables_init(&a);
	tables_init(&b);
	CU_ASSERT_EQUAL_FATAL(policy_gen_model(42, &p, &m), 0);
	CU_ASSERT_EQUAL(policy_compile(m, &a, NULL), 0);
	CU_ASSERT_EQUAL(policy_compile(m, &b, NULL), 0);
	CU_ASSERT_TRUE(tables_equal(&a, &b));
	CU_ASSERT_TRUE(a.maps[TABLES_POLICY].n > 0);
	tables_release(&a);
	tables_release(&b);
	pm_model_free(m);
}

/* Two pods alike for every selector share a class; a third, selected, does not. */
static void test_policy_compile_classes_shared(void)
{
	struct compile_report rep;
	struct pm_model *m = pm_model_new();
	struct bm_host4_key k = {0};
	const struct bm_ipcache_value *v1, *v2, *v3;
	struct bm_tables tb;
	struct pm_rule *r;
	int pi;

	tables_init(&tb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(policy_gen_add_namespace(m, "a", "kubernetes.io/metadata.name=a"), 0);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "c1", "app=client", "10.0.0.1", true, 301),
			0);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "c2", "app=client", "10.0.0.2", true, 302),
			1);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "db", "app=db", "10.0.0.3", true, 303), 2);
	pi = policy_gen_add_policy(m, "a", "db", "app=db", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	CU_ASSERT_EQUAL(policy_gen_add_peer(r, NULL, "app=client"), 0);
	CU_ASSERT_EQUAL(policy_gen_finish(m), 0);
	CU_ASSERT_EQUAL_FATAL(policy_compile(m, &tb, &rep), 0);
	k.addr = htobe32(0x0a000001);
	v1 = tables_find(&tb, TABLES_HOST4, &k);
	k.addr = htobe32(0x0a000002);
	v2 = tables_find(&tb, TABLES_HOST4, &k);
	k.addr = htobe32(0x0a000003);
	v3 = tables_find(&tb, TABLES_HOST4, &k);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v3);
	CU_ASSERT_EQUAL(v1->class_id, v2->class_id);
	CU_ASSERT_NOT_EQUAL(v1->class_id, v3->class_id);
	CU_ASSERT_EQUAL(v1->sec_id, 301);
	CU_ASSERT_EQUAL(v3->flags, BM_IPC_F_LOCAL | BM_IPC_F_INGRESS_ISOLATED);
	CU_ASSERT_EQUAL(rep.nr_classes, 2);
	CU_ASSERT_EQUAL(tb.nr_classes, BM_CLASS_FIRST + 2);
	/* one entry for the six protocols: {db, client, ingress, BM_PROTO_ANY} */
	CU_ASSERT_EQUAL(rep.entries[TABLES_POLICY], 1);
	CU_ASSERT_EQUAL(rep.nr_any_proto, 1);
	CU_ASSERT_EQUAL(rep.entries[TABLES_HOST4], 3);
	tables_release(&tb);
	pm_model_free(m);
}

/*
 * A port-less rule is one BM_PROTO_ANY entry, not six; a protocol whose value
 * differs keeps its own entry; the lookup order of abi/policy.h gives every
 * protocol the verdict, reason and rule of the model.
 */
static void test_policy_compile_any_proto(void)
{
	static const uint8_t wire[] = {1, 6, 17, 58, 132, 47};
	static const char *const srcs[] = {"10.0.0.1", "10.0.0.4", "192.0.2.9"};
	static const uint16_t ports[] = {0, 22, 443, 444};
	struct bm_policy_key key = {.direction = BM_DIR_INGRESS};
	const struct bm_ipcache_value *client, *db;
	const struct bm_policy_value *v;
	struct pm_model *m = pm_model_new();
	struct compile_report rep;
	struct bm_host4_key hk = {0};
	struct pe_result res;
	struct bm_tables tb;
	struct pe_tuple t;
	struct pm_rule *r;
	size_t i, j, k;
	int pi;

	tables_init(&tb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(policy_gen_add_namespace(m, "a", "kubernetes.io/metadata.name=a"), 0);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "c", "app=client", "10.0.0.1", true, 301),
			0);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "db", "app=db", "10.0.0.3", true, 303), 1);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "o", "app=other", "10.0.0.4", true, 304),
			2);
	pi = policy_gen_add_policy(m, "a", "db", "app=db", true, false, false);
	/* rule 1: TCP 443 from anyone; rule 2: everything from the client */
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	CU_ASSERT_EQUAL(policy_gen_add_port(r, BM_PROTO_TCP, "443"), 0);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	CU_ASSERT_EQUAL(policy_gen_add_peer(r, NULL, "app=client"), 0);
	CU_ASSERT_EQUAL(policy_gen_finish(m), 0);
	CU_ASSERT_EQUAL_FATAL(policy_compile(m, &tb, &rep), 0);
	hk.addr = htobe32(0x0a000001);
	client = tables_find(&tb, TABLES_HOST4, &hk);
	hk.addr = htobe32(0x0a000003);
	db = tables_find(&tb, TABLES_HOST4, &hk);
	CU_ASSERT_PTR_NOT_NULL_FATAL(client);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	/* {db, ANY, TCP} = 443; {db, client, ANY} = all ports (rule 2); {db, client, TCP} = 443 by
	 * rule 1, the rest by rule 2 */
	CU_ASSERT_EQUAL(rep.entries[TABLES_POLICY], 3);
	CU_ASSERT_EQUAL(rep.nr_any_proto, 1);
	key.subject_class = db->class_id;
	key.peer_class = client->class_id;
	key.proto = BM_PROTO_ANY;
	v = tables_find(&tb, TABLES_POLICY, &key);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(v->nr_ranges, 1);
	key.proto = BM_PROTO_TCP;
	v = tables_find(&tb, TABLES_POLICY, &key);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(v->nr_ranges, 3);
	CU_ASSERT_EQUAL(tb.maps[TABLES_RANGES].n, 3 - BM_POLICY_INLINE_RANGES);
	key.peer_class = BM_CLASS_ANY;
	CU_ASSERT_PTR_NOT_NULL(tables_find(&tb, TABLES_POLICY, &key));
	key.proto = BM_PROTO_UDP;
	CU_ASSERT_PTR_NULL(tables_find(&tb, TABLES_POLICY, &key));
	for (i = 0; i < sizeof(wire); i++)
		for (j = 0; j < sizeof(srcs) / sizeof(srcs[0]); j++)
			for (k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
				tuple(&t, wire[i], srcs[j], "10.0.0.3", ports[k]);
				CU_ASSERT_TRUE(agree(0, m, &tb, &t, NULL));
			}
	tuple(&t, 17, "10.0.0.1", "10.0.0.3", 53);
	CU_ASSERT_EQUAL(tables_eval(&tb, &t, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.reason, BM_REASON_ALLOW_POLICY);
	CU_ASSERT_EQUAL(res.rule_id, m->policies[pi].ingress[1].rule_id);
	tuple(&t, 6, "10.0.0.4", "10.0.0.3", 443);
	CU_ASSERT_EQUAL(tables_eval(&tb, &t, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.reason, BM_REASON_ALLOW_POLICY);
	CU_ASSERT_EQUAL(res.rule_id, m->policies[pi].ingress[0].rule_id);
	tuple(&t, 1, "10.0.0.4", "10.0.0.3", 0);
	CU_ASSERT_EQUAL(tables_eval(&tb, &t, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.reason, BM_REASON_DENY_INGRESS);
	tables_release(&tb);
	pm_model_free(m);
}

/*
 * Two subjects of different classes with the same three-range list share one
 * slice of the range pool; a one-range entry keeps its range inline.
 */
static void test_policy_compile_pool_shared(void)
{
	struct bm_policy_key key = {
		.peer_class = BM_CLASS_ANY, .direction = BM_DIR_INGRESS, .proto = BM_PROTO_TCP};
	const struct bm_policy_value *v1, *v2, *vu;
	const struct bm_ipcache_value *d1, *d2;
	struct pm_model *m = pm_model_new();
	const struct bm_port_range *r;
	struct compile_report rep;
	struct bm_host4_key hk = {0};
	struct bm_tables tb;
	struct pe_tuple t;
	struct pm_rule *rl;
	int pi;

	tables_init(&tb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "d1", "app=db", "10.0.0.1", true, 301), 0);
	CU_ASSERT_EQUAL(
		policy_gen_add_endpoint(m, "a", "d2", "app=db,tier=b", "10.0.0.2", true, 302), 1);
	pi = policy_gen_add_policy(m, "a", "db", "app=db", true, false, false);
	rl = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	CU_ASSERT_EQUAL(policy_gen_add_port(rl, BM_PROTO_TCP, "80"), 0);
	CU_ASSERT_EQUAL(policy_gen_add_port(rl, BM_PROTO_TCP, "443"), 0);
	CU_ASSERT_EQUAL(policy_gen_add_port(rl, BM_PROTO_TCP, "8000-8080"), 0);
	CU_ASSERT_EQUAL(policy_gen_add_port(rl, BM_PROTO_TCP, "9000"), 0);
	CU_ASSERT_EQUAL(policy_gen_add_port(rl, BM_PROTO_UDP, "53"), 0);
	/* d2 alone is egress-isolated: another class */
	CU_ASSERT(policy_gen_add_policy(m, "a", "b", "tier=b", false, true, false) >= 0);
	CU_ASSERT_EQUAL(policy_gen_finish(m), 0);
	CU_ASSERT_EQUAL_FATAL(policy_compile(m, &tb, &rep), 0);
	hk.addr = htobe32(0x0a000001);
	d1 = tables_find(&tb, TABLES_HOST4, &hk);
	hk.addr = htobe32(0x0a000002);
	d2 = tables_find(&tb, TABLES_HOST4, &hk);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d2);
	CU_ASSERT_NOT_EQUAL(d1->class_id, d2->class_id);
	key.subject_class = d1->class_id;
	v1 = tables_find(&tb, TABLES_POLICY, &key);
	key.subject_class = d2->class_id;
	v2 = tables_find(&tb, TABLES_POLICY, &key);
	key.proto = BM_PROTO_UDP;
	vu = tables_find(&tb, TABLES_POLICY, &key);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vu);
	/* 80 and 443 inline; 8000-8080 and 9000 in one shared slice of the pool */
	CU_ASSERT_EQUAL_FATAL(BM_POLICY_INLINE_RANGES, 2);
	CU_ASSERT_EQUAL(v1->nr_ranges, 4);
	CU_ASSERT_EQUAL(v2->nr_ranges, 4);
	CU_ASSERT_EQUAL(v1->range[0].port_lo, 80);
	CU_ASSERT_EQUAL(v2->range[1].port_lo, 443);
	CU_ASSERT_EQUAL(v1->first, v2->first);
	CU_ASSERT_EQUAL(rep.entries[TABLES_RANGES], 2);
	CU_ASSERT_EQUAL_FATAL(tb.maps[TABLES_RANGES].n, 2);
	r = tables_value(&tb, TABLES_RANGES, v1->first);
	CU_ASSERT_EQUAL(r[0].port_lo, 8000);
	CU_ASSERT_EQUAL(r[0].port_hi, 8080);
	CU_ASSERT_EQUAL(r[1].port_lo, 9000);
	CU_ASSERT_EQUAL(vu->nr_ranges, 1);
	CU_ASSERT_EQUAL(vu->range[0].port_lo, 53);
	CU_ASSERT_EQUAL(vu->range[0].port_hi, 53);
	tuple(&t, 6, "192.0.2.1", "10.0.0.2", 8080);
	CU_ASSERT_TRUE(agree(0, m, &tb, &t, NULL));
	t.dport = 8081;
	CU_ASSERT_TRUE(agree(0, m, &tb, &t, NULL));
	tuple(&t, 17, "192.0.2.1", "10.0.0.1", 53);
	CU_ASSERT_TRUE(agree(0, m, &tb, &t, NULL));
	tables_release(&tb);
	pm_model_free(m);
}

/*
 * A named port added to a rule after the model was interned (no string id
 * yet) still resolves against the endpoints' named ports.
 */
static void test_policy_compile_named_port_late(void)
{
	struct pm_model *m = pm_model_new();
	struct pe_result res;
	struct bm_tables tb;
	struct pe_tuple t;
	struct pm_rule *r;
	int pi;

	tables_init(&tb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "s", "app=s", "10.0.0.1", true, 301), 0);
	CU_ASSERT_EQUAL(policy_gen_add_named_port(m, 0, "web", BM_PROTO_TCP, 8080), 0);
	pi = policy_gen_add_policy(m, "a", "s", "", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(policy_gen_finish(m), 0);
	r = &m->policies[0].ingress[0];
	CU_ASSERT_EQUAL(policy_gen_add_port(r, BM_PROTO_TCP, "web"), 0);
	CU_ASSERT_EQUAL(policy_gen_add_port(r, BM_PROTO_TCP, "nosuch"), 0);
	CU_ASSERT_EQUAL(r->ports[0].port_name_id, 0);
	CU_ASSERT_EQUAL_FATAL(policy_compile(m, &tb, NULL), 0);
	tuple(&t, BM_PROTO_TCP, "192.0.2.1", "10.0.0.1", 8080);
	CU_ASSERT_EQUAL(tables_eval(&tb, &t, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.reason, BM_REASON_ALLOW_POLICY);
	t.dport = 0;
	CU_ASSERT_EQUAL(tables_eval(&tb, &t, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.reason, BM_REASON_DENY_INGRESS);
	t.dport = 8081;
	CU_ASSERT_EQUAL(tables_eval(&tb, &t, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.reason, BM_REASON_DENY_INGRESS);
	tables_release(&tb);
	pm_model_free(m);
}

/* Many single ports spill to bm_ports; ranges stay inline; too many ranges fail. */
static void test_policy_compile_spill(void)
{
	struct compile_report rep;
	struct pm_model *m = pm_model_new();
	struct bm_tables tb;
	struct pe_result res;
	struct pe_tuple t;
	struct pm_rule *r;
	char buf[32];
	int pi, i;

	tables_init(&tb);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "s", "app=s", "10.0.0.1", true, 301), 0);
	pi = policy_gen_add_policy(m, "a", "s", "", true, false, false);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	for (i = 0; i < 40; i++) {
		snprintf(buf, sizeof(buf), "%d", 1000 + 2 * i);
		CU_ASSERT_EQUAL(policy_gen_add_port(r, BM_PROTO_TCP, buf), 0);
	}
	CU_ASSERT_EQUAL(policy_gen_add_port(r, BM_PROTO_TCP, "2000-2100"), 0);
	CU_ASSERT_EQUAL(policy_gen_finish(m), 0);
	CU_ASSERT_EQUAL_FATAL(policy_compile(m, &tb, &rep), 0);
	CU_ASSERT_EQUAL(rep.nr_spilled, 1);
	CU_ASSERT_EQUAL(rep.entries[TABLES_PORTS], 40);
	tuple(&t, BM_PROTO_TCP, "192.0.2.1", "10.0.0.1", 1078);
	CU_ASSERT_EQUAL(tables_eval(&tb, &t, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.reason, BM_REASON_ALLOW_POLICY);
	t.dport = 1079;
	CU_ASSERT_EQUAL(tables_eval(&tb, &t, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.reason, BM_REASON_DENY_INGRESS);
	t.dport = 2050;
	CU_ASSERT_EQUAL(tables_eval(&tb, &t, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.reason, BM_REASON_ALLOW_POLICY);

	r = &m->policies[0].ingress[0];
	for (i = 0; i < BM_POLICY_MAX_RANGES; i++) {
		snprintf(buf, sizeof(buf), "%d-%d", 3000 + 10 * i, 3005 + 10 * i);
		CU_ASSERT_EQUAL(policy_gen_add_port(r, BM_PROTO_TCP, buf), 0);
	}
	CU_ASSERT_EQUAL(policy_compile(m, &tb, &rep), -E2BIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.error, "a/s ingress"));
	CU_ASSERT_EQUAL(tb.maps[TABLES_POLICY].n, 0);
	tables_release(&tb);
	pm_model_free(m);
}

/* Ranges are disjoint and sorted, keys' padding is zero, the pool is indexed 0 .. n - 1. */
static void test_policy_compile_entries_well_formed(void)
{
	const struct bm_port_range *r, *cur, *prev = NULL;
	const struct bm_policy_value *v;
	const struct bm_policy_key *k;
	struct policy_gen_params p;
	struct pm_model *m;
	struct bm_tables tb;
	size_t i, j;

	policy_gen_defaults(&p);
	tables_init(&tb);
	CU_ASSERT_EQUAL_FATAL(policy_gen_model(7, &p, &m), 0);
	CU_ASSERT_EQUAL_FATAL(policy_compile(m, &tb, NULL), 0);
	CU_ASSERT_TRUE(tb.maps[TABLES_RANGES].n > 0);
	for (i = 0; i < tb.maps[TABLES_RANGES].n; i++)
		CU_ASSERT_EQUAL(*(const uint32_t *)tables_key(&tb, TABLES_RANGES, i), i);
	for (i = 0; i < tb.maps[TABLES_POLICY].n; i++) {
		k = tables_key(&tb, TABLES_POLICY, i);
		v = tables_value(&tb, TABLES_POLICY, i);
		CU_ASSERT_EQUAL(k->pad, 0);
		CU_ASSERT_TRUE(k->subject_class >= BM_CLASS_FIRST);
		CU_ASSERT_NOT_EQUAL(k->peer_class, BM_CLASS_WORLD);
		CU_ASSERT_TRUE(v->nr_ranges <= BM_POLICY_MAX_RANGES);
		for (j = 0; j < BM_POLICY_INLINE_RANGES; j++)
			CU_ASSERT_EQUAL(v->range[j].rule_id != 0, j < v->nr_ranges);
		if (v->nr_ranges <= BM_POLICY_INLINE_RANGES) {
			CU_ASSERT_EQUAL(v->first, 0);
			continue;
		}
		CU_ASSERT_FATAL(v->first + v->nr_ranges - BM_POLICY_INLINE_RANGES <=
				tb.maps[TABLES_RANGES].n);
		r = tables_value(&tb, TABLES_RANGES, v->first);
		for (j = 0; j < v->nr_ranges; j++) {
			cur = j < BM_POLICY_INLINE_RANGES ? &v->range[j]
							  : &r[j - BM_POLICY_INLINE_RANGES];
			CU_ASSERT_TRUE(cur->port_lo <= cur->port_hi);
			CU_ASSERT_NOT_EQUAL(cur->rule_id, 0);
			if (j)
				CU_ASSERT_TRUE(prev->port_hi < cur->port_lo);
			prev = cur;
		}
	}
	tables_release(&tb);
	pm_model_free(m);
}

/* Overlapping endpoint prefixes are a model error. */
static void test_policy_compile_overlap_rejected(void)
{
	struct compile_report rep;
	struct pm_model *m = pm_model_new();
	struct bm_tables tb;

	tables_init(&tb);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "x", "", "10.0.0.0/24", true, 301), 0);
	CU_ASSERT_EQUAL(policy_gen_add_endpoint(m, "a", "y", "", "10.0.0.7", true, 302), 1);
	CU_ASSERT_EQUAL(policy_gen_finish(m), 0);
	CU_ASSERT_EQUAL(policy_compile(m, &tb, &rep), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.error, "overlapping"));
	tables_release(&tb);
	pm_model_free(m);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Scale: 10k endpoints and about 10k rules (100k: tools/bench/bench_compile). */
static void test_policy_compile_scale(void)
{
	struct compile_report rep;
	struct policy_gen_params p;
	struct pm_model *m;
	struct bm_tables tb;
	double t0, dt;

	policy_gen_scale_defaults(&p, 10000);
	tables_init(&tb);
	CU_ASSERT_EQUAL_FATAL(policy_gen_model(99, &p, &m), 0);
	t0 = now_s();
	CU_ASSERT_EQUAL(policy_compile(m, &tb, &rep), 0);
	dt = now_s() - t0;
	printf("\n  10k endpoints, %zu rules: %.3f s, %u classes, %zu policy entries\n",
	       m->n_rules - 1, dt, rep.nr_classes, rep.entries[TABLES_POLICY]);
	tables_release(&tb);
	pm_model_free(m);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"classes_shared", test_policy_compile_classes_shared},
		{"any_proto", test_policy_compile_any_proto},
		{"pool_shared", test_policy_compile_pool_shared},
		{"spill", test_policy_compile_spill},
		{"named_port_late", test_policy_compile_named_port_late},
		{"entries_well_formed", test_policy_compile_entries_well_formed},
		{"overlap_rejected", test_policy_compile_overlap_rejected},
		{"deterministic", test_policy_compile_deterministic},
		{"differential", test_policy_compile_differential},
		{"differential_wide", test_policy_compile_differential_wide},
		{"differential_spill", test_policy_compile_differential_spill},
		{"differential_varied", test_policy_compile_differential_varied},
		{"scale", test_policy_compile_scale},
		{NULL, NULL},
	};

	return bm_test_add_suite("policy_compile", NULL, NULL, cases);
}
