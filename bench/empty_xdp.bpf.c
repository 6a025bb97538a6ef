// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The baseline of the guard's cost: an XDP program that does nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
