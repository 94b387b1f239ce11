/*
 * test_tracker.c - CUnit tests of the object tracker (runtime/tracker.c):
 * objects, shadows, loans, transfers, bindings, recovery records, the
 * memory checks, nk_tracker_release_domain() and concurrent use (and that
 * crossings with different objects never wait for each other).
 *
 * Domains are fake: addresses of static objects.  The tracker keys its
 * per-domain state by the pointer and never dereferences it, so these
 * tests need nothing of xpc.c.  Every test ends with its
 * domains released and checks that the tracker is back where it started.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "nooks_internal.h"
#include "nooks.h"

/* ---- fake domains --------------------------------------------------------- */

#define NDOMS 8
/* domains the tracker knows only by address (and reads their quotas) */
static struct nooks_domain fake_doms[NDOMS];
#define DOM(i) (&fake_doms[i])

static int base_entries, base_kernel;

static void release_all(void)
{
	for (int i = 0; i < NDOMS; i++)
		nk_tracker_release_domain(DOM(i), NULL);
}

/* The end of every test: all domains released, nothing left behind. */
static void finish(void)
{
	release_all();
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries);
	CU_ASSERT_EQUAL(nk_tracker_owned(NULL), base_kernel);
	for (int i = 0; i < NDOMS; i++)
		CU_ASSERT_EQUAL(nk_tracker_owned(DOM(i)), 0);
}

/* ---- test types ----------------------------------------------------------- */

/* A shadowed struct: ro readonly, wr writable (must stay >= 0), hid hidden. */
struct tobj {
	int ro;
	int wr;
	int hid;
};

/* atomic: crossings with different objects sync at the same time */
static atomic_int sync_ins, sync_outs;

static void tobj_sync_in(void *shadow, const void *obj)
{
	struct tobj *s = shadow;
	const struct tobj *o = obj;
	s->ro = o->ro;
	s->wr = o->wr;
	sync_ins++;
}

static int tobj_sync_out(void *obj, const void *shadow)
{
	struct tobj *o = obj;
	const struct tobj *s = shadow;
	sync_outs++;
	if (s->wr < 0)
		return -EINVAL;
	o->wr = s->wr;
	return 0;
}

/* What recovery did, in order: "u:N" unlock, "g:N" undo, "r:N" release. */
static char events[256];

static void event(char kind, int n)
{
	size_t len = strlen(events);
	if (len + 4 < sizeof events) {
		events[len++] = kind;
		events[len++] = (char)('0' + n % 10);
		events[len++] = ' ';
		events[len] = '\0';
	}
}

static atomic_int releases;

static void tobj_release(void *obj)
{
	event('r', ((struct tobj *)obj)->ro);
	releases++;
}

static void undo_cb(void *obj)
{
	event('g', *(int *)obj);
}

static void unlock_cb(void *lock)
{
	event('u', *(int *)lock);
}

static const struct nooks_type T_obj = {
	"struct tobj", 1, sizeof(struct tobj), tobj_release, tobj_sync_in, tobj_sync_out
};
/* Another descriptor of the same type (same id), as another unit emits. */
static const struct nooks_type T_obj_again = {
	"struct tobj", 1, sizeof(struct tobj), tobj_release, tobj_sync_in, tobj_sync_out
};
/* No shadow, no release. */
static const struct nooks_type T_plain = { "struct plain", 2, 0, NULL, NULL, NULL };
static const struct nooks_type T_other = {
	"struct other", 3, sizeof(struct tobj), NULL, tobj_sync_in, tobj_sync_out
};

/* A big shadowed struct (spans many granules) and an empty one. */
struct bobj {
	int ro;
	char name[2000];
};

static void bobj_sync_in(void *shadow, const void *obj)
{
	memcpy(shadow, obj, sizeof(struct bobj));
}

static int bobj_sync_out(void *obj, const void *shadow)
{
	(void)obj;
	(void)shadow;
	return 0;
}

static const struct nooks_type T_big = {
	"struct bobj", 4, sizeof(struct bobj), NULL, bobj_sync_in, bobj_sync_out
};

static void empty_sync_in(void *shadow, const void *obj)
{
	(void)shadow;
	(void)obj;
}

static const struct nooks_type T_empty = {
	"struct empty", 5, 0, NULL, empty_sync_in, NULL
};

static void setup(void)
{
	release_all();
	base_entries = nk_tracker_entries();
	base_kernel = nk_tracker_owned(NULL);
	events[0] = '\0';
	sync_ins = sync_outs = releases = 0;
}

static void teardown(void)
{
	release_all();		/* even when a test stopped half-way */
}

/* ---- objects -------------------------------------------------------------- */

static void test_track_forget(void)
{
	struct nooks_domain *d = DOM(0), *d2 = DOM(1);
	struct tobj o = { 1, 0, 0 }, o2 = { 2, 0, 0 }, k = { 3, 0, 0 };

	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), -EEXIST);
	CU_ASSERT_EQUAL(nooks_track(d2, &o, &T_obj), -EEXIST);
	CU_ASSERT_EQUAL(nooks_track(NULL, &o, &T_obj), -EEXIST);
	CU_ASSERT_EQUAL(nooks_track(d, NULL, &T_obj), -EINVAL);
	CU_ASSERT_EQUAL(nooks_track(d, &o2, NULL), -EINVAL);
	CU_ASSERT_EQUAL(nk_tracker_owned(d), 1);
	CU_ASSERT_EQUAL(nk_tracker_owned(d2), 0);
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + 1);

	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_other), -ENOENT);	/* type */
	CU_ASSERT_EQUAL(nooks_forget(d, &o, NULL), -ENOENT);
	CU_ASSERT_EQUAL(nooks_forget(d2, &o, &T_obj), -ENOENT);	/* owner */
	CU_ASSERT_EQUAL(nooks_forget(NULL, &o, &T_obj), -ENOENT);	/* not the kernel's */
	CU_ASSERT_EQUAL(nooks_forget(d, &o2, &T_obj), -ENOENT);	/* unknown */
	CU_ASSERT_EQUAL(nooks_forget(d, NULL, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), -ENOENT);	/* double release */
	CU_ASSERT_EQUAL(nk_tracker_owned(d), 0);
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries);

	/* the same type through another descriptor */
	CU_ASSERT_EQUAL(nooks_track(d, &o2, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_forget(d, &o2, &T_obj_again), 0);

	/* tracked as the kernel's */
	CU_ASSERT_EQUAL(nooks_track(NULL, &k, &T_obj), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(NULL), base_kernel + 1);
	CU_ASSERT_EQUAL(nooks_forget(d, &k, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_forget(NULL, &k, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_forget(NULL, &k, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nk_tracker_owned(NULL), base_kernel);

	/* a forgotten address may be tracked again, by anyone */
	CU_ASSERT_EQUAL(nooks_track(d2, &o, &T_plain), 0);
	CU_ASSERT_EQUAL(nooks_forget(d2, &o, &T_plain), 0);
	CU_ASSERT(sync_ins == 0 && sync_outs == 0);
	finish();
}

static void test_in_rejects(void)
{
	struct nooks_domain *d = DOM(0), *d2 = DOM(1);
	struct tobj o = { 1, 0, 0 }, k = { 2, 0, 0 }, unknown = { 3, 0, 0 };
	int plain = 0;

	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, &o, &T_obj), &o);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, &o, &T_obj_again), &o);
	CU_ASSERT_PTR_NULL(nooks_in(d, &o, &T_other));		/* wrong type */
	CU_ASSERT_PTR_NULL(nooks_in(d, &o, &T_plain));
	CU_ASSERT_PTR_NULL(nooks_in(d2, &o, &T_obj));		/* d's object */
	CU_ASSERT_PTR_NULL(nooks_in(d, &unknown, &T_obj));	/* untracked */
	CU_ASSERT_PTR_NULL(nooks_in(d, (char *)&o + 1, &T_obj));	/* inside it */
	CU_ASSERT_PTR_NULL(nooks_in(d, NULL, &T_obj));
	CU_ASSERT_PTR_NULL(nooks_in(d, &o, NULL));
	CU_ASSERT_PTR_EQUAL(nooks_in(NULL, &o, &T_obj), &o);	/* the kernel */
	CU_ASSERT_PTR_NULL(nooks_in(NULL, &o, &T_other));	/* but typed */
	CU_ASSERT_EQUAL(sync_outs, 0);			/* not a shadow */

	/* the kernel's tracked objects: anyone */
	CU_ASSERT_EQUAL(nooks_track(NULL, &k, &T_obj), 0);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, &k, &T_obj), &k);
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, &k, &T_obj), &k);
	CU_ASSERT_PTR_EQUAL(nooks_in(DOM(5), &k, &T_obj), &k);
	CU_ASSERT_PTR_NULL(nooks_in(d2, &k, &T_other));
	/* and shown through shadows, one per domain, only to their domain */
	struct tobj *sk = nooks_out(d, &k, &T_obj), *sk2 = nooks_out(d2, &k, &T_obj);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sk);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sk2);
	CU_ASSERT_PTR_NOT_EQUAL(sk, sk2);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, sk, &T_obj), &k);
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, sk2, &T_obj), &k);
	CU_ASSERT_PTR_NULL(nooks_in(d2, sk, &T_obj));
	CU_ASSERT_PTR_NULL(nooks_in(NULL, sk, &T_obj));
	nooks_end_borrow(d, &k, &T_obj);
	nooks_end_borrow(d2, &k, &T_obj);
	CU_ASSERT_PTR_NULL(nooks_in(d, sk, &T_obj));
	CU_ASSERT_PTR_EQUAL(nooks_in(d, &k, &T_obj), &k);	/* still the kernel's */
	CU_ASSERT_EQUAL(nooks_forget(NULL, &k, &T_obj), 0);
	CU_ASSERT_PTR_NULL(nooks_in(d, &k, &T_obj));

	/* lent: only to the borrower, only while borrowed */
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &plain, &T_plain), &plain);
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + 2);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, &plain, &T_plain), &plain);
	CU_ASSERT_PTR_NULL(nooks_in(d2, &plain, &T_plain));
	CU_ASSERT_EQUAL(nooks_track(d2, &plain, &T_plain), -EEXIST);
	nooks_end_borrow(d, &plain, &T_plain);
	CU_ASSERT_PTR_NULL(nooks_in(d, &plain, &T_plain));
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + 1);	/* gone */

	/* released: gone */
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);
	CU_ASSERT_PTR_NULL(nooks_in(d, &o, &T_obj));
	finish();
}

