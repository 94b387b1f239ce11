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
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "import.h"
#include "verify.h"
#include "nooksc.h"
#include "output.h"

#define MAX_INCLUDES 64
#define MAX_DISABLED 64

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
"  -o DIR              write output files into DIR (default: .)\n"
"  --templates DIR     the m4 templates (default: beside the program)\n"
"  --target NAME       the templates' target: a directory of DIR listing\n"
"                      the files it writes (default: user)\n"
"  -M                  print make dependency rules (imports and templates)\n"
"                      of the outputs, and write nothing else\n"
"  -MF FILE            also write those rules to FILE when generating\n"
"  -MT TARGET          name TARGET in those rules instead of the outputs\n"
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
"options such as -I, -D, -std and --target go to clang; -I is also the\n"
"import path) and reports every declaration that disagrees with it.\n"
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
"source line and a caret.  Exit status: 0 success, 1 errors in the input\n"
"(an unreadable input included), 2 bad usage or an output that could not be\n"
"written.  The language is described in docs/idl.md.\n";

static void usage_error(const char *fmt, const char *arg)
{
	fputs("nooksc: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'nooksc --help' for more information.\n", stderr);
	exit(2);
}

static bool is_warning(const char *name)
{
	int n;
	const struct nooksc_check_info *c = nooksc_checks(&n);

	for (int i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return c[i].level == NOOKSC_WARNING;
	return false;
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
	const char **files = calloc((size_t)argc, sizeof(*files));
	const char *templates = NULL;
	int nc_args = 0, ninc = 0, nfiles = 0, status = 0;

	if (!clang_args || !includes || !files) {
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
		struct nooksc_options opt = { .include_dirs = includes, .n_include_dirs = ninc };
		struct nooksc *nc = nooksc_new(&opt);
		struct idl_model *m = nc ? nooksc_parse_file(nc, files[i]) : NULL;
		if (!m || nooksc_errors(nc) ||
		    nooksc_verify(nc, m, templates, clang_args, nc_args))
			status = 1;
		nooksc_free(nc);
	}
	free(clang_args);
	free(includes);
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

int main(int argc, char **argv)
{
	enum { OPT_DUMP = 256, OPT_MAX_ERRORS, OPT_LIST_CHECKS, OPT_TEMPLATES, OPT_TARGET };
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "dump", no_argument, NULL, OPT_DUMP },
		{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
		{ "list-checks", no_argument, NULL, OPT_LIST_CHECKS },
		{ "templates", required_argument, NULL, OPT_TEMPLATES },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *includes[MAX_INCLUDES];
	const char *disabled[MAX_DISABLED];
	struct nooksc_options opt = { .include_dirs = includes, .disabled = disabled };
	const char *outdir = NULL, *templates = NULL, *depfile = NULL, *deptarget = NULL;
	const char *target = NULL;	/* --target: the templates' directory */
	bool check_only = false, dump = false, deps_only = false;
	int c;

	/* -M and -MF are spelt as make and cc spell them; getopt would read
	 * them as -M -F, so take them out first. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-M")) {
			deps_only = true;
		} else if (!strcmp(argv[i], "-MF") || !strcmp(argv[i], "-MT")) {
			if (i + 1 == argc)
				usage_error("option '%s' needs an argument", argv[i]);
			*(argv[i][2] == 'F' ? &depfile : &deptarget) = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], sizeof(*argv) * (size_t)(argc - i - 1));
			argc -= 2;
			i--;
			continue;
		} else {
			continue;
		}
		memmove(&argv[i], &argv[i + 1], sizeof(*argv) * (size_t)(argc - i));
		argc--;
		i--;
	}

	if (argc > 1 && !strcmp(argv[1], "verify"))
		return verify_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "import"))
		return import_main(argc - 1, argv + 1);

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":I:o:cW:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'I':
			if (opt.n_include_dirs == MAX_INCLUDES)
				usage_error("too many -I directories (at most %s)", "64");
			includes[opt.n_include_dirs++] = optarg;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'c':
			check_only = true;
			break;
		case OPT_DUMP:
			dump = true;
			break;
		case 'W':
			if (!strcmp(optarg, "error")) {
				opt.werror = true;
			} else if (!strncmp(optarg, "no-", 3) && is_warning(optarg + 3)) {
				if (opt.n_disabled < MAX_DISABLED)
					disabled[opt.n_disabled++] = optarg + 3;
			} else {
				usage_error("unknown warning option '-W%s' (see --list-checks)", optarg);
			}
			break;
		case OPT_MAX_ERRORS: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 100000)
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
			usage_error("option '%s' needs an argument", argv[optind - 1]);
			break;
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		usage_error("%s", "no input files");
	if (check_only + dump + deps_only > 1)
		usage_error("%s", "--check, --dump and -M exclude each other");
	if (depfile && (check_only || dump || deps_only))
		usage_error("%s", "-MF goes with code generation only");
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
		if (!models[i])
			status = status ? status : 1;
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
			int rc = generate ? nooksc_generate(ctx[i], models[i], templates, target,
							    outdir ? outdir : ".", os) : 0;
			if (rc) {
				status = rc == -2 ? 2 : 1;
				break;
			}
			const char *rules = nooksc_make_rules(ctx[i], models[i], templates, target,
							      outdir ? outdir : ".", deptarget);
			if (!rules) {
				status = 1;
				break;
			}
			if (deps_only)
				fputs(rules, stdout);
			if (depfp)
				fputs(rules, depfp);
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
