// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The harvest reads cumulative counters and hands them to the store, which bills the
 * difference to its cursor in one transaction. Nothing here resets a counter: the
 * kernel side only ever adds, so the agent can die at any instant and lose nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harvest.h"

int tg_harvest(const struct tg_maps *m, const struct tg_tenant_meta *meta, struct tg_store *s,
	       const char *node, int64_t interval_start, uint32_t interval, uint64_t *billed)
{
	struct tg_tenant_stats *stats = NULL;
	struct tg_sample *samples = NULL;
	struct tg_harvest h = { .node = node,
				.interval_start = interval_start,
				.interval = interval };
	uint32_t top = tg_meta_top(meta);
	size_t n = 0;
	struct tg_state st;
	int err;

	err = tg_state_read(m, &st);
	if (err)
		return err;
	memcpy(h.epoch, st.epoch, sizeof(h.epoch));
	if (top == 1)
		return tg_store_harvest(s, &h, billed); /* no tenant: the epoch only */

	stats = calloc(top, sizeof(*stats));
	samples = calloc((size_t)top * TG_DIR_MAX, sizeof(*samples));
	if (!stats || !samples) {
		err = -ENOMEM;
		goto out;
	}
	err = tg_maps_read_tenants(m, stats, top);
	if (err)
		goto out;
	for (uint32_t id = 1; id < top; id++) {
		if (!(meta[id].flags & TG_TENANT_IN_USE))
			continue;
		for (int d = 0; d < TG_DIR_MAX; d++) {
			struct tg_sample *smp = &samples[n++];

			smp->tenant_id = id;
			snprintf(smp->tenant, sizeof(smp->tenant), "%s", meta[id].name);
			smp->dir = d;
			smp->packets = stats[id].dir[d].packets;
			smp->bytes = stats[id].dir[d].bytes;
		}
	}
	h.samples = samples;
	h.n_samples = n;
	err = tg_store_harvest(s, &h, billed);
out:
	free(stats);
	free(samples);
	return err;
}
