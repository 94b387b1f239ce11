/*
 * nk/kthread.h - kernel threads.  idl/nk/kthread.idl annotates it.
 *
 * A thread is a struct task_struct the kernel allocates; the creator sets
 * its ops (the function the thread runs) and data, then wakes it.  The
 * kernel calls ops->threadfn(task) on the new thread; when it returns the
 * thread ends.  kthread_stop() asks it to stop (kthread_should_stop()
 * becomes true and blocking kernel calls made by the thread return
 * -EINTR), waits for it, and returns what threadfn returned.
 */
#ifndef NK_KTHREAD_H
#define NK_KTHREAD_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TASK_COMM_LEN 16

struct task_struct;

struct kthread_ops {
	int (*threadfn)(struct task_struct *task);
};

struct task_struct {
	char comm[TASK_COMM_LEN];		/* the thread's name */
	const struct kthread_ops *ops;		/* set by the creator */
	void *data;				/* the creator's */
	int exit_code;				/* threadfn's result, once stopped */
	void *kpriv;				/* the kernel's */
};

/* A new thread, not running yet; NULL on failure. */
struct task_struct *kthread_create(const char *name);
/* Starts it: 0, -EINVAL (no ops), -EBUSY (already started), -EAGAIN. */
int wake_up_process(struct task_struct *task);
/* Stops a started thread (see above); its result, or -EINVAL if it never
 * started.  Not from the thread itself. */
int kthread_stop(struct task_struct *task);
/* Frees the task (stopping it first if it runs). */
void put_task_struct(struct task_struct *task);
/* In a kernel thread: has kthread_stop() been called for it? */
bool kthread_should_stop(void);
/* Sleeps ms milliseconds (less if the thread is being stopped). */
void msleep(unsigned int ms);

/* Linux's one-call form, on the pieces above. */
static inline struct task_struct *kthread_run(const struct kthread_ops *ops,
					      void *data, const char *name)
{
	struct task_struct *t = kthread_create(name);
	if (!t)
		return NULL;
	t->ops = ops;
	t->data = data;
	if (wake_up_process(t)) {
		put_task_struct(t);
		return NULL;
	}
	return t;
}

#ifdef __cplusplus
}
#endif

#endif
