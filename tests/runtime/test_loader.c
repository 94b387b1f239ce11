/*
 * test_loader.c - one unmodified extension object (ext_tk.so) loaded
 * natively and isolated, through the wrappers nooksc generated from
 * tests/codegen/tk.idl, on the real runtime.
 *
 * Natively its calls go straight to the kernel (libtk.so.1): the double
 * release reaches it and the kernel counts a bug.  Isolated, the same
 * binary binds to the stub library (soname libtk.so.1, in its own link
 * namespace), every call crosses the generated kernel wrappers, the
 * double release returns -EINVAL and never reaches the kernel, the
 * kernel calls the extension's ops through extension wrappers, and exit()
 * becomes a contained fault.  Plus the loader's errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "leaks.h"
#include "nooks_internal.h"
#include "nooks_runtime.h"
#include "tk_nooks.h"

static const char *ext_path, *wrapper_path, *dir;

static const struct nooks_stub_binding bind[] = {
	{ "nooks_stubs_tk", &nooks_kw_table_tk },
};

struct frame {
	int (*fn)(void);
	int ret;
};

static void thunk(void *p)
{
	struct frame *f = p;
	f->ret = f->fn();
}

/* Calls entry name of e inside d, as the kernel calls an extension. */
static int run(struct nooks_domain *d, struct nooks_ext *e, const char *name, int *ret)
{
	struct frame f = { .ret = -12345 };
	*(void **)&f.fn = nooks_ext_sym(e, name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f.fn);
	int rc = nooks_xpc_ext(d, thunk, &f, 1000);
	*ret = f.ret;
	return rc;
}

