/*
 * tracker.c - the object tracker: objects, shadows, loans, recovery
 * records, ops bindings and the memory an extension may pass (nooks.h,
 * internal.h).
 *
 * Semantics (tests/codegen and tests/runtime hold the runtime to them):
 *
 *  - An entry is obj -> {type, owner (NULL: the kernel), held (tracked for
 *    its own sake: nooks_track or nooks_transfer), views}.  A view is what
 *    one domain sees of the object: its shadow (NULL for a shadowless
 *    type) and its borrow count.  An object the kernel lent with
 *    nooks_out() and nothing else is tracked only while it is borrowed.
 *  - Who may use an object (nooks_in): its owner; a domain that borrows
 *    it; anyone for an object tracked as the kernel's; the kernel (d NULL)
 *    always.  A shadow only by its own domain.
 *  - Borrows nest; the shadow goes with the last nooks_end_borrow().
 *  - A shadow that goes is *retired*: no longer a shadow of anything; its
 *    memory (in the domain's shadow area, never the kernel's heap) waits
 *    in quarantine for the next 1024 retirements before a shadow of the
 *    same size may reuse it, so a stale extension pointer is refused
 *    rather than taken for a newer shadow for that long; all of it goes
 *    with the domain (nk_tracker_release_domain).  Under
 *    AddressSanitizer retired shadows are poisoned.
 *  - Transfer to the kernel untracks; transfer from the kernel accepts an
 *    untracked object (the kernel owns everything no domain owns).
 *
 * Tables (all chained hash tables keyed by an address, average O(1)):
 *    objects   obj address        -> entry       (one table per stripe)
 *    shadows   shadow address     -> view        (nooks_in of a shadow;
 *              one table per shadow stripe)
 *    granules  address >> 8       -> view        (interior pointers into
 *              live shadows, for nooks_check_buffer/string: each shadow is
 *              entered once per 256-byte granule it overlaps, so a lookup
 *              walks the few shadows that overlap one granule)
 *    domains   domain pointer     -> per-domain state (never dereferenced)
 *    locks, regs  object address  -> recovery record
 *    bindings  binding->table     -> binding
 *  Per domain: owned entries and recovery records in doubly linked lists
 *  (newest first: O(1) removal, release order for free), its views, its
 *  bindings, its memory regions (a small array, scanned: a domain has a
 *  handful) and its retired shadows (a ring of fixed size made with the
 *  first shadow, so retiring never fails).
 *
 * Shadows shared by threads.  All of a domain's threads see an object
 * through one shadow, so one thread may be inside the extension with
 * writes to it not yet copied back while another thread's crossing
 * refreshes it from the object.  Each shadow keeps a base: the object's
 * values as the shadow last took them in or gave them back.  A refresh
 * keeps the bytes the extension changed since (shadow != base) and takes
 * the object's for the rest, so a concurrent crossing never undoes a
 * write another thread made (a driver setting its MTU while its receive
 * path enters with the same device).  A copy back that is refused
 * (invalid writes) drops what was pending.
 *
 * Locking: no global lock on the crossing path; three kinds of mutex.
 *  - Object stripes (64, chosen by hashing the object's address): each
 *    guards its objects table and, of each of its entries, the entry's
 *    fields, its views' borrow counts and which views it has, and their
 *    shadows' contents and bases.  nooks_in, nooks_out, nooks_refresh
 *    and nooks_end_borrow of an object whose entry and view exist take
 *    its stripe and nothing else, so crossings with different objects
 *    never wait for each other (unless their addresses share a stripe).
 *    sync_in/sync_out run under the stripe only (they copy fields and
 *    must not call the runtime).
 *  - Shadow stripes (64, by the shadow's address): each guards its
 *    shadows table.  nooks_in of a shadow pointer takes the shadow's
 *    stripe, reads the object's address, lets go, then takes the
 *    object's stripe and looks the view up anew: it is used only if it
 *    still exists and still has that very shadow (a view retired
 *    meanwhile is never touched).  A shadow stripe is held on its own or
 *    innermost, for one table operation.
 *  - dom_lock guards everything else: per-domain state (owned lists and
 *    counts, views lists, shadow memory, quarantine, quotas, regions,
 *    bindings, records), the domains, granules, locks, regs and bindings
 *    tables, the quotas and the kernel's count.  Object paths take it
 *    inside the object's stripe and only on their slow paths: a new
 *    entry, view or shadow, a view or entry that goes, ownership
 *    (track, forget, transfer), records.  The memory checks, bindings
 *    and quotas take it alone (nooks_binding_of() and the buffer and
 *    string checks answer from per-thread caches on a hit, below).
 *  Order: one object stripe, then dom_lock, then one shadow stripe.  No
 *  path holds two object stripes except the domain-wide ones
 *  (nk_tracker_release_domain: lock_all() takes every object stripe in
 *  index order, then dom_lock).  Release, undo and unlock callbacks run
 *  without any lock, so they may call back into the tracker.
 *  Operations that would give a domain something new (track, transfer
 *  to it, nooks_out, records, bindings, regions) fail while the domain is
 *  being released (-ENODEV, or NULL): they all check under dom_lock.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nooks_internal.h"
#include "nooks.h"

#if defined(__SANITIZE_ADDRESS__)
#define NK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NK_ASAN 1
#endif
#endif

#ifdef NK_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* nooks_check_string()'s bound when max is 0. */
#define NK_STRING_MAX 4096

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* ---- hash tables ---------------------------------------------------------- */

struct hnode {
	struct hnode *next;
	uintptr_t key;
};

#define HMIN_BITS 6

struct htab {
	struct hnode **b;	/* NULL: init */
	unsigned bits;
	size_t n;
	struct hnode *init[1u << HMIN_BITS];	/* first buckets: inserting never fails */
};

#define HTAB_INIT(name) static struct htab name = { .bits = HMIN_BITS }

static inline struct hnode **hbuckets(struct htab *h)
{
	return h->b ? h->b : h->init;
}

