/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Revocation lists: a versioned, root-signed, sorted set of revoked serials.
 * Revoking a node's serial cuts off every workload whose chain it is in.
 * Publishing a new list (higher version) is how a revocation takes effect;
 * holders refuse a list older than the one they have. Encoding in
 * docs/identity.md.
 */
#ifndef BM_IDENT_CRL_H
#define BM_IDENT_CRL_H

#include <stddef.h>
#include <stdint.h>

#include "ident_trust.h"

#define IDENT_CRL_MAGIC "BMRL"
#define IDENT_CRL_FORMAT 1
#define IDENT_CRL_MAX_SERIALS (1U << 22)

struct ident_crl {
	uint64_t version; /* monotonic, starts at 1 */
	int64_t issued_at; /* unix seconds */
	uint32_t n;
	uint32_t cap;
	uint64_t *serials; /* ascending, no duplicates; owned */
};

/* An empty list at version 0. Cannot fail. */
void ident_crl_init(struct ident_crl *crl);

/* Free the serials. NULL-safe, idempotent. */
void ident_crl_release(struct ident_crl *crl);

/* Add serial (no-op if present). Returns 0, -ENOMEM or -E2BIG. */
int ident_crl_add(struct ident_crl *crl, uint64_t serial);

/* Is serial revoked? Binary search, O(log n). NULL crl: never. */
int ident_crl_contains(const struct ident_crl *crl, uint64_t serial);

/*
 * Encode and sign crl with the root secret key (64 bytes). *out is malloc'd,
 * owned by the caller. Returns 0, -ENOMEM or -EINVAL.
 */
int ident_crl_sign(const struct ident_crl *crl, const uint8_t *root_sk, uint8_t **out,
		   size_t *out_len);

/*
 * Decode a signed list and check its root signature against t and its order.
 * On success crl owns new storage (release the old one first). Returns 0,
 * -EBADMSG (malformed or unsorted), -EKEYREJECTED (bad signature), -ENOMEM.
 */
int ident_crl_decode(const uint8_t *buf, size_t len, const struct ident_trust *t,
		     struct ident_crl *crl);

/*
 * Adopt a newly received (decoded and verified) list: if incoming->version
 * is greater than held->version, release held, move incoming into it and
 * return 0. Otherwise (a replayed or older list: rollback) release incoming,
 * keep held and return -ESTALE. incoming is empty afterwards either way.
 */
int ident_crl_adopt(struct ident_crl *held, struct ident_crl *incoming);

#endif /* BM_IDENT_CRL_H */
