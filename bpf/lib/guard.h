/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Anti-spoofing (abi/guard.h): is this packet's source allowed on the
 * interface it entered through? control/ref_packet.c mirrors the rule.
 */
#ifndef BM_LIB_GUARD_H
#define BM_LIB_GUARD_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi/abi.h"
#include "maps.h"
#include "lib/parse.h"

static __always_inline int bm_guard_has_v4(const struct bm_ifguard *g, const __u8 *saddr)
{
	__u32 a, n = g->nr_v4, i;

	__builtin_memcpy(&a, saddr, 4);
	for (i = 0; i < BM_GUARD_MAX_V4; i++) {
		if (i >= n)
			break;
		if (g->v4[i] == a)
			return 1;
	}
	return 0;
}

static __always_inline int bm_guard_has_v6(const struct bm_ifguard *g, const __u8 *saddr)
{
	__u64 a0, a1, b0, b1;
	__u32 n = g->nr_v6, i;

	__builtin_memcpy(&a0, saddr, 8);
	__builtin_memcpy(&a1, saddr + 8, 8);
	for (i = 0; i < BM_GUARD_MAX_V6; i++) {
		if (i >= n)
			break;
		__builtin_memcpy(&b0, g->v6[i], 8);
		__builtin_memcpy(&b1, g->v6[i] + 8, 8);
		if (a0 == b0 && a1 == b1)
			return 1;
	}
	return 0;
}

/*
 * 1 when the parsed IP packet entered an interface with a guard that does
 * not list its source address; 0 otherwise.
 */
static __always_inline int bm_guard_is_spoofed(struct xdp_md *ctx, const struct bm_pkt *pkt)
{
	struct bm_ifguard_key k = {.ifindex = ctx->ingress_ifindex};
	struct bm_ifguard *g;

	g = bpf_map_lookup_elem(&bm_ifguard, &k);
	if (!g)
		return 0;
	if (pkt->key.family == BM_FAMILY_IPV4)
		return !bm_guard_has_v4(g, pkt->key.saddr);
	return !bm_guard_has_v6(g, pkt->key.saddr);
}

#endif /* BM_LIB_GUARD_H */
