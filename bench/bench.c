/*
 * bench.c - the cost of isolation, each isolated figure measured in the
 * same run as its baseline, printed as one Markdown table.
 *
 * usage: bench DIR   (DIR holds ext_faults.so, ext_tk.so and wrap/libtk.so.1,
 *                    as built for the runtime tests)
 *
 * Every row is the median of 11 repetitions of a timed loop, with the
 * spread (min..max of the 11) beside it; cycles are TSC ticks.  Rows:
 *  - a plain indirect call (the floor);
 *  - a null call into an extension through nooks_xpc_ext, per backend
 *    (process: nooks_xpc_ext_frame, 200,000 calls);
 *  - a null call back into the kernel from inside the extension;
 *  - the kernel calling an isolated extension's registered entry through
 *    the generated extension wrapper (shadow out and back, validation);
 *  - an isolated extension reading 64 B, 4 KiB and 64 KiB through the
 *    generated kernel wrapper, against the same extension loaded natively;
 *  - recovery: from the fault to the error return, and from the error
 *    return to serving again (release, reload, init), median and worst.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <sys/mman.h>

#include "nooks_internal.h"
#include "nooks_runtime.h"
#include "tk_nooks.h"

#define REPS 11

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct result {
	double ns, cycles, lo, hi;
};

/* Times fn(arg, n) REPS times; per-iteration median and spread. */
static struct result measure(void (*fn)(void *, long), void *arg, long n)
{
	double t[REPS], c[REPS];
	fn(arg, n / 10 + 1);	/* warm up */
	for (int r = 0; r < REPS; r++) {
		unsigned long long c0 = __rdtsc();
		double t0 = now_ns();
		fn(arg, n);
		t[r] = (now_ns() - t0) / (double)n;
		c[r] = (double)(__rdtsc() - c0) / (double)n;
	}
	qsort(t, REPS, sizeof(double), cmp);
	qsort(c, REPS, sizeof(double), cmp);
	return (struct result){ t[REPS / 2], c[REPS / 2], t[0], t[REPS - 1] };
}

static void row(const char *what, struct result r, const struct result *base)
{
	printf("| %s | %.1f | %.0f | %.1f..%.1f |", what, r.ns, r.cycles, r.lo, r.hi);
	if (base)
		printf(" %.1fx |\n", r.ns / base->ns);
	else
		printf(" 1.0x |\n");
}

/* ---- the loops ---------------------------------------------------------- */

static int (*ext_add)(int, int);
static int (*ext_nop)(void);

__attribute__((noinline)) static void plain(void *arg, long n)
{
	int (*volatile f)(int, int) = arg;
	for (long i = 0; i < n; i++)
		f(1, 2);
}

struct addf {
	int a, b, ret;
};

static void add_thunk(void *p)
{
	struct addf *f = p;
	f->ret = ext_add(f->a, f->b);
}

static void xpc_loop(void *arg, long n)
{
	struct addf f = { 1, 2, 0 };
	for (long i = 0; i < n; i++)
		nooks_xpc_ext(arg, add_thunk, &f, 0);
}

/* A null call, then a kernel write into the arena: what cost an mprotect
 * pair and a fault per write while the arena's protection was switched,
 * and costs nothing more since the extension sees its own read-only view
 * of the arena. */
static volatile unsigned long *arena_word;

static void xpc_write_loop(void *arg, long n)
{
	struct addf f = { 1, 2, 0 };
	for (long i = 0; i < n; i++) {
		nooks_xpc_ext(arg, add_thunk, &f, 0);
		*arena_word = (unsigned long)i;
	}
}

static void nothing(void *p)
{
	(void)p;
}

struct kloop {
	long n;
};

static void kernel_calls(void *p)
{
	struct kloop *k = p;
	for (long i = 0; i < k->n; i++)
		nooks_xpc_kernel(NULL, nothing, NULL);
}

static void kcall_loop(void *arg, long n)
{
	struct kloop k = { n };
	nooks_xpc_ext(arg, kernel_calls, &k, 0);
}

/* The same on a process domain, which needs the frame's size (the
 * generated wrappers give it) and a frame in its window for a kernel
 * call (its channel's copy of the crossing's frame). */
static void xpc_loop_frame(void *arg, long n)
{
	struct addf f = { 1, 2, 0 };
	for (long i = 0; i < n; i++)
		nooks_xpc_ext_frame(arg, add_thunk, &f, sizeof(f), 0);
}

static void kernel_calls_frame(void *p)
{
	struct kloop *k = p;
	for (long i = 0; i < k->n; i++)
		nooks_xpc_kernel(NULL, nothing, p);
}

static void kcall_loop_frame(void *arg, long n)
{
	struct kloop k = { n };
	nooks_xpc_ext_frame(arg, kernel_calls_frame, &k, sizeof(k), 0);
}

