/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Configuration loader tests. Bad inputs first: every fixture in tests/unit/config/bad
 * states the exact diagnostics it must produce in its leading "# expect: LINE:COL: msg"
 * comments, so the fixtures are the specification of the messages. Then the good
 * fixtures, the shipped example, the value parsers, and inputs meant to break the loader
 * (alias loops and bombs, bad bytes, random mutations) under ASan and UBSan.
 *
 * usage: test_config [BAD_DIR [GOOD_DIR]]   (defaults: tests/unit/config/{bad,good})
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

#define EXAMPLE "docs/tollgate.example.yaml"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 > cap) {
			char *b = realloc(buf, cap = cap * 2 + 8192);

			if (!b) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = b;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		if (!got)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* "PATH:" + each leading "# expect: " comment, one per line: what check must print. */
static char *expected_of(const char *path, const char *text, size_t *count)
{
	static const char tag[] = "# expect: ";
	size_t cap = strlen(text) * 2 + strlen(path) * 64 + 1, n = 0;
	char *out = calloc(1, cap);
	const char *line = text;

	*count = 0;
	while (out && *line == '#') {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len > strlen(tag) && !strncmp(line, tag, strlen(tag))) {
			n += (size_t)snprintf(out + n, cap - n, "%s:%.*s\n", path,
					      (int)(len - strlen(tag)), line + strlen(tag));
			++*count;
		}
		if (!end)
			break;
		line = end + 1;
	}
	return out;
}

/* What tg_diags_print() prints for the errors alone. */
static char *printed_errors(const struct tg_diags *d, const char *path)
{
	struct tg_diags e = { 0 };
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	e.v = calloc(d->n + 1, sizeof(*e.v));
	for (i = 0; e.v && i < d->n; i++)
		if (!d->v[i].warning)
			e.v[e.n++] = d->v[i];
	f = open_memstream(&buf, &len);
	if (f) {
		tg_diags_print(&e, path, f);
		fclose(f);
	}
	free(e.v);
	return buf;
}

static bool diags_sorted(const struct tg_diags *d)
{
	size_t i;

	for (i = 1; i < d->n; i++)
		if (d->v[i].line < d->v[i - 1].line ||
		    (d->v[i].line == d->v[i - 1].line && d->v[i].col < d->v[i - 1].col))
			return false;
	return true;
}

static bool cfg_is_zero(const struct tg_config *cfg)
{
	static const struct tg_config zero;

	return !memcmp(cfg, &zero, sizeof(zero));
}

static int yaml_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 5 && !strcmp(e->d_name + n - 5, ".yaml");
}

static void test_bad_file(const char *path)
{
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	size_t nexp = 0;
	char *text = slurp(path, NULL), *want, *got;
	int r;

	if (!tap_check(text != NULL, "%s: readable", path))
		return;
	want = expected_of(path, text, &nexp);
	tap_check(nexp > 0, "%s: states at least one '# expect:' line", path);
	r = tg_config_load(path, &cfg, &d);
	tap_check(r == -EINVAL, "%s: rejected with -EINVAL (got %d)", path, r);
	tap_check(cfg_is_zero(&cfg), "%s: cfg left zeroed", path);
	tap_check(d.errors == nexp, "%s: %zu errors (got %zu)", path, nexp, d.errors);
	got = printed_errors(&d, path);
	if (!tap_check(want && got && !strcmp(want, got), "%s: exact diagnostics", path)) {
		tap_diag("expected:\n%s", want ? want : "(null)");
		tap_diag("got:\n%s", got ? got : "(null)");
	}
	free(got);
	free(want);
	free(text);
	tg_diags_free(&d);
	tg_config_free(&cfg);
}

static void test_good_file(const char *path)
{
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	int r = tg_config_load(path, &cfg, &d);

	if (!tap_check(r == 0 && d.errors == 0, "%s: loads without errors (r=%d)", path, r))
		tg_diags_print(&d, path, stdout);
	tap_check(cfg.n_tenants > 0 && cfg.path && !strcmp(cfg.path, path),
		  "%s: has tenants and its path", path);
	tap_check(cfg.store_path && cfg.pin_path && cfg.run_dir && cfg.interval &&
			  cfg.flows.capacity && cfg.flows.idle_timeout,
		  "%s: every default filled", path);
	tg_diags_free(&d);
	tg_config_free(&cfg);
	tap_check(cfg_is_zero(&cfg), "%s: tg_config_free zeroes", path);
}

static int run_dir(const char *dir, void (*fn)(const char *))
{
	struct dirent **names;
	char path[4096];
	int n, i;

	n = scandir(dir, &names, yaml_filter, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		fn(path);
		free(names[i]);
	}
	free(names);
	return n;
}

/* Value parsers: tables, valid and invalid, with their edges. */

static void test_rates(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t bps;
	} t[] = {
		{ "1bit", 0, 1 },
		{ "100mbit", 0, 100000000 },
		{ "1.5mbit", 0, 1500000 },
		{ "1mbps", 0, 8000000 },
		{ "1MBPS", 0, 8000000 },
		{ "2.5Gbit", 0, 2500000000ull },
		{ "1kbps", 0, 8000 },
		{ "1tbit", 0, 1000000000000ull },
		{ "1tbps", 0, 8000000000000ull },
		{ "0.001kbit", 0, 1 },
		{ "1.0000001tbit", 0, 1000000100000ull },
		{ "0.125bps", 0, 1 },
		{ "18446744073709551615bit", 0, UINT64_MAX },
		{ "18446744073709551616bit", -EINVAL, 0 },
		{ "2306867200tbps", -EINVAL, 0 },
		{ "18446744073709551.615kbit", 0, UINT64_MAX },
		{ "18446744073709551.616kbit", -EINVAL, 0 },
		{ "100", -EINVAL, 0 },
		{ "1.5", -EINVAL, 0 },
		{ "0mbit", -EINVAL, 0 },
		{ "0.0001bit", -EINVAL, 0 },
		{ "-1mbit", -EINVAL, 0 },
		{ "+1mbit", -EINVAL, 0 },
		{ "1 mbit", -EINVAL, 0 },
		{ "mbit", -EINVAL, 0 },
		{ ".5mbit", -EINVAL, 0 },
		{ "1.mbit", -EINVAL, 0 },
		{ "1mbits", -EINVAL, 0 },
		{ "1kibit", -EINVAL, 0 },
		{ "fast", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "0x10mbit", -EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 42;
		int r = tg_parse_rate(t[i].s, &v);

		tap_check(r == t[i].ret && (r || v == t[i].bps),
			  "rate '%s' -> %d %llu (got %d %llu)", t[i].s, t[i].ret,
			  (unsigned long long)t[i].bps, r, (unsigned long long)v);
	}
}

static void test_durations(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t ms;
	} t[] = {
		{ "60s", 0, 60000 },
		{ "1ms", 0, 1 },
		{ "0s", 0, 0 },
		{ "5m", 0, 300000 },
		{ "24h", 0, 86400000 },
		{ "1d", 0, 86400000 },
		{ "18446744073709551615ms", 0, UINT64_MAX },
		{ "18446744073709551616ms", -EINVAL, 0 },
		{ "18446744073709552s", -EINVAL, 0 },
		{ "60", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "1.5h", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 },
		{ "1 s", -EINVAL, 0 },
		{ "1min", -EINVAL, 0 },
		{ "1h30m", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 42;
		int r = tg_parse_duration(t[i].s, &v);

		tap_check(r == t[i].ret && (r || v == t[i].ms), "duration '%s' -> %d %llu (got %d)",
			  t[i].s, t[i].ret, (unsigned long long)t[i].ms, r);
	}
}

