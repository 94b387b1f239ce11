/*
 * tk.h - a small "kernel API" for testing the generated wrappers.
 *
 * tk.idl annotates the part an extension may use; tk.c implements it as
 * plain malloc-based C with call counters.  The kernel checks what it is
 * given the way a careful kernel would (live object lists, NULL, sizes),
 * but a misuse it detects is never a crash: it counts one in tk_bugs and
 * answers -EBADF (or nothing, for a void function).  A wrapper test
 * therefore ends with tk_bugs == 0: every bad call must have been stopped
 * by the wrapper before it reached the kernel (which answers -EINVAL and
 * the like, never -EBADF).
 *
 * C11 and C++.
 */
#ifndef TK_H
#define TK_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TK_NAME_LEN 16		/* name[] including its NUL */
#define TK_MTU_DEFAULT 1500
#define TK_PRIV_MAX 65536	/* tk_dev_alloc(priv_size) limit */
#define TK_PKT_MAX 65536	/* tk_pkt_alloc(len) limit */
#define TK_SECRET 0x5ec2e75eUL	/* every device's hidden field */
#define TK_F_UP 0x1u		/* flags: set by a successful tk_dev_open */
#define TK_F_REPLAY_BOMB 0x100u	/* flags: tests/runtime/ext_tk.c's set_mtu(1313) faults */

struct tk_dev;
struct tk_pkt;
struct tk_lock;			/* opaque */

/* What an extension registers (tk.idl: ops tk_ops). */
struct tk_ops {
	int (*open)(struct tk_dev *dev);
	int (*xmit)(struct tk_dev *dev, const void *data, unsigned int len);
	void (*reset)(struct tk_dev *dev);
	int (*rx)(struct tk_dev *dev, struct tk_pkt *pkt);
	int (*set_mtu)(struct tk_dev *dev, int mtu);
	int (*set_addr)(struct tk_dev *dev, const char *label, const void *addr,
			unsigned int len);
};

struct tk_dev {
	/* in tk.idl */
	char name[TK_NAME_LEN];		/* readonly, string */
	unsigned int flags;		/* writable */
	int mtu;			/* writable */
	void *priv;			/* private: priv_size bytes after the struct */
	unsigned long secret;		/* hidden: TK_SECRET */
	const struct tk_ops *ops;	/* writable: set before tk_register */
	/* kernel-only, not in tk.idl: never shown to an extension */
	int registered;
	void *cookie;			/* tk_set_cookie */
	unsigned long tx_packets, tx_bytes, rx_packets;
	struct tk_dev *next;		/* the kernel's list of live devices */
};

struct tk_pkt {
	/* in tk.idl */
	unsigned int len;		/* readonly */
	unsigned char *data;		/* readonly, count(len): len bytes after the struct */
	int status;			/* writable */
	/* kernel-only */
	struct tk_pkt *next;		/* the kernel's list of live packets */
};

/* ---- the API of tk.idl (an extension may call these) --------------------- */

/* A new device: name "tkN" (N counts allocations since tk_reset), mtu
 * TK_MTU_DEFAULT, secret TK_SECRET, priv -> priv_size zeroed bytes (NULL
 * for 0), no ops.  NULL if priv_size < 0 or > TK_PRIV_MAX, or ENOMEM. */
struct tk_dev *tk_dev_alloc(int priv_size);
/* Frees a device (NULL: nothing).  Freeing a registered one is a bug
 * (counted, and it is freed all the same). */
void tk_dev_free(struct tk_dev *dev);
/* The same, returning 0 (-EBADF for a device that is not live). */
int tk_dev_put(struct tk_dev *dev);

/* Makes dev visible to the kernel, which then calls dev->ops.
 * -EINVAL if dev->ops is NULL, -EBUSY if registered already, or the value
 * of tk_fail_register (once) if that is set. */
int tk_register(struct tk_dev *dev);
/* Reverses tk_register; unregistering an unregistered device is a bug. */
void tk_unregister(struct tk_dev *dev);

/* Fills buf[i] = 'a' + i % 26 for i < len; returns len (-EINVAL if len >
 * INT_MAX). */
int tk_read(struct tk_dev *dev, void *buf, unsigned int len);
/* Reads n words: tk_last_sum = their sum, tk_last_count = n; returns n
 * (-EINVAL if n < 0). */
int tk_write_words(struct tk_dev *dev, const int *words, int n);
/* Reverses words[0..n) in place; returns n (-EINVAL if n < 0). */
int tk_reverse_words(int *words, int n);
/* Copies name into dev->name: 0, or -EINVAL if it does not fit
 * (strlen >= TK_NAME_LEN; dev->name untouched). */
