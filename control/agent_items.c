// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's keyed items (endpoints, revocations): an array in arrival
 * order and an open-addressing index, so that replaying 100k keys costs
 * O(n), not O(n^2).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"

#define SLOT_DELETED SIZE_MAX

static size_t hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)h;
}

/* The slot holding key, or the first empty slot where it would go. */
static size_t *slot_of(const struct agent_items *items, const char *key)
{
	size_t mask = items->n_slots - 1, i = hash(key) & mask, *s;

	for (;; i = (i + 1) & mask) {
		s = &items->slots[i];
		if (!*s)
			return s;
		if (*s != SLOT_DELETED && !strcmp(items->v[*s - 1].key, key))
			return s;
	}
}

static int reindex(struct agent_items *items, size_t n_slots)
{
	size_t *slots = calloc(n_slots, sizeof(*slots)), i;

	if (!slots)
		return -ENOMEM;
	free(items->slots);
	items->slots = slots;
	items->n_slots = n_slots;
	items->n_used = items->n;
	for (i = 0; i < items->n; i++)
		*slot_of(items, items->v[i].key) = i + 1;
	return 0;
}

/* See agent_priv.h. */
struct agent_item *agent_items_find(const struct agent_items *items, const char *key)
{
	size_t *s;

	if (!items->n_slots)
		return NULL;
	s = slot_of(items, key);
	return *s ? &items->v[*s - 1] : NULL;
}

static void free_item(struct agent_item *it)
{
	free(it->key);
	free(it->doc);
	free(it->identity);
}

/* See agent_priv.h. */
int agent_items_put(struct agent_items *items, struct agent_item *it)
{
	struct agent_item *old = agent_items_find(items, it->key), *v;
	size_t cap;

	if (old) {
		free_item(old);
		*old = *it;
		return 0;
	}
	/* Keep the index at most half full (deleted slots count). */
	if (2 * (items->n_used + 1) > items->n_slots &&
	    reindex(items, items->n_slots ? 2 * items->n_slots : 64))
		return -ENOMEM;
	if (items->n == items->cap) {
		cap = items->cap ? items->cap * 2 : 16;
		v = realloc(items->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		items->v = v;
		items->cap = cap;
	}
	items->v[items->n] = *it;
	*slot_of(items, it->key) = ++items->n;
	items->n_used++;
	return 0;
}

/* See agent_priv.h. */
void agent_items_remove(struct agent_items *items, const char *key)
{
	size_t *s, idx, last;

	if (!items->n_slots)
		return;
	s = slot_of(items, key);
	if (!*s)
		return;
	idx = *s - 1;
	last = items->n - 1;
	*s = SLOT_DELETED;
	free_item(&items->v[idx]);
	/* Move the last item into the hole and point its slot there. */
	if (idx != last) {
		items->v[idx] = items->v[last];
		*slot_of(items, items->v[idx].key) = idx + 1;
	}
	items->n--;
}

/* See agent_priv.h. */
void agent_items_clear(struct agent_items *items)
{
	size_t i;

	for (i = 0; i < items->n; i++)
		free_item(&items->v[i]);
	free(items->v);
	free(items->slots);
	memset(items, 0, sizeof(*items));
}
