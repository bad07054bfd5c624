// SPDX-License-Identifier: GPL-2.0-only
/* Anti-spoofing guard values and their rule in userland. See guard.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "guard.h"

static bool has_v4(const struct bm_ifguard *g, const uint8_t *a)
{
	unsigned int i;

	for (i = 0; i < g->nr_v4 && i < BM_GUARD_MAX_V4; i++) {
		if (!memcmp(&g->v4[i], a, 4))
			return true;
	}
	return false;
}

static bool has_v6(const struct bm_ifguard *g, const uint8_t *a)
{
	unsigned int i;

	for (i = 0; i < g->nr_v6 && i < BM_GUARD_MAX_V6; i++) {
		if (!memcmp(g->v6[i], a, 16))
			return true;
	}
	return false;
}

static bool v4_tail_is_zero(const uint8_t *addr)
{
	static const uint8_t zero[12];

	return !memcmp(addr + 4, zero, sizeof(zero));
}

/* See guard.h. */
int guard_build(const struct bm_addr *addrs, size_t n, struct bm_ifguard *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		const uint8_t *a = addrs[i].addr;

		if (addrs[i].family == BM_FAMILY_IPV4) {
			if (!v4_tail_is_zero(a))
				return -EINVAL;
			if (has_v4(out, a))
				continue;
			if (out->nr_v4 >= BM_GUARD_MAX_V4)
				return -E2BIG;
			memcpy(&out->v4[out->nr_v4++], a, 4);
		} else if (addrs[i].family == BM_FAMILY_IPV6) {
			if (has_v6(out, a))
				continue;
			if (out->nr_v6 >= BM_GUARD_MAX_V6)
				return -E2BIG;
			memcpy(out->v6[out->nr_v6++], a, 16);
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

/* See guard.h. */
bool guard_is_spoofed(const struct bm_ifguard *g, uint8_t family, const uint8_t *saddr)
{
	if (!g)
		return false;
	if (family == BM_FAMILY_IPV4)
		return !has_v4(g, saddr);
	return !has_v6(g, saddr);
}

/* See guard.h. */
int guard_addr_parse(const char *text, struct bm_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->addr) == 1) {
		out->family = BM_FAMILY_IPV4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->addr) == 1) {
		out->family = BM_FAMILY_IPV6;
		return 0;
	}
	return -EINVAL;
}