static void test_cidrs(void)
{
	static const struct {
		const char *s;
		int ret;
		const char *canon; /* tg_format_cidr of the result */
	} t[] = {
		{ "10.0.0.0/8", 0, "10.0.0.0/8" },
		{ "0.0.0.0/0", 0, "0.0.0.0/0" },
		{ "10.1.2.3", 0, "10.1.2.3/32" },
		{ "10.1.2.3/32", 0, "10.1.2.3/32" },
		{ "255.255.255.255/32", 0, "255.255.255.255/32" },
		{ "::/0", 0, "::/0" },
		{ "fd00::1", 0, "fd00::1/128" },
		{ "FD00:0:0:0::/64", 0, "fd00::/64" },
		{ "2001:db8::/32", 0, "2001:db8::/32" },
		{ "::ffff:10.0.0.0/104", 0, "::ffff:10.0.0.0/104" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 0,
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
		{ "10.0.0.0/08", 0, "10.0.0.0/8" },
		{ "10.1.0.1/24", -EINVAL, NULL },
		{ "10.0.0.0/33", -EINVAL, NULL },
		{ "fd00::1/64", -EINVAL, NULL },
		{ "fd00::/129", -EINVAL, NULL },
		{ "1.0.0.0/0", -EINVAL, NULL },
		{ "10.0.0.0/", -EINVAL, NULL },
		{ "10.0.0.0/-1", -EINVAL, NULL },
		{ "10.0.0.0/8/8", -EINVAL, NULL },
		{ "10.0.0/8", -EINVAL, NULL },
		{ "010.0.0.0/8", -EINVAL, NULL },
		{ "10.0.0.256", -EINVAL, NULL },
		{ "fe80::1%eth0", -EINVAL, NULL },
		{ "fd00::1::2", -EINVAL, NULL },
		{ "/8", -EINVAL, NULL },
		{ "", -EINVAL, NULL },
		{ " 10.0.0.0/8", -EINVAL, NULL },
		{ "10.0.0.0/8 ", -EINVAL, NULL },
		{ "1111:2222:3333:4444:5555:6666:7777:8888:9999/64", -EINVAL, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct tg_cidr c;
		char buf[INET6_ADDRSTRLEN + 8] = "";
		int r = tg_parse_cidr(t[i].s, &c);

		if (!r)
			tg_format_cidr(&c, buf, sizeof(buf));
		tap_check(r == t[i].ret && (r || !strcmp(buf, t[i].canon)),
			  "cidr '%s' -> %d %s (got %d %s)", t[i].s, t[i].ret,
			  t[i].canon ? t[i].canon : "-", r, buf);
	}
}

static void test_format(void)
{
	struct tg_cidr c;
	char small[8], buf[64];

	tg_parse_cidr("192.168.100.0/24", &c);
	tap_check(tg_format_cidr(&c, small, sizeof(small)) == -EINVAL,
		  "format: a short buffer is an error");
	tap_check(tg_format_cidr(&c, buf, sizeof(buf)) == 0 && !strcmp(buf, "192.168.100.0/24"),
		  "format: round trip");
	c.family = AF_UNIX;
	tap_check(tg_format_cidr(&c, buf, sizeof(buf)) == -EINVAL, "format: bad family");
	tap_check(tg_parse_cidr(NULL, &c) == -EINVAL && tg_parse_rate(NULL, NULL) == -EINVAL &&
			  tg_parse_duration("1s", NULL) == -EINVAL,
		  "parsers refuse NULL");
}

static void test_overlap(void)
{
	static const struct {
		const char *a, *b;
		bool overlap;
	} t[] = {
		{ "10.0.0.0/8", "10.1.0.0/16", true },
		{ "10.1.0.0/16", "10.0.0.0/8", true },
		{ "10.0.0.0/8", "10.0.0.0/8", true },
		{ "10.0.0.0/8", "11.0.0.0/8", false },
		{ "10.1.0.0/24", "10.1.1.0/24", false },
		{ "0.0.0.0/0", "192.168.1.1", true },
		{ "10.1.0.0/17", "10.1.128.0/17", false },
		{ "10.1.0.5", "10.1.0.5/32", true },
		{ "10.1.0.5", "10.1.0.4", false },
		{ "::/0", "fd00::1", true },
		{ "fd00::/8", "fd00:1::/64", true },
		{ "fd00:1::/64", "fd00:2::/64", false },
		{ "fd00::1", "fd00::1/128", true },
		{ "::ffff:10.0.0.0/104", "10.0.0.0/8", false }, /* families never overlap */
		{ "0.0.0.0/0", "::/0", false },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct tg_cidr a, b;

		tg_parse_cidr(t[i].a, &a);
		tg_parse_cidr(t[i].b, &b);
		tap_check(tg_cidr_overlap(&a, &b) == t[i].overlap, "overlap %s %s -> %d", t[i].a,
			  t[i].b, t[i].overlap);
	}
}

static void test_names(void)
{
	static const struct {
		const char *s;
		bool ok;
	} t[] = {
		{ "acme", true },
		{ "a", true },
		{ "0", true },
		{ "acme-1.eu_west", true },
		{ "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijk", true },   /* 47 */
		{ "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijkl", false }, /* 48 */
		{ "", false },
		{ "Acme", false },
		{ "-acme", false },
		{ ".acme", false },
		{ "_acme", false },
		{ "acme corp", false },
		{ "acme/x", false },
		{ "caf\xc3\xa9", false },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		tap_check(tg_tenant_name_valid(t[i].s) == t[i].ok, "tenant name '%s' -> %d", t[i].s,
			  t[i].ok);
	tap_check(!tg_tenant_name_valid(NULL), "tenant name NULL is invalid");
}

static char *append(char *buf, size_t *len, size_t *cap, const char *s);

static int parse_str(const char *text, struct tg_config *cfg, struct tg_diags *d)
{
	return tg_config_parse("<test>", text, strlen(text), cfg, d);
}

/* True when some diagnostic's message contains NEEDLE. */
static bool has_msg(const struct tg_diags *d, const char *needle)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strstr(d->v[i].msg, needle))
			return true;
	return false;
}

static void test_lookup(void)
{
	static const char text[] = "tenants:\n"
				   "  - name: acme\n"
				   "    interfaces: [vt-acme-*, 'acme[0-9]']\n"
				   "  - name: globex\n"
				   "    interfaces: [vt-*, 'gx?']\n"
				   "  - name: initech\n"
				   "    interfaces: ['*']\n"
				   "uplink: {interfaces: [eth*, bond0]}\n";
	static const struct {
		const char *ifname, *tenant;
	} t[] = {
		{ "vt-acme-1", "acme" }, /* acme's glob comes first in the file */
		{ "vt-acme-", "acme" },	   { "acme7", "acme" }, { "acme77", "initech" },
		{ "vt-globex", "globex" }, { "gx1", "globex" }, { "gx12", "initech" },
		{ "anything", "initech" }, { "vt-", "globex" },
	};
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	const struct tg_tenant_conf *tc;
	size_t i;

	tap_check(parse_str(text, &cfg, &d) == 0, "lookup config loads");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		tc = tg_config_tenant_for_iface(&cfg, t[i].ifname);
		tap_check(tc && !strcmp(tc->name, t[i].tenant), "iface %s -> tenant %s (got %s)",
			  t[i].ifname, t[i].tenant, tc ? tc->name : "none");
	}
	tap_check(tg_config_is_uplink(&cfg, "eth0") && tg_config_is_uplink(&cfg, "bond0") &&
			  !tg_config_is_uplink(&cfg, "bond1") && !tg_config_is_uplink(&cfg, "vt-x"),
		  "uplink globs");
	tg_config_free(&cfg);
	tg_diags_free(&d);

	tap_check(
		parse_str(
			"tenants: [{name: a, interfaces: [veth*]}, {name: b, cidrs: [10.0.0.0/8]}]",
			&cfg, &d) == 0,
		"second lookup config loads");
	tap_check(!tg_config_tenant_for_iface(&cfg, "eth0"), "no tenant for an unmatched iface");
	tap_check(!tg_config_is_uplink(&cfg, "eth0"), "no uplinks configured");
	tap_check(!tg_config_tenant_for_iface(NULL, "x") && !tg_config_is_uplink(NULL, "x"),
		  "lookups accept NULL");
	tg_config_free(&cfg);
	tg_diags_free(&d);
}

