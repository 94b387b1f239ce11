/*
 * verify.c - nooksc verify: does the IDL agree with the header it names?
 *
 * The verify.c.m4 template restates every declaration of the interface as
 * C that only compiles if the header agrees (a prototype redeclared, a
 * field's type compared, a constant evaluated), each after a #line naming
 * the IDL line it came from.  libclang parses that text in memory with the
 * caller's compiler arguments; its diagnostics, read at their "presumed"
 * location (which honours #line), are then reported at the IDL
 * declaration they concern, with clang's notes ("previous declaration is
 * here") pointing into the header.  A diagnostic located in the header
 * itself is a header error: libclang still "parses" a broken header
 * (unknown types become int), so those are reported, never ignored.
 */
#include <stdlib.h>
#include <string.h>

#include <clang-c/Index.h>

#include "internal.h"
#include "codegen.h"
#include "verify.h"

#define TU_NAME "nooksc-verify.c"

/* The IDL position at file:line: a declaration, field or parameter
 * written there (for the column and the caret), else the line alone. */
static struct srcpos idl_pos(const struct idl_model *m, const char *file, int line)
{
	struct srcpos best = { .file = NULL };
	const struct idl_decl *d, *e;
	const struct idl_var *v;

#define TRY(p)								\
	do {								\
		if ((p)->line == line && (p)->file && !strcmp((p)->file, file) && \
		    !best.file)						\
			best = *(p);					\
	} while (0)

	for_each_decl(m, d) {
		TRY(&d->pos);
		for_each_var(d->fields, v)
			TRY(&v->pos);
		for_each_member(d, e)
			TRY(&e->pos);
	}
#undef TRY
	if (!best.file) {
		best.file = file;
		best.line = best.last_line = line;
		best.col = best.last_col = 1;
	}
	return best;
}

static const char *cx(struct nooksc *nc, CXString s)
{
	const char *c = clang_getCString(s);
	const char *copy = arena_strdup(ARENA(nc), c ? c : "");
	clang_disposeString(s);
	return copy;
}

static bool is_idl_file(const struct idl_model *m, const char *file)
{
	for (const struct idl_file *f = m->files; f; f = f->next)
		if (!strcmp(f->path, file))
			return true;
	return false;
}

/* Splits "A, B" at its top-level comma. */
static bool split2(const char *s, size_t n, size_t *comma)
{
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '(' || s[i] == '[')
			depth++;
		else if (s[i] == ')' || s[i] == ']')
			depth--;
		else if (s[i] == ',' && depth == 0) {
			*comma = i;
			return true;
		}
	}
	return false;
}

/*
 * clang says "static_assert failed due to requirement 'R' \"MSG\"": keep
 * MSG and say what R compared, header first (the template writes the
 * header's side first).  Any other message stays as clang wrote it.
 */
static const char *tidy(struct nooksc *nc, const char *msg)
{
	const char *q = strrchr(msg, '"');
	const char *req = strstr(msg, "requirement '");
	if (strncmp(msg, "static_assert failed", 20) != 0 || !q || q == msg || !req)
		return msg;
	const char *open = q - 1;
	while (open > msg && *open != '"')
		open--;
	if (*open != '"')
		return msg;
	req += strlen("requirement '");
	const char *req_end = strchr(req, '\'');
	if (!req_end)
		return msg;
	const char *in = req;
	size_t n = (size_t)(req_end - req), comma;
	static const char btc[] = "__builtin_types_compatible_p(";
	if (!strncmp(in, btc, sizeof(btc) - 1) && n > sizeof(btc)) {
		in += sizeof(btc) - 1;
		n -= sizeof(btc);		/* and the closing ')' */
	}
	const char *eq = strstr(in, " == ");
	if (split2(in, n, &comma))
		return arena_printf(ARENA(nc), "%.*s (header: %.*s; IDL: %.*s)",
				    (int)(q - open - 1), open + 1, (int)comma, in,
				    (int)(n - comma - 2), in + comma + 2);
	if (eq && eq < in + n)
		return arena_printf(ARENA(nc), "%.*s (header: %.*s; IDL: %.*s)",
				    (int)(q - open - 1), open + 1, (int)(eq - in), in,
				    (int)(in + n - eq - 4), eq + 4);
	return arena_printf(ARENA(nc), "%.*s", (int)(q - open - 1), open + 1);
}

/* The last error reported, to drop an identical one on the same line;
 * reset for every run (the strings live in that run's arena). */
static const char *last_file, *last_msg;
static unsigned last_line;

