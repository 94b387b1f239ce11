/*
 * main.c - the CUnit runner for the code-generation tests: the runtime
 * test double's own tests, then the generated wrappers against it.
 * Writes "PASSED FAILED" to argv[1] for the project's tally.
 */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "cunit_run.h"

#include "fake_runtime.h"

void register_wrapper_tests(void);
void register_replay_tests(void);

int main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	register_fake_runtime_tests();
	register_wrapper_tests();
	register_replay_tests();
	return cunit_run("codegen", argc > 1 ? argv[1] : NULL);
}
