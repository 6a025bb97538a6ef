// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The uplink guard's configuration (src/config.c, the uplink: keys) and its compiler and
 * applier (src/guard.c). Bad inputs first: every bad key or value gives its message at its
 * line and column, and list files report their bad line. Then the compiled form is
 * checked against an oracle written here from the semantics documented in src/guard.h,
 * which scans the configuration's rules directly: among the rules of every prefix that
 * holds the source, in the destination tenant's scope first and then in scope 0, the
 * longest prefix first and within a prefix allowlist, blocklist, honeypot sources,
 * uplink.rules in file order, the first whose protocol and ports match decides. The
 * compiled entries are judged by a brute-force longest-prefix match over them, and, once
 * applied, by the kernel's own LPM tries of a private datapath. Last, big lists (a million
 * blocklist entries compiled; 100k applied, with the times as diagnostics) and re-applies
 * that must leave no stale entry, group or scope bit behind.
 *
 * usage: test_guard [APPLY_COUNT]   (blocklist entries for the timed apply, default 100000)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "guard.h"
#include "policy.h"
#include "tap.h"

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ICMP IPPROTO_ICMP

static char tmpdir[64];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: deterministic, so a failure can be replayed */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return n ? (uint32_t)((rng * 2685821657736338717ull) >> 33) % n : 0;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, len, f) != len)
		tap_diag("cannot write %s", path);
	if (f)
		fclose(f);
}

static int parse(const char *name, const char *text, struct tg_config *cfg, struct tg_diags *d)
{
	memset(d, 0, sizeof(*d));
	return tg_config_parse(name, text, strlen(text), cfg, d);
}

static void print_diags(const struct tg_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		tap_diag("  %u:%u: %s%s", d->v[i].line, d->v[i].col,
			 d->v[i].warning ? "warning: " : "", d->v[i].msg);
}

static bool has_diag(const struct tg_diags *d, unsigned line, unsigned col, bool warning,
		     const char *msg)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].line == line && d->v[i].col == col && d->v[i].warning == warning &&
		    !strcmp(d->v[i].msg, msg))
			return true;
	return false;
}

/* ---- configuration errors ---- */

#define HEAD                                                                                  \
	"tenants: [{name: acme, cidrs: [10.1.0.0/24]}, {name: beta, cidrs: [10.2.0.0/24]}]\n" \
	"uplink:\n"                                                                           \
	"  interfaces: [eth0]\n"
#define HEAD_LINES 3

struct bad {
	const char *text; /* after HEAD */
	const char *at;	  /* the error is at the last occurrence of this in text */
	const char *msg;
};

static const struct bad bad_cases[] = {
	{ "  xdp_mode: fast\n", "fast",
	  "invalid xdp_mode 'fast': expected auto, native or generic" },
	{ "  allowlist: [10.0.0.1/8]\n", "10.0.0.1/8",
	  "host bits set in 10.0.0.1/8; did you mean 10.0.0.0/8?" },
	{ "  blocklist: [300.0.0.0/8]\n", "300",
	  "invalid CIDR '300.0.0.0/8': expected an IPv4 or IPv6 address, optionally with /LENGTH" },
	{ "  blocklist: ['fd00::/129']\n", "'fd00",
	  "invalid prefix length in 'fd00::/129': expected 0 to 128" },
	{ "  blocklist: 10.0.0.0/8\n", "10.0", "uplink.blocklist: expected a sequence" },
	{ "  blocklist_files: [{a: b}]\n", "{a", "uplink.blocklist_files[0]: expected a scalar" },
	{ "  allowlist: [192.0.2.0/24]\n  blocklist: [10.0.0.0/8, 192.0.2.0/24]\n", "192.0.2.0/24",
	  "192.0.2.0/24 is in uplink.blocklist and in uplink.allowlist (at 4:15): a source is "
	  "allowed or blocked, not both" },
	{ "  rules: [{action: drop, proto: tcp, ports: 99999}]\n", "99999",
	  "invalid ports '99999': expected a port from 1 to 65535 or a range N-M with N <= M" },
	{ "  rules: [{action: drop, proto: tcp, ports: 90-80}]\n", "90-80",
	  "invalid ports '90-80': expected a port from 1 to 65535 or a range N-M with N <= M" },
	{ "  rules: [{action: drop, proto: icmp, ports: 22}]\n", "ports",
	  "ports apply only to proto tcp or udp" },
	{ "  rules: [{action: drop, ports: 22}]\n", "ports",
	  "ports apply only to proto tcp or udp: give proto" },
	{ "  rules: [{action: drop, proto: tcpp}]\n", "tcpp",
	  "invalid proto 'tcpp': expected tcp, udp, icmp, icmpv6, any or a protocol number from 0 "
	  "to 255" },
	{ "  rules: [{tenant: nobody, action: drop}]\n", "nobody",
	  "unknown tenant 'nobody' in uplink.rules[0].tenant" },
	{ "  rules: [{action: allow}, {src: 10.0.0.0/8}]\n", "{src",
	  "missing key 'action' in uplink.rules[1]" },
	{ "  rules: [{action: reject}]\n", "reject",
	  "invalid action 'reject': expected drop, allow, honeypot or alert" },
	{ "  rules: [{action: drop, port: 22}]\n", "port:",
	  "unknown key 'port' in uplink.rules[0] (expected src, tenant, proto, ports or action)" },
	{ "  rules: [{action: honeypot}]\n", "honeypot",
	  "action honeypot needs uplink.honeypot.interface" },
	{ "  rules: [{src: 10.1.1.1/16, action: drop}]\n", "10.1.1.1",
	  "host bits set in 10.1.1.1/16; did you mean 10.1.0.0/16?" },
	{ "  rules: {action: drop}\n", "{", "uplink.rules: expected a sequence" },
	{ "  rules: [drop]\n", "drop", "uplink.rules[0]: expected a mapping" },
	{ "  rate_limit: {burst: 2s}\n", "{", "missing key 'pps' or 'bps' in uplink.rate_limit" },
	{ "  rate_limit: {pps: 0}\n", "0",
	  "invalid pps '0': expected packets per second, a decimal integer from 1 to 100000000" },
	{ "  rate_limit: {bps: 100}\n", "100",
	  "rate '100' has no unit: expected e.g. 100mbit (bits per second) or 100mbps (bytes per "
	  "second)" },
	{ "  rate_limit: {bps: 8kbit, burst: 100ms}\n", "100ms",
	  "a burst of 100ms at 8000 bit/s holds less than one full frame (1514 bytes): give a "
	  "longer burst" },
	{ "  rate_limit: {pps: 10}\n  xdp_mode: auto\n  signatures: {}\n", "good", NULL },
	{ "  rate_limit: {pps: 10, burst: 99ms}\n", "99ms",
	  "a burst of 99ms at 10 packets/s holds less than one packet: give a longer burst" },
	{ "  rate_limit: {pps: 10, burst: 2m}\n", "2m",
	  "uplink.rate_limit.burst '2m' must be from 1ms to 60s" },
	{ "  rate_limit: {pps: 10, prefix6: 129}\n", "129",
	  "invalid uplink.rate_limit.prefix6 '129': expected a prefix length from 0 to 128" },
	{ "  rate_limit: {pps: 10, prefix4: '08'}\n", "'08'",
	  "invalid uplink.rate_limit.prefix4 '08': expected a prefix length from 0 to 32" },
	{ "  syn_flood: {mode: drop}\n", "{", "missing key 'threshold' in uplink.syn_flood" },
	{ "  syn_flood: {threshold: 1000, mode: rst}\n", "rst",
	  "invalid mode 'rst': expected drop or cookie" },
	{ "  syn_flood: {threshold: 1000, hold: 10}\n", "10}",
	  "duration '10' has no unit: expected ms, s, m, h or d, e.g. 60s" },
	{ "  syn_flood: {threshold: 1000, ban_ttl: 31d}\n", "31d",
	  "uplink.syn_flood.ban_ttl '31d' must be from 1s to 30d" },
	{ "  syn_flood: {threshold: 1000, validated_ttl: 500ms}\n", "500ms",
	  "uplink.syn_flood.validated_ttl '500ms' must be from 1s to 30d" },
	{ "  syn_flood: {threshold: -5}\n", "-5",
	  "invalid threshold '-5': expected packets per second, a decimal integer from 1 to "
	  "100000000" },
	{ "  syn_flood: {threshold: 1000, source_budget: 0}\n", "0}",
	  "invalid source_budget '0': expected packets per second, a decimal integer from 1 to "
	  "100000000" },
	{ "  syn_flood: {threshold: 1000, end_threshold: 1001}\n", "1001",
	  "uplink.syn_flood.end_threshold (1001) is above threshold (1000): a flood ends below "
	  "the rate that starts it" },
	{ "  rate_limit: {pps: 10, ban_ttl: 500ms}\n", "500ms",
	  "uplink.rate_limit.ban_ttl '500ms' must be from 1s to 30d" },
	{ "  syn_flood: {threshold: 1000, rate: 5}\n", "rate",
	  "unknown key 'rate' in uplink.syn_flood (expected threshold, source_budget, ban_ttl, "
	  "hold, mode, validated_ttl or end_threshold)" },
	{ "  honeypot: {interface: hp0}\n", "{",
	  "missing key 'mac' in uplink.honeypot: the honeypot host's MAC address is needed with "
	  "interface" },
	{ "  honeypot: {interface: hp0, mac: '02:00:00:00:00'}\n", "'02",
	  "invalid uplink.honeypot.mac '02:00:00:00:00': expected six hex bytes such as "
	  "02:00:5e:00:53:01" },
	{ "  honeypot: {interface: hp0, mac: '01:00:5e:00:00:01'}\n", "'01",
	  "uplink.honeypot.mac '01:00:5e:00:00:01' is not a unicast address" },
	{ "  honeypot: {interface: 'hp*', mac: '02:00:00:00:00:01'}\n", "'hp*'",
	  "invalid uplink.honeypot.interface 'hp*': expected an interface name of 1 to 15 "
	  "characters, not a glob" },
	{ "  honeypot: {mac: '02:00:00:00:00:01'}\n", "mac",
	  "uplink.honeypot.mac needs uplink.honeypot.interface: redirects go there" },
	{ "  honeypot: {sources: [10.9.0.0/16]}\n", "sources",
	  "uplink.honeypot.sources needs uplink.honeypot.interface: redirects go there" },
	{ "  honeypot: {bans: true}\n", "true",
	  "uplink.honeypot.bans: true needs uplink.honeypot.interface: redirects go there" },
	{ "  honeypot: {bans: yes}\n", "yes",
	  "invalid uplink.honeypot.bans 'yes': expected true or false" },
	{ "  signatures: {ports: [1, 2, 3, 4, 5, 6, 7, 8, 9]}\n", "[1",
	  "uplink.signatures.ports: expected 1 to 8 ports" },
	{ "  signatures: {ports: []}\n", "[]", "uplink.signatures.ports: expected 1 to 8 ports" },
	{ "  signatures: {ports: [0]}\n", "0",
	  "invalid port '0' in uplink.signatures.ports[0]: expected 1 to 65535" },
	{ "  signatures: {ports: [80, 8080, 80]}\n", "80]",
	  "duplicate port 80 in uplink.signatures.ports" },
	{ "  signatures: {action: block}\n", "block",
	  "invalid action 'block': expected alert or drop" },
	{ "  ddos: {}\n", "ddos", "'ddos' is not supported by this version" },
	{ "  blocklists: []\n", "blocklists",
	  "unknown key 'blocklists' in uplink (expected interfaces, xdp_mode, allowlist, "
	  "allowlist_files, blocklist, blocklist_files, rules, rate_limit, syn_flood, honeypot or "
	  "signatures)" },
	{ "outputs: {audit: audit.log}\n", "audit.log",
	  "invalid outputs.audit 'audit.log': expected an absolute path, e.g. "
	  "/var/log/tollgate/audit.log" },
	{ "  rules:\n"
	  "    - {src: 10.0.0.0/8, proto: tcp, ports: 1, action: drop}\n"
	  "    - {src: 10.0.0.0/8, proto: tcp, ports: 2, action: drop}\n"
	  "    - {src: 10.0.0.0/8, proto: tcp, ports: 3, action: drop}\n"
	  "    - {src: 10.0.0.0/8, proto: tcp, ports: 4, action: drop}\n"
	  "    - {src: 10.0.0.0/8, proto: tcp, ports: 5, action: drop}\n"
	  "    - {src: 10.0.0.0/8, proto: tcp, ports: 6, action: drop}\n"
	  "    - {src: 10.0.0.0/8, proto: tcp, ports: 7, action: drop}\n"
	  "    - {src: 10.0.0.0/8, proto: tcp, ports: 8, action: drop}\n"
	  "    - {src: 10.1.0.0/16, proto: udp, ports: 8, action: drop, tenant: beta}\n"
	  "    - {src: 10.1.0.0/16, proto: tcp, ports: 9, action: drop}\n",
	  "rules",
	  "uplink: the rules for 10.1.0.0/16 and the prefixes covering it add up to more than 8 "
	  "distinct protocol/port rules; at most 8 fit one prefix" },
};

