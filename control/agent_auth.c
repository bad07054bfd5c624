// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mutual authentication run by the agent, on the agent's thread: which
 * (source, destination) identity pairs the enforced policy wants
 * authenticated from this node's replicas, handshakes for them through the
 * threads of agent_auth_hs.c (or, both replicas local, a check of both
 * documents), and the bm_auth entries: expiry = min(documents, --auth-ttl),
 * renewed at 2/3, never for a revoked identity.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include <abi/abi.h>

#include "agent_auth.h"
#include "agent_ident.h"
#include "agent_ident_priv.h"
#include "agent_priv.h"
#include "dataplane.h"
#include "ident_authz.h"
#include "ident_crl.h"
#include "ident_id.h"
#include "log.h"
#include "policy_eval.h"
#include "policy_model.h"

#define PAIRS_EVERY_MS 10000 /* and whenever the inputs change */
#define START_EVERY_MS 5000
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000

static bool is_revoked(const struct agent *a, const char *uri, uint32_t id)
{
	const struct agent_item *it;
	size_t i;

	for (i = 0; i < a->revoked.n; i++) {
		it = &a->revoked.v[i];
		if (it->id == id || (it->identity && !strcmp(it->identity, uri)))
			return true;
	}
	return false;
}

/* The numeric identity the enforced policy gives uri. */
static uint32_t sec_id_of(const struct agent *a, const char *uri)
{
	uint32_t id = 0;
	size_t i;

	for (i = 0; a->model && i < a->model->n_endpoints; i++)
		if (a->model->endpoints[i].identity_uri &&
		    !strcmp(a->model->endpoints[i].identity_uri, uri))
			return a->model->endpoints[i].sec_id;
	return ident_numeric_id(uri, &id) ? 0 : id;
}

static int write_pair(int fd, uint32_t src, uint32_t dst, uint64_t exp, uint64_t hs_id)
{
	struct bm_auth_key key = {.src_id = src, .dst_id = dst};
	struct bm_auth_value val = {.expires_boot_ns = exp, .handshake_id = hs_id};

	return bpf_map_update_elem(fd, &key, &val, BPF_ANY) ? -errno : 0;
}

/*
 * Write (src, dst) and (dst, src) valid until min(not_after, now + --auth-ttl).
 * Returns 0 with *life_ms, -EKEYREVOKED, -EKEYEXPIRED or -errno.
 */
static int grant(struct agent *a, const char *src, const char *dst, int64_t not_after,
		 uint64_t hs_id, uint64_t *life_ms)
{
	uint32_t src_id = sec_id_of(a, src), dst_id = sec_id_of(a, dst);
	int64_t ttl_ns =
		(a->cfg->auth_ttl_s ? a->cfg->auth_ttl_s : AGENT_IDENT_AUTH_TTL_S) * 1000000000LL;
	int fd = a->dp ? dp_map_fd(a->dp, BM_MAP_AUTH) : -1;
	struct ident_clock now;
	int64_t life_ns;
	int err;

	if (fd < 0 || !src_id || !dst_id)
		return -ENOENT;
	if (is_revoked(a, src, src_id) || is_revoked(a, dst, dst_id))
		return -EKEYREVOKED;
	ident_clock_now(&now);
	life_ns = not_after * 1000000000LL - now.real_ns;
	if (life_ns > ttl_ns)
		life_ns = ttl_ns;
	if (life_ns <= 0)
		return -EKEYEXPIRED;
	err = write_pair(fd, src_id, dst_id, now.boot_ns + (uint64_t)life_ns, hs_id);
	if (!err)
		err = write_pair(fd, dst_id, src_id, now.boot_ns + (uint64_t)life_ns, hs_id);
	*life_ms = (uint64_t)life_ns / 1000000;
	return err;
}

static void delete_pair(struct agent *a, const struct agent_auth_pair *p)
{
	struct bm_auth_key k1 = {.src_id = p->src_id, .dst_id = p->dst_id};
	struct bm_auth_key k2 = {.src_id = p->dst_id, .dst_id = p->src_id};
	int fd = a->dp ? dp_map_fd(a->dp, BM_MAP_AUTH) : -1;

	if (fd < 0)
		return;
	bpf_map_delete_elem(fd, &k1);
	bpf_map_delete_elem(fd, &k2);
}

