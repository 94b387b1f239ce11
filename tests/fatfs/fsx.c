/*
 * fsx - random file-system operations on two trees at once, checked
 * against each other (after Apple's fsx and its Linux descendants).
 *
 *   fsx [-s SEED] [-n OPS] [-m MAXSIZE] [-v] DIR REFDIR
 *
 * DIR is the tree under test (a fatfs mount), REFDIR a reference on an
 * ordinary file system.  Every operation is made on both: writes of
 * seeded random bytes at random offsets (past the end too), reads
 * compared byte for byte, truncates up and down, creates, unlinks,
 * renames (over existing files too), mkdir and rmdir, fsync, files kept
 * open across operations, directory listings and sizes compared.  The
 * results (return value or errno) must agree; the first difference is
 * printed with the operation number and the program exits 1.  At the end
 * both trees are compared in full.  Names are distinct ignoring case
 * (FAT's names are not case-sensitive) and mix short and long ones.
 * SIGTERM ends the run after the operation under way, with the full
 * comparison (exit 0 if the trees agree).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *names[] = {
	"a", "B.TXT", "long file name number one.data", "Mixed.Case.Name.txt",
	"x~1", "readme.md", "0123456789abcdef", "d1/inner", "d1/Second Long Name.bin",
	"d2/C", "d2/d3/deep file", "spaces in name", "UPPER.BIN", "e.tar.gz",
};
static const char *dirs[] = { "d1", "d2", "d2/d3", "d4" };
#define NNAMES (int)(sizeof(names) / sizeof(names[0]))
#define NDIRS (int)(sizeof(dirs) / sizeof(dirs[0]))

static const char *top, *ref;
static long op;
static int verbose;
static long maxsize = 256 * 1024;
static uint64_t rng;
static volatile sig_atomic_t stopping;	/* SIGTERM: finish the operation, compare, end */
static int fd_t[NNAMES], fd_r[NNAMES];	/* open files, -1: none */

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static long rndn(long n)
{
	return n > 0 ? (long)(rnd() % (uint64_t)n) : 0;
}

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fsx: op %ld: ", op);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void path(char *out, const char *root, const char *name)
{
	snprintf(out, 4096, "%s/%s", root, name);
}

/* r < 0 means errno */
static long res(long r)
{
	return r < 0 ? -errno : r;
}

static void same(const char *what, const char *name, long a, long b)
{
	if (a != b)
		fail("%s %s: %ld (%s) on the mount, %ld (%s) on the reference", what, name, a,
		     a < 0 ? strerror((int)-a) : "ok", b, b < 0 ? strerror((int)-b) : "ok");
	if (verbose)
		printf("%ld %s %s -> %ld\n", op, what, name, a);
}

static void close_name(int i)
{
	if (fd_t[i] >= 0) {
		close(fd_t[i]);
		close(fd_r[i]);
		fd_t[i] = fd_r[i] = -1;
	}
}

static void close_under(const char *prefix)
{
	size_t n = strlen(prefix);
	for (int i = 0; i < NNAMES; i++)
		if (!strncmp(names[i], prefix, n) && (!names[i][n] || names[i][n] == '/'))
			close_name(i);
}

/* The name open on both sides (opened now if needed; created if c). */
static int open_name(int i, int create)
{
	char a[4096], b[4096];
	if (fd_t[i] >= 0)
		return 1;
	path(a, top, names[i]);
	path(b, ref, names[i]);
	int fl = O_RDWR | (create ? O_CREAT : 0);
	int x = open(a, fl, 0644), ex = errno;
	int y = open(b, fl, 0644), ey = errno;
	same("open", names[i], x < 0 ? -ex : 0, y < 0 ? -ey : 0);
	if (x < 0)
		return 0;
	fd_t[i] = x;
	fd_r[i] = y;
	return 1;
}

static void do_write(void)
{
	int i = (int)rndn(NNAMES);
	if (!open_name(i, 1))
		return;
	long off = rndn(maxsize), len = 1 + rndn(rndn(4) ? 4096 : 65536);
	if (off + len > maxsize)
		len = maxsize - off;
	if (len <= 0)
		return;
	char *buf = malloc((size_t)len);
	for (long k = 0; k < len; k++)
		buf[k] = (char)rnd();
	long x = res(pwrite(fd_t[i], buf, (size_t)len, off));
	long y = res(pwrite(fd_r[i], buf, (size_t)len, off));
	same("write", names[i], x, y);
	free(buf);
}

static void do_read(void)
{
	int i = (int)rndn(NNAMES);
	if (!open_name(i, 0))
		return;
	long off = rndn(maxsize + 4096), len = 1 + rndn(65536);
	char *p = malloc((size_t)len), *q = malloc((size_t)len);
	long x = res(pread(fd_t[i], p, (size_t)len, off));
	long y = res(pread(fd_r[i], q, (size_t)len, off));
	same("read", names[i], x, y);
	if (x > 0 && memcmp(p, q, (size_t)x)) {
		long k = 0;
		while (p[k] == q[k])
			k++;
		fail("read %s at %ld: byte %ld differs (%02x, reference %02x)", names[i], off,
		     off + k, (unsigned char)p[k], (unsigned char)q[k]);
	}
	free(p);
	free(q);
}

static void do_truncate(void)
{
	int i = (int)rndn(NNAMES);
	char a[4096], b[4096];
	long size = rndn(4) ? rndn(maxsize) : 0;
	path(a, top, names[i]);
	path(b, ref, names[i]);
	same("truncate", names[i], res(truncate(a, size)), res(truncate(b, size)));
}

static void do_unlink(void)
{
	int i = (int)rndn(NNAMES);
	char a[4096], b[4096];
	close_name(i);
	path(a, top, names[i]);
	path(b, ref, names[i]);
	same("unlink", names[i], res(unlink(a)), res(unlink(b)));
}

