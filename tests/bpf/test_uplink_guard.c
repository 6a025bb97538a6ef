// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The uplink guard through the real XDP program (BPF_PROG_TEST_RUN) on private maps.
 * The guard's maps are written here by hand, as the documented map semantics say
 * (include/tollgate.h, docs/guard.md), so this tests the kernel side on its own; the
 * compiler from configuration to maps has its own tests (tests/unit/test_guard.c).
 *
 * Time is the test's: the programs read the replay clock (tg_datapath_set_clock), so
 * the rate limits and the SYN detector are exact, and each expected count below is
 * derived from the GCRA rule (a unit conforms while the bucket is at most burst ahead of
 * now; each conforming unit moves it on by 1e9 / rate ns): N units at one instant, cost
 * c, burst b: floor(b / c) + 1 conform.
 *
 * Every expected verdict follows from the entries written here; a dropped frame must
 * move one tg_drops cell by its own length and no billing cell, a passed frame the
 * reverse. SYN-ACKs answered from XDP are checked with an RFC 1071 checksum computed
 * here, independently of the program's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "bans.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "events.h"
#include "guard.h"
#include "lpm.h"
#include "policy.h"
#include "tap.h"

#define XDP_DROP 1
#define XDP_PASS 2
#define XDP_TX 3
#define XDP_REDIRECT 4
#define SEC_NS 1000000000ull

static struct tg_datapath *dp;
static const struct tg_maps *m;
static struct tg_config cfg;
static struct tg_applied ap;
static struct ring_buffer *rb;
static uint32_t web, db; /* tenant ids */
static uint64_t clock_ns = 1000 * SEC_NS;
static int ncpu;

/* ---- events ---- */

#define MAX_EVENTS 4096
static struct tg_event evs[MAX_EVENTS];
static size_t n_evs;

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len >= sizeof(struct tg_event) && n_evs < MAX_EVENTS)
		memcpy(&evs[n_evs++], data, sizeof(struct tg_event));
	return 0;
}

static void events_reset(void)
{
	ring_buffer__consume(rb);
	n_evs = 0;
}

static size_t events_of(uint32_t type, uint32_t reason, uint32_t rule, uint8_t action)
{
	size_t n = 0;

	ring_buffer__consume(rb);
	for (size_t i = 0; i < n_evs; i++)
		n += evs[i].type == type && evs[i].reason == reason &&
		     (rule == UINT32_MAX || evs[i].rule == rule) && evs[i].action == action;
	return n;
}

/* ---- frames ---- */

struct frame {
	uint8_t b[512];
	size_t len;
	size_t l3, l4;
};

static void put(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

struct spec {
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t flags;	  /* TCP */
	uint32_t seq;	  /* TCP */
	const char *data; /* payload, NULL = 20 bytes of zeros */
	int later_frag;	  /* IPv4 only */
};

static void build(struct frame *f, const struct spec *s)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0xff, 2, 2, 0, 0, 0, 0xff, 1 };
	int v6 = strchr(s->src, ':') != NULL;
	uint8_t l4[20] = { 0 }, zeros[20] = { 0 };
	size_t l4len = s->proto == IPPROTO_TCP ? 20 : 8, plen = s->data ? strlen(s->data) : 20;
	uint16_t et = htons(v6 ? 0x86dd : 0x0800), sp = htons(s->sport), dpo = htons(s->dport);
	uint32_t seq = htonl(s->seq);

	if (s->later_frag)
		l4len = 0;
	memset(f, 0, sizeof(*f));
	put(f, macs, 12);
	put(f, &et, 2);
	f->l3 = f->len;
	if (!v6) {
		uint8_t h[20] = { 0x45 };
		uint16_t tot = htons(20 + l4len + plen);

		memcpy(h + 2, &tot, 2);
		if (s->later_frag)
			h[6] = 0x00, h[7] = 0x10; /* offset 128 bytes */
		h[8] = 64;
		h[9] = s->proto;
		inet_pton(AF_INET, s->src, h + 12);
		inet_pton(AF_INET, s->dst, h + 16);
		put(f, h, 20);
	} else {
		uint8_t h[40] = { 0x60 };
		uint16_t pl = htons(l4len + plen);

		memcpy(h + 4, &pl, 2);
		h[6] = s->proto;
		h[7] = 64;
		inet_pton(AF_INET6, s->src, h + 8);
		inet_pton(AF_INET6, s->dst, h + 24);
		put(f, h, 40);
	}
	f->l4 = f->len;
	memcpy(l4, &sp, 2);
	memcpy(l4 + 2, &dpo, 2);
	if (s->proto == IPPROTO_TCP) {
		memcpy(l4 + 4, &seq, 4);
		l4[12] = 5 << 4;
		l4[13] = s->flags;
	}
	put(f, l4, l4len);
	if (s->data)
		put(f, s->data, plen);
	else
		put(f, zeros, plen);
}

static uint8_t out_buf[512];
static uint32_t out_len;

static int run(const struct frame *f)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .data_out = out_buf, .data_size_out = sizeof(out_buf));

	tg_datapath_set_clock(dp, clock_ns);
	if (bpf_prog_test_run_opts(tg_datapath_prog_fd(dp, TG_PROG_XDP), &opts))
		return -errno;
	out_len = opts.data_size_out;
	return (int)opts.retval;
}

/* ---- counters ---- */

static struct tg_counter drops(uint32_t tenant, uint32_t reason)
{
	struct tg_counter sum = { 0 }, *v = calloc(ncpu, sizeof(*v));
	uint32_t cell = tenant * TG_REASON_SLOTS + reason;

