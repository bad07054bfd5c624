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

/* Run `identity` with a NULL-terminated word list; returns the exit status. */
static int run(const char *first, ...)
{
	char *argv[16] = {"identity"};
	const char *w;
	int argc = 1;
	va_list ap;

	va_start(ap, first);
	for (w = first; w && argc < 15; w = va_arg(ap, const char *))
		argv[argc++] = (char *)w;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	return ident_cli_main(argc, argv, state);
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

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"init_enroll_issue_verify", test_ident_cli_init_enroll_issue_verify},
		{"verify_failures", test_ident_cli_verify_failures},
		{"revoke_and_rotate", test_ident_cli_revoke_and_rotate},
		{"refuses_wide_permissions", test_ident_cli_refuses_wide_permissions},
		{NULL, NULL},
	};

	return bm_test_add_suite("ident_cli", suite_init, suite_clean, cases);
}
