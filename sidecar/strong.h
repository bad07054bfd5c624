/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Strong consistency over a JetStream key-value bucket (the KV_<bucket>
 * stream, one message per key): ETag = the key's stream sequence (its KV
 * revision); writes are acknowledged by the stream leader after a quorum of
 * replicas stored them; conditional writes publish expecting the stream's
 * last sequence, so compare-and-set is decided by the leader in log order;
 * reads go to the stream leader (no AllowDirect) and are confirmed by a
 * read barrier; transactions commit as one record and are rolled forward
 * (strong_txn.c). docs/sidecar.md states what this does and does not
 * guarantee.
 */
#ifndef BM_SC_STRONG_H
#define BM_SC_STRONG_H

#include <nats/nats.h>

#include "store.h"

/*
 * Make (or reuse) the bucket on nc with replicas copies (1..5) and fill out.
 * nc stays owned by the caller and must outlive the store. Returns 0 or
 * -errno (-ENOTCONN: JetStream not reachable).
 */
int strong_open(natsConnection *nc, const char *bucket, int replicas, struct store *out);

#endif /* BM_SC_STRONG_H */
