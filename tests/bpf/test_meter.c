// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Table-driven BPF_PROG_TEST_RUN cases for the tenant meter: frames in, counter deltas
 * out. Each expected delta comes from the frame as the test built it (its length, and
 * for GSO the header length the test wrote), never from the meter's own arithmetic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath.h"
#include "tap.h"
#include "tenant.skel.h"

#define TENANT 7 /* an arbitrary tenant id */
#define MAX_FRAME 9000

enum hook { IN, OUT }; /* tc ingress, tc egress */

struct frame {
	uint8_t b[MAX_FRAME];
	size_t len;
	size_t hdr_len; /* up to the end of L4, as written */
};

static void put(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void eth(struct frame *f, uint16_t proto, int vlans)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	uint16_t tpid[2] = { htons(0x88a8), htons(0x8100) };

	put(f, macs, 12);
	for (int i = 0; i < vlans; i++) {
		uint16_t tci = htons(100 + i);

		put(f, &tpid[vlans == 1 ? 1 : i], 2);
		put(f, &tci, 2);
	}
	proto = htons(proto);
	put(f, &proto, 2);
}

static void ipv4(struct frame *f, uint8_t proto, const char *src, const char *dst, size_t l4len,
		 int opt_words)
{
	uint8_t h[60] = { 0x45 + opt_words, 0 };
	uint16_t tot = htons(20 + opt_words * 4 + l4len);

	memcpy(h + 2, &tot, 2);
	h[8] = 64;
	h[9] = proto;
	inet_pton(AF_INET, src, h + 12);
	inet_pton(AF_INET, dst, h + 16);
	for (int i = 0; i < opt_words * 4; i++)
		h[20 + i] = 1; /* NOP options */
	put(f, h, 20 + opt_words * 4);
}

static void ipv6(struct frame *f, uint8_t next, const char *src, const char *dst, size_t plen)
{
	uint8_t h[40] = { 0x60 };
	uint16_t pl = htons(plen);

	memcpy(h + 4, &pl, 2);
	h[6] = next;
	h[7] = 64;
	inet_pton(AF_INET6, src, h + 8);
	inet_pton(AF_INET6, dst, h + 24);
	put(f, h, 40);
}

static void tcp(struct frame *f, int doff, size_t payload)
{
	uint8_t h[60] = { 0x30, 0x39, 0x00, 0x50 };

	h[12] = doff << 4;
	h[13] = 0x18;
	put(f, h, doff >= 5 ? doff * 4 : 20);
	f->hdr_len = f->len;
	memset(f->b + f->len, 'x', payload);
	f->len += payload;
}

static void udp(struct frame *f, size_t payload)
{
	uint8_t h[8] = { 0x30, 0x39, 0x00, 0x35 };
	uint16_t l = htons(8 + payload);

	memcpy(h + 4, &l, 2);
	put(f, h, 8);
	f->hdr_len = f->len;
	memset(f->b + f->len, 'u', payload);
	f->len += payload;
}

static void icmp(struct frame *f, uint8_t type, size_t payload)
{
	uint8_t h[8] = { type };

	put(f, h, 8);
	f->hdr_len = f->len;
	memset(f->b + f->len, 'i', payload);
	f->len += payload;
}

struct env {
	struct tenant_bpf *skel;
	struct tg_maps maps;
};

static int run(struct env *e, enum hook h, const struct frame *f, uint32_t gso_segs,
	       uint32_t gso_size)
{
	struct __sk_buff ctx = { .ifindex = 1, .gso_segs = gso_segs, .gso_size = gso_size };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	struct bpf_program *prog =
		h == IN ? e->skel->progs.tg_meter_ingress : e->skel->progs.tg_meter_egress;
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (err)
		return err;
	return (int)opts.retval;
}

static void set_iface(struct env *e, uint8_t role)
{
	struct tg_iface ifc = { .tenant_id = TENANT, .role = role, .name = "lo" };
	uint32_t key = 1;

	bpf_map_update_elem(e->maps.ifaces, &key, &ifc, BPF_ANY);
}

struct snapshot {
	struct tg_tenant_stats t[TENANT + 1];
	uint64_t s[TG_STAT_MAX];
};

