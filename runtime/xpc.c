/*
 * xpc.c - domains, crossings and fault containment.
 *
 * A crossing into an extension (nooks_xpc_ext) on an isolating backend:
 *   1. pushes a per-thread frame holding a recovery point (sigsetjmp
 *      without the signal mask: no system call per crossing);
 *   2. arms the thread's deadline for the watchdog;
 *   3. calls the thunk on the thread's extension stack (1 MiB with a
 *      guard page below it), unless already on it (a nested crossing).
 * No protection changes on any crossing: extension code of an mprotect
 * domain only ever sees the arena's read-only view (arena.c), kernel
 * code its read-write one.  A pkey domain's code sees the read-write
 * view, tagged with the arena's protection key: the crossing writes the
 * thread's PKRU register (WRPKRU, no system call) so that the key is
 * write-disabled while the thread runs the domain's code, and enabled
 * again in kernel code it calls and when the crossing returns or faults.
 * A fault while the thread runs extension code (SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT, or the watchdog's signal after the deadline) lands in
 * the handler on the thread's alternate signal stack, which records it in
 * the domain and jumps back to the recovery point: the crossing returns
 * -1, the domain is down, and the signals are unblocked again (a jump out
 * of a handler leaves them blocked).  A fault in kernel code is the
 * kernel's own bug: the default action runs and the process dies loudly.
 *
 * The thread is "in extension code" from the moment the thunk starts
 * until it returns, except during a crossing back into the kernel
 * (nooks_xpc_kernel), which the same per-thread state records; that
 * kernel code runs on the kernel's stack (the thread's own, below the
 * crossing), never on the extension's.
 *
 * Liveness: the watchdog also checks each thread's liveness bound
 * (nooks_bound_push), a limit on a whole call into an extension with its
 * kernel calls, and fails the domain that misses one; the kernel fails a
 * domain itself with nooks_domain_fail (docs/runtime.md, "Liveness").
 *
 * Deferred calls (nooks_xpc_defer): a [[deferred]] kernel function's
 * wrapper queues its frame in the thread's queue instead of crossing; the
 * queue is run, in order, as kernel code, on the way into the kernel for
 * the thread's next kernel call, and when the crossing into the extension
 * returns: a NAPI poll's receives, frees and register writes cross once.
 * A crossing that faults drops the queue.
 *
 * The none backend calls the thunk directly: no protection, no recovery
 * point, no deadline.  It is the baseline overheads are measured against.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "nooks_internal.h"

#define EXT_STACK_SIZE (1UL << 20)
#define ALT_STACK_SIZE (64UL << 10)
#define WATCHDOG_SIG (SIGRTMIN + 3)
#define UNWIND_SIG (SIGRTMIN + 4)
#define MAX_THREADS 256

/* ---- protection keys ------------------------------------------------------ */

/* The PKRU register: two bits per key, access-disable (1 << 2k) and
 * write-disable (2 << 2k).  Only executed for pkey domains, which exist
 * only where pkey_alloc worked (on x86-64: arena.c). */
#if defined(__x86_64__)
static inline unsigned rdpkru(void)
{
	unsigned a, d;
	__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(a), "=d"(d) : "c"(0));
	return a;
}

static inline void wrpkru(unsigned v)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xef" : : "a"(v), "c"(0), "d"(0) : "memory");
}
#else
static inline unsigned rdpkru(void) { return 0; }
static inline void wrpkru(unsigned v) { (void)v; }
#endif

/* the arena key's two bits in PKRU (0: no key), set before the first
 * domain exists.  Wherever the arena has a key, every isolating
 * crossing's fault path writes PKRU back: a signal handler runs with the
 * kernel's default PKRU, which denies every key but 0, and a jump out of
 * it does not restore the interrupted one. */
static unsigned pkru_mask;
static pthread_once_t pkru_once = PTHREAD_ONCE_INIT;

static void pkru_init(void)
{
	int k = nk_arena_pkey();
	if (k >= 0)
		pkru_mask = 3u << (2 * k);
}

static inline unsigned pkru_ext(unsigned kernel)
{
	return (kernel & ~pkru_mask) | (pkru_mask & 0xaaaaaaaau);	/* write-disabled */
}

/* ---- per-thread state --------------------------------------------------- */

struct xframe {
	sigjmp_buf env;
	struct nooks_domain *d;
	unsigned timeout_ms;		/* of this crossing; 0: none */
	struct nooks_domain *saved_self;
	struct xframe *prev;
	/* where kernel code called back from this crossing runs: the
	 * kernel's stack below this crossing's own frame */
	unsigned char *ksp;
	unsigned char *saved_ext_resume;
	unsigned pkru;			/* PKRU before the crossing (with keys) */
};

/* Does crossing f switch PKRU (a pkey domain's)? */
static inline int switches_pkru(const struct xframe *f)
{
	return f->d->backend == NOOKS_BACKEND_PKEY;
}

#define MAX_BOUNDS 8

