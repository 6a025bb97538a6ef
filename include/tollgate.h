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
#include <linux/bpf.h> /* struct bpf_spin_lock */
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
#define TG_MAX_DENY 65536	    /* deny-list prefixes per address family, all tenants */
#define TG_MAX_CGROUPS 4096	    /* tenant cgroups */
#define TG_MAX_CGROUP_LEVEL 16	    /* deepest tenant cgroup below the cgroup2 root */
#define TG_MAX_PEERS 65536	    /* allowed tenant pairs (segmentation exceptions) */
#define TG_EVENTS_RING (1u << 22)   /* event ring buffer, bytes */

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
	TG_STAT_UNKNOWN_IFACE,	 /* meter ran on an interface missing from tg_ifaces */
	TG_STAT_GSO_INEXACT,	 /* GSO packet whose headers could not be read */
	TG_STAT_GSO_PACKETS,	 /* super-packets seen (each billed as its gso_segs frames) */
	TG_STAT_FLOWS_CREATED,	 /* flow entries inserted (evictions = created - live - removed) */
	TG_STAT_FLOWS_LOST,	 /* packets whose flow entry could be neither found nor made */
	TG_STAT_FRAGS_FIRST,	 /* first fragments remembered for their followers */
	TG_STAT_FRAGS_JOINED,	 /* later fragments that joined their datagram's flow */
	TG_STAT_FRAGS_ORPHAN,	 /* later fragments whose first was not seen: ports unknown */
	TG_STAT_EVENTS_PRODUCED, /* events the kernel tried to send (reserve attempts) */
	TG_STAT_EVENTS_DROPPED,	 /* of those, lost because the ring buffer was full */
	TG_STAT_EVENTS_SUPPRESSED, /* enforcements folded into a later event's count */
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
	__u64 flows_removed;	/* flow entries the agent deleted (idle) since the maps exist */
	__u64 events_delivered; /* events the agents read from tg_events and wrote out */
};

/*
 * Isolation (docs/isolation.md). Enforcement reasons: every drop or refusal is counted
 * per tenant and reason in tg_drops (cell = tenant id * TG_REASON_SLOTS + reason) and
 * reported by a rate-limited event.
 */
enum tg_reason {
	TG_REASON_NONE = 0,
	TG_REASON_RATE = 1,	      /* over the tenant's bandwidth cap */
	TG_REASON_PPS = 2,	      /* over the tenant's packet-rate cap */
	TG_REASON_DENY = 3,	      /* destination on the tenant's or the default deny list */
	TG_REASON_SEGMENT = 4,	      /* another tenant's address, not allowed */
	TG_REASON_CONN_CAP = 5,	      /* connect over max_connections */
	TG_REASON_RAW_SOCKET = 6,     /* raw socket refused */
	TG_REASON_QUOTA_BLOCK = 7,    /* quota used up, action block */
	TG_REASON_QUOTA_THROTTLE = 8, /* over the quota's throttle rate */
	TG_REASON_MAX,
};
#define TG_REASON_SLOTS 16 /* room for the uplink guard's reasons; a power of two */
#define TG_DROP_CELLS (TG_MAX_TENANTS * TG_REASON_SLOTS)

/* A rate as GCRA parameters: each unit (byte or packet) advances the bucket's
 * theoretical arrival time by scale >> TG_RATE_SHIFT nanoseconds; a unit conforms while
 * that time is at most burst_ns ahead of now. scale 0 = no limit. */
#define TG_RATE_SHIFT 20
struct tg_rate {
	__u64 scale;	/* (1e9 << TG_RATE_SHIFT) / units per second */
	__u64 burst_ns; /* burst in units, times 1e9 / units per second */
};

enum tg_policy_flags {
	TG_POL_RAW_DENY = 1 << 0,  /* raw IP sockets refused */
	TG_POL_ISOLATED = 1 << 1,  /* segmentation: other tenants' addresses unreachable */
	TG_POL_HAS_DENY = 1 << 2,  /* the tenant has its own deny list */
	TG_POL_ENFORCE = 1 << 3,   /* anything at all to enforce (fast path when clear) */
	TG_POL_QUOTA_IN = 1 << 4,  /* ingress bytes count toward the quota */
	TG_POL_QUOTA_OUT = 1 << 5, /* egress bytes count toward the quota */
};

