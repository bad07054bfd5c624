// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bm_skmsg: the same-node fast path. Runs on every send of a socket in
 * bm_sockhash. The connection must still be allowed (lib/sock.h
 * bm_sock_current: a new policy generation is judged again, an expired or
 * revoked authentication refuses); a refused send is SK_DROP (the sender gets
 * EACCES) and is reported. An allowed send goes straight into the peer
 * socket's receive queue when the peer is in bm_sockhash. Whether a socket
 * redirects is settled at its first send and never changes afterwards, so a
 * receiver never gets one direction's bytes through two queues out of order.
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

static __always_inline void msg_key(struct sk_msg_md *msg, struct bm_flow_key *k)
{
	__u32 l6[4], r6[4];

	l6[0] = msg->local_ip6[0]; /* ctx fields: one 32-bit load each */
	l6[1] = msg->local_ip6[1];
	l6[2] = msg->local_ip6[2];
	l6[3] = msg->local_ip6[3];
	r6[0] = msg->remote_ip6[0];
	r6[1] = msg->remote_ip6[1];
	r6[2] = msg->remote_ip6[2];
	r6[3] = msg->remote_ip6[3];
	bm_sock_key(k, msg->family, msg->local_ip4, msg->remote_ip4, l6, r6, msg->local_port,
		    msg->remote_port);
}

SEC("sk_msg")
int bm_skmsg(struct sk_msg_md *msg)
{
	struct bm_flow_key k, rev;
	struct bm_verdict v = {};
	struct bm_sock_conn *c;
	struct bm_config *cfg;
	int is_changed;
	__u32 gen;
	long rc;

	msg_key(msg, &k);
	c = bpf_map_lookup_elem(&bm_sock_conns, &k);
	if (!c)
		return SK_PASS;
	gen = bm_sock_generation(&cfg);
	if (!bm_sock_current(c, gen, &v, &is_changed)) {
		bm_sock_account(cfg, gen, c, k.sport, &v);
		return SK_DROP;
	}
	if (c->flags & BM_CONN_F_NO_REDIRECT)
		return SK_PASS;
	bm_sock_key_reverse(&k, &rev);
	rc = bpf_msg_redirect_hash(msg, &bm_sockhash, &rev, BPF_F_INGRESS);
	if (!(c->flags & BM_CONN_F_REDIRECT))
		c->flags |= rc == SK_PASS ? BM_CONN_F_REDIRECT : BM_CONN_F_NO_REDIRECT;
	return SK_PASS; /* with a redirect set, SK_PASS delivers to the peer */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