static void do_rename(void)
{
	int i = (int)rndn(NNAMES), j = (int)rndn(NNAMES);
	char a[4096], b[4096], c[4096], d[4096];
	close_name(j);		/* an open target would be hidden, not removed */
	path(a, top, names[i]);
	path(b, top, names[j]);
	path(c, ref, names[i]);
	path(d, ref, names[j]);
	long x = res(rename(a, b)), y = res(rename(c, d));
	same("rename", names[i], x, y);
	if (!x && i != j) {		/* the open file follows its name */
		fd_t[j] = fd_t[i];
		fd_r[j] = fd_r[i];
		fd_t[i] = fd_r[i] = -1;
	}
}

static void do_mkdir(void)
{
	int i = (int)rndn(NDIRS);
	char a[4096], b[4096];
	path(a, top, dirs[i]);
	path(b, ref, dirs[i]);
	same("mkdir", dirs[i], res(mkdir(a, 0755)), res(mkdir(b, 0755)));
}

static void do_rmdir(void)
{
	int i = (int)rndn(NDIRS);
	char a[4096], b[4096];
	close_under(dirs[i]);
	path(a, top, dirs[i]);
	path(b, ref, dirs[i]);
	same("rmdir", dirs[i], res(rmdir(a)), res(rmdir(b)));
}

static void do_fsync(void)
{
	int i = (int)rndn(NNAMES);
	if (fd_t[i] >= 0)
		same("fsync", names[i], res(fsync(fd_t[i])), res(fsync(fd_r[i])));
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted listing of dir: "name/" for directories, "name size". */
static int listing(const char *dir, char **out, int max)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -errno;
	for (struct dirent *e; (e = readdir(d)) && n < max;) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[4096];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (stat(p, &st))
			st.st_mode = 0;
		if (asprintf(&out[n++], "%s%s %lld", e->d_name, S_ISDIR(st.st_mode) ? "/" : "",
			     S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size) < 0)
			exit(2);
	}
	closedir(d);
	qsort(out, (size_t)n, sizeof(*out), cmpstr);
	return n;
}

static void compare_dir(const char *rel)
{
	char a[4096], b[4096], *la[256], *lb[256];
	path(a, top, rel);
	path(b, ref, rel);
	int x = listing(a, la, 256), y = listing(b, lb, 256);
	same("readdir", rel, x, y);
	for (int k = 0; k < x; k++) {
		if (strcmp(la[k], lb[k]))
			fail("readdir %s: '%s' on the mount, '%s' on the reference", rel, la[k], lb[k]);
		free(la[k]);
		free(lb[k]);
	}
}

static void compare_file(const char *rel)
{
	char a[4096], b[4096];
	path(a, top, rel);
	path(b, ref, rel);
	FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
	if (!f || !g) {
		same("fopen", rel, f ? 0 : -errno, g ? 0 : -errno);
		if (f)
			fclose(f);
		if (g)
			fclose(g);
		return;
	}
	long k = 0;
	for (int c, d;; k++) {
		c = getc(f);
		d = getc(g);
		if (c != d)
			fail("file %s differs at byte %ld", rel, k);
		if (c == EOF)
			break;
	}
	fclose(f);
	fclose(g);
}

static void compare_all(void)
{
	compare_dir(".");
	for (int i = 0; i < NDIRS; i++)
		compare_dir(dirs[i]);
	for (int i = 0; i < NNAMES; i++) {
		char b[4096];
		struct stat st;
		path(b, ref, names[i]);
		if (!stat(b, &st) && S_ISREG(st.st_mode))
			compare_file(names[i]);
	}
}

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

int main(int argc, char **argv)
{
	long ops = 1000;
	unsigned long seed = 1;
	int c;
	while ((c = getopt(argc, argv, "s:n:m:v")) != -1) {
		switch (c) {
		case 's': seed = strtoul(optarg, NULL, 0); break;
		case 'n': ops = strtol(optarg, NULL, 0); break;
		case 'm': maxsize = strtol(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		default: goto usage;
		}
	}
	if (argc - optind != 2 || maxsize < 1)
		goto usage;
	top = argv[optind];
	ref = argv[optind + 1];
	rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (int i = 0; i < NNAMES; i++)
		fd_t[i] = fd_r[i] = -1;
	for (int i = 0; i < NDIRS - 1; i++) {	/* most names need their directory */
		char a[4096];
		path(a, top, dirs[i]);
		mkdir(a, 0755);
		path(a, ref, dirs[i]);
		mkdir(a, 0755);
	}
	signal(SIGTERM, on_term);
	for (op = 1; op <= ops && !stopping; op++) {
		long w = rndn(100);
		if (w < 30)
			do_write();
		else if (w < 50)
			do_read();
		else if (w < 58)
			do_truncate();
		else if (w < 64)
			do_unlink();
		else if (w < 72)
			do_rename();
		else if (w < 76)
			do_mkdir();
		else if (w < 80)
			do_rmdir();
		else if (w < 84)
			do_fsync();
		else if (w < 92)
			close_name((int)rndn(NNAMES));
		else if (w < 96)
			compare_dir(rndn(2) ? "." : dirs[rndn(NDIRS)]);
		else
			compare_file(names[rndn(NNAMES)]);
	}
	for (int i = 0; i < NNAMES; i++)
		close_name(i);
	compare_all();
	printf("fsx: %ld operations, seed %lu: the trees agree\n", op - 1, seed);
	return 0;
usage:
	fprintf(stderr, "usage: fsx [-s SEED] [-n OPS] [-m MAXSIZE] [-v] DIR REFDIR\n");
	return 2;
}
