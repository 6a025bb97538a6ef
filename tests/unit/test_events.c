/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The events file format: tg_event_json() against lines written out by hand from
 * docs/events.md, for every field and both address families; escaping of names that hold
 * quotes, backslashes, control bytes and invalid UTF-8 (checked a second time by python3's
 * json module, byte for byte); unknown tenant ids, reasons, types and protocols; the
 * reason table; and the line reader `tollgate events` uses, bad input first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "tap.h"

/* 1700000000.123456789 is 2023-11-14T22:13:20.123Z. */
#define MONO_NS 1000000000ull
#define OFFSET ((int64_t)1700000000123456789ll - (int64_t)MONO_NS)

static struct tg_applied ap;

static char *fmt(const struct tg_event *e, const struct tg_applied *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	tg_event_json(f, e, a, OFFSET);
	fclose(f);
	return buf;
}

/* Compares one formatted event with the expected line; prints both on a mismatch. */
static void expect(const char *name, const struct tg_event *e, const struct tg_applied *a,
		   const char *want, FILE *all)
{
	char *got = fmt(e, a);

	if (!tap_check(!strcmp(got, want), "%s", name)) {
		tap_diag("got:  %s", got);
		tap_diag("want: %s", want);
	}
	if (all)
		fprintf(all, "%s\n", got);
	free(got);
}

static struct tg_event base(void)
{
	struct tg_event e = {
		.time_ns = MONO_NS,
		.type = TG_EV_ENFORCE,
		.tenant_id = 5,
		.reason = TG_REASON_RATE,
		.count = 7,
		.family = 4,
		.proto = 6,
		.dir = TG_DIR_EGRESS,
		.sport = htons(443),
		.dport = htons(51000),
	};

	inet_pton(AF_INET, "192.0.2.1", e.src);
	inet_pton(AF_INET, "10.1.0.2", e.dst);
	return e;
}

