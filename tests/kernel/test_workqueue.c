/*
 * test_workqueue.c - delayed work: runs once after its delay, in
 * deadline order, -EBUSY while pending, cancelled before it runs, and
 * cancel waiting for a func that runs.
 */
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "nk/kthread.h"
#include "nk/workqueue.h"
#include "nk_kernel.h"
#include "nooks_runtime.h"
#include "util.h"

struct wstate {
	volatile int ran;
	volatile int started;
	volatile int finished;
	uint64_t at;
	int order[4];
	volatile int norder;
};

static uint64_t t_sched;

static void fn_record(struct delayed_work *w)
{
	struct wstate *st = w->data;
	st->at = t_now_ms();
	st->ran++;
}
static const struct work_ops ops_record = { fn_record };

static void test_runs_once_after_delay(void)
{
	struct wstate st = { 0 };
	struct delayed_work *w = alloc_delayed_work();
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT(nooks_in_arena(w));
	w->ops = &ops_record;
	w->data = &st;
	t_sched = t_now_ms();
	CU_ASSERT_EQUAL(schedule_delayed_work(w, 100), 0);
	CU_ASSERT_EQUAL(schedule_delayed_work(w, 100), -EBUSY);
	usleep(30000);
	CU_ASSERT_EQUAL(st.ran, 0);
	CU_ASSERT_EQUAL(w->runs, 0);
	CU_ASSERT(t_wait_flag(&st.ran, 2000));
	CU_ASSERT(st.at - t_sched >= 99);
	usleep(200000);
	CU_ASSERT_EQUAL(st.ran, 1);
	CU_ASSERT_EQUAL(w->runs, 1);
	/* once run, it may be scheduled again */
	CU_ASSERT_EQUAL(schedule_delayed_work(w, 0), 0);
	for (int i = 0; i < 200 && w->runs < 2; i++)
		usleep(5000);
	CU_ASSERT_EQUAL(w->runs, 2);
	CU_ASSERT_EQUAL(st.ran, 2);
	free_delayed_work(w);
}

static void test_cancel_pending(void)
{
	struct wstate st = { 0 };
	struct delayed_work *w = alloc_delayed_work();
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(schedule_delayed_work(w, 10), -EINVAL);	/* no ops */
	CU_ASSERT_EQUAL(schedule_delayed_work(NULL, 10), -EINVAL);
	w->ops = &ops_record;
	w->data = &st;
	CU_ASSERT_EQUAL(schedule_delayed_work(w, 100), 0);
	CU_ASSERT_EQUAL(cancel_delayed_work_sync(w), 1);
	CU_ASSERT_EQUAL(cancel_delayed_work_sync(w), 0);
	usleep(250000);
	CU_ASSERT_EQUAL(st.ran, 0);
	CU_ASSERT_EQUAL(w->runs, 0);
	/* free cancels a pending one too */
	CU_ASSERT_EQUAL(schedule_delayed_work(w, 50), 0);
	free_delayed_work(w);
	usleep(150000);
	CU_ASSERT_EQUAL(st.ran, 0);
}

static void fn_slow(struct delayed_work *w)
{
	struct wstate *st = w->data;
	st->started = 1;
	usleep(200000);
	st->finished = 1;
}
static const struct work_ops ops_slow = { fn_slow };

static void test_cancel_waits_for_running(void)
{
	struct wstate st = { 0 };
	struct delayed_work *w = alloc_delayed_work();
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	w->ops = &ops_slow;
	w->data = &st;
	CU_ASSERT_EQUAL(schedule_delayed_work(w, 0), 0);
	CU_ASSERT(t_wait_flag(&st.started, 2000));
	CU_ASSERT_EQUAL(st.finished, 0);
	CU_ASSERT_EQUAL(cancel_delayed_work_sync(w), 0);
	CU_ASSERT_EQUAL(st.finished, 1);
	CU_ASSERT_EQUAL(w->runs, 1);
	free_delayed_work(w);
}

static struct wstate order_st;

static void fn_order(struct delayed_work *w)
{
	order_st.order[order_st.norder] = (int)(long)w->data;
	order_st.norder++;
}
static const struct work_ops ops_order = { fn_order };

static void test_deadline_order(void)
{
	static const unsigned long delays[3] = { 180, 30, 100 };
	struct delayed_work *w[3];
	memset(&order_st, 0, sizeof(order_st));
	for (int i = 0; i < 3; i++) {
		w[i] = alloc_delayed_work();
		CU_ASSERT_PTR_NOT_NULL_FATAL(w[i]);
		w[i]->ops = &ops_order;
		w[i]->data = (void *)(long)i;
		CU_ASSERT_EQUAL(schedule_delayed_work(w[i], delays[i]), 0);
	}
	for (int i = 0; i < 400 && order_st.norder < 3; i++)
		usleep(5000);
	CU_ASSERT_EQUAL(order_st.norder, 3);
	CU_ASSERT_EQUAL(order_st.order[0], 1);
	CU_ASSERT_EQUAL(order_st.order[1], 2);
	CU_ASSERT_EQUAL(order_st.order[2], 0);
	for (int i = 0; i < 3; i++)
		free_delayed_work(w[i]);
}

static void fn_free_self(struct delayed_work *w)
{
	struct wstate *st = w->data;
	/* cancelling oneself does not wait for oneself */
	cancel_delayed_work_sync(w);
	free_delayed_work(w);
	st->ran = 1;
}
static const struct work_ops ops_free_self = { fn_free_self };

static void test_work_frees_itself(void)
{
	struct wstate st = { 0 };
	struct nk_kernel_stats s0, s1;
	nk_kernel_stats(&s0);
	struct delayed_work *w = alloc_delayed_work();
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	w->ops = &ops_free_self;
	w->data = &st;
	CU_ASSERT_EQUAL(schedule_delayed_work(w, 0), 0);
	CU_ASSERT(t_wait_flag(&st.ran, 2000));
	for (int i = 0; i < 200; i++) {
		nk_kernel_stats(&s1);
		if (s1.works == s0.works)
			break;
		usleep(5000);
	}
	CU_ASSERT_EQUAL(s1.works, s0.works);
}

void register_workqueue_tests(void)
{
	CU_pSuite s = CU_add_suite("workqueue", NULL, NULL);
	CU_add_test(s, "runs once after its delay; -EBUSY while pending", test_runs_once_after_delay);
	CU_add_test(s, "cancel a pending work: 1, never runs", test_cancel_pending);
	CU_add_test(s, "cancel waits for a running func: 0", test_cancel_waits_for_running);
	CU_add_test(s, "works run in deadline order", test_deadline_order);
	CU_add_test(s, "a func may free its own work", test_work_frees_itself);
}
