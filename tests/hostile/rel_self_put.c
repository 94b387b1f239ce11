/*
 * rel_self_put - hole 1: a kernel thread puts its own task.
 *
 * init starts a kernel thread that sleeps 20 ms (its creator's
 * wake_up_process has long returned), puts its own task and returns.
 * Isolated, that release must drop the registration wake_up_process
 * recorded for the task; otherwise the unload (the trigger) runs its undo,
 * kthread_stop, on a task the module no longer holds, and the task is
 * never given back.
 *
 * Native: fine (the kernel frees the task when the thread ends, or, in
 * older trees, logs a BUG and leaks it by design).
 * Isolated: unload completes, and everything the module had is given
 * back: the stats return to the witness's.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static int selfput(struct task_struct *task)
{
	msleep(20);
	put_task_struct(task);	/* its own task */
	return 0;
}

static const struct kthread_ops selfput_ops = { .threadfn = selfput };

int init_module(void)
{
	if (!kthread_run(&selfput_ops, NULL, "rel_self_put"))
		return -ENOMEM;
	msleep(50);		/* it has put its task and returned */
	return 0;
}

void cleanup_module(void)
{
}
