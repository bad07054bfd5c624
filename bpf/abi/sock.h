/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket-level enforcement: the cgroup connect/sendmsg hooks, sockops and
 * sk_msg (bpf/sock_connect.bpf.c, bpf/sockops.bpf.c, bpf/skmsg.bpf.c).
 *
 * Who is connecting. At connect() time the source is the socket's workload,
 * found by cgroup: bm_cgroup_ids maps a cgroup v2 id to the workload's
 * security identity and its endpoint addresses, never to a policy class.
 * Classes are generational (config.h); the hooks resolve the workload's
 * address through the ipcache of the slot they read, exactly as XDP resolves
 * a packet's source address, so a policy swap needs no update of this map
 * and one decision never mixes generations. A cgroup without an entry takes
 * the entry of its nearest ancestor that has one (BM_CG_MAX_DEPTH levels);
 * with none at all the socket is the node itself (BM_ID_HOST, class WORLD).
 *
 * Connections. The decision taken at connect() is kept with the socket
 * (sk_storage bm_sock_pend); when TCP is established, sockops copies it to
 * bm_sock_conns under the socket's own 4-tuple (local -> remote), and the
 * accepting side gets the mirror entry (BM_CONN_F_REPLY). Sockets whose
 * workload asked for the fast path are put in bm_sockhash under the same
 * key; the sk_msg program then redirects their data into the peer socket.
 *
 * Policy changes and expiry. sk_msg looks at the connection entry on every
 * send: a generation other than the current one is judged again (original
 * direction, current slot) and either refreshed or refused; an entry
 * allowed through authentication is refused as soon as its bm_auth entry is
 * gone or expired. A refused send fails with EACCES and no byte moves.
 */
#ifndef BM_ABI_SOCK_H
#define BM_ABI_SOCK_H

#include <linux/types.h>

/* Pinned map names (see config.h for the others). */
#define BM_MAP_CGROUP_IDS "bm_cgroup_ids"
#define BM_MAP_SOCK_CONNS "bm_sock_conns"
#define BM_MAP_SOCKHASH "bm_sockhash"
#define BM_MAP_SOCK_PEND "bm_sock_pend"

#define BM_CGROUP_IDS_MAX 65536
#define BM_SOCK_CONNS_MAX 262144
#define BM_SOCKHASH_MAX 65536
#define BM_CG_MAX_DEPTH 16 /* ancestor levels searched for a workload entry */

/* bm_cgroup_ident.flags */
#define BM_CG_F_HAS_V4 (1U << 0) /* addr4 is set */
#define BM_CG_F_HAS_V6 (1U << 1) /* addr6 is set */
#define BM_CG_F_FASTPATH (1U << 2) /* same-node connections go through bm_sockhash */

/* Key: the cgroup v2 id (inode number of its directory), __u64. */
struct bm_cgroup_ident {
	__u32 sec_id; /* security identity of the workload */
	__u32 flags; /* BM_CG_F_* */
	__u8 addr6[16]; /* an endpoint address of the workload, resolved per generation */
	__u8 addr4[4];
	__u32 pad;
};
_Static_assert(sizeof(struct bm_cgroup_ident) == 32, "bm_cgroup_ident layout");

/* bm_sock_conn.flags */
#define BM_CONN_F_REPLY (1U << 0) /* this socket accepted the connection */
#define BM_CONN_F_FASTPATH (1U << 1) /* both ends may be redirected */
#define BM_CONN_F_SRC_HOST (1U << 2) /* source had no workload: judged as the node */
#define BM_CONN_F_REDIRECT (1U << 3) /* decided at the first send: redirect every send */
#define BM_CONN_F_NO_REDIRECT (1U << 4) /* decided at the first send: never redirect */

/*
 * One connection as its socket sees it (key: struct bm_flow_key of the
 * socket's own direction, local -> remote). The policy fields describe the
 * ORIGINAL direction (connecting workload -> destination) in the addresses
 * policy speaks: the workload's endpoint address, not the socket's.
 */
struct bm_sock_conn {
	__u64 auth_expires_boot_ns; /* 0: not allowed through authentication */
	__u64 established_boot_ns;
	__u32 generation; /* generation of the decision */
	__u32 src_id; /* identities of the ORIGINAL direction */
	__u32 dst_id;
	__u32 rule_id;
	__u8 psrc[16]; /* policy address of the source (IPv4 in the first 4 bytes) */
	__u8 pdst[16];
	__u16 dport; /* host order, original direction */
	__u8 proto; /* IP protocol number */
	__u8 family; /* BM_FAMILY_* of psrc/pdst */
	__u8 verdict; /* BM_VERDICT_* */
	__u8 reason; /* BM_REASON_* */
	__u8 flags; /* BM_CONN_F_* */
	__u8 src_family; /* BM_FAMILY_* of psrc (the workload may lack family's address) */
};
_Static_assert(sizeof(struct bm_sock_conn) == 72, "bm_sock_conn layout");

#endif /* BM_ABI_SOCK_H */
