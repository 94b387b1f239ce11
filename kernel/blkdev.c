/*
 * blkdev.c - block devices over image files and their buffer cache.
 *
 * A device (struct nk_bdev) is an image file opened read-write, with a
 * cache of blocks of the size the file system chose: a hash of
 * struct nk_buf by block number and an LRU list.  A buffer_head (nk/blkdev.h)
 * is one reference to a cached block, allocated in the object arena for
 * each sb_bread/sb_getblk, so that an isolated file system holds each of
 * its references as a tracked object, released once (brelse) or by
 * recovery.
 *
 * Block data lives in slots of two pages: the data ends where the first
 * page ends, and the second page is inaccessible, so a write past a
 * block's end faults at once (natively it kills the kernel; isolated,
 * the file system's domain is recovered).  Slots come in chunks of 32,
 * mapped as needed and unmapped with the device.  The chunks are memory
 * shared with the device's file system (nooks_shared_alloc): for a file
 * system in a process domain they are pages of its window, guarded in
 * its process (nooks_shared_guard).
 *
 * Dirty buffers are written when the VFS ends an operation on the mount
 * (nk_bdev_writeback: sorted, one pwritev per run of adjacent blocks),
 * or by sync_dirty_buffer/sync_blockdev.  A device whose file system
 * failed is closed with discard: nothing dirty is ever written, so the
 * image stays as the last completed operation left it.  Clean unused
 * buffers beyond NBUF_SOFT are evicted oldest first; buffers in use or
 * dirty are never evicted (the cache grows instead, up to NBUF_HARD).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "nooks_runtime.h"
#include "vfs_internal.h"

#define CHUNK_SLOTS	32
#define NBUF_SOFT	512
#define NBUF_HARD	16384
#define HASH_SIZE	1024
#define PAGE		4096

atomic_long nk_nr_buffers;
atomic_long nk_nr_bheads;
atomic_long nk_nr_bdevs;

struct nk_buf {
	struct nk_bdev *bdev;
	sector_t blk;
	char *data;
	int slot;
	int refs;
	int dirty, uptodate;
	struct nk_buf *hnext;
	struct nk_buf *lprev, *lnext;	/* LRU: head oldest */
};

struct chunk {
	struct chunk *next;
	char *mem;			/* CHUNK_SLOTS * 2 pages */
	int base;			/* first slot number */
};

struct nk_bdev {
	pthread_mutex_t lock;
	struct nooks_domain *d;		/* its file system's (NULL: native) */
	int fd;
	int ro;
	int closed;			/* the super block let go */
	int discard;			/* ... because its file system failed */
	long refs;			/* the super block + buffer heads */
	unsigned long long size;
	unsigned blocksize;
	struct nk_buf *hash[HASH_SIZE];
	struct nk_buf *lru_head, *lru_tail;
	long nbufs, ndirty;
	struct chunk *chunks;
	int nslots;
	int *free_slots, nfree;
};

static unsigned hashof(sector_t b)
{
	return (unsigned)((b * 0x9e3779b97f4a7c15ULL) >> 54) % HASH_SIZE;
}

static char *slot_data(struct nk_bdev *b, int slot)
{
	for (struct chunk *c = b->chunks; c; c = c->next)
		if (slot >= c->base && slot < c->base + CHUNK_SLOTS)
			return c->mem + (size_t)(slot - c->base) * 2 * PAGE + PAGE - b->blocksize;
	return NULL;
}

#define CHUNK_SIZE ((size_t)CHUNK_SLOTS * 2 * PAGE)

/* A free slot, mapping a chunk (with its guard pages) when none is left.
 * The chunk is memory the device's file system shares with the kernel
 * (nooks_shared_alloc: in a process domain's window, the same address
 * on both sides). */
static int get_slot(struct nk_bdev *b)
{
	if (b->nfree)
		return b->free_slots[--b->nfree];
	if (b->nslots >= NBUF_HARD)
		return -1;
	struct chunk *c = malloc(sizeof(*c));
	int *fs = realloc(b->free_slots, (size_t)(b->nslots + CHUNK_SLOTS) * sizeof(int));
	if (fs)
		b->free_slots = fs;
	char *mem = nooks_shared_alloc(b->d, CHUNK_SIZE);
	if (!c || !fs || !mem) {
		free(c);
		nooks_shared_free(b->d, mem, CHUNK_SIZE);
		return -1;
	}
	for (int i = 0; i < CHUNK_SLOTS; i++)
		if (nooks_shared_guard(b->d, mem + (size_t)i * 2 * PAGE + PAGE, PAGE)) {
			nooks_shared_free(b->d, mem, CHUNK_SIZE);
			free(c);
			return -1;
		}
	c->mem = mem;
	c->base = b->nslots;
	c->next = b->chunks;
	b->chunks = c;
	for (int i = CHUNK_SLOTS - 1; i > 0; i--)
		b->free_slots[b->nfree++] = b->nslots + i;
	b->nslots += CHUNK_SLOTS;
	return c->base;
}