static void snap(struct env *e, struct snapshot *s)
{
	static struct tg_tenant_stats cells[(TENANT + 1) * TG_MAX_CLASSES];

	if (tg_maps_read_cells(&e->maps, cells, TENANT + 1) || tg_maps_read_stats(&e->maps, s->s))
		tap_diag("reading counters failed: %s", strerror(errno));
	for (uint32_t t = 0; t <= TENANT; t++)
		tg_cells_tenant_total(cells, t, &s->t[t]);
}

struct expect {
	uint32_t tenant;
	int dir;
	uint64_t packets, bytes;
	uint64_t unparsed, unattributed, unknown;
};

static int check_delta(const struct snapshot *a, const struct snapshot *b, const struct expect *x)
{
	for (uint32_t t = 0; t <= TENANT; t++) {
		for (int d = 0; d < TG_DIR_MAX; d++) {
			uint64_t dp = b->t[t].dir[d].packets - a->t[t].dir[d].packets;
			uint64_t db = b->t[t].dir[d].bytes - a->t[t].dir[d].bytes;
			int hit = t == x->tenant && d == x->dir;
			uint64_t wp = hit ? x->packets : 0, wb = hit ? x->bytes : 0;

			if (dp != wp || db != wb) {
				tap_diag("tenant %u dir %d: got %llu pkts %llu bytes, want "
					 "%llu/%llu",
					 t, d, (unsigned long long)dp, (unsigned long long)db,
					 (unsigned long long)wp, (unsigned long long)wb);
				return 0;
			}
		}
	}
	if (b->s[TG_STAT_UNPARSED_PACKETS] - a->s[TG_STAT_UNPARSED_PACKETS] != x->unparsed ||
	    b->s[TG_STAT_UNATTRIBUTED_PACKETS] - a->s[TG_STAT_UNATTRIBUTED_PACKETS] !=
		    x->unattributed ||
	    b->s[TG_STAT_UNKNOWN_IFACE] - a->s[TG_STAT_UNKNOWN_IFACE] != x->unknown) {
		tap_diag("stats: unparsed +%llu unattributed +%llu unknown +%llu",
			 (unsigned long long)(b->s[TG_STAT_UNPARSED_PACKETS] -
					      a->s[TG_STAT_UNPARSED_PACKETS]),
			 (unsigned long long)(b->s[TG_STAT_UNATTRIBUTED_PACKETS] -
					      a->s[TG_STAT_UNATTRIBUTED_PACKETS]),
			 (unsigned long long)(b->s[TG_STAT_UNKNOWN_IFACE] -
					      a->s[TG_STAT_UNKNOWN_IFACE]));
		return 0;
	}
	return 1;
}

enum kind {
	K_V4_TCP,
	K_V4_UDP,
	K_V4_ICMP,
	K_V4_OPTS_UDP,
	K_V4_LATER_FRAG,
	K_V6_TCP,
	K_V6_UDP,
	K_V6_ICMP,
	K_V6_HOPOPT_UDP,
	K_VLAN_UDP,
	K_QINQ_TCP,
	K_ARP,
	K_TRUNC_IP,
	K_TRUNC_TCP,
	K_TCP_DOFF3,
	K_V6_TRUNC,
	K_V4_TCP_TO_OTHER,
};

