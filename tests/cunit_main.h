/* SPDX-License-Identifier: MIT */
/*
 * Shared CUnit runner: each test file defines cs_register_suites(), which
 * adds its suites and returns 0 (or CS_TEST_SKIP after printing why the
 * suite cannot run here: CTest then counts it as skipped).
 */
#ifndef CS_CUNIT_MAIN_H
#define CS_CUNIT_MAIN_H

#include <CUnit/CUnit.h>

#define CS_TEST_SKIP 77

int cs_register_suites(void);

/* Adds a suite with the given NULL-terminated test table; 0 or -1. */
struct cs_test {
	const char *name;
	CU_TestFunc fn;
};
int cs_add_suite(const char *name, CU_InitializeFunc init,
		 CU_CleanupFunc cleanup, const struct cs_test *tests);

#endif