static void test_native(void)
{
	char err[256];
	struct nooks_domain *d = nooks_domain_create("native", NOOKS_BACKEND_NONE);
	tk_reset();
	struct nooks_ext *e = nooks_ext_load(d, ext_path, NULL, NULL, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	int r;
	CU_ASSERT_EQUAL(run(d, e, "ext_init", &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(run(d, e, "ext_double_release", &r), 0);
	/* natively the second release reached the kernel */
	CU_ASSERT_EQUAL(tk_calls_dev_put, 2);
	CU_ASSERT_EQUAL(tk_bugs, 1);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

static void test_isolated(void)
{
	char err[256];
	struct nooks_domain *d = nooks_domain_create("isolated", NOOKS_BACKEND_MPROTECT);
	tk_reset();
	struct nooks_ext *e = nooks_ext_load(d, ext_path, wrapper_path, bind, 1, err, sizeof(err));
	if (!e)
		fprintf(stderr, "\n    %s", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_TRUE(nooks_ext_isolated(e));
	int r;
	CU_ASSERT_EQUAL(run(d, e, "ext_init", &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	if (r)
		fprintf(stderr, "\n    ext_init: %d (alloc %d register %d)", r,
			tk_calls_dev_alloc, tk_calls_register);
	CU_ASSERT_EQUAL(tk_calls_register, 1);
	CU_ASSERT_EQUAL(run(d, e, "ext_dev_mtu", &r), 0);
	CU_ASSERT_EQUAL(r, TK_MTU_DEFAULT);
	CU_ASSERT_EQUAL(run(d, e, "ext_read", &r), 0);
	CU_ASSERT_EQUAL(r, 0);			/* its static buffer is allowed */

	/* the kernel opens the registered device: through the wrappers */
	CU_ASSERT_EQUAL(tk_live_devs, 1);
	struct tk_dev *kdev = tk_first_dev();
	CU_ASSERT_PTR_NOT_NULL_FATAL(kdev);
	CU_ASSERT_EQUAL(tk_dev_open(kdev), 0);
	CU_ASSERT_EQUAL(run(d, e, "ext_opens", &r), 0);
	CU_ASSERT_EQUAL(r, 1);

	/* the kHTTPd bug: caught by the tracker, never reaches the kernel */
	CU_ASSERT_EQUAL(run(d, e, "ext_double_release", &r), 0);
	CU_ASSERT_EQUAL(r, -EINVAL);
	CU_ASSERT_EQUAL(tk_calls_dev_put, 1);
	CU_ASSERT_EQUAL(tk_bugs, 0);

	/* exit() is a fault of the domain, not the end of the kernel */
	CU_ASSERT_EQUAL(run(d, e, "ext_quit", &r), -1);
	struct nooks_domain_stats st;
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_EXIT);
	CU_ASSERT_EQUAL(st.last_signal, 3);
	CU_ASSERT_EQUAL(tk_dev_open(kdev), -EIO);	/* down: fault(-EIO) */

	/* recovery: registration undone, device freed; reload and init */
	struct nooks_release_stats rs;
	CU_ASSERT_EQUAL(nooks_domain_reset(d, &rs), 0);
	CU_ASSERT_EQUAL(rs.undone, 1);
	CU_ASSERT_TRUE(rs.released >= 1);
	CU_ASSERT_EQUAL(tk_calls_unregister, 1);
	CU_ASSERT_EQUAL(tk_live_devs, 0);
	void *entry = nooks_ext_sym(e, "ext_init");
	CU_ASSERT_EQUAL(nooks_ext_reload(e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(run(d, e, "ext_init", &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(tk_live_devs, 1);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	/* restored, not reloaded: the same mapping, its data as at load */
	unsigned long restored, reloaded;
	nooks_ext_reload_stats(e, &restored, &reloaded);
	CU_ASSERT_EQUAL(restored, 1);
	CU_ASSERT_EQUAL(reloaded, 0);
	CU_ASSERT_PTR_EQUAL(nooks_ext_sym(e, "ext_init"), entry);
	CU_ASSERT_EQUAL(run(d, e, "ext_opens", &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	/* the same with the full reload */
	CU_ASSERT_EQUAL(tk_dev_open(tk_first_dev()), 0);
	CU_ASSERT_EQUAL(run(d, e, "ext_opens", &r), 0);
	CU_ASSERT_EQUAL(r, 1);
	/* its data made read-only by the copy itself: restored all the same */
	CU_ASSERT_EQUAL(run(d, e, "ext_seal", &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	CU_ASSERT_EQUAL(nooks_ext_reload(e, err, sizeof(err)), 0);
	nooks_ext_reload_stats(e, &restored, &reloaded);
	CU_ASSERT_EQUAL(restored, 2);
	CU_ASSERT_EQUAL(run(d, e, "ext_opens", &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(run(d, e, "ext_init", &r), 0);
	CU_ASSERT_EQUAL(tk_dev_open(tk_first_dev()), 0);	/* it writes them again */
	CU_ASSERT_EQUAL(run(d, e, "ext_opens", &r), 0);
	CU_ASSERT_EQUAL(r, 1);
	nooks_ext_set_snapshot(e, 0);
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	CU_ASSERT_EQUAL(nooks_ext_reload(e, err, sizeof(err)), 0);
	nooks_ext_reload_stats(e, &restored, &reloaded);
	CU_ASSERT_EQUAL(restored, 2);
	CU_ASSERT_EQUAL(reloaded, 1);
	CU_ASSERT_EQUAL(run(d, e, "ext_opens", &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
	CU_ASSERT_EQUAL(tk_live_devs, 0);
}

static void test_errors(void)
{
	char err[256], path[512];
	struct nooks_domain *d = nooks_domain_create("errors", NOOKS_BACKEND_MPROTECT);

	CU_ASSERT_PTR_NULL(nooks_ext_load(d, "/nonexistent/x.so", NULL, NULL, 0, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
	snprintf(path, sizeof(path), "%s/../../../tests/runtime/ext_tk.c", dir);
	CU_ASSERT_PTR_NULL(nooks_ext_load(d, path, NULL, NULL, 0, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not an ELF"));
	snprintf(path, sizeof(path), "%s/ext_unresolved.so", dir);
	CU_ASSERT_PTR_NULL(nooks_ext_load(d, path, NULL, NULL, 0, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "undefined symbol"));
	struct nooks_ext *e = nooks_ext_load(d, ext_path, NULL, NULL, 0, err, sizeof(err));
	CU_ASSERT_PTR_NULL(nooks_ext_sym(e, "no_such_entry"));
	nooks_ext_unload(e);
	/* namespaces run out: a clear error, not a crash */
	struct nooks_ext *many[32];
	int n = 0;
	for (; n < 32; n++) {
		many[n] = nooks_ext_load(d, ext_path, wrapper_path, bind, 1, err, sizeof(err));
		if (!many[n])
			break;
	}
	CU_ASSERT_TRUE(n < 32);
	CU_ASSERT_TRUE(n >= 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "namespace"));
	if (n < 32 && !strstr(err, "namespace"))
		fprintf(stderr, "\n    after %d: %s", n, err);
	for (int i = 0; i < n; i++)
		nooks_ext_unload(many[i]);
	nooks_domain_destroy(d);
}

static void quiet(const char *line)
{
	(void)line;
}

/* Crash-and-restart cycles of the isolated extension, through the
 * supervisor: every cycle the extension allocates and registers a device
 * in its init, then faults; recovery must leave nothing behind. */
static void test_isolated_cycles(void)
{
	char err[256];
	struct nooks_policy p = { .base_delay_ms = 0, .max_delay_ms = 0,
				  .max_failures = 64, .window_ms = 0 };
	struct nooks_domain *d = nooks_domain_create("cycles", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = nooks_ext_load(d, ext_path, wrapper_path, bind, 1, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	struct nooks_sup *s = nooks_sup_new(d, e, "ext_init", &p);
	int cycles = getenv("NOOKS_CYCLES") ? atoi(getenv("NOOKS_CYCLES")) : 1000;
	int r;

	tk_reset();
	nooks_set_log(quiet);
	CU_ASSERT_EQUAL_FATAL(nooks_sup_start(s), 0);
	/* a first cycle maps what stays mapped (stacks, the watchdog) */
	CU_ASSERT_EQUAL(run(d, e, "ext_crash", &r), -1);
	CU_ASSERT_EQUAL(nooks_sup_recover(s), 0);
	int fds = count_open_fds(), maps = count_mappings();
	int entries = nk_tracker_entries();
	for (int i = 0; i < cycles; i++) {
		if (run(d, e, "ext_crash", &r) != -1 || nooks_sup_recover(s) != 0 ||
		    tk_live_devs != 1 || run(d, e, "ext_dev_mtu", &r) != 0 ||
		    r != TK_MTU_DEFAULT) {
			CU_FAIL("a cycle did not recover");
			fprintf(stderr, "\n    cycle %d: live devs %d", i, tk_live_devs);
			break;
		}
	}
	nooks_set_log(NULL);
	CU_ASSERT_EQUAL(tk_live_devs, 1);		/* only the current one */
	CU_ASSERT_EQUAL(tk_calls_unregister, cycles + 1);
	CU_ASSERT_EQUAL(nk_tracker_entries(), entries);
	CU_ASSERT_EQUAL(count_open_fds(), fds);
	CU_ASSERT_EQUAL(count_mappings(), maps);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	nooks_sup_free(s);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
	CU_ASSERT_EQUAL(tk_live_devs, 0);
}

void register_loader_tests(const char *d_, const char *ext, const char *wrapper);

void register_loader_tests(const char *d_, const char *ext, const char *wrapper)
{
	dir = d_;
	ext_path = ext;
	wrapper_path = wrapper;
	CU_pSuite s = CU_add_suite("loader: one extension, native and isolated", NULL, NULL);
	CU_add_test(s, "native: the double release reaches the kernel", test_native);
	CU_add_test(s, "isolated: wrappers, tracker, exit() contained, recovery", test_isolated);
	CU_add_test(s, "1000 isolated crash-and-restart cycles, nothing left", test_isolated_cycles);
	CU_add_test(s, "clear errors", test_errors);
}
