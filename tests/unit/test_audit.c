/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The audit log (src/audit.c, docs/audit.md): bad input first; a log of 20 records made by
 * the real tg_audit_append, checked line by line against the documented format (OpenSSL
 * for the hashes here, and a second time by python3's json and hashlib, with the head
 * file); then, each on a fresh copy and for every record, every one-byte edit, a
 * deletion, a swap with its neighbour and two kinds of forged insertion, each of which
 * must fail and name exactly the line the change implies; every cut of the tail; the
 * head file missing, malformed or behind; appends that must refuse; 4 processes x 50
 * concurrent appends; and `tollgate audit verify` with its exit codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"
#include "tap.h"

#define NREC 20
#define WRITERS 4
#define PER_WRITER 50

static char dir[] = "/tmp/tg-audit-unit.XXXXXX";
static char logp[256];	 /* the log built by test_build */
static char head19[128]; /* its head file after 19 records */
static char *orig;	 /* the log's bytes */
static size_t orig_len;
static char orig_head[128];

/* Line i (1-based) of orig: its offset and length without the newline. */
static size_t off[NREC + 2], len[NREC + 2];

static const char *const types[] = { "ban",	  "unban", "block",	  "unblock",
				     "syn_flood", "guard", "agent_start", "config_applied" };

