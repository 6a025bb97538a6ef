// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tollgate bill`: billed usage from the store, per tenant, class, direction and
 * interval. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "config.h"
#include "store.h"

static const char *const usage =
	"usage: tollgate bill [-c FILE] [--store PATH|URL] [--tenant T] [--class NAME]\n"
	"                     [--node NAME | --by-node] [--from TIME] [--to TIME]\n"
	"                     [--format table|csv|json] [--p95]\n"
	"  --store: an SQLite file, or a postgresql:// or postgres:// URL.\n"
	"  --class: only the traffic class NAME (`internet` is the default class).\n"
	"  --node: only the rows of node NAME. Without it, a PostgreSQL store's rows of\n"
	"  several nodes in one interval are summed into one row of node \"*\"; --by-node\n"
	"  keeps one row per node (what an SQLite store always shows).\n"
	"  --p95: the 95th-percentile rate (bit/s) of each tenant, class and direction over\n"
	"  the selected intervals (burstable billing), instead of the rows.\n"
	"  TIME is RFC 3339 (2026-11-21T02:00:00Z), a date (2026-11-21) or @UNIXSECONDS;\n"
	"  intervals that start in [--from, --to) are shown.\n";

static int parse_format(const char *s, enum tg_format *f)
{
	static const struct {
		const char *name;
		enum tg_format fmt;
	} formats[] = { { "table", TG_FMT_TABLE }, { "csv", TG_FMT_CSV }, { "json", TG_FMT_JSON } };

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (!strcmp(s, formats[i].name)) {
			*f = formats[i].fmt;
			return 0;
		}
	}
	return -EINVAL;
}

static int cmp_sum_key(const void *a, const void *b)
{
	const struct tg_bill_row *x = a, *y = b;
	int c;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	c = strcmp(x->tenant, y->tenant);
	if (!c)
		c = strcmp(x->class_name, y->class_name);
	return c ? c : x->dir - y->dir;
}

/* Rows of more than one node: one row per interval, tenant, class and direction, summed
 * over the nodes, node "*". Keeps the store's order (start, tenant, class, direction). */
