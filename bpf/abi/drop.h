/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Verdict reasons. Every verdict the data plane gives carries one of these;
 * they index the per-CPU reason counters (bm_reasons) and appear in events.
 * Values < BM_REASON_FIRST_DENY allow, the rest deny. Append only.
 */
#ifndef BM_ABI_DROP_H
#define BM_ABI_DROP_H

#include <linux/types.h>

/* allow reasons */
#define BM_REASON_ALLOW_POLICY 0 /* a rule allows it (both directions) */
#define BM_REASON_ALLOW_NOT_ENDPOINT 1 /* neither end is a local endpoint: not ours */
#define BM_REASON_ALLOW_NOT_ISOLATED 2 /* no policy selects either end for its direction */
#define BM_REASON_ALLOW_AUTH 3 /* rule requires authentication and the pair has it */
#define BM_REASON_ALLOW_REPLY 4 /* reply of a flow allowed in the other direction */
#define BM_REASON_ALLOW_NOT_IP 5 /* non-IP ethertype (ARP, LLDP, ...) */
#define BM_REASON_ALLOW_ICMP6_ND 6 /* IPv6 neighbour/router discovery is never filtered */
#define BM_REASON_ALLOW_FLOW 7 /* cached verdict of an allowed flow, still current */
#define BM_REASON_ALLOW_FRAGMENT 8 /* non-first fragment of an allowed datagram */
#define BM_REASON_ALLOW_NO_POLICY 9 /* no policy generation loaded yet */
#define BM_REASON_ALLOW_RELATED 10 /* ICMP error about an allowed flow */

#define BM_REASON_FIRST_DENY 16
#define BM_REASON_DENY_INGRESS 16 /* destination isolated for ingress, no rule allows */
#define BM_REASON_DENY_EGRESS 17 /* source isolated for egress, no rule allows */
#define BM_REASON_DENY_AUTH_MISSING 18 /* rule needs authentication, pair has none */
#define BM_REASON_DENY_AUTH_EXPIRED 19 /* rule needs authentication, pair's has expired */
#define BM_REASON_DENY_MALFORMED 20 /* truncated or inconsistent L2/L3/L4 header */
#define BM_REASON_DENY_FRAGMENT 21 /* non-first fragment, first unseen, ports matter */
#define BM_REASON_DENY_EXTHDR_LIMIT 22 /* more IPv6 extension headers than we walk */
#define BM_REASON_DENY_VLAN_DEPTH 23 /* more than two VLAN tags */
#define BM_REASON_DENY_INTERNAL 24 /* a map the verdict needs is missing: fail closed */
#define BM_REASON_DENY_SPOOFED 25 /* source address not the workload's (anti-spoofing) */
#define BM_REASON_MAX 32

static inline int bm_reason_is_deny(__u32 reason)
{
	return reason >= BM_REASON_FIRST_DENY;
}

#endif /* BM_ABI_DROP_H */
