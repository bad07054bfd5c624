/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Values larger than one bus message (a 100k-endpoint policy is ~37 MB;
 * NATS servers default to a 1 MiB max_payload): the bytes go into the
 * bpfmesh-blobs bucket as parts of BUS_BLOB_PART bytes under keys
 * "<id>.<index>", and the small descriptor
 *
 *   {"id": "<16 hex>", "parts": N, "len": BYTES, "blake2b": "<64 hex>"}
 *
 * travels in the watched message instead. Parts are written before the
 * message that names them, so a reader that sees a descriptor finds every
 * part; the BLAKE2b-256 of the whole (libsodium) catches parts that were
 * replaced or mixed up. A blob is dropped once a newer one superseded it.
 */
#ifndef BM_BUS_BLOB_H
#define BM_BUS_BLOB_H

#include <stddef.h>

#include <jansson.h>

#include "bus.h"

#define BUS_BLOB_PART (512u << 10)
#define BUS_BLOB_MAX (64u << 20) /* the largest manifest input, yaml_json.c */

/*
 * Store len bytes of data as a new blob; *desc gets its descriptor (caller
 * decrefs). Returns 0, -EFBIG over BUS_BLOB_MAX, or -errno of the bus (parts
 * already written are purged again).
 */
int bus_blob_put(struct bus *b, const void *data, size_t len, json_t **desc);

/*
 * Read the blob desc names: *data (malloc()ed, NUL-terminated; caller frees)
 * and *len. Returns 0, -EINVAL for a malformed descriptor, -ENOENT when a
 * part is gone (superseded meanwhile), -EBADMSG when the length or the hash
 * does not match, or -errno of the bus.
 */
int bus_blob_get(struct bus *b, const json_t *desc, char **data, size_t *len);

/* Purge every part of the blob desc names (best effort; NULL or malformed: nothing). */
void bus_blob_drop(struct bus *b, const json_t *desc);

#endif /* BM_BUS_BLOB_H */
