/*
 * nooks-inject - software-implemented fault injection (SWIFI) into an
 * extension's code, after the Rio/Nooks injector.
 *
 * How it works: the extension (an x86-64 ELF shared object) is read
 * whole. Its own functions are the STT_FUNC symbols of .text (from
 * .symtab, else .dynsym), less the compiler's crt helpers (_init,
 * frame_dummy, ...) and filtered by --function/--exclude. objdump
 * (binutils) disassembles .text once; its instruction boundaries, bytes
 * and text are the candidates. A fault type picks, with a seeded
 * generator (splitmix64: the same seed gives the same mutation), an
 * instruction it applies to and builds a patch: a start address and the
 * new bytes, never longer than the instructions they replace. Where a
 * mutation must keep the instruction's length and opcode (ptr, src, dst,
 * interface), the patched bytes are decoded again by objdump and a draw
 * that changed the wrong thing is drawn again. The patch is then written
 * into a copy of the object (-o, a persistent fault), printed as
 * "ADDRESS HEXBYTES" for `nkctl patch` (--print-patch), or handed to
 * nkctl (--nkctl SOCK --module NAME): a transient fault in the loaded
 * copy. Every mode prints the function and offset, the address, the old
 * and new bytes and the instructions before and after as objdump decodes
 * them.
 *
 * Exit status: 0 done, 1 nothing to mutate or a tool failed, 2 bad usage
 * or bad input.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_INSN	15
#define MAX_TRIES	400

static const char *prog = "nooks-inject";

static void die(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
static void die(int status, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		die(1, "out of memory");
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die(1, "out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		die(1, "out of memory");
	return d;
}

/* ---- the seeded generator (splitmix64) ----------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t pick(size_t n)
{
	return (size_t)(rng() % n);
}

/* ---- fault types --------------------------------------------------------- */

enum ftype { F_TEXT, F_NOP, F_BRANCH, F_INVERT, F_PTR, F_DST, F_SRC, F_INTERFACE,
	     F_LOOP, F_UD2, F_HLT, F_NTYPES };

static const char *const type_names[F_NTYPES] = {
	"text", "nop", "branch", "invert", "ptr", "dst", "src", "interface",
	"loop", "ud2", "hlt",
};

static const char *const type_help[F_NTYPES] = {
	"flip one random bit of an instruction",
	"replace an instruction by NOPs (0x90)",
	"give a conditional branch another condition (not its inverse)",
	"invert a conditional branch's condition",
	"corrupt a memory operand: a bit of its displacement, or its base/index register",
	"change the destination register of an instruction",
	"change the source register of an instruction",
	"corrupt the argument set up for a call to an imported kernel function (PLT)",
	"make a backward conditional branch unconditional (a loop that never ends)",
	"replace an instruction by ud2 (illegal instruction), NOP-padded",
	"replace an instruction by hlt (privileged instruction), NOP-padded",
};

/* ---- the object ---------------------------------------------------------- */

struct func {
	char *name;
	uint64_t addr, size;
};

struct insn {
	uint64_t addr;
	int len;
	uint8_t b[MAX_INSN];
	char *text;		/* objdump's, e.g. "mov    0x8(%rbp),%rax" */
	int func;		/* index into funcs, -1 outside them */
};

static const char *path;
static uint8_t *img;
static size_t img_size;
static const Elf64_Shdr *text_sh;
static struct func *funcs;
static int nfuncs;
static struct insn *insns;
static int ninsns;
static char **kimports;		/* undefined, unversioned dynamic symbols */
static int nkimports;

static const char *const crt_helpers[] = {
	"_init", "_fini", "_start", "frame_dummy", "register_tm_clones",
	"deregister_tm_clones", "__do_global_dtors_aux", "__do_global_ctors_aux",
	"call_weak_fn", NULL,
};

static bool is_crt_helper(const char *name)
{
	for (int i = 0; crt_helpers[i]; i++)
		if (!strcmp(name, crt_helpers[i]))
			return true;
	return false;
}

static void read_file(void)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(2, "%s: %s", path, strerror(errno));
	size_t cap = 1 << 16;
	img = xmalloc(cap);
	size_t n;
	while ((n = fread(img + img_size, 1, cap - img_size, f)) > 0) {
		img_size += n;
		if (img_size == cap)
			img = xrealloc(img, cap *= 2);
	}
	if (ferror(f))
		die(2, "%s: %s", path, strerror(errno));
	fclose(f);
}

static const Elf64_Ehdr *ehdr(void)
{
	return (const Elf64_Ehdr *)img;
}

static const Elf64_Shdr *shdr(int i)
{
	return (const Elf64_Shdr *)(img + ehdr()->e_shoff) + i;
}

static const char *sec_name(const Elf64_Shdr *s)
{
	const Elf64_Shdr *str = shdr(ehdr()->e_shstrndx);
	if (str->sh_offset + s->sh_name >= img_size)
		return "";
	return (const char *)img + str->sh_offset + s->sh_name;
}

static bool in_file(uint64_t off, uint64_t len)
{
	return off <= img_size && len <= img_size - off;
}

static void check_elf(void)
{
	const Elf64_Ehdr *e = ehdr();
	if (img_size < sizeof(*e) || memcmp(e->e_ident, ELFMAG, SELFMAG))
		die(2, "%s: not an ELF file", path);
	if (e->e_ident[EI_CLASS] != ELFCLASS64 || e->e_ident[EI_DATA] != ELFDATA2LSB ||
	    e->e_machine != EM_X86_64)
		die(2, "%s: not a 64-bit x86-64 ELF object", path);
	if (e->e_type != ET_DYN)
		die(2, "%s: not a shared object (an extension is a .so)", path);
	if (!e->e_shoff || e->e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_file(e->e_shoff, (uint64_t)e->e_shnum * sizeof(Elf64_Shdr)) ||
	    e->e_shstrndx >= e->e_shnum)
		die(2, "%s: no usable section headers", path);
	for (int i = 0; i < e->e_shnum; i++) {
		const Elf64_Shdr *s = shdr(i);
		if (s->sh_type != SHT_NOBITS && !in_file(s->sh_offset, s->sh_size))
			die(2, "%s: section %d lies outside the file", path, i);
		if (!strcmp(sec_name(s), ".text"))
			text_sh = s;
	}
	if (!text_sh)
		die(2, "%s: no .text section", path);
}

