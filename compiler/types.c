/*
 * types.c - questions about types and expressions, and their C spelling.
 *
 * Types are trees of derivations (pointer, array, function) over a base
 * (a C base type, a struct/union/enum tag or a typedef name).  type_strip()
 * looks through typedefs, so `netdev_tx_t` answers like the enum it names.
 * type_to_c() prints a declaration the C way, inside out: pointers to
 * arrays and functions get their parentheses.  expr_eval() folds constant
 * expressions with wrapping arithmetic, so no input can cause undefined
 * behaviour in the compiler itself.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "parser.tab.h"

#define MAX_TYPEDEF_CHAIN 32

const char *base_type_name(unsigned kw)
{
	static const struct {
		unsigned kw;
		const char *name;
	} valid[] = {
		{ KW_VOID, "void" },
		{ KW_BOOL, "_Bool" },
		{ KW_CHAR, "char" },
		{ KW_SIGNED | KW_CHAR, "signed char" },
		{ KW_UNSIGNED | KW_CHAR, "unsigned char" },
		{ KW_SHORT, "short" }, { KW_SHORT | KW_INT, "short" },
		{ KW_SIGNED | KW_SHORT, "short" }, { KW_SIGNED | KW_SHORT | KW_INT, "short" },
		{ KW_UNSIGNED | KW_SHORT, "unsigned short" },
		{ KW_UNSIGNED | KW_SHORT | KW_INT, "unsigned short" },
		{ KW_INT, "int" }, { KW_SIGNED, "int" }, { KW_SIGNED | KW_INT, "int" },
		{ KW_UNSIGNED, "unsigned int" }, { KW_UNSIGNED | KW_INT, "unsigned int" },
		{ KW_LONG, "long" }, { KW_LONG | KW_INT, "long" },
		{ KW_SIGNED | KW_LONG, "long" }, { KW_SIGNED | KW_LONG | KW_INT, "long" },
		{ KW_UNSIGNED | KW_LONG, "unsigned long" },
		{ KW_UNSIGNED | KW_LONG | KW_INT, "unsigned long" },
		{ KW_LONGLONG, "long long" }, { KW_LONGLONG | KW_INT, "long long" },
		{ KW_SIGNED | KW_LONGLONG, "long long" },
		{ KW_SIGNED | KW_LONGLONG | KW_INT, "long long" },
		{ KW_UNSIGNED | KW_LONGLONG, "unsigned long long" },
		{ KW_UNSIGNED | KW_LONGLONG | KW_INT, "unsigned long long" },
		{ KW_FLOAT, "float" },
		{ KW_DOUBLE, "double" },
		{ KW_LONG | KW_DOUBLE, "long double" },
	};

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		if (valid[i].kw == kw)
			return valid[i].name;
	return NULL;
}

const struct idl_type *type_strip(const struct idl_type *t)
{
	for (int i = 0; t && t->kind == TY_NAMED && i < MAX_TYPEDEF_CHAIN; i++) {
		if (!t->decl || t->decl->kind != D_TYPEDEF)
			return t;
		t = t->decl->type;
	}
	return t;
}

bool type_is_integer(const struct idl_type *t)
{
	t = type_strip(t);
	if (!t)
		return false;
	if (t->kind == TY_ENUM)
		return true;
	return t->kind == TY_BASE && t->kw &&
	       !(t->kw & (KW_VOID | KW_FLOAT | KW_DOUBLE));
}

bool type_is_pointer(const struct idl_type *t)
{
	t = type_strip(t);
	return t && t->kind == TY_POINTER;
}

bool type_is_void(const struct idl_type *t)
{
	t = type_strip(t);
	return t && t->kind == TY_BASE && t->kw == KW_VOID;
}

const struct idl_decl *type_pointee_struct(const struct idl_type *t)
{
	t = type_strip(t);
	if (!t || t->kind != TY_POINTER)
		return NULL;
	t = type_strip(t->base);
	if (!t || (t->kind != TY_STRUCT && t->kind != TY_UNION) || !t->decl)
		return NULL;
	return t->decl;
}

static void quals_to_c(struct strbuf *b, unsigned q)
{
	if (q & Q_CONST)
		sb_puts(b, "const ");
	if (q & Q_VOLATILE)
		sb_puts(b, "volatile ");
}

static void base_to_c(struct strbuf *b, const struct idl_type *t)
{
	quals_to_c(b, t->quals);
	switch (t->kind) {
	case TY_STRUCT:
		sb_printf(b, "struct %s", t->name);
		break;
	case TY_UNION:
		sb_printf(b, "union %s", t->name);
		break;
	case TY_ENUM:
		sb_printf(b, "enum %s", t->name);
		break;
	default:
		sb_puts(b, t->name ? t->name : "?");
		break;
	}
}

static void params_to_c(struct nooksc *nc, struct strbuf *b,
			const struct idl_type *f)
{
	const struct idl_var *v;

	sb_puts(b, "(");
	if (!f->params && !f->variadic)
		sb_puts(b, "void");
	for_each_var(f->params, v) {
		if (v != f->params)
			sb_puts(b, ", ");
		sb_puts(b, type_to_c(nc, v->type, v->name));
	}
	if (f->variadic)
		sb_puts(b, f->params ? ", ..." : "...");
	sb_puts(b, ")");
}

const char *type_to_c(struct nooksc *nc, const struct idl_type *t,
		      const char *name)
{
	struct strbuf decl = { 0 };	/* the declarator, built inside out */

	sb_puts(&decl, name ? name : "");
	while (t && (t->kind == TY_POINTER || t->kind == TY_ARRAY ||
		     t->kind == TY_FUNC)) {
		struct strbuf next = { 0 };
		const struct idl_type *base = t->base;
		bool wrap = base && (base->kind == TY_ARRAY || base->kind == TY_FUNC);

		switch (t->kind) {
		case TY_POINTER:
			if (wrap)
				sb_puts(&next, "(");
			sb_puts(&next, "*");
			if (t->quals & Q_CONST)
				sb_puts(&next, decl.len ? "const " : "const");
			if (t->quals & Q_VOLATILE)
				sb_puts(&next, decl.len ? "volatile " : "volatile");
			sb_puts(&next, decl.s);
			if (wrap)
				sb_puts(&next, ")");
			break;
		case TY_ARRAY:
			sb_puts(&next, decl.s);
			sb_printf(&next, "[%s]", t->dim ? expr_to_c(nc, t->dim) : "");
			break;
		default:
			sb_puts(&next, decl.s);
			params_to_c(nc, &next, t);
			break;
		}
		free(decl.s);
		decl = next;
		t = base;
	}

	struct strbuf out = { 0 };
	if (t)
		base_to_c(&out, t);
	if (decl.len) {
		if (decl.s[0] != '[' && decl.s[0] != '(')
			sb_puts(&out, " ");
		else if (decl.s[0] == '(' && decl.s[1] == '*')
			sb_puts(&out, " ");
		sb_puts(&out, decl.s);
	}
	free(decl.s);
	return sb_finish(ARENA(nc), &out);
}

