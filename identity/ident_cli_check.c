// SPDX-License-Identifier: GPL-2.0-only
/* `bpfmesh identity show`, `verify` and `revoke`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ident_cli_priv.h"
#include "ident_enroll.h"
#include "ident_id.h"

#define SHOW_MAX_LEN (64 + (size_t)IDENT_CRL_MAX_SERIALS * 8)

static const char *kind_name(uint32_t kind)
{
	return kind == IDENT_KIND_NODE ? "node" : "workload";
}

static void print_key(const char *label, const uint8_t *key)
{
	char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];

	sodium_bin2hex(hex, sizeof(hex), key, crypto_sign_PUBLICKEYBYTES);
	printf("      %-11s ed25519:%s\n", label, hex);
}

static void show_cert(unsigned int i, const struct ident_cert *c, int64_t now)
{
	char t[40];
	uint32_t id;

	printf("  [%u] %s %s\n", i, kind_name(c->kind), c->subject);
	printf("      %-11s 0x%016llx\n", "serial", (unsigned long long)c->serial);
	if (!ident_numeric_id(c->subject, &id))
		printf("      %-11s %u\n", "numeric id", id);
	printf("      %-11s %s\n", "not before", icli_time(c->not_before, t, sizeof(t)));
	printf("      %-11s %s (%s)\n", "not after", icli_time(c->not_after, t, sizeof(t)),
	       c->not_after > now ? "in the future" : "past");
	print_key("public key", c->public_key);
	print_key("issuer key", c->issuer_key);
}

static int show_doc(const uint8_t *buf, size_t len, int64_t now)
{
	struct ident_doc d;
	unsigned int i;

	if (ident_doc_decode(buf, len, &d))
		return -EBADMSG;
	printf("identity document (format %d, %zu bytes, %u certificate%s, leaf first)\n",
	       IDENT_DOC_VERSION, len, d.n_certs, d.n_certs > 1 ? "s" : "");
	for (i = 0; i < d.n_certs; i++)
		show_cert(i, &d.certs[i], now);
	return 0;
}

static int show_crl(const uint8_t *buf, size_t len, const struct icli *c, int has_trust)
{
	struct ident_crl crl;
	char t[40];
	uint32_t i;
	int ret;

	if (!has_trust) {
		printf("revocation list (not checked: no trust bundle in %s)\n", c->dir);
		return 0;
	}
	ident_crl_init(&crl);
	ret = ident_crl_decode(buf, len, &c->trust, &crl);
	if (ret)
		return ret;
	printf("revocation list version %llu, issued %s, signature good, %u serial%s\n",
	       (unsigned long long)crl.version, icli_time(crl.issued_at, t, sizeof(t)), crl.n,
	       crl.n == 1 ? "" : "s");
	for (i = 0; i < crl.n && i < 1000; i++)
		printf("  0x%016llx\n", (unsigned long long)crl.serials[i]);
	if (crl.n > 1000)
		printf("  ... %u more\n", crl.n - 1000);
	ident_crl_release(&crl);
	return 0;
}

static int show_trust(const uint8_t *buf, size_t len)
{
	struct ident_trust t;

	if (ident_trust_decode(buf, len, &t))
		return -EBADMSG;
	printf("trust bundle: domain %s\n", t.domain);
	print_key("root key", t.root_key);
	return 0;
}

static int show_request(const uint8_t *buf, size_t len)
{
	struct ident_enroll_req r;
	int ret;

	ret = ident_enroll_decode(buf, len, &r);
	if (ret)
		return ret;
	printf("enrollment request: node %s, proof of possession good\n", r.node);
	print_key("public key", r.public_key);
	return 0;
}

/* Show one file, recognised by its magic. */
static int show_file(const struct icli *c, int has_trust, const char *path)
{
	size_t len = 0;
	uint8_t *buf;
	int ret;

	ret = ident_file_read(path, 0, SHOW_MAX_LEN, &buf, &len);
	if (ret)
		return icli_fail("show", path, ret);
	if (len >= 4 && !memcmp(buf, IDENT_DOC_MAGIC, 4))
		ret = show_doc(buf, len, c->now);
	else if (len >= 4 && !memcmp(buf, IDENT_CRL_MAGIC, 4))
		ret = show_crl(buf, len, c, has_trust);
	else if (len >= 4 && !memcmp(buf, IDENT_TRUST_MAGIC, 4))
		ret = show_trust(buf, len);
	else if (len >= 4 && !memcmp(buf, IDENT_REQ_MAGIC, 4))
		ret = show_request(buf, len);
	else if (len >= 4 && !memcmp(buf, IDENT_KEY_MAGIC, 4))
		ret = -EACCES; /* never print secret keys */
	else
		ret = -EBADMSG;
	sodium_memzero(buf, len);
	free(buf);
	return ret ? icli_fail("show", path, ret) : IDENT_CLI_OK;
}