/* ---- shadows -------------------------------------------------------------- */

/* An isolated extension holds kernel objects by their read-only view
 * (arena.c).  What it may hand back: the view of an object it may use,
 * nothing else; never as a buffer or string the kernel would read or
 * write through (the kernel writing the read-only view would fault in
 * kernel code). */
static void test_arena_views(void)
{
	struct nooks_domain *d = nooks_domain_create("views", NOOKS_BACKEND_MPROTECT);
	struct nooks_domain *d2 = nooks_domain_create("views2", NOOKS_BACKEND_MPROTECT);
	int *o = nooks_arena_alloc(64), *k = nooks_arena_alloc(64);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(nooks_track(d, o, &T_plain), 0);
	int *seen = nooks_out(d, o, &T_plain);
	CU_ASSERT_PTR_EQUAL(seen, nooks_arena_ro(o));
	CU_ASSERT_PTR_NOT_EQUAL(seen, o);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, seen, &T_plain), o);	/* the kernel's address */
	CU_ASSERT_PTR_NULL(nooks_in(d2, seen, &T_plain));	/* another's */
	CU_ASSERT_PTR_NULL(nooks_in(d, seen + 1, &T_plain));	/* inside it */
	CU_ASSERT_PTR_NULL(nooks_in(d, nooks_arena_ro(k), &T_plain));	/* untracked */
	CU_ASSERT_EQUAL(nooks_check_buffer(d, seen, 16, 1), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, seen, 16, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_string(d, (const char *)seen, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, o, 16, 1), -EFAULT);	/* nor the other view */
	/* the none backend (and the kernel) get the read-write address */
	CU_ASSERT_PTR_EQUAL(nooks_arena_view(DOM(0), o), o);
	CU_ASSERT_PTR_EQUAL(nooks_arena_view(NULL, o), o);
	CU_ASSERT_EQUAL(nooks_forget(d, o, &T_plain), 0);
	CU_ASSERT_PTR_NULL(nooks_in(d, seen, &T_plain));	/* released */
	nooks_arena_free(o);
	nooks_arena_free(k);
	nooks_domain_destroy(d);
	nooks_domain_destroy(d2);
}

static void test_shadow_roundtrip(void)
{
	struct nooks_domain *d = DOM(0), *d2 = DOM(1);
	struct tobj o = { 1, 2, 3 };

	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	struct tobj *s = nooks_out(d, &o, &T_obj);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_EQUAL(s, &o);
	CU_ASSERT_EQUAL(sync_ins, 1);
	CU_ASSERT(s->ro == 1 && s->wr == 2);
	CU_ASSERT_EQUAL(s->hid, 0);			/* never shown */
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + 1);

	/* writes come back, readonly ones do not */
	s->wr = 7;
	s->ro = 99;
	CU_ASSERT_PTR_EQUAL(nooks_in(d, s, &T_obj), &o);
	CU_ASSERT_EQUAL(sync_outs, 1);
	CU_ASSERT(o.wr == 7 && o.ro == 1);
	/* an invalid write: NULL, obj untouched, the shadow the object's again */
	s->wr = -1;
	CU_ASSERT_PTR_NULL(nooks_in(d, s, &T_obj));
	CU_ASSERT_EQUAL(o.wr, 7);
	CU_ASSERT(s->wr == 7 && s->ro == 1);
	/* a shadow is checked like its object */
	s->wr = 5;
	CU_ASSERT_PTR_NULL(nooks_in(d, s, &T_other));
	CU_ASSERT_PTR_NULL(nooks_in(d2, s, &T_obj));	/* d's shadow */
	CU_ASSERT_PTR_NULL(nooks_in(NULL, s, &T_obj));
	CU_ASSERT_PTR_NULL(nooks_in(d, (char *)s + 4, &T_obj));
	CU_ASSERT_EQUAL(o.wr, 7);

	/* nooks_out again: the same shadow, refreshed; the write not yet
	 * copied back (wr = 5) is kept */
	o.ro = 42;
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &o, &T_obj), s);
	CU_ASSERT(s->ro == 42 && s->wr == 5);
	s->wr = 7;
	nooks_end_borrow(d, &o, &T_obj);		/* not a loan: no-op */
	CU_ASSERT_PTR_EQUAL(nooks_in(d, s, &T_obj), &o);

	/* nooks_refresh: only an existing shadow, only of that domain */
	o.ro = 43;
	int ins = sync_ins;
	nooks_refresh(d, &o, &T_obj);
	CU_ASSERT_EQUAL(s->ro, 43);
	CU_ASSERT_EQUAL(sync_ins, ins + 1);
	nooks_refresh(d2, &o, &T_obj);			/* d2 has none */
	nooks_refresh(NULL, &o, &T_obj);
	nooks_refresh(d, &o, &T_other);			/* wrong type */
	nooks_refresh(d, &o, &T_plain);
	nooks_refresh(d, NULL, &T_obj);
	CU_ASSERT_EQUAL(sync_ins, ins + 1);
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + 1);	/* nothing new */

	/* another domain borrows it through its own shadow */
	struct tobj *s2 = nooks_out(d2, &o, &T_obj);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s2);
	CU_ASSERT(s2 != s && s2->ro == 43);
	s2->wr = 11;
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, s2, &T_obj), &o);
	CU_ASSERT_EQUAL(o.wr, 11);
	CU_ASSERT_PTR_NULL(nooks_in(d, s2, &T_obj));
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, &o, &T_obj), &o);	/* borrowed */
	nooks_end_borrow(d2, &o, &T_obj);
	CU_ASSERT_PTR_NULL(nooks_in(d2, s2, &T_obj));	/* retired */
	CU_ASSERT_PTR_NULL(nooks_in(d2, &o, &T_obj));

	/* wrong type for a tracked object */
	CU_ASSERT_PTR_NULL(nooks_out(d, &o, &T_other));
	CU_ASSERT_PTR_NULL(nooks_out(d, NULL, &T_obj));
	CU_ASSERT_PTR_NULL(nooks_out(d, &o, NULL));
	CU_ASSERT_PTR_EQUAL(nooks_out(NULL, &o, &T_obj), &o);	/* the kernel */

	/* released: the shadow goes */
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);
	CU_ASSERT_PTR_NULL(nooks_in(d, s, &T_obj));

	/* a shadow of size 0 has one byte; a big one is whole */
	int e = 0;
	void *se = nooks_out(d, &e, &T_empty);
	CU_ASSERT_PTR_NOT_NULL(se);
	CU_ASSERT_PTR_NOT_EQUAL(se, &e);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, se, &T_empty), &e);	/* no sync_out */
	nooks_end_borrow(d, &e, &T_empty);
	static struct bobj big = { 5, "big" };
	struct bobj *sb = nooks_out(d, &big, &T_big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	CU_ASSERT_STRING_EQUAL(sb->name, "big");
	CU_ASSERT_EQUAL(nooks_check_buffer(d, sb->name + 1000, 1000, 1), 0);
	nooks_end_borrow(d, &big, &T_big);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, sb->name + 1000, 1, 0), -EFAULT);
	finish();
}

/* One shadow, two threads of the domain inside with it: a refresh (the
 * second thread's crossing, or a kernel call's return) takes the
 * object's new values but keeps what the first thread wrote and has not
 * copied back; the copy back then carries it. */
static void test_shadow_shared(void)
{
	struct nooks_domain *d = DOM(0);
	struct tobj o = { 1, 1500, 3 };

	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	struct tobj *s = nooks_out(d, &o, &T_obj);	/* thread A enters */
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	s->wr = 1400;					/* A writes, still inside */
	o.ro = 2;					/* the kernel changes another field */
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &o, &T_obj), s);	/* thread B enters */
	CU_ASSERT_EQUAL(s->ro, 2);			/* the kernel's change seen */
	CU_ASSERT_EQUAL(s->wr, 1400);			/* A's write kept */
	o.ro = 3;
	nooks_refresh(d, &o, &T_obj);			/* B's kernel call returns */
	CU_ASSERT(s->ro == 3 && s->wr == 1400);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, s, &T_obj), &o);	/* A returns */
	CU_ASSERT_EQUAL(o.wr, 1400);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, s, &T_obj), &o);	/* B returns */
	CU_ASSERT_EQUAL(o.wr, 1400);
	/* synced: the kernel's next change to the field is seen again */
	o.wr = 1300;
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &o, &T_obj), s);
	CU_ASSERT_EQUAL(s->wr, 1300);
	/* a write to a read-only field is not pending: the refresh undoes it */
	s->ro = 99;
	CU_ASSERT_PTR_EQUAL(nooks_in(d, s, &T_obj), &o);
	CU_ASSERT_EQUAL(o.ro, 3);
	nooks_refresh(d, &o, &T_obj);
	CU_ASSERT_EQUAL(s->ro, 3);
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);
}

