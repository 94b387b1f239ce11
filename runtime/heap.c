/*
 * heap.c - per-domain heaps: the memory an isolated extension's malloc
 * family allocates from (extlib.c routes its calls here through the
 * pointers the loader installs; runtime/extlib.h).
 *
 * A heap is one private anonymous mapping (NK_HEAP_SIZE, reserved with
 * MAP_NORESERVE: only touched pages cost memory), registered with the
 * tracker as memory the domain may pass to the kernel.  Blocks come in
 * size classes of 32, 48, 64, 96, 128, ... bytes (powers of two and the
 * half-way steps between them, so at most a third is lost to rounding),
 * each with a 16-byte header
 * (magic, class, state, offset for aligned blocks), carved from the
 * mapping with a bump pointer and recycled through one free list per
 * class.  Everything is behind one mutex per heap.
 *
 * Lifetime: a heap belongs to one loaded extension (nooks_ext) and lasts
 * until it is unloaded.  When the domain's holdings are released
 * (recovery, nooks_domain_reset; unload, nooks_domain_destroy) the heap is
 * *closed*: its pages beyond the first MiB are given back (MADV_DONTNEED),
 * the bump pointer and free lists start over, and until the loader opens
 * it again for the next copy of the extension, frees of heap pointers are
 * ignored and allocations fail (extlib.c then uses libc): the dying
 * copy's destructors run at dlclose and must not scribble on the next
 * copy's heap.  The mapping is never unmapped before unload, so the
 * process's mappings stay at one per heap however many times the
 * extension restarts.
 *
 * The headers live in the heap, so the extension can corrupt them; the
 * allocator checks every pointer it takes from a free list or from free()
 * against the mapping and the headers, and ignores (and counts) what it
 * cannot trust: a double or wild free never reaches the free lists.
 * Allocator code runs inside the extension's crossing, so a fault in it
 * is contained like any fault of the extension.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "extlib.h"
#include "nooks_internal.h"

#define HDR 16
#define MAGIC 0x6e6b6870u		/* "nkhp" */
#define NCLASS 48			/* the largest: 48 << 23 = 384 MiB */
#define BIG_CLASS 26			/* 256 KiB: freed blocks give pages back */
#define NK_HEAP_KEEP ((uintptr_t)1 << 20)	/* pages an emptied heap keeps */

enum { B_USED = 1, B_FREE = 2 };

struct hdr {
	uint32_t magic;
	uint8_t cls;
	uint8_t state;
	uint16_t pad;
	uint64_t off;			/* aligned block: bytes back to the real header */
};

struct nk_heap {
	pthread_mutex_t lock;
	struct nooks_domain *d;
	unsigned char *base;
	size_t size;
	uintptr_t top;			/* bump pointer */
	uintptr_t touched;		/* highest top since the last wipe */
	void *free[NCLASS];
	bool open;
	struct nooks_extlib_heap *x;	/* what extlib.c sees, if described */
	struct nooks_heap_stats st;
	struct nk_heap *next;		/* heaps list */
};

static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nk_heap *heaps;

/* 32, 48, 64, 96, 128, 192, ...: multiples of 16, header included */
static inline size_t class_size(unsigned c)
{
	return (size_t)(c % 2 ? 48 : 32) << (c / 2);
}

/* The smallest class whose blocks hold n bytes after the header. */
static int class_of(const struct nk_heap *h, size_t n)
{
	if (n > h->size - HDR)
		return -1;
	unsigned c = 0;
	while (c < NCLASS && class_size(c) - HDR < n)
		c++;
	return c < NCLASS && class_size(c) <= h->size ? (int)c : -1;
}

static inline bool in_heap(const struct nk_heap *h, uintptr_t p)
{
	return p >= (uintptr_t)h->base && p < h->top;
}

/* The real header of a user pointer, or NULL if p is no block of ours. */
static struct hdr *header_of(const struct nk_heap *h, const void *p)
{
	uintptr_t a = (uintptr_t)p;

