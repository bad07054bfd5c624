// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rolling updates in the agent (docs/scheduler.md, "Rolling updates without
 * a controller"): a Deployment's generations are its template hashes. The
 * workloads bucket holds only the current template; older generations exist
 * as the replicas still running, which the endpoints bucket shows (pod name
 * NAME-HASH-INDEX, on an alive node). From those counts every agent computes
 * the same sched_rollout() targets and runs a replica of generation g only
 * while its INDEX is below g's target: the current generation grows within
 * maxSurge, older ones shrink within maxUnavailable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"
#include "agent_sched_priv.h"
#include "sched_rollout.h"

struct gen {
	char hash[11];
	uint32_t running;
	uint64_t first_rev; /* the oldest endpoint revision: generation age */
};

/* "NAME-HASH-INDEX" of Deployment name: hash (10 hex digits) and index. */
static bool parse_pod(const char *pod, const char *name, char *hash, uint32_t *index)
{
	size_t n = strlen(name);
	unsigned long v;
	char *end;
	size_t i;

	if (strncmp(pod, name, n) || pod[n] != '-' || strlen(pod + n + 1) < 12 ||
	    pod[n + 11] != '-')
		return false;
	for (i = 0; i < 10; i++)
		if (!strchr("0123456789abcdef", pod[n + 1 + i]) || !pod[n + 1 + i])
			return false;
	v = strtoul(pod + n + 12, &end, 10);
	if (*end || end == pod + n + 12 || v > UINT32_MAX)
		return false;
	memcpy(hash, pod + n + 1, 10);
	hash[10] = '\0';
	*index = (uint32_t)v;
	return true;
}

static bool is_alive(const json_t *view, const char *node)
{
	const json_t *e;
	size_t i;

	json_array_foreach (view, i, e)
		if (node && !strcmp(json_string_value(json_object_get(e, "name")), node))
			return true;
	return false;
}

/* Count o's replicas per generation from the endpoints on alive nodes. */
static size_t gather(const struct agent *a, const struct wl_object *o, struct gen *gens)
{
	const struct agent_item *it;
	const char *node, *dot;
	char hash[11];
	size_t i, g, n = 0;
	uint32_t index;
	json_t *doc;

	for (i = 0; i < a->endpoints.n; i++) {
		it = &a->endpoints.v[i];
		dot = strchr(it->key, '.');
		if (!dot || strncmp(it->key, o->ns, (size_t)(dot - it->key)) ||
		    o->ns[dot - it->key] || !parse_pod(dot + 1, o->name, hash, &index))
			continue;
		doc = it->doc ? json_loads(it->doc, 0, NULL) : NULL;
		node = json_string_value(json_object_get(json_object_get(doc, "spec"), "nodeName"));
		if (is_alive(a->sched.view, node)) {
			for (g = 0; g < n && strcmp(gens[g].hash, hash); g++)
				;
			if (g == n && n < AGENT_ROLLOUT_GENS - 1) {
				memset(&gens[n], 0, sizeof(gens[n]));
				memcpy(gens[n].hash, hash, sizeof(hash));
				gens[n++].first_rev = it->rev;
			}
			if (g < n) {
				gens[g].running++;
				gens[g].first_rev =
					it->rev < gens[g].first_rev ? it->rev : gens[g].first_rev;
			}
		}
		json_decref(doc);
	}
	return n;
}

static int by_age(const void *x, const void *y)
{
	const struct gen *a = x, *b = y;

	return a->first_rev < b->first_rev ? -1 : a->first_rev > b->first_rev;
}

/* Compute o's generation targets into the per-pass cache c. */
static void targets(const struct agent *a, const struct wl_object *o, struct agent_rollout *c)
{
	struct sched_generation sg[AGENT_ROLLOUT_GENS];
	struct gen gens[AGENT_ROLLOUT_GENS];
	size_t i, n, cur = SIZE_MAX;

	n = gather(a, o, gens);
	for (i = 0; i < n; i++)
		if (!strcmp(gens[i].hash, o->pod.template_hash))
			cur = i;
	if (cur == SIZE_MAX) { /* no replica of the current template yet */
		if (n == AGENT_ROLLOUT_GENS)
			n--; /* drop the newest old one: the current one must take part */
		memset(&gens[n], 0, sizeof(gens[n]));
		memcpy(gens[n].hash, o->pod.template_hash, sizeof(gens[n].hash));
		cur = n++;
	}
	gens[cur].first_rev = UINT64_MAX; /* the current template is the newest */
	qsort(gens, n, sizeof(gens[0]), by_age);
	for (i = 0; i < n; i++) {
		sg[i] = (struct sched_generation){.running = gens[i].running,
						  .ready = gens[i].running};
		memcpy(c->hash[i], gens[i].hash, sizeof(c->hash[i]));
	}
	sched_rollout(o->replicas, &o->max_surge, &o->max_unavailable, sg, n, c->target);
	c->n = n;
	c->obj = o;
	c->pass = a->sched.pass;
}

/* See agent_sched_priv.h. */
bool agent_rollout_wants(struct agent *a, const struct wl_object *o, const char *hash,
			 uint32_t index)
{
	struct agent_rollout *c = &a->sched.rollout;
	size_t i;

	if (o->kind != WL_DEPLOYMENT)
		return true;
	if (c->obj != o || c->pass != a->sched.pass)
		targets(a, o, c);
	for (i = 0; i < c->n; i++)
		if (!strcmp(c->hash[i], hash))
			return index < c->target[i];
	return false; /* an old generation with no replica left: never again */
}

/* See agent_sched_priv.h. */
const struct wl_object *agent_rollout_owner(const struct agent *a, const char *key, char *hash,
					    uint32_t *index)
{
	const struct wl_model *m = a->sched.model;
	char ns[64], name[256];
	unsigned long v;
	char *end;
	size_t i;

	/* NS/NAME/HASH/INDEX */
	if (!m || sscanf(key, "%63[^/]/%255[^/]/%10[0-9a-f]/", ns, name, hash) != 3 ||
	    strlen(hash) != 10)
		return NULL;
	end = strrchr(key, '/');
	v = strtoul(end + 1, &end, 10);
	if (*end || v > UINT32_MAX)
		return NULL;
	*index = (uint32_t)v;
	for (i = 0; i < m->n_objs; i++)
		if (m->objs[i].kind == WL_DEPLOYMENT && !strcmp(m->objs[i].ns, ns) &&
		    !strcmp(m->objs[i].name, name))
			return &m->objs[i];
	return NULL;
}
