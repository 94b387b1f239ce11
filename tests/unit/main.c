/*
 * main.c - the CUnit runner for the compiler's unit tests.
 *
 * Runs every registered suite in CUnit's basic mode (which prints its own
 * summary) and writes "PASSED FAILED" to the file named by argv[1] for the
 * project's final tally.  CU_basic_run_tests() does not return the number
 * of failures, so the counts come from CU_get_number_of_tests_*().
 */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "util.h"

int main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	register_lexer_tests();
	register_parser_tests();
	register_check_tests();
	register_import_tests();

	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	unsigned run = CU_get_number_of_tests_run();
	unsigned failed = CU_get_number_of_tests_failed();
	printf("\nunit: %u passed, %u failed\n", run - failed, failed);
	if (argc > 1) {
		FILE *f = fopen(argv[1], "w");
		if (f) {
			fprintf(f, "%u %u\n", run - failed, failed);
			fclose(f);
		}
	}
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
