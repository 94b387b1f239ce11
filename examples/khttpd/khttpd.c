/*
 * khttpd - an in-kernel HTTP/1.1 static file server for the nk kernel,
 * after Linux's kHTTPd (one of the extensions Nooks isolated).
 *
 * Written against the nk kernel API only: sockets, files and threads are
 * the kernel's; no libc I/O.  The same .so runs natively or isolated.
 *
 * Parameters (nkernel khttpd.so NAME=VALUE...):
 *   root=DIR       the document root (default: the current directory)
 *   port=N         TCP port (default 8080)
 *   addr=A.B.C.D   address to listen on (default 127.0.0.1)
 *   threads=N      worker threads, each serving one connection at a time
 *                  (default 4, at most 32)
 *
 * GET and HEAD of regular files under root; a directory serves its
 * index.html.  Keep-alive (HTTP/1.1 by default, HTTP/1.0 on request) and
 * pipelined requests.  400 for malformed requests (and HTTP/1.1 without
 * Host), 404 for what does not exist or lies outside root (after "..",
 * percent-decoding and symbolic links are resolved), 405 for other
 * methods, 414 for a request line over 2 KiB, 431 for a header block over
 * 8 KiB.
 *
 * Built with -DKHTTPD_DOUBLE_RELEASE it carries the bug Nooks found in
 * kHTTPd: when a client closes its connection, the socket is released
 * twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NK_FAULT_INJECTION	/* nkctl inject: see nk/module.h */
#include "nk/core.h"
#include "nk/ds.h"
#include "nk/fs.h"
#include "nk/kthread.h"
#include "nk/module.h"
#include "nk/net.h"

#define MAX_HEADER 8192
#define MAX_REQUEST_LINE 2048
#define MAX_THREADS 32
#define IDLE_TIMEOUT_MS 10000

static struct socket *listener;
static struct task_struct *workers[MAX_THREADS];
static int nworkers;
static char root[NK_PATH_MAX];
static size_t rootlen;
static unsigned long served;	/* by this copy */
/* in the data store: requests served by every copy since the kernel
 * started, kept across crashes and restarts */
#define SERVED_KEY "khttpd.served"

/* ---- responses ------------------------------------------------------------ */

static const struct {
	const char *ext, *type;
} types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "css", "text/css" },
	{ "js", "text/javascript" },
	{ "json", "application/json" },
	{ "xml", "application/xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "svg", "image/svg+xml" },
	{ "ico", "image/x-icon" },
	{ "pdf", "application/pdf" },
	{ "wasm", "application/wasm" },
};

