/*
 * util.h - helpers the unit tests share: compile a string with the
 * library and keep every diagnostic for the assertions.
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <CUnit/CUnit.h>

#include "nooksc.h"

#define MAX_DIAGS 64

struct got_diag {
	enum nooksc_level level;
	char check[64];
	char file[256];
	int line, col;
	char message[512];
	int n_from;		/* import lines that led to file */
	char from_file[256];	/* the innermost one */
	int from_line, from_col;
};

struct compiled {
	struct nooksc *nc;
	struct idl_model *m;
	int n;
	struct got_diag d[MAX_DIAGS];
};

/* Compiles src as the file "test.idl" (imports resolve against
 * include_dir when not NULL).  Free with compiled_free(). */
struct compiled *compile(const char *src);
struct compiled *compile_opts(const char *name, const char *src,
			      const char *include_dir, int max_errors);
struct compiled *compile_buf(const char *name, const char *src, size_t len,
			     const char *include_dir, int max_errors);
/* Compiles the file at path, diagnostics collected the same way. */
struct compiled *compile_file(const char *path);
/* The same with options (their diag and diag_arg are replaced). */
struct compiled *compile_file_opts(const char *path, const struct nooksc_options *opt);
void compiled_free(struct compiled *c);

/* The first diagnostic of check (any level), or NULL. */
const struct got_diag *find_diag(const struct compiled *c, const char *check);
int count_level(const struct compiled *c, enum nooksc_level lvl);
void print_diags(const struct compiled *c);

/* Declarations by name; NULL if absent. */
struct idl_decl *decl_named(const struct idl_model *m, const char *name);
struct idl_decl *member_named(const struct idl_decl *parent, const char *name);
struct idl_var *var_named(struct idl_var *list, const char *name);

/* Header every test source starts with. */
#define HDR "interface t; header \"t.h\";\n"

/* Asserts that src compiles cleanly (no errors, no warnings). */
#define ASSERT_CLEAN(c)							\
	do {								\
		if ((c)->n)						\
			print_diags(c);					\
		CU_ASSERT_EQUAL((c)->n, 0);				\
	} while (0)

/* Asserts diagnostic `check` at line:col. */
#define ASSERT_DIAG_AT(c, chk, ln, cl)					\
	do {								\
		const struct got_diag *g_ = find_diag((c), (chk));	\
		CU_ASSERT_PTR_NOT_NULL(g_);				\
		if (g_) {						\
			CU_ASSERT_EQUAL(g_->line, (ln));		\
			CU_ASSERT_EQUAL(g_->col, (cl));			\
		}							\
		if (!g_ || g_->line != (ln) || g_->col != (cl))		\
			print_diags(c);					\
	} while (0)

void register_lexer_tests(void);
void register_parser_tests(void);
void register_check_tests(void);
void register_import_tests(void);
void register_clang_import_tests(void);

#endif
