/*
 * recovery.c - the recovery manager: after a fault, restart the extension
 * under a policy, as MINIX 3's reincarnation server does.
 *
 * A supervisor owns one domain and its loaded extension.  After the first
 * failure the extension is restarted at once; each further failure within
 * the window waits twice as long as the last (from base_delay_ms, capped at
 * max_delay_ms); max_failures failures within window_ms and the supervisor
 * gives up.  A restart releases what the domain held (nooks_domain_reset),
 * reloads the object and runs its init inside the domain; an init that
 * fails or faults is not retried in a loop: the supervisor gives up on it.
 * Every event is one log line (fault with signal, address and symbol;
 * what was released; the restart; giving up) and a counter.
 *
 * After init the logged configuration calls are replayed into the new
 * copy (replay.c) and counted in one line.  A replayed call that faults
 * the new copy is dropped from the log and counts as one more failure:
 * the sequence runs again, under the same policy.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nooks_internal.h"

#define MAX_WINDOW 64

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4		/* a protection key denied the access */
#endif

struct nooks_sup {
	struct nooks_domain *d;
	struct nooks_ext *e;
	char init[64];
	struct nooks_policy p;
	long long fail_ms[MAX_WINDOW];	/* recent failures, oldest first */
	int nfail;
	unsigned restarts;
	unsigned long failures;
	unsigned long last_delay_ms;
	int failed;			/* given up */
	unsigned replayed, replay_faults;
	long long unwind_ns, release_ns, reload_ns, init_ns, replay_ns;
	int init_ret;
};

static void default_log(const char *line)
{
	fprintf(stderr, "%s\n", line);
}

static void (*log_fn)(const char *line) = default_log;

void nooks_set_log(void (*fn)(const char *line))
{
	log_fn = fn ? fn : default_log;
}

void nk_logf(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* a sealed domain process writes nothing itself: the kernel logs */
	if (!nk_proc_in_domain() || nk_proc_log(line))
		log_fn(line);
}

static long long now_ms(void)
{
	return nk_now_ns() / 1000000;
}


static atomic_ulong storm_limit = 10000;

void nooks_set_refusal_limit(unsigned long per_second)
{
	atomic_store(&storm_limit, per_second);
}

/* A refusal storm: more than storm_limit refusals within one second (an
 * extension looping on a call that is refused every time) is a fault of
 * the extension, not a load the kernel must carry for ever. */
static void count_storm(struct nooks_domain *d)
{
	unsigned long limit = atomic_load(&storm_limit);
	long long now = now_ms(), start = atomic_load(&d->storm_start_ms);
	char why[96];

	if (!limit)
		return;
	if (now - start >= 1000) {
		atomic_store(&d->storm_start_ms, now);
		atomic_store(&d->storm_n, 0);
	}
	if (atomic_fetch_add(&d->storm_n, 1) + 1 == limit + 1) {
		snprintf(why, sizeof(why), "refusal storm: more than %lu kernel calls "
			 "refused within a second", limit);
		nooks_domain_fail(d, why);
	}
}

void nooks_refused(struct nooks_domain *d, const void *p, const struct nooks_type *t)
{
	unsigned long n = atomic_fetch_add(&d->refused, 1) + 1, p10 = 10;

	count_storm(d);

	while (p10 < n && p10 < ULONG_MAX / 10)
		p10 *= 10;
	if ((n <= 10 || n == p10) && t == &nk_ops_table_type)
		nk_logf("nooks: %s: refused an ops table at %p: not memory it may pass; "
			"%lu refused so far", d->name, p, n);
	else if (n <= 10 || n == p10)
		nk_logf("nooks: %s: refused %s %p: not a live object it holds (released "
			"twice, never its own, or an invalid shadow); %lu refused so far",
			d->name, t ? t->name : "object", p, n);
}

static void logf_(const struct nooks_sup *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(const struct nooks_sup *s, const char *fmt, ...)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "nooks: %s: ", nooks_domain_name(s->d));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	log_fn(line);
}


const struct nooks_policy nooks_policy_default = {
	.init_bound_ms = 10000,
	.base_delay_ms = 100,
	.max_delay_ms = 10000,
	.max_failures = 10,
	.window_ms = 60000,
};

struct nooks_sup *nooks_sup_new(struct nooks_domain *d, struct nooks_ext *e,
				const char *init, const struct nooks_policy *p)
{
	struct nooks_sup *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->d = d;
	s->e = e;
	snprintf(s->init, sizeof(s->init), "%s", init ? init : "");
	s->p = p ? *p : nooks_policy_default;
	if (s->p.max_failures == 0 || s->p.max_failures > MAX_WINDOW)
		s->p.max_failures = MAX_WINDOW;
	return s;
}

