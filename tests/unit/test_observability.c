// SPDX-License-Identifier: GPL-2.0-only
/* Flow event JSON, observe filters, metrics label escaping, address rules
 * and the exposition of an agent snapshot, without a bus or a kernel.
 * ctest-labels: unit agent demo
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "agent_metrics.h"
#include "bm_test.h"
#include "flow_json.h"

static json_t *deny_event(void)
{
	struct bm_flow_event e = {
		.ts_boot_ns = 1000000000ull,
		.src_id = 7,
		.dst_id = 9,
		.rule_id = 3,
		.generation = 2,
		.sport = htons(40000),
		.dport = htons(8080),
		.proto = 6,
		.family = BM_FAMILY_IPV4,
		.verdict = BM_VERDICT_DENY,
		.reason = BM_REASON_DENY_INGRESS,
	};

	inet_pton(AF_INET, "198.18.1.3", e.saddr);
	inet_pton(AF_INET, "198.18.1.2", e.daddr);
	return flow_json_event(&e, "n1", NULL, 0);
}

static void test_observability_event_json(void)
{
	json_t *ev = deny_event();
	char *text = json_dumps(ev, JSON_COMPACT);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(text, "\"node\":\"n1\",\"time\":\"1970-01-01T00:00:01.000000Z\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"verdict\":\"deny\",\"reason\":\"deny-ingress\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"src_id\":7,\"src\":\"198.18.1.3\",\"sport\":40000"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"dst_id\":9,\"dst\":\"198.18.1.2\",\"dport\":8080"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"proto\":\"tcp\""));
	CU_ASSERT_PTR_NULL(strstr(text, "identity")); /* no names given: numbers only */
	free(text);
	json_decref(ev);
}

static void test_observability_namespace(void)
{
	char ns[16];

	CU_ASSERT_TRUE(flow_json_namespace("spiffe://td/ns/shop/sa/web", ns, sizeof(ns)));
	CU_ASSERT_STRING_EQUAL(ns, "shop");
	CU_ASSERT_TRUE(flow_json_namespace("spiffe://td/ns/shop", ns, sizeof(ns)));
	CU_ASSERT_STRING_EQUAL(ns, "shop");
	CU_ASSERT_FALSE(flow_json_namespace("spiffe://td/sa/web", ns, sizeof(ns)));
	CU_ASSERT_FALSE(flow_json_namespace("spiffe://td/ns//sa/x", ns, sizeof(ns)));
	CU_ASSERT_FALSE(flow_json_namespace("world", ns, sizeof(ns)));
	CU_ASSERT_FALSE(flow_json_namespace(NULL, ns, sizeof(ns)));
	CU_ASSERT_FALSE(
		flow_json_namespace("spiffe://td/ns/averyveryverylongname", ns, sizeof(ns)));
	CU_ASSERT_STRING_EQUAL(ns, "");
}

static void test_observability_filters(void)
{
	json_t *ev = deny_event();
	struct flow_filter f;

	json_object_set_new(ev, "src_identity", json_string("spiffe://td/ns/shop/sa/bad"));
	json_object_set_new(ev, "src_namespace", json_string("shop"));
#define MATCH(...) (f = (struct flow_filter){__VA_ARGS__}, flow_filter_match(&f, ev))
	CU_ASSERT_TRUE(MATCH(.node = NULL));
	CU_ASSERT_TRUE(MATCH(.identity = "7"));
	CU_ASSERT_TRUE(MATCH(.identity = "9"));
	CU_ASSERT_FALSE(MATCH(.identity = "8"));
	CU_ASSERT_FALSE(MATCH(.identity = "7x"));
	CU_ASSERT_FALSE(MATCH(.identity = ""));
	CU_ASSERT_TRUE(MATCH(.identity = "spiffe://td/ns/shop/sa/bad"));
	CU_ASSERT_TRUE(MATCH(.from = "spiffe://td/ns/shop/sa/bad", .to = "9"));
	CU_ASSERT_FALSE(MATCH(.from = "9"));
	CU_ASSERT_FALSE(MATCH(.to = "7"));
	CU_ASSERT_TRUE(MATCH(.ns = "shop"));
	CU_ASSERT_FALSE(MATCH(.ns = "other"));
	CU_ASSERT_TRUE(MATCH(.verdict = "deny"));
	CU_ASSERT_TRUE(MATCH(.verdict = "deny-ingress"));
	CU_ASSERT_FALSE(MATCH(.verdict = "allow"));
	CU_ASSERT_TRUE(MATCH(.has_port = true, .port = 8080));
	CU_ASSERT_TRUE(MATCH(.has_port = true, .port = 40000));
	CU_ASSERT_FALSE(MATCH(.has_port = true, .port = 0));
	CU_ASSERT_TRUE(MATCH(.node = "n1", .verdict = "deny", .identity = "9"));
	CU_ASSERT_FALSE(MATCH(.node = "n2"));
#undef MATCH
	json_decref(ev);
}

