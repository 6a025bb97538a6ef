// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The API's request parsers under libFuzzer (docs/fuzzing.md), without a server: the
 * input is a request split into lines,
 *
 *	METHOD \n URL \n AUTHORIZATION \n BODY...
 *
 * (missing lines are absent). The URL's path goes through the routing table
 * (tg_http_route) and the dashboard's assets, every query argument the API reads through
 * its parser (tg_http_parse_uint with the endpoint's bounds, tg_http_parse_cursor), the
 * Authorization value through the token check, and the body through the parsers of
 * POST /api/v1/block and of /unblock (json-c) and of /reload, all from src/http.c.
 *
 * Properties, besides no crash, leak or sanitizer report, each against a reading of the
 * format written here on its own:
 *  - a number argument is accepted exactly when it is decimal digits only with a value in
 *    bounds, and then that value; absent, the default;
 *  - a cursor is accepted exactly when it is HEX:HEX (each with an optional 0x) and fits
 *    64 bits, and then those values;
 *  - the token check passes exactly for "Bearer " and the token;
 *  - a body accepted by unblock is accepted by block, with the same prefix and no ttl; an
 *    accepted prefix is canonical and is the "cidr" member's value; an accepted body has
 *    no NUL byte (JSON has none); a refusal says why;
 *  - a reload body is accepted exactly when it is JSON white space, or {} with white
 *    space around.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "config.h"
#include "dashboard.h"
#include "fuzz.h"
#include "http.h"

#define TOKEN "fuzz-token-0123456789abcdef"

/* The query arguments the API reads as numbers, with their bounds (src/http.c, get() and
 * get_events()). */
static const struct {
	const char *name;
	unsigned long lo, hi, def;
} num_args[] = {
	{ "limit", 1, TG_EVENTS_LIMIT, 100 },
	{ "wait", 0, 30, 0 },
	{ "seconds", 1, TG_RATES_SAMPLES, 60 },
	{ "interval", 0, 5, 0 },
	{ "top", 0, 100000, 50 },
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void check_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long def)
{
	unsigned long got = 12345, want = 0;
	bool ok = s && *s, overflow = false;
	int r = tg_http_parse_uint(s, lo, hi, def, &got);

	if (!s) {
		FUZZ_CHECK(!r && got == def, "absent: %d, %lu", r, got);
		return;
	}
	for (const char *p = s; ok && *p; p++) {
		if (*p < '0' || *p > '9')
			ok = false;
		else if (want > (~0ul - (unsigned long)(*p - '0')) / 10)
			overflow = true;
		else
			want = want * 10 + (unsigned long)(*p - '0');
	}
	ok = ok && !overflow && want >= lo && want <= hi;
	FUZZ_CHECK(ok == !r, "'%s' in [%lu, %lu]: %d, expected %s", s, lo, hi, r,
		   ok ? "accepted" : "refused");
	if (ok)
		FUZZ_CHECK(got == want, "'%s': %lu, expected %lu", s, got, want);
}

/* One hex number of a cursor at *p: an optional 0x, then digits; false when none or over
 * 64 bits. */
static bool hex_part(const char **p, unsigned long long *v)
{
	const char *s = *p;
	int digits = 0;

	*v = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && hexval(s[2]) >= 0)
		s += 2;
	for (; hexval(*s) >= 0; s++, digits++) {
		if (*v >> 60)
			return false;
		*v = *v << 4 | (unsigned)hexval(*s);
	}
	*p = s;
	return digits > 0;
}

static void check_cursor(const char *s)
{
	unsigned long long ino, off, want_ino = 0, want_off = 0;
	const char *p = s;
	bool ok;
	int r = tg_http_parse_cursor(s, &ino, &off);

	ok = hex_part(&p, &want_ino) && *p++ == ':' && hex_part(&p, &want_off) && !*p;
	FUZZ_CHECK(ok == !r, "cursor '%s': %d, expected %s", s, r, ok ? "accepted" : "refused");
	if (ok)
		FUZZ_CHECK(ino == want_ino && off == want_off, "cursor '%s': %llx:%llx", s, ino,
			   off);
}

