/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tenant policy as the kernel enforces it (tg_policy): caps as GCRA parameters, quota
 * and socket flags; and the quota periods, reset by the agent at their boundaries.
 */
#ifndef TG_POLICY_H
#define TG_POLICY_H

#include <stdint.h>

#include "apply.h"
#include "config.h"
#include "datapath.h"
#include "events.h"

/* The burst a cap gets when the configuration names none, in bytes: TG_BURST_MS of the
 * rate, at least TG_BURST_MIN (docs/isolation.md says why). */
#define TG_BURST_MS 250
#define TG_BURST_MIN (160 * 1024)
/* A packet-rate cap's burst: TG_BURST_MS of the rate, at least two 45-frame GSO
 * super-packets and a few more. */
#define TG_BURST_MIN_PKTS 96
uint64_t tg_default_burst(uint64_t rate_bps);
/* GCRA parameters for units_per_sec (bytes or packets) with a burst of burst_units. */
void tg_rate_compute(uint64_t units_per_sec, uint64_t burst_units, struct tg_rate *out);

/* Writes tg_policy for every tenant id: configured tenants get their caps, flags and
 * quota; ids no longer configured get an empty policy. Returns 0 or a negative errno. */
int tg_policy_apply(const struct tg_maps *m, const struct tg_config *cfg,
		    const struct tg_applied *ap);

/* Unix time at which the period containing t began (calendar periods, UTC). */
int64_t tg_period_start(int period, int64_t t);
/* Called about every second: a quota whose period ended is reset (and an event says so).
 * ev may be NULL. Returns the number of quotas reset, or a negative errno. */
int tg_quota_tick(const struct tg_maps *m, const struct tg_config *cfg, const struct tg_applied *ap,
		  int64_t now, struct tg_events *ev);

#endif /* TG_POLICY_H */
