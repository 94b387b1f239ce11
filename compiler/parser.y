/*
 * parser.y - the IDL grammar (docs/idl.md has it in EBNF).
 *
 * A pure LALR(1) parser with locations.  It builds the AST in the
 * context's arena and leaves every meaning to the checks: annotation names
 * are plain identifiers here, and so are the IDL's top-level words
 * (interface, header, import, kernel, ops, opaque), which top_item() and
 * the section rules interpret.  Declarators follow C: a declarator is a
 * list of derivations (pointer, array, function) applied to the type its
 * specifiers name, so `int (*fn)(int)` and `char *argv[4]` read as in C.
 * Errors recover at the next `;` or `}` so one run reports several.
 */
%define api.pure full
%define api.prefix {idl_}
%define api.location.type {struct srcpos}
%define parse.error custom
%locations
%parse-param {struct parse_state *ps}
%lex-param {struct parse_state *ps}

%code requires {
#include "internal.h"

/* A declarator under construction: its name and derivations, first-applied
 * first, chained through ->base until type_derive() plugs the base in. */
struct dtor {
	const char *name;
	struct srcpos pos;
	struct idl_type *first, *last;
};

struct exprlist {
	struct idl_expr **v;
	int n;
};

#define YYLLOC_DEFAULT(Cur, Rhs, N)					\
	do {								\
		if (N) {						\
			(Cur) = YYRHSLOC(Rhs, 1);			\
			(Cur).last_line = YYRHSLOC(Rhs, N).last_line;	\
			(Cur).last_col = YYRHSLOC(Rhs, N).last_col;	\
		} else {						\
			(Cur) = YYRHSLOC(Rhs, 0);			\
			(Cur).line = (Cur).last_line;			\
			(Cur).col = (Cur).last_col;			\
		}							\
	} while (0)
}

%code {
#include <string.h>

#define MAX_ARGS 8

int idl_lex(IDL_STYPE *lval, IDL_LTYPE *lloc, void *scanner);

static int idl_lex_ps(IDL_STYPE *lval, IDL_LTYPE *lloc,
		      struct parse_state *ps)
{
	int t = idl_lex(lval, lloc, ps->scanner);

	ps->prev_tok = ps->tok;
	ps->tok = *lloc;
	ps->tok_eof = t == 0;
	return t;
}
#define idl_lex(l, p, ps) idl_lex_ps(l, p, ps)

static void idl_error(IDL_LTYPE *loc, struct parse_state *ps, const char *msg)
{
	diag(ps->nc, NOOKSC_ERROR, "syntax", loc, "%s", msg);
}

/* A token as written, for a message: 'x', or its kind when too long. */
static const char *tok_text(struct parse_state *ps, const struct srcpos *p,
			    const char *kind)
{
	int n = p->last_col - p->col + 1;

	if (!p->text || p->last_line != p->line || n < 1 || n > 40)
		return kind;
	return arena_printf(ARENA(ps->nc), "'%.*s'", n, p->text + p->col - 1);
}

static struct dtor dtor_prepend(struct idl_type *first, struct idl_type *last,
				struct dtor d)
{
	/* first..last are applied before d's own derivations */
	last->base = d.first;
	d.first = first;
	if (!d.last)
		d.last = last;
	return d;
}

static struct idl_type *finish_type(struct parse_state *ps,
				    struct idl_type *spec, struct dtor *d)
{
	return type_derive(ps, spec, d->first);
}

static struct idl_type *base_kw(struct parse_state *ps, unsigned kw,
				const struct srcpos *pos)
{
	struct idl_type *t = new_type(ps, TY_BASE, pos);
	t->kw = kw;
	t->name = base_type_name(kw);	/* NULL: the type-invalid check says so */
	return t;
}

static struct idl_var *make_var(struct parse_state *ps, struct idl_annot *lead,
				struct idl_type *spec, struct dtor *d,
				struct idl_annot *trail, const struct srcpos *pos)
{
	struct idl_var *v = new_var(ps, d->name, finish_type(ps, spec, d),
				    d->name ? &d->pos : pos);
	annots_append(ps, &v->attrs.list, lead);
	annots_append(ps, &v->attrs.list, trail);
	return v;
}
}

