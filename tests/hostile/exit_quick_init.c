/*
 * exit_quick_init - hole 5: quick_exit() in init_module.
 *
 * The wrapper library replaces exit, _exit and _Exit for an isolated
 * module, not quick_exit, which ends the process.
 *
 * Native: crash (nkernel exits with status 3).
 * Isolated: an exit of the module's code is a fault of the module: the
 * load fails, nkernel lives.
 */
#include <stdlib.h>

#include "nk/core.h"
#include "nk/module.h"

int init_module(void)
{
	quick_exit(3);
}

void cleanup_module(void)
{
}
