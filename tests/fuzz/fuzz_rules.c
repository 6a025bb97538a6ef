// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The rule compilers under libFuzzer (docs/fuzzing.md): uplink guard rules
 * (tg_guard_compile, src/guard.c), deny lists (tg_deny_compile, tg_deny_check,
 * src/denylist.c) and runtime rules (tg_rt_compile, src/runtime.c, and the globs of
 * src/rt_glob.c), with fake tenant ids and no map touched.
 *
 * The input is a configuration: as text when its first byte is ASCII, else the bytes
 * after the first drive a generator that writes one, with three tenants and deny rules,
 * allowlist, blocklist, honeypot sources, uplink rules and runtime rules drawn from small
 * sets of nested prefixes, ports and globs (so that the rules overlap). Either way it goes
 * through tg_config_parse, and when that accepts it, through every compiler.
 *
 * Properties, besides no crash, leak or sanitizer report:
 *  - a configuration the loader accepts compiles (the agent would not start otherwise);
 *  - deny lists: for addresses at and around every prefix and packets of every kind
 *    (port known, no port, header unreadable, protocol unknown), the compiled entry of the
 *    longest matching prefix, judged as bpf/lib/deny.h judges it, denies exactly when
 *    some rule of the list (read here from the configuration) matches;
 *  - the guard: for sources at and around every prefix, every destination tenant and
 *    packets of every protocol and port, the compiled entries and groups, looked up as
 *    bpf/lib/guard.h does, give the verdict and rule the semantics of src/guard.h give:
 *    the destination tenant's rules, then those for every destination, each by longest
 *    prefix, then allowlist, blocklist, honeypot sources, rules in file order, the first
 *    one matching deciding;
 *  - runtime rules: ids in order (kill rules first), each with its tenant's id, uid, open
 *    flags and action as written; every path and comm glob matches as fnmatch(3) does (a
 *    literal path as the path itself or anything under it), from the start and from the
 *    literal prefix the LPM key holds; the LPM entries list exactly the rules whose
 *    prefix is theirs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "apply.h"
#include "config.h"
#include "denylist.h"
#include "fuzz.h"
#include "guard.h"
#include "rt_glob.h"
#include "runtime.h"

#ifndef FUZZ_LISTS /* the Makefile passes its absolute path */
#define FUZZ_LISTS "tests/fuzz/lists"
#endif
#define NAME FUZZ_LISTS "/fuzz-rules.yaml"

#define ANY_HI 65535
#define PORT_UNKNOWN 0xffffffffu

/* Kinds of packet for a deny list (enum tg_l4_known, bpf/lib/deny.h). */
enum known { K_PORT, K_NO_PORT, K_PROTO, K_NOTHING };

static const uint8_t protos[] = { 6, 17, 1, 58, 47 };
static const uint16_t base_ports[] = { 1, 22, 80, 443, 65535 };

/* Rule visits the differential checks may still spend on this input: large lists get
 * fewer probes, not slower runs. */
static long work;

/*
 * Addresses
 */

static unsigned bits_of(int family)
{
	return family == AF_INET ? 32 : 128;
}

FUZZ_NOCOV static bool in_prefix(const struct tg_cidr *c, int family, const uint8_t *a)
{
	unsigned whole = c->prefixlen / 8, rest = c->prefixlen % 8;

	if (c->family != family)
		return false;
	for (unsigned i = 0; i < whole; i++)
		if (c->addr[i] != a[i])
			return false;
	return !rest || !((c->addr[whole] ^ a[whole]) & (0xff00 >> rest));
}

/* A compiled entry's key, decoded once: every key of tg_deny4/6 and tg_gset4/6 is
 * (prefixlen = 32 + address bits, a tenant id or scope in network order, the address). */
struct dec {
	struct tg_cidr c;
	uint32_t scope;
	size_t i; /* the entry's index */
};

_Static_assert(sizeof(struct tg_deny6_key) == sizeof(struct tg_gset6_key) &&
		       offsetof(struct tg_deny6_key, addr) == offsetof(struct tg_gset6_key, addr),
	       "the key layouts this file decodes alike");

static void decode(const unsigned char *key, int family, size_t i, struct dec *d)
{
	struct tg_gset6_key k;

	FUZZ_CHECK(family == AF_INET || family == AF_INET6, "entry %zu: family %d", i, family);
	memcpy(&k, key, sizeof(k));
	FUZZ_CHECK(k.prefixlen >= 32 && k.prefixlen - 32 <= bits_of(family),
		   "entry %zu: prefix length %u", i, k.prefixlen);
	memset(d, 0, sizeof(*d));
	d->c.family = family;
	d->c.prefixlen = (uint8_t)(k.prefixlen - 32);
	memcpy(d->c.addr, k.addr, family == AF_INET ? 4 : 16);
	d->scope = ntohl(k.scope);
	d->i = i;
}

