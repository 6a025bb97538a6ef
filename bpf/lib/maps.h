/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The pinned maps. Pinned by name under the agent's pin path, so a restarted agent
 * adopts them (libbpf reuses a compatible pinned map) and nothing billed is lost.
 * Billing counters are per-CPU arrays: they never evict and need no atomics.
 */
#ifndef TG_MAPS_H
#define TG_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tollgate.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct tg_tenant_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_tenant_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TG_MAX_IFACES);
	__type(key, __u32); /* ifindex */
	__type(value, struct tg_iface);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_CIDRS);
	__type(key, struct tg_lpm4_key);
	__type(value, __u32); /* tenant id */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_lpm4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_CIDRS);
	__type(key, struct tg_lpm6_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_lpm6 SEC(".maps");

/* Written by user space only; defined here so that every map has one definition. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct tg_tenant_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_tenant_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_state SEC(".maps");

static __always_inline void tg_stat_add(enum tg_stat idx, __u64 n)
{
	__u32 key = idx;
	__u64 *v = bpf_map_lookup_elem(&tg_stats, &key);

	if (v)
		*v += n;
}

#endif /* TG_MAPS_H */