static const char *content_type(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

static int send_all(struct socket *c, const char *p, size_t n)
{
	return kernel_send(c, p, n, 0) == (ssize_t)n ? 0 : -1;
}

/* An error page; keep: whether the connection may go on. */
static int send_error(struct socket *c, int status, const char *reason, int keep, int head)
{
	char body[256], hdr[512];
	int blen = snprintf(body, sizeof(body),
			    "<html><head><title>%d %s</title></head>"
			    "<body><h1>%d %s</h1></body></html>\n",
			    status, reason, status, reason);
	int hlen = snprintf(hdr, sizeof(hdr),
			    "HTTP/1.1 %d %s\r\nServer: khttpd\r\n"
			    "Content-Type: text/html; charset=utf-8\r\n"
			    "Content-Length: %d\r\n%s"
			    "Connection: %s\r\n\r\n",
			    status, reason, blen,
			    status == 405 ? "Allow: GET, HEAD\r\n" : "",
			    keep ? "keep-alive" : "close");
	if (send_all(c, hdr, (size_t)hlen) || (!head && send_all(c, body, (size_t)blen)))
		return 0;
	return keep;
}

/* ---- requests --------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the path of target (up to '?' or '#') into out: its length, or
 * -1 for a bad escape, an encoded NUL or no room. */
static int decode_path(const char *target, size_t tlen, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < tlen && target[i] != '?' && target[i] != '#'; i++) {
		char ch = target[i];
		if (ch == '%') {
			int hi, lo;
			if (i + 2 >= tlen || (hi = hexval(target[i + 1])) < 0 ||
			    (lo = hexval(target[i + 2])) < 0)
				return -1;
			ch = (char)(hi * 16 + lo);
			i += 2;
			if (!ch)
				return -1;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = ch;
	}
	out[o] = 0;
	return (int)o;
}

/* The value of header name in the header lines [p, end), or NULL. */
static const char *header(const char *p, const char *end, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' && !strncasecmp(p, name, nlen)) {
			const char *v = p + nlen + 1, *e = eol;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*vlen = (size_t)(e - v);
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

/* Is path (canonical) root or inside it? */
static int inside_root(const char *path)
{
	return !strncmp(path, root, rootlen) &&
	       (path[rootlen] == '/' || path[rootlen] == 0 || (rootlen == 1 && root[0] == '/'));
}

/* Serves one request whose header block is req[0, len); 1 to keep the
 * connection, 0 to close it. */
static int handle(struct socket *c, const char *req, size_t len)
{
	const char *end = req + len;
	const char *eol = memchr(req, '\n', len);
	size_t linelen = (size_t)(eol - req);
	if (linelen && req[linelen - 1] == '\r')
		linelen--;

	/* METHOD SP TARGET SP HTTP/1.x */
	const char *sp1 = memchr(req, ' ', linelen);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', linelen - (size_t)(sp1 + 1 - req)) : NULL;
	if (!sp1 || !sp2 || sp1 == req || sp2 == sp1 + 1)
		return send_error(c, 400, "Bad Request", 0, 0);
	size_t mlen = (size_t)(sp1 - req), tlen = (size_t)(sp2 - sp1 - 1);
	const char *target = sp1 + 1, *version = sp2 + 1;
	size_t vlen = linelen - (size_t)(version - req);
	int minor;
	if (vlen != 8 || strncmp(version, "HTTP/1.", 7) || (version[7] != '0' && version[7] != '1'))
		return send_error(c, 400, "Bad Request", 0, 0);
	minor = version[7] - '0';
	for (size_t i = 0; i < mlen; i++)
		if (req[i] < 'A' || req[i] > 'Z')
			return send_error(c, 400, "Bad Request", 0, 0);
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= ' ' || target[i] == 0x7f)
			return send_error(c, 400, "Bad Request", 0, 0);

	/* connection handling */
	const char *h = eol + 1, *v;
	size_t hl;
	int keep = minor == 1;
	if ((v = header(h, end, "Connection", &hl))) {
		if (hl == 5 && !strncasecmp(v, "close", 5))
			keep = 0;
		else if (hl == 10 && !strncasecmp(v, "keep-alive", 10))
			keep = 1;
	}
	if ((v = header(h, end, "Content-Length", &hl)) && !(hl == 1 && v[0] == '0'))
		keep = 0;	/* a body we do not read: end after the answer */
	if (header(h, end, "Transfer-Encoding", &hl))
		return send_error(c, 400, "Bad Request", 0, 0);
	if (minor == 1 && !header(h, end, "Host", &hl))
		return send_error(c, 400, "Bad Request", 0, 0);

	int head = mlen == 4 && !strncmp(req, "HEAD", 4);
	if (!head && !(mlen == 3 && !strncmp(req, "GET", 3)))
		return send_error(c, 405, "Method Not Allowed", keep, 0);
	if (target[0] != '/')
		return send_error(c, 400, "Bad Request", 0, head);

	/* the file: root + decoded path, resolved, and still under root */
	char path[NK_PATH_MAX], real[NK_PATH_MAX];
	memcpy(path, root, rootlen);
	int plen = decode_path(target, tlen, path + rootlen, sizeof(path) - rootlen - 16);
	if (plen < 0)
		return send_error(c, 400, "Bad Request", 0, head);
	if (path[rootlen + (size_t)plen - 1] == '/')
		strcpy(path + rootlen + plen, "index.html");
	if (kern_path_resolve(path, real, sizeof(real)) < 0 || !inside_root(real))
		return send_error(c, 404, "Not Found", keep, head);

	struct kstat st;
	if (vfs_stat(real, &st))
		return send_error(c, 404, "Not Found", keep, head);
	if (st.mode == NK_S_IFDIR) {
		size_t rl = strlen(real);
		if (rl + sizeof("/index.html") > sizeof(real))
			return send_error(c, 404, "Not Found", keep, head);
		strcpy(real + rl, "/index.html");
		memcpy(path, real, rl + sizeof("/index.html"));
		if (kern_path_resolve(path, real, sizeof(real)) < 0 || !inside_root(real))
			return send_error(c, 404, "Not Found", keep, head);
	}

	struct file *f;
	if (filp_open(real, &f))
		return send_error(c, 404, "Not Found", keep, head);
	long long size = f->size;
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 200 OK\r\nServer: khttpd\r\n"
			 "Content-Type: %s\r\nContent-Length: %lld\r\n"
			 "Connection: %s\r\n\r\n",
			 content_type(real), size, keep ? "keep-alive" : "close");
	int ok = !send_all(c, hdr, (size_t)n);
	if (ok && !head && size > 0)
		ok = kernel_sendfile(c, f, 0, (size_t)size) == size;
	fput(f);
	__atomic_add_fetch(&served, 1, __ATOMIC_RELAXED);
	ds_add(SERVED_KEY, 1);
	return ok && keep;
}

/* Where the header block of the first request in buf[0, have) ends (just
 * after its blank line), or 0 if it is not all there yet. */
