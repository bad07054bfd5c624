// SPDX-License-Identifier: GPL-2.0-only
/* Manifests into the policy model: kinds, Kubernetes semantics, validation, atomicity.
 * ctest-labels: unit dataplane
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <abi/types.h>

#include "bm_test.h"
#include "ident_id.h"
#include "manifest.h"

static struct pm_model *m;
static struct manifest_diag diag;

static int setup(void)
{
	m = pm_model_new();
	manifest_diag_init(&diag);
	return m ? 0 : 1;
}

static int teardown(void)
{
	pm_model_free(m);
	manifest_diag_release(&diag);
	m = NULL;
	return 0;
}

/* A fresh model and diag for each test case that wants one. */
static void reset(void)
{
	teardown();
	setup();
}

static int load(const char *name, const char *text)
{
	manifest_diag_release(&diag);
	return manifest_load_buffer(m, name, text, strlen(text), "node-a", &diag);
}

/* Is there a message whose text contains needle? */
static bool has_msg(enum manifest_severity sev, const char *needle)
{
	size_t i;

	for (i = 0; i < diag.n; i++) {
		if (diag.msgs[i].severity == sev && strstr(diag.msgs[i].text, needle))
			return true;
	}
	manifest_diag_print(&diag, stderr);
	fprintf(stderr, "no message containing: %s\n", needle);
	return false;
}

static const char *data_path(const char *file)
{
	static char path[4096];
	const char *src = getenv("BM_SOURCE_DIR");

	snprintf(path, sizeof(path), "%s/tests/unit/data/manifests/%s", src ? src : ".", file);
	return path;
}

static const struct pm_policy *policy(const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_policies; i++) {
		if (!strcmp(m->policies[i].ns, ns) && !strcmp(m->policies[i].name, name))
			return &m->policies[i];
	}
	return NULL;
}

static const struct pm_endpoint *endpoint(const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_endpoints; i++) {
		if (!strcmp(m->endpoints[i].ns, ns) && !strcmp(m->endpoints[i].name, name))
			return &m->endpoints[i];
	}
	return NULL;
}

#define NP_HEAD                                                              \
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n" \
	"  name: p\n  namespace: ns1\n"
#define EP_HEAD_E "apiVersion: bpfmesh.io/v1\nkind: Endpoint\nmetadata:\n  name: e\n"
#define EP_HEAD "apiVersion: bpfmesh.io/v1\nkind: Endpoint\nmetadata:\n  name: %s\n"