	if (v && !bpf_map_lookup_elem(m->drops, &cell, v)) {
		for (int c = 0; c < ncpu; c++) {
			sum.packets += v[c].packets;
			sum.bytes += v[c].bytes;
		}
	}
	free(v);
	return sum;
}

static uint64_t billed(uint32_t tenant)
{
	struct tg_tenant_stats cells[8 * TG_MAX_CLASSES], t;

	if (tg_maps_read_cells(m, cells, 8))
		return UINT64_MAX;
	tg_cells_tenant_total(cells, tenant, &t);
	return t.dir[TG_DIR_INGRESS].bytes + t.dir[TG_DIR_EGRESS].bytes;
}

/* One frame, its verdict, and exactly one counter moving by its length: the drop cell of
 * (tenant, reason) when reason != 0, else the tenant's billing. */
static void expect(const char *name, const struct spec *s, int verdict, uint32_t tenant,
		   uint32_t reason)
{
	struct tg_counter d0 = drops(tenant, reason), d1;
	uint64_t b0 = billed(tenant), b1;
	struct frame f;
	int got;

	build(&f, s);
	got = run(&f);
	d1 = drops(tenant, reason);
	b1 = billed(tenant);
	if (reason && reason != TG_REASON_HONEYPOT && verdict == XDP_PASS)
		tap_diag("%s: a case cannot both pass and count a drop", name);
	if (reason) {
		uint64_t want = verdict == XDP_PASS ? 0 : f.len;

		if (d1.bytes - d0.bytes != want || b1 != b0)
			tap_diag("%s: drop cell +%llu bytes (want +%llu), billed +%llu (want 0)",
				 name, (unsigned long long)(d1.bytes - d0.bytes),
				 (unsigned long long)want, (unsigned long long)(b1 - b0));
		tap_check(got == verdict && d1.bytes - d0.bytes == want && b1 == b0,
			  "%s: verdict %d (want %d)", name, got, verdict);
	} else {
		if (b1 - b0 != f.len)
			tap_diag("%s: billed +%llu, want +%zu", name, (unsigned long long)(b1 - b0),
				 f.len);
		tap_check(got == verdict && b1 - b0 == f.len, "%s: verdict %d (want %d)", name, got,
			  verdict);
	}
}

/* ---- map writers ---- */

static struct tg_guard_conf conf;

static void write_conf(void)
{
	uint32_t k = 0;

	if (bpf_map_update_elem(m->guard, &k, &conf, BPF_ANY))
		tap_check(0, "cannot write tg_guard: %s", strerror(errno));
}

/* The documented duty of whoever writes tg_gset4: the /24s a prefix overlaps are set in
 * tg_gset4_hint (a superset of the trie; nothing is cleared here). */
static void hint_add(const struct tg_cidr *c)
{
	uint64_t *h = tg_hint4_map(m->gset4_hint);

	if (!h) {
		tap_check(0, "cannot map tg_gset4_hint: %s", strerror(errno));
		return;
	}
	tg_hint4_mark(h, c->addr, c->prefixlen);
	tg_hint4_unmap(h);
}

/* Bits set in the hint (the /24s marked). */
static unsigned hint_marked(void)
{
	uint64_t *h = tg_hint4_map(m->gset4_hint);
	unsigned n = 0;

	if (!h)
		return UINT32_MAX;
	for (uint32_t i = 0; i < TG_GSET4_HINT_WORDS; i++)
		n += __builtin_popcountll(h[i]);
	tg_hint4_unmap(h);
	return n;
}

static void gset(uint32_t scope, const char *cidr, struct tg_gset_val v, bool del)
{
	struct tg_cidr c;
	int err;

	if (tg_parse_cidr(cidr, &c)) {
		tap_check(0, "bad test cidr %s", cidr);
		return;
	}
	if (c.family == AF_INET) {
		struct tg_gset4_key k = { .prefixlen = 32 + c.prefixlen, .scope = htonl(scope) };

		memcpy(k.addr, c.addr, 4);
		err = del ? bpf_map_delete_elem(m->gset4, &k)
			  : bpf_map_update_elem(m->gset4, &k, &v, BPF_ANY);
		if (!err && !del)
			hint_add(&c);
	} else {
		struct tg_gset6_key k = { .prefixlen = 32 + c.prefixlen, .scope = htonl(scope) };

		memcpy(k.addr, c.addr, 16);
		err = del ? bpf_map_delete_elem(m->gset6, &k)
			  : bpf_map_update_elem(m->gset6, &k, &v, BPF_ANY);
	}
	if (err)
		tap_check(0, "cannot write the set entry %s: %s", cidr, strerror(errno));
}

static void ban(const char *cidr, uint64_t expires, bool del)
{
	struct tg_ban b = {
		.expires_ns = expires, .origin = TG_BAN_MANUAL, .action = TG_GA_DROP, .rule = 8
	};
	struct tg_lpm4_key k;
	uint32_t zero = 0, one = 1;
	struct tg_cidr c;

	tg_parse_cidr(cidr, &c);
	k.prefixlen = c.prefixlen;
	memcpy(k.addr, c.addr, 4);
	if (del ? bpf_map_delete_elem(m->bans4, &k) : bpf_map_update_elem(m->bans4, &k, &b, 0))
		tap_check(0, "cannot write the ban %s: %s", cidr, strerror(errno));
	if (!del && bpf_map_update_elem(m->bans_any, &zero, &one, BPF_ANY))
		tap_check(0, "cannot raise tg_bans_any: %s", strerror(errno));
}

/* ---- cases ---- */

