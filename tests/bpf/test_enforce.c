// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Deny lists and segmentation through the real tc programs (BPF_PROG_TEST_RUN), with the
 * tries programmed by the real user-space code (tg_apply, tg_policy_apply,
 * tg_denylist_apply) from a configuration built here. Each case states its expected
 * verdict from the configuration below and the documented semantics; the counters are
 * checked against what the test itself sent: a dropped frame moves exactly one tg_drops
 * cell by its own length and no billing cell, a passed frame the reverse. Events are read
 * from the ring buffer and must account for every drop (event counts + still suppressed).
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
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "denylist.h"
#include "policy.h"
#include "tap.h"

#define SHOT 2
#define PASS (-1)
#define N_TENANTS 3 /* acme, beta, gamma */
#define MAX_ID 8    /* ids the test reads counters for (tg_apply hands out 1..3 here) */

/* ---- frames ---- */

struct frame {
	uint8_t b[256];
	size_t len;
};

static void put(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

enum shape {
	FULL = 0,    /* a whole transport header */
	FRAG = 1,    /* a later fragment: no transport header */
	CUT = 2,     /* the transport header cut short: the parser reads addresses only */
	LONGEXT = 3, /* IPv6 with 7 destination-options headers, one more than the parser
		      * walks: it reads the addresses, not the protocol */
};

/* A frame with a transport header (proto TCP, UDP or ICMP/ICMPv6, dport as given), or
 * one of the other shapes. */
static void build(struct frame *f, const char *src, const char *dst, uint8_t proto, uint16_t dport,
		  enum shape shape)
{
	int later_frag = shape == FRAG;
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	int v6 = strchr(dst, ':') != NULL;
	uint8_t l4[40] = { 0 };
	size_t l4len = proto == IPPROTO_TCP ? 20 : 8, payload = 40;
	uint16_t et = htons(v6 ? 0x86dd : 0x0800), port = htons(dport);

	memset(f, 0, sizeof(*f));
	put(f, macs, 12);
	put(f, &et, 2);
	if (later_frag)
		l4len = 0;
	if (shape == LONGEXT)
		l4len += 7 * 8;
	if (!v6) {
		uint8_t h[20] = { 0x45 };
		uint16_t tot = htons(20 + l4len + payload);

		memcpy(h + 2, &tot, 2);
		if (later_frag)
			h[6] = 0x00, h[7] = 0x10; /* offset 16 * 8, no transport header */
		h[8] = 64;
		h[9] = proto;
		inet_pton(AF_INET, src, h + 12);
		inet_pton(AF_INET, dst, h + 16);
		put(f, h, 20);
	} else {
		uint8_t h[40] = { 0x60 };
		uint16_t pl = htons(l4len + payload);

		memcpy(h + 4, &pl, 2);
		h[6] = shape == LONGEXT ? 60 : proto;
		h[7] = 64;
		inet_pton(AF_INET6, src, h + 8);
		inet_pton(AF_INET6, dst, h + 24);
		put(f, h, 40);
		for (int i = 0; shape == LONGEXT && i < 7; i++) {
			uint8_t opt[8] = { i < 6 ? 60 : proto, 0, 1, 4 }; /* PadN */

			put(f, opt, 8);
		}
	}
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		l4[0] = 0xc0, l4[1] = 0x01; /* source port 49153 */
		memcpy(l4 + 2, &port, 2);
		if (proto == IPPROTO_TCP)
			l4[12] = 5 << 4, l4[13] = 0x02; /* SYN */
		else
			l4[5] = (uint8_t)(8 + payload);
	} else {
		l4[0] = v6 ? 128 : 8; /* echo request */
	}
	put(f, l4, shape == LONGEXT ? l4len - 7 * 8 : l4len);
	if (shape == CUT) {
		f->len -= l4len / 2; /* the frame ends inside the transport header */
		return;
	}
	memset(f->b + f->len, 'p', payload);
	f->len += payload;
}

/* ---- the configuration under test ---- */

