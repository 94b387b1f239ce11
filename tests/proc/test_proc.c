/*
 * test_proc.c - the process backend (issue 12): crossings both ways over
 * shared memory, a partner thread per kernel thread, the death of the
 * domain process in every way seen at once and recovered by a restart,
 * deadlines and the heartbeat, and the malicious cases, each beside a
 * witness domain, with the kernel's memory, descriptors, working
 * directory and signal handlers checked untouched afterwards.
 *
 * The "extension code" here is thunks of this program: a domain process
 * is a fork of the program's zygote, so they are at the same addresses
 * there, as the generated thunks are for a real extension.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sched.h>

#include <CUnit/CUnit.h>

#include "nooks_runtime.h"
#include "nooks_internal.h"

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct nooks_domain *mk(const char *name)
{
	struct nooks_domain *d = nooks_domain_create(name, NOOKS_BACKEND_PROCESS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	return d;
}

static void msleep_(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* ---- extension code ------------------------------------------------------ */

struct f_add {
	int a, b, ret;
	pid_t pid;
};

static void t_add(void *p)
{
	struct f_add *f = p;
	f->ret = f->a + f->b;
	f->pid = getpid();
}

static int add_in(struct nooks_domain *d, int a, int b, pid_t *pid)
{
	struct f_add f = { a, b, 0, 0 };
	if (nooks_xpc_ext_frame(d, t_add, &f, sizeof(f), 0))
		return -1;
	if (pid)
		*pid = f.pid;
	return f.ret;
}

/* A kernel call, framed as the generated kernel wrappers frame theirs:
 * the calling domain first, the result next (all the kernel writes back
 * into the frame), results beyond it through pointers into the domain's
 * memory.  Run as the kernel, on the kernel's copy of the frame. */
struct kf {
	struct nooks_domain *dom;
	long ret;
	int in;
	pid_t *kpid;
	struct nooks_domain **caller, **dom_seen;
	char *buf;
	int *buf_ok, *nested;
};

static void k_double(void *p)
{
	struct kf *k = p;
	struct nooks_domain *d = nooks_caller();
	k->ret = k->in * 2;
	*k->kpid = getpid();
	*k->caller = d;
	*k->dom_seen = k->dom;
	*k->buf_ok = nooks_check_buffer(d, k->buf, 64, 1) == 0;
	if (*k->buf_ok)
		snprintf(k->buf, 64, "from the kernel %ld", k->ret);
	if (k->in == 7)		/* and into the extension again, nested */
		*k->nested = add_in(d, 40, 2, NULL);
}

static void k_not_allowed(void *p)
{
	(void)p;
	abort();	/* never run: not a thunk the kernel allowed */
}

struct f_kc {
	int v, got;
	pid_t kpid;
	struct nooks_domain *caller, *dom_seen;
	char buf[64];
	int buf_ok, nested;
	int bad;
};

static void t_kcall(void *p)
{
	struct f_kc *f = p;
	pid_t kpid = 0;
	struct nooks_domain *caller = NULL, *seen = NULL;
	char buf[64] = "";
	int ok = 0, nested = 0;
	/* a domain that names another domain in its frame */
	struct kf k = { .dom = (struct nooks_domain *)0xdead0, .in = f->v, .kpid = &kpid,
			.caller = &caller, .dom_seen = &seen, .buf = buf, .buf_ok = &ok,
			.nested = &nested };
	nooks_xpc_kernel(nooks_self(), f->bad ? k_not_allowed : k_double, &k);
	f->got = (int)k.ret;
	f->kpid = kpid;
	f->caller = caller;
	f->dom_seen = seen;
	f->buf_ok = ok;
	f->nested = nested;
	memcpy(f->buf, buf, sizeof(f->buf));
}

static void t_null(void *p)
{
	(void)p;
}

static void t_null_kcall(void *p)
{
	int n = *(int *)p;
	pid_t kpid;
	struct nooks_domain *caller, *seen;
	char buf[64];
	int ok, nested;
	struct kf k = { .in = 1, .kpid = &kpid, .caller = &caller, .dom_seen = &seen,
			.buf = buf, .buf_ok = &ok, .nested = &nested };
	for (int i = 0; i < n; i++)
		nooks_xpc_kernel(nooks_self(), k_double, &k);
}

