/*
 * kthread.c - kernel threads, and the wait every blocking kernel call
 * makes.
 *
 * A task_struct lives in the object arena (extensions read it); the
 * kernel's side of it (kpriv) is a heap struct kthread: the pthread, the
 * stop flag, and an eventfd that kthread_stop() makes readable and that
 * is never drained.  A kernel thread's blocking calls all go through
 * nk_wait(), which polls the fd they wait for together with the thread's
 * stop eventfd: once a stop is asked every wait of the thread ends at
 * once with -EINTR, and msleep() is a poll on the eventfd alone.  A
 * signal that interrupts poll() (the runtime's way to pull threads out of
 * an extension under recovery) also ends the wait with -EINTR, never
 * retried.
 *
 * The thread sets the thread-local `current` and calls
 * task->ops->threadfn(task), reading task->ops on the new thread: when
 * the extension is isolated, the wrapper of wake_up_process has replaced
 * ops with a table that enters the extension.
 *
 * Threads are pooled: a thread whose threadfn returned parks (up to
 * POOL_MAX of them, each for POOL_IDLE_MS) and the next wake_up_process
 * runs its task on it.  A restarted extension's init starting its 16
 * workers again (or a kernel starting a thread per connection) then
 * costs a wake-up each, not a pthread_create with its stack mappings and
 * the runtime's per-thread extension and signal stacks, which were most
 * of a recovery; kthread_stop waits for threadfn to return, not for the
 * thread to end.  A thread whose threadfn returned holding a lock is not
 * pooled: it ends, as the lock's holder (core.c tells a waiter).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "nk/core.h"
#include "nk/kthread.h"
#include "nk_kernel.h"
#include "nooks_runtime.h"

enum kthread_state {
	KT_NEW,		/* created, not woken */
	KT_RUNNING,	/* woken; threadfn may have returned, not joined */
	KT_JOINED,	/* stopped and joined: exit_code final */
};

#define POOL_MAX 64
#define POOL_IDLE_MS 10000

/* A pooled thread: runs one task's threadfn after another. */
struct worker {
	struct worker *next;		/* in the idle list */
	pthread_t thread;
	pthread_cond_t cond;		/* a task was given to it */
	struct task_struct *task;	/* NULL: idle */
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker *idle;
static unsigned nidle;

struct kthread {
	pthread_t thread;
	pthread_mutex_t lock;	/* state transitions; held across the join */
	enum kthread_state state;
	/* threadfn returned (the "join": the thread itself goes on) */
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;
	bool done;
	atomic_bool stop;
	int stop_fd;		/* eventfd: readable once stop is asked */
	int exit_code;
	/* the isolated extension that woke it (its threadfn runs there):
	 * failed when the thread ignores a stop (nooks_domain_fail) */
	struct nooks_domain *domain;
	/* put by its own thread: freed by that thread when it ends */
	atomic_bool doomed;
	atomic_bool ready;	/* woken: state and thread are set */
	bool leaked;		/* never stopped: nothing may free it */
};

static atomic_uint stop_bound_ms = 5000;

void nk_set_stop_bound(unsigned ms)
{
	atomic_store(&stop_bound_ms, ms);
}

static _Thread_local struct task_struct *current;

static struct kthread *kt(struct task_struct *task)
{
	return task->kpriv;
}

struct task_struct *kthread_create(const char *name)
{
	struct task_struct *task = nooks_arena_alloc(sizeof(*task));
	struct kthread *k = calloc(1, sizeof(*k));
	if (!task || !k)
		goto fail;
	k->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->stop_fd < 0)
		goto fail;
	pthread_mutex_init(&k->lock, NULL);
	pthread_mutex_init(&k->done_lock, NULL);
	pthread_cond_init(&k->done_cond, NULL);
	k->state = KT_NEW;
	if (name) {
		strncpy(task->comm, name, TASK_COMM_LEN - 1);
		task->comm[TASK_COMM_LEN - 1] = '\0';
	}
	task->kpriv = k;
	atomic_fetch_add(&nk_nr_tasks, 1);
	return task;
fail:
	free(k);
	if (task)
		nooks_arena_free(task);
	return NULL;
}

static void task_free(struct task_struct *task)
{
	struct kthread *k = kt(task);
	close(k->stop_fd);
	pthread_mutex_destroy(&k->lock);
	pthread_mutex_destroy(&k->done_lock);
	pthread_cond_destroy(&k->done_cond);
	free(k);
	task->kpriv = NULL;
	nooks_arena_free(task);
	atomic_fetch_sub(&nk_nr_tasks, 1);
}

