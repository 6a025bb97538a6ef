/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The uplink guard (docs/guard.md): XDP on the uplink judges every arriving frame before
 * the stack spends anything on it. In order:
 *
 *	honeypot flows	a flow once sent to the honeypot goes on going there
 *	source sets	allowlist, blocklist, honeypot sources and protocol/port rules,
 *			scoped to the destination's tenant or to every destination (LPM)
 *	bans		tollgate block, and the SYN-flood guard's own (LPM, with expiry)
 *	source rates	packets and bits per second per source prefix (GCRA, lock-free)
 *	SYN flood	all SYNs against a threshold; during a flood, a SYN from a source
 *			not validated is dropped, or answered with a cookie SYN-ACK
 *	signatures	HTTP requests to configured ports, in a stage reached by tail call
 *
 * What passes is metered like every other frame (lib/meter.h). A dropped frame is not
 * billed; it is counted in tg_drops against the tenant owning its destination, by reason.
 */
#ifndef TG_GUARD_BPF_H
#define TG_GUARD_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/maps.h"
#include "lib/meter.h"
#include "lib/sig.h"

#define TG_TCP_FIN 0x01
#define TG_TCP_SYN 0x02
#define TG_TCP_RST 0x04
#define TG_TCP_ACK 0x10

/* Per-source event budget: a burst of TG_GEV_BURST events, then one a second; and at most
 * TG_GEV_GLOBAL_RATE a second per reason over all sources (a spoofed flood has a new
 * source every packet). */
#define TG_GEV_BURST 8
#define TG_GEV_GLOBAL_RATE 100

/* The optional stages, reached by tail call; filled in by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, TG_STAGE_MAX);
	__type(key, __u32);
	__type(value, __u32);
} tg_stages SEC(".maps");

/* Scratch for the signature stage: the first bytes of the payload. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[TG_SIG_SCAN]);
} tg_sig_buf SEC(".maps");

/* Per-source rates at high rates: each CPU takes up to TG_SRC_BATCH packets (and their
 * bytes) from a source's shared bucket at once, in one compare-and-swap, and spends them
 * from a slot of its own, so most packets of a fast source touch neither the shared
 * table nor a contended cache line. A batch is never more than TG_SRC_BATCH_NS of the
 * configured rate, and never more than conforms at the moment it is taken, so a source
 * gets at most that much less than its rate per CPU (tokens left in a slot that is
 * reused), never more; below TG_SRC_BATCH packets per TG_SRC_BATCH_NS of rate every
 * packet is judged alone, exactly. Direct-mapped by a hash of the source. */
#define TG_SRC_BATCH 16
#define TG_SRC_BATCH_NS 1000000ull /* 1 ms */
#define TG_SRC_SLOTS 1024
struct tg_src_slot {
	struct tg_src_key key;
	__u32 packets; /* left in the batch */
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_SRC_SLOTS);
	__type(key, __u32);
	__type(value, struct tg_src_slot);
} tg_src_slots SEC(".maps");

/* Global per-reason event budget (tat of a GCRA at TG_GEV_GLOBAL_RATE). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_REASON_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} tg_guard_evglobal SEC(".maps");

/* Everything a stage knows about the frame. */
struct tg_gctx {
	struct xdp_md *ctx;
	const struct tg_guard_conf *conf;
	struct tg_pkt p;
	__u64 bytes;
	__u64 now;	   /* read once, when a stage first needs it (tg_gnow) */
	__u32 tenant;	   /* owner of the destination address (0 = none) */
	bool tenant_known; /* tenant was looked up */
	int err;	   /* the parser's result */
};

/* The frame's time: read once, and only when a stage needs it, from the kernel's coarse
 * clock (a tick: 1 to 4 ms; a TSC read costs more than a map lookup on some hosts), so
 * a burst shorter than a tick acts as one tick. */
static __always_inline __u64 tg_gnow(struct tg_gctx *g)
{
	if (!g->now)
		g->now = tg_now();
	return g->now;
}

/* The owner of the destination address, which the meter reuses. */
static __always_inline void tg_gctx_tenant(struct tg_gctx *g)
{
	g->tenant = tg_lpm_lookup(&tg_lpm4, &tg_lpm6, g->p.family, g->p.dst);
	if (g->tenant >= TG_MAX_TENANTS)
		g->tenant = TG_TENANT_UNATTRIBUTED;
	g->tenant_known = true;
}

/* One GCRA step on *tat without a lock: true when units conform (and are charged).
 * Two CPUs racing on one source lose at most one update, so a limit may let a packet
 * more through; it never blocks. */
static __always_inline bool tg_gcra_cas(__u64 *tat, const struct tg_rate *r, __u64 units, __u64 now)
{
	__u64 cost = tg_rate_cost(r, units), old, t;

	if (!r->scale)
		return true; /* no limit of this kind */
#pragma unroll
	for (int i = 0; i < 4; i++) {
		old = *(volatile __u64 *)tat;
		t = old > now ? old : now;
		if (t - now > r->burst_ns)
			return false;
		if (__sync_val_compare_and_swap(tat, old, t + cost) == old)
			return true;
	}
	return true;
}

