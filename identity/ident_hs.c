// SPDX-License-Identifier: GPL-2.0-only
/* The mutual-authentication handshake state machine (see ident_hs.h). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ident_hs.h"
#include "ident_hs_io.h"
#include "ident_hs_msg.h"
#include "ident_id.h"
#include "ident_wire.h"

#define TH_LEN crypto_generichash_BYTES_MAX /* transcript hash: BLAKE2b-512 */
#define LABEL_LEN 32
#define KDF_CONTEXT "bmhs_v1_"
#define IMPLEMENTED_VERSIONS IDENT_HS_VERSIONS
#define SA_PREFIX_LEN (1 + 2 + IDENT_HS_NONCE_LEN + IDENT_HS_EPH_LEN)
#define AUTH_TAIL_LEN (2 + IDENT_HS_SIG_LEN + IDENT_HS_MAC_LEN)

enum subkey {
	SUBKEY_SERVER_MAC = 1,
	SUBKEY_CLIENT_MAC = 2,
	SUBKEY_C2S = 3,
	SUBKEY_S2C = 4,
};

/* Fixed-width labels, so label || transcript hash never parses two ways. */
static const char LABEL_SERVER_SIG[LABEL_LEN] = "bpfmesh-hs-v1 server signature";
static const char LABEL_CLIENT_SIG[LABEL_LEN] = "bpfmesh-hs-v1 client signature";
static const char LABEL_SERVER_MAC[LABEL_LEN] = "bpfmesh-hs-v1 server mac";
static const char LABEL_CLIENT_MAC[LABEL_LEN] = "bpfmesh-hs-v1 client mac";
static const char LABEL_FINISHED[LABEL_LEN] = "bpfmesh-hs-v1 server finished";
static const char LABEL_KEYS[LABEL_LEN] = "bpfmesh-hs-v1 keys";

struct hs {
	const struct ident_hs_config *cfg;
	struct ident_hs_result *res;
	crypto_generichash_state th;
	int64_t deadline_ms;
	int64_t now_s;
	int fd;
	int is_server;
	uint8_t eph_sk[32];
	uint8_t eph_c[32], eph_s[32];
	uint8_t nonce_c[32], nonce_s[32];
	uint8_t mac_key_s[32], mac_key_c[32], base_c2s[32], base_s2c[32];
	uint8_t msg[IDENT_HS_HDR_LEN + IDENT_HS_BODY_MAX];
};

static void th_snapshot(const struct hs *h, uint8_t *out)
{
	crypto_generichash_state copy = h->th;

	crypto_generichash_final(&copy, out, TH_LEN);
}

static void th_absorb(struct hs *h, const uint8_t *p, size_t len)
{
	crypto_generichash_update(&h->th, p, len);
}

/* Keyed BLAKE2b-256 over label || transcript hash. */
static void mac(const uint8_t *key, const char *label, const uint8_t *th, uint8_t *out)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, 32, IDENT_HS_MAC_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label, LABEL_LEN);
	crypto_generichash_update(&st, th, TH_LEN);
	crypto_generichash_final(&st, out, IDENT_HS_MAC_LEN);
}

static int mac_check(const uint8_t *key, const char *label, const uint8_t *th, const uint8_t *got)
{
	uint8_t want[IDENT_HS_MAC_LEN];
	int ret;

	mac(key, label, th, want);
	ret = sodium_memcmp(want, got, sizeof(want)) ? -EKEYREJECTED : 0;
	sodium_memzero(want, sizeof(want));
	return ret;
}

