/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing for the XDP program: Ethernet (up to BM_MAX_VLAN_TAGS
 * 802.1Q / 802.1ad tags), IPv4, IPv6 with its extension headers, and the
 * ports or ICMP echo identifier of TCP, UDP, SCTP, ICMP and ICMPv6.
 * control/pkt_parse.c mirrors every rule here, reason for reason.
 *
 * Outcome of bm_parse(): BM_PARSE_OK with *pkt filled, or a BM_REASON_*:
 *  - DENY_MALFORMED: frame shorter than a header it announces (Ethernet 14,
 *    VLAN tag 4, IPv4 20 and ihl*4, IPv6 40, each extension header in full,
 *    TCP 20 and doff*4, UDP 8, SCTP 12, ICMP/ICMPv6 8); IP version not the
 *    ethertype's; IPv4 ihl < 5 or total length < ihl*4 or past the frame;
 *    IPv6 40 + payload length past the frame; TCP doff < 5. Every L3 and L4
 *    header must also lie inside the IP datagram (IPv4 total length, IPv6
 *    40 + payload length), not in trailing frame padding.
 *  - DENY_VLAN_DEPTH: a third VLAN tag.
 *  - DENY_EXTHDR_LIMIT: still an extension header after BM_MAX_IPV6_EXTHDRS.
 *  - ALLOW_NOT_IP: an ethertype other than IPv4/IPv6 after the tags.
 *  - ALLOW_ICMP6_ND: ICMPv6 types 133-137 in IPv6.
 * A non-first fragment (offset > 0) has no L4 header: its ports are 0 and
 * its protocol the IPv4 protocol or the IPv6 fragment header's next header.
 */
#ifndef BM_LIB_PARSE_H
#define BM_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "abi/abi.h"

/* Not a reason: bm_parse() found an IP packet to judge. */
#define BM_PARSE_OK BM_REASON_MAX

/* The verifier needs packet offsets bounded; no real header lies this far. */
#define BM_PARSE_MAX_OFF 0x3fff

/* bm_pkt.flags */
#define BM_PKT_F_FIRST_FRAG (1U << 0) /* offset 0, more fragments follow */
#define BM_PKT_F_LATER_FRAG (1U << 1) /* offset > 0: no L4 header */
#define BM_PKT_F_ICMP_ERROR (1U << 2) /* ICMP error: an inner header may follow */

#define BM_IPV4_MF 0x2000
#define BM_IPV4_OFFSET 0x1fff
#define BM_IPV6_MF 0x0001
#define BM_IPV6_OFFSET 0xfff8

struct bm_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct bm_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 id;
};

/* The first 8 bytes of every ICMP and ICMPv6 message. */
struct bm_icmp_hdr {
	__u8 type;
	__u8 code;
	__be16 csum;
	__be16 id; /* echo only */
	__be16 seq;
};

/* The first 12 bytes of SCTP: the common header. */
struct bm_sctp_hdr {
	__be16 source;
	__be16 dest;
	__be32 vtag;
	__be32 csum;
};

struct bm_pkt {
	struct bm_flow_key key; /* addresses, wire ports / echo id, proto, family */
	__u32 frag_id; /* IPv4 id or IPv6 fragment id, when a fragment */
	__u32 len; /* frame length, for counters */
	__u16 port; /* host-order destination port the policy sees (0 if none) */
	__u16 sport; /* host-order source port, for judging the reverse */
	__u16 inner_off; /* BM_PKT_F_ICMP_ERROR: offset of the quoted IP header */
	__u16 inner_end; /* end of the datagram that quotes it */
	__u8 flags; /* BM_PKT_F_* */
	__u8 frag_proto; /* protocol recorded for fragments */
};

/*
 * A pointer to len bytes at off, or NULL if they reach past end (a length the
 * headers announced, never beyond the frame) or past the frame itself.
 */
static __always_inline void *bm_hdr(struct xdp_md *ctx, __u32 off, __u32 len, __u32 end)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *p = (void *)(long)ctx->data;

	if (off > BM_PARSE_MAX_OFF) /* verifier: bound the variable offset */
		return NULL;
	if (off + len > end)
		return NULL;
	p += off;
	if (p + len > data_end) /* verifier: the check it tracks */
		return NULL;
	return p;
}

