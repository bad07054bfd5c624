/* SPDX-License-Identifier: GPL-2.0-only */
/* Internals of sched.c and sched_fit.c. */
#ifndef BM_SCHED_PRIV_H
#define BM_SCHED_PRIV_H

#include "sched_place.h"

/* Labels, affinity and taints only (no resources). Cannot fail. */
bool sched_node_matches(const struct sched_node *node, const struct wl_pod_spec *pod);

/* A hash of pod's placement constraints: equal constraints, equal hash. Cannot fail. */
uint64_t sched_constraints_hash(const struct wl_pod_spec *pod);

#define SCHED_FNV_OFFSET 0xcbf29ce484222325ULL

/* FNV-1a over the bytes of s (NULL: none), continuing from h. Cannot fail. */
static inline uint64_t sched_fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* splitmix64's finaliser. Cannot fail. */
static inline uint64_t sched_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#endif /* BM_SCHED_PRIV_H */
