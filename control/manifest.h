/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Manifests (YAML or JSON, one or more documents per file) into the policy
 * model. Kinds: bpfmesh.io/v1 Endpoint and MeshPolicy, networking.k8s.io/v1
 * NetworkPolicy, v1 Namespace and v1 List (and *List) of those. Other kinds
 * load as a warning so mixed files still contribute their policy parts.
 *
 * Every problem is a message naming file, line, column and field path:
 *
 *   policy.yaml:14:9: spec.ingress[0].ports[1].endPort: must be >= port (80)
 *   policy.yaml:3:5: warning: metadata.lables: unknown field
 */
#ifndef BM_MANIFEST_H
#define BM_MANIFEST_H

#include <stddef.h>
#include <stdio.h>

#include "policy_model.h"

enum manifest_severity {
	MANIFEST_WARNING,
	MANIFEST_ERROR,
};

struct manifest_msg {
	enum manifest_severity severity;
	char *file; /* as given by the caller; "-" for stdin */
	unsigned int line; /* 1-based; 0 when unknown */
	unsigned int column; /* 1-based; 0 when unknown */
	char *path; /* field path ("spec.ingress[0].ports[1].endPort"); "" for the whole file */
	char *message; /* the problem alone: "must be >= port (80)" */
	char *text; /* the whole line, formatted as above */
};

/* Messages of one load; initialise with manifest_diag_init(). */
struct manifest_diag {
	struct manifest_msg *msgs; /* in the order found; at most MANIFEST_DIAG_MAX kept */
	size_t n;
	size_t n_errors; /* counted even beyond MANIFEST_DIAG_MAX */
	size_t n_warnings;
};

#define MANIFEST_DIAG_MAX 1000

/* Make d empty. Cannot fail. */
void manifest_diag_init(struct manifest_diag *d);

/* Free every message of d and make it empty again. NULL-safe. */
void manifest_diag_release(struct manifest_diag *d);

/* The first error message of d, or NULL if there is none. Cannot fail. */
const struct manifest_msg *manifest_diag_first_error(const struct manifest_diag *d);

/* Print every message's text, one per line, to fp. Cannot fail. */
void manifest_diag_print(const struct manifest_diag *d, FILE *fp);

/*
 * Load the n files in paths ("-" is stdin) into m, all or nothing: if any
 * file cannot be read or has any error, m is left exactly as it was.
 * Objects are added to what m already holds; an object whose kind, namespace
 * and name m (or another loaded file) already has is an error. On success
 * the policies of m are sorted by (namespace, name, kind), rule ids are
 * reassigned 1.. over the whole model (each policy's ingress rules, then its
 * egress rules) and m->rules indexes them; every namespace declared or
 * referenced is in m->namespaces. Endpoints whose nodeName is absent or
 * equals local_node (may be NULL) are local.
 *
 * Messages (errors and warnings) are appended to diag, which the caller owns
 * and releases; with diag NULL they are logged with pr_warn() instead.
 * Returns 0 (possibly with warnings), -EINVAL if any error was found,
 * -ENOENT/-EACCES/... if a file cannot be opened (also reported in diag),
 * or -ENOMEM.
 */
int manifest_load_files(struct pm_model *m, const char *const *paths, size_t n,
			const char *local_node, struct manifest_diag *diag);

/*
 * As manifest_load_files() for one in-memory input of len bytes. name is
 * used in messages and positions (a ".json" suffix selects JSON mode).
 */
int manifest_load_buffer(struct pm_model *m, const char *name, const char *buf, size_t len,
			 const char *local_node, struct manifest_diag *diag);

#endif /* BM_MANIFEST_H */
