// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The uplink guard's configuration as the kernel reads it. See guard.h.
 *
 * Compiling: every prefix of the source sets and rules becomes one trie entry per scope
 * (the destination's tenant, or 0 for every destination). The kernel does one
 * longest-prefix lookup per scope, so an entry carries the rules of the shorter prefixes
 * of its scope that cover it, after its own, in the order they apply. A rule that an
 * earlier one matches everything of can never decide and is left out, so a list ends at
 * its first any-protocol, any-port rule. A list that is that rule alone is the entry's
 * verdict; any other list becomes a group of protocol/port rules, shared by every entry
 * with the same list. Sorted, the prefixes of a scope are walked like a trie with a
 * stack of the covering ones, so compiling is N log N and a million blocklist entries
 * need no group at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "guard.h"
#include "lpm.h"
#include "policy.h"

#define NSEC_PER_MSEC 1000000ull

const char *tg_rule_name(uint32_t id, char *buf, size_t len)
{
	static const char *const names[TG_RULE_RULES] = {
		[TG_RULE_NONE] = "",
		[TG_RULE_BLOCKLIST] = "blocklist",
		[TG_RULE_ALLOWLIST] = "allowlist",
		[TG_RULE_SYN_FLOOD] = "syn_flood",
		[TG_RULE_RATE_LIMIT] = "rate_limit",
		[TG_RULE_SQLI] = "signatures.sqli",
		[TG_RULE_TRAVERSAL] = "signatures.traversal",
		[TG_RULE_HONEYPOT] = "honeypot.sources",
		[TG_RULE_MANUAL] = "block",
	};

	if (id < TG_RULE_RULES && names[id])
		return names[id];
	if (id >= TG_RULE_RULES)
		snprintf(buf, len, "rules[%u]", id - TG_RULE_RULES);
	else
		snprintf(buf, len, "rule-%u", id);
	return buf;
}

/* Where a prefix's rules come from, in the order they apply within one prefix. */
enum { ORD_ALLOW, ORD_BLOCK, ORD_HONEYPOT, ORD_RULES };

/* One prefix of one set or rule, in one scope. 28 bytes: a million blocklist entries
 * sort in a few tens of megabytes. */
struct item {
	uint8_t addr[16]; /* masked to prefixlen */
	uint32_t scope;	  /* tenant id, 0 = every destination */
	uint32_t ord;	  /* ORD_*, ORD_RULES + i for uplink.rules[i] */
	uint8_t v6;
	uint8_t prefixlen;
};

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int d;

	if (a->v6 != b->v6)
		return a->v6 < b->v6 ? -1 : 1;
	if (a->scope != b->scope)
		return a->scope < b->scope ? -1 : 1;
	d = memcmp(a->addr, b->addr, 16);
	if (d)
		return d;
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen < b->prefixlen ? -1 : 1;
	return (a->ord > b->ord) - (a->ord < b->ord);
}

static struct tg_guard_rule rule_of(const struct tg_guard_config *g, uint32_t ord)
{
	static const struct tg_guard_rule sets[] = {
		[ORD_ALLOW] = { .action = TG_GA_ALLOW, .rule = TG_RULE_ALLOWLIST },
		[ORD_BLOCK] = { .action = TG_GA_DROP, .rule = TG_RULE_BLOCKLIST },
		[ORD_HONEYPOT] = { .action = TG_GA_HONEYPOT, .rule = TG_RULE_HONEYPOT },
	};
	struct tg_guard_rule r;
	const struct tg_guard_rule_conf *rc;

	if (ord < ORD_RULES) {
		r = sets[ord];
		r.port_hi = TG_PORT_ANY_HI;
		return r;
	}
	rc = &g->rules[ord - ORD_RULES];
	memset(&r, 0, sizeof(r));
	r.proto = rc->proto;
	r.action = (uint8_t)rc->action;
	r.port_lo = rc->port_lo;
	r.port_hi = rc->port_lo || rc->port_hi ? rc->port_hi : TG_PORT_ANY_HI;
	r.rule = TG_RULE_RULES + (ord - ORD_RULES);
	return r;
}

