/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Address checks: egress deny lists and segmentation between tenants. Included by
 * lib/enforce.h.
 */
#ifndef TG_DENY_H
#define TG_DENY_H

/* The verdict on where a tenant may send to. family 4 or 6, dst 16 bytes (IPv4 in the
 * first 4), proto IPPROTO_*, dport network order. TG_REASON_DENY when a deny rule (the
 * tenant's own list when TG_POL_HAS_DENY, then the default list under tenant 0) matches;
 * TG_REASON_SEGMENT when the tenant is isolated and dst belongs to another tenant (tg_lpm4/6)
 * that tg_peers does not pair it with; else TG_REASON_NONE. */
static __always_inline __u32 tg_dest_verdict(__u32 tenant, const struct tg_policy *pol, int family,
					     const __u8 *dst, __u8 proto, __u16 dport)
{
	return TG_REASON_NONE; /* TODO(isolation): deny lists and segmentation */
}

/* The same for a packet: egress (from the tenant) checks its destination as above;
 * ingress (towards the tenant) checks segmentation only, on its source. */
static __always_inline __u32 tg_addr_verdict(__u32 tenant, const struct tg_policy *pol, int dir,
					     const struct tg_pkt *p)
{
	if (dir == TG_DIR_EGRESS)
		return tg_dest_verdict(tenant, pol, p->family, p->dst, p->l4_proto, p->dport);
	return TG_REASON_NONE; /* TODO(isolation): segmentation on the source */
}

#endif /* TG_DENY_H */
