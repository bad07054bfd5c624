/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-memory policy model: what `bpfmesh policy load` reads from manifests
 * (manifest.c), what the reference evaluator judges packets by
 * (policy_eval.c) and what the compiler turns into map tables
 * (policy_compile.c). Plain data; every string and array is owned by the
 * model and freed by pm_model_free().
 *
 * Interned strings: the label keys and values of endpoints, namespaces and
 * matchLabels, namespace names, the namespaces of endpoints and policies and
 * the names of named ports (an endpoint's and a rule's) also have an id from the model's string
 * table (pm_model.strs; equal strings, equal ids). label_ids holds two per label, key then value,
 * in the labels' order (NULL: not interned); a name's id is 0 when not interned. A selector also
 * gets sig, a hash of its interned form. pm_model_intern() fills them; the loaders (manifest.c) and
 * the generators (policy_gen*.c) call it when they are done, so the compiler compares and hashes
 * ids, never strings. Code that changes such labels or names afterwards frees label_ids (NULL) or
 * zeroes the id and calls pm_model_changed().
 *
 * Semantics follow Kubernetes NetworkPolicy exactly (see docs/policy.md):
 *  - a selector that is absent differs from an empty one ({} selects all);
 *  - a rule with no peers allows every peer, a rule with no ports every port
 *    and protocol; rules and policies are unions;
 *  - an endpoint selected by a policy whose policyTypes include a direction is
 *    isolated for that direction (default deny);
 *  - a connection needs the source's egress and the destination's ingress.
 */
#ifndef BM_POLICY_MODEL_H
#define BM_POLICY_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy_strtab.h"

/* Where an object or field came from, for error messages. */
struct pm_src_pos {
	const char *file; /* interned in the model (pm_model.files); "-" for stdin */
	unsigned int line; /* 1-based; 0 when unknown */
	unsigned int column; /* 1-based; 0 when unknown */
};

struct pm_label {
	char *key;
	char *value;
};

/* Sorted by key, keys unique. */
struct pm_labels {
	struct pm_label *items;
	size_t n;
};

enum pm_sel_op {
	PM_OP_IN,
	PM_OP_NOT_IN,
	PM_OP_EXISTS,
	PM_OP_DOES_NOT_EXIST,
};

struct pm_sel_expr {
	char *key;
	enum pm_sel_op op;
	char **values;
	size_t n_values;
};

/* A Kubernetes LabelSelector. */
struct pm_selector {
	bool is_present; /* false: the field was absent (null) */
	struct pm_labels match_labels;
	uint32_t *label_ids; /* interned match_labels, see above */
	struct pm_sel_expr *exprs;
	size_t n_exprs;
	uint64_t sig; /* set with label_ids: a hash of the selector, equal selectors equal sig */
};

/* An address or prefix. IPv4 uses addr[0..3], the rest is zero. */
struct pm_addr {
	uint8_t family; /* BM_FAMILY_IPV4 or BM_FAMILY_IPV6 */
	uint8_t prefixlen; /* 32 or 128 for a host; host bits are zero */
	uint8_t addr[16];
};

struct pm_ip_block {
	struct pm_addr cidr;
	struct pm_addr *except;
	size_t n_except;
};

enum pm_peer_kind {
	PM_PEER_SELECTORS, /* podSelector and/or namespaceSelector */
	PM_PEER_IP_BLOCK,
};

struct pm_peer {
	enum pm_peer_kind kind;
	/*
	 * PM_PEER_SELECTORS: pods matching pod_selector in namespaces matching
	 * ns_selector. Absent ns_selector means the policy's own namespace;
	 * absent pod_selector (with ns_selector present) means all pods there.
	 */
	struct pm_selector pod_selector;
	struct pm_selector ns_selector;
	struct pm_ip_block ip_block; /* PM_PEER_IP_BLOCK */
};

struct pm_port {
	uint8_t proto; /* BM_PROTO_TCP (default), BM_PROTO_UDP or BM_PROTO_SCTP */
	bool has_port; /* false: every port of proto */
	uint16_t port; /* numeric port when port_name == NULL */
	char *port_name; /* named port, resolved against the endpoint's ports */
	uint32_t port_name_id; /* interned port_name */
	uint16_t end_port; /* 0: none; else inclusive upper bound, >= port */
};

struct pm_rule {
	uint32_t rule_id; /* global, 1-based, index into pm_model.rules */
	struct pm_peer *peers; /* n_peers == 0: every peer */
	size_t n_peers;
	struct pm_port *ports; /* n_ports == 0: every port and protocol */
	size_t n_ports;
	struct pm_src_pos pos;
};

enum pm_policy_kind {
	PM_KIND_NETWORK_POLICY, /* networking.k8s.io/v1 NetworkPolicy */
	PM_KIND_MESH_POLICY, /* bpfmesh.io/v1 MeshPolicy */
};