	if (a % HDR || !in_heap(h, a) || a - (uintptr_t)h->base < HDR)
		return NULL;
	struct hdr *x = (struct hdr *)(a - HDR);
	if (x->magic != MAGIC)
		return NULL;
	if (x->off) {
		if (x->off % HDR || x->off > (uintptr_t)x - (uintptr_t)h->base)
			return NULL;
		x = (struct hdr *)((uintptr_t)x - x->off);
		if (x->magic != MAGIC)
			return NULL;
	}
	if (x->cls >= NCLASS || (uintptr_t)x + class_size(x->cls) > h->top)
		return NULL;
	return x;
}

/* A block of class c, from its free list or the bump pointer; the lock
 * is held. */
static struct hdr *take(struct nk_heap *h, unsigned c)
{
	void *p = h->free[c];

	if (p) {
		struct hdr *x = (struct hdr *)((uintptr_t)p - HDR);
		void *next;
		memcpy(&next, p, sizeof next);
		if ((uintptr_t)p % HDR || !in_heap(h, (uintptr_t)p) || x->magic != MAGIC ||
		    x->cls != c || x->state != B_FREE ||
		    (next && ((uintptr_t)next % HDR || !in_heap(h, (uintptr_t)next)))) {
			h->free[c] = NULL;	/* corrupted by the extension: drop the list */
			h->st.bad_frees++;
		} else {
			h->free[c] = next;
			return x;
		}
	}
	size_t sz = class_size(c);
	if (sz > (uintptr_t)h->base + h->size - h->top)
		return NULL;
	struct hdr *x = (struct hdr *)h->top;
	h->top += sz;
	if (h->top > h->touched)
		h->touched = h->top;
	x->magic = MAGIC;
	x->cls = (uint8_t)c;
	return x;
}

void *nk_heap_alloc(void *heap, size_t align, size_t n)
{
	struct nk_heap *h = heap;
	void *ret = NULL;

	if (align <= HDR)
		align = 0;
	if (align & (align - 1))
		return NULL;
	size_t need = n ? n : 1;
	if (align && need > SIZE_MAX - align - HDR)
		return NULL;
	if (align)
		need += align + HDR;
	pthread_mutex_lock(&h->lock);
	int c = h->open ? class_of(h, need) : -1;
	struct hdr *x = c >= 0 ? take(h, (unsigned)c) : NULL;
	if (!x) {
		h->st.failures++;
		goto out;
	}
	x->state = B_USED;
	x->off = 0;
	uintptr_t u = (uintptr_t)x + HDR;
	if (align && u % align) {
		u = (u + align - 1) & ~(uintptr_t)(align - 1);
		struct hdr *y = (struct hdr *)(u - HDR);
		y->magic = MAGIC;
		y->cls = x->cls;
		y->state = B_USED;
		y->off = (uintptr_t)y - (uintptr_t)x;
	}
	h->st.allocs++;
	h->st.in_use += class_size(x->cls);
	if (h->st.in_use > h->st.peak)
		h->st.peak = h->st.in_use;
	ret = (void *)u;
out:
	pthread_mutex_unlock(&h->lock);
	return ret;
}

void nk_heap_dealloc(void *heap, void *p)
{
	struct nk_heap *h = heap;

	if (!p)
		return;
	pthread_mutex_lock(&h->lock);
	struct hdr *x = h->open ? header_of(h, p) : NULL;
	if (!h->open) {
		/* closed: the previous copy's destructors; nothing to do */
	} else if (!x || x->state != B_USED) {
		h->st.bad_frees++;	/* wild or double free: ignored */
	} else {
		unsigned c = x->cls;
		void *body = (unsigned char *)x + HDR;
		x->state = B_FREE;
		x->off = 0;
		if (c >= BIG_CLASS) {
			/* give the pages of a big block back (the first page,
			 * holding the header and the link, stays) */
			uintptr_t a = ((uintptr_t)body + 4095) & ~(uintptr_t)4095;
			uintptr_t e = (uintptr_t)x + class_size(c);
			if (e > a + 4096)
				madvise((void *)(a + 4096), e - a - 4096, MADV_DONTNEED);
		}
		memcpy(body, &h->free[c], sizeof(void *));
		h->free[c] = body;
		h->st.frees++;
		h->st.in_use -= class_size(c);
	}
	pthread_mutex_unlock(&h->lock);
}