static void sets(void)
{
	struct tg_guard_group g = { .n = 2 };
	struct tg_policy pol;
	uint32_t gi = 1;

	g.r[0] = (struct tg_guard_rule){ .proto = IPPROTO_UDP,
					 .action = TG_GA_DROP,
					 .port_lo = 11211,
					 .port_hi = 11211,
					 .rule = 16 };
	g.r[1] = (struct tg_guard_rule){ .proto = IPPROTO_TCP,
					 .action = TG_GA_ALERT,
					 .port_lo = 22,
					 .port_hi = 22,
					 .rule = 17 };
	bpf_map_update_elem(m->guard_groups, &gi, &g, BPF_ANY);
	gset(0, "198.51.100.0/24", (struct tg_gset_val){ .action = TG_GA_DROP, .rule = 1 }, 0);
	gset(0, "198.51.100.7/32", (struct tg_gset_val){ .action = TG_GA_ALLOW, .rule = 2 }, 0);
	gset(0, "203.0.113.0/24", (struct tg_gset_val){ .group = 1 }, 0);
	gset(0, "2001:db8:bad::/48", (struct tg_gset_val){ .action = TG_GA_DROP, .rule = 1 }, 0);
	gset(web, "192.0.2.0/24", (struct tg_gset_val){ .action = TG_GA_DROP, .rule = 18 }, 0);
	if (!bpf_map_lookup_elem(m->policy, &web, &pol)) {
		pol.flags |= TG_POL_GUARD_SCOPE;
		bpf_map_update_elem(m->policy, &web, &pol, BPF_ANY);
	}
	conf = (struct tg_guard_conf){ .flags = TG_GUARD_ON | TG_GUARD_SETS };
	write_conf();
	events_reset();

	expect("blocklisted source: dropped, counted against the destination's tenant",
	       &(struct spec){ "198.51.100.9", "10.3.0.2", IPPROTO_TCP, 40000, 80, F_ACK },
	       XDP_DROP, web, TG_REASON_GUARD_DENY);
	tap_check(events_of(TG_EV_GUARD, TG_REASON_GUARD_DENY, 1, TG_GA_DROP) == 1,
		  "one guard event, rule blocklist, action drop");
	expect("allowlisted /32 inside the blocklisted /24: the longest prefix wins",
	       &(struct spec){ "198.51.100.7", "10.3.0.2", IPPROTO_TCP, 40000, 80, F_ACK },
	       XDP_PASS, web, 0);
	expect("rule group: udp 11211 dropped",
	       &(struct spec){ "203.0.113.5", "10.3.0.2", IPPROTO_UDP, 5000, 11211 }, XDP_DROP, web,
	       TG_REASON_GUARD_DENY);
	expect("rule group: udp 53 matches no rule, passes",
	       &(struct spec){ "203.0.113.5", "10.3.0.2", IPPROTO_UDP, 5000, 53 }, XDP_PASS, web,
	       0);
	events_reset();
	expect("rule group: tcp 22 alert passes, billed",
	       &(struct spec){ "203.0.113.5", "10.3.0.2", IPPROTO_TCP, 5000, 22, F_SYN }, XDP_PASS,
	       web, 0);
	tap_check(events_of(TG_EV_GUARD, TG_REASON_GUARD_DENY, 17, TG_GA_ALERT) == 1,
		  "the alert is an event naming rule 17 (rules[1])");
	expect("a later fragment has no port: the port rule does not match it",
	       &(struct spec){ "203.0.113.5", "10.3.0.2", IPPROTO_UDP, 0, 0, .later_frag = 1 },
	       XDP_PASS, web, 0);
	expect("rule scoped to tenant web: traffic to web dropped",
	       &(struct spec){ "192.0.2.50", "10.3.0.2", IPPROTO_UDP, 5000, 53 }, XDP_DROP, web,
	       TG_REASON_GUARD_DENY);
	expect("rule scoped to tenant web: the same source to db passes",
	       &(struct spec){ "192.0.2.50", "10.4.0.2", IPPROTO_UDP, 5000, 53 }, XDP_PASS, db, 0);
	expect("IPv6 blocklist",
	       &(struct spec){ "2001:db8:bad::1", "fd00:3::2", IPPROTO_UDP, 1, 2 }, XDP_DROP, web,
	       TG_REASON_GUARD_DENY);
	expect("IPv6 source not listed passes",
	       &(struct spec){ "2001:db8:900d::1", "fd00:3::2", IPPROTO_UDP, 1, 2 }, XDP_PASS, web,
	       0);
}

