/*
 * nkctl - talk to a running nkernel over its control socket.
 *
 *   nkctl [-s SOCKET] COMMAND [ARG]...
 *
 * Checks the command against the protocol's table (nkcommon.c), answers
 * `help` itself, sends any other command as one line, prints the answer, and exits 0 if it
 * ended with "ok", 1 if with "error: ...", 2 if nkernel cannot be reached
 * or the arguments are wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nkernel.h"

/* The commands, wrapped at 78 columns under their usage. */
static void print_commands(FILE *f)
{
	for (const struct nk_command *c = nk_commands; c->name; c++) {
		char head[96];
		int col = 28, n = snprintf(head, sizeof(head), "  %s%s%s", c->name,
					   c->args[0] ? " " : "", c->args);
		fputs(head, f);
		if (n >= col) {
			fputc('\n', f);
			n = 0;
		}
		const char *w = c->what;
		while (*w) {
			size_t len = strcspn(w, " ");
			if (n > col && n + 1 + (int)len > 78) {
				fputc('\n', f);
				n = 0;
			}
			if (n < col) {
				fprintf(f, "%*s", col - n, "");
				n = col;
			} else {
				fputc(' ', f);
				n++;
			}
			fprintf(f, "%.*s", (int)len, w);
			n += (int)len;
			w += len;
			w += strspn(w, " ");
		}
		fputc('\n', f);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: nkctl [-s SOCKET] COMMAND [ARG]...\n"
"\n"
"Commands (answered by a running nkernel; `help` is answered here):\n");
	print_commands(f);
	fprintf(f,
"\n"
"Options:\n"
"  -s SOCKET      the control socket (default: $NKERNEL_CONTROL or %s)\n"
"  -h, --help     show this help\n"
"  -V, --version  show the version\n"
"\n"
"Exit status: 0 ok, 1 the command failed, 2 nkernel unreachable or bad usage.\n",
		nk_default_control());
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("nkctl %s\n", NK_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "-s")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "nkctl: -s needs a socket path (try --help)\n");
				return 2;
			}
			path = argv[++i];
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			fprintf(stderr, "nkctl: unknown option %s (try --help)\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	char err[512];
	if (nk_command_check(argc - i, argv + i, err, sizeof(err))) {
		fprintf(stderr, "nkctl: %s\n", err);
		return 2;
	}
	if (!strcmp(argv[i], "help")) {
		print_commands(stdout);
		return 0;
	}
	if (!path)
		path = nk_default_control();

	/* one line: the words, space-separated (no word may hold a space or
	 * a newline: the protocol splits on them) */
	char line[4096];
	size_t n = 0;
	for (int j = i; j < argc; j++) {
		if (strpbrk(argv[j], " \t\r\n")) {
			fprintf(stderr, "nkctl: arguments cannot contain spaces: '%s'\n", argv[j]);
			return 2;
		}
		int k = snprintf(line + n, sizeof(line) - n, "%s%s", j > i ? " " : "", argv[j]);
		if (k < 0 || (size_t)k >= sizeof(line) - n - 1) {
			fprintf(stderr, "nkctl: command too long\n");
			return 2;
		}
		n += (size_t)k;
	}
	line[n++] = '\n';

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "nkctl: socket path too long: %s\n", path);
		return 2;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "nkctl: cannot reach nkernel at %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (write(fd, line, n) != (ssize_t)n) {
		fprintf(stderr, "nkctl: %s: %s\n", path, strerror(errno));
		return 2;
	}
	shutdown(fd, SHUT_WR);

	FILE *in = fdopen(fd, "r");
	char buf[4096], last[4096] = "";
	while (in && fgets(buf, sizeof(buf), in)) {
		if (last[0])
			fputs(last, stdout);
		snprintf(last, sizeof(last), "%s", buf);
	}
	if (in)
		fclose(in);
	if (!strcmp(last, "ok\n"))
		return 0;
	if (!strncmp(last, "error: ", 7)) {
		fprintf(stderr, "nkctl: %s", last + 7);
		return 1;
	}
	fprintf(stderr, "nkctl: nkernel closed the connection without an answer%s\n",
		last[0] ? "" : " (did it die?)");
	if (last[0])
		fputs(last, stdout);
	return 2;
}
