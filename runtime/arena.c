/*
 * arena.c - the kernel's object arena.
 *
 * One reserved region holds every kernel object that crosses into
 * extensions.  It is a memfd mapped twice: a read-write view, the only
 * one kernel code uses (nooks_arena_alloc returns its addresses), and a
 * view that is read-only for good, the only one extension code ever sees
 * (the tracker's nooks_out hands out nooks_arena_ro() of an object,
 * nooks_in takes it back).  No protection ever changes: a kernel thread
 * writes its objects while another thread runs extension code, and an
 * extension's write through any address it was given faults.  The
 * allocator's own bookkeeping (size classes, free lists) lives outside
 * the arena on the ordinary heap.
 *
 * Where memfd_create or the second mapping fails (it does not on Linux
 * 3.17 or later), the arena is one anonymous mapping and its read-only
 * view is itself: nooks_arena_protected() says 0 and the kernel logs it.
 *
 * Protection keys (the pkey backend): where the CPU and kernel have
 * them, the read-write view is also tagged with a key of its own
 * (pkey_mprotect).  A pkey domain's code is given read-write addresses,
 * the same the kernel uses, and runs with writes to that key disabled in
 * its thread's PKRU register (xpc.c switches it per crossing, without a
 * system call); kernel code runs with them enabled.  The key is
 * allocated before main, while the process has one thread, so that
 * every thread it starts inherits the right to write the arena.
 *
 * Size classes are powers of two from 16 bytes to 1 MiB; a freed block
 * goes back to its class's free list.  Blocks are never returned to the
 * system: the arena is reserved once (NOOKS_ARENA_SIZE).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nooks_internal.h"
#include "nooks_runtime.h"

#define NOOKS_ARENA_SIZE (256UL << 20)
#define MIN_SHIFT 4
#define MAX_SHIFT 20
#define N_CLASSES (MAX_SHIFT - MIN_SHIFT + 1)

static pthread_mutex_t lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
static unsigned char *base, *bump, *end;
/* the read-only view: ro_base - base, 0 when there is none (set once,
 * before base: readers without the lock see base only with it) */
static uintptr_t ro_delta;
/* the memfd behind both views, sealed against new writable mappings
 * (F_SEAL_FUTURE_WRITE): what a process domain maps read-only (proc.c) */
static int arena_fd = -1;

struct freelist {
	void **v;
	size_t n, cap;
};
static struct freelist free_blocks[N_CLASSES];

/* class of each 16-byte granule that starts a block: 255 = none */
static unsigned char *block_class;

/* the arena's protection key, -1: none (no keys, or not x86-64, where
 * xpc.c has no PKRU switch) */
static int arena_pkey = -1;

#if defined(__x86_64__)
__attribute__((constructor)) static void arena_pkey_alloc(void)
{
	arena_pkey = pkey_alloc(0, 0);	/* writable by this thread */
}
#endif

static int arena_init_locked(void)
{
	if (base)
		return 0;
	void *p = MAP_FAILED, *ro = MAP_FAILED;
	int fd = memfd_create("nooks-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 && ftruncate(fd, NOOKS_ARENA_SIZE) == 0) {
		p = mmap(NULL, NOOKS_ARENA_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_NORESERVE, fd, 0);
		if (p != MAP_FAILED)
			ro = mmap(NULL, NOOKS_ARENA_SIZE, PROT_READ,
				  MAP_SHARED | MAP_NORESERVE, fd, 0);
		if (ro == MAP_FAILED && p != MAP_FAILED) {
			munmap(p, NOOKS_ARENA_SIZE);
			p = MAP_FAILED;
		}
	}
	if (fd >= 0 && ro != MAP_FAILED &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) == 0)
		arena_fd = fd;		/* kept for process domains */
	else if (fd >= 0)
		close(fd);		/* the mappings keep the memory */
	if (p == MAP_FAILED)		/* one view only: no protection */
		p = mmap(NULL, NOOKS_ARENA_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	if (arena_pkey >= 0 &&
	    pkey_mprotect(p, NOOKS_ARENA_SIZE, PROT_READ | PROT_WRITE, arena_pkey)) {
		pkey_free(arena_pkey);
		arena_pkey = -1;
	}
	block_class = malloc(NOOKS_ARENA_SIZE >> MIN_SHIFT);
	if (!block_class) {
		munmap(p, NOOKS_ARENA_SIZE);
		if (ro != MAP_FAILED)
			munmap(ro, NOOKS_ARENA_SIZE);
		return -1;
	}
	memset(block_class, 0xff, NOOKS_ARENA_SIZE >> MIN_SHIFT);
	if (ro != MAP_FAILED)
		ro_delta = (uintptr_t)ro - (uintptr_t)p;
	end = (unsigned char *)p + NOOKS_ARENA_SIZE;	/* read under the lock */
	bump = p;
	__atomic_store_n(&base, (unsigned char *)p, __ATOMIC_RELEASE);
	return 0;
}

