/* SPDX-License-Identifier: GPL-2.0-only */
/* Building a well-formed Ethernet frame for one tuple (policy check --bpf). */
#ifndef BM_FRAME_BUILD_H
#define BM_FRAME_BUILD_H

#include <stddef.h>

#include "policy_eval.h"

#define FRAME_BUILD_MAX 128

/*
 * Write Ethernet + IPv4/IPv6 + TCP(SYN)/UDP/SCTP/ICMP(echo request)/ICMPv6
 * (echo request) headers for t into buf (>= FRAME_BUILD_MAX bytes); other
 * protocols get an IP header and 8 zero payload bytes. Returns the frame
 * length, or -EINVAL for an unknown family.
 */
int frame_build(const struct pe_tuple *t, unsigned char *buf, size_t len);

#endif /* BM_FRAME_BUILD_H */
