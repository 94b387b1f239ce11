/*
 * test_replay.c - replay of [[replay]] calls into a restarted extension,
 * on the real runtime with real faults: the isolated ext_tk.so, whose
 * set_mtu and set_addr (tk.idl) are replay entries.
 *
 * The kernel configures the registered device through its ops table;
 * the extension faults on a later, unrelated call; the supervisor
 * releases everything, reloads, runs init (which registers a new device)
 * and replays the log: the new copy has the configuration again, and the
 * kernel's new device shows it.  Also: a replayed call that faults is
 * contained, counted and dropped, and the supervisor restarts once more;
 * the ordinal rule (k-th registration through the same function) with a
 * second device that the restarted init does not register; a call the
 * kernel already made to the new copy replaces the logged one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "leaks.h"
#include "nooks_internal.h"
#include "nooks_runtime.h"
#include "tk_nooks.h"

static const char *ext_path, *wrapper_path;
static char logbuf[16384];

static const struct nooks_stub_binding bind[] = {
	{ "nooks_stubs_tk", &nooks_kw_table_tk },
};

static void capture(const char *line)
{
	size_t n = strlen(logbuf);
	if (n + strlen(line) + 2 < sizeof(logbuf)) {
		strcat(logbuf, line);
		strcat(logbuf, "\n");
	}
}

static void quiet(const char *line)
{
	(void)line;
}

struct lframe {
	long (*fn)(long);
	long arg, ret;
};

static void lthunk(void *p)
{
	struct lframe *f = p;
	f->ret = f->fn(f->arg);
}

/* Calls long NAME(long) of the extension inside d; its result, or
 * -99999 if the crossing failed. */
static long call(struct nooks_domain *d, struct nooks_ext *e, const char *name, long arg)
{
	struct lframe f = { .arg = arg };
	*(void **)&f.fn = nooks_ext_sym(e, name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f.fn);
	return nooks_xpc_ext(d, lthunk, &f, 5000) ? -99999 : f.ret;
}

static struct nooks_ext *load(struct nooks_domain *d)
{
	char err[256];
	struct nooks_ext *e = nooks_ext_load(d, ext_path, wrapper_path, bind, 1, err, sizeof(err));
	if (!e)
		fprintf(stderr, "\n    %s", err);
	return e;
}

static const unsigned char mac[6] = { 2, 0, 0, 0xaa, 0xbb, 0xcc };

