/*
 * emit.c - the checked model as m4 definitions, for the templates.
 *
 * The model is the only contract between the compiler and the templates,
 * and it is data: names, C spellings of types, kinds, flags and lists.
 * Nothing written here is C that names something of a template's (its
 * variables, frames or helpers): the templates build all of the C.  Where
 * a value has a hole for a template's name it is split around it (a
 * declarator's `dpre`/`dpost`: `int (*` and `)(int x)` around a name), and
 * an IDL expression (a buffer's size) marks the parameters it reads as
 * nkm_arg([[name]]), which each template defines to where it keeps them.
 * Scalars are `nkm:KIND:KEY:ATTR`, read in templates through
 * nkm_f/nkm_p/nkm_s/nkm_o/nkm_e (templates/common.m4); lists are macros
 * that call the template's callback once per element ($1 is the
 * callback), so a template walks them in any context.
 *
 * Escaping: every string from the input goes through esc(), which writes
 * `[`, `]`, `$` and `@` as quadrigraphs (@<:@, @:>@, @S|@, @&t@) that m4
 * never interprets; codegen.c turns them back after expansion.  Values are
 * double-quoted, so their expansion is quoted text that is never rescanned:
 * a C name that happens to be a macro name stays a name.
 *
 * Only the main file's declarations get code; imported ones are declared
 * by their own interface's generated header.
 */
#include <string.h>

#include "internal.h"
#include "codegen.h"

static void esc(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '[': fputs("@<:@", out); break;
		case ']': fputs("@:>@", out); break;
		case '$': fputs("@S|@", out); break;
		case '@': fputs("@&t@", out); break;
		default: fputc(*s, out); break;
		}
	}
}

/* m4_define([[nkm:kind:key:attr]], [[[[value]]]]) */
static void def(FILE *out, const char *kind, const char *key, const char *attr,
		const char *value)
{
	fprintf(out, "m4_define([[nkm:%s:", kind);
	esc(out, key);
	fprintf(out, ":%s]], [[[[", attr);
	esc(out, value);
	fputs("]]]])\n", out);
}

static void defi(FILE *out, const char *kind, const char *key, const char *attr,
		 long long v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", v);
	def(out, kind, key, attr, buf);
}

/* An IDL expression whose parameter references (marked by
 * expr_to_c_marked) become nkm_arg([[name]]): single-quoted, so m4
 * expands those calls where a template reads the value. */
static void defx(FILE *out, const char *kind, const char *key, const char *attr,
		 const char *marked)
{
	fprintf(out, "m4_define([[nkm:%s:", kind);
	esc(out, key);
	fprintf(out, ":%s]], [[", attr);
	for (const char *p = marked; *p; p++) {
		char one[2] = { *p, 0 };
		if (*p == EXPR_REF_OPEN)
			fputs("nkm_arg([[", out);
		else if (*p == EXPR_REF_CLOSE)
			fputs("]])", out);
		else
			esc(out, one);
	}
	fputs("]])\n", out);
}

/* The C spelling of type t around a hole for a name: ATTRpre and
 * ATTRpost (`ssize_t ` and `(int fd)`; a pointer is `(*name)`). */
static void def_declarator(FILE *out, struct nooksc *nc, const char *kind,
			   const char *key, const char *attr, const struct idl_type *t)
{
	const char *c = type_to_c(nc, t, "\003");
	const char *hole = strchr(c, '\003');
	char name[32];

	snprintf(name, sizeof(name), "%spre", attr);
	def(out, kind, key, name, arena_strndup(ARENA(nc), c, (size_t)(hole - c)));
	snprintf(name, sizeof(name), "%spost", attr);
	def(out, kind, key, name, hole + 1);
}

/* What a function returns, for error and fault values and for the
 * condition a replayed call succeeded: void, pointer, signed (integers
 * whose errors are negative) or other. */
static const char *ret_kind(const struct idl_type *ret)
{
	const struct idl_type *t = type_strip(ret);

	if (type_is_void(t))
		return "void";
	if (t->kind == TY_POINTER)
		return "pointer";
	if (t->kind == TY_BASE && !(t->kw & (KW_UNSIGNED | KW_BOOL)) &&
	    !(t->kw == KW_CHAR))
		return "signed";
	return "other";
}

