/*
 * test_checks.c - every semantic check fires, under its own name, at the
 * position of the offending token; and a few checks' finer rules.
 *
 * One CUnit test per row of the table below, so a failure names its check.
 */
#include <string.h>

#include "internal.h"	/* nooksc_check_order_errors */
#include "util.h"

struct row {
	const char *check;
	enum nooksc_level level;
	int line, col;
	const char *src;
};

#define E NOOKSC_ERROR
#define W NOOKSC_WARNING

static const struct row rows[] = {
	{ "interface-missing", E, 1, 1, "header \"t.h\";\n" },
	{ "header-missing", E, 1, 1, "interface t;\n" },
	{ "reserved-name", E, 2, 11, HDR "const int m4_eval = 1;\n" },
	{ "duplicate-decl", E, 3, 11, HDR "const int A = 1;\nconst int A = 2;\n" },
	{ "duplicate-member", E, 2, 23, HDR "struct s { int a; int a; };\n" },
	{ "unknown-type", E, 2, 12, HDR "struct s { struct nope *p; };\n" },
	{ "type-invalid", E, 2, 12, HDR "struct s { short char x; };\n" },
	{ "param-unnamed", E, 2, 17, HDR "kernel { void f(int); };\n" },
	{ "const-value", E, 2, 15, HDR "const int A = B;\n" },
	{ "annotation-unknown", E, 2, 20, HDR "struct s { int a [[writeable]]; };\n" },
	{ "annotation-place", E, 2, 24, HDR "kernel { int f(void) [[fault(-1)]]; };\n" },
	{ "annotation-args", E, 2, 20, HDR "struct s { int a [[writable(1)]]; };\n" },
	{ "annotation-conflict", E, 2, 31, HDR "kernel { void f(char *b [[in, out]]); };\n" },
	{ "annotation-target", E, 2, 25, HDR "kernel { void f(int n [[out]]); };\n" },
	{ "unknown-name", E, 2, 37, HDR "kernel { void f(void *b [[in, bytes(nn)]], int n); };\n" },
	{ "unknown-field", E, 3, 53, HDR "struct s { int n; };\n"
	  "kernel { void f(struct s *p, void *b [[in, bytes(p->m)]]); };\n" },
	{ "size-type", E, 2, 37, HDR
	  "kernel { void f(void *b [[in, bytes(p)]], char *p [[in, string]]); };\n" },
	{ "alloc-release-missing", E, 3, 37, HDR "struct s { int a; };\n"
	  "kernel { struct s *mk(void) [[alloc(gone)]]; };\n" },
	{ "alloc-release-type", E, 4, 37, HDR "struct s { int a; };\nstruct o { int b; };\n"
	  "kernel { struct s *mk(void) [[alloc(fr)]]; void fr(struct o *x); };\n" },
	{ "opaque-writable", E, 2, 21, HDR "opaque struct s { [[writable]] int a; };\n" },
	{ "fault-type", E, 3, 37, HDR "struct d { int a; };\n"
	  "ops o { struct d *get(void) [[fault(-1)]]; };\n" },
	{ "registers-not-ops", E, 3, 50, HDR "struct d { int x; };\n"
	  "kernel { int reg(struct d *dev) [[registers(dev->x)]]; };\n" },
	{ "undo-missing", E, 2, 30, HDR "kernel { void f(void) [[undo(g)]]; };\n" },
	{ "lock-param", E, 2, 31, HDR "kernel { void f(int m) [[lock(m)]]; };\n" },
	{ "undo-registers", E, 2, 39, HDR "kernel { void g(void); void f(void) [[undo(g)]]; };\n" },
	{ "lock-unlock", E, 2, 33, HDR "kernel { void f(void *m) [[lock(m)]]; };\n" },
	{ "timeout-range", E, 2, 39, HDR "ops o { void f(void) [[fault, timeout(0)]]; };\n" },
	{ "fault-missing", W, 2, 13, HDR "ops o { int f(void); };\n" },
	{ "writable-pointer", W, 2, 30, HDR "struct s { [[writable]] int *p; };\n" },
	{ "buffer-unsized", W, 2, 23, HDR "kernel { void f(char *b [[in]]); };\n" },
	{ "wrap-variadic", E, 2, 14, HDR "kernel { int f(int a, ...); };\n" },
	{ "release-arity", E, 3, 49, HDR "struct s { int a; };\n"
	  "kernel { struct s *mk(void) [[alloc(fr)]]; void fr(struct s *x, int y); };\n" },
	{ "ops-locator", E, 3, 14, HDR "struct d { [[writable]] const struct o *ops; };\n"
	  "ops o { void f(int x) [[fault]]; };\n"
	  "kernel { int reg(struct d *dev) [[registers(dev->ops)]]; };\n" },
	{ "replay-object", E, 3, 14, HDR "struct d { [[writable]] const struct o *ops; };\n"
	  "ops o { void f(struct d *a, struct d *b) [[fault, replay]]; };\n"
	  "kernel { int reg(struct d *dev) [[registers(dev->ops)]]; };\n" },
	{ "deferred-call", E, 2, 23, HDR "kernel { void f(char *b [[in, bytes(4)]]) [[deferred]]; };\n" },
	{ "variadic", W, 2, 14, HDR "ops o { void f(int a, ...) [[fault]]; };\n" },
};