static void free_chunks(struct nk_bdev *b)
{
	while (b->chunks) {
		struct chunk *c = b->chunks;
		b->chunks = c->next;
		nooks_shared_free(b->d, c->mem, CHUNK_SIZE);
		free(c);
	}
	b->nslots = b->nfree = 0;
}

static void lru_unlink(struct nk_bdev *b, struct nk_buf *x)
{
	if (!x->lprev && b->lru_head != x)
		return;		/* not in the list */
	if (x->lprev)
		x->lprev->lnext = x->lnext;
	else
		b->lru_head = x->lnext;
	if (x->lnext)
		x->lnext->lprev = x->lprev;
	else
		b->lru_tail = x->lprev;
	x->lprev = x->lnext = NULL;
}

static void lru_touch(struct nk_bdev *b, struct nk_buf *x)
{
	lru_unlink(b, x);
	x->lprev = b->lru_tail;
	if (b->lru_tail)
		b->lru_tail->lnext = x;
	else
		b->lru_head = x;
	b->lru_tail = x;
}

static void buf_free(struct nk_bdev *b, struct nk_buf *x)
{
	struct nk_buf **pp = &b->hash[hashof(x->blk)];
	while (*pp != x)
		pp = &(*pp)->hnext;
	*pp = x->hnext;
	lru_unlink(b, x);
	if (x->dirty)
		b->ndirty--;
	b->free_slots[b->nfree++] = x->slot;
	b->nbufs--;
	atomic_fetch_sub(&nk_nr_buffers, 1);
	free(x);
}

static struct nk_buf *lookup(struct nk_bdev *b, sector_t blk)
{
	for (struct nk_buf *x = b->hash[hashof(blk)]; x; x = x->hnext)
		if (x->blk == blk)
			return x;
	return NULL;
}

static void evict(struct nk_bdev *b)
{
	struct nk_buf *x = b->lru_head;
	while (b->nbufs >= NBUF_SOFT && x) {
		struct nk_buf *next = x->lnext;
		if (!x->refs && !x->dirty)
			buf_free(b, x);
		x = next;
	}
}

/* The cached block, made (not read) if absent; under b->lock. */
static struct nk_buf *get_buf(struct nk_bdev *b, sector_t blk)
{
	struct nk_buf *x = lookup(b, blk);
	if (x) {
		lru_touch(b, x);
		return x;
	}
	evict(b);
	x = calloc(1, sizeof(*x));
	int slot = x ? get_slot(b) : -1;
	if (slot < 0) {
		free(x);
		return NULL;
	}
	x->bdev = b;
	x->blk = blk;
	x->slot = slot;
	x->data = slot_data(b, slot);
	x->hnext = b->hash[hashof(blk)];
	b->hash[hashof(blk)] = x;
	lru_touch(b, x);
	b->nbufs++;
	atomic_fetch_add(&nk_nr_buffers, 1);
	return x;
}

static int read_full(int fd, void *buf, size_t len, off_t pos)
{
	char *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {		/* a short image: zeros */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		len -= (size_t)n;
		pos += n;
	}
	return 0;
}

static int fill(struct nk_bdev *b, struct nk_buf *x)
{
	if (x->uptodate)
		return 0;
	int r = read_full(b->fd, x->data, b->blocksize, (off_t)(x->blk * b->blocksize));
	if (!r)
		x->uptodate = 1;
	return r;
}

static void mark_dirty(struct nk_bdev *b, struct nk_buf *x)
{
	if (!x->dirty) {
		x->dirty = 1;
		b->ndirty++;
	}
}

/* ---- the device ----------------------------------------------------------- */

struct nk_bdev *nk_bdev_open(const char *path, int ro, struct nooks_domain *d)
{
	int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		int e = S_ISREG(st.st_mode) ? errno : ENOTBLK;
		close(fd);
		errno = e;
		return NULL;
	}
	struct nk_bdev *b = calloc(1, sizeof(*b));
	if (!b) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&b->lock, NULL);
	b->fd = fd;
	b->ro = ro;
	b->d = d;
	b->size = (unsigned long long)st.st_size;
	b->blocksize = 512;
	b->refs = 1;
	atomic_fetch_add(&nk_nr_bdevs, 1);
	return b;
}

unsigned long long nk_bdev_size(const struct nk_bdev *b)
{
	return b->size;
}

static void drop_all(struct nk_bdev *b)
{
	while (b->lru_head)
		buf_free(b, b->lru_head);
}

