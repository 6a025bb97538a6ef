// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rr: TCP request/response ping-pong, for bench/accounting.sh (netperf's TCP_RR is not in
 * Debian main). One connection, TCP_NODELAY on both ends; the client writes a SIZE-byte
 * request, the server answers SIZE bytes, and the client times each transaction (write
 * to the last byte of the answer) with CLOCK_MONOTONIC.
 *
 *   rr -l [-b ADDR] [-p PORT] [-s SIZE]
 *      serves one connection after another, forever
 *   rr -c ADDR [-p PORT] [-s SIZE] [-n COUNT] [-w WARMUP]
 *      -> one line: size=S n=N p50_ns=A p99_ns=B mean_ns=C min_ns=D
 *
 * Exits 1 with a message on any error (a short read, a closed connection).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 65536

static uint8_t buf[MAX_SIZE];

static int full(int fd, size_t len, int rd)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n =
			rd ? read(fd, buf + done, len - done) : write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		done += (size_t)n;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int serve(const char *addr, int port, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (lfd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 8)) {
		fprintf(stderr, "rr: cannot listen on %s:%d: %s\n", addr, port, strerror(errno));
		return 1;
	}
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "rr: accept: %s\n", strerror(errno));
			return 1;
		}
		nodelay(fd);
		while (!full(fd, size, 1) && !full(fd, size, 0))
			;
		close(fd);
	}
}

static int client(const char *addr, int port, size_t size, long count, long warmup)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	uint64_t *lat = calloc((size_t)count, sizeof(*lat)), sum = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (!lat || fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "rr: cannot connect to %s:%d: %s\n", addr, port, strerror(errno));
		return 1;
	}
	nodelay(fd);
	memset(buf, 'r', size);
	for (long i = -warmup; i < count; i++) {
		uint64_t t0 = now_ns();

		err = full(fd, size, 0);
		if (!err)
			err = full(fd, size, 1);
		if (err) {
			fprintf(stderr, "rr: transaction %ld: %s\n", i, strerror(-err));
			return 1;
		}
		if (i >= 0)
			lat[i] = now_ns() - t0;
	}
	close(fd);
	for (long i = 0; i < count; i++)
		sum += lat[i];
	qsort(lat, (size_t)count, sizeof(*lat), cmp_u64);
	printf("size=%zu n=%ld p50_ns=%llu p99_ns=%llu mean_ns=%llu min_ns=%llu\n", size, count,
	       (unsigned long long)lat[count / 2], (unsigned long long)lat[count * 99 / 100],
	       (unsigned long long)(sum / (uint64_t)count), (unsigned long long)lat[0]);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	const char *addr = NULL, *bind_addr = "0.0.0.0";
	long count = 10000, warmup = 1000;
	int c, port = 7007, listen_mode = 0;
	size_t size = 64;

	while ((c = getopt(argc, argv, "lb:c:p:s:n:w:")) != -1) {
		switch (c) {
		case 'l':
			listen_mode = 1;
			break;
		case 'b':
			bind_addr = optarg;
			break;
		case 'c':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 'w':
			warmup = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || listen_mode == !!addr || size < 1 || size > MAX_SIZE || count < 1 ||
	    warmup < 0 || port < 1 || port > 65535)
		goto usage;
	return listen_mode ? serve(bind_addr, port, size) : client(addr, port, size, count, warmup);
usage:
	fprintf(stderr, "usage: rr -l [-b ADDR] [-p PORT] [-s SIZE]\n"
			"       rr -c ADDR [-p PORT] [-s SIZE] [-n COUNT] [-w WARMUP]\n");
	return 2;
}
