/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The configuration loader. libyaml's document API turns the text into a graph of
 * nodes; a walk driven by the schema checks every key and value, and a last pass checks
 * what spans tenants (names, overlapping CIDRs, shared interfaces). Every problem becomes
 * a positioned diagnostic and the walk goes on, so one run shows them all.
 *
 * The walk never recurses generically: it descends only where the schema does (at most
 * four levels), so an alias that makes a node contain itself cannot loop it, and a
 * budget of node visits bounds what aliases can multiply.
 *
 * No side effects beyond reading the file in tg_config_load() and the uplink guard's list
 * files it names: `tollgate check`, the agent and the fuzzer all drive the same code.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "denylist.h"
#include "guard.h"
#include "rt_glob.h"
#include "store_pg.h"

#define CONFIG_MAX_BYTES (4u << 20)
#define DIAGS_MAX 1000			 /* per parse; the rest are counted in one summary line */
#define MAX_TENANTS (TG_MAX_TENANTS - 1) /* tenant id 0 means unattributed */
#define MAX_CLASSES (TG_MAX_CLASSES - 1) /* class id 0 is internet */
#define MAX_PATTERNS TG_MAX_IFACES
#define MAX_CGROUPS 4096
#define MAX_CONNECTIONS 10000000u
#define FLOWS_MIN 1024u
#define FLOWS_MAX (16u << 20)
#define FLOWS_IDLE_DEFAULT 60	/* seconds */
#define IPFIX_PORT "4739"	/* IANA's port for IPFIX */
#define IPFIX_INTERVAL 10	/* seconds */
#define IPFIX_INTERVAL_MAX 3600 /* seconds */
#define IPFIX_DOMAIN 1
/* Aliases let a small file name one big node many times: cap the visits, not the nodes. */
#define VISITS_PER_NODE 8
#define VISITS_MIN 65536
#define DAY_SEC 86400u
#define YAML_STD_TAG "tag:yaml.org,2002:"

#define LINE(n) ((unsigned)(n)->start_mark.line + 1)
#define COL(n) ((unsigned)(n)->start_mark.column + 1)

/* Why a value was refused: each verdict has its own message. */
enum verdict { V_OK, V_SYNTAX, V_NOUNIT, V_NONPOS, V_RANGE, V_PREFIX, V_HOSTBITS };

/*
 * Value parsers
 */

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* ASCII only: units must not change meaning with the locale. */
static bool ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? *a + 32 : *a;
		char y = *b >= 'A' && *b <= 'Z' ? *b + 32 : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

/* Zeroes the bits past PREFIXLEN; returns true when some of them were set. */
static bool clear_host_bits(uint8_t *addr, unsigned prefixlen, unsigned bytes)
{
	bool had = false;
	unsigned i;

	for (i = 0; i < bytes; i++) {
		unsigned keep = prefixlen > 8 * i ? prefixlen - 8 * i : 0;
		uint8_t mask = keep >= 8 ? 0xff : (uint8_t)(0xff00 >> keep);

		if (addr[i] & (uint8_t)~mask)
			had = true;
		addr[i] &= mask;
	}
	return had;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || !((a[full] ^ b[full]) & (uint8_t)(0xff00 >> rest));
}

/* On V_HOSTBITS, OUT holds the network the user probably meant. */
static enum verdict cidr_parse(const char *s, struct tg_cidr *out, unsigned *maxlen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned len = 0;
	const char *p;

	memset(out, 0, sizeof(*out));
	*maxlen = 0;
	if (!alen || alen >= sizeof(addr))
		return V_SYNTAX;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		*maxlen = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		*maxlen = 128;
	} else {
		return V_SYNTAX;
	}
	if (!slash) {
		len = *maxlen;
	} else {
		if (!slash[1])
			return V_PREFIX;
		for (p = slash + 1; *p; p++) {
			if (!is_digit(*p))
				return V_PREFIX;
			len = len * 10 + (unsigned)(*p - '0');
			if (len > *maxlen)
				return V_PREFIX;
		}
	}
	out->prefixlen = (uint8_t)len;
	if (clear_host_bits(out->addr, len, out->family == AF_INET ? 4 : 16))
		return V_HOSTBITS;
	return V_OK;
}

int tg_parse_cidr(const char *s, struct tg_cidr *out)
{
	unsigned maxlen;

	if (!s || !out)
		return -EINVAL;
	if (cidr_parse(s, out, &maxlen) != V_OK) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	return 0;
}

int tg_format_cidr(const struct tg_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (!c || !buf || (c->family != AF_INET && c->family != AF_INET6))
		return -EINVAL;
	if (!inet_ntop(c->family, c->addr, a, sizeof(a)))
		return -EINVAL;
	n = snprintf(buf, len, "%s/%u", a, c->prefixlen);
	if (n < 0 || (size_t)n >= len)
		return -EINVAL;
	return 0;
}

bool tg_cidr_overlap(const struct tg_cidr *a, const struct tg_cidr *b)
{
	unsigned len, max;

	if (!a || !b || a->family != b->family)
		return false;
	if (a->family != AF_INET && a->family != AF_INET6)
		return false;
	max = a->family == AF_INET ? 32 : 128;
	len = a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen;
	return prefix_equal(a->addr, b->addr, len < max ? len : max);
}

static const struct {
	const char *name;
	unsigned exp10;	 /* 10^exp10 */
	unsigned factor; /* 8 for bytes per second */
} rate_units[] = {
	{ "bit", 0, 1 }, { "kbit", 3, 1 }, { "mbit", 6, 1 }, { "gbit", 9, 1 }, { "tbit", 12, 1 },
	{ "bps", 0, 8 }, { "kbps", 3, 8 }, { "mbps", 6, 8 }, { "gbps", 9, 8 }, { "tbps", 12, 8 },
};

static uint64_t pow10u(unsigned e)
{
	uint64_t v = 1;

	while (e--)
		v *= 10;
	return v;
}

/* Reads "DIGITS[.DIGITS]"; the fraction keeps at most 18 digits (beyond any rate's use). */
static const char *read_decimal(const char *p, uint64_t *ip, uint64_t *frac, unsigned *fdigits,
				bool *overflow)
{
	*ip = *frac = 0;
	*fdigits = 0;
	if (!is_digit(*p))
		return NULL;
	for (; is_digit(*p); p++)
		if (__builtin_mul_overflow(*ip, 10, ip) ||
		    __builtin_add_overflow(*ip, (uint64_t)(*p - '0'), ip))
			*overflow = true;
	if (*p != '.')
		return p;
	if (!is_digit(*++p))
		return NULL;
	for (; is_digit(*p); p++) {
		if (*fdigits < 18) {
			*frac = *frac * 10 + (uint64_t)(*p - '0');
			(*fdigits)++;
		}
	}
	return p;
}

/* Exact integer arithmetic: 1.5mbit is 1500000, never 1499999.99. Fractions of a bit
 * are dropped. */
static enum verdict rate_parse(const char *s, uint64_t *out)
{
	bool neg = *s == '-', overflow = false;
	uint64_t ip, frac, whole, part;
	unsigned fd, e, f;
	const char *p;
	size_t i;

	p = read_decimal(s + neg, &ip, &frac, &fd, &overflow);
	if (!p)
		return V_SYNTAX;
	if (!*p)
		return V_NOUNIT;
	for (i = 0; i < sizeof(rate_units) / sizeof(rate_units[0]); i++)
		if (ascii_caseeq(p, rate_units[i].name))
			break;
	if (i == sizeof(rate_units) / sizeof(rate_units[0]))
		return V_SYNTAX;
	if (neg)
		return V_NONPOS;
	e = rate_units[i].exp10;
	f = rate_units[i].factor;
	if (overflow || __builtin_mul_overflow(ip, pow10u(e) * f, &whole))
		return V_RANGE;
	part = frac * f; /* < 8 * 10^18: fits */
	if (e >= fd) {
		if (__builtin_mul_overflow(part, pow10u(e - fd), &part))
			return V_RANGE;
	} else {
		part /= pow10u(fd - e);
	}
	if (__builtin_add_overflow(whole, part, out))
		return V_RANGE;
	return *out ? V_OK : V_NONPOS;
}

int tg_parse_rate(const char *s, uint64_t *bits_per_sec)
{
	uint64_t v;

	if (!s || !bits_per_sec || rate_parse(s, &v) != V_OK)
		return -EINVAL;
	*bits_per_sec = v;
	return 0;
}

static const struct {
	const char *name;
	unsigned base; /* 1000 or 1024 */
	unsigned power;
} size_units[] = {
	{ "b", 1000, 0 },   { "kb", 1000, 1 },	{ "mb", 1000, 2 },
	{ "gb", 1000, 3 },  { "tb", 1000, 4 },	{ "kib", 1024, 1 },
	{ "mib", 1024, 2 }, { "gib", 1024, 3 }, { "tib", 1024, 4 },
};

/* Bytes: "DIGITS[.DIGITS]UNIT", exact integer arithmetic, fractions of a byte dropped. */
static enum verdict size_parse(const char *s, uint64_t *out)
{
	bool neg = *s == '-', overflow = false;
	unsigned __int128 mult = 1, part;
	uint64_t ip, frac, whole;
	unsigned fd, k;
	const char *p;
	size_t i;

	p = read_decimal(s + neg, &ip, &frac, &fd, &overflow);
	if (!p)
		return V_SYNTAX;
	if (!*p)
		return V_NOUNIT;
	for (i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++)
		if (ascii_caseeq(p, size_units[i].name))
			break;
	if (i == sizeof(size_units) / sizeof(size_units[0]))
		return V_SYNTAX;
	if (neg)
		return V_NONPOS;
	for (k = 0; k < size_units[i].power; k++)
		mult *= size_units[i].base;
	if (overflow || __builtin_mul_overflow(ip, (uint64_t)mult, &whole))
		return V_RANGE;
	part = (unsigned __int128)frac * mult / pow10u(fd); /* < 10^18 * 2^40: fits */
	if (__builtin_add_overflow(whole, (uint64_t)part, out))
		return V_RANGE;
	return *out ? V_OK : V_NONPOS;
}

int tg_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v;

	if (!s || !bytes || size_parse(s, &v) != V_OK)
		return -EINVAL;
	*bytes = v;
	return 0;
}

static const struct {
	const char *name;
	uint64_t msec;
} duration_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
};

static enum verdict duration_parse(const char *s, uint64_t *msec)
{
	bool overflow = false;
	uint64_t n = 0;
	const char *p;
	size_t i;

	if (!is_digit(*s))
		return V_SYNTAX;
	for (p = s; is_digit(*p); p++)
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(*p - '0'), &n))
			overflow = true;
	if (!*p)
		return V_NOUNIT;
	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (!strcmp(p, duration_units[i].name))
			break;
	if (i == sizeof(duration_units) / sizeof(duration_units[0]))
		return V_SYNTAX;
	if (overflow || __builtin_mul_overflow(n, duration_units[i].msec, msec))
		return V_RANGE;
	return V_OK;
}

int tg_parse_duration(const char *s, uint64_t *msec)
{
	uint64_t v;

	if (!s || !msec || duration_parse(s, &v) != V_OK)
		return -EINVAL;
	*msec = v;
	return 0;
}

bool tg_tenant_name_valid(const char *s)
{
	size_t i;

	if (!s || !((*s >= 'a' && *s <= 'z') || is_digit(*s)))
		return false;
	for (i = 1; s[i]; i++) {
		char ch = s[i];

		if (i >= TG_NAME_MAX - 1)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || is_digit(ch) || ch == '.' || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}

/* Class names: [a-z0-9][a-z0-9_-]*, at most TG_CLASS_NAME_MAX - 1 characters. */
static bool class_name_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		char ch = s[i];

		if (i >= TG_CLASS_NAME_MAX - 1)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || is_digit(ch) || (i && (ch == '_' || ch == '-'))))
			return false;
	}
	return i > 0;
}

static bool node_name_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		char ch = s[i];

		if (i >= 63)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return i > 0;
}

/* What the kernel accepts as a link name (dev_valid_name), plus fnmatch(3) magic. */
static bool iface_pattern_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (!len || len >= TG_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ' ' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* Absolute, canonical (no empty, "." or ".." component, no trailing '/'), printable. */
static bool path_ok(const char *s, bool allow_root)
{
	size_t len = strlen(s);
	const char *seg, *p;

	if (s[0] != '/' || len >= PATH_MAX)
		return false;
	if (len == 1)
		return allow_root;
	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	for (seg = s + 1;; seg = p + 1) {
		size_t n;

		p = strchrnul(seg, '/');
		n = (size_t)(p - seg);
		if (!n || (n == 1 && seg[0] == '.') || (n == 2 && !strncmp(seg, "..", 2)))
			return false;
		if (!*p)
			return true;
	}
}

/* Decimal only: no sign, no 0x, no leading zero (YAML 1.1 reads 010 as octal).
 * MAX must stay below UINT64_MAX / 10. */
static bool decimal_in(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	for (p = s; is_digit(*p) && v <= max; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (*p || p == s || (s[0] == '0' && s[1]) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* A DNS name (RFC 1123 labels, an optional final dot) or an IPv4 address. */
static bool host_name_ok(const char *s)
{
	size_t len = strlen(s), label = 0, i;
	bool numeric = true;
	uint8_t a4[4];

	if (!len || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
		      (ch == '-' && label)))
			return false;
		if (!is_digit(ch))
			numeric = false;
		if (++label > 63)
			return false;
	}
	if (s[len - 1] == '-')
		return false;
	/* digits and dots only: an IPv4 address, never a name (getaddrinfo reads 10.1 as
	 * 10.0.0.1) */
	return !numeric || inet_pton(AF_INET, s, a4) == 1;
}

/*
 * outputs.ipfix.collector: HOST:PORT, [IPV6]:PORT, or a bare HOST or IPv6 address (port
 * IPFIX_PORT). V_SYNTAX for the shape or the host, V_RANGE for the port.
 */
static enum verdict collector_parse(const char *s, char *host, size_t hostlen, char *port,
				    size_t portlen)
{
	const char *h = s, *colon, *p = NULL;
	bool v6 = false;
	uint8_t a6[16];
	size_t hl;
	uint64_t v;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return V_SYNTAX;
		h = s + 1;
		hl = (size_t)(end - h);
		v6 = true;
		if (end[1] == ':')
			p = end + 2;
		else if (end[1])
			return V_SYNTAX;
	} else {
		colon = strchr(s, ':');
		hl = colon ? (size_t)(colon - s) : strlen(s);
		if (colon && strchr(colon + 1, ':')) {
			hl = strlen(s); /* an IPv6 address without brackets, so without a port */
			v6 = true;
		} else if (colon) {
			p = colon + 1;
		}
	}
	if (hl >= hostlen)
		return V_SYNTAX;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (v6 ? inet_pton(AF_INET6, host, a6) != 1 : !host_name_ok(host))
		return V_SYNTAX;
	if (p && !decimal_in(p, 1, 65535, &v))
		return V_RANGE;
	snprintf(port, portlen, "%s", p ? p : IPFIX_PORT);
	return V_OK;
}

/*
 * Diagnostics
 */

/* A selector as written, kept until the checks across tenants have run. */
struct sel_ref {
	const char *text; /* points into the YAML document */
	size_t tenant;	  /* index in cfg.tenants */
	size_t seq;	  /* configuration order */
	unsigned line, col;
	bool reported; /* one cross-tenant error per selector is enough */
	struct tg_cidr cidr;
};

struct sel_set {
	struct sel_ref *v;
	size_t n, cap, max;
	bool full;
	const char *what; /* for "too many ..." */
};

/* Where an entry of a guard source set was written: in the YAML (file NULL), or on line
 * fline of the list file named at line:col. */
struct gpos {
	unsigned line, col;
	const char *file; /* as written in the YAML (points into the document) */
	unsigned fline;
};

/* uplink.allowlist, blocklist or honeypot.sources, growing in cfg.guard, with where each
 * entry came from for the checks across the sets. */
struct gset_list {
	struct tg_cidr **v;
	size_t *n;
	struct gpos *pos;
	size_t cap;
	size_t per_family[2];
	bool full[2];
	const char *name;
};

enum { GL_ALLOW, GL_BLOCK, GL_HONEY, GL_MAX };

/* Also used for classes: "class 'lan'" or "classes[1]". */
struct tenant_meta {
	char label[64]; /* "tenant 'acme'", or "tenants[3]" while it has no valid name */
	bool named;
	unsigned name_line, name_col;
};

struct pctx {
	yaml_document_t *doc;
	struct tg_diags *d;
	size_t d_start; /* diags that were there before this parse */
	size_t errors;	/* errors raised by this parse, shown or not */
	size_t dropped, dropped_errors;
	unsigned drop_line, drop_col;
	size_t visits, visit_max;
	bool stop; /* visit budget exhausted: unwind */
	bool oom;
	struct tg_config cfg;
	struct tenant_meta *meta;
	struct sel_set cidr4, cidr6, ifaces, cgroups, uplinks;
	struct tenant_meta cmeta[MAX_CLASSES];
	struct sel_set class4, class6; /* the classes' CIDRs; sel_ref.tenant is the class */
	struct sel_set allows;	       /* allow_tenants entries, checked once names are known */
	const char *name;	       /* the file's name: list files are relative to it */
	struct gset_list gl[GL_MAX];
	bool honeypot_named;		/* uplink.honeypot.interface is given (maybe invalid) */
	unsigned guard_line, guard_col; /* where a guard that does not compile is reported */
	unsigned api_line, api_col;	/* where the API's listen address was given */
};

/* A printable, bounded copy of a user's value for a message. */
struct shown {
	char s[80];
};

static struct shown show(const char *s)
{
	struct shown r;
	size_t i = 0, max = 60;

	for (; i < max && s[i]; i++)
		r.s[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i]) {
		/* s[i] is the first byte left out: never cut a UTF-8 sequence in half */
		while (i && ((unsigned char)s[i] & 0xc0) == 0x80)
			i--;
		memcpy(r.s + i, "...", 4);
	} else {
		r.s[i] = '\0';
	}
	return r;
}

/* Appends one diagnostic; false when out of memory. */
static bool diag_store(struct pctx *c, unsigned line, unsigned col, bool warning, const char *msg)
{
	struct tg_diags *d = c->d;
	struct tg_diag *g;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct tg_diag *v = reallocarray(d->v, cap, sizeof(*v));

		if (!v) {
			c->oom = true;
			return false;
		}
		d->v = v;
		d->cap = cap;
	}
	g = &d->v[d->n++];
	memset(g, 0, sizeof(*g));
	g->line = line;
	g->col = col;
	g->warning = warning;
	snprintf(g->msg, sizeof(g->msg), "%s", msg);
	d->errors += !warning;
	return true;
}

