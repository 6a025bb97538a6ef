/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The deny-list compiler (src/denylist.c) as a pure function: lists in, trie entries
 * out. The expected entries are written out by hand from the documented semantics
 * (docs/isolation.md): one entry per distinct prefix, carrying its own rules and those of
 * every shorter prefix of the same list that covers it, minus rules another kept rule
 * already covers; more than TG_DENY_RULES is refused with a message naming the prefix.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "denylist.h"
#include "tap.h"

#define ANY 0
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

struct r {
	const char *cidr;
	uint8_t proto;
	uint16_t lo, hi;
};

static size_t mk(const struct r *in, struct tg_deny_conf *out)
{
	size_t n = 0;

	for (; in[n].cidr; n++) {
		memset(&out[n], 0, sizeof(out[n]));
		if (tg_parse_cidr(in[n].cidr, &out[n].cidr))
			tap_diag("bad test cidr %s", in[n].cidr);
		out[n].proto = in[n].proto;
		out[n].port_lo = in[n].lo;
		out[n].port_hi = in[n].hi;
	}
	return n;
}

/* The entry of out[0..n) whose key is (list, cidr), or NULL. */
static const struct tg_deny_entry *find(const struct tg_deny_entry *e, int n, uint32_t list,
					const char *cidr)
{
	struct tg_cidr c;

	if (tg_parse_cidr(cidr, &c))
		return NULL;
	for (int i = 0; i < n; i++) {
		uint32_t plen, tid;
		const uint8_t *addr;

		memcpy(&plen, e[i].key, 4);
		memcpy(&tid, e[i].key + 4, 4);
		addr = e[i].key + 8;
		if (e[i].family == c.family && plen == 32u + c.prefixlen && tid == htonl(list) &&
		    !memcmp(addr, c.addr, c.family == AF_INET ? 4 : 16))
			return &e[i];
	}
	return NULL;
}

/* Are the entry's rules exactly want (in any order)? */
static int rules_are(const struct tg_deny_entry *e, const struct r *want)
{
	size_t n = 0;

	if (!e)
		return 0;
	for (; want[n].cidr; n++) {
		int hit = 0;

		for (uint32_t i = 0; i < e->rules.n && i < TG_DENY_RULES; i++)
			hit |= e->rules.r[i].proto == want[n].proto &&
			       e->rules.r[i].port_lo == want[n].lo &&
			       e->rules.r[i].port_hi == want[n].hi;
		if (!hit)
			return 0;
	}
	if (e->rules.n != n) {
		tap_diag("entry has %u rules, want %zu", e->rules.n, n);
		return 0;
	}
	return 1;
}

static struct tg_deny_conf conf[64];
static struct tg_deny_entry out[64];
static char msg[256];

static int compile(uint32_t list, const struct r *in)
{
	size_t n = mk(in, conf);

	msg[0] = 0;
	memset(out, 0xa5, sizeof(out));
	return tg_deny_compile(list, "tenant t", conf, n, out, msg, sizeof(msg));
}

#define R(...) ((const struct r[]){ __VA_ARGS__, { NULL } })
#define NONE ((const struct r[]){ { NULL } })

