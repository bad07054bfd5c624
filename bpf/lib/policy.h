/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The decision of control/policy_eval.h, steps 2-7, on the maps of one
 * generation slot: locality, isolation, the entry lookup of abi/policy.h
 * ({peer, proto}, {peer, ANY}, {ANY, proto}, {ANY, ANY}), the sorted range scan
 * (inline or in the range pool), the spill map, and the authentication check.
 */
#ifndef BM_LIB_POLICY_H
#define BM_LIB_POLICY_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "abi/abi.h"
#include "maps.h"

/* The verdict under construction for one packet. */
struct bm_verdict {
	__u64 auth_expires_boot_ns; /* auth entry that allowed it, for the flow cache */
	__u32 rule_id;
	__u32 src_id; /* identities of this packet's direction */
	__u32 dst_id;
	__u32 pair_slot; /* valid when has_slot */
	__u8 verdict; /* BM_VERDICT_* */
	__u8 reason; /* BM_REASON_* */
	__u8 has_ids; /* src_id/dst_id resolved: count the pair */
	__u8 has_slot;
};

/* A range or spilled port that matched. */
struct bm_match {
	__u32 rule_id;
	__u32 flags; /* BM_RANGE_F_* */
};

static __always_inline void bm_verdict_set(struct bm_verdict *v, __u8 verdict, __u8 reason)
{
	v->verdict = verdict;
	v->reason = reason;
}

/* Wire protocol -> policy key protocol (BM_PROTO_*), as pe_policy_proto(). */
static __always_inline __u8 bm_policy_proto(__u8 proto)
{
	switch (proto) {
	case IPPROTO_ICMP:
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_ICMPV6:
	case IPPROTO_SCTP:
		return proto;
	default:
		return BM_PROTO_OTHER;
	}
}

/*
 * The entry for subject/peer/dir/proto: the first of {peer, proto},
 * {peer, ANY}, {ANY, proto}, {ANY, ANY} (abi/policy.h). Leaves *k at the key
 * found (the spilled ports are keyed by it).
 */
static __always_inline struct bm_policy_value *bm_policy_entry(void *policy,
							       struct bm_policy_key *k)
{
	struct bm_policy_value *pv;
	__u8 proto = k->proto;

	pv = bpf_map_lookup_elem(policy, k);
	if (pv)
		return pv;
	k->proto = BM_PROTO_ANY;
	pv = bpf_map_lookup_elem(policy, k);
	if (pv)
		return pv;
	k->peer_class = BM_CLASS_ANY;
	k->proto = proto;
	pv = bpf_map_lookup_elem(policy, k);
	if (pv)
		return pv;
	k->proto = BM_PROTO_ANY;
	return bpf_map_lookup_elem(policy, k);
}

/* 1: r covers port (*m filled); -1: r and every later range lie above it; 0: neither. */
static __always_inline int bm_range_match(const struct bm_port_range *r, __u16 port,
					  struct bm_match *m)
{
	if (port < r->port_lo)
		return -1; /* sorted by port_lo, disjoint: nothing further can match */
	if (port > r->port_hi)
		return 0;
	m->rule_id = r->rule_id;
	m->flags = r->flags;
	return 1;
}

/* The ranges of pv: the inline ones, then its slice of the range pool. */
static __always_inline int bm_policy_scan(void *ranges, const struct bm_policy_value *pv,
					  __u16 port, struct bm_match *m)
{
	struct bm_port_range *r;
	__u32 i, n, idx, first;
	int hit;

	n = pv->nr_ranges;
	for (i = 0; i < BM_POLICY_INLINE_RANGES; i++) {
		if (i >= n)
			return 0;
		hit = bm_range_match(&pv->range[i], port, m);
		if (hit)
			return hit > 0;
	}
	first = pv->first;
	for (i = BM_POLICY_INLINE_RANGES; i < BM_POLICY_MAX_RANGES; i++) {
		if (i >= n)
			break;
		idx = first + i - BM_POLICY_INLINE_RANGES;
		r = bpf_map_lookup_elem(ranges, &idx);
		if (!r)
			break; /* outside the pool: matches nothing */
		hit = bm_range_match(r, port, m);
		if (hit)
			return hit > 0;
	}
	return 0;
}

/*
 * Does the policy of subject towards peer (bm_policy_entry()) allow
 * proto/port in direction dir? Fills *m when it does.
 */
