// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XDP on the uplink: frames as they arrive from the wire, before the stack allocates
 * anything. Today it meters (the same tg_account as the tc meter, on the same shared
 * parser); the guard stages come here next. Replay runs captures through it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/meter.h"

SEC("xdp.frags")
int tg_uplink(struct xdp_md *ctx)
{
	return tg_meter_xdp(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
