// SPDX-License-Identifier: GPL-2.0-only
/*
 * Frame parsing in userland, rule for rule the same as bpf/lib/parse.h (see
 * the list of malformed cases there). Offsets are checked against the end of
 * the IP datagram, which is itself checked against the frame.
 */
#include <string.h>

#include "pkt_parse.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8

#define IPV4_MF 0x2000
#define IPV4_OFFSET 0x1fff
#define IPV6_MF 0x0001
#define IPV6_OFFSET 0xfff8

#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_DSTOPTS 60

/* Not a reason: the IPv6 walk met a non-first fragment and stops. */
#define WALK_STOP (BM_REASON_MAX + 1)

struct cursor {
	const uint8_t *p;
	size_t frame_len;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

/* The XDP parser's bound on header offsets (BM_PARSE_MAX_OFF in parse.h). */
#define MAX_OFF 0x3fff

/* Are len bytes at off inside end (which never exceeds the frame)? */
static bool fits(size_t off, size_t len, size_t end)
{
	return off <= MAX_OFF && off + len <= end;
}

static bool is_vlan(uint16_t ethertype)
{
	return ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD;
}

static uint8_t parse_eth(const struct cursor *c, size_t *off, uint16_t *ethertype)
{
	int i;

	if (!fits(0, ETH_HLEN, c->frame_len))
		return BM_REASON_DENY_MALFORMED;
	*ethertype = rd16(c->p + 12);
	*off = ETH_HLEN;
	for (i = 0; i < BM_MAX_VLAN_TAGS && is_vlan(*ethertype); i++) {
		if (!fits(*off, 4, c->frame_len))
			return BM_REASON_DENY_MALFORMED;
		*ethertype = rd16(c->p + *off + 2);
		*off += 4;
	}
	return is_vlan(*ethertype) ? BM_REASON_DENY_VLAN_DEPTH : PKT_PARSE_OK;
}

static uint8_t parse_icmp(const struct cursor *c, size_t off, size_t end, struct pkt_info *out)
{
	uint8_t proto = out->tuple.proto, type;

	if (!fits(off, 8, end))
		return BM_REASON_DENY_MALFORMED;
	type = c->p[off];
	if (proto == BM_PROTO_ICMPV6 && out->tuple.family == BM_FAMILY_IPV6 && type >= 133 &&
	    type <= 137) {
		out->is_icmp6_nd = true;
		return BM_REASON_ALLOW_ICMP6_ND;
	}
	if ((proto == BM_PROTO_ICMP && (type == 8 || type == 0)) ||
	    (proto == BM_PROTO_ICMPV6 && (type == 128 || type == 129))) {
		out->flow_sport = rd16(c->p + off + 4);
		out->flow_dport = out->flow_sport;
	}
	return PKT_PARSE_OK;
}

static uint8_t parse_l4(const struct cursor *c, size_t off, size_t end, struct pkt_info *out)
{
	size_t need;

	switch (out->tuple.proto) {
	case BM_PROTO_TCP:
		if (!fits(off, 20, end) || (c->p[off + 12] >> 4) < 5 ||
		    !fits(off, (size_t)(c->p[off + 12] >> 4) * 4, end))
			return BM_REASON_DENY_MALFORMED;
		break;
	case BM_PROTO_UDP:
	case BM_PROTO_SCTP:
		need = out->tuple.proto == BM_PROTO_UDP ? 8 : 12;
		if (!fits(off, need, end))
			return BM_REASON_DENY_MALFORMED;
		break;
	case BM_PROTO_ICMP:
	case BM_PROTO_ICMPV6:
		return parse_icmp(c, off, end, out);
	default:
		return PKT_PARSE_OK;
	}
	out->tuple.sport = rd16(c->p + off);
	out->tuple.dport = rd16(c->p + off + 2);
	out->flow_sport = out->tuple.sport;
	out->flow_dport = out->tuple.dport;
	return PKT_PARSE_OK;
}

static uint8_t parse_ipv4(const struct cursor *c, size_t off, struct pkt_info *out)
{
	const uint8_t *ip = c->p + off;
	size_t hlen, tot;
	uint16_t frag;

	if (!fits(off, 20, c->frame_len) || ip[0] >> 4 != 4 || (ip[0] & 0xf) < 5)
		return BM_REASON_DENY_MALFORMED;
	hlen = (size_t)(ip[0] & 0xf) * 4;
	tot = rd16(ip + 2);
	if (tot < hlen || off + tot > c->frame_len)
		return BM_REASON_DENY_MALFORMED;
	out->is_ip = true;
	out->tuple.family = BM_FAMILY_IPV4;
	out->tuple.proto = ip[9];
	memcpy(out->tuple.saddr, ip + 12, 4);
	memcpy(out->tuple.daddr, ip + 16, 4);
	frag = rd16(ip + 6);
	if (frag & (IPV4_MF | IPV4_OFFSET)) {
		out->frag_id = rd16(ip + 4);
		out->frag_proto = ip[9];
		out->is_later_frag = (frag & IPV4_OFFSET) != 0;
		out->is_first_frag = !out->is_later_frag;
		if (out->is_later_frag)
			return PKT_PARSE_OK;
	}
	return parse_l4(c, off + hlen, off + tot, out);
}

static bool is_ipv6_ext(uint8_t nh)
{
	return nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_FRAGMENT || nh == NH_DSTOPTS ||
	       nh == NH_AH;
}

/* One extension header; WALK_STOP after a non-first fragment header. */
static uint8_t parse_ipv6_ext(const struct cursor *c, size_t *off, size_t end, uint8_t *nh,
			      struct pkt_info *out)
{
	const uint8_t *h = c->p + *off;
	size_t len;
	uint16_t frag;

