/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Counters and events.
 *
 * Per-identity-pair counters: bm_pair_slots maps {src_id, dst_id} to a slot in
 * the per-CPU array bm_pair_stats. The data plane allocates slots itself from
 * bm_alloc (atomic add); slot 0 collects every pair once the array is full.
 * Per-reason counters: per-CPU array bm_reasons indexed by BM_REASON_*.
 * Events: ring buffer bm_events, every deny plus 1 in N allows (config).
 */
#ifndef BM_ABI_TELEMETRY_H
#define BM_ABI_TELEMETRY_H

#include <linux/types.h>

#define BM_PAIR_SLOTS 65536 /* slot 0 is the overflow bucket */

struct bm_pair_key {
	__u32 src_id;
	__u32 dst_id;
};
_Static_assert(sizeof(struct bm_pair_key) == 8, "bm_pair_key layout");

struct bm_pair_stats {
	__u64 packets[3]; /* indexed by BM_VERDICT_* */
	__u64 bytes[3];
};
_Static_assert(sizeof(struct bm_pair_stats) == 48, "bm_pair_stats layout");

struct bm_reason_stats {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct bm_reason_stats) == 16, "bm_reason_stats layout");

struct bm_alloc {
	__u32 next_pair_slot; /* next free slot; >= BM_PAIR_SLOTS means full */
	__u32 pad;
};
_Static_assert(sizeof(struct bm_alloc) == 8, "bm_alloc layout");

/* bm_flow_event.source */
/*
 * One CPU's deny-event budget (a PERCPU_ARRAY of one entry): a one-second
 * window that starts at the first deny after the previous one ended.
 */
struct bm_event_budget {
	__u64 window_start_ns; /* bpf_ktime_get_coarse_ns() */
	__u32 emitted; /* deny events in this window */
	__u32 pad; /* zero */
	__u64 suppressed; /* deny events over the rate, ever */
};
_Static_assert(sizeof(struct bm_event_budget) == 24, "bm_event_budget layout");

#define BM_EVENT_SRC_XDP 0
#define BM_EVENT_SRC_SOCK 1 /* cgroup socket hooks */
#define BM_EVENT_SRC_USER 2 /* rootless userland forwarder */

struct bm_flow_event {
	__u64 ts_boot_ns;
	__u32 src_id;
	__u32 dst_id;
	__u32 rule_id;
	__u32 ifindex;
	__u32 pkt_len;
	__u32 generation;
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family; /* BM_FAMILY_* */
	__u8 verdict; /* BM_VERDICT_* */
	__u8 reason; /* BM_REASON_* */
	__u8 source; /* BM_EVENT_SRC_* */
	__u8 pad[7];
};
_Static_assert(sizeof(struct bm_flow_event) == 80, "bm_flow_event layout");

/*
 * The last verdict, written only by a dry-run instance of the program
 * (rodata bm_dry_run = 1) into its private, unpinned map bm_last; used by
 * `bpfmesh policy check --bpf` and the tests. A dry run writes no flow,
 * fragment, counter or event state.
 */
#define BM_MAP_LAST "bm_last"

struct bm_verdict_record {
	__u32 xdp_action; /* XDP_PASS / XDP_DROP */
	__u32 rule_id;
	__u32 src_id;
	__u32 dst_id;
	__u32 generation;
	__u8 verdict; /* BM_VERDICT_* */
	__u8 reason; /* BM_REASON_* */
	__u16 pad;
};
_Static_assert(sizeof(struct bm_verdict_record) == 24, "bm_verdict_record layout");

#endif /* BM_ABI_TELEMETRY_H */
