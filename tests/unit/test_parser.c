/*
 * test_parser.c - every construct of the language parses into the model
 * it should, and syntax errors recover and stop where they should.
 */
#include <string.h>

#include "util.h"

static const char everything[] = HDR
	"const int EIO = 5;\n"
	"const int NAMSIZ;\n"
	"enum color { RED, GREEN = 5, BLUE, };\n"
	"typedef unsigned long size_t;\n"
	"typedef enum color color_t;\n"
	"typedef void (*work_fn)(struct work *w);\n"
	"opaque struct lock;\n"
	"struct fwd;\n"
	"opaque struct handle { unsigned int id; [[hidden]] void *impl; };\n"
	"union val { int i; long l; };\n"
	"struct work {\n"
	"	work_fn fn;\n"
	"	int (*cb)(struct work *w, int n);\n"
	"	char name[NAMSIZ] [[string]];\n"
	"	const volatile unsigned char *const data [[count(len)]];\n"
	"	unsigned int len, cap [[writable]];\n"
	"	char **argv;\n"
	"	union val v;\n"
	"	[[private]] void *priv;\n"
	"};\n"
	"ops work_ops {\n"
	"	int run(struct work *w) [[fault(-EIO), timeout(50)]];\n"
	"	color_t pick(void) [[fault(RED)]];\n"
	"	void trace(int level, ...) [[fault]];\n"
	"};\n"
	"kernel {\n"
	"	struct work *work_new(size_t n) [[alloc(work_free)]];\n"
	"	void work_free(struct work *w [[release]]);\n"
	"	int log(const char *msg [[string]]);\n"
	"	int get(int n, void *buf [[out, bytes(n * sizeof(int))]]);\n"
	"};\n";

static void test_everything(void)
{
	struct compiled *c = compile(everything);
	struct idl_decl *d;

	/* trace is variadic (its table is not registered): a warning, nothing else */
	CU_ASSERT_EQUAL(count_level(c, NOOKSC_ERROR), 0);
	CU_ASSERT_PTR_NOT_NULL(find_diag(c, "variadic"));
	CU_ASSERT_STRING_EQUAL(c->m->main->interface, "t");
	CU_ASSERT_STRING_EQUAL(c->m->main->header, "t.h");

	d = decl_named(c->m, "EIO");
	CU_ASSERT_EQUAL(d->kind, D_CONST);
	CU_ASSERT(d->ival_known && d->ival == 5);
	d = decl_named(c->m, "NAMSIZ");
	CU_ASSERT_FALSE(d->ival_known);		/* value lives in the header */

	d = decl_named(c->m, "color");
	CU_ASSERT_EQUAL(d->kind, D_ENUM);
	CU_ASSERT_EQUAL(member_named(d, "RED")->ival, 0);
	CU_ASSERT_EQUAL(member_named(d, "BLUE")->ival, 6);

	d = decl_named(c->m, "work_fn");
	CU_ASSERT_EQUAL(d->type->kind, TY_POINTER);
	CU_ASSERT_EQUAL(d->type->base->kind, TY_FUNC);
	CU_ASSERT_STRING_EQUAL(type_to_c(c->nc, d->type, "f"),
			       "void (*f)(struct work *w)");

	CU_ASSERT_TRUE(decl_named(c->m, "lock")->opaque);
	CU_ASSERT_TRUE(decl_named(c->m, "fwd")->opaque);
	d = decl_named(c->m, "handle");
	CU_ASSERT_TRUE(d->opaque && d->defined);
	CU_ASSERT_EQUAL(var_named(d->fields, "impl")->attrs.access, ACC_HIDDEN);
	CU_ASSERT_TRUE(decl_named(c->m, "val")->is_union);

	d = decl_named(c->m, "work");
	CU_ASSERT_TRUE(d->tracked);
	struct idl_var *v = var_named(d->fields, "cb");
	CU_ASSERT_STRING_EQUAL(type_to_c(c->nc, v->type, v->name),
			       "int (*cb)(struct work *w, int n)");
	v = var_named(d->fields, "name");
	CU_ASSERT_EQUAL(v->type->kind, TY_ARRAY);
	CU_ASSERT_TRUE(v->attrs.string);
	v = var_named(d->fields, "data");
	CU_ASSERT_STRING_EQUAL(type_to_c(c->nc, v->type, v->name),
			       "const volatile unsigned char *const data");
	CU_ASSERT_EQUAL(v->attrs.count->ref_var, var_named(d->fields, "len"));
	/* one specifier, two declarators; trailing attrs are per declarator */
	CU_ASSERT_EQUAL(var_named(d->fields, "len")->attrs.access, ACC_READONLY);
	CU_ASSERT_EQUAL(var_named(d->fields, "cap")->attrs.access, ACC_WRITABLE);
	CU_ASSERT_STRING_EQUAL(type_to_c(c->nc, var_named(d->fields, "argv")->type, NULL),
			       "char **");
	CU_ASSERT_EQUAL(var_named(d->fields, "priv")->attrs.access, ACC_PRIVATE);

	d = decl_named(c->m, "work_ops");
	CU_ASSERT_EQUAL(d->kind, D_OPS);
	struct idl_decl *run = member_named(d, "run");
	CU_ASSERT_TRUE(run->is_ops_entry);
	CU_ASSERT_EQUAL(run->attrs.timeout_ms, 50);
	CU_ASSERT_STRING_EQUAL(expr_to_c(c->nc, run->attrs.fault), "-EIO");
	CU_ASSERT_PTR_NULL(member_named(d, "pick")->type->params);	/* (void) */

	d = decl_named(c->m, "work_new");
	CU_ASSERT_EQUAL(d->attrs.alloc_fn, decl_named(c->m, "work_free"));
	CU_ASSERT_TRUE(decl_named(c->m, "work_free")->type->params->attrs.release);
	CU_ASSERT_TRUE(member_named(decl_named(c->m, "work_ops"), "trace")->type->variadic);
	CU_ASSERT_FALSE(decl_named(c->m, "log")->type->variadic);
	d = decl_named(c->m, "get");
	v = var_named(d->type->params, "buf");
	CU_ASSERT_EQUAL(v->attrs.dir, DIR_OUT);
	CU_ASSERT_STRING_EQUAL(expr_to_c(c->nc, v->attrs.bytes), "n * sizeof(int)");
	compiled_free(c);
}

