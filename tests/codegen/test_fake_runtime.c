/*
 * test_fake_runtime.c - CUnit tests of the runtime test double itself, so
 * that a wrapper test failing against it is the wrapper's fault.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "fake_runtime.h"

/* ---- test types ---------------------------------------------------------- */

/* A shadowed struct: ro readonly, wr writable (must stay >= 0), hid hidden. */
struct tobj {
	int ro;
	int wr;
	int hid;
};

static int sync_ins, sync_outs;

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

/* What recovery did, in order: "u:N" unlock, "g:N" undo, "r:N" release,
 * N being the ro field (objects) or the int pointed to (locks, regs). */
static char events[256];
static int callbacks_as_kernel;		/* callbacks that saw nooks_self() NULL */
static int callbacks;

static void event(char kind, int n)
{
	size_t len = strlen(events);
	if (len + 8 < sizeof events) {
		events[len++] = kind;
		events[len++] = (char)('0' + n % 10);
		events[len++] = ' ';
		events[len] = '\0';
	}
	callbacks++;
	callbacks_as_kernel += nooks_self() == NULL;
}

static void tobj_release(void *obj)
{
	event('r', ((struct tobj *)obj)->ro);
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

static void setup(void)
{
	fake_reset();
	events[0] = '\0';
	callbacks = callbacks_as_kernel = 0;
	sync_ins = sync_outs = 0;
}

static void teardown(void)
{
	fake_reset();
}

/* ---- tracker ------------------------------------------------------------ */

static void test_track_forget(void)
{
	struct nooks_domain *d = fake_domain_new("d"), *d2 = fake_domain_new("d2");
	struct tobj o = { 1, 0, 0 }, o2 = { 2, 0, 0 }, k = { 3, 0, 0 };

	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), -EEXIST);
	CU_ASSERT_EQUAL(nooks_track(d2, &o, &T_obj), -EEXIST);
	CU_ASSERT_EQUAL(nooks_track(d, NULL, &T_obj), -EINVAL);
	CU_ASSERT(fake_owned_by(&o, d));
	CU_ASSERT(!fake_owned_by(&o, d2));
	CU_ASSERT(!fake_owned_by(&o, NULL));
	CU_ASSERT_EQUAL(fake_tracked(d), 1);

	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_other), -ENOENT);	/* type */
	CU_ASSERT_EQUAL(nooks_forget(d2, &o, &T_obj), -ENOENT);	/* owner */
	CU_ASSERT_EQUAL(nooks_forget(NULL, &o, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_forget(d, &o2, &T_obj), -ENOENT);	/* unknown */
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), -ENOENT);	/* double release */
	CU_ASSERT_EQUAL(fake_tracked(d), 0);
	CU_ASSERT(fake_owned_by(&o, NULL));

	/* the same type through another descriptor */
	CU_ASSERT_EQUAL(nooks_track(d, &o2, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_forget(d, &o2, &T_obj_again), 0);

	/* tracked as the kernel's */
	CU_ASSERT_EQUAL(nooks_track(NULL, &k, &T_obj), 0);
	CU_ASSERT_EQUAL(fake_tracked(NULL), 1);
	CU_ASSERT_EQUAL(nooks_forget(d, &k, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_forget(NULL, &k, &T_obj), 0);
	CU_ASSERT_EQUAL(fake_tracked(NULL), 0);
	CU_ASSERT(sync_ins == 0 && sync_outs == 0);
}

static void test_in_rejects(void)
{
	struct nooks_domain *d = fake_domain_new("d"), *d2 = fake_domain_new("d2");
	struct tobj o = { 1, 0, 0 }, k = { 2, 0, 0 }, unknown = { 3, 0, 0 };
	int plain = 0;

	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, &o, &T_obj), &o);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, &o, &T_obj_again), &o);
	CU_ASSERT_PTR_NULL(nooks_in(d, &o, &T_other));		/* wrong type */
	CU_ASSERT_PTR_NULL(nooks_in(d2, &o, &T_obj));		/* d's object */
	CU_ASSERT_PTR_NULL(nooks_in(d, &unknown, &T_obj));	/* untracked */
	CU_ASSERT_PTR_NULL(nooks_in(d, (char *)&o + 1, &T_obj));	/* inside it */
	CU_ASSERT_PTR_NULL(nooks_in(d, NULL, &T_obj));
	CU_ASSERT_PTR_NULL(nooks_in(d, &o, NULL));
	CU_ASSERT_PTR_EQUAL(nooks_in(NULL, &o, &T_obj), &o);	/* the kernel */
	CU_ASSERT_EQUAL(sync_outs, 0);			/* not a shadow */

	/* the kernel's tracked objects: anyone */
	CU_ASSERT_EQUAL(nooks_track(NULL, &k, &T_obj), 0);
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, &k, &T_obj), &k);

	/* lent: only to the borrower, only while borrowed */
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &plain, &T_plain), &plain);
	CU_ASSERT(fake_borrowed_by(&plain, d));
	CU_ASSERT_PTR_EQUAL(nooks_in(d, &plain, &T_plain), &plain);
	CU_ASSERT_PTR_NULL(nooks_in(d2, &plain, &T_plain));
	nooks_end_borrow(d, &plain, &T_plain);
	CU_ASSERT_PTR_NULL(nooks_in(d, &plain, &T_plain));
	CU_ASSERT(fake_owned_by(&plain, NULL));
	CU_ASSERT_EQUAL(fake_borrows(d), 0);

	/* released: gone */
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);
	CU_ASSERT_PTR_NULL(nooks_in(d, &o, &T_obj));
}