static void destroy(struct nk_bdev *b)
{
	drop_all(b);
	free_chunks(b);
	free(b->free_slots);
	close(b->fd);
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_destroy(&b->lock);
	free(b);
	atomic_fetch_sub(&nk_nr_bdevs, 1);
}

/* Drops a reference, under b->lock (which it releases). */
static void put_locked(struct nk_bdev *b)
{
	if (--b->refs == 0)
		destroy(b);
	else
		pthread_mutex_unlock(&b->lock);
}

static int cmp_buf(const void *a, const void *b)
{
	const struct nk_buf *x = *(struct nk_buf *const *)a, *y = *(struct nk_buf *const *)b;
	return x->blk < y->blk ? -1 : x->blk > y->blk;
}

static int writeback_locked(struct nk_bdev *b)
{
	if (!b->ndirty || b->discard)
		return 0;
	struct nk_buf **v = malloc((size_t)b->ndirty * sizeof(*v));
	if (!v)
		return -ENOMEM;
	long n = 0;
	for (struct nk_buf *x = b->lru_head; x; x = x->lnext)
		if (x->dirty)
			v[n++] = x;
	qsort(v, (size_t)n, sizeof(*v), cmp_buf);
	int r = 0;
	for (long i = 0; i < n;) {
		struct iovec iov[IOV_MAX < 256 ? IOV_MAX : 256];
		long j = i;
		int k = 0;
		while (j < n && k < (int)(sizeof(iov) / sizeof(iov[0])) &&
		       (j == i || v[j]->blk == v[j - 1]->blk + 1)) {
			iov[k].iov_base = v[j]->data;
			iov[k++].iov_len = b->blocksize;
			j++;
		}
		off_t pos = (off_t)(v[i]->blk * b->blocksize);
		size_t want = (size_t)k * b->blocksize;
		ssize_t w = pwritev(b->fd, iov, k, pos);
		if (w != (ssize_t)want) {
			r = -EIO;	/* left dirty: tried again at the next writeback */
		} else {
			for (long t = i; t < j; t++) {
				v[t]->dirty = 0;
				b->ndirty--;
			}
		}
		i = j;
	}
	free(v);
	return r;
}

int nk_bdev_writeback(struct nk_bdev *b)
{
	pthread_mutex_lock(&b->lock);
	int r = writeback_locked(b);
	pthread_mutex_unlock(&b->lock);
	return r;
}

int nk_bdev_flush(struct nk_bdev *b)
{
	int r = nk_bdev_writeback(b);
	if (!r && !b->ro && fdatasync(b->fd))
		r = -errno;
	return r;
}

void nk_bdev_close(struct nk_bdev *b, int discard)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->closed = 1;
	if (discard)
		b->discard = 1;
	else
		writeback_locked(b);
	put_locked(b);
}

/* ---- buffer heads ----------------------------------------------------------- */

static struct nk_bdev *bdev_of(struct super_block *sb)
{
	struct nk_super *s = nk_sb(sb);
	return s ? s->bdev : NULL;
}

