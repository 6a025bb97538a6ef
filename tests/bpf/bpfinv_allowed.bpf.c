// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A program whose tag tests/e2e/bpf_inventory.sh puts in runtime.bpf_allowlist. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bpfinv_allowed(struct xdp_md *ctx)
{
	return ctx->rx_queue_index == 0x7e57 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