static void test_format(FILE *all)
{
	struct tg_event e = base();

	expect("IPv4 packet drop: every packet field", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"acme\", \"reason\": \"rate\", \"action\": \"drop\", \"direction\": \"egress\", "
	       "\"src\": \"192.0.2.1\", \"dst\": \"10.1.0.2\", \"sport\": 443, \"dport\": 51000, "
	       "\"proto\": \"tcp\", \"count\": 7}",
	       all);

	e = base();
	e.family = 6;
	e.proto = 58;
	e.dir = TG_DIR_INGRESS;
	e.reason = TG_REASON_SEGMENT;
	e.sport = htons(128); /* ICMPv6 echo request: type in sport, code in dport */
	e.dport = 0;
	e.count = 1;
	inet_pton(AF_INET6, "2001:db8::1", e.src);
	inet_pton(AF_INET6, "fd00:1::2", e.dst);
	expect("IPv6 ICMPv6 drop, ingress", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"acme\", \"reason\": \"segment\", \"action\": \"drop\", \"direction\": "
	       "\"ingress\", \"src\": \"2001:db8::1\", \"dst\": \"fd00:1::2\", \"sport\": 128, "
	       "\"dport\": 0, \"proto\": \"icmpv6\", \"count\": 1}",
	       all);

	e = base();
	e.proto = 47;
	e.reason = TG_REASON_PPS;
	expect("another protocol is its number", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"acme\", \"reason\": \"pps\", \"action\": \"drop\", \"direction\": \"egress\", "
	       "\"src\": \"192.0.2.1\", \"dst\": \"10.1.0.2\", \"sport\": 443, \"dport\": 51000, "
	       "\"proto\": 47, \"count\": 7}",
	       all);

	e = base();
	e.family = 0;
	e.reason = TG_REASON_QUOTA_BLOCK;
	expect("a frame the parser could not read: direction, no addresses", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"acme\", \"reason\": \"quota_block\", \"action\": \"drop\", \"direction\": "
	       "\"egress\", \"count\": 7}",
	       all);

	e = base();
	e.family = 0;
	e.reason = TG_REASON_RAW_SOCKET;
	e.count = 1;
	e.pid = 4242;
	e.uid = 1000;
	memcpy(e.comm, "ping", 5);
	expect("raw socket refusal: refuse, process, no direction", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"acme\", \"reason\": \"raw_socket\", \"action\": \"refuse\", \"count\": 1, "
	       "\"pid\": 4242, \"uid\": 1000, \"comm\": \"ping\"}",
	       all);

	e = base();
	e.reason = TG_REASON_CONN_CAP;
	e.pid = 7;
	e.count = 3;
	memcpy(e.comm, "curl", 5);
	expect("connection cap refusal with the socket's addresses", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"acme\", \"reason\": \"conn_cap\", \"action\": \"refuse\", \"src\": "
	       "\"192.0.2.1\", \"dst\": \"10.1.0.2\", \"sport\": 443, \"dport\": 51000, \"proto\": "
	       "\"tcp\", \"count\": 3, \"pid\": 7, \"uid\": 0, \"comm\": \"curl\"}",
	       all);

	e = base();
	e.reason = TG_REASON_DENY;
	e.pid = 8;
	e.count = 1;
	memcpy(e.comm, "nc", 3);
	expect("a deny in a process's context (connect) is a refusal", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"acme\", \"reason\": \"deny\", \"action\": \"refuse\", \"src\": \"192.0.2.1\", "
	       "\"dst\": \"10.1.0.2\", \"sport\": 443, \"dport\": 51000, \"proto\": \"tcp\", "
	       "\"count\": 1, \"pid\": 8, \"uid\": 0, \"comm\": \"nc\"}",
	       all);

	e = (struct tg_event){ .time_ns = MONO_NS,
			       .type = TG_EV_QUOTA_EXCEEDED,
			       .tenant_id = 5,
			       .count = 1,
			       .value = 5000000000ull };
	expect("quota_exceeded: used, no reason, no direction", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"quota_exceeded\", "
	       "\"tenant\": \"acme\", \"count\": 1, \"used\": 5000000000}",
	       all);

	e = base();
	e.tenant_id = 0;
	e.family = 0;
	expect("tenant 0 is unattributed", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"unattributed\", \"reason\": \"rate\", \"action\": \"drop\", \"direction\": "
	       "\"egress\", \"count\": 7}",
	       all);

	e.tenant_id = 77;
	expect("an id without a name is tenant-N", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"tenant-77\", \"reason\": \"rate\", \"action\": \"drop\", \"direction\": "
	       "\"egress\", \"count\": 7}",
	       all);

	e.tenant_id = 0xffffffffu;
	expect("an id beyond the table is tenant-N", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"tenant-4294967295\", \"reason\": \"rate\", \"action\": \"drop\", \"direction\": "
	       "\"egress\", \"count\": 7}",
	       all);

	e.tenant_id = 5;
	expect("no names at all (ap NULL): tenant-N", &e, NULL,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"enforce\", \"tenant\": "
	       "\"tenant-5\", \"reason\": \"rate\", \"action\": \"drop\", \"direction\": "
	       "\"egress\", \"count\": 7}",
	       all);

	e.type = 9;
	e.reason = 40;
	e.value = 99;
	expect("unknown type and reason by number; a value is kept", &e, &ap,
	       "{\"time\": \"2023-11-14T22:13:20.123Z\", \"type\": \"type-9\", \"tenant\": "
	       "\"acme\", \"reason\": \"reason-40\", \"action\": \"drop\", \"count\": 7, "
	       "\"value\": 99}",
	       all);
}

/* Hex of a string's bytes, for comparing with python's view of a decoded value. */
static void hex(const char *s, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", (unsigned char)s[i]);
	out[2 * n] = '\0';
}