/* The longest entry of scope holding a: what an LPM lookup finds. */
FUZZ_NOCOV static const struct dec *longest(const struct dec *v, size_t n, uint32_t scope,
					    int family, const uint8_t *a)
{
	const struct dec *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (v[i].scope == scope && in_prefix(&v[i].c, family, a) &&
		    (!best || v[i].c.prefixlen > best->c.prefixlen))
			best = &v[i];
	return best;
}

/* Probe addresses of a prefix: its first and last address, and their neighbours. */
static size_t probes_of(const struct tg_cidr *c, uint8_t out[][16])
{
	unsigned bits = bits_of(c->family), nb = bits / 8;
	uint8_t last[16];

	memcpy(out[0], c->addr, 16);
	memcpy(last, c->addr, 16);
	for (unsigned b = c->prefixlen; b < bits; b++)
		last[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	memcpy(out[1], last, 16);
	memcpy(out[2], c->addr, 16); /* first - 1 */
	for (int i = (int)nb - 1; i >= 0 && out[2][i]-- == 0; i--)
		;
	memcpy(out[3], last, 16); /* last + 1 */
	for (int i = (int)nb - 1; i >= 0 && ++out[3][i] == 0; i--)
		;
	return 4;
}

/*
 * Deny lists
 */

/* One rule of bpf/lib/deny.h's tg_deny_rules_match. */
FUZZ_NOCOV static bool deny_rule_matches(uint8_t rproto, uint16_t lo, uint16_t hi, uint8_t proto,
					 uint16_t port, enum known k)
{
	if (rproto && rproto != proto && k != K_NOTHING)
		return false;
	if (lo == 0 && hi == ANY_HI)
		return true;
	if (k >= K_PROTO)
		return true;
	return k == K_PORT && port >= lo && port <= hi;
}

/* The configuration's reading: some rule of the list covering a. */
FUZZ_NOCOV static bool deny_oracle(const struct tg_deny_conf *v, size_t n, int family,
				   const uint8_t *a, uint8_t proto, uint16_t port, enum known k)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t lo = v[i].port_lo, hi = v[i].port_hi;

		if (!lo && !hi)
			hi = ANY_HI; /* no ports: any port */
		if (in_prefix(&v[i].cidr, family, a) &&
		    deny_rule_matches(v[i].proto, lo, hi, proto, port, k))
			return true;
	}
	return false;
}

/* The kernel's reading: the rules of the entry the lookup found (NULL: none). */
FUZZ_NOCOV static bool deny_compiled(const struct tg_deny_entry *e, uint8_t proto, uint16_t port,
				     enum known k)
{
	if (!e)
		return false;
	FUZZ_CHECK(e->rules.n <= TG_DENY_RULES, "%u rules in an entry", e->rules.n);
	for (uint32_t i = 0; i < e->rules.n; i++) {
		const struct tg_deny_rule *r = &e->rules.r[i];

		if (deny_rule_matches(r->proto, r->port_lo, r->port_hi, proto, port, k))
			return true;
	}
	return false;
}