/* X25519, then the subkeys; both ephemeral keys and nonces are bound in. */
static int derive_keys(struct hs *h, const uint8_t *peer_eph)
{
	uint8_t shared[32], secret[32];
	crypto_generichash_state st;
	int ret = 0;

	if (crypto_scalarmult(shared, h->eph_sk, peer_eph))
		return -EPROTO; /* low-order point: the peer forces a known secret */
	crypto_generichash_init(&st, shared, sizeof(shared), sizeof(secret));
	crypto_generichash_update(&st, (const uint8_t *)LABEL_KEYS, LABEL_LEN);
	crypto_generichash_update(&st, h->nonce_c, 32);
	crypto_generichash_update(&st, h->nonce_s, 32);
	crypto_generichash_update(&st, h->eph_c, 32);
	crypto_generichash_update(&st, h->eph_s, 32);
	crypto_generichash_final(&st, secret, sizeof(secret));
	if (crypto_kdf_derive_from_key(h->mac_key_s, 32, SUBKEY_SERVER_MAC, KDF_CONTEXT, secret) ||
	    crypto_kdf_derive_from_key(h->mac_key_c, 32, SUBKEY_CLIENT_MAC, KDF_CONTEXT, secret) ||
	    crypto_kdf_derive_from_key(h->base_c2s, 32, SUBKEY_C2S, KDF_CONTEXT, secret) ||
	    crypto_kdf_derive_from_key(h->base_s2c, 32, SUBKEY_S2C, KDF_CONTEXT, secret))
		ret = -EINVAL;
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(secret, sizeof(secret));
	return ret;
}

/* Read one message of type want into h->msg; *m aliases it. */
static int recv_msg(struct hs *h, uint8_t want, struct ident_hs_msg *m, uint16_t *body_len)
{
	uint8_t type;
	int ret;

	ret = hs_io_read(h->fd, h->msg, IDENT_HS_HDR_LEN, h->deadline_ms);
	if (!ret)
		ret = ident_hs_parse_header(h->msg, &type, body_len);
	if (!ret && type != want)
		ret = -EPROTO;
	if (!ret)
		ret = hs_io_read(h->fd, h->msg + IDENT_HS_HDR_LEN, *body_len, h->deadline_ms);
	if (!ret)
		ret = ident_hs_parse_body(type, h->msg + IDENT_HS_HDR_LEN, *body_len, m);
	return ret;
}

/* Own document: decode it once into the result, check it is valid to send. */
static int load_local(struct hs *h)
{
	const struct ident_hs_config *c = h->cfg;
	int ret;

	if (!c->trust || !c->doc || !c->sk || c->doc_len > IDENT_DOC_MAX_LEN)
		return -EINVAL;
	ret = ident_doc_decode(c->doc, c->doc_len, &h->res->local);
	if (ret)
		return ret;
	if (sodium_memcmp(h->res->local.certs[0].public_key, c->sk + 32, 32))
		return -EINVAL; /* key and document do not belong together */
	return ident_numeric_id(h->res->local.certs[0].subject, &h->res->local_id);
}

/*
 * Sign and MAC our auth message whose body (h->msg after the header) holds
 * everything before the signature, then send it. The signature covers the
 * transcript up to the end of the document, the MAC up to the signature.
 */
static int send_auth(struct hs *h, uint8_t type, size_t sig_off)
{
	const char *sig_label = h->is_server ? LABEL_SERVER_SIG : LABEL_CLIENT_SIG;
	const char *mac_label = h->is_server ? LABEL_SERVER_MAC : LABEL_CLIENT_MAC;
	const uint8_t *mac_key = h->is_server ? h->mac_key_s : h->mac_key_c;
	uint8_t *body = h->msg + IDENT_HS_HDR_LEN;
	size_t len = sig_off + IDENT_HS_SIG_LEN + IDENT_HS_MAC_LEN;
	uint8_t tbs[LABEL_LEN + TH_LEN];

	ident_hs_put_header(h->msg, type, (uint16_t)len);
	th_absorb(h, h->msg, IDENT_HS_HDR_LEN + sig_off);
	memcpy(tbs, sig_label, LABEL_LEN);
	th_snapshot(h, tbs + LABEL_LEN);
	if (crypto_sign_detached(body + sig_off, NULL, tbs, sizeof(tbs), h->cfg->sk))
		return -EINVAL;
	th_absorb(h, body + sig_off, IDENT_HS_SIG_LEN);
	th_snapshot(h, tbs + LABEL_LEN);
	mac(mac_key, mac_label, tbs + LABEL_LEN, body + sig_off + IDENT_HS_SIG_LEN);
	th_absorb(h, body + sig_off + IDENT_HS_SIG_LEN, IDENT_HS_MAC_LEN);
	return hs_io_write(h->fd, h->msg, IDENT_HS_HDR_LEN + len, h->deadline_ms);
}