struct xthread {
	struct xframe *top;		/* innermost crossing into an extension */
	struct nooks_domain *self;	/* the domain running now; NULL: kernel */
	unsigned char *stack;		/* extension stack mapping (with guard) */
	unsigned char *stack_top;
	void *altstack;
	int slot;			/* watchdog slot, -1 until armed once */
	/* the domain this thread runs kernel code for (nooks_caller) */
	struct nooks_domain *calling;
	/* where a crossing made from kernel code called by the extension
	 * puts its extension frames: below the extension's live ones */
	unsigned char *ext_resume;
	/* liveness bounds (nooks_bound_push), innermost last */
	struct { long long at_ns; unsigned ms; const char *what; } bounds[MAX_BOUNDS];
	int nbounds;
};

static __thread struct xthread xt = { .slot = -1 };

/* ---- deferred calls ------------------------------------------------------ */

#define DEFER_MAX 64		/* calls queued per thread */
#define DEFER_FRAME 64		/* bytes of a queued call's frame */

struct dcall {
	nooks_thunk fn;
	_Alignas(16) unsigned char frame[DEFER_FRAME];
};

/* The calls the thread's innermost crossing queued (kernel memory, like
 * the rest of the thread's state). */
static __thread struct {
	int n;
	struct dcall c[DEFER_MAX];
} dq;
static atomic_int defer_on = 1;

void nooks_set_defer(int on)
{
	atomic_store(&defer_on, on != 0);
}

int nk_defer_enabled(void)
{
	return atomic_load(&defer_on);
}

/* In kernel mode: runs the queue.  Taken off the queue first: a queued
 * call may cross into an extension that queues calls of its own, which
 * its crossing runs when it returns. */
static void defer_run(void)
{
	struct dcall c[DEFER_MAX];
	int n = dq.n;
	memcpy(c, dq.c, (size_t)n * sizeof(c[0]));
	dq.n = 0;
	for (int i = 0; i < n; i++)
		c[i].fn(c[i].frame);
}

static void defer_flush_thunk(void *frame)
{
	(void)frame;	/* kernel_side ran the queue before calling this */
}

struct nooks_domain *nooks_self(void)
{
	return xt.self;
}

/* A partner thread of a domain process runs as d (proc.c). */
void nk_xpc_set_self(struct nooks_domain *d)
{
	xt.self = d;
}

/* ---- the watchdog ------------------------------------------------------- */

/* One slot per thread that ever crossed with a deadline. */
struct wslot {
	atomic_int used;
	pthread_t thread;
	/* the deadline of the stretch of extension code running now (0:
	 * none), and the stretch's number: the thread only bumps the number
	 * and stores the length, the watchdog reads the clock */
	atomic_uint timeout_ms;
	atomic_ulong seq;
	atomic_ulong fired;		/* the stretch the watchdog signalled */
	_Atomic(struct nooks_domain *) running;	/* extension code of this domain */
	/* kernel code called by this domain's extension code (a kernel call
	 * blocked on its behalf: interrupted when the domain goes down) */
	_Atomic(struct nooks_domain *) calling;
	/* the thread's earliest liveness bound (0: none), its length and
	 * what it bounds, for the watchdog's message */
	atomic_llong bound_ns;
	_Atomic(const char *) bound_what;
	atomic_uint bound_ms;
};
static struct wslot slots[MAX_THREADS];
static atomic_uint default_timeout_ms = 0;

void nooks_set_default_timeout(unsigned ms)
{
	atomic_store(&default_timeout_ms, ms);
}


static void bound_missed(struct wslot *s);

/* Odd while the watchdog scans the slots: a domain is freed only when no
 * scan that may have read it is under way (nooks_domain_destroy). */
static atomic_ulong scan_seq;

/* A new stretch of extension code on w's thread, of at most ms (0: not
 * timed).  Called by the thread itself only: plain stores. */
static inline void stretch_arm(struct wslot *w, unsigned ms)
{
	atomic_store_explicit(&w->seq, atomic_load_explicit(&w->seq, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&w->timeout_ms, ms, memory_order_release);
}

static inline void stretch_set(struct wslot *w, unsigned ms)
{
	atomic_store_explicit(&w->timeout_ms, ms, memory_order_release);
}

/*
 * Every WATCHDOG_TICK_MS the watchdog looks at each thread's stretch: a
 * stretch it saw before, still running, for longer than its timeout is
 * signalled.  A crossing thus costs two plain stores for its deadline,
 * no clock read; a deadline is caught between its length and its length
 * plus a tick.
 */
#define WATCHDOG_TICK_MS 10

static void *watchdog(void *arg)
{
	static unsigned long seen[MAX_THREADS];
	static long long since[MAX_THREADS];

	(void)arg;
	for (;;) {
		struct timespec ts = { 0, WATCHDOG_TICK_MS * 1000 * 1000 };
		nanosleep(&ts, NULL);
		atomic_fetch_add(&scan_seq, 1);
		long long now = nk_now_ns();
		for (int i = 0; i < MAX_THREADS; i++) {
			if (!atomic_load(&slots[i].used))
				continue;
			unsigned t = atomic_load_explicit(&slots[i].timeout_ms, memory_order_acquire);
			unsigned long q = atomic_load_explicit(&slots[i].seq, memory_order_relaxed);
			if (!t || q != seen[i]) {
				seen[i] = t ? q : 0;
				since[i] = now;
			} else if (now - since[i] > (long long)t * 1000000LL &&
				   atomic_load(&slots[i].fired) != q) {
				atomic_store(&slots[i].fired, q);
				pthread_kill(slots[i].thread, WATCHDOG_SIG);
			}
			long long b = atomic_load(&slots[i].bound_ns);
			if (b && now > b)
				bound_missed(&slots[i]);
		}
		atomic_fetch_add(&scan_seq, 1);
	}
	return NULL;
}

static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;

static void start_watchdog(void)
{
	pthread_t t;
	pthread_attr_t a;
	sigset_t all, old;

	/* not in a domain process: the kernel keeps its deadlines, and no
	 * other thread may run while its load is made shared (proc.c) */
	if (nk_proc_in_domain())
		return;
	/* the watchdog must never take a fault signal meant for a worker */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, watchdog, NULL))
		fputs("nooks: cannot start the watchdog: crossings have no deadline\n", stderr);
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* A thread's slot is given back when it exits (pthread key destructor),
 * so kernels that start a thread per request do not run out. */
