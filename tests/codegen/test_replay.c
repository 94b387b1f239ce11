/*
 * test_replay.c - what the generated wrappers of [[replay]] entries log
 * (tk.idl: set_mtu, and set_addr with a string and a bytes() buffer), on
 * the real runtime with an isolating backend (replay is recovery's):
 * successful calls only, the latest per entry and object, buffers by
 * value; and that the generated replayer calls the entry again, through
 * its wrapper, on the restarted extension's device.
 */
#include <signal.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "ext.h"

static struct nooks_domain *ext;
static int mtu_now, mtu_calls, fault_in_set_mtu;
static char label_now[TK_NAME_LEN];
static unsigned char addr_now[8];
static unsigned int addr_len;

static int ext_set_mtu(struct tk_dev *dev, int mtu)
{
	mtu_calls++;
	if (fault_in_set_mtu) {
		fault_in_set_mtu = 0;
		raise(SIGSEGV);
	}
	if (mtu < 68)
		return -EINVAL;		/* refused: not logged */
	mtu_now = mtu;
	dev->mtu = mtu;
	return 0;
}

static int ext_set_addr(struct tk_dev *dev, const char *label, const void *addr,
			unsigned int len)
{
	(void)dev;
	if (len > sizeof(addr_now))
		return -EINVAL;
	strcpy(label_now, label);
	memcpy(addr_now, addr, len);
	addr_len = len;
	return 0;
}

static const struct tk_ops ops = { .set_mtu = ext_set_mtu, .set_addr = ext_set_addr };

/* The extension registers a device (as its init would); what it holds. */
static struct tk_dev *ext_register(void)
{
	ext_self = ext;
	struct tk_dev *dev = X_dev_alloc(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	/* its table is its own data, which it may pass */
	CU_ASSERT_EQUAL(nooks_domain_allow(ext, &ops, sizeof(ops), 0), 0);
	dev->ops = &ops;
	CU_ASSERT_EQUAL(X_register(dev), 0);
	ext_self = NULL;
	return dev;
}

/* The extension is restarted: recovery, its init again (one device
 * registered), then the log replayed into it.  The new kernel device. */
static struct tk_dev *restart(struct nooks_replay_stats *st)
{
	ext_recover(ext, NULL);
	CU_ASSERT_EQUAL(tk_live_devs, 0);
	ext_register();
	CU_ASSERT_EQUAL(nooks_domain_replay(ext, st), 0);
	return tk_first_dev();
}

static void setup(void)
{
	tk_reset();
	ext = ext_domain("ext");
	CU_ASSERT_EQUAL(nk_replay_open(ext), 0);
	mtu_now = mtu_calls = fault_in_set_mtu = 0;
	memset(label_now, 0, sizeof label_now);
	memset(addr_now, 0, sizeof addr_now);
	addr_len = 0;
}

static void teardown(void)
{
	ext_self = NULL;
	nk_replay_close(ext);
	nooks_domain_destroy(ext);
	ext = NULL;
	tk_reset();
}

static void test_logs_successful_calls(void)
{
	setup();
	ext_register();
	struct tk_dev *kdev = tk_first_dev();
	struct nooks_replay_stats st;

	CU_ASSERT_EQUAL(nooks_domain_replay_logged(ext), 0);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 1400), 0);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(ext), 1);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 1450), 0);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(ext), 1);	/* supersedes */
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 10), -EINVAL);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(ext), 1);	/* refused: not logged */
	/* open is no replay entry */
	CU_ASSERT_EQUAL(tk_dev_open(kdev), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(ext), 1);
	fault_in_set_mtu = 1;
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 2000), -EIO);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(ext), 1);	/* faulted: not logged */

	/* replayed: the latest successful value, through the wrapper */
	mtu_now = 0;
	int calls = mtu_calls;
	kdev = restart(&st);
	CU_ASSERT_EQUAL(st.replayed, 1);
	CU_ASSERT_EQUAL(mtu_calls, calls + 1);
	CU_ASSERT_EQUAL(mtu_now, 1450);
	CU_ASSERT_EQUAL(kdev->mtu, 1450);		/* written back as any call */
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(ext), 1);	/* and logged again */
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

static void test_buffers_by_value(void)
{
	setup();
	ext_register();
	struct tk_dev *kdev = tk_first_dev();
	struct nooks_replay_stats st;
	char label[TK_NAME_LEN] = "eth0";
	unsigned char addr[6] = { 2, 0, 0, 0xaa, 0xbb, 0xcc };

	CU_ASSERT_EQUAL(tk_dev_set_addr(kdev, label, addr, sizeof addr), 0);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 1400), 0);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(ext), 2);	/* one per entry */
	/* the kernel's buffers change and go: the log has its own copies */
	strcpy(label, "junk");
	memset(addr, 0xee, sizeof addr);
	memset(label_now, 0, sizeof label_now);
	memset(addr_now, 0, sizeof addr_now);
	mtu_now = 0;
	restart(&st);
	CU_ASSERT_EQUAL(st.replayed, 2);
	CU_ASSERT_STRING_EQUAL(label_now, "eth0");
	CU_ASSERT_EQUAL(addr_len, 6);
	CU_ASSERT_EQUAL(addr_now[0], 2);
	CU_ASSERT_EQUAL(addr_now[5], 0xcc);
	CU_ASSERT_EQUAL(mtu_now, 1400);
	teardown();
}

static void test_unregistered_not_logged(void)
{
	setup();
	struct tk_dev *dev = ext_register();
	struct tk_dev *kdev = tk_first_dev();

	/* the extension unregisters the device itself: calls the kernel
	 * still makes through the table are not logged (nothing to replay
	 * them into) */
	ext_self = ext;
	X_unregister(dev);
	ext_self = NULL;
	kdev->registered = 1;		/* the kernel calls it all the same */
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 1400), 0);
	CU_ASSERT_EQUAL(mtu_now, 1400);
	CU_ASSERT_EQUAL(nooks_domain_replay_logged(ext), 0);
	kdev->registered = 0;
	teardown();
}

void register_replay_tests(void);

static int use_mprotect(void)
{
	test_backend = NOOKS_BACKEND_MPROTECT;
	return 0;
}

void register_replay_tests(void)
{
	CU_pSuite s = CU_add_suite("generated replay logging, backend mprotect", use_mprotect, NULL);
	CU_add_test(s, "successful calls logged, latest wins, replayed", test_logs_successful_calls);
	CU_add_test(s, "buffers and strings logged by value", test_buffers_by_value);
	CU_add_test(s, "calls on an unregistered object not logged", test_unregistered_not_logged);
}
