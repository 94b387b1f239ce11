/*
 * test_net.c - kernel sockets over loopback: echo between a kthread and a
 * client, blocking calls ended by kthread_stop or by a signal, receive
 * timeouts, a 1 MiB send, the double release that stops the kernel, and
 * the error cases.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "nk/kthread.h"
#include "nk/net.h"
#include "nk_kernel.h"
#include "nooks_runtime.h"
#include "util.h"

/* ---- echo ------------------------------------------------------------------ */

struct echo {
	struct socket *listener;
	volatile int accepted;
	volatile int done;
	long echoed;
	int state_seen;
};

static int fn_echo(struct task_struct *task)
{
	struct echo *e = task->data;
	struct socket *c;
	int r = kernel_accept(e->listener, &c, 0);
	if (r)
		return r;
	e->state_seen = c->state;
	e->accepted = 1;
	char buf[256];
	ssize_t n;
	while ((n = kernel_recv(c, buf, sizeof(buf), 0)) > 0) {
		ssize_t w = kernel_send(c, buf, (size_t)n, 0);
		if (w != n) {
			sock_release(c);
			return -100;
		}
		e->echoed += n;
	}
	sock_release(c);
	e->done = 1;
	return n == 0 ? 0 : (int)n;
}
static const struct kthread_ops ops_echo = { fn_echo };

static void test_echo(void)
{
	struct echo e = { 0 };
	unsigned short port;
	CU_ASSERT_EQUAL_FATAL(t_listener(&e.listener, &port), 0);
	CU_ASSERT(port != 0);
	CU_ASSERT(nooks_in_arena(e.listener));
	CU_ASSERT_EQUAL(e.listener->state, SS_LISTENING);
	struct task_struct *t = kthread_run(&ops_echo, &e, "echo");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);

	struct socket *c;
	CU_ASSERT_EQUAL_FATAL(sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &c), 0);
	CU_ASSERT_EQUAL(c->state, SS_UNCONNECTED);
	struct nk_sockaddr_in a = { 0x7f000001, port };
	CU_ASSERT_EQUAL(kernel_connect(c, &a), 0);
	CU_ASSERT_EQUAL(c->state, SS_CONNECTED);
	static const char *msgs[] = { "hello", "kernel world", "x" };
	size_t total = 0;
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(msgs[i]);
		char buf[64] = "";
		CU_ASSERT_EQUAL(kernel_send(c, msgs[i], len, 0), (ssize_t)len);
		size_t got = 0;
		while (got < len) {
			ssize_t n = kernel_recv(c, buf + got, sizeof(buf) - 1 - got, 0);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		CU_ASSERT_EQUAL(got, len);
		CU_ASSERT_NSTRING_EQUAL(buf, msgs[i], len);
		total += len;
	}
	CU_ASSERT_EQUAL(kernel_sock_shutdown(c, SHUT_WR_NK), 0);
	CU_ASSERT_EQUAL(c->state, SS_DISCONNECTING);
	/* the echo thread sees the end of stream and returns 0 (waited
	 * for: a stop would end its last recv with -EINTR) */
	CU_ASSERT(t_wait_flag(&e.done, 5000));
	CU_ASSERT_EQUAL(kthread_stop(t), 0);
	CU_ASSERT_EQUAL(e.echoed, (long)total);
	CU_ASSERT_EQUAL(e.state_seen, SS_CONNECTED);
	put_task_struct(t);
	sock_release(c);
	sock_release(e.listener);
}

/* ---- blocking calls interrupted ------------------------------------------- */

struct blocked {
	struct socket *sock;
	volatile int started;
	volatile int done;
	pthread_t thread;
	uint64_t waited_ms;
};

static int fn_accept_forever(struct task_struct *task)
{
	struct blocked *b = task->data;
	struct socket *c = NULL;
	b->started = 1;
	uint64_t t0 = t_now_ms();
	int r = kernel_accept(b->sock, &c, 0);
	b->waited_ms = t_now_ms() - t0;
	if (c)
		sock_release(c);
	return r;
}
static const struct kthread_ops ops_accept_forever = { fn_accept_forever };

static void test_accept_interrupted_by_stop(void)
{
	struct blocked b = { 0 };
	unsigned short port;
	CU_ASSERT_EQUAL_FATAL(t_listener(&b.sock, &port), 0);
	struct task_struct *t = kthread_run(&ops_accept_forever, &b, "acceptor");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(t_wait_flag(&b.started, 2000));
	usleep(100000);
	uint64_t t0 = t_now_ms();
	CU_ASSERT_EQUAL(kthread_stop(t), -EINTR);
	CU_ASSERT(t_now_ms() - t0 < 500);
	CU_ASSERT(b.waited_ms >= 90);
	put_task_struct(t);
	sock_release(b.sock);
}

