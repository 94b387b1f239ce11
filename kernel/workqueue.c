/*
 * workqueue.c - delayed work, run by one kernel worker thread.
 *
 * A struct delayed_work lives in the object arena; its kpriv is a heap
 * struct work holding the deadline and the pending/running state.  The
 * pending works form one list sorted by deadline (CLOCK_MONOTONIC),
 * under one mutex; the worker, started by the first
 * schedule_delayed_work(), sleeps on a condition variable until the
 * first deadline or a new work, takes the first due work off the list,
 * and runs work->ops->func(work) with the lock dropped (ops read then:
 * an isolated extension's ops are a wrapper table), then counts runs.
 * Cancelling waits on a second condition variable for a running func to
 * finish, except on the worker itself (a func cancelling or freeing its
 * own work), where waiting would never end: a work freed by its own func
 * is freed by the worker once func returns.
 *
 * The worker is the kernel's own thread, not a task: it is not counted
 * in nk_kernel_stats().threads, and it lives as long as the process.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "nk_kernel.h"
#include "nk/workqueue.h"
#include "nooks_runtime.h"

struct work {
	struct delayed_work *dw;
	struct work *next;	/* in the pending list */
	uint64_t deadline;	/* nk_now_ms() */
	bool pending;
	bool doomed;		/* freed by its own func: free after it */
};

static atomic_uint work_bound_ms = 2000;

void nk_set_work_bound(unsigned ms)
{
	atomic_store(&work_bound_ms, ms);
}

static pthread_mutex_t wq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wq_more;	/* a new work, or an earlier deadline */
static pthread_cond_t wq_done;	/* a func returned */
static pthread_once_t wq_once = PTHREAD_ONCE_INIT;
static struct work *wq_pending;	/* sorted by deadline */
static struct work *wq_running;
static bool wq_started;
static pthread_t wq_thread;

static void wq_init(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&wq_more, &a);
	pthread_condattr_destroy(&a);
	pthread_cond_init(&wq_done, NULL);
}

static void work_free(struct work *w)
{
	nooks_arena_free(w->dw);
	free(w);
	atomic_fetch_sub(&nk_nr_works, 1);
}

static void *wq_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "nk-worker");
	pthread_mutex_lock(&wq_lock);
	for (;;) {
		struct work *w = wq_pending;
		if (!w) {
			pthread_cond_wait(&wq_more, &wq_lock);
			continue;
		}
		uint64_t now = nk_now_ms();
		if (now < w->deadline) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t left = w->deadline - now;
			ts.tv_sec += (time_t)(left / 1000);
			ts.tv_nsec += (long)(left % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&wq_more, &wq_lock, &ts);
			continue;
		}
		wq_pending = w->next;
		w->next = NULL;
		w->pending = false;
		wq_running = w;
		pthread_mutex_unlock(&wq_lock);

		struct delayed_work *dw = w->dw;
		const struct work_ops *ops = dw->ops;
		/* a work item is not a thread: one that keeps the worker (a
		 * loop through msleep, a lock it waits for) fails its
		 * isolated module after the bound, and the others run on */
		nooks_bound_push(atomic_load(&work_bound_ms), "a work item");
		if (ops && ops->func)
			ops->func(dw);
		nooks_bound_pop();

		pthread_mutex_lock(&wq_lock);
		wq_running = NULL;
		if (w->doomed) {
			work_free(w);
		} else {
			dw->runs++;
		}
		pthread_cond_broadcast(&wq_done);
	}
	return NULL;
}

struct delayed_work *alloc_delayed_work(void)
{
	struct delayed_work *dw = nooks_arena_alloc(sizeof(*dw));
	struct work *w = calloc(1, sizeof(*w));
	if (!dw || !w) {
		free(w);
		if (dw)
			nooks_arena_free(dw);
		return NULL;
	}
	w->dw = dw;
	dw->kpriv = w;
	atomic_fetch_add(&nk_nr_works, 1);
	return dw;
}

int schedule_delayed_work(struct delayed_work *work, unsigned long delay_ms)
{
	if (!work || !work->ops || !work->ops->func)
		return -EINVAL;
	struct work *w = work->kpriv;
	pthread_once(&wq_once, wq_init);
	pthread_mutex_lock(&wq_lock);
	if (w->pending) {
		pthread_mutex_unlock(&wq_lock);
		return -EBUSY;
	}
	if (!wq_started) {
		if (pthread_create(&wq_thread, NULL, wq_main, NULL)) {
			pthread_mutex_unlock(&wq_lock);
			return -EAGAIN;
		}
		pthread_detach(wq_thread);
		wq_started = true;
	}
	uint64_t now = nk_now_ms();
	w->deadline = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;
	w->pending = true;
	struct work **pp = &wq_pending;
	while (*pp && (*pp)->deadline <= w->deadline)
		pp = &(*pp)->next;
	w->next = *pp;
	*pp = w;
	pthread_cond_signal(&wq_more);
	pthread_mutex_unlock(&wq_lock);
	return 0;
}

/* With wq_lock held: 1 if w was pending (now removed), else 0, after any
 * running func of w has returned (unless we are that func). */
static int cancel_locked(struct work *w)
{
	int was = 0;
	if (w->pending) {
		struct work **pp = &wq_pending;
		while (*pp != w)
			pp = &(*pp)->next;
		*pp = w->next;
		w->next = NULL;
		w->pending = false;
		was = 1;
	}
	if (wq_started && pthread_equal(pthread_self(), wq_thread))
		return was;
	while (wq_running == w)
		pthread_cond_wait(&wq_done, &wq_lock);
	return was;
}

int cancel_delayed_work_sync(struct delayed_work *work)
{
	if (!work)
		return 0;
	pthread_once(&wq_once, wq_init);
	pthread_mutex_lock(&wq_lock);
	int was = cancel_locked(work->kpriv);
	pthread_mutex_unlock(&wq_lock);
	return was;
}

void free_delayed_work(struct delayed_work *work)
{
	if (!work)
		return;
	struct work *w = work->kpriv;
	pthread_once(&wq_once, wq_init);
	pthread_mutex_lock(&wq_lock);
	cancel_locked(w);
	if (wq_running == w) {
		/* its own func frees it: the worker does, after func */
		w->doomed = true;
		pthread_mutex_unlock(&wq_lock);
		return;
	}
	pthread_mutex_unlock(&wq_lock);
	work_free(w);
}
