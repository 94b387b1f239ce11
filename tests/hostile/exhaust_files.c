/*
 * exhaust_files - hole 7: files until the kernel has no descriptor left.
 *
 * init opens /dev/null with filp_open until it fails and keeps every file
 * (cleanup puts them).  nkernel's control socket then cannot accept.
 *
 * Native: hang (nkctl gets no answer any more).
 * Isolated: a per-module quota refuses files long before the limit;
 * nkernel answers and the module can be unloaded.
 */
#include <stdlib.h>

#include "nk/core.h"
#include "nk/fs.h"
#include "nk/module.h"

static struct file **files;
static size_t n, cap;

int init_module(void)
{
	int r = 0;
	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 1024;
			struct file **p = realloc(files, ncap * sizeof(*p));
			if (!p)
				break;
			files = p;
			cap = ncap;
		}
		if ((r = filp_open("/dev/null", &files[n])))
			break;
		n++;
	}
	pr_info("exhaust_files: %zu files, then error %d", n, r);
	return 0;
}

void cleanup_module(void)
{
	while (n > 0)
		fput(files[--n]);
	free(files);
}
