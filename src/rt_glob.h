/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtime rule globs (docs/runtime.md, "The matcher"): compiled in user space to the
 * tokens the kernel matcher (bpf/lib/rt_match.h) runs. The syntax is fnmatch(3) with
 * FNM_NOESCAPE and no other flag: '*' matches any string ('/' included), '?' one byte,
 * [abc], [a-z], [!a-z] or [^a-z] one byte of (or not of) a set, ']' first in a set is a
 * member; a backslash is an ordinary byte. Named classes ([:alpha:]) are refused.
 */
#ifndef TG_RT_GLOB_H
#define TG_RT_GLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tollgate.h"

struct tg_glob {
	uint16_t tok[TG_RT_PATH];
	size_t ntok;
	uint8_t (*cls)[32]; /* the rule's class table (shared by its globs) */
	unsigned *ncls;
	unsigned max_cls;
	size_t literal_len; /* bytes before the first metacharacter */
	bool literal;	    /* no metacharacter at all */
};

/* True when s holds a glob metacharacter ('*', '?' or '[') */
bool tg_glob_is_pattern(const char *s);
/* Compiles pat (at most max_tok tokens) into g, adding its classes to g->cls (g->ncls of
 * g->max_cls used). Returns 0, or -EINVAL with a message in err. */
int tg_glob_compile(const char *pat, size_t max_tok, struct tg_glob *g, char *err, size_t errlen);
/* The kernel's algorithm in C, token for token (the oracle test compares it with
 * fnmatch(3) and the kernel program with it). start: tokens and bytes already matched. */
bool tg_glob_match(const uint16_t *tok, size_t ntok, const uint8_t (*cls)[32], const char *s,
		   size_t start, bool literal);

#endif /* TG_RT_GLOB_H */