/* The document of a local replica endpoint, when it is issued for that identity. */
static const struct agent_ident_rep *local_rep(const struct agent *a, const struct pm_endpoint *e)
{
	const struct agent_ident *ai = a->ident;
	size_t i;

	for (i = 0; i < ai->n_reps; i++)
		if (ai->reps[i].serial && !strcmp(ai->reps[i].pod, e->name) &&
		    !strcmp(ai->reps[i].ns, e->ns) && !strcmp(ai->reps[i].subject, e->identity_uri))
			return &ai->reps[i];
	return NULL;
}

/* Does the enforced policy require authentication from s to d on some port? */
static bool needs_auth(const struct pm_model *m, const struct pm_endpoint *s,
		       const struct pm_endpoint *d)
{
	struct pe_tuple t = {.proto = BM_PROTO_TCP, .sport = 40000, .dport = 1};
	struct pe_result r;
	size_t i, j, k;

	if (!s->n_addrs || !d->n_addrs || s->addrs[0].family != d->addrs[0].family)
		return false;
	t.family = s->addrs[0].family;
	memcpy(t.saddr, s->addrs[0].addr, sizeof(t.saddr));
	memcpy(t.daddr, d->addrs[0].addr, sizeof(t.daddr));
	if (!policy_eval(m, &t, NULL, &r) && r.is_auth_required)
		return true;
	for (i = 0; i < d->n_ports; i++) {
		t.proto = d->ports[i].proto;
		t.dport = d->ports[i].port;
		if (!policy_eval(m, &t, NULL, &r) && r.is_auth_required)
			return true;
	}
	/* Numeric ports of authenticated rules that the endpoint does not name. */
	for (i = 0; i < m->n_policies; i++)
		for (j = 0; m->policies[i].auth_required && j < m->policies[i].n_ingress; j++)
			for (k = 0; k < m->policies[i].ingress[j].n_ports; k++) {
				t.proto = m->policies[i].ingress[j].ports[k].proto;
				t.dport = m->policies[i].ingress[j].ports[k].port;
				if (t.dport && !policy_eval(m, &t, NULL, &r) && r.is_auth_required)
					return true;
			}
	return false;
}

/* The address of a live peer node, or NULL. */
static const char *peer_addr(const struct agent *a, const char *node)
{
	size_t i;

	for (i = 0; node && i < a->n_peers; i++)
		if (!strcmp(a->peers[i].name, node) && a->peers[i].is_alive)
			return json_string_value(json_object_get(a->peers[i].capacity, "address"));
	return NULL;
}

/* The pair src -> dst whose destination runs on node ("": here). */
static struct agent_auth_pair *pair_find(struct agent_ident *ai, const char *src, const char *dst,
					 const char *node)
{
	size_t i;

	for (i = 0; i < ai->n_pairs; i++)
		if (!strcmp(ai->pairs[i].src_uri, src) && !strcmp(ai->pairs[i].dst_uri, dst) &&
		    !strcmp(ai->pairs[i].node, node))
			return &ai->pairs[i];
	return NULL;
}

/*
 * Mark (or add) the pair from local replica r to endpoint d as wanted. One
 * pair per node that runs a replica of the destination identity: each of
 * those nodes' XDP checks its own bm_auth.
 */
static void want(struct agent *a, const struct agent_ident_rep *r, const struct pm_endpoint *s,
		 const struct pm_endpoint *d)
{
	struct agent_ident *ai = a->ident;
	const struct agent_ident_rep *dr = d->is_local ? local_rep(a, d) : NULL;
	const char *addr = d->is_local ? NULL : peer_addr(a, d->node_name);
	const char *node = d->is_local ? "" : d->node_name;
	struct agent_auth_pair *p, *grown;

	if ((!dr && !addr) || strlen(node) >= sizeof(p->node))
		return;
	p = pair_find(ai, s->identity_uri, d->identity_uri, node);
	if (!p) {
		grown = realloc(ai->pairs, (ai->n_pairs + 1) * sizeof(*grown));
		if (!grown)
			return;
		ai->pairs = grown;
		p = &ai->pairs[ai->n_pairs++];
		memset(p, 0, sizeof(*p));
		snprintf(p->src_uri, sizeof(p->src_uri), "%s", s->identity_uri);
		snprintf(p->dst_uri, sizeof(p->dst_uri), "%s", d->identity_uri);
		snprintf(p->node, sizeof(p->node), "%s", node);
		p->src_id = s->sec_id;
		p->dst_id = d->sec_id;
		p->backoff_ms = BACKOFF_MIN_MS;
	}
	p->is_wanted = true;
	snprintf(p->src_pod, sizeof(p->src_pod), "%s", r->pod);
	snprintf(p->dst_pod, sizeof(p->dst_pod), "%s", dr ? dr->pod : "");
	snprintf(p->addr, sizeof(p->addr), "%s", addr ? addr : "");
}

