/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Issuing documents: the root certifies nodes, a node certifies the
 * workloads it runs. Each call makes a fresh Ed25519 key pair for the
 * subject; the caller stores the secret key and wipes its copy.
 */
#ifndef BM_IDENT_ISSUE_H
#define BM_IDENT_ISSUE_H

#include <stdint.h>

#include "ident_cert.h"
#include "ident_trust.h"

#define IDENT_NODE_TTL_DEFAULT_S (30 * 24 * 3600)
#define IDENT_WORKLOAD_TTL_DEFAULT_S 3600
#define IDENT_WORKLOAD_TTL_MAX_S (7 * 24 * 3600)

/* "spiffe://DOMAIN/ns/NS/sa/SA" into out. Returns 0, -EINVAL or -ENAMETOOLONG. */
int ident_workload_spiffe_id(const char *domain, const char *ns, const char *sa, char *out,
			     size_t cap);

/* "spiffe://DOMAIN/bpfmesh/node/NAME" into out. Same returns. */
int ident_node_spiffe_id(const char *domain, const char *node, char *out, size_t cap);

/*
 * Certify a node: a one-certificate document signed by the root secret key
 * root_sk, valid [now, now + ttl_s). Writes the node's new secret key (64
 * bytes) to sk_out. Returns 0 or -EINVAL.
 */
int ident_issue_node(const struct ident_trust *t, const uint8_t *root_sk, const char *node,
		     int64_t now, int64_t ttl_s, struct ident_doc *out, uint8_t *sk_out);

/*
 * Issue a workload document [workload cert, node cert] with the node's
 * document and secret key. The window is [now, now + ttl_s) cut to the node
 * certificate's not_after. Returns 0, -EINVAL, or -EKEYEXPIRED when the node
 * certificate leaves no lifetime.
 */
int ident_issue_workload(const struct ident_doc *node_doc, const uint8_t *node_sk,
			 const char *spiffe_id, int64_t now, int64_t ttl_s, struct ident_doc *out,
			 uint8_t *sk_out);

/*
 * Parse a duration: a positive number with an optional unit s, m, h or d
 * ("90s", "15m", "1h", "30d"; bare number = seconds). Returns 0 or -EINVAL.
 */
int ident_parse_duration(const char *text, int64_t *seconds);

#endif /* BM_IDENT_ISSUE_H */
