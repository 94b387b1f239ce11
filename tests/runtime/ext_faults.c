/*
 * ext_faults.c - an extension that misbehaves on request, built as a real
 * shared object by the test suite.  Each entry is one fault class the
 * runtime must contain; ext_add is the well-behaved call that must work
 * after recovery.  Nothing here knows about Nooks.
 */
#include <stdlib.h>

int ext_add(int a, int b);
int ext_null_deref(void);
int ext_wild_write(int *kernel_object);
int ext_stack_overflow(int depth);
int ext_infinite_loop(void);
int ext_abort(void);
int ext_div_zero(int zero);
int ext_illegal(void);
int ext_counter(void);

static int counter;	/* reset by reloading the object */

int ext_add(int a, int b)
{
	return a + b;
}

int ext_null_deref(void)
{
	volatile int *p = NULL;
	return *p;
}

int ext_wild_write(int *kernel_object)
{
	*kernel_object = 0xbad;
	return 0;
}

/* unbounded on purpose; the volatile limit keeps compilers from calling
 * the recursion infinite (it is: until the guard page) */
static volatile int limit = -1;

int ext_stack_overflow(int depth)
{
	volatile char pad[4096];
	pad[0] = (char)depth;
	if (depth == limit)
		return 0;
	return ext_stack_overflow(depth + 1) + pad[0];
}

int ext_infinite_loop(void)
{
	for (volatile int spin = 1; spin;)
		;
	return 0;
}

int ext_abort(void)
{
	abort();
}

int ext_div_zero(int zero)
{
	volatile int one = 1;
	return one / zero;
}

int ext_illegal(void)
{
	__builtin_trap();
}

int ext_counter(void)
{
	return ++counter;
}

int ext_init(void);
int ext_init_fail(void);

int ext_init(void)
{
	counter = 0;
	return 0;
}

int ext_init_fail(void)
{
	return -5;
}
