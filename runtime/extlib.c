/*
 * extlib.c - linked into every wrapper library (the isolated namespace's
 * stand-in for the kernel API library).
 *
 * An isolated extension binds, in its own namespace, to these definitions
 * before libc's (the wrapper library comes first among its dependencies,
 * and libc itself, loaded as the wrapper library's dependency, looks the
 * wrapper library up first too).  Four things are interposed:
 *
 *  - exit(), _exit(), _Exit() and quick_exit(): the call ends the
 *    crossing as a fault instead of ending the kernel.  The hook is the
 *    runtime's nooks_ext_exited(), set by the loader; it does not
 *    return.  Without a hook (the library used outside the loader) the
 *    process exits.
 *
 *  - threads: pthread_create and thrd_create by the extension make a
 *    thread of its domain (the runtime runs the start routine inside a
 *    crossing), and the calls that act on such threads (join, detach,
 *    cancel, exit) go to the runtime too; pthread_exit and thrd_exit in
 *    any other crossing (a kernel thread's threadfn, an entry point)
 *    are a fault of the domain instead of unwinding the kernel's stack.
 *
 *  - exit handlers: __cxa_atexit (what atexit() and C++ static
 *    destructors call) and on_exit by the extension are kept by the
 *    runtime, which runs them inside a crossing when the copy goes;
 *    at_quick_exit is refused; __cxa_finalize runs the kept handlers of
 *    a DSO (the extension's destructors call it).
 *
 *  - the malloc family: the extension's allocations come from its
 *    domain's heap (runtime/heap.c), which recovery empties, while the
 *    namespace's libc keeps its own allocator for its own needs (stdio
 *    buffers and the like outlive a reload of the extension).  Who is
 *    asking is told by the return address: a caller inside a *resident*
 *    object (loaded before the extension: this library, libc, ld.so) is
 *    libc's; any other caller is the extension's.  free(), realloc() and
 *    malloc_usable_size() go by the pointer's address instead: a block of
 *    the heap goes back to the heap, anything else to libc, whoever
 *    allocated it.  strdup() and strndup() are defined here so that the
 *    copies an extension makes come from its heap too (libc's would call
 *    malloc from inside libc).  Without a heap everything is libc's.
 *
 * Who is the extension (threads, handlers, malloc): a caller outside the
 * resident objects, by its return address.  Without the hooks (the
 * none backend, or the library used outside the loader) everything goes
 * to the namespace's libc, found once by the library's constructor (a
 * lookup takes ld.so's lock: never from inside a crossing).
 * runtime/extlib.h is the contract with the loader.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

#include <sys/syscall.h>

#include "extlib.h"

void (*nooks_ext_exit_hook)(int status);
struct nooks_extlib_heap nooks_ext_heap;
struct nooks_extlib_hooks nooks_ext_hooks;

#define H nooks_ext_heap
#define HK nooks_ext_hooks
#define RA __builtin_return_address(0)

/* The namespace's libc, for every call that is not the extension's. */
static struct {
	int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	int (*pthread_join)(pthread_t, void **);
	int (*pthread_tryjoin_np)(pthread_t, void **);
	int (*pthread_timedjoin_np)(pthread_t, void **, const struct timespec *);
	int (*pthread_clockjoin_np)(pthread_t, void **, clockid_t, const struct timespec *);
	int (*pthread_detach)(pthread_t);
	int (*pthread_cancel)(pthread_t);
	void (*pthread_testcancel)(void);
	void (*pthread_exit)(void *);
	void (*register_cancel)(__pthread_unwind_buf_t *);
	void (*unregister_cancel)(__pthread_unwind_buf_t *);
	void (*unwind_next)(__pthread_unwind_buf_t *);
	int (*thrd_create)(thrd_t *, thrd_start_t, void *);
	int (*thrd_join)(thrd_t, int *);
	int (*thrd_detach)(thrd_t);
	int (*cxa_atexit)(void (*)(void *), void *, void *);
	int (*cxa_at_quick_exit)(void (*)(void *), void *);
	int (*on_exit)(void (*)(int, void *), void *);
	void (*cxa_finalize)(void *);
	size_t (*malloc_usable_size)(void *);
} real;

#define REAL(name, sym) (*(void **)&real.name = dlsym(RTLD_NEXT, sym))

