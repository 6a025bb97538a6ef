// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The hash-chained audit log (docs/audit.md, audit.h).
 *
 * A record is one line: {"seq":N,"time":"...","type":"...",MEMBERS,"prev":"HEX"}\n where
 * HEX is the SHA-256 of the previous line without its newline (64 zeros for the first).
 * "prev" comes last, so a reader sees at a glance which hash a line carries; the chain
 * does not depend on the order, since the whole line is hashed.
 *
 * Appends are serialised by flock(LOCK_EX) on the log: under the lock the last line is
 * read from the end of the file (never the whole file), the new line is written with one
 * write(), flushed (fdatasync), and the head file PATH.head ("SEQ HASH\n" of the last
 * record) replaced by rename. A verifier takes a shared lock just long enough to read the
 * head and the log's length, so that it sees the two as one appender left them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"

#define HASH_LEN 32
#define HEX_LEN (2 * HASH_LEN)
#define LINE_MAX_BYTES 65536 /* a record's line, its newline included */
#define TYPE_MAX 64
#define DEPTH_MAX 32
#define HEAD_MAX 128 /* "SEQ HASH\n" is at most 20 + 1 + 64 + 1 bytes */
#define REOPEN_TRIES 16

/* The fields every record has; the rest of the line is only hashed. */
struct rec {
	uint64_t seq;
	uint8_t prev[HASH_LEN];
	unsigned have; /* HAVE_* */
};

enum { HAVE_SEQ = 1, HAVE_TIME = 2, HAVE_TYPE = 4, HAVE_PREV = 8 };

static const uint8_t zero_hash[HASH_LEN];

static int sha256(const void *data, size_t len, uint8_t out[HASH_LEN])
{
	unsigned int n = 0;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != HASH_LEN)
		return -EIO;
	return 0;
}

