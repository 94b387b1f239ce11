/*
 * main.c - the CUnit runner for the code-generation tests: the runtime
 * test double's own tests, then the generated wrappers against it.
 * Writes "PASSED FAILED" to argv[1] for the project's tally.
 */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "fake_runtime.h"

void register_wrapper_tests(void);

int main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	register_fake_runtime_tests();
	register_wrapper_tests();
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	unsigned run = CU_get_number_of_tests_run();
	unsigned failed = CU_get_number_of_tests_failed();
	printf("\ncodegen: %u passed, %u failed\n", run - failed, failed);
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