static __attribute__((format(printf, 5, 0))) void vdiag(struct pctx *c, unsigned line, unsigned col,
							bool warning, const char *fmt, va_list ap)
{
	char msg[sizeof(c->d->v->msg)];

	if (!warning)
		c->errors++;
	/* a 4 MiB file of mistakes must not turn into a million lines */
	if (c->d->n - c->d_start >= DIAGS_MAX) {
		if (!c->dropped++) {
			c->drop_line = line;
			c->drop_col = col;
		}
		c->dropped_errors += !warning;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	diag_store(c, line, col, warning, msg);
}

static __attribute__((format(printf, 4, 5))) void diag_lc(struct pctx *c, unsigned line,
							  unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(c, line, col, false, fmt, ap);
	va_end(ap);
}

static __attribute__((format(printf, 4, 5))) void warn_lc(struct pctx *c, unsigned line,
							  unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(c, line, col, true, fmt, ap);
	va_end(ap);
}

static __attribute__((format(printf, 3, 4))) void node_err(struct pctx *c, const yaml_node_t *n,
							   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(c, LINE(n), COL(n), false, fmt, ap);
	va_end(ap);
}

static __attribute__((format(printf, 3, 4))) void node_warn(struct pctx *c, const yaml_node_t *n,
							    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(c, LINE(n), COL(n), true, fmt, ap);
	va_end(ap);
}

struct diag_order {
	unsigned line, col;
	size_t i;
};

static int diag_order_cmp(const void *pa, const void *pb)
{
	const struct diag_order *a = pa, *b = pb;

	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* File order, stable: qsort over (line, col, arrival). */
static void diags_sort(struct pctx *c)
{
	struct tg_diags *d = c->d;
	size_t n = d->n - c->d_start, i;
	struct diag_order *o;
	struct tg_diag *tmp;

	if (n < 2)
		return;
	o = calloc(n, sizeof(*o));
	tmp = calloc(n, sizeof(*tmp));
	if (!o || !tmp) {
		free(o);
		free(tmp);
		return; /* unsorted is still correct, only less pleasant */
	}
	for (i = 0; i < n; i++)
		o[i] = (struct diag_order){ d->v[c->d_start + i].line, d->v[c->d_start + i].col,
					    i };
	qsort(o, n, sizeof(*o), diag_order_cmp);
	for (i = 0; i < n; i++)
		tmp[i] = d->v[c->d_start + o[i].i];
	memcpy(d->v + c->d_start, tmp, n * sizeof(*tmp));
	free(o);
	free(tmp);
}

void tg_diags_free(struct tg_diags *d)
{
	if (!d)
		return;
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void tg_diags_print(const struct tg_diags *d, const char *file, FILE *out)
{
	size_t i;

	if (!d || !out)
		return;
	for (i = 0; i < d->n; i++)
		fprintf(out, "%s:%u:%u: %s%s\n", file ? file : "<config>", d->v[i].line,
			d->v[i].col, d->v[i].warning ? "warning: " : "", d->v[i].msg);
}

/*
 * Node access: every node the walk reads goes through visit() and expect().
 */

static bool visit(struct pctx *c, const yaml_node_t *n)
{
	if (c->stop)
		return false;
	if (++c->visits > c->visit_max) {
		node_err(c, n,
			 "the configuration is too large once aliases are expanded: "
			 "more than %zu nodes to check",
			 c->visit_max);
		c->stop = true;
		return false;
	}
	return true;
}

static bool tag_ok(const yaml_node_t *n)
{
	return !n->tag || !strncmp((const char *)n->tag, YAML_STD_TAG, strlen(YAML_STD_TAG));
}

static const char *kind_name(yaml_node_type_t t)
{
	switch (t) {
	case YAML_MAPPING_NODE:
		return "mapping";
	case YAML_SEQUENCE_NODE:
		return "sequence";
	default:
		return "scalar";
	}
}

static yaml_node_t *node_at(struct pctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static bool expect(struct pctx *c, yaml_node_t *n, yaml_node_type_t type, const char *where)
{
	if (!n || !visit(c, n))
		return false;
	if (!tag_ok(n)) {
		node_err(c, n, "%s: unsupported tag '%s'", where, show((const char *)n->tag).s);
		return false;
	}
	if (n->type != type) {
		node_err(c, n, "%s: expected a %s", where, kind_name(type));
		return false;
	}
	return true;
}

/* The text of scalar N, or NULL (reported) when N is no scalar or hides a NUL byte. */
static const char *scalar(struct pctx *c, yaml_node_t *n, const char *where)
{
	const char *s;

	if (!expect(c, n, YAML_SCALAR_NODE, where))
		return NULL;
	s = (const char *)n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length) {
		node_err(c, n, "%s: unexpected NUL character in '%s'", where, show(s).s);
		return NULL;
	}
	return s;
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

struct keyspec {
	const char *const *keys;	/* accepted; NULL-terminated */
	const char *const *unsupported; /* known, refused by this version */
	const char *expected;		/* the accepted keys, for messages */
};

static int key_index(const char *const *list, const char *key, size_t len)
{
	int i;

	for (i = 0; list && list[i]; i++)
		if (strlen(list[i]) == len && !strcmp(list[i], key))
			return i;
	return -1;
}

static const char *prep(const char *where)
{
	return strcmp(where, "top level") ? "in" : "at";
}

/* Checks that N is a mapping and files its pairs under SPEC's keys (SLOT[i] for keys[i]);
 * reports unknown, unsupported and duplicate keys. False when N is not a mapping. */
static bool map_collect(struct pctx *c, yaml_node_t *n, const char *where,
			const struct keyspec *spec, yaml_node_pair_t **slot)
{
	yaml_node_pair_t *p;

	if (!expect(c, n, YAML_MAPPING_NODE, where))
		return false;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(c, p->key);
		const char *key;
		size_t len;
		int i;

		if (!k || !visit(c, k))
			break;
		if (!tag_ok(k) || k->type != YAML_SCALAR_NODE) {
			node_err(c, k, "%s: expected a scalar key", where);
			continue;
		}
		key = (const char *)k->data.scalar.value;
		len = k->data.scalar.length;
		i = key_index(spec->keys, key, len);
		if (i >= 0 && slot[i]) {
			const yaml_node_t *first = node_at(c, slot[i]->key);

			node_err(c, k, "duplicate key '%s' %s %s (first at %u:%u)", key,
				 prep(where), where, LINE(first), COL(first));
		} else if (i >= 0) {
			slot[i] = p;
		} else if (key_index(spec->unsupported, key, len) >= 0) {
			node_err(c, k, "'%s' is not supported by this version", key);
		} else {
			node_err(c, k, "unknown key '%s' %s %s (expected %s)", show(key).s,
				 prep(where), where, spec->expected);
		}
	}
	return !c->stop;
}

static yaml_node_t *key_of(struct pctx *c, const yaml_node_pair_t *p)
{
	return node_at(c, p->key);
}

static yaml_node_t *value_of(struct pctx *c, const yaml_node_pair_t *p)
{
	return node_at(c, p->value);
}

typedef void (*item_fn)(struct pctx *c, yaml_node_t *item, const char *text, size_t tenant);

/* Walks a sequence of scalars, handing each valid one to FN. Returns the number of
 * items, or -1 (reported) when N is not a sequence. */
static long scalar_list(struct pctx *c, yaml_node_t *n, const char *where, item_fn fn,
			size_t tenant)
{
	yaml_node_item_t *it;
	char w[96];

	if (!expect(c, n, YAML_SEQUENCE_NODE, where))
		return -1;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top && !c->stop; it++) {
		yaml_node_t *item = node_at(c, *it);
		const char *s;

		snprintf(w, sizeof(w), "%s[%zu]", where,
			 (size_t)(it - n->data.sequence.items.start));
		s = scalar(c, item, w);
		if (s)
			fn(c, item, s, tenant);
	}
	return (long)seq_len(n);
}

/*
 * Building the configuration
 */

static bool need_grow(size_t n)
{
	return n == 0 || (n >= 4 && !(n & (n - 1)));
}

/* Arrays in struct tg_config carry no capacity: they grow at 0, 4, 8, 16... items. */
static void push_str(struct pctx *c, char ***arr, size_t *n, const char *s)
{
	char *dup;

	if (need_grow(*n)) {
		char **v = reallocarray(*arr, *n ? 2 * *n : 4, sizeof(*v));

		if (!v) {
			c->oom = true;
			return;
		}
		*arr = v;
	}
	dup = strdup(s);
	if (!dup) {
		c->oom = true;
		return;
	}
	(*arr)[(*n)++] = dup;
}

static bool sel_add(struct pctx *c, struct sel_set *set, const yaml_node_t *n, const char *text,
		    size_t tenant, const struct tg_cidr *cidr)
{
	struct sel_ref *r;

	if (set->n >= set->max) {
		if (!set->full)
			node_err(c, n, "too many %s: at most %zu", set->what, set->max);
		set->full = true;
		return false;
	}
	if (set->n == set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 16;
		struct sel_ref *v = reallocarray(set->v, cap, sizeof(*v));

		if (!v) {
			c->oom = true;
			return false;
		}
		set->v = v;
		set->cap = cap;
	}
	r = &set->v[set->n];
	memset(r, 0, sizeof(*r));
	r->text = text;
	r->tenant = tenant;
	r->seq = set->n++;
	r->line = LINE(n);
	r->col = COL(n);
	if (cidr)
		r->cidr = *cidr;
	return true;
}

/* Parses a CIDR; false with the reason in msg when it is not a network address. */
static bool cidr_problem(const char *s, struct tg_cidr *cidr, char *msg, size_t len)
{
	char fixed[64];
	unsigned maxlen;

	switch (cidr_parse(s, cidr, &maxlen)) {
	case V_OK:
		return true;
	case V_PREFIX:
		snprintf(msg, len, "invalid prefix length in '%s': expected 0 to %u", show(s).s,
			 maxlen);
		return false;
	case V_HOSTBITS:
		tg_format_cidr(cidr, fixed, sizeof(fixed));
		snprintf(msg, len, "host bits set in %s; did you mean %s?", show(s).s, fixed);
		return false;
	default:
		snprintf(msg, len,
			 "invalid CIDR '%s': expected an IPv4 or IPv6 address, optionally "
			 "with /LENGTH",
			 show(s).s);
		return false;
	}
}

/* Parses a CIDR selector; false (reported) when it is not a network address. */
static bool cidr_value(struct pctx *c, yaml_node_t *n, const char *s, struct tg_cidr *cidr)
{
	char msg[sizeof(c->d->v->msg)];

	if (cidr_problem(s, cidr, msg, sizeof(msg)))
		return true;
	node_err(c, n, "%s", msg);
	return false;
}

static void push_cidr(struct pctx *c, struct tg_cidr **arr, size_t *n, const struct tg_cidr *cidr)
{
	if (need_grow(*n)) {
		struct tg_cidr *v = reallocarray(*arr, *n ? 2 * *n : 4, sizeof(*v));

		if (!v) {
			c->oom = true;
			return;
		}
		*arr = v;
	}
	(*arr)[(*n)++] = *cidr;
}

static void add_cidr(struct pctx *c, yaml_node_t *n, const char *s, size_t tenant)
{
	struct tg_tenant_conf *t = &c->cfg.tenants[tenant];
	struct tg_cidr cidr;

	if (cidr_value(c, n, s, &cidr) &&
	    sel_add(c, cidr.family == AF_INET ? &c->cidr4 : &c->cidr6, n, s, tenant, &cidr))
		push_cidr(c, &t->cidrs, &t->n_cidrs, &cidr);
}

static bool check_iface(struct pctx *c, yaml_node_t *n, const char *s)
{
	if (iface_pattern_ok(s))
		return true;
	node_err(c, n,
		 "invalid interface '%s': expected a name or glob of 1 to 15 characters "
		 "without '/' or whitespace, not '.' or '..'",
		 show(s).s);
	return false;
}

static void add_iface(struct pctx *c, yaml_node_t *n, const char *s, size_t tenant)
{
	struct tg_tenant_conf *t = &c->cfg.tenants[tenant];

	if (check_iface(c, n, s) && sel_add(c, &c->ifaces, n, s, tenant, NULL))
		push_str(c, &t->interfaces, &t->n_interfaces, s);
}

static void add_cgroup(struct pctx *c, yaml_node_t *n, const char *s, size_t tenant)
{
	struct tg_tenant_conf *t = &c->cfg.tenants[tenant];

	if (!path_ok(s, true)) {
		node_err(c, n,
			 "invalid cgroup path '%s': expected an absolute path such as "
			 "/tenants/acme, without '.', '..' or empty components",
			 show(s).s);
		return;
	}
	if (sel_add(c, &c->cgroups, n, s, tenant, NULL))
		push_str(c, &t->cgroups, &t->n_cgroups, s);
}

static void add_uplink(struct pctx *c, yaml_node_t *n, const char *s, size_t tenant)
{
	if (check_iface(c, n, s) && sel_add(c, &c->uplinks, n, s, tenant, NULL))
		push_str(c, &c->cfg.uplinks, &c->cfg.n_uplinks, s);
}

/* Rates below 8kbit (1000 bytes per second) do not fit the kernel's fixed-point token
 * bucket (struct tg_rate). */
#define RATE_MIN 8000u
#define PPS_MAX 100000000u
#define BURST_MIN 1514u /* one full Ethernet frame without FCS */
#define DENY_ITEMS_MAX 65536u

static bool parse_rate(struct pctx *c, yaml_node_t *n, const char *where, uint64_t *out)
{
	const char *s = scalar(c, n, where);
	uint64_t v;

	if (!s)
		return false;
	switch (rate_parse(s, &v)) {
	case V_OK:
		if (v < RATE_MIN) {
			node_err(c, n,
				 "rate '%s' is too small: expected at least 8kbit (the kernel's "
				 "fixed-point token bucket needs it)",
				 show(s).s);
			return false;
		}
		*out = v;
		return true;
	case V_NOUNIT:
		node_err(c, n,
			 "rate '%s' has no unit: expected e.g. 100mbit (bits per second) or "
			 "100mbps (bytes per second)",
			 show(s).s);
		return false;
	case V_NONPOS:
		node_err(c, n, "rate '%s' must be greater than zero", show(s).s);
		return false;
	case V_RANGE:
		node_err(c, n, "rate '%s' is too large: expected at most 18446744073709551615bit",
			 show(s).s);
		return false;
	default:
		node_err(c, n,
			 "invalid rate '%s': expected a number and a unit (bit, kbit, mbit, "
			 "gbit, tbit, bps, kbps, mbps, gbps or tbps), e.g. 100mbit",
			 show(s).s);
		return false;
	}
}

static bool parse_size(struct pctx *c, yaml_node_t *n, const char *where, uint64_t *out)
{
	const char *s = scalar(c, n, where);

	if (!s)
		return false;
	switch (size_parse(s, out)) {
	case V_OK:
		return true;
	case V_NOUNIT:
		node_err(c, n, "size '%s' has no unit: expected e.g. 5MB or 256KiB", show(s).s);
		return false;
	case V_NONPOS:
		node_err(c, n, "size '%s' must be greater than zero", show(s).s);
		return false;
	case V_RANGE:
		node_err(c, n, "size '%s' is too large: expected at most 18446744073709551615B",
			 show(s).s);
		return false;
	default:
		node_err(c, n,
			 "invalid size '%s': expected a number and a unit (B, KB, MB, GB, TB, "
			 "KiB, MiB, GiB or TiB), e.g. 256KiB",
			 show(s).s);
		return false;
	}
}

static void parse_burst(struct pctx *c, yaml_node_t *n, const char *where, uint64_t *out)
{
	uint64_t v;

	if (!parse_size(c, n, where, &v))
		return;
	if (v < BURST_MIN) {
		node_err(c, n,
			 "burst '%s' is too small: expected at least 1514 bytes (one full frame "
			 "must fit)",
			 show((const char *)n->data.scalar.value).s);
		return;
	}
	*out = v;
}

static void parse_pps(struct pctx *c, yaml_node_t *n, const char *where, const char *key,
		      uint64_t *out)
{
	const char *s = scalar(c, n, where);
	uint64_t v;

	if (!s)
		return;
	if (!decimal_in(s, 1, PPS_MAX, &v)) {
		node_err(c, n,
			 "invalid %s '%s': expected packets per second, a decimal integer from 1 "
			 "to %u",
			 key, show(s).s, PPS_MAX);
		return;
	}
	*out = v;
}

static void parse_max_conn(struct pctx *c, yaml_node_t *n, const char *where, uint32_t *out)
{
	const char *s = scalar(c, n, where);
	uint64_t v;

	if (!s)
		return;
	if (!decimal_in(s, 1, MAX_CONNECTIONS, &v)) {
		node_err(c, n,
			 "invalid max_connections '%s': expected a decimal integer from 1 to %u",
			 show(s).s, MAX_CONNECTIONS);
		return;
	}
	*out = (uint32_t)v;
}

enum { LK_ERATE, LK_IRATE, LK_EBURST, LK_IBURST, LK_EPPS, LK_IPPS, LK_MAXCONN, LK_MAX };
static const char *const limit_keys[] = { "egress_rate",     "ingress_rate",
					  "egress_burst",    "ingress_burst",
					  "egress_pps",	     "ingress_pps",
					  "max_connections", NULL };
static const struct keyspec limit_spec = {
	limit_keys, NULL,
	"egress_rate, ingress_rate, egress_burst, ingress_burst, egress_pps, ingress_pps or "
	"max_connections"
};

static void parse_limits(struct pctx *c, size_t tenant, const yaml_node_pair_t *pair,
			 const char *twhere, bool has_cgroups)
{
	struct tg_tenant_conf *t = &c->cfg.tenants[tenant];
	yaml_node_pair_t *slot[LK_MAX] = { NULL };
	struct tg_limits *l = &t->limits;
	char where[64], w[96];
	int k;

	snprintf(where, sizeof(where), "%s.limits", twhere);
	if (!map_collect(c, value_of(c, pair), where, &limit_spec, slot))
		return;
	t->has_limits = true;
	for (k = 0; k < LK_MAX; k++) {
		yaml_node_t *v;

		if (!slot[k])
			continue;
		v = value_of(c, slot[k]);
		snprintf(w, sizeof(w), "%s.%s", where, limit_keys[k]);
		switch (k) {
		case LK_ERATE:
			parse_rate(c, v, w, &l->egress_rate);
			break;
		case LK_IRATE:
			parse_rate(c, v, w, &l->ingress_rate);
			break;
		case LK_EBURST:
			parse_burst(c, v, w, &l->egress_burst);
			break;
		case LK_IBURST:
			parse_burst(c, v, w, &l->ingress_burst);
			break;
		case LK_EPPS:
			parse_pps(c, v, w, limit_keys[k], &l->egress_pps);
			break;
		case LK_IPPS:
			parse_pps(c, v, w, limit_keys[k], &l->ingress_pps);
			break;
		default:
			parse_max_conn(c, v, w, &l->max_connections);
			break;
		}
	}
	if (slot[LK_EBURST] && !slot[LK_ERATE])
		node_err(c, key_of(c, slot[LK_EBURST]),
			 "egress_burst needs egress_rate: a burst belongs to a rate");
	if (slot[LK_IBURST] && !slot[LK_IRATE])
		node_err(c, key_of(c, slot[LK_IBURST]),
			 "ingress_burst needs ingress_rate: a burst belongs to a rate");
	if (slot[LK_MAXCONN] && !has_cgroups)
		node_warn(c, key_of(c, slot[LK_MAXCONN]),
			  "max_connections is enforced only for the tenant's cgroups; this tenant "
			  "has none");
}

/*
 * Deny lists: a CIDR, or {cidr, proto, ports}. Checked per list once it is read.
 */

struct deny_item {
	struct tg_deny_conf r;
	unsigned line, col;
	size_t seq;
	bool dup;
};

struct deny_list {
	struct deny_item *v;
	size_t n, cap;
};

static const struct {
	const char *name;
	uint8_t proto;
} proto_names[] = {
	{ "any", 0 },
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
	{ "icmp", IPPROTO_ICMP },
	{ "icmpv6", IPPROTO_ICMPV6 },
};

static bool parse_proto(struct pctx *c, yaml_node_t *n, const char *where, uint8_t *out)
{
	const char *s = scalar(c, n, where);
	uint64_t v;
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		if (!strcmp(s, proto_names[i].name)) {
			*out = proto_names[i].proto;
			return true;
		}
	}
	if (decimal_in(s, 0, 255, &v)) {
		*out = (uint8_t)v;
		return true;
	}
	node_err(c, n,
		 "invalid proto '%s': expected tcp, udp, icmp, icmpv6, any or a protocol number "
		 "from 0 to 255",
		 show(s).s);
	return false;
}

/* "N" or "N-M", 1 <= N <= M <= 65535. */
static bool ports_parse(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash = strchr(s, '-');
	char a[8];
	uint64_t x, y;
	size_t alen = dash ? (size_t)(dash - s) : strlen(s);

	if (alen >= sizeof(a))
		return false;
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (!decimal_in(a, 1, 65535, &x))
		return false;
	y = x;
	if (dash && (!decimal_in(dash + 1, 1, 65535, &y) || y < x))
		return false;
	*lo = (uint16_t)x;
	*hi = (uint16_t)y;
	return true;
}

/* The proto and ports keys of a deny rule or a guard rule (either may be absent: any);
 * false when one is invalid (reported). */
static bool parse_l4(struct pctx *c, const yaml_node_pair_t *proto, const yaml_node_pair_t *ports,
		     const char *where, uint8_t *p, uint16_t *lo, uint16_t *hi)
{
	bool ok = true, has_ports = false;
	const char *s;
	yaml_node_t *v;
	char w[128];

	if (proto) {
		snprintf(w, sizeof(w), "%s.proto", where);
		ok &= parse_proto(c, value_of(c, proto), w, p);
	}
	if (ports) {
		snprintf(w, sizeof(w), "%s.ports", where);
		v = value_of(c, ports);
		s = scalar(c, v, w);
		if (s && ports_parse(s, lo, hi)) {
			has_ports = true;
		} else {
			if (s)
				node_err(c, v,
					 "invalid ports '%s': expected a port from 1 to 65535 or a "
					 "range N-M with N <= M",
					 show(s).s);
			ok = false;
		}
	}
	if (has_ports && proto && *p != IPPROTO_TCP && *p != IPPROTO_UDP) {
		node_err(c, key_of(c, ports), "ports apply only to proto tcp or udp");
		ok = false;
	} else if (has_ports && !proto) {
		node_err(c, key_of(c, ports), "ports apply only to proto tcp or udp: give proto");
		ok = false;
	}
	return ok;
}

enum { DK_CIDR, DK_PROTO, DK_PORTS, DK_MAX };
static const char *const deny_keys[] = { "cidr", "proto", "ports", NULL };
static const struct keyspec deny_spec = { deny_keys, NULL, "cidr, proto or ports" };

/* One item; false when it is not valid (reported). */
static bool parse_deny_item(struct pctx *c, yaml_node_t *n, const char *where,
			    struct tg_deny_conf *r)
{
	yaml_node_pair_t *slot[DK_MAX] = { NULL };
	bool ok = true;
	char w[128];
	const char *s;
	yaml_node_t *v;

	memset(r, 0, sizeof(*r));
	r->port_hi = 65535;
	if (n->type == YAML_SCALAR_NODE) {
		s = scalar(c, n, where);
		return s && cidr_value(c, n, s, &r->cidr);
	}
	if (n->type != YAML_MAPPING_NODE) {
		if (visit(c, n))
			node_err(c, n,
				 "%s: expected a CIDR or a mapping with cidr and optionally proto "
				 "and ports",
				 where);
		return false;
	}
	if (!map_collect(c, n, where, &deny_spec, slot))
		return false;
	if (slot[DK_CIDR]) {
		snprintf(w, sizeof(w), "%s.cidr", where);
		v = value_of(c, slot[DK_CIDR]);
		s = scalar(c, v, w);
		ok &= s && cidr_value(c, v, s, &r->cidr);
	} else {
		node_err(c, n, "missing key 'cidr' in %s", where);
		ok = false;
	}
	return parse_l4(c, slot[DK_PROTO], slot[DK_PORTS], where, &r->proto, &r->port_lo,
			&r->port_hi) &&
	       ok;
}

static int deny_item_cmp(const void *pa, const void *pb)
{
	const struct deny_item *a = pa, *b = pb;
	int r;

	if (a->r.cidr.family != b->r.cidr.family)
		return a->r.cidr.family < b->r.cidr.family ? -1 : 1;
	r = memcmp(a->r.cidr.addr, b->r.cidr.addr, sizeof(a->r.cidr.addr));
	if (r)
		return r;
	if (a->r.cidr.prefixlen != b->r.cidr.prefixlen)
		return a->r.cidr.prefixlen < b->r.cidr.prefixlen ? -1 : 1;
	if (a->r.proto != b->r.proto)
		return a->r.proto < b->r.proto ? -1 : 1;
	if (a->r.port_lo != b->r.port_lo)
		return a->r.port_lo < b->r.port_lo ? -1 : 1;
	if (a->r.port_hi != b->r.port_hi)
		return a->r.port_hi < b->r.port_hi ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int seq_cmp(const void *pa, const void *pb)
{
	const struct deny_item *const *a = pa, *const *b = pb;

	return (*a)->seq < (*b)->seq ? -1 : (*a)->seq > (*b)->seq;
}

static bool deny_cidr_same(const struct tg_cidr *a, const struct tg_cidr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool deny_same(const struct tg_deny_conf *a, const struct tg_deny_conf *b)
{
	return deny_cidr_same(&a->cidr, &b->cidr) && a->proto == b->proto &&
	       a->port_lo == b->port_lo && a->port_hi == b->port_hi;
}

/* Identical rules: a warning, kept once. More than TG_DENY_RULES distinct rules on one
 * prefix: an error at the first one too many, in file order. */
static void check_deny_list(struct pctx *c, struct deny_list *l, const char *where)
{
	struct deny_item **first = NULL;
	size_t i, j, k, m;
	char buf[64];

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), deny_item_cmp);
	for (i = 0; i < l->n; i = j) {
		for (j = i + 1; j < l->n && deny_cidr_same(&l->v[j].r.cidr, &l->v[i].r.cidr); j++)
			;
		for (k = i + 1, m = 1; k < j; k++) {
			struct deny_item *e = &l->v[k];
			size_t f = k;

			while (f > i && deny_same(&l->v[f - 1].r, &e->r))
				f--;
			if (f == k) {
				m++;
				continue;
			}
			e->dup = true;
			warn_lc(c, e->line, e->col, "duplicate deny rule in %s (first at %u:%u)",
				where, l->v[f].line, l->v[f].col);
		}
		if (m <= TG_DENY_RULES)
			continue;
		/* the distinct rules in file order: the (TG_DENY_RULES + 1)th is one too many */
		first = calloc(m, sizeof(*first));
		if (!first) {
			c->oom = true;
			return;
		}
		for (k = i, m = 0; k < j; k++)
			if (!l->v[k].dup)
				first[m++] = &l->v[k];
		qsort(first, m, sizeof(*first), seq_cmp);
		tg_format_cidr(&first[0]->r.cidr, buf, sizeof(buf));
		diag_lc(c, first[TG_DENY_RULES]->line, first[TG_DENY_RULES]->col,
			"more than %d deny rules for %s in %s: the kernel keeps at most %d rules "
			"per prefix",
			TG_DENY_RULES, buf, where, TG_DENY_RULES);
		free(first);
	}
}

static int item_seq_cmp(const void *pa, const void *pb)
{
	const struct deny_item *a = pa, *b = pb;

	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* A deny list into *OUT (file order, duplicates dropped). */
static void parse_deny_list(struct pctx *c, yaml_node_t *n, const char *where,
			    struct tg_deny_conf **out, size_t *n_out)
{
	struct deny_list l = { 0 };
	yaml_node_item_t *it;
	size_t i, k;
	char w[96];

	if (!expect(c, n, YAML_SEQUENCE_NODE, where))
		return;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top && !c->stop; it++) {
		yaml_node_t *item = node_at(c, *it);
		struct tg_deny_conf r;

		i = (size_t)(it - n->data.sequence.items.start);
		if (!item)
			continue;
		if (i == DENY_ITEMS_MAX) {
			node_err(c, item, "too many deny rules in %s: at most %u", where,
				 DENY_ITEMS_MAX);
			break;
		}
		snprintf(w, sizeof(w), "%s[%zu]", where, i);
		if (!parse_deny_item(c, item, w, &r))
			continue;
		if (l.n == l.cap) {
			size_t cap = l.cap ? 2 * l.cap : 16;
			struct deny_item *v = reallocarray(l.v, cap, sizeof(*v));

			if (!v) {
				c->oom = true;
				break;
			}
			l.v = v;
			l.cap = cap;
		}
		l.v[l.n++] = (struct deny_item){ r, LINE(item), COL(item), i, false };
	}
	check_deny_list(c, &l, where);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), item_seq_cmp);
	*out = l.n ? calloc(l.n, sizeof(**out)) : NULL;
	if (l.n && !*out)
		c->oom = true;
	for (i = 0, k = 0; *out && i < l.n; i++)
		if (!l.v[i].dup)
			(*out)[k++] = l.v[i].r;
	*n_out = k;
	free(l.v);
	if (k) {
		/* Nested prefixes share rules in the kernel (each carries those of the
		 * prefixes covering it): the list must fit once compiled, too. */
		char msg[200];

		if (tg_deny_check(where, *out, k, msg, sizeof(msg)) == -E2BIG)
			node_err(c, n, "%s", msg);
	}
}

