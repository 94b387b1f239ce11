/*
 * output.h - all-or-nothing output files (output.c).
 */
#ifndef NOOKSC_OUTPUT_H
#define NOOKSC_OUTPUT_H

#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

struct outfile {
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	FILE *fp;
};

struct outset {
	struct outfile *files;
	int n, cap;
};

/* Opens a temporary for path; 0 or an errno value (EEXIST: path is
 * already part of this set, two outputs would collide). */
int out_open(struct outset *os, const char *path, FILE **fp);
/* Renames every temporary into place, or removes them all; 0 or errno,
 * with *failed naming the file that failed. */
int out_commit(struct outset *os, const char **failed);
/* Removes every temporary. */
void out_abort(struct outset *os);
/* Frees the set itself (after a commit or an abort). */
void out_free(struct outset *os);

#endif
