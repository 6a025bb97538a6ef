// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The capture reader of `tollgate replay` under libFuzzer (docs/fuzzing.md). The input is
 * a capture file, pcap or pcapng or anything else: it goes through tg_replay_count and
 * tg_replay_read (src/cmd_replay.c) by its path, exactly as the command reads a file, and
 * every frame the command would hand to BPF_PROG_TEST_RUN goes through the datapath's own
 * parser (bpf/lib/parse.h, compiled for this machine by parse_native.c). Nothing is
 * loaded into the kernel.
 *
 * Properties, besides no crash, leak or sanitizer report:
 *  - both passes agree on the number of records;
 *  - a frame is what the command says it runs: the record's bytes, or padded with zeros
 *    to its wire length when the snap length cut it; "run" exactly for 14..65535 bytes;
 *  - the parser reads no byte past the frame (AddressSanitizer: the frame is copied into
 *    a block of its own size), and its result agrees with the headers read again here,
 *    independently: L2 offsets and ethertype, IPv4 header length, addresses and protocol,
 *    the fragment bits, the transport header's length and ports; offsets stay inside the
 *    frame.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "parse_native.h"
#include "replay.h"

/* enum tg_parse_err (bpf/lib/parse.h) */
#define P_OK 0
#define P_TRUNC_L2 (-1)
#define P_NOT_IP (-2)
#define P_TRUNC_L3 (-3)
#define P_BAD_L3 (-4)
#define P_EXT_LIMIT (-5)
#define P_TRUNC_L4 (-6)
#define P_BAD_L4 (-7)

static int memfd = -1;
static char path[64];
static FILE *devnull;

struct seen {
	uint64_t frames, run;
};

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Ethernet and up to two VLAN tags, read here on their own: where L3 starts and its
 * ethertype, or 0 when the frame ends inside them. */
static size_t l2_of(const uint8_t *d, size_t len, unsigned *proto, unsigned *tags)
{
	size_t off = 12;

	*tags = 0;
	if (len < 14)
		return 0;
	*proto = be16(d + off);
	while (*tags < 2 && (*proto == 0x8100 || *proto == 0x88a8)) {
		off += 4;
		if (off + 2 > len)
			return 0;
		*proto = be16(d + off);
		++*tags;
	}
	return off + 2;
}

static void check_l4(const uint8_t *d, size_t len, int r, const struct fuzz_pkt *p)
{
	const uint8_t *l4 = d + p->l4_off;
	size_t room = len - p->l4_off, want = 0;

	if (p->later_frag) {
		FUZZ_CHECK(r == P_OK && p->hdr_len == p->l4_off, "a later fragment: r %d", r);
		return;
	}
	switch (p->l4_proto) {
	case 6: /* TCP */
		if (room < 20) {
			FUZZ_CHECK(r == P_TRUNC_L4, "TCP in %zu bytes: r %d", room, r);
			return;
		}
		if (l4[12] >> 4 < 5) {
			FUZZ_CHECK(r == P_BAD_L4, "TCP data offset %u: r %d", l4[12] >> 4, r);
			return;
		}
		want = (size_t)(l4[12] >> 4) * 4;
		break;
	case 17: /* UDP */
		want = 8;
		break;
	case 1:
	case 58: /* ICMP, ICMPv6: type, code, checksum */
		want = 4;
		break;
	default:
		FUZZ_CHECK(r == P_OK && p->hdr_len == p->l4_off, "protocol %u: r %d", p->l4_proto,
			   r);
		return;
	}
	if (room < want) {
		FUZZ_CHECK(r == P_TRUNC_L4, "protocol %u in %zu bytes: r %d", p->l4_proto, room, r);
		return;
	}
	FUZZ_CHECK(r == P_OK, "protocol %u, %zu bytes: r %d", p->l4_proto, room, r);
	FUZZ_CHECK(p->hdr_len == p->l4_off + want, "hdr_len %u, l4 at %u + %zu", p->hdr_len,
		   p->l4_off, want);
	if (p->l4_proto == 6 || p->l4_proto == 17) {
		FUZZ_CHECK(!memcmp(&p->sport, l4, 2) && !memcmp(&p->dport, l4 + 2, 2), "ports");
		if (p->l4_proto == 6)
			FUZZ_CHECK(p->tcp_flags == l4[13], "TCP flags");
	} else {
		FUZZ_CHECK(be16((const uint8_t *)&p->sport) == l4[0] &&
				   be16((const uint8_t *)&p->dport) == l4[1],
			   "ICMP type and code");
	}
}

