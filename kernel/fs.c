/*
 * fs.c - reading host files, for extensions that serve them.
 *
 * A struct file lives in the object arena; kpriv holds the host fd,
 * opened read-only and close-on-exec.  size and mode are taken from
 * fstat() at open.  kernel_sendfile() is sendfile(2) into the socket's
 * (non-blocking) host fd: when the socket is full it waits in nk_wait(),
 * so a stopped or signalled kernel thread leaves at once with -EINTR (or
 * with the count already sent).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "nk/fs.h"
#include "nk/net.h"
#include "nooks_runtime.h"

int kern_path_resolve(const char *path, char *buf, size_t len)
{
	if (!path || (!buf && len))
		return -EINVAL;
	char *r = realpath(path, NULL);
	if (!r)
		return -errno;
	size_t rl = strlen(r);
	if (rl + 1 > len || rl > INT_MAX) {
		free(r);
		return -ENAMETOOLONG;
	}
	memcpy(buf, r, rl + 1);
	free(r);
	return (int)rl;
}

static unsigned int nk_mode(mode_t m)
{
	if (S_ISREG(m))
		return NK_S_IFREG;
	if (S_ISDIR(m))
		return NK_S_IFDIR;
	return NK_S_IFOTHER;
}

int vfs_stat(const char *path, struct kstat *st)
{
	if (!path || !st)
		return -EINVAL;
	struct stat s;
	if (stat(path, &s) < 0)
		return -errno;
	st->size = (long long)s.st_size;
	st->mtime = (long long)s.st_mtime;
	st->mode = nk_mode(s.st_mode);
	return 0;
}

int filp_open(const char *path, struct file **res)
{
	if (!path || !res)
		return -EINVAL;
	*res = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat s;
	if (fstat(fd, &s) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	if (S_ISDIR(s.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	struct file *f = nooks_arena_alloc(sizeof(*f));
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	f->size = (long long)s.st_size;
	f->mode = nk_mode(s.st_mode);
	f->kpriv = (void *)(intptr_t)fd;
	atomic_fetch_add(&nk_nr_files, 1);
	*res = f;
	return 0;
}

static int file_fd(const struct file *file)
{
	return file ? (int)(intptr_t)file->kpriv : -1;
}

ssize_t kernel_read(struct file *file, void *buf, size_t count, loff_t pos)
{
	int fd = file_fd(file);
	if (fd < 0)
		return -EBADF;
	if (pos < 0)
		return -EINVAL;
	if (!buf && count)
		return -EFAULT;
	ssize_t n = pread(fd, buf, count, pos);
	return n < 0 ? -errno : n;
}

ssize_t kernel_sendfile(struct socket *sock, struct file *file, loff_t pos, size_t count)
{
	int ffd = file_fd(file);
	if (ffd < 0)
		return -EBADF;
	int sfd = nk_sock_fd(sock);
	if (sfd < 0)
		return sfd;
	if (pos < 0)
		return -EINVAL;
	size_t sent = 0;
	while (sent < count) {
		off_t off = pos + (off_t)sent;
		ssize_t n = sendfile(sfd, ffd, &off, count - sent);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n == 0)	/* end of file */
			break;
		int r;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			r = nk_wait(sfd, POLLOUT, -1);
		else
			r = errno == EINTR ? -EINTR : -errno;
		if (r)
			return sent ? (ssize_t)sent : r;
	}
	return (ssize_t)sent;
}

void fput(struct file *file)
{
	if (!file)
		return;
	close(file_fd(file));
	file->kpriv = (void *)(intptr_t)-1;
	nooks_arena_free(file);
	atomic_fetch_sub(&nk_nr_files, 1);
}