static void run_row(int i)
{
	const struct row *r = &rows[i];
	struct compiled *c = compile(r->src);

	ASSERT_DIAG_AT(c, r->check, r->line, r->col);
	const struct got_diag *g = find_diag(c, r->check);
	if (g) {
		CU_ASSERT_EQUAL(g->level, r->level);
		CU_ASSERT_STRING_EQUAL(g->file, "test.idl");
	}
	/* one mistake, one error (notes may follow it) */
	CU_ASSERT_EQUAL(count_level(c, NOOKSC_ERROR), r->level == E ? 1 : 0);
	CU_ASSERT_EQUAL(nooksc_errors(c->nc), r->level == E ? 1 : 0);
	compiled_free(c);
}

#define ROW_TEST(n) static void row_##n(void) { run_row(n); }
ROW_TEST(0) ROW_TEST(1) ROW_TEST(2) ROW_TEST(3) ROW_TEST(4) ROW_TEST(5)
ROW_TEST(6) ROW_TEST(7) ROW_TEST(8) ROW_TEST(9) ROW_TEST(10) ROW_TEST(11)
ROW_TEST(12) ROW_TEST(13) ROW_TEST(14) ROW_TEST(15) ROW_TEST(16) ROW_TEST(17)
ROW_TEST(18) ROW_TEST(19) ROW_TEST(20) ROW_TEST(21) ROW_TEST(22) ROW_TEST(23)
ROW_TEST(24) ROW_TEST(25) ROW_TEST(26) ROW_TEST(27) ROW_TEST(28) ROW_TEST(29)
ROW_TEST(30) ROW_TEST(31) ROW_TEST(32) ROW_TEST(33) ROW_TEST(34) ROW_TEST(35)

static void (*const row_fns[])(void) = {
	row_0, row_1, row_2, row_3, row_4, row_5, row_6, row_7, row_8, row_9,
	row_10, row_11, row_12, row_13, row_14, row_15, row_16, row_17, row_18,
	row_19, row_20, row_21, row_22, row_23, row_24, row_25, row_26, row_27,
	row_28, row_29, row_30, row_31, row_32, row_33, row_34, row_35,
};

/* Every check in the library's table has a row here. */
static void test_table_complete(void)
{
	int n;
	const struct nooksc_check_info *all = nooksc_checks(&n);
	static const char *const elsewhere[] = {
		"lex", "syntax", "import-not-found", "import-cycle",
	};

	CU_ASSERT_EQUAL(sizeof(rows) / sizeof(rows[0]), sizeof(row_fns) / sizeof(row_fns[0]));
	for (int i = 0; i < n; i++) {
		bool found = false;
		for (size_t j = 0; j < sizeof(rows) / sizeof(rows[0]); j++)
			found |= !strcmp(rows[j].check, all[i].name);
		for (size_t j = 0; j < 4; j++)
			found |= !strcmp(elsewhere[j], all[i].name);
		if (!found)
			fprintf(stderr, "\n    no test for check '%s'", all[i].name);
		CU_ASSERT_TRUE(found);
	}
}

