/*
 * import.c - nooksc import: an IDL skeleton from a C header.
 *
 * libclang parses `#include "HEADER"` with the caller's compiler
 * arguments.  Every requested name is looked up in that translation unit
 * (kernel functions, structs with their fields, structs of function
 * pointers as ops tables) and written back as IDL, pulling in what the
 * declarations need: typedefs (kept by name, down to their base types),
 * enums with explicit values, and structs.  A struct reached only through
 * a pointer becomes `struct NAME;` (opaque); one a function passes by value
 * is defined with its fields; one a field holds by value is defined only
 * if it was asked for, else the field is left out with a TODO (unlisted
 * fields are hidden from extensions anyway, and this keeps the skeleton
 * from growing into half the kernel).  Unions are always defined: the IDL
 * has no opaque union.
 *
 * What the IDL cannot say (bit-fields, members of anonymous type, vector
 * and 128-bit types, anonymous typedef'd structs) is left out with a TODO
 * comment saying why, so the output always passes `nooksc --check`.
 * Anonymous struct and union members are flattened: C lets their fields
 * be named through the parent, which is all verify and the wrappers need.
 *
 * Rendering is a small fixpoint: records are rendered until no rendering
 * promotes another record from opaque to defined.  Everything is emitted
 * grouped by kind, requested items in request order and the rest sorted
 * by name, so the output never depends on hash or visit order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <clang-c/Index.h>

#include "internal.h"
#include "import.h"

#define TU_NAME "nooksc-import.c"
#define MAX_RENDER_ROUNDS 64

enum ent_kind { E_TYPEDEF, E_ENUM, E_OPAQUE, E_RECORD, E_OPS, E_FUNC };

/* One declaration of the skeleton. */
struct ent {
	enum ent_kind kind;
	const char *name;
	bool is_union;
	int order;		/* request order; -1: pulled in */
	bool rendered, failed, busy;
	CXCursor cur;		/* its declaration (the definition if any) */
	const char *text;
	struct ent *next;
};

/* How a type is used: through a pointer, by value in a function's
 * signature (the struct must then be defined), by value in a field (it
 * must already be defined), or as a typedef's underlying type. */
enum use { USE_PTR, USE_SIG, USE_FIELD, USE_TYPEDEF };

struct imp {
	struct nooksc *nc;
	const struct nooksc_import_request *rq;
	struct ent *ents;
	bool promoted;		/* a record became defined this round */
	const char *why;	/* why the last render failed */
	/* every function and record of the translation unit, for look-ups */
	CXCursor *index;
	int n_index, cap_index;
};

#define A(im) ARENA((im)->nc)

static const char *cx(struct imp *im, CXString s)
{
	const char *c = clang_getCString(s);
	const char *copy = arena_strdup(A(im), c ? c : "");
	clang_disposeString(s);
	return copy;
}

static bool reserved(const char *name)
{
	return !strncmp(name, "m4_", 3) || !strncmp(name, "nkm", 3) || strstr(name, "nkm_");
}

/* A struct, union or enum without a tag (clang 14 spells it "", later
 * versions "(unnamed ...)"; isAnonymous alone misses typedef'd ones). */
static bool untagged(CXCursor d)
{
	CXString s = clang_getCursorSpelling(d);
	const char *c = clang_getCString(s);
	bool r = !c || !*c || strchr(c, ' ') || strchr(c, '(') || clang_Cursor_isAnonymous(d);
	clang_disposeString(s);
	return r;
}

static struct ent *find(struct imp *im, enum ent_kind k, const char *name)
{
	for (struct ent *e = im->ents; e; e = e->next)
		if (e->kind == k && !strcmp(e->name, name))
			return e;
	return NULL;
}

static struct ent *add(struct imp *im, enum ent_kind k, const char *name, CXCursor c)
{
	struct ent *e = arena_alloc(A(im), sizeof(*e));
	e->kind = k;
	e->name = name;
	e->cur = c;
	e->order = -1;
	e->next = im->ents;
	im->ents = e;
	return e;
}

static bool fail(struct imp *im, const char *why)
{
	im->why = why;
	return false;
}

/* ---- types ---------------------------------------------------------------- */

static const char *quals(CXType t)
{
	bool c = clang_isConstQualifiedType(t), v = clang_isVolatileQualifiedType(t);
	return c && v ? "const volatile " : c ? "const " : v ? "volatile " : "";
}

static const char *builtin(CXType t)
{
	switch (t.kind) {
	case CXType_Void: return "void";
	case CXType_Bool: return "_Bool";
	case CXType_Char_S: case CXType_Char_U: return "char";
	case CXType_SChar: return "signed char";
	case CXType_UChar: return "unsigned char";
	case CXType_Short: return "short";
	case CXType_UShort: return "unsigned short";
	case CXType_Int: return "int";
	case CXType_UInt: return "unsigned int";
	case CXType_Long: return "long";
	case CXType_ULong: return "unsigned long";
	case CXType_LongLong: return "long long";
	case CXType_ULongLong: return "unsigned long long";
	case CXType_Float: return "float";
	case CXType_Double: return "double";
	case CXType_LongDouble: return "long double";
	default: return NULL;
	}
}

