// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate tenants [--json]`: live counters straight from the pinned maps (cumulative
 * since the datapath was created) and rates from two samples one interval apart.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "datapath.h"
#include "json.h"
#include "store.h"

static void print_json(const struct tg_tenant_meta *meta, const struct tg_tenant_stats *a,
		       const struct tg_tenant_stats *b, uint32_t top, double secs)
{
	bool first = true;

	printf("[");
	for (uint32_t id = 1; id < top; id++) {
		if (!(meta[id].flags & TG_TENANT_IN_USE))
			continue;
		for (int d = 0; d < TG_DIR_MAX; d++) {
			const struct tg_counter *now = &b[id].dir[d], *then = &a[id].dir[d];

			printf("%s\n  {\"tenant\": ", first ? "" : ",");
			tg_json_string(stdout, meta[id].name);
			printf(", \"direction\": \"%s\", \"bytes\": %llu, \"packets\": %llu, "
			       "\"bits_per_second\": %.0f, \"packets_per_second\": %.0f, "
			       "\"configured\": %s}",
			       tg_dir_name(d), (unsigned long long)now->bytes,
			       (unsigned long long)now->packets,
			       secs > 0 ? (now->bytes - then->bytes) * 8 / secs : 0.0,
			       secs > 0 ? (now->packets - then->packets) / secs : 0.0,
			       meta[id].flags & TG_TENANT_CONFIGURED ? "true" : "false");
			first = false;
		}
	}
	printf("%s]\n", first ? "" : "\n");
}

static void print_table(const struct tg_tenant_meta *meta, const struct tg_tenant_stats *a,
			const struct tg_tenant_stats *b, uint32_t top, double secs)
{
	printf("%-20s %16s %12s %12s %16s %12s %12s\n", "TENANT", "IN BYTES", "IN PKTS", "IN BIT/S",
	       "OUT BYTES", "OUT PKTS", "OUT BIT/S");
	for (uint32_t id = 1; id < top; id++) {
		const struct tg_counter *in = &b[id].dir[TG_DIR_INGRESS];
		const struct tg_counter *out = &b[id].dir[TG_DIR_EGRESS];

		if (!(meta[id].flags & TG_TENANT_IN_USE))
			continue;
		printf("%-20s %16llu %12llu %12.0f %16llu %12llu %12.0f%s\n", meta[id].name,
		       (unsigned long long)in->bytes, (unsigned long long)in->packets,
		       secs > 0 ? (in->bytes - a[id].dir[TG_DIR_INGRESS].bytes) * 8 / secs : 0.0,
		       (unsigned long long)out->bytes, (unsigned long long)out->packets,
		       secs > 0 ? (out->bytes - a[id].dir[TG_DIR_EGRESS].bytes) * 8 / secs : 0.0,
		       meta[id].flags & TG_TENANT_CONFIGURED ? "" : "  (not configured)");
	}
}

/* Per-tenant totals over every class into out[0..top). */
static int read_totals(const struct tg_maps *m, struct tg_tenant_stats *out, uint32_t top)
{
	struct tg_tenant_stats *cells = calloc((size_t)top * TG_MAX_CLASSES, sizeof(*cells));
	int err = cells ? tg_maps_read_cells(m, cells, top) : -ENOMEM;

	for (uint32_t id = 0; !err && id < top; id++)
		tg_cells_tenant_total(cells, id, &out[id]);
	free(cells);
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
	struct tg_tenant_stats *a = NULL, *b = NULL;
	struct tg_tenant_meta *meta = NULL;
	const char *file = NULL;
	double secs = 1;
	bool json = false;
	uint32_t top = 1;
	struct tg_paths p;
	struct tg_maps m;
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
	err = tg_maps_open_pinned(p.pin_path, &m);
	if (err) {
		fprintf(stderr, "tollgate: no datapath under %s (%s): is the agent started?\n",
			p.pin_path, strerror(-err));
		return 1;
	}
	meta = calloc(TG_MAX_TENANTS, sizeof(*meta));
	a = calloc(TG_MAX_TENANTS, sizeof(*a));
	b = calloc(TG_MAX_TENANTS, sizeof(*b));
	err = meta && a && b ? tg_maps_read_meta(&m, meta) : -ENOMEM;
	if (!err) {
		top = tg_meta_top(meta);
		err = read_totals(&m, a, top);
	}
	if (!err && secs > 0) {
		struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };

		nanosleep(&ts, NULL);
		err = read_totals(&m, b, top);
	} else if (!err) {
		memcpy(b, a, top * sizeof(*a));
	}
	if (!err) {
		if (json)
			print_json(meta, a, b, top, secs);
		else
			print_table(meta, a, b, top, secs);
	} else {
		fprintf(stderr, "tollgate: cannot read the counters: %s\n", strerror(-err));
	}
	free(meta);
	free(a);
	free(b);
	tg_maps_close(&m);
	return err ? 1 : 0;
}