/* ---- shadows ------------------------------------------------------------ */

static void test_shadow_roundtrip(void)
{
	struct nooks_domain *d = fake_domain_new("d"), *d2 = fake_domain_new("d2");
	struct tobj o = { 1, 2, 3 };

	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	struct tobj *s = nooks_out(d, &o, &T_obj);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_EQUAL(s, &o);
	CU_ASSERT_EQUAL(sync_ins, 1);
	CU_ASSERT(s->ro == 1 && s->wr == 2);
	CU_ASSERT_EQUAL(s->hid, 0);			/* never shown */
	CU_ASSERT_PTR_EQUAL(fake_shadow_of(d, &o), s);
	CU_ASSERT_PTR_NULL(fake_shadow_of(d2, &o));
	CU_ASSERT_PTR_EQUAL(fake_object_of(s), &o);
	CU_ASSERT_PTR_EQUAL(fake_object_of(&o), &o);
	CU_ASSERT_PTR_NULL(fake_object_of(&sync_ins));
	CU_ASSERT_PTR_NULL(fake_object_of(NULL));
	CU_ASSERT(!fake_borrowed_by(&o, d));		/* d owns it */
	CU_ASSERT_EQUAL(fake_borrows(d), 0);

	/* writes come back, readonly ones do not */
	s->wr = 7;
	s->ro = 99;
	CU_ASSERT_PTR_EQUAL(nooks_in(d, s, &T_obj), &o);
	CU_ASSERT_EQUAL(sync_outs, 1);
	CU_ASSERT(o.wr == 7 && o.ro == 1);
	/* an invalid write: NULL, obj untouched */
	s->wr = -1;
	CU_ASSERT_PTR_NULL(nooks_in(d, s, &T_obj));
	CU_ASSERT_EQUAL(o.wr, 7);
	/* a shadow is checked like its object */
	s->wr = 5;
	CU_ASSERT_PTR_NULL(nooks_in(d, s, &T_other));
	CU_ASSERT_PTR_NULL(nooks_in(d2, s, &T_obj));	/* d's shadow */
	CU_ASSERT_PTR_NULL(nooks_in(NULL, s, &T_obj));
	CU_ASSERT_EQUAL(o.wr, 7);

	/* refreshed in place */
	o.ro = 42;
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &o, &T_obj), s);
	CU_ASSERT(s->ro == 42 && s->wr == 7);
	nooks_end_borrow(d, &o, &T_obj);		/* not a loan: no-op */
	CU_ASSERT_PTR_EQUAL(fake_shadow_of(d, &o), s);

	/* another domain borrows it through its own shadow */
	struct tobj *s2 = nooks_out(d2, &o, &T_obj);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s2);
	CU_ASSERT(s2 != s && s2->ro == 42);
	CU_ASSERT(fake_borrowed_by(&o, d2));
	s2->wr = 11;
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, s2, &T_obj), &o);
	CU_ASSERT_EQUAL(o.wr, 11);
	CU_ASSERT_PTR_NULL(nooks_in(d, s2, &T_obj));
	nooks_end_borrow(d2, &o, &T_obj);
	CU_ASSERT_PTR_NULL(fake_shadow_of(d2, &o));
	CU_ASSERT_PTR_NULL(nooks_in(d2, s2, &T_obj));	/* retired */
	CU_ASSERT_PTR_NULL(fake_object_of(s2));
	CU_ASSERT_PTR_NULL(nooks_in(d2, &o, &T_obj));
	CU_ASSERT(fake_owned_by(&o, d));

	/* wrong type for a tracked object */
	CU_ASSERT_PTR_NULL(nooks_out(d, &o, &T_other));

	/* released: the shadow goes */
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);
	CU_ASSERT_PTR_NULL(fake_shadow_of(d, &o));
	CU_ASSERT_PTR_NULL(nooks_in(d, s, &T_obj));
}

