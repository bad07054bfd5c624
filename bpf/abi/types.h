/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Identities, policy classes, verdicts and protocol keys shared by the BPF
 * programs and userland. Included by both compilers: only <linux/types.h>.
 *
 * Two kinds of numbers name a workload:
 *
 *  - the security identity (sec_id): a stable 32-bit value derived from the
 *    workload's SPIFFE ID (identity/), the same on every node. Events, counters
 *    and the auth map speak sec_id.
 *
 *  - the policy class (class): assigned by the policy compiler for one policy
 *    generation. Addresses whose every selector, ipBlock and named port resolve
 *    the same way share a class, so the policy map is keyed by the smallest
 *    number of distinct peers. Classes are only meaningful together with the
 *    generation that produced them, which is why every map holding them is
 *    swapped as one (see config.h).
 */
#ifndef BM_ABI_TYPES_H
#define BM_ABI_TYPES_H

#include <linux/types.h>

/* Bumped whenever a size or a field order below or in a sibling header changes. */
#define BM_ABI_VERSION 8

/* Reserved security identities; workload identities are >= BM_ID_FIRST_WORKLOAD. */
#define BM_ID_NONE 0 /* never a real identity */
#define BM_ID_HOST 1 /* the node itself */
#define BM_ID_WORLD 2 /* any address with no endpoint in the ipcache (incl. ipBlock ranges) */
#define BM_ID_FIRST_WORKLOAD 256

/* Reserved policy classes; compiled classes start at BM_CLASS_FIRST. */
#define BM_CLASS_ANY 0 /* wildcard peer in policy keys: "every source / destination" */
#define BM_CLASS_WORLD 1 /* address found in no ipcache map */
#define BM_CLASS_FIRST 2

/* Verdicts. Zero is deny so that an all-zero value can never allow. */
#define BM_VERDICT_DENY 0
#define BM_VERDICT_ALLOW 1
#define BM_VERDICT_ALLOW_AUTH 2 /* allowed because the pair is mutually authenticated */
#define BM_VERDICT_MAX 3

/* Traffic directions of a policy rule. */
#define BM_DIR_INGRESS 0
#define BM_DIR_EGRESS 1

/*
 * Protocol numbers used in policy keys: the IP protocol number for the five
 * classified protocols, BM_PROTO_OTHER for every other upper-layer protocol.
 * BM_PROTO_ANY appears only in policy keys: "every protocol of this {subject,
 * peer, direction} that has no entry of its own" (see policy.h).
 */
#define BM_PROTO_ANY 0
#define BM_PROTO_ICMP 1
#define BM_PROTO_TCP 6
#define BM_PROTO_UDP 17
#define BM_PROTO_ICMPV6 58
#define BM_PROTO_SCTP 132
#define BM_PROTO_OTHER 255

/* Address families inside ABI structs (not AF_*: these are on-the-wire ABI). */
#define BM_FAMILY_IPV4 4
#define BM_FAMILY_IPV6 6

#endif /* BM_ABI_TYPES_H */
