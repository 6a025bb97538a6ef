// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tollgate replay FILE [-c CONFIG] [--json]: every frame of a capture through the real
 * uplink program with BPF_PROG_TEST_RUN, on private maps programmed from the
 * configuration exactly as the agent would program them. Nothing is attached and
 * nothing is pinned; the machine's datapath is never touched.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H /* its struct bpf_insn clashes with linux/bpf.h */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "events.h"
#include "flows.h"
#include "guard.h"
#include "json.h"
#include "replay.h"
#include "store.h"

static const char *const unparsed_names[TG_UNPARSED_MAX] = {
	[TG_UNPARSED_TRUNC_L2] = "truncated_l2", [TG_UNPARSED_NOT_IP] = "not_ip",
	[TG_UNPARSED_TRUNC_L3] = "truncated_l3", [TG_UNPARSED_BAD_L3] = "bad_l3",
	[TG_UNPARSED_EXT_LIMIT] = "ext_limit",	 [TG_UNPARSED_TRUNC_L4] = "truncated_l4",
	[TG_UNPARSED_BAD_L4] = "bad_l4",
};

struct replay {
	const char *file;
	struct tg_config cfg;
	bool have_cfg;
	struct tg_datapath *dp;
	struct tg_applied ap;
	int prog_fd; /* the uplink program, run on every frame */
	uint64_t frames, bytes;
	uint64_t verdict[5];	       /* by XDP action */
	struct tg_counter not_run;     /* frames the kernel would not run: too short or long */
	struct tg_counter snap_padded; /* frames cut by the snap length, run padded */
	uint32_t capacity;
	struct ring_buffer *rb; /* the private event ring, drained as the frames run */
	struct tg_event *events;
	size_t n_events, cap_events;
	int ev_err;
};

#define DRAIN_EVERY 256 /* frames between drains: far below what fills the ring */

static int on_event(void *ctx, void *data, size_t len)
{
	struct replay *r = ctx;
	struct tg_event *e;

	if (len < sizeof(*e))
		return 0;
	if (r->n_events == r->cap_events) {
		size_t cap = r->cap_events ? 2 * r->cap_events : 256;

		e = realloc(r->events, cap * sizeof(*e));
		if (!e) {
			r->ev_err = -ENOMEM;
			return -ENOMEM;
		}
		r->events = e;
		r->cap_events = cap;
	}
	memcpy(&r->events[r->n_events++], data, sizeof(*e));
	return 0;
}

static int drain(struct replay *r)
{
	int n = ring_buffer__consume(r->rb);

	return n < 0 ? (r->ev_err ? r->ev_err : n) : 0;
}

static const char *const xdp_names[5] = { "aborted", "drop", "pass", "tx", "redirect" };

int tg_replay_count(const char *file, uint64_t *n)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *pc;
	int rc;

	pc = pcap_open_offline(file, errbuf);
	if (!pc) {
		fprintf(stderr, "tollgate: cannot read %s: %s\n", file, errbuf);
		return -EINVAL;
	}
	*n = 0;
	while ((rc = pcap_next_ex(pc, &h, &d)) == 1)
		(*n)++;
	if (rc == PCAP_ERROR)
		fprintf(stderr, "tollgate: %s: %s\n", file, pcap_geterr(pc));
	pcap_close(pc);
	return rc == PCAP_ERROR ? -EINVAL : 0;
}

/* The frame a record makes: a record cut by the capture's snap length runs at its wire
 * length, so that its bytes count as they crossed the wire; the missing bytes read as
 * zeros (buf holds TG_REPLAY_MAX_RUN bytes). */
static void frame_of(const struct pcap_pkthdr *h, const u_char *d, u_char *buf,
		     struct tg_replay_frame *f)
{
	*f = (struct tg_replay_frame){
		.data = d,
		.len = h->caplen,
		.caplen = h->caplen,
		.wire_len = h->len,
		.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull,
	};
	if (h->caplen < h->len && h->len <= TG_REPLAY_MAX_RUN) {
		memcpy(buf, d, h->caplen);
		memset(buf + h->caplen, 0, h->len - h->caplen);
		f->data = buf;
		f->len = h->len;
		f->padded = true;
	}
	f->run = f->len >= TG_REPLAY_MIN_RUN && f->len <= TG_REPLAY_MAX_RUN;
}

