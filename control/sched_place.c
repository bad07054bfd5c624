// SPDX-License-Identifier: GPL-2.0-only
/*
 * Weighted rendezvous placement with bounded loads (see sched_place.h for the
 * rules). Everything here is a pure function of its inputs: no clocks, no
 * randomness, no dependence on the order nodes or replicas are given in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched_priv.h"

/* Replicas sharing placement constraints: which nodes match, bucket weights. */
struct cls {
	uint64_t hash;
	uint8_t *is_fit; /* per node */
	double bucket_w[SCHED_BUCKETS];
};

struct state {
	const struct sched_view *v;
	const struct sched_replica *reps;
	double load_factor;
	struct cls *classes;
	size_t n_classes;
	uint32_t *cls_of; /* per replica */
	uint64_t *key_hash; /* per replica */
	uint32_t *order; /* canonical replica order */
	uint64_t *used_cpu, *used_mem, *load, *limit; /* per node */
	unsigned int slack_pct; /* the bound is limit * (100 + slack_pct) / 100 */
};

static unsigned int bucket_of(uint64_t node_hash)
{
	return (unsigned int)(node_hash >> 57); /* top 7 bits: 128 buckets */
}

/* See sched_place.h. */
uint64_t sched_hash_str(const char *s)
{
	return sched_mix(sched_fnv(SCHED_FNV_OFFSET, s));
}

/*
 * ln(u) for a normal u in (0,1), by the atanh series on the mantissa, in
 * plain IEEE additions, multiplications and one division: every node must
 * get the same bits, and libm's log() may differ between versions and
 * machines. ln(m) = 2 (s + s^3/3 + s^5/5 + ...), s = (m-1)/(m+1).
 */
static double ln_unit(double u)
{
	static const double inv_odd[] = {
		1.0 / 23, 1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13,
		1.0 / 11, 1.0 / 9,  1.0 / 7,  1.0 / 5,	1.0 / 3,  1.0,
	};
	const double ln2 = 0.6931471805599453094, sqrt2 = 1.4142135623730950488;
	double m, s, s2, poly = 0;
	uint64_t bits;
	unsigned int k;
	int e;

	memcpy(&bits, &u, sizeof(bits));
	e = (int)((bits >> 52) & 0x7ff) - 1023;
	bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
	memcpy(&m, &bits, sizeof(m)); /* u = m * 2^e, m in [1, 2) */
	if (m > sqrt2) {
		m *= 0.5;
		e++;
	}
	s = (m - 1) / (m + 1); /* |s| < 0.172: 12 terms reach double precision */
	s2 = s * s;
	for (k = 0; k < sizeof(inv_odd) / sizeof(inv_odd[0]); k++)
		poly = poly * s2 + inv_odd[k];
	return 2 * s * poly + e * ln2;
}

/* See sched_place.h. u is in (0,1) exclusive, so ln(u) < 0 and the score is finite. */
double sched_score(uint64_t node_hash, uint64_t key_hash, double weight)
{
	uint64_t h = sched_mix(key_hash ^ (node_hash * 0x9e3779b97f4a7c15ULL));
	double u = ((double)(h >> 11) + 0.5) * (1.0 / 9007199254740992.0);

	return -weight / ln_unit(u);
}

/* See sched_place.h. */
int sched_view_init(struct sched_view *v, const struct sched_node *nodes, size_t n)
{
	uint32_t fill[SCHED_BUCKETS] = {0};
	unsigned int b;
	size_t i;

	memset(v, 0, sizeof(*v));
	v->nodes = nodes;
	v->n = n;
	v->hash = calloc(n ? n : 1, sizeof(*v->hash));
	v->by_bucket = calloc(n ? n : 1, sizeof(*v->by_bucket));
	if (!v->hash || !v->by_bucket) {
		sched_view_release(v);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		v->hash[i] = sched_hash_str(nodes[i].name);
		v->bucket_start[bucket_of(v->hash[i]) + 1]++;
		v->total_cpu_milli += nodes[i].cpu_milli;
	}
	for (b = 0; b < SCHED_BUCKETS; b++)
		v->bucket_start[b + 1] += v->bucket_start[b];
	for (i = 0; i < n; i++) {
		b = bucket_of(v->hash[i]);
		v->by_bucket[v->bucket_start[b] + fill[b]++] = (uint32_t)i;
	}
	return 0;
}

