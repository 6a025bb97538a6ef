// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Seccomp learning (docs/seccomp.md): the syscalls of learning tenants, per tenant, in
 * the kernel. A raw tracepoint: its arguments are (struct pt_regs *regs, long id). Its
 * own object, so that the agent attaches it only while some tenant learns.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/rt_seccomp.h"

SEC("raw_tp/sys_enter")
int tg_sc_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	tg_sc_record((long)ctx->args[1]);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
