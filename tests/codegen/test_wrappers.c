/*
 * test_wrappers.c - the wrappers nooksc generates from tk.idl, run against
 * the test kernel (tk.c) and the real runtime (libnooks), on the none
 * backend and on mprotect (ext.h says how the test plays the extension).
 *
 * As the extension the test calls tk_* through crossings into its domain
 * (X_*); as the kernel it calls tk.c's kernel-internal functions, which
 * call through the ops table the extension registered, i.e. through the
 * generated extension wrappers into ext_* below.  Each test checks what
 * reached the kernel (tk.c's counters and objects), what the extension
 * saw, and what the runtime holds.
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "ext.h"

static struct nooks_domain *ext;

/* ---- the "extension": an ops table and what it saw ---------------------- */

static int opened, xmits, resets, mtus, rxs;
static struct tk_dev *seen_dev;
static unsigned char seen_data[64];
static unsigned int seen_len;
static int open_result;
static int write_mtu_in_open;
static int fault_in_open;		/* open faults (isolating backends) */
static int slow_xmit_ms;		/* xmit takes this long */

static int ext_open(struct tk_dev *dev)
{
	opened++;
	seen_dev = dev;
	if (fault_in_open) {
		fault_in_open = 0;
		raise(SIGSEGV);
	}
	if (write_mtu_in_open)
		dev->mtu = write_mtu_in_open;	/* writable: flows back */
	return open_result;
}

static int ext_xmit(struct tk_dev *dev, const void *data, unsigned int len)
{
	if (slow_xmit_ms) {
		struct timespec ts = { 0, slow_xmit_ms * 1000000L };
		nanosleep(&ts, NULL);
	}
	xmits++;
	seen_dev = dev;
	seen_len = len < sizeof(seen_data) ? len : sizeof(seen_data);
	memcpy(seen_data, data, seen_len);
	return (int)len;
}

static int ext_rx(struct tk_dev *dev, struct tk_pkt *pkt)
{
	seen_dev = dev;
	rxs++;
	/* the extension owns pkt now: it may free it through the kernel */
	nooks_kw_tk_pkt_free(pkt);
	return 0;
}

static int ext_set_mtu(struct tk_dev *dev, int mtu)
{
	seen_dev = dev;
	mtus++;
	return mtu > 9000 ? -EINVAL : 0;
}

/* reset left NULL on purpose: the kernel must see NULL */
static const struct tk_ops ext_ops = {
	.open = ext_open,
	.xmit = ext_xmit,
	.rx = ext_rx,
	.set_mtu = ext_set_mtu,
};

static void setup(void)
{
	tk_reset();
	ext = ext_domain("ext");
	ext_self = ext;
	opened = xmits = resets = mtus = rxs = 0;
	open_result = 0;
	write_mtu_in_open = 0;
	fault_in_open = 0;
	slow_xmit_ms = 0;
	seen_dev = NULL;
}

/* The extension goes: everything it held is released. */
static void teardown(void)
{
	ext_self = NULL;
	if (ext)
		nooks_domain_destroy(ext);
	ext = NULL;
	tk_reset();
}