static __always_inline void tg_src_key_of(struct tg_src_key *k, const struct tg_pkt *p,
					  __u32 prefix4, __u32 prefix6)
{
	k->family = p->family;
	if (p->family == 4) {
		__u32 a;

		__builtin_memcpy(&a, p->src, 4);
		if (prefix4 < 32)
			a &= bpf_htonl(prefix4 ? ~0u << (32 - prefix4) : 0);
		__builtin_memcpy(k->addr, &a, 4);
		return;
	}
	__builtin_memcpy(k->addr, p->src, 16);
#pragma unroll
	for (int i = 0; i < 16; i++) {
		__u32 bits = i * 8;

		if (prefix6 <= bits)
			k->addr[i] = 0;
		else if (prefix6 < bits + 8)
			k->addr[i] &= (__u8)(0xff << (bits + 8 - prefix6));
	}
}

/* Admits a guard event for (source, reason): a small burst per source, then one a
 * second, and a global budget per reason. Returns the count it stands for, 0 to stay
 * silent (the suppressed one is added to the source's next event). */
static __always_inline __u32 tg_guard_ev_admit(struct tg_gctx *g, __u32 reason)
{
	static const struct tg_rate per_src = { .scale = 1000000000ull << TG_RATE_SHIFT,
						.burst_ns = (TG_GEV_BURST - 1) * 1000000000ull };
	static const struct tg_rate global = { .scale = (1000000000ull << TG_RATE_SHIFT) /
							TG_GEV_GLOBAL_RATE,
					       .burst_ns = 1000000000ull };
	struct tg_guard_evkey k = { .family = g->p.family, .reason = reason };
	__u32 gk = reason & (TG_REASON_SLOTS - 1);
	struct tg_event_limit *l, fresh = {};
	__u64 *gt;

	__builtin_memcpy(k.src, g->p.src, 16);
	l = bpf_map_lookup_elem(&tg_guard_evlimit, &k);
	if (!l) {
		bpf_map_update_elem(&tg_guard_evlimit, &k, &fresh, BPF_NOEXIST);
		l = bpf_map_lookup_elem(&tg_guard_evlimit, &k);
		if (!l)
			return 1;
	}
	gt = bpf_map_lookup_elem(&tg_guard_evglobal, &gk);
	if (!tg_gcra_cas(&l->last_ns, &per_src, 1, tg_gnow(g)) ||
	    (gt && !tg_gcra_cas(gt, &global, 1, tg_gnow(g)))) {
		__sync_fetch_and_add(&l->suppressed, 1);
		tg_stat_add(TG_STAT_EVENTS_SUPPRESSED, 1);
		return 0;
	}
	return 1 + (__u32)__sync_lock_test_and_set(&l->suppressed, 0);
}

static __always_inline void tg_guard_event(struct tg_gctx *g, __u32 type, __u32 reason,
					   __u32 action, __u32 rule, __u32 count, __u64 value)
{
	struct tg_ev_ctx x = { .p = &g->p, .dir = TG_DIR_INGRESS };
	struct tg_event *e;

	e = tg_event_begin(type, g->tenant, reason, count, value, &x);
	if (!e)
		return;
	e->time_ns = tg_gnow(g); /* replay: the capture's time */
	e->rule = rule;
	e->action = action;
	bpf_ringbuf_submit(e, 0);
}

/* Counts what the guard did to this frame (drops, cookies and redirects; alerts are only
 * reported) and reports it, rate-limited per source. */
static __always_inline void tg_guard_acted(struct tg_gctx *g, __u32 reason, __u32 action,
					   __u32 rule)
{
	__u32 cell = g->tenant * TG_REASON_SLOTS + (reason & (TG_REASON_SLOTS - 1));
	struct tg_counter *c;
	__u32 count;

	if (action != TG_GA_ALERT) {
		c = bpf_map_lookup_elem(&tg_drops, &cell);
		if (c) {
			c->packets += 1;
			c->bytes += g->bytes;
		}
	}
	count = tg_guard_ev_admit(g, reason);
	if (count)
		tg_guard_event(g, TG_EV_GUARD, reason, action, rule, count, 0);
}

/* The verdict of a set entry for this packet: its own action, or the first rule of its
 * group whose protocol and destination port match. *rule gets the deciding rule. */
/* The first rule of group gi matching proto and port (port 0xffffffff: unknown, e.g. a
 * later fragment: port rules do not match). Returns (rule id << 8) | action, or
 * TG_GA_NONE. A global function: verified once, on its own. */
__noinline __u64 tg_group_verdict(__u32 gi, __u32 proto, __u32 port)
{
	const struct tg_guard_group *grp = bpf_map_lookup_elem(&tg_guard_groups, &gi);
	__u32 n;

	if (!grp)
		return TG_GA_NONE;
	n = grp->n;
	for (__u32 i = 0; i < TG_GUARD_GROUP_RULES && i < n; i++) {
		const struct tg_guard_rule *r = &grp->r[i];

		if (r->proto && r->proto != proto)
			continue;
		if ((r->port_lo || r->port_hi != 0xffff) &&
		    (port > 0xffff || port < r->port_lo || port > r->port_hi))
			continue;
		return ((__u64)r->rule << 8) | r->action;
	}
	return TG_GA_NONE;
}