%union {
	char *str;
	long long ival;
	unsigned u;
	struct idl_type *type;
	struct idl_expr *expr;
	struct idl_annot *annot;
	struct idl_var *var;
	struct idl_decl *decl;
	struct dtor dtor;
	struct exprlist args;
}

%token <str> IDENT "identifier" STRING "string"
%token <ival> INTEGER "number"
%token STRUCT "'struct'" UNION "'union'" ENUM "'enum'" TYPEDEF "'typedef'"
%token CONST "'const'" VOLATILE "'volatile'" SIZEOF "'sizeof'"
%token VOID "'void'" CHAR "'char'" SHORT "'short'" INT "'int'" LONG "'long'"
%token SIGNED "'signed'" UNSIGNED "'unsigned'" FLOAT "'float'"
%token DOUBLE "'double'" BOOL "'_Bool'"
%token LATTR "'[['" RATTR "']]'" ARROW "'->'" ELLIPSIS "'...'" SHL "'<<'" SHR "'>>'"

%type <u> quals quals_opt kw kwlist
%type <type> specs base pointer typename
%type <dtor> declarator direct_declarator abstract_opt
%type <expr> expr unary postfix primary
%type <annot> attrs attrs_opt annot annot_list
%type <args> args
%type <var> params param_list param fields field field_dtors struct_body
%type <decl> funcs func enumerators enumerator

%left '|'
%left '^'
%left '&'
%left SHL SHR
%left '+' '-'
%left '*' '/' '%'

%destructor { } <*>

%%

file:
	  %empty
	| file item
	;

item:
	  IDENT IDENT ';'
		{ top_item(ps, $1, &@1, $2, &@2, false); }
	| IDENT STRING ';'
		{ top_item(ps, $1, &@1, $2, &@2, true); }
	| IDENT '{' funcs '}'
		{
			if (strcmp($1, "kernel") != 0)
				diag(ps->nc, NOOKSC_ERROR, "syntax", &@1,
				     "expected 'kernel {' or 'ops NAME {', found '%s {'", $1);
			for (struct idl_decl *f = $3, *n; f; f = n) {
				n = f->next_member;
				f->next_member = NULL;
				add_decl(ps, f);
			}
		}
	| IDENT IDENT '{' funcs '}'
		{
			if (strcmp($1, "ops") != 0)
				diag(ps->nc, NOOKSC_ERROR, "syntax", &@1,
				     "expected 'ops %s {', found '%s %s {'", $2, $1, $2);
			struct idl_decl *t = new_decl(ps, D_OPS, $2, &@2);
			t->members = $4;
			for (struct idl_decl *f = $4; f; f = f->next_member) {
				f->is_ops_entry = true;
				f->parent = t;
			}
			add_decl(ps, t);
		}
	| IDENT STRUCT IDENT ';'
		{
			if (strcmp($1, "opaque") != 0)
				diag(ps->nc, NOOKSC_ERROR, "syntax", &@1,
				     "expected 'opaque struct %s', found '%s struct'", $3, $1);
			struct idl_decl *d = new_decl(ps, D_STRUCT, $3, &@3);
			d->opaque = true;
			add_decl(ps, d);
		}
	| IDENT STRUCT IDENT struct_body ';'
		{
			if (strcmp($1, "opaque") != 0)
				diag(ps->nc, NOOKSC_ERROR, "syntax", &@1,
				     "expected 'opaque struct %s', found '%s struct'", $3, $1);
			struct idl_decl *d = new_decl(ps, D_STRUCT, $3, &@3);
			d->opaque = d->defined = true;
			d->fields = $4;
			add_decl(ps, d);
		}
	| STRUCT IDENT ';'
		{
			struct idl_decl *d = new_decl(ps, D_STRUCT, $2, &@2);
			d->opaque = true;
			add_decl(ps, d);
		}
	| STRUCT IDENT struct_body ';'
		{
			struct idl_decl *d = new_decl(ps, D_STRUCT, $2, &@2);
			d->defined = true;
			d->fields = $3;
			add_decl(ps, d);
		}
	| UNION IDENT struct_body ';'
		{
			struct idl_decl *d = new_decl(ps, D_STRUCT, $2, &@2);
			d->defined = d->is_union = true;
			d->fields = $3;
			add_decl(ps, d);
		}
	| ENUM IDENT '{' enumerators comma_opt '}' ';'
		{
			struct idl_decl *e = new_decl(ps, D_ENUM, $2, &@2);
			e->members = $4;
			for (struct idl_decl *m = $4; m; m = m->next_member)
				m->parent = e;
			add_decl(ps, e);
		}
	| TYPEDEF specs declarator ';'
		{
			struct idl_decl *d = new_decl(ps, D_TYPEDEF, $3.name, &$3.pos);
			d->type = finish_type(ps, $2, &$3);
			add_decl(ps, d);
		}
	| CONST specs IDENT ';'
		{
			struct idl_decl *d = new_decl(ps, D_CONST, $3, &@3);
			d->type = $2;
			add_decl(ps, d);
		}
	| CONST specs IDENT '=' expr ';'
		{
			struct idl_decl *d = new_decl(ps, D_CONST, $3, &@3);
			d->type = $2;
			d->value = $5;
			add_decl(ps, d);
		}
	| ';'
	| error ';'
	| error '}'
	;

