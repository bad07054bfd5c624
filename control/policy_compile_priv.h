/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals shared by the policy compiler's two halves: policy_classes.c
 * (address regions, selector groups, features and classes) and
 * policy_compile.c (policy entries, port ranges, the driver).
 *
 * A feature is one yes/no (or named-port) property the policy can observe
 * of an address. Feature ids live in three consecutive spaces:
 *   [0, n_groups)                 selected by selector group g
 *   [n_groups, +n_nps)            has named port triple (name, proto, port)
 *   [+n_nps, +n_blocks)           inside ipBlock b (cidr minus excepts)
 * A region's signature is its sorted feature list: the owning endpoint's
 * groups and named ports followed by its own ipBlocks.
 */
#ifndef BM_POLICY_COMPILE_PRIV_H
#define BM_POLICY_COMPILE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy_compile.h"
#include "policy_model.h"

#define CC_NONE UINT32_MAX

/* Growable array of u32. */
struct cc_vec {
	uint32_t *v;
	size_t n;
	size_t cap;
};

/* Compressed rows: row r is val[off[r] .. off[r + 1]). */
struct cc_csr {
	uint32_t *off;
	uint32_t *val;
	size_t n_rows;
};

/* One slot of a cc_hset: a probe reads one cache line, not two. */
struct cc_hslot {
	uint64_t hash;
	uint32_t id; /* CC_NONE: empty slot */
	uint32_t pad;
};

/* Open-addressing set of ids; equality is decided by the caller. */
struct cc_hset {
	struct cc_hslot *slots;
	size_t cap;
	size_t n;
};

struct cc_prefix {
	struct pm_addr a;
	uint32_t ep; /* endpoint with exactly this prefix, or CC_NONE */
	uint32_t owner; /* endpoint whose prefix contains it, or CC_NONE */
	uint32_t end; /* first index after the prefixes it contains */
	uint32_t parent; /* innermost prefix containing it, or CC_NONE */
	uint32_t class_id;
};

/* A selector group: pods matching pod_sel in namespace ns_id, or in namespaces matching ns_sel. */
struct cc_group {
	uint32_t ns_id; /* the namespace's string id when ns_sel is NULL */
	const struct pm_selector *ns_sel; /* NULL: the pods of namespace ns_id */
	const struct pm_selector *pod_sel; /* absent with ns_sel: every pod */
	uint32_t policy_flags; /* BM_IPC_F_*_ISOLATED of the policies it selects for */
};

struct cc_rule {
	const struct pm_rule *r;
	uint32_t policy;
	uint8_t dir;
	bool is_auth;
	uint32_t peer_off; /* into compile_ctx.peer_feats */
	uint32_t n_peer_feats;
	uint32_t name_off; /* into compile_ctx.port_names: one per port, CC_NONE if numeric */
};

struct cc_np {
	uint32_t name_id;
	uint8_t proto;
	uint16_t port;
};

struct compile_ctx {
	const struct pm_model *m;
	struct compile_report *rep;

	struct cc_prefix *pfx;
	size_t n_pfx;

	struct cc_group *groups;
	uint32_t n_groups;
	uint32_t *policy_group; /* per policy */
	struct cc_csr group_policies; /* group -> policies it is the subject selector of */

	const char **names; /* interned named-port names (borrowed from the model) */
	uint32_t n_names;
	uint32_t *name_of_str; /* model string id -> index into names, or CC_NONE */
	uint32_t n_strs;
	struct cc_np *nps;
	uint32_t n_nps;
	struct cc_csr name_nps; /* name id -> named port triples */

	const struct pm_ip_block **blocks;
	uint32_t n_blocks;

	struct cc_rule *rules; /* by rule_id */
	size_t n_rules;
	struct cc_vec peer_feats;
	struct cc_vec port_names;

	struct cc_csr ep_feats; /* endpoint -> group and named-port features */
	struct cc_csr pfx_feats; /* prefix -> ipBlock features */

	uint32_t n_classes; /* compiled classes */
	uint32_t *class_rep; /* class - BM_CLASS_FIRST -> representative prefix */
	uint32_t *class_flags; /* class - BM_CLASS_FIRST -> isolation flags */
	struct cc_csr feat_classes; /* feature -> classes, ascending */
};

static inline uint32_t cc_np_feat(const struct compile_ctx *c, uint32_t np)
{
	return c->n_groups + np;
}

static inline uint32_t cc_block_feat(const struct compile_ctx *c, uint32_t b)
{
	return c->n_groups + c->n_nps + b;
}

static inline uint32_t cc_nr_feats(const struct compile_ctx *c)
{
	return c->n_groups + c->n_nps + c->n_blocks;
}

int cc_vec_push(struct cc_vec *v, uint32_t x);
void cc_vec_free(struct cc_vec *v);

/* Build rows from (row, val) pairs, keeping their order within a row. */
int cc_csr_build(struct cc_csr *out, size_t n_rows, const uint32_t *rows, const uint32_t *vals,
		 size_t n);
void cc_csr_free(struct cc_csr *c);

static inline size_t cc_csr_len(const struct cc_csr *c, size_t row)
{
	return c->off[row + 1] - c->off[row];
}

static inline const uint32_t *cc_csr_row(const struct cc_csr *c, size_t row)
{
	return c->val + c->off[row];
}

/* A class's signature as two runs (endpoint features, then the region's). */
void cc_class_sig(const struct compile_ctx *c, uint32_t class_id, const uint32_t **a, size_t *na,
		  const uint32_t **b, size_t *nb);

void cc_warn(struct compile_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cc_error(struct compile_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Threads for the compiles that follow: 0 picks by model size (the
 * default), 1 never starts a second thread, 2 always does. The output is
 * the same either way; tests use it to check that. Not thread-safe.
 */
void cc_set_threads(unsigned int n);

/* policy_classes.c: everything up to classes and their ipcache entries. */
int cc_classes_build(struct compile_ctx *c, struct bm_tables *out);
void cc_classes_free(struct compile_ctx *c);

#endif /* BM_POLICY_COMPILE_PRIV_H */
