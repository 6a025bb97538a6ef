// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XDP on the uplink: frames as they arrive from the wire, before the stack allocates
 * anything. The guard (lib/guard.h) judges them, then what passes is metered with the
 * same tg_account as the tc meter, on the same shared parser. Replay runs captures
 * through it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/guard.h"

SEC("xdp.frags")
int tg_uplink(struct xdp_md *ctx)
{
	return tg_uplink_xdp(ctx);
}

/* Reached by tail call from tg_uplink (tg_stages[TG_STAGE_SIG]). */
SEC("xdp.frags")
int tg_stage_sig(struct xdp_md *ctx)
{
	return tg_sig_stage(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
