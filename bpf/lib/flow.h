/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow state (abi/flow.h) around the policy decision: the verdict cache with
 * its reply entries, and fragment tracking.
 *
 * Flow cache (BM_CFG_F_FLOW_CACHE): an entry decides only while its
 * generation is the current one and its auth expiry (if any) lies ahead.
 * A stale forward entry: the packet is judged afresh and the pair of entries
 * rewritten (allowed) or removed (anything else). A stale reply entry: the
 * original direction (this packet reversed, its source port as the policy
 * port) is judged afresh; allowed, the entries are rewritten and the packet
 * passes as ALLOW_REPLY; otherwise the entry is removed and the packet is
 * judged in its own direction. Only ALLOW_POLICY, ALLOW_AUTH and
 * ALLOW_NOT_ISOLATED are cached; denies never are.
 *
 * Fragment rule. An allowed first fragment (offset 0, more fragments set;
 * any allow reason, cached or not) records {saddr, daddr, id, proto, family}
 * in bm_frags with the current generation, where proto is the IPv4 protocol
 * or the next header of the IPv6 fragment header. A non-first fragment
 * (offset > 0, no L4 header, ports 0):
 *  1. passes as ALLOW_FRAGMENT if bm_frags holds its datagram with the
 *     current generation (rule and identities from the record);
 *  2. otherwise it is judged like any packet of its protocol with port 0
 *     (policy_eval() on the tuple with both ports 0). NetworkPolicy ports
 *     are 1-65535, so for TCP, UDP and SCTP port 0 is allowed exactly by
 *     the rules that allow every port of the protocol (compiled ranges
 *     starting at 0); ICMP, ICMPv6 and other protocols carry port 0 anyway.
 *     The allow reasons are the usual ones (NOT_ENDPOINT, NOT_ISOLATED,
 *     POLICY, AUTH); authentication denies keep their reasons; an ingress
 *     or egress deny becomes DENY_FRAGMENT.
 * Non-first fragments never read or write the flow cache.
 *
 * Related ICMP errors: with the flow cache on, an ICMP error (ICMP 3, 11,
 * 12; ICMPv6 1-4) that misses the cache passes as ALLOW_RELATED when the
 * datagram it quotes belongs to a current flow entry (either direction) and
 * the error is addressed to that datagram's source. Otherwise it is judged
 * like any ICMP packet. Related verdicts are not cached.
 */
#ifndef BM_LIB_FLOW_H
#define BM_LIB_FLOW_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi/abi.h"
#include "maps.h"
#include "lib/ipcache.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/telemetry.h"

static __always_inline int bm_flow_is_cacheable(const struct bm_verdict *v)
{
	return v->reason == BM_REASON_ALLOW_POLICY || v->reason == BM_REASON_ALLOW_AUTH ||
	       v->reason == BM_REASON_ALLOW_NOT_ISOLATED;
}

static __always_inline void bm_flow_reverse(const struct bm_flow_key *k, struct bm_flow_key *r)
{
	__builtin_memcpy(r->saddr, k->daddr, 16);
	__builtin_memcpy(r->daddr, k->saddr, 16);
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
	r->family = k->family;
	r->pad = 0;
}

/*
 * A flow allowed through authentication stays allowed only while the pair's
 * bm_auth entry does: revoking it (deleting the entry) or letting it lapse
 * must cut established flows too, not only new ones. Costs one lookup, and
 * only for such flows.
 */
static __always_inline int bm_flow_auth_current(const struct bm_flow_value *fv)
{
	struct bm_auth_key key = {.src_id = fv->src_id, .dst_id = fv->dst_id};
	struct bm_auth_value *auth;

	auth = bpf_map_lookup_elem(&bm_auth, &key);
	return auth && auth->expires_boot_ns > bpf_ktime_get_boot_ns();
}

/*
 * A current entry for key decides: fill v and return 1. Otherwise return 0,
 * with *stale_flags the BM_FLOW_F_* of an outdated entry (0: none).
 */
static __always_inline int bm_flow_hit(const struct bm_flow_key *key, __u32 generation,
				       struct bm_verdict *v, __u16 *stale_flags)
{
	struct bm_flow_value *fv;
	__u64 expires;

	fv = bpf_map_lookup_elem(&bm_flows, key);
	if (!fv)
		return 0;
	expires = fv->auth_expires_boot_ns;
	if (fv->generation != generation || (expires && !bm_flow_auth_current(fv))) {
		*stale_flags = fv->flags;
		return 0;
	}
	v->verdict = fv->verdict;
	v->rule_id = fv->rule_id;
	v->pair_slot = fv->pair_slot;
	v->has_slot = 1;
	v->has_ids = 1;
	if (fv->flags & BM_FLOW_F_REPLY) {
		v->reason = BM_REASON_ALLOW_REPLY;
		v->src_id = fv->dst_id;
		v->dst_id = fv->src_id;
	} else {
		v->reason = BM_REASON_ALLOW_FLOW;
		v->src_id = fv->src_id;
		v->dst_id = fv->dst_id;
	}
	return 1;
}