comma_opt: %empty | ',' ;

struct_body:
	  '{' fields '}'		{ $$ = $2; }
	;

fields:
	  %empty			{ $$ = NULL; }
	| fields field			{ $$ = vars_append($1, $2); }
	;

field:
	  attrs_opt specs field_dtors ';'
		{
			/* leading attributes and the specifier belong to every
			 * declarator of the line; the first one got them */
			$$ = $3;
			for (struct idl_var *v = $3; v; v = v->next) {
				struct idl_annot *lead = NULL;
				if ($1) {
					/* copy, since lists are intrusive */
					for (struct idl_annot *a = $1; a; a = a->next) {
						struct idl_annot *c = arena_alloc(ARENA(ps->nc), sizeof(*c));
						*c = *a;
						c->next = NULL;
						annots_append(ps, &lead, c);
					}
				}
				annots_append(ps, &lead, v->attrs.list);
				v->attrs.list = lead;
				v->type = type_derive(ps, $2, v->type);
			}
		}
	| error ';'			{ $$ = NULL; }
	;

/* Each declarator's derivations are parked in v->type until `field`
 * knows the specifier type to apply them to. */
field_dtors:
	  declarator attrs_opt
		{
			$$ = new_var(ps, $1.name, $1.first, $1.name ? &$1.pos : &@1);
			annots_append(ps, &$$->attrs.list, $2);
		}
	| field_dtors ',' declarator attrs_opt
		{
			struct idl_var *v = new_var(ps, $3.name, $3.first, $3.name ? &$3.pos : &@3);
			annots_append(ps, &v->attrs.list, $4);
			$$ = vars_append($1, v);
		}
	;

funcs:
	  %empty			{ $$ = NULL; }
	| funcs func			{ $$ = members_append($1, $2); }
	;

func:
	  attrs_opt specs declarator attrs_opt ';'
		{
			struct idl_type *t = finish_type(ps, $2, &$3);
			$$ = NULL;
			if (t->kind != TY_FUNC) {
				diag(ps->nc, NOOKSC_ERROR, "syntax", &@3,
				     "expected a function prototype");
			} else {
				$$ = new_decl(ps, D_FUNC, $3.name, &$3.pos);
				$$->type = t;
				annots_append(ps, &$$->attrs.list, $1);
				annots_append(ps, &$$->attrs.list, $4);
				for (struct idl_var *v = t->params; v; v = v->next)
					v->owner = $$;
			}
		}
	| error ';'			{ $$ = NULL; }
	;

enumerators:
	  enumerator			{ $$ = members_append(NULL, $1); }
	| enumerators ',' enumerator	{ $$ = members_append($1, $3); }
	;

