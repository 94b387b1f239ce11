/*
 * nkernel.h - what nkernel and nkctl share (kernel/nkcommon.c).
 */
#ifndef NKERNEL_H
#define NKERNEL_H

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