/* The verdict of a set entry for this packet: its own action, or the first rule of its
 * group whose protocol and destination port match. *rule gets the deciding rule. */
static __always_inline __u32 tg_gset_verdict(const struct tg_gset_val *v, const struct tg_pkt *p,
					     __u32 *rule)
{
	__u32 port = 0xffffffff;
	__u64 r;

	if (!v->group) {
		*rule = v->rule;
		return v->action;
	}
	if (!p->later_frag && (p->l4_proto == IPPROTO_TCP || p->l4_proto == IPPROTO_UDP))
		port = bpf_ntohs(p->dport);
	r = tg_group_verdict(v->group, p->l4_proto, port);
	*rule = r >> 8;
	return r & 0xff;
}

/* The source sets in one scope: TG_GA_NONE when nothing there decides. */
static __always_inline __u32 tg_gset_lookup(const struct tg_pkt *p, __u32 scope, __u32 *rule)
{
	const struct tg_gset_val *v;

	if (p->family == 4) {
		struct tg_gset4_key k = { .prefixlen = 64, .scope = bpf_htonl(scope) };
		__u32 a24 = (__u32)p->src[0] << 16 | (__u32)p->src[1] << 8 | p->src[2];
		__u32 w = a24 >> 6;
		const __u64 *h = bpf_map_lookup_elem(&tg_gset4_hint, &w);

		if (h && !(*h & (1ull << (a24 & 63))))
			return TG_GA_NONE; /* no prefix anywhere in this /24 */
		__builtin_memcpy(k.addr, p->src, 4);
		v = bpf_map_lookup_elem(&tg_gset4, &k);
	} else {
		struct tg_gset6_key k = { .prefixlen = 160, .scope = bpf_htonl(scope) };

		__builtin_memcpy(k.addr, p->src, 16);
		v = bpf_map_lookup_elem(&tg_gset6, &k);
	}
	return v ? tg_gset_verdict(v, p, rule) : TG_GA_NONE;
}

static __always_inline struct tg_ban *tg_ban_lookup(const struct tg_pkt *p)
{
	__u32 zero = 0, *any = bpf_map_lookup_elem(&tg_bans_any, &zero);

	if (any && !*any)
		return NULL; /* no bans anywhere: no trie walk */
	if (p->family == 4) {
		struct tg_lpm4_key k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, p->src, 4);
		return bpf_map_lookup_elem(&tg_bans4, &k);
	} else {
		struct tg_lpm6_key k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, p->src, 16);
		return bpf_map_lookup_elem(&tg_bans6, &k);
	}
}

/* After a ban went in: the packet path must look at the tries (TG_BANS_ANY). */
static __always_inline void tg_bans_raise(void)
{
	__u32 zero = 0, *any = bpf_map_lookup_elem(&tg_bans_any, &zero);

	if (any)
		*any = 1;
}

/* Bans the packet's source address (a host prefix) for ttl_ns. */
static __always_inline void tg_ban_source(struct tg_gctx *g, __u8 origin, __u32 rule, __u64 ttl_ns)
{
	const struct tg_guard_conf *c = g->conf;
	struct tg_ban b = {
		.expires_ns = tg_gnow(g) + ttl_ns,
		.created_ns = tg_gnow(g),
		.origin = origin,
		.action = c->flags & TG_GUARD_BAN_HONEYPOT ? TG_GA_HONEYPOT : TG_GA_DROP,
		.rule = rule,
	};

	if (g->p.family == 4) {
		struct tg_lpm4_key k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, g->p.src, 4);
		bpf_map_update_elem(&tg_bans4, &k, &b, BPF_ANY);
	} else {
		struct tg_lpm6_key k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, g->p.src, 16);
		bpf_map_update_elem(&tg_bans6, &k, &b, BPF_ANY);
	}
	tg_bans_raise();
	tg_guard_event(g, TG_EV_BAN, TG_REASON_BAN, b.action, rule, 1, ttl_ns);
}

static __always_inline void tg_honey_key_of(struct tg_honey_key *k, const struct tg_pkt *p)
{
	k->family = p->family;
	k->proto = p->l4_proto;
	k->sport = p->sport;
	k->dport = p->dport;
	__builtin_memcpy(k->src, p->src, 16);
	__builtin_memcpy(k->dst, p->dst, 16);
}

/* Sends the frame to the honeypot: the next hop's MAC, the honeypot link's own as the
 * source, and the flow remembered so that it stays there. */