static void test_declarators(void)
{
	struct compiled *c = compile(HDR
		"struct s {\n"
		"	char *argv[4];\n"
		"	char (*rows)[8];\n"
		"	int *(*pick)(int a);\n"
		"	const char *const *names;\n"
		"};\n");
	ASSERT_CLEAN(c);
	struct idl_var *f = decl_named(c->m, "s")->fields;
	CU_ASSERT_EQUAL(f->type->kind, TY_ARRAY);
	CU_ASSERT_EQUAL(f->type->base->kind, TY_POINTER);
	CU_ASSERT_STRING_EQUAL(type_to_c(c->nc, f->type, f->name), "char *argv[4]");
	f = f->next;
	CU_ASSERT_EQUAL(f->type->kind, TY_POINTER);
	CU_ASSERT_EQUAL(f->type->base->kind, TY_ARRAY);
	CU_ASSERT_STRING_EQUAL(type_to_c(c->nc, f->type, f->name), "char (*rows)[8]");
	f = f->next;
	CU_ASSERT_STRING_EQUAL(type_to_c(c->nc, f->type, f->name), "int *(*pick)(int a)");
	f = f->next;
	CU_ASSERT_STRING_EQUAL(type_to_c(c->nc, f->type, f->name),
			       "const char *const *names");
	compiled_free(c);
}

static void test_both_annotation_places(void)
{
	struct compiled *c = compile(HDR
		"struct s { [[writable]] int a; int b [[writable]];"
		" [[hidden]] [[]] int c; };\n"
		"kernel { [[lock(l)]] void f(struct s *l); void g(struct s *l) [[unlock(l)]]; };\n");
	ASSERT_CLEAN(c);
	struct idl_decl *s = decl_named(c->m, "s");
	CU_ASSERT_EQUAL(var_named(s->fields, "a")->attrs.access, ACC_WRITABLE);
	CU_ASSERT_EQUAL(var_named(s->fields, "b")->attrs.access, ACC_WRITABLE);
	CU_ASSERT_EQUAL(var_named(s->fields, "c")->attrs.access, ACC_HIDDEN);
	CU_ASSERT_PTR_NOT_NULL(decl_named(c->m, "f")->attrs.lock);
	compiled_free(c);
}

static void test_recovery(void)
{
	/* three independent mistakes, three errors, in order */
	struct compiled *c = compile(HDR
		"struct a { int x int y; };\n"
		"const int B = ;\n"
		"kernel { int f(int a) ; int g(int) int; };\n"
		"const int OK = 1;\n");
	CU_ASSERT_EQUAL(count_level(c, NOOKSC_ERROR), 3);
	CU_ASSERT_EQUAL(c->d[0].line, 2);
	CU_ASSERT_EQUAL(c->d[0].col, 17);	/* the ';' missing after x */
	CU_ASSERT_EQUAL(c->d[1].line, 3);
	CU_ASSERT_EQUAL(c->d[1].col, 15);
	CU_ASSERT_EQUAL(c->d[2].line, 4);
	CU_ASSERT_STRING_EQUAL(c->d[0].check, "syntax");
	/* what parsed around the errors is kept */
	CU_ASSERT_PTR_NOT_NULL(decl_named(c->m, "OK"));
	CU_ASSERT_PTR_NOT_NULL(decl_named(c->m, "f"));
	compiled_free(c);
}