static struct tg_cidr cidr(const char *s)
{
	struct tg_cidr c;

	if (tg_parse_cidr(s, &c))
		tap_diag("bad cidr in the test: %s", s);
	return c;
}

static struct tg_deny_conf rule(const char *s, uint8_t proto, uint16_t lo, uint16_t hi)
{
	return (struct tg_deny_conf){
		.cidr = cidr(s), .proto = proto, .port_lo = lo, .port_hi = hi
	};
}

#define ANYP 0, 0, 65535

static struct tg_cidr acme_cidrs[2], beta_cidrs[2], gamma_cidrs[2];
static struct tg_deny_conf default_deny[2], acme_deny[9];
static char *acme_allow[] = { "beta" };
static struct tg_tenant_conf tenants[N_TENANTS];
static struct tg_config cfg;

static void make_config(void)
{
	acme_cidrs[0] = cidr("10.1.0.0/24");
	acme_cidrs[1] = cidr("fd00:1::/64");
	beta_cidrs[0] = cidr("10.2.0.0/24");
	beta_cidrs[1] = cidr("fd00:2::/64");
	gamma_cidrs[0] = cidr("10.3.0.0/24");
	gamma_cidrs[1] = cidr("fd00:3::/64");
	default_deny[0] = rule("169.254.169.254/32", ANYP);
	default_deny[1] = rule("fd00:ec2::254/128", ANYP);
	acme_deny[0] = rule("198.51.100.0/24", ANYP);
	acme_deny[1] = rule("203.0.113.0/24", IPPROTO_TCP, 22, 22);
	acme_deny[2] = rule("192.0.2.0/24", IPPROTO_UDP, 1000, 2000);
	acme_deny[3] = rule("20.0.0.0/8", ANYP); /* push-down: */
	acme_deny[4] = rule("20.1.2.0/24", IPPROTO_TCP, 22, 22);
	acme_deny[5] = rule("30.0.0.0/8", IPPROTO_UDP, 0, 65535);
	acme_deny[6] = rule("30.1.2.0/24", IPPROTO_TCP, 22, 22);
	acme_deny[7] = rule("2001:db8:bad::/48", ANYP);
	acme_deny[8] = rule("2001:db8:22::/48", IPPROTO_TCP, 22, 22);

	memset(tenants, 0, sizeof(tenants));
	snprintf(tenants[0].name, TG_NAME_MAX, "acme");
	tenants[0].cidrs = acme_cidrs;
	tenants[0].n_cidrs = 2;
	tenants[0].deny = acme_deny;
	tenants[0].n_deny = 9;
	tenants[0].allow_tenants = acme_allow;
	tenants[0].n_allow_tenants = 1;
	snprintf(tenants[1].name, TG_NAME_MAX, "beta");
	tenants[1].cidrs = beta_cidrs;
	tenants[1].n_cidrs = 2;
	snprintf(tenants[2].name, TG_NAME_MAX, "gamma");
	tenants[2].cidrs = gamma_cidrs;
	tenants[2].n_cidrs = 2;

	memset(&cfg, 0, sizeof(cfg));
	cfg.tenants = tenants;
	cfg.n_tenants = N_TENANTS;
	cfg.deny = default_deny;
	cfg.n_deny = 2;
	cfg.segmentation = true;
}

/* ---- the datapath and its counters ---- */

static const struct tg_maps *m;
static struct tg_datapath *dp;
static struct tg_applied ap;
static uint32_t id_of[N_TENANTS];
static int ncpu;

enum { ACME, BETA, GAMMA };
enum hook { FROM, TO }; /* tc ingress = from the tenant, tc egress = towards it */

static int set_iface(int t)
{
	struct tg_iface ifc = { .tenant_id = id_of[t], .role = TG_ROLE_TENANT, .name = "lo" };
	uint32_t key = 1; /* BPF_PROG_TEST_RUN runs on the loopback device */

	return bpf_map_update_elem(m->ifaces, &key, &ifc, BPF_ANY);
}

