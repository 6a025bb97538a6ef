/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Identity history: intervals opened and closed by sync (rows read back with the sqlite3
 * command line, an independent reader), the longest prefix valid at an instant, the
 * boundary instants ([valid_from, valid_to)), bad input that changes nothing, and
 * `tollgate whois` with its output and exit statuses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "identity.h"

#define T0 INT64_C(1795226400) /* 2026-11-21T02:00:00Z */

static char dir[] = "/tmp/tg_identity.XXXXXX";
static char db[300];

static int run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int st;

	out[0] = '\0';
	if (!p)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The table as sqlite3(1) prints it: tenant|prefix|source|interface|from|to per row. */
static void rows(char *out, size_t cap)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd),
		 "sqlite3 %s \"SELECT tenant, prefix, source, IFNULL(interface, '-'), "
		 "valid_from - %lld, IFNULL(valid_to - %lld, 'NULL') FROM identity_history "
		 "ORDER BY id\" 2>&1",
		 db, (long long)T0, (long long)T0);
	if (run(cmd, out, cap) != 0)
		tap_diag("sqlite3 failed: %s", out);
}

static void expect_rows(const char *want, const char *what)
{
	char got[4096];

	rows(got, sizeof(got));
	if (!tap_check(!strcmp(got, want), "rows (sqlite3): %s", what))
		tap_diag("got:\n%s\nwant:\n%s", got, want);
}

static struct tg_id_row row(const char *cidr, const char *tenant, const char *iface)
{
	struct tg_id_row r = {};

	if (tg_parse_cidr(cidr, &r.cidr))
		tap_diag("test bug: bad cidr %s", cidr);
	snprintf(r.tenant, sizeof(r.tenant), "%s", tenant);
	snprintf(r.iface, sizeof(r.iface), "%s", iface ? iface : "");
	return r;
}

/* whois ADDR at T: "tenant prefix" or "none" or "error N". */
static const char *who(struct tg_identity *id, const char *addr, int64_t at)
{
	static char buf[128];
	struct tg_cidr a;
	struct tg_id_row r;
	char p[64];
	int err;

	if (tg_identity_parse_addr(addr, &a))
		return "bad address";
	err = tg_identity_lookup(id, &a, at, &r);
	if (err == -ENOENT)
		return "none";
	if (err) {
		snprintf(buf, sizeof(buf), "error %d", err);
		return buf;
	}
	tg_format_cidr(&r.cidr, p, sizeof(p));
	snprintf(buf, sizeof(buf), "%s %s %s", r.tenant, p, tg_id_source_name(r.source));
	return buf;
}

static void expect_who(struct tg_identity *id, const char *addr, int64_t at, const char *want)
{
	const char *got = who(id, addr, at);

	if (!tap_check(!strcmp(got, want), "whois %s at T0%+lld: %s", addr, (long long)(at - T0),
		       want))
		tap_diag("got '%s'", got);
}

static void expect_changes(const struct tg_id_changes *ch, size_t o, size_t c, size_t k,
			   const char *what)
{
	if (!tap_check(ch->opened == o && ch->closed == c && ch->kept == k,
		       "%s: %zu opened, %zu closed, %zu kept", what, o, c, k))
		tap_diag("got %zu opened, %zu closed, %zu kept", ch->opened, ch->closed, ch->kept);
}

