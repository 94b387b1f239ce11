/* SPDX-License-Identifier: GPL-2.0 */
/* internal.h - nooks.ko's own declarations (main.c, tracker.c, recovery.c). */
#ifndef NOOKS_KMOD_INTERNAL_H
#define NOOKS_KMOD_INTERNAL_H

#include <linux/module.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include "nooks_kmod.h"

enum { NOOKS_K_LIVE, NOOKS_K_FAILED };

struct nooks_kdom {
	struct list_head link;		/* nooks_k_doms */
	struct module *mod;
	char name[MODULE_NAME_LEN];
	atomic_t state;			/* NOOKS_K_LIVE, NOOKS_K_FAILED */
	int (*init)(void);		/* the module's own init */
	void (*exit)(void);		/* and exit */
	bool exiting;
	struct task_struct *loader;	/* insmod, until init returned */
	bool initialized;
	struct list_head objs;		/* nooks_kobj, newest first */
	struct list_head regs;		/* nooks_kreg, newest first */
	struct list_head binds;		/* nooks_kbind */
	struct work_struct recover;
	unsigned long nobjs, faults, refused;
};

extern spinlock_t nooks_k_lock;		/* domains, objects, registrations, bindings */
extern struct list_head nooks_k_doms;
extern char *nooks_k_agent;

/* tracker.c */
int nooks_k_tracker_init(void);
void nooks_k_tracker_exit(void);
/* up to max objects dom registered that are of type t, oldest first */
unsigned int nooks_k_regs_of(struct nooks_kdom *dom, const struct nooks_ktype *t, void **objs,
			     unsigned int max);
/* undoes dom's registrations and releases its objects, newest first */
void nooks_k_cleanup(struct nooks_kdom *dom, unsigned int *nregs, unsigned int *nobjs);

/* recovery.c */
void nooks_k_recover(struct work_struct *work);

#endif