static int run(enum hook h, const struct frame *f)
{
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	int fd = tg_datapath_prog_fd(dp, h == FROM ? TG_PROG_TC_INGRESS : TG_PROG_TC_EGRESS);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -1000 - errno;
	return (int)opts.retval;
}

struct snapshot {
	struct tg_counter drops[MAX_ID][TG_REASON_SLOTS];
	struct tg_tenant_stats billed[MAX_ID];
	uint64_t stats[TG_STAT_MAX];
};

static void read_drop(uint32_t cell, struct tg_counter *out)
{
	struct tg_counter *v = calloc(ncpu, sizeof(*v));

	memset(out, 0, sizeof(*out));
	if (v && bpf_map_lookup_elem(m->drops, &cell, v) == 0) {
		for (int c = 0; c < ncpu; c++) {
			out->packets += v[c].packets;
			out->bytes += v[c].bytes;
		}
	}
	free(v);
}

static void snap(struct snapshot *s)
{
	static struct tg_tenant_stats cells[MAX_ID * TG_MAX_CLASSES];

	memset(s, 0, sizeof(*s));
	if (tg_maps_read_cells(m, cells, MAX_ID) || tg_maps_read_stats(m, s->stats))
		tap_diag("reading counters failed: %s", strerror(errno));
	for (uint32_t t = 0; t < MAX_ID; t++) {
		tg_cells_tenant_total(cells, t, &s->billed[t]);
		for (uint32_t r = 0; r < TG_REASON_SLOTS; r++)
			read_drop(t * TG_REASON_SLOTS + r, &s->drops[t][r]);
	}
}

/* Exactly one drop cell (tenant, reason) moved by (1, len) and no billing when reason is
 * set; else exactly one billing direction of tenant moved by (1, len) and no drop. */
static int deltas_ok(const struct snapshot *a, const struct snapshot *b, uint32_t tenant, int dir,
		     uint32_t reason, uint64_t len)
{
	int ok = 1;

	for (uint32_t t = 0; t < MAX_ID; t++) {
		for (uint32_t r = 0; r < TG_REASON_SLOTS; r++) {
			uint64_t dp_ = b->drops[t][r].packets - a->drops[t][r].packets;
			uint64_t db = b->drops[t][r].bytes - a->drops[t][r].bytes;
			int hit = reason && t == tenant && r == reason;

			if (dp_ != (hit ? 1u : 0u) || db != (hit ? len : 0)) {
				tap_diag("tg_drops tenant %u reason %u: +%llu packets +%llu bytes",
					 t, r, (unsigned long long)dp_, (unsigned long long)db);
				ok = 0;
			}
		}
		for (int d = 0; d < TG_DIR_MAX; d++) {
			uint64_t bp = b->billed[t].dir[d].packets - a->billed[t].dir[d].packets;
			uint64_t bb = b->billed[t].dir[d].bytes - a->billed[t].dir[d].bytes;
			int hit = !reason && t == tenant && d == dir;

			if (bp != (hit ? 1u : 0u) || bb != (hit ? len : 0)) {
				tap_diag("billed tenant %u dir %d: +%llu packets +%llu bytes", t, d,
					 (unsigned long long)bp, (unsigned long long)bb);
				ok = 0;
			}
		}
	}
	return ok;
}

/* ---- events ---- */

static struct ring_buffer *rb;
static struct tg_event last_ev;
static unsigned n_ev, n_ev_bad;
static uint64_t ev_count[MAX_ID][TG_REASON_SLOTS]; /* sum of .count per cell */

static int on_event(void *ctx, void *data, size_t len)
{
	const struct tg_event *e = data;

	(void)ctx;
	if (len < sizeof(*e) || e->type != TG_EV_ENFORCE || e->tenant_id >= MAX_ID ||
	    e->reason >= TG_REASON_SLOTS) {
		n_ev_bad++;
		return 0;
	}
	last_ev = *e;
	n_ev++;
	ev_count[e->tenant_id][e->reason] += e->count;
	return 0;
}