static void add_allow(struct pctx *c, yaml_node_t *n, const char *s, size_t tenant)
{
	struct tg_tenant_conf *t = &c->cfg.tenants[tenant];

	if (!tg_tenant_name_valid(s)) {
		node_err(c, n, "unknown tenant '%s' in allow_tenants", show(s).s);
		return;
	}
	if (sel_add(c, &c->allows, n, s, tenant, NULL))
		push_str(c, &t->allow_tenants, &t->n_allow_tenants, s);
}

static void parse_raw_sockets(struct pctx *c, size_t tenant, const yaml_node_pair_t *pair,
			      const char *twhere, bool has_cgroups)
{
	yaml_node_t *v = value_of(c, pair);
	char where[64];
	const char *s;

	snprintf(where, sizeof(where), "%s.raw_sockets", twhere);
	s = scalar(c, v, where);
	if (!s)
		return;
	if (!strcmp(s, "allow"))
		return;
	if (strcmp(s, "deny")) {
		node_err(c, v, "invalid raw_sockets '%s': expected allow or deny", show(s).s);
		return;
	}
	if (!has_cgroups) {
		node_err(c, v,
			 "raw_sockets: deny needs cgroups: sockets are refused by a cgroup hook");
		return;
	}
	c->cfg.tenants[tenant].raw_sockets_denied = true;
}

/* S among NAMES (NULL-terminated): its index plus BASE, or -1. */
static int word_index(const char *s, const char *const *names, int base)
{
	int i;

	for (i = 0; names[i]; i++)
		if (!strcmp(s, names[i]))
			return i + base;
	return -1;
}

static int parse_word(struct pctx *c, yaml_node_t *n, const char *where, const char *key,
		      const char *const *names, int base, const char *expected)
{
	const char *s = scalar(c, n, where);
	int i;

	if (!s)
		return -1;
	i = word_index(s, names, base);
	if (i < 0)
		node_err(c, n, "invalid %s '%s': expected %s", key, show(s).s, expected);
	return i;
}

enum { QK_BYTES, QK_PERIOD, QK_ACTION, QK_THROTTLE, QK_DIRECTION, QK_MAX };
static const char *const quota_keys[] = { "bytes",	   "period",	"action",
					  "throttle_rate", "direction", NULL };
static const struct keyspec quota_spec = { quota_keys, NULL,
					   "bytes, period, action, throttle_rate or direction" };
static const char *const period_names[] = { "hourly", "daily", "weekly", "monthly", NULL };
static const char *const action_names[] = { "alert", "throttle", "block", NULL };
static const char *const direction_names[] = { "both", "ingress", "egress", NULL };

static void parse_quota(struct pctx *c, size_t tenant, const yaml_node_pair_t *pair,
			const char *twhere)
{
	struct tg_quota_conf *q = &c->cfg.tenants[tenant].quota;
	yaml_node_pair_t *slot[QK_MAX] = { NULL };
	yaml_node_t *n = value_of(c, pair);
	char where[64], w[96];
	int v;

	snprintf(where, sizeof(where), "%s.quota", twhere);
	if (!map_collect(c, n, where, &quota_spec, slot))
		return;
	q->period = TG_PERIOD_MONTHLY;
	q->action = TG_QUOTA_ALERT;
	q->ingress = q->egress = true;
	if (slot[QK_BYTES]) {
		snprintf(w, sizeof(w), "%s.bytes", where);
		parse_size(c, value_of(c, slot[QK_BYTES]), w, &q->bytes);
	} else {
		node_err(c, n, "missing key 'bytes' in %s", where);
	}
	if (slot[QK_PERIOD]) {
		snprintf(w, sizeof(w), "%s.period", where);
		v = parse_word(c, value_of(c, slot[QK_PERIOD]), w, "period", period_names,
			       TG_PERIOD_HOURLY, "hourly, daily, weekly or monthly");
		if (v > 0)
			q->period = v;
	}
	if (slot[QK_ACTION]) {
		snprintf(w, sizeof(w), "%s.action", where);
		v = parse_word(c, value_of(c, slot[QK_ACTION]), w, "action", action_names,
			       TG_QUOTA_ALERT, "alert, throttle or block");
		if (v > 0)
			q->action = v;
		else
			q->action = 0; /* unknown: neither demand nor refuse throttle_rate */
	}
	if (q->action == TG_QUOTA_THROTTLE && !slot[QK_THROTTLE])
		node_err(c, n, "missing key 'throttle_rate' in %s: action throttle needs it",
			 where);
	if (slot[QK_THROTTLE] && q->action == TG_QUOTA_THROTTLE) {
		snprintf(w, sizeof(w), "%s.throttle_rate", where);
		parse_rate(c, value_of(c, slot[QK_THROTTLE]), w, &q->throttle_rate);
	} else if (slot[QK_THROTTLE] && q->action) {
		node_err(c, key_of(c, slot[QK_THROTTLE]),
			 "throttle_rate applies only to action throttle");
	}
	if (slot[QK_DIRECTION]) {
		snprintf(w, sizeof(w), "%s.direction", where);
		v = parse_word(c, value_of(c, slot[QK_DIRECTION]), w, "direction", direction_names,
			       0, "both, ingress or egress");
		q->ingress = v == 0 || v == 1;
		q->egress = v == 0 || v == 2;
	}
}

static void parse_tenant_name(struct pctx *c, size_t tenant, yaml_node_t *n, const char *twhere)
{
	struct tenant_meta *m = &c->meta[tenant];
	char where[64];
	const char *s;

	snprintf(where, sizeof(where), "%s.name", twhere);
	s = scalar(c, n, where);
	if (!s)
		return;
	if (!tg_tenant_name_valid(s)) {
		node_err(c, n,
			 "invalid tenant name '%s': expected 1 to %d characters of a-z, 0-9, "
			 "'.', '_' and '-', starting with a letter or digit",
			 show(s).s, TG_NAME_MAX - 1);
		return;
	}
	snprintf(c->cfg.tenants[tenant].name, TG_NAME_MAX, "%s", s);
	snprintf(m->label, sizeof(m->label), "tenant '%s'", s);
	m->named = true;
	m->name_line = LINE(n);
	m->name_col = COL(n);
}

enum {
	TK_NAME,
	TK_CIDRS,
	TK_IFACES,
	TK_CGROUPS,
	TK_LIMITS,
	TK_DENY,
	TK_ALLOW,
	TK_RAW,
	TK_QUOTA,
	TK_MAX
};
static const char *const tenant_keys[] = { "name",   "cidrs", "interfaces",    "cgroups",
					   "limits", "deny",  "allow_tenants", "raw_sockets",
					   "quota",  NULL };
static const struct keyspec tenant_spec = {
	tenant_keys, NULL,
	"name, cidrs, interfaces, cgroups, limits, deny, allow_tenants, raw_sockets or quota"
};

/* A sequence with items selects something; a broken one was reported already and must
 * not draw a second error about selecting nothing. */
static bool selector_list(struct pctx *c, const yaml_node_pair_t *pair, const char *twhere,
			  const char *key, item_fn fn, size_t tenant)
{
	char where[64];

	snprintf(where, sizeof(where), "%s.%s", twhere, key);
	return scalar_list(c, value_of(c, pair), where, fn, tenant) != 0;
}

static void parse_tenant(struct pctx *c, yaml_node_t *n, size_t i)
{
	yaml_node_pair_t *slot[TK_MAX] = { NULL };
	struct tenant_meta *m = &c->meta[i];
	bool selects = false, cgroups = false;
	char where[32], w[48];

	snprintf(where, sizeof(where), "tenants[%zu]", i);
	snprintf(m->label, sizeof(m->label), "%s", where);
	if (!map_collect(c, n, where, &tenant_spec, slot))
		return;
	if (slot[TK_NAME])
		parse_tenant_name(c, i, value_of(c, slot[TK_NAME]), where);
	else
		node_err(c, n, "missing key 'name' in %s", where);
	if (slot[TK_CIDRS])
		selects |= selector_list(c, slot[TK_CIDRS], where, "cidrs", add_cidr, i);
	if (slot[TK_IFACES])
		selects |= selector_list(c, slot[TK_IFACES], where, "interfaces", add_iface, i);
	if (slot[TK_CGROUPS]) {
		node_warn(c, key_of(c, slot[TK_CGROUPS]),
			  "cgroup selectors are enforced (caps, deny lists, connection caps, raw "
			  "sockets) but not metered by this version");
		cgroups = selector_list(c, slot[TK_CGROUPS], where, "cgroups", add_cgroup, i);
		selects |= cgroups;
	}
	if (slot[TK_LIMITS])
		parse_limits(c, i, slot[TK_LIMITS], where, cgroups);
	if (slot[TK_DENY]) {
		snprintf(w, sizeof(w), "%s.deny", where);
		parse_deny_list(c, value_of(c, slot[TK_DENY]), w, &c->cfg.tenants[i].deny,
				&c->cfg.tenants[i].n_deny);
	}
	if (slot[TK_ALLOW]) {
		snprintf(w, sizeof(w), "%s.allow_tenants", where);
		scalar_list(c, value_of(c, slot[TK_ALLOW]), w, add_allow, i);
	}
	if (slot[TK_RAW])
		parse_raw_sockets(c, i, slot[TK_RAW], where, cgroups);
	if (slot[TK_QUOTA])
		parse_quota(c, i, slot[TK_QUOTA], where);
	if (!selects && !c->stop)
		node_err(c, n, "%s selects no traffic: give cidrs, interfaces or cgroups",
			 m->label);
}

