/*
 * main.c - the CUnit runner for the code-generation tests: the generated
 * wrappers on the real runtime, with the none backend and (but under
 * AddressSanitizer, which cannot follow its stack switch) mprotect.
 * Writes "PASSED FAILED" to argv[1] for the project's tally.
 */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "cunit_run.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

void register_wrapper_tests(int isolating);
void register_replay_tests(void);

int main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
#ifdef UNDER_ASAN
	register_wrapper_tests(0);
#else
	register_wrapper_tests(1);
	register_replay_tests();
#endif
	return cunit_run("codegen", argc > 1 ? argv[1] : NULL);
}