static struct buffer_head *get_bh(struct super_block *sb, sector_t block, int read)
{
	struct nk_bdev *b = bdev_of(sb);
	if (!b)
		return NULL;
	pthread_mutex_lock(&b->lock);
	if (b->closed || (block + 1) * b->blocksize > b->size) {
		pthread_mutex_unlock(&b->lock);
		return NULL;
	}
	struct nk_buf *x = get_buf(b, block);
	struct buffer_head *bh = x ? nooks_arena_alloc(sizeof(*bh)) : NULL;
	if (!bh)
		goto fail;
	if (read) {
		if (fill(b, x))
			goto fail;
	} else if (!x->uptodate) {
		memset(x->data, 0, b->blocksize);
		x->uptodate = 1;
	}
	x->refs++;
	b->refs++;
	bh->b_blocknr = block;
	bh->b_size = b->blocksize;
	bh->b_data = x->data;
	bh->kpriv = x;
	atomic_fetch_add(&nk_nr_bheads, 1);
	pthread_mutex_unlock(&b->lock);
	return bh;
fail:
	if (bh)
		nooks_arena_free(bh);
	if (x && !x->refs && !x->dirty && !x->uptodate)
		buf_free(b, x);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

struct buffer_head *sb_bread(struct super_block *sb, sector_t block)
{
	return get_bh(sb, block, 1);
}

struct buffer_head *sb_getblk(struct super_block *sb, sector_t block)
{
	return get_bh(sb, block, 0);
}

void brelse(struct buffer_head *bh)
{
	if (!bh)
		return;
	struct nk_buf *x = bh->kpriv;
	struct nk_bdev *b = x->bdev;
	nooks_arena_free(bh);
	atomic_fetch_sub(&nk_nr_bheads, 1);
	pthread_mutex_lock(&b->lock);
	x->refs--;
	if (!x->refs && b->closed)
		buf_free(b, x);
	put_locked(b);
}

void mark_buffer_dirty(struct buffer_head *bh)
{
	if (!bh)
		return;
	struct nk_buf *x = bh->kpriv;
	struct nk_bdev *b = x->bdev;
	pthread_mutex_lock(&b->lock);
	if (!b->ro)
		mark_dirty(b, x);
	pthread_mutex_unlock(&b->lock);
}

int sync_dirty_buffer(struct buffer_head *bh)
{
	if (!bh)
		return -EINVAL;
	struct nk_buf *x = bh->kpriv;
	struct nk_bdev *b = x->bdev;
	int r = 0;
	pthread_mutex_lock(&b->lock);
	if (x->dirty && !b->discard) {
		if (pwrite(b->fd, x->data, b->blocksize, (off_t)(x->blk * b->blocksize)) !=
		    (ssize_t)b->blocksize) {
			r = -EIO;
		} else {
			x->dirty = 0;
			b->ndirty--;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

int sb_set_blocksize(struct super_block *sb, int size)
{
	struct nk_bdev *b = bdev_of(sb);
	if (!b || size < 512 || size > 4096 || (size & (size - 1)))
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	if ((unsigned)size != b->blocksize) {
		for (struct nk_buf *x = b->lru_head; x; x = x->lnext)
			if (x->refs) {
				pthread_mutex_unlock(&b->lock);
				return -EBUSY;
			}
		writeback_locked(b);
		drop_all(b);
		b->blocksize = (unsigned)size;
		/* slots keep their data at the end of the page: remap */
		free_chunks(b);
	}
	pthread_mutex_unlock(&b->lock);
	sb->s_blocksize = (unsigned long)size;
	return size;
}

int sync_blockdev(struct super_block *sb)
{
	struct nk_bdev *b = bdev_of(sb);
	return b ? nk_bdev_flush(b) : -EINVAL;
}

ssize_t nk_bdev_read(struct super_block *sb, loff_t pos, void *buf, size_t len)
{
	struct nk_bdev *b = bdev_of(sb);
	if (!b || pos < 0 || (!buf && len))
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	if ((unsigned long long)pos >= b->size) {
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	if (len > b->size - (unsigned long long)pos)
		len = (size_t)(b->size - (unsigned long long)pos);
	char *out = buf;
	size_t done = 0;
	unsigned bs = b->blocksize;
	int r = 0;
	while (done < len && !r) {
		unsigned long long p = (unsigned long long)pos + done;
		sector_t blk = p / bs;
		struct nk_buf *x = lookup(b, blk);
		if (x && x->uptodate) {
			size_t off = (size_t)(p % bs), n = bs - off;
			if (n > len - done)
				n = len - done;
			memcpy(out + done, x->data + off, n);
			done += n;
			continue;
		}
		/* a run of blocks not cached: straight from the image */
		size_t n = bs - (size_t)(p % bs);
		while (done + n < len && !lookup(b, (p + n) / bs))
			n += bs;
		if (n > len - done)
			n = len - done;
		r = read_full(b->fd, out + done, n, (off_t)p);
		done += n;
	}
	pthread_mutex_unlock(&b->lock);
	return r ? r : (ssize_t)done;
}

ssize_t nk_bdev_write(struct super_block *sb, loff_t pos, const void *buf, size_t len)
{
	struct nk_bdev *b = bdev_of(sb);
	if (!b || pos < 0 || (!buf && len))
		return -EINVAL;
	if (b->ro)
		return -EROFS;
	pthread_mutex_lock(&b->lock);
	if ((unsigned long long)pos >= b->size) {
		pthread_mutex_unlock(&b->lock);
		return len ? -ENOSPC : 0;
	}
	if (len > b->size - (unsigned long long)pos)
		len = (size_t)(b->size - (unsigned long long)pos);
	const char *in = buf;
	size_t done = 0;
	unsigned bs = b->blocksize;
	int r = 0;
	while (done < len) {
		unsigned long long p = (unsigned long long)pos + done;
		size_t off = (size_t)(p % bs), n = bs - off;
		if (n > len - done)
			n = len - done;
		struct nk_buf *x = get_buf(b, p / bs);
		if (!x) {
			r = -ENOMEM;
			break;
		}
		if (n < bs && (r = fill(b, x)))
			break;
		memcpy(x->data + off, in + done, n);
		x->uptodate = 1;
		mark_dirty(b, x);
		done += n;
	}
	pthread_mutex_unlock(&b->lock);
	return done ? (ssize_t)done : r;
}
