// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Tenant policy: caps, quotas and socket flags into tg_policy (docs/isolation.md).
 */
#include <errno.h>

#include "policy.h"

uint64_t tg_default_burst(uint64_t rate_bps)
{
	(void)rate_bps;
	return 0; /* TODO(isolation) */
}

void tg_rate_compute(uint64_t units_per_sec, uint64_t burst_units, struct tg_rate *out)
{
	(void)units_per_sec;
	(void)burst_units;
	out->scale = 0;
	out->burst_ns = 0; /* TODO(isolation) */
}

int tg_policy_apply(const struct tg_maps *m, const struct tg_config *cfg,
		    const struct tg_applied *ap)
{
	(void)m;
	(void)cfg;
	(void)ap;
	return 0; /* TODO(isolation) */
}

int64_t tg_period_start(int period, int64_t t)
{
	(void)period;
	return t; /* TODO(isolation) */
}

int tg_quota_tick(const struct tg_maps *m, const struct tg_config *cfg, const struct tg_applied *ap,
		  int64_t now, struct tg_events *ev)
{
	(void)m;
	(void)cfg;
	(void)ap;
	(void)now;
	(void)ev;
	return 0; /* TODO(isolation) */
}
