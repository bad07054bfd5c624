// SPDX-License-Identifier: GPL-2.0-only
/*
 * The second half of the policy compiler: policy entries. For each subject
 * class isolated in a direction, the rules of its selecting policies are
 * spread over the peer classes they name (via feature -> classes), so the
 * work is proportional to the entries produced, never subject x peer. For
 * each {subject, peer, direction, protocol} the allowing rules become
 * disjoint port ranges, each carrying its deciding rule (policy_eval.h
 * step 5). Rules without peers go to {subject, ANY} and are folded into
 * every specific entry of the subject. The six protocols of one {subject,
 * direction, peer} share a BM_PROTO_ANY entry where that saves entries
 * (emit_group(), bpf/abi/policy.h). A range list of two or more goes to the
 * range pool once (pool_slice()); every entry with that list points at it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_sort.h"
#include "policy_compile_priv.h"
#include "tables_eval.h"

#define NR_PROTOS 6

static const uint8_t protos[NR_PROTOS] = {
	BM_PROTO_ICMP, BM_PROTO_TCP, BM_PROTO_UDP, BM_PROTO_ICMPV6, BM_PROTO_SCTP, BM_PROTO_OTHER,
};

/* A port range some rule allows, or (after painting) a compiled segment. */
struct seg {
	uint32_t lo;
	uint32_t hi;
	uint32_t rule_id;
	uint32_t flags; /* BM_RANGE_F_* */
};

struct seg_vec {
	struct seg *v;
	size_t n;
	size_t cap;
};

/*
 * Which range lists the pool (TABLES_RANGES) already holds: open addressing
 * over the slices, by content, so that equal lists share one slice.
 */
struct pool_index {
	uint32_t *first; /* slice start + 1; 0: free */
	uint32_t *len;
	size_t cap; /* a power of two */
	size_t n;
};

/* Reused buffers: one compile allocates them once. */
struct scratch {
	struct pool_index pool;
	struct seg_vec items[NR_PROTOS];
	struct seg_vec any[NR_PROTOS]; /* the {subject, ANY} segments */
	struct seg_vec out[NR_PROTOS];
	uint64_t *pairs; /* peer class << 32 | rule id */
	size_t n_pairs;
	size_t cap_pairs;
	struct cc_vec any_rules;
	struct cc_vec rules; /* one peer's rules */
	struct cc_vec subject_rules;
	uint32_t *bounds;
	uint32_t *owner;
	uint32_t *next;
	size_t cap_bounds;
};

/* The entry being compiled. */
struct entry {
	uint32_t subject;
	uint32_t peer;
	uint8_t dir;
};

/* See policy_compile_priv.h. */
void cc_warn(struct compile_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->rep->nr_warnings < COMPILE_MAX_WARNINGS) {
		va_start(ap, fmt);
		vsnprintf(c->rep->warnings[c->rep->nr_warnings], COMPILE_MSG_LEN, fmt, ap);
		va_end(ap);
	}
	c->rep->nr_warnings++;
}

/* See policy_compile_priv.h. The first error wins. */
void cc_error(struct compile_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->rep->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->rep->error, COMPILE_MSG_LEN, fmt, ap);
	va_end(ap);
}

static int proto_index(uint8_t proto)
{
	int i;

	for (i = 0; i < NR_PROTOS; i++) {
		if (protos[i] == proto)
			return i;
	}
	return -1;
}

