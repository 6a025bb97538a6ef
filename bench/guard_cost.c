// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The uplink guard's cost per packet under BPF_PROG_TEST_RUN, beside an empty XDP
 * program and Debian's xdp-filter (xdpfilt_alw_all.o from libxdp1, no rules: every
 * packet passes its lookups) on the same 64-byte TCP SYN, in one run. The guard runs as
 * on a native uplink: blocklisted prefixes (0, 1k, 10k, 100k random prefixes that do
 * not cover the sender), per-source packet and bit rates, and metering. Every case is
 * its own private datapath, configured once through the real configuration and apply
 * code; rounds alternate between the cases and medians are compared. The program fails
 * loudly if a packet does not pass (a drop would be a cheaper, different path).
 *
 *   guard_cost [REPEAT] [XDP_FILTER_OBJECT]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "empty_xdp.skel.h"
#include "guard.h"
#include "lpm.h"
#include "result.h"
#include "test_run.h"

#define ROUNDS 9
#define XDP_PASS_RC 2

static const int sizes[] = { 0, 1000, 10000, 100000 };
#define N_SIZES (int)(sizeof(sizes) / sizeof(sizes[0]))

static char dir[] = "/tmp/tollgate-guard-cost.XXXXXX";

static uint32_t xdp_ns(int prog_fd, uint8_t *frame, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = 64,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		perror("BPF_PROG_TEST_RUN");
		exit(1);
	}
	if (opts.retval != XDP_PASS_RC) {
		fprintf(stderr, "guard_cost: the test packet was not passed (verdict %u)\n",
			opts.retval);
		exit(1);
	}
	return opts.duration;
}

/* n random prefixes /16../32 outside 10.0.0.0/8 (the sender's) into path; with marked,
 * also 10.1.0.128/25, which shares the sender's /24 without covering it, so that the
 * hint cannot spare the trie walk (the worst case for a legitimate sender). */
static void write_list(const char *path, int n, bool marked)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(1);
	}
	srandom(42);
	for (int i = 0; i < n; i++) {
		uint32_t a = (uint32_t)random() << 1 ^ (uint32_t)random();
		int len = 16 + random() % 17;

		if ((a >> 24) == 10)
			a ^= 0x40000000;
		a &= len == 32 ? ~0u : ~(~0u >> len);
		fprintf(f, "%u.%u.%u.%u/%d\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255,
			len);
	}
	if (marked)
		fprintf(f, "10.1.0.128/25\n");
	fclose(f);
}

/* A private datapath configured with the guard (n prefixes, per-source rates when rates)
 * or without (n < 0). */
static struct tg_datapath *guarded(int n, bool rates, bool marked, struct tg_applied *ap)
{
	struct tg_datapath_opts o = { .flow_capacity = 65536 };
	struct tg_iface ifc = { .role = TG_ROLE_UPLINK,
				.flags = TG_IFACE_XDP_METERS,
				.name = "lo" };
	char conf[512], list[512];
	struct tg_config cfg = {};
	struct tg_diags d = {};
	struct tg_datapath *dp;
	uint32_t lo = 1;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/guard-%d%s%s.yaml", dir, n, rates ? "" : "-norates",
		 marked ? "-marked" : "");
	snprintf(list, sizeof(list), "%s/block-%d%s.txt", dir, n, marked ? "-marked" : "");
	f = fopen(conf, "w");
	if (!f) {
		perror(conf);
		exit(1);
	}
	fprintf(f, "tenants: [{name: t, cidrs: [192.0.2.0/24]}]\n"
		   "uplink:\n  interfaces: [eth0]\n");
	if (n >= 0) {
		write_list(list, n, marked);
		fprintf(f, "  blocklist_files: [%s]\n", list);
		if (rates)
			fprintf(f, "  rate_limit: {pps: 100000000, bps: 100gbit}\n");
	}
	fclose(f);
	if (tg_config_load(conf, &cfg, &d) || unlink(conf) || (n >= 0 && unlink(list))) {
		tg_diags_print(&d, conf, stderr);
		exit(1);
	}
	if (tg_datapath_load(NULL, &o, &dp) || tg_apply(tg_datapath_maps(dp), &cfg, ap) ||
	    tg_guard_apply(tg_datapath_maps(dp), &cfg, ap, true) ||
	    bpf_map_update_elem(tg_datapath_maps(dp)->ifaces, &lo, &ifc, BPF_ANY)) {
		fprintf(stderr, "guard_cost: cannot set up the guard with %d prefixes\n", n);
		exit(1);
	}
	tg_config_free(&cfg);
	tg_diags_free(&d);
	return dp;
}

static int xdp_filter(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;
	struct bpf_map *map;

	if (!obj) {
		fprintf(stderr, "guard_cost: cannot open %s (make deps installs xdp-tools)\n",
			path);
		exit(1);
	}
	bpf_object__for_each_map (map, obj)
		bpf_map__set_pin_path(map, NULL);
	prog = bpf_object__next_program(obj, NULL);
	if (!prog || bpf_object__load(obj)) {
		fprintf(stderr, "guard_cost: cannot load %s\n", path);
		exit(1);
	}
	return bpf_program__fd(prog);
}