struct f_sleep {
	int ms;
	pid_t tid;
};

static void t_sleep(void *p)
{
	struct f_sleep *f = p;
	f->tid = (pid_t)syscall(SYS_gettid);
	msleep_(f->ms);
}

static volatile uintptr_t null_addr = 16;

static void t_segv(void *p)
{
	(void)p;
	*(volatile int *)null_addr = 1;
}

static void t_loop(void *p)
{
	(void)p;
	for (;;)
		__asm__ volatile("" ::: "memory");
}

/* ---- the kernel's state the malicious cases must not reach --------------- */

static volatile long canary = 0x600dcafe;
static int kpipe[2] = { -1, -1 };
static char kcwd[4096];
static struct sigaction ksegv;
static struct nooks_domain *witness;

static void kernel_state_save(void)
{
	if (kpipe[0] < 0)
		CU_ASSERT_EQUAL_FATAL(pipe(kpipe), 0);
	CU_ASSERT_PTR_NOT_NULL(getcwd(kcwd, sizeof(kcwd)));
	sigaction(SIGSEGV, NULL, &ksegv);
	if (!witness)
		witness = mk("witness");
}

/* The kernel and the witness as they were. */
static void kernel_state_check(const char *what)
{
	char cwd[4096];
	struct sigaction sa;
	pid_t wpid = 0;

	CU_ASSERT_EQUAL(canary, 0x600dcafe);
	CU_ASSERT(fcntl(kpipe[0], F_GETFD) >= 0 && fcntl(kpipe[1], F_GETFD) >= 0);
	CU_ASSERT(write(kpipe[1], "x", 1) == 1);
	char c;
	CU_ASSERT(read(kpipe[0], &c, 1) == 1);
	CU_ASSERT(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, kcwd));
	sigaction(SIGSEGV, NULL, &sa);
	CU_ASSERT(sa.sa_handler == ksegv.sa_handler);
	CU_ASSERT_EQUAL(add_in(witness, 20, 22, &wpid), 42);
	CU_ASSERT(wpid > 0 && wpid != getpid());
	CU_ASSERT_EQUAL(nooks_domain_state(witness), NOOKS_UP);
	if (canary != 0x600dcafe || nooks_domain_state(witness) != NOOKS_UP)
		printf("\n  %s: reached the kernel or the witness\n", what);
}

/* ---- tests ----------------------------------------------------------------- */

/* Is pid in this process's namespace of that kind? */
static int same_ns(pid_t pid, const char *kind)
{
	char a[64], b[64], la[128] = "", lb[128] = "";
	snprintf(a, sizeof(a), "/proc/self/ns/%s", kind);
	snprintf(b, sizeof(b), "/proc/%d/ns/%s", (int)pid, kind);
	CU_ASSERT(readlink(a, la, sizeof(la) - 1) > 0);
	CU_ASSERT(readlink(b, lb, sizeof(lb) - 1) > 0);
	return !strcmp(la, lb);
}

static void test_cross(void)
{
	struct nooks_domain *d = mk("p-cross");
	pid_t pid = 0;

	CU_ASSERT_EQUAL(nooks_domain_backend(d), NOOKS_BACKEND_PROCESS);
	CU_ASSERT_STRING_EQUAL(nooks_backend_name(NOOKS_BACKEND_PROCESS), "process");
	CU_ASSERT_EQUAL(nooks_backend_parse("process"), NOOKS_BACKEND_PROCESS);
	CU_ASSERT_EQUAL(add_in(d, 2, 3, &pid), 5);
	CU_ASSERT(pid > 0 && pid != getpid());
	CU_ASSERT_EQUAL(pid, nooks_proc_pid(d));
	/* its own user namespace (root may create one here), no network
	 * namespace unless asked */
	CU_ASSERT_EQUAL(nooks_proc_namespaces(d), CLONE_NEWUSER);
	CU_ASSERT(!same_ns(pid, "user"));
	CU_ASSERT(same_ns(pid, "net"));
	/* a crossing without the frame's size is refused, not guessed */
	struct f_add f = { 1, 1, 0, 0 };
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, t_add, &f, 0), -1);
	CU_ASSERT_EQUAL(f.ret, 0);
	nooks_domain_destroy(d);
	CU_ASSERT(kill(pid, 0) == -1 || !usleep(100000));
}

