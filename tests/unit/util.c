/*
 * util.c - compile a string and keep its diagnostics (see util.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void collect(void *arg, const struct nooksc_diag *d)
{
	struct compiled *c = arg;
	struct got_diag *g;

	if (c->n == MAX_DIAGS)
		return;
	g = &c->d[c->n++];
	g->level = d->level;
	snprintf(g->check, sizeof(g->check), "%s", d->check ? d->check : "");
	snprintf(g->file, sizeof(g->file), "%s", d->pos.file ? d->pos.file : "");
	g->line = d->pos.line;
	g->col = d->pos.col;
	snprintf(g->message, sizeof(g->message), "%s", d->message);
	g->n_from = d->n_imported_from;
	if (d->n_imported_from) {
		snprintf(g->from_file, sizeof(g->from_file), "%s", d->imported_from[0].file);
		g->from_line = d->imported_from[0].line;
		g->from_col = d->imported_from[0].col;
	}
}

struct compiled *compile_opts(const char *name, const char *src,
			      const char *include_dir, int max_errors)
{
	return compile_buf(name, src, strlen(src), include_dir, max_errors);
}

struct compiled *compile_buf(const char *name, const char *src, size_t len,
			     const char *include_dir, int max_errors)
{
	struct compiled *c = calloc(1, sizeof(*c));
	const char *dirs[1] = { include_dir };
	struct nooksc_options opt = {
		.include_dirs = dirs,
		.n_include_dirs = include_dir ? 1 : 0,
		.max_errors = max_errors,
		.diag = collect,
		.diag_arg = c,
	};

	c->nc = nooksc_new(&opt);
	c->m = nooksc_parse_buffer(c->nc, name, src, len);
	return c;
}

struct compiled *compile_file_opts(const char *path, const struct nooksc_options *base)
{
	struct compiled *c = calloc(1, sizeof(*c));
	struct nooksc_options opt = *base;

	opt.diag = collect;
	opt.diag_arg = c;
	c->nc = nooksc_new(&opt);
	c->m = nooksc_parse_file(c->nc, path);
	return c;
}

struct compiled *compile_file(const char *path)
{
	struct nooksc_options opt = { 0 };
	return compile_file_opts(path, &opt);
}

struct compiled *compile(const char *src)
{
	return compile_opts("test.idl", src, NULL, 0);
}

void compiled_free(struct compiled *c)
{
	nooksc_free(c->nc);
	free(c);
}

const struct got_diag *find_diag(const struct compiled *c, const char *check)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->d[i].check, check))
			return &c->d[i];
	return NULL;
}

int count_level(const struct compiled *c, enum nooksc_level lvl)
{
	int n = 0;
	for (int i = 0; i < c->n; i++)
		n += c->d[i].level == lvl;
	return n;
}

void print_diags(const struct compiled *c)
{
	for (int i = 0; i < c->n; i++)
		fprintf(stderr, "\n    got %s:%d:%d: [%s] %s", c->d[i].file,
			c->d[i].line, c->d[i].col, c->d[i].check, c->d[i].message);
	if (c->n)
		fputc('\n', stderr);
}

struct idl_decl *decl_named(const struct idl_model *m, const char *name)
{
	struct idl_decl *d;
	for_each_decl(m, d)
		if (d->name && !strcmp(d->name, name))
			return d;
	return NULL;
}

struct idl_decl *member_named(const struct idl_decl *parent, const char *name)
{
	struct idl_decl *d;
	for_each_member(parent, d)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

struct idl_var *var_named(struct idl_var *list, const char *name)
{
	for (; list; list = list->next)
		if (list->name && !strcmp(list->name, name))
			return list;
	return NULL;
}
