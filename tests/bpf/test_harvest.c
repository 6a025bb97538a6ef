// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Harvests while the kernel counts: one thread runs frames through the real uplink
 * program (BPF_PROG_TEST_RUN with a repeat count) while another harvests into a real
 * store over and over. Every harvest reads batch; what ends up billed must equal what
 * was sent, exactly, and no harvest may see a counter go backwards. The oracle is the
 * number of runs times the frame length, both fixed by the test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "flows.h"
#include "harvest.h"
#include "store.h"
#include "tap.h"

#define ROUNDS 40
#define REPEAT 50000
#define FRAME_LEN 600

static const char conf[] = "tenants:\n"
			   "  - name: acme\n"
			   "    cidrs: [10.1.0.0/24]\n"
			   "classes:\n"
			   "  - name: internal\n"
			   "    cidrs: [10.9.0.0/16]\n";

struct ctx {
	struct tg_datapath *dp;
	unsigned char frame[FRAME_LEN];
	atomic_int done;
	int run_err;
};

static void build_frame(unsigned char *f, const char *src, const char *dst)
{
	memset(f, 0, FRAME_LEN);
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
	f[14] = 0x45;
	f[16] = (FRAME_LEN - 14) >> 8;
	f[17] = (FRAME_LEN - 14) & 0xff;
	f[22] = 64;
	f[23] = 17; /* UDP */
	inet_pton(AF_INET, src, f + 26);
	inet_pton(AF_INET, dst, f + 30);
	f[34] = 0x30, f[35] = 0x39, f[36] = 0x00, f[37] = 0x35; /* 12345 -> 53 */
	f[38] = (FRAME_LEN - 34) >> 8;
	f[39] = (FRAME_LEN - 34) & 0xff;
}

static void *runner(void *arg)
{
	struct ctx *c = arg;
	int fd = tg_datapath_prog_fd(c->dp, TG_PROG_XDP);

	for (int i = 0; i < ROUNDS && !c->run_err; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = c->frame, .data_size_in = FRAME_LEN,
			    .repeat = REPEAT);

		if (bpf_prog_test_run_opts(fd, &opts))
			c->run_err = errno;
	}
	atomic_store(&c->done, 1);
	return NULL;
}

int main(void)
{
	char dbpath[] = "/tmp/tg-harvest-XXXXXX";
	struct tg_datapath_opts o = { .flow_capacity = 4096 };
	struct tg_config cfg = {};
	struct tg_diags diags = {};
	struct tg_applied ap = {};
	struct tg_store *store = NULL;
	struct tg_bill_row *rows = NULL;
	struct tg_bill_query q = { .from = INT64_MIN, .to = INT64_MAX };
	struct tg_flow_entry *fl = NULL;
	const struct tg_maps *m;
	struct ctx c = {};
	uint64_t billed_total = 0, sum_bytes = 0, sum_packets = 0;
	size_t nrows = 0, nfl = 0;
	pthread_t th;
	int harvests = 0, errors = 0, fd;

	tg_libbpf_quiet();
	fd = mkstemp(dbpath);
	if (!tap_check(fd >= 0, "temporary store"))
		return tap_done();
	close(fd);
	unlink(dbpath);

	if (!tap_check(tg_config_parse("harvest.yaml", conf, sizeof(conf) - 1, &cfg, &diags) == 0,
		       "configuration parses"))
		return tap_done();
	if (!tap_check(tg_datapath_load(NULL, &o, &c.dp) == 0, "private datapath loads"))
		return tap_done();
	m = tg_datapath_maps(c.dp);
	tap_check(tg_apply(m, &cfg, &ap) == 0, "tenants and classes programmed");
	tap_check(tg_datapath_set_tap(c.dp) == 0, "tap interface set");
	tap_check(tg_store_open(dbpath, 0, &store) == 0, "store opens");

	/* From 10.9.0.5 (class internal) to acme's 10.1.0.7: acme, ingress, internal. */
	build_frame(c.frame, "10.9.0.5", "10.1.0.7");
	pthread_create(&th, NULL, runner, &c);
	while (!atomic_load(&c.done)) {
		uint64_t billed = 0;

		if (tg_harvest(m, ap.meta, store, "test", 1000 + harvests, 60, &billed))
			errors++;
		billed_total += billed;
		harvests++;
	}
	pthread_join(th, NULL);
	{
		uint64_t billed = 0;

		if (tg_harvest(m, ap.meta, store, "test", 1000 + harvests, 60, &billed))
			errors++;
		billed_total += billed;
		harvests++;
	}
	tap_check(c.run_err == 0, "%d x %d test runs (%s)", ROUNDS, REPEAT,
		  c.run_err ? strerror(c.run_err) : "ok");
	tap_diag("%d harvests while the program counted", harvests);
	tap_check(harvests >= 3, "the reader harvested while the kernel counted (%d)", harvests);
	tap_check(errors == 0, "no harvest failed or saw a counter go backwards (%d errors)",
		  errors);
	tap_equal_u64(billed_total, (uint64_t)ROUNDS * REPEAT * FRAME_LEN,
		      "bytes billed across all harvests = runs x frame length");

	tap_check(tg_store_query(store, &q, &rows, &nrows) == 0, "bill query");
	for (size_t i = 0; i < nrows; i++) {
		if (strcmp(rows[i].tenant, "acme") || strcmp(rows[i].class_name, "internal") ||
		    rows[i].dir != TG_DIR_INGRESS) {
			if (rows[i].bytes)
				tap_diag("unexpected row %s/%s/%d %llu bytes", rows[i].tenant,
					 rows[i].class_name, rows[i].dir,
					 (unsigned long long)rows[i].bytes);
			continue;
		}
		sum_bytes += rows[i].bytes;
		sum_packets += rows[i].packets;
	}
	tap_equal_u64(sum_bytes, (uint64_t)ROUNDS * REPEAT * FRAME_LEN,
		      "usage rows: acme/internal/ingress bytes = runs x frame length");
	tap_equal_u64(sum_packets, (uint64_t)ROUNDS * REPEAT,
		      "usage rows: acme/internal/ingress packets = runs");

	/* The flow table saw the same traffic: one flow, every packet. */
	tap_check(tg_flows_read(m->flows, TG_FLOW_READ_BATCH, &fl, &nfl) == 0,
		  "flows read (batch)");
	tap_equal_u64(nfl, 1, "one flow");
	if (nfl == 1) {
		tap_equal_u64(fl[0].val.packets, (uint64_t)ROUNDS * REPEAT, "flow packets = runs");
		tap_equal_u64(fl[0].key.tenant_id, ap.tenant_ids[0], "flow attributed to acme");
	}
	free(fl);
	fl = NULL;
	tap_check(tg_flows_read(m->flows, TG_FLOW_READ_PER_KEY, &fl, &nfl) == 0 && nfl == 1 &&
			  fl[0].val.packets == (uint64_t)ROUNDS * REPEAT,
		  "per-key read agrees with the batch read");
	free(fl);
	free(rows);
	tg_store_close(store);
	unlink(dbpath);
	{
		char p[64];

		snprintf(p, sizeof(p), "%s-wal", dbpath);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", dbpath);
		unlink(p);
	}
	tg_applied_free(&ap);
	tg_datapath_close(c.dp);
	tg_config_free(&cfg);
	tg_diags_free(&diags);
	return tap_done();
}
