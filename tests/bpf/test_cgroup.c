// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * BPF_PROG_TEST_RUN cases for the cgroup_skb programs (bpf/cgroup.bpf.c): the verdicts
 * and the tg_drops cells they leave. A test run gives its skb a socket created in the
 * caller's cgroup, so the test moves itself into a cgroup of its own and records that
 * cgroup in tg_cgroups: the programs find the tenant the way they do for real traffic.
 * Expected sizes come from the frames as the test built them: an skb standing for segs
 * frames is len + (segs - 1) x headers on the wire, Ethernet included.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath.h"
#include "mounts.h"
#include "policy.h"
#include "tap.h"

#define TENANT 5 /* the tenant of the test's cgroup */
#define OTHER 9	 /* another tenant, owning 10.9.0.0/16 */
#define MAX_FRAME 4000

struct frame {
	uint8_t b[MAX_FRAME];
	size_t len, hdr_len; /* hdr_len: Ethernet to the end of the transport header */
};

static void put(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

/* Ethernet, IPv4 or IPv6 (with a hop-by-hop header when hbh), TCP or UDP, payload. */
static void build(struct frame *f, int v6, int hbh, uint8_t proto, const char *src, const char *dst,
		  size_t payload)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	size_t l4 = proto == IPPROTO_TCP ? 20 : 8;
	uint8_t h[60] = { 0 }, t[20] = { 0x30, 0x39, 0x00, 0x50 };
	uint16_t proto_eth = htons(v6 ? 0x86dd : 0x0800), n;

	memset(f, 0, sizeof(*f));
	put(f, macs, 12);
	put(f, &proto_eth, 2);
	if (v6) {
		h[0] = 0x60;
		n = htons((hbh ? 8 : 0) + l4 + payload);
		memcpy(h + 4, &n, 2);
		h[6] = hbh ? 0 : proto;
		h[7] = 64;
		inet_pton(AF_INET6, src, h + 8);
		inet_pton(AF_INET6, dst, h + 24);
		put(f, h, 40);
		if (hbh) {
			uint8_t o[8] = { proto, 0, 1, 4 }; /* PadN */

			put(f, o, 8);
		}
	} else {
		h[0] = 0x45;
		n = htons(20 + l4 + payload);
		memcpy(h + 2, &n, 2);
		h[8] = 64;
		h[9] = proto;
		inet_pton(AF_INET, src, h + 12);
		inet_pton(AF_INET, dst, h + 16);
		put(f, h, 20);
	}
	if (proto == IPPROTO_TCP) {
		t[12] = 5 << 4;
		t[13] = 0x10;
	} else {
		n = htons(8 + payload);
		memcpy(t + 4, &n, 2);
	}
	put(f, t, l4);
	f->hdr_len = f->len;
	memset(f->b + f->len, 'x', payload);
	f->len += payload;
}

static int prog_in, prog_out;
static const struct tg_maps *m;

static int run(int prog, const struct frame *f, uint32_t segs, uint32_t size)
{
	struct __sk_buff ctx = { .ifindex = 1, .gso_segs = segs, .gso_size = size };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	if (bpf_prog_test_run_opts(prog, &opts))
		return -errno;
	return (int)opts.retval;
}

/* tg_drops[tenant][reason], summed over CPUs. */
static struct tg_counter drops(uint32_t tenant, uint32_t reason)
{
	int cpus = libbpf_num_possible_cpus();
	struct tg_counter sum = { 0 }, *v = calloc(cpus, sizeof(*v));
	uint32_t cell = tenant * TG_REASON_SLOTS + reason;

	if (v && !bpf_map_lookup_elem(m->drops, &cell, v)) {
		for (int c = 0; c < cpus; c++) {
			sum.packets += v[c].packets;
			sum.bytes += v[c].bytes;
		}
	}
	free(v);
	return sum;
}

/* One case: a verdict, and the delta of one tg_drops cell (0 packets: no drop at all,
 * checked over every reason of the tenant). */
