/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The configuration: parsed and validated as a whole, with no side effects, so that
 * `tollgate check`, `tollgate run` and the fuzzer all drive the same code.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tollgate.h"

#define TG_DEFAULT_CONFIG "/etc/tollgate/tollgate.yaml"
#define TG_DEFAULT_STORE "/var/lib/tollgate/tollgate.db"
#define TG_DEFAULT_SPOOL_DIR "/var/lib/tollgate" /* spool-NODE.log, PostgreSQL stores */
#define TG_DEFAULT_INTERVAL 60
#define TG_DEFAULT_PIN_PATH "/sys/fs/bpf/tollgate"
#define TG_DEFAULT_RUN_DIR "/run/tollgate"
#define TG_DEFAULT_EVENTS "/var/log/tollgate/events.json"
#define TG_DEFAULT_AUDIT "/var/log/tollgate/audit.log"
#define TG_DEFAULT_INVENTORY "/var/lib/tollgate/inventory.db"
#define TG_DEFAULT_API_LISTEN "127.0.0.1:9477" /* api.listen (docs/api.md) */
#define TG_DEFAULT_RT_EVENTS_PER_SEC 1000      /* runtime.events_per_second, per tenant */
/* runtime.monitor when not given: every type but open (too many) */
#define TG_RT_MONITOR_DEFAULT (((1u << TG_RT_TYPES) - 2) & ~(1u << TG_RT_OPEN))

struct tg_cidr {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; host bits are zero */
	uint8_t prefixlen;
};

struct tg_limits {
	uint64_t egress_rate; /* bits per second, 0 = none */
	uint64_t ingress_rate;
	uint64_t egress_burst; /* bytes; 0 = the default for the rate (tg_default_burst) */
	uint64_t ingress_burst;
	uint64_t egress_pps; /* packets per second, 0 = none */
	uint64_t ingress_pps;
	uint32_t max_connections; /* 0 = none */
};

/* A deny rule: packets and connections from a tenant to cidr (optionally only proto,
 * optionally only destination ports port_lo..port_hi) are dropped or refused. */
struct tg_deny_conf {
	struct tg_cidr cidr;
	uint8_t proto;		   /* 0 = any; IPPROTO_TCP, IPPROTO_UDP, ... */
	uint16_t port_lo, port_hi; /* 0..65535 = any */
};

enum tg_quota_period {
	TG_PERIOD_HOURLY = 1,
	TG_PERIOD_DAILY,
	TG_PERIOD_WEEKLY, /* weeks start on Monday, 00:00 UTC */
	TG_PERIOD_MONTHLY,
};

struct tg_quota_conf {
	uint64_t bytes;		/* 0 = no quota */
	int period;		/* enum tg_quota_period, calendar periods in UTC */
	int action;		/* enum tg_quota_action (tollgate.h) */
	uint64_t throttle_rate; /* bits per second, action throttle only */
	bool ingress, egress;	/* directions that count (default both) */
};

struct tg_tenant_conf {
	char name[TG_NAME_MAX];
	struct tg_cidr *cidrs;
	size_t n_cidrs;
	char **interfaces; /* names or fnmatch(3) globs */
	size_t n_interfaces;
	char **cgroups; /* absolute cgroup v2 paths */
	size_t n_cgroups;
	struct tg_limits limits;
	bool has_limits;
	struct tg_deny_conf *deny; /* the tenant's own egress deny list */
	size_t n_deny;
	char **allow_tenants; /* segmentation exceptions: names of tenants this one may
			       * exchange traffic with (both ways) */
	size_t n_allow_tenants;
	bool raw_sockets_denied; /* raw_sockets: deny */
	struct tg_quota_conf quota;
};

/* classes: a named set of CIDRs; traffic whose remote address is in one is billed to
 * it (longest prefix wins), everything else to `internet`. */
struct tg_class_conf {
	char name[TG_CLASS_NAME_MAX];
	struct tg_cidr *cidrs;
	size_t n_cidrs;
};

struct tg_flows_conf {
	uint32_t capacity;     /* flows.capacity, entries; default TG_DEFAULT_FLOWS */
	uint32_t idle_timeout; /* flows.idle_timeout, seconds; default 60 */
};

/* outputs.ipfix: flow records to one collector over UDP (RFC 7011). */
struct tg_ipfix_conf {
	char *host;	   /* collector address or name (NULL = IPFIX export off) */
	char *port;	   /* service, default "4739" */
	uint32_t interval; /* seconds between exports, default 10 */
	uint32_t domain;   /* observation domain id, default 1 */
};

/* The uplink guard (uplink: in the file; docs/guard.md). */
enum tg_xdp_mode {
	TG_XDP_AUTO = 0, /* native where the driver supports it, else generic */
	TG_XDP_NATIVE,
	TG_XDP_GENERIC,
};

