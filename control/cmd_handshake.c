// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh auth serve|connect: run the mutual-authentication handshake
 * (identity/ident_hs.h) for one workload identity over TCP and write the
 * resulting pair into the pinned bm_auth map through ident_authz, both
 * directions, with expiry = min(documents' not-after, --ttl).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <jansson.h>
#include <sodium.h>

#include <abi/abi.h>

#include "agent.h"
#include "agent_sock.h"
#include "cli.h"
#include "ident_authz.h"
#include "ident_hs.h"
#include "ident_store.h"
#include "log.h"
#include "pinned.h"

#define DOC_MAX (64 * 1024)

struct hs_args {
	const char *identity; /* document path; its key is PATH.key */
	const char *addr;
	unsigned int port;
	unsigned int ttl_s;
	unsigned int count; /* serve: handshakes to accept before exiting */
};

struct hs_ctx {
	struct ident_trust trust;
	struct ident_crl crl;
	uint8_t *doc;
	size_t doc_len;
	uint8_t sk[64];
	int auth_fd;
	const char *state_dir; /* for the local agent's socket */
};

/*
 * Tell the local agent, if one answers, how a handshake ended: it counts
 * them for its metrics (bpfmesh_handshakes_total, ..._failures_total).
 * Best effort and short: no agent is a normal set-up.
 */
static void report_handshake(const struct hs_ctx *c, bool is_ok)
{
	json_t *req = json_pack("{s:s, s:b}", "op", "handshake-report", "ok", is_ok);
	json_t *reply = NULL;
	char sock[4096];

	if (!req)
		return;
	agent_sock_path(c->state_dir, sock, sizeof(sock));
	if (agent_sock_call(sock, req, 300, &reply))
		pr_debug("auth: no agent on %s to count the handshake", sock);
	json_decref(reply);
	json_decref(req);
}

static int write_auth(void *ctx, uint32_t src_id, uint32_t dst_id, uint64_t expires_boot_ns,
		      uint64_t handshake_id)
{
	struct bm_auth_key key = {.src_id = src_id, .dst_id = dst_id};
	struct bm_auth_value val = {.expires_boot_ns = expires_boot_ns,
				    .handshake_id = handshake_id};

	return bpf_map_update_elem(*(int *)ctx, &key, &val, BPF_ANY) ? -errno : 0;
}

static int delete_auth(void *ctx, uint32_t src_id, uint32_t dst_id)
{
	struct bm_auth_key key = {.src_id = src_id, .dst_id = dst_id};

	return bpf_map_delete_elem(*(int *)ctx, &key) && errno != ENOENT ? -errno : 0;
}

static int load_identity(const struct cli_globals *g, const char *doc_path, struct hs_ctx *c)
{
	char dir[4096], key_path[4200];
	int err;

	err = ident_store_dir(g->state_dir, 0, dir, sizeof(dir));
	if (!err)
		err = ident_trust_load(dir, &c->trust);
	if (err) {
		fprintf(stderr,
			"bpfmesh: auth: no trust domain under %s: run 'bpfmesh identity init'\n",
			g->state_dir);
		return err;
	}
	ident_crl_init(&c->crl);
	err = ident_crl_load(dir, &c->trust, &c->crl);
	if (err && err != -ENOENT)
		return err;
	err = ident_file_read(doc_path, 0, DOC_MAX, &c->doc, &c->doc_len);
	snprintf(key_path, sizeof(key_path), "%s.key", doc_path);
	if (!err)
		err = ident_key_load(key_path, c->sk);
	if (err)
		fprintf(stderr, "bpfmesh: auth: read identity %s (and %s): %s\n", doc_path,
			key_path, strerror(-err));
	return err;
}

static void release_identity(struct hs_ctx *c)
{
	sodium_memzero(c->sk, sizeof(c->sk));
	free(c->doc);
	ident_crl_release(&c->crl);
}

static int make_addr(const char *text, unsigned int port, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	fprintf(stderr, "bpfmesh: auth: '%s' is not an IPv4 or IPv6 address\n", text);
	return -EINVAL;
}

/* Run one handshake on fd and grant its pair; prints the outcome. */
static int handshake_and_grant(struct hs_ctx *c, struct ident_authz *az, int fd, bool is_server)
{
	struct ident_hs_config cfg = {.trust = &c->trust,
				      .crl = &c->crl,
				      .doc = c->doc,
				      .doc_len = c->doc_len,
				      .sk = c->sk};
	struct ident_hs_result res;
	struct ident_clock now;
	int err;

	memset(&res, 0, sizeof(res));
	err = is_server ? ident_hs_server(fd, &cfg, &res) : ident_hs_client(fd, &cfg, &res);
	if (err) {
		fprintf(stderr, "bpfmesh: auth: handshake failed: %s\n", strerror(-err));
		report_handshake(c, false);
		return err;
	}
	ident_clock_now(&now);
	err = ident_authz_grant(az, &res, &now);
	if (!err)
		printf("authenticated %u <-> %u (handshake %016llx)\n", res.local_id, res.peer_id,
		       (unsigned long long)res.handshake_id);
	else
		fprintf(stderr, "bpfmesh: auth: grant: %s\n", strerror(-err));
	report_handshake(c, !err);
	ident_hs_result_clear(&res);
	return err;
}

static int serve(struct hs_ctx *c, struct ident_authz *az, const struct hs_args *a)
{
	struct sockaddr_storage ss;
	unsigned int done = 0;
	int lfd, fd, one = 1, err;
	socklen_t len;

	err = make_addr(a->addr, a->port, &ss, &len);
	if (err)
		return err;
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 16)) {
		err = -errno;
		fprintf(stderr, "bpfmesh: auth: listen on %s port %u: %s\n", a->addr, a->port,
			strerror(errno));
		goto out;
	}
	while (!a->count || done < a->count) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			goto out;
		}
		handshake_and_grant(c, az, fd, true);
		close(fd);
		done++;
	}
