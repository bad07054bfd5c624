// SPDX-License-Identifier: GPL-2.0-only
/* `bpfmesh identity issue` and `rotate`: making workload documents. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ident_cli_priv.h"
#include "ident_issue.h"

/* Issue spiffe_id with this node's key; store FILE and FILE.key. */
static int issue_to(const struct icli *c, const char *spiffe_id, int64_t ttl_s, const char *out,
		    struct ident_doc *doc)
{
	uint8_t node_sk[crypto_sign_SECRETKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char path[IDENT_PATH_MAX];
	struct ident_doc node;
	int ret;

	ret = icli_path(c, IDENT_FILE_NODE_DOC, path, sizeof(path));
	if (ret)
		return ret;
	ret = ident_doc_load(path, &node);
	if (ret) {
		fprintf(stderr, "bpfmesh: identity: %s: %s (enroll this node first)\n", path,
			strerror(-ret));
		return ret;
	}
	ret = icli_load_key(c, IDENT_FILE_NODE_KEY, node_sk);
	if (ret)
		return ret;
	ret = ident_issue_workload(&node, node_sk, spiffe_id, c->now, ttl_s, doc, sk);
	if (!ret)
		ret = icli_save_pair(out, doc, sk);
	if (ret)
		fprintf(stderr, "bpfmesh: identity: issue %s to %s: %s\n", spiffe_id, out,
			strerror(-ret));
	sodium_memzero(node_sk, sizeof(node_sk));
	sodium_memzero(sk, sizeof(sk));
	return ret;
}

static void print_issued(const struct ident_doc *doc, const char *out)
{
	char t[40];

	printf("%s: %s serial 0x%016llx valid until %s (key in %s.key)\n", out,
	       doc->certs[0].subject, (unsigned long long)doc->certs[0].serial,
	       icli_time(doc->certs[0].not_after, t, sizeof(t)), out);
}

/* See ident_cli_priv.h. */
int icli_issue(int argc, char **argv, const char *state_dir)
{
	static const struct option opts[] = {
		{"namespace", required_argument, NULL, 'n'},
		{"service-account", required_argument, NULL, 's'},
		{"ttl", required_argument, NULL, 't'},
		{"output", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	const char *ns = NULL, *sa = NULL, *out = NULL;
	int64_t ttl_s = IDENT_WORKLOAD_TTL_DEFAULT_S;
	char id[IDENT_SUBJECT_MAX + 1];
	struct ident_doc doc;
	struct icli c;
	int opt;

	while ((opt = getopt_long(argc, argv, "n:s:t:o:", opts, NULL)) != -1) {
		if (opt == 'n')
			ns = optarg;
		else if (opt == 's')
			sa = optarg;
		else if (opt == 'o')
			out = optarg;
		else if (opt != 't' || ident_parse_duration(optarg, &ttl_s) ||
			 ttl_s > IDENT_WORKLOAD_TTL_MAX_S)
			goto usage;
	}
	if (!ns || !sa || !out || optind != argc)
		goto usage;
	if (icli_open(&c, state_dir, 0, 1))
		return IDENT_CLI_ERROR;
	if (ident_workload_spiffe_id(c.trust.domain, ns, sa, id, sizeof(id))) {
		fprintf(stderr,
			"bpfmesh: identity issue: namespace '%s' / service account '%s' "
			"do not form a valid SPIFFE ID\n",
			ns, sa);
		return IDENT_CLI_ERROR;
	}
	if (issue_to(&c, id, ttl_s, out, &doc))
		return IDENT_CLI_ERROR;
	print_issued(&doc, out);
	return IDENT_CLI_OK;
usage:
	fprintf(stderr, "usage: bpfmesh identity issue --namespace NS --service-account SA "
			"[--ttl DURATION (max 7d)] -o FILE\n");
	return IDENT_CLI_ERROR;
}

/* Revoke the old serial when this machine holds the root key, else say so. */
static void retire(const struct icli *c, uint64_t serial, int64_t not_after)
{
	char path[IDENT_PATH_MAX], t[40];
	uint64_t version;

	if (!serial)
		return;
	if (!icli_path(c, IDENT_FILE_ROOT_KEY, path, sizeof(path)) && ident_file_exists(path) &&
	    !icli_revoke_serials(c, &serial, 1, &version)) {
		printf("old serial 0x%016llx revoked (revocation list version %llu)\n",
		       (unsigned long long)serial, (unsigned long long)version);
		return;
	}
	printf("old serial 0x%016llx stays valid until %s: revoke it where the root key is\n",
	       (unsigned long long)serial, icli_time(not_after, t, sizeof(t)));
}

/* `rotate FILE`: same subject, new key and serial, same lifetime unless --ttl. */
static int rotate_workload(const struct icli *c, const char *file, int64_t ttl_s)
{
	struct ident_doc old, doc;
	int ret;

	ret = ident_doc_load(file, &old);
	if (ret || old.certs[0].kind != IDENT_KIND_WORKLOAD) {
		fprintf(stderr, "bpfmesh: identity rotate: %s: %s\n", file,
			ret ? strerror(-ret) : "not a workload document");
		return IDENT_CLI_ERROR;
	}
	if (!ttl_s)
		ttl_s = old.certs[0].not_after - old.certs[0].not_before;
	if (issue_to(c, old.certs[0].subject, ttl_s, file, &doc))
		return IDENT_CLI_ERROR;
	print_issued(&doc, file);
	retire(c, old.certs[0].serial, old.certs[0].not_after);
	return IDENT_CLI_OK;
}

/* `rotate --node`: a new node key under the same name. */
static int rotate_node(const struct icli *c, int64_t ttl_s)
{
	char path[IDENT_PATH_MAX], *name;
	struct ident_doc old;
	uint64_t serial;

	if (icli_path(c, IDENT_FILE_NODE_DOC, path, sizeof(path)) || ident_doc_load(path, &old)) {
		fprintf(stderr, "bpfmesh: identity rotate: no node document (enroll first)\n");
		return IDENT_CLI_ERROR;
	}
	name = strrchr(old.certs[0].subject, '/') + 1;
	if (icli_enroll_node(c, name, ttl_s ? ttl_s : IDENT_NODE_TTL_DEFAULT_S, &serial))
		return IDENT_CLI_ERROR;
	retire(c, serial, old.certs[0].not_after);
	return IDENT_CLI_OK;
}

/* See ident_cli_priv.h. */
int icli_rotate(int argc, char **argv, const char *state_dir)
{
	static const struct option opts[] = {
		{"node", no_argument, NULL, 'N'},
		{"ttl", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	int64_t ttl_s = 0;
	int opt, is_node = 0;
	struct icli c;

	while ((opt = getopt_long(argc, argv, "Nt:", opts, NULL)) != -1) {
		if (opt == 'N')
			is_node = 1;
		else if (opt != 't' || ident_parse_duration(optarg, &ttl_s))
			goto usage;
	}
	if (is_node ? optind != argc : optind != argc - 1)
		goto usage;
	if (icli_open(&c, state_dir, 0, 1))
		return IDENT_CLI_ERROR;
	return is_node ? rotate_node(&c, ttl_s) : rotate_workload(&c, argv[optind], ttl_s);
usage:
	fprintf(stderr, "usage: bpfmesh identity rotate FILE [--ttl DURATION]\n"
			"       bpfmesh identity rotate --node [--ttl DURATION]\n");
	return IDENT_CLI_ERROR;
}