static __always_inline int tg_honeypot(struct tg_gctx *g, __u32 rule)
{
	void *data = (void *)(long)g->ctx->data, *data_end = (void *)(long)g->ctx->data_end;
	const struct tg_guard_conf *c = g->conf;
	struct ethhdr *eth = data;
	struct tg_honey_key k = {};
	__u64 now = tg_gnow(g);

	if (!(c->flags & TG_GUARD_HONEYPOT) || (void *)(eth + 1) > data_end)
		return XDP_DROP; /* flagged, and nowhere to send it: not to the tenant */
	tg_honey_key_of(&k, &g->p);
	bpf_map_update_elem(&tg_honey_flows, &k, &now, BPF_ANY);
	tg_guard_acted(g, TG_REASON_HONEYPOT, TG_GA_HONEYPOT, rule);
	__builtin_memcpy(eth->h_dest, c->honeypot_mac, 6);
	__builtin_memcpy(eth->h_source, c->honeypot_src_mac, 6);
	return bpf_redirect(c->honeypot_ifindex, 0);
}

static __always_inline __u16 tg_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static __always_inline __u64 tg_csum_add(__u64 sum, const void *buf, int words16)
{
	const __u16 *w = buf;

#pragma unroll
	for (int i = 0; i < 20; i++) {
		if (i >= words16)
			break;
		sum += w[i];
	}
	return sum;
}

/*
 * SYN cookies (mode cookie). A SYN of a source not validated during a flood is answered
 * from here with a SYN-ACK whose acknowledgment number is a SYN cookie made by the
 * kernel's own generator (bpf_tcp_raw_gen_syncookie_ipv4/6, keyed by the kernel's secret
 * and the 4-tuple) instead of the client's sequence number + 1. A real TCP stack finds
 * that acknowledgment wrong and answers with a reset whose sequence number is the
 * cookie (RFC 9293 3.10.7.3); that reset proves the source reads what is sent to it, so
 * the source is validated, and its SYN, retransmitted (Linux: within milliseconds), goes
 * through to the tenant's own stack with every TCP option intact. A spoofed source never
 * sees the cookie. Why not hand the connection over after a cookie ACK, as a classic
 * SYN proxy does: docs/guard.md.
 *
 * The cookie is made for the 4-tuple with sequence number 0, so the reset (which does
 * not carry the client's first sequence number) can be checked with
 * bpf_tcp_raw_check_syncookie_ipv4/6 on a header rebuilt on the stack.
 */
static __always_inline void tg_cookie_hdrs4(const struct tg_pkt *p, struct iphdr *ip,
					    struct tcphdr *th)
{
	ip->version = 4;
	ip->ihl = 5;
	ip->protocol = IPPROTO_TCP;
	__builtin_memcpy(&ip->saddr, p->src, 4);
	__builtin_memcpy(&ip->daddr, p->dst, 4);
	th->source = p->sport;
	th->dest = p->dport;
	th->doff = 5;
}

static __always_inline void tg_cookie_hdrs6(const struct tg_pkt *p, struct ipv6hdr *ip6,
					    struct tcphdr *th)
{
	ip6->version = 6;
	ip6->nexthdr = IPPROTO_TCP;
	__builtin_memcpy(&ip6->saddr, p->src, 16);
	__builtin_memcpy(&ip6->daddr, p->dst, 16);
	th->source = p->sport;
	th->dest = p->dport;
	th->doff = 5;
}

/* The cookie for the packet's 4-tuple, or -1. */
static __always_inline __s64 tg_cookie_make(const struct tg_pkt *p)
{
	struct tcphdr th = {};
	__s64 c;

	th.syn = 1;
	if (p->family == 4) {
		struct iphdr ip = {};

		tg_cookie_hdrs4(p, &ip, &th);
		c = bpf_tcp_raw_gen_syncookie_ipv4(&ip, &th, sizeof(th));
	} else {
		struct ipv6hdr ip6 = {};

		tg_cookie_hdrs6(p, &ip6, &th);
		c = bpf_tcp_raw_gen_syncookie_ipv6(&ip6, &th, sizeof(th));
	}
	return c < 0 ? -1 : (__u32)c;
}

/* Does this reset carry a cookie we made for its 4-tuple? */
static __always_inline bool tg_cookie_check(const struct tg_pkt *p, __u32 rst_seq)
{
	struct tcphdr th = {};

	th.ack = 1;
	th.seq = bpf_htonl(1);
	th.ack_seq = bpf_htonl(rst_seq + 1);
	if (p->family == 4) {
		struct iphdr ip = {};

		tg_cookie_hdrs4(p, &ip, &th);
		return bpf_tcp_raw_check_syncookie_ipv4(&ip, &th) == 0;
	} else {
		struct ipv6hdr ip6 = {};

		tg_cookie_hdrs6(p, &ip6, &th);
		return bpf_tcp_raw_check_syncookie_ipv6(&ip6, &th) == 0;
	}
}

/* Turns the SYN into the cookie SYN-ACK, in place, and returns XDP_TX; XDP_DROP when the
 * frame cannot be rewritten (IP options, IPv6 extension headers). */
