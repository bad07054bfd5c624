// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh guard set IFACE ADDR... | del IFACE | show [IFACE]: the
 * anti-spoofing guards of the data plane (dp_guard_set(), bpf/abi/guard.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "dataplane.h"
#include "guard.h"

#define GUARD_USAGE                                \
	"usage: bpfmesh guard set IFACE ADDR...\n" \
	"       bpfmesh guard del IFACE\n"         \
	"       bpfmesh guard show [IFACE]\n"

static int iface_index(const char *name)
{
	unsigned int ifindex = if_nametoindex(name);

	if (!ifindex)
		fprintf(stderr, "bpfmesh: no interface '%s' in this network namespace\n", name);
	return (int)ifindex;
}

static int guard_set(struct dataplane *dp, int ifindex, int argc, char **argv)
{
	struct bm_addr addrs[BM_GUARD_MAX_V4 + BM_GUARD_MAX_V6];
	size_t n = 0;
	int i, err;

	for (i = 0; i < argc; i++) {
		if (n == sizeof(addrs) / sizeof(addrs[0])) {
			fprintf(stderr, "bpfmesh: guard: at most %d IPv4 and %d IPv6 addresses\n",
				BM_GUARD_MAX_V4, BM_GUARD_MAX_V6);
			return CLI_EXIT_ERROR;
		}
		if (guard_addr_parse(argv[i], &addrs[n])) {
			fprintf(stderr, "bpfmesh: guard: '%s' is not an IPv4 or IPv6 address\n",
				argv[i]);
			return CLI_EXIT_ERROR;
		}
		n++;
	}
	err = dp_guard_set(dp, ifindex, addrs, n);
	if (err) {
		fprintf(stderr, "bpfmesh: guard set: %s\n",
			err == -E2BIG ? "at most 4 IPv4 and 4 IPv6 addresses" : strerror(-err));
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

static void print_guard(int ifindex, const struct bm_ifguard *g)
{
	char name[IF_NAMESIZE] = "?", text[INET6_ADDRSTRLEN];
	unsigned int i;

	if (!if_indextoname((unsigned int)ifindex, name))
		snprintf(name, sizeof(name), "?");
	printf("%d %s", ifindex, name);
	for (i = 0; i < g->nr_v4 && i < BM_GUARD_MAX_V4; i++)
		printf(" %s", inet_ntop(AF_INET, &g->v4[i], text, sizeof(text)));
	for (i = 0; i < g->nr_v6 && i < BM_GUARD_MAX_V6; i++)
		printf(" %s", inet_ntop(AF_INET6, g->v6[i], text, sizeof(text)));
	if (!g->nr_v4 && !g->nr_v6)
		printf(" (no source admitted)");
	printf("\n");
}

static int guard_show(struct dataplane *dp, int ifindex)
{
	struct bm_ifguard_key key, next, *prev = NULL;
	int fd = dp_map_fd(dp, BM_MAP_IFGUARD);
	struct bm_ifguard g;
	int err;

	if (ifindex) {
		err = dp_guard_get(dp, ifindex, &g);
		if (err == -ENOENT) {
			printf("%d: no guard\n", ifindex);
			return CLI_EXIT_OK;
		}
		if (err)
			return CLI_EXIT_ERROR;
		print_guard(ifindex, &g);
		return CLI_EXIT_OK;
	}
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &g))
			print_guard((int)key.ifindex, &g);
	}
	return CLI_EXIT_OK;
}

/* See cli.h. */
int cmd_guard(const struct cli_globals *g, int argc, char **argv)
{
	struct dataplane *dp = NULL;
	int ifindex = 0, rc, err;
	const char *verb;

	if (argc < 2 || (strcmp(argv[1], "show") && argc < 3) ||
	    (!strcmp(argv[1], "del") && argc != 3) || (!strcmp(argv[1], "show") && argc > 3)) {
		fprintf(stderr, GUARD_USAGE);
		return CLI_EXIT_ERROR;
	}
	verb = argv[1];
	if (strcmp(verb, "set") && strcmp(verb, "del") && strcmp(verb, "show")) {
		fprintf(stderr, "bpfmesh: guard: unknown action '%s'\n" GUARD_USAGE, verb);
		return CLI_EXIT_ERROR;
	}
	if (argc > 2) {
		ifindex = iface_index(argv[2]);
		if (!ifindex)
			return CLI_EXIT_ERROR;
	}
	err = dp_open(g->pin_dir, false, &dp);
	if (err)
		return CLI_EXIT_ERROR;
	if (!strcmp(verb, "set")) {
		rc = guard_set(dp, ifindex, argc - 3, argv + 3);
	} else if (!strcmp(verb, "del")) {
		err = dp_guard_del(dp, ifindex);
		if (err)
			fprintf(stderr, "bpfmesh: guard del %s: %s\n", argv[2],
				err == -ENOENT ? "no guard there" : strerror(-err));
		rc = err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
	} else {
		rc = guard_show(dp, ifindex);
	}
	dp_close(dp);
	return rc;
}
