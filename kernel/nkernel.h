/*
 * nkernel.h - what nkernel and nkctl share (kernel/nkcommon.c).
 */
#ifndef NKERNEL_H
#define NKERNEL_H

#include <stddef.h>

#define NK_VERSION "0.1.0"

/*
 * The control protocol's commands: one line of space-separated words in,
 * lines out, then "ok" or "error: why".  nkctl checks a command against
 * this table before it sends it (and prints it for `help` without a
 * running kernel); nkernel checks every request against it again.
 */
struct nk_command {
	const char *name;
	int min_args, max_args;		/* words after the name; -1: any */
	const char *args;		/* how they are written */
	const char *what;		/* one line */
};

extern const struct nk_command nk_commands[];

/* 0 if argv (argv[0] the command) is a known command with a right number
 * of words; else -1 and why in err ("unknown command", "unexpected
 * argument 'x'", "usage: ..."). */
int nk_command_check(int argc, char **argv, char *err, size_t errlen);

/* The control socket when none is given: $NKERNEL_CONTROL, else
 * /tmp/nkernel-UID.sock. */
const char *nk_default_control(void);

/*
 * Reads a configuration file: for each line (after removing a '#'
 * comment), its words are passed to words(argc, argv, 0, "FILE:LINE: ").
 * words() must copy what it keeps.  0, or -1 after a one-line error on stderr
 * (the file cannot be read, or words() failed).
 */
int nk_read_config(const char *path,
		   int (*words)(int argc, char **argv, int allow_global, const char *where));

#endif