static void run_task(struct task_struct *task)
{
	struct kthread *k = kt(task);
	/* wake_up_process first finishes making it running: a threadfn
	 * that puts its own task at once must find it so (not the lock: a
	 * kthread_stop right after the wake holds it across its join) */
	while (!atomic_load(&k->ready))
		sched_yield();
	current = task;
	/* pthread names are limited to 15 characters, as comm is */
	pthread_setname_np(pthread_self(), task->comm[0] ? task->comm : "kthread");
	const struct kthread_ops *ops = task->ops;
	int rc = ops && ops->threadfn ? ops->threadfn(task) : -EINVAL;
	k->exit_code = rc;
	task->exit_code = rc;
	current = NULL;
	atomic_fetch_sub(&nk_nr_threads, 1);
	if (atomic_load(&k->doomed)) {	/* it put itself: its own to free */
		task_free(task);
		return;
	}
	pthread_mutex_lock(&k->done_lock);
	k->done = true;
	pthread_cond_broadcast(&k->done_cond);
	pthread_mutex_unlock(&k->done_lock);
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	sigset_t mask;

	/* what a threadfn changed of its thread's signal mask (blocking the
	 * runtime's watchdog or unwind signal, say) must not follow the
	 * thread to the next task, another module's maybe */
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	for (;;) {
		run_task(w->task);
		pthread_sigmask(SIG_SETMASK, &mask, NULL);
		pthread_mutex_lock(&pool_lock);
		w->task = NULL;
		/* a threadfn that returned holding a lock: the thread ends,
		 * so that a waiter sees the holder gone (core.c) and no later
		 * task runs as its owner */
		if (nidle >= POOL_MAX || nk_locks_held())
			break;
		w->next = idle;
		idle = w;
		nidle++;
		/* named once in the list: tests and ps see it parked */
		pthread_setname_np(pthread_self(), "kthread-idle");
		struct timespec ts;
		deadline_in(&ts, POOL_IDLE_MS);
		while (!w->task)
			if (pthread_cond_timedwait(&w->cond, &pool_lock, &ts) == ETIMEDOUT &&
			    !w->task)
				break;
		if (!w->task) {		/* idle too long: out of the list, and end */
			struct worker **pp = &idle;
			while (*pp != w)
				pp = &(*pp)->next;
			*pp = w->next;
			nidle--;
			break;
		}
		pthread_mutex_unlock(&pool_lock);
	}
	pthread_mutex_unlock(&pool_lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	return NULL;
}

long nk_kthreads_parked(void)
{
	pthread_mutex_lock(&pool_lock);
	long n = nidle;
	pthread_mutex_unlock(&pool_lock);
	return n;
}

/* Runs task on a parked thread, or a new one: 0, or -EAGAIN.  *thread is
 * the thread it runs on. */
static int dispatch(struct task_struct *task, pthread_t *thread)
{
	pthread_mutex_lock(&pool_lock);
	struct worker *w = idle;
	if (w) {
		idle = w->next;
		nidle--;
		w->task = task;
		*thread = w->thread;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&pool_lock);
		return 0;
	}
	pthread_mutex_unlock(&pool_lock);
	if (!(w = calloc(1, sizeof(*w))))
		return -EAGAIN;
	pthread_cond_init(&w->cond, NULL);
	w->task = task;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int err = pthread_create(&w->thread, &a, worker_main, w);
	pthread_attr_destroy(&a);
	if (err) {
		pthread_cond_destroy(&w->cond);
		free(w);
		return -EAGAIN;
	}
	*thread = w->thread;
	return 0;
}

int wake_up_process(struct task_struct *task)
{
	if (!task || !task->ops || !task->ops->threadfn)
		return -EINVAL;
	struct kthread *k = kt(task);
	pthread_mutex_lock(&k->lock);
	if (k->state != KT_NEW) {
		pthread_mutex_unlock(&k->lock);
		return -EBUSY;
	}
	atomic_fetch_add(&nk_nr_threads, 1);
	if (dispatch(task, &k->thread)) {
		atomic_fetch_sub(&nk_nr_threads, 1);
		pthread_mutex_unlock(&k->lock);
		return -EAGAIN;
	}
	k->state = KT_RUNNING;
	k->domain = nooks_caller();
	atomic_store(&k->ready, true);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

/* Waits until threadfn returned, at most ms (0: for ever): 0, or
 * -ETIMEDOUT. */
static int wait_done(struct kthread *k, unsigned ms)
{
	struct timespec ts;
	int ret = 0;

	if (ms)
		deadline_in(&ts, ms);
	pthread_mutex_lock(&k->done_lock);
	while (!k->done && !ret)
		if (!ms)
			pthread_cond_wait(&k->done_cond, &k->done_lock);
		else if (pthread_cond_timedwait(&k->done_cond, &k->done_lock, &ts) == ETIMEDOUT)
			ret = k->done ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&k->done_lock);
	return ret;
}