static void test_borrow_nesting(void)
{
	struct nooks_domain *d = DOM(0);
	struct tobj k = { 1, 2, 3 };

	struct tobj *s = nooks_out(d, &k, &T_obj);	/* untracked: lent */
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(nk_tracker_owned(d), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(NULL), base_kernel);	/* lent is not held */
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + 1);
	/* the kernel calls d again with k while d runs */
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &k, &T_obj), s);
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &k, &T_obj), s);
	nooks_end_borrow(d, &k, &T_obj);
	nooks_end_borrow(d, &k, &T_obj_again);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, s, &T_obj), &k);	/* outer call's */
	nooks_end_borrow(d, &k, &T_other);		/* wrong type: no-op */
	nooks_end_borrow(DOM(1), &k, &T_obj);		/* not its loan */
	nooks_end_borrow(NULL, &k, &T_obj);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, s, &T_obj), &k);
	nooks_end_borrow(d, &k, &T_obj);
	CU_ASSERT_PTR_NULL(nooks_in(d, s, &T_obj));
	CU_ASSERT_PTR_NULL(nooks_in(d, &k, &T_obj));
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries);
	nooks_end_borrow(d, &k, &T_obj);		/* nothing left: no-op */

	/* a shadowless type: the object itself */
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &k, &T_plain), &k);
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &k, &T_plain), &k);
	nooks_end_borrow(d, &k, &T_plain);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, &k, &T_plain), &k);
	nooks_end_borrow(d, &k, &T_plain);
	CU_ASSERT_PTR_NULL(nooks_in(d, &k, &T_plain));
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries);

	/* an object the borrower owns is not a loan */
	CU_ASSERT_EQUAL(nooks_track(d, &k, &T_plain), 0);
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &k, &T_plain), &k);
	nooks_end_borrow(d, &k, &T_plain);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, &k, &T_plain), &k);
	CU_ASSERT_EQUAL(nooks_forget(d, &k, &T_plain), 0);

	/* two domains borrow one lent object: it stays while either does */
	struct tobj *a = nooks_out(d, &k, &T_obj), *b = nooks_out(DOM(1), &k, &T_obj);
	CU_ASSERT(a && b && a != b);
	nooks_end_borrow(d, &k, &T_obj);
	CU_ASSERT_PTR_EQUAL(nooks_in(DOM(1), b, &T_obj), &k);
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + 1);
	nooks_end_borrow(DOM(1), &k, &T_obj);
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries);
	finish();
}

static void test_stale_shadow(void)
{
	struct nooks_domain *d = DOM(0);
	enum { N = 2000 };
	static struct tobj objs[N];
	static void *seen[N];

	/* no new shadow reuses a retired one's address while that is in
	 * quarantine (the last 1024 retired shadows, tracker.c); after it,
	 * the memory is reused (a domain's shadows do not grow for ever) */
	for (int i = 0; i < N; i++) {
		struct tobj *o = &objs[i % 4];
		CU_ASSERT_EQUAL_FATAL(nooks_track(d, o, &T_obj), 0);
		seen[i] = nooks_out(d, o, &T_obj);
		CU_ASSERT_PTR_NOT_NULL_FATAL(seen[i]);
		CU_ASSERT_EQUAL_FATAL(nooks_forget(d, o, &T_obj), 0);
		if (i % 2) {		/* and lent ones */
			void *s = nooks_out(d, o, &T_obj);
			CU_ASSERT_PTR_NOT_NULL_FATAL(s);
			nooks_end_borrow(d, o, &T_obj);
			CU_ASSERT_PTR_NULL(nooks_in(d, s, &T_obj));
			CU_ASSERT_EQUAL(nooks_check_buffer(d, s, 1, 0), -EFAULT);
		}
	}
	int dups = 0, early = 0;
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			if (seen[i] == seen[j]) {
				dups++;
				/* each round retires one or two shadows */
				early += j - i < 1024 / 2;
			}
	CU_ASSERT_EQUAL(early, 0);
	CU_ASSERT_TRUE(dups > 0);
	CU_ASSERT_EQUAL(nooks_track(d, &objs[0], &T_obj), 0);
	CU_ASSERT_PTR_NULL(nooks_in(d, seen[0], &T_obj));
	CU_ASSERT_EQUAL(nooks_check_buffer(d, seen[0], 1, 0), -EFAULT);

	struct nk_release_stats st;
	nk_tracker_release_domain(d, &st);
	CU_ASSERT_EQUAL(st.released, 1);
	CU_ASSERT_EQUAL(st.shadows, 0);		/* objs[0] never shown again */
	finish();		/* LeakSanitizer: the retired ones were freed */
}

static void test_transfer(void)
{
	struct nooks_domain *d1 = DOM(1), *d2 = DOM(2), *d3 = DOM(3);
	struct tobj o = { 1, 0, 0 }, k = { 2, 0, 0 }, k2 = { 3, 0, 0 }, kt = { 4, 0, 0 };

	CU_ASSERT_EQUAL(nooks_track(d1, &o, &T_obj), 0);
	void *s1 = nooks_out(d1, &o, &T_obj);
	CU_ASSERT_PTR_NOT_NULL(s1);
	CU_ASSERT_EQUAL(nooks_transfer(d2, d3, &o, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_transfer(NULL, d3, &o, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_transfer(d1, d2, &o, &T_other), -ENOENT);
	CU_ASSERT_EQUAL(nooks_transfer(d1, d2, NULL, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_transfer(d1, d2, &o, NULL), -ENOENT);
	CU_ASSERT_EQUAL(nooks_transfer(d1, d1, &o, &T_obj), 0);	/* to itself */
	CU_ASSERT_PTR_EQUAL(nooks_in(d1, s1, &T_obj), &o);
	CU_ASSERT_EQUAL(nooks_transfer(d1, d2, &o, &T_obj), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(d1), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(d2), 1);
	CU_ASSERT_PTR_NULL(nooks_in(d1, &o, &T_obj));
	CU_ASSERT_PTR_NULL(nooks_in(d1, s1, &T_obj));	/* d1's shadow went */
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, &o, &T_obj), &o);
	CU_ASSERT_EQUAL(nooks_transfer(d1, d2, &o, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_forget(d1, &o, &T_obj), -ENOENT);

	/* to the kernel: no domain's any more, nor tracked */
	CU_ASSERT_EQUAL(nooks_transfer(d2, NULL, &o, &T_obj), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(d2), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(NULL), base_kernel);
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries);
	CU_ASSERT_PTR_NULL(nooks_in(d2, &o, &T_obj));
	CU_ASSERT_EQUAL(nooks_forget(d2, &o, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_transfer(NULL, NULL, &o, &T_obj), 0);	/* still */

	/* from the kernel: an untracked object was the kernel's */
	CU_ASSERT_EQUAL(nooks_transfer(NULL, d1, &k, &T_obj), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(d1), 1);
	CU_ASSERT_PTR_EQUAL(nooks_in(d1, &k, &T_obj), &k);
	CU_ASSERT_EQUAL(nooks_transfer(d2, d1, &k2, &T_obj), -ENOENT);
	/* a tracked kernel object too: it is held by d1 now, not shared */
	CU_ASSERT_EQUAL(nooks_track(NULL, &kt, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_transfer(NULL, d1, &kt, &T_obj), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(NULL), base_kernel);
	CU_ASSERT_PTR_NULL(nooks_in(d2, &kt, &T_obj));
	CU_ASSERT_EQUAL(nooks_forget(d1, &kt, &T_obj), 0);

	/* lent, then given: no longer a loan, the shadow stays */
	void *s = nooks_out(d3, &k2, &T_obj);
	CU_ASSERT_PTR_NOT_NULL(s);
	CU_ASSERT_EQUAL(nooks_transfer(NULL, d3, &k2, &T_obj), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(d3), 1);
	nooks_end_borrow(d3, &k2, &T_obj);
	CU_ASSERT_PTR_EQUAL(nooks_in(d3, s, &T_obj), &k2);
	CU_ASSERT_PTR_EQUAL(nooks_out(d3, &k2, &T_obj), s);
	/* and given back: d3's shadow goes */
	CU_ASSERT_EQUAL(nooks_transfer(d3, NULL, &k2, &T_obj), 0);
	CU_ASSERT_PTR_NULL(nooks_in(d3, s, &T_obj));
	CU_ASSERT_PTR_NULL(nooks_in(d3, &k2, &T_obj));

	/* given to the kernel while another domain borrows it: the loan stays */
	int p = 0;
	CU_ASSERT_EQUAL(nooks_track(d1, &p, &T_plain), 0);
	CU_ASSERT_PTR_EQUAL(nooks_out(d2, &p, &T_plain), &p);
	CU_ASSERT_EQUAL(nooks_transfer(d1, NULL, &p, &T_plain), 0);
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, &p, &T_plain), &p);
	CU_ASSERT_PTR_NULL(nooks_in(d1, &p, &T_plain));
	nooks_end_borrow(d2, &p, &T_plain);
	CU_ASSERT_PTR_NULL(nooks_in(d2, &p, &T_plain));

	/* a lent shadowless object given to its borrower */
	CU_ASSERT_PTR_EQUAL(nooks_out(d2, &p, &T_plain), &p);
	CU_ASSERT_EQUAL(nooks_transfer(NULL, d2, &p, &T_plain), 0);
	nooks_end_borrow(d2, &p, &T_plain);
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, &p, &T_plain), &p);
	CU_ASSERT_EQUAL(nooks_forget(d2, &p, &T_plain), 0);
	CU_ASSERT_EQUAL(nooks_forget(d1, &k, &T_obj), 0);
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries);
	finish();
}

