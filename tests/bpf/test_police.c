// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Caps and quotas through the real tenant programs (BPF_PROG_TEST_RUN, private maps):
 * what passes, what is dropped and why, what is charged, what the quota counts, the
 * quota event, and the agent's period reset (tg_quota_tick).
 *
 * The rates are tiny (8 kbit/s, 1 packet/s) so that the bucket refills by less than one
 * packet while a case runs: what passes is fixed by the burst the test configured, not by
 * timing. Expected numbers come from the frames the test built (their length, their
 * segments) and the burst it asked for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "policy.h"
#include "tap.h"

#define LEN 1000	 /* bytes of a plain test frame */
#define GSO_PAYLOAD 3000 /* payload of the GSO test frame, 3 segments of 1000 */
#define GSO_SEGS 3
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2

static const char conf[] = "tenants:\n"
			   "  - name: acme\n"
			   "    interfaces: [lo]\n"
			   "    cidrs: [10.1.0.0/24]\n";

enum hook { FROM_TENANT, TO_TENANT }; /* tc ingress (egress caps), tc egress (ingress) */

struct env {
	struct tg_datapath *dp;
	const struct tg_maps *m;
	struct tg_config cfg;
	struct tg_applied ap;
	uint32_t id;
	struct ring_buffer *rb;
	struct tg_event ev[16];
	int n_ev;
};

/* Ethernet, IPv4, then UDP with payload bytes to fill len, or TCP (hdr 54) + payload. */
static size_t frame(uint8_t *f, enum hook h, int tcp, size_t payload)
{
	size_t l4 = tcp ? 20 : 8, len = tcp ? 54 + payload : LEN;

	memset(f, 0, len);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (len - 14) >> 8;
	f[17] = (len - 14) & 0xff;
	f[22] = 64;
	f[23] = tcp ? 6 : 17;
	inet_pton(AF_INET, h == FROM_TENANT ? "10.1.0.2" : "192.0.2.2", f + 26);
	inet_pton(AF_INET, h == FROM_TENANT ? "192.0.2.2" : "10.1.0.2", f + 30);
	f[34] = 0x30, f[35] = 0x39, f[37] = 0x50;
	if (tcp) {
		f[46] = 5 << 4;
		f[47] = 0x10;
	} else {
		f[38] = (l4 + len - 42) >> 8;
		f[39] = (l4 + len - 42) & 0xff;
	}
	return len;
}

static int run_frame(struct env *e, enum hook h, const uint8_t *f, size_t len, uint32_t segs)
{
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));
	int fd = tg_datapath_prog_fd(e->dp,
				     h == FROM_TENANT ? TG_PROG_TC_INGRESS : TG_PROG_TC_EGRESS);

	if (segs > 1) {
		ctx.gso_segs = segs;
		ctx.gso_size = 1000;
	}
	if (bpf_prog_test_run_opts(fd, &opts))
		return -1000;
	return (int)opts.retval;
}

/* Sends n plain frames; returns how many passed (the rest must have been dropped). */
static int send_n(struct env *e, enum hook h, int n, int *odd)
{
	uint8_t f[LEN];
	int passed = 0;

	frame(f, h, 0, 0);
	for (int i = 0; i < n; i++) {
		int r = run_frame(e, h, f, LEN, 1);

		if (r == TC_ACT_UNSPEC)
			passed++;
		else if (r != TC_ACT_SHOT && odd)
			(*odd)++;
	}
	return passed;
}

static struct tg_counter drops(struct env *e, uint32_t reason)
{
	int ncpu = libbpf_num_possible_cpus();
	struct tg_counter *v = calloc(ncpu, sizeof(*v)), sum = { 0 };
	uint32_t cell = e->id * TG_REASON_SLOTS + reason;

	if (v && bpf_map_lookup_elem(e->m->drops, &cell, v) == 0)
		for (int i = 0; i < ncpu; i++) {
			sum.packets += v[i].packets;
			sum.bytes += v[i].bytes;
		}
	free(v);
	return sum;
}

