/*
 * witness - a correct module, loaded isolated beside every hostile module
 * of tests/hostile (and natively in the native runs).
 *
 * A kernel thread ticks every 50 ms; a delayed work re-arms itself every
 * 50 ms (on the kernel's one work queue worker, which every module
 * shares: a work of another module that never returns stops these); a
 * second kernel thread listens on 127.0.0.1:port (parameter port=N) and
 * answers each connection with one line, "witness TICKS WORKS\n", then
 * closes it.  The suite reads that line twice: both numbers growing
 * means the kernel still runs threads, work and sockets for the modules
 * that did nothing wrong.
 */
#include <stdlib.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"
#include "nk/net.h"
#include "nk/workqueue.h"

static struct socket *listener;
static struct task_struct *ticker, *server;
static struct delayed_work *work;
static unsigned long ticks, works;
static int stopping;

static int tick(struct task_struct *task)
{
	(void)task;
	while (!kthread_should_stop()) {
		msleep(50);
		__atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static void rearm(struct delayed_work *w)
{
	__atomic_add_fetch(&works, 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&stopping, __ATOMIC_RELAXED))
		schedule_delayed_work(w, 50);
}

static int serve(struct task_struct *task)
{
	(void)task;
	while (!kthread_should_stop()) {
		struct socket *c;
		char line[64];
		int r = kernel_accept(listener, &c, 0);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			msleep(10);
			continue;
		}
		int n = snprintf(line, sizeof(line), "witness %lu %lu\n",
				 __atomic_load_n(&ticks, __ATOMIC_RELAXED),
				 __atomic_load_n(&works, __ATOMIC_RELAXED));
		kernel_send(c, line, (size_t)n, 0);
		kernel_sock_shutdown(c, SHUT_WR_NK);
		sock_release(c);
	}
	return 0;
}

static const struct kthread_ops tick_ops = { .threadfn = tick };
static const struct kthread_ops serve_ops = { .threadfn = serve };
static const struct work_ops rearm_ops = { .func = rearm };

void cleanup_module(void)
{
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	if (server) {
		kthread_stop(server);
		put_task_struct(server);
	}
	if (ticker) {
		kthread_stop(ticker);
		put_task_struct(ticker);
	}
	if (work) {
		cancel_delayed_work_sync(work);
		free_delayed_work(work);	/* cancels again: it may have re-armed */
	}
	if (listener)
		sock_release(listener);
}

int init_module(void)
{
	struct nk_sockaddr_in sa = { .addr = 0x7f000001 };
	char buf[16];
	int r;

	if (module_param_get("port", buf, sizeof(buf)) <= 0) {
		pr_err("witness: port=N is required");
		return -EINVAL;
	}
	sa.port = (unsigned short)strtoul(buf, NULL, 10);
	if ((r = sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &listener)))
		return r;
	if ((r = kernel_bind(listener, &sa)) || (r = kernel_listen(listener, 16))) {
		pr_err("witness: port %u: error %d", sa.port, r);
		cleanup_module();
		return r;
	}
	work = alloc_delayed_work();
	ticker = kthread_run(&tick_ops, NULL, "witness/tick");
	server = kthread_run(&serve_ops, NULL, "witness/serve");
	if (!work || !ticker || !server) {
		cleanup_module();
		return -ENOMEM;
	}
	work->ops = &rearm_ops;
	if ((r = schedule_delayed_work(work, 50))) {
		cleanup_module();
		return r;
	}
	pr_info("witness: serving on 127.0.0.1:%u", sa.port);
	return 0;
}