static void parse_tenants(struct pctx *c, yaml_node_t *n)
{
	yaml_node_item_t *it;
	size_t count, cap, i;

	if (!expect(c, n, YAML_SEQUENCE_NODE, "tenants"))
		return;
	count = seq_len(n);
	if (!count) {
		node_err(c, n, "tenants: expected at least one tenant");
		return;
	}
	cap = count < MAX_TENANTS ? count : MAX_TENANTS;
	c->cfg.tenants = calloc(cap, sizeof(*c->cfg.tenants));
	c->meta = calloc(cap, sizeof(*c->meta));
	if (!c->cfg.tenants || !c->meta) {
		c->oom = true;
		return;
	}
	for (it = n->data.sequence.items.start, i = 0; it < n->data.sequence.items.top && !c->stop;
	     it++, i++) {
		yaml_node_t *t = node_at(c, *it);

		if (i == cap) {
			if (t)
				node_err(c, t, "too many tenants: at most %zu", cap);
			break;
		}
		c->cfg.n_tenants = i + 1;
		parse_tenant(c, t, i);
	}
}

static void parse_class_name(struct pctx *c, size_t i, yaml_node_t *n, const char *cwhere)
{
	struct tenant_meta *m = &c->cmeta[i];
	char where[64];
	const char *s;
	size_t j;

	snprintf(where, sizeof(where), "%s.name", cwhere);
	s = scalar(c, n, where);
	if (!s)
		return;
	if (!strcmp(s, "internet")) {
		node_err(c, n,
			 "`internet` is the default class and cannot be configured; list the "
			 "other classes");
		return;
	}
	if (!class_name_valid(s)) {
		node_err(c, n,
			 "invalid class name '%s': expected 1 to %d characters of a-z, 0-9, '_' "
			 "and '-', starting with a letter or digit",
			 show(s).s, TG_CLASS_NAME_MAX - 1);
		return;
	}
	for (j = 0; j < i; j++) {
		if (c->cmeta[j].named && !strcmp(c->cfg.classes[j].name, s)) {
			node_err(c, n, "duplicate class name '%s' (first defined at %u:%u)", s,
				 c->cmeta[j].name_line, c->cmeta[j].name_col);
			return;
		}
	}
	snprintf(c->cfg.classes[i].name, TG_CLASS_NAME_MAX, "%s", s);
	snprintf(m->label, sizeof(m->label), "class '%s'", s);
	m->named = true;
	m->name_line = LINE(n);
	m->name_col = COL(n);
}

static void add_class_cidr(struct pctx *c, yaml_node_t *n, const char *s, size_t cls)
{
	struct tg_class_conf *k = &c->cfg.classes[cls];
	struct tg_cidr cidr;

	if (cidr_value(c, n, s, &cidr) &&
	    sel_add(c, cidr.family == AF_INET ? &c->class4 : &c->class6, n, s, cls, &cidr))
		push_cidr(c, &k->cidrs, &k->n_cidrs, &cidr);
}

enum { CK_NAME, CK_CIDRS, CK_MAX };
static const char *const class_keys[] = { "name", "cidrs", NULL };
static const struct keyspec class_spec = { class_keys, NULL, "name or cidrs" };

static void parse_class(struct pctx *c, yaml_node_t *n, size_t i)
{
	yaml_node_pair_t *slot[CK_MAX] = { NULL };
	struct tenant_meta *m = &c->cmeta[i];
	char where[32], w[48];
	yaml_node_t *v;

	snprintf(where, sizeof(where), "classes[%zu]", i);
	snprintf(m->label, sizeof(m->label), "%s", where);
	if (!map_collect(c, n, where, &class_spec, slot))
		return;
	if (slot[CK_NAME])
		parse_class_name(c, i, value_of(c, slot[CK_NAME]), where);
	else
		node_err(c, n, "missing key 'name' in %s", where);
	if (!slot[CK_CIDRS]) {
		node_err(c, n, "missing key 'cidrs' in %s", where);
		return;
	}
	v = value_of(c, slot[CK_CIDRS]);
	snprintf(w, sizeof(w), "%s.cidrs", where);
	if (!scalar_list(c, v, w, add_class_cidr, i) && !c->stop)
		node_err(c, v, "%s has no CIDRs: expected at least one", m->label);
}

/* No classes at all is fine: then everything is `internet`. */
static void parse_classes(struct pctx *c, yaml_node_t *n)
{
	yaml_node_item_t *it;
	size_t count, cap, i;

	if (!expect(c, n, YAML_SEQUENCE_NODE, "classes"))
		return;
	count = seq_len(n);
	if (!count)
		return;
	cap = count < MAX_CLASSES ? count : MAX_CLASSES;
	c->cfg.classes = calloc(cap, sizeof(*c->cfg.classes));
	if (!c->cfg.classes) {
		c->oom = true;
		return;
	}
	for (it = n->data.sequence.items.start, i = 0; it < n->data.sequence.items.top && !c->stop;
	     it++, i++) {
		yaml_node_t *k = node_at(c, *it);

		if (i == cap) {
			if (k)
				node_err(c, k,
					 "too many classes: at most %d besides the default class "
					 "`internet`",
					 MAX_CLASSES);
			break;
		}
		c->cfg.n_classes = i + 1;
		parse_class(c, k, i);
	}
}

static const char *const node_keys[] = { "name", NULL };
static const struct keyspec node_spec = { node_keys, NULL, "name" };

static void parse_node(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *slot[1] = { NULL };
	yaml_node_t *v;
	const char *s;

	if (!map_collect(c, n, "node", &node_spec, slot) || !slot[0])
		return;
	v = value_of(c, slot[0]);
	s = scalar(c, v, "node.name");
	if (!s)
		return;
	if (!node_name_valid(s)) {
		node_err(c, v,
			 "invalid node name '%s': expected 1 to 63 characters of A-Z, a-z, "
			 "0-9, '.', '_' and '-'",
			 show(s).s);
		return;
	}
	snprintf(c->cfg.node, sizeof(c->cfg.node), "%s", s);
}

/* A duration in milliseconds; false (reported) when it is none. MAX_TEXT is the largest
 * value the caller accepts, for the message about overflows. */
static bool duration_value(struct pctx *c, yaml_node_t *n, const char *where, const char *max_text,
			   uint64_t *ms)
{
	const char *s = scalar(c, n, where);

	if (!s)
		return false;
	switch (duration_parse(s, ms)) {
	case V_OK:
		return true;
	case V_NOUNIT:
		node_err(c, n, "duration '%s' has no unit: expected ms, s, m, h or d, e.g. 60s",
			 show(s).s);
		return false;
	case V_RANGE:
		node_err(c, n, "duration '%s' is too large: expected at most %s", show(s).s,
			 max_text);
		return false;
	default:
		node_err(c, n,
			 "invalid duration '%s': expected an integer and a unit (ms, s, m, h "
			 "or d), e.g. 60s",
			 show(s).s);
		return false;
	}
}

/* A duration of whole seconds from 1s to MAX_SEC (written MAX_TEXT in messages). */
static bool parse_seconds(struct pctx *c, yaml_node_t *n, const char *where, uint64_t max_sec,
			  const char *max_text, uint32_t *out)
{
	const char *s;
	uint64_t ms;

	if (!duration_value(c, n, where, max_text, &ms))
		return false;
	s = (const char *)n->data.scalar.value;
	if (ms % 1000 || ms < 1000 || ms / 1000 > max_sec) {
		node_err(c, n, "%s '%s' must be whole seconds from 1s to %s", where, show(s).s,
			 max_text);
		return false;
	}
	*out = (uint32_t)(ms / 1000);
	return true;
}

static void parse_interval(struct pctx *c, yaml_node_t *n)
{
	uint32_t sec;

	if (!parse_seconds(c, n, "billing.interval", DAY_SEC, "24h", &sec))
		return;
	if (DAY_SEC % sec) {
		node_err(c, n,
			 "billing.interval must divide 24h evenly, '%s' does not (e.g. 60s, "
			 "5m, 15m, 1h)",
			 show((const char *)n->data.scalar.value).s);
		return;
	}
	c->cfg.interval = sec;
}

/* Length of an URI scheme ("sqlite:" -> 6), 0 when S does not start with one. */
static size_t scheme_len(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while (s[i] && s[i] != ':' && s[i] != '/')
		i++;
	return s[i] == ':' ? i : 0;
}

static void parse_store(struct pctx *c, yaml_node_t *n)
{
	const char *s = scalar(c, n, "billing.store"), *path;
	size_t sl;

	if (!s)
		return;
	if (!strncmp(s, "postgresql:", 11) || !strncmp(s, "postgres:", 9)) {
		char why[256];

		if (strlen(s) > 511) { /* what the CLI keeps of it (struct tg_paths) */
			node_err(c, n, "billing.store: the URL is longer than 511 bytes");
			return;
		}
		if (tg_pg_url_check(s, why, sizeof(why))) {
			/* the message never shows the URL: it may hold a password */
			node_err(c, n, "billing.store: %s", why);
			return;
		}
		free(c->cfg.store_path);
		c->cfg.store_path = strdup(s);
		if (!c->cfg.store_path)
			c->oom = true;
		return;
	}
	sl = scheme_len(s);
	if (sl && (sl != 6 || strncmp(s, "sqlite", 6))) {
		node_err(c, n,
			 "unsupported store '%s': expected sqlite:/absolute/path or "
			 "/absolute/path",
			 show(s).s);
		return;
	}
	path = sl ? s + sl + 1 : s;
	if (!path_ok(path, false)) {
		node_err(c, n,
			 "invalid store '%s': expected sqlite:/absolute/path or /absolute/path",
			 show(s).s);
		return;
	}
	free(c->cfg.store_path);
	c->cfg.store_path = strdup(path);
	if (!c->cfg.store_path)
		c->oom = true;
}

/* Where a PostgreSQL store's spool files go (docs/billing.md): an absolute directory. */
static void parse_spool_dir(struct pctx *c, yaml_node_t *n)
{
	const char *s = scalar(c, n, "billing.spool_dir");

	if (!s)
		return;
	if (!path_ok(s, false)) {
		node_err(c, n,
			 "invalid billing.spool_dir '%s': expected an absolute, canonical "
			 "directory path",
			 show(s).s);
		return;
	}
	free(c->cfg.spool_dir);
	c->cfg.spool_dir = strdup(s);
	if (!c->cfg.spool_dir)
		c->oom = true;
}

static const char *const billing_keys[] = { "interval", "store", "spool_dir", NULL };
static const struct keyspec billing_spec = { billing_keys, NULL, "interval, store or spool_dir" };

static void parse_billing(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *slot[3] = { NULL };

	if (!map_collect(c, n, "billing", &billing_spec, slot))
		return;
	if (slot[0])
		parse_interval(c, value_of(c, slot[0]));
	if (slot[1])
		parse_store(c, value_of(c, slot[1]));
	if (slot[2])
		parse_spool_dir(c, value_of(c, slot[2]));
}

static const char *const flows_keys[] = { "capacity", "idle_timeout", NULL };
static const struct keyspec flows_spec = { flows_keys, NULL, "capacity or idle_timeout" };

static void parse_flows(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *slot[2] = { NULL };
	yaml_node_t *v;
	const char *s;
	uint64_t cap;

	if (!map_collect(c, n, "flows", &flows_spec, slot))
		return;
	if (slot[0]) {
		v = value_of(c, slot[0]);
		s = scalar(c, v, "flows.capacity");
		if (s && decimal_in(s, FLOWS_MIN, FLOWS_MAX, &cap))
			c->cfg.flows.capacity = (uint32_t)cap;
		else if (s)
			node_err(c, v,
				 "invalid flows.capacity '%s': expected a decimal integer from %u "
				 "to %u",
				 show(s).s, FLOWS_MIN, FLOWS_MAX);
	}
	if (slot[1])
		parse_seconds(c, value_of(c, slot[1]), "flows.idle_timeout", DAY_SEC, "24h",
			      &c->cfg.flows.idle_timeout);
}

static void set_str(struct pctx *c, char **dst, const char *s)
{
	free(*dst);
	*dst = strdup(s);
	if (!*dst)
		c->oom = true;
}

static const char *const agent_keys[] = { "pin_path", "run_dir", NULL };
static const struct keyspec agent_spec = { agent_keys, NULL, "pin_path or run_dir" };

static void parse_agent(struct pctx *c, yaml_node_t *n)
{
	static const char bpffs[] = "/sys/fs/bpf/";
	yaml_node_pair_t *slot[2] = { NULL };
	yaml_node_t *v;
	const char *s;

	if (!map_collect(c, n, "agent", &agent_spec, slot))
		return;
	if (slot[0]) {
		v = value_of(c, slot[0]);
		s = scalar(c, v, "agent.pin_path");
		if (s && path_ok(s, false) && !strncmp(s, bpffs, strlen(bpffs)))
			set_str(c, &c->cfg.pin_path, s);
		else if (s)
			node_err(c, v,
				 "invalid agent.pin_path '%s': expected a directory under "
				 "/sys/fs/bpf/, e.g. %s",
				 show(s).s, TG_DEFAULT_PIN_PATH);
	}
	if (slot[1]) {
		v = value_of(c, slot[1]);
		s = scalar(c, v, "agent.run_dir");
		if (s && path_ok(s, false))
			set_str(c, &c->cfg.run_dir, s);
		else if (s)
			node_err(c, v,
				 "invalid agent.run_dir '%s': expected an absolute path, e.g. %s",
				 show(s).s, TG_DEFAULT_RUN_DIR);
	}
}

static void parse_collector(struct pctx *c, yaml_node_t *n)
{
	const char *s = scalar(c, n, "outputs.ipfix.collector");
	char host[256], port[8];

	if (!s)
		return;
	switch (collector_parse(s, host, sizeof(host), port, sizeof(port))) {
	case V_OK:
		break;
	case V_RANGE:
		node_err(c, n,
			 "invalid port in outputs.ipfix.collector '%s': expected a decimal integer "
			 "from 1 to 65535",
			 show(s).s);
		return;
	default:
		node_err(c, n,
			 "invalid outputs.ipfix.collector '%s': expected HOST:PORT, e.g. "
			 "192.0.2.10:4739, [2001:db8::10]:4739 or collector.example:4739",
			 show(s).s);
		return;
	}
	set_str(c, &c->cfg.ipfix.host, host);
	set_str(c, &c->cfg.ipfix.port, port);
}

enum { IK_COLLECTOR, IK_INTERVAL, IK_DOMAIN, IK_TRANSPORT, IK_MAX };
static const char *const ipfix_keys[] = { "collector", "interval", "observation_domain",
					  "transport", NULL };
static const struct keyspec ipfix_spec = { ipfix_keys, NULL,
					   "collector, interval, observation_domain or transport" };

static void parse_ipfix(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *slot[IK_MAX] = { NULL };
	yaml_node_t *v;
	const char *s;
	uint64_t dom;

	if (!map_collect(c, n, "outputs.ipfix", &ipfix_spec, slot))
		return;
	c->cfg.ipfix.interval = IPFIX_INTERVAL;
	c->cfg.ipfix.domain = IPFIX_DOMAIN;
	if (slot[IK_COLLECTOR])
		parse_collector(c, value_of(c, slot[IK_COLLECTOR]));
	else
		node_err(c, n, "missing key 'collector' in outputs.ipfix");
	if (slot[IK_INTERVAL])
		parse_seconds(c, value_of(c, slot[IK_INTERVAL]), "outputs.ipfix.interval",
			      IPFIX_INTERVAL_MAX, "1h", &c->cfg.ipfix.interval);
	if (slot[IK_DOMAIN]) {
		v = value_of(c, slot[IK_DOMAIN]);
		s = scalar(c, v, "outputs.ipfix.observation_domain");
		if (s && decimal_in(s, 0, UINT32_MAX, &dom))
			c->cfg.ipfix.domain = (uint32_t)dom;
		else if (s)
			node_err(c, v,
				 "invalid observation_domain '%s': expected a decimal integer from "
				 "0 to %u",
				 show(s).s, UINT32_MAX);
	}
	if (slot[IK_TRANSPORT]) {
		v = value_of(c, slot[IK_TRANSPORT]);
		s = scalar(c, v, "outputs.ipfix.transport");
		if (s && !ascii_caseeq(s, "udp"))
			node_err(c, v,
				 "unsupported outputs.ipfix.transport '%s': only UDP is supported",
				 show(s).s);
	}
}

static const char *const outputs_keys[] = { "ipfix", "events", "audit", "prometheus", NULL };
static const struct keyspec outputs_spec = { outputs_keys, NULL,
					     "ipfix, events, audit or prometheus" };

int tg_api_listen_parse(const char *s, struct sockaddr_storage *ss, unsigned *len)
{
	char host[64], *end;
	const char *colon;
	unsigned long port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s - 1);
		colon++;
		s++;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':')) /* IPv6 goes in brackets */
			return -EINVAL;
		n = (size_t)(colon - s);
	}
	if (!n || n >= sizeof(host) || !colon[1] || colon[1] == '0' || colon[1] == '-' ||
	    colon[1] == '+')
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return -EINVAL;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
	} else {
		return -EINVAL;
	}
	return 0;
}

bool tg_api_listen_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* api.listen and its alias outputs.prometheus: an address, or "off". */
static void parse_listen(struct pctx *c, yaml_node_t *v, const char *where)
{
	struct sockaddr_storage ss;
	const char *s = scalar(c, v, where);
	unsigned len;

	if (!s)
		return;
	if (strcmp(s, "off") && tg_api_listen_parse(s, &ss, &len)) {
		node_err(c, v,
			 "invalid %s '%s': expected ADDRESS:PORT with a numeric address, e.g. "
			 "%s or [::1]:9477, or off",
			 where, show(s).s, TG_DEFAULT_API_LISTEN);
		return;
	}
	if (c->cfg.api_listen && strcmp(c->cfg.api_listen, s))
		node_err(c, v, "%s '%s' differs from the other listen address '%s'", where,
			 show(s).s, show(c->cfg.api_listen).s);
	set_str(c, &c->cfg.api_listen, s);
	c->api_line = LINE(v);
	c->api_col = COL(v);
}

static const char *const api_keys[] = { "listen", "token_file", NULL };
static const struct keyspec api_spec = { api_keys, NULL, "listen or token_file" };

static void parse_api(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *slot[2] = { NULL };
	yaml_node_t *v;
	const char *s;

	if (!map_collect(c, n, "api", &api_spec, slot))
		return;
	if (slot[0])
		parse_listen(c, value_of(c, slot[0]), "api.listen");
	if (slot[1]) {
		v = value_of(c, slot[1]);
		s = scalar(c, v, "api.token_file");
		if (s && path_ok(s, false))
			set_str(c, &c->cfg.api_token_file, s);
		else if (s)
			node_err(c, v,
				 "invalid api.token_file '%s': expected an absolute path, e.g. "
				 "/etc/tollgate/api.token",
				 show(s).s);
	}
}

/* Bound beyond loopback, the server needs a token (docs/api.md). */
static void check_api(struct pctx *c)
{
	struct sockaddr_storage ss;
	unsigned len;

	if (!c->cfg.api_listen || !strcmp(c->cfg.api_listen, "off") ||
	    tg_api_listen_parse(c->cfg.api_listen, &ss, &len) || tg_api_listen_loopback(&ss) ||
	    c->cfg.api_token_file)
		return;
	diag_lc(c, c->api_line, c->api_col,
		"the API listens on %s, beyond loopback, without a token: set api.token_file "
		"(a file of mode 0600 holding the token) or listen on 127.0.0.1",
		show(c->cfg.api_listen).s);
}

