/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Seccomp learning (docs/seccomp.md): the syscalls each learning tenant issues, as one
 * bit per syscall number in the tenant's cell of tg_sc_sets. User space (src/seccomp_learn.c)
 * sets a tenant's flag in tg_sc_learn and attaches the program only while some tenant
 * learns: raw_tp/sys_enter runs on every syscall of the host.
 *
 * Cost: a task of no tenant pays the walk of tg_cgroup_tenant_current() (its cgroup
 * depth + 1 helper calls and as many hash lookups) and nothing more. A learning tenant's
 * task also reads its flag and its bit; the atomic OR runs only the first time a number
 * is seen, so a tenant's CPUs do not fight over the cache line of its set.
 */
#ifndef TG_RT_SECCOMP_H
#define TG_RT_SECCOMP_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/cgtenant.h"

/* Written by user space: 1 while the tenant learns. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_TENANTS);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_sc_learn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct tg_sc_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_sc_sets SEC(".maps");

#define TG_TS_COMPAT 0x0002 /* arch/x86/include/asm/thread_info.h: a 32-bit syscall */

/* Is the current syscall a 32-bit one (an ia32 task, or int 0x80 from a 64-bit one)? */
static __always_inline bool tg_sc_compat(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, thread_info.status) & TG_TS_COMPAT;
}

static __always_inline void tg_sc_record(long nr)
{
	struct tg_sc_set *set;
	__u64 *word, mask;
	__u32 tenant;
	__u8 *on;
	bool compat;

	tenant = tg_cgroup_tenant_current();
	if (tenant == TG_TENANT_UNATTRIBUTED)
		return;
	on = bpf_map_lookup_elem(&tg_sc_learn, &tenant);
	if (!on || !*on)
		return;
	set = bpf_map_lookup_elem(&tg_sc_sets, &tenant);
	if (!set)
		return;
	compat = tg_sc_compat();
	if (nr < 0 || nr >= TG_SC_NR_MAX) {
		mask = compat ? TG_SC_F_COMPAT_BIG : TG_SC_F_NATIVE_BIG;
		if (!(set->flags & mask))
			__sync_fetch_and_or(&set->flags, mask);
		return;
	}
	word = compat ? &set->compat[nr >> 6] : &set->native[nr >> 6];
	mask = 1ULL << (nr & 63);
	if (!(*(volatile __u64 *)word & mask))
		__sync_fetch_and_or(word, mask);
}

#endif /* TG_RT_SECCOMP_H */
