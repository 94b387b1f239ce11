/*
 * hang_thread_flood - hole 4: init creates kernel threads until it cannot.
 *
 * Each thread sleeps until it is stopped.  init stops creating at the
 * first failure (or at 1000 threads, so that the native run does not take
 * the machine's limits) and keeps them all; cleanup stops them.
 * Isolated, every thread of every module takes one of the runtime's
 * watchdog slots (256 in all): once this module has them, another
 * module's new threads cannot cross into their code.
 *
 * Native: fine (1000 sleeping threads).
 * Isolated: a per-module limit refuses the excess; other modules (the
 * witness, a module loaded afterwards) still run.
 */
#include <stdlib.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

#define CAP 1000

static struct task_struct **tasks;
static int n;

static int sleeper(struct task_struct *task)
{
	(void)task;
	while (!kthread_should_stop())
		msleep(1000);
	return 0;
}

static const struct kthread_ops sleeper_ops = { .threadfn = sleeper };

int init_module(void)
{
	tasks = calloc(CAP, sizeof(*tasks));
	if (!tasks)
		return -ENOMEM;
	while (n < CAP && (tasks[n] = kthread_run(&sleeper_ops, NULL, "flood")))
		n++;
	pr_info("hang_thread_flood: %d threads started", n);
	return 0;
}

void cleanup_module(void)
{
	while (n > 0) {
		struct task_struct *t = tasks[--n];
		kthread_stop(t);
		put_task_struct(t);
	}
	free(tasks);
}
