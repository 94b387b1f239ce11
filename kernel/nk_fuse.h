/*
 * nk_fuse.h - nkernel's FUSE bridge (kernel/fuse.c): a mount of the
 * file-system switch made visible at a host directory.
 */
#ifndef NK_FUSE_H
#define NK_FUSE_H

#include <stddef.h>

/* Mounts device with the registered type at dir (options: "ro", the
 * rest the file system's): 0, or -1 and a reason in err. */
int nk_fuse_mount(const char *type, const char *device, const char *dir, const char *opts,
		  char *err, size_t errlen);
/* Unmounts dir (refused while busy, unless lazy). */
int nk_fuse_umount(const char *dir, int lazy, char *err, size_t errlen);
/* One line per mount: "DIR TYPE DEVICE STATE INSTANCE". */
void nk_fuse_list(void (*line)(void *arg, const char *text), void *arg);
/* Detaches and unmounts everything (at shutdown, before the modules go). */
void nk_fuse_shutdown(void);

#endif
