// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Deny lists and segmentation exceptions into the kernel's tries (docs/isolation.md).
 *
 * The kernel does one longest-prefix lookup per list (the tenant's, then the default
 * one), so every entry must carry all the rules that apply under its prefix: its own and
 * those of every shorter prefix of the same list that covers it ("push-down"). Rules
 * another rule of the entry already covers are left out, so only lists with many
 * distinct narrow rules nested under each other can outgrow TG_DENY_RULES.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "denylist.h"
#include "lpm.h"

static struct tg_deny_rule rule_of(const struct tg_deny_conf *c)
{
	struct tg_deny_rule r = { .proto = c->proto, .port_lo = c->port_lo, .port_hi = c->port_hi };

	if (!r.port_lo && !r.port_hi)
		r.port_hi = TG_PORT_ANY_HI; /* no ports given: any port */
	return r;
}

static bool subsumes(const struct tg_deny_rule *a, const struct tg_deny_rule *b)
{
	return tg_l4_subsumes(a->proto, a->port_lo, a->port_hi, b->proto, b->port_lo, b->port_hi);
}

static void entry_key(uint32_t list, const struct tg_cidr *c, struct tg_deny_entry *e)
{
	uint8_t addr[16];

	tg_mask_addr(addr, c->addr, c->family, c->prefixlen);
	memset(e->key, 0, sizeof(e->key));
	e->family = c->family;
	if (c->family == AF_INET) {
		struct tg_deny4_key k = { .prefixlen = TG_DENY_TENANT_BITS + c->prefixlen,
					  .tenant_id = htonl(list) };

		memcpy(k.addr, addr, 4);
		memcpy(e->key, &k, sizeof(k));
	} else {
		struct tg_deny6_key k = { .prefixlen = TG_DENY_TENANT_BITS + c->prefixlen,
					  .tenant_id = htonl(list) };

		memcpy(k.addr, addr, 16);
		memcpy(e->key, &k, sizeof(k));
	}
}

/* A rule joins a set of rules kept for one prefix unless a kept rule already matches all
 * it matches; kept rules it matches in turn leave. The final set does not depend on the
 * order rules arrive in. */
static void keep_rule(struct tg_deny_rule *kept, size_t *n_kept, const struct tg_deny_rule *r)
{
	size_t w = 0;

	for (size_t k = 0; k < *n_kept; k++)
		if (subsumes(&kept[k], r))
			return;
	for (size_t k = 0; k < *n_kept; k++)
		if (!subsumes(r, &kept[k]))
			kept[w++] = kept[k];
	kept[w++] = *r;
	*n_kept = w;
}

struct sorted_rule {
	const struct tg_deny_conf *c;
	uint8_t addr[16]; /* masked to the prefix */
	size_t idx;	  /* position in the list: ties keep configuration order */
};

/* Family, then address, then prefix length: a prefix sorts after every prefix that
 * covers it, and everything between the two lies inside the covering one. */