static const Elf64_Shdr *find_section(uint32_t type)
{
	for (int i = 0; i < ehdr()->e_shnum; i++)
		if (shdr(i)->sh_type == type)
			return shdr(i);
	return NULL;
}

static int text_index(void)
{
	return (int)(text_sh - shdr(0));
}

static int func_cmp(const void *a, const void *b)
{
	const struct func *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* name matches NAME exactly or as NAME.suffix (a gcc part: foo.cold) */
static bool name_matches(const char *name, char **list, int n)
{
	for (int i = 0; i < n; i++) {
		size_t l = strlen(list[i]);
		if (!strncmp(name, list[i], l) && (name[l] == '\0' || name[l] == '.'))
			return true;
	}
	return false;
}

static void load_symbols(char **only, int nonly, char **excl, int nexcl)
{
	const Elf64_Shdr *sym = find_section(SHT_SYMTAB);
	if (!sym)
		sym = find_section(SHT_DYNSYM);
	if (!sym || sym->sh_link >= ehdr()->e_shnum)
		die(2, "%s: no symbol table", path);
	const Elf64_Shdr *str = shdr(sym->sh_link);
	const Elf64_Sym *s = (const Elf64_Sym *)(img + sym->sh_offset);
	size_t n = sym->sh_size / sizeof(*s);
	funcs = xmalloc(n * sizeof(*funcs));
	bool *seen = xmalloc((size_t)nonly + 1);
	for (size_t i = 0; i < n; i++) {
		if (ELF64_ST_TYPE(s[i].st_info) != STT_FUNC || s[i].st_shndx != text_index() ||
		    !s[i].st_size || s[i].st_name >= str->sh_size)
			continue;
		const char *name = (const char *)img + str->sh_offset + s[i].st_name;
		if (is_crt_helper(name))
			continue;
		if (nonly) {
			bool hit = false;
			for (int k = 0; k < nonly; k++)
				if (!strcmp(name, only[k]))
					hit = seen[k] = true;
			if (!hit)
				continue;
		}
		if (name_matches(name, excl, nexcl))
			continue;
		funcs[nfuncs].name = xstrdup(name);
		funcs[nfuncs].addr = s[i].st_value;
		funcs[nfuncs].size = s[i].st_size;
		nfuncs++;
	}
	for (int k = 0; k < nonly; k++)
		if (!seen[k])
			die(2, "%s: no function '%s' in .text (--list shows them)", path, only[k]);
	free(seen);
	qsort(funcs, (size_t)nfuncs, sizeof(*funcs), func_cmp);
	int m = 0;	/* aliases: one entry per address */
	for (int i = 0; i < nfuncs; i++)
		if (!m || funcs[i].addr != funcs[m - 1].addr)
			funcs[m++] = funcs[i];
	nfuncs = m;
	if (!nfuncs)
		die(2, "%s: no functions of its own left to mutate", path);
}

/*
 * The kernel functions it imports: undefined dynamic symbols without a
 * symbol version (libnk has none; libc's carry GLIBC_x.y). An object with
 * no .gnu.version counts every undefined function.
 */
static void load_imports(void)
{
	const Elf64_Shdr *dyn = find_section(SHT_DYNSYM);
	const Elf64_Shdr *ver = find_section(SHT_GNU_versym);
	if (!dyn || dyn->sh_link >= ehdr()->e_shnum)
		return;
	const Elf64_Shdr *str = shdr(dyn->sh_link);
	const Elf64_Sym *s = (const Elf64_Sym *)(img + dyn->sh_offset);
	size_t n = dyn->sh_size / sizeof(*s);
	const Elf64_Half *vs = ver && ver->sh_size / sizeof(Elf64_Half) == n ?
		(const Elf64_Half *)(img + ver->sh_offset) : NULL;
	kimports = xmalloc(n * sizeof(*kimports));
	for (size_t i = 1; i < n; i++) {
		if (s[i].st_shndx != SHN_UNDEF || s[i].st_name >= str->sh_size ||
		    (vs && (vs[i] & 0x7fff) > 1))
			continue;
		kimports[nkimports++] = xstrdup((const char *)img + str->sh_offset + s[i].st_name);
	}
}

static bool is_kernel_import(const char *name)
{
	for (int i = 0; i < nkimports; i++)
		if (!strcmp(name, kimports[i]))
			return true;
	return false;
}

/* ---- objdump -------------------------------------------------------------- */

static const char *objdump_bin(void)
{
	const char *o = getenv("NOOKS_OBJDUMP");
	return o && *o ? o : "objdump";
}

/* runs argv, returns its standard output (NUL-terminated); dies on failure */
static char *run_capture(char *const argv[])
{
	int fd[2];
	if (pipe(fd))
		die(1, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	if (r)
		die(1, "cannot run %s: %s", argv[0], strerror(r));
	size_t cap = 1 << 16, len = 0;
	char *out = xmalloc(cap);
	ssize_t k;
	while ((k = read(fd[0], out + len, cap - len - 1)) > 0 || (k < 0 && errno == EINTR)) {
		if (k < 0)
			continue;
		len += (size_t)k;
		if (cap - len < 2)
			out = xrealloc(out, cap *= 2);
	}
	out[len] = '\0';
	close(fd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die(1, "%s failed (status %d)", argv[0], WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return out;
}

/*
 * One line of objdump -d -w: "  2450:\t48 83 ec 08     \tsub    $0x8,%rsp".
 * Returns false for anything else (headers, labels, blank lines).
 */
static bool parse_line(char *line, struct insn *in)
{
	char *p = line, *end;
	while (*p == ' ')
		p++;
	uint64_t a = strtoull(p, &end, 16);
	if (end == p || *end != ':' || end[1] != '\t')
		return false;
	p = end + 2;
	int n = 0;
	while (*p && *p != '\t') {
		if (*p == ' ') {
			p++;
			continue;
		}
		unsigned v;
		if (sscanf(p, "%2x", &v) != 1 || n == MAX_INSN)
			return false;
		in->b[n++] = (uint8_t)v;
		p += 2;
	}
	if (!n)
		return false;
	if (*p == '\t')
		p++;
	size_t l = strlen(p);
	while (l && (p[l - 1] == ' ' || p[l - 1] == '\n'))
		p[--l] = '\0';
	in->addr = a;
	in->len = n;
	in->text = p;
	return true;
}

/* parses objdump's output into instructions; texts point into out */
static int parse_listing(char *out, struct insn **res)
{
	int n = 0, cap = 256;
	struct insn *v = xmalloc((size_t)cap * sizeof(*v));
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		struct insn in = { .func = -1 };
		if (!parse_line(line, &in))
			continue;
		if (n == cap)
			v = xrealloc(v, (size_t)(cap *= 2) * sizeof(*v));
		v[n++] = in;
	}
	*res = v;
	return n;
}

static void disassemble(void)
{
	char start[32], stop[32];
	snprintf(start, sizeof(start), "--start-address=0x%" PRIx64, funcs[0].addr);
	snprintf(stop, sizeof(stop), "--stop-address=0x%" PRIx64,
		 funcs[nfuncs - 1].addr + funcs[nfuncs - 1].size);
	char *argv[] = { (char *)objdump_bin(), "-d", "-w", "-z", "-j", ".text", start, stop,
			 (char *)path, NULL };
	char *out = run_capture(argv);
	struct insn *all;
	int n = parse_listing(out, &all);
	insns = xmalloc((size_t)(n ? n : 1) * sizeof(*insns));
	int f = 0;
	for (int i = 0; i < n; i++) {
		while (f < nfuncs && all[i].addr >= funcs[f].addr + funcs[f].size)
			f++;
		if (f == nfuncs)
			break;
		if (all[i].addr < funcs[f].addr ||
		    all[i].addr + (uint64_t)all[i].len > funcs[f].addr + funcs[f].size)
			continue;
		all[i].func = f;
		/* objdump's bytes must be the file's */
		uint64_t off = all[i].addr - text_sh->sh_addr + text_sh->sh_offset;
		if (!in_file(off, (uint64_t)all[i].len) || memcmp(img + off, all[i].b, (size_t)all[i].len))
			die(1, "objdump's bytes at 0x%" PRIx64 " are not the file's", all[i].addr);
		insns[ninsns++] = all[i];
	}
	free(all);
	if (!ninsns)
		die(1, "%s: objdump found no instructions in the chosen functions", path);
}

static char *tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	return (char *)(t && *t ? t : "/tmp");
}

static void write_all(int fd, const void *p, size_t n, const char *what)
{
	const uint8_t *c = p;
	while (n) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die(1, "%s: %s", what, strerror(errno));
		c += k;
		n -= (size_t)k;
	}
}

/*
 * Decodes raw bytes as objdump would at address vma: the instructions in
 * order (texts malloc'd, comments after '#' dropped).
 */
static int decode_raw(const uint8_t *b, size_t n, uint64_t vma, struct insn **res)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s/nooks-inject.XXXXXX", tmpdir());
	int fd = mkstemp(tmp);
	if (fd < 0)
		die(1, "%s: %s", tmp, strerror(errno));
	write_all(fd, b, n, tmp);
	close(fd);
	char adj[40];
	snprintf(adj, sizeof(adj), "--adjust-vma=0x%" PRIx64, vma);
	char *argv[] = { (char *)objdump_bin(), "-D", "-w", "-z", "-b", "binary", "-m",
			 "i386:x86-64", adj, tmp, NULL };
	char *out = run_capture(argv);
	unlink(tmp);
	int k = parse_listing(out, res);
	for (int i = 0; i < k; i++) {
		char *t = xstrdup((*res)[i].text);
		char *h = strchr(t, '#');
		if (h) {
			*h = '\0';
			size_t l = strlen(t);
			while (l && t[l - 1] == ' ')
				t[--l] = '\0';
		}
		(*res)[i].text = t;
	}
	free(out);
	return k;
}

