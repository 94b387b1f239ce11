/*
 * rec_init_enomem - hole 8: init fails after starting a thread.
 *
 * init starts a kernel thread (sleeping until stopped) and then returns
 * -ENOMEM without stopping it.  The kernel unloads a module whose init
 * failed: the thread still runs its code.
 *
 * Native: crash (the thread runs unmapped code once the object is gone).
 * Isolated: the load fails with an error, the thread is stopped and its
 * task released before the object goes, nkernel lives.
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
	if (!kthread_run(&sleeper_ops, NULL, "init_enomem"))
		return -EAGAIN;
	return -ENOMEM;		/* the bug: the thread is left running */
}

void cleanup_module(void)
{
}