static bool ensure_typedef(struct imp *im, CXCursor c, const char *name);
static bool ensure_enum(struct imp *im, CXCursor c, const char *name);
static bool record_ref(struct imp *im, CXCursor decl, enum use use);

/* "spec inner", or "spec" when there is no declarator */
static const char *spec_decl(struct imp *im, const char *q, const char *spec, const char *inner)
{
	return arena_printf(A(im), "%s%s%s%s", q, spec, *inner ? " " : "", inner);
}

/* The parameter names of a function declarator written at cursor c: its
 * ParmDecl children, when there is one with a name for each argument. */
static const char **parm_names(struct imp *im, CXCursor c, int nargs);

/*
 * The IDL declaration of `inner` with type t (inner is "" for an abstract
 * one), built inside out as C declarators are.  names, when not NULL,
 * names the parameters of the outermost function type.  NULL, with
 * im->why set, when the IDL cannot express the type.
 */
static const char *decl_of(struct imp *im, CXType t, const char *inner, enum use use,
			   const char **names, const char *outer_q)
{
	const char *q = arena_printf(A(im), "%s%s", outer_q, quals(t));
	const char *b;

	switch (t.kind) {
	case CXType_Elaborated:
		return decl_of(im, clang_Type_getNamedType(t), inner, use, names, q);
	case CXType_Typedef: {
		CXCursor d = clang_getTypeDeclaration(t);
		const char *name = cx(im, clang_getCursorSpelling(d));
		if (!strcmp(name, "bool") || !strcmp(name, "_Bool"))
			return spec_decl(im, q, "bool", inner);
		if (!ensure_typedef(im, d, name))
			return NULL;
		if (use == USE_SIG || use == USE_FIELD) {
			/* a struct behind the typedef is used by value */
			CXType k = clang_getCanonicalType(t);
			while (k.kind == CXType_ConstantArray || k.kind == CXType_IncompleteArray)
				k = clang_getArrayElementType(k);
			if (k.kind == CXType_Record &&
			    !record_ref(im, clang_getTypeDeclaration(k), use))
				return NULL;
		}
		return spec_decl(im, q, name, inner);
	}
	case CXType_Record: {
		CXCursor d = clang_getTypeDeclaration(t);
		if (untagged(d))
			return fail(im, "a struct or union without a tag"), NULL;
		if (!record_ref(im, d, use))
			return NULL;
		bool u = clang_getCursorKind(d) == CXCursor_UnionDecl;
		return spec_decl(im, q, arena_printf(A(im), "%s %s", u ? "union" : "struct",
						     cx(im, clang_getCursorSpelling(d))), inner);
	}
	case CXType_Enum: {
		CXCursor d = clang_getTypeDeclaration(t);
		if (untagged(d))
			return fail(im, "an enum without a tag"), NULL;
		const char *name = cx(im, clang_getCursorSpelling(d));
		if (!ensure_enum(im, d, name))
			return NULL;
		return spec_decl(im, q, arena_printf(A(im), "enum %s", name), inner);
	}
	case CXType_Pointer: {
		const char *pq = clang_isConstQualifiedType(t) ? "const " : "";
		const char *in = arena_printf(A(im), "*%s%s", pq, inner);
		if (*q && strcmp(q, "const ") != 0)
			return fail(im, "a volatile pointer"), NULL;
		return decl_of(im, clang_getPointeeType(t), in, USE_PTR, names, "");
	}
	case CXType_ConstantArray:
	case CXType_IncompleteArray: {
		if (t.kind == CXType_ConstantArray &&
		    (clang_getArraySize(t) < 1 || clang_getArraySize(t) > 16777216))
			return fail(im, "an array of 0 or more than 16777216 elements"), NULL;
		const char *in = *inner == '*' ? arena_printf(A(im), "(%s)", inner) : inner;
		in = t.kind == CXType_ConstantArray
			? arena_printf(A(im), "%s[%lld]", in, clang_getArraySize(t))
			: arena_printf(A(im), "%s[]", in);
		return decl_of(im, clang_getArrayElementType(t), in,
			       use == USE_PTR ? USE_FIELD : use, NULL, q);
	}
	case CXType_FunctionProto:
	case CXType_FunctionNoProto: {
		struct strbuf sb = { 0 };
		int n = t.kind == CXType_FunctionProto ? clang_getNumArgTypes(t) : 0;
		for (int i = 0; i < n; i++) {
			CXType at = clang_getArgType(t, (unsigned)i);
			const char *nm = names ? names[i] : "";
			const char *p = decl_of(im, at, nm, USE_SIG, NULL, "");
			if (p && !*nm && strpbrk(p, "(["))	/* no abstract spelling */
				p = decl_of(im, at, arena_printf(A(im), "arg%d", i + 1),
					    USE_SIG, NULL, "");
			if (!p) {
				free(sb.s);
				im->why = arena_printf(A(im), "parameter %d: %s", i + 1, im->why);
				return NULL;
			}
			sb_printf(&sb, "%s%s", i ? ", " : "", p);
		}
		if (t.kind == CXType_FunctionProto && clang_isFunctionTypeVariadic(t))
			sb_puts(&sb, n ? ", ..." : "...");
		else if (!n)
			sb_puts(&sb, "void");
		const char *params = sb_finish(A(im), &sb);
		if (t.kind == CXType_FunctionProto && clang_isFunctionTypeVariadic(t) && !n)
			return fail(im, "a variadic function without named parameters"), NULL;
		const char *in = *inner == '*' ? arena_printf(A(im), "(%s)", inner) : inner;
		in = arena_printf(A(im), "%s(%s)", in, params);
		const char *r = decl_of(im, clang_getResultType(t), in, USE_SIG, NULL, "");
		if (!r)
			im->why = arena_printf(A(im), "result: %s", im->why);
		return r;
	}
	case CXType_Unexposed:
	case CXType_Attributed: {
		CXType m = t.kind == CXType_Attributed ? clang_Type_getModifiedType(t)
						      : clang_getCanonicalType(t);
		if (m.kind == CXType_Unexposed || m.kind == CXType_Invalid)
			break;
		return decl_of(im, m, inner, use, names, q);
	}
	default:
		break;
	}
	b = builtin(t);
	if (!b)
		return fail(im, arena_printf(A(im), "type '%s' has no IDL spelling",
					     cx(im, clang_getTypeSpelling(t)))), NULL;
	return spec_decl(im, q, b, inner);
}

