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
#include "lib/enforce.h"
#include "lib/maps.h"
#include "lib/parse.h"

#define TG_TC_ACT_UNSPEC (-1) /* let the next filter, or the stack, decide */
#define TG_TC_ACT_SHOT 2      /* drop */
#define TG_PULL_LEN 256	      /* headers we linearise when they are not in the head */

enum tg_hook {
	TG_HOOK_INGRESS, /* tc ingress: frames arriving on the interface */
	TG_HOOK_EGRESS,	 /* tc egress: frames leaving through it */
};

/* Replay writes the capture time of each frame here before running it; the live
 * datapath leaves it 0 and uses the monotonic clock. */
__u64 tg_clock_ns;

static __always_inline __u64 tg_now(void)
{
	__u64 t = tg_clock_ns;

	return t ? t : bpf_ktime_get_coarse_ns(); /* flows need ms, not ns: the cheap clock */
}

/* The same clock at full resolution (rates, events). */
static __always_inline __u64 tg_now_ns(void)
{
	__u64 t = tg_clock_ns;

	return t ? t : bpf_ktime_get_ns();
}

/* Are there classes to look up (TG_CLASSES_PRESENT)? Without, every frame is internet
 * and two trie walks are saved. */
static __always_inline bool tg_classes_present(void)
{
	__u32 zero = 0;
	const struct tg_class_meta *cm = bpf_map_lookup_elem(&tg_class_meta, &zero);

	return !cm || (cm->flags & TG_CLASSES_PRESENT);
}

/* Fragments: the first one (offset 0) carries the ports and leaves them behind for the
 * rest of its datagram; a later one whose first was not seen gets ports 0 and the
 * orphan flag, so it still lands in exactly one flow. */
static __always_inline void tg_frag_ports(const struct tg_pkt *p, struct tg_flow_key *k)
{
	struct tg_frag_key fk = { .family = p->family, .proto = p->l4_proto, .id = p->frag_id };
	struct tg_frag_ports *fp;

	__builtin_memcpy(fk.src, p->src, 16);
	__builtin_memcpy(fk.dst, p->dst, 16);
	if (!p->later_frag) {
		struct tg_frag_ports ports = { .sport = p->sport, .dport = p->dport };

		bpf_map_update_elem(&tg_frags, &fk, &ports, BPF_ANY);
		tg_stat_add(TG_STAT_FRAGS_FIRST, 1);
		return;
	}
	fp = bpf_map_lookup_elem(&tg_frags, &fk);
	if (fp) {
		k->sport = fp->sport;
		k->dport = fp->dport;
		tg_stat_add(TG_STAT_FRAGS_JOINED, 1);
	} else {
		k->flags |= TG_FLOW_ORPHAN_FRAGS;
		tg_stat_add(TG_STAT_FRAGS_ORPHAN, 1);
	}
}

/* Adds a packet to its flow. Another CPU may insert the same key between our lookup and
 * our insert; then the insert fails with EEXIST and the second lookup finds it. */
static __always_inline void tg_flow_add(const struct tg_flow_key *k, __u64 segs, __u64 bytes,
					__u8 tcp_flags, __u32 class_id, __u64 now)
{
	if (!now)
		now = tg_now();
	struct tg_flow *f;

	f = bpf_map_lookup_elem(&tg_flows, k);
	if (!f) {
		struct tg_flow nf = {
			.packets = segs,
			.bytes = bytes,
			.first_ns = now,
			.last_ns = now,
			.tcp_flags = tcp_flags,
			.class_id = class_id,
		};

		if (bpf_map_update_elem(&tg_flows, k, &nf, BPF_NOEXIST) == 0) {
			tg_stat_add(TG_STAT_FLOWS_CREATED, 1);
			return;
		}
		f = bpf_map_lookup_elem(&tg_flows, k);
		if (!f) {
			tg_stat_add(TG_STAT_FLOWS_LOST, segs);
			return;
		}
	}
	f->packets += segs;
	f->bytes += bytes;
	if (!f->first_ns)
		f->first_ns = now; /* first packet of this flow on this CPU */
	f->last_ns = now;
	f->tcp_flags |= tcp_flags;
	f->class_id = class_id;
}

