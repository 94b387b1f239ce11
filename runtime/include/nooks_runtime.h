/*
 * nooks_runtime.h - libnooks for the kernel: domains, the object arena,
 * crossings' configuration and statistics.
 *
 * nooks.h is what generated wrappers call; this header is what the kernel
 * that hosts extensions calls.  A domain is one isolated extension
 * instance: created with a backend, entered through nooks_xpc_ext() (by
 * the generated extension wrappers, or by the kernel directly for an
 * extension's init and exit), and destroyed, which releases everything
 * the extension held.
 */
#ifndef NOOKS_RUNTIME_H
#define NOOKS_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nooks.h"

#ifdef __cplusplus
extern "C" {
#endif

enum nooks_backend {
	NOOKS_BACKEND_NONE,	/* direct calls: no isolation, no recovery */
	NOOKS_BACKEND_MPROTECT,	/* kernel objects seen through a read-only view,
				 * own stack with a guard page, faults contained */
	NOOKS_BACKEND_PKEY,	/* like mprotect with protection keys; falls
				 * back to mprotect where keys are missing */
	NOOKS_BACKEND_PROCESS,	/* a process of its own (MINIX 3 style): its
				 * code runs in a domain process under
				 * seccomp; crossings over shared memory */
};

enum nooks_state {
	NOOKS_UP,		/* calls enter */
	NOOKS_DOWN,		/* faulted: calls get their fault value */
};

/* Why the last crossing into a domain failed. */
enum nooks_fault {
	NOOKS_FAULT_NONE,
	NOOKS_FAULT_SIGNAL,	/* SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT */
	NOOKS_FAULT_TIMEOUT,	/* the call ran past its deadline */
	NOOKS_FAULT_DOWN,	/* the thread could not enter (more threads
				 * than watchdog slots); a call into a domain
				 * already down keeps the fault that took it down */
	NOOKS_FAULT_EXIT,	/* the extension called exit() */
	NOOKS_FAULT_BOUND,	/* missed a liveness bound (nooks_bound_push,
				 * nooks_domain_fail): the reason is kept */
	NOOKS_FAULT_DIED,	/* its domain process ended (process backend):
				 * last_signal is the signal that killed it,
				 * or 0 (exited; the status in last_code) */
};

struct nooks_domain_stats {
	unsigned long calls;		/* crossings entered */
	unsigned long faults;		/* crossings that faulted or timed out */
	enum nooks_fault last_fault;
	int last_signal;		/* for NOOKS_FAULT_SIGNAL */
	uintptr_t last_addr;		/* faulting address (SIGSEGV/SIGBUS) */
	uintptr_t last_pc;		/* faulting instruction, when known */
	int last_code;			/* the signal's si_code (SEGV_PKUERR: a
					 * protection key stopped the access) */
	char reason[96];		/* for NOOKS_FAULT_BOUND: which bound */
	unsigned long refused;		/* object pointers its wrappers refused */
	unsigned long quota_refused;	/* allocations a quota refused */
};

/* Parses "none", "mprotect", "pkey" or "process"; -1 otherwise. */
int nooks_backend_parse(const char *name);
const char *nooks_backend_name(enum nooks_backend b);

/*
 * A new domain named name (for logs) on backend b.  pkey falls back to
 * mprotect, with one log line, when the CPU or kernel lacks protection
 * keys.  NULL and errno on failure.
 */
struct nooks_domain *nooks_domain_create(const char *name, enum nooks_backend b);

/* Releases everything the domain holds (see nk_tracker_release_domain:
 * locks, registrations, objects, shadows) and frees it.  No thread may be
 * inside it. */
void nooks_domain_destroy(struct nooks_domain *d);

enum nooks_backend nooks_domain_backend(const struct nooks_domain *d);
enum nooks_state nooks_domain_state(const struct nooks_domain *d);
const char *nooks_domain_name(const struct nooks_domain *d);
void nooks_domain_stats(const struct nooks_domain *d, struct nooks_domain_stats *out);

/* What recovery released. */
struct nooks_release_stats {
	int unlocked;		/* locks the extension held */
	int undone;		/* registrations undone */
	int released;		/* tracked objects released */
	int shadows;		/* shadow copies freed */
	int bindings;		/* ops-table bindings freed */
	/* nooks_domain_reset_wait: waiting for the domain's threads to
	 * leave it, and releasing what it held (ns) */
	long long unwind_ns, release_ns;
};

/*
 * After a fault: releases what the domain held and marks it up again, so
 * the caller can reload the extension and run its init.  0, or -EBUSY if
 * a thread is still inside the domain.
 */
int nooks_domain_reset(struct nooks_domain *d, struct nooks_release_stats *stats);

/*
 * fn(d, arg) is called once for each fault that takes d down (not for the
 * other threads unwound by it), on the faulting thread, after its
 * crossing has been unwound and before it returns the fault value: the
 * place to wake whoever runs recovery.  It must not block for long.
 */
void nooks_domain_on_fault(struct nooks_domain *d,
			   void (*fn)(struct nooks_domain *d, void *arg), void *arg);

/* nooks_domain_reset(), waiting (and signalling again) until every thread
 * has left the domain. */
void nooks_domain_reset_wait(struct nooks_domain *d, struct nooks_release_stats *stats);

/* What the last fault was, in words: "Segmentation fault at 0x0" (the
 * address for SIGSEGV and SIGBUS only), "Aborted", "timed out", "called
 * exit(3)", "down".  Returns buf. */
const char *nooks_fault_describe(const struct nooks_domain_stats *st, char *buf, size_t n);

/* The code range of the extension (its loaded object), recorded for
 * tools.  Faults are attributed without it: kernel code (the kernel and
 * every wrapper) runs with no current domain, so a fault while a domain
 * is current is the extension's, in its code or in a library it called
 * (libc's memcpy on its bad pointer); any other fault is the kernel's
 * own bug and is not contained. */
void nooks_domain_set_code(struct nooks_domain *d, uintptr_t start, uintptr_t end);

/* Memory the extension may pass to the kernel (its data, its buffers). */
int nooks_domain_allow(struct nooks_domain *d, const void *p, size_t len, int write);

/* Objects the tracker knows now (held by extensions, lent, or the
 * kernel's): for leak checks (nkctl stats). */
long nooks_tracked_objects(void);

/* Default deadline of a crossing when the IDL gives none (ms; 0: none). */
void nooks_set_default_timeout(unsigned ms);

/* Deferred calls (nooks_xpc_defer) queued (1, the default) or made at
 * once like any other (0): for measuring what they save. */
void nooks_set_defer(int on);

/* ---- liveness (docs/runtime.md "Liveness") -------------------------------- */

/*
 * A crossing's deadline bounds extension code *between* kernel calls.  A
 * liveness bound limits the wall-clock time of a whole call into an
 * extension, its kernel calls included: the kernel pushes one around a
 * call it must not wait on for ever (init, cleanup, a work item, an
 * injected call).  When the bound passes while the thread runs the
 * extension's code or a kernel call made for it, the watchdog fails that
 * domain (NOOKS_FAULT_BOUND, reason "WHAT took longer than MS ms") and
 * its threads unwind; a thread blocked in a kernel wait returns from it
 * (see nooks_interrupted).  Bounds nest; the innermost one counts.
 * `what` must stay valid until the pop.  0 ms pushes "no bound".
 */
void nooks_bound_push(unsigned ms, const char *what);
void nooks_bound_pop(void);

/*
 * Fails d as a fault of its own (NOOKS_FAULT_BOUND; why is copied into
 * the domain's last fault, e.g. "kthread_stop: thread ignored the stop
 * for 5000 ms"): d goes down, every thread running its code or blocked in
 * a kernel call for it is told to unwind, and its on_fault callback runs
 * once, on the calling thread.  Does nothing if d is already down or is
 * on the none backend.  For the kernel's own liveness checks.
 */
void nooks_domain_fail(struct nooks_domain *d, const char *why);

/* More than this many refused object pointers (nooks_refused) within
 * one second fail the domain ("refusal storm"); default 10000, 0: never. */
void nooks_set_refusal_limit(unsigned long per_second);

/*
 * Quotas (MINIX 3's per-driver privileges, in numbers): at most max live
 * objects of a tracked type ("struct socket") owned by one domain; the
 * allocation that would exceed it is refused (nooks_track: -EDQUOT, the
 * generated wrapper releases the new object and returns its error), the
 * first refusal per domain is logged and every one counted
 * (nooks_domain_stats: quota_refused).  The default applies to every
 * domain without its own.  max < 0: no quota.  0 or -ENOSPC (more than
 * 16 types).
 */
int nooks_set_default_quota(const char *type, long max);
int nooks_domain_set_quota(struct nooks_domain *d, const char *type, long max);
/* d's quota for type: its own, else the default; -1: none. */
long nooks_domain_quota(const struct nooks_domain *d, const char *type);

/* The domain the calling thread runs kernel code for (inside a kernel
 * call an isolated extension made), NULL otherwise. */
struct nooks_domain *nooks_caller(void);

/* 1 when the calling thread runs kernel code for a domain that is down
 * (being recovered): kernel waits made for it (locks, sleeps) must give
 * up and return, so that the thread can unwind; 0 otherwise. */
int nooks_interrupted(void);

/* ---- the process backend (docs/runtime.md "The process backend") ---------- */

/*
 * Starts the zygote process domains are forked from.  Call it while the
 * process is still one thread (first thing in main), before any domain is
 * created; without it a process domain cannot be created (ENOSYS).  0 or
 * -errno (-ENOSYS: no sealed two-view arena on this system).
 */
int nooks_proc_init(void);
/* A kernel thunk a domain process may ask the kernel to run
 * (nooks_xpc_kernel from the domain); any other is refused and kills the
 * domain.  0, or -ENOSPC. */
int nooks_proc_allow_kcall(nooks_thunk fn);
/* How long a side spins (iterations) before it sleeps on the futex;
 * default 2000 with more than one CPU, 0 with one (NOOKS_PROC_SPIN). */
void nooks_proc_set_spin(unsigned iterations);
/* The heartbeat: a domain process that does not answer within ms is
 * killed (a fault); default 1000, 0: never. */
void nooks_proc_set_heartbeat(unsigned ms);
/* The namespaces each new domain process makes for itself: a user
 * namespace, and a network namespace too with netns (about 0.4 ms more
 * per start here; NOOKS_PROC_NETNS=1).  Where the system refuses one it
 * goes without; nooks_proc_namespaces(d) says what d's process has
 * (CLONE_NEWUSER, CLONE_NEWNET). */
void nooks_proc_set_namespaces(int netns);
int nooks_proc_namespaces(const struct nooks_domain *d);
/* d's domain process (-1: none); how long its last restart took (ns). */
pid_t nooks_proc_pid(const struct nooks_domain *d);
long long nooks_proc_restart_ns(const struct nooks_domain *d);

/* ---- the loader ---------------------------------------------------------- */

/* A wrapper library's stub table pointer and the kernel table it gets:
 * { "nooks_stubs_net", &nooks_kw_table_net } for each interface. */
struct nooks_stub_binding {
	const char *pointer;
	const void *table;
};

struct nooks_ext;

/*
 * Loads the extension object at path for domain d.  wrapper NULL: natively
 * (dlopen, the extension binds to the kernel).  Otherwise isolated: into a
 * new link namespace that first receives the wrapper library (a shared
 * object carrying the kernel API's soname, built from the generated
 * stubs and runtime/extlib.c), whose stub pointers get the tables in bind.
 * NULL on failure, with a one-line reason in err: a missing or unreadable
 * file, not an ELF object, an unresolved symbol, no namespace left.
 */
struct nooks_ext *nooks_ext_load(struct nooks_domain *d, const char *path,
				 const char *wrapper,
				 const struct nooks_stub_binding *bind, size_t nbind,
				 char *err, size_t errlen);
/* A symbol of the extension (its init, say); NULL if it has none. */
void *nooks_ext_sym(struct nooks_ext *e, const char *name);
/* After a fault: a fresh copy of the extension (same namespace). */
int nooks_ext_reload(struct nooks_ext *e, char *err, size_t errlen);
/* How a reload of an isolated extension is done: by default, when it can
 * (contained, no thread-local storage, no $ORIGIN library of its own),
 * by restoring its writable data from a copy taken when it was loaded
 * and running its constructors again, keeping the mapping; otherwise,
 * or after nooks_ext_set_snapshot(e, 0), by unmapping it and loading it
 * anew (docs/runtime.md, "Recovery").  Counted: */
void nooks_ext_set_snapshot(struct nooks_ext *e, int on);
void nooks_ext_reload_stats(const struct nooks_ext *e, unsigned long *restored,
			    unsigned long *reloaded);
void nooks_ext_unload(struct nooks_ext *e);
/*
 * Fault injection into the loaded copy (a transient fault, as Nooks'
 * injector made them): writes len bytes at the object's ELF virtual
 * address vaddr, which must lie in the file part of an executable
 * PT_LOAD segment; the old bytes go to old (if not NULL).  The next
 * reload maps a new copy from the file instead of restoring this one,
 * so a restart brings the clean code back.  Threads running the code
 * meanwhile see the new bytes at some point (no synchronisation).  0, or
 * -1 with why in err.
 */
int nooks_ext_patch(struct nooks_ext *e, uintptr_t vaddr, const void *bytes, size_t len,
		    void *old, char *err, size_t errlen);

/*
 * Threads an isolated extension starts itself (pthread_create,
 * thrd_create) run in its domain; at most this many of them exist at
 * once per extension (domain), running or ended and not yet joined (a
 * joinable thread holds its stack until then): the creation beyond is
 * refused with EAGAIN, counted, and the first refusal logged.  The
 * default (64) applies to every extension without a limit of its own; max < 0 gives an extension
 * the default back.  Kernel threads (the kernel's own thread API) are
 * not counted here.
 */
void nooks_set_default_thread_limit(unsigned max);
int nooks_ext_set_thread_limit(struct nooks_ext *e, int max);

struct nooks_ext_thread_stats {
	unsigned live;		/* started and not finished */
	unsigned unjoined;	/* finished, joinable, not joined yet */
	unsigned long created;	/* in all */
	unsigned long refused;	/* by the limit (or out of memory) */
	unsigned handlers;	/* exit handlers kept for the unload */
};
/* -ENOENT when e's threads and handlers are not the runtime's (native,
 * or the none backend). */
int nooks_ext_thread_stats(struct nooks_ext *e, struct nooks_ext_thread_stats *out);
int nooks_ext_isolated(const struct nooks_ext *e);

/* What an isolated extension's exit() becomes: inside a crossing, a fault
 * of the domain (NOOKS_FAULT_EXIT); elsewhere, the end of the process. */
void nooks_ext_exited(int status);

/* ---- the recovery manager ------------------------------------------------ */

/*
 * Restart policy, as MINIX 3's reincarnation server: restart at once after
 * the first failure, then wait base_delay_ms, doubling for each further
 * failure within window_ms, capped at max_delay_ms; give up at
 * max_failures failures within window_ms (window_ms 0: the failures
 * before never count, so it never gives up).  An init that fails is not
 * retried.
 */
struct nooks_policy {
	unsigned base_delay_ms;
	unsigned max_delay_ms;
	unsigned max_failures;
	unsigned window_ms;
	/* the liveness bound of init, its kernel calls included (0: none):
	 * an init still running then is failed, as an init fault */
	unsigned init_bound_ms;
};
/* 100 ms, 10 s, 10, 60 s; init bound 10 s */
extern const struct nooks_policy nooks_policy_default;

/* A supervisor: one domain, its loaded extension and the name of its init
 * entry point ("" for none: nothing to run). */
struct nooks_sup;
struct nooks_sup *nooks_sup_new(struct nooks_domain *d, struct nooks_ext *e,
				const char *init, const struct nooks_policy *p);
void nooks_sup_free(struct nooks_sup *s);
/* Runs init the first time; -1 (and gives up) if it fails. */
int nooks_sup_start(struct nooks_sup *s);
/* After a crossing returned -1: log the fault, release what the domain
 * held, and unless the policy says stop, wait the backoff, reload and run
 * init.  0: serving again; -1: given up (the domain stays down). */
int nooks_sup_recover(struct nooks_sup *s);

struct nooks_sup_stats {
	unsigned restarts;
	unsigned recent_failures;	/* within the window */
	unsigned long failures;		/* every failure it recovered (or gave up on) */
	unsigned long last_delay_ms;
	int given_up;
	/* the last recovery's phases (ns): the domain's threads leaving it,
	 * releasing its holdings, reloading the object, its init, replaying
	 * logged calls */
	long long unwind_ns, release_ns, reload_ns, init_ns, replay_ns;
	int init_ret;			/* the last init's result when it failed, else 0 */
};
void nooks_sup_stats(const struct nooks_sup *s, struct nooks_sup_stats *out);
/* An init's (or any kernel-style) result as text: "Address already in use
 * (-98)" for a negative errno, "returned N" otherwise. */
const char *nooks_errno_text(int ret, char *buf, size_t n);

/* Where the runtime's one-line event logs go (default: stderr). */
void nooks_set_log(void (*fn)(const char *line));

/* ---- the kernel's object arena ------------------------------------------ */

/*
 * Kernel objects that cross the boundary live here.  The arena is mapped
 * twice: the kernel uses the read-write addresses nooks_arena_alloc
 * returns; extension code on an isolating backend only ever sees the
 * read-only view of an object (nooks_out gives it, nooks_in takes it
 * back), so its writes to a kernel object fault instead of landing,
 * while kernel threads write freely.  Zeroed memory, 16-byte aligned;
 * NULL when the arena is full.
 */
void *nooks_arena_alloc(size_t size);
void nooks_arena_free(void *p);
/* p is a (read-write) arena address */
int nooks_in_arena(const void *p);
/* Arena object p's address in the read-only view (p itself when p is
 * not in the arena). */
void *nooks_arena_ro(const void *p);
/* What d's code is given for p: nooks_arena_ro(p) on the mprotect
 * backend; p itself on the pkey backend (its code runs with the arena's
 * key write-disabled) and on the none backend (or for d NULL, the
 * kernel), as a native extension would be.  nooks_out hands objects out so; kernel
 * code that hands an object to an extension without a wrapper uses it. */
void *nooks_arena_view(const struct nooks_domain *d, const void *p);
/* 1 when the read-only view exists (0: one mapping only, nothing of the
 * arena is protected; the kernel should say so). */
int nooks_arena_protected(void);

/*
 * Memory the kernel shares in place with the code of one domain, which
 * reads and writes it where it is (a device's block cache: a file
 * system's buffer heads point into it).  Page-aligned, zeroed,
 * read-write, len rounded up to pages; NULL when none is left.  On the
 * in-process backends and for d NULL it is anonymous memory of the
 * process (the extension reaches it as it reaches any); on the process
 * backend, pages of the domain's window (the same address in both
 * processes; 128 MiB a domain), which outlive its restarts (zeroed in
 * each new process).  nooks_shared_guard makes pages of it inaccessible
 * to both sides (guard pages: an overrun faults), on process from the
 * domain's next crossing on; 0 or -1.  nooks_shared_free gives it back.
 */
void *nooks_shared_alloc(struct nooks_domain *d, size_t len);
int nooks_shared_guard(struct nooks_domain *d, void *p, size_t len);
void nooks_shared_free(struct nooks_domain *d, void *p, size_t len);

/* ---- per-domain heaps ------------------------------------------------------ */

/*
 * An isolated extension on an isolating backend allocates from a heap of
 * its own (docs/runtime.md, "Heaps"): memory it may pass to the kernel,
 * emptied when its domain's holdings are released, unmapped with it.
 */
struct nooks_heap_stats {
	size_t reserved;		/* the mapping */
	size_t in_use;			/* bytes in live blocks (headers included) */
	size_t peak;			/* the most in_use ever */
	size_t touched;			/* extent used since the last emptying */
	unsigned long allocs, frees;
	unsigned long bad_frees;	/* wild or double frees ignored */
	unsigned long failures;		/* allocations refused (full, or closed) */
	unsigned long wipes;		/* times it was emptied */
};
/* -ENOENT when e has no heap (native, or the none backend). */
int nooks_ext_heap_stats(const struct nooks_ext *e, struct nooks_heap_stats *out);

/* ---- replay of configuration calls ---------------------------------------- */

/*
 * Calls of [[replay]] ops entries that succeeded are logged per domain
 * (the latest per entry and registered object) while an extension is
 * loaded on an isolating backend, and replayed into its restarted copy
 * (docs/runtime.md, "Replay"): the supervisor does it after init.  A
 * logged call goes to the new copy's registration made through the same
 * kernel function with the same ordinal (the k-th device registered gets
 * the k-th device's calls).
 */
struct nooks_replay_stats {
	unsigned logged;	/* calls in the log when replay began */
	unsigned replayed;	/* served again by the new copy */
	unsigned faulted;	/* faulted the new copy: dropped from the log */
	unsigned refused;	/* the new copy returned an error */
	unsigned no_target;	/* no matching registration: dropped */
	unsigned superseded;	/* the new copy got a newer call already */
	unsigned left;		/* not tried (the domain went down): kept */
};
/* Replays d's log into d's current copy, oldest call first, through the
 * extension wrappers.  0, or -ENOENT when d keeps no log. */
int nooks_domain_replay(struct nooks_domain *d, struct nooks_replay_stats *st);
/* Calls in d's log now. */
unsigned nooks_domain_replay_logged(const struct nooks_domain *d);
/* What the supervisor replayed in all, and how many replays faulted. */
void nooks_sup_replay_stats(const struct nooks_sup *s, unsigned *replayed,
			    unsigned *faulted);

#ifdef __cplusplus
}
#endif

#endif