static bool cidr_eq(const struct tg_cidr *a, const struct tg_cidr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static void check_cidr(const struct tg_cidr *c)
{
	unsigned bits = c->family == AF_INET ? 32 : 128;
	struct tg_cidr back;
	char s[64];

	FUZZ_CHECK((c->family == AF_INET || c->family == AF_INET6) && c->prefixlen <= bits,
		   "family %d, /%u", c->family, c->prefixlen);
	for (unsigned b = c->prefixlen; b < bits; b++)
		FUZZ_CHECK(!(c->addr[b / 8] & (0x80 >> (b % 8))), "host bit %u set", b);
	FUZZ_CHECK(!tg_format_cidr(c, s, sizeof(s)) && !tg_parse_cidr(s, &back) &&
			   cidr_eq(&back, c),
		   "'%s' does not parse back to itself", s);
}

static void check_body(const char *body, size_t len)
{
	struct tg_cidr cb, cu, member;
	char mb[256], mu[256];
	uint64_t tb, tu;
	int rb, ru;

	memset(&cb, 0, sizeof(cb));
	memset(&cu, 0, sizeof(cu));
	mb[0] = mu[0] = '\0';
	rb = tg_http_parse_block(false, body, len, &cb, &tb, mb, sizeof(mb));
	ru = tg_http_parse_block(true, body, len, &cu, &tu, mu, sizeof(mu));
	FUZZ_CHECK(rb == 0 || rb == -EINVAL, "block: %d", rb);
	FUZZ_CHECK(ru == 0 || ru == -EINVAL, "unblock: %d", ru);
	FUZZ_CHECK(!rb || (mb[0] && strnlen(mb, sizeof(mb)) < sizeof(mb)), "block: no reason");
	FUZZ_CHECK(!ru || (mu[0] && strnlen(mu, sizeof(mu)) < sizeof(mu)), "unblock: no reason");
	if (!ru) {
		FUZZ_CHECK(!rb && cidr_eq(&cb, &cu) && tb == 0 && tu == 0,
			   "unblock accepts what block does not (%d: %s)", rb, mb);
	}
	if (!rb) {
		/* JSON has no raw NUL byte, in a string or between tokens */
		FUZZ_CHECK(!memchr(body, '\0', len), "a body with a NUL byte accepted");
		/* the prefix is the "cidr" member's: read the body again with json-c */
		struct json_object *o = json_tokener_parse(body), *v;

		check_cidr(&cb);
		FUZZ_CHECK(o && json_object_object_get_ex(o, "cidr", &v) &&
				   !tg_parse_cidr(json_object_get_string(v), &member) &&
				   cidr_eq(&member, &cb),
			   "the prefix is not the body's cidr member");
		json_object_put(o);
	}
}

/* The body of POST /api/v1/reload: JSON white space, or {} with white space around. */
static void check_reload_body(const char *b, size_t len)
{
	size_t i = 0;
	bool want;

	while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	if (i < len && b[i] == '{') {
		i++;
		while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
			i++;
		want = i < len && b[i++] == '}';
		while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
			i++;
		want = want && i == len;
	} else {
		want = i == len;
	}
	FUZZ_CHECK(tg_http_reload_body_ok(b, len) == want, "reload body of %zu bytes: expected %s",
		   len, want ? "accepted" : "refused");
}

/* The query part, as the server hands its arguments over: split at '&' and the first '=',
 * "%XX" and '+' decoded. */
static void check_query(char *q)
{
	for (char *save = NULL, *arg = strtok_r(q, "&", &save); arg;
	     arg = strtok_r(NULL, "&", &save)) {
		char *val = strchr(arg, '='), *w;

		if (val)
			*val++ = '\0';
		else
			val = arg + strlen(arg); /* "?limit": an empty value */
		w = val;
		for (char *p = val; *p; p++) {
			if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				*w++ = (char)(hexval(p[1]) << 4 | hexval(p[2]));
				p += 2;
			} else {
				*w++ = *p == '+' ? ' ' : *p;
			}
		}
		*w = '\0';
		/* a decoded NUL ends the value, as it does for the server's C strings */
		for (size_t i = 0; i < sizeof(num_args) / sizeof(num_args[0]); i++)
			if (!strcmp(arg, num_args[i].name))
				check_uint(val, num_args[i].lo, num_args[i].hi, num_args[i].def);
		if (!strcmp(arg, "after"))
			check_cursor(val);
	}
}

/* The next line of [*p, end) as a string of its own (NULL at the end). */
static char *line(const char **p, const char *end)
{
	const char *nl = *p < end ? memchr(*p, '\n', (size_t)(end - *p)) : NULL;
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s;

	if (*p >= end)
		return NULL;
	s = malloc(n + 1);
	FUZZ_CHECK(s, "out of memory");
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += nl ? n + 1 : n;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *method = line(&p, end), *url = line(&p, end), *auth = line(&p, end);
	size_t body_len = (size_t)(end - p);
	char *body_s = malloc(body_len + 1);
	bool post = false;

	FUZZ_CHECK(body_s, "out of memory");
	/* the server's body buffer: its bytes and a NUL after them (src/http.c on_request) */
	memcpy(body_s, p, body_len);
	body_s[body_len] = '\0';
	if (url) {
		char *q = strchr(url, '?');

		if (q)
			*q++ = '\0';
		if (tg_http_route(url, &post) == 0)
			FUZZ_CHECK(!post, "no route, but POST");
		{
			const struct tg_asset *a = tg_dashboard_asset(url);

			if (a)
				FUZZ_CHECK(a->data && a->len && a->content_type, "asset %s", url);
		}
		if (q)
			check_query(q);
	}
	check_uint(NULL, 1, 10, 5);
	if (method && *method) /* the first line as a query value too */
		check_cursor(method);
	FUZZ_CHECK(tg_http_token_match(TOKEN, auth) ==
			   (auth && !strncmp(auth, "Bearer ", 7) && !strcmp(auth + 7, TOKEN)),
		   "token check on '%s'", auth ? auth : "(none)");
	if (auth && !strncmp(auth, "Bearer ", 7))
		FUZZ_CHECK(tg_http_token_match(auth + 7, auth), "'%s' refused its own token", auth);
	check_body(body_s, body_len);
	check_reload_body(body_s, body_len);
	free(body_s);
	free(auth);
	free(url);
	free(method);
	return 0;
}
