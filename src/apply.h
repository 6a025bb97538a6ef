/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Applying a configuration to the maps: stable tenant and class ids, and the CIDR tries
 * that attribute addresses to tenants and classes. Shared by the agent and by replay,
 * so that a capture is judged by exactly what the agent would program.
 */
#ifndef TG_APPLY_H
#define TG_APPLY_H

#include <stdint.h>

#include "config.h"
#include "datapath.h"

struct tg_applied {
	struct tg_tenant_meta *meta;		      /* TG_MAX_TENANTS, mirrors tg_tenant_meta */
	struct tg_class_meta classes[TG_MAX_CLASSES]; /* mirrors tg_class_meta */
	uint32_t *tenant_ids;			      /* id of cfg->tenants[i] */
	uint32_t class_ids[TG_MAX_CLASSES];	      /* id of cfg->classes[i] */
};

/* Ids are stable for the life of the pins: a tenant or class keeps its id across
 * restarts. A tenant id is never reused while the pins live; a class id whose class left
 * the configuration is reused only when all TG_MAX_CLASSES - 1 are taken (cursors belong
 * to the cell, so reuse never bills a byte twice). Then the tries are brought to the
 * configuration: stale prefixes out, current ones in, N log N. */
int tg_apply(const struct tg_maps *m, const struct tg_config *cfg, struct tg_applied *out);
void tg_applied_free(struct tg_applied *a);

#endif /* TG_APPLY_H */
