/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tenant meter: attributes a frame to a tenant and a direction and adds its wire
 * size to the tenant's billing counters.
 *
 * The byte rule (docs/byte-rule.md): bytes are Ethernet frames without FCS as they cross
 * the wire. tc may see a GSO/GRO super-packet standing for gso_segs wire frames, each of
 * which repeats the headers, so its wire size is
 *	len + (gso_segs - 1) * hdr_len
 * where hdr_len runs from the frame start to the end of the L4 header. A VLAN tag held
 * in the skb's metadata (hardware-accelerated) is on the wire too: 4 bytes per frame.
 */
#ifndef TG_METER_H
#define TG_METER_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/maps.h"
#include "lib/parse.h"

#define TG_TC_ACT_UNSPEC (-1) /* let the next filter, or the stack, decide */
#define TG_PULL_LEN 256	      /* headers we linearise when they are not in the head */

enum tg_hook {
	TG_HOOK_INGRESS, /* tc ingress: frames arriving on the interface */
	TG_HOOK_EGRESS,	 /* tc egress: frames leaving through it */
};

static __always_inline __u32 tg_lpm_lookup(const struct tg_pkt *p, const __u8 *addr)
{
	__u32 *id;

	if (p->family == 4) {
		struct tg_lpm4_key k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, addr, 4);
		id = bpf_map_lookup_elem(&tg_lpm4, &k);
	} else {
		struct tg_lpm6_key k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, addr, 16);
		id = bpf_map_lookup_elem(&tg_lpm6, &k);
	}
	return id ? *id : TG_TENANT_UNATTRIBUTED;
}

static __always_inline int tg_parse_skb(struct __sk_buff *skb, struct tg_pkt *p)
{
	int err;

	err = tg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, p);
	if (err && err != TG_PARSE_NOT_IP && skb->len > skb->data_end - skb->data) {
		/* Headers may sit in paged data (GRO, some drivers): pull and retry once. */
		__u32 want = skb->len < TG_PULL_LEN ? skb->len : TG_PULL_LEN;

		if (bpf_skb_pull_data(skb, want) == 0) {
			__builtin_memset(p, 0, sizeof(*p));
			err = tg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, p);
		}
	}
	return err;
}

static __always_inline int tg_meter(struct __sk_buff *skb, enum tg_hook hook)
{
	__u32 ifindex = skb->ifindex;
	struct tg_tenant_stats *st;
	struct tg_pkt p = {};
	struct tg_iface *ifc;
	__u64 segs, bytes;
	__u32 tenant;
	int dir, err;

	ifc = bpf_map_lookup_elem(&tg_ifaces, &ifindex);
	if (!ifc) {
		tg_stat_add(TG_STAT_UNKNOWN_IFACE, 1);
		return TG_TC_ACT_UNSPEC;
	}

	err = tg_parse_skb(skb, &p);

	segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	bytes = skb->len;
	if (segs > 1) {
		tg_stat_add(TG_STAT_GSO_PACKETS, 1);
		if (err)
			tg_stat_add(TG_STAT_GSO_INEXACT, 1);
		else
			bytes += (segs - 1) * p.hdr_len;
	}
	if (skb->vlan_present)
		bytes += segs * TG_VLAN_HLEN;
	if (err) {
		tg_stat_add(TG_STAT_UNPARSED_PACKETS, segs);
		tg_stat_add(TG_STAT_UNPARSED_BYTES, bytes);
	}

	if (ifc->role == TG_ROLE_TENANT) {
		/* The host side of a tenant's link: what arrives came from the tenant. */
		tenant = ifc->tenant_id;
		dir = hook == TG_HOOK_INGRESS ? TG_DIR_EGRESS : TG_DIR_INGRESS;
	} else {
		/* An uplink: the tenant is whoever owns the inner address. */
		dir = hook == TG_HOOK_INGRESS ? TG_DIR_INGRESS : TG_DIR_EGRESS;
		tenant = err ? TG_TENANT_UNATTRIBUTED
			     : tg_lpm_lookup(&p, dir == TG_DIR_INGRESS ? p.dst : p.src);
	}

	if (tenant == TG_TENANT_UNATTRIBUTED) {
		tg_stat_add(TG_STAT_UNATTRIBUTED_PACKETS, segs);
		tg_stat_add(TG_STAT_UNATTRIBUTED_BYTES, bytes);
	}
	st = bpf_map_lookup_elem(&tg_tenant_stats, &tenant);
	if (st) {
		st->dir[dir & 1].packets += segs;
		st->dir[dir & 1].bytes += bytes;
	}
	return TG_TC_ACT_UNSPEC;
}

#endif /* TG_METER_H */
