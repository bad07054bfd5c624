// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh attach IFACE [--mode native|generic] and bpfmesh detach IFACE;
 * with --cgroup, the socket programs instead (cmd_sock.c).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_sock.h"
#include "dataplane.h"
#include "log.h"

static int parse_mode(const char *text, enum dp_mode *mode)
{
	if (!strcmp(text, "native"))
		*mode = DP_MODE_NATIVE;
	else if (!strcmp(text, "generic"))
		*mode = DP_MODE_GENERIC;
	else
		return -EINVAL;
	return 0;
}

static int iface_index(const char *name)
{
	unsigned int ifindex = if_nametoindex(name);

	if (!ifindex)
		fprintf(stderr, "bpfmesh: no interface '%s' in this network namespace\n", name);
	return (int)ifindex;
}

/* See cli.h. */
int cmd_attach(const struct cli_globals *g, int argc, char **argv)
{
	enum dp_mode mode = DP_MODE_NATIVE, got;
	struct dataplane *dp = NULL;
	const char *iface = NULL;
	int i, ifindex, err;

	if (cmd_sock_wants(argc, argv))
		return cmd_sock_attach(g, argc, argv);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			if (parse_mode(argv[++i], &mode)) {
				fprintf(stderr, "bpfmesh: --mode takes native or generic\n");
				return CLI_EXIT_ERROR;
			}
		} else if (!iface && argv[i][0] != '-') {
			iface = argv[i];
		} else {
			fprintf(stderr, "bpfmesh: attach: unexpected argument '%s'\n", argv[i]);
			return CLI_EXIT_ERROR;
		}
	}
	if (!iface) {
		fprintf(stderr, "usage: bpfmesh attach IFACE [--mode native|generic]\n");
		return CLI_EXIT_ERROR;
	}
	ifindex = iface_index(iface);
	if (!ifindex)
		return CLI_EXIT_ERROR;
	err = dp_open(g->pin_dir, false, &dp);
	if (err)
		return CLI_EXIT_ERROR;
	err = dp_attach(dp, ifindex, mode, &got);
	dp_close(dp);
	if (err == -EEXIST) {
		printf("%s: already attached\n", iface);
		return CLI_EXIT_OK;
	}
	if (err) {
		fprintf(stderr, "bpfmesh: attach %s: %s\n", iface, strerror(-err));
		return CLI_EXIT_ERROR;
	}
	printf("attached to %s in %s mode\n", iface, got == DP_MODE_NATIVE ? "native" : "generic");
	return CLI_EXIT_OK;
}

/* See cli.h. */
int cmd_detach(const struct cli_globals *g, int argc, char **argv)
{
	int ifindex, err;

	if (cmd_sock_wants(argc, argv))
		return cmd_sock_detach(g, argc, argv);
	if (argc != 2) {
		fprintf(stderr, "usage: bpfmesh detach IFACE\n");
		return CLI_EXIT_ERROR;
	}
	ifindex = iface_index(argv[1]);
	if (!ifindex)
		return CLI_EXIT_ERROR;
	err = dp_detach(g->pin_dir, ifindex);
	if (err == -ENOENT) {
		fprintf(stderr, "bpfmesh: %s: bpfmesh is not attached there\n", argv[1]);
		return CLI_EXIT_ERROR;
	}
	if (err) {
		fprintf(stderr, "bpfmesh: detach %s: %s\n", argv[1], strerror(-err));
		return CLI_EXIT_ERROR;
	}
	printf("detached from %s\n", argv[1]);
	return CLI_EXIT_OK;
}
