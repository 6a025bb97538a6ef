// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tollgate flows [--tenant T] [--top N] [--json] [-i SECONDS]: the live flow table, with
 * rates measured over the sampling time (two reads of the table).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "datapath.h"
#include "flows.h"
#include "json.h"

struct row {
	struct tg_flow_entry e;
	double bps, pps;
};

static int cmp_rate(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	if (a->bps != b->bps)
		return a->bps < b->bps ? 1 : -1;
	if (a->e.val.bytes != b->e.val.bytes)
		return a->e.val.bytes < b->e.val.bytes ? 1 : -1;
	return memcmp(&a->e.key, &b->e.key, sizeof(a->e.key));
}

static void print_table(FILE *f, const struct row *rows, size_t n,
			const struct tg_tenant_meta *meta, bool rates)
{
	fprintf(f, "%-12s %-3s %-6s %-39s %-5s %-39s %-5s %10s %12s %12s\n", "TENANT", "DIR",
		"PROTO", "SRC", "SPORT", "DST", "DPORT", "PACKETS", "BYTES", rates ? "BIT/S" : "");
	for (size_t i = 0; i < n; i++) {
		const struct tg_flow_key *k = &rows[i].e.key;
		char src[64], dst[64], pb[8];

		tg_flow_addr(k, false, src, sizeof(src));
		tg_flow_addr(k, true, dst, sizeof(dst));
		fprintf(f, "%-12.12s %-3s %-6s %-39s %-5u %-39s %-5u %10llu %12llu",
			k->tenant_id ? meta[k->tenant_id < TG_MAX_TENANTS ? k->tenant_id : 0].name
				     : "-",
			k->dir == TG_DIR_INGRESS ? "in" : "out",
			tg_proto_name(k->proto, pb, sizeof(pb)), src, ntohs(k->sport), dst,
			ntohs(k->dport), (unsigned long long)rows[i].e.val.packets,
			(unsigned long long)rows[i].e.val.bytes);
		if (rates)
			fprintf(f, " %12.0f", rows[i].bps);
		fprintf(f, "\n");
	}
}

/* The flow table into f as `tollgate flows` prints it: 0, -ENOENT (no such tenant),
 * -ENODEV (no datapath) or -errno. */
int tg_flows_write(FILE *f, const char *pin_path, const char *tenant, unsigned long top,
		   double secs, bool json)
{
	struct tg_flow_entry *a = NULL, *b = NULL;
	struct tg_class_meta classes[TG_MAX_CLASSES];
	struct tg_tenant_meta *meta = NULL;
	size_t na = 0, nb = 0, n = 0;
	uint32_t tenant_id = 0;
	struct row *rows = NULL;
	struct tg_maps m;
	int err;

	err = tg_maps_open_pinned(pin_path, &m);
	if (err)
		return -ENODEV;
	meta = calloc(TG_MAX_TENANTS, sizeof(*meta));
	err = meta ? tg_maps_read_meta(&m, meta) : -ENOMEM;
	if (!err)
		err = tg_maps_read_class_meta(&m, classes);
	if (!err && tenant) {
		tenant_id = tg_meta_find(meta, tenant);
		if (!tenant_id) {
			err = -ENOENT;
			goto out;
		}
	}
	if (!err)
		err = tg_flows_read(m.flows, TG_FLOW_READ_AUTO, &a, &na);
	if (!err && secs > 0) {
		struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };

		nanosleep(&ts, NULL);
		err = tg_flows_read(m.flows, TG_FLOW_READ_AUTO, &b, &nb);
	}
	if (err) {
		err = err == -ENOENT ? -EIO : err; /* -ENOENT says: no such tenant */
		goto out;
	}
	if (secs <= 0) {
		b = a;
		nb = na;
		a = NULL;
		na = 0;
	}
	tg_flows_sort_by_key(a, na);
	rows = calloc(nb ? nb : 1, sizeof(*rows));
	if (!rows) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nb; i++) {
		if (tenant && b[i].key.tenant_id != tenant_id)
			continue;
		rows[n].e = b[i];
		if (secs > 0) {
			uint64_t db, dp;

			tg_flow_delta(&b[i], a, na, &db, &dp);
			rows[n].bps = db * 8.0 / secs;
			rows[n].pps = dp / secs;
		}
		n++;
	}
	qsort(rows, n, sizeof(*rows), cmp_rate);
	if (top && n > top)
		n = top;
	if (json) {
		struct tg_flow_names nm = { .tenants = meta,
					    .classes = classes,
					    .clock_offset_ns = tg_monotonic_offset_ns() };
		char extra[96];

		fprintf(f, "{\"interval\": %g, \"flows\": [", secs);
		for (size_t i = 0; i < n; i++) {
			snprintf(extra, sizeof(extra), "\"bps\": %.0f, \"pps\": %.1f", rows[i].bps,
				 rows[i].pps);
			fputs(i ? ",\n  " : "\n  ", f);
			tg_flow_json(f, &rows[i].e, &nm, secs > 0 ? extra : NULL);
		}
		fprintf(f, "]}\n");
	} else {
		print_table(f, rows, n, meta, secs > 0);
	}
out:
	free(rows);
	free(a);
	free(b);
	free(meta);
	tg_maps_close(&m);
	return err;
}

int cmd_flows(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "tenant", required_argument, NULL, 't' },
					      { "top", required_argument, NULL, 'n' },
					      { "json", no_argument, NULL, 'j' },
					      { "interval", required_argument, NULL, 'i' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *usage =
		"usage: tollgate flows [-c FILE] [--tenant NAME] [--top N] [--json] [-i SECONDS]\n"
		"  --top N                 the N busiest flows (default 50, 0 = all)\n"
		"  -i, --interval SECONDS  rate sampling time (default 1, 0 = no rates)\n";
	const char *file = NULL, *tenant = NULL;
	unsigned long top = 50;
	double secs = 1;
	bool json = false;
	struct tg_paths p;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:t:n:ji:h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 't':
			tenant = optarg;
			break;
		case 'n':
			errno = 0;
			top = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-' || top > 100000000) {
				fprintf(stderr, "tollgate: bad --top '%s': a count, 0 = all\n",
					optarg);
				return 2;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'i':
			secs = strtod(optarg, &end);
			if (*end || !*optarg || secs < 0 || secs > 3600) {
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
	tg_libbpf_quiet();
	err = tg_flows_write(stdout, p.pin_path, tenant, top, secs, json);
	if (err == -ENOENT && tenant)
		fprintf(stderr, "tollgate: no tenant named '%s'\n", tenant);
	else if (err == -ENODEV) {
		struct tg_maps m;
		int oerr = tg_maps_open_pinned(p.pin_path, &m); /* again, for its reason */

		if (!oerr)
			tg_maps_close(&m);
		fprintf(stderr, "tollgate: no datapath under %s (%s): is the agent started?\n",
			p.pin_path, strerror(oerr ? -oerr : ENOENT));
	} else if (err)
		fprintf(stderr, "tollgate: cannot read the flow table: %s\n", strerror(-err));
	return err ? 1 : 0;
}
