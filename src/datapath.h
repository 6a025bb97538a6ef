/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The datapath: the pinned maps and the tc meter programs. The agent loads (or adopts)
 * them; every other command reads the pins directly.
 */
#ifndef TG_DATAPATH_H
#define TG_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>

#include "tollgate.h"

/* File descriptors of the pinned maps, -1 when not open. */
struct tg_maps {
	int tenant_stats, stats, ifaces, lpm4, lpm6, tenant_meta, state;
	int unparsed, flows, frags, class4, class6, class_meta;
	int policy, buckets, quota, drops, deny4, deny6, peers, cgroups, conns, events;
	int event_limit;
	int guard, gset4, gset6, guard_groups, bans4, bans6, sources, syn, valid, honey_flows;
	int guard_evlimit, gset4_hint, bans_any;
};

/* clang-format off */
#define TG_MAP_NAMES \
	X(tenant_stats) X(stats) X(ifaces) X(lpm4) X(lpm6) X(tenant_meta) X(state) \
	X(unparsed) X(flows) X(frags) X(class4) X(class6) X(class_meta) \
	X(policy) X(buckets) X(quota) X(drops) X(deny4) X(deny6) X(peers) X(cgroups) \
	X(conns) X(events) X(event_limit) \
	X(guard) X(gset4) X(gset6) X(guard_groups) X(bans4) X(bans6) X(sources) X(syn) \
	X(valid) X(honey_flows) X(guard_evlimit) X(gset4_hint) X(bans_any)
/* clang-format on */

void tg_maps_init(struct tg_maps *m);
/* Opens every pin under pin_path; -ENOENT when the datapath is not loaded. */
int tg_maps_open_pinned(const char *pin_path, struct tg_maps *m);
void tg_maps_close(struct tg_maps *m);

/* Sums the per-CPU billing cells of tenant ids [0, n) into out[0 .. n * TG_MAX_CLASSES)
 * (cell = id * TG_MAX_CLASSES + class). Batch read, with a per-key fallback for kernels
 * without batch ops on per-CPU arrays. */
int tg_maps_read_cells(const struct tg_maps *m, struct tg_tenant_stats *out, uint32_t n);
/* A tenant's counters over every class. */
void tg_cells_tenant_total(const struct tg_tenant_stats *cells, uint32_t id,
			   struct tg_tenant_stats *out);
int tg_maps_read_unparsed(const struct tg_maps *m, struct tg_counter out[TG_UNPARSED_MAX]);
int tg_maps_read_class_meta(const struct tg_maps *m, struct tg_class_meta out[TG_MAX_CLASSES]);
/* "internet" for class 0, the configured name, or "class-N" for an id with no name. */
void tg_class_name(const struct tg_class_meta *meta, uint32_t id, char *buf, size_t len);
int tg_maps_read_stats(const struct tg_maps *m, uint64_t out[TG_STAT_MAX]);
int tg_maps_read_meta(const struct tg_maps *m, struct tg_tenant_meta *out /* TG_MAX_TENANTS */);
/* The id of the tenant in use named name, 0 when there is none. */
uint32_t tg_meta_find(const struct tg_tenant_meta *meta, const char *name);
/* One past the highest tenant id in use (1 when none): how far counters need reading. */
uint32_t tg_meta_top(const struct tg_tenant_meta *meta);
int tg_state_read(const struct tg_maps *m, struct tg_state *st);
int tg_state_write(const struct tg_maps *m, const struct tg_state *st);
/* Number of entries in a hash or LPM map (walks the keys). */
int tg_map_count(int fd, uint32_t key_size);

struct tg_datapath;

struct tg_datapath_opts {
	uint32_t flow_capacity; /* entries of tg_flows; 0 = TG_DEFAULT_FLOWS */
};

/* Opens the BPF object, reuses compatible pins under pin_path (or creates and pins the
 * maps, directory mode 0700), loads the programs. pin_path NULL: private maps, nothing
 * pinned (replay). A pinned flow table of another capacity is replaced (flows are not
 * billing data); every other incompatible pin is refused. */
int tg_datapath_load(const char *pin_path, const struct tg_datapath_opts *opts,
		     struct tg_datapath **out);