static bool any_any(const struct tg_guard_rule *r)
{
	return !r->proto && !r->port_lo && r->port_hi == TG_PORT_ANY_HI;
}

static bool rule_subsumes(const struct tg_guard_rule *a, const struct tg_guard_rule *b)
{
	return tg_l4_subsumes(a->proto, a->port_lo, a->port_hi, b->proto, b->port_lo, b->port_hi);
}

/* Appends r to the list unless an earlier rule matches all it matches (then it could
 * never decide). False when the list would outgrow a group. */
static bool list_add(struct tg_guard_group *l, const struct tg_guard_rule *r)
{
	for (uint32_t k = 0; k < l->n; k++)
		if (rule_subsumes(&l->r[k], r))
			return true;
	if (l->n == TG_GUARD_GROUP_RULES)
		return false;
	l->r[l->n++] = *r;
	return true;
}

static int add_item(struct item *v, size_t *n, const struct tg_cidr *c, uint32_t scope,
		    uint32_t ord)
{
	if (c->family != AF_INET && c->family != AF_INET6)
		return -EINVAL;
	if (c->prefixlen > tg_family_bits(c->family))
		return -EINVAL;
	tg_mask_addr(v[*n].addr, c->addr, c->family, c->prefixlen);
	v[*n].scope = scope;
	v[*n].ord = ord;
	v[*n].v6 = c->family == AF_INET6;
	v[*n].prefixlen = c->prefixlen;
	(*n)++;
	return 0;
}

/* Every prefix of the configuration, unsorted. */
static int collect(const struct tg_config *cfg, const struct tg_applied *ap, struct item **out,
		   size_t *n_out)
{
	static const struct tg_cidr any4 = { .family = AF_INET }, any6 = { .family = AF_INET6 };
	const struct tg_guard_config *g = &cfg->guard;
	size_t n = 0, cap = g->n_allow + g->n_block + g->n_honeypot_sources + 2 * g->n_rules;
	struct item *v = malloc((cap ? cap : 1) * sizeof(*v));
	int err = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; !err && i < g->n_allow; i++)
		err = add_item(v, &n, &g->allow[i], 0, ORD_ALLOW);
	for (size_t i = 0; !err && i < g->n_block; i++)
		err = add_item(v, &n, &g->block[i], 0, ORD_BLOCK);
	for (size_t i = 0; !err && i < g->n_honeypot_sources; i++)
		err = add_item(v, &n, &g->honeypot_sources[i], 0, ORD_HONEYPOT);
	for (size_t i = 0; !err && i < g->n_rules; i++) {
		const struct tg_guard_rule_conf *r = &g->rules[i];
		uint32_t scope = 0, ord = ORD_RULES + (uint32_t)i;

		if (r->tenant >= 0) {
			if ((size_t)r->tenant >= cfg->n_tenants)
				err = -EINVAL;
			else
				scope = ap->tenant_ids[r->tenant];
		}
		if (!err && r->any_src) {
			err = add_item(v, &n, &any4, scope, ord);
			if (!err)
				err = add_item(v, &n, &any6, scope, ord);
		} else if (!err) {
			err = add_item(v, &n, &r->src, scope, ord);
		}
	}
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static struct tg_cidr item_cidr(const struct item *it)
{
	struct tg_cidr c = { .family = it->v6 ? AF_INET6 : AF_INET, .prefixlen = it->prefixlen };

	memcpy(c.addr, it->addr, 16);
	return c;
}

static bool same_place(const struct item *a, const struct item *b)
{
	return a->v6 == b->v6 && a->scope == b->scope && a->prefixlen == b->prefixlen &&
	       !memcmp(a->addr, b->addr, 16);
}