/* Members of record i; NULL and "" mean none. Nested values, escapes, raw UTF-8. */
static const char *members_of(int i)
{
	static const char *const m[] = {
		NULL,
		"\"src\":\"192.0.2.1/32\",\"ttl_s\":60",
		"\"src\":\"2001:db8::/"
		"48\",\"reason\":\"syn_flood\",\"pps\":123456,\"ratio\":1.5e-3",
		"\"cidrs\":[\"203.0.113.0/24\",\"198.51.100.0/"
		"24\"],\"by\":{\"user\":\"root\",\"uid\":0}",
		"",
		"\"note\":\"caf\xc3\xa9 \\u00e9\\ud83d\\ude00 \\\"q\\\" \\\\ "
		"\\/\",\"ok\":true,\"x\":null",
		"\"generation\":42,\"changed\":[],\"empty\":{},\"neg\":-7",
	};

	return m[i % (sizeof(m) / sizeof(m[0]))];
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void hex_sha256(const void *data, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static char *slurp(const char *path, size_t *n)
{
	char *buf = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	*n = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (cap - *n < 4096) {
			char *b = realloc(buf, cap + 65536);

			if (!b)
				break;
			buf = b;
			cap += 65536;
		}
		got = fread(buf + *n, 1, cap - *n - 1, f);
		*n += got;
		if (!got)
			break;
	}
	fclose(f);
	if (buf)
		buf[*n] = '\0';
	return buf;
}

static int spit(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -1;
	if (n && fwrite(buf, 1, n, f) != n)
		err = -1;
	if (fclose(f))
		err = -1;
	return err;
}

/* Writes the mutated log (and head, or none) to a fresh copy and verifies it. */
static int verify_copy(const char *buf, size_t n, const char *head, uint64_t *records,
		       uint64_t *bad, char *msg, size_t msg_len)
{
	char path[300], hpath[310];

	snprintf(path, sizeof(path), "%s/m.log", dir);
	snprintf(hpath, sizeof(hpath), "%s.head", path);
	if (spit(path, buf, n))
		return -1000;
	if (head) {
		if (spit(hpath, head, strlen(head)))
			return -1000;
	} else {
		unlink(hpath);
	}
	return tg_audit_verify(path, records, bad, msg, msg_len);
}

/* The log with line i replaced by text (NULL: removed) and extra inserted before line at
 * (0: nothing inserted). Lines are 1-based; at may be NREC + 1 (after the last). */
static char *rebuild(int drop, const char *insert, int at, int swap_a, size_t *n)
{
	char *out = malloc(orig_len + 70000);
	size_t o = 0;

	for (int l = 1; l <= NREC + 1; l++) {
		int src = l;

		if (insert && l == at)
			o += sprintf(out + o, "%s\n", insert);
		if (l > NREC)
			break;
		if (l == drop)
			continue;
		if (swap_a && l == swap_a)
			src = l + 1;
		else if (swap_a && l == swap_a + 1)
			src = l - 1;
		memcpy(out + o, orig + off[src], len[src] + 1);
		o += len[src] + 1;
	}
	*n = o;
	return out;
}

static void test_bad_input(void)
{
	char path[300], big[70016], deep[200];
	uint64_t records = 99, bad = 99;
	char msg[256];
	size_t o = 0;
	static const char *const bad_types[] = {
		"",
		"Ban",
		"ban-1",
		"ban x",
		"b\xc3\xa9",
		"ban\n",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaa"
	};
	static const char *const bad_members[] = {
		"\"a\":",
		"a:1",
		"\"a\":1,",
		"\"a\":01",
		"\"a\":\"\\x\"",
		"\"a\":[1,]",
		"\"a\":\"\xff\"",
		"\"a\":1}{\"b\":2",
		"\"a\":\"\\ud800\"",
		"\"a\":-",
		"\"a\":1.",
		"\"a\":tru",
		"\"a\":\"x\ty\"",
		"\"a\" 1",
		"\"a\":\"\xc0\xaf\"",
		"\"a\":\"\xed\xa0\x80\"",
		"\"a\":\"unterminated",
	};
	static const char *const clashing[] = { "\"seq\":5",
						"\"prev\":\"0000000000000000000000000000000000"
						"000000000000000000000000000000\"",
						"\"time\":\"2020-01-01T00:00:00.000Z\"",
						"\"type\":\"ban\"",
						"\"s\\u0065q\":5",
						"\"x\":1,\"type\":\"x\"" };

	snprintf(path, sizeof(path), "%s/bad/sub/audit.log", dir);
	tap_equal_u64(tg_audit_append(NULL, "ban", NULL), (uint64_t)-EINVAL, "no path: EINVAL");
	tap_equal_u64(tg_audit_append("", "ban", NULL), (uint64_t)-EINVAL, "empty path: EINVAL");
	tap_equal_u64(tg_audit_append(path, NULL, NULL), (uint64_t)-EINVAL, "no type: EINVAL");
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++)
		tap_equal_u64(tg_audit_append(path, bad_types[i], NULL), (uint64_t)-EINVAL,
			      "type '%s' (not [a-z_]{1,64}): EINVAL",
			      strcmp(bad_types[i], "ban\n") ? bad_types[i] : "ban\\n");
	tap_equal_u64(tg_audit_append(path, "ban", "\"a\":1\n"), (uint64_t)-EINVAL,
		      "members with a newline: EINVAL");
	tap_equal_u64(tg_audit_append(path, "ban", "\"a\":\"\r\""), (uint64_t)-EINVAL,
		      "members with a carriage return: EINVAL");
	for (size_t i = 0; i < sizeof(bad_members) / sizeof(bad_members[0]); i++)
		tap_equal_u64(tg_audit_append(path, "ban", bad_members[i]), (uint64_t)-EINVAL,
			      "members that make no JSON object (#%zu): EINVAL", i);
	for (size_t i = 0; i < sizeof(clashing) / sizeof(clashing[0]); i++)
		tap_equal_u64(tg_audit_append(path, "ban", clashing[i]), (uint64_t)-EINVAL,
			      "members repeating a record's own member (%s): EINVAL", clashing[i]);
	for (int i = 0; i < 40; i++)
		o += sprintf(deep + o, i ? "[" : "\"d\":[");
	for (int i = 0; i < 40; i++)
		o += sprintf(deep + o, "]");
	tap_equal_u64(tg_audit_append(path, "ban", deep), (uint64_t)-EINVAL,
		      "members nested 40 deep: EINVAL");
	memcpy(big, "\"a\":\"", 5);
	memset(big + 5, 'x', 70000);
	memcpy(big + 70005, "\"", 2);
	tap_equal_u64(tg_audit_append(path, "ban", big), (uint64_t)-EMSGSIZE,
		      "a record over 64 KiB: EMSGSIZE");
	snprintf(path, sizeof(path), "%s/bad", dir);
	tap_check(access(path, F_OK) && errno == ENOENT,
		  "refused appends created nothing (not even the directory)");

	snprintf(path, sizeof(path), "%s/none.log", dir);
	tap_equal_u64(tg_audit_verify(path, &records, &bad, msg, sizeof(msg)), (uint64_t)-ENOENT,
		      "verify of a missing file: ENOENT");
	tap_equal_u64(tg_audit_verify(dir, &records, &bad, msg, sizeof(msg)), (uint64_t)-EISDIR,
		      "verify of a directory: EISDIR");
}

