/* SPDX-License-Identifier: GPL-2.0-only */
/* Human names for reasons, verdicts, protocols and identities. */
#ifndef BM_NAMES_H
#define BM_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* "deny-ingress", "allow-policy", ...; "reason-N" for unknown values. Cannot fail. */
const char *names_reason(uint32_t reason);

/* "allow", "deny", "allow-auth". Cannot fail. */
const char *names_verdict(uint32_t verdict);

/* "tcp", "udp", "sctp", "icmp", "icmpv6", or the number in buf. Cannot fail. */
const char *names_proto(uint8_t proto, char *buf, size_t len);

/* Parse "tcp", "udp", "sctp", "icmp", "icmpv6"; returns the number or -EINVAL. */
int names_parse_proto(const char *text);

#endif /* BM_NAMES_H */
