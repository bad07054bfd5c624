// SPDX-License-Identifier: GPL-2.0-only
/* Handshake message framing and shape checks. */
#include <errno.h>
#include <string.h>

#include "ident_hs_msg.h"
#include "ident_wire.h"

/* See ident_hs_msg.h. */
int ident_hs_parse_header(const uint8_t *hdr, uint8_t *type, uint16_t *body_len)
{
	uint16_t len = (uint16_t)(hdr[2] << 8 | hdr[3]);

	if (hdr[0] != IDENT_HS_FRAME_VERSION || hdr[1] < IDENT_HS_CLIENT_HELLO ||
	    hdr[1] > IDENT_HS_SERVER_FINISHED || !len || len > IDENT_HS_BODY_MAX)
		return -EPROTO;
	*type = hdr[1];
	*body_len = len;
	return 0;
}

/* See ident_hs_msg.h. */
void ident_hs_put_header(uint8_t *hdr, uint8_t type, uint16_t len)
{
	hdr[0] = IDENT_HS_FRAME_VERSION;
	hdr[1] = type;
	wire_put_u16(hdr + 2, len);
}

/* doc_len, doc, sig, mac: the tail shared by SERVER_AUTH and CLIENT_AUTH. */
static void parse_auth_tail(struct wire_rd *r, const uint8_t *body, struct ident_hs_msg *m)
{
	m->doc_len = wire_u16(r);
	m->doc = wire_take(r, m->doc_len);
	m->sig_off = (size_t)(r->p - body);
	m->sig = wire_take(r, IDENT_HS_SIG_LEN);
	m->mac_off = (size_t)(r->p - body);
	m->mac = wire_take(r, IDENT_HS_MAC_LEN);
}

/* See ident_hs_msg.h. */
int ident_hs_parse_body(uint8_t type, const uint8_t *body, size_t len, struct ident_hs_msg *m)
{
	struct wire_rd r = {.p = body, .left = len};

	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case IDENT_HS_CLIENT_HELLO:
		m->versions = wire_u16(&r);
		m->nonce = wire_take(&r, IDENT_HS_NONCE_LEN);
		m->eph = wire_take(&r, IDENT_HS_EPH_LEN);
		break;
	case IDENT_HS_SERVER_AUTH:
		m->chosen = wire_u8(&r);
		m->versions = wire_u16(&r);
		m->nonce = wire_take(&r, IDENT_HS_NONCE_LEN);
		m->eph = wire_take(&r, IDENT_HS_EPH_LEN);
		parse_auth_tail(&r, body, m);
		break;
	case IDENT_HS_CLIENT_AUTH:
		parse_auth_tail(&r, body, m);
		break;
	case IDENT_HS_SERVER_FINISHED:
		m->mac_off = 0;
		m->mac = wire_take(&r, IDENT_HS_MAC_LEN);
		break;
	default:
		return -EPROTO;
	}
	if (r.is_short || r.left)
		return -EPROTO;
	if (type != IDENT_HS_SERVER_FINISHED && type != IDENT_HS_CLIENT_AUTH && !m->versions)
		return -EPROTO;
	if ((type == IDENT_HS_SERVER_AUTH || type == IDENT_HS_CLIENT_AUTH) && !m->doc_len)
		return -EPROTO;
	return 0;
}
