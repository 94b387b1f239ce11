/*
 * test_lexer.c - tokens and their positions, seen through the model and
 * the diagnostics (the lexer itself is internal to the library).
 */
#include <string.h>

#include "util.h"

static void test_positions(void)
{
	struct compiled *c = compile(HDR
		"const int A = 1;\n"
		"\tconst int  B = 2;\n"
		"/* a comment\n spanning lines */ const int C = 3;\n");
	ASSERT_CLEAN(c);
	struct idl_decl *a = decl_named(c->m, "A"), *b = decl_named(c->m, "B"),
			*cc = decl_named(c->m, "C");
	CU_ASSERT_EQUAL(a->pos.line, 2);
	CU_ASSERT_EQUAL(a->pos.col, 11);
	CU_ASSERT_EQUAL(a->pos.last_col, 11);
	CU_ASSERT_EQUAL(b->pos.line, 3);
	CU_ASSERT_EQUAL(b->pos.col, 13);	/* a tab is one column */
	CU_ASSERT_EQUAL(cc->pos.line, 5);
	CU_ASSERT_EQUAL(cc->pos.col, 30);
	CU_ASSERT_STRING_EQUAL(a->pos.file, "test.idl");
	/* the caret line: pos.text is the start of the physical line */
	CU_ASSERT_NSTRING_EQUAL(b->pos.text, "\tconst int  B", 13);
	compiled_free(c);
}

static void test_token_span(void)
{
	struct compiled *c = compile(HDR "const int LONG_NAME = 1;\n");
	struct idl_decl *d = decl_named(c->m, "LONG_NAME");
	CU_ASSERT_EQUAL(d->pos.col, 11);
	CU_ASSERT_EQUAL(d->pos.last_col, 19);
	compiled_free(c);
}

static void test_line_marker(void)
{
	struct compiled *c = compile(HDR
		"# 40 \"orig/net.idl\" 1\n"
		"const int A = 1;\n"
		"#line 7 \"x.idl\"\n"
		"\n"
		"const int B = 2;\n"
		"# 100\n"
		"const int C = 3;\n");
	ASSERT_CLEAN(c);
	struct idl_decl *a = decl_named(c->m, "A"), *b = decl_named(c->m, "B"),
			*cc = decl_named(c->m, "C");
	CU_ASSERT_STRING_EQUAL(a->pos.file, "orig/net.idl");
	CU_ASSERT_EQUAL(a->pos.line, 40);
	CU_ASSERT_STRING_EQUAL(b->pos.file, "x.idl");
	CU_ASSERT_EQUAL(b->pos.line, 8);
	CU_ASSERT_STRING_EQUAL(cc->pos.file, "x.idl");	/* file kept */
	CU_ASSERT_EQUAL(cc->pos.line, 100);
	/* the caret still shows the physical line */
	CU_ASSERT_NSTRING_EQUAL(b->pos.text, "const int B", 11);
	compiled_free(c);
}

static void test_other_directive(void)
{
	struct compiled *c = compile(HDR "#define X 1\nconst int A = 1;\n");
	ASSERT_DIAG_AT(c, "lex", 2, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(find_diag(c, "lex")->message, "cpp"));
	compiled_free(c);
}

static void test_numbers(void)
{
	struct compiled *c = compile(HDR
		"const int H = 0x1F;\nconst int O = 017;\nconst long L = 10UL;\n"
		"const int Z = 0;\nconst int CH = 'a';\nconst int NL = '\\n';\n");
	ASSERT_CLEAN(c);
	CU_ASSERT_EQUAL(decl_named(c->m, "H")->ival, 31);
	CU_ASSERT_EQUAL(decl_named(c->m, "O")->ival, 15);
	CU_ASSERT_EQUAL(decl_named(c->m, "L")->ival, 10);
	CU_ASSERT_EQUAL(decl_named(c->m, "Z")->ival, 0);
	CU_ASSERT_EQUAL(decl_named(c->m, "CH")->ival, 'a');
	CU_ASSERT_EQUAL(decl_named(c->m, "NL")->ival, '\n');
	compiled_free(c);
}

static void test_bad_numbers(void)
{
	struct compiled *c = compile(HDR "const int A = 99999999999999999999999;\n"
				     "const int B = 09;\n");
	ASSERT_DIAG_AT(c, "lex", 2, 15);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[0].message, "too large"));
	CU_ASSERT_EQUAL(count_level(c, NOOKSC_ERROR), 2);
	CU_ASSERT_EQUAL(c->d[1].line, 3);
	compiled_free(c);
}

static void test_stray_and_unterminated(void)
{
	struct compiled *c = compile(HDR "const int A = 1 @;\n");
	ASSERT_DIAG_AT(c, "lex", 2, 17);
	compiled_free(c);

	/* C operators the IDL has no use for are stray, not "invalid token" */
	c = compile(HDR "const int A = 1 ? 2 : 3;\n");
	ASSERT_DIAG_AT(c, "lex", 2, 17);
	/* (the syntax error after '1' comes first: it is at column 16) */
	CU_ASSERT_PTR_NOT_NULL(strstr(find_diag(c, "lex")->message, "stray '?'"));
	compiled_free(c);

	c = compile(HDR "header \"abc\n");
	ASSERT_DIAG_AT(c, "lex", 2, 8);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[0].message, "unterminated string"));
	compiled_free(c);

	c = compile(HDR "const int A = 1; /* never closed\n\n");
	ASSERT_DIAG_AT(c, "lex", 2, 18);	/* at the opening */
	CU_ASSERT_PTR_NOT_NULL(strstr(find_diag(c, "lex")->message, "unterminated comment"));
	compiled_free(c);
}

static void test_nul_byte(void)
{
	/* with an explicit length the NUL is data: a stray byte, no crash */
	static const char src[] = HDR "const int A\0 = 1;\n";
	struct compiled *c = compile_buf("nul.idl", src, sizeof(src) - 1, NULL, 0);
	ASSERT_DIAG_AT(c, "lex", 2, 12);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->d[0].message, "0x00"));
	compiled_free(c);
}

static void test_idl_words_not_reserved(void)
{
	/* fields called like IDL words, as real headers have them */
	struct compiled *c = compile(HDR
		"struct file { unsigned long count; void *ops; int in; int out;"
		" int string; int interface; int kernel; };\n");
	ASSERT_CLEAN(c);
	CU_ASSERT_PTR_NOT_NULL(var_named(decl_named(c->m, "file")->fields, "ops"));
	compiled_free(c);
}

static void test_long_identifier(void)
{
	char src[1024];
	char name[400];
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(src, sizeof(src), HDR "const int %s = 1;\n", name);
	struct compiled *c = compile(src);
	ASSERT_DIAG_AT(c, "lex", 2, 11);
	compiled_free(c);
}

void register_lexer_tests(void)
{
	CU_pSuite s = CU_add_suite("lexer", NULL, NULL);
	CU_add_test(s, "positions", test_positions);
	CU_add_test(s, "token span", test_token_span);
	CU_add_test(s, "cpp line markers", test_line_marker);
	CU_add_test(s, "other directives rejected", test_other_directive);
	CU_add_test(s, "number literals", test_numbers);
	CU_add_test(s, "bad numbers", test_bad_numbers);
	CU_add_test(s, "stray and unterminated", test_stray_and_unterminated);
	CU_add_test(s, "NUL byte", test_nul_byte);
	CU_add_test(s, "IDL words are not reserved", test_idl_words_not_reserved);
	CU_add_test(s, "identifier too long", test_long_identifier);
}
