/*
 * nooks_internal.h - what libnooks' own files share (never installed).
 *
 * The runtime is split by concern: xpc.c (domains, their state, the
 * current domain of each thread, crossings and fault containment),
 * tracker.c (objects, shadows, loans, bindings, recovery records and the
 * memory an extension may pass), recovery.c, replay.c, arena.c, heap.c
 * and loader.c.  tracker.c keeps its per-domain state to itself, keyed by
 * the domain pointer; xpc.c tells it when a domain's holdings must be
 * released (recovery, unload).
 */
#ifndef NOOKS_INTERNAL_H
#define NOOKS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "nooks.h"

/* ---- tracker.c ---------------------------------------------------------- */

/* Memory domain d may pass to the kernel (nooks_check_buffer/string): its
 * stack, its writable data, its heap arenas.  Regions may overlap. */
int nk_tracker_allow(struct nooks_domain *d, const void *p, size_t len, bool write);
void nk_tracker_disallow(struct nooks_domain *d, const void *p);
struct nooks_binding *nk_tracker_shared_binding(struct nooks_domain *d, const void *orig,
						const void *wrappers, size_t size);

/*
 * Recovery: everything d holds, released in a safe order: lock records
 * (their unlock callbacks, newest first), then registrations (undo
 * callbacks, newest first), then owned objects (their type's release,
 * newest first), then d's shadows, loans, bindings and memory regions.
 * Callbacks run as the kernel (nooks_self() == NULL).  Counts of what was
 * released go to *stats when not NULL.
 */
struct nk_release_stats {
	int unlocked, undone, released, shadows, bindings;
};
void nk_tracker_release_domain(struct nooks_domain *d, struct nk_release_stats *stats);

/* The pseudo-type nooks_refused() is given for an ops table the domain
 * may not pass (nooks_bind_ops). */
extern const struct nooks_type nk_ops_table_type;

/* Live objects owned by d (for statistics and leak tests). */
int nk_tracker_owned(const struct nooks_domain *d);
/* Every live tracker entry (all domains and the kernel). */
int nk_tracker_entries(void);
/* Which of the tracker's object locks guards obj (for the tests that
 * show crossings with objects of different stripes never wait for each
 * other). */
unsigned nk_tracker_stripe(const void *obj);



/* ---- xpc.c -------------------------------------------------------------- */

#include <stdatomic.h>
#include <stdint.h>

#include "nooks_runtime.h"

#define NK_QUOTA_TYPES 16		/* types with a quota (default or own) */
struct nk_quota {
	uint32_t id;			/* the type's id (FNV-1a of its name) */
	long max;
};

struct nooks_domain {
	char name[64];
	enum nooks_backend backend;
	atomic_int state;		/* enum nooks_state */
	atomic_int inside;		/* threads inside a crossing */
	atomic_ulong calls, faults;
	atomic_int last_fault, last_signal, last_code;	/* si_code */
	atomic_uintptr_t last_addr, last_pc;
	uintptr_t code_start, code_end;
	atomic_ulong gen;		/* changes when its regions are dropped */
	/* nooks_domain_on_fault(): told once per fault, by the thread whose
	 * crossing took the domain down */
	void (*on_fault)(struct nooks_domain *d, void *arg);
	void *on_fault_arg;
	atomic_ulong refused;		/* object pointers its wrappers refused */
	/* refusal storm detection (nooks_refused): refusals in the current
	 * one-second window and the window's start */
	atomic_ulong storm_n;
	atomic_llong storm_start_ms;
	char fail_reason[96];		/* NOOKS_FAULT_BOUND: which bound */
	/* per-domain quota overrides (nooks_domain_set_quota) */
	struct nk_quota quota[NK_QUOTA_TYPES];
	int nquota;
	atomic_ulong quota_refused;	/* allocations refused by a quota */
	/* the thread whose fault took it down last (a pthread_t), 0: none:
	 * recovery tells init's own faults from its threads' */
	atomic_ulong culprit;
	atomic_int failing;		/* nooks_domain_fail() under way on it */
	/* nooks_domain_reset_wait() sleeps on leaves (a futex), which the
	 * thread taking inside or failing to 0 bumps while resetting */
	atomic_int resetting;
	atomic_uint leaves;
	struct nk_proc *proc;		/* the process backend's (proc.c) */
};

