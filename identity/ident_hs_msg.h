/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Handshake message framing and parsing (docs/identity.md, "Handshake").
 * Every message is a 4-byte header (version, type, body length, big-endian)
 * and a body of fixed layout per type. The parser only checks shape; the
 * state machine in ident_hs.c checks meaning.
 */
#ifndef BM_IDENT_HS_MSG_H
#define BM_IDENT_HS_MSG_H

#include <stddef.h>
#include <stdint.h>

#define IDENT_HS_FRAME_VERSION 1
#define IDENT_HS_HDR_LEN 4
#define IDENT_HS_BODY_MAX 2048
#define IDENT_HS_NONCE_LEN 32
#define IDENT_HS_EPH_LEN 32 /* X25519 public key */
#define IDENT_HS_SIG_LEN 64 /* Ed25519 */
#define IDENT_HS_MAC_LEN 32 /* keyed BLAKE2b-256 */

/* Protocol versions as a bitmap: bit v set = version v supported. */
#define IDENT_HS_V1 1
#define IDENT_HS_VERSIONS (1U << IDENT_HS_V1)

enum ident_hs_type {
	IDENT_HS_CLIENT_HELLO = 1,
	IDENT_HS_SERVER_AUTH = 2,
	IDENT_HS_CLIENT_AUTH = 3,
	IDENT_HS_SERVER_FINISHED = 4,
};

/* A parsed message; pointers alias the body buffer. Unused fields are 0. */
struct ident_hs_msg {
	uint8_t type;
	uint8_t chosen; /* SERVER_AUTH: the version in use */
	uint16_t versions; /* HELLO / SERVER_AUTH: the sender's supported set */
	const uint8_t *nonce;
	const uint8_t *eph;
	const uint8_t *doc;
	uint16_t doc_len;
	const uint8_t *sig;
	const uint8_t *mac;
	size_t sig_off; /* body offset of sig: the signature covers the body before it */
	size_t mac_off; /* body offset of mac */
};

/*
 * Check a header: frame version, known type, body length within bounds.
 * Returns 0 with *type and *body_len, or -EPROTO.
 */
int ident_hs_parse_header(const uint8_t *hdr, uint8_t *type, uint16_t *body_len);

/*
 * Parse a body of the given type, exact length. Returns 0 or -EPROTO.
 */
int ident_hs_parse_body(uint8_t type, const uint8_t *body, size_t len, struct ident_hs_msg *m);

/* Write a header for a body of len bytes. Cannot fail. */
void ident_hs_put_header(uint8_t *hdr, uint8_t type, uint16_t len);

#endif /* BM_IDENT_HS_MSG_H */
