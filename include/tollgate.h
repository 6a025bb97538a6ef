/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one header of structs shared by the kernel side (bpf/) and user space (src/).
 * Every map key and value crosses the boundary through a type defined here.
 */
#ifndef TOLLGATE_H
#define TOLLGATE_H

#ifdef __BPF__
/* vmlinux.h already provides the __u8..__u64 types */
#else
#include <linux/types.h>
#endif

#define TG_NAME_MAX 48	 /* tenant name incl. NUL */
#define TG_IFNAME_MAX 16 /* IFNAMSIZ */

/* Capacities of the pinned maps. Changing one changes the map definition, and an agent
 * of a different build refuses to adopt pins it cannot reuse (see docs/lifecycle.md). */
#define TG_MAX_TENANTS 16384 /* tenant ids 1..TG_MAX_TENANTS-1; 0 = unattributed */
#define TG_MAX_IFACES 4096
#define TG_MAX_CIDRS 65536 /* per address family */

#define TG_TENANT_UNATTRIBUTED 0

/* tc handle and priority of the meter filters: how Tollgate recognises its own filters
 * (together with the program name) and how it leaves everybody else's alone. */
#define TG_TC_HANDLE 0x7467 /* "tg" */
#define TG_TC_PRIO 1

/* Direction is always seen from the tenant: ingress = towards the tenant. */
enum tg_dir {
	TG_DIR_INGRESS = 0,
	TG_DIR_EGRESS = 1,
	TG_DIR_MAX,
};

enum tg_iface_role {
	TG_ROLE_TENANT = 1, /* host side of a tenant's link: every frame is the tenant's */
	TG_ROLE_UPLINK = 2, /* shared link: frames are attributed by address (LPM) */
};

enum tg_iface_flags {
	TG_IFACE_CREATED_CLSACT = 1 << 0, /* Tollgate created the clsact qdisc */
};

/* tg_ifaces: ifindex -> role and tenant */
struct tg_iface {
	__u32 tenant_id; /* TG_ROLE_TENANT only */
	__u8 role;
	__u8 flags;
	__u16 pad;
	char name[TG_IFNAME_MAX]; /* name at attach time: detects ifindex reuse */
};

struct tg_counter {
	__u64 packets;
	__u64 bytes;
};

/* tg_tenant_stats: per-CPU array indexed by tenant id; monotonic, never evicted */
struct tg_tenant_stats {
	struct tg_counter dir[TG_DIR_MAX];
};

/* Global per-CPU counters (tg_stats), indexed by enum tg_stat. */
enum tg_stat {
	TG_STAT_UNPARSED_PACKETS = 0, /* frames the parser could not read (still billed) */
	TG_STAT_UNPARSED_BYTES,
	TG_STAT_UNATTRIBUTED_PACKETS, /* uplink frames with no tenant address */
	TG_STAT_UNATTRIBUTED_BYTES,
	TG_STAT_UNKNOWN_IFACE, /* meter ran on an interface missing from tg_ifaces */
	TG_STAT_GSO_INEXACT,   /* GSO packet whose headers could not be read */
	TG_STAT_GSO_PACKETS,   /* super-packets seen (each billed as its gso_segs frames) */
	TG_STAT_MAX,
};

/* LPM keys: prefixlen first, address in network byte order */
struct tg_lpm4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct tg_lpm6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

enum tg_tenant_meta_flags {
	TG_TENANT_IN_USE = 1 << 0,     /* id allocated; never reused while the pins live */
	TG_TENANT_CONFIGURED = 1 << 1, /* present in the configuration the agent runs */
};

/* tg_tenant_meta: array indexed by tenant id; names make the pins self-describing,
 * so a restarted agent maps counters back to tenants without any other file. */
struct tg_tenant_meta {
	char name[TG_NAME_MAX];
	__u32 flags;
	__u32 pad;
};

/* tg_state: one element, written by user space only. */
struct tg_state {
	__u64 epoch[2];	     /* random id of this set of maps: counters restart with a new epoch */
	__u64 created;	     /* unix seconds when the maps were created */
	__u64 agent_started; /* unix seconds, 0 while no agent runs */
	__u64 last_harvest;  /* unix seconds */
	__u32 agent_pid;
	__u32 interval; /* billing interval, seconds */
	__u64 harvests;
	__u64 harvest_errors;
};

#endif /* TOLLGATE_H */