static int fn_recv_forever(struct task_struct *task)
{
	struct blocked *b = task->data;
	char buf[16];
	b->thread = pthread_self();
	b->started = 1;
	int r = (int)kernel_recv(b->sock, buf, sizeof(buf), 0);
	b->done = 1;
	return r;
}
static const struct kthread_ops ops_recv_forever = { fn_recv_forever };

static void on_usr1(int sig)
{
	(void)sig;
}

static void test_recv_interrupted_by_signal(void)
{
	/* as the runtime does to threads of an extension under recovery */
	struct sigaction sa = { 0 }, old;
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART */
	sigaction(SIGUSR1, &sa, &old);

	struct socket *c, *s;
	CU_ASSERT_EQUAL_FATAL(t_pair(&c, &s), 0);
	struct blocked b = { .sock = s };
	struct task_struct *t = kthread_run(&ops_recv_forever, &b, "receiver");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(t_wait_flag(&b.started, 2000));
	usleep(100000);
	pthread_kill(b.thread, SIGUSR1);
	/* the thread ends by itself: no stop asked */
	CU_ASSERT(t_wait_flag(&b.done, 1000));
	CU_ASSERT_EQUAL(kthread_stop(t), -EINTR);
	put_task_struct(t);
	sock_release(c);
	sock_release(s);
	sigaction(SIGUSR1, &old, NULL);
}

static void test_recv_timeout(void)
{
	struct socket *c, *s;
	char buf[8];
	CU_ASSERT_EQUAL_FATAL(t_pair(&c, &s), 0);
	CU_ASSERT_EQUAL(kernel_recv(s, buf, sizeof(buf), NK_MSG_DONTWAIT), -EAGAIN);
	CU_ASSERT_EQUAL(kernel_sock_set_timeout(s, 150), 0);
	uint64_t t0 = t_now_ms();
	CU_ASSERT_EQUAL(kernel_recv(s, buf, sizeof(buf), 0), -EAGAIN);
	uint64_t d = t_now_ms() - t0;
	CU_ASSERT(d >= 140);
	CU_ASSERT(d < 2000);
	/* data within the timeout is received */
	CU_ASSERT_EQUAL(kernel_send(c, "ok", 2, 0), 2);
	CU_ASSERT_EQUAL(kernel_recv(s, buf, sizeof(buf), 0), 2);
	CU_ASSERT_NSTRING_EQUAL(buf, "ok", 2);
	/* 0: no timeout again; end of stream is 0 */
	CU_ASSERT_EQUAL(kernel_sock_set_timeout(s, 0), 0);
	sock_release(c);
	CU_ASSERT_EQUAL(kernel_recv(s, buf, sizeof(buf), 0), 0);
	sock_release(s);
}

/* ---- 1 MiB ------------------------------------------------------------------ */

#define BIG (1u << 20)

struct reader {
	struct socket *sock;
	unsigned char *buf;
	size_t got;
	volatile int done;
};

static int fn_read_all(struct task_struct *task)
{
	struct reader *r = task->data;
	for (;;) {
		size_t want = BIG - r->got < 4096 ? BIG - r->got : 4096;
		if (!want)
			want = 1;	/* expect the end of stream */
		unsigned char tmp[4096];
		ssize_t n = kernel_recv(r->sock, tmp, want, 0);
		if (n <= 0) {
			r->done = 1;
			return (int)n;
		}
		if (r->got + (size_t)n > BIG)
			return -E2BIG;
		memcpy(r->buf + r->got, tmp, (size_t)n);
		r->got += (size_t)n;
		msleep(0);
	}
}
static const struct kthread_ops ops_read_all = { fn_read_all };

static void test_send_1mib(void)
{
	struct socket *c, *s;
	CU_ASSERT_EQUAL_FATAL(t_pair(&c, &s), 0);
	unsigned char *out = malloc(BIG);
	struct reader r = { s, malloc(BIG), 0, 0 };
	CU_ASSERT_FATAL(out && r.buf);
	for (size_t i = 0; i < BIG; i++)
		out[i] = (unsigned char)(i * 7 + i / 251);
	struct task_struct *t = kthread_run(&ops_read_all, &r, "reader");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(kernel_send(c, out, BIG, 0), (ssize_t)BIG);
	CU_ASSERT_EQUAL(kernel_sock_shutdown(c, SHUT_WR_NK), 0);
	CU_ASSERT(t_wait_flag(&r.done, 10000));
	CU_ASSERT_EQUAL(kthread_stop(t), 0);
	CU_ASSERT_EQUAL(r.got, BIG);
	CU_ASSERT(memcmp(out, r.buf, BIG) == 0);
	put_task_struct(t);
	sock_release(c);
	sock_release(s);
	free(out);
	free(r.buf);
}