static const char *oracle_py =
	"import calendar, hashlib, json, re, sys\n"
	"log, lo, hi, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])\n"
	"data = open(log, 'rb').read()\n"
	"assert data.endswith(b'\\n')\n"
	"lines = data[:-1].split(b'\\n')\n"
	"assert len(lines) == n, (len(lines), n)\n"
	"prev, last = '0' * 64, 0\n"
	"for i, l in enumerate(lines, 1):\n"
	"    o = json.loads(l.decode('utf-8'))\n"
	"    assert isinstance(o, dict)\n"
	"    assert list(o)[:3] == ['seq', 'time', 'type'] and list(o)[-1] == 'prev', l\n"
	"    assert o['seq'] == i and o['prev'] == prev, (i, l)\n"
	"    assert re.fullmatch('[a-z_]+', o['type'])\n"
	"    m = re.fullmatch(r'(\\d{4})-(\\d\\d)-(\\d\\d)T(\\d\\d):(\\d\\d):(\\d\\d)\\.(\\d{3})Z',"
	" o['time'])\n"
	"    t = calendar.timegm(tuple(map(int, m.groups()[:6]))) * 1000 + int(m.group(7))\n"
	"    assert lo <= t <= hi and t >= last, (lo, t, hi, last)\n"
	"    last = t\n"
	"    prev = hashlib.sha256(l).hexdigest()\n"
	"assert open(log + '.head').read() == '%d %s\\n' % (n, prev)\n"
	"print('intact', n)\n";

/* python3 checks the log and its head independently: JSON, order of keys, seq, prev as
 * hashlib's SHA-256 of the previous line, time format and bounds, the head. */
static void oracle(const char *path, long long lo, long long hi, int n)
{
	char script[300], cmd[900], out[64] = "", want[64];
	FILE *p;

	snprintf(script, sizeof(script), "%s/oracle.py", dir);
	spit(script, oracle_py, strlen(oracle_py));
	snprintf(cmd, sizeof(cmd), "python3 %s %s %lld %lld %d 2>&1", script, path, lo, hi, n);
	p = popen(cmd, "r");
	if (p) {
		if (!fgets(out, sizeof(out), p))
			out[0] = '\0';
		pclose(p);
	}
	snprintf(want, sizeof(want), "intact %d\n", n);
	if (!tap_check(!strcmp(out, want), "python3 (json, hashlib) finds %s intact, %d records",
		       path, n))
		tap_diag("python3 said: %s", out);
}

static void test_build(void)
{
	char path[300], hex[65] = "", want[1024], time[32];
	long long lo = now_ms(), hi;
	struct stat st;
	int err = 0, exact = 0;
	size_t o = 0;

	snprintf(logp, sizeof(logp), "%s/var/log/tollgate/audit.log", dir);
	for (int i = 1; i <= NREC && !err; i++) {
		if (i == NREC) {
			char *h;

			snprintf(path, sizeof(path), "%s.head", logp);
			h = slurp(path, &o);
			snprintf(head19, sizeof(head19), "%s", h ? h : "");
			free(h);
		}
		err = tg_audit_append(logp, types[i % 8], members_of(i));
	}
	hi = now_ms();
	tap_equal_u64(err, 0, "%d records appended", NREC);

	snprintf(path, sizeof(path), "%s/var", dir);
	tap_check(!stat(path, &st) && (st.st_mode & 07777) == 0700, "missing directory var: 0700");
	snprintf(path, sizeof(path), "%s/var/log/tollgate", dir);
	tap_check(!stat(path, &st) && (st.st_mode & 07777) == 0700,
		  "missing directory var/log/tollgate: 0700");
	tap_check(!stat(logp, &st) && (st.st_mode & 07777) == 0600, "the log: 0600");
	snprintf(path, sizeof(path), "%s.head", logp);
	tap_check(!stat(path, &st) && (st.st_mode & 07777) == 0600, "the head file: 0600");
	snprintf(path, sizeof(path), "%s.head.tmp", logp);
	tap_check(access(path, F_OK) != 0, "no temporary head file left behind");

	orig = slurp(logp, &orig_len);
	snprintf(path, sizeof(path), "%s.head", logp);
	{
		size_t hn;
		char *h = slurp(path, &hn);

		snprintf(orig_head, sizeof(orig_head), "%s", h ? h : "");
		free(h);
	}
	if (!orig) {
		tap_check(0, "read the log");
		return;
	}
	/* split into lines */
	o = 0;
	for (int i = 1; i <= NREC; i++) {
		char *nl = memchr(orig + o, '\n', orig_len - o);

		if (!nl) {
			tap_check(0, "line %d of the log has a newline", i);
			return;
		}
		off[i] = o;
		len[i] = nl - (orig + o);
		o = nl - orig + 1;
	}
	tap_equal_u64(o, orig_len, "the log is exactly %d lines", NREC);

	/* each line is exactly the documented record, prev being OpenSSL's SHA-256 of the
	 * line before (its time taken from the line, checked by python3 below) */
	memset(hex, '0', 64);
	for (int i = 1; i <= NREC; i++) {
		const char *m = members_of(i), *line = orig + off[i];
		int pre = snprintf(want, sizeof(want), "{\"seq\":%d,\"time\":\"", i);

		snprintf(time, sizeof(time), "%.24s", line + pre);
		snprintf(want, sizeof(want),
			 "{\"seq\":%d,\"time\":\"%s\",\"type\":\"%s\"%s%s,"
			 "\"prev\":\"%s\"}",
			 i, time, types[i % 8], m && *m ? "," : "", m ? m : "", hex);
		if (strlen(want) == len[i] && !memcmp(want, line, len[i]))
			exact++;
		else if (exact == i - 1)
			tap_diag("line %d: got %.*s\n#   want %s", i, (int)len[i], line, want);
		hex_sha256(line, len[i], hex);
	}
	tap_equal_u64(exact, NREC, "every line is {seq,time,type,members,prev} as documented");
	snprintf(want, sizeof(want), "%d %s\n", NREC, hex);
	if (!tap_check(!strcmp(orig_head, want), "the head file is \"20 <hash of line 20>\\n\""))
		tap_diag("got %s", orig_head);
	oracle(logp, lo, hi, NREC);
}

