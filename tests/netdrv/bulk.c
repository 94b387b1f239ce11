/*
 * bulk - byte-exact bulk transfers and packet floods through netdrv, for
 * tests/netdrv/run.sh and bench/netdrv.sh.
 *
 *   bulk recv PORT BYTES SEED      accept one TCP connection, read BYTES
 *                                  and check every one against the
 *                                  stream SEED gives; "ok N bytes R MB/s"
 *   bulk send ADDR PORT BYTES SEED connect (retrying for 10 s), send the
 *                                  stream, wait for the receiver to close
 *   bulk udprecv PORT SECONDS      count UDP datagrams for SECONDS after
 *                                  the first; "N packets R pps"
 *   bulk udpsend ADDR PORT SECONDS SIZE   send SIZE-byte datagrams for
 *                                  SECONDS, as fast as the socket takes them
 *
 * The stream is xorshift64 of SEED, 8 bytes a step: a lost, repeated or
 * changed byte anywhere is a mismatch (exit 1, with its offset).  Exit 2
 * on a usage or network error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct stream {
	uint64_t x;
	unsigned char buf[8];
	unsigned used;
};

static void stream_init(struct stream *s, uint64_t seed)
{
	s->x = seed ? seed : 0x9e3779b97f4a7c15ULL;
	s->used = 8;
}

static unsigned char stream_byte(struct stream *s)
{
	if (s->used == 8) {
		s->x ^= s->x << 13;
		s->x ^= s->x >> 7;
		s->x ^= s->x << 17;
		memcpy(s->buf, &s->x, 8);
		s->used = 0;
	}
	return s->buf[s->used++];
}

static int die(const char *what)
{
	fprintf(stderr, "bulk: %s: %s\n", what, strerror(errno));
	return 2;
}

static int addr_of(const char *host, const char *port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int listener(const char *port, int type)
{
	struct sockaddr_in sa;
	int one = 1, fd = socket(AF_INET, type, 0);
	addr_of("0.0.0.0", port, &sa);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || (type == SOCK_STREAM && listen(fd, 1)))
		return -1;
	return fd;
}

static int do_recv(const char *port, unsigned long long bytes, uint64_t seed)
{
	static unsigned char buf[1 << 16];
	struct stream s;
	unsigned long long got = 0;
	int lfd = listener(port, SOCK_STREAM);
	if (lfd < 0)
		return die("listen");
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return die("accept");
	stream_init(&s, seed);
	double t0 = now();
	while (got < bytes) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "bulk: connection ended after %llu of %llu bytes\n", got, bytes);
			return 1;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != stream_byte(&s)) {
				fprintf(stderr, "bulk: byte %llu differs\n", got + (unsigned long long)i);
				return 1;
			}
		got += (unsigned long long)n;
	}
	double dt = now() - t0;
	char extra;
	if (read(fd, &extra, 1) > 0) {
		fprintf(stderr, "bulk: more than %llu bytes\n", bytes);
		return 1;
	}
	printf("ok %llu bytes %.1f MB/s\n", got, (double)got / 1e6 / (dt > 0 ? dt : 1e-9));
	close(fd);
	return 0;
}

static int do_send(const char *host, const char *port, unsigned long long bytes, uint64_t seed)
{
	static unsigned char buf[1 << 16];
	struct sockaddr_in sa;
	struct stream s;
	int fd = -1;
	if (addr_of(host, port, &sa))
		return die("address");
	for (int i = 0; i < 100; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(fd);
		fd = -1;
		usleep(100000);
	}
	if (fd < 0)
		return die("connect");
	stream_init(&s, seed);
	double t0 = now();
	for (unsigned long long sent = 0; sent < bytes;) {
		size_t n = bytes - sent < sizeof(buf) ? (size_t)(bytes - sent) : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = stream_byte(&s);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return die("write");
			off += (size_t)w;
		}
		sent += n;
	}
	shutdown(fd, SHUT_WR);
	char c;
	while (read(fd, &c, 1) > 0)
		;
	double dt = now() - t0;
	printf("sent %llu bytes %.1f MB/s\n", bytes, (double)bytes / 1e6 / (dt > 0 ? dt : 1e-9));
	return 0;
}

static int do_udprecv(const char *port, double seconds)
{
	char buf[65536];
	unsigned long long n = 0;
	int fd = listener(port, SOCK_DGRAM);
	if (fd < 0)
		return die("bind");
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (recv(fd, buf, sizeof(buf), 0) < 0)
		return die("recv");
	tv.tv_sec = 0;
	tv.tv_usec = 200000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	double t0 = now();
	while (now() - t0 < seconds)
		if (recv(fd, buf, sizeof(buf), 0) > 0)
			n++;
	printf("%llu packets %.0f pps\n", n, (double)n / seconds);
	return 0;
}

static int do_udpsend(const char *host, const char *port, double seconds, size_t size)
{
	static char buf[65536];
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || addr_of(host, port, &sa) || size > sizeof(buf))
		return die("socket");
	double t0 = now();
	unsigned long long n = 0;
	while (now() - t0 < seconds + 0.5)
		for (int i = 0; i < 64; i++)
			if (sendto(fd, buf, size, 0, (struct sockaddr *)&sa, sizeof(sa)) > 0)
				n++;
	printf("sent %llu datagrams\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "recv"))
		return do_recv(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
	if (argc == 6 && !strcmp(argv[1], "send"))
		return do_send(argv[2], argv[3], strtoull(argv[4], NULL, 10),
			       strtoull(argv[5], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "udprecv"))
		return do_udprecv(argv[2], atof(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "udpsend"))
		return do_udpsend(argv[2], argv[3], atof(argv[4]), (size_t)atoi(argv[5]));
	fprintf(stderr, "usage: bulk recv PORT BYTES SEED | send ADDR PORT BYTES SEED |\n"
		"       udprecv PORT SECONDS | udpsend ADDR PORT SECONDS SIZE\n");
	return 2;
}
