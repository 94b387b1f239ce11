/*
 * hang_lock_unload - hole 4: a lock never released, wanted at unload.
 *
 * init's kernel thread locks a mutex and returns without unlocking it.
 * cleanup_module (the trigger: unload) locks it again: the owner is gone.
 *
 * Native: hang (the unload never answers).
 * Isolated: cleanup is bounded (or the lock wait interrupted): the unload
 * answers and the module is gone.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static struct mutex *m;
static struct task_struct *t;

static int locker(struct task_struct *task)
{
	(void)task;
	mutex_lock(m);
	return 0;		/* the bug: still locked */
}

static const struct kthread_ops locker_ops = { .threadfn = locker };

int init_module(void)
{
	m = mutex_create();
	if (!m)
		return -ENOMEM;
	t = kthread_run(&locker_ops, NULL, "lock_unload");
	if (!t)
		return -ENOMEM;
	msleep(50);		/* it has locked and returned */
	return 0;
}

void cleanup_module(void)
{
	kthread_stop(t);
	put_task_struct(t);
	mutex_lock(m);		/* never given back */
	mutex_unlock(m);
	mutex_destroy(m);
}
