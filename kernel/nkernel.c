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
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
#include "netdev_nooks.h"
#include "workqueue_nooks.h"
#include "vfs_nooks.h"
#include "blkdev_nooks.h"
#include "ds_nooks.h"
#include "nkernel.h"
#include "nk_fuse.h"
#include "nk_vfs.h"

#define MAX_MODULES 16
#define MAX_PARAMS 32
#define MAX_NICS 8

/* The kernel API's stub tables, for an isolated module's wrapper library. */
static const struct nooks_stub_binding stub_bindings[] = {
	{ "nooks_stubs_core", &nooks_kw_table_core },
	{ "nooks_stubs_fs", &nooks_kw_table_fs },
	{ "nooks_stubs_kthread", &nooks_kw_table_kthread },
	{ "nooks_stubs_net", &nooks_kw_table_net },
	{ "nooks_stubs_netdev", &nooks_kw_table_netdev },
	{ "nooks_stubs_workqueue", &nooks_kw_table_workqueue },
	{ "nooks_stubs_vfs", &nooks_kw_table_vfs },
	{ "nooks_stubs_blkdev", &nooks_kw_table_blkdev },
	{ "nooks_stubs_ds", &nooks_kw_table_ds },
};

enum mstate { M_LOADING, M_LIVE, M_RECOVERING, M_FAILED, M_UNLOADING };
static const char *const mstate_names[] = { "loading", "live", "recovering", "failed",
					     "unloading" };

/* Quotas per module (nooks_domain_set_quota), by the names the command
 * line uses. */
static const struct {
	const char *name;
	const char *types[2];
	long dflt;
} quota_kinds[] = {
	{ "sockets", { "struct socket" }, 256 },
	{ "files", { "struct file" }, 256 },
	{ "tasks", { "struct task_struct" }, 64 },
	{ "works", { "struct delayed_work" }, 256 },
	{ "locks", { "struct mutex", "struct spinlock" }, 1024 },
};
#define NQUOTA ((int)(sizeof(quota_kinds) / sizeof(quota_kinds[0])))

struct module {
	unsigned long id;		/* unique for nkernel's life */
	int busy;			/* requests using it (inject) */
	long quota[NQUOTA];		/* its own; -2: nkernel's default */
	char name[64];
	char path[PATH_MAX];
	enum nooks_backend backend;
	char *params[MAX_PARAMS];
	int nparams;
	struct nooks_domain *d;
	struct nooks_ext *e;
	struct nooks_sup *sup;
	enum mstate state;
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
	unsigned cleanup_ms, inject_ms, stop_ms, work_ms;	/* bounds */
	long quota[NQUOTA];
	const char *nics[MAX_NICS];	/* --nic: the cards' wires */
} opt = {
	.timeout_ms = 1000,
	.isolation = NOOKS_BACKEND_MPROTECT,
	.cleanup_ms = 10000,
	.inject_ms = 5000,
	.stop_ms = 5000,
	.work_ms = 2000,
};

static struct module *modules[MAX_MODULES];
static int nmodules;
static int nnics;
static pthread_mutex_t mod_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mod_cond = PTHREAD_COND_INITIALIZER;
static unsigned long next_id = 1;
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

/* On the faulting thread: hand the module to the recovery thread (by
 * id: by the time it reads it the module may be gone). */
static void on_fault(struct nooks_domain *d, void *arg)
{
	struct module *m = arg;
	(void)d;
	if (write(recovery_pipe[1], &m->id, sizeof(m->id)) != (ssize_t)sizeof(m->id))
		printk_line(LOGLEVEL_EMERG, "nkernel: cannot queue a recovery");
}

static struct module *find_module_id(unsigned long id)
{
	for (int i = 0; i < nmodules; i++)
		if (modules[i]->id == id)
			return modules[i];
	return NULL;
}

static void describe_fault(struct module *m)
{
	struct nooks_domain_stats st;
	nooks_domain_stats(m->d, &st);
	nooks_fault_describe(&st, m->last_fault, sizeof(m->last_fault));
}

