/*
 * elf_dtor - hole 5: an ELF destructor that faults.
 *
 * The destructor runs when the object is unloaded (dlclose, at unload,
 * reload and every restart), outside any call into the module: the
 * trigger is the unload.
 *
 * Native: crash.
 * Isolated: a fault of the module: the unload answers, nkernel lives.
 */
#include "nk/core.h"
#include "nk/module.h"

static int *volatile nowhere;	/* NULL */

__attribute__((destructor)) static void dtor(void)
{
	*nowhere = 1;
}

int init_module(void)
{
	return 0;
}

void cleanup_module(void)
{
}
