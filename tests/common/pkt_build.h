/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Frames built byte by byte for the parser and verdict tests (tests/bpf and
 * tests/unit share them). Headers are appended in wire order; the caller
 * names the next ethertype / protocol in each header. pb_fix() writes the IP
 * length fields from the current frame length, so a frame cut with
 * pb_cut_datagram() stays a consistent, shorter datagram while
 * pb_cut_frame() keeps the lengths the datagram announced.
 *
 * Header-only (static inline) so that every test binary gets it without a
 * build rule of its own.
 */
#ifndef BM_TESTS_PKT_BUILD_H
#define BM_TESTS_PKT_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PB_MAX 2048

#define PB_ETH_IP 0x0800
#define PB_ETH_IPV6 0x86dd
#define PB_ETH_ARP 0x0806
#define PB_ETH_8021Q 0x8100
#define PB_ETH_8021AD 0x88a8

struct pb {
	uint8_t d[PB_MAX];
	size_t len;
	size_t l3; /* offset of the IP header; valid when family != 0 */
	int family; /* 4, 6, or 0 before an IP header */
};

static inline void pb_init(struct pb *b)
{
	memset(b, 0, sizeof(*b));
}

/* Append n zero bytes; returns where they start. */
static inline uint8_t *pb_put(struct pb *b, size_t n)
{
	uint8_t *p = b->d + b->len;

	if (b->len + n > PB_MAX)
		n = PB_MAX - b->len;
	memset(p, 0, n);
	b->len += n;
	return p;
}

static inline void pb_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pb_be32(uint8_t *p, uint32_t v)
{
	pb_be16(p, (uint16_t)(v >> 16));
	pb_be16(p + 2, (uint16_t)v);
}

/* IP length fields from the frame length. */
static inline void pb_fix(struct pb *b)
{
	size_t n = b->len - b->l3;

	if (b->family == 4)
		pb_be16(b->d + b->l3 + 2, (uint16_t)n);
	else if (b->family == 6)
		pb_be16(b->d + b->l3 + 4, (uint16_t)(n - 40));
}

/* Keep the first n bytes; the IP header still announces the whole datagram. */
static inline void pb_cut_frame(struct pb *b, size_t n)
{
	if (n < b->len)
		b->len = n;
}

/* Keep the first n bytes and shorten the datagram with them. */
static inline void pb_cut_datagram(struct pb *b, size_t n)
{
	pb_cut_frame(b, n);
	if (b->family && b->len >= b->l3 + (b->family == 4 ? 4u : 6u))
		pb_fix(b);
}

static inline void pb_eth(struct pb *b, uint16_t ethertype)
{
	uint8_t *p = pb_put(b, 14);
	static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};

	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	pb_be16(p + 12, ethertype);
}

/* One VLAN tag (VID 100) whose inner ethertype is next. */
static inline void pb_vlan(struct pb *b, uint16_t next)
{
	uint8_t *p = pb_put(b, 4);

	pb_be16(p, 100);
	pb_be16(p + 2, next);
}

/*
 * IPv4 header with ihl words (>= 5; options are NOPs), the raw flags and
 * fragment offset field frag (e.g. 0x2000 for MF, offset in 8-byte units),
 * identification id. Addresses in host order.
 */
static inline void pb_ipv4_ex(struct pb *b, uint8_t proto, uint32_t saddr, uint32_t daddr,
			      unsigned int ihl, uint16_t frag, uint16_t id)
{
	uint8_t *p;

	b->l3 = b->len;
	b->family = 4;
	p = pb_put(b, ihl * 4);
	p[0] = (uint8_t)(0x40 | (ihl & 0xf));
	pb_be16(p + 4, id);
	pb_be16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	pb_be32(p + 12, saddr);
	pb_be32(p + 16, daddr);
	if (ihl > 5)
		memset(p + 20, 1, ihl * 4 - 20);
	pb_fix(b);
}

static inline void pb_ipv4(struct pb *b, uint8_t proto, uint32_t saddr, uint32_t daddr)
{
	pb_ipv4_ex(b, proto, saddr, daddr, 5, 0, 0x1234);
}

