/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The replica's current identity, swappable while the sidecar runs: the
 * agent renews the document and sends SIGHUP, the sidecar loads the new
 * one (identity.h) and puts it in place with one pointer swap. Every
 * handshake takes a reference to the identity current when it starts and
 * drops it when done, so handshakes in progress finish with the old one,
 * which is wiped and freed with its last reference. docs/sidecar.md,
 * "Identity reload".
 */
#ifndef BM_SC_IDHOLD_H
#define BM_SC_IDHOLD_H

#include <pthread.h>

#include "identity.h"

/* One loaded identity and its references (the holder's and the users'). */
struct sc_idref {
	struct sc_identity id;
	unsigned int refs; /* under the holder's lock */
	pthread_mutex_t *lock; /* the holder's */
};

struct sc_idhold {
	pthread_mutex_t lock;
	struct sc_idref *cur; /* NULL: none */
};

/* An empty holder. Cannot fail. */
void sc_idhold_init(struct sc_idhold *h);

/*
 * Load an identity (sc_identity_load: the same checks and why) into a new
 * reference of h (not yet current). Returns 0 and *out, or the load's error.
 */
int sc_idhold_load(struct sc_idhold *h, const struct sc_identity_config *cfg, struct sc_idref **out,
		   char *why, size_t why_len);

/*
 * Make next (from sc_idhold_load on h) current; the previous one is
 * released when its last user is done. Cannot fail.
 */
void sc_idhold_swap(struct sc_idhold *h, struct sc_idref *next);

/* A reference to the current identity (NULL: none); sc_idref_put it. */
struct sc_idref *sc_idhold_get(struct sc_idhold *h);

/* Drop a reference; the last one wipes and frees. NULL-safe. */
void sc_idref_put(struct sc_idref *r);

/*
 * The current identity's subject, serial and expiry into the arguments;
 * false when there is none. Cannot fail.
 */
bool sc_idhold_describe(struct sc_idhold *h, char *subject, size_t len, uint64_t *serial,
			int64_t *not_after);

/* Drop the current identity and destroy the lock; no user may remain. */
void sc_idhold_release(struct sc_idhold *h);

#endif /* BM_SC_IDHOLD_H */
