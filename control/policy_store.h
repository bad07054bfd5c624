/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The loaded policy's sources, kept in STATE_DIR/policy/ so that `policy
 * show`, `policy check` and `observe` judge and name by what the kernel
 * enforces. Replaced as a whole with a directory rename after each load.
 */
#ifndef BM_POLICY_STORE_H
#define BM_POLICY_STORE_H

#include <stddef.h>

#include "policy_model.h"

/* One input document set: its display name ("-" for stdin) and its bytes. */
struct policy_source {
	char *name;
	char *data;
	size_t len;
};

struct policy_sources {
	struct policy_source *items;
	size_t n;
};

/* Read FILE or "-" (stdin) into srcs. Returns 0 or -errno (logged). */
int policy_sources_read(struct policy_sources *srcs, const char *path);

/* Free all sources. NULL-safe. */
void policy_sources_free(struct policy_sources *srcs);

/*
 * Make srcs (and the identity names of m, and the node name the model was
 * built for) the stored current policy, replacing the previous one with a
 * rename. m NULL: the names are left as they are (callers that install a
 * generation publish them first with id_names_publish(), so that events of
 * the new generation are named at once). Returns 0 or -errno.
 */
int policy_store_save(const char *state_dir, const struct policy_sources *srcs,
		      const struct pm_model *m, const char *node);

/*
 * Read the stored current policy into srcs and its node name into *node
 * (caller frees); -ENOENT when none was loaded.
 */
int policy_store_load(const char *state_dir, struct policy_sources *srcs, char **node);

/*
 * Parse every source into a fresh model, all or nothing, for this node
 * (endpoints whose nodeName is absent or equals node are local). Every
 * diagnostic (errors with file:line:column and field, warnings) goes to
 * stderr. Returns 0 and *out (caller frees), or -EINVAL/-ENOMEM.
 */
int policy_sources_model(const struct policy_sources *srcs, const char *node,
			 struct pm_model **out);

/* Create dir (and parents) 0700 and refuse it if group/others can write. */
int policy_store_prepare_dir(const char *dir);

#endif /* BM_POLICY_STORE_H */
