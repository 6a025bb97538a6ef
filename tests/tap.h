/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A minimal TAP producer: every check prints "ok N - name" or "not ok N - name" and
 * tests/run.sh sums them across suites. A binary exits non-zero when any check failed.
 */
#ifndef TG_TAP_H
#define TG_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

static inline __attribute__((format(printf, 2, 3))) int tap_check(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

/* Explanations go to stdout as TAP diagnostics, so they stay next to the failing line. */
#define tap_diag(...)                \
	do {                         \
		printf("# ");        \
		printf(__VA_ARGS__); \
		putchar('\n');       \
	} while (0)

/* Equality of two counts, with both values in the line so a failure explains itself. */
#define tap_equal_u64(got, want, ...)                              \
	do {                                                       \
		unsigned long long g_ = (got), w_ = (want);        \
		if (!tap_check(g_ == w_, __VA_ARGS__))             \
			tap_diag("  got %llu, want %llu", g_, w_); \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* TG_TAP_H */