/* CLOCK_MONOTONIC in nanoseconds. */
static inline long long nk_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* arena.c: the read-write address of p when p is in the arena's
 * read-only view, p itself otherwise. */
void *nk_arena_rw(const void *p);
/* arena.c: the protection key its read-write view is tagged with, -1
 * when there is none (the pkey backend falls back to mprotect). */
int nk_arena_pkey(void);

/* ---- heap.c: per-domain heaps (issue #4) ---------------------------------- */

#define NK_HEAP_SIZE ((size_t)64 << 20)	/* reserved per heap; touched pages cost */

struct nk_heap;
struct nooks_extlib_heap;
/* A heap for d (size 0: NK_HEAP_SIZE), closed until nk_heap_open(). */
struct nk_heap *nk_heap_new(struct nooks_domain *d, size_t size);
/* Serve allocations; its mapping is memory d may pass to the kernel. */
int nk_heap_open(struct nk_heap *h);
/* Empty it (pages back to the system) and stop serving; idempotent. */
void nk_heap_close(struct nk_heap *h);
/* Unmap it (NULL: nothing). */
void nk_heap_free(struct nk_heap *h);
/* nk_heap_close() every heap of d (the tracker's release of d). */
void nk_heap_release_domain(struct nooks_domain *d);
void nk_heap_stats(const struct nk_heap *h, struct nooks_heap_stats *out);
/* Fill in what extlib.c needs to allocate from h. */
void nk_heap_describe(struct nk_heap *h, struct nooks_extlib_heap *x);
/* The allocator itself (what extlib.c calls; align 0: 16 bytes). */
void *nk_heap_alloc(void *heap, size_t align, size_t n);
void nk_heap_dealloc(void *heap, void *p);
void *nk_heap_realloc(void *heap, void *p, size_t n);
size_t nk_heap_usable(void *heap, const void *p);
/* ---- replay.c and the tracker's registrations (issue #4) ------------------- */

/* Registering kernel functions told apart per domain (more: not replayed). */
#define NK_REG_KINDS 16

/* Which registration obj is for d: its kind (the undo callback, one per
 * registering kernel function) and ordinal (0 for the first registration
 * of that kind since d's holdings were last released, and so on).  0, or
 * -ENOENT if d has no registration of obj. */
int nk_tracker_registration(struct nooks_domain *d, const void *obj,
			    void (**kind)(void *), unsigned *ord);
/* The object of d's live registration of that kind and ordinal; NULL. */
void *nk_tracker_registered(struct nooks_domain *d, void (*kind)(void *), unsigned ord);

/* The replay log of d lives from nk_replay_open() (the loader, at load)
 * to nk_replay_close() (at unload); without one nothing is logged. */
int nk_replay_open(struct nooks_domain *d);
void nk_replay_close(struct nooks_domain *d);
/* recovery.c: d's last fault for the log, with the faulting symbol when
 * known ("Segmentation fault at 0 in ext_null+0x4").  Returns buf. */
const char *nk_fault_text(struct nooks_domain *d, char *buf, size_t n);
/* recovery.c: one line to the runtime's log (nooks_set_log). */
void nk_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* xpc.c: did the calling thread's own fault (not another thread's, nor
 * a bound of another thread) take d down last? */
int nk_domain_culprit_is_me(const struct nooks_domain *d);

/* xpc.c: bytes from a to the top of the calling thread's extension
 * stack, 0 if a is not on it (the tracker's buffer and string checks). */
size_t nk_own_stack_avail(uintptr_t a);

#endif

/* ---- proc.c: the process backend (issue 12) -------------------------------- */