/* "10.1.0.0/24" or "10.1.0.0/24 (rules for tenant acme)", for messages. */
static void describe(const struct tg_config *cfg, const struct tg_applied *ap,
		     const struct item *it, char *buf, size_t len)
{
	struct tg_cidr c = item_cidr(it);
	char text[64] = "?";
	const char *tenant = NULL;

	tg_format_cidr(&c, text, sizeof(text));
	for (size_t i = 0; it->scope && i < cfg->n_tenants; i++)
		if (ap->tenant_ids[i] == it->scope)
			tenant = cfg->tenants[i].name;
	if (tenant)
		snprintf(buf, len, "%s (rules for tenant %s)", text, tenant);
	else
		snprintf(buf, len, "%s", text);
}

/* Groups deduplicated through an open-addressing table of group ids. */
#define GROUP_SLOTS (2 * TG_MAX_GUARD_GROUPS)

struct group_set {
	struct tg_guard_group *v; /* v[0] unused */
	size_t n;		  /* including v[0] */
	uint16_t slot[GROUP_SLOTS];
};

static uint32_t group_hash(const struct tg_guard_group *g)
{
	const unsigned char *p = (const unsigned char *)g;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*g); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The table's slot holding the id of group g, or the empty slot where it belongs. */
static uint16_t *group_probe(struct group_set *s, const struct tg_guard_group *g)
{
	uint32_t h = group_hash(g) & (GROUP_SLOTS - 1);

	for (;; h = (h + 1) & (GROUP_SLOTS - 1))
		if (!s->slot[h] || !memcmp(&s->v[s->slot[h]], g, sizeof(*g)))
			return &s->slot[h];
}

/* The id of group g, added when new; 0 when there is no room. */
static uint16_t group_id(struct group_set *s, const struct tg_guard_group *g)
{
	uint16_t *p = group_probe(s, g), id = *p;

	if (id)
		return id;
	if (s->n >= TG_MAX_GUARD_GROUPS)
		return 0;
	s->v[s->n] = *g;
	*p = (uint16_t)s->n;
	return (uint16_t)s->n++;
}

static void entry_key(const struct item *it, struct tg_gset_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->family = it->v6 ? AF_INET6 : AF_INET;
	if (it->v6) {
		struct tg_gset6_key k = { .prefixlen = 32 + it->prefixlen,
					  .scope = htonl(it->scope) };

		memcpy(k.addr, it->addr, 16);
		memcpy(e->key, &k, sizeof(k));
	} else {
		struct tg_gset4_key k = { .prefixlen = 32 + it->prefixlen,
					  .scope = htonl(it->scope) };

		memcpy(k.addr, it->addr, 4);
		memcpy(e->key, &k, sizeof(k));
	}
}

/* One level of the walk: a prefix and the rules that apply under it, in order. */
struct level {
	struct tg_cidr cidr;
	struct tg_guard_group list;
};

struct walk {
	const struct tg_config *cfg;
	const struct tg_applied *ap;
	struct group_set *groups;
	struct tg_guard_compiled *out;
	struct level stack[129 + 1];
	size_t depth;
	char *msg;
	size_t msg_len;
};

