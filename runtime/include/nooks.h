/*
 * nooks.h - the runtime ABI that generated wrappers call.
 *
 * Everything nooksc generates reaches libnooks through this header and
 * nothing else, so a runtime (the real one, or a test double) is exactly
 * an implementation of the functions declared here.  The runtime knows no
 * interface: the generated code hands it type descriptors and thunks.
 *
 * Directions.  An *extension pointer* is what an extension holds: a kernel
 * object itself, or the extension's shadow copy of it.  A *kernel object*
 * is what the kernel's functions take.  Kernel wrappers (extension calls
 * kernel) turn extension pointers into kernel objects with nooks_in();
 * extension wrappers (kernel calls extension) turn kernel objects into
 * extension pointers with nooks_out() and back with nooks_in().
 *
 * Crossings.  Both directions call through a thunk: the generated code
 * packs the arguments into a frame struct and passes a function that
 * unpacks it, so the runtime can switch stack and protection and set a
 * recovery point around the call without knowing its signature.
 *
 * Errors are negative errno values; "no object" is NULL.
 */
#ifndef NOOKS_H
#define NOOKS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NOOKS_ABI_VERSION 1

/* One loaded extension instance; opaque to generated code. */
struct nooks_domain;

/*
 * A kernel object type that crosses the boundary (one per IDL struct that
 * is tracked or shadowed), emitted by nooksc.
 */
struct nooks_type {
	const char *name;	/* "struct net_device" */
	uint32_t id;		/* FNV-1a of name: stable across builds */
	size_t size;		/* sizeof the kernel object */
	/* alloc(fn)'s release function, run by recovery for objects a dead
	 * extension still holds; NULL if nothing allocates this type */
	void (*release)(void *obj);
	/* The shadow: copy what the extension may read (readonly, writable
	 * and private fields; never hidden ones) from obj into shadow, and
	 * copy the writable and private fields back after validating them
	 * (0, or -EINVAL and obj untouched).  NULL when the type has no
	 * shadow: the extension then never gets a pointer it may write. */
	void (*sync_in)(void *shadow, const void *obj);
	int (*sync_out)(void *obj, const void *shadow);
};

/* The domain the calling thread runs in; NULL for the kernel itself. */
struct nooks_domain *nooks_self(void);

/* ---- object tracker ----------------------------------------------------- */

/* Records obj as a live object of type t owned by d (alloc()).
 * 0, -ENOMEM, or -EEXIST if obj is already tracked. */
int nooks_track(struct nooks_domain *d, void *obj, const struct nooks_type *t);

/* Ends obj's life in the tracker (release).  0, or -ENOENT if obj is not
 * a live object of type t owned by d: a double release. */
int nooks_forget(struct nooks_domain *d, void *obj, const struct nooks_type *t);

/* Moves obj's ownership to `to` (NULL: the kernel) (transfer).  0 or
 * -ENOENT. */
int nooks_transfer(struct nooks_domain *from, struct nooks_domain *to,
		   void *obj, const struct nooks_type *t);

/* The kernel gives obj, which it owns, to d (an extension wrapper's
 * transfer parameter): d owns it from now on.  If d cannot take it (it
 * is being released, or over its quota), obj is released with t's
 * release function, since the kernel gave it away: -1.  0 otherwise
 * (also when obj is already tracked, which is left as it is). */
int nooks_give(struct nooks_domain *d, void *obj, const struct nooks_type *t);

/* The kernel object extension pointer p stands for, if p is a live object
 * of type t (or d's shadow of one) that d may use; NULL otherwise.  If p
 * is a shadow, its writable fields are copied back first (sync_out); a
 * shadow that fails validation also gives NULL. */
void *nooks_in(struct nooks_domain *d, const void *p, const struct nooks_type *t);

/* A kernel wrapper's argument p: nooks_in(), and a refusal counted and
 * logged (nooks_refused) when it gives NULL.  NULL for a NULL p, which is
 * not a refusal. */
void *nooks_in_arg(struct nooks_domain *d, const void *p, const struct nooks_type *t);

/* What d should see for kernel object obj: its shadow in d, created or
 * refreshed (sync_in), or obj itself when t has no shadow.  Untracked
 * objects are tracked as borrowed until nooks_end_borrow().  NULL on
 * ENOMEM. */
void *nooks_out(struct nooks_domain *d, void *obj, const struct nooks_type *t);

