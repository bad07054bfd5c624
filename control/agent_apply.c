// SPDX-License-Identifier: GPL-2.0-only
/*
 * Applying bus events: policy revisions (ordered, all or nothing), endpoint
 * events, revocations and membership; and the reconcile step that turns
 * them into one atomic data-plane install.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <abi/abi.h>

#include "agent_priv.h"
#include "agent_rootless.h"
#include "dataplane.h"
#include "ident_id.h"
#include "id_names.h"
#include "log.h"
#include "policy_sources_json.h"
#include "manifest.h"
#include "policy_compile.h"

#define MAX_AUTH_SWEEP 65536

static const char *const bucket_what[BUS_BUCKET_NR] = {"policy", "endpoint", "revocation",
						       "workload", "claim"};

/* Order-independent signature of the endpoint set (keys and revisions). */
static uint64_t endpoints_sig(const struct agent_items *eps)
{
	uint64_t sig = eps->n, h;
	const char *p;
	size_t i;

	for (i = 0; i < eps->n; i++) {
		h = 1469598103934665603ULL;
		for (p = eps->v[i].key; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		sig += h * 31 + eps->v[i].rev * 1000003ULL;
	}
	return sig;
}

static void reject(struct agent *a, const struct agent_ev *ev, const char *why)
{
	a->n_rejected++;
	pr_warn("bus: rejected %s %s revision %llu: %s; nothing applied",
		ev->kind == AGENT_EV_MSG ? "message" : bucket_what[ev->bucket], ev->key,
		(unsigned long long)ev->rev, why);
}

/* Parse a message body: a JSON object whose "schema" is BUS_SCHEMA. NULL: rejected. */
static json_t *parse_body(struct agent *a, const struct agent_ev *ev)
{
	json_error_t jerr;
	json_t *j, *schema;
	char why[256];

	j = json_loadb(ev->data, ev->len, 0, &jerr);
	if (!j) {
		snprintf(why, sizeof(why), "malformed JSON at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		reject(a, ev, why);
		return NULL;
	}
	schema = json_object_get(j, "schema");
	if (!json_is_object(j) || !json_is_integer(schema)) {
		reject(a, ev, "no integer \"schema\" field");
	} else if (json_integer_value(schema) != BUS_SCHEMA) {
		snprintf(why, sizeof(why), "schema version %lld unsupported (this agent speaks %d)",
			 (long long)json_integer_value(schema), BUS_SCHEMA);
		reject(a, ev, why);
	} else {
		return j;
	}
	json_decref(j);
	return NULL;
}

/* See agent_priv.h. */
int agent_build_model(const struct agent *a, const struct policy_sources *srcs,
		      struct pm_model **out, char *why, size_t why_len)
{
	const struct manifest_msg *first;
	struct manifest_diag diag;
	char name[320];
	struct pm_model *m;
	size_t i;
	int err = 0;

	m = pm_model_new();
	if (!m)
		return -ENOMEM;
	manifest_diag_init(&diag);
	for (i = 0; srcs && i < srcs->n && !err; i++)
		err = manifest_load_buffer(m, srcs->items[i].name, srcs->items[i].data,
					   srcs->items[i].len, a->cfg->node, &diag);
	for (i = 0; i < a->endpoints.n && !err; i++) {
		snprintf(name, sizeof(name), "bus/endpoint/%s.json", a->endpoints.v[i].key);
		err = manifest_load_buffer(m, name, a->endpoints.v[i].doc,
					   strlen(a->endpoints.v[i].doc), a->cfg->node, &diag);
	}
	first = manifest_diag_first_error(&diag);
	if (err && why)
		snprintf(why, why_len, "%s", first ? first->text : strerror(-err));
	manifest_diag_release(&diag);
	if (err) {
		pm_model_free(m);
		return err;
	}
	*out = m;
	return 0;
}

static void apply_policy(struct agent *a, const struct agent_ev *ev)
{
	struct policy_sources cand;
	struct pm_model *m = NULL;
	const json_t *origin;
	char why[512];
	json_t *j, *srcs;
	uint64_t t0;
	int err;

	if (strcmp(ev->key, AGENT_POLICY_KEY))
		return reject(a, ev, "unknown key in bpfmesh-policy");
	if (ev->is_delete) {
		pr_warn("bus: policy key deleted at revision %llu; keeping revision %llu",
			(unsigned long long)ev->rev, (unsigned long long)a->policy_rev);
		return;
	}
	if (ev->rev <= a->policy_rev)
		return;
	j = parse_body(a, ev);
	if (!j)
		return;
	srcs = agent_policy_sources(a, j, why, sizeof(why));
	if (!srcs) {
		json_decref(j);
		return reject(a, ev, why);
	}
	err = policy_sources_from_json(srcs, &cand);
	json_decref(srcs);
	if (err) {
		json_decref(j);
		return reject(a, ev,
			      "\"sources\" must be a non-empty array of {name, data} strings");
	}
	t0 = agent_now_us();
	err = agent_build_model(a, &cand, &m, why, sizeof(why));
	pr_debug("agent: policy revision %llu: model %.1f ms", (unsigned long long)ev->rev,
		 (double)(agent_now_us() - t0) / 1e3);
	if (err) {
		policy_sources_free(&cand);
		json_decref(j);
		return reject(a, ev, why);
	}
	/* Keep it: reconcile uses it if no endpoint event comes in between. */
	pm_model_free(a->pending_model);
	a->pending_model = m;
	a->pending_sig = endpoints_sig(&a->endpoints);
	origin = json_object_get(j, "node");
	free(a->policy_origin);
	a->policy_origin = json_is_string(origin) ? strdup(json_string_value(origin)) : NULL;
	policy_sources_free(&a->policy);
	a->policy = cand;
	a->policy_rev = ev->rev;
	a->is_dirty = true;
	pr_info("bus: policy revision %llu from node %s accepted (%zu sources)",
		(unsigned long long)ev->rev, a->policy_origin ? a->policy_origin : "?", cand.n);
	json_decref(j);
}

/* Is s a JSON array of strings (possibly empty when is_empty_ok)? */
static bool is_string_array(const json_t *s, bool is_empty_ok)
{
	const json_t *v;
	size_t i;

	if (!json_is_array(s) || (!is_empty_ok && !json_array_size(s)))
		return false;
	json_array_foreach (s, i, v)
		if (!json_is_string(v))
			return false;
	return true;
}

/* The Endpoint manifest for an endpoint event body; NULL with why set. */
static char *endpoint_manifest(const json_t *j, const char *key, const char **why)
{
	const char *ns = json_string_value(json_object_get(j, "namespace"));
	const char *name = json_string_value(json_object_get(j, "name"));
	const json_t *labels = json_object_get(j, "labels"), *ports = json_object_get(j, "ports");
	const json_t *node = json_object_get(j, "node");
	json_t *doc, *spec, *lab;
	char want[300];
	char *text;

	*why = "needs string namespace, name, identity and a non-empty addresses array";
	if (!ns || !name || !json_is_string(json_object_get(j, "identity")) ||
	    !is_string_array(json_object_get(j, "addresses"), false))
		return NULL;
	*why = "key must be NAMESPACE.NAME of the endpoint";
	snprintf(want, sizeof(want), "%s.%s", ns, name);
	if (strcmp(want, key))
		return NULL;
	*why = "labels must be an object, ports an array, node a string";
	if ((labels && !json_is_object(labels)) || (ports && !json_is_array(ports)) ||
	    (node && !json_is_string(node)))
		return NULL;
	spec = json_pack("{s:O, s:O}", "identity", json_object_get(j, "identity"), "addresses",
			 json_object_get(j, "addresses"));
	if (spec && ports)
		json_object_set(spec, "ports", (json_t *)ports);
	if (spec && node)
		json_object_set(spec, "nodeName", (json_t *)node);
	lab = labels ? json_incref((json_t *)labels) : json_object();
	doc = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:o}", "apiVersion", "bpfmesh.io/v1", "kind",
			"Endpoint", "metadata", "name", name, "namespace", ns, "labels", lab,
			"spec", spec);
	*why = "out of memory";
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

/* Does doc load on its own? (Conflicts with the policy show at reconcile.) */
static int check_endpoint(const struct agent *a, const char *key, const char *doc, char *why,
			  size_t why_len)
{
	struct agent tmp = {.cfg = a->cfg};
	struct agent_item it = {.key = (char *)key, .doc = (char *)doc};
	struct pm_model *m = NULL;
	int err;

	tmp.endpoints.v = &it;
	tmp.endpoints.n = 1;
	err = agent_build_model(&tmp, NULL, &m, why, why_len);
	pm_model_free(m);
	return err;
}

static void apply_endpoint(struct agent *a, const struct agent_ev *ev)
{
	struct agent_item it = {0}, *old = agent_items_find(&a->endpoints, ev->key);
	const char *why;
	char buf[512];
	json_t *j;

	if (old && ev->rev <= old->rev)
		return;
	if (ev->is_delete) {
		if (old) {
			agent_items_remove(&a->endpoints, ev->key);
			a->is_dirty = true;
			pr_info("bus: endpoint %s removed (revision %llu)", ev->key,
				(unsigned long long)ev->rev);
		}
		return;
	}
	j = parse_body(a, ev);
	if (!j)
		return;
	it.doc = endpoint_manifest(j, ev->key, &why);
	json_decref(j);
	if (!it.doc)
		return reject(a, ev, why);
	if (check_endpoint(a, ev->key, it.doc, buf, sizeof(buf))) {
		free(it.doc);
		return reject(a, ev, buf);
	}
	it.key = strdup(ev->key);
	it.rev = ev->rev;
	if (!it.key || agent_items_put(&a->endpoints, &it)) {
		free(it.key);
		free(it.doc);
		return reject(a, ev, "out of memory");
	}
	a->is_dirty = true;
	pr_info("bus: endpoint %s updated (revision %llu)", ev->key, (unsigned long long)ev->rev);
}

/* The numeric identity of uri: from the enforced model if it names it, else derived. */
static int resolve_identity(const struct agent *a, const char *uri, uint32_t *id)
{
	size_t i;

	for (i = 0; a->model && i < a->model->n_endpoints; i++)
		if (a->model->endpoints[i].identity_uri &&
		    !strcmp(a->model->endpoints[i].identity_uri, uri)) {
			*id = a->model->endpoints[i].sec_id;
			return 0;
		}
	return ident_numeric_id(uri, id);
}

static bool is_revoked(const struct agent *a, uint32_t id)
{
	size_t i;

	for (i = 0; i < a->revoked.n; i++)
		if (a->revoked.v[i].id == id)
			return true;
	return false;
}

/* See agent_priv.h. */
int agent_sweep_auth(struct agent *a)
{
	struct bm_auth_key key, next, *doomed;
	int fd = a->dp ? dp_map_fd(a->dp, BM_MAP_AUTH) : -1, n = 0, i;
	void *prev = NULL;

	if (a->rl)
		return agent_rl_sweep(a);
	if (fd < 0 || !a->revoked.n)
		return 0;
	doomed = calloc(MAX_AUTH_SWEEP, sizeof(*doomed));
	if (!doomed)
		return -ENOMEM;
	/* Collect first: deleting while walking restarts get_next_key. */
	while (n < MAX_AUTH_SWEEP && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (is_revoked(a, key.src_id) || is_revoked(a, key.dst_id))
			doomed[n++] = key;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &doomed[i]);
	free(doomed);
	return n;
}

static int revocation_item(const struct agent *a, const json_t *j, struct agent_item *it)
{
	const json_t *uri = json_object_get(j, "identity"), *id = json_object_get(j, "id");

	if (json_is_integer(id) && json_integer_value(id) > 0 &&
	    json_integer_value(id) <= UINT32_MAX)
		it->id = (uint32_t)json_integer_value(id);
	else if (!json_is_string(uri) || resolve_identity(a, json_string_value(uri), &it->id))
		return -EINVAL;
	if (json_is_string(uri)) {
		it->identity = strdup(json_string_value(uri));
		if (!it->identity)
			return -ENOMEM;
	}
	return 0;
}

static void apply_revoked(struct agent *a, const struct agent_ev *ev)
{
	struct agent_item it = {0}, *old = agent_items_find(&a->revoked, ev->key);
	json_t *j;
	int n;

	if (old && ev->rev <= old->rev)
		return;
	if (ev->is_delete) {
		if (old) {
			pr_info("bus: identity %u no longer revoked", old->id);
			agent_items_remove(&a->revoked, ev->key);
		}
		return;
	}
	j = parse_body(a, ev);
	if (!j)
		return;
	if (revocation_item(a, j, &it)) {
		json_decref(j);
		free(it.identity);
		return reject(a, ev, "needs \"identity\" (SPIFFE ID) or \"id\" (1..4294967295)");
	}
	json_decref(j);
	it.key = strdup(ev->key);
	it.rev = ev->rev;
	if (!it.key || agent_items_put(&a->revoked, &it)) {
		free(it.key);
		free(it.identity);
		return reject(a, ev, "out of memory");
	}
	n = agent_sweep_auth(a);
	pr_info("bus: identity %s (id %u) revoked: %d auth entries removed",
		it.identity ? it.identity : "-", it.id, n);
}

/* See agent_priv.h. */
void agent_peers_clear(struct agent *a)
{
	size_t i;

	for (i = 0; i < a->n_peers; i++)
		json_decref(a->peers[i].capacity);
	free(a->peers);
	a->peers = NULL;
	a->n_peers = 0;
}

static struct agent_peer *peer_get(struct agent *a, const char *name)
{
	struct agent_peer *p;
	size_t i;

	for (i = 0; i < a->n_peers; i++)
		if (!strcmp(a->peers[i].name, name))
			return &a->peers[i];
	p = realloc(a->peers, (a->n_peers + 1) * sizeof(*p));
	if (!p)
		return NULL;
	a->peers = p;
	p = &a->peers[a->n_peers++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * Our own latest heartbeat, back from the bus: the time since we published
 * it is the bus lag as this agent sees it (publish, server, delivery, queue).
 */
static void own_heartbeat(struct agent *a, const struct agent_ev *ev, const char *kind)
{
	json_t *j;

	if (strcmp(kind, "heartbeat") || !a->hb_sent_us)
		return;
	j = parse_body(a, ev);
	if (j && (uint64_t)json_integer_value(json_object_get(j, "seq")) == a->hb_seq)
		a->bus_lag_us = mono_us() - a->hb_sent_us + 1;
	json_decref(j);
}

/* bpfmesh.v1.node.<name>.<kind>: heartbeat, join or leave. */
static void apply_member(struct agent *a, const struct agent_ev *ev)
{
	const char *rest = ev->key + strlen(AGENT_SUBJECT_PREFIX), *dot = strchr(rest, '.');
	char name[64];
	struct agent_peer *p;
	json_t *j;

	if (!dot || dot == rest || (size_t)(dot - rest) >= sizeof(name))
		return reject(a, ev, "bad node subject");
	snprintf(name, sizeof(name), "%.*s", (int)(dot - rest), rest);
	if (!strcmp(name, a->cfg->node))
		return own_heartbeat(a, ev, dot + 1);
	if (strcmp(dot + 1, "heartbeat") && strcmp(dot + 1, "join") && strcmp(dot + 1, "leave"))
		return reject(a, ev, "unknown node event");
	j = parse_body(a, ev);
	if (!j)
		return;
	p = peer_get(a, name);
	if (p && !strcmp(dot + 1, "leave")) {
		if (p->is_alive)
			pr_info("peer %s left", name);
		p->is_alive = false;
	} else if (p) {
		if (!p->is_alive)
			pr_info("peer %s joined", name);
		p->is_alive = true;
		p->last_ms = agent_now_ms();
		p->revision = (uint64_t)json_integer_value(json_object_get(j, "revision"));
		if (json_is_object(json_object_get(j, "capacity"))) {
			json_decref(p->capacity);
			p->capacity = json_incref(json_object_get(j, "capacity"));
		}
		p->is_ready = json_is_true(json_object_get(j, "ready"));
	}
	json_decref(j);
}

/* See agent_priv.h. */
void agent_apply(struct agent *a, const struct agent_ev *ev)
{
	if (ev->kind == AGENT_EV_MSG)
		return apply_member(a, ev);
	if (ev->is_replay_done) {
		if (!a->is_replayed[ev->bucket])
			pr_info("bus: bucket %s replayed", bus_bucket_name(ev->bucket));
		a->is_replayed[ev->bucket] = true;
		a->is_dirty = true;
		return;
	}
	if (ev->bucket == BUS_BUCKET_POLICY)
		apply_policy(a, ev);
	else if (ev->bucket == BUS_BUCKET_ENDPOINTS)
		apply_endpoint(a, ev);
	else if (ev->bucket == BUS_BUCKET_REVOKED)
		apply_revoked(a, ev);
	else
		agent_sched_apply(a, ev);
}

static void save_applied(const struct agent *a)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/agent.applied", a->cfg->state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%llu %llu\n", (unsigned long long)a->applied_rev,
		(unsigned long long)a->applied_sig);
	if (fclose(f) || rename(tmp, path))
		pr_warn("agent: save %s: %s", path, strerror(errno));
}

/* Build, compile and install; on success the model becomes a->model. */
static int install(struct agent *a, struct pm_model **m, uint32_t *gen, size_t *entries)
{
	struct policy_sources all = {0};
	struct compile_report rep = {0};
	struct bm_tables t;
	bool is_named = false;
	char why[512] = "";
	uint64_t ms[4];
	size_t i;
	int err;

	tables_init(&t);
	ms[0] = agent_now_us();
	if (a->pending_model && a->pending_sig == endpoints_sig(&a->endpoints)) {
		*m = a->pending_model;
		a->pending_model = NULL;
		err = 0;
	} else {
		err = agent_build_model(a, &a->policy, m, why, sizeof(why));
	}
	pm_model_free(a->pending_model);
	a->pending_model = NULL;
	ms[1] = agent_now_us();
	if (err)
		pr_warn("agent: policy revision %llu with the bus endpoints: %s",
			(unsigned long long)a->policy_rev, why);
	if (!err) {
		err = policy_compile(*m, &t, &rep);
		if (err)
			pr_warn("agent: compile revision %llu: %s",
				(unsigned long long)a->policy_rev,
				rep.error[0] ? rep.error : strerror(-err));
	}
	ms[2] = agent_now_us();
	if (!err && a->rl) {
		*gen = a->generation + 1;
		err = agent_rl_install(a->rl, *m); /* rootless: the forwarder, not maps */
	} else if (!err) {
		/* Names first: flow events of the new generation are named at once. */
		is_named = !id_names_publish(a->cfg->state_dir, *m);
		if (!is_named)
			pr_warn("agent: identity names for revision %llu not written",
				(unsigned long long)a->policy_rev);
		err = dp_install(a->dp, &t, gen);
	}
	ms[3] = agent_now_us();
	*entries = t.maps[TABLES_POLICY].n;
	pr_debug("agent: install steps: model %.1f ms, compile %.1f ms, dp_install %.1f ms",
		 (double)(ms[1] - ms[0]) / 1e3, (double)(ms[2] - ms[1]) / 1e3,
		 (double)(ms[3] - ms[2]) / 1e3);
	tables_release(&t);
	if (err)
		return err;
	/* Record what the kernel now enforces, policy and endpoints, for show/check/observe. */
	all.items = calloc(a->policy.n + a->endpoints.n + 1, sizeof(*all.items));
	if (!all.items)
		return 0;
	for (i = 0; i < a->policy.n; i++)
		all.items[all.n++] = a->policy.items[i];
	for (i = 0; i < a->endpoints.n; i++)
		all.items[all.n++] =
			(struct policy_source){a->endpoints.v[i].key, a->endpoints.v[i].doc,
					       strlen(a->endpoints.v[i].doc)};
	/* Names were published before dp_install; otherwise (rootless, a failed write) here. */
	if (policy_store_save(a->cfg->state_dir, &all, is_named ? NULL : *m, a->cfg->node))
		pr_warn("agent: could not record the policy in %s", a->cfg->state_dir);
	free(all.items);
	return 0;
}

static void set_ready(struct agent *a)
{
	if (a->is_ready)
		return;
	a->is_ready = true;
	pr_info("agent: ready: replayed the bus, enforcing revision %llu (generation %u)",
		(unsigned long long)a->applied_rev, a->generation);
}

/* See agent_priv.h. */
bool agent_is_reconcile_due(const struct agent *a)
{
	int i;

	for (i = 0; i < BUS_BUCKET_NR; i++)
		if (!a->is_replayed[i])
			return false;
	return a->is_dirty;
}

/* See agent_priv.h. */
void agent_reconcile(struct agent *a)
{
	uint64_t sig = endpoints_sig(&a->endpoints), t0 = agent_now_us();
	struct pm_model *m = NULL;
	size_t entries = 0;
	uint32_t gen;

	if (!agent_is_reconcile_due(a))
		return;
	a->is_dirty = false;
	if ((a->applied_rev == a->policy_rev && a->applied_sig == sig) ||
	    (!a->policy_rev && !a->endpoints.n))
		return set_ready(a);
	/* The bus holds no valid revision as new as the enforced one: never go back. */
	if (a->policy_rev < a->applied_rev) {
		pr_warn("agent: the bus has no valid policy revision >= %llu (enforced); waiting "
			"for a new one",
			(unsigned long long)a->applied_rev);
		return set_ready(a);
	}
	if (install(a, &m, &gen, &entries)) {
		pm_model_free(m);
		a->n_rejected++;
		pr_warn("agent: revision %llu not installed; the kernel keeps generation %u",
			(unsigned long long)a->policy_rev, a->generation);
		return set_ready(a);
	}
	pm_model_free(a->model);
	a->model = m;
	a->generation = gen;
	a->applied_rev = a->policy_rev;
	a->applied_sig = sig;
	a->n_installs++;
	a->last_install_ms = (double)(agent_now_us() - t0) / 1e3; /* below 1 ms now */
	save_applied(a);
	pr_info("agent: installed policy revision %llu as generation %u: %zu endpoints, "
		"%zu policy entries, %.0f ms",
		(unsigned long long)a->applied_rev, gen, m->n_endpoints, entries,
		a->last_install_ms);
	agent_sweep_auth(a);
	set_ready(a);
	/* Parsing a large revision leaves freed heap behind: give it back. */
	malloc_trim(0);
}

/* What this node offers, for placement: CPUs, memory, local workloads. */
static json_t *capacity(const struct agent *a)
{
	size_t i, n_local = 0;
	struct sysinfo si;
	json_int_t mem_kb = 0;
	json_t *cap;

	for (i = 0; a->model && i < a->model->n_endpoints; i++)
		n_local += a->model->endpoints[i].is_local;
	if (!sysinfo(&si))
		mem_kb = (json_int_t)((uint64_t)si.freeram * si.mem_unit / 1024);
	cap = json_pack("{s:i, s:I, s:I}", "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN),
			"mem_free_kb", mem_kb, "local_endpoints", (json_int_t)n_local);
	if (cap)
		agent_sched_capacity(a, cap);
	return cap;
}

static void send_heartbeat(struct agent *a)
{
	char subject[128];
	json_t *j;
	char *text;

	j = json_pack("{s:i, s:s, s:I, s:I, s:i, s:b, s:I, s:o}", "schema", BUS_SCHEMA, "node",
		      a->cfg->node, "seq", (json_int_t)++a->hb_seq, "revision",
		      (json_int_t)a->applied_rev, "generation", (int)a->generation, "ready",
		      a->is_ready, "endpoints", (json_int_t)(a->model ? a->model->n_endpoints : 0),
		      "capacity", capacity(a));
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	snprintf(subject, sizeof(subject), AGENT_SUBJECT_PREFIX "%s.heartbeat", a->cfg->node);
	a->hb_sent_us = mono_us();
	if (text)
		bus_publish(a->bus, subject, text, strlen(text));
	free(text);
	json_decref(j);
}

/* See agent_priv.h. */
void agent_heartbeat_if_due(struct agent *a)
{
	uint64_t now = agent_now_ms();

	if (now < a->next_hb_ms || !bus_is_connected(a->bus))
		return;
	a->next_hb_ms = now + a->cfg->heartbeat_ms;
	send_heartbeat(a);
}

/* See agent_priv.h. */
void agent_tick_members(struct agent *a)
{
	bool is_connected = bus_is_connected(a->bus);
	uint64_t now = agent_now_ms();
	size_t i;

	if (now >= a->next_hb_ms) {
		a->next_hb_ms = now + a->cfg->heartbeat_ms;
		if (is_connected)
			send_heartbeat(a);
		/* Entries written after a revocation (a stale handshake) go too. */
		agent_sweep_auth(a);
	}
	/*
	 * Cut off from the bus we cannot tell a failed peer from our own outage:
	 * judge nobody, and restart every peer's clock when the bus is back.
	 */
	if (!is_connected)
		a->bus_lost_ms = a->bus_lost_ms ? a->bus_lost_ms : now;
	for (i = 0; is_connected && a->bus_lost_ms && i < a->n_peers; i++)
		a->peers[i].last_ms = now;
	/*
	 * The peers lost the server too and come back on their own reconnect
	 * backoff, up to its cap after us: only then does silence count.
	 */
	if (is_connected && a->bus_lost_ms)
		a->judge_peers_ms = now + bus_max_backoff_ms(a->bus);
	if (is_connected)
		a->bus_lost_ms = 0;
	for (i = 0; is_connected && now >= a->judge_peers_ms && i < a->n_peers; i++) {
		if (!a->peers[i].is_alive || now - a->peers[i].last_ms <= a->cfg->dead_after_ms)
			continue;
		a->peers[i].is_alive = false;
		pr_warn("peer %s failed: no heartbeat for %llu ms (limit %u ms)", a->peers[i].name,
			(unsigned long long)(now - a->peers[i].last_ms), a->cfg->dead_after_ms);
	}
}
