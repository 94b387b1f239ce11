/*
 * ext_heap.c - an extension that allocates: the per-domain heap tests
 * (test_heap.c) load it natively and isolated.  Plain C against the test
 * kernel API (tk.h, libtk.so.1); it knows nothing of Nooks.  Every entry
 * takes and returns a long so one thunk calls them all.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tk.h"

long ext_malloc(long n);
long ext_free(long p);
long ext_leak(long kib);
long ext_mix(long unused);
long ext_reverse_heap(long n);
long ext_reverse_libc(long unused);
long ext_libc_state(long unused);
long ext_crash(long unused);
long ext_churn(long rounds);

long ext_malloc(long n)
{
	return (long)(intptr_t)malloc((size_t)n);
}

long ext_free(long p)
{
	free((void *)(intptr_t)p);
	return 0;
}

/* Leaks kib KiB in 4 KiB blocks (touched), one big block, a few copies;
 * returns how many allocations failed. */
long ext_leak(long kib)
{
	long failed = 0;
	for (long i = 0; i < kib / 4; i++) {
		char *p = malloc(4096);
		if (!p)
			failed++;
		else
			memset(p, (int)i, 4096);
	}
	char *big = malloc(300 << 10);
	if (!big)
		failed++;
	else
		memset(big, 1, 300 << 10);
	char *s = strdup("a copy the extension makes");
	failed += !s;
	char *r = realloc(NULL, 10);
	r = r ? realloc(r, 5000) : NULL;
	failed += !r;
	return failed;
}

/* The whole family: 0, or the number of the first check that failed. */
long ext_mix(long unused)
{
	(void)unused;
	void *p = NULL;
	if (posix_memalign(&p, 64, 100) || (uintptr_t)p % 64)
		return 1;
	free(p);
	p = aligned_alloc(4096, 4096);
	if (!p || (uintptr_t)p % 4096)
		return 2;
	if (malloc_usable_size(p) < 4096)
		return 3;
	free(p);
	p = memalign(256, 1000);
	if (!p || (uintptr_t)p % 256)
		return 4;
	free(p);
	int *c = calloc(1000, sizeof(int));
	if (!c)
		return 5;
	for (int i = 0; i < 1000; i++)
		if (c[i])
			return 6;
	for (int i = 0; i < 1000; i++)
		c[i] = i;
	c = realloc(c, 100000 * sizeof(int));
	if (!c || c[999] != 999 || malloc_usable_size(c) < 100000 * sizeof(int))
		return 7;
	free(c);
	char *s = strndup("abcdef", 3);
	if (!s || strcmp(s, "abc"))
		return 8;
	free(s);
	volatile size_t huge = (size_t)-1 / 2;
	if (calloc(huge, 4))
		return 9;	/* overflow refused */
	char *q = reallocarray(NULL, 10, 10);
	if (!q)
		return 10;
	free(q);
	return 0;
}

/* A buffer from its malloc passed to the kernel: tk_reverse_words'
 * wrapper checks it is the extension's.  0 when it was accepted and
 * reversed. */
long ext_reverse_heap(long n)
{
	int *w = malloc((size_t)n * sizeof(int));
	if (!w)
		return -1000;
	for (int i = 0; i < n; i++)
		w[i] = i;
	int rc = tk_reverse_words(w, (int)n);
	if (rc != n)
		return rc;
	for (int i = 0; i < n; i++)
		if (w[i] != (int)n - 1 - i)
			return -2000;
	free(w);
	return 0;
}

/* A buffer libc allocated for its own reasons (asprintf's) is not the
 * extension's heap: the wrapper refuses it.  Returns tk_reverse_words'
 * result. */
long ext_reverse_libc(long unused)
{
	(void)unused;
	char *s = NULL;
	if (asprintf(&s, "%s", "sixteen bytes!!") < 0)
		return -1000;
	int rc = tk_reverse_words((int *)s, 4);
	free(s);			/* libc's block back to libc */
	return rc;
}

static int cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Uses libc in ways that make libc allocate for itself (the time zone,
 * qsort's scratch space, a FILE): that memory must outlive the copy of
 * the extension that caused it.  Returns the year, or -1. */
long ext_libc_state(long unused)
{
	(void)unused;
	static int v[4096];
	time_t t = 86400 * 365;
	struct tm tm;
	char buf[64];
	if (!localtime_r(&t, &tm) || !strftime(buf, sizeof buf, "%Y", &tm))
		return -1;
	for (int i = 0; i < 4096; i++)
		v[i] = 4096 - i;
	qsort(v, 4096, sizeof v[0], cmp);
	if (v[0] != 1)
		return -1;
	FILE *f = fopen("/dev/null", "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", buf);
	fclose(f);
	return atol(buf);
}

long ext_crash(long unused)
{
	(void)unused;
	volatile int *p = NULL;
	return *p;
}

/* Allocates and frees blocks of varying sizes, rounds times: threads
 * doing this are often inside the allocator when the domain faults. */
long ext_churn(long rounds)
{
	void *keep[16] = { 0 };
	unsigned x = 12345;
	for (long i = 0; i < rounds; i++) {
		x = x * 1103515245u + 12345u;
		unsigned k = (x >> 8) % 16;
		free(keep[k]);
		keep[k] = malloc(16 + (x >> 12) % 3000);
		if (!keep[k])
			return -1;
	}
	for (int k = 0; k < 16; k++)
		free(keep[k]);
	return 0;
}