int main(void)
{
	const struct tg_deny_entry *e;
	int n;

	/* bad and edge inputs first */
	tap_equal_u64(compile(3, NONE), 0, "an empty list compiles to no entry");
	{
		struct tg_deny_conf bad = { .cidr = { .family = AF_INET, .prefixlen = 33 } };

		tap_check(tg_deny_compile(3, "tenant t", &bad, 1, out, msg, sizeof(msg)) == -EINVAL,
			  "a v4 prefix longer than 32 bits is refused");
	}

	n = compile(0, R({ "169.254.169.254/32", ANY, 0, 65535 }));
	e = find(out, n, 0, "169.254.169.254/32");
	tap_check(n == 1 && rules_are(e, R({ "x", ANY, 0, 65535 })),
		  "one /32: one entry, key (64 bits, tenant 0, address), one any rule");

	n = compile(0, R({ "169.254.169.254/32", ANY, 0, 0 }));
	tap_check(n == 1 && rules_are(find(out, n, 0, "169.254.169.254/32"),
				      R({ "x", ANY, 0, 65535 })),
		  "ports 0-0 (none given) mean any port");

	mk(R({ "10.0.0.0/8", TCP, 22, 22 }), conf);
	conf[0].cidr.addr[1] = 1, conf[0].cidr.addr[3] = 3; /* 10.1.0.3/8: host bits set */
	n = tg_deny_compile(7, "tenant t", conf, 1, out, msg, sizeof(msg));
	tap_check(n == 1 && rules_are(find(out, n, 7, "10.0.0.0/8"), R({ "x", TCP, 22, 22 })),
		  "host bits are cleared in the key; tenant id in network order");

	/* push-down */
	n = compile(7, R({ "10.0.0.0/8", TCP, 22, 22 }, { "10.1.0.0/16", UDP, 1000, 2000 },
			 { "10.1.2.0/24", TCP, 80, 80 }, { "192.0.2.0/24", ANY, 0, 65535 }));
	tap_equal_u64(n, 4, "four distinct prefixes, four entries");
	tap_check(rules_are(find(out, n, 7, "10.0.0.0/8"), R({ "x", TCP, 22, 22 })),
		  "the /8 carries its own rule only");
	tap_check(rules_are(find(out, n, 7, "10.1.0.0/16"),
			    R({ "x", TCP, 22, 22 }, { "x", UDP, 1000, 2000 })),
		  "the /16 carries its own rule and the /8's");
	tap_check(
		rules_are(find(out, n, 7, "10.1.2.0/24"),
			  R({ "x", TCP, 22, 22 }, { "x", UDP, 1000, 2000 }, { "x", TCP, 80, 80 })),
		"the /24 carries the /16's and the /8's too");
	tap_check(rules_are(find(out, n, 7, "192.0.2.0/24"), R({ "x", ANY, 0, 65535 })),
		  "a prefix nobody covers keeps its own rule");

	n = compile(7, R({ "10.0.0.0/8", ANY, 0, 65535 }, { "10.1.2.0/24", TCP, 22, 22 }));
	tap_check(n == 2 && rules_are(find(out, n, 7, "10.1.2.0/24"), R({ "x", ANY, 0, 65535 })),
		  "a covering deny-all makes the narrower port rule redundant: the /24 denies all");

	n = compile(7, R({ "10.1.2.0/24", TCP, 22, 22 }, { "10.1.2.0/24", TCP, 22, 22 },
			 { "10.1.2.0/24", TCP, 20, 30 }, { "10.1.2.0/24", UDP, 53, 53 }));
	tap_check(n == 1 && rules_are(find(out, n, 7, "10.1.2.0/24"),
				      R({ "x", TCP, 20, 30 }, { "x", UDP, 53, 53 })),
		  "one prefix listed four times: one entry; duplicates and contained ranges go");

	n = compile(7, R({ "10.1.2.0/24", TCP, 22, 22 }, { "10.1.2.0/24", ANY, 1, 100 }));
	tap_check(n == 1 && rules_are(find(out, n, 7, "10.1.2.0/24"), R({ "x", ANY, 1, 100 })),
		  "an any-protocol range covers the same range for one protocol");

	n = compile(7, R({ "10.1.2.0/24", ANY, 1, 65535 }, { "10.1.2.0/24", ANY, 0, 65535 }));
	tap_check(n == 1 && rules_are(find(out, n, 7, "10.1.2.0/24"), R({ "x", ANY, 0, 65535 })),
		  "any port covers a range that needs a known port, not the other way round");

	n = compile(7, R({ "10.0.0.0/8", TCP, 22, 22 }, { "fd00::/8", UDP, 53, 53 },
			 { "fd00:1::/64", TCP, 443, 443 }, { "10.9.0.0/16", ANY, 7, 7 }));
	tap_equal_u64(n, 4, "IPv4 and IPv6 prefixes: four entries");
	tap_check(rules_are(find(out, n, 7, "fd00:1::/64"),
			    R({ "x", UDP, 53, 53 }, { "x", TCP, 443, 443 })),
		  "IPv6 push-down: the /64 carries the /8's rule");
	tap_check(rules_are(find(out, n, 7, "10.9.0.0/16"),
			    R({ "x", TCP, 22, 22 }, { "x", ANY, 7, 7 })),
		  "families never mix: the IPv6 rules stay out of IPv4 entries");
	e = find(out, n, 7, "fd00::/8");
	tap_check(e && e->family == AF_INET6 && rules_are(e, R({ "x", UDP, 53, 53 })),
		  "IPv6 key: prefix length 32 + 8 for fd00::/8");

	/* the limit */
	{
		static const struct r eight[] = {
			{ "10.0.0.0/8", TCP, 1, 1 },  { "10.1.0.0/16", TCP, 2, 2 },
			{ "10.1.1.0/24", TCP, 3, 3 }, { "10.1.1.0/24", TCP, 4, 4 },
			{ "10.1.1.0/25", TCP, 5, 5 }, { "10.1.1.0/26", TCP, 6, 6 },
			{ "10.1.1.0/27", TCP, 7, 7 }, { "10.1.1.0/28", TCP, 8, 8 },
			{ "10.1.1.0/29", TCP, 9, 9 }, { NULL },
		};
		static struct r nine[16];

		memcpy(nine, eight, sizeof(eight));
		nine[8].cidr = NULL; /* the first eight */
		n = compile(7, nine);
		e = find(out, n, 7, "10.1.1.0/28");
		tap_check(n == 7 && e && e->rules.n == TG_DENY_RULES,
			  "exactly %d rules on the deepest prefix fit", TG_DENY_RULES);
		memcpy(nine, eight, sizeof(eight));
		n = compile(7, nine);
		tap_check(n == -E2BIG, "%d rules on one prefix after push-down: -E2BIG",
			  TG_DENY_RULES + 1);
		tap_check(strstr(msg, "tenant t") && strstr(msg, "10.1.1.0/29") &&
				  strstr(msg, " 9 "),
			  "the message names the list, the prefix and the count: %s", msg);
		tap_check(tg_deny_check("tenant t", conf, 9, msg, sizeof(msg)) == -E2BIG,
			  "tg_deny_check (for validation) refuses it too");
		tap_check(tg_deny_check("tenant t", conf, 8, msg, sizeof(msg)) == 0,
			  "tg_deny_check accepts the eight");
	}
	/* many rules that never nest are fine */
	{
		static struct r wide[40];
		static char names[40][32];

		for (int i = 0; i < 39; i++) {
			snprintf(names[i], sizeof(names[i]), "10.%d.0.0/16", i);
			wide[i] = (struct r){ names[i], TCP, (uint16_t)(i + 1), (uint16_t)(i + 1) };
		}
		wide[39].cidr = NULL;
		n = compile(7, wide);
		tap_equal_u64(n, 39, "39 disjoint prefixes, one rule each: no limit applies");
	}
	return tap_done();
}
