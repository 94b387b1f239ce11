/*
 * test_xpc.c - crossings and fault containment with real faults in a real
 * extension shared object (ext_faults.so, built by the test suite and
 * loaded with dlopen as the loader will).
 *
 * Every fault class is raised for real inside the extension on the
 * mprotect backend and on pkey (which falls back to mprotect where there
 * are no protection keys; tests/vm runs it where there are): the test
 * process survives, the crossing returns -1 with the right cause, the
 * domain is down until reset, and the reloaded extension serves the next
 * call with fresh state.  The none backend shows what isolation prevents.
 *
 * Not run under AddressSanitizer: it cannot follow a switch to the
 * extension's own stack or a jump out of a signal handler.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "leaks.h"
#include "nooks_internal.h"
#include "nooks_runtime.h"

static const char *so_path;
static void *so;

struct ext {
	int (*add)(int, int);
	int (*null_deref)(void);
	int (*wild_write)(int *);
	int (*stack_overflow)(int);
	int (*infinite_loop)(void);
	int (*abort_)(void);
	int (*div_zero)(int);
	int (*illegal)(void);
	int (*counter)(void);
} ext;

static int load(void)
{
	so = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
	if (!so)
		return -1;
	*(void **)&ext.add = dlsym(so, "ext_add");
	*(void **)&ext.null_deref = dlsym(so, "ext_null_deref");
	*(void **)&ext.wild_write = dlsym(so, "ext_wild_write");
	*(void **)&ext.stack_overflow = dlsym(so, "ext_stack_overflow");
	*(void **)&ext.infinite_loop = dlsym(so, "ext_infinite_loop");
	*(void **)&ext.abort_ = dlsym(so, "ext_abort");
	*(void **)&ext.div_zero = dlsym(so, "ext_div_zero");
	*(void **)&ext.illegal = dlsym(so, "ext_illegal");
	*(void **)&ext.counter = dlsym(so, "ext_counter");
	return ext.add && ext.counter ? 0 : -1;
}

static void reload(void)
{
	dlclose(so);
	CU_ASSERT_EQUAL_FATAL(load(), 0);
}

/* ---- thunks: what generated extension wrappers do ----------------------- */

enum which { ADD, NULL_DEREF, WILD_WRITE, STACK_OVERFLOW, LOOP, ABORT, DIV_ZERO,
	     ILLEGAL, COUNTER };

struct frame {
	enum which w;
	int a, b;
	int *obj;
	int ret;
};

static void thunk(void *p)
{
	struct frame *f = p;
	switch (f->w) {
	case ADD: f->ret = ext.add(f->a, f->b); break;
	case NULL_DEREF: f->ret = ext.null_deref(); break;
	case WILD_WRITE: f->ret = ext.wild_write(f->obj); break;
	case STACK_OVERFLOW: f->ret = ext.stack_overflow(0); break;
	case LOOP: f->ret = ext.infinite_loop(); break;
	case ABORT: f->ret = ext.abort_(); break;
	case DIV_ZERO: f->ret = ext.div_zero(f->a); break;
	case ILLEGAL: f->ret = ext.illegal(); break;
	case COUNTER: f->ret = ext.counter(); break;
	}
}

static int call(struct nooks_domain *d, enum which w, int a, int b, int *obj,
		unsigned timeout, int *ret)
{
	struct frame f = { .w = w, .a = a, .b = b, .obj = obj, .ret = -12345 };
	int rc = nooks_xpc_ext(d, thunk, &f, timeout);
	if (ret)
		*ret = f.ret;
	return rc;
}

static int add(struct nooks_domain *d, int a, int b)
{
	int r;
	return call(d, ADD, a, b, NULL, 0, &r) ? -1 : r;
}

/* ---- the fault classes -------------------------------------------------- */

struct fault_case {
	const char *name;
	enum which w;
	enum nooks_fault fault;
	int sig;
};

static const struct fault_case cases[] = {
	{ "null dereference", NULL_DEREF, NOOKS_FAULT_SIGNAL, SIGSEGV },
	{ "wild write into the kernel arena", WILD_WRITE, NOOKS_FAULT_SIGNAL, SIGSEGV },
	{ "stack overflow", STACK_OVERFLOW, NOOKS_FAULT_SIGNAL, SIGSEGV },
	{ "infinite loop", LOOP, NOOKS_FAULT_TIMEOUT, 0 },
	{ "abort", ABORT, NOOKS_FAULT_SIGNAL, SIGABRT },
	{ "division by zero", DIV_ZERO, NOOKS_FAULT_SIGNAL, SIGFPE },
	{ "illegal instruction", ILLEGAL, NOOKS_FAULT_SIGNAL, SIGILL },
};