static void test_manifest_valid_file(void)
{
	const char *paths[] = {data_path("valid.yaml")};
	const struct pm_endpoint *fe, *db, *batch;
	const struct pm_namespace *shop, *def;
	const struct pm_policy *p;
	uint32_t id;
	char buf[64];

	reset();
	CU_ASSERT_EQUAL_FATAL(manifest_load_files(m, paths, 1, "node-a", &diag), 0);
	CU_ASSERT_EQUAL(diag.n_errors, 0);
	CU_ASSERT_EQUAL(m->n_endpoints, 3);
	CU_ASSERT_EQUAL(m->n_policies, 3);
	fe = endpoint("shop", "frontend");
	db = endpoint("shop", "db");
	batch = endpoint("default", "batch");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_PTR_NOT_NULL_FATAL(batch);
	CU_ASSERT_EQUAL_FATAL(ident_numeric_id("spiffe://example.org/ns/shop/sa/frontend", &id), 0);
	CU_ASSERT_EQUAL(fe->sec_id, id);
	CU_ASSERT_STRING_EQUAL(fe->identity_uri, "spiffe://example.org/ns/shop/sa/frontend");
	CU_ASSERT_EQUAL_FATAL(fe->n_addrs, 2);
	CU_ASSERT_EQUAL(fe->addrs[1].family, BM_FAMILY_IPV6);
	CU_ASSERT_STRING_EQUAL(pm_labels_get(&fe->labels, "tier"), "web");
	CU_ASSERT_EQUAL_FATAL(fe->n_ports, 1);
	CU_ASSERT_STRING_EQUAL(fe->ports[0].name, "http");
	CU_ASSERT_EQUAL(fe->ports[0].port, 8080);
	CU_ASSERT_EQUAL(fe->ports[0].proto, BM_PROTO_TCP);
	CU_ASSERT_TRUE(fe->is_local);
	CU_ASSERT_PTR_NULL(fe->node_name);
	CU_ASSERT_FALSE(db->is_local);
	CU_ASSERT_STRING_EQUAL(db->node_name, "node-b");
	CU_ASSERT_STRING_EQUAL(pm_addr_format(&db->addrs[0], buf, sizeof(buf)), "198.18.1.0/30");
	CU_ASSERT_TRUE(batch->is_local);
	CU_ASSERT_EQUAL(fe->pos.line, 9);
	CU_ASSERT_STRING_EQUAL(fe->pos.file, paths[0]);

	shop = pm_model_namespace(m, "shop");
	def = pm_model_namespace(m, "default");
	CU_ASSERT_PTR_NOT_NULL_FATAL(shop);
	CU_ASSERT_PTR_NOT_NULL_FATAL(def);
	CU_ASSERT_TRUE(shop->is_declared);
	CU_ASSERT_FALSE(def->is_declared);
	CU_ASSERT_STRING_EQUAL(pm_labels_get(&shop->labels, "kubernetes.io/metadata.name"), "shop");
	CU_ASSERT_STRING_EQUAL(pm_labels_get(&shop->labels, "team"), "web");
	CU_ASSERT_STRING_EQUAL(pm_labels_get(&def->labels, "kubernetes.io/metadata.name"),
			       "default");

	/* sorted by (namespace, name): db-auth, db-ingress, default-deny */
	CU_ASSERT_STRING_EQUAL(m->policies[0].name, "db-auth");
	CU_ASSERT_STRING_EQUAL(m->policies[1].name, "db-ingress");
	CU_ASSERT_STRING_EQUAL(m->policies[2].name, "default-deny");
	p = policy("shop", "db-ingress");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->kind, PM_KIND_NETWORK_POLICY);
	CU_ASSERT_TRUE(p->has_ingress);
	CU_ASSERT_FALSE(p->has_egress);
	CU_ASSERT_EQUAL_FATAL(p->n_ingress, 2);
	CU_ASSERT_EQUAL_FATAL(p->ingress[0].n_peers, 3);
	CU_ASSERT_EQUAL(p->ingress[0].peers[0].kind, PM_PEER_SELECTORS);
	CU_ASSERT_TRUE(p->ingress[0].peers[0].pod_selector.is_present);
	CU_ASSERT_FALSE(p->ingress[0].peers[0].ns_selector.is_present);
	CU_ASSERT_EQUAL(p->ingress[0].peers[0].pod_selector.match_labels.n, 2);
	CU_ASSERT_EQUAL(p->ingress[0].peers[1].pod_selector.match_labels.n, 2);
	CU_ASSERT_TRUE(p->ingress[0].peers[2].ns_selector.is_present);
	CU_ASSERT_EQUAL_FATAL(p->ingress[0].peers[2].ns_selector.n_exprs, 1);
	CU_ASSERT_EQUAL(p->ingress[0].peers[2].ns_selector.exprs[0].op, PM_OP_IN);
	CU_ASSERT_EQUAL(p->ingress[0].peers[2].ns_selector.exprs[0].n_values, 2);
	CU_ASSERT_EQUAL_FATAL(p->ingress[0].n_ports, 2);
	CU_ASSERT_STRING_EQUAL(p->ingress[0].ports[0].port_name, "pg");
	CU_ASSERT_TRUE(p->ingress[0].ports[0].has_port);
	CU_ASSERT_EQUAL(p->ingress[0].ports[1].port, 9000);
	CU_ASSERT_EQUAL(p->ingress[0].ports[1].end_port, 9100);
	CU_ASSERT_EQUAL(p->ingress[1].peers[0].kind, PM_PEER_IP_BLOCK);
	CU_ASSERT_STRING_EQUAL(
		pm_addr_format(&p->ingress[1].peers[0].ip_block.cidr, buf, sizeof(buf)),
		"10.0.0.0/8");
	CU_ASSERT_EQUAL(p->ingress[1].peers[0].ip_block.n_except, 1);

	p = policy("shop", "db-auth");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->kind, PM_KIND_MESH_POLICY);
	CU_ASSERT_TRUE(p->auth_required);
	CU_ASSERT_TRUE(p->has_ingress && p->has_egress);
	CU_ASSERT_EQUAL_FATAL(p->n_ingress, 1);
	CU_ASSERT_EQUAL(p->ingress[0].n_peers, 0);
	CU_ASSERT_EQUAL(p->ingress[0].n_ports, 0);
	CU_ASSERT_EQUAL(p->egress[0].ports[0].proto, BM_PROTO_UDP);
	CU_ASSERT_FALSE(p->egress[0].peers[0].pod_selector.is_present);

	p = policy("shop", "default-deny");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_TRUE(p->has_ingress);
	CU_ASSERT_EQUAL(p->n_ingress, 0);
	CU_ASSERT_TRUE(p->pod_selector.is_present);
}

static void test_manifest_rule_ids(void)
{
	const struct pm_policy *p;
	size_t i;

	test_manifest_valid_file();
	/* db-auth: ingress 1, egress 2; db-ingress: ingress 3, 4; default-deny: none */
	CU_ASSERT_EQUAL_FATAL(m->n_rules, 5);
	p = &m->policies[0];
	CU_ASSERT_EQUAL(p->ingress[0].rule_id, 1);
	CU_ASSERT_EQUAL(p->egress[0].rule_id, 2);
	CU_ASSERT_EQUAL(m->policies[1].ingress[1].rule_id, 4);
	CU_ASSERT_EQUAL(m->rules[2].policy_index, 0);
	CU_ASSERT_EQUAL(m->rules[2].direction, BM_DIR_EGRESS);
	CU_ASSERT_EQUAL(m->rules[4].policy_index, 1);
	CU_ASSERT_EQUAL(m->rules[4].direction, BM_DIR_INGRESS);
	CU_ASSERT_EQUAL(m->rules[4].rule_index, 1);
	for (i = 1; i < m->n_rules; i++) {
		p = &m->policies[m->rules[i].policy_index];
		CU_ASSERT_EQUAL((m->rules[i].direction == BM_DIR_INGRESS
					 ? p->ingress
					 : p->egress)[m->rules[i].rule_index]
					.rule_id,
				i);
	}
	/* a later load renumbers over the whole model */
	CU_ASSERT_EQUAL_FATAL(load("a.yaml", NP_HEAD "spec:\n  ingress: [{}]\n"), 0);
	CU_ASSERT_EQUAL(m->n_rules, 6);
	CU_ASSERT_STRING_EQUAL(m->policies[0].ns, "ns1");
	CU_ASSERT_EQUAL(m->policies[0].ingress[0].rule_id, 1);
	CU_ASSERT_EQUAL(m->policies[1].ingress[0].rule_id, 2);
}