/* The prefix of v[0..n) (one place, sorted by ord): its entry, and its level. */
static int place(struct walk *w, const struct item *v, size_t n)
{
	struct tg_cidr c = item_cidr(v);
	struct tg_guard_group l;
	struct tg_gset_entry *e;
	char what[TG_NAME_MAX + 96];
	bool fits = true;

	while (w->depth && !tg_prefix_covers(&w->stack[w->depth - 1].cidr, &c))
		w->depth--;
	memset(&l, 0, sizeof(l));
	for (size_t i = 0; fits && i < n; i++) {
		struct tg_guard_rule r = rule_of(&w->cfg->guard, v[i].ord);

		fits = list_add(&l, &r);
	}
	for (uint32_t k = 0; fits && w->depth && k < w->stack[w->depth - 1].list.n; k++)
		fits = list_add(&l, &w->stack[w->depth - 1].list.r[k]);
	if (!fits) {
		describe(w->cfg, w->ap, v, what, sizeof(what));
		snprintf(w->msg, w->msg_len,
			 "uplink: the rules for %s and the prefixes covering it add up to more "
			 "than %d distinct protocol/port rules; at most %d fit one prefix",
			 what, TG_GUARD_GROUP_RULES, TG_GUARD_GROUP_RULES);
		return -E2BIG;
	}
	e = &w->out->entries[w->out->n_entries++];
	entry_key(v, e);
	if (l.n == 1 && any_any(&l.r[0])) {
		e->val.action = l.r[0].action;
		e->val.rule = l.r[0].rule;
	} else {
		e->val.action = TG_GA_NONE;
		e->val.group = group_id(w->groups, &l);
		if (!e->val.group) {
			describe(w->cfg, w->ap, v, what, sizeof(what));
			snprintf(w->msg, w->msg_len,
				 "uplink: more than %d distinct groups of protocol/port rules are "
				 "needed (at %s); prefixes whose rules are the same share one",
				 TG_MAX_GUARD_GROUPS - 1, what);
			return -E2BIG;
		}
	}
	if (v->scope)
		w->out->scoped_tenants[v->scope / 32] |= 1u << (v->scope % 32);
	w->stack[w->depth].cidr = c;
	w->stack[w->depth].list = l;
	w->depth++;
	return 0;
}

int tg_guard_compile(const struct tg_config *cfg, const struct tg_applied *ap,
		     struct tg_guard_compiled *out, char *msg, size_t msg_len)
{
	struct walk *w = calloc(1, sizeof(*w));
	struct group_set *gs = calloc(1, sizeof(*gs));
	size_t n = 0, per_family[2] = { 0 };
	struct item *v = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (msg_len)
		msg[0] = '\0';
	if (!w || !gs) {
		err = -ENOMEM;
		goto out;
	}
	err = collect(cfg, ap, &v, &n);
	if (err) {
		snprintf(msg, msg_len, "uplink: %s",
			 err == -EINVAL ? "invalid prefix or tenant" : strerror(-err));
		goto out;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), item_cmp);
	gs->v = calloc(TG_MAX_GUARD_GROUPS, sizeof(*gs->v));
	out->entries = calloc(n ? n : 1, sizeof(*out->entries));
	if (!gs->v || !out->entries) {
		err = -ENOMEM;
		goto out;
	}
	gs->n = 1;
	*w = (struct walk){
		.cfg = cfg, .ap = ap, .groups = gs, .out = out, .msg = msg, .msg_len = msg_len
	};
	for (size_t i = 0, j; !err && i < n; i = j) {
		if (i && (v[i].v6 != v[i - 1].v6 || v[i].scope != v[i - 1].scope))
			w->depth = 0; /* another family or scope: another trie */
		for (j = i + 1; j < n && same_place(&v[j], &v[i]); j++)
			;
		per_family[v[i].v6]++;
		err = place(w, &v[i], j - i);
	}
	for (int f = 0; !err && f < 2; f++) {
		if (per_family[f] > TG_MAX_GUARD_CIDRS) {
			snprintf(msg, msg_len,
				 "uplink: %zu IPv%c prefixes in the allowlist, blocklist, honeypot "
				 "sources and rules together; at most %u",
				 per_family[f], f ? '6' : '4', TG_MAX_GUARD_CIDRS);
			err = -E2BIG;
		}
	}
	if (!err) {
		out->groups = gs->v;
		out->n_groups = gs->n;
		gs->v = NULL;
	}
out:
	if (err)
		tg_guard_compiled_free(out);
	if (gs)
		free(gs->v);
	free(gs);
	free(w);
	free(v);
	return err;
}

void tg_guard_compiled_free(struct tg_guard_compiled *c)
{
	free(c->entries);
	free(c->groups);
	memset(c, 0, sizeof(*c));
}

/*
 * Applying
 */

