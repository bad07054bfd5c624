// SPDX-License-Identifier: GPL-2.0-only
/* Enrollment requests: a node's public key with proof of possession. */
#include <errno.h>
#include <string.h>

#include "ident_enroll.h"
#include "ident_issue.h"
#include "ident_wire.h"

#define REQ_CONTEXT "bpfmesh-enroll-v1\0\0\0\0\0\0\0"
#define REQ_CONTEXT_LEN 24
#define REQ_HEADER_LEN 8

/* A node name must make a valid node SPIFFE ID in any trust domain. */
static int name_valid(const char *node)
{
	char id[IDENT_SUBJECT_MAX + 1];

	return strlen(node) <= IDENT_NODE_NAME_MAX &&
	       !ident_node_spiffe_id("x", node, id, sizeof(id));
}

/* Check sig over context || buf[0..len) with pk. */
static int check_pop(const uint8_t *buf, size_t len, const uint8_t *sig, const uint8_t *pk)
{
	uint8_t msg[REQ_CONTEXT_LEN + IDENT_REQ_MAX_LEN];

	memcpy(msg, REQ_CONTEXT, REQ_CONTEXT_LEN);
	memcpy(msg + REQ_CONTEXT_LEN, buf, len);
	return crypto_sign_verify_detached(sig, msg, REQ_CONTEXT_LEN + len, pk) ? -EKEYREJECTED : 0;
}

/* See ident_enroll.h. */
int ident_enroll_request(const char *node, const uint8_t *node_sk, uint8_t *buf, size_t *len)
{
	uint8_t msg[REQ_CONTEXT_LEN + IDENT_REQ_MAX_LEN];
	size_t nlen = strlen(node), body;
	uint8_t *p = buf;

	if (!name_valid(node))
		return -EINVAL;
	p = wire_put(p, IDENT_REQ_MAGIC, 4);
	p = wire_put_u8(p, IDENT_REQ_VERSION);
	p = wire_put_u8(p, (uint8_t)nlen);
	p = wire_put_u16(p, 0);
	p = wire_put(p, node_sk + crypto_sign_SEEDBYTES, crypto_sign_PUBLICKEYBYTES);
	p = wire_put(p, node, nlen);
	body = (size_t)(p - buf);
	memcpy(msg, REQ_CONTEXT, REQ_CONTEXT_LEN);
	memcpy(msg + REQ_CONTEXT_LEN, buf, body);
	if (crypto_sign_detached(p, NULL, msg, REQ_CONTEXT_LEN + body, node_sk))
		return -EINVAL;
	*len = body + crypto_sign_BYTES;
	return 0;
}

/* See ident_enroll.h. */
int ident_enroll_decode(const uint8_t *buf, size_t len, struct ident_enroll_req *r)
{
	struct wire_rd rd = {.p = buf, .left = len};
	const uint8_t *magic = wire_take(&rd, 4), *pk, *name, *sig;
	uint8_t version = wire_u8(&rd), nlen = wire_u8(&rd);
	uint16_t reserved = wire_u16(&rd);

	pk = wire_take(&rd, crypto_sign_PUBLICKEYBYTES);
	name = wire_take(&rd, nlen);
	sig = wire_take(&rd, crypto_sign_BYTES);
	if (rd.is_short || rd.left || memcmp(magic, IDENT_REQ_MAGIC, 4) ||
	    version != IDENT_REQ_VERSION || reserved || memchr(name, '\0', nlen))
		return -EBADMSG;
	memset(r, 0, sizeof(*r));
	memcpy(r->node, name, nlen);
	memcpy(r->public_key, pk, sizeof(r->public_key));
	if (!name_valid(r->node))
		return -EBADMSG;
	return check_pop(buf, len - crypto_sign_BYTES, sig, r->public_key);
}

/* See ident_enroll.h. */
int ident_enroll_certify(const struct ident_trust *t, const uint8_t *root_sk,
			 const struct ident_enroll_req *r, int64_t now, int64_t ttl_s,
			 struct ident_doc *out)
{
	struct ident_cert *c = &out->certs[0];
	int ret;

	if (ttl_s <= 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->n_certs = 1;
	ret = ident_node_spiffe_id(t->domain, r->node, c->subject, sizeof(c->subject));
	if (ret)
		return -EINVAL;
	c->kind = IDENT_KIND_NODE;
	c->serial = ident_new_serial();
	c->not_before = now;
	c->not_after = now + ttl_s;
	memcpy(c->public_key, r->public_key, sizeof(c->public_key));
	return ident_cert_sign(c, root_sk);
}
