/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Mutual-authentication state: (source sec_id, destination sec_id) -> expiry.
 * Written by the identity agent after a handshake, one entry per direction
 * the pair may use; checked against bpf_ktime_get_boot_ns(), so userland
 * writes CLOCK_BOOTTIME nanoseconds. Not generational: it survives policy swaps.
 */
#ifndef BM_ABI_AUTH_H
#define BM_ABI_AUTH_H

#include <linux/types.h>

struct bm_auth_key {
	__u32 src_id;
	__u32 dst_id;
};
_Static_assert(sizeof(struct bm_auth_key) == 8, "bm_auth_key layout");

struct bm_auth_value {
	__u64 expires_boot_ns; /* CLOCK_BOOTTIME; the entry is void at and after this */
	__u64 handshake_id; /* opaque, for observe / revocation bookkeeping */
};
_Static_assert(sizeof(struct bm_auth_value) == 16, "bm_auth_value layout");

#endif /* BM_ABI_AUTH_H */
