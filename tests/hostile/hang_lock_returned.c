/*
 * hang_lock_returned - a kernel thread whose threadfn returns holding a
 * mutex (the unlock forgotten on one path), and a sibling that then
 * waits for it.
 *
 * The holder has ended, so nobody will ever release the lock: the
 * waiter's mutex_lock must notice that its holder is gone (isolated:
 * "held by a thread that has ended", a fault of the module).  Kernel
 * threads are pooled (kthread.c): a thread whose threadfn returned
 * parks and runs the next task, so "ended" is the task's end, not the
 * OS thread's; a pooled thread still holding a lock would look alive for
 * ever, and would even own the lock for the next module's task it runs.
 *
 * Native: the waiter blocks for good (corrupt: it never gets the lock,
 * and the module's threads are still counted after the trigger).
 * Isolated: the waiter's wait fails the module, which is recovered;
 * every copy does the same, so the suite gives it --max-restarts 2.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static struct mutex *m;
static struct task_struct *a, *b;

static int holder(struct task_struct *task)
{
	(void)task;
	mutex_lock(m);
	return 0;		/* the bug: returns with the lock held */
}

static int waiter(struct task_struct *task)
{
	(void)task;
	msleep(100);		/* the holder has returned by now */
	pr_info("hang_lock_returned: waiting for the lock");
	mutex_lock(m);
	pr_info("hang_lock_returned: got the lock");
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
	a = kthread_run(&holder_ops, NULL, "lock_ret/a");
	b = kthread_run(&waiter_ops, NULL, "lock_ret/b");
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