/* A network namespace too when asked. */
static void test_netns(void)
{
	nooks_proc_set_namespaces(1);
	struct nooks_domain *d = mk("p-netns");
	pid_t pid = 0;
	CU_ASSERT_EQUAL(add_in(d, 2, 3, &pid), 5);
	CU_ASSERT_EQUAL(nooks_proc_namespaces(d), CLONE_NEWUSER | CLONE_NEWNET);
	CU_ASSERT(!same_ns(pid, "user"));
	CU_ASSERT(!same_ns(pid, "net"));
	nooks_domain_destroy(d);
	nooks_proc_set_namespaces(0);
}

static void test_kcall(void)
{
	struct nooks_domain *d = mk("p-kcall");
	struct f_kc f = { .v = 21 };

	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_kcall, &f, sizeof(f), 0), 0);
	CU_ASSERT_EQUAL(f.got, 42);
	CU_ASSERT_EQUAL(f.kpid, getpid());	/* ran in the kernel's process */
	CU_ASSERT_PTR_EQUAL(f.caller, d);	/* as the kernel, for d */
	CU_ASSERT_PTR_EQUAL(f.dom_seen, d);	/* not the domain its frame named */
	CU_ASSERT(f.buf_ok);			/* its stack is memory it may pass */
	CU_ASSERT_STRING_EQUAL(f.buf, "from the kernel 42");
	/* a nested crossing from the kernel call */
	f = (struct f_kc){ .v = 7 };
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_kcall, &f, sizeof(f), 0), 0);
	CU_ASSERT_EQUAL(f.got, 14);
	CU_ASSERT_EQUAL(f.nested, 42);
	/* a thunk the kernel never allowed: refused, and the domain killed */
	f = (struct f_kc){ .v = 1, .bad = 1 };
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_kcall, &f, sizeof(f), 0), -1);
	struct nooks_domain_stats st;
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_BOUND);
	CU_ASSERT(strstr(st.reason, "refused") != NULL);
	nooks_domain_destroy(d);
}

struct sleeper {
	struct nooks_domain *d;
	int ms, rc;
	pid_t tid;
	long long took_ns;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	struct f_sleep f = { s->ms, 0 };
	long long t0 = now_ns();
	s->rc = nooks_xpc_ext_frame(s->d, t_sleep, &f, sizeof(f), 0);
	s->took_ns = now_ns() - t0;
	s->tid = f.tid;
	return NULL;
}

/* Each kernel thread has its partner: four blocking calls at once take
 * the time of one. */
static void test_partners(void)
{
	struct nooks_domain *d = mk("p-partners");
	struct sleeper s[4];
	pthread_t t[4];
	long long t0 = now_ns();

	for (int i = 0; i < 4; i++) {
		s[i] = (struct sleeper){ .d = d, .ms = 300 };
		pthread_create(&t[i], NULL, sleeper_main, &s[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	long long took = now_ns() - t0;
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(s[i].rc, 0);
		for (int j = 0; j < i; j++)
			CU_ASSERT(s[i].tid != s[j].tid);
	}
	CU_ASSERT(took < 1100000000LL);	/* not 4 x 300 ms */
	/* the threads are gone: so are their partners, and a new thread
	 * gets a channel again */
	CU_ASSERT_EQUAL(add_in(d, 1, 2, NULL), 3);
	nooks_domain_destroy(d);
}

/* Death in a crossing, seen by every thread waiting on the domain; the
 * restart gives a new process that works. */
static void test_death_restart(void)
{
	struct nooks_domain *d = mk("p-death");
	struct sleeper s = { .d = d, .ms = 5000 };
	struct nooks_domain_stats st;
	pthread_t t;
	pid_t old = nooks_proc_pid(d), pid = 0;
	char why[128];

	pthread_create(&t, NULL, sleeper_main, &s);
	msleep_(100);
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_segv, NULL, 0, 0), -1);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(s.rc, -1);
	CU_ASSERT(s.took_ns < 2000000000LL);	/* not its 5 s */
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_DIED);
	CU_ASSERT_EQUAL(st.last_signal, SIGSEGV);
	CU_ASSERT_EQUAL(st.faults, 1);
	nooks_fault_describe(&st, why, sizeof(why));
	CU_ASSERT(strstr(why, "Segmentation fault") != NULL);
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_DOWN);
	CU_ASSERT_EQUAL(add_in(d, 1, 1, NULL), -1);	/* down: refused */
	nooks_domain_reset_wait(d, NULL);
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_UP);
	CU_ASSERT_EQUAL(add_in(d, 1, 1, &pid), 2);
	CU_ASSERT(pid != old && pid > 0);
	nooks_domain_destroy(d);
}

