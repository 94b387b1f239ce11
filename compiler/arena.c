/*
 * arena.c - bump allocation for everything the compiler builds.
 *
 * The AST, the model and every string live until nooksc_free(), so nodes
 * are never freed one at a time: chunks are carved front to back and freed
 * together.  Oversized requests get a chunk of their own.  strbuf is the one
 * thing on the ordinary heap, for text built piece by piece.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CHUNK_SIZE (64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	max_align_t data[];
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fputs("nooksc: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *arena_alloc(struct arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);

	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	if ((size_t)(a->end - a->cur) < size) {
		size_t cap = size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;
		struct arena_chunk *c = xmalloc(sizeof(*c) + cap);
		c->next = a->chunks;
		a->chunks = c;
		if (size > CHUNK_SIZE / 4) {	/* don't waste the current chunk */
			memset(c->data, 0, size);
			return c->data;
		}
		a->cur = (char *)c->data;
		a->end = a->cur + cap;
	}
	void *p = a->cur;
	a->cur += size;
	memset(p, 0, size);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->chunks, *n;
	for (; c; c = n) {
		n = c->next;
		free(c);
	}
	a->chunks = NULL;
	a->cur = a->end = NULL;
}

static void sb_reserve(struct strbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (!s) {
		fputs("nooksc: out of memory\n", stderr);
		abort();
	}
	b->s = s;
	b->cap = cap;
}

void sb_puts(struct strbuf *b, const char *s)
{
	size_t n = strlen(s);
	sb_reserve(b, n);
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sb_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *sb_finish(struct arena *a, struct strbuf *b)
{
	char *s = arena_strndup(a, b->s ? b->s : "", b->len);
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}
