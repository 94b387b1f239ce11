/*
 * stack_scribble - hole 2: kernel code runs on the extension's stack.
 *
 * A sleeper thread calls deep(), whose big frame leaves a stale pointer
 * into the sleeper's stack below its live frames, then sleeps in msleep
 * over and over.  A sibling thread scribbles over that stale range while
 * the sleeper sleeps: the frames below the sleeper's are the stub's and,
 * isolated today, the kernel wrapper's and the kernel's own (msleep runs on
 * the calling thread's extension stack).
 *
 * Native: crash (the kernel's frames of msleep are overwritten).
 * Isolated: nkernel lives: kernel frames are not on memory the extension
 * may write; at worst the module faults on its own frames and is
 * recovered (every copy scribbles again: the suite runs it with
 * --max-restarts 2).  The module logs "stack_scribble: scribbled N times"
 * when it is done.
 */
#include <string.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

#define SPAN 16384

static char *volatile stale;
static volatile int sleeping;
static struct task_struct *sleeper_task, *scribbler_task;

/* the bug, on purpose: the address of a local outlives its frame */
#pragma GCC diagnostic ignored "-Wdangling-pointer"

static __attribute__((noinline)) void deep(void)
{
	volatile char frame[SPAN];
	frame[0] = 1;
	stale = (char *)frame;	/* dangling once deep() returns */
}

static int sleeper(struct task_struct *task)
{
	(void)task;
	deep();
	while (!kthread_should_stop()) {
		sleeping = 1;
		msleep(20);
	}
	return 0;
}

static int scribbler(struct task_struct *task)
{
	int n = 0;
	(void)task;
	while (!sleeping && !kthread_should_stop())
		msleep(5);
	for (; n < 100 && !kthread_should_stop(); n++) {
		memset(stale, 0x41, SPAN);
		msleep(3);
	}
	pr_info("stack_scribble: scribbled %d times", n);
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

static const struct kthread_ops sleeper_ops = { .threadfn = sleeper };
static const struct kthread_ops scribbler_ops = { .threadfn = scribbler };

int init_module(void)
{
	sleeper_task = kthread_run(&sleeper_ops, NULL, "scribble/sleep");
	scribbler_task = kthread_run(&scribbler_ops, NULL, "scribble/write");
	return sleeper_task && scribbler_task ? 0 : -ENOMEM;
}

void cleanup_module(void)
{
	if (scribbler_task) {
		kthread_stop(scribbler_task);
		put_task_struct(scribbler_task);
	}
	if (sleeper_task) {
		kthread_stop(sleeper_task);
		put_task_struct(sleeper_task);
	}
}