static unsigned consume(void)
{
	unsigned before = n_ev;

	ring_buffer__consume(rb);
	return n_ev - before;
}

/* ---- the cases ---- */

struct tcase {
	const char *name;
	int tenant; /* whose interface */
	enum hook hook;
	const char *src, *dst;
	uint8_t proto;
	uint16_t dport;
	enum shape shape;
	uint32_t reason; /* expected; TG_REASON_NONE = passes */
};

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ICMP IPPROTO_ICMP
#define DENY TG_REASON_DENY
#define SEG TG_REASON_SEGMENT
#define OK TG_REASON_NONE

static const struct tcase cases[] = {
	/* the default list, for every tenant */
	{ "default list /32: acme to 169.254.169.254 dropped", ACME, FROM, "10.1.0.2",
	  "169.254.169.254", TCP, 80, 0, DENY },
	{ "default list /32: beta (no own list) to 169.254.169.254 dropped", BETA, FROM, "10.2.0.2",
	  "169.254.169.254", UDP, 53, 0, DENY },
	{ "default list /32: the neighbour 169.254.169.253 passes", ACME, FROM, "10.1.0.2",
	  "169.254.169.253", TCP, 80, 0, OK },
	{ "default list, IPv6 /128: dropped", BETA, FROM, "fd00:2::2", "fd00:ec2::254", TCP, 443, 0,
	  DENY },
	/* the tenant's own list */
	{ "tenant list /24: acme to 198.51.100.7 dropped", ACME, FROM, "10.1.0.2", "198.51.100.7",
	  ICMP, 0, 0, DENY },
	{ "tenant list /24: beta to 198.51.100.7 passes (not beta's list)", BETA, FROM, "10.2.0.2",
	  "198.51.100.7", ICMP, 0, 0, OK },
	{ "tenant list, IPv6 /48: dropped", ACME, FROM, "fd00:1::2", "2001:db8:bad:7::1", UDP, 53,
	  0, DENY },
	{ "tenant list, IPv6: outside the /48 passes", ACME, FROM, "fd00:1::2", "2001:db8:bae::1",
	  UDP, 53, 0, OK },
	/* protocol and ports */
	{ "tcp/22 rule: TCP to port 22 dropped", ACME, FROM, "10.1.0.2", "203.0.113.5", TCP, 22, 0,
	  DENY },
	{ "tcp/22 rule: TCP to port 80 passes", ACME, FROM, "10.1.0.2", "203.0.113.5", TCP, 80, 0,
	  OK },
	{ "tcp/22 rule: UDP to port 22 passes", ACME, FROM, "10.1.0.2", "203.0.113.5", UDP, 22, 0,
	  OK },
	{ "tcp/22 rule: ICMP passes", ACME, FROM, "10.1.0.2", "203.0.113.5", ICMP, 0, 0, OK },
	{ "tcp/22 rule: a later TCP fragment (port unknown) passes", ACME, FROM, "10.1.0.2",
	  "203.0.113.5", TCP, 0, 1, OK },
	{ "udp/1000-2000 rule: port 1000 dropped", ACME, FROM, "10.1.0.2", "192.0.2.9", UDP, 1000,
	  0, DENY },
	{ "udp/1000-2000 rule: port 2000 dropped", ACME, FROM, "10.1.0.2", "192.0.2.9", UDP, 2000,
	  0, DENY },
	{ "udp/1000-2000 rule: port 999 passes", ACME, FROM, "10.1.0.2", "192.0.2.9", UDP, 999, 0,
	  OK },
	{ "udp/1000-2000 rule: port 2001 passes", ACME, FROM, "10.1.0.2", "192.0.2.9", UDP, 2001, 0,
	  OK },
	{ "any-port rule: a later fragment is dropped too", ACME, FROM, "10.1.0.2", "198.51.100.7",
	  UDP, 0, 1, DENY },
	/* push-down: the longest match carries the covering prefixes' rules */
	{ "push-down: /8 deny-all over /24 tcp/22: TCP 80 to the /24 dropped", ACME, FROM,
	  "10.1.0.2", "20.1.2.5", TCP, 80, 0, DENY },
	{ "push-down: /8 udp over /24 tcp/22: UDP to the /24 dropped", ACME, FROM, "10.1.0.2",
	  "30.1.2.5", UDP, 53, 0, DENY },
	{ "push-down: /8 udp over /24 tcp/22: TCP 22 to the /24 dropped", ACME, FROM, "10.1.0.2",
	  "30.1.2.5", TCP, 22, 0, DENY },
	{ "push-down: /8 udp over /24 tcp/22: TCP 80 to the /24 passes", ACME, FROM, "10.1.0.2",
	  "30.1.2.5", TCP, 80, 0, OK },
	{ "push-down: the /24's tcp/22 stays in the /24: TCP 22 elsewhere in the /8 passes", ACME,
	  FROM, "10.1.0.2", "30.9.9.9", TCP, 22, 0, OK },
	/* segmentation */
	{ "segmentation: acme to gamma's address dropped", ACME, FROM, "10.1.0.2", "10.3.0.5", TCP,
	  80, 0, SEG },
	{ "segmentation: acme to gamma's IPv6 address dropped", ACME, FROM, "fd00:1::2",
	  "fd00:3::5", TCP, 80, 0, SEG },
	{ "segmentation: acme to beta (allowed by acme) passes", ACME, FROM, "10.1.0.2", "10.2.0.5",
	  TCP, 80, 0, OK },
	{ "segmentation: beta to acme passes (the pair is symmetric)", BETA, FROM, "10.2.0.2",
	  "10.1.0.5", TCP, 80, 0, OK },
	{ "segmentation: beta to gamma dropped", BETA, FROM, "10.2.0.2", "10.3.0.5", UDP, 53, 0,
	  SEG },
	{ "segmentation: gamma to acme dropped", GAMMA, FROM, "10.3.0.2", "10.1.0.5", TCP, 80, 0,
	  SEG },
	{ "segmentation: acme to its own CIDR passes", ACME, FROM, "10.1.0.2", "10.1.0.9", TCP, 80,
	  0, OK },
	{ "segmentation: acme to a non-tenant address passes", ACME, FROM, "10.1.0.2",
	  "93.184.216.34", TCP, 443, 0, OK },
	{ "ingress segmentation: gamma's source towards acme dropped", ACME, TO, "10.3.0.5",
	  "10.1.0.2", TCP, 80, 0, SEG },
	{ "ingress segmentation: gamma's IPv6 source towards acme dropped", ACME, TO, "fd00:3::5",
	  "fd00:1::2", UDP, 53, 0, SEG },
	{ "ingress segmentation: beta's source towards acme passes", ACME, TO, "10.2.0.5",
	  "10.1.0.2", TCP, 80, 0, OK },
	{ "ingress segmentation: a non-tenant source passes", ACME, TO, "93.184.216.34", "10.1.0.2",
	  TCP, 80, 0, OK },
	{ "ingress: deny lists are for egress only (from 169.254.169.254 passes)", ACME, TO,
	  "169.254.169.254", "10.1.0.2", TCP, 80, 0, OK },
	/* unreadable transport headers: addresses still judged, failing closed */
	{ "IPv6, 7 extension headers (unparsed) to a denied /48: dropped", ACME, FROM, "fd00:1::2",
	  "2001:db8:bad::1", UDP, 53, LONGEXT, DENY },
	{ "IPv6, 7 extension headers to gamma: dropped (segmentation)", ACME, FROM, "fd00:1::2",
	  "fd00:3::5", UDP, 53, LONGEXT, SEG },
	{ "IPv6, 7 extension headers from gamma towards acme: dropped", ACME, TO, "fd00:3::5",
	  "fd00:1::2", UDP, 53, LONGEXT, SEG },
	{ "IPv6 tcp/22 rule: TCP to port 22 dropped", ACME, FROM, "fd00:1::2", "2001:db8:22::1",
	  TCP, 22, 0, DENY },
	{ "IPv6 tcp/22 rule: UDP to port 22 passes", ACME, FROM, "fd00:1::2", "2001:db8:22::1", UDP,
	  22, 0, OK },
	{ "IPv6, 7 extension headers (protocol unknown) to the tcp/22 prefix: dropped", ACME, FROM,
	  "fd00:1::2", "2001:db8:22::1", UDP, 22, LONGEXT, DENY },
	{ "IPv6, 7 extension headers to a free address: passes (billed, unparsed)", ACME, FROM,
	  "fd00:1::2", "2001:db8:bae::1", UDP, 53, LONGEXT, OK },
	{ "TCP header cut short to the tcp/22 prefix: port unknown, dropped", ACME, FROM,
	  "10.1.0.2", "203.0.113.5", TCP, 80, CUT, DENY },
	{ "TCP header cut short to the udp/1000-2000 prefix: other protocol, passes", ACME, FROM,
	  "10.1.0.2", "192.0.2.9", TCP, 1500, CUT, OK },
};