enum tg_quota_action {
	TG_QUOTA_ALERT = 1,    /* an event, traffic continues */
	TG_QUOTA_THROTTLE = 2, /* both directions fall to the throttle rate */
	TG_QUOTA_BLOCK = 3,    /* traffic dropped until the period ends */
};

/* tg_policy: array indexed by tenant id, written by user space only. */
struct tg_policy {
	struct tg_rate bps[TG_DIR_MAX]; /* bandwidth caps, in wire bytes */
	struct tg_rate pps[TG_DIR_MAX]; /* packet-rate caps, in wire frames */
	struct tg_rate throttle;	/* quota throttle rate (each direction), bytes */
	__u64 quota_bytes;		/* 0 = no quota */
	__u32 flags;			/* enum tg_policy_flags */
	__u32 max_connections;		/* 0 = no cap */
	__u8 quota_action;		/* enum tg_quota_action */
	__u8 pad[7];
};

/* tg_buckets: array indexed by tenant id * TG_DIR_MAX + direction; the bucket state of
 * the caps, shared by every CPU and every hook of the tenant (the aggregate cap). */
struct tg_bucket {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tat_bytes;    /* theoretical arrival time, ns (bytes) */
	__u64 tat_packets;  /* the same for packets */
	__u64 tat_throttle; /* the quota's throttle rate */
};

/* tg_quota: array indexed by tenant id; the kernel adds billed bytes, the agent resets
 * at period boundaries. */
struct tg_quota {
	__u64 used;	    /* bytes counted in this period */
	__u64 period_start; /* unix seconds, written by the agent */
	__u32 exceeded;	    /* set once by the kernel when used reaches the quota */
	__u32 pad;
};

/* tg_deny4/6: LPM tries keyed by (tenant id, destination prefix); tenant 0 holds the
 * default list for every tenant. User space pushes each prefix's rules down into the
 * longer prefixes under it, so the longest match carries every rule that applies. */
#define TG_DENY_RULES 8
#define TG_DENY_TENANT_BITS 32
struct tg_deny4_key {
	__u32 prefixlen; /* 32 (tenant) + address bits */
	__u32 tenant_id; /* network order: it is part of the prefix */
	__u8 addr[4];
};

struct tg_deny6_key {
	__u32 prefixlen;
	__u32 tenant_id;
	__u8 addr[16];
};

struct tg_deny_rule {
	__u8 proto; /* 0 = any protocol */
	__u8 pad;
	__u16 port_lo, port_hi; /* destination ports, host order; 0-65535 = any */
};

struct tg_deny_rules {
	__u32 n; /* rules in use; a prefix with n = 0 denies nothing */
	struct tg_deny_rule r[TG_DENY_RULES];
};

/* tg_peers: hash of allowed tenant pairs, both orders present. */
struct tg_peer_key {
	__u32 a, b;
};

/* tg_cgroups: cgroup id -> tenant, for the cgroup hooks. */
struct tg_cgroup_val {
	__u32 tenant_id;
	__u32 level; /* depth below the cgroup2 root */
};

/* Events (ring buffer tg_events), one struct for every kind. */
enum tg_event_type {
	TG_EV_ENFORCE = 1,	  /* a drop or refusal, reason in .reason */
	TG_EV_QUOTA_EXCEEDED = 2, /* the tenant's quota is used up; .value = bytes used */
};

struct tg_event {
	__u64 time_ns; /* CLOCK_MONOTONIC */
	__u32 type;    /* enum tg_event_type */
	__u32 tenant_id;
	__u32 reason; /* enum tg_reason */
	__u32 count;  /* enforcements this event stands for (itself + suppressed before) */
	__u64 value;
	__u8 family; /* 0 when there is no packet (socket refusals carry ports if known) */
	__u8 proto;
	__u8 dir; /* enum tg_dir */
	__u8 pad;
	__u16 sport, dport; /* network order */
	__u8 src[16], dst[16];
	__u32 pid;
	__u32 uid;
	char comm[16];
};

/* tg_event_limit: array indexed like tg_drops; at most one event per cell per
 * TG_EVENT_INTERVAL_NS, the rest counted and reported with the next. */
#define TG_EVENT_INTERVAL_NS 1000000000ull
struct tg_event_limit {
	__u64 last_ns;
	__u64 suppressed;
};

#endif /* TOLLGATE_H */