static void test_intact(void)
{
	uint64_t records = 0, bad = 99;
	char msg[512] = "x";

	tap_equal_u64(tg_audit_verify(logp, &records, &bad, msg, sizeof(msg)), 0,
		      "the log verifies");
	tap_equal_u64(records, NREC, "  with %d records", NREC);
	tap_check(!msg[0], "  and no message (the head is there)");
	tap_equal_u64(tg_audit_verify(logp, NULL, NULL, NULL, 0), 0, "verify takes NULL outputs");
}

/* The replacement bytes of an edit of byte c. */
static void edits_of(unsigned char c, unsigned char r[2])
{
	if (c >= '0' && c <= '9')
		r[0] = '0' + (c - '0' + 1) % 10;
	else if (c >= 'a' && c <= 'z')
		r[0] = 'a' + (c - 'a' + 1) % 26;
	else
		r[0] = c == 'x' ? 'y' : 'x';
	r[1] = c == ' ' ? '_' : ' ';
}

/* Changes the last digit of the year in record i's time: the line stays a record. */
static void year_digit(char *buf, int i)
{
	char pre[32];
	size_t p = off[i] + snprintf(pre, sizeof(pre), "{\"seq\":%d,\"time\":\"", i) + 3;

	buf[p] = buf[p] == '0' ? '1' : '0';
}

/* Every one-byte edit of every record (its newline included), on a fresh copy each. */
static void test_edits(void)
{
	char *buf = malloc(orig_len + 1), msg[512];
	uint64_t records, bad;

	for (int i = 1; i <= NREC; i++) {
		int n = 0, caught = 0;

		for (size_t p = off[i]; p <= off[i] + len[i]; p++) {
			unsigned char r[2];

			edits_of(orig[p], r);
			for (int k = 0; k < 2; k++) {
				int rc;

				memcpy(buf, orig, orig_len);
				buf[p] = r[k];
				rc = verify_copy(buf, orig_len, orig_head, &records, &bad, msg,
						 sizeof(msg));
				n++;
				if (rc == 1 && bad == (uint64_t)i)
					caught++;
				else if (caught == n - 1)
					tap_diag("line %d byte %zu '%c'->'%c': rc %d line %llu: %s",
						 i, p - off[i], orig[p], r[k], rc,
						 (unsigned long long)bad, msg);
			}
		}
		tap_check(caught == n, "record %d: all %d one-byte edits fail at line %d", i, n, i);
	}
	/* the reason, for one of each kind */
	memcpy(buf, orig, orig_len);
	year_digit(buf, 5);
	verify_copy(buf, orig_len, orig_head, &records, &bad, msg, sizeof(msg));
	if (!tap_check(bad == 5 && strstr(msg, "changed") && strstr(msg, "line 6"),
		       "an edited record: 'changed', vouched for by line 6"))
		tap_diag("line %llu: %s", (unsigned long long)bad, msg);
	memcpy(buf, orig, orig_len);
	year_digit(buf, NREC);
	verify_copy(buf, orig_len, orig_head, &records, &bad, msg, sizeof(msg));
	if (!tap_check(bad == NREC && strstr(msg, "head"),
		       "an edited last record is named by the head's hash"))
		tap_diag("line %llu: %s", (unsigned long long)bad, msg);
	free(buf);
}