static void test_escaping(const char *dir)
{
	struct tg_event e = base();
	char path[256], cmd[1024], got[512] = "", want[512], *line;
	/* what the names should decode to: invalid bytes as U+FFFD, the rest as they are */
	static const char tenant_want[] = "a\"b\\c\x01\td";
	static const char comm_want[] = "sh\x7f\"\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd";
	FILE *f;

	snprintf(ap.meta[6].name, TG_NAME_MAX, "%s", "a\"b\\c\x01\td");
	e.tenant_id = 6;
	e.family = 0;
	e.pid = 1;
	/* DEL, a quote, a lone 0xff, a valid e-acute, then a lead byte cut off by the end */
	memcpy(e.comm, "sh\x7f\"\xff\xc3\xa9\xe2\x82", 10);
	line = fmt(&e, &ap);
	tap_check(strstr(line, "\"tenant\": \"a\\\"b\\\\c\\u0001\\td\"") != NULL,
		  "quotes, backslashes and control bytes of a name are escaped");
	tap_check(
		strstr(line,
		       "\"comm\": \"sh\\u007f\\\"\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\"") !=
			NULL,
		"invalid UTF-8 in comm becomes U+FFFD, valid UTF-8 stays");
	snprintf(path, sizeof(path), "%s/escape.json", dir);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%s\n", line);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys; o=json.loads(open(sys.argv[1], encoding=\"utf-8\")."
		 "read()); print(o[\"tenant\"].encode().hex(), o[\"comm\"].encode().hex())' %s",
		 path);
	f = popen(cmd, "r");
	if (f) {
		if (!fgets(got, sizeof(got), f))
			got[0] = '\0';
		got[strcspn(got, "\n")] = '\0';
		pclose(f);
	}
	hex(tenant_want, sizeof(tenant_want) - 1, want);
	strcat(want, " ");
	hex(comm_want, sizeof(comm_want) - 1, want + strlen(want));
	if (!tap_check(!strcmp(got, want),
		       "python3 decodes the escaped name and comm to the bytes"))
		tap_diag("got %s, want %s", got, want);
	free(line);

	/* a comm of 16 bytes with no NUL, and a tenant name filling its field */
	e = base();
	e.pid = 2;
	memcpy(e.comm, "0123456789abcdef", 16);
	memset(ap.meta[7].name, 'n', TG_NAME_MAX); /* no NUL: corrupt, still bounded */
	e.tenant_id = 7;
	line = fmt(&e, &ap);
	tap_check(strstr(line, "\"comm\": \"0123456789abcdef\"}") != NULL,
		  "a comm without its NUL is read to the field's end");
	memcpy(want, "\"tenant\": \"", 11);
	memset(want + 11, 'n', TG_NAME_MAX);
	memcpy(want + 11 + TG_NAME_MAX, "\",", 3);
	tap_check(strstr(line, want) != NULL, "a name without its NUL is bounded by its field");
	free(line);
}

static void test_reasons(void)
{
	static const char *const want[] = { "none",	  "rate",	 "pps",
					    "deny",	  "segment",	 "conn_cap",
					    "raw_socket", "quota_block", "quota_throttle",
					    "guard_deny", "ban",	 "source_rate",
					    "syn_flood",  "sqli",	 "traversal",
					    "honeypot" };
	char buf[32];
	int bad = 0;

	for (int r = 0; r < TG_REASON_MAX; r++)
		bad += !tg_reason_name(r) || strcmp(tg_reason_name(r), want[r]);
	tap_equal_u64(bad, 0, "tg_reason_name names every reason as docs/events.md does");
	tap_check(tg_reason_name(TG_REASON_MAX) == NULL && tg_reason_name(255) == NULL,
		  "unknown reasons have no name");
	tap_check(!strcmp(tg_reason_label(99, buf, sizeof(buf)), "reason-99") &&
			  !strcmp(tg_reason_label(TG_REASON_DENY, buf, sizeof(buf)), "deny"),
		  "tg_reason_label: the name or reason-N");
	tap_check(!strcmp(tg_event_type_name(TG_EV_ENFORCE), "enforce") &&
			  !strcmp(tg_event_type_name(TG_EV_QUOTA_EXCEEDED), "quota_exceeded") &&
			  tg_event_type_name(0) == NULL,
		  "event type names");
}

