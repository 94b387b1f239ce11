/*
 * nooksc.c - the library's entry points: context, diagnostics, reading
 * files and following imports.
 *
 * A parse reads the main file into the arena, runs the parser over it and,
 * whenever the parser meets `import "x.idl";`, loads that file at once
 * (relative to the importing file, then along the -I path) into the same
 * model.  A file is identified by its real path: importing it again is a
 * no-op (diamonds are fine), importing a file that is still being parsed is
 * a cycle, reported with the whole chain.  The checks then run over the
 * merged model.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define MAX_IMPORT_DEPTH 64
#define MAX_SHOWN_LINE 512

/* ---- diagnostics -------------------------------------------------------- */

/*
 * A parse holds its diagnostics and hands them on sorted when it ends, so
 * that they read in the order of the text, whichever check found them
 * first.  The order of the text across imports is the order a reader meets
 * it in: an imported file's diagnostics come where its import line is.  So
 * each buffer read is remembered with the buffer that imported it and the
 * offset of the import line there, and a position sorts as the path of
 * offsets from its main file down to it.
 */

/* A source buffer this context read, and how it was reached. */
struct srcbuf {
	const char *buf;
	size_t len;
	int parent;			/* the importing buffer; -1: a main file */
	size_t at;			/* offset of the import line in the parent */
	const struct srcpos *chain;	/* the import lines, innermost first */
	int n_chain;
};

/* A diagnostic held until the parse ends, with the position of the one it
 * belongs to (itself, or for a note the diagnostic before it). */
struct held {
	struct nooksc_diag d;
	int buf, hbuf;			/* -1: in no buffer read */
	size_t off, hoff;
	int seq, hseq;			/* order found */
};

struct diag_queue {
	struct srcbuf *bufs;
	int n_bufs, cap_bufs;
	int current;			/* the buffer being parsed; -1: none */
	struct held *held;
	int n_held, cap_held;
	int holding;			/* parses running: hold diagnostics */
	bool stop_note;			/* "too many errors" still to say */
	bool dropped;			/* the last non-note was turned off */
	struct held head;		/* the last non-note held */
	int last_buf;			/* of the last diagnostic printed */
};

static const char *const level_names[] = { "note", "warning", "error" };

void nooksc_print_diag(FILE *out, const struct nooksc_diag *d)
{
	for (int i = 0; i < d->n_imported_from; i++) {
		const struct srcpos *p = &d->imported_from[i];
		fprintf(out, "%s %s:%d:%d%s\n", i ? "                 from" :
			"In file imported from", p->file, p->line, p->col,
			i + 1 < d->n_imported_from ? "," : ":");
	}
	if (d->pos.file)
		fprintf(out, "%s:%d:%d: ", d->pos.file, d->pos.line, d->pos.col);
	else
		fputs("nooksc: ", out);
	fprintf(out, "%s: ", level_names[d->level]);
	if (d->check)
		fprintf(out, "[%s] ", d->check);
	fprintf(out, "%s\n", d->message);
	if (!d->pos.text)
		return;

	/* The source line, bytes a terminal can't show replaced, then a caret
	 * under the column; tabs are copied so the caret lines up. */
	const char *s = d->pos.text;
	int n = 0;
	while (s[n] && s[n] != '\n' && n < MAX_SHOWN_LINE)
		n++;
	for (int i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		fputc(c == '\t' || (c >= 0x20 && c < 0x7f) ? c : '?', out);
	}
	fputc('\n', out);
	if (d->pos.col < 1 || d->pos.col > n + 1)
		return;
	for (int i = 0; i < d->pos.col - 1; i++)
		fputc(s[i] == '\t' ? '\t' : ' ', out);
	fputc('^', out);
	if (d->pos.last_line == d->pos.line) {
		int last = d->pos.last_col < n ? d->pos.last_col : n;
		for (int i = d->pos.col; i < last; i++)
			fputc('~', out);
	}
	fputc('\n', out);
}

bool check_enabled(const struct nooksc *nc, const char *check)
{
	if (!check)
		return true;
	for (int i = 0; i < nc->opt.n_disabled; i++)
		if (strcmp(nc->opt.disabled[i], check) == 0)
			return false;
	return true;
}

