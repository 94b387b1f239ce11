/*
 * ops_work - hole 3: the kernel reads a work's ops pointer.
 *
 * init allocates a delayed work, sets its ops to the garbage pointer 0x10
 * and schedules it at once.  The kernel reads ops->func through it: on the
 * work queue worker natively, in nooks_bind_ops isolated (today).
 *
 * Native: crash.
 * Isolated: the call is refused (or is a fault of the module); nkernel
 * and the witness's work live.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"
#include "nk/workqueue.h"

static struct delayed_work *w;

int init_module(void)
{
	w = alloc_delayed_work();
	if (!w)
		return -ENOMEM;
	w->ops = (const struct work_ops *)0x10;	/* the bug */
	int r = schedule_delayed_work(w, 0);
	pr_info("ops_work: schedule_delayed_work returned %d", r);
	msleep(100);		/* the worker would run it now */
	free_delayed_work(w);
	return r;
}

void cleanup_module(void)
{
}