/* Memory shared in place (nooks_shared_alloc: a block cache): the
 * domain reads what the kernel wrote and the kernel what it wrote, at
 * the same address; a guard page faults in the domain; the memory
 * outlives a restart (zeroed) and is given back. */
struct f_shared {
	unsigned char *p;
	size_t off;
	int seen;
};

static void t_shared(void *p)
{
	struct f_shared *f = p;
	f->seen = f->p[f->off];
	f->p[f->off + 1] = (unsigned char)(f->seen + 1);
}

static void test_shared(void)
{
	struct nooks_domain *d = mk("p-shared");
	unsigned char *m = nooks_shared_alloc(d, 3 * 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL((uintptr_t)m % 4096, 0);
	m[100] = 41;
	struct f_shared f = { m, 100, 0 };
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_shared, &f, sizeof(f), 0), 0);
	CU_ASSERT_EQUAL(f.seen, 41);
	CU_ASSERT_EQUAL(m[101], 42);	/* its write, in place */
	/* a second allocation does not overlap the first */
	unsigned char *m2 = nooks_shared_alloc(d, 4096);
	CU_ASSERT(m2 && (m2 >= m + 3 * 4096 || m2 + 4096 <= m));
	/* the middle page guarded: the domain's access faults */
	CU_ASSERT_EQUAL(nooks_shared_guard(d, m + 4096, 4096), 0);
	f = (struct f_shared){ m, 4096 + 8, 0 };
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_shared, &f, sizeof(f), 0), -1);
	struct nooks_domain_stats st;
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.last_signal, SIGSEGV);
	nooks_domain_reset_wait(d, NULL);
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_UP);
	/* a new process: the memory is still there, zeroed, still guarded */
	CU_ASSERT_EQUAL(m[100], 0);
	f = (struct f_shared){ m, 2 * 4096, 0 };
	m[2 * 4096] = 7;
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_shared, &f, sizeof(f), 0), 0);
	CU_ASSERT_EQUAL(m[2 * 4096 + 1], 8);
	f = (struct f_shared){ m, 4096, 0 };
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_shared, &f, sizeof(f), 0), -1);
	nooks_domain_reset_wait(d, NULL);
	/* given back: the same pages again, unguarded for the domain */
	nooks_shared_free(d, m, 3 * 4096);
	unsigned char *m3 = nooks_shared_alloc(d, 3 * 4096);
	CU_ASSERT_PTR_EQUAL(m3, m);
	f = (struct f_shared){ m3, 4096, 0 };
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_shared, &f, sizeof(f), 0), 0);
	nooks_shared_free(d, m3, 3 * 4096);
	nooks_shared_free(d, m2, 4096);
	/* more than the area: refused */
	CU_ASSERT_PTR_NULL(nooks_shared_alloc(d, (size_t)256 << 20));
	nooks_domain_destroy(d);
}

/* Deferred calls from a domain process: queued by the thread and run by
 * the kernel, in order, when the call into the domain returns; a queue
 * naming a function the kernel does not allow kills the domain (the
 * deferred path is checked as a single kernel call is). */
struct kdef {
	struct nooks_domain *dom;
	long ret;
	long v;
};

static long kdef_seen[64];
static int kdef_n;

static void k_deferred(void *p)
{
	struct kdef *k = p;
	if (kdef_n < 64)
		kdef_seen[kdef_n++] = k->v;
}

struct f_def {
	int n, bad;
};

