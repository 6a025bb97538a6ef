/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Isolation: what a tenant may send and receive (docs/isolation.md). The checks are
 * shared by the tc programs on tenants' interfaces and by the cgroup programs:
 *
 *	segmentation and deny lists (lib/deny.h)   addresses: drop or refuse
 *	caps and quota throttle (lib/police.h)     rates: GCRA buckets, one per tenant
 *
 * Every drop or refusal is counted in tg_drops by tenant and reason, and reported by an
 * event; events are rate-limited per tenant and reason, the suppressed ones counted in
 * the next event that goes out.
 */
#ifndef TG_ENFORCE_H
#define TG_ENFORCE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/maps.h"
#include "lib/parse.h"

/* What an event says about the packet or socket it concerns. */
struct tg_ev_ctx {
	const struct tg_pkt *p; /* NULL when there is no packet */
	int dir;
	bool task; /* process context: record pid, uid and comm */
};

static __always_inline void tg_event_fill(struct tg_event *e, const struct tg_ev_ctx *x)
{
	if (x && x->p) {
		e->family = x->p->family;
		e->proto = x->p->l4_proto;
		e->sport = x->p->sport;
		e->dport = x->p->dport;
		__builtin_memcpy(e->src, x->p->src, 16);
		__builtin_memcpy(e->dst, x->p->dst, 16);
	}
	if (x) {
		e->dir = x->dir;
		if (x->task) {
			__u64 id = bpf_get_current_pid_tgid();

			e->pid = id >> 32;
			e->uid = (__u32)bpf_get_current_uid_gid();
			bpf_get_current_comm(e->comm, sizeof(e->comm));
		}
	}
}

/* Reserves and fills one event; the caller may set more fields, then submits it.
 * produced = delivered + dropped: produced counts every attempt, dropped every failed
 * reserve. NULL when the ring is full. */
static __always_inline struct tg_event *tg_event_begin(__u32 type, __u32 tenant, __u32 reason,
						       __u32 count, __u64 value,
						       const struct tg_ev_ctx *x)
{
	struct tg_event *e;

	tg_stat_add(TG_STAT_EVENTS_PRODUCED, 1);
	e = bpf_ringbuf_reserve(&tg_events, sizeof(*e), 0);
	if (!e) {
		tg_stat_add(TG_STAT_EVENTS_DROPPED, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = bpf_ktime_get_ns();
	e->type = type;
	e->tenant_id = tenant;
	e->reason = reason;
	e->count = count;
	e->value = value;
	tg_event_fill(e, x);
	return e;
}

/* Sends one event, unconditionally (callers rate-limit). */
static __always_inline void tg_event_send(__u32 type, __u32 tenant, __u32 reason, __u32 count,
					  __u64 value, const struct tg_ev_ctx *x)
{
	struct tg_event *e = tg_event_begin(type, tenant, reason, count, value, x);

	if (e)
		bpf_ringbuf_submit(e, 0);
}

/* At most one event per (tenant, reason) per TG_EVENT_INTERVAL_NS. Returns the count the
 * event stands for (1 + those suppressed since the last one), or 0 to stay silent. */
static __always_inline __u32 tg_event_admit(__u32 tenant, __u32 reason)
{
	__u32 cell = tenant * TG_REASON_SLOTS + (reason & (TG_REASON_SLOTS - 1));
	struct tg_event_limit *l = bpf_map_lookup_elem(&tg_event_limit, &cell);
	__u64 now = bpf_ktime_get_ns(), last;

	if (!l)
		return 1;
	last = l->last_ns;
	if ((last && now - last < TG_EVENT_INTERVAL_NS) ||
	    __sync_val_compare_and_swap(&l->last_ns, last, now) != last) {
		__sync_fetch_and_add(&l->suppressed, 1);
		tg_stat_add(TG_STAT_EVENTS_SUPPRESSED, 1);
		return 0;
	}
	return 1 + (__u32)__sync_lock_test_and_set(&l->suppressed, 0);
}

/* Counts one enforcement (a drop of segs frames and bytes, or a refusal: 1 and 0) and
 * reports it, rate-limited. */
static __always_inline void tg_enforced(__u32 tenant, __u32 reason, __u64 segs, __u64 bytes,
					const struct tg_ev_ctx *x)
{
	__u32 cell = tenant * TG_REASON_SLOTS + (reason & (TG_REASON_SLOTS - 1));
	struct tg_counter *c = bpf_map_lookup_elem(&tg_drops, &cell);
	__u32 count;

	if (c) {
		c->packets += segs;
		c->bytes += bytes;
	}
	count = tg_event_admit(tenant, reason);
	if (count)
		tg_event_send(TG_EV_ENFORCE, tenant, reason, count, 0, x);
}

static __always_inline const struct tg_policy *tg_policy_of(__u32 tenant)
{
	const struct tg_policy *pol;

	if (tenant == TG_TENANT_UNATTRIBUTED || tenant >= TG_MAX_TENANTS)
		return NULL;
	pol = bpf_map_lookup_elem(&tg_policy, &tenant);
	return pol && (pol->flags & TG_POL_ENFORCE) ? pol : NULL;
}

#include "lib/deny.h"
#include "lib/police.h"

/* The verdict on one packet of tenant in direction dir (seen from the tenant), before it
 * is billed: TG_REASON_NONE to pass, else the reason it is dropped (already counted and
 * reported). err is the parser's result: a packet whose addresses we could not read is
 * never matched against addresses, but still pays its caps; one whose addresses we read
 * but not its transport header is judged on them (lib/deny.h fails closed on the rest). */
static __always_inline __u32 tg_enforce_pkt(__u32 tenant, int dir, const struct tg_pkt *p, int err,
					    __u64 segs, __u64 bytes)
{
	const struct tg_policy *pol = tg_policy_of(tenant);
	struct tg_ev_ctx x = { .p = err && !p->family ? NULL : p, .dir = dir };
	__u32 reason = TG_REASON_NONE;

	if (!pol)
		return TG_REASON_NONE;
	if (!err || p->family)
		reason = tg_addr_verdict(tenant, pol, dir, p);
	if (!reason)
		reason = tg_police(tenant, pol, dir, segs, bytes);
	if (reason)
		tg_enforced(tenant, reason, segs, bytes, &x);
	return reason;
}

#endif /* TG_ENFORCE_H */
