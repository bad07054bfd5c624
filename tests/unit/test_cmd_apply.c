// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh apply --dry-run as users run it: files, directories, stdin, exit statuses.
 * ctest-labels: unit scheduler
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bm_test.h"

static char out[65536];

/* Run "bpfmesh apply ARGS" through sh (stderr folded into stdout); returns the exit status. */
static int run_apply(const char *args, const char *stdin_text)
{
	const char *bin = getenv("BPFMESH"), *src = getenv("BM_SOURCE_DIR");
	char cmd[8192];
	size_t len = 0, got;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "cd '%s/tests/unit/data/workloads' && %s'%s' apply %s 2>&1",
		 src ? src : ".", stdin_text ? "printf '%s' \"$BM_STDIN\" | " : "",
		 bin ? bin : "bpfmesh", args);
	if (stdin_text)
		setenv("BM_STDIN", stdin_text, 1);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (len < sizeof(out) - 1 && (got = fread(out + len, 1, sizeof(out) - 1 - len, p)) > 0)
		len += got;
	out[len] = '\0';
	status = pclose(p);
	unsetenv("BM_STDIN");
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_cmd_apply_file(void)
{
	CU_ASSERT_EQUAL(run_apply("--dry-run -f shop.yaml", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "deployment/shop/backend-v1: 3 replicas, identity "
					   "spiffe://cluster.local/ns/shop/sa/backend, requests "
					   "cpu=100m mem=64Mi"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "networkpolicy/shop/db-from-backend"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "shop.yaml:63:11: warning: "));
	CU_ASSERT_PTR_NULL(strstr(out, "unsupported kind Deployment"));
	CU_ASSERT_PTR_NULL(strstr(out, "placement:")); /* no Node objects: no placement */
}

static void test_cmd_apply_dir_places(void)
{
	CU_ASSERT_EQUAL(run_apply("--dry-run --trust-domain example.org -f .", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "spiffe://example.org/ns/shop/sa/backend"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "node/n3: allocatable cpu=2 mem=4Gi"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "placement: shop/db/0 -> "));
	CU_ASSERT_PTR_NULL(strstr(out, "shop/db/0 -> n1")); /* n1's taint */
}

static void test_cmd_apply_rejects(void)
{
	CU_ASSERT_EQUAL(run_apply("--dry-run --strict -f shop.yaml", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "shop.yaml:63:11: spec.template.spec.containers[0]"
					   ".livenessProbe: unknown field"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "rejected"));
	CU_ASSERT_EQUAL(run_apply("--dry-run -f -",
				  "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n"),
			1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "-:4:7: spec.containers: must list at least one"));
	CU_ASSERT_EQUAL(run_apply("--dry-run -f missing.yaml", NULL), 1);
	CU_ASSERT_EQUAL(run_apply("--dry-run", NULL), 2);
	CU_ASSERT_EQUAL(run_apply("-f shop.yaml", NULL), 2); /* the agent path: not yet */
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"file", test_cmd_apply_file},
		{"directory with nodes places", test_cmd_apply_dir_places},
		{"rejections and exit statuses", test_cmd_apply_rejects},
		{NULL, NULL},
	};

	return bm_test_add_suite("cmd_apply", NULL, NULL, cases);
}
