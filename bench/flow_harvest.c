// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reading a full flow table: batch lookups against the per-key walk (get_next_key plus
 * lookup), on the real tg_flows map at its default capacity, filled with distinct flows.
 * Rounds alternate between the two methods; medians are compared.
 *
 *   flow_harvest [CAPACITY]
 *   flow_harvest --fill PIN_PATH COUNT TENANTS
 *      fills a running agent's pinned flow table (bench/agent_scale.sh) with COUNT
 *      distinct flows of tenant ids 1..TENANTS, stamped as seen an hour from now so that
 *      none goes idle while it is measured; then times one read of the whole table as
 *      the agent reads it, and prints: entries=N read_s=WALL read_cpu_s=CPU
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "datapath.h"
#include "flows.h"
#include "result.h"

#define ROUNDS 5

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int fill(int fd, uint32_t n, uint32_t tenants, uint64_t first_ns, uint64_t last_ns)
{
	int cpus = libbpf_num_possible_cpus();
	const uint32_t chunk = 8192;
	struct tg_flow_key *keys = calloc(chunk, sizeof(*keys));
	struct tg_flow *vals = calloc((size_t)chunk * cpus, sizeof(*vals));
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int err = 0;

	if (!keys || !vals)
		return -ENOMEM;
	for (uint32_t base = 0; base < n && !err; base += chunk) {
		uint32_t count = n - base < chunk ? n - base : chunk;

		for (uint32_t i = 0; i < count; i++) {
			uint32_t id = base + i;

			memset(&keys[i], 0, sizeof(keys[i]));
			keys[i].tenant_id = 1 + id % tenants;
			keys[i].family = 4;
			keys[i].proto = 17;
			keys[i].src[0] = 10;
			keys[i].src[1] = id >> 16;
			keys[i].src[2] = id >> 8;
			keys[i].src[3] = id;
			keys[i].dst[0] = 192;
			keys[i].dport = 0x3500;
			for (int c = 0; c < cpus; c++) {
				vals[(size_t)i * cpus + c] =
					(struct tg_flow){ .packets = c + 1,
							  .bytes = 100 * (c + 1),
							  .first_ns = first_ns,
							  .last_ns = last_ns };
			}
		}
		if (bpf_map_update_batch(fd, keys, vals, &count, &opts))
			err = -errno;
	}
	free(keys);
	free(vals);
	return err;
}

/* --fill PIN_PATH COUNT TENANTS */
static int fill_pinned(const char *pin, uint32_t n, uint32_t tenants)
{
	struct tg_flow_entry *fl = NULL;
	struct timespec ts;
	struct tg_maps m;
	size_t got = 0;
	uint64_t now;
	struct timespec c0, c1;
	double t0, t;
	int err;

	if (!n || !tenants) {
		fprintf(stderr, "flow_harvest: COUNT and TENANTS must be positive\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	err = tg_maps_open_pinned(pin, &m);
	if (!err)
		err = fill(m.flows, n, tenants, now, now + 3600ull * 1000000000ull);
	if (err) {
		fprintf(stderr, "flow_harvest: cannot fill the flow table under %s: %s\n", pin,
			strerror(-err));
		tg_maps_close(&m);
		return 1;
	}
	t0 = now_s();
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	err = tg_flows_read(m.flows, TG_FLOW_READ_AUTO, &fl, &got);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	t = now_s() - t0;
	free(fl);
	tg_maps_close(&m);
	if (err) {
		fprintf(stderr, "flow_harvest: cannot read the flow table: %s\n", strerror(-err));
		return 1;
	}
	printf("entries=%zu read_s=%.3f read_cpu_s=%.3f\n", got, t,
	       (double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : TG_DEFAULT_FLOWS;
	struct tg_datapath_opts o = { .flow_capacity = n };
	double tb[ROUNDS], tk[ROUNDS];
	size_t got_b = 0, got_k = 0;
	struct tg_datapath *dp;
	int fd, err;

	tg_libbpf_quiet();
	if (argc > 1 && !strcmp(argv[1], "--fill")) {
		if (argc != 5) {
			fprintf(stderr, "usage: flow_harvest --fill PIN_PATH COUNT TENANTS\n");
			return 2;
		}
		return fill_pinned(argv[2], (uint32_t)strtoul(argv[3], NULL, 0),
				   (uint32_t)strtoul(argv[4], NULL, 0));
	}
	err = tg_datapath_load(NULL, &o, &dp);
	if (err) {
		fprintf(stderr, "flow_harvest: cannot load: %s\n", strerror(-err));
		return 1;
	}
	fd = tg_datapath_maps(dp)->flows;
	err = fill(fd, n, 1000, 1, 2);
	if (err) {
		fprintf(stderr, "flow_harvest: cannot fill the table: %s\n", strerror(-err));
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		struct tg_flow_entry *fl;
		double t0;

		t0 = now_s();
		if (tg_flows_read(fd, TG_FLOW_READ_BATCH, &fl, &got_b))
			return 1;
		tb[r] = now_s() - t0;
		free(fl);
		t0 = now_s();
		if (tg_flows_read(fd, TG_FLOW_READ_PER_KEY, &fl, &got_k))
			return 1;
		tk[r] = now_s() - t0;
		free(fl);
		printf("round %d: batch %.3f s, per-key %.3f s (%zu / %zu entries)\n", r + 1, tb[r],
		       tk[r], got_b, got_k);
	}
	qsort(tb, ROUNDS, sizeof(double), cmp_d);
	qsort(tk, ROUNDS, sizeof(double), cmp_d);
	printf("%-44s %14s %8s\n", "flow table read (capacity entries)", "entries/s", "ratio");
	printf("%-44s %14.0f %8.2f\n", "per-key get_next_key + lookup (baseline)",
	       got_k / tk[ROUNDS / 2], 1.0);
	printf("%-44s %14.0f %8.2f\n", "batch lookup (BPF_MAP_LOOKUP_BATCH)",
	       got_b / tb[ROUNDS / 2], tk[ROUNDS / 2] / tb[ROUNDS / 2]);
	printf("entries in the table: %zu of capacity %u (%d possible CPUs)\n", got_b, n,
	       libbpf_num_possible_cpus());
	bench_result("flow table read, batch (1M entries)", "per-key walk", "entries/s",
		     got_k / tk[ROUNDS / 2], got_b / tb[ROUNDS / 2]);
	tg_datapath_close(dp);
	return 0;
}
