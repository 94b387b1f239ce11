/*
 * fake_runtime.c - a test double of libnooks (see fake_runtime.h).
 *
 * Everything is linked lists: the tests track a handful of objects, and
 * plain lists keep the double easy to trust.  Shadows are found again by
 * scanning the views of the tracker entries (the reverse table).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_runtime.h"

#if defined(__SANITIZE_ADDRESS__)
#define FAKE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAKE_ASAN 1
#endif
#endif

#ifdef FAKE_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A slot of an ops table. */
typedef void (*fake_fnptr)(void);

struct region {
	struct region *next;
	uintptr_t start;
	size_t len;
	int write;
};

struct record {			/* a registration or a lock */
	struct record *next;	/* most recent first */
	void *obj;
	void (*fn)(void *obj);
};

struct fbinding {
	struct fbinding *next;
	struct nooks_binding b;
};

struct grave {			/* a retired shadow */
	struct grave *next;
	void *mem;
	size_t size;
};

struct nooks_domain {
	struct nooks_domain *next;	/* all live domains */
	char *name;
	int down;
	int fault_next;
	int ext_calls, kernel_calls, faults;
	int refused;			/* nooks_refused() */
	unsigned last_timeout;
	struct region *regions;
	struct record *regs, *locks;
	struct fbinding *bindings;
	struct grave *graves;
	struct logged *log;		/* replay log, oldest first */
};

/* A logged replay call (nooks_replay_record): the record and its
 * buffers copied into one block. */
struct logged {
	struct logged *next;
	void *obj;
	nooks_replay_fn fn;
	unsigned char *rec;
};

/* What one domain sees of one object. */
struct view {
	struct view *next;
	struct nooks_domain *d;
	void *shadow;		/* NULL: d sees the object itself */
	size_t size;
	int borrows;		/* outstanding nooks_out() loans */
};

struct entry {
	struct entry *next;
	void *obj;
	const struct nooks_type *t;
	struct nooks_domain *owner;	/* NULL: the kernel */
	int held;	/* tracked for its own sake, not just while borrowed */
	unsigned long seq;		/* when owner got it */
	struct view *views;
};

/* An nooks_xpc_ext() in progress, for fake_crash(). */
struct xpc {
	jmp_buf jb;
	struct xpc *prev;
};

static struct nooks_domain *domains;
static struct entry *entries;
static struct nooks_domain *self;
static struct xpc *xpc_top;
static unsigned long seq;

/* ---- helpers ------------------------------------------------------------ */

static int same_type(const struct nooks_type *a, const struct nooks_type *b)
{
	return a && b && (a == b || a->id == b->id);
}

static struct entry *find_entry(const void *obj)
{
	for (struct entry *e = entries; e; e = e->next)
		if (e->obj == obj)
			return e;
	return NULL;
}

/* The view whose shadow is p, and its entry. */
static struct view *find_shadow(const void *p, struct entry **ep)
{
	for (struct entry *e = entries; e; e = e->next)
		for (struct view *v = e->views; v; v = v->next)
			if (v->shadow && v->shadow == p) {
				*ep = e;
				return v;
			}
	return NULL;
}

static struct view *view_of(const struct entry *e, const struct nooks_domain *d)
{
	for (struct view *v = e->views; v; v = v->next)
		if (v->d == d)
			return v;
	return NULL;
}

static struct entry *new_entry(void *obj, const struct nooks_type *t,
			       struct nooks_domain *owner, int held)
{
	struct entry *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->obj = obj;
	e->t = t;
	e->owner = owner;
	e->held = held;
	e->seq = ++seq;
	e->next = entries;
	entries = e;
	return e;
}

