/*
 * hang_work_msleep - hole 4: a work function that never returns.
 *
 * init schedules a work whose func loops on msleep for ever.  The kernel
 * has one work queue worker for every module: while this func runs, no
 * other module's work runs (the witness's work count stops).
 *
 * Native: hang of the shared worker (the witness's works stop; unload
 * would wait for the func for ever).
 * Isolated: a work item is bounded: the module is failed or recovered and
 * the witness's works go on.  Every copy gets stuck again: the suite runs
 * it with --max-restarts 2.
 */
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"
#include "nk/workqueue.h"

static struct delayed_work *w;

static void stuck(struct delayed_work *work)
{
	(void)work;
	for (;;)
		msleep(50);
}

static const struct work_ops stuck_ops = { .func = stuck };

int init_module(void)
{
	w = alloc_delayed_work();
	if (!w)
		return -ENOMEM;
	w->ops = &stuck_ops;
	return schedule_delayed_work(w, 10);
}

void cleanup_module(void)
{
	cancel_delayed_work_sync(w);
	free_delayed_work(w);
}
