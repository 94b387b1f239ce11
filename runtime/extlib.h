/*
 * extlib.h - the contract between runtime/extlib.c (linked into every
 * wrapper library, so it lives in an isolated extension's link
 * namespace) and the loader (in the kernel's namespace).
 *
 * The namespace cannot see the kernel's symbols, so the loader writes
 * what extlib.c needs into its variables after loading the wrapper
 * library: the exit hook (nooks_ext_exit_hook) and the domain's heap
 * (nooks_ext_heap below).  Never installed; no libnooks symbol is linked
 * into the wrapper library.
 */
#ifndef NOOKS_EXTLIB_H
#define NOOKS_EXTLIB_H

#include <stddef.h>
#include <stdint.h>

#define NOOKS_EXTLIB_RESIDENT 8

/*
 * The domain's heap as extlib.c's malloc family sees it.  heap NULL: no
 * heap (the domain does not isolate, or the wrapper library is used
 * outside the loader): everything goes to the namespace's libc.
 *
 * A call whose return address lies in a *resident* object (one that was
 * in the namespace before the extension: the wrapper library, libc,
 * ld.so) is libc's own business (stdio buffers, dlerror strings, ...)
 * and goes to libc's allocator; any other caller is the extension (its
 * object and the libraries loaded with it) and gets the domain's heap.
 * free(), realloc() and malloc_usable_size() go by address: [lo, hi) is
 * the heap's mapping.  While the heap is closed (between the death of
 * one copy of the extension and the load of the next) the extension's
 * allocations go to libc too, and heap blocks freed are ignored.
 */
struct nooks_extlib_heap {
	void *heap;
	void *(*alloc)(void *heap, size_t align, size_t size);
	void (*free)(void *heap, void *p);
	void *(*realloc)(void *heap, void *p, size_t size);
	size_t (*usable)(void *heap, const void *p);
	uintptr_t lo, hi;
	volatile int open;	/* 0: between two copies; allocate from libc */
	unsigned nresident;
	uintptr_t resident[NOOKS_EXTLIB_RESIDENT][2];	/* [start, end) */
};

#endif