/* ---- instruction anatomy ------------------------------------------------- */

/*
 * Where the ModRM byte of an instruction is, for the encodings the
 * operand faults touch: legacy prefixes, REX, a one-, two- or three-byte
 * opcode. -1 when there is none (or VEX/EVEX, which are left alone).
 * The mutations are checked by decoding them again, so a rare wrong
 * answer here costs a redraw, never a wrong report.
 */
static int modrm_offset(const struct insn *in, int *opcode_end)
{
	const uint8_t *b = in->b;
	int i = 0;
	while (i < in->len && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xf0 || b[i] == 0xf2 ||
			       b[i] == 0xf3 || b[i] == 0x2e || b[i] == 0x36 || b[i] == 0x3e ||
			       b[i] == 0x26 || b[i] == 0x64 || b[i] == 0x65))
		i++;
	if (i < in->len && (b[i] & 0xf0) == 0x40)
		i++;
	if (i >= in->len)
		return -1;
	uint8_t op = b[i];
	bool has;
	if (op == 0xc4 || op == 0xc5 || op == 0x62 || op == 0x8f)
		return -1;	/* VEX/EVEX/XOP (8f: pop r/m is rare enough) */
	if (op == 0x0f) {
		if (i + 1 >= in->len)
			return -1;
		uint8_t o2 = b[i + 1];
		if (o2 == 0x38 || o2 == 0x3a) {
			*opcode_end = i + 3;
			return i + 3 < in->len ? i + 3 : -1;
		}
		has = !(o2 == 0x05 || o2 == 0x06 || o2 == 0x07 || o2 == 0x08 || o2 == 0x09 ||
			o2 == 0x0b || o2 == 0x0e || (o2 >= 0x30 && o2 <= 0x37) || o2 == 0x77 ||
			(o2 >= 0x80 && o2 <= 0x8f) || o2 == 0xa0 || o2 == 0xa1 || o2 == 0xa2 ||
			o2 == 0xa8 || o2 == 0xa9 || o2 == 0xaa || (o2 >= 0xc8 && o2 <= 0xcf));
		*opcode_end = i + 2;
		return has && i + 2 < in->len ? i + 2 : -1;
	}
	has = (op < 0x40 && (op & 7) < 4) || op == 0x63 || op == 0x69 || op == 0x6b ||
	      (op >= 0x80 && op <= 0x8e) || op == 0xc0 || op == 0xc1 || op == 0xc6 ||
	      op == 0xc7 || (op >= 0xd0 && op <= 0xd3) || (op >= 0xd8 && op <= 0xdf) ||
	      op == 0xf6 || op == 0xf7 || op == 0xfe || op == 0xff;
	*opcode_end = i + 1;
	return has && i + 1 < in->len ? i + 1 : -1;
}

