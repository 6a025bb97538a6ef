/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtime events as JSON lines (docs/runtime.md, docs/events.md): the names a formatter
 * needs, and the formatter with one case per event type.
 */
#ifndef TG_RT_EVENTS_H
#define TG_RT_EVENTS_H

#include <stdint.h>
#include <stdio.h>

#include "tollgate.h"

struct tg_rt_names {
	const struct tg_tenant_meta *meta; /* TG_MAX_TENANTS entries, or NULL */
	/* rule names by generation and id ("" = unknown) */
	const char (*rules)[TG_MAX_RT_RULES][64];
};

/* "exec", "exit", ... or NULL for an unknown type. */
const char *tg_rt_type_name(uint32_t type);
/* One JSON object, no newline. clock_offset_ns: CLOCK_REALTIME - CLOCK_MONOTONIC. */
void tg_rt_event_json(FILE *out, const struct tg_rt_event *e, const struct tg_rt_names *names,
		      int64_t clock_offset_ns);

#endif /* TG_RT_EVENTS_H */
