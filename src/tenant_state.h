/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-tenant state read from the pinned maps: counters summed over every class, and the
 * isolation state (drops by reason, policy, quota, connections). Shared by
 * `tollgate tenants` and `tollgate top`.
 */
#ifndef TG_TENANT_STATE_H
#define TG_TENANT_STATE_H

#include <stdint.h>

#include "datapath.h"
#include "tollgate.h"

/* Isolation state of one tenant: drops by reason, quota, connections. */
struct tg_tenant_iso {
	struct tg_counter drops[TG_REASON_SLOTS];
	struct tg_policy pol;
	struct tg_quota quota;
	uint64_t conns;
};

/* Per-tenant totals over every class into out[0..top). */
int tg_tenant_totals_read(const struct tg_maps *m, struct tg_tenant_stats *out, uint32_t top);
/* The isolation state of every tenant in use below top into iso[0..top). */
int tg_tenant_iso_read(const struct tg_maps *m, const struct tg_tenant_meta *meta,
		       struct tg_tenant_iso *iso, uint32_t top);
/* "alert", "throttle", "block" or "none". */
const char *tg_quota_action_name(uint8_t a);

#endif /* TG_TENANT_STATE_H */
