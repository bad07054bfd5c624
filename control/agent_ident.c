// SPDX-License-Identifier: GPL-2.0-only
/*
 * Workload documents for the replicas the agent runs: issued with the
 * node's enrolled identity, renewed at 2/3 of their lifetime, deleted with
 * the replica (agent_ident.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "agent.h"
#include "agent_auth.h"
#include "agent_ident.h"
#include "agent_ident_priv.h"
#include "agent_priv.h"
#include "agent_sched.h"
#include "ident_issue.h"
#include "log.h"
#include "workload_model.h"

#define LOOK_AGAIN_S 2 /* not enrolled: look for node.doc again */
#define RETRY_S 5 /* a failed issue */
#define SWEEP_MS 1000
#define DEFAULT_TRUST_DOMAIN "cluster.local" /* the workload model's, wl_load_opts */

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int bad(const char *opt, const char *v, const char *want)
{
	fprintf(stderr, "bpfmesh: agent: %s '%s': %s\n", opt, v, want);
	return -EINVAL;
}

/* See agent_ident.h. */
int agent_ident_opt(struct agent_config *c, const char *opt, const char *v)
{
	int64_t s;
	char *end;
	unsigned long port;

	if (!strcmp(opt, "--workload-ttl")) {
		if (ident_parse_duration(v, &s) || s < AGENT_IDENT_WORKLOAD_TTL_MIN_S ||
		    s > IDENT_WORKLOAD_TTL_MAX_S)
			return bad(opt, v, "want a duration from 3s to 7d such as 1h");
		c->workload_ttl_s = s;
	} else if (!strcmp(opt, "--auth-ttl")) {
		if (ident_parse_duration(v, &s) || s > 86400)
			return bad(opt, v, "want a duration from 1s to 1d such as 5m");
		c->auth_ttl_s = s;
	} else if (!strcmp(opt, "--auth-port")) {
		errno = 0;
		port = strtoul(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || errno || port > 65535)
			return bad(opt, v, "want a TCP port (0: no handshakes)");
		c->auth_port = (unsigned int)port;
		c->is_auth_off = !port;
	} else {
		return 1;
	}
	return 0;
}

