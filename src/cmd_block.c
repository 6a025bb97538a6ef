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

/* Says why the datapath cannot be opened (as open_maps does): the exit status 1. */
static int no_datapath(const struct tg_paths *p)
{
	struct tg_maps m;

	if (!open_maps(p, &m))
		tg_maps_close(&m);
	return 1;
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

static void print_list(FILE *f, const struct tg_ban_entry *v, size_t n, bool json)
{
	uint64_t now = tg_mono_ns();
	char cidr[64], rb[32];

	if (json)
		fprintf(f, "[");
	else
		fprintf(f, "%-43s %-10s %-10s %s\n", "PREFIX", "ORIGIN", "RULE", "EXPIRES IN");
	for (size_t i = 0; i < n; i++) {
		const struct tg_ban *b = &v[i].ban;
		bool expired = b->expires_ns && b->expires_ns <= now;

		tg_format_cidr(&v[i].cidr, cidr, sizeof(cidr));
		if (json) {
			fprintf(f, "%s{\"prefix\": \"%s\", \"origin\": \"%s\", \"rule\": ",
				i ? ", " : "", cidr, tg_ban_origin_name(b->origin));
			tg_json_string(f, tg_rule_name(b->rule, rb, sizeof(rb)));
			if (b->expires_ns)
				fprintf(f, ", \"expires_in_s\": %.3f, \"expired\": %s}",
					expired ? 0.0 : (double)(b->expires_ns - now) / 1e9,
					expired ? "true" : "false");
			else
				fprintf(f, ", \"expires_in_s\": null, \"expired\": false}");
			continue;
		}
		fprintf(f, "%-43s %-10s %-10s ", cidr, tg_ban_origin_name(b->origin),
			tg_rule_name(b->rule, rb, sizeof(rb)));
		if (!b->expires_ns)
			fprintf(f, "never\n");
		else if (expired)
			fprintf(f, "expired\n");
		else
			fprintf(f, "%.0fs\n", (double)(b->expires_ns - now) / 1e9);
	}
	if (json)
		fprintf(f, "]\n");
}

/* The bans into f as `tollgate block --list [--json]` prints them: 0 or -errno (-ENODEV:
 * no datapath). */
int tg_bans_write(FILE *f, const char *pin_path, bool json)
{
	struct tg_ban_entry *v;
	struct tg_maps m;
	size_t n;
	int err;

	if (tg_maps_open_pinned(pin_path, &m))
		return -ENODEV;
	err = tg_bans_list(&m, &v, &n);
	if (!err) {
		print_list(f, v, n, json);
		free(v);
	}
	tg_maps_close(&m);
	return err;
}

/* Bans c for ttl_ms (0: until lifted), or lifts its ban, and audits it with the members
 * actor adds ("\"uid\":0", ...). 0, -ENOENT (unblock: not banned), -ENODEV (no datapath)
 * or -errno; *guard says whether some interface carries the guard. */
int tg_block_apply(const char *pin_path, const char *audit_path, bool unblock,
		   const struct tg_cidr *c, uint64_t ttl_ms, const char *actor, bool *guard)
{
	char cidr_s[64], members[384];
	struct tg_maps m;
	uint64_t expires;
	int err;

	if (tg_maps_open_pinned(pin_path, &m))
		return -ENODEV;
	tg_format_cidr(c, cidr_s, sizeof(cidr_s));
	if (unblock) {
		err = tg_ban_del(&m, c);
		if (!err)
			snprintf(members, sizeof(members), "\"src\":\"%s\",%s", cidr_s, actor);
	} else {
		err = tg_ban_add(&m, c, ttl_ms, TG_BAN_MANUAL, TG_RULE_MANUAL, &expires);
		if (!err && ttl_ms)
			snprintf(members, sizeof(members),
				 "\"src\":\"%s\",\"ttl_ms\":%" PRIu64 ",%s", cidr_s, ttl_ms, actor);
		else if (!err)
			snprintf(members, sizeof(members), "\"src\":\"%s\",\"ttl_ms\":null,%s",
				 cidr_s, actor);
	}
	if (!err) {
		int aerr = tg_audit_append(audit_path, unblock ? "unblock" : "block", members);

		if (aerr)
			fprintf(stderr, "tollgate: warning: cannot write the audit log %s: %s\n",
				audit_path, strerror(-aerr));
	}
	*guard = guard_attached(&m);
	tg_maps_close(&m);
	return err;
}

static int block_or_unblock(int argc, char **argv, bool unblock)
{
	static const struct option opts[] = {
		{ "ttl", required_argument, NULL, 't' }, { "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },	 { "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },	 {}
	};
	const char *conf = NULL, *ttl_arg = NULL;
	bool list = false, json = false, guard = false;
	char cidr_s[64], actor[32], msg[256];
	uint64_t ttl_ms = 0;
	struct tg_paths p;
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
	if (list) {
		err = tg_bans_write(stdout, p.pin_path, json);
		if (err == -ENODEV)
			return no_datapath(&p);
		if (err)
			fprintf(stderr, "tollgate: cannot read the bans: %s\n", strerror(-err));
		return err ? 1 : 0;
	}
	tg_format_cidr(&c, cidr_s, sizeof(cidr_s));
	/* Where an agent runs, it writes the ban (docs/api.md): one writer. */
	err = tg_api_block(p.run_dir, unblock, cidr_s, ttl_arg, &guard, msg, sizeof(msg));
	if (err == -ENOTCONN) {
		snprintf(actor, sizeof(actor), "\"uid\":%u", (unsigned)getuid());
		err = tg_block_apply(p.pin_path, p.audit, unblock, &c, ttl_ms, actor, &guard);
		if (err == -ENODEV)
			return no_datapath(&p);
		if (err == -ENOENT && unblock)
			fprintf(stderr,
				"tollgate: %s is not banned (`tollgate block --list` shows the "
				"bans; a ban is lifted by its exact prefix)\n",
				cidr_s);
		else if (err && unblock)
			fprintf(stderr, "tollgate: cannot lift the ban of %s: %s\n", cidr_s,
				strerror(-err));
		else if (err)
			fprintf(stderr, "tollgate: cannot ban %s: %s\n", cidr_s, strerror(-err));
	} else if (err) {
		fprintf(stderr, "tollgate: %s\n", msg);
	}
	if (err)
		return 1;
	if (unblock) {
		printf("tollgate: unblocked %s\n", cidr_s);
		return 0;
	}
	if (ttl_ms)
		printf("tollgate: blocked %s for %s\n", cidr_s, ttl_arg);
	else
		printf("tollgate: blocked %s until `tollgate unblock %s`\n", cidr_s, cidr_s);
	if (!guard)
		fprintf(stderr, "tollgate: warning: no interface carries the uplink guard now; "
				"the ban acts once one does\n");
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
