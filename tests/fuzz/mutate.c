/*
 * mutate.c - the robustness fuzzer for the nooksc library.
 *
 * It makes mutants of the good IDL files (the seeds) and feeds each one to
 * nooksc_parse_buffer() in this process, under a per-input time limit.  A
 * run is deterministic: mutant I of a mode is made from a generator seeded
 * with (SEED, I) alone, so `-i I` regenerates exactly that one input.  The
 * seed comes from -s, else $NOOKSC_FUZZ_SEED, else a fixed default, and is
 * printed.
 *
 * Modes (-m):
 *   trunc   every seed cut at every N-th offset (N chosen so that about -n
 *           inputs result; -n 0 means every offset)
 *   stress  a fixed list of pathological inputs: 100k-deep nesting, very
 *           long identifiers, strings and numbers, line markers at INT_MAX,
 *           NULs, every single byte, import cycles, huge lists, ...
 *   random  -n stacked random mutations of the seeds: bit flips, byte
 *           changes, deletions, insertions of random bytes and of IDL
 *           tokens, splices of two seeds, duplicated and moved ranges,
 *           identifier and number replacements, deep nesting at a random
 *           place, truncation, random bytes and token soup
 *
 * For every input: each diagnostic must have a message and, when it has a
 * file, a line and column >= 1; it is also printed (to /dev/null) through
 * nooksc_print_diag, which reads the source line it points into.  With no
 * errors the model is dumped (into memory).  Then the context is freed;
 * under LeakSanitizer a leak check runs every -L inputs.  Crashes and
 * sanitizer reports end the process (with the sanitizer's exit code); so
 * does an input that exceeds the time limit (exit 3).  Before each input
 * the mutant is written to the -r file, so whatever ends the process leaves
 * its reproducer; inputs that fail a check without ending it are kept in
 * the -k directory.
 *
 * Imports: the buffers are named DIR/NAME (-d DIR), where DIR holds copies
 * of the seeds, so `import "core.idl";` resolves as it would next to them;
 * -I adds the seeds' own directories, for `import "inc/base.idl";`.
 *
 * Options:
 *   -n N       inputs (random mode; trunc: about N, 0 for every offset)
 *   -s SEED    the generator's seed
 *   -i I       input I only;  -j I  start at input I (to go on after an
 *              input that ended the process)
 *   -t SECS    time limit per input (0: none)
 *   -r FILE    reproducer: each input is written there before it runs, and
 *              "INDEX VARIANT" into FILE.at
 *   -k DIR     keep inputs that fail a check there
 *   -d DIR     import directory (see below);  -I DIR  search path, as
 *              nooksc -I
 *   -O V       options variant V for every input; by default input I runs
 *              under variant I % 8: 0-4 defaults, 5 max_errors 1, 6
 *              -Werror, 7 every warning turned off
 *   -L N       a leak check every N inputs (default 16; a leak is then
 *              reported for a range of inputs, -i finds which)
 *   -g N       the first N seeds are the good ones: half of the random
 *              mutants start from one of them (the others are files with
 *              mistakes, which reach deeper into the checks)
 *   -v         name each input before running it
 *
 * Other modes of operation:
 *   -w DIR     write the mutants as files DIR/mut-MODE-NNNNNN.idl (with
 *              copies of the seeds beside them) instead of parsing them, for
 *              the CLI; -x OFFSET shifts the random mode's indices
 *   -f FILE    run the checks above on FILE's contents (reproduce a failure)
 *   -l         list the stress cases
 *
 * Exit status: 0 all inputs passed, 1 some failed a check, 2 bad usage or
 * an I/O problem, 3 an input exceeded the time limit; a sanitizer report
 * exits with the sanitizer's exit code.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "codegen.h"
#include "nooksc.h"

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_LSAN 1
#endif
#endif
#ifdef FUZZ_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define DEFAULT_SEED 20240611ULL
#define MAX_MUTANT (4u << 20)	/* mutations that would grow beyond are skipped */
#define BIG 100000		/* "very deep", "very long" */
#define MAX_SEEDS 512
#define MAX_IDENTS 4096

