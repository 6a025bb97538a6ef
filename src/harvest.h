/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Harvest: cumulative per-tenant counters from the pinned maps into the billing store. */
#ifndef TG_HARVEST_H
#define TG_HARVEST_H

#include <stdint.h>

#include "datapath.h"
#include "store.h"

/* Bills every tenant id that meta marks in use. meta is the tenant table
 * (TG_MAX_TENANTS entries); the deltas go to [interval_start, +interval). */
int tg_harvest(const struct tg_maps *m, const struct tg_tenant_meta *meta, struct tg_store *s,
	       const char *node, int64_t interval_start, uint32_t interval, uint64_t *billed);

#endif /* TG_HARVEST_H */
