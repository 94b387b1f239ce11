// SPDX-License-Identifier: GPL-2.0
/*
 * tracker.c - the in-kernel object tracker of nooks.ko (docs/kmod.md):
 * per isolated module, the objects it holds (by address and type), the
 * registrations it made and the ops tables bound for it.  A hash table
 * by address answers the wrappers' checks; each domain's lists, newest
 * first, are what recovery undoes and releases.  One spinlock (taken
 * with interrupts off: wrappers run in any context) guards it all.
 */
#include <linux/hashtable.h>
#include <linux/slab.h>
#include "internal.h"

struct nooks_kobj {
	struct hlist_node hash;
	struct list_head link;		/* dom->objs */
	const void *obj;
	const struct nooks_ktype *type;
	struct nooks_kdom *dom;
};

struct nooks_kreg {
	struct list_head link;		/* dom->regs */
	void *obj;
	void (*undo)(void *obj);
	const struct nooks_ktype *type;
};

static DEFINE_HASHTABLE(nooks_k_objs, 12);

static struct nooks_kobj *find(const void *obj)
{
	struct nooks_kobj *o;

	hash_for_each_possible(nooks_k_objs, o, hash, (unsigned long)obj)
		if (o->obj == obj)
			return o;
	return NULL;
}

int nooks_k_refuse(struct nooks_kdom *dom, const char *fn, const char *what)
{
	dom->refused++;
	pr_warn_ratelimited("nooks: %s: %s: %s: refused\n", dom->name, fn, what);
	return 1;
}

/* 0 if obj is a live t of dom; else logs why not */
static int live(struct nooks_kdom *dom, const struct nooks_kobj *o, const void *obj,
		const struct nooks_ktype *t, const char *fn)
{
	if (o && o->dom == dom && o->type == t)
		return 0;
	dom->refused++;
	pr_warn_ratelimited("nooks: %s: %s(%p): not a live %s of this module (%s): refused\n",
			    dom->name, fn, obj, t->name,
			    !obj ? "NULL" : !o ? "never allocated, or released already" :
			    o->dom != dom ? "another module's" : "another type");
	return -1;
}

int nooks_k_check(struct nooks_kdom *dom, const void *obj, const struct nooks_ktype *t, const char *fn)
{
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&nooks_k_lock, flags);
	ret = live(dom, find(obj), obj, t, fn);
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(nooks_k_check);

int nooks_k_forget(struct nooks_kdom *dom, const void *obj, const struct nooks_ktype *t, const char *fn)
{
	struct nooks_kobj *o;
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&nooks_k_lock, flags);
	o = find(obj);
	ret = live(dom, o, obj, t, fn);
	if (!ret) {
		hash_del(&o->hash);
		list_del(&o->link);
		dom->nobjs--;
	}
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	if (!ret)
		kfree(o);
	return ret;
}
EXPORT_SYMBOL_GPL(nooks_k_forget);

int nooks_k_track(struct nooks_kdom *dom, const void *obj, const struct nooks_ktype *t, const char *fn)
{
	struct nooks_kobj *o = kmalloc(sizeof(*o), GFP_ATOMIC), *old;
	unsigned long flags;

	if (!o) {
		pr_warn_ratelimited("nooks: %s: %s: no memory to track a %s\n", dom->name, fn, t->name);
		return -1;
	}
	o->obj = obj;
	o->type = t;
	o->dom = dom;
	spin_lock_irqsave(&nooks_k_lock, flags);
	/* an address the kernel freed and reused (a transfer ended in the
	 * kernel): the old entry is stale */
	old = find(obj);
	if (old) {
		hash_del(&old->hash);
		list_del(&old->link);
		old->dom->nobjs--;
	}
	hash_add(nooks_k_objs, &o->hash, (unsigned long)obj);
	list_add(&o->link, &dom->objs);
	dom->nobjs++;
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	kfree(old);
	return 0;
}
EXPORT_SYMBOL_GPL(nooks_k_track);

int nooks_k_give(struct nooks_kdom *dom, const void *obj, const struct nooks_ktype *t)
{
	if (atomic_read(&dom->state) == NOOKS_K_LIVE && !nooks_k_track(dom, obj, t, "give"))
		return 0;
	t->release((void *)obj);	/* the module cannot take it: the kernel's call consumed it */
	return -1;
}
EXPORT_SYMBOL_GPL(nooks_k_give);

