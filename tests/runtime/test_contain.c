/*
 * test_contain.c - what an isolated extension runs outside its entry
 * points (issue 11, classes 5 and 6), on the real loader and runtime:
 *
 *   exits       ext_exits.so: quick_exit, pthread_exit and thrd_exit in
 *               a crossing (an entry point, a kernel thread's threadfn)
 *               are faults of the domain; the kernel's thread goes on
 *               and the runtime's state is whole; natively pthread_exit
 *               still ends the kernel's thread
 *   ELF init    ext_elfinit.so: its constructor, destructor and exit
 *               handlers run inside crossings (a constructor's fault
 *               fails the load and leaves nothing; a destructor's or a
 *               handler's at unload is logged and the unload completes;
 *               a reload runs the old copy's destructors, then the new
 *               copy's constructors); natively, ld.so runs them as before
 *   threads     ext_threads.so: threads from pthread_create/thrd_create
 *               run in the domain: their faults are its faults, their
 *               kernel calls are checked and their objects tracked,
 *               recovery unwinds them (blocked in a kernel call, or
 *               looping), a limit refuses too many, join gives results,
 *               and threads nobody joins after recovery leave nothing
 *
 * The isolated extensions bind to a copy of tk's kernel table whose
 * tk_reverse_words is a probe: tk_reverse_words(NULL, -code) records the
 * code and the domain it came from (NULL: not in a crossing), or blocks
 * in the kernel (PROBE_BLOCK, PROBE_GATE) until the domain fails.
 *
 * Under AddressSanitizer only the private copy's ELF surgery runs (no
 * crossings; docs/runtime.md).
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "extlib.h"
#include "leaks.h"
#include "nooks_internal.h"
#include "nooks_runtime.h"
#include "tk_nooks.h"

static char exits_path[512], elfinit_path[512], threads_path[512];
static const char *wrapper_path;

/* ext_elfinit.c's flags and events */
#define CTL_CTOR_FAULT 0x1000u
#define CTL_DTOR_FAULT 0x2000u
#define CTL_ATEXIT 0x4000u
#define CTL_ATEXIT_FAULT 0x8000u
#define CTL_DOUBLE 0x10000u
#define CTL_ON_EXIT 0x20000u
#define EV_CTOR 1
#define EV_DTOR 2
#define EV_ATEXIT 3
#define EV_ON_EXIT 4
/* ext_threads.c's */
#define EV_STARTED 10
#define EV_LOOPING 11
#define EV_CLEANUP 12
#define PROBE_BLOCK 100
#define PROBE_GATE 101

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- the log ------------------------------------------------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[16384];

static void capture(const char *line)
{
	pthread_mutex_lock(&log_lock);
	size_t n = strlen(logbuf);
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
	pthread_mutex_unlock(&log_lock);
}

static int logged(const char *what)
{
	pthread_mutex_lock(&log_lock);
	int r = strstr(logbuf, what) != NULL;
	pthread_mutex_unlock(&log_lock);
	return r;
}

static void log_start(void)
{
	logbuf[0] = '\0';
	nooks_set_log(capture);
}

/* ---- the test's kernel: tk's wrappers and a probe -------------------------------- */

struct event {
	int code;
	struct nooks_domain *d;		/* NULL: called from outside any crossing */
	char domain[64];
};

#define MAX_EVENTS 512
static struct event events[MAX_EVENTS];
static atomic_int nevents;
static atomic_int gate;			/* PROBE_GATE waits until it is set */
static atomic_int blocked;		/* threads in PROBE_BLOCK or PROBE_GATE */
static int quiet_pipe[2] = { -1, -1 };	/* never written: what they poll */

static struct nooks_kw_table_tk probe_table;
static const struct nooks_stub_binding bind[] = {
	{ "nooks_stubs_tk", &probe_table },
};

struct probe_frame {
	int code;
	struct nooks_domain *d;
	int rc;
};

/* Kernel code: a wait that only the domain's failure (or the gate, or
 * 10 s) ends, as a kernel's blocking call would. */
static void probe_kernel(void *p)
{
	struct probe_frame *f = p;

	if (f->code != PROBE_BLOCK && f->code != PROBE_GATE) {
		int i = atomic_fetch_add(&nevents, 1);
		if (i < MAX_EVENTS) {
			events[i].d = f->d;
			snprintf(events[i].domain, sizeof(events[i].domain), "%s",
				 f->d ? nooks_domain_name(f->d) : "");
			events[i].code = f->code;
		}
		return;
	}
	long long end = now_ms() + 10000;
	atomic_fetch_add(&blocked, 1);
	f->rc = -ETIMEDOUT;
	while (now_ms() < end) {
		if (nooks_interrupted()) {
			f->rc = -EINTR;
			break;
		}
		if (f->code == PROBE_GATE && atomic_load(&gate)) {
			f->rc = 0;
			break;
		}
		struct pollfd pfd = { .fd = quiet_pipe[0], .events = POLLIN };
		if (poll(&pfd, 1, 10) < 0 && errno == EINTR) {
			f->rc = -EINTR;
			break;
		}
	}
	atomic_fetch_sub(&blocked, 1);
}

