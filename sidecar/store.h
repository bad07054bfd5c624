/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One state store as the Dapr API sees it: get with an ETag, conditional
 * writes and deletes. Two implementations: strong (JetStream KV, strong.c)
 * and eventual (local copy + HLC last-writer-wins replication, eventual.c).
 *
 * Errors every implementation uses: -ENOENT no such key, -EINVAL malformed
 * ETag, -ECANCELED ETag mismatch (or first-write on an existing key),
 * -ETIMEDOUT / -ENOTCONN the bus did not answer, -EIO anything else.
 */
#ifndef BM_SC_STORE_H
#define BM_SC_STORE_H

#include <stdbool.h>
#include <stddef.h>

#define STORE_ETAG_MAX 32
/* Largest serialized value: under NATS's default 1 MiB max_payload with room for headers. */
#define STORE_VALUE_MAX (900u << 10)

/* One save or delete. */
struct store_write {
	const char *key;
	const char *value; /* NULL: delete */
	size_t len;
	const char *etag; /* NULL or "": unconditional (unless is_first_write) */
	bool is_first_write; /* Dapr concurrency first-write */
	bool is_strong; /* Dapr consistency strong requested for this item */
};

struct store_ops {
	/*
	 * *val is malloc()ed (NUL-terminated) for the caller; etag gets the
	 * item's ETag. is_strong: the read must be linearizable (the strong
	 * store confirms it with a read barrier; the eventual store reads
	 * locally either way).
	 */
	int (*get)(void *impl, const char *key, bool is_strong, char **val, size_t *len,
		   char etag[STORE_ETAG_MAX]);
	/* etag (may be NULL) gets the new ETag of a save. */
	int (*write)(void *impl, const struct store_write *w, char etag[STORE_ETAG_MAX]);
	/*
	 * Apply ws[0..n) atomically (all or nothing, conditions checked against
	 * one state); *bad gets the index of the operation an error is about.
	 * NULL: the store applies a transaction's operations one by one.
	 */
	int (*txn)(void *impl, const struct store_write *ws, size_t n, size_t *bad);
	void (*close)(void *impl);
	const char *mode; /* "strong" or "eventual" */
};

struct store {
	const struct store_ops *ops;
	void *impl;
	char name[64]; /* the Dapr component name ("statestore") */
};

/*
 * Encode a Dapr key as one NATS subject token / KV key: [A-Za-z0-9_-] pass,
 * every other byte becomes "=XX" (upper-case hex). Returns 0, -EINVAL for an
 * empty key, or -ENAMETOOLONG when out (size bytes) is too small.
 */
int store_key_encode(const char *key, char *out, size_t size);

/* Decode what store_key_encode() wrote. Returns 0 or -EINVAL. */
int store_key_decode(const char *enc, char *out, size_t size);

/*
 * A bucket/stream-safe name ([A-Za-z0-9_-], others become '_') of at most
 * size-1 bytes. Cannot fail.
 */
void store_safe_name(const char *in, char *out, size_t size);

/*
 * Parse an ETag: a decimal number 1..2^64-1 in both stores (a KV revision,
 * or an HLC timestamp). Returns 0 or -EINVAL.
 */
int store_etag_parse(const char *etag, unsigned long long *out);
#endif /* BM_SC_STORE_H */