static void to_hex(const uint8_t *h, char out[HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < HASH_LEN; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[HEX_LEN] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is refused: the writer never uses it */
}

/* Exactly HEX_LEN lower-case hex digits. */
static bool from_hex(const char *s, size_t len, uint8_t out[HASH_LEN])
{
	if (len != HEX_LEN)
		return false;
	for (int i = 0; i < HASH_LEN; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool type_valid(const char *s, size_t len)
{
	if (!len || len > TYPE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return false;
	}
	return true;
}

/*
 * A strict JSON (RFC 8259) reader for one line: it checks the whole object and picks out
 * the top-level "seq", "time", "type" and "prev".
 */
struct jp {
	const unsigned char *s, *p, *end;
	const char *err; /* the first thing found wrong */
	bool syntax;	 /* err is a syntax error (reported with its column) */
};

static bool jp_fail(struct jp *j, const char *what)
{
	if (!j->err) {
		j->err = what;
		j->syntax = true;
	}
	return false;
}

static bool jp_field_fail(struct jp *j, const char *what)
{
	if (!j->err) {
		j->err = what;
		j->syntax = false;
	}
	return false;
}

static void jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

/* The length of the UTF-8 sequence at p, or 0 when it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = *p, lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* no overlong forms */
	else if (c == 0xed)
		hi = 0x9f; /* no surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f; /* nothing above U+10FFFF */
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

static bool jp_hex4(struct jp *j, unsigned *cp)
{
	*cp = 0;
	for (int i = 0; i < 4; i++, j->p++) {
		unsigned char c = j->p < j->end ? *j->p : 0;
		unsigned d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return jp_fail(j, "a bad \\u escape");
		*cp = *cp << 4 | d;
	}
	return true;
}

struct jstr {
	char *out; /* may be NULL: only checked */
	size_t cap, len;
};

static void jstr_put(struct jstr *o, unsigned char c)
{
	if (o->out && o->len + 1 < o->cap)
		o->out[o->len] = (char)c;
	o->len++;
}

static void jstr_put_cp(struct jstr *o, unsigned cp)
{
	if (cp < 0x80) {
		jstr_put(o, cp);
	} else if (cp < 0x800) {
		jstr_put(o, 0xc0 | cp >> 6);
		jstr_put(o, 0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		jstr_put(o, 0xe0 | cp >> 12);
		jstr_put(o, 0x80 | (cp >> 6 & 0x3f));
		jstr_put(o, 0x80 | (cp & 0x3f));
	} else {
		jstr_put(o, 0xf0 | cp >> 18);
		jstr_put(o, 0x80 | (cp >> 12 & 0x3f));
		jstr_put(o, 0x80 | (cp >> 6 & 0x3f));
		jstr_put(o, 0x80 | (cp & 0x3f));
	}
}

/* A string, decoded into o (NUL-terminated, cut at its capacity; o->len is the whole
 * decoded length). */
static bool jp_string(struct jp *j, struct jstr *o)
{
	o->len = 0;
	if (j->p >= j->end || *j->p != '"')
		return jp_fail(j, "a string expected");
	j->p++;
	for (;;) {
		unsigned char c;

		if (j->p >= j->end)
			return jp_fail(j, "an unterminated string");
		c = *j->p;
		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20)
			return jp_fail(j, "a control character in a string");
		if (c == '\\') {
			unsigned cp, lo;

			if (++j->p >= j->end)
				return jp_fail(j, "an unterminated string");
			c = *j->p++;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				jstr_put(o, c);
				break;
			case 'b':
				jstr_put(o, '\b');
				break;
			case 'f':
				jstr_put(o, '\f');
				break;
			case 'n':
				jstr_put(o, '\n');
				break;
			case 'r':
				jstr_put(o, '\r');
				break;
			case 't':
				jstr_put(o, '\t');
				break;
			case 'u':
				if (!jp_hex4(j, &cp))
					return false;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return jp_fail(j, "a lone low surrogate in a string");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
						return jp_fail(j,
							       "a lone high surrogate in a string");
					j->p += 2;
					if (!jp_hex4(j, &lo))
						return false;
					if (lo < 0xdc00 || lo > 0xdfff)
						return jp_fail(j,
							       "a lone high surrogate in a string");
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				jstr_put_cp(o, cp);
				break;
			default:
				j->p--;
				return jp_fail(j, "a bad escape in a string");
			}
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_len(j->p, j->end);

			if (!n)
				return jp_fail(j, "invalid UTF-8 in a string");
			for (size_t i = 0; i < n; i++)
				jstr_put(o, j->p[i]);
			j->p += n;
			continue;
		}
		jstr_put(o, c);
		j->p++;
	}
	if (o->out && o->cap)
		o->out[o->len < o->cap ? o->len : o->cap - 1] = '\0';
	return true;
}

static bool is_digit(const struct jp *j)
{
	return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

/* A number; *val is its value when it is a non-negative integer that fits (*uint). */
static bool jp_number(struct jp *j, bool *uint, uint64_t *val)
{
	bool neg = false, overflow = false, integer = true;
	uint64_t v = 0;

	if (j->p < j->end && *j->p == '-') {
		neg = true;
		j->p++;
	}
	if (!is_digit(j))
		return jp_fail(j, "a bad number");
	if (*j->p == '0') {
		j->p++;
	} else {
		while (is_digit(j)) {
			unsigned d = *j->p++ - '0';

			if (v > (UINT64_MAX - d) / 10)
				overflow = true;
			else
				v = v * 10 + d;
		}
	}
	if (j->p < j->end && *j->p == '.') {
		integer = false;
		j->p++;
		if (!is_digit(j))
			return jp_fail(j, "a bad number");
		while (is_digit(j))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		integer = false;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!is_digit(j))
			return jp_fail(j, "a bad number");
		while (is_digit(j))
			j->p++;
	}
	*uint = integer && !neg && !overflow;
	*val = v;
	return true;
}

static bool jp_literal(struct jp *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
		return jp_fail(j, "a value expected");
	j->p += n;
	return true;
}

static bool jp_object(struct jp *j, int depth, struct rec *top);
static bool jp_value(struct jp *j, int depth);

static bool jp_array(struct jp *j, int depth)
{
	j->p++; /* '[' */
	jp_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return true;
	}
	for (;;) {
		if (!jp_value(j, depth + 1))
			return false;
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return true;
		}
		return jp_fail(j, "',' or ']' expected");
	}
}

