// SPDX-License-Identifier: GPL-2.0-only
/* A string table: distinct strings to dense ids (see policy_strtab.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_strtab.h"

#define CHUNK_SIZE 65536

struct strtab_ent {
	const char *s;
	uint32_t len;
	uint32_t hash;
};

/* The copies live in chunks; a string longer than a chunk gets its own. */
struct strtab_chunk {
	struct strtab_chunk *next;
	size_t used;
	size_t size;
	char data[];
};

struct pm_strtab {
	struct strtab_ent *ents; /* by id; ents[0] unused */
	uint32_t n; /* ids in use */
	uint32_t cap_ents;
	uint32_t *slots; /* open addressing: an id, or 0 for empty */
	uint32_t cap_slots; /* a power of two, at least twice n */
	struct strtab_chunk *chunks;
};

/* See policy_strtab.h. */
struct pm_strtab *pm_strtab_new(void)
{
	struct pm_strtab *t = calloc(1, sizeof(*t));

	if (!t)
		errno = ENOMEM;
	return t;
}

/* See policy_strtab.h. */
void pm_strtab_free(struct pm_strtab *t)
{
	struct strtab_chunk *c, *next;

	if (!t)
		return;
	for (c = t->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(t->ents);
	free(t->slots);
	free(t);
}

/* Eight bytes at a time; a string's hash only decides where it is probed. */
static uint32_t str_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL, w;

	for (; len >= 8; len -= 8, s += 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	w = (uint64_t)len << 56;
	memcpy(&w, s, len);
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t lookup(const struct pm_strtab *t, const char *s, size_t len, uint32_t h,
		       uint32_t *slot)
{
	const struct strtab_ent *e;
	uint32_t j, id;

	for (j = h & (t->cap_slots - 1); (id = t->slots[j]); j = (j + 1) & (t->cap_slots - 1)) {
		e = &t->ents[id];
		if (e->hash == h && e->len == len && !memcmp(e->s, s, len))
			break;
	}
	*slot = j;
	return id;
}

static int grow_slots(struct pm_strtab *t)
{
	uint32_t cap = t->cap_slots ? t->cap_slots * 2 : 1024, *slots, id, j;

	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (id = 1; id <= t->n; id++) {
		for (j = t->ents[id].hash & (cap - 1); slots[j]; j = (j + 1) & (cap - 1))
			;
		slots[j] = id;
	}
	free(t->slots);
	t->slots = slots;
	t->cap_slots = cap;
	return 0;
}

/* A copy of s (len bytes and a NUL) in the chunks. */
static const char *copy_str(struct pm_strtab *t, const char *s, size_t len)
{
	struct strtab_chunk *c = t->chunks;
	size_t size;
	char *p;

	if (!c || c->size - c->used < len + 1) {
		size = len + 1 > CHUNK_SIZE ? len + 1 : CHUNK_SIZE;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = t->chunks;
		t->chunks = c;
	}
	p = c->data + c->used;
	memcpy(p, s, len);
	p[len] = '\0';
	c->used += len + 1;
	return p;
}

static int add_ent(struct pm_strtab *t, const char *s, size_t len, uint32_t h)
{
	struct strtab_ent *ents;
	uint32_t cap;

	if (t->n + 1 >= t->cap_ents) {
		cap = t->cap_ents ? t->cap_ents * 2 : 256;
		ents = realloc(t->ents, cap * sizeof(*ents));
		if (!ents)
			return -ENOMEM;
		t->ents = ents;
		t->cap_ents = cap;
	}
	t->ents[t->n + 1].s = copy_str(t, s, len);
	if (!t->ents[t->n + 1].s)
		return -ENOMEM;
	t->ents[t->n + 1].len = (uint32_t)len;
	t->ents[t->n + 1].hash = h;
	t->n++;
	return 0;
}

/* See policy_strtab.h. */
uint32_t pm_strtab_intern(struct pm_strtab *t, const char *s)
{
	size_t len = strlen(s);
	uint32_t h = str_hash(s, len), slot, id;

	if (len > UINT32_MAX - 1)
		return 0;
	if (2 * (t->n + 1) > t->cap_slots && grow_slots(t))
		return 0;
	id = lookup(t, s, len, h, &slot);
	if (id)
		return id;
	if (add_ent(t, s, len, h))
		return 0;
	t->slots[slot] = t->n;
	return t->n;
}

/* See policy_strtab.h. */
uint32_t pm_strtab_find(const struct pm_strtab *t, const char *s)
{
	size_t len = strlen(s);
	uint32_t slot;

	if (!t->cap_slots)
		return 0;
	return lookup(t, s, len, str_hash(s, len), &slot);
}

/* See policy_strtab.h. */
const char *pm_strtab_str(const struct pm_strtab *t, uint32_t id)
{
	return id && id <= t->n ? t->ents[id].s : NULL;
}

/* See policy_strtab.h. */
uint32_t pm_strtab_count(const struct pm_strtab *t)
{
	return t->n;
}