static int honeypot_iface(const char *name, bool optional, uint32_t *ifindex, uint8_t *mac)
{
	struct ifreq ifr;
	int fd, err = 0;

	*ifindex = if_nametoindex(name);
	memset(mac, 0, 6);
	if (!*ifindex) {
		if (optional)
			return 0;
		err = -errno;
		fprintf(stderr, "tollgate: the honeypot interface %s: %s\n", name, strerror(errno));
		return err;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		err = -errno;
		fprintf(stderr, "tollgate: the MAC address of the honeypot interface %s: %s\n",
			name, strerror(errno));
	} else {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	close(fd);
	return err;
}

/* units per second with a burst of burst_ms of them */
static void rate_for(uint64_t units, uint64_t burst_ms, struct tg_rate *out)
{
	unsigned __int128 burst = (unsigned __int128)units * burst_ms / 1000;

	tg_rate_compute(units, burst > UINT64_MAX ? UINT64_MAX : (uint64_t)burst, out);
}

static int build_conf(const struct tg_config *cfg, const struct tg_guard_compiled *c,
		      bool honeypot_optional, struct tg_guard_conf *k)
{
	const struct tg_guard_config *g = &cfg->guard;
	int err;

	memset(k, 0, sizeof(*k));
	if (!g->enabled)
		return 0;
	k->flags = TG_GUARD_ON;
	for (size_t i = 0; i < c->n_entries; i++) {
		if (!memcmp(c->entries[i].key + 4, "\0\0\0\0", 4)) {
			k->flags |= TG_GUARD_SETS; /* an entry of scope 0 */
			break;
		}
	}
	k->src_prefix4 = g->src_prefix4;
	k->src_prefix6 = g->src_prefix6;
	if (g->src_pps || g->src_bps)
		k->flags |= TG_GUARD_SRC_LIMIT;
	rate_for(g->src_pps, g->src_burst_ms, &k->src_pps);
	rate_for(g->src_bps / 8, g->src_burst_ms, &k->src_bps);
	k->src_ban_ns = g->src_ban_ttl_ms * NSEC_PER_MSEC;
	if (g->syn) {
		k->flags |= TG_GUARD_SYN | (g->syn_cookie ? TG_GUARD_SYN_COOKIE : 0);
		rate_for(g->syn_threshold, 1000, &k->syn_rate);
		/* a short burst: the end rate tells whether the flood goes on */
		rate_for(g->syn_end_threshold, 100, &k->syn_end_rate);
		rate_for(g->syn_source_budget, 1000, &k->syn_src);
		k->syn_hold_ns = g->syn_hold_ms * NSEC_PER_MSEC;
		k->ban_ns = g->syn_ban_ttl_ms * NSEC_PER_MSEC;
		k->validated_ns = g->syn_validated_ttl_ms * NSEC_PER_MSEC;
	}
	if (g->honeypot_if[0]) {
		k->flags |= TG_GUARD_HONEYPOT | (g->honeypot_bans ? TG_GUARD_BAN_HONEYPOT : 0);
		memcpy(k->honeypot_mac, g->honeypot_mac, 6);
		err = honeypot_iface(g->honeypot_if, honeypot_optional, &k->honeypot_ifindex,
				     k->honeypot_src_mac);
		if (err)
			return err;
	}
	if (g->n_sig_ports) {
		k->flags |= TG_GUARD_SIG | (g->sig_drop ? TG_GUARD_SIG_DROP : 0);
		for (size_t i = 0; i < g->n_sig_ports && i < TG_MAX_SIG_PORTS; i++)
			k->sig_ports[i] = g->sig_ports[i];
	}
	k->rule_sqli = TG_RULE_SQLI;
	k->rule_traversal = TG_RULE_TRAVERSAL;
	k->rule_syn = TG_RULE_SYN_FLOOD;
	k->rule_src_rate = TG_RULE_RATE_LIMIT;
	return 0;
}

/*
 * Groups are placed where no entry of the running configuration looks: a group the
 * map holds already keeps its slot, a new one takes an empty slot, and the slots of
 * groups no longer used are emptied once the entries are in. Only when old and new do
 * not fit together does a new group overwrite an old one.
 */
struct slots {
	struct group_set cur; /* the map's groups (cur.v[slot]), found by content */
	uint16_t *of;	      /* of[compiled id] = slot */
	bool *used;	      /* slot holds a group of the new configuration */
};

/* The first slot from *next on that no new group holds (and that is empty, when
 * want_empty), or TG_MAX_GUARD_GROUPS. */
static uint32_t next_slot(const struct slots *s, uint32_t *next, bool want_empty)
{
	for (; *next < TG_MAX_GUARD_GROUPS; ++*next)
		if (!s->used[*next] && (!want_empty || !s->cur.v[*next].n))
			return (*next)++;
	return TG_MAX_GUARD_GROUPS;
}

static int place_groups(int fd, const struct tg_guard_compiled *c, struct slots *s)
{
	uint32_t slot, empty = 1, any = 1;
	uint16_t *p;

	for (slot = 1; slot < TG_MAX_GUARD_GROUPS; slot++) {
		if (bpf_map_lookup_elem(fd, &slot, &s->cur.v[slot]))
			return -errno;
		p = group_probe(&s->cur, &s->cur.v[slot]);
		if (s->cur.v[slot].n && !*p)
			*p = (uint16_t)slot;
	}
	for (size_t id = 1; id < c->n_groups; id++) {
		p = group_probe(&s->cur, &c->groups[id]);
		slot = *p && !s->used[*p] ? *p : next_slot(s, &empty, true);
		if (slot == TG_MAX_GUARD_GROUPS)
			slot = next_slot(s, &any, false);
		s->of[id] = (uint16_t)slot;
		s->used[slot] = true;
		if (memcmp(&s->cur.v[slot], &c->groups[id], sizeof(c->groups[id])) &&
		    bpf_map_update_elem(fd, &slot, &c->groups[id], BPF_ANY))
			return -errno;
	}
	return 0;
}

static int clear_groups(int fd, const struct slots *s)
{
	static const struct tg_guard_group empty;

	for (uint32_t slot = 1; slot < TG_MAX_GUARD_GROUPS; slot++)
		if (!s->used[slot] && s->cur.v[slot].n &&
		    bpf_map_update_elem(fd, &slot, &empty, BPF_ANY))
			return -errno;
	return 0;
}

static int entry_cmp(const void *x, const void *y)
{
	return memcmp(((const struct tg_gset_entry *)x)->key,
		      ((const struct tg_gset_entry *)y)->key,
		      sizeof(((const struct tg_gset_entry *)x)->key));
}

/* The entries of one family, with their groups' slots, into the family's trie. For IPv4
 * the hint (tg_gset4_hint) covers the old and the new entries while the trie changes,
 * then only the new: each word is stored whole, so the program reads the old or the new
 * word, never a torn one. */
static int sync_family(int fd, int hint_fd, const struct tg_guard_compiled *c,
		       const struct slots *s, int family)
{
	struct tg_gset_entry *v = malloc((c->n_entries ? c->n_entries : 1) * sizeof(*v));
	uint64_t *want = NULL, *live = NULL;
	size_t n = 0;
	int err;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_entries; i++) {
		if (c->entries[i].family != family)
			continue;
		v[n] = c->entries[i];
		if (v[n].val.group)
			v[n].val.group = s->of[v[n].val.group];
		n++;
	}
	if (family == AF_INET) {
		want = calloc(TG_GSET4_HINT_WORDS, sizeof(*want));
		live = want ? tg_hint4_map(hint_fd) : NULL;
		if (!want || !live) {
			err = want ? -errno : -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			const struct tg_gset4_key *k = (const void *)v[i].key;

			tg_hint4_mark(want, k->addr, k->prefixlen - 32);
		}
		for (size_t i = 0; i < TG_GSET4_HINT_WORDS; i++)
			if (want[i] & ~live[i])
				__atomic_fetch_or(&live[i], want[i], __ATOMIC_SEQ_CST);
	}
	err = tg_map_sync(
		fd, family == AF_INET ? sizeof(struct tg_gset4_key) : sizeof(struct tg_gset6_key),
		v, n, sizeof(*v), offsetof(struct tg_gset_entry, val), entry_cmp);
	if (!err && live)
		for (size_t i = 0; i < TG_GSET4_HINT_WORDS; i++)
			if (live[i] != want[i])
				__atomic_store_n(&live[i], want[i], __ATOMIC_SEQ_CST);
out:
	tg_hint4_unmap(live);
	free(want);
	free(v);
	return err;
}

