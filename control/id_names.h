/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names of numeric identities for display: the reserved ones, plus the
 * SPIFFE IDs of the endpoints of the loaded policy, which `policy load`
 * records in STATE_DIR/identities.tsv ("sec_id<TAB>spiffe-id" per line).
 */
#ifndef BM_ID_NAMES_H
#define BM_ID_NAMES_H

#include <stdint.h>

#include "policy_model.h"

struct id_names;

/* Load the table; never fails (a missing file gives only reserved names). */
struct id_names *id_names_load(const char *state_dir);

/* The name of id: SPIFFE ID, "host", "world" or "id:N". Valid until id_names_free. */
const char *id_names_get(const struct id_names *names, uint32_t id);

/* NULL-safe. */
void id_names_free(struct id_names *names);

/* Write STATE_DIR/identities.tsv.new for model m; returns 0 or -errno. */
int id_names_write(const char *path, const struct pm_model *m);

/*
 * Replace STATE_DIR/identities.tsv with m's names (write + rename). Callers
 * do it before the kernel enforces m, so that a reader that sees an event
 * of the new generation finds its names already there. Returns 0 or -errno.
 */
int id_names_publish(const char *state_dir, const struct pm_model *m);

#endif /* BM_ID_NAMES_H */