struct names_acc {
	struct imp *im;
	const char **names;
	int n, max;
};

static enum CXChildVisitResult names_visit(CXCursor c, CXCursor parent, CXClientData data)
{
	struct names_acc *a = data;
	(void)parent;
	if (clang_getCursorKind(c) == CXCursor_ParmDecl) {
		if (a->n < a->max)
			a->names[a->n] = cx(a->im, clang_getCursorSpelling(c));
		a->n++;
	}
	return CXChildVisit_Continue;
}

static const char **parm_names(struct imp *im, CXCursor c, int nargs)
{
	struct names_acc a = { im, arena_alloc(A(im), sizeof(char *) * (size_t)(nargs + 1)),
			       0, nargs };
	clang_visitChildren(c, names_visit, &a);
	if (a.n != nargs) {
		/* a typedef'd function type: its own declaration has the names */
		CXType t = clang_getCursorType(c);
		while (t.kind == CXType_Elaborated)
			t = clang_Type_getNamedType(t);
		if (t.kind == CXType_Pointer)
			t = clang_getPointeeType(t);
		while (t.kind == CXType_Elaborated)
			t = clang_Type_getNamedType(t);
		if (t.kind == CXType_Typedef &&
		    !clang_equalCursors(clang_getTypeDeclaration(t), c))
			return parm_names(im, clang_getTypeDeclaration(t), nargs);
		a.n = 0;
	}
	for (int i = 0; i < nargs; i++) {
		const char *s = i < a.n ? a.names[i] : "";
		bool dup = false;
		for (int j = 0; j < i && *s; j++)
			dup |= !strcmp(a.names[j], s);
		if (!*s || dup || reserved(s))
			s = arena_printf(A(im), "arg%d", i + 1);
		a.names[i] = s;
	}
	return a.names;
}

static bool ensure_typedef(struct imp *im, CXCursor c, const char *name)
{
	struct ent *e = find(im, E_TYPEDEF, name);
	if (e && e->busy)
		return fail(im, "a typedef that refers to itself");
	if (e)
		return e->failed ? fail(im, e->text) : true;
	e = add(im, E_TYPEDEF, name, c);
	if (reserved(name)) {
		e->failed = true;
		e->text = arena_printf(A(im), "typedef '%s' has a name the IDL reserves", name);
		return fail(im, e->text);
	}
	e->busy = true;
	const char *d = decl_of(im, clang_getTypedefDeclUnderlyingType(c), name,
				USE_TYPEDEF, NULL, "");
	e->busy = false;
	e->rendered = true;
	if (!d) {
		e->failed = true;
		e->text = arena_printf(A(im), "typedef '%s' is %s", name, im->why);
		return fail(im, e->text);
	}
	e->text = arena_printf(A(im), "typedef %s;\n", d);
	return true;
}

struct enum_acc {
	struct imp *im;
	struct strbuf sb;
	int n;
};

static enum CXChildVisitResult enum_visit(CXCursor c, CXCursor parent, CXClientData data)
{
	struct enum_acc *a = data;
	(void)parent;
	if (clang_getCursorKind(c) != CXCursor_EnumConstantDecl)
		return CXChildVisit_Continue;
	const char *name = cx(a->im, clang_getCursorSpelling(c));
	long long v = clang_getEnumConstantDeclValue(c);
	unsigned long long u = clang_getEnumConstantDeclUnsignedValue(c);
	CXType it = clang_getEnumDeclIntegerType(clang_getCursorSemanticParent(c));
	bool is_unsigned = it.kind == CXType_UInt || it.kind == CXType_ULong ||
			   it.kind == CXType_ULongLong;
	if (is_unsigned && u > 0x7fffffffffffffffULL)
		sb_printf(&a->sb, "\t/* TODO: %s = %llu does not fit the IDL's integers */\n",
			  name, u);
	else if (v == -0x7fffffffffffffffLL - 1)
		sb_printf(&a->sb, "\t%s = -9223372036854775807 - 1,\n", name);
	else if (v < 0 && !is_unsigned)
		sb_printf(&a->sb, "\t%s = -%lld,\n", name, -v);
	else
		sb_printf(&a->sb, "\t%s = %llu,\n", name, is_unsigned ? u : (unsigned long long)v);
	a->n++;
	return CXChildVisit_Continue;
}