static bool jp_value(struct jp *j, int depth)
{
	struct jstr s = {};
	bool uint;
	uint64_t v;

	if (depth > DEPTH_MAX)
		return jp_fail(j, "values nested too deep");
	jp_ws(j);
	if (j->p >= j->end)
		return jp_fail(j, "a value expected");
	switch (*j->p) {
	case '{':
		return jp_object(j, depth, NULL);
	case '[':
		return jp_array(j, depth);
	case '"':
		return jp_string(j, &s);
	case 't':
		return jp_literal(j, "true");
	case 'f':
		return jp_literal(j, "false");
	case 'n':
		return jp_literal(j, "null");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return jp_number(j, &uint, &v);
		return jp_fail(j, "a value expected");
	}
}

/* One of the record's own members. */
static bool jp_field(struct jp *j, const char *key, struct rec *r)
{
	char buf[TYPE_MAX + 2];
	struct jstr s = { buf, sizeof(buf), 0 };
	bool uint;
	uint64_t v;

	jp_ws(j);
	if (!strcmp(key, "seq")) {
		if (r->have & HAVE_SEQ)
			return jp_field_fail(j, "two \"seq\" members");
		r->have |= HAVE_SEQ;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jp_field_fail(j, "\"seq\" is not a positive integer");
		if (!jp_number(j, &uint, &v))
			return false;
		if (!uint || !v)
			return jp_field_fail(j, "\"seq\" is not a positive integer");
		r->seq = v;
		return true;
	}
	if (!strcmp(key, "prev")) {
		char hex[HEX_LEN + 2];
		struct jstr h = { hex, sizeof(hex), 0 };

		if (r->have & HAVE_PREV)
			return jp_field_fail(j, "two \"prev\" members");
		r->have |= HAVE_PREV;
		if (j->p >= j->end || *j->p != '"')
			return jp_field_fail(j, "\"prev\" is not a string");
		if (!jp_string(j, &h))
			return false;
		if (!from_hex(hex, h.len, r->prev))
			return jp_field_fail(j, "\"prev\" is not 64 lower-case hex digits");
		return true;
	}
	if (!strcmp(key, "time")) {
		if (r->have & HAVE_TIME)
			return jp_field_fail(j, "two \"time\" members");
		r->have |= HAVE_TIME;
		if (j->p >= j->end || *j->p != '"')
			return jp_field_fail(j, "\"time\" is not a string");
		s.out = NULL;
		return jp_string(j, &s);
	}
	/* "type" */
	if (r->have & HAVE_TYPE)
		return jp_field_fail(j, "two \"type\" members");
	r->have |= HAVE_TYPE;
	if (j->p >= j->end || *j->p != '"')
		return jp_field_fail(j, "\"type\" is not a string");
	if (!jp_string(j, &s))
		return false;
	if (!type_valid(buf, s.len))
		return jp_field_fail(j, "\"type\" is not [a-z_]+ (at most 64 letters)");
	return true;
}

/* An object; top is the record when this is the line's top-level object. */
static bool jp_object(struct jp *j, int depth, struct rec *top)
{
	j->p++; /* '{' */
	jp_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return true;
	}
	for (;;) {
		char key[8];
		struct jstr k = { key, sizeof(key), 0 };

		jp_ws(j);
		if (j->p >= j->end || *j->p != '"')
			return jp_fail(j, "a member name expected");
		if (!jp_string(j, &k))
			return false;
		jp_ws(j);
		if (j->p >= j->end || *j->p != ':')
			return jp_fail(j, "':' expected");
		j->p++;
		if (top && k.len < sizeof(key) &&
		    (!strcmp(key, "seq") || !strcmp(key, "prev") || !strcmp(key, "time") ||
		     !strcmp(key, "type"))) {
			if (!jp_field(j, key, top))
				return false;
		} else if (!jp_value(j, depth + 1)) {
			return false;
		}
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return true;
		}
		return jp_fail(j, "',' or '}' expected");
	}
}

