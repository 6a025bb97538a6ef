/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one packet parser, shared by every program that reads headers (tc now, XDP on the
 * uplink later). It works on a [data, data_end) window, so it serves both hook types.
 *
 * Every read is preceded by a bounds check against data_end, and every loop has a
 * compile-time bound. A frame that cannot be read to the end of its L4 header yields a
 * negative reason; callers still account for it (in the `unparsed` bucket).
 */
#ifndef TG_PARSE_H
#define TG_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define TG_ETH_P_IP 0x0800
#define TG_ETH_P_IPV6 0x86DD
#define TG_ETH_P_8021Q 0x8100
#define TG_ETH_P_8021AD 0x88A8
#define TG_ETH_HLEN 14
#define TG_VLAN_HLEN 4
#define TG_MAX_VLAN 2
#define TG_MAX_IPV6_EXT 6 /* extension headers walked before giving up */

/* IPv6 next-header values (macros in the uapi headers, so absent from vmlinux.h) */
#define TG_NEXTHDR_HOP 0
#define TG_NEXTHDR_ROUTING 43
#define TG_NEXTHDR_FRAGMENT 44
#define TG_NEXTHDR_DEST 60
#define TG_IPPROTO_ICMPV6 58

#define TG_IP_MF 0x2000
#define TG_IP_OFFSET 0x1FFF

enum tg_parse_err {
	TG_PARSE_OK = 0,
	TG_PARSE_TRUNC_L2 = -1, /* frame ends inside Ethernet/VLAN headers */
	TG_PARSE_NOT_IP = -2,	/* ARP, LLDP, ...: valid frames, no L3 we read */
	TG_PARSE_TRUNC_L3 = -3,
	TG_PARSE_BAD_L3 = -4,	 /* IHL < 5, wrong version, ... */
	TG_PARSE_EXT_LIMIT = -5, /* IPv6 extension chain longer than we walk */
	TG_PARSE_TRUNC_L4 = -6,
	TG_PARSE_BAD_L4 = -7, /* TCP data offset < 5 */
};

struct tg_pkt {
	__u16 l3_proto;	 /* ETH_P_IP or ETH_P_IPV6, host order */
	__u8 l4_proto;	 /* IPPROTO_* of the transport header reached */
	__u8 family;	 /* 4 or 6 */
	__u8 vlans;	 /* tags seen (0..TG_MAX_VLAN) */
	__u8 frag;	 /* 1 when the packet is a fragment */
	__u8 later_frag; /* 1 when it is a non-first fragment (no L4 header) */
	__u8 tcp_flags;	 /* byte 13 of the TCP header (CWR..FIN) */
	__u16 vlan_id[TG_MAX_VLAN];
	__u16 sport, dport;    /* network order; ICMP: type and code */
	__u32 frag_id;	       /* IPv4 identification or IPv6 fragment id, network order */
	__u32 hdr_len;	       /* bytes from frame start to the end of the L4 header */
	__u16 l3_off, l4_off;  /* where the IP and the transport header start */
	__u8 src[16], dst[16]; /* IPv4 in the first 4 bytes */
};

struct tg_cursor {
	void *pos;
	void *end;
};

static __always_inline int tg_parse_eth(struct tg_cursor *c, struct tg_pkt *p)
{
	struct ethhdr *eth = c->pos;
	__u16 proto;

	if ((void *)(eth + 1) > c->end)
		return TG_PARSE_TRUNC_L2;
	proto = bpf_ntohs(eth->h_proto);
	c->pos = eth + 1;

#pragma unroll
	for (int i = 0; i < TG_MAX_VLAN; i++) {
		struct vlan_hdr *vh = c->pos;

		if (proto != TG_ETH_P_8021Q && proto != TG_ETH_P_8021AD)
			break;
		if ((void *)(vh + 1) > c->end)
			return TG_PARSE_TRUNC_L2;
		p->vlan_id[i] = bpf_ntohs(vh->h_vlan_TCI) & 0x0fff;
		p->vlans = i + 1;
		proto = bpf_ntohs(vh->h_vlan_encapsulated_proto);
		c->pos = vh + 1;
	}
	p->l3_proto = proto;
	return TG_PARSE_OK;
}

static __always_inline int tg_parse_ipv4(struct tg_cursor *c, struct tg_pkt *p)
{
	struct iphdr *iph = c->pos;
	__u32 ihl;

	if ((void *)(iph + 1) > c->end)
		return TG_PARSE_TRUNC_L3;
	if (iph->version != 4 || iph->ihl < 5)
		return TG_PARSE_BAD_L3;
	ihl = iph->ihl * 4;
	if (c->pos + ihl > c->end)
		return TG_PARSE_TRUNC_L3;
	__builtin_memcpy(p->src, &iph->saddr, 4);
	__builtin_memcpy(p->dst, &iph->daddr, 4);
	p->family = 4;
	p->l4_proto = iph->protocol;
	if (iph->frag_off & bpf_htons(TG_IP_MF | TG_IP_OFFSET)) {
		p->frag = 1;
		p->frag_id = iph->id;
		p->later_frag = !!(iph->frag_off & bpf_htons(TG_IP_OFFSET));
	}
	c->pos += ihl;
	return TG_PARSE_OK;
}