static void t_defer(void *p)
{
	struct f_def *f = p;
	for (int i = 0; i < f->n; i++) {
		struct kdef k = { .v = i + 1 };
		nooks_xpc_defer(nooks_self(), f->bad && i == 1 ? k_not_allowed : k_deferred,
				&k, sizeof(k));
	}
}

static void t_last_words(void *p)
{
	(void)p;
	nk_proc_last_words("bad\nline\x01 end");
	_exit(3);
}

static void test_deferred(void)
{
	struct nooks_domain *d = mk("p-defer");
	struct nooks_domain_stats st;
	char why[160];

	/* 40 calls: one full queue (32) flushed on the way, the rest at the
	 * return, in order */
	kdef_n = 0;
	struct f_def f = { 40, 0 };
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_defer, &f, sizeof(f), 0), 0);
	CU_ASSERT_EQUAL(kdef_n, 40);
	int in_order = 1;
	for (int i = 0; i < kdef_n; i++)
		in_order &= kdef_seen[i] == i + 1;
	CU_ASSERT(in_order);
	/* one it may not run: the domain dies, none of the queue runs */
	kdef_n = 0;
	f = (struct f_def){ 3, 1 };
	nooks_xpc_ext_frame(d, t_defer, &f, sizeof(f), 0);
	for (int i = 0; i < 200 && nooks_domain_state(d) == NOOKS_UP; i++)
		msleep_(5);
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_DOWN);
	CU_ASSERT(kdef_n <= 1);		/* what came before the refused one, at most */
	nooks_domain_stats(d, &st);
	nooks_fault_describe(&st, why, sizeof(why));
	CU_ASSERT(strstr(why, "deferred a call the kernel does not allow") != NULL);
	nooks_domain_reset_wait(d, NULL);
	/* its last words reach the kernel's report, printable only */
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_last_words, NULL, 0, 0), -1);
	nooks_domain_stats(d, &st);
	nooks_fault_describe(&st, why, sizeof(why));
	CU_ASSERT(strstr(why, "exited (status 3): bad?line? end") != NULL);
	nooks_domain_destroy(d);
}

static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 4096; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, ch;
	if (!f)
		return -1;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* Many faults and restarts (1,000; NOOKS_PROC_CYCLES): nothing
 * accumulates in the kernel, neither descriptors nor mappings. */
static void test_restart_cycles(void)
{
	struct nooks_domain *d = mk("p-cycles");
	const char *e = getenv("NOOKS_PROC_CYCLES");
	int cycles = e ? atoi(e) : 1000, ok = 0, fds, maps;
	long long total = 0, worst = 0;

	CU_ASSERT_EQUAL(add_in(d, 1, 1, NULL), 2);
	fds = count_fds();
	maps = count_maps();
	for (int i = 0; i < cycles; i++) {
		long long t0 = now_ns();
		if (nooks_xpc_ext_frame(d, t_segv, NULL, 0, 0) != -1)
			break;
		nooks_domain_reset_wait(d, NULL);
		ok += add_in(d, i, 1, NULL) == i + 1;
		long long took = now_ns() - t0;
		total += took;
		if (took > worst)
			worst = took;
	}
	CU_ASSERT_EQUAL(ok, cycles);
	CU_ASSERT_EQUAL(count_fds(), fds);
	/* a few: glibc's arenas and thread stacks may come and go */
	int maps_after = count_maps();
	CU_ASSERT(maps_after <= maps + 4);
	struct nooks_domain_stats st;
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.faults, (unsigned long)cycles);
	printf("\n  %d fault-restart-call cycles: mean %.2f ms, worst %.2f ms "
	       "(restart alone last %.2f ms; mappings %d, then %d) ", cycles, total / 1e6 / (cycles ? cycles : 1),
	       worst / 1e6, nooks_proc_restart_ns(d) / 1e6, maps, maps_after);
	nooks_domain_destroy(d);
}

