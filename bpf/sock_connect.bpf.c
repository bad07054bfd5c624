// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bm_connect4/6, bm_sendmsg4/6: authorize outgoing connections (and UDP
 * datagrams sent with an explicit destination) of the workload that owns
 * the cgroup, by (workload identity, destination identity, protocol, port)
 * with the policy maps of the current generation (lib/sock.h). A deny makes
 * connect()/sendmsg() fail at once with EPERM and is reported like an XDP
 * deny, with source BM_EVENT_SRC_SOCK. An allowed TCP connect leaves its
 * decision in bm_sock_pend for sockops.
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
#include "lib/sock_telemetry.h"

#define BM_SOCK_ALLOW 1 /* cgroup sock_addr verdicts: 1 lets the call go on */
#define BM_SOCK_DENY 0 /* 0 fails it with EPERM */

/* Destination of ctx into c (family, pdst, dport, proto); IPv4-mapped IPv6 as IPv4. */
static __always_inline void dest4(struct bpf_sock_addr *ctx, struct bm_sock_conn *c)
{
	__u32 ip = ctx->user_ip4;

	c->family = BM_FAMILY_IPV4;
	__builtin_memcpy(c->pdst, &ip, 4);
	c->dport = bpf_ntohs((__u16)ctx->user_port);
	c->proto = (__u8)ctx->protocol;
}

static __always_inline void dest6(struct bpf_sock_addr *ctx, struct bm_sock_conn *c)
{
	__u32 ip[4];

	ip[0] = ctx->user_ip6[0]; /* ctx fields: one 32-bit load each */
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	if (bm_sock_is_v4mapped(ip)) {
		c->family = BM_FAMILY_IPV4;
		__builtin_memcpy(c->pdst, &ip[3], 4);
	} else {
		c->family = BM_FAMILY_IPV6;
		__builtin_memcpy(c->pdst, ip, 16);
	}
	c->dport = bpf_ntohs((__u16)ctx->user_port);
	c->proto = (__u8)ctx->protocol;
}

/* Judge c, account, and keep an allowed TCP decision with the socket. */
static __always_inline int judge(struct bpf_sock_addr *ctx, struct bm_sock_conn *c)
{
	struct bm_verdict v = {};
	struct bm_sock_conn *pend;
	struct bm_config *cfg;
	struct bpf_sock *sk;
	__u32 gen;

	gen = bm_sock_generation(&cfg);
	bm_sock_set_source(c, bm_sock_workload());
	bm_sock_decide(gen, c, &v);
	bm_sock_store(c, gen, &v);
	sk = ctx->sk;
	bm_sock_account(cfg, gen, c, sk ? bpf_htons((__u16)sk->src_port) : 0, &v);
#ifdef BM_DEBUG
	bpf_printk("bm_connect: reason %u ids %u->%u port %u", v.reason, v.src_id, v.dst_id,
		   c->dport);
#endif
	if (v.verdict == BM_VERDICT_DENY)
		return BM_SOCK_DENY;
	if (c->proto != IPPROTO_TCP || !sk)
		return BM_SOCK_ALLOW;
	pend = bpf_sk_storage_get(&bm_sock_pend, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (pend)
		*pend = *c;
	return BM_SOCK_ALLOW;
}

SEC("cgroup/connect4")
int bm_connect4(struct bpf_sock_addr *ctx)
{
	struct bm_sock_conn c = {};

	dest4(ctx, &c);
	return judge(ctx, &c);
}

SEC("cgroup/connect6")
int bm_connect6(struct bpf_sock_addr *ctx)
{
	struct bm_sock_conn c = {};

	dest6(ctx, &c);
	return judge(ctx, &c);
}

SEC("cgroup/sendmsg4")
int bm_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct bm_sock_conn c = {};

	dest4(ctx, &c);
	return judge(ctx, &c);
}

SEC("cgroup/sendmsg6")
int bm_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct bm_sock_conn c = {};

	dest6(ctx, &c);
	return judge(ctx, &c);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
