/*
 * fake_runtime.h - a test double of libnooks for the generated wrappers.
 *
 * fake_runtime.c implements every function of runtime/include/nooks.h
 * with real semantics (tracker, shadows, permissions, records, bindings)
 * but no isolation: a "domain" is a record of what an extension may do,
 * and a crossing is a plain call that sets nooks_self() around it.  This
 * header adds what a test needs to drive it and to look inside.
 *
 * Single-threaded.  All state hangs off static variables and the domains;
 * fake_reset() frees all of it, so a suite that calls it in its cleanup
 * leaks nothing even when a test stops half-way.
 *
 * Semantics beyond nooks.h, in short (fake_runtime.c has the details):
 *  - Tracker entries: obj -> {type, owner (NULL: the kernel), "held"
 *    (tracked for its own sake: nooks_track or nooks_transfer) and one
 *    view per domain that sees it: its shadow and its borrow count}.
 *    An object the kernel lent with nooks_out() and nothing else stays
 *    tracked only while it is borrowed.
 *  - Who may use an object (nooks_in): its owner; a domain that borrows
 *    it; anyone for an object tracked as the kernel's (nooks_track with
 *    d NULL); the kernel (d NULL) always.  A shadow only by its domain.
 *  - Borrows nest: each nooks_out() by a domain that does not own the
 *    object counts one, each nooks_end_borrow() drops one, and the shadow
 *    goes with the last.
 *  - A shadow that goes (forget, end of borrow, transfer away) is
 *    *retired*: it is no longer a shadow of anything (nooks_in() rejects
 *    it), but its memory is only freed with its domain, so a stale
 *    extension pointer can never alias a newer shadow (and a double
 *    release is always caught).  Under AddressSanitizer retired shadows
 *    are poisoned: reading one is reported.
 *  - Transfer to the kernel (to == NULL) untracks the object: the kernel
 *    owns everything no domain owns.  Transfer from the kernel accepts an
 *    untracked object (the kernel owned it).
 */
#ifndef FAKE_RUNTIME_H
#define FAKE_RUNTIME_H

#include <stddef.h>

#include "nooks.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default bound of nooks_check_string() (max == 0). */
#define FAKE_STRING_MAX 4096

/* ---- domains ------------------------------------------------------------ */

/* A new domain (up, no memory allowed); NULL on ENOMEM. */
struct nooks_domain *fake_domain_new(const char *name);

/*
 * What recovery does when d dies, then frees d: marks it down, runs the
 * unlock callbacks still recorded (most recent first), then the undo
 * callbacks of registrations (most recent first), then releases the
 * objects d still owns through their type's release function (most
 * recently tracked first; an object whose type has none is just
 * forgotten), drops d's borrows and shadows of other objects, and frees
 * its bindings, regions and records.  Callbacks run with nooks_self()
 * == NULL.  NULL is a no-op.
 */
void fake_domain_free(struct nooks_domain *d);

const char *fake_domain_name(const struct nooks_domain *d);

/* What nooks_self() returns outside crossings (NULL: the kernel). */
void fake_set_self(struct nooks_domain *d);

/* A down domain: nooks_xpc_ext() returns -1 without calling. */
void fake_set_down(struct nooks_domain *d, int down);

/* The next nooks_xpc_ext() into d calls nothing and returns -1, as if the
 * extension faulted (it does not mark d down). */
void fake_fault_next(struct nooks_domain *d);

/* The running extension faults now: unwinds (longjmp) to the innermost
 * nooks_xpc_ext(), which returns -1.  Outside an extension (nooks_self()
 * NULL, or no crossing) it is a kernel bug: abort(). */
#if defined(__cplusplus)
[[noreturn]] void fake_crash(void);
#else
_Noreturn void fake_crash(void);
#endif

/* Memory d may read ([p, p + len)), and write if write != 0, for
 * nooks_check_buffer() and nooks_check_string().  Nothing else is
 * allowed; NULL and len 0 add nothing.  Regions accumulate. */
void fake_allow(struct nooks_domain *d, const void *p, size_t len, int write);

/* ---- counters (0 for d NULL unless said otherwise) ---------------------- */

int fake_ext_calls(const struct nooks_domain *d);	/* fn actually called */
int fake_kernel_calls(const struct nooks_domain *d);	/* nooks_xpc_kernel from d */
int fake_faults(const struct nooks_domain *d);		/* fault_next taken + crashes */
int fake_refused(const struct nooks_domain *d);		/* nooks_refused() calls */
int fake_registrations(const struct nooks_domain *d);	/* records held */
int fake_locks(const struct nooks_domain *d);		/* lock records held */
int fake_bindings(const struct nooks_domain *d);	/* nooks_bind_ops() made */
/* Live objects d owns; d NULL: objects tracked as the kernel's (held). */
int fake_tracked(const struct nooks_domain *d);
/* Borrows d has outstanding (sum over objects); must be 0 between calls. */
int fake_borrows(const struct nooks_domain *d);
/* timeout_ms of the last nooks_xpc_ext() into d that got past the
 * down/fault checks; 0 before any. */
unsigned fake_last_timeout(const struct nooks_domain *d);

/* ---- the tracker seen from outside -------------------------------------- */

/* d's current shadow of obj; NULL if none (also for a shadowless type). */
void *fake_shadow_of(struct nooks_domain *d, const void *obj);

/* The live object p stands for: p itself if it is tracked, the object
 * of which p is a live shadow (of any domain), else NULL.  Unlike
 * nooks_in() it checks no permission and syncs nothing: the kernel side
 * of a test uses it to find the object behind an extension pointer. */
void *fake_object_of(const void *p);

/* 1 if obj is a live object owned by d.  d NULL: 1 if no domain owns obj
 * (untracked, borrowed only, or tracked as the kernel's). */
int fake_owned_by(const void *obj, const struct nooks_domain *d);

/* 1 if d has an outstanding borrow of obj. */
int fake_borrowed_by(const void *obj, const struct nooks_domain *d);

/* Forgets all global state: every tracker entry and every domain still
 * alive is freed WITHOUT running release, undo or unlock callbacks; self
 * goes back to NULL.  Every domain pointer is invalid afterwards. */
void fake_reset(void);

/* ---- replay ------------------------------------------------------------- */

/* nooks_replay_record() logs a call when obj is registered by d (else
 * -ENOENT), replacing an earlier call of the same entry (fn) on the same
 * obj; the log is freed with d.  These replay it. */

/* Calls logged for d. */
int fake_replay_logged(const struct nooks_domain *d);

/* Replays d's log, oldest first, as the kernel, every call on obj (the
 * log is emptied first: the calls log themselves again); how many. */
int fake_replay(struct nooks_domain *d, void *obj);

/* ---- its own tests (test_fake_runtime.c) -------------------------------- */

/* Adds the suite "fake runtime" to the CUnit registry. */
void register_fake_runtime_tests(void);

#ifdef __cplusplus
}
#endif

#endif
