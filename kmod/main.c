// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - nooks.ko: domains, nooks_k_call and the die notifier, the
 * module notifier, /proc/nooks (docs/kmod.md).
 *
 * A module becomes a domain when it loads bound to nooks.ko (it uses our
 * symbols: tools/kmod/wrap.sh renamed its kernel calls to the wrappers).
 * Its init and exit run through nooks_k_call too (mod->init and
 * mod->exit are swapped before the kernel calls them), so a fault in
 * module_init fails the load cleanly instead of leaving the module
 * "Loading" for good, and a fault in module_exit lets the module unload,
 * what it left released.
 */
#include <asm/irq_regs.h>
#include <linux/hrtimer.h>
#include <linux/kdebug.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include "internal.h"

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Nooks for Linux: isolation and recovery of kernel modules");

char *nooks_k_agent = "/sbin/nooks-agent";
module_param_named(agent, nooks_k_agent, charp, 0644);
MODULE_PARM_DESC(agent, "the user-mode recovery agent (reloads a failed module, replays its configuration)");

DEFINE_SPINLOCK(nooks_k_lock);
LIST_HEAD(nooks_k_doms);

/* ---- nooks_k_call and the die notifier ------------------------------------ */

/* A thread inside a module, and the way back (call.S). */
struct nooks_kctx {
	struct list_head link;		/* nooks_k_ctxs, innermost first */
	struct task_struct *task;
	struct nooks_kdom *dom;
	unsigned long sp;		/* set by nooks_k_call_asm */
	unsigned long flags;		/* the caller's interrupt state */
	struct hrtimer timer;		/* the call's deadline, if it has one */
};
static LIST_HEAD(nooks_k_ctxs);
static DEFINE_RAW_SPINLOCK(nooks_k_ctx_lock);

int nooks_k_call_asm(void (*fn)(void *), void *arg, unsigned long *sp);
extern const char nooks_k_resume[];

static enum hrtimer_restart nooks_k_deadline(struct hrtimer *t);

