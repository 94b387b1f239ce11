/*
 * test_clang_import.c - nooksc import through the library: a header
 * written into a temporary directory, the skeleton it gives, and that
 * skeleton compiled back with nooksc_parse_buffer (it must check clean,
 * bar the fault-missing warnings that are its TODOs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"
#include "util.h"

static char dir[64];

static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nooksc-cimport-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct got_diag diags[16];
static int ndiags;

static void collect(void *arg, const struct nooksc_diag *d)
{
	(void)arg;
	if (ndiags == 16)
		return;
	struct got_diag *g = &diags[ndiags++];
	g->level = d->level;
	snprintf(g->check, sizeof(g->check), "%s", d->check ? d->check : "");
	snprintf(g->file, sizeof(g->file), "%s", d->pos.file ? d->pos.file : "");
	g->line = d->pos.line;
	g->col = d->pos.col;
	snprintf(g->message, sizeof(g->message), "%s", d->message);
}

/* Writes dir/h.h and imports items from it; the skeleton (malloc'd) or
 * NULL, with the diagnostics in diags[]. */
static char *import_src(const char *header_text, const struct nooksc_import_item *items, int n)
{
	char path[128], inc[80];
	snprintf(path, sizeof(path), "%s/h.h", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(header_text, f);
	fclose(f);
	snprintf(inc, sizeof(inc), "-I%s", dir);
	const char *args[] = { inc };
	struct nooksc_options opt = { .diag = collect };
	struct nooksc *nc = nooksc_new(&opt);
	struct nooksc_import_request rq = { .header = "h.h", .items = items, .n_items = n,
					    .clang_args = args, .n_clang_args = 1 };
	const char *idl = NULL;
	ndiags = 0;
	int rc = nooksc_import(nc, &rq, &idl);
	char *copy = rc == 0 && idl ? strdup(idl) : NULL;
	CU_ASSERT_EQUAL(rc == 0, idl != NULL);
	nooksc_free(nc);
	return copy;
}

/* The skeleton compiles with no error and no warning but fault-missing. */
static void assert_checks(const char *idl)
{
	struct compiled *c = compile_opts("skeleton.idl", idl, NULL, 0);
	int bad = 0;
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->d[i].check, "fault-missing") != 0)
			bad++;
	if (bad) {
		print_diags(c);
		fputs(idl, stderr);
	}
	CU_ASSERT_EQUAL(bad, 0);
	compiled_free(c);
}

#define FN(n) { NOOKSC_IMPORT_FUNCTION, n, { 0 } }
#define ST(n) { NOOKSC_IMPORT_STRUCT, n, { 0 } }
#define OPS(n) { NOOKSC_IMPORT_OPS, n, { 0 } }

static void test_function_and_typedefs(void)
{
	struct nooksc_import_item it[] = { FN("f") };
	char *idl = import_src("typedef unsigned long u64; typedef u64 len_t;\n"
			       "struct s; int f(struct s *p, len_t n, const char *name);\n", it, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(idl);
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "interface h;\nheader \"h.h\";\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "typedef unsigned long u64;\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "typedef u64 len_t;\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "\nstruct s;\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "\tint f(struct s *p, len_t n, const char *name);\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "TODO: annotate p, name"));
	assert_checks(idl);
	free(idl);
}

static void test_struct_fields_left_out(void)
{
	struct nooksc_import_item it[] = { ST("d") };
	char *idl = import_src("struct other { int x; };\n"
			       "struct d { unsigned up : 1; struct other o; struct other *op;\n"
			       "  struct { int a; } anon_t; union { int u1; long u2; };\n"
			       "  int zero[0]; int (*cb)(int, char *); };\n", it, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(idl);
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "'up' left out: a bit-field"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "'o' left out: struct other by value is not imported"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "\tstruct other *op;\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "'anon_t' left out: its type has no tag"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "\tint u1;\n\tlong u2;\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "'zero' left out"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "\tint (*cb)(int, char *);\n"));
	assert_checks(idl);
	free(idl);
}

