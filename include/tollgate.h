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
	TG_IFACE_XDP_METERS = 1 << 1,	  /* XDP bills this link's ingress (native mode, or a
					   * replay tap); otherwise tc ingress does */
	TG_IFACE_XDP_NATIVE = 1 << 2,	  /* the guard runs in the driver (else generic) */
};

/* XDP metadata (4 bytes before the frame) of a frame the uplink's XDP program billed;
 * tc ingress leaves such frames alone. */
#define TG_XDP_METERED 0x7467786d /* "tgxm" */

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
	TG_CLASSES_PRESENT = 1 << 2,   /* tg_class_meta[0] only: tg_class4/6 may hold entries;
					* clear, the meters skip them (class internet) */
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
	/* The uplink guard (docs/guard.md); counted against the destination's tenant. */
	TG_REASON_GUARD_DENY = 9, /* blocklist or a guard rule with action drop */
	TG_REASON_BAN = 10,	  /* source banned (SYN-flood guard or `tollgate block`) */
	TG_REASON_SRC_RATE = 11,  /* over the per-source packet or bit rate */
	TG_REASON_SYN_FLOOD = 12, /* SYN of an unvalidated source during a SYN flood */
	TG_REASON_SQLI = 13,	  /* signature: SQL injection in an HTTP request */
	TG_REASON_TRAVERSAL = 14, /* signature: path traversal in an HTTP request */
	TG_REASON_HONEYPOT = 15,  /* redirected to the honeypot (not a drop) */
	TG_REASON_MAX,
};
#define TG_REASON_SLOTS 16 /* every reason has a slot; a power of two */
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
	TG_POL_RAW_DENY = 1 << 0,      /* raw IP sockets refused */
	TG_POL_ISOLATED = 1 << 1,      /* segmentation: other tenants' addresses unreachable */
	TG_POL_HAS_DENY = 1 << 2,      /* the tenant has its own deny list */
	TG_POL_ENFORCE = 1 << 3,       /* anything at all to enforce (fast path when clear) */
	TG_POL_QUOTA_IN = 1 << 4,      /* ingress bytes count toward the quota */
	TG_POL_QUOTA_OUT = 1 << 5,     /* egress bytes count toward the quota */
	TG_POL_GUARD_SCOPE = 1 << 6,   /* the uplink guard has rules scoped to this tenant */
	TG_POL_IFACE_METERED = 1 << 7, /* the tenant has interface selectors: billed at its own
					* interfaces, so its frames on an uplink are not billed
					* again (docs/byte-rule.md) */
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
	TG_EV_GUARD = 3,	  /* the uplink guard acted on a packet: .reason, .action,
				   * .rule; rate-limited per source and reason */
	TG_EV_SYN_FLOOD = 4,	  /* a SYN flood began: .value = SYNs per second seen */
	TG_EV_BAN = 5,		  /* the SYN-flood guard banned .src; .value = TTL in ns */
};

/* What the guard did (tg_event.action). */
enum tg_guard_action {
	TG_GA_NONE = 0,	    /* no verdict: the next stage decides */
	TG_GA_ALLOW = 1,    /* allowlisted: the rest of the guard is skipped */
	TG_GA_DROP = 2,	    /* dropped */
	TG_GA_HONEYPOT = 3, /* redirected to the honeypot interface */
	TG_GA_ALERT = 4,    /* let through, reported */
	TG_GA_COOKIE = 5,   /* a SYN answered from XDP with a cookie SYN-ACK */
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
	__u32 rule;  /* guard: id of the configured rule (0 = none; see tg_guard_rule) */
	__u8 action; /* guard: enum tg_guard_action */
	__u8 pad2[3];
};

/* tg_event_limit: array indexed like tg_drops; at most one event per cell per
 * TG_EVENT_INTERVAL_NS, the rest counted and reported with the next. */
#define TG_EVENT_INTERVAL_NS 1000000000ull
struct tg_event_limit {
	__u64 last_ns;
	__u64 suppressed;
};

/*
 * The uplink guard (docs/guard.md): XDP on uplink.interfaces. Order per frame: source
 * sets and rules (allow > ban > deny), per-source rates, the SYN-flood guard, the
 * honeypot, then the signature stage by tail call; what passes is metered.
 */