static void expect(const char *name, int prog, const struct frame *f, uint32_t segs, int verdict,
		   uint32_t reason, uint64_t packets, uint64_t bytes)
{
	struct tg_counter before[TG_REASON_MAX], after;
	int got, ok = 1;

	for (uint32_t r = 0; r < TG_REASON_MAX; r++)
		before[r] = drops(TENANT, r);
	got = run(prog, f, segs, segs > 1 ? 1448 : 0);
	for (uint32_t r = 0; r < TG_REASON_MAX; r++) {
		uint64_t wp = r == reason ? packets : 0, wb = r == reason ? bytes : 0;

		after = drops(TENANT, r);
		if (after.packets - before[r].packets != wp ||
		    after.bytes - before[r].bytes != wb) {
			tap_diag("%s: reason %u: +%llu packets +%llu bytes, want +%llu +%llu", name,
				 r, (unsigned long long)(after.packets - before[r].packets),
				 (unsigned long long)(after.bytes - before[r].bytes),
				 (unsigned long long)wp, (unsigned long long)wb);
			ok = 0;
		}
	}
	if (got != verdict)
		tap_diag("%s: verdict %d, want %d", name, got, verdict);
	tap_check(ok && got == verdict, "%s", name);
}

/* Wire size of an skb standing for segs frames, by the byte rule. */
static uint64_t wire(const struct frame *f, uint32_t segs)
{
	return f->len + (uint64_t)(segs - 1) * f->hdr_len;
}

static int setup_maps(uint64_t cgid)
{
	struct tg_cgroup_val cv = { .tenant_id = TENANT, .level = 1 };
	struct tg_policy pol = { .flags = TG_POL_ENFORCE | TG_POL_ISOLATED };
	struct tg_deny4_key d4 = { .prefixlen = 32 + 32, .tenant_id = htonl(0) };
	struct tg_deny6_key d6 = { .prefixlen = 32 + 128, .tenant_id = htonl(0) };
	struct tg_deny_rules any = { .n = 1,
				     .r = { { .proto = 0, .port_lo = 0, .port_hi = 65535 } } };
	struct tg_lpm4_key other = { .prefixlen = 16, .addr = { 10, 9, 0, 0 } };
	uint32_t tenant = TENANT, other_id = OTHER;

	inet_pton(AF_INET, "192.0.2.66", d4.addr);
	inet_pton(AF_INET6, "2001:db8::66", d6.addr);
	if (bpf_map_update_elem(m->cgroups, &cgid, &cv, BPF_ANY) ||
	    bpf_map_update_elem(m->policy, &tenant, &pol, BPF_ANY) ||
	    bpf_map_update_elem(m->deny4, &d4, &any, BPF_ANY) ||
	    bpf_map_update_elem(m->deny6, &d6, &any, BPF_ANY) ||
	    bpf_map_update_elem(m->lpm4, &other, &other_id, BPF_ANY))
		return -errno;
	return 0;
}

static void cases(void)
{
	static struct frame f;

	build(&f, 0, 0, IPPROTO_UDP, "10.1.0.2", "192.0.2.1", 100);
	expect("egress udp to an allowed address passes", prog_out, &f, 1, 1, 0, 0, 0);
	build(&f, 0, 0, IPPROTO_UDP, "10.1.0.2", "192.0.2.66", 100);
	expect("egress udp to a denied address: dropped, counted at its wire size", prog_out, &f, 1,
	       0, TG_REASON_DENY, 1, wire(&f, 1));
	build(&f, 0, 0, IPPROTO_TCP, "10.1.0.2", "192.0.2.66", 2 * 1448);
	expect("egress tcp GSO (2 segments) to a denied address: 2 frames, headers twice", prog_out,
	       &f, 2, 0, TG_REASON_DENY, 2, wire(&f, 2));
	build(&f, 1, 1, IPPROTO_TCP, "fd00:1::2", "2001:db8::66", 3 * 1000);
	expect("egress ipv6 tcp (hop-by-hop header, 3 segments) to a denied address", prog_out, &f,
	       3, 0, TG_REASON_DENY, 3, wire(&f, 3));
	build(&f, 1, 0, IPPROTO_UDP, "fd00:1::2", "2001:db8::1", 10);
	expect("egress ipv6 udp to an allowed address passes", prog_out, &f, 1, 1, 0, 0, 0);
	build(&f, 0, 0, IPPROTO_UDP, "10.9.0.5", "10.1.0.2", 300);
	expect("ingress from another tenant's address: dropped (segmentation)", prog_in, &f, 1, 0,
	       TG_REASON_SEGMENT, 1, wire(&f, 1));
	build(&f, 0, 0, IPPROTO_UDP, "192.0.2.1", "10.1.0.2", 300);
	expect("ingress from an address no tenant owns passes", prog_in, &f, 1, 1, 0, 0, 0);
	build(&f, 0, 0, IPPROTO_TCP, "10.1.0.2", "10.9.0.5", 50);
	expect("egress tcp to another tenant's address: dropped (segmentation)", prog_out, &f, 1, 0,
	       TG_REASON_SEGMENT, 1, wire(&f, 1));
}

