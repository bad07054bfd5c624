// SPDX-License-Identifier: GPL-2.0-only
/* `bpfmesh identity`: dispatch, shared plumbing, init and enroll. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ident_cli_priv.h"
#include "ident_issue.h"

struct icli_action {
	const char *name;
	int (*run)(int argc, char **argv, const char *state_dir);
	const char *usage;
};

static const struct icli_action actions[] = {
	{"init", icli_init, "init --trust-domain DOMAIN"},
	{"enroll", icli_enroll,
	 "enroll [--node NAME] [--ttl DURATION] | enroll --request FILE [--node NAME]\n"
	 "       bpfmesh identity enroll --sign REQUEST -o FILE [--ttl DURATION]"
	 " | enroll --install FILE [--trust-bundle FILE]"},
	{"issue", icli_issue, "issue --namespace NS --service-account SA [--ttl DURATION] -o FILE"},
	{"show", icli_show, "show [FILE]"},
	{"verify", icli_verify, "verify FILE"},
	{"revoke", icli_revoke, "revoke FILE|SERIAL"},
	{"rotate", icli_rotate, "rotate FILE [--ttl DURATION] | rotate --node [--ttl DURATION]"},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	const struct icli_action *a;

	for (a = actions; a->name; a++)
		fprintf(f, "usage: bpfmesh identity %s\n", a->usage);
}

/* See ident_cli.h. */
int ident_cli_main(int argc, char **argv, const char *state_dir)
{
	const struct icli_action *a;

	if (argc < 2) {
		usage(stderr);
		return IDENT_CLI_ERROR;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return IDENT_CLI_OK;
	}
	if (sodium_init() < 0)
		return icli_fail(argv[1], "libsodium", -EIO);
	for (a = actions; a->name; a++) {
		if (!strcmp(a->name, argv[1])) {
			optind = 0; /* glibc: full getopt reinitialisation per action */
			return a->run(argc - 1, argv + 1, state_dir);
		}
	}
	fprintf(stderr, "bpfmesh: identity: unknown action '%s'\n", argv[1]);
	usage(stderr);
	return IDENT_CLI_ERROR;
}

/* See ident_cli_priv.h. */
int icli_fail(const char *action, const char *what, int err)
{
	fprintf(stderr, "bpfmesh: identity %s: %s: %s\n", action, what, strerror(-err));
	return IDENT_CLI_ERROR;
}

/* See ident_cli_priv.h. */
int icli_open(struct icli *c, const char *state_dir, int is_create, int need_trust)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->state_dir = state_dir;
	c->now = (int64_t)time(NULL);
	ret = ident_store_dir(state_dir, is_create, c->dir, sizeof(c->dir));
	if (ret == -EPERM)
		fprintf(stderr,
			"bpfmesh: identity: %s/identity must be 0700 and ours, and %s "
			"not writable by group or others; refusing\n",
			state_dir, state_dir);
	else if (ret == -ENOENT)
		fprintf(stderr, "bpfmesh: identity: %s: not initialised (bpfmesh identity init)\n",
			state_dir);
	else if (ret)
		fprintf(stderr, "bpfmesh: identity: %s: %s\n", state_dir, strerror(-ret));
	if (ret || !need_trust)
		return ret;
	ret = ident_trust_load(c->dir, &c->trust);
	if (ret == -ENOENT)
		fprintf(stderr,
			"bpfmesh: identity: no trust bundle in %s (bpfmesh identity init)\n",
			c->dir);
	else if (ret)
		fprintf(stderr, "bpfmesh: identity: trust bundle in %s: %s\n", c->dir,
			strerror(-ret));
	return ret;
}

/* See ident_cli_priv.h. */
int icli_path(const struct icli *c, const char *name, char *path, size_t cap)
{
	int ret = ident_store_path(c->dir, name, path, cap);

	if (ret)
		fprintf(stderr, "bpfmesh: identity: %s/%s: %s\n", c->dir, name, strerror(-ret));
	return ret;
}

/* See ident_cli_priv.h. */
int icli_load_key(const struct icli *c, const char *name, uint8_t *sk)
{
	char path[IDENT_PATH_MAX];
	int ret;

	ret = icli_path(c, name, path, sizeof(path));
	if (!ret)
		ret = ident_key_load(path, sk);
	if (ret == -EPERM)
		fprintf(stderr,
			"bpfmesh: identity: %s: readable by group or others, or not ours; "
			"refusing\n",
			path);
	else if (ret)
		fprintf(stderr, "bpfmesh: identity: %s: %s\n", path, strerror(-ret));
	return ret;
}

