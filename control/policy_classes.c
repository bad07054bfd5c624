// SPDX-License-Identifier: GPL-2.0-only
/*
 * The first half of the policy compiler: from the model to policy classes
 * and ipcache entries (see policy_compile_priv.h for the feature spaces).
 *
 *  1. Intern what rules and policies name: selector groups (a policy's
 *     subject selector and every podSelector/namespaceSelector peer, deduped),
 *     ipBlocks and named-port names.
 *  2. Evaluate every selector group once, over an index of endpoints by
 *     namespace and by (namespace, label), giving endpoint -> features.
 *  3. Collect every address prefix, sort it, and walk it with a stack: each
 *     prefix learns the endpoint that owns it and where its subtree ends, so
 *     "inside ipBlock b" is one contiguous run minus the excepts' runs.
 *  4. Hash each region's signature; distinct signatures, sorted, are the
 *     classes.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cc_sort.h"
#include "policy_compile_priv.h"
#include "tables_eval.h"

#define BLOCK_TAG (1U << 31)

/* Namespaces that hold endpoints, with their endpoints as a run of ns_eps. */
struct ns_index {
	const char *name;
	const struct pm_labels *labels;
	const uint32_t *label_ids; /* interned labels (policy_model.h) */
	uint32_t first;
	uint32_t count;
};

/*
 * (namespace, label) -> endpoint, sorted into runs of one (namespace,
 * label). A label is its interned key and value as one number (label_key()).
 * Only the first label of a key on an endpoint is indexed: it is the one
 * pm_labels_get() and so every selector sees.
 */
struct label_ent {
	uint32_t ns;
	uint64_t label;
	uint32_t ep;
};

/* A namespace's label (the first of its key), for namespaceSelector lookups. */
struct ns_label {
	uint64_t label;
	uint32_t ns;
};

/*
 * One run of label_ent, found by hashing (a binary search over every label
 * of the cluster missed the cache at each step): the endpoints of namespace
 * ns carrying exactly label.
 */
struct label_run {
	uint64_t label;
	uint32_t ns;
	uint32_t first;
	uint32_t count; /* 0: empty slot */
};

struct ep_index {
	uint32_t *ns_eps; /* endpoints sorted by namespace */
	struct ns_index *ns;
	uint32_t n_ns;
	struct label_ent *labels;
	size_t n_labels;
	struct label_run *runs; /* open addressing, runs_cap a power of two */
	size_t runs_cap;
	uint32_t *ns_of_str; /* string id -> index into ns, CC_NONE if no endpoint is there */
	uint32_t n_strs;
	/* (label, namespace) of every namespace's labels, sorted */
	struct ns_label *ns_labels;
	size_t n_ns_labels;
	/* endpoint prefixes, sorted (collect_prefixes() merges the ipBlocks' in) */
	struct cc_prefix *pfx;
	size_t n_pfx;
	size_t cap_pfx;
	const struct pm_addr *bad_addr; /* an endpoint address of no known family */
};

/*
 * What evaluating a share of the groups writes: the index above is shared
 * and read-only then, so shards can run on two threads.
 */
struct eval_shard {
	const struct compile_ctx *c;
	const struct ep_index *ix;
	uint32_t first_group;
	uint32_t end_group;
	struct cc_vec rows; /* (endpoint, feature) pairs being collected */
	struct cc_vec vals;
	/* namespaceSelector -> matching namespaces, evaluated once per distinct selector */
	struct cc_hset ns_sels;
	const struct pm_selector **ns_sel_of; /* by id */
	size_t cap_ns_sel_of;
	struct cc_vec ns_sel_off; /* id -> first in ns_sel_ns; ends where the next starts */
	struct cc_vec ns_sel_ns;
	uint32_t n_ns_sels;
	int err;
};

static const struct pm_labels no_labels;