/*
 * Cache the allowed verdict v of the original direction fwd: the forward
 * entry and the reply entry, each with the pair slot of its own direction.
 * Returns the reply entry's slot.
 */
static __always_inline __u32 bm_flow_store(const struct bm_flow_key *fwd, __u32 generation,
					   struct bm_verdict *v)
{
	struct bm_flow_value fv = {
		.auth_expires_boot_ns = v->auth_expires_boot_ns,
		.generation = generation,
		.src_id = v->src_id,
		.dst_id = v->dst_id,
		.rule_id = v->rule_id,
		.verdict = v->verdict,
		.reason = v->reason,
		.flags = BM_FLOW_F_FORWARD,
	};
	struct bm_flow_key rev;

	fv.pair_slot = bm_pair_slot(v->src_id, v->dst_id);
	v->pair_slot = fv.pair_slot;
	v->has_slot = 1;
	bpf_map_update_elem(&bm_flows, fwd, &fv, BPF_ANY);
	bm_flow_reverse(fwd, &rev);
	fv.flags = BM_FLOW_F_REPLY;
	fv.pair_slot = bm_pair_slot(v->dst_id, v->src_id);
	bpf_map_update_elem(&bm_flows, &rev, &fv, BPF_ANY);
	return fv.pair_slot;
}

static __always_inline void bm_flow_forget(const struct bm_flow_key *fwd)
{
	struct bm_flow_key rev;

	bpf_map_delete_elem(&bm_flows, fwd);
	bm_flow_reverse(fwd, &rev);
	bpf_map_delete_elem(&bm_flows, &rev);
}

/*
 * This packet hit a stale reply entry: judge the original direction again.
 * Returns 1 with v set to ALLOW_REPLY when it is still allowed.
 */
static __always_inline int bm_flow_reply_again(__u32 slot, __u32 generation,
					       const struct bm_pkt *pkt,
					       const struct bm_ipcache_value *src,
					       const struct bm_ipcache_value *dst,
					       struct bm_verdict *v, int is_dry_run)
{
	struct bm_flow_key orig;
	struct bm_verdict ov = {};
	__u32 reply_slot;

	bm_policy_decide(slot, dst, src, pkt->key.proto, pkt->sport, &ov);
	if (!bm_flow_is_cacheable(&ov)) {
		if (!is_dry_run)
			bpf_map_delete_elem(&bm_flows, &pkt->key);
		return 0;
	}
	if (!is_dry_run) {
		bm_flow_reverse(&pkt->key, &orig);
		reply_slot = bm_flow_store(&orig, generation, &ov);
		v->pair_slot = reply_slot;
		v->has_slot = 1;
	}
	v->verdict = ov.verdict;
	v->reason = BM_REASON_ALLOW_REPLY;
	v->rule_id = ov.rule_id;
	v->src_id = ov.dst_id;
	v->dst_id = ov.src_id;
	v->has_ids = 1;
	return 1;
}

static __always_inline void bm_frag_key(const struct bm_pkt *pkt, struct bm_frag_key *k)
{
	__builtin_memcpy(k->saddr, pkt->key.saddr, 16);
	__builtin_memcpy(k->daddr, pkt->key.daddr, 16);
	k->id = pkt->frag_id;
	k->proto = pkt->frag_proto;
	k->family = pkt->key.family;
	k->pad = 0;
}

static __always_inline void bm_frag_record(const struct bm_pkt *pkt, __u32 generation,
					   const struct bm_verdict *v)
{
	struct bm_frag_value fv = {
		.generation = generation,
		.src_id = v->src_id,
		.dst_id = v->dst_id,
		.rule_id = v->rule_id,
	};
	struct bm_frag_key k;

	bm_frag_key(pkt, &k);
	bpf_map_update_elem(&bm_frags, &k, &fv, BPF_ANY);
}

/* A non-first fragment: the fragment rule above. */
static __always_inline void bm_judge_later_frag(__u32 generation, const struct bm_pkt *pkt,
						struct bm_verdict *v, int is_policy_only)
{
	struct bm_ipcache_value src, dst;
	struct bm_frag_value *fv = NULL;
	struct bm_frag_key k;