static void parse_outputs(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *slot[4] = { NULL };
	yaml_node_t *v;
	const char *s;

	if (!map_collect(c, n, "outputs", &outputs_spec, slot))
		return;
	if (slot[3])
		parse_listen(c, value_of(c, slot[3]), "outputs.prometheus");
	if (slot[0])
		parse_ipfix(c, value_of(c, slot[0]));
	if (slot[1]) {
		v = value_of(c, slot[1]);
		s = scalar(c, v, "outputs.events");
		if (s && path_ok(s, false))
			set_str(c, &c->cfg.events_path, s);
		else if (s)
			node_err(c, v,
				 "invalid outputs.events '%s': expected an absolute path, e.g. %s",
				 show(s).s, TG_DEFAULT_EVENTS);
	}
	if (slot[2]) {
		v = value_of(c, slot[2]);
		s = scalar(c, v, "outputs.audit");
		if (s && path_ok(s, false))
			set_str(c, &c->cfg.audit_path, s);
		else if (s)
			node_err(c, v,
				 "invalid outputs.audit '%s': expected an absolute path, e.g. %s",
				 show(s).s, TG_DEFAULT_AUDIT);
	}
}

/* true or false (YAML 1.1's other spellings of booleans are refused as ambiguous). */
static bool parse_bool(struct pctx *c, yaml_node_t *n, const char *where, bool *out)
{
	const char *s = scalar(c, n, where);

	if (s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")))
		*out = true;
	else if (s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")))
		*out = false;
	else if (s)
		node_err(c, n, "invalid %s '%s': expected true or false", where, show(s).s);
	else
		return false;
	return true;
}

static const char *const isolation_keys[] = { "segmentation", "deny", NULL };
static const struct keyspec isolation_spec = { isolation_keys, NULL, "segmentation or deny" };

static void parse_isolation(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *slot[2] = { NULL };

	if (!map_collect(c, n, "isolation", &isolation_spec, slot))
		return;
	if (slot[0])
		parse_bool(c, value_of(c, slot[0]), "isolation.segmentation", &c->cfg.segmentation);
	if (slot[1])
		parse_deny_list(c, value_of(c, slot[1]), "isolation.deny", &c->cfg.deny,
				&c->cfg.n_deny);
}

/*
 * The uplink guard. Its source sets may come from list files (one CIDR per line), read
 * here so that a bad line is an error of the configuration like any other.
 */

#define GUARD_LIST_MAX (1u << 20) /* entries per set and address family */
#define GUARD_RULES_MAX 65536u
#define LIST_FILE_MAX (256u << 20)
#define LIST_TOKEN_MAX 128
#define MS_PER_DAY (1000ull * DAY_SEC)

static int read_all(const char *path, size_t max, bool regular_only, char **out, size_t *len);

/* "L:C" for an entry of the YAML, "FILE:LINE" for a line of a list file. */
static void gpos_where(const struct gpos *p, char *buf, size_t len)
{
	if (p->file)
		snprintf(buf, len, "%s:%u", show(p->file).s, p->fline);
	else
		snprintf(buf, len, "%u:%u", p->line, p->col);
}

/* A diagnostic about an entry: at the entry in the YAML, or at the name of its list file
 * with "FILE:LINE: " before the message. */
static __attribute__((format(printf, 4, 5))) void gpos_diag(struct pctx *c, const struct gpos *p,
							    bool warning, const char *fmt, ...)
{
	char msg[sizeof(c->d->v->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->file)
		(warning ? warn_lc : diag_lc)(c, p->line, p->col, "%s:%u: %s", show(p->file).s,
					      p->fline, msg);
	else
		(warning ? warn_lc : diag_lc)(c, p->line, p->col, "%s", msg);
}

static void gset_push(struct pctx *c, struct gset_list *l, const struct tg_cidr *cidr,
		      const struct gpos *pos)
{
	int f = cidr->family == AF_INET6;

	if (l->per_family[f] >= GUARD_LIST_MAX) {
		if (!l->full[f])
			gpos_diag(c, pos, false, "too many IPv%c entries in uplink.%s: at most %u",
				  f ? '6' : '4', l->name, GUARD_LIST_MAX);
		l->full[f] = true;
		return;
	}
	if (*l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct tg_cidr *v = reallocarray(*l->v, cap, sizeof(*v));
		struct gpos *p;

		if (!v) {
			c->oom = true;
			return;
		}
		*l->v = v;
		p = reallocarray(l->pos, cap, sizeof(*p));
		if (!p) {
			c->oom = true;
			return;
		}
		l->pos = p;
		l->cap = cap;
	}
	(*l->v)[*l->n] = *cidr;
	l->pos[(*l->n)++] = *pos;
	l->per_family[f]++;
}

static void add_gset_cidr(struct pctx *c, yaml_node_t *n, const char *s, size_t list)
{
	struct gpos pos = { LINE(n), COL(n), NULL, 0 };
	struct tg_cidr cidr;

	if (cidr_value(c, n, s, &cidr))
		gset_push(c, &c->gl[list], &cidr, &pos);
}

/* A list file's path: absolute, or relative to the configuration file's directory. */
static bool list_path(const struct pctx *c, const char *s, char *out, size_t len)
{
	const char *slash = strrchr(c->name, '/');
	int n;

	if (s[0] == '/' || !slash)
		n = snprintf(out, len, "%s", s);
	else
		n = snprintf(out, len, "%.*s/%s", (int)(slash - c->name), c->name, s);
	return n > 0 && (size_t)n < len;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* One line of a list file: a CIDR, blank, or a '#' comment (also after a CIDR). */
static void list_line(struct pctx *c, struct gset_list *l, const struct gpos *pos, const char *p,
		      size_t len)
{
	char tok[LIST_TOKEN_MAX], msg[sizeof(c->d->v->msg)];
	const char *hash = memchr(p, '#', len);
	struct tg_cidr cidr;

	if (memchr(p, '\0', len)) {
		gpos_diag(c, pos, false, "unexpected NUL character");
		return;
	}
	if (hash)
		len = (size_t)(hash - p);
	while (len && is_blank(*p))
		p++, len--;
	while (len && is_blank(p[len - 1]))
		len--;
	if (!len)
		return;
	snprintf(tok, sizeof(tok), "%.*s", (int)len, p);
	if (cidr_problem(tok, &cidr, msg, sizeof(msg)))
		gset_push(c, l, &cidr, pos);
	else
		gpos_diag(c, pos, false, "%s", msg);
}

static void add_gset_file(struct pctx *c, yaml_node_t *n, const char *s, size_t list)
{
	struct gpos pos = { LINE(n), COL(n), s, 0 };
	char path[PATH_MAX], *buf = NULL;
	const char *p, *end;
	size_t len = 0;
	int r;

	if (!*s || !list_path(c, s, path, sizeof(path))) {
		node_err(c, n, "invalid list file '%s': expected a path", show(s).s);
		return;
	}
	r = read_all(path, LIST_FILE_MAX, true, &buf, &len);
	if (r == -ENOMEM) {
		c->oom = true;
		return;
	}
	if (r == -EINVAL)
		node_err(c, n, "list file %s is not a regular file", show(s).s);
	else if (r == -EFBIG)
		node_err(c, n, "list file %s is larger than %u MiB", show(s).s,
			 LIST_FILE_MAX >> 20);
	else if (r)
		node_err(c, n, "cannot read list file %s: %s", show(s).s, strerror(-r));
	if (r)
		return;
	for (p = buf, end = buf + len; p < end && !c->oom;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		pos.fline++;
		list_line(c, &c->gl[list], &pos, p, l);
		p += l + 1;
	}
	free(buf);
}

/* The tenant named s, or -1. */
static int tenant_index(const struct pctx *c, const char *s)
{
	for (size_t i = 0; i < c->cfg.n_tenants; i++)
		if (c->meta[i].named && !strcmp(c->cfg.tenants[i].name, s))
			return (int)i;
	return -1;
}

/* A duration from min_ms to max_ms (written min_text and max_text in messages). */
static bool parse_ms(struct pctx *c, yaml_node_t *n, const char *where, uint64_t min_ms,
		     const char *min_text, uint64_t max_ms, const char *max_text, uint64_t *out)
{
	uint64_t ms;

	if (!duration_value(c, n, where, max_text, &ms))
		return false;
	if (ms < min_ms || ms > max_ms) {
		node_err(c, n, "%s '%s' must be from %s to %s", where,
			 show((const char *)n->data.scalar.value).s, min_text, max_text);
		return false;
	}
	*out = ms;
	return true;
}

static const char *const guard_action_names[] = { "allow", "drop", "honeypot", "alert", NULL };

enum { RK_SRC, RK_TENANT, RK_PROTO, RK_PORTS, RK_ACTION, RK_MAX };
static const char *const rule_keys[] = { "src", "tenant", "proto", "ports", "action", NULL };
static const struct keyspec rule_spec = { rule_keys, NULL, "src, tenant, proto, ports or action" };

static bool parse_guard_rule(struct pctx *c, yaml_node_t *n, const char *where,
			     struct tg_guard_rule_conf *r)
{
	yaml_node_pair_t *slot[RK_MAX] = { NULL };
	bool ok = true;
	const char *s;
	yaml_node_t *v;
	char w[96];

	memset(r, 0, sizeof(*r));
	r->any_src = true;
	r->tenant = -1;
	r->port_hi = 65535;
	if (!map_collect(c, n, where, &rule_spec, slot))
		return false;
	if (slot[RK_SRC]) {
		snprintf(w, sizeof(w), "%s.src", where);
		v = value_of(c, slot[RK_SRC]);
		s = scalar(c, v, w);
		ok &= s && cidr_value(c, v, s, &r->src);
		r->any_src = false;
	}
	if (slot[RK_TENANT]) {
		snprintf(w, sizeof(w), "%s.tenant", where);
		v = value_of(c, slot[RK_TENANT]);
		s = scalar(c, v, w);
		r->tenant = s ? tenant_index(c, s) : -1;
		if (s && r->tenant < 0)
			node_err(c, v, "unknown tenant '%s' in %s", show(s).s, w);
		ok &= r->tenant >= 0;
	}
	ok &= parse_l4(c, slot[RK_PROTO], slot[RK_PORTS], where, &r->proto, &r->port_lo,
		       &r->port_hi);
	if (!slot[RK_ACTION]) {
		node_err(c, n, "missing key 'action' in %s", where);
		return false;
	}
	snprintf(w, sizeof(w), "%s.action", where);
	v = value_of(c, slot[RK_ACTION]);
	r->action = parse_word(c, v, w, "action", guard_action_names, TG_GA_ALLOW,
			       "drop, allow, honeypot or alert");
	if (r->action == TG_GA_HONEYPOT && !c->honeypot_named) {
		node_err(c, v, "action honeypot needs uplink.honeypot.interface");
		return false;
	}
	return ok && r->action > 0;
}

static void parse_guard_rules(struct pctx *c, yaml_node_t *n)
{
	struct tg_guard_config *g = &c->cfg.guard;
	yaml_node_item_t *it;
	size_t count;
	char w[48];

	if (!expect(c, n, YAML_SEQUENCE_NODE, "uplink.rules"))
		return;
	count = seq_len(n);
	g->rules = calloc(count < GUARD_RULES_MAX ? count + 1 : GUARD_RULES_MAX, sizeof(*g->rules));
	if (!g->rules) {
		c->oom = true;
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top && !c->stop; it++) {
		size_t i = (size_t)(it - n->data.sequence.items.start);
		yaml_node_t *item = node_at(c, *it);

		if (i == GUARD_RULES_MAX) {
			if (item)
				node_err(c, item, "too many rules in uplink.rules: at most %u",
					 GUARD_RULES_MAX);
			break;
		}
		snprintf(w, sizeof(w), "uplink.rules[%zu]", i);
		if (item && parse_guard_rule(c, item, w, &g->rules[g->n_rules]))
			g->n_rules++;
	}
}

/* A decimal integer from 0 to max. */
static void parse_prefix_len(struct pctx *c, yaml_node_t *n, const char *where, unsigned max,
			     uint8_t *out)
{
	const char *s = scalar(c, n, where);
	uint64_t v;

	if (s && decimal_in(s, 0, max, &v))
		*out = (uint8_t)v;
	else if (s)
		node_err(c, n, "invalid %s '%s': expected a prefix length from 0 to %u", where,
			 show(s).s, max);
}

enum { LMK_PPS, LMK_BPS, LMK_BURST, LMK_PREFIX4, LMK_PREFIX6, LMK_BAN, LMK_MAX };
static const char *const rate_limit_keys[] = { "pps",	  "bps",     "burst", "prefix4",
					       "prefix6", "ban_ttl", NULL };
static const struct keyspec rate_limit_spec = { rate_limit_keys, NULL,
						"pps, bps, burst, prefix4, prefix6 or ban_ttl" };

static void parse_rate_limit(struct pctx *c, yaml_node_t *n)
{
	static const char where[] = "uplink.rate_limit";
	yaml_node_pair_t *slot[LMK_MAX] = { NULL };
	struct tg_guard_config *g = &c->cfg.guard;
	const yaml_node_t *at;
	bool burst_ok = true;
	char w[64];

	if (!map_collect(c, n, where, &rate_limit_spec, slot))
		return;
	if (slot[LMK_PPS])
		parse_pps(c, value_of(c, slot[LMK_PPS]), "uplink.rate_limit.pps", "pps",
			  &g->src_pps);
	if (slot[LMK_BPS])
		parse_rate(c, value_of(c, slot[LMK_BPS]), "uplink.rate_limit.bps", &g->src_bps);
	if (!slot[LMK_PPS] && !slot[LMK_BPS])
		node_err(c, n, "missing key 'pps' or 'bps' in %s", where);
	if (slot[LMK_BURST] && !parse_ms(c, value_of(c, slot[LMK_BURST]), "uplink.rate_limit.burst",
					 1, "1ms", 60000, "60s", &g->src_burst_ms))
		burst_ok = false;
	if (slot[LMK_BAN])
		parse_ms(c, value_of(c, slot[LMK_BAN]), "uplink.rate_limit.ban_ttl", 1000, "1s",
			 30 * MS_PER_DAY, "30d", &g->src_ban_ttl_ms);
	if (slot[LMK_PREFIX4]) {
		snprintf(w, sizeof(w), "%s.prefix4", where);
		parse_prefix_len(c, value_of(c, slot[LMK_PREFIX4]), w, 32, &g->src_prefix4);
	}
	if (slot[LMK_PREFIX6]) {
		snprintf(w, sizeof(w), "%s.prefix6", where);
		parse_prefix_len(c, value_of(c, slot[LMK_PREFIX6]), w, 128, &g->src_prefix6);
	}
	/* the bucket must hold one full frame, and one packet */
	at = slot[LMK_BURST] ? value_of(c, slot[LMK_BURST]) : n;
	if (!burst_ok)
		return;
	if (g->src_bps && (unsigned __int128)g->src_bps / 8 * g->src_burst_ms / 1000 < BURST_MIN)
		node_err(c, at,
			 "a burst of %llums at %llu bit/s holds less than one full frame (1514 "
			 "bytes): give a longer burst",
			 (unsigned long long)g->src_burst_ms, (unsigned long long)g->src_bps);
	else if (g->src_pps && g->src_pps * g->src_burst_ms < 1000)
		node_err(c, at,
			 "a burst of %llums at %llu packets/s holds less than one packet: give a "
			 "longer burst",
			 (unsigned long long)g->src_burst_ms, (unsigned long long)g->src_pps);
}

enum { SK_THRESHOLD, SK_BUDGET, SK_BAN, SK_HOLD, SK_MODE, SK_VALIDATED, SK_END, SK_MAX };
static const char *const syn_keys[] = { "threshold", "source_budget", "ban_ttl",       "hold",
					"mode",	     "validated_ttl", "end_threshold", NULL };
static const struct keyspec syn_spec = {
	syn_keys, NULL,
	"threshold, source_budget, ban_ttl, hold, mode, validated_ttl or end_threshold"
};
static const char *const syn_mode_names[] = { "drop", "cookie", NULL };

static void parse_syn_flood(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *slot[SK_MAX] = { NULL };
	struct tg_guard_config *g = &c->cfg.guard;

	if (!map_collect(c, n, "uplink.syn_flood", &syn_spec, slot))
		return;
	g->syn = true;
	if (slot[SK_THRESHOLD])
		parse_pps(c, value_of(c, slot[SK_THRESHOLD]), "uplink.syn_flood.threshold",
			  "threshold", &g->syn_threshold);
	else
		node_err(c, n, "missing key 'threshold' in uplink.syn_flood");
	if (slot[SK_BUDGET])
		parse_pps(c, value_of(c, slot[SK_BUDGET]), "uplink.syn_flood.source_budget",
			  "source_budget", &g->syn_source_budget);
	if (slot[SK_BAN])
		parse_ms(c, value_of(c, slot[SK_BAN]), "uplink.syn_flood.ban_ttl", 1000, "1s",
			 30 * MS_PER_DAY, "30d", &g->syn_ban_ttl_ms);
	if (slot[SK_HOLD])
		parse_ms(c, value_of(c, slot[SK_HOLD]), "uplink.syn_flood.hold", 1000, "1s",
			 MS_PER_DAY / 24, "1h", &g->syn_hold_ms);
	if (slot[SK_MODE])
		g->syn_cookie = parse_word(c, value_of(c, slot[SK_MODE]), "uplink.syn_flood.mode",
					   "mode", syn_mode_names, 0, "drop or cookie") == 1;
	if (slot[SK_VALIDATED])
		parse_ms(c, value_of(c, slot[SK_VALIDATED]), "uplink.syn_flood.validated_ttl", 1000,
			 "1s", 30 * MS_PER_DAY, "30d", &g->syn_validated_ttl_ms);
	if (slot[SK_END]) {
		yaml_node_t *v = value_of(c, slot[SK_END]);

		parse_pps(c, v, "uplink.syn_flood.end_threshold", "end_threshold",
			  &g->syn_end_threshold);
		if (g->syn_threshold && g->syn_end_threshold > g->syn_threshold)
			node_err(c, v,
				 "uplink.syn_flood.end_threshold (%llu) is above threshold (%llu): "
				 "a flood ends below the rate that starts it",
				 (unsigned long long)g->syn_end_threshold,
				 (unsigned long long)g->syn_threshold);
	} else {
		g->syn_end_threshold = g->syn_threshold / 4 ? g->syn_threshold / 4 : 1;
	}
}

/* "aa:bb:cc:dd:ee:ff", hex digits in either case. */
static bool mac_parse(const char *s, uint8_t *mac)
{
	for (int i = 0; i < 6; i++, s += 3) {
		unsigned hi, lo;

		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    s[2] != (i < 5 ? ':' : '\0'))
			return false;
		hi = (unsigned)(isdigit((unsigned char)s[0]) ? s[0] - '0'
							     : (s[0] | 0x20) - 'a' + 10);
		lo = (unsigned)(isdigit((unsigned char)s[1]) ? s[1] - '0'
							     : (s[1] | 0x20) - 'a' + 10);
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

enum { HK_IFACE, HK_MAC, HK_SOURCES, HK_BANS, HK_MAX };
static const char *const honeypot_keys[] = { "interface", "mac", "sources", "bans", NULL };
static const struct keyspec honeypot_spec = { honeypot_keys, NULL,
					      "interface, mac, sources or bans" };

static void parse_honeypot(struct pctx *c, yaml_node_t *n)
{
	static const char need[] = "needs uplink.honeypot.interface: redirects go there";
	yaml_node_pair_t *slot[HK_MAX] = { NULL };
	struct tg_guard_config *g = &c->cfg.guard;
	static const uint8_t zero[6];
	yaml_node_t *v;
	const char *s;

	if (!map_collect(c, n, "uplink.honeypot", &honeypot_spec, slot))
		return;
	c->honeypot_named = slot[HK_IFACE];
	if (slot[HK_IFACE]) {
		v = value_of(c, slot[HK_IFACE]);
		s = scalar(c, v, "uplink.honeypot.interface");
		if (s && iface_pattern_ok(s) && !strpbrk(s, "*?["))
			snprintf(g->honeypot_if, sizeof(g->honeypot_if), "%s", s);
		else if (s)
			node_err(c, v,
				 "invalid uplink.honeypot.interface '%s': expected an interface "
				 "name of 1 to 15 characters, not a glob",
				 show(s).s);
		if (!slot[HK_MAC])
			node_err(c, n,
				 "missing key 'mac' in uplink.honeypot: the honeypot host's MAC "
				 "address is needed with interface");
	}
	if (slot[HK_MAC] && !slot[HK_IFACE]) {
		node_err(c, key_of(c, slot[HK_MAC]), "uplink.honeypot.mac %s", need);
	} else if (slot[HK_MAC]) {
		v = value_of(c, slot[HK_MAC]);
		s = scalar(c, v, "uplink.honeypot.mac");
		if (s && !mac_parse(s, g->honeypot_mac))
			node_err(c, v,
				 "invalid uplink.honeypot.mac '%s': expected six hex bytes such as "
				 "02:00:5e:00:53:01",
				 show(s).s);
		else if (s && ((g->honeypot_mac[0] & 1) || !memcmp(g->honeypot_mac, zero, 6)))
			node_err(c, v, "uplink.honeypot.mac '%s' is not a unicast address",
				 show(s).s);
	}
	if (slot[HK_SOURCES]) {
		if (scalar_list(c, value_of(c, slot[HK_SOURCES]), "uplink.honeypot.sources",
				add_gset_cidr, GL_HONEY) > 0 &&
		    !slot[HK_IFACE])
			node_err(c, key_of(c, slot[HK_SOURCES]), "uplink.honeypot.sources %s",
				 need);
	}
	if (slot[HK_BANS]) {
		v = value_of(c, slot[HK_BANS]);
		if (parse_bool(c, v, "uplink.honeypot.bans", &g->honeypot_bans) &&
		    g->honeypot_bans && !slot[HK_IFACE])
			node_err(c, v, "uplink.honeypot.bans: true %s", need);
	}
}

static void parse_sig_ports(struct pctx *c, yaml_node_t *n)
{
	struct tg_guard_config *g = &c->cfg.guard;
	yaml_node_item_t *it;
	char w[48];

	if (!expect(c, n, YAML_SEQUENCE_NODE, "uplink.signatures.ports"))
		return;
	if (!seq_len(n) || seq_len(n) > TG_MAX_SIG_PORTS) {
		node_err(c, n, "uplink.signatures.ports: expected 1 to %d ports", TG_MAX_SIG_PORTS);
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top && !c->stop; it++) {
		yaml_node_t *item = node_at(c, *it);
		const char *s;
		uint64_t port;
		size_t k;

		snprintf(w, sizeof(w), "uplink.signatures.ports[%zu]",
			 (size_t)(it - n->data.sequence.items.start));
		s = scalar(c, item, w);
		if (!s)
			continue;
		if (!decimal_in(s, 1, 65535, &port)) {
			node_err(c, item, "invalid port '%s' in %s: expected 1 to 65535", show(s).s,
				 w);
			continue;
		}
		for (k = 0; k < g->n_sig_ports && g->sig_ports[k] != port; k++)
			;
		if (k < g->n_sig_ports)
			node_err(c, item, "duplicate port %s in uplink.signatures.ports", s);
		else
			g->sig_ports[g->n_sig_ports++] = (uint16_t)port;
	}
}

static const char *const sig_keys[] = { "ports", "action", NULL };
static const struct keyspec sig_spec = { sig_keys, NULL, "ports or action" };
static const char *const sig_action_names[] = { "alert", "drop", NULL };

static void parse_signatures(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *slot[2] = { NULL };
	struct tg_guard_config *g = &c->cfg.guard;

	if (!map_collect(c, n, "uplink.signatures", &sig_spec, slot))
		return;
	if (slot[0]) {
		parse_sig_ports(c, value_of(c, slot[0]));
	} else {
		g->sig_ports[0] = 80;
		g->n_sig_ports = 1;
	}
	if (slot[1])
		g->sig_drop = parse_word(c, value_of(c, slot[1]), "uplink.signatures.action",
					 "action", sig_action_names, 0, "alert or drop") == 1;
}

enum {
	UK_IFACES,
	UK_XDP_MODE,
	UK_ALLOW, /* the guard's keys from here on */
	UK_ALLOW_FILES,
	UK_BLOCK,
	UK_BLOCK_FILES,
	UK_RULES,
	UK_RATE,
	UK_SYN,
	UK_HONEYPOT,
	UK_SIG,
	UK_MAX
};
static const char *const uplink_keys[] = { "interfaces",      "xdp_mode",   "allowlist",
					   "allowlist_files", "blocklist",  "blocklist_files",
					   "rules",	      "rate_limit", "syn_flood",
					   "honeypot",	      "signatures", NULL };
/* Known from the design, refused by this version. */
static const char *const uplink_unsupported[] = { "ddos", "bans", NULL };
static const struct keyspec uplink_spec = {
	uplink_keys, uplink_unsupported,
	"interfaces, xdp_mode, allowlist, allowlist_files, blocklist, blocklist_files, rules, "
	"rate_limit, syn_flood, honeypot or signatures"
};
static const char *const xdp_mode_names[] = { "auto", "native", "generic", NULL };

static void parse_uplink(struct pctx *c, yaml_node_t *n)
{
	yaml_node_pair_t *slot[UK_MAX] = { NULL };
	struct tg_guard_config *g = &c->cfg.guard;
	yaml_node_pair_t *first = NULL;
	int k, mode;

	if (!map_collect(c, n, "uplink", &uplink_spec, slot))
		return;
	if (slot[UK_IFACES])
		scalar_list(c, value_of(c, slot[UK_IFACES]), "uplink.interfaces", add_uplink,
			    SIZE_MAX);
	if (slot[UK_XDP_MODE]) {
		mode = parse_word(c, value_of(c, slot[UK_XDP_MODE]), "uplink.xdp_mode", "xdp_mode",
				  xdp_mode_names, TG_XDP_AUTO, "auto, native or generic");
		g->xdp_mode = mode > 0 ? mode : TG_XDP_AUTO;
	}
	for (k = UK_ALLOW; k < UK_MAX; k++)
		if (slot[k] && (!first || slot[k]->key < first->key))
			first = slot[k];
	if (!first)
		return;
	g->enabled = true;
	c->guard_line = LINE(n);
	c->guard_col = COL(n);
	if (!c->cfg.n_uplinks && !c->stop)
		node_warn(c, key_of(c, first),
			  "the uplink guard has no interface to run on: uplink.interfaces lists "
			  "none");
	/* the honeypot first: rules and sources refer to its interface */
	if (slot[UK_HONEYPOT])
		parse_honeypot(c, value_of(c, slot[UK_HONEYPOT]));
	if (slot[UK_ALLOW])
		scalar_list(c, value_of(c, slot[UK_ALLOW]), "uplink.allowlist", add_gset_cidr,
			    GL_ALLOW);
	if (slot[UK_ALLOW_FILES])
		scalar_list(c, value_of(c, slot[UK_ALLOW_FILES]), "uplink.allowlist_files",
			    add_gset_file, GL_ALLOW);
	if (slot[UK_BLOCK])
		scalar_list(c, value_of(c, slot[UK_BLOCK]), "uplink.blocklist", add_gset_cidr,
			    GL_BLOCK);
	if (slot[UK_BLOCK_FILES])
		scalar_list(c, value_of(c, slot[UK_BLOCK_FILES]), "uplink.blocklist_files",
			    add_gset_file, GL_BLOCK);
	if (slot[UK_RULES]) {
		c->guard_line = LINE(key_of(c, slot[UK_RULES]));
		c->guard_col = COL(key_of(c, slot[UK_RULES]));
		parse_guard_rules(c, value_of(c, slot[UK_RULES]));
	}
	if (slot[UK_RATE])
		parse_rate_limit(c, value_of(c, slot[UK_RATE]));
	if (slot[UK_SYN])
		parse_syn_flood(c, value_of(c, slot[UK_SYN]));
	if (slot[UK_SIG])
		parse_signatures(c, value_of(c, slot[UK_SIG]));
}

/*
 * runtime: (docs/runtime.md)
 */

static const char *const rt_type_names[] = { "exec",	"exit",	  "open", "ptrace",
					     "setuid",	"module", "bpf",  "mount",
					     "unshare", "setns",  NULL };
#define RT_TYPES_EXPECTED "exec, exit, open, ptrace, setuid, module, bpf, mount, unshare or setns"
static const char *const rt_action_names[] = { "alert", "kill", NULL };
static const char *const rt_flag_names[] = { "read", "write", "create", NULL };

enum { RR_NAME, RR_TENANT, RR_TYPE, RR_PATH, RR_COMM, RR_FLAGS, RR_UID, RR_ACTION, RR_MAX };
static const char *const rt_rule_keys[] = { "name",  "tenant", "type",	 "path", "comm",
					    "flags", "uid",    "action", NULL };
static const struct keyspec rt_rule_spec = {
	rt_rule_keys, NULL, "name, tenant, type, path, comm, flags, uid or action"
};

/* A glob or literal of at most max - 1 bytes that the kernel matcher can run; the class
 * table is shared by the rule's globs. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool rt_glob_value(struct pctx *c, yaml_node_t *v, const char *where, const char *s,
			  size_t max, struct tg_glob *g)
{
	char err[160];

	if (!*s || strlen(s) >= max) {
		node_err(c, v, "invalid %s '%s': expected 1 to %zu characters", where, show(s).s,
			 max - 1);
		return false;
	}
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			node_err(c, v, "invalid %s '%s': control characters are not allowed", where,
				 show(s).s);
			return false;
		}
	if (tg_glob_compile(s, max - 1, g, err, sizeof(err))) {
		node_err(c, v, "invalid %s '%s': %s", where, show(s).s, err);
		return false;
	}
	return true;
}

static bool rt_flag_item(struct pctx *c, yaml_node_t *n, const char *where, uint32_t *out)
{
	yaml_node_item_t *it;
	char w[160];

	if (!expect(c, n, YAML_SEQUENCE_NODE, where))
		return false;
	if (!seq_len(n)) {
		node_err(c, n, "%s: expected at least one of read, write or create", where);
		return false;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = node_at(c, *it);
		int f;

		snprintf(w, sizeof(w), "%s[%zu]", where,
			 (size_t)(it - n->data.sequence.items.start));
		f = item ? parse_word(c, item, w, "open flag", rt_flag_names, 0,
				      "read, write or create")
			 : -1;
		if (f < 0)
			return false;
		if (*out & (1u << f)) {
			node_err(c, item, "duplicate flag '%s' in %s", rt_flag_names[f], where);
			return false;
		}
		*out |= 1u << f;
	}
	return true;
}

static bool rt_path_type(uint32_t type)
{
	return type == TG_RT_EXEC || type == TG_RT_OPEN || type == TG_RT_MODULE ||
	       type == TG_RT_MOUNT;
}

static bool parse_rt_rule(struct pctx *c, yaml_node_t *n, const char *where,
			  struct tg_rt_rule_conf *r)
{
	yaml_node_pair_t *slot[RR_MAX] = { NULL };
	uint8_t cls[TG_RT_GLOB_CLASSES][32];
	unsigned ncls = 0;
	struct tg_glob g = { .cls = cls, .ncls = &ncls, .max_cls = TG_RT_GLOB_CLASSES };
	bool ok = true;
	const char *s;
	yaml_node_t *v;
	uint64_t u;
	char w[112];
	int i;

	memset(r, 0, sizeof(*r));
	r->uid = -1;
	r->action = TG_RA_ALERT;
	r->line = LINE(n);
	if (!map_collect(c, n, where, &rt_rule_spec, slot))
		return false;
	if (!slot[RR_NAME]) {
		node_err(c, n, "missing key 'name' in %s", where);
		ok = false;
	} else {
		snprintf(w, sizeof(w), "%s.name", where);
		v = value_of(c, slot[RR_NAME]);
		s = scalar(c, v, w);
		if (s &&
		    (!*s || strlen(s) >= sizeof(r->name) || strpbrk(s, "\"\\") || !printable(s))) {
			node_err(c, v,
				 "invalid rule name '%s': expected 1 to %zu printable characters, "
				 "no quotes or backslashes",
				 show(s).s, sizeof(r->name) - 1);
			ok = false;
		} else if (s) {
			snprintf(r->name, sizeof(r->name), "%s", s);
		} else {
			ok = false;
		}
	}
	if (!slot[RR_TYPE]) {
		node_err(c, n, "missing key 'type' in %s: expected %s", where, RT_TYPES_EXPECTED);
		return false;
	}
	snprintf(w, sizeof(w), "%s.type", where);
	i = parse_word(c, value_of(c, slot[RR_TYPE]), w, "rule type", rt_type_names, TG_RT_EXEC,
		       RT_TYPES_EXPECTED);
	if (i < 0)
		return false;
	r->type = (uint32_t)i;
	if (slot[RR_TENANT]) {
		snprintf(w, sizeof(w), "%s.tenant", where);
		v = value_of(c, slot[RR_TENANT]);
		s = scalar(c, v, w);
		if (s && tenant_index(c, s) < 0) {
			node_err(c, v, "unknown tenant '%s' in %s", show(s).s, w);
			ok = false;
		} else if (s) {
			snprintf(r->tenant, sizeof(r->tenant), "%s", s);
		} else {
			ok = false;
		}
	}
	if (slot[RR_PATH]) {
		snprintf(w, sizeof(w), "%s.path", where);
		v = value_of(c, slot[RR_PATH]);
		s = scalar(c, v, w);
		if (s && !rt_path_type(r->type)) {
			node_err(c, key_of(c, slot[RR_PATH]),
				 "'path' applies only to exec, open, module and mount rules, not "
				 "to %s",
				 rt_type_names[r->type - 1]);
			ok = false;
		} else if (s && rt_glob_value(c, v, "path", s, sizeof(r->path), &g)) {
			snprintf(r->path, sizeof(r->path), "%s", s);
		} else {
			ok = false;
		}
	}
	if (slot[RR_COMM]) {
		snprintf(w, sizeof(w), "%s.comm", where);
		v = value_of(c, slot[RR_COMM]);
		s = scalar(c, v, w);
		if (s && rt_glob_value(c, v, "comm", s, sizeof(r->comm), &g))
			snprintf(r->comm, sizeof(r->comm), "%s", s);
		else
			ok = false;
	}
	if (slot[RR_FLAGS]) {
		snprintf(w, sizeof(w), "%s.flags", where);
		if (r->type != TG_RT_OPEN) {
			node_err(c, key_of(c, slot[RR_FLAGS]),
				 "'flags' applies only to open rules, not to %s",
				 rt_type_names[r->type - 1]);
			ok = false;
		} else {
			uint32_t f = 0;

			ok &= rt_flag_item(c, value_of(c, slot[RR_FLAGS]), w, &f);
			/* read, write, create are bits 0, 1, 2: TG_RT_O_* */
			r->open_flags = f;
		}
	}
	if (slot[RR_UID]) {
		snprintf(w, sizeof(w), "%s.uid", where);
		v = value_of(c, slot[RR_UID]);
		s = scalar(c, v, w);
		if (s && decimal_in(s, 0, 4294967294u, &u)) {
			r->uid = (int64_t)u;
		} else {
			if (s)
				node_err(c, v,
					 "invalid %s '%s': expected a decimal user id from 0 to "
					 "4294967294",
					 w, show(s).s);
			ok = false;
		}
	}
	if (slot[RR_ACTION]) {
		snprintf(w, sizeof(w), "%s.action", where);
		v = value_of(c, slot[RR_ACTION]);
		i = parse_word(c, v, w, "action", rt_action_names, TG_RA_ALERT, "alert or kill");
		if (i < 0) {
			ok = false;
		} else if (i == TG_RA_KILL && r->type == TG_RT_EXIT) {
			node_err(c, v,
				 "action kill is not possible on exit rules: the process is "
				 "already exiting (use alert)");
			ok = false;
		} else {
			r->action = (uint8_t)i;
		}
	}
	return ok;
}

static void parse_rt_rules(struct pctx *c, yaml_node_t *n)
{
	struct tg_runtime_config *rt = &c->cfg.runtime;
	yaml_node_item_t *it;
	unsigned *lines, *cols;
	size_t count;
	char w[48];

	if (!expect(c, n, YAML_SEQUENCE_NODE, "runtime.rules"))
		return;
	count = seq_len(n);
	if (count > TG_MAX_RT_RULES - 1) {
		node_err(c, n, "too many rules in runtime.rules: at most %u", TG_MAX_RT_RULES - 1);
		return;
	}
	rt->rules = calloc(count + 1, sizeof(*rt->rules));
	lines = calloc(count + 1, sizeof(*lines));
	cols = calloc(count + 1, sizeof(*cols));
	if (!rt->rules || !lines || !cols) {
		free(lines);
		free(cols);
		c->oom = true;
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top && !c->stop; it++) {
		size_t i = (size_t)(it - n->data.sequence.items.start);
		yaml_node_t *item = node_at(c, *it);
		struct tg_rt_rule_conf *r = &rt->rules[rt->n_rules];
		size_t j;

		snprintf(w, sizeof(w), "runtime.rules[%zu]", i);
		if (!item || !parse_rt_rule(c, item, w, r))
			continue;
		/* at most 255 rules: a linear search for the duplicate name is fine */
		for (j = 0; j < rt->n_rules; j++)
			if (!strcmp(rt->rules[j].name, r->name))
				break;
		if (j < rt->n_rules) {
			node_err(c, item, "duplicate rule name '%s' (first at %u:%u)",
				 show(r->name).s, lines[j], cols[j]);
			continue;
		}
		lines[rt->n_rules] = LINE(item);
		cols[rt->n_rules] = COL(item);
		rt->n_rules++;
	}
	free(lines);
	free(cols);
}

static void parse_rt_monitor(struct pctx *c, yaml_node_t *n)
{
	yaml_node_item_t *it;
	uint32_t m = 0;
	char w[48];

	if (!expect(c, n, YAML_SEQUENCE_NODE, "runtime.monitor"))
		return;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = node_at(c, *it);
		int t;

		snprintf(w, sizeof(w), "runtime.monitor[%zu]",
			 (size_t)(it - n->data.sequence.items.start));
		t = item ? parse_word(c, item, w, "event type", rt_type_names, TG_RT_EXEC,
				      RT_TYPES_EXPECTED)
			 : -1;
		if (t < 0)
			continue;
		if (m & (1u << t))
			node_err(c, item, "duplicate event type '%s' in runtime.monitor",
				 rt_type_names[t - 1]);
		m |= 1u << t;
	}
	c->cfg.runtime.monitor = m;
}

static bool hex16(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == 16;
}

static void add_bpf_tag(struct pctx *c, yaml_node_t *n, const char *s, size_t unused)
{
	struct tg_runtime_config *rt = &c->cfg.runtime;
	char tag[17];

	(void)unused;
	if (!hex16(s)) {
		node_err(c, n,
			 "invalid BPF program tag '%s' in runtime.bpf_allowlist: expected 16 "
			 "hexadecimal digits (bpftool prog show: tag)",
			 show(s).s);
		return;
	}
	for (size_t i = 0; i < 17; i++)
		tag[i] = (char)tolower((unsigned char)s[i]);
	for (size_t i = 0; i < rt->n_bpf_allowlist; i++)
		if (!strcmp(rt->bpf_allowlist[i], tag)) {
			node_err(c, n, "duplicate tag '%s' in runtime.bpf_allowlist", tag);
			return;
		}
	push_str(c, &rt->bpf_allowlist, &rt->n_bpf_allowlist, tag);
}

static void add_learn_tenant(struct pctx *c, yaml_node_t *n, const char *s, size_t unused)
{
	struct tg_runtime_config *rt = &c->cfg.runtime;

	(void)unused;
	if (tenant_index(c, s) < 0) {
		node_err(c, n, "unknown tenant '%s' in runtime.seccomp_learn", show(s).s);
		return;
	}
	for (size_t i = 0; i < rt->n_seccomp_learn; i++)
		if (!strcmp(rt->seccomp_learn[i], s)) {
			node_err(c, n, "duplicate tenant '%s' in runtime.seccomp_learn", show(s).s);
			return;
		}
	push_str(c, &rt->seccomp_learn, &rt->n_seccomp_learn, s);
}

#define RT_RATE_MAX 10000000u /* events per second per tenant */

static bool parse_rt_count(struct pctx *c, yaml_node_t *n, const char *where, uint64_t *out)
{
	const char *s = scalar(c, n, where);

	if (s && decimal_in(s, 1, RT_RATE_MAX, out))
		return true;
	if (s)
		node_err(c, n, "invalid %s '%s': expected a decimal integer from 1 to %u", where,
			 show(s).s, RT_RATE_MAX);
	return false;
}

enum {
	RT_RULES,
	RT_MONITOR,
	RT_RATE,
	RT_BURST,
	RT_INVENTORY,
	RT_INVENTORY_PATH,
	RT_BPF_ALLOWLIST,
	RT_SECCOMP_LEARN,
	RT_MAX
};
static const char *const runtime_keys[] = { "rules",	     "monitor",	      "events_per_second",
					    "events_burst",  "inventory",     "inventory_path",
					    "bpf_allowlist", "seccomp_learn", NULL };
static const struct keyspec runtime_spec = {
	runtime_keys, NULL,
	"rules, monitor, events_per_second, events_burst, inventory, inventory_path, "
	"bpf_allowlist or seccomp_learn"
};

static bool is_null_scalar(const yaml_node_t *n);

static void parse_runtime(struct pctx *c, yaml_node_t *n)
{
	struct tg_runtime_config *rt = &c->cfg.runtime;
	yaml_node_pair_t *slot[RT_MAX] = { NULL };
	yaml_node_t *v;
	const char *s;

	rt->enabled = true;
	rt->monitor = TG_RT_MONITOR_DEFAULT;
	rt->events_per_sec = TG_DEFAULT_RT_EVENTS_PER_SEC;
	rt->inventory = true;
	/* runtime: with nothing under it (null) is runtime security with the defaults */
	if (n && is_null_scalar(n) && visit(c, n)) {
		rt->events_burst = 2 * rt->events_per_sec;
		return;
	}
	if (!map_collect(c, n, "runtime", &runtime_spec, slot))
		return;
	if (slot[RT_RULES])
		parse_rt_rules(c, value_of(c, slot[RT_RULES]));
	if (slot[RT_MONITOR])
		parse_rt_monitor(c, value_of(c, slot[RT_MONITOR]));
	if (slot[RT_RATE])
		parse_rt_count(c, value_of(c, slot[RT_RATE]), "runtime.events_per_second",
			       &rt->events_per_sec);
	if (slot[RT_BURST])
		parse_rt_count(c, value_of(c, slot[RT_BURST]), "runtime.events_burst",
			       &rt->events_burst);
	if (slot[RT_INVENTORY])
		parse_bool(c, value_of(c, slot[RT_INVENTORY]), "runtime.inventory", &rt->inventory);
	if (slot[RT_INVENTORY_PATH]) {
		v = value_of(c, slot[RT_INVENTORY_PATH]);
		s = scalar(c, v, "runtime.inventory_path");
		if (s && path_ok(s, false))
			set_str(c, &rt->inventory_path, s);
		else if (s)
			node_err(c, v,
				 "invalid runtime.inventory_path '%s': expected an absolute path, "
				 "e.g. %s",
				 show(s).s, TG_DEFAULT_INVENTORY);
	}
	if (slot[RT_BPF_ALLOWLIST])
		scalar_list(c, value_of(c, slot[RT_BPF_ALLOWLIST]), "runtime.bpf_allowlist",
			    add_bpf_tag, 0);
	if (slot[RT_SECCOMP_LEARN]) {
		v = value_of(c, slot[RT_SECCOMP_LEARN]);
		if (v && v->type == YAML_SEQUENCE_NODE)
			scalar_list(c, v, "runtime.seccomp_learn", add_learn_tenant, 0);
		else if (v && v->type == YAML_MAPPING_NODE && visit(c, v))
			node_err(c, v,
				 "runtime.seccomp_learn: expected true, false or a list of tenant "
				 "names");
		else if (v)
			parse_bool(c, v, "runtime.seccomp_learn", &rt->seccomp_learn_all);
	}
	if (!rt->events_burst)
		rt->events_burst = 2 * rt->events_per_sec;
}

enum {
	TOP_NODE,
	TOP_TENANTS,
	TOP_CLASSES,
	TOP_BILLING,
	TOP_FLOWS,
	TOP_UPLINK,
	TOP_ISOLATION,
	TOP_OUTPUTS,
	TOP_AGENT,
	TOP_RUNTIME,
	TOP_API,
	TOP_MAX
};
static const char *const top_keys[] = { "node",	 "tenants", "classes",	 "billing",
					"flows", "uplink",  "isolation", "outputs",
					"agent", "runtime", "api",	 NULL };
static const struct keyspec top_spec = {
	top_keys, NULL,
	"node, tenants, classes, billing, flows, uplink, isolation, outputs, agent, runtime or api"
};

static void parse_root(struct pctx *c, yaml_node_t *root)
{
	yaml_node_pair_t *slot[TOP_MAX] = { NULL };

	if (!map_collect(c, root, "top level", &top_spec, slot))
		return;
	if (slot[TOP_NODE])
		parse_node(c, value_of(c, slot[TOP_NODE]));
	if (slot[TOP_TENANTS])
		parse_tenants(c, value_of(c, slot[TOP_TENANTS]));
	else
		node_err(c, root,
			 "missing key 'tenants' at top level: expected at least one tenant");
	if (slot[TOP_CLASSES])
		parse_classes(c, value_of(c, slot[TOP_CLASSES]));
	if (slot[TOP_BILLING])
		parse_billing(c, value_of(c, slot[TOP_BILLING]));
	if (slot[TOP_FLOWS])
		parse_flows(c, value_of(c, slot[TOP_FLOWS]));
	if (slot[TOP_UPLINK])
		parse_uplink(c, value_of(c, slot[TOP_UPLINK]));
	if (slot[TOP_ISOLATION])
		parse_isolation(c, value_of(c, slot[TOP_ISOLATION]));
	if (slot[TOP_OUTPUTS])
		parse_outputs(c, value_of(c, slot[TOP_OUTPUTS]));
	if (slot[TOP_AGENT])
		parse_agent(c, value_of(c, slot[TOP_AGENT]));
	if (slot[TOP_RUNTIME])
		parse_runtime(c, value_of(c, slot[TOP_RUNTIME]));
	if (slot[TOP_API])
		parse_api(c, value_of(c, slot[TOP_API]));
	check_api(c);
}

/*
 * Checks across tenants. Each sorts, so a big file costs n log n, not n^2.
 */

struct name_ref {
	const char *name;
	size_t i;
};

static int name_ref_cmp(const void *pa, const void *pb)
{
	const struct name_ref *a = pa, *b = pb;
	int r = strcmp(a->name, b->name);

	return r ? r : (a->i < b->i ? -1 : a->i > b->i);
}

static int name_ref_name_cmp(const void *pa, const void *pb)
{
	const struct name_ref *a = pa, *b = pb;

	return strcmp(a->name, b->name);
}

static void check_tenant_names(struct pctx *c)
{
	size_t i, n = 0;
	struct name_ref *v = calloc(c->cfg.n_tenants + 1, sizeof(*v));

	if (!v) {
		c->oom = true;
		return;
	}
	for (i = 0; i < c->cfg.n_tenants; i++)
		if (c->meta[i].named)
			v[n++] = (struct name_ref){ c->cfg.tenants[i].name, i };
	qsort(v, n, sizeof(*v), name_ref_cmp);
	for (i = 1; i < n; i++) {
		const struct tenant_meta *first, *dup = &c->meta[v[i].i];
		size_t j = i;

		while (j && !strcmp(v[j - 1].name, v[i].name))
			j--;
		if (j == i)
			continue;
		first = &c->meta[v[j].i];
		diag_lc(c, dup->name_line, dup->name_col,
			"duplicate tenant name '%s' (first defined at %u:%u)", v[i].name,
			first->name_line, first->name_col);
	}
	free(v);
}

/* qsort() must not see the NULL of an empty set (UBSan enforces its nonnull). */
static void sort_refs(struct sel_set *set, int (*cmp)(const void *, const void *))
{
	if (set->n > 1)
		qsort(set->v, set->n, sizeof(*set->v), cmp);
}

static int cidr_ref_cmp(const void *pa, const void *pb)
{
	const struct sel_ref *a = pa, *b = pb;
	int r = memcmp(a->cidr.addr, b->cidr.addr, sizeof(a->cidr.addr));

	if (r)
		return r;
	if (a->cidr.prefixlen != b->cidr.prefixlen)
		return a->cidr.prefixlen < b->cidr.prefixlen ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool cidr_contains(const struct tg_cidr *outer, const struct tg_cidr *inner)
{
	return outer->prefixlen <= inner->prefixlen &&
	       prefix_equal(outer->addr, inner->addr, outer->prefixlen);
}

static bool cidr_same(const struct tg_cidr *a, const struct tg_cidr *b)
{
	return a->prefixlen == b->prefixlen && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* The later one in configuration order carries the error and names the earlier one. */
static void report_overlap(struct pctx *c, struct sel_ref *a, struct sel_ref *b)
{
	struct sel_ref *later = a->seq > b->seq ? a : b, *earlier = later == a ? b : a;

	if (later->reported)
		return;
	later->reported = true;
	diag_lc(c, later->line, later->col, "CIDR '%s' overlaps '%s' of %s (at %u:%u)",
		show(later->text).s, show(earlier->text).s, c->meta[earlier->tenant].label,
		earlier->line, earlier->col);
}

/* Equal prefixes, sorted by configuration order: runs of one tenant are duplicates, the
 * others overlap the first. Returns the first member of another tenant than the first. */
static struct sel_ref *check_cidr_group(struct pctx *c, struct sel_ref *g, size_t n)
{
	struct sel_ref *run = g, *other = NULL;
	size_t k;

	for (k = 1; k < n; k++) {
		if (g[k].tenant == run->tenant) {
			g[k].reported = true;
			diag_lc(c, g[k].line, g[k].col,
				"duplicate CIDR '%s' in %s (first at %u:%u)", show(g[k].text).s,
				c->meta[g[k].tenant].label, run->line, run->col);
			continue;
		}
		run = &g[k];
		if (!other)
			other = run;
		report_overlap(c, g, run);
	}
	return other;
}

/*
 * Sorted by address then prefix length, a prefix comes right before the prefixes it
 * contains. A sweep keeps the chain of prefixes that contain the current one (at most
 * one per length, so at most 129) and checks it against each group of equal prefixes.
 */
static void check_cidrs(struct pctx *c, struct sel_set *set)
{
	struct {
		struct sel_ref *rep, *other;
	} open[129];
	size_t depth = 0, i, j, s;

	sort_refs(set, cidr_ref_cmp);
	for (i = 0; i < set->n; i = j) {
		struct sel_ref *g = &set->v[i], *other;

		for (j = i + 1; j < set->n && cidr_same(&set->v[j].cidr, &g->cidr); j++)
			;
		other = check_cidr_group(c, g, j - i);
		while (depth && !cidr_contains(&open[depth - 1].rep->cidr, &g->cidr))
			depth--;
		for (s = depth; s-- > 0;) {
			struct sel_ref *e = open[s].rep;

			if (e->tenant == g->tenant)
				e = open[s].other;
			if (e)
				report_overlap(c, e, g);
		}
		if (depth < sizeof(open) / sizeof(open[0])) {
			open[depth].rep = g;
			open[depth++].other = other;
		}
	}
}

/* Classes may nest (the longest prefix wins), but one prefix names one class: the same
 * prefix twice in a class, or in two classes, is an error at the later one. */
static void check_class_cidrs(struct pctx *c, struct sel_set *set)
{
	size_t i, j, k;

	sort_refs(set, cidr_ref_cmp);
	for (i = 0; i < set->n; i = j) {
		struct sel_ref *g = &set->v[i], *run = g;

		for (j = i + 1; j < set->n && cidr_same(&set->v[j].cidr, &g->cidr); j++)
			;
		for (k = i + 1; k < j; k++) {
			struct sel_ref *r = &set->v[k];

			if (r->tenant == run->tenant) {
				diag_lc(c, r->line, r->col,
					"duplicate CIDR '%s' in %s (first at %u:%u)",
					show(r->text).s, c->cmeta[r->tenant].label, run->line,
					run->col);
				continue;
			}
			run = r;
			diag_lc(c, r->line, r->col, "CIDR '%s' is already in %s (at %u:%u)",
				show(r->text).s, c->cmeta[g->tenant].label, g->line, g->col);
		}
	}
}

static int text_ref_cmp(const void *pa, const void *pb)
{
	const struct sel_ref *a = pa, *b = pb;
	int r = strcmp(a->text, b->text);

	return r ? r : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

/* Interface patterns and cgroups: the same text in one tenant twice, or in two. */
static void check_texts(struct pctx *c, struct sel_set *set, const char *what)
{
	size_t i, j, k;

	sort_refs(set, text_ref_cmp);
	for (i = 0; i < set->n; i = j) {
		struct sel_ref *g = &set->v[i], *run = g;

		for (j = i + 1; j < set->n && !strcmp(set->v[j].text, g->text); j++)
			;
		for (k = i + 1; k < j; k++) {
			struct sel_ref *r = &set->v[k];

			if (r->tenant == run->tenant) {
				diag_lc(c, r->line, r->col,
					"duplicate %s '%s' in %s (first at %u:%u)", what,
					show(r->text).s, c->meta[r->tenant].label, run->line,
					run->col);
				continue;
			}
			run = r;
			diag_lc(c, r->line, r->col, "%s '%s' is already selected by %s (at %u:%u)",
				what, show(r->text).s, c->meta[g->tenant].label, g->line, g->col);
		}
	}
}

/* The first of SET's refs (sorted by text) whose text is S, or NULL. */
static const struct sel_ref *find_text(const struct sel_set *set, const char *s)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(set->v[mid].text, s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < set->n && !strcmp(set->v[lo].text, s) ? &set->v[lo] : NULL;
}

/* Runs after check_texts(&c->ifaces), which leaves the tenants' patterns sorted. */
static void check_uplinks(struct pctx *c)
{
	struct sel_set *u = &c->uplinks;
	size_t i;

	sort_refs(u, text_ref_cmp);
	for (i = 0; i < u->n; i++) {
		const struct sel_ref *r = &u->v[i], *hit = find_text(u, r->text);

		if (hit != r) {
			diag_lc(c, r->line, r->col,
				"duplicate uplink interface '%s' (first at %u:%u)", show(r->text).s,
				hit->line, hit->col);
			continue;
		}
		hit = find_text(&c->ifaces, r->text);
		if (hit)
			diag_lc(c, r->line, r->col,
				"uplink interface '%s' is also selected by %s (at %u:%u)",
				show(r->text).s, c->meta[hit->tenant].label, hit->line, hit->col);
	}
}

static int allow_ref_cmp(const void *pa, const void *pb)
{
	const struct sel_ref *a = pa, *b = pb;
	int r;

	if (a->tenant != b->tenant)
		return a->tenant < b->tenant ? -1 : 1;
	r = strcmp(a->text, b->text);
	return r ? r : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

/* allow_tenants: names of other configured tenants, each once. */
static void check_allows(struct pctx *c)
{
	struct sel_set *a = &c->allows;
	struct name_ref *names, key;
	size_t i, n = 0;

	if (!a->n)
		return;
	names = calloc(c->cfg.n_tenants + 1, sizeof(*names));
	if (!names) {
		c->oom = true;
		return;
	}
	for (i = 0; i < c->cfg.n_tenants; i++)
		if (c->meta[i].named)
			names[n++] = (struct name_ref){ c->cfg.tenants[i].name, 0 };
	if (n > 1)
		qsort(names, n, sizeof(*names), name_ref_cmp);
	sort_refs(a, allow_ref_cmp);
	for (i = 0; i < a->n; i++) {
		const struct sel_ref *r = &a->v[i], *first = r;
		const struct tg_tenant_conf *t = &c->cfg.tenants[r->tenant];

		while (first > a->v && first[-1].tenant == r->tenant &&
		       !strcmp(first[-1].text, r->text))
			first--;
		key = (struct name_ref){ r->text, 0 };
		if (first != r)
			diag_lc(c, r->line, r->col,
				"duplicate tenant '%s' in allow_tenants (first at %u:%u)",
				show(r->text).s, first->line, first->col);
		else if (c->meta[r->tenant].named && !strcmp(t->name, r->text))
			diag_lc(c, r->line, r->col, "%s cannot list itself in allow_tenants",
				c->meta[r->tenant].label);
		else if (!n || !bsearch(&key, names, n, sizeof(*names), name_ref_name_cmp))
			diag_lc(c, r->line, r->col, "unknown tenant '%s' in allow_tenants",
				show(r->text).s);
	}
	free(names);
}

/* One entry of a guard set, for sorting the sets together. */
struct gref {
	uint32_t list; /* GL_* */
	uint32_t idx;
};

static const struct tg_cidr *gref_cidr(const struct pctx *c, const struct gref *r)
{
	return &(*c->gl[r->list].v)[r->idx];
}

static int gref_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct gref *a = pa, *b = pb;
	const struct tg_cidr *x = gref_cidr(ctx, a), *y = gref_cidr(ctx, b);
	int r;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	r = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (r)
		return r;
	if (x->prefixlen != y->prefixlen)
		return x->prefixlen < y->prefixlen ? -1 : 1;
	if (a->list != b->list)
		return a->list < b->list ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* The same prefix in the allowlist and the blocklist is an error: which one was meant?
 * A honeypot source that either set holds is never redirected: a warning. Duplicates
 * within one set are harmless (list files often have them). */
static void check_guard_sets(struct pctx *c)
{
	size_t n = 0, i, j;
	struct gref *v;

	if (!c->gl[GL_ALLOW].cap && !c->gl[GL_HONEY].cap)
		return;
	for (int l = 0; l < GL_MAX; l++)
		n += *c->gl[l].n;
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		c->oom = true;
		return;
	}
	n = 0;
	for (uint32_t l = 0; l < GL_MAX; l++)
		for (i = 0; i < *c->gl[l].n; i++)
			v[n++] = (struct gref){ l, (uint32_t)i };
	if (n > 1)
		qsort_r(v, n, sizeof(*v), gref_cmp, c);
	for (i = 0; i < n; i = j) {
		const struct gref *first[GL_MAX] = { NULL };
		const struct tg_cidr *p = gref_cidr(c, &v[i]);
		char at[PATH_MAX + 16], text[64];

		for (j = i; j < n && cidr_same(gref_cidr(c, &v[j]), p) &&
			    gref_cidr(c, &v[j])->family == p->family;
		     j++)
			if (!first[v[j].list])
				first[v[j].list] = &v[j];
		tg_format_cidr(p, text, sizeof(text));
		if (first[GL_ALLOW] && first[GL_BLOCK]) {
			gpos_where(&c->gl[GL_ALLOW].pos[first[GL_ALLOW]->idx], at, sizeof(at));
			gpos_diag(c, &c->gl[GL_BLOCK].pos[first[GL_BLOCK]->idx], false,
				  "%s is in uplink.blocklist and in uplink.allowlist (at %s): a "
				  "source is allowed or blocked, not both",
				  text, at);
		}
		if (first[GL_HONEY] && (first[GL_ALLOW] || first[GL_BLOCK])) {
			int l = first[GL_ALLOW] ? GL_ALLOW : GL_BLOCK;

			gpos_where(&c->gl[l].pos[first[l]->idx], at, sizeof(at));
			gpos_diag(c, &c->gl[GL_HONEY].pos[first[GL_HONEY]->idx], true,
				  "honeypot source %s is also in uplink.%s (at %s), which decides "
				  "first: it is never redirected",
				  text, c->gl[l].name, at);
		}
	}
	free(v);
}

/* The guard must fit the kernel's tables once compiled (rules per prefix, groups,
 * entries): compiled here with stand-in tenant ids, as the agent will. */
static void check_guard_compile(struct pctx *c)
{
	struct tg_guard_compiled out;
	struct tg_applied ap = { 0 };
	char msg[sizeof(c->d->v->msg)] = "";
	int r;

	if (!c->cfg.guard.enabled)
		return;
	ap.tenant_ids = calloc(c->cfg.n_tenants + 1, sizeof(*ap.tenant_ids));
	if (!ap.tenant_ids) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < c->cfg.n_tenants; i++)
		ap.tenant_ids[i] = (uint32_t)i + 1;
	r = tg_guard_compile(&c->cfg, &ap, &out, msg, sizeof(msg));
	if (r == -ENOMEM)
		c->oom = true;
	else if (r)
		diag_lc(c, c->guard_line, c->guard_col, "%s", msg[0] ? msg : strerror(-r));
	tg_guard_compiled_free(&out);
	free(ap.tenant_ids);
}

static void check_across(struct pctx *c)
{
	check_tenant_names(c);
	check_cidrs(c, &c->cidr4);
	check_cidrs(c, &c->cidr6);
	check_class_cidrs(c, &c->class4);
	check_class_cidrs(c, &c->class6);
	check_texts(c, &c->ifaces, "interface");
	check_texts(c, &c->cgroups, "cgroup");
	check_uplinks(c);
	check_allows(c);
	check_guard_sets(c);
}

/*
 * Entry points
 */

/* libyaml reports reader errors (bad UTF-8, control characters) as a byte offset. */
static void offset_pos(const char *buf, size_t len, size_t off, unsigned *line, unsigned *col)
{
	size_t i;

	*line = *col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			++*col;
		}
	}
}

/* The byte at 0-based LINE and COLUMN (characters), or 0 past the end. */
static char byte_at(const char *buf, size_t len, size_t line, size_t column)
{
	size_t i = 0;

	for (; line && i < len; i++)
		if (buf[i] == '\n')
			line--;
	for (; i < len; i++) {
		if (((unsigned char)buf[i] & 0xc0) == 0x80)
			continue;
		if (!column--)
			return buf[i];
	}
	return 0;
}

static int yaml_failed(struct pctx *c, const yaml_parser_t *p, const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	const yaml_mark_t *m = &p->problem_mark, *cm = &p->context_mark;
	unsigned line, col;

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR) {
		offset_pos(buf, len, p->problem_offset, &line, &col);
		if (p->problem_value >= 0)
			diag_lc(c, line, col, "invalid YAML: %s (0x%02X)", problem,
				(unsigned)p->problem_value);
		else
			diag_lc(c, line, col, "invalid YAML: %s", problem);
		return 0;
	}
	line = (unsigned)m->line + 1;
	col = (unsigned)m->column + 1;
	if (byte_at(buf, len, m->line, m->column) == '\t')
		/* the most common way to break YAML deserves a plain answer */
		diag_lc(c, line, col, "invalid YAML: %s (YAML indents with spaces, not tabs)",
			problem);
	else if (p->context && !strcmp(problem, "second occurrence"))
		diag_lc(c, line, col, "invalid YAML: anchor defined twice (first at %u:%u)",
			(unsigned)cm->line + 1, (unsigned)cm->column + 1);
	else if (p->context && (cm->line != m->line || cm->column != m->column))
		diag_lc(c, line, col, "invalid YAML: %s (%s at %u:%u)", problem, p->context,
			(unsigned)cm->line + 1, (unsigned)cm->column + 1);
	else if (p->context)
		diag_lc(c, line, col, "invalid YAML: %s (%s)", problem, p->context);
	else
		diag_lc(c, line, col, "invalid YAML: %s", problem);
	return 0;
}

