/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Remote node enrollment without moving secret keys: the node makes its key
 * pair and sends an enrollment request (name + public key, signed with the
 * new key as proof of possession); the root machine checks it and certifies
 * the key; the node installs the certificate next to its key. Request
 * encoding in docs/identity.md.
 */
#ifndef BM_IDENT_ENROLL_H
#define BM_IDENT_ENROLL_H

#include <stddef.h>
#include <stdint.h>

#include "ident_cert.h"
#include "ident_trust.h"

#define IDENT_REQ_MAGIC "BMRQ"
#define IDENT_REQ_VERSION 1
#define IDENT_NODE_NAME_MAX 200
#define IDENT_REQ_MAX_LEN (8 + 32 + IDENT_NODE_NAME_MAX + 64)

struct ident_enroll_req {
	char node[IDENT_NODE_NAME_MAX + 1];
	uint8_t public_key[crypto_sign_PUBLICKEYBYTES];
};

/*
 * Encode a request for node signed with node_sk (64 bytes) into buf (at
 * least IDENT_REQ_MAX_LEN). Returns 0 and *len, or -EINVAL (bad name).
 */
int ident_enroll_request(const char *node, const uint8_t *node_sk, uint8_t *buf, size_t *len);

/*
 * Decode a request and check its proof of possession. Returns 0, -EBADMSG
 * (malformed, bad name) or -EKEYREJECTED (signature).
 */
int ident_enroll_decode(const uint8_t *buf, size_t len, struct ident_enroll_req *r);

/*
 * Certify the requested key as node r->node: a one-certificate document
 * signed by root_sk, valid [now, now + ttl_s). Returns 0 or -EINVAL.
 */
int ident_enroll_certify(const struct ident_trust *t, const uint8_t *root_sk,
			 const struct ident_enroll_req *r, int64_t now, int64_t ttl_s,
			 struct ident_doc *out);

#endif /* BM_IDENT_ENROLL_H */
