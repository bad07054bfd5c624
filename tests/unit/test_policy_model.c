// SPDX-License-Identifier: GPL-2.0-only
/* Policy model helpers: selectors, labels, address parsing and formatting,
 * the string table and interning.
 * ctest-labels: unit dataplane
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <abi/types.h>

#include "bm_test.h"
#include "policy_gen.h"
#include "policy_model.h"
#include "policy_strtab.h"

static struct pm_label app_web_tier_fe[] = {
	{.key = "app", .value = "web"},
	{.key = "tier", .value = "fe"},
};
static const struct pm_labels web = {app_web_tier_fe, 2};

static void test_policy_model_selector_absent_vs_empty(void)
{
	struct pm_selector absent = {0}, empty = {.is_present = true};
	struct pm_labels none = {0};

	CU_ASSERT_FALSE(pm_selector_matches(&absent, &web));
	CU_ASSERT_TRUE(pm_selector_matches(&empty, &web));
	CU_ASSERT_TRUE(pm_selector_matches(&empty, &none));
}

static void test_policy_model_selector_match_labels(void)
{
	struct pm_label want[] = {{.key = "app", .value = "web"}};
	struct pm_label other[] = {{.key = "app", .value = "db"}};
	struct pm_selector s = {.is_present = true, .match_labels = {want, 1}};

	CU_ASSERT_TRUE(pm_selector_matches(&s, &web));
	s.match_labels.items = other;
	CU_ASSERT_FALSE(pm_selector_matches(&s, &web));
}

static void test_policy_model_selector_exprs(void)
{
	char *vals[] = {"fe", "be"};
	struct pm_sel_expr e = {.key = "tier", .op = PM_OP_IN, .values = vals, .n_values = 2};
	struct pm_selector s = {.is_present = true, .exprs = &e, .n_exprs = 1};
	struct pm_labels none = {0};

	CU_ASSERT_TRUE(pm_selector_matches(&s, &web));
	CU_ASSERT_FALSE(pm_selector_matches(&s, &none));
	e.op = PM_OP_NOT_IN;
	CU_ASSERT_FALSE(pm_selector_matches(&s, &web));
	CU_ASSERT_TRUE(pm_selector_matches(&s, &none));
	e.op = PM_OP_EXISTS;
	CU_ASSERT_TRUE(pm_selector_matches(&s, &web));
	CU_ASSERT_FALSE(pm_selector_matches(&s, &none));
	e.op = PM_OP_DOES_NOT_EXIST;
	CU_ASSERT_FALSE(pm_selector_matches(&s, &web));
	CU_ASSERT_TRUE(pm_selector_matches(&s, &none));
}

static void test_policy_model_labels_get(void)
{
	CU_ASSERT_STRING_EQUAL(pm_labels_get(&web, "tier"), "fe");
	CU_ASSERT_PTR_NULL(pm_labels_get(&web, "nope"));
}

static void test_policy_model_addr_parse(void)
{
	struct pm_addr a;
	char buf[64];

	CU_ASSERT_EQUAL_FATAL(pm_addr_parse("198.18.0.1", &a), 0);
	CU_ASSERT_EQUAL(a.family, BM_FAMILY_IPV4);
	CU_ASSERT_EQUAL(a.prefixlen, 32);
	CU_ASSERT_STRING_EQUAL(pm_addr_format(&a, buf, sizeof(buf)), "198.18.0.1");
	CU_ASSERT_EQUAL_FATAL(pm_addr_parse("198.19.7.9/15", &a), 0);
	CU_ASSERT_EQUAL(a.prefixlen, 15);
	CU_ASSERT_STRING_EQUAL(pm_addr_format(&a, buf, sizeof(buf)), "198.18.0.0/15");
	CU_ASSERT_EQUAL_FATAL(pm_addr_parse("fd00::1:2/8", &a), 0);
	CU_ASSERT_EQUAL(a.family, BM_FAMILY_IPV6);
	CU_ASSERT_STRING_EQUAL(pm_addr_format(&a, buf, sizeof(buf)), "fd00::/8");
	CU_ASSERT_EQUAL_FATAL(pm_addr_parse("::/0", &a), 0);
	CU_ASSERT_EQUAL(a.prefixlen, 0);
	CU_ASSERT_EQUAL(pm_addr_parse("10.0.0.0/33", &a), -EINVAL);
	CU_ASSERT_EQUAL(pm_addr_parse("10.0.0.0/", &a), -EINVAL);
	CU_ASSERT_EQUAL(pm_addr_parse("10.0.0.0/-1", &a), -EINVAL);
	CU_ASSERT_EQUAL(pm_addr_parse("10.0.0.0/ 8", &a), -EINVAL);
	CU_ASSERT_EQUAL(pm_addr_parse("10.0.0", &a), -EINVAL);
	CU_ASSERT_EQUAL(pm_addr_parse("fd00::/129", &a), -EINVAL);
	CU_ASSERT_EQUAL(pm_addr_parse("", &a), -EINVAL);
	CU_ASSERT_EQUAL(pm_addr_parse(NULL, &a), -EINVAL);
}

static void test_policy_model_addr_in_prefix(void)
{
	struct pm_addr host, net, net6;

	CU_ASSERT_EQUAL_FATAL(pm_addr_parse("10.1.2.3", &host), 0);
	CU_ASSERT_EQUAL_FATAL(pm_addr_parse("10.0.0.0/15", &net), 0);
	CU_ASSERT_EQUAL_FATAL(pm_addr_parse("::/0", &net6), 0);
	CU_ASSERT_TRUE(pm_addr_in_prefix(&host, &net));
	CU_ASSERT_TRUE(pm_addr_in_prefix(&host, &host));
	CU_ASSERT_FALSE(pm_addr_in_prefix(&host, &net6));
	CU_ASSERT_EQUAL_FATAL(pm_addr_parse("10.2.0.1", &host), 0);
	CU_ASSERT_FALSE(pm_addr_in_prefix(&host, &net));
}

static void test_policy_model_new_free(void)
{
	struct pm_model *m = pm_model_new();

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NULL(pm_model_namespace(m, "default"));
	pm_model_free(m);
	pm_model_free(NULL);
}

static void test_policy_model_strtab(void)
{
	struct pm_strtab *t = pm_strtab_new();
	char name[32];
	uint32_t a, b, i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(pm_strtab_find(t, "app"), 0);
	a = pm_strtab_intern(t, "app");
	b = pm_strtab_intern(t, "");
	CU_ASSERT_EQUAL(a, 1);
	CU_ASSERT_EQUAL(b, 2);
	CU_ASSERT_EQUAL(pm_strtab_intern(t, "app"), a);
	CU_ASSERT_EQUAL(pm_strtab_find(t, ""), b);
	CU_ASSERT_EQUAL(pm_strtab_find(t, "ap"), 0);
	CU_ASSERT_STRING_EQUAL(pm_strtab_str(t, a), "app");
	CU_ASSERT_PTR_NULL(pm_strtab_str(t, 0));
	CU_ASSERT_PTR_NULL(pm_strtab_str(t, 3));
	/* through several rehashes and chunks: ids stay dense and stable */
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "value-%u-of-a-longer-string", i);
		CU_ASSERT_EQUAL_FATAL(pm_strtab_intern(t, name), 3 + i);
	}
	CU_ASSERT_EQUAL(pm_strtab_count(t), 20002);
	CU_ASSERT_EQUAL(pm_strtab_find(t, "value-777-of-a-longer-string"), 3 + 777);
	CU_ASSERT_STRING_EQUAL(pm_strtab_str(t, 3 + 19999), "value-19999-of-a-longer-string");
	CU_ASSERT_EQUAL(pm_strtab_intern(t, "app"), a);
	pm_strtab_free(t);
	pm_strtab_free(NULL);
}

