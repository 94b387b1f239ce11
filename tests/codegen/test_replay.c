/*
 * test_replay.c - what the generated wrappers of [[replay]] entries log
 * (tk.idl: set_mtu, and set_addr with a string and a bytes() buffer), on
 * the runtime test double: successful calls only, the latest per entry
 * and object, buffers by value; and that the generated replayer calls
 * the entry again, through its wrapper, on the object it is given.
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include "fake_runtime.h"
#include "tk_nooks.h"

static struct nooks_domain *ext;
static int mtu_now, mtu_calls;
static char label_now[TK_NAME_LEN];
static unsigned char addr_now[8];
static unsigned int addr_len;

static int ext_set_mtu(struct tk_dev *dev, int mtu)
{
	mtu_calls++;
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

/* The extension registers a device; the kernel's object. */
static struct tk_dev *registered(void)
{
	fake_set_self(ext);
	struct tk_dev *dev = nooks_kw_tk_dev_alloc(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	dev->ops = &ops;
	CU_ASSERT_EQUAL(nooks_kw_tk_register(dev), 0);
	fake_set_self(NULL);
	return fake_object_of(dev);
}

static void setup(void)
{
	fake_reset();
	tk_reset();
	ext = fake_domain_new("ext");
	mtu_now = mtu_calls = 0;
	memset(label_now, 0, sizeof label_now);
	memset(addr_now, 0, sizeof addr_now);
	addr_len = 0;
}

static void teardown(void)
{
	fake_domain_free(ext);
	ext = NULL;
	fake_reset();
}

static void test_logs_successful_calls(void)
{
	setup();
	struct tk_dev *kdev = registered();

	CU_ASSERT_EQUAL(fake_replay_logged(ext), 0);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 1400), 0);
	CU_ASSERT_EQUAL(fake_replay_logged(ext), 1);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 1450), 0);
	CU_ASSERT_EQUAL(fake_replay_logged(ext), 1);	/* supersedes */
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 10), -EINVAL);
	CU_ASSERT_EQUAL(fake_replay_logged(ext), 1);	/* refused: not logged */
	fake_fault_next(ext);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 2000), -EIO);
	CU_ASSERT_EQUAL(fake_replay_logged(ext), 1);	/* faulted: not logged */
	/* open is no replay entry */
	CU_ASSERT_EQUAL(tk_dev_open(kdev), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(fake_replay_logged(ext), 1);

	/* replayed: the latest successful value, through the wrapper */
	mtu_now = 0;
	kdev->mtu = 0;
	int calls = mtu_calls;
	CU_ASSERT_EQUAL(fake_replay(ext, kdev), 1);
	CU_ASSERT_EQUAL(mtu_calls, calls + 1);
	CU_ASSERT_EQUAL(mtu_now, 1450);
	CU_ASSERT_EQUAL(kdev->mtu, 1450);		/* written back as any call */
	CU_ASSERT_EQUAL(fake_replay_logged(ext), 1);	/* and logged again */
	CU_ASSERT_EQUAL(fake_borrows(ext), 0);
	CU_ASSERT_EQUAL(tk_bugs, 0);
	teardown();
}

static void test_buffers_by_value(void)
{
	setup();
	struct tk_dev *kdev = registered();
	char label[TK_NAME_LEN] = "eth0";
	unsigned char addr[6] = { 2, 0, 0, 0xaa, 0xbb, 0xcc };

	CU_ASSERT_EQUAL(tk_dev_set_addr(kdev, label, addr, sizeof addr), 0);
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 1400), 0);
	CU_ASSERT_EQUAL(fake_replay_logged(ext), 2);	/* one per entry */
	/* the kernel's buffers change and go: the log has its own copies */
	strcpy(label, "junk");
	memset(addr, 0xee, sizeof addr);
	memset(label_now, 0, sizeof label_now);
	memset(addr_now, 0, sizeof addr_now);
	CU_ASSERT_EQUAL(fake_replay(ext, kdev), 2);
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
	struct tk_dev *kdev = registered();

	/* the extension unregisters the device itself: calls the kernel
	 * still makes through the table are not logged (nothing to replay
	 * them into) */
	fake_set_self(ext);
	nooks_kw_tk_unregister(fake_shadow_of(ext, kdev) ? fake_shadow_of(ext, kdev) : kdev);
	fake_set_self(NULL);
	CU_ASSERT_EQUAL(fake_registrations(ext), 0);
	kdev->registered = 1;		/* the kernel calls it all the same */
	CU_ASSERT_EQUAL(tk_dev_set_mtu(kdev, 1400), 0);
	CU_ASSERT_EQUAL(mtu_now, 1400);
	CU_ASSERT_EQUAL(fake_replay_logged(ext), 0);
	kdev->registered = 0;
	teardown();
}

void register_replay_tests(void);

void register_replay_tests(void)
{
	CU_pSuite s = CU_add_suite("generated replay logging", NULL, NULL);
	CU_add_test(s, "successful calls logged, latest wins, replayed", test_logs_successful_calls);
	CU_add_test(s, "buffers and strings logged by value", test_buffers_by_value);
	CU_add_test(s, "calls on an unregistered object not logged", test_unregistered_not_logged);
}