static __always_inline int tg_cookie_answer(struct tg_gctx *g)
{
	const struct tg_pkt *p = &g->p;
	struct ethhdr *eth;
	struct tcphdr *th;
	void *data, *data_end;
	__u32 l3 = p->l3_off, l4 = p->l4_off, isn, tot, iplen;
	__u8 mac[6];
	__u64 sum;
	__s64 cookie;
	int delta;

	iplen = p->family == 4 ? 20 : 40;
	if (l4 != l3 + iplen || l3 > 14 + 4 * TG_MAX_VLAN)
		return XDP_DROP;
	cookie = tg_cookie_make(p);
	if (cookie < 0)
		return XDP_DROP;
	tot = l4 + 20;
	delta = (int)tot - (int)bpf_xdp_get_buff_len(g->ctx);
	if (delta && bpf_xdp_adjust_tail(g->ctx, delta))
		return XDP_DROP;

	data = (void *)(long)g->ctx->data;
	data_end = (void *)(long)g->ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(mac, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, mac, 6);

	l3 &= 0x1f; /* bounded for the verifier: at most 14 + 2 tags */
	th = data + l3 + iplen;
	if ((void *)(th + 1) > data_end)
		return XDP_DROP;
	isn = bpf_ntohl(th->seq);
	th->source = p->dport;
	th->dest = p->sport;
	th->seq = bpf_htonl(bpf_get_prandom_u32());
	/* deliberately not isn + 1: the client must answer with a reset carrying it */
	th->ack_seq = bpf_htonl((__u32)cookie == isn + 1 ? (__u32)cookie + 1 : (__u32)cookie);
	((__u8 *)th)[12] = 5 << 4; /* data offset 5, no options */
	((__u8 *)th)[13] = TG_TCP_SYN | TG_TCP_ACK;
	th->window = bpf_htons(1024);
	th->check = 0;
	th->urg_ptr = 0;

	if (p->family == 4) {
		struct iphdr *ip = data + l3;

		if ((void *)(ip + 1) > data_end)
			return XDP_DROP;
		ip->saddr ^= ip->daddr;
		ip->daddr ^= ip->saddr;
		ip->saddr ^= ip->daddr;
		ip->tot_len = bpf_htons(40);
		ip->ttl = 64;
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000); /* DF */
		ip->tos = 0;
		ip->check = 0;
		ip->check = tg_csum_fold(tg_csum_add(0, ip, 10));
		sum = tg_csum_add(0, &ip->saddr, 4);
		sum += bpf_htons(IPPROTO_TCP) + bpf_htons(20);
	} else {
		struct ipv6hdr *ip6 = data + l3;
		struct in6_addr a;

		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->payload_len = bpf_htons(20);
		ip6->hop_limit = 64;
		sum = tg_csum_add(0, &ip6->saddr, 16);
		sum += bpf_htons(IPPROTO_TCP) + bpf_htons(20);
	}
	th = data + l3 + iplen;
	if ((void *)(th + 1) > data_end)
		return XDP_DROP;
	th->check = tg_csum_fold(tg_csum_add(sum, th, 10));
	return XDP_TX;
}

static __always_inline bool tg_source_validated(struct tg_gctx *g)
{
	struct tg_src_key k = {};
	__u64 *t;

	tg_src_key_of(&k, &g->p, 32, 128);
	t = bpf_map_lookup_elem(&tg_valid, &k);
	return t && tg_gnow(g) - *t < g->conf->validated_ns;
}

/* The detector: every SYN counts against syn_rate; one that does not conform starts (or
 * prolongs) a flood. During a flood the SYNs also count against the lower syn_end_rate,
 * and one over that prolongs it too: a flood ends when SYNs have stayed under the end
 * rate for syn_hold_ns (hysteresis, so a flood that slows down does not reopen the
 * gate). Returns true while a flood is on. */
static __always_inline bool tg_syn_flood(struct tg_gctx *g)
{
	const struct tg_guard_conf *c = g->conf;
	__u64 now = tg_gnow(g), t, cost, cost_end, rate = 0;
	bool on, started = false;
	struct tg_syn_state *s;
	__u32 key = 0;

	s = bpf_map_lookup_elem(&tg_syn, &key);
	if (!s)
		return false;
	cost = tg_rate_cost(&c->syn_rate, 1);
	cost_end = tg_rate_cost(&c->syn_end_rate, 1);
	bpf_spin_lock(&s->lock);
	if (now < s->flood_until) {
		t = s->tat_end > now ? s->tat_end : now;
		if (t - now > c->syn_end_rate.burst_ns)
			s->flood_until = now + c->syn_hold_ns;
		else
			s->tat_end = t + cost_end;
	}
	if (now - s->window_start >= 1000000000ull) {
		s->window_start = now;
		s->window_syns = 0;
	}
	s->window_syns++;
	t = s->tat > now ? s->tat : now;
	if (t - now > c->syn_rate.burst_ns) {
		if (now >= s->flood_until) {
			s->flood_start = now;
			s->tat_end = now;
			s->floods++;
			started = true;
			rate = s->window_syns;
		}
		s->flood_until = now + c->syn_hold_ns;
	} else {
		s->tat = t + cost;
	}
	on = now < s->flood_until;
	bpf_spin_unlock(&s->lock);
	if (started)
		tg_guard_event(g, TG_EV_SYN_FLOOD, TG_REASON_SYN_FLOOD, TG_GA_NONE, c->rule_syn, 1,
			       rate);
	return on;
}

