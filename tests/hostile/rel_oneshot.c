/*
 * rel_oneshot - hole 1: a one-shot kernel thread put by its creator.
 *
 * init starts a kernel thread whose threadfn returns at once, waits a
 * little, and puts the task (put_task_struct joins the finished thread and
 * frees it).  Isolated, wake_up_process's registration outlives the task:
 * at unload (the trigger) its undo, kthread_stop, runs on freed memory or
 * on the task of the witness loaded after this module.
 *
 * Native: fine.
 * Isolated: unload must not crash nkernel nor stop the other witness.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static int once(struct task_struct *task)
{
	(void)task;
	return 0;
}

static const struct kthread_ops once_ops = { .threadfn = once };

int init_module(void)
{
	struct task_struct *t = kthread_run(&once_ops, NULL, "rel_oneshot");
	if (!t)
		return -ENOMEM;
	msleep(30);		/* it has returned by now */
	put_task_struct(t);
	return 0;
}

void cleanup_module(void)
{
}