static void expect_bad(const char *what, const char *buf, size_t n, const char *head, uint64_t want,
		       const char *reason, int *ok)
{
	char msg[512] = "";
	uint64_t records = 0, bad = 0;
	int rc = verify_copy(buf, n, head, &records, &bad, msg, sizeof(msg));

	if (rc == 1 && bad == want && (!reason || strstr(msg, reason)))
		return;
	(*ok)--;
	tap_diag("%s: rc %d line %llu (want %llu): %s", what, rc, (unsigned long long)bad,
		 (unsigned long long)want, msg);
}

static void test_structure(void)
{
	char forged[600], name[64], hex[65];
	const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";
	size_t n;
	char *buf;
	int ok;

	for (int i = 1; i <= NREC; i++) {
		ok = 1;
		buf = rebuild(i, NULL, 0, 0, &n);
		snprintf(name, sizeof(name), "record %d deleted", i);
		/* the first line that lost its predecessor; the end, via the head, for the last */
		expect_bad(name, buf, n, orig_head, i, i == NREC ? "cut off the end" : "missing",
			   &ok);
		free(buf);
		tap_check(ok == 1, "record %d deleted: fails at line %d", i, i);
	}
	for (int i = 1; i <= NREC; i++) {
		int a = i < NREC ? i : i - 1;

		ok = 1;
		buf = rebuild(0, NULL, 0, a, &n);
		snprintf(name, sizeof(name), "records %d and %d swapped", a, a + 1);
		expect_bad(name, buf, n, orig_head, a, NULL, &ok);
		free(buf);
		tap_check(ok == 1, "record %d swapped with its neighbour: fails at line %d", i, a);
	}
	for (int i = 1; i <= NREC + 1; i++) {
		/* well forged: the seq it takes, the hash of the line before it */
		if (i == 1)
			snprintf(hex, sizeof(hex), "%s", zero);
		else
			hex_sha256(orig + off[i - 1], len[i - 1], hex);
		snprintf(forged, sizeof(forged),
			 "{\"seq\":%d,\"time\":\"2026-01-01T00:00:00.000Z\",\"type\":\"unban\","
			 "\"src\":\"198.51.100.7/32\",\"prev\":\"%s\"}",
			 i, hex);
		ok = 1;
		buf = rebuild(0, forged, i, 0, &n);
		snprintf(name, sizeof(name), "well-forged record inserted at line %d", i);
		expect_bad(name, buf, n, orig_head, i, i <= NREC ? "inserted" : "past the head",
			   &ok);
		free(buf);
		/* naively forged: a prev that is nobody's hash */
		hex_sha256("forged", 6, hex);
		snprintf(forged, sizeof(forged),
			 "{\"seq\":%d,\"time\":\"2026-01-01T00:00:00.000Z\",\"type\":\"unban\","
			 "\"src\":\"198.51.100.7/32\",\"prev\":\"%s\"}",
			 i, hex);
		buf = rebuild(0, forged, i, 0, &n);
		snprintf(name, sizeof(name), "naively forged record inserted at line %d", i);
		expect_bad(name, buf, n, orig_head, i, NULL, &ok);
		free(buf);
		tap_check(ok == 1,
			  "forged records inserted at line %d (two kinds): fail at line %d", i, i);
	}
	ok = 1;
	buf = rebuild(5, NULL, 0, 0, &n);
	expect_bad("record 5 deleted", buf, n, orig_head, 5,
		   "seq 6 follows seq 4: record 5 is missing before it", &ok);
	free(buf);
	tap_check(ok == 1, "a deletion is explained: 'seq 6 follows seq 4: record 5 is missing'");
}

