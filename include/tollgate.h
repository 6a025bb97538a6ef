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
#define TG_MAX_CIDRS 65536	    /* per address family */
#define TG_MAX_CLASSES 8	    /* class 0 = internet (the default), 1..7 configured */
#define TG_CLASS_NAME_MAX 32	    /* class name incl. NUL */
#define TG_DEFAULT_FLOWS (1u << 20) /* flow table capacity unless configured */
#define TG_MAX_FRAGS 16384	    /* datagrams whose first fragment is remembered */

/* Billing cells: tg_tenant_stats is indexed by tenant id * TG_MAX_CLASSES + class id. */
#define TG_STATS_CELLS (TG_MAX_TENANTS * TG_MAX_CLASSES)
#define TG_CLASS_INTERNET 0

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
	TG_ROLE_TAP = 3,    /* a capture (replay): sees both directions; a frame goes to the
			     * tenant owning its destination, else to the one owning its source */
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

/* tg_tenant_stats: per-CPU array of billing cells (tenant x class); monotonic, never
 * evicted. 16384 tenants x 8 classes x 32 bytes = 4 MiB per possible CPU. */
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
	TG_STAT_FLOWS_CREATED, /* flow entries inserted (evictions = created - live - removed) */
	TG_STAT_FLOWS_LOST,    /* packets whose flow entry could be neither found nor made */
	TG_STAT_FRAGS_FIRST,   /* first fragments remembered for their followers */
	TG_STAT_FRAGS_JOINED,  /* later fragments that joined their datagram's flow */
	TG_STAT_FRAGS_ORPHAN,  /* later fragments whose first was not seen: ports unknown */
	TG_STAT_MAX,
};

/* Why a frame is in the `unparsed` bucket; tg_unparsed is a per-CPU array of counters
 * indexed by these (the parser's error codes, negated). */
enum tg_unparsed_reason {
	TG_UNPARSED_TRUNC_L2 = 1,  /* frame ends inside the Ethernet or VLAN headers */
	TG_UNPARSED_NOT_IP = 2,	   /* ARP, LLDP, a third VLAN tag, ...: no IP header we read */
	TG_UNPARSED_TRUNC_L3 = 3,  /* frame ends inside the IP header or its options */
	TG_UNPARSED_BAD_L3 = 4,	   /* IPv4 IHL < 5, wrong version nibble */
	TG_UNPARSED_EXT_LIMIT = 5, /* IPv6 extension chain longer than the parser walks */
	TG_UNPARSED_TRUNC_L4 = 6,  /* frame ends inside the TCP, UDP or ICMP header */
	TG_UNPARSED_BAD_L4 = 7,	   /* TCP data offset < 5 */
	TG_UNPARSED_MAX,
};

/* Flow table (tg_flows, LRU per-CPU hash): one entry per tenant, direction, VLANs and
 * 5-tuple. Visibility only: billing never reads it. */
enum tg_flow_flags {
	TG_FLOW_ORPHAN_FRAGS = 1 << 0, /* later fragments whose first fragment was not seen:
					* ports unknown (0), one entry per address pair */
};

struct tg_flow_key {
	__u32 tenant_id;  /* 0 = unattributed */
	__u8 family;	  /* 4 or 6 */
	__u8 proto;	  /* IPPROTO_* */
	__u8 dir;	  /* enum tg_dir, seen from the tenant */
	__u8 flags;	  /* enum tg_flow_flags */
	__u16 vlan_id[2]; /* outer, inner; 0 = no tag (a frame's tag count is in vlans) */
	__u8 vlans;
	__u8 pad[3];
	__u16 sport, dport;    /* network order; ICMP/ICMPv6: type and code */
	__u8 src[16], dst[16]; /* IPv4 in the first 4 bytes, rest zero */
};

struct tg_flow {
	__u64 packets;
	__u64 bytes;	/* by the byte rule: Ethernet frames without FCS */
	__u64 first_ns; /* CLOCK_MONOTONIC (capture time in replay); 0 on CPUs that never saw it */
	__u64 last_ns;
	__u8 tcp_flags; /* OR of every segment's flags */
	__u8 class_id;	/* class of the remote address */
	__u16 pad16;
	__u32 pad32;
};

/* tg_frags (LRU hash): a first fragment leaves its ports for the later ones. */
struct tg_frag_key {
	__u8 family;
	__u8 proto;
	__u16 pad;
	__u32 id; /* IPv4 identification or IPv6 fragment id, network order */
	__u8 src[16], dst[16];
};

struct tg_frag_ports {
	__u16 sport, dport;
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

/* tg_class_meta: array indexed by class id (0 = internet); like tenant ids, class ids are
 * stable across restarts because billing cursors belong to the cell, not to the name. */
struct tg_class_meta {
	char name[TG_CLASS_NAME_MAX];
	__u32 flags; /* enum tg_tenant_meta_flags */
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
	__u64 flows_removed; /* flow entries the agent deleted (idle) since the maps exist */
};

#endif /* TOLLGATE_H */