/* What a pkey domain really runs on here: pkey where the arena has a
 * protection key, else mprotect. */
static enum nooks_backend pkey_here(void)
{
	return nk_arena_pkey() >= 0 ? NOOKS_BACKEND_PKEY : NOOKS_BACKEND_MPROTECT;
}

static void contain(enum nooks_backend backend)
{
	struct nooks_domain *d = nooks_domain_create("faults", backend);
	int *kobj = nooks_arena_alloc(sizeof(int));

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(kobj);
	backend = backend == NOOKS_BACKEND_PKEY ? pkey_here() : backend;
	CU_ASSERT_EQUAL(nooks_domain_backend(d), backend);
	/* the extension is given the object as nooks_out gives it: the
	 * read-only view on mprotect, the address itself on pkey (its key
	 * is write-disabled while the extension runs) */
	CU_ASSERT_TRUE(nooks_arena_protected());
	int *seen = nooks_arena_view(d, kobj);
	if (backend == NOOKS_BACKEND_PKEY) {
		CU_ASSERT_PTR_EQUAL(seen, kobj);
	} else {
		CU_ASSERT_PTR_NOT_EQUAL(seen, kobj);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fault_case *c = &cases[i];
		struct nooks_domain_stats st;

		*kobj = 42;
		CU_ASSERT_EQUAL(*seen, 42);
		CU_ASSERT_EQUAL(call(d, COUNTER, 0, 0, NULL, 0, NULL), 0);
		CU_ASSERT_EQUAL(call(d, c->w, 0, 0, seen, 100, NULL), -1);
		nooks_domain_stats(d, &st);
		if (st.last_fault != c->fault || st.last_signal != c->sig)
			fprintf(stderr, "\n    %s: fault %d signal %d", c->name,
				st.last_fault, st.last_signal);
		CU_ASSERT_EQUAL(st.last_fault, c->fault);
		CU_ASSERT_EQUAL(st.last_signal, c->sig);
		CU_ASSERT_EQUAL(*kobj, 42);	/* a wild write never lands */
		if (c->w == WILD_WRITE) {	/* stopped by the key, or the view */
			CU_ASSERT_EQUAL(st.last_code, backend == NOOKS_BACKEND_PKEY ?
					SEGV_PKUERR : SEGV_ACCERR);
		}
		CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_DOWN);
		/* down: the next call fails at once, without running, and
		 * the fault that took the domain down is still the one told */
		CU_ASSERT_EQUAL(add(d, 1, 2), -1);
		nooks_domain_stats(d, &st);
		CU_ASSERT_EQUAL(st.last_fault, c->fault);
		CU_ASSERT_EQUAL(st.last_signal, c->sig);
		/* recovery: release, reload, serve again with fresh state */
		CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
		reload();
		CU_ASSERT_EQUAL(add(d, 2, 3), 5);
		int n = 0;
		CU_ASSERT_EQUAL(call(d, COUNTER, 0, 0, NULL, 0, &n), 0);
		CU_ASSERT_EQUAL(n, 1);
	}
	*kobj = 7;				/* the kernel writes freely again */
	CU_ASSERT_EQUAL(*kobj, 7);
	nooks_arena_free(kobj);
	nooks_domain_destroy(d);
}

static void test_contain_mprotect(void)
{
	contain(NOOKS_BACKEND_MPROTECT);
}

static void test_contain_pkey(void)
{
	contain(NOOKS_BACKEND_PKEY);		/* without keys: mprotect */
}

/* A kernel thread that writes an arena object for as long as it is told,
 * counting its writes. */
struct arena_writer {
	int *obj;
	atomic_int stop;
	long writes;
};

static void *write_loop(void *p)
{
	struct arena_writer *w = p;
	while (!atomic_load(&w->stop)) {
		*(volatile int *)w->obj = (int)w->writes;
		w->writes++;
	}
	return NULL;
}

/* The protection is the extension thread's own: while one thread's
 * extension code is stopped writing the arena (by the key on pkey, by the
 * read-only view on mprotect), another kernel thread writes the same
 * object unhindered, and nothing changes protection process-wide. */
