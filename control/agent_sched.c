// SPDX-License-Identifier: GPL-2.0-only
/*
 * Placement in the agent: every agent evaluates sched_place_by_topic() on the
 * workloads of the topics it serves and the membership view (previous
 * placement = the nodes the published endpoints name), runs what lands on
 * itself, publishes one endpoint per running replica, and claims
 * StatefulSet ordinals before running them (docs/scheduler.md).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"
#include "agent_sched_priv.h"
#include "agent_sidecars.h"
#include "log.h"
#include "sched_claim.h"
#include "sched_expand.h"
#include "sched_topic.h"
#include "workload_model.h"

#define RETRY_MS 2000

/* See agent_sched.h. */
int agent_sched_open(struct agent *a)
{
	return agent_rt_open(a);
}

static void free_reps(struct agent_replica *reps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(reps[i].key);
		free(reps[i].pod);
	}
	free(reps);
}

static void free_local(struct agent_local *l)
{
	free(l->key);
	free(l->pod);
	free(l->ns);
}

/* See agent_sched.h. */
void agent_sched_close(struct agent *a)
{
	struct agent_sched *s = &a->sched;
	size_t i;

	agent_sidecar_stop_all(a); /* the next agent starts new ones */
	agent_rt_close(a);
	free_reps(s->reps, s->n_reps);
	for (i = 0; i < s->n_local; i++)
		free_local(&s->local[i]);
	free(s->local);
	free(s->claims);
	wl_model_free(s->model);
	json_decref(s->view);
	memset(s, 0, sizeof(*s));
}

