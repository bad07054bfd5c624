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

static size_t put_l4(const struct pe_tuple *t, unsigned char *p)
{
	struct tcphdr *tcp = (struct tcphdr *)p;
	struct udphdr *udp = (struct udphdr *)p;
	struct icmphdr *icmp = (struct icmphdr *)p;

	memset(p, 0, L4_LEN);
	switch (t->proto) {
	case BM_PROTO_TCP:
		tcp->source = htons(t->sport);
		tcp->dest = htons(t->dport);
		tcp->doff = 5;
		tcp->syn = 1;
		return sizeof(*tcp);
	case BM_PROTO_UDP:
		udp->source = htons(t->sport);
		udp->dest = htons(t->dport);
		udp->len = htons(sizeof(*udp));
		return sizeof(*udp);
	case BM_PROTO_SCTP: /* common header: ports, verification tag, checksum */
		udp->source = htons(t->sport);
		udp->dest = htons(t->dport);
		return 12;
	case BM_PROTO_ICMP:
		icmp->type = ICMP_ECHO;
		return 8;
	case BM_PROTO_ICMPV6:
		icmp->type = ICMPV6_ECHO_REQUEST;
		return 8;
	default:
		return 8;
	}
}

/* See frame_build.h. */
int frame_build(const struct pe_tuple *t, unsigned char *buf, size_t len)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct ipv6hdr *ip6;
	struct iphdr *ip4;
	size_t l3, l4;

	if (len < FRAME_BUILD_MAX)
		return -EINVAL;
	memset(buf, 0, FRAME_BUILD_MAX);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	if (t->family == BM_FAMILY_IPV4) {
		eth->h_proto = htons(ETH_P_IP);
		ip4 = (struct iphdr *)(eth + 1);
		l3 = sizeof(*ip4);
		l4 = put_l4(t, buf + sizeof(*eth) + l3);
		ip4->version = 4;
		ip4->ihl = 5;
		ip4->ttl = 64;
		ip4->protocol = t->proto;
		ip4->tot_len = htons((uint16_t)(l3 + l4));
		memcpy(&ip4->saddr, t->saddr, 4);
		memcpy(&ip4->daddr, t->daddr, 4);
	} else if (t->family == BM_FAMILY_IPV6) {
		eth->h_proto = htons(ETH_P_IPV6);
		ip6 = (struct ipv6hdr *)(eth + 1);
		l3 = sizeof(*ip6);
		l4 = put_l4(t, buf + sizeof(*eth) + l3);
		ip6->version = 6;
		ip6->hop_limit = 64;
		ip6->nexthdr = t->proto;
		ip6->payload_len = htons((uint16_t)l4);
		memcpy(&ip6->saddr, t->saddr, 16);
		memcpy(&ip6->daddr, t->daddr, 16);
	} else {
		return -EINVAL;
	}
	return (int)(sizeof(*eth) + l3 + l4);
}
