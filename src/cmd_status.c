// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate status [--json]`: agent and datapath health from the pins and the kernel's
 * own view of the tc hooks, the events' loss accounting and drops by reason. Exit status
 * 0 only while the agent runs and is healthy.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "datapath.h"
#include "events.h"
#include "flows.h"
#include "json.h"
#include "rt_events.h"
#include "runtime.h"
#include "store.h"

#define MAX_HOOKS 256 /* listed in the report; all are checked */

struct hook {
	char name[TG_IFNAME_MAX];
	uint32_t ifindex, tenant_id;
	uint8_t role;
	bool ingress, egress;
	uint8_t xdp; /* uplinks: 0 no guard, 1 native, 2 generic */
};

struct guard_report {
	int bans, validated;
	struct tg_syn_state syn;
	bool flood;
};

struct report {
	struct guard_report guard;
	struct tg_state st;
	bool running;
	uint64_t stats[TG_STAT_MAX];
	struct hook hooks[MAX_HOOKS];
	int n_hooks, n_ifaces, detached, tenants, cidr4, cidr6;
	uint32_t flow_capacity;
	int flows_live;
	uint64_t flow_evictions;
	struct tg_tenant_meta *meta;
	struct tg_counter drops[TG_REASON_SLOTS]; /* summed over tenants */
	uint64_t ev_pending;
	char problems[8][160];
	int n_problems;
	bool rt_ok; /* the runtime's counters are pinned */
	struct tg_rt_totals rt[TG_RT_TYPES];
	struct rt_cell {
		uint32_t tenant, type;
		struct tg_rt_totals t;
	} * rt_cells; /* the (tenant, type) cells with a count */
	size_t n_rt_cells, cap_rt_cells;
};

static void rt_cell_add(uint32_t tenant, uint32_t type, const struct tg_rt_totals *t, void *arg)
{
	struct report *r = arg;

	if (r->n_rt_cells == r->cap_rt_cells) {
		size_t cap = r->cap_rt_cells ? 2 * r->cap_rt_cells : 64;
		struct rt_cell *v = realloc(r->rt_cells, cap * sizeof(*v));

		if (!v)
			return; /* the per-type totals are still whole */
		r->rt_cells = v;
		r->cap_rt_cells = cap;
	}
	r->rt_cells[r->n_rt_cells++] = (struct rt_cell){ tenant, type, *t };
}

static const char *const stat_names[TG_STAT_MAX] = {
	[TG_STAT_UNPARSED_PACKETS] = "unparsed_packets",
	[TG_STAT_UNPARSED_BYTES] = "unparsed_bytes",
	[TG_STAT_UNATTRIBUTED_PACKETS] = "unattributed_packets",
	[TG_STAT_UNATTRIBUTED_BYTES] = "unattributed_bytes",
	[TG_STAT_UNKNOWN_IFACE] = "unknown_interface",
	[TG_STAT_GSO_INEXACT] = "gso_inexact",
	[TG_STAT_GSO_PACKETS] = "gso_packets",
	[TG_STAT_FLOWS_CREATED] = "flows_created",
	[TG_STAT_FLOWS_LOST] = "flow_packets_lost",
	[TG_STAT_FRAGS_FIRST] = "fragments_first",
	[TG_STAT_FRAGS_JOINED] = "fragments_joined",
	[TG_STAT_FRAGS_ORPHAN] = "fragments_orphan",
	[TG_STAT_EVENTS_PRODUCED] = "events_produced",
	[TG_STAT_EVENTS_DROPPED] = "events_dropped",
	[TG_STAT_EVENTS_SUPPRESSED] = "events_suppressed",
};

static void problem(struct report *r, const char *fmt, const char *arg)
{
	if (r->n_problems < 8)
		snprintf(r->problems[r->n_problems++], sizeof(r->problems[0]), fmt, arg);
}

