/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An encrypted, authenticated message channel over a connected stream
 * socket, keyed by an identity handshake (ident_hs_client/server): each
 * message is one frame, a 4-byte big-endian length and the message sealed
 * with ChaCha20-Poly1305 (IETF) under the direction's key, the nonce being
 * the direction's message counter. A frame that does not open (tampered,
 * replayed, reordered, cut) ends the channel. Not thread-safe.
 */
#ifndef BM_SC_CHAN_H
#define BM_SC_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "ident_hs.h"

#define CHAN_MSG_MAX (5u << 20) /* a Dapr body (4 MiB) and its head */

struct chan {
	int fd;
	uint8_t tx_key[IDENT_HS_KEY_LEN]; /* secret: chan_clear() wipes */
	uint8_t rx_key[IDENT_HS_KEY_LEN];
	uint64_t tx_seq, rx_seq;
};

/* Take the keys of a finished handshake (the result keeps its own copy). Cannot fail. */
void chan_init(struct chan *c, int fd, const struct ident_hs_result *res);

/* Seal and send len bytes before deadline_ms (hs_io_deadline). Returns 0 or -errno. */
int chan_send(struct chan *c, const void *buf, size_t len, int64_t deadline_ms);

/*
 * Receive and open one message (at most max bytes) before deadline_ms.
 * *buf is malloc()ed for the caller (NUL-terminated). Returns 0, -EBADMSG
 * (does not open), -E2BIG, -ETIMEDOUT, -ECONNRESET or -errno.
 */
int chan_recv(struct chan *c, char **buf, size_t *len, size_t max, int64_t deadline_ms);

/* Wipe the keys. Cannot fail. */
void chan_clear(struct chan *c);

#endif /* BM_SC_CHAN_H */
