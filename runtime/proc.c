/*
 * proc.c - the process backend (issue 12, docs/runtime.md "The process
 * backend"): each domain is a process of its own, MINIX 3 style.
 *
 * Kernel side.  nooks_proc_init(), called while the kernel is still one
 * thread, reserves the windows (NK_PROC_SLOTS of NK_PROC_WIN bytes,
 * PROT_NONE) and forks the zygote: a copy of the kernel's image before
 * any module is loaded, with the arena's writable view unmapped and its
 * read-only view mapped again from the sealed memfd.  A process domain
 * asks the zygote for a domain process (a fork of it, so every function
 * of the kernel's image, the generated thunks included, is at the same
 * address there), hands it a memfd for its window, and gets back a
 * pidfd.  The window is the only memory both sides write: a control
 * block, a channel per kernel thread that calls into the domain, the
 * partner threads' stacks, the tracker's shadows of the domain, and the
 * extension itself (loaded there, then shared: domain_load).
 *
 * A crossing copies the frame into the caller's channel, stores CALL and
 * waits (an adaptive spin, then FUTEX_WAIT); the partner thread runs the
 * thunk and stores RET.  A kernel call the extension makes stores KCALL
 * with a thunk and a frame on its stack (in the window): the kernel
 * thread waiting for the crossing runs it, if the thunk is one the
 * kernel allowed (nooks_proc_allow_kcall), and stores KRET.  Each side
 * only writes the state when it is its turn, so one word suffices.
 *
 * Faults: the domain process's death, however it comes, is seen at once
 * by the monitor thread through its pidfd; a crossing past its deadline
 * and a heartbeat left unanswered kill the process (SIGKILL), which is
 * then seen the same way.  Restart (nooks_domain_reset) forks a fresh
 * process into a fresh window.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nooks_internal.h"

/* ---- the window: what both sides map --------------------------------------- */

#define NK_PROC_BINDS 16		/* interfaces an extension binds to */

enum { ST_IDLE, ST_CALL, ST_RET, ST_KCALL, ST_KRET, ST_EXIT };

#define SHARED_SIZE ((size_t)128 << 20)	/* nooks_shared_alloc: block caches */
#define SHARED_PAGES (SHARED_SIZE / 4096)

struct nk_chan {
	_Atomic uint32_t state;		/* the futex word: ST_* */
	_Atomic uint32_t ksleep, dsleep;	/* that side waits in FUTEX_WAIT */
	_Atomic uint32_t want;		/* 1: the kernel wants a partner */
	_Atomic uintptr_t fn, arg;	/* the thunk and its frame */
	_Alignas(64) unsigned char frames[NK_PROC_DEPTH][NK_PROC_FRAME];
};

struct nk_ctl {
	_Atomic uint32_t bell;		/* futex: bumped for each request */
	_Atomic uint32_t ping, pong;	/* the heartbeat */
	_Atomic uint32_t ready;		/* 1: set up; 2: set-up failed */
	uint32_t step;			/* how far its set-up went */
	uintptr_t kdomain;		/* what nooks_self() is in the domain */
	uint32_t spin;			/* spin iterations before sleeping */
	int prestart;			/* partners to start before it is ready */
	int defer;			/* queue deferred calls (nooks_set_defer) */
	int ns;				/* CLONE_NEW*: asked for; then what it made */
	char error[256];		/* why the set-up failed */
	char last_words[128];		/* why it is ending, if it knows */
	/* the guard pages of the shared area (nooks_shared_guard): set by
	 * the kernel, gen bumped after; the domain applies them to its
	 * mapping at its next crossing */
	_Atomic uint32_t guard_gen;
	uint64_t guard[SHARED_PAGES / 64];
	/* what it loads before it is sealed: the extension, the wrapper
	 * library and the kernel tables its stubs get (same addresses) */
	char name[64];
	char path[PATH_MAX], wrapper[PATH_MAX];
	int nbind;
	struct { char pointer[64]; uintptr_t table; } bind[NK_PROC_BINDS];
};

#define CHAN_SIZE ((size_t)16 << 10)
#define CHAN_OFF ((size_t)64 << 10)
#define STACK_OFF ((size_t)4 << 20)
#define STACK_SIZE ((size_t)1 << 20)
#define SHADOW_OFF (STACK_OFF + NK_PROC_CHANS * STACK_SIZE)
#define SHADOW_SIZE ((size_t)32 << 20)
#define BOUNCE_OFF (SHADOW_OFF + SHADOW_SIZE)
#define BOUNCE_SIZE ((size_t)1 << 20)	/* per channel: kernel buffers passed in */
#define SHARED_OFF (BOUNCE_OFF + NK_PROC_CHANS * BOUNCE_SIZE)
#define DATA_OFF (SHARED_OFF + SHARED_SIZE)

_Static_assert(sizeof(struct nk_chan) <= CHAN_SIZE, "channel too large");
_Static_assert(sizeof(struct nk_ctl) <= CHAN_OFF, "control block too large");
_Static_assert(CHAN_OFF + NK_PROC_CHANS * CHAN_SIZE <= STACK_OFF, "channels overlap stacks");
_Static_assert(DATA_OFF < NK_PROC_WIN, "window too small");

static unsigned char *windows;		/* NK_PROC_SLOTS windows, reserved */

static inline struct nk_ctl *ctl_of(unsigned char *win)
{
	return (struct nk_ctl *)win;
}

static inline struct nk_chan *chan_of(unsigned char *win, int i)
{
	return (struct nk_chan *)(win + CHAN_OFF + (size_t)i * CHAN_SIZE);
}