static void *recovery_thread(void *arg)
{
	unsigned long id;
	ssize_t n;
	(void)arg;
	/* a late unwind signal (this thread runs init inside modules) may
	 * interrupt the read: that is no reason to stop recovering */
	while ((n = read(recovery_pipe[0], &id, sizeof(id))) == (ssize_t)sizeof(id) ||
	       (n < 0 && errno == EINTR)) {
		struct module *m;
		if (n < 0)
			continue;
		pthread_mutex_lock(&mod_lock);
		while ((m = find_module_id(id)) && m->state == M_LOADING)
			pthread_cond_wait(&mod_cond, &mod_lock);
		/* gone, given up, or recovered already (a thread of the new
		 * copy faulted during its init: the supervisor recovered it
		 * again itself) */
		if (!m || m->state != M_LIVE || nooks_domain_state(m->d) == NOOKS_UP) {
			pthread_mutex_unlock(&mod_lock);
			continue;
		}
		m->state = M_RECOVERING;
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

/* KIND=N (sockets, files, tasks, works, locks) into q[]; N "none" or a
 * number.  0, or -1 and a reason in err. */
static int parse_quota(const char *word, long *q, char *err, size_t errlen)
{
	size_t n = strcspn(word, "=");
	for (int k = 0; k < NQUOTA; k++) {
		if (strlen(quota_kinds[k].name) != n || strncmp(word, quota_kinds[k].name, n))
			continue;
		const char *v = word[n] ? word + n + 1 : "";
		char *end;
		errno = 0;
		long x = strtol(v, &end, 10);
		if (!strcmp(v, "none")) {
			q[k] = -1;
			return 0;
		}
		if (!*v || *end || errno || x < 0 || x > 1000000) {
			snprintf(err, errlen, "quota %.*s: bad number '%s' (0..1000000 or none)",
				 (int)n, word, v);
			return -1;
		}
		q[k] = x;
		return 0;
	}
	snprintf(err, errlen, "unknown quota '%.*s' (sockets, files, tasks, works, locks)",
		 (int)n, word);
	return -1;
}

/* A module entry for path, named and with its parameters (words
 * nk.quota.KIND=N are nkernel's, the rest the module's); under mod_lock.
 * NULL and a reason in err on failure. */
static struct module *module_new(const char *path, enum nooks_backend b,
				 char *const *params, int nparams,
				 char *err, size_t errlen)
{
	struct module *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->id = next_id++;
	m->state = M_LOADING;
	for (int k = 0; k < NQUOTA; k++)
		m->quota[k] = -2;
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
	for (int i = 0; i < nparams && i < MAX_PARAMS; i++) {
		if (!strncmp(params[i], "nk.quota.", 9)) {
			if (parse_quota(params[i] + 9, m->quota, err, errlen))
				goto fail;
			continue;
		}
		if (!(m->params[m->nparams++] = strdup(params[i]))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (nparams > MAX_PARAMS) {
		snprintf(err, errlen, "more than %d parameters", MAX_PARAMS);
		goto fail;
	}
	/* natively, the dynamic loader gives a file loaded twice the same
	 * copy: a second init would run on the first one's variables */
	char real[PATH_MAX], other[PATH_MAX];
	for (int i = 0; b == NOOKS_BACKEND_NONE && i < nmodules; i++)
		if (modules[i]->backend == NOOKS_BACKEND_NONE && realpath(m->path, real) &&
		    realpath(modules[i]->path, other) && !strcmp(real, other)) {
			snprintf(err, errlen, "%.300s is loaded natively already (as %.60s): a native "
				 "module's file loads once", m->path, modules[i]->name);
			goto fail;
		}
	return m;
fail:
	module_free(m);
	return NULL;
}

/* Loads m's object and runs its init_module, without mod_lock (init is
 * the module's code: it may take its time, within its bound); 0, or -1
 * and a reason in err (m is then released, not freed). */
static int module_start(struct module *m, char *err, size_t errlen)
{
	const char *path = m->path;
	enum nooks_backend b = m->backend;

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
	for (int k = 0; k < NQUOTA; k++)
		for (int t = 0; t < 2 && quota_kinds[k].types[t]; t++)
			if (m->quota[k] != -2)
				nooks_domain_set_quota(m->d, quota_kinds[k].types[t], m->quota[k]);
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
			struct nooks_sup_stats ss;
			char why[96];
			nooks_sup_stats(m->sup, &ss);
			snprintf(err, errlen, "init_module failed: %s",
				 nooks_errno_text(ss.init_ret, why, sizeof(why)));
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
	return 0;
fail:
	if (m->sup)
		nooks_sup_free(m->sup);
	if (m->d) {
		nooks_domain_reset_wait(m->d, NULL);
		nooks_domain_destroy(m->d);
	}
	if (m->e)
		nooks_ext_unload(m->e);
	return -1;
}

/* Runs cleanup_module and releases everything the module still holds. */
static void unload_module(struct module *m)
{
	/* no recovery from here on: a fault in cleanup_module is logged
	 * and the module goes all the same */
	nooks_domain_on_fault(m->d, NULL, NULL);
	if (nooks_domain_state(m->d) == NOOKS_UP) {
		struct entry_frame f = { .fn = nooks_ext_sym(m->e, "cleanup_module") };
		nooks_bound_push(opt.cleanup_ms, "cleanup_module");
		int r = f.fn ? nooks_xpc_ext_frame(m->d, cleanup_thunk, &f, sizeof(f), 0) : 0;
		nooks_bound_pop();
		if (r) {
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
}

/* Under mod_lock: waits until m is neither loading nor recovering nor
 * used by a request (each bounded: init, recovery and an injected call
 * have their bounds). */
static void wait_settled(struct module *m)
{
	while (m->state == M_LOADING || m->state == M_RECOVERING || m->busy)
		pthread_cond_wait(&mod_cond, &mod_lock);
}

static void unlist(struct module *m)
{
	for (int i = 0; i < nmodules; i++)
		if (modules[i] == m)
			modules[i] = modules[--nmodules];
	pthread_cond_broadcast(&mod_cond);
}

static int remove_module(const char *name, char *err, size_t errlen)
{
	pthread_mutex_lock(&mod_lock);
	struct module *m = find_module(name);
	if (m && m->state != M_UNLOADING)
		wait_settled(m);
	if (!m || m->state == M_UNLOADING || find_module(name) != m) {
		pthread_mutex_unlock(&mod_lock);
		snprintf(err, errlen, m ? "module '%s' is already unloading" : "no module '%s'",
			 name);
		return -1;
	}
	m->state = M_UNLOADING;
	pthread_mutex_unlock(&mod_lock);
	unload_module(m);
	pthread_mutex_lock(&mod_lock);
	unlist(m);
	pthread_mutex_unlock(&mod_lock);
	module_free(m);
	return 0;
}

/* Loads a module: listed at once (state loading, so that its name is
 * taken and `nkctl list` shows it), started without mod_lock. */
static int add_module(const char *path, enum nooks_backend b, char *const *params,
		      int nparams, char *err, size_t errlen, char *name, size_t namelen)
{
	pthread_mutex_lock(&mod_lock);
	if (nmodules == MAX_MODULES) {
		pthread_mutex_unlock(&mod_lock);
		snprintf(err, errlen, "too many modules (%d)", MAX_MODULES);
		return -1;
	}
	struct module *m = module_new(path, b, params, nparams, err, errlen);
	if (m)
		modules[nmodules++] = m;
	pthread_mutex_unlock(&mod_lock);
	if (!m)
		return -1;

	int r = module_start(m, err, errlen);
	pthread_mutex_lock(&mod_lock);
	if (r) {
		unlist(m);
	} else {
		m->state = M_LIVE;
		if (name)
			snprintf(name, namelen, "%s", m->name);
		pthread_cond_broadcast(&mod_cond);
	}
	pthread_mutex_unlock(&mod_lock);
	if (r)
		module_free(m);
	return r;
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
		struct nooks_domain_stats st = { 0 };
		struct nooks_sup_stats ss = { 0 };
		if (m->state != M_LOADING) {	/* its domain is being made */
			nooks_domain_stats(m->d, &st);
			nooks_sup_stats(m->sup, &ss);
		}
		reply(out, "%-12s %-10s %-9s %10lu %7lu %9u  %s", m->name, mstate_names[m->state],
		      /* every failure the supervisor handled (a thread of a
		       * new copy faulting during its init is one more) */
		      nooks_backend_name(m->backend), st.calls, ss.failures, ss.restarts,
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
	reply(out, "parked %ld", ks.parked);
	reply(out, "works %ld", ks.works);
	reply(out, "locks %ld", ks.locks);
	reply(out, "skbs %ld", ks.skbs);
	reply(out, "netdevs %ld", ks.netdevs);
	reply(out, "fds %ld", count_dir("/proc/self/fd") - 1);	/* less the one reading it */
	reply(out, "mappings %ld", maps);
	reply(out, "rss_kb %ld", rss);
	reply(out, "tracked %ld", nooks_tracked_objects());
	struct nk_vfs_stats vs;
	nk_vfs_stats(&vs);
	reply(out, "vfs_mounts %ld", vs.mounts);
	reply(out, "vfs_waiting %ld", vs.waiting);
	reply(out, "vfs_inodes %ld", vs.inodes);
	reply(out, "vfs_dentries %ld", vs.dentries);
	reply(out, "vfs_handles %ld", vs.handles);
	reply(out, "vfs_buffers %ld", vs.buffers);
	reply(out, "vfs_bheads %ld", vs.bheads);
	reply(out, "vfs_bdevs %ld", vs.bdevs);
	reply(out, "vfs_remounts %ld", vs.remounts);
	reply(out, "vfs_reopened %ld", vs.reopened);
	reply(out, "vfs_retried %ld", vs.retried);
}

static void mount_line(void *arg, const char *text)
{
	reply(arg, "%s", text);
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
	struct module *m = find_module(name);
	if (m && m->state == M_RECOVERING)
		wait_settled(m);
	m = find_module(name);
	if (!m || m->state != M_LIVE) {
		pthread_mutex_unlock(&mod_lock);
		snprintf(err, errlen, m ? "module '%s' is %s" : "no module '%s'", name,
			 m ? mstate_names[m->state] : "");
		return -1;
	}
	/* the object's address as the module sees kernel objects */
	struct entry_frame f = { .fn = nooks_ext_sym(m->e, "nk_fault_inject"), .kind = k,
				 .addr = (unsigned long)nooks_arena_view(m->d, canary) };
	if (!f.fn) {
		pthread_mutex_unlock(&mod_lock);
		snprintf(err, errlen, "%s has no fault-injection hook (nk_fault_inject)", name);
		return -1;
	}
	unsigned long before = m->recoveries;
	unsigned long canary_before = *canary;
	m->busy++;
	pthread_mutex_unlock(&mod_lock);

	klog("nkernel: %s: injecting '%s'", name, kind);
	long long t0 = now_us();
	nooks_bound_push(opt.inject_ms, "nk_fault_inject");
	int r = nooks_xpc_ext_frame(m->d, inject_thunk, &f, sizeof(f), 0);
	nooks_bound_pop();
	if (!r) {
		pthread_mutex_lock(&mod_lock);
		m->busy--;
		pthread_cond_broadcast(&mod_cond);
		pthread_mutex_unlock(&mod_lock);
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
	while (m->recoveries == before && m->state != M_FAILED)
		pthread_cond_wait(&mod_cond, &mod_lock);
	m->busy--;
	pthread_cond_broadcast(&mod_cond);
	reply(out, "%s: contained: %s", name, m->last_fault);
	if (k == NK_FAULT_WILD)
		reply(out, "kernel object at %p %s", (void *)canary,
		      *canary == canary_before ? "intact" : "CORRUPTED");
	if (m->state == M_LIVE) {
		struct nooks_sup_stats ss;
		nooks_sup_stats(m->sup, &ss);
		reply(out, "%s: recovered in %lld us (%lld us from the injection)", name,
		      m->last_recovery_us, now_us() - t0);
		reply(out, "%s: phases: unwind %lld us, release %lld us, reload %lld us, "
		      "init %lld us, replay %lld us", name, ss.unwind_ns / 1000,
		      ss.release_ns / 1000, ss.reload_ns / 1000, ss.init_ns / 1000,
		      ss.replay_ns / 1000);
	} else {
		reply(out, "%s: not restarted (%s)", name, mstate_names[m->state]);
	}
	pthread_mutex_unlock(&mod_lock);
	return 0;
}

/* Writes bytes into a module's loaded code (nooks_ext_patch): what
 * nooks-inject's transient mode uses. */
static int cmd_patch(FILE *out, const char *name, const char *addr, const char *hex,
		     char *err, size_t errlen)
{
	unsigned char bytes[64], old[64];
	size_t n = strlen(hex) / 2;
	char *end;

	errno = 0;
	unsigned long va = strtoul(addr, &end, 0);
	if (errno || end == addr || *end) {
		snprintf(err, errlen, "bad address '%s'", addr);
		return -1;
	}
	if (strlen(hex) % 2 || n == 0 || n > sizeof(bytes) ||
	    strspn(hex, "0123456789abcdefABCDEF") != strlen(hex)) {
		snprintf(err, errlen, "bad bytes '%s' (1 to %zu bytes in hex, e.g. 90cc)", hex,
			 sizeof(bytes));
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
	pthread_mutex_lock(&mod_lock);
	struct module *m = find_module(name);
	int r = -1;
	if (!m || m->state != M_LIVE) {
		snprintf(err, errlen, m ? "module '%s' is %s" : "no module '%s'", name,
			 m ? mstate_names[m->state] : "");
	} else if (nooks_ext_patch(m->e, va, bytes, n, old, err, errlen) == 0) {
		char was[2 * sizeof(old) + 1];
		for (size_t i = 0; i < n; i++)
			snprintf(was + 2 * i, 3, "%02x", old[i]);
		klog("nkernel: %s: patched %zu bytes at %#lx (were %s)", name, n, va, was);
		reply(out, "%s: patched %zu bytes at %#lx (were %s)", name, n, va, was);
		r = 0;
	}
	pthread_mutex_unlock(&mod_lock);
	return r;
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

	if (nk_command_check(argc, argv, err, sizeof(err))) {
		r = -1;
	} else if (!strcmp(cmd, "list")) {
		cmd_list(out);
	} else if (!strcmp(cmd, "stats")) {
		cmd_stats(out);
	} else if (!strcmp(cmd, "inject")) {
		r = cmd_inject(out, argv[1], argv[2], err, sizeof(err));
	} else if (!strcmp(cmd, "patch")) {
		r = cmd_patch(out, argv[1], argv[2], argv[3], err, sizeof(err));
	} else if (!strcmp(cmd, "net")) {
		r = nk_net_command(argc, argv, out, err, sizeof(err));
	} else if (!strcmp(cmd, "unload")) {
		r = remove_module(argv[1], err, sizeof(err));
	} else if (!strcmp(cmd, "load")) {
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
	} else if (!strcmp(cmd, "reload")) {
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
	} else if (!strcmp(cmd, "mount")) {
		r = nk_fuse_mount(argv[1], argv[2], argv[3], argc > 4 ? argv[4] : NULL, err,
				  sizeof(err));
	} else if (!strcmp(cmd, "umount")) {
		int lazy = argc > 2 && !strcmp(argv[1], "-l");
		if (argc > 2 && !lazy) {
			snprintf(err, sizeof(err), "usage: umount [-l] DIR");
			r = -1;
		} else {
			r = nk_fuse_umount(argv[argc - 1], lazy, err, sizeof(err));
		}
	} else if (!strcmp(cmd, "mounts")) {
		nk_fuse_list(mount_line, out);
	} else if (!strcmp(cmd, "shutdown")) {
		shutting_down = 1;	/* SIGTERM once the answer is out */
	} else {	/* help */
		for (const struct nk_command *c = nk_commands; c->name; c++)
			reply(out, "%s%s%s: %s", c->name, c->args[0] ? " " : "", c->args, c->what);
	}
	if (r)
		reply(out, "error: %s", err);
	else
		reply(out, "ok");
	fclose(out);
	/* after the answer: the main thread exits as soon as it is told */
	if (!r && !strcmp(cmd, "shutdown"))
		kill(getpid(), SIGTERM);
}

static void *request_thread(void *arg)
{
	serve_request((int)(intptr_t)arg);
	return NULL;
}

/* Each request on a thread of its own: an unload waiting for a module's
 * cleanup, or an inject waiting for its recovery, never holds up `list`,
 * `stats`, another module or `shutdown`.  The loop survives every error
 * a busy or exhausted process gives (no descriptor, no memory: it waits
 * and tries again); only the socket's shutdown ends it. */
static void *control_thread(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept4(control_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINVAL || errno == EBADF || errno == ENOTSOCK)
				break;		/* shut down */
			if (errno != EINTR && errno != ECONNABORTED) {
				static long long last_told;
				if (now_us() - last_told > 1000000) {
					last_told = now_us();
					klog("nkernel: control socket: %s; retrying", strerror(errno));
				}
				usleep(10000);
			}
			continue;
		}
		/* a client that sends nothing holds its own thread only */
		struct timeval tv = { .tv_sec = 5 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, request_thread, (void *)(intptr_t)fd))
			serve_request(fd);	/* no thread: at least answer */
		pthread_attr_destroy(&a);
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
"  --isolation=KIND    none, mprotect, pkey or process (pkey falls back to\n"
"                      mprotect where the CPU lacks protection keys; process:\n"
"                      a process of its own under seccomp); applies to the\n"
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
"  --bound NAME=MS     liveness bounds (0: none) of an isolated module's\n"
"                      init (default 10000), cleanup (10000), inject (5000),\n"
"                      a kthread_stop (stop, 5000) and a work item (work,\n"
"                      2000): one missed fails the module, as a fault\n"
"  --quota KIND=N      at most N live objects of KIND per isolated module:\n"
"                      sockets (256), files (256), tasks (64), works (256),\n"
"                      locks (1024); N 'none' for no quota.  A module word\n"
"                      nk.quota.KIND=N overrides it for that module\n"
"  --nic TAP           an emulated network card (0, 1, ... in order) whose wire\n"
"                      is the host's TAP device TAP (made if missing)\n"
"  --defer on|off      queue an isolated module's [[deferred]] kernel calls\n"
"                      and make them in one crossing (default: on)\n"
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

/* --bound NAME=MS: init, cleanup, inject, stop, work. */
static int parse_bound(const char *val)
{
	static const struct { const char *name; unsigned *ms; } bounds[] = {
		{ "init", &opt.policy.init_bound_ms }, { "cleanup", &opt.cleanup_ms },
		{ "inject", &opt.inject_ms }, { "stop", &opt.stop_ms }, { "work", &opt.work_ms },
	};
	size_t n = strcspn(val, "=");
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		if (strlen(bounds[i].name) == n && !strncmp(val, bounds[i].name, n))
			return val[n] ? parse_unsigned("--bound", val + n + 1, bounds[i].ms)
				      : parse_unsigned("--bound", "", bounds[i].ms);
	fprintf(stderr, "nkernel: --bound: unknown bound '%.*s' (init, cleanup, inject, stop, work)\n",
		(int)n, val);
	return -1;
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
				"--backoff", "--bound", "--quota", "--nic", "--defer",
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
					fprintf(stderr, "nkernel: %sunknown isolation '%s' (none, mprotect, pkey, process)\n",
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
				printf("nkernel %s\n", NK_VERSION);
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
			} else if (!strcmp(name, "--bound")) {
				if (parse_bound(val))
					return -1;
			} else if (!strcmp(name, "--defer")) {
				if (strcmp(val, "on") && strcmp(val, "off")) {
					fprintf(stderr, "nkernel: --defer: on or off, not '%s'\n", val);
					return -1;
				}
				nooks_set_defer(!strcmp(val, "on"));
			} else if (!strcmp(name, "--nic")) {
				if (nnics == MAX_NICS) {
					fprintf(stderr, "nkernel: --nic: at most %d cards\n", MAX_NICS);
					return -1;
				}
				opt.nics[nnics++] = val;
			} else if (!strcmp(name, "--quota")) {
				char why[160];
				if (parse_quota(val, opt.quota, why, sizeof(why))) {
					fprintf(stderr, "nkernel: --quota: %s\n", why);
					return -1;
				}
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
				printf("nkernel %s\n", NK_VERSION);
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
	for (int k = 0; k < NQUOTA; k++)
		opt.quota[k] = quota_kinds[k].dflt;
	if (parse_words(argc - 1, argv + 1, 1, ""))
		return 2;
	if (!npend) {
		fprintf(stderr, "nkernel: no module given (try --help)\n");
		return 2;
	}
	/* every file named, before anything starts: a typo is one line,
	 * not a kernel that starts and stops again */
	for (int i = 0; i < npend; i++)
		if (access(pend[i].path, R_OK)) {
			fprintf(stderr, "nkernel: %s: %s\n", pend[i].path, strerror(errno));
			return 1;
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
	/* the zygote of process domains: a copy of the kernel as it is now,
	 * one thread, no module (docs/runtime.md "The process backend") */
	int zr = nooks_proc_init();
	for (int i = 0; zr && i < npend; i++)
		if (pend[i].b == NOOKS_BACKEND_PROCESS) {
			fprintf(stderr, "nkernel: no process domains here: %s\n", strerror(-zr));
			return 2;
		}

	nooks_set_log(runtime_log);
	nooks_set_default_timeout(opt.timeout_ms);
	nk_set_stop_bound(opt.stop_ms);
	nk_set_work_bound(opt.work_ms);
	for (int k = 0; k < NQUOTA; k++)
		for (int j = 0; j < 2 && quota_kinds[k].types[j]; j++)
			nooks_set_default_quota(quota_kinds[k].types[j], opt.quota[k]);
	/* descriptors: as many as allowed (the quotas share them out) */
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	canary = nooks_arena_alloc(sizeof(*canary));
	if (!canary || pipe2(recovery_pipe, O_CLOEXEC)) {
		fprintf(stderr, "nkernel: out of memory\n");
		return 1;
	}
	*canary = 0x6b65726e656cUL;
	if (!nooks_arena_protected())
		fprintf(stderr, "nkernel: no read-only view of the object arena "
			"(memfd_create failed): isolated modules can write kernel objects\n");
	for (int i = 0; i < nnics; i++)
		if (nk_nic_create(opt.nics[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "nkernel: --nic %s: %s\n", opt.nics[i], err);
			return 1;
		}
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
	nk_fuse_shutdown();	/* mounts first: their file systems are modules */
	pthread_mutex_lock(&mod_lock);
	while (nmodules > 0) {
		struct module *m = modules[0];
		char name[64];
		snprintf(name, sizeof(name), "%s", m->name);
		pthread_mutex_unlock(&mod_lock);
		if (remove_module(name, err, sizeof(err)))	/* another request's */
			usleep(10000);
		pthread_mutex_lock(&mod_lock);
	}
	pthread_mutex_unlock(&mod_lock);
	nooks_arena_free(canary);
	struct nk_kernel_stats ks;
	nk_kernel_stats(&ks);
	if (ks.sockets || ks.files || ks.tasks || ks.threads || ks.works || ks.locks || ks.skbs ||
	    ks.netdevs)
		klog("nkernel: left behind: %ld sockets, %ld files, %ld tasks, %ld threads, %ld works, "
		     "%ld locks, %ld skbs, %ld netdevs", ks.sockets, ks.files, ks.tasks, ks.threads,
		     ks.works, ks.locks, ks.skbs, ks.netdevs);
	klog("nkernel: stopped");
	return status;
}