/* Starts a list macro; items are `$1([[a]], [[b]])`. */
static void list_begin(FILE *out, const char *name)
{
	fprintf(out, "m4_define([[%s]], [[", name);
}

static void list_item(FILE *out, const char *a, const char *b)
{
	fputs("$1([[", out);
	esc(out, a);
	if (b) {
		fputs("]], [[", out);
		esc(out, b);
	}
	fputs("]])", out);
}

static void list_end(FILE *out)
{
	fputs("]])\n", out);
}

/* Where a declaration was written, for the #line lines of verify.c.m4. */
static void def_pos(FILE *out, const char *kind, const char *key,
		    const struct srcpos *pos)
{
	char line[16];
	snprintf(line, sizeof(line), "%d", pos->line);
	def(out, kind, key, "file", pos->file ? pos->file : "");
	def(out, kind, key, "line", line);
}

static bool from_main(const struct idl_model *m, const struct idl_decl *d)
{
	return d->file == m->main;
}

/* FNV-1a, the type ids in descriptors: stable, independent of the build. */
static unsigned long fnv1a(const char *s)
{
	unsigned long h = 2166136261u;
	for (; *s; s++)
		h = ((h ^ (unsigned char)*s) * 16777619u) & 0xffffffffu;
	return h;
}

static void emit_params(FILE *out, struct nooksc *nc, const struct idl_decl *f,
			const char *key)
{
	char lname[600];
	struct idl_var *v;
	int i = 0;

	snprintf(lname, sizeof(lname), "nkm:params:%s", key);
	list_begin(out, lname);
	for_each_var(f->type->params, v) {
		char idx[16];
		snprintf(idx, sizeof(idx), "%d", i++);
		list_item(out, key, idx);
	}
	list_end(out);

	i = 0;
	for_each_var(f->type->params, v) {
		char pkey[600];
		const struct idl_decl *s = model_obj_struct(v->type);
		const struct idl_type *t = type_strip(v->type);
		snprintf(pkey, sizeof(pkey), "%s:%d", key, i++);
		/* an array parameter is the pointer C makes of it (frames hold
		 * the pointer, not a copy of the array) */
		struct idl_type decayed;
		const struct idl_type *pt = v->type;
		if (t && t->kind == TY_ARRAY) {
			decayed = *t;
			decayed.kind = TY_POINTER;
			decayed.dim = NULL;
			pt = &decayed;
		}
		def(out, "p", pkey, "name", v->name);
		def(out, "p", pkey, "decl", type_to_c(nc, pt, v->name));
		def(out, "p", pkey, "type", type_to_c(nc, pt, NULL));
		def(out, "p", pkey, "kind", model_param_kind(v));
		def(out, "p", pkey, "struct", s ? s->name : "");
		if (!strcmp(model_param_kind(v), "allocout")) {
			const struct idl_decl *as = type_pointee_struct(t->base);
			def(out, "p", pkey, "struct", as ? as->name : "");
		}
		/* the sizes as the IDL gives them: count() elements, bytes(),
		 * a string's bound (string(N), else an array's size) */
		const struct idl_expr *count = v->attrs.count;
		if (!count && v->attrs.string && t && t->kind == TY_ARRAY)
			count = t->dim;
		defx(out, "p", pkey, "count", count ? expr_to_c_marked(nc, count) :
		     model_param_one(v) ? "1" : "");
		defx(out, "p", pkey, "bytes", v->attrs.bytes ?
		     expr_to_c_marked(nc, v->attrs.bytes) : "");
		defi(out, "p", pkey, "write", v->attrs.dir == DIR_OUT || v->attrs.dir == DIR_INOUT);
		defi(out, "p", pkey, "read", v->attrs.dir != DIR_OUT);
		defi(out, "p", pkey, "nullable", v->attrs.nullable);
		defi(out, "p", pkey, "release", v->attrs.release);
		defi(out, "p", pkey, "transfer", v->attrs.transfer);
	}
}