/* Does another pair (another node of the destination) keep pair i's entries? */
static bool is_shared(const struct agent_ident *ai, size_t i)
{
	const struct agent_auth_pair *p = &ai->pairs[i];
	size_t j;

	for (j = 0; j < ai->n_pairs; j++)
		if (j != i && (ai->pairs[j].is_wanted || ai->pairs[j].is_in_flight) &&
		    ai->pairs[j].src_id == p->src_id && ai->pairs[j].dst_id == p->dst_id)
			return true;
	return false;
}

/* Is e selected by an authenticated MeshPolicy for this direction? */
static bool in_auth_policy(const struct pm_model *m, const struct pm_endpoint *e, bool is_ingress)
{
	const struct pm_policy *p;
	size_t i;

	for (i = 0; i < m->n_policies; i++) {
		p = &m->policies[i];
		if (p->auth_required && (is_ingress ? p->has_ingress : p->has_egress) &&
		    !strcmp(p->ns, e->ns) && pm_selector_matches(&p->pod_selector, &e->labels))
			return true;
	}
	return false;
}

/*
 * Recompute the wanted pairs from the enforced model and the local
 * documents. Only endpoints an authenticated policy selects are judged
 * (ingress of the destination, egress of the source), so the cost follows
 * the authenticated part of the policy, not the endpoint count squared.
 */
static void find_pairs(struct agent *a)
{
	struct agent_ident *ai = a->ident;
	const struct pm_model *m = a->model;
	const struct agent_ident_rep *r;
	bool is_egress;
	size_t i, j;

	for (i = 0; i < ai->n_pairs; i++)
		ai->pairs[i].is_wanted = false;
	for (i = 0; m && i < m->n_endpoints; i++) {
		if (!m->endpoints[i].is_local || !m->endpoints[i].identity_uri)
			continue;
		r = local_rep(a, &m->endpoints[i]);
		is_egress = r && in_auth_policy(m, &m->endpoints[i], false);
		for (j = 0; r && j < m->n_endpoints; j++)
			if (j != i && m->endpoints[j].identity_uri &&
			    (is_egress || in_auth_policy(m, &m->endpoints[j], true)) &&
			    needs_auth(m, &m->endpoints[i], &m->endpoints[j]))
				want(a, r, &m->endpoints[i], &m->endpoints[j]);
	}
	for (i = ai->n_pairs; i-- > 0;) {
		if (ai->pairs[i].is_wanted || ai->pairs[i].is_in_flight)
			continue;
		if (ai->pairs[i].expires_ms && !is_shared(ai, i))
			delete_pair(a, &ai->pairs[i]);
		pr_info("auth: %s -> %s no longer needed here", ai->pairs[i].src_uri,
			ai->pairs[i].dst_uri);
		ai->pairs[i] = ai->pairs[--ai->n_pairs];
	}
}

static void settle(struct agent_auth_pair *p, int err, uint64_t life_ms)
{
	uint64_t now = agent_now_ms();

	if (err) {
		p->next_ms = now + p->backoff_ms;
		pr_warn("auth: %s -> %s on %s: %s (next try in %u ms)", p->src_uri, p->dst_uri,
			p->node[0] ? p->node : "this node", strerror(-err), p->backoff_ms);
		p->backoff_ms =
			p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
		return;
	}
	if (!p->expires_ms && p->addr[0])
		pr_info("auth: %s -> %s authenticated for %llu ms (handshake with %s at %s: %llu "
			"ms)",
			p->src_uri, p->dst_uri, (unsigned long long)life_ms, p->node, p->addr,
			(unsigned long long)(now - p->sent_ms));
	else if (!p->expires_ms)
		pr_info("auth: %s -> %s authenticated for %llu ms (both local)", p->src_uri,
			p->dst_uri, (unsigned long long)life_ms);
	p->backoff_ms = BACKOFF_MIN_MS;
	p->expires_ms = now + life_ms;
	p->next_ms = now + life_ms * 2 / 3;
}

