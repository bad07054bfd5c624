/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared CUnit glue. Each test_*.c defines bm_test_register(), which adds its
 * suites to the registry; cunit_main.c runs them and turns failures into the
 * exit status CTest reads.
 */
#ifndef BM_TEST_H
#define BM_TEST_H

#include <CUnit/CUnit.h>

/* Provided by each test file: add suites; return 0 or a CUnit error. */
int bm_test_register(void);

/*
 * Skip the whole test binary (exit 77, CTest's SKIP_RETURN_CODE) because a
 * privilege or kernel feature is missing. Under CI=true the machine is known
 * to have every feature, so there the skip is turned into a failure (exit 1).
 */
void bm_test_skip(const char *why) __attribute__((noreturn));

/* Skip unless running as root (CAP_BPF, CAP_NET_ADMIN). */
void bm_test_require_root(void);

/* Register one suite with an array of {name, fn} terminated by {NULL, NULL}. */
struct bm_test_case {
	const char *name;
	CU_TestFunc fn;
};
int bm_test_add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
		      const struct bm_test_case *cases);

#endif /* BM_TEST_H */
