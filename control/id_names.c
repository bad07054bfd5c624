// SPDX-License-Identifier: GPL-2.0-only
/* Names of numeric identities for display. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <abi/types.h>

#include "id_names.h"

struct id_name {
	uint32_t id;
	char *name;
};

struct id_names {
	struct id_name *items; /* sorted by id */
	size_t n;
	char scratch[32];
};

static int cmp_id(const void *a, const void *b)
{
	const struct id_name *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int add_line(struct id_names *names, const char *line, size_t *cap)
{
	char uri[2100];
	uint32_t id;
	void *grown;

	if (sscanf(line, "%" SCNu32 "\t%2047s", &id, uri) != 2)
		return 0;
	if (names->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		grown = realloc(names->items, *cap * sizeof(*names->items));
		if (!grown)
			return -ENOMEM;
		names->items = grown;
	}
	names->items[names->n].id = id;
	names->items[names->n].name = strdup(uri);
	if (!names->items[names->n].name)
		return -ENOMEM;
	names->n++;
	return 0;
}

/* See id_names.h. */
struct id_names *id_names_load(const char *state_dir)
{
	struct id_names *names = calloc(1, sizeof(*names));
	char path[PATH_MAX], line[2200];
	size_t cap = 0;
	FILE *f;

	if (!names)
		return NULL;
	snprintf(path, sizeof(path), "%s/identities.tsv", state_dir);
	f = fopen(path, "r");
	if (!f)
		return names;
	while (fgets(line, sizeof(line), f)) {
		if (add_line(names, line, &cap))
			break;
	}
	fclose(f);
	if (names->n) /* qsort of a NULL array, even of length 0, is undefined (UBSan) */
		qsort(names->items, names->n, sizeof(*names->items), cmp_id);
	return names;
}

/* See id_names.h. */
const char *id_names_get(const struct id_names *names, uint32_t id)
{
	struct id_name key = {.id = id}, *hit;

	if (id == BM_ID_WORLD)
		return "world";
	if (id == BM_ID_HOST)
		return "host";
	if (names && names->n) {
		hit = bsearch(&key, names->items, names->n, sizeof(key), cmp_id);
		if (hit)
			return hit->name;
	}
	if (!names)
		return "?";
	snprintf(((struct id_names *)names)->scratch, sizeof(names->scratch), "id:%u", id);
	return names->scratch;
}

/* See id_names.h. */
void id_names_free(struct id_names *names)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; i < names->n; i++)
		free(names->items[i].name);
	free(names->items);
	free(names);
}

/* See id_names.h. */
int id_names_write(const char *path, const struct pm_model *m)
{
	FILE *f = fopen(path, "w");
	size_t i;
	int err = 0;

	if (!f)
		return -errno;
	for (i = 0; i < m->n_endpoints; i++) {
		if (m->endpoints[i].identity_uri)
			fprintf(f, "%u\t%s\n", m->endpoints[i].sec_id,
				m->endpoints[i].identity_uri);
	}
	if (fclose(f))
		err = -errno;
	return err;
}

/* See id_names.h. */
int id_names_publish(const char *state_dir, const struct pm_model *m)
{
	char path[PATH_MAX], path_new[PATH_MAX + 8];
	int err;

	snprintf(path, sizeof(path), "%s/identities.tsv", state_dir);
	snprintf(path_new, sizeof(path_new), "%s.new", path);
	err = id_names_write(path_new, m);
	if (!err && rename(path_new, path))
		err = -errno;
	if (err)
		unlink(path_new);
	return err;
}
