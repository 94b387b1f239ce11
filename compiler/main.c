/*
 * main.c - the nooksc command: parses arguments and calls the library.
 *
 * Each input file is compiled in its own context.  Nothing is written
 * unless every file compiled without error: outputs go to temporaries that
 * are renamed into place together at the end (output.c).  Exit status: 0
 * success, 1 errors in the input (an unreadable input included), 2 bad
 * usage or an output that could not be written.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "import.h"
#include "verify.h"
#include "nooksc.h"
#include "output.h"

#define MAX_INCLUDES 64
#define MAX_DISABLED 64
#define MAX_TARGETS 64

static const char usage_text[] =
"Usage: nooksc [options] file.idl...\n"
"       nooksc verify [clang options] file.idl...\n"
"       nooksc import [clang options] header.h [--function NAME]...\n"
"              [--struct NAME]... [--ops NAME]... [--list FILE] [-o FILE]\n"
"\n"
"Compile annotated interface descriptions (IDL) for Nooks isolation: for\n"
"each input, write INTERFACE_nooks.h, _kwrap.c, _xwrap.c, _shadow.c and\n"
"_stubs.c (wrappers, shadow synchronisers, type descriptors, stubs).\n"
"\n"
"Options:\n"
"  -I DIR              search DIR for imported files (after the importing\n"
"                      file's own directory); may be repeated\n"
"  -isystem DIR        search DIR after the -I directories; what is found\n"
"                      there is a system import (left out by -MM, -MMD)\n"
"  -o DIR              write output files into DIR (default: .)\n"
"  --templates DIR     the m4 templates (default: ../templates or\n"
"                      ../share/nooks/templates beside the program, else\n"
"                      DATADIR/templates as built)\n"
"  --target NAME       the templates' target: a directory of DIR listing\n"
"                      the files it writes (default: user)\n"
"  -M                  print make dependency rules (imports and templates)\n"
"                      of the outputs, and write nothing else\n"
"  -MM                 like -M, without system imports\n"
"  -MD                 while generating, also write those rules to\n"
"                      DIR/INTERFACE.d\n"
"  -MMD                like -MD, without system imports\n"
"  -MF FILE            write the rules to FILE instead (with -M, -MM: instead\n"
"                      of standard output; alone: as -MD -MF FILE)\n"
"  -MP                 add a rule without prerequisites for each dependency\n"
"                      but the input, so that make survives its deletion\n"
"  -MT TARGET          name TARGET in the rules instead of the outputs; may\n"
"                      be repeated\n"
"  -c, --check         check the input only; write nothing\n"
"  --dump              print the checked model in its stable text form; with\n"
"                      -o, write DIR/NAME.dump for each input instead\n"
"  -Werror             treat warnings as errors\n"
"  -Wno-CHECK          turn off the warning CHECK (see --list-checks)\n"
"  --max-errors=N      stop after N errors (default 20)\n"
"  --list-checks       list every check with its level and purpose\n"
"  -h, --help          show this help\n"
"  -V, --version       show the version\n"
"\n"
"nooksc verify parses the C header each file names with libclang (compiler\n"
"options such as -I, -D, -std and --target go to clang; -I and -isystem\n"
"are also the import path) and reports every declaration that disagrees\n"
"with it.\n"
"\n"
"nooksc import writes an unannotated IDL skeleton for the named kernel\n"
"functions, structs and ops tables (structs of function pointers) of a\n"
"header, spelt as an #include names it, with TODO comments where an\n"
"annotation is needed; NAME may be a comma-separated list.  --list FILE\n"
"reads lines 'function|struct|ops NAME...'; --interface NAME names the\n"
"interface (default: the header's base name); -o FILE writes there\n"
"(default: standard output).  Other options go to clang.\n"
"\n"
"Diagnostics read 'file:line:col: error: [check] message', followed by the\n"
"source line and a caret, sorted by position; 'In file imported from' lines\n"
"before one name the imports that led to its file.  Exit status: 0 success,\n"
"1 errors in the input (an unreadable input included), 2 bad usage or an\n"
"output that could not be written.  The language is described in\n"
"docs/idl.md.\n";

static void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("nooksc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'nooksc --help' for more information.\n", stderr);
	exit(2);
}

/* The check called name, or NULL. */
static const struct nooksc_check_info *find_check(const char *name)
{
	int n;
	const struct nooksc_check_info *c = nooksc_checks(&n);

	for (int i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return &c[i];
	return NULL;
}

static void list_checks(void)
{
	int n;
	const struct nooksc_check_info *c = nooksc_checks(&n);

	for (int i = 0; i < n; i++)
		printf("%-22s %-7s %s\n", c[i].name,
		       c[i].level == NOOKSC_WARNING ? "warning" : "error",
		       c[i].summary);
}

/* "dir/name.idl" -> "name" */
static const char *stem(const char *path, char *buf, size_t size)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(buf, size, "%s", base);
	char *dot = strrchr(buf, '.');
	if (dot && dot != buf)
		*dot = '\0';
	return buf;
}