/* The buffer text points into, or -1. */
static int buf_of(const struct diag_queue *q, const char *text)
{
	uintptr_t t = (uintptr_t)text;

	for (int i = q->n_bufs - 1; text && i >= 0; i--) {
		uintptr_t b = (uintptr_t)q->bufs[i].buf;
		if (t >= b && t <= b + q->bufs[i].len)
			return i;
	}
	return -1;
}

static size_t offset_in(const struct srcbuf *b, const struct srcpos *pos)
{
	size_t off = (size_t)((uintptr_t)pos->text - (uintptr_t)b->buf);
	return off + (size_t)(pos->col > 0 ? pos->col - 1 : 0);
}

/* Remembers a buffer about to be parsed; import_pos: its import line in
 * the buffer being parsed now, NULL for a main file.  Its index. */
static int add_buf(struct nooksc *nc, const char *buf, size_t len,
		   const struct srcpos *import_pos)
{
	struct diag_queue *q = nc->queue;

	if (q->n_bufs == q->cap_bufs) {
		int cap = q->cap_bufs ? q->cap_bufs * 2 : 8;
		struct srcbuf *grown = arena_alloc(ARENA(nc), sizeof(*grown) * (size_t)cap);
		if (q->n_bufs)
			memcpy(grown, q->bufs, sizeof(*grown) * (size_t)q->n_bufs);
		q->bufs = grown;
		q->cap_bufs = cap;
	}
	struct srcbuf *b = &q->bufs[q->n_bufs];
	*b = (struct srcbuf){ .buf = buf, .len = len, .parent = -1 };
	if (import_pos && q->current >= 0) {
		const struct srcbuf *p = &q->bufs[q->current];
		struct srcpos *chain = arena_alloc(ARENA(nc), sizeof(*chain) *
						   (size_t)(p->n_chain + 1));
		chain[0] = *import_pos;
		if (p->n_chain)
			memcpy(chain + 1, p->chain, sizeof(*chain) * (size_t)p->n_chain);
		b->parent = q->current;
		b->at = import_pos->text && buf_of(q, import_pos->text) == q->current ?
			offset_in(p, import_pos) : 0;
		b->chain = chain;
		b->n_chain = p->n_chain + 1;
	}
	return q->n_bufs++;
}

/* The position (buf, off) as a path from its main file: the main file's
 * index, the offsets of the import lines that lead to buf, then off. */
#define MAX_PATH (MAX_IMPORT_DEPTH + 3)
static int path_of(const struct diag_queue *q, int buf, size_t off, size_t *path)
{
	size_t rev[MAX_PATH];
	int n = 0, b = buf;

	rev[n++] = off;
	for (; q->bufs[b].parent >= 0 && n < MAX_PATH - 1; b = q->bufs[b].parent)
		rev[n++] = q->bufs[b].at;
	rev[n++] = (size_t)b;
	for (int i = 0; i < n; i++)
		path[i] = rev[n - 1 - i];
	return n;
}

static int cmp_pos(const struct diag_queue *q, int abuf, size_t aoff,
		   int bbuf, size_t boff)
{
	size_t pa[MAX_PATH], pb[MAX_PATH];

	if (abuf < 0 || bbuf < 0)	/* no position: first */
		return (abuf >= 0) - (bbuf >= 0);
	int na = path_of(q, abuf, aoff, pa), nb = path_of(q, bbuf, boff, pb);
	for (int i = 0; i < na && i < nb; i++)
		if (pa[i] != pb[i])
			return pa[i] < pb[i] ? -1 : 1;
	return (na > nb) - (na < nb);
}

