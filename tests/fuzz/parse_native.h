/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The datapath's packet parser (bpf/lib/parse.h, tg_parse) compiled for this machine by
 * tests/fuzz/parse_native.c. Only built-in types here: that file includes vmlinux.h,
 * which meets no libc header.
 */
#ifndef TG_PARSE_NATIVE_H
#define TG_PARSE_NATIVE_H

/* struct tg_pkt, field for field. */
struct fuzz_pkt {
	unsigned short l3_proto; /* host order */
	unsigned char l4_proto, family, vlans, frag, later_frag, tcp_flags;
	unsigned short vlan_id[2];
	unsigned short sport, dport; /* network order */
	unsigned int hdr_len;
	unsigned short l3_off, l4_off;
	unsigned char src[16], dst[16];
};

/* tg_parse on [data, data + len): 0 or a negative enum tg_parse_err. */
int fuzz_parse(const void *data, unsigned long len, struct fuzz_pkt *out);

#endif /* TG_PARSE_NATIVE_H */
