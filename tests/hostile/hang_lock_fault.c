/*
 * hang_lock_fault - hole 4: waiting for a lock its faulting sibling held.
 *
 * Thread A locks a mutex, sleeps 100 ms, and dereferences NULL while it
 * holds the lock.  Thread B waits for that lock in mutex_lock.  Isolated,
 * recovery waits until no thread is inside the module, but B is blocked
 * in mutex_lock, which no signal interrupts, and the lock is only given
 * back by the reset recovery waits to do.
 *
 * Native: crash (the NULL dereference).
 * Isolated: recovery finishes (B's wait is interrupted): the module is
 * recovered or given up, never stuck "recovering".  Every copy faults
 * again: the suite runs it with --max-restarts 2.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static struct mutex *m;
static struct task_struct *a, *b;

static int *volatile nowhere;	/* NULL */

static int holder(struct task_struct *task)
{
	(void)task;
	mutex_lock(m);
	msleep(100);
	return *nowhere;	/* the bug, lock held */
}

static int waiter(struct task_struct *task)
{
	(void)task;
	msleep(20);
	mutex_lock(m);		/* held by holder: waits */
	mutex_unlock(m);
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

static const struct kthread_ops holder_ops = { .threadfn = holder };
static const struct kthread_ops waiter_ops = { .threadfn = waiter };

int init_module(void)
{
	m = mutex_create();
	if (!m)
		return -ENOMEM;
	a = kthread_run(&holder_ops, NULL, "lock_fault/a");
	b = kthread_run(&waiter_ops, NULL, "lock_fault/b");
	return a && b ? 0 : -ENOMEM;
}

void cleanup_module(void)
{
	kthread_stop(b);
	put_task_struct(b);
	kthread_stop(a);
	put_task_struct(a);
	mutex_destroy(m);
}