static pthread_key_t slot_key;
static pthread_once_t slot_key_once = PTHREAD_ONCE_INIT;

/* At the exit of a thread that ever crossed: its watchdog slot, its
 * extension stack and its alternate signal stack go (threads come and go:
 * a kernel thread per connection must not leave two mappings behind). */
static void thread_release(void *p)
{
	(void)p;
	if (xt.slot >= 0) {
		struct wslot *s = &slots[xt.slot];
		atomic_store(&s->timeout_ms, 0);
		atomic_store(&s->running, NULL);
		atomic_store(&s->calling, NULL);
		atomic_store(&s->bound_ns, 0);
		atomic_store(&s->used, 0);
		xt.slot = -1;
	}
	if (xt.stack) {
		munmap(xt.stack, EXT_STACK_SIZE + (size_t)sysconf(_SC_PAGESIZE));
		xt.stack = xt.stack_top = NULL;
	}
	if (xt.altstack) {
		stack_t ss = { .ss_flags = SS_DISABLE };
		if (!sigaltstack(&ss, NULL))
			munmap(xt.altstack, ALT_STACK_SIZE);
		xt.altstack = NULL;
	}
}

static void slot_key_make(void)
{
	pthread_key_create(&slot_key, thread_release);
}

static struct wslot *my_slot(void)
{
	if (xt.slot < 0) {
		pthread_once(&slot_key_once, slot_key_make);
		for (int i = 0; i < MAX_THREADS; i++) {
			int expect = 0;
			if (atomic_compare_exchange_strong(&slots[i].used, &expect, 1)) {
				slots[i].thread = pthread_self();
				xt.slot = i;
				/* thread_release() gives it back at the exit */
				pthread_setspecific(slot_key, &xt);
				break;
			}
		}
		if (xt.slot < 0)
			return NULL;	/* more threads than slots: no deadline */
	}
	return &slots[xt.slot];
}

/* ---- fault handler ------------------------------------------------------ */

static const int fault_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

static void die_default(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
	/* returning re-executes the faulting instruction (or, for a raised
	 * signal, we raise it again), now with the default action */
	if (sig == SIGABRT || sig == WATCHDOG_SIG)
		raise(sig);
}

static void handler(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;	/* the faulting pc, on x86-64 only */
	struct xframe *f = xt.top;

	if (sig == UNWIND_SIG) {
		/* another thread faulted this thread's domain: leave it too,
		 * if still inside (the fault's cause stays recorded) */
		if (f && xt.self && atomic_load(&xt.self->state) == NOOKS_DOWN)
			siglongjmp(f->env, 1);
		/* in kernel code called by the domain: returning interrupts a
		 * blocking system call (no SA_RESTART), the kernel function
		 * returns -EINTR, and nooks_xpc_kernel() unwinds on its way
		 * back into the extension */
		return;
	}
	if (sig == WATCHDOG_SIG) {
		if (!f || !xt.self || xt.slot < 0 ||
		    atomic_load(&slots[xt.slot].fired) != atomic_load(&slots[xt.slot].seq) ||
		    !atomic_load(&slots[xt.slot].timeout_ms))
			return;		/* that stretch finished in time */
		atomic_store(&f->d->last_fault, NOOKS_FAULT_TIMEOUT);
		atomic_store(&f->d->last_signal, 0);
		siglongjmp(f->env, 1);
	}
	if (f && xt.self) {
		/* extension code: contain it */
		atomic_store(&f->d->last_fault, NOOKS_FAULT_SIGNAL);
		atomic_store(&f->d->last_signal, sig);
		atomic_store(&f->d->last_addr, (uintptr_t)si->si_addr);
		atomic_store(&f->d->last_code, si->si_code);
#if defined(__x86_64__)
		atomic_store(&f->d->last_pc,
			     (uintptr_t)((ucontext_t *)uctx)->uc_mcontext.gregs[REG_RIP]);
#endif
		siglongjmp(f->env, 1);
	}
	die_default(sig);
}

static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

static void install_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fault_signals) / sizeof(fault_signals[0]); i++)
		sigaction(fault_signals[i], &sa, NULL);
	/* the asynchronous two are real-time signals, which queue: blocked
	 * while handled (the unwinding path unblocks them), or a burst of
	 * them (every thread of a domain is told) nests handler frames until
	 * the alternate stack overflows */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaddset(&sa.sa_mask, WATCHDOG_SIG);
	sigaddset(&sa.sa_mask, UNWIND_SIG);
	sigaction(WATCHDOG_SIG, &sa, NULL);
	sigaction(UNWIND_SIG, &sa, NULL);
}

