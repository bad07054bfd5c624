// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh: placeholder entry point, replaced by the command table in cli.c. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "bpfmesh: not built yet\n");
	return 2;
}
