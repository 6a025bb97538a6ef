// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Tenant policy: caps, quotas and socket flags into tg_policy (docs/isolation.md).
 *
 * A cap is a GCRA (virtual scheduling) bucket: each byte moves the bucket's theoretical
 * arrival time on by 1e9 / rate nanoseconds, and a packet conforms while that time is at
 * most burst_ns ahead of now. The kernel multiplies in fixed point (TG_RATE_SHIFT).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "policy.h"

#define NSEC 1000000000ull

/* A cap drops what exceeds it, and TCP learns of the drops late: a sender that lost the
 * tail of a flight waits for its retransmission timeout, 200 ms at least on Linux, and
 * sends nothing meanwhile. The bucket fills during that silence, and what it holds is
 * spent when the sender comes back; a burst shorter than the silence loses the rest of
 * it for good. Measured here (docs/isolation.md): 150 ms of the rate left 4 TCP streams
 * at 77-95% of a 100 or 400 Mbit/s cap, 250 ms gave 94-96% (the wire ceiling for TCP
 * goodput is 95.6%) for BBR and CUBIC, 20 to 400 Mbit/s, both directions. The floor
 * holds two 64 KiB GSO super-packets with their headers. */
uint64_t tg_default_burst(uint64_t rate_bps)
{
	uint64_t burst = rate_bps / 8 * TG_BURST_MS / 1000;

	return burst > TG_BURST_MIN ? burst : TG_BURST_MIN;
}

void tg_rate_compute(uint64_t units_per_sec, uint64_t burst_units, struct tg_rate *out)
{
	memset(out, 0, sizeof(*out));
	if (!units_per_sec)
		return;
	out->scale = (uint64_t)(((unsigned __int128)NSEC << TG_RATE_SHIFT) / units_per_sec);
	out->burst_ns = (uint64_t)((unsigned __int128)burst_units * NSEC / units_per_sec);
	if (!out->scale)
		out->scale = 1; /* faster than the fixed point can tell: still a cap */
}

static void bytes_rate(uint64_t rate_bps, uint64_t burst, struct tg_rate *out)
{
	if (!rate_bps) {
		memset(out, 0, sizeof(*out));
		return;
	}
	tg_rate_compute(rate_bps / 8, burst ? burst : tg_default_burst(rate_bps), out);
}

/* A packet-rate cap drops like a byte cap, and TCP needs the same burst from it:
 * TG_BURST_MS of the rate (a tenth of a second left 4 TCP streams at 56-84% of a 10000
 * packets/s cap, 250 ms at 97-99%), at least TG_BURST_MIN_PKTS. */
static void packet_rate(uint64_t pps, struct tg_rate *out)
{
	uint64_t burst = pps * TG_BURST_MS / 1000;

	if (burst < TG_BURST_MIN_PKTS)
		burst = TG_BURST_MIN_PKTS;

	tg_rate_compute(pps, pps ? burst : 0, out);
}

static void build(const struct tg_config *cfg, const struct tg_tenant_conf *t, struct tg_policy *p)
{
	const struct tg_limits *l = &t->limits;

	memset(p, 0, sizeof(*p));
	bytes_rate(l->ingress_rate, l->ingress_burst, &p->bps[TG_DIR_INGRESS]);
	bytes_rate(l->egress_rate, l->egress_burst, &p->bps[TG_DIR_EGRESS]);
	packet_rate(l->ingress_pps, &p->pps[TG_DIR_INGRESS]);
	packet_rate(l->egress_pps, &p->pps[TG_DIR_EGRESS]);
	p->max_connections = l->max_connections;
	if (t->raw_sockets_denied)
		p->flags |= TG_POL_RAW_DENY;
	if (cfg->segmentation)
		p->flags |= TG_POL_ISOLATED;
	if (t->n_deny)
		p->flags |= TG_POL_HAS_DENY;
	if (t->quota.bytes) {
		p->quota_bytes = t->quota.bytes;
		p->quota_action = (uint8_t)t->quota.action;
		if (t->quota.ingress)
			p->flags |= TG_POL_QUOTA_IN;
		if (t->quota.egress)
			p->flags |= TG_POL_QUOTA_OUT;
		if (t->quota.action == TG_QUOTA_THROTTLE)
			bytes_rate(t->quota.throttle_rate, 0, &p->throttle);
	}
	if (p->flags || cfg->n_deny || p->max_connections || p->bps[0].scale || p->bps[1].scale ||
	    p->pps[0].scale || p->pps[1].scale)
		p->flags |= TG_POL_ENFORCE;
	/* not enforcement: which hook bills the tenant (set after the fast-path test) */
	if (t->n_interfaces)
		p->flags |= TG_POL_IFACE_METERED;
}

