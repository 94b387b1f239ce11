/*
 * test_kthread.c - kernel threads: start, stop, exit codes, msleep
 * interrupted by a stop, the error cases.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "nk/kthread.h"
#include "nk_kernel.h"
#include "nooks_runtime.h"
#include "util.h"

struct tstate {
	volatile int started;
	volatile int finished;
	volatile int loops;
	volatile int should_stop_seen;
	volatile int self_stop_rc;
	uint64_t slept_ms;
};

static int fn_return_42(struct task_struct *task)
{
	struct tstate *st = task->data;
	st->started = 1;
	st->should_stop_seen = kthread_should_stop();
	return 42;
}
static const struct kthread_ops ops_42 = { fn_return_42 };

static void test_run_and_exit_code(void)
{
	struct tstate st = { 0 };
	struct task_struct *t = kthread_create("answer");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(nooks_in_arena(t));
	CU_ASSERT_STRING_EQUAL(t->comm, "answer");
	t->ops = &ops_42;
	t->data = &st;
	CU_ASSERT_EQUAL(wake_up_process(t), 0);
	CU_ASSERT(t_wait_flag(&st.started, 2000));
	CU_ASSERT_EQUAL(wake_up_process(t), -EBUSY);
	CU_ASSERT_EQUAL(kthread_stop(t), 42);
	CU_ASSERT_EQUAL(t->exit_code, 42);
	CU_ASSERT_EQUAL(st.should_stop_seen, 0);
	/* stopping again changes nothing */
	CU_ASSERT_EQUAL(kthread_stop(t), 42);
	put_task_struct(t);
}

/* The pool: a thread whose threadfn returned parks and runs the next
 * woken task (no new thread); kthread_stop waits for threadfn, not for
 * the thread. */
