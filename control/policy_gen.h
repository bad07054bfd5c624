/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Random policy models and tuples for differential tests (policy_eval vs
 * tables_eval in userland, tables_eval vs the BPF program under
 * BPF_PROG_TEST_RUN). Everything is a pure function of the seed, so a
 * failure is reproduced by printing the seed.
 *
 * Models are valid per policy_model.h: labels sorted, endpoint prefixes
 * disjoint, policies sorted by (namespace, name), rule ids 1.. in order.
 * IPv4 endpoints live in 10.0.0.0/8, IPv6 ones in fd00::/104; some own a
 * CIDR (/28, /124) instead of host addresses.
 */
#ifndef BM_POLICY_GEN_H
#define BM_POLICY_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <abi/abi.h>

#include "policy_eval.h"
#include "policy_model.h"

struct policy_gen_params {
	uint32_t n_namespaces;
	uint32_t n_endpoints;
	uint32_t n_policies;
	uint32_t max_rules; /* per direction and policy */
	uint32_t max_peers; /* per rule */
	uint32_t max_ports; /* per rule */
	uint32_t n_label_values; /* values per label key */
	/* percentages, 0..100 */
	uint32_t pct_cidr_endpoint; /* endpoint owns a CIDR, not hosts */
	uint32_t pct_dual_stack; /* endpoint also has an IPv6 address */
	uint32_t pct_local; /* endpoint is on this node */
	uint32_t pct_mesh; /* policy is a MeshPolicy requiring authentication */
	uint32_t pct_ip_block; /* peer is an ipBlock */
	uint32_t pct_named_port; /* port is named */
	uint32_t pct_end_port; /* numeric port is a range */
	uint32_t pct_no_peers; /* rule has no peers */
	uint32_t pct_no_ports; /* rule has no ports */
	uint32_t pct_broad; /* pod selector is {} (namespace selector: twice as often) */
	uint32_t pct_ns_peer; /* selector peer is a namespaceSelector alone */
	uint32_t pct_external_block; /* ipBlock names addresses outside the pod plan */
	uint32_t replicas; /* consecutive endpoints sharing namespace and labels (0, 1: none) */
};

/* A small xorshift-style generator; its whole state is this struct. */
struct policy_gen_rng {
	uint64_t state;
};

/* Parameters for a small, dense model (tens of endpoints): good for differential tests. */
void policy_gen_defaults(struct policy_gen_params *p);

/*
 * Parameters for a large, realistic cluster: workloads of 5 replicas, about
 * 100 endpoints per namespace, 0.75 policies (about one rule) per endpoint,
 * narrow selectors, ipBlocks mostly outside the cluster. Cannot fail.
 */
void policy_gen_scale_defaults(struct policy_gen_params *p, uint32_t n_endpoints);

/* Seed rng. Cannot fail. */
void policy_gen_seed(struct policy_gen_rng *rng, uint64_t seed);

/* Next 64 random bits; policy_gen_below(): uniform in [0, n), 0 when n is 0. */
uint64_t policy_gen_next(struct policy_gen_rng *rng);
uint32_t policy_gen_below(struct policy_gen_rng *rng, uint32_t n);

/*
 * Generate a model from seed and p. The caller owns *out (pm_model_free()).
 * Returns 0, -ENOMEM, or -EINVAL for impossible parameters (no namespaces,
 * more endpoints than the address plan holds).
 */
int policy_gen_model(uint64_t seed, const struct policy_gen_params *p, struct pm_model **out);

/*
 * A random tuple against m: addresses biased towards endpoint addresses,
 * the edges of ipBlock cidrs and excepts, and random ones, in either family;
 * protocol TCP, UDP, SCTP, ICMP(v6) or another; ports from the rules' ports,
 * the destination's named ports, or random. Cannot fail.
 */
void policy_gen_tuple(struct policy_gen_rng *rng, const struct pm_model *m, struct pe_tuple *out);

/*
 * n random auth entries between endpoints of m, about a third of them
 * expired relative to now_boot_ns. The caller frees *keys and *values.
 * Returns 0 or -ENOMEM.
 */
int policy_gen_auth(struct policy_gen_rng *rng, const struct pm_model *m, size_t n,
		    uint64_t now_boot_ns, struct bm_auth_key **keys, struct bm_auth_value **values);

/*
 * Hand-built models for tests (policy_gen_build.c). Strings are copied.
 * Label and selector text is "k=v,k2=v2" (matchLabels; "" is the empty
 * selector {}), NULL means absent. Addresses are pm_addr_parse() text,
 * comma-separated. Call policy_gen_finish() last: it sorts the policies by
 * (namespace, name), numbers the rules, which invalidates rule pointers, and
 * interns the model's strings (pm_model_intern()); peers or selectors added
 * after it need another policy_gen_finish().
 * All return 0 (or an index) or a negative errno.
 */
int policy_gen_add_namespace(struct pm_model *m, const char *name, const char *labels);
int policy_gen_add_endpoint(struct pm_model *m, const char *ns, const char *name,
			    const char *labels, const char *addrs, bool is_local, uint32_t sec_id);
int policy_gen_add_named_port(struct pm_model *m, size_t ep, const char *name, uint8_t proto,
			      uint16_t port);
/* Returns the policy's index (valid until policy_gen_finish()). */
int policy_gen_add_policy(struct pm_model *m, const char *ns, const char *name,
			  const char *pod_selector, bool has_ingress, bool has_egress,
			  bool is_auth_required);
/* Returns NULL on ENOMEM; the pointer is valid until the next rule of that policy. */
struct pm_rule *policy_gen_add_rule(struct pm_model *m, size_t policy, uint8_t dir);
int policy_gen_add_peer(struct pm_rule *r, const char *ns_selector, const char *pod_selector);
/* excepts: comma-separated prefixes or NULL. */
int policy_gen_add_ip_block(struct pm_rule *r, const char *cidr, const char *excepts);
/* port: NULL (every port of proto), "80", "8000-8080" or a name. */
int policy_gen_add_port(struct pm_rule *r, uint8_t proto, const char *port);
/* Add a selector expression to the last peer's pod (or ns) selector of r. */
int policy_gen_add_expr(struct pm_rule *r, bool is_ns, const char *key, enum pm_sel_op op,
			const char *values);
int policy_gen_finish(struct pm_model *m);

#endif /* BM_POLICY_GEN_H */
