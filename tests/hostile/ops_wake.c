/*
 * ops_wake - hole 3: the kernel reads an ops pointer the module gave it.
 *
 * init creates a task, sets its ops to the garbage pointer 0x10 and wakes
 * it.  The kernel (natively) or nooks_bind_ops (isolated, today) reads
 * ops->threadfn through it, in kernel mode.
 *
 * Native: crash.
 * Isolated: the call is refused (or is a fault of the module); the load
 * fails or the module is recovered, nkernel lives.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static struct task_struct *t;

int init_module(void)
{
	t = kthread_create("ops_wake");
	if (!t)
		return -ENOMEM;
	t->ops = (const struct kthread_ops *)0x10;	/* the bug */
	int r = wake_up_process(t);
	pr_info("ops_wake: wake_up_process returned %d", r);
	put_task_struct(t);
	return r;
}

void cleanup_module(void)
{
}
