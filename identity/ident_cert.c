// SPDX-License-Identifier: GPL-2.0-only
/* Identity documents: encoding, signing and chain verification. */
#include <errno.h>
#include <string.h>

#include "ident_cert.h"
#include "ident_id.h"
#include "ident_wire.h"

#define CERT_CONTEXT "bpfmesh-cert-v1\0"
#define CERT_CONTEXT_LEN 16
#define CERT_SIGNED_MAX (CERT_CONTEXT_LEN + IDENT_CERT_FIXED_LEN + IDENT_SUBJECT_MAX)

static int kind_valid(uint32_t kind)
{
	return kind == IDENT_KIND_NODE || kind == IDENT_KIND_WORKLOAD;
}

/* Encode the signed part of c (no context, no signature); returns its length. */
static size_t encode_tbs(const struct ident_cert *c, uint8_t *buf)
{
	size_t slen = strlen(c->subject);
	uint8_t *p = buf;

	p = wire_put_u8(p, (uint8_t)c->kind);
	p = wire_put_u8(p, 0);
	p = wire_put_u16(p, (uint16_t)slen);
	p = wire_put_u64(p, c->serial);
	p = wire_put_u64(p, (uint64_t)c->not_before);
	p = wire_put_u64(p, (uint64_t)c->not_after);
	p = wire_put(p, c->public_key, sizeof(c->public_key));
	p = wire_put(p, c->issuer_key, sizeof(c->issuer_key));
	p = wire_put(p, c->subject, slen);
	return (size_t)(p - buf);
}

/* The message an issuer signs: context string, then the certificate body. */
static size_t signed_message(const struct ident_cert *c, uint8_t *buf)
{
	memcpy(buf, CERT_CONTEXT, CERT_CONTEXT_LEN);
	return CERT_CONTEXT_LEN + encode_tbs(c, buf + CERT_CONTEXT_LEN);
}

static int cert_sane(const struct ident_cert *c)
{
	return kind_valid(c->kind) &&
	       strnlen(c->subject, sizeof(c->subject)) <= IDENT_SUBJECT_MAX &&
	       ident_spiffe_id_valid(c->subject) && c->not_before < c->not_after && c->serial;
}

/* See ident_cert.h. */
int ident_cert_sign(struct ident_cert *c, const uint8_t *issuer_sk)
{
	uint8_t msg[CERT_SIGNED_MAX];
	size_t len;

	if (!cert_sane(c))
		return -EINVAL;
	memcpy(c->issuer_key, issuer_sk + crypto_sign_SEEDBYTES, sizeof(c->issuer_key));
	len = signed_message(c, msg);
	if (crypto_sign_detached(c->signature, NULL, msg, len, issuer_sk))
		return -EBADMSG;
	return 0;
}

/* See ident_cert.h. */
int ident_doc_encode(const struct ident_doc *d, uint8_t *buf, size_t cap, size_t *len)
{
	size_t off = 8;
	unsigned int i;

	if (!d->n_certs || d->n_certs > IDENT_CHAIN_MAX)
		return -EINVAL;
	if (cap < IDENT_DOC_MAX_LEN)
		return -ENOSPC;
	memcpy(buf, IDENT_DOC_MAGIC, 4);
	buf[4] = IDENT_DOC_VERSION;
	buf[5] = (uint8_t)d->n_certs;
	buf[6] = buf[7] = 0;
	for (i = 0; i < d->n_certs; i++) {
		if (strnlen(d->certs[i].subject, sizeof(d->certs[i].subject)) > IDENT_SUBJECT_MAX)
			return -EINVAL;
		off += encode_tbs(&d->certs[i], buf + off);
		memcpy(buf + off, d->certs[i].signature, crypto_sign_BYTES);
		off += crypto_sign_BYTES;
	}
	*len = off;
	return 0;
}

/* Decode one certificate from r into c. Returns 0 or -EBADMSG. */
static int decode_cert(struct wire_rd *r, struct ident_cert *c)
{
	const uint8_t *pk, *ik, *subject, *sig;
	uint16_t slen;
	uint8_t reserved;

	c->kind = wire_u8(r);
	reserved = wire_u8(r);
	slen = wire_u16(r);
	c->serial = wire_u64(r);
	c->not_before = (int64_t)wire_u64(r);
	c->not_after = (int64_t)wire_u64(r);
	pk = wire_take(r, sizeof(c->public_key));
	ik = wire_take(r, sizeof(c->issuer_key));
	subject = slen <= IDENT_SUBJECT_MAX ? wire_take(r, slen) : NULL;
	sig = wire_take(r, sizeof(c->signature));
	if (r->is_short || !subject || reserved || memchr(subject, '\0', slen))
		return -EBADMSG;
	memcpy(c->public_key, pk, sizeof(c->public_key));
	memcpy(c->issuer_key, ik, sizeof(c->issuer_key));
	memcpy(c->subject, subject, slen);
	c->subject[slen] = '\0';
	memcpy(c->signature, sig, sizeof(c->signature));
	return cert_sane(c) ? 0 : -EBADMSG;
}

