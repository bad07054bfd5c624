/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The replica's identity as its sidecar holds it: the workload document
 * the agent issued (identity/), its secret key, and the node's trust
 * bundle and revocation list to judge it by. Loaded and checked once at
 * start: a sidecar with a forged, expired, revoked or foreign document, or
 * one for another namespace, does not start.
 */
#ifndef BM_SC_IDENTITY_H
#define BM_SC_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "ident_cert.h"
#include "ident_crl.h"
#include "ident_trust.h"

struct sc_identity_config {
	const char *doc_path; /* the workload document */
	const char *key_path; /* its secret key; NULL: DOC_PATH.key */
	const char *dir; /* trust.bundle and crl.bin (the agent's STATE_DIR/identity) */
	const char *namespace; /* the document must be spiffe://D/ns/NAMESPACE/sa/... */
	int64_t skew_s; /* clock skew allowance; < 0: IDENT_DEFAULT_SKEW_S */
};

struct sc_identity {
	struct ident_trust trust;
	struct ident_crl crl;
	struct ident_doc doc;
	uint8_t *doc_bytes; /* encoded document, as sent in a handshake */
	size_t doc_len;
	uint8_t sk[64]; /* secret; wiped by sc_identity_release */
	int64_t not_after;
};

/*
 * Load and check everything; on failure why gets a one-line reason.
 * Returns 0, or -errno of the files, or the ident_doc_verify verdict
 * (-EKEYREJECTED forged, -EKEYEXPIRED, -EKEYREVOKED, -EXDEV, -ENOKEY,
 * -ETIME, -EPROTO), -EKEYREJECTED when the key is not the document's,
 * -EPERM when the document is not a workload's of cfg->namespace.
 */
int sc_identity_load(const struct sc_identity_config *cfg, struct sc_identity *id, char *why,
		     size_t why_len);

/* Whether subject is "spiffe://DOMAIN/ns/<ns>/sa/SA" (SA non-empty). Cannot fail. */
bool sc_identity_in_namespace(const char *subject, const char *ns);

/* Wipe the key and free. NULL-safe; safe after a failed load. */
void sc_identity_release(struct sc_identity *id);

#endif /* BM_SC_IDENTITY_H */
