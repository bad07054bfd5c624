// SPDX-License-Identifier: GPL-2.0-only
/* `bpfmesh identity` actions end to end in a temporary state directory.
 * ctest-labels: unit identity
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_test.h"
#include "ident_cert.h"
#include "ident_cli.h"
#include "ident_store.h"

static char tmp[64], state[128], doc_path[160];

/* Run `identity` in state_dir with a word list; returns the exit status. */
static int run_v(const char *state_dir, const char *first, va_list ap)
{
	char *argv[16] = {"identity"};
	const char *w;
	int argc = 1;

	for (w = first; w && argc < 15; w = va_arg(ap, const char *))
		argv[argc++] = (char *)w;
	argv[argc] = NULL;
	fflush(stdout);
	return ident_cli_main(argc, argv, state_dir);
}

/* Run `identity` with a NULL-terminated word list in the main state dir. */
static int run(const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = run_v(state, first, ap);
	va_end(ap);
	return rc;
}

/* The same in another state directory (a second machine). */
static int run_in(const char *state_dir, const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = run_v(state_dir, first, ap);
	va_end(ap);
	return rc;
}

static int suite_init(void)
{
	strcpy(tmp, "/tmp/bm-ident-cli-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(state, sizeof(state), "%s/state", tmp);
	snprintf(doc_path, sizeof(doc_path), "%s/web.doc", tmp);
	return 0;
}

static int suite_clean(void)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) ? -1 : 0;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_mode & 07777;
}

static void test_ident_cli_init_enroll_issue_verify(void)
{
	char path[256];

	CU_ASSERT_EQUAL(run("init", NULL), 2);
	CU_ASSERT_EQUAL(run("init", "--trust-domain", "Bad Domain", NULL), 2);
	CU_ASSERT_EQUAL(run("init", "--trust-domain", "example.org", NULL), 0);
	CU_ASSERT_EQUAL(run("init", "--trust-domain", "example.org", NULL), 2); /* exists */
	snprintf(path, sizeof(path), "%s/identity", state);
	CU_ASSERT_EQUAL(mode_of(state), 0700);
	CU_ASSERT_EQUAL(mode_of(path), 0700);
	snprintf(path, sizeof(path), "%s/identity/root.key", state);
	CU_ASSERT_EQUAL(mode_of(path), 0600);
	CU_ASSERT_EQUAL(run("issue", "--namespace", "default", "--service-account", "web", "-o",
			    doc_path, NULL),
			2); /* not enrolled yet */
	CU_ASSERT_EQUAL(run("enroll", "--node", "node-a", NULL), 0);
	CU_ASSERT_EQUAL(run("issue", "--namespace", "default", "--service-account", "web", "--ttl",
			    "30m", "-o", doc_path, NULL),
			0);
	snprintf(path, sizeof(path), "%s.key", doc_path);
	CU_ASSERT_EQUAL(mode_of(path), 0600);
	CU_ASSERT_EQUAL(mode_of(doc_path), 0600);
	CU_ASSERT_EQUAL(run("verify", doc_path, NULL), 0);
	CU_ASSERT_EQUAL(run("show", doc_path, NULL), 0);
	CU_ASSERT_EQUAL(run("show", NULL), 0);
	CU_ASSERT_EQUAL(run("show", path, NULL), 2); /* secret keys are never shown */
	CU_ASSERT_EQUAL(run("issue", "--namespace", "default", "--service-account", "web", "--ttl",
			    "8d", "-o", doc_path, NULL),
			2);
	CU_ASSERT_EQUAL(run("nonsense", NULL), 2);
}

static void test_ident_cli_verify_failures(void)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/missing.doc", tmp);
	CU_ASSERT_EQUAL(run("verify", path, NULL), 2);
	snprintf(path, sizeof(path), "%s/garbage.doc", tmp);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("BMID garbage", f);
	fclose(f);
	CU_ASSERT_EQUAL(run("verify", path, NULL), 1);
	CU_ASSERT_EQUAL(run("verify", NULL), 2);
}

