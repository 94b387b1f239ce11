/*
 * lock_overrun - hole 2: a lock handle next to kernel data.
 *
 * mutex_create() hands out a pointer to a kernel heap object (a pthread
 * mutex).  init writes 512 bytes of 0x5a over the handle and past it, then
 * creates and destroys locks as any module would.
 *
 * Native: crash (the kernel heap is smashed: malloc or free aborts).
 * Isolated: nkernel lives: a handle is not writable kernel memory (the
 * write faults in the module's code, or lands in its own memory).
 */
#include <string.h>

#include "nk/core.h"
#include "nk/module.h"

int init_module(void)
{
	struct mutex *m = mutex_create();
	if (!m)
		return -ENOMEM;
	memset((void *)m, 0x5a, 512);	/* the bug: a handle is not ours */
	for (int i = 0; i < 64; i++) {
		struct mutex *n = mutex_create();
		if (n)
			mutex_destroy(n);
	}
	mutex_destroy(m);
	pr_info("lock_overrun: overran a lock handle and lived");
	return 0;
}

void cleanup_module(void)
{
}