static void test_kill9_outside(void)
{
	struct nooks_domain *d = mk("p-kill9");
	struct sleeper s = { .d = d, .ms = 10000 };
	struct nooks_domain_stats st;
	pthread_t t;

	pthread_create(&t, NULL, sleeper_main, &s);
	msleep_(100);
	long long t0 = now_ns();
	kill(nooks_proc_pid(d), SIGKILL);
	pthread_join(t, NULL);
	long long took = now_ns() - t0;
	CU_ASSERT_EQUAL(s.rc, -1);
	CU_ASSERT(took < 500000000LL);
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_DIED);
	CU_ASSERT_EQUAL(st.last_signal, SIGKILL);
	printf("\n  kill -9 of the domain seen by the waiting thread after %.2f ms ",
	       took / 1e6);
	nooks_domain_reset_wait(d, NULL);
	CU_ASSERT_EQUAL(add_in(d, 2, 2, NULL), 4);
	nooks_domain_destroy(d);
}

static void test_deadline(void)
{
	struct nooks_domain *d = mk("p-deadline");
	struct nooks_domain_stats st;
	long long t0 = now_ns();

	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_loop, NULL, 0, 200), -1);
	CU_ASSERT(now_ns() - t0 < 2000000000LL);
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_TIMEOUT);
	nooks_domain_reset_wait(d, NULL);
	CU_ASSERT_EQUAL(add_in(d, 3, 3, NULL), 6);
	nooks_domain_destroy(d);
}

/* A domain process that stops answering (stopped from outside here) is
 * killed by the heartbeat, even with no crossing under way. */
static void test_heartbeat(void)
{
	struct nooks_domain *d = mk("p-heartbeat");
	struct nooks_domain_stats st;

	nooks_proc_set_heartbeat(300);
	CU_ASSERT_EQUAL(add_in(d, 1, 2, NULL), 3);
	kill(nooks_proc_pid(d), SIGSTOP);
	for (int i = 0; i < 300 && nooks_domain_state(d) == NOOKS_UP; i++)
		msleep_(10);
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_DOWN);
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_BOUND);
	CU_ASSERT(strstr(st.reason, "heartbeat") != NULL);
	nooks_proc_set_heartbeat(1000);
	nooks_domain_reset_wait(d, NULL);
	CU_ASSERT_EQUAL(add_in(d, 2, 2, NULL), 4);
	nooks_domain_destroy(d);
}

/* ---- the malicious cases ---------------------------------------------------- */

struct f_host {
	int which;
	pid_t kpid;
	const volatile long *canary;
	const int *obj;			/* an arena object, read-only view */
	int seen, r, err;
	long n;
};

enum {
	H_WILD, H_ARENA_MPROTECT, H_ARENA_WRITE, H_ARENA_MUNMAP, H_SIGACTION, H_BLOCKLOOP,
	H_CLOSE, H_FORK, H_EXECVE, H_EXIT_GROUP, H_KILL_KERNEL, H_CHDIR, H_SPRAY,
	H_EXHAUST_MEM, H_EXHAUST_FD, H_SOCKET, H_OPEN, H_PTRACE,
};

static void t_hostile(void *p)
{
	struct f_host *f = p;
	unsigned char *page = (unsigned char *)((uintptr_t)f->obj & ~(uintptr_t)4095);

	switch (f->which) {
	case H_WILD:
		/* the kernel's canary: its address is the same here, its page a
		 * private copy; then everywhere until something faults */
		*(volatile long *)f->canary = 0xbad;
		f->seen = *(volatile long *)f->canary == 0xbad;
		for (uintptr_t a = null_addr << 12; ; a += 0x10000)
			*(volatile long *)a = 0xbad;
		break;
	case H_ARENA_MPROTECT:
		f->seen = *f->obj;
		f->r = mprotect(page, 4096, PROT_READ | PROT_WRITE);
		f->err = errno;
		break;
	case H_ARENA_WRITE:
		*(volatile int *)f->obj = 0xbad;
		break;
	case H_ARENA_MUNMAP:
		f->r = munmap(page, 4096);
		break;
	case H_SIGACTION: {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGSEGV, &sa, NULL);
		break;
	}
	case H_BLOCKLOOP: {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	case H_CLOSE:
		for (int fd = 0; fd < 1024; fd++)
			close(fd);
		break;
	case H_FORK:
		f->r = fork();
		break;
	case H_EXECVE: {
		char *argv[] = { "/bin/true", NULL };
		execve("/bin/true", argv, argv + 1);
		break;
	}
	case H_EXIT_GROUP:
		syscall(SYS_exit_group, 3);
		break;
	case H_KILL_KERNEL:
		kill(f->kpid, SIGKILL);
		kill(getppid(), SIGKILL);
		break;
	case H_CHDIR:
		f->r = chdir("/");
		break;
	case H_SPRAY: {
		/* its own data, all of it */
		static char spray[1 << 20];
		for (int i = 0; i < 16; i++)
			memset(spray, 0x41 + i, sizeof(spray));
		f->r = spray[12345];
		break;
	}
	case H_EXHAUST_MEM:
		while (malloc(1 << 20))
			f->n++;
		break;
	case H_EXHAUST_FD:
		for (;;)
			if (dup(0) < 0 && pipe((int[2]){ 0, 0 }) < 0)
				break;
		break;
	case H_SOCKET:
		f->r = socket(AF_INET, SOCK_STREAM, 0);
		break;
	case H_OPEN:
		f->r = open("/etc/passwd", O_RDONLY);
		break;
	case H_PTRACE:
		f->r = (int)syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, f->kpid, 0, 0);
		break;
	}
}

