/*
 * tk.c - the test kernel of tk.h: plain C, malloc-based, with counters.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk.h"

/* tk.idl gives the values it declares; they must be the header's. */
_Static_assert(EIO == 5, "tk.idl says EIO = 5");
_Static_assert(TK_NAME_LEN == 16, "tk.idl says TK_NAME_LEN = 16");

struct tk_lock {
	int held;
};

int tk_calls_dev_alloc, tk_calls_dev_free, tk_calls_dev_put;
int tk_calls_register, tk_calls_unregister;
int tk_calls_read, tk_calls_write_words, tk_calls_reverse_words;
int tk_calls_set_name, tk_calls_maybe, tk_calls_get_mtu;
int tk_calls_set_cookie;
int tk_calls_pkt_alloc, tk_calls_pkt_free, tk_calls_pkt_send;
int tk_calls_lock_get, tk_calls_lock, tk_calls_unlock;
int tk_live_devs, tk_live_pkts;
int tk_bugs;
long long tk_last_sum;
int tk_last_count;
int tk_fail_register;
unsigned int tk_new_dev_flags;

static struct tk_dev *devs;
static struct tk_pkt *pkts;
static struct tk_lock the_lock;
static int dev_seq;

/* Where priv and packet data start: after the struct, suitably aligned. */
#define TK_ALIGN(n) (((n) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

struct tk_dev *tk_first_dev(void)
{
	return devs;
}

int tk_dev_live(const struct tk_dev *dev)
{
	for (const struct tk_dev *d = devs; d; d = d->next)
		if (d == dev)
			return 1;
	return 0;
}

int tk_pkt_live(const struct tk_pkt *pkt)
{
	for (const struct tk_pkt *p = pkts; p; p = p->next)
		if (p == pkt)
			return 1;
	return 0;
}

/* A device an extension's call may use; anything else is a bug that got
 * past the wrappers. */
static int dev_ok(const struct tk_dev *dev)
{
	if (tk_dev_live(dev))
		return 1;
	tk_bugs++;
	return 0;
}

static void unlink_dev(struct tk_dev *dev)
{
	for (struct tk_dev **pp = &devs; *pp; pp = &(*pp)->next)
		if (*pp == dev) {
			*pp = dev->next;
			tk_live_devs--;
			return;
		}
}

static void unlink_pkt(struct tk_pkt *pkt)
{
	for (struct tk_pkt **pp = &pkts; *pp; pp = &(*pp)->next)
		if (*pp == pkt) {
			*pp = pkt->next;
			tk_live_pkts--;
			return;
		}
}

/* ---- devices ------------------------------------------------------------ */

struct tk_dev *tk_dev_alloc(int priv_size)
{
	tk_calls_dev_alloc++;
	if (priv_size < 0 || priv_size > TK_PRIV_MAX)
		return NULL;
	size_t off = TK_ALIGN(sizeof(struct tk_dev));
	struct tk_dev *dev = calloc(1, off + (size_t)priv_size);
	if (!dev)
		return NULL;
	snprintf(dev->name, sizeof dev->name, "tk%d", dev_seq++ % 1000000);
	dev->mtu = TK_MTU_DEFAULT;
	dev->flags = tk_new_dev_flags;
	dev->secret = TK_SECRET;
	dev->priv = priv_size ? (char *)dev + off : NULL;
	dev->next = devs;
	devs = dev;
	tk_live_devs++;
	return dev;
}

static int dev_release(struct tk_dev *dev)
{
	if (!dev_ok(dev))
		return -EBADF;
	if (dev->registered)
		tk_bugs++;		/* freed while the kernel uses it */
	unlink_dev(dev);
	free(dev);
	return 0;
}

void tk_dev_free(struct tk_dev *dev)
{
	tk_calls_dev_free++;
	if (dev)
		dev_release(dev);
}

int tk_dev_put(struct tk_dev *dev)
{
	tk_calls_dev_put++;
	return dev_release(dev);
}

int tk_register(struct tk_dev *dev)
{
	tk_calls_register++;
	if (!dev_ok(dev))
		return -EBADF;
	if (!dev->ops)
		return -EINVAL;
	if (dev->registered)
		return -EBUSY;
	if (tk_fail_register) {
		int err = tk_fail_register;
		tk_fail_register = 0;
		return err;
	}
	dev->registered = 1;
	return 0;
}

