/*
 * arena.c - the kernel's object arena.
 *
 * One reserved mapping holds every kernel object that crosses into
 * extensions, so the isolating backends protect them all with one
 * mprotect().  The allocator's own bookkeeping (size classes, free lists)
 * lives outside the arena on the ordinary heap: the arena may be
 * read-only at any moment (another thread running an extension), and
 * the allocator must never write into it except to zero a block it hands
 * out (a write that, if it faults, waits in xpc.c's handler until the
 * arena is writable again).
 *
 * Size classes are powers of two from 16 bytes to 1 MiB; a freed block
 * goes back to its class's free list.  Blocks are never returned to the
 * system: the arena is reserved once (NOOKS_ARENA_SIZE).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nooks_internal.h"
#include "nooks_runtime.h"

#define NOOKS_ARENA_SIZE (256UL << 20)
#define MIN_SHIFT 4
#define MAX_SHIFT 20
#define N_CLASSES (MAX_SHIFT - MIN_SHIFT + 1)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *base, *bump, *end;

struct freelist {
	void **v;
	size_t n, cap;
};
static struct freelist free_blocks[N_CLASSES];

/* class of each 16-byte granule that starts a block: 255 = none */
static unsigned char *block_class;

static int arena_init_locked(void)
{
	if (base)
		return 0;
	void *p = mmap(NULL, NOOKS_ARENA_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	block_class = malloc(NOOKS_ARENA_SIZE >> MIN_SHIFT);
	if (!block_class) {
		munmap(p, NOOKS_ARENA_SIZE);
		return -1;
	}
	memset(block_class, 0xff, NOOKS_ARENA_SIZE >> MIN_SHIFT);
	base = bump = p;
	end = base + NOOKS_ARENA_SIZE;
	return 0;
}

void nk_arena_range(uintptr_t *start, uintptr_t *stop)
{
	pthread_mutex_lock(&lock);
	arena_init_locked();
	*start = (uintptr_t)base;
	*stop = (uintptr_t)end;
	pthread_mutex_unlock(&lock);
}

int nooks_in_arena(const void *p)
{
	const unsigned char *c = p;
	return base && c >= base && c < end;
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