static void test_values(void)
{
	static const char text[] = "node: {name: edge-1.eu}\n"
				   "tenants:\n"
				   "  - name: acme\n"
				   "    cidrs: [10.1.0.0/24, 'fd00:1::/64', 192.0.2.7]\n"
				   "    interfaces: [vt-acme-*]\n"
				   "    cgroups: [/tenants/acme]\n"
				   "    limits: {egress_rate: 1.5mbit, ingress_rate: 1mbps, "
				   "max_connections: 500}\n"
				   "billing: {interval: 5m, store: 'sqlite:/srv/tg.db'}\n"
				   "uplink: {interfaces: [eth0]}\n"
				   "agent: {pin_path: /sys/fs/bpf/tg2, run_dir: /run/tg2}\n";
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	const struct tg_tenant_conf *t;
	char buf[64];

	tap_check(parse_str(text, &cfg, &d) == 0, "values: loads");
	tap_check(d.errors == 0 && d.n == 1 && d.v[0].warning, "values: one warning");
	tap_check(d.n == 1 && d.v[0].line == 6 && d.v[0].col == 5 &&
			  !strcmp(d.v[0].msg,
				  "cgroup selectors are enforced (caps, deny lists, connection "
				  "caps, raw sockets) but not metered by this version"),
		  "values: cgroup warning at the key");
	tap_check(!strcmp(cfg.node, "edge-1.eu"), "values: node name");
	tap_check(cfg.n_tenants == 1, "values: one tenant");
	t = &cfg.tenants[0];
	tap_check(!strcmp(t->name, "acme") && t->n_cidrs == 3 && t->n_interfaces == 1 &&
			  t->n_cgroups == 1 && !strcmp(t->cgroups[0], "/tenants/acme"),
		  "values: selectors");
	tg_format_cidr(&t->cidrs[1], buf, sizeof(buf));
	tap_check(t->cidrs[1].family == AF_INET6 && !strcmp(buf, "fd00:1::/64"), "values: v6 cidr");
	tg_format_cidr(&t->cidrs[2], buf, sizeof(buf));
	tap_check(!strcmp(buf, "192.0.2.7/32"), "values: bare address is a /32");
	tap_check(t->has_limits && t->limits.egress_rate == 1500000 &&
			  t->limits.ingress_rate == 8000000 && t->limits.max_connections == 500,
		  "values: limits");
	tap_check(cfg.interval == 300 && !strcmp(cfg.store_path, "/srv/tg.db"), "values: billing");
	tap_check(cfg.n_uplinks == 1 && !strcmp(cfg.uplinks[0], "eth0"), "values: uplink");
	tap_check(!strcmp(cfg.pin_path, "/sys/fs/bpf/tg2") && !strcmp(cfg.run_dir, "/run/tg2"),
		  "values: agent");
	tap_check(!strcmp(cfg.path, "<test>"), "values: path is the name given");
	tg_config_free(&cfg);
	tg_diags_free(&d);

	tap_check(parse_str("tenants: [{name: a, cidrs: [10.0.0.0/8]}]", &cfg, &d) == 0 && d.n == 0,
		  "defaults: loads quietly");
	tap_check(cfg.interval == TG_DEFAULT_INTERVAL &&
			  !strcmp(cfg.store_path, TG_DEFAULT_STORE) &&
			  !strcmp(cfg.pin_path, TG_DEFAULT_PIN_PATH) &&
			  !strcmp(cfg.run_dir, TG_DEFAULT_RUN_DIR) && cfg.node[0] == '\0' &&
			  !cfg.tenants[0].has_limits,
		  "defaults: filled, node left empty for the agent");
	tap_check(!strcmp(cfg.events_path, TG_DEFAULT_EVENTS) &&
			  !strcmp(cfg.audit_path, TG_DEFAULT_AUDIT) && !cfg.guard.enabled,
		  "defaults: the events file, the audit log, no uplink guard");
	tap_check(cfg.flows.capacity == TG_DEFAULT_FLOWS && cfg.flows.capacity == 1048576 &&
			  cfg.flows.idle_timeout == 60,
		  "defaults: flow table of 1048576 entries, idle after 60s");
	tap_check(cfg.n_classes == 0 && !cfg.classes, "defaults: no classes");
	tg_config_free(&cfg);
	tg_diags_free(&d);
}

static void test_classes(void)
{
	static const char text[] = "tenants: [{name: acme, cidrs: [10.1.0.0/24]}]\n"
				   "classes:\n"
				   "  - {name: private, cidrs: [10.0.0.0/8, 172.16.0.0/12, "
				   "'fc00::/7']}\n"
				   "  - {name: dc-1, cidrs: [10.1.0.0/16]}\n"
				   "  - {name: peer_x, cidrs: ['2001:db8::/32', 192.0.2.1]}\n";
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	const struct tg_class_conf *k;
	size_t len = 0, cap = 0;
	char buf[64], line[64], *b;
	int i;

	tap_check(parse_str(text, &cfg, &d) == 0 && d.n == 0, "classes: load quietly");
	tap_check(cfg.n_classes == 3 && !strcmp(cfg.classes[0].name, "private") &&
			  !strcmp(cfg.classes[1].name, "dc-1") &&
			  !strcmp(cfg.classes[2].name, "peer_x"),
		  "classes: names in file order");
	k = &cfg.classes[0];
	tg_format_cidr(&k->cidrs[2], buf, sizeof(buf));
	tap_check(k->n_cidrs == 3 && k->cidrs[2].family == AF_INET6 && !strcmp(buf, "fc00::/7"),
		  "classes: private has 3 CIDRs, the last one IPv6");
	tap_check(cfg.classes[1].n_cidrs == 1 && cfg.classes[1].cidrs[0].prefixlen == 16,
		  "classes: dc-1 nests inside private");
	k = &cfg.classes[2];
	tg_format_cidr(&k->cidrs[1], buf, sizeof(buf));
	tap_check(k->n_cidrs == 2 && !strcmp(buf, "192.0.2.1/32"),
		  "classes: a bare address is a /32");
	tg_config_free(&cfg);
	tg_diags_free(&d);

	tap_check(parse_str("tenants: [{name: a, cidrs: [10.0.0.0/8]}]\nclasses: []\n", &cfg, &d) ==
				  0 &&
			  cfg.n_classes == 0 && cfg.classes == NULL,
		  "classes: an empty list means only internet");
	tg_config_free(&cfg);
	tg_diags_free(&d);

	/* exactly seven load */
	b = append(NULL, &len, &cap, "tenants: [{name: a, cidrs: [10.0.0.0/8]}]\nclasses:\n");
	for (i = 1; b && i <= 7; i++) {
		snprintf(line, sizeof(line), "  - {name: c%d, cidrs: [10.%d.0.0/16]}\n", i, i);
		b = append(b, &len, &cap, line);
	}
	tap_check(b && parse_str(b, &cfg, &d) == 0 && cfg.n_classes == 7 &&
			  !strcmp(cfg.classes[6].name, "c7"),
		  "classes: seven load");
	tg_config_free(&cfg);
	tg_diags_free(&d);
	free(b);
}