static int parses(const char *s, struct tg_evline *l)
{
	return tg_evline_parse(s, strlen(s), l);
}

static void test_reader(void)
{
	static const char *const bad[] = {
		"",
		"   ",
		"{",
		"[1, 2]",
		"\"a\"",
		"{\"a\": }",
		"{\"a\": 1,}",
		"{\"a\" 1}",
		"{a: 1}",
		"{\"a\": \"x}",
		"{\"a\": \"\\q\"}",
		"{\"a\": \"\\u12\"}",
		"{\"a\": 1} x",
		"{\"a\": {\"b\": 1}",
		"{\"a\": \"tab\there\"}",
	};
	struct tg_evline l;
	int wrong = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parses(bad[i], &l) != -EINVAL) {
			tap_diag("accepted: %s", bad[i]);
			wrong++;
		}
	}
	tap_equal_u64(wrong, 0, "the reader refuses %zu malformed lines",
		      sizeof(bad) / sizeof(bad[0]));
	tap_check(parses("{}", &l) == 0 && l.n == 0, "an empty object");
	tap_check(parses(" {\"a\":1,\"b\" : \"x\" , \"c\": true}\r", &l) == 0 && l.n == 3 &&
			  !strcmp(tg_evline_get(&l, "a"), "1") &&
			  !strcmp(tg_evline_get(&l, "b"), "x") && l.f[1].is_string &&
			  !l.f[2].is_string && !tg_evline_get(&l, "d"),
		  "members, spaces, strings and literals");
	tap_check(parses("{\"s\": \"q\\\"b\\\\s\\/n\\nu\\u00e9p\\ud83d\\ude00\"}", &l) == 0 &&
			  !strcmp(tg_evline_get(&l, "s"), "q\"b\\s/n\nu\xc3\xa9p\xf0\x9f\x98\x80"),
		  "escapes decode, \\u and surrogate pairs to UTF-8");
	tap_check(parses("{\"n\": {\"x\": [1, \"}\"]}, \"after\": 2}", &l) == 0 &&
			  !strcmp(tg_evline_get(&l, "n"), "{\"x\": [1, \"}\"]}") &&
			  !strcmp(tg_evline_get(&l, "after"), "2"),
		  "a nested value is kept raw and skipped whole");
}

/* Every line tg_event_json made is one JSON object for python3 too. */
static void test_python(const char *path, int lines)
{
	char cmd[512], out[32] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys\nn=0\nfor l in open(sys.argv[1], encoding=\"utf-8\"):"
		 "\n    assert isinstance(json.loads(l), dict); n+=1\nprint(n)' %s",
		 path);
	p = popen(cmd, "r");
	if (p) {
		if (!fgets(out, sizeof(out), p))
			out[0] = '\0';
		if (pclose(p))
			out[0] = '\0';
	}
	tap_equal_u64(strtol(out, NULL, 10), lines,
		      "python3 json.loads accepts every formatted line");
}

int main(void)
{
	char dir[] = "/tmp/tg-events-unit.XXXXXX", path[128], cmd[160];
	FILE *all;
	int before;

	ap.meta = calloc(TG_MAX_TENANTS, sizeof(*ap.meta));
	if (!ap.meta || !mkdtemp(dir)) {
		tap_check(0, "set-up");
		return tap_done();
	}
	snprintf(ap.meta[5].name, TG_NAME_MAX, "acme");
	ap.meta[5].flags = TG_TENANT_IN_USE | TG_TENANT_CONFIGURED;
	snprintf(path, sizeof(path), "%s/all.json", dir);
	all = fopen(path, "w");
	before = tap_n;
	test_format(all);
	if (all)
		fclose(all);
	test_python(path, tap_n - before);
	test_escaping(dir);
	test_reasons();
	test_reader();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
	free(ap.meta);
	return tap_done();
}
