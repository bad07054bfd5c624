/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket-level decisions (abi/sock.h): the workload of the calling cgroup,
 * the connection record of a socket, and the policy decision on it through
 * lib/ipcache.h and lib/policy.h, exactly as XDP decides on a packet.
 */
#ifndef BM_LIB_SOCK_H
#define BM_LIB_SOCK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "abi/abi.h"
#include "maps.h"
#include "sock_maps.h"
#include "lib/ipcache.h"
#include "lib/policy.h"

#define BM_AF_INET 2 /* AF_INET, AF_INET6: not in UAPI headers usable here */
#define BM_AF_INET6 10

/* The current generation (0: no policy, or no config yet). */
static __always_inline __u32 bm_sock_generation(struct bm_config **cfg)
{
	__u32 zero = 0;

	*cfg = bpf_map_lookup_elem(&bm_config, &zero);
	if (!*cfg)
		return 0;
	return *(volatile __u32 *)&(*cfg)->generation; /* once: one generation per decision */
}

/*
 * The workload of the calling task's cgroup: its own entry, else that of its
 * nearest ancestor (deepest level first); NULL when none has one. Only valid
 * in process context (cgroup sock_addr hooks).
 */
static __always_inline struct bm_cgroup_ident *bm_sock_workload(void)
{
	struct bm_cgroup_ident *w;
	__u64 id;
	int level;

	id = bpf_get_current_cgroup_id();
	w = bpf_map_lookup_elem(&bm_cgroup_ids, &id);
	for (level = BM_CG_MAX_DEPTH - 1; !w && level >= 0; level--) {
		id = bpf_get_current_ancestor_cgroup_id(level);
		if (id) /* 0: deeper than the cgroup itself */
			w = bpf_map_lookup_elem(&bm_cgroup_ids, &id);
	}
	return w;
}

/*
 * Fill the source side of c (psrc, src_family, src_id, flags) from the
 * workload w for a connection of family c->family. The address of that
 * family is preferred; a workload with only the other family is resolved
 * through that one (its class is the workload's either way).
 */
static __always_inline void bm_sock_set_source(struct bm_sock_conn *c,
					       const struct bm_cgroup_ident *w)
{
	int is_v4;

	if (!w) {
		c->src_id = BM_ID_HOST;
		c->flags |= BM_CONN_F_SRC_HOST;
		c->src_family = c->family;
		return;
	}
	c->src_id = w->sec_id;
	if (w->flags & BM_CG_F_FASTPATH)
		c->flags |= BM_CONN_F_FASTPATH;
	is_v4 = c->family == BM_FAMILY_IPV4
			? (w->flags & BM_CG_F_HAS_V4) || !(w->flags & BM_CG_F_HAS_V6)
			: !(w->flags & BM_CG_F_HAS_V6);
	if (is_v4) {
		__builtin_memcpy(c->psrc, w->addr4, 4);
		c->src_family = BM_FAMILY_IPV4;
	} else {
		__builtin_memcpy(c->psrc, w->addr6, 16);
		c->src_family = BM_FAMILY_IPV6;
	}
}

static __always_inline int bm_sock_lookup(__u32 slot, __u8 family, const __u8 *addr,
					  struct bm_ipcache_value *out)
{
	if (family == BM_FAMILY_IPV4)
		return bm_ipcache_lookup4(slot, addr, out);
	return bm_ipcache_lookup6(slot, addr, out);
}

/*
 * Judge the original direction of c under generation (policy_eval.h steps
 * 2-7) into v. A workload whose address is no endpoint of this generation
 * keeps its own identity with the WORLD class; a source without workload is
 * the node (BM_ID_HOST, class WORLD, no flags).
 */
static __always_inline void bm_sock_decide(__u32 generation, const struct bm_sock_conn *c,
					   struct bm_verdict *v)
{
	struct bm_ipcache_value src, dst;
	__u32 slot = BM_GEN_SLOT(generation);