static void check_deny_list(uint32_t list, const struct tg_deny_conf *v, size_t n)
{
	struct tg_deny_entry *e = calloc(n ? n : 1, sizeof(*e));
	struct dec *d = calloc(n ? n : 1, sizeof(*d));
	char msg[256] = "";
	uint16_t ports[5 + 4 * 16];
	size_t n_ports = 0;
	int got;

	FUZZ_CHECK(e && d, "out of memory");
	FUZZ_CHECK(!tg_deny_check("fuzz", v, n, msg, sizeof(msg)),
		   "tg_deny_check refuses an accepted list: %s", msg);
	got = tg_deny_compile(list, "fuzz", v, n, e, msg, sizeof(msg));
	FUZZ_CHECK(got >= 0 && (size_t)got <= n, "tg_deny_compile: %d (%s)", got, msg);
	for (int i = 0; i < got; i++) {
		decode(e[i].key, e[i].family, (size_t)i, &d[i]);
		FUZZ_CHECK(d[i].scope == list, "an entry of list %u in list %u", d[i].scope, list);
	}
	for (size_t i = 0; i < sizeof(base_ports) / sizeof(base_ports[0]); i++)
		ports[n_ports++] = base_ports[i];
	for (size_t i = 0; i < n && i < 16; i++) {
		uint16_t lo = v[i].port_lo, hi = v[i].port_hi;

		ports[n_ports++] = lo > 1 ? lo - 1 : 1;
		ports[n_ports++] = lo ? lo : 1;
		ports[n_ports++] = hi ? hi : 1;
		ports[n_ports++] = hi && hi < ANY_HI ? hi + 1 : ANY_HI;
	}
	for (size_t i = 0; i < n && work > 0; i++) {
		uint8_t addrs[4][16];
		size_t na = probes_of(&v[i].cidr, addrs);
		int fam = v[i].cidr.family;

		work -= (long)(na * ((size_t)got + (3 + n_ports) * sizeof(protos) * n));
		for (size_t a = 0; a < na; a++) {
			const struct dec *hit = longest(d, (size_t)got, list, fam, addrs[a]);
			const struct tg_deny_entry *he = hit ? &e[hit->i] : NULL;

			for (size_t pi = 0; pi < sizeof(protos); pi++) {
				uint8_t pr = protos[pi];

				for (int k = K_NO_PORT; k <= K_NOTHING; k++) {
					uint8_t kp = k == K_NOTHING ? 0 : pr;

					FUZZ_CHECK(
						deny_oracle(v, n, fam, addrs[a], kp, 0, k) ==
							deny_compiled(he, kp, 0, k),
						"list %u, rule %zu, probe %zu, proto %u, kind %d",
						list, i, a, kp, k);
				}
				if (pr != 6 && pr != 17)
					continue;
				for (size_t q = 0; q < n_ports; q++)
					FUZZ_CHECK(
						deny_oracle(v, n, fam, addrs[a], pr, ports[q],
							    K_PORT) ==
							deny_compiled(he, pr, ports[q], K_PORT),
						"list %u, rule %zu, probe %zu, proto %u, port %u",
						list, i, a, pr, ports[q]);
			}
		}
	}
	free(d);
	free(e);
}

/*
 * The uplink guard
 */

struct verdict {
	uint32_t action, rule;
};

FUZZ_NOCOV static bool guard_rule_matches(uint8_t rproto, uint16_t lo, uint16_t hi, uint8_t proto,
					  uint32_t port)
{
	if (rproto && rproto != proto)
		return false;
	if (lo || hi != ANY_HI)
		return port <= 0xffff && port >= lo && port <= hi;
	return true;
}

/* src/guard.h's semantics, from the configuration: of the rules in scope (a tenant
 * index, or -1 for every destination) whose prefix holds src and whose protocol and ports
 * match, the one of the longest prefix; on one prefix, allowlist before blocklist before
 * honeypot sources before uplink.rules, and those in file order. */
FUZZ_NOCOV static struct verdict guard_oracle_scope(const struct tg_guard_config *g, int scope,
						    int family, const uint8_t *src, uint8_t proto,
						    uint32_t port)
{
	static const uint32_t act[3] = { TG_GA_ALLOW, TG_GA_DROP, TG_GA_HONEYPOT };
	static const uint32_t rid[3] = { TG_RULE_ALLOWLIST, TG_RULE_BLOCKLIST, TG_RULE_HONEYPOT };
	const struct tg_cidr *sets[3] = { g->allow, g->block, g->honeypot_sources };
	size_t ns[3] = { g->n_allow, g->n_block, g->n_honeypot_sources };
	struct verdict best = { TG_GA_NONE, 0 };
	int best_len = -1;

	for (int s = 0; scope < 0 && s < 3; s++)
		for (size_t i = 0; i < ns[s]; i++)
			if (sets[s][i].prefixlen > best_len &&
			    in_prefix(&sets[s][i], family, src)) {
				best_len = sets[s][i].prefixlen;
				best = (struct verdict){ act[s], rid[s] };
			}
	for (size_t i = 0; i < g->n_rules; i++) {
		const struct tg_guard_rule_conf *r = &g->rules[i];
		uint16_t hi = r->port_lo || r->port_hi ? r->port_hi : ANY_HI;
		int len = r->any_src ? 0 : r->src.prefixlen;

		if (r->tenant == scope && len > best_len &&
		    (r->any_src || in_prefix(&r->src, family, src)) &&
		    guard_rule_matches(r->proto, r->port_lo, hi, proto, port)) {
			best_len = len;
			best = (struct verdict){ (uint32_t)r->action, TG_RULE_RULES + (uint32_t)i };
		}
	}
	return best;
}