/* The thread's alternate signal stack and extension stack, made once. */
static int thread_setup(void)
{
	if (xt.stack)
		return 0;
	pthread_once(&slot_key_once, slot_key_make);
	pthread_setspecific(slot_key, &xt);	/* thread_release() at its exit */
	if (!xt.altstack) {
		stack_t ss = { .ss_size = ALT_STACK_SIZE };
		ss.ss_sp = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ss.ss_sp == MAP_FAILED || sigaltstack(&ss, NULL))
			return -1;
		xt.altstack = ss.ss_sp;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *s = mmap(NULL, EXT_STACK_SIZE + page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (s == MAP_FAILED)
		return -1;
	mprotect(s, page, PROT_NONE);		/* the guard page */
	xt.stack = s;
	xt.stack_top = s + EXT_STACK_SIZE + page;
	return 0;
}

static atomic_ulong generations;	/* a domain's regions' lifetime */

/*
 * The calling thread's extension stack is memory the extension running
 * on it may pass to the kernel: the tracker asks here, for the thread
 * making the kernel call, instead of keeping a region per thread and
 * domain (which outlived the thread's stack: a reused address stayed
 * writable for the domain, and the list only grew).  Bytes from a to the
 * top of the stack, 0 if a is not on it.
 */
size_t nk_own_stack_avail(uintptr_t a)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (!xt.stack || a < (uintptr_t)xt.stack + page || a >= (uintptr_t)xt.stack_top)
		return 0;
	return (size_t)((uintptr_t)xt.stack_top - a);
}

static int on_ext_stack(void)
{
	unsigned char here;
	return xt.stack && &here > xt.stack && &here < xt.stack_top;
}

/* Where a stack switch from here may put its frames: below the calling
 * function's frame (and any red zone), 16-byte aligned. */
static inline __attribute__((always_inline)) unsigned char *below_here(void)
{
	uintptr_t sp;
#if defined(__x86_64__)
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#else
	sp = (uintptr_t)__builtin_frame_address(0);
#endif
	return (unsigned char *)((sp - 512) & ~(uintptr_t)15);
}

/* Calls fn(frame) with the stack pointer at top (x86-64 System V). */
static void call_on_stack(unsigned char *top, nooks_thunk fn, void *frame)
{
#if defined(__x86_64__)
	__asm__ volatile(
		"mov %%rsp, %%rbx\n\t"
		"mov %0, %%rsp\n\t"
		"mov %2, %%rdi\n\t"
		"call *%1\n\t"
		"mov %%rbx, %%rsp\n\t"
		:
		: "r"(top), "r"(fn), "r"(frame)
		: "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
		  "memory", "cc");
#else
	(void)top;
	fn(frame);	/* no stack switch on this architecture yet */
#endif
}

/* ---- crossings ---------------------------------------------------------- */

/* Every other thread running d's code is sent back to its own crossing
 * (it returns its fault value too). */
static void unwind_others(struct nooks_domain *d)
{
	for (int i = 0; i < MAX_THREADS; i++) {
		if (i == xt.slot || !atomic_load(&slots[i].used))
			continue;
		if (atomic_load(&slots[i].running) == d ||
		    atomic_load(&slots[i].calling) == d)
			pthread_kill(slots[i].thread, UNWIND_SIG);
	}
}

/* The last thread left d's crossings (inside or failing went to 0): a
 * nooks_domain_reset_wait() sleeping on it is woken. */
