/*
 * ext_tk.c - an ordinary extension of the test kernel API (tests/codegen/
 * tk.h), linked against libtk.so.1 like any driver against its kernel.
 * It knows nothing of Nooks: the same object is loaded natively and
 * isolated by the loader tests.  ext_double_release carries the bug Nooks
 * found in kHTTPd (a second release of the same object); ext_quit calls
 * exit().
 */
#include <stdlib.h>
#include <string.h>

#include "tk.h"

int ext_init(void);
int ext_dev_mtu(void);
int ext_read(void);
int ext_double_release(void);
int ext_quit(void);
int ext_opens(void);

static struct tk_dev *dev;
static int opens;
static char buf[32];

static int my_open(struct tk_dev *d)
{
	(void)d;
	opens++;
	return 0;
}

static const struct tk_ops ops = { .open = my_open };

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
