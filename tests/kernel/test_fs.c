/*
 * test_fs.c - reading real files in a temporary directory: open, read,
 * sendfile to a socket, stat, path resolution, the error cases.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "nk/fs.h"
#include "nk/kthread.h"
#include "nk/net.h"
#include "nooks_runtime.h"
#include "util.h"

#define DATA_LEN 100000

static char dir[PATH_MAX];	/* canonical */
static char data_path[PATH_MAX + 16];
static unsigned char data[DATA_LEN];

static int fs_setup(void)
{
	char tmpl[] = "/tmp/nk-fs-XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, dir))
		return -1;
	snprintf(data_path, sizeof(data_path), "%s/data", dir);
	for (int i = 0; i < DATA_LEN; i++)
		data[i] = (unsigned char)(i * 13 + i / 256);
	FILE *f = fopen(data_path, "wb");
	if (!f || fwrite(data, 1, DATA_LEN, f) != DATA_LEN || fclose(f))
		return -1;
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/sub", dir);
	if (mkdir(p, 0755))
		return -1;
	snprintf(p, sizeof(p), "%s/link", dir);
	if (symlink("data", p))
		return -1;
	return 0;
}

static int fs_teardown(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_open_read(void)
{
	struct file *f;
	CU_ASSERT_EQUAL_FATAL(filp_open(data_path, &f), 0);
	CU_ASSERT(nooks_in_arena(f));
	CU_ASSERT_EQUAL(f->size, DATA_LEN);
	CU_ASSERT_EQUAL(f->mode, NK_S_IFREG);
	unsigned char buf[1000];
	CU_ASSERT_EQUAL(kernel_read(f, buf, sizeof(buf), 500), (ssize_t)sizeof(buf));
	CU_ASSERT(memcmp(buf, data + 500, sizeof(buf)) == 0);
	CU_ASSERT_EQUAL(kernel_read(f, buf, sizeof(buf), DATA_LEN - 10), 10);
	CU_ASSERT(memcmp(buf, data + DATA_LEN - 10, 10) == 0);
	CU_ASSERT_EQUAL(kernel_read(f, buf, sizeof(buf), DATA_LEN), 0);
	CU_ASSERT_EQUAL(kernel_read(f, buf, sizeof(buf), -1), -EINVAL);
	fput(f);
}

static void test_open_errors(void)
{
	struct file *f = (struct file *)1;
	CU_ASSERT_EQUAL(filp_open(dir, &f), -EISDIR);
	CU_ASSERT_PTR_NULL(f);
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/missing", dir);
	CU_ASSERT_EQUAL(filp_open(p, &f), -ENOENT);
	snprintf(p, sizeof(p), "%s/data/below", dir);
	CU_ASSERT_EQUAL(filp_open(p, &f), -ENOTDIR);
	CU_ASSERT_EQUAL(filp_open(NULL, &f), -EINVAL);
	fput(NULL);
}

static void test_stat(void)
{
	struct kstat st;
	CU_ASSERT_EQUAL(vfs_stat(data_path, &st), 0);
	CU_ASSERT_EQUAL(st.size, DATA_LEN);
	CU_ASSERT_EQUAL(st.mode, NK_S_IFREG);
	long long now = (long long)time(NULL);
	CU_ASSERT(st.mtime <= now && st.mtime > now - 3600);
	CU_ASSERT_EQUAL(vfs_stat(dir, &st), 0);
	CU_ASSERT_EQUAL(st.mode, NK_S_IFDIR);
	CU_ASSERT_EQUAL(vfs_stat("/dev/null", &st), 0);
	CU_ASSERT_EQUAL(st.mode, NK_S_IFOTHER);
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/link", dir);
	CU_ASSERT_EQUAL(vfs_stat(p, &st), 0);	/* follows the link */
	CU_ASSERT_EQUAL(st.mode, NK_S_IFREG);
	CU_ASSERT_EQUAL(st.size, DATA_LEN);
	snprintf(p, sizeof(p), "%s/missing", dir);
	CU_ASSERT_EQUAL(vfs_stat(p, &st), -ENOENT);
}

static void test_path_resolve(void)
{
	char in[PATH_MAX + 32], out[NK_PATH_MAX];
	snprintf(in, sizeof(in), "%s/sub/../link", dir);
	int n = kern_path_resolve(in, out, sizeof(out));
	CU_ASSERT_EQUAL(n, (int)strlen(data_path));
	CU_ASSERT_STRING_EQUAL(out, data_path);
	/* exactly enough room, then one byte short */
	CU_ASSERT_EQUAL(kern_path_resolve(in, out, strlen(data_path) + 1), n);
	CU_ASSERT_EQUAL(kern_path_resolve(in, out, strlen(data_path)), -ENAMETOOLONG);
	snprintf(in, sizeof(in), "%s/./sub/", dir);
	n = kern_path_resolve(in, out, sizeof(out));
	CU_ASSERT(n > 0);
	CU_ASSERT(strcmp(out + strlen(dir), "/sub") == 0);
	snprintf(in, sizeof(in), "%s/missing", dir);
	CU_ASSERT_EQUAL(kern_path_resolve(in, out, sizeof(out)), -ENOENT);
}

struct sink {
	struct socket *sock;
	unsigned char buf[DATA_LEN];
	size_t got;
	volatile int done;
};

static int fn_sink(struct task_struct *task)
{
	struct sink *k = task->data;
	for (;;) {
		ssize_t n = kernel_recv(k->sock, k->buf + k->got,
					k->got < DATA_LEN ? DATA_LEN - k->got : 1, 0);
		if (n <= 0) {
			k->done = 1;
			return (int)n;
		}
		k->got += (size_t)n;
		if (k->got > DATA_LEN)
			return -E2BIG;
	}
}
static const struct kthread_ops ops_sink = { fn_sink };

static void test_sendfile(void)
{
	static struct sink k;
	struct socket *c;
	struct file *f;
	memset(&k, 0, sizeof(k));
	CU_ASSERT_EQUAL_FATAL(t_pair(&c, &k.sock), 0);
	CU_ASSERT_EQUAL_FATAL(filp_open(data_path, &f), 0);
	struct task_struct *t = kthread_run(&ops_sink, &k, "sink");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(kernel_sendfile(c, f, 1000, 60000), 60000);
	/* past the end: what there is */
	CU_ASSERT_EQUAL(kernel_sendfile(c, f, DATA_LEN - 100, 5000), 100);
	CU_ASSERT_EQUAL(kernel_sock_shutdown(c, SHUT_WR_NK), 0);
	CU_ASSERT(t_wait_flag(&k.done, 5000));
	CU_ASSERT_EQUAL(kthread_stop(t), 0);
	CU_ASSERT_EQUAL(k.got, 60100);
	CU_ASSERT(memcmp(k.buf, data + 1000, 60000) == 0);
	CU_ASSERT(memcmp(k.buf + 60000, data + DATA_LEN - 100, 100) == 0);
	put_task_struct(t);
	fput(f);
	sock_release(c);
	sock_release(k.sock);
}

void register_fs_tests(void)
{
	CU_pSuite s = CU_add_suite("fs", fs_setup, fs_teardown);
	CU_add_test(s, "filp_open, size, mode, kernel_read", test_open_read);
	CU_add_test(s, "-EISDIR, -ENOENT, -ENOTDIR", test_open_errors);
	CU_add_test(s, "vfs_stat follows links", test_stat);
	CU_add_test(s, "kern_path_resolve: links, dots, -ENAMETOOLONG", test_path_resolve);
	CU_add_test(s, "kernel_sendfile to a socket, bytes compared", test_sendfile);
}