static long futex(_Atomic uint32_t *w, int op, uint32_t v, const struct timespec *ts)
{
	/* not FUTEX_PRIVATE: the word is shared between two processes */
	return syscall(SYS_futex, (uint32_t *)w, op, v, ts, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/*
 * The adaptive spin before a side sleeps: only while the other side is
 * awake (asleep, it needs a wake-up anyway), up to *budget iterations
 * watching the state for a or b.  A spin that sees the answer doubles the
 * budget (up to max), one that does not halves it (down to 64): where the
 * other side answers while this one spins (a free CPU) a crossing costs
 * no system call; where it does not (every CPU busy) spinning would only
 * delay it, and nearly stops.  The state, or UINT32_MAX.
 */
static uint32_t spin_for(_Atomic uint32_t *st, uint32_t a, uint32_t b, uint32_t *budget,
			 _Atomic uint32_t *other_sleeps, uint32_t max)
{
	uint32_t n = *budget < 64 ? 64 : *budget, s;

	if (!max || atomic_load(other_sleeps))
		return UINT32_MAX;
	for (uint32_t i = 0; i < n; i++) {
		s = atomic_load(st);
		if (s == a || s == b) {
			*budget = n * 2 < max ? n * 2 : max;
			return s;
		}
		cpu_relax();
	}
	*budget = n / 2;
	return UINT32_MAX;
}

/* Stores s, waking the other side if it sleeps. */
static void chan_set(struct nk_chan *c, uint32_t s, _Atomic uint32_t *other_sleeps)
{
	atomic_store(&c->state, s);
	if (atomic_load(other_sleeps))
		futex(&c->state, FUTEX_WAKE, INT_MAX, NULL);
}

/* ---- the domain process ------------------------------------------------------ */

static int in_domain;			/* this process is a domain */
static unsigned char *dwin;		/* its window */
static __thread struct nk_chan *dchan;	/* a partner thread's channel */

int nk_proc_in_domain(void)
{
	return in_domain;
}

/* Waits until the state is a or b (the domain's side: no deadline; the
 * kernel kills it if it must). */
static __thread uint32_t dbudget;

static uint32_t dwait(struct nk_chan *c, uint32_t a, uint32_t b)
{
	uint32_t s = spin_for(&c->state, a, b, &dbudget, &c->ksleep, ctl_of(dwin)->spin);

	if (s != UINT32_MAX)
		return s;
	for (;;) {
		atomic_store(&c->dsleep, 1);
		s = atomic_load(&c->state);
		if (s == a || s == b)
			break;
		futex(&c->state, FUTEX_WAIT, s, NULL);
	}
	atomic_store(&c->dsleep, 0);
	return s;
}

/* The kernel's guard pages of the shared area, applied to this side's
 * mapping when they changed (at each crossing in and each return from a
 * kernel call: before the extension may see what they guard). */
static pthread_mutex_t dguard_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t dguard_gen;
static uint64_t dguard[SHARED_PAGES / 64];

static void dguards(void)
{
	struct nk_ctl *ctl = ctl_of(dwin);
	if (atomic_load_explicit(&ctl->guard_gen, memory_order_acquire) ==
	    atomic_load_explicit(&dguard_gen, memory_order_relaxed))
		return;
	pthread_mutex_lock(&dguard_lock);
	uint32_t g = atomic_load_explicit(&ctl->guard_gen, memory_order_acquire);
	for (size_t w = 0; w < SHARED_PAGES / 64; w++) {
		uint64_t want = ctl->guard[w], diff = want ^ dguard[w];
		for (unsigned bit = 0; diff; bit++, diff >>= 1)
			if (diff & 1)
				mprotect(dwin + SHARED_OFF + (w * 64 + bit) * 4096, 4096,
					 want >> bit & 1 ? PROT_NONE : PROT_READ | PROT_WRITE);
		dguard[w] = want;
	}
	atomic_store_explicit(&dguard_gen, g, memory_order_relaxed);
	pthread_mutex_unlock(&dguard_lock);
}

/*
 * Deferred calls in a domain process ([[deferred]], nooks_xpc_defer): the
 * thread queues them (its queue is thread-local, at the top of its stack
 * in the window) and the kernel runs a whole queue in one kernel call
 * (pdefer_kernel): before the thread's next kernel call, when the call
 * into the domain returns, when the queue is full.  A process that dies
 * drops its queue, as a crossing that faults does in-process.
 */
#define PDEFER_MAX 32
#define PDEFER_FRAME 64

struct pdcall {
	uintptr_t fn;
	_Alignas(16) unsigned char frame[PDEFER_FRAME];
};

struct pdframe {
	struct nooks_domain *dom;
	long ret;
	struct pdcall *c;
	long n;
};

static __thread struct {
	int n;
	struct pdcall c[PDEFER_MAX];
} pdq;

static void pdefer_kernel(void *frame);
static void log_kernel(void *frame);

static void pdefer_flush(void)
{
	if (!pdq.n)
		return;
	struct pdframe f = { NULL, 0, pdq.c, pdq.n };
	pdq.n = 0;	/* the kernel copies the queue before it runs it */
	nk_proc_kcall(pdefer_kernel, &f);
}

int nk_proc_defer(nooks_thunk fn, const void *frame, size_t size)
{
	if (!dchan || size > PDEFER_FRAME || !ctl_of(dwin)->defer)
		return -1;
	if (pdq.n == PDEFER_MAX)
		pdefer_flush();
	pdq.c[pdq.n].fn = (uintptr_t)fn;
	memcpy(pdq.c[pdq.n].frame, frame, size);
	pdq.n++;
	return 0;
}

static void drun(struct nk_chan *c)
{
	dguards();
	nooks_thunk fn = (nooks_thunk)atomic_load(&c->fn);
	fn((void *)atomic_load(&c->arg));
	pdefer_flush();
	chan_set(c, ST_RET, &c->ksleep);
}

void nk_proc_kcall(nooks_thunk fn, void *frame)
{
	struct nk_chan *c = dchan;

	if (!c)
		abort();	/* a thread without a channel: not one of ours */
	if (fn != pdefer_kernel)
		pdefer_flush();	/* its deferred calls first */
	atomic_store(&c->fn, (uintptr_t)fn);
	atomic_store(&c->arg, (uintptr_t)frame);
	chan_set(c, ST_KCALL, &c->ksleep);
	while (dwait(c, ST_KRET, ST_CALL) == ST_CALL)
		drun(c);	/* the kernel called in again meanwhile */
	dguards();
}

static void *partner(void *arg)
{
	struct nk_chan *c = arg;

	dchan = c;
	dbudget = ctl_of(dwin)->spin;
	nk_xpc_set_self((struct nooks_domain *)ctl_of(dwin)->kdomain);
	for (;;) {
		if (dwait(c, ST_CALL, ST_EXIT) == ST_CALL) {
			drun(c);
			continue;
		}
		/* its kernel thread ended: the kernel may give the channel,
		 * and this partner, to another thread now (a partner never
		 * ends: its stack is the channel's) */
		uint32_t exit_ = ST_EXIT;
		atomic_compare_exchange_strong(&c->state, &exit_, ST_IDLE);
	}
	return NULL;
}

static int start_partner(int i)
{
	pthread_attr_t a;
	pthread_t t;
	unsigned char *stack = dwin + STACK_OFF + (size_t)i * STACK_SIZE;
	int r;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	/* the page below is the guard (PROT_NONE since set-up) */
	pthread_attr_setstack(&a, stack + 4096, STACK_SIZE - 4096);
	r = pthread_create(&t, &a, partner, chan_of(dwin, i));
	pthread_attr_destroy(&a);
	return r;
}

/*
 * Threads the extension starts itself (the loader's pthread_create hook,
 * in the domain process): each gets a channel of its own from the kernel
 * (nk_proc_thread_chan, a kernel call made on the creator's channel),
 * whose stack in the window it runs on, and a servant thread on the
 * kernel's side that runs its kernel calls.  Such a thread never ends:
 * its stack is its channel's, which no other thread may take until the
 * process ends; when its start routine returns it waits, held until the
 * loader lets its record go (joined, or detached), for the next thread
 * the extension starts.
 */
struct dthread {
	pthread_t tid;
	int idx;
	_Atomic uint32_t job;		/* futex: 1 a start routine to run */
	/* under dt_lock: its start routine returned; its record went */
	bool idle, released;
	void *(*fn)(void *);
	void *arg;
};

static pthread_mutex_t dt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dthread dts[NK_PROC_CHANS];
static int ndts;

static void *dthread_main(void *arg)
{
	struct dthread *t = arg;

	dchan = chan_of(dwin, t->idx);
	dbudget = ctl_of(dwin)->spin;
	nk_xpc_set_self((struct nooks_domain *)ctl_of(dwin)->kdomain);
	for (;;) {
		while (!atomic_load(&t->job))
			futex(&t->job, FUTEX_WAIT, 0, NULL);
		t->fn(t->arg);
		pdefer_flush();
		pthread_mutex_lock(&dt_lock);
		atomic_store(&t->job, 0);
		t->idle = true;
		pthread_mutex_unlock(&dt_lock);
	}
	return NULL;
}

struct tchan_frame {
	struct nooks_domain *dom;
	long ret;			/* the channel, or -1 */
};

static void thread_chan_kernel(void *frame);

int nk_proc_thread_start(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	struct dthread *t = NULL;

	pthread_mutex_lock(&dt_lock);
	for (int i = 0; i < ndts && !t; i++)
		if (dts[i].idle && dts[i].released)
			t = &dts[i];
	if (t) {
		t->idle = t->released = false;
		t->fn = fn;
		t->arg = arg;
		*tid = t->tid;
		atomic_store(&t->job, 1);
		futex(&t->job, FUTEX_WAKE, 1, NULL);
		pthread_mutex_unlock(&dt_lock);
		return 0;
	}
	pthread_mutex_unlock(&dt_lock);
	struct tchan_frame f = { NULL, -1 };
	if (!dchan)
		return EAGAIN;	/* a thread of libc's: no channel to ask on */
	nk_proc_kcall(thread_chan_kernel, &f);
	if (f.ret < 0 || f.ret >= NK_PROC_CHANS)
		return EAGAIN;
	pthread_mutex_lock(&dt_lock);
	if (ndts == NK_PROC_CHANS) {	/* cannot be: the kernel gives each channel once */
		pthread_mutex_unlock(&dt_lock);
		return EAGAIN;
	}
	t = &dts[ndts];
	*t = (struct dthread){ .idx = (int)f.ret, .job = 1, .fn = fn, .arg = arg };
	pthread_attr_t a;
	unsigned char *stack = dwin + STACK_OFF + (size_t)t->idx * STACK_SIZE;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstack(&a, stack + 4096, STACK_SIZE - 4096);
	int r = pthread_create(&t->tid, &a, dthread_main, t);
	pthread_attr_destroy(&a);
	if (!r) {
		*tid = t->tid;
		ndts++;
	}
	pthread_mutex_unlock(&dt_lock);
	return r ? EAGAIN : 0;
}

void nk_proc_thread_release(pthread_t tid)
{
	pthread_mutex_lock(&dt_lock);
	for (int i = 0; i < ndts; i++)
		if (pthread_equal(dts[i].tid, tid))
			dts[i].released = true;
	pthread_mutex_unlock(&dt_lock);
}

/*
 * What a domain process may do once set up (MINIX 3's per-driver
 * privileges): memory of its own (never executable), threads (clone with
 * CLONE_THREAD only; clone3, whose flags seccomp cannot see, fails with
 * ENOSYS so that libc falls back to clone), futexes, sleeping, the clock,
 * signals to itself, and ending.  Anything else kills it (SIGSYS): no
 * open, no socket, no fork, no execve, no kill, no sigaction, no chdir,
 * no ptrace.  docs/runtime.md lists it.
 */
static int install_seccomp(char *err, size_t n)
{
	static const int allowed[] = {
		SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(munmap), SCMP_SYS(madvise),
		SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(set_robust_list),
		SCMP_SYS(rseq), SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(exit),
		SCMP_SYS(exit_group), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
		SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(getrandom),
		SCMP_SYS(restart_syscall), SCMP_SYS(sched_getaffinity),
	};
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = f ? 0 : -ENOMEM;

	for (size_t i = 0; !r && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, allowed[i], 0);
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (!r)
		r = seccomp_load(f);
	if (r)
		snprintf(err, n, "seccomp: %s", strerror(-r));
	if (f)
		seccomp_release(f);
	return r;
}

/* ---- loading the extension in the domain ------------------------------------ */

struct vma {
	uintptr_t lo, hi;
	int prot;
	int stack;
	int anon;		/* no file behind it */
};

/* The process's mappings, in address order; how many (at most max). */
static int read_maps(struct vma *v, int max)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off, inode = 0;
		char perms[8], dev[16];
		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &lo, &hi, perms, &off, dev, &inode) < 3)
			continue;
		v[n].anon = inode == 0;
		v[n].lo = lo;
		v[n].hi = hi;
		v[n].prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			    (perms[2] == 'x' ? PROT_EXEC : 0);
		v[n].stack = strstr(line, "[stack]") != NULL;
		n++;
	}
	fclose(f);
	return n;
}

/* v's contents into the memfd at off: all of it for a file's mapping,
 * only the pages ever touched of an anonymous one (a heap reserves 64 MiB
 * and touches a few pages: the rest stays a hole in the memfd). */
static int copy_vma(int wfd, const struct vma *v, off_t off)
{
	size_t page = 4096, len = v->hi - v->lo, npages = len / page;
	unsigned char vec[256];

	if (!v->anon)
		return pwrite(wfd, (void *)v->lo, len, off) == (ssize_t)len ? 0 : -1;
	for (size_t i = 0; i < npages; i += sizeof(vec)) {
		size_t k = npages - i < sizeof(vec) ? npages - i : sizeof(vec);
		if (mincore((void *)(v->lo + i * page), k * page, vec))
			return -1;
		for (size_t j = 0; j < k; j++) {
			size_t at = (i + j) * page;
			if ((vec[j] & 1) &&
			    pwrite(wfd, (void *)(v->lo + at), page, off + (off_t)at) != (ssize_t)page)
				return -1;
		}
	}
	return 0;
}

#define MAX_VMAS 4096
static struct vma vmas[MAX_VMAS];
static struct nooks_ext *dext;		/* the extension, in the domain */

/*
 * Loads the extension so that every byte of it (its segments, the wrapper
 * library's, the namespace's libc, its heap) lies in the window's data
 * area, [lo, hi), shared with the kernel at the same address: the area is
 * unmapped here, every gap above it filled for the time of the load (the
 * kernel's mmap gives the highest free gap, which is then the area), and
 * afterwards each mapping in it is copied into the window's memfd and
 * mapped from it, shared, with its protection.  The kernel reads and
 * writes what the extension passes as in-process: its strings, tables,
 * buffers and stacks.  No other thread runs meanwhile (the local domain
 * starts no watchdog in a domain process): a mapping is copied, then
 * replaced.
 */
