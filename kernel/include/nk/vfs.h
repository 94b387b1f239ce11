/*
 * nk/vfs.h - the file-system switch: what a file system (an extension)
 * gives the kernel and what it calls of it, modelled on Linux's VFS and
 * as small as a FAT driver needs.  idl/nk/vfs.idl annotates it;
 * docs/fatfs.md describes the model.
 *
 * A file system allocates its struct file_system_type, points its ops at
 * its file_system_ops and registers it.  The kernel mounts it (nkctl
 * mount TYPE DEVICE DIR): it opens the device (an image file) and calls
 * ops->mount(fs, sb, data, silent), which reads the super block through
 * the buffer cache (nk/blkdev.h), sets sb->s_op, makes the root inode
 * and hands it over with d_make_root().  Lookups, creates and directory
 * operations go through the inode's i_op, opened files through its
 * i_fop, the super block's life through its s_op.
 *
 * Every table the kernel calls is handed to it by a kernel call (an
 * isolated file system's is then called through extension wrappers):
 *   sb->s_op     by the first new_inode(sb) (in Linux new_inode() calls
 *                sb->s_op->alloc_inode: s_op must be set before it);
 *   inode->i_op  by insert_inode_hash(inode);
 *   inode->i_fop by d_instantiate(dentry, inode) or d_make_root(inode).
 *
 * Objects.  The kernel owns super blocks, dentries, open files and
 * directory contexts; a file system sees them during a call.  An inode
 * comes from new_inode() and is the file system's until d_instantiate()
 * or d_make_root() gives it to the kernel, which holds it from then on
 * (and calls s_op->evict_inode when it drops it).  Nothing of the kernel
 * may be kept across calls: private data goes in s_fs_info, i_private and
 * private_data.
 *
 * One call at a time per mount: the kernel serialises the operations on
 * a mounted file system, and writes what an operation dirtied in the
 * buffer cache back to the device when it returns.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef NK_VFS_H
#define NK_VFS_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NK_NAME_MAX		255	/* a name in a directory */
#define NK_FS_NAME_MAX		16	/* "vfat" */
#define NK_MOUNT_DATA_MAX	256	/* mount options */

/* dir_emit()'s types, as in Linux (i_mode's are <sys/stat.h>'s) */
#define NK_DT_DIR	4
#define NK_DT_REG	8

/* super_block.s_flags */
#define NK_SB_RDONLY	1

struct super_block;
struct inode;
struct dentry;
struct nk_file;
struct dir_context;
struct file_system_type;

/* What statfs fills in (struct statvfs's essentials). */
struct kstatfs {
	unsigned long f_bsize;		/* allocation unit (a cluster), bytes */
	unsigned long long f_blocks;	/* units in all */
	unsigned long long f_bfree;	/* free units */
	unsigned long long f_files;	/* inodes in all (0: unknown) */
	unsigned long long f_ffree;
	unsigned long f_namelen;	/* longest name */
};

/* setattr's request: the fields ia_valid names. */
#define NK_ATTR_MODE	1
#define NK_ATTR_SIZE	2
#define NK_ATTR_MTIME	4
struct iattr {
	unsigned int ia_valid;
	unsigned int ia_mode;
	long long ia_size;
	long long ia_mtime;		/* seconds since the epoch */
};

/* The type a file system registers ("vfat"). */
struct file_system_ops {
	/* Fills sb from the device (Linux's mount() and its fill_super in
	 * one): sets its block size, s_op, s_fs_info, and gives the root
	 * inode to d_make_root().  data: the mount options, or NULL;
	 * silent: do not log a device that is not this file system's. */
	int (*mount)(struct file_system_type *fs, struct super_block *sb,
		     const char *data, int silent);
	/* Unmount: frees what sb holds (s_fs_info); its inodes were evicted
	 * and the buffers it dirtied written already. */
	void (*kill_sb)(struct file_system_type *fs, struct super_block *sb);
};

struct file_system_type {
	char name[NK_FS_NAME_MAX];		/* from alloc_filesystem() */
	int fs_flags;				/* NK_FS_* */
	const struct file_system_ops *ops;	/* set by the owner */
	void *private_data;			/* the owner's */
	void *kpriv;				/* the kernel's */
};

/* fs_flags: names compare ignoring ASCII case (FAT's) */
#define NK_FS_CASEFOLD	1

struct super_operations {
	/* The kernel drops an inode (unlinked, or at unmount): free what
	 * i_private holds; i_nlink 0 says the file is gone. */
	void (*evict_inode)(struct super_block *sb, struct inode *inode);
	int (*statfs)(struct super_block *sb, struct kstatfs *buf);
	/* Write what is only in memory (Linux: sync_fs); the kernel then
	 * writes the dirty buffers. */
	int (*sync_fs)(struct super_block *sb, int wait);
};

struct super_block {
	char s_id[32];				/* the device, shortened */
	unsigned long s_blocksize;		/* sb_set_blocksize(); 512 at mount */
	unsigned long long s_bdev_size;		/* the device, bytes */
	unsigned long s_flags;			/* NK_SB_* */
	unsigned long s_magic;			/* the file system's */
	long long s_maxbytes;			/* largest file */
	const struct super_operations *s_op;	/* set before new_inode() */
	void *s_fs_info;			/* the file system's */
	void *kpriv;				/* the kernel's */
};

/*
 * Each entry of these two tables gets the super block first: Linux's
 * inode->i_sb is a pointer into the kernel, which an isolated file system
 * cannot follow (it sees its objects as copies for the length of a call).
 */