static void test_replayed_after_restart(void)
{
	struct nooks_policy p = { .base_delay_ms = 0, .max_delay_ms = 0,
				  .max_failures = 64, .window_ms = 0 };
	struct nooks_domain *d = nooks_domain_create("replay", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = load(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	struct nooks_sup *s = nooks_sup_new(d, e, "ext_init", &p);

	tk_reset();
	CU_ASSERT_EQUAL_FATAL(nooks_sup_start(s), 0);
	struct tk_dev *kdev = tk_first_dev();
	CU_ASSERT_PTR_NOT_NULL_FATAL(kdev);
	/* the kernel's clients configure the device */
	unsigned char addr[6];
	char label[TK_NAME_LEN] = "eth1";
	memcpy(addr, mac, sizeof addr);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 1400), 0);
	CU_ASSERT_EQUAL(tk_dev_set_addr(kdev, label, addr, sizeof addr), 0);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 10), -EINVAL);	/* refused: not logged */
	CU_ASSERT_EQUAL(tk_get_mtu(kdev), 1400);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(d), 2);
	memset(addr, 0, sizeof addr);			/* the log has its own copy */
	strcpy(label, "junk");

	/* a later, unrelated call faults; recovery restarts and replays */
	logbuf[0] = '\0';
	nooks_set_log(capture);
	CU_ASSERT_EQUAL(call(d, e, "ext_crash", 0), -99999);
	CU_ASSERT_EQUAL(nooks_sup_recover(s), 0);
	nooks_set_log(NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "nooks: replay: replayed 2 of 2 logged calls "
				      "(0 faulted, 0 refused, 0 without target, 0 superseded)"));
	CU_ASSERT_EQUAL(tk_calls_unregister, 1);	/* the old device went */
	struct tk_dev *kdev2 = tk_first_dev();
	CU_ASSERT_PTR_NOT_NULL_FATAL(kdev2);
	CU_ASSERT_EQUAL(tk_live_devs, 1);
	/* the new copy was configured again, and so was the kernel's device */
	CU_ASSERT_EQUAL(call(d, e, "ext_mtu", 0), 1400);
	CU_ASSERT_EQUAL(tk_get_mtu(kdev2), 1400);
	CU_ASSERT_EQUAL(call(d, e, "ext_label", 3), '1');
	CU_ASSERT_EQUAL(call(d, e, "ext_addr", 0), 2);
	CU_ASSERT_EQUAL(call(d, e, "ext_addr", 5), 0xcc);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(d), 2);	/* logged again */

	/* and again and again: nothing accumulates */
	int entries = nk_tracker_entries(), maps = count_mappings();
	nooks_set_log(quiet);
	for (int i = 0; i < 200; i++) {
		if (call(d, e, "ext_crash", 0) != -99999 || nooks_sup_recover(s) != 0 ||
		    call(d, e, "ext_mtu", 0) != 1400 || nooks_domain_replay_logged(d) != 2) {
			CU_FAIL("a cycle did not replay");
			break;
		}
	}
	nooks_set_log(NULL);
	CU_ASSERT_EQUAL(tk_get_mtu(tk_first_dev()), 1400);
	CU_ASSERT_EQUAL(nk_tracker_entries(), entries);
	CU_ASSERT_EQUAL(count_mappings(), maps);
	unsigned replayed, faulted;
	nooks_sup_replay_stats(s, &replayed, &faulted);
	CU_ASSERT_EQUAL(replayed, 2 * 201);
	CU_ASSERT_EQUAL(faulted, 0);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	nooks_sup_free(s);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
	CU_ASSERT_EQUAL(tk_live_devs, 0);
}

static void test_replay_fault_contained(void)
{
	struct nooks_policy p = { .base_delay_ms = 0, .max_delay_ms = 0,
				  .max_failures = 64, .window_ms = 0 };
	struct nooks_domain *d = nooks_domain_create("replay-bomb", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = load(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	struct nooks_sup *s = nooks_sup_new(d, e, "ext_init", &p);
	struct nooks_sup_stats st;

	tk_reset();
	CU_ASSERT_EQUAL_FATAL(nooks_sup_start(s), 0);
	struct tk_dev *kdev = tk_first_dev();
	/* fine on this device: logged */
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 1313), 0);
	CU_ASSERT_EQUAL(tk_dev_set_addr(kdev, "eth2", mac, sizeof mac), 0);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(d), 2);

	/* the restarted copy's device makes set_mtu(1313) fault */
	tk_new_dev_flags = TK_F_REPLAY_BOMB;
	logbuf[0] = '\0';
	nooks_set_log(capture);
	CU_ASSERT_EQUAL(call(d, e, "ext_crash", 0), -99999);
	CU_ASSERT_EQUAL(nooks_sup_recover(s), 0);	/* serving in the end */
	nooks_set_log(NULL);
	tk_new_dev_flags = 0;
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "replayed 0 of 2 logged calls (1 faulted"));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "fault: Segmentation fault at 0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "replayed 1 of 1 logged calls (0 faulted"));
	nooks_sup_stats(s, &st);
	CU_ASSERT_EQUAL(st.restarts, 2);
	CU_ASSERT_FALSE(st.given_up);
	unsigned replayed, faulted;
	nooks_sup_replay_stats(s, &replayed, &faulted);
	CU_ASSERT_EQUAL(faulted, 1);
	CU_ASSERT_EQUAL(replayed, 1);
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_UP);
	CU_ASSERT_EQUAL(call(d, e, "ext_mtu", 0), 0);		/* never set again */
	CU_ASSERT_EQUAL(call(d, e, "ext_label", 3), '2');	/* but this was */
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(d), 1);
	CU_ASSERT_EQUAL(tk_live_devs, 1);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	nooks_sup_free(s);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

