/*
 * emit.c - the checked model as m4 definitions, for the templates.
 *
 * Logic stays here and the templates only substitute: every name, C
 * spelling, classification and default the wrappers need is computed once
 * and written as a definition.  Scalars are `nkm:KIND:KEY:ATTR`, read in
 * templates through nkm_f/nkm_p/nkm_s/nkm_o/nkm_e (templates/common.m4);
 * lists are macros that call the template's callback once per element
 * ($1 is the callback), so a template walks them in any context.
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

/* What a kernel function returns to an extension that passed bad
 * parameters: -EINVAL for signed integers, NULL for pointers, 0 else. */
static const char *error_value(struct nooksc *nc, const struct idl_type *ret)
{
	const struct idl_type *t = type_strip(ret);

	if (type_is_void(t))
		return "";
	if (t->kind == TY_POINTER)
		return "NULL";
	if (t->kind == TY_BASE && !(t->kw & (KW_UNSIGNED | KW_BOOL)) &&
	    !(t->kw == KW_CHAR))
		return "-EINVAL";
	return arena_printf(ARENA(nc), "(%s)0", type_to_c(nc, ret, NULL));
}

/* The struct a pointer parameter points to, if it has a descriptor. */
static const struct idl_decl *obj_struct(const struct idl_type *t)
{
	const struct idl_decl *s = type_pointee_struct(t);
	return s && s->kind == D_STRUCT && !s->is_union ? s : NULL;
}

static const char *param_kind(const struct idl_var *v)
{
	const struct idl_attrs *a = &v->attrs;

	if (!type_is_pointer(v->type) && !(type_strip(v->type)->kind == TY_ARRAY))
		return "scalar";
	if (a->opaque)
		return "handle";
	if (a->alloc_fn)
		return "allocout";
	if (a->string)
		return "str";
	/* a struct pointer with a size is plain data in the caller's memory
	 * (struct kstat *st [[out, count(1)]]), not a kernel object */
	if (a->count || a->bytes)
		return "buf";
	if (obj_struct(v->type))
		return "obj";
	return "handle";
}

/* The byte size of a buffer parameter, as C over the wrapper's names. */
static const char *size_expr(struct nooksc *nc, const struct idl_var *v)
{
	if (v->attrs.bytes)
		return arena_printf(ARENA(nc), "(size_t)(%s)", expr_to_c(nc, v->attrs.bytes));
	if (v->attrs.count)
		return arena_printf(ARENA(nc), "(size_t)(%s) * sizeof(*%s)",
				    expr_to_c(nc, v->attrs.count), v->name);
	return "0";
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
		const struct idl_decl *s = obj_struct(v->type);
		const struct idl_type *t = type_strip(v->type);
		snprintf(pkey, sizeof(pkey), "%s:%d", key, i++);
		def(out, "p", pkey, "name", v->name);
		def(out, "p", pkey, "decl", type_to_c(nc, v->type, v->name));
		def(out, "p", pkey, "type", type_to_c(nc, v->type, NULL));
		def(out, "p", pkey, "kind", param_kind(v));
		def(out, "p", pkey, "struct", s ? s->name : "");
		if (!strcmp(param_kind(v), "allocout")) {
			const struct idl_decl *as = type_pointee_struct(t->base);
			def(out, "p", pkey, "struct", as ? as->name : "");
		}
		def(out, "p", pkey, "size", size_expr(nc, v));
		defi(out, "p", pkey, "strmax", v->attrs.string && v->attrs.count ? 1 : 0);
		def(out, "p", pkey, "strbound", v->attrs.string && v->attrs.count ?
		    arena_printf(ARENA(nc), "(size_t)(%s)", expr_to_c(nc, v->attrs.count)) : "0");
		defi(out, "p", pkey, "write", v->attrs.dir == DIR_OUT || v->attrs.dir == DIR_INOUT);
		defi(out, "p", pkey, "nullable", v->attrs.nullable);
		defi(out, "p", pkey, "release", v->attrs.release);
		defi(out, "p", pkey, "transfer", v->attrs.transfer);
	}
}

static const char *args_of(struct nooksc *nc, const struct idl_decl *f,
			   const char *prefix)
{
	struct strbuf b = { 0 };
	struct idl_var *v;

	for_each_var(f->type->params, v)
		sb_printf(&b, "%s%s%s", v == f->type->params ? "" : ", ", prefix, v->name);
	return sb_finish(ARENA(nc), &b);
}

