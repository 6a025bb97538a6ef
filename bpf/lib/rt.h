/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtime security, the part every tracepoint shares (docs/runtime.md): the tenant of the
 * current task, the per-tenant event budget, and the ring buffer with its loss counters.
 *
 * An event's life: a program decides it matters (a rule, a monitored type, the
 * inventory), acts first (a kill never waits for the ring), then asks tg_rt_reserve for a
 * record. That counts it as produced for (tenant, type), charges the tenant's budget
 * (GCRA, lock-free), and reserves ring space; over budget or with the ring full it counts
 * the drop and returns NULL. User space counts what it delivers, so
 *	produced = delivered + dropped_budget + dropped_ring (+ still in the ring)
 * holds per tenant and type. The counters are per-CPU but added atomically: a syscall
 * tracepoint's program may be preempted on this kernel.
 */
#ifndef TG_RT_H
#define TG_RT_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/cgtenant.h"
#include "lib/maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TG_RT_EVENTS_RING);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rt_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_RT_CELLS);
	__type(key, __u32); /* tenant id * TG_RT_TYPES + type */
	__type(value, struct tg_rt_count);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rt_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_rt_conf);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rt_conf SEC(".maps");

/* Each tenant's budget: the GCRA theoretical arrival time of its next event, ns. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_TENANTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rt_budget SEC(".maps");

static __always_inline const struct tg_rt_conf *tg_rt_config(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&tg_rt_conf, &key);
}

static __always_inline struct tg_rt_count *tg_rt_count_cell(__u32 tenant, __u32 type)
{
	__u32 cell = (tenant < TG_MAX_TENANTS ? tenant : 0) * TG_RT_TYPES +
		     (type < TG_RT_TYPES ? type : 0);

	return bpf_map_lookup_elem(&tg_rt_counts, &cell);
}

/* One GCRA step on the tenant's budget, without a lock (two CPUs racing lose at most one
 * charge: an event more may pass, none is refused wrongly). */
static __always_inline bool tg_rt_budget_take(__u32 tenant, const struct tg_rt_conf *c, __u64 now)
{
	__u64 *tat, old, t;

	if (!c->budget_ns)
		return true; /* no budget configured */
	tat = bpf_map_lookup_elem(&tg_rt_budget, &tenant);
	if (!tat)
		return false;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		old = *(volatile __u64 *)tat;
		t = old > now ? old : now;
		if (t - now > c->burst_ns)
			return false;
		if (__sync_val_compare_and_swap(tat, old, t + c->budget_ns) == old)
			return true;
	}
	return true;
}

/* A zeroed record for (tenant, type) with the current task's identity filled in, or NULL
 * (counted) when the tenant is over budget or the ring is full. Submit it with
 * bpf_ringbuf_submit(e, 0). */
static __always_inline struct tg_rt_event *tg_rt_reserve(__u32 tenant, __u32 type)
{
	const struct tg_rt_conf *c = tg_rt_config();
	struct tg_rt_count *cnt = tg_rt_count_cell(tenant, type);
	struct task_struct *task;
	struct tg_rt_event *e;
	__u64 now = bpf_ktime_get_ns(), ug;
	__u64 pt;

	if (!c || !cnt)
		return NULL;
	__sync_fetch_and_add(&cnt->produced, 1);
	if (!tg_rt_budget_take(tenant < TG_MAX_TENANTS ? tenant : 0, c, now)) {
		__sync_fetch_and_add(&cnt->dropped_budget, 1);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&tg_rt_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&cnt->dropped_ring, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = now;
	e->type = type;
	e->tenant_id = tenant;
	e->cgroup_id = bpf_get_current_cgroup_id();
	pt = bpf_get_current_pid_tgid();
	e->pid = (__u32)pt;
	e->tgid = pt >> 32;
	ug = bpf_get_current_uid_gid();
	e->uid = (__u32)ug;
	e->gid = ug >> 32;
	task = (struct task_struct *)bpf_get_current_task();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

#endif /* TG_RT_H */