static int *kobj;

/* Runs case which in a domain of its own; 0 if the crossing returned,
 * -1 if it faulted; the domain's stats in *st. */
static int hostile(int which, struct f_host *f, struct nooks_domain_stats *st, unsigned timeout)
{
	struct nooks_domain *d = mk("hostile");
	int rc;

	kernel_state_save();
	if (!kobj) {
		kobj = nooks_arena_alloc(sizeof(int));
		CU_ASSERT_PTR_NOT_NULL_FATAL(kobj);
		*kobj = 42;
	}
	f->which = which;
	f->kpid = getpid();
	f->canary = &canary;
	f->obj = nooks_arena_view(d, kobj);
	rc = nooks_xpc_ext_frame(d, t_hostile, f, sizeof(*f), timeout);
	nooks_domain_stats(d, st);
	nooks_domain_destroy(d);
	CU_ASSERT_EQUAL(*kobj, 42);
	kernel_state_check("hostile case");
	return rc;
}

static void expect_died(int which, int sig)
{
	struct f_host f = { 0 };
	struct nooks_domain_stats st;

	CU_ASSERT_EQUAL(hostile(which, &f, &st, 0), -1);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_DIED);
	CU_ASSERT_EQUAL(st.last_signal, sig);
	if (st.last_signal != sig)
		printf("\n  case %d: signal %d, not %d ", which, st.last_signal, sig);
}

static void test_h_wild(void)
{
	struct f_host f = { 0 };
	struct nooks_domain_stats st;

	CU_ASSERT_EQUAL(hostile(H_WILD, &f, &st, 0), -1);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_DIED);
	CU_ASSERT_EQUAL(st.last_signal, SIGSEGV);
}

static void test_h_arena(void)
{
	struct f_host f = { 0 };
	struct nooks_domain_stats st;

	/* the arena is there, at the view's address, and stays read-only */
	CU_ASSERT_EQUAL(hostile(H_ARENA_MPROTECT, &f, &st, 0), 0);
	CU_ASSERT_EQUAL(f.seen, 42);
	CU_ASSERT_EQUAL(f.r, -1);
	CU_ASSERT_EQUAL(f.err, EACCES);
	expect_died(H_ARENA_WRITE, SIGSEGV);
	/* unmapping its own view harms only itself */
	CU_ASSERT_EQUAL(hostile(H_ARENA_MUNMAP, &f, &st, 0), 0);
	CU_ASSERT_EQUAL(f.r, 0);
}

static void test_h_syscalls(void)
{
	expect_died(H_SIGACTION, SIGSYS);
	expect_died(H_CLOSE, SIGSYS);
	expect_died(H_FORK, SIGSYS);
	expect_died(H_EXECVE, SIGSYS);
	expect_died(H_KILL_KERNEL, SIGSYS);
	expect_died(H_CHDIR, SIGSYS);
	expect_died(H_EXHAUST_FD, SIGSYS);
	expect_died(H_SOCKET, SIGSYS);
	expect_died(H_OPEN, SIGSYS);
	expect_died(H_PTRACE, SIGSYS);
}

