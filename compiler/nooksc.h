/*
 * nooksc.h - the nooksc compiler library: its public API and every IR type.
 *
 * The compiler is a library with a thin CLI (main.c).  A caller creates a
 * context with its options and a diagnostic callback, parses one IDL file or
 * buffer (imports are followed through the search path), and gets back the
 * checked model: every declaration of the interface and of what it imports,
 * with types resolved and annotations interpreted.  If any error was
 * reported the model must not be used to write output.
 *
 * Memory: everything the context hands out (model, strings, positions) lives
 * in the context's arena and is freed at once by nooksc_free().
 */
#ifndef NOOKSC_H
#define NOOKSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define NOOKSC_VERSION "0.1.0"

/* ---- source positions -------------------------------------------------- */

/*
 * Where a node came from.  Doubles as bison's YYLTYPE.  `file` and `line` are
 * the logical position (after `# line "file"` markers); `text` points at the
 * start of the physical line in the source buffer, for the caret line.
 */
struct srcpos {
	const char *file;
	const char *text;
	int line, col;
	int last_line, last_col;
};

/* ---- diagnostics -------------------------------------------------------- */

enum nooksc_level { NOOKSC_NOTE, NOOKSC_WARNING, NOOKSC_ERROR };

struct nooksc_diag {
	enum nooksc_level level;
	const char *check;	/* check name, e.g. "unknown-type" */
	struct srcpos pos;	/* pos.file == NULL: no position */
	const char *message;
	/* pos is in an imported file: the import lines that led there, the
	 * one in the file that imported it first, the main file's last */
	const struct srcpos *imported_from;
	int n_imported_from;
};

/*
 * Diagnostics of a parse (nooksc_parse_file, nooksc_parse_buffer: reading,
 * imports, checks) reach the callback together at its end, sorted by where
 * they are as the files read (an imported file's at its import line), each
 * note right after the diagnostic it explains, equal positions in the order
 * found; "too many errors" comes last.  Those of later calls (generating,
 * verifying) are passed on at once.  nooksc_errors() and
 * nooksc_warnings() count as diagnostics are found.
 */
typedef void (*nooksc_diag_fn)(void *arg, const struct nooksc_diag *d);

/* Prints `In file imported from FILE:LINE:COL:` lines if d has any, then
 * `file:line:col: error: [check] message`, the source line, a caret. */
void nooksc_print_diag(FILE *out, const struct nooksc_diag *d);

/* ---- options and context ------------------------------------------------ */

struct nooksc_options {
	const char *const *include_dirs;	/* -I, searched in order */
	int n_include_dirs;
	const char *const *system_dirs;	/* -isystem, searched after -I */
	int n_system_dirs;
	int max_errors;			/* stop after this many; 0: 20 */
	bool werror;			/* warnings count as errors */
	const char *const *disabled;	/* check names turned off (-Wno-X) */
	int n_disabled;
	nooksc_diag_fn diag;		/* NULL: print to stderr */
	void *diag_arg;
};

struct nooksc;

struct nooksc *nooksc_new(const struct nooksc_options *opt);
void nooksc_free(struct nooksc *nc);
int nooksc_errors(const struct nooksc *nc);
int nooksc_warnings(const struct nooksc *nc);

struct idl_model;

/* Parse, resolve imports and check.  NULL only on a fatal problem (the main
 * file unreadable); otherwise a model, valid only if nooksc_errors() == 0. */
struct idl_model *nooksc_parse_file(struct nooksc *nc, const char *path);
struct idl_model *nooksc_parse_buffer(struct nooksc *nc, const char *name,
				      const char *buf, size_t len);

/* The stable text form of a model (--dump). */
void nooksc_dump(FILE *out, const struct idl_model *m);

/* Every file the model was read from, main file first (for -M); a system
 * source was found along the -isystem path (or beside one that was). */
int nooksc_source_count(const struct idl_model *m);
const char *nooksc_source_path(const struct idl_model *m, int i);
bool nooksc_source_is_system(const struct idl_model *m, int i);

