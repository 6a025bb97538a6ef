/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the per-packet benchmarks share: the test frame, one timed BPF_PROG_TEST_RUN, and
 * the sort for medians.
 */
#ifndef TG_BENCH_TEST_RUN_H
#define TG_BENCH_TEST_RUN_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static inline int cmp_u32(const void *a, const void *b)
{
	return (int)(*(const uint32_t *)a > *(const uint32_t *)b) -
	       (int)(*(const uint32_t *)a < *(const uint32_t *)b);
}

/* A 64-byte frame: Ethernet, IPv4, TCP SYN, padding; from 10.1.0.2 to 192.0.2.2:8080. */
static inline void syn_frame(uint8_t *f)
{
	memset(f, 0, 64);
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 40;
	f[22] = 64;
	f[23] = 6;
	inet_pton(AF_INET, "10.1.0.2", f + 26);
	inet_pton(AF_INET, "192.0.2.2", f + 30);
	f[36] = 0x1f; /* dport 8080 */
	f[37] = 0x90;
	f[46] = 0x50;
	f[47] = 0x02; /* SYN */
}

/* Mean ns per run of prog_fd over repeat runs of frame (64 bytes) on ifindex 1; the
 * program's verdict in *retval when not NULL. Exits on failure. */
static inline uint32_t run_ns(int prog_fd, uint8_t *frame, int repeat, uint32_t *retval)
{
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = 64, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		perror("BPF_PROG_TEST_RUN");
		exit(1);
	}
	if (retval)
		*retval = opts.retval;
	return opts.duration;
}

#endif /* TG_BENCH_TEST_RUN_H */
