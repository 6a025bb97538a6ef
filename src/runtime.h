/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtime security in user space (docs/runtime.md): compiles runtime.rules into the
 * kernel's maps, attaches the tracepoints the configuration needs, and drains the
 * runtime ring into the events file (and kills into the audit log, first sights into
 * the inventory), counting what it delivers.
 */
#ifndef TG_RUNTIME_H
#define TG_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "apply.h"
#include "config.h"
#include "datapath.h"
#include "events.h"

struct tg_runtime;

/* A compiled rule set: what tg_runtime_apply writes into one generation. */
struct tg_rt_compiled {
	struct tg_rt_rule rules[TG_MAX_RT_RULES]; /* by id; 0 unused */
	char names[TG_MAX_RT_RULES][64];
	uint32_t n_rules; /* ids 1..n_rules */
	uint32_t types;	  /* bit 1 << type: has rules */
	struct tg_rt_pfx_key *keys;
	struct tg_rt_pfx_val *vals;
	size_t n_prefixes;
};

/* Compiles cfg->runtime.rules (kill rules first, then alert rules, each in file order)
 * with tenant ids from ap. gen goes into the LPM keys. */
int tg_rt_compile(const struct tg_config *cfg, const struct tg_applied *ap, uint8_t gen,
		  struct tg_rt_compiled *out, char *err, size_t errlen);
void tg_rt_compiled_free(struct tg_rt_compiled *c);

/* Takes the datapath's runtime object; -ENOTSUP when it could not be loaded. */
int tg_runtime_open(struct tg_datapath *dp, struct tg_runtime **out);
/* Writes the configuration into the inactive generation, then flips to it; attaches the
 * tracepoints now needed. Without cfg->runtime.enabled: off (conf cleared). */
int tg_runtime_apply(struct tg_runtime *rt, const struct tg_config *cfg,
		     const struct tg_applied *ap);
/* The tenant names events are reported with (borrowed; tg_runtime_apply sets it too):
 * a reload points it at the agent's new ids once they are its own. */
void tg_runtime_set_applied(struct tg_runtime *rt, const struct tg_applied *ap);
/* Where events go: the events output, the audit log (kills), the inventory (NULL: none). */
void tg_runtime_set_output(struct tg_runtime *rt, struct tg_events *ev, const char *audit_path);
/* Hands every TG_RT_BPF event to the BPF watch (src/bpf_inventory.h); NULL: none. */
struct tg_bpf_watch;
void tg_runtime_set_bpf_watch(struct tg_runtime *rt, struct tg_bpf_watch *w);
/* The fd to poll (readable when the ring has records), -1 when off. */
int tg_runtime_fd(const struct tg_runtime *rt);
/* Reads the ring; returns records read or a negative errno. */
int tg_runtime_drain(struct tg_runtime *rt);
/* One line per tracepoint: attached, or why not. */
void tg_runtime_describe(const struct tg_runtime *rt, FILE *out);
void tg_runtime_close(struct tg_runtime *rt);

/* Totals per type over tenants [0, TG_MAX_TENANTS) from the pins (tollgate status):
 * produced, delivered, dropped_budget, dropped_ring. -ENOENT when not pinned. */
struct tg_rt_totals {
	uint64_t produced, delivered, dropped_budget, dropped_ring;
};
/* cell, when not NULL, is called for every (tenant, type) with a count. Only the cells of
 * tenant ids below `tenants` are read (tg_meta_top: ids once assigned stay in use, so no
 * other cell can count anything); 0 reads them all. */
typedef void (*tg_rt_cell_fn)(uint32_t tenant, uint32_t type, const struct tg_rt_totals *t,
			      void *arg);
int tg_rt_read_totals(const char *pin_path, uint32_t tenants, struct tg_rt_totals out[TG_RT_TYPES],
		      tg_rt_cell_fn cell, void *arg);

/* Removes every runtime pin (tg_rt_*) under pin_path (tollgate stop --purge). */
int tg_rt_purge_pins(const char *pin_path);

#endif /* TG_RUNTIME_H */