/* Parses one line (without its newline) as a record. Returns 0, or -EBADMSG with the
 * reason in why. */
static int parse_record(const char *line, size_t len, struct rec *r, char *why, size_t why_len)
{
	struct jp j = { (const unsigned char *)line, (const unsigned char *)line,
			(const unsigned char *)line + len, NULL, false };
	static const struct {
		unsigned bit;
		const char *name;
	} need[] = { { HAVE_SEQ, "seq" },
		     { HAVE_TIME, "time" },
		     { HAVE_TYPE, "type" },
		     { HAVE_PREV, "prev" } };

	memset(r, 0, sizeof(*r));
	jp_ws(&j);
	if (j.p >= j.end || *j.p != '{') {
		snprintf(why, why_len, "not a JSON object%s", len ? "" : " (an empty line)");
		return -EBADMSG;
	}
	if (jp_object(&j, 1, r)) {
		jp_ws(&j);
		if (j.p != j.end)
			jp_fail(&j, "more after the object");
	}
	if (j.err) {
		if (j.syntax)
			snprintf(why, why_len, "not a JSON object: %s at column %zu", j.err,
				 (size_t)(j.p - j.s) + 1);
		else
			snprintf(why, why_len, "%s", j.err);
		return -EBADMSG;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!(r->have & need[i].bit)) {
			snprintf(why, why_len, "it has no \"%s\" member", need[i].name);
			return -EBADMSG;
		}
	}
	return 0;
}

static int head_path_of(const char *path, char *out, size_t len, const char *suffix)
{
	if ((size_t)snprintf(out, len, "%s%s", path, suffix) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Reads "SEQ HASH\n". Returns 0, -ENOENT, -EBADMSG when it is something else, or another
 * negative errno. */
static int read_head(const char *path, uint64_t *seq, uint8_t hash[HASH_LEN])
{
	char buf[HEAD_MAX + 1];
	size_t len = 0, i = 0;
	uint64_t v = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	if (len > HEAD_MAX)
		return -EBADMSG;
	if (!len || buf[0] < '0' || buf[0] > '9' || (buf[0] == '0' && len > 1 && buf[1] != ' '))
		return -EBADMSG;
	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		unsigned d = buf[i] - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	if (len != i + 1 + HEX_LEN + 1 || buf[i] != ' ' || buf[len - 1] != '\n' ||
	    !from_hex(buf + i + 1, HEX_LEN, hash))
		return -EBADMSG;
	*seq = v;
	return 0;
}

/* Replaces the head file: a temporary beside it, flushed, renamed over it. */
static int write_head(const char *head, const char *tmp, uint64_t seq, const uint8_t hash[HASH_LEN])
{
	char buf[HEAD_MAX], hex[HEX_LEN + 1];
	int fd, len, err = 0;

	to_hex(hash, hex);
	len = snprintf(buf, sizeof(buf), "%llu %s\n", (unsigned long long)seq, hex);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, buf, len) != len)
		err = errno ? -errno : -EIO;
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, head))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* Creates the missing directories of path's parent, mode 0700. */
static int make_parents(const char *path)
{
	char buf[PATH_MAX];
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return 0;
	*slash = '\0';
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int pread_full(int fd, char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO; /* the file shrank under the lock: not by an appender */
		buf += n;
		len -= n;
		off += n;
	}
	return 0;
}

/*
 * The last line of a file of size bytes, read backwards from its end in growing chunks.
 * *line points into *buf (which the caller frees); its length excludes the newline.
 * -EBADMSG when the file does not end in a newline or the line is longer than a record.
 */
