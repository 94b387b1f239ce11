/*
 * internal.h - what the compiler's own files share and callers never see:
 * the arena, the context, the diagnostic helpers and the parser's state.
 */
#ifndef NOOKSC_INTERNAL_H
#define NOOKSC_INTERNAL_H

#include <stdarg.h>

#include "nooksc.h"

/* ---- arena (arena.c) ---------------------------------------------------- */

struct arena_chunk;

struct arena {
	struct arena_chunk *chunks;
	char *cur, *end;
};

void *arena_alloc(struct arena *a, size_t size);	/* zeroed */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void arena_free(struct arena *a);

/* A growable string in the arena's heap, finished into the arena. */
struct strbuf {
	char *s;
	size_t len, cap;
};
void sb_puts(struct strbuf *b, const char *s);
void sb_printf(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *sb_finish(struct arena *a, struct strbuf *b);	/* frees b's heap */

/* ---- context ------------------------------------------------------------ */

struct nooksc {
	struct nooksc_options opt;
	struct arena arena;
	int errors, warnings;
	bool stopped;			/* error cap reached */
	struct idl_model *model;
	struct idl_decl **decl_tail;	/* where add_decl() appends */
	struct diag_queue *queue;	/* sources read and diagnostics held (nooksc.c) */
};

#define ARENA(nc) (&(nc)->arena)

/* Report one diagnostic; check may be NULL for a plain note. */
void diag(struct nooksc *nc, enum nooksc_level lvl, const char *check,
	  const struct srcpos *pos, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void vdiag(struct nooksc *nc, enum nooksc_level lvl, const char *check,
	   const struct srcpos *pos, const char *fmt, va_list ap);
bool check_enabled(const struct nooksc *nc, const char *check);

/* ---- parsing (lexer.l, parser.y, ast.c) --------------------------------- */

/* One parse of one buffer. */
struct parse_state {
	struct nooksc *nc;
	struct idl_file *file;
	const char *buf;		/* NUL-terminated copy */
	size_t len;
	/* lexer position */
	const char *fname;
	const char *line_text;
	int line, col;
	struct srcpos comment_pos;	/* where the open comment began */
	void *scanner;
	/* the parser's last two tokens, for "expected ';' after ..." */
	struct srcpos tok, prev_tok;
	bool tok_eof;
};

int parse_buffer(struct parse_state *ps);	/* returns bison's status */

struct idl_type *new_type(struct parse_state *ps, enum type_kind k,
			  const struct srcpos *pos);
struct idl_expr *new_expr(struct parse_state *ps, enum expr_kind k,
			  const struct srcpos *pos);
struct idl_decl *new_decl(struct parse_state *ps, enum decl_kind k,
			  const char *name, const struct srcpos *pos);
struct idl_var *new_var(struct parse_state *ps, const char *name,
			struct idl_type *type, const struct srcpos *pos);
void add_decl(struct parse_state *ps, struct idl_decl *d);
struct idl_expr *expr_binary(struct parse_state *ps, int op,
			     struct idl_expr *l, struct idl_expr *r,
			     const struct srcpos *pos);
struct idl_expr *expr_arrow(struct parse_state *ps, struct idl_expr *l,
			    const char *name, const struct srcpos *pos);
struct idl_expr *expr_unary(struct parse_state *ps, int op,
			    struct idl_expr *l, const struct srcpos *pos);
/* Apply a declarator's pointer/array/function derivations to a base type. */
struct idl_type *type_derive(struct parse_state *ps, struct idl_type *base,
			     struct idl_type *outer);
/* Appends, keeping at most MAX_ANNOTS per list (one error past that). */
void annots_append(struct parse_state *ps, struct idl_annot **list,
		   struct idl_annot *more);
/* Appends a member list (ops entries, enumerators) in O(1). */
struct idl_decl *members_append(struct idl_decl *list, struct idl_decl *more);
void top_item(struct parse_state *ps, const char *kw, const struct srcpos *kwpos,
	      const char *arg, const struct srcpos *argpos, bool arg_is_string);
struct idl_var *vars_append(struct idl_var *list, struct idl_var *v);

/* Imports (nooksc.c) */
void import_file(struct parse_state *ps, const char *name,
		 const struct srcpos *pos);

/* Checks (checks.c) */
void run_checks(struct nooksc *nc, struct idl_model *m);
/* Rows of the check table that need a check not before them (0 when the
 * table is sound; a unit test holds it to that). */
int nooksc_check_order_errors(void);

/* Expression evaluation (types.c): integer value of a constant expression */
bool expr_eval(const struct idl_expr *e, long long *out);

/* An expression as C with every parameter or field it names between
 * EXPR_REF_OPEN and EXPR_REF_CLOSE, so the code generator can say where
 * the value lives (types.c). */
#define EXPR_REF_OPEN '\001'
#define EXPR_REF_CLOSE '\002'
const char *expr_to_c_marked(struct nooksc *nc, const struct idl_expr *e);

/* What the code generator makes of a checked declaration (types.c), for
 * the checks that refuse what it cannot generate and for emit.c. */
const struct idl_decl *model_obj_struct(const struct idl_type *t);
/* scalar, handle, allocout, str, buf (count()/bytes() memory) or obj (a
 * tracked struct) */
bool model_param_one(const struct idl_var *v);
const char *model_param_kind(const struct idl_var *v);
/* registers(p->field): the ops table registered, and where */
struct model_reg {
	const struct idl_decl *table;	/* D_OPS */
	const struct idl_decl *owner;	/* struct holding the field */
	const char *param, *field;
};
bool model_reg_of(const struct idl_decl *f, struct model_reg *r);
/* the parameter an extension wrapper of entry e finds its binding
 * through: the first pointer to the struct holding the field; NULL if none */
const struct idl_var *model_locator(const struct idl_decl *e, const struct model_reg *r);
/* a parameter of replay entry e that cannot be logged: another object than
 * loc (the restarted extension will not have it), or one whose ownership
 * moves; NULL if none */
const struct idl_var *model_unreplayable(const struct idl_decl *e,
					 const struct idl_var *loc);

#endif