static void isolate_per_thread(enum nooks_backend backend)
{
	struct nooks_domain *d = nooks_domain_create("per-thread", backend);
	struct arena_writer w = { .obj = nooks_arena_alloc(2 * sizeof(int)) };
	pthread_t t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w.obj);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, write_loop, &w), 0);
	int *target = nooks_arena_view(d, w.obj + 1);
	for (int i = 0; i < 50; i++) {
		struct nooks_domain_stats st;
		w.obj[1] = 42;
		long before = w.writes;
		CU_ASSERT_EQUAL(call(d, WILD_WRITE, 0, 0, target, 0, NULL), -1);
		nooks_domain_stats(d, &st);
		CU_ASSERT_EQUAL(st.last_signal, SIGSEGV);
		CU_ASSERT_EQUAL(st.last_code, nooks_domain_backend(d) == NOOKS_BACKEND_PKEY ?
				SEGV_PKUERR : SEGV_ACCERR);
		CU_ASSERT_EQUAL(w.obj[1], 42);
		CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
		reload();
		/* the writer was never stopped: it goes on writing */
		struct timespec ts = { 0, 100000 };
		while (w.writes == before)
			nanosleep(&ts, NULL);
	}
	atomic_store(&w.stop, 1);
	pthread_join(t, NULL);
	CU_ASSERT_TRUE(w.writes > 50);
	nooks_arena_free(w.obj);
	nooks_domain_destroy(d);
}

static void test_per_thread_mprotect(void)
{
	isolate_per_thread(NOOKS_BACKEND_MPROTECT);
}

static void test_per_thread_pkey(void)
{
	isolate_per_thread(NOOKS_BACKEND_PKEY);
}

/* The none backend: the same wild write lands, which is what the
 * isolating backends stop. */
static void test_none_corrupts(void)
{
	struct nooks_domain *d = nooks_domain_create("none", NOOKS_BACKEND_NONE);
	int *kobj = nooks_arena_alloc(sizeof(int));

	*kobj = 42;
	CU_ASSERT_EQUAL(call(d, WILD_WRITE, 0, 0, kobj, 0, NULL), 0);
	CU_ASSERT_EQUAL(*kobj, 0xbad);
	CU_ASSERT_EQUAL(add(d, 20, 22), 42);
	nooks_arena_free(kobj);
	nooks_domain_destroy(d);
}

/* A fault in kernel code, even during a crossing, is not swallowed. */
struct kframe {
	int dummy;
};

static void kernel_bug(void *p)
{
	(void)p;
	volatile int *null = NULL;
	*null = 1;
}

static void ext_calls_kernel(void *p)
{
	nooks_xpc_kernel(NULL, kernel_bug, p);
}

static void test_kernel_fault_kills(void)
{
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct nooks_domain *d = nooks_domain_create("k", NOOKS_BACKEND_MPROTECT);
		struct kframe f;
		nooks_xpc_ext(d, ext_calls_kernel, &f, 0);
		_exit(0);	/* not reached */
	}
	int status;
	waitpid(pid, &status, 0);
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

/* ---- threads ------------------------------------------------------------ */

struct worker {
	struct nooks_domain *d;
	int ok, failed;
};

static void *work(void *p)
{
	struct worker *w = p;
	for (int i = 0; i < 2000; i++) {
		if (add(w->d, i, 1) == i + 1)
			w->ok++;
		else
			w->failed++;
	}
	return NULL;
}

static void test_threads_and_one_fault(void)
{
	struct nooks_domain *d = nooks_domain_create("mt", NOOKS_BACKEND_MPROTECT);
	struct worker w[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .d = d };
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	CU_ASSERT_EQUAL(call(d, NULL_DEREF, 0, 0, NULL, 0, NULL), -1);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);	/* no deadlock: all come back */
	int total = 0;
	for (int i = 0; i < 4; i++)
		total += w[i].ok + w[i].failed;
	CU_ASSERT_EQUAL(total, 8000);
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_DOWN);
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	reload();
	CU_ASSERT_EQUAL(add(d, 1, 1), 2);
	nooks_domain_destroy(d);
}

/* Threads looping inside a domain are unwound when another thread's call
 * faults it: they do not wait for their deadline. */