static bool ensure_enum(struct imp *im, CXCursor c, const char *name)
{
	struct ent *e = find(im, E_ENUM, name);
	if (e)
		return e->failed ? fail(im, e->text) : true;
	CXCursor def = clang_getCursorDefinition(c);
	e = add(im, E_ENUM, name, c);
	e->rendered = true;
	struct enum_acc a = { .im = im };
	if (!clang_Cursor_isNull(def))
		clang_visitChildren(def, enum_visit, &a);
	if (!a.n || reserved(name)) {
		free(a.sb.s);
		e->failed = true;
		e->text = a.n ? arena_printf(A(im), "enum '%s' has a name the IDL reserves", name)
			      : arena_printf(A(im), "enum '%s' has no enumerators in the header", name);
		return fail(im, e->text);
	}
	e->text = arena_printf(A(im), "enum %s {\n%s};\n", name, sb_finish(A(im), &a.sb));
	return true;
}

/* A struct or union named by a type used as `use`. */
static bool record_ref(struct imp *im, CXCursor decl, enum use use)
{
	const char *name = cx(im, clang_getCursorSpelling(decl));
	bool u = clang_getCursorKind(decl) == CXCursor_UnionDecl;
	CXCursor def = clang_getCursorDefinition(decl);
	struct ent *rec = find(im, E_RECORD, name), *ops = find(im, E_OPS, name);

	if (reserved(name))
		return fail(im, arena_printf(A(im), "'%s' has a name the IDL reserves", name));
	if (ops) {
		if (use == USE_PTR || use == USE_TYPEDEF)
			return true;
		return fail(im, arena_printf(A(im), "ops table 'struct %s' by value", name));
	}
	if (rec)
		return true;
	if (u || use == USE_SIG) {
		/* unions are never opaque; a struct a function passes by value
		 * is copied, so it needs its fields */
		if (clang_Cursor_isNull(def))
			return fail(im, arena_printf(A(im), "%s %s has no definition in the header",
						     u ? "union" : "struct", name));
		struct ent *o = find(im, E_OPAQUE, name);
		if (o)
			o->failed = true;	/* superseded */
		rec = add(im, E_RECORD, name, def);
		rec->is_union = u;
		im->promoted = true;
		return true;
	}
	if (use == USE_FIELD)
		return fail(im, arena_printf(A(im), "struct %s by value is not imported "
					     "(import it with --struct %s)", name, name));
	if (!find(im, E_OPAQUE, name))
		add(im, E_OPAQUE, name, decl)->rendered = true;
	return true;
}

/* ---- records and ops tables ----------------------------------------------- */

struct fields_acc {
	struct imp *im;
	struct strbuf sb;
	struct strbuf ptrs;	/* pointer fields, for the TODO */
	const char *indent;
	bool ops;
};

static enum CXVisitorResult field_visit(CXCursor c, CXClientData data);

static void flatten(struct fields_acc *a, CXCursor c, CXType t)
{
	bool u = clang_getCursorKind(clang_getTypeDeclaration(t)) == CXCursor_UnionDecl;
	(void)c;
	if (u)
		sb_printf(&a->sb, "%s/* TODO: the fields down to 'end of union' share storage "
			  "(an anonymous union in the header) */\n", a->indent);
	clang_Type_visitFields(t, field_visit, a);
	if (u)
		sb_printf(&a->sb, "%s/* end of union */\n", a->indent);
}

static void ops_entry(struct fields_acc *a, CXCursor c, const char *name, CXType t)
{
	struct imp *im = a->im;
	/* down to the function type, keeping typedef'd parameter names */
	for (int i = 0; i < 16; i++) {
		if (t.kind == CXType_Elaborated)
			t = clang_Type_getNamedType(t);
		else if (t.kind == CXType_Typedef)
			t = clang_getTypedefDeclUnderlyingType(clang_getTypeDeclaration(t));
		else if (t.kind == CXType_Pointer && i == 0)
			t = clang_getPointeeType(t);
		else
			break;
	}
	if (t.kind == CXType_Pointer)
		t = clang_getPointeeType(t);
	while (t.kind == CXType_Elaborated || t.kind == CXType_Typedef)
		t = t.kind == CXType_Elaborated ? clang_Type_getNamedType(t)
			: clang_getTypedefDeclUnderlyingType(clang_getTypeDeclaration(t));
	if (t.kind != CXType_FunctionProto && t.kind != CXType_FunctionNoProto) {
		sb_printf(&a->sb, "\t/* TODO: '%s' left out: not a function pointer "
			  "(an ops table lists entries only) */\n", name);
		return;
	}
	int n = t.kind == CXType_FunctionProto ? clang_getNumArgTypes(t) : 0;
	const char **names = parm_names(im, c, n);
	const char *d = decl_of(im, t, name, USE_SIG, names, "");
	if (!d) {
		sb_printf(&a->sb, "\t/* TODO: '%s' left out: %s */\n", name, im->why);
		return;
	}
	struct strbuf todo = { 0 };
	for (int i = 0; i < n; i++) {
		CXType at = clang_getCanonicalType(clang_getArgType(t, (unsigned)i));
		if (at.kind == CXType_Pointer)
			sb_printf(&todo, "%s%s", todo.len ? ", " : "", names[i]);
	}
	CXType rt = clang_getCanonicalType(clang_getResultType(t));
	if (todo.len)
		sb_printf(&a->sb, "\t/* TODO: annotate %s (in/out, count/bytes/string, "
			  "nullable, transfer) */\n", sb_finish(A(im), &todo));
	else
		free(todo.s);
	if (rt.kind != CXType_Void)
		sb_printf(&a->sb, "\t/* TODO: fault(value): what the kernel gets if the "
			  "extension fails */\n");
	sb_printf(&a->sb, "\t%s;\n", d);
}

