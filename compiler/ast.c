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
#define MAX_ANNOTS 64
#define MAX_DERIVATIONS 64

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
	struct nooksc *nc = ps->nc;

	if (!nc->decl_tail)
		nc->decl_tail = &nc->model->decls;
	*nc->decl_tail = d;
	nc->decl_tail = &d->next;
}

/*
 * Lists are built left to right by the parser.  The first node caches the
 * list's tail so that each append is O(1): a file with a hundred thousand
 * fields must not take quadratic time.
 */
struct idl_var *vars_append(struct idl_var *list, struct idl_var *v)
{
	struct idl_var *last;

	if (!v)
		return list;
	last = v->tail ? v->tail : v;
	while (last->next)
		last = last->next;
	v->tail = NULL;
	if (list && !list->tail) {	/* a list that began as a single node */
		list->tail = list;
		while (list->tail->next)
			list->tail = list->tail->next;
	}
	int i = list ? list->tail->index + 1 : 0;
	for (struct idl_var *p = v; p; p = p->next)
		p->index = i++;
	if (!list) {
		v->tail = last;
		return v;
	}
	list->tail->next = v;
	list->tail = last;
	return list;
}

struct idl_decl *members_append(struct idl_decl *list, struct idl_decl *more)
{
	if (!more)
		return list;
	if (!list) {
		more->member_tail = more;
		return more;
	}
	list->member_tail->next_member = more;
	list->member_tail = more;
	return list;
}

void annots_append(struct parse_state *ps, struct idl_annot **list,
		   struct idl_annot *more)
{
	int n = 0;

	while (*list) {
		list = &(*list)->next;
		n++;
	}
	for (; more; more = more->next) {
		if (n == MAX_ANNOTS) {
			diag(ps->nc, NOOKSC_ERROR, "syntax", &more->pos,
			     "more than %d annotations on one declaration", MAX_ANNOTS);
			return;
		}
		*list = more;
		list = &more->next;
		n++;
	}
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

struct idl_expr *expr_arrow(struct parse_state *ps, struct idl_expr *l,
			    const char *name, const struct srcpos *pos)
{
	struct idl_expr *e = new_expr(ps, EX_ARROW, pos);
	e->lhs = l;
	e->name = name;
	e->depth = 1 + l->depth;
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
	int n = 0;

	for (struct idl_type *t = first; t; t = next) {
		next = t->base;
		t->base = cur;
		cur = t;
		if (++n == MAX_DERIVATIONS + 1)
			diag(ps->nc, NOOKSC_ERROR, "syntax", &t->pos,
			     "declarator with more than %d pointer, array and function levels",
			     MAX_DERIVATIONS);
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
	} else if (!strcmp(kw, "header") || !strcmp(kw, "import")) {
		diag(ps->nc, NOOKSC_ERROR, "syntax", argpos,
		     "'%s' takes a quoted file name: %s \"%s\";", kw, kw, arg);
	} else if (!strcmp(kw, "interface")) {
		diag(ps->nc, NOOKSC_ERROR, "syntax", argpos,
		     "'interface' takes a name, not a string: interface NAME;");
	} else if (arg_is_string) {
		diag(ps->nc, NOOKSC_ERROR, "syntax", kwpos,
		     "expected 'header \"...\";' or 'import \"...\";', found '%s'", kw);
	} else {
		diag(ps->nc, NOOKSC_ERROR, "syntax", kwpos,
		     "expected 'interface NAME;', found '%s %s'", kw, arg);
	}
}
