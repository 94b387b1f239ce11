/*
 * extlib.c - linked into every wrapper library (the isolated namespace's
 * stand-in for the kernel API library).
 *
 * An extension that calls exit(), _exit() or _Exit() binds, in its own
 * namespace, to these definitions before libc's (the wrapper library
 * comes first among its dependencies), so the call ends the crossing as a
 * fault instead of ending the kernel.  The hook is the runtime's
 * nooks_ext_exited(), set by the loader; it does not return.  Without a
 * hook (the library used outside the loader) the process exits as usual.
 */
#include <unistd.h>

#include <sys/syscall.h>

void (*nooks_ext_exit_hook)(int status);

void exit(int status);
void _exit(int status);
void _Exit(int status);

void exit(int status)
{
	if (nooks_ext_exit_hook)
		nooks_ext_exit_hook(status);
	syscall(SYS_exit_group, status);
	for (;;)
		;
}

void _exit(int status)
{
	exit(status);
}

void _Exit(int status)
{
	exit(status);
}