__attribute__((constructor)) static void find_libc(void)
{
	REAL(pthread_create, "pthread_create");
	REAL(pthread_join, "pthread_join");
	REAL(pthread_tryjoin_np, "pthread_tryjoin_np");
	REAL(pthread_timedjoin_np, "pthread_timedjoin_np");
	REAL(pthread_clockjoin_np, "pthread_clockjoin_np");
	REAL(pthread_detach, "pthread_detach");
	REAL(pthread_cancel, "pthread_cancel");
	REAL(pthread_testcancel, "pthread_testcancel");
	REAL(pthread_exit, "pthread_exit");
	REAL(register_cancel, "__pthread_register_cancel");
	REAL(unregister_cancel, "__pthread_unregister_cancel");
	REAL(unwind_next, "__pthread_unwind_next");
	REAL(thrd_create, "thrd_create");
	REAL(thrd_join, "thrd_join");
	REAL(thrd_detach, "thrd_detach");
	REAL(cxa_atexit, "__cxa_atexit");
	REAL(cxa_at_quick_exit, "__cxa_at_quick_exit");
	REAL(on_exit, "on_exit");
	REAL(cxa_finalize, "__cxa_finalize");
	REAL(malloc_usable_size, "malloc_usable_size");
}

static int resident(uintptr_t ra)
{
	for (unsigned i = 0; i < H.nresident; i++)
		if (ra >= H.resident[i][0] && ra < H.resident[i][1])
			return 1;
	return 0;
}

/* Is the caller the extension, and does the runtime take its call? */
static int ours(void *ra)
{
	return HK.ctx && !resident((uintptr_t)ra);
}

/* ---- exits ------------------------------------------------------------------ */

void exit(int status);
void _exit(int status);
void _Exit(int status);
void quick_exit(int status);

void exit(int status)
{
	if (nooks_ext_exit_hook)
		nooks_ext_exit_hook(status);
	syscall(SYS_exit_group, status);
	for (;;)
		;
}

void _exit(int status)
{
	exit(status);
}

void _Exit(int status)
{
	exit(status);
}

/* Like exit(): at_quick_exit handlers are never kept (see below). */
void quick_exit(int status)
{
	exit(status);
}

/* ---- threads ------------------------------------------------------------------ */

static void thread_exit(void *value, void *ra) __attribute__((noreturn));

static void thread_exit(void *value, void *ra)
{
	if (ours(ra) && HK.thread_exit)
		HK.thread_exit(HK.ctx, value);	/* a fault does not return */
	if (real.pthread_exit)
		real.pthread_exit(value);
	syscall(SYS_exit, 0);			/* no libc to end it properly */
	for (;;)
		;
}

void pthread_exit(void *value)
{
	thread_exit(value, RA);
}

/* What C's pthread_cleanup_push and pthread_cleanup_pop call. */
void __pthread_register_cancel(__pthread_unwind_buf_t *buf);
void __pthread_unregister_cancel(__pthread_unwind_buf_t *buf);
void __pthread_unwind_next(__pthread_unwind_buf_t *buf);

void __pthread_register_cancel(__pthread_unwind_buf_t *buf)
{
	if (ours(RA) && HK.cancel_push && HK.cancel_push(HK.ctx, buf))
		return;
	if (real.register_cancel)
		real.register_cancel(buf);
}

void __pthread_unregister_cancel(__pthread_unwind_buf_t *buf)
{
	if (ours(RA) && HK.cancel_pop && HK.cancel_pop(HK.ctx, buf))
		return;
	if (real.unregister_cancel)
		real.unregister_cancel(buf);
}

void __pthread_unwind_next(__pthread_unwind_buf_t *buf)
{
	if (ours(RA) && HK.unwind_next)
		HK.unwind_next(HK.ctx, buf);	/* its own thread: no return */
	if (real.unwind_next)
		real.unwind_next(buf);
	abort();
}

void thrd_exit(int res)
{
	thread_exit((void *)(intptr_t)res, RA);
}