static char *render_escape(const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	agent_metrics_escape(f, text);
	fclose(f);
	return buf;
}

static void test_observability_label_escaping(void)
{
	char *s = render_escape("a\"b\\c\nd");

	CU_ASSERT_STRING_EQUAL(s, "a\\\"b\\\\c\\nd");
	free(s);
}

static bool addr_ok(const char *text, bool is_public)
{
	struct sockaddr_storage ss;
	char why[256];
	socklen_t len;

	return !agent_metrics_parse_addr(text, is_public, &ss, &len, why, sizeof(why));
}

static void test_observability_metrics_addr(void)
{
	CU_ASSERT_TRUE(addr_ok("127.0.0.1:9464", false));
	CU_ASSERT_TRUE(addr_ok("127.5.0.1:0", false));
	CU_ASSERT_TRUE(addr_ok("[::1]:9464", false));
	CU_ASSERT_TRUE(addr_ok("localhost:9464", false));
	CU_ASSERT_FALSE(addr_ok("0.0.0.0:9464", false));
	CU_ASSERT_FALSE(addr_ok("198.18.0.1:9464", false));
	CU_ASSERT_FALSE(addr_ok("[::]:9464", false));
	CU_ASSERT_TRUE(addr_ok("0.0.0.0:9464", true));
	CU_ASSERT_TRUE(addr_ok("[::]:9464", true));
	CU_ASSERT_FALSE(addr_ok("127.0.0.1", false));
	CU_ASSERT_FALSE(addr_ok("127.0.0.1:", false));
	CU_ASSERT_FALSE(addr_ok("127.0.0.1:65536", false));
	CU_ASSERT_FALSE(addr_ok("127.0.0.1:-1", false));
	CU_ASSERT_FALSE(addr_ok("[::1:80", false));
	CU_ASSERT_FALSE(addr_ok("::1:80", false));
	CU_ASSERT_FALSE(addr_ok("example.org:80", true));
}

static void test_observability_render_snapshot(void)
{
	struct agent_metrics_snapshot s = {
		.is_connected = true,
		.bus_connects = 3,
		.applied_rev = 12,
		.generation = 5,
		.last_install_ms = 250,
		.handshake_failures = 2,
		.bus_lag_us = 12001,
		.sched_claims = 4,
		.sched_placements = 9,
		.flows = {.published = 40, .dropped = 1},
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_EQUAL(agent_metrics_render(f, &s, "n\"1", "/nonexistent", "/nonexistent"), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "bpfmesh_agent_info{node=\"n\\\"1\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "# TYPE bpfmesh_bus_reconnects_total counter\n"
					   "bpfmesh_bus_reconnects_total 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nbpfmesh_policy_revision 12\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nbpfmesh_generation 5\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nbpfmesh_install_last_seconds 0.250000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nbpfmesh_handshake_failures_total 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nbpfmesh_flow_events_dropped_total 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nbpfmesh_bus_lag_seconds 0.012\n"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(buf, "bpfmesh_sched_decisions_total{decision=\"claim\"} 4\n"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(buf, "bpfmesh_sched_decisions_total{decision=\"place\"} 9\n"));
	/* No bus message yet: the family is declared, the sample omitted. */
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "# TYPE bpfmesh_bus_last_message_seconds gauge\n#"));
	/* Without pinned maps the map families are empty, not missing. */
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "# TYPE bpfmesh_verdict_packets_total counter\n#"));
	CU_ASSERT_PTR_NULL(strstr(buf, "bpfmesh_map_entries{"));
	free(buf);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"event_json", test_observability_event_json},
		{"namespace", test_observability_namespace},
		{"filters", test_observability_filters},
		{"label_escaping", test_observability_label_escaping},
		{"metrics_addr", test_observability_metrics_addr},
		{"render_snapshot", test_observability_render_snapshot},
		{NULL, NULL},
	};

	return bm_test_add_suite("observability", NULL, NULL, cases);
}
