/*
 * exit_atexit - hole 5: an atexit() handler that faults.
 *
 * init registers a handler that dereferences NULL.  A handler registered
 * by a shared object runs when the object is unloaded (dlclose), outside
 * any call into the module: at unload, the trigger.
 *
 * Native: crash.
 * Isolated: the handler's fault is the module's (or the handler is
 * refused): the unload answers, nkernel lives.
 */
#include <stdlib.h>

#include "nk/core.h"
#include "nk/module.h"

static int *volatile nowhere;	/* NULL */

static void handler(void)
{
	*nowhere = 1;
}

int init_module(void)
{
	return atexit(handler) ? -ENOMEM : 0;
}

void cleanup_module(void)
{
}
