/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Compiled tables: the exact key/value arrays of one policy generation, as
 * they will be written to the inner maps of the generational slot
 * (bpf/abi/config.h). Produced by policy_compile(), consumed by
 * tables_install() (into the kernel) and tables_eval() (the same lookups in
 * userland). Keys and values sit in separate arrays so they can be handed
 * to bpf_map_update_batch() as they are.
 */
#ifndef BM_TABLES_H
#define BM_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include <abi/abi.h>

struct tables_map {
	void *keys;
	void *values;
	size_t n;
	size_t cap;
	size_t key_size;
	size_t value_size;
};

enum tables_kind {
	TABLES_HOST4,
	TABLES_HOST6,
	TABLES_CIDR4,
	TABLES_CIDR6,
	TABLES_POLICY,
	TABLES_PORTS,
	TABLES_RANGES, /* the range pool: keys 0 .. n - 1 in order (an ARRAY map) */
	TABLES_NR,
};

struct bm_tables {
	struct tables_map maps[TABLES_NR];
	uint32_t nr_classes; /* highest class id + 1 */
};

/* Initialise empty tables with the ABI key and value sizes. Cannot fail. */
void tables_init(struct bm_tables *t);

/* Free the arrays (not t itself). NULL-safe, idempotent. */
void tables_release(struct bm_tables *t);

/* Append one entry (copied). Returns 0 or -ENOMEM. */
int tables_append(struct bm_tables *t, enum tables_kind kind, const void *key, const void *value);

/* Pointers to entry i's key and value. i < t->maps[kind].n. */
void *tables_key(const struct bm_tables *t, enum tables_kind kind, size_t i);
void *tables_value(const struct bm_tables *t, enum tables_kind kind, size_t i);

/* Find an exact key; returns the value or NULL. Linear: for tests and tools only. */
const void *tables_find(const struct bm_tables *t, enum tables_kind kind, const void *key);

/* The ABI name of a table's outer map (BM_MAP_*). */
const char *tables_map_name(enum tables_kind kind);

#endif /* BM_TABLES_H */