	if (*nh == NH_FRAGMENT) {
		if (!fits(*off, 8, end))
			return BM_REASON_DENY_MALFORMED;
		*off += 8;
		*nh = h[0];
		frag = rd16(h + 2);
		if (!(frag & (IPV6_MF | IPV6_OFFSET)))
			return PKT_PARSE_OK; /* atomic fragment: a whole datagram */
		out->frag_id = rd32(h + 4);
		out->frag_proto = h[0];
		out->is_later_frag = (frag & IPV6_OFFSET) != 0;
		out->is_first_frag = !out->is_later_frag;
		return out->is_later_frag ? WALK_STOP : PKT_PARSE_OK;
	}
	if (!fits(*off, 2, end))
		return BM_REASON_DENY_MALFORMED;
	len = *nh == NH_AH ? ((size_t)h[1] + 2) * 4 : ((size_t)h[1] + 1) * 8;
	if (!fits(*off, len, end))
		return BM_REASON_DENY_MALFORMED;
	*nh = h[0];
	*off += len;
	return PKT_PARSE_OK;
}

static uint8_t parse_ipv6(const struct cursor *c, size_t off, struct pkt_info *out)
{
	const uint8_t *ip = c->p + off;
	uint8_t nh, ret;
	size_t end;
	int i;

	if (!fits(off, 40, c->frame_len) || ip[0] >> 4 != 6)
		return BM_REASON_DENY_MALFORMED;
	end = off + 40 + rd16(ip + 4);
	if (end > c->frame_len)
		return BM_REASON_DENY_MALFORMED;
	out->is_ip = true;
	out->tuple.family = BM_FAMILY_IPV6;
	memcpy(out->tuple.saddr, ip + 8, 16);
	memcpy(out->tuple.daddr, ip + 24, 16);
	nh = ip[6];
	off += 40;
	for (i = 0; i < BM_MAX_IPV6_EXTHDRS && is_ipv6_ext(nh); i++) {
		ret = parse_ipv6_ext(c, &off, end, &nh, out);
		if (ret == WALK_STOP) {
			out->tuple.proto = nh;
			return PKT_PARSE_OK;
		}
		if (ret != PKT_PARSE_OK)
			return ret;
	}
	if (is_ipv6_ext(nh))
		return BM_REASON_DENY_EXTHDR_LIMIT;
	out->tuple.proto = nh;
	return parse_l4(c, off, end, out);
}

/* See pkt_parse.h. */
uint8_t pkt_parse(const void *frame, size_t len, struct pkt_info *out)
{
	struct cursor c = {.p = frame, .frame_len = len};
	uint16_t ethertype = 0;
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	out->reason = parse_eth(&c, &off, &ethertype);
	if (out->reason != PKT_PARSE_OK)
		return out->reason;
	if (ethertype == ETH_P_IP)
		out->reason = parse_ipv4(&c, off, out);
	else if (ethertype == ETH_P_IPV6)
		out->reason = parse_ipv6(&c, off, out);
	else
		out->reason = BM_REASON_ALLOW_NOT_IP;
	return out->reason;
}
