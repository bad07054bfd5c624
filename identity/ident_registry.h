/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Collision-free numeric identities for a set of SPIFFE IDs.
 *
 * ident_numeric_id() folds a hash to 32 bits, so two SPIFFE IDs can share a
 * number (about 1 % odds with 10 000 identities). The registry resolves that
 * with a rule that depends only on the set of IDs, never on the order nodes
 * learned them, so every node holding the same set assigns the same numbers:
 *
 *   Walk the IDs in ascending byte order (strcmp); each takes the first of
 *   its probes 0, 1, 2, ... (ident_numeric_id_probe) no earlier ID holds.
 *
 * Without collisions every ID keeps probe 0, its plain ident_numeric_id().
 * An addition or removal that touches a collision can move other IDs; each
 * move is reported through the moved callback so the caller can rewrite the
 * maps keyed by the old number. Not thread-safe.
 */
#ifndef BM_IDENT_REGISTRY_H
#define BM_IDENT_REGISTRY_H

#include <stdint.h>

#define IDENT_REGISTRY_MAX_PROBES 16

struct ident_registry;

typedef void (*ident_registry_moved_fn)(void *ctx, const char *spiffe_id, uint32_t old_id,
					uint32_t new_id);

/* An empty registry; NULL with errno ENOMEM. Free with ident_registry_free. */
struct ident_registry *ident_registry_new(void);

/* Free r and its copies of the IDs. NULL-safe. */
void ident_registry_free(struct ident_registry *r);

/*
 * Add spiffe_id (no-op if present) and return its number in *id. Other IDs
 * that move are reported through moved (may be NULL). Returns 0, -EINVAL
 * (not a SPIFFE ID), -ENOMEM or -ENOSPC (every probe taken).
 */
int ident_registry_add(struct ident_registry *r, const char *spiffe_id, uint32_t *id,
		       ident_registry_moved_fn moved, void *ctx);

/* Remove spiffe_id, reporting moves as above. Returns 0, -ENOENT or -ENOMEM. */
int ident_registry_remove(struct ident_registry *r, const char *spiffe_id,
			  ident_registry_moved_fn moved, void *ctx);

/* The number of spiffe_id. Returns 0 or -ENOENT. */
int ident_registry_lookup(const struct ident_registry *r, const char *spiffe_id, uint32_t *id);

/* The SPIFFE ID holding number id, or NULL. Owned by r. */
const char *ident_registry_owner(const struct ident_registry *r, uint32_t id);

/* How many IDs hold a probe other than 0 (collisions being resolved). */
unsigned int ident_registry_collisions(const struct ident_registry *r);

/* How many IDs r holds. */
unsigned int ident_registry_count(const struct ident_registry *r);

#endif /* BM_IDENT_REGISTRY_H */
