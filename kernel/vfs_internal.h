/*
 * vfs_internal.h - what vfs.c and blkdev.c share and nothing else sees:
 * the kernel's half of a super block and its device.
 */
#ifndef NK_VFS_INTERNAL_H
#define NK_VFS_INTERNAL_H

#include <stdatomic.h>

#include "nk/blkdev.h"
#include "nk/vfs.h"

#pragma GCC visibility push(hidden)

struct nk_bdev;
struct nk_mount;
struct nk_dent;

/* sb->kpriv */
struct nk_super {
	unsigned magic;
	struct nk_mount *mount;
	struct nk_bdev *bdev;
	struct nk_dent *root;
	unsigned long next_ino;
	int mounting;			/* inside ops->mount: d_make_root allowed */
};

/* Live objects, for nk_vfs_stats(). */
extern atomic_long nk_nr_buffers;	/* cached blocks */
extern atomic_long nk_nr_bheads;	/* buffer heads handed out */
extern atomic_long nk_nr_bdevs;

/* blkdev.c: a device on the image file path (read-only if ro); NULL and
 * errno on failure.  The super block holds one reference; each buffer
 * head another.  d: the domain of the file system that mounts it (its
 * block cache is shared with it: nooks_shared_alloc), NULL if native. */
struct nk_bdev *nk_bdev_open(const char *path, int ro, struct nooks_domain *d);
/* Drops the super block's reference: closes the device once its last
 * buffer head is released.  discard: the instance failed: what is dirty
 * is dropped, never written. */
void nk_bdev_close(struct nk_bdev *b, int discard);
unsigned long long nk_bdev_size(const struct nk_bdev *b);
/* Writes what is dirty (one write per run of blocks); -EIO on error. */
int nk_bdev_writeback(struct nk_bdev *b);
int nk_bdev_flush(struct nk_bdev *b);	/* writeback, then fdatasync */

static inline struct nk_super *nk_sb(const struct super_block *sb)
{
	return sb ? (struct nk_super *)sb->kpriv : NULL;
}

#pragma GCC visibility pop

#endif
