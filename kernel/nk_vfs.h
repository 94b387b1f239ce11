/*
 * nk_vfs.h - the file-system switch as the kernel program sees it: mount
 * and unmount, and the path operations a bridge (nkernel's FUSE bridge,
 * the kernel tests) calls on a mount.  Not for extensions (nk/vfs.h is
 * theirs).  kernel/vfs.c; docs/fatfs.md.
 *
 * Each operation runs under the mount's lock (one at a time per mount)
 * and writes the buffers it dirtied back to the device when it returns.
 * When the file system fails during it (the call returns its fault value
 * and its domain is down), the operation waits for the kernel to mount
 * the device again on the restarted file system (at most
 * nk_vfs_set_recovery_wait() ms) and runs once more; open files and
 * directories are opened again on the new instance first.
 */
#ifndef NK_VFS_KERNEL_H
#define NK_VFS_KERNEL_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct nk_mount;
struct nk_handle;		/* an open file or directory */

/* Mounts device (an image file) with the registered file system type;
 * opts go to it (NULL: none); ro: read-only.  0 and *out, or -errno and
 * a reason in err. */
int nk_vfs_mount(const char *type, const char *device, const char *opts, int ro,
		 struct nk_mount **out, char *err, size_t errlen);
/* Unmounts: the file system's kill_sb, the dirty buffers written, the
 * device closed (or, without a file system, just closed). */
void nk_vfs_umount(struct nk_mount *m);
/* "live", "waiting" (its file system failed or was unloaded) or "given
 * up" (it did not come back in time); the type, device and options. */
const char *nk_vfs_mount_state(struct nk_mount *m);
const char *nk_vfs_mount_type(struct nk_mount *m);
const char *nk_vfs_mount_device(struct nk_mount *m);
unsigned long nk_vfs_mount_generation(struct nk_mount *m);

int nk_vfs_getattr(struct nk_mount *m, const char *path, struct stat *st);
int nk_vfs_mkdir(struct nk_mount *m, const char *path, mode_t mode);
int nk_vfs_unlink(struct nk_mount *m, const char *path);
int nk_vfs_rmdir(struct nk_mount *m, const char *path);
int nk_vfs_rename(struct nk_mount *m, const char *from, const char *to, unsigned flags);
/* ia_valid of nk/vfs.h's struct iattr: NK_ATTR_SIZE, _MTIME, _MODE */
int nk_vfs_setattr(struct nk_mount *m, const char *path, unsigned valid, mode_t mode,
		   off_t size, time_t mtime);
int nk_vfs_statfs(struct nk_mount *m, struct statvfs *st);

int nk_vfs_open(struct nk_mount *m, const char *path, int flags, struct nk_handle **h);
int nk_vfs_create(struct nk_mount *m, const char *path, mode_t mode, int flags,
		  struct nk_handle **h);
ssize_t nk_vfs_read(struct nk_mount *m, struct nk_handle *h, char *buf, size_t size, off_t off);
ssize_t nk_vfs_write(struct nk_mount *m, struct nk_handle *h, const char *buf, size_t size,
		     off_t off);
int nk_vfs_fsync(struct nk_mount *m, struct nk_handle *h, int datasync);
int nk_vfs_release(struct nk_mount *m, struct nk_handle *h);

int nk_vfs_opendir(struct nk_mount *m, const char *path, struct nk_handle **h);
/* From offset off: emit(arg, name, ino, dtype, next) for each entry until
 * it returns non-zero (full); next is the offset after the entry. */
int nk_vfs_readdir(struct nk_mount *m, struct nk_handle *h, off_t off,
		   int (*emit)(void *arg, const char *name, unsigned long ino, unsigned dtype,
			       off_t next),
		   void *arg);

/* How long an operation waits for its failed file system (default 10000). */
void nk_vfs_set_recovery_wait(unsigned ms);

struct nk_vfs_stats {
	long types;		/* registered file system types */
	long mounts;
	long waiting;		/* mounts without their file system */
	long inodes;
	long dentries;
	long handles;		/* open files and directories */
	long buffers;		/* cached blocks */
	long bheads;		/* buffer heads held by file systems */
	long bdevs;		/* devices open */
	long remounts;		/* mounts made again on a restarted file system */
	long reopened;		/* handles opened again on it */
	long retried;		/* operations run again after a failure */
};
void nk_vfs_stats(struct nk_vfs_stats *out);

#ifdef __cplusplus
}
#endif

#endif
