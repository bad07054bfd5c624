/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Anti-spoofing guards (bpf/abi/guard.h) in userland: building the map
 * value from a list of addresses, and the rule bpf/lib/guard.h applies,
 * for the reference evaluator and tools.
 */
#ifndef BM_GUARD_H
#define BM_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <abi/abi.h>

/*
 * Fill *out (zeroed first) with addrs[0..n): at most BM_GUARD_MAX_V4 IPv4 and
 * BM_GUARD_MAX_V6 IPv6 addresses; duplicates are kept once. n may be 0 (a
 * guard that admits no source at all). Returns 0, -EINVAL for a family other
 * than BM_FAMILY_IPV4/6 or an IPv4 address with bytes set past addr[3], or
 * -E2BIG when a family has more addresses than fit.
 */
int guard_build(const struct bm_addr *addrs, size_t n, struct bm_ifguard *out);

/*
 * Does guard g (NULL: the interface has none) refuse a packet of family
 * (BM_FAMILY_*) from saddr (16 bytes, IPv4 in the first 4)? The rule of
 * bpf/lib/guard.h.
 */
bool guard_is_spoofed(const struct bm_ifguard *g, uint8_t family, const uint8_t *saddr);

/*
 * Parse "198.18.0.2" or "fd00::2" (no prefix length) into *out. Returns 0 or
 * -EINVAL.
 */
int guard_addr_parse(const char *text, struct bm_addr *out);

#endif /* BM_GUARD_H */
