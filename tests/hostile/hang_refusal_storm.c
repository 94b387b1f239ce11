/*
 * hang_refusal_storm - hole 4: looping on a call that is always refused.
 *
 * init calls put_task_struct on a task that is not a kernel object (a
 * zeroed struct in the module's data) for ever.  Isolated, every call is
 * refused by its wrapper, and every refusal is a kernel call that re-arms
 * the crossing's deadline.
 *
 * Native: crash (the kernel follows the fake task's NULL kpriv).
 * Isolated: a refusal storm is a fault of the module: the load fails.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static struct task_struct fake;

int init_module(void)
{
	for (;;)
		put_task_struct(&fake);
}

void cleanup_module(void)
{
}