static struct tg_counter billed(struct env *e, int dir)
{
	static struct tg_tenant_stats cells[8 * TG_MAX_CLASSES];
	struct tg_tenant_stats t = { 0 };

	if (tg_maps_read_cells(e->m, cells, e->id + 1) == 0)
		tg_cells_tenant_total(cells, e->id, &t);
	return t.dir[dir];
}

static struct tg_bucket bucket(struct env *e, int dir)
{
	struct tg_bucket b = { 0 };
	uint32_t key = e->id * TG_DIR_MAX + dir;

	bpf_map_lookup_elem(e->m->buckets, &key, &b);
	return b;
}

static void set_bucket(struct env *e, int dir, const struct tg_bucket *b)
{
	uint32_t key = e->id * TG_DIR_MAX + dir;

	bpf_map_update_elem(e->m->buckets, &key, b, BPF_ANY);
}

static void reset_buckets(struct env *e)
{
	struct tg_bucket zero = { 0 };

	set_bucket(e, TG_DIR_INGRESS, &zero);
	set_bucket(e, TG_DIR_EGRESS, &zero);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* New limits and quota for acme, through the agent's own policy writer. */
static int apply(struct env *e, const struct tg_limits *l, const struct tg_quota_conf *q)
{
	struct tg_quota zero = { 0 };

	e->cfg.tenants[0].limits = *l;
	e->cfg.tenants[0].has_limits = true;
	e->cfg.tenants[0].quota = *q;
	reset_buckets(e);
	bpf_map_update_elem(e->m->quota, &e->id, &zero, BPF_ANY);
	return tg_policy_apply(e->m, &e->cfg, &e->ap);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct env *e = ctx;

	const struct tg_event *ev = data;

	/* Enforcement events (rate-limited, one per second and reason) are not looked at. */
	if (len >= sizeof(*ev) && ev->type == TG_EV_QUOTA_EXCEEDED && e->n_ev < 16)
		memcpy(&e->ev[e->n_ev++], ev, sizeof(*ev));
	return 0;
}

/* Quota events that arrived since the last call; *last is the latest. */
static int quota_events(struct env *e, struct tg_event *last)
{
	int n = 0;

	e->n_ev = 0;
	ring_buffer__consume(e->rb);
	for (int i = 0; i < e->n_ev; i++) {
		*last = e->ev[i];
		n++;
	}
	return n;
}

static void test_byte_cap(struct env *e)
{
	struct tg_limits l = { .egress_rate = 8000, .egress_burst = 10000 };
	struct tg_quota_conf q = { 0 };
	struct tg_counter d0, d1, b0, b1;
	int odd = 0, passed, in_passed;

	tap_check(apply(e, &l, &q) == 0, "byte cap: 8 kbit/s egress, 10000-byte burst applied");
	d0 = drops(e, TG_REASON_RATE);
	b0 = billed(e, TG_DIR_EGRESS);
	passed = send_n(e, FROM_TENANT, 20, &odd);
	d1 = drops(e, TG_REASON_RATE);
	b1 = billed(e, TG_DIR_EGRESS);
	/* 10 frames fill the burst; the 11th finds the bucket just at its limit. */
	tap_equal_u64(passed, 11, "byte cap: burst / frame + 1 frames pass");
	tap_equal_u64(odd, 0, "byte cap: every other frame is dropped (TC_ACT_SHOT)");
	tap_equal_u64(d1.packets - d0.packets, 20 - 11, "byte cap: drops counted, reason rate");
	tap_equal_u64(d1.bytes - d0.bytes, (20 - 11) * LEN, "byte cap: dropped bytes counted");
	tap_equal_u64(b1.bytes - b0.bytes, 11 * LEN, "byte cap: only what passed is billed");
	in_passed = send_n(e, TO_TENANT, 20, NULL);
	tap_equal_u64(in_passed, 20, "byte cap: the other direction is not capped");
	tap_equal_u64(bucket(e, TG_DIR_INGRESS).tat_bytes, 0,
		      "byte cap: the ingress bucket is untouched");
}

/* Each packet moves the bucket on by exactly its wire bytes' worth: a GSO super-packet
 * pays for every segment's headers (the byte rule), not for skb->len. */
static void test_charge(struct env *e)
{
	struct tg_limits l = { .egress_rate = 8000, .egress_burst = 10000 };
	struct tg_quota_conf q = { 0 };
	struct tg_bucket b, a;
	uint8_t f[54 + GSO_PAYLOAD];
	size_t len = frame(f, FROM_TENANT, 1, GSO_PAYLOAD);
	uint64_t wire = len + (GSO_SEGS - 1) * 54;
	int r;

	apply(e, &l, &q);
	b = bucket(e, TG_DIR_EGRESS);
	b.tat_bytes = mono_ns() + 5000000000ull; /* 5 s ahead: within the 10 s burst */
	set_bucket(e, TG_DIR_EGRESS, &b);
	r = run_frame(e, FROM_TENANT, f, len, GSO_SEGS);
	a = bucket(e, TG_DIR_EGRESS);
	tap_equal_u64(r, (uint64_t)TC_ACT_UNSPEC,
		      "charge: a GSO super-packet within the burst passes");
	tap_equal_u64(a.tat_bytes - b.tat_bytes, wire * 1000000ull,
		      "charge: %llu wire bytes (%zu-byte skb, %d segments) cost 1 ms each",
		      (unsigned long long)wire, len, GSO_SEGS);
	b = a;
	b.tat_bytes = mono_ns() + 10000000000ull + 100000000ull; /* 10.1 s: over the burst */
	set_bucket(e, TG_DIR_EGRESS, &b);
	r = run_frame(e, FROM_TENANT, f, len, GSO_SEGS);
	a = bucket(e, TG_DIR_EGRESS);
	tap_equal_u64(r, TC_ACT_SHOT, "charge: a bucket past its burst drops");
	tap_equal_u64(a.tat_bytes, b.tat_bytes, "charge: a dropped packet takes nothing");
}

static void test_packet_cap(struct env *e)
{
	struct tg_limits l = { .egress_pps = 1, .egress_rate = 8000, .egress_burst = 1000000 };
	struct tg_quota_conf q = { 0 };
	struct tg_counter d0, d1;
	struct tg_bucket b0, b1;
	uint8_t f[54 + GSO_PAYLOAD];
	size_t len = frame(f, FROM_TENANT, 1, GSO_PAYLOAD);
	int passed, r;

	tap_check(apply(e, &l, &q) == 0, "packet cap: 1 packet/s egress applied");
	/* The packet cap's burst is 250 ms of its rate, at least TG_BURST_MIN_PKTS. */
	r = run_frame(e, FROM_TENANT, f, len, GSO_SEGS);
	tap_equal_u64(r, (uint64_t)TC_ACT_UNSPEC, "packet cap: a %d-segment super-packet passes",
		      GSO_SEGS);
	d0 = drops(e, TG_REASON_PPS);
	passed = send_n(e, FROM_TENANT, TG_BURST_MIN_PKTS + 8, NULL);
	d1 = drops(e, TG_REASON_PPS);
	tap_equal_u64(passed, TG_BURST_MIN_PKTS - GSO_SEGS + 1,
		      "packet cap: the super-packet counted %d frames of the %d-frame burst",
		      GSO_SEGS, TG_BURST_MIN_PKTS);
	tap_equal_u64(d1.packets - d0.packets, 8 + GSO_SEGS - 1,
		      "packet cap: drops counted, reason pps");
	b0 = bucket(e, TG_DIR_EGRESS);
	r = run_frame(e, FROM_TENANT, f, len, 1);
	b1 = bucket(e, TG_DIR_EGRESS);
	tap_equal_u64(r, TC_ACT_SHOT, "packet cap: still over");
	tap_equal_u64(b1.tat_bytes, b0.tat_bytes,
		      "packet cap: a packet the packet cap refuses takes no byte tokens");
}

static void test_quota_alert(struct env *e)
{
	struct tg_limits l = { 0 };
	struct tg_quota_conf q = { .bytes = 5 * LEN,
				   .period = TG_PERIOD_MONTHLY,
				   .action = TG_QUOTA_ALERT,
				   .egress = true };
	struct tg_quota k = { 0 };
	struct tg_event ev = { 0 };
	int n;

	tap_check(apply(e, &l, &q) == 0, "quota alert: 5 frames' worth, egress only");
	quota_events(e, &ev);
	tap_equal_u64(send_n(e, FROM_TENANT, 4, NULL), 4, "quota alert: 4 frames pass");
	bpf_map_lookup_elem(e->m->quota, &e->id, &k);
	tap_equal_u64(k.used, 4 * LEN, "quota alert: used counts billed egress bytes");
	tap_equal_u64(k.exceeded, 0, "quota alert: not exceeded below the quota");
	tap_equal_u64(send_n(e, TO_TENANT, 3, NULL), 3, "quota alert: ingress frames pass");
	bpf_map_lookup_elem(e->m->quota, &e->id, &k);
	tap_equal_u64(k.used, 4 * LEN, "quota alert: ingress does not count (direction egress)");
	tap_equal_u64(quota_events(e, &ev), 0, "quota alert: no event yet");
	tap_equal_u64(send_n(e, FROM_TENANT, 3, NULL), 3, "quota alert: traffic goes on");
	bpf_map_lookup_elem(e->m->quota, &e->id, &k);
	tap_equal_u64(k.exceeded, 1, "quota alert: exceeded once used reaches the quota");
	tap_equal_u64(k.used, 7 * LEN, "quota alert: used keeps counting past the quota");
	n = quota_events(e, &ev);
	tap_equal_u64(n, 1, "quota alert: exactly one quota_exceeded event");
	tap_equal_u64(ev.value, 5 * LEN,
		      "quota alert: the event says the bytes used at the crossing");
	tap_equal_u64(ev.tenant_id, e->id, "quota alert: the event names the tenant");
	tap_equal_u64(ev.dir, TG_DIR_EGRESS, "quota alert: and the direction that crossed");
}

static void test_quota_throttle(struct env *e)
{
	struct tg_limits l = { 0 };
	struct tg_quota_conf q = { .bytes = 5 * LEN,
				   .period = TG_PERIOD_MONTHLY,
				   .action = TG_QUOTA_THROTTLE,
				   .throttle_rate = 8000,
				   .ingress = true,
				   .egress = true };
	uint64_t burst = tg_default_burst(8000);
	int expect = (int)(burst / LEN) + 1, passed, in_passed;
	struct tg_counter d0, d1;
	struct tg_event ev;

	tap_check(apply(e, &l, &q) == 0, "quota throttle: 8 kbit/s after 5 frames' worth");
	quota_events(e, &ev);
	tap_equal_u64(send_n(e, TO_TENANT, 5, NULL), 5, "quota throttle: 5 frames pass freely");
	tap_equal_u64(quota_events(e, &ev), 1, "quota throttle: ingress bytes crossed it: event");
	d0 = drops(e, TG_REASON_QUOTA_THROTTLE);
	passed = send_n(e, FROM_TENANT, expect + 20, NULL);
	d1 = drops(e, TG_REASON_QUOTA_THROTTLE);
	tap_equal_u64(passed, expect,
		      "quota throttle: egress falls to the throttle rate (default burst %llu)",
		      (unsigned long long)burst);
	tap_equal_u64(d1.packets - d0.packets, 20,
		      "quota throttle: drops counted, reason quota_throttle");
	in_passed = send_n(e, TO_TENANT, expect + 20, NULL);
	tap_equal_u64(in_passed, expect, "quota throttle: ingress has its own throttle bucket");
}

static void test_quota_block_and_reset(struct env *e)
{
	struct tg_limits l = { 0 };
	struct tg_quota_conf q = { .bytes = 5 * LEN,
				   .period = TG_PERIOD_MONTHLY,
				   .action = TG_QUOTA_BLOCK,
				   .egress = true };
	struct tg_counter d0, d1;
	struct tg_quota k = { 0 };
	struct tg_event ev;
	int r;

	tap_check(apply(e, &l, &q) == 0, "quota block: 5 frames' worth, then nothing");
	r = tg_quota_tick(e->m, &e->cfg, &e->ap, 1709214310, NULL); /* 2024-02-29 */
	tap_equal_u64(r, 1, "tick: a fresh quota gets its period");
	bpf_map_lookup_elem(e->m->quota, &e->id, &k);
	tap_equal_u64(k.period_start, 1706745600, "tick: the period began 2024-02-01");
	quota_events(e, &ev);
	tap_equal_u64(send_n(e, FROM_TENANT, 5, NULL), 5, "quota block: 5 frames pass");
	d0 = drops(e, TG_REASON_QUOTA_BLOCK);
	tap_equal_u64(send_n(e, FROM_TENANT, 10, NULL), 0,
		      "quota block: then every frame is dropped");
	tap_equal_u64(send_n(e, TO_TENANT, 10, NULL), 0, "quota block: both directions");
	d1 = drops(e, TG_REASON_QUOTA_BLOCK);
	tap_equal_u64(d1.packets - d0.packets, 20,
		      "quota block: drops counted, reason quota_block");
	tap_equal_u64(quota_events(e, &ev), 1, "quota block: one event");

	r = tg_quota_tick(e->m, &e->cfg, &e->ap, 1709251199, NULL); /* 02-29 23:59:59 */
	bpf_map_lookup_elem(e->m->quota, &e->id, &k);
	tap_check(r == 0 && k.exceeded == 1 && k.used == 5 * LEN,
		  "tick: the last second of February resets nothing");
	r = tg_quota_tick(e->m, &e->cfg, &e->ap, 1709251200, NULL); /* 03-01 00:00:00 */
	bpf_map_lookup_elem(e->m->quota, &e->id, &k);
	tap_equal_u64(r, 1, "tick: March 1st 00:00 UTC resets the quota");
	tap_check(k.used == 0 && k.exceeded == 0 && k.period_start == 1709251200,
		  "tick: used and exceeded cleared, the new period recorded");
	tap_equal_u64(send_n(e, FROM_TENANT, 5, NULL), 5, "quota block: traffic flows again");
	tap_equal_u64(send_n(e, FROM_TENANT, 1, NULL), 0,
		      "quota block: until the quota is used again");
	tap_equal_u64(quota_events(e, &ev), 1, "quota block: one event in the new period");
}

int main(void)
{
	struct tg_datapath_opts o = { .flow_capacity = 1024 };
	struct tg_diags diags = {};
	struct tg_iface ifc = { .role = TG_ROLE_TENANT, .name = "lo" };
	struct env e = {};
	uint32_t one = 1;

	tg_libbpf_quiet();
	if (!tap_check(tg_config_parse("police.yaml", conf, sizeof(conf) - 1, &e.cfg, &diags) == 0,
		       "configuration parses") ||
	    !tap_check(tg_datapath_load(NULL, &o, &e.dp) == 0, "datapath with private maps"))
		return tap_done();
	e.m = tg_datapath_maps(e.dp);
	tap_check(tg_apply(e.m, &e.cfg, &e.ap) == 0, "tenant programmed");
	e.id = e.ap.tenant_ids[0];
	ifc.tenant_id = e.id;
	/* The test-run device (lo, ifindex 1) plays acme's host-side interface. */
	bpf_map_update_elem(e.m->ifaces, &one, &ifc, BPF_ANY);
	e.rb = ring_buffer__new(e.m->events, on_event, &e, NULL);
	tap_check(e.rb != NULL, "event ring buffer opened");

	test_byte_cap(&e);
	test_charge(&e);
	test_packet_cap(&e);
	test_quota_alert(&e);
	test_quota_throttle(&e);
	test_quota_block_and_reset(&e);

	ring_buffer__free(e.rb);
	tg_applied_free(&e.ap);
	tg_datapath_close(e.dp);
	tg_config_free(&e.cfg);
	tg_diags_free(&diags);
	return tap_done();
}