	v->src_id = c->src_id;
	v->dst_id = BM_ID_NONE;
	v->rule_id = 0;
	v->auth_expires_boot_ns = 0;
	v->has_ids = 1;
	if (!generation) {
		bm_verdict_set(v, BM_VERDICT_ALLOW, BM_REASON_ALLOW_NO_POLICY);
		return;
	}
	if (c->flags & BM_CONN_F_SRC_HOST) {
		bm_ipcache_world(&src);
		src.sec_id = BM_ID_HOST;
	} else if (bm_sock_lookup(slot, c->src_family, c->psrc, &src)) {
		bm_verdict_set(v, BM_VERDICT_DENY, BM_REASON_DENY_INTERNAL);
		return;
	}
	if (src.sec_id == BM_ID_WORLD)
		src.sec_id = c->src_id;
	if (bm_sock_lookup(slot, c->family, c->pdst, &dst)) {
		bm_verdict_set(v, BM_VERDICT_DENY, BM_REASON_DENY_INTERNAL);
		return;
	}
	bm_policy_decide(slot, &src, &dst, c->proto, c->dport, v);
}

/* Copy the outcome v of a decision under generation into c. */
static __always_inline void bm_sock_store(struct bm_sock_conn *c, __u32 generation,
					  const struct bm_verdict *v)
{
	c->generation = generation;
	c->src_id = v->src_id;
	c->dst_id = v->dst_id;
	c->rule_id = v->rule_id;
	c->auth_expires_boot_ns = v->auth_expires_boot_ns;
	c->verdict = v->verdict;
	c->reason = v->reason;
}

/* Is addr (16 bytes, network order) an IPv4-mapped IPv6 address? */
static __always_inline int bm_sock_is_v4mapped(const __u32 *addr)
{
	return addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0x0000ffff);
}

/*
 * A socket's own direction as a bm_flow_key, from the addresses and ports
 * sockops and sk_msg give (local port host order, remote port network order
 * in the upper half of a host-order word). IPv4-mapped IPv6 sockets are keyed
 * as IPv4 so that a v6 socket and its v4 peer find each other.
 */
static __always_inline void bm_sock_key(struct bm_flow_key *k, __u32 family, __u32 lip4, __u32 rip4,
					const __u32 *lip6, const __u32 *rip6, __u32 lport,
					__u32 rport_word)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->proto = IPPROTO_TCP;
	k->sport = bpf_htons((__u16)lport);
	k->dport = bpf_htons((__u16)bpf_ntohl(rport_word));
	if (family == BM_AF_INET6 && !(bm_sock_is_v4mapped(lip6) && bm_sock_is_v4mapped(rip6))) {
		k->family = BM_FAMILY_IPV6;
		__builtin_memcpy(k->saddr, lip6, 16);
		__builtin_memcpy(k->daddr, rip6, 16);
		return;
	}
	if (family == BM_AF_INET6) {
		lip4 = lip6[3];
		rip4 = rip6[3];
	}
	k->family = BM_FAMILY_IPV4;
	__builtin_memcpy(k->saddr, &lip4, 4);
	__builtin_memcpy(k->daddr, &rip4, 4);
}

/* The peer socket's key: k reversed. */
static __always_inline void bm_sock_key_reverse(const struct bm_flow_key *k, struct bm_flow_key *r)
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
 * Is the connection c still allowed now? Re-judged when its generation is
 * not the current one; an auth-allowed connection also needs its bm_auth
 * entry unexpired. c (a map value) is refreshed with the new decision,
 * whatever it is; *v receives it. Returns 1 to allow.
 */
static __always_inline int bm_sock_current(struct bm_sock_conn *c, __u32 generation,
					   struct bm_verdict *v, int *is_changed)
{
	struct bm_auth_key ak = {.src_id = c->src_id, .dst_id = c->dst_id};
	struct bm_auth_value *a;

	*is_changed = 0;
	if (c->generation == generation && c->verdict != BM_VERDICT_DENY) {
		if (!c->auth_expires_boot_ns)
			return 1;
		a = bpf_map_lookup_elem(&bm_auth, &ak);
		if (a && a->expires_boot_ns > bpf_ktime_get_boot_ns())
			return 1;
	}
	*is_changed = 1;
	bm_sock_decide(generation, c, v);
	bm_sock_store(c, generation, v);
	return v->verdict != BM_VERDICT_DENY;
}

#endif /* BM_LIB_SOCK_H */