/* A source's bucket (created on first sight). */
static __always_inline struct tg_src_state *tg_source_of(const struct tg_src_key *k)
{
	struct tg_src_state *s, fresh = {};

	s = bpf_map_lookup_elem(&tg_sources, k);
	if (s)
		return s;
	bpf_map_update_elem(&tg_sources, k, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tg_sources, k);
}

static __always_inline struct tg_src_state *tg_source(struct tg_gctx *g)
{
	struct tg_src_key k = {};

	tg_src_key_of(&k, &g->p, g->conf->src_prefix4, g->conf->src_prefix6);
	return tg_source_of(&k);
}

/* How many units of size `units` conform at once in the bucket at *tat (0: not even
 * one), given at most want; charges them. The packet-by-packet rule: unit i conforms
 * while tat + i * cost - now <= burst. */
static __always_inline __u64 tg_gcra_take(__u64 *tat, const struct tg_rate *r, __u64 units,
					  __u64 want, __u64 now)
{
	__u64 cost, old, t, room, n;

	if (!r->scale)
		return want; /* no limit of this kind */
	cost = tg_rate_cost(r, units);
#pragma unroll
	for (int i = 0; i < 4; i++) {
		old = *(volatile __u64 *)tat;
		t = old > now ? old : now;
		if (t - now > r->burst_ns)
			return 0;
		room = r->burst_ns - (t - now);
		n = cost ? room / cost + 1 : want;
		if (n > want)
			n = want;
		if (__sync_val_compare_and_swap(tat, old, t + n * cost) == old)
			return n;
	}
	return 1;
}

/* Packets of this size that TG_SRC_BATCH_NS of the rate allows, at most TG_SRC_BATCH. */
static __always_inline __u64 tg_src_batch(const struct tg_rate *r, __u64 units)
{
	__u64 cost;

	if (!r->scale)
		return TG_SRC_BATCH;
	cost = tg_rate_cost(r, units);
	if (!cost || TG_SRC_BATCH_NS / cost >= TG_SRC_BATCH)
		return TG_SRC_BATCH;
	return TG_SRC_BATCH_NS / cost;
}

