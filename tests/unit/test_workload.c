// SPDX-License-Identifier: GPL-2.0-only
/* Kubernetes workload manifests into the workload model: kinds, fields, diagnostics.
 * ctest-labels: unit scheduler
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_test.h"
#include "sched_expand.h"
#include "workload_model.h"

static struct wl_model *m;
static struct manifest_diag diag;

static void reset(void)
{
	wl_model_free(m);
	manifest_diag_release(&diag);
	m = wl_model_new();
	manifest_diag_init(&diag);
}

static int setup(void)
{
	reset();
	return m ? 0 : 1;
}

static int teardown(void)
{
	wl_model_free(m);
	manifest_diag_release(&diag);
	m = NULL;
	return 0;
}

static int load(const char *name, const char *text, bool is_strict)
{
	struct wl_load_opts o = {.trust_domain = "example.org", .is_strict = is_strict};

	reset();
	return wl_load(m, name, text, strlen(text), &o, &diag);
}

static int load_file(const char *file, bool is_strict)
{
	struct wl_load_opts o = {.trust_domain = "example.org", .is_strict = is_strict};
	const char *src = getenv("BM_SOURCE_DIR");
	char path[4096];

	snprintf(path, sizeof(path), "%s/tests/unit/data/workloads/%s", src ? src : ".", file);
	reset();
	return wl_load(m, path, NULL, 0, &o, &diag);
}

/* Is there a message whose text contains every one of up to two fragments? */
static bool has_msg(enum manifest_severity sev, const char *a, const char *b)
{
	size_t i;

	for (i = 0; i < diag.n; i++) {
		if (diag.msgs[i].severity == sev && strstr(diag.msgs[i].text, a) &&
		    (!b || strstr(diag.msgs[i].text, b)))
			return true;
	}
	return false;
}

static void test_workload_shop(void)
{
	const struct wl_object *d, *s;
	const struct wl_container *c;

	CU_ASSERT_EQUAL_FATAL(load_file("shop.yaml", false), 0);
	CU_ASSERT_EQUAL(m->n_objs, 5); /* the NetworkPolicy belongs to manifest.c */
	d = wl_model_find(m, WL_DEPLOYMENT, "shop", "backend-v1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(d->replicas, 3);
	CU_ASSERT_STRING_EQUAL(d->pod.identity, "spiffe://example.org/ns/shop/sa/backend");
	CU_ASSERT_STRING_EQUAL(pm_labels_get(&d->pod.labels, "version"), "v1");
	CU_ASSERT_STRING_EQUAL(pm_labels_get(&d->pod.node_selector, "zone"), "a");
	CU_ASSERT_EQUAL(d->pod.n_terms, 1);
	CU_ASSERT_EQUAL(d->pod.terms[0].exprs[0].op, WL_NODE_IN);
	CU_ASSERT_EQUAL(d->pod.n_tolerations, 1);
	CU_ASSERT_EQUAL(d->pod.tolerations[0].effect, WL_EFFECT_NO_SCHEDULE);
	CU_ASSERT_EQUAL(d->max_surge.value, 1);
	CU_ASSERT_FALSE(d->max_surge.is_percent);
	CU_ASSERT_TRUE(d->max_unavailable.is_percent);
	c = &d->pod.containers[0];
	CU_ASSERT_EQUAL(c->requests.cpu_milli, 100);
	CU_ASSERT_EQUAL(c->requests.mem_bytes, 64u << 20);
	CU_ASSERT_EQUAL(c->limits.cpu_milli, 500);
	CU_ASSERT_EQUAL(c->n_command, 2);
	CU_ASSERT_EQUAL(c->n_env, 2);
	CU_ASSERT_STRING_EQUAL(c->env[1].cm_key, "LOG_LEVEL");
	CU_ASSERT_EQUAL(c->ports[0].port, 8080);
	s = wl_model_find(m, WL_STATEFULSET, "shop", "db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* limits without requests are the requests */
	CU_ASSERT_EQUAL(wl_pod_requests(&s->pod).mem_bytes, 1u << 30);
	CU_ASSERT_STRING_EQUAL(s->pod.identity, "spiffe://example.org/ns/shop/sa/default");
	CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING, "shop.yaml:63:11: warning:",
			       "containers[0].livenessProbe: unknown field"));
	CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING, ":24:13: warning: spec.replicas", "quoted"));
	CU_ASSERT_EQUAL(diag.n_errors, 0);
}

static void test_workload_strict(void)
{
	CU_ASSERT_EQUAL(load_file("shop.yaml", true), -EINVAL);
	CU_ASSERT_EQUAL(m->n_objs, 0); /* all or nothing */
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, ":63:11: spec.template", "livenessProbe"));
	CU_ASSERT_EQUAL(diag.n_warnings, 0);
}