static size_t header_end(const char *buf, size_t have)
{
	for (size_t i = 0; i + 1 < have; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < have && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* One connection, request after request, until either side ends it. */
static void serve(struct socket *c)
{
	char buf[MAX_HEADER];
	size_t have = 0;

	kernel_sock_set_timeout(c, IDLE_TIMEOUT_MS);
	for (;;) {
		size_t hend;
		while (!(hend = header_end(buf, have))) {
			if (have == sizeof(buf)) {
				if (!memchr(buf, '\n', have) && have > MAX_REQUEST_LINE)
					send_error(c, 414, "URI Too Long", 0, 0);
				else
					send_error(c, 431, "Request Header Fields Too Large", 0, 0);
				return;
			}
			if (have > MAX_REQUEST_LINE && !memchr(buf, '\n', have)) {
				send_error(c, 414, "URI Too Long", 0, 0);
				return;
			}
			ssize_t n = kernel_recv(c, buf + have, sizeof(buf) - have, 0);
			if (n <= 0) {
#ifdef KHTTPD_DOUBLE_RELEASE
				if (n == 0)	/* the client is gone: let it go (the bug) */
					sock_release(c);
#endif
				return;
			}
			have += (size_t)n;
		}
		const char *nl = memchr(buf, '\n', hend);
		if ((size_t)(nl - buf) > MAX_REQUEST_LINE) {
			send_error(c, 414, "URI Too Long", 0, 0);
			return;
		}
		int keep = handle(c, buf, hend);
		memmove(buf, buf + hend, have - hend);
		have -= hend;
		if (!keep) {
			kernel_sock_shutdown(c, SHUT_WR_NK);
			return;
		}
	}
}

static int worker(struct task_struct *task)
{
	(void)task;
	while (!kthread_should_stop()) {
		struct socket *c;
		int r = kernel_accept(listener, &c, 0);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			msleep(10);
			continue;
		}
		serve(c);
		sock_release(c);
	}
	return 0;
}

static const struct kthread_ops worker_ops = { .threadfn = worker };

/* ---- the module ------------------------------------------------------------ */

static long param_long(const char *name, long def, long min, long max)
{
	char buf[32], *end;
	if (module_param_get(name, buf, sizeof(buf)) < 0)
		return def;
	long v = strtol(buf, &end, 10);
	if (*end || end == buf || v < min || v > max) {
		pr_err("khttpd: %s=%s: not a number in [%ld, %ld]", name, buf, min, max);
		return -1;
	}
	return v;
}

static int parse_addr(const char *s, unsigned int *out)
{
	unsigned int a = 0;
	for (int i = 0; i < 4; i++) {
		char *end;
		long part = strtol(s, &end, 10);
		if (end == s || part < 0 || part > 255 || (i < 3 ? *end != '.' : *end != 0))
			return -1;
		a = a << 8 | (unsigned int)part;
		s = end + 1;
	}
	*out = a;
	return 0;
}

static void stop_workers(void)
{
	while (nworkers > 0) {
		struct task_struct *t = workers[--nworkers];
		kthread_stop(t);
		put_task_struct(t);
	}
}

int init_module(void)
{
	char dir[NK_PATH_MAX], addr[32] = "127.0.0.1";
	struct nk_sockaddr_in sa;
	struct kstat st;
	int r;

	if (module_param_get("root", dir, sizeof(dir)) < 0)
		strcpy(dir, ".");
	long port = param_long("port", 8080, 1, 65535);
	long threads = param_long("threads", 4, 1, MAX_THREADS);
	if (port < 0 || threads < 0)
		return -EINVAL;
	module_param_get("addr", addr, sizeof(addr));
	if (parse_addr(addr, &sa.addr)) {
		pr_err("khttpd: addr=%s: not an IPv4 address", addr);
		return -EINVAL;
	}
	sa.port = (unsigned short)port;
	if ((r = kern_path_resolve(dir, root, sizeof(root))) < 0 || (r = vfs_stat(root, &st)) ||
	    (st.mode != NK_S_IFDIR && (r = -ENOTDIR))) {
		pr_err("khttpd: root=%s: %s", dir, strerror(-r));
		return r;
	}
	rootlen = strlen(root);

	if ((r = sock_create_kern(NK_AF_INET, NK_SOCK_STREAM, 0, &listener)))
		return r;
	if ((r = kernel_bind(listener, &sa)) || (r = kernel_listen(listener, 128))) {
		pr_err("khttpd: %s:%ld: %s", addr, port, strerror(-r));
		sock_release(listener);
		return r;
	}
	for (int i = 0; i < threads; i++) {
		char name[TASK_COMM_LEN];
		snprintf(name, sizeof(name), "khttpd/%d", i % 100);
		struct task_struct *t = kthread_run(&worker_ops, NULL, name);
		if (!t) {
			stop_workers();
			sock_release(listener);
			return -ENOMEM;
		}
		workers[nworkers++] = t;
	}
	long long total = ds_add(SERVED_KEY, 0);
	pr_info("khttpd: serving %s on http://%s:%ld/ with %ld threads (%lld requests served before)",
		root, addr, port, threads, total < 0 ? 0 : total);
	return 0;
}

void cleanup_module(void)
{
	stop_workers();
	sock_release(listener);
	long long total = ds_add(SERVED_KEY, 0);
	pr_info("khttpd: stopped after %lu requests (%lld in all)", served, total < 0 ? 0 : total);
}