/* the displacement's offset and size for the ModRM at m (0 if none) */
static int disp_of(const struct insn *in, int m, int *size)
{
	uint8_t modrm = in->b[m], mod = modrm >> 6, rm = modrm & 7;
	int p = m + 1;
	*size = 0;
	if (mod == 3)
		return 0;
	if (rm == 4) {
		if (p >= in->len)
			return 0;
		if (mod == 0 && (in->b[p] & 7) == 5)
			*size = 4;
		p++;
	} else if (mod == 0 && rm == 5) {
		*size = 4;
	}
	if (mod == 1)
		*size = 1;
	else if (mod == 2)
		*size = 4;
	if (p + *size > in->len)
		*size = 0;
	return p;
}

static bool is_nop(const struct insn *in)
{
	return strstr(in->text, "nop") || !strncmp(in->text, "endbr", 5) ||
	       !strncmp(in->text, "int3", 4) || !strncmp(in->text, "(bad)", 5);
}

/* a Jcc without prefixes: its condition code, its length 2 or 6, or -1 */
static int jcc(const struct insn *in, int *near)
{
	if (in->len == 2 && (in->b[0] & 0xf0) == 0x70) {
		*near = 0;
		return in->b[0] & 15;
	}
	if (in->len == 6 && in->b[0] == 0x0f && (in->b[1] & 0xf0) == 0x80) {
		*near = 1;
		return in->b[1] & 15;
	}
	return -1;
}

static int64_t jcc_target(const struct insn *in, int near)
{
	int64_t rel;
	if (near) {
		int32_t r;
		memcpy(&r, in->b + 2, 4);
		rel = r;
	} else {
		rel = (int8_t)in->b[1];
	}
	return (int64_t)in->addr + in->len + rel;
}

/* the mnemonic (first word) and the operands split at top-level commas */
struct ops {
	char mnem[32];
	int n;
	char op[4][64];
};

static void split_ops(const char *text, struct ops *o)
{
	memset(o, 0, sizeof(*o));
	const char *p = text;
	/* prefixes objdump prints as words of their own */
	while (!strncmp(p, "lock ", 5) || !strncmp(p, "rep ", 4) || !strncmp(p, "repz ", 5) ||
	       !strncmp(p, "repnz ", 6) || !strncmp(p, "notrack ", 8) || !strncmp(p, "bnd ", 4) ||
	       !strncmp(p, "data16 ", 7) || !strncmp(p, "cs ", 3) || !strncmp(p, "ds ", 3))
		p = strchr(p, ' ') + 1;
	size_t l = strcspn(p, " ");
	snprintf(o->mnem, sizeof(o->mnem), "%.*s", (int)l, p);
	p += l;
	while (*p == ' ')
		p++;
	int depth = 0, k = 0;
	for (; *p && o->n < 4; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		if (*p == ',' && !depth) {
			o->n++;
			k = 0;
			continue;
		}
		if (k < 63)
			o->op[o->n][k++] = *p;
	}
	if (o->op[0][0] || o->n)
		o->n++;
}

static bool is_reg(const char *op)
{
	return op[0] == '%' && !strchr(op, '(') && !strchr(op, ':');
}

static bool is_arg_reg(const char *op)
{
	static const char *const regs[] = {
		"%rdi", "%edi", "%di", "%dil", "%rsi", "%esi", "%si", "%sil",
		"%rdx", "%edx", "%dx", "%dl", "%rcx", "%ecx", "%cx", "%cl",
		"%r8", "%r8d", "%r8w", "%r8b", "%r9", "%r9d", "%r9w", "%r9b", NULL,
	};
	for (int i = 0; regs[i]; i++)
		if (!strcmp(op, regs[i]))
			return true;
	return false;
}

/* ---- the mutation -------------------------------------------------------- */

struct patch {
	uint64_t addr;
	int len;
	uint8_t old[64], new[64];
	int insn;		/* the first instruction it touches */
	char note[256];		/* which operand/bit, for the report */
};

/* the candidates of a type: indexes into insns */
static int *cands;
static int ncands;
static const char *at_spec;	/* --at: only the instruction starting there */
static uint64_t at_addr;

static void add_cand(int i)
{
	cands[ncands++] = i;
}

static bool plt_call(const struct insn *in, char *name, size_t len)
{
	if (in->b[0] != 0xe8 || in->len != 5)
		return false;
	const char *lt = strchr(in->text, '<'), *at = lt ? strstr(lt, "@plt>") : NULL;
	if (!at)
		return false;
	snprintf(name, len, "%.*s", (int)(at - lt - 1), lt + 1);
	return is_kernel_import(name);
}

/* mov $imm, %reg (B8+r, REX optional): the offset of its immediate, or 0 */
static int mov_imm(const struct insn *in)
{
	int i = (in->b[0] & 0xf0) == 0x40 ? 1 : 0;
	return i + 1 < in->len && (in->b[i] & 0xf8) == 0xb8 ? i + 1 : 0;
}

