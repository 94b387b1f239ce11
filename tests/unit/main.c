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

#include "cunit_run.h"

#include "util.h"

int main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	register_lexer_tests();
	register_parser_tests();
	register_check_tests();
	register_import_tests();
	register_clang_import_tests();

	return cunit_run("unit", argc > 1 ? argv[1] : NULL);
}
