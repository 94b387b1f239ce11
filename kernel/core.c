/*
 * core.c - the core of the kernel library: kernel memory, locks, the
 * kernel log, module parameters, the clock and the live-object counters.
 *
 * Memory is the process heap.  Locks are heap objects behind handles in
 * the object arena (an extension never sees their layout nor can write
 * them, so recovery can release one an extension died holding; see
 * "locks" below).  printk_line builds the whole line
 * first and writes it with one write(2), so lines from several threads
 * never interleave.  Module parameters are visible only to the thread
 * that entered them (nkernel, around a module's init_module), through
 * thread-local state: no lock, and no other module can read them.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "nk/core.h"
#include "nk_kernel.h"
#include "nooks_runtime.h"

atomic_long nk_nr_sockets;
atomic_long nk_nr_files;
atomic_long nk_nr_tasks;
atomic_long nk_nr_threads;
atomic_long nk_nr_works;
atomic_long nk_nr_locks;

static atomic_int log_fd = 2;
static uint64_t boot_us;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

__attribute__((constructor)) static void nk_core_init(void)
{
	boot_us = now_us();
}

uint64_t nk_now_ms(void)
{
	return now_us() / 1000u;
}

unsigned long jiffies_ms(void)
{
	return (unsigned long)((now_us() - boot_us) / 1000u);
}

/* ---- memory ---------------------------------------------------------------- */

void *kmalloc(size_t size, gfp_t flags)
{
	if (flags & __GFP_ZERO)
		return calloc(1, size ? size : 1);
	return malloc(size ? size : 1);
}

void *kzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

void kfree(const void *p)
{
	free((void *)p);
}

/* ---- locks ----------------------------------------------------------------- */

/*
 * A mutex and a spinlock are the same lock here (a spinlock spins a
 * little before it sleeps): a futex word (0 free, 1 held, 2 held with
 * waiters, Drepper's "mutex 2") and the holder's thread id, on the
 * kernel's heap.  What an extension gets is a handle in the object arena
 * pointing to it: the extension may hold and pass the handle but never
 * write it (the arena is read-only to it), so an overrun of a "lock"
 * cannot reach the kernel's heap.
 *
 * Liveness, for isolated extensions (nooks_caller() says for which one
 * the thread runs kernel code):
 *  - a thread taking a lock it holds already fails its extension
 *    (nooks_domain_fail: a deadlock for ever otherwise), and so does one
 *    waiting for a lock whose holder has ended;
 *  - a wait ends when the extension goes down (nooks_interrupted), so
 *    that recovery never waits for a thread waiting for a lock a dead
 *    thread held; the wait sleeps at most 100 ms at a time to look;
 *  - releasing a lock the thread does not hold is refused for an
 *    extension (logged) and forced for the kernel: that is recovery
 *    releasing the locks a dead extension held (the records the wrappers
 *    made), once none of its threads runs.
 */
struct nk_lock {
	atomic_int state;
	atomic_int owner;		/* holder's thread id, 0 */
	bool spin;
	const char *what;		/* "mutex", "spinlock": for messages */
	atomic_bool told;		/* a kernel deadlock reported once */
};

struct mutex {
	struct nk_lock *k;
};

struct spinlock {
	struct nk_lock *k;
};

/* Locks this thread took and has not released itself (a lock recovery
 * released for it stays counted: the count errs towards "holds"). */
static _Thread_local int locks_held;

int nk_locks_held(void)
{
	return locks_held;
}

static int my_tid(void)
{
	static _Thread_local int tid;
	if (!tid)
		tid = (int)syscall(SYS_gettid);
	return tid;
}

static struct nk_lock *lock_new(bool spin, const char *what, void **handle)
{
	struct nk_lock *l = calloc(1, sizeof(*l));
	*handle = nooks_arena_alloc(sizeof(struct mutex));
	if (!l || !*handle) {
		free(l);
		if (*handle)
			nooks_arena_free(*handle);
		*handle = NULL;
		return NULL;
	}
	l->spin = spin;
	l->what = what;
	((struct mutex *)*handle)->k = l;
	atomic_fetch_add(&nk_nr_locks, 1);
	return l;
}

static void lock_free(void *handle)
{
	free(((struct mutex *)handle)->k);
	nooks_arena_free(handle);
	atomic_fetch_sub(&nk_nr_locks, 1);
}

static void lock_take(struct nk_lock *l)
{
	int tid = my_tid(), c = 0;

	if (atomic_compare_exchange_strong(&l->state, &c, 1))
		goto got;
	for (int i = 0; l->spin && i < 200; i++) {
		c = 0;
		if (atomic_compare_exchange_strong(&l->state, &c, 1))
			goto got;
		sched_yield();
	}
	for (;;) {
		if (atomic_load(&l->owner) == tid) {
			struct nooks_domain *d = nooks_caller();
			char why[96];
			snprintf(why, sizeof(why), "%s_lock: taken twice by the same thread (deadlock)",
				 l->what);
			if (d) {
				nooks_domain_fail(d, why);
				return;		/* the thread unwinds on its way back */
			}
			if (!atomic_exchange(&l->told, true))
				printk_line(LOGLEVEL_ERR, why);	/* the kernel's own bug */
		}
		if (nooks_interrupted())
			return;		/* its extension is being recovered */
		int owner = atomic_load(&l->owner);
		if (owner && nooks_caller() && syscall(SYS_tgkill, getpid(), owner, 0) &&
		    errno == ESRCH) {
			/* held by a thread that has ended: nobody will release
			 * it (the extension's bug, e.g. a thread that exited
			 * holding it) */
			char why[96];
			snprintf(why, sizeof(why), "%s_lock: held by a thread that has ended",
				 l->what);
			nooks_domain_fail(nooks_caller(), why);
			return;
		}
		if (atomic_exchange(&l->state, 2) == 0)
			goto got;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		syscall(SYS_futex, &l->state, FUTEX_WAIT_PRIVATE, 2, &ts, NULL, 0);
	}
got:
	atomic_store(&l->owner, tid);
	locks_held++;
}