/* line and column of the last occurrence of at in the text after HEAD */
static void pos_of(const char *text, const char *at, unsigned *line, unsigned *col)
{
	const char *hit = NULL, *p = text;

	while ((p = strstr(p, at)) != NULL)
		hit = p++;
	*line = HEAD_LINES + 1;
	*col = 1;
	for (p = text; hit && p < hit; p++) {
		if (*p == '\n') {
			++*line;
			*col = 1;
		} else {
			++*col;
		}
	}
}

static void test_bad_values(void)
{
	char text[4096];

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct tg_config cfg;
		struct tg_diags d;
		unsigned line, col;
		int r;

		snprintf(text, sizeof(text), "%s%s", HEAD, bad_cases[i].text);
		r = parse("<test>", text, &cfg, &d);
		if (!bad_cases[i].msg) {
			if (!tap_check(r == 0 && d.errors == 0,
				       "good: rate_limit with pps alone, xdp_mode, signatures {}"))
				print_diags(&d);
		} else {
			pos_of(bad_cases[i].text, bad_cases[i].at, &line, &col);
			if (!tap_check(r == -EINVAL && d.errors == 1 &&
					       has_diag(&d, line, col, false, bad_cases[i].msg),
				       "%u:%u: %s", line, col, bad_cases[i].msg))
				print_diags(&d);
		}
		tg_config_free(&cfg);
		tg_diags_free(&d);
	}
}

static void test_warnings(void)
{
	struct tg_config cfg;
	struct tg_diags d;
	unsigned col;
	int r;

	r = parse("<test>",
		  "tenants: [{name: acme, cidrs: [10.1.0.0/24]}]\n"
		  "uplink:\n"
		  "  xdp_mode: generic\n"
		  "  syn_flood: {threshold: 100}\n"
		  "  blocklist: [10.0.0.0/8]\n",
		  &cfg, &d);
	if (!tap_check(r == 0 && d.n == 1 &&
			       has_diag(&d, 4, 3, true,
					"the uplink guard has no interface to run on: "
					"uplink.interfaces lists none"),
		       "guard keys without uplink.interfaces: one warning, at the first guard key"))
		print_diags(&d);
	tap_check(cfg.guard.enabled && cfg.guard.xdp_mode == TG_XDP_GENERIC && cfg.guard.syn,
		  "... and the guard is still configured");
	tg_config_free(&cfg);
	tg_diags_free(&d);

	r = parse(
		"<test>",
		"tenants: [{name: acme, cidrs: [10.1.0.0/24]}]\n"
		"uplink:\n"
		"  interfaces: [eth0]\n"
		"  allowlist: [10.9.0.0/16]\n"
		"  honeypot: {interface: hp0, mac: '02:00:00:00:00:01', sources: [10.9.0.0/16]}\n",
		&cfg, &d);
	col = (unsigned)strlen(
		      "  honeypot: {interface: hp0, mac: '02:00:00:00:00:01', sources: [") +
	      1;
	if (!tap_check(r == 0 && d.n == 1 &&
			       has_diag(&d, 5, col, true,
					"honeypot source 10.9.0.0/16 is also in uplink.allowlist "
					"(at 4:15), which decides first: it is never redirected"),
		       "a honeypot source the allowlist holds: a warning"))
		print_diags(&d);
	tg_config_free(&cfg);
	tg_diags_free(&d);

	r = parse("<test>",
		  "tenants: [{name: acme, cidrs: [10.1.0.0/24]}]\n"
		  "uplink: {interfaces: [eth0], xdp_mode: native}\n",
		  &cfg, &d);
	tap_check(r == 0 && d.n == 0 && !cfg.guard.enabled && cfg.guard.xdp_mode == TG_XDP_NATIVE,
		  "xdp_mode alone: no guard, no warning");
	tg_config_free(&cfg);
	tg_diags_free(&d);
}

/* ---- list files ---- */

