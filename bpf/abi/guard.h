/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Anti-spoofing: which source addresses may enter through an interface.
 *
 * bm_ifguard maps an ingress ifindex to the source addresses allowed on it
 * (a workload's host-side veth: the workload's own addresses). An IPv4 or
 * IPv6 packet that enters an interface with a guard and whose source is not
 * one of the guard's addresses of its family is dropped with
 * BM_REASON_DENY_SPOOFED, before the flow cache and the policy are consulted,
 * whether or not a policy generation is loaded. A guard without addresses of
 * a family drops every packet of that family. Interfaces without a guard are
 * not checked. Frames that never reach a source check stay as they are:
 * non-IP frames (ALLOW_NOT_IP), ICMPv6 neighbour/router discovery
 * (ALLOW_ICMP6_ND: link-local, never forwarded) and malformed frames.
 * Not generational: guards belong to interfaces, not to a policy.
 */
#ifndef BM_ABI_GUARD_H
#define BM_ABI_GUARD_H

#include <linux/types.h>

#define BM_MAP_IFGUARD "bm_ifguard"
#define BM_IFGUARD_MAX 16384 /* interfaces with a guard */
#define BM_GUARD_MAX_V4 4 /* IPv4 addresses per interface */
#define BM_GUARD_MAX_V6 4 /* IPv6 addresses per interface */

/* One address of either family (the userland API's unit). */
struct bm_addr {
	__u8 family; /* BM_FAMILY_* */
	__u8 pad[3]; /* zero */
	__u8 addr[16]; /* IPv4 in addr[0..3], the rest zero */
};
_Static_assert(sizeof(struct bm_addr) == 20, "bm_addr layout");

struct bm_ifguard_key {
	__u32 ifindex; /* ingress_ifindex as XDP sees it */
};
_Static_assert(sizeof(struct bm_ifguard_key) == 4, "bm_ifguard_key layout");

struct bm_ifguard {
	__u8 nr_v4; /* <= BM_GUARD_MAX_V4 */
	__u8 nr_v6; /* <= BM_GUARD_MAX_V6 */
	__u16 pad0; /* zero */
	__u32 pad1; /* zero */
	__be32 v4[BM_GUARD_MAX_V4]; /* network order */
	__u8 v6[BM_GUARD_MAX_V6][16];
};
_Static_assert(sizeof(struct bm_ifguard) == 8 + 4 * BM_GUARD_MAX_V4 + 16 * BM_GUARD_MAX_V6,
	       "bm_ifguard layout");

#endif /* BM_ABI_GUARD_H */