static void test_manifest_policy_types_defaulting(void)
{
	const struct pm_policy *p;

	reset();
	CU_ASSERT_EQUAL_FATAL(load("a.yaml", NP_HEAD "spec:\n  egress: [{}]\n"), 0);
	p = &m->policies[0];
	CU_ASSERT_TRUE(p->has_ingress && p->has_egress);
	CU_ASSERT_TRUE(p->pod_selector.is_present);
	reset();
	/* as in Kubernetes: an empty egress list does not imply Egress */
	CU_ASSERT_EQUAL_FATAL(load("a.yaml", NP_HEAD "spec:\n  egress: []\n"), 0);
	CU_ASSERT_TRUE(m->policies[0].has_ingress);
	CU_ASSERT_FALSE(m->policies[0].has_egress);
	reset();
	CU_ASSERT_EQUAL_FATAL(load("a.yaml", NP_HEAD "spec:\n  policyTypes: [Egress]\n"), 0);
	CU_ASSERT_FALSE(m->policies[0].has_ingress);
	CU_ASSERT_TRUE(m->policies[0].has_egress);
	CU_ASSERT_EQUAL(m->policies[0].n_egress, 0);
	reset();
	CU_ASSERT_EQUAL(load("a.yaml", NP_HEAD "spec:\n  policyTypes: [Ingress, Sideways]\n"),
			-EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "a.yaml:7:26: spec.policyTypes[1]: unsupported "
					       "policy type \"Sideways\""));
}

static void test_manifest_peers_absent_vs_empty(void)
{
	const struct pm_rule *r;

	reset();
	CU_ASSERT_EQUAL_FATAL(load("a.yaml", NP_HEAD "spec:\n  ingress:\n  - from: []\n"
						     "  - from:\n    - namespaceSelector: {}\n"
						     "  - from:\n    - podSelector: {}\n"),
			      0);
	r = m->policies[0].ingress;
	CU_ASSERT_EQUAL_FATAL(m->policies[0].n_ingress, 3);
	CU_ASSERT_EQUAL(r[0].n_peers, 0);
	CU_ASSERT_TRUE(r[1].peers[0].ns_selector.is_present);
	CU_ASSERT_FALSE(r[1].peers[0].pod_selector.is_present);
	CU_ASSERT_TRUE(r[2].peers[0].pod_selector.is_present);
	CU_ASSERT_FALSE(r[2].peers[0].ns_selector.is_present);
	CU_ASSERT_EQUAL(r[2].pos.line, 11);
	CU_ASSERT_EQUAL(r[2].pos.column, 5);
}

static void test_manifest_endport_error(void)
{
	const char *paths[] = {data_path("bad_endport.yaml")};
	const struct manifest_msg *msg;
	char want[4200];

	reset();
	CU_ASSERT_EQUAL(manifest_load_files(m, paths, 1, NULL, &diag), -EINVAL);
	msg = manifest_diag_first_error(&diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	snprintf(want, sizeof(want),
		 "%s:12:16: spec.ingress[0].ports[1].endPort: must be >= port "
		 "(80)",
		 paths[0]);
	CU_ASSERT_STRING_EQUAL(msg->text, want);
	CU_ASSERT_STRING_EQUAL(msg->path, "spec.ingress[0].ports[1].endPort");
	CU_ASSERT_EQUAL(msg->line, 12);
	CU_ASSERT_EQUAL(msg->column, 16);
	CU_ASSERT_EQUAL(m->n_policies, 0);
}

static void test_manifest_atomic(void)
{
	const char *paths[] = {data_path("valid.yaml"), data_path("bad_endport.yaml")};
	const char *missing[] = {data_path("valid.yaml"), "/nonexistent/x.yaml"};
	struct pm_endpoint *eps;

	reset();
	CU_ASSERT_EQUAL(manifest_load_files(m, paths, 2, NULL, &diag), -EINVAL);
	CU_ASSERT_EQUAL(m->n_endpoints, 0);
	CU_ASSERT_EQUAL(m->n_policies, 0);
	CU_ASSERT_EQUAL(m->n_namespaces, 0);
	CU_ASSERT_EQUAL(m->n_files, 0);
	manifest_diag_release(&diag);
	CU_ASSERT_EQUAL(manifest_load_files(m, missing, 2, NULL, &diag), -ENOENT);
	CU_ASSERT_EQUAL(m->n_endpoints, 0);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "/nonexistent/x.yaml: open: No such file"));
	manifest_diag_release(&diag);
	CU_ASSERT_EQUAL_FATAL(manifest_load_files(m, paths, 1, NULL, &diag), 0);
	eps = m->endpoints;
	/* a failing second load leaves the first one alone */
	CU_ASSERT_EQUAL(load("b.yaml", NP_HEAD "spec:\n  ingress: [{ports: [{port: 0}]}]\n"),
			-EINVAL);
	CU_ASSERT_EQUAL(m->n_endpoints, 3);
	CU_ASSERT_EQUAL(m->n_policies, 3);
	CU_ASSERT_EQUAL(m->n_rules, 5);
	CU_ASSERT_EQUAL(m->n_namespaces, 2);
	CU_ASSERT_PTR_EQUAL(m->endpoints, eps);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR,
			       "b.yaml:7:29: spec.ingress[0].ports[0].port: must be "
			       "between 1 and 65535"));
}