static int sorted_cmp(const void *pa, const void *pb)
{
	const struct sorted_rule *a = pa, *b = pb;
	int d;

	if (a->c->cidr.family != b->c->cidr.family)
		return a->c->cidr.family < b->c->cidr.family ? -1 : 1;
	d = memcmp(a->addr, b->addr, 16);
	if (d)
		return d;
	if (a->c->cidr.prefixlen != b->c->cidr.prefixlen)
		return a->c->cidr.prefixlen < b->c->cidr.prefixlen ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* One level of the walk: a prefix and the rules that apply under it. */
struct deny_level {
	struct tg_cidr cidr;
	struct tg_deny_rule kept[TG_DENY_RULES];
	size_t n;
};

/* Sorted, the list is walked like a trie: a stack holds the chain of prefixes covering
 * the current one, each with its pushed-down rules, so compiling is N log N. */
int tg_deny_compile(uint32_t list, const char *who, const struct tg_deny_conf *rules, size_t n,
		    struct tg_deny_entry *out, char *msg, size_t msg_len)
{
	struct deny_level stack[129 + 1];
	struct tg_deny_rule *tmp = NULL;
	struct sorted_rule *v;
	size_t nv = 0, depth = 0, n_out = 0;
	int err = 0;

	v = calloc(n ? n : 1, sizeof(*v));
	tmp = calloc(n + TG_DENY_RULES + 1, sizeof(*tmp));
	if (!v || !tmp) {
		free(v);
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct tg_cidr *p = &rules[i].cidr;

		if (p->family != AF_INET && p->family != AF_INET6)
			continue;
		if (p->prefixlen > tg_family_bits(p->family)) {
			snprintf(msg, msg_len, "%s: prefix length %u is out of range", who,
				 p->prefixlen);
			err = -EINVAL;
			goto out;
		}
		v[nv].c = &rules[i];
		v[nv].idx = i;
		tg_mask_addr(v[nv].addr, p->addr, p->family, p->prefixlen);
		nv++;
	}
	qsort(v, nv, sizeof(*v), sorted_cmp);
	for (size_t i = 0; i < nv;) {
		const struct tg_cidr *p = &v[i].c->cidr;
		size_t n_tmp = 0, j;

		while (depth && !tg_prefix_covers(&stack[depth - 1].cidr, p))
			depth--;
		if (depth) {
			n_tmp = stack[depth - 1].n;
			memcpy(tmp, stack[depth - 1].kept, n_tmp * sizeof(*tmp));
		}
		for (j = i; j < nv && tg_prefix_same(&v[j].c->cidr, p); j++) {
			struct tg_deny_rule r = rule_of(v[j].c);

			keep_rule(tmp, &n_tmp, &r);
		}
		if (n_tmp > TG_DENY_RULES) {
			char cidr[64] = "?";

			tg_format_cidr(p, cidr, sizeof(cidr));
			snprintf(msg, msg_len,
				 "%s: deny rules for %s and the prefixes covering it add up to %zu "
				 "distinct rules; at most %d fit one prefix",
				 who, cidr, n_tmp, TG_DENY_RULES);
			err = -E2BIG;
			goto out;
		}
		stack[depth].cidr = *p;
		stack[depth].n = n_tmp;
		memcpy(stack[depth].kept, tmp, n_tmp * sizeof(*tmp));
		depth++;
		entry_key(list, p, &out[n_out]);
		memset(&out[n_out].rules, 0, sizeof(out[n_out].rules));
		out[n_out].rules.n = (uint32_t)n_tmp;
		memcpy(out[n_out].rules.r, tmp, n_tmp * sizeof(*tmp));
		n_out++;
		i = j;
	}
out:
	free(v);
	free(tmp);
	return err ? err : (int)n_out;
}

int tg_deny_check(const char *who, const struct tg_deny_conf *rules, size_t n, char *msg,
		  size_t msg_len)
{
	struct tg_deny_entry *e = calloc(n ? n : 1, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	err = tg_deny_compile(0, who, rules, n, e, msg, msg_len);
	free(e);
	return err < 0 ? err : 0;
}

/* The wanted contents of one map, sorted by key for lookups during the stale walk. */
struct wanted {
	struct tg_deny_entry *v;
	size_t n;
};

static size_t key_size(int family)
{
	return family == AF_INET ? sizeof(struct tg_deny4_key) : sizeof(struct tg_deny6_key);
}

static int entry_cmp(const void *x, const void *y)
{
	return memcmp(((const struct tg_deny_entry *)x)->key,
		      ((const struct tg_deny_entry *)y)->key,
		      sizeof(((const struct tg_deny_entry *)x)->key));
}

static int peer_cmp(const void *x, const void *y)
{
	const struct tg_peer_key *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

static int sync_deny(int fd, int family, struct wanted *w)
{
	return tg_map_sync(fd, key_size(family), w->v, w->n, sizeof(*w->v),
			   offsetof(struct tg_deny_entry, rules), entry_cmp);
}

static int sync_peers(int fd, struct tg_peer_key *want, size_t n)
{
	static const uint8_t one = 1;

	qsort(want, n, sizeof(*want), peer_cmp);
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &want[i], &one, BPF_ANY))
			return -errno;
	return tg_map_remove_stale(fd, sizeof(*want), want, n, sizeof(*want), peer_cmp);
}

/* Appends list's compiled entries to w4 and w6. */
static int add_list(uint32_t list, const char *who, const struct tg_deny_conf *rules, size_t n,
		    struct wanted *w4, struct wanted *w6)
{
	struct tg_deny_entry *e = calloc(n ? n : 1, sizeof(*e));
	char msg[256] = "";
	int cnt;

	if (!e)
		return -ENOMEM;
	cnt = tg_deny_compile(list, who, rules, n, e, msg, sizeof(msg));
	if (cnt < 0) {
		fprintf(stderr, "tollgate: %s\n", msg[0] ? msg : strerror(-cnt));
		free(e);
		return cnt;
	}
	for (int i = 0; i < cnt; i++) {
		struct wanted *w = e[i].family == AF_INET ? w4 : w6;

		w->v[w->n++] = e[i];
	}
	free(e);
	return 0;
}

static const struct tg_tenant_conf *find_tenant(const struct tg_config *cfg, const char *name,
						size_t *idx)
{
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		if (!strcmp(cfg->tenants[i].name, name)) {
			*idx = i;
			return &cfg->tenants[i];
		}
	}
	return NULL;
}