	bm_frag_key(pkt, &k);
	if (!is_policy_only)
		fv = bpf_map_lookup_elem(&bm_frags, &k);
	if (fv && fv->generation == generation) {
		v->rule_id = fv->rule_id;
		v->src_id = fv->src_id;
		v->dst_id = fv->dst_id;
		v->has_ids = 1;
		bm_verdict_set(v, BM_VERDICT_ALLOW, BM_REASON_ALLOW_FRAGMENT);
		return;
	}
	if (bm_ipcache_resolve(BM_GEN_SLOT(generation), &pkt->key, &src, &dst)) {
		bm_verdict_set(v, BM_VERDICT_DENY, BM_REASON_DENY_INTERNAL);
		return;
	}
	bm_policy_decide(BM_GEN_SLOT(generation), &src, &dst, pkt->key.proto, 0, v);
	if (v->reason == BM_REASON_DENY_INGRESS || v->reason == BM_REASON_DENY_EGRESS)
		v->reason = BM_REASON_DENY_FRAGMENT;
}

/* 16-byte address equality without memcmp, which BPF has no call for. */
static __always_inline int bm_addr_eq(const __u8 *a, const __u8 *b)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	return a0 == b0 && a1 == b1;
}

/*
 * ALLOW_RELATED: an ICMP error that quotes a datagram of a current flow
 * entry (either direction) and is addressed to that datagram's sender.
 * Returns 1 with v set; the identities stay those of the error itself.
 */
static __always_inline int bm_flow_related(struct xdp_md *ctx, const struct bm_pkt *pkt,
					   __u32 generation, struct bm_verdict *v)
{
	struct bm_flow_key inner = {};
	struct bm_flow_value *fv;

	if (bm_parse_inner(ctx, pkt, &inner))
		return 0;
	if (!bm_addr_eq(inner.saddr, pkt->key.daddr))
		return 0;
	fv = bpf_map_lookup_elem(&bm_flows, &inner);
	if (!fv || fv->generation != generation)
		return 0;
	if (fv->auth_expires_boot_ns && !bm_flow_auth_current(fv))
		return 0;
	v->rule_id = fv->rule_id;
	bm_verdict_set(v, BM_VERDICT_ALLOW, BM_REASON_ALLOW_RELATED);
	return 1;
}

/* After a fresh decision on a cache miss: keep the cache in line with it. */
static __always_inline void bm_flow_update(const struct bm_pkt *pkt, __u32 generation,
					   struct bm_verdict *v, __u16 stale_flags)
{
	if (bm_flow_is_cacheable(v))
		bm_flow_store(&pkt->key, generation, v);
	else if (stale_flags)
		bm_flow_forget(&pkt->key);
}

/*
 * Judge a parsed IP packet under generation (non-zero): the flow cache,
 * fragments, then the policy. A dry run reads state but writes none.
 */
static __always_inline void bm_judge(struct xdp_md *ctx, const struct bm_config *cfg,
				     __u32 generation, const struct bm_pkt *pkt,
				     struct bm_verdict *v, int is_dry_run, int is_policy_only)
{
	struct bm_ipcache_value src, dst;
	__u32 slot = BM_GEN_SLOT(generation);
	__u16 stale_flags = 0;
	int is_cache;

	if (pkt->flags & BM_PKT_F_LATER_FRAG) {
		bm_judge_later_frag(generation, pkt, v, is_policy_only);
		return;
	}
	is_cache = (cfg->flags & BM_CFG_F_FLOW_CACHE) && !is_policy_only;
	if (is_cache && bm_flow_hit(&pkt->key, generation, v, &stale_flags))
		goto out;
	if (bm_ipcache_resolve(slot, &pkt->key, &src, &dst)) {
		bm_verdict_set(v, BM_VERDICT_DENY, BM_REASON_DENY_INTERNAL);
		return;
	}
	if ((stale_flags & BM_FLOW_F_REPLY) &&
	    bm_flow_reply_again(slot, generation, pkt, &src, &dst, v, is_dry_run))
		goto out;
	if (is_cache && (pkt->flags & BM_PKT_F_ICMP_ERROR)) {
		v->src_id = src.sec_id;
		v->dst_id = dst.sec_id;
		v->has_ids = 1;
		if (bm_flow_related(ctx, pkt, generation, v))
			return; /* never cached: the error is judged on its flow each time */
	}
	bm_policy_decide(slot, &src, &dst, pkt->key.proto, pkt->port, v);
	if (is_cache && !is_dry_run)
		bm_flow_update(pkt, generation, v, stale_flags);
out:
	if ((pkt->flags & BM_PKT_F_FIRST_FRAG) && v->verdict != BM_VERDICT_DENY && !is_dry_run)
		bm_frag_record(pkt, generation, v);
}

#endif /* BM_LIB_FLOW_H */
