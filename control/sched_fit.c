// SPDX-License-Identifier: GPL-2.0-only
/* Which nodes a replica may run on: resources, node selector, node affinity, taints. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched_priv.h"

static const char *label(const struct sched_node *node, const char *key)
{
	return node->labels ? pm_labels_get(node->labels, key) : NULL;
}

static bool parse_ll(const char *s, long long *out)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !errno && !*end;
}

static bool expr_matches(const struct sched_node *node, const struct wl_node_expr *e)
{
	const char *v = label(node, e->key);
	long long have, want;
	size_t i;
	bool is_in = false;

	for (i = 0; v && i < e->n_values; i++)
		is_in |= !strcmp(v, e->values[i]);
	switch (e->op) {
	case WL_NODE_IN:
		return is_in;
	case WL_NODE_NOT_IN:
		return !is_in;
	case WL_NODE_EXISTS:
		return v != NULL;
	case WL_NODE_DOES_NOT_EXIST:
		return v == NULL;
	case WL_NODE_GT:
	case WL_NODE_LT:
		if (e->n_values != 1 || !parse_ll(v, &have) || !parse_ll(e->values[0], &want))
			return false;
		return e->op == WL_NODE_GT ? have > want : have < want;
	}
	return false;
}

/* Terms are ORed, a term's expressions ANDed; an empty term matches nothing. */
static bool affinity_matches(const struct sched_node *node, const struct wl_pod_spec *pod)
{
	const struct wl_node_term *t;
	size_t i, j;
	bool ok;

	for (i = 0; i < pod->n_terms; i++) {
		t = &pod->terms[i];
		for (j = 0, ok = t->n_exprs > 0; ok && j < t->n_exprs; j++)
			ok = expr_matches(node, &t->exprs[j]);
		if (ok)
			return true;
	}
	return !pod->n_terms;
}

static bool tolerates(const struct wl_toleration *t, const struct sched_taint *taint)
{
	if (t->key && strcmp(t->key, taint->key))
		return false;
	if (t->effect != WL_EFFECT_ANY && t->effect != taint->effect)
		return false;
	return t->is_exists || !strcmp(t->value ? t->value : "", taint->value ? taint->value : "");
}

/* PreferNoSchedule is a preference, not a rule: it never excludes a node. */
static bool taints_tolerated(const struct sched_node *node, const struct wl_pod_spec *pod)
{
	const struct sched_taint *taint;
	size_t i, j;
	bool ok;

	for (i = 0; i < node->n_taints; i++) {
		taint = &node->taints[i];
		if (taint->effect == WL_EFFECT_PREFER_NO_SCHEDULE)
			continue;
		for (j = 0, ok = false; !ok && pod && j < pod->n_tolerations; j++)
			ok = tolerates(&pod->tolerations[j], taint);
		if (!ok)
			return false;
	}
	return true;
}

/* See sched_priv.h. */
bool sched_node_matches(const struct sched_node *node, const struct wl_pod_spec *pod)
{
	const struct pm_label *l;
	const char *v;
	size_t i;

	if (!pod)
		return taints_tolerated(node, NULL);
	for (i = 0; i < pod->node_selector.n; i++) {
		l = &pod->node_selector.items[i];
		v = label(node, l->key);
		if (!v || strcmp(v, l->value))
			return false;
	}
	return affinity_matches(node, pod) && taints_tolerated(node, pod);
}

/* See sched_place.h. */
bool sched_node_fits(const struct sched_node *node, const struct sched_replica *r)
{
	return r->req.cpu_milli <= node->cpu_milli && r->req.mem_bytes <= node->mem_bytes &&
	       sched_node_matches(node, r->pod);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	/* then a separator, so "ab","c" != "a","bc" */
	return (sched_fnv(h, s) ^ 0xff) * 0x100000001b3ULL;
}

/* See sched_priv.h. */
uint64_t sched_constraints_hash(const struct wl_pod_spec *pod)
{
	uint64_t h = SCHED_FNV_OFFSET;
	const struct wl_toleration *t;
	const struct wl_node_expr *e;
	size_t i, j, k;

	if (!pod)
		return h;
	for (i = 0; i < pod->node_selector.n; i++)
		h = mix_str(mix_str(h, pod->node_selector.items[i].key),
			    pod->node_selector.items[i].value);
	for (i = 0; i < pod->n_terms; i++) {
		h = mix_str(h, "|term");
		for (j = 0; j < pod->terms[i].n_exprs; j++) {
			e = &pod->terms[i].exprs[j];
			h = mix_str(h, e->key) + e->op;
			for (k = 0; k < e->n_values; k++)
				h = mix_str(h, e->values[k]);
		}
	}
	for (i = 0; i < pod->n_tolerations; i++) {
		t = &pod->tolerations[i];
		h = mix_str(mix_str(mix_str(h, "|tol"), t->key ? t->key : "*"), t->value) +
		    (uint64_t)t->effect * 2 + t->is_exists;
	}
	return sched_mix(h);
}
