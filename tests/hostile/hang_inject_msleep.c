/*
 * hang_inject_msleep - hole 4: the injected call never returns.
 *
 * nk_fault_inject (run by `nkctl inject NAME null` on nkernel's control
 * thread) loops on msleep, whatever the kind asked for.
 *
 * Native: hang (the inject, and every later request, never answers).
 * Isolated: the injected call is bounded: the inject answers, the module
 * is recovered.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

int nk_fault_inject(int kind, unsigned long addr)
{
	(void)kind;
	(void)addr;
	for (;;)
		msleep(50);
}

int init_module(void)
{
	return 0;
}

void cleanup_module(void)
{
}
