/*
 * test_import.c - import resolution: relative to the importing file, then
 * along the -I path, then -isystem; diamonds load once; cycles are reported
 * with their chain; a missing file names where it was looked for;
 * diagnostics in imported files come at their import line, with the lines
 * that imported them.  Files live in a fresh temporary directory per test.
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

static void test_system_dirs(void)
{
	put("sys/k.idl", "interface k; header \"k.h\"; import \"k2.idl\"; const int K = 1;\n");
	put("sys/k2.idl", "interface k2; header \"k.h\"; const int K2 = 1;\n");
	put("sys/u.idl", "interface u_sys; header \"u.h\"; const int U = 1;\n");
	put("usr/u.idl", "interface u_usr; header \"u.h\"; const int U = 2;\n");
	put("m/main.idl", HDR "import \"k.idl\";\nimport \"u.idl\";\nconst int Z = K + K2 + U;\n");
	char path[512], usr[512], sys[512];
	snprintf(path, sizeof(path), "%s/m/main.idl", root);
	snprintf(usr, sizeof(usr), "%s/usr", root);
	snprintf(sys, sizeof(sys), "%s/sys", root);
	const char *inc[] = { usr }, *sysdirs[] = { sys };
	struct nooksc_options opt = {
		.include_dirs = inc, .n_include_dirs = 1,
		.system_dirs = sysdirs, .n_system_dirs = 1,
	};
	struct compiled *c = compile_file_opts(path, &opt);
	ASSERT_CLEAN(c);
	CU_ASSERT_EQUAL_FATAL(nooksc_source_count(c->m), 4);
	/* main, k.idl (-isystem), k2.idl (beside it), u.idl (-I first) */
	CU_ASSERT_FALSE(nooksc_source_is_system(c->m, 0));
	CU_ASSERT_TRUE(nooksc_source_is_system(c->m, 1));
	CU_ASSERT_TRUE(nooksc_source_is_system(c->m, 2));
	CU_ASSERT_FALSE(nooksc_source_is_system(c->m, 3));
	CU_ASSERT_PTR_NOT_NULL(strstr(nooksc_source_path(c->m, 3), "/usr/u.idl"));
	CU_ASSERT_FALSE(nooksc_source_is_system(c->m, 4));	/* out of range */
	compiled_free(c);
}

/* Diagnostics come sorted as the text reads, an imported file's at its
 * import line, each with the import lines that led to it. */
static void test_diagnostics_in_import_order(void)
{
	/* the checks find the [const-value] errors before the annotations */
	put("o/c.idl", "interface c; header \"c.h\";\nstruct sc { int z [[bogus3]]; };\n");
	put("o/b.idl", "interface b; header \"b.h\";\nimport \"c.idl\";\nconst int B = nob;\n");
	put("o/main.idl", HDR "struct sm { int y [[bogus2]]; };\nimport \"b.idl\";\n"
	    "const int M2 = nom2;\n");
	char path[512];
	snprintf(path, sizeof(path), "%s/o/main.idl", root);
	struct compiled *c = compile_file(path);
	CU_ASSERT_EQUAL_FATAL(c->n, 4);
	/* main before the import, then c.idl (imported by b.idl), b.idl, main */
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[0].message, "bogus2"));
	CU_ASSERT_EQUAL(c->d[0].n_from, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[1].message, "bogus3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[1].file, "/o/c.idl"));
	CU_ASSERT_EQUAL(c->d[1].n_from, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[1].from_file, "/o/b.idl"));
	CU_ASSERT_EQUAL(c->d[1].from_line, 2);
	CU_ASSERT_EQUAL(c->d[1].from_col, 8);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[2].message, "nob"));
	CU_ASSERT_EQUAL(c->d[2].n_from, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[2].from_file, "/o/main.idl"));
	CU_ASSERT_EQUAL(c->d[2].from_line, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[3].message, "nom2"));
	CU_ASSERT_EQUAL(c->d[3].n_from, 0);
	if (c->n != 4)
		print_diags(c);
	compiled_free(c);
}

struct printed {
	char *text;
	size_t len;
	FILE *fp;
};

static void print_to(void *arg, const struct nooksc_diag *d)
{
	nooksc_print_diag(((struct printed *)arg)->fp, d);
}

static void test_imported_from_lines(void)
{
	put("p/c.idl", "interface c; header \"c.h\";\nconst int C = @;\n");
	put("p/b.idl", "interface b; header \"b.h\";\nimport \"c.idl\";\n");
	put("p/main.idl", HDR "import \"b.idl\";\n");
	char path[512], want[2048];
	snprintf(path, sizeof(path), "%s/p/main.idl", root);
	struct printed out = { 0 };
	out.fp = open_memstream(&out.text, &out.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out.fp);
	struct nooksc_options opt = { .diag = print_to, .diag_arg = &out };
	struct nooksc *nc = nooksc_new(&opt);
	nooksc_parse_file(nc, path);
	fclose(out.fp);
	snprintf(want, sizeof(want),
		 "In file imported from %s/p/b.idl:2:8,\n"
		 "                 from %s/p/main.idl:2:8:\n"
		 "%s/p/c.idl:2:15: error: [lex] stray '@' in input\n",
		 root, root, root);
	CU_ASSERT_NSTRING_EQUAL(out.text, want, strlen(want));
	if (strncmp(out.text, want, strlen(want)))
		fprintf(stderr, "\n    got:\n%s\n    wanted:\n%s", out.text, want);
	free(out.text);
	nooksc_free(nc);
}

void register_import_tests(void)
{
	CU_pSuite s = CU_add_suite("import", setup, teardown);
	CU_add_test(s, "importing file's directory, then -I", test_relative_then_path);
	CU_add_test(s, "not found", test_not_found);
	CU_add_test(s, "diamond loads once", test_diamond);
	CU_add_test(s, "cycle with its chain", test_cycle);
	CU_add_test(s, "self import", test_self_import);
	CU_add_test(s, "-isystem: system imports", test_system_dirs);
	CU_add_test(s, "diagnostics in import order", test_diagnostics_in_import_order);
	CU_add_test(s, "In file imported from", test_imported_from_lines);
	CU_add_test(s, "duplicate across files", test_duplicate_across_files);
	CU_add_test(s, "missing main file", test_missing_main_file);
}
