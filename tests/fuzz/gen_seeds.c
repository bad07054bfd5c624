// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes the checked-in seed corpora: valid documents for fuzz_ident_doc and
 * recorded handshake flights for fuzz_ident_hs, all under the fixed fuzz
 * trust domain. Usage: fuzz_gen_seeds CORPUS_DIR (see tests/fuzz/README.md).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_fixture.h"
#include "ident_crl.h"
#include "ident_enroll.h"
#include "ident_hs.h"

struct flight {
	uint8_t bytes[2][4096]; /* [0] client to server, [1] server to client */
	size_t len[2];
};

struct server_arg {
	int fd, ret;
	const struct ident_hs_config *cfg;
};

static void *server_main(void *arg)
{
	struct server_arg *s = arg;
	struct ident_hs_result res;

	s->ret = ident_hs_server(s->fd, s->cfg, &res);
	ident_hs_result_clear(&res);
	close(s->fd);
	return NULL;
}

/* Copy between the two ends until both close, recording each direction. */
static void relay(int cfd, int sfd, struct flight *f)
{
	struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
	uint8_t buf[4096];
	int i, rounds;
	ssize_t n;

	for (rounds = 0; rounds < 100 && poll(p, 2, 2000) > 0; rounds++) {
		for (i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || f->len[i] + (size_t)n > sizeof(f->bytes[i]))
				return;
			memcpy(f->bytes[i] + f->len[i], buf, (size_t)n);
			f->len[i] += (size_t)n;
			if (write(p[!i].fd, buf, (size_t)n) != n)
				return;
		}
	}
}

struct client_arg {
	int fd, ret;
	const struct ident_hs_config *cfg;
};

static void *client_main(void *arg)
{
	struct client_arg *c = arg;
	struct ident_hs_result res;

	c->ret = ident_hs_client(c->fd, c->cfg, &res);
	ident_hs_result_clear(&res);
	close(c->fd);
	return NULL;
}

static int record(const struct fuzz_fixture *fx, struct flight *f)
{
	struct ident_hs_config ccfg = {.trust = &fx->trust,
				       .doc = fx->client.doc,
				       .doc_len = fx->client.doc_len,
				       .sk = fx->client.sk,
				       .now_s = FUZZ_NOW};
	struct ident_hs_config scfg = {.trust = &fx->trust,
				       .doc = fx->server.doc,
				       .doc_len = fx->server.doc_len,
				       .sk = fx->server.sk,
				       .now_s = FUZZ_NOW};
	struct client_arg c = {.cfg = &ccfg};
	struct server_arg s = {.cfg = &scfg};
	pthread_t ct, st;
	int a[2], b[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) || socketpair(AF_UNIX, SOCK_STREAM, 0, b))
		return -errno;
	c.fd = a[0];
	s.fd = b[1];
	pthread_create(&st, NULL, server_main, &s);
	pthread_create(&ct, NULL, client_main, &c);
	relay(a[1], b[0], f);
	pthread_join(ct, NULL);
	pthread_join(st, NULL);
	close(a[1]);
	close(b[0]);
	return c.ret ? c.ret : s.ret;
}

static int put(const char *dir, const char *name, uint8_t role, const uint8_t *p, size_t len)
{
	char path[1024];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	ok = (role > 1 || fwrite(&role, 1, 1, f) == 1) && fwrite(p, 1, len, f) == len;
	return fclose(f) || !ok ? -EIO : 0;
}

/* Revocation list, trust bundle and enrollment request seeds. */
static int put_others(const char *dir, const struct fuzz_fixture *fx)
{
	uint8_t buf[IDENT_REQ_MAX_LEN > IDENT_TRUST_MAX_LEN ? IDENT_REQ_MAX_LEN
							    : IDENT_TRUST_MAX_LEN];
	struct ident_crl crl;
	uint8_t *list;
	size_t len;
	int ret;

	ident_crl_init(&crl);
	crl.version = 2;
	crl.issued_at = FUZZ_NOT_BEFORE;
	if (ident_crl_add(&crl, 7) || ident_crl_add(&crl, 0x123456789abcdefULL) ||
	    ident_crl_sign(&crl, fx->root_sk, &list, &len))
		return -1;
	ret = put(dir, "crl.bin", 2, list, len);
	free(list);
	ident_crl_release(&crl);
	len = ident_trust_encode(&fx->trust, buf);
	ret = ret ? ret : put(dir, "trust.bin", 2, buf, len);
	if (!ret && !ident_enroll_request("fuzz-node-2", fx->node_sk, buf, &len))
		ret = put(dir, "request.bin", 2, buf, len);
	return ret;
}

int main(int argc, char **argv)
{
	char doc_dir[900], hs_dir[900];
	static struct fuzz_fixture fx;
	uint8_t node[IDENT_DOC_MAX_LEN];
	struct flight f = {0};
	size_t node_len;
	int ret;

	if (argc != 2 || fuzz_fixture_init(&fx)) {
		fprintf(stderr, "usage: fuzz_gen_seeds CORPUS_DIR\n");
		return 2;
	}
	snprintf(doc_dir, sizeof(doc_dir), "%s/ident_doc", argv[1]);
	snprintf(hs_dir, sizeof(hs_dir), "%s/ident_hs", argv[1]);
	ret = record(&fx, &f);
	if (ret || ident_doc_encode(&fx.node, node, sizeof(node), &node_len)) {
		fprintf(stderr, "fuzz_gen_seeds: handshake: %s\n", strerror(-ret));
		return 1;
	}
	ret = put(doc_dir, "workload.bin", 2, fx.client.doc, fx.client.doc_len) ||
	      put(doc_dir, "node.bin", 2, node, node_len) ||
	      put(hs_dir, "server_role.bin", 0, f.bytes[0], f.len[0]) ||
	      put(hs_dir, "client_role.bin", 1, f.bytes[1], f.len[1]) ||
	      put(hs_dir, "hello_only.bin", 0, f.bytes[0], 70) ||
	      put(hs_dir, "server_auth_only.bin", 1, f.bytes[1], f.len[1] - 36) ||
	      put_others(doc_dir, &fx);
	if (ret) {
		fprintf(stderr, "fuzz_gen_seeds: cannot write under %s\n", argv[1]);
		return 1;
	}
	return 0;
}