static inline size_t hidx(unsigned bits, uintptr_t key)
{
	return (size_t)(((uint64_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - bits));
}

static void hresize(struct htab *h, unsigned bits)
{
	size_t nb = (size_t)1 << bits, ob = (size_t)1 << h->bits;
	struct hnode **b = bits == HMIN_BITS ? h->init : calloc(nb, sizeof *b);

	if (!b)
		return;			/* keep the old one, only slower */
	if (b == h->init)
		memset(b, 0, nb * sizeof *b);
	struct hnode **old = hbuckets(h);
	for (size_t i = 0; i < ob; i++)
		for (struct hnode *n = old[i], *next; n; n = next) {
			next = n->next;
			size_t j = hidx(bits, n->key);
			n->next = b[j];
			b[j] = n;
		}
	if (old != h->init)
		free(old);
	h->b = b;
	h->bits = bits;
}

/* Inserted first in its bucket; a table grows at load 1. */
static void hadd(struct htab *h, struct hnode *n, uintptr_t key)
{
	if (h->n >= (size_t)1 << h->bits && h->bits < 8 * sizeof(size_t) - 2)
		hresize(h, h->bits + 1);
	n->key = key;
	struct hnode **b = &hbuckets(h)[hidx(h->bits, key)];
	n->next = *b;
	*b = n;
	h->n++;
}

static void hdel(struct htab *h, struct hnode *n)
{
	struct hnode **pp = &hbuckets(h)[hidx(h->bits, n->key)];
	while (*pp != n)
		pp = &(*pp)->next;
	*pp = n->next;
	h->n--;
	if (h->bits > HMIN_BITS && h->n < ((size_t)1 << h->bits) / 8)
		hresize(h, h->bits - 1);
}

static inline struct hnode *hfirst(struct htab *h, uintptr_t key)
{
	struct hnode *n = hbuckets(h)[hidx(h->bits, key)];
	while (n && n->key != key)
		n = n->next;
	return n;
}

static inline struct hnode *hnext(struct hnode *n)
{
	uintptr_t key = n->key;
	for (n = n->next; n && n->key != key; n = n->next)
		;
	return n;
}

/* ---- the tracker's state -------------------------------------------------- */

struct dstate;

struct entry {
	struct hnode h;			/* objects: key = obj */
	const struct nooks_type *t;
	struct dstate *owner;		/* NULL: the kernel */
	bool held;			/* tracked for its own sake */
	struct view *views;		/* one per domain that sees it */
	struct entry *oprev, *onext;	/* owner's list, newest first */
};

struct gnode {				/* one granule a live shadow overlaps */
	struct hnode h;			/* granules: key = address >> GRAN_SHIFT */
	struct view *v;
};

#define GRAN_SHIFT 8
#define GN_INLINE 2

struct view {
	struct hnode h;			/* shadows: key = shadow (if any) */
	struct entry *e;
	struct dstate *ds;
	struct view *enext;		/* e's views */
	struct view *dprev, *dnext;	/* ds's views */
	void *shadow;			/* NULL: d sees the object itself */
	unsigned char *base;		/* the object as the shadow last synced */
	size_t size;
	int borrows;			/* outstanding nooks_out() loans */
	unsigned ngn;
	struct gnode *gn;		/* gn_inline, or allocated */
	struct gnode gn_inline[GN_INLINE];
};

struct record {				/* a registration or a held lock */
	struct hnode h;			/* locks or regs: key = obj */
	struct dstate *ds;
	struct record *prev, *next;	/* ds's list, newest first */
	void (*fn)(void *obj);
	uint64_t seq;
	unsigned ord;			/* registrations: see nk_tracker_registration */
};

struct bnode {
	struct nooks_binding b;
	struct hnode h;			/* bindings: key = b.table */
	struct bnode *next;		/* ds's list */
	const void *wrappers;		/* the generated table it copies */
};

struct region {
	uintptr_t start;
	size_t len;
	bool write;
};

struct grave {				/* a retired shadow */
	void *mem;
	size_t size;
};

/*
 * Shadows live in memory of the domain's own, never next to the kernel's:
 * one reserved mapping per domain (SHADOW_AREA, only touched pages cost,
 * a guard page after it), carved 16 bytes at a time.  An overrun of a
 * shadow reaches other shadows of the same domain or the guard page,
 * never the kernel's heap.  The bookkeeping is all on the kernel's side.
 * A retired shadow waits in quarantine (the last SHADOW_QUARANTINE
 * retired ones, oldest first) before its memory is reused for a shadow
 * of the same size class, so a stale pointer into it is refused, not
 * taken for a newer object, for that long.
 */
#define SHADOW_AREA ((size_t)16 << 20)
#define SHADOW_QUARANTINE 1024
#define SHADOW_CLASSES 65		/* 16, 32, ... 1024 bytes; larger: no reuse */

struct sreuse {
	void *mem;
	struct sreuse *next;
};

struct dstate {
	struct hnode h;			/* domains: key = the domain pointer */
	bool dying;			/* nk_tracker_release_domain() runs */
	struct entry *owned;		/* held entries it owns, newest first */
	int nowned;
	struct view *views;
	int nshadows;			/* live shadows among the views */
	struct record *locks, *regs;	/* newest first */
	struct bnode *bindings;
	struct region *regions;
	size_t nregions, capregions;
	struct grave *graves;		/* the quarantine: a ring, oldest at ghead */
	size_t ngraves, ghead;
	unsigned char *sarea;		/* its shadows' memory (SHADOW_AREA) */
	size_t sused;
	struct sreuse *reuse[SHADOW_CLASSES];	/* out of quarantine */
	/* owned objects per type with a quota (ids as in the quota tables) */
	struct { uint32_t id; long n; } counts[NK_QUOTA_TYPES];
	/* registrations made, per undo function (the registering kernel
	 * function), since the domain's holdings were last released */
	struct { void (*fn)(void *); unsigned n; } regkinds[NK_REG_KINDS];
};

/*
 * The locks (see "Locking" above).  An object's entry, its views and
 * their shadows' contents are guarded by the object's stripe; which
 * shadow address belongs to which view by the shadow's stripe; all the
 * rest (per-domain state, granules, records, bindings, quotas) by
 * dom_lock.
 */
#define STRIPE_BITS 6
#define NSTRIPES (1u << STRIPE_BITS)

struct stripe {
	pthread_mutex_t m;
	struct htab t;		/* objects (ostripes) or shadows (sstripes) */
} __attribute__((aligned(64)));

#define STRIPES_INIT \
	{ [0 ... NSTRIPES - 1] = { PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP, { .bits = HMIN_BITS } } }
static struct stripe ostripes[NSTRIPES] = STRIPES_INIT;
static struct stripe sstripes[NSTRIPES] = STRIPES_INIT;
static pthread_mutex_t dom_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;

/* Another multiplier than hidx()'s, so that the keys of one stripe
 * still spread over its table's buckets. */
static inline struct stripe *stripe_of(struct stripe *tab, const void *key)
{
	return &tab[((uint64_t)(uintptr_t)key * UINT64_C(0xff51afd7ed558ccd)) >> (64 - STRIPE_BITS)];
}

#define ostripe(obj) stripe_of(ostripes, (obj))
#define sstripe(shadow) stripe_of(sstripes, (shadow))
#define SLOCK(s) pthread_mutex_lock(&(s)->m)
#define SUNLOCK(s) pthread_mutex_unlock(&(s)->m)
#define DLOCK() pthread_mutex_lock(&dom_lock)
#define DUNLOCK() pthread_mutex_unlock(&dom_lock)

/* The domain-wide paths: every object stripe in index order, then
 * dom_lock. */
static void lock_all(void)
{
	for (unsigned i = 0; i < NSTRIPES; i++)
		SLOCK(&ostripes[i]);
	DLOCK();
}

static void unlock_all(void)
{
	DUNLOCK();
	for (unsigned i = NSTRIPES; i-- > 0;)
		SUNLOCK(&ostripes[i]);
}

HTAB_INIT(granules);
HTAB_INIT(domains);
HTAB_INIT(locks);
HTAB_INIT(regs);
HTAB_INIT(bindings);
static int kernel_held;			/* entries tracked as the kernel's */
static uint64_t record_seq;
/* bumped (under dom_lock) whenever bindings go: the per-thread cache of
 * nooks_binding_of() holds what it saw under one value only */
static atomic_ulong bindings_gen = 1;
/* bumped (under dom_lock) whenever a domain's regions shrink: the
 * per-thread region cache of nooks_check_buffer/string likewise */
static atomic_ulong regions_gen = 1;

/*
 * Buffers an extension passes are mostly in one or two regions of its
 * own (its heap, its data): each thread keeps the last few regions a
 * check found (a copy, not a pointer), valid while regions_gen has not
 * moved, and answers from them without a lock.  Regions are only
 * added between two moves, so a cached region is still registered.
 */
#define RCACHE 4
static __thread struct {
	const struct nooks_domain *d;
	struct region r;
	unsigned long gen;
} rcache[RCACHE];
static __thread unsigned rcache_next;

/* The bytes from a that a cached region of d holds (0: none known). */
static size_t rcache_avail(const struct nooks_domain *d, uintptr_t a, bool write)
{
	unsigned long gen = atomic_load_explicit(&regions_gen, memory_order_acquire);
	for (unsigned i = 0; i < RCACHE; i++) {
		const struct region *r = &rcache[i].r;
		if (rcache[i].d == d && rcache[i].gen == gen && a >= r->start &&
		    a - r->start < r->len && (!write || r->write))
			return r->len - (a - r->start);
	}
	return 0;
}

/* Under dom_lock: r of d found by a check, for this thread's next ones. */
static void rcache_put(const struct nooks_domain *d, const struct region *r)
{
	unsigned i = rcache_next++ % RCACHE;
	rcache[i].d = d;
	rcache[i].r = *r;
	rcache[i].gen = atomic_load_explicit(&regions_gen, memory_order_relaxed);
}

static inline struct nooks_domain *dom_of(const struct dstate *ds)
{
	return (struct nooks_domain *)ds->h.key;
}

static inline bool same_type(const struct nooks_type *a, const struct nooks_type *b)
{
	return a && b && (a == b || a->id == b->id);
}

static inline void *obj_of(const struct entry *e)
{
	return (void *)e->h.key;
}

/* Under obj's stripe. */
static inline struct entry *find_entry(const void *obj)
{
	struct hnode *n = hfirst(&ostripe(obj)->t, (uintptr_t)obj);
	return n ? container_of(n, struct entry, h) : NULL;
}

/* Under p's shadow stripe. */
static inline struct view *find_shadow(const void *p)
{
	struct hnode *n = hfirst(&sstripe(p)->t, (uintptr_t)p);
	return n ? container_of(n, struct view, h) : NULL;
}

static inline struct dstate *find_dstate(const struct nooks_domain *d)
{
	struct hnode *n = hfirst(&domains, (uintptr_t)d);
	return n ? container_of(n, struct dstate, h) : NULL;
}

/* d's state, made if it has none; NULL on ENOMEM or while d is released.
 * Under dom_lock, like everything about a domain's state. */
static struct dstate *get_dstate(struct nooks_domain *d)
{
	struct dstate *ds = find_dstate(d);
	if (!ds) {
		ds = calloc(1, sizeof *ds);
		if (!ds)
			return NULL;
		hadd(&domains, &ds->h, (uintptr_t)d);
	}
	return ds->dying ? NULL : ds;
}

static inline struct view *view_of(const struct entry *e, const struct nooks_domain *d)
{
	for (struct view *v = e->views; v; v = v->enext)
		if (dom_of(v->ds) == d)
			return v;
	return NULL;
}

static inline bool owned_by(const struct entry *e, const struct nooks_domain *d)
{
	return e->owner && dom_of(e->owner) == d;
}

static bool may_use(const struct entry *e, const struct nooks_domain *d)
{
	if (!d || owned_by(e, d))
		return true;
	const struct view *v = view_of(e, d);
	if (v && v->borrows > 0)
		return true;
	return !e->owner && e->held;		/* tracked as the kernel's */
}

/* ---- ownership ------------------------------------------------------------ */

/* ds's count of owned objects of type id, if that type has a quota
 * (default or ds's own); NULL otherwise.  make: find a free one too. */
static long *type_count(struct dstate *ds, uint32_t id, bool make);

/* Under e's stripe and dom_lock, as are new_view(), make_shadow(),
 * retire_view(), drop_entry() and gc_entry(). */
static void set_owner(struct entry *e, struct dstate *to, bool held)
{
	long *c;

	if (e->owner && (c = type_count(e->owner, e->t->id, false)))
		(*c)--;
	if (to && (c = type_count(to, e->t->id, true)))
		(*c)++;
	if (!e->owner && e->held)
		kernel_held--;
	if (e->owner) {
		struct dstate *ds = e->owner;
		if (e->oprev)
			e->oprev->onext = e->onext;
		else
			ds->owned = e->onext;
		if (e->onext)
			e->onext->oprev = e->oprev;
		e->oprev = e->onext = NULL;
		ds->nowned--;
	}
	e->owner = to;
	e->held = held;
	if (to) {
		e->oprev = NULL;
		e->onext = to->owned;
		if (to->owned)
			to->owned->oprev = e;
		to->owned = e;
		to->nowned++;
	} else if (held) {
		kernel_held++;
	}
}

static struct entry *new_entry(void *obj, const struct nooks_type *t)
{
	struct entry *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->t = t;
	hadd(&ostripe(obj)->t, &e->h, (uintptr_t)obj);
	return e;
}

/* ---- views and shadows ---------------------------------------------------- */

static struct view *new_view(struct entry *e, struct dstate *ds)
{
	struct view *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->e = e;
	v->ds = ds;
	v->enext = e->views;
	e->views = v;
	v->dnext = ds->views;
	if (ds->views)
		ds->views->dprev = v;
	ds->views = v;
	return v;
}

static size_t shadow_class(size_t size)
{
	return (size + 15) / 16;	/* SHADOW_CLASSES and above: none */
}

/* Memory for a shadow of size bytes in ds's area, zeroed; NULL. */
static void *shadow_alloc(struct dstate *ds, size_t size)
{
	size_t cls = shadow_class(size), len = cls * 16;
	void *p;

	if (cls < SHADOW_CLASSES && ds->reuse[cls]) {
		struct sreuse *r = ds->reuse[cls];
		ds->reuse[cls] = r->next;
		p = r->mem;
		free(r);
		UNPOISON(p, len);
		memset(p, 0, len);
		return p;
	}
	if (!ds->graves) {		/* the quarantine, made once */
		ds->graves = malloc(SHADOW_QUARANTINE * sizeof *ds->graves);
		if (!ds->graves)
			return NULL;
	}
	if (!ds->sarea) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		/* a process domain's is in its window, which both sides map */
		unsigned char *a = nk_proc_shadow_area((struct nooks_domain *)ds->h.key,
						       SHADOW_AREA + page);
		if (!a)
			a = mmap(NULL, SHADOW_AREA + page, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (a == MAP_FAILED)
			return NULL;
		mprotect(a + SHADOW_AREA, page, PROT_NONE);
		ds->sarea = a;
	}
	if (len > SHADOW_AREA - ds->sused)
		return NULL;
	p = ds->sarea + ds->sused;	/* never used: zero */
	ds->sused += len;
	return p;
}

/* A retired shadow into quarantine; the oldest one out of it, to be
 * reused (or, without memory for the note, never). */
static void shadow_retire(struct dstate *ds, void *mem, size_t size)
{
	POISON(mem, shadow_class(size) * 16);
	if (ds->ngraves == SHADOW_QUARANTINE) {
		struct grave g = ds->graves[ds->ghead];
		size_t cls = shadow_class(g.size);
		struct sreuse *r = cls < SHADOW_CLASSES ? malloc(sizeof *r) : NULL;
		if (r) {
			r->mem = g.mem;
			r->next = ds->reuse[cls];
			ds->reuse[cls] = r;
		}
		ds->ghead = (ds->ghead + 1) % SHADOW_QUARANTINE;
		ds->ngraves--;
	}
	ds->graves[(ds->ghead + ds->ngraves) % SHADOW_QUARANTINE] = (struct grave){ mem, size };
	ds->ngraves++;
}

/* All of ds's shadow memory goes (its release). */
static void shadow_area_free(struct dstate *ds)
{
	for (size_t c = 0; c < SHADOW_CLASSES; c++)
		while (ds->reuse[c]) {
			struct sreuse *r = ds->reuse[c];
			ds->reuse[c] = r->next;
			free(r);
		}
	free(ds->graves);
	if (ds->sarea) {
		UNPOISON(ds->sarea, ds->sused);
		if (!nk_proc_shadow_area_is((struct nooks_domain *)ds->h.key, ds->sarea))
			munmap(ds->sarea, SHADOW_AREA + (size_t)sysconf(_SC_PAGESIZE));
	}
}

static int make_shadow(struct view *v, size_t size)
{
	struct dstate *ds = v->ds;
	if (!size)
		size = 1;
	void *s = shadow_alloc(ds, size);
	if (!s)
		return -ENOMEM;
	unsigned char *base = calloc(1, size);
	if (!base) {
		shadow_retire(ds, s, size);
		return -ENOMEM;
	}
	uintptr_t a = (uintptr_t)s;
	size_t g0 = a >> GRAN_SHIFT, g1 = (a + size - 1) >> GRAN_SHIFT;
	size_t n = g1 - g0 + 1;
	struct gnode *gn = v->gn_inline;
	if (n > GN_INLINE) {
		gn = malloc(n * sizeof *gn);
		if (!gn) {
			free(base);
			shadow_retire(ds, s, size);
			return -ENOMEM;
		}
	}
	v->shadow = s;
	v->base = base;
	v->size = size;
	v->gn = gn;
	v->ngn = (unsigned)n;
	struct stripe *ss = sstripe(s);
	SLOCK(ss);
	hadd(&ss->t, &v->h, a);
	SUNLOCK(ss);
	for (size_t i = 0; i < n; i++) {
		gn[i].v = v;
		hadd(&granules, &gn[i].h, g0 + i);
	}
	ds->nshadows++;
	return 0;
}

/* Under the object's stripe (only: sync_in may take its time).
 * The object's values into v's shadow, keeping what the extension wrote
 * to the shadow since it was last synced (see "Shadows shared by
 * threads" above); fresh: a new shadow, nothing pending. */
static void shadow_refresh(struct view *v, const struct nooks_type *t, const void *obj, bool fresh)
{
	unsigned char *sh = v->shadow, *base = v->base, stack[512], *pending = stack;

	if (fresh || !memcmp(sh, base, v->size)) {
		t->sync_in(sh, obj);
		memcpy(base, sh, v->size);
		return;
	}
	if (v->size > sizeof stack && !(pending = malloc(v->size))) {
		/* no room to merge: what is pending waits for the next refresh */
		return;
	}
	memcpy(pending, sh, v->size);
	t->sync_in(sh, obj);
	for (size_t i = 0; i < v->size; i++) {
		unsigned char fresh_byte = sh[i];
		if (pending[i] != base[i])
			sh[i] = pending[i];
		base[i] = fresh_byte;
	}
	if (pending != stack)
		free(pending);
}

/* v's shadow back into the object; 0, or nonzero when refused (then the
 * shadow is the object's again: the invalid writes are dropped). */
static int shadow_writeback(struct view *v, const struct nooks_type *t, void *obj)
{
	if (!t->sync_out)
		return 0;
	if (t->sync_out(obj, v->shadow) == 0) {
		memcpy(v->base, v->shadow, v->size);
		return 0;
	}
	if (t->sync_in)
		shadow_refresh(v, t, obj, true);
	return -1;
}

/* Unlinks v from its entry and domain; its shadow becomes a grave. */
static void retire_view(struct view *v)
{
	struct dstate *ds = v->ds;
	struct entry *e = v->e;

	for (struct view **pp = &e->views; *pp; pp = &(*pp)->enext)
		if (*pp == v) {
			*pp = v->enext;
			break;
		}
	if (v->dprev)
		v->dprev->dnext = v->dnext;
	else
		ds->views = v->dnext;
	if (v->dnext)
		v->dnext->dprev = v->dprev;
	if (v->shadow) {
		struct stripe *ss = sstripe(v->shadow);
		SLOCK(ss);
		hdel(&ss->t, &v->h);
		SUNLOCK(ss);
		for (unsigned i = 0; i < v->ngn; i++)
			hdel(&granules, &v->gn[i].h);
		if (v->gn != v->gn_inline)
			free(v->gn);
		free(v->base);
		shadow_retire(ds, v->shadow, v->size);
		ds->nshadows--;
	}
	free(v);
}

static void drop_entry(struct entry *e)
{
	while (e->views)
		retire_view(e->views);
	set_owner(e, NULL, false);
	hdel(&ostripe(obj_of(e))->t, &e->h);
	free(e);
}

/* An entry nobody holds nor borrows any more goes. */
static void gc_entry(struct entry *e)
{
	if (!e->held && !e->views)
		drop_entry(e);
}

/* The live shadow of d that holds p, or NULL; under dom_lock. */
static struct view *shadow_holding(const struct dstate *ds, uintptr_t p)
{
	for (struct hnode *n = hfirst(&granules, p >> GRAN_SHIFT); n; n = hnext(n)) {
		struct view *v = container_of(n, struct gnode, h)->v;
		uintptr_t s = (uintptr_t)v->shadow;
		if (v->ds == ds && p >= s && p - s < v->size)
			return v;
	}
	return NULL;
}

/* ---- objects -------------------------------------------------------------- */

/* ---- quotas --------------------------------------------------------------- */

/* Default quotas, by type id (the FNV-1a hash nooksc gives type names),
 * and each domain's overrides (struct nooks_domain).  Under dom_lock. */
static struct nk_quota default_quota[NK_QUOTA_TYPES];
static int ndefault_quota;

static uint32_t type_id(const char *name)
{
	uint32_t h = 2166136261u;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

/* d's quota for type id: its own, else the default; -1: none. */
static long quota_of(const struct nooks_domain *d, uint32_t id)
{
	for (int i = 0; i < d->nquota; i++)
		if (d->quota[i].id == id)
			return d->quota[i].max;
	for (int i = 0; i < ndefault_quota; i++)
		if (default_quota[i].id == id)
			return default_quota[i].max;
	return -1;
}

static long *type_count(struct dstate *ds, uint32_t id, bool make)
{
	for (int i = 0; i < NK_QUOTA_TYPES; i++)
		if (ds->counts[i].id == id && (ds->counts[i].id || ds->counts[i].n))
			return &ds->counts[i].n;
	if (!make || quota_of(dom_of(ds), id) < 0)
		return NULL;
	for (int i = 0; i < NK_QUOTA_TYPES; i++)
		if (!ds->counts[i].id && !ds->counts[i].n) {
			ds->counts[i].id = id;
			return &ds->counts[i].n;
		}
	return NULL;
}

static int set_quota(struct nk_quota *tab, int *n, const char *type, long max)
{
	uint32_t id = type_id(type);
	int i;

	for (i = 0; i < *n && tab[i].id != id; i++)
		;
	if (i == NK_QUOTA_TYPES)
		return -ENOSPC;
	tab[i].id = id;
	tab[i].max = max;
	if (i == *n)
		(*n)++;
	return 0;
}

int nooks_set_default_quota(const char *type, long max)
{
	if (!type)
		return -EINVAL;
	DLOCK();
	int r = set_quota(default_quota, &ndefault_quota, type, max);
	DUNLOCK();
	return r;
}

int nooks_domain_set_quota(struct nooks_domain *d, const char *type, long max)
{
	if (!d || !type)
		return -EINVAL;
	DLOCK();
	int r = set_quota(d->quota, &d->nquota, type, max);
	DUNLOCK();
	return r;
}

long nooks_domain_quota(const struct nooks_domain *d, const char *type)
{
	DLOCK();
	long q = quota_of(d, type_id(type));
	DUNLOCK();
	return q;
}

/* Would one more object of type t exceed d's quota?  Under dom_lock. */
static bool over_quota(struct dstate *ds, const struct nooks_type *t)
{
	struct nooks_domain *d = dom_of(ds);
	long q = quota_of(d, t->id), *c;

	if (q < 0)
		return false;
	c = type_count(ds, t->id, true);
	if (c && *c < q)
		return false;
	if (atomic_fetch_add(&d->quota_refused, 1) == 0 || !c)
		nk_logf("nooks: %s: quota reached: %s (at most %ld); refused", d->name,
			t->name, q);
	return true;
}

int nooks_track(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	if (!obj || !t)
		return -EINVAL;
	struct entry *e = calloc(1, sizeof *e);	/* outside the locks */
	if (!e)
		return -ENOMEM;
	e->t = t;

	int ret = 0;
	struct dstate *ds = NULL;
	struct stripe *s = ostripe(obj);
	SLOCK(s);
	if (find_entry(obj)) {
		ret = -EEXIST;
	} else {
		DLOCK();
		if (d && !(ds = get_dstate(d)))
			ret = find_dstate(d) ? -ENODEV : -ENOMEM;
		else if (ds && over_quota(ds, t))
			ret = -EDQUOT;
		if (!ret) {
			hadd(&s->t, &e->h, (uintptr_t)obj);
			set_owner(e, ds, true);
			e = NULL;
		}
		DUNLOCK();
	}
	SUNLOCK(s);
	free(e);
	return ret;
}

static void unlink_record(bool is_lock, struct record *r);

/* Unlinks ds's records of obj of one kind onto *dead (freed by the
 * caller, outside the locks); under dom_lock. */
static void unlink_records_of(bool is_lock, struct dstate *ds, const void *obj,
			      struct record **dead)
{
	struct hnode *n = hfirst(is_lock ? &locks : &regs, (uintptr_t)obj);

	while (n) {
		struct record *r = container_of(n, struct record, h);
		n = hnext(n);
		if (r->ds != ds)
			continue;
		unlink_record(is_lock, r);
		r->next = *dead;
		*dead = r;
	}
}

int nooks_forget(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	int ret = -ENOENT;
	struct record *dead = NULL;

	if (!obj)
		return -ENOENT;
	struct stripe *s = ostripe(obj);
	SLOCK(s);
	struct entry *e = find_entry(obj);
	if (e && same_type(e->t, t) &&
	    (d ? owned_by(e, d) : !e->owner)) {
		DLOCK();
		/* the object's life ends here: so does every registration and
		 * lock record made on it (the release stops or cancels what
		 * they stood for), or recovery would run their undo on freed
		 * memory, or on the next object at the same address */
		if (e->owner) {
			unlink_records_of(false, e->owner, obj, &dead);
			unlink_records_of(true, e->owner, obj, &dead);
		}
		drop_entry(e);
		DUNLOCK();
		ret = 0;
	}
	SUNLOCK(s);
	while (dead) {
		struct record *r = dead;
		dead = r->next;
		free(r);
	}
	return ret;
}

int nooks_give(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	int r = nooks_track(d, obj, t);	/* the kernel's objects have no entry */
	if (r == -EEXIST) {
		nooks_transfer(NULL, d, obj, t);	/* one with an entry: as before */
		return 0;
	}
	if (!r || !t->release)
		return 0;
	t->release(obj);
	return -1;
}

int nooks_transfer(struct nooks_domain *from, struct nooks_domain *to,
		   void *obj, const struct nooks_type *t)
{
	int ret = 0;

	if (!obj || !t)
		return -ENOENT;
	struct stripe *s = ostripe(obj);
	SLOCK(s);
	DLOCK();		/* ownership: all of it is per-domain state */
	struct entry *e = find_entry(obj);
	struct dstate *tds = NULL;
	if (!e) {
		/* Untracked: the kernel's, so only the kernel can give it. */
		if (from)
			ret = -ENOENT;
		else if (to && !(tds = get_dstate(to)))
			ret = find_dstate(to) ? -ENODEV : -ENOMEM;
		else if (to && !(e = new_entry(obj, t)))
			ret = -ENOMEM;
		else if (to)
			set_owner(e, tds, true);
		goto out;
	}
	if (!same_type(e->t, t) || (from ? !owned_by(e, from) : e->owner != NULL)) {
		ret = -ENOENT;
		goto out;
	}
	if (from == to)
		goto out;
	if (to && !(tds = get_dstate(to))) {
		ret = find_dstate(to) ? -ENODEV : -ENOMEM;
		goto out;
	}
	if (from) {
		struct view *v = view_of(e, from);
		if (v)
			retire_view(v);
	}
	set_owner(e, tds, to != NULL);	/* the kernel's objects need no entry */
	if (to) {
		struct view *v = view_of(e, to);
		if (v) {
			v->borrows = 0;		/* no longer a loan */
			if (!v->shadow)
				retire_view(v);	/* nothing left to keep */
		}
	}
	gc_entry(e);
out:
	DUNLOCK();
	SUNLOCK(s);
	return ret;
}

void *nooks_in(struct nooks_domain *d, const void *p, const struct nooks_type *t)
{
	void *ret = NULL, *obj = NULL;

	if (!p || !t)
		return NULL;
	p = nk_arena_rw(p);	/* extension code sees the read-only view */
	struct stripe *s = ostripe(p);
	SLOCK(s);
	struct entry *e = find_entry(p);
	if (e && same_type(e->t, t) && may_use(e, d))
		ret = obj_of(e);
	SUNLOCK(s);
	if (e || !d)
		return ret;

	/* A shadow: whose it is, under the shadow's stripe; then, under the
	 * object's (never both), whether it still is, as the view may have
	 * gone meanwhile (only the address is carried across) */
	struct stripe *ss = sstripe(p);
	SLOCK(ss);
	struct view *v = find_shadow(p);
	if (v && dom_of(v->ds) == d)
		obj = obj_of(v->e);
	SUNLOCK(ss);
	if (!obj)
		return NULL;
	s = ostripe(obj);
	SLOCK(s);
	e = find_entry(obj);
	v = e ? view_of(e, d) : NULL;
	if (v && v->shadow == p && same_type(e->t, t) && may_use(e, d) &&
	    shadow_writeback(v, t, obj) == 0)
		ret = obj;
	SUNLOCK(s);
	return ret;
}

void *nooks_out(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	struct entry *e;
	struct view *v;
	struct dstate *ds;
	bool new_e = false, new_v = false, fresh;
	void *ret = NULL;

	if (!obj || !t)
		return NULL;
	if (!d)
		return obj;
	struct stripe *s = ostripe(obj);
	SLOCK(s);
	e = find_entry(obj);
	if (e && !same_type(e->t, t))
		goto out;
	if (e && !t->sync_in && owned_by(e, d)) {
		ret = nooks_arena_view(d, obj);	/* its own, no shadow */
		goto out;
	}
	v = e ? view_of(e, d) : NULL;
	fresh = t->sync_in && !(v && v->shadow);
	if (!v || fresh) {
		/* the slow path: a new entry, view or shadow is domain state */
		DLOCK();
		if (!v) {
			if (!(ds = get_dstate(d)))
				goto fail;
			if (!e) {
				if (!(e = new_entry(obj, t)))
					goto fail;
				new_e = true;
			}
			if (!(v = new_view(e, ds)))
				goto fail;
			new_v = true;
		}
		if (fresh && make_shadow(v, t->size))
			goto fail;
		DUNLOCK();
	}
	if (e->owner != v->ds && v->borrows < INT_MAX)
		v->borrows++;		/* saturates: a loan never ended stays */
	if (t->sync_in) {
		shadow_refresh(v, t, obj, fresh);	/* under the stripe only */
		ret = v->shadow;
	} else {
		ret = nooks_arena_view(d, obj);
	}
	goto out;
fail:
	if (new_v)
		retire_view(v);
	if (new_e)
		gc_entry(e);
	DUNLOCK();
out:
	SUNLOCK(s);
	return ret;
}

void nooks_refresh(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	if (!d || !obj || !t || !t->sync_in)
		return;
	struct stripe *s = ostripe(obj);
	SLOCK(s);
	struct entry *e = find_entry(obj);
	struct view *v = e && same_type(e->t, t) ? view_of(e, d) : NULL;
	if (v && v->shadow)
		shadow_refresh(v, t, obj, false);
	SUNLOCK(s);
}

void nooks_end_borrow(struct nooks_domain *d, void *obj, const struct nooks_type *t)
{
	if (!d || !obj)
		return;
	struct stripe *s = ostripe(obj);
	SLOCK(s);
	struct entry *e = find_entry(obj);
	struct view *v = e && same_type(e->t, t) ? view_of(e, d) : NULL;
	if (v && v->borrows > 0 && --v->borrows == 0 && e->owner != v->ds) {
		DLOCK();	/* the last loan: the view goes */
		retire_view(v);
		gc_entry(e);
		DUNLOCK();
	}
	SUNLOCK(s);
}

/* ---- memory checks -------------------------------------------------------- */

int nk_tracker_allow(struct nooks_domain *d, const void *p, size_t len, bool write)
{
	uintptr_t a = (uintptr_t)p;
	int ret = 0;

	if (!d || !p || !len || len - 1 > UINTPTR_MAX - a)
		return -EINVAL;
	DLOCK();
	struct dstate *ds = get_dstate(d);
	if (!ds) {
		ret = find_dstate(d) ? -ENODEV : -ENOMEM;
	} else {
		if (ds->nregions == ds->capregions) {
			size_t cap = ds->capregions ? 2 * ds->capregions : 8;
			struct region *r = realloc(ds->regions, cap * sizeof *r);
			if (!r) {
				ret = -ENOMEM;
				goto out;
			}
			ds->regions = r;
			ds->capregions = cap;
		}
		ds->regions[ds->nregions++] = (struct region){ a, len, write };
	}
out:
	DUNLOCK();
	return ret;
}

void nk_tracker_disallow(struct nooks_domain *d, const void *p)
{
	if (!d)
		return;
	DLOCK();
	struct dstate *ds = find_dstate(d);
	if (ds) {
		size_t j = 0;
		for (size_t i = 0; i < ds->nregions; i++)
			if (ds->regions[i].start != (uintptr_t)p)
				ds->regions[j++] = ds->regions[i];
		if (j != ds->nregions)
			atomic_fetch_add(&regions_gen, 1);
		ds->nregions = j;
	}
	DUNLOCK();
}

int nooks_check_buffer(struct nooks_domain *d, const void *p, size_t len, int write)
{
	uintptr_t a = (uintptr_t)p;
	int ret = -EFAULT;

	if (len == 0)
		return 0;
	if (len - 1 > UINTPTR_MAX - a)
		return -EFAULT;		/* wraps around */
	if (!d)
		return 0;		/* the kernel may pass anything */
	if (!p)
		return -EFAULT;
	if (len <= nk_own_stack_avail(a))
		return 0;		/* on the caller's extension stack */
	if (len <= rcache_avail(d, a, write))
		return 0;		/* in a region this thread found before */
	DLOCK();
	struct dstate *ds = find_dstate(d);
	if (!ds)
		goto out;
	for (size_t i = 0; i < ds->nregions; i++) {
		const struct region *r = &ds->regions[i];
		if (a >= r->start && a - r->start < r->len &&
		    len <= r->len - (a - r->start) && (!write || r->write)) {
			rcache_put(d, r);
			ret = 0;
			goto out;
		}
	}
	const struct view *v = shadow_holding(ds, a);
	if (v && len <= v->size - (a - (uintptr_t)v->shadow))
		ret = 0;		/* shadows are the extension's to write */
out:
	DUNLOCK();
	return ret;
}

int nooks_check_string(struct nooks_domain *d, const char *p, size_t max)
{
	size_t bound = max ? max : NK_STRING_MAX, avail = 0;
	uintptr_t a = (uintptr_t)p;
	int ret;

	if (!p)
		return -EFAULT;
	if (!d)		/* the kernel's: trusted, only the bound is checked */
		return strnlen(p, bound) < bound ? 0 : -E2BIG;
	avail = nk_own_stack_avail(a);	/* on the caller's extension stack */
	size_t cached = rcache_avail(d, a, false);
	if (cached > avail && memchr(p, '\0', cached < bound ? cached : bound))
		return 0;		/* in a region this thread found before */
	DLOCK();
	struct dstate *ds = find_dstate(d);
	if (ds) {
		/* the region (or shadow) holding p that reaches furthest */
		for (size_t i = 0; i < ds->nregions; i++) {
			const struct region *r = &ds->regions[i];
			if (a >= r->start && a - r->start < r->len &&
			    r->len - (a - r->start) > avail) {
				avail = r->len - (a - r->start);
				rcache_put(d, r);
			}
		}
		const struct view *v = shadow_holding(ds, a);
		if (v && v->size - (a - (uintptr_t)v->shadow) > avail)
			avail = v->size - (a - (uintptr_t)v->shadow);
	}
	if (!avail)
		ret = -EFAULT;
	else if (memchr(p, '\0', avail < bound ? avail : bound))
		ret = 0;		/* the string and its NUL fit in bound */
	else
		ret = avail < bound ? -EFAULT : -E2BIG;
	DUNLOCK();
	return ret;
}

/* ---- recovery records ----------------------------------------------------- */

static struct record **record_list(struct dstate *ds, bool is_lock)
{
	return is_lock ? &ds->locks : &ds->regs;
}

/* Has ds a registration of obj with undo fn?  Under dom_lock. */
static bool registered(const struct dstate *ds, const void *obj, void (*fn)(void *))
{
	for (struct hnode *n = hfirst(&regs, (uintptr_t)obj); n; n = hnext(n)) {
		const struct record *r = container_of(n, struct record, h);
		if (r->ds == ds && r->fn == fn)
			return true;
	}
	return false;
}

static int add_record(bool is_lock, struct nooks_domain *d, void *obj,
		      void (*fn)(void *))
{
	if (!d)
		return -EINVAL;
	struct record *r = malloc(sizeof *r);	/* outside the locks */
	if (!r)
		return -ENOMEM;
	int ret = 0;
	/* a registration's object is looked up: its stripe, then dom_lock */
	struct stripe *s = is_lock ? NULL : ostripe(obj);
	if (s)
		SLOCK(s);
	DLOCK();
	struct dstate *ds = get_dstate(d);
	if (!ds) {
		ret = find_dstate(d) ? -ENODEV : -ENOMEM;
	} else if (!is_lock && !find_entry(obj)) {
		/* a registration is made on an object the wrapper has just
		 * checked; gone by now, another thread of the domain released
		 * it meanwhile (a kernel thread putting its own task before its
		 * creator's wake_up_process returned): nothing to undo, and a
		 * record would outlive the object */
		ret = -ENOENT;
	} else if (!is_lock && registered(ds, obj, fn)) {
		/* registered again (a work re-arming itself): one record, and
		 * its position among the registrations is kept */
	} else {
		struct record **head = record_list(ds, is_lock);
		r->ds = ds;
		r->fn = fn;
		r->seq = ++record_seq;
		r->ord = UINT_MAX;
		for (unsigned i = 0; !is_lock && i < NK_REG_KINDS; i++)
			if (!ds->regkinds[i].fn || ds->regkinds[i].fn == fn) {
				ds->regkinds[i].fn = fn;
				r->ord = ds->regkinds[i].n++;
				break;
			}
		r->prev = NULL;
		r->next = *head;
		if (*head)
			(*head)->prev = r;
		*head = r;
		hadd(is_lock ? &locks : &regs, &r->h, (uintptr_t)obj);
		r = NULL;
	}
	DUNLOCK();
	if (s)
		SUNLOCK(s);
	free(r);
	return ret;
}

static void unlink_record(bool is_lock, struct record *r)
{
	struct record **head = record_list(r->ds, is_lock);

	hdel(is_lock ? &locks : &regs, &r->h);
	if (r->prev)
		r->prev->next = r->next;
	else
		*head = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

/* Drops d's newest record of obj, if any; calls nothing. */
static void drop_record(bool is_lock, struct nooks_domain *d, const void *obj)
{
	struct record *best = NULL;

	if (!d)
		return;
	DLOCK();
	for (struct hnode *n = hfirst(is_lock ? &locks : &regs, (uintptr_t)obj); n;
	     n = hnext(n)) {
		struct record *r = container_of(n, struct record, h);
		if (dom_of(r->ds) == d && (!best || r->seq > best->seq))
			best = r;
	}
	if (best)
		unlink_record(is_lock, best);
	DUNLOCK();
	free(best);
}

int nooks_record_registration(struct nooks_domain *d, void *obj,
			      void (*undo)(void *obj))
{
	return add_record(false, d, obj, undo);
}

void nooks_drop_registration(struct nooks_domain *d, void *obj)
{
	drop_record(false, d, obj);
}

int nk_tracker_registration(struct nooks_domain *d, const void *obj,
			    void (**kind)(void *), unsigned *ord)
{
	struct record *best = NULL;

	if (!d)
		return -ENOENT;
	DLOCK();
	for (struct hnode *n = hfirst(&regs, (uintptr_t)obj); n; n = hnext(n)) {
		struct record *r = container_of(n, struct record, h);
		if (dom_of(r->ds) == d && (!best || r->seq > best->seq))
			best = r;
	}
	if (best) {
		*kind = best->fn;
		*ord = best->ord;
	}
	DUNLOCK();
	return best && best->fn && best->ord != UINT_MAX ? 0 : -ENOENT;
}

void *nk_tracker_registered(struct nooks_domain *d, void (*kind)(void *), unsigned ord)
{
	void *obj = NULL;

	DLOCK();
	struct dstate *ds = find_dstate(d);
	for (struct record *r = ds ? ds->regs : NULL; r; r = r->next)
		if (r->fn == kind && r->ord == ord) {
			obj = (void *)r->h.key;
			break;
		}
	DUNLOCK();
	return obj;
}

int nooks_record_lock(struct nooks_domain *d, void *lock, void (*unlock)(void *lock))
{
	return add_record(true, d, lock, unlock);
}

void nooks_drop_lock(struct nooks_domain *d, void *lock)
{
	drop_record(true, d, lock);
}

/* ---- ops tables ----------------------------------------------------------- */

typedef void (*nk_fnptr)(void);

/* What nooks_refused() calls a table it refused (for its message). */
const struct nooks_type nk_ops_table_type = { .name = "ops table" };

struct nooks_binding *nooks_bind_ops(struct nooks_domain *d, const void *orig,
				     const void *wrappers, size_t size)
{
	if (!d || !orig || !wrappers)
		return NULL;
	/* the extension's table is read here, in kernel mode: a garbage
	 * pointer must be refused, not followed */
	if (nooks_check_buffer(d, orig, size, 0)) {
		nooks_refused(d, orig, &nk_ops_table_type);
		return NULL;
	}
	struct bnode *b = calloc(1, sizeof *b);
	unsigned char *table = malloc(size ? size : 1);
	if (!b || !table)
		goto fail;
	memcpy(table, wrappers, size);
	for (size_t i = 0; i < size / sizeof(nk_fnptr); i++) {
		nk_fnptr f;
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
	b->wrappers = wrappers;

	DLOCK();
	struct dstate *ds = get_dstate(d);
	if (ds) {
		hadd(&bindings, &b->h, (uintptr_t)table);
		b->next = ds->bindings;
		ds->bindings = b;
	}
	DUNLOCK();
	if (ds)
		return &b->b;
fail:
	free(table);
	free(b);
	return NULL;
}

/* d's binding of the table orig with wrappers, if it has one whose
 * entries left NULL are still the ones orig leaves NULL (nooks.h,
 * nooks_bind_registration). */
struct nooks_binding *nk_tracker_shared_binding(struct nooks_domain *d, const void *orig,
						const void *wrappers, size_t size)
{
	struct nooks_binding *ret = NULL;
	DLOCK();
	struct dstate *found = find_dstate(d);
	for (struct bnode *o = found ? found->bindings : NULL; o && !ret; o = o->next) {
		if (o->b.orig != orig || o->wrappers != wrappers || o->b.size != size)
			continue;
		int same = 1;	/* the extension may have changed its table since */
		for (size_t i = 0; same && i < size / sizeof(nk_fnptr); i++) {
			nk_fnptr f, g;
			memcpy(&f, (const unsigned char *)orig + i * sizeof f, sizeof f);
			memcpy(&g, (const unsigned char *)o->b.table + i * sizeof g, sizeof g);
			same = !f == !g;
		}
		if (same)
			ret = &o->b;
	}
	DUNLOCK();
	return ret;
}

/*
 * nooks_binding_of() is on every call the kernel makes through an ops
 * table, so each thread keeps the last few tables it resolved, valid
 * while bindings_gen has not moved: no lock on a hit.  A binding goes
 * only with its domain's release, which moves bindings_gen before the
 * memory is freed; a table address the allocator hands out again is a
 * miss until looked up anew.  (A binding used by a thread that read it
 * just before the release is the same race as with a lock: the
 * domain's registrations are undone first, so the kernel no longer
 * reaches the table.)
 */
#define BCACHE 4
static __thread struct {
	const void *table;
	const struct nooks_binding *b;
	unsigned long gen;
} bcache[BCACHE];
static __thread unsigned bcache_next;

const struct nooks_binding *nooks_binding_of(const void *table)
{
	const struct nooks_binding *ret = NULL;

	if (!table)
		return NULL;
	unsigned long gen = atomic_load_explicit(&bindings_gen, memory_order_acquire);
	for (unsigned i = 0; i < BCACHE; i++)
		if (bcache[i].table == table && bcache[i].gen == gen)
			return bcache[i].b;
	DLOCK();
	struct hnode *n = hfirst(&bindings, (uintptr_t)table);
	if (n)
		ret = &container_of(n, struct bnode, h)->b;
	gen = atomic_load_explicit(&bindings_gen, memory_order_relaxed);
	DUNLOCK();
	if (ret) {
		unsigned i = bcache_next++ % BCACHE;
		bcache[i].table = table;
		bcache[i].b = ret;
		bcache[i].gen = gen;
	}
	return ret;
}

/* ---- recovery ------------------------------------------------------------- */

/* Runs and frees d's records of one kind, newest first; all the locks
 * are held on entry and on return (lock_all), dropped around each
 * callback. */
static int run_records(struct dstate *ds, bool is_lock)
{
	int n = 0;
	struct record *r;

	while ((r = *record_list(ds, is_lock))) {
		unlink_record(is_lock, r);
		void *obj = (void *)r->h.key;
		void (*fn)(void *) = r->fn;
		unlock_all();
		free(r);
		if (fn)
			fn(obj);
		n++;
		lock_all();
	}
	return n;
}

void nk_tracker_release_domain(struct nooks_domain *d, struct nk_release_stats *stats)
{
	struct nk_release_stats st = { 0, 0, 0, 0, 0 };

	if (stats)
		*stats = st;
	if (!d)
		return;
	lock_all();
	struct dstate *ds = find_dstate(d);
	if (!ds || ds->dying) {		/* nothing, or already under way */
		unlock_all();
		if (!ds)
			nk_heap_release_domain(d);
		return;
	}
	ds->dying = true;		/* nothing new from now on */

	st.unlocked = run_records(ds, true);
	st.undone = run_records(ds, false);

	/* objects, newest first; untracked before release frees them */
	struct entry *e;
	while ((e = ds->owned)) {
		void *obj = obj_of(e);
		void (*release)(void *) = e->t->release;
		const struct view *v = view_of(e, d);
		st.shadows += v && v->shadow;
		drop_entry(e);
		st.released++;
		if (release) {
			unlock_all();
			release(obj);
			lock_all();
		}
	}

	/* its shadows and loans of objects it does not own */
	while (ds->views) {
		struct view *v = ds->views;
		e = v->e;
		st.shadows += v->shadow != NULL;
		retire_view(v);
		gc_entry(e);
	}

	/* callbacks are over: nobody can see this state any more */
	hdel(&domains, &ds->h);
	for (struct bnode *b = ds->bindings; b; b = b->next)
		hdel(&bindings, &b->h);
	if (ds->bindings)
		atomic_fetch_add(&bindings_gen, 1);
	if (ds->nregions)
		atomic_fetch_add(&regions_gen, 1);
	unlock_all();

	while (ds->bindings) {
		struct bnode *b = ds->bindings;
		ds->bindings = b->next;
		free(b->b.table);
		free(b);
		st.bindings++;
	}
	free(ds->regions);	/* regions_gen moved under dom_lock, above */
	shadow_area_free(ds);
	free(ds);
	nk_heap_release_domain(d);	/* its heap goes too (heap.c) */
	if (stats)
		*stats = st;
}

/* ---- statistics ----------------------------------------------------------- */

int nk_tracker_owned(const struct nooks_domain *d)
{
	int n = 0;

	DLOCK();
	if (!d) {
		n = kernel_held;
	} else {
		const struct dstate *ds = find_dstate(d);
		n = ds ? ds->nowned : 0;
	}
	DUNLOCK();
	return n;
}

int nk_tracker_entries(void)
{
	size_t n = 0;
	for (unsigned i = 0; i < NSTRIPES; i++) {
		SLOCK(&ostripes[i]);
		n += ostripes[i].t.n;
		SUNLOCK(&ostripes[i]);
	}
	return n > INT_MAX ? INT_MAX : (int)n;
}

unsigned nk_tracker_stripe(const void *obj)
{
	return (unsigned)(ostripe(obj) - ostripes);
}

long nooks_tracked_objects(void)
{
	return nk_tracker_entries();
}
