/*
 * ext_threads.c - an extension that starts threads of its own with
 * pthread_create and thrd_create (issue 11, class 6), for
 * test_contain.c.  Plain C against the test kernel API (tk.h,
 * libtk.so.1); it knows nothing of Nooks.  Every entry takes and returns
 * a long.
 *
 * tk_reverse_words(NULL, -code) is how its threads talk to the test
 * (natively: -EINVAL from the kernel; isolated: the test's kernel table
 * records the code and the calling domain, and for PROBE_BLOCK and
 * PROBE_GATE blocks in the kernel until the domain fails or the test
 * opens the gate).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

#include "tk.h"

#define EV_STARTED 10
#define EV_LOOPING 11
#define EV_CLEANUP 12
#define PROBE_BLOCK 100
#define PROBE_GATE 101

long ext_spawn_crash(long unused);
long ext_thread_double_release(long unused);
long ext_thread_keeps(long unused);
long ext_spawn(long n);
long ext_spawn_loopers(long n);
long ext_spawn_returning(long n);
long ext_join_kept(long n);
long ext_join_results(long unused);
long ext_join_foreign(long t);
long ext_crash(long unused);
long ext_tls_calls(long unused);

/* thread-local: the loader reloads such an object rather than restoring
 * its data */
static _Thread_local long tls_calls;

long ext_tls_calls(long unused)
{
	(void)unused;
	return ++tls_calls;
}

static int *volatile nowhere;		/* NULL */
static pthread_t kept[128];		/* joinable, never joined */

static int probe(int code)
{
	return tk_reverse_words(NULL, -code);
}

static void *crasher(void *arg)
{
	(void)arg;
	probe(EV_STARTED);
	probe(PROBE_GATE);		/* until the test says go */
	*nowhere = 1;
	return NULL;
}

/* A detached thread that faults once the test opens the gate. */
long ext_spawn_crash(long unused)
{
	pthread_t t;
	(void)unused;
	if (pthread_create(&t, NULL, crasher, NULL))
		return -1;
	return pthread_detach(t);
}

static void *releaser(void *arg)
{
	(void)arg;
	struct tk_dev *dev = tk_dev_alloc(0);
	tk_dev_put(dev);
	return (void *)(intptr_t)tk_dev_put(dev);	/* the bug */
}

/* The kHTTPd bug in a thread it started: the second release's result. */
long ext_thread_double_release(long unused)
{
	pthread_t t;
	void *r = NULL;
	(void)unused;
	if (pthread_create(&t, NULL, releaser, NULL) || pthread_join(t, &r))
		return -1000;
	return (long)(intptr_t)r;
}

static struct tk_dev *devs[4];

static int keeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4; i++)
		devs[i] = tk_dev_alloc(0);
	return 0;
}

/* A (C11) thread that allocates four devices and keeps them: 0. */
long ext_thread_keeps(long unused)
{
	thrd_t t;
	(void)unused;
	if (thrd_create(&t, keeper, NULL) != thrd_success)
		return -1;
	return thrd_join(t, NULL) == thrd_success ? 0 : -2;
}

static void *blocker(void *arg)
{
	(void)arg;
	probe(EV_STARTED);
	probe(PROBE_BLOCK);		/* a kernel call that waits */
	return NULL;
}

static void *looper(void *arg)
{
	(void)arg;
	probe(EV_LOOPING);
	for (volatile unsigned long i = 0;; i++)
		;
	return NULL;
}

/* n joinable threads blocked in a kernel call (never joined): how many
 * it could start, plus 1000 for each refused with EAGAIN. */
static long spawn(long n, void *(*fn)(void *))
{
	long ok = 0, again = 0;
	for (long i = 0; i < n; i++) {
		int err = pthread_create(&kept[ok % 128], NULL, fn, NULL);
		if (!err)
			ok++;
		else if (err == EAGAIN)
			again++;
	}
	return ok + 1000 * again;
}

long ext_spawn(long n)
{
	return spawn(n, blocker);
}

long ext_spawn_loopers(long n)
{
	return spawn(n, looper);
}

static void *returns(void *arg)
{
	(void)arg;
	return (void *)11;
}

/* n joinable threads that return at once (not joined here). */
long ext_spawn_returning(long n)
{
	return spawn(n, returns);
}

/* Joins the first n threads the last spawn started: how many gave 11. */
long ext_join_kept(long n)
{
	long ok = 0;
	for (long i = 0; i < n && i < 128; i++) {
		void *r = NULL;
		ok += !pthread_join(kept[i], &r) && r == (void *)11;
	}
	return ok;
}

static int cleaned;

static void cleanup(void *arg)
{
	*(int *)arg = 1;
	probe(EV_CLEANUP);
}

static void deeper(void)
{
	pthread_exit((void *)22);
}

static void *exits(void *arg)
{
	(void)arg;
	pthread_cleanup_push(cleanup, &cleaned);
	deeper();
	pthread_cleanup_pop(0);
	return NULL;
}

static int c11(void *arg)
{
	(void)arg;
	return 33;
}

static int c11_exits(void *arg)
{
	(void)arg;
	thrd_exit(44);
}

static void *cancelled(void *arg)
{
	(void)arg;
	for (;;)
		pthread_testcancel();
	return NULL;
}

/* Results through join: a return, pthread_exit from a nested call with
 * its cleanup handler run, C11's return and thrd_exit, a cancellation
 * acted on at pthread_testcancel(), and the errors.  0, or the number of
 * the first check that failed. */
long ext_join_results(long unused)
{
	pthread_t t;
	thrd_t c;
	void *r;
	int res;
	(void)unused;

	if (pthread_create(&t, NULL, returns, NULL) || pthread_join(t, &r) || r != (void *)11)
		return 1;
	if (pthread_create(&t, NULL, exits, NULL) || pthread_join(t, &r) || r != (void *)22)
		return 2;
	if (!cleaned)
		return 3;
	if (thrd_create(&c, c11, NULL) != thrd_success || thrd_join(c, &res) != thrd_success ||
	    res != 33)
		return 4;
	if (thrd_create(&c, c11_exits, NULL) != thrd_success ||
	    thrd_join(c, &res) != thrd_success || res != 44)
		return 5;
	if (pthread_create(&t, NULL, cancelled, NULL) || pthread_cancel(t) ||
	    pthread_join(t, &r) || r != PTHREAD_CANCELED)
		return 6;
	if (pthread_join(pthread_self(), NULL) != EDEADLK)
		return 7;
	if (pthread_create(&t, NULL, returns, NULL) || pthread_detach(t))
		return 8;
	int j = pthread_join(t, NULL);	/* detached: not joinable (or gone) */
	if (j != EINVAL && j != ESRCH)
		return 9;
	return 0;
}

/* Joins a thread it did not start (a kernel thread's). */
long ext_join_foreign(long t)
{
	return pthread_join((pthread_t)t, NULL);
}

long ext_crash(long unused)
{
	(void)unused;
	return *nowhere;
}
