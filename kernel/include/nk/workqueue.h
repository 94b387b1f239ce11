/*
 * nk/workqueue.h - delayed work: a function the kernel calls once, on its
 * own worker thread, after a delay.  idl/nk/workqueue.idl annotates it.
 */
#ifndef NK_WORKQUEUE_H
#define NK_WORKQUEUE_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct delayed_work;

struct work_ops {
	void (*func)(struct delayed_work *work);
};

struct delayed_work {
	const struct work_ops *ops;	/* set by the owner */
	void *data;			/* the owner's */
	unsigned long runs;		/* times func has been called */
	void *kpriv;			/* the kernel's */
};

struct delayed_work *alloc_delayed_work(void);
/* Runs work->ops->func(work) once, delay_ms from now: 0, -EBUSY (already
 * pending), -EINVAL (no ops). */
int schedule_delayed_work(struct delayed_work *work, unsigned long delay_ms);
/* Cancels it if pending and waits for a running func: 1 if it was
 * pending, else 0. */
int cancel_delayed_work_sync(struct delayed_work *work);
void free_delayed_work(struct delayed_work *work);

#ifdef __cplusplus
}
#endif

#endif