/* bpf/lib/guard.h's reading of the entry a lookup found (NULL: none). */
FUZZ_NOCOV static struct verdict guard_compiled(const struct tg_guard_compiled *c,
						const struct dec *hit, uint8_t proto, uint32_t port)
{
	const struct tg_gset_entry *e;

	if (!hit)
		return (struct verdict){ TG_GA_NONE, 0 };
	e = &c->entries[hit->i];
	if (!e->val.group)
		return (struct verdict){ e->val.action, e->val.rule };
	FUZZ_CHECK(e->val.action == TG_GA_NONE && e->val.group < c->n_groups,
		   "entry: action %u, group %u of %zu", e->val.action, e->val.group, c->n_groups);
	{
		const struct tg_guard_group *grp = &c->groups[e->val.group];

		FUZZ_CHECK(grp->n <= TG_GUARD_GROUP_RULES, "group of %u rules", grp->n);
		for (uint32_t i = 0; i < grp->n; i++)
			if (guard_rule_matches(grp->r[i].proto, grp->r[i].port_lo,
					       grp->r[i].port_hi, proto, port))
				return (struct verdict){ grp->r[i].action, grp->r[i].rule };
	}
	return (struct verdict){ TG_GA_NONE, 0 };
}

static void guard_probe(const struct tg_config *cfg, const struct tg_applied *ap,
			const struct tg_guard_compiled *c, const struct dec *d, int family,
			const uint8_t *src, const uint16_t *ports, size_t n_ports)
{
	const struct dec *global = longest(d, c->n_entries, 0, family, src);

	for (int t = -1; t < (int)cfg->n_tenants && t < 8; t++) {
		uint32_t id = t < 0 ? 0 : ap->tenant_ids[t];
		bool scoped = t >= 0 && (c->scoped_tenants[id / 32] >> (id % 32) & 1);
		const struct dec *own = scoped ? longest(d, c->n_entries, id, family, src) : NULL;

		for (size_t pi = 0; pi < sizeof(protos); pi++) {
			uint8_t pr = protos[pi];
			size_t np = pr == 6 || pr == 17 ? n_ports : 1;

			for (size_t q = 0; q < np; q++) {
				uint32_t port = pr == 6 || pr == 17 ? ports[q] : PORT_UNKNOWN;
				struct verdict want = { TG_GA_NONE, 0 }, got;

				if (t >= 0)
					want = guard_oracle_scope(&cfg->guard, t, family, src, pr,
								  port);
				if (want.action == TG_GA_NONE)
					want = guard_oracle_scope(&cfg->guard, -1, family, src, pr,
								  port);
				got = guard_compiled(c, own, pr, port);
				if (got.action == TG_GA_NONE)
					got = guard_compiled(c, global, pr, port);
				if (want.action == TG_GA_NONE)
					want.rule = 0;
				if (got.action == TG_GA_NONE)
					got.rule = 0;
				FUZZ_CHECK(want.action == got.action && want.rule == got.rule,
					   "guard: tenant %d, IPv%c source, proto %u, port %u: "
					   "action %u rule %u, expected action %u rule %u",
					   t, family == AF_INET ? '4' : '6', pr, port, got.action,
					   got.rule, want.action, want.rule);
			}
		}
	}
}