static __always_inline int tg_parse_ipv6(struct tg_cursor *c, struct tg_pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	__u8 nexthdr;

	if ((void *)(ip6 + 1) > c->end)
		return TG_PARSE_TRUNC_L3;
	if (ip6->version != 6)
		return TG_PARSE_BAD_L3;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	p->family = 6;
	nexthdr = ip6->nexthdr;
	c->pos = ip6 + 1;

	/* TG_MAX_IPV6_EXT extension headers, then the header that ends the chain. One more
	 * extension header is EXT_LIMIT as soon as its type is seen: it is not read, so a
	 * frame cut inside it is no truncation of anything the parser uses. */
#pragma unroll
	for (int i = 0; i <= TG_MAX_IPV6_EXT; i++) {
		struct ipv6_opt_hdr *oh = c->pos;
		struct frag_hdr *fh = c->pos;

		switch (nexthdr) {
		case TG_NEXTHDR_HOP:
		case TG_NEXTHDR_ROUTING:
		case TG_NEXTHDR_DEST:
			if (i == TG_MAX_IPV6_EXT)
				return TG_PARSE_EXT_LIMIT;
			if ((void *)(oh + 1) > c->end)
				return TG_PARSE_TRUNC_L3;
			nexthdr = oh->nexthdr;
			c->pos += (oh->hdrlen + 1) * 8;
			if (c->pos > c->end)
				return TG_PARSE_TRUNC_L3; /* the frame ends inside this header */
			break;
		case TG_NEXTHDR_FRAGMENT:
			if (i == TG_MAX_IPV6_EXT)
				return TG_PARSE_EXT_LIMIT;
			if ((void *)(fh + 1) > c->end)
				return TG_PARSE_TRUNC_L3;
			p->frag = 1;
			p->frag_id = fh->identification;
			p->later_frag = !!(fh->frag_off & bpf_htons(0xfff8));
			nexthdr = fh->nexthdr;
			c->pos = fh + 1;
			if (p->later_frag) {
				/* What follows is the middle of the datagram, whatever nexthdr
				 * names (an extension header of the fragmentable part is only
				 * in the first fragment): the chain ends here. */
				p->l4_proto = nexthdr;
				return TG_PARSE_OK;
			}
			break;
		default:
			p->l4_proto = nexthdr;
			return TG_PARSE_OK;
		}
	}
	return TG_PARSE_EXT_LIMIT; /* not reached: the last round returns */
}

static __always_inline int tg_parse_l4(struct tg_cursor *c, struct tg_pkt *p)
{
	if (p->later_frag)
		return TG_PARSE_OK; /* no transport header in this fragment */

	switch (p->l4_proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = c->pos;

		if ((void *)(th + 1) > c->end)
			return TG_PARSE_TRUNC_L4;
		if (th->doff < 5)
			return TG_PARSE_BAD_L4;
		if (c->pos + th->doff * 4 > c->end)
			return TG_PARSE_TRUNC_L4;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		c->pos += th->doff * 4;
		return TG_PARSE_OK;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = c->pos;

		if ((void *)(uh + 1) > c->end)
			return TG_PARSE_TRUNC_L4;
		p->sport = uh->source;
		p->dport = uh->dest;
		c->pos = uh + 1;
		return TG_PARSE_OK;
	}
	case IPPROTO_ICMP:
	case TG_IPPROTO_ICMPV6: {
		__u8 *ic = c->pos;

		/* type, code, checksum: the part common to every ICMP message */
		if ((void *)(ic + 4) > c->end)
			return TG_PARSE_TRUNC_L4;
		p->sport = bpf_htons(ic[0]);
		p->dport = bpf_htons(ic[1]);
		c->pos = ic + 4;
		return TG_PARSE_OK;
	}
	default:
		return TG_PARSE_OK; /* other transports: addresses only */
	}
}

/* Parses [data, data_end). On success p->hdr_len is the offset of the L4 payload. */
static __always_inline int tg_parse(void *data, void *data_end, struct tg_pkt *p)
{
	struct tg_cursor c = { .pos = data, .end = data_end };
	int err;

	err = tg_parse_eth(&c, p);
	if (err)
		return err;
	p->l3_off = c.pos - data;
	if (p->l3_proto == TG_ETH_P_IP)
		err = tg_parse_ipv4(&c, p);
	else if (p->l3_proto == TG_ETH_P_IPV6)
		err = tg_parse_ipv6(&c, p);
	else
		return TG_PARSE_NOT_IP;
	if (err)
		return err;
	p->l4_off = c.pos - data;
	err = tg_parse_l4(&c, p);
	if (err)
		return err;
	p->hdr_len = c.pos - data;
	return TG_PARSE_OK;
}

#endif /* TG_PARSE_H */