static void test_files(void)
{
	char conf[128], path[160], text[1024];
	struct tg_config cfg;
	struct tg_diags d;
	unsigned col;
	int r;

	snprintf(conf, sizeof(conf), "%s/tollgate.yaml", tmpdir);
	snprintf(path, sizeof(path), "%s/good.txt", tmpdir);
	write_file(path,
		   "# a feed\n\n10.0.0.0/8\n  10.1.0.0/16\t# trailing comment\r\n"
		   "fd00::/16\n\t\n198.51.100.7",
		   strlen("# a feed\n\n10.0.0.0/8\n  10.1.0.0/16\t# trailing comment\r\n"
			  "fd00::/16\n\t\n198.51.100.7"));
	snprintf(path, sizeof(path), "%s/bad.txt", tmpdir);
	write_file(path, "10.0.0.0/8\n\n# x\n10.2.0.1/16\nbogus # no\n10.3.0.0/16 10.4.0.0/16\n",
		   strlen("10.0.0.0/8\n\n# x\n10.2.0.1/16\nbogus # no\n10.3.0.0/16 "
			  "10.4.0.0/16\n"));
	snprintf(path, sizeof(path), "%s/nul.txt", tmpdir);
	write_file(path, "10.0.0.0/8\n10.1\0.0.0/16\n", 24);
	snprintf(path, sizeof(path), "%s/sub", tmpdir);
	mkdir(path, 0700);

	/* relative to the configuration's directory; comments, blanks, CRLF, no final \n */
	snprintf(path, sizeof(path), "%s/allow.txt", tmpdir);
	write_file(path, "203.0.113.0/24\n", strlen("203.0.113.0/24\n"));
	snprintf(text, sizeof(text), "%s  blocklist_files: [good.txt]\n  allowlist_files: [%s]\n",
		 HEAD, path);
	r = parse(conf, text, &cfg, &d);
	if (!tap_check(r == 0 && d.n == 0, "a good list file loads, relative and absolute"))
		print_diags(&d);
	tap_check(cfg.guard.n_block == 4 && cfg.guard.n_allow == 1 &&
			  cfg.guard.block[1].prefixlen == 16 && cfg.guard.block[1].addr[1] == 1 &&
			  cfg.guard.block[2].family == AF_INET6 &&
			  cfg.guard.block[3].prefixlen == 32 && cfg.guard.block[3].addr[3] == 7,
		  "its four CIDRs, in order, the last line without a newline too");
	tg_config_free(&cfg);
	tg_diags_free(&d);

	snprintf(text, sizeof(text), "%s  blocklist_files: [good.txt, bad.txt]\n", HEAD);
	col = (unsigned)strlen("  blocklist_files: [good.txt, ") + 1;
	r = parse(conf, text, &cfg, &d);
	if (!tap_check(r == -EINVAL && d.errors == 3 &&
			       has_diag(&d, 4, col, false,
					"bad.txt:4: host bits set in 10.2.0.1/16; did you mean "
					"10.2.0.0/16?") &&
			       has_diag(&d, 4, col, false,
					"bad.txt:5: invalid CIDR 'bogus': expected an IPv4 or IPv6 "
					"address, optionally with /LENGTH") &&
			       has_diag(&d, 4, col, false,
					"bad.txt:6: invalid prefix length in '10.3.0.0/16 "
					"10.4.0.0/16': expected 0 to 32"),
		       "a bad list file: FILE:LINE of each bad line, at the file's name"))
		print_diags(&d);
	tg_config_free(&cfg);
	tg_diags_free(&d);

	snprintf(text, sizeof(text), "%s  allowlist_files: [nul.txt, missing.txt, sub]\n", HEAD);
	r = parse(conf, text, &cfg, &d);
	if (!tap_check(r == -EINVAL && d.errors == 3 &&
			       has_diag(&d, 4, 21, false, "nul.txt:2: unexpected NUL character") &&
			       has_diag(&d, 4, 30, false,
					"cannot read list file missing.txt: No such file or "
					"directory") &&
			       has_diag(&d, 4, 43, false, "list file sub is not a regular file"),
		       "NUL bytes, missing files and directories are errors"))
		print_diags(&d);
	tg_config_free(&cfg);
	tg_diags_free(&d);

	/* a million and one IPv4 entries: one too many (and the time a million takes) */
	{
		size_t n = (1u << 20) + 1, len = 0;
		char *big = malloc(n * 20);
		double t;

		for (size_t i = 0; big && i < n; i++)
			len += (size_t)sprintf(big + len, "10.%zu.%zu.%zu/32\n", i >> 16,
					       (i >> 8) & 255, i & 255);
		snprintf(path, sizeof(path), "%s/big.txt", tmpdir);
		if (big)
			write_file(path, big, len);
		free(big);
		snprintf(text, sizeof(text), "%s  blocklist_files: [big.txt]\n", HEAD);
		t = now_s();
		r = parse(conf, text, &cfg, &d);
		t = now_s() - t;
		if (!tap_check(r == -EINVAL && d.errors == 1 &&
				       has_diag(&d, 4, 21, false,
						"big.txt:1048577: too many IPv4 entries in "
						"uplink.blocklist: at most 1048576"),
			       "1048577 IPv4 entries in one list: an error at the one too many"))
			print_diags(&d);
		tap_diag("loading a list file of %zu lines took %.2f s", n, t);
		tg_config_free(&cfg);
		tg_diags_free(&d);
		unlink(path);
	}
}

/* ---- good values ---- */

static void test_values(void)
{
	static const char text[] =
		"tenants: [{name: acme, cidrs: [10.1.0.0/24]}, {name: beta, cidrs: "
		"[10.2.0.0/24]}]\n"
		"uplink:\n"
		"  interfaces: [eth0]\n"
		"  xdp_mode: native\n"
		"  allowlist: [192.0.2.0/24, '2001:db8::/32']\n"
		"  blocklist: [203.0.113.0/24]\n"
		"  rules:\n"
		"    - {src: 198.51.100.0/24, tenant: beta, proto: tcp, ports: 22-23, action: "
		"allow}\n"
		"    - {proto: udp, ports: 53, action: alert}\n"
		"    - {src: '2001:db8:1::/48', proto: 47, action: honeypot}\n"
		"  rate_limit: {pps: 1000, bps: 10mbit, burst: 500ms, prefix4: 24, prefix6: 48}\n"
		"  syn_flood: {threshold: 5000, source_budget: 20, ban_ttl: 5m, hold: 2s, mode: "
		"cookie, validated_ttl: 1h}\n"
		"  honeypot: {interface: hp0, mac: '02:AB:cd:00:00:01', sources: [10.66.0.0/16], "
		"bans: true}\n"
		"  signatures: {ports: [80, 8080], action: drop}\n"
		"outputs: {audit: /srv/audit.log}\n";
	struct tg_config cfg;
	struct tg_diags d;
	const struct tg_guard_config *g = &cfg.guard;
	static const uint8_t mac[6] = { 0x02, 0xab, 0xcd, 0, 0, 1 };

	if (!tap_check(parse("<test>", text, &cfg, &d) == 0 && d.n == 0, "a full guard loads"))
		print_diags(&d);
	tap_check(g->enabled && g->xdp_mode == TG_XDP_NATIVE && g->n_allow == 2 &&
			  g->allow[1].family == AF_INET6 && g->n_block == 1,
		  "xdp_mode and the sets");
	tap_check(g->n_rules == 3 && !g->rules[0].any_src && g->rules[0].tenant == 1 &&
			  g->rules[0].proto == TCP && g->rules[0].port_lo == 22 &&
			  g->rules[0].port_hi == 23 && g->rules[0].action == TG_GA_ALLOW,
		  "rules[0]: src, tenant beta, tcp 22-23, allow");
	tap_check(g->rules[1].any_src && g->rules[1].tenant == -1 && g->rules[1].proto == UDP &&
			  g->rules[1].port_lo == 53 && g->rules[1].port_hi == 53 &&
			  g->rules[1].action == TG_GA_ALERT,
		  "rules[1]: any source, every destination, udp 53, alert");
	tap_check(g->rules[2].proto == 47 && g->rules[2].port_lo == 0 &&
			  g->rules[2].port_hi == 65535 && g->rules[2].action == TG_GA_HONEYPOT,
		  "rules[2]: protocol by number, any port, honeypot");
	tap_check(g->src_pps == 1000 && g->src_bps == 10000000 && g->src_burst_ms == 500 &&
			  g->src_prefix4 == 24 && g->src_prefix6 == 48,
		  "rate_limit");
	tap_check(g->syn && g->syn_threshold == 5000 && g->syn_source_budget == 20 &&
			  g->syn_ban_ttl_ms == 300000 && g->syn_hold_ms == 2000 && g->syn_cookie &&
			  g->syn_validated_ttl_ms == 3600000,
		  "syn_flood");
	tap_check(!strcmp(g->honeypot_if, "hp0") && !memcmp(g->honeypot_mac, mac, 6) &&
			  g->n_honeypot_sources == 1 && g->honeypot_bans,
		  "honeypot (MAC in either case)");
	tap_check(g->n_sig_ports == 2 && g->sig_ports[0] == 80 && g->sig_ports[1] == 8080 &&
			  g->sig_drop,
		  "signatures");
	tap_check(!strcmp(cfg.audit_path, "/srv/audit.log"), "outputs.audit");
	tg_config_free(&cfg);
	tg_diags_free(&d);

	tap_check(parse("<test>",
			"tenants: [{name: a, cidrs: [10.0.0.0/8]}]\n"
			"uplink: {interfaces: [eth0], rate_limit: {bps: 1gbit}, syn_flood: "
			"{threshold: 1}, signatures: {}}\n",
			&cfg, &d) == 0 &&
			  d.n == 0,
		  "defaults: loads");
	tap_check(g->src_burst_ms == 1000 && g->src_prefix4 == 32 && g->src_prefix6 == 64 &&
			  g->syn_source_budget == 10 && g->syn_ban_ttl_ms == 60000 &&
			  g->syn_hold_ms == 10000 && !g->syn_cookie &&
			  g->syn_validated_ttl_ms == 600000 && g->n_sig_ports == 1 &&
			  g->sig_ports[0] == 80 && !g->sig_drop && g->xdp_mode == TG_XDP_AUTO &&
			  !g->honeypot_if[0] && !g->honeypot_bans,
		  "defaults: burst 1s, /32 and /64, budget 10, ban 60s, hold 10s, drop, "
		  "validated 10m, signatures on port 80 alerting, xdp auto");
	tap_check(!strcmp(cfg.audit_path, TG_DEFAULT_AUDIT), "defaults: audit log %s",
		  TG_DEFAULT_AUDIT);
	tg_config_free(&cfg);
	tg_diags_free(&d);

	tap_check(parse("<test>", "tenants: [{name: a, cidrs: [10.0.0.0/8]}]\n", &cfg, &d) == 0 &&
			  !cfg.guard.enabled && !cfg.guard.n_sig_ports,
		  "no uplink section: the guard is off");
	tg_config_free(&cfg);
	tg_diags_free(&d);
}

