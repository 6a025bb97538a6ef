// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The datapath's packet parser, bpf/lib/parse.h, compiled for the host instead of the
 * BPF target, so that the capture fuzzer runs every frame through the same code the XDP
 * and tc programs run (and AddressSanitizer watches its reads). Its kernel types come
 * from vmlinux.h, which no libc header may meet: this file includes nothing else.
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX /* CO-RE relocations mean nothing here */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/parse.h"

#include "parse_native.h"

_Static_assert(TG_MAX_VLAN == 2, "struct fuzz_pkt holds two VLAN ids");

int fuzz_parse(const void *data, unsigned long len, struct fuzz_pkt *out)
{
	struct tg_pkt p;
	int r;

	__builtin_memset(&p, 0, sizeof(p));
	r = tg_parse((void *)data, (char *)data + len, &p);
	*out = (struct fuzz_pkt){
		.l3_proto = p.l3_proto,
		.l4_proto = p.l4_proto,
		.family = p.family,
		.vlans = p.vlans,
		.frag = p.frag,
		.later_frag = p.later_frag,
		.tcp_flags = p.tcp_flags,
		.vlan_id = { p.vlan_id[0], p.vlan_id[1] },
		.sport = p.sport,
		.dport = p.dport,
		.hdr_len = p.hdr_len,
		.l3_off = p.l3_off,
		.l4_off = p.l4_off,
	};
	__builtin_memcpy(out->src, p.src, 16);
	__builtin_memcpy(out->dst, p.dst, 16);
	return r;
}