/* Every cut of the file: the line the cut falls in (or the first missing one) is named. */
static void test_truncation(void)
{
	char msg[512];
	uint64_t records, bad, lines = 0;
	int caught = 0, n = 0, ok = 1;

	for (size_t c = 0; c < orig_len; c++) {
		int rc = verify_copy(orig, c, orig_head, &records, &bad, msg, sizeof(msg));

		n++;
		if (rc == 1 && bad == lines + 1)
			caught++;
		else if (caught == n - 1)
			tap_diag("cut at %zu: rc %d line %llu, want %llu: %s", c, rc,
				 (unsigned long long)bad, (unsigned long long)lines + 1, msg);
		if (orig[c] == '\n')
			lines++;
	}
	tap_check(caught == n, "all %d cuts of the tail fail at the line cut or first missing", n);
	expect_bad("last record cut off", orig, off[NREC], orig_head, NREC,
		   "the log ends at seq 19 but its head says 20", &ok);
	expect_bad("everything cut off", orig, 0, orig_head, 1, "empty", &ok);
	expect_bad("half of the last line cut off", orig, off[NREC] + len[NREC] / 2, orig_head,
		   NREC, "not a JSON object", &ok);
	expect_bad("the last newline cut off", orig, orig_len - 1, orig_head, NREC, "no newline",
		   &ok);
	tap_check(ok == 1, "cuts are explained (ends at seq 19 but head says 20, empty, "
			   "half a line, no newline)");
}

static void test_head(void)
{
	char msg[512], head[160], hex[65];
	uint64_t records, bad;
	size_t n;
	char *buf;
	int rc, ok = 1;

	rc = verify_copy(orig, orig_len, NULL, &records, &bad, msg, sizeof(msg));
	tap_check(rc == 0 && records == NREC && strstr(msg, "warning") && strstr(msg, "no head"),
		  "no head file: intact, %d records, with a warning", NREC);
	if (rc)
		tap_diag("rc %d: %s", rc, msg);
	buf = rebuild(7, NULL, 0, 0, &n);
	expect_bad("no head, record 7 deleted", buf, n, NULL, 7, NULL, &ok);
	free(buf);
	buf = malloc(orig_len);
	memcpy(buf, orig, orig_len);
	year_digit(buf, 12);
	expect_bad("no head, record 12 edited", buf, orig_len, NULL, 12, NULL, &ok);
	free(buf);
	tap_check(ok == 1, "without a head, edits and deletions inside the log still fail");
	rc = verify_copy(orig, off[NREC], NULL, &records, &bad, msg, sizeof(msg));
	tap_check(rc == 0 && records == NREC - 1,
		  "without a head, a cut at a record boundary cannot be seen (documented)");

	static const char *const malformed[] = { "", "20\n", "20 xyz\n", "x 1\n",
						 "020 " /* + hash */ };
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		ok = 1;
		snprintf(head, sizeof(head), "%s%s", malformed[i], i == 4 ? orig_head + 3 : "");
		expect_bad("malformed head", orig, orig_len, head, NREC + 1, "head file", &ok);
		tap_check(ok == 1, "a malformed head file (#%zu) fails at line %d", i, NREC + 1);
	}
	snprintf(head, sizeof(head), "%s", orig_head);
	for (char *p = head + 3; *p && *p != '\n'; p++)
		*p = *p >= 'a' ? *p - 'a' + 'A' : *p;
	ok = 1;
	expect_bad("upper-case head", orig, orig_len, head, NREC + 1, "head file", &ok);
	hex_sha256("other", 5, hex);
	snprintf(head, sizeof(head), "20 %s\n", hex);
	expect_bad("head of another hash", orig, orig_len, head, NREC, "head", &ok);
	snprintf(head, sizeof(head), "21 %s\n", hex);
	expect_bad("head ahead", orig, orig_len, head, NREC + 1, "ends at seq 20", &ok);
	tap_check(ok == 1, "an upper-case, foreign or longer head fails");

	ok = 1;
	expect_bad("head one behind", orig, orig_len, head19, NREC, "past the head", &ok);
	tap_check(ok == 1, "a head one record behind (an append cut short) fails at line 20");
}

static int append_to_copy(const char *buf, size_t n, const char *head)
{
	char path[300];
	int err;

	verify_copy(buf, n, head, NULL, NULL, NULL, 0); /* writes the copy */
	snprintf(path, sizeof(path), "%s/m.log", dir);
	err = tg_audit_append(path, "unban", "\"src\":\"192.0.2.1/32\"");
	return err;
}