static void run_case(const struct tcase *c)
{
	struct snapshot a, b;
	struct frame f;
	int dir = c->hook == FROM ? TG_DIR_EGRESS : TG_DIR_INGRESS, ret;

	build(&f, c->src, c->dst, c->proto, c->dport, c->shape);
	set_iface(c->tenant);
	snap(&a);
	ret = run(c->hook, &f);
	snap(&b);
	if (!tap_check(ret == (c->reason ? SHOT : PASS) &&
			       deltas_ok(&a, &b, id_of[c->tenant], dir, c->reason, f.len),
		       "%s", c->name))
		tap_diag("program returned %d, want %d", ret, c->reason ? SHOT : PASS);
	consume();
}

/* The event of one drop, suppression of the next, and the count that follows. */
static void run_events(void)
{
	uint32_t cell = id_of[ACME] * TG_REASON_SLOTS + TG_REASON_DENY;
	struct tg_event_limit lim = {};
	struct snapshot a, b;
	struct frame f;
	uint8_t dst[4];

	build(&f, "10.1.0.2", "198.51.100.77", IPPROTO_TCP, 8080, 0);
	inet_pton(AF_INET, "198.51.100.77", dst);
	set_iface(ACME);
	consume();
	/* Start from a quiet cell; what it had suppressed so far is folded into the
	 * accounting below through ev_count. */
	bpf_map_lookup_elem(m->event_limit, &cell, &lim);
	ev_count[id_of[ACME]][TG_REASON_DENY] += lim.suppressed;
	memset(&lim, 0, sizeof(lim));
	bpf_map_update_elem(m->event_limit, &cell, &lim, BPF_ANY);

	snap(&a);
	run(FROM, &f);
	tap_equal_u64(consume(), 1, "events: the first drop sends one event");
	tap_check(last_ev.type == TG_EV_ENFORCE && last_ev.tenant_id == id_of[ACME] &&
			  last_ev.reason == TG_REASON_DENY && last_ev.count == 1,
		  "events: TG_EV_ENFORCE, tenant acme, reason deny, count 1 (got type %u tenant "
		  "%u reason %u count %u)",
		  last_ev.type, last_ev.tenant_id, last_ev.reason, last_ev.count);
	tap_check(last_ev.family == 4 && last_ev.proto == IPPROTO_TCP &&
			  last_ev.dir == TG_DIR_EGRESS && last_ev.dport == htons(8080) &&
			  !memcmp(last_ev.dst, dst, 4),
		  "events: the event carries the packet (IPv4 TCP egress to 198.51.100.77:8080)");

	run(FROM, &f);
	snap(&b);
	tap_equal_u64(consume(), 0, "events: a second drop within the interval sends none");
	tap_equal_u64(b.stats[TG_STAT_EVENTS_SUPPRESSED] - a.stats[TG_STAT_EVENTS_SUPPRESSED], 1,
		      "events: ... and is counted as suppressed");
	bpf_map_lookup_elem(m->event_limit, &cell, &lim);
	tap_equal_u64(lim.suppressed, 1, "events: the cell holds one suppressed enforcement");

	/* The interval passes: move the cell's last event back rather than wait. */
	lim.last_ns -= TG_EVENT_INTERVAL_NS + 1;
	bpf_map_update_elem(m->event_limit, &cell, &lim, BPF_ANY);
	run(FROM, &f);
	tap_equal_u64(consume(), 1, "events: after the interval the next drop sends an event");
	tap_equal_u64(last_ev.count, 2, "events: ... carrying count 2 (itself and the suppressed)");
	snap(&b);
	tap_equal_u64(b.drops[id_of[ACME]][TG_REASON_DENY].packets -
			      a.drops[id_of[ACME]][TG_REASON_DENY].packets,
		      3, "events: tg_drops counted all three drops");
	tap_equal_u64(b.stats[TG_STAT_EVENTS_PRODUCED] - a.stats[TG_STAT_EVENTS_PRODUCED],
		      2 + (b.stats[TG_STAT_EVENTS_DROPPED] - a.stats[TG_STAT_EVENTS_DROPPED]),
		      "events: produced = delivered + dropped");
}

