/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Cgroup tenants (docs/isolation.md, "Cgroup tenants"): the processes in a tenant's cgroup
 * v2 directories are the tenant. The hooks refuse what the tenant may not do at the
 * socket call, with an errno the process sees:
 *
 *	connect4/6, sendmsg4/6	deny lists and segmentation: EPERM
 *	connect4/6 (TCP)	max_connections: ECONNREFUSED
 *	sock_create		raw sockets (raw_sockets: deny): EPERM
 *	cgroup_skb		caps, and the address checks on every packet
 *
 * Which tenant: tg_cgroups maps cgroup ids to tenants; a process belongs to the tenant of
 * its deepest ancestor cgroup found there. A TCP socket the tenant connects keeps its
 * tenant in tg_socks (socket storage), so the hooks that run outside the process (sock_ops
 * in softirq) still know it, and so its connection slot is returned to the tenant that
 * took it.
 *
 * Connection counting: connect() takes a slot (tg_socks.reserved 0 -> 1, tg_conns + 1);
 * the socket's move to TCP_CLOSE (sock_ops state callback) or its release (close of the
 * last fd) gives it back. The compare-and-swap on reserved makes the release happen
 * exactly once whichever comes first, and makes a second connect() on the same socket
 * take no second slot.
 *
 * Cgroup traffic is not billed (the tc and XDP meters bill); the skb hooks only enforce.
 */
#ifndef TG_CGROUP_H
#define TG_CGROUP_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/enforce.h"
#include "lib/maps.h"
#include "lib/cgtenant.h"
#include "lib/parse.h"

/* uapi macros, absent from vmlinux.h */
#define TG_AF_INET 2
#define TG_AF_INET6 10
#define TG_EPERM 1
#define TG_ECONNREFUSED 111

/* cgroup_skb verdicts. Egress may add congestion notification: a TCP sender told
 * NET_XMIT_CN backs off at once instead of retransmitting into the cap. */
#define TG_CG_DROP 0
#define TG_CG_PASS 1
#define TG_CG_DROP_CN 2

/* Per-socket state of a tenant's TCP socket. */
struct tg_sock {
	__u32 tenant_id; /* set at the first connect(); 0 = not a tenant socket */
	__u32 reserved;	 /* 1 while the socket holds one of tg_conns[tenant_id] */
};

/* Pinned by name like every other map, so that an agent restarted with new programs
 * releases the slots the old programs took. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_sock);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_socks SEC(".maps");

/* The same for the socket that owns skb (the cgroup it was created in). */
static __always_inline __u32 tg_cgroup_tenant_skb(struct __sk_buff *skb)
{
	__u32 tenant = TG_TENANT_UNATTRIBUTED, t;
	struct bpf_sock *sk = skb->sk;
	struct tg_sock *st;
	__u64 id;

	if (sk) {
		sk = bpf_sk_fullsock(sk);
		if (sk) {
			st = bpf_sk_storage_get(&tg_socks, sk, 0, 0);
			if (st && st->tenant_id)
				return st->tenant_id < TG_MAX_TENANTS ? st->tenant_id : 0;
		}
	}
	for (int level = 1; level <= TG_MAX_CGROUP_LEVEL; level++) {
		id = bpf_skb_ancestor_cgroup_id(skb, level);
		if (!id)
			break;
		t = tg_cgroup_tenant_of(id);
		if (t)
			tenant = t;
	}
	return tenant;
}

/* The destination of a connect() or sendmsg() as a tg_pkt (what the address checks and
 * the event read). An IPv4-mapped IPv6 address is the IPv4 address it maps: the kernel
 * connects such a socket over IPv4 without running connect4. */
static __always_inline void tg_cgroup_dest(struct bpf_sock_addr *ctx, int family, struct tg_pkt *p)
{
	__u32 *dst = (__u32 *)p->dst;

	p->l4_proto = ctx->protocol;
	p->dport = (__u16)ctx->user_port;
	if (family == TG_AF_INET) {
		p->family = 4;
		dst[0] = ctx->user_ip4;
		return;
	}
	dst[0] = ctx->user_ip6[0];
	dst[1] = ctx->user_ip6[1];
	dst[2] = ctx->user_ip6[2];
	dst[3] = ctx->user_ip6[3];
	if (dst[0] == 0 && dst[1] == 0 && dst[2] == bpf_htonl(0xffff)) {
		p->family = 4;
		dst[0] = dst[3];
		dst[1] = dst[2] = dst[3] = 0;
	} else {
		p->family = 6;
	}
}