/* ---- memory checks -------------------------------------------------------- */

static void test_check_buffer(void)
{
	struct nooks_domain *d = DOM(0), *d2 = DOM(1);
	char mem[96] = { 0 };
	char *buf = mem + 16;		/* allowed: buf[0..64) */

	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf, 1, 0), -EFAULT);	/* nothing yet */
	CU_ASSERT_EQUAL(nk_tracker_allow(d, buf, 32, false), 0);
	CU_ASSERT_EQUAL(nk_tracker_allow(d, buf + 32, 32, true), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf, 32, 0), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 31, 1, 0), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf, 32, 1), -EFAULT);	/* read-only */
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 32, 32, 1), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 32, 32, 0), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf, 33, 0), -EFAULT);	/* two regions */
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 40, 25, 0), -EFAULT);	/* past the end */
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 64, 1, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf - 1, 2, 0), -EFAULT);	/* before */
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 1, SIZE_MAX, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, (void *)UINTPTR_MAX, 2, 0), -EFAULT);	/* wraps */
	CU_ASSERT_EQUAL(nooks_check_buffer(NULL, (void *)UINTPTR_MAX, 2, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, NULL, 1, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, NULL, 0, 1), 0);		/* len 0 */
	CU_ASSERT_EQUAL(nooks_check_buffer(d, mem, 0, 1), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d2, buf, 1, 0), -EFAULT);	/* d's memory */
	CU_ASSERT_EQUAL(nooks_check_buffer(NULL, buf, 1, 1), 0);	/* the kernel */
	CU_ASSERT_EQUAL(nooks_check_buffer(NULL, mem, sizeof mem, 1), 0);

	/* overlapping regions: one of them must hold it all */
	CU_ASSERT_EQUAL(nk_tracker_allow(d, buf + 16, 32, true), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 16, 32, 1), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 20, 20, 1), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf, 48, 0), -EFAULT);
	nk_tracker_disallow(d, buf + 16);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 20, 4, 1), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 20, 4, 0), 0);
	nk_tracker_disallow(d, buf + 20);			/* no such region */
	nk_tracker_disallow(d, buf);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf, 1, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 32, 1, 1), 0);
	nk_tracker_disallow(d2, buf);				/* d2 has none */
	nk_tracker_disallow(NULL, buf);

	/* nothing happens for NULL, empty or wrapping regions */
	CU_ASSERT_EQUAL(nk_tracker_allow(d2, NULL, 16, true), -EINVAL);
	CU_ASSERT_EQUAL(nk_tracker_allow(d2, buf, 0, true), -EINVAL);
	CU_ASSERT_EQUAL(nk_tracker_allow(d2, buf, SIZE_MAX, true), -EINVAL);
	CU_ASSERT_EQUAL(nk_tracker_allow(NULL, buf, 4, true), -EINVAL);
	CU_ASSERT_EQUAL(nooks_check_buffer(d2, buf, 1, 0), -EFAULT);

	/* many regions */
	static char pages[64][16];
	for (int i = 0; i < 64; i++)
		CU_ASSERT_EQUAL(nk_tracker_allow(d2, pages[i], 16, i % 2), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d2, pages[63], 16, 1), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d2, pages[62], 16, 1), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d2, pages[62], 16, 0), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d2, pages[62], 17, 0), -EFAULT);

	/* the domain's live shadows, writable, wherever in them */
	struct tobj o = { 1, 2, 3 };
	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	struct tobj *s = nooks_out(d, &o, &T_obj);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, s, sizeof *s, 1), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, &s->wr, sizeof s->wr, 1), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, &s->hid, sizeof s->hid, 1), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, &s->hid, sizeof s->hid + 1, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, (char *)s - 1, 2, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d2, s, 1, 0), -EFAULT);	/* not d2's */
	CU_ASSERT_EQUAL(nooks_check_buffer(d, &o, 1, 0), -EFAULT);	/* the object */
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, s, 1, 0), -EFAULT);	/* retired */
	finish();
	/* released: nothing is allowed any more */
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf + 32, 1, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d2, pages[1], 1, 0), -EFAULT);
}

static void test_check_string(void)
{
	struct nooks_domain *d = DOM(0);
	char s[32] = "hello";
	char z[16];
	static char big[5000];

	CU_ASSERT_EQUAL(nk_tracker_allow(d, s, sizeof s, false), 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, s, 0), 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, s, 6), 0);	/* 5 + NUL */
	CU_ASSERT_EQUAL(nooks_check_string(d, s, 5), -E2BIG);
	CU_ASSERT_EQUAL(nooks_check_string(d, s + 4, 2), 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, s + 5, 1), 0);	/* "" */
	CU_ASSERT_EQUAL(nooks_check_string(d, NULL, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 0), -EFAULT);	/* not allowed */
	CU_ASSERT_EQUAL(nooks_check_string(DOM(1), s, 0), -EFAULT);
	/* the kernel: any string, only the bound */
	CU_ASSERT_EQUAL(nooks_check_string(NULL, s, 0), 0);
	CU_ASSERT_EQUAL(nooks_check_string(NULL, s, 5), -E2BIG);
	CU_ASSERT_EQUAL(nooks_check_string(NULL, NULL, 0), -EFAULT);

	/* the region ends before the NUL: never read past it */
	memset(z, 'x', sizeof z);
	z[8] = '\0';
	CU_ASSERT_EQUAL(nk_tracker_allow(d, z, 8, false), 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 20), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 8), -E2BIG);	/* too long anyway */
	CU_ASSERT_EQUAL(nooks_check_string(d, z + 7, 0), -EFAULT);
	CU_ASSERT_EQUAL(nk_tracker_allow(d, z, 9, false), 0);	/* now the NUL is in */
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 0), 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 9), 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 8), -E2BIG);
	nk_tracker_disallow(d, z);				/* both go */
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 0), -EFAULT);

	/* the default bound */
	memset(big, 'x', sizeof big);
	CU_ASSERT_EQUAL(nk_tracker_allow(d, big, sizeof big, false), 0);
	big[4095] = '\0';
	CU_ASSERT_EQUAL(nooks_check_string(d, big, 0), 0);
	big[4095] = 'x';
	big[4096] = '\0';
	CU_ASSERT_EQUAL(nooks_check_string(d, big, 0), -E2BIG);
	CU_ASSERT_EQUAL(nooks_check_string(d, big, 4097), 0);
	big[4096] = 'x';
	CU_ASSERT_EQUAL(nooks_check_string(d, big, 10000), -EFAULT);	/* unterminated */

	/* a string inside a shadow, bounded by the shadow */
	static struct bobj b = { 1, "eth0" };
	struct bobj *sb = nooks_out(d, &b, &T_big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	CU_ASSERT_EQUAL(nooks_check_string(d, sb->name, 16), 0);
	memset(sb->name, 'y', sizeof sb->name);
	CU_ASSERT_EQUAL(nooks_check_string(d, sb->name, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_string(d, sb->name, 100), -E2BIG);
	nooks_end_borrow(d, &b, &T_big);
	finish();
}

/* ---- ops bindings --------------------------------------------------------- */

struct ops3 {
	void (*a)(void);
	void (*b)(void);
	void (*c)(void);
};

static void fn_a(void) { }
static void fn_c(void) { }
static void wr_a(void) { }
static void wr_b(void) { }
static void wr_c(void) { }

/* nooks_binding_of() from another thread, which keeps what it found */
struct binding_peek {
	const void *table;
	const struct nooks_binding *before, *after;
	pthread_barrier_t looked, released;
};

static void *peek_binding(void *arg)
{
	struct binding_peek *p = arg;
	p->before = nooks_binding_of(p->table);
	pthread_barrier_wait(&p->looked);
	pthread_barrier_wait(&p->released);
	p->after = nooks_binding_of(p->table);
	return NULL;
}

static void test_bindings(void)
{
	struct nooks_domain *d = DOM(0), *d2 = DOM(1);
	const struct ops3 orig = { fn_a, NULL, fn_c };
	const struct ops3 orig2 = { NULL, NULL, NULL };
	const struct ops3 wrappers = { wr_a, wr_b, wr_c };

	/* the extension's table must be memory it may pass: a garbage
	 * pointer is refused, not read */
	CU_ASSERT_PTR_NULL(nooks_bind_ops(d, &orig, &wrappers, sizeof wrappers));
	CU_ASSERT_PTR_NULL(nooks_bind_ops(d, (const void *)0x10, &wrappers, sizeof wrappers));
	CU_ASSERT_EQUAL(nk_tracker_allow(d, &orig, sizeof orig, false), 0);
	CU_ASSERT_EQUAL(nk_tracker_allow(d2, &orig2, sizeof orig2, false), 0);
	/* one byte short of the table: refused too */
	CU_ASSERT_PTR_NULL(nooks_bind_ops(d2, &orig2, &wrappers, sizeof wrappers + 1));

	struct nooks_binding *b = nooks_bind_ops(d, &orig, &wrappers, sizeof wrappers);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	const struct ops3 *t = b->table;
	CU_ASSERT_PTR_NOT_EQUAL(t, &wrappers);
	CU_ASSERT_PTR_NOT_EQUAL(t, &orig);
	CU_ASSERT(t->a == wr_a);
	CU_ASSERT(t->b == NULL);		/* the extension has none */
	CU_ASSERT(t->c == wr_c);
	CU_ASSERT(wrappers.b == wr_b);		/* the template is untouched */
	CU_ASSERT_PTR_EQUAL(b->domain, d);
	CU_ASSERT_PTR_EQUAL(b->orig, &orig);
	CU_ASSERT_EQUAL(b->size, sizeof wrappers);

	CU_ASSERT_PTR_EQUAL(nooks_binding_of(t), b);
	CU_ASSERT_PTR_NULL(nooks_binding_of(&wrappers));
	CU_ASSERT_PTR_NULL(nooks_binding_of(&orig));
	CU_ASSERT_PTR_NULL(nooks_binding_of((const char *)t + 1));
	CU_ASSERT_PTR_NULL(nooks_binding_of(b));
	CU_ASSERT_PTR_NULL(nooks_binding_of(NULL));

	/* one binding per registration, each its own table */
	struct nooks_binding *b2 = nooks_bind_ops(d2, &orig2, &wrappers, sizeof wrappers);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b2);
	const struct ops3 *t2 = b2->table;
	CU_ASSERT(t2->a == NULL && t2->b == NULL && t2->c == NULL);
	struct nooks_binding *b3 = nooks_bind_ops(d, &orig, &wrappers, sizeof wrappers);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b3);
	CU_ASSERT_PTR_NOT_EQUAL(b3->table, t);
	CU_ASSERT_PTR_EQUAL(nooks_binding_of(t2), b2);
	CU_ASSERT_PTR_EQUAL(nooks_binding_of(t), b);
	CU_ASSERT_PTR_EQUAL(nooks_binding_of(b3->table), b3);
	CU_ASSERT_PTR_NULL(nooks_bind_ops(NULL, &orig, &wrappers, sizeof wrappers));
	CU_ASSERT_PTR_NULL(nooks_bind_ops(d, NULL, &wrappers, sizeof wrappers));
	CU_ASSERT_PTR_NULL(nooks_bind_ops(d, &orig, NULL, sizeof wrappers));

	/* a size that is not a whole number of slots: the tail is copied */
	unsigned char odd_w[sizeof(void (*)(void)) + 3], odd_o[sizeof odd_w];
	memset(odd_w, 0xab, sizeof odd_w);
	memset(odd_o, 0, sizeof odd_o);
	CU_ASSERT_EQUAL(nk_tracker_allow(d2, odd_o, sizeof odd_o, false), 0);
	struct nooks_binding *bo = nooks_bind_ops(d2, odd_o, odd_w, sizeof odd_w);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bo);
	const unsigned char *to = bo->table;
	CU_ASSERT(to[0] == 0 && to[sizeof(void (*)(void)) - 1] == 0);
	CU_ASSERT(to[sizeof odd_w - 1] == 0xab);

	/* they live until their domain goes, for every thread (each keeps
	 * the tables it resolved: another thread's look-up is cached too) */
	struct binding_peek peek = { .table = t };
	pthread_t th;
	pthread_barrier_init(&peek.looked, NULL, 2);
	pthread_barrier_init(&peek.released, NULL, 2);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, peek_binding, &peek), 0);
	pthread_barrier_wait(&peek.looked);
	struct nk_release_stats st;
	nk_tracker_release_domain(d, &st);
	pthread_barrier_wait(&peek.released);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&peek.looked);
	pthread_barrier_destroy(&peek.released);
	CU_ASSERT_PTR_EQUAL(peek.before, b);
	CU_ASSERT_PTR_NULL(peek.after);
	CU_ASSERT_EQUAL(st.bindings, 2);
	CU_ASSERT_PTR_NULL(nooks_binding_of(t));
	CU_ASSERT_PTR_EQUAL(nooks_binding_of(t2), b2);
	/* a new binding, maybe where a released table was: found as itself */
	CU_ASSERT_EQUAL(nk_tracker_allow(d, &orig, sizeof orig, false), 0);
	struct nooks_binding *b4 = nooks_bind_ops(d, &orig, &wrappers, sizeof wrappers);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b4);
	const void *t4 = b4->table;
	CU_ASSERT_PTR_EQUAL(nooks_binding_of(t4), b4);
	nk_tracker_release_domain(d, &st);
	CU_ASSERT_EQUAL(st.bindings, 1);
	CU_ASSERT_PTR_NULL(nooks_binding_of(t4));
	nk_tracker_release_domain(d2, &st);
	CU_ASSERT_EQUAL(st.bindings, 2);
	CU_ASSERT_PTR_NULL(nooks_binding_of(t2));
	finish();
}

