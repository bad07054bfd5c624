// SPDX-License-Identifier: GPL-2.0-only
/* Order-independent collision resolution for numeric identities. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ident_id.h"
#include "ident_registry.h"

struct reg_entry {
	char *spiffe_id;
	uint32_t id;
	uint32_t probe;
};

struct ident_registry {
	struct reg_entry **sorted; /* by strcmp of spiffe_id */
	unsigned int n, cap;
	struct reg_entry **table; /* open addressing on id, linear probing */
	uint32_t table_mask;
};

/* See ident_registry.h. */
struct ident_registry *ident_registry_new(void)
{
	struct ident_registry *r = calloc(1, sizeof(*r));

	if (!r)
		errno = ENOMEM;
	return r;
}

/* See ident_registry.h. */
void ident_registry_free(struct ident_registry *r)
{
	unsigned int i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->sorted[i]->spiffe_id);
		free(r->sorted[i]);
	}
	free(r->sorted);
	free(r->table);
	free(r);
}

static uint32_t slot_of(uint32_t id)
{
	return id * 2654435761U;
}

static struct reg_entry **table_find(const struct ident_registry *r, uint32_t id)
{
	uint32_t i;

	if (!r->table)
		return NULL;
	for (i = slot_of(id) & r->table_mask; r->table[i]; i = (i + 1) & r->table_mask) {
		if (r->table[i]->id == id)
			return &r->table[i];
	}
	return &r->table[i];
}

/* Size the table for want entries (load <= 1/2) and empty it. */
static int table_reset(struct ident_registry *r, unsigned int want)
{
	uint32_t size = 16;

	while (size < 2 * want + 2)
		size *= 2;
	if (size - 1 != r->table_mask || !r->table) {
		free(r->table);
		r->table = calloc(size, sizeof(*r->table));
		if (!r->table)
			return -ENOMEM;
		r->table_mask = size - 1;
	}
	memset(r->table, 0, (size_t)size * sizeof(*r->table));
	return 0;
}

/* Give e the first probe not yet held and enter it in the table. */
static int place(struct ident_registry *r, struct reg_entry *e)
{
	struct reg_entry **slot;
	uint32_t k, id;

	for (k = 0; k < IDENT_REGISTRY_MAX_PROBES; k++) {
		if (ident_numeric_id_probe(e->spiffe_id, k, &id))
			return -EINVAL;
		slot = table_find(r, id);
		if (!*slot) {
			e->id = id;
			e->probe = k;
			*slot = e;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Re-run the rule over the whole set, reporting every number that changed. */
static int reassign(struct ident_registry *r, const struct reg_entry *skip,
		    ident_registry_moved_fn moved, void *ctx)
{
	unsigned int i;
	uint32_t old;
	int ret;

	ret = table_reset(r, r->n);
	for (i = 0; !ret && i < r->n; i++) {
		old = r->sorted[i]->id;
		ret = place(r, r->sorted[i]);
		if (!ret && moved && r->sorted[i] != skip && old != r->sorted[i]->id)
			moved(ctx, r->sorted[i]->spiffe_id, old, r->sorted[i]->id);
	}
	return ret;
}

/* Position of spiffe_id in sorted, or where it would go; *found says which. */
static unsigned int search(const struct ident_registry *r, const char *spiffe_id, int *found)
{
	unsigned int lo = 0, hi = r->n;
	int c;

	*found = 0;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		c = strcmp(r->sorted[mid]->spiffe_id, spiffe_id);
		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int insert_sorted(struct ident_registry *r, unsigned int pos, struct reg_entry *e)
{
	struct reg_entry **grown;

	if (r->n == r->cap) {
		unsigned int cap = r->cap ? r->cap * 2 : 16;

		grown = realloc(r->sorted, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		r->sorted = grown;
		r->cap = cap;
	}
	memmove(&r->sorted[pos + 1], &r->sorted[pos], (r->n - pos) * sizeof(*r->sorted));
	r->sorted[pos] = e;
	r->n++;
	return 0;
}

static struct reg_entry *entry_new(const char *spiffe_id)
{
	struct reg_entry *e = calloc(1, sizeof(*e));

	if (e)
		e->spiffe_id = strdup(spiffe_id);
	if (e && !e->spiffe_id) {
		free(e);
		e = NULL;
	}
	return e;
}

/* Fast path: a free probe 0 is what the rule gives, and nobody else moves. */
static int try_free_probe0(struct ident_registry *r, struct reg_entry *e)
{
	struct reg_entry **slot;
	int ret;

	if (ident_numeric_id_probe(e->spiffe_id, 0, &e->id))
		return -EINVAL;
	if (2 * (r->n + 1) + 2 > r->table_mask + 1 || !r->table)
		return 1; /* table must grow: take the slow path */
	slot = table_find(r, e->id);
	ret = *slot ? 1 : 0;
	if (!ret)
		*slot = e;
	return ret;
}

/* See ident_registry.h. */
int ident_registry_add(struct ident_registry *r, const char *spiffe_id, uint32_t *id,
		       ident_registry_moved_fn moved, void *ctx)
{
	struct reg_entry *e;
	unsigned int pos;
	int found, ret;

	if (!ident_spiffe_id_valid(spiffe_id))
		return -EINVAL;
	pos = search(r, spiffe_id, &found);
	if (found) {
		*id = r->sorted[pos]->id;
		return 0;
	}
	e = entry_new(spiffe_id);
	if (!e)
		return -ENOMEM;
	ret = try_free_probe0(r, e);
	if (ret < 0)
		goto err_free;
	if (insert_sorted(r, pos, e)) {
		ret = -ENOMEM;
		goto err_unplace;
	}
	if (ret == 1)
		ret = reassign(r, e, moved, ctx);
	*id = e->id;
	return ret;
err_unplace:
	reassign(r, NULL, NULL, NULL); /* drops e from the table: it is not in sorted */
err_free:
	free(e->spiffe_id);
	free(e);
	return ret;
}

/* See ident_registry.h. */
int ident_registry_remove(struct ident_registry *r, const char *spiffe_id,
			  ident_registry_moved_fn moved, void *ctx)
{
	struct reg_entry *e;
	unsigned int pos;
	int found;

	pos = search(r, spiffe_id, &found);
	if (!found)
		return -ENOENT;
	e = r->sorted[pos];
	memmove(&r->sorted[pos], &r->sorted[pos + 1], (r->n - pos - 1) * sizeof(*r->sorted));
	r->n--;
	free(e->spiffe_id);
	free(e);
	/* rebuilding the table also re-runs the rule: with no collision nothing moves */
	return reassign(r, NULL, moved, ctx);
}

/* See ident_registry.h. */
int ident_registry_lookup(const struct ident_registry *r, const char *spiffe_id, uint32_t *id)
{
	unsigned int pos;
	int found;

	pos = search(r, spiffe_id, &found);
	if (!found)
		return -ENOENT;
	*id = r->sorted[pos]->id;
	return 0;
}

/* See ident_registry.h. */
const char *ident_registry_owner(const struct ident_registry *r, uint32_t id)
{
	struct reg_entry **slot = table_find(r, id);

	return slot && *slot ? (*slot)->spiffe_id : NULL;
}

/* See ident_registry.h. */
unsigned int ident_registry_collisions(const struct ident_registry *r)
{
	unsigned int i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->sorted[i]->probe != 0;
	return n;
}

/* See ident_registry.h. */
unsigned int ident_registry_count(const struct ident_registry *r)
{
	return r->n;
}
