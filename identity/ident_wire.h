/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Big-endian field access for the identity wire formats (documents,
 * revocation lists, handshake messages). Header-only; every reader takes the
 * remaining length so a short buffer is an error, never an overread.
 */
#ifndef BM_IDENT_WIRE_H
#define BM_IDENT_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A read cursor over an untrusted buffer; is_short latches on underflow. */
struct wire_rd {
	const uint8_t *p;
	size_t left;
	int is_short;
};

static inline const uint8_t *wire_take(struct wire_rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->is_short || r->left < n) {
		r->is_short = 1;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static inline uint8_t wire_u8(struct wire_rd *r)
{
	const uint8_t *p = wire_take(r, 1);

	return p ? p[0] : 0;
}

static inline uint16_t wire_u16(struct wire_rd *r)
{
	const uint8_t *p = wire_take(r, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static inline uint32_t wire_u32(struct wire_rd *r)
{
	const uint8_t *p = wire_take(r, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

static inline uint64_t wire_u64(struct wire_rd *r)
{
	uint64_t hi = wire_u32(r);

	return hi << 32 | wire_u32(r);
}

static inline uint8_t *wire_put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static inline uint8_t *wire_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *wire_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint8_t *wire_put_u64(uint8_t *p, uint64_t v)
{
	p = wire_put_u32(p, (uint32_t)(v >> 32));
	return wire_put_u32(p, (uint32_t)v);
}

static inline uint8_t *wire_put(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

#endif /* BM_IDENT_WIRE_H */