/* After a kernel call that may have changed obj: if d has a shadow of
 * it, copy obj's readable fields into it again (sync_in).  Nothing else
 * changes: no tracking, no loan. */
void nooks_refresh(struct nooks_domain *d, void *obj, const struct nooks_type *t);

/* The end of a one-call loan of obj to d (borrow): its shadow goes. */
void nooks_end_borrow(struct nooks_domain *d, void *obj, const struct nooks_type *t);

/* The wrapper refused p, passed by d as an object of type t (nooks_in
 * gave NULL: a double release, a pointer never d's, or a shadow that
 * failed validation): counted and logged (the first ten, then at powers
 * of ten). */
void nooks_refused(struct nooks_domain *d, const void *p, const struct nooks_type *t);

/* 0 when [p, p + len) is memory d may read (write != 0: and write);
 * -EFAULT otherwise.  len 0 is always valid. */
int nooks_check_buffer(struct nooks_domain *d, const void *p, size_t len, int write);

/* 0 when p is a NUL-terminated string of at most max bytes (0: the
 * runtime's default bound) that d may read; -EFAULT or -E2BIG. */
int nooks_check_string(struct nooks_domain *d, const char *p, size_t max);

/* ---- crossings ---------------------------------------------------------- */

typedef void (*nooks_thunk)(void *frame);

/* Runs fn(frame) inside d: its stack, its protection, a recovery point and
 * a deadline of timeout_ms (0: the runtime's default).  0 when fn
 * returned; -1 when d was down or recovering, or faulted or timed out
 * during the call: the caller then returns its fault() value. */
int nooks_xpc_ext(struct nooks_domain *d, nooks_thunk fn, void *frame,
		  unsigned timeout_ms);

/* nooks_xpc_ext() with the frame's size: what a process domain needs, to
 * copy the frame in and out (nooks_xpc_ext gives none, SIZE_MAX, which a
 * process domain refuses: -1, NOOKS_FAULT_DOWN). */
int nooks_xpc_ext_frame(struct nooks_domain *d, nooks_thunk fn, void *frame, size_t size,
			unsigned timeout_ms);

/*
 * A kernel buffer the next crossing of this thread passes to d in frame:
 * field is the frame's member holding the pointer, size its bytes, dir
 * NOOKS_BUF_IN (the extension reads it), NOOKS_BUF_OUT (it writes it),
 * NOOKS_BUF_STR (a string: the copy is terminated).  The generated
 * extension wrappers call it right before nooks_xpc_ext_frame for their
 * bytes()/count()/string parameters.  Nothing on the in-process backends
 * (the extension reads and writes the kernel's buffer); a process domain
 * cannot see the kernel's memory, so the crossing copies the buffer into
 * the window and an out buffer back (call-by-value-result), refusing the
 * crossing (-1, the domain unharmed) if they exceed 1 MiB.
 */
#define NOOKS_BUF_IN 1
#define NOOKS_BUF_OUT 2
#define NOOKS_BUF_STR 4
void nooks_xpc_buf(struct nooks_domain *d, const void *frame, const void *field,
		   size_t size, int dir);

/* Runs fn(frame) in the kernel's domain, from extension d.  Calls the
 * thread queued with nooks_xpc_defer() are made first. */
void nooks_xpc_kernel(struct nooks_domain *d, nooks_thunk fn, void *frame);

/*
 * A [[deferred]] kernel function: fn(frame) is run in the kernel's domain
 * later, not now.  The runtime copies the frame (size bytes) into the
 * calling thread's queue and runs the queued calls, in order, in one
 * crossing: before the thread's next nooks_xpc_kernel(), when the
 * crossing into d that made them returns, or when the queue is full.  A
 * crossing that faults drops its queued calls (what they would have
 * freed or handed over is still d's, released by recovery).  Where
 * nothing is gained (the none backend, deferral off, a frame too large)
 * it is nooks_xpc_kernel().
 */
void nooks_xpc_defer(struct nooks_domain *d, nooks_thunk fn, const void *frame, size_t size);

/* A thread outside any crossing calls the kernel: it is kernel code from
 * now on, with the arena's protection key writable (a thread libc started
 * from a pkey domain's code, a SIGEV_THREAD timer's, inherited the
 * domain's PKRU; the extension code it runs is outside any domain
 * anyway).  Nothing to do elsewhere. */