/* The runtime object's skeleton (bpf/runtime.bpf.c, loaded, nothing attached), or NULL
 * when it could not be loaded (the reason was printed). */
struct runtime_bpf *tg_datapath_runtime(const struct tg_datapath *dp);
enum tg_prog { TG_PROG_TC_INGRESS, TG_PROG_TC_EGRESS, TG_PROG_XDP, TG_PROG_XDP_SIG };
/* The program file descriptors, for BPF_PROG_TEST_RUN (replay, tests). */
int tg_datapath_prog_fd(const struct tg_datapath *dp, enum tg_prog which);
/* The cgroup programs (bpf/cgroup.bpf.c), attached to tenants' cgroups by cgroups.c. */
enum tg_cgroup_prog {
	TG_CG_CONNECT4,
	TG_CG_CONNECT6,
	TG_CG_SENDMSG4,
	TG_CG_SENDMSG6,
	TG_CG_SOCKOPS,
	TG_CG_SOCK_CREATE,
	TG_CG_SOCK_RELEASE,
	TG_CG_SKB_EGRESS,
	TG_CG_SKB_INGRESS,
	TG_CG_PROG_MAX,
};
/* A cgroup program's fd, and its attach type in *type when type is not NULL. */
int tg_datapath_cgroup_prog(const struct tg_datapath *dp, enum tg_cgroup_prog which,
			    enum bpf_attach_type *type);
/* The pin of the cgroup programs' socket storage, beside the maps of TG_MAP_NAMES. */
#define TG_SOCKS_PIN "tg_socks"
/* Records the device test runs execute on as a capture point (TG_ROLE_TAP): replay and
 * the BPF tests judge frames as a tap seeing both directions. */
int tg_datapath_set_tap(const struct tg_datapath *dp);
/* Sets the clock the programs read (0 = the monotonic clock); replay sets capture time. */
void tg_datapath_set_clock(struct tg_datapath *dp, uint64_t ns);
void tg_datapath_close(struct tg_datapath *dp);
const struct tg_maps *tg_datapath_maps(const struct tg_datapath *dp);
/* True when the maps were created by this load rather than adopted. */
bool tg_datapath_fresh(const struct tg_datapath *dp);

/* Attaches the meter to ifindex at tc ingress and egress (atomically replacing an older
 * Tollgate filter) and records the interface in tg_ifaces. */
int tg_datapath_attach(struct tg_datapath *dp, int ifindex, const char *name, uint8_t role,
		       uint32_t tenant_id);

/* Attaches the uplink guard (XDP) to ifindex, which tg_datapath_attach recorded:
 * mode TG_XDP_NATIVE, TG_XDP_GENERIC or TG_XDP_AUTO (native, else generic). Replaces an
 * older Tollgate program atomically; -EBUSY when another XDP program is attached (it is
 * never replaced); -EALREADY when this program is there already in a mode that suits
 * (link events come again for every change). *native tells the mode it got. In native mode XDP bills the link's
 * ingress; in generic mode tc ingress still does, because generic XDP sees GRO
 * super-packets without their segment count. */
int tg_datapath_attach_xdp(struct tg_datapath *dp, int ifindex, int mode, bool *native);
/* Tollgate's XDP program at ifindex: its id (0 when none) and its mode. */
int tg_xdp_query(int ifindex, uint32_t *prog_id, bool *native);
/* Removes Tollgate's XDP program (only ours); -ENODEV when the link is gone. */
int tg_xdp_detach(int ifindex);

/* Is a Tollgate meter attached at ifindex? Fills prog ids (0 when absent). */
int tg_tc_query(int ifindex, uint32_t *ingress_prog, uint32_t *egress_prog);
/* Removes Tollgate's filters from ifindex, and the clsact qdisc when Tollgate created
 * it and no other filter is left on it. Returns 0, or -ENODEV when the link is gone. */
int tg_tc_detach(int ifindex, bool created_clsact);

/* Sums the per-CPU drop counters of tenant ids [0, tenants) into out[0 .. tenants *
 * TG_REASON_SLOTS) (cell = id * TG_REASON_SLOTS + reason). Batch read, per-key fallback. */
int tg_maps_read_drops(const struct tg_maps *m, struct tg_counter *out, uint32_t tenants);

#endif /* TG_DATAPATH_H */