/* uplink.rules[]: packets from src (any source when any_src) towards tenant's addresses
 * (tenant -1: every destination), optionally only proto and destination ports. */
struct tg_guard_rule_conf {
	struct tg_cidr src;
	bool any_src;		   /* no src: 0.0.0.0/0 and ::/0 */
	int tenant;		   /* index into tg_config.tenants, -1 = every destination */
	uint8_t proto;		   /* 0 = any */
	uint16_t port_lo, port_hi; /* 0..65535 = any */
	int action;		   /* TG_GA_DROP, TG_GA_ALLOW, TG_GA_HONEYPOT or TG_GA_ALERT */
};

/* runtime.rules[] (docs/runtime.md). */
struct tg_rt_rule_conf {
	char name[64];		  /* required, unique; events and the audit log name it */
	char tenant[TG_NAME_MAX]; /* "" = every tenant */
	uint32_t type;		  /* enum tg_rt_type */
	char path[TG_RT_PATH];	  /* "" = any; a glob (*, ?, [..]) or a literal path/prefix */
	char comm[32];		  /* "" = any; a glob on the process name (16 bytes) */
	uint32_t open_flags;	  /* TG_RT_O_* any of which must be set; 0 = any (open) */
	int64_t uid;		  /* -1 = any */
	uint8_t action;		  /* TG_RA_ALERT (default) or TG_RA_KILL */
	unsigned line;		  /* where it was written, for messages */
};

/* runtime: absent means no runtime security at all (enabled false). */
struct tg_runtime_config {
	bool enabled;
	struct tg_rt_rule_conf *rules;
	size_t n_rules;
	uint32_t monitor; /* bit 1 << TG_RT_*: runtime.monitor; default every type but open */
	uint64_t events_per_sec; /* per tenant, default TG_DEFAULT_RT_EVENTS_PER_SEC */
	uint64_t events_burst;	 /* default 2 * events_per_sec */
	bool inventory;		 /* runtime.inventory, default true */
	char *inventory_path;	 /* runtime.inventory_path, default TG_DEFAULT_INVENTORY */
	char **bpf_allowlist;	 /* runtime.bpf_allowlist: program tags (16 hex digits) */
	size_t n_bpf_allowlist;
	bool seccomp_learn_all; /* runtime.seccomp_learn: true */
	char **seccomp_learn;	/* runtime.seccomp_learn: [tenant, ...] */
	size_t n_seccomp_learn;
};

struct tg_guard_config {
	bool enabled; /* uplink: has at least one guard key (everything below is off otherwise) */
	int xdp_mode; /* enum tg_xdp_mode */
	/* allowlist + allowlist_files, blocklist + blocklist_files: the files are read when
	 * the configuration is loaded (one CIDR per line, '#' comments), so a bad line is an
	 * error of the configuration, FILE:LINE. */
	struct tg_cidr *allow;
	size_t n_allow;
	struct tg_cidr *block;
	size_t n_block;
	struct tg_guard_rule_conf *rules;
	size_t n_rules;
	/* rate_limit: per source (or source prefix) */
	uint64_t src_pps;	 /* packets per second, 0 = none */
	uint64_t src_bps;	 /* bits per second, 0 = none */
	uint64_t src_burst_ms;	 /* burst as time at the rate, default 1000 */
	uint8_t src_prefix4;	 /* default 32 */
	uint8_t src_prefix6;	 /* default 64 */
	uint64_t src_ban_ttl_ms; /* a source over its rate is banned this long, 0 = not */
	/* syn_flood */
	bool syn;		    /* syn_flood present */
	uint64_t syn_threshold;	    /* SYNs per second, all sources together (required) */
	uint64_t syn_end_threshold; /* a flood ends once SYNs stay under this rate for hold;
				     * default threshold / 4 */
	uint64_t syn_source_budget; /* SYNs per second a source may send during a flood
				     * before it is banned, default 10 */
	uint64_t syn_ban_ttl_ms;    /* default 60 s */
	uint64_t syn_hold_ms;	    /* the flood state outlasts the last excess SYN, default 10 s */
	uint64_t syn_validated_ttl_ms; /* a source that answered a cookie, default 10 min */
	bool syn_cookie;	       /* mode: cookie (default drop) */
	/* honeypot */
	char honeypot_if[TG_IFNAME_MAX];  /* "" = no honeypot */
	uint8_t honeypot_mac[6];	  /* the honeypot host's MAC (required with interface) */
	struct tg_cidr *honeypot_sources; /* flagged by rule: always redirected */
	size_t n_honeypot_sources;
	bool honeypot_bans; /* detector bans redirect to the honeypot instead of dropping */
	/* signatures */
	uint16_t sig_ports[TG_MAX_SIG_PORTS];
	size_t n_sig_ports; /* 0 = signature stage off */
	bool sig_drop;	    /* action: drop (default alert) */
};