void nooks_k_record_reg(struct nooks_kdom *dom, void *obj, void (*undo)(void *obj),
			const struct nooks_ktype *t)
{
	struct nooks_kreg *r = kmalloc(sizeof(*r), GFP_ATOMIC);
	unsigned long flags;

	if (!r) {
		pr_warn("nooks: %s: no memory to record a registration: recovery will miss it\n", dom->name);
		return;
	}
	r->obj = obj;
	r->undo = undo;
	r->type = t;
	spin_lock_irqsave(&nooks_k_lock, flags);
	list_add(&r->link, &dom->regs);
	spin_unlock_irqrestore(&nooks_k_lock, flags);
}
EXPORT_SYMBOL_GPL(nooks_k_record_reg);

void nooks_k_drop_reg(struct nooks_kdom *dom, void *obj)
{
	struct nooks_kreg *r, *found = NULL;
	unsigned long flags;

	spin_lock_irqsave(&nooks_k_lock, flags);
	list_for_each_entry(r, &dom->regs, link)
		if (r->obj == obj) {
			list_del(&r->link);
			found = r;
			break;
		}
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	kfree(found);
}
EXPORT_SYMBOL_GPL(nooks_k_drop_reg);

struct nooks_kbind *nooks_k_bind(struct nooks_kdom *dom, const void *orig, size_t size,
				 void (*fill)(void *table, const void *orig), int *fresh)
{
	struct nooks_kbind *b, *nb;
	unsigned long flags;

	if (!orig) {
		nooks_k_refuse(dom, "bind", "a NULL ops table");
		return NULL;
	}
	nb = kzalloc(sizeof(*nb) + size, GFP_ATOMIC);
	if (!nb)
		return NULL;
	nb->dom = dom;
	nb->orig = orig;
	fill(nb->table, orig);
	spin_lock_irqsave(&nooks_k_lock, flags);
	list_for_each_entry(b, &dom->binds, link)
		if (b->orig == orig) {	/* one binding per table */
			spin_unlock_irqrestore(&nooks_k_lock, flags);
			kfree(nb);
			*fresh = 0;
			return b;
		}
	list_add(&nb->link, &dom->binds);
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	*fresh = 1;
	return nb;
}
EXPORT_SYMBOL_GPL(nooks_k_bind);

unsigned int nooks_k_regs_of(struct nooks_kdom *dom, const struct nooks_ktype *t, void **objs,
			     unsigned int max)
{
	struct nooks_kreg *r;
	unsigned long flags;
	unsigned int n = 0;

	spin_lock_irqsave(&nooks_k_lock, flags);
	list_for_each_entry_reverse(r, &dom->regs, link)	/* oldest first */
		if (r->type == t && n < max)
			objs[n++] = r->obj;
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	return n;
}

void nooks_k_cleanup(struct nooks_kdom *dom, unsigned int *nregs, unsigned int *nobjs)
{
	unsigned long flags;

	*nregs = 0;
	*nobjs = 0;
	for (;;) {	/* registrations first: the objects they name are still live */
		struct nooks_kreg *r;

		spin_lock_irqsave(&nooks_k_lock, flags);
		r = list_first_entry_or_null(&dom->regs, struct nooks_kreg, link);
		if (r)
			list_del(&r->link);
		spin_unlock_irqrestore(&nooks_k_lock, flags);
		if (!r)
			break;
		r->undo(r->obj);
		kfree(r);
		(*nregs)++;
	}
	for (;;) {
		struct nooks_kobj *o;

		spin_lock_irqsave(&nooks_k_lock, flags);
		o = list_first_entry_or_null(&dom->objs, struct nooks_kobj, link);
		if (o) {
			hash_del(&o->hash);
			list_del(&o->link);
			dom->nobjs--;
		}
		spin_unlock_irqrestore(&nooks_k_lock, flags);
		if (!o)
			break;
		o->type->release((void *)o->obj);
		kfree(o);
		(*nobjs)++;
	}
}

int nooks_k_tracker_init(void)
{
	hash_init(nooks_k_objs);
	return 0;
}

void nooks_k_tracker_exit(void)
{
	WARN_ON(!hash_empty(nooks_k_objs));
}