static int read_last_line(int fd, off_t size, char **buf, const char **line, size_t *len)
{
	size_t want = 4096;

	for (;;) {
		size_t n = (uintmax_t)size < want ? (size_t)size : want;
		char *b = realloc(*buf, n), *nl;
		int err;

		if (!b)
			return -ENOMEM;
		*buf = b;
		err = pread_full(fd, b, n, size - n);
		if (err)
			return err;
		if (b[n - 1] != '\n')
			return -EBADMSG; /* a write cut short: verify names the line */
		nl = memrchr(b, '\n', n - 1);
		if (nl || n == (size_t)size) {
			*line = nl ? nl + 1 : b;
			*len = b + n - 1 - *line;
			return 0;
		}
		if (want > LINE_MAX_BYTES)
			return -EBADMSG;
		want = want * 4 > LINE_MAX_BYTES + 1 ? LINE_MAX_BYTES + 1 : want * 4;
	}
}

static void now_rfc3339(char out[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ts.tv_nsec / 1000000) % 1000);
}

/* Formats a record into buf (LINE_MAX_BYTES). Returns its length with the newline, or
 * -EMSGSIZE. */
static int format_record(char *buf, uint64_t seq, const char *time, const char *type,
			 const char *members, const uint8_t prev[HASH_LEN])
{
	char hex[HEX_LEN + 1];
	int n;

	to_hex(prev, hex);
	n = snprintf(buf, LINE_MAX_BYTES,
		     "{\"seq\":%llu,\"time\":\"%s\",\"type\":\"%s\"%s%s,"
		     "\"prev\":\"%s\"}\n",
		     (unsigned long long)seq, time, type, members && *members ? "," : "",
		     members ? members : "", hex);
	if (n < 0 || n >= LINE_MAX_BYTES)
		return -EMSGSIZE;
	return n;
}

/* The append itself, with fd locked. */
static int append_locked(int fd, const char *head, const char *tmp, const char *type,
			 const char *members, char *line)
{
	const char *last = NULL;
	char *tail = NULL, time[32], why[160];
	uint8_t last_hash[HASH_LEN], head_hash[HASH_LEN], hash[HASH_LEN];
	uint64_t last_seq = 0, head_seq;
	struct rec r = {};
	struct stat st;
	size_t last_len = 0;
	int err, len;

	if (fstat(fd, &st))
		return -errno;
	memcpy(last_hash, zero_hash, HASH_LEN);
	if (st.st_size > 0) {
		err = read_last_line(fd, st.st_size, &tail, &last, &last_len);
		if (!err && parse_record(last, last_len, &r, why, sizeof(why)))
			err = -EBADMSG;
		if (!err)
			err = sha256(last, last_len, last_hash);
		free(tail);
		if (err)
			return err;
		last_seq = r.seq;
	}
	/* The head must agree with the log, or be one record behind it (an append that
	 * stopped between its write and its head): a log cut short is never papered over
	 * by the next append. */
	err = read_head(head, &head_seq, head_hash);
	if (err && err != -ENOENT)
		return err;
	if (!err && !(head_seq == last_seq && !memcmp(head_hash, last_hash, HASH_LEN)) &&
	    !(st.st_size > 0 && head_seq + 1 == last_seq && !memcmp(head_hash, r.prev, HASH_LEN)))
		return -EBADMSG;
	if (last_seq == UINT64_MAX)
		return -EOVERFLOW;

	now_rfc3339(time);
	len = format_record(line, last_seq + 1, time, type, members, last_hash);
	if (len < 0)
		return len;
	err = sha256(line, len - 1, hash);
	if (err)
		return err;
	errno = 0;
	if (write(fd, line, len) != len) {
		err = errno ? -errno : -ENOSPC;
		if (ftruncate(fd, st.st_size)) /* no half record left behind */
			err = -errno;
		return err;
	}
	if (fdatasync(fd)) {
		err = -errno;
		if (ftruncate(fd, st.st_size))
			err = -errno;
		return err;
	}
	/* The record is in the log: from here a failure leaves the head one record behind,
	 * which the next append repairs. */
	return write_head(head, tmp, last_seq + 1, hash);
}

