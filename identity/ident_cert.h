/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Identity documents: a chain of Ed25519 certificates, leaf first, ending in
 * one signed by the trust domain's root key. A workload document is
 * [workload cert, node cert]; a node document is [node cert]. The binary
 * encoding (big-endian, versioned, exact length) is specified in
 * docs/identity.md; decoders accept nothing else.
 */
#ifndef BM_IDENT_CERT_H
#define BM_IDENT_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "ident_crl.h"
#include "ident_trust.h"

#define IDENT_DOC_MAGIC "BMID"
#define IDENT_DOC_VERSION 1
#define IDENT_CHAIN_MAX 2
#define IDENT_SUBJECT_MAX 512
#define IDENT_CERT_FIXED_LEN 92 /* everything but subject and signature */
#define IDENT_CERT_MAX_LEN (IDENT_CERT_FIXED_LEN + IDENT_SUBJECT_MAX + crypto_sign_BYTES)
#define IDENT_DOC_MAX_LEN (8 + IDENT_CHAIN_MAX * IDENT_CERT_MAX_LEN)
#define IDENT_DEFAULT_SKEW_S 60 /* allowed clock difference between nodes */

enum ident_kind {
	IDENT_KIND_NODE = 1, /* may issue workload certificates */
	IDENT_KIND_WORKLOAD = 2, /* may issue nothing */
};

struct ident_cert {
	uint32_t kind; /* enum ident_kind */
	uint64_t serial; /* random, unique in the trust domain, never 0 */
	int64_t not_before; /* unix seconds, inclusive */
	int64_t not_after; /* unix seconds, exclusive */
	uint8_t public_key[crypto_sign_PUBLICKEYBYTES];
	uint8_t issuer_key[crypto_sign_PUBLICKEYBYTES];
	char subject[IDENT_SUBJECT_MAX + 1]; /* SPIFFE ID */
	uint8_t signature[crypto_sign_BYTES];
};

struct ident_doc {
	unsigned int n_certs;
	struct ident_cert certs[IDENT_CHAIN_MAX]; /* [0] is the leaf */
};

/*
 * Remembers which (certificate, issuer key) signatures already verified, so
 * a peer presenting the same chain again costs no Ed25519 verification.
 * Only the signature check is cached; validity windows and revocation are
 * checked every time. Not thread-safe: one per thread or per context.
 */
struct ident_vcache {
	uint8_t slot[256][crypto_generichash_BYTES];
	uint64_t hits, misses;
};

/*
 * Fill c's issuer_key from issuer_sk (64-byte Ed25519 secret key) and sign
 * it. c's other fields must be set. Returns 0, -EINVAL (subject too long or
 * invalid, bad window) or -EBADMSG.
 */
int ident_cert_sign(struct ident_cert *c, const uint8_t *issuer_sk);

/*
 * Encode d into buf (cap bytes). Returns 0 and *len, -ENOSPC or -EINVAL
 * (empty or too long chain, oversize subject).
 */
int ident_doc_encode(const struct ident_doc *d, uint8_t *buf, size_t cap, size_t *len);

/*
 * Decode a document. Strict: exact length, known version and kinds, zero
 * reserved fields, valid SPIFFE subjects, not_before < not_after. Checks no
 * signature (see ident_doc_verify). Returns 0 or -EBADMSG.
 */
int ident_doc_decode(const uint8_t *buf, size_t len, struct ident_doc *d);

/*
 * Verify d at time now (unix seconds): every signature up the chain to
 * t's root key, issuer linkage, kinds (workload <- node <- root), every
 * subject in t's domain, every validity window widened by skew_s seconds,
 * and no serial of the chain in crl (NULL: none revoked). cache may be NULL.
 * Returns 0 or -EPROTO (bad chain shape), -EXDEV (foreign trust domain),
 * -ENOKEY (issuer not linked to the root), -EKEYREJECTED (bad signature),
 * -ETIME (not yet valid), -EKEYEXPIRED, -EKEYREVOKED. See ident_verify_reason.
 */
int ident_doc_verify(const struct ident_doc *d, const struct ident_trust *t,
		     const struct ident_crl *crl, int64_t now, int64_t skew_s,
		     struct ident_vcache *cache);

/* A short human-readable reason for an ident_doc_verify result. Cannot fail. */
const char *ident_verify_reason(int err);

/* Is err one of the verification verdicts above (not an I/O or memory error)? */
int ident_verify_is_verdict(int err);

/* The earliest not_after in the chain: when the document stops being valid. */
int64_t ident_doc_not_after(const struct ident_doc *d);

/* A random serial (never 0). Cannot fail once sodium_init() succeeded. */
uint64_t ident_new_serial(void);

#endif /* BM_IDENT_CERT_H */