int tg_replay_read(const char *file, tg_replay_frame_fn fn, void *ctx)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct tg_replay_frame f;
	struct pcap_pkthdr *h;
	uint64_t frames = 0;
	const u_char *d;
	u_char *buf;
	pcap_t *pc;
	int rc = 0, err = 0, dlt;

	pc = pcap_open_offline(file, errbuf);
	if (!pc) {
		fprintf(stderr, "tollgate: cannot read %s: %s\n", file, errbuf);
		return -EINVAL;
	}
	dlt = pcap_datalink(pc);
	if (dlt != 1 /* DLT_EN10MB, in the pcap header we cannot include */) {
		fprintf(stderr,
			"tollgate: %s: link type %s is not supported (Ethernet captures only)\n",
			file,
			pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt)
						       : "unknown");
		pcap_close(pc);
		return -EINVAL;
	}
	buf = malloc(TG_REPLAY_MAX_RUN);
	if (!buf) {
		pcap_close(pc);
		return -ENOMEM;
	}
	while (!err && (rc = pcap_next_ex(pc, &h, &d)) == 1) {
		frames++;
		frame_of(h, d, buf, &f);
		err = fn(ctx, &f);
	}
	if (!err && rc == PCAP_ERROR) {
		fprintf(stderr, "tollgate: %s: %s (after %" PRIu64 " frames)\n", file,
			pcap_geterr(pc), frames);
		err = -EINVAL;
	}
	free(buf);
	pcap_close(pc);
	return err;
}

static int run_frame(struct replay *r, const struct tg_replay_frame *f)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err;

	r->frames++;
	r->bytes += f->wire_len;
	if (f->padded) {
		r->snap_padded.packets++;
		r->snap_padded.bytes += f->wire_len;
	}
	if (!f->run) {
		r->not_run.packets++;
		r->not_run.bytes += f->wire_len;
		return 0;
	}
	tg_datapath_set_clock(r->dp, f->ts_ns);
	opts.data_in = f->data;
	opts.data_size_in = f->len;
	err = bpf_prog_test_run_opts(r->prog_fd, &opts);
	if (err) {
		err = -errno;
		if (err == -EINVAL) {
			r->not_run.packets++;
			r->not_run.bytes += f->wire_len;
			return 0;
		}
		fprintf(stderr, "tollgate: test run of frame %" PRIu64 " failed: %s\n", r->frames,
			strerror(-err));
		return err;
	}
	if (opts.retval < 5)
		r->verdict[opts.retval]++;
	return 0;
}

static int on_frame(void *ctx, const struct tg_replay_frame *f)
{
	struct replay *r = ctx;
	int err = run_frame(r, f);

	if (!err && r->frames % DRAIN_EVERY == 0)
		err = drain(r);
	return err;
}

static int replay_file(struct replay *r)
{
	int err;

	r->prog_fd = tg_datapath_prog_fd(r->dp, TG_PROG_XDP);
	err = tg_replay_read(r->file, on_frame, r);
	if (!err)
		err = drain(r);
	return err;
}

static int cmp_flows(const void *x, const void *y)
{
	const struct tg_flow_entry *a = x, *b = y;

	if (a->val.bytes != b->val.bytes)
		return a->val.bytes < b->val.bytes ? 1 : -1;
	return memcmp(&a->key, &b->key, sizeof(a->key));
}

