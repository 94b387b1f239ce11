/*
 * fuse.c - nkernel's FUSE bridge: each mount of the file-system switch
 * (kernel/vfs.c) is exposed at a directory of the host through libfuse3's
 * high-level (path) API, so that ordinary programs use it.
 *
 * One thread per mount reads the FUSE device and serves one request at a
 * time (the VFS serialises a mount's operations anyway); it polls the
 * device and an eventfd, which nk_fuse_umount() writes to stop it.  Each
 * callback is one nk_vfs_* call; an open file's or directory's fh is the
 * VFS's handle, which survives a restart of the file system.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <unistd.h>

#include "nk/core.h"
#include "nk/vfs.h"
#include "nk_fuse.h"
#include "nk_vfs.h"

struct fmount {
	struct fmount *next;
	char dir[4096];
	struct nk_mount *m;
	struct fuse *f;
	int stopfd;
	int unmounted;		/* by us: libfuse need not try */
	pthread_t thread;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fmount *fmounts;

static struct nk_mount *M(void)
{
	return fuse_get_context()->private_data;
}

static struct nk_handle *H(struct fuse_file_info *fi)
{
	return (struct nk_handle *)(uintptr_t)fi->fh;
}

static void *b_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0;
	return fuse_get_context()->private_data;
}

static int b_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	return nk_vfs_getattr(M(), path, st);
}

static int b_mkdir(const char *path, mode_t mode)
{
	return nk_vfs_mkdir(M(), path, mode | S_IFDIR);
}

static int b_unlink(const char *path)
{
	return nk_vfs_unlink(M(), path);
}

static int b_rmdir(const char *path)
{
	return nk_vfs_rmdir(M(), path);
}

static int b_rename(const char *from, const char *to, unsigned int flags)
{
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	return nk_vfs_rename(M(), from, to, flags & RENAME_NOREPLACE ? NK_RENAME_NOREPLACE : 0);
}

static int b_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	return nk_vfs_setattr(M(), path, NK_ATTR_MODE, mode, 0, 0);
}

static int b_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)path, (void)fi;
	/* FAT has no owners: only the owner it shows (root) is accepted */
	return (uid == (uid_t)-1 || uid == 0) && (gid == (gid_t)-1 || gid == 0) ? 0 : -EPERM;
}

static int b_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	return nk_vfs_setattr(M(), path, NK_ATTR_SIZE | NK_ATTR_MTIME, 0, size, time(NULL));
}

static int b_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)fi;
	time_t t = tv[1].tv_nsec == UTIME_NOW ? time(NULL) : tv[1].tv_sec;
	if (tv[1].tv_nsec == UTIME_OMIT)
		return 0;
	return nk_vfs_setattr(M(), path, NK_ATTR_MTIME, 0, 0, t);
}

static int b_open(const char *path, struct fuse_file_info *fi)
{
	struct nk_handle *h;
	int r = nk_vfs_open(M(), path, fi->flags, &h);
	if (!r)
		fi->fh = (uintptr_t)h;
	return r;
}

static int b_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct nk_handle *h;
	int r = nk_vfs_create(M(), path, mode, fi->flags, &h);
	if (!r)
		fi->fh = (uintptr_t)h;
	return r;
}

static int b_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	return (int)nk_vfs_read(M(), H(fi), buf, size, off);
}

static int b_write(const char *path, const char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	(void)path;
	return (int)nk_vfs_write(M(), H(fi), buf, size, off);
}

static int b_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	return nk_vfs_fsync(M(), H(fi), datasync);
}

static int b_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return nk_vfs_release(M(), H(fi));
}

static int b_opendir(const char *path, struct fuse_file_info *fi)
{
	struct nk_handle *h;
	int r = nk_vfs_opendir(M(), path, &h);
	if (!r)
		fi->fh = (uintptr_t)h;
	return r;
}

struct fill {
	void *buf;
	fuse_fill_dir_t filler;
};

static int emit(void *arg, const char *name, unsigned long ino, unsigned dtype, off_t next)
{
	struct fill *f = arg;
	struct stat st = { .st_ino = ino, .st_mode = (dtype == NK_DT_DIR ? S_IFDIR : S_IFREG) };
	return f->filler(f->buf, name, &st, next, 0);
}

static int b_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)path, (void)flags;
	struct fill f = { buf, filler };
	return nk_vfs_readdir(M(), H(fi), off, emit, &f);
}

static int b_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	return nk_vfs_statfs(M(), st);
}

static const struct fuse_operations bridge_ops = {
	.init = b_init,
	.getattr = b_getattr,
	.mkdir = b_mkdir,
	.unlink = b_unlink,
	.rmdir = b_rmdir,
	.rename = b_rename,
	.chmod = b_chmod,
	.chown = b_chown,
	.truncate = b_truncate,
	.utimens = b_utimens,
	.open = b_open,
	.create = b_create,
	.read = b_read,
	.write = b_write,
	.fsync = b_fsync,
	.release = b_release,
	.opendir = b_opendir,
	.readdir = b_readdir,
	.releasedir = b_release,
	.statfs = b_statfs,
};

static void *loop(void *arg)
{
	struct fmount *fm = arg;
	struct fuse_session *se = fuse_get_session(fm->f);
	struct fuse_buf buf = { .mem = NULL };
	struct pollfd p[2] = { { .fd = fuse_session_fd(se), .events = POLLIN },
			       { .fd = fm->stopfd, .events = POLLIN } };
	char name[16];
	snprintf(name, sizeof(name), "fuse%d", fuse_session_fd(se));
	pthread_setname_np(pthread_self(), name);
	while (!fuse_session_exited(se)) {
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break;
		int r = fuse_session_receive_buf(se, &buf);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r <= 0)
			break;		/* unmounted */
		fuse_session_process_buf(se, &buf);
	}
	free(buf.mem);
	return NULL;
}