/*
 * The instruction that sets up an argument of the PLT call at c: the
 * nearest instruction before it, in its function, writing an argument
 * register, without a call, jump or return between them.
 */
static int arg_setup_before(int c)
{
	for (int i = c - 1; i >= 0 && i >= c - 8 && insns[i].func == insns[c].func; i--) {
		struct ops o;
		split_ops(insns[i].text, &o);
		if (o.mnem[0] == 'j' || !strncmp(o.mnem, "call", 4) || !strncmp(o.mnem, "ret", 3))
			return -1;
		int oe;
		if (o.n >= 1 && is_arg_reg(o.op[o.n - 1]) && strncmp(o.mnem, "push", 4) &&
		    strncmp(o.mnem, "pop", 3) &&
		    (modrm_offset(&insns[i], &oe) >= 0 || mov_imm(&insns[i]) > 0))
			return i;
	}
	return -1;
}

static void collect(enum ftype t)
{
	cands = xmalloc((size_t)ninsns * sizeof(*cands));
	ncands = 0;
	for (int i = 0; i < ninsns; i++) {
		const struct insn *in = &insns[i];
		int near = 0, mo, oe, cc = jcc(in, &near);
		struct ops o;
		split_ops(in->text, &o);
		switch (t) {
		case F_TEXT:
			add_cand(i);
			break;
		case F_NOP:
		case F_HLT:
			if (!is_nop(in))
				add_cand(i);
			break;
		case F_UD2:
			if (!is_nop(in) && in->len >= 2)
				add_cand(i);
			break;
		case F_BRANCH:
		case F_INVERT:
			if (cc >= 0)
				add_cand(i);
			break;
		case F_LOOP:
			if (cc >= 0 && jcc_target(in, near) < (int64_t)in->addr &&
			    jcc_target(in, near) >= (int64_t)funcs[in->func].addr)
				add_cand(i);
			break;
		case F_PTR:
			mo = modrm_offset(in, &oe);
			if (mo >= 0 && (in->b[mo] >> 6) != 3 && strchr(in->text, '(') &&
			    strncmp(o.mnem, "nop", 3))
				add_cand(i);
			break;
		case F_DST:
		case F_SRC:
			mo = modrm_offset(in, &oe);
			if (mo >= 0 && o.n >= 2 && is_reg(o.op[t == F_DST ? o.n - 1 : 0]))
				add_cand(i);
			break;
		case F_INTERFACE: {
			char name[128];
			if (plt_call(in, name, sizeof(name)) && arg_setup_before(i) >= 0)
				add_cand(i);
			break;
		}
		default:
			break;
		}
		if (ncands && cands[ncands - 1] == i && at_spec && in->addr != at_addr)
			ncands--;
	}
}

/* --at ADDRESS or FUNCTION[+OFFSET]: an instruction of the chosen functions */
static void resolve_at(void)
{
	char name[256];
	const char *plus = strchr(at_spec, '+');
	uint64_t off = 0;
	char *end;
	if (at_spec[0] >= '0' && at_spec[0] <= '9') {
		at_addr = strtoull(at_spec, &end, 0);
		if (*end)
			die(2, "bad --at '%s' (ADDRESS or FUNCTION[+OFFSET])", at_spec);
	} else {
		snprintf(name, sizeof(name), "%.*s", plus ? (int)(plus - at_spec) : (int)strlen(at_spec), at_spec);
		if (plus) {
			off = strtoull(plus + 1, &end, 0);
			if (*end || end == plus + 1)
				die(2, "bad --at '%s' (ADDRESS or FUNCTION[+OFFSET])", at_spec);
		}
		int f;
		for (f = 0; f < nfuncs && strcmp(funcs[f].name, name); f++)
			;
		if (f == nfuncs)
			die(2, "%s: no function '%s' among those chosen (--list shows them)", path, name);
		at_addr = funcs[f].addr + off;
	}
	for (int i = 0; i < ninsns; i++)
		if (insns[i].addr == at_addr)
			return;
	die(2, "%s: no instruction of its own functions starts at 0x%" PRIx64 " (--at %s)", path,
	    at_addr, at_spec);
}

static void set_range(struct patch *p, int i, uint64_t addr, int len)
{
	p->insn = i;
	p->addr = addr;
	p->len = len;
	uint64_t off = addr - text_sh->sh_addr + text_sh->sh_offset;
	memcpy(p->old, img + off, (size_t)len);
	memcpy(p->new, p->old, (size_t)len);
}

/* flips a random bit in bytes [from, to) of instruction i's copy in p */
static void flip_in(struct patch *p, int from, int to, const char *what)
{
	int byte = from + (int)pick((size_t)(to - from)), bit = (int)pick(8);
	p->new[byte] ^= (uint8_t)(1u << bit);
	snprintf(p->note, sizeof(p->note), "bit %d of byte %d (%s)", bit, byte, what);
}

static bool same_but(const struct ops *a, const struct ops *b, int which)
{
	if (strcmp(a->mnem, b->mnem) || a->n != b->n)
		return false;
	for (int k = 0; k < a->n; k++)
		if ((k == which) != (strcmp(a->op[k], b->op[k]) != 0))
			return false;
	return true;
}

/*
 * Decodes the patched instruction and checks it is what type t meant: one
 * instruction of the same length (and the same mnemonic and operands but
 * the one corrupted). Branch, loop, nop, ud2, hlt and text patches are
 * exact by construction.
 */