int tg_audit_append(const char *path, const char *type, const char *members)
{
	char head[PATH_MAX], tmp[PATH_MAX], why[160], *line;
	struct stat st, st_path;
	struct rec r;
	int fd = -1, err, len;

	if (!path || !*path || !type || !type_valid(type, strlen(type)))
		return -EINVAL;
	if (members && strpbrk(members, "\n\r"))
		return -EINVAL;
	err = head_path_of(path, head, sizeof(head), ".head");
	if (!err)
		err = head_path_of(path, tmp, sizeof(tmp), ".head.tmp");
	if (err)
		return err;
	line = malloc(LINE_MAX_BYTES);
	if (!line)
		return -ENOMEM;
	/* The members are checked before anything is touched: the record they make must be
	 * one JSON object with exactly one seq, time, type and prev. */
	len = format_record(line, UINT64_MAX, "0000-00-00T00:00:00.000Z", type, members, zero_hash);
	if (len < 0) {
		err = len;
		goto out;
	}
	if (parse_record(line, len - 1, &r, why, sizeof(why))) {
		err = -EINVAL;
		goto out;
	}
	err = make_parents(path);
	if (err)
		goto out;
	/* Lock the file that is at path: when it was renamed away (rotated) or removed while
	 * waiting for the lock, open the new one. */
	for (int i = 0;; i++) {
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			err = -errno;
			goto out;
		}
		while (flock(fd, LOCK_EX)) {
			if (errno != EINTR) {
				err = -errno;
				goto out;
			}
		}
		if (fstat(fd, &st)) {
			err = -errno;
			goto out;
		}
		if (stat(path, &st_path)) {
			if (errno != ENOENT) {
				err = -errno;
				goto out;
			}
		} else if (st.st_dev == st_path.st_dev && st.st_ino == st_path.st_ino) {
			break;
		}
		close(fd);
		fd = -1;
		if (i == REOPEN_TRIES) {
			err = -EAGAIN;
			goto out;
		}
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	err = append_locked(fd, head, tmp, type, members, line);
out:
	if (fd >= 0)
		close(fd); /* and the lock with it */
	free(line);
	return err;
}

/* Verification */

struct vline {
	char *buf;
	size_t cap;
	size_t len; /* without the newline */
	bool nl;
};

struct verifier {
	FILE *f;
	off_t limit, used; /* the log's length when the head was read; bytes read */
	uint64_t lines;
	uint64_t bad_line;
	bool failed;
	char *msg;
	size_t msg_len;
};

/* The next line within the length seen under the lock: 1, 0 at its end, or -errno. */
static int next_line(struct verifier *v, struct vline *l)
{
	ssize_t n;

	if (v->used >= v->limit)
		return 0;
	errno = 0;
	n = getline(&l->buf, &l->cap, v->f);
	if (n < 0)
		return ferror(v->f) ? (errno ? -errno : -EIO) : 0;
	if (n > v->limit - v->used)
		n = v->limit - v->used; /* what was appended after the snapshot */
	v->used += n;
	l->nl = n > 0 && l->buf[n - 1] == '\n';
	l->len = l->nl ? n - 1 : n;
	v->lines++;
	return 1;
}

static __attribute__((format(printf, 3, 4))) void vfail(struct verifier *v, uint64_t line,
							const char *fmt, ...)
{
	va_list ap;

	v->failed = true;
	v->bad_line = line;
	if (v->msg_len) {
		va_start(ap, fmt);
		vsnprintf(v->msg, v->msg_len, fmt, ap);
		va_end(ap);
	}
}

