/* SPDX-License-Identifier: GPL-2.0-only */
/* bpfmesh rootless: the forms besides `run` (cmd_rootless_ops.c). */
#ifndef BM_CMD_ROOTLESS_H
#define BM_CMD_ROOTLESS_H

#include "cli.h"

/* `rootless status [--json]`: the mode and why, the running forwarder. */
int rootless_status(const struct cli_globals *g, int argc, char **argv);

/* `rootless exec NS/NAME -- CMD...`: run CMD inside a running workload's namespaces. */
int rootless_exec(const struct cli_globals *g, int argc, char **argv);

/* `rootless observe [--json] [--all] [--count N] [--timeout S]`: the forwarder's events. */
int rootless_observe(const struct cli_globals *g, int argc, char **argv);

#endif /* BM_CMD_ROOTLESS_H */
