// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Per-tenant state from the pinned maps (see tenant_state.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "tenant_state.h"

const char *tg_quota_action_name(uint8_t a)
{
	switch (a) {
	case TG_QUOTA_ALERT:
		return "alert";
	case TG_QUOTA_THROTTLE:
		return "throttle";
	case TG_QUOTA_BLOCK:
		return "block";
	default:
		return "none";
	}
}

int tg_tenant_iso_read(const struct tg_maps *m, const struct tg_tenant_meta *meta,
		       struct tg_tenant_iso *iso, uint32_t top)
{
	struct tg_counter *cells = calloc((size_t)top * TG_REASON_SLOTS, sizeof(*cells));
	int err = cells ? tg_maps_read_drops(m, cells, top) : -ENOMEM;

	for (uint32_t id = 1; !err && id < top; id++) {
		struct tg_tenant_iso *t = &iso[id];

		if (!(meta[id].flags & TG_TENANT_IN_USE))
			continue;
		memcpy(t->drops, &cells[(size_t)id * TG_REASON_SLOTS], sizeof(t->drops));
		if (bpf_map_lookup_elem(m->policy, &id, &t->pol) ||
		    bpf_map_lookup_elem(m->quota, &id, &t->quota) ||
		    bpf_map_lookup_elem(m->conns, &id, &t->conns))
			err = -errno;
	}
	free(cells);
	return err;
}

int tg_tenant_totals_read(const struct tg_maps *m, struct tg_tenant_stats *out, uint32_t top)
{
	struct tg_tenant_stats *cells = calloc((size_t)top * TG_MAX_CLASSES, sizeof(*cells));
	int err = cells ? tg_maps_read_cells(m, cells, top) : -ENOMEM;

	for (uint32_t id = 0; !err && id < top; id++)
		tg_cells_tenant_total(cells, id, &out[id]);
	free(cells);
	return err;
}