static void lock_release(struct nk_lock *l)
{
	if (!atomic_load(&l->state))
		return;			/* not held (a wait recovery cut short) */
	if (atomic_load(&l->owner) != my_tid() && nooks_caller()) {
		char why[96];
		snprintf(why, sizeof(why), "BUG: %s_unlock of a lock the thread does not hold: "
			 "ignored", l->what);
		printk_line(LOGLEVEL_ERR, why);
		return;
	}
	if (atomic_load(&l->owner) == my_tid() && locks_held > 0)
		locks_held--;
	atomic_store(&l->owner, 0);
	if (atomic_exchange(&l->state, 0) == 2)
		syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

struct mutex *mutex_create(void)
{
	void *h;
	return lock_new(false, "mutex", &h) ? h : NULL;
}

void mutex_destroy(struct mutex *m)
{
	if (m)
		lock_free(m);
}

void mutex_lock(struct mutex *m)
{
	lock_take(m->k);
}

int mutex_trylock(struct mutex *m)
{
	/* Linux's convention: 1 if taken, 0 if contended. */
	int c = 0;
	if (!atomic_compare_exchange_strong(&m->k->state, &c, 1))
		return 0;
	atomic_store(&m->k->owner, my_tid());
	locks_held++;
	return 1;
}

void mutex_unlock(struct mutex *m)
{
	lock_release(m->k);
}

struct spinlock *spin_lock_create(void)
{
	void *h;
	return lock_new(true, "spin", &h) ? h : NULL;
}

void spin_lock_destroy(struct spinlock *l)
{
	if (l)
		lock_free(l);
}

void spin_lock(struct spinlock *l)
{
	lock_take(l->k);
}

void spin_unlock(struct spinlock *l)
{
	lock_release(l->k);
}

/* ---- the log --------------------------------------------------------------- */

void nk_log_to_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

void printk_line(int level, const char *msg)
{
	char small[512], *line = small;
	if (!msg)
		msg = "(null)";
	if (level < LOGLEVEL_EMERG || level > LOGLEVEL_DEBUG)
		level = LOGLEVEL_WARNING;
	size_t len = strlen(msg);
	/* pr_err("...\n") in the Linux habit: one newline, not two */
	if (len && msg[len - 1] == '\n')
		len--;
	uint64_t t = now_us() - boot_us;
	size_t need = len + 48;
	if (need > sizeof(small)) {
		line = malloc(need);
		if (!line) {
			line = small;
			need = sizeof(small);
			len = need - 48;
		}
	}
	int n = snprintf(line, need, "<%d>[%llu.%06llu] ", level,
			 (unsigned long long)(t / 1000000u),
			 (unsigned long long)(t % 1000000u));
	memcpy(line + n, msg, len);
	line[n + len] = '\n';
	size_t total = (size_t)n + len + 1;
	ssize_t w;
	do
		w = write(atomic_load(&log_fd), line, total);
	while (w < 0 && errno == EINTR);
	if (line != small)
		free(line);
}

/* ---- module parameters ----------------------------------------------------- */

static _Thread_local char *const *param_kv;
static _Thread_local int param_n;
static _Thread_local int param_active;

void nk_params_enter(char *const *kv, int n)
{
	param_kv = kv;
	param_n = kv ? n : 0;
	param_active = 1;
}

void nk_params_leave(void)
{
	param_kv = NULL;
	param_n = 0;
	param_active = 0;
}

int module_param_get(const char *name, char *buf, size_t len)
{
	if (!param_active)
		return -EPERM;
	if (!name || !*name || (!buf && len))
		return -EINVAL;
	size_t nl = strlen(name);
	const char *val = NULL;
	/* the last one given wins, as on a command line */
	for (int i = 0; i < param_n; i++) {
		const char *kv = param_kv[i];
		if (kv && strncmp(kv, name, nl) == 0 && kv[nl] == '=')
			val = kv + nl + 1;
	}
	if (!val)
		return -ENOENT;
	size_t vl = strlen(val);
	if (vl + 1 > len || vl > INT32_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, val, vl + 1);
	return (int)vl;
}

/* ---- statistics ------------------------------------------------------------ */

void nk_kernel_stats(struct nk_kernel_stats *out)
{
	out->sockets = atomic_load(&nk_nr_sockets);
	out->files = atomic_load(&nk_nr_files);
	out->tasks = atomic_load(&nk_nr_tasks);
	out->threads = atomic_load(&nk_nr_threads);
	out->parked = nk_kthreads_parked();
	out->works = atomic_load(&nk_nr_works);
	out->locks = atomic_load(&nk_nr_locks);
	out->skbs = atomic_load(&nk_nr_skbs);
	out->netdevs = atomic_load(&nk_nr_netdevs);
}