/* Waits for k's threadfn to return within the stop bound.  A thread of
 * an isolated extension that ignores the stop that long fails its domain
 * (it is then unwound, which ends threadfn) and gets as long again; one
 * that still runs (native, or stuck in the kernel) is left running and
 * reported: 0 when it returned, -ETIMEDOUT when not. */
static int join_bounded(struct task_struct *task)
{
	struct kthread *k = kt(task);
	unsigned bound = atomic_load(&stop_bound_ms);
	char why[96];

	if (!bound)
		return wait_done(k, 0);
	for (int round = 0; round < 2; round++) {
		if (!wait_done(k, bound))
			return 0;
		if (round == 0 && k->domain) {
			snprintf(why, sizeof(why), "kthread_stop: thread %.16s ignored the stop "
				 "for %u ms", task->comm, bound);
			nooks_domain_fail(k->domain, why);
		} else if (round == 0) {
			return wait_done(k, 0);		/* native */
		}
	}
	snprintf(why, sizeof(why), "BUG: kthread_stop: thread %.16s does not stop; left running",
		 task->comm);
	printk_line(LOGLEVEL_ERR, why);
	return -ETIMEDOUT;
}

int kthread_stop(struct task_struct *task)
{
	if (!task)
		return -EINVAL;
	struct kthread *k = kt(task);
	pthread_mutex_lock(&k->lock);
	if (k->state == KT_NEW) {
		pthread_mutex_unlock(&k->lock);
		return -EINVAL;
	}
	if (k->state == KT_RUNNING) {
		if (pthread_equal(k->thread, pthread_self())) {
			pthread_mutex_unlock(&k->lock);
			return -EDEADLK;
		}
		atomic_store(&k->stop, true);
		uint64_t one = 1;
		ssize_t w = write(k->stop_fd, &one, sizeof(one));
		(void)w;	/* only fails if the counter is full: still readable */
		if (join_bounded(task)) {
			k->leaked = true;
			pthread_mutex_unlock(&k->lock);
			return -ETIMEDOUT;
		}
		k->state = KT_JOINED;
	}
	int rc = k->exit_code;
	pthread_mutex_unlock(&k->lock);
	return rc;
}

void put_task_struct(struct task_struct *task)
{
	if (!task)
		return;
	struct kthread *k = kt(task);
	if (current == task) {
		/* A thread dropping its own task (Linux: its last reference
		 * goes when it exits): it cannot wait for itself, so it
		 * frees the task when threadfn returns. */
		atomic_store(&k->doomed, true);
		return;
	}
	if (k->state == KT_RUNNING && kthread_stop(task) == -ETIMEDOUT)
		return;		/* still running on it: leaked, reported */
	if (k->leaked)
		return;
	task_free(task);
}

bool kthread_should_stop(void)
{
	return current && atomic_load(&kt(current)->stop);
}

int nk_wait(int fd, short events, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = fd, .events = events } };
	nfds_t n = 1;
	if (nooks_interrupted())	/* its extension is being recovered */
		return -EINTR;
	if (current) {
		struct kthread *k = kt(current);
		if (atomic_load(&k->stop))
			return -EINTR;
		p[1].fd = k->stop_fd;
		p[1].events = POLLIN;
		n = 2;
	}
	int r = poll(fd >= 0 ? p : p + 1, fd >= 0 ? n : n - 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? -EINTR : -errno;
	if (r == 0)
		return -EAGAIN;
	if (n == 2 && p[1].revents)
		return -EINTR;
	return 0;
}

void msleep(unsigned int ms)
{
	uint64_t deadline = nk_now_ms() + ms;
	for (;;) {
		uint64_t now = nk_now_ms();
		if (now >= deadline || nooks_interrupted())
			return;
		uint64_t left = deadline - now;
		int t = left > INT_MAX ? INT_MAX : (int)left;
		if (current) {
			/* -1 (no fd): only the stop eventfd is polled */
			if (nk_wait(-1, 0, t) != -EAGAIN)
				return;
		} else {
			struct timespec ts = { t / 1000, (long)(t % 1000) * 1000000L };
			if (nanosleep(&ts, NULL) < 0)
				return;	/* a signal: like poll, not retried */
		}
	}
}