/* tk_reverse_words(NULL, -code) from the extensions, in their mode. */
static int probe(int *words, int n)
{
	struct probe_frame f = { .code = -n, .d = nooks_self() };
	(void)words;
	nooks_xpc_kernel(f.d, probe_kernel, &f);
	return f.rc;
}

static void events_reset(void)
{
	atomic_store(&nevents, 0);
	memset(events, 0, sizeof(events));
}

/* The index of the first event code at or after from, -1 if none. */
static int event_at(int code, int from)
{
	int n = atomic_load(&nevents);
	for (int i = from; i < n && i < MAX_EVENTS; i++)
		if (events[i].code == code)
			return i;
	return -1;
}

static int wait_for(int (*cond)(void *), void *arg, long ms)
{
	long long end = now_ms() + ms;
	while (!cond(arg)) {
		if (now_ms() > end)
			return 0;
		sleep_ms(1);
	}
	return 1;
}

static int n_blocked(void *n)
{
	return atomic_load(&blocked) >= *(int *)n;
}

static int has_event(void *code)
{
	return event_at(*(int *)code, 0) >= 0;
}

static int is_down(void *d)
{
	return nooks_domain_state(d) == NOOKS_DOWN;
}

static int no_live_threads(void *e)
{
	struct nooks_ext_thread_stats st;
	return nooks_ext_thread_stats(e, &st) == 0 && st.live == 0;
}

static void *nap(void *ms)
{
	sleep_ms((long)(intptr_t)ms);
	return NULL;
}

static int count_tasks(void)
{
	int n = 0;
	DIR *dir = opendir("/proc/self/task");
	if (!dir)
		return -1;
	for (struct dirent *de; (de = readdir(dir));)
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* ---- calling entries ------------------------------------------------------------ */

struct frame {
	long (*fn)(long);
	long arg, ret;
};

static void thunk(void *p)
{
	struct frame *f = p;
	f->ret = f->fn(f->arg);
}

/* Calls entry name(arg) of e inside d, as the kernel calls an extension:
 * the crossing's result (0, or -1 for a fault); its value in *ret. */
static int call(struct nooks_domain *d, struct nooks_ext *e, const char *name, long arg,
		long *ret)
{
	struct frame f = { .arg = arg, .ret = -12345 };
	*(void **)&f.fn = nooks_ext_sym(e, name);
	if (!f.fn) {
		fprintf(stderr, "\n    no entry %s", name);
		return -2;
	}
	int rc = nooks_xpc_ext(d, thunk, &f, 0);
	if (ret)
		*ret = f.ret;
	return rc;
}

static struct nooks_ext *load(struct nooks_domain *d, const char *path, int isolated)
{
	char err[256];
	struct nooks_ext *e = nooks_ext_load(d, path, isolated ? wrapper_path : NULL,
					     isolated ? bind : NULL, isolated ? 1 : 0,
					     err, sizeof(err));
	if (!e)
		fprintf(stderr, "\n    %s", err);
	return e;
}

static void check_fault(struct nooks_domain *d, enum nooks_fault cause, int sig)
{
	struct nooks_domain_stats st;
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.last_fault, cause);
	CU_ASSERT_EQUAL(st.last_signal, sig);
}

/* ---- the private copy (also under the sanitizers) -------------------------------- */

struct dyn_seen {
	int init_tags, aside;
	uintptr_t init, fini, init_array, fini_array, init_sz, fini_sz;
};

/* The dynamic section of the ELF image in buf. */
static int read_dynamic(const unsigned char *buf, size_t size, struct dyn_seen *s)
{
	const ElfW(Ehdr) *eh = (const void *)buf;
	memset(s, 0, sizeof(*s));
	if (size < sizeof(*eh) || eh->e_phoff + (size_t)eh->e_phnum * sizeof(ElfW(Phdr)) > size)
		return -1;
	const ElfW(Phdr) *ph = (const void *)(buf + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_DYNAMIC)
			continue;
		const ElfW(Dyn) *dyn = (const void *)(buf + ph[i].p_offset);
		for (size_t j = 0; j < ph[i].p_filesz / sizeof(*dyn) && dyn[j].d_tag; j++) {
			switch (dyn[j].d_tag) {
			case DT_INIT: s->init = dyn[j].d_un.d_ptr; s->init_tags++; break;
			case DT_FINI: s->fini = dyn[j].d_un.d_ptr; s->init_tags++; break;
			case DT_INIT_ARRAY: s->init_array = dyn[j].d_un.d_ptr; s->init_tags++; break;
			case DT_FINI_ARRAY: s->fini_array = dyn[j].d_un.d_ptr; s->init_tags++; break;
			case DT_INIT_ARRAYSZ: s->init_sz = dyn[j].d_un.d_val; s->init_tags++; break;
			case DT_FINI_ARRAYSZ: s->fini_sz = dyn[j].d_un.d_val; s->init_tags++; break;
			case NK_DT_SET_ASIDE: s->aside++; break;
			}
		}
		return 0;
	}
	return -1;
}