/* ---- records and recovery ------------------------------------------------- */

static void test_records(void)
{
	struct nooks_domain *d = DOM(0), *d2 = DOM(1);
	int r1 = 1, r2 = 2, l1 = 3, l2 = 4;
	struct nk_release_stats st;

	/* registrations are made on objects the tracker knows (here the
	 * kernel's); one gone before its record is not recorded */
	CU_ASSERT_EQUAL(nooks_record_registration(d, &r1, undo_cb), -ENOENT);
	CU_ASSERT_EQUAL(nooks_track(NULL, &r1, &T_plain), 0);
	CU_ASSERT_EQUAL(nooks_track(NULL, &r2, &T_plain), 0);
	CU_ASSERT_EQUAL(nooks_record_registration(d, &r1, undo_cb), 0);
	CU_ASSERT_EQUAL(nooks_record_registration(d, &r2, undo_cb), 0);
	CU_ASSERT_EQUAL(nooks_record_registration(d2, &r1, undo_cb), 0);	/* keyed by d too */
	nooks_drop_registration(d, &r1);
	nooks_drop_registration(d, &r1);		/* none left: no-op */
	nooks_drop_registration(NULL, &r2);
	CU_ASSERT_EQUAL(nooks_record_lock(d, &l1, unlock_cb), 0);
	CU_ASSERT_EQUAL(nooks_record_lock(d, &l1, unlock_cb), 0);	/* taken twice */
	CU_ASSERT_EQUAL(nooks_record_lock(d, &l2, unlock_cb), 0);
	nooks_drop_lock(d, &l1);			/* one of the two */
	nooks_drop_lock(d, &r1);			/* not a held lock */
	nooks_drop_lock(d2, &l2);			/* not d2's */
	CU_ASSERT_EQUAL(nooks_record_lock(NULL, &l1, unlock_cb), -EINVAL);
	CU_ASSERT_EQUAL(nooks_record_registration(NULL, &r1, undo_cb), -EINVAL);
	CU_ASSERT_STRING_EQUAL(events, "");		/* dropping calls nothing */

	nk_tracker_release_domain(d, &st);
	CU_ASSERT_STRING_EQUAL(events, "u4 u3 g2 ");
	CU_ASSERT_EQUAL(st.unlocked, 2);
	CU_ASSERT_EQUAL(st.undone, 1);
	events[0] = '\0';
	nk_tracker_release_domain(d2, &st);
	CU_ASSERT_STRING_EQUAL(events, "g1 ");
	CU_ASSERT_EQUAL(st.undone, 1);
	CU_ASSERT_EQUAL(st.unlocked, 0);
	events[0] = '\0';
	nk_tracker_release_domain(d, &st);		/* nothing left */
	CU_ASSERT_STRING_EQUAL(events, "");
	CU_ASSERT(st.unlocked == 0 && st.undone == 0 && st.released == 0 &&
		  st.shadows == 0 && st.bindings == 0);
	nk_tracker_release_domain(NULL, &st);
	nk_tracker_release_domain(d, NULL);
	CU_ASSERT_EQUAL(nooks_forget(NULL, &r1, &T_plain), 0);
	CU_ASSERT_EQUAL(nooks_forget(NULL, &r2, &T_plain), 0);
	finish();
}

/* Callbacks that call the tracker back while the domain is released. */
static struct nooks_domain *dying;
static struct tobj reentrant_obj = { 7, 0, 0 };
static int reentry_ok, reentry_calls;
static const struct ops3 *dying_table;

static void reentrant_unlock(void *lock)
{
	unlock_cb(lock);
	reentry_calls++;
	/* the record is gone already; nothing new may be added for dying */
	nooks_drop_lock(dying, lock);
	reentry_ok += nooks_record_lock(dying, lock, unlock_cb) == -ENODEV;
	reentry_ok += nooks_track(dying, &reentrant_obj, &T_obj) == -ENODEV;
	reentry_ok += nooks_out(dying, &reentrant_obj, &T_obj) == NULL;
	reentry_ok += nk_tracker_allow(dying, &reentrant_obj, 4, true) == -ENODEV;
	reentry_ok += nooks_bind_ops(dying, dying_table, dying_table,
				     sizeof *dying_table) == NULL;
	/* a second release of the same domain does nothing */
	struct nk_release_stats st = { 1, 1, 1, 1, 1 };
	nk_tracker_release_domain(dying, &st);
	reentry_ok += st.unlocked == 0 && st.released == 0;
	/* the kernel may use the tracker as usual */
	reentry_ok += nooks_track(NULL, &reentrant_obj, &T_obj) == 0;
	reentry_ok += nooks_forget(NULL, &reentrant_obj, &T_obj) == 0;
}

static void reentrant_undo(void *obj)
{
	undo_cb(obj);
	reentry_calls++;
	/* undoing a registration: the kernel may still call the table */
	reentry_ok += nooks_binding_of(dying_table) != NULL;
	nooks_drop_registration(dying, obj);
}

static void reentrant_release(void *obj)
{
	tobj_release(obj);
	reentry_calls++;
	/* the object is untracked before its release runs */
	reentry_ok += nooks_forget(dying, obj, &T_obj) == -ENOENT;
	reentry_ok += nooks_in(NULL, obj, &T_obj) == NULL;
}

static const struct nooks_type T_reent = {
	"struct tobj", 1, sizeof(struct tobj), reentrant_release, tobj_sync_in, tobj_sync_out
};