/* See ident_cli_priv.h. */
int icli_save_pair(const char *path, const struct ident_doc *d, const uint8_t *sk)
{
	char key_path[IDENT_PATH_MAX];
	int ret;

	if (snprintf(key_path, sizeof(key_path), "%s.key", path) >= (int)sizeof(key_path))
		return -ENAMETOOLONG;
	/* key first: a document without its key is useless, a stray key harmless */
	ret = ident_key_save(key_path, sk);
	if (!ret)
		ret = ident_doc_save(path, d);
	return ret;
}

/* See ident_cli_priv.h. */
const char *icli_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "@%lld", (long long)t);
	return buf;
}

/* Sign crl with root_sk and store it. */
static int store_crl(const struct icli *c, const struct ident_crl *crl, const uint8_t *root_sk)
{
	char path[IDENT_PATH_MAX];
	size_t len;
	uint8_t *buf;
	int ret;

	ret = icli_path(c, IDENT_FILE_CRL, path, sizeof(path));
	if (ret)
		return ret;
	ret = ident_crl_sign(crl, root_sk, &buf, &len);
	if (ret)
		return ret;
	ret = ident_file_write(path, buf, len);
	free(buf);
	return ret;
}

/* See ident_cli_priv.h. */
int icli_crl_init(const struct icli *c, const uint8_t *root_sk)
{
	struct ident_crl crl;

	ident_crl_init(&crl);
	crl.version = 1;
	crl.issued_at = c->now;
	return store_crl(c, &crl, root_sk);
}

/* See ident_cli_priv.h. */
int icli_revoke_serials(const struct icli *c, const uint64_t *serials, unsigned int n,
			uint64_t *version)
{
	uint8_t root_sk[crypto_sign_SECRETKEYBYTES];
	struct ident_crl crl;
	unsigned int i;
	int ret;

	ident_crl_init(&crl);
	ret = icli_load_key(c, IDENT_FILE_ROOT_KEY, root_sk);
	if (ret)
		return ret;
	ret = ident_crl_load(c->dir, &c->trust, &crl);
	for (i = 0; !ret && i < n; i++)
		ret = ident_crl_add(&crl, serials[i]);
	if (!ret) {
		crl.version++;
		crl.issued_at = c->now;
		ret = store_crl(c, &crl, root_sk);
	}
	if (ret)
		fprintf(stderr, "bpfmesh: identity: revocation list: %s\n", strerror(-ret));
	*version = crl.version;
	ident_crl_release(&crl);
	sodium_memzero(root_sk, sizeof(root_sk));
	return ret;
}

/* Write the root key, the trust bundle and an empty revocation list. */
static int create_domain(const struct icli *c, const char *domain)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t bundle[IDENT_TRUST_MAX_LEN];
	char path[IDENT_PATH_MAX];
	struct ident_trust t;
	int ret;

	crypto_sign_keypair(pk, sk);
	ret = ident_trust_init(&t, domain, pk);
	if (!ret)
		ret = icli_path(c, IDENT_FILE_ROOT_KEY, path, sizeof(path));
	if (!ret)
		ret = ident_key_save(path, sk);
	if (!ret)
		ret = icli_path(c, IDENT_FILE_TRUST, path, sizeof(path));
	if (!ret)
		ret = ident_file_write(path, bundle, ident_trust_encode(&t, bundle));
	if (!ret) {
		((struct icli *)c)->trust = t;
		ret = icli_crl_init(c, sk);
	}
	sodium_memzero(sk, sizeof(sk));
	return ret;
}

/* See ident_cli_priv.h. `init --trust-domain DOMAIN`. */
int icli_init(int argc, char **argv, const char *state_dir)
{
	static const struct option opts[] = {
		{"trust-domain", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	char path[IDENT_PATH_MAX];
	const char *domain = NULL;
	struct icli c;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		if (opt != 't')
			goto usage;
		domain = optarg;
	}
	if (!domain || optind != argc)
		goto usage;
	if (!ident_domain_valid(domain)) {
		fprintf(stderr,
			"bpfmesh: identity init: '%s' is not a trust domain name "
			"(lowercase letters, digits, '.', '-', '_')\n",
			domain);
		return IDENT_CLI_ERROR;
	}
	if (icli_open(&c, state_dir, 1, 0) || icli_path(&c, IDENT_FILE_TRUST, path, sizeof(path)))
		return IDENT_CLI_ERROR;
	if (ident_file_exists(path)) {
		fprintf(stderr,
			"bpfmesh: identity init: %s exists; refusing to replace a trust "
			"domain\n",
			path);
		return IDENT_CLI_ERROR;
	}
	ret = create_domain(&c, domain);
	if (ret)
		return icli_fail("init", c.dir, ret);
	printf("trust domain %s created in %s\n", domain, c.dir);
	return IDENT_CLI_OK;
usage:
	fprintf(stderr, "usage: bpfmesh identity init --trust-domain DOMAIN\n");
	return IDENT_CLI_ERROR;
}
