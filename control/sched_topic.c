// SPDX-License-Identifier: GPL-2.0-only
/* Placement topics: derivation, subscription rule, per-topic placement (sched_topic.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_priv.h"
#include "sched_topic.h"

#define CORE_MILLI 1000ULL
#define GIB (1ULL << 30)

/* The smallest c with amount <= unit * 2^c, capped at the last class. */
static uint8_t class_of(uint64_t amount, uint64_t unit)
{
	uint8_t c = 0;

	while (c < SCHED_TOPIC_CLASSES - 1 && amount > unit << c)
		c++;
	return c;
}

/* Could a node with allocatable amount fit some request of class c? */
static bool covers(uint64_t amount, uint64_t unit, uint8_t c)
{
	return c == 0 || amount > unit << (c - 1);
}

static uint64_t pair_hash(const char *key, const char *value)
{
	uint64_t h = sched_mix(sched_fnv(sched_fnv(sched_fnv(SCHED_FNV_OFFSET, key), "="), value));

	return h ? h : 1;
}

/* See sched_topic.h. */
void sched_topic_of(const struct sched_replica *r, struct sched_topic *t)
{
	const struct pm_label *first = NULL, *l;
	size_t i;
	int c;

	t->cpu_class = class_of(r->req.cpu_milli, CORE_MILLI);
	t->mem_class = class_of(r->req.mem_bytes, GIB);
	t->selector = 0;
	for (i = 0; r->pod && i < r->pod->node_selector.n; i++) {
		l = &r->pod->node_selector.items[i];
		c = first ? strcmp(l->key, first->key) : -1;
		if (c < 0 || (c == 0 && strcmp(l->value, first->value) < 0))
			first = l;
	}
	if (first)
		t->selector = pair_hash(first->key, first->value);
}

/* See sched_topic.h. */
bool sched_node_serves(const struct sched_node *node, const struct sched_topic *t)
{
	size_t i;

	if (!covers(node->cpu_milli, CORE_MILLI, t->cpu_class) ||
	    !covers(node->mem_bytes, GIB, t->mem_class))
		return false;
	if (!t->selector)
		return true;
	for (i = 0; node->labels && i < node->labels->n; i++)
		if (pair_hash(node->labels->items[i].key, node->labels->items[i].value) ==
		    t->selector)
			return true;
	return false;
}

