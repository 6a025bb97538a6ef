// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Billing counters crossing 2^64 in the kernel. A tenant's per-CPU cells in
 * tg_tenant_stats are seeded to just below 2^64 (as if the maps had counted 16 EiB and
 * been harvested along the way: two harvests through tg_harvest bring the store's cursor
 * there), then frames go through the real tc programs (BPF_PROG_TEST_RUN, the test
 * pinned to one CPU at a time) until the cells wrap, and tg_harvest bills them into a
 * real SQLite store. The usage rows, read back with SQL, must equal the frames sent:
 * packets counted, bytes their lengths by the byte rule (a GSO super-packet of n
 * segments is its length plus n - 1 copies of the headers the test wrote).
 *
 * The cases: one CPU's cell wrapping while the sum does not; the other CPU's cell
 * wrapping and the sum with it; the sum wrapping while no cell does (cells near 2^63);
 * and traffic on both CPUs between two harvests. The kernel's own cells are read back
 * each time, so the test knows each wrap really happened where it says.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sqlite3.h>

#include "apply.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "harvest.h"
#include "store.h"
#include "tap.h"

#define T0 1767225600 /* 2026-01-01T00:00:00Z: the first interval's start */
#define IVL 60
#define P62 (1ull << 62)
#define P63 (1ull << 63)
#define MAXF 3200
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char conf[] = "tenants:\n"
			   "  - name: acme\n"
			   "    cidrs: [10.1.0.0/24, \"fd00:1::/64\"]\n";

static struct tg_datapath *dp;
static const struct tg_maps *m;
static struct tg_applied ap;
static struct tg_store *store;
static char dbpath[64];
static int ncpu, cpu_a, cpu_b;
static uint32_t acme, cell;

/* What the test sent since the last harvest, per direction (its own arithmetic). */
static uint64_t sent_bytes[TG_DIR_MAX], sent_packets[TG_DIR_MAX];
static uint64_t total_bytes, total_packets;
/* The store's cursor (cumulative bytes) after the last harvest and the one before. */
static uint64_t cur_bytes[TG_DIR_MAX], prev_bytes[TG_DIR_MAX];

/* ---- frames ---- */

struct frame {
	uint8_t b[MAXF];
	size_t len, hdr_len;
};

