// SPDX-License-Identifier: GPL-2.0-only
/* The agent's event handling without a bus or a kernel: ordering by
 * revision, schema checks, all-or-nothing policy revisions, endpoint and
 * revocation messages, bus key syntax.
 * ctest-labels: unit agent
 */
#include <errno.h>
#include <string.h>

#include "agent_priv.h"
#include "bm_test.h"
#include "bus.h"
#include "workload_model.h"

static const char policy_yaml[] = "apiVersion: bpfmesh.io/v1\\nkind: Endpoint\\n"
				  "metadata: {name: web, namespace: shop, labels: {app: web}}\\n"
				  "spec: {identity: \\\"spiffe://t.bpfmesh/ns/shop/sa/web\\\", "
				  "addresses: [\\\"198.18.0.2\\\"]}\\n";

static const struct agent_config cfg = {.node = "n1", .state_dir = "/nonexistent"};

static void feed(struct agent *a, enum bus_bucket bucket, const char *key, uint64_t rev,
		 const char *data)
{
	struct agent_ev ev = {
		.kind = AGENT_EV_KV,
		.bucket = bucket,
		.key = (char *)key,
		.rev = rev,
		.data = (char *)data,
		.len = strlen(data),
	};

	agent_apply(a, &ev);
}

static void policy_doc(char *buf, size_t len, int schema, const char *yaml)
{
	snprintf(buf, len,
		 "{\"schema\":%d,\"node\":\"n2\",\"sources\":[{\"name\":\"p.yaml\","
		 "\"data\":\"%s\"}]}",
		 schema, yaml);
}

static void release(struct agent *a)
{
	pm_model_free(a->pending_model);
	policy_sources_free(&a->policy);
	free(a->policy_origin);
	agent_items_clear(&a->endpoints);
	agent_items_clear(&a->revoked);
	agent_peers_clear(a);
}

static void test_agent_policy_ordered_by_revision(void)
{
	struct agent a = {.cfg = &cfg};
	char doc[1024];

	policy_doc(doc, sizeof(doc), 1, policy_yaml);
	feed(&a, BUS_BUCKET_POLICY, AGENT_POLICY_KEY, 5, doc);
	CU_ASSERT_EQUAL(a.policy_rev, 5);
	CU_ASSERT_TRUE(a.is_dirty);
	CU_ASSERT_STRING_EQUAL(a.policy_origin, "n2");
	a.is_dirty = false;
	feed(&a, BUS_BUCKET_POLICY, AGENT_POLICY_KEY, 4, doc);
	feed(&a, BUS_BUCKET_POLICY, AGENT_POLICY_KEY, 5, doc);
	CU_ASSERT_EQUAL(a.policy_rev, 5);
	CU_ASSERT_FALSE(a.is_dirty);
	CU_ASSERT_EQUAL(a.n_rejected, 0);
	release(&a);
}

static void test_agent_policy_rejects_whole_revision(void)
{
	struct agent a = {.cfg = &cfg};
	char doc[1024];

	policy_doc(doc, sizeof(doc), 1, policy_yaml);
	feed(&a, BUS_BUCKET_POLICY, AGENT_POLICY_KEY, 1, doc);
	policy_doc(doc, sizeof(doc), 2, policy_yaml);
	feed(&a, BUS_BUCKET_POLICY, AGENT_POLICY_KEY, 2, doc);
	policy_doc(doc, sizeof(doc), 1, "kind: NetworkPolicy\\nspec: {podSelector: [");
	feed(&a, BUS_BUCKET_POLICY, AGENT_POLICY_KEY, 3, doc);
	feed(&a, BUS_BUCKET_POLICY, AGENT_POLICY_KEY, 4, "{\"schema\":1}");
	feed(&a, BUS_BUCKET_POLICY, AGENT_POLICY_KEY, 5, "not json");
	feed(&a, BUS_BUCKET_POLICY, "other", 6, "{\"schema\":1}");
	CU_ASSERT_EQUAL(a.n_rejected, 5);
	CU_ASSERT_EQUAL(a.policy_rev, 1);
	CU_ASSERT_EQUAL_FATAL(a.policy.n, 1);
	CU_ASSERT_STRING_EQUAL(a.policy.items[0].name, "p.yaml");
	release(&a);
}

