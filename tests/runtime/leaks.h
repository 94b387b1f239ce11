/*
 * leaks.h - what the crash-and-reload tests count before and after: the
 * process's open file descriptors and its memory mappings (leaks.c).
 */
#ifndef RUNTIME_TEST_LEAKS_H
#define RUNTIME_TEST_LEAKS_H

int count_open_fds(void);	/* entries of /proc/self/fd */
int count_mappings(void);	/* lines of /proc/self/maps */

#endif
