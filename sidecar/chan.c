// SPDX-License-Identifier: GPL-2.0-only
/* Sealed frames over a handshake's keys; see chan.h. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "ident_hs_io.h"

#define TAG_LEN crypto_aead_chacha20poly1305_ietf_ABYTES

/* The nonce of message seq: 4 zero bytes, then seq big-endian. */
static void nonce_of(uint64_t seq, uint8_t n[crypto_aead_chacha20poly1305_ietf_NPUBBYTES])
{
	int i;

	memset(n, 0, crypto_aead_chacha20poly1305_ietf_NPUBBYTES);
	for (i = 0; i < 8; i++)
		n[11 - i] = (uint8_t)(seq >> (8 * i));
}

/* Set up from a handshake; see chan.h. */
void chan_init(struct chan *c, int fd, const struct ident_hs_result *res)
{
	c->fd = fd;
	memcpy(c->tx_key, res->tx_key, sizeof(c->tx_key));
	memcpy(c->rx_key, res->rx_key, sizeof(c->rx_key));
	c->tx_seq = 0;
	c->rx_seq = 0;
}

/* Send one sealed message; see chan.h. */
int chan_send(struct chan *c, const void *buf, size_t len, int64_t deadline_ms)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long clen = 0;
	uint8_t *frame;
	int err;

	if (len > CHAN_MSG_MAX)
		return -E2BIG;
	frame = malloc(4 + len + TAG_LEN);
	if (!frame)
		return -ENOMEM;
	nonce_of(c->tx_seq++, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(frame + 4, &clen, buf, len, NULL, 0, NULL, nonce,
						  c->tx_key);
	frame[0] = (uint8_t)(clen >> 24);
	frame[1] = (uint8_t)(clen >> 16);
	frame[2] = (uint8_t)(clen >> 8);
	frame[3] = (uint8_t)clen;
	err = hs_io_write(c->fd, frame, 4 + (size_t)clen, deadline_ms);
	free(frame);
	return err;
}

/* Receive one sealed message; see chan.h. */
int chan_recv(struct chan *c, char **buf, size_t *len, size_t max, int64_t deadline_ms)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], hdr[4];
	unsigned long long plen = 0;
	uint8_t *frame = NULL;
	size_t clen;
	int err;

	*buf = NULL;
	err = hs_io_read(c->fd, hdr, sizeof(hdr), deadline_ms);
	if (err)
		return err;
	clen = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (clen < TAG_LEN || clen - TAG_LEN > max || clen - TAG_LEN > CHAN_MSG_MAX)
		return clen < TAG_LEN ? -EBADMSG : -E2BIG;
	frame = malloc(clen);
	*buf = malloc(clen - TAG_LEN + 1);
	err = frame && *buf ? hs_io_read(c->fd, frame, clen, deadline_ms) : -ENOMEM;
	nonce_of(c->rx_seq++, nonce);
	if (!err && crypto_aead_chacha20poly1305_ietf_decrypt((uint8_t *)*buf, &plen, NULL, frame,
							      clen, NULL, 0, nonce, c->rx_key))
		err = -EBADMSG;
	free(frame);
	if (err) {
		free(*buf);
		*buf = NULL;
		return err;
	}
	(*buf)[plen] = '\0';
	*len = (size_t)plen;
	return 0;
}

/* Wipe; see chan.h. */
void chan_clear(struct chan *c)
{
	sodium_memzero(c->tx_key, sizeof(c->tx_key));
	sodium_memzero(c->rx_key, sizeof(c->rx_key));
}