int nk_fuse_mount(const char *type, const char *device, const char *dir, const char *opts,
		  char *err, size_t errlen)
{
	int ro = 0;
	char data[NK_MOUNT_DATA_MAX] = "";
	/* "ro" is the kernel's; the rest goes to the file system */
	if (opts && strlen(opts) < sizeof(data)) {
		char copy[NK_MOUNT_DATA_MAX];
		snprintf(copy, sizeof(copy), "%s", opts);
		for (char *w = strtok(copy, ","); w; w = strtok(NULL, ","))
			if (!strcmp(w, "ro"))
				ro = 1;
			else if (strcmp(w, "rw"))
				snprintf(data + strlen(data), sizeof(data) - strlen(data), "%s%s",
					 data[0] ? "," : "", w);
	}
	char real[4096];
	if (!realpath(dir, real)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&lock);
	for (struct fmount *o = fmounts; o; o = o->next)
		if (!strcmp(o->dir, real)) {
			pthread_mutex_unlock(&lock);
			snprintf(err, errlen, "%s is mounted already", real);
			return -1;
		}
	pthread_mutex_unlock(&lock);

	struct fmount *fm = calloc(1, sizeof(*fm));
	if (!fm) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(fm->dir, sizeof(fm->dir), "%s", real);
	if (nk_vfs_mount(type, device, data, ro, &fm->m, err, errlen)) {
		free(fm);
		return -1;
	}
	char o[4200];
	snprintf(o, sizeof(o), "fsname=%s,subtype=%s%s", device, type, ro ? ",ro" : "");
	for (char *c = o; *c; c++)		/* commas in the device's path */
		if (*c == ',' && strncmp(c, ",subtype", 8) && strncmp(c, ",ro", 3))
			*c = '_';
	char *argv[] = { "nkernel", "-o", o, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	fm->stopfd = eventfd(0, EFD_CLOEXEC);
	fm->f = fm->stopfd >= 0 ? fuse_new(&args, &bridge_ops, sizeof(bridge_ops), fm->m) : NULL;
	if (!fm->f || fuse_mount(fm->f, real)) {
		snprintf(err, errlen, "cannot mount FUSE at %s (is /dev/fuse usable?)", real);
		goto fail;
	}
	if (pthread_create(&fm->thread, NULL, loop, fm)) {
		fuse_unmount(fm->f);
		snprintf(err, errlen, "cannot start its thread");
		goto fail;
	}
	pthread_mutex_lock(&lock);
	fm->next = fmounts;
	fmounts = fm;
	pthread_mutex_unlock(&lock);
	pr_info("nkernel: mounted %s (%s) at %s", device, type, real);
	return 0;
fail:
	if (fm->f)
		fuse_destroy(fm->f);
	if (fm->stopfd >= 0)
		close(fm->stopfd);
	nk_vfs_umount(fm->m);
	free(fm);
	return -1;
}

static void stop(struct fmount *fm)
{
	uint64_t one = 1;
	if (write(fm->stopfd, &one, sizeof(one)) != sizeof(one))
		pr_err("nkernel: cannot stop the FUSE thread of %s", fm->dir);
	pthread_join(fm->thread, NULL);
	if (!fm->unmounted)
		fuse_unmount(fm->f);
	fuse_destroy(fm->f);	/* closes the FUSE device */
	close(fm->stopfd);
	nk_vfs_umount(fm->m);
	pr_info("nkernel: unmounted %s", fm->dir);
	free(fm);
}

int nk_fuse_umount(const char *dir, int lazy, char *err, size_t errlen)
{
	char real[4096];
	if (!realpath(dir, real))
		snprintf(real, sizeof(real), "%s", dir);
	pthread_mutex_lock(&lock);
	struct fmount **pp = &fmounts;
	while (*pp && strcmp((*pp)->dir, real))
		pp = &(*pp)->next;
	struct fmount *fm = *pp;
	if (!fm) {
		pthread_mutex_unlock(&lock);
		snprintf(err, errlen, "nothing is mounted at %s", dir);
		return -1;
	}
	/* busy (open files, a shell inside): refused unless lazy */
	if (umount2(real, lazy ? MNT_DETACH : 0)) {
		if (!lazy) {
			int e = errno;
			pthread_mutex_unlock(&lock);
			snprintf(err, errlen, "%s: %s", real, strerror(e));
			return -1;
		}
	} else {
		fm->unmounted = 1;
	}
	*pp = fm->next;
	pthread_mutex_unlock(&lock);
	stop(fm);
	return 0;
}

void nk_fuse_list(void (*line)(void *arg, const char *text), void *arg)
{
	char text[8400];
	pthread_mutex_lock(&lock);
	for (struct fmount *fm = fmounts; fm; fm = fm->next) {
		snprintf(text, sizeof(text), "%s %s %s %s %lu", fm->dir, nk_vfs_mount_type(fm->m),
			 nk_vfs_mount_device(fm->m), nk_vfs_mount_state(fm->m),
			 nk_vfs_mount_generation(fm->m));
		line(arg, text);
	}
	pthread_mutex_unlock(&lock);
}

void nk_fuse_shutdown(void)
{
	for (;;) {
		pthread_mutex_lock(&lock);
		struct fmount *fm = fmounts;
		if (fm) {
			fmounts = fm->next;
			fm->unmounted = !umount2(fm->dir, MNT_DETACH);
		}
		pthread_mutex_unlock(&lock);
		if (!fm)
			break;
		stop(fm);
	}
}