/* Refuses the call with -err: the errno the process sees (0 alone would say EPERM). */
static __always_inline int tg_cgroup_refuse(int err)
{
	bpf_set_retval(-err);
	return 0;
}

/* Gives a TCP socket's connection slot back, once. */
static __always_inline void tg_cgroup_release(struct tg_sock *st)
{
	__u32 tenant = st->tenant_id;
	__u64 *n;

	if (__sync_val_compare_and_swap(&st->reserved, 1, 0) != 1)
		return; /* never taken, or already given back */
	n = bpf_map_lookup_elem(&tg_conns, &tenant);
	if (n)
		__sync_fetch_and_add(n, -1);
}

/* Takes a connection slot for a TCP connect(). Every tenant's connections are counted,
 * capped or not, so that a cap set later starts from the true count. Returns 0 to
 * proceed, or the errno to refuse with. */
static __always_inline int tg_cgroup_reserve(struct bpf_sock_addr *ctx, __u32 tenant,
					     const struct tg_policy *pol, const struct tg_pkt *p)
{
	struct tg_ev_ctx x = { .p = p, .dir = TG_DIR_EGRESS, .task = true };
	__u32 cap = pol ? pol->max_connections : 0;
	struct tg_sock *st;
	__u64 *n, now;

	st = bpf_sk_storage_get(&tg_socks, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return 0; /* out of memory: uncounted, not refused */
	if (st->reserved)
		return 0; /* a second connect() on a socket that holds its slot */
	n = bpf_map_lookup_elem(&tg_conns, &tenant);
	if (!n)
		return 0;
	st->tenant_id = tenant;
	if (__sync_val_compare_and_swap(&st->reserved, 0, 1) != 0)
		return 0;
	now = __sync_fetch_and_add(n, 1) + 1;
	if (cap && now > cap) {
		__sync_fetch_and_add(n, -1);
		st->reserved = 0;
		tg_enforced(tenant, TG_REASON_CONN_CAP, 1, 0, &x);
		return TG_ECONNREFUSED;
	}
	return 0;
}

/* connect4/6: the address checks, then the connection cap. */
static __always_inline int tg_cgroup_connect(struct bpf_sock_addr *ctx, int family)
{
	struct tg_ev_ctx x = { .dir = TG_DIR_EGRESS, .task = true };
	const struct tg_policy *pol;
	struct tg_pkt p = {};
	struct tg_sock *st;
	__u32 tenant, reason;
	int err;

	st = bpf_sk_storage_get(&tg_socks, ctx->sk, 0, 0);
	tenant = st && st->tenant_id ? st->tenant_id : tg_cgroup_tenant_current();
	if (tenant == TG_TENANT_UNATTRIBUTED || tenant >= TG_MAX_TENANTS)
		return TG_CG_PASS;
	tg_cgroup_dest(ctx, family, &p);
	pol = tg_policy_of(tenant);
	if (pol) {
		reason = tg_dest_verdict(tenant, pol, p.family, p.dst, p.l4_proto, p.dport);
		if (reason) {
			x.p = &p;
			tg_enforced(tenant, reason, 1, 0, &x);
			return tg_cgroup_refuse(TG_EPERM);
		}
	}
	if (ctx->type == SOCK_STREAM && ctx->protocol == IPPROTO_TCP) {
		err = tg_cgroup_reserve(ctx, tenant, pol, &p);
		if (err)
			return tg_cgroup_refuse(err);
	}
	return TG_CG_PASS;
}

/* sendmsg4/6: runs for datagrams sent with an explicit address (unconnected UDP). */
static __always_inline int tg_cgroup_sendmsg(struct bpf_sock_addr *ctx, int family)
{
	struct tg_ev_ctx x = { .dir = TG_DIR_EGRESS, .task = true };
	__u32 tenant = tg_cgroup_tenant_current(), reason;
	const struct tg_policy *pol;
	struct tg_pkt p = {};

	pol = tg_policy_of(tenant);
	if (!pol)
		return TG_CG_PASS;
	tg_cgroup_dest(ctx, family, &p);
	reason = tg_dest_verdict(tenant, pol, p.family, p.dst, p.l4_proto, p.dport);
	if (!reason)
		return TG_CG_PASS;
	x.p = &p;
	tg_enforced(tenant, reason, 1, 0, &x);
	return tg_cgroup_refuse(TG_EPERM);
}

/* sock_ops: a counted socket asks for state callbacks when it starts connecting, and
 * gives its slot back when it reaches TCP_CLOSE (reset, refused, timed out, closed). */
static __always_inline int tg_cgroup_sockops(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk;
	struct tg_sock *st;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		sk = skops->sk;
		if (!sk)
			break;
		st = bpf_sk_storage_get(&tg_socks, sk, 0, 0);
		if (st && st->reserved)
			bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
								 BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] != BPF_TCP_CLOSE)
			break;
		sk = skops->sk;
		if (!sk)
			break;
		st = bpf_sk_storage_get(&tg_socks, sk, 0, 0);
		if (st)
			tg_cgroup_release(st);
		break;
	}
	return 1;
}