static void build(struct frame *f, enum kind k)
{
	memset(f, 0, sizeof(*f));
	switch (k) {
	case K_V4_TCP:
	case K_V4_TCP_TO_OTHER:
		eth(f, 0x0800, 0);
		ipv4(f, 6, "10.1.0.2", k == K_V4_TCP ? "10.1.0.9" : "192.0.2.1", 32 + 100, 0);
		tcp(f, 8, 100);
		break;
	case K_V4_UDP:
		eth(f, 0x0800, 0);
		ipv4(f, 17, "192.0.2.1", "10.1.0.2", 8 + 1000, 0);
		udp(f, 1000);
		break;
	case K_V4_ICMP:
		eth(f, 0x0800, 0);
		ipv4(f, 1, "10.1.0.2", "192.0.2.1", 8 + 56, 0);
		icmp(f, 8, 56);
		break;
	case K_V4_OPTS_UDP:
		eth(f, 0x0800, 0);
		ipv4(f, 17, "10.1.0.2", "192.0.2.1", 8 + 10, 3);
		udp(f, 10);
		break;
	case K_V4_LATER_FRAG:
		eth(f, 0x0800, 0);
		ipv4(f, 17, "10.1.0.2", "192.0.2.1", 300, 0);
		f->b[14 + 6] = 0x00, f->b[14 + 7] = 0xb9; /* offset 185*8, no L4 header */
		memset(f->b + f->len, 'f', 300);
		f->len += 300;
		break;
	case K_V6_TCP:
		eth(f, 0x86dd, 0);
		ipv6(f, 6, "fd00:1::2", "2001:db8::1", 20 + 500);
		tcp(f, 5, 500);
		break;
	case K_V6_UDP:
		eth(f, 0x86dd, 0);
		ipv6(f, 17, "2001:db8::1", "fd00:1::2", 8 + 1200);
		udp(f, 1200);
		break;
	case K_V6_ICMP:
		eth(f, 0x86dd, 0);
		ipv6(f, 58, "fd00:1::2", "2001:db8::1", 8 + 32);
		icmp(f, 128, 32);
		break;
	case K_V6_HOPOPT_UDP: {
		uint8_t hop[8] = { 17, 0, 1, 4, 0, 0, 0, 0 }; /* next UDP, len 0 = 8 bytes, PadN */

		eth(f, 0x86dd, 0);
		ipv6(f, 0, "fd00:1::2", "2001:db8::1", 8 + 8 + 64);
		put(f, hop, 8);
		udp(f, 64);
		break;
	}
	case K_VLAN_UDP:
		eth(f, 0x0800, 1);
		ipv4(f, 17, "10.1.0.2", "192.0.2.1", 8 + 200, 0);
		udp(f, 200);
		break;
	case K_QINQ_TCP:
		eth(f, 0x0800, 2);
		ipv4(f, 6, "10.1.0.2", "192.0.2.1", 20, 0);
		tcp(f, 5, 0);
		break;
	case K_ARP: {
		uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };

		eth(f, 0x0806, 0);
		put(f, arp, sizeof(arp));
		break;
	}
	case K_TRUNC_IP:
		/* BPF_PROG_TEST_RUN for tc refuses frames shorter than a bare IPv4 header
		 * (-EINVAL), so the cut falls inside the options the IHL announces. */
		eth(f, 0x0800, 0);
		ipv4(f, 6, "10.1.0.2", "192.0.2.1", 20, 3);
		f->len = 14 + 22;
		break;
	case K_TRUNC_TCP:
		eth(f, 0x0800, 0);
		ipv4(f, 6, "10.1.0.2", "192.0.2.1", 20, 0);
		tcp(f, 5, 0);
		f->len -= 8; /* cut inside the TCP header */
		break;
	case K_TCP_DOFF3:
		eth(f, 0x0800, 0);
		ipv4(f, 6, "10.1.0.2", "192.0.2.1", 20, 0);
		tcp(f, 3, 0);
		break;
	case K_V6_TRUNC:
		/* Likewise for IPv6: the cut falls inside a hop-by-hop header. */
		eth(f, 0x86dd, 0);
		ipv6(f, 0, "fd00:1::2", "2001:db8::1", 8 + 8);
		f->len = 14 + 40 + 1;
		break;
	}
}

struct tcase {
	const char *name;
	uint8_t role;
	enum hook hook;
	enum kind kind;
	uint32_t gso_segs;
	int dir;	 /* expected tenant direction */
	uint32_t tenant; /* expected tenant */
	int unparsed, unattributed;
};

#define T TG_ROLE_TENANT
#define U TG_ROLE_UPLINK
#define ING TG_DIR_INGRESS
#define EGR TG_DIR_EGRESS