/* A record whose seq does not follow the one before it, at line k. */
static void bad_seq(struct verifier *v, uint64_t k, uint64_t seq, uint64_t prev_seq, bool link)
{
	unsigned long long s = seq, p = prev_seq;

	if (link)
		vfail(v, k,
		      "seq %llu where %llu was expected (its prev matches the line before it: its "
		      "seq was changed)",
		      s, p + 1);
	else if (k == 1)
		vfail(v, k, "the first record has seq %llu, not 1: records before it are missing",
		      s);
	else if (seq == prev_seq + 2)
		vfail(v, k, "seq %llu follows seq %llu: record %llu is missing before it", s, p,
		      p + 1);
	else if (seq > prev_seq)
		vfail(v, k, "seq %llu follows seq %llu: records %llu to %llu are missing before it",
		      s, p, p + 1, s - 1);
	else
		vfail(v, k, "seq %llu follows seq %llu: records out of order or repeated", s, p);
}

/*
 * Which record is bad, when line k does not follow line k-1 (single changes named exactly,
 * see docs/audit.md):
 * - k's prev is the hash of line k-2: line k-1 is not part of the chain (inserted);
 * - k's seq does not follow: records are missing before k, out of order, or k's seq was
 *   changed;
 * - only the hash link is broken: either line k-1 was changed (then line k+1, or the head
 *   when k is last, still vouches for line k) or line k was (then nothing vouches for it).
 */
static int check_lines(struct verifier *v, const char *head_path, int herr, uint64_t head_seq,
		       const uint8_t head_hash[HASH_LEN])
{
	bool head_valid = !herr;
	uint8_t h1[HASH_LEN], h2[HASH_LEN], hk[HASH_LEN], at_head[HASH_LEN];
	struct vline l = {}, nx = {};
	bool have_h2 = false, got_at_head = false;
	uint64_t seq1 = 0, k = 0;
	char why[200];
	struct rec r, rn;
	int err = 0;

	memcpy(h1, zero_hash, HASH_LEN);
	if (head_valid && head_seq == 0) {
		memcpy(at_head, zero_hash, HASH_LEN);
		got_at_head = true;
	}
	while (!v->failed) {
		bool link, vouched = false;

		err = next_line(v, &l);
		if (err <= 0)
			break;
		k = v->lines;
		if (parse_record(l.buf, l.len, &r, why, sizeof(why))) {
			vfail(v, k, "%s", why);
			break;
		}
		if (!l.nl) {
			vfail(v, k, "the last line has no newline: a write was cut short");
			break;
		}
		err = sha256(l.buf, l.len, hk);
		if (err)
			break;
		link = !memcmp(r.prev, h1, HASH_LEN);
		if (link && r.seq == seq1 + 1) {
			if (head_valid && r.seq == head_seq) {
				memcpy(at_head, hk, HASH_LEN);
				got_at_head = true;
			}
			memcpy(h2, h1, HASH_LEN);
			memcpy(h1, hk, HASH_LEN);
			have_h2 = true;
			seq1 = r.seq;
			continue;
		}
		if (!link && have_h2 && !memcmp(r.prev, h2, HASH_LEN)) {
			vfail(v, k - 1,
			      "not part of the chain: the record after it (line %llu) follows the "
			      "line before it (an inserted record)",
			      (unsigned long long)k);
			break;
		}
		if (r.seq != seq1 + 1) {
			bad_seq(v, k, r.seq, seq1, link);
			break;
		}
		if (k == 1) {
			vfail(v, k, "the first record's prev is not 64 zeros");
			break;
		}
		err = next_line(v, &nx);
		if (err < 0)
			break;
		if (err > 0)
			vouched = nx.nl && !parse_record(nx.buf, nx.len, &rn, why, sizeof(why)) &&
				  !memcmp(rn.prev, hk, HASH_LEN);
		else
			vouched =
				head_valid && head_seq == r.seq && !memcmp(head_hash, hk, HASH_LEN);
		err = 0;
		if (vouched)
			vfail(v, k - 1,
			      "changed: its hash no longer matches the prev of the record after it "
			      "(line %llu)",
			      (unsigned long long)k);
		else
			vfail(v, k,
			      "changed: its prev does not match the hash of the line before it "
			      "(line %llu)",
			      (unsigned long long)k - 1);
	}
	free(nx.buf);
	while (!err && (err = next_line(v, &l)) > 0)
		; /* counts the lines after a bad one */
	free(l.buf);
	if (err < 0)
		return err;
	if (v->failed)
		return 0;

	/* The chain holds: its end against the head. */
	k = v->lines;
	if (herr == -ENOENT)
		return 0; /* the caller warns */
	if (!head_valid)
		vfail(v, k + 1,
		      "the head file %s is not \"SEQ HASH\": it was changed or damaged, so "
		      "records cut off the end cannot be ruled out",
		      head_path);
	else if (head_seq == seq1 && memcmp(head_hash, h1, HASH_LEN))
		vfail(v, k, "changed: its hash does not match the head file's (seq %llu)",
		      (unsigned long long)head_seq);
	else if (head_seq > seq1 && !seq1)
		vfail(v, 1, "the log is empty but its head says seq %llu: records were cut off",
		      (unsigned long long)head_seq);
	else if (head_seq > seq1)
		vfail(v, k + 1,
		      "the log ends at seq %llu but its head says %llu: records were cut off the "
		      "end",
		      (unsigned long long)seq1, (unsigned long long)head_seq);
	else if (head_seq < seq1 && got_at_head && !memcmp(at_head, head_hash, HASH_LEN))
		vfail(v, head_seq + 1,
		      "past the head (seq %llu): appended without the head being updated (an "
		      "append cut short by a crash, or a forged record)",
		      (unsigned long long)head_seq);
	else if (head_seq < seq1)
		vfail(v, head_seq ? head_seq : 1,
		      "its hash does not match the head file's (seq %llu): the head was changed",
		      (unsigned long long)head_seq);
	return 0;
}