static void collect_hooks(const struct tg_maps *m, struct report *r)
{
	uint32_t key, next, *prev = NULL, in, eg;
	struct tg_iface ifc;

	while (bpf_map_get_next_key(m->ifaces, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->ifaces, &key, &ifc))
			continue;
		tg_tc_query(key, &in, &eg);
		r->n_ifaces++;
		if (!in || !eg) {
			r->detached++;
			problem(r, "meter missing on %s", ifc.name);
		}
		if (r->n_hooks < MAX_HOOKS) {
			struct hook *h = &r->hooks[r->n_hooks++];

			memcpy(h->name, ifc.name, sizeof(h->name));
			h->name[sizeof(h->name) - 1] = '\0';
			h->ifindex = key;
			h->tenant_id = ifc.tenant_id < TG_MAX_TENANTS ? ifc.tenant_id : 0;
			h->role = ifc.role;
			h->ingress = in;
			if (ifc.role == TG_ROLE_UPLINK) {
				uint32_t id;
				bool native;

				if (!tg_xdp_query(key, &id, &native) && id)
					h->xdp = native ? 1 : 2;
				else
					problem(r, "uplink guard (XDP) missing on %s", ifc.name);
			}
			h->egress = eg;
		}
	}
}

/* Drops by reason over every tenant, and the events not yet delivered. */
static int collect_isolation(const struct tg_maps *m, struct report *r)
{
	uint32_t top = tg_meta_top(r->meta);
	struct tg_counter *cells = calloc((size_t)top * TG_REASON_SLOTS, sizeof(*cells));
	uint64_t produced = r->stats[TG_STAT_EVENTS_PRODUCED];
	uint64_t gone = r->stats[TG_STAT_EVENTS_DROPPED] + r->st.events_delivered;
	int err = cells ? tg_maps_read_drops(m, cells, top) : -ENOMEM;

	for (uint32_t id = 0; !err && id < top; id++) {
		for (int k = 0; k < TG_REASON_SLOTS; k++) {
			r->drops[k].packets += cells[id * TG_REASON_SLOTS + k].packets;
			r->drops[k].bytes += cells[id * TG_REASON_SLOTS + k].bytes;
		}
	}
	free(cells);
	/* produced = delivered + dropped + pending; pending waits in the ring (or in the
	 * agent's buffer while the file cannot be written). */
	r->ev_pending = produced > gone ? produced - gone : 0;
	return err;
}

static int collect(const struct tg_maps *m, struct report *r)
{
	int64_t now = time(NULL);
	int err;

	err = tg_state_read(m, &r->st);
	if (!err)
		err = tg_maps_read_stats(m, r->stats);
	if (!err)
		err = tg_maps_read_meta(m, r->meta);
	if (err)
		return err;
	r->running = r->st.agent_pid && kill(r->st.agent_pid, 0) == 0;
	if (!r->running)
		problem(r, "%s", "agent not running: the datapath meters, nothing is billed");
	else if (!r->st.agent_started)
		problem(r, "%s", "agent starting: interfaces and policy are being applied");
	for (uint32_t id = 1; id < TG_MAX_TENANTS; id++)
		r->tenants += !!(r->meta[id].flags & TG_TENANT_IN_USE);
	r->cidr4 = tg_map_count(m->lpm4, sizeof(struct tg_lpm4_key));
	r->cidr6 = tg_map_count(m->lpm6, sizeof(struct tg_lpm6_key));
	{
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(m->flows, &info, &len))
			r->flow_capacity = info.max_entries;
	}
	{
		size_t live;

		r->flows_live = tg_flows_count(m->flows, &live) ? -1 : (int)live;
	}
	/* What the kernel created and is neither in the table nor removed by the agent was
	 * evicted by the LRU (exact while the table is quiet, a snapshot otherwise). */
	if (r->flows_live >= 0 &&
	    r->stats[TG_STAT_FLOWS_CREATED] >= (uint64_t)r->flows_live + r->st.flows_removed)
		r->flow_evictions =
			r->stats[TG_STAT_FLOWS_CREATED] - r->flows_live - r->st.flows_removed;
	err = collect_isolation(m, r);
	if (err)
		return err;
	{
		uint32_t k = 0;
		struct timespec ts;

		r->guard.bans = tg_map_count(m->bans4, sizeof(struct tg_lpm4_key)) +
				tg_map_count(m->bans6, sizeof(struct tg_lpm6_key));
		r->guard.validated = tg_map_count(m->valid, sizeof(struct tg_src_key));
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (!bpf_map_lookup_elem(m->syn, &k, &r->guard.syn))
			r->guard.flood = r->guard.syn.flood_until >
					 (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	}
	collect_hooks(m, r);
	/* Two missed boundaries (plus commit time) mean the harvest is stuck. */
	if (r->running && r->st.interval &&
	    now - (int64_t)r->st.last_harvest > 2 * (int64_t)r->st.interval + 10)
		problem(r, "%s", "no harvest for more than two intervals");
	return 0;
}