static int cmp_held(const void *x, const void *y, void *arg)
{
	const struct held *a = x, *b = y;
	int c = cmp_pos(arg, a->hbuf, a->hoff, b->hbuf, b->hoff);

	if (c)
		return c;
	if (a->hseq != b->hseq)
		return a->hseq < b->hseq ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* To the callback, or printed with the import lines when the file
 * changed since the last one printed (as cc prints its include lines). */
static void deliver(struct nooksc *nc, const struct nooksc_diag *d, int buf)
{
	struct diag_queue *q = nc->queue;

	if (nc->opt.diag) {
		nc->opt.diag(nc->opt.diag_arg, d);
		return;
	}
	struct nooksc_diag shown = *d;
	if (buf == q->last_buf)
		shown.n_imported_from = 0;
	q->last_buf = buf;
	nooksc_print_diag(stderr, &shown);
}

static const struct nooksc_diag stop_note = {
	.level = NOOKSC_NOTE,
	.message = "too many errors; stopping",
};

static void hold(struct nooksc *nc, const struct nooksc_diag *d, int buf, size_t off)
{
	struct diag_queue *q = nc->queue;

	if (q->n_held == q->cap_held) {
		int cap = q->cap_held ? q->cap_held * 2 : 32;
		struct held *grown = arena_alloc(ARENA(nc), sizeof(*grown) * (size_t)cap);
		if (q->n_held)
			memcpy(grown, q->held, sizeof(*grown) * (size_t)q->n_held);
		q->held = grown;
		q->cap_held = cap;
	}
	struct held *h = &q->held[q->n_held];
	*h = (struct held){ .d = *d, .buf = buf, .off = off, .seq = q->n_held };
	h->d.message = arena_strdup(ARENA(nc), d->message);
	if (d->check)
		h->d.check = arena_strdup(ARENA(nc), d->check);
	if (d->level != NOOKSC_NOTE || !q->n_held)
		q->head = *h;
	h->hbuf = q->head.buf;
	h->hoff = q->head.off;
	h->hseq = q->head.seq;
	q->n_held++;
}

/* The end of a parse: every held diagnostic, sorted. */
static void release(struct nooksc *nc)
{
	struct diag_queue *q = nc->queue;

	if (--q->holding > 0)
		return;
	if (q->n_held)
		qsort_r(q->held, (size_t)q->n_held, sizeof(*q->held), cmp_held, q);
	for (int i = 0; i < q->n_held; i++)
		deliver(nc, &q->held[i].d, q->held[i].buf);
	q->n_held = 0;
	if (q->stop_note)
		deliver(nc, &stop_note, -1);
	q->stop_note = false;
}

void vdiag(struct nooksc *nc, enum nooksc_level lvl, const char *check,
	   const struct srcpos *pos, const char *fmt, va_list ap)
{
	struct diag_queue *q = nc->queue;
	struct nooksc_diag d = { .level = lvl, .check = check };
	char msg[1024];

	if (nc->stopped)
		return;
	/* a note goes with the diagnostic before it: not without it */
	if (lvl != NOOKSC_NOTE)
		q->dropped = !check_enabled(nc, check);
	if (q->dropped)
		return;
	if (lvl == NOOKSC_WARNING && nc->opt.werror)
		d.level = lvl = NOOKSC_ERROR;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	d.message = msg;
	int buf = -1;
	size_t off = 0;
	if (pos) {
		d.pos = *pos;
		buf = buf_of(q, pos->text);
	}
	if (buf >= 0) {
		off = offset_in(&q->bufs[buf], pos);
		d.imported_from = q->bufs[buf].chain;
		d.n_imported_from = q->bufs[buf].n_chain;
	}
	if (q->holding)
		hold(nc, &d, buf, off);
	else
		deliver(nc, &d, buf);

	if (lvl == NOOKSC_WARNING)
		nc->warnings++;
	if (lvl != NOOKSC_ERROR)
		return;
	if (++nc->errors >= nc->opt.max_errors) {
		if (q->holding)
			q->stop_note = true;
		else
			deliver(nc, &stop_note, -1);
		nc->stopped = true;
	}
}

void diag(struct nooksc *nc, enum nooksc_level lvl, const char *check,
	  const struct srcpos *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(nc, lvl, check, pos, fmt, ap);
	va_end(ap);
}

/* ---- context ------------------------------------------------------------ */

struct nooksc *nooksc_new(const struct nooksc_options *opt)
{
	struct nooksc *nc = calloc(1, sizeof(*nc));

	if (!nc)
		return NULL;
	if (opt)
		nc->opt = *opt;
	if (nc->opt.max_errors <= 0)
		nc->opt.max_errors = 20;
	nc->queue = arena_alloc(ARENA(nc), sizeof(*nc->queue));
	nc->queue->current = -1;
	nc->queue->last_buf = -1;
	return nc;
}

void nooksc_free(struct nooksc *nc)
{
	if (!nc)
		return;
	arena_free(&nc->arena);
	free(nc);
}

int nooksc_errors(const struct nooksc *nc)
{
	return nc->errors;
}

int nooksc_warnings(const struct nooksc *nc)
{
	return nc->warnings;
}

int nooksc_source_count(const struct idl_model *m)
{
	int n = 0;
	for (const struct idl_file *f = m->files; f; f = f->next)
		n++;
	return n;
}

const char *nooksc_model_interface(const struct idl_model *m)
{
	return m->main->interface ? m->main->interface : "";
}

const char *nooksc_source_path(const struct idl_model *m, int i)
{
	const struct idl_file *f = m->files;
	while (f && i-- > 0)
		f = f->next;
	return f ? f->path : NULL;
}

bool nooksc_source_is_system(const struct idl_model *m, int i)
{
	const struct idl_file *f = m->files;
	while (f && i-- > 0)
		f = f->next;
	return f && f->system;
}

/* ---- files -------------------------------------------------------------- */

/* Reads a whole file into the arena, NUL-terminated.  By reading, not by
 * fstat's size, so pipes and /dev/stdin work too; the text may hold NULs. */
static char *read_file(struct nooksc *nc, const char *path, size_t *len,
		       int *err)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	char *heap = NULL, *out = NULL;
	size_t total = 0, cap = 0, n;

	if (!fp) {
		*err = errno;
		return NULL;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		*err = EISDIR;
		goto done;
	}
	for (;;) {
		if (total == cap) {
			cap = cap ? cap * 2 : 8192;
			char *grown = realloc(heap, cap);
			if (!grown) {
				*err = ENOMEM;
				goto done;
			}
			heap = grown;
		}
		n = fread(heap + total, 1, cap - total, fp);
		if (n == 0)
			break;
		total += n;
	}
	if (ferror(fp)) {
		*err = EIO;
		goto done;
	}
	out = arena_alloc(ARENA(nc), total + 1);
	if (total)
		memcpy(out, heap, total);
	*len = total;
done:
	free(heap);
	fclose(fp);
	return out;
}