static void test_release_domain(void)
{
	struct nooks_domain *d = DOM(0), *d2 = DOM(1);
	struct tobj o1 = { 1, 0, 0 }, o2 = { 2, 0, 0 }, o3 = { 3, 0, 0 },
		    o4 = { 4, 0, 0 }, lent = { 5, 0, 0 }, other = { 6, 0, 0 };
	int plain = 0, g1 = 1, g2 = 2, l1 = 1, l2 = 2;
	struct nk_release_stats st;

	CU_ASSERT_EQUAL(nooks_track(d2, &o4, &T_reent), 0);	/* first d2's */
	CU_ASSERT_EQUAL(nooks_track(d, &o1, &T_reent), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &o2, &T_reent), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &o3, &T_reent), 0);
	CU_ASSERT_EQUAL(nooks_transfer(d2, d, &o4, &T_reent), 0);	/* d's last */
	CU_ASSERT_EQUAL(nooks_forget(d, &o2, &T_reent), 0);		/* released */
	CU_ASSERT_EQUAL(nooks_track(d, &plain, &T_plain), 0);	/* no release fn */
	CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &o1, &T_reent));	/* d's shadow */
	void *s3_in_d2 = nooks_out(d2, &o3, &T_reent);		/* d2 borrows d's */
	CU_ASSERT_PTR_NOT_NULL(s3_in_d2);
	CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &lent, &T_obj));	/* a loan */
	CU_ASSERT_EQUAL(nooks_track(d2, &other, &T_obj), 0);
	void *s_other = nooks_out(d2, &other, &T_obj);
	CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &other, &T_obj));	/* d borrows d2's */
	CU_ASSERT_EQUAL(nk_tracker_owned(d), 4);

	CU_ASSERT_EQUAL(nooks_track(NULL, &g1, &T_plain), 0);	/* the kernel's */
	CU_ASSERT_EQUAL(nooks_track(NULL, &g2, &T_plain), 0);
	CU_ASSERT_EQUAL(nooks_record_registration(d, &g1, reentrant_undo), 0);
	CU_ASSERT_EQUAL(nooks_record_lock(d, &l1, reentrant_unlock), 0);
	CU_ASSERT_EQUAL(nooks_record_registration(d, &g2, reentrant_undo), 0);
	CU_ASSERT_EQUAL(nooks_record_lock(d, &l2, reentrant_unlock), 0);
	char buf[8] = { 0 };
	CU_ASSERT_EQUAL(nk_tracker_allow(d, buf, sizeof buf, true), 0);
	const struct ops3 orig = { fn_a, NULL, fn_c }, wrappers = { wr_a, wr_b, wr_c };
	CU_ASSERT_EQUAL(nk_tracker_allow(d, &orig, sizeof orig, false), 0);
	struct nooks_binding *b = nooks_bind_ops(d, &orig, &wrappers, sizeof orig);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	dying = d;
	dying_table = b->table;
	reentry_ok = reentry_calls = 0;

	nk_tracker_release_domain(d, &st);
	CU_ASSERT_STRING_EQUAL(events, "u2 u1 g2 g1 r4 r3 r1 ");
	CU_ASSERT_EQUAL(reentry_calls, 7);
	CU_ASSERT_EQUAL(reentry_ok, 2 * 8 + 2 * 1 + 3 * 2);
	CU_ASSERT_EQUAL(st.unlocked, 2);
	CU_ASSERT_EQUAL(st.undone, 2);
	CU_ASSERT_EQUAL(st.released, 4);		/* o4 o3 o1 plain */
	CU_ASSERT_EQUAL(st.shadows, 3);		/* of o1, lent, other */
	CU_ASSERT_EQUAL(st.bindings, 1);
	CU_ASSERT_EQUAL(nk_tracker_owned(d), 0);
	CU_ASSERT_PTR_NULL(nooks_in(NULL, &o1, &T_reent));	/* untracked */
	CU_ASSERT_PTR_NULL(nooks_in(NULL, &plain, &T_plain));
	CU_ASSERT_PTR_NULL(nooks_in(NULL, &lent, &T_obj));
	CU_ASSERT_PTR_NULL(nooks_in(d2, s3_in_d2, &T_reent));	/* its object went */
	CU_ASSERT_PTR_NULL(nooks_binding_of(dying_table));
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf, 1, 0), -EFAULT);
	/* d2 keeps what is its own */
	CU_ASSERT_EQUAL(nk_tracker_owned(d2), 1);
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, s_other, &T_obj), &other);
	CU_ASSERT_PTR_NULL(nooks_in(d, &other, &T_obj));	/* d's loan ended */
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + 3);	/* and g1, g2 */

	/* the same pointer may come back as a new domain */
	CU_ASSERT_EQUAL(nooks_track(d, &o1, &T_obj), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(d), 1);
	events[0] = '\0';
	nk_tracker_release_domain(d, &st);
	CU_ASSERT_STRING_EQUAL(events, "r1 ");
	CU_ASSERT_EQUAL(st.released, 1);
	CU_ASSERT_EQUAL(nooks_forget(NULL, &g1, &T_plain), 0);
	CU_ASSERT_EQUAL(nooks_forget(NULL, &g2, &T_plain), 0);
	finish();
}

/* Everything at once, then release: the tracker is as it was. */
static void test_release_leaves_no_trace(void)
{
	struct nooks_domain *d = DOM(4);
	enum { N = 300 };
	static struct tobj objs[N], lent[N];
	static int ints[N];
	char buf[64] = { 0 };
	const struct ops3 orig = { fn_a, NULL, fn_c }, wrappers = { wr_a, wr_b, wr_c };
	struct nk_release_stats st;

	CU_ASSERT_EQUAL(nk_tracker_allow(d, &orig, sizeof orig, false), 0);
	for (int i = 0; i < N; i++) {
		objs[i].ro = i;
		CU_ASSERT_EQUAL(nooks_track(d, &objs[i], &T_obj), 0);
		CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &objs[i], &T_obj));
		CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &lent[i], &T_obj));
		CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &lent[i], &T_obj));	/* nested */
		CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &ints[i], &T_plain));
		CU_ASSERT_EQUAL(nooks_record_lock(d, &ints[i], NULL), 0);
		CU_ASSERT_EQUAL(nooks_record_registration(d, &ints[i], NULL), 0);
		if (i % 3 == 0)
			CU_ASSERT_EQUAL(nooks_forget(d, &objs[i], &T_obj), 0);
		if (i % 10 == 0)
			CU_ASSERT_PTR_NOT_NULL(nooks_bind_ops(d, &orig, &wrappers, sizeof orig));
	}
	CU_ASSERT_EQUAL(nk_tracker_allow(d, buf, sizeof buf, true), 0);
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + 3 * N - N / 3);
	CU_ASSERT_EQUAL(nk_tracker_owned(d), N - N / 3);
	events[0] = '\0';

	nk_tracker_release_domain(d, &st);
	CU_ASSERT_EQUAL(st.unlocked, N);
	CU_ASSERT_EQUAL(st.undone, N);
	CU_ASSERT_EQUAL(st.released, N - N / 3);
	CU_ASSERT_EQUAL(st.shadows, N - N / 3 + N);
	CU_ASSERT_EQUAL(st.bindings, N / 10);
	CU_ASSERT_EQUAL(releases, N - N / 3);
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries);
	CU_ASSERT_EQUAL(nk_tracker_owned(d), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, buf, 1, 0), -EFAULT);
	for (int i = 0; i < N; i++) {
		CU_ASSERT_PTR_NULL(nooks_in(d, &objs[i], &T_obj));
		CU_ASSERT_PTR_NULL(nooks_in(d, &lent[i], &T_obj));
		CU_ASSERT_PTR_NULL(nooks_in(d, &ints[i], &T_plain));
	}
	nooks_drop_lock(d, &ints[0]);		/* no records left */
	nk_tracker_release_domain(d, &st);
	CU_ASSERT_EQUAL(st.unlocked, 0);
	finish();
}

/* ---- concurrency ---------------------------------------------------------- */

enum { THREADS = 4, OBJS = 1000, ROUNDS = 100, SHARED = 64 };

static struct tobj shared_kernel[SHARED];	/* tracked as the kernel's */
static struct tobj shared_lent[SHARED];	/* lent to every domain at once */

struct worker {
	int id;
	struct tobj *objs;
	long errors;
};

