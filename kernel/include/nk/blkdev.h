/*
 * nk/blkdev.h - the block device under a mounted file system (an image
 * file) and its buffer cache, after Linux's buffer heads.
 * idl/nk/blkdev.idl annotates it.
 *
 * sb_bread() gives a buffer_head: one reference to the cached block,
 * whose b_data the file system reads and writes in place; it marks the
 * buffer dirty after writing and releases its reference with brelse().
 * Each call gives a head of its own (two reads of one block give two
 * heads on the same data), so each is released once.  Dirty buffers are
 * written to the device when the kernel's operation on the mount returns
 * (or by sync_dirty_buffer, sync_blockdev); a file system that fails in
 * the middle of an operation leaves the device as it was before it.
 *
 * A buffer's data ends at a page boundary followed by an inaccessible
 * page: writing past its end faults at once.
 */
#ifndef NK_BLKDEV_H
#define NK_BLKDEV_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned long long sector_t;

struct super_block;

struct buffer_head {
	sector_t b_blocknr;		/* in units of the block size */
	unsigned int b_size;		/* the block size */
	char *b_data;			/* b_size bytes */
	void *kpriv;			/* the kernel's */
};

/* Block `block` of sb's device, read if not cached; NULL past the end of
 * the device or on a read error. */
struct buffer_head *sb_bread(struct super_block *sb, sector_t block);
/* The same without reading it from the device when it is not cached
 * (zeroed instead): for a block about to be written in full. */
struct buffer_head *sb_getblk(struct super_block *sb, sector_t block);
void brelse(struct buffer_head *bh);
void mark_buffer_dirty(struct buffer_head *bh);
/* Writes the buffer now if it is dirty: 0 or -EIO. */
int sync_dirty_buffer(struct buffer_head *bh);
/* The block size of sb's device: a power of two from 512 to 4096 (-EINVAL
 * otherwise); drops what is cached.  Returns the size. */
int sb_set_blocksize(struct super_block *sb, int size);
/* Writes every dirty buffer of sb's device and flushes the device. */
int sync_blockdev(struct super_block *sb);

/*
 * File data in bulk, at byte offset pos of the device: what is cached
 * comes from the cache, the rest straight from the device (not cached);
 * a write goes through the cache like any dirty buffer.  Bytes read or
 * written (short only at the end of the device), or -errno.
 */
ssize_t nk_bdev_read(struct super_block *sb, loff_t pos, void *buf, size_t len);
ssize_t nk_bdev_write(struct super_block *sb, loff_t pos, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
