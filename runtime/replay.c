/*
 * replay.c - the replay log: configuration calls ([[replay]] ops entries)
 * an extension served, replayed into its restarted copy (shadow drivers,
 * OSDI 2004), so that the kernel's clients keep what they configured.
 *
 * Logging.  The extension wrapper of a replay entry calls
 * nooks_replay_record() after a call that succeeded, with a record of its
 * arguments but the object it was called for (buffers are copied by
 * value here).  The object itself cannot be kept: recovery releases it.
 * What is kept is which of the extension's registrations it was: the
 * registering kernel function (its undo callback, one per function) and
 * the ordinal of that registration among the registrations through that
 * function since the domain's holdings were last released (the tracker
 * numbers them).  The latest call of an entry on a registration
 * supersedes the earlier ones; the log keeps call order otherwise.
 *
 * Replaying (nooks_domain_replay, run by the supervisor after the new
 * copy's init).  For each logged call, oldest first: the target is the
 * new copy's registration with the same kind and ordinal — the k-th
 * device the restarted init registers through register_netdev() gets the
 * calls the k-th one got.  The entry's generated replayer calls its
 * extension wrapper on it, so the call crosses like any other and a fault
 * is contained; the wrapper logs it again if it succeeds.  A call with no
 * such registration is dropped; a call that faults is dropped (replaying
 * it would kill every restart) and the calls after it stay logged for the
 * next restart.  A call the kernel makes to the new copy before the
 * replay replaces the logged one (same entry, same kind and ordinal), and
 * one it makes during the replay (another thread) is not replayed over.
 *
 * The log belongs to the loaded extension: nk_replay_open() at
 * nooks_ext_load, nk_replay_close() at nooks_ext_unload.  One mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nooks_internal.h"

struct rrec {
	struct rrec *next;
	void (*kind)(void *);
	unsigned ord;
	nooks_replay_fn fn;
	unsigned char *rec;		/* the record, then its buffers */
};

