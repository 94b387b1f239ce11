/*
 * test_core.c - memory, locks, the log line format, module parameters
 * and the clock.
 */
#include <pthread.h>
#include <regex.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "nk/core.h"
#include "nk_kernel.h"
#include "nooks_runtime.h"
#include "util.h"

static void test_kmalloc(void)
{
	unsigned char *p = kmalloc(64, GFP_KERNEL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, 0xab, 64);
	kfree(p);
	p = kzalloc(4096, GFP_KERNEL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	int zero = 1;
	for (int i = 0; i < 4096; i++)
		zero &= p[i] == 0;
	CU_ASSERT(zero);
	kfree(p);
	p = kmalloc(128, GFP_ATOMIC | __GFP_ZERO);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(p[0] == 0 && p[127] == 0);
	kfree(p);
	kfree(NULL);
}

static void *lock_and_leave(void *m)
{
	mutex_lock(m);
	return NULL;
}

static void test_lock_counts(void)
{
	struct nk_kernel_stats s0, s1;
	nk_kernel_stats(&s0);
	struct mutex *m = mutex_create();
	struct spinlock *l = spin_lock_create();
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	nk_kernel_stats(&s1);
	CU_ASSERT_EQUAL(s1.locks, s0.locks + 2);
	CU_ASSERT_EQUAL(mutex_trylock(m), 1);
	CU_ASSERT_EQUAL(mutex_trylock(m), 0);	/* held */
	mutex_unlock(m);
	mutex_lock(m);
	mutex_unlock(m);
	spin_lock(l);
	spin_unlock(l);
	/* handles live in the arena: an extension can hold them, not write */
	CU_ASSERT(nooks_in_arena(m));
	CU_ASSERT(nooks_in_arena(l));
	/* the kernel (recovery) releases a lock another thread holds */
	pthread_t t;
	CU_ASSERT_EQUAL(pthread_create(&t, NULL, lock_and_leave, m), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(mutex_trylock(m), 0);	/* held by a thread now gone */
	mutex_unlock(m);
	CU_ASSERT_EQUAL(mutex_trylock(m), 1);
	mutex_unlock(m);
	mutex_unlock(m);			/* not held: nothing happens */
	CU_ASSERT_EQUAL(mutex_trylock(m), 1);
	mutex_unlock(m);
	mutex_destroy(m);
	spin_lock_destroy(l);
	nk_kernel_stats(&s1);
	CU_ASSERT_EQUAL(s1.locks, s0.locks);
}

struct counter {
	struct mutex *m;
	struct spinlock *l;
	long n_mutex;		/* under m */
	long n_spin;		/* under l */
};

#define ROUNDS 200000

static void *count_up(void *arg)
{
	struct counter *c = arg;
	for (int i = 0; i < ROUNDS; i++) {
		mutex_lock(c->m);
		c->n_mutex++;
		mutex_unlock(c->m);
		spin_lock(c->l);
		c->n_spin++;
		spin_unlock(c->l);
	}
	return NULL;
}

static void test_lock_exclusion(void)
{
	struct counter c = { mutex_create(), spin_lock_create(), 0, 0 };
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, count_up, &c);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(c.n_mutex, 3L * ROUNDS);
	CU_ASSERT_EQUAL(c.n_spin, 3L * ROUNDS);
	mutex_destroy(c.m);
	spin_lock_destroy(c.l);
}

/* Logs through a pipe; returns what one read(2) got. */
static ssize_t log_one(int level, const char *msg, char *buf, size_t len)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	nk_log_to_fd(p[1]);
	printk_line(level, msg);
	nk_log_to_fd(2);
	close(p[1]);
	ssize_t n = read(p[0], buf, len - 1);
	char extra;
	if (read(p[0], &extra, 1) != 0)	/* one line, nothing after it */
		n = -2;
	close(p[0]);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static int matches(const char *re, const char *s)
{
	regex_t r;
	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return 0;
	int ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void test_printk_format(void)
{
	char buf[4096];
	ssize_t n = log_one(LOGLEVEL_ERR, "hello, world", buf, sizeof(buf));
	CU_ASSERT(n > 0);
	CU_ASSERT(matches("^<3>\\[[0-9]+\\.[0-9]{6}\\] hello, world\n$", buf));
	/* a message that ends with a newline gets no second one */
	n = log_one(LOGLEVEL_DEBUG, "two\n", buf, sizeof(buf));
	CU_ASSERT(matches("^<7>\\[[0-9]+\\.[0-9]{6}\\] two\n$", buf));
	/* a long line still arrives in one write */
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = log_one(LOGLEVEL_INFO, big, buf, sizeof(buf));
	CU_ASSERT(n > (ssize_t)sizeof(big));
	CU_ASSERT(matches("^<6>\\[[0-9]+\\.[0-9]{6}\\] x{1999}\n$", buf));
}

static void test_printk_formatted(void)
{
	int p[2];
	char buf[512];
	CU_ASSERT_FATAL(pipe(p) == 0);
	nk_log_to_fd(p[1]);
	pr_warn("port %d of %s", 80, "web");
	nk_log_to_fd(2);
	close(p[1]);
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	CU_ASSERT(matches("^<4>\\[[0-9]+\\.[0-9]{6}\\] port 80 of web\n$", buf));
}

static int param_rc_other_thread;

static void *param_other(void *arg)
{
	char buf[32];
	(void)arg;
	param_rc_other_thread = module_param_get("port", buf, sizeof(buf));
	return NULL;
}

static void test_module_params(void)
{
	char buf[16];
	char *kv[] = { "portx=1", "port=8080", "root=/srv/www", "empty=" };
	CU_ASSERT_EQUAL(module_param_get("port", buf, sizeof(buf)), -EPERM);
	nk_params_enter(kv, 4);
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(module_param_get("port", buf, sizeof(buf)), 4);
	CU_ASSERT_STRING_EQUAL(buf, "8080");
	CU_ASSERT_EQUAL(module_param_get("root", buf, sizeof(buf)), 8);
	CU_ASSERT_STRING_EQUAL(buf, "/srv/www");
	CU_ASSERT_EQUAL(module_param_get("empty", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(module_param_get("por", buf, sizeof(buf)), -ENOENT);
	CU_ASSERT_EQUAL(module_param_get("nothere", buf, sizeof(buf)), -ENOENT);
	/* room for "8080" needs 5 bytes with its NUL */
	CU_ASSERT_EQUAL(module_param_get("port", buf, 4), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(module_param_get("port", buf, 5), 4);
	/* another thread is not inside the module's init */
	pthread_t t;
	pthread_create(&t, NULL, param_other, NULL);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(param_rc_other_thread, -EPERM);
	nk_params_leave();
	CU_ASSERT_EQUAL(module_param_get("port", buf, sizeof(buf)), -EPERM);
}

static void test_jiffies(void)
{
	unsigned long j0 = jiffies_ms();
	usleep(30000);
	unsigned long j1 = jiffies_ms();
	CU_ASSERT(j1 - j0 >= 29);
	CU_ASSERT(j1 - j0 < 2000);
}


/* Locks taken by an isolated module's kernel calls (the thread runs
 * kernel code for a domain): what a buggy module does with them fails
 * the module or is refused, never wedges the kernel. */
static struct nooks_domain *lock_dom;
static void (*lock_kernel_part)(struct mutex *m);

static void lock_kcall(void *m)
{
	lock_kernel_part(m);
}

static void lock_ext(void *m)
{
	nooks_xpc_kernel(lock_dom, lock_kcall, m);
}

static void relock(struct mutex *m)
{
	mutex_lock(m);
	mutex_lock(m);		/* its own lock again: a deadlock for ever */
}

static void unlock_foreign(struct mutex *m)
{
	mutex_unlock(m);	/* held by another thread */
}

static void lock_orphan(struct mutex *m)
{
	mutex_lock(m);		/* its holder has ended */
}

static void test_lock_misuse_by_module(void) __attribute__((unused));
static void test_lock_misuse_by_module(void)
{
	struct nooks_domain_stats st;
	struct mutex *m = mutex_create();
	pthread_t t;
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	lock_dom = nooks_domain_create("locks", NOOKS_BACKEND_MPROTECT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lock_dom);

	lock_kernel_part = relock;
	CU_ASSERT_EQUAL(nooks_xpc_ext(lock_dom, lock_ext, m, 0), -1);
	nooks_domain_stats(lock_dom, &st);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.reason, "taken twice by the same thread"));
	mutex_unlock(m);	/* recovery's part: the kernel releases it */
	nooks_domain_reset_wait(lock_dom, NULL);

	/* a lock whose holder has ended: refused to unlock, fails a wait */
	CU_ASSERT_EQUAL(pthread_create(&t, NULL, lock_and_leave, m), 0);
	pthread_join(t, NULL);
	lock_kernel_part = unlock_foreign;
	CU_ASSERT_EQUAL(nooks_xpc_ext(lock_dom, lock_ext, m, 0), 0);
	CU_ASSERT_EQUAL(mutex_trylock(m), 0);	/* still held */
	lock_kernel_part = lock_orphan;
	CU_ASSERT_EQUAL(nooks_xpc_ext(lock_dom, lock_ext, m, 0), -1);
	nooks_domain_stats(lock_dom, &st);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.reason, "held by a thread that has ended"));
	nooks_domain_reset_wait(lock_dom, NULL);
	mutex_unlock(m);
	CU_ASSERT_EQUAL(mutex_trylock(m), 1);
	mutex_unlock(m);
	mutex_destroy(m);
	nooks_domain_destroy(lock_dom);
}

void register_core_tests(void)
{
	CU_pSuite s = CU_add_suite("core", NULL, NULL);
	CU_add_test(s, "kmalloc, kzalloc, __GFP_ZERO, kfree", test_kmalloc);
	CU_add_test(s, "mutex and spinlock counted while alive", test_lock_counts);
	CU_add_test(s, "mutex and spinlock exclude", test_lock_exclusion);
	CU_add_test(s, "printk_line: one write, <level>[s.us] msg", test_printk_format);
	CU_add_test(s, "pr_warn formats then logs", test_printk_formatted);
	CU_add_test(s, "module_param_get: values, -EPERM, -ENOENT, -ENAMETOOLONG", test_module_params);
	CU_add_test(s, "jiffies_ms advances in milliseconds", test_jiffies);
#if !defined(__SANITIZE_ADDRESS__)
	/* a crossing: AddressSanitizer cannot follow its stack switch and
	 * the jump out of it (as in tests/runtime) */
	CU_add_test(s, "a module's relock, foreign unlock, orphan lock", test_lock_misuse_by_module);
#endif
}
