/*
 * evil - a malicious module (issue 12): its init_module does what the
 * parameter act=NAME says to the process it runs in, with libc alone
 * (no Nooks call, nothing but the nk API otherwise).  Natively that
 * process is the kernel's; on the process backend it is its own domain
 * process.  tests/proc/run.sh loads it beside tests/hostile's witness.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pthread.h>

#include "nk/core.h"
#include "nk/kthread.h"
#include "nk/module.h"

static volatile uintptr_t step = 0x1000;

/* a thread of its own that sleeps in the kernel for ever */
static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		msleep(50);
	return NULL;
}

static void act(const char *what)
{
	if (!strcmp(what, "close")) {		/* every descriptor */
		for (int fd = 0; fd < 4096; fd++)
			close(fd);
	} else if (!strcmp(what, "threads")) {	/* as many as it may, each in msleep */
		int n = 0;
		pthread_t t;
		while (n < 200 && !pthread_create(&t, NULL, sleeper, NULL))
			n++;
		pr_info("evil: %d threads started", n);
	} else if (!strcmp(what, "kill")) {	/* the process it is in */
		kill(getpid(), SIGKILL);
	} else if (!strcmp(what, "killparent")) {
		kill(getppid(), SIGKILL);
	} else if (!strcmp(what, "exit_group")) {
		syscall(SYS_exit_group, 7);
	} else if (!strcmp(what, "execve")) {
		char *argv[] = { "/bin/true", NULL };
		execve("/bin/true", argv, argv + 1);
	} else if (!strcmp(what, "fork")) {	/* a copy that closes everything */
		if (fork() == 0) {
			sleep(30);
			_exit(0);
		}
	} else if (!strcmp(what, "sigaction")) {	/* every fault ignored */
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		for (int s = 1; s < 32; s++)
			if (s != SIGKILL && s != SIGSTOP)
				sigaction(s, &sa, NULL);
		raise(SIGTERM);
	} else if (!strcmp(what, "blockloop")) {	/* deaf and busy */
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		for (;;)
			__asm__ volatile("" ::: "memory");
	} else if (!strcmp(what, "wild")) {	/* writes everywhere it can */
		for (uintptr_t a = step << 4; ; a += step)
			*(volatile long *)a = 0;
	} else if (!strcmp(what, "chdir")) {
		if (chdir("/"))
			pr_err("evil: chdir: %d", errno);
	} else if (!strcmp(what, "rlimit")) {	/* no more descriptors for anyone */
		struct rlimit rl = { 0, 0 };
		setrlimit(RLIMIT_NOFILE, &rl);
	} else if (!strcmp(what, "memory")) {	/* all it can get, touched */
		for (;;) {
			char *p = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				break;
			for (size_t i = 0; i < (64u << 20); i += 4096)
				p[i] = 1;
		}
	}
}

int init_module(void)
{
	char what[32] = "";

	module_param_get("act", what, sizeof(what));
	pr_info("evil: %s", what);
	act(what);
	return 0;
}

void cleanup_module(void)
{
}
