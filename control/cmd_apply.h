/* SPDX-License-Identifier: GPL-2.0-only */
/* bpfmesh apply internals shared by cmd_apply.c and cmd_apply_print.c. */
#ifndef BM_CMD_APPLY_H
#define BM_CMD_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "policy_model.h"
#include "workload_model.h"

/*
 * One line per object of wm, then per policy of pm, to fp:
 *   deployment/shop/backend-v1: 3 replicas, identity spiffe://..., requests cpu=100m mem=64Mi
 * Cannot fail.
 */
void apply_print_objects(const struct wl_model *wm, const struct pm_model *pm, FILE *fp);

/*
 * Warn on fp about references the applied set leaves open: env from a
 * ConfigMap (or key) that is not in it, a serviceAccountName with no
 * ServiceAccount (other than "default").
 * Returns the number of warnings when is_strict (they reject), else 0.
 */
size_t apply_check_refs(const struct wl_model *wm, bool is_strict, FILE *fp);

/*
 * When wm holds Node objects, place its replicas on them as the agents would
 * (sched_place.h) and print "placement: KEY -> NODE" lines to fp, a warning
 * per replica no node fits to warn_fp. Returns the number of such replicas,
 * or -ENOMEM.
 */
int apply_print_placement(const struct wl_model *wm, FILE *fp, FILE *warn_fp);

/* A quantity the way manifests write it: "100m", "2"; "64Mi", "1Gi", "1500". */
void apply_format_cpu(uint64_t milli, char *buf, size_t cap);
void apply_format_mem(uint64_t bytes, char *buf, size_t cap);

/*
 * Split the (accepted) inputs into one text per object: workload kinds go
 * to wls as {key: "NS.KIND.NAME", name, data, display}, NetworkPolicy,
 * MeshPolicy, Endpoint and Namespace objects to pol as {name:
 * "apply/KIND/NS/NAME.json", data, display}; Node objects are skipped with a
 * note. "-" reads stdin_buf. Returns 0 or -errno.
 */
int apply_split(char *const *files, size_t n, const char *stdin_buf, size_t stdin_len, json_t *wls,
		json_t *pol);

/*
 * Send req (reference taken) to the agent of state_dir, print one line per
 * object result. Returns a CLI exit code (a clear message when no agent).
 */
int apply_call_agent(const char *state_dir, json_t *req);

/* bpfmesh apply (is_delete false) or bpfmesh delete -f (true). Returns an exit code. */
int apply_run(const struct cli_globals *g, int argc, char **argv, bool is_delete);

#endif /* BM_CMD_APPLY_H */