struct looper {
	struct nooks_domain *d;
	int rc;
};

static void *loop_inside(void *p)
{
	struct looper *l = p;
	l->rc = call(l->d, LOOP, 0, 0, NULL, 20000, NULL);	/* 20 s deadline */
	return NULL;
}

static void test_fault_unwinds_other_threads(void)
{
	struct nooks_domain *d = nooks_domain_create("unwind", NOOKS_BACKEND_MPROTECT);
	struct looper l[3];
	pthread_t t[3];
	struct timespec a, b;

	for (int i = 0; i < 3; i++) {
		l[i] = (struct looper){ .d = d, .rc = 0 };
		pthread_create(&t[i], NULL, loop_inside, &l[i]);
	}
	usleep(50 * 1000);			/* all three are looping */
	clock_gettime(CLOCK_MONOTONIC, &a);
	CU_ASSERT_EQUAL(call(d, NULL_DEREF, 0, 0, NULL, 0, NULL), -1);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(l[i].rc, -1);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CU_ASSERT_TRUE(s < 2.0);		/* unwound, not timed out */
	struct nooks_domain_stats st;
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.last_signal, SIGSEGV);	/* the cause stays */
	nooks_domain_reset(d, NULL);
	reload();
	nooks_domain_destroy(d);
}

/* A kernel thread writing the arena while an extension runs elsewhere
 * waits for the arena instead of crashing. */
struct writer {
	int *obj;
	volatile int done;
};

static void *kernel_writer(void *p)
{
	struct writer *w = p;
	usleep(20 * 1000);		/* the extension is looping by now */
	*w->obj = 99;
	w->done = 1;
	return NULL;
}

/* A kernel thread writes a kernel object while another thread runs
 * extension code: at once, not once the extension has left (the arena's
 * read-write view is never protected; the extension has the other). */
static void test_kernel_thread_writes_arena(void)
{
	struct nooks_domain *d = nooks_domain_create("write", NOOKS_BACKEND_MPROTECT);
	struct writer w = { .obj = nooks_arena_alloc(sizeof(int)) };
	pthread_t t;

	pthread_create(&t, NULL, kernel_writer, &w);
	/* the loop runs until its deadline, well after the write */
	CU_ASSERT_EQUAL(call(d, LOOP, 0, 0, NULL, 2000, NULL), -1);
	int done_while_inside = w.done;
	pthread_join(t, NULL);
	CU_ASSERT_TRUE(done_while_inside);
	CU_ASSERT_EQUAL(*w.obj, 99);
	nooks_arena_free(w.obj);
	nooks_domain_reset(d, NULL);
	reload();
	nooks_domain_destroy(d);
}

/* What the kernel writes, the extension reads through its view at once:
 * the two views are one memory. */
struct peek {
	volatile int *ro;
	int seen;
};

static void peek_thunk(void *p)
{
	struct peek *k = p;
	k->seen = *k->ro;
}

static void test_views_coherent(void)
{
	struct nooks_domain *d = nooks_domain_create("views", NOOKS_BACKEND_MPROTECT);
	volatile int *kobj = nooks_arena_alloc(sizeof(int));
	struct peek k = { .ro = nooks_arena_ro((void *)kobj) };
	const int n = 100000;
	int ok = 0;

	CU_ASSERT_PTR_NOT_EQUAL(k.ro, kobj);
	CU_ASSERT_FALSE(nooks_in_arena((void *)k.ro));	/* not the kernel's address */
	for (int i = 0; i < n; i++) {
		*kobj = i;
		ok += nooks_xpc_ext(d, peek_thunk, &k, 0) == 0 && k.seen == i;
	}
	CU_ASSERT_EQUAL(ok, n);
	nooks_arena_free((void *)kobj);
	nooks_domain_destroy(d);
}

/* A thread's extension stack is memory its extension may pass to the
 * kernel while the thread runs; once the thread is gone (and its stack
 * unmapped, the address free for anything) it is nobody's. */
static void note_stack(void *frame)
{
	char here[64] = { 0 };
	*(uintptr_t *)frame = (uintptr_t)here;
}

struct stack_probe {
	struct nooks_domain *d;
	uintptr_t addr;
	int ok_inside;
};

static void note_and_check(void *frame)
{
	struct stack_probe *p = frame;
	char buf[64] = { 0 };
	p->addr = (uintptr_t)buf;
	p->ok_inside = nooks_check_buffer(p->d, buf, sizeof(buf), 1);
}

