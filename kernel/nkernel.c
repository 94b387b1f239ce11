/*
 * nkernel - the user-space kernel: loads extensions (modules), natively or
 * isolated by libnooks, runs them until signalled, recovers the isolated
 * ones when they fail, and answers nkctl on a control socket.
 *
 * Threads: the main thread waits for SIGINT/SIGTERM; a control thread
 * serves the control socket; a recovery thread (MINIX's reincarnation
 * server, in effect) restarts a module whose domain a fault took down.
 * Modules start their own kernel threads.
 *
 * Usage: see usage() and docs/kernel.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "nooks_runtime.h"
#include "nk_kernel.h"
#include "nk/core.h"
#include "nk/module.h"
#include "core_nooks.h"
#include "fs_nooks.h"
#include "kthread_nooks.h"
#include "net_nooks.h"
#include "workqueue_nooks.h"
#include "nkernel.h"

#define VERSION "0.1"
#define MAX_MODULES 16
#define MAX_PARAMS 32

/* The kernel API's stub tables, for an isolated module's wrapper library. */
static const struct nooks_stub_binding stub_bindings[] = {
	{ "nooks_stubs_core", &nooks_kw_table_core },
	{ "nooks_stubs_fs", &nooks_kw_table_fs },
	{ "nooks_stubs_kthread", &nooks_kw_table_kthread },
	{ "nooks_stubs_net", &nooks_kw_table_net },
	{ "nooks_stubs_workqueue", &nooks_kw_table_workqueue },
};

enum mstate { M_LIVE, M_RECOVERING, M_FAILED };
static const char *const mstate_names[] = { "live", "recovering", "failed" };

struct module {
	char name[64];
	char path[PATH_MAX];
	enum nooks_backend backend;
	char *params[MAX_PARAMS];
	int nparams;
	struct nooks_domain *d;
	struct nooks_ext *e;
	struct nooks_sup *sup;
	enum mstate state;
	unsigned long faults;		/* faults that took it down */
	unsigned long recoveries;	/* finished recoveries (either way) */
	long long last_recovery_us;
	char last_fault[160];
};

static struct {
	const char *control;
	const char *wrapper;
	const char *log;
	unsigned timeout_ms;
	struct nooks_policy policy;
	enum nooks_backend isolation;
} opt = {
	.timeout_ms = 1000,
	.isolation = NOOKS_BACKEND_MPROTECT,
};

static struct module *modules[MAX_MODULES];
static int nmodules;
static pthread_mutex_t mod_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mod_cond = PTHREAD_COND_INITIALIZER;
static int recovery_pipe[2] = { -1, -1 };
static int control_fd = -1;
static unsigned long *canary;	/* a kernel object, for "inject wild" */

static void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void klog(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printk_line(LOGLEVEL_INFO, line);
}