/* Every check the table says a row needs is a check before it. */
static void test_table_order(void)
{
	CU_ASSERT_EQUAL(nooksc_check_order_errors(), 0);
}

/* A rule that only generation knew is reported by plain checking, and a
 * row whose prerequisite failed stays quiet. */
static void test_prerequisites(void)
{
	/* a replay entry with another object, in a table registers() names:
	 * the generator's refusal, found without generating */
	struct compiled *c = compile(HDR "struct d { [[writable]] const struct o *ops; };\n"
				     "ops o { void f(struct d *a, struct d *b) [[fault, replay]]; };\n"
				     "kernel { int reg(struct d *dev) [[registers(dev->ops)]]; };\n");
	CU_ASSERT_PTR_NOT_NULL(find_diag(c, "replay-object"));
	compiled_free(c);
	/* registers() broken: ops-locator and replay-object need it */
	c = compile(HDR "struct d { [[writable]] const struct o *ops; int x; };\n"
		    "ops o { void f(int x) [[fault]]; };\n"
		    "kernel { int reg(struct d *dev) [[registers(dev->x)]]; };\n");
	CU_ASSERT_PTR_NOT_NULL(find_diag(c, "registers-not-ops"));
	CU_ASSERT_PTR_NULL(find_diag(c, "ops-locator"));
	CU_ASSERT_EQUAL(nooksc_errors(c->nc), 1);
	compiled_free(c);
}

/* ---- finer rules -------------------------------------------------------- */

static const struct got_diag *first_error(const char *src, struct compiled **out)
{
	*out = compile(src);
	for (int i = 0; i < (*out)->n; i++)
		if ((*out)->d[i].level == NOOKSC_ERROR)
			return &(*out)->d[i];
	return NULL;
}

static void expect_error(const char *src, const char *check, const char *text)
{
	struct compiled *c;
	const struct got_diag *g = first_error(src, &c);

	CU_ASSERT_PTR_NOT_NULL(g);
	if (g) {
		CU_ASSERT_STRING_EQUAL(g->check, check);
		CU_ASSERT_PTR_NOT_NULL(strstr(g->message, text));
		if (strcmp(g->check, check) || !strstr(g->message, text))
			print_diags(c);
	}
	compiled_free(c);
}

static void expect_clean(const char *src)
{
	struct compiled *c = compile(src);
	ASSERT_CLEAN(c);
	compiled_free(c);
}

static void test_conflicts(void)
{
	expect_error(HDR "kernel { void f(char *b [[in, out]]); };",
		     "annotation-conflict", "write 'inout'");
	expect_error(HDR "struct s { int a; };\n"
		     "kernel { void f(struct s *p [[release, transfer]]); };",
		     "annotation-conflict", "'transfer' conflicts with 'release'");
	expect_error(HDR "struct s { int a [[writable, hidden]]; };",
		     "annotation-conflict", "'hidden' conflicts with 'writable'");
	expect_error(HDR "kernel { void f(char *b [[in, in]]); };",
		     "annotation-conflict", "'in' given twice");
	expect_error(HDR "kernel { void f(char *b [[count(n), bytes(n)]], int n); };",
		     "annotation-conflict", "'bytes' conflicts with 'count'");
	expect_error(HDR "kernel { void f(void *b [[opaque, in]]); };",
		     "annotation-conflict", "'in' conflicts with 'opaque'");
}

