// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A paced generator of runtime events for tests/e2e/event_flood.sh: opens (and closes) a
 * file RATE times a second for SECONDS seconds, then prints what it did:
 *
 *	ev_flood RATE SECONDS [PATH]      RATE 0: as fast as it can
 *	opens N seconds S rate R          (on standard output)
 *
 * Pacing: at every moment the number of opens done is what RATE allows since the start
 * (rounded down); it catches up in a burst after a late wake-up and sleeps 1 ms when
 * ahead, so over the run the rate is RATE unless the machine cannot keep up, which the
 * printed rate shows. Every open(2) is an openat(2) system call, the tracepoint
 * Tollgate and bpftrace both count; PATH need not exist (the attempt is the event).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *path = argc > 3 ? argv[3] : "/dev/null";
	double rate, secs, t0, t;
	unsigned long long n = 0, due;
	char *end;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: ev_flood RATE SECONDS [PATH]\n");
		return 2;
	}
	rate = strtod(argv[1], &end);
	if (*end || rate < 0)
		return 2;
	secs = strtod(argv[2], &end);
	if (*end || secs <= 0)
		return 2;
	t0 = now();
	for (;;) {
		t = now() - t0;
		if (t >= secs)
			break;
		due = rate > 0 ? (unsigned long long)(rate * t) : n + 256;
		if (n >= due) {
			struct timespec ms = { 0, 1000000 };

			nanosleep(&ms, NULL);
			continue;
		}
		while (n < due) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
			else if (errno != ENOENT)
				return 1;
			n++;
		}
	}
	t = now() - t0;
	printf("opens %llu seconds %.3f rate %.0f\n", n, t, (double)n / t);
	return 0;
}
