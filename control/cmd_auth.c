// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh auth set|del|list: the mutual-authentication map by numeric identity. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <abi/abi.h>

#include "cli.h"
#include "ident_id.h"
#include "pinned.h"

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* An identity is its number or its SPIFFE ID. */
static int parse_identity(const char *text, __u32 *id)
{
	if (!strncmp(text, "spiffe://", 9))
		return ident_numeric_id(text, id);
	return cli_parse_u32(text, 1, UINT32_MAX, id);
}

static int parse_pair(char **argv, struct bm_auth_key *key)
{
	memset(key, 0, sizeof(*key));
	if (parse_identity(argv[0], &key->src_id) || parse_identity(argv[1], &key->dst_id)) {
		fprintf(stderr, "bpfmesh: auth: an identity is a number from 1 to 4294967295 "
				"or a SPIFFE ID (spiffe://DOMAIN/PATH)\n");
		return -EINVAL;
	}
	return 0;
}

static int auth_set(int fd, int argc, char **argv)
{
	struct bm_auth_value val = {0};
	struct bm_auth_key key;
	unsigned int ttl_s;

	if (argc != 5 || strcmp(argv[3], "--ttl") || parse_pair(argv + 1, &key) ||
	    cli_parse_u32(argv[4], 0, 86400 * 365, &ttl_s)) {
		fprintf(stderr, "usage: bpfmesh auth set SRC_ID DST_ID --ttl SECONDS\n");
		return CLI_EXIT_ERROR;
	}
	val.expires_boot_ns = boot_ns() + (uint64_t)ttl_s * 1000000000ULL;
	if (bpf_map_update_elem(fd, &key, &val, BPF_ANY)) {
		fprintf(stderr, "bpfmesh: auth set: %s\n", strerror(errno));
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

static int auth_del(int fd, int argc, char **argv)
{
	struct bm_auth_key key;

	if (argc != 3 || parse_pair(argv + 1, &key)) {
		fprintf(stderr, "usage: bpfmesh auth del SRC_ID DST_ID\n");
		return CLI_EXIT_ERROR;
	}
	if (bpf_map_delete_elem(fd, &key) && errno != ENOENT) {
		fprintf(stderr, "bpfmesh: auth del: %s\n", strerror(errno));
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

static int auth_list(int fd)
{
	struct bm_auth_key key, next;
	struct bm_auth_value val;
	uint64_t now = boot_ns();
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		if (val.expires_boot_ns > now)
			printf("%u -> %u expires in %.1f s\n", key.src_id, key.dst_id,
			       (double)(val.expires_boot_ns - now) / 1e9);
		else
			printf("%u -> %u expired\n", key.src_id, key.dst_id);
	}
	return CLI_EXIT_OK;
}

/* See cli.h. */
int cmd_auth(const struct cli_globals *g, int argc, char **argv)
{
	int fd, ret;

	if (argc < 2) {
		fprintf(stderr, "usage: bpfmesh auth set|del|list ...\n");
		return CLI_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "serve") || !strcmp(argv[1], "connect"))
		return cmd_handshake(g, argc - 1, argv + 1);
	fd = pinned_map_fd(g->pin_dir, BM_MAP_AUTH);
	if (fd < 0)
		return CLI_EXIT_ERROR;
	if (!strcmp(argv[1], "set"))
		ret = auth_set(fd, argc - 1, argv + 1);
	else if (!strcmp(argv[1], "del"))
		ret = auth_del(fd, argc - 1, argv + 1);
	else if (!strcmp(argv[1], "list"))
		ret = auth_list(fd);
	else {
		fprintf(stderr, "bpfmesh: auth: unknown action '%s'\n", argv[1]);
		ret = CLI_EXIT_ERROR;
	}
	close(fd);
	return ret;
}