static const char *op_name(int op)
{
	static char one[2];
	switch (op) {
	case SHL:
		return "<<";
	case SHR:
		return ">>";
	default:
		one[0] = (char)op;
		return one;
	}
}

static void expr_put(struct nooksc *nc, struct strbuf *b,
		     const struct idl_expr *e, bool nested, bool mark)
{
	switch (e->kind) {
	case EX_INT:
		sb_printf(b, "%lld", e->ival);
		break;
	case EX_NAME:
		if (mark && e->ref_var)
			sb_printf(b, "%c%s%c", EXPR_REF_OPEN, e->name, EXPR_REF_CLOSE);
		else
			sb_puts(b, e->name);
		break;
	case EX_ARROW:
		expr_put(nc, b, e->lhs, true, mark);
		sb_printf(b, "->%s", e->name);
		break;
	case EX_UNARY:
		sb_puts(b, op_name(e->op));
		expr_put(nc, b, e->lhs, true, mark);
		break;
	case EX_BINARY:
		if (nested)
			sb_puts(b, "(");
		expr_put(nc, b, e->lhs, true, mark);
		sb_printf(b, " %s ", op_name(e->op));
		expr_put(nc, b, e->rhs, true, mark);
		if (nested)
			sb_puts(b, ")");
		break;
	case EX_SIZEOF:
		sb_printf(b, "sizeof(%s)", type_to_c(nc, e->type, NULL));
		break;
	}
}

const char *expr_to_c(struct nooksc *nc, const struct idl_expr *e)
{
	struct strbuf b = { 0 };
	expr_put(nc, &b, e, false, false);
	return sb_finish(ARENA(nc), &b);
}

const char *expr_to_c_marked(struct nooksc *nc, const struct idl_expr *e)
{
	struct strbuf b = { 0 };
	expr_put(nc, &b, e, false, true);
	return sb_finish(ARENA(nc), &b);
}

