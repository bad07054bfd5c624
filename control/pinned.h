/* SPDX-License-Identifier: GPL-2.0-only */
/* Reaching the pinned maps without loading the program (status, observe, auth). */
#ifndef BM_PINNED_H
#define BM_PINNED_H

#include <stdint.h>

/* Open pin_dir/name; returns an fd or -errno (-ENOENT: nothing pinned, logged). */
int pinned_map_fd(const char *pin_dir, const char *name);

/* Sum a per-CPU array element of value_size bytes made of __u64 counters. */
int pinned_percpu_sum(int fd, uint32_t key, uint64_t *sum, size_t n_u64);

/* Number of entries of the inner map in slot of an outer map; -errno on error. */
long pinned_inner_entries(int outer_fd, uint32_t slot);

#endif /* BM_PINNED_H */