static __always_inline void tg_bill(__u32 tenant, __u32 class_id, int dir, __u64 segs, __u64 bytes)
{
	__u32 cell = tenant * TG_MAX_CLASSES + (class_id & (TG_MAX_CLASSES - 1));
	struct tg_tenant_stats *st = bpf_map_lookup_elem(&tg_tenant_stats, &cell);

	if (st) {
		st->dir[dir & 1].packets += segs;
		st->dir[dir & 1].bytes += bytes;
	}
	tg_quota_add(tenant, dir, bytes);
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

/* One frame (or GSO super-packet) as a hook saw it, ready to be accounted. */
struct tg_frame {
	__u32 ifindex;
	enum tg_hook hook;
	__u64 segs;    /* wire frames it stands for */
	__u64 bytes;   /* wire bytes, by the byte rule */
	__u16 hw_vlan; /* VLAN tag held in skb metadata (tc), 0 when none */
	__u8 hw_vlan_present;
	__u8 dst_known;	  /* dst_tenant holds the owner of the destination address */
	__u32 dst_tenant; /* (the uplink guard looked it up already) */
	__u64 now;	  /* the frame's time when a stage read it already, else 0 */
};

/* Attribution, classification, flow and billing: everything after the parse, the same
 * for every hook. err is the parser's result for p. */
static __always_inline void tg_account(const struct tg_frame *fr, const struct tg_iface *ifc,
				       const struct tg_pkt *p, int err)
{
	__u32 tenant = TG_TENANT_UNATTRIBUTED, class_id = TG_CLASS_INTERNET;
	struct tg_flow_key k = {};
	int dir;

	/* Who and which way. Direction is always seen from the tenant. */
	if (ifc->role == TG_ROLE_TENANT) {
		/* The host side of a tenant's link: what arrives came from the tenant. */
		tenant = ifc->tenant_id;
		dir = fr->hook == TG_HOOK_INGRESS ? TG_DIR_EGRESS : TG_DIR_INGRESS;
	} else if (ifc->role == TG_ROLE_UPLINK) {
		/* An uplink: the tenant is whoever owns the inner address. */
		dir = fr->hook == TG_HOOK_INGRESS ? TG_DIR_INGRESS : TG_DIR_EGRESS;
		if (!err && dir == TG_DIR_INGRESS && fr->dst_known)
			tenant = fr->dst_tenant;
		else if (!err)
			tenant = tg_lpm_lookup(&tg_lpm4, &tg_lpm6, p->family,
					       dir == TG_DIR_INGRESS ? p->dst : p->src);
		/* A tenant with interfaces is billed there: the same frame crosses its
		 * interface and the uplink, and must be billed once. */
		if (tenant != TG_TENANT_UNATTRIBUTED && tenant < TG_MAX_TENANTS) {
			const struct tg_policy *pol = bpf_map_lookup_elem(&tg_policy, &tenant);

			if (pol && (pol->flags & TG_POL_IFACE_METERED))
				return;
		}
	} else {
		/* A capture point sees both ways: towards the tenant owning the destination,
		 * else from the tenant owning the source. */
		dir = TG_DIR_INGRESS;
		if (!err) {
			tenant = fr->dst_known
					 ? fr->dst_tenant
					 : tg_lpm_lookup(&tg_lpm4, &tg_lpm6, p->family, p->dst);
			if (tenant == TG_TENANT_UNATTRIBUTED) {
				tenant = tg_lpm_lookup(&tg_lpm4, &tg_lpm6, p->family, p->src);
				if (tenant != TG_TENANT_UNATTRIBUTED)
					dir = TG_DIR_EGRESS;
			}
		}
	}
	if (tenant >= TG_MAX_TENANTS)
		tenant = TG_TENANT_UNATTRIBUTED;

	if (err) {
		/* The `unparsed` bucket: counted by reason, still billed to the interface's
		 * tenant (class internet: there is no address to classify). */
		tg_stat_add(TG_STAT_UNPARSED_PACKETS, fr->segs);
		tg_stat_add(TG_STAT_UNPARSED_BYTES, fr->bytes);
		tg_unparsed_add(-err, fr->segs, fr->bytes);
	} else {
		if (tg_classes_present())
			class_id = tg_lpm_lookup(&tg_class4, &tg_class6, p->family,
						 dir == TG_DIR_INGRESS ? p->src : p->dst);
		k.tenant_id = tenant;
		k.family = p->family;
		k.proto = p->l4_proto;
		k.dir = dir;
		if (fr->hw_vlan_present) {
			/* the outer tag is in the skb's metadata, the parser saw the inner one */
			k.vlan_id[0] = fr->hw_vlan & 0x0fff;
			k.vlan_id[1] = p->vlan_id[0];
			k.vlans = p->vlans + 1 > TG_MAX_VLAN ? TG_MAX_VLAN : p->vlans + 1;
		} else {
			k.vlan_id[0] = p->vlan_id[0];
			k.vlan_id[1] = p->vlan_id[1];
			k.vlans = p->vlans;
		}
		k.sport = p->sport;
		k.dport = p->dport;
		__builtin_memcpy(k.src, p->src, 16);
		__builtin_memcpy(k.dst, p->dst, 16);
		if (p->frag)
			tg_frag_ports(p, &k);
		tg_flow_add(&k, fr->segs, fr->bytes, p->tcp_flags, class_id, fr->now);
	}

	if (tenant == TG_TENANT_UNATTRIBUTED) {
		tg_stat_add(TG_STAT_UNATTRIBUTED_PACKETS, fr->segs);
		tg_stat_add(TG_STAT_UNATTRIBUTED_BYTES, fr->bytes);
	}
	tg_bill(tenant, class_id, dir, fr->segs, fr->bytes);
}

/* tc: the skb may stand for gso_segs wire frames and may carry its outer VLAN tag in
 * metadata; both are on the wire and billed. */
/* Did the uplink's XDP program bill this frame (its metadata mark)? A subprogram: inlined,
 * clang merges these context loads with the parser's into one load at a computed offset,
 * which the verifier refuses. */
static __noinline bool tg_xdp_metered(struct __sk_buff *skb)
{
	void *meta = (void *)(long)skb->data_meta, *data = (void *)(long)skb->data;

	return meta + 4 <= data && *(__u32 *)meta == TG_XDP_METERED;
}

static __always_inline int tg_meter(struct __sk_buff *skb, enum tg_hook hook)
{
	struct tg_frame fr = { .ifindex = skb->ifindex, .hook = hook };
	struct tg_iface *ifc;
	struct tg_pkt p = {};
	int err;

	ifc = bpf_map_lookup_elem(&tg_ifaces, &fr.ifindex);
	if (!ifc) {
		tg_stat_add(TG_STAT_UNKNOWN_IFACE, 1);
		return TG_TC_ACT_UNSPEC; /* not ours: no parse, no pull */
	}
	if (hook == TG_HOOK_INGRESS && (ifc->flags & TG_IFACE_XDP_METERS) && tg_xdp_metered(skb))
		return TG_TC_ACT_UNSPEC; /* the uplink's XDP program billed it */
	err = tg_parse_skb(skb, &p);

	fr.segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	fr.bytes = skb->len;
	if (fr.segs > 1) {
		tg_stat_add(TG_STAT_GSO_PACKETS, 1);
		if (err)
			tg_stat_add(TG_STAT_GSO_INEXACT, 1);
		else
			fr.bytes += (fr.segs - 1) * p.hdr_len;
	}
	if (skb->vlan_present) {
		fr.bytes += fr.segs * TG_VLAN_HLEN;
		fr.hw_vlan = skb->vlan_tci;
		fr.hw_vlan_present = 1;
	}
	if (ifc->role == TG_ROLE_TENANT &&
	    tg_enforce_pkt(ifc->tenant_id, hook == TG_HOOK_INGRESS ? TG_DIR_EGRESS : TG_DIR_INGRESS,
			   &p, err, fr.segs, fr.bytes))
		return TG_TC_ACT_SHOT; /* counted in tg_drops, not billed: it never got through */
	tg_account(&fr, ifc, &p, err);
	return TG_TC_ACT_UNSPEC;
}

/* XDP: one wire frame, tags in the data, before any GRO. The program is frags-aware, so
 * a jumbo frame's bytes beyond the first buffer are counted too. */
static __always_inline int tg_meter_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct tg_frame fr = { .ifindex = ctx->ingress_ifindex,
			       .hook = TG_HOOK_INGRESS,
			       .segs = 1 };
	struct tg_iface *ifc;
	struct tg_pkt p = {};
	int err;

	ifc = bpf_map_lookup_elem(&tg_ifaces, &fr.ifindex);
	if (!ifc) {
		tg_stat_add(TG_STAT_UNKNOWN_IFACE, 1);
		return XDP_PASS;
	}
	err = tg_parse(data, data_end, &p);
	fr.bytes = bpf_xdp_get_buff_len(ctx);
	tg_account(&fr, ifc, &p, err);
	return XDP_PASS;
}

#endif /* TG_METER_H */