static void test_append_refuses(void)
{
	char path[300], msg[512];
	uint64_t records, bad;
	size_t n;
	char *now;
	int err;

	snprintf(path, sizeof(path), "%s/m.log", dir);
	err = append_to_copy(orig, off[NREC], orig_head);
	now = slurp(path, &n);
	tap_check(err == -EBADMSG && n == off[NREC] && !memcmp(now, orig, n),
		  "append to a log cut short of its head: EBADMSG, nothing written");
	free(now);
	err = append_to_copy(orig, 0, orig_head);
	now = slurp(path, &n);
	tap_check(err == -EBADMSG && n == 0, "append to an emptied log with a head: EBADMSG");
	free(now);
	err = append_to_copy(orig, orig_len - 1, orig_head);
	now = slurp(path, &n);
	tap_check(err == -EBADMSG && n == orig_len - 1,
		  "append after a line without its newline: EBADMSG, nothing written");
	free(now);
	err = append_to_copy(orig, orig_len, "20 xyz\n");
	tap_equal_u64(err, (uint64_t)-EBADMSG, "append with a malformed head: EBADMSG");

	err = append_to_copy(orig, orig_len, head19);
	tap_equal_u64(err, 0, "append with the head one behind (an append cut short): done");
	tap_check(tg_audit_verify(path, &records, &bad, msg, sizeof(msg)) == 0 &&
			  records == NREC + 1,
		  "  and the log verifies with %d records, its head repaired", NREC + 1);
	err = append_to_copy(orig, orig_len, NULL);
	tap_equal_u64(err, 0, "append with no head file: done");
	tap_check(tg_audit_verify(path, &records, &bad, msg, sizeof(msg)) == 0 &&
			  records == NREC + 1 && !msg[0],
		  "  and the log verifies with its head re-created");

	/* rotation: the log and its head moved away together; a new chain starts */
	{
		char moved[320], hmoved[330], hpath[310];

		snprintf(moved, sizeof(moved), "%s/m.log.1", dir);
		snprintf(hmoved, sizeof(hmoved), "%s.head", moved);
		snprintf(hpath, sizeof(hpath), "%s.head", path);
		rename(path, moved);
		rename(hpath, hmoved);
		err = tg_audit_append(path, "agent_start", NULL);
		now = slurp(path, &n);
		tap_check(!err && now && !strncmp(now, "{\"seq\":1,", 9) &&
				  tg_audit_verify(path, &records, &bad, msg, sizeof(msg)) == 0 &&
				  records == 1,
			  "after the log and its head are moved away, a new chain starts at seq 1");
		free(now);
		tap_check(tg_audit_verify(moved, &records, &bad, msg, sizeof(msg)) == 0 &&
				  records == NREC + 1,
			  "  and the moved log still verifies");
	}
}

/* 4 processes append 50 records each at the same time. */
static void test_concurrent(void)
{
	char path[300], key[64];
	pid_t pids[WRITERS];
	long long lo = now_ms(), hi;
	uint64_t records = 0, bad = 0;
	char msg[512];
	int failed = 0, once = 0;
	size_t n;
	char *log;

	snprintf(path, sizeof(path), "%s/conc/audit.log", dir);
	fflush(stdout);
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			int errs = 0;

			for (int j = 0; j < PER_WRITER; j++) {
				char m[64];

				snprintf(m, sizeof(m), "\"writer\":%d,\"n\":%d", w, j);
				if (tg_audit_append(path, "guard", m))
					errs++;
			}
			_exit(errs > 100 ? 100 : errs);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int st = -1;

		if (pids[w] < 0 || waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			failed++;
	}
	hi = now_ms();
	tap_equal_u64(failed, 0, "%d writers x %d appends: none failed", WRITERS, PER_WRITER);
	tap_equal_u64(tg_audit_verify(path, &records, &bad, msg, sizeof(msg)), 0,
		      "the concurrent log verifies");
	tap_equal_u64(records, WRITERS * PER_WRITER, "  with %d records", WRITERS * PER_WRITER);
	log = slurp(path, &n);
	for (int w = 0; log && w < WRITERS; w++) {
		for (int j = 0; j < PER_WRITER; j++) {
			const char *p = log;
			int c = 0;

			snprintf(key, sizeof(key), "\"writer\":%d,\"n\":%d,", w, j);
			while ((p = strstr(p, key))) {
				c++;
				p++;
			}
			once += c == 1;
		}
	}
	free(log);
	tap_equal_u64(once, WRITERS * PER_WRITER, "every writer's every record is there once");
	oracle(path, lo, hi, WRITERS * PER_WRITER);
}

