/* SPDX-License-Identifier: GPL-2.0-only */
/* bpfmesh attach|detach --cgroup PATH: the socket half of the data plane (sock.h). */
#ifndef BM_CMD_SOCK_H
#define BM_CMD_SOCK_H

#include <stdbool.h>

#include "cli.h"

/* Does this attach/detach command line name a cgroup (--cgroup)? Cannot fail. */
bool cmd_sock_wants(int argc, char **argv);

/*
 * bpfmesh attach --cgroup PATH [--identity SPIFFE_ID] [--fastpath]
 * [--identity-only]. Returns a CLI_EXIT_* status.
 */
int cmd_sock_attach(const struct cli_globals *g, int argc, char **argv);

/* bpfmesh detach --cgroup PATH. Returns a CLI_EXIT_* status. */
int cmd_sock_detach(const struct cli_globals *g, int argc, char **argv);

#endif /* BM_CMD_SOCK_H */
