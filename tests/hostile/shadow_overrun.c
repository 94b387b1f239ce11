/*
 * shadow_overrun - hole 2: a shadow next to kernel data.
 *
 * A task_struct has fields an extension may write (ops, data), so an
 * isolated extension holds a shadow copy of it, today on nkernel's
 * ordinary heap.  init creates two tasks and writes 512 bytes of 0x5a
 * from the first one's address: far past the object.  It then frees both.
 *
 * Native: crash (the write lands on the neighbouring kernel objects in
 * the arena; freeing the second task follows its smashed kpriv).
 * Isolated: nkernel lives: the shadow is in the module's own memory, so
 * the overrun lands there (or faults there, a fault of the module).
 */
#include <string.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

int init_module(void)
{
	struct task_struct *a = kthread_create("overrun/a");
	struct task_struct *b = kthread_create("overrun/b");
	if (!a || !b)
		return -ENOMEM;
	memset((void *)a, 0x5a, 512);	/* the bug: sizeof(*a) is 48 */
	put_task_struct(b);
	put_task_struct(a);
	pr_info("shadow_overrun: overran a task by 464 bytes and lived");
	return 0;
}

void cleanup_module(void)
{
}