void nooks_sup_free(struct nooks_sup *s)
{
	free(s);
}

struct init_frame {
	int (*fn)(void);
	int ret;
};

static void init_thunk(void *p)
{
	struct init_frame *f = p;
	f->ret = f->fn();
}

/* Runs the extension's init inside its domain; 0 or why not (logged). */
static int run_init(struct nooks_sup *s)
{
	struct init_frame f = { .ret = -1 };

	if (!s->init[0])
		return 0;
	*(void **)&f.fn = nooks_ext_sym(s->e, s->init);
	if (!f.fn) {
		logf_(s, "no entry point '%s': not starting", s->init);
		return -1;
	}
	nooks_bound_push(s->p.init_bound_ms, s->init);
	int r = nooks_xpc_ext_frame(s->d, init_thunk, &f, sizeof(f), 0);
	nooks_bound_pop();
	if (r && !nk_domain_culprit_is_me(s->d)) {
		/* a thread init started faulted (init was unwound with it):
		 * a failure of the running copy, under the policy */
		logf_(s, "a thread of the new copy faulted before %s returned", s->init);
		return 1;
	}
	if (r) {
		char why[160];
		logf_(s, "%s faulted: %s: not restarting", s->init,
		      nk_fault_text(s->d, why, sizeof(why)));
		return -1;
	}
	s->init_ret = f.ret;
	if (f.ret != 0) {
		char why[96];
		logf_(s, "init failed: %s: not restarting",
		      nooks_errno_text(f.ret, why, sizeof(why)));
		return -1;
	}
	return 0;
}

int nooks_sup_start(struct nooks_sup *s)
{
	/* 1: loaded, but a thread it started took it down already: the
	 * kernel sees the domain down and recovers it */
	if (run_init(s) < 0) {
		s->failed = 1;
		return -1;
	}
	return 0;
}

/* Gives up: what the last copy made goes too (a listening socket left
 * open would take connections nobody serves). */
static int give_up(struct nooks_sup *s)
{
	s->failed = 1;
	nooks_domain_reset_wait(s->d, NULL);
	atomic_store(&s->d->state, NOOKS_DOWN);
	return -1;
}

const char *nooks_errno_text(int ret, char *buf, size_t n)
{
	if (ret < 0 && ret > -4096)
		snprintf(buf, n, "%s (%d)", strerror(-ret), ret);
	else
		snprintf(buf, n, "returned %d", ret);
	return buf;
}

const char *nooks_fault_describe(const struct nooks_domain_stats *st, char *buf, size_t n)
{
	switch (st->last_fault) {
	case NOOKS_FAULT_SIGNAL:
		if (st->last_signal == SIGSEGV || st->last_signal == SIGBUS)
			snprintf(buf, n, "%s at %#lx%s", strsignal(st->last_signal),
				 (unsigned long)st->last_addr,
				 st->last_signal == SIGSEGV && st->last_code == SEGV_PKUERR ?
				 " (protection key)" : "");
		else
			snprintf(buf, n, "%s", strsignal(st->last_signal));
		break;
	case NOOKS_FAULT_TIMEOUT:
		snprintf(buf, n, "timed out");
		break;
	case NOOKS_FAULT_EXIT:
		snprintf(buf, n, "called exit(%d)", st->last_signal);
		break;
	case NOOKS_FAULT_BOUND:
		snprintf(buf, n, "%s", st->reason[0] ? st->reason : "missed a bound");
		break;
	case NOOKS_FAULT_DIED:
		if (st->last_signal)
			snprintf(buf, n, "its process died: %s%s%s%s", strsignal(st->last_signal),
				 st->last_signal == SIGSYS ? " (a system call seccomp forbids)" : "",
				 st->reason[0] ? ": " : "", st->reason);
		else
			snprintf(buf, n, "its process exited (status %d)%s%s", st->last_code,
				 st->reason[0] ? ": " : "", st->reason);
		break;
	default:
		snprintf(buf, n, "down");
		break;
	}
	return buf;
}

const char *nk_fault_text(struct nooks_domain *d, char *buf, size_t n)
{
	struct nooks_domain_stats st;
	Dl_info di;

	nooks_domain_stats(d, &st);
	size_t k = strlen(nooks_fault_describe(&st, buf, n));
	if (st.last_fault == NOOKS_FAULT_SIGNAL && st.last_pc && k < n &&
	    dladdr((void *)st.last_pc, &di) && di.dli_sname)
		snprintf(buf + k, n - k, " in %s+%#lx", di.dli_sname,
			 (unsigned long)(st.last_pc - (uintptr_t)di.dli_saddr));
	return buf;
}

