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

#include "nooksc.h"
#include "output.h"

#define MAX_INCLUDES 64
#define MAX_DISABLED 64

static const char usage_text[] =
"Usage: nooksc [options] file.idl...\n"
"\n"
"Compile annotated interface descriptions (IDL) for Nooks isolation.\n"
"\n"
"Options:\n"
"  -I DIR              search DIR for imported files (after the importing\n"
"                      file's own directory); may be repeated\n"
"  -o DIR              write output files into DIR (default: .)\n"
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

int main(int argc, char **argv)
{
	enum { OPT_DUMP = 256, OPT_MAX_ERRORS, OPT_LIST_CHECKS };
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "dump", no_argument, NULL, OPT_DUMP },
		{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
		{ "list-checks", no_argument, NULL, OPT_LIST_CHECKS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *includes[MAX_INCLUDES];
	const char *disabled[MAX_DISABLED];
	struct nooksc_options opt = { .include_dirs = includes, .disabled = disabled };
	const char *outdir = NULL;
	bool check_only = false, dump = false;
	int c;

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
	if (check_only && dump)
		usage_error("%s", "--check and --dump exclude each other");
	if (!check_only && !dump)
		usage_error("%s", "code generation is not built yet: use --check or --dump");
	if (outdir && !dump)
		usage_error("%s", "-o is only used with --dump for now");

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

	if (status == 0 && dump) {
		for (int i = optind; i < argc && status == 0; i++) {
			FILE *fp = stdout;
			if (outdir) {
				char path[4096], name[1024];
				snprintf(path, sizeof(path), "%s/%s.dump", outdir,
					 stem(argv[i], name, sizeof(name)));
				for (int j = 0; j < os->n; j++)
					if (!strcmp(os->files[j].path, path)) {
						fprintf(stderr, "nooksc: two inputs would both write '%s'\n",
							path);
						status = 2;
					}
				if (status)
					break;
				int err = out_open(os, path, &fp);
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
	free(os);
	if (fflush(stdout) && status == 0) {
		fprintf(stderr, "nooksc: cannot write output: %s\n", strerror(errno));
		status = 2;
	}
	return status;
}