static bool verify(enum ftype t, const struct patch *p)
{
	if (t != F_PTR && t != F_DST && t != F_SRC && t != F_INTERFACE)
		return true;
	const struct insn *in = &insns[p->insn];
	uint8_t buf[2 * MAX_INSN + 16];
	memcpy(buf, in->b, (size_t)in->len);
	memcpy(buf + in->len, p->new, (size_t)p->len);
	memset(buf + in->len + p->len, 0x90, 16);
	struct insn *d;
	int n = decode_raw(buf, (size_t)(in->len + p->len + 16), in->addr, &d);
	bool ok = n >= 2 && d[0].len == in->len && d[1].len == p->len;
	if (ok) {
		struct ops a, b;
		split_ops(d[0].text, &a);
		split_ops(d[1].text, &b);
		ok = strcmp(d[0].text, d[1].text) != 0 && !strcmp(a.mnem, b.mnem) && a.n == b.n;
		if (ok && t == F_DST)
			ok = a.n >= 2 && same_but(&a, &b, a.n - 1) && is_reg(b.op[b.n - 1]);
		else if (ok && t == F_SRC)
			ok = a.n >= 2 && same_but(&a, &b, 0) && is_reg(b.op[0]);
		else if (ok && t == F_INTERFACE)
			ok = a.n >= 1 && !strcmp(a.op[a.n - 1], b.op[b.n - 1]);
		else if (ok && t == F_PTR) {
			int mem = -1;
			for (int k = 0; k < a.n; k++)
				if (strchr(a.op[k], '('))
					mem = k;
			ok = mem >= 0 && same_but(&a, &b, mem);
		}
	}
	for (int i = 0; i < n; i++)
		free(d[i].text);
	free(d);
	return ok;
}

/* one draw of type t; false if this draw does not apply */
static bool draw(enum ftype t, struct patch *p)
{
	int ci = (int)pick((size_t)ncands), i = cands[ci];
	const struct insn *in = &insns[i];
	int near = 0, mo, oe, cc = jcc(in, &near);
	memset(p, 0, sizeof(*p));
	switch (t) {
	case F_TEXT:
		set_range(p, i, in->addr, in->len);
		flip_in(p, 0, in->len, "random");
		/* report only the byte that changed */
		for (int k = 0; k < p->len; k++)
			if (p->old[k] != p->new[k]) {
				uint8_t o = p->old[k], nw = p->new[k];
				p->addr += (uint64_t)k;
				p->len = 1;
				p->old[0] = o;
				p->new[0] = nw;
				break;
			}
		return true;
	case F_NOP:
		set_range(p, i, in->addr, in->len);
		memset(p->new, 0x90, (size_t)in->len);
		return true;
	case F_UD2:
	case F_HLT:
		set_range(p, i, in->addr, in->len);
		memset(p->new, 0x90, (size_t)in->len);
		if (t == F_UD2) {
			p->new[0] = 0x0f;
			p->new[1] = 0x0b;
		} else {
			p->new[0] = 0xf4;
		}
		return true;
	case F_BRANCH:
	case F_INVERT: {
		int ncc = cc ^ 1;
		if (t == F_BRANCH) {
			do
				ncc = (int)pick(16);
			while (ncc == cc || ncc == (cc ^ 1));
		}
		set_range(p, i, in->addr, in->len);
		p->new[near] = (uint8_t)((p->new[near] & 0xf0) | ncc);
		snprintf(p->note, sizeof(p->note), "condition %d -> %d", cc, ncc);
		return true;
	}
	case F_LOOP: {
		set_range(p, i, in->addr, in->len);
		if (!near) {
			p->new[0] = 0xeb;	/* jmp rel8, same target */
		} else {
			int32_t rel;
			memcpy(&rel, in->b + 2, 4);
			rel += 1;		/* jmp rel32 is a byte shorter */
			p->new[0] = 0xe9;
			memcpy(p->new + 1, &rel, 4);
			p->new[5] = 0x90;
		}
		snprintf(p->note, sizeof(p->note), "backward branch to 0x%" PRIx64 " made unconditional",
			 (uint64_t)jcc_target(in, near));
		return true;
	}
	case F_PTR: {
		mo = modrm_offset(in, &oe);
		int ds, dp = disp_of(in, mo, &ds);
		uint8_t modrm = in->b[mo], mod = modrm >> 6, rm = modrm & 7;
		bool sib = rm == 4, rip = mod == 0 && rm == 5;
		set_range(p, i, in->addr, in->len);
		int what = (int)pick(2);
		if (rip || (ds && what == 0)) {
			if (!ds)
				return false;
			flip_in(p, dp, dp + ds, "displacement");
			return true;
		}
		if (sib) {	/* base of the SIB byte; index if no base change fits */
			uint8_t s = in->b[mo + 1], base = s & 7, nb = (uint8_t)pick(8);
			if (nb == base || (mod == 0 && nb == 5))
				return false;
			p->new[mo + 1] = (uint8_t)((s & 0xf8) | nb);
			snprintf(p->note, sizeof(p->note), "base register %d -> %d", base, nb);
			return true;
		}
		uint8_t nr = (uint8_t)pick(8);
		if (nr == rm || nr == 4 || (mod == 0 && nr == 5))
			return false;
		p->new[mo] = (uint8_t)((modrm & 0xf8) | nr);
		snprintf(p->note, sizeof(p->note), "base register %d -> %d", rm, nr);
		return true;
	}
	case F_DST:
	case F_SRC: {
		mo = modrm_offset(in, &oe);
		uint8_t modrm = in->b[mo], nv = (uint8_t)pick(8);
		set_range(p, i, in->addr, in->len);
		if (pick(2) && (modrm >> 6) == 3) {	/* the r/m register */
			if (nv == (modrm & 7))
				return false;
			p->new[mo] = (uint8_t)((modrm & 0xf8) | nv);
			snprintf(p->note, sizeof(p->note), "r/m register %d -> %d", modrm & 7, nv);
		} else {				/* the reg field */
			if (nv == ((modrm >> 3) & 7))
				return false;
			p->new[mo] = (uint8_t)((modrm & 0xc7) | (nv << 3));
			snprintf(p->note, sizeof(p->note), "reg register %d -> %d", (modrm >> 3) & 7, nv);
		}
		return true;
	}
	case F_INTERFACE: {
		int s = arg_setup_before(i);
		const struct insn *a = &insns[s];
		char name[128];
		plt_call(in, name, sizeof(name));
		mo = modrm_offset(a, &oe);
		if (mo < 0)
			oe = mov_imm(a);
		set_range(p, s, a->addr, a->len);
		/* any bit after the opcode: ModRM, SIB, displacement, immediate */
		flip_in(p, oe, a->len, "operand");
		char n2[sizeof(p->note)];
		snprintf(n2, sizeof(n2), "argument of %.60s at 0x%" PRIx64 ": %.160s", name, in->addr, p->note);
		memcpy(p->note, n2, sizeof(n2));
		return true;
	}
	default:
		return false;
	}
}