/* The extension allocates a device; returns what it holds (a shadow). */
static struct tk_dev *ext_new_dev(void)
{
	struct tk_dev *dev = X_dev_alloc(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	return dev;
}

/* ---- objects ------------------------------------------------------------ */

static void test_alloc_gives_shadow(void)
{
	setup();
	struct tk_dev *dev = ext_new_dev();
	struct tk_dev *kdev = tk_first_dev();

	CU_ASSERT_PTR_NOT_NULL_FATAL(kdev);
	CU_ASSERT_PTR_NOT_EQUAL(dev, kdev);		/* a shadow, not the object */
	CU_ASSERT_EQUAL(nk_tracker_owned(ext), 1);
	CU_ASSERT_STRING_EQUAL(dev->name, kdev->name);	/* readonly: copied in */
	CU_ASSERT_EQUAL(dev->mtu, TK_MTU_DEFAULT);
	CU_ASSERT_EQUAL(dev->secret, 0);		/* hidden: never copied in */
	CU_ASSERT_EQUAL(kdev->secret, TK_SECRET);
	CU_ASSERT_EQUAL(tk_live_devs, 1);
	teardown();
	/* the dead domain's device was released */
	CU_ASSERT_EQUAL(tk_live_devs, 0);
	CU_ASSERT_EQUAL(tk_bugs, 0);
}

static void test_bad_pointer(void)
{
	setup();
	struct tk_dev forged;
	memset(&forged, 0, sizeof(forged));
	CU_ASSERT_EQUAL(nooks_domain_allow(ext, &forged, sizeof(forged), 1), 0);
	int calls = tk_calls_get_mtu;
	struct nooks_domain_stats st;

	CU_ASSERT_EQUAL(X_get_mtu(&forged), -EINVAL);
	CU_ASSERT_EQUAL(X_get_mtu((struct tk_dev *)0x1000), -EINVAL);
	CU_ASSERT_EQUAL(tk_calls_get_mtu, calls);	/* never reached the kernel */
	nooks_domain_stats(ext, &st);
	CU_ASSERT_EQUAL(st.refused, 2);			/* and reported */
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

static void test_wrong_type(void)
{
	setup();
	struct tk_pkt *pkt = NULL;
	CU_ASSERT_EQUAL(nooks_domain_allow(ext, &pkt, sizeof(pkt), 1), 0);
	CU_ASSERT_EQUAL(X_pkt_alloc(&pkt, 8), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pkt);
	int calls = tk_calls_get_mtu;
	CU_ASSERT_EQUAL(X_get_mtu((struct tk_dev *)pkt), -EINVAL);
	CU_ASSERT_EQUAL(tk_calls_get_mtu, calls);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

static void test_other_domains_object(void)
{
	setup();
	struct tk_dev *dev = ext_new_dev();
	struct nooks_domain *other = ext_domain("other");
	ext_self = other;
	CU_ASSERT_EQUAL(X_get_mtu(dev), -EINVAL);
	CU_ASSERT_EQUAL(X_get_mtu(tk_first_dev()), -EINVAL);
	ext_self = ext;
	CU_ASSERT_EQUAL(X_get_mtu(dev), TK_MTU_DEFAULT);
	nooks_domain_destroy(other);
	teardown();
}

static void test_double_release(void)
{
	setup();
	struct tk_dev *dev = ext_new_dev();
	struct nooks_domain_stats st;

	CU_ASSERT_EQUAL(X_dev_put(dev), 0);
	nooks_domain_stats(ext, &st);
	CU_ASSERT_EQUAL(st.refused, 0);
	CU_ASSERT_EQUAL(X_dev_put(dev), -EINVAL);	/* caught */
	nooks_domain_stats(ext, &st);
	CU_ASSERT_EQUAL(st.refused, 1);			/* and reported */
	CU_ASSERT_EQUAL(tk_calls_dev_put, 1);		/* reached once */
	CU_ASSERT_EQUAL(tk_live_devs, 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(ext), 0);
	/* void release: the second call returns without reaching tk.c */
	dev = ext_new_dev();
	X_dev_free(dev);
	X_dev_free(dev);
	CU_ASSERT_EQUAL(tk_calls_dev_free, 1);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

static void test_null_where_not_nullable(void)
{
	setup();
	struct tk_dev *dev = ext_new_dev();
	int reads = tk_calls_read;

	CU_ASSERT_EQUAL(X_read(dev, NULL, 4), -EINVAL);
	CU_ASSERT_EQUAL(X_read(NULL, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(tk_calls_read, reads);
	CU_ASSERT_EQUAL(X_maybe(NULL), 0);		/* nullable: passes */
	CU_ASSERT_EQUAL(X_maybe(dev), 1);
	CU_ASSERT_EQUAL(tk_calls_maybe, 2);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

/* ---- sizes -------------------------------------------------------------- */

static void test_count_and_bytes(void)
{
	setup();
	struct tk_dev *dev = ext_new_dev();
	int words[4] = { 1, 2, 3, 4 };
	unsigned char buf[8];

	CU_ASSERT_EQUAL(nooks_domain_allow(ext, words, sizeof(words), 0), 0);
	CU_ASSERT_EQUAL(nooks_domain_allow(ext, buf, sizeof(buf), 1), 0);
	CU_ASSERT_EQUAL(X_write_words(dev, words, 4), 4);
	CU_ASSERT_EQUAL(tk_last_sum, 10);
	int calls = tk_calls_write_words;
	CU_ASSERT_EQUAL(X_write_words(dev, words, 5), -EINVAL);	/* count too large */
	CU_ASSERT_EQUAL(X_write_words(dev, words, -1), -EINVAL);	/* negative */
	CU_ASSERT_EQUAL(tk_calls_write_words, calls);

	CU_ASSERT_EQUAL(X_read(dev, buf, 8), 8);
	CU_ASSERT_EQUAL(buf[0], 'a');
	CU_ASSERT_EQUAL(X_read(dev, buf, 9), -EINVAL);		/* bytes too large */
	/* out needs write permission */
	CU_ASSERT_EQUAL(X_reverse_words(words, 4), -EINVAL);	/* words read-only */
	CU_ASSERT_EQUAL(nooks_domain_allow(ext, words, sizeof(words), 1), 0);
	CU_ASSERT_EQUAL(X_reverse_words(words, 4), 4);
	CU_ASSERT_EQUAL(words[0], 4);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

static void test_strings(void)
{
	setup();
	struct tk_dev *dev = ext_new_dev();
	char name[32] = "eth0";
	char unterminated[4] = { 'a', 'b', 'c', 'd' };

	CU_ASSERT_EQUAL(nooks_domain_allow(ext, name, sizeof(name), 0), 0);
	CU_ASSERT_EQUAL(nooks_domain_allow(ext, unterminated, sizeof(unterminated), 0), 0);
	CU_ASSERT_EQUAL(X_set_name(dev, name), 0);
	CU_ASSERT_STRING_EQUAL(dev->name, "eth0");	/* refreshed after the call */
	int calls = tk_calls_set_name;
	CU_ASSERT_EQUAL(X_set_name(dev, unterminated), -EINVAL);
	strcpy(name, "a-name-far-too-long");		/* string(16) */
	CU_ASSERT_EQUAL(X_set_name(dev, name), -EINVAL);
	CU_ASSERT_EQUAL(tk_calls_set_name, calls);
	/* char tag[8] [[string]]: bounded by the array, not the default */
	strcpy(name, "eth1");
	CU_ASSERT_EQUAL(X_set_tag(dev, name), 0);
	CU_ASSERT_STRING_EQUAL(dev->name, "eth1");
	strcpy(name, "eth12345");			/* 8 characters and the NUL */
	CU_ASSERT_EQUAL(X_set_tag(dev, name), -EINVAL);
	CU_ASSERT_STRING_EQUAL(dev->name, "eth1");
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

/* int *mtu [[out]] without count(): one int, checked writable like any buffer */
static void test_single_out(void)
{
	setup();
	struct tk_dev *dev = ext_new_dev();
	int mtu[2] = { -1, 0 };

	CU_ASSERT_EQUAL(nooks_domain_allow(ext, mtu, sizeof(int), 0), 0);
	CU_ASSERT_EQUAL(X_mtu_out(dev, mtu), -EINVAL);		/* read-only to it */
	CU_ASSERT_EQUAL(nooks_domain_allow(ext, mtu, sizeof(int), 1), 0);
	CU_ASSERT_EQUAL(X_mtu_out(dev, mtu), 0);
	CU_ASSERT_EQUAL(mtu[0], dev->mtu);
	CU_ASSERT_EQUAL(X_mtu_out(dev, (int *)((char *)mtu + 1)), -EINVAL);	/* one byte short */
	static int kernel_int = 7;				/* memory not the extension's */
	CU_ASSERT_EQUAL(X_mtu_out(dev, &kernel_int), -EINVAL);
	CU_ASSERT_EQUAL(kernel_int, 7);
	CU_ASSERT_EQUAL(mtu[1], 0);
	teardown();
}

/* ---- shadows: writable fields flow back, others never ------------------- */

static void test_writable_flows_back(void)
{
	setup();
	struct tk_dev *dev = ext_new_dev();
	struct tk_dev *kdev = tk_first_dev();

	dev->mtu = 9000;			/* writable */
	dev->flags = 0x40;			/* writable */
	strcpy(dev->name, "evil");		/* readonly */
	dev->secret = 7;			/* hidden */
	CU_ASSERT_EQUAL(X_get_mtu(dev), 9000);
	CU_ASSERT_EQUAL(kdev->mtu, 9000);
	CU_ASSERT_EQUAL(kdev->flags, 0x40);
	CU_ASSERT_STRING_NOT_EQUAL(kdev->name, "evil");
	CU_ASSERT_EQUAL(kdev->secret, TK_SECRET);
	/* and the extension's readonly edit is undone by the refresh */
	CU_ASSERT_STRING_EQUAL(dev->name, kdev->name);
	teardown();
}

/* ---- registration and extension wrappers -------------------------------- */

static struct tk_dev *ext_registered_dev(void)
{
	struct tk_dev *dev = ext_new_dev();
	/* its table is its own data, which it may pass (recovery forgets
	 * what a domain was allowed, so every time) */
	CU_ASSERT_EQUAL(nooks_domain_allow(ext, &ext_ops, sizeof(ext_ops), 0), 0);
	dev->ops = &ext_ops;
	CU_ASSERT_EQUAL(X_register(dev), 0);
	return dev;
}

static int registered(struct tk_dev *kdev)
{
	void (*kind)(void *);
	unsigned ord;
	return nk_tracker_registration(ext, kdev, &kind, &ord) == 0;
}

static void test_registration_binds_wrappers(void)
{
	setup();
	struct tk_dev *dev = ext_registered_dev();
	struct tk_dev *kdev = tk_first_dev();

	CU_ASSERT_PTR_NOT_EQUAL(kdev->ops, &ext_ops);	/* the kernel holds wrappers */
	const struct nooks_binding *b = nooks_binding_of(kdev->ops);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_EQUAL(b->orig, &ext_ops);
	CU_ASSERT_PTR_NOT_NULL(kdev->ops->open);
	CU_ASSERT_PTR_NULL(kdev->ops->reset);		/* NULL stays NULL */
	CU_ASSERT_TRUE(registered(kdev));

	/* an extension call with the device right away must not hand the
	 * kernel the extension's raw table back (its shadow was refreshed) */
	CU_ASSERT_EQUAL(X_get_mtu(dev), TK_MTU_DEFAULT);
	CU_ASSERT_PTR_NOT_EQUAL(kdev->ops, &ext_ops);

	/* the kernel calls open: it crosses into the extension with a shadow */
	unsigned long calls = ext_calls(ext);
	ext_self = NULL;
	CU_ASSERT_EQUAL(tk_dev_open(kdev), 0);
	CU_ASSERT_EQUAL(opened, 1);
	CU_ASSERT_EQUAL(ext_calls(ext), calls + 1);
	CU_ASSERT_PTR_EQUAL(seen_dev, dev);
	CU_ASSERT_TRUE(kdev->flags & TK_F_UP);

	/* a later kernel call with the device keeps the binding in place */
	ext_self = ext;
	CU_ASSERT_EQUAL(X_get_mtu(dev), TK_MTU_DEFAULT);
	ext_self = NULL;
	CU_ASSERT_EQUAL(tk_dev_open(kdev), 0);
	CU_ASSERT_EQUAL(opened, 2);

	tk_dev_reset(kdev);				/* NULL entry: nothing */
	CU_ASSERT_EQUAL(resets, 0);

	ext_self = ext;
	X_unregister(dev);
	CU_ASSERT_FALSE(registered(kdev));
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

static void test_failed_registration_restores_table(void)
{
	setup();
	struct tk_dev *dev = ext_new_dev();
	CU_ASSERT_EQUAL(nooks_domain_allow(ext, &ext_ops, sizeof(ext_ops), 0), 0);
	dev->ops = &ext_ops;
	tk_fail_register = -EBUSY;
	CU_ASSERT_EQUAL(X_register(dev), -EBUSY);
	CU_ASSERT_PTR_EQUAL(tk_first_dev()->ops, &ext_ops);
	CU_ASSERT_FALSE(registered(tk_first_dev()));
	teardown();
}

/* Registered again with what its shadow shows (the binding's table, as a
 * work that re-arms itself from its own function does): the same binding,
 * one record, and on failure the kernel keeps calling the wrappers, never
 * the extension's raw table. */
static void test_registration_again(void)
{
	setup();
	struct tk_dev *dev = ext_registered_dev();
	struct tk_dev *kdev = tk_first_dev();
	const void *table = kdev->ops;

	CU_ASSERT_PTR_EQUAL(dev->ops, table);		/* what the shadow shows */
	CU_ASSERT_EQUAL(X_register(dev), -EBUSY);	/* tk.c: already */
	CU_ASSERT_PTR_EQUAL(kdev->ops, table);		/* still the wrappers */
	X_unregister(dev);
	CU_ASSERT_FALSE(registered(kdev));
	CU_ASSERT_EQUAL(X_register(dev), 0);		/* again, for real */
	CU_ASSERT_PTR_EQUAL(kdev->ops, table);		/* the same binding */
	CU_ASSERT_TRUE(registered(kdev));
	ext_self = NULL;
	CU_ASSERT_EQUAL(tk_dev_open(kdev), 0);		/* through the wrapper */
	CU_ASSERT_EQUAL(opened, 1);
	ext_self = ext;
	X_unregister(dev);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

static void test_ext_writes_flow_back(void)
{
	setup();
	ext_registered_dev();
	struct tk_dev *kdev = tk_first_dev();

	write_mtu_in_open = 1234;
	CU_ASSERT_EQUAL(tk_dev_open(kdev), 0);
	CU_ASSERT_EQUAL(kdev->mtu, 1234);
	teardown();
}

static void test_buffer_reaches_extension(void)
{
	setup();
	struct tk_dev *dev = ext_registered_dev();
	struct tk_dev *kdev = tk_first_dev();
	static const char msg[] = "hello";

	CU_ASSERT_EQUAL(tk_dev_xmit(kdev, msg, 5), 5);
	CU_ASSERT_EQUAL(seen_len, 5);
	CU_ASSERT_NSTRING_EQUAL(seen_data, "hello", 5);
	CU_ASSERT_PTR_EQUAL(seen_dev, dev);
	teardown();
}

static void test_transfer_both_ways(void)
{
	setup();
	struct tk_dev *dev = ext_registered_dev();
	struct tk_dev *kdev = tk_first_dev();
	struct tk_pkt *pkt = NULL;

	CU_ASSERT_EQUAL(nooks_domain_allow(ext, &pkt, sizeof(pkt), 1), 0);
	CU_ASSERT_EQUAL(X_pkt_alloc(&pkt, 16), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(ext), 2);	/* the device, the packet */
	/* extension -> kernel: the kernel owns it after the call */
	CU_ASSERT_EQUAL(X_pkt_send(dev, pkt), 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(ext), 1);
	CU_ASSERT_EQUAL(tk_live_pkts, 0);

	/* kernel -> extension: rx hands a packet over; the extension frees it */
	struct tk_pkt *in = NULL;
	CU_ASSERT_EQUAL(tk_pkt_alloc(&in, 4), 0);
	CU_ASSERT_EQUAL(tk_dev_rx(kdev, in), 0);
	CU_ASSERT_EQUAL(rxs, 1);
	CU_ASSERT_EQUAL(tk_live_pkts, 0);
	CU_ASSERT_EQUAL(nk_tracker_owned(ext), 1);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

/* ---- locks and recovery ------------------------------------------------- */

static void test_lock_released_by_recovery(void)
{
	setup();
	struct tk_lock *l = X_lock_get();
	struct nooks_release_stats st;
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	struct tk_lock *kl = tk_lock_get();

	X_lock(l);
	CU_ASSERT_TRUE(tk_lock_held(kl));
	X_unlock(l);
	CU_ASSERT_FALSE(tk_lock_held(kl));
	ext_recover(ext, &st);			/* unlocked: nothing to release */
	CU_ASSERT_EQUAL(st.unlocked, 0);
	l = X_lock_get();			/* what it held went with it */
	X_lock(l);
	CU_ASSERT_TRUE(tk_lock_held(kl));
	/* the extension dies holding the lock */
	ext_recover(ext, &st);
	CU_ASSERT_EQUAL(st.unlocked, 1);
	CU_ASSERT_FALSE(tk_lock_held(kl));
	CU_ASSERT_EQUAL(tk_bugs, 0);		/* never unlocked twice */
	teardown();
}

static void test_recovery_undoes_registration(void)
{
	setup();
	ext_registered_dev();
	struct nooks_release_stats st;

	ext_recover(ext, &st);		/* unregister, then free the device */
	CU_ASSERT_EQUAL(st.undone, 1);
	CU_ASSERT_EQUAL(st.released, 1);
	CU_ASSERT_EQUAL(tk_calls_unregister, 1);
	CU_ASSERT_EQUAL(tk_live_devs, 0);
	CU_ASSERT_EQUAL(tk_bugs, 0);	/* freeing a registered device is one */
	teardown();
}

static void test_kernel_caller_skips_checks(void)
{
	setup();
	ext_self = NULL;
	struct tk_dev *kdev = X_dev_alloc(0);	/* the kernel itself */
	CU_ASSERT_PTR_NOT_NULL_FATAL(kdev);
	CU_ASSERT_PTR_EQUAL(kdev, tk_first_dev());	/* no shadow */
	CU_ASSERT_EQUAL(nk_tracker_owned(ext), 0);
	CU_ASSERT_EQUAL(X_get_mtu(kdev), TK_MTU_DEFAULT);
	tk_dev_free(kdev);
	teardown();
}

/* ---- isolating backends: faults, deadlines ----------------------------- */

static void test_fault_when_down(void)
{
	setup();
	struct tk_dev *dev = ext_registered_dev();
	struct tk_dev *kdev = tk_first_dev();
	unsigned long held = (unsigned long)nk_tracker_entries();

	nooks_domain_fail(ext, "the test");
	CU_ASSERT_EQUAL(tk_dev_open(kdev), -EIO);	/* fault(-EIO) */
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 100), -EIO);
	tk_dev_reset(kdev);				/* void: just returns */
	CU_ASSERT_EQUAL(opened, 0);
	CU_ASSERT_EQUAL(X_get_mtu(dev), X_DOWN);	/* the extension is not entered */
	CU_ASSERT_EQUAL((unsigned long)nk_tracker_entries(), held);
	CU_ASSERT_EQUAL(nooks_domain_reset(ext, NULL), 0);
	CU_ASSERT_EQUAL(tk_live_devs, 0);		/* released */

	/* a fault during the call: contained, the fault value returned */
	ext_registered_dev();
	kdev = tk_first_dev();
	fault_in_open = 1;
	CU_ASSERT_EQUAL(tk_dev_open(kdev), -EIO);
	CU_ASSERT_EQUAL(opened, 1);
	CU_ASSERT_EQUAL(nooks_domain_state(ext), NOOKS_DOWN);
	CU_ASSERT_EQUAL(tk_dev_open(kdev), -EIO);	/* down now */
	CU_ASSERT_EQUAL(opened, 1);
	CU_ASSERT_EQUAL(nooks_domain_reset(ext, NULL), 0);
	ext_registered_dev();
	CU_ASSERT_EQUAL(tk_dev_open(tk_first_dev()), 0);	/* and works again */
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

static void test_timeout(void)
{
	setup();
	ext_registered_dev();
	struct tk_dev *kdev = tk_first_dev();
	struct nooks_domain_stats st;

	slow_xmit_ms = 400;			/* far past timeout(50) */
	CU_ASSERT_EQUAL(tk_dev_xmit(kdev, "x", 1), -EIO);
	CU_ASSERT_EQUAL(xmits, 0);			/* cut short */
	nooks_domain_stats(ext, &st);
	CU_ASSERT_EQUAL(st.last_fault, NOOKS_FAULT_TIMEOUT);
	teardown();
}

void register_wrapper_tests(int isolating);

static int use_none(void)
{
	test_backend = NOOKS_BACKEND_NONE;
	return 0;
}

static int use_mprotect(void)
{
	test_backend = NOOKS_BACKEND_MPROTECT;
	return 0;
}

static void add_common(CU_pSuite s)
{
	CU_add_test(s, "alloc() tracks and hands out a shadow", test_alloc_gives_shadow);
	CU_add_test(s, "bad pointer -> error value", test_bad_pointer);
	CU_add_test(s, "wrong-type pointer -> error value", test_wrong_type);
	CU_add_test(s, "another domain's object -> error value", test_other_domains_object);
	CU_add_test(s, "double release caught", test_double_release);
	CU_add_test(s, "NULL where not nullable", test_null_where_not_nullable);
	CU_add_test(s, "count()/bytes() too large", test_count_and_bytes);
	CU_add_test(s, "string bounds", test_strings);
	CU_add_test(s, "a scalar out without count is one element", test_single_out);
	CU_add_test(s, "writable fields flow back, readonly/hidden never", test_writable_flows_back);
	CU_add_test(s, "registration binds extension wrappers", test_registration_binds_wrappers);
	CU_add_test(s, "registered again with its binding", test_registration_again);
	CU_add_test(s, "failed registration restores the table", test_failed_registration_restores_table);
	CU_add_test(s, "extension writes flow back", test_ext_writes_flow_back);
	CU_add_test(s, "buffers reach the extension", test_buffer_reaches_extension);
	CU_add_test(s, "transfer both ways", test_transfer_both_ways);
	CU_add_test(s, "recovery releases a held lock", test_lock_released_by_recovery);
	CU_add_test(s, "recovery undoes a registration", test_recovery_undoes_registration);
	CU_add_test(s, "the kernel calling a wrapper", test_kernel_caller_skips_checks);
}

/* isolating: whether the mprotect backend's crossings can run here (not
 * under AddressSanitizer, which cannot follow the stack switch) */
void register_wrapper_tests(int isolating)
{
	add_common(CU_add_suite("generated wrappers (tk.idl), backend none", use_none, NULL));
	if (!isolating)
		return;
	CU_pSuite s = CU_add_suite("generated wrappers (tk.idl), backend mprotect", use_mprotect, NULL);
	add_common(s);
	CU_add_test(s, "fault(value) when down or faulting", test_fault_when_down);
	CU_add_test(s, "timeout() bounds the extension", test_timeout);
}