/* A packet-rate cap of 1 a second: once it is used up, TCP is dropped with congestion
 * notification (2), UDP plainly (0). */
static void cap_cases(void)
{
	struct tg_policy pol = { .flags = TG_POL_ENFORCE };
	struct tg_counter before, after;
	static struct frame f;
	uint32_t tenant = TENANT;
	int v, cn = 0, pass = 0, other = 0;

	tg_rate_compute(1, 1, &pol.pps[TG_DIR_EGRESS]);
	if (bpf_map_update_elem(m->policy, &tenant, &pol, BPF_ANY)) {
		tap_check(0, "cannot write the policy: %s", strerror(errno));
		return;
	}
	before = drops(TENANT, TG_REASON_PPS);
	build(&f, 0, 0, IPPROTO_TCP, "10.1.0.2", "192.0.2.1", 100);
	for (int i = 0; i < 8; i++) {
		v = run(prog_out, &f, 1, 0);
		cn += v == 2;
		pass += v == 1;
	}
	after = drops(TENANT, TG_REASON_PPS);
	tap_check(cn > 0 && pass > 0 && cn + pass == 8,
		  "tcp over a packet-rate cap: dropped with congestion notification (%d of 8, %d "
		  "passed)",
		  cn, pass);
	tap_equal_u64(after.packets - before.packets, cn, "each counted once in tg_drops (pps)");
	build(&f, 0, 0, IPPROTO_UDP, "10.1.0.2", "192.0.2.1", 100);
	for (int i = 0; i < 8; i++) {
		v = run(prog_out, &f, 1, 0);
		other += v != 0;
	}
	tap_equal_u64(other, 0, "udp over the cap: plain drops (0), no congestion notification");
}

int main(void)
{
	char mnt[256], dir[320], procs[352], home[800], line[512];
	struct tg_datapath *dp;
	uint64_t cgid;
	struct stat st;
	FILE *f;
	int err;

	libbpf_set_print(NULL);
	if (tg_cgroup2_mount(mnt, sizeof(mnt))) {
		tap_check(0, "cannot run: no cgroup2 mount");
		return tap_done();
	}
	/* Where the test came from, to go back before the cgroup is removed. */
	snprintf(home, sizeof(home), "%s/cgroup.procs", mnt);
	f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(home, sizeof(home), "%s%s/cgroup.procs", mnt,
				 strcmp(line + 3, "/") ? line + 3 : "");
		}
	}
	if (f)
		fclose(f);
	snprintf(dir, sizeof(dir), "%s/tollgate-bpftest-%d", mnt, getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	if (mkdir(dir, 0755) || stat(dir, &st)) {
		tap_check(0, "cannot run: cannot create %s: %s", dir, strerror(errno));
		return tap_done();
	}
	f = fopen(procs, "w");
	err = !f || fprintf(f, "%d\n", getpid()) < 0;
	if (f && fclose(f))
		err = 1;
	if (err) {
		tap_check(0, "cannot run: cannot enter %s", dir);
		rmdir(dir);
		return tap_done();
	}

	err = tg_datapath_load(NULL, NULL, &dp);
	if (err) {
		tap_check(0, "cannot load the datapath: %s", strerror(-err));
		goto out;
	}
	m = tg_datapath_maps(dp);
	prog_in = tg_datapath_cgroup_prog(dp, TG_CG_SKB_INGRESS, NULL);
	prog_out = tg_datapath_cgroup_prog(dp, TG_CG_SKB_EGRESS, NULL);
	err = setup_maps(st.st_ino);
	if (!tap_check(!err, "tenant, policy, deny lists and tenants' addresses written"))
		goto close;
	cases();

	/* The same denied packet from a cgroup that is no tenant's: not ours to judge. */
	cgid = st.st_ino;
	bpf_map_delete_elem(m->cgroups, &cgid);
	{
		static struct frame fr;

		build(&fr, 0, 0, IPPROTO_UDP, "10.1.0.2", "192.0.2.66", 100);
		expect("a cgroup no tenant owns: passes, nothing counted", prog_out, &fr, 1, 1, 0,
		       0, 0);
	}
	setup_maps(st.st_ino);
	cap_cases();
close:
	tg_datapath_close(dp);
out:
	f = fopen(home, "w");
	if (f) {
		fprintf(f, "%d\n", getpid());
		fclose(f);
	}
	if (rmdir(dir))
		tap_diag("cannot remove %s: %s", dir, strerror(errno));
	return tap_done();
}
