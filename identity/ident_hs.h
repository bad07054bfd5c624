/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mutual authentication between two workloads over a connected stream
 * socket: ephemeral X25519, both sides sign the transcript with their
 * identity document's key and MAC it with a key only the two ends of the
 * X25519 exchange know, both verify the peer's chain and revocation status.
 * Four messages (docs/identity.md, "Handshake"):
 *
 *   client -> server  CLIENT_HELLO     versions, nonce, ephemeral key
 *   server -> client  SERVER_AUTH      chosen version, nonce, ephemeral key,
 *                                      document, signature, MAC
 *   client -> server  CLIENT_AUTH      document, signature, MAC
 *   server -> client  SERVER_FINISHED  MAC over the whole transcript
 *
 * The blocking calls below run one handshake on fd within cfg->timeout_ms.
 */
#ifndef BM_IDENT_HS_H
#define BM_IDENT_HS_H

#include <stddef.h>
#include <stdint.h>

#include "ident_cert.h"
#include "ident_crl.h"
#include "ident_trust.h"

#define IDENT_HS_KEY_LEN 32
#define IDENT_HS_DEFAULT_TIMEOUT_MS 5000

struct ident_hs_config {
	const struct ident_trust *trust;
	const struct ident_crl *crl; /* NULL: nothing revoked */
	const uint8_t *doc; /* our encoded identity document */
	size_t doc_len;
	const uint8_t *sk; /* our document's Ed25519 secret key, 64 bytes */
	uint16_t versions; /* advertised versions (bitmap); 0: IDENT_HS_VERSIONS */
	int timeout_ms; /* whole handshake; 0: IDENT_HS_DEFAULT_TIMEOUT_MS */
	int64_t skew_s; /* clock skew allowance; 0: IDENT_DEFAULT_SKEW_S */
	int64_t now_s; /* verification time, unix seconds; 0: time(NULL) */
	struct ident_vcache *cache; /* may be NULL; see struct ident_vcache */
};

struct ident_hs_result {
	struct ident_doc local, peer; /* decoded chains, leaf first */
	uint32_t local_id, peer_id; /* ident_numeric_id() of the two leaf subjects */
	int64_t not_after; /* the earliest not_after of both chains */
	uint64_t handshake_id; /* from the transcript hash; the same on both ends */
	uint16_t version;
	uint8_t tx_key[IDENT_HS_KEY_LEN]; /* secret; wipe with ident_hs_result_clear */
	uint8_t rx_key[IDENT_HS_KEY_LEN];
};

/*
 * Run the client (connecting) side on fd. On success *res describes both
 * identities and holds the session keys. Returns 0 or: -ETIMEDOUT,
 * -ECONNRESET (peer closed: truncation), -EPROTO (malformed or unexpected
 * message, no common version, low-order key share), -EKEYREJECTED (bad
 * transcript signature or MAC), an ident_doc_verify error for the peer's
 * document, -EBADMSG (our own document does not decode), -EINVAL (bad
 * config: no trust, or key and document that do not belong together) or
 * -errno of the socket. Our own document is sent as is: the peer judges it.
 */
int ident_hs_client(int fd, const struct ident_hs_config *cfg, struct ident_hs_result *res);

/* The server (accepting) side; same contract as ident_hs_client. */
int ident_hs_server(int fd, const struct ident_hs_config *cfg, struct ident_hs_result *res);

/* Wipe the session keys in res. NULL-safe. */
void ident_hs_result_clear(struct ident_hs_result *res);

#endif /* BM_IDENT_HS_H */