/* Append doc_len and our document to the body at off; returns the new offset. */
static size_t put_doc(struct hs *h, size_t off)
{
	uint8_t *p = h->msg + IDENT_HS_HDR_LEN + off;

	p = wire_put_u16(p, (uint16_t)h->cfg->doc_len);
	memcpy(p, h->cfg->doc, h->cfg->doc_len);
	return off + 2 + h->cfg->doc_len;
}

/*
 * Absorb a received auth message and check it: the peer's chain, then its
 * transcript signature with the leaf key, then its MAC.
 */
static int check_auth(struct hs *h, const struct ident_hs_msg *m)
{
	const char *sig_label = h->is_server ? LABEL_CLIENT_SIG : LABEL_SERVER_SIG;
	const char *mac_label = h->is_server ? LABEL_CLIENT_MAC : LABEL_SERVER_MAC;
	const uint8_t *mac_key = h->is_server ? h->mac_key_c : h->mac_key_s;
	const struct ident_hs_config *c = h->cfg;
	struct ident_doc *peer = &h->res->peer;
	uint8_t tbs[LABEL_LEN + TH_LEN];
	int ret;

	th_absorb(h, h->msg, IDENT_HS_HDR_LEN + m->sig_off);
	memcpy(tbs, sig_label, LABEL_LEN);
	th_snapshot(h, tbs + LABEL_LEN);
	ret = ident_doc_decode(m->doc, m->doc_len, peer);
	if (ret)
		return ret;
	ret = ident_doc_verify(peer, c->trust, c->crl, h->now_s,
			       c->skew_s ? c->skew_s : IDENT_DEFAULT_SKEW_S, c->cache);
	if (ret)
		return ret;
	if (crypto_sign_verify_detached(m->sig, tbs, sizeof(tbs), peer->certs[0].public_key))
		return -EKEYREJECTED;
	th_absorb(h, m->sig, IDENT_HS_SIG_LEN);
	th_snapshot(h, tbs + LABEL_LEN);
	ret = mac_check(mac_key, mac_label, tbs + LABEL_LEN, m->mac);
	th_absorb(h, m->mac, IDENT_HS_MAC_LEN);
	return ret;
}

/* The highest version both sides support and this code implements. */
static int pick_version(uint16_t ours, uint16_t theirs)
{
	uint16_t common = ours & theirs & IMPLEMENTED_VERSIONS;
	int v;

	for (v = 15; v > 0; v--) {
		if (common & (1U << v))
			return v;
	}
	return -EPROTO;
}

static uint16_t our_versions(const struct hs *h)
{
	return h->cfg->versions ? h->cfg->versions : IDENT_HS_VERSIONS;
}

static void eph_keypair(struct hs *h, uint8_t *pk, uint8_t *nonce)
{
	randombytes_buf(h->eph_sk, sizeof(h->eph_sk));
	crypto_scalarmult_base(pk, h->eph_sk);
	randombytes_buf(nonce, IDENT_HS_NONCE_LEN);
}

