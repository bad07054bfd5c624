// SPDX-License-Identifier: GPL-2.0-only
/* Policy model helpers: selectors, labels, address parsing and formatting.
 * ctest-labels: unit dataplane
 */
#include <errno.h>
#include <string.h>

#include <abi/types.h>

#include "bm_test.h"
#include "policy_model.h"

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
		{NULL, NULL},
	};

	return bm_test_add_suite("policy_model", NULL, NULL, cases);
}