/* See sched_place.h. */
void sched_view_release(struct sched_view *v)
{
	if (!v)
		return;
	free(v->hash);
	free(v->by_bucket);
	v->hash = NULL;
	v->by_bucket = NULL;
}

/* See sched_place.h. */
uint64_t sched_load_of(const struct sched_replica *r)
{
	return r->req.cpu_milli > SCHED_MIN_CPU_MILLI ? r->req.cpu_milli : SCHED_MIN_CPU_MILLI;
}

static bool has_room(const struct state *s, uint32_t j, const struct sched_replica *r,
		     bool is_bounded)
{
	const struct sched_node *n = &s->v->nodes[j];

	if (s->used_cpu[j] + r->req.cpu_milli > n->cpu_milli ||
	    s->used_mem[j] + r->req.mem_bytes > n->mem_bytes)
		return false;
	return !is_bounded || !s->load[j] ||
	       (s->load[j] + sched_load_of(r)) * 100 <= s->limit[j] * (100 + s->slack_pct);
}

static void account(struct state *s, int32_t j, uint32_t i, int sign)
{
	const struct sched_replica *r = &s->reps[i];

	s->used_cpu[j] += (uint64_t)sign * r->req.cpu_milli;
	s->used_mem[j] += (uint64_t)sign * r->req.mem_bytes;
	s->load[j] += (uint64_t)sign * sched_load_of(r);
}

enum room_mode {
	ROOM_IGNORE, /* the first choice by constraints alone */
	ROOM_BOUNDED, /* resources and the load bound */
	ROOM_RESOURCES, /* resources only: the fallback */
};

/* Best node of bucket b for replica i, or -1. */
static int32_t best_in_bucket(const struct state *s, const struct cls *c, unsigned int b,
			      uint32_t i, enum room_mode mode)
{
	const struct sched_view *v = s->v;
	double score, best_score = -1;
	int32_t best = -1;
	uint32_t k, j;

	for (k = v->bucket_start[b]; k < v->bucket_start[b + 1]; k++) {
		j = v->by_bucket[k];
		if (!c->is_fit[j] || v->nodes[j].cpu_milli < s->reps[i].req.cpu_milli)
			continue;
		if (mode != ROOM_IGNORE && !has_room(s, j, &s->reps[i], mode == ROOM_BOUNDED))
			continue;
		score = sched_score(v->hash[j], s->key_hash[i], (double)v->nodes[j].cpu_milli);
		if (score > best_score ||
		    (score == best_score && strcmp(v->nodes[j].name, v->nodes[best].name) < 0)) {
			best_score = score;
			best = (int32_t)j;
		}
	}
	/* a constraints hash collision would be caught here, never placed wrongly */
	if (best >= 0 && !sched_node_fits(&v->nodes[best], &s->reps[i]))
		return -1;
	return best;
}

/* Walk buckets in rendezvous order; the first bucket with a taker decides. */
static int32_t choose(const struct state *s, uint32_t i, enum room_mode mode)
{
	const struct cls *c = &s->classes[s->cls_of[i]];
	double score[SCHED_BUCKETS], best_score;
	unsigned int b, best_b, tries;
	int32_t j;

	for (b = 0; b < SCHED_BUCKETS; b++)
		score[b] = c->bucket_w[b] > 0
				   ? sched_score(sched_mix(b + 1), s->key_hash[i], c->bucket_w[b])
				   : -1;
	for (tries = 0; tries < SCHED_BUCKETS; tries++) {
		best_b = 0;
		best_score = -1;
		for (b = 0; b < SCHED_BUCKETS; b++) {
			if (score[b] > best_score) {
				best_score = score[b];
				best_b = b;
			}
		}
		if (best_score < 0)
			break;
		score[best_b] = -1;
		j = best_in_bucket(s, c, best_b, i, mode);
		if (j >= 0)
			return j;
	}
	return -1;
}

/*
 * The first choice within the load bound; when every fitting node is at its
 * bound (large replicas late in a batch, or constraints that concentrate
 * load), the bound is relaxed step by step before resources alone decide.
 */
