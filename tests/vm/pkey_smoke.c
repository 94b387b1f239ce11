/*
 * pkey_smoke.c - protection keys work in the guest, per thread.
 *
 * The VM harness's smoke test (tests/vm/run.sh runs it inside qemu with
 * -cpu max).  One page is tagged with a fresh key; the main thread
 * write-disables the key in its own PKRU and its writes fault with
 * SEGV_PKUERR at that page, while a second thread, whose PKRU allows
 * writes, keeps writing the same page between the main thread's faults.
 * This is the property the pkey backend rests on: the protection is per
 * thread and costs no system call (pkey_set is WRPKRU).
 *
 * Prints one line per check and writes "PASSED FAILED" to argv[1] when
 * given.  Exit 0 when every check passed, 1 otherwise, 77 when the CPU or
 * the kernel has no protection keys (pkey_alloc fails): the host here.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ROUNDS 20		/* main-thread faults, each with the writer's writes between */

static int passed, failed;
static volatile int *page;
static int pkey;

/* the last SIGSEGV seen by the thread that armed fault_env */
static _Thread_local sigjmp_buf fault_env;
static _Thread_local volatile sig_atomic_t fault_armed;
static _Thread_local volatile int fault_code;
static _Thread_local void *volatile fault_addr;

static atomic_int writer_go, writer_stop;
static atomic_long writer_writes;
static atomic_int writer_pkru;

static void check(int ok, const char *what)
{
	printf("pkey_smoke: %s: %s\n", ok ? "ok" : "FAILED", what);
	if (ok)
		passed++;
	else
		failed++;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (!fault_armed) {
		/* a fault nobody expected (the writer thread's): report, die */
		static const char msg[] = "pkey_smoke: unexpected SIGSEGV\n";
		ssize_t r = write(2, msg, sizeof msg - 1);
		(void)r;
		_exit(1);
	}
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	siglongjmp(fault_env, 1);
}

/*
 * Write v at p; return 1 if the write faulted.  The handler runs with the
 * kernel's default PKRU (every key but 0 access-disabled) and siglongjmp
 * does not restore PKRU: the caller's key rights are set again here.
 */
static int write_faults(volatile int *p, int v, unsigned int rights)
{
	fault_code = 0;
	fault_addr = NULL;
	if (sigsetjmp(fault_env, 1) == 0) {
		fault_armed = 1;
		*p = v;
		fault_armed = 0;
		return 0;
	}
	fault_armed = 0;
	pkey_set(pkey, rights);
	return 1;
}

/* The second thread: allows writes in its own PKRU and writes the page. */
static void *writer(void *arg)
{
	(void)arg;
	if (pkey_set(pkey, 0) != 0)
		return NULL;
	atomic_store(&writer_pkru, pkey_get(pkey));
	atomic_store(&writer_go, 1);
	while (!atomic_load(&writer_stop)) {
		long n = atomic_load(&writer_writes) + 1;

		page[1] = (int)n;	/* a denied write here is an unexpected fault */
		atomic_store(&writer_writes, n);
		sched_yield();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t t;
	int faults_ok = 0;
	long seen = 0, progressed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	pkey = pkey_alloc(0, 0);
	if (pkey < 0) {
		printf("pkey_smoke: no protection keys here (pkey_alloc: %s)\n", strerror(errno));
		return 77;
	}
	check(pkey > 0, "pkey_alloc gives a key other than the default key 0");
	check(pkey_mprotect((void *)page, 4096, PROT_READ | PROT_WRITE, pkey) == 0,
	      "pkey_mprotect tags the page");

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);

	check(!write_faults(&page[0], 1, 0) && page[0] == 1, "the key allows writes at first");

	check(pkey_set(pkey, PKEY_DISABLE_WRITE) == 0 && pkey_get(pkey) == PKEY_DISABLE_WRITE,
	      "pkey_set write-disables the key for this thread");
	check(write_faults(&page[0], 2, PKEY_DISABLE_WRITE), "a write with the key write-disabled faults");
	check(fault_code == SEGV_PKUERR, "its si_code is SEGV_PKUERR");
	check(fault_addr == (void *)&page[0], "its si_addr is the written address");
	check(page[0] == 1, "the denied write left the page unchanged");
	check(pkey_get(pkey) == PKEY_DISABLE_WRITE, "the key is still write-disabled after the fault");

	/* the writer inherits this thread's PKRU and allows writes in its own */
	if (pthread_create(&t, NULL, writer, NULL) != 0) {
		check(0, "pthread_create");
		return 1;
	}
	while (!atomic_load(&writer_go))
		sched_yield();
	check(atomic_load(&writer_pkru) == 0, "the other thread's PKRU allows writes");
	for (int i = 0; i < ROUNDS; i++) {
		long before = atomic_load(&writer_writes);

		if (write_faults(&page[0], 100 + i, PKEY_DISABLE_WRITE) && fault_code == SEGV_PKUERR)
			faults_ok++;
		/* the writer writes while this thread's key stays write-disabled */
		for (int spin = 0; spin < 1000000 && atomic_load(&writer_writes) == before; spin++)
			sched_yield();
		if (atomic_load(&writer_writes) > before)
			progressed++;
	}
	seen = page[1];
	atomic_store(&writer_stop, 1);
	pthread_join(t, NULL);
	check(faults_ok == ROUNDS, "every write of this thread faulted with SEGV_PKUERR meanwhile");
	check(progressed == ROUNDS, "the other thread wrote the page between each of those faults");
	check(seen > 0 && page[1] == (int)atomic_load(&writer_writes),
	      "the other thread's writes landed in the page");
	check(page[0] == 1, "none of this thread's denied writes landed");
	check(pkey_get(pkey) == PKEY_DISABLE_WRITE, "this thread's key stayed write-disabled throughout");

	check(pkey_set(pkey, 0) == 0 && !write_faults(&page[0], 3, 0) && page[0] == 3,
	      "writes work again once the key allows them");
	check(pkey_free(pkey) == 0, "pkey_free");

	printf("pkey_smoke: %d passed, %d failed\n", passed, failed);
	if (argc > 1) {
		FILE *f = fopen(argv[1], "w");

		if (f == NULL || fprintf(f, "%d %d\n", passed, failed) < 0 || fclose(f) != 0) {
			perror(argv[1]);
			return 1;
		}
	}
	return failed == 0 ? 0 : 1;
}