static void test_borrow_nesting(void)
{
	struct nooks_domain *d = fake_domain_new("d");
	struct tobj k = { 1, 2, 3 };

	struct tobj *s = nooks_out(d, &k, &T_obj);	/* untracked: lent */
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(fake_borrowed_by(&k, d));
	CU_ASSERT(fake_owned_by(&k, NULL));
	CU_ASSERT_EQUAL(fake_tracked(d), 0);
	CU_ASSERT_EQUAL(fake_tracked(NULL), 0);	/* lent is not held */
	/* the kernel calls d again with k while d runs */
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &k, &T_obj), s);
	CU_ASSERT_EQUAL(fake_borrows(d), 2);
	nooks_end_borrow(d, &k, &T_obj);
	CU_ASSERT_PTR_EQUAL(nooks_in(d, s, &T_obj), &k);	/* outer call's */
	CU_ASSERT_PTR_EQUAL(fake_shadow_of(d, &k), s);
	nooks_end_borrow(d, &k, &T_obj);
	CU_ASSERT_EQUAL(fake_borrows(d), 0);
	CU_ASSERT_PTR_NULL(fake_shadow_of(d, &k));
	CU_ASSERT_PTR_NULL(nooks_in(d, s, &T_obj));
	nooks_end_borrow(d, &k, &T_obj);		/* nothing left: no-op */
	CU_ASSERT(!fake_borrowed_by(&k, d));

	/* a shadowless type: the object itself */
	CU_ASSERT_PTR_EQUAL(nooks_out(d, &k, &T_plain), &k);
	CU_ASSERT_PTR_NULL(fake_shadow_of(d, &k));
	nooks_end_borrow(d, &k, &T_obj);		/* wrong type: no-op */
	CU_ASSERT(fake_borrowed_by(&k, d));
	nooks_end_borrow(d, &k, &T_plain);
	CU_ASSERT(!fake_borrowed_by(&k, d));
	/* NULL and the kernel */
	CU_ASSERT_PTR_NULL(nooks_out(d, NULL, &T_obj));
	CU_ASSERT_PTR_EQUAL(nooks_out(NULL, &k, &T_obj), &k);
	CU_ASSERT(!fake_borrowed_by(&k, NULL));
}

static void test_stale_shadow(void)
{
	struct nooks_domain *d = fake_domain_new("d");
	struct tobj a = { 1, 0, 0 }, b = { 2, 0, 0 };

	CU_ASSERT_EQUAL(nooks_track(d, &a, &T_obj), 0);
	void *sa = nooks_out(d, &a, &T_obj);
	CU_ASSERT_EQUAL(nooks_forget(d, &a, &T_obj), 0);
	/* a new shadow never reuses a retired one's address */
	CU_ASSERT_EQUAL(nooks_track(d, &b, &T_obj), 0);
	void *sb = nooks_out(d, &b, &T_obj);
	CU_ASSERT_PTR_NOT_NULL(sb);
	CU_ASSERT_PTR_NOT_EQUAL(sa, sb);
	CU_ASSERT_PTR_NULL(nooks_in(d, sa, &T_obj));
	CU_ASSERT_PTR_EQUAL(nooks_in(d, sb, &T_obj), &b);
}

