// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The harvest reads cumulative counters and hands them to the store, which bills the
 * difference to its cursor in one transaction. Nothing here resets a counter: the
 * kernel side only ever adds, so the agent can die at any instant and lose nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harvest.h"

int tg_harvest(const struct tg_maps *m, const struct tg_tenant_meta *meta, struct tg_store *s,
	       const char *node, int64_t interval_start, uint32_t interval, uint64_t *billed)
{
	struct tg_class_meta classes[TG_MAX_CLASSES];
	struct tg_tenant_stats *cells = NULL;
	struct tg_sample *samples = NULL;
	struct tg_harvest h = { .node = node,
				.interval_start = interval_start,
				.interval = interval };
	uint32_t top = tg_meta_top(meta);
	size_t n = 0;
	struct tg_state st;
	int err;

	err = tg_state_read(m, &st);
	if (!err)
		err = tg_maps_read_class_meta(m, classes);
	if (err)
		return err;
	memcpy(h.epoch, st.epoch, sizeof(h.epoch));
	if (top == 1)
		return tg_store_harvest(s, &h, billed); /* no tenant: the epoch only */

	cells = calloc((size_t)top * TG_MAX_CLASSES, sizeof(*cells));
	samples = calloc((size_t)top * TG_MAX_CLASSES * TG_DIR_MAX, sizeof(*samples));
	if (!cells || !samples) {
		err = -ENOMEM;
		goto out;
	}
	err = tg_maps_read_cells(m, cells, top);
	if (err)
		goto out;
	for (uint32_t id = 1; id < top; id++) {
		if (!(meta[id].flags & TG_TENANT_IN_USE))
			continue;
		for (uint32_t c = 0; c < TG_MAX_CLASSES; c++) {
			const struct tg_tenant_stats *cell =
				&cells[(size_t)id * TG_MAX_CLASSES + c];
			bool used = c == TG_CLASS_INTERNET || (classes[c].flags & TG_TENANT_IN_USE);

			/* A cell that never counted has nothing to bill; one that did is billed
			 * even after its class left the configuration. */
			if (!used && !cell->dir[0].packets && !cell->dir[1].packets)
				continue;
			for (int d = 0; d < TG_DIR_MAX; d++) {
				struct tg_sample *smp = &samples[n++];

				smp->tenant_id = id;
				snprintf(smp->tenant, sizeof(smp->tenant), "%s", meta[id].name);
				smp->class_id = c;
				tg_class_name(classes, c, smp->class_name, sizeof(smp->class_name));
				smp->dir = d;
				smp->packets = cell->dir[d].packets;
				smp->bytes = cell->dir[d].bytes;
			}
		}
	}
	h.samples = samples;
	h.n_samples = n;
	err = tg_store_harvest(s, &h, billed);
out:
	free(cells);
	free(samples);
	return err;
}