static void test_workload_unsupported_kind(void)
{
	const char *y = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n---\n"
			"apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: p}}\n"
			"spec:\n  containers: [{name: c, command: [sleep, '1']}]\n";

	CU_ASSERT_EQUAL(load("k.yaml", y, false), 0);
	CU_ASSERT_TRUE(has_msg(MANIFEST_WARNING, "k.yaml:2:7: warning: kind", "Job"));
	CU_ASSERT_EQUAL(m->n_objs, 1);
	CU_ASSERT_STRING_EQUAL(pm_labels_get(&m->objs[0].pod.labels, "app"), "p");
	CU_ASSERT_EQUAL(load("k.yaml", y, true), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "k.yaml:2:7: kind", "unsupported kind Job"));
}

static void test_workload_errors(void)
{
	const char *y = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
			"  selector: {matchLabels: {app: other}}\n"
			"  template:\n    metadata: {labels: {app: d}}\n    spec:\n"
			"      containers:\n      - name: c\n"
			"        resources: {requests: {cpu: lots}}\n";

	CU_ASSERT_EQUAL(load("e.yaml", y, false), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR,
			       "e.yaml:11:37: spec.template.spec.containers[0]"
			       ".resources.requests.cpu",
			       "invalid quantity \"lots\""));
	CU_ASSERT_EQUAL(m->n_objs, 0);
}

static void test_workload_selector_mismatch(void)
{
	const char *y = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
			"  selector: {matchLabels: {app: other}}\n"
			"  template:\n    metadata: {labels: {app: d}}\n    spec:\n"
			"      containers: [{name: c}]\n";

	CU_ASSERT_EQUAL(load("s.yaml", y, false), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "s.yaml:5:13: spec.selector", "does not select"));
}

static void test_workload_json_and_duplicates(void)
{
	const char *j =
		"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},"
		"\"data\":{\"a\":\"1\"}},"
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}]}";

	CU_ASSERT_EQUAL(load("l.json", j, false), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "l.json:1:", "duplicate configmap default/c"));
}

static void test_workload_versions_coexist(void)
{
	const char *y = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web-v1}\nspec:\n"
			"  selector: {matchLabels: {app: web, version: v1}}\n"
			"  template:\n    metadata: {labels: {app: web, version: v1}}\n"
			"    spec: {containers: [{name: c}]}\n---\n"
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web-v2}\nspec:\n"
			"  selector: {matchLabels: {app: web, version: v2}}\n"
			"  template:\n    metadata: {labels: {app: web, version: v2}}\n"
			"    spec: {containers: [{name: c}]}\n";

	CU_ASSERT_EQUAL_FATAL(load("v.yaml", y, false), 0);
	CU_ASSERT_EQUAL_FATAL(m->n_objs, 2);
	CU_ASSERT_STRING_NOT_EQUAL(m->objs[0].pod.template_hash, m->objs[1].pod.template_hash);
	CU_ASSERT_EQUAL(m->objs[0].max_surge.value, 25);
}

/* bpfmesh.io/ annotations: object level, template level (wins), bad values. */
static void test_workload_annotations(void)
{
	const char *y =
		"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n"
		"  annotations: {bpfmesh.io/consistency: strong, bpfmesh.io/sidecar: \"false\","
		" other: \"any text at all\"}\nspec:\n"
		"  selector: {matchLabels: {app: d}}\n  template:\n    metadata:\n"
		"      labels: {app: d}\n      annotations: {bpfmesh.io/sidecar: \"true\","
		" bpfmesh.io/share-versions: \"true\"}\n"
		"    spec: {containers: [{name: c}]}\n---\n"
		"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec:\n"
		"  selector: {matchLabels: {app: s}}\n"
		"  template:\n    metadata: {labels: {app: s}}\n"
		"    spec: {containers: [{name: c}]}\n";
	const char *bad = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
			  "  annotations: {bpfmesh.io/consistency: linearizable, "
			  "bpfmesh.io/sidecar: \"no\"}\n"
			  "spec: {containers: [{name: c}]}\n";

	CU_ASSERT_EQUAL_FATAL(load("a.yaml", y, false), 0);
	CU_ASSERT_EQUAL_FATAL(m->n_objs, 2);
	CU_ASSERT_EQUAL(m->objs[0].pod.consistency, WL_CONSISTENCY_STRONG);
	CU_ASSERT_FALSE(m->objs[0].pod.is_sidecar_off); /* the template's "true" wins */
	CU_ASSERT_TRUE(m->objs[0].pod.is_shared_versions);
	CU_ASSERT_EQUAL(m->objs[1].pod.consistency, WL_CONSISTENCY_DEFAULT);
	CU_ASSERT_FALSE(m->objs[1].pod.is_sidecar_off);
	CU_ASSERT_FALSE(m->objs[1].pod.is_shared_versions);

	CU_ASSERT_EQUAL(load("b.yaml", bad, false), -EINVAL);
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "bpfmesh.io/consistency",
			       "must be \"eventual\" or \"strong\", not \"linearizable\""));
	CU_ASSERT_TRUE(has_msg(MANIFEST_ERROR, "bpfmesh.io/sidecar", "not \"no\""));
}