static void test_transfer(void)
{
	struct nooks_domain *d1 = fake_domain_new("d1"), *d2 = fake_domain_new("d2"),
			    *d3 = fake_domain_new("d3");
	struct tobj o = { 1, 0, 0 }, k = { 2, 0, 0 }, k2 = { 3, 0, 0 };

	CU_ASSERT_EQUAL(nooks_track(d1, &o, &T_obj), 0);
	void *s1 = nooks_out(d1, &o, &T_obj);
	CU_ASSERT_PTR_NOT_NULL(s1);
	CU_ASSERT_EQUAL(nooks_transfer(d2, d3, &o, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_transfer(NULL, d3, &o, &T_obj), -ENOENT);
	CU_ASSERT_EQUAL(nooks_transfer(d1, d2, &o, &T_other), -ENOENT);
	CU_ASSERT_EQUAL(nooks_transfer(d1, d2, &o, &T_obj), 0);
	CU_ASSERT(fake_owned_by(&o, d2));
	CU_ASSERT_EQUAL(fake_tracked(d1), 0);
	CU_ASSERT_EQUAL(fake_tracked(d2), 1);
	CU_ASSERT_PTR_NULL(nooks_in(d1, &o, &T_obj));
	CU_ASSERT_PTR_NULL(nooks_in(d1, s1, &T_obj));	/* d1's shadow went */
	CU_ASSERT_PTR_NULL(fake_shadow_of(d1, &o));
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, &o, &T_obj), &o);
	CU_ASSERT_EQUAL(nooks_transfer(d1, d2, &o, &T_obj), -ENOENT);

	/* to the kernel: no domain's any more, nor tracked */
	CU_ASSERT_EQUAL(nooks_transfer(d2, NULL, &o, &T_obj), 0);
	CU_ASSERT(fake_owned_by(&o, NULL));
	CU_ASSERT_EQUAL(fake_tracked(d2), 0);
	CU_ASSERT_EQUAL(fake_tracked(NULL), 0);
	CU_ASSERT_PTR_NULL(nooks_in(d2, &o, &T_obj));
	CU_ASSERT_EQUAL(nooks_forget(d2, &o, &T_obj), -ENOENT);

	/* from the kernel: an untracked object was the kernel's */
	CU_ASSERT_EQUAL(nooks_transfer(NULL, d1, &k, &T_obj), 0);
	CU_ASSERT(fake_owned_by(&k, d1));
	CU_ASSERT_EQUAL(nooks_transfer(d2, d1, &k2, &T_obj), -ENOENT);

	/* lent, then given: no longer a loan, the shadow stays */
	void *s = nooks_out(d3, &k2, &T_obj);
	CU_ASSERT_PTR_NOT_NULL(s);
	CU_ASSERT_EQUAL(nooks_transfer(NULL, d3, &k2, &T_obj), 0);
	CU_ASSERT(fake_owned_by(&k2, d3));
	CU_ASSERT_EQUAL(fake_borrows(d3), 0);
	nooks_end_borrow(d3, &k2, &T_obj);
	CU_ASSERT_PTR_EQUAL(fake_shadow_of(d3, &k2), s);
	CU_ASSERT_PTR_EQUAL(nooks_in(d3, s, &T_obj), &k2);
	/* and given back: d3's shadow goes */
	CU_ASSERT_EQUAL(nooks_transfer(d3, NULL, &k2, &T_obj), 0);
	CU_ASSERT_PTR_NULL(nooks_in(d3, s, &T_obj));
}

/* ---- memory checks ------------------------------------------------------ */

