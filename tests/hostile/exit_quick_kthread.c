/*
 * exit_quick_kthread - hole 5: quick_exit() in a kernel thread.
 *
 * init starts a kernel thread that calls quick_exit(3) 50 ms later.
 *
 * Native: crash (nkernel exits with status 3).
 * Isolated: a fault of the module: it is recovered (each copy exits
 * again: the suite runs it with --max-restarts 2), nkernel lives.
 */
#include <stdlib.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static struct task_struct *t;

static int quitter(struct task_struct *task)
{
	(void)task;
	msleep(50);
	quick_exit(3);
}

static const struct kthread_ops quitter_ops = { .threadfn = quitter };

int init_module(void)
{
	t = kthread_run(&quitter_ops, NULL, "quick_exit");
	return t ? 0 : -ENOMEM;
}

void cleanup_module(void)
{
	kthread_stop(t);
	put_task_struct(t);
}