int nooks_sup_recover(struct nooks_sup *s)
{
	struct nooks_release_stats rs;
	char why[160], err[256];
	long long now = now_ms();

	if (s->failed)
		return -1;
again:
	now = now_ms();
	s->failures++;
	logf_(s, "fault: %s", nk_fault_text(s->d, why, sizeof(why)));

	/* failures within the window (less than window_ms ago: a window of
	 * 0 keeps none, however many failures one millisecond sees) */
	int keep = 0;
	for (int i = 0; i < s->nfail; i++)
		if (now - s->fail_ms[i] < (long long)s->p.window_ms)
			s->fail_ms[keep++] = s->fail_ms[i];
	s->nfail = keep;
	if (s->nfail == MAX_WINDOW) {
		memmove(s->fail_ms, s->fail_ms + 1, sizeof(s->fail_ms[0]) * (MAX_WINDOW - 1));
		s->nfail--;
	}
	s->fail_ms[s->nfail++] = now;

	/* release what it held now, whether or not it comes back */
	s->reload_ns = s->init_ns = s->replay_ns = 0;
	nooks_domain_reset_wait(s->d, &rs);
	s->unwind_ns = rs.unwind_ns;
	s->release_ns = rs.release_ns;
	logf_(s, "released %d objects, undid %d registrations, unlocked %d locks",
	      rs.released, rs.undone, rs.unlocked);

	if ((unsigned)s->nfail >= s->p.max_failures) {
		logf_(s, "%d failures in %u ms: giving up", s->nfail, s->p.window_ms);
		s->failed = 1;
		atomic_store(&s->d->state, NOOKS_DOWN);
		return -1;
	}
	/* at once after the first failure, then doubling, capped */
	unsigned long delay = 0;
	if (s->nfail > 1) {
		delay = s->p.base_delay_ms;
		for (int i = 2; i < s->nfail && delay < s->p.max_delay_ms; i++)
			delay *= 2;
		if (delay > s->p.max_delay_ms)
			delay = s->p.max_delay_ms;
	}
	s->last_delay_ms = delay;
	if (delay) {
		struct timespec ts = { (time_t)(delay / 1000), (long)(delay % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	long long t = nk_now_ns();
	if (nooks_ext_reload(s->e, err, sizeof(err))) {
		logf_(s, "reload failed: %s: giving up", err);
		return give_up(s);
	}
	s->reload_ns = nk_now_ns() - t;
	s->restarts++;
	logf_(s, "restart %u after %lu ms", s->restarts, delay);
	t = nk_now_ns();
	int r = run_init(s);
	s->init_ns = nk_now_ns() - t;
	if (r < 0)
		return give_up(s);
	if (r > 0)
		goto again;	/* its thread's fault: one more failure */
	struct nooks_replay_stats rp;
	t = nk_now_ns();
	int replayed = nooks_domain_replay(s->d, &rp);
	s->replay_ns = nk_now_ns() - t;
	if (replayed == 0 && rp.logged) {
		s->replayed += rp.replayed;
		logf_(s, "replayed %u of %u logged calls (%u faulted, %u refused, "
		      "%u without target, %u superseded)", rp.replayed, rp.logged,
		      rp.faulted, rp.refused, rp.no_target, rp.superseded);
	}
	if (nooks_domain_state(s->d) != NOOKS_UP) {
		s->replay_faults++;
		goto again;		/* the faulting call is gone from the log */
	}
	return 0;
}

void nooks_sup_stats(const struct nooks_sup *s, struct nooks_sup_stats *out)
{
	out->restarts = s->restarts;
	out->failures = s->failures;
	out->recent_failures = (unsigned)s->nfail;
	out->last_delay_ms = s->last_delay_ms;
	out->given_up = s->failed;
	out->unwind_ns = s->unwind_ns;
	out->release_ns = s->release_ns;
	out->reload_ns = s->reload_ns;
	out->init_ns = s->init_ns;
	out->replay_ns = s->replay_ns;
	out->init_ret = s->init_ret;
}

void nooks_sup_replay_stats(const struct nooks_sup *s, unsigned *replayed,
			    unsigned *faulted)
{
	*replayed = s->replayed;
	*faulted = s->replay_faults;
}
