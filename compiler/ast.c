/*
 * ast.c - node constructors the parser calls.
 *
 * Every node is zeroed arena memory stamped with its position.  Expressions
 * carry their nesting depth so that a pathological input (ten thousand
 * unary minus signs) is refused here rather than blowing the C stack in a
 * later recursive walk.  Top-level IDL words (interface, header, import)
 * are interpreted in top_item().
 */
#include <string.h>

#include "internal.h"

#define MAX_EXPR_DEPTH 200

struct idl_type *new_type(struct parse_state *ps, enum type_kind k,
			  const struct srcpos *pos)
{
	struct idl_type *t = arena_alloc(ARENA(ps->nc), sizeof(*t));
	t->kind = k;
	t->pos = *pos;
	return t;
}

struct idl_expr *new_expr(struct parse_state *ps, enum expr_kind k,
			  const struct srcpos *pos)
{
	struct idl_expr *e = arena_alloc(ARENA(ps->nc), sizeof(*e));
	e->kind = k;
	e->pos = *pos;
	e->depth = 1;
	return e;
}

struct idl_decl *new_decl(struct parse_state *ps, enum decl_kind k,
			  const char *name, const struct srcpos *pos)
{
	struct idl_decl *d = arena_alloc(ARENA(ps->nc), sizeof(*d));
	d->kind = k;
	d->name = name;
	d->pos = *pos;
	d->file = ps->file;
	d->attrs.timeout_ms = -1;
	return d;
}

struct idl_var *new_var(struct parse_state *ps, const char *name,
			struct idl_type *type, const struct srcpos *pos)
{
	struct idl_var *v = arena_alloc(ARENA(ps->nc), sizeof(*v));
	v->name = name;
	v->type = type;
	v->pos = *pos;
	v->attrs.timeout_ms = -1;
	return v;
}

void add_decl(struct parse_state *ps, struct idl_decl *d)
{
	struct idl_decl **p = &ps->nc->model->decls;

	/* Appending keeps source order; models are small, and a tail
	 * pointer would have to survive nested imports. */
	while (*p)
		p = &(*p)->next;
	*p = d;
}

struct idl_var *vars_append(struct idl_var *list, struct idl_var *v)
{
	struct idl_var **p = &list;
	int i = 0;

	if (!v)
		return list;
	while (*p) {
		p = &(*p)->next;
		i++;
	}
	*p = v;
	for (; v; v = v->next)
		v->index = i++;
	return list;
}

void annots_append(struct idl_annot **list, struct idl_annot *more)
{
	while (*list)
		list = &(*list)->next;
	*list = more;
}

static void check_depth(struct parse_state *ps, struct idl_expr *e)
{
	if (e->depth == MAX_EXPR_DEPTH + 1)
		diag(ps->nc, NOOKSC_ERROR, "syntax", &e->pos,
		     "expression nested more than %d deep", MAX_EXPR_DEPTH);
}

struct idl_expr *expr_binary(struct parse_state *ps, int op,
			     struct idl_expr *l, struct idl_expr *r,
			     const struct srcpos *pos)
{
	struct idl_expr *e = new_expr(ps, EX_BINARY, pos);
	e->op = op;
	e->lhs = l;
	e->rhs = r;
	e->depth = 1 + (l->depth > r->depth ? l->depth : r->depth);
	check_depth(ps, e);
	return e;
}

struct idl_expr *expr_unary(struct parse_state *ps, int op,
			    struct idl_expr *l, const struct srcpos *pos)
{
	struct idl_expr *e = new_expr(ps, EX_UNARY, pos);
	e->op = op;
	e->lhs = l;
	e->depth = 1 + l->depth;
	check_depth(ps, e);
	return e;
}

struct idl_type *type_derive(struct parse_state *ps, struct idl_type *base,
			     struct idl_type *first)
{
	struct idl_type *cur = base, *next;

	(void)ps;
	for (struct idl_type *t = first; t; t = next) {
		next = t->base;
		t->base = cur;
		cur = t;
	}
	return cur;
}

void top_item(struct parse_state *ps, const char *kw, const struct srcpos *kwpos,
	      const char *arg, const struct srcpos *argpos, bool arg_is_string)
{
	struct idl_file *f = ps->file;

	if (strcmp(kw, "interface") == 0 && !arg_is_string) {
		if (f->interface) {
			diag(ps->nc, NOOKSC_ERROR, "duplicate-decl", kwpos,
			     "second 'interface' in one file (first is '%s')",
			     f->interface);
			return;
		}
		f->interface = arg;
		f->interface_pos = *argpos;
	} else if (strcmp(kw, "header") == 0 && arg_is_string) {
		if (f->header) {
			diag(ps->nc, NOOKSC_ERROR, "duplicate-decl", kwpos,
			     "second 'header' in one file (first is \"%s\")",
			     f->header);
			return;
		}
		if (!*arg)
			diag(ps->nc, NOOKSC_ERROR, "syntax", argpos,
			     "empty header name");
		f->header = arg;
		f->header_pos = *argpos;
	} else if (strcmp(kw, "import") == 0 && arg_is_string) {
		import_file(ps, arg, argpos);
	} else if (arg_is_string) {
		diag(ps->nc, NOOKSC_ERROR, "syntax", kwpos,
		     "expected 'header \"...\";' or 'import \"...\";', found '%s'", kw);
	} else {
		diag(ps->nc, NOOKSC_ERROR, "syntax", kwpos,
		     "expected 'interface NAME;', found '%s %s'", kw, arg);
	}
}