static __always_inline int bm_policy_allows(void *policy, void *ports, void *ranges, __u32 subject,
					    __u32 peer, __u8 dir, __u8 proto, __u16 port,
					    struct bm_match *m)
{
	struct bm_policy_key k = {
		.subject_class = subject, .peer_class = peer, .direction = dir, .proto = proto};
	struct bm_port_key pk = {};
	struct bm_policy_value *pv;
	struct bm_port_value *sv;

	pv = bm_policy_entry(policy, &k);
	if (!pv)
		return 0;
	if (bm_policy_scan(ranges, pv, port, m))
		return 1;
	if (!(pv->flags & BM_POLICY_F_SPILL))
		return 0;
	pk.policy = k;
	pk.port = port;
	sv = bpf_map_lookup_elem(ports, &pk);
	if (!sv)
		return 0;
	m->rule_id = sv->rule_id;
	m->flags = sv->flags;
	return 1;
}

/* Step 6: the pair's authentication decides. Returns the reason. */
static __always_inline __u8 bm_policy_auth(struct bm_verdict *v)
{
	struct bm_auth_key k = {.src_id = v->src_id, .dst_id = v->dst_id};
	struct bm_auth_value *a;
	__u64 expires;

	a = bpf_map_lookup_elem(&bm_auth, &k);
	if (!a)
		return BM_REASON_DENY_AUTH_MISSING;
	expires = a->expires_boot_ns;
	if (expires <= bpf_ktime_get_boot_ns())
		return BM_REASON_DENY_AUTH_EXPIRED;
	v->auth_expires_boot_ns = expires;
	return BM_REASON_ALLOW_AUTH;
}

/* Steps 2-7 for src -> dst; returns the reason, sets v's rule (and auth expiry). */
static __always_inline __u8 bm_policy_judge(__u32 slot, const struct bm_ipcache_value *src,
					    const struct bm_ipcache_value *dst, __u8 proto,
					    __u16 port, struct bm_verdict *v)
{
	struct bm_match in = {}, eg = {};
	int is_ingress, is_egress;
	void *policy, *ports, *ranges;

	if (!((src->flags | dst->flags) & BM_IPC_F_LOCAL))
		return BM_REASON_ALLOW_NOT_ENDPOINT;
	is_ingress = dst->flags & BM_IPC_F_INGRESS_ISOLATED;
	is_egress = src->flags & BM_IPC_F_EGRESS_ISOLATED;
	if (!is_ingress && !is_egress)
		return BM_REASON_ALLOW_NOT_ISOLATED;
	policy = bpf_map_lookup_elem(&bm_policy_o, &slot);
	ports = bpf_map_lookup_elem(&bm_ports_o, &slot);
	ranges = bpf_map_lookup_elem(&bm_ranges_o, &slot);
	if (!policy || !ports || !ranges)
		return BM_REASON_DENY_INTERNAL;
	proto = bm_policy_proto(proto);
	if (is_ingress && !bm_policy_allows(policy, ports, ranges, dst->class_id, src->class_id,
					    BM_DIR_INGRESS, proto, port, &in))
		return BM_REASON_DENY_INGRESS;
	if (is_egress && !bm_policy_allows(policy, ports, ranges, src->class_id, dst->class_id,
					   BM_DIR_EGRESS, proto, port, &eg))
		return BM_REASON_DENY_EGRESS;
	v->rule_id = is_ingress ? in.rule_id : eg.rule_id;
	if ((in.flags | eg.flags) & BM_RANGE_F_AUTH)
		return bm_policy_auth(v);
	return BM_REASON_ALLOW_POLICY;
}

/*
 * Judge src -> dst for wire protocol proto and host-order port (policy_eval.h
 * steps 2-7). Fills v's verdict, reason, rule and identities.
 */
static __always_inline void bm_policy_decide(__u32 slot, const struct bm_ipcache_value *src,
					     const struct bm_ipcache_value *dst, __u8 proto,
					     __u16 port, struct bm_verdict *v)
{
	__u8 reason;

	v->src_id = src->sec_id;
	v->dst_id = dst->sec_id;
	v->has_ids = 1;
	v->rule_id = 0;
	v->auth_expires_boot_ns = 0;
	reason = bm_policy_judge(slot, src, dst, proto, port, v);
	if (bm_reason_is_deny(reason))
		bm_verdict_set(v, BM_VERDICT_DENY, reason);
	else if (reason == BM_REASON_ALLOW_AUTH)
		bm_verdict_set(v, BM_VERDICT_ALLOW_AUTH, reason);
	else
		bm_verdict_set(v, BM_VERDICT_ALLOW, reason);
}

#endif /* BM_LIB_POLICY_H */