static void *stack_thread(void *arg)
{
	struct stack_probe *p = arg;
	nooks_xpc_ext(p->d, note_and_check, p, 0);
	return NULL;
}

static void test_dead_thread_stack_refused(void)
{
	struct nooks_domain *d = nooks_domain_create("stacks", NOOKS_BACKEND_MPROTECT);
	struct stack_probe p = { .d = d, .ok_inside = -1 };
	uintptr_t mine = 0;
	pthread_t t;

	pthread_create(&t, NULL, stack_thread, &p);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(p.ok_inside, 0);	/* its own stack, while it ran */
	CU_ASSERT_NOT_EQUAL(p.addr, 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, (void *)p.addr, 64, 1), -EFAULT);
	/* this thread's own extension stack is still fine for it */
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, note_stack, &mine, 0), 0);
	CU_ASSERT_NOT_EQUAL(mine, p.addr);
	nooks_domain_destroy(d);
}

/* ---- many cycles, nothing leaked ---------------------------------------- */

static void test_thousand_cycles(void)
{
	struct nooks_domain *d = nooks_domain_create("cycles", NOOKS_BACKEND_MPROTECT);
	static const enum which faults[] = { NULL_DEREF, ABORT, DIV_ZERO, ILLEGAL, STACK_OVERFLOW };
	int *kobj = nooks_arena_alloc(sizeof(int));
	int cycles = getenv("NOOKS_CYCLES") ? atoi(getenv("NOOKS_CYCLES")) : 1000;

	/* one warm-up cycle: the first fault maps the per-thread stacks */
	call(d, NULL_DEREF, 0, 0, kobj, 0, NULL);
	nooks_domain_reset(d, NULL);
	reload();
	int fds = count_open_fds(), maps = count_mappings();
	for (int i = 0; i < cycles; i++) {
		CU_ASSERT_EQUAL(call(d, faults[i % 5], 0, 0, kobj, 0, NULL), -1);
		CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
		reload();
		if (add(d, i, 1) != i + 1) {
			CU_FAIL("no service after recovery");
			break;
		}
	}
	CU_ASSERT_EQUAL(count_open_fds(), fds);
	CU_ASSERT_EQUAL(count_mappings(), maps);
	struct nooks_domain_stats st;
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.faults, (unsigned long)cycles + 1);
	nooks_arena_free(kobj);
	nooks_domain_destroy(d);
}

/* ---- the kernel's stack and liveness ---------------------------------------- */

struct kstack {
	struct nooks_domain *d;
	uintptr_t ext_local, kern_local, nested_local;
	int ext_on_ext, kern_on_ext, nested_on_ext, nested_rc;
	struct nooks_domain *caller;
};

static void nested_ext(void *p)
{
	struct kstack *k = p;
	volatile char here = 0;
	k->nested_local = (uintptr_t)&here;
	k->nested_on_ext = nk_own_stack_avail(k->nested_local) > 0;
}

static void kern_part(void *p)
{
	struct kstack *k = p;
	volatile char here = 0;
	k->kern_local = (uintptr_t)&here;
	k->kern_on_ext = nk_own_stack_avail(k->kern_local) > 0;
	k->caller = nooks_caller();
	k->nested_rc = nooks_xpc_ext(k->d, nested_ext, k, 0);
}

static void ext_part(void *p)
{
	struct kstack *k = p;
	volatile char here = 0;
	k->ext_local = (uintptr_t)&here;
	k->ext_on_ext = nk_own_stack_avail(k->ext_local) > 0;
	nooks_xpc_kernel(k->d, kern_part, k);
	here = 1;
}

/* Kernel code called from extension code runs on the kernel's stack, not
 * on the extension's (where a stale pointer of a sibling thread could
 * reach it); a crossing made from there puts its frames below the
 * extension's live ones. */
static void test_kernel_code_on_kernel_stack(void)
{
	struct kstack k = { .d = nooks_domain_create("kstack", NOOKS_BACKEND_MPROTECT) };

	CU_ASSERT_EQUAL(nooks_xpc_ext(k.d, ext_part, &k, 0), 0);
	CU_ASSERT_TRUE(k.ext_on_ext);
	CU_ASSERT_FALSE(k.kern_on_ext);
	CU_ASSERT_PTR_EQUAL(k.caller, k.d);
	CU_ASSERT_PTR_NULL(nooks_caller());
	CU_ASSERT_EQUAL(k.nested_rc, 0);
	CU_ASSERT_TRUE(k.nested_on_ext);
	CU_ASSERT_TRUE(k.nested_local < k.ext_local);
	nooks_domain_destroy(k.d);
}