static __always_inline int bm_is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* Ethernet and VLAN tags: *off past them, *proto the inner ethertype. */
static __always_inline __u32 bm_parse_eth(struct xdp_md *ctx, __u32 flen, __u32 *off, __be16 *proto)
{
	struct bm_vlan_hdr *vh;
	struct ethhdr *eth;
	int i;

	eth = bm_hdr(ctx, 0, sizeof(*eth), flen);
	if (!eth)
		return BM_REASON_DENY_MALFORMED;
	*proto = eth->h_proto;
	*off = sizeof(*eth);
	for (i = 0; i < BM_MAX_VLAN_TAGS; i++) {
		if (!bm_is_vlan(*proto))
			break;
		vh = bm_hdr(ctx, *off, sizeof(*vh), flen);
		if (!vh)
			return BM_REASON_DENY_MALFORMED;
		*proto = vh->proto;
		*off += sizeof(*vh);
	}
	if (bm_is_vlan(*proto))
		return BM_REASON_DENY_VLAN_DEPTH;
	return BM_PARSE_OK;
}

static __always_inline int bm_icmp_is_echo(__u8 proto, __u8 type)
{
	return (proto == IPPROTO_ICMP && (type == 8 || type == 0)) ||
	       (proto == IPPROTO_ICMPV6 && (type == 128 || type == 129));
}

/* Errors that quote the datagram they are about: unreachable, too big, time, parameter. */
static __always_inline int bm_icmp_is_error(__u8 proto, __u8 type)
{
	return (proto == IPPROTO_ICMP && (type == 3 || type == 11 || type == 12)) ||
	       (proto == IPPROTO_ICMPV6 && type >= 1 && type <= 4);
}

/* ICMP / ICMPv6: echo identifier as both ports; ND passes. */
static __always_inline __u32 bm_parse_icmp(struct xdp_md *ctx, __u32 off, __u32 end,
					   struct bm_pkt *pkt)
{
	struct bm_icmp_hdr *ih = bm_hdr(ctx, off, sizeof(*ih), end);
	__u8 proto = pkt->key.proto;

	if (!ih)
		return BM_REASON_DENY_MALFORMED;
	if (proto == IPPROTO_ICMPV6 && pkt->key.family == BM_FAMILY_IPV6 && ih->type >= 133 &&
	    ih->type <= 137)
		return BM_REASON_ALLOW_ICMP6_ND;
	if (bm_icmp_is_echo(proto, ih->type)) {
		pkt->key.sport = ih->id;
		pkt->key.dport = ih->id;
	}
	if (bm_icmp_is_error(proto, ih->type)) {
		pkt->flags |= BM_PKT_F_ICMP_ERROR;
		pkt->inner_off = off + sizeof(*ih);
		pkt->inner_end = end;
	}
	return BM_PARSE_OK;
}

/* The upper-layer header at off; end is the end of the IP datagram. */
static __always_inline __u32 bm_parse_l4(struct xdp_md *ctx, __u32 off, __u32 end,
					 struct bm_pkt *pkt)
{
	struct bm_sctp_hdr *sh;
	struct udphdr *uh;
	struct tcphdr *th;

	switch (pkt->key.proto) {
	case IPPROTO_TCP:
		th = bm_hdr(ctx, off, sizeof(*th), end);
		if (!th || th->doff < 5 || off + th->doff * 4 > end)
			return BM_REASON_DENY_MALFORMED;
		pkt->key.sport = th->source;
		pkt->key.dport = th->dest;
		break;
	case IPPROTO_UDP:
		uh = bm_hdr(ctx, off, sizeof(*uh), end);
		if (!uh)
			return BM_REASON_DENY_MALFORMED;
		pkt->key.sport = uh->source;
		pkt->key.dport = uh->dest;
		break;
	case IPPROTO_SCTP:
		sh = bm_hdr(ctx, off, sizeof(*sh), end);
		if (!sh)
			return BM_REASON_DENY_MALFORMED;
		pkt->key.sport = sh->source;
		pkt->key.dport = sh->dest;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return bm_parse_icmp(ctx, off, end, pkt);
	default:
		return BM_PARSE_OK;
	}
	pkt->port = bpf_ntohs(pkt->key.dport);
	pkt->sport = bpf_ntohs(pkt->key.sport);
	return BM_PARSE_OK;
}

