// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A helper for the end-to-end events test: runs the kernel's event code (ev_emit.bpf.c,
 * through BPF_PROG_TEST_RUN) on the PINNED maps of a running datapath, so that a live
 * agent drains what it makes; and writes a tenant's policy, quota and connection count
 * for `tollgate tenants` to show.
 *
 *   ev_inject PIN_PATH enforce TENANT REASON N   N enforcements (counted, rate-limited)
 *   ev_inject PIN_PATH send TENANT REASON N      N events, no limit (fills the ring)
 *   ev_inject PIN_PATH state TENANT QUOTA USED EXCEEDED PERIOD_START MAX_CONN CONNS
 *
 * TENANT is a name (looked up in the pins' tenant metadata), REASON a reason name.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "datapath.h"
#include "ev_emit.skel.h"
#include "events.h"

static int usage(void)
{
	fprintf(stderr, "usage: ev_inject PIN_PATH enforce|send TENANT REASON N\n"
			"       ev_inject PIN_PATH state TENANT QUOTA USED EXCEEDED "
			"PERIOD_START MAX_CONN CONNS\n");
	return 2;
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end) {
		fprintf(stderr, "ev_inject: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static int emit(const struct tg_maps *m, bool send, uint32_t tenant, uint32_t reason, uint32_t n)
{
	static const uint8_t frame[74] = {
		2,    0,    0,	  0,	0, 1,  2, 0, 0,	 0, 0, 2, 0x08, 0x00, /* Ethernet */
		0x45, 0,    0,	  60,	0, 0,  0, 0, 64, 6, 0, 0, 10,	1,
		0,    2,    192,  0,	2, 99,				      /* IPv4 */
		0x30, 0x39, 0x00, 0x16, 0, 0,  0, 0, 0,	 0, 0, 0, 0x50, 0x02, /* TCP 12345 -> 22 */
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = n);
	struct ev_emit_bpf *skel = ev_emit_bpf__open();
	struct bpf_map *map;
	int err = skel ? 0 : -errno;

#define X(name)                                                             \
	if (!err) {                                                         \
		map = bpf_object__find_map_by_name(skel->obj, "tg_" #name); \
		err = !map ? -ENOENT : bpf_map__set_pin_path(map, NULL);    \
		if (!err)                                                   \
			err = bpf_map__reuse_fd(map, m->name);              \
	}
	TG_MAP_NAMES
#undef X
	if (!err)
		err = ev_emit_bpf__load(skel);
	if (!err) {
		skel->bss->ev_mode = send;
		skel->bss->ev_tenant = tenant;
		skel->bss->ev_reason = reason;
		skel->bss->ev_dir = TG_DIR_EGRESS;
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.ev_emit_pkt), &opts);
		if (err)
			err = -errno;
	}
	ev_emit_bpf__destroy(skel);
	return err;
}

static int state(const struct tg_maps *m, uint32_t id, char **argv)
{
	struct tg_policy pol = {};
	struct tg_quota q = {};
	uint64_t conns = num(argv[5]);

	if (bpf_map_lookup_elem(m->policy, &id, &pol))
		return -errno;
	pol.quota_bytes = num(argv[0]);
	pol.quota_action = TG_QUOTA_THROTTLE;
	pol.max_connections = (uint32_t)num(argv[4]);
	q.used = num(argv[1]);
	q.exceeded = (uint32_t)num(argv[2]);
	q.period_start = num(argv[3]);
	if (bpf_map_update_elem(m->policy, &id, &pol, BPF_ANY) ||
	    bpf_map_update_elem(m->quota, &id, &q, BPF_ANY) ||
	    bpf_map_update_elem(m->conns, &id, &conns, BPF_ANY))
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct tg_tenant_meta *meta = calloc(TG_MAX_TENANTS, sizeof(*meta));
	struct tg_maps m;
	uint32_t id, reason = TG_REASON_MAX;
	int err;

	if (argc < 4 || !meta)
		return usage();
	tg_libbpf_quiet();
	err = tg_maps_open_pinned(argv[1], &m);
	if (!err)
		err = tg_maps_read_meta(&m, meta);
	if (err) {
		fprintf(stderr, "ev_inject: %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	id = tg_meta_find(meta, argv[3]);
	if (!id) {
		fprintf(stderr, "ev_inject: no tenant '%s'\n", argv[3]);
		return 1;
	}
	if (!strcmp(argv[2], "state")) {
		if (argc != 10)
			return usage();
		err = state(&m, id, argv + 4);
	} else if (!strcmp(argv[2], "enforce") || !strcmp(argv[2], "send")) {
		if (argc != 6)
			return usage();
		for (uint32_t r = 1; r < TG_REASON_MAX; r++) {
			if (!strcmp(tg_reason_name(r), argv[4]))
				reason = r;
		}
		if (reason == TG_REASON_MAX) {
			fprintf(stderr, "ev_inject: unknown reason '%s'\n", argv[4]);
			return 2;
		}
		err = emit(&m, argv[2][0] == 's', id, reason, (uint32_t)num(argv[5]));
	} else {
		return usage();
	}
	if (err)
		fprintf(stderr, "ev_inject: %s\n", strerror(-err));
	tg_maps_close(&m);
	free(meta);
	return err ? 1 : 0;
}