static void test_manifest_duplicates(void)
{
	char text[512];

	reset();
	CU_ASSERT_EQUAL_FATAL(load("a.yaml", NP_HEAD "spec: {}\n"), 0);
	CU_ASSERT_EQUAL(load("b.yaml", NP_HEAD "spec: {}\n"), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "b.yaml:1:1: duplicate NetworkPolicy ns1/p (first "
					       "defined at a.yaml:1:1)"));
	CU_ASSERT_EQUAL(m->n_policies, 1);
	/* another kind with the same name is fine */
	CU_ASSERT_EQUAL(load("c.yaml", "apiVersion: bpfmesh.io/v1\nkind: MeshPolicy\nmetadata:\n"
				       "  name: p\n  namespace: ns1\n"),
			0);
	CU_ASSERT_EQUAL(m->n_policies, 2);
	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n"
		 "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
	CU_ASSERT_EQUAL(load("d.yaml", text), -EINVAL);
	CU_ASSERT_TRUE(
		has_msg(MANIFEST_ERROR, "duplicate Namespace x (first defined at d.yaml:1:1)"));
}

static void test_manifest_overlap(void)
{
	reset();
	CU_ASSERT_EQUAL_FATAL(load("a.yaml",
				   "apiVersion: bpfmesh.io/v1\nkind: Endpoint\nmetadata:\n"
				   "  name: a\nspec:\n  identity: spiffe://td/ns/default/sa/a\n"
				   "  addresses: [10.0.0.0/24]\n"),
			      0);
	CU_ASSERT_EQUAL(load("b.yaml", "apiVersion: bpfmesh.io/v1\nkind: Endpoint\nmetadata:\n"
				       "  name: b\nspec:\n  identity: spiffe://td/ns/default/sa/b\n"
				       "  addresses: [10.0.1.1, 10.0.0.7]\n"),
			-EINVAL);
	CU_ASSERT_TRUE(
		has_msg(MANIFEST_ERROR,
			"b.yaml:1:1: address 10.0.0.7 of endpoint default/b "
			"overlaps 10.0.0.0/24 of endpoint default/a (defined at a.yaml:1:1)"));
	CU_ASSERT_EQUAL(load("c.yaml", "apiVersion: bpfmesh.io/v1\nkind: Endpoint\nmetadata:\n"
				       "  name: c\nspec:\n  identity: spiffe://td/ns/default/sa/c\n"
				       "  addresses: [10.9.0.1, 10.9.0.0/16]\n"),
			-EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "addresses 10.9.0.1 and 10.9.0.0/16 of endpoint "
					       "default/c overlap"));
	CU_ASSERT_EQUAL(m->n_endpoints, 1);
}

struct id_pair {
	uint32_t id;
	uint32_t n;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct id_pair *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Search SPIFFE IDs .../sa/wN for two with the same numeric identity (birthday bound). */
static bool find_collision(uint32_t *a, uint32_t *b)
{
	enum { N = 400000 };
	struct id_pair *ids = calloc(N, sizeof(*ids));
	char uri[64];
	bool found = false;
	uint32_t i;

	for (i = 0; ids && i < N; i++) {
		snprintf(uri, sizeof(uri), "spiffe://td/ns/default/sa/w%u", i);
		ids[i].n = i;
		if (ident_numeric_id(uri, &ids[i].id))
			break;
	}
	if (ids && i == N)
		qsort(ids, N, sizeof(*ids), cmp_pair);
	for (i = 1; ids && i < N && !found; i++) {
		found = ids[i].id == ids[i - 1].id;
		*a = ids[i - 1].n;
		*b = ids[i].n;
	}
	free(ids);
	return found;
}

static void test_manifest_identity_collision(void)
{
	char text[1024];
	uint32_t a, b;

	reset();
	if (!find_collision(&a, &b)) {
		CU_PASS("no colliding pair among the candidates");
		return;
	}
	snprintf(text, sizeof(text),
		 EP_HEAD
		 "spec:\n  identity: spiffe://td/ns/default/sa/w%u\n  addresses: [10.0.0.1]\n"
		 "---\n" EP_HEAD "spec:\n  identity: spiffe://td/ns/default/sa/w%u\n"
		 "  addresses: [10.0.0.2]\n---\n" EP_HEAD
		 "spec:\n  identity: spiffe://td/ns/default/sa/w%u\n  addresses: [10.0.0.3]\n",
		 "a", a, "b", b, "c", a);
	CU_ASSERT_EQUAL(load("id.yaml", text), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "has the same numeric identity"));
	CU_ASSERT_EQUAL(diag.n_errors, 1);
}