/* ---- the oracle ---- */

#define N_TENANTS 3

struct pkt {
	int family;
	uint8_t src[16];
	int tenant; /* index of the destination's tenant, -1 = none */
	uint8_t proto;
	bool has_port;
	uint16_t port;
};

struct verdict {
	uint8_t action; /* TG_GA_NONE: no verdict */
	uint32_t rule;
};

static bool cidr_holds(const struct tg_cidr *c, int family, const uint8_t *a)
{
	unsigned full = c->prefixlen / 8, rest = c->prefixlen % 8;

	if (c->family != family || memcmp(c->addr, a, full))
		return false;
	return !rest || !((c->addr[full] ^ a[full]) & (uint8_t)(0xff00 >> rest));
}

static bool l4_match(uint8_t proto, uint16_t lo, uint16_t hi, const struct pkt *p)
{
	if (proto && proto != p->proto)
		return false;
	if (lo == 0 && hi == 65535)
		return true;
	return p->has_port && p->port >= lo && p->port <= hi;
}

/* Is candidate (plen, ord) earlier than the best so far? */
static bool earlier(int plen, uint32_t ord, int best_plen, uint32_t best_ord)
{
	return plen > best_plen || (plen == best_plen && ord < best_ord);
}

/* The documented semantics, straight from the configuration. */
static struct verdict oracle(const struct tg_guard_config *g, const struct pkt *p)
{
	struct verdict v = { TG_GA_NONE, 0 };

	for (int pass = 0; pass < 2 && v.action == TG_GA_NONE; pass++) {
		int scope = pass == 0 ? p->tenant : -1, best_plen = -1;
		uint32_t best_ord = UINT32_MAX;

		if (pass == 0 && p->tenant < 0)
			continue;
		if (scope < 0) {
			const struct {
				const struct tg_cidr *v;
				size_t n;
				uint8_t action;
				uint32_t rule;
			} sets[3] = {
				{ g->allow, g->n_allow, TG_GA_ALLOW, TG_RULE_ALLOWLIST },
				{ g->block, g->n_block, TG_GA_DROP, TG_RULE_BLOCKLIST },
				{ g->honeypot_sources, g->n_honeypot_sources, TG_GA_HONEYPOT,
				  TG_RULE_HONEYPOT },
			};

			for (uint32_t s = 0; s < 3; s++)
				for (size_t i = 0; i < sets[s].n; i++)
					if (cidr_holds(&sets[s].v[i], p->family, p->src) &&
					    earlier(sets[s].v[i].prefixlen, s, best_plen,
						    best_ord)) {
						best_plen = sets[s].v[i].prefixlen;
						best_ord = s;
						v.action = sets[s].action;
						v.rule = sets[s].rule;
					}
		}
		for (size_t i = 0; i < g->n_rules; i++) {
			const struct tg_guard_rule_conf *r = &g->rules[i];
			int plen = r->any_src ? 0 : r->src.prefixlen;

			if (r->tenant != scope)
				continue;
			if (!r->any_src && !cidr_holds(&r->src, p->family, p->src))
				continue;
			if (!l4_match(r->proto, r->port_lo, r->port_hi, p))
				continue;
			if (earlier(plen, 3 + (uint32_t)i, best_plen, best_ord)) {
				best_plen = plen;
				best_ord = 3 + (uint32_t)i;
				v.action = (uint8_t)r->action;
				v.rule = TG_RULE_RULES + (uint32_t)i;
			}
		}
	}
	return v;
}

/* ---- judging compiled entries (brute-force LPM) and applied maps (the kernel's) ---- */

static struct verdict of_value(const struct tg_gset_val *val, const struct tg_guard_group *grp,
			       const struct pkt *p)
{
	struct verdict v = { TG_GA_NONE, 0 };

	if (!val->group) {
		v.action = val->action;
		v.rule = val->rule;
		return v;
	}
	for (uint32_t k = 0; grp && k < grp->n && k < TG_GUARD_GROUP_RULES; k++) {
		if (l4_match(grp->r[k].proto, grp->r[k].port_lo, grp->r[k].port_hi, p)) {
			v.action = grp->r[k].action;
			v.rule = grp->r[k].rule;
			break;
		}
	}
	return v;
}

static struct verdict judge_scope(const struct tg_guard_compiled *c, uint32_t scope,
				  const struct pkt *p)
{
	const struct tg_gset_entry *best = NULL;
	uint32_t best_len = 0;

	for (size_t i = 0; i < c->n_entries; i++) {
		const struct tg_gset_entry *e = &c->entries[i];
		struct tg_cidr cc = { .family = e->family };
		uint32_t plen, sc;

		memcpy(&plen, e->key, 4);
		memcpy(&sc, e->key + 4, 4);
		if (e->family != p->family || ntohl(sc) != scope)
			continue;
		cc.prefixlen = (uint8_t)(plen - 32);
		memcpy(cc.addr, e->key + 8, e->family == AF_INET ? 4 : 16);
		if (cidr_holds(&cc, p->family, p->src) && (!best || plen > best_len)) {
			best = e;
			best_len = plen;
		}
	}
	if (!best)
		return (struct verdict){ TG_GA_NONE, 0 };
	if (best->val.group >= c->n_groups)
		return (struct verdict){ 0xff, 0 }; /* a dangling group: never the oracle's */
	return of_value(&best->val, &c->groups[best->val.group], p);
}

static bool scoped_bit(const struct tg_guard_compiled *c, uint32_t id)
{
	return c->scoped_tenants[id / 32] & (1u << (id % 32));
}

static struct verdict judge_compiled(const struct tg_guard_compiled *c, const uint32_t *ids,
				     const struct pkt *p)
{
	struct verdict v = { TG_GA_NONE, 0 };

	if (p->tenant >= 0 && scoped_bit(c, ids[p->tenant]))
		v = judge_scope(c, ids[p->tenant], p);
	if (v.action == TG_GA_NONE)
		v = judge_scope(c, 0, p);
	return v;
}

static struct verdict kernel_scope(const struct tg_maps *m, uint32_t scope, const struct pkt *p)
{
	struct tg_gset6_key k6 = { .prefixlen = 32 + 128, .scope = htonl(scope) };
	struct tg_gset4_key k4 = { .prefixlen = 32 + 32, .scope = htonl(scope) };
	struct tg_guard_group grp;
	struct tg_gset_val val;
	uint32_t slot;
	int r;

	memcpy(k4.addr, p->src, 4);
	memcpy(k6.addr, p->src, 16);
	r = p->family == AF_INET ? bpf_map_lookup_elem(m->gset4, &k4, &val)
				 : bpf_map_lookup_elem(m->gset6, &k6, &val);
	if (r)
		return (struct verdict){ TG_GA_NONE, 0 };
	slot = val.group;
	if (slot && bpf_map_lookup_elem(m->guard_groups, &slot, &grp))
		return (struct verdict){ 0xff, 0 };
	return of_value(&val, slot ? &grp : NULL, p);
}

static struct verdict judge_kernel(const struct tg_maps *m, const uint32_t *ids,
				   const struct pkt *p)
{
	struct verdict v = { TG_GA_NONE, 0 };
	struct tg_policy pol;

	if (p->tenant >= 0 && !bpf_map_lookup_elem(m->policy, &ids[p->tenant], &pol) &&
	    (pol.flags & TG_POL_GUARD_SCOPE))
		v = kernel_scope(m, ids[p->tenant], p);
	if (v.action == TG_GA_NONE)
		v = kernel_scope(m, 0, p);
	return v;
}

/* ---- random configurations ---- */

static void random_addr(int family, uint8_t *a)
{
	memset(a, 0, 16);
	if (family == AF_INET) {
		a[0] = 10;
		a[1] = (uint8_t)rnd(3);
		a[2] = (uint8_t)rnd(4);
		a[3] = (uint8_t)(rnd(4) * 64 + rnd(64));
	} else {
		a[0] = 0xfd;
		a[1] = (uint8_t)rnd(3);
		a[5] = (uint8_t)rnd(4);
		a[8] = (uint8_t)rnd(3);
		a[15] = (uint8_t)rnd(256);
	}
}

