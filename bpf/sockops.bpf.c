// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bm_sockops: record established TCP connections with their identities in
 * bm_sock_conns, and put fast-path sockets in bm_sockhash for bm_skmsg.
 *
 * Connecting side (ACTIVE_ESTABLISHED): the decision bm_connect4/6 left in
 * bm_sock_pend becomes the connection record. Accepting side
 * (PASSIVE_ESTABLISHED): on one node the client's record exists already
 * (its SYN-ACK was handled before our final ACK arrived), and the server
 * takes its mirror; a client from elsewhere is judged here by address, as
 * XDP would judge its SYN. Records go away when the socket closes.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h> /* IPPROTO_ICMPV6, which lib/policy.h uses */
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "abi/abi.h"
#include "maps.h"
#include "sock_maps.h"
#include "lib/policy.h"
#include "lib/sock.h"

static __always_inline void skops_key(struct bpf_sock_ops *skops, struct bm_flow_key *k)
{
	__u32 l6[4], r6[4];

	l6[0] = skops->local_ip6[0]; /* ctx fields: one 32-bit load each */
	l6[1] = skops->local_ip6[1];
	l6[2] = skops->local_ip6[2];
	l6[3] = skops->local_ip6[3];
	r6[0] = skops->remote_ip6[0];
	r6[1] = skops->remote_ip6[1];
	r6[2] = skops->remote_ip6[2];
	r6[3] = skops->remote_ip6[3];
	bm_sock_key(k, skops->family, skops->local_ip4, skops->remote_ip4, l6, r6,
		    skops->local_port, skops->remote_port);
}

/* Record c under k, put the socket in the sockhash if both ends want the fast path. */
static __always_inline void record(struct bpf_sock_ops *skops, const struct bm_flow_key *k,
				   struct bm_sock_conn *c)
{
	c->established_boot_ns = bpf_ktime_get_boot_ns();
	c->flags &= ~(BM_CONN_F_REDIRECT | BM_CONN_F_NO_REDIRECT);
	bpf_map_update_elem(&bm_sock_conns, k, c, BPF_ANY);
	if (c->flags & BM_CONN_F_FASTPATH)
		bpf_sock_hash_update(skops, &bm_sockhash, (void *)k, BPF_ANY);
	bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG); /* to forget it at close */
}

static __always_inline void active(struct bpf_sock_ops *skops)
{
	struct bm_sock_conn *pend, c;
	struct bm_flow_key k;
	struct bpf_sock *sk;

	sk = skops->sk;
	if (!sk) /* verifier: sk is PTR_TO_SOCKET_OR_NULL */
		return;
	pend = bpf_sk_storage_get(&bm_sock_pend, sk, 0, 0);
	if (!pend) /* connected before bpfmesh was attached */
		return;
	c = *pend;
	bpf_sk_storage_delete(&bm_sock_pend, sk);
	skops_key(skops, &k);
	record(skops, &k, &c);
}

/* A client we did not see connect: judge the original direction by address. */
static __always_inline void judge_remote(const struct bm_flow_key *k, struct bm_sock_conn *c)
{
	struct bm_verdict v = {};
	struct bm_config *cfg;
	__u32 gen;

	__builtin_memset(c, 0, sizeof(*c));
	gen = bm_sock_generation(&cfg);
	c->family = k->family;
	c->src_family = k->family;
	c->proto = IPPROTO_TCP;
	c->dport = bpf_ntohs(k->sport);
	__builtin_memcpy(c->psrc, k->daddr, 16);
	__builtin_memcpy(c->pdst, k->saddr, 16);
	c->src_id = BM_ID_WORLD;
	bm_sock_decide(gen, c, &v);
	bm_sock_store(c, gen, &v);
}

static __always_inline void passive(struct bpf_sock_ops *skops)
{
	struct bm_flow_key k, rev;
	struct bm_sock_conn *client, c;

	skops_key(skops, &k);
	bm_sock_key_reverse(&k, &rev);
	client = bpf_map_lookup_elem(&bm_sock_conns, &rev);
	if (client) {
		c = *client;
	} else {
		judge_remote(&k, &c);
		c.flags &= ~BM_CONN_F_FASTPATH;
	}
	c.flags |= BM_CONN_F_REPLY;
	record(skops, &k, &c);
}

static __always_inline void closed(struct bpf_sock_ops *skops)
{
	struct bm_flow_key k;

	skops_key(skops, &k);
	bpf_map_delete_elem(&bm_sock_conns, &k);
}

SEC("sockops")
int bm_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		active(skops);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		passive(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE)
			closed(skops);
		break;
	default:
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