struct pm_policy {
	enum pm_policy_kind kind;
	char *name;
	char *ns;
	uint32_t ns_id; /* interned ns */
	struct pm_selector pod_selector; /* is_present always true after parsing */
	bool has_ingress; /* policyTypes, after Kubernetes defaulting */
	bool has_egress;
	bool auth_required; /* MeshPolicy authentication: required */
	struct pm_rule *ingress;
	size_t n_ingress;
	struct pm_rule *egress;
	size_t n_egress;
	struct pm_src_pos pos;
};

struct pm_named_port {
	char *name;
	uint32_t name_id; /* interned name */
	uint8_t proto;
	uint16_t port;
};

struct pm_endpoint {
	char *name;
	char *ns;
	uint32_t ns_id; /* interned ns */
	struct pm_labels labels;
	uint32_t *label_ids; /* interned labels */
	char *identity_uri; /* spiffe://DOMAIN/ns/NS/sa/SA */
	uint32_t sec_id; /* from identity_uri, see ident_numeric_id() */
	struct pm_addr *addrs; /* hosts or CIDRs; no two endpoints overlap */
	size_t n_addrs;
	struct pm_named_port *ports;
	size_t n_ports;
	char *node_name; /* NULL: this node */
	bool is_local; /* on this node (node_name NULL or equal to ours) */
	struct pm_src_pos pos;
};

struct pm_namespace {
	char *name;
	uint32_t name_id; /* interned name */
	struct pm_labels labels; /* includes kubernetes.io/metadata.name */
	uint32_t *label_ids; /* interned labels */
	bool is_declared; /* false: only referenced by an endpoint or policy */
	struct pm_src_pos pos; /* of the Namespace manifest; zero when not declared */
};

/* Where a rule lives, indexed by rule_id. */
struct pm_rule_ref {
	uint32_t policy_index;
	uint8_t direction; /* BM_DIR_* */
	uint32_t rule_index;
};

struct pm_model {
	struct pm_namespace *namespaces;
	size_t n_namespaces;
	struct pm_endpoint *endpoints;
	size_t n_endpoints;
	struct pm_policy *policies; /* sorted by (namespace, name) */
	size_t n_policies;
	struct pm_rule_ref *rules; /* rules[0] unused; rule_id 1.. */
	size_t n_rules; /* including the unused slot 0 */
	char **files; /* interned file names */
	size_t n_files;
	struct pm_strtab *strs; /* the ids' strings; NULL until pm_model_intern() */
	bool is_interned; /* every id above is set (cleared by pm_model_changed()) */
};

/* Allocate an empty model. Returns NULL with errno = ENOMEM. */
struct pm_model *pm_model_new(void);

/* Free a model and everything it owns. NULL-safe. */
void pm_model_free(struct pm_model *m);

/*
 * Give every label key and value, namespace name and endpoint and policy
 * namespace of m its string id (only those not interned are looked at). Returns
 * at once when nothing changed since the last call. Returns 0 or -ENOMEM
 * (then m is left not interned).
 */
int pm_model_intern(struct pm_model *m);

/*
 * Intern the strings of st, a staging model whose objects will move into m,
 * with m's string table, so that they arrive interned (m's flag is left as
 * it is). st must not have been interned on its own. Returns 0, -EINVAL
 * (st has a table of its own) or -ENOMEM.
 */
int pm_model_intern_into(struct pm_model *st, struct pm_model *m);

/* m was changed: the next pm_model_intern() walks it again. Cannot fail. */
void pm_model_changed(struct pm_model *m);

/* The interned id of s in m, interning it if new; 0 on ENOMEM. */
uint32_t pm_model_str_id(struct pm_model *m, const char *s);

/* Does sel match labels? An absent selector matches nothing; an empty one everything. */
bool pm_selector_matches(const struct pm_selector *sel, const struct pm_labels *labels);

/* Look up a label value; NULL if absent. */
const char *pm_labels_get(const struct pm_labels *labels, const char *key);

/* Find a namespace by name; NULL if unknown. */
const struct pm_namespace *pm_model_namespace(const struct pm_model *m, const char *name);

/* Is addr (a host address) inside prefix p? Families must match. */
bool pm_addr_in_prefix(const struct pm_addr *addr, const struct pm_addr *p);

/* Parse "198.18.0.1", "198.18.0.0/15", "fd00::1" or "fd00::/8"; host bits are
 * masked (as Kubernetes does for ipBlock). Returns 0 or -EINVAL. */
int pm_addr_parse(const char *text, struct pm_addr *out);

/* Format an address (with "/len" unless a full host prefix) into buf. */
const char *pm_addr_format(const struct pm_addr *a, char *buf, size_t len);

#endif /* BM_POLICY_MODEL_H */