/* Every drop is in exactly one place: an event's count, or a cell's pending suppressed. */
static void check_event_accounting(void)
{
	struct snapshot s;
	int ok = 1;

	consume();
	snap(&s);
	for (uint32_t t = 0; t < MAX_ID; t++) {
		for (uint32_t r = 0; r < TG_REASON_SLOTS; r++) {
			uint32_t cell = t * TG_REASON_SLOTS + r;
			struct tg_event_limit lim = {};

			bpf_map_lookup_elem(m->event_limit, &cell, &lim);
			if (s.drops[t][r].packets != ev_count[t][r] + lim.suppressed) {
				tap_diag(
					"tenant %u reason %u: %llu drops, events count %llu + %llu "
					"suppressed",
					t, r, (unsigned long long)s.drops[t][r].packets,
					(unsigned long long)ev_count[t][r],
					(unsigned long long)lim.suppressed);
				ok = 0;
			}
		}
	}
	tap_check(ok, "every drop is counted once in events: sum of counts + pending = tg_drops");
	tap_equal_u64(n_ev_bad, 0, "no malformed or foreign event");
}

static int deny_entries(void)
{
	return tg_map_count(m->deny4, sizeof(struct tg_deny4_key)) +
	       tg_map_count(m->deny6, sizeof(struct tg_deny6_key));
}