static void test_places(void)
{
	expect_error(HDR "struct s { int a [[writeable]]; };",
		     "annotation-unknown", "did you mean 'writable'?");
	expect_error(HDR "struct s { int a [[frobnicate]]; };",
		     "annotation-unknown", "unknown annotation 'frobnicate'");
	expect_error(HDR "kernel { void f(void) [[fault]]; };",
		     "annotation-place", "extension (ops) function");
	expect_error(HDR "ops o { int f(void) [[fault(-1), registers(x->y)]]; };",
		     "annotation-place", "'registers' does not apply");
	expect_error(HDR "kernel { void f(void) [[replay]]; };",
		     "annotation-place", "'replay'");
	expect_error(HDR "ops o { void f(void) [[fault, deferred]]; };",
		     "annotation-place", "'deferred' does not apply");
	expect_error(HDR "kernel { void f(void) [[deferred(1)]]; };",
		     "annotation-args", "'deferred' takes no arguments");
	expect_error(HDR "kernel { void f(int *p [[writable]]); };",
		     "annotation-place", "struct field");
	expect_error(HDR "struct s { void (*cb)(int x [[in]]); };",
		     "annotation-place", "function-pointer type");
}

static void test_fault_types(void)
{
	const char *enums = HDR "enum a { A0, A1 };\nenum b { B0 };\n"
			    "const int EIO = 5;\nstruct d { int x; };\n";
	char src[1024];

	snprintf(src, sizeof(src), "%s%s", enums,
		 "ops o { enum a f(void) [[fault(A1)]]; struct d *g(void) [[fault(NULL)]];"
		 " int h(void) [[fault(-EIO)]]; void i(void) [[fault]];"
		 " long j(void) [[fault(-EIO * 2)]]; };");
	expect_clean(src);
	snprintf(src, sizeof(src), "%s%s", enums, "ops o { enum a f(void) [[fault(B0)]]; };");
	expect_error(src, "fault-type", "enumerator of 'enum b'");
	snprintf(src, sizeof(src), "%s%s", enums, "ops o { void f(void) [[fault(1)]]; };");
	expect_error(src, "fault-type", "returns void");
	snprintf(src, sizeof(src), "%s%s", enums, "ops o { int f(void) [[fault]]; };");
	expect_error(src, "fault-type", "needs the value");
	snprintf(src, sizeof(src), "%s%s", enums, "ops o { int f(void) [[fault(NULL)]]; };");
	expect_error(src, "fault-type", "must be an integer");
	snprintf(src, sizeof(src), "%s%s", enums,
		 "ops o { int f(struct d *p) [[fault(p)]]; };");
	expect_error(src, "unknown-name", "not a declared constant");
	snprintf(src, sizeof(src), "%s%s", enums, "ops o { int f(void) [[fault(EIOO)]]; };");
	expect_error(src, "unknown-name", "'EIOO'");
}

static void test_alloc_forms(void)
{
	const char *base = HDR "struct sock { int a; };\n";
	char src[1024];

	/* both forms: returned pointer, and out pointer-to-pointer */
	snprintf(src, sizeof(src), "%s%s", base,
		 "kernel { struct sock *mk(void) [[alloc(rel)]];"
		 " int mk2(struct sock **res [[out, alloc(rel)]]);"
		 " void rel(struct sock *s [[release]]); };");
	struct compiled *c = compile(src);
	ASSERT_CLEAN(c);
	CU_ASSERT_TRUE(decl_named(c->m, "sock")->tracked);
	compiled_free(c);

	snprintf(src, sizeof(src), "%s%s", base,
		 "kernel { int mk(void) [[alloc(rel)]]; void rel(struct sock *s); };");
	expect_error(src, "annotation-target", "returning a struct pointer");
	snprintf(src, sizeof(src), "%s%s", base,
		 "kernel { int mk(struct sock **r [[alloc(rel)]]); void rel(struct sock *s); };");
	expect_error(src, "annotation-target", "needs 'out' too");
	snprintf(src, sizeof(src), "%s%s", base,
		 "const int rel = 1; kernel { struct sock *mk(void) [[alloc(rel)]]; };");
	expect_error(src, "alloc-release-missing", "is a constant");
}