/* nooksc verify [clang options] file.idl... */
static int verify_main(int argc, char **argv)
{
	const char **clang_args = calloc((size_t)argc, sizeof(*clang_args));
	const char **includes = calloc((size_t)argc, sizeof(*includes));
	const char **sysdirs = calloc((size_t)argc, sizeof(*sysdirs));
	const char **files = calloc((size_t)argc, sizeof(*files));
	const char *templates = NULL;
	int nc_args = 0, ninc = 0, nsys = 0, nfiles = 0, status = 0;

	if (!clang_args || !includes || !sysdirs || !files) {
		fputs("nooksc: out of memory\n", stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--templates") && i + 1 < argc) {
			templates = argv[++i];
		} else if (!strncmp(a, "--templates=", 12)) {
			templates = a + 12;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (a[0] == '-') {
			/* clang's; -I DIR / -D X / -include F take the next one */
			clang_args[nc_args++] = a;
			bool takes = !strcmp(a, "-I") || !strcmp(a, "-D") || !strcmp(a, "-U") ||
				     !strcmp(a, "-include") || !strcmp(a, "-isystem") ||
				     !strcmp(a, "-idirafter") || !strcmp(a, "--target");
			if (!strncmp(a, "-I", 2))
				includes[ninc++] = a[2] ? a + 2 : (i + 1 < argc ? argv[i + 1] : "");
			if (takes) {
				if (i + 1 == argc)
					usage_error("option '%s' needs an argument", a);
				clang_args[nc_args++] = argv[++i];
				if (!strcmp(a, "-isystem"))
					sysdirs[nsys++] = argv[i];
			}
		} else {
			files[nfiles++] = a;
		}
	}
	if (!nfiles)
		usage_error("%s", "verify: no input files");
	if (!templates)
		templates = nooksc_default_templates();
	for (int i = 0; i < nfiles; i++) {
		struct nooksc_options opt = {
			.include_dirs = includes, .n_include_dirs = ninc,
			.system_dirs = sysdirs, .n_system_dirs = nsys,
		};
		struct nooksc *nc = nooksc_new(&opt);
		struct idl_model *m = nc ? nooksc_parse_file(nc, files[i]) : NULL;
		if (!m || nooksc_errors(nc) ||
		    nooksc_verify(nc, m, templates, clang_args, nc_args))
			status = 1;
		nooksc_free(nc);
	}
	free(clang_args);
	free(includes);
	free(sysdirs);
	free(files);
	return status;
}

/* nooksc import [clang options] header.h --function NAME... */
static int import_main(int argc, char **argv)
{
	const char **clang_args = calloc((size_t)argc, sizeof(*clang_args));
	struct nooksc_import_item *items = calloc((size_t)argc * 2 + 1, sizeof(*items));
	char **copies = calloc((size_t)argc, sizeof(*copies));
	const char *header = NULL, *outfile = NULL, *iface = NULL, *list = NULL;
	int nc_args = 0, nitems = 0, cap = argc * 2 + 1, status = 0, ncopies = 0;

	if (!clang_args || !items || !copies) {
		fputs("nooksc: out of memory\n", stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		static const char *const ours[] = { "--function", "--struct", "--ops", "--list",
						    "--interface", "-o" };
		int which = -1;
		for (int k = 0; k < 6 && which < 0; k++) {
			size_t len = strlen(ours[k]);
			if (!strcmp(a, ours[k])) {
				if (i + 1 == argc)
					usage_error("option '%s' needs an argument", a);
				which = k;
				val = argv[++i];
			} else if (!strncmp(a, ours[k], len) && a[len] == '=' && k < 5) {
				which = k;
				val = a + len + 1;
			}
		}
		if (which >= 0 && which <= 2) {
			/* NAME or NAME,NAME,... */
			char *copy = strdup(val), *save = NULL;
			if (!copy) {
				fputs("nooksc: out of memory\n", stderr);
				return 2;
			}
			copies[ncopies++] = copy;
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (nitems == cap) {
					struct nooksc_import_item *v = realloc(items, sizeof(*v) * (size_t)cap * 2);
					if (!v) {
						fputs("nooksc: out of memory\n", stderr);
						return 2;
					}
					items = v;
					cap *= 2;
				}
				items[nitems++] = (struct nooksc_import_item){
					.kind = which == 0 ? NOOKSC_IMPORT_FUNCTION :
						which == 1 ? NOOKSC_IMPORT_STRUCT : NOOKSC_IMPORT_OPS,
					.name = t };
			}
		} else if (which == 3) {
			list = val;
		} else if (which == 4) {
			iface = val;
		} else if (which == 5) {
			outfile = val;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strncmp(a, "--", 2) && strncmp(a, "--target", 8) != 0) {
			usage_error("import: unknown option '%s'", a);
		} else if (a[0] == '-') {
			clang_args[nc_args++] = a;
			bool takes = !strcmp(a, "-I") || !strcmp(a, "-D") || !strcmp(a, "-U") ||
				     !strcmp(a, "-include") || !strcmp(a, "-isystem") ||
				     !strcmp(a, "-idirafter") || !strcmp(a, "--target");
			if (takes) {
				if (i + 1 == argc)
					usage_error("option '%s' needs an argument", a);
				clang_args[nc_args++] = argv[++i];
			}
		} else if (header) {
			usage_error("import: one header at a time ('%s' is a second)", a);
		} else {
			header = a;
		}
	}
	if (!header)
		usage_error("%s", "import: no header");
	if (!*header)
		usage_error("%s", "import: empty header name");

	struct nooksc_options opt = { 0 };
	struct nooksc *nc = nooksc_new(&opt);
	if (!nc) {
		fputs("nooksc: out of memory\n", stderr);
		return 2;
	}
	struct nooksc_import_item *all = items;
	int nall = nitems;
	if (list) {
		struct nooksc_import_item *from;
		int nfrom;
		if (nooksc_import_read_list(nc, list, &from, &nfrom))
			status = 1;
		else if (nfrom) {
			all = calloc((size_t)(nitems + nfrom), sizeof(*all));
			if (!all) {
				fputs("nooksc: out of memory\n", stderr);
				return 2;
			}
			memcpy(all, items, sizeof(*all) * (size_t)nitems);
			memcpy(all + nitems, from, sizeof(*all) * (size_t)nfrom);
			nall = nitems + nfrom;
		}
	}
	if (!status && !nall)
		usage_error("%s", "import: nothing to import (--function, --struct, --ops or --list)");

	const char *idl = NULL;
	struct nooksc_import_request rq = {
		.header = header, .interface = iface, .items = all, .n_items = nall,
		.clang_args = clang_args, .n_clang_args = nc_args,
	};
	if (!status && nooksc_import(nc, &rq, &idl))
		status = 1;
	if (!status) {
		struct outset os = { 0 };
		FILE *fp = stdout;
		const char *failed = outfile;
		int err = outfile ? out_open(&os, outfile, &fp) : 0;
		if (!err) {
			fputs(idl, fp);
			err = outfile ? out_commit(&os, &failed) : 0;
		}
		if (err) {
			out_abort(&os);
			fprintf(stderr, "nooksc: cannot write '%s': %s\n", failed, strerror(err));
			status = 2;
		}
		out_free(&os);
	}
	nooksc_free(nc);
	if (all != items)
		free(all);
	free(items);
	for (int i = 0; i < ncopies; i++)
		free(copies[i]);
	free(copies);
	free(clang_args);
	return status;
}

/* The command line's long options.  Parsed with getopt_long_only so that
 * gcc's spellings work: -MD, -MF FILE, -isystem DIR are long options with a
 * single dash; -I, -o, -W, -c, -h, -V stay short (-Iinc, -Werror). */
enum {
	OPT_DUMP = 256, OPT_MAX_ERRORS, OPT_LIST_CHECKS, OPT_TEMPLATES, OPT_ISYSTEM,
	OPT_TARGET, OPT_M, OPT_MM, OPT_MD, OPT_MMD, OPT_MP, OPT_MF, OPT_MT,
};

static const struct option longopts[] = {
	{ "check", no_argument, NULL, 'c' },
	{ "dump", no_argument, NULL, OPT_DUMP },
	{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
	{ "list-checks", no_argument, NULL, OPT_LIST_CHECKS },
	{ "templates", required_argument, NULL, OPT_TEMPLATES },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "isystem", required_argument, NULL, OPT_ISYSTEM },
	{ "M", no_argument, NULL, OPT_M },
	{ "MM", no_argument, NULL, OPT_MM },
	{ "MD", no_argument, NULL, OPT_MD },
	{ "MMD", no_argument, NULL, OPT_MMD },
	{ "MP", no_argument, NULL, OPT_MP },
	{ "MF", required_argument, NULL, OPT_MF },
	{ "MT", required_argument, NULL, OPT_MT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* What an option's argument is, for "needs an argument" errors. */
static const char *argument_kind(int opt)
{
	switch (opt) {
	case 'I': case 'o': case OPT_TEMPLATES: case OPT_ISYSTEM:
		return "a directory";
	case OPT_MF:
		return "a file name";
	case OPT_MT:
		return "a make target";
	case OPT_TARGET:
		return "a target (a directory of the templates)";
	case OPT_MAX_ERRORS:
		return "a number";
	case 'W':
		return "'error' or 'no-CHECK'";
	default:
		return "a value";
	}
}

/* getopt_long_only returned '?' for the element argv[optind - 1] or, in the
 * middle of a cluster of short options (-czc), argv[optind]: name what is
 * wrong with which argument and stop. */
static void bad_option(int argc, char **argv)
{
	const char *arg = argv[optind - 1];

	if (optopt && optopt < 256 && !strchr(arg, '=')) {
		/* an unknown letter among short options */
		if (optind < argc && argv[optind][0] == '-' && strchr(argv[optind], optopt))
			arg = argv[optind];
		if (arg[1] == optopt && !arg[2])
			usage_error("unknown option '%s'", arg);
		usage_error("unknown option '-%c' in '%s'", optopt, arg);
	}

	/* a long option given an argument it does not take, or unknown (no
	 * two options share a prefix, so none is ambiguous) */
	const char *name = arg + (arg[1] == '-' ? 2 : 1);
	size_t len = strcspn(name, "=");
	for (int i = 0; name[len] == '=' && longopts[i].name; i++)
		if (!strncmp(longopts[i].name, name, len))
			usage_error("option '%.*s' takes no argument (in '%s')",
				    (int)(name - arg + len), arg, arg);
	usage_error("unknown option '%s'", arg);
}

/* An input that cannot be read, is not named like an IDL file and was
 * written right after a dependency option that takes no argument
 * (-MD deps.d) was most likely meant as an argument: say so. */
static void hint_stray_argument(char **original, int argc, const char *input)
{
	static const char *const flags[] = { "-MD", "-MMD", "-MP" };
	size_t n = strlen(input);

	if (n >= 4 && !strcmp(input + n - 4, ".idl"))
		return;
	for (int i = 2; i < argc; i++) {
		if (original[i] != input)
			continue;
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			if (!strcmp(original[i - 1], flags[k]))
				fprintf(stderr, "nooksc: note: '%s' takes no argument, so '%s' "
					"was read as an input file (-MF FILE names the "
					"dependency file)\n", flags[k], input);
		return;
	}
}

int main(int argc, char **argv)
{
	const char *includes[MAX_INCLUDES];
	const char *system_dirs[MAX_INCLUDES];
	const char *disabled[MAX_DISABLED];
	const char *targets[MAX_TARGETS];
	struct nooksc_options opt = {
		.include_dirs = includes, .system_dirs = system_dirs, .disabled = disabled,
	};
	struct nooksc_deps deps = { .targets = targets };
	const char *outdir = NULL, *templates = NULL, *depfile = NULL;
	const char *mode_opt = NULL, *gen_dep_opt = NULL;
	const char *target = NULL;	/* --target: the templates' directory */
	bool check_only = false, dump = false, deps_only = false, write_deps = false;
	int c;

	if (argc > 1 && !strcmp(argv[1], "verify"))
		return verify_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "import"))
		return import_main(argc - 1, argv + 1);

	/* getopt permutes argv; keep the order as written for hints (static:
	 * still reachable when a usage error exits) */
	static char **original;
	original = calloc((size_t)argc + 1, sizeof(*original));
	if (!original) {
		fputs("nooksc: out of memory\n", stderr);
		return 2;
	}
	memcpy(original, argv, sizeof(*argv) * (size_t)argc);

	opterr = 0;
	while ((c = getopt_long_only(argc, argv, ":I:o:cW:hV", longopts, NULL)) != -1) {
		/* the option as written: before its argument when that was separate */
		const char *this = argv[optind - 1];
		if (optarg && optarg == this && optind >= 2)
			this = argv[optind - 2];
		switch (c) {
		case 'I':
		case OPT_ISYSTEM: {
			const char **dirs = c == 'I' ? includes : system_dirs;
			int *n = c == 'I' ? &opt.n_include_dirs : &opt.n_system_dirs;
			if (*n == MAX_INCLUDES)
				usage_error("too many %s directories (at most 64)",
					    c == 'I' ? "-I" : "-isystem");
			if (!*optarg)
				usage_error("option '%s' needs a directory, not an empty name", this);
			dirs[(*n)++] = optarg;
			break;
		}
		case 'o':
			if (!*optarg)
				usage_error("option '%s' needs a directory, not an empty name", this);
			outdir = optarg;
			break;
		case 'c':
		case OPT_DUMP:
		case OPT_M:
		case OPT_MM:
			if (mode_opt && strcmp(mode_opt, this))
				usage_error("%s", "--check, --dump, -M and -MM exclude each other");
			mode_opt = this;
			check_only |= c == 'c';
			dump |= c == OPT_DUMP;
			deps_only |= c == OPT_M || c == OPT_MM;
			deps.user_only |= c == OPT_MM;
			break;
		case OPT_MD:
		case OPT_MMD:
			gen_dep_opt = this;
			write_deps = true;
			deps.user_only |= c == OPT_MMD;
			break;
		case OPT_MP:
			deps.phony = true;
			break;
		case OPT_MF:
			if (!*optarg)
				usage_error("option '%s' needs a file name, not an empty one", this);
			depfile = optarg;
			break;
		case OPT_MT:
			if (deps.n_targets == MAX_TARGETS)
				usage_error("too many -MT targets (at most %s)", "64");
			targets[deps.n_targets++] = optarg;
			break;
		case 'W':
			if (!strcmp(optarg, "error")) {
				opt.werror = true;
			} else if (!strncmp(optarg, "no-", 3)) {
				const struct nooksc_check_info *ci = find_check(optarg + 3);
				if (!ci)
					usage_error("'-W%s': no check is called '%s' (see --list-checks)",
						    optarg, optarg + 3);
				if (ci->level != NOOKSC_WARNING)
					usage_error("'-W%s': [%s] is an error; only warnings can be "
						    "turned off (see --list-checks)", optarg, optarg + 3);
				if (opt.n_disabled < MAX_DISABLED)
					disabled[opt.n_disabled++] = optarg + 3;
			} else {
				usage_error("unknown warning option '-W%s' (-Werror or -Wno-CHECK)", optarg);
			}
			break;
		case OPT_MAX_ERRORS: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (!*optarg || *end || n < 1 || n > 100000)
				usage_error("--max-errors needs a number from 1 to 100000, not '%s'", optarg);
			opt.max_errors = (int)n;
			break;
		}
		case OPT_TEMPLATES:
			templates = optarg;
			break;
		case OPT_TARGET:	/* code generation: which templates */
			target = optarg;
			break;
		case OPT_LIST_CHECKS:
			list_checks();
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("nooksc %s\n", NOOKSC_VERSION);
			return 0;
		case ':':
			usage_error("option '%s' needs an argument (%s)", this, argument_kind(optopt));
			break;
		default:
			bad_option(argc, argv);
		}
	}
	if (optind == argc)
		usage_error("%s", "no input files");
	if (gen_dep_opt && mode_opt)
		usage_error("%s goes with code generation, not with %s", gen_dep_opt, mode_opt);
	if (depfile && (check_only || dump))
		usage_error("%s", "-MF goes with code generation, -M or -MM only");
	if ((deps.phony || deps.n_targets) && !deps_only && !write_deps && !depfile)
		usage_error("%s", "-MP and -MT need -M, -MM, -MD, -MMD or -MF");
	/* -MF alone while generating writes the rules there, as -MD -MF */
	write_deps |= depfile && !deps_only;
	if (!templates)
		templates = nooksc_default_templates();
	bool generate = !check_only && !dump && !deps_only;

	struct outset *os = calloc(1, sizeof(*os));
	struct nooksc **ctx = calloc((size_t)argc, sizeof(*ctx));
	struct idl_model **models = calloc((size_t)argc, sizeof(*models));
	int status = 0;

	if (!os || !ctx || !models) {
		fputs("nooksc: out of memory\n", stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		ctx[i] = nooksc_new(&opt);
		if (!ctx[i]) {
			fputs("nooksc: out of memory\n", stderr);
			return 2;
		}
		models[i] = nooksc_parse_file(ctx[i], argv[i]);
		if (!models[i]) {
			status = status ? status : 1;
			hint_stray_argument(original, argc, argv[i]);
		}
		else if (nooksc_errors(ctx[i]))
			status = 1;
	}

	if (status == 0 && (generate || deps_only)) {
		FILE *depfp = NULL;
		if (depfile) {
			int err = out_open(os, depfile, &depfp);
			if (err) {
				fprintf(stderr, "nooksc: cannot write '%s': %s\n", depfile, strerror(err));
				status = 2;
			}
		}
		for (int i = optind; i < argc && status == 0; i++) {
			const char *dir = outdir ? outdir : ".";
			int rc = generate ? nooksc_generate(ctx[i], models[i], templates, target,
							    dir, os) : 0;
			if (rc) {
				status = rc == -2 ? 2 : 1;
				break;
			}
			if (!deps_only && !write_deps)
				continue;
			const char *rules = nooksc_make_rules(ctx[i], models[i], templates, target,
							      dir, &deps);
			if (!rules) {
				status = 1;
				break;
			}
			FILE *fp = depfp ? depfp : stdout;
			if (!depfp && write_deps) {
				/* -MD: DIR/INTERFACE.d beside the generated files */
				char path[4096];
				snprintf(path, sizeof(path), "%s/%s.d", dir,
					 nooksc_model_interface(models[i]));
				int err = out_open(os, path, &fp);
				if (err) {
					fprintf(stderr, "nooksc: cannot write '%s': %s\n", path,
						err == EEXIST ? "two inputs would both write it" :
						strerror(err));
					status = 2;
					break;
				}
			}
			fputs(rules, fp);
		}
		const char *failed = NULL;
		int err = status ? (out_abort(os), 0) : out_commit(os, &failed);
		if (err) {
			fprintf(stderr, "nooksc: cannot write '%s': %s\n", failed, strerror(err));
			status = 2;
		}
	}

	if (status == 0 && dump) {
		for (int i = optind; i < argc && status == 0; i++) {
			FILE *fp = stdout;
			if (outdir) {
				char path[4096], name[1024];
				snprintf(path, sizeof(path), "%s/%s.dump", outdir,
					 stem(argv[i], name, sizeof(name)));
				int err = out_open(os, path, &fp);
				if (err == EEXIST) {
					fprintf(stderr, "nooksc: two inputs would both write '%s'\n", path);
					status = 2;
					break;
				}
				if (err) {
					fprintf(stderr, "nooksc: cannot write '%s': %s\n",
						path, strerror(err));
					status = 2;
					break;
				}
			}
			nooksc_dump(fp, models[i]);
		}
		const char *failed = NULL;
		int err = status ? (out_abort(os), 0) : out_commit(os, &failed);
		if (err) {
			fprintf(stderr, "nooksc: cannot write '%s': %s\n", failed, strerror(err));
			status = 2;
		}
	}

	for (int i = optind; i < argc; i++)
		nooksc_free(ctx[i]);
	free(original);
	free(ctx);
	free(models);
	out_free(os);
	free(os);
	if (fflush(stdout) && status == 0) {
		fprintf(stderr, "nooksc: cannot write output: %s\n", strerror(errno));
		status = 2;
	}
	return status;
}