static void runtime_log(const char *line)
{
	printk_line(LOGLEVEL_WARNING, line);
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* ---- crossings into a module's entry points ------------------------------ */

struct entry_frame {
	void *fn;
	int kind;
	unsigned long addr;
	int ret;
};

static void cleanup_thunk(void *p)
{
	struct entry_frame *f = p;
	void (*fn)(void);
	*(void **)&fn = f->fn;
	fn();
}

static void inject_thunk(void *p)
{
	struct entry_frame *f = p;
	int (*fn)(int, unsigned long);
	*(void **)&fn = f->fn;
	f->ret = fn(f->kind, f->addr);
}

/* ---- faults and recovery ------------------------------------------------- */

/* On the faulting thread: hand the module to the recovery thread. */
static void on_fault(struct nooks_domain *d, void *arg)
{
	struct module *m = arg;
	(void)d;
	if (write(recovery_pipe[1], &m, sizeof(m)) != (ssize_t)sizeof(m))
		printk_line(LOGLEVEL_EMERG, "nkernel: cannot queue a recovery");
}

static void describe_fault(struct module *m)
{
	struct nooks_domain_stats st;
	nooks_domain_stats(m->d, &st);
	nooks_fault_describe(&st, m->last_fault, sizeof(m->last_fault));
}

static void *recovery_thread(void *arg)
{
	struct module *m;
	(void)arg;
	while (read(recovery_pipe[0], &m, sizeof(m)) == (ssize_t)sizeof(m)) {
		pthread_mutex_lock(&mod_lock);
		m->state = M_RECOVERING;
		m->faults++;
		describe_fault(m);
		pthread_mutex_unlock(&mod_lock);

		long long t0 = now_us();
		nk_params_enter(m->params, m->nparams);
		int r = nooks_sup_recover(m->sup);
		nk_params_leave();
		long long us = now_us() - t0;

		pthread_mutex_lock(&mod_lock);
		m->state = r ? M_FAILED : M_LIVE;
		m->recoveries++;
		m->last_recovery_us = us;
		pthread_cond_broadcast(&mod_cond);
		pthread_mutex_unlock(&mod_lock);
		if (r)
			klog("nkernel: %s: not restarted; it stays down", m->name);
		else
			klog("nkernel: %s: recovered in %lld us, serving again", m->name, us);
	}
	return NULL;
}

/* ---- loading and unloading ----------------------------------------------- */

static void module_free(struct module *m)
{
	for (int i = 0; i < m->nparams; i++)
		free(m->params[i]);
	free(m);
}

static struct module *find_module(const char *name)
{
	for (int i = 0; i < nmodules; i++)
		if (!strcmp(modules[i]->name, name))
			return modules[i];
	return NULL;
}

/* Loads and starts path; NULL and a reason in err on failure. */
static struct module *load_module(const char *path, enum nooks_backend b,
				  char *const *params, int nparams,
				  char *err, size_t errlen)
{
	struct module *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* a path without a slash means this directory, not the library
	 * search path dlopen would use */
	snprintf(m->path, sizeof(m->path), "%s%s", strchr(path, '/') ? "" : "./", path);
	path = m->path;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(m->name, sizeof(m->name), "%.*s", (int)strcspn(base, "."), base);
	for (int n = 2; find_module(m->name); n++)
		snprintf(m->name, sizeof(m->name), "%.*s-%d", (int)strcspn(base, "."), base, n);
	m->backend = b;
	for (int i = 0; i < nparams && i < MAX_PARAMS; i++)
		if (!(m->params[m->nparams++] = strdup(params[i]))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	if (nparams > MAX_PARAMS) {
		snprintf(err, errlen, "more than %d parameters", MAX_PARAMS);
		goto fail;
	}
	if (access(path, R_OK)) {
		snprintf(err, errlen, "%.400s: %s", path, strerror(errno));
		goto fail;
	}
	m->d = nooks_domain_create(m->name, b);
	if (!m->d) {
		snprintf(err, errlen, "cannot create a domain: %s", strerror(errno));
		goto fail;
	}
	m->backend = nooks_domain_backend(m->d);	/* pkey may fall back */
	m->e = nooks_ext_load(m->d, path, b == NOOKS_BACKEND_NONE ? NULL : opt.wrapper,
			      stub_bindings, sizeof(stub_bindings) / sizeof(stub_bindings[0]),
			      err, errlen);
	if (!m->e)
		goto fail;
	m->sup = nooks_sup_new(m->d, m->e, "init_module", &opt.policy);
	if (!m->sup) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	nk_params_enter(m->params, m->nparams);
	int r = nooks_sup_start(m->sup);
	nk_params_leave();
	if (r) {
		struct nooks_domain_stats st;
		nooks_domain_stats(m->d, &st);
		if (st.last_fault != NOOKS_FAULT_NONE) {
			describe_fault(m);
			snprintf(err, errlen, "init_module faulted: %s", m->last_fault);
		} else {
			snprintf(err, errlen, "init_module failed (its reason is in the kernel log)");
		}
		goto fail;
	}
	/* recovery from now on (a module that fails in init_module is not
	 * loaded: nothing may queue it for a recovery); a thread it started
	 * may have taken it down already */
	nooks_domain_on_fault(m->d, on_fault, m);
	if (nooks_domain_state(m->d) == NOOKS_DOWN)
		on_fault(m->d, m);
	klog("nkernel: %s: loaded from %s (%s)", m->name, path,
	     nooks_backend_name(m->backend));
	return m;
fail:
	if (m->sup)
		nooks_sup_free(m->sup);
	if (m->d) {
		nooks_domain_reset_wait(m->d, NULL);
		nooks_domain_destroy(m->d);
	}
	if (m->e)
		nooks_ext_unload(m->e);
	module_free(m);
	return NULL;
}

/* Runs cleanup_module and releases everything the module still holds. */
static void unload_module(struct module *m)
{
	/* no recovery from here on: a fault in cleanup_module is logged
	 * and the module goes all the same */
	nooks_domain_on_fault(m->d, NULL, NULL);
	if (m->state == M_LIVE) {
		struct entry_frame f = { .fn = nooks_ext_sym(m->e, "cleanup_module") };
		if (f.fn && nooks_xpc_ext(m->d, cleanup_thunk, &f, 0)) {
			describe_fault(m);
			klog("nkernel: %s: cleanup_module failed (%s)", m->name, m->last_fault);
		}
	}
	struct nooks_release_stats rs;
	nooks_domain_reset_wait(m->d, &rs);
	if (rs.released || rs.undone || rs.unlocked)
		klog("nkernel: %s: released %d objects, %d registrations, %d locks it left behind",
		     m->name, rs.released, rs.undone, rs.unlocked);
	nooks_domain_destroy(m->d);
	nooks_ext_unload(m->e);
	nooks_sup_free(m->sup);
	klog("nkernel: %s: unloaded", m->name);
	module_free(m);
}

/* Waits until no module is being recovered. */
static void wait_recoveries(void)
{
	for (;;) {
		int busy = 0;
		for (int i = 0; i < nmodules; i++)
			busy |= modules[i]->state == M_RECOVERING;
		if (!busy)
			return;
		pthread_cond_wait(&mod_cond, &mod_lock);
	}
}

static int remove_module(const char *name, char *err, size_t errlen)
{
	pthread_mutex_lock(&mod_lock);
	wait_recoveries();
	struct module *m = find_module(name);
	if (!m) {
		pthread_mutex_unlock(&mod_lock);
		snprintf(err, errlen, "no module '%s'", name);
		return -1;
	}
	for (int i = 0; i < nmodules; i++)
		if (modules[i] == m)
			modules[i] = modules[--nmodules];
	pthread_mutex_unlock(&mod_lock);
	unload_module(m);
	return 0;
}

static int add_module(const char *path, enum nooks_backend b, char *const *params,
		      int nparams, char *err, size_t errlen, char *name, size_t namelen)
{
	pthread_mutex_lock(&mod_lock);
	if (nmodules == MAX_MODULES) {
		pthread_mutex_unlock(&mod_lock);
		snprintf(err, errlen, "too many modules (%d)", MAX_MODULES);
		return -1;
	}
	struct module *m = load_module(path, b, params, nparams, err, errlen);
	if (m) {
		modules[nmodules++] = m;
		if (name)
			snprintf(name, namelen, "%s", m->name);
	}
	pthread_mutex_unlock(&mod_lock);
	return m ? 0 : -1;
}

/* ---- the control socket -------------------------------------------------- */

static const char *const fault_names[] = {
	[NK_FAULT_NULL] = "null", [NK_FAULT_WILD] = "wild", [NK_FAULT_STACK] = "stack",
	[NK_FAULT_LOOP] = "loop", [NK_FAULT_ABORT] = "abort", [NK_FAULT_ILL] = "ill",
	[NK_FAULT_FPE] = "fpe", [NK_FAULT_EXIT] = "exit",
};
#define NFAULTS ((int)(sizeof(fault_names) / sizeof(fault_names[0])))

static void reply(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(FILE *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

static void cmd_list(FILE *out)
{
	reply(out, "%-12s %-10s %-9s %10s %7s %9s  %s", "NAME", "STATE", "ISOLATION",
	      "CALLS", "FAULTS", "RESTARTS", "LAST FAULT");
	pthread_mutex_lock(&mod_lock);
	for (int i = 0; i < nmodules; i++) {
		struct module *m = modules[i];
		struct nooks_domain_stats st;
		struct nooks_sup_stats ss;
		nooks_domain_stats(m->d, &st);
		nooks_sup_stats(m->sup, &ss);
		reply(out, "%-12s %-10s %-9s %10lu %7lu %9u  %s", m->name, mstate_names[m->state],
		      nooks_backend_name(m->backend), st.calls, m->faults, ss.restarts,
		      m->last_fault[0] ? m->last_fault : "-");
	}
	pthread_mutex_unlock(&mod_lock);
}

static long count_dir(const char *path)
{
	DIR *dir = opendir(path);
	long n = 0;
	if (!dir)
		return -1;
	for (struct dirent *e; (e = readdir(dir));)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

static void cmd_stats(FILE *out)
{
	struct nk_kernel_stats ks;
	long maps = 0, rss = 0;
	char line[512];

	nk_kernel_stats(&ks);
	FILE *f = fopen("/proc/self/maps", "re");
	while (f && fgets(line, sizeof(line), f))
		maps++;
	if (f)
		fclose(f);
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			rss = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	reply(out, "sockets %ld", ks.sockets);
	reply(out, "files %ld", ks.files);
	reply(out, "tasks %ld", ks.tasks);
	reply(out, "threads %ld", ks.threads);
	reply(out, "works %ld", ks.works);
	reply(out, "locks %ld", ks.locks);
	reply(out, "fds %ld", count_dir("/proc/self/fd") - 1);	/* less the one reading it */
	reply(out, "mappings %ld", maps);
	reply(out, "rss_kb %ld", rss);
	reply(out, "tracked %ld", nooks_tracked_objects());
	reply(out, "protection_changes %lu", nooks_protection_changes());
}

/* Makes the module fail in its own code, then waits for its recovery. */
static int cmd_inject(FILE *out, const char *name, const char *kind, char *err, size_t errlen)
{
	int k = 0;
	for (int i = 1; i < NFAULTS; i++)
		if (fault_names[i] && !strcmp(kind, fault_names[i]))
			k = i;
	if (!k) {
		snprintf(err, errlen, "unknown fault '%s' (null, wild, stack, loop, abort, ill, fpe, exit)", kind);
		return -1;
	}
	pthread_mutex_lock(&mod_lock);
	wait_recoveries();
	struct module *m = find_module(name);
	if (!m || m->state != M_LIVE) {
		pthread_mutex_unlock(&mod_lock);
		snprintf(err, errlen, m ? "module '%s' is %s" : "no module '%s'", name,
			 m ? mstate_names[m->state] : "");
		return -1;
	}
	struct entry_frame f = { .fn = nooks_ext_sym(m->e, "nk_fault_inject"), .kind = k,
				 .addr = (unsigned long)canary };
	if (!f.fn) {
		pthread_mutex_unlock(&mod_lock);
		snprintf(err, errlen, "%s has no fault-injection hook (nk_fault_inject)", name);
		return -1;
	}
	unsigned long before = m->recoveries;
	unsigned long canary_before = *canary;
	pthread_mutex_unlock(&mod_lock);

	klog("nkernel: %s: injecting '%s'", name, kind);
	long long t0 = now_us();
	if (!nooks_xpc_ext(m->d, inject_thunk, &f, 0)) {
		if (*canary != canary_before) {
			printk_line(LOGLEVEL_EMERG, "nkernel: kernel memory corrupted by the module");
			snprintf(err, errlen, "%s: nothing stopped the write: kernel object at %p corrupted",
				 name, (void *)canary);
		} else {
			snprintf(err, errlen, "%s: the fault did not happen (returned %d)", name, f.ret);
		}
		return -1;
	}
	pthread_mutex_lock(&mod_lock);
	while (m->recoveries == before)
		pthread_cond_wait(&mod_cond, &mod_lock);
	reply(out, "%s: contained: %s", name, m->last_fault);
	if (k == NK_FAULT_WILD)
		reply(out, "kernel object at %p %s", (void *)canary,
		      *canary == canary_before ? "intact" : "CORRUPTED");
	if (m->state == M_LIVE)
		reply(out, "%s: recovered in %lld us (%lld us from the injection)", name,
		      m->last_recovery_us, now_us() - t0);
	else
		reply(out, "%s: not restarted (%s)", name, mstate_names[m->state]);
	pthread_mutex_unlock(&mod_lock);
	return 0;
}

static int parse_isolation(const char *s, enum nooks_backend *b)
{
	int v = nooks_backend_parse(s);
	if (v < 0)
		return -1;
	*b = (enum nooks_backend)v;
	return 0;
}

static int split(char *line, char **argv, int max)
{
	int n = 0;
	for (char *tok = strtok(line, " \t\r\n"); tok && n < max; tok = strtok(NULL, " \t\r\n"))
		argv[n++] = tok;
	return n;
}

static volatile sig_atomic_t shutting_down;

/* One request: one line in, lines out, then "ok" or "error: why". */
static void serve_request(int fd)
{
	FILE *in = fdopen(dup(fd), "r"), *out = fdopen(fd, "w");
	char line[4096], err[512] = "", *argv[MAX_PARAMS + 4];
	int r = 0;

	if (!in || !out || !fgets(line, sizeof(line), in)) {
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		else
			close(fd);
		return;
	}
	fclose(in);
	int argc = split(line, argv, MAX_PARAMS + 4);
	const char *cmd = argc ? argv[0] : "";

	if (!strcmp(cmd, "list") && argc == 1) {
		cmd_list(out);
	} else if (!strcmp(cmd, "stats") && argc == 1) {
		cmd_stats(out);
	} else if (!strcmp(cmd, "inject") && argc == 3) {
		r = cmd_inject(out, argv[1], argv[2], err, sizeof(err));
	} else if (!strcmp(cmd, "unload") && argc == 2) {
		r = remove_module(argv[1], err, sizeof(err));
	} else if (!strcmp(cmd, "load") && argc >= 2) {
		enum nooks_backend b = opt.isolation;
		int i = 1;
		if (!strncmp(argv[i], "--isolation=", 12)) {
			if (parse_isolation(argv[i] + 12, &b)) {
				snprintf(err, sizeof(err), "unknown isolation '%s'", argv[i] + 12);
				r = -1;
			}
			i++;
		}
		char name[64];
		if (!r && i >= argc) {
			snprintf(err, sizeof(err), "usage: load [--isolation=KIND] PATH [NAME=VALUE]...");
			r = -1;
		}
		if (!r && !(r = add_module(argv[i], b, argv + i + 1, argc - i - 1, err, sizeof(err),
					   name, sizeof(name))))
			reply(out, "%s loaded", name);
	} else if (!strcmp(cmd, "reload") && argc == 2) {
		char path[PATH_MAX], *params[MAX_PARAMS] = { 0 }, name[64];
		enum nooks_backend b;
		int np = 0;
		pthread_mutex_lock(&mod_lock);
		struct module *m = find_module(argv[1]);
		if (m) {
			snprintf(path, sizeof(path), "%s", m->path);
			b = m->backend;
			for (int i = 0; i < m->nparams; i++)
				params[np++] = strdup(m->params[i]);
		}
		pthread_mutex_unlock(&mod_lock);
		if (!m) {
			snprintf(err, sizeof(err), "no module '%s'", argv[1]);
			r = -1;
		} else {
			r = remove_module(argv[1], err, sizeof(err));
			if (!r && !(r = add_module(path, b, params, np, err, sizeof(err),
						   name, sizeof(name))))
				reply(out, "%s reloaded", name);
			for (int i = 0; i < np; i++)
				free(params[i]);
		}
	} else if (!strcmp(cmd, "shutdown") && argc == 1) {
		shutting_down = 1;
		kill(getpid(), SIGTERM);
	} else if (!strcmp(cmd, "help") && argc == 1) {
		reply(out, "list | stats | inject NAME FAULT | load [--isolation=KIND] PATH [NAME=VALUE]...");
		reply(out, "unload NAME | reload NAME | shutdown | help");
		reply(out, "FAULT: null wild stack loop abort ill fpe exit");
	} else {
		snprintf(err, sizeof(err), "bad request '%s' (try: help)", cmd);
		r = -1;
	}
	if (r)
		reply(out, "error: %s", err);
	else
		reply(out, "ok");
	fclose(out);
}

static void *control_thread(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept4(control_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		/* one request at a time: a client that sends nothing may not
		 * hold the others (shutdown included) for longer than this */
		struct timeval tv = { .tv_sec = 5 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		serve_request(fd);
	}
	return NULL;
}

static int open_control(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "nkernel: control socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		/* in use: by a live nkernel, or left by a dead one */
		int busy = errno == EADDRINUSE;
		int probe = busy ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
		if (probe >= 0 && !connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
			close(probe);
			close(fd);
			fprintf(stderr, "nkernel: another nkernel is running on %s\n", path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		if (busy)
			unlink(path);
		if (!busy || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			fprintf(stderr, "nkernel: control socket %s: %s\n", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (listen(fd, 16)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- the command line ---------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: nkernel [OPTION]... [--isolation=KIND] MODULE.so [NAME=VALUE]... [[--isolation=KIND] MODULE.so ...]...\n"
"\n"
"Run the nk user-space kernel with the given modules (extensions) loaded,\n"
"until SIGINT, SIGTERM or `nkctl shutdown`.  Each module's init_module()\n"
"runs with its NAME=VALUE parameters; an isolated module that fails is\n"
"recovered (restarted) automatically.\n"
"\n"
"Options:\n"
"  --isolation=KIND    none, mprotect or pkey (pkey falls back to mprotect\n"
"                      where the CPU lacks protection keys); applies to the\n"
"                      modules after it (default: mprotect)\n"
"  --config FILE       more modules, one per line, written as on this\n"
"                      command line ([--isolation=KIND] PATH [NAME=VALUE]...);\n"
"                      '#' starts a comment\n"
"  --control PATH      the control socket for nkctl (default: %s)\n"
"  --log FILE          append the kernel log to FILE (default: standard error)\n"
"  --timeout MS        how long a module may run without returning to the\n"
"                      kernel before it counts as hung (default: 1000; 0: never)\n"
"  --max-restarts N    give a module up after N failures within the window\n"
"                      (default: 10)\n"
"  --window MS         the failure window (default: 60000)\n"
"  --backoff MS[,MAX]  wait before the second and later restarts in a window,\n"
"                      doubling up to MAX (default: 100,10000; 0: never wait)\n"
"  --wrapper PATH      the wrapper library isolated modules bind to\n"
"                      (default: wrap/libnk.so.1 beside nkernel)\n"
"  -h, --help          show this help\n"
"  -V, --version       show the version\n"
"\n"
"Exit status: 0 after a clean shutdown, 1 if a module cannot be loaded or\n"
"started, 2 for bad arguments.  See docs/kernel.md.\n", nk_default_control());
}

struct pending {
	char *path;
	enum nooks_backend b;
	char **params;
	int nparams;
};

static struct pending pend[MAX_MODULES];
static int npend;

static int parse_unsigned(const char *opt_name, const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 100000000UL || *s == '-') {
		fprintf(stderr, "nkernel: %s: bad number '%s'\n", opt_name, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* Module words: [--isolation=KIND] PATH [NAME=VALUE]...; options with a
 * value take it from the same word (--x=v) or the next. */
static int parse_words(int argc, char **argv, int allow_global, const char *where)
{
	for (int i = 0; i < argc; i++) {
		char *a = argv[i];
		const char *val = NULL;
		char name[32];

		if (a[0] == '-' && a[1] == '-') {
			size_t n = strcspn(a, "=");
			snprintf(name, sizeof(name), "%.*s", (int)n, a);
			if (a[n] == '=')
				val = a + n + 1;
			static const char *const known[] = {
				"--isolation", "--help", "--version", "--control", "--wrapper",
				"--log", "--config", "--timeout", "--max-restarts", "--window",
				"--backoff",
			};
			int found = 0;
			for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
				found |= !strcmp(name, known[k]);
			if (!found) {
				fprintf(stderr, "nkernel: %sunknown option %s (try --help)\n", where, name);
				return -1;
			}
			int needs = strcmp(name, "--help") && strcmp(name, "--version");
			if (needs && !val) {
				if (i + 1 >= argc) {
					fprintf(stderr, "nkernel: %s%s needs a value\n", where, name);
					return -1;
				}
				val = argv[++i];
			}
			if (!strcmp(name, "--isolation")) {
				if (parse_isolation(val, &opt.isolation)) {
					fprintf(stderr, "nkernel: %sunknown isolation '%s' (none, mprotect, pkey)\n",
						where, val);
					return -1;
				}
				continue;
			}
			if (!allow_global) {
				fprintf(stderr, "nkernel: %sonly --isolation may be given here, not %s\n",
					where, name);
				return -1;
			}
			if (!strcmp(name, "--help")) {
				usage(stdout);
				exit(0);
			} else if (!strcmp(name, "--version")) {
				printf("nkernel %s\n", VERSION);
				exit(0);
			} else if (!strcmp(name, "--control")) {
				opt.control = val;
			} else if (!strcmp(name, "--wrapper")) {
				opt.wrapper = val;
			} else if (!strcmp(name, "--log")) {
				opt.log = val;
			} else if (!strcmp(name, "--config")) {
				if (nk_read_config(val, parse_words))
					return -1;
			} else if (!strcmp(name, "--timeout")) {
				if (parse_unsigned(name, val, &opt.timeout_ms))
					return -1;
			} else if (!strcmp(name, "--max-restarts")) {
				if (parse_unsigned(name, val, &opt.policy.max_failures))
					return -1;
				if (opt.policy.max_failures < 1 || opt.policy.max_failures > 64) {
					fprintf(stderr, "nkernel: --max-restarts: between 1 and 64\n");
					return -1;
				}
			} else if (!strcmp(name, "--window")) {
				if (parse_unsigned(name, val, &opt.policy.window_ms))
					return -1;
			} else if (!strcmp(name, "--backoff")) {
				char buf[64];
				snprintf(buf, sizeof(buf), "%s", val);
				char *comma = strchr(buf, ',');
				if (comma)
					*comma = 0;
				if (parse_unsigned(name, buf, &opt.policy.base_delay_ms) ||
				    (comma && parse_unsigned(name, comma + 1, &opt.policy.max_delay_ms)))
					return -1;
				if (!comma && opt.policy.max_delay_ms < opt.policy.base_delay_ms)
					opt.policy.max_delay_ms = opt.policy.base_delay_ms;
			}
			continue;
		}
		if (a[0] == '-' && a[1]) {
			if (!strcmp(a, "-h")) {
				usage(stdout);
				exit(0);
			}
			if (!strcmp(a, "-V")) {
				printf("nkernel %s\n", VERSION);
				exit(0);
			}
			fprintf(stderr, "nkernel: %sunknown option %s (try --help)\n", where, a);
			return -1;
		}
		if (strchr(a, '=')) {
			if (!npend) {
				fprintf(stderr, "nkernel: %sparameter '%s' before any module\n", where, a);
				return -1;
			}
			struct pending *p = &pend[npend - 1];
			if (p->nparams == MAX_PARAMS) {
				fprintf(stderr, "nkernel: %smore than %d parameters\n", where, MAX_PARAMS);
				return -1;
			}
			p->params[p->nparams++] = strdup(a);
			continue;
		}
		if (npend == MAX_MODULES) {
			fprintf(stderr, "nkernel: %smore than %d modules\n", where, MAX_MODULES);
			return -1;
		}
		pend[npend].path = strdup(a);
		pend[npend].b = opt.isolation;
		pend[npend].params = calloc(MAX_PARAMS, sizeof(char *));
		npend++;
	}
	return 0;
}

static char *default_wrapper(void)
{
	static char path[PATH_MAX + 32];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(path, sizeof(path), "%s/wrap/libnk.so.1", exe);
	return path;
}

int main(int argc, char **argv)
{
	char err[512];
	sigset_t sigs;
	pthread_t t;
	int status = 0;

	opt.policy = nooks_policy_default;
	if (parse_words(argc - 1, argv + 1, 1, ""))
		return 2;
	if (!npend) {
		fprintf(stderr, "nkernel: no module given (try --help)\n");
		return 2;
	}
	if (!opt.control)
		opt.control = nk_default_control();
	if (!opt.wrapper)
		opt.wrapper = default_wrapper();
	if (opt.log) {
		int fd = open(opt.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "nkernel: %s: %s\n", opt.log, strerror(errno));
			return 2;
		}
		nk_log_to_fd(fd);
	}
	for (int i = 0; i < npend; i++)
		if (pend[i].b != NOOKS_BACKEND_NONE && (!opt.wrapper || access(opt.wrapper, R_OK))) {
			fprintf(stderr, "nkernel: wrapper library %s: %s\n",
				opt.wrapper ? opt.wrapper : "(none)", strerror(errno));
			return 2;
		}

	/* SIGINT and SIGTERM go to the main thread only (every thread
	 * started from here inherits the mask); SIGPIPE is ignored */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	nooks_set_log(runtime_log);
	nooks_set_default_timeout(opt.timeout_ms);
	canary = nooks_arena_alloc(sizeof(*canary));
	if (!canary || pipe2(recovery_pipe, O_CLOEXEC)) {
		fprintf(stderr, "nkernel: out of memory\n");
		return 1;
	}
	*canary = 0x6b65726e656cUL;
	control_fd = open_control(opt.control);
	if (control_fd < 0)
		return 1;
	if (pthread_create(&t, NULL, recovery_thread, NULL) ||
	    pthread_create(&t, NULL, control_thread, NULL)) {
		fprintf(stderr, "nkernel: cannot start its threads\n");
		return 1;
	}
	klog("nkernel: started (pid %d, control socket %s)", (int)getpid(), opt.control);

	for (int i = 0; i < npend; i++) {
		if (add_module(pend[i].path, pend[i].b, pend[i].params, pend[i].nparams,
			       err, sizeof(err), NULL, 0)) {
			fprintf(stderr, "nkernel: %s: %s\n", pend[i].path, err);
			status = 1;
			break;
		}
	}
	for (int i = 0; i < npend; i++) {
		for (int j = 0; j < pend[i].nparams; j++)
			free(pend[i].params[j]);
		free(pend[i].params);
		free(pend[i].path);
	}

	if (!status) {
		int sig;
		sigwait(&sigs, &sig);
		klog("nkernel: %s: shutting down", shutting_down ? "nkctl" : strsignal(sig));
	}
	shutdown(control_fd, SHUT_RDWR);
	unlink(opt.control);
	pthread_mutex_lock(&mod_lock);
	wait_recoveries();
	while (nmodules > 0) {
		struct module *m = modules[--nmodules];
		pthread_mutex_unlock(&mod_lock);
		unload_module(m);
		pthread_mutex_lock(&mod_lock);
	}
	pthread_mutex_unlock(&mod_lock);
	nooks_arena_free(canary);
	struct nk_kernel_stats ks;
	nk_kernel_stats(&ks);
	if (ks.sockets || ks.files || ks.tasks || ks.threads || ks.works || ks.locks)
		klog("nkernel: left behind: %ld sockets, %ld files, %ld tasks, %ld threads, %ld works, %ld locks",
		     ks.sockets, ks.files, ks.tasks, ks.threads, ks.works, ks.locks);
	klog("nkernel: stopped");
	return status;
}
