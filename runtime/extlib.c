/*
 * extlib.c - linked into every wrapper library (the isolated namespace's
 * stand-in for the kernel API library).
 *
 * An isolated extension binds, in its own namespace, to these definitions
 * before libc's (the wrapper library comes first among its dependencies,
 * and libc itself, loaded as the wrapper library's dependency, looks the
 * wrapper library up first too).  Two things are interposed:
 *
 *  - exit(), _exit() and _Exit(): the call ends the crossing as a fault
 *    instead of ending the kernel.  The hook is the runtime's
 *    nooks_ext_exited(), set by the loader; it does not return.  Without
 *    a hook (the library used outside the loader) the process exits.
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
 *    runtime/extlib.h is the contract with the loader.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/syscall.h>

#include "extlib.h"

void (*nooks_ext_exit_hook)(int status);
struct nooks_extlib_heap nooks_ext_heap;

void exit(int status);
void _exit(int status);
void _Exit(int status);

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

/* ---- the malloc family ---------------------------------------------------- */

/* glibc's own allocator under names nobody interposes */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

#define H nooks_ext_heap

static int resident(uintptr_t ra)
{
	for (unsigned i = 0; i < H.nresident; i++)
		if (ra >= H.resident[i][0] && ra < H.resident[i][1])
			return 1;
	return 0;
}

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
	static size_t (*libc_usable)(void *);

	if (!p)
		return 0;
	if (heap_block(p))
		return H.usable(H.heap, p);
	if (!libc_usable)
		*(void **)&libc_usable = dlsym(RTLD_NEXT, "malloc_usable_size");
	return libc_usable ? libc_usable(p) : 0;
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
