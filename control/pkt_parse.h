/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The userland mirror of bpf/lib/parse.h: the same frame gives the same
 * reason, tuple and fragment facts as in the XDP program. The rules (which
 * truncation or inconsistency is DENY_MALFORMED, VLAN depth, IPv6 extension
 * header limit, ICMPv6 ND, fragments) are listed in bpf/lib/parse.h; any
 * change there is made here too, and tests/unit/test_pkt_parse.c plus
 * tests/bpf/test_xdp_parse.c run the same frames through both.
 */
#ifndef BM_PKT_PARSE_H
#define BM_PKT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <abi/abi.h>

#include "policy_eval.h"

/* pkt_info.reason when the frame is an IP packet to judge (not a reason). */
#define PKT_PARSE_OK BM_REASON_MAX

struct pkt_info {
	struct pe_tuple tuple; /* valid when is_ip; ports 0 unless TCP/UDP/SCTP */
	uint32_t frag_id; /* IPv4 id or IPv6 fragment id, when a fragment */
	uint16_t flow_sport; /* host order; flow-key source port: TCP/UDP/SCTP or echo id */
	uint16_t flow_dport; /* host order; flow-key destination port */
	uint8_t reason; /* PKT_PARSE_OK or the BM_REASON_* the frame gets unjudged */
	uint8_t frag_proto; /* IPv4 protocol / IPv6 fragment header next header */
	bool is_ip; /* addresses and family were read */
	bool is_first_frag; /* offset 0, more fragments follow */
	bool is_later_frag; /* offset > 0: no L4 header was read */
	bool is_icmp6_nd; /* ICMPv6 133-137: reason is ALLOW_ICMP6_ND */
};

/*
 * Parse an Ethernet frame of len bytes. Fills *out (zeroed first) and
 * returns out->reason: PKT_PARSE_OK or a BM_REASON_*. Cannot fail.
 */
uint8_t pkt_parse(const void *frame, size_t len, struct pkt_info *out);

#endif /* BM_PKT_PARSE_H */