/* sock_release: the last fd closed. A socket that failed inside the kernel's connect
 * after connect4 ran (no route) never reaches sock_ops: its slot comes back here. */
static __always_inline int tg_cgroup_sock_release(struct bpf_sock *sk)
{
	struct tg_sock *st;

	if (sk->type != SOCK_STREAM)
		return TG_CG_PASS;
	st = bpf_sk_storage_get(&tg_socks, sk, 0, 0);
	if (st)
		tg_cgroup_release(st);
	return TG_CG_PASS;
}

/* sock_create: raw IP sockets of a tenant with raw_sockets: deny. (Packet sockets never
 * reach this hook: see the documentation.) */
static __always_inline int tg_cgroup_sock_create(struct bpf_sock *sk)
{
	struct tg_ev_ctx x = { .dir = TG_DIR_EGRESS, .task = true };
	const struct tg_policy *pol;
	struct tg_pkt p = {};
	__u32 tenant;

	if (sk->type != SOCK_RAW || (sk->family != TG_AF_INET && sk->family != TG_AF_INET6))
		return TG_CG_PASS;
	tenant = tg_cgroup_tenant_current();
	pol = tg_policy_of(tenant);
	if (!pol || !(pol->flags & TG_POL_RAW_DENY))
		return TG_CG_PASS;
	p.family = sk->family == TG_AF_INET ? 4 : 6;
	p.l4_proto = sk->protocol;
	x.p = &p;
	tg_enforced(tenant, TG_REASON_RAW_SOCKET, 1, 0, &x);
	return tg_cgroup_refuse(TG_EPERM);
}

/* The IP and transport headers of an skb at a cgroup hook (data starts at the IP
 * header), with the shared parser. hdr_len is the IP and transport header length. The
 * stack has pulled the headers it read into the linear part by the time these hooks run. */
static __always_inline int tg_cgroup_parse(struct __sk_buff *skb, struct tg_pkt *p)
{
	void *data = (void *)(long)skb->data;
	struct tg_cursor c = { .pos = data, .end = (void *)(long)skb->data_end };
	int err;

	p->l3_proto = bpf_ntohs(skb->protocol);
	if (p->l3_proto == TG_ETH_P_IP)
		err = tg_parse_ipv4(&c, p);
	else if (p->l3_proto == TG_ETH_P_IPV6)
		err = tg_parse_ipv6(&c, p);
	else
		return TG_PARSE_NOT_IP;
	if (!err)
		err = tg_parse_l4(&c, p);
	if (!err)
		p->hdr_len = c.pos - data;
	return err;
}

/* cgroup_skb: the caps and the address checks on every packet of the tenant's sockets.
 * Sizes follow the byte rule as well as an L3 skb allows: each of the segs frames an
 * skb stands for adds an Ethernet header, and each but the first repeats the IP and
 * transport headers. */
static __always_inline int tg_cgroup_skb(struct __sk_buff *skb, int dir)
{
	struct tg_pkt p = {};
	__u64 segs, bytes;
	__u32 tenant, reason;
	int err;

	tenant = tg_cgroup_tenant_skb(skb);
	if (!tg_policy_of(tenant))
		return TG_CG_PASS;
	err = tg_cgroup_parse(skb, &p);
	segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	bytes = skb->len + segs * TG_ETH_HLEN;
	if (!err)
		bytes += (segs - 1) * p.hdr_len;
	reason = tg_enforce_pkt(tenant, dir, &p, err, segs, bytes);
	if (!reason)
		return TG_CG_PASS;
	if (dir == TG_DIR_EGRESS && !err && p.l4_proto == IPPROTO_TCP &&
	    (reason == TG_REASON_RATE || reason == TG_REASON_PPS ||
	     reason == TG_REASON_QUOTA_THROTTLE))
		return TG_CG_DROP_CN;
	return TG_CG_DROP;
}

#endif /* TG_CGROUP_H */