void tk_unregister(struct tk_dev *dev)
{
	tk_calls_unregister++;
	if (!dev_ok(dev))
		return;
	if (!dev->registered)
		tk_bugs++;
	dev->registered = 0;
}

/* ---- buffers and pointers ----------------------------------------------- */

int tk_read(struct tk_dev *dev, void *buf, unsigned int len)
{
	tk_calls_read++;
	if (!dev_ok(dev))
		return -EBADF;
	if (len > INT_MAX)
		return -EINVAL;
	if (!buf && len) {
		tk_bugs++;
		return -EBADF;
	}
	for (unsigned int i = 0; i < len; i++)
		((unsigned char *)buf)[i] = (unsigned char)('a' + i % 26);
	return (int)len;
}

int tk_write_words(struct tk_dev *dev, const int *words, int n)
{
	tk_calls_write_words++;
	if (!dev_ok(dev))
		return -EBADF;
	if (n < 0)
		return -EINVAL;
	if (!words && n) {
		tk_bugs++;
		return -EBADF;
	}
	long long sum = 0;
	for (int i = 0; i < n; i++)
		sum += words[i];
	tk_last_sum = sum;
	tk_last_count = n;
	return n;
}

int tk_reverse_words(int *words, int n)
{
	tk_calls_reverse_words++;
	if (n < 0)
		return -EINVAL;
	if (!words && n) {
		tk_bugs++;
		return -EBADF;
	}
	for (int i = 0, j = n - 1; i < j; i++, j--) {
		int w = words[i];
		words[i] = words[j];
		words[j] = w;
	}
	return n;
}

int tk_set_name(struct tk_dev *dev, const char *name)
{
	tk_calls_set_name++;
	if (!dev_ok(dev))
		return -EBADF;
	if (!name) {
		tk_bugs++;
		return -EBADF;
	}
	size_t len = strnlen(name, TK_NAME_LEN);
	if (len == TK_NAME_LEN)
		return -EINVAL;
	memcpy(dev->name, name, len + 1);
	return 0;
}

int tk_set_tag(struct tk_dev *dev, const char tag[8])
{
	if (!tag || strnlen(tag, 8) == 8) {
		tk_bugs++;	/* the wrapper lets no longer tag through */
		return -EBADF;
	}
	return tk_set_name(dev, tag);
}

int tk_mtu_out(const struct tk_dev *dev, int *mtu)
{
	if (!dev_ok(dev))
		return -EBADF;
	*mtu = dev->mtu;
	return 0;
}

int tk_maybe(struct tk_dev *dev)
{
	tk_calls_maybe++;
	if (!dev)
		return 0;
	return dev_ok(dev) ? 1 : -EBADF;
}

int tk_get_mtu(const struct tk_dev *dev)
{
	tk_calls_get_mtu++;
	return dev_ok(dev) ? dev->mtu : -EBADF;
}

int tk_set_cookie(struct tk_dev *dev, void *cookie)
{
	tk_calls_set_cookie++;
	if (!dev_ok(dev))
		return -EBADF;
	dev->cookie = cookie;
	return 0;
}

void *tk_get_cookie(const struct tk_dev *dev)
{
	return tk_dev_live(dev) ? dev->cookie : NULL;
}

/* ---- packets ------------------------------------------------------------ */

int tk_pkt_alloc(struct tk_pkt **pkt, unsigned int len)
{
	tk_calls_pkt_alloc++;
	if (!pkt)
		return -EINVAL;
	*pkt = NULL;
	if (len == 0 || len > TK_PKT_MAX)
		return -EINVAL;
	size_t off = TK_ALIGN(sizeof(struct tk_pkt));
	struct tk_pkt *p = calloc(1, off + len);
	if (!p)
		return -ENOMEM;
	p->len = len;
	p->data = (unsigned char *)p + off;
	p->next = pkts;
	pkts = p;
	tk_live_pkts++;
	*pkt = p;
	return 0;
}

void tk_pkt_free(struct tk_pkt *pkt)
{
	tk_calls_pkt_free++;
	if (!pkt)
		return;
	if (!tk_pkt_live(pkt)) {
		tk_bugs++;
		return;
	}
	unlink_pkt(pkt);
	free(pkt);
}

