/*
 * output.h - all-or-nothing output files (output.c).
 */
#ifndef NOOKSC_OUTPUT_H
#define NOOKSC_OUTPUT_H

#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#define OUTSET_MAX 64

struct outfile {
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	FILE *fp;
};

struct outset {
	struct outfile files[OUTSET_MAX];
	int n;
};

/* Opens a temporary for path; 0 or an errno value. */
int out_open(struct outset *os, const char *path, FILE **fp);
/* Renames every temporary into place, or removes them all; 0 or errno,
 * with *failed naming the file that failed. */
int out_commit(struct outset *os, const char **failed);
/* Removes every temporary. */
void out_abort(struct outset *os);

#endif
