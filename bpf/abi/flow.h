/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow state: the verdict cache and connection tracking in one LRU map.
 *
 * When a new flow is allowed, two entries are written: the forward tuple
 * (BM_FLOW_F_FORWARD) and the reverse tuple (BM_FLOW_F_REPLY), so that replies
 * pass an ingress-isolated client without a rule of their own, as Kubernetes
 * policy is stateful. An entry is used only while its generation equals the
 * current policy generation and (if it was allowed through authentication)
 * its auth expiry lies ahead; otherwise the original direction is evaluated
 * again and the entry refreshed or removed. Denied flows are not cached, so a
 * flood of denied packets cannot evict allowed flows.
 *
 * Fragments: a first fragment that is allowed records its datagram in
 * bm_frags; later fragments of the same datagram pass on that record.
 */
#ifndef BM_ABI_FLOW_H
#define BM_ABI_FLOW_H

#include <linux/types.h>

/* IPv4 addresses sit in addr[0..3], the rest zero. */
struct bm_flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport; /* ICMP echo: identifier; other ICMP and OTHER: 0 */
	__be16 dport; /* ICMP echo: identifier; other ICMP and OTHER: 0 */
	__u8 proto; /* IP protocol number as on the wire */
	__u8 family; /* BM_FAMILY_* */
	__u16 pad; /* zero */
};
_Static_assert(sizeof(struct bm_flow_key) == 40, "bm_flow_key layout");

/* bm_flow_value.flags */
#define BM_FLOW_F_FORWARD (1U << 0)
#define BM_FLOW_F_REPLY (1U << 1)

struct bm_flow_value {
	__u64 auth_expires_boot_ns; /* 0: not allowed through authentication */
	__u32 generation; /* policy generation that produced the verdict */
	__u32 src_id; /* security identities of the ORIGINAL direction */
	__u32 dst_id;
	__u32 rule_id;
	__u32 pair_slot; /* index into bm_pair_stats for this packet's direction */
	__u8 verdict; /* BM_VERDICT_* */
	__u8 reason; /* BM_REASON_* of the original decision */
	__u16 flags; /* BM_FLOW_F_* */
};
_Static_assert(sizeof(struct bm_flow_value) == 32, "bm_flow_value layout");

struct bm_frag_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 id; /* IPv4: 16-bit identification; IPv6: fragment header id */
	__u8 proto;
	__u8 family;
	__u16 pad;
};
_Static_assert(sizeof(struct bm_frag_key) == 40, "bm_frag_key layout");

struct bm_frag_value {
	__u32 generation;
	__u32 src_id;
	__u32 dst_id;
	__u32 rule_id;
};
_Static_assert(sizeof(struct bm_frag_value) == 16, "bm_frag_value layout");

#endif /* BM_ABI_FLOW_H */
