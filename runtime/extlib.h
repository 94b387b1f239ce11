/*
 * extlib.h - the contract between runtime/extlib.c (linked into every
 * wrapper library, so it lives in an isolated extension's link
 * namespace) and the loader (in the kernel's namespace).
 *
 * The namespace cannot see the kernel's symbols, so the loader writes
 * what extlib.c needs into its variables after loading the wrapper
 * library: the exit hook (nooks_ext_exit_hook), the domain's heap
 * (nooks_ext_heap below) and the runtime's hooks for threads and exit
 * handlers (nooks_ext_hooks, further below).  Never installed; no
 * libnooks symbol is linked into the wrapper library.
 */
#ifndef NOOKS_EXTLIB_H
#define NOOKS_EXTLIB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

/*
 * The runtime's side of what an isolated extension does with threads and
 * exit handlers (loader.c; docs/runtime.md, "The loader").  extlib.c
 * defines the functions below and, when the caller is the extension
 * (not resident, by the rule above) and ctx is set, hands the call to
 * these hooks instead of the namespace's libc:
 *
 *   pthread_create, thrd_create  create: a thread of the extension's
 *                 domain (its start routine runs inside a crossing);
 *                 0 or an errno value (EAGAIN: the domain's limit)
 *   pthread_join, pthread_tryjoin_np, pthread_timedjoin_np,
 *   pthread_clockjoin_np, thrd_join  join (how: NOOKS_JOIN_*; clk and at
 *                 for NOOKS_JOIN_TIMED)
 *   pthread_detach, thrd_detach  detach
 *   pthread_cancel  cancel: marks a thread of its own (ESRCH for any
 *                 other); pthread_testcancel() asks testcancel, which
 *                 says whether to end the calling thread now
 *   pthread_exit, thrd_exit  thread_exit: on a thread of its own, ends
 *                 the start routine (through its cleanup handlers, as
 *                 below); elsewhere in a crossing, a fault of the
 *                 domain; neither returns.  Returns (libc's pthread_exit
 *                 is to run) only outside any crossing.
 *   __pthread_register_cancel, __pthread_unregister_cancel,
 *   __pthread_unwind_next  cancel_push, cancel_pop, unwind_next: the
 *                 cleanup handlers of C's pthread_cleanup_push on a
 *                 thread of its own are chained by the runtime, not
 *                 libc (whose unwinder would load libgcc_s into the
 *                 namespace for good); 0: not such a thread, libc's
 *   __cxa_atexit (atexit, C++ static destructors), on_exit  atexit: the
 *                 handler is kept by the runtime and run inside a
 *                 crossing when the copy is unloaded; 0, or -1 (refused),
 *                 or 1 for a handler of a DSO other than the extension's
 *                 object (a library loaded with it, which may outlive the
 *                 copy): libc's, as natively
 *   __cxa_finalize  finalize: runs the kept handlers registered with dso
 *                 (the extension's destructors call it), inside the
 *                 crossing that runs them; nothing outside a crossing
 *
 * The join, detach and cancel hooks answer ESRCH for a thread that is not
 * one the extension started (a kernel thread's, say).  Every hook is
 * called on the extension's thread, in its crossing; the runtime crosses
 * back into the kernel for its own bookkeeping.  __cxa_at_quick_exit
 * (at_quick_exit) is refused outright when the hooks are set.
 */
enum { NOOKS_JOIN_WAIT, NOOKS_JOIN_TRY, NOOKS_JOIN_TIMED };
enum { NOOKS_ATEXIT_CXA, NOOKS_ATEXIT_ON_EXIT };

struct nooks_extlib_hooks {
	void *ctx;		/* the loader's struct nooks_ext; NULL: no hooks */
	int (*create)(void *ctx, pthread_t *out, int detached, int c11,
		      void *(*start)(void *), void *arg);
	int (*join)(void *ctx, pthread_t t, void **ret, int how, clockid_t clk,
		    const struct timespec *at);
	int (*detach)(void *ctx, pthread_t t);
	int (*cancel)(void *ctx, pthread_t t);
	int (*testcancel)(void *ctx);
	int (*thread_exit)(void *ctx, void *value);
	int (*cancel_push)(void *ctx, __pthread_unwind_buf_t *buf);
	int (*cancel_pop)(void *ctx, __pthread_unwind_buf_t *buf);
	int (*unwind_next)(void *ctx, __pthread_unwind_buf_t *buf);
	int (*atexit)(void *ctx, int kind, void (*fn)(void), void *arg, void *dso);
	void (*finalize)(void *ctx, void *dso);
};


/*
 * loader.c's private copy of an extension object, exposed for its tests:
 * a memfd holding the object with its DT_INIT, DT_FINI, DT_INIT_ARRAY(SZ)
 * and DT_FINI_ARRAY(SZ) entries retagged to NK_DT_SET_ASIDE (ld.so runs
 * none of them), their values in *out, and in fdpath the name dlmopen
 * opens it by (/proc/PID/fd/N).  The descriptor, or -1 and a one-line
 * reason in err.
 */
#define NK_DT_SET_ASIDE 0x6e6f6f6bL	/* "nook": an OS-range tag ld.so ignores */
struct nk_elf_init {
	uintptr_t init, fini;		/* link-time addresses; 0: none */
	uintptr_t init_array, fini_array;
	size_t init_n, fini_n;		/* entries */
};
int nk_private_copy(const char *path, struct nk_elf_init *out, char *fdpath, size_t fdlen,
		    char *err, size_t errlen);

#endif
