// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate tenants [--json]`: live counters straight from the pinned maps (cumulative
 * since the datapath was created) and rates from two samples one interval apart; and
 * each tenant's isolation state: drops by reason, quota, concurrent connections.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "datapath.h"
#include "events.h"
#include "json.h"
#include "tenant_state.h"
#include "rt_fields.h"
#include "store.h"

/* Isolation state of one tenant: drops by reason, quota, connections. */
/* , "drops": {...}, "quota": {...} or null, "connections": {...} or null */
static void print_iso_json(FILE *f, const struct tg_tenant_iso *t)
{
	char rb[32], when[32];
	bool first = true;

	fprintf(f, ", \"drops\": {");
	for (int k = 1; k < TG_REASON_SLOTS; k++) {
		if (!t->drops[k].packets && !t->drops[k].bytes)
			continue;
		fprintf(f, "%s\"%s\": {\"packets\": %llu, \"bytes\": %llu}", first ? "" : ", ",
			tg_reason_label(k, rb, sizeof(rb)), (unsigned long long)t->drops[k].packets,
			(unsigned long long)t->drops[k].bytes);
		first = false;
	}
	fprintf(f, "}, \"quota\": ");
	if (t->pol.quota_bytes) {
		fprintf(f,
			"{\"limit\": %llu, \"used\": %llu, \"exceeded\": %s, \"action\": \"%s\", "
			"\"period_start\": ",
			(unsigned long long)t->pol.quota_bytes, (unsigned long long)t->quota.used,
			t->quota.exceeded ? "true" : "false",
			tg_quota_action_name(t->pol.quota_action));
		if (t->quota.period_start) {
			tg_format_time((int64_t)t->quota.period_start, when, sizeof(when));
			fprintf(f, "\"%s\"}", when);
		} else {
			fprintf(f, "null}");
		}
	} else {
		fprintf(f, "null");
	}
	fprintf(f, ", \"connections\": ");
	if (t->pol.max_connections)
		fprintf(f, "{\"current\": %lld, \"max\": %u}", (long long)(int64_t)t->conns,
			t->pol.max_connections);
	else
		fprintf(f, "null");
}

static void print_iso_table(FILE *f, const struct tg_tenant_iso *t)
{
	char rb[32], when[32];
	int n = 0;

	for (int k = 1; k < TG_REASON_SLOTS; k++) {
		if (!t->drops[k].packets && !t->drops[k].bytes)
			continue;
		fprintf(f, "%s %s=%llu (%llu bytes)",
			n++ ? "," : "  drops:", tg_reason_label(k, rb, sizeof(rb)),
			(unsigned long long)t->drops[k].packets,
			(unsigned long long)t->drops[k].bytes);
	}
	if (n)
		fprintf(f, "\n");
	if (t->pol.quota_bytes) {
		if (t->quota.period_start)
			tg_format_time((int64_t)t->quota.period_start, when, sizeof(when));
		fprintf(f, "  quota: %llu of %llu bytes (%.1f%%) since %s, action %s%s\n",
			(unsigned long long)t->quota.used, (unsigned long long)t->pol.quota_bytes,
			100.0 * t->quota.used / t->pol.quota_bytes,
			t->quota.period_start ? when : "(period not started)",
			tg_quota_action_name(t->pol.quota_action),
			t->quota.exceeded ? ", EXCEEDED" : "");
	}
	if (t->pol.max_connections)
		fprintf(f, "  connections: %lld of %u\n", (long long)(int64_t)t->conns,
			t->pol.max_connections);
}

static void print_json(FILE *f, const struct tg_tenant_meta *meta, const struct tg_tenant_stats *a,
		       const struct tg_tenant_stats *b, const struct tg_tenant_iso *iso,
		       uint32_t top, double secs, const uint64_t *exits)
{
	bool first = true;

	fprintf(f, "[");
	for (uint32_t id = 1; id < top; id++) {
		if (!(meta[id].flags & TG_TENANT_IN_USE))
			continue;
		for (int d = 0; d < TG_DIR_MAX; d++) {
			const struct tg_counter *now = &b[id].dir[d], *then = &a[id].dir[d];

			fprintf(f, "%s\n  {\"tenant\": ", first ? "" : ",");
			tg_json_string(f, meta[id].name);
			fprintf(f,
				", \"direction\": \"%s\", \"bytes\": %llu, \"packets\": %llu, "
				"\"bits_per_second\": %.0f, \"packets_per_second\": %.0f, "
				"\"configured\": %s",
				tg_dir_name(d), (unsigned long long)now->bytes,
				(unsigned long long)now->packets,
				secs > 0 ? (now->bytes - then->bytes) * 8 / secs : 0.0,
				secs > 0 ? (now->packets - then->packets) / secs : 0.0,
				meta[id].flags & TG_TENANT_CONFIGURED ? "true" : "false");
			print_iso_json(f, &iso[id]);
			/* Exits by class (runtime security; null while it was never on). */
			fprintf(f, ", \"exits\": ");
			if (exits)
				tg_rt_exits_json(f, &exits[(size_t)id * TG_EXIT_CLASSES]);
			else
				fprintf(f, "null");
			fprintf(f, "}");
			first = false;
		}
	}
	fprintf(f, "%s]\n", first ? "" : "\n");
}

