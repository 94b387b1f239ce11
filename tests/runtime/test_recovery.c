/*
 * test_recovery.c - the recovery manager's policy on real faults: restart
 * at once, then doubling delays, giving up after too many failures in the
 * window, never looping on a failing init; one log line per event.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "nooks_runtime.h"

static const char *so_path;
static char logbuf[8192];

static void capture(const char *line)
{
	strncat(logbuf, line, sizeof(logbuf) - strlen(logbuf) - 2);
	strcat(logbuf, "\n");
}

static int count(const char *what)
{
	int n = 0;
	for (const char *p = logbuf; (p = strstr(p, what)); p++)
		n++;
	return n;
}

struct frame {
	int (*fn)(void);
	int ret;
};

static void thunk(void *p)
{
	struct frame *f = p;
	f->ret = f->fn();
}

static int call(struct nooks_domain *d, struct nooks_ext *e, const char *name, int *ret)
{
	struct frame f = { .ret = -1 };
	*(void **)&f.fn = nooks_ext_sym(e, name);
	int rc = nooks_xpc_ext(d, thunk, &f, 0);
	if (ret)
		*ret = f.ret;
	return rc;
}

static void test_backoff_and_give_up(void)
{
	char err[256];
	struct nooks_policy p = { .base_delay_ms = 20, .max_delay_ms = 40,
				  .max_failures = 5, .window_ms = 60000 };
	struct nooks_domain *d = nooks_domain_create("policy", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = nooks_ext_load(d, so_path, NULL, NULL, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	struct nooks_sup *s = nooks_sup_new(d, e, "ext_init", &p);
	struct nooks_sup_stats st;
	static const unsigned long delays[] = { 0, 20, 40, 40 };

	logbuf[0] = '\0';
	nooks_set_log(capture);
	CU_ASSERT_EQUAL(nooks_sup_start(s), 0);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(call(d, e, "ext_null_deref", NULL), -1);
		CU_ASSERT_EQUAL(nooks_sup_recover(s), 0);
		nooks_sup_stats(s, &st);
		CU_ASSERT_EQUAL(st.last_delay_ms, delays[i]);
		int v;
		CU_ASSERT_EQUAL(call(d, e, "ext_counter", &v), 0);
		CU_ASSERT_EQUAL(v, 1);		/* a fresh instance */
	}
	CU_ASSERT_EQUAL(call(d, e, "ext_abort", NULL), -1);
	CU_ASSERT_EQUAL(nooks_sup_recover(s), -1);	/* the fifth: give up */
	nooks_sup_stats(s, &st);
	CU_ASSERT_TRUE(st.given_up);
	CU_ASSERT_EQUAL(st.restarts, 4);
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_DOWN);
	CU_ASSERT_EQUAL(call(d, e, "ext_counter", NULL), -1);
	nooks_set_log(NULL);

	CU_ASSERT_EQUAL(count("fault: Segmentation fault at 0"), 4);
	CU_ASSERT_EQUAL(count("in ext_null_deref+"), 4);
	CU_ASSERT_EQUAL(count("fault: Aborted"), 1);
	CU_ASSERT_EQUAL(count("restart "), 4);
	CU_ASSERT_EQUAL(count("giving up"), 1);
	CU_ASSERT_EQUAL(count("released "), 5);
	nooks_sup_free(s);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

static void test_window_forgets(void)
{
	char err[256];
	struct nooks_policy p = { .base_delay_ms = 30, .max_delay_ms = 1000,
				  .max_failures = 3, .window_ms = 50 };
	struct nooks_domain *d = nooks_domain_create("window", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = nooks_ext_load(d, so_path, NULL, NULL, 0, err, sizeof(err));
	struct nooks_sup *s = nooks_sup_new(d, e, "ext_init", &p);
	struct nooks_sup_stats st;

	nooks_set_log(capture);
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(call(d, e, "ext_null_deref", NULL), -1);
		CU_ASSERT_EQUAL(nooks_sup_recover(s), 0);
		nooks_sup_stats(s, &st);
		CU_ASSERT_EQUAL(st.last_delay_ms, 0);	/* each one is a first */
		struct timespec ts = { 0, 80 * 1000000L };
		nanosleep(&ts, NULL);
	}
	nooks_set_log(NULL);
	nooks_sup_free(s);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

static void test_failing_init_not_looped(void)
{
	char err[256];
	struct nooks_domain *d = nooks_domain_create("badinit", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = nooks_ext_load(d, so_path, NULL, NULL, 0, err, sizeof(err));
	struct nooks_sup *s = nooks_sup_new(d, e, "ext_init_fail", NULL);
	struct nooks_sup_stats st;

	logbuf[0] = '\0';
	nooks_set_log(capture);
	CU_ASSERT_EQUAL(nooks_sup_start(s), -1);
	CU_ASSERT_EQUAL(nooks_sup_recover(s), -1);	/* nothing more is tried */
	nooks_sup_stats(s, &st);
	CU_ASSERT_TRUE(st.given_up);
	CU_ASSERT_EQUAL(st.restarts, 0);
	CU_ASSERT_EQUAL(count("init failed: Input/output error (-5): not restarting"), 1);
	/* a missing entry point is said as much */
	struct nooks_sup *s2 = nooks_sup_new(d, e, "no_such_init", NULL);
	CU_ASSERT_EQUAL(nooks_sup_start(s2), -1);
	CU_ASSERT_EQUAL(count("no entry point 'no_such_init'"), 1);
	nooks_set_log(NULL);
	nooks_sup_free(s2);
	nooks_sup_free(s);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

void register_recovery_tests(const char *path);

void register_recovery_tests(const char *path)
{
	so_path = path;
	CU_pSuite s = CU_add_suite("recovery manager (restart policy)", NULL, NULL);
	CU_add_test(s, "at once, then doubling, then give up", test_backoff_and_give_up);
	CU_add_test(s, "failures outside the window are forgotten", test_window_forgets);
	CU_add_test(s, "a failing init is not restarted in a loop", test_failing_init_not_looped);
}
