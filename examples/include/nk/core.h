/*
 * nk/core.h - the example kernel API's core (memory, locks, logging), the
 * C header examples/idl/core.idl annotates.  Declarations only: it exists
 * so the wrappers generated from the example compile; the user-space
 * kernel (kernel/) will provide the real one.
 */
#ifndef NK_CORE_H
#define NK_CORE_H

#include <errno.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IFNAMSIZ 16

typedef unsigned int gfp_t;

struct nk_mutex;

void *kmalloc(size_t size, gfp_t flags);
void kfree(const void *p);
void nk_mutex_lock(struct nk_mutex *m);
void nk_mutex_unlock(struct nk_mutex *m);
void nk_log(int level, const char *msg);

#ifdef __cplusplus
}
#endif

#endif