static int threads_now(void)
{
	int n = -1;
	char line[128];
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* Some thread of the pool is parked (named so while in the idle list). */
static int wait_parked(int ms)
{
	for (int i = 0; i < ms; i++) {
		DIR *dir = opendir("/proc/self/task");
		struct dirent *de;
		char path[300], comm[32];
		int found = 0;
		while (dir && !found && (de = readdir(dir))) {
			snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
			FILE *f = fopen(path, "r");
			if (f && fgets(comm, sizeof(comm), f) && !strcmp(comm, "kthread-idle\n"))
				found = 1;
			if (f)
				fclose(f);
		}
		if (dir)
			closedir(dir);
		if (found)
			return 1;
		usleep(1000);
	}
	return 0;
}

static int fn_hold(struct task_struct *task)
{
	struct tstate *st = task->data;
	st->started = 1;
	while (!kthread_should_stop())
		msleep(1000);
	return 7;
}
static const struct kthread_ops ops_hold = { fn_hold };

static void test_pool_reuse(void)
{
	struct tstate a = { 0 }, b = { 0 };
	struct task_struct *t = kthread_create("pool-a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	t->ops = &ops_hold;
	t->data = &a;
	CU_ASSERT_EQUAL(wake_up_process(t), 0);
	CU_ASSERT(t_wait_flag(&a.started, 2000));
	int running = threads_now();
	CU_ASSERT_EQUAL(kthread_stop(t), 7);	/* threadfn returned */
	put_task_struct(t);
	CU_ASSERT_EQUAL(threads_now(), running);	/* the thread lives on */
	CU_ASSERT(wait_parked(5000));
	t = kthread_create("pool-b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	t->ops = &ops_hold;
	t->data = &b;
	CU_ASSERT_EQUAL(wake_up_process(t), 0);
	CU_ASSERT(t_wait_flag(&b.started, 2000));
	CU_ASSERT_EQUAL(threads_now(), running);	/* and runs this task */
	CU_ASSERT_EQUAL(kthread_stop(t), 7);
	put_task_struct(t);
}

/* A threadfn that blocks every signal (the runtime's watchdog and unwind
 * signals too) and returns: the next task on the pooled thread must not
 * inherit that, or nothing could time it out or unwind it. */
static int fn_block_all(struct task_struct *task)
{
	struct tstate *st = task->data;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	st->started = 1;
	return 0;
}
static const struct kthread_ops ops_block_all = { fn_block_all };

static volatile int mask_blocked = -1;

static int fn_read_mask(struct task_struct *task)
{
	struct tstate *st = task->data;
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	mask_blocked = sigismember(&cur, SIGRTMIN + 3) || sigismember(&cur, SIGRTMIN + 4) ||
		       sigismember(&cur, SIGSEGV);
	st->started = 1;
	return 0;
}
static const struct kthread_ops ops_read_mask = { fn_read_mask };

static void test_pool_sigmask(void)
{
	struct tstate a = { 0 }, b = { 0 };
	struct task_struct *t = kthread_create("mask-a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	t->ops = &ops_block_all;
	t->data = &a;
	CU_ASSERT_EQUAL(wake_up_process(t), 0);
	CU_ASSERT_EQUAL(kthread_stop(t), 0);
	put_task_struct(t);
	CU_ASSERT(wait_parked(5000));
	int running = threads_now();
	t = kthread_create("mask-b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	t->ops = &ops_read_mask;
	t->data = &b;
	CU_ASSERT_EQUAL(wake_up_process(t), 0);
	CU_ASSERT(t_wait_flag(&b.started, 2000));
	CU_ASSERT_EQUAL(threads_now(), running);	/* a pooled thread ran it */
	CU_ASSERT_EQUAL(mask_blocked, 0);
	CU_ASSERT_EQUAL(kthread_stop(t), 0);
	put_task_struct(t);
}

static void test_errors(void)
{
	struct task_struct *t = kthread_create("a-rather-long-thread-name");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(strlen(t->comm), TASK_COMM_LEN - 1);
	CU_ASSERT_EQUAL(wake_up_process(t), -EINVAL);	/* no ops */
	static const struct kthread_ops empty = { NULL };
	t->ops = &empty;
	CU_ASSERT_EQUAL(wake_up_process(t), -EINVAL);	/* no threadfn */
	CU_ASSERT_EQUAL(kthread_stop(t), -EINVAL);	/* never started */
	CU_ASSERT_EQUAL(kthread_stop(NULL), -EINVAL);
	CU_ASSERT_EQUAL(wake_up_process(NULL), -EINVAL);
	CU_ASSERT_FALSE(kthread_should_stop());		/* not a kthread */
	put_task_struct(t);
	put_task_struct(NULL);
}

static int fn_loop(struct task_struct *task)
{
	struct tstate *st = task->data;
	st->started = 1;
	while (!kthread_should_stop()) {
		st->loops++;
		msleep(5);
	}
	st->finished = 1;
	return st->loops;
}
static const struct kthread_ops ops_loop = { fn_loop };

static void test_stop_flag(void)
{
	struct tstate st = { 0 };
	struct nk_kernel_stats s0, s1;
	nk_kernel_stats(&s0);
	struct task_struct *t = kthread_run(&ops_loop, &st, "loop");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	nk_kernel_stats(&s1);
	CU_ASSERT_EQUAL(s1.tasks, s0.tasks + 1);
	CU_ASSERT_EQUAL(s1.threads, s0.threads + 1);
	usleep(50000);
	int rc = kthread_stop(t);
	CU_ASSERT(st.finished);
	CU_ASSERT(rc > 0);
	CU_ASSERT_EQUAL(rc, st.loops);
	nk_kernel_stats(&s1);
	CU_ASSERT_EQUAL(s1.threads, s0.threads);
	put_task_struct(t);
	nk_kernel_stats(&s1);
	CU_ASSERT_EQUAL(s1.tasks, s0.tasks);
}

static int fn_long_sleep(struct task_struct *task)
{
	struct tstate *st = task->data;
	st->started = 1;
	uint64_t t0 = t_now_ms();
	msleep(20000);
	st->slept_ms = t_now_ms() - t0;
	return kthread_should_stop() ? 7 : 0;
}
static const struct kthread_ops ops_long_sleep = { fn_long_sleep };

static void test_msleep_interrupted_by_stop(void)
{
	struct tstate st = { 0 };
	struct task_struct *t = kthread_run(&ops_long_sleep, &st, "sleeper");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(t_wait_flag(&st.started, 2000));
	usleep(20000);
	uint64_t t0 = t_now_ms();
	CU_ASSERT_EQUAL(kthread_stop(t), 7);
	CU_ASSERT(t_now_ms() - t0 < 1000);
	CU_ASSERT(st.slept_ms < 5000);
	put_task_struct(t);
}

static void test_msleep_plain(void)
{
	uint64_t t0 = t_now_ms();
	msleep(40);
	uint64_t d = t_now_ms() - t0;
	CU_ASSERT(d >= 39);
	CU_ASSERT(d < 2000);
}

static int fn_self_stop(struct task_struct *task)
{
	struct tstate *st = task->data;
	st->self_stop_rc = kthread_stop(task);
	st->started = 1;
	return 0;
}
static const struct kthread_ops ops_self_stop = { fn_self_stop };

static void test_stop_self(void)
{
	struct tstate st = { 0 };
	struct task_struct *t = kthread_run(&ops_self_stop, &st, "self");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(t_wait_flag(&st.started, 2000));
	CU_ASSERT_EQUAL(st.self_stop_rc, -EDEADLK);
	CU_ASSERT_EQUAL(kthread_stop(t), 0);
	put_task_struct(t);
}

static void test_put_stops_running(void)
{
	struct tstate st = { 0 };
	struct task_struct *t = kthread_run(&ops_loop, &st, "put");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(t_wait_flag(&st.started, 2000));
	put_task_struct(t);
	/* put returned only after the thread saw the stop and ended */
	CU_ASSERT_EQUAL(st.finished, 1);
}

/* threadfn is read on the new thread: ops replaced before it runs count */
static int fn_other(struct task_struct *task)
{
	(void)task;
	return 99;
}
static const struct kthread_ops ops_other = { fn_other };

static void test_many_threads(void)
{
	struct task_struct *t[8];
	for (int i = 0; i < 8; i++) {
		t[i] = kthread_create("many");
		CU_ASSERT_PTR_NOT_NULL_FATAL(t[i]);
		t[i]->ops = &ops_other;
		CU_ASSERT_EQUAL(wake_up_process(t[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(kthread_stop(t[i]), 99);
		put_task_struct(t[i]);
	}
}


/* A thread that puts its own task (Linux: its last reference goes when
 * it exits) is detached and frees the task when threadfn returns. */
static int fn_put_self(struct task_struct *task)
{
	struct tstate *st = task->data;
	put_task_struct(task);
	st->started = 1;
	return 0;
}
static const struct kthread_ops ops_put_self = { fn_put_self };

static void test_put_self(void)
{
	struct tstate st = { 0 };
	struct nk_kernel_stats k0, k1;
	nk_kernel_stats(&k0);
	struct task_struct *t = kthread_run(&ops_put_self, &st, "putself");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(t_wait_flag(&st.started, 2000));
	for (int i = 0; i < 200; i++) {
		nk_kernel_stats(&k1);
		if (k1.tasks == k0.tasks && k1.threads == k0.threads)
			break;
		usleep(10000);
	}
	CU_ASSERT_EQUAL(k1.tasks, k0.tasks);		/* freed by itself */
	CU_ASSERT_EQUAL(k1.threads, k0.threads);
}

void register_kthread_tests(void)
{
	CU_pSuite s = CU_add_suite("kthread", NULL, NULL);
	CU_add_test(s, "run, -EBUSY, stop returns threadfn's result", test_run_and_exit_code);
	CU_add_test(s, "a finished thread runs the next task (the pool)", test_pool_reuse);
	CU_add_test(s, "a pooled thread's next task gets a clean signal mask", test_pool_sigmask);
	CU_add_test(s, "-EINVAL without ops or never started; comm truncated", test_errors);
	CU_add_test(s, "kthread_should_stop ends a loop; counts", test_stop_flag);
	CU_add_test(s, "msleep ends promptly on kthread_stop", test_msleep_interrupted_by_stop);
	CU_add_test(s, "msleep outside a kthread sleeps", test_msleep_plain);
	CU_add_test(s, "kthread_stop from the thread itself: -EDEADLK", test_stop_self);
	CU_add_test(s, "put_task_struct stops a running thread", test_put_stops_running);
	CU_add_test(s, "eight threads at once", test_many_threads);
	CU_add_test(s, "a thread puts its own task: freed when it ends", test_put_self);
}
