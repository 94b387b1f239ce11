/*
 * rec_giveup_socket - hole 8: giving up leaves the listener open.
 *
 * init listens on 127.0.0.1:port (parameter port=N) and starts a kernel
 * thread that dereferences NULL 20 ms later, in every copy.  The first
 * copy's init returns at once; a restarted copy's init takes 80 ms longer
 * (it remembers, in its link namespace's environment, that it ran
 * before), so its thread faults while it runs.  When the policy gives up
 * (the suite runs it with --max-restarts 2), everything the last copy
 * held must be released: a client connecting to the port is refused, not
 * left hanging in the backlog of a socket nobody accepts on.
 *
 * Native: crash.
 * Isolated: "failed", and connecting to the port is refused.
 */
#include <stdlib.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"
#include "nk/net.h"

static int *volatile nowhere;	/* NULL */
static struct socket *listener;
static struct task_struct *t;

static int crasher(struct task_struct *task)
{
	(void)task;
	msleep(20);
	return *nowhere;
}

static const struct kthread_ops crasher_ops = { .threadfn = crasher };

int init_module(void)
{
	struct nk_sockaddr_in sa = { .addr = 0x7f000001 };
	char buf[16];
	int r;

	if (module_param_get("port", buf, sizeof(buf)) <= 0)
		return -EINVAL;
	sa.port = (unsigned short)strtoul(buf, NULL, 10);
	if ((r = sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &listener)))
		return r;
	if ((r = kernel_bind(listener, &sa)) || (r = kernel_listen(listener, 16))) {
		sock_release(listener);
		return r;
	}
	t = kthread_run(&crasher_ops, NULL, "giveup_socket");
	if (!t) {
		sock_release(listener);
		return -ENOMEM;
	}
	if (getenv("REC_GIVEUP_SOCKET_RAN"))
		msleep(80);	/* a restarted copy: slow; its thread faults meanwhile */
	setenv("REC_GIVEUP_SOCKET_RAN", "1", 1);
	return 0;
}

void cleanup_module(void)
{
	kthread_stop(t);
	put_task_struct(t);
	sock_release(listener);
}
