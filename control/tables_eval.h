/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The order tables_eval() (declared in policy_eval.h) expects compiled
 * tables in, so that it can binary-search them like the kernel hashes and
 * LPM tries: host tables by the bytes of their key, CIDR tables by prefix
 * length (longest first) then address bytes, policy keys by (subject,
 * direction, peer, proto) and port keys by (policy key, port).
 * policy_compile() emits tables in this order; hand-built tables must be
 * passed through tables_eval_sort() before tables_eval().
 */
#ifndef BM_TABLES_EVAL_H
#define BM_TABLES_EVAL_H

#include "tables.h"

/* Sort every table of t in place into tables_eval() order. Returns 0 or -ENOMEM. */
int tables_eval_sort(struct bm_tables *t);

#endif /* BM_TABLES_EVAL_H */