static void test_manifest_malformed_yaml(void)
{
	const char *paths[] = {data_path("malformed.yaml")};
	const struct manifest_msg *msg;

	reset();
	CU_ASSERT_EQUAL(manifest_load_files(m, paths, 1, NULL, &diag), -EINVAL);
	msg = manifest_diag_first_error(&diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_TRUE(msg->line >= 4);
	CU_ASSERT_TRUE(msg->column > 0);
	CU_ASSERT_STRING_EQUAL(msg->file, paths[0]);
	CU_ASSERT_EQUAL(load("x.yaml", "a: [1,\nb: 2\n"), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "x.yaml:2:1: "));
	CU_ASSERT_EQUAL(load("x.yaml", "- 1\n- 2\n"), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "x.yaml:1:1: a manifest must be a mapping"));
	CU_ASSERT_EQUAL(load("x.yaml", "kind: NetworkPolicy\n"), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "apiVersion: required field is missing"));
	CU_ASSERT_EQUAL(m->n_policies + m->n_namespaces, 0);
}

static void test_manifest_warnings(void)
{
	const char *paths[] = {data_path("mixed.json")};

	reset();
	CU_ASSERT_EQUAL_FATAL(manifest_load_files(m, paths, 1, NULL, &diag), 0);
	CU_ASSERT_EQUAL(m->n_policies, 1);
	CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING, "mixed.json:5:39: warning: items[0].kind: "
						 "unsupported kind Deployment"));
	CU_ASSERT_TRUE(m->policies[0].has_egress);
	CU_ASSERT_EQUAL(m->policies[0].n_egress, 1);
	CU_ASSERT_PTR_NOT_NULL(pm_model_namespace(m, "web"));
	reset();
	CU_ASSERT_EQUAL_FATAL(load("w.yaml",
				   NP_HEAD "  lables: {a: b}\nspec:\n  ingress:\n"
					   "  - ports:\n    - port: \"80\"\n      endPort: \"90\"\n"
					   "      protocl: UDP\n"),
			      0);
	CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING, "w.yaml:6:3: warning: metadata.lables: unknown "
						 "field"));
	CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING,
			       "w.yaml:10:13: warning: "
			       "spec.ingress[0].ports[0].port: quoted number \"80\""));
	CU_ASSERT_TRUE(
		has_msg(MANIFEST_WARNING, "spec.ingress[0].ports[0].protocl: unknown field"));
	CU_ASSERT_EQUAL(diag.n_warnings, 4);
	CU_ASSERT_EQUAL(m->policies[0].ingress[0].ports[0].port, 80);
	CU_ASSERT_EQUAL(m->policies[0].ingress[0].ports[0].end_port, 90);
	CU_ASSERT_PTR_NULL(m->policies[0].ingress[0].ports[0].port_name);
}

struct bad_case {
	const char *text; /* appended to NP_HEAD "spec:\n" */
	const char *want; /* a substring of some error */
};