static void check_parse(const uint8_t *d, size_t len, int r, const struct fuzz_pkt *p)
{
	unsigned proto = 0, tags;
	size_t l3 = l2_of(d, len, &proto, &tags);

	FUZZ_CHECK(r <= P_OK && r >= P_BAD_L4, "result %d", r);
	if (!l3) {
		FUZZ_CHECK(r == P_TRUNC_L2, "the frame ends in its L2 headers: r %d", r);
		return;
	}
	FUZZ_CHECK(r != P_TRUNC_L2, "L2 is whole (%zu bytes)", l3);
	if (proto != 0x0800 && proto != 0x86dd) {
		FUZZ_CHECK(r == P_NOT_IP, "ethertype %#x: r %d", proto, r);
		return;
	}
	FUZZ_CHECK(p->l3_off == l3 && p->l3_proto == proto && p->vlans == tags,
		   "L3 at %u (%zu here), ethertype %#x (%#x), %u tags (%u)", p->l3_off, l3,
		   p->l3_proto, proto, p->vlans, tags);
	if (proto == 0x0800) {
		const uint8_t *ip = d + l3;
		size_t ihl;

		if (len - l3 < 20) {
			FUZZ_CHECK(r == P_TRUNC_L3, "IPv4 in %zu bytes: r %d", len - l3, r);
			return;
		}
		ihl = (size_t)(ip[0] & 15) * 4;
		if (ip[0] >> 4 != 4 || ihl < 20) {
			FUZZ_CHECK(r == P_BAD_L3, "IPv4 version/IHL %#x: r %d", ip[0], r);
			return;
		}
		if (len - l3 < ihl) {
			FUZZ_CHECK(r == P_TRUNC_L3, "IHL %zu in %zu bytes: r %d", ihl, len - l3, r);
			return;
		}
		FUZZ_CHECK(p->family == 4 && p->l4_proto == ip[9] && !memcmp(p->src, ip + 12, 4) &&
				   !memcmp(p->dst, ip + 16, 4),
			   "IPv4 addresses and protocol");
		FUZZ_CHECK(p->frag == !!(be16(ip + 6) & 0x3fff) &&
				   p->later_frag == !!(be16(ip + 6) & 0x1fff),
			   "IPv4 fragment bits %#x: frag %u later %u", be16(ip + 6), p->frag,
			   p->later_frag);
		FUZZ_CHECK(r == P_OK || r == P_TRUNC_L4 || r == P_BAD_L4, "IPv4 read: r %d", r);
		FUZZ_CHECK(p->l4_off == l3 + ihl, "L4 at %u, IHL %zu", p->l4_off, ihl);
	} else {
		const uint8_t *ip = d + l3;

		if (len - l3 < 40) {
			FUZZ_CHECK(r == P_TRUNC_L3, "IPv6 in %zu bytes: r %d", len - l3, r);
			return;
		}
		if (ip[0] >> 4 != 6) {
			FUZZ_CHECK(r == P_BAD_L3, "IPv6 version %u: r %d", ip[0] >> 4, r);
			return;
		}
		FUZZ_CHECK(p->family == 6 && !memcmp(p->src, ip + 8, 16) &&
				   !memcmp(p->dst, ip + 24, 16),
			   "IPv6 addresses");
		if (r == P_TRUNC_L3 || r == P_EXT_LIMIT)
			return; /* the extension chain: its own walk */
		FUZZ_CHECK(r == P_OK || r == P_TRUNC_L4 || r == P_BAD_L4, "IPv6 read: r %d", r);
		FUZZ_CHECK(p->l4_off >= l3 + 40 && (p->l4_off - l3) % 8 == 0 && p->l4_off <= len,
			   "IPv6 L4 at %u (L3 at %zu, %zu bytes)", p->l4_off, l3, len);
	}
	check_l4(d, len, r, p);
	if (r == P_OK)
		FUZZ_CHECK(p->hdr_len <= len, "hdr_len %u past %zu bytes", p->hdr_len, len);
}

static int on_frame(void *ctx, const struct tg_replay_frame *f)
{
	struct seen *s = ctx;
	struct fuzz_pkt p;
	uint8_t *copy;
	int r;

	s->frames++;
	if (f->padded) {
		FUZZ_CHECK(f->len == f->wire_len && f->caplen < f->wire_len,
			   "padded: len %u, caplen %u, wire %u", f->len, f->caplen, f->wire_len);
		for (uint32_t i = f->caplen; i < f->len; i++)
			FUZZ_CHECK(!f->data[i], "padding byte %u is %#x", i, f->data[i]);
	} else {
		FUZZ_CHECK(f->len == f->caplen, "len %u, caplen %u", f->len, f->caplen);
	}
	FUZZ_CHECK(f->run == (f->len >= TG_REPLAY_MIN_RUN && f->len <= TG_REPLAY_MAX_RUN),
		   "run %d for %u bytes", f->run, f->len);
	if (!f->run)
		return 0;
	s->run++;
	/* exactly the bytes the test run would get, in a block of their own size */
	copy = malloc(f->len);
	FUZZ_CHECK(copy, "out of memory");
	memcpy(copy, f->data, f->len);
	memset(&p, 0, sizeof(p));
	r = fuzz_parse(copy, f->len, &p);
	check_parse(copy, f->len, r, &p);
	free(copy);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("fuzz-capture", MFD_CLOEXEC);
	devnull = fopen("/dev/null", "we");
	FUZZ_CHECK(memfd >= 0 && devnull, "memfd_create or /dev/null: %s", strerror(errno));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { 0 };
	FILE *err = stderr;
	uint64_t n = 0;
	int rc, rr;

	FUZZ_CHECK(!ftruncate(memfd, 0) && pwrite(memfd, data, size, 0) == (ssize_t)size,
		   "writing the capture: %s", strerror(errno));
	stderr = devnull; /* what the command says about a damaged file */
	rc = tg_replay_count(path, &n);
	rr = tg_replay_read(path, on_frame, &s);
	stderr = err;
	FUZZ_CHECK(rc == 0 || rc == -EINVAL, "tg_replay_count: %d", rc);
	FUZZ_CHECK(rr == 0 || rr == -EINVAL, "tg_replay_read: %d", rr);
	if (!rr)
		FUZZ_CHECK(!rc && n == s.frames, "counted %d/%llu, read %llu", rc,
			   (unsigned long long)n, (unsigned long long)s.frames);
	return 0;
}