static void print_table(FILE *f, const struct tg_tenant_meta *meta, const struct tg_tenant_stats *a,
			const struct tg_tenant_stats *b, const struct tg_tenant_iso *iso,
			uint32_t top, double secs, const uint64_t *exits)
{
	fprintf(f, "%-20s %16s %12s %12s %16s %12s %12s\n", "TENANT", "IN BYTES", "IN PKTS",
		"IN BIT/S", "OUT BYTES", "OUT PKTS", "OUT BIT/S");
	for (uint32_t id = 1; id < top; id++) {
		const struct tg_counter *in = &b[id].dir[TG_DIR_INGRESS];
		const struct tg_counter *out = &b[id].dir[TG_DIR_EGRESS];

		if (!(meta[id].flags & TG_TENANT_IN_USE))
			continue;
		fprintf(f, "%-20s %16llu %12llu %12.0f %16llu %12llu %12.0f%s\n", meta[id].name,
			(unsigned long long)in->bytes, (unsigned long long)in->packets,
			secs > 0 ? (in->bytes - a[id].dir[TG_DIR_INGRESS].bytes) * 8 / secs : 0.0,
			(unsigned long long)out->bytes, (unsigned long long)out->packets,
			secs > 0 ? (out->bytes - a[id].dir[TG_DIR_EGRESS].bytes) * 8 / secs : 0.0,
			meta[id].flags & TG_TENANT_CONFIGURED ? "" : "  (not configured)");
		print_iso_table(f, &iso[id]);
		if (exits) {
			const uint64_t *x = &exits[(size_t)id * TG_EXIT_CLASSES];

			if (x[TG_EXIT_CRASH] || x[TG_EXIT_KILLED] || x[TG_EXIT_OOM])
				fprintf(f, "  exits: crash=%llu killed=%llu oom=%llu\n",
					(unsigned long long)x[TG_EXIT_CRASH],
					(unsigned long long)x[TG_EXIT_KILLED],
					(unsigned long long)x[TG_EXIT_OOM]);
		}
	}
}

/* The tenants' counters into f as `tollgate tenants` prints them, rates sampled over secs
 * (0: none); 0 or -errno (-ENOENT: no datapath). */
int tg_tenants_write(FILE *f, const char *pin_path, double secs, bool json)
{
	struct tg_tenant_stats *a = NULL, *b = NULL;
	struct tg_tenant_meta *meta = NULL;
	struct tg_tenant_iso *iso = NULL;
	uint64_t *exits = NULL;
	uint32_t top = 1;
	struct tg_maps m;
	int err;

	err = tg_maps_open_pinned(pin_path, &m);
	if (err)
		return err;
	meta = calloc(TG_MAX_TENANTS, sizeof(*meta));
	a = calloc(TG_MAX_TENANTS, sizeof(*a));
	b = calloc(TG_MAX_TENANTS, sizeof(*b));
	err = meta && a && b ? tg_maps_read_meta(&m, meta) : -ENOMEM;
	if (!err) {
		top = tg_meta_top(meta);
		err = tg_tenant_totals_read(&m, a, top);
	}
	if (!err && secs > 0) {
		struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };

		nanosleep(&ts, NULL);
		err = tg_tenant_totals_read(&m, b, top);
	} else if (!err) {
		memcpy(b, a, top * sizeof(*a));
	}
	if (!err) {
		iso = calloc(top, sizeof(*iso));
		err = iso ? tg_tenant_iso_read(&m, meta, iso, top) : -ENOMEM;
	}
	if (!err) {
		exits = calloc((size_t)top * TG_EXIT_CLASSES, sizeof(*exits));
		if (!exits) {
			err = -ENOMEM;
		} else if (tg_rt_exits_read(pin_path, top, exits)) {
			free(exits); /* runtime security off: no exit counters */
			exits = NULL;
		}
	}
	if (!err) {
		if (json)
			print_json(f, meta, a, b, iso, top, secs, exits);
		else
			print_table(f, meta, a, b, iso, top, secs, exits);
	}
	free(meta);
	free(a);
	free(b);
	free(iso);
	free(exits);
	tg_maps_close(&m);
	return err;
}

int cmd_tenants(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "json", no_argument, NULL, 'j' },
					      { "interval", required_argument, NULL, 'i' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *usage =
		"usage: tollgate tenants [-c FILE] [--json] [-i SECONDS]\n"
		"  -i, --interval SECONDS  rate sampling time (default 1, 0 = no rates)\n";
	const char *file = NULL;
	double secs = 1;
	bool json = false;
	struct tg_paths p;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:ji:h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'i':
			secs = strtod(optarg, &end);
			if (*end || secs < 0 || secs > 3600) {
				fprintf(stderr, "tollgate: bad --interval '%s': seconds, 0..3600\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (tg_cli_paths(file, &p))
		return 1;
	err = tg_tenants_write(stdout, p.pin_path, secs, json);
	if (err == -ENOENT)
		fprintf(stderr, "tollgate: no datapath under %s (%s): is the agent started?\n",
			p.pin_path, strerror(-err));
	else if (err)
		fprintf(stderr, "tollgate: cannot read the counters: %s\n", strerror(-err));
	return err ? 1 : 0;
}