static void test_sizes(void)
{
	expect_clean(HDR "struct hdr { unsigned int len; };\n"
		     "kernel { int f(struct hdr *h, void *b [[out, bytes(h->len)]]); };");
	expect_error(HDR "kernel { int f(char *b [[in, count(b)]]); };",
		     "size-type", "sizes itself");
	expect_error(HDR "kernel { int f(void *b [[in, count(n)]], int n); };",
		     "annotation-target", "use 'bytes'");
	expect_error(HDR "kernel { int f(int *b [[in, string]]); };",
		     "annotation-target", "char pointer");
	expect_error(HDR "opaque struct o;\n"
		     "kernel { int f(struct o *h, void *b [[in, bytes(h->len)]]); };",
		     "unknown-field", "opaque");
	expect_error(HDR "kernel { int f(const char *b [[out, bytes(4)]]); };",
		     "annotation-target", "pointer to const");
}

static void test_types(void)
{
	expect_error(HDR "struct s { struct s2 *p; };", "unknown-type", "opaque struct NAME");
	expect_error(HDR "enum e { X };\nstruct s { struct e *p; };", "unknown-type",
		     "'e' is an enum, not a struct");
	expect_error(HDR "typedef a_t a_t;", "type-invalid", "refers to itself");
	expect_error(HDR "typedef int a_t;\ntypedef a_t b_t;\nstruct s { b_t x; c_t y; };",
		     "unknown-type", "'c_t'");
	expect_error(HDR "opaque struct o;\nstruct s { struct o x; };", "type-invalid",
		     "opaque type");
	expect_error(HDR "kernel { void f(void x); };", "type-invalid", "type void");
	expect_error(HDR "ops o { int f(void) [[fault(1)]]; };\nstruct s { struct o t; };",
		     "type-invalid", "ops table by value");
	expect_error(HDR "struct s { int x; };\nconst struct s C;", "const-value",
		     "integer or pointer");
}

static void test_constants(void)
{
	/* values fold whatever the order of declaration */
	struct compiled *c = compile(HDR "const int F = BLUE + 1;\n"
				     "enum colour { RED, GREEN, BLUE };\n"
				     "const int G = F << 2;\n");
	ASSERT_CLEAN(c);
	CU_ASSERT_EQUAL(decl_named(c->m, "F")->ival, 3);
	CU_ASSERT_EQUAL(decl_named(c->m, "G")->ival, 12);
	compiled_free(c);
	expect_error(HDR "const int D = 1 / 0;", "const-value", "divides by zero");
	expect_error(HDR "const int D = 1 << 64;", "const-value", "shifts out of range");
	expect_error(HDR "kernel { int f(char *b [[in, count(1 - 2)]]); };",
		     "size-type", "must be positive, not -1");
	expect_error(HDR "enum e { A }; const int A = 1;", "duplicate-decl",
		     "already an enumerator");
}

static void test_registers(void)
{
	expect_error(HDR "struct dev { const struct dev_ops *ops; };\n"
		     "ops dev_ops { int open(struct dev *d) [[fault(-1)]]; };\n"
		     "kernel { int reg(struct dev *d) [[registers(d->ops)]]; };",
		     "registers-not-ops", "mark field 'ops' [[writable]]");
	expect_clean(HDR "struct dev { [[writable]] const struct dev_ops *ops; };\n"
		     "ops dev_ops { int open(struct dev *d) [[fault(-1)]]; };\n"
		     "kernel { int reg(struct dev *d) [[registers(d->ops), undo(unreg)]];"
		     " void unreg(struct dev *d); };");
	expect_error(HDR "kernel { int reg(int d) [[registers(d)]]; };",
		     "annotation-args", "path to an ops-table pointer");
}

static void count_diag(void *arg, const struct nooksc_diag *d)
{
	int *levels = arg;
	levels[d->level]++;
}