static bool is_null_scalar(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;

	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
		!strcmp(s, "NULL"));
}

/* One document, and only one. Returns 0 or -ENOMEM; problems become diagnostics. */
static int load_document(struct pctx *c, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root, *second;
	int r = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, c->doc)) {
		r = yaml_failed(c, &parser, buf, len);
		yaml_parser_delete(&parser);
		return r;
	}
	root = yaml_document_get_root_node(c->doc);
	if (!root || is_null_scalar(root)) {
		diag_lc(c, root ? LINE(root) : 1, root ? COL(root) : 1,
			"empty configuration: expected a mapping with at least a 'tenants' key");
	} else if (root->type != YAML_MAPPING_NODE && tag_ok(root)) {
		node_err(c, root, "top level: expected a mapping");
	} else {
		c->visit_max = VISITS_MIN +
			       VISITS_PER_NODE * (size_t)(c->doc->nodes.top - c->doc->nodes.start);
		parse_root(c, root);
	}
	if (root) {
		/* what follows the first document: nothing, or an error */
		if (!yaml_parser_load(&parser, &extra)) {
			r = yaml_failed(c, &parser, buf, len);
		} else {
			second = yaml_document_get_root_node(&extra);
			if (second)
				diag_lc(c, (unsigned)extra.start_mark.line + 1,
					(unsigned)extra.start_mark.column + 1,
					"more than one YAML document: expected exactly one");
			yaml_document_delete(&extra);
		}
	}
	yaml_parser_delete(&parser);
	return r;
}

