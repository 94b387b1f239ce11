/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nooks_kmod.h - the in-kernel runtime of the kernel-module target
 * (nooks.ko; docs/kmod.md): what the wrappers templates/linux/ generate
 * call.
 *
 * A domain is one isolated module: a module bound to nooks.ko's wrappers
 * (tools/kmod/wrap.sh), found when it loads (it uses nooks.ko's symbols).
 * The tracker knows every object each domain holds (what its alloc()
 * calls made, what transfers gave it), by address and type; the
 * registrations it made, with the calls that undo them; the ops tables
 * the kernel calls it through (bindings).  nooks_k_call runs module code
 * with a way back: a fault in the module's text is turned by the die
 * notifier into a return from nooks_k_call (0), the domain fails and the
 * recovery manager releases what it held and has it reloaded.
 */
#ifndef NOOKS_KMOD_H
#define NOOKS_KMOD_H

#include <linux/kernel.h>
#include <linux/list.h>

/* A struct the tracker follows, and how recovery releases one. */
struct nooks_ktype {
	const char *name;
	void (*release)(void *obj);
};

struct nooks_kdom;

/* An ops table registered by a module, as the kernel sees it: the
 * module's table (orig) with the described entries wrapped (table). */
struct nooks_kbind {
	struct list_head link;
	struct nooks_kdom *dom;
	const void *orig;
	unsigned long table[];
};

/* The domain of the isolated module that called (its return address,
 * else the module the current thread is running through nooks_k_call);
 * NULL for any other caller. */
struct nooks_kdom *nooks_k_caller(unsigned long ret_ip);

/* The tracker.  Each returns 0, or logs the refusal and returns -1:
 *   check   obj is a live object of dom, of type t
 *   forget  the same, and obj is no longer tracked (a release)
 *   track   obj is dom's from now on
 *   give    track, for what the kernel hands a module; on failure (the
 *           module is down) obj is released with t->release */
int nooks_k_check(struct nooks_kdom *dom, const void *obj, const struct nooks_ktype *t, const char *fn);
int nooks_k_forget(struct nooks_kdom *dom, const void *obj, const struct nooks_ktype *t, const char *fn);
int nooks_k_track(struct nooks_kdom *dom, const void *obj, const struct nooks_ktype *t, const char *fn);
int nooks_k_give(struct nooks_kdom *dom, const void *obj, const struct nooks_ktype *t);
/* logs "fn: what: refused"; returns 1 */
int nooks_k_refuse(struct nooks_kdom *dom, const char *fn, const char *what);

/* Registrations: obj was registered, undo(obj) unregisters it. */
void nooks_k_record_reg(struct nooks_kdom *dom, void *obj, void (*undo)(void *obj),
			const struct nooks_ktype *t);
void nooks_k_drop_reg(struct nooks_kdom *dom, void *obj);

/* The binding of the module's table orig (size bytes), made by fill the
 * first time (*fresh = 1); NULL if orig is NULL or memory is short. */
struct nooks_kbind *nooks_k_bind(struct nooks_kdom *dom, const void *orig, size_t size,
				 void (*fill)(void *table, const void *orig), int *fresh);
/* The binding whose table the kernel called through (only the wrappers
 * in such a table call this). */
static inline const struct nooks_kbind *nooks_k_binding_of(const void *table)
{
	return (const struct nooks_kbind *)((const char *)table - offsetof(struct nooks_kbind, table));
}

/* Runs fn(arg) in dom's module: 1 when it returned, 0 when the module is
 * down, faulted or ran past timeout_ms (0: no deadline) in its own code
 * (the thread comes back here, the domain is failed and recovery
 * scheduled). */
int nooks_k_call(struct nooks_kdom *dom, void (*fn)(void *), void *arg, unsigned int timeout_ms);

#endif
