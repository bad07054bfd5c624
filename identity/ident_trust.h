/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The trust anchor of a trust domain: its name and the root Ed25519 public
 * key. Distributed out of band (file "trust.bundle" in the state directory);
 * every verification starts from it. Encoding in docs/identity.md.
 */
#ifndef BM_IDENT_TRUST_H
#define BM_IDENT_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define IDENT_DOMAIN_MAX 255
#define IDENT_TRUST_MAGIC "BMTA"
#define IDENT_TRUST_VERSION 1
#define IDENT_TRUST_MAX_LEN (8 + crypto_sign_PUBLICKEYBYTES + IDENT_DOMAIN_MAX)

struct ident_trust {
	char domain[IDENT_DOMAIN_MAX + 1];
	uint8_t root_key[crypto_sign_PUBLICKEYBYTES];
};

/*
 * Fill t from a trust domain name and root public key. Returns 0, or -EINVAL
 * if domain is not a valid SPIFFE trust domain name.
 */
int ident_trust_init(struct ident_trust *t, const char *domain, const uint8_t *root_key);

/* Encode t into buf (at least IDENT_TRUST_MAX_LEN). Returns the length. */
size_t ident_trust_encode(const struct ident_trust *t, uint8_t *buf);

/* Decode a trust bundle. Returns 0 or -EBADMSG. */
int ident_trust_decode(const uint8_t *buf, size_t len, struct ident_trust *t);

/*
 * Does spiffe_id belong to the trust domain t (the authority part equals
 * t->domain exactly)? Cannot fail.
 */
int ident_trust_owns(const struct ident_trust *t, const char *spiffe_id);

/* Is text a valid trust domain name (lowercase letters, digits, ".-_")? */
int ident_domain_valid(const char *text);

#endif /* BM_IDENT_TRUST_H */