static void bans(void)
{
	ban("100.64.0.0/16", clock_ns + 10 * SEC_NS, 0);
	ban("100.65.0.0/16", 0, 0);
	ban("198.51.100.0/24", 0, 0);
	expect("banned source (TTL 10 s) dropped",
	       &(struct spec){ "100.64.3.4", "10.3.0.2", IPPROTO_UDP, 1, 2 }, XDP_DROP, web,
	       TG_REASON_BAN);
	expect("ban without expiry dropped",
	       &(struct spec){ "100.65.3.4", "10.3.0.2", IPPROTO_UDP, 1, 2 }, XDP_DROP, web,
	       TG_REASON_BAN);
	expect("an allowlisted source inside a ban passes (allow > ban)",
	       &(struct spec){ "198.51.100.7", "10.3.0.2", IPPROTO_UDP, 1, 2 }, XDP_PASS, web, 0);
	clock_ns += 11 * SEC_NS;
	expect("11 s later the 10 s ban has expired by itself",
	       &(struct spec){ "100.64.3.4", "10.3.0.2", IPPROTO_UDP, 1, 2 }, XDP_PASS, web, 0);
	expect("the ban without expiry still holds",
	       &(struct spec){ "100.65.3.4", "10.3.0.2", IPPROTO_UDP, 1, 2 }, XDP_DROP, web,
	       TG_REASON_BAN);
	ban("100.65.0.0/16", 0, 1);
	expect("unbanned: passes", &(struct spec){ "100.65.3.4", "10.3.0.2", IPPROTO_UDP, 1, 2 },
	       XDP_PASS, web, 0);
	ban("100.64.0.0/16", 0, 1);
	ban("198.51.100.0/24", 0, 1);

	/* tg_bans_any: the sweep lowers it once no ban is left, an insert raises it */
	{
		struct tg_cidr c;
		uint32_t zero = 0, any = 7;
		int swept = tg_bans_sweep(m, clock_ns, NULL, NULL);

		tap_check(swept == 0 && !bpf_map_lookup_elem(m->bans_any, &zero, &any) && any == 0,
			  "the sweep finds no ban left and lowers tg_bans_any (%d, %u)", swept,
			  any);
		tg_parse_cidr("100.66.0.0/16", &c);
		tap_check(tg_ban_add(m, &c, 0, TG_BAN_MANUAL, 8, NULL) == 0 &&
				  !bpf_map_lookup_elem(m->bans_any, &zero, &any) && any == 1,
			  "tollgate block's insert raises it (%u)", any);
		expect("and the new ban holds at once",
		       &(struct spec){ "100.66.3.4", "10.3.0.2", IPPROTO_UDP, 1, 2 }, XDP_DROP, web,
		       TG_REASON_BAN);
		swept = tg_bans_sweep(m, clock_ns, NULL, NULL);
		tap_check(swept == 0 && !bpf_map_lookup_elem(m->bans_any, &zero, &any) && any == 1,
			  "a sweep with a ban left keeps it raised (%u)", any);
		tg_ban_del(m, &c);
		tg_bans_sweep(m, clock_ns, NULL, NULL);
		tap_check(!bpf_map_lookup_elem(m->bans_any, &zero, &any) && any == 0,
			  "unblocked and swept: lowered again (%u)", any);
	}
}

/* n frames of spec at the current instant: how many passed, and the drop cell's delta. */
static int burst(const struct spec *s, int n, uint32_t tenant, uint32_t reason, uint64_t *dropped)
{
	struct tg_counter d0 = drops(tenant, reason);
	struct frame f;
	int pass = 0;

	build(&f, s);
	for (int i = 0; i < n; i++)
		pass += run(&f) == XDP_PASS;
	*dropped = drops(tenant, reason).packets - d0.packets;
	return pass;
}

static void source_rates(void)
{
	struct spec a = { "192.0.2.77", "10.4.0.2", IPPROTO_UDP, 1, 2 };
	struct spec a2 = { "192.0.2.78", "10.4.0.2", IPPROTO_UDP, 1, 2 };
	struct spec b = { "192.0.3.77", "10.4.0.2", IPPROTO_UDP, 1, 2 };
	uint64_t cost = SEC_NS / 10, dropped;
	int want = (int)(SEC_NS / cost) + 1, pass;

	conf = (struct tg_guard_conf){ .flags = TG_GUARD_ON | TG_GUARD_SRC_LIMIT,
				       .src_prefix4 = 24,
				       .src_prefix6 = 64,
				       .rule_src_rate = 4 };
	tg_rate_compute(10, 10, &conf.src_pps); /* 10/s, burst 1 s */
	write_conf();
	clock_ns += 100 * SEC_NS;
	pass = burst(&a, 20, db, TG_REASON_SRC_RATE, &dropped);
	tap_check(pass == want && dropped == (uint64_t)(20 - want),
		  "10 packets/s, burst 1 s: %d of 20 at one instant pass (want %d), %llu counted",
		  pass, want, (unsigned long long)dropped);
	pass = burst(&a2, 1, db, TG_REASON_SRC_RATE, &dropped);
	tap_check(pass == 0 && dropped == 1, "a neighbour in the same /24 shares the bucket");
	pass = burst(&b, 3, db, TG_REASON_SRC_RATE, &dropped);
	tap_check(pass == 3 && dropped == 0, "another /24 has its own bucket");
	clock_ns += SEC_NS;
	pass = burst(&a, 20, db, TG_REASON_SRC_RATE, &dropped);
	tap_check(pass == 10, "one second later exactly 10 more pass (%d)", pass);

	/* over the rate with a ban TTL: banned, and free again when the TTL is over */
	conf.src_ban_ns = 5 * SEC_NS;
	write_conf();
	clock_ns += 100 * SEC_NS;
	events_reset();
	pass = burst(&b, want + 1, db, TG_REASON_SRC_RATE, &dropped);
	tap_check(
		pass == want && dropped == 1 &&
			events_of(TG_EV_BAN, TG_REASON_BAN, 4, TG_GA_DROP) == 1,
		"rate_limit with ban_ttl: the first packet over the rate bans its source (event)");
	{
		uint32_t zero = 0, any = 0;

		tap_check(!bpf_map_lookup_elem(m->bans_any, &zero, &any) && any == 1,
			  "the program raised tg_bans_any with its ban (%u)", any);
	}
	expect("the banned source is dropped as banned", &b, XDP_DROP, db, TG_REASON_BAN);
	clock_ns += 6 * SEC_NS;
	expect("after its 5 s TTL the ban has expired", &b, XDP_PASS, db, 0);
	conf.src_ban_ns = 0;

	/* bytes: 1 Mbit/s = 125000 B/s, burst 0.1 s = 12500 B: frames of 74 bytes */
	conf.src_pps = (struct tg_rate){ 0 };
	tg_rate_compute(125000, 12500, &conf.src_bps);
	write_conf();
	clock_ns += 100 * SEC_NS;
	{
		struct frame f;

		build(&f, &b);
		cost = (uint64_t)f.len * SEC_NS / 125000; /* ns per frame */
		want = (int)(SEC_NS / 10 / cost) + 1;
		pass = burst(&b, 400, db, TG_REASON_SRC_RATE, &dropped);
		tap_check(pass >= want - 1 && pass <= want,
			  "1 Mbit/s, burst 12500 bytes: %d frames of %zu bytes pass (want %d, "
			  "fixed-point rounding allows one less)",
			  pass, f.len, want);
	}
	conf = (struct tg_guard_conf){ 0 };
	write_conf();
}