static const struct tcase cases[] = {
	{ "tenant iface, tc ingress, IPv4 TCP -> tenant egress", T, IN, K_V4_TCP, 0, EGR, TENANT },
	{ "tenant iface, tc egress, IPv4 UDP -> tenant ingress", T, OUT, K_V4_UDP, 0, ING, TENANT },
	{ "tenant iface, IPv4 ICMP echo", T, IN, K_V4_ICMP, 0, EGR, TENANT },
	{ "tenant iface, IPv4 with options, UDP", T, IN, K_V4_OPTS_UDP, 0, EGR, TENANT },
	{ "tenant iface, IPv4 later fragment", T, IN, K_V4_LATER_FRAG, 0, EGR, TENANT },
	{ "tenant iface, IPv6 TCP", T, IN, K_V6_TCP, 0, EGR, TENANT },
	{ "tenant iface, IPv6 UDP towards tenant", T, OUT, K_V6_UDP, 0, ING, TENANT },
	{ "tenant iface, ICMPv6 echo", T, IN, K_V6_ICMP, 0, EGR, TENANT },
	{ "tenant iface, IPv6 hop-by-hop + UDP", T, IN, K_V6_HOPOPT_UDP, 0, EGR, TENANT },
	{ "tenant iface, 802.1Q UDP", T, IN, K_VLAN_UDP, 0, EGR, TENANT },
	{ "tenant iface, QinQ TCP", T, IN, K_QINQ_TCP, 0, EGR, TENANT },
	{ "tenant iface, ARP: billed, unparsed", T, IN, K_ARP, 0, EGR, TENANT, 1 },
	{ "tenant iface, IPv4 cut inside its options: billed, unparsed", T, IN, K_TRUNC_IP, 0, EGR,
	  TENANT, 1 },
	{ "tenant iface, truncated TCP header: billed, unparsed", T, OUT, K_TRUNC_TCP, 0, ING,
	  TENANT, 1 },
	{ "tenant iface, TCP data offset 3: billed, unparsed", T, IN, K_TCP_DOFF3, 0, EGR, TENANT,
	  1 },
	{ "tenant iface, IPv6 cut inside an extension header: billed, unparsed", T, IN, K_V6_TRUNC,
	  0, EGR, TENANT, 1 },
	{ "tenant iface, IPv4 TCP GSO x4 counts 4 wire frames", T, IN, K_V4_TCP, 4, EGR, TENANT },
	{ "tenant iface, IPv6 TCP GSO x3 counts 3 wire frames", T, OUT, K_V6_TCP, 3, ING, TENANT },
	{ "uplink, tc ingress, v4 dst in tenant CIDR -> ingress", U, IN, K_V4_UDP, 0, ING, TENANT },
	{ "uplink, tc egress, v4 src in tenant CIDR -> egress", U, OUT, K_V4_TCP_TO_OTHER, 0, EGR,
	  TENANT },
	{ "uplink, tc ingress, v6 dst in tenant CIDR -> ingress", U, IN, K_V6_UDP, 0, ING, TENANT },
	{ "uplink, tc egress, v6 src in tenant CIDR -> egress", U, OUT, K_V6_TCP, 0, EGR, TENANT },
	{ "uplink, tc ingress, dst outside every CIDR -> unattributed", U, IN, K_V4_TCP_TO_OTHER, 0,
	  ING, TG_TENANT_UNATTRIBUTED, 0, 1 },
	{ "uplink, ARP -> unattributed and unparsed", U, IN, K_ARP, 0, ING, TG_TENANT_UNATTRIBUTED,
	  1, 1 },
};

static void add_cidrs(struct env *e)
{
	struct tg_lpm4_key k4 = { .prefixlen = 24 };
	struct tg_lpm6_key k6 = { .prefixlen = 64 };
	uint32_t id = TENANT;

	inet_pton(AF_INET, "10.1.0.0", k4.addr);
	inet_pton(AF_INET6, "fd00:1::", k6.addr);
	bpf_map_update_elem(e->maps.lpm4, &k4, &id, BPF_ANY);
	bpf_map_update_elem(e->maps.lpm6, &k6, &id, BPF_ANY);
}