/* The main file's interface name. */
const char *nooksc_model_interface(const struct idl_model *m);

/* The table of checks, for --help and -Wno-X validation. */
struct nooksc_check_info {
	const char *name;
	enum nooksc_level level;
	const char *summary;
};
const struct nooksc_check_info *nooksc_checks(int *count);

/* ---- the IR ------------------------------------------------------------- */

/* Integer base types, as a mask of the C keywords that spelled them. */
enum {
	KW_VOID = 1 << 0, KW_CHAR = 1 << 1, KW_SHORT = 1 << 2, KW_INT = 1 << 3,
	KW_LONG = 1 << 4, KW_LONGLONG = 1 << 5, KW_SIGNED = 1 << 6,
	KW_UNSIGNED = 1 << 7, KW_FLOAT = 1 << 8, KW_DOUBLE = 1 << 9,
	KW_BOOL = 1 << 10,
};

enum { Q_CONST = 1, Q_VOLATILE = 2 };

enum type_kind {
	TY_BASE,	/* void, char, int, unsigned long, ... (name) */
	TY_NAMED,	/* a typedef name (name, decl) */
	TY_STRUCT,	/* struct tag (name, decl: struct or ops table) */
	TY_UNION,	/* union tag */
	TY_ENUM,	/* enum tag (name, decl) */
	TY_POINTER,	/* to base */
	TY_ARRAY,	/* of base, dim elements */
	TY_FUNC,	/* returning base, taking params */
};

struct idl_decl;
struct idl_expr;
struct idl_var;

struct idl_type {
	enum type_kind kind;
	unsigned quals;
	unsigned kw;			/* TY_BASE: KW_* mask */
	const char *name;		/* TY_BASE canonical, tag or typedef */
	struct idl_type *base;
	struct idl_expr *dim;		/* TY_ARRAY; NULL for [] */
	struct idl_var *params;		/* TY_FUNC */
	bool variadic;
	struct idl_decl *decl;		/* resolved struct/enum/typedef/ops */
	struct srcpos pos;
};

enum expr_kind {
	EX_INT,		/* ival */
	EX_NAME,	/* name; resolved to ref_var / ref_decl */
	EX_ARROW,	/* lhs->name */
	EX_UNARY,	/* op lhs */
	EX_BINARY,	/* lhs op rhs */
	EX_SIZEOF,	/* sizeof(type) */
};

struct idl_expr {
	enum expr_kind kind;
	int op;				/* '-', '+', '~', '!', '*', ... or a SHL/SHR code */
	long long ival;
	const char *name;
	struct idl_expr *lhs, *rhs;
	struct idl_type *type;		/* EX_SIZEOF */
	struct idl_var *ref_var;	/* EX_NAME/EX_ARROW resolved to a param/field */
	struct idl_decl *ref_decl;	/* EX_NAME resolved to const/enumerator/func */
	int depth;
	struct srcpos pos;
};

/* One annotation as written: name(args) */
struct idl_annot {
	const char *name;
	struct idl_expr **args;
	int nargs;
	bool has_parens;
	struct srcpos pos;
	struct idl_annot *next;
};

enum dir { DIR_NONE, DIR_IN, DIR_OUT, DIR_INOUT };
enum access { ACC_READONLY, ACC_WRITABLE, ACC_PRIVATE, ACC_HIDDEN };

/* What the annotations mean, filled in by the checks. */
struct idl_attrs {
	struct idl_annot *list;		/* as written, in order */
	enum dir dir;
	enum access access;
	bool string, nullable, opaque, release, transfer, borrow, replay, deferred;
	struct idl_expr *count, *bytes;
	struct idl_expr *fault;		/* fault(value) */
	bool has_fault;
	long long timeout_ms;		/* -1: none */
	struct idl_decl *alloc_fn;	/* alloc(release_fn) */
	struct idl_expr *registers;	/* registers(param->field) */
	struct idl_decl *undo_fn;
	struct idl_var *lock, *unlock;
};