/* See policy_compile_priv.h. */
int cc_vec_push(struct cc_vec *v, uint32_t x)
{
	uint32_t *nv;
	size_t cap;

	if (v->n == v->cap) {
		cap = v->cap ? v->cap * 2 : 64;
		nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = x;
	return 0;
}

/* See policy_compile_priv.h. */
void cc_vec_free(struct cc_vec *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}

/* See policy_compile_priv.h. A counting sort: stable, linear. */
int cc_csr_build(struct cc_csr *out, size_t n_rows, const uint32_t *rows, const uint32_t *vals,
		 size_t n)
{
	uint32_t *pos;
	size_t i;

	out->n_rows = n_rows;
	out->off = calloc(n_rows + 1, sizeof(*out->off));
	out->val = malloc((n ? n : 1) * sizeof(*out->val));
	pos = calloc(n_rows + 1, sizeof(*pos));
	if (!out->off || !out->val || !pos) {
		free(pos);
		cc_csr_free(out);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		out->off[rows[i] + 1]++;
	for (i = 0; i < n_rows; i++)
		out->off[i + 1] += out->off[i];
	memcpy(pos, out->off, (n_rows + 1) * sizeof(*pos));
	for (i = 0; i < n; i++)
		out->val[pos[rows[i]]++] = vals[i];
	free(pos);
	return 0;
}

/* See policy_compile_priv.h. */
void cc_csr_free(struct cc_csr *c)
{
	free(c->off);
	free(c->val);
	memset(c, 0, sizeof(*c));
}

static inline uint64_t hash_mix(uint64_t h, uint64_t x)
{
	h = (h ^ x) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

/*
 * Eight bytes at a time (a byte-wise FNV-1a was a tenth of the compile).
 * Only speed depends on it: every table built on these hashes compares the
 * keys themselves.
 */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t w;

	for (; n >= 8; n -= 8, s += 8) {
		memcpy(&w, s, 8);
		h = hash_mix(h, w);
	}
	if (n) {
		w = 0;
		memcpy(&w, s, n);
		h = hash_mix(h, w ^ (uint64_t)n << 56);
	}
	return h;
}

static uint64_t hash_u32(uint64_t h, uint32_t x)
{
	return hash_bytes(h, &x, sizeof(x));
}

#define HASH_SEED 0xcbf29ce484222325ULL

typedef bool (*hset_eq_fn)(const void *ctx, uint32_t id, const void *key);

/* Rehash s into cap slots (a power of two above twice its ids). */
static int hset_resize(struct cc_hset *s, size_t cap)
{
	struct cc_hslot *slots = malloc(cap * sizeof(*slots));
	size_t i, j;

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		slots[i].id = CC_NONE;
	for (i = 0; i < s->cap; i++) {
		if (s->slots[i].id == CC_NONE)
			continue;
		for (j = s->slots[i].hash & (cap - 1); slots[j].id != CC_NONE;
		     j = (j + 1) & (cap - 1))
			;
		slots[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

static int hset_grow(struct cc_hset *s)
{
	return hset_resize(s, s->cap ? s->cap * 2 : 256);
}

/* Room for n ids without a rehash (each rehash touches every slot again). */
static int hset_reserve(struct cc_hset *s, size_t n)
{
	size_t cap = 256;

	while (cap < 2 * (n + 1))
		cap *= 2;
	return cap > s->cap ? hset_resize(s, cap) : 0;
}

/*
 * Find key (hash h) or insert new_id for it. *id receives the id found or
 * inserted; new_id == CC_NONE only looks. Returns 1 if inserted, 0 if found
 * (or not found when only looking), -ENOMEM.
 */
static int hset_get(struct cc_hset *s, uint64_t h, hset_eq_fn eq, const void *ctx, const void *key,
		    uint32_t new_id, uint32_t *id)
{
	size_t j;
	int err;

	*id = CC_NONE;
	if ((s->n + 1) * 2 > s->cap && new_id != CC_NONE) {
		err = hset_grow(s);
		if (err)
			return err;
	}
	for (j = s->cap ? h & (s->cap - 1) : 0; s->cap && s->slots[j].id != CC_NONE;
	     j = (j + 1) & (s->cap - 1)) {
		if (s->slots[j].hash == h && eq(ctx, s->slots[j].id, key)) {
			*id = s->slots[j].id;
			return 0;
		}
	}
	if (new_id == CC_NONE)
		return 0;
	s->slots[j].id = new_id;
	s->slots[j].hash = h;
	s->n++;
	*id = new_id;
	return 1;
}

static void hset_free(struct cc_hset *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool sel_equal(const struct pm_selector *a, const struct pm_selector *b)
{
	size_t i, j;

	if (!a || !b)
		return a == b;
	if (a->is_present != b->is_present)
		return false;
	if (!a->is_present)
		return true;
	if (a->sig != b->sig || a->match_labels.n != b->match_labels.n || a->n_exprs != b->n_exprs)
		return false;
	/* interned (policy_model.h): equal ids, equal strings */
	if (a->match_labels.n &&
	    memcmp(a->label_ids, b->label_ids, 2 * a->match_labels.n * sizeof(*a->label_ids)))
		return false;
	for (i = 0; i < a->n_exprs; i++) {
		if (!str_eq(a->exprs[i].key, b->exprs[i].key) || a->exprs[i].op != b->exprs[i].op ||
		    a->exprs[i].n_values != b->exprs[i].n_values)
			return false;
		for (j = 0; j < a->exprs[i].n_values; j++) {
			if (!str_eq(a->exprs[i].values[j], b->exprs[i].values[j]))
				return false;
		}
	}
	return true;
}

/* Interned label i (of ids, see policy_model.h) as one number: equal labels, equal numbers. */
static inline uint64_t label_key(const uint32_t *ids, size_t i)
{
	return (uint64_t)ids[2 * i] << 32 | ids[2 * i + 1];
}

/* A selector (NULL, absent or present) by its interned signature (policy_model.h). */
static uint64_t sel_hash(uint64_t h, const struct pm_selector *s)
{
	return hash_mix(h, s ? s->sig : 2);
}

static bool group_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct cc_group *a = &((const struct compile_ctx *)ctx)->groups[id];
	const struct cc_group *b = key;

	return a->ns_id == b->ns_id && sel_equal(a->ns_sel, b->ns_sel) &&
	       sel_equal(a->pod_sel, b->pod_sel);
}

/* Interning state of step 1. */
/*
 * A mention of a selector group, collected in the order of the policies and
 * their rules and deduplicated afterwards (dedupe_groups()), so that the
 * hash table's cache misses can be asked for ahead of time.
 */
struct cc_cand {
	uint64_t hash;
	struct cc_group g; /* policy_flags: of the policy whose subject it is */
	uint32_t policy; /* the policy whose subject selector it is, or CC_NONE */
};

struct interner {
	struct cc_hset groups;
	struct cc_hset blocks;
	struct cc_hset nps;
	struct cc_cand *cands; /* room for every mention (reserve()) */
	uint32_t n_cands;
};

/* Collect a mention of group g; its index in in->cands is what peer_feats holds for now. */
static uint32_t intern_group(struct interner *in, const struct cc_group *g, uint32_t policy)
{
	struct cc_cand *k = &in->cands[in->n_cands];

	k->hash = sel_hash(sel_hash(hash_u32(HASH_SEED, g->ns_id), g->ns_sel), g->pod_sel);
	k->g = *g;
	k->policy = policy;
	return in->n_cands++;
}

/* How far ahead dedupe_groups() asks for hash slots; only speed depends on it. */
#define PF_SLOT 8

/* Group ids by first mention: the same ids the mentions would get one by one. */
static int dedupe_groups(struct compile_ctx *c, struct interner *in, uint32_t *cand_id)
{
	const struct cc_hset *set = &in->groups;
	struct cc_cand *k;
	uint32_t i, id;
	int err;

	for (i = 0; i < in->n_cands; i++) {
		if (i + PF_SLOT < in->n_cands)
			__builtin_prefetch(
				&set->slots[in->cands[i + PF_SLOT].hash & (set->cap - 1)]);
		k = &in->cands[i];
		c->groups[c->n_groups] = k->g;
		c->groups[c->n_groups].policy_flags = 0;
		err = hset_get(&in->groups, k->hash, group_eq, c, &k->g, c->n_groups, &id);
		if (err < 0)
			return err;
		c->n_groups += err;
		cand_id[i] = id;
		if (k->policy != CC_NONE) {
			c->policy_group[k->policy] = id;
			c->groups[id].policy_flags |= k->g.policy_flags;
		}
	}
	return 0;
}

static bool addr_equal(const struct pm_addr *a, const struct pm_addr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool block_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct pm_ip_block *a = ((const struct compile_ctx *)ctx)->blocks[id];
	const struct pm_ip_block *b = key;
	size_t i;

	if (!addr_equal(&a->cidr, &b->cidr) || a->n_except != b->n_except)
		return false;
	for (i = 0; i < a->n_except; i++) {
		if (!addr_equal(&a->except[i], &b->except[i]))
			return false;
	}
	return true;
}

static int intern_block(struct compile_ctx *c, struct cc_hset *set, const struct pm_ip_block *b,
			uint32_t *id)
{
	uint64_t h = hash_bytes(HASH_SEED, &b->cidr, sizeof(b->cidr));
	size_t i;
	int err;

	for (i = 0; i < b->n_except; i++)
		h = hash_bytes(h, &b->except[i], sizeof(b->except[i]));
	c->blocks[c->n_blocks] = b; /* room reserved by reserve() */
	err = hset_get(set, h, block_eq, c, b, c->n_blocks, id);
	if (err == 1)
		c->n_blocks++;
	return err < 0 ? err : 0;
}

/*
 * The name id of a named port by its interned string id (policy_model.h),
 * numbered by first mention in the rules; is_insert false only looks. A
 * name added after the model was interned is looked up by its string; a
 * rule's name that no endpoint can have gets an id of its own.
 */
static uint32_t intern_name(struct compile_ctx *c, const char *name, uint32_t str_id,
			    bool is_insert)
{
	if (!str_id && name && c->m->strs)
		str_id = pm_strtab_find(c->m->strs, name);
	if ((!str_id || str_id > c->n_strs) && (!is_insert || !name))
		return CC_NONE;
	if (!str_id || str_id > c->n_strs) {
		c->names[c->n_names] = name; /* room reserved by reserve() */
		return c->n_names++;
	}
	if (c->name_of_str[str_id] == CC_NONE && is_insert) {
		c->names[c->n_names] = name;
		c->name_of_str[str_id] = c->n_names++;
	}
	return c->name_of_str[str_id];
}

static int intern_peer(struct compile_ctx *c, struct interner *in, const struct pm_policy *p,
		       const struct pm_peer *peer)
{
	struct cc_group g = {0};
	uint32_t id;
	int err;

	if (peer->kind == PM_PEER_IP_BLOCK) {
		err = intern_block(c, &in->blocks, &peer->ip_block, &id);
		return err ? err : cc_vec_push(&c->peer_feats, id | BLOCK_TAG);
	}
	if (peer->ns_selector.is_present)
		g.ns_sel = &peer->ns_selector;
	else
		g.ns_id = p->ns_id;
	g.pod_sel = &peer->pod_selector;
	return cc_vec_push(&c->peer_feats, intern_group(in, &g, CC_NONE));
}

static int intern_rule(struct compile_ctx *c, struct interner *in, uint32_t pi, uint8_t dir,
		       const struct pm_rule *r)
{
	const struct pm_policy *p = &c->m->policies[pi];
	struct cc_rule *cr;
	uint32_t id;
	size_t i;
	int err = 0;

	if (r->rule_id == 0 || r->rule_id >= c->n_rules) {
		cc_error(c, "policy %s/%s: rule id %u outside the model's rule table", p->ns,
			 p->name, r->rule_id);
		return -EINVAL;
	}
	cr = &c->rules[r->rule_id];
	cr->r = r;
	cr->policy = pi;
	cr->dir = dir;
	cr->is_auth = p->auth_required;
	cr->peer_off = c->peer_feats.n;
	cr->name_off = c->port_names.n;
	for (i = 0; i < r->n_peers && !err; i++)
		err = intern_peer(c, in, p, &r->peers[i]);
	cr->n_peer_feats = c->peer_feats.n - cr->peer_off;
	for (i = 0; i < r->n_ports && !err; i++) {
		id = CC_NONE;
		if (r->ports[i].has_port && r->ports[i].port_name)
			id = intern_name(c, r->ports[i].port_name, r->ports[i].port_name_id, true);
		if (!err)
			err = cc_vec_push(&c->port_names, id);
	}
	return err;
}

static int intern_policy(struct compile_ctx *c, struct interner *in, uint32_t pi)
{
	const struct pm_policy *p = &c->m->policies[pi];
	struct cc_group g = {.ns_id = p->ns_id, .pod_sel = &p->pod_selector};
	size_t i;
	int err = 0;

	g.policy_flags = (p->has_ingress ? BM_IPC_F_INGRESS_ISOLATED : 0) |
			 (p->has_egress ? BM_IPC_F_EGRESS_ISOLATED : 0);
	intern_group(in, &g, pi);
	for (i = 0; i < p->n_ingress && p->has_ingress && !err; i++)
		err = intern_rule(c, in, pi, BM_DIR_INGRESS, &p->ingress[i]);
	for (i = 0; i < p->n_egress && p->has_egress && !err; i++)
		err = intern_rule(c, in, pi, BM_DIR_EGRESS, &p->egress[i]);
	return err;
}

/* Group mentions in peer_feats become group ids. */
static void resolve_peers(struct compile_ctx *c, const uint32_t *cand_id)
{
	size_t i;

	for (i = 0; i < c->peer_feats.n; i++) {
		if (!(c->peer_feats.v[i] & BLOCK_TAG))
			c->peer_feats.v[i] = cand_id[c->peer_feats.v[i]];
	}
}

/* Peer features were tagged while the feature spaces were still growing. */
static void untag_peers(struct compile_ctx *c)
{
	size_t i;

	for (i = 0; i < c->peer_feats.n; i++) {
		if (c->peer_feats.v[i] & BLOCK_TAG)
			c->peer_feats.v[i] = cc_block_feat(c, c->peer_feats.v[i] & ~BLOCK_TAG);
	}
}

static int build_group_policies(struct compile_ctx *c)
{
	size_t n = c->m->n_policies, i;
	uint32_t *vals = malloc((n ? n : 1) * sizeof(*vals));
	int err;

	if (!vals)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		vals[i] = (uint32_t)i;
	err = cc_csr_build(&c->group_policies, c->n_groups, c->policy_group, vals, n);
	free(vals);
	return err;
}

static bool np_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct cc_np *a = &((const struct compile_ctx *)ctx)->nps[id];
	const struct cc_np *b = key;

	return a->name_id == b->name_id && a->proto == b->proto && a->port == b->port;
}

/* Named ports of endpoints whose name some rule uses become features. */
static int intern_endpoint_ports(struct compile_ctx *c, struct interner *in, struct cc_vec *ep,
				 struct cc_vec *np)
{
	const struct pm_endpoint *e;
	struct cc_np key;
	uint32_t name_id, id;
	size_t i, j;
	int err;

	for (i = 0; i < c->m->n_endpoints; i++) {
		/* the ports ahead, and their names a little less far: only speed depends on it */
		if (i + 8 < c->m->n_endpoints)
			__builtin_prefetch(c->m->endpoints[i + 8].ports);
		e = &c->m->endpoints[i];
		for (j = 0; j < e->n_ports; j++) {
			name_id = intern_name(c, e->ports[j].name, e->ports[j].name_id, false);
			if (name_id == CC_NONE)
				continue;
			key = (struct cc_np){name_id, e->ports[j].proto, e->ports[j].port};
			c->nps[c->n_nps] = key; /* room reserved by reserve() */
			err = hset_get(&in->nps, hash_bytes(HASH_SEED, &key, sizeof(key)), np_eq, c,
				       &key, c->n_nps, &id);
			if (err < 0)
				return err;
			c->n_nps += err;
			err = cc_vec_push(ep, (uint32_t)i);
			if (!err)
				err = cc_vec_push(np, id);
			if (err)
				return err;
		}
	}
	return 0;
}

static int build_name_nps(struct compile_ctx *c)
{
	uint32_t *rows = malloc((c->n_nps ? c->n_nps : 1) * sizeof(*rows));
	uint32_t *vals = malloc((c->n_nps ? c->n_nps : 1) * sizeof(*vals));
	uint32_t i;
	int err = -ENOMEM;

	if (rows && vals) {
		for (i = 0; i < c->n_nps; i++) {
			rows[i] = c->nps[i].name_id;
			vals[i] = i;
		}
		err = cc_csr_build(&c->name_nps, c->n_names, rows, vals, c->n_nps);
	}
	free(rows);
	free(vals);
	return err;
}

static inline int cmp_label_ent(const struct label_ent *x, const struct label_ent *y)
{
	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	return (x->ep > y->ep) - (x->ep < y->ep);
}

#define LABEL_LESS(ctx, a, b) (cmp_label_ent(a, b) < 0)
CC_SORT_DEFINE(sort_labels, struct label_ent, LABEL_LESS)

/* Namespaces by first appearance; their endpoints as runs of ns_eps (a counting sort). */
static int index_namespaces(const struct compile_ctx *c, struct ep_index *ix)
{
	const struct pm_model *m = c->m;
	uint32_t *ep_ns, id, *pos = NULL, *decl = NULL, s;
	size_t i;
	int err = -ENOMEM;

	ix->n_strs = m->strs ? pm_strtab_count(m->strs) : 0;
	ix->ns_eps = malloc((m->n_endpoints + 1) * sizeof(*ix->ns_eps));
	ix->ns = calloc(m->n_endpoints + 1, sizeof(*ix->ns));
	ep_ns = malloc((m->n_endpoints + 1) * sizeof(*ep_ns));
	ix->ns_of_str = malloc((ix->n_strs + 1) * sizeof(*ix->ns_of_str));
	decl = malloc((ix->n_strs + 1) * sizeof(*decl));
	if (!ix->ns_eps || !ix->ns || !ep_ns || !ix->ns_of_str || !decl)
		goto out;
	memset(ix->ns_of_str, 0xff, (ix->n_strs + 1) * sizeof(*ix->ns_of_str));
	memset(decl, 0xff, (ix->n_strs + 1) * sizeof(*decl));
	for (i = 0; i < m->n_endpoints; i++) {
		s = m->endpoints[i].ns_id;
		if (ix->ns_of_str[s] == CC_NONE) {
			ix->ns[ix->n_ns].name = m->endpoints[i].ns;
			ix->ns_of_str[s] = ix->n_ns++;
		}
		ep_ns[i] = ix->ns_of_str[s];
		ix->ns[ep_ns[i]].count++;
	}
	/* the first namespace of a name, as pm_model_namespace() finds it */
	for (i = m->n_namespaces; i-- > 0;)
		decl[m->namespaces[i].name_id] = (uint32_t)i;
	pos = calloc(ix->n_ns + 1, sizeof(*pos));
	if (!pos)
		goto out;
	for (s = 0; s <= ix->n_strs; s++) {
		id = ix->ns_of_str[s];
		if (id == CC_NONE)
			continue;
		ix->ns[id].labels =
			decl[s] != CC_NONE ? &m->namespaces[decl[s]].labels : &no_labels;
		ix->ns[id].label_ids = decl[s] != CC_NONE ? m->namespaces[decl[s]].label_ids : NULL;
	}
	for (id = 0; id < ix->n_ns; id++) {
		ix->ns[id].first = id ? ix->ns[id - 1].first + ix->ns[id - 1].count : 0;
		pos[id] = ix->ns[id].first;
	}
	for (i = 0; i < m->n_endpoints; i++)
		ix->ns_eps[pos[ep_ns[i]]++] = (uint32_t)i;
	err = 0;
out:
	free(decl);
	free(pos);
	free(ep_ns);
	return err;
}

/* Is label k (of interned ids) the first label with its key (the one selectors see)? */
static bool is_first_key(const uint32_t *ids, size_t k)
{
	size_t i;

	for (i = 0; i < k; i++) {
		if (ids[2 * i] == ids[2 * k])
			return false;
	}
	return true;
}

static uint64_t run_slot_hash(uint32_t ns, uint64_t h)
{
	return (h ^ ((uint64_t)ns << 40 | ns)) * 0x9e3779b97f4a7c15ULL;
}

/* Hash the sorted runs of ix->labels into ix->runs. */
static int index_runs(struct ep_index *ix)
{
	struct label_run *r;
	size_t i, j, k, n_runs = 0, cap = 16;

	for (i = 0; i < ix->n_labels; i = j) {
		for (j = i + 1; j < ix->n_labels && ix->labels[j].ns == ix->labels[i].ns &&
				ix->labels[j].label == ix->labels[i].label;
		     j++)
			;
		n_runs++;
	}
	while (cap < 2 * n_runs)
		cap *= 2;
	ix->runs = calloc(cap, sizeof(*ix->runs));
	if (!ix->runs)
		return -ENOMEM;
	ix->runs_cap = cap;
	for (i = 0; i < ix->n_labels; i = j) {
		for (j = i + 1; j < ix->n_labels && ix->labels[j].ns == ix->labels[i].ns &&
				ix->labels[j].label == ix->labels[i].label;
		     j++)
			;
		k = run_slot_hash(ix->labels[i].ns, ix->labels[i].label) & (cap - 1);
		while (ix->runs[k].count)
			k = (k + 1) & (cap - 1);
		r = &ix->runs[k];
		*r = (struct label_run){ix->labels[i].label, ix->labels[i].ns, (uint32_t)i,
					(uint32_t)(j - i)};
	}
	return 0;
}

static int index_labels(const struct compile_ctx *c, struct ep_index *ix)
{
	const struct pm_endpoint *e;
	size_t n = 0, i, j, k, start;

	for (i = 0; i < c->m->n_endpoints; i++)
		n += c->m->endpoints[i].labels.n;
	ix->labels = malloc((n ? n : 1) * sizeof(*ix->labels));
	if (!ix->labels)
		return -ENOMEM;
	for (i = 0; i < ix->n_ns; i++) {
		start = ix->n_labels;
		for (j = 0; j < ix->ns[i].count; j++) {
			e = &c->m->endpoints[ix->ns_eps[ix->ns[i].first + j]];
			for (k = 0; k < e->labels.n; k++) {
				if (!is_first_key(e->label_ids, k))
					continue;
				ix->labels[ix->n_labels++] =
					(struct label_ent){(uint32_t)i, label_key(e->label_ids, k),
							   ix->ns_eps[ix->ns[i].first + j]};
			}
		}
		/*
		 * The entries come namespace by namespace, so sorting each
		 * namespace's run gives the global order, in small sorts that
		 * stay in the cache.
		 */
		if (ix->n_labels - start > 1)
			sort_labels(ix->labels + start, ix->n_labels - start, NULL);
	}
	return index_runs(ix);
}

/* The run of endpoints in namespace ns with label (a label_key()), or NULL. */
static const struct label_run *label_run_find(const struct ep_index *ix, uint32_t ns,
					      uint64_t label)
{
	size_t k;

	if (!ix->runs_cap)
		return NULL;
	for (k = run_slot_hash(ns, label) & (ix->runs_cap - 1); ix->runs[k].count;
	     k = (k + 1) & (ix->runs_cap - 1)) {
		if (ix->runs[k].label == label && ix->runs[k].ns == ns)
			return &ix->runs[k];
	}
	return NULL;
}

static int add_member(struct eval_shard *sh, uint32_t ep, uint32_t g)
{
	int err = cc_vec_push(&sh->rows, ep);

	return err ? err : cc_vec_push(&sh->vals, g);
}

/*
 * pm_selector_matches() on interned labels: the first label of a key is the
 * one that counts, as in pm_labels_get(). Expressions take the string path.
 */
static bool selector_matches(const struct pm_selector *sel, const struct pm_labels *labels,
			     const uint32_t *ids)
{
	const uint32_t *want = sel->label_ids;
	size_t i, j;

	if (sel->n_exprs || !sel->is_present)
		return pm_selector_matches(sel, labels);
	for (i = 0; i < sel->match_labels.n; i++) {
		for (j = 0; j < labels->n && ids[2 * j] != want[2 * i]; j++)
			;
		if (j == labels->n || ids[2 * j + 1] != want[2 * i + 1])
			return false;
	}
	return true;
}

/* Members of group g in namespace ns: sel NULL means every pod there. */
static int scan_ns(struct eval_shard *sh, uint32_t ns, const struct pm_selector *sel, uint32_t g)
{
	const struct compile_ctx *c = sh->c;
	const struct ep_index *ix = sh->ix;
	const struct pm_endpoint *e;
	const struct label_ent *best = NULL;
	const struct label_run *run;
	size_t n_best = ix->ns[ns].count, n, i;
	bool is_check = sel != NULL;
	uint32_t ep;
	int err;

	for (i = 0; sel && i < sel->match_labels.n; i++) {
		run = label_run_find(ix, ns, label_key(sel->label_ids, i));
		n = run ? run->count : 0;
		if (n < n_best) {
			best = run ? &ix->labels[run->first] : NULL;
			n_best = n;
		}
		if (!n)
			return 0; /* nobody in ns has this label */
	}
	/* A lone label: its run holds exactly the endpoints it selects. */
	if (sel && sel->match_labels.n == 1 && !sel->n_exprs)
		is_check = false;
	for (i = 0; i < n_best; i++) {
		ep = best ? best[i].ep : ix->ns_eps[ix->ns[ns].first + i];
		e = &c->m->endpoints[ep];
		if (is_check && !selector_matches(sel, &e->labels, e->label_ids))
			continue;
		err = add_member(sh, ep, g);
		if (err)
			return err;
	}
	return 0;
}

/* The index of the namespace of string id ns_id, -1 if no endpoint is there. */
static int find_ns(const struct ep_index *ix, uint32_t ns_id)
{
	return ns_id <= ix->n_strs && ix->ns_of_str[ns_id] != CC_NONE ? (int)ix->ns_of_str[ns_id]
								      : -1;
}

static bool ns_sel_eq(const void *ctx, uint32_t id, const void *key)
{
	return sel_equal(((const struct eval_shard *)ctx)->ns_sel_of[id], key);
}

static inline bool ns_label_less(const struct ns_label *a, const struct ns_label *b)
{
	return a->label != b->label ? a->label < b->label : a->ns < b->ns;
}

#define NS_LABEL_LESS(ctx, a, b) ns_label_less(a, b)
CC_SORT_DEFINE(sort_ns_labels, struct ns_label, NS_LABEL_LESS)

static int index_ns_labels(struct ep_index *ix)
{
	const uint32_t *ids;
	size_t n = 0, i, k;

	for (i = 0; i < ix->n_ns; i++)
		n += ix->ns[i].labels->n;
	ix->ns_labels = malloc((n ? n : 1) * sizeof(*ix->ns_labels));
	if (!ix->ns_labels)
		return -ENOMEM;
	for (i = 0; i < ix->n_ns; i++) {
		ids = ix->ns[i].label_ids;
		for (k = 0; k < ix->ns[i].labels->n; k++) {
			if (is_first_key(ids, k))
				ix->ns_labels[ix->n_ns_labels++] =
					(struct ns_label){label_key(ids, k), (uint32_t)i};
		}
	}
	sort_ns_labels(ix->ns_labels, ix->n_ns_labels, NULL);
	return 0;
}

/*
 * Push the namespaces matching sel to ix->ns_sel_ns, ascending. A lone
 * matchLabels label only needs the namespaces that carry it.
 */
static int ns_sel_eval(struct eval_shard *sh, const struct pm_selector *sel)
{
	const struct ep_index *ix = sh->ix;
	size_t lo = 0, hi, mid;
	uint32_t i, last = CC_NONE;
	uint64_t label;
	int err = 0;

	if (!sel->is_present || sel->match_labels.n != 1 || sel->n_exprs) {
		for (i = 0; i < ix->n_ns && !err; i++) {
			if (selector_matches(sel, ix->ns[i].labels, ix->ns[i].label_ids))
				err = cc_vec_push(&sh->ns_sel_ns, i);
		}
		return err;
	}
	label = label_key(sel->label_ids, 0);
	hi = ix->n_ns_labels;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ix->ns_labels[mid].label < label)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ix->n_ns_labels && ix->ns_labels[lo].label == label && !err; lo++) {
		i = ix->ns_labels[lo].ns;
		if (i != last)
			err = cc_vec_push(&sh->ns_sel_ns, i);
		last = i;
	}
	return err;
}

/* The namespaces matching sel, as *first and *n in sh->ns_sel_ns. */
static int ns_sel_lookup(struct eval_shard *sh, const struct pm_selector *sel, size_t *first,
			 size_t *n)
{
	const struct pm_selector **of;
	size_t cap;
	uint32_t id;
	int err;

	if (sh->n_ns_sels == sh->cap_ns_sel_of) {
		cap = sh->cap_ns_sel_of ? 2 * sh->cap_ns_sel_of : 64;
		of = realloc(sh->ns_sel_of, cap * sizeof(*of));
		if (!of)
			return -ENOMEM;
		sh->ns_sel_of = of;
		sh->cap_ns_sel_of = cap;
	}
	sh->ns_sel_of[sh->n_ns_sels] = sel;
	err = hset_get(&sh->ns_sels, sel_hash(HASH_SEED, sel), ns_sel_eq, sh, sel, sh->n_ns_sels,
		       &id);
	if (err < 0)
		return err;
	if (err == 1) {
		sh->n_ns_sels++;
		err = cc_vec_push(&sh->ns_sel_off, (uint32_t)sh->ns_sel_ns.n);
		if (!err)
			err = ns_sel_eval(sh, sel);
		if (err)
			return err;
	}
	*first = sh->ns_sel_off.v[id];
	*n = (id + 1 < sh->n_ns_sels ? sh->ns_sel_off.v[id + 1] : sh->ns_sel_ns.n) - *first;
	return 0;
}

static int eval_group(struct eval_shard *sh, uint32_t g)
{
	const struct cc_group *gr = &sh->c->groups[g];
	const struct pm_selector *pod = gr->pod_sel->is_present ? gr->pod_sel : NULL;
	size_t first, n, i;
	int ns, err;

	if (!gr->ns_sel) {
		ns = find_ns(sh->ix, gr->ns_id);
		/* An absent podSelector without a namespaceSelector selects nothing. */
		if (ns < 0 || !pod)
			return 0;
		return scan_ns(sh, (uint32_t)ns, pod, g);
	}
	err = ns_sel_lookup(sh, gr->ns_sel, &first, &n);
	for (i = 0; i < n && !err; i++)
		err = scan_ns(sh, sh->ns_sel_ns.v[first + i], pod, g);
	return err;
}

/*
 * Evaluating a group follows a chain of pointers into the model (group ->
 * selector -> its label ids -> a run of the label index), each a cache miss
 * on a large model. The groups are independent, so the loop asks for the
 * data of the groups ahead: selectors PF_SEL ahead, label ids PF_IDS ahead,
 * the run's slot PF_RUN ahead. Only speed depends on it.
 */
#define PF_SEL 12
#define PF_IDS 6
#define PF_RUN 3

static void prefetch_sel(const struct pm_selector *s)
{
	if (s && s->label_ids)
		__builtin_prefetch(s->label_ids);
}

static void prefetch_run(const struct compile_ctx *c, const struct ep_index *ix, uint32_t g)
{
	const struct cc_group *gr = &c->groups[g];
	const struct pm_selector *pod = gr->pod_sel;
	int ns;

	if (gr->ns_sel || !pod->is_present || !pod->match_labels.n || !ix->runs_cap)
		return;
	ns = find_ns(ix, gr->ns_id);
	if (ns >= 0)
		__builtin_prefetch(
			&ix->runs[run_slot_hash((uint32_t)ns, label_key(pod->label_ids, 0)) &
				  (ix->runs_cap - 1)]);
}

static int eval_groups(struct eval_shard *sh)
{
	const struct compile_ctx *c = sh->c;
	const struct ep_index *ix = sh->ix;
	uint32_t g, n = sh->end_group;
	int err = 0;

	for (g = sh->first_group; g < n && !err; g++) {
		if (g + PF_SEL < n) {
			__builtin_prefetch(c->groups[g + PF_SEL].pod_sel);
			__builtin_prefetch(c->groups[g + PF_SEL].ns_sel);
		}
		if (g + PF_IDS < n) {
			prefetch_sel(c->groups[g + PF_IDS].pod_sel);
			prefetch_sel(c->groups[g + PF_IDS].ns_sel);
		}
		if (g + PF_RUN < n)
			prefetch_run(c, ix, g + PF_RUN);
		err = eval_group(sh, g);
	}
	return err;
}

static void *eval_thread(void *arg)
{
	struct eval_shard *sh = arg;

	sh->err = eval_groups(sh);
	return NULL;
}

static void shard_free(struct eval_shard *sh)
{
	cc_vec_free(&sh->rows);
	cc_vec_free(&sh->vals);
	hset_free(&sh->ns_sels);
	free(sh->ns_sel_of);
	cc_vec_free(&sh->ns_sel_off);
	cc_vec_free(&sh->ns_sel_ns);
}

/* Threads of the next compiles (cc_set_threads()): 0 by model size. */
static unsigned int cc_threads;

/* See policy_compile_priv.h. */
void cc_set_threads(unsigned int n)
{
	cc_threads = n;
}

/* A second thread pays for itself on large models only (it costs ~50 us to start). */
#define PARALLEL_MIN 20000

static bool use_threads(const struct compile_ctx *c)
{
	if (cc_threads)
		return cc_threads > 1;
	return c->m->n_endpoints + c->m->n_policies >= PARALLEL_MIN;
}

/*
 * Evaluate every group, the second half on another thread when it pays.
 * The pairs come out in the order one thread gives (the first half's, then
 * the second's), whatever the timing.
 */
static int eval_all(const struct compile_ctx *c, const struct ep_index *ix, struct cc_vec *rows,
		    struct cc_vec *vals)
{
	struct eval_shard sh[2] = {
		{.c = c, .ix = ix, .end_group = c->n_groups / 2},
		{.c = c, .ix = ix, .first_group = c->n_groups / 2, .end_group = c->n_groups}};
	bool is_started = false;
	pthread_t t;
	size_t i;
	int err;

	if (use_threads(c))
		is_started = !pthread_create(&t, NULL, eval_thread, &sh[1]);
	sh[0].err = eval_groups(&sh[0]);
	if (is_started)
		pthread_join(t, NULL);
	else if (!sh[0].err)
		sh[1].err = eval_groups(&sh[1]);
	err = sh[0].err ? sh[0].err : sh[1].err;
	for (i = 0; i < sh[1].rows.n && !err; i++) {
		err = cc_vec_push(&sh[0].rows, sh[1].rows.v[i]);
		if (!err)
			err = cc_vec_push(&sh[0].vals, sh[1].vals.v[i]);
	}
	if (!err) {
		*rows = sh[0].rows;
		*vals = sh[0].vals;
		memset(&sh[0].rows, 0, sizeof(sh[0].rows));
		memset(&sh[0].vals, 0, sizeof(sh[0].vals));
	}
	shard_free(&sh[0]);
	shard_free(&sh[1]);
	return err;
}

#define U32_LESS(ctx, a, b) (*(a) < *(b))
CC_SORT_DEFINE(sort_u32, uint32_t, U32_LESS)

/* Sort and dedupe each row in place (rows keep their capacity). */
static void csr_normalize(struct cc_csr *cs)
{
	size_t r, i, w, lo, hi, out = 0;

	for (r = 0; r < cs->n_rows; r++) {
		lo = cs->off[r];
		hi = cs->off[r + 1];
		if (hi - lo > 1)
			sort_u32(cs->val + lo, hi - lo, NULL);
		cs->off[r] = (uint32_t)out;
		for (i = lo, w = 0; i < hi; i++) {
			if (w && cs->val[out - 1] == cs->val[i])
				continue;
			cs->val[out++] = cs->val[i];
			w++;
		}
	}
	cs->off[cs->n_rows] = (uint32_t)out;
}

static void ep_index_free(struct ep_index *ix)
{
	free(ix->ns_eps);
	free(ix->ns);
	free(ix->labels);
	free(ix->runs);
	free(ix->ns_labels);
	free(ix->ns_of_str);
	free(ix->pfx);
}

/* Step 2: endpoint -> features (selector groups, then named ports), over the index ix. */
static int build_ep_feats(struct compile_ctx *c, struct interner *in, const struct ep_index *ix)
{
	struct cc_vec np = {0}, rows = {0}, vals = {0};
	size_t i;
	int err;

	err = eval_all(c, ix, &rows, &vals);
	if (!err)
		err = intern_endpoint_ports(c, in, &rows, &np);
	for (i = 0; i < np.n && !err; i++)
		err = cc_vec_push(&vals, cc_np_feat(c, np.v[i]));
	if (!err)
		err = cc_csr_build(&c->ep_feats, c->m->n_endpoints, rows.v, vals.v, rows.n);
	if (!err)
		csr_normalize(&c->ep_feats);
	cc_vec_free(&np);
	cc_vec_free(&rows);
	cc_vec_free(&vals);
	return err;
}

/* Family, then the address bytes (as memcmp orders them), then the length. */
static inline int cmp_addr(const struct pm_addr *a, const struct pm_addr *b)
{
	uint64_t x, y;
	int i;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	for (i = 0; i < 16; i += 8) {
		memcpy(&x, a->addr + i, 8);
		memcpy(&y, b->addr + i, 8);
		if (x != y)
			return be64toh(x) < be64toh(y) ? -1 : 1;
	}
	return (a->prefixlen > b->prefixlen) - (a->prefixlen < b->prefixlen);
}

static inline bool prefix_less(const struct cc_prefix *x, const struct cc_prefix *y)
{
	int r = cmp_addr(&x->a, &y->a);

	return r ? r < 0 : x->ep < y->ep;
}

#define PREFIX_LESS(ctx, a, b) prefix_less(a, b)
CC_SORT_DEFINE(sort_prefixes, struct cc_prefix, PREFIX_LESS)

static bool prefix_contains(const struct pm_addr *outer, const struct pm_addr *inner)
{
	unsigned int full = outer->prefixlen / 8, rest = outer->prefixlen % 8;
	uint8_t mask = (uint8_t)(0xff00 >> rest);

	if (outer->family != inner->family || outer->prefixlen > inner->prefixlen)
		return false;
	if (memcmp(outer->addr, inner->addr, full))
		return false;
	return !rest || (inner->addr[full] & mask) == outer->addr[full];
}

static bool addr_valid(const struct pm_addr *a)
{
	if (a->family == BM_FAMILY_IPV4)
		return a->prefixlen <= 32;
	return a->family == BM_FAMILY_IPV6 && a->prefixlen <= 128;
}

static int bad_addr(struct compile_ctx *c, const struct pm_addr *a)
{
	cc_error(c, "address of family %u with prefix length %u", a->family, a->prefixlen);
	return -EINVAL;
}

/* Append prefix a of endpoint ep (CC_NONE: of an ipBlock) to *pfx. */
static int push_prefix(struct cc_prefix **pfx, size_t *n, size_t *cap, const struct pm_addr *a,
		       uint32_t ep)
{
	struct cc_prefix *np;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		np = realloc(*pfx, *cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		*pfx = np;
	}
	memset(&(*pfx)[*n], 0, sizeof(**pfx));
	(*pfx)[*n].a = *a;
	(*pfx)[*n].ep = ep;
	(*pfx)[*n].owner = CC_NONE;
	(*n)++;
	return 0;
}

/* The endpoints' prefixes, sorted, into ix (they do not depend on the rules). */
static int collect_endpoint_prefixes(const struct compile_ctx *c, struct ep_index *ix)
{
	const struct pm_endpoint *e;
	size_t i, j;
	int err = 0;

	for (i = 0; i < c->m->n_endpoints && !err; i++) {
		e = &c->m->endpoints[i];
		for (j = 0; j < e->n_addrs && !err; j++) {
			if (!addr_valid(&e->addrs[j])) {
				ix->bad_addr = &e->addrs[j];
				return -EINVAL;
			}
			err = push_prefix(&ix->pfx, &ix->n_pfx, &ix->cap_pfx, &e->addrs[j],
					  (uint32_t)i);
		}
	}
	if (!err && ix->n_pfx > 1)
		sort_prefixes(ix->pfx, ix->n_pfx, NULL);
	return err;
}

/*
 * Every prefix, sorted: the ipBlocks' sorted and merged into the endpoints'.
 * Prefixes that sort alike are equal in every field, so this is the order a
 * sort of all of them gives.
 */
static int collect_prefixes(struct compile_ctx *c, const struct ep_index *ix)
{
	struct cc_prefix *blk = NULL, *all;
	size_t n_blk = 0, cap = 0, i, j, k;
	int err = 0;

	for (i = 0; i < c->n_blocks && !err; i++) {
		err = push_prefix(&blk, &n_blk, &cap, &c->blocks[i]->cidr, CC_NONE);
		for (j = 0; j < c->blocks[i]->n_except && !err; j++)
			err = push_prefix(&blk, &n_blk, &cap, &c->blocks[i]->except[j], CC_NONE);
	}
	for (i = 0; i < n_blk && !err; i++) {
		if (!addr_valid(&blk[i].a))
			err = bad_addr(c, &blk[i].a);
	}
	all = err ? NULL : malloc((ix->n_pfx + n_blk + 1) * sizeof(*all));
	if (!err && !all)
		err = -ENOMEM;
	if (err) {
		free(blk);
		return err;
	}
	if (n_blk > 1)
		sort_prefixes(blk, n_blk, NULL);
	for (i = j = k = 0; i < ix->n_pfx || j < n_blk;) {
		if (j == n_blk || (i < ix->n_pfx && !prefix_less(&blk[j], &ix->pfx[i])))
			all[k++] = ix->pfx[i++];
		else
			all[k++] = blk[j++];
	}
	free(blk);
	c->pfx = all;
	c->n_pfx = k;
	return 0;
}

static int overlap_error(struct compile_ctx *c, uint32_t a, uint32_t b)
{
	cc_error(c, "endpoints %s/%s and %s/%s have overlapping addresses", c->m->endpoints[a].ns,
		 c->m->endpoints[a].name, c->m->endpoints[b].ns, c->m->endpoints[b].name);
	return -EINVAL;
}

/* Merge duplicates of the sorted prefixes (an endpoint prefix sorts first and wins). */
static int dedupe_prefixes(struct compile_ctx *c)
{
	size_t i, w = 0;

	for (i = 0; i < c->n_pfx; i++) {
		if (w && !cmp_addr(&c->pfx[w - 1].a, &c->pfx[i].a)) {
			if (c->pfx[i].ep != CC_NONE && c->pfx[i].ep != c->pfx[w - 1].ep)
				return overlap_error(c, c->pfx[w - 1].ep, c->pfx[i].ep);
			continue;
		}
		c->pfx[w++] = c->pfx[i];
	}
	c->n_pfx = w;
	return 0;
}

/* Step 3: owners and subtree ends with one stack walk over sorted prefixes. */
static int walk_prefixes(struct compile_ctx *c)
{
	struct cc_prefix *p, *top;
	struct cc_vec stack = {0};
	size_t i;
	int err = 0;

	for (i = 0; i < c->n_pfx && !err; i++) {
		p = &c->pfx[i];
		while (stack.n && !prefix_contains(&c->pfx[stack.v[stack.n - 1]].a, &p->a))
			c->pfx[stack.v[--stack.n]].end = (uint32_t)i;
		top = stack.n ? &c->pfx[stack.v[stack.n - 1]] : NULL;
		if (p->ep != CC_NONE && top && top->owner != CC_NONE)
			err = overlap_error(c, top->owner, p->ep);
		p->owner = p->ep != CC_NONE ? p->ep : top ? top->owner : CC_NONE;
		p->parent = top ? stack.v[stack.n - 1] : CC_NONE;
		if (!err)
			err = cc_vec_push(&stack, (uint32_t)i);
	}
	while (stack.n)
		c->pfx[stack.v[--stack.n]].end = (uint32_t)c->n_pfx;
	cc_vec_free(&stack);
	return err;
}

static size_t find_prefix(const struct compile_ctx *c, const struct pm_addr *a)
{
	size_t lo = 0, hi = c->n_pfx, mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = cmp_addr(&c->pfx[mid].a, a);
		if (!r)
			return mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return c->n_pfx;
}

static bool is_except(const struct pm_ip_block *b, const struct pm_addr *a)
{
	size_t i;

	for (i = 0; i < b->n_except; i++) {
		if (addr_equal(&b->except[i], a))
			return true;
	}
	return false;
}

/* The regions inside block b: its cidr's run minus its excepts' runs. */
static int block_members(struct compile_ctx *c, uint32_t b, struct cc_vec *rows,
			 struct cc_vec *vals)
{
	const struct pm_ip_block *blk = c->blocks[b];
	size_t i, j, end;
	int err;

	for (i = 0; i < blk->n_except; i++) {
		if (prefix_contains(&blk->except[i], &blk->cidr))
			return 0;
		if (!prefix_contains(&blk->cidr, &blk->except[i]))
			cc_warn(c, "ipBlock except outside its cidr is ignored");
	}
	j = find_prefix(c, &blk->cidr);
	end = j < c->n_pfx ? c->pfx[j].end : j;
	while (j < end) {
		if (is_except(blk, &c->pfx[j].a)) {
			j = c->pfx[j].end;
			continue;
		}
		err = cc_vec_push(rows, (uint32_t)j);
		if (!err)
			err = cc_vec_push(vals, cc_block_feat(c, b));
		if (err)
			return err;
		j++;
	}
	return 0;
}

static int build_pfx_feats(struct compile_ctx *c)
{
	struct cc_vec rows = {0}, vals = {0};
	uint32_t b;
	int err = 0;

	for (b = 0; b < c->n_blocks && !err; b++)
		err = block_members(c, b, &rows, &vals);
	if (!err)
		err = cc_csr_build(&c->pfx_feats, c->n_pfx, rows.v, vals.v, rows.n);
	cc_vec_free(&rows);
	cc_vec_free(&vals);
	return err;
}

/* A region's signature as two runs. */
static void region_sig(const struct compile_ctx *c, size_t j, const uint32_t **a, size_t *na,
		       const uint32_t **b, size_t *nb)
{
	uint32_t owner = c->pfx[j].owner;

	*na = owner == CC_NONE ? 0 : cc_csr_len(&c->ep_feats, owner);
	*a = owner == CC_NONE ? NULL : cc_csr_row(&c->ep_feats, owner);
	*nb = cc_csr_len(&c->pfx_feats, j);
	*b = cc_csr_row(&c->pfx_feats, j);
}

/* See policy_compile_priv.h. */
void cc_class_sig(const struct compile_ctx *c, uint32_t class_id, const uint32_t **a, size_t *na,
		  const uint32_t **b, size_t *nb)
{
	region_sig(c, c->class_rep[class_id - BM_CLASS_FIRST], a, na, b, nb);
}

static int cmp_regions(const struct compile_ctx *c, size_t x, size_t y)
{
	const uint32_t *xa, *xb, *ya, *yb;
	size_t xna, xnb, yna, ynb, i;
	uint32_t u, v;

	region_sig(c, x, &xa, &xna, &xb, &xnb);
	region_sig(c, y, &ya, &yna, &yb, &ynb);
	for (i = 0; i < xna + xnb && i < yna + ynb; i++) {
		u = i < xna ? xa[i] : xb[i - xna];
		v = i < yna ? ya[i] : yb[i - yna];
		if (u != v)
			return u < v ? -1 : 1;
	}
	return (xna + xnb > yna + ynb) - (xna + xnb < yna + ynb);
}

static bool region_eq(const void *ctx, uint32_t id, const void *key)
{
	return !cmp_regions(ctx, id, *(const size_t *)key);
}

/*
 * A region to sort by signature: key holds its first two features (each + 1,
 * 0 when the signature is shorter), so most comparisons need no row.
 */
struct region_key {
	uint64_t key;
	uint32_t region;
};

static inline bool region_less(const struct compile_ctx *c, const struct region_key *x,
			       const struct region_key *y)
{
	if (x->key != y->key)
		return x->key < y->key;
	return cmp_regions(c, x->region, y->region) < 0;
}

#define REGION_LESS(ctx, a, b) region_less(ctx, a, b)
CC_SORT_DEFINE(sort_region_keys, struct region_key, REGION_LESS)

static uint64_t region_key(const struct compile_ctx *c, uint32_t j)
{
	const uint32_t *a, *b;
	size_t na, nb;
	uint64_t f[2] = {0, 0};
	size_t i;

	region_sig(c, j, &a, &na, &b, &nb);
	for (i = 0; i < 2 && i < na + nb; i++)
		f[i] = (uint64_t)(i < na ? a[i] : b[i - na]) + 1;
	return f[0] << 32 | f[1];
}

/* Sort regions (distinct signatures) by signature. */
static int sort_regions(const struct compile_ctx *c, uint32_t *regions, size_t n)
{
	struct region_key *k = malloc((n ? n : 1) * sizeof(*k));
	size_t i;

	if (!k)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		k[i] = (struct region_key){region_key(c, regions[i]), regions[i]};
	if (n > 1)
		sort_region_keys(k, n, c);
	for (i = 0; i < n; i++)
		regions[i] = k[i].region;
	free(k);
	return 0;
}

static uint64_t region_hash(const struct compile_ctx *c, size_t j)
{
	const uint32_t *a, *b;
	size_t na, nb;

	region_sig(c, j, &a, &na, &b, &nb);
	return hash_bytes(hash_bytes(HASH_SEED, a, na * 4), b, nb * 4);
}

/* Step 4: distinct non-empty signatures, sorted, become classes. */
/* The signature rows of region j ahead: only speed depends on it. */
#define PF_REGION 8

static void prefetch_region(const struct compile_ctx *c, size_t j)
{
	uint32_t owner = c->pfx[j].owner;

	if (owner != CC_NONE)
		__builtin_prefetch(cc_csr_row(&c->ep_feats, owner));
}

static int assign_classes(struct compile_ctx *c)
{
	struct cc_hset set = {0};
	struct cc_vec reps = {0};
	uint32_t *rank = NULL, *rep_of = NULL, id;
	uint64_t *hashes = NULL;
	size_t j, na, nb;
	const uint32_t *a, *b;
	int err = 0;

	/* rep_of[j]: the representative of j's signature, CC_NONE when empty */
	rep_of = malloc((c->n_pfx + 1) * sizeof(*rep_of));
	hashes = malloc((c->n_pfx + 1) * sizeof(*hashes));
	if (!rep_of || !hashes || hset_reserve(&set, c->n_pfx)) {
		err = -ENOMEM;
		goto out;
	}
	/* the hashes first, so that the hash slots can be asked for ahead */
	for (j = 0; j < c->n_pfx; j++) {
		if (j + PF_REGION < c->n_pfx)
			prefetch_region(c, j + PF_REGION);
		hashes[j] = region_hash(c, j);
	}
	for (j = 0; j < c->n_pfx && !err; j++) {
		if (j + PF_SLOT < c->n_pfx)
			__builtin_prefetch(&set.slots[hashes[j + PF_SLOT] & (set.cap - 1)]);
		rep_of[j] = CC_NONE;
		region_sig(c, j, &a, &na, &b, &nb);
		if (!na && !nb)
			continue;
		err = hset_get(&set, hashes[j], region_eq, c, &j, (uint32_t)j, &id);
		rep_of[j] = id;
		if (err == 1)
			err = cc_vec_push(&reps, (uint32_t)j);
	}
	if (err < 0)
		goto out;
	err = sort_regions(c, reps.v, reps.n);
	if (err)
		goto out;
	rank = malloc((c->n_pfx + 1) * sizeof(*rank));
	if (!rank) {
		err = -ENOMEM;
		goto out;
	}
	for (j = 0; j < reps.n; j++)
		rank[reps.v[j]] = BM_CLASS_FIRST + (uint32_t)j;
	for (j = 0; j < c->n_pfx; j++)
		c->pfx[j].class_id = rep_of[j] == CC_NONE ? BM_CLASS_WORLD : rank[rep_of[j]];
	c->n_classes = (uint32_t)reps.n;
	c->class_rep = reps.v;
	reps.v = NULL;
	err = 0;
out:
	free(hashes);
	free(rep_of);
	free(rank);
	cc_vec_free(&reps);
	hset_free(&set);
	return err;
}

/* Isolation flags and feature -> classes. */
static int index_classes(struct compile_ctx *c)
{
	struct cc_vec rows = {0}, vals = {0};
	const uint32_t *a, *b;
	size_t na, nb, i;
	uint32_t k;
	int err = 0;

	c->class_flags = calloc(c->n_classes + 1, sizeof(*c->class_flags));
	if (!c->class_flags)
		return -ENOMEM;
	for (k = 0; k < c->n_classes && !err; k++) {
		cc_class_sig(c, BM_CLASS_FIRST + k, &a, &na, &b, &nb);
		for (i = 0; i < na + nb && !err; i++) {
			if (i < na && a[i] < c->n_groups)
				c->class_flags[k] |= c->groups[a[i]].policy_flags;
			err = cc_vec_push(&rows, i < na ? a[i] : b[i - na]);
			if (!err)
				err = cc_vec_push(&vals, BM_CLASS_FIRST + k);
		}
	}
	if (!err)
		err = cc_csr_build(&c->feat_classes, cc_nr_feats(c), rows.v, vals.v, rows.n);
	cc_vec_free(&rows);
	cc_vec_free(&vals);
	return err;
}

static void ipcache_value(const struct compile_ctx *c, uint32_t j, struct bm_ipcache_value *v)
{
	const struct cc_prefix *p = &c->pfx[j];

	memset(v, 0, sizeof(*v));
	v->class_id = p->class_id;
	v->sec_id = p->owner == CC_NONE ? BM_ID_WORLD : c->m->endpoints[p->owner].sec_id;
	if (p->class_id >= BM_CLASS_FIRST)
		v->flags = c->class_flags[p->class_id - BM_CLASS_FIRST];
	if (p->owner != CC_NONE && c->m->endpoints[p->owner].is_local)
		v->flags |= BM_IPC_F_LOCAL;
}

/*
 * A region that resolves exactly like the one around it needs no entry: the
 * lookup falls through to the enclosing prefix (or to WORLD) and finds the
 * same value. Enclosing entries dropped this way held that value too.
 */
static bool is_redundant(const struct compile_ctx *c, uint32_t j, const struct bm_ipcache_value *v)
{
	struct bm_ipcache_value outer = {.sec_id = BM_ID_WORLD, .class_id = BM_CLASS_WORLD};

	if (c->pfx[j].parent != CC_NONE)
		ipcache_value(c, c->pfx[j].parent, &outer);
	return !memcmp(&outer, v, sizeof(*v));
}

static int emit_ipcache(struct compile_ctx *c, struct bm_tables *out)
{
	union {
		struct bm_host4_key h4;
		struct bm_host6_key h6;
		struct bm_cidr4_key c4;
		struct bm_cidr6_key c6;
	} key;
	struct bm_ipcache_value v;
	const struct cc_prefix *p;
	enum tables_kind kind;
	bool is_v4;
	uint32_t i;
	int err;

	for (i = 0; i < c->n_pfx; i++) {
		p = &c->pfx[i];
		ipcache_value(c, i, &v);
		if (is_redundant(c, i, &v))
			continue;
		is_v4 = p->a.family == BM_FAMILY_IPV4;
		memset(&key, 0, sizeof(key));
		if (p->a.prefixlen == (is_v4 ? 32 : 128)) {
			kind = is_v4 ? TABLES_HOST4 : TABLES_HOST6;
			memcpy(&key, p->a.addr, is_v4 ? 4 : 16);
		} else {
			kind = is_v4 ? TABLES_CIDR4 : TABLES_CIDR6;
			key.c6.prefixlen = p->a.prefixlen;
			memcpy(key.c6.addr, p->a.addr, is_v4 ? 4 : 16);
		}
		err = tables_append(out, kind, &key, &v);
		if (err)
			return err;
	}
	return 0;
}

/* Upper bounds for the interned arrays: one entry per mention. */
static int reserve(struct compile_ctx *c, size_t *max_groups)
{
	const struct pm_policy *p;
	size_t peers = 1, ports = 1, ep_ports = 1, i, j;

	for (i = 0; i < c->m->n_policies; i++) {
		p = &c->m->policies[i];
		for (j = 0; j < p->n_ingress; j++) {
			peers += p->ingress[j].n_peers;
			ports += p->ingress[j].n_ports;
		}
		for (j = 0; j < p->n_egress; j++) {
			peers += p->egress[j].n_peers;
			ports += p->egress[j].n_ports;
		}
	}
	for (i = 0; i < c->m->n_endpoints; i++)
		ep_ports += c->m->endpoints[i].n_ports;
	c->blocks = malloc(peers * sizeof(*c->blocks));
	c->names = malloc(ports * sizeof(*c->names));
	c->n_strs = c->m->strs ? pm_strtab_count(c->m->strs) : 0;
	c->name_of_str = malloc((c->n_strs + 1) * sizeof(*c->name_of_str));
	if (c->name_of_str)
		memset(c->name_of_str, 0xff, (c->n_strs + 1) * sizeof(*c->name_of_str));
	c->nps = malloc(ep_ports * sizeof(*c->nps));
	*max_groups = peers + c->m->n_policies;
	return c->blocks && c->names && c->nps && c->name_of_str ? 0 : -ENOMEM;
}

/* The rules of policy pi ahead, and their peers further ahead: only speed depends on it. */
#define PF_RULES 8
#define PF_PEERS 4

static void prefetch_rules(const struct pm_model *m, uint32_t pi)
{
	__builtin_prefetch(m->policies[pi].ingress);
	__builtin_prefetch(m->policies[pi].egress);
}

static void prefetch_peers(const struct pm_model *m, uint32_t pi)
{
	const struct pm_policy *p = &m->policies[pi];
	size_t i;

	for (i = 0; i < p->n_ingress && i < 4; i++)
		__builtin_prefetch(p->ingress[i].peers);
	for (i = 0; i < p->n_egress && i < 4; i++)
		__builtin_prefetch(p->egress[i].peers);
}

static int intern_all(struct compile_ctx *c, struct interner *in)
{
	uint32_t pi, n = (uint32_t)c->m->n_policies, *cand_id = NULL;
	size_t max_groups;
	int err;

	err = reserve(c, &max_groups);
	if (!err)
		err = hset_reserve(&in->groups, max_groups);
	if (err)
		return err;
	c->groups = malloc(max_groups * sizeof(*c->groups));
	in->cands = malloc(max_groups * sizeof(*in->cands));
	c->n_rules = c->m->n_rules ? c->m->n_rules : 1;
	c->rules = calloc(c->n_rules, sizeof(*c->rules));
	c->policy_group = calloc(c->m->n_policies + 1, sizeof(*c->policy_group));
	if (!c->groups || !in->cands || !c->rules || !c->policy_group)
		return -ENOMEM;
	for (pi = 0; pi < n && !err; pi++) {
		if (pi + PF_RULES < n)
			prefetch_rules(c->m, pi + PF_RULES);
		if (pi + PF_PEERS < n)
			prefetch_peers(c->m, pi + PF_PEERS);
		err = intern_policy(c, in, pi);
	}
	if (!err) {
		cand_id = malloc((in->n_cands + 1) * sizeof(*cand_id));
		err = cand_id ? dedupe_groups(c, in, cand_id) : -ENOMEM;
	}
	if (!err) {
		resolve_peers(c, cand_id);
		err = build_group_policies(c);
	}
	free(cand_id);
	return err;
}

/* The rules' side, the endpoints' side: the second may run on a second thread. */
struct prepare_job {
	const struct compile_ctx *c;
	struct ep_index *ix;
	int err;
};

static int prepare_endpoints(const struct compile_ctx *c, struct ep_index *ix)
{
	int err;

	err = index_namespaces(c, ix);
	if (!err)
		err = index_labels(c, ix);
	if (!err)
		err = index_ns_labels(ix);
	if (!err)
		err = collect_endpoint_prefixes(c, ix);
	return err;
}

static void *prepare_thread(void *arg)
{
	struct prepare_job *job = arg;

	job->err = prepare_endpoints(job->c, job->ix);
	return NULL;
}

/* See policy_compile_priv.h. Fills c and appends the ipcache entries to out. */
int cc_classes_build(struct compile_ctx *c, struct bm_tables *out)
{
	struct prepare_job job = {.c = c};
	struct ep_index ix = {0};
	struct interner in = {0};
	bool is_started = false;
	pthread_t t;
	int err;

	/* the endpoints' side of steps 2 and 3 does not depend on the rules */
	job.ix = &ix;
	if (use_threads(c))
		is_started = !pthread_create(&t, NULL, prepare_thread, &job);
	err = intern_all(c, &in);
	if (is_started)
		pthread_join(t, NULL);
	else if (!err)
		job.err = prepare_endpoints(c, &ix);
	if (!err && ix.bad_addr)
		err = bad_addr(c, ix.bad_addr);
	if (!err)
		err = job.err;
	if (!err)
		err = build_ep_feats(c, &in, &ix);
	if (!err) {
		untag_peers(c);
		err = build_name_nps(c);
	}
	if (!err)
		err = collect_prefixes(c, &ix);
	ep_index_free(&ix);
	if (!err)
		err = dedupe_prefixes(c);
	if (!err)
		err = walk_prefixes(c);
	if (!err)
		err = build_pfx_feats(c);
	if (!err)
		err = assign_classes(c);
	if (!err)
		err = index_classes(c);
	if (!err)
		err = emit_ipcache(c, out);
	hset_free(&in.groups);
	free(in.cands);
	hset_free(&in.blocks);
	hset_free(&in.nps);
	return err;
}

/* See policy_compile_priv.h. NULL-safe on every member. */
void cc_classes_free(struct compile_ctx *c)
{
	free(c->pfx);
	free(c->groups);
	free(c->policy_group);
	cc_csr_free(&c->group_policies);
	free(c->names);
	free(c->name_of_str);
	free(c->nps);
	cc_csr_free(&c->name_nps);
	free(c->blocks);
	free(c->rules);
	cc_vec_free(&c->peer_feats);
	cc_vec_free(&c->port_names);
	cc_csr_free(&c->ep_feats);
	cc_csr_free(&c->pfx_feats);
	free(c->class_rep);
	free(c->class_flags);
	cc_csr_free(&c->feat_classes);
}