int main(int argc, char **argv)
{
	int repeat = argc > 1 ? atoi(argv[1]) : 2000000;
	const char *filt = argc > 2 ? argv[2] : "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o";
	/* the sizes with rates; then no guard; the largest list without rates; the largest
	 * list with rates and the sender's /16 marked */
	enum { OFF = N_SIZES, NORATE, MARKED, NCASES };
	uint32_t empty_ns[ROUNDS], filt_ns[ROUNDS], ns[NCASES][ROUNDS];
	struct tg_applied ap[NCASES] = {};
	struct tg_datapath *dp[NCASES];
	struct empty_xdp_bpf *empty;
	int filt_fd, fd[NCASES];
	uint8_t frame[64];
	uint32_t base, zero;

	tg_libbpf_quiet();
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	empty = empty_xdp_bpf__open_and_load();
	if (!empty)
		return 1;
	filt_fd = xdp_filter(filt);
	for (int i = 0; i < NCASES; i++) {
		int n = i < N_SIZES ? sizes[i] : i == OFF ? -1 : sizes[N_SIZES - 1];

		dp[i] = guarded(n, i != NORATE, i == MARKED, &ap[i]);
		fd[i] = tg_datapath_prog_fd(dp[i], TG_PROG_XDP);
	}
	syn_frame(frame);
	inet_pton(AF_INET, "192.0.2.2", frame + 30);

	for (int r = 0; r < ROUNDS; r++) {
		empty_ns[r] = xdp_ns(bpf_program__fd(empty->progs.empty_xdp), frame, repeat);
		filt_ns[r] = xdp_ns(filt_fd, frame, repeat);
		for (int i = 0; i < NCASES; i++)
			ns[i][r] = xdp_ns(fd[i], frame, repeat);
	}
	qsort(empty_ns, ROUNDS, sizeof(uint32_t), cmp_u32);
	qsort(filt_ns, ROUNDS, sizeof(uint32_t), cmp_u32);
	for (int i = 0; i < NCASES; i++)
		qsort(ns[i], ROUNDS, sizeof(uint32_t), cmp_u32);
	base = filt_ns[ROUNDS / 2];
	zero = ns[0][ROUNDS / 2];
	printf("%-60s %10s %8s %8s\n", "BPF_PROG_TEST_RUN XDP, 64-byte TCP SYN", "median ns",
	       "/filter", "/0 CIDR");
	printf("%-60s %10u %8.2f %8s\n", "empty XDP program", empty_ns[ROUNDS / 2],
	       (double)empty_ns[ROUNDS / 2] / base, "");
	printf("%-60s %10u %8.2f %8s\n", "xdp-filter, xdpfilt_alw_all.o (baseline)", base, 1.0, "");
	printf("%-60s %10u %8.2f %8s\n", "tollgate uplink: meter + bans, no guard config",
	       ns[OFF][ROUNDS / 2], (double)ns[OFF][ROUNDS / 2] / base, "");
	printf("%-60s %10u %8.2f %8s\n", "tollgate guard: 100000 blocked CIDRs + meter, no rates",
	       ns[NORATE][ROUNDS / 2], (double)ns[NORATE][ROUNDS / 2] / base, "");
	for (int i = 0; i < N_SIZES; i++) {
		char name[80];

		snprintf(name, sizeof(name), "tollgate guard: %d blocked CIDRs + rates + meter",
			 sizes[i]);
		printf("%-60s %10u %8.2f %8.2f\n", name, ns[i][ROUNDS / 2],
		       (double)ns[i][ROUNDS / 2] / base, (double)ns[i][ROUNDS / 2] / zero);
	}
	printf("%-60s %10u %8.2f %8.2f\n",
	       "tollgate guard: 100000 + rates + meter, sender's /24 listed",
	       ns[MARKED][ROUNDS / 2], (double)ns[MARKED][ROUNDS / 2] / base,
	       (double)ns[MARKED][ROUNDS / 2] / zero);
	{
		uint64_t *h = tg_hint4_map(tg_datapath_maps(dp[N_SIZES - 1])->gset4_hint);
		uint64_t marked = 0;

		for (uint32_t i = 0; h && i < TG_GSET4_HINT_WORDS; i++)
			marked += __builtin_popcountll(h[i]);
		tg_hint4_unmap(h);
		printf("(the %d-prefix list marks %.1f%% of the /24s: a sender there walks the "
		       "trie)\n",
		       sizes[N_SIZES - 1], 100.0 * (double)marked / (1u << 24));
	}
	{
		const char *x = "xdp-filter", *u = "ns/pkt";
		uint32_t big = ns[N_SIZES - 1][ROUNDS / 2];

		bench_result("empty XDP program (BPF_PROG_TEST_RUN)", x, u, base,
			     empty_ns[ROUNDS / 2]);
		bench_result("guard: uplink meter + bans, no guard config", x, u, base,
			     ns[OFF][ROUNDS / 2]);
		bench_result("guard: 100k CIDRs + rates + meter", x, u, base, big);
		bench_result("guard: 100k CIDRs + rates + meter", "empty XDP program", u,
			     empty_ns[ROUNDS / 2], big);
		bench_result("guard: 100k CIDRs + rates + meter", "the guard with 0 CIDRs", u, zero,
			     big);
		bench_result("guard: 100k CIDRs, sender's /24 listed", x, u, base,
			     ns[MARKED][ROUNDS / 2]);
	}
	for (int i = 0; i < NCASES; i++) {
		tg_datapath_close(dp[i]);
		tg_applied_free(&ap[i]);
	}
	empty_xdp_bpf__destroy(empty);
	rmdir(dir);
	return 0;
}
