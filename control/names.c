// SPDX-License-Identifier: GPL-2.0-only
/* Human names for reasons, verdicts and protocols. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <abi/abi.h>

#include "names.h"

static const char *const reason_names[BM_REASON_MAX] = {
	[BM_REASON_ALLOW_POLICY] = "allow-policy",
	[BM_REASON_ALLOW_NOT_ENDPOINT] = "allow-not-endpoint",
	[BM_REASON_ALLOW_NOT_ISOLATED] = "allow-not-isolated",
	[BM_REASON_ALLOW_AUTH] = "allow-authenticated",
	[BM_REASON_ALLOW_REPLY] = "allow-reply",
	[BM_REASON_ALLOW_NOT_IP] = "allow-not-ip",
	[BM_REASON_ALLOW_ICMP6_ND] = "allow-icmp6-nd",
	[BM_REASON_ALLOW_FLOW] = "allow-flow",
	[BM_REASON_ALLOW_FRAGMENT] = "allow-fragment",
	[BM_REASON_ALLOW_NO_POLICY] = "allow-no-policy",
	[BM_REASON_ALLOW_RELATED] = "allow-related",
	[BM_REASON_DENY_INGRESS] = "deny-ingress",
	[BM_REASON_DENY_EGRESS] = "deny-egress",
	[BM_REASON_DENY_AUTH_MISSING] = "deny-auth-missing",
	[BM_REASON_DENY_AUTH_EXPIRED] = "deny-auth-expired",
	[BM_REASON_DENY_MALFORMED] = "deny-malformed",
	[BM_REASON_DENY_FRAGMENT] = "deny-fragment",
	[BM_REASON_DENY_EXTHDR_LIMIT] = "deny-exthdr-limit",
	[BM_REASON_DENY_VLAN_DEPTH] = "deny-vlan-depth",
	[BM_REASON_DENY_INTERNAL] = "deny-internal",
	[BM_REASON_DENY_SPOOFED] = "deny-spoofed",
};

/* See names.h. */
const char *names_reason(uint32_t reason)
{
	static __thread char buf[24];

	if (reason < BM_REASON_MAX && reason_names[reason])
		return reason_names[reason];
	snprintf(buf, sizeof(buf), "reason-%u", reason);
	return buf;
}

/* See names.h. */
const char *names_verdict(uint32_t verdict)
{
	switch (verdict) {
	case BM_VERDICT_ALLOW:
		return "allow";
	case BM_VERDICT_ALLOW_AUTH:
		return "allow-auth";
	default:
		return "deny";
	}
}

static const struct {
	const char *name;
	uint8_t proto;
} protos[] = {
	{"tcp", BM_PROTO_TCP},	 {"udp", BM_PROTO_UDP},	      {"sctp", BM_PROTO_SCTP},
	{"icmp", BM_PROTO_ICMP}, {"icmpv6", BM_PROTO_ICMPV6},
};

/* See names.h. */
const char *names_proto(uint8_t proto, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (protos[i].proto == proto)
			return protos[i].name;
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}

/* See names.h. */
int names_parse_proto(const char *text)
{
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (!strcasecmp(protos[i].name, text))
			return protos[i].proto;
	}
	return -EINVAL;
}