static void random_cidr(struct tg_cidr *c)
{
	static const uint8_t len4[] = { 0, 8, 14, 16, 18, 24, 26, 28, 32 };
	static const uint8_t len6[] = { 0, 8, 16, 24, 40, 48, 64, 120, 128 };
	unsigned k = rnd(9);

	memset(c, 0, sizeof(*c));
	c->family = rnd(3) ? AF_INET : AF_INET6;
	random_addr(c->family, c->addr);
	c->prefixlen = c->family == AF_INET ? len4[k] : len6[k];
	for (unsigned b = c->prefixlen; b < 128; b++)
		c->addr[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
}

static struct tg_cidr *random_set(size_t n)
{
	struct tg_cidr *v = calloc(n + 1, sizeof(*v));

	for (size_t i = 0; v && i < n; i++)
		random_cidr(&v[i]);
	return v;
}

/* At most 7 rules narrower than any protocol and any port, so that no prefix can need
 * more than 8 rules: every configuration compiles. */
static void random_guard(struct tg_guard_config *g)
{
	static const struct {
		uint8_t proto;
		uint16_t lo, hi;
	} l4[] = { { TCP, 22, 22 },   { TCP, 20, 80 },	 { UDP, 53, 53 },
		   { TCP, 0, 65535 }, { UDP, 50, 60 },	 { ICMP, 0, 65535 },
		   { 47, 0, 65535 },  { TCP, 443, 443 }, { UDP, 1, 65535 } };
	unsigned narrow = 0;

	g->enabled = true;
	g->n_allow = rnd(4);
	g->n_block = rnd(8);
	g->n_honeypot_sources = rnd(3);
	g->allow = random_set(g->n_allow);
	g->block = random_set(g->n_block);
	g->honeypot_sources = random_set(g->n_honeypot_sources);
	g->n_rules = rnd(12);
	g->rules = calloc(g->n_rules + 1, sizeof(*g->rules));
	for (size_t i = 0; g->rules && i < g->n_rules; i++) {
		struct tg_guard_rule_conf *r = &g->rules[i];

		r->any_src = !rnd(4);
		if (!r->any_src)
			random_cidr(&r->src);
		r->tenant = (int)rnd(N_TENANTS + 2) - 2; /* -1 half the time or so */
		if (r->tenant < -1)
			r->tenant = -1;
		r->action = (int)(1 + rnd(4));
		r->port_hi = 65535;
		if (narrow < 7 && rnd(3)) {
			unsigned k = rnd(sizeof(l4) / sizeof(l4[0]));

			r->proto = l4[k].proto;
			r->port_lo = l4[k].lo;
			r->port_hi = l4[k].hi;
			narrow++;
		}
	}
}

static void free_guard(struct tg_guard_config *g)
{
	free(g->allow);
	free(g->block);
	free(g->honeypot_sources);
	free(g->rules);
	memset(g, 0, sizeof(*g));
}

static void random_pkt(struct pkt *p)
{
	static const uint8_t protos[] = { TCP, TCP, UDP, UDP, ICMP, 47 };
	static const uint16_t ports[] = { 22, 53, 80, 443, 55, 21, 1000, 8 };

	memset(p, 0, sizeof(*p));
	p->family = rnd(3) ? AF_INET : AF_INET6;
	random_addr(p->family, p->src);
	if (!rnd(8)) /* an address off the pool: only 0/0 matches it */
		p->src[0] = p->family == AF_INET ? 192 : 0x20;
	p->tenant = (int)rnd(N_TENANTS + 1) - 1;
	p->proto = protos[rnd(sizeof(protos))];
	p->has_port = (p->proto == TCP || p->proto == UDP) && rnd(8);
	p->port = p->has_port ? ports[rnd(sizeof(ports) / sizeof(ports[0]))] : 0;
}

static const char *action_name(uint8_t a)
{
	static const char *const n[] = { "none", "allow", "drop", "honeypot", "alert" };

	return a < 5 ? n[a] : "bogus";
}

/* The configuration of tenants acme, beta and gamma, whose guard the tests fill in. */
static void base_config(struct tg_config *cfg)
{
	struct tg_diags d;

	if (parse("<test>",
		  "tenants:\n"
		  "  - {name: acme, cidrs: [192.168.1.0/24]}\n"
		  "  - {name: beta, cidrs: [192.168.2.0/24]}\n"
		  "  - {name: gamma, cidrs: [192.168.3.0/24]}\n",
		  cfg, &d))
		print_diags(&d);
	tg_diags_free(&d);
}

static void test_random_compile(void)
{
	static const uint32_t ids[N_TENANTS] = { 5, 9, 300 }; /* 300: a second byte */
	struct tg_applied ap = { .tenant_ids = (uint32_t *)ids };
	unsigned configs = 400, cases = 0, wrong = 0, fails = 0, scoped_ok = 0, groups = 0;
	struct tg_config cfg;

	base_config(&cfg);
	for (unsigned k = 0; k < configs; k++) {
		struct tg_guard_compiled c;
		char msg[256];
		int r;

		random_guard(&cfg.guard);
		r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
		if (r) {
			if (!fails++)
				tap_diag("config %u does not compile: %d %s", k, r, msg);
			free_guard(&cfg.guard);
			continue;
		}
		groups += (unsigned)c.n_groups - 1;
		/* a scope bit exactly for the tenants with rules of their own */
		{
			bool ok = true;

			for (int t = 0; t < N_TENANTS; t++) {
				bool has = false;

				for (size_t i = 0; i < cfg.guard.n_rules; i++)
					has |= cfg.guard.rules[i].tenant == t;
				ok &= has == scoped_bit(&c, ids[t]);
			}
			scoped_ok += ok;
		}
		for (unsigned n = 0; n < 300; n++) {
			struct pkt p;
			struct verdict want, got;

			random_pkt(&p);
			want = oracle(&cfg.guard, &p);
			got = judge_compiled(&c, ids, &p);
			cases++;
			if (want.action == got.action && want.rule == got.rule)
				continue;
			if (wrong++ < 5) {
				char buf[32];

				tap_diag("config %u: tenant %d proto %u port %u (%s): want %s %s, "
					 "got "
					 "%s %s",
					 k, p.tenant, p.proto, p.port,
					 p.has_port ? "known" : "none", action_name(want.action),
					 tg_rule_name(want.rule, buf, sizeof(buf)),
					 action_name(got.action),
					 tg_rule_name(got.rule, buf, sizeof(buf)));
			}
		}
		tg_guard_compiled_free(&c);
		free_guard(&cfg.guard);
	}
	tap_equal_u64(fails, 0, "every random configuration compiles");
	tap_equal_u64(scoped_ok, configs, "scoped_tenants marks exactly the tenants with rules");
	tap_check(wrong == 0,
		  "%u random packets over %u random configurations: the compiled "
		  "entries decide as the oracle does (%u wrong)",
		  cases, configs, wrong);
	tap_check(groups > 0, "... and the configurations did need groups (%u in all)", groups);
	tg_config_free(&cfg);
}

/* ---- hand-written compile cases ---- */

static struct tg_cidr C(const char *s) {
	struct tg_cidr c;

	if (tg_parse_cidr(s, &c))
		tap_diag("bad test CIDR %s", s);
	return c;
}

static const struct tg_gset_entry *
find(const struct tg_guard_compiled *c, uint32_t scope, const char *cidr)
{
	struct tg_cidr x = C(cidr);

	for (size_t i = 0; i < c->n_entries; i++) {
		const struct tg_gset_entry *e = &c->entries[i];
		uint32_t plen, sc;

		memcpy(&plen, e->key, 4);
		memcpy(&sc, e->key + 4, 4);
		if (e->family == x.family && plen == 32u + x.prefixlen && sc == htonl(scope) &&
		    !memcmp(e->key + 8, x.addr, x.family == AF_INET ? 4 : 16))
			return e;
	}
	return NULL;
}

static bool direct(const struct tg_gset_entry *e, uint8_t action, uint32_t rule)
{
	return e && e->val.group == 0 && e->val.action == action && e->val.rule == rule;
}

/* The entry's group is exactly rules (proto, lo, hi, action, rule), in order. */
struct gr {
	uint8_t proto;
	uint16_t lo, hi;
	uint8_t action;
	uint32_t rule;
};

static bool group_is(const struct tg_guard_compiled *c, const struct tg_gset_entry *e,
		     const struct gr *want, uint32_t n)
{
	const struct tg_guard_group *g;

	if (!e || e->val.action != TG_GA_NONE || !e->val.group || e->val.group >= c->n_groups)
		return false;
	g = &c->groups[e->val.group];
	if (g->n != n)
		return false;
	for (uint32_t k = 0; k < n; k++)
		if (g->r[k].proto != want[k].proto || g->r[k].port_lo != want[k].lo ||
		    g->r[k].port_hi != want[k].hi || g->r[k].action != want[k].action ||
		    g->r[k].rule != want[k].rule)
			return false;
	return true;
}

#define G(...) ((const struct gr[]){ __VA_ARGS__ })
#define R(n) (TG_RULE_RULES + (n))

static struct tg_guard_rule_conf rule(const char *src, int tenant, uint8_t proto, uint16_t lo,
				      uint16_t hi, int action)
{
	struct tg_guard_rule_conf r = { .tenant = tenant, .proto = proto, .action = action };

	r.any_src = !src;
	if (src)
		r.src = C(src);
	r.port_lo = lo;
	r.port_hi = hi ? hi : 65535;
	return r;
}

static void test_compile_cases(void)
{
	static const uint32_t ids[N_TENANTS] = { 5, 9, 300 };
	struct tg_applied ap = { .tenant_ids = (uint32_t *)ids };
	struct tg_cidr allow[4], block[4], honey[2];
	struct tg_guard_rule_conf rules[12];
	struct tg_guard_compiled c;
	struct tg_config cfg;
	struct tg_guard_config *g = &cfg.guard;
	char msg[256];
	int r;

	base_config(&cfg);
	g->enabled = true;
	g->allow = allow;
	g->block = block;
	g->honeypot_sources = honey;
	g->rules = rules;

	r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
	tap_check(r == 0 && c.n_entries == 0 && c.n_groups == 1, "nothing configured: no entry");
	tg_guard_compiled_free(&c);

	/* sets: the longer prefix decides; within one prefix the allowlist first */
	block[0] = C("10.0.0.0/8");
	block[1] = C("192.0.2.0/24");
	allow[0] = C("10.1.2.0/24");
	allow[1] = C("192.0.2.0/24");
	honey[0] = C("10.1.0.0/16");
	honey[1] = C("fd00::/8");
	g->n_block = 2;
	g->n_allow = 2;
	g->n_honeypot_sources = 2;
	r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
	tap_check(r == 0 && c.n_entries == 5 && c.n_groups == 1, "five prefixes, no group");
	tap_check(direct(find(&c, 0, "10.0.0.0/8"), TG_GA_DROP, TG_RULE_BLOCKLIST) &&
			  direct(find(&c, 0, "10.1.0.0/16"), TG_GA_HONEYPOT, TG_RULE_HONEYPOT) &&
			  direct(find(&c, 0, "10.1.2.0/24"), TG_GA_ALLOW, TG_RULE_ALLOWLIST) &&
			  direct(find(&c, 0, "fd00::/8"), TG_GA_HONEYPOT, TG_RULE_HONEYPOT),
		  "each prefix its own set's verdict: the longest prefix wins");
	tap_check(direct(find(&c, 0, "192.0.2.0/24"), TG_GA_ALLOW, TG_RULE_ALLOWLIST),
		  "one prefix in both sets: the allowlist first");
	tg_guard_compiled_free(&c);

	/* rules: pushed down under the prefix's own, cut at the first any/any */
	g->n_allow = g->n_honeypot_sources = 0;
	g->n_block = 1; /* 10.0.0.0/8 */
	rules[0] = rule("10.1.0.0/16", -1, TCP, 22, 22, TG_GA_ALLOW);
	rules[1] = rule(NULL, -1, UDP, 0, 0, TG_GA_ALERT);
	rules[2] = rule("10.1.0.0/16", -1, TCP, 20, 30, TG_GA_DROP);
	rules[3] = rule("10.1.0.0/16", -1, TCP, 22, 22, TG_GA_HONEYPOT); /* never decides */
	rules[4] = rule("10.1.5.0/24", -1, 0, 0, 0, TG_GA_ALERT);
	rules[5] = rule("10.1.5.0/24", -1, TCP, 80, 80, TG_GA_DROP); /* never decides */
	g->n_rules = 6;
	r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
	tap_check(r == 0 && c.n_entries == 5,
		  "rules: 0/0 twice, /8, /16, /24: five entries (%d %s)", r, msg);
	tap_check(group_is(&c, find(&c, 0, "0.0.0.0/0"), G({ UDP, 0, 65535, TG_GA_ALERT, R(1) }),
			   1) &&
			  group_is(&c, find(&c, 0, "::/0"), G({ UDP, 0, 65535, TG_GA_ALERT, R(1) }),
				   1),
		  "a rule without src: 0.0.0.0/0 and ::/0, sharing one group");
	tap_check(find(&c, 0, "0.0.0.0/0")->val.group == find(&c, 0, "::/0")->val.group,
		  "... the same group id");
	tap_check(direct(find(&c, 0, "10.0.0.0/8"), TG_GA_DROP, TG_RULE_BLOCKLIST),
		  "the /8: the blocklist's drop, nothing after it");
	tap_check(group_is(&c, find(&c, 0, "10.1.0.0/16"),
			   G({ TCP, 22, 22, TG_GA_ALLOW, R(0) }, { TCP, 20, 30, TG_GA_DROP, R(2) },
			     { 0, 0, 65535, TG_GA_DROP, TG_RULE_BLOCKLIST }),
			   3),
		  "the /16: its rules in file order (minus one an earlier one shadows), then the "
		  "/8's drop");
	tap_check(direct(find(&c, 0, "10.1.5.0/24"), TG_GA_ALERT, R(4)),
		  "the /24: an any/any rule of its own first is its verdict");
	tap_equal_u64(c.n_groups, 3, "two groups (and the unused 0)");
	tg_guard_compiled_free(&c);

	/* scopes: no push-down across them; the bit of each scoped tenant */
	rules[0] = rule("10.1.0.0/16", 1, TCP, 22, 22, TG_GA_ALLOW);
	rules[1] = rule(NULL, 2, 0, 0, 0, TG_GA_DROP);
	g->n_rules = 2;
	r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
	tap_check(r == 0 && c.n_entries == 4, "scoped rules: the /8 and three scoped entries");
	tap_check(
		group_is(&c, find(&c, 9, "10.1.0.0/16"), G({ TCP, 22, 22, TG_GA_ALLOW, R(0) }), 1),
		"beta's /16 carries beta's rule only, not the blocklist of scope 0");
	tap_check(direct(find(&c, 300, "0.0.0.0/0"), TG_GA_DROP, R(1)) &&
			  direct(find(&c, 300, "::/0"), TG_GA_DROP, R(1)),
		  "gamma's any-source drop: scope 300 in network order");
	tap_check(!scoped_bit(&c, 5) && scoped_bit(&c, 9) && scoped_bit(&c, 300) &&
			  !scoped_bit(&c, 0),
		  "scoped_tenants: beta and gamma");
	tg_guard_compiled_free(&c);

	/* the limit of rules per prefix: 8 fit, 9 do not; the message names the prefix */
	g->n_block = 0;
	for (int i = 0; i < 9; i++)
		rules[i] = rule(i < 4 ? "10.0.0.0/8" : "10.7.0.0/16", i == 8 ? 0 : -1, TCP,
				(uint16_t)(100 + i), (uint16_t)(100 + i), TG_GA_DROP);
	g->n_rules = 8;
	r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
	tap_check(r == 0 && c.groups && c.groups[find(&c, 0, "10.7.0.0/16")->val.group].n == 8,
		  "8 port rules on one prefix (4 of them pushed down) fit");
	tg_guard_compiled_free(&c);
	rules[8] = rule("10.7.0.0/16", -1, UDP, 100, 100, TG_GA_DROP);
	g->n_rules = 9;
	r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
	tap_check(r == -E2BIG && c.n_entries == 0 && !c.entries, "9: -E2BIG, and nothing compiled");
	tap_check(!strcmp(msg, "uplink: the rules for 10.7.0.0/16 and the prefixes covering it add "
			       "up to more than 8 distinct protocol/port rules; at most 8 fit one "
			       "prefix"),
		  "the message names the prefix: %s", msg);
	rules[8].tenant = 0;
	for (int i = 4; i < 8; i++)
		rules[i].tenant = 0;
	for (int i = 0; i < 4; i++)
		rules[i].tenant = 0;
	r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
	tap_check(r == -E2BIG && strstr(msg, "10.7.0.0/16 (rules for tenant acme)"),
		  "a scoped prefix is named with its tenant: %s", msg);
	tg_guard_compiled_free(&c);

	/* bad input */
	rules[0] = rule("10.0.0.0/8", 7, 0, 0, 0, TG_GA_DROP);
	g->n_rules = 1;
	tap_check(tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg)) == -EINVAL,
		  "a rule of a tenant index out of range: -EINVAL");
	rules[0] = rule("10.0.0.0/8", -1, 0, 0, 0, TG_GA_DROP);
	rules[0].src.prefixlen = 33;
	tap_check(tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg)) == -EINVAL, "a /33: -EINVAL");
	memset(g, 0, sizeof(*g));
	tg_config_free(&cfg);
}

