/*
 * rt.c - a program tests/install/run.sh links with the installed libnooks
 * (shared through pkg-config, and the static archive): it makes an
 * isolating domain and prints its name and backend.
 */
#include <stdio.h>

#include <nooks_runtime.h>

int main(void)
{
	struct nooks_domain *d = nooks_domain_create("rt", NOOKS_BACKEND_MPROTECT);
	if (!d)
		return 1;
	printf("%s %s\n", nooks_domain_name(d), nooks_backend_name(nooks_domain_backend(d)));
	nooks_domain_destroy(d);
	return 0;
}
