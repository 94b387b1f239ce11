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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define MAX_IMPORT_DEPTH 64
#define MAX_SHOWN_LINE 512

/* ---- diagnostics -------------------------------------------------------- */

static const char *const level_names[] = { "note", "warning", "error" };

void nooksc_print_diag(FILE *out, const struct nooksc_diag *d)
{
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

static void emit(struct nooksc *nc, struct nooksc_diag *d)
{
	if (nc->opt.diag)
		nc->opt.diag(nc->opt.diag_arg, d);
	else
		nooksc_print_diag(stderr, d);
}

void vdiag(struct nooksc *nc, enum nooksc_level lvl, const char *check,
	   const struct srcpos *pos, const char *fmt, va_list ap)
{
	struct nooksc_diag d = { .level = lvl, .check = check };
	char msg[1024];

	if (nc->stopped || !check_enabled(nc, check))
		return;
	if (lvl == NOOKSC_WARNING && nc->opt.werror)
		d.level = lvl = NOOKSC_ERROR;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	d.message = msg;
	if (pos)
		d.pos = *pos;
	emit(nc, &d);

	if (lvl == NOOKSC_WARNING)
		nc->warnings++;
	if (lvl != NOOKSC_ERROR)
		return;
	if (++nc->errors >= nc->opt.max_errors) {
		struct nooksc_diag stop = {
			.level = NOOKSC_NOTE,
			.message = "too many errors; stopping",
		};
		emit(nc, &stop);
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

static void parse_into(struct nooksc *nc, struct idl_file *f, const char *buf,
		       size_t len)
{
	struct parse_state ps = {
		.nc = nc,
		.file = f,
		.buf = buf,
		.len = len,
		.fname = f->path,
	};

	f->loading = true;
	parse_buffer(&ps);
	f->loading = false;
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
	parse_into(nc, imp->file, buf, len);
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
	m->main = new_file(nc, name);
	parse_into(nc, m->main, copy, len);
	run_checks(nc, m);
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
	m->main = new_file(nc, path);
	parse_into(nc, m->main, buf, len);
	run_checks(nc, m);
	return m;
}