static void test_manifest_policy_errors(void)
{
	static const struct bad_case cases[] = {
		{"  ingress: {}\n", "a.yaml:7:12: spec.ingress: must be a list, not a mapping"},
		{"  podSelector: {matchLabels: {\"-bad\": x}}\n",
		 "spec.podSelector.matchLabels[-bad]: invalid label key \"-bad\""},
		{"  podSelector: {matchLabels: {a: \"b c\"}}\n", "invalid label value \"b c\""},
		{"  podSelector: {matchLabels: {a: 5}}\n",
		 "spec.podSelector.matchLabels[a]: must be a string, not an integer (quote it)"},
		{"  podSelector: {matchLabels: {Example.com/a: x}}\n", "prefix part"},
		{"  podSelector:\n    matchExpressions: [{key: a, operator: In}]\n",
		 "matchExpressions[0].values: must be specified when operator is In or NotIn"},
		{"  podSelector:\n    matchExpressions: [{key: a, operator: Exists, values: "
		 "[x]}]\n",
		 "may not be specified when operator is Exists or DoesNotExist"},
		{"  podSelector:\n    matchExpressions: [{key: a, operator: Has}]\n",
		 "matchExpressions[0].operator: unsupported operator \"Has\""},
		{"  podSelector:\n    matchExpressions: [{operator: Exists}]\n",
		 "matchExpressions[0].key: required field is missing"},
		{"  ingress: [{from: [{}]}]\n", "spec.ingress[0].from[0]: must specify a peer"},
		{"  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]\n",
		 "may not specify both ipBlock and another peer"},
		{"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/33}}]}]\n",
		 "spec.egress[0].to[0].ipBlock.cidr: invalid CIDR \"10.0.0.0/33\""},
		{"  egress: [{to: [{ipBlock: {cidr: 10.0.0.1}}]}]\n", "invalid CIDR \"10.0.0.1\""},
		{"  egress: [{to: [{ipBlock: {except: [10.0.0.0/9]}}]}]\n",
		 "ipBlock.cidr: required field is missing"},
		{"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]\n",
		 "ipBlock.except[0]: must be a strict subset of cidr 10.0.0.0/8"},
		{"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]\n",
		 "must be a strict subset"},
		{"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [\"fd00::/64\"]}}]}]\n",
		 "must be a strict subset"},
		{"  ingress: [{ports: [{port: 70000}]}]\n", "must be between 1 and 65535"},
		{"  ingress: [{ports: [{port: 80, protocol: tcp}]}]\n",
		 "ports[0].protocol: unsupported protocol \"tcp\""},
		{"  ingress: [{ports: [{port: http--x}]}]\n", "invalid port name \"http--x\""},
		{"  ingress: [{ports: [{port: Http}]}]\n", "invalid port name"},
		{"  ingress: [{ports: [{port: http, endPort: 90}]}]\n",
		 "endPort: may not be used with a named port"},
		{"  ingress: [{ports: [{endPort: 90}]}]\n", "endPort: requires port to be set"},
		{"  ingress: [{ports: [{port: 80, endPort: 65536}]}]\n",
		 "endPort: must be between 1 and 65535"},
		{"  ingress: [{ports: [{port: true}]}]\n",
		 "port: must be an integer, not a boolean"},
		{"  policyTypes: [Ingress, Egress, Ingress]\n", "more than two policyTypes"},
		{"  authentication: required\n", NULL}, /* only MeshPolicy has it: a warning */
		{NULL, NULL},
	};
	char text[1024];
	const struct bad_case *bc;

	for (bc = cases; bc->text; bc++) {
		reset();
		snprintf(text, sizeof(text), NP_HEAD "spec:\n%s", bc->text);
		if (!bc->want) {
			CU_ASSERT_EQUAL(load("a.yaml", text), 0);
			CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING, "unknown field"));
			continue;
		}
		CU_ASSERT_EQUAL(load("a.yaml", text), -EINVAL);
		CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, bc->want));
		CU_ASSERT_EQUAL(m->n_policies, 0);
	}
}

static void test_manifest_meta_errors(void)
{
	reset();
	CU_ASSERT_EQUAL(load("a.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
				       "metadata: {name: Bad_Name}\n"),
			-EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "a.yaml:3:18: metadata.name: invalid name "
					       "\"Bad_Name\""));
	CU_ASSERT_EQUAL(load("a.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
				       "metadata: {namespace: x}\n"),
			-EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "metadata.name: required field is missing"));
	CU_ASSERT_EQUAL(load("a.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"),
			-EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "metadata: required field is missing"));
	CU_ASSERT_EQUAL(load("a.yaml", "apiVersion: networking.k8s.io/v1beta1\n"
				       "kind: NetworkPolicy\nmetadata: {name: a}\n"),
			-EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "apiVersion: unsupported apiVersion "
					       "networking.k8s.io/v1beta1 for kind NetworkPolicy"));
	CU_ASSERT_EQUAL(load("a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n"),
			-EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "RFC 1123 label"));
	CU_ASSERT_EQUAL(load("a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: [a]\n"),
			-EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "metadata: must be a mapping, not a list"));
	CU_ASSERT_EQUAL(load("a.yaml", NP_HEAD "spec: 5\n"), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "a.yaml:6:7: spec: must be a mapping"));
	CU_ASSERT_EQUAL(m->n_policies + m->n_namespaces, 0);
}

static void test_manifest_endpoint_errors(void)
{
	static const struct bad_case cases[] = {
		{"spec:\n  addresses: [10.0.0.1]\n", "spec.identity: required field is missing"},
		{"spec:\n  identity: http://x/y\n  addresses: [10.0.0.1]\n",
		 "a.yaml:6:13: spec.identity: invalid SPIFFE ID \"http://x/y\""},
		{"spec:\n  identity: spiffe://td/ns/default/sa/e\n",
		 "spec.addresses: required field is missing"},
		{"spec:\n  identity: spiffe://td/ns/default/sa/e\n  addresses: []\n",
		 "spec.addresses: must list at least one address"},
		{"spec:\n  identity: spiffe://td/ns/default/sa/e\n  addresses: [10.0.0.300]\n",
		 "spec.addresses[0]: invalid address or CIDR \"10.0.0.300\""},
		{"spec:\n  identity: spiffe://td/ns/default/sa/e\n  addresses: [10.0.0.1]\n"
		 "  ports: [{name: a, port: 1}, {name: a, port: 2}]\n",
		 "spec.ports[1].name: duplicate port name \"a\""},
		{"spec:\n  identity: spiffe://td/ns/default/sa/e\n  addresses: [10.0.0.1]\n"
		 "  ports: [{name: web}]\n",
		 "spec.ports[0].port: required field is missing"},
		{"spec:\n  identity: spiffe://td/ns/default/sa/e\n  addresses: [10.0.0.1]\n"
		 "  ports: [{port: 80, protocol: ICMP}]\n",
		 "unsupported protocol \"ICMP\""},
		{"spec:\n  identity: spiffe://td/ns/default/sa/e\n  addresses: [10.0.0.1]\n"
		 "  nodeName: Node_1\n",
		 "spec.nodeName: invalid node name"},
		{"", "spec: required field is missing"},
		{NULL, NULL},
	};
	char text[1024];
	const struct bad_case *bc;

	for (bc = cases; bc->text; bc++) {
		reset();
		snprintf(text, sizeof(text), EP_HEAD "%s", "e", bc->text);
		CU_ASSERT_EQUAL(load("a.yaml", text), -EINVAL);
		CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, bc->want));
		CU_ASSERT_EQUAL(m->n_endpoints, 0);
	}
}