int pthread_create(pthread_t *restrict out, const pthread_attr_t *restrict attr,
		   void *(*start)(void *), void *restrict arg)
{
	if (!ours(RA) || !HK.create)
		return real.pthread_create ? real.pthread_create(out, attr, start, arg) : ENOSYS;
	int detached = PTHREAD_CREATE_JOINABLE;
	/* only the detach state is taken from attr: the start routine runs
	 * on the runtime's extension stack, not on a stack attr asks for */
	if (attr && pthread_attr_getdetachstate(attr, &detached))
		return EINVAL;
	return HK.create(HK.ctx, out, detached == PTHREAD_CREATE_DETACHED, 0, start, arg);
}

static int join(pthread_t t, void **ret, int how, clockid_t clk, const struct timespec *at)
{
	return HK.join ? HK.join(HK.ctx, t, ret, how, clk, at) : ENOSYS;
}

int pthread_join(pthread_t t, void **ret)
{
	if (!ours(RA))
		return real.pthread_join ? real.pthread_join(t, ret) : ENOSYS;
	return join(t, ret, NOOKS_JOIN_WAIT, CLOCK_REALTIME, NULL);
}

int pthread_tryjoin_np(pthread_t t, void **ret)
{
	if (!ours(RA))
		return real.pthread_tryjoin_np ? real.pthread_tryjoin_np(t, ret) : ENOSYS;
	return join(t, ret, NOOKS_JOIN_TRY, CLOCK_REALTIME, NULL);
}

int pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *at)
{
	if (!ours(RA))
		return real.pthread_timedjoin_np ? real.pthread_timedjoin_np(t, ret, at) : ENOSYS;
	return join(t, ret, at ? NOOKS_JOIN_TIMED : NOOKS_JOIN_WAIT, CLOCK_REALTIME, at);
}

int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t clk, const struct timespec *at)
{
	if (!ours(RA))
		return real.pthread_clockjoin_np ? real.pthread_clockjoin_np(t, ret, clk, at) :
			ENOSYS;
	return join(t, ret, at ? NOOKS_JOIN_TIMED : NOOKS_JOIN_WAIT, clk, at);
}

int pthread_detach(pthread_t t)
{
	if (!ours(RA) || !HK.detach)
		return real.pthread_detach ? real.pthread_detach(t) : ENOSYS;
	return HK.detach(HK.ctx, t);
}

int pthread_cancel(pthread_t t)
{
	if (!ours(RA) || !HK.cancel)
		return real.pthread_cancel ? real.pthread_cancel(t) : ENOSYS;
	return HK.cancel(HK.ctx, t);
}

void pthread_testcancel(void)
{
	if (ours(RA) && HK.testcancel) {
		if (HK.testcancel(HK.ctx))
			thread_exit(PTHREAD_CANCELED, RA);
		return;
	}
	if (real.pthread_testcancel)
		real.pthread_testcancel();
}

/* C11 threads: glibc's thrd_create calls its pthread_create internally,
 * which no interposition sees: the same hooks, with C11's results. */
static int thrd_result(int err)
{
	return !err ? thrd_success : err == ENOMEM || err == EAGAIN ? thrd_nomem :
		err == EBUSY ? thrd_busy : thrd_error;
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
	if (!ours(RA) || !HK.create)
		return real.thrd_create ? real.thrd_create(thr, func, arg) : thrd_error;
	return thrd_result(HK.create(HK.ctx, (pthread_t *)thr, 0, 1,
				     (void *(*)(void *))(void (*)(void))func, arg));
}

int thrd_join(thrd_t thr, int *res)
{
	void *r = NULL;

	if (!ours(RA))
		return real.thrd_join ? real.thrd_join(thr, res) : thrd_error;
	int err = join(thr, &r, NOOKS_JOIN_WAIT, CLOCK_REALTIME, NULL);
	if (!err && res)
		*res = (int)(intptr_t)r;
	return thrd_result(err);
}

int thrd_detach(thrd_t thr)
{
	if (!ours(RA) || !HK.detach)
		return real.thrd_detach ? real.thrd_detach(thr) : thrd_error;
	return thrd_result(HK.detach(HK.ctx, thr));
}

/* ---- exit handlers ------------------------------------------------------------ */

int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
int __cxa_at_quick_exit(void (*fn)(void *), void *dso);
void __cxa_finalize(void *dso);

int __cxa_atexit(void (*fn)(void *), void *arg, void *dso)
{
	if (ours(RA) && HK.atexit) {
		int r = HK.atexit(HK.ctx, NOOKS_ATEXIT_CXA, (void (*)(void))fn, arg, dso);
		if (r <= 0)
			return r;	/* kept (0) or refused */
	}
	return real.cxa_atexit ? real.cxa_atexit(fn, arg, dso) : -1;
}