static uint64_t hash_str(const char *p, uint64_t h)
{
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static uint64_t endpoints_sig(const struct agent_items *eps)
{
	uint64_t sig = eps->n;
	size_t i;

	for (i = 0; i < eps->n; i++)
		sig += hash_str(eps->v[i].key, 1469598103934665603ULL) * 31 +
		       eps->v[i].rev * 1000003ULL;
	return sig;
}

/* The node the bus endpoint ns.pod names, into buf ("" when none). */
static void endpoint_node(const struct agent *a, const char *ns, const char *pod, char *buf,
			  size_t len)
{
	const struct agent_item *it;
	const char *node;
	char key[320];
	json_t *doc;

	buf[0] = '\0';
	snprintf(key, sizeof(key), "%s.%s", ns, pod);
	it = agent_items_find(&a->endpoints, key);
	doc = it && it->doc ? json_loads(it->doc, 0, NULL) : NULL;
	node = json_string_value(json_object_get(json_object_get(doc, "spec"), "nodeName"));
	if (node)
		snprintf(buf, len, "%s", node);
	json_decref(doc);
}

/* NAME-ORDINAL (StatefulSet), NAME-HASH-INDEX (Deployment), NAME (Pod). */
static char *pod_name(const struct wl_object *o, const char *key)
{
	const char *index = strrchr(key, '/') + 1;
	char *out = NULL;
	int n;

	if (o->kind == WL_DEPLOYMENT)
		n = asprintf(&out, "%s-%s-%s", o->name, o->pod.template_hash, index);
	else if (o->kind == WL_STATEFULSET)
		n = asprintf(&out, "%s-%s", o->name, index);
	else
		n = asprintf(&out, "%s", o->name);
	return n < 0 ? NULL : out;
}

/*
 * DaemonSets: one replica on every node of the view the pod spec fits (no
 * hashing), key NS/NAME/NODE, pod NAME-NODE; appended to *reps (*n long).
 * On -ENOMEM *reps stays valid for free_reps(*reps, *n).
 */
static int add_daemonsets(struct agent_replica **reps, size_t *n, const struct wl_model *m,
			  const struct agent_view *v)
{
	struct agent_replica *grown, *r;
	struct sched_replica want;
	const struct wl_object *o;
	size_t i, k;

	for (i = 0; i < m->n_objs; i++) {
		o = &m->objs[i];
		if (o->kind != WL_DAEMONSET)
			continue;
		want = (struct sched_replica){
			.key = o->name, .pod = &o->pod, .req = wl_pod_requests(&o->pod)};
		for (k = 0; k < v->n; k++) {
			if (!sched_node_fits(&v->nodes[k], &want))
				continue;
			grown = realloc(*reps, (*n + 1) * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			*reps = grown;
			r = &grown[*n];
			memset(r, 0, sizeof(*r));
			r->obj = o;
			snprintf(r->node, sizeof(r->node), "%s", v->nodes[k].name);
			if (asprintf(&r->key, "%s/%s/%s", o->ns, o->name, r->node) < 0)
				r->key = NULL;
			if (asprintf(&r->pod, "%s-%s", o->name, r->node) < 0)
				r->pod = NULL;
			(*n)++; /* freed with the others even when incomplete */
			if (!r->key || !r->pod)
				return -ENOMEM;
		}
	}
	return 0;
}

/* Turn a placement (and the DaemonSets of m) into s->reps, replacing the old ones. */
static int keep_placement(struct agent_sched *s, const struct wl_model *m,
			  const struct sched_batch *b, const struct agent_view *v,
			  const int32_t *out)
{
	struct agent_replica *reps = calloc(b->n_reps + 1, sizeof(*reps));
	size_t i, n = b->n_reps;

	if (!reps)
		return -ENOMEM;
	for (i = 0; i < b->n_reps; i++) {
		reps[i].key = strdup(b->reps[i].key);
		reps[i].pod = pod_name(b->owner[i], b->reps[i].key);
		reps[i].obj = b->owner[i];
		reps[i].is_sts = b->owner[i]->kind == WL_STATEFULSET;
		if (out[i] >= 0)
			snprintf(reps[i].node, sizeof(reps[i].node), "%s", v->nodes[out[i]].name);
		if (!reps[i].key || !reps[i].pod) {
			free_reps(reps, i + 1);
			return -ENOMEM;
		}
	}
	if (add_daemonsets(&reps, &n, m, v)) {
		free_reps(reps, n);
		return -ENOMEM;
	}
	free_reps(s->reps, s->n_reps);
	s->reps = reps;
	s->n_reps = n;
	return 0;
}

static int compute(struct agent *a, struct wl_model *m, const struct agent_view *v)
{
	struct agent_sched *s = &a->sched;
	struct sched_opts opts = {0};
	struct sched_batch b;
	char node[64], *pod;
	int32_t *prev, *out;
	size_t i, n_here = 0;
	int err, n_left;

	err = sched_batch_from_model(m, &b);
	if (err)
		return err;
	prev = calloc(b.n_reps + 1, sizeof(*prev));
	out = calloc(b.n_reps + 1, sizeof(*out));
	err = prev && out ? 0 : -ENOMEM;
	/* Previous placement: where the bus says each replica runs (sticky). */
	for (i = 0; !err && i < b.n_reps; i++) {
		pod = pod_name(b.owner[i], b.reps[i].key);
		if (!pod) {
			err = -ENOMEM;
			break;
		}
		endpoint_node(a, b.owner[i]->ns, pod, node, sizeof(node));
		prev[i] = agent_view_find(v, node);
		free(pod);
	}
	opts.prev = prev;
	/* per topic: what agents serving other topics compute needs no part of ours */
	n_left = err ? 0 : sched_place_by_topic(&v->v, b.reps, b.n_reps, &opts, out, NULL);
	if (n_left < 0)
		err = n_left;
	if (!err)
		err = keep_placement(s, m, &b, v, out);
	for (i = 0; !err && i < s->n_reps; i++)
		n_here += !strcmp(s->reps[i].node, a->cfg->node);
	if (!err)
		pr_info("sched: placed %zu replicas on %zu nodes: %zu here, %d pending", s->n_reps,
			v->n, n_here, n_left);
	free(prev);
	free(out);
	sched_batch_release(&b);
	return err;
}

/* Re-place when workloads, the view or the endpoints changed. */
static void place(struct agent *a)
{
	struct agent_sched *s = &a->sched;
	struct wl_model *m = NULL, *old = NULL;
	struct agent_view v;
	uint64_t view_sig, eps_sig = endpoints_sig(&a->endpoints);
	char *text;
	bool is_model_new = s->is_dirty || !s->model;

	if (agent_view_build(a, &v))
		return;
	text = json_dumps(v.json, JSON_COMPACT | JSON_SORT_KEYS);
	view_sig = text ? hash_str(text, 1469598103934665603ULL) : 0;
	free(text);
	if (!is_model_new && s->has_placement && view_sig == s->view_sig && eps_sig == s->eps_sig)
		goto out;
	if (view_sig != s->view_sig)
		agent_rt_routes(a, v.json);
	if (is_model_new && agent_workloads_model(a, &m))
		goto out;
	if (m) {
		old = s->model;
		s->model = m;
	}
	if (compute(a, s->model, &v)) {
		/* Keep the old model and placement; retry on the next tick. */
		if (m) {
			s->model = old;
			wl_model_free(m);
		}
		goto out;
	}
	wl_model_free(old);
	s->is_dirty = false;
	s->has_placement = true;
	s->view_sig = view_sig;
	s->eps_sig = eps_sig;
	json_decref(s->view);
	s->view = json_incref(v.json);
	a->n_sched_placements++;
out:
	agent_view_release(&v);
}

static struct agent_local *local_find(struct agent_sched *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n_local; i++)
		if (!strcmp(s->local[i].key, key))
			return &s->local[i];
	return NULL;
}

static void publish(struct agent *a, const struct agent_replica *r, struct agent_local *l)
{
	const struct wl_pod_spec *pod = &r->obj->pod;
	json_t *labels = json_object(), *ports = json_array(), *ep;
	const struct wl_port *p;
	char key[320], *text;
	size_t i, j;
	int err;

	for (i = 0; i < pod->labels.n; i++)
		json_object_set_new(labels, pod->labels.items[i].key,
				    json_string(pod->labels.items[i].value));
	for (i = 0; i < pod->n_containers; i++)
		for (j = 0; j < pod->containers[i].n_ports; j++) {
			p = &pod->containers[i].ports[j];
			json_array_append_new(
				ports, json_pack("{s:i, s:s, s:s?}", "port", p->port, "protocol",
						 p->protocol == IPPROTO_UDP    ? "UDP"
						 : p->protocol == IPPROTO_SCTP ? "SCTP"
									       : "TCP",
						 "name", p->name));
		}
	if (agent_sidecar_serves_invoke(a, r->obj, r->pod)) /* policies may name it */
		json_array_append_new(ports, json_pack("{s:i, s:s, s:s}", "port",
						       AGENT_SIDECAR_INVOKE_PORT, "protocol", "TCP",
						       "name", AGENT_SIDECAR_INVOKE_PORT_NAME));
	ep = json_pack("{s:i, s:s, s:s, s:s, s:[s], s:o, s:o, s:s}", "schema", BUS_SCHEMA,
		       "namespace", r->obj->ns, "name", r->pod, "identity", pod->identity,
		       "addresses", l->address, "labels", labels, "ports", ports, "node",
		       a->cfg->node);
	text = ep ? json_dumps(ep, JSON_COMPACT) : NULL;
	snprintf(key, sizeof(key), "%s.%s", r->obj->ns, r->pod);
	err = text ? bus_kv_put(a->bus, BUS_BUCKET_ENDPOINTS, key, text, strlen(text), NULL)
		   : -ENOMEM;
	agent_heartbeat_if_due(a);
	if (err)
		pr_warn("sched: publish endpoint %s: %s (retried)", key, strerror(-err));
	if (!err) {
		l->is_published = true;
		pr_info("sched: endpoint %s published (%s, %s)", key, l->address, pod->identity);
	}
	free(text);
	json_decref(ep);
}

/* Delete the endpoint of l from the bus unless another node has taken the key. */
static void unpublish(struct agent *a, const struct agent_local *l)
{
	char key[320], node[64];

	endpoint_node(a, l->ns, l->pod, node, sizeof(node));
	if (strcmp(node, a->cfg->node))
		return;
	snprintf(key, sizeof(key), "%s.%s", l->ns, l->pod);
	if (!bus_kv_put(a->bus, BUS_BUCKET_ENDPOINTS, key, NULL, 0, NULL))
		pr_info("sched: endpoint %s withdrawn", key);
	agent_heartbeat_if_due(a);
}

static void stop_local(struct agent *a, struct agent_local *l, const char *why)
{
	struct agent_sched *s = &a->sched;

	if (l->is_published)
		unpublish(a, l);
	if (l->pid > 0) {
		agent_rt_stop(a, l->key);
		agent_sidecar_stop(a, l);
		agent_heartbeat_if_due(a);
		a->n_sched_stops++;
		pr_info("sched: stopped %s/%s (%s): %s", l->ns, l->pod, l->key, why);
	}
	free_local(l);
	*l = s->local[--s->n_local];
}

static struct agent_local *start_local(struct agent *a, const struct agent_replica *r)
{
	struct agent_sched *s = &a->sched;
	struct agent_local *l = local_find(s, r->key), *grown;
	uint64_t now = agent_now_ms();
	int err;

	if (l && l->pid > 0)
		return l;
	if (!l) {
		grown = realloc(s->local, (s->n_local + 1) * sizeof(*grown));
		if (!grown)
			return NULL;
		s->local = grown;
		l = &s->local[s->n_local];
		memset(l, 0, sizeof(*l));
		l->key = strdup(r->key);
		l->pod = strdup(r->pod);
		l->ns = strdup(r->obj->ns);
		if (!l->key || !l->pod || !l->ns) {
			free_local(l);
			return NULL;
		}
		s->n_local++;
	} else if (now < l->started_ms + RETRY_MS) {
		return l; /* failed lately: retry later */
	}
	l->started_ms = now;
	err = agent_rt_start(a, r, l);
	agent_heartbeat_if_due(a);
	if (err)
		return l;
	a->n_sched_starts++;
	pr_info("sched: started %s/%s (%s) at %s, pid %d, in %llu ms", r->obj->ns, r->pod, r->key,
		l->address, l->pid, (unsigned long long)(agent_now_ms() - now));
	return l;
}

/* Will start_local() run the runtime for this replica now? */
static bool needs_start(const struct agent_local *l)
{
	return !l || (l->pid <= 0 && agent_now_ms() >= l->started_ms + RETRY_MS);
}

static void claim_key(const char *rep_key, char *buf, size_t len)
{
	char *p;

	snprintf(buf, len, "sts.%s", rep_key);
	for (p = buf; *p; p++)
		if (*p == '/')
			*p = '.';
}

static struct agent_claim *claim_find(struct agent_sched *s, const char *key)
{
	struct agent_claim *c;
	size_t i;

	for (i = 0; i < s->n_claims; i++)
		if (!strcmp(s->claims[i].key, key))
			return &s->claims[i];
	c = realloc(s->claims, (s->n_claims + 1) * sizeof(*c));
	if (!c)
		return NULL;
	s->claims = c;
	c = &s->claims[s->n_claims++];
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	c->seen_ms = agent_now_ms();
	return c;
}

/* CAS the claim to holder ("" frees it) on the revision we saw. 0 or -errno. */
static int claim_cas(struct agent *a, struct agent_claim *c, const char *holder)
{
	uint64_t rev = 0, now = agent_now_ms();
	char body[160];
	int err;

	snprintf(body, sizeof(body), "{\"schema\":%d,\"node\":\"%s\"}", BUS_SCHEMA, holder);
	err = bus_kv_cas(a->bus, BUS_BUCKET_CLAIMS, c->key, body, strlen(body), c->rev, &rev);
	agent_heartbeat_if_due(a); /* a stalled bus call waits up to 2 s */
	if (err) {
		pr_debug("sched: claim %s at revision %llu for '%s': %s", c->key,
			 (unsigned long long)c->rev, holder, strerror(-err));
		return err;
	}
	if (rev > c->rev) {
		c->rev = rev;
		c->seen_ms = now;
	}
	snprintf(c->holder, sizeof(c->holder), "%s", holder);
	if (*holder)
		c->renew_ms = now;
	return 0;
}

/* Renew the claim of r (held by this node). 0 or -errno (lost: someone took it). */
static int claim_renew(struct agent *a, const struct agent_replica *r)
{
	struct agent_claim *c;
	char key[256];
	int err;

	claim_key(r->key, key, sizeof(key));
	c = claim_find(&a->sched, key);
	if (!c)
		return -ENOMEM;
	if (strcmp(c->holder, a->cfg->node))
		return -EPERM;
	err = claim_cas(a, c, a->cfg->node);
	if (err)
		pr_warn("sched: renew %s: %s", key, strerror(-err));
	return err;
}

/* The claim rule for one ordinal; true when this node should run it now. */
static bool claim_step(struct agent *a, const struct agent_replica *r)
{
	struct agent_sched *s = &a->sched;
	struct sched_claim_in in = {.me = a->cfg->node, .lease_ms = a->cfg->dead_after_ms};
	uint64_t now = agent_now_ms();
	struct agent_local *l;
	struct agent_claim *c;
	char key[256];

	claim_key(r->key, key, sizeof(key));
	c = claim_find(s, key);
	if (!c)
		return false;
	in.owner = r->node[0] ? r->node : NULL;
	in.holder = c->holder;
	in.claim_age_ms = now - c->seen_ms;
	in.renew_age_ms = c->renew_ms ? now - c->renew_ms : UINT32_MAX;
	switch (sched_claim_decide(&in)) {
	case SCHED_CLAIM_RUN:
		return true;
	case SCHED_CLAIM_RENEW:
		claim_cas(a, c, a->cfg->node);
		return true;
	case SCHED_CLAIM_ACQUIRE:
		if (claim_cas(a, c, a->cfg->node))
			return false;
		a->n_sched_claims++;
		pr_info("sched: claimed %s (revision %llu)", c->key, (unsigned long long)c->rev);
		return true;
	case SCHED_CLAIM_RELEASE:
		l = local_find(s, r->key);
		if (l)
			stop_local(a, l, "placement names another node");
		if (!claim_cas(a, c, ""))
			pr_info("sched: released %s", c->key);
		return false;
	case SCHED_CLAIM_FENCED:
		l = local_find(s, r->key);
		if (l)
			stop_local(a, l, "claim lease not renewed in time");
		claim_cas(a, c, a->cfg->node);
		return false;
	case SCHED_CLAIM_IDLE:
	default:
		return false;
	}
}

/* Free claims this node holds for ordinals no workload has any more. */
static void release_orphans(struct agent *a)
{
	struct agent_sched *s = &a->sched;
	char key[256];
	size_t i, j;

	for (i = 0; i < s->n_claims; i++) {
		if (strcmp(s->claims[i].holder, a->cfg->node))
			continue;
		for (j = 0; j < s->n_reps; j++) {
			claim_key(s->reps[j].key, key, sizeof(key));
			if (!strcmp(key, s->claims[i].key))
				break;
		}
		if (j == s->n_reps && !claim_cas(a, &s->claims[i], ""))
			pr_info("sched: released %s (its workload is gone)", s->claims[i].key);
	}
}

/* May Deployment replica r run now as far as the rollout goes? */
static bool rollout_step(struct agent *a, const struct agent_replica *r)
{
	const char *slash = strrchr(r->key, '/');

	return agent_rollout_wants(a, r->obj, r->obj->pod.template_hash,
				   (uint32_t)strtoul(slash + 1, NULL, 10));
}

/* Is l a replica of an older generation of a Deployment that the rollout still keeps? */
static bool is_old_generation_kept(struct agent *a, const struct agent_local *l)
{
	const struct wl_object *o;
	uint32_t index;
	char hash[11];

	o = agent_rollout_owner(a, l->key, hash, &index);
	return o && l->pid > 0 && strcmp(hash, o->pod.template_hash) &&
	       agent_rt_is_running(a, l->key) && agent_rollout_wants(a, o, hash, index);
}

/* Is node a peer this agent knew that is now failed or gone? */
static bool is_dead_peer(const struct agent *a, const char *node)
{
	size_t i;

	for (i = 0; i < a->n_peers; i++)
		if (!strcmp(a->peers[i].name, node))
			return !a->peers[i].is_alive;
	return false;
}

/*
 * A DaemonSet replica of a failed node is not placed anywhere else, so its
 * endpoint would stay on the bus naming the dead node: the alive node first
 * in name order withdraws such endpoints (NS.NAME-NODE of a DaemonSet NAME).
 */
static void sweep_daemon_endpoints(struct agent *a)
{
	const struct wl_model *m = a->sched.model;
	const char *key, *dot, *pod;
	const struct wl_object *o;
	size_t i, j, len;

	if (!m || json_array_size(a->sched.view) == 0 ||
	    strcmp(json_string_value(json_object_get(json_array_get(a->sched.view, 0), "name")),
		   a->cfg->node))
		return;
	for (i = a->endpoints.n; i-- > 0;) {
		key = a->endpoints.v[i].key;
		dot = strchr(key, '.');
		for (j = 0; dot && j < m->n_objs; j++) {
			o = &m->objs[j];
			len = strlen(o->name);
			pod = dot + 1;
			if (o->kind != WL_DAEMONSET || strncmp(key, o->ns, (size_t)(dot - key)) ||
			    o->ns[dot - key] || strncmp(pod, o->name, len) || pod[len] != '-' ||
			    !is_dead_peer(a, pod + len + 1))
				continue;
			if (!bus_kv_put(a->bus, BUS_BUCKET_ENDPOINTS, key, NULL, 0, NULL))
				pr_info("sched: endpoint %s of failed node %s withdrawn", key,
					pod + len + 1);
			break;
		}
	}
}

/* Start what is placed here, stop the rest, publish endpoints. */
static void act(struct agent *a)
{
	struct agent_sched *s = &a->sched;
	const struct agent_replica *r;
	struct agent_local *l;
	bool is_wanted, is_start;
	size_t i, n_starts = 0;

	s->is_busy = false;
	s->pass++;
	agent_sidecar_reap(a);
	for (i = 0; i < s->n_local; i++)
		s->local[i].is_wanted = false;
	for (i = 0; i < s->n_reps; i++) {
		r = &s->reps[i];
		is_wanted = r->is_sts ? claim_step(a, r)
				      : !strcmp(r->node, a->cfg->node) && rollout_step(a, r);
		l = local_find(s, r->key);
		if (l && l->pid > 0 && !agent_rt_is_running(a, r->key)) {
			pr_warn("sched: %s/%s exited; restarting", l->ns, l->pod);
			agent_rt_stop(a, r->key);
			agent_sidecar_stop(a, l);
			l->pid = 0;
		}
		if (!is_wanted || (!s->rt && !a->rl)) /* a rootless node runs them too */
			continue;
		/* One start per pass: claims renew and peers are judged in between. */
		if (needs_start(l) && n_starts++) {
			s->is_busy = true;
			if (l)
				l->is_wanted = true;
			continue;
		}
		is_start = needs_start(l);
		/*
		 * A start can take longer than the renewal period: renew the
		 * claim right before and right after it, and stop the replica
		 * at once if the claim was lost meanwhile (fencing).
		 */
		if (r->is_sts && is_start && claim_renew(a, r))
			continue;
		l = start_local(a, r);
		if (!l)
			continue;
		if (r->is_sts && is_start && l->pid > 0 && claim_renew(a, r)) {
			stop_local(a, l, "claim lost while starting");
			continue;
		}
		l->is_wanted = true;
		if (l->pid > 0 && !l->is_published)
			publish(a, r, l);
		agent_sidecar_tick(a, r, l);
	}
	for (i = s->n_local; i-- > 0;)
		if (!s->local[i].is_wanted && !is_old_generation_kept(a, &s->local[i]))
			stop_local(a, &s->local[i], "no longer placed here");
	release_orphans(a);
	sweep_daemon_endpoints(a);
}

/* See agent_sched.h. */
void agent_sched_tick(struct agent *a)
{
	int i;

	for (i = 0; i < BUS_BUCKET_NR; i++)
		if (!a->is_replayed[i])
			return;
	/* Cut off from the bus: keep the placement; claims fence themselves. */
	if (bus_is_connected(a->bus))
		place(a);
	if (a->sched.has_placement)
		act(a);
}
