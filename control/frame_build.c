// SPDX-License-Identifier: GPL-2.0-only
/* Building a well-formed Ethernet frame for one tuple. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <linux/if_ether.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "frame_build.h"

#define L4_LEN 20 /* room for the largest header we write (TCP) */

/*
 * Headers are built in aligned locals and copied into the frame: behind a
 * 14-byte Ethernet header they sit at addresses their types may not occupy.
 */
static size_t put_l4(const struct pe_tuple *t, unsigned char *p)
{
	union {
		struct tcphdr tcp;
		struct udphdr udp;
		struct icmphdr icmp;
		unsigned char bytes[L4_LEN];
	} h;
	size_t len = 8;

	memset(&h, 0, sizeof(h));
	switch (t->proto) {
	case BM_PROTO_TCP:
		h.tcp.source = htons(t->sport);
		h.tcp.dest = htons(t->dport);
		h.tcp.doff = 5;
		h.tcp.syn = 1;
		len = sizeof(h.tcp);
		break;
	case BM_PROTO_UDP:
		h.udp.source = htons(t->sport);
		h.udp.dest = htons(t->dport);
		h.udp.len = htons(sizeof(h.udp));
		len = sizeof(h.udp);
		break;
	case BM_PROTO_SCTP: /* common header: ports, verification tag, checksum */
		h.udp.source = htons(t->sport);
		h.udp.dest = htons(t->dport);
		len = 12;
		break;
	case BM_PROTO_ICMP:
		h.icmp.type = ICMP_ECHO;
		break;
	case BM_PROTO_ICMPV6:
		h.icmp.type = ICMPV6_ECHO_REQUEST;
		break;
	default:
		break;
	}
	memcpy(p, &h, len);
	return len;
}

static size_t put_ipv4(const struct pe_tuple *t, unsigned char *p)
{
	size_t l4 = put_l4(t, p + sizeof(struct iphdr));
	struct iphdr ip;

	memset(&ip, 0, sizeof(ip));
	ip.version = 4;
	ip.ihl = 5;
	ip.ttl = 64;
	ip.protocol = t->proto;
	ip.tot_len = htons((uint16_t)(sizeof(ip) + l4));
	memcpy(&ip.saddr, t->saddr, 4);
	memcpy(&ip.daddr, t->daddr, 4);
	memcpy(p, &ip, sizeof(ip));
	return sizeof(ip) + l4;
}

static size_t put_ipv6(const struct pe_tuple *t, unsigned char *p)
{
	size_t l4 = put_l4(t, p + sizeof(struct ipv6hdr));
	struct ipv6hdr ip;

	memset(&ip, 0, sizeof(ip));
	ip.version = 6;
	ip.hop_limit = 64;
	ip.nexthdr = t->proto;
	ip.payload_len = htons((uint16_t)l4);
	memcpy(&ip.saddr, t->saddr, 16);
	memcpy(&ip.daddr, t->daddr, 16);
	memcpy(p, &ip, sizeof(ip));
	return sizeof(ip) + l4;
}

/* See frame_build.h. */
int frame_build(const struct pe_tuple *t, unsigned char *buf, size_t len)
{
	struct ethhdr eth;
	size_t l3;

	if (len < FRAME_BUILD_MAX)
		return -EINVAL;
	memset(buf, 0, FRAME_BUILD_MAX);
	memcpy(eth.h_dest, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(eth.h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	if (t->family == BM_FAMILY_IPV4) {
		eth.h_proto = htons(ETH_P_IP);
		l3 = put_ipv4(t, buf + sizeof(eth));
	} else if (t->family == BM_FAMILY_IPV6) {
		eth.h_proto = htons(ETH_P_IPV6);
		l3 = put_ipv6(t, buf + sizeof(eth));
	} else {
		return -EINVAL;
	}
	memcpy(buf, &eth, sizeof(eth));
	return (int)(sizeof(eth) + l3);
}
