// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The meter's cost per packet under BPF_PROG_TEST_RUN, beside an empty tc program
 * measured in the same run. Rounds alternate between the programs and the medians are
 * compared, because this machine is noisy and only ratios within one run mean anything.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "empty_tc.skel.h"
#include "result.h"
#include "test_run.h"
#include "tollgate.h"
#include "tenant.skel.h"

#define ROUNDS 9

int main(int argc, char **argv)
{
	int repeat = argc > 1 ? atoi(argv[1]) : 2000000;
	uint32_t base[ROUNDS], tenant[ROUNDS], uplink[ROUNDS], key = 1, id = 1;
	struct tg_iface ifc = { .tenant_id = 1, .role = TG_ROLE_TENANT, .name = "lo" };
	struct tg_lpm4_key k4 = { .prefixlen = 24 };
	struct empty_tc_bpf *empty;
	struct tenant_bpf *meter;
	struct bpf_map *map;
	uint8_t frame[64];

	empty = empty_tc_bpf__open_and_load();
	meter = tenant_bpf__open();
	if (!empty || !meter)
		return 1;
	bpf_object__for_each_map (map, meter->obj)
		bpf_map__set_pin_path(map, NULL); /* never the agent's pins */
	if (tenant_bpf__load(meter))
		return 1;
	inet_pton(AF_INET, "192.0.2.0", k4.addr);
	bpf_map_update_elem(bpf_map__fd(meter->maps.tg_lpm4), &k4, &id, BPF_ANY);
	syn_frame(frame);

	for (int r = 0; r < ROUNDS; r++) {
		ifc.role = TG_ROLE_TENANT;
		bpf_map_update_elem(bpf_map__fd(meter->maps.tg_ifaces), &key, &ifc, BPF_ANY);
		base[r] = run_ns(bpf_program__fd(empty->progs.empty_tc), frame, repeat, NULL);
		tenant[r] =
			run_ns(bpf_program__fd(meter->progs.tg_meter_ingress), frame, repeat, NULL);
		ifc.role = TG_ROLE_UPLINK;
		bpf_map_update_elem(bpf_map__fd(meter->maps.tg_ifaces), &key, &ifc, BPF_ANY);
		uplink[r] =
			run_ns(bpf_program__fd(meter->progs.tg_meter_egress), frame, repeat, NULL);
	}
	qsort(base, ROUNDS, sizeof(base[0]), cmp_u32);
	qsort(tenant, ROUNDS, sizeof(tenant[0]), cmp_u32);
	qsort(uplink, ROUNDS, sizeof(uplink[0]), cmp_u32);
	printf("%-44s %10s %8s\n", "BPF_PROG_TEST_RUN, 64-byte TCP SYN", "median ns", "ratio");
	printf("%-44s %10u %8.2f\n", "empty tc program (baseline)", base[ROUNDS / 2], 1.0);
	printf("%-44s %10u %8.2f\n", "meter, tenant interface", tenant[ROUNDS / 2],
	       (double)tenant[ROUNDS / 2] / base[ROUNDS / 2]);
	printf("%-44s %10u %8.2f\n", "meter, uplink (LPM lookup)", uplink[ROUNDS / 2],
	       (double)uplink[ROUNDS / 2] / base[ROUNDS / 2]);
	printf("(%d rounds of %d runs each, interleaved; medians)\n", ROUNDS, repeat);
	bench_result("meter, tenant interface (BPF_PROG_TEST_RUN)", "empty tc program", "ns/pkt",
		     base[ROUNDS / 2], tenant[ROUNDS / 2]);
	bench_result("meter, uplink (BPF_PROG_TEST_RUN)", "empty tc program", "ns/pkt",
		     base[ROUNDS / 2], uplink[ROUNDS / 2]);
	tenant_bpf__destroy(meter);
	empty_tc_bpf__destroy(empty);
	return 0;
}