static int fill_defaults(struct tg_config *cfg)
{
	if (!cfg->interval)
		cfg->interval = TG_DEFAULT_INTERVAL;
	if (!cfg->flows.capacity)
		cfg->flows.capacity = TG_DEFAULT_FLOWS;
	if (!cfg->flows.idle_timeout)
		cfg->flows.idle_timeout = FLOWS_IDLE_DEFAULT;
	if (!cfg->store_path)
		cfg->store_path = strdup(TG_DEFAULT_STORE);
	if (!cfg->pin_path)
		cfg->pin_path = strdup(TG_DEFAULT_PIN_PATH);
	if (!cfg->run_dir)
		cfg->run_dir = strdup(TG_DEFAULT_RUN_DIR);
	if (!cfg->events_path)
		cfg->events_path = strdup(TG_DEFAULT_EVENTS);
	if (!cfg->audit_path)
		cfg->audit_path = strdup(TG_DEFAULT_AUDIT);
	if (cfg->runtime.enabled && !cfg->runtime.inventory_path)
		cfg->runtime.inventory_path = strdup(TG_DEFAULT_INVENTORY);
	if (!cfg->api_listen && !(cfg->api_listen = strdup(TG_DEFAULT_API_LISTEN)))
		return -ENOMEM;
	if (!cfg->store_path || !cfg->pin_path || !cfg->run_dir || !cfg->events_path ||
	    !cfg->audit_path || (cfg->runtime.enabled && !cfg->runtime.inventory_path))
		return -ENOMEM;
	return 0;
}

