// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Runtime rule globs: compiler and reference matcher (src/rt_glob.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rt_glob.h"

bool tg_glob_is_pattern(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static void cls_set(uint8_t *bm, unsigned ch)
{
	bm[ch >> 3] |= (uint8_t)(1u << (ch & 7));
}

/* One bracket expression at p (after '['): fills bm, returns the byte after ']' or
 * NULL (err written). */
static const char *class_parse(const char *p, uint8_t *bm, char *err, size_t errlen)
{
	bool neg = false;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	for (bool first = true; first || *p != ']'; first = false) {
		unsigned lo = (unsigned char)*p, hi;

		if (!*p) {
			snprintf(err, errlen, "unclosed '[' in the glob");
			return NULL;
		}
		if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
			snprintf(err, errlen,
				 "named classes, equivalence classes and collating symbols "
				 "('[%c') are not supported in globs",
				 p[1]);
			return NULL;
		}
		p++;
		hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			hi = (unsigned char)p[1];
			if (p[1] == '[' && (p[2] == ':' || p[2] == '=' || p[2] == '.')) {
				snprintf(err, errlen,
					 "named classes ('[%c') are not supported in globs", p[2]);
				return NULL;
			}
			if (hi < lo) {
				snprintf(err, errlen, "reversed range '%c-%c' in the glob",
					 (char)lo, (char)hi);
				return NULL;
			}
			p += 2;
		}
		for (unsigned ch = lo; ch <= hi; ch++)
			cls_set(bm, ch);
	}
	if (neg)
		for (unsigned i = 0; i < 32; i++)
			bm[i] = (uint8_t)~bm[i];
	bm[0] &= 0xfe; /* never the NUL that ends the subject */
	return p + 1;
}

int tg_glob_compile(const char *pat, size_t max_tok, struct tg_glob *g, char *err, size_t errlen)
{
	const char *p = pat;
	bool seen_meta = false;

	g->ntok = 0;
	g->literal_len = 0;
	if (max_tok > TG_RT_PATH)
		max_tok = TG_RT_PATH;
	while (*p) {
		uint16_t t;

		if (g->ntok == max_tok) {
			snprintf(err, errlen, "the glob is too long: at most %zu characters",
				 max_tok);
			return -EINVAL;
		}
		if (*p == '*') {
			t = TG_GLOB_STAR;
			/* '**' is '*': one token keeps the matcher's steps down */
			while (p[1] == '*')
				p++;
			p++;
		} else if (*p == '?') {
			t = TG_GLOB_ANY;
			p++;
		} else if (*p == '[') {
			uint8_t bm[32] = { 0 };
			unsigned k;

			p = class_parse(p + 1, bm, err, errlen);
			if (!p)
				return -EINVAL;
			for (k = 0; k < *g->ncls; k++)
				if (!memcmp(g->cls[k], bm, 32))
					break;
			if (k == *g->ncls) {
				if (k == g->max_cls) {
					snprintf(err, errlen,
						 "too many character classes: at most %u per rule",
						 g->max_cls);
					return -EINVAL;
				}
				memcpy(g->cls[k], bm, 32);
				++*g->ncls;
			}
			t = (uint16_t)(TG_GLOB_CLASS + k);
		} else {
			t = (unsigned char)*p++;
		}
		if (t >= 0x100)
			seen_meta = true;
		else if (!seen_meta)
			g->literal_len++;
		g->tok[g->ntok++] = t;
	}
	g->literal = !seen_meta;
	return 0;
}

static bool tok_match(uint16_t t, const uint8_t (*cls)[32], unsigned char ch)
{
	if (t < 0x100)
		return t == ch;
	if (t == TG_GLOB_ANY)
		return true;
	t -= TG_GLOB_CLASS;
	return t < TG_RT_GLOB_CLASSES && (cls[t][ch >> 3] >> (ch & 7) & 1);
}

bool tg_glob_match(const uint16_t *tok, size_t ntok, const uint8_t (*cls)[32], const char *s,
		   size_t start, bool literal)
{
	size_t pi = start, si = start, star_pi = 0, star_si = 0;
	bool star = false;

	for (;;) {
		if (pi < ntok) {
			if (tok[pi] == TG_GLOB_STAR) {
				star = true;
				star_pi = pi++;
				star_si = si;
				continue;
			}
			if (s[si] && tok_match(tok[pi], cls, (unsigned char)s[si])) {
				pi++;
				si++;
				continue;
			}
		} else if (literal) {
			/* the path itself or anything under it */
			return !s[si] || s[si] == '/' || (ntok && tok[ntok - 1] == '/');
		} else if (!s[si]) {
			return true;
		}
		if (!star || !s[star_si])
			return false;
		si = ++star_si;
		pi = star_pi + 1;
	}
}
