// SPDX-License-Identifier: GPL-2.0-only
/* Trust anchors: the root public key of one trust domain. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "ident_trust.h"
#include "ident_wire.h"

#define SPIFFE_SCHEME "spiffe://"

/* See ident_trust.h. */
int ident_domain_valid(const char *text)
{
	size_t i, len;

	if (!text)
		return 0;
	len = strlen(text);
	if (!len || len > IDENT_DOMAIN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)text[i];

		if (!(islower(c) || isdigit(c) || c == '.' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* See ident_trust.h. */
int ident_trust_init(struct ident_trust *t, const char *domain, const uint8_t *root_key)
{
	if (!ident_domain_valid(domain))
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	strcpy(t->domain, domain);
	memcpy(t->root_key, root_key, sizeof(t->root_key));
	return 0;
}

/* See ident_trust.h. Layout: magic, version, domain length, 2 zero bytes, key, domain. */
size_t ident_trust_encode(const struct ident_trust *t, uint8_t *buf)
{
	size_t dlen = strlen(t->domain);
	uint8_t *p = buf;

	p = wire_put(p, IDENT_TRUST_MAGIC, 4);
	p = wire_put_u8(p, IDENT_TRUST_VERSION);
	p = wire_put_u8(p, (uint8_t)dlen);
	p = wire_put_u16(p, 0);
	p = wire_put(p, t->root_key, sizeof(t->root_key));
	p = wire_put(p, t->domain, dlen);
	return (size_t)(p - buf);
}

/* See ident_trust.h. */
int ident_trust_decode(const uint8_t *buf, size_t len, struct ident_trust *t)
{
	struct wire_rd r = {.p = buf, .left = len};
	const uint8_t *magic, *key, *dom;
	uint8_t version, dlen;
	uint16_t reserved;

	magic = wire_take(&r, 4);
	version = wire_u8(&r);
	dlen = wire_u8(&r);
	reserved = wire_u16(&r);
	key = wire_take(&r, crypto_sign_PUBLICKEYBYTES);
	dom = wire_take(&r, dlen);
	if (r.is_short || r.left || memcmp(magic, IDENT_TRUST_MAGIC, 4) ||
	    version != IDENT_TRUST_VERSION || reserved)
		return -EBADMSG;
	memset(t, 0, sizeof(*t));
	memcpy(t->domain, dom, dlen);
	memcpy(t->root_key, key, sizeof(t->root_key));
	return ident_domain_valid(t->domain) ? 0 : -EBADMSG;
}

/* See ident_trust.h. */
int ident_trust_owns(const struct ident_trust *t, const char *spiffe_id)
{
	size_t slen = strlen(SPIFFE_SCHEME), dlen = strlen(t->domain);

	if (strncmp(spiffe_id, SPIFFE_SCHEME, slen))
		return 0;
	spiffe_id += slen;
	return !strncmp(spiffe_id, t->domain, dlen) &&
	       (spiffe_id[dlen] == '/' || spiffe_id[dlen] == '\0');
}
