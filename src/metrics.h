/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prometheus text exposition 0.0.4 of the pinned datapath (GET /metrics, docs/api.md).
 */
#ifndef TG_METRICS_H
#define TG_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A label value as the text format wants it: backslash, double quote and line feed
 * escaped (\\, \", \n); everything else as is. */
void tg_prom_label_value(FILE *f, const char *v);
/* The "# HELP" and "# TYPE" lines of a family (help escaped: \\ and \n). */
void tg_prom_family(FILE *f, const char *name, const char *type, const char *help);

/* Configuration reloads (docs/lifecycle.md), as the agent counts them. */
struct tg_reload_stats {
	uint64_t ok, failed; /* reloads applied, and refused or rolled back */
	uint64_t generation; /* 0 = the configuration the agent started with */
	int64_t last;	     /* unix seconds of the last attempt, 0 = none */
	bool last_ok;
};

struct tg_metrics_agent {
	int64_t start_time; /* unix seconds the agent started */
	struct tg_reload_stats reload;
};

/* Every tollgate_* family from the pins under pin_path. 0 or -errno (-ENOENT: no
 * datapath). */
int tg_metrics_write(FILE *f, const char *pin_path, const struct tg_metrics_agent *agent);

#endif /* TG_METRICS_H */