static void test_check_buffer(void)
{
	struct nooks_domain *d = fake_domain_new("d"), *d2 = fake_domain_new("d2");
	char mem[96];
	char *buf = mem + 16;		/* allowed: buf[0..64) */

	fake_allow(d, buf, 32, 0);
	fake_allow(d, buf + 32, 32, 1);
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
	CU_ASSERT_EQUAL(nooks_check_buffer(d, NULL, 1, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_buffer(d, NULL, 0, 1), 0);		/* len 0 */
	CU_ASSERT_EQUAL(nooks_check_buffer(d, mem, 0, 1), 0);
	CU_ASSERT_EQUAL(nooks_check_buffer(d2, buf, 1, 0), -EFAULT);	/* d's memory */
	CU_ASSERT_EQUAL(nooks_check_buffer(NULL, buf, 1, 0), -EFAULT);

	/* nothing happens for NULL or empty regions */
	fake_allow(d2, NULL, 16, 1);
	fake_allow(d2, buf, 0, 1);
	CU_ASSERT_EQUAL(nooks_check_buffer(d2, buf, 1, 0), -EFAULT);
}

static void test_check_string(void)
{
	struct nooks_domain *d = fake_domain_new("d");
	char s[32] = "hello";
	char z[16];
	static char big[5000];

	fake_allow(d, s, sizeof s, 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, s, 0), 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, s, 6), 0);	/* 5 + NUL */
	CU_ASSERT_EQUAL(nooks_check_string(d, s, 5), -E2BIG);
	CU_ASSERT_EQUAL(nooks_check_string(d, s + 4, 2), 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, s + 5, 1), 0);	/* "" */
	CU_ASSERT_EQUAL(nooks_check_string(d, NULL, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 0), -EFAULT);	/* not allowed */
	CU_ASSERT_EQUAL(nooks_check_string(NULL, s, 0), -EFAULT);

	/* the region ends before the NUL: never read past it */
	memset(z, 'x', sizeof z);
	z[8] = '\0';
	fake_allow(d, z, 8, 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 0), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 20), -EFAULT);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 8), -E2BIG);	/* too long anyway */
	CU_ASSERT_EQUAL(nooks_check_string(d, z + 7, 0), -EFAULT);
	fake_allow(d, z, 9, 0);				/* now the NUL is in */
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 0), 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 9), 0);
	CU_ASSERT_EQUAL(nooks_check_string(d, z, 8), -E2BIG);

	/* the default bound */
	memset(big, 'x', sizeof big);
	fake_allow(d, big, sizeof big, 0);
	big[FAKE_STRING_MAX - 1] = '\0';
	CU_ASSERT_EQUAL(nooks_check_string(d, big, 0), 0);
	big[FAKE_STRING_MAX - 1] = 'x';
	big[FAKE_STRING_MAX] = '\0';
	CU_ASSERT_EQUAL(nooks_check_string(d, big, 0), -E2BIG);
	CU_ASSERT_EQUAL(nooks_check_string(d, big, FAKE_STRING_MAX + 1), 0);
}

/* ---- crossings ---------------------------------------------------------- */

struct frame {
	struct nooks_domain *seen;		/* nooks_self() inside */
	struct nooks_domain *inner_seen;
	struct nooks_domain *back_seen;
	struct nooks_domain *d2;		/* for nested calls */
	int calls;
	int inner_ret;
	int after_crash;
};

static void thunk_record(void *p)
{
	struct frame *f = p;
	f->seen = nooks_self();
	f->calls++;
}

static void thunk_crash(void *p)
{
	struct frame *f = p;
	f->calls++;
	f->seen = nooks_self();
	fake_crash();
}

/* kernel code d calls, which calls into d2 (which crashes if asked) */
static void thunk_kernel_then_ext(void *p)
{
	struct frame *f = p;
	struct frame inner = { 0 };
	f->inner_seen = nooks_self();
	f->inner_ret = nooks_xpc_ext(f->d2, f->after_crash ? thunk_crash : thunk_record,
				     &inner, 0);
	f->back_seen = nooks_self();
	f->calls += inner.calls;
}

static void thunk_ext_calls_kernel(void *p)
{
	struct frame *f = p;
	f->seen = nooks_self();
	nooks_xpc_kernel(f->seen, thunk_kernel_then_ext, f);
	f->calls += nooks_self() == f->seen;	/* restored after */
}

