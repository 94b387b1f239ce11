/*
 * checks.c - semantic checks, as a table (after dtc's checks.c).
 *
 * Each row of check_table has a name (what users see in `[name]` and turn
 * off with -Wno-name when it is a warning), a level and a function that
 * walks the model.  They run in table order once every file has parsed
 * without a syntax or import error (checks over a broken tree only repeat
 * the parser's complaint).  Early rows resolve what later rows rely on:
 * names into the symbol tables, type names into declarations, annotations
 * into struct idl_attrs.  A "gate" row stops the run if any error has been
 * reported by then, and later rows skip whatever an earlier one could not
 * resolve, so one mistake gives one message.
 *
 * Annotations are interpreted from the vocabulary table below: where each
 * may appear, how many arguments it takes, which others it excludes.  An
 * annotation that passes those checks is written into the owner's attrs;
 * the rest of the compiler reads only attrs.
 */
#include <string.h>

#include "internal.h"
#include "codegen.h"

/* ---- symbol tables ------------------------------------------------------ */

struct sym {
	const char *name;
	void *item;
};

struct symtab {
	struct sym *slot;
	size_t cap, used;
};

static size_t hash_str(const char *s)
{
	size_t h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static struct sym *sym_slot(struct symtab *t, const char *name)
{
	size_t i = hash_str(name) & (t->cap - 1);
	while (t->slot[i].name && strcmp(t->slot[i].name, name) != 0)
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

static void *sym_find(struct symtab *t, const char *name)
{
	return t->cap && name ? sym_slot(t, name)->item : NULL;
}

/* Adds name -> item unless the name is taken; returns the earlier item if
 * it is. */
static void *sym_add(struct nooksc *nc, struct symtab *t, const char *name,
		     void *item)
{
	if (t->used * 2 >= t->cap) {
		struct symtab big = { .cap = t->cap ? t->cap * 2 : 64 };
		big.slot = arena_alloc(ARENA(nc), big.cap * sizeof(*big.slot));
		for (size_t i = 0; i < t->cap; i++)
			if (t->slot[i].name)
				*sym_slot(&big, t->slot[i].name) = t->slot[i];
		big.used = t->used;
		*t = big;
	}
	struct sym *s = sym_slot(t, name);
	if (s->name)
		return s->item;
	s->name = name;
	s->item = item;
	t->used++;
	return NULL;
}

static struct idl_decl *sym_get(struct symtab *t, const char *name)
{
	return sym_find(t, name);
}

static struct idl_decl *sym_put(struct nooksc *nc, struct symtab *t,
				struct idl_decl *d)
{
	return sym_add(nc, t, d->name, d);
}

/* ---- the walk state ----------------------------------------------------- */

struct ck {
	struct nooksc *nc;
	struct idl_model *m;
	struct symtab tags;	/* struct, union, enum, ops */
	struct symtab names;	/* typedef, const, enumerator, kernel function */
	const char *check;	/* name of the running check */
	enum nooksc_level level;
};

static void report(struct ck *ck, const struct srcpos *pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct ck *ck, const struct srcpos *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(ck->nc, ck->level, ck->check, pos, fmt, ap);
	va_end(ap);
}

static void note(struct ck *ck, const struct srcpos *pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(struct ck *ck, const struct srcpos *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(ck->nc, NOOKSC_NOTE, NULL, pos, fmt, ap);
	va_end(ap);
}

static const char *tstr(struct ck *ck, const struct idl_type *t)
{
	return type_to_c(ck->nc, t, NULL);
}

/* What d is, with its article: "an enum", "a kernel function". */
static const char *kind_name(const struct idl_decl *d)
{
	switch (d->kind) {
	case D_STRUCT:
		return d->is_union ? "a union" : d->opaque ? "an opaque struct" : "a struct";
	case D_ENUM:
		return "an enum";
	case D_ENUMERATOR:
		return "an enumerator";
	case D_TYPEDEF:
		return "a typedef";
	case D_CONST:
		return "a constant";
	case D_OPS:
		return "an ops table";
	case D_FUNC:
		return d->is_ops_entry ? "an extension function" : "a kernel function";
	}
	return "a declaration";
}

static bool is_kernel_func(const struct idl_decl *d)
{
	return d && d->kind == D_FUNC && !d->is_ops_entry;
}

/* Calls fn on every function: kernel functions and ops entries. */
static void for_each_func(struct ck *ck, void (*fn)(struct ck *, struct idl_decl *))
{
	struct idl_decl *d, *f;

	for_each_decl(ck->m, d) {
		if (d->kind == D_FUNC)
			fn(ck, d);
		else if (d->kind == D_OPS)
			for_each_member(d, f)
				fn(ck, f);
	}
}

static struct idl_var *func_params(const struct idl_decl *f)
{
	return f->type ? f->type->params : NULL;
}

static struct idl_type *func_ret(const struct idl_decl *f)
{
	return f->type->base;
}

/* ---- interface-missing, header-missing ---------------------------------- */

static void file_start(const struct idl_file *f, struct srcpos *pos)
{
	memset(pos, 0, sizeof(*pos));
	pos->file = f->path;
	pos->line = pos->last_line = 1;
	pos->col = pos->last_col = 1;
}

static void check_interface(struct ck *ck)
{
	struct srcpos pos;

	for (struct idl_file *f = ck->m->files; f; f = f->next) {
		if (f->interface)
			continue;
		file_start(f, &pos);
		report(ck, &pos, "no 'interface NAME;' in this file");
	}
}

static void check_header(struct ck *ck)
{
	struct srcpos pos;

	for (struct idl_file *f = ck->m->files; f; f = f->next) {
		if (f->header)
			continue;
		file_start(f, &pos);
		report(ck, &pos, "no 'header \"...\";' naming the C header this file annotates");
	}
}

/* ---- reserved-name ------------------------------------------------------ */

/* Which names are the code generator's is its business (codegen.c). */
static void reserved(struct ck *ck, const char *name, const struct srcpos *pos)
{
	const char *why = name ? nooksc_reserved_name(ck->nc, name) : NULL;

	if (why)
		report(ck, pos, "%s", why);
}

static void reserved_vars(struct ck *ck, const struct idl_var *v)
{
	for (; v; v = v->next)
		reserved(ck, v->name, &v->pos);
}

static void check_reserved_name(struct ck *ck)
{
	struct idl_decl *d, *e;

	for (struct idl_file *f = ck->m->files; f; f = f->next) {
		const char *why;

		reserved(ck, f->interface, &f->interface_pos);
		if (f->interface && (why = nooksc_reserved_interface(f->interface)))
			report(ck, &f->interface_pos, "%s", why);
		if (f->header && (why = nooksc_reserved_header(ck->nc, f->header)))
			report(ck, &f->header_pos, "%s", why);
	}

	for_each_decl(ck->m, d) {
		reserved(ck, d->name, &d->pos);
		reserved_vars(ck, d->fields);
		if (d->type && d->type->kind == TY_FUNC)
			reserved_vars(ck, d->type->params);
		for_each_member(d, e) {
			reserved(ck, e->name, &e->pos);
			if (e->type)
				reserved_vars(ck, e->type->params);
		}
	}
}

/* ---- duplicate-decl, duplicate-member ----------------------------------- */

/* Adds d to its namespace, or says what already holds the name. */
static void declare(struct ck *ck, struct symtab *t, struct idl_decl *d)
{
	struct idl_decl *prev = sym_put(ck->nc, t, d);

	if (prev) {
		report(ck, &d->pos, "redefinition of '%s' (already %s)", d->name,
		       kind_name(prev));
		note(ck, &prev->pos, "previous declaration of '%s' here", prev->name);
	}
}

static void check_duplicate_decl(struct ck *ck)
{
	struct idl_decl *d, *e;

	for (struct idl_file *f = ck->m->files; f; f = f->next)
		for (struct idl_file *g = f->next; g; g = g->next)
			if (f->interface && g->interface &&
			    strcmp(f->interface, g->interface) == 0) {
				report(ck, &g->interface_pos,
				       "interface '%s' declared twice", g->interface);
				note(ck, &f->interface_pos, "first declared here");
			}

	for_each_decl(ck->m, d) {
		bool tag = d->kind == D_STRUCT || d->kind == D_ENUM || d->kind == D_OPS;
		declare(ck, tag ? &ck->tags : &ck->names, d);
		if (d->kind == D_ENUM)
			for_each_member(d, e)
				declare(ck, &ck->names, e);
	}
}

static void dup_vars(struct ck *ck, const struct idl_var *list, const char *what,
		     const char *owner)
{
	struct symtab seen = { 0 };	/* arena memory: freed with the context */

	for (const struct idl_var *v = list; v; v = v->next) {
		const struct idl_var *w = v->name ?
			sym_add(ck->nc, &seen, v->name, (void *)v) : NULL;
		if (w) {
			report(ck, &v->pos, "%s '%s' appears twice in '%s'",
			       what, v->name, owner);
			note(ck, &w->pos, "first one here");
		}
	}
}

static void dup_params_in(struct ck *ck, const struct idl_type *t,
			  const char *owner)
{
	for (; t; t = t->base) {
		if (t->kind != TY_FUNC)
			continue;
		dup_vars(ck, t->params, "parameter", owner);
		for (const struct idl_var *v = t->params; v; v = v->next)
			dup_params_in(ck, v->type, owner);
	}
}

static void dup_func(struct ck *ck, struct idl_decl *f)
{
	dup_params_in(ck, f->type, f->name);
}

static void check_duplicate_member(struct ck *ck)
{
	struct idl_decl *d, *e, *g;

	for_each_decl(ck->m, d) {
		if (d->kind == D_STRUCT) {
			dup_vars(ck, d->fields, "field", d->name);
			for (const struct idl_var *v = d->fields; v; v = v->next)
				dup_params_in(ck, v->type, d->name);
		}
		if (d->kind == D_OPS) {
			struct symtab seen = { 0 };
			for_each_member(d, e) {
				g = sym_put(ck->nc, &seen, e);
				if (g) {
					report(ck, &e->pos, "entry '%s' appears twice in ops '%s'",
					       e->name, d->name);
					note(ck, &g->pos, "first one here");
				}
			}
		}
	}
	for_each_func(ck, dup_func);
}

/* ---- type walks --------------------------------------------------------- */

typedef void (*type_fn)(struct ck *, struct idl_type *, void *);
static void walk_expr_types(struct ck *ck, struct idl_expr *e, type_fn fn,
			    void *arg);
static void walk_annot_types(struct ck *ck, struct idl_annot *list, type_fn fn,
			     void *arg);

/* Every type node reachable from t, outermost first. */
static void walk_type(struct ck *ck, struct idl_type *t, type_fn fn, void *arg)
{
	for (; t; t = t->base) {
		fn(ck, t, arg);
		if (t->dim)
			walk_expr_types(ck, t->dim, fn, arg);
		for (struct idl_var *v = t->params; v; v = v->next) {
			walk_type(ck, v->type, fn, arg);
			walk_annot_types(ck, v->attrs.list, fn, arg);
		}
	}
}

static void walk_expr_types(struct ck *ck, struct idl_expr *e, type_fn fn,
			    void *arg)
{
	if (!e)
		return;
	if (e->kind == EX_SIZEOF)
		walk_type(ck, e->type, fn, arg);
	walk_expr_types(ck, e->lhs, fn, arg);
	walk_expr_types(ck, e->rhs, fn, arg);
}

static void walk_annot_types(struct ck *ck, struct idl_annot *list, type_fn fn,
			     void *arg)
{
	for (struct idl_annot *a = list; a; a = a->next)
		for (int i = 0; i < a->nargs; i++)
			walk_expr_types(ck, a->args[i], fn, arg);
}

static void walk_var_types(struct ck *ck, struct idl_var *list, type_fn fn,
			   void *arg)
{
	for (struct idl_var *v = list; v; v = v->next) {
		walk_type(ck, v->type, fn, arg);
		walk_annot_types(ck, v->attrs.list, fn, arg);
	}
}

/* Every type in the model. */
static void walk_all_types(struct ck *ck, type_fn fn, void *arg)
{
	struct idl_decl *d, *e;

	for_each_decl(ck->m, d) {
		walk_type(ck, d->type, fn, arg);
		walk_expr_types(ck, d->value, fn, arg);
		walk_annot_types(ck, d->attrs.list, fn, arg);
		walk_var_types(ck, d->fields, fn, arg);
		for_each_member(d, e) {
			walk_type(ck, e->type, fn, arg);
			walk_expr_types(ck, e->value, fn, arg);
			walk_annot_types(ck, e->attrs.list, fn, arg);
		}
	}
}

/* ---- unknown-type ------------------------------------------------------- */

static void resolve_type(struct ck *ck, struct idl_type *t, void *arg)
{
	struct idl_decl *d;

	(void)arg;
	switch (t->kind) {
	case TY_STRUCT:
	case TY_UNION:
	case TY_ENUM: {
		const char *kw = t->kind == TY_STRUCT ? "struct" :
				 t->kind == TY_UNION ? "union" : "enum";
		d = sym_get(&ck->tags, t->name);
		if (!d) {
			report(ck, &t->pos, "unknown type '%s %s'; declare it%s", kw,
			       t->name, t->kind == TY_ENUM ? "" :
			       " (at least 'opaque struct NAME;')");
			return;
		}
		bool ok = t->kind == TY_ENUM ? d->kind == D_ENUM :
			  t->kind == TY_UNION ? d->kind == D_STRUCT && d->is_union :
			  d->kind == D_OPS || (d->kind == D_STRUCT && !d->is_union);
		if (!ok) {
			report(ck, &t->pos, "'%s' is %s, not %s %s", t->name,
			       kind_name(d), t->kind == TY_ENUM ? "an" : "a", kw);
			note(ck, &d->pos, "declared here");
			return;
		}
		t->decl = d;
		break;
	}
	case TY_NAMED:
		d = sym_get(&ck->names, t->name);
		if (!d) {
			report(ck, &t->pos, "unknown type '%s'; declare it with a typedef",
			       t->name);
			return;
		}
		if (d->kind != D_TYPEDEF) {
			report(ck, &t->pos, "'%s' is %s, not a type", t->name,
			       kind_name(d));
			return;
		}
		t->decl = d;
		break;
	default:
		break;
	}
}

static void check_unknown_type(struct ck *ck)
{
	walk_all_types(ck, resolve_type, NULL);
}

/* ---- type-invalid ------------------------------------------------------- */

static void valid_type(struct ck *ck, struct idl_type *t, void *arg)
{
	(void)arg;
	if (t->kind == TY_BASE && !t->name) {
		report(ck, &t->pos, "invalid combination of type specifiers");
		t->name = "int";	/* say it once */
		return;
	}
	if (t->kind == TY_NAMED && t->decl && type_strip(t)->kind == TY_NAMED) {
		report(ck, &t->pos, "typedef '%s' refers to itself", t->name);
		t->decl = NULL;
		return;
	}
	if (t->kind == TY_FUNC && t->base &&
	    (t->base->kind == TY_ARRAY || t->base->kind == TY_FUNC))
		report(ck, &t->pos, "a function cannot return %s",
		       t->base->kind == TY_ARRAY ? "an array" : "a function");
	if (t->kind == TY_ARRAY && t->base &&
	    (t->base->kind == TY_FUNC || type_is_void(t->base)))
		report(ck, &t->pos, "array of %s",
		       t->base->kind == TY_FUNC ? "functions" : "void");
}

/* A value of type t (not a pointer to it) must have a known layout. */
static void need_complete(struct ck *ck, const struct idl_type *t,
			  const struct srcpos *pos, const char *what,
			  const char *name)
{
	const struct idl_type *s = type_strip(t);

	if (!s)
		return;
	if (s->kind == TY_ARRAY) {
		s = type_strip(s->base);
		if (!s || type_is_void(s))
			return;		/* "array of void": type-invalid said so */
	}
	if (s->kind == TY_BASE && s->kw == KW_VOID)
		report(ck, pos, "%s '%s' has type void", what, name ? name : "?");
	else if ((s->kind == TY_STRUCT || s->kind == TY_UNION) && s->decl &&
		 s->decl->kind == D_STRUCT && !s->decl->defined)
		report(ck, pos, "%s '%s' has opaque type '%s' (only a pointer to it may cross)",
		       what, name ? name : "?", tstr(ck, s));
	else if (s->kind == TY_STRUCT && s->decl && s->decl->kind == D_OPS)
		report(ck, pos, "%s '%s' is an ops table by value; use a pointer",
		       what, name ? name : "?");
}

static void complete_params(struct ck *ck, struct idl_decl *f)
{
	for (struct idl_var *v = func_params(f); v; v = v->next)
		need_complete(ck, v->type, &v->pos, "parameter", v->name);
}

static void check_type_invalid(struct ck *ck)
{
	struct idl_decl *d;

	walk_all_types(ck, valid_type, NULL);
	for_each_decl(ck->m, d)
		if (d->kind == D_STRUCT)
			for (struct idl_var *v = d->fields; v; v = v->next)
				need_complete(ck, v->type, &v->pos, "field", v->name);
	for_each_func(ck, complete_params);
}

/* ---- param-unnamed ------------------------------------------------------ */

static void named_params(struct ck *ck, struct idl_decl *f)
{
	for (struct idl_var *v = func_params(f); v; v = v->next)
		if (!v->name)
			report(ck, &v->pos,
			       "parameter %d of '%s' needs a name (annotations refer to it)",
			       v->index + 1, f->name);
}

static void check_param_unnamed(struct ck *ck)
{
	for_each_func(ck, named_params);
}

/* ---- expressions: unknown-name, unknown-field --------------------------- */

/* What names an expression may use: the parameters of a function or the
 * fields of a struct, then constants and enumerators. */
struct scope {
	struct idl_var *vars;
	const char *what;	/* "parameter" or "field" */
	const char *owner;
};

enum vtype { V_UNKNOWN, V_INT, V_PTR, V_OTHER };

static enum vtype vtype_of(const struct idl_type *t)
{
	if (type_is_integer(t))
		return V_INT;
	if (type_is_pointer(t))
		return V_PTR;
	return t && type_strip(t)->kind != TY_NAMED ? V_OTHER : V_UNKNOWN;
}

static struct idl_var *find_var(struct idl_var *list, const char *name)
{
	for (; list; list = list->next)
		if (list->name && strcmp(list->name, name) == 0)
			return list;
	return NULL;
}

/*
 * Resolves the names in e and returns its kind of value.  Reports under
 * the running check; `unknown-field` misses are reported under that name
 * whatever the running check, so users can grep for them.
 */
static enum vtype resolve_expr(struct ck *ck, struct idl_expr *e,
			       const struct scope *sc)
{
	enum vtype l, r;

	switch (e->kind) {
	case EX_INT:
		return V_INT;
	case EX_SIZEOF:
		return V_INT;
	case EX_NAME: {
		struct idl_var *v = sc ? find_var(sc->vars, e->name) : NULL;
		if (v) {
			e->ref_var = v;
			return vtype_of(v->type);
		}
		struct idl_decl *d = sym_get(&ck->names, e->name);
		if (d && (d->kind == D_CONST || d->kind == D_ENUMERATOR)) {
			e->ref_decl = d;
			return d->kind == D_ENUMERATOR ? V_INT : vtype_of(d->type);
		}
		if (strcmp(e->name, "NULL") == 0)
			return V_PTR;
		if (d)
			report(ck, &e->pos, "'%s' is %s, not a value here",
			       e->name, kind_name(d));
		else if (sc)
			report(ck, &e->pos,
			       "'%s' is not a %s of '%s' nor a declared constant",
			       e->name, sc->what, sc->owner);
		else
			report(ck, &e->pos, "'%s' is not a declared constant",
			       e->name);
		return V_UNKNOWN;
	}
	case EX_ARROW: {
		if (resolve_expr(ck, e->lhs, sc) == V_UNKNOWN)
			return V_UNKNOWN;
		const struct idl_var *base = e->lhs->ref_var;
		const struct idl_decl *s = base ? type_pointee_struct(base->type) : NULL;
		if (!s || s->kind != D_STRUCT) {
			report(ck, &e->pos, "'->%s' applied to something that is not a pointer to a struct",
			       e->name);
			return V_UNKNOWN;
		}
		struct idl_var *f = find_var(s->fields, e->name);
		if (!f) {
			const char *saved = ck->check;
			enum nooksc_level lvl = ck->level;
			ck->check = "unknown-field";
			ck->level = NOOKSC_ERROR;
			report(ck, &e->pos, "'%s %s' has no field '%s'%s",
			       s->is_union ? "union" : "struct", s->name, e->name,
			       s->defined ? "" : " (it is opaque)");
			ck->check = saved;
			ck->level = lvl;
			return V_UNKNOWN;
		}
		e->ref_var = f;
		return vtype_of(f->type);
	}
	case EX_UNARY:
		l = resolve_expr(ck, e->lhs, sc);
		return l == V_UNKNOWN ? V_UNKNOWN : l == V_INT ? V_INT : V_OTHER;
	case EX_BINARY:
		l = resolve_expr(ck, e->lhs, sc);
		r = resolve_expr(ck, e->rhs, sc);
		if (l == V_UNKNOWN || r == V_UNKNOWN)
			return V_UNKNOWN;
		return l == V_INT && r == V_INT ? V_INT : V_OTHER;
	}
	return V_UNKNOWN;
}

/* ---- const-value: constants, enumerators, array sizes ------------------- */

/* A constant expression, even when its value lives only in the C header
 * (`const int EIO;`): numbers, constants, enumerators, NULL, sizeof. */
static bool expr_is_const(const struct idl_expr *e)
{
	switch (e->kind) {
	case EX_INT:
	case EX_SIZEOF:
		return true;
	case EX_NAME:
		return e->ref_decl || !strcmp(e->name, "NULL");
	case EX_ARROW:
		return false;
	case EX_UNARY:
		return expr_is_const(e->lhs);
	case EX_BINARY:
		return expr_is_const(e->lhs) && expr_is_const(e->rhs);
	}
	return false;
}

/* Does e use a value nooksc cannot know (a sizeof, a constant whose value
 * lives only in the header)? */
static bool expr_has_unknown(const struct idl_expr *e)
{
	if (!e)
		return false;
	if (e->kind == EX_SIZEOF)
		return true;
	if (e->kind == EX_NAME && !(e->ref_decl && e->ref_decl->ival_known))
		return true;
	return expr_has_unknown(e->lhs) || expr_has_unknown(e->rhs);
}

/* Resolves e's names; false (reported) if it is not a constant expression. */
static bool const_resolve(struct ck *ck, struct idl_expr *e, const char *what)
{
	if (resolve_expr(ck, e, NULL) == V_UNKNOWN)
		return false;
	if (!expr_is_const(e)) {
		report(ck, &e->pos, "%s is not a constant expression", what);
		return false;
	}
	return true;
}

/* Folds e if every value in it is known; reports what cannot be folded
 * although it should (division by zero, shift out of range). */
static void const_fold(struct ck *ck, struct idl_expr *e, const char *what,
		       long long *out, bool *known, bool final)
{
	*known = expr_eval(e, out);
	if (!*known && final && !expr_has_unknown(e))
		report(ck, &e->pos, "%s divides by zero or shifts out of range", what);
}

static void dims(struct ck *ck, struct idl_type *t, void *arg)
{
	long long n;
	bool known;

	(void)arg;
	if (t->kind != TY_ARRAY || !t->dim || !const_resolve(ck, t->dim, "array size"))
		return;
	const_fold(ck, t->dim, "array size", &n, &known, true);
	if (known && (n <= 0 || n > (1LL << 24)))
		report(ck, &t->dim->pos, "array size %lld out of range (1 to %lld)",
		       n, 1LL << 24);
}

/*
 * Constants and enumerators may use each other in any order, so values are
 * folded in passes until nothing changes (a chain written backwards takes
 * one pass per link, bounded by MAX_FOLD_PASSES); errors are reported once,
 * in the last pass.
 */
#define MAX_FOLD_PASSES 16

static bool fold_decls(struct ck *ck, bool final)
{
	struct idl_decl *d, *e;
	bool progress = false;

	for_each_decl(ck->m, d) {
		if (d->kind == D_CONST && d->value && d->type && !d->ival_known &&
		    d->value->depth >= 0) {
			const_fold(ck, d->value, "constant value", &d->ival,
				   &d->ival_known, final);
			progress |= d->ival_known;
		}
		if (d->kind != D_ENUM)
			continue;
		long long next = 0;
		bool next_known = true;
		for_each_member(d, e) {
			if (!e->ival_known) {
				if (e->value && e->value->depth >= 0) {
					const_fold(ck, e->value, "enumerator value",
						   &e->ival, &e->ival_known, final);
				} else if (!e->value) {
					e->ival = next;
					e->ival_known = next_known;
				}
				progress |= e->ival_known;
			}
			next_known = e->ival_known;
			next = (long long)((unsigned long long)e->ival + 1);
		}
	}
	return progress;
}

static void check_const_value(struct ck *ck)
{
	struct idl_decl *d, *e;

	/* resolve once; an expression that failed is marked depth -1 */
	for_each_decl(ck->m, d) {
		if (d->kind == D_CONST) {
			if (!type_is_integer(d->type) && !type_is_pointer(d->type)) {
				report(ck, &d->pos,
				       "constant '%s' must have an integer or pointer type", d->name);
				d->type = NULL;
			} else if (d->value && !const_resolve(ck, d->value, "constant value")) {
				d->value->depth = -1;
			}
		}
		if (d->kind == D_ENUM)
			for_each_member(d, e)
				if (e->value && !const_resolve(ck, e->value, "enumerator value"))
					e->value->depth = -1;
	}
	for (int pass = 0; pass < MAX_FOLD_PASSES && fold_decls(ck, false); pass++)
		;
	fold_decls(ck, true);
	walk_all_types(ck, dims, NULL);
}

/* ---- the annotation vocabulary ------------------------------------------ */

enum place {
	P_FIELD = 1 << 0,	/* struct field */
	P_KPARAM = 1 << 1,	/* parameter of a kernel function */
	P_OPARAM = 1 << 2,	/* parameter of an extension (ops) function */
	P_KFUNC = 1 << 3,	/* kernel function */
	P_OFUNC = 1 << 4,	/* extension (ops) function */
};
#define P_PARAM (P_KPARAM | P_OPARAM)

enum { A_NONE, A_EXPR, A_NAME, A_OPT_EXPR };

struct vocab {
	const char *name;
	unsigned places;
	int args;
	const char *group;	/* at most one of a group per owner */
};

static const struct vocab vocabulary[] = {
	{ "readonly", P_FIELD, A_NONE, "access" },
	{ "writable", P_FIELD, A_NONE, "access" },
	{ "private", P_FIELD, A_NONE, "access" },
	{ "hidden", P_FIELD, A_NONE, "access" },
	{ "in", P_PARAM, A_NONE, "direction" },
	{ "out", P_PARAM, A_NONE, "direction" },
	{ "inout", P_PARAM, A_NONE, "direction" },
	{ "count", P_FIELD | P_PARAM, A_EXPR, "size" },
	{ "bytes", P_FIELD | P_PARAM, A_EXPR, "size" },
	{ "string", P_FIELD | P_PARAM, A_OPT_EXPR, "size" },
	{ "nullable", P_FIELD | P_PARAM, A_NONE, NULL },
	{ "opaque", P_FIELD | P_PARAM, A_NONE, NULL },
	{ "alloc", P_KFUNC | P_KPARAM, A_NAME, "ownership" },
	{ "release", P_KPARAM, A_NONE, "ownership" },
	{ "transfer", P_PARAM, A_NONE, "ownership" },
	{ "borrow", P_PARAM, A_NONE, "ownership" },
	{ "registers", P_KFUNC, A_EXPR, NULL },
	{ "undo", P_KFUNC, A_NAME, NULL },
	{ "fault", P_OFUNC, A_OPT_EXPR, NULL },
	{ "timeout", P_OFUNC, A_EXPR, NULL },
	{ "lock", P_KFUNC, A_NAME, "locking" },
	{ "unlock", P_KFUNC, A_NAME, "locking" },
	{ "replay", P_OFUNC, A_NONE, NULL },
	{ "deferred", P_KFUNC, A_NONE, NULL },
};

static const struct vocab *vocab_get(const char *name)
{
	for (size_t i = 0; i < sizeof(vocabulary) / sizeof(vocabulary[0]); i++)
		if (strcmp(vocabulary[i].name, name) == 0)
			return &vocabulary[i];
	return NULL;
}

static const char *place_name(unsigned p)
{
	switch (p) {
	case P_FIELD: return "a struct field";
	case P_KPARAM: return "a kernel function's parameter";
	case P_OPARAM: return "an extension function's parameter";
	case P_KFUNC: return "a kernel function";
	case P_OFUNC: return "an extension (ops) function";
	}
	return "here";
}

static const char *places_text(struct ck *ck, unsigned places)
{
	static const char *const plural[] = {
		"struct fields", "kernel function parameters",
		"extension function parameters", "kernel functions",
		"extension (ops) functions",
	};
	struct strbuf b = { 0 };
	const char *sep = "";

	if ((places & P_PARAM) == P_PARAM) {
		sb_puts(&b, "function parameters");
		sep = ", ";
		places &= ~(unsigned)P_PARAM;
	}
	for (int i = 0; i < 5; i++) {
		if (!(places & (1u << i)))
			continue;
		sb_printf(&b, "%s%s", sep, plural[i]);
		sep = ", ";
	}
	return sb_finish(ARENA(ck->nc), &b);
}

/* Every annotated thing, with where it is and the scope its expressions
 * resolve in. */
typedef void (*annot_fn)(struct ck *ck, struct idl_attrs *at, unsigned place,
			 struct idl_var *var, struct idl_decl *func,
			 const struct scope *sc);

static void walk_annotated(struct ck *ck, annot_fn fn)
{
	struct idl_decl *d, *f;
	struct idl_var *v;

	for_each_decl(ck->m, d) {
		if (d->kind == D_STRUCT) {
			struct scope sc = { d->fields, "field", d->name };
			for_each_var(d->fields, v)
				fn(ck, &v->attrs, P_FIELD, v, NULL, &sc);
		}
		bool ops = d->kind == D_OPS;
		f = ops ? d->members : d->kind == D_FUNC ? d : NULL;
		for (; f; f = ops ? f->next_member : NULL) {
			struct scope sc = { func_params(f), "parameter", f->name };
			fn(ck, &f->attrs, ops ? P_OFUNC : P_KFUNC, NULL, f, &sc);
			for_each_var(func_params(f), v)
				fn(ck, &v->attrs, ops ? P_OPARAM : P_KPARAM, v, f, &sc);
		}
	}
}

/* Annotations inside function-pointer types have no meaning yet. */
static void stray_annots(struct ck *ck, struct idl_type *t, void *arg)
{
	(void)arg;
	for (struct idl_var *v = t->kind == TY_FUNC ? t->params : NULL; v; v = v->next)
		if (v->attrs.list && !v->owner)
			report(ck, &v->attrs.list->pos,
			       "annotations on the parameters of a function-pointer type are not supported");
}

/* Edit distance, for "did you mean"; names are short (capped at 32). */
static int distance(const char *a, const char *b)
{
	int la = (int)strlen(a), lb = (int)strlen(b);
	int row[33];

	if (la > 32 || lb > 32)
		return 99;
	for (int j = 0; j <= lb; j++)
		row[j] = j;
	for (int i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = i;
		for (int j = 1; j <= lb; j++) {
			int up = row[j];
			int best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void ann_unknown(struct ck *ck, struct idl_attrs *at, unsigned place,
			struct idl_var *var, struct idl_decl *func,
			const struct scope *sc)
{
	(void)place, (void)var, (void)func, (void)sc;
	for (struct idl_annot *a = at->list; a; a = a->next) {
		if (vocab_get(a->name))
			continue;
		const char *best = NULL;
		int best_d = 3;		/* suggest only close names */
		for (size_t i = 0; i < sizeof(vocabulary) / sizeof(vocabulary[0]); i++) {
			int d = distance(a->name, vocabulary[i].name);
			if (d < best_d) {
				best_d = d;
				best = vocabulary[i].name;
			}
		}
		if (best)
			report(ck, &a->pos, "unknown annotation '%s'; did you mean '%s'?",
			       a->name, best);
		else
			report(ck, &a->pos, "unknown annotation '%s'", a->name);
	}
}

static void check_annotation_unknown(struct ck *ck)
{
	walk_annotated(ck, ann_unknown);
}

static void ann_place(struct ck *ck, struct idl_attrs *at, unsigned place,
		      struct idl_var *var, struct idl_decl *func,
		      const struct scope *sc)
{
	(void)var, (void)func, (void)sc;
	for (struct idl_annot *a = at->list; a; a = a->next) {
		const struct vocab *w = vocab_get(a->name);
		if (w && !(w->places & place))
			report(ck, &a->pos, "'%s' does not apply to %s; it applies to %s",
			       a->name, place_name(place), places_text(ck, w->places));
	}
}

static void check_annotation_place(struct ck *ck)
{
	walk_annotated(ck, ann_place);
	struct idl_decl *d;
	for_each_decl(ck->m, d) {
		walk_type(ck, d->type, stray_annots, NULL);
		for (struct idl_var *v = d->fields; v; v = v->next)
			walk_type(ck, v->type, stray_annots, NULL);
		if (d->kind == D_OPS)
			for (struct idl_decl *f = d->members; f; f = f->next_member)
				walk_type(ck, f->type, stray_annots, NULL);
	}
}

static void ann_args(struct ck *ck, struct idl_attrs *at, unsigned place,
		     struct idl_var *var, struct idl_decl *func,
		     const struct scope *sc)
{
	(void)place, (void)var, (void)func, (void)sc;
	for (struct idl_annot *a = at->list; a; a = a->next) {
		const struct vocab *w = vocab_get(a->name);
		if (!w)
			continue;
		switch (w->args) {
		case A_NONE:
			if (a->has_parens)
				report(ck, &a->pos, "'%s' takes no arguments", a->name);
			break;
		case A_OPT_EXPR:
			if (a->nargs > 1)
				report(ck, &a->pos, "'%s' takes at most one argument", a->name);
			else if (a->has_parens && a->nargs == 0)
				report(ck, &a->pos, "'%s()' needs an argument or no parentheses",
				       a->name);
			break;
		case A_EXPR:
		case A_NAME:
			if (a->nargs != 1)
				report(ck, &a->pos, "'%s' takes exactly one argument", a->name);
			else if (w->args == A_NAME && a->args[0]->kind != EX_NAME)
				report(ck, &a->args[0]->pos, "'%s' takes a name", a->name);
			else if (strcmp(a->name, "registers") == 0 &&
				 a->args[0]->kind != EX_ARROW)
				report(ck, &a->args[0]->pos,
				       "'registers' takes the path to an ops-table pointer, like 'dev->ops'");
			break;
		}
	}
}

static void check_annotation_args(struct ck *ck)
{
	walk_annotated(ck, ann_args);
}

static void ann_conflict(struct ck *ck, struct idl_attrs *at, unsigned place,
			 struct idl_var *var, struct idl_decl *func,
			 const struct scope *sc)
{
	static const char *const excl[][2] = {
		{ "opaque", "in" }, { "opaque", "out" }, { "opaque", "inout" },
		{ "opaque", "count" }, { "opaque", "bytes" }, { "opaque", "string" },
		{ "opaque", "writable" },
	};

	(void)place, (void)var, (void)func, (void)sc;
	for (struct idl_annot *a = at->list; a; a = a->next) {
		const struct vocab *w = vocab_get(a->name);
		if (!w)
			continue;
		for (struct idl_annot *b = at->list; b != a; b = b->next) {
			const struct vocab *u = vocab_get(b->name);
			if (!u)
				continue;
			if (u == w) {
				report(ck, &a->pos, "'%s' given twice", a->name);
				break;
			}
			bool clash = w->group && u->group && strcmp(w->group, u->group) == 0;
			for (size_t i = 0; !clash && i < sizeof(excl) / sizeof(excl[0]); i++)
				clash = (strcmp(excl[i][0], u->name) == 0 &&
					 strcmp(excl[i][1], w->name) == 0) ||
					(strcmp(excl[i][1], u->name) == 0 &&
					 strcmp(excl[i][0], w->name) == 0);
			if (!clash)
				continue;
			if ((!strcmp(u->name, "in") && !strcmp(w->name, "out")) ||
			    (!strcmp(u->name, "out") && !strcmp(w->name, "in")))
				report(ck, &a->pos, "'in' and 'out' together: write 'inout'");
			else
				report(ck, &a->pos, "'%s' conflicts with '%s'", a->name, b->name);
			break;
		}
	}
}

static void check_annotation_conflict(struct ck *ck)
{
	walk_annotated(ck, ann_conflict);
}

/* Fills attrs from annotations that passed the four checks above (they
 * run first and a failure stops the checks, so every one here is valid). */
static void ann_interpret(struct ck *ck, struct idl_attrs *at, unsigned place,
			  struct idl_var *var, struct idl_decl *func,
			  const struct scope *sc)
{
	(void)ck, (void)place, (void)var, (void)func, (void)sc;
	for (struct idl_annot *a = at->list; a; a = a->next) {
		const char *n = a->name;
		struct idl_expr *arg = a->nargs ? a->args[0] : NULL;

		if (!strcmp(n, "readonly")) at->access = ACC_READONLY;
		else if (!strcmp(n, "writable")) at->access = ACC_WRITABLE;
		else if (!strcmp(n, "private")) at->access = ACC_PRIVATE;
		else if (!strcmp(n, "hidden")) at->access = ACC_HIDDEN;
		else if (!strcmp(n, "in")) at->dir = DIR_IN;
		else if (!strcmp(n, "out")) at->dir = DIR_OUT;
		else if (!strcmp(n, "inout")) at->dir = DIR_INOUT;
		else if (!strcmp(n, "count")) at->count = arg;
		else if (!strcmp(n, "bytes")) at->bytes = arg;
		else if (!strcmp(n, "string")) { at->string = true; at->count = arg; }
		else if (!strcmp(n, "nullable")) at->nullable = true;
		else if (!strcmp(n, "opaque")) at->opaque = true;
		else if (!strcmp(n, "release")) at->release = true;
		else if (!strcmp(n, "transfer")) at->transfer = true;
		else if (!strcmp(n, "borrow")) at->borrow = true;
		else if (!strcmp(n, "replay")) at->replay = true;
		else if (!strcmp(n, "deferred")) at->deferred = true;
		else if (!strcmp(n, "registers")) at->registers = arg;
		else if (!strcmp(n, "fault")) { at->has_fault = true; at->fault = arg; }
		/* alloc, undo, lock, unlock, timeout: resolved by their checks */
	}
}

/* ---- annotation-target -------------------------------------------------- */

static bool is_char(const struct idl_type *t)
{
	t = type_strip(t);
	return t && t->kind == TY_BASE && (t->kw & KW_CHAR);
}

static const struct idl_annot *find_annot(const struct idl_attrs *at,
					  const char *name)
{
	for (const struct idl_annot *a = at->list; a; a = a->next)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

static void ann_target(struct ck *ck, struct idl_attrs *at, unsigned place,
		       struct idl_var *var, struct idl_decl *func,
		       const struct scope *sc)
{
	(void)place, (void)func, (void)sc;
	if (!var)
		return;
	const struct idl_type *t = type_strip(var->type);
	if (!t)
		return;
	bool ptr = t->kind == TY_POINTER;
	const struct idl_type *pointee = ptr ? type_strip(t->base) : NULL;
	static const char *const need_ptr[] = {
		"in", "out", "inout", "count", "bytes", "nullable", "opaque",
		"release", "transfer", "borrow", "alloc",
	};

	for (size_t i = 0; i < sizeof(need_ptr) / sizeof(need_ptr[0]); i++) {
		const struct idl_annot *a = find_annot(at, need_ptr[i]);
		if (a && !ptr) {
			report(ck, &a->pos, "'%s' needs a pointer, but '%s' is '%s'",
			       a->name, var->name ? var->name : "?", tstr(ck, var->type));
			return;
		}
	}
	const struct idl_annot *a;
	if ((a = find_annot(at, "string")) && !(ptr && is_char(pointee)) &&
	    !(t->kind == TY_ARRAY && is_char(t->base)))
		report(ck, &a->pos, "'string' needs a char pointer or array, but '%s' is '%s'",
		       var->name ? var->name : "?", tstr(ck, var->type));
	if ((a = find_annot(at, "count")) && pointee && pointee->kind == TY_BASE &&
	    pointee->kw == KW_VOID)
		report(ck, &a->pos, "'count' of void elements; use 'bytes'");
	if ((a = find_annot(at, "out")) || (a = find_annot(at, "inout")))
		if (pointee && (t->base->quals & Q_CONST))
			report(ck, &a->pos, "'%s' through a pointer to const", a->name);
	static const char *const need_struct[] = { "release", "transfer" };
	for (size_t i = 0; i < 2; i++)
		if ((a = find_annot(at, need_struct[i])) && !type_pointee_struct(var->type))
			report(ck, &a->pos, "'%s' needs a pointer to a struct, but '%s' is '%s'",
			       a->name, var->name ? var->name : "?", tstr(ck, var->type));
	if ((a = find_annot(at, "alloc")) && !type_pointee_struct(t->base))
		report(ck, &a->pos,
		       "'alloc' on a parameter needs a pointer to a struct pointer, but '%s' is '%s'",
		       var->name ? var->name : "?", tstr(ck, var->type));
	if ((a = find_annot(at, "alloc")) && !find_annot(at, "out"))
		report(ck, &a->pos, "'alloc' on a parameter needs 'out' too");
}

static void func_target(struct ck *ck, struct idl_decl *f)
{
	const struct idl_annot *a = find_annot(&f->attrs, "alloc");
	if (a && !type_pointee_struct(func_ret(f)))
		report(ck, &a->pos,
		       "'alloc' needs a function returning a struct pointer, but '%s' returns '%s'",
		       f->name, tstr(ck, func_ret(f)));
}

static void check_annotation_target(struct ck *ck)
{
	walk_annotated(ck, ann_target);
	for_each_func(ck, func_target);
}

/* ---- unknown-name, size-type -------------------------------------------- */

static void ann_names(struct ck *ck, struct idl_attrs *at, unsigned place,
		      struct idl_var *var, struct idl_decl *func,
		      const struct scope *sc)
{
	(void)place, (void)var, (void)func;
	for (struct idl_annot *a = at->list; a; a = a->next) {
		const struct vocab *w = vocab_get(a->name);
		if (w->args == A_NAME)
			continue;	/* function names: own checks */
		for (int i = 0; i < a->nargs; i++)
			resolve_expr(ck, a->args[i], !strcmp(a->name, "fault") ||
				     !strcmp(a->name, "timeout") ? NULL : sc);
	}
}

static void check_unknown_name(struct ck *ck)
{
	walk_annotated(ck, ann_names);
}

static bool expr_resolved(const struct idl_expr *e)
{
	if (!e)
		return true;
	if ((e->kind == EX_NAME || e->kind == EX_ARROW) && !e->ref_var &&
	    !e->ref_decl && strcmp(e->name, "NULL") != 0)
		return false;
	return expr_resolved(e->lhs) && expr_resolved(e->rhs);
}

static void size_type_one(struct ck *ck, struct idl_expr *e, struct idl_var *var,
			  const char *what)
{
	if (!e || !expr_resolved(e))
		return;
	const struct idl_var *ref = e->ref_var;
	if (ref == var) {
		report(ck, &e->pos, "'%s' sizes itself", var->name);
		return;
	}
	if (ref && !type_is_integer(ref->type)) {
		report(ck, &e->pos, "%s size '%s' is not an integer (it is '%s')", what,
		       ref->name, tstr(ck, ref->type));
		return;
	}
	if (e->ref_decl && e->ref_decl->kind == D_CONST &&
	    !type_is_integer(e->ref_decl->type))
		report(ck, &e->pos, "%s size '%s' is not an integer constant", what,
		       e->ref_decl->name);
	long long v;
	if (expr_eval(e, &v) && v <= 0)
		report(ck, &e->pos, "%s size must be positive, not %lld", what, v);
}

static void ann_size(struct ck *ck, struct idl_attrs *at, unsigned place,
		     struct idl_var *var, struct idl_decl *func,
		     const struct scope *sc)
{
	(void)place, (void)func, (void)sc;
	if (!var)
		return;
	size_type_one(ck, at->count, var, at->string ? "string" : "count");
	size_type_one(ck, at->bytes, var, "bytes");
}

static void check_size_type(struct ck *ck)
{
	walk_annotated(ck, ann_interpret);
	walk_annotated(ck, ann_size);
}

/* ---- alloc-release-missing, alloc-release-type -------------------------- */

static void alloc_resolve(struct ck *ck, struct idl_attrs *at, unsigned place,
			  struct idl_var *var, struct idl_decl *func,
			  const struct scope *sc)
{
	(void)place, (void)var, (void)func, (void)sc;
	const struct idl_annot *a = find_annot(at, "alloc");
	if (!a)
		return;
	const char *name = a->args[0]->name;
	struct idl_decl *d = sym_get(&ck->names, name);
	if (!d)
		report(ck, &a->args[0]->pos,
		       "release function '%s' is not declared in a kernel section", name);
	else if (!is_kernel_func(d))
		report(ck, &a->args[0]->pos,
		       "release function '%s' is %s, not a kernel function",
		       name, kind_name(d));
	else
		at->alloc_fn = d;
}

static void check_alloc_release_missing(struct ck *ck)
{
	walk_annotated(ck, alloc_resolve);
}

static void alloc_type(struct ck *ck, struct idl_attrs *at, unsigned place,
		       struct idl_var *var, struct idl_decl *func,
		       const struct scope *sc)
{
	(void)place, (void)sc;
	if (!at->alloc_fn)
		return;
	const struct idl_annot *a = find_annot(at, "alloc");
	struct idl_decl *s = (struct idl_decl *)(var ?
		type_pointee_struct(type_strip(var->type)->base) :
		type_pointee_struct(func_ret(func)));
	if (!s)
		return;
	struct idl_var *p;
	for_each_var(func_params(at->alloc_fn), p)
		if (type_pointee_struct(p->type) == s)
			break;
	if (!p) {
		report(ck, &a->args[0]->pos,
		       "release function '%s' takes no 'struct %s *' to release",
		       at->alloc_fn->name, s->name);
		note(ck, &at->alloc_fn->pos, "'%s' declared here", at->alloc_fn->name);
		at->alloc_fn = NULL;
		return;
	}
	s->tracked = true;
	if (!s->release_fn)
		s->release_fn = at->alloc_fn;
}

static void check_alloc_release_type(struct ck *ck)
{
	walk_annotated(ck, alloc_type);
}

/* ---- opaque-writable ---------------------------------------------------- */

static void check_opaque_writable(struct ck *ck)
{
	struct idl_decl *d;
	struct idl_var *v;

	for_each_decl(ck->m, d) {
		if (d->kind != D_STRUCT || !d->opaque)
			continue;
		for_each_var(d->fields, v) {
			const struct idl_annot *a = find_annot(&v->attrs, "writable");
			if (a)
				report(ck, &a->pos,
				       "field '%s' is writable, but 'struct %s' is opaque: the extension never holds a copy to write",
				       v->name, d->name);
		}
	}
}

/* ---- fault-type, fault-missing ------------------------------------------ */

static void fault_type(struct ck *ck, struct idl_decl *f)
{
	const struct idl_annot *a = find_annot(&f->attrs, "fault");
	const struct idl_type *ret;

	if (!f->is_ops_entry || !a)
		return;
	ret = type_strip(func_ret(f));
	if (type_is_void(ret)) {
		if (a->nargs)
			report(ck, &a->args[0]->pos,
			       "'%s' returns void; write 'fault' without a value", f->name);
		return;
	}
	if (!a->nargs) {
		report(ck, &a->pos, "'%s' returns '%s': 'fault' needs the value the kernel gets",
		       f->name, tstr(ck, func_ret(f)));
		return;
	}
	struct idl_expr *e = a->args[0];
	if (!expr_resolved(e))
		return;
	bool is_null = e->kind == EX_NAME && !strcmp(e->name, "NULL");
	if (ret->kind == TY_POINTER) {
		if (!is_null && !(e->kind == EX_INT && e->ival == 0) &&
		    !(e->ref_decl && e->ref_decl->kind == D_CONST &&
		      type_is_pointer(e->ref_decl->type)))
			report(ck, &e->pos,
			       "'%s' returns a pointer: the fault value must be NULL, not '%s'",
			       f->name, expr_to_c(ck->nc, e));
		return;
	}
	if (!type_is_integer(ret)) {
		report(ck, &a->pos, "'%s' returns '%s', which cannot carry a fault value",
		       f->name, tstr(ck, func_ret(f)));
		return;
	}
	if (is_null || (e->ref_decl && e->ref_decl->kind == D_CONST &&
			!type_is_integer(e->ref_decl->type))) {
		report(ck, &e->pos, "'%s' returns '%s': the fault value must be an integer",
		       f->name, tstr(ck, func_ret(f)));
		return;
	}
	/* An enum return takes an enumerator of that enum (or a plain number). */
	if (ret->kind == TY_ENUM && e->kind == EX_NAME && e->ref_decl &&
	    e->ref_decl->kind == D_ENUMERATOR && ret->decl &&
	    e->ref_decl->parent != ret->decl)
		report(ck, &e->pos, "'%s' is an enumerator of 'enum %s', but '%s' returns 'enum %s'",
		       e->name, e->ref_decl->parent->name, f->name, ret->decl->name);
}

static void check_fault_type(struct ck *ck)
{
	for_each_func(ck, fault_type);
}

static void fault_missing(struct ck *ck, struct idl_decl *f)
{
	if (f->is_ops_entry && !f->attrs.has_fault && !type_is_void(func_ret(f)))
		report(ck, &f->pos,
		       "extension function '%s' has no fault() value; if the extension fails the kernel gets 0",
		       f->name);
}

static void check_fault_missing(struct ck *ck)
{
	for_each_func(ck, fault_missing);
}

/* ---- registers-not-ops, undo-missing, lock-param, timeout-range --------- */

static void registers_ops(struct ck *ck, struct idl_decl *f)
{
	struct idl_expr *e = f->attrs.registers;
	if (!e || !e->ref_var)
		return;
	const struct idl_type *t = type_strip(e->ref_var->type);
	const struct idl_type *b = t && t->kind == TY_POINTER ? type_strip(t->base) : NULL;
	if (!b || b->kind != TY_STRUCT || !b->decl || b->decl->kind != D_OPS) {
		report(ck, &e->pos, "'%s' is '%s', not a pointer to an ops table",
		       expr_to_c(ck->nc, e), tstr(ck, e->ref_var->type));
		return;
	}
	if (e->ref_var->attrs.access != ACC_WRITABLE)
		report(ck, &e->pos,
		       "the extension sets '%s' before registering: mark field '%s' [[writable]]",
		       expr_to_c(ck->nc, e), e->ref_var->name);
	if (!b->decl->registered_by)
		b->decl->registered_by = f;
}

static void check_registers_not_ops(struct ck *ck)
{
	for_each_func(ck, registers_ops);
}

static void undo_fn(struct ck *ck, struct idl_decl *f)
{
	const struct idl_annot *a = find_annot(&f->attrs, "undo");
	if (!a)
		return;
	struct idl_decl *d = sym_get(&ck->names, a->args[0]->name);
	if (!is_kernel_func(d)) {
		report(ck, &a->args[0]->pos, "undo function '%s' is not a kernel function",
		       a->args[0]->name);
		return;
	}
	f->attrs.undo_fn = d;
	if (!d->undo_of)
		d->undo_of = f;
}

static void check_undo_missing(struct ck *ck)
{
	for_each_func(ck, undo_fn);
}

static void lock_param(struct ck *ck, struct idl_decl *f)
{
	static const char *const kinds[] = { "lock", "unlock" };

	for (int i = 0; i < 2; i++) {
		const struct idl_annot *a = find_annot(&f->attrs, kinds[i]);
		if (!a)
			continue;
		struct idl_var *v = find_var(func_params(f), a->args[0]->name);
		if (!v) {
			report(ck, &a->args[0]->pos, "'%s' is not a parameter of '%s'",
			       a->args[0]->name, f->name);
			continue;
		}
		if (!type_is_pointer(v->type)) {
			report(ck, &a->args[0]->pos, "lock parameter '%s' is not a pointer",
			       v->name);
			continue;
		}
		if (i == 0) {
			f->attrs.lock = v;
		} else {
			f->attrs.unlock = v;
			struct idl_decl *s = (struct idl_decl *)type_pointee_struct(v->type);
			if (s && !s->unlock_fn)
				s->unlock_fn = f;
		}
	}
}

/* undo(fn) keeps its record on the registered object: without registers()
 * there is none to keep it on. */
static void undo_registers(struct ck *ck, struct idl_decl *f)
{
	const struct idl_annot *a = find_annot(&f->attrs, "undo");
	if (a && f->attrs.undo_fn && !f->attrs.registers)
		report(ck, &a->pos,
		       "undo(%s) on '%s', which registers nothing: add registers(param->field), or drop undo",
		       f->attrs.undo_fn->name, f->name);
}

static void check_undo_registers(struct ck *ck)
{
	for_each_func(ck, undo_registers);
}

/* A held lock is recorded with the function that releases it, the one
 * marked unlock() on the lock's struct: recovery calls it. */
static void lock_unlock(struct ck *ck, struct idl_decl *f)
{
	const struct idl_var *v = f->attrs.lock;
	if (!v)
		return;
	const struct idl_decl *s = type_pointee_struct(v->type);
	const struct idl_annot *a = find_annot(&f->attrs, "lock");
	if (!s)
		report(ck, &a->args[0]->pos,
		       "lock parameter '%s' is not a pointer to a struct: a held lock is recorded by its struct's unlock() function",
		       v->name);
	else if (!s->unlock_fn)
		report(ck, &a->args[0]->pos,
		       "no kernel function releases a 'struct %s' with unlock(): recovery could not release a lock '%s' takes",
		       s->name, f->name);
}

static void check_lock_unlock(struct ck *ck)
{
	for_each_func(ck, lock_unlock);
}

static void check_lock_param(struct ck *ck)
{
	for_each_func(ck, lock_param);
}

static void timeout_range(struct ck *ck, struct idl_decl *f)
{
	const struct idl_annot *a = find_annot(&f->attrs, "timeout");
	long long ms;

	if (!a || !expr_resolved(a->args[0]))
		return;
	if (!expr_eval(a->args[0], &ms) || ms <= 0 || ms > 3600000) {
		report(ck, &a->args[0]->pos,
		       "timeout must be a constant number of milliseconds from 1 to 3600000");
		return;
	}
	f->attrs.timeout_ms = ms;
}

static void check_timeout_range(struct ck *ck)
{
	for_each_func(ck, timeout_range);
}

/* ---- warnings ----------------------------------------------------------- */

/* A pointer to an ops table: registration binds it, nothing to warn. */
static bool is_ops_pointer(const struct idl_type *t)
{
	t = type_strip(t);
	t = t && t->kind == TY_POINTER ? type_strip(t->base) : NULL;
	return t && t->kind == TY_STRUCT && t->decl && t->decl->kind == D_OPS;
}

static void check_writable_pointer(struct ck *ck)
{
	struct idl_decl *d;
	struct idl_var *v;

	for_each_decl(ck->m, d)
		if (d->kind == D_STRUCT)
			for_each_var(d->fields, v)
				if (v->attrs.access == ACC_WRITABLE && type_is_pointer(v->type) &&
				    !is_ops_pointer(v->type))
					report(ck, &v->pos,
					       "writable pointer field '%s': the kernel gets whatever address the extension writes there, unchecked (mark it [[private]] if only the extension reads it)",
					       v->name);
}

static void unsized(struct ck *ck, struct idl_decl *f)
{
	struct idl_var *v;

	for_each_var(func_params(f), v) {
		const struct idl_attrs *at = &v->attrs;
		const struct idl_type *t = type_strip(v->type);
		if (!t || t->kind != TY_POINTER || at->dir == DIR_NONE || at->count ||
		    at->bytes || at->string || type_pointee_struct(v->type))
			continue;
		const struct idl_type *b = type_strip(t->base);
		if (b && b->kind == TY_BASE && (b->kw & (KW_VOID | KW_CHAR)))
			report(ck, &v->pos,
			       "buffer '%s' of '%s' has no count(), bytes() or string: the wrapper cannot check its size",
			       v->name ? v->name : "?", f->name);
	}
}

static void check_buffer_unsized(struct ck *ck)
{
	for_each_func(ck, unsized);
}

static void variadic(struct ck *ck, struct idl_decl *f)
{
	if (f->type && f->type->variadic)
		report(ck, &f->pos,
		       "'%s' is variadic: the arguments after '...' cross unchecked",
		       f->name);
}

/* Entries of a table nothing registers: nothing wraps them (a wrapped
 * function that is variadic is the wrap-variadic error). */
static void check_variadic(struct ck *ck)
{
	struct idl_decl *d, *e;

	for_each_decl(ck->m, d)
		if (d->kind == D_OPS && !d->registered_by)
			for_each_member(d, e)
				variadic(ck, e);
}

/* ---- what the code generator refuses ------------------------------------
 * These rows state what the templates cannot generate, so that --check
 * reports everything generation would refuse.  Like the generator they
 * look at the main file's declarations: an imported interface's are
 * generated (and checked so) with that interface. */

static bool generated(const struct ck *ck, const struct idl_decl *d)
{
	return d->file == ck->m->main;
}

static void check_wrap_variadic(struct ck *ck)
{
	struct idl_decl *d, *e;

	for_each_decl(ck->m, d) {
		if (!generated(ck, d))
			continue;
		if (d->kind == D_FUNC && d->type && d->type->variadic)
			report(ck, &d->pos,
			       "cannot wrap variadic function '%s': the arguments after '...' cannot be forwarded",
			       d->name);
		if (d->kind != D_OPS || !d->registered_by)
			continue;
		for_each_member(d, e)
			if (e->type && e->type->variadic)
				report(ck, &e->pos,
				       "cannot wrap variadic entry '%s': the arguments after '...' cannot be forwarded",
				       e->name);
	}
}

static void check_release_arity(struct ck *ck)
{
	struct idl_decl *d;

	for_each_decl(ck->m, d) {
		const struct idl_decl *rel = d->kind == D_STRUCT && generated(ck, d) ?
			d->release_fn : NULL;
		if (rel && (!rel->type->params || rel->type->params->next))
			report(ck, &rel->pos,
			       "release function '%s' must take exactly one parameter, the object, so recovery can call it",
			       rel->name);
	}
}

/* d is an ops table generation wraps, registered through a field (r). */
static bool registered_ops(struct ck *ck, const struct idl_decl *d, struct model_reg *r)
{
	return d->kind == D_OPS && generated(ck, d) && d->registered_by &&
	       model_reg_of(d->registered_by, r);
}

static void check_ops_locator(struct ck *ck)
{
	struct idl_decl *d, *e;
	struct model_reg r;

	for_each_decl(ck->m, d) {
		if (!registered_ops(ck, d, &r))
			continue;
		for_each_member(d, e)
			if (!e->type->variadic && !model_locator(e, &r))
				report(ck, &e->pos,
				       "'%s' takes no 'struct %s *', so its wrapper cannot find the table registered through '%s->%s'",
				       e->name, r.owner->name, r.param, r.field);
	}
}

static void check_replay_object(struct ck *ck)
{
	struct idl_decl *d, *e;
	struct model_reg r;

	for_each_decl(ck->m, d) {
		if (!registered_ops(ck, d, &r))
			continue;
		for_each_member(d, e) {
			const struct idl_var *loc = model_locator(e, &r);
			const struct idl_var *v = loc && e->attrs.replay ?
				model_unreplayable(e, loc) : NULL;
			if (v)
				report(ck, &e->pos,
				       "cannot replay '%s': its parameter '%s' is an object the restarted extension would not have",
				       e->name, v->name);
		}
	}
}

/* A deferred kernel function's call is queued and made later, in a batch
 * (docs/idl.md, "Deferred calls"): nothing may come back from it, nothing
 * it does may be needed at once, and it may not read the extension's
 * memory, which the extension may have changed by then.  Its objects are
 * checked when the call is made. */
static void check_deferred_call(struct ck *ck)
{
	struct idl_decl *d;

	for_each_decl(ck->m, d) {
		if (d->kind != D_FUNC || !d->attrs.deferred || !generated(ck, d))
			continue;
		const struct idl_attrs *a = &d->attrs;
		const char *now = a->alloc_fn ? "alloc" : a->registers ? "registers" :
				  a->undo_fn ? "undo" : a->lock ? "lock" : a->unlock ? "unlock" : NULL;
		struct idl_var *v;
		if (!type_is_void(d->type->base)) {
			report(ck, &d->pos,
			       "deferred function '%s' returns '%s': a deferred call returns nothing to its caller",
			       d->name, type_to_c(ck->nc, d->type->base, NULL));
			continue;
		}
		if (now) {
			report(ck, &d->pos,
			       "deferred function '%s' has '%s', which must take effect when it is called",
			       d->name, now);
			continue;
		}
		for_each_var(d->type->params, v) {
			const char *k = model_param_kind(v);
			if (strcmp(k, "scalar") && strcmp(k, "obj") && !v->attrs.opaque) {
				report(ck, &v->pos,
				       "deferred function '%s' takes '%s', which points into the extension's memory: it may change before the call is made",
				       d->name, v->name);
				break;
			}
		}
	}
}

/* ---- the table ---------------------------------------------------------- */

struct check {
	struct nooksc_check_info info;
	void (*fn)(struct ck *ck);
	/* the checks this one needs: it runs only when every one of them ran
	 * and reported no error (a row comes after those it needs) */
	const char *const *needs;
};

#define E NOOKSC_ERROR
#define W NOOKSC_WARNING
#define NEEDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The declarations are sound: every name declared once and resolved,
 * types valid, parameters named.  Annotations are read only then. */
#define SOUND "interface-missing", "header-missing", "reserved-name", "duplicate-decl", \
	"duplicate-member", "unknown-type", "type-invalid", "param-unnamed"
/* The annotations are read: known, in place, with their arguments, not
 * conflicting; constants folded.  What they mean is checked only then. */
#define READ "const-value", "annotation-unknown", "annotation-place", "annotation-args", \
	"annotation-conflict"

static const struct check check_table[] = {
	{ { "interface-missing", E, "every file names its interface" }, check_interface, NULL },
	{ { "header-missing", E, "every file names the C header it annotates" }, check_header, NULL },
	{ { "reserved-name", E, NULL /* nooksc_reserved_summary() */ }, check_reserved_name, NULL },
	{ { "duplicate-decl", E, "a name is declared once (types, functions, constants)" }, check_duplicate_decl, NULL },
	{ { "duplicate-member", E, "field, parameter and ops entry names are unique in their scope" }, check_duplicate_member, NULL },
	{ { "unknown-type", E, "every struct, union, enum and typedef name used is declared" }, check_unknown_type, NULL },
	{ { "type-invalid", E, "type specifiers combine as in C; values have complete types" }, check_type_invalid, NULL },
	{ { "param-unnamed", E, "kernel and extension function parameters have names" }, check_param_unnamed, NULL },
	{ { "const-value", E, "constants, enumerators and array sizes are integer constants" }, check_const_value, NEEDS(SOUND) },
	{ { "annotation-unknown", E, "annotation names are from the vocabulary" }, check_annotation_unknown, NEEDS(SOUND) },
	{ { "annotation-place", E, "annotations appear only where they mean something" }, check_annotation_place, NEEDS(SOUND) },
	{ { "annotation-args", E, "annotations take the arguments they expect" }, check_annotation_args, NEEDS(SOUND) },
	{ { "annotation-conflict", E, "no annotation twice, none with one it excludes" }, check_annotation_conflict, NEEDS(SOUND) },
	{ { "annotation-target", E, "annotations suit the type they annotate" }, check_annotation_target, NEEDS(READ) },
	{ { "unknown-name", E, "names in annotations are parameters, fields or constants" }, check_unknown_name, NEEDS(READ) },
	{ { "unknown-field", E, "'p->f' names a field of p's struct" }, NULL, NULL },	/* reported by unknown-name */
	{ { "size-type", E, "count(), bytes() and string() sizes are integers" }, check_size_type, NEEDS(READ) },
	{ { "alloc-release-missing", E, "alloc(fn) names a declared kernel function" }, check_alloc_release_missing, NEEDS(READ) },
	{ { "alloc-release-type", E, "alloc(fn)'s release function takes the allocated type" }, check_alloc_release_type, NEEDS(READ) },
	{ { "opaque-writable", E, "opaque types have no writable fields" }, check_opaque_writable, NEEDS(READ) },
	{ { "fault-type", E, "fault(value) suits the function's return type" }, check_fault_type, NEEDS(READ) },
	{ { "registers-not-ops", E, "registers() names a pointer to an ops table" }, check_registers_not_ops, NEEDS(READ) },
	{ { "undo-missing", E, "undo(fn) names a kernel function" }, check_undo_missing, NEEDS(READ) },
	{ { "lock-param", E, "lock(p)/unlock(p) name a pointer parameter" }, check_lock_param, NEEDS(READ) },
	{ { "undo-registers", E, "undo(fn) is on a function that registers()" },
	  check_undo_registers, NEEDS("undo-missing") },
	{ { "lock-unlock", E, "a struct taken with lock(p) has a kernel function releasing it with unlock(p)" },
	  check_lock_unlock, NEEDS("lock-param") },
	{ { "timeout-range", E, "timeout(ms) is a constant from 1 to 3600000" }, check_timeout_range, NEEDS(READ) },
	{ { "wrap-variadic", E, "kernel functions and entries of registered ops tables are not variadic (generation cannot forward '...')" },
	  check_wrap_variadic, NEEDS("registers-not-ops") },
	{ { "release-arity", E, "an alloc() release function takes only the object (recovery calls it)" },
	  check_release_arity, NEEDS("alloc-release-missing", "alloc-release-type") },
	{ { "ops-locator", E, "every entry of a registered ops table takes a pointer to the struct holding the table" },
	  check_ops_locator, NEEDS("registers-not-ops", "unknown-name") },
	{ { "replay-object", E, "a replay entry's objects are only the one it is called for" },
	  check_replay_object, NEEDS("registers-not-ops", "unknown-name", "annotation-target", "alloc-release-missing") },
	{ { "deferred-call", E, "a deferred kernel function returns void, registers nothing and takes no buffer" },
	  check_deferred_call, NEEDS("annotation-target", "unknown-name", "lock-param", "undo-missing") },
	{ { "fault-missing", W, "an extension function returning a value has fault()" }, check_fault_missing, NEEDS(READ) },
	{ { "writable-pointer", W, "a writable field holds a pointer" }, check_writable_pointer, NEEDS(READ) },
	{ { "buffer-unsized", W, "an in/out void or char buffer parameter has no size" }, check_buffer_unsized, NEEDS(READ) },
	{ { "variadic", W, "an entry of an ops table nothing registers takes '...'" }, check_variadic, NEEDS("registers-not-ops") },
};

#undef E
#define N_CHECKS (sizeof(check_table) / sizeof(check_table[0]))

/* The names the parser, lexer and loader report under, for --help. */
static const struct nooksc_check_info front_checks[] = {
	{ "lex", NOOKSC_ERROR, "characters form IDL tokens" },
	{ "syntax", NOOKSC_ERROR, "the text follows the grammar" },
	{ "import-not-found", NOOKSC_ERROR, "imports are found on the search path" },
	{ "import-cycle", NOOKSC_ERROR, "imports do not form a cycle" },
};

const struct nooksc_check_info *nooksc_checks(int *count)
{
	static struct nooksc_check_info all[N_CHECKS + 4];

	if (!all[0].name) {
		for (size_t i = 0; i < 4; i++)
			all[i] = front_checks[i];
		for (size_t i = 0; i < N_CHECKS; i++) {
			all[4 + i] = check_table[i].info;
			if (!all[4 + i].summary)
				all[4 + i].summary = nooksc_reserved_summary();
		}
	}
	*count = (int)(N_CHECKS + 4);
	return all;
}

static int check_index(const char *name)
{
	for (size_t i = 0; i < N_CHECKS; i++)
		if (!strcmp(check_table[i].info.name, name))
			return (int)i;
	return -1;
}

void run_checks(struct nooksc *nc, struct idl_model *m)
{
	struct ck ck = { .nc = nc, .m = m };
	bool passed[N_CHECKS] = { false };

	if (nc->errors)
		return;		/* parse or import errors: the tree is partial */
	for (size_t i = 0; i < N_CHECKS && !nc->stopped; i++) {
		const struct check *c = &check_table[i];
		bool ready = true;

		for (const char *const *n = c->needs; n && *n && ready; n++) {
			int k = check_index(*n);
			ready = k >= 0 && (size_t)k < i && passed[k];
		}
		if (!c->fn || !ready)
			continue;
		int before = nc->errors;
		ck.check = c->info.name;
		ck.level = c->info.level;
		c->fn(&ck);
		passed[i] = nc->errors == before;
	}
}

int nooksc_check_order_errors(void)
{
	int bad = 0;

	for (size_t i = 0; i < N_CHECKS; i++)
		for (const char *const *n = check_table[i].needs; n && *n; n++) {
			int k = check_index(*n);
			if (k < 0 || (size_t)k >= i)
				bad++;
		}
	return bad;
}