static void test_send_to_closed_peer(void)
{
	struct socket *c, *s;
	CU_ASSERT_EQUAL_FATAL(t_pair(&c, &s), 0);
	sock_release(s);
	char buf[65536] = { 0 };
	ssize_t r = 0;
	/* the first sends may land in buffers; the reset comes back */
	for (int i = 0; i < 100 && r >= 0; i++) {
		r = kernel_send(c, buf, sizeof(buf), 0);
		usleep(1000);
	}
	CU_ASSERT(r == -EPIPE || r == -ECONNRESET);
	sock_release(c);
}

/* ---- the kernel bug ------------------------------------------------------- */

static void test_double_release_aborts(void)
{
	int p[2];
	CU_ASSERT_FATAL(pipe(p) == 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		nk_log_to_fd(p[1]);
		struct socket *sock;
		if (sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &sock))
			_exit(10);
		sock_release(sock);
		sock_release(sock);
		_exit(11);	/* not reached if the kernel stops */
	}
	close(p[1]);
	char buf[512];
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(buf) - 1 && (n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(p[0]);
	int status;
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFSIGNALED(status));
	if (WIFSIGNALED(status))
		CU_ASSERT_EQUAL(WTERMSIG(status), SIGABRT);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<0>["));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "BUG: sock_release: socket 0x"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " released twice\n"));
}

/* ---- errors ---------------------------------------------------------------- */

static void test_bad_family_and_type(void)
{
	struct socket *s = (struct socket *)1;
	CU_ASSERT_EQUAL(sock_create_kern(10, NK_SOCK_STREAM, 0, &s), -EAFNOSUPPORT);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(sock_create_kern(NK_AF_INET, 2, 0, &s), -EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 17, &s), -EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 6, &s), 0);
	sock_release(s);
	CU_ASSERT_EQUAL(sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, NULL), -EINVAL);
	sock_release(NULL);
}

static void test_misuse(void)
{
	struct socket *s, *n = NULL;
	CU_ASSERT_EQUAL_FATAL(sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &s), 0);
	/* not listening */
	CU_ASSERT_EQUAL(kernel_accept(s, &n, 0), -EINVAL);
	CU_ASSERT_PTR_NULL(n);
	CU_ASSERT_EQUAL(kernel_sock_shutdown(s, 7), -EINVAL);
	/* a port nobody listens on: learn one, then free it */
	struct socket *l;
	unsigned short port;
	CU_ASSERT_EQUAL_FATAL(t_listener(&l, &port), 0);
	sock_release(l);
	struct nk_sockaddr_in a = { 0x7f000001, port };
	CU_ASSERT_EQUAL(kernel_connect(s, &a), -ECONNREFUSED);
	/* a port in use */
	CU_ASSERT_EQUAL_FATAL(t_listener(&l, &port), 0);
	struct socket *s2;
	CU_ASSERT_EQUAL_FATAL(sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &s2), 0);
	a.port = port;
	CU_ASSERT_EQUAL(kernel_bind(s2, &a), -EADDRINUSE);
	/* accept without waiting */
	CU_ASSERT_EQUAL(kernel_accept(l, &n, NK_MSG_DONTWAIT), -EAGAIN);
	sock_release(s2);
	sock_release(l);
	sock_release(s);
}

void register_net_tests(void)
{
	CU_pSuite s = CU_add_suite("net", NULL, NULL);
	CU_add_test(s, "echo between a kthread and a client", test_echo);
	CU_add_test(s, "accept in a kthread: -EINTR at kthread_stop", test_accept_interrupted_by_stop);
	CU_add_test(s, "recv in a kthread: -EINTR on a signal", test_recv_interrupted_by_signal);
	CU_add_test(s, "recv: timeout and NK_MSG_DONTWAIT give -EAGAIN", test_recv_timeout);
	CU_add_test(s, "send 1 MiB to a reader", test_send_1mib);
	CU_add_test(s, "send to a closed peer: -EPIPE", test_send_to_closed_peer);
	CU_add_test(s, "double sock_release stops the kernel", test_double_release_aborts);
	CU_add_test(s, "bad family, type, protocol", test_bad_family_and_type);
	CU_add_test(s, "accept unlistened, refused, in use", test_misuse);
}
