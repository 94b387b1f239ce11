/*
 * pthread_null - hole 6: a fault in a thread the module started itself.
 *
 * init starts a thread with pthread_create (not a kernel thread) that
 * dereferences NULL 50 ms later.  Isolated today such a thread is not in
 * the module's domain: its fault is the kernel's.
 *
 * Native: crash.
 * Isolated: the thread runs in the module's domain: its fault is
 * contained and the module recovered (each copy faults again: the suite
 * runs it with --max-restarts 2).
 */
#include <pthread.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static int *volatile nowhere;	/* NULL */

static void *crasher(void *arg)
{
	(void)arg;
	msleep(50);
	*nowhere = 1;
	return NULL;
}

int init_module(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, crasher, NULL))
		return -EAGAIN;
	pthread_detach(t);
	return 0;
}

void cleanup_module(void)
{
}
