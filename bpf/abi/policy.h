/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Compiled policy: what a subject class allows to or from a peer class.
 *
 * A packet src -> dst is allowed when
 *   (dst not ingress-isolated  OR  lookup(dst, src, INGRESS, proto, dport) allows)
 * AND
 *   (src not egress-isolated   OR  lookup(src, dst, EGRESS,  proto, dport) allows)
 * where lookup() takes the first entry found among
 *   {subject, peer, proto}, {subject, peer, BM_PROTO_ANY},
 *   {subject, BM_CLASS_ANY, proto}, {subject, BM_CLASS_ANY, BM_PROTO_ANY}
 * (no entry: not allowed). The compiler folds every ANY-peer rule into each
 * specific {subject, peer} entry, so the first entry found is complete. Per
 * {subject, direction, peer} it computes the value of each of the six
 * protocols, stores the most frequent one (if that saves entries) under
 * BM_PROTO_ANY and only the protocols that differ under their own key; an
 * entry with no range (deny) stands where a fallback would otherwise
 * answer differently. An entry with BM_POLICY_F_SPILL is never stored
 * under BM_PROTO_ANY, so a spilled port's key always names the protocol.
 *
 * An entry holds its ranges compactly: the first BM_POLICY_INLINE_RANGES
 * inline, the rest as a slice of the generation's range pool (bm_ranges, an
 * ARRAY indexed from first): range BM_POLICY_INLINE_RANGES + j is pool entry
 * first + j. Most entries (82% of a 100k-endpoint cluster's) have one range,
 * and an entry of two needs no pool lookup at all. The compiler stores each
 * distinct pooled tail once; entries with the same tail share its slice.
 *
 * Inside an entry, ranges are disjoint and sorted by port_lo. "All ports" is
 * {0, 65535}; ICMP and BM_PROTO_OTHER packets carry port 0 and so match only
 * all-port ranges. When an entry has more distinct ports than fit, the single
 * ports spill to bm_ports (exact key) and BM_POLICY_F_SPILL is set.
 *
 * A range that needs authentication carries BM_RANGE_F_AUTH: the verdict is
 * then allow only if bm_auth holds an unexpired entry for the security
 * identity pair. Authentication requirements are sticky: if any rule that
 * covers the port requires it, the compiled range requires it.
 */
#ifndef BM_ABI_POLICY_H
#define BM_ABI_POLICY_H

#include <linux/types.h>

#define BM_POLICY_MAX_RANGES 16

/* bm_policy_value.flags */
#define BM_POLICY_F_SPILL (1U << 0) /* also consult bm_ports for single ports */

/* bm_port_range.flags and bm_port_value.flags */
#define BM_RANGE_F_AUTH (1U << 0)

struct bm_policy_key {
	__u32 subject_class; /* the endpoint the rule protects */
	__u32 peer_class; /* the other end, or BM_CLASS_ANY */
	__u8 direction; /* BM_DIR_* */
	__u8 proto; /* BM_PROTO_* */
	__u16 pad; /* zero */
};
_Static_assert(sizeof(struct bm_policy_key) == 12, "bm_policy_key layout");

struct bm_port_range {
	__u32 rule_id; /* the rule that decides this range (see rules in userland) */
	__u16 port_lo; /* host order, inclusive */
	__u16 port_hi; /* host order, inclusive */
	__u32 flags; /* BM_RANGE_F_* */
};
_Static_assert(sizeof(struct bm_port_range) == 12, "bm_port_range layout");

#define BM_POLICY_INLINE_RANGES 2

struct bm_policy_value {
	__u32 nr_ranges; /* <= BM_POLICY_MAX_RANGES; 0: nothing allowed (but spilled ports) */
	__u32 flags; /* BM_POLICY_F_* */
	__u32 first; /* nr_ranges > BM_POLICY_INLINE_RANGES: bm_ranges index of the rest; else 0 */
	struct bm_port_range range[BM_POLICY_INLINE_RANGES]; /* the first ranges; unused: zero */
};
_Static_assert(sizeof(struct bm_policy_value) == 12 + 12 * BM_POLICY_INLINE_RANGES,
	       "bm_policy_value layout");

struct bm_port_key {
	struct bm_policy_key policy;
	__u16 port; /* host order */
	__u16 pad; /* zero */
};
_Static_assert(sizeof(struct bm_port_key) == 16, "bm_port_key layout");

struct bm_port_value {
	__u32 rule_id;
	__u32 flags; /* BM_RANGE_F_* */
};
_Static_assert(sizeof(struct bm_port_value) == 8, "bm_port_value layout");

#endif /* BM_ABI_POLICY_H */