enumerator:
	  IDENT			{ $$ = new_decl(ps, D_ENUMERATOR, $1, &@1); }
	| IDENT '=' expr
		{
			$$ = new_decl(ps, D_ENUMERATOR, $1, &@1);
			$$->value = $3;
		}
	;

/* ---- types -------------------------------------------------------------- */

specs:
	  quals_opt base quals_opt	{ $$ = $2; $$->quals |= $1 | $3; if ($1) $$->pos = @1; }
	;

base:
	  kwlist		{ $$ = base_kw(ps, $1, &@1); }
	| STRUCT IDENT		{ $$ = new_type(ps, TY_STRUCT, &@1); $$->name = $2; }
	| UNION IDENT		{ $$ = new_type(ps, TY_UNION, &@1); $$->name = $2; }
	| ENUM IDENT		{ $$ = new_type(ps, TY_ENUM, &@1); $$->name = $2; }
	| IDENT			{ $$ = new_type(ps, TY_NAMED, &@1); $$->name = $1; }
	;

kwlist:
	  kw			{ $$ = $1; }
	| kwlist kw
		{
			/* `long long` is its own bit; any other repeat is
			 * left for the type-invalid check to report */
			if (($1 & KW_LONG) && $2 == KW_LONG && !($1 & KW_LONGLONG))
				$$ = ($1 & ~(unsigned)KW_LONG) | KW_LONGLONG;
			else if ($1 & $2)
				$$ = $1 | (1u << 30);
			else
				$$ = $1 | $2;
		}
	;

kw:
	  VOID { $$ = KW_VOID; } | CHAR { $$ = KW_CHAR; } | SHORT { $$ = KW_SHORT; }
	| INT { $$ = KW_INT; } | LONG { $$ = KW_LONG; } | SIGNED { $$ = KW_SIGNED; }
	| UNSIGNED { $$ = KW_UNSIGNED; } | FLOAT { $$ = KW_FLOAT; }
	| DOUBLE { $$ = KW_DOUBLE; } | BOOL { $$ = KW_BOOL; }
	;

quals_opt:
	  %empty		{ $$ = 0; }
	| quals			{ $$ = $1; }
	;

quals:
	  CONST			{ $$ = Q_CONST; }
	| VOLATILE		{ $$ = Q_VOLATILE; }
	| quals CONST		{ $$ = $1 | Q_CONST; }
	| quals VOLATILE	{ $$ = $1 | Q_VOLATILE; }
	;

/* A chain of pointer derivations, the first one applied first. */
pointer:
	  '*' quals_opt
		{
			$$ = new_type(ps, TY_POINTER, &@1);
			$$->quals = $2;
		}
	| '*' quals_opt pointer
		{
			/* the leftmost '*' is applied first */
			$$ = new_type(ps, TY_POINTER, &@1);
			$$->quals = $2;
			$$->base = $3;
		}
	;

declarator:
	  direct_declarator	{ $$ = $1; }
	| pointer direct_declarator
		{
			struct idl_type *last = $1;
			while (last->base)
				last = last->base;
			$$ = dtor_prepend($1, last, $2);
		}
	;

direct_declarator:
	  IDENT
		{
			$$.name = $1;
			$$.pos = @1;
			$$.first = $$.last = NULL;
		}
	| '(' declarator ')'	{ $$ = $2; }
	| direct_declarator '[' expr ']'
		{
			struct idl_type *a = new_type(ps, TY_ARRAY, &@2);
			a->dim = $3;
			$$ = dtor_prepend(a, a, $1);
		}
	| direct_declarator '[' ']'
		{
			struct idl_type *a = new_type(ps, TY_ARRAY, &@2);
			$$ = dtor_prepend(a, a, $1);
		}
	| direct_declarator '(' params ')'
		{
			struct idl_type *f = new_type(ps, TY_FUNC, &@2);
			f->params = $3;
			for (struct idl_var *v = $3; v; v = v->next)
				if (!v->type)
					f->variadic = true;
			if ($3 && !$3->next && !$3->name && $3->type &&
			    $3->type->kind == TY_BASE && $3->type->kw == KW_VOID &&
			    !$3->type->quals)
				f->params = NULL;	/* (void) */
			/* drop the ellipsis marker */
			struct idl_var **p = &f->params;
			while (*p) {
				if (!(*p)->type)
					*p = (*p)->next;
				else
					p = &(*p)->next;
			}
			$$ = dtor_prepend(f, f, $1);
		}
	;