static void test_xpc_ext(void)
{
	struct nooks_domain *d = fake_domain_new("d"), *d0 = fake_domain_new("d0");
	struct frame f = { 0 };

	CU_ASSERT_EQUAL(nooks_xpc_ext(d, thunk_record, &f, 50), 0);
	CU_ASSERT_PTR_EQUAL(f.seen, d);
	CU_ASSERT_PTR_NULL(nooks_self());
	CU_ASSERT_EQUAL(fake_ext_calls(d), 1);
	CU_ASSERT_EQUAL(fake_last_timeout(d), 50);

	fake_set_self(d0);			/* called from another extension */
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, thunk_record, &f, 0), 0);
	CU_ASSERT_PTR_EQUAL(f.seen, d);
	CU_ASSERT_PTR_EQUAL(nooks_self(), d0);
	CU_ASSERT_EQUAL(fake_last_timeout(d), 0);
	fake_set_self(NULL);

	/* down: nothing called */
	fake_set_down(d, 1);
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, thunk_record, &f, 0), -1);
	CU_ASSERT_EQUAL(f.calls, 2);
	fake_set_down(d, 0);
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, thunk_record, &f, 0), 0);
	CU_ASSERT_EQUAL(f.calls, 3);

	/* a fault on the next call only */
	fake_fault_next(d);
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, thunk_record, &f, 7), -1);
	CU_ASSERT_EQUAL(f.calls, 3);
	CU_ASSERT_EQUAL(fake_faults(d), 1);
	CU_ASSERT_EQUAL(fake_last_timeout(d), 0);
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, thunk_record, &f, 7), 0);
	CU_ASSERT_EQUAL(f.calls, 4);
	CU_ASSERT_EQUAL(fake_ext_calls(d), 4);

	CU_ASSERT_EQUAL(nooks_xpc_ext(NULL, thunk_record, &f, 0), -1);
	CU_ASSERT_EQUAL(f.calls, 4);
}

static void test_xpc_kernel(void)
{
	struct nooks_domain *d = fake_domain_new("d"), *d2 = fake_domain_new("d2");
	struct frame f = { 0 };

	fake_set_self(d);
	nooks_xpc_kernel(d, thunk_record, &f);
	CU_ASSERT_PTR_NULL(f.seen);
	CU_ASSERT_PTR_EQUAL(nooks_self(), d);
	CU_ASSERT_EQUAL(fake_kernel_calls(d), 1);
	CU_ASSERT_EQUAL(fake_ext_calls(d), 0);
	fake_set_self(NULL);

	/* kernel -> d -> kernel -> d2 -> back */
	f = (struct frame){ .d2 = d2 };
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, thunk_ext_calls_kernel, &f, 0), 0);
	CU_ASSERT_PTR_EQUAL(f.seen, d);
	CU_ASSERT_PTR_NULL(f.inner_seen);
	CU_ASSERT_PTR_NULL(f.back_seen);
	CU_ASSERT_EQUAL(f.inner_ret, 0);
	CU_ASSERT_EQUAL(f.calls, 2);		/* d2 ran, d's self restored */
	CU_ASSERT_EQUAL(fake_kernel_calls(d), 2);
	CU_ASSERT_EQUAL(fake_ext_calls(d2), 1);
	CU_ASSERT_PTR_NULL(nooks_self());
}

static void test_crash(void)
{
	struct nooks_domain *d = fake_domain_new("d"), *d2 = fake_domain_new("d2");
	struct frame f = { 0 };

	fake_set_self(NULL);
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, thunk_crash, &f, 0), -1);
	CU_ASSERT_EQUAL(f.calls, 1);
	CU_ASSERT_PTR_EQUAL(f.seen, d);
	CU_ASSERT_PTR_NULL(nooks_self());
	CU_ASSERT_EQUAL(fake_faults(d), 1);
	CU_ASSERT_EQUAL(fake_ext_calls(d), 1);
	/* the unwinding left nothing behind */
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, thunk_record, &f, 0), 0);
	CU_ASSERT_EQUAL(f.calls, 2);

	/* d -> kernel -> d2 crashes: only d2's call fails */
	f = (struct frame){ .d2 = d2, .after_crash = 1 };
	CU_ASSERT_EQUAL(nooks_xpc_ext(d, thunk_ext_calls_kernel, &f, 0), 0);
	CU_ASSERT_EQUAL(f.inner_ret, -1);
	CU_ASSERT_PTR_NULL(f.back_seen);	/* the kernel again */
	CU_ASSERT_EQUAL(f.calls, 2);		/* d2 ran once, d restored */
	CU_ASSERT_EQUAL(fake_faults(d2), 1);
	CU_ASSERT_EQUAL(fake_faults(d), 1);		/* the first test only */
	CU_ASSERT_PTR_NULL(nooks_self());
}

/* ---- ops bindings ------------------------------------------------------- */

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

