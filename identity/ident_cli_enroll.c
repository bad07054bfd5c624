// SPDX-License-Identifier: GPL-2.0-only
/*
 * `bpfmesh identity enroll`: certify a node key.
 *   enroll [--node NAME]                  root key here: make and certify node.key
 *   enroll --request FILE [--node NAME]   on the node: make node.key, write a request
 *   enroll --sign REQUEST -o FILE         on the root machine: certify a request
 *   enroll --install FILE [--trust-bundle BUNDLE]   on the node: install the result
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ident_cli_priv.h"
#include "ident_enroll.h"
#include "ident_issue.h"

struct enroll_args {
	const char *node, *request, *sign, *out, *install, *bundle;
	int64_t ttl_s;
};

/* This host's name as a node name, or NULL. */
static const char *default_node(char *buf, size_t cap)
{
	if (gethostname(buf, cap - 1))
		return NULL;
	buf[cap - 1] = '\0';
	return buf;
}

/* See ident_cli_priv.h. */
int icli_enroll_node(const struct icli *c, const char *node, int64_t ttl_s, uint64_t *old_serial)
{
	uint8_t root_sk[crypto_sign_SECRETKEYBYTES], node_sk[crypto_sign_SECRETKEYBYTES];
	char key_path[IDENT_PATH_MAX], doc_path[IDENT_PATH_MAX];
	struct ident_doc doc, old;
	int ret;

	*old_serial = 0;
	if (icli_path(c, IDENT_FILE_NODE_KEY, key_path, sizeof(key_path)) ||
	    icli_path(c, IDENT_FILE_NODE_DOC, doc_path, sizeof(doc_path)) ||
	    icli_load_key(c, IDENT_FILE_ROOT_KEY, root_sk))
		return -EINVAL;
	if (!ident_doc_load(doc_path, &old))
		*old_serial = old.certs[0].serial;
	ret = ident_issue_node(&c->trust, root_sk, node, c->now, ttl_s, &doc, node_sk);
	if (!ret)
		ret = ident_key_save(key_path, node_sk);
	if (!ret)
		ret = ident_doc_save(doc_path, &doc);
	sodium_memzero(root_sk, sizeof(root_sk));
	sodium_memzero(node_sk, sizeof(node_sk));
	if (ret)
		fprintf(stderr, "bpfmesh: identity: enroll %s: %s\n", node, strerror(-ret));
	else
		printf("node %s enrolled: serial 0x%016llx, valid until %s\n", doc.certs[0].subject,
		       (unsigned long long)doc.certs[0].serial,
		       icli_time(doc.certs[0].not_after, key_path, sizeof(key_path)));
	return ret;
}

/* On the node: reuse or make node.key and write a request for it. */
static int make_request(const struct icli *c, const struct enroll_args *a)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t req[IDENT_REQ_MAX_LEN];
	char path[IDENT_PATH_MAX];
	size_t len;
	int ret;

	ret = icli_path(c, IDENT_FILE_NODE_KEY, path, sizeof(path));
	if (ret)
		return ret;
	if (ident_file_exists(path)) {
		ret = ident_key_load(path, sk);
	} else {
		crypto_sign_keypair(pk, sk);
		ret = ident_key_save(path, sk);
	}
	if (!ret)
		ret = ident_enroll_request(a->node, sk, req, &len);
	if (!ret)
		ret = ident_file_write(a->request, req, len);
	sodium_memzero(sk, sizeof(sk));
	if (ret) {
		icli_fail("enroll", a->request, ret);
		return ret;
	}
	printf("%s: enrollment request for node %s; certify it with `bpfmesh identity enroll "
	       "--sign %s -o node.doc` where the root key is\n",
	       a->request, a->node, a->request);
	return 0;
}

/* On the root machine: check a request and certify its key. */
static int sign_request(const struct icli *c, const struct enroll_args *a)
{
	uint8_t root_sk[crypto_sign_SECRETKEYBYTES];
	struct ident_enroll_req r;
	struct ident_doc doc;
	uint8_t *buf;
	size_t len;
	int ret;

	ret = ident_file_read(a->sign, 0, IDENT_REQ_MAX_LEN, &buf, &len);
	if (ret) {
		icli_fail("enroll", a->sign, ret);
		return ret;
	}
	ret = ident_enroll_decode(buf, len, &r);
	free(buf);
	if (ret) {
		icli_fail("enroll", a->sign, ret);
		return ret;
	}
	ret = icli_load_key(c, IDENT_FILE_ROOT_KEY, root_sk);
	if (ret)
		return ret;
	ret = ident_enroll_certify(&c->trust, root_sk, &r, c->now, a->ttl_s, &doc);
	sodium_memzero(root_sk, sizeof(root_sk));
	if (!ret)
		ret = ident_doc_save(a->out, &doc);
	if (ret) {
		icli_fail("enroll", a->out, ret);
		return ret;
	}
	printf("%s: node %s certified, serial 0x%016llx\n", a->out, doc.certs[0].subject,
	       (unsigned long long)doc.certs[0].serial);
	return 0;
}

