/*
 * cunit_run.c - see cunit_run.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#include "cunit_run.h"

int cunit_run(const char *label, const char *result_file)
{
	/* CUNIT_VERBOSE=1: each test by name as it runs (which one crashed) */
	CU_basic_set_mode(getenv("CUNIT_VERBOSE") ? CU_BRM_VERBOSE : CU_BRM_NORMAL);
	CU_basic_run_tests();
	unsigned run = CU_get_number_of_tests_run();
	unsigned failed = CU_get_number_of_tests_failed();
	printf("\n%s: %u passed, %u failed\n", label, run - failed, failed);
	if (result_file) {
		FILE *f = fopen(result_file, "w");
		if (f) {
			fprintf(f, "%u %u\n", run - failed, failed);
			fclose(f);
		}
	}
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
