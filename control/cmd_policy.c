// SPDX-License-Identifier: GPL-2.0-only
/* Temporary: replaced once the manifest parser and compiler land. */
#include <stdio.h>

#include "cli.h"

/* See cli.h. */
int cmd_policy(const struct cli_globals *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	(void)argv;
	fprintf(stderr, "bpfmesh: policy: not built yet\n");
	return CLI_EXIT_ERROR;
}