static enum CXVisitorResult field_visit(CXCursor c, CXClientData data)
{
	struct fields_acc *a = data;
	struct imp *im = a->im;
	const char *name = cx(im, clang_getCursorSpelling(c));
	CXType t = clang_getCursorType(c);
	CXType k = clang_getCanonicalType(t);
	CXCursor td = clang_getTypeDeclaration(k);
	bool anon_type = (k.kind == CXType_Record || k.kind == CXType_Enum) &&
			 untagged(td);

	if (!*name && k.kind == CXType_Record) {
		flatten(a, c, k);
		return CXVisit_Continue;
	}
	if (a->ops) {
		ops_entry(a, c, name, t);
		return CXVisit_Continue;
	}
	const char *d = NULL;
	if (clang_Cursor_isBitField(c))
		im->why = "a bit-field";
	else if (anon_type)
		im->why = "its type has no tag";
	else if (reserved(name))
		im->why = "its name is reserved by the IDL";
	else
		d = decl_of(im, t, name, USE_FIELD, NULL, "");
	if (!d) {
		sb_printf(&a->sb, "%s/* TODO: '%s' left out: %s */\n", a->indent, name, im->why);
		return CXVisit_Continue;
	}
	if (k.kind == CXType_Pointer)
		sb_printf(&a->ptrs, "%s%s", a->ptrs.len ? ", " : "", name);
	sb_printf(&a->sb, "%s%s;\n", a->indent, d);
	return CXVisit_Continue;
}

static void render_record(struct imp *im, struct ent *e)
{
	struct fields_acc a = { .im = im, .indent = "\t", .ops = e->kind == E_OPS };
	const char *kw = e->kind == E_OPS ? "ops" : e->is_union ? "union" : "struct";

	clang_Type_visitFields(clang_getCursorType(e->cur), field_visit, &a);
	const char *body = a.sb.s ? sb_finish(A(im), &a.sb) : "";
	const char *todo;
	if (e->kind == E_OPS)
		todo = arena_printf(A(im), "/* TODO: ops %s: which entries the kernel calls; "
				    "fault() and timeout() for each */\n", e->name);
	else if (a.ptrs.len)
		todo = arena_printf(A(im), "/* TODO: %s %s crosses: mark fields writable, "
				    "private or hidden;\n * annotate pointer fields %s; drop fields "
				    "extensions do not use */\n", kw, e->name,
				    sb_finish(A(im), &a.ptrs));
	else
		todo = arena_printf(A(im), "/* TODO: %s %s crosses: mark fields writable, "
				    "private or hidden;\n * drop fields extensions do not use */\n",
				    kw, e->name);
	free(a.ptrs.s);
	e->text = arena_printf(A(im), "%s%s %s {\n%s};\n", todo, kw, e->name, body);
	e->rendered = true;
}

static void render_func(struct imp *im, struct ent *e)
{
	CXType t = clang_getCursorType(e->cur);
	int n = clang_Cursor_getNumArguments(e->cur);
	const char **names = arena_alloc(A(im), sizeof(char *) * (size_t)(n > 0 ? n : 1));
	struct strbuf sb = { 0 }, todo = { 0 };

	for (int i = 0; i < n; i++) {
		CXCursor p = clang_Cursor_getArgument(e->cur, (unsigned)i);
		const char *s = cx(im, clang_getCursorSpelling(p));
		bool dup = false;
		for (int j = 0; j < i && *s; j++)
			dup |= !strcmp(names[j], s);
		names[i] = *s && !dup && !reserved(s) ? s : arena_printf(A(im), "arg%d", i + 1);
		if (clang_getCanonicalType(clang_getCursorType(p)).kind == CXType_Pointer)
			sb_printf(&todo, "%s%s", todo.len ? ", " : "", names[i]);
	}
	const char *d = decl_of(im, t, e->name, USE_SIG, n >= 0 ? names : NULL, "");
	e->rendered = true;
	if (!d) {
		free(todo.s);
		e->failed = true;
		e->text = arena_printf(A(im), "\t/* TODO: '%s' left out: %s */\n", e->name, im->why);
		diag(im->nc, NOOKSC_WARNING, "import", NULL,
		     "'%s' left out of the skeleton: %s", e->name, im->why);
		return;
	}
	if (todo.len)
		sb_printf(&sb, "\t/* TODO: annotate %s (in/out, count/bytes/string, nullable, "
			  "release/transfer) */\n", sb_finish(A(im), &todo));
	else
		free(todo.s);
	if (clang_getCanonicalType(clang_getResultType(t)).kind == CXType_Pointer)
		sb_printf(&sb, "\t/* TODO: the result: alloc(release_fn)? nullable? */\n");
	sb_printf(&sb, "\t%s;\n", d);
	e->text = sb_finish(A(im), &sb);
}

