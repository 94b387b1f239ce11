/*
 * rel_free_work - hole 1: freeing a pending delayed work.
 *
 * init schedules a work a minute ahead, then frees it while it is still
 * pending: legal, free_delayed_work cancels first.  Isolated, the
 * registration schedule_delayed_work recorded (undo:
 * cancel_delayed_work_sync) survives the free; at unload (the trigger) it
 * runs on the freed work, or on the witness's work that reused the block
 * (the suite loads a second witness after this module).
 *
 * Native: fine.
 * Isolated: unload must not crash nkernel nor cancel the other witness's
 * work.
 */
#include "nk/core.h"
#include "nk/module.h"
#include "nk/workqueue.h"

static void never(struct delayed_work *w)
{
	(void)w;
	pr_err("rel_free_work: a freed work ran");
}

static const struct work_ops never_ops = { .func = never };

int init_module(void)
{
	struct delayed_work *w = alloc_delayed_work();
	if (!w)
		return -ENOMEM;
	w->ops = &never_ops;
	int r = schedule_delayed_work(w, 60000);
	free_delayed_work(w);	/* cancels, then frees */
	return r;
}

void cleanup_module(void)
{
}
