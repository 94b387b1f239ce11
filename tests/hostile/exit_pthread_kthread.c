/*
 * exit_pthread_kthread - hole 5: pthread_exit() in a kernel thread.
 *
 * init starts a kernel thread that calls pthread_exit() 50 ms later, in
 * the middle of its threadfn: the kernel's end of the thread (exit code,
 * thread count) is skipped and, isolated, so is the crossing's way out
 * (the arena stays protected for good: every later kernel write waits).
 *
 * Native: corrupt (the kernel counts the thread as running for ever:
 * `nkctl stats` threads stays one above the witness's after unload).
 * Isolated: the exit is a fault of the module; nkernel and the witness go
 * on; the counts come back.  Every copy exits again: the suite runs it
 * with --max-restarts 10 --backoff 0 (before the fix, each exit wedged
 * the kernel only some of the time).
 */
#include <pthread.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static struct task_struct *t;

static int leaver(struct task_struct *task)
{
	(void)task;
	msleep(50);
	pthread_exit(NULL);
}

static const struct kthread_ops leaver_ops = { .threadfn = leaver };

int init_module(void)
{
	t = kthread_run(&leaver_ops, NULL, "pthread_exit");
	return t ? 0 : -ENOMEM;
}

void cleanup_module(void)
{
	kthread_stop(t);
	put_task_struct(t);
}