/* A missing ';' is reported just after the token it should follow, even
 * when the token that showed it is missing is lines further on. */
static void test_missing_semicolon(void)
{
	struct compiled *c = compile(HDR "struct s {\n\tint x;\n}\n\nconst int X = 1;\n");
	ASSERT_DIAG_AT(c, "syntax", 4, 2);
	CU_ASSERT_STRING_EQUAL(c->n ? c->d[0].message : "",
			       "expected ';' after '}', found 'const'");
	compiled_free(c);

	c = compile(HDR "struct s {\n\tint x\n\tint y;\n};\n");
	ASSERT_DIAG_AT(c, "syntax", 3, 7);
	CU_ASSERT_STRING_EQUAL(c->n ? c->d[0].message : "",
			       "expected ';' or ',' after 'x', found 'int'");
	compiled_free(c);

	c = compile(HDR "kernel { int g(int a) int; };\n");	/* same line */
	ASSERT_DIAG_AT(c, "syntax", 2, 22);
	compiled_free(c);

	c = compile(HDR "const int LONGER_NAME = 12");		/* at the end */
	ASSERT_DIAG_AT(c, "syntax", 2, 27);
	CU_ASSERT_PTR_NOT_NULL(c->n ? strstr(c->d[0].message, "after '12', found the end") : NULL);
	compiled_free(c);

	/* no ';' expected: at the token that does not fit */
	c = compile(HDR "const int = 3;\n");
	ASSERT_DIAG_AT(c, "syntax", 2, 11);
	CU_ASSERT_STRING_EQUAL(c->n ? c->d[0].message : "",
			       "unexpected '=', expecting identifier");
	compiled_free(c);
}

static void test_error_cap(void)
{
	struct compiled *c = compile_opts("test.idl", HDR
		"const int = 1;\nconst int = 2;\nconst int = 3;\nconst int = 4;\n",
		NULL, 2);
	CU_ASSERT_EQUAL(count_level(c, NOOKSC_ERROR), 2);
	CU_ASSERT_EQUAL(c->d[c->n - 1].level, NOOKSC_NOTE);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[c->n - 1].message, "too many errors"));
	compiled_free(c);
}

static void test_top_level_words(void)
{
	struct compiled *c = compile(HDR "interfaces x;\n");
	ASSERT_DIAG_AT(c, "syntax", 2, 1);
	compiled_free(c);

	c = compile(HDR "kernal { void f(void); };\n");
	ASSERT_DIAG_AT(c, "syntax", 2, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[0].message, "kernel"));
	compiled_free(c);

	c = compile(HDR "opaq struct s;\n");
	ASSERT_DIAG_AT(c, "syntax", 2, 1);
	compiled_free(c);

	c = compile(HDR "kernel { int x; };\n");
	ASSERT_DIAG_AT(c, "syntax", 2, 14);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[0].message, "function prototype"));
	compiled_free(c);

	c = compile(HDR "header x;\n");
	ASSERT_DIAG_AT(c, "syntax", 2, 8);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[0].message, "quoted file name"));
	compiled_free(c);

	c = compile(HDR "interface again;\n");
	ASSERT_DIAG_AT(c, "duplicate-decl", 2, 1);
	compiled_free(c);
}

static void test_deep_nesting(void)
{
	/* a thousand unary minus signs: refused, not a stack overflow */
	static char src[4096];
	int n = snprintf(src, sizeof(src), HDR "const int A = ");
	for (int i = 0; i < 1000; i++)
		src[n++] = '-';
	strcpy(src + n, "1;\n");
	struct compiled *c = compile(src);
	CU_ASSERT_PTR_NOT_NULL(find_diag(c, "syntax"));
	CU_ASSERT_PTR_NOT_NULL(strstr(find_diag(c, "syntax")->message, "nested"));
	compiled_free(c);
}

static void test_empty(void)
{
	struct compiled *c = compile("");
	CU_ASSERT_PTR_NOT_NULL(find_diag(c, "interface-missing"));
	CU_ASSERT_PTR_NOT_NULL(find_diag(c, "header-missing"));
	compiled_free(c);
}

void register_parser_tests(void)
{
	CU_pSuite s = CU_add_suite("parser", NULL, NULL);
	CU_add_test(s, "every construct", test_everything);
	CU_add_test(s, "C declarators", test_declarators);
	CU_add_test(s, "leading and trailing [[...]]", test_both_annotation_places);
	CU_add_test(s, "error recovery", test_recovery);
	CU_add_test(s, "error cap", test_error_cap);
	CU_add_test(s, "top-level words", test_top_level_words);
	CU_add_test(s, "missing ';' where it is missing", test_missing_semicolon);
	CU_add_test(s, "deep nesting", test_deep_nesting);
	CU_add_test(s, "empty input", test_empty);
}
