/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The header variants the parser tests run, in userland (test_pkt_parse)
 * and through the XDP program (test_xdp_parse), with the verdict each one
 * gets under the fixture policy of xdp_fixture.h. Every builder returns the
 * offset where its last parsed header ends: every shorter frame is malformed.
 */
#ifndef BM_TESTS_PKT_CASES_H
#define BM_TESTS_PKT_CASES_H

#include <abi/abi.h>

#include "pkt_build.h"

/* Fixture addresses (host order) and identities; see xdp_fixture.h. */
#define FX_A4 0x0a000001u /* local, ingress + egress isolated */
#define FX_B4 0x0a000002u /* local, ingress isolated */
#define FX_C4 0x0a000003u /* local, not isolated */
#define FX_D4 0x0a000004u /* local, egress isolated, allowed nothing */
#define FX_R4 0x0a010005u /* in the remote CIDR 10.1.0.0/16 */
#define FX_W4 0x08080808u /* world */
#define FX_A6 1 /* 2001:db8::1 etc., see pb_addr6() */
#define FX_B6 2
#define FX_R6_HI 0x0001 /* 2001:db8:1::/48 is remote */

#define FX_ID_A 300
#define FX_ID_B 301
#define FX_ID_C 302
#define FX_ID_D 303
#define FX_ID_R 400

/* Rule ids of the fixture policy. */
#define FX_R_B_IN_TCP80 1
#define FX_R_B_IN_TCP8000 2
#define FX_R_B_IN_UDP 3
#define FX_R_B_IN_TCP443_AUTH 4
#define FX_R_A_EG_TCP 5
#define FX_R_A_EG_UDP 6
#define FX_R_B_IN_ICMP 7
#define FX_R_B_IN_TCP9090_SPILL 8
#define FX_R_B_IN_ANY_TCP22 9
#define FX_R_A_EG_ICMP 10
#define FX_R_A_EG_SCTP 11
#define FX_R_B_IN_SCTP5000 12
#define FX_R_A_IN_FROM_C 13

struct pkt_case {
	const char *name;
	size_t (*build)(struct pb *b); /* returns the end of the last parsed header */
	uint8_t parse_reason; /* pkt_parse(): BM_REASON_MAX for "an IP packet to judge" */
	uint8_t reason; /* verdict reason under the fixture policy */
	uint32_t rule_id;
};

static inline void pc_v6(struct pb *b, uint8_t nh)
{
	uint8_t s[16], d[16];

	pb_addr6(s, FX_A6);
	pb_addr6(d, FX_B6);
	pb_ipv6(b, nh, s, d);
}

static inline size_t pc_v4_tcp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IP);
	pb_ipv4(b, 6, FX_A4, FX_B4);
	pb_tcp(b, 1111, 80);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v4_tcp_opts(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IP);
	pb_ipv4_ex(b, 6, FX_A4, FX_B4, 8, 0, 7);
	pb_tcp_ex(b, 1111, 80, 9);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v4_udp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IP);
	pb_ipv4(b, 17, FX_A4, FX_B4);
	pb_udp(b, 1111, 53);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v4_sctp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IP);
	pb_ipv4(b, 132, FX_A4, FX_B4);
	pb_sctp(b, 1111, 5000);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v4_icmp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IP);
	pb_ipv4(b, 1, FX_A4, FX_B4);
	pb_icmp(b, 8, 0, 0x77);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v4_other(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IP);
	pb_ipv4(b, 47, FX_A4, FX_B4);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_vlan1_tcp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_8021Q);
	pb_vlan(b, PB_ETH_IP);
	pb_ipv4(b, 6, FX_A4, FX_B4);
	pb_tcp(b, 1111, 80);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_vlan2_tcp6(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_8021AD);
	pb_vlan(b, PB_ETH_8021Q);
	pb_vlan(b, PB_ETH_IPV6);
	pc_v6(b, 6);
	pb_tcp(b, 1111, 8042);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_vlan3(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_8021AD);
	pb_vlan(b, PB_ETH_8021Q);
	pb_vlan(b, PB_ETH_8021Q);
	end = b->len; /* the third tag's TPID is the second tag's ethertype */
	pb_vlan(b, PB_ETH_IP);
	pb_ipv4(b, 6, FX_A4, FX_B4);
	pb_tcp(b, 1111, 80);
	return end;
}

static inline size_t pc_arp(struct pb *b)
{
	pb_eth(b, PB_ETH_ARP);
	pb_payload(b, 28);
	return 14;
}

static inline size_t pc_v4_first_frag(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IP);
	pb_ipv4_ex(b, 17, FX_A4, FX_B4, 5, 0x2000, 0x4242);
	pb_udp(b, 1111, 53);
	end = b->len;
	pb_payload(b, 64);
	return end;
}

static inline size_t pc_v4_later_frag_tcp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IP);
	pb_ipv4_ex(b, 6, FX_A4, FX_B4, 5, 185, 0x4343);
	end = b->len;
	pb_payload(b, 64);
	return end;
}

static inline size_t pc_v4_later_frag_udp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IP);
	pb_ipv4_ex(b, 17, FX_A4, FX_B4, 5, 185, 0x4444);
	end = b->len;
	pb_payload(b, 64);
	return end;
}

static inline size_t pc_v6_tcp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IPV6);
	pc_v6(b, 6);
	pb_tcp(b, 1111, 80);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v6_udp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IPV6);
	pc_v6(b, 17);
	pb_udp(b, 1111, 53);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v6_sctp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IPV6);
	pc_v6(b, 132);
	pb_sctp(b, 1111, 5000);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v6_icmp6_echo(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IPV6);
	pc_v6(b, 58);
	pb_icmp(b, 128, 0, 0x99);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v6_nd(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IPV6);
	pc_v6(b, 58);
	pb_icmp(b, 135, 0, 0);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