static void test_flows(void)
{
	static const struct {
		const char *text;
		uint32_t capacity, idle;
	} t[] = {
		{ "flows: {capacity: 1024}", 1024, 60 },
		{ "flows: {capacity: 16777216, idle_timeout: 24h}", 16777216, 86400 },
		{ "flows: {idle_timeout: 1s}", TG_DEFAULT_FLOWS, 1 },
		{ "flows: {idle_timeout: 90000ms}", TG_DEFAULT_FLOWS, 90 },
		{ "flows: {capacity: 65536, idle_timeout: 5m}", 65536, 300 },
		{ "flows: {}", TG_DEFAULT_FLOWS, 60 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct tg_config cfg;
		struct tg_diags d = { 0 };
		char text[256];
		int r;

		snprintf(text, sizeof(text), "tenants: [{name: a, cidrs: [10.0.0.0/8]}]\n%s\n",
			 t[i].text);
		r = parse_str(text, &cfg, &d);
		tap_check(r == 0 && cfg.flows.capacity == t[i].capacity &&
				  cfg.flows.idle_timeout == t[i].idle,
			  "flows: '%s' -> %u entries, %us (got %d: %u, %u)", t[i].text,
			  t[i].capacity, t[i].idle, r, cfg.flows.capacity, cfg.flows.idle_timeout);
		tg_config_free(&cfg);
		tg_diags_free(&d);
	}
}

static void test_ipfix(void)
{
	static const struct {
		const char *text, *host, *port;
		uint32_t interval, domain;
	} t[] = {
		{ "{collector: 127.0.0.1:4739}", "127.0.0.1", "4739", 10, 1 },
		{ "{collector: '[::1]:4739'}", "::1", "4739", 10, 1 },
		{ "{collector: collector.example:4739}", "collector.example", "4739", 10, 1 },
		{ "{collector: collector.example}", "collector.example", "4739", 10, 1 },
		{ "{collector: 192.0.2.10}", "192.0.2.10", "4739", 10, 1 },
		{ "{collector: '[2001:db8::10]'}", "2001:db8::10", "4739", 10, 1 },
		{ "{collector: '2001:db8::10'}", "2001:db8::10", "4739", 10, 1 },
		{ "{collector: 'fd00::4739'}", "fd00::4739", "4739", 10, 1 },
		{ "{collector: Collector-1.Example.:65535}", "Collector-1.Example.", "65535", 10,
		  1 },
		{ "{collector: localhost:1, interval: 1s, observation_domain: 0}", "localhost", "1",
		  1, 0 },
		{ "{collector: 'h:9995', interval: 60m, observation_domain: 4294967295}", "h",
		  "9995", 3600, 4294967295u },
		{ "{collector: 10.0.0.1:4739, transport: UDP, interval: 30000ms}", "10.0.0.1",
		  "4739", 30, 1 },
	};
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char text[256];
		int r;

		snprintf(text, sizeof(text),
			 "tenants: [{name: a, cidrs: [10.0.0.0/8]}]\noutputs: {ipfix: %s}\n",
			 t[i].text);
		r = parse_str(text, &cfg, &d);
		if (!tap_check(r == 0 && cfg.ipfix.host && !strcmp(cfg.ipfix.host, t[i].host) &&
				       cfg.ipfix.port && !strcmp(cfg.ipfix.port, t[i].port) &&
				       cfg.ipfix.interval == t[i].interval &&
				       cfg.ipfix.domain == t[i].domain,
			       "ipfix: %s -> host %s port %s, %us, domain %u", t[i].text, t[i].host,
			       t[i].port, t[i].interval, t[i].domain))
			tg_diags_print(&d, "ipfix", stdout);
		tg_config_free(&cfg);
		tg_diags_free(&d);
	}
	tap_check(parse_str("tenants: [{name: a, cidrs: [10.0.0.0/8]}]\n", &cfg, &d) == 0 &&
			  !cfg.ipfix.host && !cfg.ipfix.port,
		  "ipfix: off unless outputs.ipfix is given");
	tg_config_free(&cfg);
	tg_diags_free(&d);
}

static void test_sizes(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t bytes;
	} t[] = {
		{ "1B", 0, 1 },
		{ "1514b", 0, 1514 },
		{ "5MB", 0, 5000000 },
		{ "5mb", 0, 5000000 },
		{ "256KiB", 0, 262144 },
		{ "256kib", 0, 262144 },
		{ "1.5KB", 0, 1500 },
		{ "1.5KiB", 0, 1536 },
		{ "1GiB", 0, 1073741824ull },
		{ "2TB", 0, 2000000000000ull },
		{ "1TiB", 0, 1099511627776ull },
		{ "0.5B", -EINVAL, 0 },
		{ "0.001KiB", 0, 1 },
		{ "16777215.999999TiB", 0, 18446744073708452104ull },
		{ "18446744073709551615B", 0, UINT64_MAX },
		{ "18446744073709551616B", -EINVAL, 0 },
		{ "16777216TiB", -EINVAL, 0 },
		{ "5", -EINVAL, 0 },
		{ "0MB", -EINVAL, 0 },
		{ "-5MB", -EINVAL, 0 },
		{ "+5MB", -EINVAL, 0 },
		{ "5 MB", -EINVAL, 0 },
		{ "5MiBs", -EINVAL, 0 },
		{ "5mbit", -EINVAL, 0 },
		{ "MB", -EINVAL, 0 },
		{ ".5MB", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 42;
		int r = tg_parse_size(t[i].s, &v);

		tap_check(r == t[i].ret && (r || v == t[i].bytes),
			  "size '%s' -> %d %llu (got %d %llu)", t[i].s, t[i].ret,
			  (unsigned long long)t[i].bytes, r, (unsigned long long)v);
	}
	tap_check(tg_parse_size(NULL, NULL) == -EINVAL, "size: NULL");
}