/* clang's words for the two commonest disagreements, in the IDL's. */
static const char *reword(struct nooksc *nc, const struct idl_model *m, const char *msg)
{
	static const char undeclared[] = "use of undeclared identifier '";
	static const char conflicting[] = "conflicting types for '";

	if (!strncmp(msg, undeclared, sizeof(undeclared) - 1))
		return arena_printf(ARENA(nc), "'%s is not declared in \"%s\"",
				    msg + sizeof(undeclared) - 1, m->main->header);
	if (!strncmp(msg, conflicting, sizeof(conflicting) - 1))
		return arena_printf(ARENA(nc), "'%s has another prototype in \"%s\"",
				    msg + sizeof(conflicting) - 1, m->main->header);
	return msg;
}

static void report(struct nooksc *nc, const struct idl_model *m, CXDiagnostic dg,
		   bool child)
{
	enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(dg);
	CXSourceLocation loc = clang_getDiagnosticLocation(dg);
	CXString cfile;
	unsigned line, col;
	const char *msg = tidy(nc, cx(nc, clang_getDiagnosticSpelling(dg)));

	clang_getPresumedLocation(loc, &cfile, &line, &col);
	const char *file = cx(nc, cfile);

	if (!child && sev < CXDiagnostic_Error)
		return;		/* warnings about the header are the header's */
	if (child) {
		struct srcpos pos = { .file = file, .line = (int)line, .col = (int)col,
				      .last_line = (int)line, .last_col = (int)col };
		if (*file && strcmp(file, TU_NAME) != 0)	/* not our own text */
			diag(nc, NOOKSC_NOTE, NULL, &pos, "%s", msg);
		return;
	}
	if (is_idl_file(m, file)) {
		/* one declaration checked twice (a constant that must exist and
		 * must have its value) fails once */
		const char *text = reword(nc, m, msg);
		if (last_file && last_line == line && !strcmp(last_file, file) &&
		    !strcmp(last_msg, text))
			return;
		last_file = file;
		last_line = line;
		last_msg = text;
		struct srcpos pos = idl_pos(m, file, (int)line);
		diag(nc, NOOKSC_ERROR, "verify", &pos, "%s", text);
	} else if (*file && strcmp(file, TU_NAME) != 0) {
		struct srcpos pos = { .file = file, .line = (int)line, .col = (int)col,
				      .last_line = (int)line, .last_col = (int)col };
		diag(nc, NOOKSC_ERROR, "header", &pos, "%s", msg);
	} else {
		diag(nc, NOOKSC_ERROR, "verify", NULL, "%s", msg);
	}
	CXDiagnosticSet kids = clang_getChildDiagnostics(dg);
	for (unsigned i = 0; i < clang_getNumDiagnosticsInSet(kids); i++) {
		CXDiagnostic k = clang_getDiagnosticInSet(kids, i);
		report(nc, m, k, true);
		clang_disposeDiagnostic(k);
	}
}

int nooksc_verify(struct nooksc *nc, const struct idl_model *m, const char *templates,
		  const char *const *clang_args, int n_clang_args)
{
	char *text;
	size_t len;
	int before = nc->errors;

	last_file = last_msg = NULL;
	last_line = 0;
	if (nooksc_expand_template(nc, m, templates, "verify.c.m4", &text, &len))
		return -1;

	const char **args = calloc((size_t)n_clang_args + 4, sizeof(*args));
	int n = 0;
	if (!args) {
		free(text);
		return -1;
	}
	args[n++] = "-std=gnu11";
	args[n++] = "-fsyntax-only";
	for (int i = 0; i < n_clang_args; i++)
		args[n++] = clang_args[i];

	struct CXUnsavedFile tu = { .Filename = TU_NAME, .Contents = text,
				    .Length = (unsigned long)len };
	CXIndex index = clang_createIndex(0, 0);
	CXTranslationUnit unit = NULL;
	enum CXErrorCode err = clang_parseTranslationUnit2(index, TU_NAME, args, n, &tu, 1,
							   CXTranslationUnit_None, &unit);
	if (err != CXError_Success || !unit) {
		diag(nc, NOOKSC_ERROR, "verify", NULL,
		     "libclang could not parse the header \"%s\" (error %d)",
		     m->main->header, (int)err);
	} else {
		for (unsigned i = 0; i < clang_getNumDiagnostics(unit); i++) {
			CXDiagnostic dg = clang_getDiagnostic(unit, i);
			report(nc, m, dg, false);
			clang_disposeDiagnostic(dg);
		}
		clang_disposeTranslationUnit(unit);
	}
	clang_disposeIndex(index);
	free(args);
	free(text);
	return nc->errors > before ? -1 : 0;
}