static void test_ident_cli_revoke_and_rotate(void)
{
	char rotated[200], db[200];
	struct ident_doc before, after;

	snprintf(rotated, sizeof(rotated), "%s/api.doc", tmp);
	snprintf(db, sizeof(db), "%s/db.doc", tmp);
	CU_ASSERT_EQUAL(run("issue", "-n", "prod", "-s", "api", "-o", rotated, NULL), 0);
	CU_ASSERT_EQUAL(run("issue", "-n", "prod", "-s", "db", "-o", db, NULL), 0);
	CU_ASSERT_EQUAL(run("revoke", doc_path, NULL), 0);
	CU_ASSERT_EQUAL(run("verify", doc_path, NULL), 1);
	CU_ASSERT_EQUAL(run("verify", rotated, NULL), 0);
	CU_ASSERT_EQUAL(run("revoke", "0xzz", NULL), 2);
	/* rotation: new key and serial, the old one revoked here (root key present) */
	CU_ASSERT_EQUAL_FATAL(ident_doc_load(rotated, &before), 0);
	CU_ASSERT_EQUAL(run("rotate", rotated, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ident_doc_load(rotated, &after), 0);
	CU_ASSERT_STRING_EQUAL(before.certs[0].subject, after.certs[0].subject);
	CU_ASSERT_NOT_EQUAL(before.certs[0].serial, after.certs[0].serial);
	CU_ASSERT_NOT_EQUAL(memcmp(before.certs[0].public_key, after.certs[0].public_key, 32), 0);
	CU_ASSERT_EQUAL(run("verify", rotated, NULL), 0);
	/* node rotation revokes the old node: workloads it issued stop verifying */
	CU_ASSERT_EQUAL(run("rotate", "--node", NULL), 0);
	CU_ASSERT_EQUAL(run("verify", db, NULL), 1);
	CU_ASSERT_EQUAL(run("rotate", db, NULL), 0); /* reissued under the new node key */
	CU_ASSERT_EQUAL(run("verify", db, NULL), 0);
}

static void test_ident_cli_refuses_wide_permissions(void)
{
	char dir[200], key[220];

	snprintf(dir, sizeof(dir), "%s/identity", state);
	snprintf(key, sizeof(key), "%s/node.key", dir);
	CU_ASSERT_EQUAL_FATAL(chmod(key, 0644), 0);
	CU_ASSERT_EQUAL(run("issue", "-n", "prod", "-s", "x", "-o", doc_path, NULL), 2);
	CU_ASSERT_EQUAL_FATAL(chmod(key, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(dir, 0750), 0);
	CU_ASSERT_EQUAL(run("show", NULL), 2);
	CU_ASSERT_EQUAL(run("verify", doc_path, NULL), 2);
	CU_ASSERT_EQUAL_FATAL(chmod(dir, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(state, 0777), 0);
	CU_ASSERT_EQUAL(run("show", NULL), 2);
	CU_ASSERT_EQUAL_FATAL(chmod(state, 0700), 0);
	CU_ASSERT_EQUAL(run("show", NULL), 0);
}

/* A node enrolls from its own machine: only public data travels. */
static void test_ident_cli_remote_enrollment(void)
{
	char node_state[160], req[160], nd[160], bundle[200], wl[160], key[200];
	uint8_t byte;
	FILE *f;

	snprintf(node_state, sizeof(node_state), "%s/node-b-state", tmp);
	snprintf(req, sizeof(req), "%s/node-b.req", tmp);
	snprintf(nd, sizeof(nd), "%s/node-b.doc", tmp);
	snprintf(bundle, sizeof(bundle), "%s/identity/trust.bundle", state);
	snprintf(wl, sizeof(wl), "%s/b-web.doc", tmp);
	snprintf(key, sizeof(key), "%s/identity/node.key", node_state);
	CU_ASSERT_EQUAL(run_in(node_state, "enroll", "--request", req, "--node", "node-b", NULL),
			0);
	CU_ASSERT_EQUAL(mode_of(key), 0600);
	CU_ASSERT_EQUAL(run("show", req, NULL), 0);
	CU_ASSERT_EQUAL(run("enroll", "--sign", req, NULL), 2); /* -o missing */
	CU_ASSERT_EQUAL(run("enroll", "--sign", req, "-o", nd, "--ttl", "1d", NULL), 0);
	CU_ASSERT_EQUAL(run_in(node_state, "enroll", "--install", nd, NULL), 2); /* no bundle */
	CU_ASSERT_EQUAL(
		run_in(node_state, "enroll", "--install", nd, "--trust-bundle", bundle, NULL), 0);
	CU_ASSERT_EQUAL(run_in(node_state, "issue", "-n", "shop", "-s", "web", "-o", wl, NULL), 0);
	CU_ASSERT_EQUAL(run("verify", wl, NULL), 0); /* the root machine trusts it */
	/* a document that is not a node certificate for our key is refused */
	CU_ASSERT_EQUAL(run_in(node_state, "enroll", "--install", doc_path, NULL), 2);
	/* a tampered request (the name) fails its proof of possession */
	f = fopen(req, "r+b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 40, SEEK_SET);
	byte = (uint8_t)fgetc(f);
	fseek(f, 40, SEEK_SET);
	fputc(byte ^ 0x01, f);
	fclose(f);
	CU_ASSERT_EQUAL(run("enroll", "--sign", req, "-o", nd, NULL), 2);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"init_enroll_issue_verify", test_ident_cli_init_enroll_issue_verify},
		{"verify_failures", test_ident_cli_verify_failures},
		{"revoke_and_rotate", test_ident_cli_revoke_and_rotate},
		{"refuses_wide_permissions", test_ident_cli_refuses_wide_permissions},
		{"remote_enrollment", test_ident_cli_remote_enrollment},
		{NULL, NULL},
	};

	return bm_test_add_suite("ident_cli", suite_init, suite_clean, cases);
}