int tk_pkt_send(struct tk_dev *dev, struct tk_pkt *pkt)
{
	int err = 0;

	tk_calls_pkt_send++;
	if (!tk_pkt_live(pkt)) {
		tk_bugs++;
		return -EBADF;
	}
	if (!dev_ok(dev)) {
		err = -EBADF;
	} else if (!dev->registered) {
		err = -ENODEV;
	} else {
		dev->tx_packets++;
		dev->tx_bytes += pkt->len;
	}
	unlink_pkt(pkt);
	free(pkt);
	return err;
}

/* ---- locks -------------------------------------------------------------- */

struct tk_lock *tk_lock_get(void)
{
	tk_calls_lock_get++;
	return &the_lock;
}

void tk_lock(struct tk_lock *l)
{
	tk_calls_lock++;
	if (l != &the_lock || l->held) {
		tk_bugs++;
		return;
	}
	l->held = 1;
}

void tk_unlock(struct tk_lock *l)
{
	tk_calls_unlock++;
	if (l != &the_lock || !l->held) {
		tk_bugs++;
		return;
	}
	l->held = 0;
}

int tk_lock_held(const struct tk_lock *l)
{
	return l == &the_lock && l->held;
}

/* ---- the kernel calling drivers ----------------------------------------- */

static const struct tk_ops *ops_of(const struct tk_dev *dev)
{
	return tk_dev_live(dev) && dev->registered ? dev->ops : NULL;
}

int tk_dev_open(struct tk_dev *dev)
{
	const struct tk_ops *ops = ops_of(dev);
	if (!ops)
		return -ENODEV;
	if (!ops->open)
		return -EOPNOTSUPP;
	int r = ops->open(dev);
	if (r == 0)
		dev->flags |= TK_F_UP;
	return r;
}

int tk_dev_xmit(struct tk_dev *dev, const void *data, unsigned int len)
{
	const struct tk_ops *ops = ops_of(dev);
	if (!ops)
		return -ENODEV;
	if (!ops->xmit)
		return -EOPNOTSUPP;
	int r = ops->xmit(dev, data, len);
	if (r >= 0) {
		dev->tx_packets++;
		dev->tx_bytes += len;
	}
	return r;
}

void tk_dev_reset(struct tk_dev *dev)
{
	const struct tk_ops *ops = ops_of(dev);
	if (ops && ops->reset)
		ops->reset(dev);
}

int tk_dev_rx(struct tk_dev *dev, struct tk_pkt *pkt)
{
	const struct tk_ops *ops = ops_of(dev);
	int err = !ops ? -ENODEV : !ops->rx ? -EOPNOTSUPP : 0;
	if (err) {
		tk_pkt_free(pkt);
		return err;
	}
	dev->rx_packets++;
	return ops->rx(dev, pkt);
}

int tk_dev_set_mtu(struct tk_dev *dev, int mtu)
{
	const struct tk_ops *ops = ops_of(dev);
	if (!ops)
		return -ENODEV;
	if (!ops->set_mtu) {
		dev->mtu = mtu;
		return 0;
	}
	return ops->set_mtu(dev, mtu);
}

int tk_dev_set_addr(struct tk_dev *dev, const char *label, const void *addr,
		    unsigned int len)
{
	const struct tk_ops *ops = ops_of(dev);
	if (!ops)
		return -ENODEV;
	if (!ops->set_addr)
		return -EOPNOTSUPP;
	return ops->set_addr(dev, label, addr, len);
}

/* ---- tests -------------------------------------------------------------- */

void tk_reset(void)
{
	while (devs) {
		struct tk_dev *d = devs;
		devs = d->next;
		free(d);
	}
	while (pkts) {
		struct tk_pkt *p = pkts;
		pkts = p->next;
		free(p);
	}
	the_lock.held = 0;
	dev_seq = 0;
	tk_calls_dev_alloc = tk_calls_dev_free = tk_calls_dev_put = 0;
	tk_calls_register = tk_calls_unregister = 0;
	tk_calls_read = tk_calls_write_words = tk_calls_reverse_words = 0;
	tk_calls_set_name = tk_calls_maybe = tk_calls_get_mtu = 0;
	tk_calls_set_cookie = 0;
	tk_calls_pkt_alloc = tk_calls_pkt_free = tk_calls_pkt_send = 0;
	tk_calls_lock_get = tk_calls_lock = tk_calls_unlock = 0;
	tk_live_devs = tk_live_pkts = 0;
	tk_bugs = 0;
	tk_last_sum = 0;
	tk_last_count = 0;
	tk_fail_register = 0;
	tk_new_dev_flags = 0;
}