static void test_manifest_endpoint_details(void)
{
	const struct pm_endpoint *e;
	char text[1024];

	reset();
	snprintf(text, sizeof(text),
		 EP_HEAD "  namespace: ns1\nspec:\n"
			 "  identity: spiffe://td/ns/other/sa/e\n  addresses: [10.0.0.9/24]\n"
			 "  ports: [{port: 53, protocol: UDP}, {port: \"80\", name: web}]\n"
			 "  nodeName: node-a\n",
		 "e");
	CU_ASSERT_EQUAL_FATAL(load("a.yaml", text), 0);
	CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING, "names namespace \"other\""));
	CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING, "host bits of \"10.0.0.9/24\" are set; using "
						 "10.0.0.0/24"));
	CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING, "quoted number"));
	e = endpoint("ns1", "e");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_TRUE(e->is_local);
	CU_ASSERT_EQUAL_FATAL(e->n_ports, 2);
	CU_ASSERT_STRING_EQUAL(e->ports[0].name, "");
	CU_ASSERT_EQUAL(e->ports[0].proto, BM_PROTO_UDP);
	CU_ASSERT_EQUAL(e->ports[1].port, 80);
	CU_ASSERT_FALSE(pm_model_namespace(m, "ns1")->is_declared);
}

static void test_manifest_namespace_declared_later(void)
{
	const struct pm_namespace *ns;

	reset();
	CU_ASSERT_EQUAL_FATAL(load("a.yaml", NP_HEAD "spec: {}\n"), 0);
	ns = pm_model_namespace(m, "ns1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
	CU_ASSERT_FALSE(ns->is_declared);
	CU_ASSERT_EQUAL(ns->labels.n, 1);
	CU_ASSERT_EQUAL_FATAL(load("b.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n"
					     "  name: ns1\n  labels: {env: prod, "
					     "kubernetes.io/metadata.name: nope}\n"),
			      0);
	CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING, "is always the namespace name"));
	ns = pm_model_namespace(m, "ns1");
	CU_ASSERT_TRUE(ns->is_declared);
	CU_ASSERT_EQUAL(m->n_namespaces, 1);
	CU_ASSERT_EQUAL_FATAL(ns->labels.n, 2);
	/* sorted by key */
	CU_ASSERT_STRING_EQUAL(ns->labels.items[0].key, "env");
	CU_ASSERT_STRING_EQUAL(ns->labels.items[1].value, "ns1");
	CU_ASSERT_STRING_EQUAL(ns->pos.file, "b.yaml");
	/* the declared labels replaced the referenced ones: interned again, not stale */
	CU_ASSERT_TRUE(m->is_interned);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ns->label_ids);
	CU_ASSERT_EQUAL(ns->label_ids[0], pm_strtab_find(m->strs, "env"));
	CU_ASSERT_EQUAL(ns->label_ids[1], pm_strtab_find(m->strs, "prod"));
	CU_ASSERT_EQUAL(ns->label_ids[3], pm_strtab_find(m->strs, "ns1"));
	CU_ASSERT_EQUAL(ns->name_id, pm_strtab_find(m->strs, "ns1"));
	CU_ASSERT_EQUAL(m->policies[0].ns_id, ns->name_id);
	CU_ASSERT_NOT_EQUAL(ns->label_ids[0], 0);
}

static void test_manifest_list_and_anchors(void)
{
	static const char text[] =
		"apiVersion: v1\nkind: List\nitems:\n"
		"- &np\n  apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n"
		"  metadata: {name: one, namespace: x}\n"
		"  spec:\n    ingress:\n    - ports: &ports [{port: 80}, {port: 443}]\n"
		"- <<: *np\n  metadata: {name: two, namespace: x}\n"
		"  spec:\n    egress: [{ports: *ports}]\n"
		"- apiVersion: v1\n  kind: Namespace\n  metadata: {name: x}\n";
	const struct pm_policy *one, *two;

	reset();
	CU_ASSERT_EQUAL_FATAL(load("l.yaml", text), 0);
	CU_ASSERT_EQUAL(diag.n, 0);
	one = policy("x", "one");
	two = policy("x", "two");
	CU_ASSERT_PTR_NOT_NULL_FATAL(one);
	CU_ASSERT_PTR_NOT_NULL_FATAL(two);
	CU_ASSERT_EQUAL(one->n_ingress, 1);
	CU_ASSERT_EQUAL(two->n_ingress, 0);
	CU_ASSERT_EQUAL_FATAL(two->n_egress, 1);
	CU_ASSERT_EQUAL(two->egress[0].n_ports, 2);
	CU_ASSERT_EQUAL(two->egress[0].ports[1].port, 443);
	CU_ASSERT_TRUE(pm_model_namespace(m, "x")->is_declared);
	CU_ASSERT_EQUAL(load("l.yaml", "apiVersion: v1\nkind: List\nitems:\n- kind: Namespace\n"
				       "  apiVersion: v1\n  metadata: {name: Y}\n"),
			-EINVAL);
	CU_ASSERT_TRUE(
		has_msg(MANIFEST_ERROR, "l.yaml:6:20: items[0].metadata.name: invalid name"));
}