static void test_agent_endpoint_events(void)
{
	struct agent a = {.cfg = &cfg};
	const char *good = "{\"schema\":1,\"namespace\":\"shop\",\"name\":\"db\",\"identity\":"
			   "\"spiffe://t.bpfmesh/ns/shop/sa/db\",\"addresses\":[\"198.18.0.9\"],"
			   "\"labels\":{\"app\":\"db\"}}";
	struct agent_ev del = {.kind = AGENT_EV_KV,
			       .bucket = BUS_BUCKET_ENDPOINTS,
			       .key = "shop.db",
			       .rev = 9,
			       .is_delete = true,
			       .data = "",
			       .len = 0};

	feed(&a, BUS_BUCKET_ENDPOINTS, "shop.db", 3, good);
	CU_ASSERT_EQUAL_FATAL(a.endpoints.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.endpoints.v[0].doc, "\"kind\":\"Endpoint\""));
	feed(&a, BUS_BUCKET_ENDPOINTS, "shop.other", 4, good); /* key and name disagree */
	feed(&a, BUS_BUCKET_ENDPOINTS, "shop.x", 5,
	     "{\"schema\":3,\"namespace\":\"shop\",\"name\":\"x\"}");
	feed(&a, BUS_BUCKET_ENDPOINTS, "shop.db", 2, good); /* older: ignored */
	CU_ASSERT_EQUAL(a.n_rejected, 2);
	CU_ASSERT_EQUAL(a.endpoints.n, 1);
	agent_apply(&a, &del);
	CU_ASSERT_EQUAL(a.endpoints.n, 0);
	release(&a);
}

static void test_agent_revocations(void)
{
	struct agent a = {.cfg = &cfg};

	feed(&a, BUS_BUCKET_REVOKED, "id.7", 1, "{\"schema\":1,\"id\":7}");
	feed(&a, BUS_BUCKET_REVOKED, "id.8", 2,
	     "{\"schema\":1,\"identity\":\"spiffe://t.bpfmesh/ns/shop/sa/web\"}");
	feed(&a, BUS_BUCKET_REVOKED, "id.9", 3, "{\"schema\":1,\"id\":0}");
	feed(&a, BUS_BUCKET_REVOKED, "id.10", 4, "{\"schema\":2,\"id\":10}");
	CU_ASSERT_EQUAL(a.revoked.n, 2);
	CU_ASSERT_EQUAL(a.revoked.v[0].id, 7);
	CU_ASSERT_EQUAL(a.n_rejected, 2);
	release(&a);
}

static void test_agent_membership(void)
{
	struct agent a = {.cfg = &cfg};
	struct agent_ev hb = {.kind = AGENT_EV_MSG,
			      .key = "bpfmesh.v1.node.n2.heartbeat",
			      .data = "{\"schema\":1,\"revision\":4,\"ready\":true}"};

	hb.len = strlen(hb.data);
	agent_apply(&a, &hb);
	CU_ASSERT_EQUAL_FATAL(a.n_peers, 1);
	CU_ASSERT_TRUE(a.peers[0].is_alive);
	CU_ASSERT_EQUAL(a.peers[0].revision, 4);
	hb.key = "bpfmesh.v1.node.n1.heartbeat"; /* ourselves */
	agent_apply(&a, &hb);
	hb.key = "bpfmesh.v1.node.n3.heartbeat";
	hb.data = "{\"schema\":2}";
	hb.len = strlen(hb.data);
	agent_apply(&a, &hb);
	CU_ASSERT_EQUAL(a.n_peers, 1);
	CU_ASSERT_EQUAL(a.n_rejected, 1);
	hb.key = "bpfmesh.v1.node.n2.leave";
	hb.data = "{\"schema\":1}";
	hb.len = strlen(hb.data);
	agent_apply(&a, &hb);
	CU_ASSERT_FALSE(a.peers[0].is_alive);
	release(&a);
}