static void check_guard(const struct tg_config *cfg, const struct tg_applied *ap)
{
	const struct tg_guard_config *g = &cfg->guard;
	struct tg_guard_compiled c;
	uint16_t ports[6 + 4 * 16];
	size_t n_ports = 0;
	char msg[256] = "";
	uint32_t scoped[TG_MAX_TENANTS / 32] = { 0 };
	struct dec *d;
	int r;

	if (!g->enabled)
		return;
	r = tg_guard_compile(cfg, ap, &c, msg, sizeof(msg));
	FUZZ_CHECK(!r, "tg_guard_compile refuses an accepted configuration: %d (%s)", r, msg);
	FUZZ_CHECK(c.n_groups >= 1 && c.n_groups <= TG_MAX_GUARD_GROUPS, "%zu groups", c.n_groups);
	for (size_t i = 0; i < g->n_rules; i++) {
		uint32_t id;

		if (g->rules[i].tenant < 0)
			continue;
		id = ap->tenant_ids[g->rules[i].tenant];
		scoped[id / 32] |= 1u << (id % 32);
	}
	FUZZ_CHECK(!memcmp(scoped, c.scoped_tenants, sizeof(scoped)),
		   "the tenants with scoped rules");
	ports[n_ports++] = 0;
	for (size_t i = 0; i < sizeof(base_ports) / sizeof(base_ports[0]); i++)
		ports[n_ports++] = base_ports[i];
	for (size_t i = 0; i < g->n_rules && i < 16; i++) {
		uint16_t lo = g->rules[i].port_lo, hi = g->rules[i].port_hi;

		ports[n_ports++] = lo > 1 ? lo - 1 : 1;
		ports[n_ports++] = lo ? lo : 1;
		ports[n_ports++] = hi ? hi : 1;
		ports[n_ports++] = hi && hi < ANY_HI ? hi + 1 : ANY_HI;
	}
	d = calloc(c.n_entries ? c.n_entries : 1, sizeof(*d));
	FUZZ_CHECK(d, "out of memory");
	for (size_t i = 0; i < c.n_entries; i++)
		decode(c.entries[i].key, c.entries[i].family, i, &d[i]);
	/* sources at and around: two fixed ones, the rules', the honeypot's, the allowlist's
	 * and the blocklist's prefixes, while the work lasts */
	for (int s = 0; s < 5; s++) {
		static const struct tg_cidr fixed[2] = {
			{ .family = AF_INET, .addr = { 198, 18, 0, 1 }, .prefixlen = 32 },
			{ .family = AF_INET6,
			  .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
			  .prefixlen = 128 },
		};
		const struct tg_cidr *sets[5] = { fixed, NULL, g->honeypot_sources, g->allow,
						  g->block };
		size_t ns[5] = { 2, g->n_rules, g->n_honeypot_sources, g->n_allow, g->n_block };
		size_t items = g->n_rules + g->n_honeypot_sources + g->n_allow + g->n_block;

		for (size_t i = 0; i < ns[s] && work > 0; i++) {
			const struct tg_cidr *p = s == 1 ? &g->rules[i].src : &sets[s][i];
			uint8_t addrs[4][16];
			size_t na;

			if (s == 1 && g->rules[i].any_src)
				p = &fixed[i % 2];
			na = probes_of(p, addrs);
			work -= (long)(na * 9 * (c.n_entries + (3 + 2 * n_ports) * 2 * items));
			for (size_t a = 0; a < na; a++)
				guard_probe(cfg, ap, &c, d, p->family, addrs[a], ports, n_ports);
		}
	}
	free(d);
	tg_guard_compiled_free(&c);
}

/*
 * Runtime rules
 */

static bool glob_oracle(const char *pat, const char *s, bool literal)
{
	size_t n = strlen(pat);

	if (literal) /* the path itself, or anything under it as a directory */
		return !strncmp(s, pat, n) && (!s[n] || s[n] == '/' || (n && pat[n - 1] == '/'));
	return !fnmatch(pat, s, FNM_NOESCAPE);
}

/* Subjects for a glob: the pattern made concrete in a few ways, and its neighbours. */
static size_t subjects(const char *pat, unsigned variant, char *out, size_t len)
{
	static const char *const star[] = { "", "a", "/x/", "ab/cd" };
	size_t n = 0;

	for (const char *p = pat; *p && n + 8 < len; p++) {
		if (*p == '*') {
			const char *s = star[variant % 4];

			while (*s && n + 1 < len)
				out[n++] = *s++;
		} else if (*p == '?') {
			out[n++] = variant & 1 ? '/' : 'q';
		} else if (*p == '[' && p[1]) {
			const char *e = p + 1;

			if (*e == '!' || *e == '^')
				e++;
			out[n++] = *e ? *e : 'x';
			e++;
			while (*e && *e != ']')
				e++;
			p = *e ? e : e - 1;
		} else {
			out[n++] = *p;
		}
	}
	if (variant & 4 && n)
		n--; /* one byte short */
	if (variant & 8 && n + 3 < len) {
		memcpy(out + n, "/z", 2); /* something under it */
		n += 2;
	}
	out[n] = '\0';
	return n;
}

static void check_glob(const char *pat, const uint16_t *tok, size_t ntok, const uint8_t (*cls)[32],
		       bool literal, size_t start)
{
	size_t stars = 0;
	char s[TG_RT_PATH + 16];

	for (const char *p = pat; *p; p++)
		stars += *p == '*';
	if (stars > 6)
		return; /* fnmatch(3) backtracks exponentially: not ours to time */
	for (unsigned v = 0; v < 16; v++) {
		size_t n = subjects(pat, v, s, sizeof(s));
		bool want = glob_oracle(pat, s, literal);

		if (n >= TG_RT_PATH)
			continue;
		FUZZ_CHECK(tg_glob_match(tok, ntok, cls, s, 0, literal) == want,
			   "glob '%s' on '%s': expected %d", pat, s, want);
		if (start && n >= start && !strncmp(s, pat, start))
			FUZZ_CHECK(tg_glob_match(tok, ntok, cls, s, start, literal) == want,
				   "glob '%s' on '%s' from %zu: expected %d", pat, s, start, want);
	}
}

