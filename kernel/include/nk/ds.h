/*
 * nk/ds.h - the data store (MINIX 3's DS): small named values that a
 * module publishes and that outlive its restarts, kept by the kernel.
 * idl/nk/ds.idl annotates it.
 *
 * Names are strings of at most NK_DS_NAME_MAX - 1 bytes, by convention
 * "module.key" (one namespace for every module and the kernel); values
 * are up to NK_DS_VALUE_MAX bytes; at most NK_DS_ENTRIES names at once.
 * Every change (publish, add, delete) takes the store's sequence number
 * one up; ds_check() is the subscription: it waits for a change of a name
 * under a prefix, as MINIX 3's ds_check after a DS notification.
 */
#ifndef NK_DS_H
#define NK_DS_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NK_DS_NAME_MAX 64
#define NK_DS_VALUE_MAX 256
#define NK_DS_ENTRIES 256

/* Sets name to the len bytes at value: 0, -EINVAL (a bad name),
 * -E2BIG (len too large), -ENOSPC (no room for a new name). */
int ds_publish(const char *name, const void *value, size_t len);
/* Copies name's value into value (at most len bytes): its length (which
 * may be more than len), or -ENOENT. */
ssize_t ds_retrieve(const char *name, void *value, size_t len);
/* name holds a long long counter (created at 0, the value 8 bytes):
 * adds delta, atomically, and returns the new value; -ENOSPC or -EINVAL
 * as ds_publish, or -EEXIST if name holds something else. */
long long ds_add(const char *name, long long delta);
/* Removes name: 0 or -ENOENT. */
int ds_delete(const char *name);
/*
 * Waits up to timeout_ms (0: no wait) for a name beginning with prefix
 * to change after the sequence number *seq (0: any time): copies the
 * name of the oldest such change not yet seen into name (at most len
 * bytes, NUL-terminated), sets *seq to that change's number and returns
 * 0; -ETIMEDOUT when none came, -EINTR when the caller's module is being
 * recovered.  A deleted name is reported too (ds_retrieve then gives
 * -ENOENT).
 */
int ds_check(const char *prefix, char *name, size_t len, unsigned long *seq,
	     unsigned int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