static __always_inline __u32 bm_parse_ipv4(struct xdp_md *ctx, __u32 off, __u32 flen,
					   struct bm_pkt *pkt)
{
	__u32 hlen, tot, frag;
	struct iphdr *iph;

	iph = bm_hdr(ctx, off, sizeof(*iph), flen);
	if (!iph || iph->version != 4 || iph->ihl < 5)
		return BM_REASON_DENY_MALFORMED;
	hlen = iph->ihl * 4;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hlen || off + tot > flen)
		return BM_REASON_DENY_MALFORMED;
	pkt->key.family = BM_FAMILY_IPV4;
	pkt->key.proto = iph->protocol;
	__builtin_memcpy(pkt->key.saddr, &iph->saddr, 4);
	__builtin_memcpy(pkt->key.daddr, &iph->daddr, 4);
	frag = bpf_ntohs(iph->frag_off);
	if (frag & (BM_IPV4_MF | BM_IPV4_OFFSET)) {
		pkt->frag_id = bpf_ntohs(iph->id);
		pkt->frag_proto = iph->protocol;
		pkt->flags = (frag & BM_IPV4_OFFSET) ? BM_PKT_F_LATER_FRAG : BM_PKT_F_FIRST_FRAG;
		if (frag & BM_IPV4_OFFSET)
			return BM_PARSE_OK;
	}
	return bm_parse_l4(ctx, off + hlen, off + tot, pkt);
}

static __always_inline int bm_is_ipv6_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_FRAGMENT ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH;
}

/*
 * One extension header at *off: advance *off and *nh. Returns BM_PARSE_OK,
 * DENY_MALFORMED, or BM_REASON_ALLOW_FRAGMENT to say "a non-first fragment:
 * stop walking" (never a verdict by itself).
 */
static __always_inline __u32 bm_parse_ipv6_ext(struct xdp_md *ctx, __u32 *off, __u32 end, __u8 *nh,
					       struct bm_pkt *pkt)
{
	struct bm_ipv6_frag_hdr *fh;
	struct ipv6_opt_hdr *oh;
	__u32 len, frag;

	if (*nh == IPPROTO_FRAGMENT) {
		fh = bm_hdr(ctx, *off, sizeof(*fh), end);
		if (!fh)
			return BM_REASON_DENY_MALFORMED;
		*off += sizeof(*fh);
		*nh = fh->nexthdr;
		frag = bpf_ntohs(fh->frag_off);
		if (!(frag & (BM_IPV6_MF | BM_IPV6_OFFSET)))
			return BM_PARSE_OK; /* atomic fragment: a whole datagram */
		pkt->frag_id = bpf_ntohl(fh->id);
		pkt->frag_proto = fh->nexthdr;
		if (frag & BM_IPV6_OFFSET) {
			pkt->flags = BM_PKT_F_LATER_FRAG;
			return BM_REASON_ALLOW_FRAGMENT;
		}
		pkt->flags = BM_PKT_F_FIRST_FRAG;
		return BM_PARSE_OK;
	}
	oh = bm_hdr(ctx, *off, sizeof(*oh), end);
	if (!oh)
		return BM_REASON_DENY_MALFORMED;
	len = *nh == IPPROTO_AH ? (oh->hdrlen + 2) * 4 : (oh->hdrlen + 1) * 8;
	if (*off + len > end)
		return BM_REASON_DENY_MALFORMED;
	*nh = oh->nexthdr;
	*off += len;
	return BM_PARSE_OK;
}

static __always_inline __u32 bm_parse_ipv6(struct xdp_md *ctx, __u32 off, __u32 flen,
					   struct bm_pkt *pkt)
{
	struct ipv6hdr *ip6;
	__u32 end, ret;
	__u8 nh;
	int i;

