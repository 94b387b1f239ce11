/*
 * test_heap.c - per-domain heaps (runtime/heap.c, runtime/extlib.c).
 *
 * The allocator on its own (also under AddressSanitizer): sizes,
 * alignment, recycling, wild and double frees ignored, a full heap, and
 * closing (what recovery does) emptying it and dropping its region.
 * Then a real extension (ext_heap.so): isolated, its malloc family comes
 * from its domain's heap, the kernel wrappers accept its buffers and
 * refuse libc's, libc's own state survives restarts, and a thousand
 * crash-and-restart cycles that each leak memory leave the process's
 * memory and mappings where they started; natively, or on the none
 * backend, it uses plain malloc.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "leaks.h"
#include "nooks_internal.h"
#include "nooks_runtime.h"
#include "tk_nooks.h"

static char ext_path[512];
static const char *wrapper_path;

static const struct nooks_stub_binding bind[] = {
	{ "nooks_stubs_tk", &nooks_kw_table_tk },
};

/* ---- the allocator alone ---------------------------------------------------- */

static void test_allocator(void)
{
	struct nooks_domain *d = nooks_domain_create("heap", NOOKS_BACKEND_NONE);
	struct nk_heap *h = nk_heap_new(d, 1 << 20);
	struct nooks_heap_stats st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_PTR_NULL(nk_heap_alloc(h, 0, 10));	/* closed until opened */
	CU_ASSERT_EQUAL(nk_heap_open(h), 0);
	char *a = nk_heap_alloc(h, 0, 10);
	char *b = nk_heap_alloc(h, 0, 100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL((uintptr_t)a % 16, 0);
	CU_ASSERT_TRUE(nk_heap_usable(h, a) >= 10);
	CU_ASSERT_TRUE(nk_heap_usable(h, b) >= 100);
	/* the heap is memory the domain may pass to the kernel */
	CU_ASSERT_EQUAL(nooks_check_buffer(d, b, 100, 1), 0);
	memset(a, 'x', 10);
	nk_heap_dealloc(h, a);
	CU_ASSERT_PTR_EQUAL(nk_heap_alloc(h, 0, 12), a);	/* recycled */
	nk_heap_dealloc(h, a);
	nk_heap_dealloc(h, a);				/* double free: ignored */
	nk_heap_dealloc(h, b + 16);			/* wild: ignored */
	nk_heap_stats(h, &st);
	CU_ASSERT_EQUAL(st.bad_frees, 2);
	/* the double free did not put a twice on its list */
	char *c1 = nk_heap_alloc(h, 0, 10), *c2 = nk_heap_alloc(h, 0, 10);
	CU_ASSERT_PTR_NOT_EQUAL(c1, c2);
	for (size_t al = 32; al <= 4096; al *= 2) {
		char *p = nk_heap_alloc(h, al, 50);
		CU_ASSERT_TRUE(p && (uintptr_t)p % al == 0);
		CU_ASSERT_TRUE(nk_heap_usable(h, p) >= 50);
		nk_heap_dealloc(h, p);
	}
	nk_heap_stats(h, &st);
	CU_ASSERT_EQUAL(st.bad_frees, 2);		/* aligned frees were good */
	char *r = nk_heap_realloc(h, NULL, 20);
	strcpy(r, "keep me");
	r = nk_heap_realloc(h, r, 5000);
	CU_ASSERT_STRING_EQUAL(r, "keep me");
	CU_ASSERT_PTR_NULL(nk_heap_realloc(h, r, 0));
	/* full: refused, not crashed */
	CU_ASSERT_PTR_NULL(nk_heap_alloc(h, 0, 2 << 20));
	int n = 0;
	while (nk_heap_alloc(h, 0, 4000) && n < 1000)
		n++;
	CU_ASSERT_TRUE(n > 200 && n < 256);
	nk_heap_stats(h, &st);
	CU_ASSERT_TRUE(st.failures >= 2);
	CU_ASSERT_TRUE(st.peak >= (size_t)n * 4096);

	/* recovery releases the domain: the heap is emptied and closed, and
	 * is no longer memory the domain may pass */
	nk_tracker_release_domain(d, NULL);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, b, 100, 1), -EFAULT);
	CU_ASSERT_PTR_NULL(nk_heap_alloc(h, 0, 10));
	nk_heap_dealloc(h, b);				/* a dead copy's free: ignored */
	nk_heap_stats(h, &st);
	CU_ASSERT_EQUAL(st.in_use, 0);
	CU_ASSERT_EQUAL(st.touched, 0);
	CU_ASSERT_EQUAL(st.wipes, 1);
	/* opened again for the next copy: empty, from the start */
	CU_ASSERT_EQUAL(nk_heap_open(h), 0);
	char *again = nk_heap_alloc(h, 0, 10);
	CU_ASSERT_PTR_NOT_NULL(again);
	CU_ASSERT_TRUE(again <= a);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, again, 10, 1), 0);
	nk_heap_close(h);
	nk_heap_free(h);
	nooks_domain_destroy(d);
}

