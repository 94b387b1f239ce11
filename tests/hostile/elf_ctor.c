/*
 * elf_ctor - hole 5: an ELF constructor that faults.
 *
 * The constructor runs when the object is loaded (dlopen, at load, reload
 * and every restart), before init_module, outside any call into the
 * module: the trigger is the load.
 *
 * Native: crash.
 * Isolated: a fault of the module: the load fails with an error, nkernel
 * lives.
 */
#include "nk/core.h"
#include "nk/module.h"

static int *volatile nowhere;	/* NULL */

__attribute__((constructor)) static void ctor(void)
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