static void test_workload_quantity(void)
{
	uint64_t v = 0;

	CU_ASSERT_EQUAL(wl_parse_quantity("100m", 1000, &v), 0);
	CU_ASSERT_EQUAL(v, 100);
	CU_ASSERT_EQUAL(wl_parse_quantity("1.5", 1000, &v), 0);
	CU_ASSERT_EQUAL(v, 1500);
	CU_ASSERT_EQUAL(wl_parse_quantity("2", 1000, &v), 0);
	CU_ASSERT_EQUAL(v, 2000);
	CU_ASSERT_EQUAL(wl_parse_quantity("1.5Gi", 1, &v), 0);
	CU_ASSERT_EQUAL(v, 3ULL << 29);
	CU_ASSERT_EQUAL(wl_parse_quantity("128M", 1, &v), 0);
	CU_ASSERT_EQUAL(v, 128000000);
	CU_ASSERT_EQUAL(wl_parse_quantity("1500", 1, &v), 0);
	CU_ASSERT_EQUAL(v, 1500);
	CU_ASSERT_EQUAL(wl_parse_quantity("", 1, &v), -EINVAL);
	CU_ASSERT_EQUAL(wl_parse_quantity("12Qi", 1, &v), -EINVAL);
	CU_ASSERT_EQUAL(wl_parse_quantity("-1", 1, &v), -EINVAL);
	CU_ASSERT_EQUAL(wl_parse_quantity("99999999999Ei", 1, &v), -EINVAL);
}

/* shop.yaml placed on nodes.yaml: keys, tolerations, selectors, resources. */
static void test_workload_placement(void)
{
	struct wl_load_opts o = {.trust_domain = "example.org"};
	const char *src = getenv("BM_SOURCE_DIR");
	struct sched_view v = {0};
	struct sched_batch b;
	int32_t out[16];
	char path[4096];
	size_t i;

	reset();
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/tests/unit/data/workloads/%s", src ? src : ".",
			 i ? "nodes.yaml" : "shop.yaml");
		CU_ASSERT_EQUAL_FATAL(wl_load(m, path, NULL, 0, &o, &diag), 0);
	}
	CU_ASSERT_FALSE(has_msg(MANIFEST_WARNING, "nodes.yaml", NULL)); /* pods, conditions... */
	CU_ASSERT_EQUAL_FATAL(sched_batch_from_model(m, &b), 0);
	CU_ASSERT_EQUAL(b.n_nodes, 3);
	CU_ASSERT_EQUAL(b.nodes[0].cpu_milli, 4000);
	CU_ASSERT_EQUAL(b.nodes[0].n_taints, 1);
	CU_ASSERT_EQUAL(b.nodes[2].mem_bytes, 4ULL << 30); /* from status.capacity */
	CU_ASSERT_EQUAL_FATAL(b.n_reps, 6);
	CU_ASSERT_STRING_EQUAL(b.keys[0], "shop/backend-v1/2368e98416/0");
	CU_ASSERT_STRING_EQUAL(b.keys[5], "shop/db/2");
	CU_ASSERT_EQUAL_FATAL(sched_view_init(&v, b.nodes, b.n_nodes), 0);
	CU_ASSERT_EQUAL(sched_place(&v, b.reps, b.n_reps, NULL, out), 0);
	for (i = 0; i < 3; i++) /* zone a and ssd: n1 (tolerated taint) or n2 */
		CU_ASSERT_TRUE(out[i] == 0 || out[i] == 1);
	for (i = 3; i < 6; i++) /* db does not tolerate n1's taint */
		CU_ASSERT_TRUE(out[i] == 1 || out[i] == 2);
	sched_view_release(&v);
	sched_batch_release(&b);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"shop (real-world shapes)", test_workload_shop},
		{"strict", test_workload_strict},
		{"unsupported kind", test_workload_unsupported_kind},
		{"errors with positions", test_workload_errors},
		{"selector must select template", test_workload_selector_mismatch},
		{"json list and duplicates", test_workload_json_and_duplicates},
		{"versions coexist", test_workload_versions_coexist},
		{"quantities", test_workload_quantity},
		{"bpfmesh.io annotations", test_workload_annotations},
		{"placement on Node manifests", test_workload_placement},
		{NULL, NULL},
	};

	return bm_test_add_suite("workload", setup, teardown, cases);
}