static int domain_load(struct nk_ctl *ctl, unsigned char *win, int wfd, char *err, size_t n)
{
	uintptr_t lo = (uintptr_t)win + DATA_OFF, hi = (uintptr_t)win + NK_PROC_WIN, top = 0;
	uintptr_t fill[64][2];
	int nfill = 0, nv;

	munmap((void *)lo, hi - lo);
	nv = read_maps(vmas, MAX_VMAS);
	for (int i = 0; i < nv; i++)
		if (vmas[i].stack)
			top = vmas[i].lo - ((uintptr_t)64 << 20);	/* room to grow */
	for (int i = 0; i + 1 < nv && nfill < 64; i++) {
		uintptr_t a = vmas[i].hi, b = vmas[i + 1].lo;
		if (a < hi)
			a = hi;
		if (b > top)
			b = top;
		if (a >= b)
			continue;
		if (mmap((void *)a, b - a, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0) ==
		    (void *)a) {
			fill[nfill][0] = a;
			fill[nfill++][1] = b - a;
		}
	}

	ctl->step = 10;
	struct nooks_stub_binding bind[NK_PROC_BINDS];
	for (int i = 0; i < ctl->nbind && i < NK_PROC_BINDS; i++)
		bind[i] = (struct nooks_stub_binding){ ctl->bind[i].pointer,
						       (const void *)ctl->bind[i].table };
	struct nooks_domain *ld = nooks_domain_create(ctl->name, NOOKS_BACKEND_MPROTECT);
	dext = ld ? nooks_ext_load(ld, ctl->path, ctl->wrapper, bind, (size_t)ctl->nbind, err, n) :
		    NULL;
	if (!dext && ld)
		return -1;
	if (!ld) {
		snprintf(err, n, "no local domain");
		return -1;
	}
	/* the extension's libc (its link namespace's) reads the time zone
	 * at its first gmtime or localtime, an open of /etc/localtime that
	 * the filter forbids: read now */
	void (*tz)(void) = (void (*)(void))nooks_ext_sym(dext, "tzset");
	if (tz)
		tz();

	ctl->step = 11;
	/* everything the load mapped in the area: shared from the memfd */
	nv = read_maps(vmas, MAX_VMAS);
	uintptr_t at = lo;
	for (int i = 0; i < nv; i++) {
		if (vmas[i].hi <= lo || vmas[i].lo >= hi)
			continue;
		if (vmas[i].lo < lo || vmas[i].hi > hi) {
			snprintf(err, n, "a mapping straddles the window: %#lx-%#lx",
				 (unsigned long)vmas[i].lo, (unsigned long)vmas[i].hi);
			return -1;
		}
		size_t len = vmas[i].hi - vmas[i].lo;
		off_t off = (off_t)(vmas[i].lo - (uintptr_t)win);
		if (vmas[i].lo > at &&
		    mmap((void *)at, vmas[i].lo - at, PROT_NONE, MAP_SHARED | MAP_FIXED_NOREPLACE, wfd,
			 (off_t)(at - (uintptr_t)win)) == MAP_FAILED) {
			snprintf(err, n, "filling the window: %s", strerror(errno));
			return -1;
		}
		if ((vmas[i].prot & PROT_READ) && copy_vma(wfd, &vmas[i], off)) {
			snprintf(err, n, "copying into the window: %s", strerror(errno));
			return -1;
		}
		if (mmap((void *)vmas[i].lo, len, vmas[i].prot, MAP_SHARED | MAP_FIXED, wfd, off) ==
		    MAP_FAILED) {
			snprintf(err, n, "sharing %#lx: %s", (unsigned long)vmas[i].lo,
				 strerror(errno));
			return -1;
		}
		at = vmas[i].hi;
	}
	/* the rest of the area: nothing private may land there later */
	if (at < hi &&
	    mmap((void *)at, hi - at, PROT_NONE, MAP_SHARED | MAP_FIXED_NOREPLACE, wfd,
		 (off_t)(at - (uintptr_t)win)) == MAP_FAILED) {
		snprintf(err, n, "filling the window: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < nfill; i++)
		munmap((void *)fill[i][0], fill[i][1]);
	return 0;
}

struct sym_frame {
	char name[64];
	void *addr;
};

static void sym_thunk(void *p)
{
	struct sym_frame *f = p;
	f->addr = dext ? nooks_ext_sym(dext, f->name) : NULL;
}

static void *noop_thread(void *arg)
{
	return arg;
}

static void set_limit(int what, rlim_t v)
{
	struct rlimit rl = { v, v };
	setrlimit(what, &rl);
}

static _Noreturn void domain_main(int slot, int wfd)
{
	unsigned char *win = windows + (size_t)slot * NK_PROC_WIN;
	struct nk_ctl *ctl;
	sigset_t all;
	char err[128] = "";

	in_domain = 1;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_DUMPABLE, 0);
	if (mmap(win, NK_PROC_WIN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, wfd, 0) == MAP_FAILED)
		_exit(120);
	/* the other windows are not this domain's */
	if (slot > 0)
		munmap(windows, (size_t)slot * NK_PROC_WIN);
	if (slot + 1 < NK_PROC_SLOTS)
		munmap(win + NK_PROC_WIN, (size_t)(NK_PROC_SLOTS - slot - 1) * NK_PROC_WIN);
	dwin = win;
	ctl = ctl_of(win);
	ctl->step = 1;
	if (ctl->path[0] && domain_load(ctl, win, wfd, err, sizeof(err))) {
		snprintf(ctl->error, sizeof(ctl->error), "%s", err);
		atomic_store(&ctl->ready, 2);
		futex(&ctl->ready, FUTEX_WAKE, INT_MAX, NULL);
		_exit(123);
	}
	ctl->step = 2;
	/* its own namespaces, where the system allows them (and the load
	 * started no thread): a user namespace (no capability over anything
	 * outside it), and a network one if asked (no network device) */
	int want = ctl->ns;
	ctl->ns = 0;
	if (want && !unshare(want))
		ctl->ns = want;
	else if (want & CLONE_NEWUSER && !unshare(CLONE_NEWUSER))
		ctl->ns = CLONE_NEWUSER;
	/* its faults kill it (the runtime's handlers the load installed
	 * would call sigaction, which it may not) */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	/* no descriptor at all: its channels are memory */
	syscall(SYS_close_range, 0, ~0U, 0);
	for (int i = 0; i < NK_PROC_CHANS; i++)
		mprotect(win + STACK_OFF + (size_t)i * STACK_SIZE, 4096, PROT_NONE);
	/* libc installs its own signal handlers at the first pthread_create:
	 * before the filter, which forbids sigaction */
	pthread_t first;
	if (pthread_create(&first, NULL, noop_thread, NULL) == 0)
		pthread_join(first, NULL);
	ctl->step = 3;
	set_limit(RLIMIT_NOFILE, 0);
	set_limit(RLIMIT_CORE, 0);
	set_limit(RLIMIT_FSIZE, 0);
	set_limit(RLIMIT_AS, (rlim_t)NK_PROC_WIN + ((rlim_t)1 << 30));
	if (install_seccomp(err, sizeof(err))) {
		snprintf(ctl->error, sizeof(ctl->error), "%s", err);
		atomic_store(&ctl->ready, 2);
		futex(&ctl->ready, FUTEX_WAKE, INT_MAX, NULL);
		_exit(121);
	}
	/* the partners its last process had, started now (a restart then
	 * waits for none); it says how many it started */
	int pre = 0, npre = ctl->prestart;
	while (pre < npre && pre < NK_PROC_CHANS && !start_partner(pre))
		pre++;
	ctl->prestart = pre;
	atomic_store(&ctl->ready, 1);
	futex(&ctl->ready, FUTEX_WAKE, INT_MAX, NULL);
	for (;;) {
		uint32_t bell = atomic_load(&ctl->bell);
		atomic_store(&ctl->pong, atomic_load(&ctl->ping));
		for (int i = 0; i < NK_PROC_CHANS; i++) {
			struct nk_chan *c = chan_of(win, i);
			uint32_t one = 1;
			if (atomic_compare_exchange_strong(&c->want, &one, 0) && start_partner(i))
				abort();	/* no thread for the kernel's: a fault */
		}
		futex(&ctl->bell, FUTEX_WAIT, bell, NULL);
	}
}

/* ---- the zygote ----------------------------------------------------------------- */

struct zreq {
	int slot;
};

struct zstatus {
	pid_t pid;
	int status;
};

static int send_fd(int sock, const void *buf, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* len bytes and a descriptor (-1 if none came); 0 at the end. */
static ssize_t recv_fd(int sock, void *buf, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);

	*fd = -1;
	if (r > 0) {
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	}
	return r;
}

static _Noreturn void zygote(int req, int st, int afd, void *ro, size_t asz)
{
	struct pollfd pf[2];
	sigset_t chld;
	int sfd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "nk-zygote");
	/* none of the kernel's writable view of its objects; the read-only
	 * view mapped again from the sealed memfd, so that no mprotect can
	 * make it writable (F_SEAL_FUTURE_WRITE) */
	munmap(nk_arena_rw_base(), asz);
	if (mmap(ro, asz, PROT_READ, MAP_SHARED | MAP_FIXED | MAP_NORESERVE, afd, 0) == MAP_FAILED)
		_exit(122);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC);
	/* nothing of the kernel's but its two sockets */
	for (int fd = 0; fd < 1024; fd++)
		if (fd != req && fd != st && fd != sfd)
			close(fd);
	pf[0] = (struct pollfd){ .fd = req, .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		if (poll(pf, 2, -1) < 0)
			continue;
		if (pf[1].revents) {
			struct signalfd_siginfo si;
			struct zstatus zs;
			if (read(sfd, &si, sizeof(si)) < 0)
				continue;
			while ((zs.pid = waitpid(-1, &zs.status, WNOHANG)) > 0)
				send(st, &zs, sizeof(zs), MSG_NOSIGNAL);
		}
		if (pf[0].revents) {
			struct zreq r;
			int wfd;
			ssize_t n = recv_fd(req, &r, sizeof(r), &wfd);
			if (n == 0 || (n < 0 && errno != EINTR))
				_exit(0);	/* the kernel is gone */
			if (n != sizeof(r) || wfd < 0 || r.slot < 0 || r.slot >= NK_PROC_SLOTS) {
				if (wfd >= 0)
					close(wfd);
				send_fd(req, &(pid_t){ -1 }, sizeof(pid_t), -1);
				continue;
			}
			pid_t pid = fork();
			if (pid == 0) {
				close(req);
				close(st);
				close(sfd);
				domain_main(r.slot, wfd);
			}
			close(wfd);
			int pfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
			if (pfd < 0 && pid > 0)
				kill(pid, SIGKILL);
			send_fd(req, &(pid_t){ pfd < 0 ? -1 : pid }, sizeof(pid_t), pfd);
			if (pfd >= 0)
				close(pfd);
		}
	}
}