#define TG_MAX_GUARD_CIDRS (1u << 21) /* allow + block + rule prefixes, per family */
#define TG_MAX_BANS 262144	      /* banned prefixes per family */
#define TG_MAX_SOURCES 262144	      /* per-source rate buckets (LRU) */
#define TG_MAX_VALIDATED 65536	      /* sources that passed the SYN check (LRU) */
#define TG_MAX_HONEY_FLOWS 65536      /* flows pinned to the honeypot (LRU) */
#define TG_MAX_GUARD_GROUPS 4096      /* rule groups (prefixes with protocol/port rules) */
#define TG_GUARD_GROUP_RULES 8
#define TG_MAX_SIG_PORTS 8
#define TG_SIG_SCAN 512 /* bytes of an HTTP request the signature stage reads */

/* tg_gset4/6: LPM keyed by (scope, source prefix); scope = the destination's tenant id
 * for a tenant's own rules, 0 for rules about every destination. Same layout as the
 * deny keys: prefixlen = 32 + address bits, scope in network order. */
struct tg_gset4_key {
	__u32 prefixlen;
	__u32 scope;
	__u8 addr[4];
};

/* tg_bans_any (array, one __u32): non-zero while the ban tries may hold entries, so that
 * an uplink with no bans walks neither. Whoever adds a ban raises it after the insert
 * (the guard's detectors, `tollgate block`); only the agent's sweep lowers it, when it
 * found no ban left: it lowers it, looks again, and raises it if a ban came meanwhile. */

/* tg_gset4_hint (array of TG_GSET4_HINT_WORDS __u64, mmapable, 2 MiB): bit b of word w is
 * set when some prefix of tg_gset4, in any scope, overlaps the /24 whose top 24 bits are
 * w * 64 + b. A source in an unmarked /24 skips both trie walks. User space keeps it a
 * superset of the trie at every moment. */
#define TG_GSET4_HINT_WORDS (1u << 18)

struct tg_gset6_key {
	__u32 prefixlen;
	__u32 scope;
	__u8 addr[16];
};

/* The value: a verdict for every packet of the prefix, or a group of protocol/port
 * rules (action TG_GA_NONE and group != 0). User space pushes rules down, so the longest
 * match alone decides. */
struct tg_gset_val {
	__u8 action; /* enum tg_guard_action */
	__u8 pad;
	__u16 group; /* index into tg_guard_groups, 0 = none */
	__u32 rule;  /* rule id for events (the blocklist entry or rule that decided) */
};

struct tg_guard_rule {
	__u8 proto; /* 0 = any */
	__u8 action;
	__u16 port_lo, port_hi; /* destination ports, host order */
	__u16 pad;
	__u32 rule;
};

struct tg_guard_group {
	__u32 n; /* the first matching rule decides; none matching: no verdict */
	struct tg_guard_rule r[TG_GUARD_GROUP_RULES];
};

/* tg_bans4/6: LPM on source prefix (struct tg_lpm4_key / tg_lpm6_key). */
enum tg_ban_origin {
	TG_BAN_MANUAL = 1,    /* tollgate block */
	TG_BAN_SYN_FLOOD = 2, /* over its SYN budget during a SYN flood */
	TG_BAN_SIGNATURE = 3, /* sent a request a drop signature matched */
	TG_BAN_RATE = 4,      /* went over its per-source rate */
};

struct tg_ban {
	__u64 expires_ns; /* CLOCK_MONOTONIC; 0 = until unblocked */
	__u64 created_ns;
	__u8 origin; /* enum tg_ban_origin */
	__u8 action; /* TG_GA_DROP or TG_GA_HONEYPOT */
	__u16 pad;
	__u32 rule;
};

/* tg_sources (LRU hash): per-source buckets, keyed by the source's prefix
 * (guard.source_prefix4/6). Updated lock-free (compare and swap). */
struct tg_src_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16]; /* masked to the configured prefix */
};

struct tg_src_state {
	__u64 tat_packets; /* GCRA theoretical arrival times, ns */
	__u64 tat_bytes;
	__u64 tat_syn; /* the source's SYN budget */
};

/* tg_guard: one element, written by user space. */
enum tg_guard_flags {
	TG_GUARD_ON = 1 << 0,		/* anything configured at all */
	TG_GUARD_SETS = 1 << 1,		/* tg_gset4/6 hold entries of scope 0 */
	TG_GUARD_SRC_LIMIT = 1 << 2,	/* per-source rates */
	TG_GUARD_SYN = 1 << 3,		/* the SYN-flood guard */
	TG_GUARD_SYN_COOKIE = 1 << 4,	/* answer unvalidated SYNs with cookies (else drop) */
	TG_GUARD_HONEYPOT = 1 << 5,	/* honeypot redirect configured */
	TG_GUARD_SIG = 1 << 6,		/* signature stage on */
	TG_GUARD_SIG_DROP = 1 << 7,	/* signature matches are dropped (else alert) */
	TG_GUARD_BAN_HONEYPOT = 1 << 8, /* detector bans redirect instead of dropping */
};