/* Fast sources: above TG_SRC_BATCH packets per millisecond of rate the program takes
 * batches from the shared bucket (lib/guard.h); on one CPU at one instant the counts
 * must still be the GCRA rule's, floor(b / c) + 1, and a packet the bit rate refuses
 * must cost the packet rate nothing. */
static void source_rates_batched(void)
{
	struct spec a = { "192.0.2.91", "10.4.0.2", IPPROTO_UDP, 1, 2 };
	struct spec b = { "192.0.2.92", "10.4.0.2", IPPROTO_UDP, 1, 2 };
	uint64_t dropped, cost;
	struct frame f;
	int want, pass;

	conf = (struct tg_guard_conf){ .flags = TG_GUARD_ON | TG_GUARD_SRC_LIMIT,
				       .src_prefix4 = 32,
				       .src_prefix6 = 128,
				       .rule_src_rate = 4 };
	tg_rate_compute(100000, 1000, &conf.src_pps); /* 100k/s: 10 us each, burst 10 ms */
	write_conf();
	clock_ns += 100 * SEC_NS;
	want = (int)(10000000 / 10000) + 1;
	pass = burst(&a, 2000, db, TG_REASON_SRC_RATE, &dropped);
	tap_check(pass == want && dropped == (uint64_t)(2000 - want),
		  "100k packets/s, burst 10 ms, batched: %d of 2000 at one instant pass (want %d), "
		  "%llu counted",
		  pass, want, (unsigned long long)dropped);
	clock_ns += 1000000;
	pass = burst(&a, 500, db, TG_REASON_SRC_RATE, &dropped);
	tap_check(pass == 100, "1 ms later exactly 100 more pass (%d)", pass);

	/* 10 Mbit/s = 1.25e6 B/s, burst 1250 bytes, beside 20k packets/s, burst 5 ms */
	build(&f, &b);
	tg_rate_compute(20000, 100, &conf.src_pps);
	tg_rate_compute(1250000, 1250, &conf.src_bps);
	write_conf();
	clock_ns += 100 * SEC_NS;
	cost = (uint64_t)f.len * SEC_NS / 1250000;
	want = (int)(1000000 / cost) + 1;
	pass = burst(&b, 400, db, TG_REASON_SRC_RATE, &dropped);
	tap_check(pass >= want - 1 && pass <= want && dropped == (uint64_t)(400 - pass),
		  "10 Mbit/s, burst 1250 bytes, batched: %d frames of %zu bytes pass (want %d)",
		  pass, f.len, want);
	/* 2 ms on, the bytes allow a full burst again; had the 400 - pass refused frames
	 * been charged to the packet rate (50 us each), it would still be refusing. */
	clock_ns += 2000000;
	pass = burst(&b, 400, db, TG_REASON_SRC_RATE, &dropped);
	tap_check(pass >= want - 1 && pass <= want,
		  "frames the bit rate refused cost the packet rate nothing: %d pass again", pass);
	conf = (struct tg_guard_conf){ 0 };
	write_conf();
}

/* The sets as the compiler writes them (src/guard.c), hint included: a /7 marks 2^17
 * /24s, a /24 and a /28 one each, and a source in an unmarked /24 is not looked up. */
static void compiled_sets(void)
{
	static const char yaml[] = "tenants:\n"
				   "  - name: web\n"
				   "    cidrs: [10.3.0.0/24, \"fd00:3::/64\"]\n"
				   "  - name: db\n"
				   "    cidrs: [10.4.0.0/24]\n"
				   "uplink:\n"
				   "  interfaces: [eth0]\n"
				   "  blocklist: [12.0.0.0/7, 172.16.5.0/24, 172.16.7.16/28]\n";
	static const char none[] = "tenants:\n"
				   "  - name: web\n"
				   "    cidrs: [10.3.0.0/24, \"fd00:3::/64\"]\n"
				   "  - name: db\n"
				   "    cidrs: [10.4.0.0/24]\n";
	struct tg_config c2 = {}, c0 = {};
	struct tg_diags d = {};
	unsigned marked;

	if (!tap_check(tg_config_parse("sets", yaml, sizeof(yaml) - 1, &c2, &d) == 0 &&
			       tg_config_parse("none", none, sizeof(none) - 1, &c0, &d) == 0 &&
			       tg_guard_apply(m, &c2, &ap, true) == 0,
		       "a blocklist compiled and applied"))
		goto out;
	marked = hint_marked();
	tap_check(marked == (1u << 17) + 2,
		  "the hint marks the /24s the prefixes overlap: %u (want %u)", marked,
		  (1u << 17) + 2);
	expect("12.0.0.0/7: a source at its start is dropped",
	       &(struct spec){ "12.0.0.1", "10.4.0.2", IPPROTO_UDP, 1, 2 }, XDP_DROP, db,
	       TG_REASON_GUARD_DENY);
	expect("12.0.0.0/7: a source in its last /16 is dropped",
	       &(struct spec){ "13.255.200.1", "10.4.0.2", IPPROTO_UDP, 1, 2 }, XDP_DROP, db,
	       TG_REASON_GUARD_DENY);
	expect("172.16.5.0/24: dropped",
	       &(struct spec){ "172.16.5.9", "10.4.0.2", IPPROTO_UDP, 1, 2 }, XDP_DROP, db,
	       TG_REASON_GUARD_DENY);
	expect("the next /24 passes (unmarked: no trie walk)",
	       &(struct spec){ "172.16.6.9", "10.4.0.2", IPPROTO_UDP, 1, 2 }, XDP_PASS, db, 0);
	expect("172.16.7.16/28: dropped",
	       &(struct spec){ "172.16.7.20", "10.4.0.2", IPPROTO_UDP, 1, 2 }, XDP_DROP, db,
	       TG_REASON_GUARD_DENY);
	expect("its /24 outside the /28 passes (marked: the trie decides)",
	       &(struct spec){ "172.16.7.1", "10.4.0.2", IPPROTO_UDP, 1, 2 }, XDP_PASS, db, 0);
	expect("an unmarked /24 elsewhere passes",
	       &(struct spec){ "14.0.0.1", "10.4.0.2", IPPROTO_UDP, 1, 2 }, XDP_PASS, db, 0);
	tap_check(tg_guard_apply(m, &c0, &ap, true) == 0, "the blocklist removed");
	marked = hint_marked();
	tap_check(marked == 0, "and the hint is empty again (%u)", marked);
	expect("12.0.0.1 passes once the blocklist is gone",
	       &(struct spec){ "12.0.0.1", "10.4.0.2", IPPROTO_UDP, 1, 2 }, XDP_PASS, db, 0);
out:
	tg_config_free(&c2);
	tg_config_free(&c0);
	tg_diags_free(&d);
}