static void print_table(FILE *f, const struct report *r, const char *pin_path)
{
	char t[32], rb[32];
	int n;

	fprintf(f, "agent:     %s", r->running ? "running" : "not running");
	if (r->running) {
		tg_format_time(r->st.agent_started, t, sizeof(t));
		fprintf(f, " (pid %u, since %s)", r->st.agent_pid, t);
	}
	tg_format_time(r->st.last_harvest, t, sizeof(t));
	fprintf(f, "\nharvest:   every %us, last %s, %llu done, %llu failed\n", r->st.interval,
		r->st.last_harvest ? t : "never", (unsigned long long)r->st.harvests,
		(unsigned long long)r->st.harvest_errors);
	tg_format_time(r->st.created, t, sizeof(t));
	fprintf(f, "datapath:  %s, epoch %016llx%016llx, created %s\n", pin_path,
		(unsigned long long)r->st.epoch[0], (unsigned long long)r->st.epoch[1], t);
	fprintf(f, "maps:      tenants %d/%d, interfaces %d/%d, cidrs v4 %d/%d, v6 %d/%d\n",
		r->tenants, TG_MAX_TENANTS - 1, r->n_ifaces, TG_MAX_IFACES, r->cidr4, TG_MAX_CIDRS,
		r->cidr6, TG_MAX_CIDRS);
	fprintf(f, "flows:     %d/%u live, %llu created, %llu removed idle, %llu evicted\n",
		r->flows_live, r->flow_capacity,
		(unsigned long long)r->stats[TG_STAT_FLOWS_CREATED],
		(unsigned long long)r->st.flows_removed, (unsigned long long)r->flow_evictions);
	fprintf(f, "counters: ");
	for (int i = 0; i < TG_STAT_MAX; i++)
		fprintf(f, " %s=%llu", stat_names[i] ? stat_names[i] : "unnamed",
			(unsigned long long)r->stats[i]);
	fprintf(f,
		"\nevents:    produced %llu, delivered %llu, dropped %llu (ring full), "
		"pending %llu, suppressed %llu (rate-limited)\n",
		(unsigned long long)r->stats[TG_STAT_EVENTS_PRODUCED],
		(unsigned long long)r->st.events_delivered,
		(unsigned long long)r->stats[TG_STAT_EVENTS_DROPPED],
		(unsigned long long)r->ev_pending,
		(unsigned long long)r->stats[TG_STAT_EVENTS_SUPPRESSED]);
	fprintf(f, "           produced = delivered + dropped + pending (in the ring, not yet "
		   "written)\n");
	fprintf(f, "drops:    ");
	n = 0;
	for (int k = 1; k < TG_REASON_SLOTS; k++) {
		const char *name = tg_reason_label(k, rb, sizeof(rb));

		if (!r->drops[k].packets && !r->drops[k].bytes)
			continue;
		fprintf(f, "%s %s=%llu (%llu bytes)", n++ ? "," : "", name,
			(unsigned long long)r->drops[k].packets,
			(unsigned long long)r->drops[k].bytes);
	}
	fprintf(f, "%s\nguard:     %d bans, %d validated sources, %llu SYN floods%s\nhooks:\n",
		n ? "" : " none", r->guard.bans, r->guard.validated,
		(unsigned long long)r->guard.syn.floods, r->guard.flood ? " (one now)" : "");
	for (int i = 0; i < r->n_hooks; i++) {
		const struct hook *h = &r->hooks[i];

		fprintf(f, "  %-16s tc ingress %-8s tc egress %-8s %s %s", h->name,
			h->ingress ? "attached" : "MISSING", h->egress ? "attached" : "MISSING",
			h->role == TG_ROLE_TENANT ? "tenant" : "uplink",
			h->role == TG_ROLE_TENANT ? r->meta[h->tenant_id].name : "");
		if (h->role == TG_ROLE_UPLINK)
			fprintf(f, " guard %s",
				h->xdp == 1   ? "XDP native"
				: h->xdp == 2 ? "XDP generic"
					      : "MISSING");
		fprintf(f, "\n");
	}
	for (uint32_t ty = 1; r->rt_ok && ty < TG_RT_TYPES; ty++) {
		const struct tg_rt_totals *x = &r->rt[ty];

		if (!x->produced && !x->delivered)
			continue;
		fprintf(f,
			"runtime:   %-8s produced %llu, delivered %llu, dropped %llu (budget), "
			"%llu (ring full)\n",
			tg_rt_type_name(ty), (unsigned long long)x->produced,
			(unsigned long long)x->delivered, (unsigned long long)x->dropped_budget,
			(unsigned long long)x->dropped_ring);
	}
	for (int i = 0; i < r->n_problems; i++)
		fprintf(f, "problem:   %s\n", r->problems[i]);
	fprintf(f, "health:    %s\n", r->n_problems ? "unhealthy" : "healthy");
}