struct tg_guard_conf {
	__u32 flags;	  /* enum tg_guard_flags */
	__u8 src_prefix4; /* per-source buckets key on this prefix (default 32) */
	__u8 src_prefix6; /* (default 64) */
	__u16 pad;
	struct tg_rate src_pps;	 /* per-source packets; scale 0 = none */
	struct tg_rate src_bps;	 /* per-source wire bytes */
	struct tg_rate syn_rate; /* all SYNs together: the flood threshold */
	struct tg_rate syn_src;	 /* a source's SYN budget during a flood */
	__u64 syn_hold_ns;	 /* a flood lasts this long after the last SYN over threshold */
	__u64 ban_ns;		 /* TTL of the detector's bans */
	__u64 validated_ns;	 /* how long a source that passed the SYN check stays valid */
	__u32 honeypot_ifindex;
	__u8 honeypot_mac[6];	  /* the honeypot's next hop: destination MAC of redirects */
	__u8 honeypot_src_mac[6]; /* MAC of the honeypot interface: their source MAC */
	__u16 sig_ports[TG_MAX_SIG_PORTS]; /* destination ports, host order; 0 = unused */
	__u32 rule_sqli, rule_traversal;   /* rule ids for signature events */
	__u32 rule_syn, rule_src_rate;	   /* rule ids for SYN-guard and rate events */
	__u64 src_ban_ns; /* a source over its rate is also banned this long (0 = only the
			   * excess is dropped) */
	struct tg_rate syn_end_rate; /* during a flood, SYNs over this rate keep it on */
};

/* tg_syn (array of one, shared by all CPUs): the SYN-flood detector. */
struct tg_syn_state {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tat;	    /* GCRA of all SYNs against syn_rate */
	__u64 flood_until;  /* CLOCK_MONOTONIC; a flood is on while now < flood_until */
	__u64 flood_start;  /* when the current flood was detected */
	__u64 floods;	    /* floods detected since the maps exist */
	__u64 window_start; /* the SYN count of the last second, for the event's rate */
	__u64 window_syns;
	__u64 tat_end; /* GCRA of the SYNs during a flood against syn_end_rate */
};

/* tg_valid (LRU hash): sources that answered a cookie, keyed like tg_sources with a full
 * prefix; value = CLOCK_MONOTONIC time of validation. */

/* tg_honey_flows (LRU hash): flows once sent to the honeypot stay there. */
struct tg_honey_key {
	__u8 family;
	__u8 proto;
	__u16 sport, dport; /* network order */
	__u16 pad;
	__u8 src[16], dst[16];
};

/* tg_guard_evlimit (LRU hash): guard events, at most one per source and reason per
 * TG_EVENT_INTERVAL_NS; the value is a struct tg_event_limit. */
struct tg_guard_evkey {
	__u8 family;
	__u8 reason;
	__u16 pad;
	__u8 src[16];
};

/* Program array of the uplink's optional stages, reached by tail call. */
enum tg_stage {
	TG_STAGE_SIG = 0, /* HTTP signatures (bpf/lib/sig.h) */
	TG_STAGE_MAX,
};

/*
 * Runtime security (docs/runtime.md): tracepoint programs (bpf/runtime.bpf.c) watch the
 * processes of tenants' cgroups. Rules compiled into maps decide in the kernel which
 * events cross to user space; a kill rule sends SIGKILL from the same program. Every
 * event passes a per-tenant budget first, so one tenant's flood cannot starve another's.
 */
#define TG_RT_PATH 256		     /* file names, paths, module and program names, incl. NUL */
#define TG_RT_ARGS 128		     /* exec: the first arguments, NUL-separated */
#define TG_RT_EVENTS_RING (1u << 23) /* runtime event ring buffer, bytes */
#define TG_MAX_RT_RULES 256	     /* configured runtime rules (ids 1..255) */
#define TG_MAX_RT_PREFIXES 4096	     /* literal path prefixes of the rules (LPM) */
#define TG_MAX_INVENTORY 65536	     /* (tenant, file) pairs already reported to the inventory */