/* Ethernet, IPv4 or IPv6, UDP (or TCP when tcp), padded with payload to len bytes. */
static void build(struct frame *f, const char *src, const char *dst, int tcp, size_t len)
{
	int v6 = strchr(src, ':') != NULL;
	size_t l3 = 14, l4 = l3 + (v6 ? 40 : 20), end = l4 + (tcp ? 20 : 8);
	uint8_t *b = f->b;

	memset(f, 0, sizeof(*f));
	memcpy(b, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	b[12] = v6 ? 0x86 : 0x08;
	b[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		b[l3] = 0x60;
		b[l3 + 4] = (len - l4) >> 8, b[l3 + 5] = (len - l4) & 0xff;
		b[l3 + 6] = tcp ? 6 : 17;
		b[l3 + 7] = 64;
		inet_pton(AF_INET6, src, b + l3 + 8);
		inet_pton(AF_INET6, dst, b + l3 + 24);
	} else {
		b[l3] = 0x45;
		b[l3 + 2] = (len - l3) >> 8, b[l3 + 3] = (len - l3) & 0xff;
		b[l3 + 8] = 64;
		b[l3 + 9] = tcp ? 6 : 17;
		inet_pton(AF_INET, src, b + l3 + 12);
		inet_pton(AF_INET, dst, b + l3 + 16);
	}
	b[l4] = 0x9c, b[l4 + 1] = 0x40, b[l4 + 2] = 0x01, b[l4 + 3] = 0xbb; /* 40000 -> 443 */
	if (tcp) {
		b[l4 + 12] = 5 << 4;
		b[l4 + 13] = 0x10;
	} else {
		b[l4 + 4] = (len - l4) >> 8, b[l4 + 5] = (len - l4) & 0xff;
	}
	memset(b + end, 'w', len - end);
	f->len = len;
	f->hdr_len = end;
}

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* One frame (or a super-packet of segs segments) through a tc program on cpu; dir is
 * the direction it is billed in, from the tenant (the device is a capture point). */
static int send_on(int cpu, enum tg_prog prog, const struct frame *f, uint32_t segs, int dir)
{
	struct __sk_buff ctx = { .ifindex = 1,
				 .gso_segs = segs > 1 ? segs : 0,
				 .gso_size =
					 segs > 1 ? (uint32_t)((f->len - f->hdr_len) / segs) : 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = (uint32_t)f->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	uint64_t n = segs > 1 ? segs : 1;
	int err = pin_to(cpu);

	if (!err && bpf_prog_test_run_opts(tg_datapath_prog_fd(dp, prog), &opts))
		err = -errno;
	if (!err && (int)opts.retval != -1)
		err = -EPROTO; /* the meter passes everything here (TC_ACT_UNSPEC) */
	if (err)
		return err;
	/* the byte rule: each segment on the wire repeats the headers */
	sent_bytes[dir] += f->len + (n - 1) * f->hdr_len;
	sent_packets[dir] += n;
	return 0;
}

/* ---- the kernel's cells ---- */

static int cells_read(struct tg_tenant_stats *v)
{
	return bpf_map_lookup_elem(m->tenant_stats, &cell, v) ? -errno : 0;
}

static int cells_write(const struct tg_tenant_stats *v)
{
	return bpf_map_update_elem(m->tenant_stats, &cell, v, BPF_ANY) ? -errno : 0;
}

struct seed {
	uint64_t in_bytes, in_packets, out_bytes, out_packets;
};

static int seed_cells(const struct seed *a, const struct seed *b)
{
	struct tg_tenant_stats *v = calloc(ncpu, sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	v[cpu_a].dir[TG_DIR_INGRESS] = (struct tg_counter){ a->in_packets, a->in_bytes };
	v[cpu_a].dir[TG_DIR_EGRESS] = (struct tg_counter){ a->out_packets, a->out_bytes };
	v[cpu_b].dir[TG_DIR_INGRESS] = (struct tg_counter){ b->in_packets, b->in_bytes };
	v[cpu_b].dir[TG_DIR_EGRESS] = (struct tg_counter){ b->out_packets, b->out_bytes };
	err = cells_write(v);
	free(v);
	return err;
}

/* ---- the store, read back with SQL ---- */

static sqlite3 *db;

static int sql_u64(const char *q, int64_t a, const char *s, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, q, -1, &st, NULL);

	*out = 0;
	if (rc == SQLITE_OK && a != INT64_MIN)
		rc = sqlite3_bind_int64(st, 1, a);
	if (rc == SQLITE_OK && s)
		rc = sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0); /* int64 bit pattern -> uint64 */
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK; /* no row: 0 */
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		tap_diag("sql %s: %s", q, sqlite3_errmsg(db));
	return rc == SQLITE_OK ? 0 : -EIO;
}

/* acme's usage in one interval and direction. */
static void usage(int64_t start, int dir, uint64_t *bytes, uint64_t *packets)
{
	const char *d = tg_dir_name(dir);

	sql_u64("SELECT COALESCE(SUM(bytes), 0) FROM usage WHERE tenant = 'acme' AND "
		"interval_start = ?1 AND direction = ?2",
		start, d, bytes);
	sql_u64("SELECT COALESCE(SUM(packets), 0) FROM usage WHERE tenant = 'acme' AND "
		"interval_start = ?1 AND direction = ?2",
		start, d, packets);
}

/* The store's cursor for acme's internet cell (cumulative, as the int64 bit pattern). */
static void cursor(int dir, uint64_t *bytes, uint64_t *packets)
{
	const char *d = tg_dir_name(dir);

	sql_u64("SELECT bytes FROM cursor WHERE tenant_id = ?1 AND class_id = 0 AND "
		"direction = ?2",
		acme, d, bytes);
	sql_u64("SELECT packets FROM cursor WHERE tenant_id = ?1 AND class_id = 0 AND "
		"direction = ?2",
		acme, d, packets);
}

/* Harvests into interval start and checks that the usage rows there equal what was sent
 * since the last harvest, then that the cursor equals the kernel's sum over CPUs. */
static void harvest_and_check(const char *what, int64_t start)
{
	struct tg_tenant_stats *v = calloc(ncpu, sizeof(*v));
	uint64_t billed = 0, b, p, want_b = 0, want_p = 0;
	int err = tg_harvest(m, ap.meta, store, "wrap-node", start, IVL, &billed);

	tap_check(err == 0, "%s: harvest: %s", what, err ? strerror(-err) : "ok");
	tap_equal_u64(billed, sent_bytes[0] + sent_bytes[1],
		      "%s: the harvest billed the bytes sent", what);
	for (int d = 0; d < TG_DIR_MAX; d++) {
		usage(start, d, &b, &p);
		tap_equal_u64(b, sent_bytes[d], "%s: usage %s bytes = the frames' wire bytes", what,
			      tg_dir_name(d));
		tap_equal_u64(p, sent_packets[d], "%s: usage %s packets = the frames sent", what,
			      tg_dir_name(d));
		total_bytes += sent_bytes[d];
		total_packets += sent_packets[d];
		sent_bytes[d] = sent_packets[d] = 0;
	}
	if (!v || cells_read(v)) {
		tap_check(0, "%s: the kernel's cells read back", what);
		free(v);
		return;
	}
	for (int d = 0; d < TG_DIR_MAX; d++) {
		want_b = want_p = 0;
		for (int c = 0; c < ncpu; c++) {
			want_b += v[c].dir[d].bytes; /* modulo 2^64, as the harvest sums them */
			want_p += v[c].dir[d].packets;
		}
		cursor(d, &b, &p);
		prev_bytes[d] = cur_bytes[d];
		cur_bytes[d] = b;
		tap_check(b == want_b && p == want_p,
			  "%s: cursor %s = the kernel's sum over CPUs mod 2^64 (%llu bytes, %llu "
			  "packets)",
			  what, tg_dir_name(d), (unsigned long long)b, (unsigned long long)p);
	}
	free(v);
}

/* Expected value of one CPU's cell after adding n to seed: the check that the wrap
 * happened on that CPU (the value is small again) and nowhere else. */
static void expect_cell(const char *what, int cpu, int dir, uint64_t bytes, uint64_t packets)
{
	struct tg_tenant_stats *v = calloc(ncpu, sizeof(*v));

	if (!v || cells_read(v)) {
		tap_check(0, "%s: the kernel's cells read back", what);
		free(v);
		return;
	}
	if (!tap_check(v[cpu].dir[dir].bytes == bytes && v[cpu].dir[dir].packets == packets,
		       "%s: CPU %d %s cell is %llu bytes, %llu packets", what, cpu,
		       tg_dir_name(dir), (unsigned long long)bytes, (unsigned long long)packets))
		tap_diag("  it is %llu bytes, %llu packets",
			 (unsigned long long)v[cpu].dir[dir].bytes,
			 (unsigned long long)v[cpu].dir[dir].packets);
	free(v);
}

static int find_cpus(void)
{
	cpu_set_t set;
	int found = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (int c = 0; c < ncpu && c < CPU_SETSIZE && found < 2; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (found++)
			cpu_b = c;
		else
			cpu_a = c;
	}
	return found == 2 ? 0 : -ENODEV;
}

static void send_all(const char *what, int cpu, enum tg_prog prog, const char *src, const char *dst,
		     int dir, const size_t *lens, size_t n)
{
	static struct frame f;
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		build(&f, src, dst, 0, lens[i]);
		err = send_on(cpu, prog, &f, 1, dir);
	}
	tap_check(err == 0, "%s: %zu frames through %s on CPU %d%s%s", what, n,
		  prog == TG_PROG_TC_INGRESS ? "tc ingress" : "tc egress", cpu, err ? ": " : "",
		  err ? strerror(-err) : "");
}

