/*
 * test_ds.c - the data store (nk/ds.h): publish, retrieve, counters,
 * delete, limits, and ds_check as a subscription (a change seen by a
 * waiting thread, in order, by prefix; a timeout).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "nk/ds.h"

static void test_publish_retrieve(void)
{
	char buf[NK_DS_VALUE_MAX + 1], big[NK_DS_VALUE_MAX + 1], name[NK_DS_NAME_MAX + 1];

	CU_ASSERT_EQUAL(ds_publish("t.key", "hello", 6), 0);
	CU_ASSERT_EQUAL(ds_retrieve("t.key", buf, sizeof(buf)), 6);
	CU_ASSERT_STRING_EQUAL(buf, "hello");
	CU_ASSERT_EQUAL(ds_retrieve("t.key", buf, 2), 6);	/* its length */
	CU_ASSERT_EQUAL(ds_publish("t.key", "x", 2), 0);	/* replaced */
	CU_ASSERT_EQUAL(ds_retrieve("t.key", buf, sizeof(buf)), 2);
	CU_ASSERT_STRING_EQUAL(buf, "x");
	CU_ASSERT_EQUAL(ds_retrieve("t.none", buf, sizeof(buf)), -ENOENT);
	memset(big, 'a', sizeof(big));
	CU_ASSERT_EQUAL(ds_publish("t.big", big, sizeof(big)), -E2BIG);
	CU_ASSERT_EQUAL(ds_publish("", "x", 1), -EINVAL);
	memset(name, 'n', sizeof(name));
	name[NK_DS_NAME_MAX] = 0;
	CU_ASSERT_EQUAL(ds_publish(name, "x", 1), -EINVAL);
	CU_ASSERT_EQUAL(ds_delete("t.key"), 0);
	CU_ASSERT_EQUAL(ds_delete("t.key"), -ENOENT);
	CU_ASSERT_EQUAL(ds_retrieve("t.key", buf, sizeof(buf)), -ENOENT);
}

static void test_counter(void)
{
	long long v = 0;

	CU_ASSERT_EQUAL(ds_add("t.count", 1), 1);
	CU_ASSERT_EQUAL(ds_add("t.count", 41), 42);
	CU_ASSERT_EQUAL(ds_retrieve("t.count", &v, sizeof(v)), (ssize_t)sizeof(v));
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_EQUAL(ds_publish("t.str", "s", 2), 0);
	CU_ASSERT_EQUAL(ds_add("t.str", 1), -EEXIST);
	CU_ASSERT_EQUAL(ds_delete("t.count"), 0);
	CU_ASSERT_EQUAL(ds_delete("t.str"), 0);
}

static void test_full(void)
{
	char name[32];
	int made = 0;

	for (int i = 0; i < NK_DS_ENTRIES + 1; i++) {
		snprintf(name, sizeof(name), "full.%d", i);
		if (ds_publish(name, &i, sizeof(i)) == 0)
			made++;
	}
	CU_ASSERT(made <= NK_DS_ENTRIES && made > NK_DS_ENTRIES - 8);
	CU_ASSERT_EQUAL(ds_publish("full.more", "x", 1), -ENOSPC);
	for (int i = 0; i < NK_DS_ENTRIES + 1; i++) {
		snprintf(name, sizeof(name), "full.%d", i);
		ds_delete(name);
	}
	CU_ASSERT_EQUAL(ds_publish("full.more", "x", 1), 0);
	ds_delete("full.more");
}

static void *publisher(void *arg)
{
	(void)arg;
	usleep(100000);
	ds_publish("other.a", "1", 2);
	ds_publish("sub.a", "1", 2);
	ds_publish("sub.b", "2", 2);
	return NULL;
}

static void test_check(void)
{
	char name[NK_DS_NAME_MAX];
	unsigned long seq = 0, first;
	pthread_t t;

	/* from now on: skip what happened before */
	while (ds_check("", name, sizeof(name), &seq, 0) == 0)
		;
	CU_ASSERT_EQUAL(ds_check("sub.", name, sizeof(name), &seq, 50), -ETIMEDOUT);
	pthread_create(&t, NULL, publisher, NULL);
	CU_ASSERT_EQUAL(ds_check("sub.", name, sizeof(name), &seq, 5000), 0);
	CU_ASSERT_STRING_EQUAL(name, "sub.a");	/* not other.a: another prefix */
	first = seq;
	CU_ASSERT_EQUAL(ds_check("sub.", name, sizeof(name), &seq, 5000), 0);
	CU_ASSERT_STRING_EQUAL(name, "sub.b");
	CU_ASSERT(seq > first);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(ds_delete("sub.a"), 0);
	CU_ASSERT_EQUAL(ds_check("sub.", name, sizeof(name), &seq, 0), 0);
	CU_ASSERT_STRING_EQUAL(name, "sub.a");	/* a deletion is a change */
	ds_delete("sub.b");
	ds_delete("other.a");
}

void register_ds_tests(void);
void register_ds_tests(void)
{
	CU_pSuite s = CU_add_suite("data store", NULL, NULL);
	CU_add_test(s, "publish, retrieve, delete, limits", test_publish_retrieve);
	CU_add_test(s, "counters (ds_add)", test_counter);
	CU_add_test(s, "a full store", test_full);
	CU_add_test(s, "ds_check: a subscription by prefix", test_check);
}
