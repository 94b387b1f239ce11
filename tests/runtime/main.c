/*
 * main.c - the CUnit runner for libnooks' tests.
 *
 * usage: runtime RESULTFILE EXT_FAULTS_SO DIR EXT_TK_SO WRAPPER_LIB
 * The tracker's tests always run; the crossing tests only without
 * AddressSanitizer, which cannot follow the switch to an extension's own
 * stack nor a jump out of a signal handler (docs/runtime.md).
 */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "cunit_run.h"

void register_tracker_tests(void);
void register_xpc_tests(const char *so_path);
void register_loader_tests(const char *dir, const char *ext, const char *wrapper);
void register_recovery_tests(const char *so_path);
void register_heap_tests(const char *dir, const char *wrapper, int crossings);
void register_replay_tests(const char *ext, const char *wrapper);
void register_contain_tests(const char *dir, const char *wrapper, int crossings);

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

int main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	register_tracker_tests();
#ifndef UNDER_ASAN
	register_heap_tests(argc > 3 ? argv[3] : NULL, argc > 5 ? argv[5] : NULL, 1);
	if (argc > 2) {
		register_xpc_tests(argv[2]);
		register_recovery_tests(argv[2]);
	}
	if (argc > 5) {
		register_loader_tests(argv[3], argv[4], argv[5]);
		register_replay_tests(argv[4], argv[5]);
		register_contain_tests(argv[3], argv[5], 1);
	}
#else
	register_heap_tests(NULL, NULL, 0);
	register_contain_tests(argc > 3 ? argv[3] : NULL, NULL, 0);
	puts("crossing tests skipped under AddressSanitizer (see docs/runtime.md)");
#endif
	return cunit_run("runtime", argc > 1 ? argv[1] : NULL);
}
