// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate block CIDR [--ttl DURATION]`, `tollgate block --list [--json]` and
 * `tollgate unblock CIDR`: bans on the uplink guard, written straight into the pinned
 * ban tries, so they act at once, with or without a running agent and without a reload.
 * Each change is a record in the audit log (docs/audit.md).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "audit.h"
#include "bans.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "guard.h"
#include "json.h"

static void usage_block(FILE *out)
{
	fprintf(out,
		"usage: tollgate block CIDR [--ttl DURATION] [-c FILE]\n"
		"       tollgate block --list [--json] [-c FILE]\n"
		"       tollgate unblock CIDR [-c FILE]\n"
		"  CIDR            a source address or prefix (IPv4 or IPv6), host bits zero\n"
		"  -t, --ttl D     lift the ban by itself after D (e.g. 90s, 10m, 2h); default: "
		"never\n"
		"  -l, --list      the bans in force, expired ones the agent has not swept yet "
		"marked\n"
		"  -j, --json      --list as JSON\n"
		"  -c, --config F  where the datapath is (default " TG_DEFAULT_CONFIG ")\n");
}

static int open_maps(const struct tg_paths *p, struct tg_maps *m)
{
	int err = tg_maps_open_pinned(p->pin_path, m);

	if (err == -ENOENT)
		fprintf(stderr,
			"tollgate: no datapath under %s: start the agent (tollgate run) first\n",
			p->pin_path);
	else if (err)
		fprintf(stderr, "tollgate: cannot open the datapath under %s: %s\n", p->pin_path,
			strerror(-err));
	return err;
}