/* registers(p->field): the ops table registered, and where. */
struct reg {
	const struct idl_decl *table;	/* D_OPS */
	const struct idl_decl *owner;	/* struct holding the field */
	const char *param, *field;
};

static bool reg_of(const struct idl_decl *f, struct reg *r)
{
	const struct idl_expr *e = f->attrs.registers;

	if (!e || e->kind != EX_ARROW || e->lhs->kind != EX_NAME || !e->ref_var)
		return false;
	const struct idl_type *t = type_strip(e->ref_var->type);
	r->table = type_strip(t->base)->decl;
	r->owner = e->lhs->ref_var ? type_pointee_struct(e->lhs->ref_var->type) : NULL;
	if (!r->owner || !r->table)
		return false;
	r->param = e->lhs->name;
	r->field = e->name;
	return true;
}

static void emit_kfunc(FILE *out, struct nooksc *nc, const struct idl_decl *f)
{
	const char *k = f->name;
	const struct idl_type *ret = f->type->base;
	const struct idl_decl *as = f->attrs.alloc_fn ? type_pointee_struct(ret) : NULL;
	struct reg r;

	def(out, "f", k, "proto", type_to_c(nc, f->type, k));
	def(out, "f", k, "proto_kw", type_to_c(nc, f->type,
		arena_printf(ARENA(nc), "nooks_kw_%s", k)));
	def(out, "f", k, "fnptr", type_to_c(nc, f->type, arena_printf(ARENA(nc), "(*%s)", k)));
	def_pos(out, "f", k, &f->pos);
	def(out, "f", k, "ret", type_to_c(nc, ret, NULL));
	def(out, "f", k, "retdecl", type_to_c(nc, ret, "nkw_ret"));
	defi(out, "f", k, "void", type_is_void(ret));
	def(out, "f", k, "error", error_value(nc, ret));
	def(out, "f", k, "args", args_of(nc, f, ""));
	def(out, "f", k, "frameargs", args_of(nc, f, "f->"));
	def(out, "f", k, "alloc", as ? as->name : "");
	struct idl_decl *retobj = (struct idl_decl *)obj_struct(ret);
	def(out, "f", k, "retstruct", retobj ? retobj->name : "");
	bool has_reg = reg_of(f, &r);
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
	if (f->undo_of && reg_of(f->undo_of, &r)) {
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

/* The parameter an extension wrapper finds its binding through: the first
 * pointer to the struct whose field registers() names. */
static const struct idl_var *locator(const struct idl_decl *e,
				     const struct reg *r)
{
	struct idl_var *v;
	for_each_var(e->type->params, v)
		if (type_pointee_struct(v->type) == r->owner)
			return v;
	return NULL;
}

/* When a replay entry's call counts as done (and is logged), as C over the
 * wrapper's frame: signed integers not negative, pointers not NULL,
 * anything else (void included) whenever it did not fault. */
static const char *replay_ok(const struct idl_type *ret)
{
	const struct idl_type *t = type_strip(ret);

	if (type_is_void(t))
		return "1";
	if (t->kind == TY_POINTER)
		return "nkx_fr.nkw_ret != NULL";
	if (t->kind == TY_BASE && !(t->kw & (KW_UNSIGNED | KW_BOOL)) &&
	    !(t->kw == KW_CHAR))
		return "nkx_fr.nkw_ret >= 0";
	return "1";
}

/* The arguments a replayer passes to the entry's wrapper: the new object
 * for the locator, the logged record's members for the others. */
static const char *replay_args(struct nooksc *nc, const struct idl_decl *e,
			       const struct idl_var *loc)
{
	struct strbuf b = { 0 };
	struct idl_var *v;

	for_each_var(e->type->params, v) {
		const char *sep = v == e->type->params ? "" : ", ";
		if (v == loc)
			sb_printf(&b, "%s(%s)obj", sep, type_to_c(nc, v->type, NULL));
		else
			sb_printf(&b, "%sr->%s", sep, v->name);
	}
	return sb_finish(ARENA(nc), &b);
}

/* A replay entry's parameter that cannot be logged: an object other than
 * the one the entry is called for (the restarted extension will not have
 * it), or one whose ownership moves. */
static const struct idl_var *unreplayable(const struct idl_decl *e,
					  const struct idl_var *loc)
{
	struct idl_var *v;
	for_each_var(e->type->params, v) {
		const char *k = param_kind(v);
		if (v == loc)
			continue;
		if (!strcmp(k, "obj") || !strcmp(k, "allocout") || v->attrs.transfer)
			return v;
	}
	return NULL;
}

static void emit_ops(FILE *out, struct nooksc *nc, const struct idl_decl *t)
{
	const struct idl_decl *e;
	struct reg r;
	bool found = t->registered_by && reg_of(t->registered_by, &r);
	char lname[600];

	defi(out, "o", t->name, "registered", found);
	snprintf(lname, sizeof(lname), "nkm:entries:%s", t->name);
	list_begin(out, lname);
	for_each_member(t, e)
		list_item(out, t->name, e->name);
	list_end(out);

	for_each_member(t, e) {
		char key[600];
		const struct idl_var *loc = found ? locator(e, &r) : NULL;
		snprintf(key, sizeof(key), "%s:%s", t->name, e->name);
		def(out, "e", key, "name", e->name);
		def(out, "e", key, "proto_xw", type_to_c(nc, e->type,
			arena_printf(ARENA(nc), "nooks_xw_%s_%s", t->name, e->name)));
		def(out, "e", key, "fnptr", type_to_c(nc, e->type,
			arena_printf(ARENA(nc), "(*fn)")));
		def(out, "e", key, "ret", type_to_c(nc, e->type->base, NULL));
		def(out, "e", key, "retdecl", type_to_c(nc, e->type->base, "nkw_ret"));
		defi(out, "e", key, "void", type_is_void(e->type->base));
		def(out, "e", key, "fault", e->attrs.fault ? expr_to_c(nc, e->attrs.fault) :
		    type_is_void(e->type->base) ? "" :
		    arena_printf(ARENA(nc), "(%s)0", type_to_c(nc, e->type->base, NULL)));
		defi(out, "e", key, "timeout", e->attrs.timeout_ms > 0 ? e->attrs.timeout_ms : 0);
		def(out, "e", key, "frameargs", args_of(nc, e, "f->"));
		def(out, "e", key, "locator", loc ?
		    arena_printf(ARENA(nc), "%s->%s", loc->name, r.field) : "");
		def(out, "e", key, "locparam", loc ? loc->name : "");
		def(out, "e", key, "fnptrtype", type_to_c(nc, e->type, "(*)"));
		defi(out, "e", key, "replay", e->attrs.replay && loc);
		def(out, "e", key, "replayargs", loc ? replay_args(nc, e, loc) : "");
		def(out, "e", key, "replayok", replay_ok(e->type->base));
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
			if (d->type->variadic) {
				diag(nc, NOOKSC_ERROR, "codegen", &d->pos,
				     "cannot wrap variadic function '%s': the arguments after '...' cannot be forwarded",
				     d->name);
				continue;
			}
			emit_kfunc(out, nc, d);
		} else if (d->kind == D_OPS) {
			emit_ops(out, nc, d);
		} else if (d->kind == D_STRUCT && !d->is_union) {
			emit_struct(out, nc, d);
			const struct idl_decl *rel = d->release_fn;
			if (rel) {
				if (!rel->type->params || rel->type->params->next) {
					diag(nc, NOOKSC_ERROR, "codegen", &rel->pos,
					     "release function '%s' must take exactly one parameter, the object, so recovery can call it",
					     rel->name);
				}
				def(out, "s", d->name, "release", rel->name);
			}
		}
	}
	/* Ops entries of a registered table need a parameter to find their
	 * binding through. */
	for_each_decl(m, d) {
		if (d->kind != D_OPS || !from_main(m, d))
			continue;
		const struct idl_decl *e;
		struct reg r;
		if (!d->registered_by || !reg_of(d->registered_by, &r))
			continue;
		for_each_member(d, e)
			if (e->type->variadic)
				diag(nc, NOOKSC_ERROR, "codegen", &e->pos,
				     "cannot wrap variadic entry '%s': the arguments after '...' cannot be forwarded",
				     e->name);
			else if (!locator(e, &r))
				diag(nc, NOOKSC_ERROR, "codegen", &e->pos,
				     "'%s' takes no 'struct %s *', so its wrapper cannot find the table registered through '%s->%s'",
				     e->name, r.owner->name, r.param, r.field);
			else if (e->attrs.replay && unreplayable(e, locator(e, &r)))
				diag(nc, NOOKSC_ERROR, "codegen", &e->pos,
				     "cannot replay '%s': its parameter '%s' is an object the restarted extension would not have",
				     e->name, unreplayable(e, locator(e, &r))->name);
	}
	fputs("m4_divert(0)m4_dnl\n", out);
	return ferror(out) ? -1 : 0;
}