static void test_isolation(void)
{
	static const char text[] =
		"tenants:\n"
		"  - name: acme\n"
		"    cidrs: [10.1.0.0/24]\n"
		"    cgroups: [/tenants/acme]\n"
		"    limits: {egress_rate: 8kbit, egress_burst: 1514B, "
		"ingress_rate: 1mbps, ingress_burst: 1.5MiB, egress_pps: 1, "
		"ingress_pps: 100000000, max_connections: 50}\n"
		"    deny:\n"
		"      - 169.254.169.254\n"
		"      - {cidr: 10.0.0.0/8, proto: tcp, ports: 22}\n"
		"      - {cidr: 192.0.2.0/24, proto: 17, ports: 1000-2000}\n"
		"      - {cidr: 'fd00::/8', proto: icmpv6}\n"
		"      - {cidr: 10.0.0.0/8, proto: tcp, ports: 22}\n"
		"      - {cidr: 10.0.0.0/8, proto: any}\n"
		"    allow_tenants: [beta, gamma]\n"
		"    raw_sockets: deny\n"
		"    quota: {bytes: 5MB, action: throttle, throttle_rate: 1mbit, "
		"period: hourly, direction: ingress}\n"
		"  - name: beta\n"
		"    cidrs: [10.2.0.0/24]\n"
		"    raw_sockets: allow\n"
		"    quota: {bytes: 1KiB, action: block, direction: egress}\n"
		"  - {name: gamma, cidrs: [10.3.0.0/24], quota: {bytes: 1GB}}\n"
		"isolation: {segmentation: false, deny: ['fe80::/10', 1.2.3.4/32]}\n"
		"outputs: {events: /srv/ev.json}\n";
	const struct tg_tenant_conf *t;
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	char buf[64];
	int r;

	r = parse_str(text, &cfg, &d);
	if (!tap_check(r == 0 && d.errors == 0, "isolation: loads (r=%d)", r))
		tg_diags_print(&d, "isolation", stdout);
	tap_check(d.n == 2 && d.v[1].warning && d.v[1].line == 11 && d.v[1].col == 9 &&
			  !strcmp(d.v[1].msg,
				  "duplicate deny rule in tenants[0].deny (first at 8:9)"),
		  "isolation: duplicate deny rule is a warning at the later one");
	if (r) {
		tg_diags_free(&d);
		return;
	}
	t = &cfg.tenants[0];
	tap_check(t->limits.egress_rate == 8000 && t->limits.egress_burst == 1514 &&
			  t->limits.ingress_rate == 8000000 && t->limits.ingress_burst == 1572864 &&
			  t->limits.egress_pps == 1 && t->limits.ingress_pps == 100000000 &&
			  t->limits.max_connections == 50,
		  "isolation: limits");
	tap_check(t->n_deny == 5, "isolation: five deny rules, the duplicate dropped (%zu)",
		  t->n_deny);
	if (t->n_deny == 5) {
		tg_format_cidr(&t->deny[0].cidr, buf, sizeof(buf));
		tap_check(!strcmp(buf, "169.254.169.254/32") && t->deny[0].proto == 0 &&
				  t->deny[0].port_lo == 0 && t->deny[0].port_hi == 65535,
			  "isolation: a bare address denies everything to it");
		tap_check(t->deny[1].proto == 6 && t->deny[1].port_lo == 22 &&
				  t->deny[1].port_hi == 22,
			  "isolation: tcp port 22");
		tap_check(t->deny[2].proto == 17 && t->deny[2].port_lo == 1000 &&
				  t->deny[2].port_hi == 2000,
			  "isolation: udp by number, a port range");
		tap_check(t->deny[3].cidr.family == AF_INET6 && t->deny[3].proto == 58 &&
				  t->deny[3].port_hi == 65535,
			  "isolation: icmpv6");
		tap_check(t->deny[4].proto == 0 && t->deny[4].cidr.prefixlen == 8,
			  "isolation: proto any, in file order");
	}
	tap_check(t->n_allow_tenants == 2 && !strcmp(t->allow_tenants[0], "beta") &&
			  !strcmp(t->allow_tenants[1], "gamma"),
		  "isolation: allow_tenants");
	tap_check(t->raw_sockets_denied && !cfg.tenants[1].raw_sockets_denied &&
			  !cfg.tenants[2].raw_sockets_denied,
		  "isolation: raw_sockets");
	tap_check(t->quota.bytes == 5000000 && t->quota.action == TG_QUOTA_THROTTLE &&
			  t->quota.throttle_rate == 1000000 &&
			  t->quota.period == TG_PERIOD_HOURLY && t->quota.ingress &&
			  !t->quota.egress,
		  "isolation: throttle quota");
	t = &cfg.tenants[1];
	tap_check(t->quota.bytes == 1024 && t->quota.action == TG_QUOTA_BLOCK &&
			  t->quota.period == TG_PERIOD_MONTHLY && !t->quota.ingress &&
			  t->quota.egress && !t->quota.throttle_rate && !t->n_deny && !t->deny,
		  "isolation: block quota, monthly by default");
	t = &cfg.tenants[2];
	tap_check(t->quota.bytes == 1000000000 && t->quota.action == TG_QUOTA_ALERT &&
			  t->quota.period == TG_PERIOD_MONTHLY && t->quota.ingress &&
			  t->quota.egress,
		  "isolation: quota defaults: monthly, alert, both directions");
	tap_check(!cfg.segmentation && cfg.n_deny == 2 && cfg.deny[0].cidr.family == AF_INET6 &&
			  cfg.deny[1].cidr.prefixlen == 32,
		  "isolation: segmentation off, default deny list in file order");
	tap_check(!strcmp(cfg.events_path, "/srv/ev.json"), "isolation: events path");
	tg_config_free(&cfg);
	tg_diags_free(&d);

	tap_check(parse_str("tenants: [{name: a, cidrs: [10.0.0.0/8]}]\n", &cfg, &d) == 0 &&
			  d.n == 0,
		  "isolation defaults: loads quietly");
	t = &cfg.tenants[0];
	tap_check(cfg.segmentation && !cfg.n_deny && !cfg.deny && cfg.events_path &&
			  !strcmp(cfg.events_path, TG_DEFAULT_EVENTS) && !t->n_deny &&
			  !t->n_allow_tenants && !t->raw_sockets_denied && !t->quota.bytes &&
			  !t->limits.egress_burst && !t->limits.egress_pps,
		  "isolation defaults: segmentation on, no deny, events at %s", TG_DEFAULT_EVENTS);
	tg_config_free(&cfg);
	tg_diags_free(&d);

	tap_check(parse_str("tenants: [{name: a, cidrs: [10.0.0.0/8]}]\n"
			    "isolation: {segmentation: TRUE}\n",
			    &cfg, &d) == 0 &&
			  cfg.segmentation,
		  "isolation: segmentation TRUE");
	tg_config_free(&cfg);
	tg_diags_free(&d);

	/* exactly 8 rules on one prefix load; the ninth is refused */
	{
		char b[1024];
		size_t n = 0;
		int i;

		n += (size_t)snprintf(b + n, sizeof(b) - n,
				      "tenants: [{name: a, cidrs: [10.0.0.0/8]}]\nisolation: "
				      "{deny: [");
		for (i = 1; i <= 8; i++)
			n += (size_t)snprintf(b + n, sizeof(b) - n,
					      "%s{cidr: 1.0.0.0/8, proto: tcp, ports: %d}",
					      i > 1 ? ", " : "", i);
		snprintf(b + n, sizeof(b) - n, "]}\n");
		tap_check(parse_str(b, &cfg, &d) == 0 && cfg.n_deny == 8,
			  "isolation: 8 rules on one prefix load");
		tg_config_free(&cfg);
		tg_diags_free(&d);
		snprintf(b + n, sizeof(b) - n, ", 1.0.0.0/8]}\n");
		tap_check(parse_str(b, &cfg, &d) == -EINVAL && d.errors == 1 &&
				  has_msg(&d, "more than 8 deny rules for 1.0.0.0/8 in "
					      "isolation.deny"),
			  "isolation: the 9th is refused");
		tg_diags_free(&d);
	}
}

