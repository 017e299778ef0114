/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"

int cs_add_suite(const char *name, CU_InitializeFunc init,
		 CU_CleanupFunc cleanup, const struct cs_test *tests)
{
	CU_pSuite s = CU_add_suite(name, init, cleanup);
	if (!s)
		return -1;
	for (; tests->name; tests++)
		if (!CU_add_test(s, tests->name, tests->fn))
			return -1;
	return 0;
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	int r = cs_register_suites();
	if (r == CS_TEST_SKIP) {
		CU_cleanup_registry();
		return CS_TEST_SKIP;
	}
	if (r != 0) {
		fprintf(stderr, "suite registration failed\n");
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() +
			  CU_get_number_of_suites_failed();
	unsigned run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (run == 0) {
		fprintf(stderr, "no test ran\n");
		return 1;
	}
	return failed ? 1 : 0;
}
