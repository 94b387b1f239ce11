/*
 * exhaust_sockets - hole 7: sockets until the kernel has no descriptor
 * left.
 *
 * init creates sockets until sock_create_kern fails and keeps them all
 * (cleanup releases them).  nkernel's control socket then cannot accept:
 * its loop ends on EMFILE.
 *
 * Native: hang (nkctl gets no answer any more; the witness cannot accept
 * either).
 * Isolated: a per-module quota refuses sockets long before the limit;
 * nkernel answers and the module can be unloaded.
 */
#include <stdlib.h>

#include "nk/core.h"
#include "nk/module.h"
#include "nk/net.h"

static struct socket **socks;
static size_t n, cap;

int init_module(void)
{
	int r = 0;
	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 1024;
			struct socket **p = realloc(socks, ncap * sizeof(*p));
			if (!p)
				break;
			socks = p;
			cap = ncap;
		}
		if ((r = sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &socks[n])))
			break;
		n++;
	}
	pr_info("exhaust_sockets: %zu sockets, then error %d", n, r);
	return 0;
}

void cleanup_module(void)
{
	while (n > 0)
		sock_release(socks[--n]);
	free(socks);
}