static void test_group_limit(void)
{
	static const uint32_t ids[N_TENANTS] = { 1, 2, 3 };
	struct tg_applied ap = { .tenant_ids = (uint32_t *)ids };
	struct tg_guard_compiled c;
	struct tg_config cfg;
	char msg[256];
	size_t n = TG_MAX_GUARD_GROUPS;
	int r;

	base_config(&cfg);
	cfg.guard.enabled = true;
	cfg.guard.rules = calloc(n, sizeof(*cfg.guard.rules));
	for (size_t i = 0; cfg.guard.rules && i < n; i++) {
		char s[32];

		snprintf(s, sizeof(s), "10.%zu.%zu.0/24", i / 256, i % 256);
		cfg.guard.rules[i] =
			rule(s, -1, TCP, (uint16_t)(i + 1), (uint16_t)(i + 1), TG_GA_DROP);
	}
	cfg.guard.n_rules = n - 1;
	r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
	tap_check(r == 0 && c.n_groups == TG_MAX_GUARD_GROUPS,
		  "%d distinct groups fit (every slot but 0)", TG_MAX_GUARD_GROUPS - 1);
	tg_guard_compiled_free(&c);
	cfg.guard.n_rules = n;
	r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
	tap_check(r == -E2BIG && strstr(msg, "more than 4095 distinct groups") &&
			  strstr(msg, "10.15.255.0/24"),
		  "one more: -E2BIG naming where: %s", msg);
	tg_config_free(&cfg);
}

/* n distinct blocklist prefixes: /32s and /24s spread over 10.0.0.0/8 and 2001:db8::/32 */
static void big_blocklist(struct tg_guard_config *g, size_t n, uint32_t salt)
{
	free(g->block);
	g->block = calloc(n, sizeof(*g->block));
	g->n_block = g->block ? n : 0;
	for (size_t i = 0; i < g->n_block; i++) {
		struct tg_cidr *c = &g->block[i];
		uint32_t x = (uint32_t)i * 2654435761u ^ salt; /* a bijection of i */

		if (i % 4 == 3) {
			c->family = AF_INET6;
			c->prefixlen = 128;
			memcpy(c->addr, "\x20\x01\x0d\xb8", 4);
			memcpy(c->addr + 12, &x, 4);
		} else {
			c->family = AF_INET;
			c->prefixlen = i % 4 == 2 ? 24 : 32;
			x = c->prefixlen == 24 ? (x & 0xffff) << 8 : x & 0xffffff;
			c->addr[0] = 10 + (uint8_t)(c->prefixlen == 24);
			c->addr[1] = (uint8_t)(x >> 16);
			c->addr[2] = (uint8_t)(x >> 8);
			c->addr[3] = (uint8_t)x;
		}
	}
}

