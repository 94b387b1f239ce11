/*
 * pthread_double_release - hole 6: kernel calls from a thread the module
 * started itself.
 *
 * init starts a thread with pthread_create that creates two sockets,
 * releases the first one twice (the kHTTPd bug) and keeps the second.
 * Isolated today the wrappers do not check calls from such a thread (no
 * domain), so the second release reaches the kernel, and the socket it
 * keeps is never reclaimed.
 *
 * Native: crash (the kernel's BUG on a double release, then abort).
 * Isolated: the second release is refused (logged), nkernel lives, and
 * the kept socket is released with the module.
 */
#include <pthread.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"
#include "nk/net.h"

static void *releaser(void *arg)
{
	struct socket *once, *kept;
	(void)arg;
	msleep(50);
	if (sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &kept) ||
	    sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &once))
		return NULL;
	sock_release(once);
	sock_release(once);	/* the bug */
	pr_info("pthread_double_release: released a socket twice and lived");
	return NULL;
}

int init_module(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, releaser, NULL))
		return -EAGAIN;
	pthread_detach(t);
	return 0;
}

void cleanup_module(void)
{
}