struct spin {
	struct nooks_domain *d;
	int interrupted, fail_here;
	long long sleep_ms;
};

static void kernel_nap(void *p)
{
	struct spin *s = p;
	if (s->fail_here) {
		nooks_domain_fail(s->d, "told to fail");
		s->interrupted = nooks_interrupted();
		return;
	}
	/* a kernel wait that gives up when the domain goes down */
	for (long long i = 0; i < s->sleep_ms && !nooks_interrupted(); i++)
		usleep(1000);
	s->interrupted |= nooks_interrupted();
}

static void ext_naps(void *p)
{
	struct spin *s = p;
	for (;;)
		nooks_xpc_kernel(s->d, kernel_nap, s);
}

static int faults_told;
static void count_fault(struct nooks_domain *d, void *arg)
{
	(void)d;
	(void)arg;
	faults_told++;
}

static double since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* A call that loops through kernel calls is bounded as a whole. */
static void test_bound_fails_domain(void)
{
	struct spin s = { .d = nooks_domain_create("bound", NOOKS_BACKEND_MPROTECT), .sleep_ms = 2 };
	struct nooks_domain_stats st;
	struct timespec a;
	char buf[128];

	faults_told = 0;
	nooks_domain_on_fault(s.d, count_fault, NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	nooks_bound_push(100, "the test's call");
	CU_ASSERT_EQUAL(nooks_xpc_ext(s.d, ext_naps, &s, 0), -1);
	nooks_bound_pop();
	CU_ASSERT_TRUE(since(&a) < 10.0);	/* not for ever */
	CU_ASSERT_TRUE(since(&a) >= 0.09);
	nooks_domain_stats(s.d, &st);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_BOUND);
	CU_ASSERT_STRING_EQUAL(st.reason, "the test's call took longer than 100 ms");
	CU_ASSERT_EQUAL(faults_told, 1);
	CU_ASSERT_STRING_EQUAL(nooks_fault_describe(&st, buf, sizeof buf),
			       "the test's call took longer than 100 ms");
	nooks_domain_reset_wait(s.d, NULL);

	/* a bound passing in the kernel's own code fails nobody; popped,
	 * it is gone */
	nooks_bound_push(20, "kernel work");
	usleep(100 * 1000);
	nooks_bound_pop();
	s.sleep_ms = 1;
	CU_ASSERT_EQUAL(nooks_xpc_ext(s.d, kernel_nap, &s, 0), 0);
	CU_ASSERT_EQUAL(nooks_domain_state(s.d), NOOKS_UP);
	/* of two bounds the earliest counts */
	nooks_bound_push(60000, "outer");
	nooks_bound_push(50, "inner");
	CU_ASSERT_EQUAL(nooks_xpc_ext(s.d, ext_naps, &s, 0), -1);
	nooks_bound_pop();
	nooks_bound_pop();
	nooks_domain_stats(s.d, &st);
	CU_ASSERT_STRING_EQUAL(st.reason, "inner took longer than 50 ms");
	nooks_domain_reset_wait(s.d, NULL);
	nooks_domain_destroy(s.d);
}

static void *napper(void *p)
{
	struct spin *s = p;
	s->interrupted = nooks_xpc_ext(s->d, ext_naps, s, 0) ? 2 : 0;
	return NULL;
}

/* The kernel fails a domain itself (a thread that ignores a stop, a
 * deadlock): its thread waiting in the kernel gives up its wait and is
 * unwound; the calling thread's own call unwinds on its way back. */