/* Hop-by-hop, routing, destination options, AH, then TCP. */
static inline size_t pc_v6_exthdrs_tcp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IPV6);
	pc_v6(b, 0);
	pb_ipv6_opts(b, 43, 0);
	pb_ipv6_opts(b, 60, 1);
	pb_ipv6_opts(b, 51, 0);
	pb_ipv6_ah(b, 6, 4);
	pb_tcp(b, 1111, 80);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v6_first_frag_udp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IPV6);
	pc_v6(b, 44);
	pb_ipv6_frag(b, 17, 0, 1, 0x51515151);
	pb_udp(b, 1111, 53);
	end = b->len;
	pb_payload(b, 64);
	return end;
}

static inline size_t pc_v6_later_frag_tcp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IPV6);
	pc_v6(b, 60);
	pb_ipv6_opts(b, 44, 0);
	pb_ipv6_frag(b, 6, 100, 1, 0x52525252);
	end = b->len;
	pb_payload(b, 64);
	return end;
}

static inline size_t pc_v6_atomic_frag_tcp(struct pb *b)
{
	size_t end;

	pb_eth(b, PB_ETH_IPV6);
	pc_v6(b, 44);
	pb_ipv6_frag(b, 6, 0, 0, 0x53535353);
	pb_tcp(b, 1111, 80);
	end = b->len;
	pb_payload(b, 16);
	return end;
}

/* n destination-options headers, then UDP. */
static inline size_t pc_v6_n_exthdrs(struct pb *b, int n)
{
	size_t end = 0;
	int i;

	pb_eth(b, PB_ETH_IPV6);
	pc_v6(b, 60);
	for (i = 0; i < n; i++) {
		pb_ipv6_opts(b, i == n - 1 ? 17 : 60, 0);
		if (i == BM_MAX_IPV6_EXTHDRS - 1)
			end = b->len; /* the walk stops here; the limit needs no more */
	}
	pb_udp(b, 1111, 53);
	if (n <= BM_MAX_IPV6_EXTHDRS)
		end = b->len;
	pb_payload(b, 16);
	return end;
}

static inline size_t pc_v6_max_exthdrs(struct pb *b)
{
	return pc_v6_n_exthdrs(b, BM_MAX_IPV6_EXTHDRS);
}

static inline size_t pc_v6_too_many_exthdrs(struct pb *b)
{
	return pc_v6_n_exthdrs(b, BM_MAX_IPV6_EXTHDRS + 1);
}

#define PC_OK BM_REASON_MAX

static const struct pkt_case pkt_cases[] = {
	{"v4_tcp", pc_v4_tcp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP80},
	{"v4_tcp_options", pc_v4_tcp_opts, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP80},
	{"v4_udp", pc_v4_udp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_UDP},
	{"v4_sctp", pc_v4_sctp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_SCTP5000},
	{"v4_icmp_echo", pc_v4_icmp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_ICMP},
	{"v4_other_proto", pc_v4_other, PC_OK, BM_REASON_DENY_INGRESS, 0},
	{"vlan1_v4_tcp", pc_vlan1_tcp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP80},
	{"vlan2_v6_tcp", pc_vlan2_tcp6, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP8000},
	{"vlan3", pc_vlan3, BM_REASON_DENY_VLAN_DEPTH, BM_REASON_DENY_VLAN_DEPTH, 0},
	{"arp", pc_arp, BM_REASON_ALLOW_NOT_IP, BM_REASON_ALLOW_NOT_IP, 0},
	{"v4_first_frag_udp", pc_v4_first_frag, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_UDP},
	{"v4_later_frag_tcp", pc_v4_later_frag_tcp, PC_OK, BM_REASON_DENY_FRAGMENT, 0},
	{"v4_later_frag_udp", pc_v4_later_frag_udp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_UDP},
	{"v6_tcp", pc_v6_tcp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP80},
	{"v6_udp", pc_v6_udp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_UDP},
	{"v6_sctp", pc_v6_sctp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_SCTP5000},
	{"v6_icmp6_echo", pc_v6_icmp6_echo, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_ICMP},
	{"v6_nd", pc_v6_nd, BM_REASON_ALLOW_ICMP6_ND, BM_REASON_ALLOW_ICMP6_ND, 0},
	{"v6_exthdrs_tcp", pc_v6_exthdrs_tcp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_TCP80},
	{"v6_first_frag_udp", pc_v6_first_frag_udp, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_UDP},
	{"v6_later_frag_tcp", pc_v6_later_frag_tcp, PC_OK, BM_REASON_DENY_FRAGMENT, 0},
	{"v6_atomic_frag_tcp", pc_v6_atomic_frag_tcp, PC_OK, BM_REASON_ALLOW_POLICY,
	 FX_R_B_IN_TCP80},
	{"v6_max_exthdrs", pc_v6_max_exthdrs, PC_OK, BM_REASON_ALLOW_POLICY, FX_R_B_IN_UDP},
	{"v6_too_many_exthdrs", pc_v6_too_many_exthdrs, BM_REASON_DENY_EXTHDR_LIMIT,
	 BM_REASON_DENY_EXTHDR_LIMIT, 0},
};

#define PKT_CASES_N (sizeof(pkt_cases) / sizeof(pkt_cases[0]))

#endif /* BM_TESTS_PKT_CASES_H */