void nooks_kernel_mode(void);

/*
 * How every generated kernel wrapper table (nooks_kw_table_IFACE) begins:
 * its interface's name and its checked functions (NULL-terminated), the
 * thunks a process domain's nooks_xpc_kernel() may name; the loader
 * allows them for the domains it loads an extension into.
 */
struct nooks_kw_head {
	const char *interface;
	const nooks_thunk *checked;
};

/* ---- recovery records --------------------------------------------------- */

/* registers(...) succeeded: recovery calls undo(obj) if d dies first. */
int nooks_record_registration(struct nooks_domain *d, void *obj,
			      void (*undo)(void *obj));
/* The extension undid it itself (the undo function was called). */
void nooks_drop_registration(struct nooks_domain *d, void *obj);

/* lock(p) / unlock(p): recovery calls unlock(lock) for locks d holds. */
int nooks_record_lock(struct nooks_domain *d, void *lock,
		      void (*unlock)(void *lock));
void nooks_drop_lock(struct nooks_domain *d, void *lock);

/* ---- ops tables --------------------------------------------------------- */

/*
 * registers(obj->ops): the kernel must call the extension's table through
 * extension wrappers.  nooks_bind_ops() makes a binding: a copy of the
 * generated wrapper table in which the entries the extension left NULL are
 * NULL too, remembered with the extension's own table and domain.  The
 * kernel gets binding->table; an extension wrapper called through it finds
 * its binding again with nooks_binding_of().  Bindings live until d's
 * holdings are released.  NULL on ENOMEM.
 */
struct nooks_binding {
	struct nooks_domain *domain;
	const void *orig;	/* the extension's table */
	void *table;		/* what the kernel gets */
	size_t size;
};

struct nooks_binding *nooks_bind_ops(struct nooks_domain *d, const void *orig,
				     const void *wrappers, size_t size);

/* The binding a table from nooks_bind_ops() belongs to; NULL if the table
 * did not come from it. */
const struct nooks_binding *nooks_binding_of(const void *table);

/* The binding a registration of d's ops table uses, for a kernel wrapper
 * of a registers() function: the binding table already belongs to (d
 * registering again with the table the kernel calls, as its shadow shows
 * it; *fresh = 0), else d's binding of that table if it has one (the
 * same entries left NULL: objects registered by the thousand with one
 * table, a file system's inodes, share it), else a new one
 * (nooks_bind_ops); *fresh = 1 in both cases.
 * NULL when table is NULL, belongs to another domain's binding, or on
 * ENOMEM. */
struct nooks_binding *nooks_bind_registration(struct nooks_domain *d, const void *table,
					      const void *wrappers, size_t size, int *fresh);

/* ---- replay (shadow-driver style) --------------------------------------- */

/*
 * An ops entry marked [[replay]] is a configuration call: after a
 * successful call its extension wrapper logs it, and after recovery has
 * restarted the extension the runtime replays the log into the new copy
 * (docs/runtime.md, "Replay").  The wrapper packs the arguments other
 * than obj (the registered object the entry was called for) into a record
 * struct; fn is the entry's generated replayer, which calls the entry's
 * extension wrapper again with a new obj and the logged arguments.
 *
 * Buffers are logged by value: bufs names the pointer members of the
 * record (their offset) and how many bytes each points to
 * (NOOKS_REPLAY_STRING: a NUL-terminated string).  The runtime copies the
 * record and the buffers and points the copy's members at the copied
 * buffers; NULL stays NULL.
 */
#define NOOKS_REPLAY_STRING ((size_t)-1)

struct nooks_replay_buf {
	size_t offset;		/* of a pointer member of the record */
	size_t len;		/* bytes it points to, or NOOKS_REPLAY_STRING */
};

typedef void (*nooks_replay_fn)(void *obj, const void *record);

/* Logs the call of entry fn on obj by d's extension; the latest call of
 * each entry on each registered object supersedes the ones before.  0;
 * -ENOENT when obj is not an object d registered, or d keeps no log
 * (nothing is logged); -ENOMEM. */
int nooks_replay_record(struct nooks_domain *d, void *obj, nooks_replay_fn fn,
			const void *record, size_t size,
			const struct nooks_replay_buf *bufs, size_t nbufs);

#ifdef __cplusplus
}
#endif

#endif