int nooks_k_call(struct nooks_kdom *dom, void (*fn)(void *), void *arg, unsigned int timeout_ms)
{
	struct nooks_kctx ctx = { .task = current, .dom = dom };
	unsigned long flags;
	int ran;

	if (atomic_read(&dom->state) != NOOKS_K_LIVE)
		return 0;
	local_save_flags(ctx.flags);
	raw_spin_lock_irqsave(&nooks_k_ctx_lock, flags);
	list_add(&ctx.link, &nooks_k_ctxs);
	raw_spin_unlock_irqrestore(&nooks_k_ctx_lock, flags);
	if (timeout_ms) {
		hrtimer_init_on_stack(&ctx.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
		ctx.timer.function = nooks_k_deadline;
		hrtimer_start(&ctx.timer, ms_to_ktime(timeout_ms), HRTIMER_MODE_REL_PINNED_HARD);
	}
	ran = nooks_k_call_asm(fn, arg, &ctx.sp);
	if (timeout_ms) {
		hrtimer_cancel(&ctx.timer);
		destroy_hrtimer_on_stack(&ctx.timer);
	}
	raw_spin_lock_irqsave(&nooks_k_ctx_lock, flags);
	list_del(&ctx.link);
	raw_spin_unlock_irqrestore(&nooks_k_ctx_lock, flags);
	return ran;
}
EXPORT_SYMBOL_GPL(nooks_k_call);

/* The innermost nooks_k_call of the current thread, or NULL (lock held). */
static struct nooks_kctx *current_ctx(void)
{
	struct nooks_kctx *c;

	list_for_each_entry(c, &nooks_k_ctxs, link)
		if (c->task == current)
			return c;
	return NULL;
}

/*
 * Returns the thread that was running module code in c to c's
 * nooks_k_call with 0: the registers an exception or interrupt returns
 * to become call.S's way back, the domain fails, and recovery is
 * scheduled (not for init or exit: the load fails, or the unload goes on).
 */
static void unwind(struct nooks_kctx *c, struct pt_regs *regs, const char *what)
{
	struct nooks_kdom *dom = c->dom;

	dom->faults++;
	atomic_set(&dom->state, NOOKS_K_FAILED);
	pr_err("nooks: %s: %s at %pS: the thread returns to the wrapper that entered the module%s\n",
	       dom->name, what, (void *)regs->ip,
	       dom->exiting ? " (its exit: the module unloads anyway)" :
	       dom->initialized ? "; recovery scheduled" : " (its init: the load fails)");
	regs->ip = (unsigned long)nooks_k_resume;
	regs->sp = c->sp;
	regs->ax = 0;
	regs->flags = (regs->flags & ~X86_EFLAGS_IF) | (c->flags & X86_EFLAGS_IF);
	if (dom->initialized && !dom->exiting)
		queue_work(system_long_wq, &dom->recover);
}

/*
 * An oops (page fault, general protection, BUG, invalid opcode: die()
 * notifies DIE_OOPS after printing it) whose instruction is in the text
 * of the module the thread entered last through nooks_k_call: the thread
 * returns from that nooks_k_call with 0 instead of dying (NOTIFY_STOP
 * makes die() return; the exception returns to the registers we set).
 * Anything else, in the kernel or elsewhere, is the kernel's oops.
 */
static int nooks_k_die(struct notifier_block *nb, unsigned long val, void *data)
{
	struct die_args *args = data;
	struct pt_regs *regs = args->regs;
	struct nooks_kctx *c;

	if (val != DIE_OOPS || !regs || user_mode(regs))
		return NOTIFY_DONE;
	raw_spin_lock(&nooks_k_ctx_lock);
	c = current_ctx();
	if (c && !within_module(regs->ip, c->dom->mod))
		c = NULL;
	raw_spin_unlock(&nooks_k_ctx_lock);
	if (!c)
		return NOTIFY_DONE;
	unwind(c, regs, args->str);
	return NOTIFY_STOP;
}

/*
 * A call's deadline (the IDL's timeout(), in hard interrupt context on
 * the CPU the call started on).  If the interrupted code is that call's
 * module, running in that thread, the interrupt returns to the wrapper
 * instead, as after a fault.  Otherwise (the thread is in the kernel on
 * the module's behalf, or was preempted and runs elsewhere) try again in
 * 10 ms: a module is only ever stopped in its own code.
 */
static enum hrtimer_restart nooks_k_deadline(struct hrtimer *t)
{
	struct nooks_kctx *c = container_of(t, struct nooks_kctx, timer);
	struct pt_regs *regs = get_irq_regs();
	bool hit;

	raw_spin_lock(&nooks_k_ctx_lock);
	hit = regs && !user_mode(regs) && current == c->task && current_ctx() == c &&
	      within_module(regs->ip, c->dom->mod);
	raw_spin_unlock(&nooks_k_ctx_lock);
	if (hit) {
		unwind(c, regs, "timeout");
		return HRTIMER_NORESTART;
	}
	hrtimer_forward_now(t, ms_to_ktime(10));
	return HRTIMER_RESTART;
}

static struct notifier_block nooks_k_die_nb = {
	.notifier_call = nooks_k_die,
	.priority = INT_MAX,
};

/* ---- domains ---------------------------------------------------------------- */

struct nooks_kdom *nooks_k_caller(unsigned long ret_ip)
{
	struct nooks_kdom *d, *found = NULL;
	struct nooks_kctx *c;
	unsigned long flags;

	spin_lock_irqsave(&nooks_k_lock, flags);
	list_for_each_entry(d, &nooks_k_doms, link)
		if (within_module(ret_ip, d->mod)) {
			found = d;
			break;
		}
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	if (found)
		return found;
	/* a tail call from the module: the module this thread is in */
	raw_spin_lock_irqsave(&nooks_k_ctx_lock, flags);
	c = current_ctx();
	if (c)
		found = c->dom;
	raw_spin_unlock_irqrestore(&nooks_k_ctx_lock, flags);
	return found;
}
EXPORT_SYMBOL_GPL(nooks_k_caller);

static struct nooks_kdom *dom_of(struct module *mod)
{
	struct nooks_kdom *d, *found = NULL;
	unsigned long flags;

	spin_lock_irqsave(&nooks_k_lock, flags);
	list_for_each_entry(d, &nooks_k_doms, link)
		if (d->mod == mod) {
			found = d;
			break;
		}
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	return found;
}

struct init_frame {
	int (*init)(void);
	int ret;
};

static void run_init(void *p)
{
	struct init_frame *f = p;

	f->ret = f->init();
}

/* Every isolated module's init: the module's own, through nooks_k_call. */
static int nooks_k_init(void)
{
	struct nooks_kdom *d, *dom = NULL;
	struct init_frame f;
	unsigned long flags;

	spin_lock_irqsave(&nooks_k_lock, flags);
	list_for_each_entry(d, &nooks_k_doms, link)
		if (d->loader == current && !d->initialized) {
			dom = d;
			break;
		}
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	if (!dom)
		return -ENOENT;
	f.init = dom->init;
	f.ret = 0;
	if (!nooks_k_call(dom, run_init, &f, 0))
		return -EFAULT;
	dom->loader = NULL;
	dom->initialized = !f.ret;
	return f.ret;
}

struct exit_frame {
	void (*exit)(void);
};

static void run_exit(void *p)
{
	struct exit_frame *f = p;

	f->exit();
}

/* Every isolated module's exit: the module's own, through nooks_k_call,
 * unless the module failed (its objects are gone).  delete_module set
 * the module GOING before calling this: the domain is the one GOING. */
static void nooks_k_exit(void)
{
	struct nooks_kdom *d, *dom = NULL;
	struct exit_frame f;
	unsigned long flags;

	spin_lock_irqsave(&nooks_k_lock, flags);
	list_for_each_entry(d, &nooks_k_doms, link)
		if (d->mod->state == MODULE_STATE_GOING && !d->exiting) {
			dom = d;
			dom->exiting = true;
			break;
		}
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	if (!dom)
		return;
	f.exit = dom->exit;
	if (!nooks_k_call(dom, run_exit, &f, 0) && dom->faults)
		pr_err("nooks: %s: its exit faulted or it was down: unloading anyway\n", dom->name);
}

/* Does mod use nooks.ko's symbols (a module bound to the wrappers)?  The
 * loader linked it to us (ref_module) before MODULE_STATE_COMING; the
 * list is read without module_mutex, which is not exported: a module
 * that uses us and unloads at this very moment could race with it. */
static bool uses_nooks(struct module *mod)
{
	struct module_use *use;

	list_for_each_entry(use, &THIS_MODULE->source_list, source_list)
		if (use->source == mod)
			return true;
	return false;
}

static void dom_free(struct nooks_kdom *dom)
{
	struct nooks_kbind *b, *nb;
	unsigned int nregs, nobjs;
	unsigned long flags;

	flush_work(&dom->recover);
	nooks_k_cleanup(dom, &nregs, &nobjs);
	pr_info("nooks: %s: unloaded (%lu faults, %lu calls refused); it left %u registrations and %u objects, undone and released\n",
		dom->name, dom->faults, dom->refused, nregs, nobjs);
	spin_lock_irqsave(&nooks_k_lock, flags);
	list_del(&dom->link);
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	list_for_each_entry_safe(b, nb, &dom->binds, link)
		kfree(b);
	kfree(dom);
}

static int nooks_k_module(struct notifier_block *nb, unsigned long val, void *data)
{
	struct module *mod = data;
	struct nooks_kdom *dom;
	unsigned long flags;

	switch (val) {
	case MODULE_STATE_COMING:
		if (mod == THIS_MODULE || !uses_nooks(mod))
			break;
		dom = kzalloc(sizeof(*dom), GFP_KERNEL);
		if (!dom)
			return notifier_from_errno(-ENOMEM);
		dom->mod = mod;
		strscpy(dom->name, mod->name, sizeof(dom->name));
		atomic_set(&dom->state, NOOKS_K_LIVE);
		INIT_LIST_HEAD(&dom->objs);
		INIT_LIST_HEAD(&dom->regs);
		INIT_LIST_HEAD(&dom->binds);
		INIT_WORK(&dom->recover, nooks_k_recover);
		if (mod->init) {
			dom->init = mod->init;
			dom->loader = current;
			mod->init = nooks_k_init;
		} else {
			dom->initialized = true;
		}
		if (mod->exit) {
			dom->exit = mod->exit;
			mod->exit = nooks_k_exit;
		}
		spin_lock_irqsave(&nooks_k_lock, flags);
		list_add(&dom->link, &nooks_k_doms);
		spin_unlock_irqrestore(&nooks_k_lock, flags);
		pr_info("nooks: %s: isolated\n", dom->name);
		break;
	case MODULE_STATE_GOING:
		dom = dom_of(mod);
		if (dom)
			dom_free(dom);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block nooks_k_module_nb = {
	.notifier_call = nooks_k_module,
};

/* ---- /proc/nooks: one line per domain ---------------------------------------- */

static int nooks_k_show(struct seq_file *m, void *v)
{
	struct nooks_kdom *d;
	unsigned long flags;

	seq_puts(m, "module state objects faults refused\n");
	spin_lock_irqsave(&nooks_k_lock, flags);
	list_for_each_entry(d, &nooks_k_doms, link)
		seq_printf(m, "%s %s %lu %lu %lu\n", d->name,
			   atomic_read(&d->state) == NOOKS_K_LIVE ? (d->initialized ? "live" : "loading") : "failed",
			   d->nobjs, d->faults, d->refused);
	spin_unlock_irqrestore(&nooks_k_lock, flags);
	return 0;
}

static int __init nooks_k_load(void)
{
	int err = nooks_k_tracker_init();

	if (err)
		return err;
	err = register_die_notifier(&nooks_k_die_nb);
	if (err)
		return err;
	err = register_module_notifier(&nooks_k_module_nb);
	if (err)
		goto no_module_nb;
	if (!proc_create_single("nooks", 0444, NULL, nooks_k_show)) {
		err = -ENOMEM;
		goto no_proc;
	}
	pr_info("nooks: ready (recovery agent %s)\n", nooks_k_agent);
	return 0;
no_proc:
	unregister_module_notifier(&nooks_k_module_nb);
no_module_nb:
	unregister_die_notifier(&nooks_k_die_nb);
	return err;
}

static void __exit nooks_k_unload(void)
{
	remove_proc_entry("nooks", NULL);
	unregister_module_notifier(&nooks_k_module_nb);
	unregister_die_notifier(&nooks_k_die_nb);
	nooks_k_tracker_exit();
}

module_init(nooks_k_load);
module_exit(nooks_k_unload);