int on_exit(void (*fn)(int, void *), void *arg)
{
	if (ours(RA) && HK.atexit)
		return HK.atexit(HK.ctx, NOOKS_ATEXIT_ON_EXIT, (void (*)(void))fn, arg, NULL) ? -1 : 0;
	return real.on_exit ? real.on_exit(fn, arg) : -1;
}

/* at_quick_exit handlers would run only at the process's quick_exit, as
 * kernel code (the extension's own quick_exit is a fault): refused. */
int __cxa_at_quick_exit(void (*fn)(void *), void *dso)
{
	if (ours(RA))
		return -1;
	return real.cxa_at_quick_exit ? real.cxa_at_quick_exit(fn, dso) : -1;
}

void __cxa_finalize(void *dso)
{
	if (dso && HK.ctx && HK.finalize)
		HK.finalize(HK.ctx, dso);
	if (real.cxa_finalize)
		real.cxa_finalize(dso);
}

/* ---- the malloc family ---------------------------------------------------- */

/* glibc's own allocator under names nobody interposes */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

/* Is this allocation the extension's (and is there a heap for it)? */
static int extension_call(void *ra)
{
	return H.heap && H.open && !resident((uintptr_t)ra);
}

static int heap_block(const void *p)
{
	return H.heap && (uintptr_t)p - H.lo < H.hi - H.lo;
}

static void *heap_alloc(size_t align, size_t n)
{
	void *p = H.alloc(H.heap, align, n);
	if (!p)
		errno = ENOMEM;
	return p;
}

void *malloc(size_t n)
{
	if (extension_call(__builtin_return_address(0)))
		return heap_alloc(0, n);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (!extension_call(__builtin_return_address(0)))
		return __libc_calloc(n, size);
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = heap_alloc(0, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void free(void *p)
{
	if (heap_block(p))
		H.free(H.heap, p);
	else
		__libc_free(p);
}

void *realloc(void *p, size_t n)
{
	if (!p)
		return extension_call(__builtin_return_address(0)) ?
			heap_alloc(0, n) : __libc_malloc(n);
	if (!heap_block(p))
		return __libc_realloc(p, n);
	void *q = H.realloc(H.heap, p, n);
	if (!q && n)
		errno = ENOMEM;
	return q;
}

void *reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if (!p && extension_call(__builtin_return_address(0)))
		return heap_alloc(0, n * size);
	return realloc(p, n * size);
}

static int aligned(void *ra, void **out, size_t align, size_t n)
{
	*out = extension_call(ra) ? H.alloc(H.heap, align, n) : __libc_memalign(align, n);
	return *out ? 0 : ENOMEM;
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (!align || (align & (align - 1)) || align % sizeof(void *))
		return EINVAL;
	void *p;
	int rc = aligned(__builtin_return_address(0), &p, align, n);
	if (!rc)
		*out = p;
	return rc;
}

void *aligned_alloc(size_t align, size_t n)
{
	void *p = NULL;
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (aligned(__builtin_return_address(0), &p, align, n))
		errno = ENOMEM;
	return p;
}

void *memalign(size_t align, size_t n)
{
	void *p = NULL;
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (aligned(__builtin_return_address(0), &p, align, n))
		errno = ENOMEM;
	return p;
}

void *valloc(size_t n)
{
	void *p = NULL;
	if (aligned(__builtin_return_address(0), &p, (size_t)sysconf(_SC_PAGESIZE), n))
		errno = ENOMEM;
	return p;
}

void *pvalloc(size_t n)
{
	void *p = NULL;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (n > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	n = (n + page - 1) & ~(page - 1);
	if (aligned(__builtin_return_address(0), &p, page, n ? n : page))
		errno = ENOMEM;
	return p;
}

size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (heap_block(p))
		return H.usable(H.heap, p);
	return real.malloc_usable_size ? real.malloc_usable_size(p) : 0;
}

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = extension_call(__builtin_return_address(0)) ? heap_alloc(0, n) : __libc_malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = extension_call(__builtin_return_address(0)) ? heap_alloc(0, n + 1) :
		__libc_malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}