static void test_print(void)
{
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	parse_str("tenants:\n  - name: x\n    limits: {max_connections: 9}\n", &cfg, &d);
	f = open_memstream(&buf, &len);
	tg_diags_print(&d, "f.yaml", f);
	fclose(f);
	tap_check(buf && !strcmp(buf, "f.yaml:2:5: tenant 'x' selects no traffic: give cidrs, "
				      "interfaces or cgroups\n"
				      "f.yaml:3:14: warning: max_connections is enforced only for "
				      "the tenant's cgroups; this tenant has none\n"),
		  "print: errors and warnings, in file order");
	free(buf);
	tg_diags_free(&d);
	tap_check(d.v == NULL && d.n == 0 && d.errors == 0, "diags_free zeroes");
	tg_config_free(&cfg);
	tg_config_free(NULL);
	tg_diags_free(NULL);
}

static void test_load_errors(void)
{
	char dir[] = "/tmp/tg-config-XXXXXX", path[64];
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	FILE *f;

	tap_check(tg_config_load("/nonexistent/tollgate.yaml", &cfg, &d) == -ENOENT && d.n == 0,
		  "load: missing file is -ENOENT, no diagnostics");
	if (!mkdtemp(dir)) {
		tap_check(0, "mkdtemp");
		return;
	}
	tap_check(tg_config_load(dir, &cfg, &d) == -EISDIR && d.n == 0, "load: a directory");
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	f = fopen(path, "w");
	if (f) {
		/* a valid start, then comments past the 4 MiB cap */
		fputs("tenants: [{name: a, cidrs: [10.0.0.0/8]}]\n", f);
		for (long i = 0; i < (4L << 20) / 64 + 1; i++)
			fputs("# .............................................................\n",
			      f);
		fclose(f);
	}
	tap_check(tg_config_load(path, &cfg, &d) == -EFBIG && d.n == 0 && cfg_is_zero(&cfg),
		  "load: over 4 MiB is -EFBIG");
	unlink(path);
	rmdir(dir);
	tap_check(tg_config_parse("x", "", (4u << 20) + 1, &cfg, &d) == -EFBIG,
		  "parse: over 4 MiB is -EFBIG");
}

/* Inputs built to hurt: each must fail cleanly (or load), never crash or leak. */
static void test_hostile(void)
{
	static const struct {
		const char *name, *text, *needle;
		size_t len; /* 0: strlen */
	} t[] = {
		{ "empty buffer", "", "empty configuration", 0 },
		{ "only a document marker", "---\n", "empty configuration", 0 },
		{ "null document", "~\n", "empty configuration", 0 },
		{ "top-level scalar", "hello\n", "top level: expected a mapping", 0 },
		{ "self-containing sequence", "tenants: &a [*a]\n", "expected a mapping", 0 },
		{ "self-containing mapping",
		  "tenants: [&t {name: a, cidrs: [10.0.0.0/8], limits: *t}]\n",
		  "unknown key 'name' in tenants[0].limits", 0 },
		{ "mapping as its own key", "&m {*m: 1}\n", "expected a scalar key", 0 },
		{ "alias as a key", "tenants: [{&k name: a, *k: b, cidrs: [10.0.0.0/8]}]\n",
		  "duplicate key 'name'", 0 },
		{ "undefined alias", "tenants: *nope\n", "found undefined alias", 0 },
		{ "NUL in a value", "tenants: [{name: \"a\\0b\", cidrs: [10.0.0.0/8]}]\n",
		  "unexpected NUL character", 0 },
		{ "raw NUL byte", "tenants: []\n\0\n", "invalid YAML", 14 },
		{ "control character", "tenants: [\x01]\n", "control characters are not allowed",
		  0 },
		{ "invalid UTF-8", "tenants: [{name: \xc3\x28}]\n", "invalid YAML", 0 },
		{ "UTF-16 BOM", "\xff\xfe", "empty configuration", 2 },
		{ "custom tag", "tenants: !x [{name: a, cidrs: [10.0.0.0/8]}]\n",
		  "unsupported tag '!x'", 0 },
		{ "tag on the root", "!root {tenants: []}\n", "unsupported tag '!root'", 0 },
		{ "deep nesting",
		  "tenants: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
		  "tenants[0]: expected a mapping", 0 },
		{ "second document broken", "tenants: []\n---\n[\n", "invalid YAML", 0 },
		{ "merge key", "tenants: [{<<: {name: a}, cidrs: [10.0.0.0/8]}]\n",
		  "unknown key '<<'", 0 },
		{ "huge integer key",
		  "tenants: [{name: a, cidrs: [10.0.0.0/8], limits: "
		  "{max_connections: 99999999999999999999999}}]\n",
		  "invalid max_connections", 0 },
		{ "overlong value shown truncated",
		  "tenants: [{name: "
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "\xc3\xa9\xc3\xa9\xc3\xa9, cidrs: [10.0.0.0/8]}]\n",
		  "aaaa...'", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct tg_config cfg;
		struct tg_diags d = { 0 };
		size_t len = t[i].len ? t[i].len : strlen(t[i].text);
		int r = tg_config_parse("h", t[i].text, len, &cfg, &d);

		if (!tap_check(r == -EINVAL && cfg_is_zero(&cfg) && has_msg(&d, t[i].needle),
			       "hostile: %s -> '%s'", t[i].name, t[i].needle))
			tg_diags_print(&d, "h", stdout);
		tg_diags_free(&d);
	}
}

static char *append(char *buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		char *b = realloc(buf, *cap = (*len + n + 1) * 2);

		if (!b) {
			free(buf);
			return NULL;
		}
		buf = b;
	}
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return buf;
}

/* Aliases multiply work, not memory: the visit budget must stop the walk. */
static void test_alias_bomb(void)
{
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	size_t len = 0, cap = 0;
	char *buf = NULL, line[64];
	int i, r;

	buf = append(buf, &len, &cap, "tenants:\n  - &t {name: a, cidrs: &c [");
	for (i = 0; buf && i < 5000; i++) {
		snprintf(line, sizeof(line), "%s10.%d.%d.0/24", i ? ", " : "", i / 256, i % 256);
		buf = append(buf, &len, &cap, line);
	}
	buf = buf ? append(buf, &len, &cap, "]}\n") : NULL;
	for (i = 0; buf && i < 20000; i++)
		buf = append(buf, &len, &cap, "  - *t\n");
	if (!tap_check(buf != NULL, "alias bomb: built"))
		return;
	r = tg_config_parse("bomb", buf, len, &cfg, &d);
	tap_check(r == -EINVAL && has_msg(&d, "too large once aliases are expanded"),
		  "alias bomb: stopped by the visit budget");
	tap_check(d.n <= 1001, "alias bomb: diagnostics capped (%zu)", d.n);
	tap_check(diags_sorted(&d), "alias bomb: diagnostics sorted");
	tg_diags_free(&d);
	free(buf);
}

