/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Eventual consistency: every replica of a workload keeps the whole
 * keyspace in memory; a write applies locally with a fresh HLC timestamp
 * and is published on bm.ev.<bucket>.put; receivers keep the version that
 * is last by (timestamp, origin). Deletes are tombstones. Anti-entropy: on
 * start and every sync_ms a replica publishes a digest of its state on
 * bm.ev.<bucket>.sync; a replica whose digest differs answers with its full
 * state (batched) to the asker, which merges it. Merging is commutative,
 * associative and idempotent, so replicas that saw the same writes agree.
 * A write with consistency strong is published as a request and acknowledged
 * only when every live peer (heard from within three sync periods) confirmed
 * it merged it.
 */
#ifndef BM_SC_EVENTUAL_H
#define BM_SC_EVENTUAL_H

#include <nats/nats.h>
#include <stdint.h>

#include "store.h"

/*
 * Open the replicated store for bucket as replica (a unique name). nc
 * stays owned by the caller and must outlive the store. With a state_dir
 * (may be NULL) the map is loaded from and snapshotted (every sync period
 * when changed, and at close) to STATE_DIR/eventual-<bucket>.json.
 * Returns 0 or -errno.
 */
int eventual_open(natsConnection *nc, const char *bucket, const char *replica, unsigned int sync_ms,
		  const char *state_dir, struct store *out);

/*
 * The local map without NATS, for tests: merge one version (value NULL =
 * tombstone) and say whether it won. Returns 1 applied, 0 older, -ENOMEM.
 */
struct ev_map;
struct ev_map *ev_map_new(void);
void ev_map_free(struct ev_map *m);
int ev_map_merge(struct ev_map *m, const char *key, const char *value, size_t len, uint64_t ts,
		 const char *origin);
/* Returns 0 with a malloc()ed copy, or -ENOENT (absent or tombstone). */
int ev_map_get(struct ev_map *m, const char *key, char **value, size_t *len, uint64_t *ts);
/* Order-independent digest of every (key, ts, origin), tombstones included. */
uint64_t ev_map_digest(struct ev_map *m);

#endif /* BM_SC_EVENTUAL_H */