/* ---- a real extension ----------------------------------------------------- */

struct lframe {
	long (*fn)(long);
	long arg, ret;
};

static void lthunk(void *p)
{
	struct lframe *f = p;
	f->ret = f->fn(f->arg);
}

static int call(struct nooks_domain *d, struct nooks_ext *e, const char *name,
		long arg, long *ret)
{
	struct lframe f = { .arg = arg, .ret = -12345 };
	*(void **)&f.fn = nooks_ext_sym(e, name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f.fn);
	int rc = nooks_xpc_ext(d, lthunk, &f, 5000);
	if (ret)
		*ret = f.ret;
	return rc;
}

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void quiet(const char *line)
{
	(void)line;
}

static void test_isolated_heap(void)
{
	char err[256];
	struct nooks_domain *d = nooks_domain_create("heap-iso", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = nooks_ext_load(d, ext_path, wrapper_path, bind, 1, err, sizeof(err));
	struct nooks_heap_stats st;
	long r;

	if (!e)
		fprintf(stderr, "\n    %s", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL_FATAL(nooks_ext_heap_stats(e, &st), 0);
	CU_ASSERT_EQUAL(st.reserved, NK_HEAP_SIZE);
	unsigned long allocs = st.allocs;

	CU_ASSERT_EQUAL(call(d, e, "ext_malloc", 1000, &r), 0);
	void *p = (void *)(intptr_t)r;
	CU_ASSERT_PTR_NOT_NULL(p);
	nooks_ext_heap_stats(e, &st);
	CU_ASSERT_EQUAL(st.allocs, allocs + 1);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, p, 1000, 1), 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_free", r, NULL), 0);
	nooks_ext_heap_stats(e, &st);
	CU_ASSERT_EQUAL(st.frees, 1);

	CU_ASSERT_EQUAL(call(d, e, "ext_mix", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	/* its malloc'ed buffer passes the kernel wrapper's check; libc's
	 * own allocation (asprintf's) does not */
	tk_reset();
	CU_ASSERT_EQUAL(call(d, e, "ext_reverse_heap", 100, &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(tk_calls_reverse_words, 1);
	CU_ASSERT_EQUAL(call(d, e, "ext_reverse_libc", 0, &r), 0);
	CU_ASSERT_EQUAL(r, -EINVAL);
	CU_ASSERT_EQUAL(tk_calls_reverse_words, 1);	/* never reached */
	CU_ASSERT_EQUAL(call(d, e, "ext_libc_state", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 1971);
	nooks_ext_heap_stats(e, &st);
	CU_ASSERT_EQUAL(st.bad_frees, 0);

	/* released (as recovery does) but not reloaded yet: the heap is
	 * empty and closed; the old copy's allocations go to libc */
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	nooks_ext_heap_stats(e, &st);
	CU_ASSERT_EQUAL(st.in_use, 0);
	allocs = st.allocs;
	CU_ASSERT_EQUAL(call(d, e, "ext_malloc", 100, &r), 0);
	CU_ASSERT_NOT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_free", r, NULL), 0);
	nooks_ext_heap_stats(e, &st);
	CU_ASSERT_EQUAL(st.allocs, allocs);
	CU_ASSERT_EQUAL(st.failures, 0);
	/* the next copy gets the heap again */
	CU_ASSERT_EQUAL(nooks_ext_reload(e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_malloc", 100, &r), 0);
	nooks_ext_heap_stats(e, &st);
	CU_ASSERT_EQUAL(st.allocs, allocs + 1);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, (void *)(intptr_t)r, 100, 1), 0);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

static void test_native_plain_malloc(void)
{
	char err[256];
	long r;

	/* native: no namespace, no heap; its blocks are the process's */
	struct nooks_domain *d = nooks_domain_create("heap-native", NOOKS_BACKEND_NONE);
	struct nooks_ext *e = nooks_ext_load(d, ext_path, NULL, NULL, 0, err, sizeof(err));
	struct nooks_heap_stats st;
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(nooks_ext_heap_stats(e, &st), -ENOENT);
	CU_ASSERT_EQUAL(call(d, e, "ext_malloc", 100, &r), 0);
	CU_ASSERT_NOT_EQUAL(r, 0);
	CU_ASSERT_TRUE(malloc_usable_size((void *)(intptr_t)r) >= 100);
	free((void *)(intptr_t)r);			/* the kernel's own malloc */
	CU_ASSERT_EQUAL(call(d, e, "ext_mix", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);

	/* isolated on the none backend: a namespace, but nothing to recover
	 * and so no heap; libc's malloc of the namespace */
	d = nooks_domain_create("heap-none", NOOKS_BACKEND_NONE);
	e = nooks_ext_load(d, ext_path, wrapper_path, bind, 1, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(nooks_ext_heap_stats(e, &st), -ENOENT);
	CU_ASSERT_EQUAL(call(d, e, "ext_mix", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_malloc", 100, &r), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, (void *)(intptr_t)r, 100, 1), -EFAULT);
	CU_ASSERT_EQUAL(call(d, e, "ext_free", r, NULL), 0);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

/* Every cycle the extension leaks about 1.3 MiB and faults; recovery
 * must give it all back: the heap (64 MiB) would be full after 50 cycles
 * otherwise, and the process's memory would grow by the total. */
static void test_leak_cycles(void)
{
	char err[256];
	struct nooks_policy p = { .base_delay_ms = 0, .max_delay_ms = 0,
				  .max_failures = 64, .window_ms = 0 };
	struct nooks_domain *d = nooks_domain_create("heap-cycles", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = nooks_ext_load(d, ext_path, wrapper_path, bind, 1, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	struct nooks_sup *s = nooks_sup_new(d, e, "", &p);
	int cycles = getenv("NOOKS_CYCLES") ? atoi(getenv("NOOKS_CYCLES")) : 1000;
	long r;

	nooks_set_log(quiet);
	CU_ASSERT_EQUAL_FATAL(nooks_sup_start(s), 0);
	/* a first cycle maps what stays mapped */
	CU_ASSERT_EQUAL(call(d, e, "ext_leak", 1024, &r), 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_libc_state", 0, &r), 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_crash", 0, &r), -1);
	CU_ASSERT_EQUAL(nooks_sup_recover(s), 0);
	int maps = count_mappings(), fds = count_open_fds();
	long rss = rss_kib();
	long leaked = 0;
	for (int i = 0; i < cycles; i++) {
		if (call(d, e, "ext_leak", 1024, &r) != 0 || r != 0 ||
		    call(d, e, "ext_libc_state", 0, &r) != 0 || r != 1971 ||
		    call(d, e, "ext_crash", 0, &r) != -1 || nooks_sup_recover(s) != 0) {
			CU_FAIL("a cycle failed");
			fprintf(stderr, "\n    cycle %d: r %ld", i, r);
			break;
		}
		leaked += 1024 + 300 + 5;
	}
	nooks_set_log(NULL);
	long grown = rss_kib() - rss;
	struct nooks_heap_stats st;
	nooks_ext_heap_stats(e, &st);
	printf("\n    heap: %d cycles leaked %ld MiB in all; RSS %+ld KiB (from %ld KiB), "
	       "mappings %d -> %d, heap peak %zu KiB, emptied %lu times\n",
	       cycles, leaked / 1024, grown, rss, maps, count_mappings(), st.peak / 1024, st.wipes);
	CU_ASSERT_TRUE(grown < 2048);
	CU_ASSERT_EQUAL(count_mappings(), maps);
	CU_ASSERT_EQUAL(count_open_fds(), fds);
	CU_ASSERT_TRUE(st.peak < (size_t)4 << 20);
	CU_ASSERT_TRUE(st.wipes >= (unsigned long)cycles);
	CU_ASSERT_EQUAL(st.bad_frees, 0);
	nooks_sup_free(s);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

struct churner {
	struct nooks_domain *d;
	struct nooks_ext *e;
	int rc;
};

static void *churn(void *p)
{
	struct churner *c = p;
	long r;
	c->rc = 0;
	while (c->rc == 0)
		c->rc = call(c->d, c->e, "ext_churn", 100000, &r);
	return NULL;
}

/* Threads allocating when another thread's call faults the domain are
 * unwound, some of them inside the allocator holding the heap's lock;
 * recovery empties the heap and makes its lock anew, so the next copy
 * allocates (a lock left held would hang it until the deadline). */
static void test_threads_unwound_in_allocator(void)
{
	char err[256];
	struct nooks_domain *d = nooks_domain_create("heap-threads", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = nooks_ext_load(d, ext_path, wrapper_path, bind, 1, err, sizeof(err));
	struct churner c[3];
	pthread_t t[3];
	long r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 3; i++) {
			c[i] = (struct churner){ d, e, 0 };
			pthread_create(&t[i], NULL, churn, &c[i]);
		}
		struct timespec ts = { 0, 2 * 1000000L };
		nanosleep(&ts, NULL);
		CU_ASSERT_EQUAL(call(d, e, "ext_crash", 0, &r), -1);
		for (int i = 0; i < 3; i++) {
			pthread_join(t[i], NULL);
			CU_ASSERT_EQUAL(c[i].rc, -1);
		}
		while (nooks_domain_reset(d, NULL) == -EBUSY)
			nanosleep(&ts, NULL);
		CU_ASSERT_EQUAL_FATAL(nooks_ext_reload(e, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(call(d, e, "ext_mix", 0, &r), 0);
		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT_EQUAL(call(d, e, "ext_churn", 1000, &r), 0);
		CU_ASSERT_EQUAL(r, 0);
	}
	struct nooks_heap_stats st;
	nooks_ext_heap_stats(e, &st);
	CU_ASSERT_EQUAL(st.bad_frees, 0);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

void register_heap_tests(const char *dir, const char *wrapper, int crossings);

void register_heap_tests(const char *dir, const char *wrapper, int crossings)
{
	CU_pSuite s = CU_add_suite("per-domain heaps", NULL, NULL);
	CU_add_test(s, "the allocator: sizes, alignment, bad frees, full, emptied", test_allocator);
	if (!crossings || !dir || !wrapper)
		return;
	snprintf(ext_path, sizeof(ext_path), "%s/ext_heap.so", dir);
	wrapper_path = wrapper;
	CU_add_test(s, "isolated: malloc family from the domain's heap", test_isolated_heap);
	CU_add_test(s, "native and none backend: plain malloc", test_native_plain_malloc);
	CU_add_test(s, "1000 leaking crash-and-restart cycles: memory back", test_leak_cycles);
	CU_add_test(s, "threads unwound inside the allocator", test_threads_unwound_in_allocator);
}