static char addr_buf[64][32];

static const char *nth_source(int i)
{
	char *s = addr_buf[i % 64];

	snprintf(s, 32, "172.%d.%d.%d", 16 + (i >> 16) % 16, (i >> 8) & 255, i & 255);
	return s;
}

static void syn_conf(bool cookie)
{
	conf = (struct tg_guard_conf){ .flags = TG_GUARD_ON | TG_GUARD_SYN |
						(cookie ? TG_GUARD_SYN_COOKIE : 0),
				       .src_prefix4 = 32,
				       .src_prefix6 = 128,
				       .syn_hold_ns = 2 * SEC_NS,
				       .ban_ns = 30 * SEC_NS,
				       .validated_ns = 600 * SEC_NS,
				       .rule_syn = 3 };
	tg_rate_compute(100, 100, &conf.syn_rate); /* 100 SYN/s, burst 1 s */
	tg_rate_compute(1, 2, &conf.syn_src);	   /* a source: 1 SYN/s, burst 2 s */
	write_conf();
}

static void syn_flood(void)
{
	int want = (int)(SEC_NS / (SEC_NS / 100)) + 1, pass = 0, dropped = 0, other = 0, v;
	struct tg_counter f0 = drops(web, TG_REASON_SYN_FLOOD);
	struct frame f;

	syn_conf(false);
	clock_ns += 100 * SEC_NS;
	events_reset();
	for (int i = 0; i < 300; i++) {
		build(&f, &(struct spec){ nth_source(i), "10.3.0.2", IPPROTO_TCP, 1024 + i, 80,
					  F_SYN, (uint32_t)i });
		v = run(&f);
		pass += v == XDP_PASS;
		dropped += v == XDP_DROP;
		other += v != XDP_PASS && v != XDP_DROP;
	}
	tap_check(pass == want && dropped == 300 - want && !other,
		  "SYN flood from 300 spoofed sources at 100 SYN/s, burst 1 s: the first %d pass "
		  "(%d), the rest dropped (%d)",
		  want, pass, dropped);
	tap_check(drops(web, TG_REASON_SYN_FLOOD).packets - f0.packets == (uint64_t)(300 - want),
		  "each drop counted once as syn_flood");
	tap_check(events_of(TG_EV_SYN_FLOOD, TG_REASON_SYN_FLOOD, 3, TG_GA_NONE) == 1,
		  "the flood is reported once");
	expect("during the flood a non-SYN segment passes",
	       &(struct spec){ nth_source(5000), "10.3.0.2", IPPROTO_TCP, 1, 80, F_ACK }, XDP_PASS,
	       web, 0);

	/* one source over its SYN budget (1/s, burst 2 s: 3 conform at one instant) */
	{
		struct spec s = { "192.0.2.99", "10.4.0.2", IPPROTO_TCP, 999, 80, F_SYN };
		uint64_t fd0 = drops(db, TG_REASON_SYN_FLOOD).packets, bd0;

		for (int i = 0; i < 3; i++) {
			build(&f, &s);
			run(&f);
		}
		tap_check(drops(db, TG_REASON_SYN_FLOOD).packets - fd0 == 3,
			  "a source within its SYN budget: its SYNs dropped as syn_flood (3)");
		events_reset();
		bd0 = drops(db, TG_REASON_BAN).packets;
		build(&f, &s);
		v = run(&f);
		tap_check(v == XDP_DROP && drops(db, TG_REASON_BAN).packets - bd0 == 1 &&
				  events_of(TG_EV_BAN, TG_REASON_BAN, 3, TG_GA_DROP) == 1,
			  "the 4th SYN is over its budget: the source is banned (event), drop "
			  "counted as ban");
		s.flags = F_ACK;
		expect("the banned source's other packets are dropped too", &s, XDP_DROP, db,
		       TG_REASON_BAN);
		clock_ns += 31 * SEC_NS;
		expect("after the 30 s TTL the ban expires by itself", &s, XDP_PASS, db, 0);
	}
	/* the flood is over: hold 2 s after the last excess SYN */
	clock_ns += 3 * SEC_NS;
	expect("after the flood a new SYN passes",
	       &(struct spec){ nth_source(7000), "10.3.0.2", IPPROTO_TCP, 1, 80, F_SYN }, XDP_PASS,
	       web, 0);

	/* Hysteresis: a flood goes on while SYNs come faster than the end rate (20/s,
	 * burst 2), though slower than the threshold; it ends hold (2 s) after they fall
	 * below it. */
	tg_rate_compute(20, 2, &conf.syn_end_rate);
	write_conf();
	clock_ns += 100 * SEC_NS;
	for (int i = 0; i < 150; i++) { /* start a flood */
		build(&f, &(struct spec){ nth_source(30000 + i), "10.4.0.2", IPPROTO_TCP, 1, 80,
					  F_SYN, 1 });
		run(&f);
	}
	pass = 0;
	for (int i = 0; i < 250; i++) { /* 50 SYN/s for 5 s */
		clock_ns += SEC_NS / 50;
		build(&f, &(struct spec){ nth_source(40000 + i), "10.4.0.2", IPPROTO_TCP, 1, 80,
					  F_SYN, 1 });
		pass += run(&f) == XDP_PASS;
	}
	tap_check(pass == 0,
		  "a flood slowed below its threshold but above the end rate goes on "
		  "past its hold (%d of 250 passed)",
		  pass);
	{
		int v1, v2;

		clock_ns += SEC_NS; /* 1 s later: within hold */
		build(&f, &(struct spec){ nth_source(50000), "10.4.0.2", IPPROTO_TCP, 1, 80, F_SYN,
					  1 });
		v1 = run(&f);
		clock_ns += SEC_NS; /* 2 s after the last fast SYN: hold is over */
		build(&f, &(struct spec){ nth_source(50001), "10.4.0.2", IPPROTO_TCP, 1, 80, F_SYN,
					  1 });
		v2 = run(&f);
		tap_check(v1 == XDP_DROP && v2 == XDP_PASS,
			  "once SYNs fall below the end rate, the flood ends after hold (1 s: %d, "
			  "2 s: %d)",
			  v1, v2);
	}
	conf.syn_end_rate = (struct tg_rate){ 0 };
	conf = (struct tg_guard_conf){ 0 };
	write_conf();
}

