// SPDX-License-Identifier: GPL-2.0-only
/* The main() of every CUnit test binary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "bm_test.h"

/* See bm_test.h. */
void bm_test_skip(const char *why)
{
	const char *ci = getenv("CI");

	if (ci && !strcmp(ci, "true")) {
		fprintf(stderr, "FAIL (skip not allowed under CI): %s\n", why);
		exit(1);
	}
	fprintf(stderr, "SKIP: %s\n", why);
	exit(77);
}

/* See bm_test.h. */
void bm_test_require_root(void)
{
	if (geteuid() != 0)
		bm_test_skip("needs root (CAP_BPF, CAP_NET_ADMIN)");
}

/* See bm_test.h. */
int bm_test_add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
		      const struct bm_test_case *cases)
{
	CU_pSuite suite = CU_add_suite(name, init, cleanup);

	if (!suite)
		return CU_get_error();
	for (; cases->name; cases++) {
		if (!CU_add_test(suite, cases->name, cases->fn))
			return CU_get_error();
	}
	return CUE_SUCCESS;
}

int main(void)
{
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (bm_test_register() != CUE_SUCCESS) {
		fprintf(stderr, "register tests: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
		   CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