static void sum_nodes(struct tg_bill_row *rows, size_t *n)
{
	size_t i, k = 0;
	bool many = false;

	for (i = 1; i < *n && !many; i++)
		many = strcmp(rows[i].node, rows[0].node) != 0;
	if (!many)
		return;
	qsort(rows, *n, sizeof(*rows), cmp_sum_key); /* nodes of one key become adjacent */
	for (i = 0; i < *n; i++) {
		if (k && !cmp_sum_key(&rows[k - 1], &rows[i])) {
			rows[k - 1].bytes += rows[i].bytes;
			rows[k - 1].packets += rows[i].packets;
			if (rows[i].end > rows[k - 1].end)
				rows[k - 1].end = rows[i].end;
			continue;
		}
		rows[k] = rows[i];
		snprintf(rows[k].node, sizeof(rows[k].node), "*");
		k++;
	}
	*n = k;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Rows of one tenant, class and direction: what one 95th percentile is taken over. */
static bool same_p95_group(const struct tg_bill_row *a, const struct tg_bill_row *b)
{
	return a->dir == b->dir && !strcmp(a->tenant, b->tenant) &&
	       !strcmp(a->class_name, b->class_name);
}

/* The 95th percentile of the per-interval rates of one tenant, class and direction: sort
 * the n rates and take the one at rank ceil(0.95 n), the usual burstable-billing rule.
 * Rows of several nodes in one interval are one sample each. */
static int print_p95(const struct tg_bill_row *rows, size_t n, enum tg_format fmt)
{
	uint64_t *rates = calloc(n ? n : 1, sizeof(*rates));
	bool *done = calloc(n ? n : 1, sizeof(*done));
	bool first = true;

	if (!rates || !done) {
		free(rates);
		free(done);
		return -ENOMEM;
	}
	if (fmt == TG_FMT_TABLE)
		printf("%-20s %-16s %-9s %9s %16s\n", "TENANT", "CLASS", "DIRECTION", "INTERVALS",
		       "P95 BIT/S");
	else if (fmt == TG_FMT_CSV)
		printf("tenant,class,direction,intervals,bits_per_second\n");
	else
		printf("[");
	for (size_t i = 0; i < n; i++) {
		size_t k = 0, rank;

		if (done[i])
			continue;
		for (size_t j = i; j < n; j++) {
			if (done[j] || !same_p95_group(&rows[j], &rows[i]))
				continue;
			done[j] = true;
			rates[k++] = rows[j].end > rows[j].start
					     ? rows[j].bytes * 8 /
						       (uint64_t)(rows[j].end - rows[j].start)
					     : 0;
		}
		qsort(rates, k, sizeof(*rates), cmp_u64);
		rank = (k * 95 + 99) / 100; /* ceil(0.95 k), 1-based */
		if (fmt == TG_FMT_TABLE)
			printf("%-20s %-16s %-9s %9zu %16llu\n", rows[i].tenant, rows[i].class_name,
			       tg_dir_name(rows[i].dir), k, (unsigned long long)rates[rank - 1]);
		else if (fmt == TG_FMT_CSV)
			printf("%s,%s,%s,%zu,%llu\n", rows[i].tenant, rows[i].class_name,
			       tg_dir_name(rows[i].dir), k, (unsigned long long)rates[rank - 1]);
		else {
			printf("%s\n  {\"tenant\": ", first ? "" : ",");
			tg_json_string(stdout, rows[i].tenant);
			printf(", \"class\": ");
			tg_json_string(stdout, rows[i].class_name);
			printf(", \"direction\": \"%s\", \"intervals\": %zu, \"bits_per_second\": "
			       "%llu}",
			       tg_dir_name(rows[i].dir), k, (unsigned long long)rates[rank - 1]);
		}
		first = false;
	}
	if (fmt == TG_FMT_JSON)
		printf("%s]\n", first ? "" : "\n");
	free(rates);
	free(done);
	return 0;
}

int cmd_bill(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "store", required_argument, NULL, 's' },
					      { "tenant", required_argument, NULL, 't' },
					      { "class", required_argument, NULL, 'C' },
					      { "from", required_argument, NULL, 'f' },
					      { "to", required_argument, NULL, 'T' },
					      { "format", required_argument, NULL, 'F' },
					      { "p95", no_argument, NULL, 'P' },
					      { "node", required_argument, NULL, 'N' },
					      { "by-node", no_argument, NULL, 'B' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	struct tg_bill_query q = { .from = INT64_MIN, .to = INT64_MAX };
	const char *file = NULL, *store = NULL;
	enum tg_format fmt = TG_FMT_TABLE;
	struct tg_bill_row *rows = NULL;
	struct tg_store *s;
	struct tg_paths p;
	bool p95 = false, by_node = false;
	char shown[512];
	size_t n = 0;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 's':
			store = optarg;
			break;
		case 't':
			if (!tg_tenant_name_valid(optarg)) {
				fprintf(stderr, "tollgate: bad tenant name '%s'\n", optarg);
				return 2;
			}
			q.tenant = optarg;
			break;
		case 'C':
			if (!*optarg || strlen(optarg) >= TG_CLASS_NAME_MAX) {
				fprintf(stderr, "tollgate: bad class name '%s'\n", optarg);
				return 2;
			}
			q.class_name = optarg;
			break;
		case 'f':
		case 'T':
			if (tg_parse_time(optarg, c == 'f' ? &q.from : &q.to)) {
				fprintf(stderr, "tollgate: bad --%s '%s'\n%s",
					c == 'f' ? "from" : "to", optarg, usage);
				return 2;
			}
			break;
		case 'F':
			if (parse_format(optarg, &fmt)) {
				fprintf(stderr, "tollgate: bad --format '%s'\n%s", optarg, usage);
				return 2;
			}
			break;
		case 'P':
			p95 = true;
			break;
		case 'N':
			if (!*optarg || strlen(optarg) >= sizeof(rows->node)) {
				fprintf(stderr, "tollgate: bad node name '%s'\n", optarg);
				return 2;
			}
			q.node = optarg;
			break;
		case 'B':
			by_node = true;
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
	if (by_node && q.node) {
		fprintf(stderr, "tollgate: --node and --by-node exclude each other\n%s", usage);
		return 2;
	}
	if (!store) {
		if (tg_cli_paths(file, &p))
			return 1;
		store = p.store;
	}
	err = tg_store_open(store, 1, &s);
	if (err) {
		if (err == -ENOENT)
			fprintf(stderr, "tollgate: no billing store at %s: nothing billed yet\n",
				store);
		return 1;
	}
	err = tg_store_query(s, &q, &rows, &n);
	/* a fleet's shared database; an SQLite file keeps its rows per node as it always did */
	if (!err && !by_node && !q.node && tg_store_is_pg(store))
		sum_nodes(rows, &n);
	if (!err && p95)
		err = print_p95(rows, n, fmt);
	else if (!err)
		tg_bill_print(stdout, rows, n, fmt);
	else
		fprintf(stderr, "tollgate: cannot read %s: %s\n",
			(tg_store_display(store, shown, sizeof(shown)), shown), strerror(-err));
	free(rows);
	tg_store_close(s);
	return err ? 1 : 0;
}
