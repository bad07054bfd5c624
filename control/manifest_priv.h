/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals shared by the manifest_*.c files: the validation context, which
 * tracks the field path and reports messages, and typed field accessors.
 *
 * Conventions: a value that is JSON null counts as absent (as in Kubernetes).
 * Accessors report their own errors and return -EINVAL; callers carry on
 * validating the rest of the document so one load reports every error.
 */
#ifndef BM_MANIFEST_PRIV_H
#define BM_MANIFEST_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "manifest.h"
#include "policy_model.h"
#include "yaml_json.h"

/* A value and where it is. v is NULL when the field is absent. */
struct mf_node {
	json_t *v;
	struct yj_pos pos;
};

struct mf_ctx {
	struct manifest_diag *diag;
	const struct yj_stream *ys;
	const char *file; /* display name */
	const char *file_interned; /* the same, owned by st->files */
	struct pm_model *st; /* staging model: everything loaded by this call */
	const char *local_node;
	size_t n_errors; /* errors of this load call */
	int oom; /* sticky -ENOMEM */
	unsigned int yj_flags; /* for yj_load_buffer_flags() */
	size_t path_len;
	char path[1024];
};

/* Field path stack: push returns the length to restore with mf_leave(). */
size_t mf_enter_key(struct mf_ctx *c, const char *key);
size_t mf_enter_index(struct mf_ctx *c, size_t index);
size_t mf_enter_subscript(struct mf_ctx *c, const char *key); /* [key], for map keys */
void mf_leave(struct mf_ctx *c, size_t mark);

/* Report at pos under the current path. mf_error() returns -EINVAL. */
int mf_error(struct mf_ctx *c, struct yj_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mf_warn(struct mf_ctx *c, struct yj_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Report with an explicit path (NULL: the current one). */
void mf_report(struct mf_ctx *c, enum manifest_severity sev, struct yj_pos pos, const char *path,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Report at obj.key (its value, or obj when absent) under the path + key. */
int mf_error_at(struct mf_ctx *c, const struct mf_node *obj, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void mf_warn_at(struct mf_ctx *c, const struct mf_node *obj, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Member key of obj (absent or null: v == NULL, pos = obj's). */
struct mf_node mf_member(const struct mf_ctx *c, const struct mf_node *obj, const char *key);
/* Element i of the array arr. */
struct mf_node mf_element(const struct mf_ctx *c, const struct mf_node *arr, size_t i);

/* Type checks on a present node, reporting "must be a ..." at the current path. */
int mf_want_object(struct mf_ctx *c, const struct mf_node *n);
int mf_want_array(struct mf_ctx *c, const struct mf_node *n);

/* Warn about members of obj not in known (NULL-terminated); ignored never warn. */
void mf_check_fields(struct mf_ctx *c, const struct mf_node *obj, const char *const *known,
		     const char *const *ignored);

/*
 * obj.key as a string, into *out (borrowed from the document; NULL when
 * absent). Reports wrong types, and absence when is_required.
 */
int mf_get_string(struct mf_ctx *c, const struct mf_node *obj, const char *key, bool is_required,
		  const char **out);
/* The current node as a string (the path is already pushed). */
int mf_node_string(struct mf_ctx *c, const struct mf_node *n, const char **out);
/* The current node as an integer; a quoted number is accepted with a warning. */
int mf_node_int(struct mf_ctx *c, const struct mf_node *n, long long *out);

/* strdup that records -ENOMEM in c. */
char *mf_strdup(struct mf_ctx *c, const char *s);
/*
 * Grow *arr (of *n elements of size) by one zeroed element; NULL (oom
 * recorded) on failure. Only for arrays grown by nothing but mf_append().
 */
void *mf_append(struct mf_ctx *c, void *arr_p, size_t *n, size_t size);

/* The source position of the node, as the model stores it. */
struct pm_src_pos mf_src_pos(const struct mf_ctx *c, struct yj_pos pos);

/* Kubernetes name syntax (manifest_names.c); NULL if valid, else why not. */
const char *mf_dns_label_error(const char *s);
const char *mf_dns_subdomain_error(const char *s);
const char *mf_qualified_name_error(const char *s);
const char *mf_label_value_error(const char *s);
const char *mf_port_name_error(const char *s);

/* metadata.labels-like maps and label selectors (manifest_labels.c). */
int mf_parse_labels(struct mf_ctx *c, const struct mf_node *n, struct pm_labels *out);
int mf_parse_selector(struct mf_ctx *c, const struct mf_node *n, struct pm_selector *out);
/* Set key to value in l (kept sorted, keys unique). Returns 0 or -ENOMEM. */
int mf_labels_set(struct mf_ctx *c, struct pm_labels *l, const char *key, const char *value);
void mf_labels_release(struct pm_labels *l);

/*
 * Common metadata: name (required; a DNS subdomain, or a DNS label when
 * !has_ns), namespace (when has_ns; default "default"), labels into *labels
 * (NULL: validate only). Strings are borrowed from the document.
 */
struct mf_meta {
	const char *name;
	const char *ns;
	struct yj_pos name_pos;
};
int mf_parse_meta(struct mf_ctx *c, const struct mf_node *doc, bool has_ns, struct mf_meta *out,
		  struct pm_labels *labels);

/* One object of each kind into c->st (manifest_policy.c, manifest_endpoint.c). */
int mf_load_policy(struct mf_ctx *c, const struct mf_node *doc, enum pm_policy_kind kind);
int mf_load_endpoint(struct mf_ctx *c, const struct mf_node *doc);
int mf_load_namespace(struct mf_ctx *c, const struct mf_node *doc);

/*
 * manifest_merge.c: check the staging model against itself and m (duplicate
 * objects, overlapping endpoint addresses, two SPIFFE IDs with one numeric
 * identity; errors go to c->diag), then move
 * it into m. mf_commit() returns 0 or -ENOMEM, leaving m unchanged on error.
 */
void mf_check_set(struct mf_ctx *c, const struct pm_model *m);
int mf_commit(struct mf_ctx *c, struct pm_model *m);

#endif /* BM_MANIFEST_PRIV_H */