/* ---- the kernel side --------------------------------------------------------- */

struct nk_proc {
	struct nooks_domain *d;		/* NULL: the slot is free */
	int slot;
	unsigned char *win;
	pid_t pid;
	int pidfd;
	atomic_int dead;		/* the process has ended */
	atomic_ulong gen;		/* bumped at each (re)start and stop */
	pthread_mutex_t lock;		/* chan_used, starts */
	/* 1: a kernel thread's; 2: its thread ended, free (with its
	 * partner) once the partner saw it (the state back to ST_IDLE) */
	unsigned char chan_used[NK_PROC_CHANS];
	long long ping_ns;		/* when the unanswered ping was sent */
	long long restart_ns;		/* the last restart took this long */
	/* the extension it loads at each start (ctl's fields) */
	char *path, *wrapper;
	int nbind;
	struct nooks_stub_binding bind[NK_PROC_BINDS];
	/* the window's shared area: pages the kernel gave out
	 * (nooks_shared_alloc), kept across restarts */
	pthread_mutex_t shared_lock;
	uint64_t shared_used[SHARED_PAGES / 64];
	uint64_t shared_guard[SHARED_PAGES / 64];	/* given to each new process */
	int win_live;			/* its window is mapped (shared_lock) */
	atomic_int servants;		/* kernel threads serving its own threads */
	int nused;			/* channels its last process had in use */
	unsigned long cfg;		/* bumped when what it loads changes */
	/* the standby (standby_main): sb_lock */
	pthread_mutex_t sb_lock;
	atomic_int sb_busy;		/* a thread is making one */
	int sb_off;			/* the domain goes: no more */
	int sb_wfd, sb_pfd;		/* -1: none */
	pid_t sb_pid;
	struct nk_ctl *sb_ctl;		/* its control block, in the kernel */
	unsigned long sb_cfg;
	int sb_pre;
};

static pthread_mutex_t zlock = PTHREAD_MUTEX_INITIALIZER;
static int zreq_fd = -1, zst_fd = -1;
static struct nk_proc procs[NK_PROC_SLOTS];
static int epfd = -1;
static pthread_once_t monitor_once = PTHREAD_ONCE_INIT;
static atomic_uint spin_iters = 2000;
static atomic_uint heartbeat_ms = 1000;
static atomic_int ns_flags = CLONE_NEWUSER;	/* nooks_proc_set_namespaces */
static pthread_mutex_t kcall_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t kcalls[1024];		/* open addressing; 0: empty */

int nooks_proc_init(void)
{
	void *ro;
	size_t asz;
	int req[2], st[2], afd;

	if (zreq_fd >= 0)
		return 0;
	afd = nk_arena_share(&ro, &asz);
	if (afd < 0)
		return -ENOSYS;		/* no sealed two-view arena: no process domains */
	windows = mmap(NULL, (size_t)NK_PROC_SLOTS * NK_PROC_WIN, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (windows == MAP_FAILED) {
		windows = NULL;
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, req))
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, st)) {
		close(req[0]);
		close(req[1]);
		return -errno;
	}
	fflush(NULL);
	pid_t z = fork();
	if (z < 0)
		return -errno;
	if (z == 0) {
		close(req[0]);
		close(st[0]);
		zygote(req[1], st[1], afd, ro, asz);
	}
	close(req[1]);
	close(st[1]);
	zreq_fd = req[0];
	zst_fd = st[0];
	for (int i = 0; i < NK_PROC_SLOTS; i++) {
		procs[i].slot = i;
		procs[i].pidfd = -1;
		pthread_mutex_init(&procs[i].lock, NULL);
		pthread_mutex_init(&procs[i].shared_lock, NULL);
		pthread_mutex_init(&procs[i].sb_lock, NULL);
		procs[i].sb_wfd = procs[i].sb_pfd = -1;
	}
	const char *e = getenv("NOOKS_PROC_SPIN");
	if (e)
		atomic_store(&spin_iters, (unsigned)strtoul(e, NULL, 10));
	else if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		atomic_store(&spin_iters, 0);	/* nobody to wait for while spinning */
	nooks_proc_allow_kcall(thread_chan_kernel);
	nooks_proc_allow_kcall(pdefer_kernel);
	nooks_proc_allow_kcall(log_kernel);
	if ((e = getenv("NOOKS_PROC_NETNS")) && *e == '1')
		atomic_store(&ns_flags, CLONE_NEWUSER | CLONE_NEWNET);
	return 0;
}

void nooks_proc_set_namespaces(int netns)
{
	atomic_store(&ns_flags, netns ? CLONE_NEWUSER | CLONE_NEWNET : CLONE_NEWUSER);
}

int nooks_proc_namespaces(const struct nooks_domain *d)
{
	return d && d->proc && d->proc->win_live ? ctl_of(d->proc->win)->ns : 0;
}

void nooks_proc_set_spin(unsigned iterations)
{
	atomic_store(&spin_iters, iterations);
}

void nooks_proc_set_heartbeat(unsigned ms)
{
	atomic_store(&heartbeat_ms, ms);
}