/* Copy a trust bundle into the state directory unless one is there. */
static int install_bundle(struct icli *c, const char *bundle)
{
	char path[IDENT_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len;
	int ret;

	ret = icli_path(c, IDENT_FILE_TRUST, path, sizeof(path));
	if (ret || ident_file_exists(path))
		return ret;
	ret = ident_file_read(bundle, 0, IDENT_TRUST_MAX_LEN, &buf, &len);
	if (!ret)
		ret = ident_trust_decode(buf, len, &c->trust);
	if (!ret)
		ret = ident_file_write(path, buf, len);
	free(buf);
	return ret;
}

/* On the node: install a certificate for our node.key after checking it. */
static int install_doc(struct icli *c, const struct enroll_args *a)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	char path[IDENT_PATH_MAX];
	struct ident_crl crl;
	struct ident_doc doc;
	int ret;

	ident_crl_init(&crl);
	ret = a->bundle ? install_bundle(c, a->bundle) : 0;
	if (!ret)
		ret = ident_trust_load(c->dir, &c->trust);
	if (ret) {
		icli_fail("enroll", "trust bundle", ret);
		return ret;
	}
	ret = ident_doc_load(a->install, &doc);
	if (!ret)
		ret = ident_crl_load(c->dir, &c->trust, &crl);
	if (!ret)
		ret = ident_doc_verify(&doc, &c->trust, &crl, c->now, IDENT_DEFAULT_SKEW_S, NULL);
	ident_crl_release(&crl);
	if (!ret && (doc.n_certs != 1 || doc.certs[0].kind != IDENT_KIND_NODE))
		ret = -EPROTO;
	if (!ret)
		ret = icli_load_key(c, IDENT_FILE_NODE_KEY, sk);
	if (!ret && sodium_memcmp(sk + crypto_sign_SEEDBYTES, doc.certs[0].public_key, 32))
		ret = -EKEYREJECTED; /* certifies another key */
	sodium_memzero(sk, sizeof(sk));
	if (!ret)
		ret = icli_path(c, IDENT_FILE_NODE_DOC, path, sizeof(path));
	if (!ret)
		ret = ident_doc_save(path, &doc);
	if (ret) {
		fprintf(stderr, "bpfmesh: identity enroll: %s: %s\n", a->install,
			ident_verify_is_verdict(ret) ? ident_verify_reason(ret) : strerror(-ret));
		return ret;
	}
	printf("node %s installed\n", doc.certs[0].subject);
	return 0;
}

static int parse(int argc, char **argv, struct enroll_args *a)
{
	static const struct option opts[] = {
		{"node", required_argument, NULL, 'n'},
		{"ttl", required_argument, NULL, 't'},
		{"request", required_argument, NULL, 'r'},
		{"sign", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{"install", required_argument, NULL, 'i'},
		{"trust-bundle", required_argument, NULL, 'b'},
		{NULL, 0, NULL, 0},
	};
	int opt, modes;

	while ((opt = getopt_long(argc, argv, "n:t:r:s:o:i:b:", opts, NULL)) != -1) {
		if (opt == 'n')
			a->node = optarg;
		else if (opt == 'r')
			a->request = optarg;
		else if (opt == 's')
			a->sign = optarg;
		else if (opt == 'o')
			a->out = optarg;
		else if (opt == 'i')
			a->install = optarg;
		else if (opt == 'b')
			a->bundle = optarg;
		else if (opt != 't' || ident_parse_duration(optarg, &a->ttl_s))
			return -EINVAL;
	}
	modes = !!a->request + !!a->sign + !!a->install;
	if (optind != argc || modes > 1 || !!a->sign != !!a->out || (a->bundle && !a->install))
		return -EINVAL;
	return a->node || a->sign || a->install ? 0 : -EINVAL;
}

/* See ident_cli_priv.h. */
int icli_enroll(int argc, char **argv, const char *state_dir)
{
	struct enroll_args a = {.ttl_s = IDENT_NODE_TTL_DEFAULT_S};
	char host[256];
	uint64_t old;
	struct icli c;
	int ret;

	a.node = default_node(host, sizeof(host));
	if (parse(argc, argv, &a)) {
		fprintf(stderr,
			"usage: bpfmesh identity enroll [--node NAME] [--ttl DURATION]\n"
			"       bpfmesh identity enroll --request FILE [--node NAME]\n"
			"       bpfmesh identity enroll --sign REQUEST -o FILE [--ttl DURATION]\n"
			"       bpfmesh identity enroll --install FILE [--trust-bundle FILE]\n");
		return IDENT_CLI_ERROR;
	}
	/* the node side may start from an empty state directory */
	if (icli_open(&c, state_dir, a.request || a.install, !(a.request || a.install)))
		return IDENT_CLI_ERROR;
	if (a.request)
		ret = make_request(&c, &a);
	else if (a.sign)
		ret = sign_request(&c, &a);
	else if (a.install)
		ret = install_doc(&c, &a);
	else
		ret = icli_enroll_node(&c, a.node, a.ttl_s, &old);
	return ret ? IDENT_CLI_ERROR : IDENT_CLI_OK;
}