void nk_domain_left(struct nooks_domain *d)
{
	if (atomic_load(&d->resetting)) {
		atomic_fetch_add(&d->leaves, 1);
		syscall(SYS_futex, &d->leaves, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	}
}

/* A kernel call made for process domain d runs on this thread (proc.c):
 * recorded as in kernel_side, so that the domain's fault interrupts a
 * kernel wait it blocks in (nooks_interrupted, the unwind signal). */
struct nooks_domain *nk_xpc_set_calling(struct nooks_domain *d)
{
	struct nooks_domain *old = xt.calling;
	struct wslot *w;

	pthread_once(&handlers_once, install_handlers);
	w = my_slot();
	xt.calling = d;
	if (w)
		atomic_store_explicit(&w->calling, d, memory_order_relaxed);
	return old;
}

/* The thread waits for process domain d's code (proc.c): liveness
 * bounds apply to it as to a thread running d's code.  The previous. */
struct nooks_domain *nk_xpc_set_running(struct nooks_domain *d)
{
	struct wslot *w;

	pthread_once(&handlers_once, install_handlers);
	w = my_slot();
	return w ? atomic_exchange(&w->running, d) : NULL;
}

void nk_xpc_unwind_others(struct nooks_domain *d)
{
	unwind_others(d);
}

/* ---- liveness ------------------------------------------------------------ */

/* d may not be reset nor freed while failing counts (the threads it
 * unwinds could otherwise get there first); on_fault runs before they
 * are told. */
static void domain_fail(struct nooks_domain *d, const char *why, unsigned long culprit)
{
	int up = NOOKS_UP;

	if (!d || d->backend == NOOKS_BACKEND_NONE)
		return;
	atomic_fetch_add(&d->failing, 1);
	if (!atomic_compare_exchange_strong(&d->state, &up, NOOKS_DOWN)) {
		if (atomic_fetch_sub(&d->failing, 1) == 1)
			nk_domain_left(d);
		return;		/* already down: one fault at a time */
	}
	snprintf(d->fail_reason, sizeof(d->fail_reason), "%s", why ? why : "failed");
	atomic_store(&d->last_fault, NOOKS_FAULT_BOUND);
	atomic_store(&d->last_signal, 0);
	atomic_store(&d->last_addr, 0);
	atomic_store(&d->last_pc, 0);
	atomic_store(&d->last_code, 0);
	atomic_fetch_add(&d->faults, 1);
	atomic_store(&d->culprit, culprit);
	if (d->on_fault)
		d->on_fault(d, d->on_fault_arg);
	if (d->backend == NOOKS_BACKEND_PROCESS)
		nk_proc_kill(d);	/* its death is seen as usual */
	unwind_others(d);
	if (atomic_fetch_sub(&d->failing, 1) == 1)
		nk_domain_left(d);
}

void nooks_domain_fail(struct nooks_domain *d, const char *why)
{
	domain_fail(d, why, (unsigned long)pthread_self());
}

int nk_domain_culprit_is_me(const struct nooks_domain *d)
{
	return atomic_load(&d->culprit) == (unsigned long)pthread_self();
}

struct nooks_domain *nooks_caller(void)
{
	return xt.calling;
}

int nooks_interrupted(void)
{
	return xt.calling && atomic_load(&xt.calling->state) == NOOKS_DOWN;
}

/* The watchdog, for a thread whose bound passed: the domain it works for
 * now fails.  In the kernel's own code (no domain) nothing happens yet:
 * the bound stays armed until the kernel pops it. */
static void bound_missed(struct wslot *s)
{
	struct nooks_domain *d = atomic_load(&s->running);
	char why[96];

	if (!d)
		d = atomic_load(&s->calling);
	if (!d || d->backend == NOOKS_BACKEND_NONE)
		return;
	atomic_store(&s->bound_ns, 0);
	const char *what = atomic_load(&s->bound_what);
	snprintf(why, sizeof(why), "%s took longer than %u ms", what ? what : "a call",
		 atomic_load(&s->bound_ms));
	domain_fail(d, why, (unsigned long)s->thread);
}

/* The slot shows the earliest of the thread's bounds. */
static void bound_arm(void)
{
	int n = xt.nbounds < MAX_BOUNDS ? xt.nbounds : MAX_BOUNDS, best = -1;
	struct wslot *w;

	for (int i = 0; i < n; i++)
		if (xt.bounds[i].at_ns && (best < 0 || xt.bounds[i].at_ns < xt.bounds[best].at_ns))
			best = i;
	if (!(w = my_slot()))
		return;
	if (best < 0) {
		atomic_store(&w->bound_ns, 0);
		return;
	}
	atomic_store(&w->bound_what, xt.bounds[best].what);
	atomic_store(&w->bound_ms, xt.bounds[best].ms);
	atomic_store(&w->bound_ns, xt.bounds[best].at_ns);
	pthread_once(&watchdog_once, start_watchdog);
}

void nooks_bound_push(unsigned ms, const char *what)
{
	if (xt.nbounds < MAX_BOUNDS) {
		xt.bounds[xt.nbounds].at_ns = ms ? nk_now_ns() + (long long)ms * 1000000LL : 0;
		xt.bounds[xt.nbounds].ms = ms;
		xt.bounds[xt.nbounds].what = what;
	}
	xt.nbounds++;		/* deeper than MAX_BOUNDS: counted, not armed */
	bound_arm();
}

void nooks_bound_pop(void)
{
	if (xt.nbounds > 0)
		xt.nbounds--;
	bound_arm();
}

int nooks_xpc_ext(struct nooks_domain *d, nooks_thunk fn, void *frame,
		  unsigned timeout_ms)
{
	return nooks_xpc_ext_frame(d, fn, frame, SIZE_MAX, timeout_ms);	/* no size */
}

int nooks_xpc_ext_frame(struct nooks_domain *d, nooks_thunk fn, void *frame, size_t size,
			unsigned timeout_ms)
{
	/* a down domain: refused, and its last fault still names what took
	 * it down (the recovery manager reports that, whoever calls first) */
	if (!d || atomic_load(&d->state) != NOOKS_UP) {
		nk_proc_bufs_drop();	/* its nooks_xpc_buf()s */
		return -1;
	}
	atomic_fetch_add(&d->calls, 1);

	if (d->backend == NOOKS_BACKEND_PROCESS)
		return nk_proc_xpc(d, fn, frame, size,
				   timeout_ms ? timeout_ms : atomic_load(&default_timeout_ms));

	if (d->backend == NOOKS_BACKEND_NONE) {
		struct nooks_domain *saved = xt.self;
		xt.self = d;
		fn(frame);
		xt.self = saved;
		return 0;
	}

	pthread_once(&handlers_once, install_handlers);
	if (thread_setup())
		return -1;
	if (!timeout_ms)
		timeout_ms = atomic_load(&default_timeout_ms);

	/* volatile: read again after a jump back */
	struct xframe f;
	struct xframe *volatile fp = &f;
	struct wslot *volatile w = NULL;
	unsigned volatile prev_timeout = 0;

	f.d = d;
	f.timeout_ms = timeout_ms;
	f.saved_self = xt.self;
	f.prev = xt.top;
	f.saved_ext_resume = xt.ext_resume;
	f.ksp = NULL;
	/* from kernel code, the key is the kernel's to write, whatever the
	 * thread inherited (one libc started from a pkey domain's code) */
	f.pkru = pkru_mask ? rdpkru() & (xt.self ? ~0u : ~pkru_mask) : 0;
	w = my_slot();
	if (!w) {
		/* more threads than watchdog slots: such a thread could be
		 * neither timed nor unwound, so it does not enter */
		atomic_store(&d->last_fault, NOOKS_FAULT_DOWN);
		return -1;
	}
	prev_timeout = atomic_load_explicit(&w->timeout_ms, memory_order_relaxed);
	if (timeout_ms)
		pthread_once(&watchdog_once, start_watchdog);

	if (sigsetjmp(f.env, 0)) {
		/* a fault or the deadline: back on the kernel's stack */
		struct xframe *g = fp;
		sigset_t unblock;
		if (pkru_mask)	/* the handler ran with the kernel's default PKRU */
			wrpkru(g->pkru);
		sigemptyset(&unblock);
		for (size_t i = 0; i < sizeof(fault_signals) / sizeof(fault_signals[0]); i++)
			sigaddset(&unblock, fault_signals[i]);
		sigaddset(&unblock, WATCHDOG_SIG);
		sigaddset(&unblock, UNWIND_SIG);
		pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
		if (w) {
			stretch_set(w, prev_timeout);
			atomic_store_explicit(&w->running, g->saved_self, memory_order_relaxed);
		}
		xt.top = g->prev;
		xt.self = g->saved_self;
		xt.ext_resume = g->saved_ext_resume;
		dq.n = 0;	/* its deferred calls are not made */
		int up = NOOKS_UP;
		int first = atomic_compare_exchange_strong(&g->d->state, &up, NOOKS_DOWN);
		atomic_fetch_add(&g->d->faults, 1);
		if (atomic_fetch_sub(&g->d->inside, 1) == 1)
			nk_domain_left(g->d);
		if (first)
			atomic_store(&g->d->culprit, (unsigned long)pthread_self());
		if (first)	/* the others were told by whoever took it down */
			unwind_others(g->d);
		if (first && g->d->on_fault)
			g->d->on_fault(g->d, g->d->on_fault_arg);
		return -1;
	}

	xt.top = &f;
	/* counted inside only once a jump lands on this frame (which undoes
	 * it), and the deadline armed only once the handler sees extension
	 * code: a signal before either leaves nothing behind */
	atomic_fetch_add(&d->inside, 1);
	xt.self = d;
	atomic_store_explicit(&w->running, d, memory_order_relaxed);
	/* a nested crossing never extends the outer stretch's deadline: it
	 * runs within it, under the tighter of the two */
	if (!prev_timeout)
		stretch_arm(w, f.timeout_ms);
	else if (f.timeout_ms && f.timeout_ms < prev_timeout)
		stretch_set(w, f.timeout_ms);
	if (switches_pkru(&f))
		wrpkru(pkru_ext(f.pkru));
	if (on_ext_stack()) {
		/* called from extension code itself: kernel code it calls
		 * back runs where the outer crossing's would */
		f.ksp = f.prev ? f.prev->ksp : NULL;
		fn(frame);
	} else {
		/* from kernel code: the extension's frames go below the live
		 * ones of an outer crossing (if kernel code called back from
		 * it is what calls now), and kernel code it calls back goes
		 * below this frame on the kernel's stack */
		f.ksp = below_here();
		call_on_stack(xt.ext_resume ? xt.ext_resume : xt.stack_top, fn, frame);
	}
	/* the calls it deferred, in one crossing back (which unwinds to the
	 * recovery point above if the domain went down meanwhile) */
	if (dq.n)
		nooks_xpc_kernel(d, defer_flush_thunk, NULL);
	if (switches_pkru(&f))
		wrpkru(f.pkru);
	xt.ext_resume = f.saved_ext_resume;
	xt.self = f.saved_self;
	xt.top = f.prev;
	if (w) {
		stretch_set(w, prev_timeout);
		atomic_store_explicit(&w->running, f.saved_self, memory_order_relaxed);
	}
	if (atomic_fetch_sub(&d->inside, 1) == 1)
		nk_domain_left(d);
	return 0;
}

struct kcall {
	nooks_thunk fn;
	void *frame;
	unsigned char *ext_resume;	/* below the extension's live frames */
};

/*
 * The kernel's half of nooks_xpc_kernel, on the kernel's stack: it copies
 * its arguments off the extension's stack first and keeps all of its
 * state in its own frame or the thread's, so nothing the extension can
 * write (its stack) steers the runtime while it is in kernel mode.
 */
static void kernel_side(void *p)
{
	struct kcall k = *(struct kcall *)p;
	struct nooks_domain *saved = xt.self, *saved_calling = xt.calling;
	unsigned char *saved_resume = xt.ext_resume;
	/* kernel code: faults are the kernel's again, and no deadline runs:
	 * a crossing's deadline bounds the time its extension
	 * code runs without coming back to the kernel, which is re-armed
	 * when the call returns (a thread may block in the kernel for good) */
	struct wslot *w = xt.slot >= 0 ? &slots[xt.slot] : NULL;
	/* a pkey domain's code called: the kernel's PKRU (the one its
	 * crossing saved) while kernel code runs, the domain's after */
	const struct xframe *top = xt.top;
	int pk = top && switches_pkru(top);

	if (pk)
		wrpkru(top->pkru);
	/* kernel mode (self NULL: from here an unwind signal only
	 * interrupts a blocking call) */
	xt.self = NULL;
	xt.calling = saved;
	xt.ext_resume = k.ext_resume;
	if (w) {
		stretch_set(w, 0);
		atomic_store_explicit(&w->running, NULL, memory_order_relaxed);
		atomic_store_explicit(&w->calling, saved, memory_order_relaxed);
	}
	if (dq.n)	/* the calls it deferred come first */
		defer_run();
	k.fn(k.frame);
	if (w) {
		atomic_store_explicit(&w->calling, saved_calling, memory_order_relaxed);
		atomic_store_explicit(&w->running, saved, memory_order_relaxed);
	}
	xt.ext_resume = saved_resume;
	xt.calling = saved_calling;
	xt.self = saved;
	if (pk)
		wrpkru(pkru_ext(top->pkru));
	if (w && xt.top)	/* a new stretch of extension code, timed afresh */
		stretch_arm(w, xt.top->timeout_ms);
}

void nooks_kernel_mode(void)
{
	if (pkru_mask && !xt.self) {
		unsigned pkru = rdpkru();
		if (pkru & pkru_mask)
			wrpkru(pkru & ~pkru_mask);
	}
}

void nooks_xpc_kernel(struct nooks_domain *d, nooks_thunk fn, void *frame)
{
	struct nooks_domain *saved = xt.self;
	struct kcall k = { fn, frame, NULL };

	(void)d;
	if (nk_proc_in_domain()) {	/* over the channel, to the kernel */
		nk_proc_kcall(fn, frame);
		return;
	}
	if (!saved || saved->backend == NOOKS_BACKEND_NONE) {
		nooks_kernel_mode();
		xt.self = NULL;
		fn(frame);
		xt.self = saved;
		return;
	}
	/* the domain went down (another thread faulted, and this one was
	 * between calls or ignored the signal): back to the crossing instead
	 * of on with an extension being torn down */
	if (xt.top && atomic_load(&saved->state) == NOOKS_DOWN)
		siglongjmp(xt.top->env, 1);
	/* kernel code never runs on memory the extension can write: off
	 * the extension's stack (where a sibling thread's stale pointer
	 * could reach its frames) onto the kernel's, below the crossing */
	if (xt.top && xt.top->ksp && on_ext_stack()) {
		k.ext_resume = below_here();
		call_on_stack(xt.top->ksp, kernel_side, &k);
	} else {
		k.ext_resume = xt.ext_resume;
		kernel_side(&k);
	}
	/* went down while the kernel worked: the kernel's part is done (the
	 * wrapper's bookkeeping ran in fn), only the extension is skipped;
	 * read from the thread's state, not this (extension) stack frame */
	if (xt.top && xt.self && atomic_load(&xt.self->state) == NOOKS_DOWN)
		siglongjmp(xt.top->env, 1);
}

void nooks_xpc_defer(struct nooks_domain *d, nooks_thunk fn, const void *frame, size_t size)
{
	if (nk_proc_in_domain()) {	/* queued in the domain process */
		if (nk_proc_defer(fn, frame, size))
			nooks_xpc_kernel(d, fn, (void *)frame);
		return;
	}
	if (!xt.top || xt.self != d || size > DEFER_FRAME || !atomic_load(&defer_on)) {
		nooks_xpc_kernel(d, fn, (void *)frame);	/* nothing to gain */
		return;
	}
	if (dq.n == DEFER_MAX)
		nooks_xpc_kernel(d, defer_flush_thunk, NULL);
	dq.c[dq.n].fn = fn;
	memcpy(dq.c[dq.n].frame, frame, size);
	dq.n++;
}

void nooks_ext_exited(int status)
{
	struct xframe *f = xt.top;

	if (f && xt.self) {
		atomic_store(&f->d->last_fault, NOOKS_FAULT_EXIT);
		atomic_store(&f->d->last_signal, status);
		siglongjmp(f->env, 1);
	}
	_exit(status);
}

/* ---- domains ------------------------------------------------------------ */

int nooks_backend_parse(const char *name)
{
	if (!strcmp(name, "none"))
		return NOOKS_BACKEND_NONE;
	if (!strcmp(name, "mprotect"))
		return NOOKS_BACKEND_MPROTECT;
	if (!strcmp(name, "pkey"))
		return NOOKS_BACKEND_PKEY;
	if (!strcmp(name, "process"))
		return NOOKS_BACKEND_PROCESS;
	return -1;
}

const char *nooks_backend_name(enum nooks_backend b)
{
	static const char *const names[] = { "none", "mprotect", "pkey", "process" };
	return (unsigned)b < 4 ? names[b] : "?";
}

struct nooks_domain *nooks_domain_create(const char *name, enum nooks_backend b)
{
	struct nooks_domain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name ? name : "?");
	pthread_once(&pkru_once, pkru_init);	/* the arena's key, if it has one */
	if (b == NOOKS_BACKEND_PKEY && !pkru_mask) {
		fprintf(stderr, "nooks: %s: no memory protection keys on this machine "
			"(pkey_alloc failed): using the mprotect backend\n", d->name);
		b = NOOKS_BACKEND_MPROTECT;
	}
	d->backend = b;
	atomic_store(&d->gen, atomic_fetch_add(&generations, 1) + 1);
	if (b == NOOKS_BACKEND_PROCESS && nk_proc_create(d)) {
		int e = errno;
		free(d);
		errno = e;
		return NULL;
	}
	atomic_store(&d->state, NOOKS_UP);
	return d;
}

