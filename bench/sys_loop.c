// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sys_loop: the cost of one openat(2) in a tight loop, for bench/syscalls.sh. It moves
 * itself into a cgroup (v2, by its cgroup.procs file), warms up, then times CALLS opens
 * of a path that does not exist (each fails with ENOENT after the lookup, so there is
 * nothing to close and the loop is one system call per turn), SAMPLES times, and prints
 * the median of the samples. The time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID):
 * the tracepoint programs run in the system call, on the thread's time, while the time
 * other tasks take the CPU away does not count (this machine is shared):
 *
 *   sys_loop CGROUP_PROCS CALLS SAMPLES
 *   -> ns_per_call=X calls=N (N: every openat made, warm-up included)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PATH "/etc/tollgate-bench/none"
#define MAX_SAMPLES 64

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int opens(long calls)
{
	for (long i = 0; i < calls; i++) {
		if (openat(AT_FDCWD, PATH, O_RDONLY | O_CLOEXEC) >= 0 || errno != ENOENT) {
			fprintf(stderr, "sys_loop: %s: expected ENOENT\n", PATH);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	long calls = argc > 2 ? atol(argv[2]) : 0, samples = argc > 3 ? atol(argv[3]) : 0;
	double ns[MAX_SAMPLES];
	char pid[32];
	int fd, len;

	if (argc != 4 || calls <= 0 || samples <= 0 || samples > MAX_SAMPLES) {
		fprintf(stderr, "usage: sys_loop CGROUP_PROCS CALLS SAMPLES (at most %d)\n",
			MAX_SAMPLES);
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CLOEXEC);
	len = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (fd < 0 || write(fd, pid, (size_t)len) != len) {
		fprintf(stderr, "sys_loop: cannot move to %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	close(fd);
	if (opens(calls / 4))
		return 1;
	for (long s = 0; s < samples; s++) {
		double t0 = now_ns();

		if (opens(calls))
			return 1;
		ns[s] = (now_ns() - t0) / calls;
	}
	qsort(ns, (size_t)samples, sizeof(ns[0]), cmp_double);
	printf("ns_per_call=%.1f calls=%ld\n", ns[samples / 2], calls / 4 + calls * samples);
	return 0;
}
