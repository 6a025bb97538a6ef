// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A program Tollgate does not know, for tests/e2e/bpf_inventory.sh: it takes the name of
 * Tollgate's uplink program on purpose, so that a name alone must not make it "known".
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int tg_uplink(struct xdp_md *ctx)
{
	return ctx->ingress_ifindex == 0x7e57 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
