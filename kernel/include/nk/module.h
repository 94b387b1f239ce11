/*
 * nk/module.h - what an extension (a module) exports to the kernel.
 *
 * nkernel loads a module, runs its init_module() (0: loaded; a negative
 * errno: not loaded, and not restarted), and runs cleanup_module() when
 * it unloads it.  Both run inside the module's domain.
 *
 * Fault injection: a module that includes this header with
 * NK_FAULT_INJECTION defined (in one source file) gets nk_fault_inject(),
 * which `nkctl inject` calls to make the module's own code fail in one of
 * the ways the runtime contains (the faults are real: a NULL dereference
 * is a NULL dereference, in the module's code).
 */
#ifndef NK_MODULE_H
#define NK_MODULE_H

#ifdef __cplusplus
extern "C" {
#endif

int init_module(void);
void cleanup_module(void);

/* Fault classes (nkctl inject NAME). */
enum nk_fault_kind {
	NK_FAULT_NULL = 1,	/* "null": NULL dereference (SIGSEGV) */
	NK_FAULT_WILD,		/* "wild": write to kernel memory */
	NK_FAULT_STACK,		/* "stack": stack overflow (guard page) */
	NK_FAULT_LOOP,		/* "loop": infinite loop (watchdog) */
	NK_FAULT_ABORT,		/* "abort": abort() */
	NK_FAULT_ILL,		/* "ill": illegal instruction (SIGILL) */
	NK_FAULT_FPE,		/* "fpe": division by zero (SIGFPE) */
	NK_FAULT_EXIT,		/* "exit": exit(3) */
};

/* kind's fault, in the module's code; returns only for an unknown kind
 * (-EINVAL).  addr: a kernel address, for NK_FAULT_WILD. */
int nk_fault_inject(int kind, unsigned long addr);

#ifdef NK_FAULT_INJECTION
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

/* Recurses until the stack runs out (the guard page stops it). */
static int nk_fault_recurse(volatile int *depth)
{
	volatile char pad[1024];
	pad[0] = (char)*depth;
	*depth += 1;
	if (*depth > 0)		/* always: the compiler cannot know */
		return nk_fault_recurse(depth) + pad[0];
	return pad[0];
}

int nk_fault_inject(int kind, unsigned long addr)
{
	volatile int zero = 0, seven = 7, depth = 0;

	switch (kind) {
	case NK_FAULT_NULL:
		return *(volatile int *)(unsigned long)zero;
	case NK_FAULT_WILD:
		*(volatile unsigned long *)addr = 0xdeadbeefUL;
		return 0;
	case NK_FAULT_STACK:
		return nk_fault_recurse(&depth);
	case NK_FAULT_LOOP:
		for (;;)
			zero = zero + 1;
	case NK_FAULT_ABORT:
		abort();
	case NK_FAULT_ILL:
		__builtin_trap();
	case NK_FAULT_FPE:
		return seven / zero;	/* both volatile: a real idiv */
	case NK_FAULT_EXIT:
		exit(3);
	}
	return -EINVAL;
}
#endif

#ifdef __cplusplus
}
#endif

#endif
