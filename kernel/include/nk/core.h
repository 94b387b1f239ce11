/*
 * nk/core.h - the core of the nk kernel API: memory, locks, logging and
 * module parameters.  idl/nk/core.idl annotates it.
 *
 * Like Linux, functions return 0 or a negative errno value; pointers are
 * NULL on failure.  Everything here may be called by an extension.
 */
#ifndef NK_CORE_H
#define NK_CORE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned int gfp_t;

#define GFP_KERNEL	0x01u
#define GFP_ATOMIC	0x02u
#define __GFP_ZERO	0x100u

/* Kernel memory, for the kernel and for native extensions.  An isolated
 * extension's memory is its own (malloc in its domain); see
 * docs/kernel.md. */
void *kmalloc(size_t size, gfp_t flags);
void *kzalloc(size_t size, gfp_t flags);
void kfree(const void *p);

/* Locks live in the kernel; an extension holds a handle.  A lock an
 * extension holds when it dies is released by recovery. */
struct mutex;
struct spinlock;
struct mutex *mutex_create(void);
void mutex_destroy(struct mutex *m);
void mutex_lock(struct mutex *m);
int mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m);
struct spinlock *spin_lock_create(void);
void spin_lock_destroy(struct spinlock *l);
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);

/* printk's levels, as in Linux. */
#define LOGLEVEL_EMERG	0
#define LOGLEVEL_ALERT	1
#define LOGLEVEL_CRIT	2
#define LOGLEVEL_ERR	3
#define LOGLEVEL_WARNING 4
#define LOGLEVEL_NOTICE	5
#define LOGLEVEL_INFO	6
#define LOGLEVEL_DEBUG	7

/* One line to the kernel log (a trailing newline is added). */
void printk_line(int level, const char *msg);

/* Formatted logging: formats on the caller's stack, then printk_line.
 * (printk itself is variadic, which no wrapper can check.) */
static inline __attribute__((format(printf, 2, 3)))
void nk_printk(int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printk_line(level, line);
}
#define pr_err(...)	nk_printk(LOGLEVEL_ERR, __VA_ARGS__)
#define pr_warn(...)	nk_printk(LOGLEVEL_WARNING, __VA_ARGS__)
#define pr_info(...)	nk_printk(LOGLEVEL_INFO, __VA_ARGS__)
#define pr_debug(...)	nk_printk(LOGLEVEL_DEBUG, __VA_ARGS__)

/*
 * Module parameters, given on nkernel's command line after the module
 * (name=value).  Readable while the module's init_module() runs: copies
 * the value of name into buf (NUL-terminated).  The value's length, or
 * -ENOENT (no such parameter), -ENAMETOOLONG (buf too small), -EPERM
 * (not during init).
 */
int module_param_get(const char *name, char *buf, size_t len);

/* Milliseconds since the kernel started. */
unsigned long jiffies_ms(void);

#ifdef __cplusplus
}
#endif

#endif