static void test_domain_fail(void)
{
	struct spin s = { .d = nooks_domain_create("fail", NOOKS_BACKEND_MPROTECT),
			  .sleep_ms = 60000 };
	struct nooks_domain_stats st;
	struct timespec a;
	pthread_t t;

	faults_told = 0;
	nooks_domain_on_fault(s.d, count_fault, NULL);
	pthread_create(&t, NULL, napper, &s);
	usleep(50 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &a);
	nooks_domain_fail(s.d, "the kernel says so");
	nooks_domain_fail(s.d, "twice");	/* down already: nothing */
	pthread_join(t, NULL);
	CU_ASSERT_TRUE(since(&a) < 5.0);
	CU_ASSERT_EQUAL(s.interrupted, 2);
	CU_ASSERT_EQUAL(faults_told, 1);
	nooks_domain_stats(s.d, &st);
	CU_ASSERT_STRING_EQUAL(st.reason, "the kernel says so");
	nooks_domain_reset_wait(s.d, NULL);

	/* from kernel code the domain called */
	struct spin s2 = { .d = s.d, .fail_here = 1 };
	CU_ASSERT_EQUAL(nooks_xpc_ext(s2.d, ext_naps, &s2, 0), -1);
	CU_ASSERT_EQUAL(s2.interrupted, 1);
	CU_ASSERT_EQUAL(faults_told, 2);
	nooks_domain_reset_wait(s.d, NULL);

	/* the none backend is not contained: nothing to fail */
	struct nooks_domain *n = nooks_domain_create("none", NOOKS_BACKEND_NONE);
	nooks_domain_fail(n, "no");
	CU_ASSERT_EQUAL(nooks_domain_state(n), NOOKS_UP);
	nooks_domain_destroy(n);
	nooks_domain_destroy(s.d);
}

static const struct nooks_type T_storm = { "struct storm", 7, 8, NULL, NULL, NULL };

static void refuse_many(void *p)
{
	struct spin *s = p;
	for (int i = 0; i < 60; i++)
		nooks_refused(s->d, (void *)0x10, &T_storm);
}

static void ext_refused_loop(void *p)
{
	struct spin *s = p;
	nooks_xpc_kernel(s->d, refuse_many, s);
}

/* A loop of refused calls is a fault, not a load for ever. */
static void test_refusal_storm(void)
{
	struct spin s = { .d = nooks_domain_create("storm", NOOKS_BACKEND_MPROTECT) };
	struct nooks_domain_stats st;

	nooks_set_refusal_limit(50);
	CU_ASSERT_EQUAL(nooks_xpc_ext(s.d, ext_refused_loop, &s, 0), -1);
	nooks_domain_stats(s.d, &st);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_BOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.reason, "refusal storm"));
	CU_ASSERT_EQUAL(st.refused, 60);
	nooks_domain_reset_wait(s.d, NULL);
	nooks_set_refusal_limit(0);		/* off */
	CU_ASSERT_EQUAL(nooks_xpc_ext(s.d, ext_refused_loop, &s, 0), 0);
	nooks_set_refusal_limit(10000);
	nooks_domain_destroy(s.d);
}

/* ---- deferred calls --------------------------------------------------- */

static int dlog[16], ndlog;
static struct nooks_domain *dfr_dom;
static int dfr_kernel_saw_self;

struct dfr { struct nooks_domain *dom; int v; };

/* A deferred kernel call: runs as kernel code, in the order made. */
static void dfr_call(void *p)
{
	const struct dfr *f = p;
	dfr_kernel_saw_self |= nooks_self() != NULL;
	if (ndlog < 16)
		dlog[ndlog++] = f->v;
}

static void dfr_defer(int v)
{
	struct dfr f = { dfr_dom, v };
	nooks_xpc_defer(dfr_dom, dfr_call, &f, sizeof(f));
}

/* Extension code: two deferred calls, a call at once, one more. */
static void ext_defers(void *p)
{
	int *seen = p;
	dfr_defer(1);
	dfr_defer(2);
	seen[0] = ndlog;			/* none made yet */
	struct dfr f = { dfr_dom, 3 };
	nooks_xpc_kernel(dfr_dom, dfr_call, &f);	/* the queue first */
	seen[1] = ndlog;
	dfr_defer(4);
	seen[2] = ndlog;
}

static void ext_defers_then_faults(void *p)
{
	volatile int *volatile nowhere = p;
	dfr_defer(5);
	*nowhere = 1;
}

static void ext_defers_many(void *p)
{
	(void)p;
	for (int i = 0; i < 70; i++)	/* more than the queue holds */
		dfr_defer(100);
}