/* ---- the translation unit ---------------------------------------------- */

static enum CXChildVisitResult index_visit(CXCursor c, CXCursor parent, CXClientData data)
{
	struct imp *im = data;
	enum CXCursorKind k = clang_getCursorKind(c);
	(void)parent;
	if (k != CXCursor_FunctionDecl && k != CXCursor_StructDecl && k != CXCursor_UnionDecl)
		return CXChildVisit_Continue;
	if (im->n_index == im->cap_index) {
		int cap = im->cap_index ? im->cap_index * 2 : 1024;
		CXCursor *p = realloc(im->index, sizeof(*p) * (size_t)cap);
		if (!p)
			return CXChildVisit_Break;
		im->index = p;
		im->cap_index = cap;
	}
	im->index[im->n_index++] = c;
	/* structs declared inside structs are file-scope in C */
	return k == CXCursor_FunctionDecl ? CXChildVisit_Continue : CXChildVisit_Recurse;
}

/* The function, or the record (its definition when there is one). */
static bool lookup(struct imp *im, bool func, const char *name, CXCursor *out)
{
	bool found = false;
	for (int i = 0; i < im->n_index; i++) {
		CXCursor c = im->index[i];
		bool is_func = clang_getCursorKind(c) == CXCursor_FunctionDecl;
		if (is_func != func)
			continue;
		CXString s = clang_getCursorSpelling(c);
		bool match = !strcmp(clang_getCString(s), name);
		clang_disposeString(s);
		if (!match)
			continue;
		if (!found || clang_isCursorDefinition(c))
			*out = c;
		found = true;
		if (func || clang_isCursorDefinition(c))
			break;
	}
	return found;
}

/* The text of line `line` of path, for the caret (NULL if unreadable). */
static const char *line_text(struct imp *im, const char *path, unsigned line)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	const char *text = NULL;
	unsigned n = 0;
	if (!f)
		return NULL;
	while (fgets(buf, sizeof(buf), f)) {
		size_t len = strlen(buf);
		bool whole = len && buf[len - 1] == '\n';
		if (++n == line) {
			text = arena_strdup(A(im), buf);
			break;
		}
		while (!whole && fgets(buf, sizeof(buf), f)) {
			len = strlen(buf);
			whole = len && buf[len - 1] == '\n';
		}
	}
	fclose(f);
	return text;
}

static void report_clang(struct imp *im, CXTranslationUnit unit)
{
	for (unsigned i = 0; i < clang_getNumDiagnostics(unit); i++) {
		CXDiagnostic dg = clang_getDiagnostic(unit, i);
		if (clang_getDiagnosticSeverity(dg) >= CXDiagnostic_Error) {
			CXFile file;
			unsigned line, col;
			clang_getSpellingLocation(clang_getDiagnosticLocation(dg), &file,
						  &line, &col, NULL);
			const char *path = file ? cx(im, clang_getFileName(file)) : "";
			const char *msg = cx(im, clang_getDiagnosticSpelling(dg));
			if (!*path || !strcmp(path, TU_NAME)) {
				diag(im->nc, NOOKSC_ERROR, "header", NULL, "cannot read \"%s\": %s",
				     im->rq->header, msg);
			} else {
				struct srcpos pos = { .file = path, .line = (int)line,
						      .col = (int)col, .last_line = (int)line,
						      .last_col = (int)col };
				pos.text = line_text(im, path, line);
				diag(im->nc, NOOKSC_ERROR, "header", &pos, "%s", msg);
			}
		}
		clang_disposeDiagnostic(dg);
	}
}

static const char *default_interface(struct imp *im, const char *header)
{
	const char *base = strrchr(header, '/');
	char *s = arena_strdup(A(im), base ? base + 1 : header);
	char *dot = strrchr(s, '.');
	if (dot && dot != s)
		*dot = '\0';
	for (char *p = s; *p; p++)
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			*p = '_';
	if (!*s || (*s >= '0' && *s <= '9') || reserved(s))
		s = arena_printf(A(im), "if_%s", s);
	return s;
}

static int by_name(const void *a, const void *b)
{
	const struct ent *x = *(struct ent *const *)a, *y = *(struct ent *const *)b;
	if ((x->order < 0) != (y->order < 0))
		return x->order < 0 ? 1 : -1;
	if (x->order >= 0)
		return x->order - y->order;
	return strcmp(x->name, y->name);
}

