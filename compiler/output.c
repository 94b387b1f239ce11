/*
 * output.c - all-or-nothing output files.
 *
 * Each output is written to a temporary file beside its target, and only
 * when every output of the run is complete are they renamed into place; if
 * anything fails, every temporary is removed.  An interrupted or failed run
 * therefore never leaves a half-written or stale-mixed set of files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

int out_open(struct outset *os, const char *path, FILE **fp)
{
	struct outfile *o;

	for (int i = 0; i < os->n; i++)
		if (!strcmp(os->files[i].path, path))
			return EEXIST;
	if (os->n == os->cap) {
		int cap = os->cap ? os->cap * 2 : 16;
		struct outfile *f = realloc(os->files, sizeof(*f) * (size_t)cap);
		if (!f)
			return ENOMEM;
		os->files = f;
		os->cap = cap;
	}
	o = &os->files[os->n];
	if (snprintf(o->path, sizeof(o->path), "%s", path) >= (int)sizeof(o->path) ||
	    snprintf(o->tmp, sizeof(o->tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(o->tmp))
		return ENAMETOOLONG;
	int fd = mkstemp(o->tmp);
	if (fd < 0)
		return errno;
	o->fp = fdopen(fd, "w");
	if (!o->fp) {
		int err = errno;
		close(fd);
		unlink(o->tmp);
		return err;
	}
	os->n++;
	*fp = o->fp;
	return 0;
}

int out_commit(struct outset *os, const char **failed)
{
	int err = 0;

	for (int i = 0; i < os->n && !err; i++) {
		struct outfile *o = &os->files[i];
		if (fflush(o->fp) || ferror(o->fp))
			err = errno ? errno : EIO;
		if (err)
			*failed = o->path;
	}
	for (int i = 0; i < os->n; i++) {
		struct outfile *o = &os->files[i];
		if (fclose(o->fp) && !err) {
			err = errno;
			*failed = o->path;
		}
		o->fp = NULL;
	}
	/* chmod to the usual 0644 less umask: mkstemp made them 0600 */
	mode_t mask = umask(0);
	umask(mask);
	for (int i = 0; i < os->n && !err; i++)
		if (chmod(os->files[i].tmp, 0666 & ~mask)) {
			err = errno;
			*failed = os->files[i].path;
		}
	for (int i = 0; i < os->n && !err; i++)
		if (rename(os->files[i].tmp, os->files[i].path)) {
			err = errno;
			*failed = os->files[i].path;
		}
	if (err)
		out_abort(os);
	os->n = 0;
	return err;
}

void out_abort(struct outset *os)
{
	for (int i = 0; i < os->n; i++) {
		if (os->files[i].fp)
			fclose(os->files[i].fp);
		os->files[i].fp = NULL;
		unlink(os->files[i].tmp);
	}
	os->n = 0;
}

void out_free(struct outset *os)
{
	free(os->files);
	os->files = NULL;
	os->n = os->cap = 0;
}
