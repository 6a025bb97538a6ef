// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The policy's arithmetic: GCRA fixed point against exact division, the default burst
 * against what it must cover, and calendar periods against instants computed by GNU
 * date (the constants below are `date -u -d ... +%s`, not this code's output).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "tap.h"

#define NSEC 1000000000ull

/* What the kernel charges (bpf/lib/police.h: the integer and fractional parts apart). */
static uint64_t kernel_cost(const struct tg_rate *r, uint64_t units)
{
	uint64_t frac = (1ull << TG_RATE_SHIFT) - 1;

	return units * (r->scale >> TG_RATE_SHIFT) + ((units * (r->scale & frac)) >> TG_RATE_SHIFT);
}

static void test_rate_exact(void)
{
	struct tg_rate r;

	/* 8 kbit/s = 1000 B/s: one byte is a millisecond, exactly. */
	tg_rate_compute(1000, 10000, &r);
	tap_equal_u64(r.scale, 1000000ull << TG_RATE_SHIFT, "1000 B/s: scale is 1 ms per byte");
	tap_equal_u64(r.burst_ns, 10 * NSEC, "1000 B/s, 10000-byte burst: 10 s");
	tap_equal_u64(kernel_cost(&r, 1500), 1500 * 1000000ull, "1500 bytes cost 1.5 s");

	/* 100 Mbit/s = 12.5 MB/s: 80 ns per byte. */
	tg_rate_compute(12500000, 262144, &r);
	tap_equal_u64(r.scale, 80ull << TG_RATE_SHIFT, "100 Mbit/s: 80 ns per byte");
	tap_equal_u64(r.burst_ns, 262144ull * 80, "100 Mbit/s, 256 KiB burst in ns");
	tap_equal_u64(kernel_cost(&r, 65536 + 44 * 66), (65536 + 44 * 66) * 80ull,
		      "a 64 KiB GSO super-packet with 44 more headers, charged whole");

	tg_rate_compute(0, 1000, &r);
	tap_check(r.scale == 0 && r.burst_ns == 0, "rate 0: no cap (scale 0)");
	tg_rate_compute(1ull << 62, 0, &r);
	tap_check(r.scale >= 1, "a rate beyond the fixed point still caps (scale %llu)",
		  (unsigned long long)r.scale);
}

/* Fixed point against exact division: the error per packet stays under one nanosecond
 * plus one part in 2^20 of the cost, for awkward rates and the largest packets. */
static void test_rate_fixed_point(void)
{
	static const uint64_t rates[] = { 1000,	    1001,	    2500000,	12500000,
					  50000000, 333333333,	    1250000000, 1234567891,
					  3,	    125000000000ull };
	static const uint64_t units[] = { 1, 60, 1514, 65536 + 45 * 78, 1u << 20 };
	int bad = 0;

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		struct tg_rate r;

		tg_rate_compute(rates[i], 0, &r);
		for (size_t j = 0; j < sizeof(units) / sizeof(units[0]); j++) {
			unsigned __int128 exact = (unsigned __int128)units[j] * NSEC / rates[i];
			uint64_t got = kernel_cost(&r, units[j]);
			uint64_t err = got > exact ? got - (uint64_t)exact : (uint64_t)exact - got;

			if (err > 1 + (uint64_t)(exact >> TG_RATE_SHIFT)) {
				tap_diag("rate %llu B/s, %llu units: cost %llu ns, exact %llu",
					 (unsigned long long)rates[i], (unsigned long long)units[j],
					 (unsigned long long)got, (unsigned long long)exact);
				bad++;
			}
			if (got > exact)
				bad++; /* never charges more than the exact cost */
		}
	}
	tap_equal_u64(bad, 0, "fixed-point cost within 2^-20 of exact division, never above");
}

static void test_default_burst(void)
{
	static const uint64_t rates[] = { 8000,	      1000000,	      2000000,
					  20000000,   100000000,      400000000,
					  1000000000, 10000000000ull, 100000000000ull };
	int small = 0, short_ = 0, unbounded = 0, not_monotonic = 0;
	uint64_t last = 0;

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		uint64_t b = tg_default_burst(rates[i]);
		uint64_t per_s = rates[i] / 8;

		/* GSO super-packets are policed whole: room for two with their headers. */
		if (b < 2 * (65536 + 45 * 66))
			small++;
		/* A TCP sender that lost its tail waits for the 200 ms minimum RTO; the
		 * bucket must hold what the cap allows meanwhile. */
		if (b < per_s / 5)
			short_++;
		/* Over a 10 s measurement the burst adds at most a few percent. */
		if (per_s / 5 > 2 * (65536 + 45 * 66) && b > per_s * 3 / 10)
			unbounded++;
		if (b < last)
			not_monotonic++;
		last = b;
	}
	tap_equal_u64(small, 0, "default burst holds two 64 KiB GSO super-packets");
	tap_equal_u64(short_, 0, "default burst covers 200 ms (the minimum RTO) of the rate");
	tap_equal_u64(unbounded, 0, "default burst is at most 300 ms of the rate above the floor");
	tap_equal_u64(not_monotonic, 0, "default burst grows with the rate");
}

