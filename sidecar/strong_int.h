/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals shared by strong.c (the store operations) and strong_txn.c (the
 * bucket's control subject: atomic transactions and read barriers). Not for
 * use outside these two files.
 *
 * The control subject "$KV.<bucket>.bm.ctl" has two tokens after the
 * prefix, which no encoded key has (store_key_encode() turns '.' into =2E),
 * so no Dapr key can reach it. Its last message (the stream keeps one per
 * subject) is either a pending transaction record (header Bm-Ctl: txn) or
 * an idle marker (Bm-Ctl: idle; also what a read barrier writes).
 */
#ifndef BM_SC_STRONG_INT_H
#define BM_SC_STRONG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <nats/nats.h>

#include "store.h"

#define STRONG_WAIT_MS 5000
#define STRONG_KEY_MAX 1024
#define STRONG_TRIES 200 /* attempts of an operation that lost a race to another writer */
#define STRONG_CTL_TOKEN "bm.ctl"
#define STRONG_CTL_HDR "Bm-Ctl"
#define STRONG_NAME_MAX 64 /* a server name */

struct strong {
	jsCtx *js;
	char stream[160];
	char prefix[160]; /* "$KV.<bucket>." */
	char ctl[200]; /* "$KV.<bucket>.bm.ctl" */
};

/* Map a libnats status (and JetStream error code) to -errno; cannot fail. */
int strong_map_status(natsStatus s, jsErrCode jerr);

/*
 * The last message on subj through STREAM.MSG.GET, which only the stream
 * leader answers. Returns 0 with *m (caller destroys), -ENOENT or -errno.
 */
int strong_last_msg(struct strong *st, const char *subj, natsMsg **m);

/*
 * The stream's last sequence and, when leader is not NULL, the name of the
 * server leading it ("" when not clustered). Returns 0 or -errno.
 */
int strong_stream_last_seq(struct strong *st, uint64_t *seq, char leader[STRONG_NAME_MAX]);

/*
 * The revision of subj's last message (0 when it never existed); *is_live
 * is false for a tombstone or no message. Returns 0 or -errno.
 */
int strong_current_rev(struct strong *st, const char *subj, uint64_t *rev, bool *is_live);

/*
 * Publish m expecting the stream's last sequence to be last (checked by the
 * leader in log order). *seq (may be NULL) gets the stored sequence.
 * Returns 0, -EAGAIN when the stream moved on, or -errno.
 */
int strong_publish_at(struct strong *st, natsMsg *m, uint64_t last, uint64_t *seq);

/*
 * The stream's last sequence at a moment when no transaction is pending:
 * a pending one is rolled forward first (by whoever sees it). A publish
 * expecting *last then succeeds only if nothing, no transaction either, was
 * committed since. leader (may be NULL) gets the server that answered.
 * Returns 0 or -errno (-ETIMEDOUT after STRONG_TRIES).
 */
int strong_settle(struct strong *st, uint64_t *last, char leader[STRONG_NAME_MAX]);

/*
 * A read barrier: an idle marker on the control subject published
 * expecting the stream's last sequence to be last. Success proves, through
 * the Raft log of the current leader, that the bucket did not change after
 * last, so whatever was read from the state at last is current. Returns 0,
 * -EAGAIN (something was written since: read again) or -errno.
 */
int strong_barrier(struct strong *st, uint64_t last);

/*
 * Apply ws[0..n) atomically: every ETag / first-write condition is checked
 * against one state, and either all operations take effect or none.
 * Returns 0, -ECANCELED with *bad the index of a failed condition, -EINVAL
 * (*bad: a malformed ETag), -E2BIG when the record exceeds STORE_VALUE_MAX,
 * -ETIMEDOUT / -ENOTCONN (not committed, or unknown after a timeout).
 */
int strong_txn(void *impl, const struct store_write *ws, size_t n, size_t *bad);

#endif /* BM_SC_STRONG_INT_H */