/* A struct field or a function parameter. */
struct idl_var {
	const char *name;		/* NULL for an unnamed parameter */
	struct idl_type *type;
	struct idl_attrs attrs;
	struct idl_decl *owner;		/* struct or function it belongs to */
	int index;
	struct srcpos pos;
	struct idl_var *next;
	struct idl_var *tail;		/* parser's list tail (first node only) */
};

enum decl_kind {
	D_STRUCT,	/* struct or union with fields (opaque flag) */
	D_ENUM,
	D_ENUMERATOR,
	D_TYPEDEF,
	D_CONST,
	D_OPS,		/* ops table: its funcs are the members */
	D_FUNC,		/* kernel function or ops entry */
};

struct idl_file;

struct idl_decl {
	enum decl_kind kind;
	const char *name;
	struct srcpos pos;
	struct idl_file *file;		/* where declared */
	bool is_union, opaque, defined;	/* D_STRUCT */
	bool tracked;			/* D_STRUCT: some alloc() creates it */
	struct idl_decl *release_fn;	/* D_STRUCT: the first alloc()'s release */
	struct idl_decl *unlock_fn;	/* D_STRUCT: an unlock() taking it */
	struct idl_decl *registered_by;	/* D_OPS: a registers() naming it */
	struct idl_decl *undo_of;	/* D_FUNC: a registration it undoes */
	bool is_ops_entry;		/* D_FUNC inside an ops table */
	struct idl_decl *parent;	/* ops table / enum of a member */
	struct idl_var *fields;		/* D_STRUCT */
	struct idl_type *type;		/* D_TYPEDEF/D_CONST; D_FUNC: TY_FUNC */
	struct idl_expr *value;		/* D_CONST, D_ENUMERATOR (may be NULL) */
	long long ival;			/* computed value when known */
	bool ival_known;
	struct idl_decl *members;	/* D_ENUM enumerators, D_OPS funcs */
	struct idl_attrs attrs;		/* D_FUNC annotations */
	struct idl_decl *next;		/* in its list */
	struct idl_decl *next_member;
	struct idl_decl *member_tail;	/* parser's list tail (first node only) */
};

struct idl_file {
	const char *path;		/* as opened */
	const char *interface;
	struct srcpos interface_pos;
	const char *header;
	struct srcpos header_pos;
	struct idl_import *imports;
	struct idl_file *next;
	bool loading;			/* on the import stack */
	bool system;			/* found along -isystem (-MM leaves it out) */
};

struct idl_import {
	const char *name;		/* as written */
	struct srcpos pos;
	struct idl_file *file;		/* resolved */
	struct idl_import *next;
};

struct idl_model {
	struct idl_file *main;
	struct idl_file *files;		/* every file, in load order */
	struct idl_decl *decls;		/* every top-level decl, in source order */
	struct nooksc *nc;
};

#define for_each_decl(m, d) for ((d) = (m)->decls; (d); (d) = (d)->next)
#define for_each_member(p, d) for ((d) = (p)->members; (d); (d) = (d)->next_member)
#define for_each_var(list, v) for ((v) = (list); (v); (v) = (v)->next)
#define for_each_annot(a, l) for ((a) = (l); (a); (a) = (a)->next)

/* Type helpers (types.c). */
const char *base_type_name(unsigned kw);	/* NULL: invalid combination */
const struct idl_type *type_strip(const struct idl_type *t);
bool type_is_integer(const struct idl_type *t);
bool type_is_pointer(const struct idl_type *t);
bool type_is_void(const struct idl_type *t);
const struct idl_decl *type_pointee_struct(const struct idl_type *t);
/* The C spelling of a type, with an optional declarator name. */
const char *type_to_c(struct nooksc *nc, const struct idl_type *t,
		      const char *name);
const char *expr_to_c(struct nooksc *nc, const struct idl_expr *e);

#endif