static void test_by_value_and_unions_pulled_in(void)
{
	struct nooksc_import_item it[] = { FN("get"), FN("put") };
	char *idl = import_src("struct st { int a; }; union un { int i; char c[4]; };\n"
			       "struct st get(void); void put(union un *u);\n", it, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(idl);
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "struct st {\n\tint a;\n};\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "union un {\n\tint i;\n\tchar c[4];\n};\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "\tstruct st get(void);\n"));
	assert_checks(idl);
	free(idl);
}

static void test_ops_and_enums(void)
{
	struct nooksc_import_item it[] = { OPS("o") };
	char *idl = import_src("enum e { A = -2, B, C = 7 }; typedef enum e e_t;\n"
			       "struct o { void *owner; e_t (*get)(int); void (*put)(int x, char *); };\n",
			       it, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(idl);
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "enum e {\n\tA = -2,\n\tB = -1,\n\tC = 7,\n};\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "ops o {\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "'owner' left out: not a function pointer"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "\te_t get(int arg1);\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(idl, "\tvoid put(int x, char *arg2);\n"));
	assert_checks(idl);
	free(idl);
}

static void test_errors(void)
{
	struct nooksc_import_item it[] = { FN("nope"), ST("f"), OPS("u") };
	char *idl = import_src("int f(void); union u { int a; };\n", it, 3);
	CU_ASSERT_PTR_NULL(idl);
	CU_ASSERT_EQUAL(ndiags, 3);
	CU_ASSERT_STRING_EQUAL(diags[0].check, "import");
	CU_ASSERT_STRING_EQUAL(diags[0].message, "no function 'nope' in \"h.h\"");
	CU_ASSERT_STRING_EQUAL(diags[1].message, "no struct or union 'f' in \"h.h\"");
	CU_ASSERT_STRING_EQUAL(diags[2].message, "'u' is a union, not an ops table");

	idl = import_src("int f(bogus_t x);\n", it, 1);
	CU_ASSERT_PTR_NULL(idl);
	CU_ASSERT_TRUE(ndiags >= 1);
	CU_ASSERT_STRING_EQUAL(diags[0].check, "header");
	CU_ASSERT_EQUAL(diags[0].line, 1);
	CU_ASSERT_EQUAL(diags[0].col, 7);
	CU_ASSERT_PTR_NOT_NULL(strstr(diags[0].file, "/h.h"));
}

static void test_deterministic(void)
{
	struct nooksc_import_item it[] = { FN("f"), ST("b"), ST("a") };
	const char *h = "struct z; struct y; typedef int t2; typedef int t1;\n"
			"struct a { struct z *z; t2 x; }; struct b { struct y *y; t1 x; };\n"
			"void f(struct b *b, struct a *a);\n";
	char *one = import_src(h, it, 3), *two = import_src(h, it, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(one);
	CU_ASSERT_PTR_NOT_NULL_FATAL(two);
	CU_ASSERT_STRING_EQUAL(one, two);
	/* pulled-in declarations sorted, requested ones in request order */
	CU_ASSERT_TRUE(strstr(one, "typedef int t1;") < strstr(one, "typedef int t2;"));
	CU_ASSERT_TRUE(strstr(one, "struct y;") < strstr(one, "struct z;"));
	CU_ASSERT_TRUE(strstr(one, "struct b {") < strstr(one, "struct a {"));
	assert_checks(one);
	free(one);
	free(two);
}

void register_clang_import_tests(void)
{
	CU_pSuite s = CU_add_suite("nooksc import (libclang)", setup, teardown);
	CU_add_test(s, "a function pulls in typedefs and opaque structs", test_function_and_typedefs);
	CU_add_test(s, "fields the IDL cannot say are left out with a TODO", test_struct_fields_left_out);
	CU_add_test(s, "by-value structs and unions are defined", test_by_value_and_unions_pulled_in);
	CU_add_test(s, "ops tables and enums", test_ops_and_enums);
	CU_add_test(s, "unknown names and header errors", test_errors);
	CU_add_test(s, "output is deterministic and ordered", test_deterministic);
}