/* Session keys and the handshake id from the full transcript. */
static void finish(struct hs *h, struct ident_hs_result *res)
{
	uint8_t th[TH_LEN];
	int64_t na;

	th_snapshot(h, th);
	crypto_generichash(h->is_server ? res->rx_key : res->tx_key, 32, th, TH_LEN, h->base_c2s,
			   32);
	crypto_generichash(h->is_server ? res->tx_key : res->rx_key, 32, th, TH_LEN, h->base_s2c,
			   32);
	memcpy(&res->handshake_id, th, sizeof(res->handshake_id));
	res->not_after = ident_doc_not_after(&res->local);
	na = ident_doc_not_after(&res->peer);
	if (na < res->not_after)
		res->not_after = na;
}

static int hs_begin(struct hs *h, int fd, const struct ident_hs_config *cfg,
		    struct ident_hs_result *res, int is_server)
{
	memset(h, 0, sizeof(*h));
	memset(res, 0, sizeof(*res));
	h->cfg = cfg;
	h->res = res;
	h->fd = fd;
	h->is_server = is_server;
	h->now_s = cfg->now_s ? cfg->now_s : (int64_t)time(NULL);
	h->deadline_ms =
		hs_io_deadline(cfg->timeout_ms > 0 ? cfg->timeout_ms : IDENT_HS_DEFAULT_TIMEOUT_MS);
	if (sodium_init() < 0)
		return -EIO;
	crypto_generichash_init(&h->th, NULL, 0, TH_LEN);
	return load_local(h);
}

/* Wipe everything secret in h; on failure also the result. */
static int hs_end(struct hs *h, int ret)
{
	if (ret)
		ident_hs_result_clear(h->res);
	sodium_memzero(h, sizeof(*h));
	return ret;
}

/* CLIENT_HELLO out. */
static int client_hello(struct hs *h)
{
	uint8_t *p = h->msg + IDENT_HS_HDR_LEN;
	size_t len = 2 + IDENT_HS_NONCE_LEN + IDENT_HS_EPH_LEN;

	eph_keypair(h, h->eph_c, h->nonce_c);
	ident_hs_put_header(h->msg, IDENT_HS_CLIENT_HELLO, (uint16_t)len);
	p = wire_put_u16(p, our_versions(h));
	p = wire_put(p, h->nonce_c, IDENT_HS_NONCE_LEN);
	wire_put(p, h->eph_c, IDENT_HS_EPH_LEN);
	th_absorb(h, h->msg, IDENT_HS_HDR_LEN + len);
	return hs_io_write(h->fd, h->msg, IDENT_HS_HDR_LEN + len, h->deadline_ms);
}

/* SERVER_AUTH in: version, server key share, then the server's proof. */
static int client_read_server_auth(struct hs *h)
{
	struct ident_hs_msg m;
	uint16_t len;
	int ret;

	ret = recv_msg(h, IDENT_HS_SERVER_AUTH, &m, &len);
	if (ret)
		return ret;
	if (pick_version(our_versions(h), m.versions) != m.chosen)
		return -EPROTO;
	h->res->version = m.chosen;
	memcpy(h->nonce_s, m.nonce, 32);
	memcpy(h->eph_s, m.eph, 32);
	ret = derive_keys(h, h->eph_s);
	if (!ret)
		ret = check_auth(h, &m);
	return ret;
}

/* SERVER_FINISHED in: proves the server accepted our proof. */
static int client_read_finished(struct hs *h)
{
	uint8_t th[TH_LEN];
	struct ident_hs_msg m;
	uint16_t len;
	int ret;

	ret = recv_msg(h, IDENT_HS_SERVER_FINISHED, &m, &len);
	if (ret)
		return ret;
	th_snapshot(h, th);
	ret = mac_check(h->mac_key_s, LABEL_FINISHED, th, m.mac);
	th_absorb(h, h->msg, IDENT_HS_HDR_LEN + len);
	return ret;
}