/* RFC 1071 over buf, with a starting sum. */
static uint16_t csum(uint32_t sum, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (n & 1)
		sum += (uint32_t)buf[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Checks out_buf as the cookie SYN-ACK answering the SYN f; returns its ack number. */
static uint32_t check_synack(const char *name, const struct frame *f, int v6)
{
	const uint8_t *o = out_buf, *ip = o + f->l3, *th = o + f->l4;
	uint32_t pseudo = 0, ack, isn;
	int ok = 1;

	ok &= out_len == f->l4 + 20;
	ok &= !memcmp(o, f->b + 6, 6) && !memcmp(o + 6, f->b, 6);
	if (!v6) {
		ok &= csum(0, ip, 20) == 0;
		ok &= !memcmp(ip + 12, f->b + f->l3 + 16, 4) &&
		      !memcmp(ip + 16, f->b + f->l3 + 12, 4);
		ok &= (ip[2] << 8 | ip[3]) == 40;
		for (int i = 12; i < 20; i += 2)
			pseudo += ip[i] << 8 | ip[i + 1];
	} else {
		ok &= !memcmp(ip + 8, f->b + f->l3 + 24, 16) &&
		      !memcmp(ip + 24, f->b + f->l3 + 8, 16);
		ok &= (ip[4] << 8 | ip[5]) == 20;
		for (int i = 8; i < 40; i += 2)
			pseudo += ip[i] << 8 | ip[i + 1];
	}
	pseudo += IPPROTO_TCP + 20;
	ok &= csum(pseudo, th, 20) == 0;
	ok &= !memcmp(th, f->b + f->l4 + 2, 2) && !memcmp(th + 2, f->b + f->l4, 2);
	ok &= th[13] == (F_SYN | F_ACK) && th[12] >> 4 == 5;
	memcpy(&ack, th + 8, 4);
	memcpy(&isn, f->b + f->l4 + 4, 4);
	ack = ntohl(ack);
	ok &= ack != ntohl(isn) + 1;
	tap_check(ok,
		  "%s: a SYN-ACK back to the sender, checksums valid (RFC 1071 here), "
		  "acknowledging a cookie rather than the ISN",
		  name);
	return ack;
}

static void cookies(const char *src, const char *dst, uint32_t tenant, int v6)
{
	struct spec syn = { src, dst, IPPROTO_TCP, 40001, 80, F_SYN, 12345 };
	struct frame f;
	uint32_t cookie;
	int v;

	build(&f, &syn);
	v = run(&f);
	tap_check(v == XDP_TX,
		  "cookie mode, IPv%d: the SYN of a source not validated is answered "
		  "from XDP (XDP_TX, got %d)",
		  v6 ? 6 : 4, v);
	if (v != XDP_TX)
		return;
	cookie = check_synack(v6 ? "IPv6" : "IPv4", &f, v6);
	expect("a reset carrying another number is not ours: it passes",
	       &(struct spec){ src, dst, IPPROTO_TCP, 40001, 80, F_RST, cookie + 7 }, XDP_PASS,
	       tenant, 0);
	build(&f, &(struct spec){ src, dst, IPPROTO_TCP, 40001, 80, F_RST, cookie });
	v = run(&f);
	tap_check(v == XDP_DROP, "the client's reset carries the cookie: taken here (%d)", v);
	expect("the client's retransmitted SYN goes through: its source is validated", &syn,
	       XDP_PASS, tenant, 0);
	expect("so does a SYN from another port of the validated source",
	       &(struct spec){ src, dst, IPPROTO_TCP, 40002, 443, F_SYN, 99 }, XDP_PASS, tenant, 0);
}

static void syn_cookies(void)
{
	struct frame f;

	syn_conf(true);
	clock_ns += 100 * SEC_NS;
	for (int i = 0; i < 150; i++) { /* start a flood */
		build(&f, &(struct spec){ nth_source(20000 + i), "10.3.0.2", IPPROTO_TCP, 1, 80,
					  F_SYN, 1 });
		run(&f);
	}
	cookies("198.18.0.1", "10.3.0.2", web, 0);
	cookies("2001:db8:5::1", "fd00:3::2", web, 1);
	conf = (struct tg_guard_conf){ 0 };
	write_conf();
}

static void honeypot(void)
{
	struct spec s = { "192.0.2.200", "10.4.0.2", IPPROTO_TCP, 1234, 80, F_SYN };
	static const uint8_t hmac[6] = { 2, 0x68, 0x6f, 0x6e, 0x65, 0x79 },
			     smac[6] = { 2, 0, 0, 0, 0x68, 1 };
	struct tg_counter h0 = drops(db, TG_REASON_HONEYPOT);
	uint64_t b0 = billed(db);
	struct frame f;
	int v;

	conf = (struct tg_guard_conf){ .flags = TG_GUARD_ON | TG_GUARD_SETS | TG_GUARD_HONEYPOT,
				       .honeypot_ifindex = 1 };
	memcpy(conf.honeypot_mac, hmac, 6);
	memcpy(conf.honeypot_src_mac, smac, 6);
	write_conf();
	gset(0, "192.0.2.200/32", (struct tg_gset_val){ .action = TG_GA_HONEYPOT, .rule = 7 }, 0);
	build(&f, &s);
	v = run(&f);
	tap_check(v == XDP_REDIRECT && !memcmp(out_buf, hmac, 6) && !memcmp(out_buf + 6, smac, 6),
		  "a flagged source is redirected to the honeypot, with its next hop's MAC (%d)",
		  v);
	tap_check(drops(db, TG_REASON_HONEYPOT).packets - h0.packets == 1 && billed(db) == b0,
		  "counted as honeypot, not billed to the tenant");
	gset(0, "192.0.2.200/32", (struct tg_gset_val){ 0 }, 1);
	s.flags = F_ACK;
	build(&f, &s);
	tap_check(run(&f) == XDP_REDIRECT,
		  "no longer flagged: its flow, once redirected, stays redirected");
	expect("a new flow from it goes to the tenant",
	       &(struct spec){ "192.0.2.200", "10.4.0.2", IPPROTO_TCP, 1235, 80, F_SYN }, XDP_PASS,
	       db, 0);
	conf = (struct tg_guard_conf){ 0 };
	write_conf();
}

static void stage(void)
{
	conf = (struct tg_guard_conf){ .flags = TG_GUARD_ON | TG_GUARD_SIG,
				       .sig_ports = { 8080, 80 } };
	write_conf();
	expect("an HTTP request to a signature port goes through the tail-called stage and is "
	       "billed once",
	       &(struct spec){ "192.0.9.10", "10.3.0.2", IPPROTO_TCP, 5555, 80, F_ACK, 1,
			       "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n" },
	       XDP_PASS, web, 0);
	expect("the same request to another port skips the stage, billed once",
	       &(struct spec){ "192.0.9.10", "10.3.0.2", IPPROTO_TCP, 5555, 81, F_ACK, 1,
			       "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n" },
	       XDP_PASS, web, 0);
	conf = (struct tg_guard_conf){ 0 };
	write_conf();
}

int main(void)
{
	static const char yaml[] = "tenants:\n"
				   "  - name: web\n"
				   "    cidrs: [10.3.0.0/24, \"fd00:3::/64\"]\n"
				   "  - name: db\n"
				   "    cidrs: [10.4.0.0/24]\n";
	struct tg_datapath_opts o = { .flow_capacity = 65536 };
	struct tg_diags diags = {};
	int err;

	tg_libbpf_quiet();
	ncpu = libbpf_num_possible_cpus();
	err = tg_config_parse("test", yaml, sizeof(yaml) - 1, &cfg, &diags);
	if (!tap_check(err == 0, "test configuration parses"))
		return tap_done();
	err = tg_datapath_load(NULL, &o, &dp);
	if (!tap_check(err == 0,
		       "datapath loads with private maps (verifier accepts the guard): %s",
		       strerror(-err)))
		return tap_done();
	m = tg_datapath_maps(dp);
	tap_check(tg_apply(m, &cfg, &ap) == 0 && tg_datapath_set_tap(dp) == 0,
		  "tenants programmed");
	web = ap.tenant_ids[0];
	db = ap.tenant_ids[1];
	rb = ring_buffer__new(m->events, on_event, NULL, NULL);
	if (!tap_check(rb != NULL && web < 8 && db < 8, "event ring opened, tenant ids %u %u", web,
		       db))
		return tap_done();

	expect("no guard configured: everything passes and is billed",
	       &(struct spec){ "198.51.100.9", "10.3.0.2", IPPROTO_TCP, 40000, 80, F_SYN },
	       XDP_PASS, web, 0);
	sets();
	bans();
	source_rates();
	source_rates_batched();
	compiled_sets();
	syn_flood();
	syn_cookies();
	honeypot();
	stage();

	ring_buffer__free(rb);
	tg_applied_free(&ap);
	tg_datapath_close(dp);
	tg_config_free(&cfg);
	tg_diags_free(&diags);
	return tap_done();
}