static unsigned char *slurp(int fd, size_t *size)
{
	struct stat st;
	if (fstat(fd, &st) || st.st_size <= 0)
		return NULL;
	unsigned char *buf = malloc((size_t)st.st_size);
	if (buf && pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		return NULL;
	}
	*size = (size_t)st.st_size;
	return buf;
}

static void test_private_copy(void)
{
	char fdpath[64], err[256];
	struct nk_elf_init ei;
	size_t n0 = 0, n1 = 0;
	struct dyn_seen orig, copy;

	int ofd = open(elfinit_path, O_RDONLY);
	CU_ASSERT_FATAL(ofd >= 0);
	unsigned char *a = slurp(ofd, &n0);
	close(ofd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	int fd = nk_private_copy(elfinit_path, &ei, fdpath, sizeof(fdpath), err, sizeof(err));
	if (fd < 0)
		fprintf(stderr, "\n    %s", err);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fdpath, "/fd/"));
	unsigned char *b = slurp(fd, &n1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(n0, n1);
	CU_ASSERT_EQUAL(read_dynamic(a, n0, &orig), 0);
	CU_ASSERT_EQUAL(read_dynamic(b, n1, &copy), 0);
	/* the object has all six; the copy none, set aside instead */
	CU_ASSERT_EQUAL(orig.init_tags, 6);
	CU_ASSERT_EQUAL(orig.aside, 0);
	CU_ASSERT_EQUAL(copy.init_tags, 0);
	CU_ASSERT_EQUAL(copy.aside, 6);
	CU_ASSERT_EQUAL(ei.init, orig.init);
	CU_ASSERT_EQUAL(ei.fini, orig.fini);
	CU_ASSERT_EQUAL(ei.init_array, orig.init_array);
	CU_ASSERT_EQUAL(ei.fini_array, orig.fini_array);
	CU_ASSERT_EQUAL(ei.init_n, orig.init_sz / sizeof(ElfW(Addr)));
	CU_ASSERT_EQUAL(ei.fini_n, orig.fini_sz / sizeof(ElfW(Addr)));
	CU_ASSERT_TRUE(ei.init_n >= 2 && ei.fini_n >= 2);	/* crtstuff's and its own */
	/* nothing else changed */
	size_t diff = 0;
	for (size_t i = 0; i < n0 && n0 == n1; i++)
		diff += a[i] != b[i];
	CU_ASSERT_TRUE(diff > 0 && diff <= 6 * sizeof(ElfW(Sxword)));
	close(fd);

	/* program headers that do not fit: a clear error, nothing read past */
	char bad[] = "/tmp/nooks-contain-XXXXXX";
	int bfd = mkstemp(bad);
	CU_ASSERT_FATAL(bfd >= 0);
	((ElfW(Ehdr) *)a)->e_phnum = 0xffff;
	CU_ASSERT_EQUAL((size_t)write(bfd, a, n0), n0);
	close(bfd);
	CU_ASSERT_EQUAL(nk_private_copy(bad, &ei, fdpath, sizeof(fdpath), err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "program headers"));
	/* a dynamic section past the end */
	((ElfW(Ehdr) *)a)->e_phnum = ((const ElfW(Ehdr) *)b)->e_phnum;
	ElfW(Phdr) *ph = (ElfW(Phdr) *)(a + ((ElfW(Ehdr) *)a)->e_phoff);
	for (int i = 0; i < ((ElfW(Ehdr) *)a)->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			ph[i].p_filesz = n0;
	bfd = open(bad, O_WRONLY | O_TRUNC);
	CU_ASSERT_EQUAL((size_t)write(bfd, a, n0), n0);
	close(bfd);
	CU_ASSERT_EQUAL(nk_private_copy(bad, &ei, fdpath, sizeof(fdpath), err, sizeof(err)), -1);
	unlink(bad);
	CU_ASSERT_EQUAL(nk_private_copy("/nonexistent/x.so", &ei, fdpath, sizeof(fdpath), err,
					sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
	free(a);
	free(b);
}

/* ---- class 5: exits ------------------------------------------------------------- */

static void test_quick_exit(void)
{
	struct nooks_domain *d = nooks_domain_create("exits", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = load(d, exits_path, 1);
	long r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	log_start();
	CU_ASSERT_EQUAL(call(d, e, "ext_quick_exit", 7, &r), -1);	/* we live */
	check_fault(d, NOOKS_FAULT_EXIT, 7);
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_alive", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 42);
	/* an entry point's thread is the kernel's: ending it is a fault */
	CU_ASSERT_EQUAL(call(d, e, "ext_pthread_exit", 5, &r), -1);
	check_fault(d, NOOKS_FAULT_EXIT, 0);
	CU_ASSERT_TRUE(logged("nooks: exits: pthread_exit() called in a thread it did not start"));
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_thrd_exit", 5, &r), -1);
	check_fault(d, NOOKS_FAULT_EXIT, 0);
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	/* at_quick_exit handlers would run as kernel code: refused */
	CU_ASSERT_EQUAL(call(d, e, "ext_at_quick_exit", 0, &r), 0);
	CU_ASSERT_NOT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_alive", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 42);
	nooks_set_log(NULL);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

struct kthread {
	struct nooks_domain *d;
	struct nooks_ext *e;
	const char *entry;
	int rc;
	int after;		/* the kernel's code after the call ran */
};

/* A kernel thread whose threadfn is the extension's entry. */
static void *kthread_fn(void *p)
{
	struct kthread *k = p;
	long r;
	k->rc = call(k->d, k->e, k->entry, 5, &r);
	k->after = 1;
	return (void *)77;
}

static void test_pthread_exit_kernel_thread(void)
{
	struct nooks_domain *d = nooks_domain_create("kexit", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = load(d, exits_path, 1);
	long r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	log_start();
	int fds = -1, maps = -1;
	for (int i = 0; i < 21; i++) {
		struct kthread k = { d, e, i % 2 ? "ext_thrd_exit" : "ext_pthread_exit", 0, 0 };
		pthread_t t;
		void *res = NULL;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, kthread_fn, &k), 0);
		pthread_join(t, &res);
		/* the kernel's thread went on past the call, which faulted */
		CU_ASSERT_EQUAL(res, (void *)77);
		CU_ASSERT_EQUAL(k.after, 1);
		CU_ASSERT_EQUAL(k.rc, -1);
		check_fault(d, NOOKS_FAULT_EXIT, 0);
		CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
		if (i == 0) {		/* the first maps what stays mapped */
			fds = count_open_fds();
			maps = count_mappings();
		}
	}
	CU_ASSERT_EQUAL(count_open_fds(), fds);
	CU_ASSERT_EQUAL(count_mappings(), maps);
	/* the runtime's state is whole: the kernel writes the arena, and
	 * crossings go in and out */
	unsigned char *obj = nooks_arena_alloc(64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
	memset(obj, 0xab, 64);
	CU_ASSERT_EQUAL(obj[63], 0xab);
	nooks_arena_free(obj);
	CU_ASSERT_EQUAL(call(d, e, "ext_alive", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 42);
	nooks_set_log(NULL);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);

	/* natively, pthread_exit still ends the kernel's thread in the call */
	d = nooks_domain_create("kexit-native", NOOKS_BACKEND_NONE);
	e = load(d, exits_path, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	struct kthread k = { d, e, "ext_pthread_exit", 0, 0 };
	pthread_t t;
	void *res = NULL;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, kthread_fn, &k), 0);
	pthread_join(t, &res);
	CU_ASSERT_EQUAL(res, (void *)5);
	CU_ASSERT_EQUAL(k.after, 0);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

/* ---- class 5: constructors, destructors, exit handlers ------------------------------ */

static void test_ctor_fault(void)
{
	char err[256];
	struct nooks_domain *d = nooks_domain_create("ctor", NOOKS_BACKEND_MPROTECT);
	struct nooks_domain_stats st;
	long r;

	tk_reset();
	events_reset();
	log_start();
	/* one failed load first: what it maps for good (the namespace's
	 * libc, stacks) is mapped once */
	tk_new_dev_flags = CTL_CTOR_FAULT;
	CU_ASSERT_PTR_NULL(nooks_ext_load(d, elfinit_path, wrapper_path, bind, 1, err, sizeof(err)));
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_UP);
	int fds = count_open_fds(), entries = nk_tracker_entries();
	tk_reset();
	tk_new_dev_flags = CTL_CTOR_FAULT;
	CU_ASSERT_PTR_NULL(nooks_ext_load(d, elfinit_path, wrapper_path, bind, 1, err, sizeof(err)));
	/* a clear error, with the faulting constructor */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "constructor"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "faulted: Segmentation fault at 0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "in ext_ctor+"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, elfinit_path));
	CU_ASSERT_TRUE(logged("nooks: ctor: its constructor faulted"));
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.faults, 2);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_SIGNAL);
	CU_ASSERT_EQUAL(st.last_signal, SIGSEGV);
	/* it ran in its domain; what it held is released */
	CU_ASSERT_TRUE(event_at(EV_CTOR, 0) >= 0);
	CU_ASSERT_TRUE(events[0].d == d);
	CU_ASSERT_EQUAL(tk_calls_dev_alloc, 2);
	CU_ASSERT_EQUAL(tk_live_devs, 0);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	CU_ASSERT_EQUAL(count_open_fds(), fds);
	CU_ASSERT_EQUAL(nk_tracker_entries(), entries);
	/* and the next load works, in the same domain */
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_UP);
	tk_new_dev_flags = 0;
	struct nooks_ext *e = load(d, elfinit_path, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(call(d, e, "ext_constructed", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 1);
	nooks_set_log(NULL);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
	CU_ASSERT_EQUAL(tk_live_devs, 0);
}

static void test_unload_faults(void)
{
	struct nooks_domain *d = nooks_domain_create("dtor", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext_thread_stats ts;
	struct nooks_ext *e;

	tk_reset();
	events_reset();
	log_start();
	/* a destructor that faults at unload: logged, the unload completes */
	tk_new_dev_flags = CTL_DTOR_FAULT;
	CU_ASSERT_PTR_NOT_NULL_FATAL(e = load(d, elfinit_path, 1));
	nooks_ext_unload(e);
	CU_ASSERT_TRUE(logged("nooks: dtor: a destructor at unload faulted: "
			      "Segmentation fault at 0 in ext_dtor+"));
	CU_ASSERT_TRUE(logged("unloading all the same"));
	int i = event_at(EV_DTOR, 0);
	CU_ASSERT_TRUE_FATAL(i >= 0);
	CU_ASSERT_PTR_NOT_NULL(events[i].d);		/* in a crossing */
	CU_ASSERT_STRING_EQUAL(events[i].domain, "dtor/fini");

	/* an atexit handler that faults at unload, even with the domain
	 * destroyed first (as a kernel may do) */
	logbuf[0] = '\0';
	events_reset();
	tk_new_dev_flags = CTL_ATEXIT | CTL_ATEXIT_FAULT;
	CU_ASSERT_PTR_NOT_NULL_FATAL(e = load(d, elfinit_path, 1));
	CU_ASSERT_EQUAL(nooks_ext_thread_stats(e, &ts), 0);
	CU_ASSERT_EQUAL(ts.handlers, 1);		/* kept by the runtime */
	nooks_domain_reset_wait(d, NULL);
	nooks_domain_destroy(d);
	nooks_ext_unload(e);
	CU_ASSERT_TRUE(logged("nooks: dtor: an exit handler at unload faulted: "
			      "Segmentation fault at 0 in ext_handler+"));
	CU_ASSERT_TRUE(event_at(EV_DTOR, 0) >= 0);
	i = event_at(EV_ATEXIT, 0);
	CU_ASSERT_TRUE(i > event_at(EV_DTOR, 0));	/* glibc's order */
	CU_ASSERT_TRUE(i >= 0 && events[i].d);
	nooks_set_log(NULL);
	tk_new_dev_flags = 0;
	CU_ASSERT_EQUAL(tk_live_devs, 0);
	CU_ASSERT_EQUAL(tk_bugs, 0);
}

static void test_reload_order(void)
{
	char err[256];
	struct nooks_domain *d = nooks_domain_create("elfinit", NOOKS_BACKEND_MPROTECT);
	struct nooks_domain_stats st;
	struct nooks_ext_thread_stats ts;
	long r;

	tk_reset();
	events_reset();
	tk_new_dev_flags = CTL_ATEXIT | CTL_ON_EXIT | CTL_DOUBLE;
	struct nooks_ext *e = load(d, elfinit_path, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	/* its constructor ran in its domain: its double release refused */
	CU_ASSERT_EQUAL(atomic_load(&nevents), 1);
	CU_ASSERT_EQUAL(events[0].code, EV_CTOR);
	CU_ASSERT_TRUE(events[0].d == d);
	CU_ASSERT_EQUAL(tk_calls_dev_put, 1);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.refused, 1);
	CU_ASSERT_EQUAL(nooks_ext_thread_stats(e, &ts), 0);
	CU_ASSERT_EQUAL(ts.handlers, 2);

	/* a fault, recovery, a reload: the old copy's destructor and exit
	 * handlers, in a crossing; then the new copy's constructor, in its
	 * domain */
	CU_ASSERT_EQUAL(call(d, e, "ext_crash", 0, &r), -1);
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	events_reset();
	CU_ASSERT_EQUAL_FATAL(nooks_ext_reload(e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(atomic_load(&nevents), 4);
	static const int order[] = { EV_DTOR, EV_ATEXIT, EV_ON_EXIT, EV_CTOR };
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(events[i].code, order[i]);
		CU_ASSERT_PTR_NOT_NULL(events[i].d);
		CU_ASSERT_STRING_EQUAL(events[i].domain, i < 3 ? "elfinit/fini" : "elfinit");
	}
	CU_ASSERT_EQUAL(call(d, e, "ext_constructed", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 1);			/* a fresh copy */
	CU_ASSERT_EQUAL(tk_bugs, 0);
	CU_ASSERT_EQUAL(tk_live_devs, 0);
	events_reset();
	nooks_ext_unload(e);
	CU_ASSERT_EQUAL(atomic_load(&nevents), 3);
	nooks_domain_destroy(d);

	/* natively, and isolated on the none backend, ld.so runs them as
	 * before: the constructor's double release reaches the kernel */
	for (int iso = 0; iso < 2; iso++) {
		tk_reset();
		events_reset();
		tk_new_dev_flags = CTL_ATEXIT | CTL_DOUBLE;
		d = nooks_domain_create("elfinit-native", NOOKS_BACKEND_NONE);
		e = load(d, elfinit_path, iso);
		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		CU_ASSERT_EQUAL(tk_bugs, 1);
		CU_ASSERT_EQUAL(call(d, e, "ext_constructed", 0, &r), 0);
		CU_ASSERT_EQUAL(r, 1);
		CU_ASSERT_EQUAL(nooks_ext_thread_stats(e, &ts), -ENOENT);
		nooks_ext_unload(e);
		nooks_domain_destroy(d);
		if (iso) {	/* none isolated: the probe saw kernel code */
			CU_ASSERT_EQUAL(atomic_load(&nevents), 3);
			for (int i = 0; i < 3; i++)
				CU_ASSERT_PTR_NULL(events[i].d);
		} else {	/* native: libtk's own tk_reverse_words */
			CU_ASSERT_EQUAL(tk_calls_reverse_words, 3);
		}
	}
	tk_new_dev_flags = 0;
}

/* ---- class 6: threads it starts ------------------------------------------------------ */

static atomic_int fault_calls;

static void count_fault(struct nooks_domain *d, void *arg)
{
	(void)d;
	(void)arg;
	atomic_fetch_add(&fault_calls, 1);
}

static void test_thread_fault(void)
{
	struct nooks_domain *d = nooks_domain_create("tfault", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = load(d, threads_path, 1);
	int started = EV_STARTED;
	long r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	nooks_domain_on_fault(d, count_fault, NULL);
	atomic_store(&fault_calls, 0);
	for (int round = 0; round < 5; round++) {
		events_reset();
		atomic_store(&gate, 0);
		CU_ASSERT_EQUAL(call(d, e, "ext_spawn_crash", 0, &r), 0);
		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT_TRUE_FATAL(wait_for(has_event, &started, 5000));
		CU_ASSERT_TRUE(events[0].d == d);	/* its thread is in its domain */
		atomic_store(&gate, 1);			/* now it dereferences NULL */
		CU_ASSERT_TRUE_FATAL(wait_for(is_down, d, 5000));
		check_fault(d, NOOKS_FAULT_SIGNAL, SIGSEGV);
		nooks_domain_reset_wait(d, NULL);
		CU_ASSERT_TRUE(wait_for(no_live_threads, e, 5000));
		CU_ASSERT_EQUAL(call(d, e, "ext_join_results", 0, &r), 0);
		CU_ASSERT_EQUAL(r, 0);
	}
	CU_ASSERT_EQUAL(atomic_load(&fault_calls), 5);		/* once per fault */
	atomic_store(&gate, 0);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

static void test_thread_checked_tracked(void)
{
	struct nooks_domain *d = nooks_domain_create("tcheck", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = load(d, threads_path, 1);
	struct nooks_release_stats rs;
	struct nooks_domain_stats st;
	long r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	tk_reset();
	/* the kHTTPd bug in a thread it started: refused by the wrapper */
	CU_ASSERT_EQUAL(call(d, e, "ext_thread_double_release", 0, &r), 0);
	CU_ASSERT_EQUAL(r, -EINVAL);
	CU_ASSERT_EQUAL(tk_calls_dev_put, 1);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	nooks_domain_stats(d, &st);
	CU_ASSERT_EQUAL(st.refused, 1);
	/* what its (C11) thread allocated is the domain's, released at reset */
	CU_ASSERT_EQUAL(call(d, e, "ext_thread_keeps", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(tk_live_devs, 4);
	CU_ASSERT_EQUAL(nk_tracker_owned(d), 4);
	CU_ASSERT_EQUAL(nooks_domain_reset(d, &rs), 0);
	CU_ASSERT_EQUAL(rs.released, 4);
	CU_ASSERT_EQUAL(tk_live_devs, 0);
	/* joins: results, pthread_exit with its cleanup handler, C11, a
	 * cancellation, errors; a kernel thread is not its to join */
	events_reset();
	CU_ASSERT_EQUAL(call(d, e, "ext_join_results", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_TRUE(event_at(EV_CLEANUP, 0) >= 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_join_foreign", (long)pthread_self(), &r), 0);
	CU_ASSERT_EQUAL(r, EDEADLK);
	pthread_t kt;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&kt, NULL, nap, (void *)50L), 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_join_foreign", (long)kt, &r), 0);
	CU_ASSERT_EQUAL(r, ESRCH);
	CU_ASSERT_EQUAL(pthread_join(kt, NULL), 0);	/* still the kernel's */
	/* it has thread-local storage: a reload maps it anew instead of
	 * restoring its data (threads that outlive the copy would keep
	 * their old values) */
	char err[256];
	unsigned long restored = 9, reloaded = 9;
	CU_ASSERT_EQUAL(nooks_domain_reset(d, NULL), 0);
	CU_ASSERT_EQUAL(nooks_ext_reload(e, err, sizeof(err)), 0);
	nooks_ext_reload_stats(e, &restored, &reloaded);
	CU_ASSERT_EQUAL(restored, 0);
	CU_ASSERT_EQUAL(reloaded, 1);
	CU_ASSERT_EQUAL(call(d, e, "ext_tls_calls", 0, &r), 0);
	CU_ASSERT_EQUAL(r, 1);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
	CU_ASSERT_EQUAL(tk_live_devs, 0);

	/* natively its thread is a plain thread: the bug reaches the kernel */
	tk_reset();
	d = nooks_domain_create("tcheck-native", NOOKS_BACKEND_NONE);
	e = load(d, threads_path, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(call(d, e, "ext_thread_double_release", 0, &r), 0);
	CU_ASSERT_EQUAL(r, -EBADF);
	CU_ASSERT_EQUAL(tk_bugs, 1);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

static void test_thread_unwound(void)
{
	char err[256];
	struct nooks_domain *d = nooks_domain_create("tunwind", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = load(d, threads_path, 1);
	int two = 2, looping = EV_LOOPING;
	long r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	/* two threads blocked in a kernel call and one looping in its code,
	 * when an entry faults the domain: recovery unwinds all three */
	for (int round = 0; round < 5; round++) {
		events_reset();
		CU_ASSERT_EQUAL(call(d, e, "ext_spawn", 2, &r), 0);
		CU_ASSERT_EQUAL(r, 2);
		CU_ASSERT_EQUAL(call(d, e, "ext_spawn_loopers", 1, &r), 0);
		CU_ASSERT_EQUAL(r, 1);
		CU_ASSERT_TRUE_FATAL(wait_for(n_blocked, &two, 5000));
		CU_ASSERT_TRUE_FATAL(wait_for(has_event, &looping, 5000));
		long long t0 = now_ms();
		CU_ASSERT_EQUAL(call(d, e, "ext_crash", 0, &r), -1);
		nooks_domain_reset_wait(d, NULL);
		CU_ASSERT_TRUE(now_ms() - t0 < 2000);
		CU_ASSERT_TRUE(wait_for(no_live_threads, e, 5000));
		CU_ASSERT_EQUAL(atomic_load(&blocked), 0);
		CU_ASSERT_EQUAL_FATAL(nooks_ext_reload(e, err, sizeof(err)), 0);
	}
	/* the crossing's deadline holds for its threads too */
	nooks_set_default_timeout(100);
	CU_ASSERT_EQUAL(call(d, e, "ext_spawn_loopers", 1, &r), 0);
	CU_ASSERT_EQUAL(r, 1);
	int ok = wait_for(is_down, d, 5000);
	nooks_set_default_timeout(0);
	CU_ASSERT_TRUE_FATAL(ok);
	check_fault(d, NOOKS_FAULT_TIMEOUT, 0);
	nooks_domain_reset_wait(d, NULL);
	CU_ASSERT_TRUE(wait_for(no_live_threads, e, 5000));
	/* an unload while threads of its own still run ends them */
	log_start();
	CU_ASSERT_EQUAL(call(d, e, "ext_spawn", 2, &r), 0);
	CU_ASSERT_TRUE(wait_for(n_blocked, &two, 5000));
	nooks_ext_unload(e);
	CU_ASSERT_TRUE(logged("nooks: tunwind: 2 of its own threads still running: ending them"));
	CU_ASSERT_EQUAL(atomic_load(&blocked), 0);
	nooks_set_log(NULL);
	nooks_domain_destroy(d);
}

static int no_unjoined_threads(void *e)
{
	struct nooks_ext_thread_stats st;
	return nooks_ext_thread_stats(e, &st) == 0 && st.live == 0 && st.unjoined == 0;
}

/* A fault, recovery, a reload (which lets go of the dead copy's threads). */
static void crash_and_reload(struct nooks_domain *d, struct nooks_ext *e)
{
	char err[256];
	long r;
	CU_ASSERT_EQUAL(call(d, e, "ext_crash", 0, &r), -1);
	nooks_domain_reset_wait(d, NULL);
	CU_ASSERT_EQUAL_FATAL(nooks_ext_reload(e, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(wait_for(no_unjoined_threads, e, 5000));
}

static void test_thread_limit(void)
{
	struct nooks_domain *d = nooks_domain_create("tlimit", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = load(d, threads_path, 1);
	struct nooks_ext_thread_stats st;
	int n = 64;
	long r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	log_start();
	/* the default: 64 at once */
	CU_ASSERT_EQUAL(call(d, e, "ext_spawn", 70, &r), 0);
	CU_ASSERT_EQUAL(r, 64 + 6 * 1000);
	CU_ASSERT_EQUAL(nooks_ext_thread_stats(e, &st), 0);
	CU_ASSERT_EQUAL(st.live, 64);
	CU_ASSERT_EQUAL(st.refused, 6);
	CU_ASSERT_TRUE(logged("nooks: tlimit: refused a thread of its own: it has 64, its limit is 64"));
	CU_ASSERT_TRUE(wait_for(n_blocked, &n, 5000));
	crash_and_reload(d, e);
	/* its own limit */
	CU_ASSERT_EQUAL(nooks_ext_set_thread_limit(e, 2), 0);
	CU_ASSERT_EQUAL(call(d, e, "ext_spawn", 3, &r), 0);
	CU_ASSERT_EQUAL(r, 2 + 1000);
	n = 2;
	CU_ASSERT_TRUE(wait_for(n_blocked, &n, 5000));
	crash_and_reload(d, e);
	/* an ended thread nobody joined still counts; joining makes room */
	CU_ASSERT_EQUAL(call(d, e, "ext_spawn_returning", 2, &r), 0);
	CU_ASSERT_EQUAL(r, 2);
	CU_ASSERT_TRUE(wait_for(no_live_threads, e, 5000));
	CU_ASSERT_EQUAL(nooks_ext_thread_stats(e, &st), 0);
	CU_ASSERT_EQUAL(st.unjoined, 2);
	CU_ASSERT_EQUAL(call(d, e, "ext_spawn", 1, &r), 0);
	CU_ASSERT_EQUAL(r, 1000);
	CU_ASSERT_EQUAL(call(d, e, "ext_join_kept", 2, &r), 0);
	CU_ASSERT_EQUAL(r, 2);
	CU_ASSERT_EQUAL(call(d, e, "ext_spawn_returning", 2, &r), 0);
	CU_ASSERT_EQUAL(r, 2);
	CU_ASSERT_EQUAL(call(d, e, "ext_join_kept", 2, &r), 0);
	CU_ASSERT_EQUAL(r, 2);
	CU_ASSERT_EQUAL(nooks_ext_set_thread_limit(e, -1), 0);
	nooks_set_log(NULL);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

/* Joinable threads nobody will join after recovery (their creator's
 * copy died) must not keep their stacks: a hundred of them, gone. */
static void test_unjoined_threads(void)
{
	char err[256];
	struct nooks_domain *d = nooks_domain_create("tunjoined", NOOKS_BACKEND_MPROTECT);
	struct nooks_ext *e = load(d, threads_path, 1);
	struct nooks_ext_thread_stats st;
	int four = 4, maps = 0, fds = 0, tasks = 0;
	long r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	for (int cycle = 0; cycle <= 25; cycle++) {
		if (call(d, e, "ext_spawn", 4, &r) || r != 4 || !wait_for(n_blocked, &four, 5000) ||
		    call(d, e, "ext_crash", 0, &r) != -1) {
			CU_FAIL("a cycle failed");
			break;
		}
		nooks_domain_reset_wait(d, NULL);
		if (nooks_ext_reload(e, err, sizeof(err))) {
			CU_FAIL(err);
			break;
		}
		CU_ASSERT_TRUE(wait_for(no_live_threads, e, 5000));
		if (cycle == 0) {	/* the first maps what stays mapped */
			sleep_ms(50);
			maps = count_mappings();
			fds = count_open_fds();
			tasks = count_tasks();
		}
	}
	long long end = now_ms() + 2000;
	while (count_tasks() > tasks && now_ms() < end)
		sleep_ms(5);
	CU_ASSERT_EQUAL(count_tasks(), tasks);
	CU_ASSERT_EQUAL(count_mappings(), maps);
	CU_ASSERT_EQUAL(count_open_fds(), fds);
	CU_ASSERT_EQUAL(nooks_ext_thread_stats(e, &st), 0);
	CU_ASSERT_EQUAL(st.live, 0);
	CU_ASSERT_EQUAL(st.created, 26 * 4);
	nooks_ext_unload(e);
	nooks_domain_destroy(d);
}

void register_contain_tests(const char *dir, const char *wrapper, int crossings);

void register_contain_tests(const char *dir, const char *wrapper, int crossings)
{
	if (!dir)
		return;
	snprintf(exits_path, sizeof(exits_path), "%s/ext_exits.so", dir);
	snprintf(elfinit_path, sizeof(elfinit_path), "%s/ext_elfinit.so", dir);
	snprintf(threads_path, sizeof(threads_path), "%s/ext_threads.so", dir);
	wrapper_path = wrapper;
	probe_table = nooks_kw_table_tk;
	probe_table.tk_reverse_words = probe;
	if (quiet_pipe[0] < 0 && pipe(quiet_pipe))
		quiet_pipe[0] = quiet_pipe[1] = -1;

	CU_pSuite s = CU_add_suite("containment: exits, ELF init and fini, own threads", NULL, NULL);
	CU_add_test(s, "the private copy: init and fini set aside, nothing else", test_private_copy);
	if (!crossings || !wrapper)
		return;
	CU_add_test(s, "quick_exit, pthread_exit, thrd_exit in an entry: faults", test_quick_exit);
	CU_add_test(s, "pthread_exit in a kernel thread: a fault, the thread goes on",
		    test_pthread_exit_kernel_thread);
	CU_add_test(s, "a constructor that faults: the load fails, nothing left", test_ctor_fault);
	CU_add_test(s, "a destructor and an exit handler that fault at unload", test_unload_faults);
	CU_add_test(s, "reload: old destructors and handlers, then constructors, in crossings",
		    test_reload_order);
	CU_add_test(s, "a thread of its own that faults: a fault of the domain", test_thread_fault);
	CU_add_test(s, "its threads' kernel calls checked, objects tracked, joins",
		    test_thread_checked_tracked);
	CU_add_test(s, "recovery unwinds its threads: blocked, looping, past deadline",
		    test_thread_unwound);
	CU_add_test(s, "the thread limit refuses creation", test_thread_limit);
	CU_add_test(s, "threads nobody joins after recovery leave nothing", test_unjoined_threads);
}
