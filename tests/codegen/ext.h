/*
 * ext.h - the code-generation tests' two sides, on the real libnooks.
 *
 * The test program is the kernel (tk.c) and plays the extension too: an
 * "extension call" of a kernel function is nooks_kw_NAME called inside a
 * crossing into the extension's domain (nooks_xpc_ext), which is what an
 * isolated extension's call of NAME amounts to; the ops table it
 * registers (its functions run when the kernel calls through the
 * generated extension wrappers) is test code too.  The suites run once
 * per backend: none (direct calls, the tracker's checks) and mprotect
 * (isolated: faults contained, deadlines, recovery).
 */
#ifndef CODEGEN_EXT_H
#define CODEGEN_EXT_H

#include "nooks_internal.h"
#include "nooks_runtime.h"
#include "tk_nooks.h"

/* The backend the running suite uses, and whether it isolates. */
extern enum nooks_backend test_backend;
#define ISOLATING (test_backend != NOOKS_BACKEND_NONE)

/* A domain on the suite's backend (CUnit-fatal if it cannot be made). */
struct nooks_domain *ext_domain(const char *name);

/* Who calls the X_ functions below: a domain (inside a crossing into it),
 * or NULL (the kernel itself, no crossing). */
extern struct nooks_domain *ext_self;

/*
 * nooks_kw_tk_NAME(...) called as ext_self.  For a domain that is down
 * (the crossing did not enter) the result is the wrapper's error value
 * the test names as X_DOWN.
 */
#define X_DOWN (-1000)
struct tk_dev *X_dev_alloc(int priv);
void X_dev_free(struct tk_dev *dev);
int X_dev_put(struct tk_dev *dev);
int X_register(struct tk_dev *dev);
void X_unregister(struct tk_dev *dev);
int X_read(struct tk_dev *dev, void *buf, unsigned int len);
int X_write_words(struct tk_dev *dev, const int *words, int n);
int X_reverse_words(int *words, int n);
int X_set_name(struct tk_dev *dev, const char *name);
int X_set_tag(struct tk_dev *dev, const char *tag);
int X_mtu_out(struct tk_dev *dev, int *mtu);
int X_maybe(struct tk_dev *dev);
int X_get_mtu(const struct tk_dev *dev);
int X_pkt_alloc(struct tk_pkt **pkt, unsigned int len);
int X_pkt_send(struct tk_dev *dev, struct tk_pkt *pkt);
struct tk_lock *X_lock_get(void);
void X_lock(struct tk_lock *l);
void X_unlock(struct tk_lock *l);

/* Kills d as a fault would and releases what it held (isolating
 * backends), or just releases it (none: nothing to recover); d is up and
 * empty after. */
void ext_recover(struct nooks_domain *d, struct nooks_release_stats *st);

/* Crossings entered into d so far. */
unsigned long ext_calls(const struct nooks_domain *d);

#endif
