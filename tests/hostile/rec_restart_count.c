/*
 * rec_restart_count - hole 8: a fault of a thread the restarted init
 * started, before that init returned.
 *
 * init starts a kernel thread that dereferences NULL 20 ms later, in every
 * copy.  The first copy's init returns at once; every restarted copy's
 * init takes 60 ms longer (a slow init: it remembers, in its link
 * namespace's environment, that it ran before), so that its thread faults
 * while it runs.  Each such fault is a fault of the running copy, to be
 * counted by the policy: with --max-restarts 5 (the suite's setting) the
 * module must be restarted 4 times and given up at the 5th fault, not
 * given up at the 2nd as if the restarted init itself had failed.
 *
 * Native: crash.
 * Isolated: "failed" after exactly 5 faults and 4 restarts.
 */
#include <stdlib.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static int *volatile nowhere;	/* NULL */
static struct task_struct *t;

static int crasher(struct task_struct *task)
{
	(void)task;
	msleep(20);
	return *nowhere;
}

static const struct kthread_ops crasher_ops = { .threadfn = crasher };

int init_module(void)
{
	t = kthread_run(&crasher_ops, NULL, "restart_count");
	if (!t)
		return -ENOMEM;
	if (getenv("REC_RESTART_COUNT_RAN"))
		msleep(80);	/* a restarted copy: slow; its thread faults meanwhile */
	setenv("REC_RESTART_COUNT_RAN", "1", 1);
	return 0;
}

void cleanup_module(void)
{
	kthread_stop(t);
	put_task_struct(t);
}