static bool scoped(const struct tg_guard_compiled *c, uint32_t id)
{
	return id < TG_MAX_TENANTS && (c->scoped_tenants[id / 32] & (1u << (id % 32)));
}

/* TG_POL_GUARD_SCOPE of one tenant id, leaving the rest of its policy as it is. */
static int set_scope_bit(int fd, uint32_t id, bool on)
{
	struct tg_policy p;

	if (bpf_map_lookup_elem(fd, &id, &p))
		return -errno;
	if (!!(p.flags & TG_POL_GUARD_SCOPE) == on)
		return 0;
	p.flags = on ? p.flags | TG_POL_GUARD_SCOPE : p.flags & ~(uint32_t)TG_POL_GUARD_SCOPE;
	return bpf_map_update_elem(fd, &id, &p, BPF_ANY) ? -errno : 0;
}

static int sync_scopes(int fd, const struct tg_config *cfg, const struct tg_applied *ap,
		       const struct tg_guard_compiled *c)
{
	int err = 0;

	for (size_t i = 0; !err && i < cfg->n_tenants; i++)
		err = set_scope_bit(fd, ap->tenant_ids[i], scoped(c, ap->tenant_ids[i]));
	/* ids of tenants that left the configuration */
	for (uint32_t id = 1; !err && ap->meta && id < TG_MAX_TENANTS; id++)
		if ((ap->meta[id].flags & TG_TENANT_IN_USE) &&
		    !(ap->meta[id].flags & TG_TENANT_CONFIGURED))
			err = set_scope_bit(fd, id, false);
	return err;
}