enum tg_rt_type {
	TG_RT_NONE = 0,
	TG_RT_EXEC = 1,	  /* sched_process_exec */
	TG_RT_EXIT = 2,	  /* sched_process_exit of a thread-group leader */
	TG_RT_OPEN = 3,	  /* openat, openat2 (open(2) where the syscall exists) */
	TG_RT_PTRACE = 4, /* ptrace: arg[0] request, arg[1] target pid */
	TG_RT_SETUID = 5, /* the setuid and setgid family: arg[0] enum tg_rt_id_op, arg[1..3] ids */
	TG_RT_MODULE = 6, /* init_module, finit_module; path = module name or file */
	TG_RT_BPF = 7,	  /* bpf(BPF_PROG_LOAD): path = program name, arg[0] prog type,
			    * arg[1] the syscall's result (fd or -errno) */
	TG_RT_MOUNT = 8,  /* mount: path = target, args = source, arg[0] flags */
	TG_RT_UNSHARE = 9, /* unshare: arg[0] flags */
	TG_RT_SETNS = 10,  /* setns: arg[0] nstype */
	TG_RT_TYPES,
};

/* Open flags as rules see them (TG_RT_OPEN: arg[2]). */
enum tg_rt_open_flags {
	TG_RT_O_READ = 1 << 0,
	TG_RT_O_WRITE = 1 << 1,	 /* O_WRONLY or O_RDWR, or O_TRUNC */
	TG_RT_O_CREATE = 1 << 2, /* O_CREAT or O_TMPFILE */
};

enum tg_rt_id_op {
	TG_RT_SETUID_OP = 1,
	TG_RT_SETGID_OP,
	TG_RT_SETREUID_OP,
	TG_RT_SETREGID_OP,
	TG_RT_SETRESUID_OP,
	TG_RT_SETRESGID_OP,
	TG_RT_SETFSUID_OP,
	TG_RT_SETFSGID_OP,
};

/* Exit classification (TG_RT_EXIT: arg[0] class, arg[1] exit code, arg[2] signal,
 * arg[3] the pid that sent it, 0 when unknown). */
enum tg_rt_exit_class {
	TG_EXIT_NORMAL = 0, /* exit(2) with any status */
	TG_EXIT_CRASH,	    /* SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT (core dumped or not) */
	TG_EXIT_KILLED,	    /* another signal */
	TG_EXIT_OOM,	    /* chosen by the OOM killer */
	TG_EXIT_CLASSES,
};

enum tg_rt_action {
	TG_RA_ALERT = 1,
	TG_RA_KILL = 2, /* bpf_send_signal(SIGKILL) in the program that matched */
};

enum tg_rt_event_flags {
	TG_RT_F_RULE = 1 << 0,	    /* a rule matched (.rule) */
	TG_RT_F_MONITOR = 1 << 1,   /* the type is monitored for every tenant process */
	TG_RT_F_INVENTORY = 1 << 2, /* first sight of this file for the tenant: exec or library */
	TG_RT_F_KILLED = 1 << 3,    /* SIGKILL was sent */
	TG_RT_F_CORE = 1 << 4,	    /* exit: core dumped */
	TG_RT_F_TRUNC = 1 << 5,	    /* path or args were cut at their size */
};

/* One runtime event (ring buffer tg_rt_events). */
struct tg_rt_event {
	__u64 time_ns; /* CLOCK_MONOTONIC */
	__u64 cgroup_id;
	__u32 type;	 /* enum tg_rt_type */
	__u32 tenant_id; /* 0 = no tenant (host processes: only TG_RT_BPF and TG_RT_MODULE) */
	__u32 pid, tgid, ppid;
	__u32 uid, gid;
	__u32 rule;		  /* id of the matching rule (1..TG_MAX_RT_RULES-1), 0 = none */
	__u8 action;		  /* enum tg_rt_action, 0 = none */
	__u8 rule_gen;		  /* the rule set generation .rule belongs to (tg_rt_active) */
	__u16 flags;		  /* enum tg_rt_event_flags */
	__u16 path_len, args_len; /* bytes used in path and args, NULs included */
	__s64 arg[4];		  /* by type, see enum tg_rt_type */
	char comm[16];
	char path[TG_RT_PATH];
	char args[TG_RT_ARGS];
};

/* tg_rt_counts: per-CPU array, cell = tenant id * TG_RT_TYPES + type. delivered is
 * counted by user space, so produced = delivered + dropped_budget + dropped_ring
 * (+ what is still in the ring). */
#define TG_RT_CELLS (TG_MAX_TENANTS * TG_RT_TYPES)
struct tg_rt_count {
	__u64 produced;		      /* events that matched (before the budget) */
	__u64 dropped_budget;	      /* over the tenant's budget */
	__u64 dropped_ring;	      /* the ring buffer was full */
	__u64 exits[TG_EXIT_CLASSES]; /* TG_RT_EXIT cells: exits by class, reported or not */
};

