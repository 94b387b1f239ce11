/*
 * net.c - kernel sockets on host sockets.
 *
 * A struct socket lives in the object arena; kpriv holds the host fd.
 * Every host socket is non-blocking and close-on-exec: a call tries the
 * operation, and when it would block waits in nk_wait() for the fd or
 * for the calling kernel thread's stop, so a stopped or signalled thread
 * never stays inside the kernel.  The receive timeout of
 * kernel_sock_set_timeout() is kept in the host socket itself
 * (SO_RCVTIMEO, which a non-blocking socket otherwise ignores): no side
 * table to keep in step with the fds.
 *
 * magic is live from creation to sock_release, which clears it before
 * freeing: a second release finds it dead and stops the kernel with a
 * BUG line, as a double release would in a real kernel.  Other calls on
 * a released socket return -EBADF.  IPv4 TCP only; addresses and ports
 * are host byte order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "internal.h"
#include "nk/net.h"
#include "nooks_runtime.h"

#define SOCK_MAGIC	0x4e4b534bu	/* "NKSK" */
#define SOCK_DEAD	0xdead5050u

int nk_sock_fd(const struct socket *sock)
{
	if (!sock || sock->magic != SOCK_MAGIC)
		return -EBADF;
	return (int)(intptr_t)sock->kpriv;
}

static struct socket *sock_wrap(int fd, int state)
{
	struct socket *sock = nooks_arena_alloc(sizeof(*sock));
	if (!sock)
		return NULL;
	sock->type = NK_SOCK_STREAM;
	sock->state = state;
	sock->kpriv = (void *)(intptr_t)fd;
	sock->magic = SOCK_MAGIC;
	atomic_fetch_add(&nk_nr_sockets, 1);
	return sock;
}

static void to_host(const struct nk_sockaddr_in *a, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(a->addr);
	sin->sin_port = htons(a->port);
}

int sock_create_kern(int family, int type, int protocol, struct socket **res)
{
	if (!res)
		return -EINVAL;
	*res = NULL;
	if (family != NK_AF_INET)
		return -EAFNOSUPPORT;
	if (type != NK_SOCK_STREAM || (protocol != 0 && protocol != IPPROTO_TCP))
		return -EPROTONOSUPPORT;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno == EMFILE ? -ENFILE : -errno;
	struct socket *sock = sock_wrap(fd, SS_UNCONNECTED);
	if (!sock) {
		close(fd);
		return -ENOMEM;
	}
	*res = sock;
	return 0;
}

int kernel_bind(struct socket *sock, const struct nk_sockaddr_in *addr)
{
	int fd = nk_sock_fd(sock);
	if (fd < 0)
		return fd;
	if (!addr)
		return -EINVAL;
	struct sockaddr_in sin;
	int one = 1;
	to_host(addr, &sin);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -errno;
	return 0;
}

int kernel_listen(struct socket *sock, int backlog)
{
	int fd = nk_sock_fd(sock);
	if (fd < 0)
		return fd;
	if (listen(fd, backlog) < 0)
		return -errno;
	sock->state = SS_LISTENING;
	return 0;
}

int kernel_accept(struct socket *sock, struct socket **newsock, int flags)
{
	int fd = nk_sock_fd(sock);
	if (fd < 0)
		return fd;
	if (!newsock)
		return -EINVAL;
	*newsock = NULL;
	if (sock->state != SS_LISTENING)
		return -EINVAL;
	for (;;) {
		int nfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (nfd >= 0) {
			/* no Nagle: a server's header and body go out at once
			 * instead of the body waiting for a delayed ACK */
			int one = 1;
			setsockopt(nfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			struct socket *ns = sock_wrap(nfd, SS_CONNECTED);
			if (!ns) {
				close(nfd);
				return -ENOMEM;
			}
			*newsock = ns;
			return 0;
		}
		if (errno == EINTR)
			return -EINTR;
		/* the connection died before we took it: wait for the next */
		if (errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (flags & (NK_MSG_DONTWAIT | O_NONBLOCK))
			return -EAGAIN;
		int r = nk_wait(fd, POLLIN, -1);
		if (r)
			return r;
	}
}

int kernel_connect(struct socket *sock, const struct nk_sockaddr_in *addr)
{
	int fd = nk_sock_fd(sock);
	if (fd < 0)
		return fd;
	if (!addr)
		return -EINVAL;
	struct sockaddr_in sin;
	to_host(addr, &sin);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		int r = nk_wait(fd, POLLOUT, -1);
		if (r)
			return r;
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			return -errno;
		if (err)
			return -err;
	}
	sock->state = SS_CONNECTED;
	return 0;
}

/* The timeout of kernel_sock_set_timeout, in ms (-1: none). */
static int recv_timeout(int fd)
{
	struct timeval tv;
	socklen_t l = sizeof(tv);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) < 0)
		return -1;
	long long ms = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	if (ms <= 0)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

