/*
 * hello.c - the module tests/install/run.sh builds outside the tree with
 * only the installed headers and pkg-config (docs/kernel.md's example):
 * a kernel thread logs "hello: GREETING #N" every `period` ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NK_FAULT_INJECTION	/* nkctl inject hello FAULT */
#include <nk/core.h>
#include <nk/kthread.h>
#include <nk/module.h>

static struct task_struct *ticker;
static char greeting[64] = "hello";
static unsigned period = 50;

static int tick(struct task_struct *task)
{
	(void)task;
	char *line = malloc(128);	/* the module's own heap when isolated */
	if (!line)
		return -ENOMEM;
	for (unsigned long n = 1; !kthread_should_stop(); n++) {
		snprintf(line, 128, "hello: %s #%lu", greeting, n);
		printk_line(LOGLEVEL_INFO, line);
		msleep(period);
	}
	free(line);
	return 0;
}

static const struct kthread_ops tick_ops = { .threadfn = tick };

int init_module(void)
{
	char buf[16];
	module_param_get("greeting", greeting, sizeof(greeting));
	if (module_param_get("period", buf, sizeof(buf)) > 0)
		period = (unsigned)strtoul(buf, NULL, 10);
	ticker = kthread_run(&tick_ops, NULL, "hello");
	return ticker ? 0 : -ENOMEM;
}

void cleanup_module(void)
{
	kthread_stop(ticker);
	put_task_struct(ticker);
}