/* Unlinks v from e and retires its shadow into its domain's graveyard. */
static void retire_view(struct entry *e, struct view *v)
{
	for (struct view **pp = &e->views; *pp; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	if (v->shadow) {
		struct grave *g = malloc(sizeof *g);
		if (g) {
			g->mem = v->shadow;
			g->size = v->size;
			g->next = v->d->graves;
			v->d->graves = g;
			POISON(v->shadow, v->size);
		} else {
			free(v->shadow);	/* no memory to keep it */
		}
	}
	free(v);
}

static void drop_entry(struct entry *e)
{
	while (e->views)
		retire_view(e, e->views);
	for (struct entry **pp = &entries; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	free(e);
}

/* An entry nobody holds nor borrows any more goes. */
static void gc_entry(struct entry *e)
{
	if (!e->held && !e->views)
		drop_entry(e);
}

static int may_use(const struct entry *e, const struct nooks_domain *d)
{
	if (!d)
		return 1;			/* the kernel */
	if (e->owner == d)
		return 1;
	const struct view *v = view_of(e, d);
	if (v && v->borrows > 0)
		return 1;
	return !e->owner && e->held;		/* tracked as the kernel's */
}

static void free_records(struct record *r)
{
	while (r) {
		struct record *next = r->next;
		free(r);
		r = next;
	}
}

static int add_record(struct record **list, void *obj, void (*fn)(void *))
{
	struct record *r = malloc(sizeof *r);
	if (!r)
		return -ENOMEM;
	r->obj = obj;
	r->fn = fn;
	r->next = *list;
	*list = r;
	return 0;
}

static void drop_record(struct record **list, const void *obj)
{
	for (struct record **pp = list; *pp; pp = &(*pp)->next)
		if ((*pp)->obj == obj) {
			struct record *r = *pp;
			*pp = r->next;
			free(r);
			return;
		}
}

static int count_records(const struct record *r)
{
	int n = 0;
	for (; r; r = r->next)
		n++;
	return n;
}

/* Frees what only d refers to; the tracker must hold nothing of d. */
static void free_domain_memory(struct nooks_domain *d)
{
	for (struct nooks_domain **pp = &domains; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	while (d->regions) {
		struct region *r = d->regions;
		d->regions = r->next;
		free(r);
	}
	free_records(d->regs);
	free_records(d->locks);
	while (d->log) {
		struct logged *l = d->log;
		d->log = l->next;
		free(l->rec);
		free(l);
	}
	while (d->bindings) {
		struct fbinding *b = d->bindings;
		d->bindings = b->next;
		free(b->b.table);
		free(b);
	}
	while (d->graves) {
		struct grave *g = d->graves;
		d->graves = g->next;
		UNPOISON(g->mem, g->size);
		free(g->mem);
		free(g);
	}
	free(d->name);
	free(d);
}

/* ---- test API ----------------------------------------------------------- */

struct nooks_domain *fake_domain_new(const char *name)
{
	struct nooks_domain *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->name = strdup(name ? name : "?");
	if (!d->name) {
		free(d);
		return NULL;
	}
	d->next = domains;
	domains = d;
	return d;
}

void fake_domain_free(struct nooks_domain *d)
{
	if (!d)
		return;
	struct nooks_domain *saved = self == d ? NULL : self;
	d->down = 1;
	self = NULL;			/* recovery runs in the kernel */

	while (d->locks) {
		struct record *r = d->locks;
		d->locks = r->next;
		if (r->fn)
			r->fn(r->obj);
		free(r);
	}
	while (d->regs) {
		struct record *r = d->regs;
		d->regs = r->next;
		if (r->fn)
			r->fn(r->obj);
		free(r);
	}
	for (;;) {
		struct entry *last = NULL;
		for (struct entry *e = entries; e; e = e->next)
			if (e->held && e->owner == d && (!last || e->seq > last->seq))
				last = e;
		if (!last)
			break;
		void *obj = last->obj;
		void (*release)(void *) = last->t->release;
		drop_entry(last);		/* before: release frees obj */
		if (release)
			release(obj);
	}
	for (struct entry *e = entries, *next; e; e = next) {
		next = e->next;
		struct view *v = view_of(e, d);
		if (v) {
			retire_view(e, v);
			gc_entry(e);
		}
	}
	free_domain_memory(d);
	self = saved;
}

const char *fake_domain_name(const struct nooks_domain *d)
{
	return d ? d->name : "kernel";
}

void fake_set_self(struct nooks_domain *d)
{
	self = d;
}

void fake_set_down(struct nooks_domain *d, int down)
{
	if (d)
		d->down = down != 0;
}

void fake_fault_next(struct nooks_domain *d)
{
	if (d)
		d->fault_next = 1;
}

_Noreturn void fake_crash(void)
{
	if (!xpc_top || !self) {
		fprintf(stderr, "fake_crash: a fault in kernel code\n");
		abort();
	}
	self->faults++;
	longjmp(xpc_top->jb, 1);
}

void fake_allow(struct nooks_domain *d, const void *p, size_t len, int write)
{
	if (!d || !p || !len || len - 1 > UINTPTR_MAX - (uintptr_t)p)
		return;
	struct region *r = malloc(sizeof *r);
	if (!r)
		return;
	r->start = (uintptr_t)p;
	r->len = len;
	r->write = write != 0;
	r->next = d->regions;
	d->regions = r;
}

int fake_ext_calls(const struct nooks_domain *d)
{
	return d ? d->ext_calls : 0;
}

int fake_kernel_calls(const struct nooks_domain *d)
{
	return d ? d->kernel_calls : 0;
}

int fake_faults(const struct nooks_domain *d)
{
	return d ? d->faults : 0;
}

int fake_refused(const struct nooks_domain *d)
{
	return d ? d->refused : 0;
}

int fake_registrations(const struct nooks_domain *d)
{
	return d ? count_records(d->regs) : 0;
}

int fake_locks(const struct nooks_domain *d)
{
	return d ? count_records(d->locks) : 0;
}

int fake_bindings(const struct nooks_domain *d)
{
	int n = 0;
	if (d)
		for (const struct fbinding *b = d->bindings; b; b = b->next)
			n++;
	return n;
}

int fake_tracked(const struct nooks_domain *d)
{
	int n = 0;
	for (const struct entry *e = entries; e; e = e->next)
		if (e->held && e->owner == d)
			n++;
	return n;
}

int fake_borrows(const struct nooks_domain *d)
{
	int n = 0;
	if (!d)
		return 0;
	for (const struct entry *e = entries; e; e = e->next) {
		const struct view *v = view_of(e, d);
		if (v)
			n += v->borrows;
	}
	return n;
}

unsigned fake_last_timeout(const struct nooks_domain *d)
{
	return d ? d->last_timeout : 0;
}

void *fake_shadow_of(struct nooks_domain *d, const void *obj)
{
	const struct entry *e = find_entry(obj);
	const struct view *v = e && d ? view_of(e, d) : NULL;
	return v ? v->shadow : NULL;
}

void *fake_object_of(const void *p)
{
	struct entry *e;
	if (!p)
		return NULL;
	e = find_entry(p);
	if (!e && !find_shadow(p, &e))
		return NULL;
	return e->obj;
}

int fake_owned_by(const void *obj, const struct nooks_domain *d)
{
	const struct entry *e = obj ? find_entry(obj) : NULL;
	if (!d)
		return !e || !e->owner;
	return e && e->held && e->owner == d;
}

int fake_borrowed_by(const void *obj, const struct nooks_domain *d)
{
	const struct entry *e = obj ? find_entry(obj) : NULL;
	const struct view *v = e && d ? view_of(e, d) : NULL;
	return v && v->borrows > 0;
}

void fake_reset(void)
{
	while (entries)
		drop_entry(entries);
	while (domains)
		free_domain_memory(domains);
	self = NULL;
	xpc_top = NULL;
	seq = 0;
}

/* ---- nooks.h ------------------------------------------------------------ */

struct nooks_domain *nooks_self(void)
{
	return self;
}

int nooks_track(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	if (!obj || !t)
		return -EINVAL;
	if (find_entry(obj))
		return -EEXIST;
	return new_entry(obj, t, d, 1) ? 0 : -ENOMEM;
}

int nooks_forget(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	struct entry *e = obj ? find_entry(obj) : NULL;
	if (!e || !same_type(e->t, t) || e->owner != d || (d && !e->held))
		return -ENOENT;
	drop_entry(e);
	return 0;
}

int nooks_transfer(struct nooks_domain *from, struct nooks_domain *to,
		   void *obj, const struct nooks_type *t)
{
	struct entry *e = obj ? find_entry(obj) : NULL;
	if (!obj || !t)
		return -ENOENT;
	if (!e) {
		/* Untracked: the kernel's, so only the kernel can give it. */
		if (from)
			return -ENOENT;
		if (!to)
			return 0;
		return new_entry(obj, t, to, 1) ? 0 : -ENOMEM;
	}
	if (!same_type(e->t, t) || e->owner != from || (from && !e->held))
		return -ENOENT;
	if (from == to)
		return 0;
	if (from) {
		struct view *v = view_of(e, from);
		if (v)
			retire_view(e, v);
	}
	e->owner = to;
	e->held = to != NULL;	/* the kernel's objects need no entry */
	e->seq = ++seq;
	if (to) {
		struct view *v = view_of(e, to);
		if (v)
			v->borrows = 0;		/* no longer a loan */
	}
	gc_entry(e);
	return 0;
}

void *nooks_in(struct nooks_domain *d, const void *p, const struct nooks_type *t)
{
	struct entry *e;
	struct view *v = NULL;

	if (!p || !t)
		return NULL;
	e = find_entry(p);
	if (!e) {
		v = find_shadow(p, &e);
		if (!v || v->d != d)
			return NULL;
	}
	if (!same_type(e->t, t) || !may_use(e, d))
		return NULL;
	if (v && t->sync_out && t->sync_out(e->obj, v->shadow) != 0)
		return NULL;
	return e->obj;
}

void *nooks_out(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	struct entry *e;
	struct view *v;
	int new_e = 0, new_v = 0;

	if (!obj || !t)
		return NULL;
	if (!d)
		return obj;
	e = find_entry(obj);
	if (e && !same_type(e->t, t))
		return NULL;
	if (!e) {
		e = new_entry(obj, t, NULL, 0);
		if (!e)
			return NULL;
		new_e = 1;
	}
	v = view_of(e, d);
	if (!v) {
		v = calloc(1, sizeof *v);
		if (!v)
			goto enomem;
		v->d = d;
		v->next = e->views;
		e->views = v;
		new_v = 1;
	}
	if (t->sync_in && !v->shadow) {
		v->size = t->size ? t->size : 1;
		v->shadow = calloc(1, v->size);
		if (!v->shadow)
			goto enomem;
	}
	if (e->owner != d)
		v->borrows++;
	if (!t->sync_in)
		return obj;
	t->sync_in(v->shadow, obj);
	return v->shadow;

enomem:
	if (new_v)
		retire_view(e, v);
	if (new_e)
		gc_entry(e);
	return NULL;
}

void nooks_refresh(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	struct entry *e = obj && d ? find_entry(obj) : NULL;
	struct view *v = e && same_type(e->t, t) ? view_of(e, d) : NULL;

	if (v && v->shadow && t->sync_in)
		t->sync_in(v->shadow, obj);
}

void nooks_refused(struct nooks_domain *d, const void *p, const struct nooks_type *t)
{
	(void)p;
	(void)t;
	if (d)
		d->refused++;
}

void nooks_end_borrow(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	struct entry *e = obj && d ? find_entry(obj) : NULL;
	struct view *v = e && same_type(e->t, t) ? view_of(e, d) : NULL;

	if (!v || v->borrows == 0)
		return;
	if (--v->borrows == 0 && e->owner != d) {
		retire_view(e, v);
		gc_entry(e);
	}
}

int nooks_check_buffer(struct nooks_domain *d, const void *p, size_t len, int write)
{
	if (len == 0)
		return 0;
	if (!d || !p)
		return -EFAULT;
	uintptr_t a = (uintptr_t)p;
	for (const struct region *r = d->regions; r; r = r->next) {
		if (a < r->start || a - r->start >= r->len)
			continue;
		if (len <= r->len - (a - r->start) && (!write || r->write))
			return 0;
	}
	return -EFAULT;
}

int nooks_check_string(struct nooks_domain *d, const char *p, size_t max)
{
	size_t bound = max ? max : FAKE_STRING_MAX, avail = 0;

	if (!d || !p)
		return -EFAULT;
	/* the region holding p that reaches furthest */
	uintptr_t a = (uintptr_t)p;
	for (const struct region *r = d->regions; r; r = r->next)
		if (a >= r->start && a - r->start < r->len &&
		    r->len - (a - r->start) > avail)
			avail = r->len - (a - r->start);
	if (!avail)
		return -EFAULT;
	/* the string and its NUL take at most bound bytes */
	if (memchr(p, '\0', avail < bound ? avail : bound))
		return 0;
	return avail < bound ? -EFAULT : -E2BIG;
}

int nooks_xpc_ext(struct nooks_domain *d, nooks_thunk fn, void *frame,
		  unsigned timeout_ms)
{
	struct nooks_domain *const saved = self;
	struct xpc x;

	if (!d || !fn)
		return -1;
	if (d->fault_next) {
		d->fault_next = 0;
		d->faults++;
		return -1;
	}
	if (d->down)
		return -1;
	d->last_timeout = timeout_ms;
	d->ext_calls++;
	x.prev = xpc_top;
	if (setjmp(x.jb)) {		/* fake_crash() */
		xpc_top = x.prev;
		self = saved;
		return -1;
	}
	xpc_top = &x;
	self = d;
	fn(frame);
	xpc_top = x.prev;
	self = saved;
	return 0;
}

void nooks_xpc_kernel(struct nooks_domain *d, nooks_thunk fn, void *frame)
{
	struct nooks_domain *saved = self;

	if (!fn)
		return;
	if (d)
		d->kernel_calls++;
	self = NULL;
	fn(frame);
	self = saved;
}

int nooks_record_registration(struct nooks_domain *d, void *obj,
			      void (*undo)(void *obj))
{
	return d ? add_record(&d->regs, obj, undo) : -EINVAL;
}

void nooks_drop_registration(struct nooks_domain *d, void *obj)
{
	if (d)
		drop_record(&d->regs, obj);
}

int nooks_record_lock(struct nooks_domain *d, void *lock,
		      void (*unlock)(void *lock))
{
	return d ? add_record(&d->locks, lock, unlock) : -EINVAL;
}

void nooks_drop_lock(struct nooks_domain *d, void *lock)
{
	if (d)
		drop_record(&d->locks, lock);
}

struct nooks_binding *nooks_bind_ops(struct nooks_domain *d, const void *orig,
				     const void *wrappers, size_t size)
{
	if (!d || !orig || !wrappers)
		return NULL;
	struct fbinding *b = calloc(1, sizeof *b);
	unsigned char *table = malloc(size ? size : 1);
	if (!b || !table) {
		free(b);
		free(table);
		return NULL;
	}
	memcpy(table, wrappers, size);
	for (size_t i = 0; i < size / sizeof(fake_fnptr); i++) {
		fake_fnptr f;
		memcpy(&f, (const unsigned char *)orig + i * sizeof f, sizeof f);
		if (!f) {
			f = NULL;
			memcpy(table + i * sizeof f, &f, sizeof f);
		}
	}
	b->b.domain = d;
	b->b.orig = orig;
	b->b.table = table;
	b->b.size = size;
	b->next = d->bindings;
	d->bindings = b;
	return &b->b;
}

const struct nooks_binding *nooks_binding_of(const void *table)
{
	if (!table)
		return NULL;
	for (const struct nooks_domain *d = domains; d; d = d->next)
		for (const struct fbinding *b = d->bindings; b; b = b->next)
			if (b->b.table == table)
				return &b->b;
	return NULL;
}

/* ---- replay ----------------------------------------------------------------- */

static int registered_by(const struct nooks_domain *d, const void *obj)
{
	for (const struct record *r = d->regs; r; r = r->next)
		if (r->obj == obj)
			return 1;
	return 0;
}

int nooks_replay_record(struct nooks_domain *d, void *obj, nooks_replay_fn fn,
			const void *record, size_t size,
			const struct nooks_replay_buf *bufs, size_t nbufs)
{
	if (!d || !obj || !fn || !record)
		return -EINVAL;
	if (!registered_by(d, obj))
		return -ENOENT;
	size_t total = size, at[16];
	if (nbufs > 16)
		return -EINVAL;
	for (size_t i = 0; i < nbufs; i++) {
		const void *p;
		memcpy(&p, (const unsigned char *)record + bufs[i].offset, sizeof p);
		size_t len = !p ? 0 : bufs[i].len == NOOKS_REPLAY_STRING ?
			strlen(p) + 1 : bufs[i].len;
		total = (total + 15) & ~(size_t)15;
		at[i] = total;
		total += len;
	}
	struct logged *l = calloc(1, sizeof *l);
	unsigned char *rec = malloc(total ? total : 1);
	if (!l || !rec) {
		free(l);
		free(rec);
		return -ENOMEM;
	}
	memcpy(rec, record, size);
	for (size_t i = 0; i < nbufs; i++) {
		const void *p;
		memcpy(&p, (const unsigned char *)record + bufs[i].offset, sizeof p);
		if (!p)
			continue;
		size_t len = bufs[i].len == NOOKS_REPLAY_STRING ? strlen(p) + 1 : bufs[i].len;
		memcpy(rec + at[i], p, len);
		void *q = rec + at[i];
		memcpy(rec + bufs[i].offset, &q, sizeof q);
	}
	l->obj = obj;
	l->fn = fn;
	l->rec = rec;
	/* the latest call of an entry on an object supersedes the others */
	struct logged **pp = &d->log;
	while (*pp) {
		if ((*pp)->obj == obj && (*pp)->fn == fn) {
			struct logged *old = *pp;
			*pp = old->next;
			free(old->rec);
			free(old);
		} else {
			pp = &(*pp)->next;
		}
	}
	*pp = l;
	return 0;
}

int fake_replay_logged(const struct nooks_domain *d)
{
	int n = 0;
	for (const struct logged *l = d ? d->log : NULL; l; l = l->next)
		n++;
	return n;
}

int fake_replay(struct nooks_domain *d, void *obj)
{
	struct nooks_domain *saved = self;
	struct logged *l = d->log;
	int n = 0;

	d->log = NULL;			/* the calls log themselves again */
	self = NULL;
	while (l) {
		struct logged *next = l->next;
		l->fn(obj, l->rec);
		free(l->rec);
		free(l);
		l = next;
		n++;
	}
	self = saved;
	return n;
}