/* See ident_hs.h. */
int ident_hs_client(int fd, const struct ident_hs_config *cfg, struct ident_hs_result *res)
{
	struct hs h;
	int ret;

	ret = hs_begin(&h, fd, cfg, res, 0);
	if (!ret)
		ret = client_hello(&h);
	if (!ret)
		ret = client_read_server_auth(&h);
	if (!ret)
		ret = send_auth(&h, IDENT_HS_CLIENT_AUTH, put_doc(&h, 0));
	if (!ret)
		ret = client_read_finished(&h);
	if (!ret) {
		ret = ident_numeric_id(res->peer.certs[0].subject, &res->peer_id);
		finish(&h, res);
	}
	return hs_end(&h, ret);
}

/* CLIENT_HELLO in: the client's versions, nonce and key share. */
static int server_read_hello(struct hs *h)
{
	struct ident_hs_msg m;
	uint16_t len;
	int ret;

	ret = recv_msg(h, IDENT_HS_CLIENT_HELLO, &m, &len);
	if (ret)
		return ret;
	th_absorb(h, h->msg, IDENT_HS_HDR_LEN + len);
	ret = pick_version(our_versions(h), m.versions);
	if (ret < 0)
		return ret;
	h->res->version = (uint16_t)ret;
	memcpy(h->nonce_c, m.nonce, 32);
	memcpy(h->eph_c, m.eph, 32);
	return 0;
}

/* SERVER_AUTH out. */
static int server_auth(struct hs *h)
{
	uint8_t *p = h->msg + IDENT_HS_HDR_LEN;
	int ret;

	eph_keypair(h, h->eph_s, h->nonce_s);
	ret = derive_keys(h, h->eph_c);
	if (ret)
		return ret;
	p = wire_put_u8(p, (uint8_t)h->res->version);
	p = wire_put_u16(p, our_versions(h));
	p = wire_put(p, h->nonce_s, IDENT_HS_NONCE_LEN);
	wire_put(p, h->eph_s, IDENT_HS_EPH_LEN);
	return send_auth(h, IDENT_HS_SERVER_AUTH, put_doc(h, SA_PREFIX_LEN));
}

/* CLIENT_AUTH in. */
static int server_read_client_auth(struct hs *h)
{
	struct ident_hs_msg m;
	uint16_t len;
	int ret;

	ret = recv_msg(h, IDENT_HS_CLIENT_AUTH, &m, &len);
	if (!ret)
		ret = check_auth(h, &m);
	return ret;
}

/* SERVER_FINISHED out. */
static int server_finished(struct hs *h)
{
	uint8_t th[TH_LEN];

	th_snapshot(h, th);
	ident_hs_put_header(h->msg, IDENT_HS_SERVER_FINISHED, IDENT_HS_MAC_LEN);
	mac(h->mac_key_s, LABEL_FINISHED, th, h->msg + IDENT_HS_HDR_LEN);
	th_absorb(h, h->msg, IDENT_HS_HDR_LEN + IDENT_HS_MAC_LEN);
	return hs_io_write(h->fd, h->msg, IDENT_HS_HDR_LEN + IDENT_HS_MAC_LEN, h->deadline_ms);
}

/* See ident_hs.h. */
int ident_hs_server(int fd, const struct ident_hs_config *cfg, struct ident_hs_result *res)
{
	struct hs h;
	int ret;

	ret = hs_begin(&h, fd, cfg, res, 1);
	if (!ret)
		ret = server_read_hello(&h);
	if (!ret)
		ret = server_auth(&h);
	if (!ret)
		ret = server_read_client_auth(&h);
	if (!ret)
		ret = server_finished(&h);
	if (!ret) {
		ret = ident_numeric_id(res->peer.certs[0].subject, &res->peer_id);
		finish(&h, res);
	}
	return hs_end(&h, ret);
}

/* See ident_hs.h. */
void ident_hs_result_clear(struct ident_hs_result *res)
{
	if (!res)
		return;
	sodium_memzero(res->tx_key, sizeof(res->tx_key));
	sodium_memzero(res->rx_key, sizeof(res->rx_key));
}
