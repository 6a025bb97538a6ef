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
	__uint(max_entries, TG_STATS_CELLS);
	__type(key, __u32); /* tenant id * TG_MAX_CLASSES + class id */
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

/* The `unparsed` bucket, by reason (enum tg_unparsed_reason). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_UNPARSED_MAX);
	__type(key, __u32);
	__type(value, struct tg_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_unparsed SEC(".maps");

/* Flows: visibility, not billing, so an LRU map is right here. The loader sets the
 * capacity from flows.capacity before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, TG_DEFAULT_FLOWS);
	__type(key, struct tg_flow_key);
	__type(value, struct tg_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_flows SEC(".maps");

/* First fragments leave their ports here for the fragments that follow. Shared by all
 * CPUs: the fragments of one datagram need not arrive on one CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_MAX_FRAGS);
	__type(key, struct tg_frag_key);
	__type(value, struct tg_frag_ports);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_frags SEC(".maps");

/* Traffic classes: remote address -> class id (absent = internet). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_CIDRS);
	__type(key, struct tg_lpm4_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_class4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_CIDRS);
	__type(key, struct tg_lpm6_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_class6 SEC(".maps");

/* Written by user space only; defined here so that every map has one definition. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct tg_class_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_class_meta SEC(".maps");

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

/* Isolation (docs/isolation.md). */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct tg_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_policy SEC(".maps");

/* Shared by all CPUs on purpose: a cap is one aggregate across the tenant's interfaces
 * and cgroups, so its bucket is one locked value, not a per-CPU one. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_TENANTS *TG_DIR_MAX);
	__type(key, __u32);
	__type(value, struct tg_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct tg_quota);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_quota SEC(".maps");

/* Drops and refusals by tenant and reason (cell = tenant * TG_REASON_SLOTS + reason). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_DROP_CELLS);
	__type(key, __u32);
	__type(value, struct tg_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_DENY);
	__type(key, struct tg_deny4_key);
	__type(value, struct tg_deny_rules);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_deny4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_DENY);
	__type(key, struct tg_deny6_key);
	__type(value, struct tg_deny_rules);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_deny6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TG_MAX_PEERS);
	__type(key, struct tg_peer_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TG_MAX_CGROUPS);
	__type(key, __u64); /* cgroup id */
	__type(value, struct tg_cgroup_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_cgroups SEC(".maps");

/* Concurrent TCP connections per tenant (max_connections), atomically updated. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_TENANTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_conns SEC(".maps");

/* Events: pinned, so what the kernel sends while no agent runs waits for the next one. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TG_EVENTS_RING);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_DROP_CELLS);
	__type(key, __u32);
	__type(value, struct tg_event_limit);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_event_limit SEC(".maps");

/* The uplink guard (docs/guard.md). */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_guard_conf);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_guard SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_GUARD_CIDRS);
	__type(key, struct tg_gset4_key);
	__type(value, struct tg_gset_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_gset4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_GSET4_HINT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_gset4_hint SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_GUARD_CIDRS);
	__type(key, struct tg_gset6_key);
	__type(value, struct tg_gset_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_gset6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_GUARD_GROUPS);
	__type(key, __u32);
	__type(value, struct tg_guard_group);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_guard_groups SEC(".maps");

/* Bans: written by the kernel (the SYN-flood guard) and by `tollgate block` alike. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_BANS);
	__type(key, struct tg_lpm4_key);
	__type(value, struct tg_ban);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_bans4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_BANS);
	__type(key, struct tg_lpm6_key);
	__type(value, struct tg_ban);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_bans6 SEC(".maps");

/* Non-zero while tg_bans4/6 may hold entries (include/tollgate.h, TG_BANS_ANY). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_bans_any SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_MAX_SOURCES);
	__type(key, struct tg_src_key);
	__type(value, struct tg_src_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_syn_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_syn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_MAX_VALIDATED);
	__type(key, struct tg_src_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_valid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_MAX_HONEY_FLOWS);
	__type(key, struct tg_honey_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_honey_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tg_guard_evkey);
	__type(value, struct tg_event_limit);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_guard_evlimit SEC(".maps");

static __always_inline void tg_stat_add(enum tg_stat idx, __u64 n)
{
	__u32 key = idx;
	__u64 *v = bpf_map_lookup_elem(&tg_stats, &key);

	if (v)
		*v += n;
}

static __always_inline void tg_unparsed_add(int reason, __u64 packets, __u64 bytes)
{
	__u32 key = reason;
	struct tg_counter *c = bpf_map_lookup_elem(&tg_unparsed, &key);

	if (c) {
		c->packets += packets;
		c->bytes += bytes;
	}
}

/* Longest-prefix match of addr in the v4 or v6 trie (tenants' or classes' CIDRs); 0 when
 * absent. */
static __always_inline __u32 tg_lpm_lookup(void *trie4, void *trie6, int family, const __u8 *addr)
{
	__u32 *v;

	if (family == 4) {
		struct tg_lpm4_key k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, addr, 4);
		v = bpf_map_lookup_elem(trie4, &k);
	} else {
		struct tg_lpm6_key k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, addr, 16);
		v = bpf_map_lookup_elem(trie6, &k);
	}
	return v ? *v : 0;
}

#endif /* TG_MAPS_H */