/* Every entity of kind k that is to be written, in output order. */
static void put_kind(struct imp *im, struct strbuf *out, enum ent_kind k, const char *sep)
{
	int n = 0, i = 0;
	for (struct ent *e = im->ents; e; e = e->next)
		n += e->kind == k;
	if (!n)
		return;
	struct ent **v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return;
	for (struct ent *e = im->ents; e; e = e->next)
		if (e->kind == k)
			v[i++] = e;
	qsort(v, (size_t)n, sizeof(*v), by_name);
	bool any = false;
	for (i = 0; i < n; i++) {
		if (k != E_FUNC && (v[i]->failed || (!v[i]->text && k != E_OPAQUE)))
			continue;
		if (k == E_OPAQUE && (find(im, E_RECORD, v[i]->name) || find(im, E_OPS, v[i]->name)))
			continue;
		if (k == E_OPAQUE)
			sb_printf(out, "%sstruct %s;\n", any ? "" : "\n", v[i]->name);
		else
			sb_printf(out, "%s%s", any || k != E_TYPEDEF ? sep : "\n", v[i]->text);
		any = true;
	}
	free(v);
}

static const char *kind_word(enum nooksc_import_kind k)
{
	return k == NOOKSC_IMPORT_FUNCTION ? "function" : k == NOOKSC_IMPORT_OPS ? "struct"
									     : "struct or union";
}

int nooksc_import(struct nooksc *nc, const struct nooksc_import_request *rq,
		  const char **idl)
{
	struct imp im = { .nc = nc, .rq = rq };
	int before = nooksc_errors(nc);

	*idl = NULL;
	const char **args = calloc((size_t)rq->n_clang_args + 4, sizeof(*args));
	if (!args)
		return -1;
	int n = 0;
	args[n++] = "-std=gnu11";
	for (int i = 0; i < rq->n_clang_args; i++)
		args[n++] = rq->clang_args[i];
	const char *src = arena_printf(ARENA(nc), "#include \"%s\"\n", rq->header);
	struct CXUnsavedFile tu = { .Filename = TU_NAME, .Contents = src,
				    .Length = (unsigned long)strlen(src) };
	CXIndex index = clang_createIndex(0, 0);
	CXTranslationUnit unit = NULL;
	enum CXErrorCode err = clang_parseTranslationUnit2(
		index, TU_NAME, args, n, &tu, 1,
		CXTranslationUnit_SkipFunctionBodies | CXTranslationUnit_KeepGoing, &unit);
	free(args);
	if (err != CXError_Success || !unit) {
		diag(nc, NOOKSC_ERROR, "header", NULL,
		     "libclang could not parse the header \"%s\" (error %d)", rq->header, (int)err);
		clang_disposeIndex(index);
		return -1;
	}
	report_clang(&im, unit);
	if (nooksc_errors(nc) > before)
		goto out;

	clang_visitChildren(clang_getTranslationUnitCursor(unit), index_visit, &im);

	/* the requested items, in request order; unknown names are errors */
	for (int i = 0; i < rq->n_items; i++) {
		const struct nooksc_import_item *it = &rq->items[i];
		bool func = it->kind == NOOKSC_IMPORT_FUNCTION;
		enum ent_kind k = func ? E_FUNC : it->kind == NOOKSC_IMPORT_OPS ? E_OPS : E_RECORD;
		const struct srcpos *pos = it->pos.file ? &it->pos : NULL;
		CXCursor c;
		if (find(&im, k, it->name))
			continue;		/* asked twice */
		if (!lookup(&im, func, it->name, &c)) {
			diag(nc, NOOKSC_ERROR, "import", pos, "no %s '%s' in \"%s\"",
			     kind_word(it->kind), it->name, rq->header);
			continue;
		}
		if (reserved(it->name)) {
			diag(nc, NOOKSC_ERROR, "import", pos,
			     "'%s' has a name the IDL reserves for the code generator", it->name);
			continue;
		}
		bool is_union = clang_getCursorKind(c) == CXCursor_UnionDecl;
		if (!func && !clang_isCursorDefinition(c)) {
			if (k == E_OPS || is_union) {
				diag(nc, NOOKSC_ERROR, "import", pos,
				     "'%s' has no definition in \"%s\"", it->name, rq->header);
				continue;
			}
			diag(nc, NOOKSC_WARNING, "import", pos,
			     "struct '%s' has no definition in \"%s\"; it stays opaque",
			     it->name, rq->header);
			if (!find(&im, E_OPAQUE, it->name))
				add(&im, E_OPAQUE, it->name, c)->rendered = true;
			continue;
		}
		if (k == E_OPS && is_union) {
			diag(nc, NOOKSC_ERROR, "import", pos, "'%s' is a union, not an ops table",
			     it->name);
			continue;
		}
		if (k != E_FUNC && find(&im, k == E_OPS ? E_RECORD : E_OPS, it->name)) {
			diag(nc, NOOKSC_ERROR, "import", pos,
			     "'%s' asked for both as a struct and as an ops table", it->name);
			continue;
		}
		struct ent *e = add(&im, k, it->name, c);
		e->order = i;
		e->is_union = is_union;
	}
	if (nooksc_errors(nc) > before)
		goto out;

	/* functions and ops first: they decide which structs are defined */
	for (struct ent *e = im.ents; e; e = e->next)
		if (e->kind == E_FUNC)
			render_func(&im, e);
	for (int round = 0; round < MAX_RENDER_ROUNDS; round++) {
		im.promoted = false;
		for (struct ent *e = im.ents; e; e = e->next)
			if ((e->kind == E_OPS || e->kind == E_RECORD) && !e->failed)
				render_record(&im, e);
		if (!im.promoted)
			break;
	}

	struct strbuf out = { 0 };
	const char *iface = rq->interface ? rq->interface : default_interface(&im, rq->header);
	sb_printf(&out, "/* %s.idl - written by 'nooksc import' from \"%s\": every TODO marks\n"
		  " * an annotation to decide (docs/idl.md, section 6). */\n", iface, rq->header);
	sb_printf(&out, "interface %s;\nheader \"%s\";\n", iface, rq->header);
	put_kind(&im, &out, E_TYPEDEF, "");
	put_kind(&im, &out, E_ENUM, "\n");
	put_kind(&im, &out, E_OPAQUE, "");
	put_kind(&im, &out, E_RECORD, "\n");
	put_kind(&im, &out, E_OPS, "\n");
	bool any_func = false;
	for (struct ent *e = im.ents; e; e = e->next)
		any_func |= e->kind == E_FUNC;
	if (any_func) {
		sb_puts(&out, "\nkernel {\n");
		put_kind(&im, &out, E_FUNC, "");
		sb_puts(&out, "};\n");
	}
	*idl = sb_finish(ARENA(nc), &out);
out:
	free(im.index);
	clang_disposeTranslationUnit(unit);
	clang_disposeIndex(index);
	if (nooksc_errors(nc) > before) {
		*idl = NULL;
		return -1;
	}
	return 0;
}

