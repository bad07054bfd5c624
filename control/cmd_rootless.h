/* SPDX-License-Identifier: GPL-2.0-only */
/* bpfmesh rootless: the forms besides `run` (cmd_rootless_ops.c). */
#ifndef BM_CMD_ROOTLESS_H
#define BM_CMD_ROOTLESS_H

#include <jansson.h>

#include "cli.h"
#include "policy_store.h"

#define ROOTLESS_CTL_SOCK "ctl.sock" /* in STATE_DIR/rootless: `run`'s control socket */

/* `rootless status [--json]`: the mode and why, the running forwarder. */
int rootless_status(const struct cli_globals *g, int argc, char **argv);

/* `rootless exec NS/NAME -- CMD...`: run CMD inside a running workload's namespaces. */
int rootless_exec(const struct cli_globals *g, int argc, char **argv);

/* `rootless observe [--json] [--all] [--count N] [--timeout S]`: the forwarder's events. */
int rootless_observe(const struct cli_globals *g, int argc, char **argv);

/*
 * `rootless policy load FILE...`: check the files and hand them to the
 * running `rootless run`, which swaps its forwarder to them.
 */
int rootless_policy_load(const struct cli_globals *g, int argc, char **argv);

#endif /* BM_CMD_ROOTLESS_H */