int main(void)
{
	/* History: two harvests, each less than 2^63 apart, bring the cursor to 2^64 - 1000
	 * bytes in and 2^64 - 300 out. In: CPU A at 2^64 - 400, CPU B at 2^64 - 600 (both
	 * wrap with the next few hundred bytes). Out: both near 2^63, so their sum wraps
	 * while neither cell does. */
	static const struct seed h1a = { P62, P62 - 2, P62 - 50, P62 - 1 },
				 h1b = { P62 - 500, P62 - 2, P62 - 100, P62 - 1 },
				 h2a = { -400ull, -3ull, P63 - 100, P63 - 1 },
				 h2b = { -600ull, -4ull, P63 - 200, P63 - 2 };
	static const size_t in_a[] = { 60, 150, 333, 64, 90 }, /* 697 bytes, 5 frames */
		out_a[] = { 100, 120 },			       /* 220, 2 */
		in_b[] = { 700, 128, 64, 200, 90, 66 },	       /* 1248, 6 */
		out_b[] = { 150, 130 };			       /* 280, 2 */
	struct tg_datapath_opts o = { .flow_capacity = 4096 };
	struct tg_config cfg = {};
	struct tg_diags diags = {};
	cpu_set_t saved;
	uint64_t b, p;
	int fd, err;

	tg_libbpf_quiet();
	ncpu = libbpf_num_possible_cpus();
	sched_getaffinity(0, sizeof(saved), &saved);
	err = ncpu > 0 ? find_cpus() : -ENODEV;
	if (!tap_check(err == 0, "two CPUs to run on (the cells are per-CPU): CPU %d and CPU %d",
		       cpu_a, cpu_b))
		return tap_done();
	snprintf(dbpath, sizeof(dbpath), "/tmp/tg-wrap-XXXXXX");
	fd = mkstemp(dbpath);
	if (!tap_check(fd >= 0, "temporary store %s", dbpath))
		return tap_done();
	close(fd);
	unlink(dbpath);

	if (!tap_check(tg_config_parse("wrap.yaml", conf, sizeof(conf) - 1, &cfg, &diags) == 0,
		       "configuration parses"))
		return tap_done();
	err = tg_datapath_load(NULL, &o, &dp);
	if (!tap_check(err == 0, "private datapath loads: %s", strerror(-err)))
		return tap_done();
	m = tg_datapath_maps(dp);
	if (!tap_check(tg_apply(m, &cfg, &ap) == 0 && tg_datapath_set_tap(dp) == 0,
		       "acme programmed, the test device is a capture point"))
		goto close;
	acme = ap.tenant_ids[0];
	cell = acme * TG_MAX_CLASSES + TG_CLASS_INTERNET;
	if (!tap_check(tg_store_open(dbpath, 0, &store) == 0 &&
			       sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) ==
				       SQLITE_OK,
		       "store opens (and a second, read-only connection for the checks)"))
		goto close;

	/* History. */
	tap_check(seed_cells(&h1a, &h1b) == 0, "cells seeded to 2^63 - 500 bytes in, 2^63 - 150 "
					       "out (summed over CPUs)");
	sent_bytes[TG_DIR_INGRESS] = P63 - 500, sent_packets[TG_DIR_INGRESS] = P63 - 4;
	sent_bytes[TG_DIR_EGRESS] = P63 - 150, sent_packets[TG_DIR_EGRESS] = P63 - 2;
	harvest_and_check("history 1", T0);
	tap_check(seed_cells(&h2a, &h2b) == 0,
		  "cells seeded to 2^64 - 1000 bytes, 2^64 - 7 packets in; 2^64 - 300 bytes, "
		  "2^64 - 3 packets out");
	sent_bytes[TG_DIR_INGRESS] = P63 - 500, sent_packets[TG_DIR_INGRESS] = P63 - 3;
	sent_bytes[TG_DIR_EGRESS] = P63 - 150, sent_packets[TG_DIR_EGRESS] = P63 - 1;
	harvest_and_check("history 2", T0 + IVL);
	cursor(TG_DIR_INGRESS, &b, &p);
	tap_check(b == -1000ull && p == -7ull,
		  "the cursor stands 1000 bytes, 7 packets below 2^64");
	total_bytes = total_packets = 0;

	/* 1: CPU A's cells wrap (in: bytes and packets); the sums do not yet. */
	send_all("1", cpu_a, TG_PROG_TC_INGRESS, "192.0.2.1", "10.1.0.7", TG_DIR_INGRESS, in_a,
		 N(in_a));
	send_all("1", cpu_a, TG_PROG_TC_EGRESS, "10.1.0.7", "192.0.2.1", TG_DIR_EGRESS, out_a,
		 N(out_a));
	expect_cell("1: wrapped", cpu_a, TG_DIR_INGRESS, 697 - 400, 5 - 3);
	expect_cell("1: untouched", cpu_b, TG_DIR_INGRESS, -600ull, -4ull);
	harvest_and_check("1 (CPU A's cell wrapped, the sum not)", T0 + 2 * IVL);

	/* 2: CPU B's cells wrap, and the sums with them; out, the sum wraps while both
	 * cells stay near 2^63. Plus a TCP super-packet of 3 segments. */
	send_all("2", cpu_b, TG_PROG_TC_INGRESS, "192.0.2.1", "10.1.0.7", TG_DIR_INGRESS, in_b,
		 N(in_b));
	send_all("2", cpu_b, TG_PROG_TC_EGRESS, "10.1.0.7", "192.0.2.1", TG_DIR_EGRESS, out_b,
		 N(out_b));
	expect_cell("2: wrapped", cpu_b, TG_DIR_INGRESS, 1248 - 600, 6 - 4);
	expect_cell("2: near 2^63, no wrap", cpu_b, TG_DIR_EGRESS, P63 - 200 + 280, P63 - 2 + 2);
	{
		static struct frame f;

		build(&f, "fd00:1::7", "2001:db8::1", 1, 74 + 3 * 1000);
		tap_check(send_on(cpu_b, TG_PROG_TC_INGRESS, &f, 3, TG_DIR_EGRESS) == 0,
			  "2: an IPv6 TCP super-packet of 3 segments (%zu bytes, %zu of headers)",
			  f.len, f.hdr_len);
	}
	harvest_and_check("2 (CPU B's cell and the sums wrapped)", T0 + 3 * IVL);
	tap_check(cur_bytes[TG_DIR_INGRESS] < prev_bytes[TG_DIR_INGRESS] &&
			  cur_bytes[TG_DIR_EGRESS] < prev_bytes[TG_DIR_EGRESS],
		  "2: both sums wrapped past 2^64 between the two harvests (in %llu -> %llu, out "
		  "%llu -> %llu)",
		  (unsigned long long)prev_bytes[TG_DIR_INGRESS],
		  (unsigned long long)cur_bytes[TG_DIR_INGRESS],
		  (unsigned long long)prev_bytes[TG_DIR_EGRESS],
		  (unsigned long long)cur_bytes[TG_DIR_EGRESS]);

	/* 3: both CPUs, both programs, IPv4 and IPv6, between two harvests. */
	for (int i = 0; i < 8; i++) {
		static struct frame f;
		int cpu = i % 2 ? cpu_b : cpu_a, out = i % 3 == 0;
		const char *mine = i % 2 ? "fd00:1::9" : "10.1.0.9";
		const char *theirs = i % 2 ? "2001:db8::5" : "192.0.2.5";

		build(&f, out ? mine : theirs, out ? theirs : mine, i % 4 == 1, 100 + 37 * i);
		err = send_on(cpu, i % 2 ? TG_PROG_TC_EGRESS : TG_PROG_TC_INGRESS, &f, 1,
			      out ? TG_DIR_EGRESS : TG_DIR_INGRESS);
		if (err)
			break;
	}
	tap_check(err == 0, "3: 8 frames alternating CPUs, programs and families");
	harvest_and_check("3 (both CPUs between two harvests)", T0 + 4 * IVL);
	harvest_and_check("4 (nothing sent)", T0 + 5 * IVL);

	sql_u64("SELECT COALESCE(SUM(bytes), 0) FROM usage WHERE tenant = 'acme' AND "
		"interval_start >= ?1",
		T0 + 2 * IVL, NULL, &b);
	sql_u64("SELECT COALESCE(SUM(packets), 0) FROM usage WHERE tenant = 'acme' AND "
		"interval_start >= ?1",
		T0 + 2 * IVL, NULL, &p);
	tap_equal_u64(b, total_bytes, "across the wraps: usage bytes = bytes sent (%llu)",
		      (unsigned long long)total_bytes);
	tap_equal_u64(p, total_packets, "across the wraps: usage packets = frames sent (%llu)",
		      (unsigned long long)total_packets);

close:
	sched_setaffinity(0, sizeof(saved), &saved);
	if (db)
		sqlite3_close(db);
	if (store)
		tg_store_close(store);
	unlink(dbpath);
	{
		char side[80];

		snprintf(side, sizeof(side), "%s-wal", dbpath);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", dbpath);
		unlink(side);
	}
	tg_applied_free(&ap);
	tg_datapath_close(dp);
	tg_config_free(&cfg);
	tg_diags_free(&diags);
	return tap_done();
}