static struct idl_file *new_file(struct nooksc *nc, const char *path)
{
	struct idl_file *f = arena_alloc(ARENA(nc), sizeof(*f));
	struct idl_file **p = &nc->model->files;

	f->path = arena_strdup(ARENA(nc), path);
	while (*p)
		p = &(*p)->next;
	*p = f;
	return f;
}

/* import_pos: the import line that led here; NULL for a main file. */
static void parse_into(struct nooksc *nc, struct idl_file *f, const char *buf,
		       size_t len, const struct srcpos *import_pos)
{
	struct parse_state ps = {
		.nc = nc,
		.file = f,
		.buf = buf,
		.len = len,
		.fname = f->path,
	};
	int outer = nc->queue->current;

	nc->queue->current = add_buf(nc, buf, len, import_pos);
	f->loading = true;
	parse_buffer(&ps);
	f->loading = false;
	nc->queue->current = outer;
}

/* The directory part of path, with its slash; "" for a bare name. */
static const char *dir_of(struct nooksc *nc, const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? arena_strndup(ARENA(nc), path, (size_t)(slash - path + 1)) : "";
}

static bool is_regular(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Where `import "name"` finds its file: an absolute name as it is, then
 * beside the importing file, along the -I path, along the -isystem path.
 * *system: found along -isystem, or beside a file that was. */
static const char *find_import(struct nooksc *nc, const struct idl_file *from,
			       const char *name, bool *system)
{
	*system = false;
	if (name[0] == '/')
		return is_regular(name) ? name : NULL;

	const char *p = arena_printf(ARENA(nc), "%s%s", dir_of(nc, from->path), name);
	if (is_regular(p)) {
		*system = from->system;
		return p;
	}
	for (int k = 0; k < 2; k++) {
		const char *const *dirs = k ? nc->opt.system_dirs : nc->opt.include_dirs;
		int n_dirs = k ? nc->opt.n_system_dirs : nc->opt.n_include_dirs;
		for (int i = 0; i < n_dirs; i++) {
			const char *dir = dirs[i];
			size_t n = strlen(dir);
			p = arena_printf(ARENA(nc), "%s%s%s", dir,
					 n && dir[n - 1] == '/' ? "" : "/", name);
			if (is_regular(p)) {
				*system = k;
				return p;
			}
		}
	}
	return NULL;
}

/* The chain of files being loaded, outermost first, as "a -> b -> c". */
static const char *import_chain(struct nooksc *nc, const struct idl_file *to)
{
	struct strbuf b = { 0 };
	const struct idl_file *f;
	bool started = false;

	for (f = nc->model->files; f; f = f->next) {
		if (!f->loading)
			continue;
		if (f == to)
			started = true;
		if (started)
			sb_printf(&b, "%s -> ", f->path);
	}
	sb_puts(&b, to->path);
	return sb_finish(ARENA(nc), &b);
}

void import_file(struct parse_state *ps, const char *name,
		 const struct srcpos *pos)
{
	struct nooksc *nc = ps->nc;
	struct idl_import *imp = arena_alloc(ARENA(nc), sizeof(*imp));
	struct idl_import **tail = &ps->file->imports;
	char real[PATH_MAX];
	int depth = 0;

	imp->name = name;
	imp->pos = *pos;
	while (*tail)
		tail = &(*tail)->next;
	*tail = imp;

	bool system = false;
	const char *path = *name ? find_import(nc, ps->file, name, &system) : NULL;
	if (!path && name[0] == '/') {
		diag(nc, NOOKSC_ERROR, "import-not-found", pos, "cannot find \"%s\"", name);
		return;
	}
	if (!path) {
		struct strbuf b = { 0 };
		const char *here = dir_of(nc, ps->file->path);
		sb_printf(&b, "'%s'", *here ? here : "./");
		for (int i = 0; i < nc->opt.n_include_dirs; i++)
			sb_printf(&b, ", '%s'", nc->opt.include_dirs[i]);
		for (int i = 0; i < nc->opt.n_system_dirs; i++)
			sb_printf(&b, ", '%s'", nc->opt.system_dirs[i]);
		diag(nc, NOOKSC_ERROR, "import-not-found", pos,
		     "cannot find \"%s\" (searched %s)", name,
		     sb_finish(ARENA(nc), &b));
		return;
	}
	if (!realpath(path, real)) {
		diag(nc, NOOKSC_ERROR, "import-not-found", pos,
		     "cannot resolve \"%s\": %s", path, strerror(errno));
		return;
	}

	for (struct idl_file *f = nc->model->files; f; f = f->next) {
		char other[PATH_MAX];
		if (f->loading)
			depth++;
		if (!realpath(f->path, other) || strcmp(other, real) != 0)
			continue;
		if (f->loading) {
			diag(nc, NOOKSC_ERROR, "import-cycle", pos,
			     "import cycle: %s", import_chain(nc, f));
			return;
		}
		imp->file = f;		/* already loaded */
		return;
	}
	if (depth >= MAX_IMPORT_DEPTH) {
		diag(nc, NOOKSC_ERROR, "import-cycle", pos,
		     "imports nested more than %d deep", MAX_IMPORT_DEPTH);
		return;
	}

	size_t len;
	int err = 0;
	char *buf = read_file(nc, path, &len, &err);
	if (!buf) {
		diag(nc, NOOKSC_ERROR, "import-not-found", pos,
		     "cannot read \"%s\": %s", path, strerror(err));
		return;
	}
	imp->file = new_file(nc, path);
	imp->file->system = system;
	parse_into(nc, imp->file, buf, len, pos);
}

/* ---- entry points ------------------------------------------------------- */

static struct idl_model *start(struct nooksc *nc)
{
	struct idl_model *m = arena_alloc(ARENA(nc), sizeof(*m));
	m->nc = nc;
	nc->model = m;
	return m;
}

struct idl_model *nooksc_parse_buffer(struct nooksc *nc, const char *name,
				      const char *buf, size_t len)
{
	struct idl_model *m = start(nc);
	char *copy = arena_alloc(ARENA(nc), len + 1);

	if (len)
		memcpy(copy, buf, len);	/* buf may be NULL when len is 0 */
	nc->queue->holding++;
	m->main = new_file(nc, name);
	parse_into(nc, m->main, copy, len, NULL);
	run_checks(nc, m);
	release(nc);
	return m;
}

struct idl_model *nooksc_parse_file(struct nooksc *nc, const char *path)
{
	struct idl_model *m = start(nc);
	size_t len;
	int err = 0;
	char *buf = read_file(nc, path, &len, &err);

	if (!buf) {
		diag(nc, NOOKSC_ERROR, NULL, NULL, "cannot read '%s': %s", path,
		     strerror(err));
		return NULL;
	}
	nc->queue->holding++;
	m->main = new_file(nc, path);
	parse_into(nc, m->main, buf, len, NULL);
	run_checks(nc, m);
	release(nc);
	return m;
}