static void check_runtime(const struct tg_config *cfg, const struct tg_applied *ap, uint8_t gen)
{
	const struct tg_runtime_config *rc = &cfg->runtime;
	struct tg_rt_compiled *c = calloc(1, sizeof(*c));
	uint32_t id = 0;
	char err[256] = "";
	int r;

	FUZZ_CHECK(c, "out of memory");
	r = tg_rt_compile(cfg, ap, gen, c, err, sizeof(err));
	FUZZ_CHECK(!r, "tg_rt_compile refuses an accepted configuration: %d (%s)", r, err);
	FUZZ_CHECK(c->n_rules == rc->n_rules, "%u rules of %zu", c->n_rules, rc->n_rules);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < rc->n_rules; i++) {
			const struct tg_rt_rule_conf *rule = &rc->rules[i];
			const struct tg_rt_rule *k;

			if ((rule->action == TG_RA_KILL) != (pass == 0))
				continue;
			uint32_t tenant = 0;

			for (size_t t = 0; rule->tenant[0] && t < cfg->n_tenants; t++)
				if (!strcmp(cfg->tenants[t].name, rule->tenant))
					tenant = ap->tenant_ids[t];
			k = &c->rules[++id];
			FUZZ_CHECK(!strcmp(c->names[id], rule->name) && k->type == rule->type &&
					   k->action == rule->action && k->tenant == tenant &&
					   k->open_flags == rule->open_flags &&
					   k->has_uid == (rule->uid >= 0) &&
					   (rule->uid < 0 || k->uid == (uint32_t)rule->uid),
				   "rule id %u is not '%s' as written", id, rule->name);
			if (rule->path[0]) {
				bool lit = k->path_mode == TG_RT_PATH_LITERAL;

				FUZZ_CHECK(lit == !tg_glob_is_pattern(rule->path),
					   "path '%s': mode %u", rule->path, k->path_mode);
				check_glob(rule->path, k->path_tok, k->path_ntok,
					   (const uint8_t(*)[32])k->cls, lit, k->path_start);
			}
			if (rule->comm[0])
				check_glob(rule->comm, k->comm_tok, k->comm_ntok,
					   (const uint8_t(*)[32])k->cls, false, 0);
		}
	}
	/* every LPM entry: exactly the rules of its type whose literal prefix is its own */
	for (size_t e = 0; e < c->n_prefixes; e++) {
		const struct tg_rt_pfx_key *key = &c->keys[e];
		size_t len = (key->prefixlen - 16) / 8;

		FUZZ_CHECK(key->gen == gen, "entry of generation %u", key->gen);
		for (uint32_t j = 1; j <= c->n_rules; j++) {
			const struct tg_rt_rule *k = &c->rules[j];
			bool want = k->type == key->type && k->path_start <= len;

			for (size_t b = 0; want && b < k->path_start; b++)
				want = k->path_tok[b] == key->path[b];
			FUZZ_CHECK(want == (c->vals[e].rules[j / 64] >> (j % 64) & 1),
				   "entry %zu and rule %u", e, j);
		}
	}
	tg_rt_compiled_free(c);
	free(c);
}

/*
 * The generator
 */

struct gen {
	const uint8_t *p, *end;
};

static unsigned take(struct gen *g, unsigned n)
{
	return g->p < g->end ? *g->p++ % n : 0;
}