struct inode_operations {
	/* Finds dentry->d_name in dir: 0 after d_instantiate(dentry, inode),
	 * or -ENOENT. */
	int (*lookup)(struct super_block *sb, struct inode *dir, struct dentry *dentry);
	/* Creates a file (create) or directory (mkdir) named by dentry and
	 * instantiates dentry with its inode. */
	int (*create)(struct super_block *sb, struct inode *dir, struct dentry *dentry,
		      unsigned int mode, bool excl);
	int (*mkdir)(struct super_block *sb, struct inode *dir, struct dentry *dentry,
		     unsigned int mode);
	/* Removes the entry; the kernel then drops the dentry and evicts the
	 * inode.  rmdir: -ENOTEMPTY unless the directory is empty. */
	int (*unlink)(struct super_block *sb, struct inode *dir, struct dentry *dentry);
	int (*rmdir)(struct super_block *sb, struct inode *dir, struct dentry *dentry);
	/* Moves old_dentry to new_dentry, replacing what is there (a file by
	 * a file, an empty directory by a directory). flags: 0 or
	 * NK_RENAME_NOREPLACE. */
	int (*rename)(struct super_block *sb, struct inode *old_dir, struct dentry *old_dentry,
		      struct inode *new_dir, struct dentry *new_dentry, unsigned int flags);
	/* Changes what attr->ia_valid names (size: truncate or extend). */
	int (*setattr)(struct super_block *sb, struct inode *inode, const struct iattr *attr);
};
#define NK_RENAME_NOREPLACE	1

/*
 * An opened file.  Unlike Linux's file_operations each entry gets the
 * inode too: the kernel finds the table through it (inode->i_fop).
 */
struct file_operations {
	int (*open)(struct super_block *sb, struct inode *inode, struct nk_file *file);
	/* At pos, up to count bytes: bytes read (0 at the end), -errno. */
	ssize_t (*read)(struct super_block *sb, struct inode *inode, struct nk_file *file,
			char *buf, size_t count, loff_t pos);
	/* At pos (extending the file past its end): bytes written, -errno;
	 * sets i_size and i_mtime. */
	ssize_t (*write)(struct super_block *sb, struct inode *inode, struct nk_file *file,
			 const char *buf, size_t count, loff_t pos);
	int (*fsync)(struct super_block *sb, struct inode *inode, struct nk_file *file,
		     int datasync);
	/* Directories: from ctx->pos, dir_emit() for each entry with ctx->pos
	 * that entry's position, until dir_emit() says stop; ctx->pos after
	 * the last entry at the end. */
	int (*iterate)(struct super_block *sb, struct inode *inode, struct nk_file *file,
		       struct dir_context *ctx);
	int (*release)(struct super_block *sb, struct inode *inode, struct nk_file *file);
};

struct inode {
	unsigned long i_ino;			/* new_inode() numbers it */
	unsigned int i_mode;			/* S_IFDIR or S_IFREG | permissions */
	unsigned int i_nlink;
	long long i_size;
	long long i_mtime;			/* seconds since the epoch */
	const struct inode_operations *i_op;
	const struct file_operations *i_fop;
	void *i_private;			/* the file system's */
	void *kpriv;				/* the kernel's */
};

struct dentry {
	char d_name[NK_NAME_MAX + 1];		/* the name in its directory */
	void *kpriv;				/* the kernel's */
};

/* An open file (Linux's struct file; nk/fs.h has the host files'). */
struct nk_file {
	unsigned int f_flags;			/* O_RDONLY, O_WRONLY, O_RDWR, O_APPEND... */
	void *private_data;			/* the file system's */
	void *kpriv;				/* the kernel's */
};

struct dir_context {
	long long pos;				/* the file system's position */
	void *kpriv;				/* the kernel's */
};

/* A new file_system_type named name (at most 15 characters), or NULL. */
struct file_system_type *alloc_filesystem(const char *name);
void free_filesystem(struct file_system_type *fs);
/* Makes fs mountable: 0, -EINVAL (no ops), -EBUSY (the name is taken).
 * Mounts of this type left without a file system (its previous
 * instance failed or was unloaded) are mounted again on it before this
 * returns. */
int register_filesystem(struct file_system_type *fs);
/* Its mounts stay, waiting for the type to come back (unmounted
 * cleanly first, when fs's module calls this itself). */
int unregister_filesystem(struct file_system_type *fs);

/* A new inode of sb (i_nlink 1, numbered), the caller's until it is
 * instantiated; NULL on failure.  The first one takes sb->s_op. */
struct inode *new_inode(struct super_block *sb);
/* Frees an inode that was never instantiated. */
void iput(struct inode *inode);
/* The inode is built: its i_op becomes the kernel's. */
int insert_inode_hash(struct inode *inode);
/* Gives inode (hashed) to dentry and to the kernel, i_fop with it; the
 * caller must not use inode afterwards. */
int d_instantiate(struct dentry *dentry, struct inode *inode);
/* The same for the root directory of the super block being mounted. */
int d_make_root(struct inode *root);
/* One directory entry for iterate: true to go on, false when the
 * kernel's buffer is full (the entry was not taken; ctx->pos must stay
 * at it). */
bool dir_emit(struct dir_context *ctx, const char *name, int namelen, unsigned long ino,
	      unsigned int type);

#ifdef __cplusplus
}
#endif

#endif
