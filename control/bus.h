/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The publish-subscribe bus (NATS through libnats): a connection that keeps
 * reconnecting with backoff, an optional supervised local nats-server with
 * JetStream, core-subject publish/subscribe and the JetStream KV buckets of
 * docs/topics.md, each watched by a thread that replays the bucket first.
 *
 * Callbacks run on libnats or watcher threads, never on the caller's: the
 * agent queues what they deliver and applies it on its own thread.
 */
#ifndef BM_BUS_H
#define BM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BUS_SCHEMA 1 /* every message body: {"schema": 1, ...} */
#define BUS_MAX_PAYLOAD (64u << 20) /* the supervised server's max_payload */

enum bus_bucket {
	BUS_BUCKET_POLICY, /* bpfmesh-policy: key "current", revision = KV revision */
	BUS_BUCKET_ENDPOINTS, /* bpfmesh-endpoints: key "<ns>.<name>" */
	BUS_BUCKET_REVOKED, /* bpfmesh-revoked: key "id.<numeric identity>" */
	BUS_BUCKET_WORKLOADS, /* bpfmesh-workloads: key "<ns>.<kind>.<name>" */
	BUS_BUCKET_CLAIMS, /* bpfmesh-claims: key "sts.<ns>.<name>.<ordinal>" */
	BUS_BUCKET_NR, /* the watched buckets end here */
	/* bpfmesh-blobs: parts of values too large for one message (bus_blob.h); not watched */
	BUS_BUCKET_BLOBS = BUS_BUCKET_NR,
	BUS_BUCKET_ALL,
};

struct bus_config {
	const char *urls; /* "nats://h:p[,nats://h:p]"; NULL: supervise a local nats-server */
	const char *state_dir; /* the local server keeps its JetStream data in STATE/nats */
	const char *name; /* connection name (the node) */
	unsigned int local_port; /* local server port; 0: a free one */
	unsigned int max_backoff_ms; /* reconnect backoff cap; 0: 2000 */
};

/* One KV change. key NULL: the bucket's replay is complete (then rev is 0). */
struct bus_kv_event {
	enum bus_bucket bucket;
	const char *key;
	uint64_t rev;
	bool is_delete;
	const void *data;
	size_t len;
};

typedef void (*bus_kv_fn)(void *ctx, const struct bus_kv_event *ev);
typedef void (*bus_msg_fn)(void *ctx, const char *subject, const void *data, size_t len);
typedef void (*bus_state_fn)(void *ctx, bool is_connected);

struct bus;

/*
 * Open the bus: start the local server when cfg->urls is NULL (waiting until
 * it accepts), then connect. If the servers are unreachable the bus still
 * opens and keeps retrying in the background; state_fn (may be NULL) hears
 * every connect and disconnect. Returns 0 and *out (free with bus_close) or
 * -errno (-ENOENT: no nats-server binary, -ETIMEDOUT: it never accepted).
 */
int bus_open(const struct bus_config *cfg, bus_state_fn state_fn, void *ctx, struct bus **out);

/* Stop watchers, close the connection, stop a supervised server. NULL-safe. */
void bus_close(struct bus *b);

/* Is the connection up right now? (false for NULL) */
bool bus_is_connected(struct bus *b);

/* The reconnect backoff's cap in ms (a peer reconnects at most this long after us). */
unsigned int bus_max_backoff_ms(const struct bus *b);

/* The server URL(s) in use. Owned by b. */
const char *bus_urls(const struct bus *b);

/*
 * Make the KV buckets exist and (re)start one watcher per bucket, each
 * replaying the current values then following changes into fn. Call again
 * after a reconnect: old watchers stop first, the replay repeats (consumers
 * must be idempotent). Returns 0 or -errno (-ENOTCONN while disconnected).
 */
int bus_watch(struct bus *b, bus_kv_fn fn, void *ctx);

#define BUS_MAX_KEY_PATTERNS 24
#define BUS_MAX_WATCHES (BUS_BUCKET_NR + 2 * BUS_MAX_KEY_PATTERNS)

/*
 * From the next bus_watch() on, watch only the keys of bucket that match
 * one of the n patterns (NATS subject wildcards: "*" one token, ">" the
 * rest), one watcher each; n = 0: every key (the default). The bucket's
 * end-of-replay marker goes out once every one of its watchers replayed.
 * Patterns should not overlap (a key matching two arrives twice). Returns
 * 0 or -errno (-EINVAL: more than BUS_MAX_KEY_PATTERNS; nothing changed).
 */
int bus_set_watch_keys(struct bus *b, enum bus_bucket bucket, const char *const *patterns,
		       size_t n);

/*
 * Subscribe to a core subject (wildcards allowed). On return the server has
 * registered the interest (a round trip, at most 2 s): every message
 * published after that reaches fn. Returns 0 or -errno (-ETIMEDOUT when the
 * server did not confirm; the subscription stays and may still start).
 */
int bus_subscribe(struct bus *b, const char *subject, bus_msg_fn fn, void *ctx);

/* Publish on a core subject (fire and forget). Returns 0 or -errno. */
int bus_publish(struct bus *b, const char *subject, const void *data, size_t len);

/*
 * Put a value into a bucket, or delete the key when data is NULL. *rev (may
 * be NULL) gets the new KV revision. Returns 0 or -errno.
 */
int bus_kv_put(struct bus *b, enum bus_bucket bucket, const char *key, const void *data, size_t len,
	       uint64_t *rev);

/*
 * Compare-and-set: put data under key only if the key's last revision is
 * last_rev (0: only if the key does not exist or was deleted). *rev (may be
 * NULL) gets the new revision. Returns 0, -ESTALE when the key moved on
 * (someone else wrote first), or another -errno.
 */
int bus_kv_cas(struct bus *b, enum bus_bucket bucket, const char *key, const void *data, size_t len,
	       uint64_t last_rev, uint64_t *rev);

/*
 * Read a key's current value: *data (malloc()ed, NUL-terminated for
 * convenience; the caller frees) and *len; *rev (may be NULL) its revision.
 * Returns 0, -ENOENT (no such key, or deleted) or -errno.
 */
int bus_kv_get(struct bus *b, enum bus_bucket bucket, const char *key, char **data, size_t *len,
	       uint64_t *rev);

/* Remove a key and its history (a purge marker stays). Returns 0 or -errno. */
int bus_kv_purge(struct bus *b, enum bus_bucket bucket, const char *key);

/*
 * The live keys of bucket matching pattern (subject wildcards: "*" one
 * token, ">" the rest), asked of the server (stream subjects, then a get
 * per key: a deleted key's marker does not count). *keys (free with
 * bus_kv_keys_free) holds *n keys. Returns 0 or -errno.
 */
int bus_kv_keys(struct bus *b, enum bus_bucket bucket, const char *pattern, char ***keys,
		size_t *n);

/* Free what bus_kv_keys() gave. NULL-safe. */
void bus_kv_keys_free(char **keys, size_t n);

/* The bucket's name ("bpfmesh-policy"...), or NULL. */
const char *bus_bucket_name(enum bus_bucket bucket);

/* Is text a valid KV key / subject token ([A-Za-z0-9_-=.] only, not empty)? */
bool bus_is_valid_key(const char *text);

#endif /* BM_BUS_H */