struct tg_config {
	char *path;
	char node[64];
	struct tg_tenant_conf *tenants;
	size_t n_tenants;
	uint32_t interval; /* billing.interval, seconds */
	char *store_path;  /* SQLite file, or a postgresql:// URL */
	char *spool_dir;   /* billing.spool_dir, NULL = TG_DEFAULT_SPOOL_DIR (PostgreSQL) */
	char **uplinks;	   /* uplink.interfaces */
	size_t n_uplinks;
	char *pin_path;		       /* agent.pin_path */
	char *run_dir;		       /* agent.run_dir */
	struct tg_class_conf *classes; /* at most TG_MAX_CLASSES - 1; `internet` implied */
	size_t n_classes;
	struct tg_flows_conf flows;
	struct tg_ipfix_conf ipfix;
	struct tg_deny_conf *deny; /* top-level deny: the default list for every tenant */
	size_t n_deny;
	bool segmentation; /* isolation.segmentation, default true: tenants cannot reach each
			    * other's addresses unless allow_tenants says so */
	char *events_path; /* outputs.events, default TG_DEFAULT_EVENTS */
	char *audit_path;  /* outputs.audit, default TG_DEFAULT_AUDIT */
	struct tg_guard_config guard;
	struct tg_runtime_config runtime;
	char *api_listen;     /* api.listen (alias outputs.prometheus); "off": no TCP server */
	char *api_token_file; /* api.token_file, NULL = no token */
};

/* One diagnostic, positioned in the file (1-based line and column). */
struct tg_diag {
	unsigned line, col;
	char msg[256];
	bool warning; /* accepted, but the user should know (e.g. not enforced yet) */
};

struct tg_diags {
	struct tg_diag *v;
	size_t n, cap;
	size_t errors; /* count of non-warnings */
};

/* Parse and validate FILE. Returns 0 when the file is valid (warnings allowed), -EINVAL
 * when diags holds at least one error, another negative errno when the file cannot be
 * read. cfg is filled only on success; on failure it is left zeroed. */
int tg_config_load(const char *path, struct tg_config *cfg, struct tg_diags *diags);
/* Same, from a buffer (the fuzzer's entry); name is used in messages. */
int tg_config_parse(const char *name, const char *buf, size_t len, struct tg_config *cfg,
		    struct tg_diags *diags);
void tg_config_free(struct tg_config *cfg);
void tg_diags_free(struct tg_diags *d);
/* Print every diagnostic as FILE:LINE:COL: message ("warning: " before warnings). */
void tg_diags_print(const struct tg_diags *d, const char *file, FILE *out);

/* Value parsers, exported for the CLI and the tests. Each returns 0 or -EINVAL. */
int tg_parse_cidr(const char *s, struct tg_cidr *out);
int tg_parse_rate(const char *s, uint64_t *bits_per_sec);
/* A size in bytes: a number and a unit, B, KB, MB, GB, TB (powers of 1000) or KiB, MiB,
 * GiB, TiB (powers of 1024), the unit in any case; greater than zero. */
int tg_parse_size(const char *s, uint64_t *bytes);
int tg_parse_duration(const char *s, uint64_t *msec);
/* api.listen: "ADDRESS:PORT" or "[IPv6]:PORT", numeric. 0 or -EINVAL. */
struct sockaddr_storage;
int tg_api_listen_parse(const char *s, struct sockaddr_storage *ss, unsigned *len);
bool tg_api_listen_loopback(const struct sockaddr_storage *ss);
int tg_format_cidr(const struct tg_cidr *c, char *buf, size_t len);
bool tg_cidr_overlap(const struct tg_cidr *a, const struct tg_cidr *b);
bool tg_tenant_name_valid(const char *s);

/* The tenant whose interface selectors match IFNAME, in configuration order, or NULL. */
const struct tg_tenant_conf *tg_config_tenant_for_iface(const struct tg_config *cfg,
							const char *ifname);
bool tg_config_is_uplink(const struct tg_config *cfg, const char *ifname);

/* Reload (docs/lifecycle.md): the keys a running agent cannot take without a restart
 * (where it stores, listens and pins; the flow table's size; runtime security on or
 * off). The first one that differs between cur and next, as the file spells it, into
 * key, and true; false when next may be applied live. */
bool tg_config_restart_only(const struct tg_config *cur, const struct tg_config *next, char *key,
			    size_t len);

#endif /* TG_CONFIG_H */