static double attribution_rest;

static struct tk_dev *kdev;

static void open_loop(void *arg, long n)
{
	(void)arg;
	for (long i = 0; i < n; i++)
		tk_dev_open(kdev);
}

struct readf {
	int (*fn)(unsigned int);
	unsigned int len;
	long n;
};

static void read_thunk(void *p)
{
	struct readf *f = p;
	for (long i = 0; i < f->n; i++)
		f->fn(f->len);
}

static struct nooks_domain *read_dom;

static void read_loop(void *arg, long n)
{
	struct readf *f = arg;
	f->n = n;
	nooks_xpc_ext(read_dom, read_thunk, f, 0);
}

static const struct nooks_stub_binding bind[] = {
	{ "nooks_stubs_tk", &nooks_kw_table_tk },
};

struct entryf {
	int (*fn)(void);
	int ret;
};

static void entry_thunk(void *p)
{
	struct entryf *f = p;
	f->ret = f->fn();
}

static int run_entry(struct nooks_domain *d, struct nooks_ext *e, const char *name)
{
	struct entryf f;
	*(void **)&f.fn = nooks_ext_sym(e, name);
	return nooks_xpc_ext(d, entry_thunk, &f, 0) ? -1 : f.ret;
}

static void quiet(const char *line)
{
	(void)line;
}

