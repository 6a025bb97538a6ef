// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The flow table under pressure: twice its capacity of distinct flows through the real
 * uplink program. Billing must stay exact (it never depends on flow entries) and every
 * flow the kernel made must be either in the table or counted as evicted. The expected
 * numbers are the test's own: how many frames of which length it sent.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "flows.h"
#include "tap.h"

#define CAPACITY 1024
#define FLOWS (2 * CAPACITY)
#define LEN 128

static const char conf[] = "tenants:\n"
			   "  - name: acme\n"
			   "    cidrs: [10.7.0.0/16]\n";

static void frame(unsigned char *f, uint32_t i)
{
	memset(f, 0, LEN);
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = LEN - 14;
	f[22] = 64;
	f[23] = 17;
	f[26] = 10, f[27] = 7, f[28] = i >> 8, f[29] = i; /* 10.7.x.y: acme, egress */
	inet_pton(AF_INET, "198.51.100.9", f + 30);
	f[34] = 0x80, f[35] = 0x00, f[36] = 0x00, f[37] = 0x35;
	f[39] = LEN - 34;
}

int main(void)
{
	struct tg_datapath_opts o = { .flow_capacity = CAPACITY };
	struct tg_tenant_stats cells[2 * TG_MAX_CLASSES], acme;
	struct tg_config cfg = {};
	struct tg_diags diags = {};
	struct tg_applied ap = {};
	struct tg_flow_entry *fl = NULL;
	struct tg_datapath *dp;
	uint64_t stats[TG_STAT_MAX], in_table = 0;
	unsigned char f[LEN];
	size_t n = 0;
	int fd, failed = 0;

	tg_libbpf_quiet();
	if (!tap_check(tg_config_parse("flows.yaml", conf, sizeof(conf) - 1, &cfg, &diags) == 0,
		       "configuration parses") ||
	    !tap_check(tg_datapath_load(NULL, &o, &dp) == 0, "datapath with a %d-entry flow table",
		       CAPACITY))
		return tap_done();
	tap_check(tg_apply(tg_datapath_maps(dp), &cfg, &ap) == 0, "tenant programmed");
	tg_datapath_set_tap(dp);
	fd = tg_datapath_prog_fd(dp, TG_PROG_XDP);

	for (uint32_t i = 0; i < FLOWS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = LEN);

		frame(f, i);
		failed += bpf_prog_test_run_opts(fd, &opts) != 0;
	}
	tap_equal_u64(failed, 0, "%d frames of %d distinct flows ran", FLOWS, FLOWS);

	tap_check(tg_maps_read_cells(tg_datapath_maps(dp), cells, 2) == 0 &&
			  tg_maps_read_stats(tg_datapath_maps(dp), stats) == 0 &&
			  tg_flows_read(tg_datapath_maps(dp)->flows, TG_FLOW_READ_AUTO, &fl, &n) ==
				  0,
		  "counters and flows read");
	tg_cells_tenant_total(cells, ap.tenant_ids[0], &acme);
	tap_equal_u64(acme.dir[TG_DIR_EGRESS].packets, FLOWS, "acme billed every frame");
	tap_equal_u64(acme.dir[TG_DIR_EGRESS].bytes, (uint64_t)FLOWS * LEN,
		      "acme billed every byte");
	tap_equal_u64(stats[TG_STAT_FLOWS_CREATED], FLOWS, "the kernel made one entry per flow");
	tap_check(n <= CAPACITY, "the table holds at most its capacity (%zu)", n);
	for (size_t i = 0; i < n; i++)
		in_table += fl[i].val.packets;
	tap_equal_u64(in_table, n, "each entry in the table holds its one packet");
	tap_diag("evictions = created - live = %llu",
		 (unsigned long long)(stats[TG_STAT_FLOWS_CREATED] - n));
	tap_check(stats[TG_STAT_FLOWS_CREATED] - n >= FLOWS - CAPACITY,
		  "at least %d flows counted as evicted", FLOWS - CAPACITY);
	tap_equal_u64(stats[TG_STAT_FLOWS_LOST], 0, "no packet lost its flow entry");
	free(fl);
	tg_applied_free(&ap);
	tg_datapath_close(dp);
	tg_config_free(&cfg);
	tg_diags_free(&diags);
	return tap_done();
}
