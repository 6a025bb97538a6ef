/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Address checks: egress deny lists and segmentation between tenants. Included by
 * lib/enforce.h.
 *
 * Deny lists live in tg_deny4/6, LPM tries keyed by (tenant id, destination prefix);
 * tenant 0 holds the default list. User space pushes every prefix's rules down into the
 * longer configured prefixes it covers (src/denylist.c), so one longest-prefix lookup per
 * list finds every rule that applies to a destination.
 *
 * A rule with a port range (anything but 0-65535) applies only to TCP and UDP packets
 * whose destination port is known: a later fragment carries no transport header (dport
 * 0 here), so only any-port rules match it. Its first fragment, which carries the ports,
 * is judged in full, and a datagram whose first fragment is dropped never reassembles.
 * A packet whose transport header cannot be read (cut short, or behind more IPv6
 * extension headers than the parser walks) is judged on its addresses and fails closed:
 * every port range matches it, and every protocol when even that is unknown.
 *
 * Segmentation is stateless: a packet is judged by its addresses alone, so a pair of
 * tenants that may talk is allowed in both directions (tg_peers holds both orders).
 */
#ifndef TG_DENY_H
#define TG_DENY_H

#define TG_PORT_ANY_HI 65535

/* What a packet or socket tells about its transport. */
enum tg_l4_known {
	TG_L4_PORT = 0,	   /* protocol and destination port known */
	TG_L4_NO_PORT = 1, /* protocol known, no port: a later fragment, ICMP, other protocols */
	TG_L4_PROTO = 2,   /* protocol known, its header unreadable (truncated): port unknown */
	TG_L4_NOTHING = 3, /* not even the protocol (IPv6 extension chain too long) */
};

/* Does any rule of rs match (proto, port)? port is host order. A packet whose transport
 * header cannot be read fails closed: every port range matches it, and every protocol
 * when the protocol is unknown too. */
static __always_inline bool tg_deny_rules_match(const struct tg_deny_rules *rs, __u8 proto,
						__u16 port, enum tg_l4_known known)
{
	__u32 n = rs->n;

	for (__u32 i = 0; i < TG_DENY_RULES; i++) {
		const struct tg_deny_rule *r = &rs->r[i];

		if (i >= n)
			break;
		if (r->proto && r->proto != proto && known != TG_L4_NOTHING)
			continue;
		if (r->port_lo == 0 && r->port_hi == TG_PORT_ANY_HI)
			return true;
		if (known >= TG_L4_PROTO)
			return true;
		if (known == TG_L4_PORT && port >= r->port_lo && port <= r->port_hi)
			return true;
	}
	return false;
}

/* The longest prefix of list (tenant id; 0 = the default list) that holds dst, or NULL. */
static __always_inline const struct tg_deny_rules *tg_deny_lookup(__u32 list, int family,
								  const __u8 *dst)
{
	if (family == 4) {
		struct tg_deny4_key k = { .prefixlen = TG_DENY_TENANT_BITS + 32,
					  .tenant_id = bpf_htonl(list) };

		__builtin_memcpy(k.addr, dst, 4);
		return bpf_map_lookup_elem(&tg_deny4, &k);
	} else {
		struct tg_deny6_key k = { .prefixlen = TG_DENY_TENANT_BITS + 128,
					  .tenant_id = bpf_htonl(list) };

		__builtin_memcpy(k.addr, dst, 16);
		return bpf_map_lookup_elem(&tg_deny6, &k);
	}
}

static __always_inline bool tg_deny_list_match(__u32 list, int family, const __u8 *dst, __u8 proto,
					       __u16 port, enum tg_l4_known known)
{
	const struct tg_deny_rules *rs = tg_deny_lookup(list, family, dst);

	return rs && tg_deny_rules_match(rs, proto, port, known);
}

/* Segmentation: may tenant exchange traffic with the owner of addr? */
static __always_inline __u32 tg_segment_verdict(__u32 tenant, const struct tg_policy *pol,
						int family, const __u8 *addr)
{
	struct tg_peer_key pk = { .a = tenant };

	if (!(pol->flags & TG_POL_ISOLATED))
		return TG_REASON_NONE;
	pk.b = tg_lpm_lookup(&tg_lpm4, &tg_lpm6, family, addr);
	if (pk.b == TG_TENANT_UNATTRIBUTED || pk.b == tenant)
		return TG_REASON_NONE; /* nobody's address, or the tenant's own */
	return bpf_map_lookup_elem(&tg_peers, &pk) ? TG_REASON_NONE : TG_REASON_SEGMENT;
}

static __always_inline __u32 tg_dest_check(__u32 tenant, const struct tg_policy *pol, int family,
					   const __u8 *dst, __u8 proto, __u16 port,
					   enum tg_l4_known known)
{
	if (family != 4 && family != 6)
		return TG_REASON_NONE;
	if ((pol->flags & TG_POL_HAS_DENY) &&
	    tg_deny_list_match(tenant, family, dst, proto, port, known))
		return TG_REASON_DENY;
	if (tg_deny_list_match(TG_TENANT_UNATTRIBUTED, family, dst, proto, port, known))
		return TG_REASON_DENY;
	return tg_segment_verdict(tenant, pol, family, dst);
}

/* The verdict on where a tenant may send to. family 4 or 6, dst 16 bytes (IPv4 in the
 * first 4), proto IPPROTO_*, dport network order. TG_REASON_DENY when a deny rule (the
 * tenant's own list when TG_POL_HAS_DENY, then the default list under tenant 0) matches;
 * TG_REASON_SEGMENT when the tenant is isolated and dst belongs to another tenant (tg_lpm4/6)
 * that tg_peers does not pair it with; else TG_REASON_NONE. dport 0 means the destination
 * port is unknown (a later fragment): only any-port rules apply then. */
static __always_inline __u32 tg_dest_verdict(__u32 tenant, const struct tg_policy *pol, int family,
					     const __u8 *dst, __u8 proto, __u16 dport)
{
	__u16 port = bpf_ntohs(dport);
	bool has_port = port && (proto == IPPROTO_TCP || proto == IPPROTO_UDP);

	return tg_dest_check(tenant, pol, family, dst, proto, port,
			     has_port ? TG_L4_PORT : TG_L4_NO_PORT);
}

/* The same for a packet: egress (from the tenant) checks its destination as above;
 * ingress (towards the tenant) checks segmentation only, on its source. p may be a packet
 * the parser could not read to the end of its transport header (p->hdr_len is 0 then): as
 * long as it read the addresses (p->family set), they are judged, failing closed on what
 * is missing, so that an unreadable header is no way around a deny list. */
static __always_inline __u32 tg_addr_verdict(__u32 tenant, const struct tg_policy *pol, int dir,
					     const struct tg_pkt *p)
{
	if (p->family != 4 && p->family != 6)
		return TG_REASON_NONE; /* no addresses: nothing to judge */
	if (dir == TG_DIR_EGRESS) {
		enum tg_l4_known known = TG_L4_NO_PORT;
		__u16 port = bpf_ntohs(p->dport);

		if (!p->hdr_len)
			known = p->l4_proto ? TG_L4_PROTO : TG_L4_NOTHING;
		else if (!p->later_frag && port &&
			 (p->l4_proto == IPPROTO_TCP || p->l4_proto == IPPROTO_UDP))
			known = TG_L4_PORT;
		return tg_dest_check(tenant, pol, p->family, p->dst, p->l4_proto, port, known);
	}
	return tg_segment_verdict(tenant, pol, p->family, p->src);
}

#endif /* TG_DENY_H */