out:
	close(lfd);
	return err;
}

static int connect_once(struct hs_ctx *c, struct ident_authz *az, const struct hs_args *a)
{
	struct timeval tv = {.tv_sec = 5};
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err;

	err = make_addr(a->addr, a->port, &ss, &len);
	if (err)
		return err;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		err = -errno;
		fprintf(stderr, "bpfmesh: auth: connect to %s port %u: %s\n", a->addr, a->port,
			strerror(errno));
	} else {
		err = handshake_and_grant(c, az, fd, false);
	}
	close(fd);
	return err;
}

static int parse_args(int argc, char **argv, bool is_server, struct hs_args *a)
{
	int i, pos = 0;

	memset(a, 0, sizeof(*a));
	a->ttl_s = 300;
	a->count = 1;
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--identity") && v)
			a->identity = argv[++i];
		else if (!strcmp(argv[i], "--ttl") && v && !cli_parse_u32(v, 1, 86400, &a->ttl_s))
			i++;
		else if (is_server && !strcmp(argv[i], "--count") && v &&
			 !cli_parse_u32(v, 0, 1000000, &a->count))
			i++;
		else if (argv[i][0] != '-' && pos == 0 && ++pos)
			a->addr = argv[i];
		else if (argv[i][0] != '-' && pos == 1 && ++pos &&
			 !cli_parse_u32(argv[i], 1, 65535, &a->port))
			continue;
		else
			return -EINVAL;
	}
	return a->identity && pos == 2 ? 0 : -EINVAL;
}

/* See cli.h: bpfmesh auth serve|connect. */
int cmd_handshake(const struct cli_globals *g, int argc, char **argv)
{
	bool is_server = !strcmp(argv[0], "serve");
	struct ident_authz_config cfg = {.directions = IDENT_AUTHZ_PEER_TO_LOCAL |
						       IDENT_AUTHZ_LOCAL_TO_PEER};
	struct hs_ctx c = {.auth_fd = -1, .state_dir = g->state_dir};
	struct ident_authz_ops ops = {
		.write_auth = write_auth, .delete_auth = delete_auth, .ctx = &c.auth_fd};
	struct ident_authz *az = NULL;
	struct hs_args a;
	int err;

	if (parse_args(argc, argv, is_server, &a)) {
		fprintf(stderr,
			"usage: bpfmesh auth serve --identity FILE ADDR PORT [--ttl SECONDS] "
			"[--count N]\n       bpfmesh auth connect --identity FILE ADDR PORT "
			"[--ttl SECONDS]\n");
		return CLI_EXIT_ERROR;
	}
	if (sodium_init() < 0)
		return CLI_EXIT_ERROR;
	cfg.policy_ttl_ns = (uint64_t)a.ttl_s * 1000000000ULL;
	err = load_identity(g, a.identity, &c);
	if (!err) {
		c.auth_fd = pinned_map_fd(g->pin_dir, BM_MAP_AUTH);
		err = c.auth_fd < 0 ? c.auth_fd : 0;
	}
	if (!err) {
		az = ident_authz_new(&ops, &cfg);
		err = az ? 0 : -ENOMEM;
	}
	if (!err)
		err = is_server ? serve(&c, az, &a) : connect_once(&c, az, &a);
	ident_authz_free(az);
	if (c.auth_fd >= 0)
		close(c.auth_fd);
	release_identity(&c);
	return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}
