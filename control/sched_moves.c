// SPDX-License-Identifier: GPL-2.0-only
/* Carrying a placement from one membership view to the next, and counting moves. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched_place.h"

static int cmp_name(const void *a, const void *b, void *arg)
{
	const struct sched_view *v = arg;

	return strcmp(v->nodes[*(const uint32_t *)a].name, v->nodes[*(const uint32_t *)b].name);
}

/* Index in v of the node called name, via by_name (v's indices sorted by name); -1 if none. */
static int32_t find_name(const struct sched_view *v, const uint32_t *by_name, const char *name)
{
	size_t lo = 0, hi = v->n, mid;
	int cmp;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		cmp = strcmp(v->nodes[by_name[mid]].name, name);
		if (!cmp)
			return (int32_t)by_name[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static uint32_t *sorted_by_name(const struct sched_view *v)
{
	uint32_t *idx = calloc(v->n ? v->n : 1, sizeof(*idx));
	size_t i;

	if (!idx)
		return NULL;
	for (i = 0; i < v->n; i++)
		idx[i] = (uint32_t)i;
	qsort_r(idx, v->n, sizeof(*idx), cmp_name, (void *)v);
	return idx;
}

/* See sched_place.h. */
int sched_remap(const struct sched_view *old, const int32_t *old_assign, size_t n,
		const struct sched_view *new, int32_t *prev, bool *is_joined)
{
	uint32_t *old_by_name = sorted_by_name(old), *new_by_name = sorted_by_name(new);
	int err = -ENOMEM;
	size_t i;

	if (!old_by_name || !new_by_name)
		goto out;
	for (i = 0; i < n; i++)
		prev[i] = old_assign[i] < 0
				  ? -1
				  : find_name(new, new_by_name, old->nodes[old_assign[i]].name);
	for (i = 0; is_joined && i < new->n; i++)
		is_joined[i] = find_name(old, old_by_name, new->nodes[i].name) < 0;
	err = 0;
out:
	free(old_by_name);
	free(new_by_name);
	return err;
}

/* See sched_place.h. */
size_t sched_moves(const struct sched_view *old, const int32_t *old_assign,
		   const struct sched_view *new, const int32_t *new_assign, size_t n, size_t *moved)
{
	const char *a, *b;
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		a = old_assign[i] >= 0 ? old->nodes[old_assign[i]].name : NULL;
		b = new_assign[i] >= 0 ? new->nodes[new_assign[i]].name : NULL;
		if (!a && !b)
			continue;
		if (a && b && !strcmp(a, b))
			continue;
		if (moved)
			moved[count] = i;
		count++;
	}
	return count;
}
