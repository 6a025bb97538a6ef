/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The agent's flow cycle: every export interval, read the flow table, send each flow's
 * counts since its previous report to the IPFIX collector (when one is configured), and
 * remove flows idle for longer than flows.idle_timeout.
 */
#ifndef TG_FLOW_EXPORT_H
#define TG_FLOW_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "apply.h"
#include "config.h"
#include "datapath.h"

struct tg_flow_export;

/* Opens the exporter (when cfg->ipfix.host is set) and takes the flows already in the
 * table as the baseline: what a previous agent counted is not reported twice. */
int tg_flow_export_open(const struct tg_config *cfg, const struct tg_maps *m,
			struct tg_flow_export **out);
/* One cycle. final: the agent is stopping; export, remove nothing. */
int tg_flow_export_cycle(struct tg_flow_export *x, const struct tg_applied *ap, bool final);
/* Seconds between cycles. */
uint32_t tg_flow_export_period(const struct tg_flow_export *x);
void tg_flow_export_close(struct tg_flow_export *x);

#endif /* TG_FLOW_EXPORT_H */
