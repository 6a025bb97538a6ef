// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Flow reports are deltas: the exporter remembers what it last reported for each flow
 * (a sorted array, looked up by binary search) and sends the difference. A flow whose
 * counters went down was evicted and re-created in between: it is reported from zero.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "flow_export.h"
#include "flows.h"
#include "ipfix.h"

struct seen {
	struct tg_flow_key key;
	uint64_t packets, bytes;
};

struct tg_flow_export {
	const struct tg_config *cfg;
	const struct tg_maps *maps;
	struct tg_ipfix *ipfix; /* NULL: no collector, expiry only */
	struct seen *seen;
	size_t n_seen;
};

static int cmp_seen(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct tg_flow_key));
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Replaces x->seen by the current table's counters. */
static int remember(struct tg_flow_export *x, const struct tg_flow_entry *fl, size_t n,
		    const bool *removed)
{
	struct seen *s = calloc(n ? n : 1, sizeof(*s));
	size_t k = 0;

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (removed && removed[i])
			continue;
		s[k].key = fl[i].key;
		s[k].packets = fl[i].val.packets;
		s[k].bytes = fl[i].val.bytes;
		k++;
	}
	qsort(s, k, sizeof(*s), cmp_seen);
	free(x->seen);
	x->seen = s;
	x->n_seen = k;
	return 0;
}

int tg_flow_export_open(const struct tg_config *cfg, const struct tg_maps *m,
			struct tg_flow_export **out)
{
	struct tg_flow_export *x = calloc(1, sizeof(*x));
	struct tg_flow_entry *fl = NULL;
	char msg[256] = "";
	size_t n = 0;
	int err;

	if (!x)
		return -ENOMEM;
	x->cfg = cfg;
	x->maps = m;
	if (cfg->ipfix.host) {
		err = tg_ipfix_open(&cfg->ipfix, &x->ipfix, msg, sizeof(msg));
		if (err) {
			fprintf(stderr, "tollgate: ipfix: %s\n", msg);
			free(x);
			return err;
		}
	}
	err = tg_flows_read(m->flows, TG_FLOW_READ_AUTO, &fl, &n);
	if (!err)
		err = remember(x, fl, n, NULL);
	free(fl);
	if (err) {
		tg_flow_export_close(x);
		return err;
	}
	*out = x;
	return 0;
}

uint32_t tg_flow_export_period(const struct tg_flow_export *x)
{
	uint32_t p = x->cfg->flows.idle_timeout ? x->cfg->flows.idle_timeout : 60;

	if (x->ipfix && x->cfg->ipfix.interval && x->cfg->ipfix.interval < p)
		p = x->cfg->ipfix.interval;
	return p;
}

static void to_record(const struct tg_flow_entry *e, const struct seen *old,
		      const struct tg_applied *ap, int64_t offset_ns, struct tg_flow_record *r)
{
	const struct tg_flow_key *k = &e->key;
	uint64_t l2_hdr = 14 + 4ull * k->vlans;

	memset(r, 0, sizeof(*r));
	r->family = k->family;
	r->proto = k->proto;
	r->tcp_flags = e->val.tcp_flags;
	r->dir = k->dir;
	memcpy(r->src, k->src, 16);
	memcpy(r->dst, k->dst, 16);
	r->sport = __builtin_bswap16(k->sport);
	r->dport = __builtin_bswap16(k->dport);
	r->vlan_id = k->vlans ? k->vlan_id[0] : 0;
	r->packets = e->val.packets - (old ? old->packets : 0);
	r->l2_octets = e->val.bytes - (old ? old->bytes : 0);
	r->octets = r->l2_octets - r->packets * l2_hdr;
	r->start_ms = (uint64_t)((int64_t)e->val.first_ns + offset_ns) / 1000000;
	r->end_ms = (uint64_t)((int64_t)e->val.last_ns + offset_ns) / 1000000;
	r->tenant_id = k->tenant_id;
	if (k->tenant_id && k->tenant_id < TG_MAX_TENANTS && ap->meta)
		snprintf(r->tenant, sizeof(r->tenant), "%s", ap->meta[k->tenant_id].name);
	tg_class_name(ap->classes, e->val.class_id, r->class_name, sizeof(r->class_name));
}

int tg_flow_export_cycle(struct tg_flow_export *x, const struct tg_applied *ap, bool final)
{
	uint64_t idle_ns = (uint64_t)x->cfg->flows.idle_timeout * 1000000000ull, now = mono_ns();
	int64_t offset = tg_monotonic_offset_ns();
	struct tg_flow_record *recs = NULL;
	struct tg_flow_entry *fl = NULL;
	size_t n = 0, nrec = 0, nrm = 0;
	bool *removed = NULL;
	int err;

	err = tg_flows_read(x->maps->flows, TG_FLOW_READ_AUTO, &fl, &n);
	if (err)
		return err;
	recs = calloc(n ? n : 1, sizeof(*recs));
	removed = calloc(n ? n : 1, sizeof(*removed));
	if (!recs || !removed) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct seen *old =
			bsearch(&fl[i].key, x->seen, x->n_seen, sizeof(*x->seen), cmp_seen);

		if (old && (fl[i].val.packets < old->packets || fl[i].val.bytes < old->bytes))
			old = NULL; /* evicted and re-created since the last report */
		if (!old || fl[i].val.packets != old->packets)
			to_record(&fl[i], old, ap, offset, &recs[nrec++]);
		if (!final && idle_ns && now > fl[i].val.last_ns + idle_ns &&
		    !bpf_map_delete_elem(x->maps->flows, &fl[i].key)) {
			removed[i] = true;
			nrm++;
		}
	}
	if (x->ipfix && nrec)
		err = tg_ipfix_send(x->ipfix, recs, nrec);
	if (nrm) {
		struct tg_state st;

		if (!tg_state_read(x->maps, &st)) {
			st.flows_removed += nrm;
			tg_state_write(x->maps, &st);
		}
	}
	/* Remember even when the send failed: a report is lost, never sent twice. */
	if (!remember(x, fl, n, removed) && err)
		fprintf(stderr, "tollgate: ipfix: %zu flow records not delivered: %s\n", nrec,
			strerror(-err));
out:
	free(recs);
	free(removed);
	free(fl);
	return err;
}

void tg_flow_export_close(struct tg_flow_export *x)
{
	if (!x)
		return;
	tg_ipfix_close(x->ipfix);
	free(x->seen);
	free(x);
}