static void emit_kfunc(FILE *out, struct nooksc *nc, const struct idl_decl *f)
{
	const char *k = f->name;
	const struct idl_type *ret = f->type->base;
	const struct idl_decl *as = f->attrs.alloc_fn ? type_pointee_struct(ret) : NULL;
	struct model_reg r;

	def(out, "f", k, "proto", type_to_c(nc, f->type, k));
	def_declarator(out, nc, "f", k, "d", f->type);
	def_pos(out, "f", k, &f->pos);
	def(out, "f", k, "ret", type_to_c(nc, ret, NULL));
	def_declarator(out, nc, "f", k, "ret", ret);
	def(out, "f", k, "retkind", ret_kind(ret));
	defi(out, "f", k, "void", type_is_void(ret));
	defi(out, "f", k, "deferred", f->attrs.deferred);
	def(out, "f", k, "alloc", as ? as->name : "");
	struct idl_decl *retobj = (struct idl_decl *)model_obj_struct(ret);
	def(out, "f", k, "retstruct", retobj ? retobj->name : "");
	bool has_reg = model_reg_of(f, &r);
	def(out, "f", k, "regparam", has_reg ? r.param : "");
	def(out, "f", k, "regfield", has_reg ? r.field : "");
	def(out, "f", k, "regtable", has_reg ? r.table->name : "");
	def(out, "f", k, "regstruct", has_reg ? r.owner->name : "");
	def(out, "f", k, "undo", f->attrs.undo_fn ? f->attrs.undo_fn->name : "");
	def(out, "f", k, "lock", f->attrs.lock ? f->attrs.lock->name : "");
	def(out, "f", k, "unlock", f->attrs.unlock ? f->attrs.unlock->name : "");
	def(out, "f", k, "locktype", f->attrs.lock ?
	    type_to_c(nc, f->attrs.lock->type, NULL) : "");
	/* Is this the undo of some registration, or the unlock of a lock?
	 * (the checks linked them: no search over the model here) */
	const char *undo_of = "", *unlock_fn = "";
	if (f->undo_of && model_reg_of(f->undo_of, &r)) {
		struct idl_var *v;
		for_each_var(f->type->params, v)
			if (type_pointee_struct(v->type) == r.owner) {
				undo_of = v->name;
				break;
			}
	}
	if (f->attrs.lock) {
		const struct idl_decl *s = type_pointee_struct(f->attrs.lock->type);
		if (s && s->unlock_fn)
			unlock_fn = s->unlock_fn->name;
	}
	def(out, "f", k, "undoof", undo_of);
	def(out, "f", k, "unlockfn", unlock_fn);
	emit_params(out, nc, f, k);
}

static void emit_ops(FILE *out, struct nooksc *nc, const struct idl_decl *t)
{
	const struct idl_decl *e;
	struct model_reg r;
	bool found = t->registered_by && model_reg_of(t->registered_by, &r);
	char lname[600];

	defi(out, "o", t->name, "registered", found);
	snprintf(lname, sizeof(lname), "nkm:entries:%s", t->name);
	list_begin(out, lname);
	for_each_member(t, e)
		list_item(out, t->name, e->name);
	list_end(out);

	for_each_member(t, e) {
		char key[600];
		const struct idl_var *loc = found ? model_locator(e, &r) : NULL;
		snprintf(key, sizeof(key), "%s:%s", t->name, e->name);
		def(out, "e", key, "name", e->name);
		def_declarator(out, nc, "e", key, "d", e->type);
		def(out, "e", key, "ret", type_to_c(nc, e->type->base, NULL));
		def_declarator(out, nc, "e", key, "ret", e->type->base);
		def(out, "e", key, "retkind", ret_kind(e->type->base));
		defi(out, "e", key, "void", type_is_void(e->type->base));
		def(out, "e", key, "fault", e->attrs.fault ? expr_to_c(nc, e->attrs.fault) : "");
		defi(out, "e", key, "timeout", e->attrs.timeout_ms > 0 ? e->attrs.timeout_ms : 0);
		/* the parameter its binding is found through, and the field */
		def(out, "e", key, "locparam", loc ? loc->name : "");
		def(out, "e", key, "locfield", loc ? r.field : "");
		defi(out, "e", key, "replay", e->attrs.replay && loc);
		def_pos(out, "e", key, &e->pos);
		emit_params(out, nc, e, key);
	}
}