/* An abstract declarator: pointers and array brackets, no name. */
abstract_opt:
	  %empty		{ $$.name = NULL; $$.first = $$.last = NULL; $$.pos = @$; }
	| pointer
		{
			struct idl_type *last = $1;
			while (last->base)
				last = last->base;
			$$.name = NULL;
			$$.pos = @1;
			$$.first = $1;
			$$.last = last;
		}
	;

params:
	  %empty			{ $$ = NULL; }
	| param_list			{ $$ = $1; }
	| param_list ',' ELLIPSIS
		{
			struct idl_var *v = new_var(ps, NULL, NULL, &@3);
			$$ = vars_append($1, v);
		}
	;

param_list:
	  param				{ $$ = $1; }
	| param_list ',' param		{ $$ = vars_append($1, $3); }
	;

param:
	  attrs_opt specs declarator attrs_opt
		{ $$ = make_var(ps, $1, $2, &$3, $4, &$2->pos); }
	| attrs_opt specs abstract_opt attrs_opt
		{ $$ = make_var(ps, $1, $2, &$3, $4, &$2->pos); }
	;

typename:
	  specs abstract_opt		{ $$ = finish_type(ps, $1, &$2); }
	;

/* ---- annotations -------------------------------------------------------- */

attrs_opt:
	  %empty			{ $$ = NULL; }
	| attrs				{ $$ = $1; }
	;

attrs:
	  LATTR annot_list RATTR	{ $$ = $2; }
	| LATTR RATTR			{ $$ = NULL; }
	| attrs LATTR annot_list RATTR	{ $$ = $1; annots_append(ps, &$$, $3); }
	| attrs LATTR RATTR		{ $$ = $1; }
	;

annot_list:
	  annot				{ $$ = $1; }
	| annot_list ',' annot		{ $$ = $1; annots_append(ps, &$$, $3); }
	;

annot:
	  IDENT
		{
			$$ = arena_alloc(ARENA(ps->nc), sizeof(*$$));
			$$->name = $1;
			$$->pos = @1;
		}
	| IDENT '(' ')'
		{
			$$ = arena_alloc(ARENA(ps->nc), sizeof(*$$));
			$$->name = $1;
			$$->pos = @1;
			$$->has_parens = true;
		}
	| IDENT '(' args ')'
		{
			$$ = arena_alloc(ARENA(ps->nc), sizeof(*$$));
			$$->name = $1;
			$$->pos = @1;
			$$->has_parens = true;
			$$->args = $3.v;
			$$->nargs = $3.n > MAX_ARGS ? MAX_ARGS : $3.n;
		}
	;

args:
	  expr
		{
			$$.v = arena_alloc(ARENA(ps->nc), sizeof(*$$.v));
			$$.v[0] = $1;
			$$.n = 1;
		}
	| args ',' expr
		{
			$$ = $1;
			if ($1.n == MAX_ARGS) {
				diag(ps->nc, NOOKSC_ERROR, "syntax", &@3,
				     "more than %d annotation arguments", MAX_ARGS);
			} else if ($1.n < MAX_ARGS) {
				struct idl_expr **v = arena_alloc(ARENA(ps->nc),
								  sizeof(*v) * (size_t)($1.n + 1));
				memcpy(v, $1.v, sizeof(*v) * (size_t)$1.n);
				v[$1.n] = $3;
				$$.v = v;
			}
			$$.n = $1.n + 1 > MAX_ARGS + 1 ? MAX_ARGS + 1 : $1.n + 1;
		}
	;

/* ---- expressions -------------------------------------------------------- */