/* See ident_cert.h. */
int ident_doc_decode(const uint8_t *buf, size_t len, struct ident_doc *d)
{
	struct wire_rd r = {.p = buf, .left = len};
	const uint8_t *magic = wire_take(&r, 4);
	uint8_t version = wire_u8(&r), n = wire_u8(&r);
	uint16_t reserved = wire_u16(&r);
	unsigned int i;

	if (r.is_short || memcmp(magic, IDENT_DOC_MAGIC, 4) || version != IDENT_DOC_VERSION || !n ||
	    n > IDENT_CHAIN_MAX || reserved)
		return -EBADMSG;
	memset(d, 0, sizeof(*d));
	d->n_certs = n;
	for (i = 0; i < n; i++) {
		if (decode_cert(&r, &d->certs[i]))
			return -EBADMSG;
	}
	return r.left ? -EBADMSG : 0;
}

/* Check c's signature by c->issuer_key, through the cache when given. */
static int check_signature(const struct ident_cert *c, struct ident_vcache *cache)
{
	uint8_t msg[CERT_SIGNED_MAX + crypto_sign_BYTES];
	uint8_t h[crypto_generichash_BYTES];
	uint8_t *slot = NULL;
	size_t len;

	len = signed_message(c, msg);
	if (cache) {
		memcpy(msg + len, c->signature, crypto_sign_BYTES);
		crypto_generichash(h, sizeof(h), msg, len + crypto_sign_BYTES, NULL, 0);
		slot = cache->slot[h[0]];
		if (!sodium_memcmp(slot, h, sizeof(h))) {
			cache->hits++;
			return 0;
		}
		cache->misses++;
	}
	if (crypto_sign_verify_detached(c->signature, msg, len, c->issuer_key))
		return -EKEYREJECTED;
	if (slot)
		memcpy(slot, h, sizeof(h));
	return 0;
}

/* Is the chain shaped workload <- node or a lone node / workload cert? */
static int chain_shape_ok(const struct ident_doc *d)
{
	if (!d->n_certs || d->n_certs > IDENT_CHAIN_MAX)
		return 0;
	if (d->n_certs == 2)
		return d->certs[0].kind == IDENT_KIND_WORKLOAD &&
		       d->certs[1].kind == IDENT_KIND_NODE;
	return 1;
}

/* Does every issuer_key link to the next certificate, the last to the root? */
static int chain_linked(const struct ident_doc *d, const struct ident_trust *t)
{
	unsigned int i;

	for (i = 0; i + 1 < d->n_certs; i++) {
		if (memcmp(d->certs[i].issuer_key, d->certs[i + 1].public_key, 32))
			return 0;
	}
	return !memcmp(d->certs[d->n_certs - 1].issuer_key, t->root_key, 32);
}

/* Validity window, revocation and domain of one certificate. */
static int check_cert_state(const struct ident_cert *c, const struct ident_trust *t,
			    const struct ident_crl *crl, int64_t now, int64_t skew_s)
{
	if (!ident_trust_owns(t, c->subject))
		return -EXDEV;
	if (now + skew_s < c->not_before)
		return -ETIME;
	if (now - skew_s >= c->not_after)
		return -EKEYEXPIRED;
	if (ident_crl_contains(crl, c->serial))
		return -EKEYREVOKED;
	return 0;
}

/* See ident_cert.h. */
int ident_doc_verify(const struct ident_doc *d, const struct ident_trust *t,
		     const struct ident_crl *crl, int64_t now, int64_t skew_s,
		     struct ident_vcache *cache)
{
	unsigned int i;
	int ret;

	if (!chain_shape_ok(d))
		return -EPROTO;
	if (!chain_linked(d, t))
		return -ENOKEY;
	for (i = 0; i < d->n_certs; i++) {
		ret = check_cert_state(&d->certs[i], t, crl, now, skew_s);
		if (ret)
			return ret;
	}
	/* signatures last: the root-most first, so a forged leaf costs one verify */
	for (i = d->n_certs; i-- > 0;) {
		ret = check_signature(&d->certs[i], cache);
		if (ret)
			return ret;
	}
	return 0;
}

/* See ident_cert.h. */
const char *ident_verify_reason(int err)
{
	switch (err) {
	case 0:
		return "valid";
	case -EPROTO:
		return "malformed certificate chain";
	case -EXDEV:
		return "subject outside the trust domain";
	case -ENOKEY:
		return "issuer not trusted (chain does not lead to the root key)";
	case -EKEYREJECTED:
		return "bad signature";
	case -ETIME:
		return "not yet valid";
	case -EKEYEXPIRED:
		return "expired";
	case -EKEYREVOKED:
		return "revoked";
	case -EBADMSG:
		return "malformed document";
	default:
		return "verification error";
	}
}

/* See ident_cert.h. */
int ident_verify_is_verdict(int err)
{
	switch (err) {
	case -EPROTO:
	case -EXDEV:
	case -ENOKEY:
	case -EKEYREJECTED:
	case -ETIME:
	case -EKEYEXPIRED:
	case -EKEYREVOKED:
	case -EBADMSG:
		return 1;
	default:
		return 0;
	}
}

/* See ident_cert.h. */
int64_t ident_doc_not_after(const struct ident_doc *d)
{
	int64_t t = INT64_MAX;
	unsigned int i;

	for (i = 0; i < d->n_certs; i++) {
		if (d->certs[i].not_after < t)
			t = d->certs[i].not_after;
	}
	return t;
}

/* See ident_cert.h. */
uint64_t ident_new_serial(void)
{
	uint64_t s;

	do
		randombytes_buf(&s, sizeof(s));
	while (!s);
	return s;
}