static inline void pb_ipv6(struct pb *b, uint8_t nexthdr, const uint8_t saddr[16],
			   const uint8_t daddr[16])
{
	uint8_t *p;

	b->l3 = b->len;
	b->family = 6;
	p = pb_put(b, 40);
	p[0] = 0x60;
	p[6] = nexthdr;
	p[7] = 64;
	memcpy(p + 8, saddr, 16);
	memcpy(p + 24, daddr, 16);
	pb_fix(b);
}

/* Hop-by-hop, routing or destination options: (hdrlen + 1) * 8 bytes. */
static inline void pb_ipv6_opts(struct pb *b, uint8_t nexthdr, uint8_t hdrlen)
{
	uint8_t *p = pb_put(b, ((size_t)hdrlen + 1) * 8);

	p[0] = nexthdr;
	p[1] = hdrlen;
	p[2] = 1; /* PadN over the rest */
	p[3] = (uint8_t)(((size_t)hdrlen + 1) * 8 - 4);
	pb_fix(b);
}

/* Authentication header: (hdrlen + 2) * 4 bytes. */
static inline void pb_ipv6_ah(struct pb *b, uint8_t nexthdr, uint8_t hdrlen)
{
	uint8_t *p = pb_put(b, ((size_t)hdrlen + 2) * 4);

	p[0] = nexthdr;
	p[1] = hdrlen;
	pb_be32(p + 4, 0x100);
	pb_fix(b);
}

/* Fragment header: offset in 8-byte units, mf the More Fragments bit. */
static inline void pb_ipv6_frag(struct pb *b, uint8_t nexthdr, uint16_t offset, int mf, uint32_t id)
{
	uint8_t *p = pb_put(b, 8);

	p[0] = nexthdr;
	pb_be16(p + 2, (uint16_t)(offset << 3 | (mf ? 1 : 0)));
	pb_be32(p + 4, id);
	pb_fix(b);
}

/* TCP with doff words (>= 5 for a valid header; options are NOPs). */
static inline void pb_tcp_ex(struct pb *b, uint16_t sport, uint16_t dport, unsigned int doff)
{
	size_t n = doff >= 5 ? doff * 4 : 20;
	uint8_t *p = pb_put(b, n);

	pb_be16(p, sport);
	pb_be16(p + 2, dport);
	pb_be32(p + 4, 1000);
	p[12] = (uint8_t)(doff << 4);
	p[13] = 0x02; /* SYN */
	pb_be16(p + 14, 65535);
	if (n > 20)
		memset(p + 20, 1, n - 20);
	pb_fix(b);
}

static inline void pb_tcp(struct pb *b, uint16_t sport, uint16_t dport)
{
	pb_tcp_ex(b, sport, dport, 5);
}

static inline void pb_udp(struct pb *b, uint16_t sport, uint16_t dport)
{
	uint8_t *p = pb_put(b, 8);

	pb_be16(p, sport);
	pb_be16(p + 2, dport);
	pb_be16(p + 4, 8);
	pb_fix(b);
}

static inline void pb_sctp(struct pb *b, uint16_t sport, uint16_t dport)
{
	uint8_t *p = pb_put(b, 12);

	pb_be16(p, sport);
	pb_be16(p + 2, dport);
	pb_be32(p + 4, 0xcafe);
	pb_fix(b);
}

/* ICMP or ICMPv6: type, code and (for echo) identifier; 8 bytes. */
static inline void pb_icmp(struct pb *b, uint8_t type, uint8_t code, uint16_t id)
{
	uint8_t *p = pb_put(b, 8);

	p[0] = type;
	p[1] = code;
	pb_be16(p + 4, id);
	pb_be16(p + 6, 1);
	pb_fix(b);
}

static inline void pb_payload(struct pb *b, size_t n)
{
	uint8_t *p = pb_put(b, n);
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)i;
	pb_fix(b);
}

/* 2001:db8::<last> */
static inline void pb_addr6(uint8_t out[16], uint16_t last)
{
	memset(out, 0, 16);
	out[0] = 0x20;
	out[1] = 0x01;
	out[2] = 0x0d;
	out[3] = 0xb8;
	out[14] = (uint8_t)(last >> 8);
	out[15] = (uint8_t)last;
}

#endif /* BM_TESTS_PKT_BUILD_H */