static void test_manifest_all_errors_reported(void)
{
	reset();
	CU_ASSERT_EQUAL(load("a.yaml", NP_HEAD
			     "spec:\n  ingress:\n  - ports: [{port: 0}, "
			     "{protocol: ICMP}]\n    from: [{ipBlock: {cidr: nope}}]\n"
			     "---\n" EP_HEAD_E "spec: {identity: x, addresses: [1.2.3.4, bad]}\n"),
			-EINVAL);
	CU_ASSERT_EQUAL(diag.n_errors, 5);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "a.yaml:8:20: spec.ingress[0].ports[0].port"));
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "spec.ingress[0].ports[1].protocol"));
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "spec.ingress[0].from[0].ipBlock.cidr"));
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "a.yaml:15:18: spec.identity: invalid SPIFFE ID"));
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "spec.addresses[1]: invalid address"));
}

static void test_manifest_diag_null_and_empty(void)
{
	reset();
	CU_ASSERT_EQUAL(manifest_load_buffer(m, "q.yaml", "kind: [", 7, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(manifest_load_buffer(m, "q.yaml", NULL, 0, NULL, NULL), 0);
	CU_ASSERT_EQUAL(manifest_load_buffer(m, "q.yaml", "---\n---\n", 8, NULL, NULL), 0);
	CU_ASSERT_EQUAL(manifest_load_files(m, NULL, 0, NULL, NULL), 0);
	CU_ASSERT_EQUAL(m->n_policies, 0);
	CU_ASSERT_EQUAL(m->n_rules, 1);
	manifest_diag_release(NULL);
}

/*
 * A JSON buffer loads through jansson (no positions) when there is nothing
 * to report; with something to report it is loaded again with positions,
 * so its messages still name line and column, and nothing is loaded twice.
 */
static void test_manifest_json_buffer(void)
{
	static const char ok[] =
		"{\"apiVersion\": \"bpfmesh.io/v1\", \"kind\": \"Endpoint\",\n"
		" \"metadata\": {\"name\": \"a\", \"namespace\": \"web\", \"labels\": {\"app\": "
		"\"a\"}},\n"
		" \"spec\": {\"identity\": \"spiffe://t.bpfmesh/ns/web/sa/a\", \"addresses\": "
		"[\"198.18.0.1\"]}}\n";
	static const char warn[] =
		"{\"apiVersion\": \"bpfmesh.io/v1\", \"kind\": \"Endpoint\",\n"
		" \"metadata\": {\"name\": \"b\", \"namespace\": \"web\", \"lables\": {}},\n"
		" \"spec\": {\"identity\": \"spiffe://t.bpfmesh/ns/web/sa/b\", \"addresses\": "
		"[\"198.18.0.2\"]}}\n";

	reset();
	CU_ASSERT_EQUAL_FATAL(load("a.json", ok), 0);
	CU_ASSERT_EQUAL(diag.n, 0);
	CU_ASSERT_EQUAL(m->n_endpoints, 1);
	CU_ASSERT_STRING_EQUAL(m->endpoints[0].name, "a");
	CU_ASSERT_EQUAL_FATAL(load("b.json", warn), 0);
	CU_ASSERT_TRUE(
		has_msg(MANIFEST_WARNING, "b.json:2:48: warning: metadata.lables: unknown field"));
	CU_ASSERT_EQUAL(diag.n_warnings, 1);
	CU_ASSERT_EQUAL(m->n_endpoints, 2);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"valid_file", test_manifest_valid_file},
		{"json_buffer", test_manifest_json_buffer},
		{"rule_ids", test_manifest_rule_ids},
		{"policy_types_defaulting", test_manifest_policy_types_defaulting},
		{"peers_absent_vs_empty", test_manifest_peers_absent_vs_empty},
		{"endport_error", test_manifest_endport_error},
		{"atomic", test_manifest_atomic},
		{"duplicates", test_manifest_duplicates},
		{"overlap", test_manifest_overlap},
		{"identity_collision", test_manifest_identity_collision},
		{"malformed_yaml", test_manifest_malformed_yaml},
		{"warnings", test_manifest_warnings},
		{"policy_errors", test_manifest_policy_errors},
		{"meta_errors", test_manifest_meta_errors},
		{"endpoint_errors", test_manifest_endpoint_errors},
		{"endpoint_details", test_manifest_endpoint_details},
		{"namespace_declared_later", test_manifest_namespace_declared_later},
		{"list_and_anchors", test_manifest_list_and_anchors},
		{"all_errors_reported", test_manifest_all_errors_reported},
		{"diag_null_and_empty", test_manifest_diag_null_and_empty},
		{NULL, NULL},
	};

	return bm_test_add_suite("manifest", setup, teardown, cases);
}