static void test_bindings(void)
{
	struct nooks_domain *d = fake_domain_new("d"), *d2 = fake_domain_new("d2");
	const struct ops3 orig = { fn_a, NULL, fn_c };
	const struct ops3 orig2 = { NULL, NULL, NULL };
	const struct ops3 wrappers = { wr_a, wr_b, wr_c };

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
	CU_ASSERT_EQUAL(fake_bindings(d), 1);

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
	CU_ASSERT_PTR_EQUAL(nooks_binding_of(t2), b2);
	CU_ASSERT_PTR_EQUAL(nooks_binding_of(t), b);
	CU_ASSERT_PTR_NULL(nooks_bind_ops(NULL, &orig, &wrappers, sizeof wrappers));

	/* they live until their domain goes */
	fake_domain_free(d);
	CU_ASSERT_PTR_EQUAL(nooks_binding_of(t2), b2);
	CU_ASSERT_EQUAL(fake_bindings(d2), 1);
}

/* ---- records and recovery ----------------------------------------------- */

static void test_records(void)
{
	struct nooks_domain *d = fake_domain_new("d");
	int r1 = 1, r2 = 2, l1 = 3;

	CU_ASSERT_EQUAL(nooks_record_registration(d, &r1, undo_cb), 0);
	CU_ASSERT_EQUAL(nooks_record_registration(d, &r2, undo_cb), 0);
	CU_ASSERT_EQUAL(fake_registrations(d), 2);
	nooks_drop_registration(d, &r1);
	CU_ASSERT_EQUAL(fake_registrations(d), 1);
	nooks_drop_registration(d, &r1);		/* none left: no-op */
	CU_ASSERT_EQUAL(fake_registrations(d), 1);
	CU_ASSERT_EQUAL(nooks_record_lock(d, &l1, unlock_cb), 0);
	CU_ASSERT_EQUAL(nooks_record_lock(d, &l1, unlock_cb), 0);
	CU_ASSERT_EQUAL(fake_locks(d), 2);
	nooks_drop_lock(d, &l1);
	CU_ASSERT_EQUAL(fake_locks(d), 1);
	nooks_drop_lock(d, &r1);			/* not a held lock */
	CU_ASSERT_EQUAL(fake_locks(d), 1);
	CU_ASSERT_EQUAL(nooks_record_lock(NULL, &l1, unlock_cb), -EINVAL);
	CU_ASSERT_EQUAL(nooks_record_registration(NULL, &r1, undo_cb), -EINVAL);
	CU_ASSERT_EQUAL(callbacks, 0);			/* dropping calls nothing */
}

static void test_domain_free(void)
{
	struct nooks_domain *d = fake_domain_new("d"), *d2 = fake_domain_new("d2");
	struct tobj o1 = { 1, 0, 0 }, o2 = { 2, 0, 0 }, o3 = { 3, 0, 0 },
		    o4 = { 4, 0, 0 }, lent = { 5, 0, 0 }, other = { 6, 0, 0 };
	int plain = 0, g1 = 1, g2 = 2, l1 = 1, l2 = 2;

	CU_ASSERT_EQUAL(nooks_track(d2, &o4, &T_obj), 0);	/* first d2's */
	CU_ASSERT_EQUAL(nooks_track(d, &o1, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &o2, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_track(d, &o3, &T_obj), 0);
	CU_ASSERT_EQUAL(nooks_transfer(d2, d, &o4, &T_obj), 0);	/* d's last */
	CU_ASSERT_EQUAL(nooks_forget(d, &o2, &T_obj), 0);		/* released */
	CU_ASSERT_EQUAL(nooks_track(d, &plain, &T_plain), 0);	/* no release fn */
	CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &o1, &T_obj));
	CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &lent, &T_obj));	/* a loan */
	CU_ASSERT_EQUAL(nooks_track(d2, &other, &T_obj), 0);
	void *s_other = nooks_out(d2, &other, &T_obj);
	CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &other, &T_obj));	/* d borrows d2's */

	CU_ASSERT_EQUAL(nooks_record_registration(d, &g1, undo_cb), 0);
	CU_ASSERT_EQUAL(nooks_record_lock(d, &l1, unlock_cb), 0);
	CU_ASSERT_EQUAL(nooks_record_registration(d, &g2, undo_cb), 0);
	CU_ASSERT_EQUAL(nooks_record_lock(d, &l2, unlock_cb), 0);
	char buf[8];
	fake_allow(d, buf, sizeof buf, 1);
	const struct ops3 orig = { fn_a, NULL, fn_c }, wrappers = { wr_a, wr_b, wr_c };
	CU_ASSERT_PTR_NOT_NULL(nooks_bind_ops(d, &orig, &wrappers, sizeof orig));
	fake_set_self(d);

	fake_domain_free(d);
	CU_ASSERT_STRING_EQUAL(events, "u2 u1 g2 g1 r4 r3 r1 ");
	CU_ASSERT_EQUAL(callbacks_as_kernel, callbacks);
	CU_ASSERT_PTR_NULL(nooks_self());
	CU_ASSERT(fake_owned_by(&o1, NULL));
	CU_ASSERT(fake_owned_by(&plain, NULL));
	CU_ASSERT(fake_owned_by(&lent, NULL));
	CU_ASSERT_EQUAL(fake_tracked(NULL), 0);
	/* d2 keeps what is its own */
	CU_ASSERT(fake_owned_by(&other, d2));
	CU_ASSERT_EQUAL(fake_tracked(d2), 1);
	CU_ASSERT_PTR_EQUAL(fake_shadow_of(d2, &other), s_other);
	CU_ASSERT_PTR_EQUAL(nooks_in(d2, s_other, &T_obj), &other);

	/* self is kept when another domain goes */
	struct nooks_domain *d3 = fake_domain_new("d3");
	fake_set_self(d2);
	fake_domain_free(d3);
	CU_ASSERT_PTR_EQUAL(nooks_self(), d2);
	fake_domain_free(NULL);
}