static void pctx_init(struct pctx *c, struct tg_diags *diags, yaml_document_t *doc)
{
	memset(c, 0, sizeof(*c));
	c->doc = doc;
	c->d = diags;
	c->d_start = diags->n;
	c->cidr4 = (struct sel_set){ .max = TG_MAX_CIDRS, .what = "IPv4 CIDRs" };
	c->cidr6 = (struct sel_set){ .max = TG_MAX_CIDRS, .what = "IPv6 CIDRs" };
	c->ifaces = (struct sel_set){ .max = MAX_PATTERNS, .what = "interface patterns" };
	c->cgroups = (struct sel_set){ .max = MAX_CGROUPS, .what = "cgroups" };
	c->uplinks = (struct sel_set){ .max = MAX_PATTERNS, .what = "uplink interface patterns" };
	c->class4 = (struct sel_set){ .max = TG_MAX_CIDRS, .what = "class IPv4 CIDRs" };
	c->class6 = (struct sel_set){ .max = TG_MAX_CIDRS, .what = "class IPv6 CIDRs" };
	c->allows = (struct sel_set){ .max = SIZE_MAX, .what = "allow_tenants entries" };
	c->cfg.segmentation = true;
	c->gl[GL_ALLOW] = (struct gset_list){ .v = &c->cfg.guard.allow,
					      .n = &c->cfg.guard.n_allow,
					      .name = "allowlist" };
	c->gl[GL_BLOCK] = (struct gset_list){ .v = &c->cfg.guard.block,
					      .n = &c->cfg.guard.n_block,
					      .name = "blocklist" };
	c->gl[GL_HONEY] = (struct gset_list){ .v = &c->cfg.guard.honeypot_sources,
					      .n = &c->cfg.guard.n_honeypot_sources,
					      .name = "honeypot.sources" };
	/* the documented defaults (config.h), in effect when their section is given */
	c->cfg.guard.src_burst_ms = 1000;
	c->cfg.guard.src_prefix4 = 32;
	c->cfg.guard.src_prefix6 = 64;
	c->cfg.guard.syn_source_budget = 10;
	c->cfg.guard.syn_ban_ttl_ms = 60000;
	c->cfg.guard.syn_hold_ms = 10000;
	c->cfg.guard.syn_validated_ttl_ms = 600000;
}

static void pctx_release(struct pctx *c)
{
	free(c->meta);
	free(c->cidr4.v);
	free(c->cidr6.v);
	free(c->ifaces.v);
	free(c->cgroups.v);
	free(c->uplinks.v);
	free(c->class4.v);
	free(c->class6.v);
	free(c->allows.v);
	for (int l = 0; l < GL_MAX; l++)
		free(c->gl[l].pos);
}

/* One line for what the cap held back; a warning when only warnings were held back. */
static void summarize_dropped(struct pctx *c)
{
	char msg[64];

	if (!c->dropped)
		return;
	snprintf(msg, sizeof(msg), "too many diagnostics: %zu more not shown", c->dropped);
	diag_store(c, c->drop_line, c->drop_col, !c->dropped_errors, msg);
}

int tg_config_parse(const char *name, const char *buf, size_t len, struct tg_config *cfg,
		    struct tg_diags *diags)
{
	yaml_document_t doc;
	struct pctx c;
	int r;

	if (!cfg || !diags)
		return -EINVAL;
	memset(cfg, 0, sizeof(*cfg));
	if (!buf)
		buf = "";
	if (len > CONFIG_MAX_BYTES)
		return -EFBIG;
	memset(&doc, 0, sizeof(doc));
	pctx_init(&c, diags, &doc);
	c.name = name ? name : "<config>";
	r = load_document(&c, buf, len);
	if (!r && !c.stop)
		check_across(&c);
	if (!r && !c.stop && !c.errors && !c.oom)
		check_guard_compile(&c);
	yaml_document_delete(&doc);
	pctx_release(&c);
	summarize_dropped(&c);
	diags_sort(&c);
	if (!r && c.oom)
		r = -ENOMEM;
	if (!r && c.errors)
		r = -EINVAL;
	if (!r) {
		r = fill_defaults(&c.cfg);
		c.cfg.path = strdup(name ? name : "<config>");
		if (!c.cfg.path)
			r = -ENOMEM;
	}
	if (r) {
		tg_config_free(&c.cfg);
		return r;
	}
	*cfg = c.cfg;
	return 0;
}

/* Reads at most max + 1 bytes, so pipes and /proc files work too (-EFBIG when there are
 * more); regular_only refuses anything but a regular file with -EINVAL. */
static int read_all(const char *path, size_t max, bool regular_only, char **out, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;
	struct stat st;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		r = -errno;
	else if (regular_only && !S_ISREG(st.st_mode))
		r = -EINVAL;
	else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		r = -EFBIG;
	if (r) {
		close(fd);
		return r;
	}
	for (;;) {
		ssize_t got;

		if (n == cap) {
			char *b;

			if (cap > max) {
				r = -EFBIG;
				break;
			}
			cap = cap ? 2 * cap : 65536;
			if (cap > max + 1)
				cap = max + 1;
			b = realloc(buf, cap);
			if (!b) {
				r = -ENOMEM;
				break;
			}
			buf = b;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			break;
		}
		if (!got)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (!r && n > max)
		r = -EFBIG;
	if (r) {
		free(buf);
		return r;
	}
	*out = buf;
	*len = n;
	return 0;
}

int tg_config_load(const char *path, struct tg_config *cfg, struct tg_diags *diags)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path || !cfg || !diags)
		return -EINVAL;
	memset(cfg, 0, sizeof(*cfg));
	r = read_all(path, CONFIG_MAX_BYTES, false, &buf, &len);
	if (r)
		return r;
	r = tg_config_parse(path, buf, len, cfg, diags);
	free(buf);
	return r;
}

static void free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void tg_config_free(struct tg_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; cfg->tenants && i < cfg->n_tenants; i++) {
		struct tg_tenant_conf *t = &cfg->tenants[i];

		free(t->cidrs);
		free_strings(t->interfaces, t->n_interfaces);
		free_strings(t->cgroups, t->n_cgroups);
		free(t->deny);
		free_strings(t->allow_tenants, t->n_allow_tenants);
	}
	free(cfg->tenants);
	for (i = 0; cfg->classes && i < cfg->n_classes; i++)
		free(cfg->classes[i].cidrs);
	free(cfg->classes);
	free_strings(cfg->uplinks, cfg->n_uplinks);
	free(cfg->path);
	free(cfg->store_path);
	free(cfg->spool_dir);
	free(cfg->pin_path);
	free(cfg->run_dir);
	free(cfg->api_listen);
	free(cfg->api_token_file);
	free(cfg->ipfix.host);
	free(cfg->ipfix.port);
	free(cfg->deny);
	free(cfg->events_path);
	free(cfg->audit_path);
	free(cfg->guard.allow);
	free(cfg->guard.block);
	free(cfg->guard.rules);
	free(cfg->guard.honeypot_sources);
	free(cfg->runtime.rules);
	free(cfg->runtime.inventory_path);
	free_strings(cfg->runtime.bpf_allowlist, cfg->runtime.n_bpf_allowlist);
	free_strings(cfg->runtime.seccomp_learn, cfg->runtime.n_seccomp_learn);
	memset(cfg, 0, sizeof(*cfg));
}

static bool any_match(char *const *patterns, size_t n, const char *ifname)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!fnmatch(patterns[i], ifname, 0))
			return true;
	return false;
}

const struct tg_tenant_conf *tg_config_tenant_for_iface(const struct tg_config *cfg,
							const char *ifname)
{
	size_t i;

	if (!cfg || !ifname)
		return NULL;
	for (i = 0; i < cfg->n_tenants; i++)
		if (any_match(cfg->tenants[i].interfaces, cfg->tenants[i].n_interfaces, ifname))
			return &cfg->tenants[i];
	return NULL;
}

bool tg_config_is_uplink(const struct tg_config *cfg, const char *ifname)
{
	return cfg && ifname && any_match(cfg->uplinks, cfg->n_uplinks, ifname);
}

static bool str_differs(const char *a, const char *b)
{
	return (!a || !b) ? a != b : strcmp(a, b) != 0;
}

bool tg_config_restart_only(const struct tg_config *cur, const struct tg_config *next, char *key,
			    size_t len)
{
	const struct {
		const char *key;
		bool differs;
	} keys[] = {
		{ "node.name", strcmp(cur->node, next->node) != 0 },
		{ "billing.interval", cur->interval != next->interval },
		{ "billing.store", str_differs(cur->store_path, next->store_path) },
		{ "billing.spool_dir", str_differs(cur->spool_dir, next->spool_dir) },
		{ "agent.pin_path", str_differs(cur->pin_path, next->pin_path) },
		{ "agent.run_dir", str_differs(cur->run_dir, next->run_dir) },
		{ "outputs.events", str_differs(cur->events_path, next->events_path) },
		{ "outputs.audit", str_differs(cur->audit_path, next->audit_path) },
		{ "outputs.ipfix", str_differs(cur->ipfix.host, next->ipfix.host) ||
					   str_differs(cur->ipfix.port, next->ipfix.port) ||
					   cur->ipfix.interval != next->ipfix.interval ||
					   cur->ipfix.domain != next->ipfix.domain },
		{ "api.listen", str_differs(cur->api_listen, next->api_listen) },
		{ "api.token_file", str_differs(cur->api_token_file, next->api_token_file) },
		{ "flows.capacity", cur->flows.capacity != next->flows.capacity },
		{ "flows.idle_timeout", cur->flows.idle_timeout != next->flows.idle_timeout },
		{ "uplink.xdp_mode", cur->guard.xdp_mode != next->guard.xdp_mode },
		{ "runtime", cur->runtime.enabled != next->runtime.enabled },
		{ "runtime.inventory", cur->runtime.inventory != next->runtime.inventory },
		{ "runtime.inventory_path",
		  str_differs(cur->runtime.inventory_path, next->runtime.inventory_path) },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].differs) {
			snprintf(key, len, "%s", keys[i].key);
			return true;
		}
	}
	return false;
}