static void test_agent_bus_keys(void)
{
	char path[256];

	CU_ASSERT_TRUE(bus_is_valid_key("shop.db"));
	CU_ASSERT_TRUE(bus_is_valid_key("id.123"));
	CU_ASSERT_FALSE(bus_is_valid_key(""));
	CU_ASSERT_FALSE(bus_is_valid_key("a..b"));
	CU_ASSERT_FALSE(bus_is_valid_key(".a"));
	CU_ASSERT_FALSE(bus_is_valid_key("spiffe://x"));
	CU_ASSERT_FALSE(bus_is_valid_key("a b"));
	agent_sock_path("/var/lib/bpfmesh", path, sizeof(path));
	CU_ASSERT_STRING_EQUAL(path, AGENT_DEFAULT_SOCKET);
	agent_sock_path("/tmp/s", path, sizeof(path));
	CU_ASSERT_STRING_EQUAL(path, "/tmp/s/agent.sock");
}

static void test_agent_items_index(void)
{
	struct agent_items items = {0};
	struct agent_item it;
	char key[32];
	int i, ok = 1;

	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "ns.ep%d", i);
		it = (struct agent_item){.key = strdup(key), .rev = (uint64_t)i};
		CU_ASSERT_EQUAL_FATAL(agent_items_put(&items, &it), 0);
	}
	it = (struct agent_item){.key = strdup("ns.ep7"), .rev = 99};
	CU_ASSERT_EQUAL(agent_items_put(&items, &it), 0); /* replaces */
	CU_ASSERT_EQUAL(items.n, 5000);
	for (i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "ns.ep%d", i);
		agent_items_remove(&items, key);
	}
	CU_ASSERT_EQUAL(items.n, 2500);
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "ns.ep%d", i);
		ok &= (agent_items_find(&items, key) != NULL) == (i % 2 == 1);
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(agent_items_find(&items, "ns.ep7")->rev, 99);
	agent_items_clear(&items);
	CU_ASSERT_PTR_NULL(agent_items_find(&items, "ns.ep1"));
}

/* A bpfmesh-workloads value holding one manifest (YAML with \n escapes). */
static void workload_doc(char *buf, size_t len, int schema, const char *yaml)
{
	snprintf(buf, len,
		 "{\"schema\":%d,\"node\":\"n2\",\"sources\":[{\"name\":\"w.yaml\","
		 "\"data\":\"%s\"}]}",
		 schema, yaml);
}

#define WL_DEPLOY                                                                            \
	"apiVersion: apps/v1\\nkind: Deployment\\nmetadata: {name: web, namespace: shop}\\n" \
	"spec:\\n  replicas: 2\\n  selector: {matchLabels: {app: web}}\\n  template:\\n"     \
	"    metadata: {labels: {app: web}}\\n"                                              \
	"    spec: {containers: [{name: web, command: [sleep, '60']}]}\\n"

#define WEB_KEY "_p.c0m0.any.shop.deployment.web"

