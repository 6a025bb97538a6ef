// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed frames through every packet program (BPF_PROG_TEST_RUN): the two tc meters,
 * the uplink's two XDP programs (the guard and its signature stage) and the two
 * cgroup_skb programs, on private maps programmed from a configuration by the agent's own
 * apply code (tenants, classes, policy, deny lists, guard, cgroups).
 *
 * The corpus is generated here: valid template frames (IPv4 and IPv6; TCP, UDP, ICMP,
 * ICMPv6, GRE; 802.1Q and QinQ; IPv4 options; IPv6 extension headers; fragments), the
 * malformed ones of the issue (IPv4 header length below 5 and beyond the frame, total
 * length above and below the frame, three and four VLAN tags, IPv6 extension chains past
 * the parser's limit, TCP data offset below 5, wrong version nibbles), every one of them
 * cut at every offset from 0 to its length, then random mutations from a fixed seed.
 *
 * The oracle is a reference parser written here from the protocol formats and the limits
 * Tollgate documents (include/tollgate.h enum tg_unparsed_reason, docs/flows.md): at most
 * two VLAN tags, at most six IPv6 extension headers, a later fragment has no transport
 * header. From it, and from the configuration below, each frame's expected fate on each
 * program follows: refused by the kernel's test run (frames shorter than the kernel
 * accepts), dropped (deny list, segmentation, guard blocklist; a signature match where
 * one is possible) into exactly one tg_drops cell, or billed into exactly one
 * tenant x class x direction cell (tenant 0 = unattributed) at its wire size, with the
 * unparsed reason the oracle names and class internet when the parser could not read
 * it. The cgroup_skb programs bill nothing: a frame there is passed, or dropped into one
 * tg_drops cell. After each program the counters' totals must equal what was sent, and
 * the flow table must hold exactly the frames billed as parsed.
 *
 * What the oracle does not decide: whether the HTTP signature matcher finds something in
 * a payload (tests/bpf/test_sig.c tests it against its own oracle); here a signature drop
 * is accepted only where the stage can run (a parsed frame with payload; behind the
 * guard, TCP to the configured port 80) and only into the destination tenant's cell.
 * BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header, and for skb programs
 * frames whose EtherType announces IPv4 or IPv6 without room for that header; those are
 * checked to be refused with nothing counted, and the XDP runs give the parser all of
 * them from 14 bytes on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "cgroups.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "denylist.h"
#include "flows.h"
#include "guard.h"
#include "mounts.h"
#include "policy.h"
#include "tap.h"

#define MAXF 1024	/* bytes of the largest frame */
#define N_MUTANTS 3000	/* random mutations */
#define N_REGRESSIONS 2 /* frames that found bugs (regressions()) */
#define SEED 0x746f6c6c67617465ull
#define MAX_DIAG 6 /* failures explained per program */

/* Verdicts (uapi values; vmlinux.h is not for user space). */
#define TC_UNSPEC (-1)
#define TC_SHOT 2
#define XDP_DROP 1
#define XDP_PASS 2
#define CG_DROP 0
#define CG_PASS 1
#define CG_DROP_CN 2

/* ---- frames ---- */

struct bld {
	uint8_t b[MAXF];
	size_t len;
	size_t l3, l4; /* where the IP and the transport headers start (0: none) */
	int v6;
};

static void put(struct bld *f, const void *p, size_t n)
{
	if (f->len + n > MAXF)
		n = MAXF - f->len;
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put8(struct bld *f, uint8_t v)
{
	put(f, &v, 1);
}

static void put16(struct bld *f, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	put(f, b, 2);
}

static void fill(struct bld *f, uint8_t c, size_t n)
{
	while (n--)
		put8(f, c);
}

static void eth(struct bld *f, const uint16_t *tpids, int tags, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0xee, 1, 2, 0, 0, 0, 0xee, 2 };

	put(f, macs, 12);
	for (int i = 0; i < tags; i++) {
		put16(f, tpids[i]);
		put16(f, 100 + i);
	}
	put16(f, type);
}

#define ETH(f, type) eth(f, NULL, 0, type)
static const uint16_t dot1q[] = { 0x8100 }, qinq[] = { 0x88a8, 0x8100 },
		      tags3[] = { 0x88a8, 0x8100, 0x8100 },
		      tags4[] = { 0x8100, 0x8100, 0x8100, 0x8100 };

/* IPv4 header: ihl words (5 = no options; NOP options fill the rest), the flags and
 * fragment offset field as given. Total length is set by finish(). */
static void ipv4(struct bld *f, uint8_t proto, const char *src, const char *dst, int ihl,
		 uint16_t frag)
{
	uint8_t h[60] = { 0 };

	f->l3 = f->len;
	h[0] = 0x40 | (ihl & 15);
	h[4] = 0x12, h[5] = 0x34;
	h[6] = frag >> 8, h[7] = frag & 0xff;
	h[8] = 64;
	h[9] = proto;
	inet_pton(AF_INET, src, h + 12);
	inet_pton(AF_INET, dst, h + 16);
	for (int i = 20; i < ihl * 4; i++)
		h[i] = 1;
	put(f, h, ihl >= 5 ? (size_t)ihl * 4 : 20);
}

static void ipv6(struct bld *f, uint8_t next, const char *src, const char *dst)
{
	uint8_t h[40] = { 0x60 };

	f->l3 = f->len;
	f->v6 = 1;
	h[6] = next;
	h[7] = 64;
	inet_pton(AF_INET6, src, h + 8);
	inet_pton(AF_INET6, dst, h + 24);
	put(f, h, 40);
}

/* An options-style extension header (hop-by-hop, routing, destination options) of
 * (words + 1) * 8 bytes, padded with PadN. */
static void ext(struct bld *f, uint8_t next, uint8_t words)
{
	size_t n = ((size_t)words + 1) * 8;

	put8(f, next);
	put8(f, words);
	put8(f, 1); /* PadN */
	put8(f, n - 4);
	fill(f, 0, n - 4);
}

static void frag6(struct bld *f, uint8_t next, uint16_t offset_units, int more)
{
	put8(f, next);
	put8(f, 0);
	put16(f, (uint16_t)(offset_units << 3) | (more ? 1 : 0));
	put16(f, 0xbeef);
	put16(f, 0x0042);
}

static void tcp(struct bld *f, uint16_t sport, uint16_t dport, int doff, uint8_t flags,
		const char *payload)
{
	uint8_t h[60] = { sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 0, 1, 0 };

	f->l4 = f->len;
	h[12] = (uint8_t)(doff << 4);
	h[13] = flags;
	h[14] = 0xff, h[15] = 0xff;
	for (int i = 20; i < doff * 4; i++)
		h[i] = 1; /* NOP options */
	put(f, h, doff >= 5 ? (size_t)doff * 4 : 20);
	if (payload)
		put(f, payload, strlen(payload));
}

static void udp(struct bld *f, uint16_t sport, uint16_t dport, size_t payload)
{
	f->l4 = f->len;
	put16(f, sport);
	put16(f, dport);
	put16(f, 8 + payload);
	put16(f, 0);
	fill(f, 'u', payload);
}

static void icmp(struct bld *f, uint8_t type, size_t payload)
{
	f->l4 = f->len;
	put8(f, type);
	put8(f, 0);
	put16(f, 0);
	put16(f, 0x0001);
	put16(f, 0x0001);
	fill(f, 'i', payload);
}

/* Total length (IPv4) or payload length (IPv6) as the frame's length implies. */
static void finish(struct bld *f)
{
	size_t n = f->len - f->l3 - (f->v6 ? 40 : 0);

	if (!f->l3 || f->len < f->l3 + 6)
		return;
	f->b[f->l3 + (f->v6 ? 4 : 2)] = n >> 8;
	f->b[f->l3 + (f->v6 ? 5 : 3)] = n & 0xff;
}

/* ---- the configuration, and who owns what ---- */

#define CGROUP_FMT "/tollgate-malformed-%d"

static char yaml[4096];
static struct tg_config cfg;
static struct tg_applied ap;
static uint32_t acme, globex, initech, cls_private, cls_peering, top;