/* ---- output -------------------------------------------------------------- */

static void hex(FILE *f, const uint8_t *b, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

static void write_copy(const char *out, const struct patch *p)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", out);
	int fd = mkstemp(tmp);
	if (fd < 0)
		die(2, "%s: %s", out, strerror(errno));
	uint64_t off = p->addr - text_sh->sh_addr + text_sh->sh_offset;
	write_all(fd, img, (size_t)off, tmp);
	write_all(fd, p->new, (size_t)p->len, tmp);
	write_all(fd, img + off + (size_t)p->len, img_size - (size_t)off - (size_t)p->len, tmp);
	struct stat st;
	if (!stat(path, &st))
		fchmod(fd, st.st_mode & 07777);
	if (close(fd) || rename(tmp, out)) {
		unlink(tmp);
		die(1, "%s: %s", out, strerror(errno));
	}
}

/*
 * The instructions the patch touches, before and after, as objdump sees
 * them: after, from a patched copy of the object (so that symbols show),
 * from the first touched instruction until past the patch (an instruction
 * the patch made longer is shown whole).
 */
static void describe(FILE *f, const struct patch *p)
{
	const struct insn *in = &insns[p->insn];
	int last = p->insn;
	while (last + 1 < ninsns && insns[last + 1].addr < p->addr + (uint64_t)p->len)
		last++;
	fprintf(f, "  before    ");
	for (int k = p->insn; k <= last; k++)
		fprintf(f, "%s%s", k > p->insn ? " ; " : "", insns[k].text);
	fputc('\n', f);
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s/nooks-inject-copy.XXXXXX", tmpdir());
	int fd = mkstemp(tmp);
	if (fd < 0)
		die(1, "%s: %s", tmp, strerror(errno));
	close(fd);
	write_copy(tmp, p);
	char start[40], stop[40];
	snprintf(start, sizeof(start), "--start-address=0x%" PRIx64, in->addr);
	uint64_t end = insns[last].addr + (uint64_t)insns[last].len;
	snprintf(stop, sizeof(stop), "--stop-address=0x%" PRIx64, end + MAX_INSN);
	char *argv[] = { (char *)objdump_bin(), "-d", "-w", "-z", "-j", ".text", start, stop,
			 tmp, NULL };
	char *out = run_capture(argv);
	unlink(tmp);
	struct insn *d;
	int k = parse_listing(out, &d);
	fprintf(f, "  after     ");
	for (int j = 0; j < k && d[j].addr < end; j++)
		fprintf(f, "%s%s", j ? " ; " : "", d[j].text);
	fputc('\n', f);
	free(d);
	free(out);
}

static void report(FILE *f, enum ftype t, uint64_t seed, const struct patch *p)
{
	const struct insn *in = &insns[p->insn];
	const struct func *fn = &funcs[in->func];
	fprintf(f, "%s: %s fault, seed %" PRIu64 "\n", path, type_names[t], seed);
	fprintf(f, "  function  %s+0x%" PRIx64 "\n", fn->name, p->addr - fn->addr);
	fprintf(f, "  address   0x%" PRIx64 "\n", p->addr);
	fprintf(f, "  old       ");
	hex(f, p->old, p->len);
	fprintf(f, "\n  new       ");
	hex(f, p->new, p->len);
	fputc('\n', f);
	if (p->note[0])
		fprintf(f, "  what      %s\n", p->note);
	describe(f, p);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nooks-inject [OPTION]... -t TYPE EXTENSION.so\n"
		"       nooks-inject --list EXTENSION.so\n"
		"Mutates the code of an extension's own functions the way the Rio/Nooks\n"
		"fault injector did, and prints what it changed.\n"
		"\n"
		"  -t, --type TYPE       the fault type (below)\n"
		"  -s, --seed N          the seed (default 1): the same seed, the same mutation\n"
		"  -f, --function NAME   only this function (may be given more than once)\n"
		"  -x, --exclude NAME    never NAME or its parts NAME.* (more than once)\n"
		"      --at WHERE        only the instruction starting at WHERE: an address\n"
		"                        or FUNCTION[+OFFSET] (the seed still picks the bit,\n"
		"                        the register, the condition)\n"
		"  -o, --output OUT.so   persistent: write a mutated copy of the object\n"
		"  -p, --print-patch     transient: print \"ADDRESS HEXBYTES\" for nkctl patch\n"
		"                        (the description goes to standard error)\n"
		"      --nkctl SOCK      transient: run nkctl -s SOCK patch MODULE ADDRESS HEX\n"
		"      --module NAME     the loaded module's name (with --nkctl)\n"
		"      --nkctl-bin PATH  the nkctl to run (default: nkctl beside this program,\n"
		"                        else build/kernel/nkctl, else nkctl on PATH)\n"
		"  -l, --list            list the functions it would mutate, with the number\n"
		"                        of candidate instructions per type\n"
		"  -h, --help            this text\n"
		"Without -o, -p or --nkctl it only prints what it would change.\n"
		"\n"
		"Fault types:\n");
	for (int t = 0; t < F_NTYPES; t++)
		fprintf(f, "  %-10s %s\n", type_names[t], type_help[t]);
	fprintf(f,
		"\n"
		"Exit status: 0 done, 1 nothing of that type to mutate or a tool failed,\n"
		"2 bad usage or bad input. objdump (binutils) decodes the instructions\n"
		"($NOOKS_OBJDUMP overrides it).\n");
}

