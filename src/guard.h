/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The uplink guard as the kernel reads it (bpf/lib/guard.h, docs/guard.md): the source
 * sets and rules compiled into tg_gset4/6 and tg_guard_groups, and tg_guard.
 */
#ifndef TG_GUARD_H
#define TG_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "config.h"
#include "datapath.h"

/* Rule ids (tg_event.rule, tg_gset_val.rule): fixed ids for the built-in rules, and
 * TG_RULE_RULES + i for uplink.rules[i]. */
enum tg_rule_id {
	TG_RULE_NONE = 0,
	TG_RULE_BLOCKLIST = 1,
	TG_RULE_ALLOWLIST = 2,
	TG_RULE_SYN_FLOOD = 3,
	TG_RULE_RATE_LIMIT = 4,
	TG_RULE_SQLI = 5,
	TG_RULE_TRAVERSAL = 6,
	TG_RULE_HONEYPOT = 7,
	TG_RULE_MANUAL = 8, /* tollgate block */
	TG_RULE_RULES = 16,
};

/* "blocklist", "allowlist", "syn_flood", "rate_limit", "signatures.sqli",
 * "signatures.traversal", "honeypot.sources", "block", "rules[N]"; "" for TG_RULE_NONE. */
const char *tg_rule_name(uint32_t id, char *buf, size_t len);

/* One entry of tg_gset4 or tg_gset6. */
struct tg_gset_entry {
	unsigned char key[sizeof(struct tg_gset6_key)]; /* first: entries sort by key;
							 * zero-padded for IPv4 */
	int family;					/* AF_INET or AF_INET6 */
	struct tg_gset_val val;
};

/* The configuration's sets and rules as entries and groups. Semantics: for a packet, the
 * applicable rules are those of every prefix that matches its source, in its scope (the
 * destination's tenant) first and then in scope 0; within a scope the longest prefix
 * first, and within one prefix allowlist, then blocklist, then honeypot sources, then
 * uplink.rules in file order. The first applicable rule whose protocol and ports match
 * decides (a rule's proto 0 is any protocol; ports 0-65535 any port, which also matches
 * packets without a port; a narrower range only TCP and UDP packets with a destination
 * port in it, as in bpf/lib/deny.h); when none does, there is no verdict.
 *
 * The compiled form keeps those semantics with one lookup per scope: each entry carries
 * the rules of the shorter prefixes of its own scope covering it, never those of scope
 * 0. The kernel looks up (tenant, source) when the destination's tenant has
 * TG_POL_GUARD_SCOPE, and (0, source) when that found no entry or its entry gave no
 * verdict. Rules an earlier rule of the entry matches everything of are left out, so an
 * entry's rules end at the first any-protocol, any-port one; an entry whose first rule is
 * one is that rule's verdict (action, rule, group 0), any other has action TG_GA_NONE
 * and a group holding its rules in order. Identical groups are shared; here their ids
 * index groups[], and tg_guard_apply() maps them to slots of tg_guard_groups. */
struct tg_guard_compiled {
	struct tg_gset_entry *entries;
	size_t n_entries;
	struct tg_guard_group *groups;		      /* groups[0] unused */
	size_t n_groups;			      /* including groups[0] */
	uint32_t scoped_tenants[TG_MAX_TENANTS / 32]; /* bit per tenant id with scoped rules */
};

/* Compiles cfg->guard with tenant ids from ap. -E2BIG (msg says which prefix) when a
 * prefix needs more than TG_GUARD_GROUP_RULES rules or more than TG_MAX_GUARD_GROUPS
 * groups are needed. */
int tg_guard_compile(const struct tg_config *cfg, const struct tg_applied *ap,
		     struct tg_guard_compiled *out, char *msg, size_t msg_len);
void tg_guard_compiled_free(struct tg_guard_compiled *c);

/* Brings tg_guard, tg_gset4/6 and tg_guard_groups to the configuration (stale entries
 * removed after the new ones are in; a new group never overwrites a slot the running
 * entries use while free slots remain) and sets TG_POL_GUARD_SCOPE in tg_policy of the
 * tenants with scoped rules, clearing it elsewhere (only that bit: tg_policy_apply()
 * keeps it, so the two may run in either order). The honeypot interface is resolved here (ifindex, its MAC);
 * when it does not exist and honeypot_optional is set (replay), redirects go to ifindex
 * 0. Returns 0 or a negative errno after a message on stderr; nothing is written when
 * the configuration does not compile. */
int tg_guard_apply(const struct tg_maps *m, const struct tg_config *cfg,
		   const struct tg_applied *ap, bool honeypot_optional);

#endif /* TG_GUARD_H */
