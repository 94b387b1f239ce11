/*
 * rel_put_running - hole 1: releasing an object forgets its registration.
 *
 * init starts a kernel thread, then puts its task while the thread runs:
 * legal, put_task_struct stops the thread first.  wake_up_process recorded
 * a registration whose undo is kthread_stop(task); isolated, the release
 * does not drop it, so at unload (the trigger) the undo runs on the freed
 * task, or on whatever reused its arena block: the suite loads a second
 * witness after this module, whose first task takes that block.
 *
 * Native: fine (nothing is registered; unload does nothing).
 * Isolated: unload must not crash nkernel nor stop the other witness.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static int sleeper(struct task_struct *task)
{
	(void)task;
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

static const struct kthread_ops sleeper_ops = { .threadfn = sleeper };

int init_module(void)
{
	struct task_struct *t = kthread_run(&sleeper_ops, NULL, "rel_put_running");
	if (!t)
		return -ENOMEM;
	msleep(30);
	put_task_struct(t);	/* stops it, then frees it */
	return 0;
}

void cleanup_module(void)
{
}