/* Runs a command; its output (stdout, and stderr when asked) and exit status. */
static int run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int st;

	out[0] = '\0';
	if (!p)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void)
{
	const char *outdir = getenv("OUT") ? getenv("OUT") : "build";
	char bin[300], cmd[1200], out[2048], want[1024], path[300];
	char *buf;
	int rc;

	snprintf(bin, sizeof(bin), "%s/tollgate", outdir);
	if (!tap_check(access(bin, X_OK) == 0, "the command line is built (%s)", bin))
		return;
	snprintf(cmd, sizeof(cmd), "%s audit verify %s 2>/dev/null", bin, logp);
	rc = run(cmd, out, sizeof(out));
	snprintf(want, sizeof(want), "%s: %d records, chain intact\n", logp, NREC);
	if (!tap_check(rc == 0 && !strcmp(out, want), "audit verify: intact, exit 0"))
		tap_diag("exit %d: %s", rc, out);
	snprintf(cmd, sizeof(cmd), "%s audit verify --json %s 2>/dev/null", bin, logp);
	rc = run(cmd, out, sizeof(out));
	snprintf(want, sizeof(want),
		 "{\"file\":\"%s\",\"records\":%d,\"intact\":true,\"bad_line\":null,"
		 "\"reason\":null,\"warning\":null}\n",
		 logp, NREC);
	if (!tap_check(rc == 0 && !strcmp(out, want), "audit verify --json: intact, exit 0"))
		tap_diag("exit %d: %s", rc, out);

	snprintf(path, sizeof(path), "%s/m.log", dir);
	buf = malloc(orig_len);
	memcpy(buf, orig, orig_len);
	year_digit(buf, 7);
	verify_copy(buf, orig_len, orig_head, NULL, NULL, NULL, 0);
	free(buf);
	snprintf(cmd, sizeof(cmd), "%s audit verify %s 2>/dev/null", bin, path);
	rc = run(cmd, out, sizeof(out));
	snprintf(want, sizeof(want), "%s: record at line 7 is bad: ", path);
	if (!tap_check(rc == 1 && !strncmp(out, want, strlen(want)),
		       "audit verify: an edited record 7, exit 1"))
		tap_diag("exit %d: %s", rc, out);
	snprintf(cmd, sizeof(cmd), "%s audit verify %s --json 2>/dev/null", bin, path);
	rc = run(cmd, out, sizeof(out));
	if (!tap_check(rc == 1 && strstr(out, "\"intact\":false,\"bad_line\":7,\"reason\":\""),
		       "audit verify --json: intact false, bad_line 7, exit 1"))
		tap_diag("exit %d: %s", rc, out);

	verify_copy(orig, off[NREC], orig_head, NULL, NULL, NULL, 0);
	snprintf(cmd, sizeof(cmd), "%s audit verify %s 2>/dev/null", bin, path);
	rc = run(cmd, out, sizeof(out));
	snprintf(want, sizeof(want),
		 "%s: record at line 20 is bad: the log ends at seq 19 but its head says 20: "
		 "records were cut off the end\n",
		 path);
	if (!tap_check(rc == 1 && !strcmp(out, want), "audit verify: the tail cut off, exit 1"))
		tap_diag("exit %d: %s", rc, out);

	verify_copy(orig, orig_len, NULL, NULL, NULL, NULL, 0);
	snprintf(cmd, sizeof(cmd), "%s audit verify %s 2>&1 >/dev/null", bin, path);
	rc = run(cmd, out, sizeof(out));
	tap_check(rc == 0 && strstr(out, "warning: no head file"),
		  "audit verify without a head: exit 0, a warning on stderr");

	static const struct {
		const char *args, *err;
		int rc;
	} usage[] = {
		{ "audit verify /nonexistent/audit.log", "cannot read the audit log", 2 },
		{ "audit verify /tmp", "cannot read the audit log", 2 },
		{ "audit", "usage: tollgate audit verify", 2 },
		{ "audit verify", "takes one FILE", 2 },
		{ "audit verify a b", "takes one FILE", 2 },
		{ "audit frob x", "unknown audit command 'frob'", 2 },
		{ "audit verify --bogus x", "usage:", 2 },
		{ "audit --help", "usage: tollgate audit verify", 0 },
		{ "audit verify --help", "usage: tollgate audit verify", 0 },
	};
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s 2>&1", bin, usage[i].args);
		rc = run(cmd, out, sizeof(out));
		if (!tap_check(rc == usage[i].rc && strstr(out, usage[i].err),
			       "tollgate %s: exit %d, '%s'", usage[i].args, usage[i].rc,
			       usage[i].err))
			tap_diag("exit %d: %s", rc, out);
	}
}

int main(void)
{
	char cmd[128];

	umask(022);
	if (!mkdtemp(dir)) {
		tap_check(0, "mkdtemp");
		return tap_done();
	}
	test_bad_input();
	test_build();
	if (orig) {
		test_intact();
		test_edits();
		test_structure();
		test_truncation();
		test_head();
		test_append_refuses();
		test_cli();
	}
	test_concurrent();
	free(orig);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
	return tap_done();
}