int nooks_proc_allow_kcall(nooks_thunk fn)
{
	uintptr_t v = (uintptr_t)fn;
	size_t n = sizeof(kcalls) / sizeof(kcalls[0]);
	int r = -ENOSPC;

	pthread_mutex_lock(&kcall_lock);
	for (size_t i = (v >> 4) % n, k = 0; k < n; k++, i = (i + 1) % n) {
		uintptr_t cur = __atomic_load_n(&kcalls[i], __ATOMIC_ACQUIRE);
		if (cur == v) {
			r = 0;
			break;
		}
		if (!cur) {
			__atomic_store_n(&kcalls[i], v, __ATOMIC_RELEASE);
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&kcall_lock);
	return r;
}

static int kcall_allowed(uintptr_t v)
{
	size_t n = sizeof(kcalls) / sizeof(kcalls[0]);

	if (!v)
		return 0;
	for (size_t i = (v >> 4) % n, k = 0; k < n; k++, i = (i + 1) % n) {
		uintptr_t cur = __atomic_load_n(&kcalls[i], __ATOMIC_ACQUIRE);
		if (cur == v)
			return 1;
		if (!cur)
			return 0;
	}
	return 0;
}

pid_t nooks_proc_pid(const struct nooks_domain *d)
{
	return d && d->proc ? d->proc->pid : -1;
}

/* The fault that takes p's domain down (the first one wins). */
static void proc_fault(struct nk_proc *p, int kind, int sig, int code, const char *why)
{
	struct nooks_domain *d = p->d;
	int up = NOOKS_UP;

	if (!d)
		return;
	atomic_fetch_add(&d->failing, 1);
	if (atomic_compare_exchange_strong(&d->state, &up, NOOKS_DOWN)) {
		snprintf(d->fail_reason, sizeof(d->fail_reason), "%s", why ? why : "");
		atomic_store(&d->last_fault, kind);
		atomic_store(&d->last_signal, sig);
		atomic_store(&d->last_code, code);
		atomic_store(&d->last_addr, 0);
		atomic_store(&d->last_pc, 0);
		atomic_fetch_add(&d->faults, 1);
		atomic_store(&d->culprit, 0);
		if (d->on_fault)
			d->on_fault(d, d->on_fault_arg);
	}
	/* wake every kernel thread waiting on it, and those blocked in a
	 * kernel call made for it */
	for (int i = 0; i < NK_PROC_CHANS; i++)
		if (p->chan_used[i])
			futex(&chan_of(p->win, i)->state, FUTEX_WAKE, INT_MAX, NULL);
	nk_xpc_unwind_others(d);
	if (atomic_fetch_sub(&d->failing, 1) == 1)
		nk_domain_left(d);
}

void nk_proc_kill(struct nooks_domain *d)
{
	if (d->proc && d->proc->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, d->proc->pidfd, SIGKILL, NULL, 0);
}

/* Kills p's process for a reason of the kernel's (a deadline, the
 * heartbeat): the fault is that reason, the death follows. */
static void proc_kill(struct nk_proc *p, int kind, const char *why)
{
	proc_fault(p, kind, 0, 0, why);
	if (p->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
}

/* The zygote's word on how pid ended; waits up to 100 ms for it. */
static int exit_status(pid_t pid, int *status)
{
	for (int tries = 0; tries < 20; tries++) {
		struct zstatus zs;
		struct pollfd pf = { .fd = zst_fd, .events = POLLIN };
		if (poll(&pf, 1, 5) <= 0)
			continue;
		if (recv(zst_fd, &zs, sizeof(zs), MSG_DONTWAIT) != sizeof(zs))
			continue;
		if (zs.pid == pid) {
			*status = zs.status;
			return 0;
		}
	}
	return -1;
}

static void proc_died(struct nk_proc *p)
{
	int status = 0;
	char why[sizeof(((struct nk_ctl *)0)->last_words)] = "";

	if (exit_status(p->pid, &status))
		status = 0;
	atomic_store(&p->dead, 1);
	/* what the domain's runtime said before it ended it (the domain's
	 * words: printable characters only) */
	if (p->win_live) {
		memcpy(why, ctl_of(p->win)->last_words, sizeof(why) - 1);
		for (char *c = why; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				*c = '?';
	}
	if (WIFSIGNALED(status))
		proc_fault(p, NOOKS_FAULT_DIED, WTERMSIG(status), 0, why);
	else
		proc_fault(p, NOOKS_FAULT_DIED, 0, WEXITSTATUS(status), why);
}

struct log_frame {
	struct nooks_domain *dom;
	long ret;
	const char *line;
};

/* A kernel call of the domain's: a line of its runtime's for the log
 * (in its window, 512 bytes at most; printable characters only, and
 * under the domain's name whatever it says). */
static void log_kernel(void *frame)
{
	struct log_frame *f = frame;
	struct nk_proc *p = f->dom ? f->dom->proc : NULL;
	char line[512], prefix[96];

	if (!p || nooks_check_string(f->dom, f->line, sizeof(line)))
		return;
	snprintf(line, sizeof(line), "%s", f->line);
	for (char *c = line; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	int n = snprintf(prefix, sizeof(prefix), "nooks: %s: ", f->dom->name);
	nk_logf("%s%s", strncmp(line, prefix, (size_t)n) ? prefix : "", line);
}

int nk_proc_log(const char *line)
{
	struct log_frame f = { NULL, 0, line };
	if (!dchan)
		return -1;
	nk_proc_kcall(log_kernel, &f);
	return 0;
}

void nk_proc_last_words(const char *fmt, ...)
{
	va_list ap;
	if (!in_domain)
		return;
	va_start(ap, fmt);
	vsnprintf(ctl_of(dwin)->last_words, sizeof(ctl_of(dwin)->last_words), fmt, ap);
	va_end(ap);
}

static void heartbeat(void)
{
	long long now = nk_now_ns();
	unsigned ms = atomic_load(&heartbeat_ms);

	for (int i = 0; i < NK_PROC_SLOTS; i++) {
		struct nk_proc *p = &procs[i];
		pthread_mutex_lock(&p->lock);
		if (p->d && !atomic_load(&p->dead) && atomic_load(&p->d->state) == NOOKS_UP) {
			struct nk_ctl *c = ctl_of(p->win);
			if (atomic_load(&c->pong) != atomic_load(&c->ping)) {
				if (ms && now - p->ping_ns > (long long)ms * 1000000) {
					char why[96];
					snprintf(why, sizeof(why), "heartbeat: no answer within %u ms", ms);
					proc_kill(p, NOOKS_FAULT_BOUND, why);
				}
			} else {
				atomic_fetch_add(&c->ping, 1);
				p->ping_ns = now;
				atomic_fetch_add(&c->bell, 1);
				futex(&c->bell, FUTEX_WAKE, 1, NULL);
			}
		}
		pthread_mutex_unlock(&p->lock);
	}
}

static void *monitor(void *arg)
{
	long long last = 0;

	(void)arg;
	for (;;) {
		struct epoll_event ev[8];
		int n = epoll_wait(epfd, ev, 8, 100);
		for (int i = 0; i < n; i++) {
			unsigned slot = ev[i].data.u32 & 0xffff;
			unsigned long gen = ev[i].data.u32 >> 16;
			struct nk_proc *p = &procs[slot];
			pthread_mutex_lock(&p->lock);
			if (p->d && (atomic_load(&p->gen) & 0xffff) == gen && !atomic_load(&p->dead)) {
				epoll_ctl(epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
				proc_died(p);
			}
			pthread_mutex_unlock(&p->lock);
		}
		long long now = nk_now_ns();
		if (now - last > 100000000LL) {
			heartbeat();
			last = now;
		}
	}
	return NULL;
}

static void start_monitor(void)
{
	pthread_t t;
	sigset_t all, old;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (epfd >= 0 && pthread_create(&t, NULL, monitor, NULL) == 0)
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The window of p's process is gone: its memory reserved again. */
static void win_unmap(struct nk_proc *p)
{
	pthread_mutex_lock(&p->shared_lock);
	p->win_live = 0;
	pthread_mutex_unlock(&p->shared_lock);
	mmap(p->win, NK_PROC_WIN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
	     -1, 0);
}

/* What a new process of p's loads and how it starts, into its control
 * block c (p->lock held); prestart: partners it starts ahead. */
static void ctl_fill(struct nk_proc *p, struct nk_ctl *c, int prestart)
{
	c->kdomain = (uintptr_t)p->d;
	c->spin = atomic_load(&spin_iters);
	c->ns = atomic_load(&ns_flags);
	c->prestart = prestart;
	c->defer = nk_defer_enabled();
	snprintf(c->name, sizeof(c->name), "%s", p->d->name);
	if (p->path) {
		snprintf(c->path, sizeof(c->path), "%s", p->path);
		snprintf(c->wrapper, sizeof(c->wrapper), "%s", p->wrapper);
		c->nbind = p->nbind;
		for (int i = 0; i < p->nbind; i++) {
			snprintf(c->bind[i].pointer, sizeof(c->bind[i].pointer), "%s",
				 p->bind[i].pointer);
			c->bind[i].table = (uintptr_t)p->bind[i].table;
		}
	}
}

/* Has the zygote fork a process for p's slot on window memfd wfd, whose
 * control block (filled) the kernel sees at c, and waits for its set-up
 * (5 s at most).  0 and its pid and pidfd, or -1 and why in err. */
static int launch(struct nk_proc *p, int wfd, struct nk_ctl *c, pid_t *pidp, int *pfdp,
		  char *err, size_t n)
{
	struct zreq r = { p->slot };
	pid_t pid = -1;
	int pfd = -1;

	pthread_mutex_lock(&zlock);
	if (send_fd(zreq_fd, &r, sizeof(r), wfd) == 0)
		recv_fd(zreq_fd, &pid, sizeof(pid), &pfd);
	pthread_mutex_unlock(&zlock);
	if (pid <= 0 || pfd < 0) {
		snprintf(err, n, "the zygote started no process");
		if (pfd >= 0)
			close(pfd);
		return -1;
	}
	for (int i = 0; i < 500 && !atomic_load(&c->ready); i++) {
		struct timespec ts = { 0, 10000000 };
		futex(&c->ready, FUTEX_WAIT, 0, &ts);
	}
	if (atomic_load(&c->ready) != 1) {
		int st = 0;
		struct pollfd pf = { .fd = pfd, .events = POLLIN };
		if (c->error[0])
			snprintf(err, n, "its set-up failed: %s", c->error);
		else if (poll(&pf, 1, 0) == 1 && !exit_status(pid, &st))
			snprintf(err, n, "it ended during its set-up (%s %d, at step %u)",
				 WIFSIGNALED(st) ? "signal" : "status",
				 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), c->step);
		else
			snprintf(err, n, "no answer within 5 s (at step %u)", c->step);
		syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		close(pfd);
		return -1;
	}
	*pidp = pid;
	*pfdp = pfd;
	return 0;
}

/* p's window (mapped from its process's memfd) goes live: the guards in,
 * the channels free (the first prestart with a partner waiting), the
 * process watched (p->lock held). */
static void adopt(struct nk_proc *p, pid_t pid, int pfd, int prestart)
{
	struct nk_ctl *c = ctl_of(p->win);
	pthread_mutex_lock(&p->shared_lock);
	memcpy(c->guard, p->shared_guard, sizeof(c->guard));
	atomic_fetch_add(&c->guard_gen, 1);
	p->win_live = 1;
	pthread_mutex_unlock(&p->shared_lock);
	memset(p->chan_used, 0, sizeof(p->chan_used));
	for (int i = 0; i < prestart && i < NK_PROC_CHANS; i++)
		p->chan_used[i] = 2;	/* free, its partner waiting */
	p->pid = pid;
	p->pidfd = pfd;
	atomic_store(&p->dead, 0);
	unsigned long gen = atomic_fetch_add(&p->gen, 1) + 1;
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u32 = (uint32_t)p->slot | (uint32_t)(gen & 0xffff) << 16 };
	epoll_ctl(epfd, EPOLL_CTL_ADD, pfd, &ev);
}

/* Forks p's process into a fresh window (p->lock held).  0 or -1. */
static int proc_spawn(struct nk_proc *p, char *err, size_t n)
{
	int wfd = memfd_create("nooks-domain", MFD_CLOEXEC), pfd = -1;
	pid_t pid = -1;

	if (wfd < 0 || ftruncate(wfd, NK_PROC_WIN)) {
		snprintf(err, n, "memfd: %s", strerror(errno));
		goto fail;
	}
	/* the window in the kernel: the same memory at the same address */
	if (mmap(p->win, NK_PROC_WIN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, wfd, 0) ==
	    MAP_FAILED) {
		snprintf(err, n, "mapping its window: %s", strerror(errno));
		goto fail;
	}
	ctl_fill(p, ctl_of(p->win), p->nused);
	if (launch(p, wfd, ctl_of(p->win), &pid, &pfd, err, n))
		goto fail;
	close(wfd);
	adopt(p, pid, pfd, ctl_of(p->win)->prestart);
	return 0;
fail:
	if (wfd >= 0)
		close(wfd);
	win_unmap(p);
	return -1;
}

/*
 * The standby: p's next process, started and loaded ahead by a thread of
 * its own (after each start), so that a restart only maps its window in
 * (no fork, no load, no partner to start on the way back).  Its control
 * block is mapped in the kernel elsewhere meanwhile.  Taken at a restart
 * if it is ready, still alive and made for the same extension; else the
 * restart forks as before.
 */
static void standby_drop(struct nk_proc *p)	/* sb_lock held */
{
	if (p->sb_pfd >= 0) {
		syscall(SYS_pidfd_send_signal, p->sb_pfd, SIGKILL, NULL, 0);
		close(p->sb_pfd);
		close(p->sb_wfd);
		munmap(p->sb_ctl, CHAN_OFF);
	}
	p->sb_pfd = p->sb_wfd = -1;
	p->sb_ctl = NULL;
}

static void *standby_main(void *arg)
{
	struct nk_proc *p = arg;
	char err[160];
	int wfd = -1;
	struct nk_ctl *c = MAP_FAILED;

	pthread_mutex_lock(&p->sb_lock);
	if (p->sb_pfd >= 0 || p->sb_off)
		goto out;
	wfd = memfd_create("nooks-domain", MFD_CLOEXEC);
	if (wfd < 0 || ftruncate(wfd, NK_PROC_WIN))
		goto out;
	c = mmap(NULL, CHAN_OFF, PROT_READ | PROT_WRITE, MAP_SHARED, wfd, 0);
	if (c == MAP_FAILED)
		goto out;
	pthread_mutex_lock(&p->lock);
	int ok = p->d && p->path && p->wrapper;
	unsigned long cfg = p->cfg;
	if (ok)
		ctl_fill(p, c, p->nused);
	pthread_mutex_unlock(&p->lock);
	pid_t pid;
	int pfd;
	if (!ok || launch(p, wfd, c, &pid, &pfd, err, sizeof(err)))
		goto out;
	p->sb_wfd = wfd;
	p->sb_pfd = pfd;
	p->sb_pid = pid;
	p->sb_ctl = c;
	p->sb_cfg = cfg;
	p->sb_pre = c->prestart;
	wfd = -1;
	c = MAP_FAILED;
out:
	if (c != MAP_FAILED)
		munmap(c, CHAN_OFF);
	if (wfd >= 0)
		close(wfd);
	atomic_store(&p->sb_busy, 0);
	pthread_mutex_unlock(&p->sb_lock);
	return NULL;
}

/* A standby for p, made in the background (unless one is on its way). */
static void standby_kick(struct nk_proc *p)
{
	pthread_t t;
	pthread_attr_t a;
	sigset_t all, old;

	if (atomic_exchange(&p->sb_busy, 1))
		return;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, &a, standby_main, p))
		atomic_store(&p->sb_busy, 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
}

/* Takes the standby as p's process (p->lock held, the old one stopped):
 * 0, or -1 if there is none ready for this extension. */
static int standby_take(struct nk_proc *p)
{
	int r = -1;

	if (pthread_mutex_trylock(&p->sb_lock))
		return -1;	/* on its way: no waiting for it */
	struct pollfd pf = { .fd = p->sb_pfd, .events = POLLIN };
	if (p->sb_pfd < 0 || p->sb_cfg != p->cfg || poll(&pf, 1, 0) != 0 ||
	    mmap(p->win, NK_PROC_WIN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 p->sb_wfd, 0) == MAP_FAILED) {
		standby_drop(p);
		pthread_mutex_unlock(&p->sb_lock);
		return -1;
	}
	adopt(p, p->sb_pid, p->sb_pfd, p->sb_pre);
	munmap(p->sb_ctl, CHAN_OFF);
	close(p->sb_wfd);
	p->sb_pfd = p->sb_wfd = -1;
	p->sb_ctl = NULL;
	r = 0;
	pthread_mutex_unlock(&p->sb_lock);
	return r;
}

/* Ends p's process (if it still runs) and gives its window back
 * (p->lock held; nobody inside). */
static void proc_stop(struct nk_proc *p)
{
	/* its next process starts as many partners ahead (32 at most) */
	if (p->win_live) {
		int n = 0;
		for (int i = 0; i < NK_PROC_CHANS; i++)
			n += p->chan_used[i] == 1 || p->chan_used[i] == 2;
		p->nused = n < 32 ? n : 32;
	}
	if (p->pidfd >= 0) {
		if (!atomic_load(&p->dead)) {
			epoll_ctl(epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
			syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
			struct pollfd pf = { .fd = p->pidfd, .events = POLLIN };
			poll(&pf, 1, 5000);
			atomic_store(&p->dead, 1);
		}
		close(p->pidfd);
		p->pidfd = -1;
	}
	atomic_fetch_add(&p->gen, 1);
	/* the servants of its threads leave the window before it goes (they
	 * may need p->lock on their way: let go meanwhile) */
	for (int i = 0; i < NK_PROC_CHANS && atomic_load(&p->servants); i++)
		if (p->chan_used[i] == 3)
			futex(&chan_of(p->win, i)->state, FUTEX_WAKE, INT_MAX, NULL);
	if (atomic_load(&p->servants) && p->d)
		nk_xpc_unwind_others(p->d);	/* one in a kernel call for it */
	while (atomic_load(&p->servants)) {
		pthread_mutex_unlock(&p->lock);
		usleep(100);
		pthread_mutex_lock(&p->lock);
	}
	win_unmap(p);
}

int nk_proc_create(struct nooks_domain *d)
{
	char err[160];

	if (zreq_fd < 0) {
		fprintf(stderr, "nooks: %s: no process domains: nooks_proc_init() was not called "
			"while the kernel was one thread\n", d->name);
		errno = ENOSYS;
		return -1;
	}
	pthread_once(&monitor_once, start_monitor);
	for (int i = 0; i < NK_PROC_SLOTS; i++) {
		struct nk_proc *p = &procs[i];
		pthread_mutex_lock(&p->lock);
		if (p->d) {
			pthread_mutex_unlock(&p->lock);
			continue;
		}
		p->d = d;
		p->win = windows + (size_t)i * NK_PROC_WIN;
		p->nused = 0;
		p->sb_off = 0;
		memset(p->shared_used, 0, sizeof(p->shared_used));
		memset(p->shared_guard, 0, sizeof(p->shared_guard));
		if (proc_spawn(p, err, sizeof(err))) {
			p->d = NULL;
			pthread_mutex_unlock(&p->lock);
			fprintf(stderr, "nooks: %s: no domain process: %s\n", d->name, err);
			errno = EAGAIN;
			return -1;
		}
		d->proc = p;
		nk_tracker_allow(d, p->win + STACK_OFF, NK_PROC_WIN - STACK_OFF, 1);
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	fprintf(stderr, "nooks: %s: no process domain left (%d at most)\n", d->name, NK_PROC_SLOTS);
	errno = ENOSPC;
	return -1;
}

void nk_proc_destroy(struct nooks_domain *d)
{
	struct nk_proc *p = d->proc;

	if (!p)
		return;
	nk_proc_ext_fini(d);
	pthread_mutex_lock(&p->sb_lock);
	p->sb_off = 1;
	standby_drop(p);
	pthread_mutex_unlock(&p->sb_lock);
	pthread_mutex_lock(&p->lock);
	proc_stop(p);
	p->d = NULL;
	d->proc = NULL;
	free(p->path);
	free(p->wrapper);
	p->path = p->wrapper = NULL;
	pthread_mutex_unlock(&p->lock);
}

void *nk_proc_shadow_area(struct nooks_domain *d, size_t len)
{
	if (!d || d->backend != NOOKS_BACKEND_PROCESS || !d->proc || len > SHADOW_SIZE)
		return NULL;
	return d->proc->win + SHADOW_OFF;
}

/*
 * Memory the kernel shares with a process domain's code in place (a
 * device's block cache, whose blocks the file system reads and writes
 * where they are): pages of the window's shared area, at the same
 * address on both sides, first fit.  The area outlives restarts (each
 * new window has it, zeroed): what is still given out stays given out
 * until the kernel frees it (a failed file system's device is discarded
 * before its domain restarts, so nothing there is read again).
 */
void *nk_proc_shared_alloc(struct nooks_domain *d, size_t len)
{
	struct nk_proc *p = d->proc;
	size_t n = (len + 4095) / 4096, run = 0;
	void *r = NULL;

	if (!p || !n || n > SHARED_PAGES)
		return NULL;
	pthread_mutex_lock(&p->shared_lock);
	for (size_t i = 0; i < SHARED_PAGES; i++) {
		run = p->shared_used[i / 64] >> (i % 64) & 1 ? 0 : run + 1;
		if (run < n)
			continue;
		for (size_t j = i + 1 - n; j <= i; j++)
			p->shared_used[j / 64] |= (uint64_t)1 << (j % 64);
		r = p->win + SHARED_OFF + (i + 1 - n) * 4096;
		break;
	}
	pthread_mutex_unlock(&p->shared_lock);
	return r;
}

/* Sets (on) or clears the guard bits of the pages [a, a + len) of d's
 * shared area, for the domain to apply; 0, or -1 if they are not in it. */
static int shared_mark(struct nooks_domain *d, void *a, size_t len, int on, int release)
{
	struct nk_proc *p = d->proc;
	size_t n = (len + 4095) / 4096, first;

	if (!p || (unsigned char *)a < p->win + SHARED_OFF ||
	    (size_t)((unsigned char *)a - p->win - SHARED_OFF) + n * 4096 > SHARED_SIZE)
		return -1;
	first = (size_t)((unsigned char *)a - p->win - SHARED_OFF) / 4096;
	struct nk_ctl *c = ctl_of(p->win);
	pthread_mutex_lock(&p->shared_lock);
	for (size_t j = first; j < first + n; j++) {
		uint64_t bit = (uint64_t)1 << (j % 64);
		p->shared_guard[j / 64] = on ? p->shared_guard[j / 64] | bit :
					       p->shared_guard[j / 64] & ~bit;
		if (release)
			p->shared_used[j / 64] &= ~bit;
	}
	/* the window is unmapped between a stop and the next start */
	if (p->win_live) {
		memcpy(c->guard + first / 64, p->shared_guard + first / 64,
		       ((first + n - 1) / 64 - first / 64 + 1) * sizeof(uint64_t));
		atomic_fetch_add_explicit(&c->guard_gen, 1, memory_order_release);
	}
	pthread_mutex_unlock(&p->shared_lock);
	return 0;
}

int nk_proc_shared_guard(struct nooks_domain *d, void *a, size_t len)
{
	return shared_mark(d, a, len, 1, 0);
}

/* 0, or -1 if [a, a + len) is not d's shared memory. */
int nk_proc_shared_free(struct nooks_domain *d, void *a, size_t len)
{
	if (shared_mark(d, a, len, 0, 1))
		return -1;
	madvise(a, len, MADV_REMOVE);	/* its pages back to the system */
	return 0;
}

int nk_proc_shadow_area_is(struct nooks_domain *d, const void *a)
{
	return d && d->backend == NOOKS_BACKEND_PROCESS && d->proc &&
	       a == d->proc->win + SHADOW_OFF;
}

int nk_proc_ext_load(struct nooks_domain *d, const char *path, const char *wrapper,
		     const struct nooks_stub_binding *bind, size_t nbind, char *err, size_t errlen)
{
	struct nk_proc *p = d->proc;
	int r;

	if (!p || nbind > NK_PROC_BINDS) {
		snprintf(err, errlen, "'%s': %s", path, p ? "too many interfaces" : "no domain process");
		return -1;
	}
	/* the kernel code its process may name: the tables' checked functions */
	for (size_t i = 0; i < nbind; i++) {
		const struct nooks_kw_head *h = bind[i].table;
		for (const nooks_thunk *t = h->checked; t && *t; t++)
			if (nooks_proc_allow_kcall(*t)) {
				snprintf(err, errlen, "too many kernel functions");
				return -1;
			}
	}
	pthread_mutex_lock(&p->sb_lock);
	standby_drop(p);	/* made for what it loaded before */
	pthread_mutex_unlock(&p->sb_lock);
	pthread_mutex_lock(&p->lock);
	p->cfg++;
	free(p->path);
	free(p->wrapper);
	p->path = strdup(path);
	p->wrapper = strdup(wrapper);
	p->nbind = (int)nbind;
	for (size_t i = 0; i < nbind; i++)
		p->bind[i] = bind[i];
	proc_stop(p);
	r = p->path && p->wrapper ? proc_spawn(p, err, errlen) : -1;
	if (r) {
		nk_logf("nooks: %s: not loaded: %s", d->name, err);
		free(p->path);
		free(p->wrapper);
		p->path = p->wrapper = NULL;
		/* a domain without its extension is of no use: down */
		atomic_store(&d->state, NOOKS_DOWN);
	} else {
		nk_tracker_allow(d, p->win + STACK_OFF, NK_PROC_WIN - STACK_OFF, 1);
	}
	pthread_mutex_unlock(&p->lock);
	if (!r)
		standby_kick(p);
	return r;
}

static void fini_thunk(void *arg)
{
	(void)arg;
	nk_ext_fini(dext);
}

/* When its domain goes (at unload): the extension's destructors and exit
 * handlers run in its process, as in-process (a fault there is logged; the process ends
 * with the domain anyway). */
void nk_proc_ext_fini(struct nooks_domain *d)
{
	char why[160];

	if (!d->proc || nooks_domain_state(d) != NOOKS_UP)
		return;
	nooks_bound_push(10000, "destructors");
	int r = nooks_xpc_ext_frame(d, fini_thunk, NULL, 0, 0);
	nooks_bound_pop();
	if (r)
		nk_logf("nooks: %s: its destructors faulted: %s", d->name,
			nk_fault_text(d, why, sizeof(why)));
}

void *nk_proc_ext_sym(struct nooks_domain *d, const char *name)
{
	struct sym_frame f = { .addr = NULL };

	snprintf(f.name, sizeof(f.name), "%s", name);
	if (nooks_xpc_ext_frame(d, sym_thunk, &f, sizeof(f), 0))
		return NULL;
	return f.addr;
}

int nk_proc_restart(struct nooks_domain *d)
{
	struct nk_proc *p = d->proc;
	char err[160];
	int r;

	if (!p)
		return -1;
	long long t0 = nk_now_ns();
	pthread_mutex_lock(&p->lock);
	proc_stop(p);
	r = standby_take(p) ? proc_spawn(p, err, sizeof(err)) : 0;
	if (!r)
		nk_tracker_allow(d, p->win + STACK_OFF, NK_PROC_WIN - STACK_OFF, 1);
	pthread_mutex_unlock(&p->lock);
	p->restart_ns = nk_now_ns() - t0;
	if (r)
		fprintf(stderr, "nooks: %s: restarting its process failed: %s\n", d->name, err);
	else
		standby_kick(p);	/* the next one */
	return r;
}

long long nooks_proc_restart_ns(const struct nooks_domain *d)
{
	return d && d->proc ? d->proc->restart_ns : 0;
}

/* ---- the kernel's channels ------------------------------------------------- */

#define KCHANS 8

struct kchan {
	struct nk_proc *p;
	unsigned long gen;
	int idx, depth;
	uint32_t budget;		/* the adaptive spin's (spin_for) */
	size_t bused;			/* of its bounce area, by the crossings under way */
};

static __thread struct kchan kc[KCHANS];
static pthread_key_t kc_key;
static pthread_once_t kc_once = PTHREAD_ONCE_INIT;

/* The thread ends: its partners end too, and its channels are free. */
static void kc_release(void *arg)
{
	(void)arg;
	for (int i = 0; i < KCHANS; i++) {
		struct kchan *k = &kc[i];
		if (!k->p)
			continue;
		pthread_mutex_lock(&k->p->lock);
		if (atomic_load(&k->p->gen) == k->gen) {
			struct nk_chan *c = chan_of(k->p->win, k->idx);
			chan_set(c, ST_EXIT, &c->dsleep);
			k->p->chan_used[k->idx] = 2;	/* free once its partner saw it */
		}
		pthread_mutex_unlock(&k->p->lock);
		k->p = NULL;
	}
}

static void kc_key_make(void)
{
	pthread_key_create(&kc_key, kc_release);
}

/* The calling thread's channel to p, made (and its partner asked for) at
 * its first crossing. */
static struct kchan *my_kchan(struct nk_proc *p)
{
	unsigned long gen = atomic_load(&p->gen);
	struct kchan *free_k = NULL;

	for (int i = 0; i < KCHANS; i++) {
		if (kc[i].p == p && kc[i].gen == gen)
			return &kc[i];
		if (!free_k && (!kc[i].p || atomic_load(&kc[i].p->gen) != kc[i].gen))
			free_k = &kc[i];
	}
	if (!free_k)
		return NULL;
	pthread_once(&kc_once, kc_key_make);
	pthread_setspecific(kc_key, kc);
	pthread_mutex_lock(&p->lock);
	int idx = -1;
	if (atomic_load(&p->gen) == gen && !atomic_load(&p->dead))
		for (int i = 0; i < NK_PROC_CHANS; i++)
			if (!p->chan_used[i] ||
			    (p->chan_used[i] == 2 &&
			     atomic_load(&chan_of(p->win, i)->state) == ST_IDLE)) {
				idx = i;
				break;
			}
	if (idx >= 0 && p->chan_used[idx] == 2) {
		p->chan_used[idx] = 1;	/* its partner waits for a call */
	} else if (idx >= 0) {
		struct nk_chan *c = chan_of(p->win, idx);
		struct nk_ctl *ctl = ctl_of(p->win);
		p->chan_used[idx] = 1;
		atomic_store(&c->state, ST_IDLE);
		atomic_store(&c->ksleep, 0);
		atomic_store(&c->want, 1);
		atomic_fetch_add(&ctl->bell, 1);
		futex(&ctl->bell, FUTEX_WAKE, 1, NULL);
	}
	pthread_mutex_unlock(&p->lock);
	if (idx < 0)
		return NULL;
	*free_k = (struct kchan){ p, gen, idx, 0, atomic_load(&spin_iters), 0 };
	return free_k;
}

/* Waits for RET or KCALL: the state, or -1 when the domain went down or
 * its code ran past timeout_ms (then killed). */
static int kwait(struct nk_proc *p, struct kchan *k, struct nk_chan *c, unsigned timeout_ms)
{
	struct nooks_domain *d = p->d;
	long long deadline = timeout_ms ? nk_now_ns() + (long long)timeout_ms * 1000000 : 0;
	uint32_t s = spin_for(&c->state, ST_RET, ST_KCALL, &k->budget, &c->dsleep,
			      atomic_load(&spin_iters));

	if (s != UINT32_MAX)
		return (int)s;
	for (;;) {
		atomic_store(&c->ksleep, 1);
		s = atomic_load(&c->state);
		if (s == ST_RET || s == ST_KCALL)
			break;
		if (atomic_load(&d->state) != NOOKS_UP || atomic_load(&p->dead)) {
			atomic_store(&c->ksleep, 0);
			return -1;
		}
		if (deadline && nk_now_ns() > deadline) {
			atomic_store(&c->ksleep, 0);
			if (getenv("NOOKS_PROC_DEBUG"))
				fprintf(stderr, "nooks: %s: deadline: channel %ld state %u want %u "
					"dsleep %u fn %#lx\n", d->name,
					(long)(((unsigned char *)c - p->win - CHAN_OFF) / CHAN_SIZE),
					atomic_load(&c->state), atomic_load(&c->want),
					atomic_load(&c->dsleep), (unsigned long)atomic_load(&c->fn));
			proc_kill(p, NOOKS_FAULT_TIMEOUT, "");
			return -1;
		}
		struct timespec ts = { 0, 20000000 };
		futex(&c->state, FUTEX_WAIT, s, &ts);
	}
	atomic_store(&c->ksleep, 0);
	return (int)s;
}

/* A kernel call the domain asked for: run if it is one the kernel
 * allows, on a frame inside the domain's window. */
static int krun(struct nk_proc *p, struct nk_chan *c)
{
	uintptr_t fn = atomic_load(&c->fn), arg = atomic_load(&c->arg);
	uintptr_t w = (uintptr_t)p->win;

	if (!kcall_allowed(fn) || arg - w < CHAN_OFF || arg - w > NK_PROC_WIN - NK_PROC_FRAME) {
		char why[96];
		snprintf(why, sizeof(why), "asked the kernel to run %#lx on %#lx: refused",
			 (unsigned long)fn, (unsigned long)arg);
		proc_kill(p, NOOKS_FAULT_BOUND, why);
		return -1;
	}
	/*
	 * The frame is the kernel's from here: copied off the window, where
	 * another thread of the domain could change it under the kernel; its
	 * first member, the domain it calls for (a generated frame's
	 * nkw_dom), is the domain whose channel asked: a domain may not
	 * speak for another.  What the checked function writes back is its
	 * result alone (nkw_ret, the 8 bytes after nkw_dom); its out
	 * parameters go through pointers into the domain's memory.
	 */
	_Alignas(16) unsigned char kf[NK_PROC_FRAME];
	struct nooks_domain *dom = p->d;
	memcpy(kf, (const void *)arg, sizeof(kf));
	memcpy(kf, &dom, sizeof(dom));
	struct nooks_domain *saved = nk_xpc_set_calling(p->d);
	struct nooks_domain *was = nk_xpc_set_running(NULL);
	((nooks_thunk)fn)(kf);
	nk_xpc_set_running(was);
	nk_xpc_set_calling(saved);
	memcpy((unsigned char *)arg + sizeof(dom), kf + sizeof(dom), 8);
	chan_set(c, ST_KRET, &c->dsleep);
	return 0;
}

/* ---- the kernel's side of the extension's own threads ---------------------- */

struct servant {
	struct nk_proc *p;
	unsigned long gen;
	int idx;
};

/* Waits for a kernel call on c: 0, or -1 once the process is gone. */
static int servant_wait(struct nk_proc *p, struct nk_chan *c, unsigned long gen)
{
	for (;;) {
		if (atomic_load(&p->gen) != gen || atomic_load(&p->dead))
			return -1;
		atomic_store(&c->ksleep, 1);
		uint32_t st = atomic_load(&c->state);
		if (st == ST_KCALL) {
			atomic_store(&c->ksleep, 0);
			return 0;
		}
		struct timespec ts = { 0, 20000000 };
		futex(&c->state, FUTEX_WAIT, st, &ts);
	}
}

/* Runs the kernel calls of one thread of the domain's own, for the life
 * of its process.  Crossings the kernel code makes into the domain go to
 * that thread (it waits in its kernel call), as a partner's do. */
static void *servant_main(void *arg)
{
	struct servant s = *(struct servant *)arg;
	struct nk_proc *p = s.p;
	struct nk_chan *c = chan_of(p->win, s.idx);

	free(arg);
	kc[0] = (struct kchan){ p, s.gen, s.idx, 0, atomic_load(&spin_iters), 0 };
	while (!servant_wait(p, c, s.gen)) {
		struct nooks_domain *d = p->d;
		atomic_fetch_add(&d->inside, 1);
		if (atomic_load(&d->state) == NOOKS_UP)
			krun(p, c);
		else
			atomic_store(&c->state, ST_IDLE);	/* it dies anyway */
		if (atomic_fetch_sub(&d->inside, 1) == 1)
			nk_domain_left(d);
	}
	kc[0].p = NULL;
	atomic_fetch_sub(&p->servants, 1);
	return NULL;
}

/* A kernel call of the domain's: a channel and a servant for a thread it
 * starts (nk_proc_thread_start); the channel, or -1. */
static void thread_chan_kernel(void *frame)
{
	struct tchan_frame *f = frame;
	struct nk_proc *p = f->dom ? f->dom->proc : NULL;
	int idx = -1;

	f->ret = -1;
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < NK_PROC_CHANS && !atomic_load(&p->dead) && p->win_live; i++)
		if (!p->chan_used[i]) {
			idx = i;
			break;
		}
	struct servant *sv = idx >= 0 ? malloc(sizeof(*sv)) : NULL;
	if (sv) {
		struct nk_chan *c = chan_of(p->win, idx);
		pthread_attr_t a;
		pthread_t t;
		*sv = (struct servant){ p, atomic_load(&p->gen), idx };
		atomic_store(&c->state, ST_IDLE);
		atomic_store(&c->ksleep, 0);
		atomic_store(&c->want, 0);
		p->chan_used[idx] = 3;
		atomic_fetch_add(&p->servants, 1);
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, servant_main, sv)) {
			p->chan_used[idx] = 0;
			atomic_fetch_sub(&p->servants, 1);
			free(sv);
			idx = -1;
		}
		pthread_attr_destroy(&a);
	} else {
		idx = -1;
	}
	pthread_mutex_unlock(&p->lock);
	f->ret = idx;
}

/* A kernel call of the domain's: its queue of deferred calls, each run
 * as krun runs one (an allowed function, the domain its first member);
 * a queue out of bounds or naming anything else kills the domain. */
static void pdefer_kernel(void *frame)
{
	struct pdframe *f = frame;
	struct nk_proc *p = f->dom ? f->dom->proc : NULL;
	struct pdcall c[PDEFER_MAX];

	if (!p)
		return;
	uintptr_t a = (uintptr_t)f->c, w = (uintptr_t)p->win;
	size_t len = (size_t)f->n * sizeof(c[0]);
	if (f->n < 0 || f->n > PDEFER_MAX || a - w < CHAN_OFF || a - w > NK_PROC_WIN - len) {
		proc_kill(p, NOOKS_FAULT_BOUND, "a deferred queue out of bounds");
		return;
	}
	memcpy(c, (const void *)a, len);
	for (long i = 0; i < f->n; i++) {
		if (!kcall_allowed(c[i].fn)) {
			proc_kill(p, NOOKS_FAULT_BOUND, "deferred a call the kernel does not allow");
			return;
		}
		memcpy(c[i].frame, &f->dom, sizeof(f->dom));
		((nooks_thunk)c[i].fn)(c[i].frame);
	}
}

/*
 * Kernel buffers a crossing passes to the extension (an ops entry's
 * in/out bytes()/count()/string parameters, nooks_xpc_buf): the domain
 * cannot read the kernel's memory, so the crossing copies each into the
 * calling thread's bounce area in the window (BOUNCE_SIZE a channel,
 * shared by its nested crossings), points the frame's copy at it, and
 * copies an out buffer back when the call returned.  Registered by the
 * generated wrapper right before its crossing, for that frame only.
 */
#define NBUFS 6
static __thread struct pbuf {
	const void *frame;		/* registered: the frame; copied: the kernel's buffer */
	size_t off, size;		/* of the frame's member; of the buffer */
	int dir;
	void *copy;			/* copied: where in the bounce area */
} pend[NBUFS + 1];
static __thread int npend;

void nooks_xpc_buf(struct nooks_domain *d, const void *frame, const void *field,
		   size_t size, int dir)
{
	if (!d || d->backend != NOOKS_BACKEND_PROCESS)
		return;
	if (npend && pend[0].frame != frame)
		npend = 0;	/* a wrapper's that did not cross */
	if (npend <= NBUFS)
		pend[npend++] = (struct pbuf){ frame, (size_t)((const char *)field -
			(const char *)frame), size, dir, NULL };
}

void nk_proc_bufs_drop(void)
{
	npend = 0;
}

/* Copies the buffers registered for frame into k's bounce area and points
 * buf's (the channel's copy of the frame) members at them; 0, or -1 if
 * they do not fit (too many, too large). */
static int bufs_in(struct nk_proc *p, struct kchan *k, const void *frame, unsigned char *buf,
		   size_t size, struct pbuf *b, int *nb)
{
	int n = npend && pend[0].frame == frame ? npend : 0;

	npend = 0;
	*nb = 0;
	if (n > NBUFS)
		return -1;
	unsigned char *area = p->win + BOUNCE_OFF + (size_t)k->idx * BOUNCE_SIZE;
	for (int i = 0; i < n; i++) {
		void *kp;
		if (pend[i].off > size - sizeof(kp))
			return -1;
		memcpy(&kp, buf + pend[i].off, sizeof(kp));
		if (!kp)
			continue;
		size_t at = (k->bused + 15) & ~(size_t)15;
		if (pend[i].size > BOUNCE_SIZE || at > BOUNCE_SIZE - pend[i].size)
			return -1;
		unsigned char *dp = area + at;
		if (pend[i].dir & NOOKS_BUF_IN)
			memcpy(dp, kp, pend[i].size);
		if (pend[i].dir & NOOKS_BUF_STR && pend[i].size)
			dp[pend[i].size - 1] = 0;
		memcpy(buf + pend[i].off, &dp, sizeof(dp));
		k->bused = at + pend[i].size;
		b[(*nb)++] = (struct pbuf){ kp, pend[i].off, pend[i].size, pend[i].dir, dp };
	}
	return 0;
}

int nk_proc_xpc(struct nooks_domain *d, nooks_thunk fn, void *frame, size_t size,
		unsigned timeout_ms)
{
	struct nk_proc *p = d->proc;
	struct kchan *k;
	int r = -1;

	if (!p || size > NK_PROC_FRAME) {
		npend = 0;
		atomic_store(&d->last_fault, NOOKS_FAULT_DOWN);
		return -1;
	}
	atomic_fetch_add(&d->inside, 1);
	k = atomic_load(&d->state) == NOOKS_UP ? my_kchan(p) : NULL;
	if (!k || k->depth >= NK_PROC_DEPTH) {
		npend = 0;
		if (atomic_fetch_sub(&d->inside, 1) == 1)
			nk_domain_left(d);
		return -1;
	}
	struct nk_chan *c = chan_of(p->win, k->idx);
	unsigned char *buf = c->frames[k->depth];
	struct pbuf bufs[NBUFS];
	size_t bused = k->bused;
	int nb;
	memcpy(buf, frame, size);
	if (bufs_in(p, k, frame, buf, size, bufs, &nb)) {
		k->bused = bused;	/* refused: the domain did nothing wrong */
		if (atomic_fetch_sub(&d->inside, 1) == 1)
			nk_domain_left(d);
		return -1;
	}
	k->depth++;
	struct nooks_domain *was = nk_xpc_set_running(d);
	atomic_store(&c->fn, (uintptr_t)fn);
	atomic_store(&c->arg, (uintptr_t)buf);
	chan_set(c, ST_CALL, &c->dsleep);
	for (;;) {
		int s = kwait(p, k, c, timeout_ms);
		if (s == ST_KCALL) {
			if (krun(p, c))
				break;
			continue;
		}
		if (s == ST_RET) {
			memcpy(frame, buf, size);
			/* out buffers from where the kernel put them (not
			 * from the frame's pointer, which the domain can change) */
			for (int i = 0; i < nb; i++) {
				if (bufs[i].dir & NOOKS_BUF_OUT)
					memcpy((void *)bufs[i].frame, bufs[i].copy, bufs[i].size);
				memcpy((unsigned char *)frame + bufs[i].off, &bufs[i].frame,
				       sizeof(void *));
			}
			r = 0;
		}
		break;
	}
	nk_xpc_set_running(was);
	k->depth--;
	k->bused = bused;
	/* who is at fault: a process has no faulting thread to name; the
	 * only thread that was in the domain is (an init that crashed its
	 * process is an init fault, not retried, as in-process) */
	unsigned long none = 0;
	if (r && atomic_load(&d->inside) == 1)
		atomic_compare_exchange_strong(&d->culprit, &none, (unsigned long)pthread_self());
	if (atomic_fetch_sub(&d->inside, 1) == 1)
		nk_domain_left(d);
	return r;
}