static void print_json(struct replay *r, struct tg_flow_entry *fl, size_t nfl,
		       const struct tg_tenant_stats *cells, uint32_t top,
		       const struct tg_counter *unparsed, const struct tg_counter *up,
		       const uint64_t *stats, const struct tg_counter *drops)
{
	struct tg_flow_names nm = { .tenants = r->ap.meta, .classes = r->ap.classes };
	uint64_t up_packets = up->packets, up_bytes = up->bytes;
	const char *sep = "";

	printf("{\"capture\": ");
	tg_json_string(stdout, r->file);
	printf(", \"frames\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"flows\": [", r->frames,
	       r->bytes);
	for (size_t i = 0; i < nfl; i++) {
		fputs(i ? ",\n  " : "\n  ", stdout);
		tg_flow_json(stdout, &fl[i], &nm, NULL);
	}
	printf("],\n \"tenants\": [");
	for (uint32_t id = 0; id < top; id++) {
		for (uint32_t c = 0; c < TG_MAX_CLASSES; c++) {
			const struct tg_tenant_stats *cell =
				&cells[(size_t)id * TG_MAX_CLASSES + c];
			char cls[TG_CLASS_NAME_MAX];

			tg_class_name(r->ap.classes, c, cls, sizeof(cls));
			for (int d = 0; d < TG_DIR_MAX; d++) {
				if (!cell->dir[d].packets)
					continue;
				fputs(sep, stdout);
				sep = ",\n  ";
				fputs("{\"tenant\": ", stdout);
				if (id)
					tg_json_string(stdout, r->ap.meta[id].name);
				else
					fputs("null", stdout);
				fputs(", \"class\": ", stdout);
				tg_json_string(stdout, cls);
				printf(", \"direction\": \"%s\", \"packets\": %llu, \"bytes\": "
				       "%llu}",
				       tg_dir_name(d), (unsigned long long)cell->dir[d].packets,
				       (unsigned long long)cell->dir[d].bytes);
			}
		}
	}
	printf("],\n \"verdicts\": {");
	sep = "";
	for (int v = 0; v < 5; v++) {
		if (!r->verdict[v])
			continue;
		printf("%s\"%s\": %" PRIu64, sep, xdp_names[v], r->verdict[v]);
		sep = ", ";
	}
	printf("},\n \"drops\": {");
	sep = "";
	for (int k = 1; k < TG_REASON_MAX; k++) {
		if (!drops[k].packets)
			continue;
		printf("%s\"%s\": {\"packets\": %llu, \"bytes\": %llu}", sep,
		       tg_reason_name((enum tg_reason)k), (unsigned long long)drops[k].packets,
		       (unsigned long long)drops[k].bytes);
		sep = ", ";
	}
	printf("},\n \"events\": [");
	for (size_t i = 0; i < r->n_events; i++) {
		fputs(i ? ",\n  " : "\n  ", stdout);
		tg_event_json(stdout, &r->events[i], &r->ap, 0);
	}
	printf("],\n \"unparsed\": {\"packets\": %" PRIu64 ", \"bytes\": %" PRIu64
	       ", \"reasons\": {",
	       up_packets, up_bytes);
	for (int i = 1; i < TG_UNPARSED_MAX; i++)
		printf("\"%s\": {\"packets\": %llu, \"bytes\": %llu}, ", unparsed_names[i],
		       (unsigned long long)unparsed[i].packets,
		       (unsigned long long)unparsed[i].bytes);
	printf("\"not_run\": {\"packets\": %llu, \"bytes\": %llu}}},\n",
	       (unsigned long long)r->not_run.packets, (unsigned long long)r->not_run.bytes);
	printf(" \"snap_padded\": {\"packets\": %llu, \"bytes\": %llu},\n",
	       (unsigned long long)r->snap_padded.packets,
	       (unsigned long long)r->snap_padded.bytes);
	printf(" \"fragments\": {\"first\": %" PRIu64 ", \"joined\": %" PRIu64
	       ", \"orphan\": %" PRIu64 "},\n",
	       stats[TG_STAT_FRAGS_FIRST], stats[TG_STAT_FRAGS_JOINED],
	       stats[TG_STAT_FRAGS_ORPHAN]);
	printf(" \"flow_table\": {\"capacity\": %u, \"created\": %" PRIu64 ", \"live\": %zu"
	       ", \"evictions\": %" PRIu64 ", \"lost\": %" PRIu64 "}}\n",
	       r->capacity, stats[TG_STAT_FLOWS_CREATED], nfl,
	       stats[TG_STAT_FLOWS_CREATED] - (uint64_t)nfl, stats[TG_STAT_FLOWS_LOST]);
}