/* "events": {...}, "drops": {...}, "hooks": [ -- every known reason always present, so
 * the keys are stable; a code beyond them only when it counted something. */
static void print_json_isolation(FILE *f, const struct report *r)
{
	char rb[32];
	bool first = true;

	fprintf(f,
		"\"events\": {\"produced\": %llu, \"delivered\": %llu, \"dropped\": %llu, "
		"\"pending\": %llu, \"suppressed\": %llu}, \"drops\": {",
		(unsigned long long)r->stats[TG_STAT_EVENTS_PRODUCED],
		(unsigned long long)r->st.events_delivered,
		(unsigned long long)r->stats[TG_STAT_EVENTS_DROPPED],
		(unsigned long long)r->ev_pending,
		(unsigned long long)r->stats[TG_STAT_EVENTS_SUPPRESSED]);
	for (int k = 1; k < TG_REASON_SLOTS; k++) {
		if (k >= TG_REASON_MAX && !r->drops[k].packets && !r->drops[k].bytes)
			continue;
		fprintf(f, "%s\"%s\": {\"packets\": %llu, \"bytes\": %llu}", first ? "" : ", ",
			tg_reason_label(k, rb, sizeof(rb)), (unsigned long long)r->drops[k].packets,
			(unsigned long long)r->drops[k].bytes);
		first = false;
	}
	fprintf(f,
		"}, \"guard\": {\"bans\": %d, \"validated_sources\": %d, \"syn_floods\": %llu, "
		"\"syn_flood_active\": %s}, \"hooks\": [",
		r->guard.bans, r->guard.validated, (unsigned long long)r->guard.syn.floods,
		r->guard.flood ? "true" : "false");
}

/* "runtime": per type, produced = delivered + dropped (+ still in the ring); null when
 * the runtime's maps are not pinned. */
