/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bpf(BPF_PROG_LOAD) by any process on the host (docs/bpf-inventory.md): the entry
 * tracepoint reads the program's type and name from the caller's union bpf_attr and
 * keeps them per thread; the exit tracepoint adds the syscall's result (the new
 * program's fd, or -errno) and sends one TG_RT_BPF event. Host processes are reported too
 * (tenant 0): whoever loads a program into this kernel matters. User space (the agent's
 * BPF watch, src/bpf_inventory.c) finds the program by id, compares its tag with
 * Tollgate's own and the allowlist, and raises bpf_load for an unknown one.
 */
#ifndef TG_RT_BPF_H
#define TG_RT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/rt.h"

#define TG_RT_BPF_PROG_LOAD 5 /* enum bpf_cmd BPF_PROG_LOAD: the uapi number, stable */

struct tg_rt_bpf_load {
	__u32 prog_type;
	char name[16]; /* BPF_OBJ_NAME_LEN */
};

/* Between a thread's sys_enter_bpf and its sys_exit_bpf. LRU: a thread killed inside the
 * syscall leaves its entry to be evicted, never a full map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct tg_rt_bpf_load);
} tg_rt_bpf_loads SEC(".maps");

static __always_inline bool tg_rt_bpf_monitored(void)
{
	const struct tg_rt_conf *c = tg_rt_config();

	return c && (c->flags & TG_RT_CONF_ON) && (c->monitor & (1u << TG_RT_BPF));
}

static __always_inline int tg_rt_bpf_enter(struct trace_event_raw_sys_enter *ctx)
{
	const char *uattr = (const char *)ctx->args[1];
	__u64 size = ctx->args[2], key;
	struct tg_rt_bpf_load l = {};

	if (ctx->args[0] != TG_RT_BPF_PROG_LOAD || !uattr || !tg_rt_bpf_monitored())
		return 0;
	/* an attr shorter than the name leaves it empty, as the kernel does */
	bpf_probe_read_user(&l.prog_type, sizeof(l.prog_type),
			    uattr + __builtin_offsetof(union bpf_attr, prog_type));
	if (size >= __builtin_offsetof(union bpf_attr, prog_name) + sizeof(l.name))
		bpf_probe_read_user(l.name, sizeof(l.name),
				    uattr + __builtin_offsetof(union bpf_attr, prog_name));
	l.name[sizeof(l.name) - 1] = '\0';
	key = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&tg_rt_bpf_loads, &key, &l, BPF_ANY);
	return 0;
}

static __always_inline int tg_rt_bpf_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 key = bpf_get_current_pid_tgid();
	struct tg_rt_bpf_load *l;
	struct tg_rt_event *e;
	__u32 len = 0;

	l = bpf_map_lookup_elem(&tg_rt_bpf_loads, &key);
	if (!l)
		return 0;
	e = tg_rt_reserve(tg_cgroup_tenant_current(), TG_RT_BPF);
	if (e) {
		e->flags = TG_RT_F_MONITOR;
		e->arg[0] = l->prog_type;
		e->arg[1] = ctx->ret;
#pragma unroll
		for (int i = 0; i < 16; i++) {
			e->path[i] = l->name[i];
			if (!len && !l->name[i])
				len = i + 1;
		}
		e->path_len = len ? len : 16;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&tg_rt_bpf_loads, &key);
	return 0;
}

#endif /* TG_RT_BPF_H */
