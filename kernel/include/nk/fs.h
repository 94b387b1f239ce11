/*
 * nk/fs.h - reading files, for extensions that serve them.
 * idl/nk/fs.idl annotates it.
 */
#ifndef NK_FS_H
#define NK_FS_H

#include "nk/core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct socket;

#define NK_PATH_MAX	4096

/* kstat.mode's file types */
#define NK_S_IFREG	1
#define NK_S_IFDIR	2
#define NK_S_IFOTHER	3

struct kstat {
	long long size;
	long long mtime;	/* seconds since the epoch */
	unsigned int mode;	/* NK_S_* */
};

struct file {
	long long size;		/* at open */
	unsigned int mode;	/* NK_S_* */
	void *kpriv;		/* the kernel's */
};

/* The canonical absolute path of path (symbolic links, "." and ".."
 * resolved) in buf: its length, or -ENOENT, -ENAMETOOLONG, -EACCES. */
int kern_path_resolve(const char *path, char *buf, size_t len);
/* Information about path (following symbolic links): 0 or -errno. */
int vfs_stat(const char *path, struct kstat *st);
/* Opens path for reading in *res: 0, or -ENOENT, -EACCES, -EISDIR... */
int filp_open(const char *path, struct file **res);
/* Reads up to count bytes at pos: bytes read, 0 at end, or -errno. */
ssize_t kernel_read(struct file *file, void *buf, size_t count, loff_t pos);
/* Sends count bytes of file from pos to a socket (like sendfile):
 * bytes sent, or -errno. */
ssize_t kernel_sendfile(struct socket *sock, struct file *file, loff_t pos, size_t count);
void fput(struct file *file);

#ifdef __cplusplus
}
#endif

#endif