static int32_t place_one(struct state *s, uint32_t i)
{
	static const unsigned int slack_pct[] = {0, 10, 25, 50, 100, 300};
	int32_t j = -1;
	size_t k;

	for (k = 0; j < 0 && k < sizeof(slack_pct) / sizeof(slack_pct[0]); k++) {
		s->slack_pct = slack_pct[k];
		j = choose(s, i, ROOM_BOUNDED);
	}
	s->slack_pct = 0;
	return j >= 0 ? j : choose(s, i, ROOM_RESOURCES);
}

static int cmp_rep(const void *a, const void *b, void *arg)
{
	const struct state *s = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (s->key_hash[x] != s->key_hash[y])
		return s->key_hash[x] < s->key_hash[y] ? -1 : 1;
	return strcmp(s->reps[x].key, s->reps[y].key);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Fill one class: which nodes match, and the matching weight of every bucket. */
static int init_class(struct state *s, struct cls *c, const struct wl_pod_spec *pod)
{
	const struct sched_view *v = s->v;
	size_t j;

	c->is_fit = calloc(v->n ? v->n : 1, 1);
	if (!c->is_fit)
		return -ENOMEM;
	for (j = 0; j < v->n; j++) {
		c->is_fit[j] = sched_node_matches(&v->nodes[j], pod);
		if (c->is_fit[j])
			c->bucket_w[bucket_of(v->hash[j])] += (double)v->nodes[j].cpu_milli;
	}
	return 0;
}

/* Index of the class with hash h in the sorted, unique s->classes. */
static uint32_t find_class(const struct state *s, uint64_t h)
{
	size_t lo = 0, hi = s->n_classes, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (s->classes[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

/* Group replicas by constraints hash; each class's fit is computed once. */
static int init_classes(struct state *s, size_t n)
{
	uint64_t *own = calloc(n ? n : 1, sizeof(*own));
	uint64_t *sorted = calloc(n ? n : 1, sizeof(*sorted));
	int err = -ENOMEM;
	size_t i;

	s->classes = calloc(n ? n : 1, sizeof(*s->classes));
	if (!own || !sorted || !s->classes)
		goto out;
	for (i = 0; i < n; i++)
		own[i] = sorted[i] = sched_constraints_hash(s->reps[i].pod);
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), cmp_u64);
	for (i = 0; i < n; i++)
		if (!i || sorted[i] != sorted[i - 1])
			s->classes[s->n_classes++].hash = sorted[i];
	err = 0;
	for (i = 0; i < n && !err; i++) {
		s->cls_of[i] = find_class(s, own[i]);
		if (!s->classes[s->cls_of[i]].is_fit)
			err = init_class(s, &s->classes[s->cls_of[i]], s->reps[i].pod);
	}
out:
	free(own);
	free(sorted);
	return err;
}

static void free_state(struct state *s)
{
	size_t i;

	for (i = 0; s->classes && i < s->n_classes; i++)
		free(s->classes[i].is_fit);
	free(s->classes);
	free(s->cls_of);
	free(s->key_hash);
	free(s->order);
	free(s->used_cpu);
	free(s->used_mem);
	free(s->load);
	free(s->limit);
}

/*
 * The load bound of every node: load_factor times the mean utilisation.
 * Without a base, the mean is over the whole view. With one (a topic placed
 * after others, sched_topic.h), it is over the nodes some replica here fits:
 * the base load of the nodes outside them cannot take these replicas and
 * would only lower the bound below what the fitting nodes must carry.
 */
static void set_limits(struct state *s, size_t n, const struct sched_load *base)
{
	double mean_util, total_load = 0, total_cpu = 0;
	size_t i, c;
	bool is_in;

	for (i = 0; i < n; i++)
		total_load += (double)sched_load_of(&s->reps[i]);
	for (i = 0; i < s->v->n; i++) {
		for (c = 0, is_in = !base; !is_in && c < s->n_classes; c++)
			is_in = s->classes[c].is_fit[i];
		if (!is_in)
			continue;
		total_cpu += (double)s->v->nodes[i].cpu_milli;
		total_load += base ? (double)base[i].load : 0;
	}
	mean_util = total_cpu > 0 ? total_load / total_cpu : 0;
	for (i = 0; i < s->v->n; i++) /* + 1: rounds up, like ceil() without libm */
		s->limit[i] =
			(uint64_t)(s->load_factor * mean_util * (double)s->v->nodes[i].cpu_milli) +
			1;
}

static int init_state(struct state *s, size_t n, const struct sched_load *base)
{
	size_t nn = s->v->n ? s->v->n : 1, nr = n ? n : 1, i;
	int err;

	s->cls_of = calloc(nr, sizeof(*s->cls_of));
	s->key_hash = calloc(nr, sizeof(*s->key_hash));
	s->order = calloc(nr, sizeof(*s->order));
	s->used_cpu = calloc(nn, sizeof(*s->used_cpu));
	s->used_mem = calloc(nn, sizeof(*s->used_mem));
	s->load = calloc(nn, sizeof(*s->load));
	s->limit = calloc(nn, sizeof(*s->limit));
	if (!s->cls_of || !s->key_hash || !s->order || !s->used_cpu || !s->used_mem || !s->load ||
	    !s->limit)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		s->key_hash[i] = sched_hash_str(s->reps[i].key);
		s->order[i] = (uint32_t)i;
	}
	for (i = 0; base && i < s->v->n; i++) {
		s->used_cpu[i] = base[i].cpu_milli;
		s->used_mem[i] = base[i].mem_bytes;
		s->load[i] = base[i].load;
	}
	qsort_r(s->order, n, sizeof(*s->order), cmp_rep, s);
	err = init_classes(s, n);
	if (err)
		return err;
	set_limits(s, n, base);
	return 0;
}

/* Keep replicas on their previous node while it is here, fits and has room. */
static void keep_previous(struct state *s, size_t n, const int32_t *prev, int32_t *out)
{
	uint32_t i;
	size_t k;
	int32_t p;

	for (k = 0; k < n; k++) {
		i = s->order[k];
		p = prev[i];
		if (p < 0 || (size_t)p >= s->v->n || !s->classes[s->cls_of[i]].is_fit[p] ||
		    !sched_node_fits(&s->v->nodes[p], &s->reps[i]) ||
		    !has_room(s, (uint32_t)p, &s->reps[i], false))
			continue;
		out[i] = p;
		account(s, p, i, 1);
	}
}

/* A kept replica moves to a joined node only if that is its first choice and has room. */
static void move_to_joined(struct state *s, size_t n, const bool *is_joined, int32_t *out)
{
	uint32_t i;
	int32_t top;
	size_t k;

	for (k = 0; k < n; k++) {
		i = s->order[k];
		if (out[i] < 0)
			continue;
		top = choose(s, i, ROOM_IGNORE);
		if (top < 0 || top == out[i] || !is_joined[top] ||
		    !has_room(s, (uint32_t)top, &s->reps[i], true))
			continue;
		account(s, out[i], i, -1);
		out[i] = top;
		account(s, top, i, 1);
	}
}

/* See sched_place.h. */
int sched_place(const struct sched_view *v, const struct sched_replica *reps, size_t n,
		const struct sched_opts *opts, int32_t *out)
{
	struct state s = {.v = v, .reps = reps, .load_factor = SCHED_LOAD_FACTOR_DEFAULT};
	int err, n_unplaced = 0;
	uint32_t i;
	size_t k;

	if (opts && opts->load_factor >= 1)
		s.load_factor = opts->load_factor;
	for (k = 0; k < n; k++)
		out[k] = -1;
	err = init_state(&s, n, opts ? opts->base : NULL);
	if (err)
		goto out;
	if (opts && opts->prev)
		keep_previous(&s, n, opts->prev, out);
	if (opts && opts->prev && opts->is_joined)
		move_to_joined(&s, n, opts->is_joined, out);
	for (k = 0; k < n; k++) {
		i = s.order[k];
		if (out[i] >= 0)
			continue;
		out[i] = place_one(&s, i);
		if (out[i] >= 0)
			account(&s, out[i], i, 1);
		else
			n_unplaced++;
	}
	err = n_unplaced;
out:
	free_state(&s);
	return err;
}
