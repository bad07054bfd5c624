/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Whole-map operations on the inner maps of the generational slots (hash
 * maps and LPM tries): empty one for an in-place refill, count its entries.
 * Batch operations where the kernel has them, a bounded key walk elsewhere.
 */
#ifndef BM_DP_INNER_H
#define BM_DP_INNER_H

#include <linux/types.h>

/*
 * Delete every entry of map fd, which holds at most max_entries entries of
 * key_size/value_size bytes. Returns 0, -EBUSY when entries keep appearing
 * (someone else writes the map), or another -errno.
 */
int dp_inner_clear(int fd, __u32 key_size, __u32 value_size, __u32 max_entries);

/* The number of entries in map fd, or -errno. */
long dp_inner_count(int fd);

#endif /* BM_DP_INNER_H */
