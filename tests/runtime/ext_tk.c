/*
 * ext_tk.c - an ordinary extension of the test kernel API (tests/codegen/
 * tk.h), linked against libtk.so.1 like any driver against its kernel.
 * It knows nothing of Nooks: the same object is loaded natively and
 * isolated by the loader tests.  ext_double_release carries the bug Nooks
 * found in kHTTPd (a second release of the same object); ext_quit calls
 * exit().  Its set_mtu and set_addr entries are [[replay]] entries of
 * tk.idl: the replay tests read back what they were set to (ext_mtu,
 * ext_addr, ext_label); set_mtu(1313) on a device flagged
 * TK_F_REPLAY_BOMB faults.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tk.h"

int ext_init(void);
int ext_dev_mtu(void);
int ext_read(void);
int ext_double_release(void);
int ext_quit(void);
int ext_opens(void);
int ext_seal(void);

static struct tk_dev *dev;
static int opens;
static char buf[32];

static int my_open(struct tk_dev *d)
{
	(void)d;
	opens++;
	return 0;
}

static int cur_mtu;
static char cur_label[TK_NAME_LEN];
static unsigned char cur_addr[8];

static int my_set_mtu(struct tk_dev *d, int mtu)
{
	if (mtu < 68)
		return -EINVAL;
	if (mtu == 1313 && (d->flags & TK_F_REPLAY_BOMB)) {
		volatile int *p = NULL;
		return *p;
	}
	cur_mtu = mtu;
	d->mtu = mtu;
	return 0;
}

static int my_set_addr(struct tk_dev *d, const char *label, const void *addr,
		       unsigned int len)
{
	(void)d;
	if (len > sizeof(cur_addr) || strlen(label) >= sizeof(cur_label))
		return -EINVAL;
	strcpy(cur_label, label);
	memcpy(cur_addr, addr, len);
	return 0;
}

static const struct tk_ops ops = { .open = my_open, .set_mtu = my_set_mtu,
				   .set_addr = my_set_addr };

int ext_init(void)
{
	dev = tk_dev_alloc(0);
	if (!dev)
		return -1;
	dev->ops = &ops;
	return tk_register(dev);
}

int ext_dev_mtu(void)
{
	return tk_get_mtu(dev);
}

int ext_read(void)
{
	return tk_read(dev, buf, sizeof(buf)) == (int)sizeof(buf) && buf[0] == 'a' ? 0 : -1;
}

int ext_double_release(void)
{
	struct tk_dev *extra = tk_dev_alloc(0);
	tk_dev_put(extra);
	return tk_dev_put(extra);	/* the bug */
}

int ext_quit(void)
{
	exit(3);
}

int ext_opens(void)
{
	return opens;
}

int ext_crash(void);

int ext_crash(void)
{
	volatile int *p = NULL;
	return *p;
}

int ext_read_len(unsigned int len);
int ext_nop(void);

/* reads len bytes into a static buffer through the kernel API */
int ext_read_len(unsigned int len)
{
	static char big[65536];
	return tk_read(dev, big, len);
}

int ext_nop(void)
{
	return 0;
}

long ext_mtu(long unused);
long ext_label(long i);
long ext_addr(long i);
long ext_add_dev(long unused);

long ext_mtu(long unused)
{
	(void)unused;
	return cur_mtu;
}

long ext_label(long i)
{
	return cur_label[i];
}

long ext_addr(long i)
{
	return cur_addr[i];
}

/* Registers one more device (the second, third, ... of this copy). */
long ext_add_dev(long unused)
{
	(void)unused;
	struct tk_dev *more = tk_dev_alloc(0);
	if (!more)
		return -1;
	more->ops = &ops;
	return tk_register(more);
}

/* A bug of another kind: it makes the page holding its own counters
 * read-only (a reload must still give the next copy fresh, writable
 * data). */
int ext_seal(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	return mprotect((void *)((uintptr_t)&opens & ~(page - 1)), page, PROT_READ);
}
