/*
 * test_import.c - import resolution: relative to the importing file, then
 * along the -I path; diamonds load once; cycles are reported with their
 * chain; a missing file names where it was looked for.  Files live in a
 * fresh temporary directory per test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static char root[256];

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0755);
	*slash = '/';
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void)
{
	snprintf(root, sizeof(root), "/tmp/nooksc-test-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* Compiles root/rel as a file, with root/inc on the search path. */
static struct compiled *compile_at(const char *rel, const char *src)
{
	char name[512], inc[512];
	snprintf(name, sizeof(name), "%s/%s", root, rel);
	snprintf(inc, sizeof(inc), "%s/inc", root);
	return compile_opts(name, src, inc, 0);
}

static void test_relative_then_path(void)
{
	put("a/core.idl", "interface core_local; header \"c.h\"; const int L = 1;\n");
	put("inc/core.idl", "interface core_inc; header \"c.h\"; const int I = 1;\n");
	put("inc/only.idl", "interface only; header \"o.h\"; const int O = 1;\n");
	struct compiled *c = compile_at("a/main.idl", HDR
		"import \"core.idl\";\nimport \"only.idl\";\n"
		"struct s { int x [[count(L)]]; };\nconst int Z = O;\n");
	/* count on an int is a target error; what matters is that L and O
	 * resolved: core.idl came from a/, only.idl from inc/ */
	CU_ASSERT_PTR_NULL(find_diag(c, "import-not-found"));
	CU_ASSERT_PTR_NULL(find_diag(c, "unknown-name"));
	CU_ASSERT_STRING_EQUAL(c->m->main->imports->file->interface, "core_local");
	CU_ASSERT_STRING_EQUAL(c->m->main->imports->next->file->interface, "only");
	CU_ASSERT_EQUAL(nooksc_source_count(c->m), 3);
	compiled_free(c);
}

static void test_not_found(void)
{
	struct compiled *c = compile_at("main.idl", HDR "import \"nope.idl\";\n");
	ASSERT_DIAG_AT(c, "import-not-found", 2, 8);
	const struct got_diag *g = find_diag(c, "import-not-found");
	CU_ASSERT_PTR_NOT_NULL(g && strstr(g->message, "/inc'"));
	compiled_free(c);
}

static void test_diamond(void)
{
	put("d/base.idl", "interface base; header \"b.h\"; struct obj { int x; };\n");
	put("d/left.idl", "interface left; header \"l.h\"; import \"base.idl\";\n"
	    "kernel { void l(struct obj *o); };\n");
	put("d/right.idl", "interface right; header \"r.h\"; import \"base.idl\";\n"
	    "kernel { void r(struct obj *o); };\n");
	struct compiled *c = compile_at("d/top.idl", HDR
		"import \"left.idl\";\nimport \"right.idl\";\n");
	ASSERT_CLEAN(c);
	CU_ASSERT_EQUAL(nooksc_source_count(c->m), 4);	/* base once */
	compiled_free(c);
}

static void test_cycle(void)
{
	put("c/a.idl", "interface a; header \"a.h\"; import \"b.idl\";\n");
	put("c/b.idl", "interface b; header \"b.h\";\nimport \"a.idl\";\n");
	char name[512];
	snprintf(name, sizeof(name), "%s/c/a.idl", root);
	struct compiled *c = compile_opts(name, "interface a; header \"a.h\"; import \"b.idl\";\n",
					  NULL, 0);
	ASSERT_DIAG_AT(c, "import-cycle", 2, 8);
	const struct got_diag *g = find_diag(c, "import-cycle");
	/* a -> b -> a: each file once, the repeated one at both ends */
	const char *m = g ? g->message : "";
	const char *b = strstr(m, "/c/b.idl -> ");
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "/c/a.idl -> "));
	CU_ASSERT_PTR_NOT_NULL(b);
	const char *end = b ? strstr(b, "/c/a.idl") : NULL;
	CU_ASSERT_TRUE(end && !strstr(end + strlen("/c/a.idl"), ".idl"));
	CU_ASSERT_STRING_EQUAL(g ? strrchr(g->file, '/') : "", "/b.idl");
	CU_ASSERT_EQUAL(count_level(c, NOOKSC_ERROR), 1);
	compiled_free(c);
}

static void test_self_import(void)
{
	put("s/self.idl", "interface self; header \"s.h\"; import \"self.idl\";\n");
	char path[512];
	snprintf(path, sizeof(path), "%s/s/self.idl", root);
	struct compiled *c = compile_file(path);
	CU_ASSERT_PTR_NOT_NULL(c->m);
	CU_ASSERT_EQUAL(nooksc_errors(c->nc), 1);
	CU_ASSERT_PTR_NOT_NULL(find_diag(c, "import-cycle"));
	compiled_free(c);
}

static void test_duplicate_across_files(void)
{
	put("x/one.idl", "interface one; header \"o.h\"; const int A = 1;\n");
	struct compiled *c = compile_at("x/two.idl", HDR
		"import \"one.idl\";\nconst int A = 2;\n");
	ASSERT_DIAG_AT(c, "duplicate-decl", 3, 11);
	/* the note points into the imported file */
	CU_ASSERT_EQUAL(c->n, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[1].file, "x/one.idl"));
	compiled_free(c);
}

static void test_missing_main_file(void)
{
	struct compiled *c = compile_file("/nonexistent/x.idl");
	CU_ASSERT_PTR_NULL(c->m);
	CU_ASSERT_EQUAL(nooksc_errors(c->nc), 1);
	CU_ASSERT_PTR_NOT_NULL(c->n ? strstr(c->d[0].message, "No such file") : NULL);
	compiled_free(c);
	c = compile_file("/tmp");			/* a directory */
	CU_ASSERT_PTR_NULL(c->m);
	CU_ASSERT_EQUAL(nooksc_errors(c->nc), 1);
	compiled_free(c);
}

void register_import_tests(void)
{
	CU_pSuite s = CU_add_suite("import", setup, teardown);
	CU_add_test(s, "importing file's directory, then -I", test_relative_then_path);
	CU_add_test(s, "not found", test_not_found);
	CU_add_test(s, "diamond loads once", test_diamond);
	CU_add_test(s, "cycle with its chain", test_cycle);
	CU_add_test(s, "self import", test_self_import);
	CU_add_test(s, "duplicate across files", test_duplicate_across_files);
	CU_add_test(s, "missing main file", test_missing_main_file);
}