bool expr_eval(const struct idl_expr *e, long long *out)
{
	long long l, r;
	unsigned long long ul, ur;

	switch (e->kind) {
	case EX_INT:
		*out = e->ival;
		return true;
	case EX_NAME:
		if (!e->ref_decl || !e->ref_decl->ival_known)
			return false;
		*out = e->ref_decl->ival;
		return true;
	case EX_UNARY:
		if (!expr_eval(e->lhs, &l))
			return false;
		ul = (unsigned long long)l;
		switch (e->op) {
		case '-': *out = (long long)(0 - ul); return true;
		case '+': *out = l; return true;
		case '~': *out = (long long)~ul; return true;
		case '!': *out = !l; return true;
		}
		return false;
	case EX_BINARY:
		if (!expr_eval(e->lhs, &l) || !expr_eval(e->rhs, &r))
			return false;
		ul = (unsigned long long)l;
		ur = (unsigned long long)r;
		switch (e->op) {
		case '+': *out = (long long)(ul + ur); return true;
		case '-': *out = (long long)(ul - ur); return true;
		case '*': *out = (long long)(ul * ur); return true;
		case '|': *out = (long long)(ul | ur); return true;
		case '&': *out = (long long)(ul & ur); return true;
		case '^': *out = (long long)(ul ^ ur); return true;
		case '/':
		case '%':
			if (r == 0 || (l == (-9223372036854775807LL - 1) && r == -1))
				return false;
			*out = e->op == '/' ? l / r : l % r;
			return true;
		case SHL:
		case SHR:
			if (r < 0 || r > 63)
				return false;
			*out = e->op == SHL ? (long long)(ul << r) : l >> r;
			return true;
		}
		return false;
	default:
		return false;
	}
}

/* ---- what the code generator makes of a declaration ----------------------
 * Shared by the checks that refuse what cannot be generated (checks.c) and
 * the emitter (emit.c), so both see the same classification. */

const struct idl_decl *model_obj_struct(const struct idl_type *t)
{
	const struct idl_decl *s = type_pointee_struct(t);
	return s && s->kind == D_STRUCT && !s->is_union ? s : NULL;
}

/* A scalar pointer with a direction and no size (int *v [[out]]) is one
 * element, as its C type says: a buffer of count 1. */
bool model_param_one(const struct idl_var *v)
{
	const struct idl_attrs *a = &v->attrs;
	const struct idl_type *t = type_strip(v->type);

	if (a->dir == DIR_NONE || a->count || a->bytes || a->string || a->opaque ||
	    !t || t->kind != TY_POINTER)
		return false;
	const struct idl_type *b = type_strip(t->base);
	return b && ((b->kind == TY_BASE && !(b->kw & (KW_VOID | KW_CHAR))) ||
		     b->kind == TY_ENUM || b->kind == TY_POINTER);
}

const char *model_param_kind(const struct idl_var *v)
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
	if (a->count || a->bytes || model_param_one(v))
		return "buf";
	if (model_obj_struct(v->type))
		return "obj";
	return "handle";
}

bool model_reg_of(const struct idl_decl *f, struct model_reg *r)
{
	const struct idl_expr *e = f->attrs.registers;

	if (!e || e->kind != EX_ARROW || e->lhs->kind != EX_NAME || !e->ref_var)
		return false;
	const struct idl_type *t = type_strip(e->ref_var->type);
	if (!t || t->kind != TY_POINTER || !type_strip(t->base))
		return false;
	r->table = type_strip(t->base)->decl;
	r->owner = e->lhs->ref_var ? type_pointee_struct(e->lhs->ref_var->type) : NULL;
	if (!r->owner || !r->table || r->table->kind != D_OPS)
		return false;
	r->param = e->lhs->name;
	r->field = e->name;
	return true;
}

const struct idl_var *model_locator(const struct idl_decl *e, const struct model_reg *r)
{
	struct idl_var *v;
	for_each_var(e->type->params, v)
		if (type_pointee_struct(v->type) == r->owner)
			return v;
	return NULL;
}

const struct idl_var *model_unreplayable(const struct idl_decl *e,
					 const struct idl_var *loc)
{
	struct idl_var *v;
	for_each_var(e->type->params, v) {
		const char *k = model_param_kind(v);
		if (v == loc)
			continue;
		if (!strcmp(k, "obj") || !strcmp(k, "allocout") || v->attrs.transfer)
			return v;
	}
	return NULL;
}
