/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy compiler: turns a policy model into the ipcache and policy
 * tables of one generation (bpf/abi/ipcache.h, bpf/abi/policy.h), such that
 * tables_eval() on the output agrees with policy_eval() on the model for
 * every tuple.
 *
 * Addresses are grouped into policy classes: every address prefix the model
 * mentions (endpoint addresses, ipBlock cidrs and excepts) defines a region,
 * "the prefix minus its more-specific members", and regions that every
 * selector, ipBlock, named port and isolation flag treats alike share a
 * class. Class ids start at BM_CLASS_FIRST and are assigned in the order of
 * a canonical signature, so the same model always compiles to the same
 * tables. A region that nothing in the policy distinguishes from the world
 * gets BM_CLASS_WORLD.
 */
#ifndef BM_POLICY_COMPILE_H
#define BM_POLICY_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "policy_model.h"
#include "tables.h"

#define COMPILE_MAX_WARNINGS 8
#define COMPILE_MSG_LEN 160

struct compile_report {
	uint32_t nr_classes; /* compiled classes, reserved ones not counted */
	uint32_t nr_regions; /* distinct address prefixes */
	uint32_t nr_selectors; /* distinct selector groups evaluated */
	uint32_t nr_ip_blocks; /* distinct ipBlocks */
	uint32_t nr_spilled; /* policy entries with BM_POLICY_F_SPILL */
	uint32_t nr_any_proto; /* policy entries keyed by BM_PROTO_ANY */
	size_t entries[TABLES_NR]; /* entries per table */
	uint32_t nr_warnings; /* all warnings; the first few are kept below */
	char warnings[COMPILE_MAX_WARNINGS][COMPILE_MSG_LEN];
	char error[COMPILE_MSG_LEN]; /* why compilation failed, "" on success */
};

/*
 * Compile m into out, which the caller has tables_init()ed (any previous
 * content is released first). rep may be NULL. The tables are sorted in
 * tables_eval.h order. Returns 0; -ENOMEM; -E2BIG when one policy entry
 * needs more than BM_POLICY_MAX_RANGES true port ranges (rep->error names
 * the subject); -EINVAL for a model that breaks policy_model.h (overlapping
 * endpoint prefixes, unknown family). On error out is left empty. m's
 * strings are interned first (pm_model_intern()) unless its loader did;
 * nothing else of m changes.
 */
int policy_compile(struct pm_model *m, struct bm_tables *out, struct compile_report *rep);

#endif /* BM_POLICY_COMPILE_H */
