// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the isolation checks cost per packet under BPF_PROG_TEST_RUN: the tenant meter at
 * tc ingress with no policy (the baseline), with segmentation only, with a byte cap, with
 * byte and packet caps, and with both caps and a quota counting. The caps are generous so
 * every packet passes (a drop would be a cheaper, different path); the program fails
 * loudly if any was dropped. Rounds alternate between the cases and medians are compared.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "policy.h"
#include "result.h"
#include "tenant.skel.h"
#include "test_run.h"
#include "tollgate.h"

#define ROUNDS 9
#define TENANT 1

enum { C_NONE, C_SEGMENT, C_BYTES, C_BOTH, C_QUOTA, C_MAX };

static const char *const names[C_MAX] = {
	"meter, no policy (baseline)",	"meter + segmentation flag",	   "meter + byte cap",
	"meter + byte and packet caps", "meter + both caps + quota count",
};

static void policy_for(int c, struct tg_policy *p)
{
	memset(p, 0, sizeof(*p));
	if (c == C_NONE)
		return;
	p->flags = TG_POL_ENFORCE;
	if (c == C_SEGMENT)
		p->flags |= TG_POL_ISOLATED;
	if (c >= C_BYTES) /* 1 Tbit/s: every packet conforms */
		tg_rate_compute(125000000000ull, 1ull << 30, &p->bps[TG_DIR_EGRESS]);
	if (c >= C_BOTH)
		tg_rate_compute(1000000000ull, 1ull << 30, &p->pps[TG_DIR_EGRESS]);
	if (c >= C_QUOTA) {
		p->quota_bytes = ~0ull >> 1;
		p->quota_action = TG_QUOTA_THROTTLE;
		p->flags |= TG_POL_QUOTA_IN | TG_POL_QUOTA_OUT;
		tg_rate_compute(1000000, 1000000, &p->throttle);
	}
}

int main(int argc, char **argv)
{
	int repeat = argc > 1 ? atoi(argv[1]) : 2000000;
	struct tg_iface ifc = { .tenant_id = TENANT, .role = TG_ROLE_TENANT, .name = "lo" };
	uint32_t ns[C_MAX][ROUNDS], key = 1, id = TENANT;
	struct tenant_bpf *meter;
	struct bpf_map *map;
	struct tg_policy p;
	uint8_t frame[64];
	int prog;

	meter = tenant_bpf__open();
	if (!meter)
		return 1;
	bpf_object__for_each_map (map, meter->obj)
		bpf_map__set_pin_path(map, NULL); /* never the agent's pins */
	bpf_map__set_max_entries(meter->maps.tg_flows, 65536);
	if (tenant_bpf__load(meter))
		return 1;
	bpf_map_update_elem(bpf_map__fd(meter->maps.tg_ifaces), &key, &ifc, BPF_ANY);
	prog = bpf_program__fd(meter->progs.tg_meter_ingress);
	syn_frame(frame);

	for (int r = 0; r < ROUNDS; r++) {
		for (int c = 0; c < C_MAX; c++) {
			uint32_t verdict;

			policy_for(c, &p);
			bpf_map_update_elem(bpf_map__fd(meter->maps.tg_policy), &id, &p, BPF_ANY);
			ns[c][r] = run_ns(prog, frame, repeat, &verdict);
			if (verdict != (uint32_t)-1) {
				fprintf(stderr,
					"cap_cost: the program dropped a packet (%d): caps too "
					"tight\n",
					(int)verdict);
				return 1;
			}
		}
	}
	printf("%-44s %10s %8s\n", "BPF_PROG_TEST_RUN, 64-byte TCP SYN, tc ingress", "median ns",
	       "ratio");
	for (int c = 0; c < C_MAX; c++)
		qsort(ns[c], ROUNDS, sizeof(ns[c][0]), cmp_u32);
	for (int c = 0; c < C_MAX; c++)
		printf("%-44s %10u %8.2f\n", names[c], ns[c][ROUNDS / 2],
		       (double)ns[c][ROUNDS / 2] / ns[C_NONE][ROUNDS / 2]);
	printf("(%d rounds of %d runs each, interleaved; medians; one CPU, so the bucket's lock\n"
	       " is never contended here)\n",
	       ROUNDS, repeat);
	for (int c = C_SEGMENT; c < C_MAX; c++) {
		char name[80];

		snprintf(name, sizeof(name), "%s (tc ingress)", names[c]);
		bench_result(name, "meter, no policy", "ns/pkt", ns[C_NONE][ROUNDS / 2],
			     ns[c][ROUNDS / 2]);
	}
	tenant_bpf__destroy(meter);
	return 0;
}
