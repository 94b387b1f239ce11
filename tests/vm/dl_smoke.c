/*
 * dl_smoke.c LIB - what the runtime's loader needs from the guest's files.
 *
 * The libraries a program loads at run time are invisible to ldd, so the
 * initramfs has to get them right by other means; this checks the three
 * the runtime's tests fell over in the guest before the harness knew them:
 *   - LIB (the caller passes it with initramfs.sh -l) loads with dlopen
 *     and its function runs;
 *   - LIB loads again with dlmopen(LM_ID_NEWLM), as isolated extensions
 *     are: a new namespace looks the dynamic loader up by its soname,
 *     through ld.so.cache, at the path the cache names;
 *   - pthread_exit works: glibc dlopens libgcc_s.so.1 to unwind.
 * LIB must export CU_initialize_registry and CU_cleanup_registry
 * (libcunit). Exit 0 when all three work, 1 otherwise.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static int failed;

static void check(int ok, const char *what, const char *why)
{
	printf("dl_smoke: %s: %s%s%s\n", ok ? "ok" : "FAILED", what,
	       ok || why == NULL ? "" : ": ", ok || why == NULL ? "" : why);
	failed += !ok;
}

/* CU_initialize_registry() is 0 (CUE_SUCCESS) when the library works */
static void call(void *h, const char *what)
{
	int (*init)(void) = (int (*)(void))dlsym(h, "CU_initialize_registry");
	void (*fini)(void) = (void (*)(void))dlsym(h, "CU_cleanup_registry");

	check(init != NULL && fini != NULL && init() == 0, what, dlerror());
	if (init != NULL && fini != NULL)
		fini();
}

static void *leave(void *arg)
{
	pthread_exit(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	static int token;
	void *h, *ret = NULL;
	pthread_t t;

	if (argc != 2) {
		fprintf(stderr, "usage: dl_smoke LIB\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	check(h != NULL, "dlopen of the library", dlerror());
	if (h != NULL)
		call(h, "its function runs");
	h = dlmopen(LM_ID_NEWLM, argv[1], RTLD_NOW | RTLD_LOCAL);
	check(h != NULL, "dlmopen into a new namespace (libc and the loader again)", dlerror());
	if (h != NULL)
		call(h, "its function runs in the new namespace");
	check(pthread_create(&t, NULL, leave, &token) == 0 && pthread_join(t, &ret) == 0 && ret == &token,
	      "pthread_exit (libgcc_s)", NULL);
	return failed == 0 ? 0 : 1;
}