int main(int argc, char **argv)
{
	char path[512], wrap[512], err[256];
	const char *dir = argc > 1 ? argv[1] : ".";

	/* ---- the machine ---- */
	char model[256] = "?";
	FILE *ci = fopen("/proc/cpuinfo", "r");
	while (ci && fgets(model, sizeof(model), ci))
		if (!strncmp(model, "model name", 10))
			break;
	if (ci)
		fclose(ci);
	char *colon = strchr(model, ':');
	char *m = colon ? colon + 2 : model;
	m[strcspn(m, "\n")] = '\0';
	struct utsname u;
	uname(&u);
	printf("Machine: %s, %ld CPUs, Linux %s.\n\n", m, sysconf(_SC_NPROCESSORS_ONLN),
	       u.release);

	snprintf(path, sizeof(path), "%s/ext_faults.so", dir);
	void *so = dlopen(path, RTLD_NOW);
	if (!so) {
		fprintf(stderr, "bench: %s\n", dlerror());
		return 1;
	}
	*(void **)&ext_add = dlsym(so, "ext_add");
	/* process domains are forks of a zygote taken now (one thread, the
	 * extension object loaded) */
	int proc_ok = nooks_proc_init() == 0;
	nooks_proc_allow_kcall(nothing);

	printf("| crossing | ns | cycles | spread (ns) | x a plain call |\n");
	printf("|---|---:|---:|---|---:|\n");
	struct result base = measure(plain, (void *)ext_add, 2000000);
	row("plain indirect call", base, NULL);
	struct nooks_domain *dn = nooks_domain_create("none", NOOKS_BACKEND_NONE);
	struct nooks_domain *dm = nooks_domain_create("mprotect", NOOKS_BACKEND_MPROTECT);
	nooks_set_log(quiet);
	struct nooks_domain *dp = nooks_domain_create("pkey", NOOKS_BACKEND_PKEY);
	row("null extension call, none", measure(xpc_loop, dn, 2000000), &base);
	row("null extension call, mprotect", measure(xpc_loop, dm, 2000000), &base);
	arena_word = nooks_arena_alloc(sizeof(*arena_word));
	row("null extension call + a kernel write to the arena, mprotect",
	    measure(xpc_write_loop, dm, 2000000), &base);
	row(nooks_domain_backend(dp) == NOOKS_BACKEND_PKEY ?
	    "null extension call, pkey (two WRPKRU per crossing)" :
	    "null extension call, pkey (falls back to mprotect here)",
	    measure(xpc_loop, dp, 2000000), &base);
	row("null kernel call from the extension, none", measure(kcall_loop, dn, 2000000), &base);
	row("null kernel call from the extension, mprotect", measure(kcall_loop, dm, 2000000), &base);
	struct nooks_domain *dpr = proc_ok ? nooks_domain_create("process", NOOKS_BACKEND_PROCESS) : NULL;
	if (dpr) {
		row("null extension call, process (a round trip to another process)",
		    measure(xpc_loop_frame, dpr, 200000), &base);
		row("null kernel call from the extension, process",
		    measure(kcall_loop_frame, dpr, 200000), &base);
		nooks_domain_destroy(dpr);
	}

	/* ---- where a crossing's time goes ---- */
	struct result rnone = measure(xpc_loop, dn, 2000000);
	struct result rmpx = measure(xpc_loop, dm, 2000000);
	attribution_rest = rmpx.ns - rnone.ns;

	/* ---- generated wrappers: an isolated ext_tk.so ---- */
	snprintf(path, sizeof(path), "%s/ext_tk.so", dir);
	snprintf(wrap, sizeof(wrap), "%s/wrap/libtk.so.1", dir);
	for (int b = 0; b < 2; b++) {
		enum nooks_backend be = b ? NOOKS_BACKEND_MPROTECT : NOOKS_BACKEND_NONE;
		struct nooks_domain *d = nooks_domain_create("tk", be);
		struct nooks_ext *e = nooks_ext_load(d, path, wrap, bind, 1, err, sizeof(err));
		if (!e) {
			fprintf(stderr, "bench: %s\n", err);
			return 1;
		}
		tk_reset();
		run_entry(d, e, "ext_init");
		kdev = tk_first_dev();
		char what[128];
		snprintf(what, sizeof(what), "kernel -> registered entry (wrapper, shadow sync), %s",
			 nooks_backend_name(be));
		row(what, measure(open_loop, NULL, be ? 50000 : 1000000), &base);
		nooks_ext_unload(e);
		nooks_domain_destroy(d);
		tk_reset();
	}

	/* ---- buffers: tk_read of 64 B, 4 KiB, 64 KiB ---- */
	struct nooks_domain *dnat = nooks_domain_create("native", NOOKS_BACKEND_NONE);
	struct nooks_ext *enat = nooks_ext_load(dnat, path, NULL, NULL, 0, err, sizeof(err));
	struct nooks_domain *diso = nooks_domain_create("iso", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *eiso = nooks_ext_load(diso, path, wrap, bind, 1, err, sizeof(err));
	tk_reset();
	run_entry(dnat, enat, "ext_init");
	run_entry(diso, eiso, "ext_init");
	static const unsigned sizes[] = { 64, 4096, 65536 };
	printf("\n| extension reads a buffer through the kernel (tk_read) | native ns | "
	       "isolated ns (mprotect, kernel wrapper) | isolated spread (ns) | isolated / native |\n");
	printf("|---|---:|---:|---|---:|\n");
	for (int i = 0; i < 3; i++) {
		struct readf fn = { .len = sizes[i] }, fi = { .len = sizes[i] };
		*(void **)&fn.fn = nooks_ext_sym(enat, "ext_read_len");
		*(void **)&fi.fn = nooks_ext_sym(eiso, "ext_read_len");
		read_dom = dnat;
		struct result rn = measure(read_loop, &fn, sizes[i] > 4096 ? 20000 : 200000);
		read_dom = diso;
		struct result ri = measure(read_loop, &fi, sizes[i] > 4096 ? 20000 : 200000);
		printf("| %u B | %.1f | %.1f | %.1f..%.1f | %.2fx |\n", sizes[i], rn.ns, ri.ns,
		       ri.lo, ri.hi, ri.ns / rn.ns);
	}

	/* ---- recovery ---- */
	struct nooks_policy p = { .max_failures = 64, .window_ms = 0 };
	struct nooks_sup *s = nooks_sup_new(diso, eiso, "ext_init", &p);
	enum { N = 201 };
	double fault_ns[N], serve_ns[N];
	for (int i = 0; i < N; i++) {
		double t0 = now_ns();
		run_entry(diso, eiso, "ext_crash");
		double t1 = now_ns();
		nooks_sup_recover(s);
		run_entry(diso, eiso, "ext_nop");
		double t2 = now_ns();
		fault_ns[i] = t1 - t0;
		serve_ns[i] = t2 - t1;
	}
	qsort(fault_ns, N, sizeof(double), cmp);
	qsort(serve_ns, N, sizeof(double), cmp);
	printf("\n| recovery, isolated ext_tk.so, mprotect (%d faults) | median | worst |\n", N);
	printf("|---|---:|---:|\n");
	printf("| fault (SIGSEGV) to the call's error return | %.1f us | %.1f us |\n",
	       fault_ns[N / 2] / 1e3, fault_ns[N - 1] / 1e3);
	printf("| error return to serving again (release, reload, init) | %.1f us | %.1f us |\n",
	       serve_ns[N / 2] / 1e3, serve_ns[N - 1] / 1e3);
	(void)ext_nop;
	printf("\nWhere a mprotect crossing's time goes: the recovery point, the stack "
	       "switch and the thread's bookkeeping add %.0f ns over the none backend's "
	       "direct call; no protection changes on any crossing (the extension "
	       "sees the arena's read-only view, the kernel writes its own).\n",
	       attribution_rest > 0 ? attribution_rest : 0.0);
	nooks_sup_free(s);
	nooks_ext_unload(eiso);
	nooks_ext_unload(enat);
	nooks_domain_destroy(diso);
	nooks_domain_destroy(dnat);
	nooks_domain_destroy(dn);
	nooks_domain_destroy(dm);
	nooks_domain_destroy(dp);
	return 0;
}