static int cidr_cmp(const void *pa, const void *pb)
{
	const struct tg_cidr *a = pa, *b = pb;
	int d = memcmp(a->addr, b->addr, 16);

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return d ? d : a->prefixlen - b->prefixlen;
}

static size_t count_distinct(const struct tg_cidr *v, size_t n)
{
	struct tg_cidr *s = malloc(n * sizeof(*s));
	size_t k = 0;

	if (!s)
		return 0;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cidr_cmp);
	for (size_t i = 0; i < n; i++)
		k += !i || cidr_cmp(&s[i], &s[i - 1]);
	free(s);
	return k;
}

static void test_million(void)
{
	static const uint32_t ids[N_TENANTS] = { 1, 2, 3 };
	struct tg_applied ap = { .tenant_ids = (uint32_t *)ids };
	struct tg_guard_compiled c;
	struct tg_config cfg;
	size_t n = 1000000, distinct;
	char msg[256];
	double t;
	int r;

	base_config(&cfg);
	cfg.guard.enabled = true;
	big_blocklist(&cfg.guard, n, 0);
	distinct = count_distinct(cfg.guard.block, n);
	cfg.guard.rules = calloc(2, sizeof(*cfg.guard.rules));
	cfg.guard.rules[0] = rule(NULL, -1, TCP, 22, 22, TG_GA_DROP);
	cfg.guard.n_rules = 1;
	t = now_s();
	r = tg_guard_compile(&cfg, &ap, &c, msg, sizeof(msg));
	t = now_s() - t;
	tap_check(r == 0, "a million blocklist entries and a rule for every source compile: %s",
		  msg);
	tap_diag("compiling %zu blocklist entries took %.2f s", n, t);
	tap_equal_u64(c.n_entries, distinct + 2, "one entry per distinct prefix, plus 0/0 twice");
	tap_equal_u64(c.n_groups, 2, "one group: 0/0's rule; every blocklist entry is a verdict");
	{
		size_t drops = 0;

		for (size_t i = 0; i < c.n_entries; i++)
			drops += direct(&c.entries[i], TG_GA_DROP, TG_RULE_BLOCKLIST);
		tap_equal_u64(drops, distinct,
			      "every blocklist entry under the any-source rule: "
			      "its own drop");
	}
	tg_guard_compiled_free(&c);
	tg_config_free(&cfg);
}

/* ---- applying, on a private datapath ---- */

static struct tg_datapath *dp;
static const struct tg_maps *m;

static size_t sort_key_sz;

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sort_key_sz);
}

/* The map's keys (key_sz bytes each), sorted. */
static size_t map_keys(int fd, size_t key_sz, unsigned char **out)
{
	unsigned char cur[64] = { 0 }, prev[64];
	size_t n = 0, cap = 1024;
	unsigned char *v = malloc(cap * key_sz);
	void *walk = NULL;

	*out = v;
	if (!v)
		return 0;
	while (bpf_map_get_next_key(fd, walk, cur) == 0) {
		if (n == cap) {
			unsigned char *nv = realloc(v, (cap *= 2) * key_sz);

			if (!nv)
				break;
			v = nv;
		}
		memcpy(v + n++ * key_sz, cur, key_sz);
		memcpy(prev, cur, key_sz);
		walk = prev;
	}
	sort_key_sz = key_sz;
	qsort(v, n, key_sz, key_cmp);
	*out = v;
	return n;
}

/* The maps hold exactly c: every entry with its value (the group by content), no other
 * key, no group that no entry uses, scope bits as compiled. */
static bool maps_hold(const struct tg_guard_compiled *c, const struct tg_applied *ap,
		      size_t n_tenants, const char *what)
{
	size_t n4 = 0, n6 = 0, k4, k6, bad = 0, used_slots = 0;
	bool slot_used[TG_MAX_GUARD_GROUPS] = { false };
	unsigned char *keys;

	for (size_t i = 0; i < c->n_entries; i++) {
		const struct tg_gset_entry *e = &c->entries[i];
		int fd = e->family == AF_INET ? m->gset4 : m->gset6;
		struct tg_gset_val v;
		struct tg_guard_group g;
		uint32_t slot;

		n4 += e->family == AF_INET;
		n6 += e->family == AF_INET6;
		if (bpf_map_lookup_elem(fd, e->key, &v) || v.action != e->val.action ||
		    v.rule != e->val.rule || !v.group != !e->val.group) {
			bad++;
			continue;
		}
		slot = v.group;
		if (!slot)
			continue;
		slot_used[slot] = true;
		if (bpf_map_lookup_elem(m->guard_groups, &slot, &g) ||
		    memcmp(&g, &c->groups[e->val.group], sizeof(g)))
			bad++;
	}
	k4 = map_keys(m->gset4, sizeof(struct tg_gset4_key), &keys);
	free(keys);
	k6 = map_keys(m->gset6, sizeof(struct tg_gset6_key), &keys);
	free(keys);
	for (uint32_t slot = 1; slot < TG_MAX_GUARD_GROUPS; slot++) {
		struct tg_guard_group g;

		if (bpf_map_lookup_elem(m->guard_groups, &slot, &g) || (!slot_used[slot] && g.n))
			bad++;
		used_slots += slot_used[slot];
	}
	for (size_t t = 0; t < n_tenants; t++) {
		struct tg_policy p;

		if (bpf_map_lookup_elem(m->policy, &ap->tenant_ids[t], &p) ||
		    !(p.flags & TG_POL_GUARD_SCOPE) != !scoped_bit(c, ap->tenant_ids[t]))
			bad++;
	}
	if (bad || k4 != n4 || k6 != n6)
		tap_diag("%s: %zu bad, %zu/%zu IPv4 keys, %zu/%zu IPv6 keys", what, bad, k4, n4, k6,
			 n6);
	return !bad && k4 == n4 && k6 == n6 && used_slots <= c->n_groups - 1;
}

static int apply_and_check(const struct tg_config *cfg, const struct tg_applied *ap,
			   const char *what, bool check_kernel)
{
	struct tg_guard_compiled c;
	char msg[256];
	int err = tg_guard_apply(m, cfg, ap, true);

	if (!tap_check(err == 0, "%s: applied (%d)", what, err))
		return err;
	if (tg_guard_compile(cfg, ap, &c, msg, sizeof(msg)))
		return -1;
	tap_check(maps_hold(&c, ap, cfg->n_tenants, what),
		  "%s: the tries, groups and scope bits hold exactly the compiled entries", what);
	if (check_kernel) {
		unsigned wrong = 0, cases = 3000;

		for (unsigned n = 0; n < cases; n++) {
			struct pkt p;
			struct verdict want, got;

			random_pkt(&p);
			want = oracle(&cfg->guard, &p);
			got = judge_kernel(m, ap->tenant_ids, &p);
			wrong += want.action != got.action || want.rule != got.rule;
		}
		tap_check(wrong == 0,
			  "%s: %u packets judged by the kernel's tries as the oracle "
			  "does (%u wrong)",
			  what, cases, wrong);
	}
	tg_guard_compiled_free(&c);
	return 0;
}

static void snapshot(unsigned char **k4, size_t *n4, unsigned char **k6, size_t *n6,
		     struct tg_guard_conf *conf)
{
	static const uint32_t zero;

	*n4 = map_keys(m->gset4, sizeof(struct tg_gset4_key), k4);
	*n6 = map_keys(m->gset6, sizeof(struct tg_gset6_key), k6);
	bpf_map_lookup_elem(m->guard, &zero, conf);
}

