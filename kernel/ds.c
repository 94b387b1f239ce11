/*
 * ds.c - the data store (nk/ds.h), MINIX 3's DS: named values kept by the
 * kernel across the restarts of the modules that publish them.
 *
 * A fixed table under one mutex; every change takes the sequence number
 * up and is noted in the entry (its last change) and in a ring of the
 * last NK_DS_ENTRIES changes (name and number), which ds_check reads; a
 * condition variable wakes its waiters.  A deleted name keeps its slot's
 * change record in the ring only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "nk/ds.h"
#include "nooks_runtime.h"

struct entry {
	char name[NK_DS_NAME_MAX];	/* "" : free */
	size_t len;
	unsigned char value[NK_DS_VALUE_MAX];
	int counter;			/* made by ds_add */
};

struct change {
	unsigned long seq;
	char name[NK_DS_NAME_MAX];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed;		/* on CLOCK_MONOTONIC */
static pthread_once_t changed_once = PTHREAD_ONCE_INIT;
static struct entry table[NK_DS_ENTRIES];
static struct change ring[NK_DS_ENTRIES];
static unsigned long seq;		/* the last change's number */

static void changed_init(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&changed, &a);
	pthread_condattr_destroy(&a);
}

static int bad_name(const char *name)
{
	size_t n = name ? strnlen(name, NK_DS_NAME_MAX) : 0;
	return n == 0 || n == NK_DS_NAME_MAX;
}

/* Under lock: name's entry, or (make) a free one; NULL. */
static struct entry *find(const char *name, int make)
{
	struct entry *free_e = NULL;
	for (int i = 0; i < NK_DS_ENTRIES; i++) {
		if (!strcmp(table[i].name, name))
			return &table[i];
		if (!free_e && !table[i].name[0])
			free_e = &table[i];
	}
	if (make && free_e) {
		memset(free_e, 0, sizeof(*free_e));
		strcpy(free_e->name, name);
	}
	return make ? free_e : NULL;
}

/* Under lock: one more change, of name. */
static void note(const char *name)
{
	struct change *c = &ring[++seq % NK_DS_ENTRIES];
	c->seq = seq;
	strcpy(c->name, name);
	pthread_once(&changed_once, changed_init);
	pthread_cond_broadcast(&changed);
}

int ds_publish(const char *name, const void *value, size_t len)
{
	if (bad_name(name) || (len && !value))
		return -EINVAL;
	if (len > NK_DS_VALUE_MAX)
		return -E2BIG;
	pthread_mutex_lock(&lock);
	struct entry *e = find(name, 1);
	if (e) {
		memcpy(e->value, value, len);
		e->len = len;
		e->counter = 0;
		note(name);
	}
	pthread_mutex_unlock(&lock);
	return e ? 0 : -ENOSPC;
}

ssize_t ds_retrieve(const char *name, void *value, size_t len)
{
	ssize_t r = -ENOENT;
	if (bad_name(name) || (len && !value))
		return -EINVAL;
	pthread_mutex_lock(&lock);
	struct entry *e = find(name, 0);
	if (e) {
		memcpy(value, e->value, e->len < len ? e->len : len);
		r = (ssize_t)e->len;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

long long ds_add(const char *name, long long delta)
{
	long long v;
	if (bad_name(name))
		return -EINVAL;
	pthread_mutex_lock(&lock);
	struct entry *e = find(name, 0);
	if (!e && (e = find(name, 1))) {
		e->counter = 1;
		e->len = sizeof(v);
	}
	if (!e || !e->counter) {
		pthread_mutex_unlock(&lock);
		return e ? -EEXIST : -ENOSPC;
	}
	memcpy(&v, e->value, sizeof(v));
	v += delta;
	memcpy(e->value, &v, sizeof(v));
	note(name);
	pthread_mutex_unlock(&lock);
	return v;
}

int ds_delete(const char *name)
{
	if (bad_name(name))
		return -EINVAL;
	pthread_mutex_lock(&lock);
	struct entry *e = find(name, 0);
	if (e) {
		note(name);
		e->name[0] = 0;
	}
	pthread_mutex_unlock(&lock);
	return e ? 0 : -ENOENT;
}

/* Under lock: the oldest change after since of a name under prefix. */
static const struct change *next_change(const char *prefix, unsigned long since)
{
	size_t pl = strlen(prefix);
	unsigned long from = since + 1;
	if (seq >= NK_DS_ENTRIES && from <= seq - NK_DS_ENTRIES)
		from = seq - NK_DS_ENTRIES + 1;	/* older ones are gone */
	for (unsigned long s = from; s <= seq; s++) {
		const struct change *c = &ring[s % NK_DS_ENTRIES];
		if (!strncmp(c->name, prefix, pl))
			return c;
	}
	return NULL;
}

int ds_check(const char *prefix, char *name, size_t len, unsigned long *seqp,
	     unsigned int timeout_ms)
{
	struct timespec end;
	int r = -ETIMEDOUT;

	if (!prefix || !seqp || (len && !name) || strnlen(prefix, NK_DS_NAME_MAX) == NK_DS_NAME_MAX)
		return -EINVAL;
	pthread_once(&changed_once, changed_init);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&lock);
	for (;;) {
		const struct change *c = next_change(prefix, *seqp);
		if (c) {
			if (len) {
				strncpy(name, c->name, len - 1);
				name[len - 1] = 0;
			}
			*seqp = c->seq;
			r = 0;
			break;
		}
		if (nooks_interrupted()) {
			r = -EINTR;
			break;
		}
		struct timespec now, step;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		/* in slices, so that a recovery of the caller's module is seen */
		step = now;
		step.tv_nsec += 50000000;
		if (step.tv_nsec >= 1000000000) {
			step.tv_sec++;
			step.tv_nsec -= 1000000000;
		}
		if (step.tv_sec > end.tv_sec || (step.tv_sec == end.tv_sec && step.tv_nsec > end.tv_nsec))
			step = end;
		pthread_cond_timedwait(&changed, &lock, &step);
	}
	pthread_mutex_unlock(&lock);
	return r;
}