/* Many tenants, many CIDRs: the cross-tenant checks must stay n log n and exact. */
static void test_many(void)
{
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	size_t len = 0, cap = 0;
	char *buf = NULL, line[128];
	int i, r;

	buf = append(buf, &len, &cap, "tenants:\n");
	for (i = 0; buf && i < 3000; i++) {
		snprintf(line, sizeof(line),
			 "  - {name: t%d, cidrs: [10.%d.%d.0/24, 'fd00:%x::/48'], interfaces: "
			 "[vt%d]}\n",
			 i, i / 256, i % 256, i, i);
		buf = append(buf, &len, &cap, line);
	}
	if (!tap_check(buf != NULL, "many: built"))
		return;
	r = tg_config_parse("many", buf, len, &cfg, &d);
	tap_check(r == 0 && cfg.n_tenants == 3000 && d.n == 0, "many: 3000 tenants load");
	tg_config_free(&cfg);
	tg_diags_free(&d);
	/* the same again, plus one tenant that overlaps all of them */
	buf = append(buf, &len, &cap, "  - {name: wide, cidrs: [10.0.0.0/8, 'fd00::/16']}\n");
	r = buf ? tg_config_parse("many", buf, len, &cfg, &d) : -1;
	tap_check(r == -EINVAL && d.errors == 2 && has_msg(&d, "CIDR '10.0.0.0/8' overlaps") &&
			  has_msg(&d, "CIDR 'fd00::/16' overlaps"),
		  "many: one error per overlapping CIDR (%zu)", d.errors);
	tg_diags_free(&d);
	/* 1200 tenants with the same broken value: capped, with a summary */
	len = 0;
	buf = buf ? append(buf, &len, &cap, "tenants:\n") : NULL;
	for (i = 0; buf && i < 1200; i++)
		buf = append(buf, &len, &cap, "  - {name: BAD}\n");
	r = buf ? tg_config_parse("many", buf, len, &cfg, &d) : -1;
	tap_check(r == -EINVAL && d.n == 1001 && has_msg(&d, "more not shown"),
		  "many: diagnostics capped at 1000 plus a summary (%zu)", d.n);
	tg_diags_free(&d);
	/* 1200 tenants with connection caps but no cgroups: 1200 warnings must not fail it */
	len = 0;
	buf = buf ? append(buf, &len, &cap, "tenants:\n") : NULL;
	for (i = 0; buf && i < 1200; i++) {
		snprintf(line, sizeof(line),
			 "  - {name: t%d, interfaces: [v%d], limits: {max_connections: 1}}\n", i,
			 i);
		buf = append(buf, &len, &cap, line);
	}
	r = buf ? tg_config_parse("many", buf, len, &cfg, &d) : -1;
	tap_check(r == 0 && d.errors == 0 && d.n == 1001,
		  "many: only warnings held back: still valid");
	tg_config_free(&cfg);
	tg_diags_free(&d);
	free(buf);
}

/* Each size limit: one over it is refused once, with the documented message. */
static void test_caps(void)
{
	static const struct {
		const char *head, *item_fmt, *tail, *msg;
		int n;
	} t[] = {
		{ "tenants:\n", "  - {name: t%d, cidrs: [10.%d.%d.1]}\n", "",
		  "too many tenants: at most 16383", 16384 },
		{ "tenants: [{name: a, cidrs: [", "%s1%d.%d.%d.0/24", "]}]\n",
		  "too many IPv4 CIDRs: at most 65536", 65537 },
		{ "tenants: [{name: a, cidrs: [", "%s'fd00:%x:%x:%x::/64'", "]}]\n",
		  "too many IPv6 CIDRs: at most 65536", 65537 },
		{ "tenants: [{name: a, interfaces: [", "%si%x.%x.%x", "]}]\n",
		  "too many interface patterns: at most 4096", 4097 },
		{ "tenants: [{name: a, cgroups: [", "%s/c%d/%d/%d", "]}]\n",
		  "too many cgroups: at most 4096", 4097 },
		{ "tenants: [{name: t, interfaces: [x]}]\nclasses: [{name: a, cidrs: [",
		  "%s1%d.%d.%d.0/24", "]}]\n", "too many class IPv4 CIDRs: at most 65536", 65537 },
		{ "tenants: [{name: t, interfaces: [x]}]\nclasses: [{name: a, cidrs: [",
		  "%s'fd00:%x:%x:%x::/64'", "]}]\n", "too many class IPv6 CIDRs: at most 65536",
		  65537 },
		{ "tenants: [{name: a, cidrs: [10.0.0.0/8]}]\nuplink: {interfaces: [",
		  "%su%x.%x.%x", "]}\n", "too many uplink interface patterns: at most 4096", 4097 },
		{ "tenants: [{name: a, cidrs: [10.0.0.0/8], deny: [", "%s1%d.%d.%d.0/24", "]}]\n",
		  "too many deny rules in tenants[0].deny: at most 65536", 65537 },
		{ "tenants: [{name: a, cidrs: [10.0.0.0/8]}]\nisolation: {deny: [",
		  "%s'fd00:%x:%x:%x::/64'", "]}\n",
		  "too many deny rules in isolation.deny: at most 65536", 65537 },
	};
	size_t k;

	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		struct tg_config cfg;
		struct tg_diags d = { 0 };
		size_t len = 0, cap = 0;
		char *buf = append(NULL, &len, &cap, t[k].head), item[64];
		int i, r;

		for (i = 0; buf && i < t[k].n; i++) {
			if (k == 0)
				snprintf(item, sizeof(item), t[k].item_fmt, i, i >> 8, i & 255);
			else
				snprintf(item, sizeof(item), t[k].item_fmt, i ? ", " : "", i >> 16,
					 (i >> 8) & 255, i & 255);
			buf = append(buf, &len, &cap, item);
		}
		buf = buf ? append(buf, &len, &cap, t[k].tail) : NULL;
		if (!tap_check(buf != NULL, "caps: built input %zu", k))
			continue;
		r = tg_config_parse("caps", buf, len, &cfg, &d);
		if (!tap_check(r == -EINVAL && d.errors == 1 && has_msg(&d, t[k].msg),
			       "caps: '%s' (r=%d, %zu errors)", t[k].msg, r, d.errors))
			tg_diags_print(&d, "caps", stdout);
		/* one under the limit loads */
		if (k) {
			char *last = strrchr(buf, ',');

			len = (size_t)(last - buf);
			buf = append(buf, &len, &cap, t[k].tail);
			tg_diags_free(&d);
			r = buf ? tg_config_parse("caps", buf, len, &cfg, &d) : -1;
			tap_check(r == 0 && d.errors == 0,
				  "caps: exactly at the limit loads (r=%d)", r);
			tg_config_free(&cfg);
		}
		tg_diags_free(&d);
		free(buf);
	}
}