/* Both orders of every allowed pair: the check is stateless, so an allowed pair talks
 * both ways whichever side listed the other. */
static int build_peers(const struct tg_config *cfg, const struct tg_applied *ap,
		       struct tg_peer_key **out, size_t *n_out)
{
	struct tg_peer_key *v;
	size_t cap = 0, n = 0;

	for (size_t i = 0; i < cfg->n_tenants; i++)
		cap += 2 * cfg->tenants[i].n_allow_tenants;
	v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct tg_tenant_conf *t = &cfg->tenants[i];

		for (size_t j = 0; j < t->n_allow_tenants; j++) {
			size_t k;

			if (!find_tenant(cfg, t->allow_tenants[j], &k)) {
				fprintf(stderr,
					"tollgate: tenant %s: allow_tenants names %s, which is not "
					"a configured tenant\n",
					t->name, t->allow_tenants[j]);
				free(v);
				return -EINVAL;
			}
			if (k == i)
				continue;
			v[n++] = (struct tg_peer_key){ ap->tenant_ids[i], ap->tenant_ids[k] };
			v[n++] = (struct tg_peer_key){ ap->tenant_ids[k], ap->tenant_ids[i] };
		}
	}
	/* a pair both sides listed appears twice: keep one */
	qsort(v, n, sizeof(*v), peer_cmp);
	if (n) {
		size_t w = 1;

		for (size_t i = 1; i < n; i++)
			if (peer_cmp(&v[i], &v[w - 1]))
				v[w++] = v[i];
		n = w;
	}
	*out = v;
	*n_out = n;
	return 0;
}

int tg_denylist_apply(const struct tg_maps *m, const struct tg_config *cfg,
		      const struct tg_applied *ap)
{
	struct wanted w4 = {}, w6 = {};
	struct tg_peer_key *peers = NULL;
	size_t total = cfg->n_deny, n_peers = 0;
	int err;

	for (size_t i = 0; i < cfg->n_tenants; i++)
		total += cfg->tenants[i].n_deny;
	w4.v = calloc(total ? total : 1, sizeof(*w4.v));
	w6.v = calloc(total ? total : 1, sizeof(*w6.v));
	if (!w4.v || !w6.v) {
		err = -ENOMEM;
		goto out;
	}

	/* Compile everything before writing anything: a list that does not fit changes
	 * nothing. */
	err = add_list(TG_TENANT_UNATTRIBUTED, "default deny list (isolation.deny)", cfg->deny,
		       cfg->n_deny, &w4, &w6);
	for (size_t i = 0; !err && i < cfg->n_tenants; i++) {
		char who[TG_NAME_MAX + 32];

		snprintf(who, sizeof(who), "tenant %s", cfg->tenants[i].name);
		err = add_list(ap->tenant_ids[i], who, cfg->tenants[i].deny, cfg->tenants[i].n_deny,
			       &w4, &w6);
	}
	if (err)
		goto out;
	if (w4.n > TG_MAX_DENY || w6.n > TG_MAX_DENY) {
		fprintf(stderr, "tollgate: %zu IPv4 and %zu IPv6 deny prefixes; at most %d each\n",
			w4.n, w6.n, TG_MAX_DENY);
		err = -E2BIG;
		goto out;
	}
	err = build_peers(cfg, ap, &peers, &n_peers);
	if (err)
		goto out;
	if (n_peers > TG_MAX_PEERS) {
		fprintf(stderr, "tollgate: %zu allowed tenant pairs (both orders); at most %d\n",
			n_peers, TG_MAX_PEERS);
		err = -E2BIG;
		goto out;
	}

	err = sync_deny(m->deny4, AF_INET, &w4);
	if (!err)
		err = sync_deny(m->deny6, AF_INET6, &w6);
	if (!err)
		err = sync_peers(m->peers, peers, n_peers);
out:
	free(w4.v);
	free(w6.v);
	free(peers);
	return err;
}