int tg_guard_apply(const struct tg_maps *m, const struct tg_config *cfg,
		   const struct tg_applied *ap, bool honeypot_optional)
{
	static const uint32_t zero;
	struct tg_guard_compiled c;
	struct tg_guard_conf conf;
	struct slots *s = calloc(1, sizeof(*s));
	char msg[512];
	int err;

	err = tg_guard_compile(cfg, ap, &c, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "tollgate: %s\n", msg[0] ? msg : strerror(-err));
		free(s);
		return err;
	}
	err = build_conf(cfg, &c, honeypot_optional, &conf);
	if (err)
		goto out;
	if (!s) {
		err = -ENOMEM;
		goto out;
	}
	s->cur.v = calloc(TG_MAX_GUARD_GROUPS, sizeof(*s->cur.v));
	s->of = calloc(c.n_groups + 1, sizeof(*s->of));
	s->used = calloc(TG_MAX_GUARD_GROUPS, sizeof(*s->used));
	if (!s->cur.v || !s->of || !s->used) {
		err = -ENOMEM;
		goto out;
	}
	err = place_groups(m->guard_groups, &c, s);
	if (!err)
		err = sync_family(m->gset4, m->gset4_hint, &c, s, AF_INET);
	if (!err)
		err = sync_family(m->gset6, -1, &c, s, AF_INET6);
	if (!err && bpf_map_update_elem(m->guard, &zero, &conf, BPF_ANY))
		err = -errno;
	if (!err)
		err = sync_scopes(m->policy, cfg, ap, &c);
	if (!err)
		err = clear_groups(m->guard_groups, s);
	if (err)
		fprintf(stderr, "tollgate: cannot program the uplink guard: %s\n", strerror(-err));
out:
	if (s) {
		free(s->cur.v);
		free(s->of);
		free(s->used);
	}
	free(s);
	tg_guard_compiled_free(&c);
	return err;
}
