/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Caps and quotas: GCRA token buckets shared by every hook of a tenant, and the quota
 * counter fed by billed bytes. Included by lib/enforce.h.
 *
 * A cap is virtual scheduling (GCRA): the bucket keeps a theoretical arrival time (tat);
 * a packet conforms while tat is at most burst_ns ahead of now, and a conforming packet
 * moves tat on by its cost (units * 1e9 / rate ns). A tenant's byte cap, packet cap and
 * quota throttle of one direction share one bucket value and one lock, so a packet is
 * admitted by all of them or charged to none. Over any span T a cap lets through at most
 * rate * T + burst (plus the one packet that found the bucket just at its limit).
 */
#ifndef TG_POLICE_H
#define TG_POLICE_H

#define TG_RATE_FRAC ((1ull << TG_RATE_SHIFT) - 1)

/* Nanoseconds units cost at rate r, without overflow for any units a packet stands for:
 * the integer and fractional parts of scale are multiplied apart. */
static __always_inline __u64 tg_rate_cost(const struct tg_rate *r, __u64 units)
{
	return units * (r->scale >> TG_RATE_SHIFT) +
	       ((units * (r->scale & TG_RATE_FRAC)) >> TG_RATE_SHIFT);
}

/* Is the tenant's quota used up (and does its action restrict traffic)? */
static __always_inline const struct tg_quota *tg_quota_over(__u32 tenant,
							    const struct tg_policy *pol)
{
	const struct tg_quota *q;

	if (!pol->quota_bytes || pol->quota_action < TG_QUOTA_THROTTLE)
		return NULL;
	q = bpf_map_lookup_elem(&tg_quota, &tenant);
	return q && q->exceeded ? q : NULL;
}

/* The caps of tenant in direction dir for a packet of segs wire frames and bytes wire
 * bytes: TG_REASON_QUOTA_BLOCK, TG_REASON_QUOTA_THROTTLE, TG_REASON_RATE or
 * TG_REASON_PPS when it does not conform (no tokens are taken then), else
 * TG_REASON_NONE (tokens taken). The quota's throttle applies to each direction on its
 * own, like the caps: a tenant over its quota gets throttle_rate each way. */
static __always_inline __u32 tg_police(__u32 tenant, const struct tg_policy *pol, int dir,
				       __u64 segs, __u64 bytes)
{
	const struct tg_rate *bps = &pol->bps[dir & 1], *pps = &pol->pps[dir & 1];
	const struct tg_rate *thr = &pol->throttle;
	__u64 now, tb, tp, tt, cb = 0, cp = 0, ct = 0;
	__u32 key, reason = TG_REASON_NONE;
	bool throttled = false;
	struct tg_bucket *b;

	if (tg_quota_over(tenant, pol)) {
		if (pol->quota_action == TG_QUOTA_BLOCK)
			return TG_REASON_QUOTA_BLOCK;
		throttled = thr->scale != 0;
	}
	if (!bps->scale && !pps->scale && !throttled)
		return TG_REASON_NONE;
	key = tenant * TG_DIR_MAX + (dir & 1);
	b = bpf_map_lookup_elem(&tg_buckets, &key);
	if (!b)
		return TG_REASON_NONE;
	if (bps->scale)
		cb = tg_rate_cost(bps, bytes);
	if (pps->scale)
		cp = tg_rate_cost(pps, segs);
	if (throttled)
		ct = tg_rate_cost(thr, bytes);
	now = bpf_ktime_get_ns(); /* no helper calls under the lock */

	bpf_spin_lock(&b->lock);
	tb = b->tat_bytes > now ? b->tat_bytes : now;
	tp = b->tat_packets > now ? b->tat_packets : now;
	tt = b->tat_throttle > now ? b->tat_throttle : now;
	if (throttled && tt - now > thr->burst_ns)
		reason = TG_REASON_QUOTA_THROTTLE;
	else if (bps->scale && tb - now > bps->burst_ns)
		reason = TG_REASON_RATE;
	else if (pps->scale && tp - now > pps->burst_ns)
		reason = TG_REASON_PPS;
	if (!reason) {
		if (cb)
			b->tat_bytes = tb + cb;
		if (cp)
			b->tat_packets = tp + cp;
		if (ct)
			b->tat_throttle = tt + ct;
	}
	bpf_spin_unlock(&b->lock);
	return reason;
}

/* Billed bytes count toward the tenant's quota; crossing it sets tg_quota.exceeded and
 * sends TG_EV_QUOTA_EXCEEDED, once per period. Called for every billed packet. */
static __always_inline void tg_quota_add(__u32 tenant, int dir, __u64 bytes)
{
	const struct tg_policy *pol = tg_policy_of(tenant);
	struct tg_ev_ctx x = { .dir = dir };
	struct tg_quota *q;
	__u64 used;

	if (!pol || !pol->quota_bytes ||
	    !(pol->flags & (dir == TG_DIR_INGRESS ? TG_POL_QUOTA_IN : TG_POL_QUOTA_OUT)))
		return;
	q = bpf_map_lookup_elem(&tg_quota, &tenant);
	if (!q)
		return;
	used = __sync_fetch_and_add(&q->used, bytes) + bytes;
	/* Also fires when the quota was lowered below what is used already; the exchange
	 * makes it once, whichever CPU gets there first. */
	if (used >= pol->quota_bytes && !q->exceeded &&
	    __sync_val_compare_and_swap(&q->exceeded, 0, 1) == 0)
		tg_event_send(TG_EV_QUOTA_EXCEEDED, tenant, TG_REASON_NONE, 1, used, &x);
}

#endif /* TG_POLICE_H */
