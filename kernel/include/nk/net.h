/*
 * nk/net.h - kernel sockets, in the style of Linux's in-kernel socket API
 * (sock_create_kern, kernel_bind, kernel_accept, ...), backed by real
 * sockets of the host.  idl/nk/net.idl annotates it.
 *
 * Blocking calls made by a kernel thread return -EINTR when the thread is
 * being stopped (kthread_stop) or its extension is being recovered.
 */
#ifndef NK_NET_H
#define NK_NET_H

#include "nk/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NK_AF_INET	2
#define NK_SOCK_STREAM	1

/* Socket states, as Linux's socket_state. */
#define SS_UNCONNECTED	1
#define SS_LISTENING	2
#define SS_CONNECTED	3
#define SS_DISCONNECTING 4

/* shutdown(): as SHUT_RD, SHUT_WR, SHUT_RDWR */
#define SHUT_RD_NK	0
#define SHUT_WR_NK	1
#define SHUT_RDWR_NK	2

/* kernel_recv/kernel_send flags */
#define NK_MSG_DONTWAIT	0x40

/* An IPv4 address, host byte order: 127.0.0.1 is 0x7f000001. */
struct nk_sockaddr_in {
	unsigned int addr;
	unsigned short port;
};

struct socket {
	int type;		/* NK_SOCK_STREAM */
	int state;		/* SS_* */
	unsigned int flags;
	void *sk_user_data;	/* the owner's */
	void *kpriv;		/* the kernel's: the host socket */
	unsigned int magic;	/* the kernel's: catches use after release */
};

/* A new socket in *res: 0, or -EAFNOSUPPORT, -EPROTONOSUPPORT, -ENFILE. */
int sock_create_kern(int family, int type, int protocol, struct socket **res);
int kernel_bind(struct socket *sock, const struct nk_sockaddr_in *addr);
int kernel_listen(struct socket *sock, int backlog);
/* A connection in *newsock: 0, -EINTR, -EINVAL (not listening). */
int kernel_accept(struct socket *sock, struct socket **newsock, int flags);
int kernel_connect(struct socket *sock, const struct nk_sockaddr_in *addr);
/* Bytes received (0 at end of stream), or -errno (-EINTR, -EAGAIN). */
ssize_t kernel_recv(struct socket *sock, void *buf, size_t len, int flags);
/* Bytes sent (all of len unless interrupted), or -errno (-EPIPE...). */
ssize_t kernel_send(struct socket *sock, const void *buf, size_t len, int flags);
int kernel_sock_shutdown(struct socket *sock, int how);
/* kernel_recv on sock waits at most ms milliseconds (0: for ever), then
 * returns -EAGAIN. */
int kernel_sock_set_timeout(struct socket *sock, unsigned int ms);
/* The local address (to learn a port bound as 0). */
int kernel_getsockname(struct socket *sock, struct nk_sockaddr_in *addr);
/* Closes and frees the socket.  Releasing it again is a kernel bug. */
void sock_release(struct socket *sock);

#ifdef __cplusplus
}
#endif

#endif