static void make_yaml(void)
{
	snprintf(yaml, sizeof(yaml),
		 "tenants:\n"
		 "  - name: acme\n"
		 "    interfaces: [tgmal-acme-*]\n"
		 "    cgroups: [" CGROUP_FMT "]\n"
		 "    deny: [192.0.2.66/32, \"2001:db8::66/128\"]\n"
		 "  - name: globex\n"
		 "    cidrs: [10.2.0.0/24, \"fd00:2::/64\"]\n"
		 "  - name: initech\n"
		 "    cidrs: [10.3.0.0/24, \"fd00:3::/64\"]\n"
		 "classes:\n"
		 "  - name: private\n"
		 "    cidrs: [10.0.0.0/8, \"fc00::/7\"]\n"
		 "  - name: peering\n"
		 "    cidrs: [198.18.0.0/15, \"2001:db8:100::/48\"]\n"
		 "uplink:\n"
		 "  interfaces: [tgmal-up0]\n"
		 "  blocklist: [100.64.0.0/10, \"2001:db8:bad::/48\"]\n"
		 "  signatures: {ports: [80], action: drop}\n"
		 "isolation:\n"
		 "  segmentation: true\n"
		 "  deny: [198.51.100.0/24, {cidr: 203.0.113.0/24, proto: tcp, ports: 22}]\n",
		 getpid());
}

struct pfx {
	int family;
	uint8_t a[16];
	int len;
	uint32_t *id; /* tenant or class id, once known */
};

static struct pfx pfx_of(const char *cidr, uint32_t *id)
{
	struct pfx p = { .id = id };
	char buf[64];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	*slash = '\0';
	p.len = atoi(slash + 1);
	p.family = strchr(buf, ':') ? 6 : 4;
	inet_pton(p.family == 6 ? AF_INET6 : AF_INET, buf, p.a);
	return p;
}