static void print_text(struct replay *r, struct tg_flow_entry *fl, size_t nfl,
		       const struct tg_tenant_stats *cells, uint32_t top,
		       const struct tg_counter *up, const uint64_t *stats,
		       const struct tg_counter *drops)
{
	uint64_t up_packets = up->packets, up_bytes = up->bytes;
	size_t show = nfl < 20 ? nfl : 20;

	printf("%s: %" PRIu64 " frames, %" PRIu64 " bytes; %zu flows; %" PRIu64
	       " frames unparsed (%" PRIu64 " bytes); verdicts:",
	       r->file, r->frames, r->bytes, nfl, up_packets, up_bytes);
	for (int v = 0; v < 5; v++) {
		if (r->verdict[v])
			printf(" %s %" PRIu64, xdp_names[v], r->verdict[v]);
	}
	printf("\n");
	for (int k = 1; k < TG_REASON_MAX; k++) {
		if (drops[k].packets)
			printf("dropped (%s): %llu frames, %llu bytes\n",
			       tg_reason_name((enum tg_reason)k),
			       (unsigned long long)drops[k].packets,
			       (unsigned long long)drops[k].bytes);
	}
	if (r->n_events) {
		printf("events: %zu (--json lists them)", r->n_events);
		for (uint32_t t = TG_EV_ENFORCE; t <= TG_EV_BAN; t++) {
			size_t n = 0;

			for (size_t i = 0; i < r->n_events; i++)
				n += r->events[i].type == t;
			if (n)
				printf(", %s %zu", tg_event_type_name(t), n);
		}
		printf("\n");
	}
	if (stats[TG_STAT_FLOWS_CREATED] > nfl)
		printf("flow table: %" PRIu64 " flows evicted (capacity %u)\n",
		       stats[TG_STAT_FLOWS_CREATED] - (uint64_t)nfl, r->capacity);
	printf("\n%-16s %-10s %-8s %12s %14s\n", "TENANT", "CLASS", "DIR", "PACKETS", "BYTES");
	for (uint32_t id = 0; id < top; id++) {
		for (uint32_t c = 0; c < TG_MAX_CLASSES; c++) {
			const struct tg_tenant_stats *cell =
				&cells[(size_t)id * TG_MAX_CLASSES + c];
			char cls[TG_CLASS_NAME_MAX];

			tg_class_name(r->ap.classes, c, cls, sizeof(cls));
			for (int d = 0; d < TG_DIR_MAX; d++) {
				if (!cell->dir[d].packets)
					continue;
				printf("%-16s %-10s %-8s %12llu %14llu\n",
				       id ? r->ap.meta[id].name : "-", cls, tg_dir_name(d),
				       (unsigned long long)cell->dir[d].packets,
				       (unsigned long long)cell->dir[d].bytes);
			}
		}
	}
	printf("\ntop %zu flows by bytes:\n%-5s %-39s %-6s %-39s %-6s %8s %12s\n", show, "PROTO",
	       "SRC", "SPORT", "DST", "DPORT", "PACKETS", "BYTES");
	for (size_t i = 0; i < show; i++) {
		char src[64], dst[64], pb[8];

		tg_flow_addr(&fl[i].key, false, src, sizeof(src));
		tg_flow_addr(&fl[i].key, true, dst, sizeof(dst));
		printf("%-5s %-39s %-6u %-39s %-6u %8llu %12llu\n",
		       tg_proto_name(fl[i].key.proto, pb, sizeof(pb)), src, ntohs(fl[i].key.sport),
		       dst, ntohs(fl[i].key.dport), (unsigned long long)fl[i].val.packets,
		       (unsigned long long)fl[i].val.bytes);
	}
}