	ip6 = bm_hdr(ctx, off, sizeof(*ip6), flen);
	if (!ip6 || ip6->version != 6)
		return BM_REASON_DENY_MALFORMED;
	end = off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (end > flen)
		return BM_REASON_DENY_MALFORMED;
	pkt->key.family = BM_FAMILY_IPV6;
	__builtin_memcpy(pkt->key.saddr, &ip6->saddr, 16);
	__builtin_memcpy(pkt->key.daddr, &ip6->daddr, 16);
	nh = ip6->nexthdr;
	off += sizeof(*ip6);
	for (i = 0; i < BM_MAX_IPV6_EXTHDRS; i++) {
		if (!bm_is_ipv6_ext(nh))
			break;
		ret = bm_parse_ipv6_ext(ctx, &off, end, &nh, pkt);
		if (ret == BM_REASON_ALLOW_FRAGMENT) {
			pkt->key.proto = nh;
			return BM_PARSE_OK;
		}
		if (ret != BM_PARSE_OK)
			return ret;
	}
	if (bm_is_ipv6_ext(nh))
		return BM_REASON_DENY_EXTHDR_LIMIT;
	pkt->key.proto = nh;
	return bm_parse_l4(ctx, off, end, pkt);
}

/* Ports (or echo identifier) of a quoted upper-layer header; 0 when unreadable. */
static __always_inline int bm_parse_inner_l4(struct xdp_md *ctx, __u32 off, __u32 end,
					     struct bm_flow_key *key)
{
	struct bm_icmp_hdr *ih;
	__be16 *ports;

	switch (key->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		ports = bm_hdr(ctx, off, 4, end); /* errors quote at least 8 bytes */
		if (!ports)
			return -1;
		key->sport = ports[0];
		key->dport = ports[1];
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		ih = bm_hdr(ctx, off, sizeof(*ih), end);
		if (!ih)
			return -1;
		if (bm_icmp_is_echo(key->proto, ih->type)) {
			key->sport = ih->id;
			key->dport = ih->id;
		}
		return 0;
	default:
		return 0;
	}
}

/*
 * The flow key of the datagram an ICMP error quotes (pkt has
 * BM_PKT_F_ICMP_ERROR). IPv6 extension headers are not walked: the quoted
 * next header is taken as the protocol. Returns 0, or -1 when the quote is
 * short, of another family, or a non-first fragment. Never a verdict: an
 * unreadable quote just makes the error unrelated.
 */
static __always_inline int bm_parse_inner(struct xdp_md *ctx, const struct bm_pkt *pkt,
					  struct bm_flow_key *key)
{
	__u32 off = pkt->inner_off, end = pkt->inner_end;
	struct ipv6hdr *ip6;
	struct iphdr *iph;

	key->family = pkt->key.family;
	if (key->family == BM_FAMILY_IPV4) {
		iph = bm_hdr(ctx, off, sizeof(*iph), end);
		if (!iph || iph->version != 4 || iph->ihl < 5 ||
		    (bpf_ntohs(iph->frag_off) & BM_IPV4_OFFSET))
			return -1;
		__builtin_memcpy(key->saddr, &iph->saddr, 4);
		__builtin_memcpy(key->daddr, &iph->daddr, 4);
		key->proto = iph->protocol;
		return bm_parse_inner_l4(ctx, off + iph->ihl * 4, end, key);
	}
	ip6 = bm_hdr(ctx, off, sizeof(*ip6), end);
	if (!ip6 || ip6->version != 6)
		return -1;
	__builtin_memcpy(key->saddr, &ip6->saddr, 16);
	__builtin_memcpy(key->daddr, &ip6->daddr, 16);
	key->proto = ip6->nexthdr;
	return bm_parse_inner_l4(ctx, off + sizeof(*ip6), end, key);
}

/*
 * Parse the frame into *pkt, which the caller zeroed. Returns BM_PARSE_OK or
 * the reason of the verdict the frame gets without a policy lookup.
 */
static __always_inline __u32 bm_parse(struct xdp_md *ctx, struct bm_pkt *pkt)
{
	__u32 off = 0, ret, flen;
	__be16 proto = 0;

	flen = (__u32)(ctx->data_end - ctx->data);
	pkt->len = flen;
	ret = bm_parse_eth(ctx, flen, &off, &proto);
	if (ret != BM_PARSE_OK)
		return ret;
	if (proto == bpf_htons(ETH_P_IP))
		return bm_parse_ipv4(ctx, off, flen, pkt);
	if (proto == bpf_htons(ETH_P_IPV6))
		return bm_parse_ipv6(ctx, off, flen, pkt);
	return BM_REASON_ALLOW_NOT_IP;
}

#endif /* BM_LIB_PARSE_H */