int tk_set_name(struct tk_dev *dev, const char *name);
/* tk_set_name for a tag of at most 7 characters (the IDL bounds it by its
 * array size). */
int tk_set_tag(struct tk_dev *dev, const char tag[8]);
/* *mtu = dev->mtu; 0 (a single int out: the IDL gives it no count). */
int tk_mtu_out(const struct tk_dev *dev, int *mtu);
/* 1 for a device, 0 for NULL. */
int tk_maybe(struct tk_dev *dev);
/* dev->mtu as the kernel sees it. */
int tk_get_mtu(const struct tk_dev *dev);
/* Stores cookie (never dereferenced) in dev; 0. */
int tk_set_cookie(struct tk_dev *dev, void *cookie);

/* *pkt = a new packet of len zeroed bytes, status 0: 0, or -EINVAL (len 0
 * or > TK_PKT_MAX, pkt NULL) or -ENOMEM, *pkt = NULL (if pkt). */
int tk_pkt_alloc(struct tk_pkt **pkt, unsigned int len);
/* Frees a packet (NULL: nothing). */
void tk_pkt_free(struct tk_pkt *pkt);
/* Sends and frees pkt (the kernel owns it from the call on, whatever the
 * result): 0 on a registered device (tx_packets++, tx_bytes += len),
 * -ENODEV otherwise. */
int tk_pkt_send(struct tk_dev *dev, struct tk_pkt *pkt);

/* The kernel's one lock; unlocked after tk_reset. */
struct tk_lock *tk_lock_get(void);
/* Taking a held lock or releasing a free one is a bug (no deadlock). */
void tk_lock(struct tk_lock *l);
void tk_unlock(struct tk_lock *l);

/* ---- kernel-internal: not in tk.idl ------------------------------------- */

/* The kernel calling a registered device's ops, as its clients would.
 * -ENODEV if dev is not live and registered, -EOPNOTSUPP if the entry is
 * NULL; otherwise what the entry returns. */
int tk_dev_open(struct tk_dev *dev);		/* 0: flags |= TK_F_UP */
int tk_dev_xmit(struct tk_dev *dev, const void *data, unsigned int len);
						/* >= 0: tx stats counted */
void tk_dev_reset(struct tk_dev *dev);		/* nothing if no entry */
/* Hands pkt to the driver, which owns it from then on; when the kernel
 * cannot (-ENODEV, -EOPNOTSUPP) it frees pkt itself.  rx_packets++ when
 * rx is called. */
int tk_dev_rx(struct tk_dev *dev, struct tk_pkt *pkt);
/* Without a set_mtu entry the kernel sets dev->mtu itself (0); with one,
 * the entry is expected to set it (through its writable shadow). */
int tk_dev_set_mtu(struct tk_dev *dev, int mtu);
/* -EOPNOTSUPP without a set_addr entry; else what it returns. */
int tk_dev_set_addr(struct tk_dev *dev, const char *label, const void *addr,
		    unsigned int len);

void *tk_get_cookie(const struct tk_dev *dev);
int tk_lock_held(const struct tk_lock *l);
int tk_dev_live(const struct tk_dev *dev);	/* allocated and not freed */
struct tk_dev *tk_first_dev(void);		/* the newest live device */
int tk_pkt_live(const struct tk_pkt *pkt);

/* Frees every device and packet still live, unlocks the lock, zeroes
 * every counter below (for test isolation). */
void tk_reset(void);

/* ---- counters ----------------------------------------------------------- */

/* Calls of each function of tk.idl (every call, valid or not). */
extern int tk_calls_dev_alloc, tk_calls_dev_free, tk_calls_dev_put;
extern int tk_calls_register, tk_calls_unregister;
extern int tk_calls_read, tk_calls_write_words, tk_calls_reverse_words;
extern int tk_calls_set_name, tk_calls_maybe, tk_calls_get_mtu;
extern int tk_calls_set_cookie;
extern int tk_calls_pkt_alloc, tk_calls_pkt_free, tk_calls_pkt_send;
extern int tk_calls_lock_get, tk_calls_lock, tk_calls_unlock;

extern int tk_live_devs, tk_live_pkts;	/* allocated, not yet freed */
extern int tk_bugs;		/* misuses the kernel caught (see the top) */
extern long long tk_last_sum;	/* tk_write_words */
extern int tk_last_count;	/* tk_write_words */
extern int tk_fail_register;	/* != 0: the next tk_register returns it */
extern unsigned int tk_new_dev_flags;	/* the flags tk_dev_alloc gives */

#ifdef __cplusplus
}
#endif

#endif