static void test_apply(size_t apply_count)
{
	static const uint32_t zero;
	struct tg_datapath_opts o = { .flow_capacity = 4096 };
	struct tg_guard_conf conf;
	struct tg_applied ap = { 0 };
	struct tg_config cfg;
	char what[64];
	int err;

	tg_libbpf_quiet();
	err = tg_datapath_load(NULL, &o, &dp);
	if (!tap_check(err == 0, "a private datapath loads: %s", strerror(-err)))
		return;
	m = tg_datapath_maps(dp);
	base_config(&cfg);
	err = tg_apply(m, &cfg, &ap);
	tap_check(err == 0, "tenants programmed (ids %u %u %u)", ap.tenant_ids[0], ap.tenant_ids[1],
		  ap.tenant_ids[2]);
	tap_check(tg_policy_apply(m, &cfg, &ap) == 0, "tenant policy programmed");

	/* random configurations, one after the other on the same maps */
	for (int k = 0; k < 12; k++) {
		random_guard(&cfg.guard);
		snprintf(what, sizeof(what), "random configuration %d", k);
		apply_and_check(&cfg, &ap, what, true);
		free_guard(&cfg.guard);
	}

	/* the scope bit survives tg_policy_apply, and goes with the scoped rules */
	cfg.guard.enabled = true;
	cfg.guard.rules = calloc(2, sizeof(*cfg.guard.rules));
	cfg.guard.rules[0] = rule("10.0.0.0/8", 1, TCP, 22, 22, TG_GA_DROP);
	cfg.guard.n_rules = 1;
	apply_and_check(&cfg, &ap, "beta's rule", false);
	tap_check(tg_policy_apply(m, &cfg, &ap) == 0, "tg_policy_apply again");
	{
		struct tg_policy p;

		tap_check(!bpf_map_lookup_elem(m->policy, &ap.tenant_ids[1], &p) &&
				  (p.flags & TG_POL_GUARD_SCOPE) && (p.flags & TG_POL_ISOLATED),
			  "... keeps beta's TG_POL_GUARD_SCOPE beside its own flags");
	}
	free_guard(&cfg.guard);

	/* the conf */
	{
		struct tg_diags d;
		struct tg_config full;
		unsigned lo = if_nametoindex("lo");

		parse("<test>",
		      "tenants: [{name: acme, cidrs: [192.168.1.0/24]}]\n"
		      "uplink:\n"
		      "  interfaces: [eth0]\n"
		      "  rate_limit: {pps: 1000, bps: 8mbit, burst: 500ms, prefix4: 24}\n"
		      "  syn_flood: {threshold: 2000, source_budget: 50, ban_ttl: 2m, hold: 3s, "
		      "mode: cookie, validated_ttl: 1h}\n"
		      "  honeypot: {interface: lo, mac: '02:00:00:00:00:07', bans: true}\n"
		      "  signatures: {ports: [80, 8080], action: drop}\n",
		      &full, &d);
		tg_diags_free(&d);
		err = tg_guard_apply(m, &full, &ap, false);
		tap_check(err == 0 && !bpf_map_lookup_elem(m->guard, &zero, &conf),
			  "a guard without sets applies");
		tap_equal_u64(conf.flags,
			      TG_GUARD_ON | TG_GUARD_SRC_LIMIT | TG_GUARD_SYN |
				      TG_GUARD_SYN_COOKIE | TG_GUARD_HONEYPOT | TG_GUARD_SIG |
				      TG_GUARD_SIG_DROP | TG_GUARD_BAN_HONEYPOT,
			      "conf: every flag but SETS");
		/* 1000 packets/s: 1e9 / 1000 ns each, 500 of them in the burst; 8 Mbit/s is
		 * 1e6 bytes/s, 1000 ns a byte, 500000 bytes in the burst */
		tap_check(conf.src_pps.scale == (1000000ull << TG_RATE_SHIFT) &&
				  conf.src_pps.burst_ns == 500000000ull &&
				  conf.src_bps.scale == (1000ull << TG_RATE_SHIFT) &&
				  conf.src_bps.burst_ns == 500000000ull && conf.src_prefix4 == 24 &&
				  conf.src_prefix6 == 64,
			  "conf: per-source rates in packets and bytes, burst 500 ms, prefixes");
		tap_check(conf.syn_rate.scale == (500000ull << TG_RATE_SHIFT) &&
				  conf.syn_rate.burst_ns == 1000000000ull &&
				  conf.syn_src.scale == (20000000ull << TG_RATE_SHIFT) &&
				  conf.syn_src.burst_ns == 1000000000ull &&
				  conf.syn_hold_ns == 3000000000ull &&
				  conf.ban_ns == 120000000000ull &&
				  conf.validated_ns == 3600000000000ull,
			  "conf: SYN threshold and budget with 1 s bursts, times in ns");
		tap_check(conf.honeypot_ifindex == lo &&
				  !memcmp(conf.honeypot_mac, "\x02\0\0\0\0\x07", 6) &&
				  !memcmp(conf.honeypot_src_mac, "\0\0\0\0\0\0", 6),
			  "conf: honeypot lo (ifindex %u), its next hop's MAC and lo's own", lo);
		tap_check(conf.sig_ports[0] == 80 && conf.sig_ports[1] == 8080 &&
				  !conf.sig_ports[2] && conf.rule_sqli == TG_RULE_SQLI &&
				  conf.rule_traversal == TG_RULE_TRAVERSAL &&
				  conf.rule_syn == TG_RULE_SYN_FLOOD &&
				  conf.rule_src_rate == TG_RULE_RATE_LIMIT,
			  "conf: signature ports and rule ids");

		/* a honeypot interface that does not exist: an error, nothing written; replay
		 * (honeypot_optional) redirects to ifindex 0 */
		snprintf(full.guard.honeypot_if, sizeof(full.guard.honeypot_if), "tg-nosuch0");
		full.guard.syn_threshold = 7;
		tap_check(tg_guard_apply(m, &full, &ap, false) == -ENODEV &&
				  !bpf_map_lookup_elem(m->guard, &zero, &conf) &&
				  conf.honeypot_ifindex == lo &&
				  conf.syn_rate.burst_ns == 1000000000ull &&
				  conf.syn_rate.scale == (500000ull << TG_RATE_SHIFT),
			  "a missing honeypot interface: -ENODEV, the conf untouched");
		tap_check(tg_guard_apply(m, &full, &ap, true) == 0 &&
				  !bpf_map_lookup_elem(m->guard, &zero, &conf) &&
				  conf.honeypot_ifindex == 0 && (conf.flags & TG_GUARD_HONEYPOT),
			  "... optional (replay): ifindex 0");
		tg_config_free(&full);
	}

	/* a configuration that does not compile changes nothing */
	{
		unsigned char *a4, *a6, *b4, *b6;
		size_t na4, na6, nb4, nb6;
		struct tg_guard_conf c1, c2;

		random_guard(&cfg.guard);
		apply_and_check(&cfg, &ap, "before a bad one", false);
		snapshot(&a4, &na4, &a6, &na6, &c1);
		free_guard(&cfg.guard);
		cfg.guard.enabled = true;
		cfg.guard.rules = calloc(9, sizeof(*cfg.guard.rules));
		for (int i = 0; i < 9; i++)
			cfg.guard.rules[i] = rule("10.0.0.0/8", -1, UDP, (uint16_t)(i + 1),
						  (uint16_t)(i + 1), TG_GA_DROP);
		cfg.guard.n_rules = 9;
		err = tg_guard_apply(m, &cfg, &ap, true);
		snapshot(&b4, &nb4, &b6, &nb6, &c2);
		tap_check(err == -E2BIG && na4 == nb4 && na6 == nb6 &&
				  !memcmp(a4, b4, na4 * sizeof(struct tg_gset4_key)) &&
				  !memcmp(a6, b6, na6 * sizeof(struct tg_gset6_key)) &&
				  !memcmp(&c1, &c2, sizeof(c1)),
			  "a guard that does not compile: -E2BIG, the maps untouched");
		free(a4);
		free(a6);
		free(b4);
		free(b6);
		free_guard(&cfg.guard);
	}

	/* every group slot taken, then as many other groups: old and new cannot live side by
	 * side, and the end state is still exact */
	for (uint16_t base = 1; base <= 4097; base += 4096) {
		size_t n = TG_MAX_GUARD_GROUPS - 1;

		cfg.guard.enabled = true;
		cfg.guard.rules = calloc(n, sizeof(*cfg.guard.rules));
		for (size_t i = 0; cfg.guard.rules && i < n; i++) {
			char src[32];

			snprintf(src, sizeof(src), "10.%zu.%zu.0/24", i / 256, i % 256);
			cfg.guard.rules[i] = rule(src, -1, UDP, (uint16_t)(base + i),
						  (uint16_t)(base + i), TG_GA_DROP);
		}
		cfg.guard.n_rules = n;
		snprintf(what, sizeof(what), "4095 groups, ports from %u", base);
		apply_and_check(&cfg, &ap, what, false);
		free_guard(&cfg.guard);
	}

	/* big: apply, apply again, replace, remove; with the times */
	{
		double t;

		cfg.guard.enabled = true;
		big_blocklist(&cfg.guard, apply_count, 0);
		t = now_s();
		err = apply_and_check(&cfg, &ap, "a big blocklist", false);
		tap_diag("applying %zu blocklist entries to empty tries took %.2f s (with the "
			 "check)",
			 apply_count, now_s() - t);
		t = now_s();
		err = tg_guard_apply(m, &cfg, &ap, true);
		tap_diag("applying them again took %.2f s", now_s() - t);
		tap_check(err == 0, "the same again applies");
		big_blocklist(&cfg.guard, apply_count, 0x5a5a5a5a);
		t = now_s();
		err = tg_guard_apply(m, &cfg, &ap, true);
		tap_diag("replacing them with %zu other entries took %.2f s", apply_count,
			 now_s() - t);
		tap_check(err == 0, "a different blocklist of the same size applies");
		apply_and_check(&cfg, &ap, "the replaced blocklist", false);
		free_guard(&cfg.guard);
		t = now_s();
		apply_and_check(&cfg, &ap, "no guard at all", false);
		tap_diag("removing them took %.2f s (with the check)", now_s() - t);
		tap_check(!bpf_map_lookup_elem(m->guard, &zero, &conf) && conf.flags == 0,
			  "no guard: conf flags 0");
	}
	tg_config_free(&cfg);
	tg_applied_free(&ap);
	tg_datapath_close(dp);
}

int main(int argc, char **argv)
{
	size_t apply_count = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg-guard-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		tap_check(0, "temporary directory: %s", strerror(errno));
		return tap_done();
	}
	test_bad_values();
	test_warnings();
	test_files();
	test_values();
	test_compile_cases();
	test_group_limit();
	test_random_compile();
	test_million();
	test_apply(apply_count);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd))
			tap_diag("could not remove %s", tmpdir);
	}
	return tap_done();
}