int tg_policy_apply(const struct tg_maps *m, const struct tg_config *cfg,
		    const struct tg_applied *ap)
{
	static const struct tg_policy none;
	struct tg_policy p;
	uint32_t id;

	/* Ids in use but no longer configured lose their policy. */
	for (id = 1; id < TG_MAX_TENANTS; id++) {
		if (!(ap->meta[id].flags & TG_TENANT_IN_USE) ||
		    (ap->meta[id].flags & TG_TENANT_CONFIGURED))
			continue;
		if (bpf_map_update_elem(m->policy, &id, &none, BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		struct tg_policy cur;

		id = ap->tenant_ids[i];
		build(cfg, &cfg->tenants[i], &p);
		/* TG_POL_GUARD_SCOPE belongs to the uplink guard (guard.c), which sets it
		 * once the tenant's scoped rules are in tg_gset4/6: kept as it is, so
		 * that either may be applied first. */
		if (bpf_map_lookup_elem(m->policy, &id, &cur))
			return -errno;
		p.flags |= cur.flags & TG_POL_GUARD_SCOPE;
		if (bpf_map_update_elem(m->policy, &id, &p, BPF_ANY))
			return -errno;
	}
	return 0;
}

int64_t tg_period_start(int period, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		return t;
	tm.tm_sec = 0;
	tm.tm_min = 0;
	switch (period) {
	case TG_PERIOD_HOURLY:
		break;
	case TG_PERIOD_DAILY:
		tm.tm_hour = 0;
		break;
	case TG_PERIOD_WEEKLY:
		tm.tm_hour = 0;
		tm.tm_mday -= (tm.tm_wday + 6) % 7; /* back to Monday; timegm normalises */
		break;
	case TG_PERIOD_MONTHLY:
	default:
		tm.tm_hour = 0;
		tm.tm_mday = 1;
		break;
	}
	return (int64_t)timegm(&tm);
}

int tg_quota_tick(const struct tg_maps *m, const struct tg_config *cfg, const struct tg_applied *ap,
		  int64_t now, struct tg_events *ev)
{
	int reset = 0;

	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct tg_tenant_conf *t = &cfg->tenants[i];
		uint32_t id = ap->tenant_ids[i];
		struct tg_quota q;
		int64_t start;

		if (!t->quota.bytes)
			continue;
		if (bpf_map_lookup_elem(m->quota, &id, &q))
			return -errno;
		start = tg_period_start(t->quota.period, now);
		if (q.period_start == (uint64_t)start)
			continue;
		if (q.period_start && ev) {
			char extra[96];

			snprintf(extra, sizeof(extra), "\"used\":%llu,\"quota\":%llu",
				 (unsigned long long)q.used, (unsigned long long)t->quota.bytes);
			tg_events_user(ev, "quota_reset", t->name, extra);
		}
		/* A fresh quota (period_start 0) counts from now; the kernel's additions
		 * between our read and this write are lost to the quota, never to billing. */
		memset(&q, 0, sizeof(q));
		q.period_start = (uint64_t)start;
		if (bpf_map_update_elem(m->quota, &id, &q, BPF_ANY))
			return -errno;
		reset++;
	}
	return reset;
}