expr:
	  unary				{ $$ = $1; }
	| expr '|' expr			{ $$ = expr_binary(ps, '|', $1, $3, &@2); }
	| expr '^' expr			{ $$ = expr_binary(ps, '^', $1, $3, &@2); }
	| expr '&' expr			{ $$ = expr_binary(ps, '&', $1, $3, &@2); }
	| expr SHL expr			{ $$ = expr_binary(ps, SHL, $1, $3, &@2); }
	| expr SHR expr			{ $$ = expr_binary(ps, SHR, $1, $3, &@2); }
	| expr '+' expr			{ $$ = expr_binary(ps, '+', $1, $3, &@2); }
	| expr '-' expr			{ $$ = expr_binary(ps, '-', $1, $3, &@2); }
	| expr '*' expr			{ $$ = expr_binary(ps, '*', $1, $3, &@2); }
	| expr '/' expr			{ $$ = expr_binary(ps, '/', $1, $3, &@2); }
	| expr '%' expr			{ $$ = expr_binary(ps, '%', $1, $3, &@2); }
	;

unary:
	  postfix			{ $$ = $1; }
	| '-' unary			{ $$ = expr_unary(ps, '-', $2, &@1); }
	| '+' unary			{ $$ = expr_unary(ps, '+', $2, &@1); }
	| '~' unary			{ $$ = expr_unary(ps, '~', $2, &@1); }
	| '!' unary			{ $$ = expr_unary(ps, '!', $2, &@1); }
	;

postfix:
	  primary			{ $$ = $1; }
	| postfix ARROW IDENT		{ $$ = expr_arrow(ps, $1, $3, &@3); }
	;

primary:
	  INTEGER
		{
			$$ = new_expr(ps, EX_INT, &@1);
			$$->ival = $1;
		}
	| IDENT
		{
			$$ = new_expr(ps, EX_NAME, &@1);
			$$->name = $1;
		}
	| '(' expr ')'			{ $$ = $2; }
	| SIZEOF '(' typename ')'
		{
			$$ = new_expr(ps, EX_SIZEOF, &@1);
			$$->type = $3;
		}
	;

%%

#define MAX_LISTED 4	/* more expected tokens than this: name none */

/*
 * A syntax error: "unexpected X, expecting A or B" at the token that does
 * not fit, but a missing ';' where it is missing, just after the token
 * before: "expected ';' after 'x'" (the token that did not fit is often on
 * the next line).
 */
static int yyreport_syntax_error(const yypcontext_t *ctx, struct parse_state *ps)
{
	yysymbol_kind_t exp[YYNTOKENS];
	yysymbol_kind_t got = yypcontext_token(ctx);
	int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
	int semi = -1;
	struct strbuf b = { 0 };

	for (int i = 0; i < n; i++)
		if (!strcmp(yysymbol_name(exp[i]), "';'"))
			semi = i;
	if (semi >= 0 && ps->prev_tok.text) {
		/* ';' first, then the others if there are few */
		struct srcpos at = ps->prev_tok;
		sb_puts(&b, "expected ';'");
		for (int i = 0; i < n && n <= MAX_LISTED; i++)
			if (i != semi)
				sb_printf(&b, " or %s", yysymbol_name(exp[i]));
		sb_printf(&b, " after %s, found %s",
			  tok_text(ps, &ps->prev_tok, yysymbol_name(YYSYMBOL_YYUNDEF)),
			  ps->tok_eof ? "the end of the file" :
			  tok_text(ps, &ps->tok, yysymbol_name(got)));
		/* a caret just after the token, on its last line */
		if (at.last_line != at.line)
			at.text = NULL;
		at.line = at.last_line;
		at.col = at.last_col + 1;
		at.last_col = at.col;
		diag(ps->nc, NOOKSC_ERROR, "syntax", &at, "%s", sb_finish(ARENA(ps->nc), &b));
		return 0;
	}
	sb_printf(&b, "unexpected %s", yysymbol_name(got));
	for (int i = 0; i < n && n <= MAX_LISTED; i++)
		sb_printf(&b, "%s%s", i ? " or " : ", expecting ", yysymbol_name(exp[i]));
	diag(ps->nc, NOOKSC_ERROR, "syntax", yypcontext_location(ctx), "%s",
	     sb_finish(ARENA(ps->nc), &b));
	return 0;
}
