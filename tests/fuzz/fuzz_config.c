// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The configuration loader under libFuzzer (docs/fuzzing.md): the input is a
 * configuration file, parsed and validated by tg_config_parse (src/config.c) as
 * `tollgate check` and the agent do, its diagnostics printed, everything freed. List
 * files it names are read relative to tests/fuzz/lists/ (FUZZ_LISTS), where the seeds'
 * lists are. The first line of the input also goes through the value parsers alone.
 *
 * Properties, besides no crash, leak or sanitizer report:
 *  - the result is 0, -EINVAL, -ENOMEM or -EFBIG, and it is 0 exactly when no
 *    diagnostic is an error; a refused file leaves the configuration zeroed;
 *  - every diagnostic is one line of printable text (user values are shown escaped);
 *  - a valid configuration's prefixes are canonical: family and length in range, no host
 *    bit set, and printing then parsing one gives it back;
 *  - the value parsers: a parsed CIDR prints and parses back to itself, a size is never
 *    zero.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "fuzz.h"

#ifndef FUZZ_LISTS /* the Makefile passes its absolute path */
#define FUZZ_LISTS "tests/fuzz/lists"
#endif
#define NAME FUZZ_LISTS "/fuzz.yaml"

static void check_cidr(const struct tg_cidr *c, const char *where)
{
	unsigned bits = c->family == AF_INET ? 32 : 128;
	struct tg_cidr back;
	char s[64];

	FUZZ_CHECK(c->family == AF_INET || c->family == AF_INET6, "%s: family %d", where,
		   c->family);
	FUZZ_CHECK(c->prefixlen <= bits, "%s: /%u", where, c->prefixlen);
	for (unsigned b = c->prefixlen; b < bits; b++)
		FUZZ_CHECK(!(c->addr[b / 8] & (0x80 >> (b % 8))), "%s: host bit %u set", where, b);
	for (unsigned i = bits / 8; i < 16; i++)
		FUZZ_CHECK(!c->addr[i], "%s: byte %u past the address", where, i);
	FUZZ_CHECK(!tg_format_cidr(c, s, sizeof(s)), "%s: cannot print it", where);
	FUZZ_CHECK(!tg_parse_cidr(s, &back) && back.family == c->family &&
			   back.prefixlen == c->prefixlen && !memcmp(back.addr, c->addr, 16),
		   "%s: '%s' does not parse back to itself", where, s);
}

static void check_cidrs(const struct tg_cidr *v, size_t n, const char *where)
{
	for (size_t i = 0; i < n; i++)
		check_cidr(&v[i], where);
}

static void check_valid(const struct tg_config *cfg)
{
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct tg_tenant_conf *t = &cfg->tenants[i];

		FUZZ_CHECK(tg_tenant_name_valid(t->name), "tenant name '%s'", t->name);
		check_cidrs(t->cidrs, t->n_cidrs, "tenants[].cidrs");
		for (size_t k = 0; k < t->n_deny; k++) {
			check_cidr(&t->deny[k].cidr, "tenants[].deny");
			FUZZ_CHECK(t->deny[k].port_lo <= t->deny[k].port_hi, "deny ports %u-%u",
				   t->deny[k].port_lo, t->deny[k].port_hi);
		}
	}
	for (size_t i = 0; i < cfg->n_classes; i++)
		check_cidrs(cfg->classes[i].cidrs, cfg->classes[i].n_cidrs, "classes[].cidrs");
	for (size_t k = 0; k < cfg->n_deny; k++)
		check_cidr(&cfg->deny[k].cidr, "isolation.deny");
	check_cidrs(cfg->guard.allow, cfg->guard.n_allow, "uplink.allowlist");
	check_cidrs(cfg->guard.block, cfg->guard.n_block, "uplink.blocklist");
	check_cidrs(cfg->guard.honeypot_sources, cfg->guard.n_honeypot_sources,
		    "uplink.honeypot.sources");
	for (size_t k = 0; k < cfg->guard.n_rules; k++) {
		const struct tg_guard_rule_conf *r = &cfg->guard.rules[k];

		if (!r->any_src)
			check_cidr(&r->src, "uplink.rules[].src");
		FUZZ_CHECK(r->tenant >= -1 && r->tenant < (int)cfg->n_tenants,
			   "uplink.rules[].tenant %d of %zu", r->tenant, cfg->n_tenants);
		FUZZ_CHECK(r->port_lo <= r->port_hi, "uplink.rules[] ports %u-%u", r->port_lo,
			   r->port_hi);
	}
	/* what the agent does with it first */
	tg_config_tenant_for_iface(cfg, "eth0");
	tg_config_is_uplink(cfg, "eth0");
}

static void check_diags(const struct tg_diags *d, int r)
{
	size_t errors = 0;

	for (size_t i = 0; i < d->n; i++) {
		const char *m = d->v[i].msg;
		size_t len = strnlen(m, sizeof(d->v[i].msg));

		FUZZ_CHECK(len > 0 && len < sizeof(d->v[i].msg), "diagnostic %zu: %zu bytes", i,
			   len);
		for (size_t k = 0; k < len; k++)
			FUZZ_CHECK((unsigned char)m[k] >= 0x20 && m[k] != 0x7f,
				   "diagnostic %zu has control byte %#x at %zu: %s", i,
				   (unsigned char)m[k], k, m);
		errors += !d->v[i].warning;
	}
	FUZZ_CHECK(errors == d->errors, "%zu errors counted, %zu listed", d->errors, errors);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM || r == -EFBIG, "result %d", r);
	FUZZ_CHECK((r == -EINVAL) == (d->errors > 0), "result %d with %zu errors", r, d->errors);
}

/* The first line alone through the value parsers. */
static void values(const uint8_t *data, size_t size)
{
	char s[128];
	size_t n = 0;
	struct tg_cidr c;
	uint64_t v;

	while (n < size && n < sizeof(s) - 1 && data[n] != '\n')
		n++;
	memcpy(s, data, n);
	s[n] = '\0';
	if (!tg_parse_cidr(s, &c))
		check_cidr(&c, "tg_parse_cidr");
	if (!tg_parse_size(s, &v))
		FUZZ_CHECK(v > 0, "size '%s' is 0", s);
	tg_parse_rate(s, &v);
	tg_parse_duration(s, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tg_config zero;
	struct tg_diags diags = { 0 };
	struct tg_config cfg;
	char *out = NULL;
	size_t out_len = 0;
	FILE *f;
	int r;

	values(data, size);
	r = tg_config_parse(NAME, (const char *)data, size, &cfg, &diags);
	check_diags(&diags, r);
	if (r)
		FUZZ_CHECK(!memcmp(&cfg, &zero, sizeof(cfg)), "a refused file left cfg set");
	else
		check_valid(&cfg);
	f = open_memstream(&out, &out_len);
	FUZZ_CHECK(f, "open_memstream");
	tg_diags_print(&diags, NAME, f);
	FUZZ_CHECK(!fclose(f), "printing the diagnostics");
	{
		size_t lines = 0;

		for (size_t i = 0; i < out_len; i++)
			lines += out[i] == '\n';
		FUZZ_CHECK(lines == diags.n, "%zu diagnostics printed on %zu lines", diags.n,
			   lines);
	}
	free(out);
	if (!r)
		tg_config_free(&cfg);
	tg_diags_free(&diags);
	return 0;
}