static void test_warning_options(void)
{
	const char *src = HDR "ops o { int f(void); };\n";
	const char *off[] = { "fault-missing" };
	int levels[3] = { 0 };
	struct nooksc_options opt = {
		.disabled = off, .n_disabled = 1, .diag = count_diag, .diag_arg = levels,
	};
	struct nooksc *nc = nooksc_new(&opt);

	/* -Wno-fault-missing: silent */
	nooksc_parse_buffer(nc, "w.idl", src, strlen(src));
	CU_ASSERT_EQUAL(nooksc_warnings(nc), 0);
	CU_ASSERT_EQUAL(nooksc_errors(nc), 0);
	CU_ASSERT_EQUAL(levels[NOOKSC_WARNING] + levels[NOOKSC_ERROR], 0);
	nooksc_free(nc);

	/* -Werror: the warning is an error */
	opt.n_disabled = 0;
	opt.werror = true;
	nc = nooksc_new(&opt);
	nooksc_parse_buffer(nc, "w.idl", src, strlen(src));
	CU_ASSERT_EQUAL(nooksc_errors(nc), 1);
	CU_ASSERT_EQUAL(levels[NOOKSC_ERROR], 1);
	nooksc_free(nc);

	/* default: a warning, no error */
	struct compiled *c = compile(src);
	CU_ASSERT_EQUAL(count_level(c, NOOKSC_WARNING), 1);
	CU_ASSERT_EQUAL(nooksc_errors(c->nc), 0);
	compiled_free(c);
}

/* Diagnostics reach the caller sorted by position whatever check found
 * them first, each note right after its own diagnostic. */
static void test_diagnostic_order(void)
{
	struct compiled *c = compile(HDR
		"ops dev_ops {\n"
		"	void open(int a, int a);\n"
		"	void open(void);\n"
		"};\n");
	static const struct { enum nooksc_level level; int line, col; } want[] = {
		{ NOOKSC_ERROR, 3, 23 }, { NOOKSC_NOTE, 3, 16 },	/* a twice */
		{ NOOKSC_ERROR, 4, 7 }, { NOOKSC_NOTE, 3, 7 },	/* open twice */
	};
	int n = (int)(sizeof(want) / sizeof(want[0]));
	CU_ASSERT_EQUAL(c->n, n);
	for (int i = 0; i < n && i < c->n; i++) {
		CU_ASSERT_EQUAL(c->d[i].level, want[i].level);
		CU_ASSERT_EQUAL(c->d[i].line, want[i].line);
		CU_ASSERT_EQUAL(c->d[i].col, want[i].col);
	}
	if (c->n != n)
		print_diags(c);
	compiled_free(c);

	/* the checks find the names in fault() and timeout() before count()'s */
	static const char src[] = HDR
		"ops dev_ops {\n"
		"	int open(int *p [[in, count(n)]]) [[fault(-EIO), timeout(T)]];\n"
		"};\n";
	c = compile(src);
	CU_ASSERT_EQUAL_FATAL(c->n, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[0].message, "'n'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[1].message, "'EIO'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[2].message, "'T'"));
	compiled_free(c);

	/* capped: the first two errors found, in order, then the stop */
	c = compile_opts("test.idl", src, NULL, 2);
	CU_ASSERT_EQUAL_FATAL(c->n, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[0].message, "'EIO'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[1].message, "'T'"));
	CU_ASSERT_EQUAL(c->d[2].level, NOOKSC_NOTE);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[2].message, "too many errors"));
	compiled_free(c);
}

void register_check_tests(void)
{
	CU_pSuite s = CU_add_suite("checks", NULL, NULL);
	char name[96];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "[%s] fires at %d:%d", rows[i].check,
			 rows[i].line, rows[i].col);
		CU_add_test(s, name, row_fns[i]);	/* CUnit copies the name */
	}
	CU_add_test(s, "every check has a test", test_table_complete);
	CU_add_test(s, "prerequisites come first", test_table_order);
	CU_add_test(s, "prerequisites", test_prerequisites);
	CU_add_test(s, "annotation conflicts", test_conflicts);
	CU_add_test(s, "annotation places", test_places);
	CU_add_test(s, "fault() typing", test_fault_types);
	CU_add_test(s, "alloc() forms", test_alloc_forms);
	CU_add_test(s, "count()/bytes() sizes", test_sizes);
	CU_add_test(s, "types", test_types);
	CU_add_test(s, "constant folding", test_constants);
	CU_add_test(s, "registers()", test_registers);
	CU_add_test(s, "-Wno- and -Werror", test_warning_options);
	CU_add_test(s, "diagnostics sorted, notes with theirs", test_diagnostic_order);
}