/* Re-applying: the new set goes in, the stale entries come out; a list that does not fit
 * changes nothing. */
static void run_reapply(void)
{
	struct tg_deny_conf nested[TG_DENY_RULES + 1];
	struct frame f;
	int before, err;

	/* 2 default + 9 acme prefixes; 2 peer keys (both orders of acme-beta) */
	tap_equal_u64(deny_entries(), 11, "tries hold one entry per distinct prefix");
	tap_equal_u64(tg_map_count(m->peers, sizeof(struct tg_peer_key)), 2,
		      "tg_peers holds both orders of the one allowed pair");

	for (int i = 0; i <= TG_DENY_RULES; i++) {
		char s[32];

		snprintf(s, sizeof(s), "172.16.0.0/%d", 12 + i);
		nested[i] = rule(s, IPPROTO_TCP, (uint16_t)(100 + i), (uint16_t)(100 + i));
	}
	tenants[1].deny = nested;
	tenants[1].n_deny = TG_DENY_RULES + 1;
	before = deny_entries();
	tap_diag("(tollgate prints the refusal on stderr: expected here)");
	fflush(stdout);
	err = tg_denylist_apply(m, &cfg, &ap);
	tap_check(err == -E2BIG, "a list whose push-down needs %d rules on one prefix: -E2BIG",
		  TG_DENY_RULES + 1);
	tap_equal_u64(deny_entries(), before, "... and the tries are left as they were");

	/* acme loses its list and its pair; beta gets one rule */
	tenants[1].deny = nested;
	tenants[1].n_deny = 1;
	tenants[0].n_deny = 0;
	tenants[0].n_allow_tenants = 0;
	if (tg_policy_apply(m, &cfg, &ap))
		tap_diag("tg_policy_apply failed");
	err = tg_denylist_apply(m, &cfg, &ap);
	tap_check(err == 0, "re-apply with acme's list and pair gone, a rule for beta: %s",
		  strerror(-err));
	tap_equal_u64(deny_entries(), 3, "stale prefixes removed: 2 default + 1 beta remain");
	tap_equal_u64(tg_map_count(m->peers, sizeof(struct tg_peer_key)), 0, "stale pairs removed");
	set_iface(ACME);
	build(&f, "10.1.0.2", "198.51.100.7", IPPROTO_ICMP, 0, 0);
	tap_equal_u64(run(FROM, &f), PASS, "acme to 198.51.100.7 passes now");
	build(&f, "10.1.0.2", "10.2.0.5", IPPROTO_TCP, 80, 0);
	tap_equal_u64(run(FROM, &f), SHOT, "acme to beta is dropped now (pair gone)");
	build(&f, "10.1.0.2", "169.254.169.254", IPPROTO_TCP, 80, 0);
	tap_equal_u64(run(FROM, &f), SHOT, "the default list still applies to acme");
	set_iface(BETA);
	build(&f, "10.2.0.2", "172.16.5.5", IPPROTO_TCP, 100, 0);
	tap_equal_u64(run(FROM, &f), SHOT, "beta's new rule applies");

	/* segmentation off: other tenants' addresses are reachable */
	cfg.segmentation = false;
	if (tg_policy_apply(m, &cfg, &ap) || tg_denylist_apply(m, &cfg, &ap))
		tap_diag("re-apply failed");
	set_iface(ACME);
	build(&f, "10.1.0.2", "10.3.0.5", IPPROTO_TCP, 80, 0);
	tap_equal_u64(run(FROM, &f), PASS, "isolation.segmentation false: acme to gamma passes");
	consume();
}