int tg_audit_verify(const char *path, uint64_t *records, uint64_t *bad_line, char *msg,
		    size_t msg_len)
{
	char head[PATH_MAX];
	uint8_t head_hash[HASH_LEN];
	uint64_t head_seq = 0, dummy;
	struct verifier v = { .msg = msg, .msg_len = msg ? msg_len : 0 };
	struct stat st;
	int err, herr;

	if (!records)
		records = &dummy;
	if (!bad_line)
		bad_line = &dummy;
	*records = 0;
	*bad_line = 0;
	if (v.msg_len)
		msg[0] = '\0';
	if (!path || !*path)
		return -EINVAL;
	err = head_path_of(path, head, sizeof(head), ".head");
	if (err)
		return err;
	v.f = fopen(path, "re");
	if (!v.f)
		return -errno;
	if (fstat(fileno(v.f), &st)) {
		err = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	/* A snapshot: the head and the log's length as one appender left them. Records
	 * appended after it are not read. Without flock (some file systems), no snapshot. */
	while ((err = flock(fileno(v.f), LOCK_SH)) && errno == EINTR)
		;
	if (err && errno != ENOLCK && errno != EOPNOTSUPP) {
		err = -errno;
		goto out;
	}
	if (fstat(fileno(v.f), &st)) {
		err = -errno;
		goto out;
	}
	v.limit = S_ISREG(st.st_mode) ? st.st_size : (off_t)INT64_MAX;
	herr = read_head(head, &head_seq, head_hash);
	flock(fileno(v.f), LOCK_UN);
	if (herr && herr != -ENOENT && herr != -EBADMSG) {
		err = herr;
		goto out;
	}
	err = check_lines(&v, head, herr, head_seq, head_hash);
	if (err)
		goto out;
	*records = v.lines;
	if (v.failed) {
		*bad_line = v.bad_line;
		err = 1;
	} else if (herr == -ENOENT && v.msg_len) {
		snprintf(msg, msg_len,
			 "warning: no head file %s: the chain was checked for changed, removed, "
			 "inserted and reordered records, but records cut off the end cannot be "
			 "seen",
			 head);
	}
out:
	fclose(v.f);
	return err;
}