/* Both replicas local: check both documents here and grant. */
static int grant_local(struct agent *a, struct agent_auth_pair *p, uint64_t *life_ms)
{
	const struct agent_ident *ai = a->ident;
	const char *pods[2] = {p->src_pod, p->dst_pod}, *uris[2] = {p->src_uri, p->dst_uri};
	char path[IDENT_PATH_MAX];
	int64_t not_after = INT64_MAX;
	struct ident_crl crl;
	struct ident_doc doc;
	int i, err;

	ident_crl_init(&crl);
	err = ident_crl_load(ai->dir, &ai->trust, &crl);
	for (i = 0; !err && i < 2; i++) {
		err = agent_replica_identity_path(a, pods[i], path, sizeof(path));
		if (!err)
			err = ident_doc_load(path, &doc);
		if (!err)
			err = ident_doc_verify(&doc, &ai->trust, &crl, (int64_t)time(NULL), 0,
					       NULL);
		if (!err && strcmp(doc.certs[0].subject, uris[i]))
			err = -EKEYREJECTED;
		if (!err && ident_doc_not_after(&doc) < not_after)
			not_after = ident_doc_not_after(&doc);
	}
	ident_crl_release(&crl);
	return err ? err : grant(a, p->src_uri, p->dst_uri, not_after, 0, life_ms);
}

static void start_handshake(struct agent *a, struct agent_auth_pair *p)
{
	struct agent_auth_job *job = calloc(1, sizeof(*job));
	unsigned int port = a->cfg->auth_port ? a->cfg->auth_port : AGENT_IDENT_AUTH_PORT;

	if (!job ||
	    agent_replica_identity_path(a, p->src_pod, job->src_doc, sizeof(job->src_doc))) {
		free(job);
		return;
	}
	snprintf(job->src_uri, sizeof(job->src_uri), "%s", p->src_uri);
	snprintf(job->dst_uri, sizeof(job->dst_uri), "%s", p->dst_uri);
	snprintf(job->addr, sizeof(job->addr), "%s", p->addr);
	snprintf(job->node, sizeof(job->node), "%s", p->node);
	job->port = port;
	if (agent_auth_hs_submit(a->ident->hs, job)) {
		free(job);
		p->next_ms = agent_now_ms() + BACKOFF_MIN_MS;
		return;
	}
	p->is_in_flight = true;
	p->sent_ms = agent_now_ms();
}

/* Start what is due: revoked pairs wait (their entries are swept). */
static void drive_pairs(struct agent *a)
{
	struct agent_ident *ai = a->ident;
	uint64_t now = agent_now_ms(), life_ms = 0;
	struct agent_auth_pair *p;
	size_t i;
	int err;

	for (i = 0; i < ai->n_pairs; i++) {
		p = &ai->pairs[i];
		if (!p->is_wanted || p->is_in_flight || now < p->next_ms)
			continue;
		if (is_revoked(a, p->src_uri, p->src_id) || is_revoked(a, p->dst_uri, p->dst_id)) {
			p->expires_ms = 0;
			p->next_ms = now + BACKOFF_MAX_MS;
			continue;
		}
		if (p->dst_pod[0]) {
			err = grant_local(a, p, &life_ms); /* before settle() reads life_ms */
			settle(p, err, life_ms);
		} else if (ai->hs && p->addr[0]) {
			start_handshake(a, p);
		}
	}
}

/* A finished handshake: count it, check revocations now, grant. */
static void finish(struct agent *a, struct agent_auth_job *job)
{
	struct agent_auth_pair *p = NULL;
	uint64_t life_ms = 0;
	int err = job->err;

	if (!job->is_server) {
		p = pair_find(a->ident, job->src_uri, job->dst_uri, job->node);
		if (p)
			p->is_in_flight = false;
	}
	if (!err)
		err = job->is_server ? grant(a, job->peer_uri, job->local_uri, job->not_after,
					     job->handshake_id, &life_ms)
				     : grant(a, job->local_uri, job->peer_uri, job->not_after,
					     job->handshake_id, &life_ms);
	if (err)
		a->n_handshake_failures++;
	else
		a->n_handshakes++;
	if (p)
		settle(p, err, life_ms);
	else if (job->is_server && err)
		pr_info("auth: handshake from a peer refused: %s", strerror(-err));
	else if (job->is_server)
		pr_debug("auth: %s -> %s authenticated (peer's handshake)", job->peer_uri,
			 job->local_uri);
}