int main(void)
{
	struct tg_datapath_opts o = { .flow_capacity = 4096 };
	int err;

	tg_libbpf_quiet();
	ncpu = libbpf_num_possible_cpus();
	make_config();
	err = tg_datapath_load(NULL, &o, &dp);
	if (!tap_check(err == 0, "datapath loads with private maps (verifier accepts it): %s",
		       strerror(-err)))
		return tap_done();
	m = tg_datapath_maps(dp);
	err = tg_apply(m, &cfg, &ap);
	tap_check(err == 0, "tenants and CIDRs programmed");
	for (int i = 0; i < N_TENANTS; i++)
		id_of[i] = ap.tenant_ids[i];
	if (!tap_check(id_of[ACME] < MAX_ID && id_of[BETA] < MAX_ID && id_of[GAMMA] < MAX_ID,
		       "tenant ids %u %u %u fit the counters the test reads", id_of[ACME],
		       id_of[BETA], id_of[GAMMA]))
		return tap_done();
	tap_check(tg_policy_apply(m, &cfg, &ap) == 0, "tg_policy programmed");
	err = tg_denylist_apply(m, &cfg, &ap);
	tap_check(err == 0, "deny lists and pairs programmed: %s", strerror(-err));
	rb = ring_buffer__new(m->events, on_event, NULL, NULL);
	if (!tap_check(rb != NULL, "event ring buffer opened"))
		return tap_done();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	run_events();
	check_event_accounting();
	run_reapply();

	ring_buffer__free(rb);
	tg_applied_free(&ap);
	tg_datapath_close(dp);
	return tap_done();
}