static void print_json_runtime(FILE *f, const struct report *r)
{
	bool first = true;

	if (!r->rt_ok) {
		fprintf(f, "null");
		return;
	}
	fprintf(f, "{");
	for (uint32_t t = 1; t < TG_RT_TYPES; t++) {
		const struct tg_rt_totals *x = &r->rt[t];

		fprintf(f,
			"%s\"%s\": {\"produced\": %llu, \"delivered\": %llu, \"dropped\": %llu, "
			"\"dropped_budget\": %llu, \"dropped_ring\": %llu}",
			first ? "" : ", ", tg_rt_type_name(t), (unsigned long long)x->produced,
			(unsigned long long)x->delivered,
			(unsigned long long)(x->dropped_budget + x->dropped_ring),
			(unsigned long long)x->dropped_budget, (unsigned long long)x->dropped_ring);
		first = false;
	}
	fprintf(f, "}");
}

/* "runtime_tenants": the same per tenant and type (cells in tenant order, types
 * ascending); null when the runtime's maps are not pinned. */
static void print_json_runtime_tenants(FILE *f, const struct report *r)
{
	if (!r->rt_ok) {
		fprintf(f, "null");
		return;
	}
	fprintf(f, "{");
	for (size_t i = 0; i < r->n_rt_cells; i++) {
		const struct rt_cell *c = &r->rt_cells[i];
		bool open = i == 0 || r->rt_cells[i - 1].tenant != c->tenant;

		if (open) {
			if (i)
				fprintf(f, "}, ");
			if (c->tenant && r->meta[c->tenant].name[0])
				tg_json_string(f, r->meta[c->tenant].name);
			else if (c->tenant)
				fprintf(f, "\"tenant-%u\"", c->tenant);
			else
				fprintf(f, "\"(host)\""); /* bpf() loads of host processes */
			fprintf(f, ": {");
		}
		fprintf(f,
			"%s\"%s\": {\"produced\": %llu, \"delivered\": %llu, \"dropped\": %llu, "
			"\"dropped_budget\": %llu, \"dropped_ring\": %llu}",
			open ? "" : ", ", tg_rt_type_name(c->type),
			(unsigned long long)c->t.produced, (unsigned long long)c->t.delivered,
			(unsigned long long)(c->t.dropped_budget + c->t.dropped_ring),
			(unsigned long long)c->t.dropped_budget,
			(unsigned long long)c->t.dropped_ring);
	}
	fprintf(f, "%s}", r->n_rt_cells ? "}" : "");
}