static __always_inline bool tg_src_key_eq(const struct tg_src_key *a, const struct tg_src_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

static __always_inline __u32 tg_src_slot_of(const struct tg_src_key *k)
{
	__u32 h = ((const __u32 *)k)[1] ^ ((const __u32 *)k)[2] ^ ((const __u32 *)k)[3] ^
		  ((const __u32 *)k)[4];

	return (h * 2654435761u) >> 22; /* TG_SRC_SLOTS = 1 << 10 */
}

/* A frame of `bytes` from source k that this CPU's slot could not cover: does it conform
 * to the source's packet and bit rates? Charges it, and leaves the rest of the batch in
 * slot idx. A global function: verified once, on its own, which keeps the main program's
 * paths from multiplying by this one's; only a batch's first packet pays the call. */
__noinline int tg_source_refill(const struct tg_guard_conf *c, const struct tg_src_key *k,
				__u64 bytes, __u64 now, __u32 idx)
{
	struct tg_src_state *src;
	struct tg_src_slot *slot;
	__u64 want, n;

	if (!c || !k)
		return 1;
	src = tg_source_of(k);
	if (!src)
		return 1; /* no room to track it: not limited */
	want = tg_src_batch(&c->src_pps, 1);
	n = tg_src_batch(&c->src_bps, bytes);
	if (n < want)
		want = n;
	/* Packets first, then their bytes; what the bytes refuse is given back to the
	 * packet bucket (a dropped packet costs no budget). */
	n = tg_gcra_take(&src->tat_packets, &c->src_pps, 1, want > 1 ? want : 1, now);
	if (!n)
		return 0;
	want = tg_gcra_take(&src->tat_bytes, &c->src_bps, bytes, n, now);
	if (want < n && c->src_pps.scale)
		__sync_fetch_and_add(&src->tat_packets, -(n - want) * tg_rate_cost(&c->src_pps, 1));
	if (!want)
		return 0;
	slot = bpf_map_lookup_elem(&tg_src_slots, &idx);
	if (slot && want > 1) {
		slot->key = *k;
		slot->packets = want - 1;
		slot->bytes = (want - 1) * bytes;
	}
	return 1;
}

/* Does the frame conform to its source's rates? Charges it: from this CPU's batch when
 * it holds one for the source, else from the shared bucket (tg_source_refill). */
static __always_inline bool tg_source_conforms(struct tg_gctx *g)
{
	const struct tg_guard_conf *c = g->conf;
	struct tg_src_key k = {};
	struct tg_src_slot *slot;
	__u32 idx;

	tg_src_key_of(&k, &g->p, c->src_prefix4, c->src_prefix6);
	idx = tg_src_slot_of(&k);
	slot = bpf_map_lookup_elem(&tg_src_slots, &idx);
	if (slot && slot->packets && slot->bytes >= g->bytes && tg_src_key_eq(&slot->key, &k)) {
		slot->packets--;
		slot->bytes -= g->bytes;
		return true;
	}
	return tg_source_refill(c, &k, g->bytes, tg_gnow(g), idx);
}

/* Verdict codes of the guard besides the XDP actions. */
#define TG_GUARD_PASS (-1)  /* go on to metering */
#define TG_GUARD_STAGE (-2) /* go on to the signature stage */

static __always_inline int tg_guard_act(struct tg_gctx *g, __u32 action, __u32 reason, __u32 rule)
{
	switch (action) {
	case TG_GA_DROP:
		tg_guard_acted(g, reason, TG_GA_DROP, rule);
		return XDP_DROP;
	case TG_GA_HONEYPOT:
		return tg_honeypot(g, rule);
	case TG_GA_ALERT:
		tg_guard_acted(g, reason, TG_GA_ALERT, rule);
		return TG_GUARD_PASS;
	default:
		return TG_GUARD_PASS;
	}
}

static const struct tg_guard_conf tg_guard_none = {};

static __always_inline int tg_guard_run(struct tg_gctx *g)
{
	const struct tg_guard_conf *c = g->conf ? g->conf : &tg_guard_none;
	const struct tg_pkt *p = &g->p;
	const struct tg_policy *pol;
	struct tg_src_state *src = NULL;
	__u32 action = TG_GA_NONE, rule = 0;
	struct tg_ban *ban;
	int v;

	g->conf = c;
	tg_gctx_tenant(g);

	if (c->flags & TG_GUARD_HONEYPOT) {
		struct tg_honey_key hk = {};

		tg_honey_key_of(&hk, p);
		if (bpf_map_lookup_elem(&tg_honey_flows, &hk))
			return tg_honeypot(g, 0); /* its first packet's event named the rule */
	}

	/* Source sets: the destination tenant's own rules first, then everyone's. */
	pol = g->tenant ? bpf_map_lookup_elem(&tg_policy, &g->tenant) : NULL;
	if (pol && (pol->flags & TG_POL_GUARD_SCOPE))
		action = tg_gset_lookup(p, g->tenant, &rule);
	if (action == TG_GA_NONE && (c->flags & TG_GUARD_SETS))
		action = tg_gset_lookup(p, 0, &rule);
	if (action == TG_GA_ALLOW)
		return TG_GUARD_PASS; /* trusted: nothing else of the guard applies */

	ban = tg_ban_lookup(p);
	if (ban && (!ban->expires_ns || tg_gnow(g) < ban->expires_ns))
		return tg_guard_act(g, ban->action, TG_REASON_BAN, ban->rule);

	v = tg_guard_act(g, action, TG_REASON_GUARD_DENY, rule);
	if (v != TG_GUARD_PASS)
		return v;

	if (c->flags & TG_GUARD_SRC_LIMIT) {
		if (!tg_source_conforms(g)) {
			if (c->src_ban_ns)
				tg_ban_source(g, TG_BAN_RATE, c->rule_src_rate, c->src_ban_ns);
			tg_guard_acted(g, TG_REASON_SRC_RATE, TG_GA_DROP, c->rule_src_rate);
			return XDP_DROP;
		}
	}

	if ((c->flags & TG_GUARD_SYN) && p->l4_proto == IPPROTO_TCP && !p->later_frag) {
		__u8 f = p->tcp_flags & (TG_TCP_SYN | TG_TCP_ACK | TG_TCP_RST | TG_TCP_FIN);

		if (f == TG_TCP_SYN && tg_syn_flood(g) && !tg_source_validated(g)) {
			if (!src)
				src = tg_source(g);
			if (src && !tg_gcra_cas(&src->tat_syn, &c->syn_src, 1, tg_gnow(g))) {
				tg_ban_source(g, TG_BAN_SYN_FLOOD, c->rule_syn, c->ban_ns);
				tg_guard_acted(g, TG_REASON_BAN, TG_GA_DROP, c->rule_syn);
				return XDP_DROP;
			}
			if (c->flags & TG_GUARD_SYN_COOKIE) {
				v = tg_cookie_answer(g);
				tg_guard_acted(g, TG_REASON_SYN_FLOOD,
					       v == XDP_TX ? TG_GA_COOKIE : TG_GA_DROP,
					       c->rule_syn);
				return v;
			}
			tg_guard_acted(g, TG_REASON_SYN_FLOOD, TG_GA_DROP, c->rule_syn);
			return XDP_DROP;
		}
		if (f == TG_TCP_RST && (c->flags & TG_GUARD_SYN_COOKIE)) {
			void *data = (void *)(long)g->ctx->data;
			void *data_end = (void *)(long)g->ctx->data_end;
			struct tcphdr *th = data + (p->l4_off & 0x1ff);

			if ((void *)(th + 1) <= data_end &&
			    tg_cookie_check(p, bpf_ntohl(th->seq))) {
				struct tg_src_key k = {};
				__u64 now = tg_gnow(g);

				tg_src_key_of(&k, p, 32, 128);
				bpf_map_update_elem(&tg_valid, &k, &now, BPF_ANY);
				return XDP_DROP; /* the answer to our cookie: nobody else's */
			}
		}
	}

	if ((c->flags & TG_GUARD_SIG) && p->l4_proto == IPPROTO_TCP && !p->later_frag &&
	    g->bytes > p->hdr_len) {
		__u16 port = bpf_ntohs(p->dport);

#pragma unroll
		for (int i = 0; i < TG_MAX_SIG_PORTS; i++)
			if (c->sig_ports[i] && c->sig_ports[i] == port)
				return TG_GUARD_STAGE;
	}
	return TG_GUARD_PASS;
}

/* Metering, for what the guard let through. */
static __always_inline int tg_xdp_finish(struct tg_gctx *g, const struct tg_iface *ifc)
{
	struct tg_frame fr = { .ifindex = g->ctx->ingress_ifindex,
			       .hook = TG_HOOK_INGRESS,
			       .segs = 1,
			       .bytes = g->bytes,
			       .dst_known = g->tenant_known,
			       .dst_tenant = g->tenant,
			       .now = g->now };

	struct xdp_md *ctx = g->ctx;
	void *meta, *data;

	if (ifc->role == TG_ROLE_TAP) {
		tg_account(&fr, ifc, &g->p, g->err);
		return XDP_PASS;
	}
	/* Native mode: billed here, and marked so that tc ingress does not bill it again.
	 * Where the driver keeps no metadata, tc ingress bills it. */
	if (!(ifc->flags & TG_IFACE_XDP_METERS) || bpf_xdp_adjust_meta(ctx, -4))
		return XDP_PASS;
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if (meta + 4 > data)
		return XDP_PASS;
	*(__u32 *)meta = TG_XDP_METERED;
	tg_account(&fr, ifc, &g->p, g->err);
	return XDP_PASS;
}

static __always_inline int tg_xdp_prologue(struct xdp_md *ctx, struct tg_gctx *g,
					   struct tg_iface **ifc)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex, key = 0;

	*ifc = bpf_map_lookup_elem(&tg_ifaces, &ifindex);
	if (!*ifc) {
		tg_stat_add(TG_STAT_UNKNOWN_IFACE, 1);
		return -1;
	}
	g->ctx = ctx;
	g->err = tg_parse(data, data_end, &g->p);
	g->bytes = bpf_xdp_get_buff_len(ctx);
	g->conf = bpf_map_lookup_elem(&tg_guard, &key);
	return 0;
}

