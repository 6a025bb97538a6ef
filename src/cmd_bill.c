// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tollgate bill`: billed usage from the store, per tenant, direction and interval. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "store.h"

static const char *const usage =
	"usage: tollgate bill [-c FILE] [--store PATH] [--tenant T] [--from TIME] [--to TIME]\n"
	"                     [--format table|csv|json]\n"
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

int cmd_bill(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "store", required_argument, NULL, 's' },
					      { "tenant", required_argument, NULL, 't' },
					      { "from", required_argument, NULL, 'f' },
					      { "to", required_argument, NULL, 'T' },
					      { "format", required_argument, NULL, 'F' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	struct tg_bill_query q = { .from = INT64_MIN, .to = INT64_MAX };
	const char *file = NULL, *store = NULL;
	enum tg_format fmt = TG_FMT_TABLE;
	struct tg_bill_row *rows = NULL;
	struct tg_store *s;
	struct tg_paths p;
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
		case 'f':
		case 'T':
			if (tg_parse_time(optarg, c == 'f' ? &q.from : &q.to)) {
				fprintf(stderr, "tollgate: bad --%s '%s'\n%s", c == 'f' ? "from" : "to",
					optarg, usage);
				return 2;
			}
			break;
		case 'F':
			if (parse_format(optarg, &fmt)) {
				fprintf(stderr, "tollgate: bad --format '%s'\n%s", optarg, usage);
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
	if (!err)
		tg_bill_print(stdout, rows, n, fmt);
	else
		fprintf(stderr, "tollgate: cannot read %s: %s\n", store, strerror(-err));
	free(rows);
	tg_store_close(s);
	return err ? 1 : 0;
}