struct pcase {
	int period;
	int64_t t, want;
	const char *name;
};

static void test_periods(void)
{
	static const struct pcase cases[] = {
		{ TG_PERIOD_HOURLY, 1709214310, 1709211600, "hourly: 2024-02-29 13:45:10" },
		{ TG_PERIOD_HOURLY, 1709211600, 1709211600, "hourly: on the hour itself" },
		{ TG_PERIOD_DAILY, 1709214310, 1709164800, "daily: 2024-02-29 (leap day)" },
		{ TG_PERIOD_DAILY, 1735689599, 1735603200, "daily: last second of 2024" },
		{ TG_PERIOD_WEEKLY, 1709214310, 1708905600, "weekly: Thursday -> Monday 02-26" },
		{ TG_PERIOD_WEEKLY, 1709251200, 1708905600,
		  "weekly: Friday 03-01 -> Monday 02-26" },
		{ TG_PERIOD_WEEKLY, 1709510399, 1708905600,
		  "weekly: Sunday 23:59:59 -> Monday before" },
		{ TG_PERIOD_WEEKLY, 1709510400, 1709510400, "weekly: Monday 00:00 starts a week" },
		{ TG_PERIOD_WEEKLY, 1735718400, 1735516800, "weekly: 2025-01-01 -> 2024-12-30" },
		{ TG_PERIOD_WEEKLY, 0, -259200,
		  "weekly: 1970-01-01 (Thursday) -> Monday 1969-12-29" },
		{ TG_PERIOD_WEEKLY, 2147483648, 2147385600, "weekly: past 2^31 s (2038)" },
		{ TG_PERIOD_MONTHLY, 1709214310, 1706745600, "monthly: 2024-02-29 -> 02-01" },
		{ TG_PERIOD_MONTHLY, 1709251200, 1709251200,
		  "monthly: 2024-03-01 00:00 starts March" },
		{ TG_PERIOD_MONTHLY, 1709251199, 1706745600,
		  "monthly: its second before is February" },
		{ TG_PERIOD_MONTHLY, 1677628799, 1675209600,
		  "monthly: 2023-02-28 23:59:59 (no leap)" },
		{ TG_PERIOD_MONTHLY, 951825600, 949363200, "monthly: 2000-02-29 (leap by 400)" },
		{ TG_PERIOD_MONTHLY, 4107542399, 4105123200,
		  "monthly: 2100-02-28 (no leap by 100)" },
		{ TG_PERIOD_MONTHLY, 4107542400, 4107542400, "monthly: 2100-03-01 00:00" },
		{ TG_PERIOD_MONTHLY, 1735718400, 1735689600, "monthly: 2025-01-01 08:00 -> 00:00" },
		{ TG_PERIOD_MONTHLY, 2147483648, 2145916800, "monthly: 2038-01-19 -> 2038-01-01" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = tg_period_start(cases[i].period, cases[i].t);

		if (!tap_check(got == cases[i].want, "%s", cases[i].name))
			tap_diag("  got %lld, want %lld", (long long)got, (long long)cases[i].want);
	}
}

/* Every instant of a year, hour by hour: each lies in its period, and the period before
 * ends exactly where it begins. */
static void test_period_walk(void)
{
	static const int periods[] = { TG_PERIOD_HOURLY, TG_PERIOD_DAILY, TG_PERIOD_WEEKLY,
				       TG_PERIOD_MONTHLY };
	int bad = 0, starts[4] = { 0 };

	for (int p = 0; p < 4; p++) {
		int64_t prev = tg_period_start(periods[p], 1704067200 - 1); /* 2023-12-31 */

		for (int64_t t = 1704067200; t < 1735689600; t += 1800) { /* 2024, leap */
			int64_t s = tg_period_start(periods[p], t);

			if (s > t || t - s >= 31 * 86400)
				bad++;
			if (s != prev) {
				starts[p]++;
				if (tg_period_start(periods[p], s - 1) != prev || s <= prev)
					bad++;
				prev = s;
			}
		}
	}
	tap_equal_u64(bad, 0, "2024 walked every half hour: periods contain t and abut");
	tap_equal_u64(starts[0], 366 * 24, "2024 has 8784 hours");
	tap_equal_u64(starts[1], 366, "2024 has 366 days");
	tap_equal_u64(starts[2], 53, "2024 has 53 Mondays (January 1 is one)");
	tap_equal_u64(starts[3], 12, "2024 has 12 month starts");
}

int main(void)
{
	test_rate_exact();
	test_rate_fixed_point();
	test_default_burst();
	test_periods();
	test_period_walk();
	return tap_done();
}