/* ---- small helpers ------------------------------------------------------ */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("mutate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

/* A growable byte string; the bytes may hold NULs. */
struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t n)
{
	if (n + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < n + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void buf_insert(struct buf *b, size_t at, const void *s, size_t n)
{
	if (n == 0)
		return;
	if (at > b->len)
		at = b->len;
	buf_reserve(b, b->len + n);
	memmove(b->p + at + n, b->p + at, b->len - at);
	memcpy(b->p + at, s, n);
	b->len += n;
}

static void buf_add(struct buf *b, const void *s, size_t n)
{
	buf_insert(b, b->len, s, n);
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_delete(struct buf *b, size_t at, size_t n)
{
	if (at >= b->len)
		return;
	if (n > b->len - at)
		n = b->len - at;
	memmove(b->p + at, b->p + at + n, b->len - at - n);
	b->len -= n;
}

static void buf_set(struct buf *b, const void *s, size_t n)
{
	b->len = 0;
	buf_add(b, s, n);
}

static bool write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return false;
	bool ok = len == 0 || fwrite(data, 1, len, fp) == len;
	return fclose(fp) == 0 && ok;
}

static bool read_file(const char *path, struct buf *b)
{
	FILE *fp = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (!fp)
		return false;
	b->len = 0;
	buf_reserve(b, 0);	/* never NULL, even when empty */
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(b, chunk, n);
	bool ok = !ferror(fp);
	fclose(fp);
	return ok;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the generator ------------------------------------------------------ */

static uint64_t rng;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_start(uint64_t seed, uint64_t stream, uint64_t index)
{
	rng = seed ^ (stream * 0xd1342543de82ef95ULL);
	rnd();
	rng ^= index * 0x2545f4914f6cdd1dULL;
	rnd();
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static bool chance(unsigned percent)
{
	return below(100) < percent;
}

/* A length for an edit: mostly short, sometimes up to max. */
static size_t edit_len(size_t max)
{
	size_t n;
	unsigned r = (unsigned)below(100);

	if (r < 60)
		n = 1 + below(4);
	else if (r < 90)
		n = 1 + below(64);
	else
		n = 1 + below(max ? max : 1);
	return n > max ? max : n;
}

/* ---- seeds and dictionary ----------------------------------------------- */

struct seed {
	const char *path;
	const char *name;	/* base name, as copied into the import dir */
	struct buf text;
};

static struct seed seeds[MAX_SEEDS];
static int n_seeds;
static int n_good;	/* -g: the first n_good seeds compile; 0: all do */
static const char *idents[MAX_IDENTS];	/* harvested from the seeds */
static int n_idents;

static void harvest_idents(const struct buf *b)
{
	size_t i = 0;
	while (i < b->len && n_idents < MAX_IDENTS) {
		unsigned char c = b->p[i];
		if (c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
			size_t j = i;
			while (j < b->len && (b->p[j] == '_' ||
					      (b->p[j] >= '0' && b->p[j] <= '9') ||
					      (b->p[j] >= 'A' && b->p[j] <= 'Z') ||
					      (b->p[j] >= 'a' && b->p[j] <= 'z')))
				j++;
			char *s = xrealloc(NULL, j - i + 1);
			memcpy(s, b->p + i, j - i);
			s[j - i] = '\0';
			bool dup = false;
			for (int k = 0; k < n_idents && !dup; k++)
				dup = strcmp(idents[k], s) == 0;
			if (dup)
				free(s);
			else
				idents[n_idents++] = s;
			i = j;
		} else {
			i++;
		}
	}
}

static const char *const tokens[] = {
	/* the IDL's words, C's keywords, punctuation */
	"interface", "header", "import", "kernel", "ops", "opaque",
	"struct", "union", "enum", "typedef", "const", "volatile", "sizeof",
	"void", "char", "short", "int", "long", "signed", "unsigned", "float",
	"double", "_Bool", "bool", "long long", "unsigned long long",
	"[[", "]]", "->", "...", "<<", ">>", "{", "}", "(", ")", "[", "]", ";",
	",", "*", "=", "+", "-", "~", "!", "/", "%", "&", "|", "^", "<", ">",
	"?", ":", ".", "\"", "'", "\\", "@", "$", "`", "'a'", "'\\n'", "'\\0'",
	"'\\x'", "''", "/*", "*/", "//", "\n", "\r\n", "\t", "\f", "\v", " ",
	/* line markers and directives */
	"#", "\n#\n", "\n# 1 \"x.idl\"\n", "\n#line 7 \"y.idl\"\n",
	"\n#line 2147483647\n", "\n# 2147483647 \"big.idl\"\n",
	"\n# 2147483646\n", "\n# 0\n", "\n# -1\n", "\n# 1 \"unterminated\n",
	"\n#line 99999999999999999999\n", "\n# 1 \"\"\n", "\n# 1 \"a\"\"b\"\n",
	"\n#pragma once\n", "\n#include <x.h>\n", "\n# 5 \"a\" 1 3\n",
	/* top-level items */
	"interface x;", "interface core;", "interface net;", "header \"\";",
	"header \"x.h\";", "import \"core.idl\";", "import \"netdev.idl\";",
	"import \"\";", "import \".\";", "import \"..\";", "import \"/\";",
	"import \"nonexistent.idl\";", "import \"/dev/null\";",
	"import \"../fuzz/core.idl\";", "import \"deep-00.idl\";",
	"import \"deep-60.idl\";", "kernel {", "ops x {", "opaque struct x;",
	"struct x { int a; };", "enum e { A, B = 1 };", "typedef int t;",
	"const int C = 1;", "kernel { void f(void); };",
	/* annotations */
	"in", "out", "inout", "string", "nullable", "release", "transfer",
	"borrow", "replay", "count", "bytes", "fault", "timeout", "alloc",
	"registers", "undo", "lock", "unlock", "readonly", "writable",
	"private", "hidden", "[[in]]", "[[out]]", "[[string]]", "[[nullable]]",
	"[[count(len)]]", "[[count(n)]]", "[[bytes(6)]]", "[[fault]]",
	"[[fault(-EIO)]]", "[[fault(-1)]]", "[[timeout(0)]]",
	"[[timeout(-1)]]", "[[timeout(3600001)]]",
	"[[timeout(9223372036854775807)]]", "[[alloc(kfree)]]",
	"[[release]]", "[[transfer]]", "[[replay]]", "[[registers(dev->ops)]]",
	"[[undo(f)]]", "[[lock(m)]]", "[[unlock(m)]]", "[[writable]]",
	"[[hidden]]", "[[]]", "[[,]]", "[[a(]]", "[[a()]]", "[[a(,)]]",
	/* values */
	"0", "1", "-1", "08", "0x", "0X", "1e5", "1.5", "0u", "1ULL", "1lu",
	"2147483647", "2147483648", "-2147483648", "4294967295", "4294967296",
	"9223372036854775807", "9223372036854775808", "-9223372036854775808",
	"18446744073709551615", "18446744073709551616", "0x7fffffffffffffff",
	"0x8000000000000000", "0xffffffffffffffffffff",
	"0777777777777777777777777", "16777216", "16777217",
	"1<<62", "1<<63", "1<<64", "1<<-1", "1>>64", "-1>>1",
	"(-9223372036854775807-1)", "(-9223372036854775807-1)/-1",
	"(-9223372036854775807-1)%-1", "-(-9223372036854775807-1)",
	"9223372036854775807+1", "9223372036854775807*2", "1/0", "1%0",
	"~0", "!0", "sizeof(int)", "sizeof(struct x)", "sizeof(void)",
	"sizeof(int *)", "NULL", "EIO", "-EIO", "p->f", "a->b->c",
};

#define N_TOKENS (sizeof(tokens) / sizeof(tokens[0]))

static const char *const interesting_numbers[] = {
	"0", "1", "-1", "200", "201", "2147483647", "2147483648",
	"4294967296", "9223372036854775807", "9223372036854775808",
	"18446744073709551616", "0x8000000000000000", "-9223372036854775808",
	"(-9223372036854775807-1)", "16777217", "0", "3600001", "1<<63",
	"08", "0x", "00000000000000000000000000000000001",
};

#define N_NUMBERS (sizeof(interesting_numbers) / sizeof(interesting_numbers[0]))

static const unsigned char interesting_bytes[] = {
	0, 0xff, 0x80, 0x7f, '\n', '\r', '\t', '"', '\'', '\\', '/', '*', '#',
	'[', ']', '(', ')', '{', '}', ';', ',', '-', '>', '<', '=', '_', 'a',
	'0', '9', ' ',
};

/* What nests: openers of brackets, prefixes that make a deeper tree. */
static const struct {
	const char *open, *close;
} nesters[] = {
	{ "(", ")" }, { "{", "}" }, { "[[", "]]" }, { "[", "]" }, { "*", "" },
	{ "-", "" }, { "~", "" }, { "!", "" }, { "1+", "" }, { "+1", "" },
	{ "->a", "" }, { "[1]", "" }, { "(*", ")" }, { "int (*f)(", ")" },
	{ "sizeof(int)+", "" }, { "struct ", "" }, { "const ", "" },
	{ "long ", "" }, { "[[a(", ")]]" }, { "a,", "" }, { "[[a]]", "" },
	{ "/*", "*/" }, { "\"", "" }, { "\n", "" }, { "#1\n", "" },
	{ ";", "" }, { "kernel {", "};" }, { "(1", ")" },
};

#define N_NESTERS (sizeof(nesters) / sizeof(nesters[0]))

static size_t deep_count(void)
{
	static const size_t counts[] = { 2, 10, 100, 199, 200, 201, 1000, 5000, 10000, 10001 };
	if (chance(3))
		return BIG;
	return counts[below(sizeof(counts) / sizeof(counts[0]))];
}

/* ---- mutations ---------------------------------------------------------- */

static bool is_ident_char(unsigned char c)
{
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

/* A random position, preferring the start of a token. */
static size_t some_pos(const struct buf *b)
{
	size_t at = below(b->len + 1);
	if (chance(50))
		while (at > 0 && at < b->len && is_ident_char(b->p[at - 1]) &&
		       is_ident_char(b->p[at]))
			at--;
	return at;
}

static void insert_repeated(struct buf *b, size_t at, const char *s, size_t n)
{
	size_t len = strlen(s);
	if (!len || b->len + len * n > MAX_MUTANT)
		return;
	struct buf r = { 0 };
	buf_reserve(&r, len * n);
	for (size_t i = 0; i < n; i++)
		buf_add(&r, s, len);
	buf_insert(b, at, r.p, r.len);
	free(r.p);
}

static void long_ident(struct buf *out, size_t n)
{
	out->len = 0;
	buf_reserve(out, n);
	for (size_t i = 0; i < n; i++)
		out->p[i] = (unsigned char)(i == 0 ? "abcdefghijklmnopqrstuvwxyz"[below(26)] :
					    "abcdefghijklmnopqrstuvwxyz_0123456789"[below(37)]);
	out->len = n;
}

static const char *const annot_names[] = {
	"readonly", "writable", "private", "hidden", "in", "out", "inout",
	"count", "bytes", "string", "nullable", "opaque", "alloc", "release",
	"transfer", "borrow", "registers", "undo", "fault", "timeout", "lock",
	"unlock", "replay", "bogus",
};

#define N_ANNOT_NAMES (sizeof(annot_names) / sizeof(annot_names[0]))

/* One annotation argument: a name of the seeds', a number, p->f, ... */
static void annot_arg(struct buf *t)
{
	switch (below(6)) {
	case 0:
	case 1:
		if (n_idents) {
			buf_puts(t, idents[below((size_t)n_idents)]);
			break;
		}
		/* fall through */
	case 2:
		buf_puts(t, interesting_numbers[below(N_NUMBERS)]);
		break;
	case 3:
		if (n_idents) {
			buf_puts(t, idents[below((size_t)n_idents)]);
			buf_puts(t, "->");
			buf_puts(t, idents[below((size_t)n_idents)]);
			break;
		}
		/* fall through */
	case 4:
		buf_puts(t, "sizeof(int)");
		break;
	default:
		buf_puts(t, tokens[below(N_TOKENS)]);
		break;
	}
}

/* A random [[...]] list of annotations from the vocabulary. */
static void annotation(struct buf *t)
{
	buf_puts(t, " [[");
	for (size_t n = 1 + (chance(70) ? 0 : below(3)); n > 0; n--) {
		buf_puts(t, annot_names[below(N_ANNOT_NAMES)]);
		if (chance(50)) {
			buf_puts(t, "(");
			for (size_t a = chance(80) ? 1 : below(3); a > 0; a--) {
				annot_arg(t);
				if (a > 1)
					buf_puts(t, ", ");
			}
			buf_puts(t, ")");
		}
		if (n > 1)
			buf_puts(t, ", ");
	}
	buf_puts(t, "]]");
}

enum op {
	OP_FLIP, OP_BYTE, OP_DELETE, OP_INSERT_RANDOM, OP_TOKEN, OP_NUL,
	OP_SPLICE, OP_DUP, OP_MOVE, OP_IDENT, OP_NUMBER, OP_TRUNCATE, OP_DEEP,
	OP_LONG_IDENT, OP_LINE, OP_ANNOT, OP_COUNT
};

static const unsigned op_weight[OP_COUNT] = {
	[OP_FLIP] = 10, [OP_BYTE] = 10, [OP_DELETE] = 12,
	[OP_INSERT_RANDOM] = 6, [OP_TOKEN] = 20, [OP_NUL] = 3,
	[OP_SPLICE] = 5, [OP_DUP] = 8, [OP_MOVE] = 4, [OP_IDENT] = 12,
	[OP_NUMBER] = 8, [OP_TRUNCATE] = 4, [OP_DEEP] = 3,
	[OP_LONG_IDENT] = 2, [OP_LINE] = 8, [OP_ANNOT] = 14,
};

static enum op pick_op(void)
{
	unsigned total = 0;
	for (int i = 0; i < OP_COUNT; i++)
		total += op_weight[i];
	unsigned r = (unsigned)below(total);
	for (int i = 0; i < OP_COUNT; i++) {
		if (r < op_weight[i])
			return (enum op)i;
		r -= op_weight[i];
	}
	return OP_FLIP;
}

/* Start and length of the line around position at. */
static void line_at(const struct buf *b, size_t at, size_t *start, size_t *len)
{
	size_t s = at, e = at;
	while (s > 0 && b->p[s - 1] != '\n')
		s--;
	while (e < b->len && b->p[e] != '\n')
		e++;
	if (e < b->len)
		e++;
	*start = s;
	*len = e - s;
}

static void mutate_once(struct buf *b)
{
	enum op op = pick_op();
	size_t at, n;
	struct buf t = { 0 };

	switch (op) {
	case OP_FLIP:
		if (!b->len)
			break;
		for (n = 1 + below(8); n > 0; n--)
			b->p[below(b->len)] ^= (unsigned char)(1u << below(8));
		break;
	case OP_BYTE:
		if (!b->len)
			break;
		for (n = 1 + below(4); n > 0; n--)
			b->p[below(b->len)] = chance(50) ? (unsigned char)rnd() :
				interesting_bytes[below(sizeof(interesting_bytes))];
		break;
	case OP_DELETE:
		at = below(b->len + 1);
		buf_delete(b, at, edit_len(b->len - at));
		break;
	case OP_INSERT_RANDOM:
		n = edit_len(256);
		at = some_pos(b);
		buf_reserve(&t, n);
		for (size_t i = 0; i < n; i++)
			t.p[i] = chance(30) ? interesting_bytes[below(sizeof(interesting_bytes))] :
						(unsigned char)rnd();
		buf_insert(b, at, t.p, n);
		break;
	case OP_TOKEN: {
		const char *tok = tokens[below(N_TOKENS)];
		at = some_pos(b);
		if (chance(50))
			buf_insert(b, at, " ", 1);
		buf_insert(b, at, tok, strlen(tok));
		if (chance(50))
			buf_insert(b, at, " ", 1);
		break;
	}
	case OP_NUL:
		at = below(b->len + 1);
		buf_insert(b, at, "\0\0\0\0", 1 + below(4));
		break;
	case OP_SPLICE: {
		/* this one's head, another seed's tail */
		const struct seed *o = &seeds[below((size_t)n_seeds)];
		at = below(b->len + 1);
		b->len = at;
		size_t from = below(o->text.len + 1);
		buf_add(b, o->text.p + from, o->text.len - from);
		break;
	}
	case OP_DUP: {
		if (!b->len)
			break;
		at = below(b->len);
		n = edit_len(b->len - at);
		size_t times = chance(80) ? 1 + below(3) : 1 + below(1000);
		if (b->len + n * times > MAX_MUTANT)
			break;
		buf_set(&t, b->p + at, n);
		for (size_t i = 0; i < times; i++)
			buf_insert(b, at, t.p, t.len);
		break;
	}
	case OP_MOVE: {
		if (!b->len)
			break;
		at = below(b->len);
		n = edit_len(b->len - at);
		buf_set(&t, b->p + at, n);
		buf_delete(b, at, n);
		buf_insert(b, below(b->len + 1), t.p, t.len);
		break;
	}
	case OP_IDENT: {
		/* replace an identifier by another one of the seeds' */
		if (!b->len || !n_idents)
			break;
		at = below(b->len);
		if (!is_ident_char(b->p[at]))
			break;
		while (at > 0 && is_ident_char(b->p[at - 1]))
			at--;
		n = 0;
		while (at + n < b->len && is_ident_char(b->p[at + n]))
			n++;
		buf_delete(b, at, n);
		const char *id = idents[below((size_t)n_idents)];
		buf_insert(b, at, id, strlen(id));
		break;
	}
	case OP_NUMBER: {
		/* replace a number by an interesting one */
		size_t i, start = below(b->len + 1);
		for (i = start; i < b->len && !(b->p[i] >= '0' && b->p[i] <= '9'); i++)
			;
		if (i >= b->len)
			break;
		n = 0;
		while (i + n < b->len && is_ident_char(b->p[i + n]))
			n++;
		buf_delete(b, i, n);
		const char *num = interesting_numbers[below(N_NUMBERS)];
		buf_insert(b, i, num, strlen(num));
		break;
	}
	case OP_TRUNCATE:
		b->len = below(b->len + 1);
		break;
	case OP_DEEP: {
		size_t k = deep_count(), w = below(N_NESTERS);
		at = some_pos(b);
		size_t inner = at;
		insert_repeated(b, at, nesters[w].open, k);
		if (*nesters[w].close && chance(70)) {
			/* close them, at once or after some of the text */
			inner = b->len - at > strlen(nesters[w].open) * k ?
				at + strlen(nesters[w].open) * k : b->len;
			if (chance(50))
				inner += below(b->len - inner + 1) % 64;
			insert_repeated(b, inner, nesters[w].close, k);
		}
		break;
	}
	case OP_LONG_IDENT: {
		static const size_t lens[] = { 255, 256, 1000, 65536, BIG };
		long_ident(&t, lens[below(sizeof(lens) / sizeof(lens[0]))]);
		at = some_pos(b);
		buf_insert(b, at, t.p, t.len);
		break;
	}
	case OP_LINE: {
		/* delete, duplicate or move a whole line */
		size_t start, len;
		if (!b->len)
			break;
		line_at(b, below(b->len), &start, &len);
		buf_set(&t, b->p + start, len);
		switch (below(3)) {
		case 0:
			buf_delete(b, start, len);
			break;
		case 1:
			buf_insert(b, start, t.p, t.len);
			break;
		default:
			buf_delete(b, start, len);
			line_at(b, below(b->len + 1), &start, &len);
			buf_insert(b, start, t.p, t.len);
			break;
		}
		break;
	}
	case OP_ANNOT: {
		/* annotations where they may go: before a ';', ',' or ')', or
		 * (leading ones) after a '{' or ';' */
		size_t i, from = below(b->len + 1);
		for (i = from; i < b->len; i++)
			if (b->p[i] == ';' || b->p[i] == ',' || b->p[i] == ')' ||
			    b->p[i] == '{')
				break;
		if (i < b->len && (b->p[i] == '{' || (b->p[i] == ';' && chance(30))))
			i++;
		annotation(&t);
		buf_insert(b, i, t.p, t.len);
		break;
	}
	case OP_COUNT:
		break;
	}
	free(t.p);
	if (b->len > MAX_MUTANT)
		b->len = MAX_MUTANT;
}

/* Random mutant number index: its text and the name it is parsed under. */
static void make_random(uint64_t seed, size_t index, struct buf *b,
			const char **name)
{
	rng_start(seed, 3, index);
	unsigned kind = (unsigned)below(100);

	*name = "fuzz.idl";
	b->len = 0;
	if (kind < 1)
		return;			/* empty */
	if (kind < 4) {			/* random bytes */
		static const char idl_chars[] =
			"{}()[];,*=+-~!/%&|^<>?:.#\"' \t\nabcxyz_019";
		size_t n = edit_len(8192);
		bool printable = chance(60);
		buf_reserve(b, n);
		for (size_t i = 0; i < n; i++)
			b->p[i] = printable ? (unsigned char)idl_chars[below(sizeof(idl_chars) - 1)] :
					      (unsigned char)rnd();
		b->len = n;
		return;
	}
	if (kind < 8) {			/* token soup */
		for (size_t n = 1 + below(300); n > 0; n--) {
			const char *tok = chance(20) && n_idents ?
				idents[below((size_t)n_idents)] : tokens[below(N_TOKENS)];
			buf_puts(b, tok);
			if (chance(70))
				buf_puts(b, " ");
		}
		return;
	}
	/* half of them from the good seeds (-g), which still compile */
	size_t pick = n_good > 0 && n_good < n_seeds && chance(50) ?
		below((size_t)n_good) : below((size_t)n_seeds);
	const struct seed *s = &seeds[pick];
	*name = s->name;
	buf_set(b, s->text.p, s->text.len);
	size_t n = 1;
	while (n < 16 && chance(55))
		n++;
	while (n-- > 0)
		mutate_once(b);
}

/* ---- stress cases ------------------------------------------------------- */

#define HDR "interface x; header \"x.h\";\n"

/*
 * pre, then unit repeated k times (a '#' in unit is replaced by the
 * repetition's number, for distinct names), then mid, then close repeated
 * k times, then post.  unit_len is for units holding NULs.
 */
struct stress {
	const char *pre, *unit;
	size_t k;
	const char *mid, *close, *post;
	const char *name;	/* buffer name; NULL: stress.idl */
	size_t unit_len;
};

static const struct stress stress_cases[] = {
	/* deep nesting of every bracket, alone and in context */
	{ "", "(", BIG, "", "", "", NULL, 0 },
	{ "", "{", BIG, "", "", "", NULL, 0 },
	{ "", "[[", BIG, "", "", "", NULL, 0 },
	{ "", "[", BIG, "", "", "", NULL, 0 },
	{ "", ")", BIG, "", "", "", NULL, 0 },
	{ "", "}", BIG, "", "", "", NULL, 0 },
	{ "", "]]", BIG, "", "", "", NULL, 0 },
	{ "", "(", BIG, "", ")", "", NULL, 0 },
	{ "", "{", BIG, "", "}", "", NULL, 0 },
	{ "", "[[", BIG, "", "]]", "", NULL, 0 },
	{ HDR "kernel ", "{", BIG, "", "}", ";", NULL, 0 },
	{ HDR "struct s ", "{", BIG, "int a;", "}", ";", NULL, 0 },
	{ HDR "const int X = ", "(", BIG, "1", ")", ";", NULL, 0 },
	{ HDR "const int X = ", "(", 100, "1", ")", ";", NULL, 0 },
	{ HDR "const int X = ", "(", 5000, "1", ")", ";", NULL, 0 },
	{ HDR "const int X = ", "-", BIG, "1;", "", "", NULL, 0 },
	{ HDR "const int X = ", "-", 199, "1;", "", "", NULL, 0 },
	{ HDR "const int X = ", "-", 200, "1;", "", "", NULL, 0 },
	{ HDR "const int X = ", "-", 201, "1;", "", "", NULL, 0 },
	{ HDR "const int X = ", "~!-+", BIG / 4, "1;", "", "", NULL, 0 },
	{ HDR "const int X = ", "1+", BIG, "1;", "", "", NULL, 0 },
	{ HDR "const int X = ", "1+", 199, "1;", "", "", NULL, 0 },
	{ HDR "const int X = ", "1<<", BIG, "1;", "", "", NULL, 0 },
	{ HDR "const int X = ", "1*(", BIG, "1", ")", ";", NULL, 0 },
	{ HDR "const int X = ", "1|", BIG, "1;", "", "", NULL, 0 },
	{ HDR "const int X = ", "sizeof(int)+", BIG, "1;", "", "", NULL, 0 },
	{ HDR "const int X = sizeof(int", "*", BIG, ");", "", "", NULL, 0 },
	{ HDR "const int X = a", "->a", BIG, ";", "", "", NULL, 0 },
	{ HDR "struct s { int a; struct s *p; };\n"
	  "kernel { int f(struct s *p, char *b [[in, count(p", "->p", BIG,
	  "->a)]]); };", "", "", NULL, 0 },
	{ HDR "struct s { int a; struct s *p; };\n"
	  "kernel { int f(struct s *p, char *b [[in, count(p", "->p", 150,
	  "->a)]]); };", "", "", NULL, 0 },
	{ HDR "struct s { int ", "*", BIG, "p; };", "", "", NULL, 0 },
	{ HDR "struct s { int ", "*", 1000, "p; };", "", "", NULL, 0 },
	{ HDR "struct s { int ", "*const volatile", BIG / 4, "p; };", "", "", NULL, 0 },
	{ HDR "struct s { int a", "[1]", BIG, "; };", "", "", NULL, 0 },
	{ HDR "struct s { int a", "[1]", 1000, "; };", "", "", NULL, 0 },
	{ HDR "struct s { int a", "[]", BIG, "; };", "", "", NULL, 0 },
	{ HDR "struct s { int ", "(", BIG, "a", ")", "; };", NULL, 0 },
	{ HDR "struct s { int ", "(*", BIG, "a", ")", "; };", NULL, 0 },
	{ HDR "struct s { int ", "(*", 1000, "a", ")", "; };", NULL, 0 },
	{ HDR "kernel { void f(", "int (*a)(", BIG, "int", ")", "); };", NULL, 0 },
	{ HDR "kernel { void f(", "int (*a)(", 100, "int", ")", "); };", NULL, 0 },
	{ HDR "kernel { void f(int a", "(", BIG, "", ")", "); };", NULL, 0 },
	{ HDR "kernel { void f(int a[", "sizeof(int[", 1000, "1", "])", "]); };", NULL, 0 },
	{ HDR "struct s { int x ", "[[", BIG, "readonly", "]]", "; };", NULL, 0 },
	{ HDR "struct s { int x [[count(", "(", BIG, "1", ")", ")]]; };", NULL, 0 },
	/* long lists */
	{ HDR "struct s { int x [[", "readonly,", BIG, "readonly]]; };", "", "", NULL, 0 },
	{ HDR "struct s { int x ", "[[readonly]]", BIG, "; };", "", "", NULL, 0 },
	{ HDR "struct s { int x ", "[[]]", BIG, "; };", "", "", NULL, 0 },
	{ HDR "kernel { void f(", "int a#,", BIG, "int b); };", "", "", NULL, 0 },
	{ HDR "kernel { void f(", "int a,", BIG, "int b); };", "", "", NULL, 0 },
	{ HDR "enum e { ", "A#,", BIG, "B };", "", "", NULL, 0 },
	{ HDR "enum e { ", "A# = 1 + A0,", 10000, "B };", "", "", NULL, 0 },
	{ HDR "", "struct a#;", BIG, "", "", "", NULL, 0 },
	{ HDR "", "struct a;", BIG, "", "", "", NULL, 0 },
	{ HDR "struct s {", "int a#;", BIG, "};", "", "", NULL, 0 },
	{ HDR "struct s {", "int a#, *b#, c#[2];", 10000, "};", "", "", NULL, 0 },
	{ HDR "kernel {", "void f#(void);", BIG, "};", "", "", NULL, 0 },
	{ HDR "ops o {", "int f#(int x) [[fault(-1)]];", 20000, "};", "", "", NULL, 0 },
	{ HDR "kernel { int f(char *b [[in, count(", "1,", BIG, "1)]]); };", "", "", NULL, 0 },
	{ HDR "kernel { int f(char *b [[in, count(", "1,", 1000, "1)]]); };", "", "", NULL, 0 },
	{ HDR "", "typedef int t#;", 20000, "", "", "", NULL, 0 },
	{ HDR "typedef int t0;", "typedef t# t#;", 2000, "", "", "", NULL, 0 },
	{ HDR "", "const int C# = 1;", 20000, "", "", "", NULL, 0 },
	{ HDR "", ";", BIG, "", "", "", NULL, 0 },
	/* long tokens */
	{ "interface ", "a", 255, ";", "", "", NULL, 0 },
	{ "interface ", "a", 256, ";", "", "", NULL, 0 },
	{ "interface ", "a", BIG, ";", "", "", NULL, 0 },
	{ HDR "struct ", "a", BIG, " { int ", "b", "; };", NULL, 0 },
	{ HDR "kernel { int ", "f", BIG, "(int x); };", "", "", NULL, 0 },
	{ "interface x; header \"", "a", BIG, "\";", "", "", NULL, 0 },
	{ "interface x; header \"x.h\"; import \"", "a", BIG, "\";", "", "", NULL, 0 },
	{ "interface x; header \"x.h\"; import \"", "../", 2000, "x.idl\";", "", "", NULL, 0 },
	{ "interface x; header \"x.h\"; import \"", "a/", 3000, "x.idl\";", "", "", NULL, 0 },
	{ "interface x; header \"", "\\\"", BIG, "\";", "", "", NULL, 0 },
	{ HDR "const int X = ", "9", BIG, ";", "", "", NULL, 0 },
	{ HDR "const int X = 0x", "f", BIG, ";", "", "", NULL, 0 },
	{ HDR "const int X = 0", "7", BIG, ";", "", "", NULL, 0 },
	{ HDR "const int X = 1", "u", BIG, ";", "", "", NULL, 0 },
	{ HDR "const int X = 0x", "0", BIG, "1;", "", "", NULL, 0 },
	{ "", "/*", 1, "", "", "", NULL, 0 },
	{ "/*", "*", BIG, "", "", "", NULL, 0 },
	{ "", "//", BIG, "", "", "", NULL, 0 },
	{ "\"", "a", BIG, "", "", "", NULL, 0 },
	{ "'", "", 0, "", "", "", NULL, 0 },
	{ "'\\", "", 0, "", "", "", NULL, 0 },
	{ "'ab'", "", 0, "", "", "", NULL, 0 },
	/* positions: many lines, long lines, line markers */
	{ "", "\n", BIG, "@", "", "", NULL, 0 },
	{ "", " ", BIG, "@", "", "", NULL, 0 },
	{ "", "\t", BIG, "@", "", "", NULL, 0 },
	{ "", "\r", BIG, "@", "", "", NULL, 0 },
	{ "", "@", BIG, "", "", "", NULL, 0 },
	{ "", "\x80", BIG, "", "", "", NULL, 0 },
	{ "# 2147483647 \"f.idl\"\n", "\n", 3, "@", "", "", NULL, 0 },
	{ "#line 2147483647\n", "\n", 2, "struct", "", "", NULL, 0 },
	{ "# 2147483646\n", "x\n", 3, "", "", "", NULL, 0 },
	{ "# 2147483647\n", "", 0, "@", "", "", NULL, 0 },
	{ "# 2147483648\n", "", 0, "@", "", "", NULL, 0 },
	{ "# 1 \"unterminated\n", "", 0, "@", "", "", NULL, 0 },
	{ "# 1 \"unterminated", "", 0, "", "", "", NULL, 0 },
	{ "# 1 \"a\" 2 3\n@", "", 0, "", "", "", NULL, 0 },
	{ "# 0\n@", "", 0, "", "", "", NULL, 0 },
	{ "# -1\n@", "", 0, "", "", "", NULL, 0 },
	{ "#line 99999999999999999999\n@", "", 0, "", "", "", NULL, 0 },
	{ "#\n", "", 0, "", "", "", NULL, 0 },
	{ "#line\n", "", 0, "", "", "", NULL, 0 },
	{ "#line 5", "", 0, "", "", "", NULL, 0 },
	{ "# 1 \"\"\n@", "", 0, "", "", "", NULL, 0 },
	{ "#1\"a\"\"b\"\n@", "", 0, "", "", "", NULL, 0 },
	{ "  #  5 \"x\"  \n@", "", 0, "", "", "", NULL, 0 },
	{ "# 1 \"", "a", BIG, "\"\n@", "", "", NULL, 0 },
	{ "", "# 1 \"f\"\n", BIG / 10, "@", "", "", NULL, 0 },
	{ "", "# 1 \"f#\"\n@\n", 10000, "", "", "", NULL, 0 },
	{ "", "#line 2147483647\n", 1000, "@", "", "", NULL, 0 },
	{ "@\n# 5 \"a\\\"b\"\n@", "", 0, "", "", "", NULL, 0 },
	{ "interface x;\r\nheader \"x.h\";\r\nstruct s {\r\n\tint a;\r\n};\r\n", "", 0, "", "", "", NULL, 0 },
	{ "interface x;\fheader \"x.h\";\vstruct s { int a; };", "", 0, "", "", "", NULL, 0 },
	/* NULs */
	{ "", "\0", 1, "", "", "", NULL, 1 },
	{ "", "\0", BIG, "", "", "", NULL, 1 },
	{ "interface x;", "\0", 1, "header \"x.h\";", "", "", NULL, 1 },
	{ "interface x; header \"x.h", "\0", 1, "\";", "", "", NULL, 1 },
	{ "interface x; header \"x.h\"; /* ", "\0", 1, " */", "", "", NULL, 1 },
	{ "interface x; header \"x.h\"; // ", "\0", 1, "\nstruct s;", "", "", NULL, 1 },
	{ "# 1 \"a", "\0", 1, "b\"\n@", "", "", NULL, 1 },
	/* imports */
	{ "interface core; header \"c.h\"; import \"core.idl\";", "", 0, "", "", "", "core.idl", 0 },
	{ "interface net; header \"n.h\"; import \"netdev.idl\";", "", 0, "", "", "", "netdev.idl", 0 },
	{ "interface a; header \"a.h\"; import \"netdev.idl\"; import \"core.idl\"; import \"netdev.idl\";", "", 0, "", "", "", NULL, 0 },
	{ HDR, "import \"core.idl\";", BIG / 10, "", "", "", NULL, 0 },
	{ HDR, "import \"x#.idl\";", 1000, "", "", "", NULL, 0 },
	{ HDR "import \"\";", "", 0, "", "", "", NULL, 0 },
	{ HDR "import \".\";", "", 0, "", "", "", NULL, 0 },
	{ HDR "import \"..\";", "", 0, "", "", "", NULL, 0 },
	{ HDR "import \"/\";", "", 0, "", "", "", NULL, 0 },
	{ HDR "import \"/dev/null\";", "", 0, "", "", "", NULL, 0 },
	{ HDR "import \"./stress.idl\";", "", 0, "", "", "", NULL, 0 },
	{ HDR "import \"deep-00.idl\";", "", 0, "", "", "", NULL, 0 },
	{ HDR "import \"deep-10.idl\";", "", 0, "", "", "", NULL, 0 },
	{ HDR "import \"deep-69.idl\"; import \"deep-00.idl\";", "", 0, "", "", "", NULL, 0 },
	{ "interface deep00; header \"d.h\"; import \"deep-01.idl\";", "", 0, "", "", "", "deep-69.idl", 0 },
	/* values at the edges */
	{ HDR "const int X = -9223372036854775807 - 1; const int Y = X / -1;"
	  " const int Z = X % -1; const int W = -X; const int V = X * -1;"
	  " const int U = X - 1; const int T = 1 << 63; const int S = X >> 63;"
	  " const int R = 1 << 64; const int Q = 1 >> -1; const int P = 1 / 0;"
	  " const int O = ~X; const int N = !X; const int M = X + X;", "", 0, "", "", "", NULL, 0 },
	{ HDR "enum e { A = 9223372036854775807, B, C };", "", 0, "", "", "", NULL, 0 },
	{ HDR "struct s { char a[16777216]; char b[16777217]; char c[0]; char d[-1]; char e[9223372036854775807]; };", "", 0, "", "", "", NULL, 0 },
	{ HDR "ops o { int f(int x) [[fault(9223372036854775807), timeout(3600000)]]; int g(int x) [[timeout(9223372036854775807)]]; int h(void) [[timeout(-9223372036854775807-1)]]; };", "", 0, "", "", "", NULL, 0 },
	{ HDR "kernel { int f(char *b [[in, count(-1)]], int n) [[registers(b->x), undo(f), lock(b), unlock(n), alloc(f)]]; };", "", 0, "", "", "", NULL, 0 },
	{ HDR "typedef struct a b; typedef b a; typedef a c; struct s { c x; };", "", 0, "", "", "", NULL, 0 },
	{ HDR "typedef t t; struct s { t x; };", "", 0, "", "", "", NULL, 0 },
	{ HDR "struct s { struct s x; }; union u { union u y; };", "", 0, "", "", "", NULL, 0 },
};

#define N_STRESS_TABLE (sizeof(stress_cases) / sizeof(stress_cases[0]))
/* after the table: every single byte, all bytes in a row, and per seed:
 * repeated 50 times, with CRLF line ends, with a NUL in the middle */
#define N_STRESS_BYTES 256
#define N_STRESS_ALL (N_STRESS_TABLE + N_STRESS_BYTES + 1 + 3 * (size_t)n_seeds)

static void append_unit(struct buf *b, const char *unit, size_t unit_len,
			size_t index)
{
	const char *hash = unit_len ? NULL : strchr(unit, '#');
	if (!hash) {
		buf_add(b, unit, unit_len ? unit_len : strlen(unit));
		return;
	}
	char num[32];
	snprintf(num, sizeof(num), "%zu", index);
	buf_add(b, unit, (size_t)(hash - unit));
	buf_puts(b, num);
	append_unit(b, hash + 1, 0, index);
}

static void stress_describe(size_t i, char *out, size_t size)
{
	if (i < N_STRESS_TABLE) {
		const struct stress *s = &stress_cases[i];
		char pre[72] = "", unit[24] = "";
		size_t j = 0;
		/* a short printable picture */
		for (const char *p = s->pre; *p && j + 5 < sizeof(pre); p++)
			j += (size_t)snprintf(pre + j, sizeof(pre) - j,
					      *p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x",
					      (unsigned char)*p);
		j = 0;
		if (s->unit_len)
			snprintf(unit, sizeof(unit), "\\0");
		else
			for (const char *p = s->unit; *p && j + 5 < sizeof(unit); p++)
				j += (size_t)snprintf(unit + j, sizeof(unit) - j,
						      *p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x",
						      (unsigned char)*p);
		snprintf(out, size, "'%s' + %zu x '%s'", pre, s->k, unit);
	} else if (i < N_STRESS_TABLE + N_STRESS_BYTES) {
		snprintf(out, size, "the single byte 0x%02zx", i - N_STRESS_TABLE);
	} else if (i == N_STRESS_TABLE + N_STRESS_BYTES) {
		snprintf(out, size, "bytes 0..255, 400 times");
	} else {
		size_t k = i - N_STRESS_TABLE - N_STRESS_BYTES - 1;
		static const char *const how[] = { "50 times", "with CRLF", "with a NUL" };
		snprintf(out, size, "%s %s", seeds[k / 3].path, how[k % 3]);
	}
}

static void make_stress(size_t i, struct buf *b, const char **name)
{
	b->len = 0;
	*name = "stress.idl";
	if (i < N_STRESS_TABLE) {
		const struct stress *s = &stress_cases[i];
		if (s->name)
			*name = s->name;
		buf_puts(b, s->pre);
		for (size_t j = 0; j < s->k; j++)
			append_unit(b, s->unit, s->unit_len, j);
		buf_puts(b, s->mid);
		for (size_t j = 0; j < s->k && *s->close; j++)
			buf_puts(b, s->close);
		buf_puts(b, s->post);
		return;
	}
	i -= N_STRESS_TABLE;
	if (i < N_STRESS_BYTES) {
		unsigned char c = (unsigned char)i;
		buf_add(b, &c, 1);
		return;
	}
	i -= N_STRESS_BYTES;
	if (i == 0) {
		for (int r = 0; r < 400; r++)
			for (int c = 0; c < 256; c++) {
				unsigned char byte = (unsigned char)c;
				buf_add(b, &byte, 1);
			}
		return;
	}
	i--;
	const struct seed *s = &seeds[i / 3];
	*name = s->name;
	switch (i % 3) {
	case 0:
		for (int r = 0; r < 50; r++)
			buf_add(b, s->text.p, s->text.len);
		break;
	case 1:
		for (size_t j = 0; j < s->text.len; j++) {
			if (s->text.p[j] == '\n')
				buf_add(b, "\r", 1);
			buf_add(b, s->text.p + j, 1);
		}
		break;
	default:
		buf_set(b, s->text.p, s->text.len);
		buf_insert(b, b->len / 2, "\0", 1);
		break;
	}
}

/* ---- truncations -------------------------------------------------------- */

static size_t total_seed_len(void)
{
	size_t n = 0;
	for (int i = 0; i < n_seeds; i++)
		n += seeds[i].text.len + 1;
	return n;
}

static size_t trunc_step(size_t budget)
{
	size_t total = total_seed_len();
	if (budget == 0 || budget >= total)
		return 1;
	return (total + budget - 1) / budget;
}

/* Cut k: seed s at offset o, with every seed cut at 0, step, 2*step, ...
 * up to and including its full length. */
static size_t trunc_count(size_t step)
{
	size_t n = 0;
	for (int i = 0; i < n_seeds; i++)
		n += seeds[i].text.len / step + 1;
	return n;
}

static void make_trunc(size_t k, size_t step, struct buf *b, const char **name,
		       char *what, size_t what_size)
{
	for (int i = 0; i < n_seeds; i++) {
		size_t cuts = seeds[i].text.len / step + 1;
		if (k < cuts) {
			buf_set(b, seeds[i].text.p, k * step);
			*name = seeds[i].name;
			snprintf(what, what_size, "%s cut at byte %zu", seeds[i].path, k * step);
			return;
		}
		k -= cuts;
	}
	b->len = 0;
	*name = "fuzz.idl";
	snprintf(what, what_size, "nothing");
}

/* ---- running one input -------------------------------------------------- */

static const char *repro_path;	/* -r */
static char repro_at[PATH_MAX];	/* -r FILE.at: the index of the input in it */
static const char *keep_dir;	/* -k */
static const char *import_dir;	/* -d */
static const char *include_dirs[16];	/* -I */
static int n_include_dirs;
static unsigned time_limit = 5;	/* -t seconds */
static bool verbose;
static int variant_opt = -1;		/* -O */
static FILE *devnull;
static bool lsan_checks = true;

static size_t leak_every = 16;	/* -L: inputs between leak checks */
static size_t leak_first = SIZE_MAX;	/* first input since the last check */

static char alarm_msg[1024];
static size_t alarm_len;

static void on_alarm(int sig)
{
	(void)sig;
	ssize_t r = write(2, alarm_msg, alarm_len);
	(void)r;
	_exit(3);
}

/*
 * The options an input runs under: by its index, most inputs the defaults,
 * some stop at the first error, treat warnings as errors or turn all
 * warnings off (-O V picks variant V, for -f).
 */
#define N_VARIANTS 8
static const char *warning_names[64];
static int n_warning_names;

static void find_warnings(void)
{
	int n;
	const struct nooksc_check_info *c = nooksc_checks(&n);
	for (int i = 0; i < n && n_warning_names < 64; i++)
		if (c[i].level == NOOKSC_WARNING)
			warning_names[n_warning_names++] = c[i].name;
}

static void set_variant(struct nooksc_options *o, unsigned v)
{
	switch (v) {
	case 5:
		o->max_errors = 1;
		break;
	case 6:
		o->werror = true;
		o->max_errors = 100000;
		break;
	case 7:
		o->disabled = warning_names;
		o->n_disabled = n_warning_names;
		o->max_errors = 3;
		break;
	default:
		break;
	}
}

struct diag_state {
	int count, bad;
	char first_bad[256];
};

static void on_diag(void *arg, const struct nooksc_diag *d)
{
	struct diag_state *ds = arg;
	const char *why = NULL;

	ds->count++;
	if (!d->message)
		why = "a diagnostic without a message";
	else if ((unsigned)d->level > NOOKSC_ERROR)
		why = "a diagnostic with an unknown level";
	else if (d->pos.file && d->pos.line < 1)
		why = "a diagnostic with a file and line < 1";
	else if (d->pos.file && d->pos.col < 1)
		why = "a diagnostic with a file and column < 1";
	if (why) {
		if (!ds->bad++)
			snprintf(ds->first_bad, sizeof(ds->first_bad),
				 "%s (%s:%d:%d: %.80s)", why,
				 d->pos.file ? d->pos.file : "-", d->pos.line,
				 d->pos.col, d->message ? d->message : "(null)");
		return;
	}
	/* the printer reads the source line the position points into */
	nooksc_print_diag(devnull, d);
}

static unsigned long n_inputs, n_failed, n_valid;
static double slowest;
static char slowest_what[160];

static void keep(const char *mode, size_t index, const struct buf *b)
{
	if (!keep_dir)
		return;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s-%zu.idl", keep_dir, mode, index);
	if (write_file(path, b->p, b->len))
		fprintf(stderr, "mutate:   kept as %s\n", path);
}

static void fail(const char *mode, size_t index, const char *what,
		 const struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void fail(const char *mode, size_t index, const char *what,
		 const struct buf *b, const char *fmt, ...)
{
	va_list ap;

	n_failed++;
	fprintf(stderr, "mutate: FAIL %s #%zu (%s): ", mode, index, what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	keep(mode, index, b);
}

/*
 * A leak check scans the whole heap (milliseconds), so it runs every
 * leak_every inputs and at the end.  A leak found after several inputs is
 * reported as a range; `-i I` runs one input with its own check.  Once a
 * leak was seen the checks stop: each would report the same blocks again.
 */
static void leak_check(const char *mode, size_t index, const char *what,
		       const struct buf *b, bool last)
{
	if (leak_first == SIZE_MAX)
		leak_first = index;
	if (!lsan_checks || (!last && index + 1 - leak_first < leak_every))
		return;
#ifdef FUZZ_LSAN
	if (__lsan_do_recoverable_leak_check()) {
		if (leak_first == index)
			fail(mode, index, what, b, "memory leaked (report above)");
		else {
			n_failed++;
			fprintf(stderr, "mutate: LEAK in %s #%zu..#%zu (report above; "
				"run each with -i to find which)\n", mode, leak_first, index);
		}
		lsan_checks = false;
	}
#else
	(void)mode;
	(void)what;
	(void)b;
#endif
	leak_first = SIZE_MAX;
}

static void run_one(const char *mode, size_t index, const char *what,
		    const struct buf *b, const char *name, unsigned variant)
{
	char path[PATH_MAX];
	struct diag_state ds = { 0 };
	struct nooksc_options opt = {
		.diag = on_diag, .diag_arg = &ds,
		.include_dirs = include_dirs, .n_include_dirs = n_include_dirs,
	};
	set_variant(&opt, variant);
	struct itimerval tv = { .it_value = { .tv_sec = time_limit } };
	struct itimerval off = { 0 };

	if (import_dir)
		snprintf(path, sizeof(path), "%s/%s", import_dir, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	if (verbose)
		fprintf(stderr, "mutate: %s #%zu (%s), %zu bytes\n", mode, index, what, b->len);
	if (repro_path) {
		char at[64];
		int n = snprintf(at, sizeof(at), "%zu %u\n", index, variant);
		if (!write_file(repro_path, b->p, b->len) ||
		    !write_file(repro_at, at, (size_t)n))
			die("cannot write '%s': %s", repro_path, strerror(errno));
	}
	alarm_len = (size_t)snprintf(alarm_msg, sizeof(alarm_msg),
		"mutate: FAIL %s #%zu (%s): no result after %u s (a hang?); the input is in %s\n",
		mode, index, what, time_limit, repro_path ? repro_path : "(no -r file)");
	if (alarm_len >= sizeof(alarm_msg))
		alarm_len = sizeof(alarm_msg) - 1;

	double t0 = now();
	if (time_limit)
		setitimer(ITIMER_REAL, &tv, NULL);

	struct nooksc *nc = nooksc_new(&opt);
	if (!nc)
		die("nooksc_new failed");
	/* never NULL, even for an empty input: memcpy(x, NULL, 0) is undefined */
	const char *text = b->len ? (const char *)b->p : "";
	struct idl_model *m = nooksc_parse_buffer(nc, path, text, b->len);
	int errors = nooksc_errors(nc);
	bool dumped = false;
	if (!m) {
		fail(mode, index, what, b, "nooksc_parse_buffer returned NULL");
	} else if (errors == 0) {
		char *dump = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&dump, &len);
		if (!fp)
			die("open_memstream: %s", strerror(errno));
		nooksc_dump(fp, m);
		fclose(fp);
		if (strncmp(dump ? dump : "", "interface ", 10) != 0)
			fail(mode, index, what, b, "the dump does not start with 'interface '");
		for (int i = 0, n = nooksc_source_count(m); i < n; i++)
			if (!nooksc_source_path(m, i))
				fail(mode, index, what, b, "source %d of %d has no path", i, n);
		free(dump);
		dumped = true;

		/* the code generator's model emitter, on every valid model
		 * (m4 itself runs in the CLI part and the codegen tests) */
		char *model = NULL;
		fp = open_memstream(&model, &len);
		if (!fp)
			die("open_memstream: %s", strerror(errno));
		if (emit_model(fp, nc, m))
			fail(mode, index, what, b, "emit_model failed to write");
		fclose(fp);
		if (!model || !strstr(model, "m4_divert(0)"))
			fail(mode, index, what, b, "the emitted model is incomplete");
		free(model);
	}
	if (nooksc_warnings(nc) < 0)
		fail(mode, index, what, b, "%d warnings", nooksc_warnings(nc));
	if (errors > 0 && ds.count == 0)
		fail(mode, index, what, b, "%d errors but no diagnostic", errors);
	nooksc_free(nc);

	if (time_limit)
		setitimer(ITIMER_REAL, &off, NULL);
	double dt = now() - t0;
	if (dt > slowest) {
		slowest = dt;
		snprintf(slowest_what, sizeof(slowest_what), "%s #%zu (%s)", mode, index, what);
	}

	if (ds.bad)
		fail(mode, index, what, b, "%d bad diagnostics; the first: %s", ds.bad, ds.first_bad);
	n_inputs++;
	n_valid += dumped;
	leak_check(mode, index, what, b, false);
}

/* After a leak was reported, the exit-time leak check would report it
 * again and change the exit status: skip it. */
static void finish(int status) __attribute__((noreturn));

static void finish(int status)
{
	fflush(stdout);
	fflush(stderr);
	if (!lsan_checks)
		_exit(status);
	exit(status);
}

/* ---- setup -------------------------------------------------------------- */

static void make_dir(const char *dir)
{
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		die("cannot create '%s': %s", dir, strerror(errno));
}

#define N_DEEP 70	/* nooksc refuses imports nested more than 64 deep */

/* Copies of the seeds in dir, by base name (the first of a name wins), and
 * a chain of imports deep-00.idl -> deep-01.idl -> ... -> deep-69.idl. */
static void copy_seeds(const char *dir)
{
	char path[PATH_MAX], text[256];

	make_dir(dir);
	for (int i = 0; i < N_DEEP; i++) {
		int n = snprintf(text, sizeof(text), "interface deep%02d;\nheader \"deep%02d.h\";\n", i, i);
		if (i + 1 < N_DEEP)
			n += snprintf(text + n, sizeof(text) - (size_t)n, "import \"deep-%02d.idl\";\n", i + 1);
		snprintf(text + n, sizeof(text) - (size_t)n, "const int D%02d = %d;\n", i, i);
		snprintf(path, sizeof(path), "%s/deep-%02d.idl", dir, i);
		if (!write_file(path, text, strlen(text)))
			die("cannot write '%s': %s", path, strerror(errno));
	}
	for (int i = 0; i < n_seeds; i++) {
		bool first = true;
		for (int j = 0; j < i && first; j++)
			first = strcmp(seeds[j].name, seeds[i].name) != 0;
		if (!first)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, seeds[i].name);
		if (!write_file(path, seeds[i].text.p, seeds[i].text.len))
			die("cannot write '%s': %s", path, strerror(errno));
	}
}

static uint64_t parse_seed(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || !*s || *end)
		die("%s must be a number, not '%s'", what, s);
	return (uint64_t)v;
}

static size_t parse_count(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > 100000000)
		die("%s must be a number from 0 to 100000000, not '%s'", what, s);
	return (size_t)v;
}

static void usage(void)
{
	fputs("Usage: mutate [-m trunc|stress|random] [-n N] [-s SEED] [-i INDEX]\n"
	      "              [-t SECONDS] [-r REPRO] [-k KEEPDIR] [-d IMPORTDIR] [-I DIR]\n"
	      "              [-j FIRST] [-L N] [-O VARIANT] [-g NGOOD] [-w OUTDIR]\n"
	      "              [-x OFFSET] [-v] SEED.idl...\n"
	      "       mutate -f FILE [-O VARIANT] [-d IMPORTDIR] [-I DIR] [-t SECONDS] [SEED.idl...]\n"
	      "       mutate -l [SEED.idl...]\n"
	      "Environment: NOOKSC_FUZZ_SEED is the default for -s.\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode = "random", *write_dir = NULL, *replay = NULL;
	size_t n = 5000, only = SIZE_MAX, offset = 0, start = 0;
	bool list = false;
	const char *env = getenv("NOOKSC_FUZZ_SEED");
	uint64_t seed = env && *env ? parse_seed(env, "NOOKSC_FUZZ_SEED") : DEFAULT_SEED;
	int c;

	while ((c = getopt(argc, argv, "m:n:s:i:j:t:r:k:d:I:L:O:g:w:x:f:lvh")) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'n': n = parse_count(optarg, "-n"); break;
		case 's': seed = parse_seed(optarg, "-s"); break;
		case 'i': only = parse_count(optarg, "-i"); break;
		case 'j': start = parse_count(optarg, "-j"); break;
		case 'L': leak_every = parse_count(optarg, "-L"); break;
		case 'g': n_good = (int)parse_count(optarg, "-g"); break;
		case 'O':
			variant_opt = (int)parse_count(optarg, "-O");
			if (variant_opt >= N_VARIANTS)
				die("-O takes 0 to %d", N_VARIANTS - 1);
			break;
		case 't': time_limit = (unsigned)parse_count(optarg, "-t"); break;
		case 'r': repro_path = optarg; break;
		case 'k': keep_dir = optarg; break;
		case 'd': import_dir = optarg; break;
		case 'I':
			if (n_include_dirs == (int)(sizeof(include_dirs) / sizeof(include_dirs[0])))
				die("too many -I");
			include_dirs[n_include_dirs++] = optarg;
			break;
		case 'w': write_dir = optarg; break;
		case 'x': offset = parse_count(optarg, "-x"); break;
		case 'f': replay = optarg; break;
		case 'l': list = true; break;
		case 'v': verbose = true; break;
		default: usage();
		}
	}
	if (strcmp(mode, "trunc") && strcmp(mode, "stress") && strcmp(mode, "random"))
		die("unknown mode '%s' (trunc, stress or random)", mode);
	if (!replay && !list && optind == argc)
		usage();
	if (argc - optind > MAX_SEEDS)
		die("at most %d seed files", MAX_SEEDS);
	for (int i = optind; i < argc; i++) {
		struct seed *s = &seeds[n_seeds++];
		s->path = argv[i];
		s->name = base_name(argv[i]);
		if (!read_file(argv[i], &s->text))
			die("cannot read '%s': %s", argv[i], strerror(errno));
		harvest_idents(&s->text);
	}
	if (!replay && !list && n_seeds == 0)
		die("no seed files");

	if (list) {
		char what[160];
		for (size_t i = 0; i < N_STRESS_ALL; i++) {
			stress_describe(i, what, sizeof(what));
			printf("%zu\t%s\n", i, what);
		}
		return 0;
	}

	if (repro_path)
		snprintf(repro_at, sizeof(repro_at), "%s.at", repro_path);
	find_warnings();
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		die("cannot open /dev/null: %s", strerror(errno));
	if (keep_dir)
		make_dir(keep_dir);
	if (import_dir)
		copy_seeds(import_dir);
	if (time_limit) {
		struct sigaction sa = { .sa_handler = on_alarm };
		sigaction(SIGALRM, &sa, NULL);
	}

	struct buf b = { 0 };
	const char *name = "fuzz.idl";
	char what[256];

	if (replay) {
		if (!read_file(replay, &b))
			die("cannot read '%s': %s", replay, strerror(errno));
		name = base_name(replay);
		run_one("file", 0, replay, &b, name, variant_opt < 0 ? 0 : (unsigned)variant_opt);
		leak_check("file", 0, replay, &b, true);
		fprintf(stderr, "mutate: %s: %s\n", replay, n_failed ? "FAILED" : "ok");
		free(b.p);
		finish(n_failed ? 1 : 0);
	}

	/* how many inputs this mode has */
	size_t count, step = 1;
	if (!strcmp(mode, "trunc")) {
		step = trunc_step(n);
		count = trunc_count(step);
	} else if (!strcmp(mode, "stress")) {
		count = N_STRESS_ALL;
	} else {
		count = n;
	}
	if (!strcmp(mode, "random") && only != SIZE_MAX && only >= count)
		count = only + 1;
	if (only != SIZE_MAX && only >= count)
		die("-i %zu: mode %s has only %zu inputs", only, mode, count);
	if (offset && strcmp(mode, "random"))
		die("-x is for the random mode only");
	size_t first = only != SIZE_MAX ? only : start < count ? start : count;
	size_t last = only != SIZE_MAX ? only + 1 : count;

	if (write_dir)
		copy_seeds(write_dir);
	fprintf(stderr, "mutate: mode %s, seed %llu, %zu input%s", mode,
		(unsigned long long)seed, last - first, last - first == 1 ? "" : "s");
	if (!strcmp(mode, "trunc"))
		fprintf(stderr, " (every seed cut at every %zu-th offset)", step);
	fputc('\n', stderr);

	double t0 = now();
	for (size_t i = first; i < last; i++) {
		size_t id = i + offset;
		if (!strcmp(mode, "trunc")) {
			make_trunc(id, step, &b, &name, what, sizeof(what));
		} else if (!strcmp(mode, "stress")) {
			make_stress(id, &b, &name);
			stress_describe(id, what, sizeof(what));
		} else {
			make_random(seed, id, &b, &name);
			snprintf(what, sizeof(what), "seed %llu, %zu bytes",
				 (unsigned long long)seed, b.len);
		}
		if (write_dir) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/mut-%s-%06zu.idl", write_dir, mode, id);
			if (!write_file(path, b.p, b.len))
				die("cannot write '%s': %s", path, strerror(errno));
			n_inputs++;
			continue;
		}
		unsigned variant = variant_opt < 0 ? (unsigned)(id % N_VARIANTS) : (unsigned)variant_opt;
		if (variant) {
			size_t l = strlen(what);
			snprintf(what + l, sizeof(what) - l, ", options -O %u", variant);
		}
		run_one(mode, id, what, &b, name, variant);
	}
	if (!write_dir && last > first)
		leak_check(mode, last - 1 + offset, what, &b, true);
	free(b.p);

	if (write_dir) {
		fprintf(stderr, "mutate: wrote %lu files into %s\n", n_inputs, write_dir);
		return 0;
	}
	fprintf(stderr, "mutate: mode %s, seed %llu: %lu inputs (%lu valid, dumped) in %.1f s, "
		"slowest %.2f s: %s; %lu failed\n", mode, (unsigned long long)seed,
		n_inputs, n_valid, now() - t0, slowest, slowest_what, n_failed);
	if (n_failed)
		fprintf(stderr, "mutate: reproduce one with: mutate -m %s -s %llu -i INDEX -d DIR SEEDS...\n",
			mode, (unsigned long long)seed);
	finish(n_failed ? 1 : 0);
}
