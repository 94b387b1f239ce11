/*
 * ext_elfinit.c - an extension with an ELF constructor, a destructor and
 * exit handlers (issue 11, class 5), for test_contain.c.  Plain C against
 * the test kernel API (tk.h, libtk.so.1); it knows nothing of Nooks.
 *
 * What it does is read at construction from the flags of a device it
 * allocates (the test sets tk_new_dev_flags): fault in the constructor,
 * in the destructor or in an atexit handler, release the device twice
 * (the kHTTPd bug), register the handlers.  Each step tells the test
 * through tk_reverse_words(NULL, -code) (natively the kernel answers
 * -EINVAL and counts the call; isolated the test's kernel table records
 * the code and the domain the call came from).
 */
#include <stdint.h>
#include <stdlib.h>

#include "tk.h"

#define CTL_CTOR_FAULT 0x1000u
#define CTL_DTOR_FAULT 0x2000u
#define CTL_ATEXIT 0x4000u
#define CTL_ATEXIT_FAULT 0x8000u
#define CTL_DOUBLE 0x10000u
#define CTL_ON_EXIT 0x20000u

#define EV_CTOR 1
#define EV_DTOR 2
#define EV_ATEXIT 3
#define EV_ON_EXIT 4

void ext_ctor(void);
void ext_dtor(void);
void ext_handler(void);
long ext_constructed(long unused);
long ext_crash(long unused);

static unsigned ctl;
static int constructed;
static int *volatile nowhere;		/* NULL */

static void event(int code)
{
	tk_reverse_words(NULL, -code);
}

void ext_handler(void)
{
	event(EV_ATEXIT);
	if (ctl & CTL_ATEXIT_FAULT)
		*nowhere = 1;
}

static void on_exit_handler(int status, void *arg)
{
	(void)status;
	(void)arg;
	event(EV_ON_EXIT);
}

__attribute__((constructor)) void ext_ctor(void)
{
	struct tk_dev *dev = tk_dev_alloc(0);

	ctl = dev ? dev->flags : 0;
	constructed++;
	event(EV_CTOR);
	tk_dev_put(dev);
	if (ctl & CTL_DOUBLE)
		tk_dev_put(dev);	/* the bug */
	if (ctl & CTL_ATEXIT)
		atexit(ext_handler);
	if (ctl & CTL_ON_EXIT)
		on_exit(on_exit_handler, NULL);
	if (ctl & CTL_CTOR_FAULT) {
		tk_dev_alloc(0);	/* held when it dies */
		*nowhere = 1;
	}
}

__attribute__((destructor)) void ext_dtor(void)
{
	event(EV_DTOR);
	if (ctl & CTL_DTOR_FAULT)
		*nowhere = 1;
}

/* 1 in a fresh copy: its constructor ran once, and in this copy */
long ext_constructed(long unused)
{
	(void)unused;
	return constructed;
}

long ext_crash(long unused)
{
	(void)unused;
	return *nowhere;
}
