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
#include "lib/rt_exit.h"
#include "lib/rt_sys.h"

SEC("tp/sched/sched_process_exit")
int tg_rt_sched_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	return tg_rt_exit(ctx);
}

SEC("tp/signal/signal_generate")
int tg_rt_signal(struct trace_event_raw_signal_generate *ctx)
{
	return tg_rt_signal_generate(ctx);
}

SEC("tp/oom/mark_victim")
int tg_rt_oom(struct trace_event_raw_mark_victim *ctx)
{
	return tg_rt_mark_victim(ctx);
}

SEC("tp/syscalls/sys_enter_ptrace")
int tg_rt_ptrace_enter(struct trace_event_raw_sys_enter *ctx)
{
	return tg_rt_ptrace(ctx);
}

#define TG_RT_SETID_PROG(name, op, nids)                                \
	SEC("tp/syscalls/sys_enter_" #name)                             \
	int tg_rt_##name##_enter(struct trace_event_raw_sys_enter *ctx) \
	{                                                               \
		return tg_rt_setid(ctx, op, nids);                      \
	}
TG_RT_SETID_PROG(setuid, TG_RT_SETUID_OP, 1)
TG_RT_SETID_PROG(setgid, TG_RT_SETGID_OP, 1)
TG_RT_SETID_PROG(setreuid, TG_RT_SETREUID_OP, 2)
TG_RT_SETID_PROG(setregid, TG_RT_SETREGID_OP, 2)
TG_RT_SETID_PROG(setresuid, TG_RT_SETRESUID_OP, 3)
TG_RT_SETID_PROG(setresgid, TG_RT_SETRESGID_OP, 3)
TG_RT_SETID_PROG(setfsuid, TG_RT_SETFSUID_OP, 1)
TG_RT_SETID_PROG(setfsgid, TG_RT_SETFSGID_OP, 1)

/* Module loads: none of these three exist on a kernel without CONFIG_MODULES (then
 * src/runtime.c leaves them unloaded and says so). */
SEC("tp/syscalls/sys_enter_init_module")
int tg_rt_init_module_enter(struct trace_event_raw_sys_enter *ctx)
{
	return tg_rt_module_call(ctx, TG_RT_MOD_INIT);
}

SEC("tp/syscalls/sys_enter_finit_module")
int tg_rt_finit_module_enter(struct trace_event_raw_sys_enter *ctx)
{
	return tg_rt_module_call(ctx, TG_RT_MOD_FINIT);
}

SEC("tp/module/module_load")
int tg_rt_module_load(struct tg_tp_module_load *ctx)
{
	return tg_rt_module_loaded(ctx);
}

SEC("tp/syscalls/sys_enter_mount")
int tg_rt_mount_enter(struct trace_event_raw_sys_enter *ctx)
{
	return tg_rt_mount(ctx);
}

SEC("tp/syscalls/sys_enter_unshare")
int tg_rt_unshare_enter(struct trace_event_raw_sys_enter *ctx)
{
	return tg_rt_unshare(ctx);
}

SEC("tp/syscalls/sys_enter_setns")
int tg_rt_setns_enter(struct trace_event_raw_sys_enter *ctx)
{
	return tg_rt_setns(ctx);
}

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
