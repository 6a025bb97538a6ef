// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Runtime security: tracepoints on the processes of tenants' cgroups (docs/runtime.md).
 * This kernel has no kprobes, fentry or LSM programs (ENVIRONMENT.md), so everything here
 * is a tp/ program; kill rules act with bpf_send_signal(SIGKILL) from the tracepoint.
 * The logic lives in lib/rt*.h; user space (src/runtime.c) attaches only what the
 * configuration needs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/rt.h"
#include "lib/rt_exec.h"
#include "lib/rt_bpf.h"

/* exec and file opens, rules and kill: lib/rt_exec.h */
SEC("tp/sched/sched_process_exec")
int tg_rt_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	return tg_rt_on_exec(ctx);
}

SEC("tp/syscalls/sys_enter_openat")
int tg_rt_openat(struct trace_event_raw_sys_enter *ctx)
{
	return tg_rt_on_open((long)ctx->args[0], (const char *)ctx->args[1], ctx->args[2]);
}

SEC("tp/syscalls/sys_enter_openat2")
int tg_rt_openat2(struct trace_event_raw_sys_enter *ctx)
{
	return tg_rt_on_openat2(ctx);
}

/* open(2) exists on x86-64, not on arm64: attached where the tracepoint exists */
SEC("tp/syscalls/sys_enter_open")
int tg_rt_open(struct trace_event_raw_sys_enter *ctx)
{
	return tg_rt_on_open(TG_AT_FDCWD, (const char *)ctx->args[0], ctx->args[1]);
}

/* exits, signals, OOM kills; ptrace, setuid family, modules, mount, unshare, setns:
 * lib/rt_exit.h, lib/rt_sys.h */

/* bpf() program loads: lib/rt_bpf.h */
SEC("tp/syscalls/sys_enter_bpf")
int tg_rt_bpf_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return tg_rt_bpf_enter(ctx);
}

SEC("tp/syscalls/sys_exit_bpf")
int tg_rt_bpf_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return tg_rt_bpf_exit(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
