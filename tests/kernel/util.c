/*
 * util.c - see util.h; also the last suite, which checks that the
 * others released everything they created.
 */
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "nk_kernel.h"
#include "util.h"

uint64_t t_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int t_listener(struct socket **l, unsigned short *port)
{
	struct nk_sockaddr_in a = { 0x7f000001, 0 };
	int r = sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, l);
	if (r)
		return r;
	if ((r = kernel_bind(*l, &a)) || (r = kernel_listen(*l, 16)) ||
	    (r = kernel_getsockname(*l, &a))) {
		sock_release(*l);
		*l = NULL;
		return r;
	}
	*port = a.port;
	return 0;
}

int t_pair(struct socket **client, struct socket **server)
{
	struct socket *l;
	unsigned short port;
	int r = t_listener(&l, &port);
	if (r)
		return r;
	struct nk_sockaddr_in a = { 0x7f000001, port };
	r = sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, client);
	if (!r && (r = kernel_connect(*client, &a)) != 0)
		sock_release(*client);
	if (!r && (r = kernel_accept(l, server, 0)) != 0)
		sock_release(*client);
	sock_release(l);
	return r;
}

int t_wait_flag(volatile int *flag, unsigned ms)
{
	uint64_t end = t_now_ms() + ms;
	while (!*flag && t_now_ms() < end)
		usleep(1000);
	return *flag;
}

static void test_nothing_left(void)
{
	struct nk_kernel_stats s;
	/* threads end just after their work: give them a moment */
	for (int i = 0; i < 200; i++) {
		nk_kernel_stats(&s);
		if (!s.threads)
			break;
		usleep(5000);
	}
	CU_ASSERT_EQUAL(s.sockets, 0);
	CU_ASSERT_EQUAL(s.files, 0);
	CU_ASSERT_EQUAL(s.tasks, 0);
	CU_ASSERT_EQUAL(s.threads, 0);
	CU_ASSERT_EQUAL(s.works, 0);
	CU_ASSERT_EQUAL(s.locks, 0);
}

void register_leak_tests(void)
{
	CU_pSuite s = CU_add_suite("leaks", NULL, NULL);
	CU_add_test(s, "stats back to zero after every suite", test_nothing_left);
}