static void arena_init(void)
{
	if (__atomic_load_n(&base, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&lock);
	arena_init_locked();
	pthread_mutex_unlock(&lock);
}

int nooks_arena_protected(void)
{
	arena_init();
	return ro_delta != 0;
}

void *nooks_arena_ro(const void *p)
{
	return nooks_in_arena(p) ? (void *)((uintptr_t)p + ro_delta) : (void *)p;
}

void *nooks_arena_view(const struct nooks_domain *d, const void *p)
{
	return d && (d->backend == NOOKS_BACKEND_MPROTECT || d->backend == NOOKS_BACKEND_PROCESS) ?
	       nooks_arena_ro(p) : (void *)p;
}

int nk_arena_share(void **ro, size_t *size)
{
	arena_init();
	if (arena_fd < 0)
		return -1;
	*ro = (unsigned char *)__atomic_load_n(&base, __ATOMIC_ACQUIRE) + ro_delta;
	*size = NOOKS_ARENA_SIZE;
	return arena_fd;
}

void *nk_arena_rw_base(void)
{
	arena_init();
	return __atomic_load_n(&base, __ATOMIC_ACQUIRE);
}

int nk_arena_pkey(void)
{
	arena_init();
	return __atomic_load_n(&base, __ATOMIC_ACQUIRE) ? arena_pkey : -1;
}

void *nk_arena_rw(const void *p)
{
	const unsigned char *b = __atomic_load_n(&base, __ATOMIC_ACQUIRE);
	uintptr_t a = (uintptr_t)p;

	if (!b || !ro_delta || a - ((uintptr_t)b + ro_delta) >= NOOKS_ARENA_SIZE)
		return (void *)p;
	return (void *)(a - ro_delta);
}

int nooks_in_arena(const void *p)
{
	const unsigned char *b = __atomic_load_n(&base, __ATOMIC_ACQUIRE);
	return b && (uintptr_t)p - (uintptr_t)b < NOOKS_ARENA_SIZE;
}

static int class_of(size_t size)
{
	int s = MIN_SHIFT;
	while (((size_t)1 << s) < size)
		s++;
	return s - MIN_SHIFT;
}

void *nooks_arena_alloc(size_t size)
{
	void *p = NULL;

	if (size == 0)
		size = 1;
	if (size > ((size_t)1 << MAX_SHIFT)) {
		errno = ENOMEM;
		return NULL;
	}
	int c = class_of(size);
	size_t bsize = (size_t)1 << (c + MIN_SHIFT);

	pthread_mutex_lock(&lock);
	if (arena_init_locked() == 0) {
		struct freelist *fl = &free_blocks[c];
		if (fl->n) {
			p = fl->v[--fl->n];
		} else if ((size_t)(end - bump) >= bsize) {
			/* blocks are aligned to min(size, 4096) */
			uintptr_t a = bsize < 4096 ? bsize : 4096;
			uintptr_t at = ((uintptr_t)bump + a - 1) & ~(a - 1);
			if (at + bsize <= (uintptr_t)end) {
				p = (void *)at;
				bump = (unsigned char *)at + bsize;
			}
		}
		if (p)
			block_class[((unsigned char *)p - base) >> MIN_SHIFT] = (unsigned char)c;
	}
	pthread_mutex_unlock(&lock);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	memset(p, 0, bsize);
	return p;
}

void nooks_arena_free(void *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&lock);
	if (!nooks_in_arena(p) || ((uintptr_t)p & 15)) {
		pthread_mutex_unlock(&lock);
		abort();	/* the kernel freed something else: its own bug */
	}
	size_t g = ((unsigned char *)p - base) >> MIN_SHIFT;
	int c = block_class[g];
	if (c == 0xff) {
		pthread_mutex_unlock(&lock);
		abort();	/* double free in the kernel */
	}
	block_class[g] = 0xff;
	struct freelist *fl = &free_blocks[c];
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 64;
		void **v = realloc(fl->v, cap * sizeof(*v));
		if (!v) {		/* leak the block rather than fail */
			pthread_mutex_unlock(&lock);
			return;
		}
		fl->v = v;
		fl->cap = cap;
	}
	fl->v[fl->n++] = p;
	pthread_mutex_unlock(&lock);
}

/* ---- memory shared in place with one domain --------------------------------- */

void *nooks_shared_alloc(struct nooks_domain *d, size_t len)
{
	if (d && d->backend == NOOKS_BACKEND_PROCESS)
		return nk_proc_shared_alloc(d, len);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int nooks_shared_guard(struct nooks_domain *d, void *p, size_t len)
{
	if (d && d->backend == NOOKS_BACKEND_PROCESS)
		return nk_proc_shared_guard(d, p, len);
	return mprotect(p, len, PROT_NONE);
}

void nooks_shared_free(struct nooks_domain *d, void *p, size_t len)
{
	if (!p)
		return;
	if (d && d->backend == NOOKS_BACKEND_PROCESS)
		nk_proc_shared_free(d, p, len);	/* never unmapped: the window's */
	else
		munmap(p, len);
}
