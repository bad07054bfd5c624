/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The reference evaluator: the verdict the data plane must give, computed in
 * userland. Two implementations share this contract and must agree on every
 * input:
 *
 *   policy_eval()  judges a tuple directly on the policy model (labels,
 *                  selectors, ipBlocks, named ports): the specification.
 *   tables_eval()  performs on compiled tables the very lookups the BPF
 *                  program performs on its maps: the mirror of the kernel.
 *
 * The decision, for a tuple src -> dst (see docs/policy.md):
 *
 *  1. Resolve both addresses. An address belongs to the endpoint whose
 *     address prefix contains it (endpoint prefixes never overlap); its
 *     security identity is that endpoint's sec_id, or BM_ID_WORLD.
 *  2. If neither end is a local endpoint: allow, BM_REASON_ALLOW_NOT_ENDPOINT.
 *  3. Ingress applies when dst is an endpoint selected by a policy with
 *     ingress in policyTypes; egress applies when src is an endpoint selected
 *     by a policy with egress. If neither applies: allow, ALLOW_NOT_ISOLATED.
 *  4. For each applying direction, the rules that allow the tuple are the
 *     union over the selecting policies. Proto/port: a rule without ports
 *     allows every protocol and port; a port entry allows its protocol and
 *     port (range); ICMP, ICMPv6 and BM_PROTO_OTHER carry port 0 and so are
 *     allowed only by port-less rules. Named ports resolve against the
 *     destination endpoint (for ingress: the subject; for egress: the peer).
 *     If ingress applies and no rule allows: deny, BM_REASON_DENY_INGRESS;
 *     else if egress applies and no rule allows: deny, BM_REASON_DENY_EGRESS.
 *  5. The deciding rule of a direction is, among its allowing rules, one that
 *     requires authentication if any does, else the lowest rule_id.
 *     result.rule_id is the ingress deciding rule if ingress applies, else
 *     the egress one.
 *  6. If either deciding rule requires authentication (MeshPolicy
 *     authentication: required), look up (src sec_id, dst sec_id) in auth:
 *     expires_boot_ns > now_boot_ns gives BM_VERDICT_ALLOW_AUTH /
 *     BM_REASON_ALLOW_AUTH; an entry that has expired gives deny
 *     BM_REASON_DENY_AUTH_EXPIRED; none gives deny BM_REASON_DENY_AUTH_MISSING.
 *  7. Otherwise allow, BM_REASON_ALLOW_POLICY.
 *
 * Packet-level matters (parsing, fragments, ICMPv6 ND, flow cache, replies)
 * sit above this tuple-level contract, in pkt_parse.h.
 */
#ifndef BM_POLICY_EVAL_H
#define BM_POLICY_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <abi/abi.h>

#include "policy_model.h"
#include "tables.h"

struct pe_tuple {
	uint8_t family; /* BM_FAMILY_IPV4 or BM_FAMILY_IPV6 */
	uint8_t proto; /* IP protocol number as on the wire */
	uint16_t sport; /* host order; 0 for ICMP, ICMPv6 and other protocols */
	uint16_t dport; /* host order; 0 for ICMP, ICMPv6 and other protocols */
	uint8_t saddr[16]; /* IPv4 in the first 4 bytes, rest zero */
	uint8_t daddr[16];
};

/* Authentication state the evaluator consults (a snapshot of bm_auth). */
struct pe_auth {
	const struct bm_auth_key *keys;
	const struct bm_auth_value *values;
	size_t n;
	uint64_t now_boot_ns;
};

struct pe_result {
	uint8_t verdict; /* BM_VERDICT_* */
	uint8_t reason; /* BM_REASON_* */
	bool is_auth_required;
	uint32_t rule_id; /* 0: no rule decided */
	uint32_t src_id; /* security identities */
	uint32_t dst_id;
};

/* Map a wire protocol number to the policy key protocol (BM_PROTO_*). Cannot fail. */
uint8_t pe_policy_proto(uint8_t wire_proto);

/*
 * Judge t on the model. auth may be NULL (no pair authenticated).
 * Fills *out; returns 0 or -EINVAL for a malformed tuple (unknown family).
 */
int policy_eval(const struct pm_model *m, const struct pe_tuple *t, const struct pe_auth *auth,
		struct pe_result *out);

/* Judge t on compiled tables with the data plane's lookups. Same contract. */
int tables_eval(const struct bm_tables *tb, const struct pe_tuple *t, const struct pe_auth *auth,
		struct pe_result *out);

#endif /* BM_POLICY_EVAL_H */