static int fits_in(int n, size_t len)
{
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

/* See sched_topic.h. */
int sched_topic_key(const struct sched_topic *t, char *buf, size_t len)
{
	if (t->selector)
		return fits_in(snprintf(buf, len, "c%um%u.s%016llx", t->cpu_class, t->mem_class,
					(unsigned long long)t->selector),
			       len);
	return fits_in(snprintf(buf, len, "c%um%u.any", t->cpu_class, t->mem_class), len);
}

/* See sched_topic.h. */
int sched_topic_subject(const struct sched_topic *t, char *buf, size_t len)
{
	char key[SCHED_TOPIC_SUBJECT_MAX];

	if (sched_topic_key(t, key, sizeof(key)) < 0)
		return -ENOSPC;
	return fits_in(snprintf(buf, len, "bpfmesh.v1.sched.req.%s", key), len);
}

/* See sched_topic.h. */
int sched_label_token(const char *key, const char *value, char *buf, size_t len)
{
	return fits_in(snprintf(buf, len, "s%016llx", (unsigned long long)pair_hash(key, value)),
		       len);
}

/* See sched_topic.h. */
int sched_object_key(const struct wl_object *o, char *buf, size_t len)
{
	struct sched_replica r = {.pod = &o->pod};
	char topic[SCHED_TOPIC_SUBJECT_MAX];
	struct sched_topic t;

	if (o->kind != WL_POD && o->kind != WL_DEPLOYMENT && o->kind != WL_STATEFULSET &&
	    o->kind != WL_DAEMONSET)
		return fits_in(snprintf(buf, len, "%s.%s.%s", o->ns, wl_kind_name(o->kind), o->name),
			       len);
	r.req = wl_pod_requests(&o->pod);
	sched_topic_of(&r, &t);
	if (sched_topic_key(&t, topic, sizeof(topic)) < 0)
		return -ENOSPC;
	return fits_in(snprintf(buf, len, SCHED_REQ_KEY_PREFIX ".%s.%s.%s.%s", topic, o->ns,
				wl_kind_name(o->kind), o->name),
		       len);
}

struct topic_ref {
	struct sched_topic t;
	size_t idx;
};

/*
 * Topics in placement order: every "any" topic first, then by selector;
 * within those by CPU class, then memory class. A topic a node serves comes
 * after every topic it dominates (dominates(), below).
 */
static int topic_cmp(const struct sched_topic *x, const struct sched_topic *y)
{
	if ((x->selector != 0) != (y->selector != 0))
		return x->selector ? 1 : -1;
	if (x->selector != y->selector)
		return x->selector < y->selector ? -1 : 1;
	if (x->cpu_class != y->cpu_class)
		return x->cpu_class < y->cpu_class ? -1 : 1;
	if (x->mem_class != y->mem_class)
		return x->mem_class < y->mem_class ? -1 : 1;
	return 0;
}

static int topic_ref_cmp(const void *a, const void *b)
{
	const struct topic_ref *x = a, *y = b;
	int c = topic_cmp(&x->t, &y->t);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Does every node that serves t also serve u (u != t)? Then t's placement
 * starts from u's: its subscribers all have u's requests too. Holds when u's
 * classes are no larger and its selector is "any" or t's.
 */
static bool dominates(const struct sched_topic *t, const struct sched_topic *u)
{
	return u->cpu_class <= t->cpu_class && u->mem_class <= t->mem_class &&
	       (!u->selector || u->selector == t->selector) && topic_cmp(t, u) != 0;
}

struct by_topic {
	struct topic_ref *refs; /* sorted by topic */
	size_t *starts; /* per topic, its first ref; starts[n_topics] = n */
	size_t n_topics;
	struct sched_replica *sub;
	int32_t *sub_prev, *sub_out;
	struct sched_load *base; /* per node */
};

/* The load of the topics topic k dominates, from their placements in out. */
static void base_of(struct by_topic *b, const struct sched_view *v,
		    const struct sched_replica *reps, const int32_t *out, size_t k)
{
	const struct sched_replica *r;
	size_t u, i;
	int32_t j;

	memset(b->base, 0, v->n * sizeof(*b->base));
	for (u = 0; u < k; u++) {
		if (!dominates(&b->refs[b->starts[k]].t, &b->refs[b->starts[u]].t))
			continue;
		for (i = b->starts[u]; i < b->starts[u + 1]; i++) {
			r = &reps[b->refs[i].idx];
			j = out[b->refs[i].idx];
			if (j < 0)
				continue;
			b->base[j].cpu_milli += r->req.cpu_milli;
			b->base[j].mem_bytes += r->req.mem_bytes;
			b->base[j].load += sched_load_of(r);
		}
	}
}

static int by_topic_init(struct by_topic *b, const struct sched_view *v,
			 const struct sched_replica *reps, size_t n, bool has_prev)
{
	size_t i;

	b->refs = malloc(n * sizeof(*b->refs));
	b->starts = malloc((n + 1) * sizeof(*b->starts));
	b->sub = malloc(n * sizeof(*b->sub));
	b->sub_out = malloc(n * sizeof(*b->sub_out));
	b->sub_prev = has_prev ? malloc(n * sizeof(*b->sub_prev)) : NULL;
	b->base = malloc((v->n ? v->n : 1) * sizeof(*b->base));
	if (!b->refs || !b->starts || !b->sub || !b->sub_out || (has_prev && !b->sub_prev) ||
	    !b->base)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		sched_topic_of(&reps[i], &b->refs[i].t);
		b->refs[i].idx = i;
	}
	qsort(b->refs, n, sizeof(*b->refs), topic_ref_cmp);
	for (i = 0; i < n; i++)
		if (!i || topic_cmp(&b->refs[i].t, &b->refs[i - 1].t))
			b->starts[b->n_topics++] = i;
	b->starts[b->n_topics] = n;
	return 0;
}

static void by_topic_release(struct by_topic *b)
{
	free(b->refs);
	free(b->starts);
	free(b->sub);
	free(b->sub_prev);
	free(b->sub_out);
	free(b->base);
}

/* See sched_topic.h. */
int sched_place_by_topic(const struct sched_view *v, const struct sched_replica *reps, size_t n,
			 const struct sched_opts *opts, int32_t *out, size_t *n_topics)
{
	struct sched_opts o = opts ? *opts : (struct sched_opts){0};
	const int32_t *prev = opts ? opts->prev : NULL;
	struct by_topic b = {0};
	int unplaced = 0, err;
	size_t k, i, m;

	if (n_topics)
		*n_topics = 0;
	if (!n)
		return 0;
	err = by_topic_init(&b, v, reps, n, prev != NULL);
	if (err)
		goto out;
	o.prev = b.sub_prev;
	o.base = b.base;
	for (k = 0; k < b.n_topics; k++) {
		m = b.starts[k + 1] - b.starts[k];
		for (i = 0; i < m; i++) {
			b.sub[i] = reps[b.refs[b.starts[k] + i].idx];
			if (prev)
				b.sub_prev[i] = prev[b.refs[b.starts[k] + i].idx];
		}
		base_of(&b, v, reps, out, k);
		err = sched_place(v, b.sub, m, &o, b.sub_out);
		if (err < 0)
			goto out;
		unplaced += err;
		for (i = 0; i < m; i++)
			out[b.refs[b.starts[k] + i].idx] = b.sub_out[i];
	}
	if (n_topics)
		*n_topics = b.n_topics;
	err = unplaced;
out:
	by_topic_release(&b);
	return err;
}
