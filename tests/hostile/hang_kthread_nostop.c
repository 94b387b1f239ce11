/*
 * hang_kthread_nostop - hole 4: a kernel thread that ignores the stop.
 *
 * The thread loops on msleep and never looks at kthread_should_stop();
 * once stopped, each msleep returns at once, so it spins through kernel
 * calls.  cleanup_module (the trigger: unload) calls kthread_stop, which
 * waits for the thread to end.
 *
 * Native: hang (the unload never answers).
 * Isolated: kthread_stop is bounded: the unload answers, the module is
 * gone.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static struct task_struct *t;

static int deaf(struct task_struct *task)
{
	(void)task;
	for (;;)
		msleep(50);
	return 0;
}

static const struct kthread_ops deaf_ops = { .threadfn = deaf };

int init_module(void)
{
	t = kthread_run(&deaf_ops, NULL, "nostop");
	return t ? 0 : -ENOMEM;
}

void cleanup_module(void)
{
	kthread_stop(t);
	put_task_struct(t);
}