/* The uplink: guard, then meter. */
static __always_inline int tg_uplink_xdp(struct xdp_md *ctx)
{
	struct tg_iface *ifc;
	struct tg_gctx g = {};
	int v;

	if (tg_xdp_prologue(ctx, &g, &ifc))
		return XDP_PASS;
	/* Bans need no configuration (tollgate block works on any uplink); the rest does. */
	if (!g.err) {
		v = tg_guard_run(&g);
		if (v == TG_GUARD_STAGE) {
			bpf_tail_call(ctx, &tg_stages, TG_STAGE_SIG);
			v = TG_GUARD_PASS; /* no stage loaded: as if it found nothing */
		}
		if (v != TG_GUARD_PASS)
			return v;
	}
	return tg_xdp_finish(&g, ifc);
}

/* The signature stage: the first TG_SIG_SCAN bytes of the payload of an HTTP request to
 * a configured port (lib/sig.h), then metering like the main program. */
static __always_inline int tg_sig_stage(struct xdp_md *ctx)
{
	struct tg_iface *ifc;
	struct tg_gctx g = {};
	__u32 key = 0, len, reason;
	__u8 *buf;

	if (tg_xdp_prologue(ctx, &g, &ifc))
		return XDP_PASS;
	if (!g.conf || g.err || g.bytes <= g.p.hdr_len)
		return tg_xdp_finish(&g, ifc);
	tg_gctx_tenant(&g);
	buf = bpf_map_lookup_elem(&tg_sig_buf, &key);
	if (!buf)
		return tg_xdp_finish(&g, ifc);
	len = g.bytes - g.p.hdr_len;
	if (len > TG_SIG_SCAN)
		len = TG_SIG_SCAN;
	if (len < 1 || bpf_xdp_load_bytes(ctx, g.p.hdr_len, buf, len))
		return tg_xdp_finish(&g, ifc);
	reason = tg_sig_match(buf, len);
	if (reason) {
		__u32 rule = reason == TG_REASON_SQLI ? g.conf->rule_sqli : g.conf->rule_traversal;

		if (g.conf->flags & TG_GUARD_SIG_DROP) {
			tg_guard_acted(&g, reason, TG_GA_DROP, rule);
			return XDP_DROP;
		}
		tg_guard_acted(&g, reason, TG_GA_ALERT, rule);
	}
	return tg_xdp_finish(&g, ifc);
}

#endif /* TG_GUARD_BPF_H */
