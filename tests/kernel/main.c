/*
 * main.c - the CUnit runner for the kernel library's tests.
 *
 * usage: kernel [RESULTFILE]
 * Real sockets on 127.0.0.1 (port 0: the system picks) and real files in
 * a temporary directory.  The last test checks that everything the
 * others created has been released (nk_kernel_stats back to zero).
 */
#include <signal.h>
#include <stdio.h>

#include <CUnit/Basic.h>

#include "cunit_run.h"
#include "util.h"

int main(int argc, char **argv)
{
	/* a peer that closes early must give -EPIPE, not kill the tests */
	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	register_core_tests();
	register_kthread_tests();
	register_net_tests();
	register_fs_tests();
	register_workqueue_tests();
	register_ds_tests();
	register_leak_tests();
	return cunit_run("kernel", argc > 1 ? argv[1] : NULL);
}
