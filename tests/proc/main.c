/*
 * main.c - the process backend's suite (make proc-test).
 *
 * usage: proc RESULTFILE
 * nooks_proc_init() comes first, while the program is one thread: the
 * zygote every domain process is forked from is a copy of it as it is
 * now.
 */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "cunit_run.h"
#include "nooks_runtime.h"

void register_proc_tests(void);

int main(int argc, char **argv)
{
	int r = nooks_proc_init();

	if (r) {
		fprintf(stderr, "proc: nooks_proc_init: %d\n", r);
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	register_proc_tests();
	return cunit_run("proc", argc > 1 ? argv[1] : NULL);
}