static int report(struct replay *r, bool json)
{
	const struct tg_maps *m = tg_datapath_maps(r->dp);
	struct tg_counter unparsed[TG_UNPARSED_MAX], up;
	struct tg_tenant_stats *cells = NULL;
	struct tg_counter *dcells = NULL, drops[TG_REASON_SLOTS] = {};
	struct tg_flow_entry *fl = NULL;
	uint64_t stats[TG_STAT_MAX];
	uint32_t top = tg_meta_top(r->ap.meta);
	size_t nfl = 0;
	int err;

	cells = calloc((size_t)top * TG_MAX_CLASSES, sizeof(*cells));
	err = cells ? tg_maps_read_cells(m, cells, top) : -ENOMEM;
	if (!err)
		err = tg_maps_read_unparsed(m, unparsed);
	if (!err)
		err = tg_maps_read_stats(m, stats);
	if (!err)
		err = tg_flows_read(m->flows, TG_FLOW_READ_AUTO, &fl, &nfl);
	if (!err) {
		dcells = calloc((size_t)top * TG_REASON_SLOTS, sizeof(*dcells));
		err = dcells ? tg_maps_read_drops(m, dcells, top) : -ENOMEM;
		for (size_t i = 0; !err && i < (size_t)top * TG_REASON_SLOTS; i++) {
			drops[i % TG_REASON_SLOTS].packets += dcells[i].packets;
			drops[i % TG_REASON_SLOTS].bytes += dcells[i].bytes;
		}
	}
	if (err) {
		fprintf(stderr, "tollgate: cannot read the results: %s\n", strerror(-err));
		goto out;
	}
	qsort(fl, nfl, sizeof(*fl), cmp_flows);
	/* The whole bucket: what the program parsed out, and what the kernel would not run. */
	up = r->not_run;
	for (int i = 1; i < TG_UNPARSED_MAX; i++) {
		up.packets += unparsed[i].packets;
		up.bytes += unparsed[i].bytes;
	}
	if (json)
		print_json(r, fl, nfl, cells, top, unparsed, &up, stats, drops);
	else
		print_text(r, fl, nfl, cells, top, &up, stats, drops);
out:
	free(dcells);
	free(cells);
	free(fl);
	return err;
}

static int setup(struct replay *r, uint64_t frames)
{
	struct tg_datapath_opts o;
	uint64_t want;
	int err, cpus = libbpf_num_possible_cpus();

	/* A flow table no larger than the capture needs: a capture of N frames has at most
	 * N flows, and the LRU's per-CPU free lists need some slack before it evicts. */
	want = frames + 1024ull * (cpus > 0 ? cpus : 1);
	r->capacity = r->cfg.flows.capacity && r->cfg.flows.capacity < want
			      ? r->cfg.flows.capacity
			      : (uint32_t)(want < TG_DEFAULT_FLOWS ? want : TG_DEFAULT_FLOWS);
	o.flow_capacity = r->capacity;
	err = tg_datapath_load(NULL, &o, &r->dp);
	if (err)
		return err;
	err = tg_apply(tg_datapath_maps(r->dp), &r->cfg, &r->ap);
	if (!err)
		err = tg_guard_apply(tg_datapath_maps(r->dp), &r->cfg, &r->ap, true);
	if (!err)
		err = tg_datapath_set_tap(r->dp);
	if (!err) {
		r->rb = ring_buffer__new(tg_datapath_maps(r->dp)->events, on_event, r, NULL);
		if (!r->rb)
			err = -errno;
	}
	if (err)
		fprintf(stderr, "tollgate: cannot program the replay maps: %s\n", strerror(-err));
	return err;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *usage = "usage: tollgate replay FILE.pcap|FILE.pcapng [-c FILE] [--json]\n";
	struct replay r = {};
	const char *conf = NULL;
	bool json = false;
	uint64_t frames;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
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
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	r.file = argv[optind];
	if (conf) {
		struct tg_diags diags = {};

		err = tg_config_load(conf, &r.cfg, &diags);
		tg_diags_print(&diags, conf, stderr);
		tg_diags_free(&diags);
		if (err) {
			if (err != -EINVAL)
				fprintf(stderr, "tollgate: cannot read %s: %s\n", conf,
					strerror(-err));
			return 1;
		}
		r.have_cfg = true;
	}
	tg_libbpf_quiet();
	err = tg_replay_count(r.file, &frames);
	if (!err)
		err = setup(&r, frames);
	if (!err)
		err = replay_file(&r);
	if (!err)
		err = report(&r, json);
	ring_buffer__free(r.rb);
	free(r.events);
	tg_applied_free(&r.ap);
	tg_datapath_close(r.dp);
	if (r.have_cfg)
		tg_config_free(&r.cfg);
	return err ? 1 : 0;
}