/* A prefix from a small family of nested ones, host bits cleared. */
static void gen_cidr(struct gen *g, FILE *f)
{
	static const uint8_t v4[][4] = { { 10, 0, 0, 0 },    { 10, 1, 0, 0 },	 { 10, 1, 2, 0 },
					 { 192, 0, 2, 0 },   { 203, 0, 113, 0 }, { 0, 0, 0, 0 },
					 { 198, 51, 100, 0 } };
	static const uint8_t lens4[] = { 8, 16, 20, 24, 25, 28, 32, 0 };
	static const uint8_t lens6[] = { 32, 48, 56, 64, 127, 128, 0, 16 };
	struct tg_cidr c = { 0 };
	char s[64];

	if (take(g, 4)) {
		c.family = AF_INET;
		memcpy(c.addr, v4[take(g, 7)], 4);
		c.addr[2] ^= (uint8_t)take(g, 4);
		c.addr[3] = (uint8_t)(take(g, 4) * 64 + take(g, 2));
		c.prefixlen = take(g, 5) ? lens4[take(g, 8)] : (uint8_t)take(g, 33);
	} else {
		static const uint8_t base[] = { 0x20, 0x01, 0x0d, 0xb8 };

		c.family = AF_INET6;
		memcpy(c.addr, base, 4);
		c.addr[5] = (uint8_t)take(g, 4);
		c.addr[7] = (uint8_t)take(g, 3);
		c.addr[15] = (uint8_t)take(g, 3);
		c.prefixlen = take(g, 5) ? lens6[take(g, 8)] : (uint8_t)take(g, 129);
	}
	for (unsigned b = c.prefixlen; b < bits_of(c.family); b++)
		c.addr[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
	tg_format_cidr(&c, s, sizeof(s));
	fprintf(f, "\"%s\"", s);
}

/* proto and ports keys (ports only with tcp or udp, as the loader wants) */
static void gen_l4(struct gen *g, FILE *f)
{
	static const char *const pn[] = { NULL, "tcp", "udp", "icmp", "any", "47" };
	static const uint16_t pv[] = { 1, 22, 23, 80, 443, 1000, 2000, 65534, 65535 };
	unsigned p = take(g, 6);

	if (pn[p])
		fprintf(f, ", proto: %s", pn[p]);
	if ((p == 1 || p == 2) && take(g, 2)) {
		unsigned a = pv[take(g, 9)], b = pv[take(g, 9)];

		if (a > b) {
			unsigned t = a;

			a = b;
			b = t;
		}
		if (a == b)
			fprintf(f, ", ports: %u", a);
		else
			fprintf(f, ", ports: %u-%u", a, b);
	}
}

static void gen_glob(struct gen *g, FILE *f, bool path)
{
	static const char *const parts[] = { "/", "tmp", "etc", "*",   "?",  "[a-c]", "[!x]", "a",
					     "b", ".",	 "-",	"[]]", "**", "[^/]",  "bin" };
	unsigned n = 1 + take(g, path ? 12 : 5);

	fputc('"', f);
	if (path && take(g, 4))
		fputc('/', f);
	for (unsigned i = 0; i < n; i++)
		fputs(parts[take(g, sizeof(parts) / sizeof(parts[0]))], f);
	fputc('"', f);
}

static void gen_config(struct gen *g, FILE *f)
{
	static const char *const actions[] = { "drop", "allow", "alert", "honeypot" };
	static const char *const types[] = { "exec", "open", "module", "mount", "ptrace", "exit" };
	char *deny[3] = { NULL }, *top = NULL, *sets[3] = { NULL }, *rules = NULL, *rt = NULL;
	size_t len[9] = { 0 };
	FILE *o[9];
	unsigned n_rt = 0;

	o[0] = open_memstream(&deny[0], &len[0]);
	o[1] = open_memstream(&deny[1], &len[1]);
	o[2] = open_memstream(&deny[2], &len[2]);
	o[3] = open_memstream(&top, &len[3]);
	o[4] = open_memstream(&sets[0], &len[4]);
	o[5] = open_memstream(&sets[1], &len[5]);
	o[6] = open_memstream(&sets[2], &len[6]);
	o[7] = open_memstream(&rules, &len[7]);
	o[8] = open_memstream(&rt, &len[8]);
	for (int i = 0; i < 9; i++)
		FUZZ_CHECK(o[i], "open_memstream");
	while (g->p < g->end) {
		unsigned op = take(g, 8), t;

		switch (op) {
		case 0: /* a tenant's deny rule */
		case 1: /* a rule of the default deny list */
			t = op == 0 ? take(g, 3) : 3;
			fputs("      - {cidr: ", o[t]);
			gen_cidr(g, o[t]);
			gen_l4(g, o[t]);
			fputs("}\n", o[t]);
			break;
		case 2:
		case 3:
		case 4: /* allowlist, blocklist, honeypot sources */
			fputs("      - ", o[op + 2]);
			gen_cidr(g, o[op + 2]);
			fputc('\n', o[op + 2]);
			break;
		case 5:
		case 6: /* an uplink rule */
			fputs("    - {action: ", o[7]);
			fputs(actions[take(g, 4)], o[7]);
			if (take(g, 4)) {
				fputs(", src: ", o[7]);
				gen_cidr(g, o[7]);
			}
			t = take(g, 4);
			if (t)
				fprintf(o[7], ", tenant: t%u", t - 1);
			gen_l4(g, o[7]);
			fputs("}\n", o[7]);
			break;
		default: /* a runtime rule */
			t = take(g, 6);
			fprintf(o[8], "    - {name: r%u, type: %s", n_rt++, types[t]);
			if (t < 4 && take(g, 4)) {
				fputs(", path: ", o[8]);
				gen_glob(g, o[8], true);
			}
			if (!take(g, 3)) {
				fputs(", comm: ", o[8]);
				gen_glob(g, o[8], false);
			}
			if (take(g, 2))
				fprintf(o[8], ", tenant: t%u", take(g, 3));
			if (t != 5 && take(g, 2)) /* no kill on exits */
				fputs(", action: kill", o[8]);
			if (t == 1 && take(g, 2))
				fputs(", flags: [write]", o[8]);
			if (!take(g, 4))
				fprintf(o[8], ", uid: %u", take(g, 2));
			fputs("}\n", o[8]);
			break;
		}
	}
	for (int i = 0; i < 9; i++)
		FUZZ_CHECK(!fclose(o[i]), "open_memstream");
	fputs("tenants:\n", f);
	fprintf(f, "  - name: t0\n    cidrs: [10.0.0.0/16]\n%s", len[0] ? "    deny:\n" : "");
	fputs(deny[0], f);
	fprintf(f, "  - name: t1\n    cidrs: [10.1.0.0/16, \"2001:db8:1::/48\"]\n%s",
		len[1] ? "    deny:\n" : "");
	fputs(deny[1], f);
	fprintf(f, "  - name: t2\n    interfaces: [vt-t2]\n%s", len[2] ? "    deny:\n" : "");
	fputs(deny[2], f);
	if (len[3])
		fprintf(f, "isolation:\n  deny:\n%s", top);
	if (len[4] || len[5] || len[6] || len[7]) {
		fputs("uplink:\n  interfaces: [eth0]\n", f);
		if (len[4])
			fprintf(f, "  allowlist:\n%s", sets[0]);
		if (len[5])
			fprintf(f, "  blocklist:\n%s", sets[1]);
		fputs("  honeypot:\n    interface: hp0\n    mac: \"02:00:5e:00:53:01\"\n", f);
		if (len[6])
			fprintf(f, "    sources:\n%s", sets[2]);
		if (len[7])
			fprintf(f, "  rules:\n%s", rules);
	}
	if (len[8])
		fprintf(f, "runtime:\n  rules:\n%s", rt);
	free(deny[0]);
	free(deny[1]);
	free(deny[2]);
	free(top);
	free(sets[0]);
	free(sets[1]);
	free(sets[2]);
	free(rules);
	free(rt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_diags diags = { 0 };
	struct tg_applied ap = { 0 };
	struct tg_config cfg;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (size && data[0] >= 0x80) {
		struct gen g = { data + 1, data + size };
		FILE *f = open_memstream(&text, &len);

		FUZZ_CHECK(f, "open_memstream");
		gen_config(&g, f);
		FUZZ_CHECK(!fclose(f), "open_memstream");
		if (getenv("FUZZ_SHOW")) /* what an input generates, for a crash's reader */
			fprintf(stderr, "%s", text);
		r = tg_config_parse(NAME, text, len, &cfg, &diags);
	} else {
		r = tg_config_parse(NAME, (const char *)data, size, &cfg, &diags);
	}
	if (getenv("FUZZ_SHOW"))
		tg_diags_print(&diags, NAME, stderr);
	tg_diags_free(&diags);
	free(text);
	if (r)
		return 0;
	/* fake tenant ids, neither 1, 2, ... nor in order (7919 is prime to 16383) */
	ap.tenant_ids = calloc(cfg.n_tenants + 1, sizeof(*ap.tenant_ids));
	FUZZ_CHECK(ap.tenant_ids, "out of memory");
	FUZZ_CHECK(cfg.n_tenants < TG_MAX_TENANTS, "%zu tenants", cfg.n_tenants);
	for (size_t i = 0; i < cfg.n_tenants; i++)
		ap.tenant_ids[i] = (uint32_t)(1 + (i + 1) * 7919 % (TG_MAX_TENANTS - 1));
	work = 4 * 1000 * 1000;
	for (size_t i = 0; i < cfg.n_tenants; i++)
		if (cfg.tenants[i].n_deny)
			check_deny_list(ap.tenant_ids[i], cfg.tenants[i].deny,
					cfg.tenants[i].n_deny);
	if (cfg.n_deny)
		check_deny_list(0, cfg.deny, cfg.n_deny);
	check_guard(&cfg, &ap);
	if (cfg.runtime.enabled && cfg.runtime.n_rules)
		check_runtime(&cfg, &ap, (uint8_t)(size & 1));
	free(ap.tenant_ids);
	tg_config_free(&cfg);
	return 0;
}
