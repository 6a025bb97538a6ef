/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HTTP request signatures of the uplink guard (docs/guard-signatures.md): a pure
 * function over the first bytes of a TCP payload, copied by the caller into a scratch
 * buffer of TG_SIG_SCAN bytes.
 *
 *	int tg_sig_match(const __u8 *buf, __u32 len)
 *
 * returns 0 (clean), TG_REASON_SQLI or TG_REASON_TRAVERSAL. Only HTTP/1.x requests are
 * looked at: the payload must begin with GET, POST, PUT, HEAD, DELETE, OPTIONS or PATCH
 * and a space (case-sensitive, as methods are). The request line and the headers are
 * scanned, up to the empty line that ends them or to len, whichever comes first.
 *
 * One pass over the bytes:
 *  1. A raw LF ends a line: the rules see the line's end as a boundary, then the window
 *     is cleared, so no rule spans two lines; an empty line ends the scan. A raw CR is
 *     ignored.
 *  2. Percent-decoding: "%hh" is the byte 0xhh (hex digits of either case). A decoded '%'
 *     starts a new escape with the bytes that follow, so "%252e" and "%25252e" are '.'
 *     too (double encoding, to any depth). A '%' not followed by two hex digits is
 *     dropped, with the one digit it may have had. A raw '+' is a space (form encoding);
 *     "%2b" stays '+'.
 *  3. Overlong UTF-8: the lead byte 0xc0 or 0xc1 and a continuation byte are the ASCII
 *     byte they spell ("%c0%ae" = '.', "%c0%af" = '/', "%c1%9c" = '\'); a lead byte
 *     without a continuation is dropped.
 *  4. Normalisation: A-Z to a-z, '\' to '/', TAB LF VT FF CR (decoded) to a space, runs
 *     of spaces to one space, and an empty SQL comment (slash, two stars, slash) to a
 *     space.
 *  5. The normalised bytes enter a window of 16 bytes. Rules are checked at every
 *     boundary byte (anything but a word character [a-z0-9_] or a byte >= 0x80), and at
 *     the end of a line, against the 16 bytes before it: a keyword counts only when a
 *     boundary follows it ("union selection" is not "union select").
 *
 * The rules, on normalised text (sp = an optional space, B = a boundary):
 *  TG_REASON_TRAVERSAL
 *   "../" anywhere in the request line or a header (so "..\" and every encoding of both);
 *   "/etc/passwd" B, "/etc/shadow" B and "/proc/self/" in the query (after the request
 *   line's first raw '?').
 *  TG_REASON_SQLI (the quote is ' only: " is common in ordinary headers)
 *   a quote, sp, an optional ')', sp, then: "or" B, "and" B, "union" B, "--", "#", ";" or
 *   slash-star; the tautologies "'X'='X" B (X one character) and "or D=D" B, "and D=D" B
 *   (D one digit, the keyword after a boundary); "union select" B, "union all select" B,
 *   "union(select" B, "union (select" B ("union" after a boundary but in the second);
 *   "sleep(", "benchmark(", "load_file(" (sp before the parenthesis allowed);
 *   "information_schema" B (its last 16 characters), "@@version" B, "waitfor delay" B,
 *   "xp_cmdshell" B.
 * The first rule that matches decides; the scan stops there.
 *
 * Cost and the verifier. bpf_loop calls a step per TG_SIG_CHUNK bytes (a call costs a
 * return, which CPUs with return-thunk mitigations make expensive), and a step walks its
 * chunk in a bounded loop. The scan's state lives in a per-CPU map value, and the branches
 * test values loaded from it or from the class table: the verifier tracks neither, so it
 * does not tell passes apart by the state and walks each byte of a chunk a few times. A
 * word character, most of a request, costs a table load and the window's shift; at a
 * boundary, a cheap test (tg_sig_maybe) decides whether the rules can match at all, and
 * only then calls them: tg_sig_rules() is a global function, which the verifier checks
 * once on its own.
 */
#ifndef TG_SIG_H
#define TG_SIG_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tollgate.h"

_Static_assert((TG_SIG_SCAN & (TG_SIG_SCAN - 1)) == 0, "TG_SIG_SCAN must be a power of two");

#define TG_SIG_CHUNK 16 /* bytes per bpf_loop step */

/* Constants from string literals, for comparison with the window: the last character in
 * the lowest byte. TG_SIG_PACK(s, st, n) packs s[st .. st + n), n <= 8; the padding keeps
 * every subscript inside the literal. */
#define TG_SIG_PAD "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
#define TG_SIG_LEN(s) (sizeof(s) - 1)
#define TG_SIG_PJ(s, st, n, j) \
	((j) < (n) ? (__u64)(__u8)(s TG_SIG_PAD)[(st) + (j)] << ((8 * ((n)-1 - (j))) & 63) : 0)
#define TG_SIG_PACK(s, st, n)                                                       \
	(TG_SIG_PJ(s, st, n, 0) | TG_SIG_PJ(s, st, n, 1) | TG_SIG_PJ(s, st, n, 2) | \
	 TG_SIG_PJ(s, st, n, 3) | TG_SIG_PJ(s, st, n, 4) | TG_SIG_PJ(s, st, n, 5) | \
	 TG_SIG_PJ(s, st, n, 6) | TG_SIG_PJ(s, st, n, 7))
#define TG_SIG_MASK(n) ((n) >= 8 ? ~0ull : (1ull << ((8 * (n)) & 63)) - 1)

/* The window (w1, w0) ends with s: s of 1..8 characters (TAIL8) or 9..16 (TAIL16). */
#define TG_SIG_TAIL8(w0, s)                           \
	(sizeof(char[TG_SIG_LEN(s) <= 8 ? 1 : -1]) && \
	 ((w0)&TG_SIG_MASK(TG_SIG_LEN(s))) == TG_SIG_PACK(s, 0, TG_SIG_LEN(s)))
#define TG_SIG_TAIL16(w1, w0, s)                                            \
	(sizeof(char[TG_SIG_LEN(s) > 8 && TG_SIG_LEN(s) <= 16 ? 1 : -1]) && \
	 (w0) == TG_SIG_PACK(s, TG_SIG_LEN(s) - 8, 8) &&                    \
	 ((w1)&TG_SIG_MASK(TG_SIG_LEN(s) - 8)) == TG_SIG_PACK(s, 0, TG_SIG_LEN(s) - 8))

/*
 * The class table, one entry per byte value: the low byte is the byte normalised
 * (A-Z to a-z, '\' to '/', TAB LF VT FF CR to a space), then the flags.
 */
enum {
	TG_SIG_WORD = 1 << 8,	/* the normalised byte is a word character */
	TG_SIG_RAW = 1 << 9,	/* as a raw byte it takes the slow path (%, LF, CR, +, ?, c0, c1) */
	TG_SIG_SPACE = 1 << 10, /* normalised, a space */
	TG_SIG_SLASH = 1 << 11, /* normalised, '/' */
	TG_SIG_PAREN = 1 << 12, /* '(' */
	TG_SIG_EOLF = 1 << 13,	/* not from the table: the end of a line */
};

#define TG_SIG_UPPER(c) ((c) >= 'A' && (c) <= 'Z')
#define TG_SIG_ISWORD(c)                                                                \
	(((c) >= 'a' && (c) <= 'z') || TG_SIG_UPPER(c) || ((c) >= '0' && (c) <= '9') || \
	 (c) == '_' || (c) >= 0x80)
#define TG_SIG_ISBLANK(c) ((c) == '\t' || (c) == '\n' || (c) == '\v' || (c) == '\f' || (c) == '\r')
#define TG_SIG_NORM(c) \
	(TG_SIG_UPPER(c) ? (c) | 0x20 : (c) == '\\' ? '/' : TG_SIG_ISBLANK(c) ? ' ' : (c))
#define TG_SIG_ISRAW(c)                                                                         \
	((c) == '%' || (c) == '\n' || (c) == '\r' || (c) == '+' || (c) == '?' || (c) == 0xc0 || \
	 (c) == 0xc1)
#define TG_SIG_E(c)                                                                        \
	(TG_SIG_NORM(c) | (TG_SIG_ISWORD(c) ? TG_SIG_WORD : 0) |                           \
	 (TG_SIG_ISRAW(c) ? TG_SIG_RAW : 0) | (TG_SIG_NORM(c) == ' ' ? TG_SIG_SPACE : 0) | \
	 (TG_SIG_NORM(c) == '/' ? TG_SIG_SLASH : 0) | ((c) == '(' ? TG_SIG_PAREN : 0))
#define TG_SIG_E4(c) TG_SIG_E(c), TG_SIG_E((c) + 1), TG_SIG_E((c) + 2), TG_SIG_E((c) + 3)
#define TG_SIG_E16(c) TG_SIG_E4(c), TG_SIG_E4((c) + 4), TG_SIG_E4((c) + 8), TG_SIG_E4((c) + 12)
#define TG_SIG_E64(c) \
	TG_SIG_E16(c), TG_SIG_E16((c) + 16), TG_SIG_E16((c) + 32), TG_SIG_E16((c) + 48)

static const __u16 tg_sig_tab[256] = { TG_SIG_E64(0), TG_SIG_E64(64), TG_SIG_E64(128),
				       TG_SIG_E64(192) };

/* What the decoder returns instead of a table entry. */
enum {
	TG_SIG_NONE = -1,  /* nothing to scan (a byte of an escape, a CR) */
	TG_SIG_STOP = -2,  /* the empty line: the headers end */
	TG_SIG_EOL = -3,   /* the end of a line: scan .eol */
	TG_SIG_SCAN_C = 0, /* scan .c */
};

/* Decoder state bits (tg_sig_state.pend); any of them sends a byte to the decoder. */
enum {
	TG_SIG_PCT1 = 1, /* after '%' */
	TG_SIG_PCT2 = 2, /* after '%' and one hex digit (in .hi) */
	TG_SIG_LEAD = 4, /* after an overlong UTF-8 lead byte (in .lead) */
	TG_SIG_BOL = 8,	 /* at the start of a line: nothing but CR since the LF */
};

/*
 * The scan's state, in a per-CPU map value (see the cost note above). The map is private
 * to the program that includes this file: its name has no "tg_" prefix, so the datapath
 * loader neither pins it nor shares it.
 */
struct tg_sig_state {
	__u64 w0, w1; /* the last 16 normalised bytes: w0 the newest 8, the newest lowest */
	__u32 verdict;
	__u8 pend;  /* TG_SIG_PCT1 .. TG_SIG_BOL */
	__u8 hi;    /* the escape's first hex digit */
	__u8 lead;  /* the overlong lead byte */
	__u8 query; /* 1: in the request line, after its first raw '?' */
	__u8 line;  /* 0 on the request line, 1 in the headers */
	__u8 c;	    /* the byte the decoder produced */
	__u16 eol;  /* TG_SIG_EOLF | '\n': the end of a line, a boundary */
	__u8 pad[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_sig_state);
} sig_state SEC(".maps");

/* What bpf_loop hands every step (on the caller's stack). */
struct tg_sig_scan {
	const __u8 *buf;
	struct tg_sig_state *st;
	__u32 len;
};

static __always_inline int tg_sig_hex(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Some byte of x is b. */
static __always_inline int tg_sig_has(__u64 x, __u8 b)
{
	x ^= 0x0101010101010101ull * b;
	return ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull) != 0;
}

/* p (the window before a keyword) ends with a quote, sp, an optional ')', sp. */
static __always_inline int tg_sig_quoted(__u64 p)
{
	if ((__u8)p == ' ')
		p >>= 8;
	if ((__u8)p == ')')
		p >>= 8;
	if ((__u8)p == ' ')
		p >>= 8;
	return (__u8)p == '\'';
}

static __always_inline int tg_sig_isword(__u8 c)
{
	return tg_sig_tab[c] & TG_SIG_WORD;
}

/*
 * The rules at the boundary c, (w1, w0) the 16 normalised bytes before it. A global
 * function: the verifier checks it once, on its own, whatever calls it.
 */
__noinline __u32 tg_sig_rules(__u64 w1, __u64 w0, __u32 c, __u32 query)
{
	__u8 last = w0;

	if (tg_sig_has(w0, '\'')) {
		int kl = -1; /* length of the keyword between the quote and c */

		if (c == '#' || c == ';')
			kl = 0;
		else if (c == '-' || c == '*')
			kl = last == (c == '-' ? '-' : '/') ? 1 : -1;
		else if (TG_SIG_TAIL8(w0, "or"))
			kl = 2;
		else if (TG_SIG_TAIL8(w0, "and"))
			kl = 3;
		else if (TG_SIG_TAIL8(w0, "union"))
			kl = 5;
		if (kl >= 0 && tg_sig_quoted(w0 >> (8 * kl)))
			return TG_REASON_SQLI;
		/* 'X'='X */
		if ((w0 & 0xff00ffffff00ull) == (TG_SIG_PACK("'?'='?", 0, 6) & 0xff00ffffff00ull) &&
		    (__u8)(w0 >> 32) == last)
			return TG_REASON_SQLI;
	}

	if (c == '/') {
		if (TG_SIG_TAIL8(w0, ".."))
			return TG_REASON_TRAVERSAL;
		if (query && TG_SIG_TAIL16(w1, w0, "/proc/self"))
			return TG_REASON_TRAVERSAL;
	} else if (c == '(') {
		if (TG_SIG_TAIL8(w0, "sleep") || TG_SIG_TAIL8(w0, "sleep ") ||
		    TG_SIG_TAIL16(w1, w0, "benchmark") || TG_SIG_TAIL16(w1, w0, "benchmark ") ||
		    TG_SIG_TAIL16(w1, w0, "load_file") || TG_SIG_TAIL16(w1, w0, "load_file "))
			return TG_REASON_SQLI;
	}

	/* keywords before the boundary, by their last character */
	switch (last) {
	case 't':
		if (!TG_SIG_TAIL8(w0, "select"))
			break;
		if (TG_SIG_TAIL16(w1, w0, "union all select"))
			return TG_REASON_SQLI;
		/* "union" after a boundary: (w1 >> 32) ends with the byte before it */
		if ((TG_SIG_TAIL16(w1, w0, "union select") ||
		     TG_SIG_TAIL16(w1, w0, "union(select")) &&
		    !tg_sig_isword(w1 >> 32))
			return TG_REASON_SQLI;
		if (TG_SIG_TAIL16(w1, w0, "union (select") && !tg_sig_isword(w1 >> 40))
			return TG_REASON_SQLI;
		break;
	case 'a':
		if (TG_SIG_TAIL16(w1, w0, "formation_schema"))
			return TG_REASON_SQLI;
		break;
	case 'n':
		if (TG_SIG_TAIL16(w1, w0, "@@version"))
			return TG_REASON_SQLI;
		break;
	case 'y':
		if (TG_SIG_TAIL16(w1, w0, "waitfor delay"))
			return TG_REASON_SQLI;
		break;
	case 'l':
		if (TG_SIG_TAIL16(w1, w0, "xp_cmdshell"))
			return TG_REASON_SQLI;
		break;
	case 'd':
		if (query && TG_SIG_TAIL16(w1, w0, "/etc/passwd"))
			return TG_REASON_TRAVERSAL;
		break;
	case 'w':
		if (query && TG_SIG_TAIL16(w1, w0, "/etc/shadow"))
			return TG_REASON_TRAVERSAL;
		break;
	default:
		/* or D=D, and D=D, after a boundary */
		if (last < '0' || last > '9' || (__u8)(w0 >> 16) != last)
			break;
		if ((w0 & 0xffffff00ff00ull) == (TG_SIG_PACK("or ?=?", 0, 6) & 0xffffff00ff00ull) &&
		    !tg_sig_isword(w0 >> 48))
			return TG_REASON_SQLI;
		if ((w0 & 0xffffffff00ff00ull) ==
			    (TG_SIG_PACK("and ?=?", 0, 7) & 0xffffffff00ff00ull) &&
		    !tg_sig_isword(w0 >> 56))
			return TG_REASON_SQLI;
		break;
	}
	return 0;
}

/*
 * The rules could match at this boundary: a cheap test of the bytes before it that every
 * rule of tg_sig_rules() passes (a quote among them, or their last four bytes the end of
 * a keyword), so that most boundaries cost no call.
 */
static __always_inline int tg_sig_maybe(__u64 w0, __u32 v)
{
	__u32 t4 = w0;

	return tg_sig_has(w0, '\'') || (v & TG_SIG_PAREN) ||
	       ((v & TG_SIG_SLASH) &&
		((__u16)w0 == TG_SIG_PACK("..", 0, 2) || t4 == TG_SIG_PACK("self", 0, 4))) ||
	       t4 == TG_SIG_PACK("lect", 0, 4) || t4 == TG_SIG_PACK("hema", 0, 4) ||
	       t4 == TG_SIG_PACK("sion", 0, 4) || t4 == TG_SIG_PACK("elay", 0, 4) ||
	       t4 == TG_SIG_PACK("hell", 0, 4) || t4 == TG_SIG_PACK("sswd", 0, 4) ||
	       t4 == TG_SIG_PACK("adow", 0, 4) || (t4 & 0xff00) == ('=' << 8);
}

/*
 * A byte that needs more than the table: the decoder's states, LF, CR, '%', '+', '?' and
 * the overlong lead bytes. Returns TG_SIG_SCAN_C (the byte to scan is in .c), TG_SIG_EOL,
 * TG_SIG_NONE or TG_SIG_STOP.
 */
static __always_inline int tg_sig_decode(struct tg_sig_state *s, __u32 r)
{
	__u8 p = s->pend;
	int c, h;

	if (r == '\n') {
		if (p & TG_SIG_BOL)
			return TG_SIG_STOP;
		return TG_SIG_EOL;
	}
	if (r == '\r')
		return TG_SIG_NONE;
	p &= ~TG_SIG_BOL;
	if (p & (TG_SIG_PCT1 | TG_SIG_PCT2)) {
		h = tg_sig_hex(r);
		if (h >= 0) {
			if (p & TG_SIG_PCT1) {
				s->hi = h;
				s->pend = (p & ~TG_SIG_PCT1) | TG_SIG_PCT2;
				return TG_SIG_NONE;
			}
			c = (s->hi << 4 | h) & 0xff;
			p &= ~TG_SIG_PCT2;
			if (c == '%') {
				s->pend = p | TG_SIG_PCT1;
				return TG_SIG_NONE;
			}
			goto decoded;
		}
		p &= ~(TG_SIG_PCT1 | TG_SIG_PCT2); /* no escape: '%' and a digit are dropped */
	}
	if (r == '%') {
		s->pend = p | TG_SIG_PCT1;
		return TG_SIG_NONE;
	}
	c = r == '+' ? ' ' : r & 0xff;
	if (r == '?' && !s->line)
		s->query = 1;
decoded:
	if (p & TG_SIG_LEAD) {
		p &= ~TG_SIG_LEAD;
		if ((c & 0xc0) == 0x80)
			c = (s->lead & 1) << 6 | (c & 0x3f);
	}
	if (c == 0xc0 || c == 0xc1) {
		s->lead = c;
		s->pend = p | TG_SIG_LEAD;
		return TG_SIG_NONE;
	}
	s->pend = p;
	s->c = c;
	return TG_SIG_SCAN_C;
}

/* One raw byte; returns 1 to stop the scan (a match or the end of the headers). */
static __always_inline int tg_sig_byte(struct tg_sig_state *s, __u8 r)
{
	int v = tg_sig_tab[r];
	__u64 w0, w1;
	__u32 verdict;
	__u8 c;

	if (s->pend | (v & TG_SIG_RAW)) {
		v = tg_sig_decode(s, r);
		if (v == TG_SIG_NONE || v == TG_SIG_STOP)
			return v == TG_SIG_STOP;
		/* the entry from memory: the verifier knows it no better on this path than on
		 * the short one, and walks what follows once for both */
		asm volatile("" ::: "memory");
		v = v == TG_SIG_EOL ? s->eol : tg_sig_tab[s->c];
	}
	w0 = s->w0;
	w1 = s->w1;
	c = v;
	if (!(v & TG_SIG_WORD)) {
		if ((v & TG_SIG_SPACE) && (__u8)w0 == ' ')
			return 0;
		if ((v & TG_SIG_SLASH) && TG_SIG_TAIL8(w0, "/**")) {
			/* an empty comment: its first 3 bytes go, the slash is a space */
			w0 = w0 >> 24 | w1 << 40;
			w1 >>= 24;
			v = tg_sig_tab[' '];
			c = ' ';
			if ((__u8)w0 == ' ') {
				s->w0 = w0;
				s->w1 = w1;
				return 0;
			}
		}
		if (tg_sig_maybe(w0, v)) {
			verdict = tg_sig_rules(w1, w0, c, s->query);
			if (verdict) {
				s->verdict = verdict;
				return 1;
			}
		}
		if (v & TG_SIG_EOLF) {
			s->w0 = 0;
			s->w1 = 0;
			s->query = 0;
			s->line = 1;
			s->pend = TG_SIG_BOL;
			return 0;
		}
	}
	s->w1 = w1 << 8 | w0 >> 56;
	s->w0 = w0 << 8 | c;
	return 0;
}

/* One step of bpf_loop: the chunk i. The barrier makes every byte load the state from
 * the map value again. */
static long tg_sig_chunk(__u64 i, void *arg)
{
	struct tg_sig_scan *x = arg;
	struct tg_sig_state *s = x->st;
	const __u8 *buf = x->buf;
	__u32 len = x->len, base = i * TG_SIG_CHUNK;

	for (__u32 j = 0; j < TG_SIG_CHUNK; j++) {
		__u32 k = base + j;

		if (k >= len)
			return 1;
		asm volatile("" ::: "memory");
		if (tg_sig_byte(s, buf[k & (TG_SIG_SCAN - 1)]))
			return 1;
	}
	return 0;
}

/* The payload begins with a method we read and a space. buf holds TG_SIG_SCAN bytes. */
static __always_inline int tg_sig_is_request(const __u8 *buf, __u32 len)
{
	__u64 m = 0;

	if (len < 4)
		return 0;
#pragma unroll
	for (int i = 0; i < 8; i++)
		m = m << 8 | buf[i];
	/* m holds bytes 0..7, byte 0 highest; the length checks keep bytes from len on out */
	return (m >> 32) == TG_SIG_PACK("GET ", 0, 4) || (m >> 32) == TG_SIG_PACK("PUT ", 0, 4) ||
	       (len >= 5 && ((m >> 24) == TG_SIG_PACK("POST ", 0, 5) ||
			     (m >> 24) == TG_SIG_PACK("HEAD ", 0, 5))) ||
	       (len >= 6 && (m >> 16) == TG_SIG_PACK("PATCH ", 0, 6)) ||
	       (len >= 7 && (m >> 8) == TG_SIG_PACK("DELETE ", 0, 7)) ||
	       (len >= 8 && m == TG_SIG_PACK("OPTIONS ", 0, 8));
}

/*
 * buf: TG_SIG_SCAN bytes (a map value, say), the first len of them the start of a TCP
 * payload; a len above TG_SIG_SCAN counts as TG_SIG_SCAN. Returns 0, TG_REASON_SQLI or
 * TG_REASON_TRAVERSAL.
 */
static __always_inline int tg_sig_match(const __u8 *buf, __u32 len)
{
	struct tg_sig_scan x = { .buf = buf };
	__u32 zero = 0;

	if (len > TG_SIG_SCAN)
		len = TG_SIG_SCAN;
	if (!tg_sig_is_request(buf, len))
		return 0;
	x.st = bpf_map_lookup_elem(&sig_state, &zero);
	if (!x.st)
		return 0;
	*x.st = (struct tg_sig_state){ .eol = TG_SIG_EOLF | '\n' };
	x.len = len;
	bpf_loop((len + TG_SIG_CHUNK - 1) / TG_SIG_CHUNK, tg_sig_chunk, &x, 0);
	return x.st->verdict;
}

#endif /* TG_SIG_H */