static void start_listener(struct agent *a)
{
	struct agent_ident *ai = a->ident;
	unsigned int port = a->cfg->auth_port ? a->cfg->auth_port : AGENT_IDENT_AUTH_PORT;
	char addr[INET_ADDRSTRLEN];
	int err;

	if (ai->hs || a->cfg->is_auth_off || !a->dp || agent_now_ms() < ai->next_start_ms)
		return;
	ai->next_start_ms = agent_now_ms() + START_EVERY_MS;
	agent_iface_addr(a->cfg->uplink, addr, sizeof(addr));
	if (!addr[0]) {
		if (!ai->is_auth_told)
			pr_info("auth: no uplink address yet: no handshakes");
		ai->is_auth_told = true;
		return;
	}
	err = agent_auth_hs_start(ai->dir, addr, port, &ai->hs);
	if (err)
		pr_warn("auth: listen on %s port %u: %s", addr, port, strerror(-err));
	else
		pr_info("auth: handshakes on %s port %u (%d at once, %d ms each at most)", addr,
			port, AGENT_AUTH_WORKERS, AGENT_AUTH_TIMEOUT_MS);
}

/* Tell the server side which documents it may present. */
static void publish_served(struct agent *a)
{
	struct agent_ident *ai = a->ident;
	const char **uris = calloc(ai->n_reps + 1, sizeof(*uris));
	char **paths = calloc(ai->n_reps + 1, sizeof(*paths));
	size_t i, n = 0;

	for (i = 0; uris && paths && i < ai->n_reps; i++) {
		paths[n] = malloc(IDENT_PATH_MAX);
		if (!paths[n] || !ai->reps[i].serial ||
		    agent_replica_identity_path(a, ai->reps[i].pod, paths[n], IDENT_PATH_MAX)) {
			free(paths[n]);
			continue;
		}
		uris[n++] = ai->reps[i].subject;
	}
	if (uris && paths)
		agent_auth_hs_serve(ai->hs, uris, (const char *const *)paths, n);
	for (i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
	free(uris);
}

static uint64_t mix(uint64_t h, const char *p)
{
	for (; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h * 31 + 7;
}

/* What the pairs depend on: installs, local documents, live peers and their addresses. */
static uint64_t inputs_sig(const struct agent *a)
{
	const struct agent_ident *ai = a->ident;
	uint64_t h = 1469598103934665603ULL ^ a->n_installs ^ (uint64_t)(uintptr_t)a->model;
	size_t i;

	for (i = 0; i < ai->n_reps; i++)
		h = mix(h, ai->reps[i].serial ? ai->reps[i].pod : "-");
	for (i = 0; i < a->n_peers; i++)
		if (a->peers[i].is_alive)
			h = mix(mix(h, a->peers[i].name),
				json_string_value(
					json_object_get(a->peers[i].capacity, "address")));
	return h;
}

/* See agent_auth.h. */
void agent_auth_tick(struct agent *a)
{
	struct agent_ident *ai = a->ident;
	struct agent_auth_job *job;
	uint64_t sig;

	if (!ai->is_enrolled || a->cfg->is_auth_off || !a->dp)
		return;
	start_listener(a);
	while (ai->hs && (job = agent_auth_hs_done(ai->hs))) {
		finish(a, job);
		free(job);
	}
	sig = inputs_sig(a);
	if (agent_now_ms() >= ai->next_pairs_ms || sig != ai->pairs_sig) {
		ai->next_pairs_ms = agent_now_ms() + PAIRS_EVERY_MS;
		ai->pairs_sig = sig;
		if (ai->hs)
			publish_served(a);
		find_pairs(a);
	}
	drive_pairs(a);
}

/* See agent_auth.h. */
void agent_auth_close(struct agent *a)
{
	if (!a->ident)
		return;
	agent_auth_hs_stop(a->ident->hs);
	a->ident->hs = NULL;
	free(a->ident->pairs);
	a->ident->pairs = NULL;
	a->ident->n_pairs = 0;
}