static void test_h_exit_group(void)
{
	struct f_host f = { 0 };
	struct nooks_domain_stats st;

	CU_ASSERT_EQUAL(hostile(H_EXIT_GROUP, &f, &st, 0), -1);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_DIED);
	CU_ASSERT_EQUAL(st.last_signal, 0);
	CU_ASSERT_EQUAL(st.last_code, 3);
}

static void test_h_blockloop(void)
{
	struct f_host f = { 0 };
	struct nooks_domain_stats st;

	CU_ASSERT_EQUAL(hostile(H_BLOCKLOOP, &f, &st, 300), -1);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_TIMEOUT);
}

static void test_h_memory(void)
{
	struct f_host f = { 0 };
	struct nooks_domain_stats st;

	CU_ASSERT_EQUAL(hostile(H_SPRAY, &f, &st, 0), 0);
	CU_ASSERT_EQUAL(f.r, 0x41 + 15);
	/* its address space is bounded (RLIMIT_AS): malloc fails in it */
	CU_ASSERT_EQUAL(hostile(H_EXHAUST_MEM, &f, &st, 0), 0);
	CU_ASSERT(f.n > 16 && f.n < 8192);
}

/* ---- what it costs ------------------------------------------------------------ */

static void test_cost(void)
{
	struct nooks_domain *d = mk("p-cost");
	const int n = 20000;
	int k = n;

	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_null, NULL, 0, 0), 0);
	long long t0 = now_ns();
	for (int i = 0; i < n; i++)
		nooks_xpc_ext_frame(d, t_null, NULL, 0, 0);
	long long cross = now_ns() - t0;
	t0 = now_ns();
	CU_ASSERT_EQUAL(nooks_xpc_ext_frame(d, t_null_kcall, &k, sizeof(k), 0), 0);
	long long kcall = now_ns() - t0;
	printf("\n  null crossing %.2f us, kernel call from the domain %.2f us ",
	       cross / 1e3 / n, kcall / 1e3 / n);
	nooks_proc_set_spin(0);
	t0 = now_ns();
	for (int i = 0; i < 2000; i++)
		nooks_xpc_ext_frame(d, t_null, NULL, 0, 0);
	printf("(futex only, no spin: %.2f us) ", (now_ns() - t0) / 1e3 / 2000);
	nooks_proc_set_spin(2000);
	nooks_domain_destroy(d);
}

void register_proc_tests(void);
void register_proc_tests(void)
{
	nooks_proc_allow_kcall(k_double);
	nooks_proc_allow_kcall(k_deferred);
	CU_pSuite s = CU_add_suite("process backend", NULL, NULL);
	CU_add_test(s, "a crossing runs in the domain process", test_cross);
	CU_add_test(s, "its own network namespace when asked", test_netns);
	CU_add_test(s, "kernel calls from the domain, nested crossings, refusal", test_kcall);
	CU_add_test(s, "a partner thread per kernel thread", test_partners);
	CU_add_test(s, "death seen by every waiter; restart", test_death_restart);
	CU_add_test(s, "memory shared in place, guard pages, across restarts", test_shared);
	CU_add_test(s, "deferred calls batched; a forbidden one; last words", test_deferred);
	CU_add_test(s, "fault-restart cycles leak nothing", test_restart_cycles);
	CU_add_test(s, "kill -9 from outside", test_kill9_outside);
	CU_add_test(s, "deadline kills a looping domain", test_deadline);
	CU_add_test(s, "heartbeat kills a stopped domain", test_heartbeat);
	CU_pSuite h = CU_add_suite("process backend: malicious cases", NULL, NULL);
	CU_add_test(h, "wild writes everywhere", test_h_wild);
	CU_add_test(h, "the arena: mprotect, write, munmap", test_h_arena);
	CU_add_test(h, "forbidden system calls (seccomp)", test_h_syscalls);
	CU_add_test(h, "exit_group", test_h_exit_group);
	CU_add_test(h, "all signals blocked and a loop", test_h_blockloop);
	CU_add_test(h, "heap spraying, memory exhaustion", test_h_memory);
	CU_pSuite c = CU_add_suite("process backend: costs", NULL, NULL);
	CU_add_test(c, "null crossing and kernel call", test_cost);
}