/* `show` without a file: the state of this node. */
static int show_state(const struct icli *c)
{
	char path[IDENT_PATH_MAX];
	int status;

	if (icli_path(c, IDENT_FILE_TRUST, path, sizeof(path)))
		return IDENT_CLI_ERROR;
	status = show_file(c, 1, path);
	if (!icli_path(c, IDENT_FILE_ROOT_KEY, path, sizeof(path)))
		printf("root key: %s\n", ident_file_exists(path) ? "present" : "absent");
	if (!icli_path(c, IDENT_FILE_NODE_DOC, path, sizeof(path)) && ident_file_exists(path))
		status |= show_file(c, 1, path);
	else
		printf("node: not enrolled\n");
	if (!icli_path(c, IDENT_FILE_CRL, path, sizeof(path)) && ident_file_exists(path))
		status |= show_file(c, 1, path);
	return status ? IDENT_CLI_ERROR : IDENT_CLI_OK;
}

/* See ident_cli_priv.h. */
int icli_show(int argc, char **argv, const char *state_dir)
{
	struct icli c;
	int has_trust;

	if (argc > 2) {
		fprintf(stderr, "usage: bpfmesh identity show [FILE]\n");
		return IDENT_CLI_ERROR;
	}
	if (argc == 1)
		return icli_open(&c, state_dir, 0, 1) ? IDENT_CLI_ERROR : show_state(&c);
	/* a document can be shown on a machine without state */
	has_trust = !ident_store_dir(state_dir, 0, c.dir, sizeof(c.dir)) &&
		    !ident_trust_load(c.dir, &c.trust);
	c.now = (int64_t)time(NULL);
	return show_file(&c, has_trust, argv[1]);
}

/* See ident_cli_priv.h. */
int icli_verify(int argc, char **argv, const char *state_dir)
{
	struct ident_crl crl;
	struct ident_doc d;
	struct icli c;
	int ret;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: bpfmesh identity verify FILE\n");
		return IDENT_CLI_ERROR;
	}
	if (icli_open(&c, state_dir, 0, 1))
		return IDENT_CLI_ERROR;
	ident_crl_init(&crl);
	ret = ident_crl_load(c.dir, &c.trust, &crl);
	if (ret)
		return icli_fail("verify", "revocation list", ret);
	ret = ident_doc_load(argv[1], &d);
	if (ret && ret != -EBADMSG) {
		ident_crl_release(&crl);
		return icli_fail("verify", argv[1], ret); /* cannot read: no verdict */
	}
	if (!ret)
		ret = ident_doc_verify(&d, &c.trust, &crl, c.now, IDENT_DEFAULT_SKEW_S, NULL);
	ident_crl_release(&crl);
	if (ret) {
		printf("%s: invalid: %s\n", argv[1], ident_verify_reason(ret));
		return IDENT_CLI_DENY;
	}
	printf("%s: valid: %s (serial 0x%016llx, %lld s left)\n", argv[1], d.certs[0].subject,
	       (unsigned long long)d.certs[0].serial, (long long)(ident_doc_not_after(&d) - c.now));
	return IDENT_CLI_OK;
}

/* A serial as printed by show: hex, with or without 0x. */
static int parse_serial(const char *text, uint64_t *serial)
{
	unsigned long long v;
	char *end;

	if (!strncmp(text, "0x", 2) || !strncmp(text, "0X", 2))
		text += 2;
	if (!*text || strlen(text) > 16)
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 16);
	if (errno || *end || !v)
		return -EINVAL;
	*serial = v;
	return 0;
}

/* See ident_cli_priv.h. */
int icli_revoke(int argc, char **argv, const char *state_dir)
{
	struct ident_doc d;
	uint64_t serial, version;
	struct icli c;

	if (argc != 2) {
		fprintf(stderr, "usage: bpfmesh identity revoke FILE|SERIAL\n");
		return IDENT_CLI_ERROR;
	}
	if (ident_file_exists(argv[1])) {
		if (ident_doc_load(argv[1], &d))
			return icli_fail("revoke", argv[1], -EBADMSG);
		serial = d.certs[0].serial;
	} else if (parse_serial(argv[1], &serial)) {
		fprintf(stderr,
			"bpfmesh: identity revoke: '%s' is neither a document nor a hex "
			"serial\n",
			argv[1]);
		return IDENT_CLI_ERROR;
	}
	if (icli_open(&c, state_dir, 0, 1) || icli_revoke_serials(&c, &serial, 1, &version))
		return IDENT_CLI_ERROR;
	printf("revoked serial 0x%016llx (revocation list version %llu)\n",
	       (unsigned long long)serial, (unsigned long long)version);
	return IDENT_CLI_OK;
}
