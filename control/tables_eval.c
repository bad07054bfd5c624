// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mirror of the kernel: judges a tuple with the very lookups the BPF
 * program performs on its maps (ipcache host hash, then LPM, then WORLD;
 * policy {peer, proto}, {peer, ANY}, {ANY, proto}, {ANY, ANY} of the
 * subject; ranges; spilled ports; auth),
 * but on the in-memory tables of one generation. Exact-match maps become
 * binary searches over the sorted arrays (see tables_eval.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_eval.h"
#include "tables_eval.h"

/* One end of the tuple as the ipcache describes it. */
struct ipc_hit {
	uint32_t sec_id;
	uint32_t class_id;
	uint32_t flags;
};

/* A range or spilled port that allows a direction. */
struct dir_hit {
	bool does_apply;
	bool is_allowed;
	bool is_auth;
	uint32_t rule_id;
};

static int cmp_cidr(const void *a, const void *b, size_t key_size)
{
	uint32_t la, lb;

	memcpy(&la, a, sizeof(la));
	memcpy(&lb, b, sizeof(lb));
	if (la != lb)
		return la > lb ? -1 : 1;
	return memcmp((const char *)a + 4, (const char *)b + 4, key_size - 4);
}

static int cmp_u32_field(uint32_t a, uint32_t b)
{
	return (a > b) - (a < b);
}

/* (subject, direction, peer, proto): the order policy_compile() emits in. */
static int cmp_policy(const struct bm_policy_key *a, const struct bm_policy_key *b)
{
	if (a->subject_class != b->subject_class)
		return cmp_u32_field(a->subject_class, b->subject_class);
	if (a->direction != b->direction)
		return cmp_u32_field(a->direction, b->direction);
	if (a->peer_class != b->peer_class)
		return cmp_u32_field(a->peer_class, b->peer_class);
	if (a->proto != b->proto)
		return cmp_u32_field(a->proto, b->proto);
	return cmp_u32_field(a->pad, b->pad);
}

static int cmp_ports(const struct bm_port_key *a, const struct bm_port_key *b)
{
	int r = cmp_policy(&a->policy, &b->policy);

	if (r)
		return r;
	if (a->port != b->port)
		return cmp_u32_field(a->port, b->port);
	return cmp_u32_field(a->pad, b->pad);
}

static int cmp_key(enum tables_kind kind, const void *a, const void *b, size_t key_size)
{
	struct bm_policy_key pa, pb;
	struct bm_port_key qa, qb;
	uint32_t ia, ib;

	switch (kind) {
	case TABLES_CIDR4:
	case TABLES_CIDR6:
		return cmp_cidr(a, b, key_size);
	case TABLES_POLICY:
		memcpy(&pa, a, sizeof(pa));
		memcpy(&pb, b, sizeof(pb));
		return cmp_policy(&pa, &pb);
	case TABLES_PORTS:
		memcpy(&qa, a, sizeof(qa));
		memcpy(&qb, b, sizeof(qb));
		return cmp_ports(&qa, &qb);
	case TABLES_RANGES:
		memcpy(&ia, a, sizeof(ia));
		memcpy(&ib, b, sizeof(ib));
		return cmp_u32_field(ia, ib);
	default:
		return memcmp(a, b, key_size);
	}
}

/* First index in [lo, hi) whose key is not below key. */
static size_t lower_bound(const struct bm_tables *tb, enum tables_kind kind, size_t lo, size_t hi,
			  const void *key)
{
	size_t mid, ks = tb->maps[kind].key_size;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cmp_key(kind, tables_key(tb, kind, mid), key, ks) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const void *find_in(const struct bm_tables *tb, enum tables_kind kind, size_t lo, size_t hi,
			   const void *key)
{
	size_t i = lower_bound(tb, kind, lo, hi, key);

	if (i < hi && !cmp_key(kind, tables_key(tb, kind, i), key, tb->maps[kind].key_size))
		return tables_value(tb, kind, i);
	return NULL;
}

static const void *find(const struct bm_tables *tb, enum tables_kind kind, const void *key)
{
	return find_in(tb, kind, 0, tb->maps[kind].n, key);
}

static void mask_addr(uint8_t *dst, const uint8_t *addr, uint32_t prefixlen, size_t len)
{
	uint32_t full = prefixlen / 8, rest = prefixlen % 8;

	memset(dst, 0, len);
	memcpy(dst, addr, full);
	if (rest)
		dst[full] = addr[full] & (uint8_t)(0xff00 >> rest);
}

/* Longest prefix match: one block per prefix length, longest first. */
static const struct bm_ipcache_value *lpm(const struct bm_tables *tb, enum tables_kind kind,
					  const uint8_t *addr, size_t alen)
{
	uint8_t key[sizeof(struct bm_cidr6_key)], probe[sizeof(struct bm_cidr6_key)];
	const struct bm_ipcache_value *v;
	size_t i = 0, end, n = tb->maps[kind].n;
	uint32_t len, next;

	while (i < n) {
		memcpy(&len, tables_key(tb, kind, i), sizeof(len));
		next = len - 1;
		memset(probe, 0, sizeof(probe));
		memcpy(probe, &next, sizeof(next));
		end = len ? lower_bound(tb, kind, i, n, probe) : n;
		memcpy(key, &len, sizeof(len));
		mask_addr(key + 4, addr, len, alen);
		v = find_in(tb, kind, i, end, key);
		if (v)
			return v;
		i = end;
	}
	return NULL;
}

static void resolve(const struct bm_tables *tb, uint8_t family, const uint8_t *addr,
		    struct ipc_hit *hit)
{
	bool is_v4 = family == BM_FAMILY_IPV4;
	const struct bm_ipcache_value *v;
	size_t alen = is_v4 ? 4 : 16;

	v = find(tb, is_v4 ? TABLES_HOST4 : TABLES_HOST6, addr);
	if (!v)
		v = lpm(tb, is_v4 ? TABLES_CIDR4 : TABLES_CIDR6, addr, alen);
	if (!v) {
		hit->sec_id = BM_ID_WORLD;
		hit->class_id = BM_CLASS_WORLD;
		hit->flags = 0;
		return;
	}
	hit->sec_id = v->sec_id;
	hit->class_id = v->class_id;
	hit->flags = v->flags;
}

/* Range i of v: inline, or in the pool (NULL outside it, as the BPF lookup). */
static const struct bm_port_range *range_at(const struct bm_tables *tb,
					    const struct bm_policy_value *v, uint32_t i)
{
	uint64_t idx;

	if (i < BM_POLICY_INLINE_RANGES)
		return &v->range[i];
	idx = (uint64_t)v->first + i - BM_POLICY_INLINE_RANGES;
	if (idx >= tb->maps[TABLES_RANGES].n)
		return NULL;
	return tables_value(tb, TABLES_RANGES, (size_t)idx);
}

static bool scan_ranges(const struct bm_tables *tb, const struct bm_policy_value *v, uint16_t port,
			struct dir_hit *h)
{
	uint32_t i, n = v->nr_ranges < BM_POLICY_MAX_RANGES ? v->nr_ranges : BM_POLICY_MAX_RANGES;
	const struct bm_port_range *r;

	for (i = 0; i < n; i++) {
		r = range_at(tb, v, i);
		if (!r || port < r->port_lo)
			return false; /* sorted and disjoint: nothing further matches */
		if (port > r->port_hi)
			continue;
		h->rule_id = r->rule_id;
		h->is_auth = r->flags & BM_RANGE_F_AUTH;
		return true;
	}
	return false;
}

/*
 * The policy lookup of one direction, as bm_policy_entry(): {peer, proto},
 * {peer, ANY}, {ANY, proto}, {ANY, ANY}; the spilled ports under the key found.
 */
static void lookup_dir(const struct bm_tables *tb, uint32_t subject, uint32_t peer, uint8_t dir,
		       uint8_t proto, uint16_t port, struct dir_hit *h)
{
	struct bm_policy_key key;
	const struct bm_policy_value *v;
	struct bm_port_key pk;
	const struct bm_port_value *pv;

	memset(&key, 0, sizeof(key));
	key.subject_class = subject;
	key.peer_class = peer;
	key.direction = dir;
	key.proto = proto;
	v = find(tb, TABLES_POLICY, &key);
	if (!v) {
		key.proto = BM_PROTO_ANY;
		v = find(tb, TABLES_POLICY, &key);
	}
	if (!v) {
		key.peer_class = BM_CLASS_ANY;
		key.proto = proto;
		v = find(tb, TABLES_POLICY, &key);
	}
	if (!v) {
		key.proto = BM_PROTO_ANY;
		v = find(tb, TABLES_POLICY, &key);
	}
	if (!v)
		return;
	h->is_allowed = scan_ranges(tb, v, port, h);
	if (h->is_allowed || !(v->flags & BM_POLICY_F_SPILL))
		return;
	memset(&pk, 0, sizeof(pk));
	pk.policy = key;
	pk.port = port;
	pv = find(tb, TABLES_PORTS, &pk);
	if (!pv)
		return;
	h->is_allowed = true;
	h->rule_id = pv->rule_id;
	h->is_auth = pv->flags & BM_RANGE_F_AUTH;
}

static void check_auth(const struct pe_auth *auth, struct pe_result *out)
{
	size_t i;

	out->verdict = BM_VERDICT_DENY;
	out->reason = BM_REASON_DENY_AUTH_MISSING;
	for (i = 0; auth && i < auth->n; i++) {
		if (auth->keys[i].src_id != out->src_id || auth->keys[i].dst_id != out->dst_id)
			continue;
		if (auth->values[i].expires_boot_ns <= auth->now_boot_ns) {
			out->reason = BM_REASON_DENY_AUTH_EXPIRED;
			return;
		}
		out->verdict = BM_VERDICT_ALLOW_AUTH;
		out->reason = BM_REASON_ALLOW_AUTH;
		return;
	}
}

static void finish(const struct dir_hit *in, const struct dir_hit *eg, const struct pe_auth *auth,
		   struct pe_result *out)
{
	out->verdict = BM_VERDICT_DENY;
	if (in->does_apply && !in->is_allowed) {
		out->reason = BM_REASON_DENY_INGRESS;
		return;
	}
	if (eg->does_apply && !eg->is_allowed) {
		out->reason = BM_REASON_DENY_EGRESS;
		return;
	}
	out->rule_id = in->does_apply ? in->rule_id : eg->rule_id;
	out->is_auth_required = (in->does_apply && in->is_auth) || (eg->does_apply && eg->is_auth);
	if (out->is_auth_required) {
		check_auth(auth, out);
		return;
	}
	out->verdict = BM_VERDICT_ALLOW;
	out->reason = BM_REASON_ALLOW_POLICY;
}

/*
 * See policy_eval.h. tb must be in tables_eval.h order (policy_compile()
 * output is). Reads tb only; returns 0, or -EINVAL for an unknown family.
 */
int tables_eval(const struct bm_tables *tb, const struct pe_tuple *t, const struct pe_auth *auth,
		struct pe_result *out)
{
	struct dir_hit in = {0}, eg = {0};
	struct ipc_hit src, dst;
	uint8_t proto;
	uint16_t port;

	memset(out, 0, sizeof(*out));
	if (t->family != BM_FAMILY_IPV4 && t->family != BM_FAMILY_IPV6)
		return -EINVAL;
	resolve(tb, t->family, t->saddr, &src);
	resolve(tb, t->family, t->daddr, &dst);
	out->src_id = src.sec_id;
	out->dst_id = dst.sec_id;
	out->verdict = BM_VERDICT_ALLOW;
	if (!((src.flags | dst.flags) & BM_IPC_F_LOCAL)) {
		out->reason = BM_REASON_ALLOW_NOT_ENDPOINT;
		return 0;
	}
	in.does_apply = dst.flags & BM_IPC_F_INGRESS_ISOLATED;
	eg.does_apply = src.flags & BM_IPC_F_EGRESS_ISOLATED;
	if (!in.does_apply && !eg.does_apply) {
		out->reason = BM_REASON_ALLOW_NOT_ISOLATED;
		return 0;
	}
	proto = pe_policy_proto(t->proto);
	/* The data plane reads ports only for these; the others carry port 0. */
	port = proto == BM_PROTO_TCP || proto == BM_PROTO_UDP || proto == BM_PROTO_SCTP ? t->dport
											: 0;
	if (in.does_apply)
		lookup_dir(tb, dst.class_id, src.class_id, BM_DIR_INGRESS, proto, port, &in);
	if (eg.does_apply)
		lookup_dir(tb, src.class_id, dst.class_id, BM_DIR_EGRESS, proto, port, &eg);
	finish(&in, &eg, auth, out);
	return 0;
}

struct sort_ctx {
	const struct bm_tables *t;
	enum tables_kind kind;
};

static int cmp_index(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;

	return cmp_key(c->kind, tables_key(c->t, c->kind, ia), tables_key(c->t, c->kind, ib),
		       c->t->maps[c->kind].key_size);
}

static bool is_sorted(const struct bm_tables *t, enum tables_kind kind)
{
	size_t i, ks = t->maps[kind].key_size;

	for (i = 1; i < t->maps[kind].n; i++) {
		if (cmp_key(kind, tables_key(t, kind, i - 1), tables_key(t, kind, i), ks) > 0)
			return false;
	}
	return true;
}

static int sort_one(struct bm_tables *t, enum tables_kind kind)
{
	struct tables_map *m = &t->maps[kind];
	struct sort_ctx ctx = {t, kind};
	char *keys = NULL, *values = NULL;
	size_t *idx, i;
	int err = -ENOMEM;

	if (is_sorted(t, kind))
		return 0;
	idx = malloc(m->n * sizeof(*idx));
	keys = malloc(m->n * m->key_size);
	values = malloc(m->n * m->value_size);
	if (!idx || !keys || !values)
		goto out_free;
	for (i = 0; i < m->n; i++)
		idx[i] = i;
	qsort_r(idx, m->n, sizeof(*idx), cmp_index, &ctx);
	for (i = 0; i < m->n; i++) {
		memcpy(keys + i * m->key_size, tables_key(t, kind, idx[i]), m->key_size);
		memcpy(values + i * m->value_size, tables_value(t, kind, idx[i]), m->value_size);
	}
	memcpy(m->keys, keys, m->n * m->key_size);
	memcpy(m->values, values, m->n * m->value_size);
	err = 0;
out_free:
	free(values);
	free(keys);
	free(idx);
	return err;
}

/* See tables_eval.h. On error some tables may be sorted, none is damaged. */
int tables_eval_sort(struct bm_tables *t)
{
	int kind, err;

	for (kind = 0; kind < TABLES_NR; kind++) {
		err = sort_one(t, kind);
		if (err)
			return err;
	}
	return 0;
}