static void emit_struct(FILE *out, struct nooksc *nc, const struct idl_decl *s)
{
	char lname[600];
	struct idl_var *v;
	const char *tname = arena_printf(ARENA(nc), "struct %s", s->name);
	bool shadow = !s->opaque && s->defined;

	def(out, "s", s->name, "typename", tname);
	def(out, "s", s->name, "id", arena_printf(ARENA(nc), "0x%08lxu", fnv1a(tname)));
	defi(out, "s", s->name, "shadow", shadow);
	def_pos(out, "s", s->name, &s->pos);
	def(out, "s", s->name, "release", "");
	snprintf(lname, sizeof(lname), "nkm:fields:%s", s->name);
	list_begin(out, lname);
	for_each_var(s->fields, v)
		list_item(out, s->name, v->name);
	list_end(out);
	for_each_var(s->fields, v) {
		char key[600];
		const struct idl_type *t = type_strip(v->type);
		static const char *const acc[] = { "readonly", "writable", "private", "hidden" };
		snprintf(key, sizeof(key), "%s:%s", s->name, v->name);
		def(out, "v", key, "access", acc[v->attrs.access]);
		def(out, "v", key, "type", type_to_c(nc, v->type, NULL));
		def_pos(out, "v", key, &v->pos);
		defi(out, "v", key, "array", t && t->kind == TY_ARRAY);
		defi(out, "v", key, "string", v->attrs.string);
	}
}

int emit_model(FILE *out, struct nooksc *nc, const struct idl_model *m)
{
	const struct idl_decl *d;

	fputs("m4_dnl the checked model, written by nooksc for the templates\n", out);
	fputs("m4_divert(-1)\n", out);
	def(out, "i", "main", "interface", m->main->interface);
	def(out, "i", "main", "header", m->main->header);
	char guard[300];
	snprintf(guard, sizeof(guard), "%s_NOOKS_H", m->main->interface);
	for (char *p = guard; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	def(out, "i", "main", "guard", guard);

	list_begin(out, "nkm_imports");
	for (const struct idl_import *i = m->main->imports; i; i = i->next)
		if (i->file && i->file->interface)
			list_item(out, i->file->interface, NULL);
	list_end(out);

	list_begin(out, "nkm_kfuncs");
	for_each_decl(m, d)
		if (d->kind == D_FUNC && from_main(m, d))
			list_item(out, d->name, NULL);
	list_end(out);

	list_begin(out, "nkm_ops");
	for_each_decl(m, d)
		if (d->kind == D_OPS && from_main(m, d))
			list_item(out, d->name, NULL);
	list_end(out);

	list_begin(out, "nkm_consts");
	for_each_decl(m, d)
		if (from_main(m, d) && d->kind == D_CONST)
			list_item(out, d->name, NULL);
	for_each_decl(m, d) {
		const struct idl_decl *en;
		if (from_main(m, d) && d->kind == D_ENUM)
			for_each_member(d, en)
				list_item(out, en->name, NULL);
	}
	list_end(out);

	list_begin(out, "nkm_typedefs");
	for_each_decl(m, d)
		if (from_main(m, d) && d->kind == D_TYPEDEF)
			list_item(out, d->name, NULL);
	list_end(out);

	list_begin(out, "nkm_structs");
	for_each_decl(m, d)
		if (d->kind == D_STRUCT && !d->is_union && from_main(m, d))
			list_item(out, d->name, NULL);
	list_end(out);

	for_each_decl(m, d) {
		const struct idl_decl *en;
		if (!from_main(m, d))
			continue;
		if (d->kind == D_CONST || d->kind == D_ENUM) {
			for (en = d->kind == D_CONST ? d : d->members; en;
			     en = d->kind == D_CONST ? NULL : en->next_member) {
				def(out, "c", en->name, "value", en->value ?
				    expr_to_c(nc, en->value) : "");
				def_pos(out, "c", en->name, &en->pos);
			}
		}
		if (d->kind == D_TYPEDEF) {
			def(out, "t", d->name, "type", type_to_c(nc, d->type, NULL));
			def_pos(out, "t", d->name, &d->pos);
		}
		if (d->kind == D_FUNC) {
			emit_kfunc(out, nc, d);
		} else if (d->kind == D_OPS) {
			emit_ops(out, nc, d);
		} else if (d->kind == D_STRUCT && !d->is_union) {
			emit_struct(out, nc, d);
			if (d->release_fn)
				def(out, "s", d->name, "release", d->release_fn->name);
		}
	}
	fputs("m4_divert(0)m4_dnl\n", out);
	return ferror(out) ? -1 : 0;
}