struct rlog {
	struct rlog *next;
	struct nooks_domain *d;
	int opens;
	struct rrec *head;		/* oldest first */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rlog *logs;

static struct rlog *find(const struct nooks_domain *d)
{
	for (struct rlog *l = logs; l; l = l->next)
		if (l->d == d)
			return l;
	return NULL;
}

static void free_list(struct rrec *r)
{
	while (r) {
		struct rrec *next = r->next;
		free(r->rec);
		free(r);
		r = next;
	}
}

int nk_replay_open(struct nooks_domain *d)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	struct rlog *l = find(d);
	if (l) {
		l->opens++;
	} else if ((l = calloc(1, sizeof *l))) {
		l->d = d;
		l->opens = 1;
		l->next = logs;
		logs = l;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void nk_replay_close(struct nooks_domain *d)
{
	struct rlog *dead = NULL;

	pthread_mutex_lock(&lock);
	for (struct rlog **pp = &logs; *pp; pp = &(*pp)->next)
		if ((*pp)->d == d) {
			if (--(*pp)->opens == 0) {
				dead = *pp;
				*pp = dead->next;
			}
			break;
		}
	pthread_mutex_unlock(&lock);
	if (dead) {
		free_list(dead->head);
		free(dead);
	}
}

static inline const void *ptr_at(const unsigned char *rec, size_t off)
{
	const void *p;
	memcpy(&p, rec + off, sizeof p);
	return p;
}

/* The record and its buffers in one block, the copy's pointers to the
 * copied buffers; NULL on ENOMEM. */
static unsigned char *copy_record(const void *record, size_t size,
				  const struct nooks_replay_buf *bufs, size_t nbufs)
{
	size_t total = size;

	for (size_t i = 0; i < nbufs; i++) {
		const char *p = ptr_at(record, bufs[i].offset);
		size_t len = !p ? 0 : bufs[i].len == NOOKS_REPLAY_STRING ? strlen(p) + 1 :
			bufs[i].len;
		total = ((total + 15) & ~(size_t)15) + len;
	}
	unsigned char *rec = malloc(total ? total : 1);
	if (!rec)
		return NULL;
	memcpy(rec, record, size);
	size_t at = size;
	for (size_t i = 0; i < nbufs; i++) {
		const char *p = ptr_at(record, bufs[i].offset);
		if (!p)
			continue;
		size_t len = bufs[i].len == NOOKS_REPLAY_STRING ? strlen(p) + 1 : bufs[i].len;
		at = (at + 15) & ~(size_t)15;
		void *q = rec + at;
		memcpy(q, p, len);
		memcpy(rec + bufs[i].offset, &q, sizeof q);
		at += len;
	}
	return rec;
}

/* Unlinks and returns l's record of (kind, ord, fn), if any; lock held. */
static struct rrec *take_same(struct rlog *l, void (*kind)(void *), unsigned ord,
			      nooks_replay_fn fn)
{
	for (struct rrec **pp = &l->head; *pp; pp = &(*pp)->next) {
		struct rrec *r = *pp;
		if (r->kind == kind && r->ord == ord && r->fn == fn) {
			*pp = r->next;
			r->next = NULL;
			return r;
		}
	}
	return NULL;
}

static bool has_same(const struct rlog *l, const struct rrec *x)
{
	for (const struct rrec *r = l->head; r; r = r->next)
		if (r->kind == x->kind && r->ord == x->ord && r->fn == x->fn)
			return true;
	return false;
}

int nooks_replay_record(struct nooks_domain *d, void *obj, nooks_replay_fn fn,
			const void *record, size_t size,
			const struct nooks_replay_buf *bufs, size_t nbufs)
{
	void (*kind)(void *);
	unsigned ord;

	if (!d || !obj || !fn || (!record && size))
		return -EINVAL;
	if (nk_tracker_registration(d, obj, &kind, &ord))
		return -ENOENT;
	struct rrec *r = calloc(1, sizeof *r);
	if (!r || !(r->rec = copy_record(record, size, bufs, nbufs))) {
		free(r);
		return -ENOMEM;
	}
	r->kind = kind;
	r->ord = ord;
	r->fn = fn;
	int rc = 0;
	pthread_mutex_lock(&lock);
	struct rlog *l = find(d);
	struct rrec *old = NULL;
	if (!l) {
		rc = -ENOENT;
		old = r;
	} else {
		old = take_same(l, kind, ord, fn);
		struct rrec **pp = &l->head;
		while (*pp)
			pp = &(*pp)->next;
		*pp = r;
	}
	pthread_mutex_unlock(&lock);
	free_list(old);
	return rc;
}

int nooks_domain_replay(struct nooks_domain *d, struct nooks_replay_stats *st)
{
	struct nooks_replay_stats s = { 0 };

	pthread_mutex_lock(&lock);
	struct rlog *l = find(d);
	struct rrec *todo = l ? l->head : NULL;
	if (l)
		l->head = NULL;		/* the replayed calls log themselves again */
	pthread_mutex_unlock(&lock);
	if (!l) {
		if (st)
			*st = s;
		return -ENOENT;
	}
	for (struct rrec *r = todo; r; r = r->next)
		s.logged++;

	while (todo && nooks_domain_state(d) == NOOKS_UP) {
		struct rrec *r = todo;
		todo = r->next;
		r->next = NULL;
		pthread_mutex_lock(&lock);
		bool newer = has_same(l, r);
		pthread_mutex_unlock(&lock);
		void *obj = newer ? NULL : nk_tracker_registered(d, r->kind, r->ord);
		if (newer) {
			s.superseded++;
		} else if (!obj) {
			s.no_target++;
		} else {
			r->fn(obj, r->rec);
			if (nooks_domain_state(d) != NOOKS_UP) {
				s.faulted++;	/* dropped: it would kill every restart */
			} else {
				pthread_mutex_lock(&lock);
				bool logged = has_same(l, r);
				pthread_mutex_unlock(&lock);
				if (logged)
					s.replayed++;
				else
					s.refused++;
			}
		}
		free_list(r);
	}
	if (todo) {			/* the domain went down: keep the rest */
		s.left = 0;
		for (struct rrec *r = todo; r; r = r->next)
			s.left++;
		pthread_mutex_lock(&lock);
		struct rrec **pp = &l->head;
		while (*pp)
			pp = &(*pp)->next;
		*pp = todo;
		pthread_mutex_unlock(&lock);
	}
	if (st)
		*st = s;
	return 0;
}

unsigned nooks_domain_replay_logged(const struct nooks_domain *d)
{
	unsigned n = 0;

	pthread_mutex_lock(&lock);
	const struct rlog *l = find(d);
	for (const struct rrec *r = l ? l->head : NULL; r; r = r->next)
		n++;
	pthread_mutex_unlock(&lock);
	return n;
}