ssize_t kernel_recv(struct socket *sock, void *buf, size_t len, int flags)
{
	int fd = nk_sock_fd(sock);
	if (fd < 0)
		return fd;
	if (!buf && len)
		return -EFAULT;
	int timeout = -1;
	uint64_t deadline = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			return -EINTR;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (flags & NK_MSG_DONTWAIT)
			return -EAGAIN;
		if (!deadline) {
			timeout = recv_timeout(fd);
			deadline = timeout < 0 ? UINT64_MAX : nk_now_ms() + (uint64_t)timeout;
		} else if (deadline != UINT64_MAX) {
			uint64_t now = nk_now_ms();
			if (now >= deadline)
				return -EAGAIN;
			timeout = (int)(deadline - now);
		}
		int r = nk_wait(fd, POLLIN, timeout);
		if (r)
			return r;
	}
}

ssize_t kernel_send(struct socket *sock, const void *buf, size_t len, int flags)
{
	int fd = nk_sock_fd(sock);
	if (fd < 0)
		return fd;
	if (!buf && len)
		return -EFAULT;
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, (const char *)buf + off, len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		int err = n < 0 ? errno : EAGAIN;
		int r;
		if (err == EAGAIN || err == EWOULDBLOCK) {
			if (flags & NK_MSG_DONTWAIT)
				r = -EAGAIN;
			else
				r = nk_wait(fd, POLLOUT, -1);
		} else {
			r = -err;
		}
		if (r)	/* what went is reported; the next call gets the error */
			return off ? (ssize_t)off : r;
	}
	return (ssize_t)off;
}

int kernel_sock_shutdown(struct socket *sock, int how)
{
	int fd = nk_sock_fd(sock);
	if (fd < 0)
		return fd;
	static const int hows[] = { SHUT_RD, SHUT_WR, SHUT_RDWR };
	if (how < SHUT_RD_NK || how > SHUT_RDWR_NK)
		return -EINVAL;
	if (shutdown(fd, hows[how]) < 0)
		return -errno;
	sock->state = SS_DISCONNECTING;
	return 0;
}

int kernel_sock_set_timeout(struct socket *sock, unsigned int ms)
{
	int fd = nk_sock_fd(sock);
	if (fd < 0)
		return fd;
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000 };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

int kernel_getsockname(struct socket *sock, struct nk_sockaddr_in *addr)
{
	int fd = nk_sock_fd(sock);
	if (fd < 0)
		return fd;
	if (!addr)
		return -EINVAL;
	struct sockaddr_in sin;
	socklen_t l = sizeof(sin);
	if (getsockname(fd, (struct sockaddr *)&sin, &l) < 0)
		return -errno;
	addr->addr = ntohl(sin.sin_addr.s_addr);
	addr->port = ntohs(sin.sin_port);
	return 0;
}

void sock_release(struct socket *sock)
{
	if (!sock)
		return;
	if (sock->magic != SOCK_MAGIC) {
		nk_printk(LOGLEVEL_EMERG, "BUG: sock_release: socket %p released twice",
			  (void *)sock);
		abort();
	}
	sock->magic = SOCK_DEAD;
	close((int)(intptr_t)sock->kpriv);
	sock->kpriv = (void *)(intptr_t)-1;
	nooks_arena_free(sock);
	atomic_fetch_sub(&nk_nr_sockets, 1);
}
