/*
 * hang_init_msleep - hole 4: init_module never returns, sleeping.
 *
 * init loops on msleep for ever.  The crossing's deadline bounds module
 * code between kernel calls, and every msleep is a kernel call, so it
 * never fires.
 *
 * Native: hang (the load, and every later nkctl request, never answers).
 * Isolated: init is bounded: the load fails with an error, nkernel
 * answers.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

int init_module(void)
{
	for (;;)
		msleep(50);
}

void cleanup_module(void)
{
}
