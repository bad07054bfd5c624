// SPDX-License-Identifier: GPL-2.0-only
/* The workload model as placement inputs (see sched_expand.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_expand.h"

static bool is_placed_kind(enum wl_kind kind)
{
	return kind == WL_POD || kind == WL_DEPLOYMENT || kind == WL_STATEFULSET;
}

static int add_node(struct sched_batch *b, const struct wl_object *o)
{
	struct sched_node *n = &b->nodes[b->n_nodes];
	struct sched_taint *t = calloc(o->n_taints ? o->n_taints : 1, sizeof(*t));
	size_t i;

	if (!t)
		return -ENOMEM;
	for (i = 0; i < o->n_taints; i++)
		t[i] = (struct sched_taint){o->taints[i].key, o->taints[i].value,
					    o->taints[i].effect};
	b->taints[b->n_nodes++] = t;
	*n = (struct sched_node){.name = o->name,
				 .cpu_milli = o->allocatable.cpu_milli,
				 .mem_bytes = o->allocatable.mem_bytes,
				 .labels = &o->labels,
				 .taints = t,
				 .n_taints = o->n_taints};
	return 0;
}

static int add_replica(struct sched_batch *b, const struct wl_object *o, uint32_t index)
{
	char **key = &b->keys[b->n_reps];
	int len;

	if (o->kind == WL_DEPLOYMENT)
		len = asprintf(key, "%s/%s/%s/%u", o->ns, o->name, o->pod.template_hash, index);
	else
		len = asprintf(key, "%s/%s/%u", o->ns, o->name, index);
	if (len < 0) {
		*key = NULL;
		return -ENOMEM;
	}
	b->reps[b->n_reps] = (struct sched_replica){
		.key = *key, .pod = &o->pod, .req = wl_pod_requests(&o->pod)};
	b->owner[b->n_reps++] = o;
	return 0;
}

static int alloc_batch(const struct wl_model *m, struct sched_batch *b)
{
	size_t i, n_nodes = 0, n_reps = 0;

	for (i = 0; i < m->n_objs; i++) {
		n_nodes += m->objs[i].kind == WL_NODE;
		n_reps += is_placed_kind(m->objs[i].kind) ? m->objs[i].replicas : 0;
	}
	b->nodes = calloc(n_nodes ? n_nodes : 1, sizeof(*b->nodes));
	b->taints = calloc(n_nodes ? n_nodes : 1, sizeof(*b->taints));
	b->reps = calloc(n_reps ? n_reps : 1, sizeof(*b->reps));
	b->owner = calloc(n_reps ? n_reps : 1, sizeof(*b->owner));
	b->keys = calloc(n_reps ? n_reps : 1, sizeof(*b->keys));
	return b->nodes && b->taints && b->reps && b->owner && b->keys ? 0 : -ENOMEM;
}

/* See sched_expand.h. */
int sched_batch_from_model(const struct wl_model *m, struct sched_batch *b)
{
	const struct wl_object *o;
	int err;
	size_t i;
	uint32_t r;

	memset(b, 0, sizeof(*b));
	err = alloc_batch(m, b);
	for (i = 0; !err && i < m->n_objs; i++) {
		o = &m->objs[i];
		if (o->kind == WL_NODE)
			err = add_node(b, o);
		for (r = 0; !err && is_placed_kind(o->kind) && r < o->replicas; r++)
			err = add_replica(b, o, r);
	}
	if (err)
		sched_batch_release(b);
	return err;
}

/* See sched_expand.h. */
void sched_batch_release(struct sched_batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; b->taints && i < b->n_nodes; i++)
		free(b->taints[i]);
	for (i = 0; b->keys && i < b->n_reps; i++)
		free(b->keys[i]);
	free(b->nodes);
	free(b->taints);
	free(b->reps);
	free(b->owner);
	free(b->keys);
	memset(b, 0, sizeof(*b));
}