#define NK_PROC_SLOTS 32		/* process domains at once */
#define NK_PROC_WIN ((size_t)1 << 30)	/* each one's window (sparse) */
#define NK_PROC_CHANS 128		/* kernel threads calling into one */
#define NK_PROC_FRAME 512		/* bytes of a crossing's frame */
#define NK_PROC_DEPTH 8			/* nested crossings per channel */

struct nk_proc;
/* 1 in a domain process. */
int nk_proc_in_domain(void);
/* A new domain process for d (d->proc); 0, or -1 and errno. */
int nk_proc_create(struct nooks_domain *d);
void nk_proc_destroy(struct nooks_domain *d);
/* A fresh process for d after a fault (nooks_domain_reset). */
int nk_proc_restart(struct nooks_domain *d);
/* nooks_xpc_ext on a process domain: the frame (size bytes) copied in
 * and back out. */
int nk_proc_xpc(struct nooks_domain *d, nooks_thunk fn, void *frame, size_t size,
		unsigned timeout_ms);
/* nooks_xpc_kernel in a domain process. */
void nk_proc_kcall(nooks_thunk fn, void *frame);
void nk_proc_bufs_drop(void);
/* nooks_shared_alloc/free on a process domain: pages of its window */
void *nk_proc_shared_alloc(struct nooks_domain *d, size_t len);
int nk_proc_shared_free(struct nooks_domain *d, void *a, size_t len);
int nk_proc_shared_guard(struct nooks_domain *d, void *a, size_t len);
/* In a domain process: a thread the extension starts (fn(arg) on a
 * channel of its own; 0 or EAGAIN), and its record let go (the thread
 * may run the next one). */
int nk_proc_thread_start(pthread_t *tid, void *(*fn)(void *), void *arg);
void nk_proc_thread_release(pthread_t tid);
/* In a domain process: a deferred kernel call queued (0), or -1 (make it
 * now). */
int nk_proc_defer(nooks_thunk fn, const void *frame, size_t size);
/* nooks_set_defer's setting (a domain process is told at its start). */
int nk_defer_enabled(void);
/* A process domain destroyed: its extension's destructors, in its
 * process; nk_ext_fini is what runs there. */
void nk_proc_ext_fini(struct nooks_domain *d);
void nk_ext_fini(struct nooks_ext *e);
/* In a domain process: a line for the kernel's log (nk_logf there), sent
 * over the thread's channel; 0, or -1 on a thread without one. */
int nk_proc_log(const char *line);
/* In a domain process: why it is about to end, for the kernel's log. */
void nk_proc_last_words(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* nooks_ext_load on a process domain: the extension is loaded in its
 * process (now, and at each restart); 0, or -1 and why in err. */
int nk_proc_ext_load(struct nooks_domain *d, const char *path, const char *wrapper,
		     const struct nooks_stub_binding *bind, size_t nbind, char *err, size_t errlen);
/* nooks_ext_sym of an extension in d's process: its address there. */
void *nk_proc_ext_sym(struct nooks_domain *d, const char *name);
/* The tracker's shadow area of process domain d: inside its window (its
 * next incarnation's window is a new, zeroed one); NULL for any other
 * domain, or when len does not fit. */
void *nk_proc_shadow_area(struct nooks_domain *d, size_t len);
int nk_proc_shadow_area_is(struct nooks_domain *d, const void *a);
/* nooks_domain_fail on a process domain: its process is killed too. */
void nk_proc_kill(struct nooks_domain *d);

/* xpc.c, for proc.c */
void nk_xpc_set_self(struct nooks_domain *d);
struct nooks_domain *nk_xpc_set_calling(struct nooks_domain *d);
struct nooks_domain *nk_xpc_set_running(struct nooks_domain *d);
void nk_xpc_unwind_others(struct nooks_domain *d);
/* inside or failing of d just went to 0: wakes nooks_domain_reset_wait */
void nk_domain_left(struct nooks_domain *d);

/* arena.c: the sealed memfd behind the arena and its read-only view
 * (-1 when there is none); the read-write view's base */
int nk_arena_share(void **ro, size_t *size);
void *nk_arena_rw_base(void);
