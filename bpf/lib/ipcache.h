/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address -> (identity, class, flags) in the generation's slot: the host
 * hash first, then the LPM trie, then BM_CLASS_WORLD (see abi/ipcache.h).
 */
#ifndef BM_LIB_IPCACHE_H
#define BM_LIB_IPCACHE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi/abi.h"
#include "maps.h"

static __always_inline void bm_ipcache_world(struct bm_ipcache_value *out)
{
	out->sec_id = BM_ID_WORLD;
	out->class_id = BM_CLASS_WORLD;
	out->flags = 0;
	out->pad = 0;
}

/* addr in the slot's inner maps host (hash) then cidr (LPM), else world. */
static __always_inline void bm_ipcache_find4(void *host, void *cidr, const __u8 *addr,
					     struct bm_ipcache_value *out)
{
	struct bm_cidr4_key ck = {.prefixlen = 32};
	struct bm_host4_key hk;
	struct bm_ipcache_value *v;

	__builtin_memcpy(&hk.addr, addr, 4);
	v = bpf_map_lookup_elem(host, &hk);
	if (!v) {
		ck.addr = hk.addr;
		v = bpf_map_lookup_elem(cidr, &ck);
	}
	if (v)
		*out = *v;
	else
		bm_ipcache_world(out);
}

static __always_inline void bm_ipcache_find6(void *host, void *cidr, const __u8 *addr,
					     struct bm_ipcache_value *out)
{
	struct bm_cidr6_key ck = {.prefixlen = 128};
	struct bm_host6_key hk;
	struct bm_ipcache_value *v;

	__builtin_memcpy(hk.addr, addr, 16);
	v = bpf_map_lookup_elem(host, &hk);
	if (!v) {
		__builtin_memcpy(ck.addr, addr, 16);
		v = bpf_map_lookup_elem(cidr, &ck);
	}
	if (v)
		*out = *v;
	else
		bm_ipcache_world(out);
}

/* Returns 0, or -1 when the slot's inner maps are missing (fail closed). */
static __always_inline int bm_ipcache_lookup4(__u32 slot, const __u8 *addr,
					      struct bm_ipcache_value *out)
{
	void *host = bpf_map_lookup_elem(&bm_host4_o, &slot);
	void *cidr = bpf_map_lookup_elem(&bm_cidr4_o, &slot);

	/* *out defined on every path: clang may read it where the verifier cannot tell */
	bm_ipcache_world(out);
	if (!host || !cidr)
		return -1;
	bm_ipcache_find4(host, cidr, addr, out);
	return 0;
}

static __always_inline int bm_ipcache_lookup6(__u32 slot, const __u8 *addr,
					      struct bm_ipcache_value *out)
{
	void *host = bpf_map_lookup_elem(&bm_host6_o, &slot);
	void *cidr = bpf_map_lookup_elem(&bm_cidr6_o, &slot);

	/* *out defined on every path: clang may read it where the verifier cannot tell */
	bm_ipcache_world(out);
	if (!host || !cidr)
		return -1;
	bm_ipcache_find6(host, cidr, addr, out);
	return 0;
}

/*
 * Resolve both ends of key, looking the slot's inner maps up once for both.
 * Returns 0, or -1 when a map is missing.
 */
static __always_inline int bm_ipcache_resolve(__u32 slot, const struct bm_flow_key *key,
					      struct bm_ipcache_value *src,
					      struct bm_ipcache_value *dst)
{
	void *host, *cidr;

	if (key->family == BM_FAMILY_IPV4) {
		host = bpf_map_lookup_elem(&bm_host4_o, &slot);
		cidr = bpf_map_lookup_elem(&bm_cidr4_o, &slot);
		if (!host || !cidr)
			return -1;
		bm_ipcache_find4(host, cidr, key->saddr, src);
		bm_ipcache_find4(host, cidr, key->daddr, dst);
		return 0;
	}
	host = bpf_map_lookup_elem(&bm_host6_o, &slot);
	cidr = bpf_map_lookup_elem(&bm_cidr6_o, &slot);
	if (!host || !cidr)
		return -1;
	bm_ipcache_find6(host, cidr, key->saddr, src);
	bm_ipcache_find6(host, cidr, key->daddr, dst);
	return 0;
}

#endif /* BM_LIB_IPCACHE_H */
