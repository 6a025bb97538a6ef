// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * GET /metrics: the pinned datapath's counters in the Prometheus text format 0.0.4
 * (docs/api.md lists the families). Read from the pins at every scrape, like `tollgate
 * status`: nothing here is cached, so two scrapes never disagree with the kernel.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "datapath.h"
#include "events.h"
#include "flows.h"
#include "metrics.h"
#include "runtime.h"
#include "rt_events.h"
#include "store.h"

void tg_prom_label_value(FILE *f, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

void tg_prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	for (; *help; help++) {
		if (*help == '\\')
			fputs("\\\\", f);
		else if (*help == '\n')
			fputs("\\n", f);
		else
			fputc(*help, f);
	}
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

static void sample_u64(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* name{tenant="..."[,k="v"]} v */
static void tenant_sample(FILE *f, const char *name, const char *tenant, const char *k1,
			  const char *v1, const char *k2, const char *v2, uint64_t v)
{
	fprintf(f, "%s{tenant=\"", name);
	tg_prom_label_value(f, tenant);
	if (k1) {
		fprintf(f, "\",%s=\"", k1);
		tg_prom_label_value(f, v1);
	}
	if (k2) {
		fprintf(f, "\",%s=\"", k2);
		tg_prom_label_value(f, v2);
	}
	fprintf(f, "\"} %llu\n", (unsigned long long)v);
}

struct snap {
	struct tg_state st;
	uint64_t stats[TG_STAT_MAX];
	struct tg_tenant_meta *meta;
	struct tg_class_meta classes[TG_MAX_CLASSES];
	struct tg_tenant_stats *cells; /* top * TG_MAX_CLASSES */
	struct tg_counter *drops;      /* top * TG_REASON_SLOTS */
	uint32_t top;
	bool rt_ok;
	struct tg_rt_totals rt[TG_RT_TYPES];
};

static int snap_read(const struct tg_maps *m, const char *pin_path, struct snap *s)
{
	int err;

	s->meta = calloc(TG_MAX_TENANTS, sizeof(*s->meta));
	if (!s->meta)
		return -ENOMEM;
	err = tg_state_read(m, &s->st);
	if (!err)
		err = tg_maps_read_stats(m, s->stats);
	if (!err)
		err = tg_maps_read_meta(m, s->meta);
	if (!err)
		err = tg_maps_read_class_meta(m, s->classes);
	if (err)
		return err;
	s->top = tg_meta_top(s->meta);
	s->cells = calloc((size_t)s->top * TG_MAX_CLASSES, sizeof(*s->cells));
	s->drops = calloc((size_t)s->top * TG_REASON_SLOTS, sizeof(*s->drops));
	if (!s->cells || !s->drops)
		return -ENOMEM;
	err = tg_maps_read_cells(m, s->cells, s->top);
	if (!err)
		err = tg_maps_read_drops(m, s->drops, s->top);
	s->rt_ok = !err && !tg_rt_read_totals(pin_path, s->top, s->rt, NULL, NULL);
	return err;
}

static bool class_used(const struct snap *s, uint32_t k)
{
	return k == 0 || (s->classes[k].flags & TG_TENANT_IN_USE);
}

static void write_traffic(FILE *f, const struct snap *s)
{
	static const char *const fam[2][2] = {
		{ "tollgate_tenant_bytes_total",
		  "Bytes metered for a tenant by traffic class and direction (frames as on the "
		  "wire, what tollgate bill bills)." },
		{ "tollgate_tenant_packets_total",
		  "Packets metered for a tenant by traffic class and direction." },
	};
	char cls[64];

	for (int w = 0; w < 2; w++) {
		tg_prom_family(f, fam[w][0], "counter", fam[w][1]);
		for (uint32_t id = 1; id < s->top; id++) {
			if (!(s->meta[id].flags & TG_TENANT_IN_USE))
				continue;
			for (uint32_t k = 0; k < TG_MAX_CLASSES; k++) {
				const struct tg_tenant_stats *c =
					&s->cells[(size_t)id * TG_MAX_CLASSES + k];

				if (!class_used(s, k))
					continue;
				tg_class_name(s->classes, k, cls, sizeof(cls));
				for (int d = 0; d < TG_DIR_MAX; d++)
					tenant_sample(f, fam[w][0], s->meta[id].name, "class", cls,
						      "direction", tg_dir_name(d),
						      w ? c->dir[d].packets : c->dir[d].bytes);
			}
		}
	}
}

/* The reasons that are a tenant's own caps, and the cap each stands for. */
static const char *cap_of(int reason)
{
	switch (reason) {
	case TG_REASON_RATE:
		return "bandwidth";
	case TG_REASON_PPS:
		return "packet_rate";
	case TG_REASON_CONN_CAP:
		return "connections";
	case TG_REASON_QUOTA_BLOCK:
		return "quota_block";
	case TG_REASON_QUOTA_THROTTLE:
		return "quota_throttle";
	default:
		return NULL;
	}
}

static void write_drops(FILE *f, const struct snap *s)
{
	static const char *const fam[3][2] = {
		{ "tollgate_drops_total",
		  "Packets (and refused connects) dropped for a tenant, by reason." },
		{ "tollgate_drop_bytes_total", "Bytes dropped for a tenant, by reason." },
		{ "tollgate_cap_hits_total",
		  "Packets or connects refused because a tenant hit one of its caps (the drops "
		  "of the cap reasons)." },
	};
	char rb[32];

	for (int w = 0; w < 3; w++) {
		tg_prom_family(f, fam[w][0], "counter", fam[w][1]);
		for (uint32_t id = 1; id < s->top; id++) {
			if (!(s->meta[id].flags & TG_TENANT_IN_USE))
				continue;
			for (int k = 1; k < TG_REASON_SLOTS; k++) {
				const struct tg_counter *c =
					&s->drops[(size_t)id * TG_REASON_SLOTS + k];

				if (k >= TG_REASON_MAX && !c->packets && !c->bytes)
					continue;
				if (w == 2 && !cap_of(k))
					continue;
				tenant_sample(
					f, fam[w][0], s->meta[id].name, w == 2 ? "cap" : "reason",
					w == 2 ? cap_of(k) : tg_reason_label(k, rb, sizeof(rb)),
					NULL, NULL, w == 1 ? c->bytes : c->packets);
			}
		}
	}
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	tg_prom_family(f, name, "counter", help);
	sample_u64(f, name, v);
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	tg_prom_family(f, name, "gauge", help);
	sample_u64(f, name, v);
}

static uint32_t capacity(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

static void write_maps(FILE *f, const struct tg_maps *m, const struct snap *s, int flows_live)
{
	struct fill {
		const char *map;
		int entries;
		uint32_t cap;
	} v[] = {
		{ "tenants", 0, TG_MAX_TENANTS - 1 },
		{ "interfaces", tg_map_count(m->ifaces, sizeof(uint32_t)), capacity(m->ifaces) },
		{ "cidrs_v4", tg_map_count(m->lpm4, sizeof(struct tg_lpm4_key)),
		  capacity(m->lpm4) },
		{ "cidrs_v6", tg_map_count(m->lpm6, sizeof(struct tg_lpm6_key)),
		  capacity(m->lpm6) },
		{ "flows", flows_live, capacity(m->flows) },
		{ "bans_v4", tg_map_count(m->bans4, sizeof(struct tg_lpm4_key)),
		  capacity(m->bans4) },
		{ "bans_v6", tg_map_count(m->bans6, sizeof(struct tg_lpm6_key)),
		  capacity(m->bans6) },
		{ "validated_sources", tg_map_count(m->valid, sizeof(struct tg_src_key)),
		  capacity(m->valid) },
	};
	size_t n = sizeof(v) / sizeof(v[0]);

	for (uint32_t id = 1; id < TG_MAX_TENANTS; id++)
		v[0].entries += !!(s->meta[id].flags & TG_TENANT_IN_USE);
	tg_prom_family(f, "tollgate_map_entries", "gauge",
		       "Entries in use in a datapath map (what fills up).");
	for (size_t i = 0; i < n; i++)
		if (v[i].entries >= 0)
			fprintf(f, "tollgate_map_entries{map=\"%s\"} %d\n", v[i].map, v[i].entries);
	tg_prom_family(f, "tollgate_map_capacity", "gauge", "Capacity of a datapath map, entries.");
	for (size_t i = 0; i < n; i++)
		if (v[i].cap)
			fprintf(f, "tollgate_map_capacity{map=\"%s\"} %u\n", v[i].map, v[i].cap);
}

static void write_runtime(FILE *f, const struct snap *s)
{
	static const char *const fam[3][2] = {
		{ "tollgate_runtime_events_produced_total",
		  "Runtime security events the kernel produced, by type." },
		{ "tollgate_runtime_events_delivered_total",
		  "Runtime security events the agent wrote out, by type." },
		{ "tollgate_runtime_events_dropped_total",
		  "Runtime security events dropped, by type and cause (budget: over the tenant's "
		  "events_per_second; ring: the ring buffer was full)." },
	};

	if (!s->rt_ok)
		return;
	for (int w = 0; w < 3; w++) {
		tg_prom_family(f, fam[w][0], "counter", fam[w][1]);
		for (uint32_t t = 1; t < TG_RT_TYPES; t++) {
			const struct tg_rt_totals *x = &s->rt[t];

			if (w < 2) {
				fprintf(f, "%s{type=\"%s\"} %llu\n", fam[w][0], tg_rt_type_name(t),
					(unsigned long long)(w ? x->delivered : x->produced));
				continue;
			}
			fprintf(f, "%s{type=\"%s\",cause=\"budget\"} %llu\n", fam[w][0],
				tg_rt_type_name(t), (unsigned long long)x->dropped_budget);
			fprintf(f, "%s{type=\"%s\",cause=\"ring\"} %llu\n", fam[w][0],
				tg_rt_type_name(t), (unsigned long long)x->dropped_ring);
		}
	}
}

static void write_globals(FILE *f, const struct snap *s, const struct tg_metrics_agent *agent,
			  int flows_live, uint64_t syn_floods)
{
	const uint64_t *st = s->stats;
	uint64_t evictions = 0;

	gauge(f, "tollgate_agent_up", "1 while the agent that serves this page runs.", 1);
	gauge(f, "tollgate_agent_start_time_seconds", "When the agent started, unix seconds.",
	      (uint64_t)agent->start_time);
	counter(f, "tollgate_config_reloads_total",
		"Configuration reloads applied (SIGHUP or POST /api/v1/reload).", agent->reload.ok);
	counter(f, "tollgate_config_reload_failures_total",
		"Configuration reloads refused (invalid file, restart-only key) or rolled back.",
		agent->reload.failed);
	gauge(f, "tollgate_config_generation",
	      "Reloads applied since the agent started (0: the file it started with).",
	      agent->reload.generation);
	gauge(f, "tollgate_config_last_reload_successful",
	      "1 when the last reload attempt was applied (or there was none), else 0.",
	      agent->reload.last ? agent->reload.last_ok : 1);
	gauge(f, "tollgate_last_harvest_timestamp_seconds",
	      "When the last harvest into the billing store succeeded, unix seconds (0: never).",
	      s->st.last_harvest);
	gauge(f, "tollgate_billing_interval_seconds", "The billing interval.", s->st.interval);
	counter(f, "tollgate_harvests_total", "Harvests into the billing store.", s->st.harvests);
	counter(f, "tollgate_harvest_errors_total", "Harvests that failed (kept for the next one).",
		s->st.harvest_errors);
	gauge(f, "tollgate_flows", "Flows in the flow table now.", flows_live < 0 ? 0 : flows_live);
	counter(f, "tollgate_flows_created_total", "Flow entries the datapath created.",
		st[TG_STAT_FLOWS_CREATED]);
	counter(f, "tollgate_flows_removed_total", "Flow entries the agent removed as idle.",
		s->st.flows_removed);
	/* created = live + removed + evicted, as tollgate status computes it */
	if (flows_live >= 0 &&
	    st[TG_STAT_FLOWS_CREATED] >= (uint64_t)flows_live + s->st.flows_removed)
		evictions = st[TG_STAT_FLOWS_CREATED] - flows_live - s->st.flows_removed;
	counter(f, "tollgate_flow_evictions_total",
		"Flow entries the table's LRU evicted (created - live - removed).", evictions);
	counter(f, "tollgate_flow_packets_lost_total",
		"Packets whose flow entry could be neither found nor made.",
		st[TG_STAT_FLOWS_LOST]);
	counter(f, "tollgate_events_produced_total",
		"Events the datapath produced into its ring buffer (reserve attempts).",
		st[TG_STAT_EVENTS_PRODUCED]);
	counter(f, "tollgate_events_delivered_total",
		"Datapath events the agent read from the ring and wrote out.",
		s->st.events_delivered);
	counter(f, "tollgate_events_dropped_total",
		"Datapath events lost because the ring buffer was full.",
		st[TG_STAT_EVENTS_DROPPED]);
	counter(f, "tollgate_events_suppressed_total",
		"Enforcements folded into a later event's count (rate-limited).",
		st[TG_STAT_EVENTS_SUPPRESSED]);
	counter(f, "tollgate_unparsed_packets_total",
		"Frames the parser could not read (still billed).", st[TG_STAT_UNPARSED_PACKETS]);
	counter(f, "tollgate_unparsed_bytes_total",
		"Bytes of the frames the parser could not read.", st[TG_STAT_UNPARSED_BYTES]);
	counter(f, "tollgate_unattributed_packets_total", "Uplink frames with no tenant address.",
		st[TG_STAT_UNATTRIBUTED_PACKETS]);
	counter(f, "tollgate_unattributed_bytes_total",
		"Bytes of uplink frames with no tenant address.", st[TG_STAT_UNATTRIBUTED_BYTES]);
	counter(f, "tollgate_unknown_interface_packets_total",
		"Frames metered on an interface the agent does not know.",
		st[TG_STAT_UNKNOWN_IFACE]);
	counter(f, "tollgate_gso_packets_total",
		"GSO super-packets seen (each billed as its segments).", st[TG_STAT_GSO_PACKETS]);
	counter(f, "tollgate_gso_inexact_total", "GSO packets whose headers could not be read.",
		st[TG_STAT_GSO_INEXACT]);
	tg_prom_family(f, "tollgate_fragments_total", "counter",
		       "IP fragments: first ones remembered, later ones joined to their flow, "
		       "orphans (first not seen).");
	fprintf(f, "tollgate_fragments_total{kind=\"first\"} %llu\n",
		(unsigned long long)st[TG_STAT_FRAGS_FIRST]);
	fprintf(f, "tollgate_fragments_total{kind=\"joined\"} %llu\n",
		(unsigned long long)st[TG_STAT_FRAGS_JOINED]);
	fprintf(f, "tollgate_fragments_total{kind=\"orphan\"} %llu\n",
		(unsigned long long)st[TG_STAT_FRAGS_ORPHAN]);
	counter(f, "tollgate_syn_floods_total", "SYN floods the uplink guard detected.",
		syn_floods);
}

int tg_metrics_write(FILE *f, const char *pin_path, const struct tg_metrics_agent *agent)
{
	struct snap s = {};
	struct tg_syn_state syn = {};
	struct tg_maps m;
	uint32_t zero = 0;
	int err, flows_live;
	size_t live;

	err = tg_maps_open_pinned(pin_path, &m);
	if (err)
		return err;
	err = snap_read(&m, pin_path, &s);
	if (!err) {
		flows_live = tg_flows_count(m.flows, &live) ? -1 : (int)live;
		bpf_map_lookup_elem(m.syn, &zero, &syn);
		write_globals(f, &s, agent, flows_live, syn.floods);
		write_traffic(f, &s);
		write_drops(f, &s);
		write_maps(f, &m, &s, flows_live);
		write_runtime(f, &s);
	}
	free(s.meta);
	free(s.cells);
	free(s.drops);
	tg_maps_close(&m);
	return err;
}