/* Does any interface carry the guard? A ban acts only where the XDP program runs. */
static bool guard_attached(const struct tg_maps *m)
{
	uint32_t key, next, *prev = NULL, id;
	bool native;

	while (bpf_map_get_next_key(m->ifaces, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (!tg_xdp_query(key, &id, &native) && id)
			return true;
	}
	return false;
}

static int parse_cidr_arg(const char *s, struct tg_cidr *c)
{
	if (!tg_parse_cidr(s, c))
		return 0;
	fprintf(stderr,
		"tollgate: '%s' is not an address or prefix (e.g. 203.0.113.7, 203.0.113.0/24, "
		"2001:db8::/32; host bits must be zero)\n",
		s);
	return -EINVAL;
}

static void audit(const struct tg_paths *p, const char *type, const char *members)
{
	int err = tg_audit_append(p->audit, type, members);

	if (err)
		fprintf(stderr, "tollgate: warning: cannot write the audit log %s: %s\n", p->audit,
			strerror(-err));
}

static void print_list(const struct tg_ban_entry *v, size_t n, bool json)
{
	uint64_t now = tg_mono_ns();
	char cidr[64], rb[32];

	if (json)
		printf("[");
	else
		printf("%-43s %-10s %-10s %s\n", "PREFIX", "ORIGIN", "RULE", "EXPIRES IN");
	for (size_t i = 0; i < n; i++) {
		const struct tg_ban *b = &v[i].ban;
		bool expired = b->expires_ns && b->expires_ns <= now;

		tg_format_cidr(&v[i].cidr, cidr, sizeof(cidr));
		if (json) {
			printf("%s{\"prefix\": \"%s\", \"origin\": \"%s\", \"rule\": ",
			       i ? ", " : "", cidr, tg_ban_origin_name(b->origin));
			tg_json_string(stdout, tg_rule_name(b->rule, rb, sizeof(rb)));
			if (b->expires_ns)
				printf(", \"expires_in_s\": %.3f, \"expired\": %s}",
				       expired ? 0.0 : (double)(b->expires_ns - now) / 1e9,
				       expired ? "true" : "false");
			else
				printf(", \"expires_in_s\": null, \"expired\": false}");
			continue;
		}
		printf("%-43s %-10s %-10s ", cidr, tg_ban_origin_name(b->origin),
		       tg_rule_name(b->rule, rb, sizeof(rb)));
		if (!b->expires_ns)
			printf("never\n");
		else if (expired)
			printf("expired\n");
		else
			printf("%.0fs\n", (double)(b->expires_ns - now) / 1e9);
	}
	if (json)
		printf("]\n");
}

static int block_or_unblock(int argc, char **argv, bool unblock)
{
	static const struct option opts[] = {
		{ "ttl", required_argument, NULL, 't' }, { "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },	 { "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },	 {}
	};
	const char *conf = NULL, *ttl_arg = NULL;
	bool list = false, json = false;
	char cidr_s[64], members[256];
	uint64_t ttl_ms = 0, expires;
	struct tg_paths p;
	struct tg_maps m;
	struct tg_cidr c;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "t:ljc:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			ttl_arg = optarg;
			break;
		case 'l':
			list = true;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'h':
			usage_block(stdout);
			return 0;
		default:
			usage_block(stderr);
			return 2;
		}
	}
	if ((list && (unblock || optind != argc || ttl_arg)) || (!list && optind != argc - 1) ||
	    (unblock && ttl_arg) || (json && !list)) {
		usage_block(stderr);
		return 2;
	}
	if (ttl_arg && (tg_parse_duration(ttl_arg, &ttl_ms) || !ttl_ms)) {
		fprintf(stderr, "tollgate: --ttl '%s' is not a duration (e.g. 90s, 10m, 2h)\n",
			ttl_arg);
		return 2;
	}
	if (!list && parse_cidr_arg(argv[optind], &c))
		return 2;
	if (tg_cli_paths(conf, &p))
		return 2;
	if (open_maps(&p, &m))
		return 1;
	if (list) {
		struct tg_ban_entry *v;
		size_t n;

		err = tg_bans_list(&m, &v, &n);
		if (err)
			fprintf(stderr, "tollgate: cannot read the bans: %s\n", strerror(-err));
		else
			print_list(v, n, json);
		if (!err)
			free(v);
		tg_maps_close(&m);
		return err ? 1 : 0;
	}
	tg_format_cidr(&c, cidr_s, sizeof(cidr_s));
	if (unblock) {
		err = tg_ban_del(&m, &c);
		if (err == -ENOENT)
			fprintf(stderr,
				"tollgate: %s is not banned (`tollgate block --list` shows the "
				"bans; a ban is lifted by its exact prefix)\n",
				cidr_s);
		else if (err)
			fprintf(stderr, "tollgate: cannot lift the ban of %s: %s\n", cidr_s,
				strerror(-err));
		if (!err) {
			snprintf(members, sizeof(members), "\"src\":\"%s\",\"uid\":%u", cidr_s,
				 (unsigned)getuid());
			audit(&p, "unblock", members);
			printf("tollgate: unblocked %s\n", cidr_s);
		}
		tg_maps_close(&m);
		return err ? 1 : 0;
	}
	err = tg_ban_add(&m, &c, ttl_ms, TG_BAN_MANUAL, TG_RULE_MANUAL, &expires);
	if (err) {
		fprintf(stderr, "tollgate: cannot ban %s: %s\n", cidr_s, strerror(-err));
		tg_maps_close(&m);
		return 1;
	}
	if (ttl_ms)
		snprintf(members, sizeof(members),
			 "\"src\":\"%s\",\"ttl_ms\":%" PRIu64 ",\"uid\":%u", cidr_s, ttl_ms,
			 (unsigned)getuid());
	else
		snprintf(members, sizeof(members), "\"src\":\"%s\",\"ttl_ms\":null,\"uid\":%u",
			 cidr_s, (unsigned)getuid());
	audit(&p, "block", members);
	if (ttl_ms)
		printf("tollgate: blocked %s for %s\n", cidr_s, ttl_arg);
	else
		printf("tollgate: blocked %s until `tollgate unblock %s`\n", cidr_s, cidr_s);
	if (!guard_attached(&m))
		fprintf(stderr, "tollgate: warning: no interface carries the uplink guard now; "
				"the ban acts once one does\n");
	tg_maps_close(&m);
	return 0;
}

int cmd_block(int argc, char **argv)
{
	return block_or_unblock(argc, argv, false);
}

int cmd_unblock(int argc, char **argv)
{
	return block_or_unblock(argc, argv, true);
}
