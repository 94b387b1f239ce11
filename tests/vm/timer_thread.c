/*
 * timer_thread - a module whose callback runs on a thread libc starts
 * (a SIGEV_THREAD timer: no interposition sees that thread, so it runs
 * outside any domain, docs/runtime.md "Not yet"), and which calls the
 * kernel from there: sock_create_kern writes a kernel object.
 *
 * On the pkey backend that thread descends from the module's own code
 * and inherits its PKRU, with the arena's key write-disabled: the
 * kernel code it calls must run with the key enabled all the same, or
 * the kernel faults in its own code and dies (tests/vm/khttpd_pkey.sh).
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "nk/core.h"
#include "nk/module.h"
#include "nk/net.h"

static timer_t tm;

static void fire(union sigval v)
{
	struct socket *s;
	(void)v;
	if (sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &s) == 0) {
		pr_info("timer_thread: the kernel made a socket for a libc thread");
		sock_release(s);
	}
}

int init_module(void)
{
	struct sigevent ev;
	struct itimerspec its = { .it_value = { 0, 50 * 1000 * 1000 } };

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD;
	ev.sigev_notify_function = fire;
	if (timer_create(CLOCK_MONOTONIC, &ev, &tm) || timer_settime(tm, 0, &its, NULL))
		return -EAGAIN;
	return 0;
}

void cleanup_module(void)
{
	timer_delete(tm);
}