static int seg_push(struct seg_vec *v, uint32_t lo, uint32_t hi, uint32_t rule_id, uint32_t flags)
{
	struct seg *nv;
	size_t cap;

	if (v->n == v->cap) {
		cap = v->cap ? v->cap * 2 : 16;
		nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = (struct seg){lo, hi, rule_id, flags};
	return 0;
}

/* Named port name_id/proto of the class dst (the destination), as items. */
static int push_named(const struct compile_ctx *c, uint32_t dst, uint32_t name_id, uint8_t proto,
		      struct seg_vec *items, uint32_t rule_id, uint32_t flags)
{
	const uint32_t *a, *b;
	size_t na, nb, i;
	const struct cc_np *np;
	int err;

	if (dst < BM_CLASS_FIRST)
		return 0;
	cc_class_sig(c, dst, &a, &na, &b, &nb);
	for (i = 0; i < na; i++) {
		if (a[i] < c->n_groups || a[i] >= c->n_groups + c->n_nps)
			continue;
		np = &c->nps[a[i] - c->n_groups];
		if (np->name_id != name_id || np->proto != proto)
			continue;
		err = seg_push(items, np->port, np->port, rule_id, flags);
		if (err)
			return err;
	}
	return 0;
}

static int push_port(struct compile_ctx *c, const struct entry *e, uint32_t rid, size_t i,
		     struct scratch *s)
{
	const struct cc_rule *cr = &c->rules[rid];
	const struct pm_port *pt = &cr->r->ports[i];
	uint32_t flags = cr->is_auth ? BM_RANGE_F_AUTH : 0;
	uint32_t name_id = c->port_names.v[cr->name_off + i];
	int pi = proto_index(pt->proto);
	struct seg_vec *items;

	if (pi < 0 || (pt->proto != BM_PROTO_TCP && pt->proto != BM_PROTO_UDP &&
		       pt->proto != BM_PROTO_SCTP)) {
		cc_warn(c, "rule %u: port protocol %u ignored", rid, pt->proto);
		return 0;
	}
	items = &s->items[pi];
	if (!pt->has_port)
		return seg_push(items, 0, 65535, rid, flags);
	if (name_id != CC_NONE)
		return push_named(c, e->dir == BM_DIR_INGRESS ? e->subject : e->peer, name_id,
				  pt->proto, items, rid, flags);
	if (!pt->end_port)
		return seg_push(items, pt->port, pt->port, rid, flags);
	if (pt->end_port < pt->port)
		return 0;
	return seg_push(items, pt->port, pt->end_port, rid, flags);
}

/* What the rules allow towards the entry, per protocol, as overlapping items. */
static int collect_items(struct compile_ctx *c, const struct entry *e, const struct cc_vec *rules,
			 struct scratch *s)
{
	const struct cc_rule *cr;
	size_t i, j;
	int k, err = 0;

	for (k = 0; k < NR_PROTOS; k++)
		s->items[k].n = 0;
	for (i = 0; i < rules->n && !err; i++) {
		cr = &c->rules[rules->v[i]];
		for (k = 0; k < NR_PROTOS && !cr->r->n_ports && !err; k++)
			err = seg_push(&s->items[k], 0, 65535, rules->v[i],
				       cr->is_auth ? BM_RANGE_F_AUTH : 0);
		for (j = 0; j < cr->r->n_ports && !err; j++)
			err = push_port(c, e, rules->v[i], j, s);
	}
	return err;
}

/*
 * Step 5 order: authenticating rules first, then the lowest rule id. Items
 * of one rule carry the same rule and flags, so their order does not matter.
 */
static inline bool priority_less(const struct seg *x, const struct seg *y)
{
	if ((x->flags & BM_RANGE_F_AUTH) != (y->flags & BM_RANGE_F_AUTH))
		return x->flags & BM_RANGE_F_AUTH;
	return x->rule_id < y->rule_id;
}

#define PRIORITY_LESS(ctx, a, b) priority_less(a, b)
CC_SORT_DEFINE(sort_priority, struct seg, PRIORITY_LESS)
#define U32_LESS(ctx, a, b) (*(a) < *(b))
CC_SORT_DEFINE(sort_u32, uint32_t, U32_LESS)
#define U64_LESS(ctx, a, b) (*(a) < *(b))
CC_SORT_DEFINE(sort_u64, uint64_t, U64_LESS)

static uint32_t find_next(uint32_t *next, uint32_t k)
{
	uint32_t root = k, t;

	while (next[root] != root)
		root = next[root];
	while (next[k] != root) {
		t = next[k];
		next[k] = root;
		k = t;
	}
	return root;
}

static int reserve_bounds(struct scratch *s, size_t n)
{
	uint32_t *b, *o, *x;

	if (n <= s->cap_bounds)
		return 0;
	b = realloc(s->bounds, n * sizeof(*b));
	if (b)
		s->bounds = b;
	o = realloc(s->owner, n * sizeof(*o));
	if (o)
		s->owner = o;
	x = realloc(s->next, n * sizeof(*x));
	if (x)
		s->next = x;
	if (!b || !o || !x)
		return -ENOMEM;
	s->cap_bounds = n;
	return 0;
}

static size_t bound_index(const uint32_t *bounds, size_t n, uint32_t x)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (bounds[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int merge_out(struct scratch *s, struct seg_vec *items, size_t nb, struct seg_vec *out)
{
	const struct seg *it, *last;
	size_t k;
	int err;

	for (k = 0; k + 1 < nb; k++) {
		if (s->owner[k] == CC_NONE)
			continue;
		it = &items->v[s->owner[k]];
		last = out->n ? &out->v[out->n - 1] : NULL;
		if (last && last->hi + 1 == s->bounds[k] && last->rule_id == it->rule_id &&
		    last->flags == it->flags) {
			out->v[out->n - 1].hi = s->bounds[k + 1] - 1;
			continue;
		}
		err = seg_push(out, s->bounds[k], s->bounds[k + 1] - 1, it->rule_id, it->flags);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Overlapping items -> disjoint sorted segments: cut the port space at every
 * item edge, then let items paint the pieces in priority order; a piece
 * keeps the first paint (union-find skips painted pieces).
 */
static int paint(struct scratch *s, struct seg_vec *items, struct seg_vec *out)
{
	size_t n = items->n, nb = 0, i, k;
	int err;

	out->n = 0;
	if (!n)
		return 0;
	err = reserve_bounds(s, 2 * n + 1);
	if (err)
		return err;
	if (n > 1)
		sort_priority(items->v, n, NULL);
	for (i = 0; i < n; i++) {
		s->bounds[nb++] = items->v[i].lo;
		s->bounds[nb++] = items->v[i].hi + 1;
	}
	if (nb > 1)
		sort_u32(s->bounds, nb, NULL);
	for (i = 1, k = 1; i < nb; i++) {
		if (s->bounds[i] != s->bounds[k - 1])
			s->bounds[k++] = s->bounds[i];
	}
	nb = k;
	for (k = 0; k < nb; k++) {
		s->owner[k] = CC_NONE;
		s->next[k] = (uint32_t)k;
	}
	for (i = 0; i < n; i++) {
		k = find_next(s->next, (uint32_t)bound_index(s->bounds, nb, items->v[i].lo));
		while (k + 1 < nb && s->bounds[k] <= items->v[i].hi) {
			s->owner[k] = (uint32_t)i;
			s->next[k] = (uint32_t)k + 1;
			k = find_next(s->next, (uint32_t)k + 1);
		}
	}
	return merge_out(s, items, nb, out);
}

static bool segs_equal(const struct seg_vec *a, const struct seg_vec *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->v, b->v, a->n * sizeof(*a->v)));
}

static void subject_name(const struct compile_ctx *c, uint32_t class_id, char *buf, size_t len)
{
	uint32_t owner = c->pfx[c->class_rep[class_id - BM_CLASS_FIRST]].owner;

	if (owner == CC_NONE)
		snprintf(buf, len, "class %u", class_id);
	else
		snprintf(buf, len, "%s/%s", c->m->endpoints[owner].ns, c->m->endpoints[owner].name);
}

static int too_many(struct compile_ctx *c, const struct entry *e, size_t n)
{
	char who[96];

	subject_name(c, e->subject, who, sizeof(who));
	cc_error(c, "%s %s: %zu port ranges towards peer class %u, at most %d fit", who,
		 e->dir == BM_DIR_INGRESS ? "ingress" : "egress", n, e->peer, BM_POLICY_MAX_RANGES);
	return -E2BIG;
}

static int spill(struct compile_ctx *c, struct bm_tables *out, const struct bm_policy_key *key,
		 const struct seg *sg)
{
	struct bm_port_key pk;
	struct bm_port_value pv;

	memset(&pk, 0, sizeof(pk));
	memset(&pv, 0, sizeof(pv));
	pk.policy = *key;
	pk.port = (uint16_t)sg->lo;
	pv.rule_id = sg->rule_id;
	pv.flags = sg->flags;
	(void)c;
	return tables_append(out, TABLES_PORTS, &pk, &pv);
}

/* FNV-1a over the list (struct bm_port_range has no padding). */
static uint64_t ranges_hash(const struct bm_port_range *r, uint32_t n)
{
	const unsigned char *p = (const unsigned char *)r;
	uint64_t h = 14695981039346656037ULL ^ n;
	size_t i;

	for (i = 0; i < n * sizeof(*r); i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The free position of the index for a list with hash h (its first free probe). */
static size_t pool_probe(const struct pool_index *px, const struct bm_tables *out,
			 const struct bm_port_range *r, uint32_t n, uint64_t h, bool *is_found)
{
	size_t mask = px->cap - 1, i;

	*is_found = false;
	for (i = h & mask; px->first[i]; i = (i + 1) & mask) {
		if (px->len[i] == n && r &&
		    !memcmp(tables_value(out, TABLES_RANGES, px->first[i] - 1), r,
			    n * sizeof(*r))) {
			*is_found = true;
			break;
		}
	}
	return i;
}

static int pool_grow(struct pool_index *px, const struct bm_tables *out)
{
	struct pool_index nx = {.cap = px->cap ? px->cap * 2 : 1024, .n = px->n};
	const struct bm_port_range *r;
	bool is_found;
	size_t i, j;

	nx.first = calloc(nx.cap, sizeof(*nx.first));
	nx.len = calloc(nx.cap, sizeof(*nx.len));
	if (!nx.first || !nx.len) {
		free(nx.first);
		free(nx.len);
		return -ENOMEM;
	}
	for (i = 0; i < px->cap; i++) {
		if (!px->first[i])
			continue;
		r = tables_value(out, TABLES_RANGES, px->first[i] - 1);
		j = pool_probe(&nx, out, NULL, 0, ranges_hash(r, px->len[i]), &is_found);
		nx.first[j] = px->first[i];
		nx.len[j] = px->len[i];
	}
	free(px->first);
	free(px->len);
	*px = nx;
	return 0;
}

/* The pool slice holding r[0 .. n - 1]: an equal one already there, or a new one. */
static int pool_slice(struct scratch *s, struct bm_tables *out, const struct bm_port_range *r,
		      uint32_t n, uint32_t *first)
{
	struct pool_index *px = &s->pool;
	uint32_t start, k, idx;
	bool is_found;
	uint64_t h;
	size_t i;
	int err;

	if ((px->n + 1) * 2 > px->cap) {
		err = pool_grow(px, out);
		if (err)
			return err;
	}
	h = ranges_hash(r, n);
	i = pool_probe(px, out, r, n, h, &is_found);
	if (is_found) {
		*first = px->first[i] - 1;
		return 0;
	}
	start = (uint32_t)out->maps[TABLES_RANGES].n;
	for (k = 0; k < n; k++) {
		idx = start + k;
		err = tables_append(out, TABLES_RANGES, &idx, &r[k]);
		if (err)
			return err;
	}
	px->first[i] = start + 1;
	px->len[i] = n;
	px->n++;
	*first = start;
	return 0;
}

/*
 * One policy entry (and its spilled ports) from segments; no segment: a deny
 * entry. One range goes inline, more into a pool slice.
 */
static int emit(struct compile_ctx *c, struct scratch *s, struct bm_tables *out,
		const struct entry *e, uint8_t proto, const struct seg_vec *segs)
{
	struct bm_port_range rs[BM_POLICY_MAX_RANGES], *r;
	bool is_spill = segs->n > BM_POLICY_MAX_RANGES;
	struct bm_policy_value v;
	struct bm_policy_key key;
	size_t i;
	int err;

	memset(&key, 0, sizeof(key));
	memset(&v, 0, sizeof(v));
	key.subject_class = e->subject;
	key.peer_class = e->peer;
	key.direction = e->dir;
	key.proto = proto;
	for (i = 0; i < segs->n; i++) {
		if (is_spill && segs->v[i].lo == segs->v[i].hi) {
			err = spill(c, out, &key, &segs->v[i]);
			if (err)
				return err;
			continue;
		}
		if (v.nr_ranges == BM_POLICY_MAX_RANGES)
			return too_many(c, e, segs->n);
		r = &rs[v.nr_ranges++];
		r->rule_id = segs->v[i].rule_id;
		r->port_lo = (uint16_t)segs->v[i].lo;
		r->port_hi = (uint16_t)segs->v[i].hi;
		r->flags = segs->v[i].flags;
	}
	for (i = 0; i < v.nr_ranges && i < BM_POLICY_INLINE_RANGES; i++)
		v.range[i] = rs[i];
	if (v.nr_ranges > BM_POLICY_INLINE_RANGES) {
		err = pool_slice(s, out, rs + BM_POLICY_INLINE_RANGES,
				 v.nr_ranges - BM_POLICY_INLINE_RANGES, &v.first);
		if (err)
			return err;
	}
	if (is_spill) {
		v.flags |= BM_POLICY_F_SPILL;
		c->rep->nr_spilled++;
	}
	return tables_append(out, TABLES_POLICY, &key, &v);
}

/* Segments of every protocol for the rules towards e's peer. */
static int compile_segs(struct compile_ctx *c, const struct entry *e, const struct cc_vec *rules,
			struct scratch *s, struct seg_vec *segs)
{
	int k, err;

	err = collect_items(c, e, rules, s);
	for (k = 0; k < NR_PROTOS && !err; k++)
		err = paint(s, &s->items[k], &segs[k]);
	return err;
}

static int pairs_push(struct scratch *s, uint32_t peer, uint32_t rid)
{
	uint64_t *np;
	size_t cap;

	if (s->n_pairs == s->cap_pairs) {
		cap = s->cap_pairs ? s->cap_pairs * 2 : 256;
		np = realloc(s->pairs, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		s->pairs = np;
		s->cap_pairs = cap;
	}
	s->pairs[s->n_pairs++] = (uint64_t)peer << 32 | rid;
	return 0;
}

static int push_feat_classes(const struct compile_ctx *c, struct scratch *s, uint32_t feat,
			     uint32_t rid)
{
	const uint32_t *row = cc_csr_row(&c->feat_classes, feat);
	size_t i, n = cc_csr_len(&c->feat_classes, feat);
	int err;

	for (i = 0; i < n; i++) {
		err = pairs_push(s, row[i], rid);
		if (err)
			return err;
	}
	return 0;
}

/* An egress rule without peers but with named ports needs the peers that have them. */
static int push_named_peers(const struct compile_ctx *c, struct scratch *s, uint32_t rid)
{
	const struct cc_rule *cr = &c->rules[rid];
	uint32_t name_id, np;
	size_t i, j;
	int err;

	for (i = 0; i < cr->r->n_ports; i++) {
		name_id = c->port_names.v[cr->name_off + i];
		if (name_id == CC_NONE)
			continue;
		for (j = 0; j < cc_csr_len(&c->name_nps, name_id); j++) {
			np = cc_csr_row(&c->name_nps, name_id)[j];
			if (c->nps[np].proto != cr->r->ports[i].proto)
				continue;
			err = push_feat_classes(c, s, cc_np_feat(c, np), rid);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Spread one rule over the peer classes it names. */
static int spread_rule(const struct compile_ctx *c, struct scratch *s, uint32_t rid)
{
	const struct cc_rule *cr = &c->rules[rid];
	size_t i;
	int err = 0;

	if (!cr->r->n_peers) {
		err = cc_vec_push(&s->any_rules, rid);
		if (!err && cr->dir == BM_DIR_EGRESS)
			err = push_named_peers(c, s, rid);
		return err;
	}
	for (i = 0; i < cr->n_peer_feats && !err; i++)
		err = push_feat_classes(c, s, c->peer_feats.v[cr->peer_off + i], rid);
	return err;
}

/* The rules of every policy selecting subject for dir, ascending. */
static int subject_rules(const struct compile_ctx *c, uint32_t subject, uint8_t dir,
			 struct cc_vec *rules)
{
	const struct pm_policy *p;
	const uint32_t *a, *b, *pol;
	size_t na, nb, i, j, k, n;
	int err = 0;

	rules->n = 0;
	cc_class_sig(c, subject, &a, &na, &b, &nb);
	for (i = 0; i < na && a[i] < c->n_groups && !err; i++) {
		pol = cc_csr_row(&c->group_policies, a[i]);
		for (j = 0; j < cc_csr_len(&c->group_policies, a[i]) && !err; j++) {
			p = &c->m->policies[pol[j]];
			if (!(dir == BM_DIR_INGRESS ? p->has_ingress : p->has_egress))
				continue;
			n = dir == BM_DIR_INGRESS ? p->n_ingress : p->n_egress;
			for (k = 0; k < n && !err; k++)
				err = cc_vec_push(rules, dir == BM_DIR_INGRESS
								 ? p->ingress[k].rule_id
								 : p->egress[k].rule_id);
		}
	}
	if (!err)
		if (rules->n > 1)
			sort_u32(rules->v, rules->n, NULL);
	return err;
}

/* rules := the rules of pairs[*at..] for one peer, merged with the ANY rules. */
static int peer_rules(struct scratch *s, size_t *at, uint32_t *peer)
{
	size_t i = *at, a = 0;
	uint32_t rid;
	int err = 0;

	*peer = (uint32_t)(s->pairs[i] >> 32);
	s->rules.n = 0;
	for (; i < s->n_pairs && (uint32_t)(s->pairs[i] >> 32) == *peer && !err; i++) {
		rid = (uint32_t)s->pairs[i];
		while (a < s->any_rules.n && s->any_rules.v[a] < rid && !err)
			err = cc_vec_push(&s->rules, s->any_rules.v[a++]);
		if (a < s->any_rules.n && s->any_rules.v[a] == rid)
			a++;
		if (!err && (!s->rules.n || s->rules.v[s->rules.n - 1] != rid))
			err = cc_vec_push(&s->rules, rid);
	}
	while (a < s->any_rules.n && !err)
		err = cc_vec_push(&s->rules, s->any_rules.v[a++]);
	*at = i;
	return err;
}

/*
 * The value of vals that occurs most often and may stand under BM_PROTO_ANY
 * (a spilled one may not: its ports are keyed by the protocol), or -1; *count
 * is how often it occurs.
 */
static int most_frequent(const struct seg_vec *vals, int *count)
{
	int k, j, n, best = -1;

	*count = 0;
	for (k = 0; k < NR_PROTOS; k++) {
		if (vals[k].n > BM_POLICY_MAX_RANGES)
			continue;
		for (n = 0, j = 0; j < NR_PROTOS; j++)
			n += segs_equal(&vals[k], &vals[j]);
		if (n > *count) {
			best = k;
			*count = n;
		}
	}
	return best;
}

static bool value_equal(const struct seg_vec *a, const struct seg_vec *b)
{
	return b ? segs_equal(a, b) : !a->n;
}

/*
 * The entries of one {subject, direction, peer}: vals[k] is what protos[k]
 * must see, fallback[k] what the lookup finds for it when this group has no
 * entry at all (NULL: nothing, deny). Either only the protocols whose value
 * differs from the fallback get an entry, or, when that takes fewer entries,
 * the most frequent value goes under BM_PROTO_ANY and every protocol that
 * differs from it gets its own entry, with no range where it must deny.
 */
static int emit_group(struct compile_ctx *c, struct scratch *s, struct bm_tables *out,
		      const struct entry *e, const struct seg_vec *vals,
		      const struct seg_vec *fallback)
{
	int k, best, count, n_plain = 0, err = 0;

	for (k = 0; k < NR_PROTOS; k++)
		n_plain += !value_equal(&vals[k], fallback ? &fallback[k] : NULL);
	best = most_frequent(vals, &count);
	if (best < 0 || 1 + NR_PROTOS - count >= n_plain) {
		for (k = 0; k < NR_PROTOS && !err; k++) {
			if (!value_equal(&vals[k], fallback ? &fallback[k] : NULL))
				err = emit(c, s, out, e, protos[k], &vals[k]);
		}
		return err;
	}
	c->rep->nr_any_proto++;
	err = emit(c, s, out, e, BM_PROTO_ANY, &vals[best]);
	for (k = 0; k < NR_PROTOS && !err; k++) {
		if (!segs_equal(&vals[k], &vals[best]))
			err = emit(c, s, out, e, protos[k], &vals[k]);
	}
	return err;
}

static int emit_peer(struct compile_ctx *c, struct bm_tables *out, struct entry *e,
		     struct scratch *s)
{
	int err;

	err = compile_segs(c, e, &s->rules, s, s->out);
	if (!err)
		err = emit_group(c, s, out, e, s->out, s->any);
	return err;
}

static int compile_dir(struct compile_ctx *c, struct bm_tables *out, uint32_t subject, uint8_t dir,
		       struct scratch *s)
{
	struct entry e = {subject, BM_CLASS_ANY, dir};
	size_t i;
	int err;

	s->n_pairs = 0;
	s->any_rules.n = 0;
	err = subject_rules(c, subject, dir, &s->subject_rules);
	for (i = 0; i < s->subject_rules.n && !err; i++)
		err = spread_rule(c, s, s->subject_rules.v[i]);
	if (!err)
		err = compile_segs(c, &e, &s->any_rules, s, s->any);
	if (!err)
		err = emit_group(c, s, out, &e, s->any, NULL);
	if (err)
		return err;
	if (s->n_pairs > 1)
		sort_u64(s->pairs, s->n_pairs, NULL);
	for (i = 0; i < s->n_pairs && !err;) {
		err = peer_rules(s, &i, &e.peer);
		if (!err)
			err = emit_peer(c, out, &e, s);
	}
	return err;
}

static void scratch_free(struct scratch *s)
{
	int k;

	for (k = 0; k < NR_PROTOS; k++) {
		free(s->items[k].v);
		free(s->any[k].v);
		free(s->out[k].v);
	}
	free(s->pairs);
	cc_vec_free(&s->any_rules);
	cc_vec_free(&s->rules);
	cc_vec_free(&s->subject_rules);
	free(s->bounds);
	free(s->owner);
	free(s->next);
	free(s->pool.first);
	free(s->pool.len);
}

static int emit_policy(struct compile_ctx *c, struct bm_tables *out)
{
	static const uint32_t isolated[2] = {
		[BM_DIR_INGRESS] = BM_IPC_F_INGRESS_ISOLATED,
		[BM_DIR_EGRESS] = BM_IPC_F_EGRESS_ISOLATED,
	};
	struct scratch s = {0};
	uint32_t k;
	uint8_t dir;
	int err = 0;

	for (k = 0; k < c->n_classes && !err; k++) {
		for (dir = BM_DIR_INGRESS; dir <= BM_DIR_EGRESS && !err; dir++) {
			if (c->class_flags[k] & isolated[dir])
				err = compile_dir(c, out, BM_CLASS_FIRST + k, dir, &s);
		}
	}
	scratch_free(&s);
	return err;
}

static void fill_report(const struct compile_ctx *c, const struct bm_tables *out,
			struct compile_report *rep)
{
	int k;

	rep->nr_classes = c->n_classes;
	rep->nr_regions = (uint32_t)c->n_pfx;
	rep->nr_selectors = c->n_groups;
	rep->nr_ip_blocks = c->n_blocks;
	for (k = 0; k < TABLES_NR; k++)
		rep->entries[k] = out->maps[k].n;
}

/* See policy_compile.h. */
int policy_compile(struct pm_model *m, struct bm_tables *out, struct compile_report *rep)
{
	struct compile_report local;
	struct compile_ctx c;
	int err;

	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	memset(&c, 0, sizeof(c));
	c.m = m;
	c.rep = rep;
	tables_release(out);
	tables_init(out);
	err = pm_model_intern(m);
	if (!err)
		err = cc_classes_build(&c, out);
	if (!err)
		err = emit_policy(&c, out);
	if (!err)
		err = tables_eval_sort(out);
	if (!err) {
		out->nr_classes = BM_CLASS_FIRST + c.n_classes;
		fill_report(&c, out, rep);
	} else {
		tables_release(out);
		tables_init(out);
		cc_error(&c, "compile policy: %s", strerror(-err));
	}
	cc_classes_free(&c);
	return err;
}