static bool in_pfx(const struct pfx *p, int family, const uint8_t *a)
{
	if (p->family != family)
		return false;
	for (int i = 0; i < p->len; i++)
		if (((a[i / 8] ^ p->a[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

static struct pfx owners[4], classes[4], acme_deny[2], def_deny_any, def_deny_ssh, blocked[2];

static void make_prefixes(void)
{
	owners[0] = pfx_of("10.2.0.0/24", &globex);
	owners[1] = pfx_of("fd00:2::/64", &globex);
	owners[2] = pfx_of("10.3.0.0/24", &initech);
	owners[3] = pfx_of("fd00:3::/64", &initech);
	classes[0] = pfx_of("10.0.0.0/8", &cls_private);
	classes[1] = pfx_of("fc00::/7", &cls_private);
	classes[2] = pfx_of("198.18.0.0/15", &cls_peering);
	classes[3] = pfx_of("2001:db8:100::/48", &cls_peering);
	acme_deny[0] = pfx_of("192.0.2.66/32", NULL);
	acme_deny[1] = pfx_of("2001:db8::66/128", NULL);
	def_deny_any = pfx_of("198.51.100.0/24", NULL);
	def_deny_ssh = pfx_of("203.0.113.0/24", NULL);
	blocked[0] = pfx_of("100.64.0.0/10", NULL);
	blocked[1] = pfx_of("2001:db8:bad::/48", NULL);
}

static uint32_t lookup(const struct pfx *set, int n, int family, const uint8_t *a)
{
	for (int i = 0; i < n; i++)
		if (in_pfx(&set[i], family, a))
			return *set[i].id;
	return 0;
}

#define OWNER(o, a) lookup(owners, 4, (o)->family, a)
#define CLASS(o, a) lookup(classes, 4, (o)->family, a)

/* ---- the reference parser ---- */

struct ora {
	int err;    /* 0, or enum tg_unparsed_reason */
	int family; /* 4 or 6 once the addresses were read */
	uint8_t src[16], dst[16];
	int proto;  /* transport protocol, -1 while not known */
	bool later; /* a non-first fragment: no transport header */
	bool port;  /* TCP or UDP with its header read */
	uint16_t dport;
	size_t hdr_len; /* end of the transport header (valid frames) */
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int ora_ipv4(const uint8_t *b, size_t len, size_t *off, struct ora *o)
{
	const uint8_t *h = b + *off;
	size_t ihl;

	if (len < *off + 20)
		return TG_UNPARSED_TRUNC_L3;
	if (h[0] >> 4 != 4 || (h[0] & 15) < 5)
		return TG_UNPARSED_BAD_L3;
	ihl = (size_t)(h[0] & 15) * 4;
	if (len < *off + ihl)
		return TG_UNPARSED_TRUNC_L3; /* options announced, not there */
	/* The total length is not consulted: the frame is what crossed the wire (GSO,
	 * BIG TCP and multi-buffer frames disagree with it legitimately). */
	o->family = 4;
	memcpy(o->src, h + 12, 4);
	memcpy(o->dst, h + 16, 4);
	o->proto = h[9];
	o->later = (rd16(h + 6) & 0x1fff) != 0;
	*off += ihl;
	return 0;
}

#define MAX_EXT 6 /* extension headers the parser walks (docs/flows.md) */

static int ora_ipv6(const uint8_t *b, size_t len, size_t *off, struct ora *o)
{
	const uint8_t *h = b + *off;
	uint8_t next;

	if (len < *off + 40)
		return TG_UNPARSED_TRUNC_L3;
	if (h[0] >> 4 != 6)
		return TG_UNPARSED_BAD_L3;
	o->family = 6;
	memcpy(o->src, h + 8, 16);
	memcpy(o->dst, h + 24, 16);
	next = h[6];
	*off += 40;
	for (int k = 1;; k++) {
		bool is_ext = next == 0 || next == 43 || next == 60 || next == 44;

		/* a seventh extension header is past the limit, whole or cut */
		if (is_ext && k == MAX_EXT + 1)
			return TG_UNPARSED_EXT_LIMIT;
		if (next == 0 || next == 43 || next == 60) {
			size_t n;

			if (len < *off + 2)
				return TG_UNPARSED_TRUNC_L3;
			n = ((size_t)b[*off + 1] + 1) * 8;
			if (len < *off + n)
				return TG_UNPARSED_TRUNC_L3;
			next = b[*off];
			*off += n;
		} else if (next == 44) {
			if (len < *off + 8)
				return TG_UNPARSED_TRUNC_L3;
			o->later = (rd16(b + *off + 2) & 0xfff8) != 0;
			next = b[*off];
			*off += 8;
			if (o->later) {
				/* the rest is the middle of the datagram, whatever next says */
				o->proto = next;
				return 0;
			}
		} else {
			o->proto = next;
			return 0;
		}
	}
}

static int ora_l4(const uint8_t *b, size_t len, size_t off, struct ora *o)
{
	size_t need;

	o->hdr_len = off;
	if (o->later)
		return 0;
	switch (o->proto) {
	case 6:
		if (len < off + 20)
			return TG_UNPARSED_TRUNC_L4;
		if (b[off + 12] >> 4 < 5)
			return TG_UNPARSED_BAD_L4;
		need = (size_t)(b[off + 12] >> 4) * 4;
		break;
	case 17:
		need = 8;
		break;
	case 1:
	case 58: /* ICMP and ICMPv6, in either family: type, code, checksum */
		need = 4;
		break;
	default:
		return 0; /* other transports: addresses only */
	}
	if (len < off + need)
		return TG_UNPARSED_TRUNC_L4;
	if (o->proto == 6 || o->proto == 17) {
		o->port = true;
		o->dport = rd16(b + off + 2);
	}
	o->hdr_len = off + need;
	return 0;
}

/* l2: an Ethernet frame (tc, XDP); else the frame as cgroup_skb sees it, from its IP
 * header on, with the outer EtherType as its protocol. */
static void oracle(const uint8_t *b, size_t len, bool l2, struct ora *o)
{
	size_t off = 14;
	uint16_t type;
	int err;

	memset(o, 0, sizeof(*o));
	o->proto = -1;
	if (len < 14) {
		o->err = TG_UNPARSED_TRUNC_L2;
		return;
	}
	type = rd16(b + 12);
	for (int tags = 0; l2 && tags < 2 && (type == 0x8100 || type == 0x88a8); tags++) {
		if (len < off + 4) {
			o->err = TG_UNPARSED_TRUNC_L2;
			return;
		}
		type = rd16(b + off + 2);
		off += 4;
	}
	if (type == 0x0800)
		err = ora_ipv4(b, len, &off, o);
	else if (type == 0x86dd)
		err = ora_ipv6(b, len, &off, o);
	else
		err = TG_UNPARSED_NOT_IP; /* a third tag included */
	if (!err)
		err = ora_l4(b, len, off, o);
	o->err = err;
}

/* ---- what each program must do with a frame ---- */

enum kind { K_TENANT, K_UPLINK, K_TAP, K_CGROUP };

struct prog {
	const char *name;
	int fd;
	bool skb;
	enum kind kind;
	int hook_in; /* tc ingress, XDP, cgroup ingress */
	int guard;   /* 1: tg_uplink (guard, then maybe the stage); 2: tg_stage_sig alone */
};

enum fate { F_REFUSED, F_BILLED, F_DROPPED, F_PASSED };

struct want {
	enum fate fate;
	uint32_t tenant, cls, reason;
	int dir;
	int unparsed;	     /* reason expected in tg_unparsed (billed frames) */
	bool sig_possible;   /* the signature stage may drop it instead */
	uint32_t sig_tenant; /* whose drop cell that would be */
	bool parsed;	     /* billed as parsed: one flow holds it */
};

/* The kernel's test run builds an skb only from a frame whose IP header fits behind the
 * Ethernet header it announces (-EINVAL otherwise), and no run takes less than an
 * Ethernet header. */
static bool refused(const struct prog *p, const uint8_t *b, size_t len)
{
	if (len < 14)
		return true;
	if (!p->skb)
		return false;
	return (rd16(b + 12) == 0x0800 && len < 14 + 20) ||
	       (rd16(b + 12) == 0x86dd && len < 14 + 40);
}

enum l4k { L4_PORT, L4_NO_PORT, L4_PROTO, L4_NOTHING }; /* docs/isolation.md */

static bool deny_rule(int rproto, int lo, int hi, const struct ora *o, enum l4k known)
{
	if (rproto && rproto != o->proto && known != L4_NOTHING)
		return false;
	if (lo == 0 && hi == 65535)
		return true;
	if (known >= L4_PROTO)
		return true;
	return known == L4_PORT && o->dport >= lo && o->dport <= hi;
}

/* acme's verdict (tg_enforce_pkt) in direction dir, from the tenant: deny lists on the
 * destination of what it sends, segmentation on the other side's owner. Addresses that
 * could not be read are not judged (no caps are configured). */
static uint32_t enforce(int dir, const struct ora *o)
{
	uint32_t owner;

	if (!o->family)
		return TG_REASON_NONE;
	if (dir == TG_DIR_EGRESS) {
		enum l4k known = L4_NO_PORT;

		if (o->err)
			known = o->proto >= 0 ? L4_PROTO : L4_NOTHING;
		else if (!o->later && o->port && o->dport)
			known = L4_PORT;
		for (int i = 0; i < 2; i++)
			if (in_pfx(&acme_deny[i], o->family, o->dst))
				return TG_REASON_DENY;
		if (in_pfx(&def_deny_any, o->family, o->dst))
			return TG_REASON_DENY;
		if (in_pfx(&def_deny_ssh, o->family, o->dst) && deny_rule(6, 22, 22, o, known))
			return TG_REASON_DENY;
		owner = OWNER(o, o->dst);
	} else {
		owner = OWNER(o, o->src);
	}
	return owner && owner != acme ? TG_REASON_SEGMENT : TG_REASON_NONE;
}

static void predict(const struct prog *p, const uint8_t *b, size_t len, struct want *w)
{
	struct ora o;
	uint32_t reason;

	memset(w, 0, sizeof(*w));
	if (refused(p, b, len)) {
		w->fate = F_REFUSED;
		return;
	}
	oracle(b, len, p->kind != K_CGROUP, &o);
	w->fate = F_BILLED;
	w->cls = TG_CLASS_INTERNET;
	switch (p->kind) {
	case K_TENANT:
	case K_CGROUP:
		/* tc ingress on the tenant's own link carries what the tenant sends; the cgroup
		 * hooks are named from the tenant already */
		if (p->kind == K_TENANT)
			w->dir = p->hook_in ? TG_DIR_EGRESS : TG_DIR_INGRESS;
		else
			w->dir = p->hook_in ? TG_DIR_INGRESS : TG_DIR_EGRESS;
		reason = enforce(w->dir, &o);
		if (reason) {
			w->fate = F_DROPPED;
			w->tenant = acme;
			w->reason = reason;
			return;
		}
		if (p->kind == K_CGROUP) {
			w->fate = F_PASSED; /* cgroup traffic is billed by the meters */
			return;
		}
		w->tenant = acme;
		if (!o.err)
			w->cls = CLASS(&o, w->dir == TG_DIR_INGRESS ? o.src : o.dst);
		break;
	case K_UPLINK:
		w->dir = p->hook_in ? TG_DIR_INGRESS : TG_DIR_EGRESS;
		if (!o.err) {
			w->tenant = OWNER(&o, w->dir == TG_DIR_INGRESS ? o.dst : o.src);
			w->cls = CLASS(&o, w->dir == TG_DIR_INGRESS ? o.src : o.dst);
		}
		break;
	case K_TAP:
		w->dir = TG_DIR_INGRESS;
		if (!o.err) {
			w->tenant = OWNER(&o, o.dst);
			if (!w->tenant && OWNER(&o, o.src)) {
				w->tenant = OWNER(&o, o.src);
				w->dir = TG_DIR_EGRESS;
			}
			w->cls = CLASS(&o, w->dir == TG_DIR_INGRESS ? o.src : o.dst);
		}
		break;
	}
	w->unparsed = o.err;
	w->parsed = !o.err;
	if (!p->guard || o.err)
		return; /* the guard judges parsed frames only */
	if (p->guard == 1 &&
	    (in_pfx(&blocked[0], o.family, o.src) || in_pfx(&blocked[1], o.family, o.src))) {
		w->fate = F_DROPPED;
		w->tenant = OWNER(&o, o.dst); /* guard drops count against the destination's */
		w->reason = TG_REASON_GUARD_DENY;
		return;
	}
	/* The stage reads the payload of a TCP request to port 80 behind the guard, of any
	 * frame when run alone. */
	w->sig_possible = len > o.hdr_len &&
			  (p->guard == 2 || (o.proto == 6 && !o.later && o.port && o.dport == 80));
	w->sig_tenant = OWNER(&o, o.dst);
}

/* ---- the corpus ---- */

struct cframe {
	uint8_t *b;
	uint16_t len;
	int16_t base; /* index of the base frame, -1 for the regression list */
};

static struct bld bases[96];
static const char *base_names[96];
static int n_bases;
static struct cframe *corpus;
static size_t n_corpus, cap_corpus;

static struct bld *nb(const char *name)
{
	struct bld *f = &bases[n_bases];

	memset(f, 0, sizeof(*f));
	base_names[n_bases++] = name;
	return f;
}

static void add_frame(const uint8_t *b, size_t len, int base)
{
	if (n_corpus == cap_corpus) {
		cap_corpus = cap_corpus ? 2 * cap_corpus : 4096;
		corpus = realloc(corpus, cap_corpus * sizeof(*corpus));
		if (!corpus) {
			perror("realloc");
			exit(1);
		}
	}
	corpus[n_corpus].b = malloc(len ? len : 1);
	if (!corpus[n_corpus].b) {
		perror("malloc");
		exit(1);
	}
	memcpy(corpus[n_corpus].b, b, len);
	corpus[n_corpus].len = (uint16_t)len;
	corpus[n_corpus].base = (int16_t)base;
	n_corpus++;
}

#define SQLI "GET /item?id=1%27%20OR%201=1-- HTTP/1.1\r\nHost: x\r\n\r\n"
#define TRAV "GET /../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"

/* The valid templates. */
static void templates(void)
{
	struct bld *f;

	f = nb("v4 tcp");
	ETH(f, 0x0800), ipv4(f, 6, "10.1.0.2", "192.0.2.1", 5, 0);
	tcp(f, 40000, 443, 5, 0x18, "hello, world"), finish(f);
	f = nb("v4 tcp with options (doff 8) to globex");
	ETH(f, 0x0800), ipv4(f, 6, "192.0.2.9", "10.2.0.5", 5, 0x4000);
	tcp(f, 40001, 8080, 8, 0x02, NULL), finish(f);
	f = nb("v4 udp from globex to peering");
	ETH(f, 0x0800), ipv4(f, 17, "10.2.0.5", "198.18.3.4", 5, 0);
	udp(f, 5353, 53, 24), finish(f);
	f = nb("v4 icmp echo to initech");
	ETH(f, 0x0800), ipv4(f, 1, "203.0.113.9", "10.3.0.7", 5, 0);
	icmp(f, 8, 16), finish(f);
	f = nb("v4 with options (ihl 8), udp");
	ETH(f, 0x0800), ipv4(f, 17, "10.1.0.2", "192.0.2.1", 8, 0);
	udp(f, 1000, 2000, 10), finish(f);
	f = nb("v4 first fragment (MF), udp");
	ETH(f, 0x0800), ipv4(f, 17, "10.1.0.2", "10.3.0.7", 5, 0x2000);
	udp(f, 1234, 4321, 32), finish(f);
	f = nb("v4 later fragment");
	ETH(f, 0x0800), ipv4(f, 17, "10.1.0.2", "10.3.0.7", 5, 0x0004);
	fill(f, 'f', 24), finish(f);
	f = nb("v4 gre (addresses only)");
	ETH(f, 0x0800), ipv4(f, 47, "10.2.0.5", "10.3.0.7", 5, 0);
	fill(f, 0, 8), finish(f);
	f = nb("v4 tcp to a denied address");
	ETH(f, 0x0800), ipv4(f, 6, "10.1.0.2", "192.0.2.66", 5, 0);
	tcp(f, 40002, 443, 5, 0x10, "x"), finish(f);
	f = nb("v4 tcp to port 22 of a port-denied prefix");
	ETH(f, 0x0800), ipv4(f, 6, "10.1.0.2", "203.0.113.5", 5, 0);
	tcp(f, 40003, 22, 5, 0x02, NULL), finish(f);
	f = nb("v4 udp to the default deny list");
	ETH(f, 0x0800), ipv4(f, 17, "10.1.0.2", "198.51.100.7", 5, 0);
	udp(f, 40004, 123, 12), finish(f);
	f = nb("v4 tcp from a blocklisted source to globex");
	ETH(f, 0x0800), ipv4(f, 6, "100.64.1.1", "10.2.0.5", 5, 0);
	tcp(f, 40005, 443, 5, 0x02, NULL), finish(f);
	f = nb("v4 http request with sql injection to globex:80");
	ETH(f, 0x0800), ipv4(f, 6, "192.0.2.9", "10.2.0.5", 5, 0);
	tcp(f, 40006, 80, 5, 0x18, SQLI), finish(f);
	f = nb("v4 http request with path traversal to initech:80");
	ETH(f, 0x0800), ipv4(f, 6, "192.0.2.9", "10.3.0.7", 5, 0);
	tcp(f, 40007, 80, 5, 0x18, TRAV), finish(f);
	f = nb("v6 tcp");
	ETH(f, 0x86dd), ipv6(f, 6, "fd00:1::2", "2001:db8::1");
	tcp(f, 40010, 443, 5, 0x18, "v6 data"), finish(f);
	f = nb("v6 udp to globex");
	ETH(f, 0x86dd), ipv6(f, 17, "2001:db8:100::9", "fd00:2::5");
	udp(f, 5353, 53, 20), finish(f);
	f = nb("icmpv6 echo");
	ETH(f, 0x86dd), ipv6(f, 58, "fd00:3::7", "2001:db8::1");
	icmp(f, 128, 8), finish(f);
	f = nb("v6 hop-by-hop, udp");
	ETH(f, 0x86dd), ipv6(f, 0, "fd00:1::2", "fd00:3::7");
	ext(f, 17, 0), udp(f, 1000, 2000, 8), finish(f);
	f = nb("v6 hop-by-hop, routing, destination options, tcp");
	ETH(f, 0x86dd), ipv6(f, 0, "2001:db8::1", "fd00:2::5");
	ext(f, 43, 0), ext(f, 60, 1), ext(f, 6, 0);
	tcp(f, 40011, 22, 5, 0x02, NULL), finish(f);
	f = nb("v6 six extension headers (the limit), udp");
	ETH(f, 0x86dd), ipv6(f, 0, "fd00:1::2", "2001:db8::1");
	ext(f, 60, 0), ext(f, 60, 0), ext(f, 60, 0), ext(f, 43, 0), ext(f, 60, 0), ext(f, 17, 0);
	udp(f, 7, 7, 4), finish(f);
	f = nb("v6 first fragment, udp");
	ETH(f, 0x86dd), ipv6(f, 44, "fd00:1::2", "fd00:3::7");
	frag6(f, 17, 0, 1), udp(f, 1234, 4321, 16), finish(f);
	f = nb("v6 later fragment, udp");
	ETH(f, 0x86dd), ipv6(f, 44, "fd00:1::2", "fd00:3::7");
	frag6(f, 17, 3, 0), fill(f, 'f', 16), finish(f);
	f = nb("v6 later fragment of a datagram with destination options");
	ETH(f, 0x86dd), ipv6(f, 44, "fd00:1::2", "2001:db8::1");
	frag6(f, 60, 3, 0), fill(f, 'x', 40), finish(f);
	f = nb("v6 tcp to a denied address");
	ETH(f, 0x86dd), ipv6(f, 6, "fd00:1::2", "2001:db8::66");
	tcp(f, 40012, 443, 5, 0x10, NULL), finish(f);
	f = nb("v6 udp from a blocklisted source to initech");
	ETH(f, 0x86dd), ipv6(f, 17, "2001:db8:bad::1", "fd00:3::7");
	udp(f, 1, 2, 4), finish(f);
	f = nb("802.1Q v4 udp");
	eth(f, dot1q, 1, 0x0800), ipv4(f, 17, "10.1.0.2", "192.0.2.1", 5, 0);
	udp(f, 1000, 2000, 12), finish(f);
	f = nb("QinQ v4 tcp to initech");
	eth(f, qinq, 2, 0x0800), ipv4(f, 6, "192.0.2.9", "10.3.0.7", 5, 0);
	tcp(f, 40013, 443, 5, 0x12, NULL), finish(f);
	f = nb("802.1Q v6 tcp");
	eth(f, dot1q, 1, 0x86dd), ipv6(f, 6, "fd00:2::5", "2001:db8::1");
	tcp(f, 40014, 443, 5, 0x10, NULL), finish(f);
	f = nb("QinQ icmpv6");
	eth(f, qinq, 2, 0x86dd), ipv6(f, 58, "2001:db8::1", "fd00:2::5");
	icmp(f, 129, 4), finish(f);
	f = nb("arp");
	ETH(f, 0x0806), put16(f, 1), put16(f, 0x0800), put8(f, 6), put8(f, 4), put16(f, 1);
	fill(f, 0, 20);
}

/* The malformed ones the issue names (and their neighbours). */
static void malformed(void)
{
	struct bld *f;

	for (int ihl = 0; ihl < 5; ihl++) {
		f = nb("v4 header length below 5");
		ETH(f, 0x0800), ipv4(f, 6, "10.1.0.2", "10.2.0.5", ihl, 0);
		tcp(f, 1, 2, 5, 0x02, NULL), finish(f);
	}
	for (int ihl = 6; ihl <= 15; ihl += 3) {
		/* the options announced run past the end of the frame */
		f = nb("v4 header length beyond the frame");
		ETH(f, 0x0800), ipv4(f, 17, "10.1.0.2", "10.2.0.5", 5, 0);
		f->b[f->l3] = 0x40 | ihl;
		fill(f, 1, (size_t)ihl * 4 - 20 - 2), finish(f);
	}
	f = nb("v4 total length larger than the frame");
	ETH(f, 0x0800), ipv4(f, 17, "10.1.0.2", "10.2.0.5", 5, 0);
	udp(f, 1, 2, 10), finish(f);
	f->b[f->l3 + 2] = 0x05, f->b[f->l3 + 3] = 0xdc; /* 1500 */
	f = nb("v4 total length smaller than the frame (padding)");
	ETH(f, 0x0800), ipv4(f, 6, "10.2.0.5", "192.0.2.1", 5, 0);
	tcp(f, 1, 2, 5, 0x10, NULL), finish(f), fill(f, 0, 6);
	f->b[f->l3 + 3] = 20; /* shorter than the headers it carries */
	f = nb("v4 total length 0 (BIG TCP)");
	ETH(f, 0x0800), ipv4(f, 6, "10.2.0.5", "192.0.2.1", 5, 0);
	tcp(f, 1, 2, 5, 0x10, "payload"), finish(f);
	f->b[f->l3 + 2] = 0, f->b[f->l3 + 3] = 0;
	f = nb("v4 with version 6");
	ETH(f, 0x0800), ipv4(f, 17, "10.1.0.2", "10.2.0.5", 5, 0);
	udp(f, 1, 2, 30), finish(f);
	f->b[f->l3] = 0x65;
	f = nb("v6 with version 4");
	ETH(f, 0x86dd), ipv6(f, 17, "fd00:1::2", "fd00:2::5");
	udp(f, 1, 2, 4), finish(f);
	f->b[f->l3] = 0x45;
	f = nb("v6 payload length larger than the frame");
	ETH(f, 0x86dd), ipv6(f, 17, "fd00:1::2", "fd00:2::5");
	udp(f, 1, 2, 4), finish(f);
	f->b[f->l3 + 4] = 0xff;
	f = nb("three VLAN tags");
	eth(f, tags3, 3, 0x0800), ipv4(f, 17, "10.1.0.2", "10.2.0.5", 5, 0);
	udp(f, 1, 2, 8), finish(f);
	f = nb("four VLAN tags");
	eth(f, tags4, 4, 0x86dd), ipv6(f, 17, "fd00:1::2", "fd00:2::5");
	udp(f, 1, 2, 8), finish(f);
	for (int n = 7; n <= 12; n += 5) {
		f = nb(n == 7 ? "v6 7 extension headers" : "v6 12 extension headers");
		ETH(f, 0x86dd), ipv6(f, 0, "fd00:1::2", "fd00:2::5");
		for (int i = 0; i < n; i++)
			ext(f, i == n - 1 ? 17 : 60, 0);
		udp(f, 1, 2, 4), finish(f);
	}
	f = nb("v6 seven headers, the seventh a later fragment");
	ETH(f, 0x86dd), ipv6(f, 0, "fd00:1::2", "fd00:2::5");
	for (int i = 0; i < 6; i++)
		ext(f, i == 5 ? 44 : 60, 0);
	frag6(f, 17, 9, 0), fill(f, 'f', 8), finish(f);
	f = nb("v6 extension header longer than the frame");
	ETH(f, 0x86dd), ipv6(f, 60, "fd00:1::2", "fd00:2::5");
	ext(f, 17, 0), udp(f, 1, 2, 4), finish(f);
	f->b[f->l3 + 41] = 200;
	for (int doff = 0; doff < 5; doff++) {
		f = nb("tcp data offset below 5");
		ETH(f, 0x0800), ipv4(f, 6, "10.1.0.2", "10.2.0.5", 5, 0);
		tcp(f, 1, 2, doff, 0x02, "abcdefgh"), finish(f);
	}
	f = nb("v6 tcp data offset 2");
	ETH(f, 0x86dd), ipv6(f, 6, "fd00:1::2", "fd00:3::7");
	tcp(f, 1, 2, 2, 0x02, NULL), finish(f);
	f = nb("tcp data offset beyond the frame");
	ETH(f, 0x0800), ipv4(f, 6, "10.1.0.2", "10.2.0.5", 5, 0);
	tcp(f, 1, 2, 5, 0x02, NULL), finish(f);
	f->b[f->l4 + 12] = 0xf0;
	f = nb("802.1Q with a truncated tag");
	eth(f, dot1q, 1, 0x0800);
	f->len -= 3;
	f = nb("ethertype 802.3 length");
	ETH(f, 0x0040), fill(f, 0xaa, 64);
}

/* Frames that found bugs: kept whole, in every run. */
static void regressions(void)
{
	struct bld f = { 0 };

	/* A later IPv6 fragment whose next header names a destination-options header: the
	 * parser read the fragment's payload as that header (length byte 'x' = 968 bytes)
	 * and put a valid frame in `unparsed` (TRUNC_L3). */
	ETH(&f, 0x86dd), ipv6(&f, 44, "fd00:1::2", "2001:db8::1");
	frag6(&f, 60, 3, 0), fill(&f, 'x', 40), finish(&f);
	add_frame(f.b, f.len, -1);
	/* The same behind a hop-by-hop header, the fragment's next header hop-by-hop: the
	 * payload (0 0, then 0xff...) was walked as two more headers, the second 2 KiB long. */
	memset(&f, 0, sizeof(f));
	ETH(&f, 0x86dd), ipv6(&f, 0, "fd00:1::9", "2001:db8::2");
	ext(&f, 44, 0), frag6(&f, 0, 100, 1), fill(&f, 0, 2), fill(&f, 0xff, 30), finish(&f);
	add_frame(f.b, f.len, -1);
}

static uint64_t rng = SEED;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void mutants(void)
{
	static const uint8_t interesting[] = { 0x00, 0x01, 0x05, 0x06, 0x11, 0x2b, 0x2c, 0x3a,
					       0x3c, 0x40, 0x45, 0x4f, 0x60, 0x81, 0x88, 0xff };
	uint8_t b[MAXF];

	for (int i = 0; i < N_MUTANTS; i++) {
		int base = (int)(rnd() % (uint64_t)n_bases);
		const struct bld *f = &bases[base];
		size_t len = f->len;
		int n = 1 + (int)(rnd() % 4);

		memcpy(b, f->b, len);
		for (int k = 0; k < n; k++) {
			size_t at;

			switch (rnd() % 6) {
			case 0: /* a byte of the headers, random */
				at = rnd() % (f->l4 + 24 < len ? f->l4 + 24 : len ? len : 1);
				if (at < len)
					b[at] = (uint8_t)rnd();
				break;
			case 1: /* a bit flip anywhere */
				if (len) {
					at = rnd() % len;
					b[at] ^= (uint8_t)(1u << (rnd() % 8));
				}
				break;
			case 2: /* a header byte to a value parsers care about */
				at = rnd() % (f->l4 + 16 < len ? f->l4 + 16 : len ? len : 1);
				if (at < len)
					b[at] = interesting[rnd() % sizeof(interesting)];
				break;
			case 3: /* cut */
				len = len ? rnd() % (len + 1) : 0;
				break;
			case 4: /* random bytes appended */
				for (size_t m = rnd() % 48; m-- && len < MAXF;)
					b[len++] = (uint8_t)rnd();
				break;
			case 5: /* the EtherType or the first IP byte, swapped */
				if (len >= 14)
					b[12] = rnd() & 1 ? 0x86 : 0x08,
					b[13] = rnd() & 1 ? 0xdd : 0x00;
				break;
			}
		}
		add_frame(b, len, base);
	}
}

static size_t truncations;

static void build_corpus(void)
{
	templates();
	malformed();
	for (int i = 0; i < n_bases; i++)
		for (size_t len = 0; len <= bases[i].len; len++)
			add_frame(bases[i].b, len, i);
	truncations = n_corpus;
	regressions();
	mutants();
}

/* ---- running ---- */

static struct tg_datapath *dp;
static const struct tg_maps *m;
static int ncpu;

struct snap {
	struct tg_tenant_stats *cells; /* top * TG_MAX_CLASSES */
	struct tg_counter *drops;      /* top * TG_REASON_SLOTS */
	struct tg_counter unparsed[TG_UNPARSED_MAX];
	uint64_t stats[TG_STAT_MAX];
};

static int snap_alloc(struct snap *s)
{
	s->cells = calloc((size_t)top * TG_MAX_CLASSES, sizeof(*s->cells));
	s->drops = calloc((size_t)top * TG_REASON_SLOTS, sizeof(*s->drops));
	return s->cells && s->drops ? 0 : -ENOMEM;
}

static void snap_free(struct snap *s)
{
	free(s->cells);
	free(s->drops);
}

/* A small per-CPU array of n values of size bytes, summed over CPUs as __u64 words, in
 * one batch read (the agent's readers look them up key by key: 23 calls a frame). */
static int read_percpu_small(int fd, uint32_t n, size_t size, uint64_t *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t keys[32], count = n, batch;
	static uint64_t vals[32 * 2 * 64];
	size_t words = size / 8;
	int err;

	if (n > 32 || (size_t)ncpu * n * words > sizeof(vals) / 8)
		return -E2BIG;
	err = bpf_map_lookup_batch(fd, NULL, &batch, keys, vals, &count, &opts);
	if ((err && errno != ENOENT) || count != n)
		return err ? -errno : -EIO;
	memset(out, 0, n * size);
	for (uint32_t i = 0; i < count; i++)
		for (int c = 0; c < ncpu; c++)
			for (size_t w = 0; w < words; w++)
				out[keys[i] * words + w] +=
					vals[((size_t)i * ncpu + c) * words + w];
	return 0;
}

static int snap_read(struct snap *s)
{
	int err = tg_maps_read_cells(m, s->cells, top);

	if (!err)
		err = tg_maps_read_drops(m, s->drops, top);
	if (!err)
		err = read_percpu_small(m->unparsed, TG_UNPARSED_MAX, sizeof(struct tg_counter),
					(uint64_t *)s->unparsed);
	if (!err)
		err = read_percpu_small(m->stats, TG_STAT_MAX, sizeof(uint64_t), s->stats);
	return err;
}

/* What moved between two snapshots. */
struct moved {
	int cells, drops;	      /* cells that moved */
	uint32_t tenant, cls, reason; /* the last one that did */
	int dir;
	uint64_t packets, bytes; /* its delta */
	bool odd;		 /* a cell moved by anything but one frame of len bytes */
	int unparsed_cells;
	int unparsed_reason;
	uint64_t unparsed_packets, unparsed_bytes;
	uint64_t stat_unparsed_packets, stat_unparsed_bytes;
	uint64_t stat_unattributed_packets, stat_unattributed_bytes, stat_flows_lost;
};

static void diff(const struct snap *a, const struct snap *b, size_t len, struct moved *mv)
{
	memset(mv, 0, sizeof(*mv));
	for (uint32_t c = 0; c < top * TG_MAX_CLASSES; c++) {
		for (int d = 0; d < TG_DIR_MAX; d++) {
			uint64_t dp_ = b->cells[c].dir[d].packets - a->cells[c].dir[d].packets;
			uint64_t db = b->cells[c].dir[d].bytes - a->cells[c].dir[d].bytes;

			if (!dp_ && !db)
				continue;
			mv->cells++;
			mv->tenant = c / TG_MAX_CLASSES;
			mv->cls = c % TG_MAX_CLASSES;
			mv->dir = d;
			mv->packets = dp_;
			mv->bytes = db;
			mv->odd |= dp_ != 1 || db != len;
		}
	}
	for (uint32_t c = 0; c < top * TG_REASON_SLOTS; c++) {
		uint64_t dp_ = b->drops[c].packets - a->drops[c].packets;
		uint64_t db = b->drops[c].bytes - a->drops[c].bytes;

		if (!dp_ && !db)
			continue;
		mv->drops++;
		mv->tenant = c / TG_REASON_SLOTS;
		mv->reason = c % TG_REASON_SLOTS;
		mv->packets = dp_;
		mv->bytes = db;
		mv->odd |= dp_ != 1 || db != len;
	}
	for (int r = 0; r < TG_UNPARSED_MAX; r++) {
		uint64_t dp_ = b->unparsed[r].packets - a->unparsed[r].packets;
		uint64_t db = b->unparsed[r].bytes - a->unparsed[r].bytes;

		if (!dp_ && !db)
			continue;
		mv->unparsed_cells++;
		mv->unparsed_reason = r;
		mv->unparsed_packets = dp_;
		mv->unparsed_bytes = db;
	}
#define D(i) (b->stats[i] - a->stats[i])
	mv->stat_unparsed_packets = D(TG_STAT_UNPARSED_PACKETS);
	mv->stat_unparsed_bytes = D(TG_STAT_UNPARSED_BYTES);
	mv->stat_unattributed_packets = D(TG_STAT_UNATTRIBUTED_PACKETS);
	mv->stat_unattributed_bytes = D(TG_STAT_UNATTRIBUTED_BYTES);
	mv->stat_flows_lost = D(TG_STAT_FLOWS_LOST);
#undef D
}

static int run(const struct prog *p, const uint8_t *b, size_t len, int *retval)
{
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = b, .data_size_in = (uint32_t)len);

	if (p->skb) {
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(p->fd, &opts))
		return -errno;
	*retval = (int)opts.retval;
	return 0;
}

static bool verdict_defined(const struct prog *p, int v, bool *drop)
{
	*drop = false;
	switch (p->kind) {
	case K_CGROUP:
		*drop = v == CG_DROP || v == CG_DROP_CN;
		return v == CG_PASS || *drop;
	default:
		if (p->skb) {
			*drop = v == TC_SHOT;
			return v == TC_UNSPEC || *drop;
		}
		/* XDP: no cookies and no honeypot are configured, so no TX or REDIRECT */
		*drop = v == XDP_DROP;
		return v == XDP_PASS || *drop;
	}
}

/* Per program: what the corpus did, and what went wrong. */
struct tally {
	size_t runs, refused, billed, dropped, passed, sig_drops;
	uint64_t sent_packets, sent_bytes, counted_bytes; /* counted: billed or dropped */
	uint64_t parsed_packets, parsed_bytes;		  /* billed as parsed */
	uint64_t unparsed_by_reason[TG_UNPARSED_MAX];
	size_t bad_verdict, bad_run, bad_bucket, bad_unparsed, bad_regression;
	int diags;
};

static void hexdump(const uint8_t *b, size_t len)
{
	char line[3 * 32 + 1];

	for (size_t i = 0; i < len; i += 32) {
		size_t n = len - i < 32 ? len - i : 32;

		for (size_t k = 0; k < n; k++)
			snprintf(line + 3 * k, 4, "%02x ", b[i + k]);
		tap_diag("  %04zx: %s", i, line);
	}
}

static void explain(struct tally *t, const struct prog *p, const struct cframe *c, const char *what)
{
	if (t->diags++ >= MAX_DIAG)
		return;
	tap_diag("%s: %s; frame of %u bytes from '%s':", p->name, what, c->len,
		 c->base >= 0 ? base_names[c->base] : "the regression list");
	hexdump(c->b, c->len);
}

/* The checks of one frame on one program. Returns false when something failed (already
 * counted and explained). */
static bool check_frame(const struct prog *p, const struct cframe *c, struct snap *before,
			struct snap *after, struct tally *t)
{
	char why[256];
	struct want w;
	struct moved mv;
	int ret = 0, err;
	bool drop, ok = true;

	predict(p, c->b, c->len, &w);
	err = run(p, c->b, c->len, &ret);
	t->runs++;
	if (snap_read(after)) {
		explain(t, p, c, "cannot read the counters");
		t->bad_run++;
		return false;
	}
	diff(before, after, c->len, &mv);
	if (w.fate == F_REFUSED) {
		t->refused++;
		if (err != -EINVAL || mv.cells || mv.drops || mv.unparsed_cells) {
			snprintf(why, sizeof(why), "want the test run refused (EINVAL), got %d",
				 err);
			explain(t, p, c, why);
			t->bad_run++;
			return false;
		}
		return true;
	}
	if (err) {
		snprintf(why, sizeof(why), "the test run failed: %s", strerror(-err));
		explain(t, p, c, why);
		t->bad_run++;
		return false;
	}
	t->sent_packets++;
	t->sent_bytes += c->len;
	if (!verdict_defined(p, ret, &drop)) {
		snprintf(why, sizeof(why), "verdict %d is outside the program's set", ret);
		explain(t, p, c, why);
		t->bad_verdict++;
		return false;
	}

	/* Exactly one bucket: one billing cell, or one drop cell, or (cgroup pass) none. */
	if (mv.odd || mv.cells + mv.drops > 1 || (drop && (mv.drops != 1 || mv.cells)) ||
	    (!drop && mv.drops) || (!drop && p->kind != K_CGROUP && mv.cells != 1) ||
	    (p->kind == K_CGROUP && mv.cells)) {
		snprintf(why, sizeof(why),
			 "verdict %d moved %d billing and %d drop cells (last: tenant %u, +%llu "
			 "packets, +%llu bytes)",
			 ret, mv.cells, mv.drops, mv.tenant, (unsigned long long)mv.packets,
			 (unsigned long long)mv.bytes);
		explain(t, p, c, why);
		t->bad_bucket++;
		return false;
	}

	/* The bucket the configuration and the reference parser predict. */
	if (drop) {
		bool sig = w.sig_possible &&
			   (mv.reason == TG_REASON_SQLI || mv.reason == TG_REASON_TRAVERSAL) &&
			   mv.tenant == w.sig_tenant;

		t->dropped++;
		t->counted_bytes += c->len;
		t->sig_drops += sig;
		ok = sig || (w.fate == F_DROPPED && mv.tenant == w.tenant && mv.reason == w.reason);
	} else if (p->kind == K_CGROUP) {
		t->passed++;
		ok = w.fate == F_PASSED;
	} else {
		t->billed++;
		t->counted_bytes += c->len;
		ok = w.fate == F_BILLED && mv.tenant == w.tenant && mv.cls == w.cls &&
		     mv.dir == w.dir;
	}
	if (!ok) {
		snprintf(why, sizeof(why),
			 "verdict %d into tenant %u class %u dir %d reason %u; want fate %d tenant "
			 "%u class %u dir %d reason %u",
			 ret, mv.tenant, mv.cls, mv.dir, mv.reason, w.fate, w.tenant, w.cls, w.dir,
			 w.reason);
		explain(t, p, c, why);
		t->bad_bucket++;
		return false;
	}

	/* Unparsed: the oracle's reason, once, at the wire size; never for a frame the
	 * reference parser reads, nor for frames not billed (drops, cgroup). */
	if (!drop && p->kind != K_CGROUP && w.unparsed) {
		ok = mv.unparsed_cells == 1 && mv.unparsed_reason == w.unparsed &&
		     mv.unparsed_packets == 1 && mv.unparsed_bytes == c->len &&
		     mv.stat_unparsed_packets == 1 && mv.stat_unparsed_bytes == c->len &&
		     mv.cls == TG_CLASS_INTERNET;
		t->unparsed_by_reason[w.unparsed]++;
	} else {
		ok = !mv.unparsed_cells && !mv.stat_unparsed_packets && !mv.stat_unparsed_bytes;
		if (!drop && p->kind != K_CGROUP) {
			t->parsed_packets++;
			t->parsed_bytes += c->len;
		}
	}
	if (ok && !drop && p->kind != K_CGROUP)
		ok = mv.stat_unattributed_packets == (mv.tenant == 0) &&
		     mv.stat_unattributed_bytes == (mv.tenant == 0 ? c->len : 0);
	if (!ok) {
		snprintf(why, sizeof(why),
			 "unparsed: %d reasons moved (last %d, +%llu/+%llu), stats +%llu/+%llu; "
			 "want reason %d",
			 mv.unparsed_cells, mv.unparsed_reason,
			 (unsigned long long)mv.unparsed_packets,
			 (unsigned long long)mv.unparsed_bytes,
			 (unsigned long long)mv.stat_unparsed_packets,
			 (unsigned long long)mv.stat_unparsed_bytes, w.unparsed);
		explain(t, p, c, why);
		t->bad_unparsed++;
		return false;
	}
	if (c->base < 0 && (drop || w.unparsed)) {
		explain(t, p, c, "a frame of the regression list was not billed as parsed");
		t->bad_regression++;
		return false;
	}
	return true;
}

/* The flow table: entries summed over CPUs. */
static int flow_totals(uint64_t *packets, uint64_t *bytes, size_t *entries)
{
	struct tg_flow_entry *fl = NULL;
	size_t n = 0;
	int err = tg_flows_read(m->flows, TG_FLOW_READ_AUTO, &fl, &n);

	*packets = *bytes = 0;
	for (size_t i = 0; !err && i < n; i++) {
		*packets += fl[i].val.packets;
		*bytes += fl[i].val.bytes;
	}
	*entries = n;
	free(fl);
	return err;
}

static void flows_clear(void)
{
	struct tg_flow_key k;

	/* the first key, deleted, until there is none */
	while (bpf_map_get_next_key(m->flows, NULL, &k) == 0)
		bpf_map_delete_elem(m->flows, &k);
}

static void sum_cells(const struct snap *s, uint64_t *packets, uint64_t *bytes)
{
	*packets = *bytes = 0;
	for (uint32_t c = 0; c < top * TG_MAX_CLASSES; c++) {
		for (int d = 0; d < TG_DIR_MAX; d++) {
			*packets += s->cells[c].dir[d].packets;
			*bytes += s->cells[c].dir[d].bytes;
		}
	}
	for (uint32_t c = 0; c < top * TG_REASON_SLOTS; c++) {
		*packets += s->drops[c].packets;
		*bytes += s->drops[c].bytes;
	}
}

static void set_iface(enum kind kind, int xdp)
{
	struct tg_iface ifc = { .role = TG_ROLE_TENANT, .tenant_id = acme, .name = "test-run" };
	uint32_t key = 1; /* test runs execute on the loopback device */

	if (kind == K_TAP) {
		tap_check(tg_datapath_set_tap(dp) == 0, "interface: a capture point (replay's)");
		return;
	}
	if (kind == K_UPLINK) {
		ifc.role = TG_ROLE_UPLINK;
		ifc.tenant_id = 0;
		ifc.flags = xdp ? TG_IFACE_XDP_METERS : 0; /* native XDP bills the uplink */
	}
	tap_check(bpf_map_update_elem(m->ifaces, &key, &ifc, BPF_ANY) == 0, "interface: %s%s",
		  kind == K_UPLINK ? "an uplink" : "acme's own link",
		  kind == K_UPLINK ? (xdp ? ", billed by XDP" : ", billed by tc") : "");
}

static void run_prog(const struct prog *p)
{
	struct snap s[2];
	struct tally t = { 0 };
	uint64_t p0, b0, p1, b1, fp0, fb0, fp1, fb1;
	size_t entries = 0, regressions_seen = 0;
	int cur = 0;

	if (snap_alloc(&s[0]) || snap_alloc(&s[1]) || snap_read(&s[0])) {
		tap_check(0, "%s: cannot read the counters", p->name);
		goto out;
	}
	flows_clear();
	flow_totals(&fp0, &fb0, &entries);
	sum_cells(&s[0], &p0, &b0);
	for (size_t i = 0; i < n_corpus; i++) {
		if (!check_frame(p, &corpus[i], &s[cur], &s[!cur], &t)) {
			/* resynchronise: the next frame starts from what is there now */
			snap_read(&s[!cur]);
		}
		regressions_seen += corpus[i].base < 0;
		cur = !cur;
	}
	sum_cells(&s[cur], &p1, &b1);
	flow_totals(&fp1, &fb1, &entries);

	tap_diag("%s: %zu runs: %zu refused by the kernel, %zu billed (%llu parsed), %zu "
		 "dropped (%zu by a signature), %zu passed unbilled",
		 p->name, t.runs, t.refused, t.billed, (unsigned long long)t.parsed_packets,
		 t.dropped, t.sig_drops, t.passed);
	tap_diag("%s: unparsed by reason: trunc_l2 %llu, not_ip %llu, trunc_l3 %llu, bad_l3 "
		 "%llu, ext_limit %llu, trunc_l4 %llu, bad_l4 %llu",
		 p->name, (unsigned long long)t.unparsed_by_reason[1],
		 (unsigned long long)t.unparsed_by_reason[2],
		 (unsigned long long)t.unparsed_by_reason[3],
		 (unsigned long long)t.unparsed_by_reason[4],
		 (unsigned long long)t.unparsed_by_reason[5],
		 (unsigned long long)t.unparsed_by_reason[6],
		 (unsigned long long)t.unparsed_by_reason[7]);
	tap_check(t.bad_run == 0,
		  "%s: every run accepted by the kernel ran, the rest were refused "
		  "(EINVAL) with nothing counted (%zu wrong)",
		  p->name, t.bad_run);
	tap_check(t.bad_verdict == 0, "%s: every verdict is one of the program's (%zu outside)",
		  p->name, t.bad_verdict);
	tap_check(t.bad_bucket == 0,
		  "%s: every frame in exactly one bucket, the predicted one, at its wire size (%zu "
		  "wrong)",
		  p->name, t.bad_bucket);
	tap_check(t.bad_unparsed == 0,
		  "%s: unparsed frames counted once under the reference parser's reason, class "
		  "internet; parsed ones never (%zu wrong)",
		  p->name, t.bad_unparsed);
	tap_check(regressions_seen == N_REGRESSIONS && t.bad_regression == 0,
		  "%s: the regression frames are read as valid (%zu wrong)", p->name,
		  t.bad_regression);
	/* Conservation over the whole corpus, from the maps alone. */
	tap_equal_u64(p1 - p0, t.billed + t.dropped,
		      "%s: frames: billing and drop cells grew by the frames billed or dropped",
		      p->name);
	tap_equal_u64(t.billed + t.dropped + t.passed, t.sent_packets,
		      "%s: frames: billed + dropped + passed = sent (%llu)", p->name,
		      (unsigned long long)t.sent_packets);
	tap_equal_u64(b1 - b0, t.counted_bytes,
		      "%s: bytes: the cells grew by the wire size of every frame billed or dropped",
		      p->name);
	if (p->kind != K_CGROUP)
		tap_equal_u64(t.counted_bytes, t.sent_bytes,
			      "%s: bytes: billed + dropped = sent (%llu)", p->name,
			      (unsigned long long)t.sent_bytes);
	if (p->kind != K_CGROUP && !p->skb) {
		/* XDP takes every frame from 14 bytes: the corpus must reach every reason */
		int missing = 0;

		for (int r = 1; r < TG_UNPARSED_MAX; r++)
			missing += !t.unparsed_by_reason[r];
		tap_check(!missing, "%s: the corpus reaches every unparsed reason (%d missing)",
			  p->name, missing);
	}
	if (p->kind != K_CGROUP) {
		tap_equal_u64(fp1 - fp0, t.parsed_packets,
			      "%s: flows hold exactly the frames billed as parsed (%zu entries)",
			      p->name, entries);
		tap_equal_u64(fb1 - fb0, t.parsed_bytes, "%s: and their bytes", p->name);
	}
out:
	snap_free(&s[0]);
	snap_free(&s[1]);
}

/* ---- cgroup ---- */

static char cg_mnt[256], cg_dir[320], cg_home[800];

static int enter_cgroup(void)
{
	char line[512], procs[352];
	FILE *f;
	int err;

	if (tg_cgroup2_mount(cg_mnt, sizeof(cg_mnt)))
		return -ENOENT;
	snprintf(cg_home, sizeof(cg_home), "%s/cgroup.procs", cg_mnt);
	f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(cg_home, sizeof(cg_home), "%s%s/cgroup.procs", cg_mnt,
				 strcmp(line + 3, "/") ? line + 3 : "");
		}
	}
	if (f)
		fclose(f);
	snprintf(cg_dir, sizeof(cg_dir), "%s" CGROUP_FMT, cg_mnt, getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg_dir);
	if (mkdir(cg_dir, 0755))
		return -errno;
	f = fopen(procs, "w");
	err = !f || fprintf(f, "%d\n", getpid()) < 0;
	if (f && fclose(f))
		err = 1;
	return err ? -EIO : 0;
}

static void leave_cgroup(void)
{
	FILE *f = fopen(cg_home, "w");

	if (f) {
		fprintf(f, "%d\n", getpid());
		fclose(f);
	}
	if (cg_dir[0] && rmdir(cg_dir))
		tap_diag("cannot remove %s: %s", cg_dir, strerror(errno));
}

int main(void)
{
	struct tg_datapath_opts o = { .flow_capacity = 1 << 16 };
	struct tg_diags diags = {};
	int err, cg;

	tg_libbpf_quiet();
	ncpu = libbpf_num_possible_cpus();
	if (!tap_check(ncpu > 0 && ncpu <= 64, "%d possible CPUs", ncpu))
		return tap_done();
	make_yaml();
	make_prefixes();
	build_corpus();
	printf("# corpus: %zu frames: %d base frames (templates and malformed ones) cut at every "
	       "offset (%zu frames), %d regression frames, %d random mutations (seed %#llx)\n",
	       n_corpus, n_bases, truncations, N_REGRESSIONS, N_MUTANTS, (unsigned long long)SEED);
	tap_check(n_corpus > 5000, "corpus generated: %zu frames", n_corpus);

	cg = enter_cgroup();
	if (!tap_check(cg == 0, "a cgroup of the test's own for the cgroup_skb programs: %s",
		       cg ? strerror(-cg) : cg_dir)) {
		cg_dir[0] = '\0';
		return tap_done();
	}
	err = tg_config_parse("malformed.yaml", yaml, strlen(yaml), &cfg, &diags);
	if (!tap_check(err == 0, "configuration parses")) {
		tg_diags_print(&diags, "malformed.yaml", stderr);
		goto out;
	}
	err = tg_datapath_load(NULL, &o, &dp);
	if (!tap_check(err == 0, "datapath loads with private maps: %s", strerror(-err)))
		goto out;
	m = tg_datapath_maps(dp);
	err = tg_apply(m, &cfg, &ap);
	if (!err)
		err = tg_policy_apply(m, &cfg, &ap);
	if (!err)
		err = tg_denylist_apply(m, &cfg, &ap);
	if (!err)
		err = tg_guard_apply(m, &cfg, &ap, true);
	if (!err)
		err = tg_cgroups_apply(dp, &cfg, &ap);
	if (!tap_check(err == 0, "tenants, classes, policy, deny lists, guard and cgroup applied "
				 "by the agent's code"))
		goto close;
	acme = ap.tenant_ids[0];
	globex = ap.tenant_ids[1];
	initech = ap.tenant_ids[2];
	cls_private = ap.class_ids[0];
	cls_peering = ap.class_ids[1];
	top = tg_meta_top(ap.meta);
	tap_diag("tenant ids: acme %u, globex %u, initech %u; class ids: private %u, peering %u",
		 acme, globex, initech, cls_private, cls_peering);

	{
		const struct prog progs[] = {
			{ "tc ingress, acme's link", tg_datapath_prog_fd(dp, TG_PROG_TC_INGRESS),
			  true, K_TENANT, 1, 0 },
			{ "tc egress, acme's link", tg_datapath_prog_fd(dp, TG_PROG_TC_EGRESS),
			  true, K_TENANT, 0, 0 },
			{ "tc ingress, uplink", tg_datapath_prog_fd(dp, TG_PROG_TC_INGRESS), true,
			  K_UPLINK, 1, 0 },
			{ "tc egress, uplink", tg_datapath_prog_fd(dp, TG_PROG_TC_EGRESS), true,
			  K_UPLINK, 0, 0 },
			{ "xdp tg_uplink, uplink", tg_datapath_prog_fd(dp, TG_PROG_XDP), false,
			  K_UPLINK, 1, 1 },
			{ "xdp tg_stage_sig, uplink", tg_datapath_prog_fd(dp, TG_PROG_XDP_SIG),
			  false, K_UPLINK, 1, 2 },
			{ "tc ingress, capture", tg_datapath_prog_fd(dp, TG_PROG_TC_INGRESS), true,
			  K_TAP, 1, 0 },
			{ "tc egress, capture", tg_datapath_prog_fd(dp, TG_PROG_TC_EGRESS), true,
			  K_TAP, 0, 0 },
			{ "xdp tg_uplink, capture", tg_datapath_prog_fd(dp, TG_PROG_XDP), false,
			  K_TAP, 1, 1 },
			{ "xdp tg_stage_sig, capture", tg_datapath_prog_fd(dp, TG_PROG_XDP_SIG),
			  false, K_TAP, 1, 2 },
			{ "cgroup_skb egress, acme's cgroup",
			  tg_datapath_cgroup_prog(dp, TG_CG_SKB_EGRESS, NULL), true, K_CGROUP, 0,
			  0 },
			{ "cgroup_skb ingress, acme's cgroup",
			  tg_datapath_cgroup_prog(dp, TG_CG_SKB_INGRESS, NULL), true, K_CGROUP, 1,
			  0 },
		};

		for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
			if (!tap_check(progs[i].fd >= 0, "%s: program loaded", progs[i].name))
				continue;
			if (progs[i].kind != K_CGROUP)
				set_iface(progs[i].kind, !progs[i].skb);
			run_prog(&progs[i]);
		}
	}
	tap_check(tg_cgroups_detach_all(m) == 0, "cgroup programs detached");
close:
	tg_applied_free(&ap);
	tg_datapath_close(dp);
out:
	leave_cgroup();
	tg_config_free(&cfg);
	tg_diags_free(&diags);
	for (size_t i = 0; i < n_corpus; i++)
		free(corpus[i].b);
	free(corpus);
	return tap_done();
}
