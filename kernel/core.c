/*
 * core.c - the core of the kernel library: kernel memory, locks, the
 * kernel log, module parameters, the clock and the live-object counters.
 *
 * Memory is the process heap.  Locks are heap objects behind opaque
 * handles (an extension never sees their layout, so recovery can release
 * one an extension died holding).  printk_line builds the whole line
 * first and writes it with one write(2), so lines from several threads
 * never interleave.  Module parameters are visible only to the thread
 * that entered them (nkernel, around a module's init_module), through
 * thread-local state: no lock, and no other module can read them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "nk/core.h"
#include "nk_kernel.h"

atomic_long nk_nr_sockets;
atomic_long nk_nr_files;
atomic_long nk_nr_tasks;
atomic_long nk_nr_threads;
atomic_long nk_nr_works;
atomic_long nk_nr_locks;

static atomic_int log_fd = 2;
static uint64_t boot_us;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

__attribute__((constructor)) static void nk_core_init(void)
{
	boot_us = now_us();
}

uint64_t nk_now_ms(void)
{
	return now_us() / 1000u;
}

unsigned long jiffies_ms(void)
{
	return (unsigned long)((now_us() - boot_us) / 1000u);
}

/* ---- memory ---------------------------------------------------------------- */

void *kmalloc(size_t size, gfp_t flags)
{
	if (flags & __GFP_ZERO)
		return calloc(1, size ? size : 1);
	return malloc(size ? size : 1);
}

void *kzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

void kfree(const void *p)
{
	free((void *)p);
}

/* ---- locks ----------------------------------------------------------------- */

struct mutex {
	pthread_mutex_t m;
};

struct spinlock {
	pthread_spinlock_t s;
};

struct mutex *mutex_create(void)
{
	struct mutex *m = malloc(sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->m, NULL);
	atomic_fetch_add(&nk_nr_locks, 1);
	return m;
}

void mutex_destroy(struct mutex *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->m);
	free(m);
	atomic_fetch_sub(&nk_nr_locks, 1);
}

void mutex_lock(struct mutex *m)
{
	pthread_mutex_lock(&m->m);
}

int mutex_trylock(struct mutex *m)
{
	/* Linux's convention: 1 if taken, 0 if contended. */
	return pthread_mutex_trylock(&m->m) == 0;
}

void mutex_unlock(struct mutex *m)
{
	pthread_mutex_unlock(&m->m);
}

struct spinlock *spin_lock_create(void)
{
	struct spinlock *l = malloc(sizeof(*l));
	if (!l)
		return NULL;
	pthread_spin_init(&l->s, PTHREAD_PROCESS_PRIVATE);
	atomic_fetch_add(&nk_nr_locks, 1);
	return l;
}

void spin_lock_destroy(struct spinlock *l)
{
	if (!l)
		return;
	pthread_spin_destroy(&l->s);
	free(l);
	atomic_fetch_sub(&nk_nr_locks, 1);
}

void spin_lock(struct spinlock *l)
{
	pthread_spin_lock(&l->s);
}

void spin_unlock(struct spinlock *l)
{
	pthread_spin_unlock(&l->s);
}

/* ---- the log --------------------------------------------------------------- */

void nk_log_to_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

void printk_line(int level, const char *msg)
{
	char small[512], *line = small;
	if (!msg)
		msg = "(null)";
	if (level < LOGLEVEL_EMERG || level > LOGLEVEL_DEBUG)
		level = LOGLEVEL_WARNING;
	size_t len = strlen(msg);
	/* pr_err("...\n") in the Linux habit: one newline, not two */
	if (len && msg[len - 1] == '\n')
		len--;
	uint64_t t = now_us() - boot_us;
	size_t need = len + 48;
	if (need > sizeof(small)) {
		line = malloc(need);
		if (!line) {
			line = small;
			need = sizeof(small);
			len = need - 48;
		}
	}
	int n = snprintf(line, need, "<%d>[%llu.%06llu] ", level,
			 (unsigned long long)(t / 1000000u),
			 (unsigned long long)(t % 1000000u));
	memcpy(line + n, msg, len);
	line[n + len] = '\n';
	size_t total = (size_t)n + len + 1;
	ssize_t w;
	do
		w = write(atomic_load(&log_fd), line, total);
	while (w < 0 && errno == EINTR);
	if (line != small)
		free(line);
}

/* ---- module parameters ----------------------------------------------------- */

static _Thread_local char *const *param_kv;
static _Thread_local int param_n;
static _Thread_local int param_active;

void nk_params_enter(char *const *kv, int n)
{
	param_kv = kv;
	param_n = kv ? n : 0;
	param_active = 1;
}

void nk_params_leave(void)
{
	param_kv = NULL;
	param_n = 0;
	param_active = 0;
}

int module_param_get(const char *name, char *buf, size_t len)
{
	if (!param_active)
		return -EPERM;
	if (!name || !*name || (!buf && len))
		return -EINVAL;
	size_t nl = strlen(name);
	const char *val = NULL;
	/* the last one given wins, as on a command line */
	for (int i = 0; i < param_n; i++) {
		const char *kv = param_kv[i];
		if (kv && strncmp(kv, name, nl) == 0 && kv[nl] == '=')
			val = kv + nl + 1;
	}
	if (!val)
		return -ENOENT;
	size_t vl = strlen(val);
	if (vl + 1 > len || vl > INT32_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, val, vl + 1);
	return (int)vl;
}

/* ---- statistics ------------------------------------------------------------ */

void nk_kernel_stats(struct nk_kernel_stats *out)
{
	out->sockets = atomic_load(&nk_nr_sockets);
	out->files = atomic_load(&nk_nr_files);
	out->tasks = atomic_load(&nk_nr_tasks);
	out->threads = atomic_load(&nk_nr_threads);
	out->works = atomic_load(&nk_nr_works);
	out->locks = atomic_load(&nk_nr_locks);
}
