// SPDX-License-Identifier: GPL-2.0-only
/* Signed revocation lists of certificate serials. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ident_crl.h"
#include "ident_wire.h"

#define CRL_CONTEXT "bpfmesh-crl-v1\0\0"
#define CRL_CONTEXT_LEN 16
#define CRL_HEADER_LEN 28 /* magic 4, format 1, pad 3, version 8, issued 8, count 4 */
#define CRL_SIG_LEN crypto_sign_BYTES

/* See ident_crl.h. */
void ident_crl_init(struct ident_crl *crl)
{
	memset(crl, 0, sizeof(*crl));
}

/* See ident_crl.h. */
void ident_crl_release(struct ident_crl *crl)
{
	if (!crl)
		return;
	free(crl->serials);
	ident_crl_init(crl);
}

/* Index of the first serial >= s. */
static uint32_t lower_bound(const struct ident_crl *crl, uint64_t s)
{
	uint32_t lo = 0, hi = crl->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (crl->serials[mid] < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* See ident_crl.h. */
int ident_crl_contains(const struct ident_crl *crl, uint64_t serial)
{
	uint32_t i;

	if (!crl || !crl->n)
		return 0;
	i = lower_bound(crl, serial);
	return i < crl->n && crl->serials[i] == serial;
}

/* See ident_crl.h. */
int ident_crl_add(struct ident_crl *crl, uint64_t serial)
{
	uint32_t i = lower_bound(crl, serial);
	uint64_t *grown;

	if (i < crl->n && crl->serials[i] == serial)
		return 0;
	if (crl->n >= IDENT_CRL_MAX_SERIALS)
		return -E2BIG;
	if (crl->n == crl->cap) {
		uint32_t cap = crl->cap ? crl->cap * 2 : 64;

		grown = realloc(crl->serials, (size_t)cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		crl->serials = grown;
		crl->cap = cap;
	}
	memmove(&crl->serials[i + 1], &crl->serials[i], (crl->n - i) * sizeof(uint64_t));
	crl->serials[i] = serial;
	crl->n++;
	return 0;
}

/* The signed message: context string followed by the encoded list. */
static size_t encode_body(const struct ident_crl *crl, uint8_t *buf)
{
	uint8_t *p = buf;
	uint32_t i;

	p = wire_put(p, CRL_CONTEXT, CRL_CONTEXT_LEN);
	p = wire_put(p, IDENT_CRL_MAGIC, 4);
	p = wire_put_u8(p, IDENT_CRL_FORMAT);
	p = wire_put(p, "\0\0\0", 3);
	p = wire_put_u64(p, crl->version);
	p = wire_put_u64(p, (uint64_t)crl->issued_at);
	p = wire_put_u32(p, crl->n);
	for (i = 0; i < crl->n; i++)
		p = wire_put_u64(p, crl->serials[i]);
	return (size_t)(p - buf);
}

static size_t body_len(uint32_t n)
{
	return CRL_CONTEXT_LEN + CRL_HEADER_LEN + (size_t)n * 8;
}

/* See ident_crl.h. */
int ident_crl_sign(const struct ident_crl *crl, const uint8_t *root_sk, uint8_t **out,
		   size_t *out_len)
{
	size_t len = body_len(crl->n);
	uint8_t *buf;

	buf = malloc(len + CRL_SIG_LEN);
	if (!buf)
		return -ENOMEM;
	encode_body(crl, buf);
	if (crypto_sign_detached(buf + len, NULL, buf, len, root_sk)) {
		free(buf);
		return -EINVAL;
	}
	/* drop the context prefix: it is signed, never stored */
	len = len - CRL_CONTEXT_LEN + CRL_SIG_LEN;
	memmove(buf, buf + CRL_CONTEXT_LEN, len);
	*out = buf;
	*out_len = len;
	return 0;
}

/* Check the header; on success *n is the serial count. */
static int parse_header(const uint8_t *buf, size_t len, struct ident_crl *crl)
{
	struct wire_rd r = {.p = buf, .left = len};
	const uint8_t *magic = wire_take(&r, 4);
	uint8_t format = wire_u8(&r);
	const uint8_t *pad = wire_take(&r, 3);

	crl->version = wire_u64(&r);
	crl->issued_at = (int64_t)wire_u64(&r);
	crl->n = wire_u32(&r);
	if (r.is_short || memcmp(magic, IDENT_CRL_MAGIC, 4) || format != IDENT_CRL_FORMAT ||
	    pad[0] | pad[1] | pad[2] || crl->n > IDENT_CRL_MAX_SERIALS ||
	    r.left != (size_t)crl->n * 8 + CRL_SIG_LEN)
		return -EBADMSG;
	return 0;
}

/* Verify the root signature over context || buf[0..len - sig). */
static int check_signature(const uint8_t *buf, size_t len, const struct ident_trust *t)
{
	size_t mlen = len - CRL_SIG_LEN + CRL_CONTEXT_LEN;
	uint8_t *msg;
	int ret = 0;

	msg = malloc(mlen);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, CRL_CONTEXT, CRL_CONTEXT_LEN);
	memcpy(msg + CRL_CONTEXT_LEN, buf, len - CRL_SIG_LEN);
	if (crypto_sign_verify_detached(buf + len - CRL_SIG_LEN, msg, mlen, t->root_key))
		ret = -EKEYREJECTED;
	free(msg);
	return ret;
}

/* See ident_crl.h. */
int ident_crl_decode(const uint8_t *buf, size_t len, const struct ident_trust *t,
		     struct ident_crl *crl)
{
	struct ident_crl tmp;
	struct wire_rd r;
	uint32_t i;
	int ret;

	ident_crl_init(&tmp);
	ret = parse_header(buf, len, &tmp);
	if (ret)
		return ret;
	ret = check_signature(buf, len, t);
	if (ret)
		return ret;
	tmp.cap = tmp.n ? tmp.n : 1;
	tmp.serials = calloc(tmp.cap, sizeof(uint64_t));
	if (!tmp.serials)
		return -ENOMEM;
	r = (struct wire_rd){.p = buf + CRL_HEADER_LEN, .left = (size_t)tmp.n * 8};
	for (i = 0; i < tmp.n; i++) {
		tmp.serials[i] = wire_u64(&r);
		if (i && tmp.serials[i] <= tmp.serials[i - 1]) {
			ident_crl_release(&tmp);
			return -EBADMSG;
		}
	}
	*crl = tmp;
	return 0;
}

/* See ident_crl.h. */
int ident_crl_adopt(struct ident_crl *held, struct ident_crl *incoming)
{
	if (incoming->version <= held->version) {
		ident_crl_release(incoming);
		return -ESTALE;
	}
	ident_crl_release(held);
	*held = *incoming;
	ident_crl_init(incoming);
	return 0;
}