void nooks_domain_destroy(struct nooks_domain *d)
{
	if (!d)
		return;
	nk_tracker_release_domain(d, NULL);
	nk_proc_destroy(d);
	/* nobody failing it, and no watchdog scan that may have read it */
	unsigned long seq = atomic_load(&scan_seq);
	while (atomic_load(&d->failing) ||
	       ((seq & 1) && atomic_load(&scan_seq) == seq)) {
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
	free(d);
}

int nooks_domain_reset(struct nooks_domain *d, struct nooks_release_stats *stats)
{
	struct nk_release_stats s = { 0 };
	long long t0;

	if (atomic_load(&d->inside) || atomic_load(&d->failing)) {
		/* again, in case a thread was between two checks when it was
		 * first told (a blocking call entered after the signal) */
		unwind_others(d);
		return -EBUSY;
	}
	t0 = nk_now_ns();
	nk_tracker_release_domain(d, &s);
	atomic_store(&d->gen, atomic_fetch_add(&generations, 1) + 1);	/* regions gone */
	if (d->backend == NOOKS_BACKEND_PROCESS && nk_proc_restart(d))
		return 0;	/* no process: it stays down */
	if (stats) {
		stats->unwind_ns = 0;
		stats->release_ns = nk_now_ns() - t0;
		stats->unlocked = s.unlocked;
		stats->undone = s.undone;
		stats->released = s.released;
		stats->shadows = s.shadows;
		stats->bindings = s.bindings;
	}
	atomic_store(&d->state, NOOKS_UP);
	return 0;
}

void nooks_domain_reset_wait(struct nooks_domain *d, struct nooks_release_stats *stats)
{
	long long t0 = nk_now_ns(), unwind = 0;

	/* down first, if it is not (an init that failed after starting
	 * threads, an unload): its threads only unwind from a down domain */
	int was = atomic_exchange(&d->state, NOOKS_DOWN);
	atomic_fetch_add(&d->resetting, 1);
	if (was == NOOKS_UP)
		unwind_others(d);	/* a fault told them already */
	for (;;) {
		unsigned seen = atomic_load(&d->leaves);
		if (!atomic_load(&d->inside) && !atomic_load(&d->failing)) {
			if (nooks_domain_reset(d, stats) == 0)
				break;
			continue;	/* a thread entered meanwhile */
		}
		/* threads still unwinding: asleep until the last one leaves
		 * (it wakes us), or 1 ms, then they are told again (one may
		 * have entered a blocking call after it was told).  A 50 us
		 * poll here was a third of a recovery. */
		struct timespec ts = { 0, 1000000 };
		if (syscall(SYS_futex, &d->leaves, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0) &&
		    errno == ETIMEDOUT)
			unwind_others(d);
		unwind = nk_now_ns() - t0;
	}
	atomic_fetch_sub(&d->resetting, 1);
	if (stats)
		stats->unwind_ns = unwind;
}

enum nooks_backend nooks_domain_backend(const struct nooks_domain *d)
{
	return d->backend;
}

enum nooks_state nooks_domain_state(const struct nooks_domain *d)
{
	return (enum nooks_state)atomic_load(&d->state);
}

const char *nooks_domain_name(const struct nooks_domain *d)
{
	return d->name;
}

void nooks_domain_stats(const struct nooks_domain *d, struct nooks_domain_stats *out)
{
	out->calls = atomic_load(&d->calls);
	out->faults = atomic_load(&d->faults);
	out->last_fault = (enum nooks_fault)atomic_load(&d->last_fault);
	out->last_signal = atomic_load(&d->last_signal);
	out->last_addr = atomic_load(&d->last_addr);
	out->last_pc = atomic_load(&d->last_pc);
	out->last_code = atomic_load(&d->last_code);
	out->refused = atomic_load(&d->refused);
	out->quota_refused = atomic_load(&d->quota_refused);
	snprintf(out->reason, sizeof(out->reason), "%s",
		 out->last_fault == NOOKS_FAULT_BOUND || out->last_fault == NOOKS_FAULT_DIED ?
		 d->fail_reason : "");
}

void nooks_domain_on_fault(struct nooks_domain *d,
			   void (*fn)(struct nooks_domain *d, void *arg), void *arg)
{
	d->on_fault_arg = arg;
	d->on_fault = fn;
}

void nooks_domain_set_code(struct nooks_domain *d, uintptr_t start, uintptr_t end)
{
	d->code_start = start;
	d->code_end = end;
}

int nooks_domain_allow(struct nooks_domain *d, const void *p, size_t len, int write)
{
	return nk_tracker_allow(d, p, len, write != 0);
}
