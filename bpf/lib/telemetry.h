/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Counting and reporting verdicts (abi/telemetry.h): per-reason counters,
 * per-identity-pair counters with slots the data plane allocates itself,
 * and flow events on the ring buffer.
 */
#ifndef BM_LIB_TELEMETRY_H
#define BM_LIB_TELEMETRY_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi/abi.h"
#include "maps.h"
#include "lib/parse.h"
#include "lib/policy.h"

/*
 * The bm_pair_stats slot of src_id -> dst_id, allocated on first sight. Slot
 * 0 is the overflow bucket: returned when the array or the slot map is full.
 * Allocation races are settled by BPF_NOEXIST: the loser's slot stays unused.
 */
static __always_inline __u32 bm_pair_slot(__u32 src_id, __u32 dst_id)
{
	struct bm_pair_key k = {.src_id = src_id, .dst_id = dst_id};
	struct bm_alloc *a;
	__u32 zero = 0, slot;
	__u32 *found;

	found = bpf_map_lookup_elem(&bm_pair_slots, &k);
	if (found)
		return *found;
	a = bpf_map_lookup_elem(&bm_alloc, &zero);
	if (!a || a->next_pair_slot >= BM_PAIR_SLOTS) /* checked first so the counter never wraps */
		return 0;
	slot = __sync_fetch_and_add(&a->next_pair_slot, 1);
	if (slot == 0) /* a fresh bm_alloc starts at 0, which is the overflow bucket */
		slot = __sync_fetch_and_add(&a->next_pair_slot, 1);
	if (slot >= BM_PAIR_SLOTS)
		return 0;
	if (bpf_map_update_elem(&bm_pair_slots, &k, &slot, BPF_NOEXIST)) {
		found = bpf_map_lookup_elem(&bm_pair_slots, &k);
		return found ? *found : 0;
	}
	return slot;
}

static __always_inline void bm_count_reason(__u32 reason, __u32 len)
{
	struct bm_reason_stats *rs;

	rs = bpf_map_lookup_elem(&bm_reasons, &reason);
	if (!rs)
		return;
	rs->packets++;
	rs->bytes += len;
}

static __always_inline void bm_count_pair(struct bm_verdict *v, __u32 len)
{
	struct bm_pair_stats *ps;
	__u32 slot, verdict;

	slot = v->has_slot ? v->pair_slot : bm_pair_slot(v->src_id, v->dst_id);
	ps = bpf_map_lookup_elem(&bm_pair_stats, &slot);
	if (!ps)
		return;
	verdict = v->verdict;
	barrier_var(verdict); /* verifier: bound-check the register we index with */
	if (verdict >= BM_VERDICT_MAX)
		return;
	ps->packets[verdict]++;
	ps->bytes[verdict] += len;
}

/*
 * May this CPU emit one more deny event under cfg->deny_event_rate? Counts
 * the ones it may not. The coarse clock (a few ns, jiffy resolution) is
 * plenty for one-second windows.
 */
static __always_inline int bm_deny_event_admitted(const struct bm_config *cfg)
{
	struct bm_event_budget *b;
	__u32 zero = 0, rate;
	__u64 now;

	rate = cfg->deny_event_rate;
	if (!rate)
		return 1;
	b = bpf_map_lookup_elem(&bm_event_budget, &zero);
	if (!b)
		return 1;
	now = bpf_ktime_get_coarse_ns();
	if (now - b->window_start_ns >= 1000000000ULL) {
		b->window_start_ns = now;
		b->emitted = 0;
	}
	if (b->emitted < rate) {
		b->emitted++;
		return 1;
	}
	b->suppressed++;
	return 0;
}

/* Deny events up to the rate, and 1 in allow_sample allows. */
static __always_inline int bm_event_wanted(const struct bm_config *cfg, const struct bm_verdict *v)
{
	__u32 sample;

	if (!(cfg->flags & BM_CFG_F_EVENTS))
		return 0;
	if (bm_reason_is_deny(v->reason))
		return bm_deny_event_admitted(cfg);
	sample = cfg->allow_sample;
	return sample && bpf_get_prandom_u32() % sample == 0;
}

static __always_inline void bm_emit_event(struct xdp_md *ctx, __u32 generation,
					  const struct bm_pkt *pkt, const struct bm_verdict *v)
{
	struct bm_flow_event *e;

	e = bpf_ringbuf_reserve(&bm_events, sizeof(*e), 0);
	if (!e)
		return;
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->src_id = v->src_id;
	e->dst_id = v->dst_id;
	e->rule_id = v->rule_id;
	e->ifindex = ctx->ingress_ifindex;
	e->pkt_len = pkt->len;
	e->generation = generation;
	__builtin_memcpy(e->saddr, pkt->key.saddr, 16);
	__builtin_memcpy(e->daddr, pkt->key.daddr, 16);
	e->sport = pkt->key.sport;
	e->dport = pkt->key.dport;
	e->proto = pkt->key.proto;
	e->family = pkt->key.family;
	e->verdict = v->verdict;
	e->reason = v->reason;
	e->source = BM_EVENT_SRC_XDP;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, 0);
}

/* Count the verdict and report it. cfg may be NULL (no config yet). */
static __always_inline void bm_account(struct xdp_md *ctx, const struct bm_config *cfg,
				       __u32 generation, const struct bm_pkt *pkt,
				       struct bm_verdict *v)
{
	bm_count_reason(v->reason, pkt->len);
	if (v->has_ids)
		bm_count_pair(v, pkt->len);
	if (cfg && bm_event_wanted(cfg, v))
		bm_emit_event(ctx, generation, pkt, v);
}

#endif /* BM_LIB_TELEMETRY_H */
