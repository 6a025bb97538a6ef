// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tollgate whois ADDRESS [--at TIME]`: which tenant held an address at a time, from the
 * identity history (identity.h, docs/identity.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "identity.h"
#include "json.h"
#include "store.h"

static const char *const usage =
	"usage: tollgate whois ADDRESS [--at TIME] [-c FILE] [--db PATH] [--json]\n"
	"  the tenant that held ADDRESS (IPv4 or IPv6) at TIME (default now): the longest\n"
	"  prefix assigned then, from the configuration or seen on a tenant's interface.\n"
	"  TIME is RFC 3339 (2026-11-21T02:00:00Z), a date (2026-11-21) or @UNIXSECONDS.\n"
	"  --db: the identity history file (default: the billing store's file, or\n"
	"  " TG_DEFAULT_IDENTITY " when the store is not SQLite).\n"
	"  exit status: 0 a tenant held it, 1 none did, 2 bad input, 3 no history to read.\n";

static void print_text(const char *addr, const char *at, const struct tg_id_row *r)
{
	char prefix[64], from[32], to[32];

	tg_format_cidr(&r->cidr, prefix, sizeof(prefix));
	tg_format_time(r->valid_from, from, sizeof(from));
	if (r->valid_to == INT64_MAX)
		snprintf(to, sizeof(to), "(current)");
	else
		tg_format_time(r->valid_to, to, sizeof(to));
	printf("address:    %s\ntime:       %s\ntenant:     %s\nprefix:     %s\n"
	       "source:     %s%s%s\nvalid_from: %s\nvalid_to:   %s\n",
	       addr, at, r->tenant, prefix, tg_id_source_name(r->source), r->iface[0] ? " " : "",
	       r->iface, from, to);
}

static void print_json(const char *addr, const char *at, const struct tg_id_row *r)
{
	char prefix[64], t[32];

	printf("{\"address\": ");
	tg_json_string(stdout, addr);
	printf(", \"time\": \"%s\", \"tenant\": ", at);
	if (!r) {
		printf("null, \"prefix\": null, \"source\": null, \"interface\": null, "
		       "\"valid_from\": null, \"valid_to\": null}\n");
		return;
	}
	tg_json_string(stdout, r->tenant);
	tg_format_cidr(&r->cidr, prefix, sizeof(prefix));
	printf(", \"prefix\": \"%s\", \"source\": \"%s\", \"interface\": ", prefix,
	       tg_id_source_name(r->source));
	if (r->iface[0])
		tg_json_string(stdout, r->iface);
	else
		printf("null");
	tg_format_time(r->valid_from, t, sizeof(t));
	printf(", \"valid_from\": \"%s\", \"valid_to\": ", t);
	if (r->valid_to == INT64_MAX) {
		printf("null}\n");
	} else {
		tg_format_time(r->valid_to, t, sizeof(t));
		printf("\"%s\"}\n", t);
	}
}

int cmd_whois(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "db", required_argument, NULL, 'd' },
		{ "at", required_argument, NULL, 'a' },	    { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },	    {}
	};
	const char *file = NULL, *db = NULL;
	char addr_s[INET6_ADDRSTRLEN];
	int64_t at = (int64_t)time(NULL);
	struct tg_identity *id;
	struct tg_cidr addr;
	struct tg_id_row row;
	struct tg_paths p;
	char at_s[32];
	bool json = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'a':
			if (tg_parse_time(optarg, &at)) {
				fprintf(stderr, "tollgate: bad --at '%s'\n%s", optarg, usage);
				return 2;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "tollgate: whois takes one ADDRESS\n%s", usage);
		return 2;
	}
	if (tg_identity_parse_addr(argv[optind], &addr) ||
	    !inet_ntop(addr.family, addr.addr, addr_s, sizeof(addr_s))) {
		fprintf(stderr,
			"tollgate: bad address '%s': expected one IPv4 or IPv6 address (no "
			"prefix length)\n",
			argv[optind]);
		return 2;
	}
	if (!db) {
		if (tg_cli_paths(file, &p))
			return 2;
		db = tg_identity_path(p.store);
	}
	err = tg_identity_open(db, true, &id);
	if (err) {
		if (err == -ENOENT || err == -ENODATA)
			fprintf(stderr,
				"tollgate: no identity history in %s: the agent has not run with "
				"this store yet\n",
				db);
		else
			fprintf(stderr, "tollgate: cannot read %s: %s\n", db, strerror(-err));
		return 3;
	}
	err = tg_identity_lookup(id, &addr, at, &row);
	tg_identity_close(id);
	tg_format_time(at, at_s, sizeof(at_s));
	if (err && err != -ENOENT) {
		fprintf(stderr, "tollgate: cannot read %s: %s\n", db, strerror(-err));
		return 3;
	}
	if (json)
		print_json(addr_s, at_s, err ? NULL : &row);
	else if (err)
		printf("%s at %s: no tenant held this address\n", addr_s, at_s);
	else
		print_text(addr_s, at_s, &row);
	return err ? 1 : 0;
}