static const char *find_nkctl(const char *argv0)
{
	static char buf[4096];
	const char *slash = strrchr(argv0, '/');
	if (slash) {
		snprintf(buf, sizeof(buf), "%.*s/../kernel/nkctl", (int)(slash - argv0), argv0);
		if (!access(buf, X_OK))
			return buf;
		snprintf(buf, sizeof(buf), "%.*s/nkctl", (int)(slash - argv0), argv0);
		if (!access(buf, X_OK))
			return buf;
	}
	return "nkctl";
}

static int run_nkctl(const char *bin, const char *sock, const char *module, const struct patch *p)
{
	char addr[32], hx[160];
	snprintf(addr, sizeof(addr), "0x%" PRIx64, p->addr);
	for (int i = 0; i < p->len; i++)
		snprintf(hx + 2 * i, 3, "%02x", p->new[i]);
	char *argv[] = { (char *)bin, "-s", (char *)sock, "patch", (char *)module, addr, hx, NULL };
	fflush(stdout);
	pid_t pid;
	int r = posix_spawnp(&pid, bin, NULL, NULL, argv, environ);
	if (r)
		die(1, "cannot run %s: %s", bin, strerror(r));
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "%s: %s patch failed (status %d)\n", prog, bin,
			WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return 1;
	}
	return 0;
}

static uint64_t parse_seed(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		die(2, "bad seed '%s' (a number)", s);
	return (uint64_t)v;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "function", required_argument, NULL, 'f' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "output", required_argument, NULL, 'o' },
		{ "print-patch", no_argument, NULL, 'p' },
		{ "nkctl", required_argument, NULL, 'N' },
		{ "module", required_argument, NULL, 'M' },
		{ "nkctl-bin", required_argument, NULL, 'B' },
		{ "list", no_argument, NULL, 'l' },
		{ "at", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int type = -1, c;
	uint64_t seed = 1;
	const char *out = NULL, *sock = NULL, *module = NULL, *nkctl = NULL;
	bool print_patch = false, list = false;
	/* static: they live as long as the process (no leak report) */
	static char **only, **excl;
	only = xmalloc((size_t)argc * sizeof(char *));
	excl = xmalloc((size_t)argc * sizeof(char *));
	int nonly = 0, nexcl = 0;
	while ((c = getopt_long(argc, argv, "t:s:f:x:o:plh", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			for (int t = 0; t < F_NTYPES; t++)
				if (!strcmp(optarg, type_names[t]))
					type = t;
			if (type < 0) {
				fprintf(stderr, "%s: unknown fault type '%s' (", prog, optarg);
				for (int t = 0; t < F_NTYPES; t++)
					fprintf(stderr, "%s%s", t ? ", " : "", type_names[t]);
				fprintf(stderr, ")\n");
				return 2;
			}
			break;
		case 's': seed = parse_seed(optarg); break;
		case 'f': only[nonly++] = optarg; break;
		case 'x': excl[nexcl++] = optarg; break;
		case 'o': out = optarg; break;
		case 'p': print_patch = true; break;
		case 'N': sock = optarg; break;
		case 'M': module = optarg; break;
		case 'B': nkctl = optarg; break;
		case 'l': list = true; break;
		case 'a': at_spec = optarg; break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return 2;
		}
	}
	if (optind != argc - 1)
		die(2, "%s (try --help)", optind == argc ? "no extension given" : "one extension only");
	path = argv[optind];
	if (!list && type < 0)
		die(2, "no fault type given: -t TYPE (try --help)");
	if ((out != NULL) + print_patch + (sock != NULL) > 1)
		die(2, "-o, --print-patch and --nkctl exclude each other");
	if (!sock != !module)
		die(2, "--nkctl SOCK and --module NAME go together");

	read_file();
	check_elf();
	load_symbols(only, nonly, excl, nexcl);
	load_imports();
	disassemble();
	if (at_spec)
		resolve_at();

	if (list) {
		printf("%-28s %10s %6s %6s", "FUNCTION", "ADDRESS", "SIZE", "INSNS");
		for (int t = 0; t < F_NTYPES; t++)
			printf(" %s", type_names[t]);
		putchar('\n');
		for (int f = 0; f < nfuncs; f++) {
			int n = 0, first = -1;
			for (int i = 0; i < ninsns; i++)
				if (insns[i].func == f) {
					n++;
					if (first < 0)
						first = i;
				}
			printf("%-28s %#10" PRIx64 " %6" PRIu64 " %6d", funcs[f].name, funcs[f].addr,
			       funcs[f].size, n);
			for (int t = 0; t < F_NTYPES; t++) {
				collect((enum ftype)t);
				int k = 0;
				for (int i = 0; i < ncands; i++)
					k += insns[cands[i]].func == f;
				printf(" %*d", (int)strlen(type_names[t]), k);
				free(cands);
			}
			putchar('\n');
		}
		return 0;
	}

	collect((enum ftype)type);
	if (!ncands)
		die(1, "%s: no instruction for a %s fault in the chosen functions", path, type_names[type]);
	rng_state = seed;
	struct patch p;
	int tries = 0;
	for (;;) {
		if (++tries > MAX_TRIES)
			die(1, "%s: no %s fault found after %d draws (seed %" PRIu64 ")", path,
			    type_names[type], MAX_TRIES, seed);
		if (draw((enum ftype)type, &p) && memcmp(p.old, p.new, (size_t)p.len) &&
		    verify((enum ftype)type, &p))
			break;
	}

	if (out) {
		write_copy(out, &p);
		report(stdout, (enum ftype)type, seed, &p);
		printf("  written   %s\n", out);
	} else if (print_patch) {
		report(stderr, (enum ftype)type, seed, &p);
		printf("0x%" PRIx64 " ", p.addr);
		hex(stdout, p.new, p.len);
		putchar('\n');
	} else if (sock) {
		report(stdout, (enum ftype)type, seed, &p);
		return run_nkctl(nkctl ? nkctl : find_nkctl(argv[0]), sock, module, &p);
	} else {
		report(stdout, (enum ftype)type, seed, &p);
	}
	return 0;
}