static void test_reset(void)
{
	struct nooks_domain *d = fake_domain_new("d"), *d2 = fake_domain_new(NULL);
	struct tobj o = { 1, 0, 0 }, k = { 2, 0, 0 };
	int g = 1;
	char buf[4];

	CU_ASSERT_STRING_EQUAL(fake_domain_name(d), "d");
	CU_ASSERT_STRING_EQUAL(fake_domain_name(d2), "?");
	CU_ASSERT_EQUAL(nooks_track(d, &o, &T_obj), 0);
	CU_ASSERT_PTR_NOT_NULL(nooks_out(d, &o, &T_obj));
	CU_ASSERT_PTR_NOT_NULL(nooks_out(d2, &k, &T_obj));
	CU_ASSERT_EQUAL(nooks_track(NULL, &g, &T_plain), 0);
	CU_ASSERT_EQUAL(nooks_record_registration(d, &g, undo_cb), 0);
	CU_ASSERT_EQUAL(nooks_record_lock(d2, &g, unlock_cb), 0);
	fake_allow(d, buf, sizeof buf, 0);
	CU_ASSERT_EQUAL(nooks_forget(d, &o, &T_obj), 0);	/* a retired shadow */
	fake_set_self(d);

	fake_reset();		/* LeakSanitizer checks that nothing is left */
	CU_ASSERT_EQUAL(callbacks, 0);
	CU_ASSERT_PTR_NULL(nooks_self());
	CU_ASSERT_EQUAL(fake_tracked(NULL), 0);
	CU_ASSERT(fake_owned_by(&k, NULL));
	CU_ASSERT(fake_owned_by(&g, NULL));
}

void register_fake_runtime_tests(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("fake runtime", NULL, NULL,
							   setup, teardown);
	if (!s)
		return;
	CU_add_test(s, "track and forget", test_track_forget);
	CU_add_test(s, "nooks_in rejects", test_in_rejects);
	CU_add_test(s, "shadow round trip", test_shadow_roundtrip);
	CU_add_test(s, "nested borrows", test_borrow_nesting);
	CU_add_test(s, "stale shadow", test_stale_shadow);
	CU_add_test(s, "transfer", test_transfer);
	CU_add_test(s, "check_buffer", test_check_buffer);
	CU_add_test(s, "check_string", test_check_string);
	CU_add_test(s, "xpc_ext", test_xpc_ext);
	CU_add_test(s, "xpc_kernel", test_xpc_kernel);
	CU_add_test(s, "crash", test_crash);
	CU_add_test(s, "bindings", test_bindings);
	CU_add_test(s, "records", test_records);
	CU_add_test(s, "domain free", test_domain_free);
	CU_add_test(s, "reset", test_reset);
}