static void *stress(void *arg)
{
	struct worker *w = arg;
	struct nooks_domain *d = DOM(w->id), *other = DOM((w->id + 1) % THREADS);
	char stack_buf[32] = { 0 };

	if (nk_tracker_allow(d, stack_buf, sizeof stack_buf, true))
		w->errors++;
	for (int r = 0; r < ROUNDS; r++) {
		for (int j = 0; j < OBJS; j++) {
			struct tobj *o = &w->objs[j];
			o->ro = j;
			if (nooks_track(d, o, &T_obj))
				w->errors++;
		}
		for (int j = 0; j < OBJS; j++) {
			struct tobj *o = &w->objs[j];
			struct tobj *s;
			if (nooks_in(d, o, &T_obj) != o || nooks_in(other, o, &T_obj))
				w->errors++;
			if (!(s = nooks_out(d, o, &T_obj)) || s->ro != j)
				w->errors++;
			else if (nooks_in(d, s, &T_obj) != o || nooks_in(other, s, &T_obj) ||
				 nooks_check_buffer(d, &s->wr, sizeof s->wr, 1) ||
				 nooks_check_buffer(other, s, 1, 0) != -EFAULT)
				w->errors++;
			if (nooks_check_buffer(d, stack_buf + 8, 8, 1))
				w->errors++;

			struct tobj *k = &shared_kernel[j % SHARED];
			if (nooks_in(d, k, &T_obj) != k)
				w->errors++;
			struct tobj *ks = nooks_out(d, k, &T_obj);
			if (!ks || nooks_in(d, ks, &T_obj) != k)
				w->errors++;
			nooks_end_borrow(d, k, &T_obj);

			struct tobj *l = &shared_lent[(j + w->id) % SHARED];
			struct tobj *ls = nooks_out(d, l, &T_obj);
			if (!ls || nooks_in(d, ls, &T_obj) != l)
				w->errors++;
			nooks_refresh(d, l, &T_obj);
			nooks_end_borrow(d, l, &T_obj);

			if (nooks_record_lock(d, o, unlock_cb))
				w->errors++;
			nooks_drop_lock(d, o);
		}
		for (int j = 0; j < OBJS; j++) {
			struct tobj *o = &w->objs[j];
			if (nooks_forget(other, o, &T_obj) != -ENOENT ||
			    nooks_forget(d, o, &T_obj) != 0 ||
			    nooks_forget(d, o, &T_obj) != -ENOENT || nooks_in(d, o, &T_obj))
				w->errors++;
		}
	}
	nk_tracker_disallow(d, stack_buf);
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];

	for (int i = 0; i < SHARED; i++)
		CU_ASSERT_EQUAL(nooks_track(NULL, &shared_kernel[i], &T_obj), 0);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ i, calloc(OBJS, sizeof(struct tobj)), 0 };
		CU_ASSERT_PTR_NOT_NULL_FATAL(w[i].objs);
	}
	for (int i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, stress, &w[i]), 0);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(w[i].errors, 0);
	}
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + SHARED);
	for (int i = 0; i < SHARED; i++)
		CU_ASSERT_EQUAL(nooks_forget(NULL, &shared_kernel[i], &T_obj), 0);
	CU_ASSERT_STRING_EQUAL(events, "");
	finish();
	for (int i = 0; i < THREADS; i++)
		free(w[i].objs);
}

/* Releases racing with users of the same and other domains. */
static void *churn(void *arg)
{
	struct worker *w = arg;
	struct nooks_domain *d = DOM(4 + w->id % 2);

	for (int r = 0; r < 2000; r++) {
		struct tobj *o = &w->objs[r % OBJS];
		int t = nooks_track(d, o, &T_other);
		if (t && t != -ENODEV && t != -EEXIST)
			w->errors++;
		(void)nooks_out(d, o, &T_other);
		(void)nooks_out(d, &shared_lent[r % SHARED], &T_obj);
		nooks_end_borrow(d, &shared_lent[r % SHARED], &T_obj);
		(void)nooks_record_lock(d, o, NULL);
		if (r % 7 == 0)
			nk_tracker_release_domain(d, NULL);
		(void)nooks_forget(d, o, &T_other);
	}
	return NULL;
}

static void test_release_races(void)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ i, calloc(OBJS, sizeof(struct tobj)), 0 };
		CU_ASSERT_PTR_NOT_NULL_FATAL(w[i].objs);
	}
	for (int i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, churn, &w[i]), 0);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(w[i].errors, 0);
	}
	finish();
	for (int i = 0; i < THREADS; i++)
		free(w[i].objs);
}


/* ---- no global lock on the crossing path ---------------------------------- */

/* A shadowed type whose sync_in, armed, stops inside the tracker (under
 * the object's lock) until the test lets it go: bounded, so that a
 * tracker that serialised everything fails the test rather than hangs. */
static pthread_mutex_t blk_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t blk_c = PTHREAD_COND_INITIALIZER;
static int blk_armed, blk_inside, blk_go, other_done;

/* Under blk_m: waits until *flag is set or secs have passed (by the
 * monotonic clock: a guest's wall clock may jump), in short waits. */
static void wait_flag(volatile int *flag, int secs)
{
	struct timespec t0, now, ts;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!*flag) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= secs)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&blk_c, &blk_m, &ts);
	}
}

static void blk_sync_in(void *shadow, const void *obj)
{
	tobj_sync_in(shadow, obj);
	pthread_mutex_lock(&blk_m);
	if (blk_armed) {
		blk_inside = 1;
		pthread_cond_broadcast(&blk_c);
		wait_flag(&blk_go, 120);
	}
	pthread_mutex_unlock(&blk_m);
}

static const struct nooks_type T_blk = {
	"struct blk", 6, sizeof(struct tobj), NULL, blk_sync_in, tobj_sync_out
};

static struct tobj blk_obj, other_objs[16];
/* of other_objs, two not in blk_obj's stripe (the addresses move with
 * ASLR: any fixed one would share its stripe once in 64 runs) */
static struct tobj *other_obj, *other_tracked;

static void *blk_crossing(void *arg)
{
	struct tobj *s = nooks_out(DOM(0), &blk_obj, &T_blk);	/* stops in sync_in */
	*(long *)arg = s && nooks_in(DOM(0), s, &T_blk) == &blk_obj;
	nooks_end_borrow(DOM(0), &blk_obj, &T_blk);
	return NULL;
}

/* Crossings with another object, of the same domain and of another one,
 * the slow paths (a new entry, view and shadow, and their going) and the
 * fast ones (a second borrow of a view that exists). */
static void *other_crossings(void *arg)
{
	long ok = 1;
	for (int i = 0; i < 2; i++) {
		struct nooks_domain *d = DOM(i);
		struct tobj *s = nooks_out(d, other_obj, &T_obj);
		struct tobj *s2 = nooks_out(d, other_obj, &T_obj);
		ok &= s && s2 == s && s->ro == other_obj->ro &&
		      nooks_in(d, s, &T_obj) == other_obj && nooks_in(d, other_obj, &T_obj);
		nooks_refresh(d, other_obj, &T_obj);
		nooks_end_borrow(d, other_obj, &T_obj);
		nooks_end_borrow(d, other_obj, &T_obj);
		ok &= !nooks_in(d, s, &T_obj);		/* its view went */
	}
	ok &= nooks_track(DOM(1), other_tracked, &T_obj) == 0 &&
	      nooks_in(DOM(1), other_tracked, &T_obj) == other_tracked &&
	      nooks_forget(DOM(1), other_tracked, &T_obj) == 0;
	*(long *)arg = ok;
	pthread_mutex_lock(&blk_m);
	other_done = 1;
	pthread_cond_broadcast(&blk_c);
	pthread_mutex_unlock(&blk_m);
	return NULL;
}

static void test_no_global_lock(void)
{
	pthread_t blocked, other;
	long blocked_ok = 0, other_ok = 0;

	blk_obj.ro = 7;
	other_obj = other_tracked = NULL;
	for (int i = 0; i < 16 && !other_tracked; i++)
		if (nk_tracker_stripe(&other_objs[i]) != nk_tracker_stripe(&blk_obj)) {
			if (other_obj)
				other_tracked = &other_objs[i];
			else
				other_obj = &other_objs[i];
		}
	CU_ASSERT_PTR_NOT_NULL_FATAL(other_tracked);
	other_obj->ro = 5;
	blk_armed = 1;
	blk_inside = blk_go = other_done = 0;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&blocked, NULL, blk_crossing, &blocked_ok), 0);

	pthread_mutex_lock(&blk_m);
	wait_flag(&blk_inside, 60);
	CU_ASSERT_EQUAL(blk_inside, 1);
	pthread_mutex_unlock(&blk_m);

	/* one crossing is stopped under blk_obj's lock: another object's
	 * go through meanwhile (with one global lock they would wait) */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&other, NULL, other_crossings, &other_ok), 0);
	pthread_mutex_lock(&blk_m);
	wait_flag(&other_done, 60);	/* with one global lock: never */
	CU_ASSERT_EQUAL(other_done, 1);
	CU_ASSERT_EQUAL(blk_inside, 1);		/* still stopped all along */
	blk_go = 1;
	blk_armed = 0;
	pthread_cond_broadcast(&blk_c);
	pthread_mutex_unlock(&blk_m);
	pthread_join(other, NULL);
	pthread_join(blocked, NULL);
	CU_ASSERT_EQUAL(other_ok, 1);
	CU_ASSERT_EQUAL(blocked_ok, 1);
	finish();
}

/* Several threads crossing with shared and private objects of two
 * domains at once (loans nested and not, refreshes, transfers, records),
 * then the domains released: every shadow showed its own object, no
 * loan outlived its end, nothing is left behind and every owned object
 * was released exactly once. */
enum { MIX_THREADS = 6, MIX_OWN = 200, MIX_SHARED = 32, MIX_ROUNDS = 300 };

static struct tobj mix_shared[MIX_SHARED];	/* the kernel's, untracked */
static struct tobj mix_own[MIX_THREADS][MIX_OWN];