static void run_case(struct env *e, const struct tcase *c)
{
	struct snapshot a, b;
	struct frame f;
	uint32_t segs = c->gso_segs ? c->gso_segs : 1;
	struct expect x = { .tenant = c->tenant,
			    .dir = c->dir,
			    .packets = segs,
			    .unparsed = c->unparsed,
			    .unattributed = c->unattributed * segs };
	int ret;

	build(&f, c->kind);
	/* Wire size: each of the segs frames repeats the headers the test wrote. */
	x.bytes = f.len + (uint64_t)(segs - 1) * f.hdr_len;
	set_iface(e, c->role);
	snap(e, &a);
	ret = run(e, c->hook, &f, c->gso_segs, c->gso_segs ? 1448 : 0);
	snap(e, &b);
	if (!tap_check(ret == -1 && check_delta(&a, &b, &x), "%s (%zu-byte frame)", c->name, f.len))
		tap_diag("program returned %d", ret);
}

static void run_unknown_iface(struct env *e)
{
	struct expect x = { .tenant = TENANT, .dir = 0, .unknown = 1 };
	struct snapshot a, b;
	struct frame f;
	uint32_t key = 1;

	bpf_map_delete_elem(e->maps.ifaces, &key);
	build(&f, K_V4_TCP);
	snap(e, &a);
	run(e, IN, &f, 0, 0);
	snap(e, &b);
	tap_check(check_delta(&a, &b, &x),
		  "interface missing from tg_ifaces: counted as unknown only");
}

/* A tenant with interface selectors (TG_POL_IFACE_METERED) is billed at its interfaces
 * only: its frames on an uplink, which crossed (or will cross) its interface too, are
 * billed nowhere there; at its own interface they are billed as usual. */
static void run_iface_metered(struct env *e)
{
	static const struct tcase up[] = {
		{ "uplink, ingress towards an interface-metered tenant: not billed again", U, IN,
		  K_V4_UDP, 0, ING, TENANT },
		{ "uplink, egress from an interface-metered tenant: not billed again", U, OUT,
		  K_V4_TCP_TO_OTHER, 0, EGR, TENANT },
	};
	struct tg_policy pol = { .flags = TG_POL_IFACE_METERED };
	uint32_t id = TENANT;

	if (!tap_check(bpf_map_update_elem(e->maps.policy, &id, &pol, BPF_ANY) == 0,
		       "policy: the tenant is metered at its interfaces"))
		return;
	for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++) {
		struct expect x = { .tenant = TENANT, .dir = up[i].dir };
		struct snapshot a, b;
		struct frame f;
		int ret;

		build(&f, up[i].kind);
		set_iface(e, up[i].role);
		snap(e, &a);
		ret = run(e, up[i].hook, &f, 0, 0);
		snap(e, &b);
		tap_check(ret == -1 && check_delta(&a, &b, &x), "%s", up[i].name);
	}
	run_case(e, &(struct tcase){ "its own interface still bills it", T, IN, K_V4_TCP, 0, EGR,
				     TENANT });
	pol.flags = 0;
	bpf_map_update_elem(e->maps.policy, &id, &pol, BPF_ANY);
	run_case(e, &(struct tcase){ "flag cleared: the uplink bills the CIDR tenant again", U, IN,
				     K_V4_UDP, 0, ING, TENANT });
}

int main(void)
{
	struct env e = {};
	struct bpf_map *map;
	int err;

	e.skel = tenant_bpf__open();
	if (!tap_check(e.skel != NULL, "open the tenant meter object"))
		return tap_done();
	/* This test must never touch the agent's pins: maps are private to it. */
	bpf_object__for_each_map (map, e.skel->obj)
		bpf_map__set_pin_path(map, NULL);
	bpf_map__set_max_entries(e.skel->maps.tg_flows, 65536);
	err = tenant_bpf__load(e.skel);
	if (!tap_check(err == 0, "load the meter (verifier accepts it): %s", strerror(-err))) {
		tenant_bpf__destroy(e.skel);
		return tap_done();
	}
#define X(n) e.maps.n = bpf_map__fd(e.skel->maps.tg_##n);
	TG_MAP_NAMES
#undef X
	add_cidrs(&e);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&e, &cases[i]);
	run_iface_metered(&e);
	run_unknown_iface(&e);
	tenant_bpf__destroy(e.skel);
	return tap_done();
}