/* Every id of labels names the label's own string. */
static bool ids_match(const struct pm_model *m, const struct pm_labels *l, const uint32_t *ids)
{
	size_t i;

	if (l->n && !ids)
		return false;
	for (i = 0; i < l->n; i++) {
		if (strcmp(pm_strtab_str(m->strs, ids[2 * i]), l->items[i].key) ||
		    strcmp(pm_strtab_str(m->strs, ids[2 * i + 1]), l->items[i].value))
			return false;
	}
	return true;
}

static void test_policy_model_intern(void)
{
	struct pm_model *m = pm_model_new();
	const struct pm_selector *s1, *s2, *s3;
	const struct pm_endpoint *e;
	struct pm_rule *r;
	int pi;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(policy_gen_add_namespace(m, "a", "kubernetes.io/metadata.name=a"), 0);
	CU_ASSERT_EQUAL(
		policy_gen_add_endpoint(m, "a", "w", "app=web,tier=fe", "10.0.0.1", true, 301), 0);
	pi = policy_gen_add_policy(m, "a", "p", "app=web", true, false, false);
	CU_ASSERT_TRUE_FATAL(pi >= 0);
	r = policy_gen_add_rule(m, (size_t)pi, BM_DIR_INGRESS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(policy_gen_add_peer(r, NULL, "app=web"), 0);
	CU_ASSERT_EQUAL(policy_gen_add_peer(r, "kubernetes.io/metadata.name=a", "tier=fe"), 0);
	CU_ASSERT_EQUAL(policy_gen_add_port(r, BM_PROTO_TCP, "web"), 0);
	CU_ASSERT_EQUAL(policy_gen_add_named_port(m, 0, "web", BM_PROTO_TCP, 8080), 0);
	CU_ASSERT_FALSE(m->is_interned);
	CU_ASSERT_EQUAL_FATAL(policy_gen_finish(m), 0);
	CU_ASSERT_TRUE(m->is_interned);

	e = &m->endpoints[0];
	CU_ASSERT_EQUAL(e->ns_id, m->policies[0].ns_id);
	CU_ASSERT_EQUAL(e->ns_id, m->namespaces[0].name_id);
	CU_ASSERT_EQUAL(e->ns_id, pm_strtab_find(m->strs, "a"));
	CU_ASSERT_TRUE(ids_match(m, &e->labels, e->label_ids));
	CU_ASSERT_TRUE(ids_match(m, &m->namespaces[0].labels, m->namespaces[0].label_ids));
	s1 = &m->policies[0].pod_selector;
	s2 = &m->policies[0].ingress[0].peers[0].pod_selector;
	s3 = &m->policies[0].ingress[0].peers[1].pod_selector;
	CU_ASSERT_TRUE(ids_match(m, &s3->match_labels, s3->label_ids));
	CU_ASSERT_TRUE(ids_match(m, &m->policies[0].ingress[0].peers[1].ns_selector.match_labels,
				 m->policies[0].ingress[0].peers[1].ns_selector.label_ids));
	/* equal strings, equal ids; equal selectors, equal signatures */
	CU_ASSERT_EQUAL(s1->label_ids[0], e->label_ids[0]);
	CU_ASSERT_EQUAL(s1->label_ids[1], e->label_ids[1]);
	CU_ASSERT_EQUAL(s1->sig, s2->sig);
	CU_ASSERT_NOT_EQUAL(s1->sig, s3->sig);
	CU_ASSERT_NOT_EQUAL(s1->sig, m->policies[0].ingress[0].peers[0].ns_selector.sig);
	/* named ports: the endpoint's and the rule's name, one id */
	CU_ASSERT_EQUAL(e->ports[0].name_id, pm_strtab_find(m->strs, "web"));
	CU_ASSERT_EQUAL(m->policies[0].ingress[0].ports[0].port_name_id, e->ports[0].name_id);
	CU_ASSERT_NOT_EQUAL(e->ports[0].name_id, 0);

	/* a replaced label is interned again after pm_model_changed() */
	free(m->endpoints[0].labels.items[1].value);
	m->endpoints[0].labels.items[1].value = strdup("be");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->endpoints[0].labels.items[1].value);
	free(m->endpoints[0].label_ids);
	m->endpoints[0].label_ids = NULL;
	pm_model_changed(m);
	CU_ASSERT_EQUAL(pm_model_intern(m), 0);
	CU_ASSERT_TRUE(m->is_interned);
	CU_ASSERT_TRUE(ids_match(m, &e->labels, e->label_ids));
	CU_ASSERT_EQUAL(e->label_ids[3], pm_strtab_find(m->strs, "be"));
	pm_model_free(m);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"selector_absent_vs_empty", test_policy_model_selector_absent_vs_empty},
		{"selector_match_labels", test_policy_model_selector_match_labels},
		{"selector_exprs", test_policy_model_selector_exprs},
		{"labels_get", test_policy_model_labels_get},
		{"addr_parse", test_policy_model_addr_parse},
		{"addr_in_prefix", test_policy_model_addr_in_prefix},
		{"new_free", test_policy_model_new_free},
		{"strtab", test_policy_model_strtab},
		{"intern", test_policy_model_intern},
		{NULL, NULL},
	};

	return bm_test_add_suite("policy_model", NULL, NULL, cases);
}
