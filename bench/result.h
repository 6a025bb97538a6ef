/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One row of `make bench`'s summary table: bench/bench.sh collects every line that starts
 * with RESULT (tab-separated: what was measured, what it is compared with, the unit, the
 * baseline's figure, the figure, their ratio) and prints them together at the end.
 */
#ifndef TG_BENCH_RESULT_H
#define TG_BENCH_RESULT_H

#include <stdio.h>

static inline void bench_result(const char *name, const char *baseline, const char *unit,
				double base, double value)
{
	printf("RESULT\t%s\t%s\t%s\t%.10g\t%.10g\t%.4f\n", name, baseline, unit, base, value,
	       base != 0 ? value / base : 0.0);
}

#endif /* TG_BENCH_RESULT_H */
