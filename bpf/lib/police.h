/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Caps and quotas: GCRA token buckets shared by every hook of a tenant, and the quota
 * counter fed by billed bytes. Included by lib/enforce.h.
 */
#ifndef TG_POLICE_H
#define TG_POLICE_H

/* The caps of tenant in direction dir for a packet of segs wire frames and bytes wire
 * bytes: TG_REASON_QUOTA_BLOCK, TG_REASON_QUOTA_THROTTLE, TG_REASON_RATE or
 * TG_REASON_PPS when it does not conform (no tokens are taken then), else
 * TG_REASON_NONE (tokens taken). */
static __always_inline __u32 tg_police(__u32 tenant, const struct tg_policy *pol, int dir,
				       __u64 segs, __u64 bytes)
{
	return TG_REASON_NONE; /* TODO(isolation): caps */
}

/* Billed bytes count toward the tenant's quota; crossing it sets tg_quota.exceeded and
 * sends TG_EV_QUOTA_EXCEEDED, once per period. Called for every billed packet. */
static __always_inline void tg_quota_add(__u32 tenant, int dir, __u64 bytes)
{
	/* TODO(isolation): quotas */
}

#endif /* TG_POLICE_H */