size_t nk_heap_usable(void *heap, const void *p)
{
	struct nk_heap *h = heap;
	size_t n = 0;

	if (!p)
		return 0;
	pthread_mutex_lock(&h->lock);
	struct hdr *x = h->open ? header_of(h, p) : NULL;
	if (x && x->state == B_USED)
		n = (uintptr_t)x + class_size(x->cls) - (uintptr_t)p;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void *nk_heap_realloc(void *heap, void *p, size_t n)
{
	if (!p)
		return nk_heap_alloc(heap, 0, n);
	if (n == 0) {
		nk_heap_dealloc(heap, p);
		return NULL;
	}
	size_t have = nk_heap_usable(heap, p);
	if (!have)
		return NULL;		/* not a live block: refuse */
	if (have >= n && have / 4 < n)
		return p;
	void *q = nk_heap_alloc(heap, 0, n);
	if (!q)
		return NULL;
	memcpy(q, p, have < n ? have : n);
	nk_heap_dealloc(heap, p);
	return q;
}

struct nk_heap *nk_heap_new(struct nooks_domain *d, size_t size)
{
	struct nk_heap *h = calloc(1, sizeof *h);

	if (!h)
		return NULL;
	if (!size)
		size = NK_HEAP_SIZE;
	h->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h->base == MAP_FAILED) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->d = d;
	h->size = size;
	h->top = h->touched = (uintptr_t)h->base;
	h->st.reserved = size;
	pthread_mutex_lock(&heaps_lock);
	h->next = heaps;
	heaps = h;
	pthread_mutex_unlock(&heaps_lock);
	return h;
}

/* Empties h: its lists start over, and its pages beyond the first
 * NK_HEAP_KEEP go back to the system (the first ones are kept: the next
 * copy of a restarted extension allocates them again at once, and giving
 * them back and faulting them in again was a good part of a recovery;
 * calloc zeroes what it hands out).  No thread of the domain may run
 * (recovery and unload guarantee it); one may have been unwound while
 * holding the lock, so it is made anew. */
static void wipe(struct nk_heap *h)
{
	uintptr_t keep = (uintptr_t)h->base + NK_HEAP_KEEP;
	if (h->touched > keep)
		madvise((void *)keep, h->touched - keep, MADV_DONTNEED);
	pthread_mutex_init(&h->lock, NULL);
	h->top = h->touched = (uintptr_t)h->base;
	memset(h->free, 0, sizeof h->free);
	h->st.in_use = 0;
	h->st.wipes++;
}

void nk_heap_close(struct nk_heap *h)
{
	if (!h || !h->open)
		return;
	h->open = false;
	if (h->x)
		h->x->open = 0;
	wipe(h);
}

int nk_heap_open(struct nk_heap *h)
{
	if (!h)
		return 0;
	nk_tracker_disallow(h->d, h->base);
	int rc = nk_tracker_allow(h->d, h->base, h->size, true);
	if (rc == 0) {
		h->open = true;
		if (h->x)
			h->x->open = 1;
	}
	return rc;
}

void nk_heap_free(struct nk_heap *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&heaps_lock);
	for (struct nk_heap **pp = &heaps; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	pthread_mutex_unlock(&heaps_lock);
	nk_tracker_disallow(h->d, h->base);
	munmap(h->base, h->size);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void nk_heap_release_domain(struct nooks_domain *d)
{
	pthread_mutex_lock(&heaps_lock);
	for (struct nk_heap *h = heaps; h; h = h->next)
		if (h->d == d)
			nk_heap_close(h);
	pthread_mutex_unlock(&heaps_lock);
}

void nk_heap_stats(const struct nk_heap *h, struct nooks_heap_stats *out)
{
	*out = h->st;
	out->touched = h->touched - (uintptr_t)h->base;
}

void nk_heap_describe(struct nk_heap *h, struct nooks_extlib_heap *x)
{
	x->alloc = nk_heap_alloc;
	x->free = nk_heap_dealloc;
	x->realloc = nk_heap_realloc;
	x->usable = nk_heap_usable;
	x->lo = (uintptr_t)h->base;
	x->hi = (uintptr_t)h->base + h->size;
	x->open = h->open;
	h->x = x;
	x->heap = h;
}