static void test_agent_workload_events(void)
{
	struct agent a = {.cfg = &cfg};
	char doc[1024], two[2048], why[256], store[AGENT_WL_KEY_MAX];
	struct wl_model *m = NULL;

	workload_doc(doc, sizeof(doc), 1, WL_DEPLOY);
	/* A placement request lives under its topic (no requests, no selector: c0m0.any). */
	CU_ASSERT_EQUAL(agent_workload_check(WEB_KEY, doc, strlen(doc), NULL, NULL, why,
					     sizeof(why)),
			0);
	/* apply may name it NAMESPACE.KIND.NAME and learns the bucket key */
	CU_ASSERT_EQUAL(agent_workload_check("shop.deployment.web", doc, strlen(doc), NULL, store,
					     why, sizeof(why)),
			0);
	CU_ASSERT_STRING_EQUAL(store, WEB_KEY);
	/* on the bus, under any other key (another topic too), it is rejected */
	CU_ASSERT_EQUAL(agent_workload_check("shop.deployment.web", doc, strlen(doc), NULL, NULL,
					     why, sizeof(why)),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, WEB_KEY));
	CU_ASSERT_EQUAL(agent_workload_check("_p.c1m0.any.shop.deployment.web", doc, strlen(doc),
					     NULL, NULL, why, sizeof(why)),
			-EINVAL);
	/* The key must name the object; one object per value; schema 1. */
	CU_ASSERT_EQUAL(agent_workload_check("shop.deployment.api", doc, strlen(doc), NULL, store,
					     why, sizeof(why)),
			-EINVAL);
	workload_doc(two, sizeof(two), 1, WL_DEPLOY "---\\n" WL_DEPLOY);
	CU_ASSERT_EQUAL(agent_workload_check(WEB_KEY, two, strlen(two), NULL, NULL, why,
					     sizeof(why)),
			-EINVAL);
	workload_doc(two, sizeof(two), 2, WL_DEPLOY);
	CU_ASSERT_EQUAL(agent_workload_check(WEB_KEY, two, strlen(two), NULL, NULL, why,
					     sizeof(why)),
			-EINVAL);

	/* Events: newer revisions win, rejects are counted and change nothing. */
	feed(&a, BUS_BUCKET_WORKLOADS, WEB_KEY, 3, doc);
	CU_ASSERT_EQUAL(a.workloads.n, 1);
	CU_ASSERT_TRUE(a.sched.is_dirty);
	feed(&a, BUS_BUCKET_WORKLOADS, "_p.c0m0.any.shop.deployment.api", 4, doc);
	CU_ASSERT_EQUAL(a.workloads.n, 1);
	CU_ASSERT_EQUAL(a.n_rejected, 1);
	CU_ASSERT_EQUAL_FATAL(agent_workloads_model(&a, &m), 0);
	CU_ASSERT_EQUAL(m->n_objs, 1);
	CU_ASSERT_EQUAL(m->objs[0].replicas, 2);
	CU_ASSERT_STRING_EQUAL(m->objs[0].pod.identity,
			       "spiffe://cluster.local/ns/shop/sa/default");
	wl_model_free(m);

	/* Claims: the holder of the newest revision; older events are ignored. */
	feed(&a, BUS_BUCKET_CLAIMS, "sts.shop.db.0", 7, "{\"schema\":1,\"node\":\"n3\"}");
	feed(&a, BUS_BUCKET_CLAIMS, "sts.shop.db.0", 6, "{\"schema\":1,\"node\":\"n2\"}");
	CU_ASSERT_EQUAL_FATAL(a.sched.n_claims, 1);
	CU_ASSERT_STRING_EQUAL(a.sched.claims[0].holder, "n3");
	CU_ASSERT_EQUAL(a.sched.claims[0].rev, 7);
	feed(&a, BUS_BUCKET_CLAIMS, "sts.shop.db.0", 8, "{\"schema\":1,\"node\":\"\"}");
	CU_ASSERT_STRING_EQUAL(a.sched.claims[0].holder, "");
	feed(&a, BUS_BUCKET_CLAIMS, "db.0", 9, "{\"schema\":1,\"node\":\"n1\"}");
	CU_ASSERT_EQUAL(a.sched.n_claims, 1);
	agent_items_clear(&a.workloads);
	agent_sched_close(&a);
	release(&a);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"policy_ordered_by_revision", test_agent_policy_ordered_by_revision},
		{"policy_rejects_whole_revision", test_agent_policy_rejects_whole_revision},
		{"endpoint_events", test_agent_endpoint_events},
		{"revocations", test_agent_revocations},
		{"membership", test_agent_membership},
		{"bus_keys", test_agent_bus_keys},
		{"items_index", test_agent_items_index},
		{"workload_events", test_agent_workload_events},
		{NULL, NULL},
	};

	return bm_test_add_suite("agent", NULL, NULL, cases);
}