/* ---- list files ------------------------------------------------------------ */

int nooksc_import_read_list(struct nooksc *nc, const char *path,
			    struct nooksc_import_item **items, int *n)
{
	FILE *f = fopen(path, "r");
	int before = nooksc_errors(nc), cap = 0;
	struct strbuf sb = { 0 };
	char buf[4096];
	size_t got;

	*items = NULL;
	*n = 0;
	if (!f) {
		diag(nc, NOOKSC_ERROR, "import", NULL, "cannot read list file '%s': %s", path,
		     strerror(errno));
		return -1;
	}
	while ((got = fread(buf, 1, sizeof(buf) - 1, f)) > 0) {
		buf[got] = '\0';
		if (memchr(buf, '\0', got)) {
			diag(nc, NOOKSC_ERROR, "import", NULL, "list file '%s' is not text", path);
			fclose(f);
			free(sb.s);
			return -1;
		}
		sb_puts(&sb, buf);
	}
	fclose(f);
	char *text = sb.s ? sb_finish(ARENA(nc), &sb) : arena_strdup(ARENA(nc), "");
	const char *file = arena_strdup(ARENA(nc), path);
	int line = 0;
	for (char *p = text; *p; ) {
		char *eol = strchr(p, '\n');
		char *end = eol ? eol : p + strlen(p);
		const char *line_start = p;
		line++;
		enum nooksc_import_kind kind = NOOKSC_IMPORT_FUNCTION;
		bool first = true;
		while (p < end) {
			while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == ','))
				p++;
			if (p == end || *p == '#')
				break;
			char *w = p;
			while (p < end && *p != ' ' && *p != '\t' && *p != '\r' && *p != ',')
				p++;
			int len = (int)(p - w);
			struct srcpos pos = { .file = file, .text = line_start, .line = line,
					      .col = (int)(w - line_start) + 1, .last_line = line,
					      .last_col = (int)(p - line_start) };
			if (first) {
				first = false;
				if (len == 8 && !strncmp(w, "function", 8))
					kind = NOOKSC_IMPORT_FUNCTION;
				else if (len == 6 && !strncmp(w, "struct", 6))
					kind = NOOKSC_IMPORT_STRUCT;
				else if (len == 3 && !strncmp(w, "ops", 3))
					kind = NOOKSC_IMPORT_OPS;
				else {
					diag(nc, NOOKSC_ERROR, "import", &pos,
					     "expected 'function', 'struct' or 'ops', found '%.*s'",
					     len > 64 ? 64 : len, w);
					break;
				}
				continue;
			}
			bool ident = !(*w >= '0' && *w <= '9');
			for (char *q = w; q < p; q++)
				ident &= *q == '_' || (*q >= 'a' && *q <= 'z') ||
					 (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9');
			if (!ident || len > 255) {
				diag(nc, NOOKSC_ERROR, "import", &pos, "'%.*s' is not a C identifier",
				     len > 64 ? 64 : len, w);
				continue;
			}
			if (*n == cap) {
				int ncap = cap ? cap * 2 : 32;
				struct nooksc_import_item *v = arena_alloc(ARENA(nc), sizeof(*v) * (size_t)ncap);
				if (*n)
					memcpy(v, *items, sizeof(*v) * (size_t)*n);
				*items = v;
				cap = ncap;
			}
			(*items)[(*n)++] = (struct nooksc_import_item){
				.kind = kind, .name = arena_strndup(ARENA(nc), w, (size_t)len), .pos = pos };
		}
		p = eol ? eol + 1 : end;
	}
	return nooksc_errors(nc) > before ? -1 : 0;
}