static void test_parse(void)
{
	static const char *const bad[] = { "",		"10.9.0.7/32", "10.9.0.256", "foo",
					   " 10.9.0.7", "10.9.0.7 ",   "10.9.0",     "fd00::1/128",
					   "1.2.3.4.5", "::g" };
	struct tg_cidr a;
	char s[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		tap_check(tg_identity_parse_addr(bad[i], &a) == -EINVAL && a.family == 0,
			  "address '%s' is refused", bad[i]);
	tap_check(tg_identity_parse_addr(NULL, &a) == -EINVAL, "NULL address is refused");
	tap_check(tg_identity_parse_addr("10.9.0.7", &a) == 0 && a.family == AF_INET &&
			  a.prefixlen == 32 && a.addr[0] == 10 && a.addr[3] == 7,
		  "10.9.0.7 is an IPv4 /32");
	tap_check(tg_identity_parse_addr("::ffff:10.9.0.7", &a) == 0 && a.family == AF_INET &&
			  !tg_format_cidr(&a, s, sizeof(s)) && !strcmp(s, "10.9.0.7/32"),
		  "::ffff:10.9.0.7 reads as IPv4 10.9.0.7");
	tap_check(tg_identity_parse_addr("fd00:1::5", &a) == 0 && a.family == AF_INET6 &&
			  a.prefixlen == 128,
		  "fd00:1::5 is an IPv6 /128");
	tap_check(!strcmp(tg_identity_path("/var/lib/x/t.db"), "/var/lib/x/t.db"),
		  "a SQLite store path holds the history");
	tap_check(!strcmp(tg_identity_path("postgresql://db/tollgate"), TG_DEFAULT_IDENTITY),
		  "a URL store: the history goes to " TG_DEFAULT_IDENTITY);
}

static void test_open_errors(void)
{
	struct tg_identity *id = (void *)1;
	char path[400], cmd[600], out[256];

	snprintf(path, sizeof(path), "%s/missing.db", dir);
	tap_check(tg_identity_open(path, true, &id) == -ENOENT && !id,
		  "read-only open of a missing file: -ENOENT");
	tap_check(access(path, F_OK) != 0, "... and the file is not created");
	snprintf(path, sizeof(path), "%s/other.db", dir);
	snprintf(cmd, sizeof(cmd), "sqlite3 %s 'CREATE TABLE t(x)' 2>&1", path);
	run(cmd, out, sizeof(out));
	tap_check(tg_identity_open(path, true, &id) == -ENODATA,
		  "read-only open of a SQLite file without the table: -ENODATA");
	tap_check(tg_identity_open("", false, &id) == -EINVAL, "empty path: -EINVAL");
}

static void test_history(struct tg_identity *id)
{
	struct tg_id_row cfg1[] = { row("10.9.0.0/24", "alpha", NULL),
				    row("10.0.0.0/8", "alpha", NULL),
				    row("fd00:1::/64", "gamma", NULL) };
	struct tg_id_row cfg2[] = { row("10.9.0.0/24", "beta", NULL),
				    row("10.0.0.0/8", "alpha", NULL),
				    row("fd00:1::/64", "gamma", NULL) };
	struct tg_id_row bad[] = { row("10.8.0.0/24", "delta", NULL) };
	struct tg_id_row ifs[] = { row("10.9.0.0/24", "gamma", "vt-g0"),
				   row("10.9.0.0/25", "gamma", "vt-g0") };
	struct tg_id_changes ch;
	int64_t T1 = T0 + 100, T2 = T0 + 200;

	tap_check(tg_identity_sync(id, TG_ID_CONFIG, cfg1, 3, T0, &ch) == 0, "first apply");
	expect_changes(&ch, 3, 0, 0, "first apply");
	tap_check(tg_identity_sync(id, TG_ID_CONFIG, cfg1, 3, T0 + 10, &ch) == 0, "same again");
	expect_changes(&ch, 0, 0, 3, "the same configuration again");
	expect_rows("alpha|10.9.0.0/24|config|-|0|NULL\n"
		    "alpha|10.0.0.0/8|config|-|0|NULL\n"
		    "gamma|fd00:1::/64|config|-|0|NULL\n",
		    "unchanged CIDRs are untouched (valid_from stays T0)");

	/* Bad input changes nothing. */
	bad[0].cidr.prefixlen = 33;
	tap_check(tg_identity_sync(id, TG_ID_CONFIG, bad, 1, T0 + 20, &ch) == -EINVAL,
		  "a /33 IPv4 prefix is refused");
	bad[0] = row("10.8.0.0/24", "", NULL);
	tap_check(tg_identity_sync(id, TG_ID_CONFIG, bad, 1, T0 + 20, &ch) == -EINVAL,
		  "an empty tenant name is refused");
	tap_check(tg_identity_sync(id, 7, cfg1, 3, T0 + 20, &ch) == -EINVAL,
		  "an unknown source is refused");
	expect_rows("alpha|10.9.0.0/24|config|-|0|NULL\n"
		    "alpha|10.0.0.0/8|config|-|0|NULL\n"
		    "gamma|fd00:1::/64|config|-|0|NULL\n",
		    "refused syncs changed nothing");

	/* 10.9.0.0/24 moves from alpha to beta at T1. */
	tap_check(tg_identity_sync(id, TG_ID_CONFIG, cfg2, 3, T1, &ch) == 0, "the move");
	expect_changes(&ch, 1, 1, 2, "the move");
	expect_rows("alpha|10.9.0.0/24|config|-|0|100\n"
		    "alpha|10.0.0.0/8|config|-|0|NULL\n"
		    "gamma|fd00:1::/64|config|-|0|NULL\n"
		    "beta|10.9.0.0/24|config|-|100|NULL\n",
		    "the moved CIDR: old row closed at T1, new row from T1");
	expect_who(id, "10.9.0.7", T0 - 1, "none");
	expect_who(id, "10.9.0.7", T0, "alpha 10.9.0.0/24 config");
	expect_who(id, "10.9.0.7", T1 - 1, "alpha 10.9.0.0/24 config");
	expect_who(id, "10.9.0.7", T1, "beta 10.9.0.0/24 config");
	expect_who(id, "10.9.0.7", T1 + 1000000, "beta 10.9.0.0/24 config");
	expect_who(id, "10.1.2.3", T1, "alpha 10.0.0.0/8 config");
	expect_who(id, "11.0.0.1", T1, "none");
	expect_who(id, "fd00:1::5", T1, "gamma fd00:1::/64 config");
	expect_who(id, "fd00:2::5", T1, "none");
	expect_who(id, "::ffff:10.9.0.7", T1, "beta 10.9.0.0/24 config");

	/* Interface prefixes: their own source, never closing config rows; a tie on length
	 * goes to config, a longer prefix wins. */
	tap_check(tg_identity_sync(id, TG_ID_INTERFACE, ifs, 2, T1 + 50, &ch) == 0,
		  "interface prefixes recorded");
	expect_changes(&ch, 2, 0, 0, "interface prefixes");
	expect_who(id, "10.9.0.7", T1 + 50, "gamma 10.9.0.0/25 interface");
	expect_who(id, "10.9.0.200", T1 + 50, "beta 10.9.0.0/24 config");
	expect_who(id, "10.9.0.7", T1 + 49, "beta 10.9.0.0/24 config");
	tap_check(tg_identity_sync(id, TG_ID_INTERFACE, NULL, 0, T1 + 60, &ch) == 0,
		  "the interface lost its addresses");
	expect_changes(&ch, 0, 2, 0, "interface addresses gone");
	expect_who(id, "10.9.0.7", T1 + 60, "beta 10.9.0.0/24 config");
	expect_who(id, "10.9.0.7", T1 + 59, "gamma 10.9.0.0/25 interface");

	/* Everything removed from the configuration at T2. */
	tap_check(tg_identity_sync(id, TG_ID_CONFIG, NULL, 0, T2, &ch) == 0, "all removed");
	expect_changes(&ch, 0, 3, 0, "all removed");
	expect_who(id, "10.9.0.7", T2, "none");
	expect_who(id, "10.9.0.7", T2 - 1, "beta 10.9.0.0/24 config");
	expect_who(id, "10.1.2.3", T2 - 1, "alpha 10.0.0.0/8 config");

	/* The clock went back: an interval never ends before it began. */
	tap_check(tg_identity_sync(id, TG_ID_CONFIG, cfg1, 1, T2 + 100, &ch) == 0, "re-added");
	tap_check(tg_identity_sync(id, TG_ID_CONFIG, NULL, 0, T2 + 50, &ch) == 0,
		  "closed at an earlier clock");
	expect_rows("alpha|10.9.0.0/24|config|-|0|100\n"
		    "alpha|10.0.0.0/8|config|-|0|200\n"
		    "gamma|fd00:1::/64|config|-|0|200\n"
		    "beta|10.9.0.0/24|config|-|100|200\n"
		    "gamma|10.9.0.0/24|interface|vt-g0|150|160\n"
		    "gamma|10.9.0.0/25|interface|vt-g0|150|160\n"
		    "alpha|10.9.0.0/24|config|-|300|300\n",
		    "the whole history; the last interval is empty, not negative");
	expect_who(id, "10.9.0.7", T2 + 100, "none");
}

static void test_cli(void)
{
	const char *outdir = getenv("OUT") ? getenv("OUT") : "build";
	char bin[300], cmd[1200], out[2048], want[1024];
	int rc;

	snprintf(bin, sizeof(bin), "%s/tollgate", outdir);
	if (!tap_check(access(bin, X_OK) == 0, "the command line is built (%s)", bin))
		return;
	snprintf(cmd, sizeof(cmd), "%s whois 10.9.0.7 --db %s --at @%lld --json 2>&1", bin, db,
		 (long long)T0 + 99);
	rc = run(cmd, out, sizeof(out));
	if (!tap_check(rc == 0 &&
			       !strcmp(out, "{\"address\": \"10.9.0.7\", \"time\": "
					    "\"2026-11-21T02:01:39Z\", \"tenant\": \"alpha\", "
					    "\"prefix\": \"10.9.0.0/24\", \"source\": \"config\", "
					    "\"interface\": null, \"valid_from\": "
					    "\"2026-11-21T02:00:00Z\", \"valid_to\": "
					    "\"2026-11-21T02:01:40Z\"}\n"),
		       "whois --json before the move: alpha, exit 0"))
		tap_diag("exit %d: %s", rc, out);
	snprintf(cmd, sizeof(cmd),
		 "%s whois 10.9.0.7 --db %s --at 2026-11-21T02:01:40Z --json | python3 -c "
		 "'import json,sys; d=json.load(sys.stdin); print(d[\"tenant\"], d[\"prefix\"], "
		 "d[\"valid_from\"], d[\"valid_to\"])' 2>&1",
		 bin, db);
	rc = run(cmd, out, sizeof(out));
	if (!tap_check(rc == 0 && !strcmp(out, "beta 10.9.0.0/24 2026-11-21T02:01:40Z "
					       "2026-11-21T02:03:20Z\n"),
		       "whois --json at the move's instant (RFC 3339), read by python3 json: beta"))
		tap_diag("exit %d: %s", rc, out);
	snprintf(cmd, sizeof(cmd), "%s whois 10.9.0.130 --db %s --at @%lld 2>&1", bin, db,
		 (long long)T0 + 155);
	rc = run(cmd, out, sizeof(out));
	/* At T0+155 10.9.0.130 is in beta's config /24 and gamma's interface /24: config. */
	if (!tap_check(rc == 0 && strstr(out, "tenant:     beta\n") &&
			       strstr(out, "source:     config\n"),
		       "whois (table): a tie on length goes to config"))
		tap_diag("exit %d: %s", rc, out);
	snprintf(cmd, sizeof(cmd), "%s whois 10.9.0.5 --db %s --at @%lld 2>&1", bin, db,
		 (long long)T0 + 155);
	rc = run(cmd, out, sizeof(out));
	snprintf(want, sizeof(want),
		 "address:    10.9.0.5\ntime:       2026-11-21T02:02:35Z\ntenant:     gamma\n"
		 "prefix:     10.9.0.0/25\nsource:     interface vt-g0\n"
		 "valid_from: 2026-11-21T02:02:30Z\nvalid_to:   2026-11-21T02:02:40Z\n");
	if (!tap_check(rc == 0 && !strcmp(out, want),
		       "whois (table): the longer interface prefix wins, with its interface"))
		tap_diag("exit %d: %s", rc, out);
	snprintf(cmd, sizeof(cmd), "%s whois 10.9.0.7 --db %s --at @%lld 2>&1", bin, db,
		 (long long)T0 - 1);
	rc = run(cmd, out, sizeof(out));
	if (!tap_check(rc == 1 && !strcmp(out, "10.9.0.7 at 2026-11-21T01:59:59Z: no tenant "
					       "held this address\n"),
		       "whois before any assignment: none, exit 1"))
		tap_diag("exit %d: %s", rc, out);
	snprintf(cmd, sizeof(cmd), "%s whois 192.0.2.1 --db %s --json 2>&1", bin, db);
	rc = run(cmd, out, sizeof(out));
	if (!tap_check(rc == 1 && strstr(out, "\"tenant\": null, \"prefix\": null"),
		       "whois --json of an address never assigned: tenant null, exit 1"))
		tap_diag("exit %d: %s", rc, out);

	static const struct {
		const char *args, *msg;
		int rc;
	} bad[] = {
		{ "whois", "whois takes one ADDRESS", 2 },
		{ "whois 10.9.0.7 10.9.0.8", "whois takes one ADDRESS", 2 },
		{ "whois 10.9.0.0/24", "bad address '10.9.0.0/24'", 2 },
		{ "whois example.com", "bad address 'example.com'", 2 },
		{ "whois 10.9.0.7 --at yesterday", "bad --at 'yesterday'", 2 },
		{ "whois 10.9.0.7 --at 2026-13-01T00:00:00Z", "bad --at", 2 },
		{ "whois 10.9.0.7 --bogus", "usage: tollgate whois", 2 },
		{ "whois --help", "usage: tollgate whois", 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s --db %s 2>&1", bin, bad[i].args, db);
		rc = run(cmd, out, sizeof(out));
		if (!tap_check(rc == bad[i].rc && strstr(out, bad[i].msg),
			       "tollgate %s: exit %d, '%s'", bad[i].args, bad[i].rc, bad[i].msg))
			tap_diag("exit %d: %s", rc, out);
	}
	snprintf(cmd, sizeof(cmd), "%s whois 10.9.0.7 --db %s/nope.db 2>&1", bin, dir);
	rc = run(cmd, out, sizeof(out));
	if (!tap_check(rc == 3 && strstr(out, "no identity history in"),
		       "whois without a history file: a clear message, exit 3"))
		tap_diag("exit %d: %s", rc, out);
}

int main(void)
{
	struct tg_identity *id = NULL;
	char cmd[400], out[64];
	int err;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/sub/dir/tollgate.db", dir);
	test_parse();
	test_open_errors();
	err = tg_identity_open(db, false, &id);
	if (tap_check(err == 0, "open creates the file, its directories and the table")) {
		test_history(id);
		tg_identity_close(id);
		test_cli();
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd, out, sizeof(out));
	return tap_done();
}