static int rep_path(const struct agent_ident *ai, const char *pod, const char *suffix, char *out,
		    size_t cap)
{
	int n = snprintf(out, cap, "%s/%s.id%s", ai->rep_dir, pod, suffix);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static void remove_files(const struct agent_ident *ai, const char *pod)
{
	char path[IDENT_PATH_MAX];

	if (!rep_path(ai, pod, "", path, sizeof(path)) && unlink(path) && errno != ENOENT)
		pr_warn("ident: remove %s: %s", path, strerror(errno));
	if (!rep_path(ai, pod, ".key", path, sizeof(path)) && unlink(path) && errno != ENOENT)
		pr_warn("ident: remove %s: %s", path, strerror(errno));
}

/* Load and check the node's identity; 0 when enrolled. */
static int load_node(struct agent_ident *ai, const char *state_dir)
{
	char path[IDENT_PATH_MAX];
	struct ident_crl crl;
	int err;

	err = ident_store_dir(state_dir, 0, ai->dir, sizeof(ai->dir));
	if (!err)
		err = ident_trust_load(ai->dir, &ai->trust);
	if (!err)
		err = ident_store_path(ai->dir, IDENT_FILE_NODE_DOC, path, sizeof(path));
	if (!err)
		err = ident_doc_load(path, &ai->node);
	if (!err && (ai->node.n_certs != 1 || ai->node.certs[0].kind != IDENT_KIND_NODE))
		err = -EPROTO;
	ident_crl_init(&crl);
	if (!err)
		err = ident_crl_load(ai->dir, &ai->trust, &crl);
	if (!err)
		err = ident_doc_verify(&ai->node, &ai->trust, &crl, now_s(), IDENT_DEFAULT_SKEW_S,
				       NULL);
	ident_crl_release(&crl);
	if (!err)
		err = ident_store_path(ai->dir, IDENT_FILE_NODE_KEY, path, sizeof(path));
	if (!err && !ident_file_exists(path))
		err = -ENOENT;
	return err;
}

static void look_for_node(struct agent *a)
{
	const char *domain = a->cfg->trust_domain ? a->cfg->trust_domain : DEFAULT_TRUST_DOMAIN;
	struct agent_ident *ai = a->ident;
	int err;

	if (ai->is_enrolled || now_s() < ai->next_look_s)
		return;
	ai->next_look_s = now_s() + LOOK_AGAIN_S;
	err = load_node(ai, a->cfg->state_dir);
	if (err) {
		if (!ai->is_told)
			pr_info("agent: no enrolled node identity in %s/identity (%s): replicas "
				"get "
				"no workload identity until `bpfmesh identity enroll` is done",
				a->cfg->state_dir,
				ident_verify_is_verdict(err) ? ident_verify_reason(err)
							     : strerror(-err));
		ai->is_told = true;
		return;
	}
	ai->is_enrolled = true;
	pr_info("agent: node identity %s: replicas get workload identities (%lld s, renewed at "
		"2/3)",
		ai->node.certs[0].subject, (long long)ai->ttl_s);
	if (strcmp(domain, ai->trust.domain))
		pr_warn("agent: --trust-domain %s differs from the enrolled trust domain %s: "
			"replica documents name %s, policies and endpoints %s",
			domain, ai->trust.domain, ai->trust.domain, domain);
}

/* Delete the files of pods that do not run here (left by a crash or an earlier agent). */
static void sweep_files(struct agent *a)
{
	struct agent_ident *ai = a->ident;
	char pod[256];
	struct dirent *de;
	size_t i, len;
	DIR *d;

	d = opendir(ai->rep_dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (len < 4 || len - 3 >= sizeof(pod) || strcmp(de->d_name + len - 3, ".id"))
			continue;
		snprintf(pod, sizeof(pod), "%.*s", (int)(len - 3), de->d_name);
		for (i = 0; i < a->sched.n_local; i++)
			if (!strcmp(a->sched.local[i].pod, pod))
				break;
		if (i == a->sched.n_local) {
			remove_files(ai, pod);
			pr_info("ident: removed the document of %s (not running here)", pod);
		}
	}
	closedir(d);
}

/* See agent_ident.h. */
int agent_ident_open(struct agent *a)
{
	struct agent_ident *ai = calloc(1, sizeof(*ai));
	int n;

	if (!ai)
		return -ENOMEM;
	a->ident = ai;
	ai->ttl_s = a->cfg->workload_ttl_s ? a->cfg->workload_ttl_s : AGENT_IDENT_WORKLOAD_TTL_S;
	n = snprintf(ai->rep_dir, sizeof(ai->rep_dir), "%s/" AGENT_IDENT_REPLICA_DIR,
		     a->cfg->state_dir);
	if (n < 0 || (size_t)n >= sizeof(ai->rep_dir))
		return -ENAMETOOLONG;
	look_for_node(a);
	sweep_files(a);
	return 0;
}

static void rep_free(struct agent_ident_rep *r)
{
	free(r->key);
	free(r->ns);
	free(r->pod);
}

/* See agent_ident.h. */
void agent_ident_close(struct agent *a)
{
	struct agent_ident *ai = a->ident;
	size_t i;

	if (!ai)
		return;
	agent_auth_close(a);
	for (i = 0; i < ai->n_reps; i++)
		rep_free(&ai->reps[i]);
	free(ai->reps);
	sodium_memzero(ai, sizeof(*ai));
	free(ai);
	a->ident = NULL;
}

static struct agent_ident_rep *rep_find(const struct agent_ident *ai, const char *key,
					const char *pod)
{
	size_t i;

	for (i = 0; ai && i < ai->n_reps; i++)
		if ((key && !strcmp(ai->reps[i].key, key)) ||
		    (pod && !strcmp(ai->reps[i].pod, pod)))
			return &ai->reps[i];
	return NULL;
}

static void rep_drop(struct agent_ident *ai, struct agent_ident_rep *r)
{
	remove_files(ai, r->pod);
	rep_free(r);
	*r = ai->reps[--ai->n_reps];
}

/* Issue r's document now and store both files; key first (a stray key is harmless). */
static int issue(struct agent_ident *ai, struct agent_ident_rep *r, int64_t now)
{
	uint8_t node_sk[crypto_sign_SECRETKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char path[IDENT_PATH_MAX], key_path[IDENT_PATH_MAX];
	struct ident_doc doc;
	int err;

	err = ident_store_path(ai->dir, IDENT_FILE_NODE_KEY, path, sizeof(path));
	if (!err)
		err = ident_key_load(path, node_sk);
	if (!err)
		err = ident_issue_workload(&ai->node, node_sk, r->subject, now, ai->ttl_s, &doc,
					   sk);
	sodium_memzero(node_sk, sizeof(node_sk));
	if (!err && (mkdir(ai->rep_dir, 0700) && errno != EEXIST))
		err = -errno;
	if (!err)
		err = rep_path(ai, r->pod, ".key", key_path, sizeof(key_path));
	if (!err)
		err = rep_path(ai, r->pod, "", path, sizeof(path));
	if (!err)
		err = ident_key_save(key_path, sk);
	sodium_memzero(sk, sizeof(sk));
	if (!err)
		err = ident_doc_save(path, &doc);
	if (err) {
		r->retry_at = now + RETRY_S;
		pr_warn("ident: issue %s to %s/%s: %s (retried in %d s)", r->subject, r->ns, r->pod,
			strerror(-err), RETRY_S);
		return err;
	}
	pr_info("ident: %s %s to %s/%s (serial 0x%016llx, %lld s)",
		r->serial ? "renewed" : "issued", r->subject, r->ns, r->pod,
		(unsigned long long)doc.certs[0].serial, (long long)(doc.certs[0].not_after - now));
	r->serial = doc.certs[0].serial;
	r->not_after = doc.certs[0].not_after;
	r->renew_at = now + (r->not_after - now) * 2 / 3;
	r->retry_at = 0;
	return 0;
}

static struct agent_ident_rep *rep_add(struct agent_ident *ai, const char *key, const char *ns,
				       const char *pod)
{
	struct agent_ident_rep *grown, *r;

	grown = realloc(ai->reps, (ai->n_reps + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	ai->reps = grown;
	r = &ai->reps[ai->n_reps];
	memset(r, 0, sizeof(*r));
	r->key = strdup(key);
	r->ns = strdup(ns);
	r->pod = strdup(pod);
	if (!r->key || !r->ns || !r->pod) {
		rep_free(r);
		return NULL;
	}
	ai->n_reps++;
	return r;
}

/* See agent_ident.h. */
int agent_ident_replica_started(struct agent *a, const char *key, const char *ns, const char *pod,
				const char *sa)
{
	struct agent_ident *ai = a->ident;
	char subject[IDENT_SUBJECT_MAX + 1];
	struct agent_ident_rep *r;
	int err;

	if (!ai || !ai->is_enrolled)
		return -ENOENT;
	err = ident_workload_spiffe_id(ai->trust.domain, ns, sa ? sa : "default", subject,
				       sizeof(subject));
	if (!err && (!*pod || strchr(pod, '/') || pod[0] == '.'))
		err = -EINVAL;
	if (err) {
		pr_warn("ident: no identity for %s/%s (service account %s): %s", ns, pod,
			sa ? sa : "default", strerror(-err));
		return err;
	}
	r = rep_find(ai, NULL, pod);
	if (r && strcmp(r->key, key)) {
		pr_warn("ident: pod name %s of %s is taken by %s: no identity", pod, key, r->key);
		return -EEXIST;
	}
	r = rep_find(ai, key, NULL);
	if (r && r->serial && !strcmp(r->subject, subject) && now_s() < r->renew_at)
		return 0; /* holds a valid one (adopted and started again) */
	if (r && strcmp(r->pod, pod)) {
		rep_drop(ai, r);
		r = NULL;
	}
	if (!r)
		r = rep_add(ai, key, ns, pod);
	if (!r)
		return -ENOMEM;
	snprintf(r->subject, sizeof(r->subject), "%s", subject);
	return issue(ai, r, now_s());
}

/* See agent_ident.h. */
void agent_ident_replica_stopped(struct agent *a, const char *key)
{
	struct agent_ident_rep *r = rep_find(a->ident, key, NULL);

	if (!r)
		return;
	pr_info("ident: document of %s/%s (%s) removed", r->ns, r->pod, r->subject);
	rep_drop(a->ident, r);
}

static const struct agent_replica *placed(const struct agent *a, const char *key)
{
	size_t i;

	for (i = 0; i < a->sched.n_reps; i++)
		if (!strcmp(a->sched.reps[i].key, key))
			return &a->sched.reps[i];
	return NULL;
}

/* Documents for running local replicas that have none (adopted after a restart). */
static void issue_missing(struct agent *a)
{
	const struct agent_replica *r;
	const struct agent_local *l;
	size_t i;

	for (i = 0; i < a->sched.n_local; i++) {
		l = &a->sched.local[i];
		if (l->pid <= 0 || rep_find(a->ident, l->key, NULL))
			continue;
		r = placed(a, l->key);
		if (r)
			agent_ident_replica_started(a, l->key, l->ns, l->pod,
						    r->obj->pod.service_account);
	}
}

/* Documents of replicas that no longer run here. */
static void drop_gone(struct agent *a)
{
	struct agent_ident *ai = a->ident;
	size_t i, j;

	for (i = ai->n_reps; i-- > 0;) {
		for (j = 0; j < a->sched.n_local; j++)
			if (!strcmp(a->sched.local[j].key, ai->reps[i].key) &&
			    a->sched.local[j].pid > 0)
				break;
		if (j < a->sched.n_local)
			continue;
		pr_info("ident: document of %s/%s removed (replica gone)", ai->reps[i].ns,
			ai->reps[i].pod);
		rep_drop(ai, &ai->reps[i]);
	}
}

/* See agent_ident.h. */
void agent_ident_tick(struct agent *a)
{
	struct agent_ident *ai = a->ident;
	int64_t now = now_s();
	size_t i;

	if (!ai)
		return;
	look_for_node(a);
	if (!ai->is_enrolled)
		return;
	for (i = 0; i < ai->n_reps; i++) {
		struct agent_ident_rep *r = &ai->reps[i];

		if (r->retry_at ? now >= r->retry_at : now >= r->renew_at)
			issue(ai, r, now);
	}
	agent_auth_tick(a);
	if ((int64_t)agent_now_ms() < ai->next_sweep_ms)
		return;
	ai->next_sweep_ms = (int64_t)agent_now_ms() + SWEEP_MS;
	issue_missing(a);
	drop_gone(a);
}

/* See agent_ident.h. */
int agent_replica_identity_path(const struct agent *a, const char *pod, char *out, size_t cap)
{
	const struct agent_ident_rep *r = rep_find(a->ident, NULL, pod);

	if (!r || !r->serial)
		return -ENOENT;
	return rep_path(a->ident, pod, "", out, cap);
}

/* See agent_ident.h. */
int agent_identity_dir(const struct agent *a, char *out, size_t cap)
{
	int n;

	if (!a->ident || !a->ident->is_enrolled)
		return -ENOENT;
	n = snprintf(out, cap, "%s", a->ident->dir);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
