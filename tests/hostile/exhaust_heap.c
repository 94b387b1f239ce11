/*
 * exhaust_heap - hole 7: malloc until it fails.
 *
 * init allocates blocks of 1 TiB until malloc fails, then of half that
 * size, and so on down to 1 MiB, never touching them (they cost address
 * space, not memory), and keeps them all (cleanup frees them).  Natively they come
 * from nkernel's own heap: once the process's address space is gone the
 * kernel cannot map anything any more (load a module, start a thread).
 *
 * Native: corrupt (another module cannot be loaded).
 * Isolated: the module's heap (64 MiB) runs out first; nkernel, the
 * witness and new modules are untouched.
 */
#include <stdlib.h>

#include "nk/core.h"
#include "nk/module.h"

#define CAP 100000

static void **blocks;
static size_t n;

int init_module(void)
{
	unsigned long long mib = 0;

	blocks = calloc(CAP, sizeof(*blocks));
	if (!blocks)
		return -ENOMEM;
	for (int shift = 40; shift >= 20; shift--)	/* 1 TiB ... 1 MiB */
		for (; n < CAP && (blocks[n] = malloc((size_t)1 << shift)); n++)
			mib += 1ULL << (shift - 20);
	pr_info("exhaust_heap: %zu blocks, %llu MiB allocated before malloc failed", n, mib);
	return 0;
}

void cleanup_module(void)
{
	while (n > 0)
		free(blocks[--n]);
	free(blocks);
}