static void print_json(FILE *f, const struct report *r, const char *pin_path)
{
	char t[32];

	fprintf(f, "{\"healthy\": %s, \"agent\": {\"running\": %s, \"pid\": %u, ",
		r->n_problems ? "false" : "true", r->running ? "true" : "false",
		r->running ? r->st.agent_pid : 0);
	tg_format_time(r->st.last_harvest, t, sizeof(t));
	fprintf(f, "\"interval\": %u, \"last_harvest\": ", r->st.interval);
	if (r->st.last_harvest)
		tg_json_string(f, t);
	else
		fprintf(f, "null");
	fprintf(f, ", \"harvests\": %llu, \"harvest_errors\": %llu}, ",
		(unsigned long long)r->st.harvests, (unsigned long long)r->st.harvest_errors);
	fprintf(f, "\"datapath\": {\"pin_path\": ");
	tg_json_string(f, pin_path);
	fprintf(f, ", \"epoch\": \"%016llx%016llx\"}, ", (unsigned long long)r->st.epoch[0],
		(unsigned long long)r->st.epoch[1]);
	fprintf(f,
		"\"maps\": {\"tenants\": {\"used\": %d, \"max\": %d}, \"interfaces\": {\"used\": "
		"%d, "
		"\"max\": %d}, \"cidrs_v4\": {\"used\": %d, \"max\": %d}, \"cidrs_v6\": "
		"{\"used\": %d, \"max\": %d}}, \"counters\": {",
		r->tenants, TG_MAX_TENANTS - 1, r->n_ifaces, TG_MAX_IFACES, r->cidr4, TG_MAX_CIDRS,
		r->cidr6, TG_MAX_CIDRS);
	for (int i = 0; i < TG_STAT_MAX; i++)
		fprintf(f, "%s\"%s\": %llu", i ? ", " : "",
			stat_names[i] ? stat_names[i] : "unnamed", (unsigned long long)r->stats[i]);
	fprintf(f,
		"}, \"flows\": {\"live\": %d, \"capacity\": %u, \"created\": %llu, "
		"\"removed\": %llu, \"evictions\": %llu}, ",
		r->flows_live, r->flow_capacity,
		(unsigned long long)r->stats[TG_STAT_FLOWS_CREATED],
		(unsigned long long)r->st.flows_removed, (unsigned long long)r->flow_evictions);
	print_json_isolation(f, r);
	for (int i = 0; i < r->n_hooks; i++) {
		const struct hook *h = &r->hooks[i];

		fprintf(f, "%s{\"interface\": ", i ? ", " : "");
		tg_json_string(f, h->name);
		fprintf(f, ", \"ifindex\": %u, \"role\": \"%s\", \"tenant\": ", h->ifindex,
			h->role == TG_ROLE_TENANT ? "tenant" : "uplink");
		if (h->role == TG_ROLE_TENANT)
			tg_json_string(f, r->meta[h->tenant_id].name);
		else
			fprintf(f, "null");
		fprintf(f, ", \"tc_ingress\": %s, \"tc_egress\": %s, \"xdp\": %s}",
			h->ingress ? "true" : "false", h->egress ? "true" : "false",
			h->xdp == 1   ? "\"native\""
			: h->xdp == 2 ? "\"generic\""
				      : "null");
	}
	fprintf(f, "], \"runtime\": ");
	print_json_runtime(f, r);
	fprintf(f, ", \"runtime_tenants\": ");
	print_json_runtime_tenants(f, r);
	fprintf(f, ", \"problems\": [");
	for (int i = 0; i < r->n_problems; i++) {
		fprintf(f, "%s", i ? ", " : "");
		tg_json_string(f, r->problems[i]);
	}
	fprintf(f, "]}\n");
}

/* The report into f, as `tollgate status [--json]` prints it (docs/api.md serves the same):
 * 0 healthy, 1 not, or -errno when the datapath could not be read (said on stderr). */
int tg_status_write(FILE *f, const char *pin_path, bool json)
{
	struct report *r;
	struct tg_maps m;
	int err;

	err = tg_maps_open_pinned(pin_path, &m);
	if (err) {
		if (json)
			fprintf(f, "{\"healthy\": false, \"agent\": {\"running\": false}, "
				   "\"problems\": [\"no datapath loaded\"]}\n");
		else
			fprintf(f,
				"agent:     not running\ndatapath:  not loaded (%s: %s)\n"
				"health:    unhealthy\n",
				pin_path, strerror(-err));
		return 1;
	}
	r = calloc(1, sizeof(*r));
	if (r)
		r->meta = calloc(TG_MAX_TENANTS, sizeof(*r->meta));
	err = r && r->meta ? collect(&m, r) : -ENOMEM;
	if (!err)
		r->rt_ok =
			!tg_rt_read_totals(pin_path, tg_meta_top(r->meta), r->rt, rt_cell_add, r);
	if (!err) {
		if (json)
			print_json(f, r, pin_path);
		else
			print_table(f, r, pin_path);
		err = r->n_problems ? 1 : 0;
	} else {
		err = err < 0 ? err : -EIO;
		fprintf(stderr, "tollgate: cannot read the datapath: %s\n", strerror(-err));
	}
	if (r) {
		free(r->meta);
		free(r->rt_cells);
	}
	free(r);
	tg_maps_close(&m);
	return err;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *usage = "usage: tollgate status [-c FILE] [--json]\n";
	const char *file = NULL;
	bool json = false;
	struct tg_paths p;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (tg_cli_paths(file, &p))
		return 1;
	/* Where an agent runs, it answers (docs/api.md); the pins otherwise. */
	err = tg_api_status(p.run_dir, json);
	if (err >= 0)
		return err;
	err = tg_status_write(stdout, p.pin_path, json);
	return err < 0 ? 1 : err;
}