/* A tiny deterministic fuzzer: mutations of the example, checked for the contract. */
static void test_mutations(const char *seed_text)
{
	static const char alphabet[] = "-:[]{},&*!|>'\"#%@ \t\n/.0a\\?~";
	unsigned long long x = 0x9e3779b97f4a7c15ull;
	size_t len = strlen(seed_text), bad = 0, ok = 0, i;
	char *buf = malloc(len + 64);
	int round;

	if (!buf)
		return;
	for (round = 0; round < 3000; round++) {
		struct tg_config cfg;
		struct tg_diags d = { 0 };
		size_t n = len;
		int k, r;

		memcpy(buf, seed_text, len);
		for (k = 0; k < 1 + round % 4; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			i = (size_t)(x >> 8) % n;
			if (x & 0x10)
				buf[i] = alphabet[(x >> 40) % (sizeof(alphabet) - 1)];
			else if (x & 0x20)
				buf[i] = (char)(x >> 48);
			else if (n > 1)
				memmove(buf + i, buf + i + 1, n-- - i - 1);
		}
		r = tg_config_parse("m", buf, n, &cfg, &d);
		if ((r == 0 && d.errors == 0) || (r == -EINVAL && d.errors && cfg_is_zero(&cfg)))
			ok++;
		else
			bad++;
		if (!diags_sorted(&d))
			bad++;
		tg_config_free(&cfg);
		tg_diags_free(&d);
	}
	tap_check(bad == 0, "mutations: %zu inputs kept the contract, %zu did not", ok, bad);
	free(buf);
}

/* Reload: which changes a running agent takes, and which need a restart. Each case is a
 * base file plus one line, compared with the base. */
static void test_restart_only(void)
{
	static const char base[] =
		"node: {name: n1}\n"
		"tenants:\n"
		"  - {name: acme, cidrs: [10.1.0.0/24], interfaces: [vt-acme-*]}\n"
		"billing: {interval: 60s, store: \"sqlite:/tmp/x.db\"}\n";
	static const struct {
		const char *extra; /* appended to base (or replacing a line: see below) */
		const char *key;   /* NULL: live */
	} t[] = {
		{ "", NULL },
		{ "  - {name: beta, cidrs: [10.2.0.0/24]}\n", NULL },
		{ "classes: [{name: internal, cidrs: [10.0.0.0/8]}]\n", NULL },
		{ "isolation: {deny: [169.254.169.254/32]}\n", NULL },
		{ "uplink: {interfaces: [up0], blocklist: [203.0.113.0/24]}\n", NULL },
		{ "uplink: {interfaces: [up0], xdp_mode: generic}\n", "uplink.xdp_mode" },
		{ "agent: {pin_path: /sys/fs/bpf/other}\n", "agent.pin_path" },
		{ "agent: {run_dir: /run/other}\n", "agent.run_dir" },
		{ "outputs: {events: /tmp/other.json}\n", "outputs.events" },
		{ "outputs: {audit: /tmp/other.log}\n", "outputs.audit" },
		{ "outputs: {ipfix: {collector: 192.0.2.9}}\n", "outputs.ipfix" },
		{ "api: {listen: 127.0.0.1:9999}\n", "api.listen" },
		{ "flows: {capacity: 4096}\n", "flows.capacity" },
		{ "flows: {idle_timeout: 5s}\n", "flows.idle_timeout" },
		{ "runtime: {rules: []}\n", "runtime" },
	};
	struct tg_config a, b;
	struct tg_diags d = {};
	char text[1024], key[64];

	tap_check(parse_str(base, &a, &d) == 0, "restart-only: the base parses");
	tg_diags_free(&d);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool restart;

		/* a tenant line goes inside the tenants list: insert it after acme's */
		if (!strncmp(t[i].extra, "  - ", 4))
			snprintf(text, sizeof(text), "%.*s%s%s",
				 (int)(strstr(base, "billing") - base), base, t[i].extra,
				 strstr(base, "billing"));
		else
			snprintf(text, sizeof(text), "%s%s", base, t[i].extra);
		memset(&d, 0, sizeof(d));
		if (!tap_check(parse_str(text, &b, &d) == 0, "restart-only case %zu parses", i)) {
			tg_diags_print(&d, "<test>", stdout);
			tg_diags_free(&d);
			continue;
		}
		tg_diags_free(&d);
		key[0] = '\0';
		restart = tg_config_restart_only(&a, &b, key, sizeof(key));
		if (t[i].key)
			tap_check(restart && !strcmp(key, t[i].key),
				  "a change of %s takes a restart (%s)", t[i].key, key);
		else
			tap_check(!restart, "case %zu is taken live (got '%s')", i, key);
		/* and the same the other way round */
		tap_check(tg_config_restart_only(&b, &a, key, sizeof(key)) == !!t[i].key,
			  "case %zu: symmetric", i);
		tg_config_free(&b);
	}
	/* the interval and the store, by editing the base */
	snprintf(text, sizeof(text), "%.*s", (int)sizeof(text) - 1, base);
	memcpy(strstr(text, "60s"), "30s", 3);
	memset(&d, 0, sizeof(d));
	if (tap_check(parse_str(text, &b, &d) == 0, "restart-only: interval 30s parses")) {
		tap_check(tg_config_restart_only(&a, &b, key, sizeof(key)) &&
				  !strcmp(key, "billing.interval"),
			  "a change of billing.interval takes a restart (%s)", key);
		tg_config_free(&b);
	}
	tg_diags_free(&d);
	snprintf(text, sizeof(text), "%.*s", (int)sizeof(text) - 1, base);
	memcpy(strstr(text, "n1"), "n2", 2);
	memset(&d, 0, sizeof(d));
	if (tap_check(parse_str(text, &b, &d) == 0, "restart-only: node n2 parses")) {
		tap_check(tg_config_restart_only(&a, &b, key, sizeof(key)) &&
				  !strcmp(key, "node.name"),
			  "a change of node.name takes a restart (%s)", key);
		tg_config_free(&b);
	}
	tg_diags_free(&d);
	tg_config_free(&a);
}

int main(int argc, char **argv)
{
	const char *bad = argc > 1 ? argv[1] : "tests/unit/config/bad";
	char good[4096];
	char *example;
	int n;

	if (argc > 2) {
		snprintf(good, sizeof(good), "%s", argv[2]);
	} else {
		/* the sibling of the bad directory */
		size_t l = strlen(bad);

		while (l && bad[l - 1] == '/')
			l--;
		if (l >= 3 && !strncmp(bad + l - 3, "bad", 3))
			snprintf(good, sizeof(good), "%.*sgood", (int)(l - 3), bad);
		else
			snprintf(good, sizeof(good), "tests/unit/config/good");
	}

	n = run_dir(bad, test_bad_file);
	tap_check(n >= 20, "%d bad fixtures in %s (want at least 20)", n, bad);
	n = run_dir(good, test_good_file);
	tap_check(n >= 3, "%d good fixtures in %s (want at least 3)", n, good);
	test_good_file(EXAMPLE);

	test_rates();
	test_sizes();
	test_durations();
	test_cidrs();
	test_format();
	test_overlap();
	test_names();
	test_lookup();
	test_values();
	test_classes();
	test_flows();
	test_ipfix();
	test_isolation();
	test_print();
	test_load_errors();
	test_hostile();
	test_alias_bomb();
	test_many();
	test_caps();
	test_restart_only();
	example = slurp(EXAMPLE, NULL);
	if (tap_check(example != NULL, "example readable for the mutation test"))
		test_mutations(example);
	free(example);
	return tap_done();
}