static void test_targets(void)
{
	char err[256];
	struct nooks_domain *d = nooks_domain_create("replay-targets", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = load(d);
	struct nooks_replay_stats rs;
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);

	tk_reset();
	CU_ASSERT_EQUAL(call(d, e, "ext_init", 0), 0);
	struct tk_dev *a = tk_first_dev();
	CU_ASSERT_EQUAL(call(d, e, "ext_add_dev", 0), 0);
	struct tk_dev *b = tk_first_dev();
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(a, 1400), 0);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(b, 1600), 0);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(a, 1450), 0);	/* supersedes a's */
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(d), 2);

	/* restarted by hand, and this time both devices come back: the
	 * first registration gets the first's calls, the second the second's */
	CU_ASSERT_EQUAL(call(d, e, "ext_crash", 0), -99999);
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	CU_ASSERT_EQUAL(nooks_ext_reload(e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_init", 0), 0);
	a = tk_first_dev();
	CU_ASSERT_EQUAL(call(d, e, "ext_add_dev", 0), 0);
	b = tk_first_dev();
	CU_ASSERT_EQUAL(nooks_domain_replay(d, &rs), 0);
	CU_ASSERT_EQUAL(rs.logged, 2);
	CU_ASSERT_EQUAL(rs.replayed, 2);
	CU_ASSERT_EQUAL(tk_get_mtu(a), 1450);
	CU_ASSERT_EQUAL(tk_get_mtu(b), 1600);

	/* this time init registers only the first device, and the kernel
	 * sets its mtu before the replay: the newer call replaces the logged
	 * one (same entry, same registration) and is what is replayed; the
	 * second device's call has no target and is dropped */
	CU_ASSERT_EQUAL(call(d, e, "ext_crash", 0), -99999);
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	CU_ASSERT_EQUAL(nooks_ext_reload(e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_init", 0), 0);
	a = tk_first_dev();
	CU_ASSERT_EQUAL(tk_dev_set_mtu(a, 9000), 0);
	CU_ASSERT_EQUAL(nooks_domain_replay(d, &rs), 0);
	CU_ASSERT_EQUAL(rs.logged, 2);
	CU_ASSERT_EQUAL(rs.replayed, 1);
	CU_ASSERT_EQUAL(rs.no_target, 1);
	CU_ASSERT_EQUAL(tk_get_mtu(a), 9000);
	CU_ASSERT_EQUAL(call(d, e, "ext_mtu", 0), 9000);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(d), 1);
	CU_ASSERT_EQUAL(tk_live_devs, 1);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);

	/* the none backend recovers nothing: nothing is logged */
	d = nooks_domain_create("replay-none", NOOKS_BACKEND_NONE);
	e = load(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(call(d, e, "ext_init", 0), 0);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(tk_first_dev(), 1400), 0);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(d), 0);
	CU_ASSERT_EQUAL(nooks_domain_replay(d, &rs), -ENOENT);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
	tk_reset();
}

void register_replay_tests(const char *ext, const char *wrapper);

void register_replay_tests(const char *ext, const char *wrapper)
{
	ext_path = ext;
	wrapper_path = wrapper;
	CU_pSuite s = CU_add_suite("replay of configuration calls", NULL, NULL);
	CU_add_test(s, "replayed into the restarted extension", test_replayed_after_restart);
	CU_add_test(s, "a replayed call that faults is contained", test_replay_fault_contained);
	CU_add_test(s, "targets: k-th registration, newer calls win", test_targets);
}