static void run_deferred(enum nooks_backend b)
{
	int seen[3];
	dfr_dom = nooks_domain_create("defer", b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dfr_dom);
	ndlog = 0;
	dfr_kernel_saw_self = 0;
	CU_ASSERT_EQUAL(nooks_xpc_ext(dfr_dom, ext_defers, seen, 0), 0);
	CU_ASSERT_EQUAL(ndlog, 4);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(dlog[i], i + 1);	/* in the order made */
	CU_ASSERT_FALSE(dfr_kernel_saw_self);		/* as kernel code */
	if (b == NOOKS_BACKEND_NONE) {
		/* nothing to gain: made at once */
		CU_ASSERT(seen[0] == 2 && seen[1] == 3 && seen[2] == 4);
	} else {
		/* queued; made before the next call, and when it returned */
		CU_ASSERT(seen[0] == 0 && seen[1] == 3 && seen[2] == 3);
		/* a fault drops the crossing's queue */
		ndlog = 0;
		CU_ASSERT_EQUAL(nooks_xpc_ext(dfr_dom, ext_defers_then_faults, NULL, 0), -1);
		CU_ASSERT_EQUAL(ndlog, 0);
		CU_ASSERT_EQUAL(nooks_domain_reset(dfr_dom, NULL), 0);
		/* off: at once */
		nooks_set_defer(0);
		CU_ASSERT_EQUAL(nooks_xpc_ext(dfr_dom, ext_defers, seen, 0), 0);
		CU_ASSERT(seen[0] == 2 && seen[1] == 3 && seen[2] == 4);
		nooks_set_defer(1);
	}
	/* a full queue is run, nothing is lost */
	ndlog = 0;
	CU_ASSERT_EQUAL(nooks_xpc_ext(dfr_dom, ext_defers_many, NULL, 0), 0);
	CU_ASSERT_EQUAL(ndlog, 16);	/* the log's size: all 70 ran */
	/* the kernel itself: at once */
	ndlog = 0;
	dfr_defer(9);
	CU_ASSERT_EQUAL(ndlog, 1);
	nooks_domain_destroy(dfr_dom);
}

static void test_deferred_mprotect(void)
{
	run_deferred(NOOKS_BACKEND_MPROTECT);
}

static void test_deferred_none(void)
{
	run_deferred(NOOKS_BACKEND_NONE);
}

void register_xpc_tests(const char *path);

void register_xpc_tests(const char *path)
{
	so_path = path;
	if (load()) {
		fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
		return;
	}
	CU_pSuite s = CU_add_suite("crossings and faults (real faults)", NULL, NULL);
	CU_add_test(s, "every fault class contained, mprotect", test_contain_mprotect);
	CU_add_test(s, nk_arena_pkey() >= 0 ? "pkey (protection keys): contains" :
		    "pkey falls back to mprotect without keys, contains too", test_contain_pkey);
	CU_add_test(s, "mprotect: a kernel thread writes the arena while extension code is stopped",
		    test_per_thread_mprotect);
	CU_add_test(s, nk_arena_pkey() >= 0 ?
		    "pkey: a kernel thread writes the arena while the key stops extension code" :
		    "pkey (falls back): a kernel thread writes the arena while extension code is stopped",
		    test_per_thread_pkey);
	CU_add_test(s, "none backend: the wild write lands", test_none_corrupts);
	CU_add_test(s, "a kernel fault is not swallowed", test_kernel_fault_kills);
	CU_add_test(s, "threads in the domain while one faults", test_threads_and_one_fault);
	CU_add_test(s, "a fault unwinds the domain's other threads", test_fault_unwinds_other_threads);
	CU_add_test(s, "kernel thread writes the arena during a crossing", test_kernel_thread_writes_arena);
	CU_add_test(s, "the extension reads the kernel's writes", test_views_coherent);
	CU_add_test(s, "a dead thread's stack is nobody's", test_dead_thread_stack_refused);
	CU_add_test(s, "kernel code runs on the kernel's stack", test_kernel_code_on_kernel_stack);
	CU_add_test(s, "deferred calls: queued, made in order, dropped at a fault", test_deferred_mprotect);
	CU_add_test(s, "deferred calls on the none backend: made at once", test_deferred_none);
	CU_add_test(s, "a liveness bound fails the domain", test_bound_fails_domain);
	CU_add_test(s, "the kernel fails a domain, its waits end", test_domain_fail);
	CU_add_test(s, "a refusal storm is a fault", test_refusal_storm);
	CU_add_test(s, "1000 crash-and-reload cycles, nothing leaked", test_thousand_cycles);
}
