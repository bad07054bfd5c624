// SPDX-License-Identifier: GPL-2.0-only
/* Growable key/value arrays for one compiled policy generation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tables.h"

static const struct {
	size_t key_size;
	size_t value_size;
	const char *map_name;
} table_shapes[TABLES_NR] = {
	[TABLES_HOST4] = {sizeof(struct bm_host4_key), sizeof(struct bm_ipcache_value),
			  BM_MAP_HOST4},
	[TABLES_HOST6] = {sizeof(struct bm_host6_key), sizeof(struct bm_ipcache_value),
			  BM_MAP_HOST6},
	[TABLES_CIDR4] = {sizeof(struct bm_cidr4_key), sizeof(struct bm_ipcache_value),
			  BM_MAP_CIDR4},
	[TABLES_CIDR6] = {sizeof(struct bm_cidr6_key), sizeof(struct bm_ipcache_value),
			  BM_MAP_CIDR6},
	[TABLES_POLICY] = {sizeof(struct bm_policy_key), sizeof(struct bm_policy_value),
			   BM_MAP_POLICY},
	[TABLES_PORTS] = {sizeof(struct bm_port_key), sizeof(struct bm_port_value), BM_MAP_PORTS},
	[TABLES_RANGES] = {sizeof(__u32), sizeof(struct bm_port_range), BM_MAP_RANGES},
};

/* See tables.h. */
void tables_init(struct bm_tables *t)
{
	int k;

	memset(t, 0, sizeof(*t));
	for (k = 0; k < TABLES_NR; k++) {
		t->maps[k].key_size = table_shapes[k].key_size;
		t->maps[k].value_size = table_shapes[k].value_size;
	}
}

/* See tables.h. */
void tables_release(struct bm_tables *t)
{
	int k;

	if (!t)
		return;
	for (k = 0; k < TABLES_NR; k++) {
		free(t->maps[k].keys);
		free(t->maps[k].values);
		t->maps[k].keys = NULL;
		t->maps[k].values = NULL;
		t->maps[k].n = 0;
		t->maps[k].cap = 0;
	}
}

static int grow(struct tables_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	void *keys, *values;

	keys = realloc(m->keys, cap * m->key_size);
	if (!keys)
		return -ENOMEM;
	m->keys = keys;
	values = realloc(m->values, cap * m->value_size);
	if (!values)
		return -ENOMEM;
	m->values = values;
	m->cap = cap;
	return 0;
}

/* See tables.h. */
int tables_append(struct bm_tables *t, enum tables_kind kind, const void *key, const void *value)
{
	struct tables_map *m = &t->maps[kind];
	int err;

	if (m->n == m->cap) {
		err = grow(m);
		if (err)
			return err;
	}
	memcpy((char *)m->keys + m->n * m->key_size, key, m->key_size);
	memcpy((char *)m->values + m->n * m->value_size, value, m->value_size);
	m->n++;
	return 0;
}

/* See tables.h. */
void *tables_key(const struct bm_tables *t, enum tables_kind kind, size_t i)
{
	return (char *)t->maps[kind].keys + i * t->maps[kind].key_size;
}

/* See tables.h. */
void *tables_value(const struct bm_tables *t, enum tables_kind kind, size_t i)
{
	return (char *)t->maps[kind].values + i * t->maps[kind].value_size;
}

/* See tables.h. */
const void *tables_find(const struct bm_tables *t, enum tables_kind kind, const void *key)
{
	const struct tables_map *m = &t->maps[kind];
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (!memcmp(tables_key(t, kind, i), key, m->key_size))
			return tables_value(t, kind, i);
	}
	return NULL;
}

/* See tables.h. */
const char *tables_map_name(enum tables_kind kind)
{
	return table_shapes[kind].map_name;
}
