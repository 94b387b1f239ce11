/*
 * ext_exits.c - an extension that leaves in the ways that end a thread or
 * the process (issue 11, class 5), for test_contain.c.  Plain C against
 * the test kernel API (tk.h, libtk.so.1); it knows nothing of Nooks.
 * Every entry takes and returns a long.
 *
 * Isolated, each exit in a crossing is a fault of its domain: quick_exit
 * like exit, and pthread_exit/thrd_exit in a thread it did not start (a
 * kernel thread's threadfn, an entry point) instead of unwinding the
 * kernel's stack.  at_quick_exit is refused.  Natively, all of them do
 * what they always did.  It needs libextdep.so, found next to it
 * through RUNPATH $ORIGIN.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

#include "tk.h"

long ext_quick_exit(long status);
long ext_pthread_exit(long value);
long ext_thrd_exit(long value);
long ext_at_quick_exit(long unused);
long ext_alive(long unused);
int ext_dep_answer(void);		/* libextdep.so */

long ext_quick_exit(long status)
{
	quick_exit((int)status);
}

long ext_pthread_exit(long value)
{
	pthread_exit((void *)(intptr_t)value);
}

long ext_thrd_exit(long value)
{
	thrd_exit((int)value);
}

static void never(void)
{
}

long ext_at_quick_exit(long unused)
{
	(void)unused;
	return at_quick_exit(never);
}

long ext_alive(long unused)
{
	(void)unused;
	return ext_dep_answer();
}