static void *mixer(void *arg)
{
	struct worker *w = arg;
	struct nooks_domain *d = DOM(2 + w->id % 2), *other = DOM(2 + (w->id + 1) % 2);
	struct tobj *own = mix_own[w->id];

	for (int j = 0; j < MIX_OWN; j++) {
		own[j].ro = 1000 * w->id + j;
		if (nooks_track(d, &own[j], &T_obj))
			w->errors++;
	}
	for (int r = 0; r < MIX_ROUNDS; r++) {
		struct tobj *k = &mix_shared[(r * 7 + w->id) % MIX_SHARED];
		struct tobj *s = nooks_out(d, k, &T_obj);
		struct tobj *s2 = nooks_out(d, k, &T_obj);	/* nested */
		if (!s || s2 != s || s->ro != k->ro || nooks_in(d, s, &T_obj) != k ||
		    nooks_in(other, s, &T_obj))
			w->errors++;
		if (s && nooks_check_buffer(d, &s->wr, sizeof s->wr, 1))
			w->errors++;
		nooks_refresh(d, k, &T_obj);
		nooks_end_borrow(d, k, &T_obj);
		if (nooks_in(d, k, &T_obj) != k)		/* still lent */
			w->errors++;
		nooks_end_borrow(d, k, &T_obj);

		struct tobj *o = &own[r % MIX_OWN];
		struct tobj *os = nooks_out(d, o, &T_obj);
		if (!os || os->ro != o->ro || nooks_in(d, os, &T_obj) != o ||
		    nooks_in(other, o, &T_obj))
			w->errors++;
		if (nooks_record_registration(d, o, undo_cb))
			w->errors++;
		nooks_drop_registration(d, o);

		/* a round trip through the other domain and back */
		struct tobj *t = &own[(r * 13 + 1) % MIX_OWN];
		if (nooks_transfer(d, other, t, &T_obj) ||
		    nooks_transfer(other, d, t, &T_obj))
			w->errors++;
		if (r % 50 == 49) {		/* a private one goes, a new one comes */
			struct tobj *g = &own[(r / 50) % MIX_OWN];
			if (nooks_forget(d, g, &T_obj) || nooks_in(d, g, &T_obj) ||
			    nooks_track(d, g, &T_obj))
				w->errors++;
		}
	}
	return NULL;
}

static void test_mixed_threads(void)
{
	pthread_t th[MIX_THREADS];
	struct worker w[MIX_THREADS];

	for (int i = 0; i < MIX_SHARED; i++)
		mix_shared[i].ro = 100 + i;
	for (int i = 0; i < MIX_THREADS; i++) {
		w[i] = (struct worker){ i, NULL, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, mixer, &w[i]), 0);
	}
	for (int i = 0; i < MIX_THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(w[i].errors, 0);
	}
	/* every loan ended: only the private objects have entries */
	CU_ASSERT_EQUAL(nk_tracker_entries(), base_entries + MIX_THREADS * MIX_OWN);
	CU_ASSERT_EQUAL(nk_tracker_owned(DOM(2)) + nk_tracker_owned(DOM(3)),
			MIX_THREADS * MIX_OWN);
	for (int i = 0; i < MIX_SHARED; i++)
		CU_ASSERT_PTR_NULL(nooks_in(DOM(2), &mix_shared[i], &T_obj));
	struct nk_release_stats st2, st3;
	nk_tracker_release_domain(DOM(2), &st2);
	nk_tracker_release_domain(DOM(3), &st3);
	CU_ASSERT_EQUAL(st2.released + st3.released, MIX_THREADS * MIX_OWN);
	CU_ASSERT_EQUAL(releases, MIX_THREADS * MIX_OWN);
	CU_ASSERT_EQUAL(st2.undone + st3.undone, 0);	/* all dropped */
	CU_ASSERT_PTR_NULL(strchr(events, 'g'));	/* no undo ran */
	finish();
}


/* Releasing an object drops every registration and lock record made on
 * it: recovery never runs an undo on a released object (or on the next
 * object at its address). */
static int undo_calls;
static void count_undo(void *obj)
{
	(void)obj;
	undo_calls++;
}

static void test_release_drops_records(void)
{
	struct nooks_domain *d = DOM(0), *d2 = DOM(1);
	static struct tobj o, o2;

	undo_calls = 0;
	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_record_registration(d, &o, count_undo), 0);
	CU_ASSERT_EQUAL(nooks_record_lock(d, &o, count_undo), 0);
	/* another domain's record of the same address is its own */
	CU_ASSERT_EQUAL(nooks_record_registration(d2, &o, count_undo), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &o2, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_record_registration(d, &o2, count_undo), 0);

	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);
	/* the address is reused by a new object of d, registered anew */
	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);

	struct nk_release_stats st;
	nk_tracker_release_domain(d, &st);
	CU_ASSERT_EQUAL(st.undone, 1);		/* o2's only */
	CU_ASSERT_EQUAL(st.unlocked, 0);
	CU_ASSERT_EQUAL(undo_calls, 1);
	nk_tracker_release_domain(d2, &st);
	CU_ASSERT_EQUAL(st.undone, 1);
	CU_ASSERT_EQUAL(undo_calls, 2);
	finish();
}

/* FNV-1a, as nooksc names type ids (the quotas go by type name). */
static uint32_t fnv(const char *p)
{
	uint32_t h = 2166136261u;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static int gave_released;
static void give_release(void *obj)
{
	(void)obj;
	gave_released++;
}

static void test_quotas(void)
{
	struct nooks_domain *d = DOM(0), *d2 = DOM(1);
	static struct tobj objs[8];
	struct nooks_type tq = { "struct quotaobj", 0, sizeof(struct tobj), NULL, NULL, NULL };
	tq.id = fnv(tq.name);
	/* the same type (by name) with a release function */
	struct nooks_type tq_rel = tq;
	tq_rel.release = give_release;

	CU_ASSERT_EQUAL(nooks_domain_quota(d, "struct quotaobj"), -1);
	CU_ASSERT_EQUAL(nooks_set_default_quota("struct quotaobj", 3), 0);
	CU_ASSERT_EQUAL(nooks_domain_set_quota(d2, "struct quotaobj", 1), 0);
	CU_ASSERT_EQUAL(nooks_domain_quota(d, "struct quotaobj"), 3);
	CU_ASSERT_EQUAL(nooks_domain_quota(d2, "struct quotaobj"), 1);

	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(nooks_track(d, &objs[i], &tq), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &objs[3], &tq), -EDQUOT);
	CU_ASSERT_EQUAL(atomic_load(&d->quota_refused), 1);
	/* a release makes room; so does a transfer to the kernel */
	CU_ASSERT_EQUAL(nooks_forget(d, &objs[0], &tq), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &objs[3], &tq), 0);
	CU_ASSERT_EQUAL(nooks_transfer(d, NULL, &objs[1], &tq), 0);	/* untracks */
	CU_ASSERT_EQUAL(nooks_track(d, &objs[4], &tq), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &objs[5], &tq), -EDQUOT);
	/* the kernel has no quota, nor has a type without one */
	CU_ASSERT_EQUAL(nooks_track(NULL, &objs[5], &tq), 0);
	CU_ASSERT_EQUAL(nooks_forget(NULL, &objs[5], &tq), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &objs[6], &T_plain), 0);
	/* d2's own quota */
	CU_ASSERT_EQUAL(nooks_track(d2, &objs[0], &tq), 0);
	CU_ASSERT_EQUAL(nooks_track(d2, &objs[5], &tq), -EDQUOT);
	/* the kernel giving d2 an object it cannot take: released, since
	 * the kernel gave it away (a transfer parameter) */
	gave_released = 0;
	CU_ASSERT_EQUAL(nooks_give(d2, &objs[5], &tq_rel), -1);
	CU_ASSERT_EQUAL(gave_released, 1);
	CU_ASSERT_EQUAL(nooks_forget(d2, &objs[0], &tq), 0);
	CU_ASSERT_EQUAL(nooks_give(d2, &objs[5], &tq_rel), 0);	/* room now */
	CU_ASSERT_EQUAL(gave_released, 1);
	CU_ASSERT_EQUAL(nooks_give(d2, &objs[5], &tq_rel), 0);	/* tracked: left alone */
	CU_ASSERT_EQUAL(nooks_forget(d2, &objs[5], &tq_rel), 0);
	CU_ASSERT_EQUAL(nooks_track(d2, &objs[0], &tq), 0);
	/* a released domain starts again from nothing */
	nk_tracker_release_domain(d, NULL);
	for (int i = 1; i < 4; i++)
		CU_ASSERT_EQUAL(nooks_track(d, &objs[i], &tq), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &objs[4], &tq), -EDQUOT);
	/* no quota any more */
	CU_ASSERT_EQUAL(nooks_set_default_quota("struct quotaobj", -1), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &objs[4], &tq), 0);
	CU_ASSERT_EQUAL(nooks_domain_set_quota(d2, "struct quotaobj", -1), 0);
	atomic_store(&d->quota_refused, 0);
	atomic_store(&d2->quota_refused, 0);
	finish();
}

void register_tracker_tests(void);

void register_tracker_tests(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("tracker", NULL, NULL,
							   setup, teardown);
	if (!s)
		return;
	CU_add_test(s, "track and forget", test_track_forget);
	CU_add_test(s, "nooks_in rejects", test_in_rejects);
	CU_add_test(s, "arena objects: the read-only view out, back in, nowhere else", test_arena_views);
	CU_add_test(s, "shadow round trip and refresh", test_shadow_roundtrip);
	CU_add_test(s, "a shadow shared by threads keeps their writes", test_shadow_shared);
	CU_add_test(s, "nested borrows", test_borrow_nesting);
	CU_add_test(s, "stale shadows", test_stale_shadow);
	CU_add_test(s, "transfer", test_transfer);
	CU_add_test(s, "check_buffer", test_check_buffer);
	CU_add_test(s, "check_string", test_check_string);
	CU_add_test(s, "bindings", test_bindings);
	CU_add_test(s, "records", test_records);
	CU_add_test(s, "release order and re-entry", test_release_domain);
	CU_add_test(s, "release leaves no trace", test_release_leaves_no_trace);
	CU_add_test(s, "a release drops the records made on the object", test_release_drops_records);
	CU_add_test(s, "quotas", test_quotas);
	CU_add_test(s, "4 threads x 100k objects", test_threads);
	CU_add_test(s, "releases racing with users", test_release_races);
	CU_add_test(s, "a crossing stopped under one object's lock stops no other",
		    test_no_global_lock);
	CU_add_test(s, "6 threads crossing with shared and private objects, then released",
		    test_mixed_threads);
}
