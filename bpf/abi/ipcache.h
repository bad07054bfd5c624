/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ipcache: address -> (security identity, policy class, flags).
 *
 * Host addresses (/32, /128) live in exact-match hash maps (bm_host4, bm_host6);
 * only shorter prefixes (endpoint CIDRs, ipBlock cidr/except boundaries) go to
 * the LPM tries (bm_cidr4, bm_cidr6). Lookup: host map first, then LPM, then
 * BM_CLASS_WORLD. A host entry is always the longest match, so the two-step
 * lookup equals one LPM lookup over the union.
 */
#ifndef BM_ABI_IPCACHE_H
#define BM_ABI_IPCACHE_H

#include <linux/types.h>

/* bm_ipcache_value.flags */
#define BM_IPC_F_LOCAL (1U << 0) /* a workload on this node: enforce here */
#define BM_IPC_F_INGRESS_ISOLATED (1U << 1) /* selected by an ingress policy */
#define BM_IPC_F_EGRESS_ISOLATED (1U << 2) /* selected by an egress policy */

struct bm_ipcache_value {
	__u32 sec_id; /* security identity, BM_ID_* or workload */
	__u32 class_id; /* policy class of this generation */
	__u32 flags; /* BM_IPC_F_* */
	__u32 pad;
};
_Static_assert(sizeof(struct bm_ipcache_value) == 16, "bm_ipcache_value layout");

struct bm_host4_key {
	__be32 addr;
};
_Static_assert(sizeof(struct bm_host4_key) == 4, "bm_host4_key layout");

struct bm_host6_key {
	__u8 addr[16];
};
_Static_assert(sizeof(struct bm_host6_key) == 16, "bm_host6_key layout");

/* LPM trie keys: prefixlen counts bits of addr only. */
struct bm_cidr4_key {
	__u32 prefixlen;
	__be32 addr;
};
_Static_assert(sizeof(struct bm_cidr4_key) == 8, "bm_cidr4_key layout");

struct bm_cidr6_key {
	__u32 prefixlen;
	__u8 addr[16];
};
_Static_assert(sizeof(struct bm_cidr6_key) == 20, "bm_cidr6_key layout");

#endif /* BM_ABI_IPCACHE_H */