/* tg_rt_conf: one element, written by user space. */
struct tg_rt_conf {
	__u32 monitor;	 /* bit 1 << type: reported for every tenant process without a rule */
	__u32 flags;	 /* enum tg_rt_conf_flags */
	__u64 budget_ns; /* GCRA: ns per event of one tenant (1e9 / events_per_second) */
	__u64 burst_ns;	 /* GCRA tolerance: (burst - 1) * budget_ns */
};

enum tg_rt_conf_flags {
	TG_RT_CONF_ON = 1 << 0,
	TG_RT_CONF_INVENTORY = 1 << 1, /* report first execs and library opens per tenant */
};

/*
 * Runtime rules as the kernel holds them (docs/runtime.md, "The matcher"). User space
 * (src/runtime.c) compiles runtime.rules into two generations of these maps and flips
 * tg_rt_active to the new one once it is complete, so no event is judged by half a set.
 *
 * A glob is compiled to tokens: a byte (0x01..0xff), TG_GLOB_ANY ('?'), TG_GLOB_STAR
 * ('*', any string, '/' included) or TG_GLOB_CLASS + k (one byte in class k's bitmap).
 */
#define TG_GLOB_ANY 0x100
#define TG_GLOB_STAR 0x101
#define TG_GLOB_CLASS 0x200
#define TG_RT_GLOB_CLASSES 8 /* character classes per rule, path and comm together */
#define TG_RT_COMM_TOKENS 32
#define TG_RT_PFX_BYTES 254 /* path bytes of an LPM key (after generation and type) */

enum tg_rt_path_mode {
	TG_RT_PATH_ANY = 0,	/* no path in the rule */
	TG_RT_PATH_GLOB = 1,	/* the whole path matches the glob */
	TG_RT_PATH_LITERAL = 2, /* the path itself, or anything under it as a directory */
};

struct tg_rt_rule {
	__u32 type;	  /* enum tg_rt_type */
	__u32 tenant;	  /* tenant id, 0 = every tenant */
	__u32 open_flags; /* TG_RT_O_* any of which must be set, 0 = any */
	__u32 uid;	  /* with has_uid */
	__u8 has_uid;
	__u8 action;	/* enum tg_rt_action */
	__u8 path_mode; /* enum tg_rt_path_mode */
	__u8 pad;
	__u16 path_start; /* tokens already matched by the LPM key (the literal prefix) */
	__u16 path_ntok;
	__u16 comm_ntok; /* 0 = any comm */
	__u16 pad2[3];
	__u16 path_tok[TG_RT_PATH];
	__u16 comm_tok[TG_RT_COMM_TOKENS];
	__u8 cls[TG_RT_GLOB_CLASSES][32];
};

/* tg_rt_prefixes: LPM trie. prefixlen counts bits of gen, type and path bytes. */
struct tg_rt_pfx_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 type;
	__u8 path[TG_RT_PFX_BYTES];
};

/* Candidate rule ids (bit i = rule i) whose literal prefix is a prefix of the key. */
struct tg_rt_pfx_val {
	__u64 rules[TG_MAX_RT_RULES / 64];
};

/* tg_rt_rulesets[gen]: what one generation holds. */
struct tg_rt_ruleset {
	__u32 types; /* bit 1 << type: at least one rule of that type */
	__u32 n_rules;
};

/*
 * Seccomp learning (docs/seccomp.md): bpf/seccomp.bpf.c on raw_tp/sys_enter sets, for the
 * tasks of tenants whose flag in tg_sc_learn is set, the bit of each syscall number they
 * issue in the tenant's cell of tg_sc_sets (arrays of TG_MAX_TENANTS, pinned by name).
 */
#define TG_SC_NR_MAX 512 /* syscall numbers learned per ABI: 0 .. TG_SC_NR_MAX - 1 */
#define TG_SC_WORDS (TG_SC_NR_MAX / 64)

enum tg_sc_flags {
	TG_SC_F_NATIVE_BIG = 1 << 0, /* a native number >= TG_SC_NR_MAX (x32, or invalid) */
	TG_SC_F_COMPAT_BIG = 1 << 1, /* the same for a 32-bit (ia32) syscall */
};

struct tg_sc_set {
	__u64 native[TG_SC_WORDS]; /* x86_64 syscall numbers */
	__u64 compat[TG_SC_WORDS]; /* ia32 numbers (32-bit tasks, int 0x80) */
	__u64 flags;		   /* enum tg_sc_flags */
};

#endif /* TOLLGATE_H */
