// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loading, adopting and reading the datapath. libbpf pins every map by name under the
 * pin path and reuses a compatible pin on the next load, which is what lets a restarted
 * agent carry on with the very counters the kernel kept updating while it was down.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "config.h"
#include "datapath.h"
#include "cgroup.skel.h"
#include "netlink.h"
#include "runtime.skel.h"
#include "tenant.skel.h"
#include "uplink.skel.h"

struct tg_datapath {
	struct tenant_bpf *skel;
	struct uplink_bpf *xdp; /* its maps are the tenant object's, shared by fd */
	struct cgroup_bpf *cg;	/* the same, plus its own socket storage (tg_socks) */
	struct runtime_bpf *rt; /* the same, plus the runtime's maps; NULL when it failed */
	struct tg_maps maps;
	bool fresh;
};

void tg_maps_init(struct tg_maps *m)
{
#define X(n) m->n = -1;
	TG_MAP_NAMES
#undef X
}

void tg_maps_close(struct tg_maps *m)
{
#define X(n)           \
	if (m->n >= 0) \
		close(m->n);
	TG_MAP_NAMES
#undef X
	tg_maps_init(m);
}

int tg_maps_open_pinned(const char *pin_path, struct tg_maps *m)
{
	char path[512];
	int err = 0;

	tg_maps_init(m);
#define X(n)                                                         \
	if (!err) {                                                  \
		snprintf(path, sizeof(path), "%s/tg_" #n, pin_path); \
		m->n = bpf_obj_get(path);                            \
		if (m->n < 0)                                        \
			err = -errno;                                \
	}
	TG_MAP_NAMES
#undef X
	if (err)
		tg_maps_close(m);
	return err;
}

static int ncpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}

static void sum_tenant(const struct tg_tenant_stats *percpu, int cpus, struct tg_tenant_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < cpus; c++) {
		for (int d = 0; d < TG_DIR_MAX; d++) {
			out->dir[d].packets += percpu[c].dir[d].packets;
			out->dir[d].bytes += percpu[c].dir[d].bytes;
		}
	}
}

static int read_cells_per_key(int fd, struct tg_tenant_stats *out, uint32_t n,
			      struct tg_tenant_stats *buf)
{
	for (uint32_t id = 0; id < n; id++) {
		if (bpf_map_lookup_elem(fd, &id, buf))
			return -errno;
		sum_tenant(buf, ncpus(), &out[id]);
	}
	return 0;
}

int tg_maps_read_cells(const struct tg_maps *m, struct tg_tenant_stats *out, uint32_t tenants)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int cpus = ncpus(), err = 0;
	struct tg_tenant_stats *vals;
	uint32_t *keys, batch, count, done = 0;

	uint32_t n;

	if (cpus <= 0)
		return cpus ? cpus : -EINVAL;
	if (tenants > TG_MAX_TENANTS)
		tenants = TG_MAX_TENANTS;
	n = tenants * TG_MAX_CLASSES;
	keys = calloc(n ? n : 1, sizeof(*keys));
	vals = calloc((size_t)(n ? n : 1) * cpus, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	/* One batch call reads every CPU's copy of n cells: the harvest's hot path. */
	while (done < n) {
		count = n - done;
		err = bpf_map_lookup_batch(m->tenant_stats, done ? &batch : NULL, &batch, keys,
					   vals, &count, &opts);
		if (err && errno != ENOENT) {
			err = read_cells_per_key(m->tenant_stats, out, n, vals);
			goto out;
		}
		for (uint32_t i = 0; i < count; i++) {
			if (keys[i] < n)
				sum_tenant(&vals[(size_t)i * cpus], cpus, &out[keys[i]]);
		}
		done += count;
		if (err || !count)
			break; /* ENOENT: the array ended */
	}
	err = 0;
out:
	free(keys);
	free(vals);
	return err;
}

void tg_cells_tenant_total(const struct tg_tenant_stats *cells, uint32_t id,
			   struct tg_tenant_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t c = 0; c < TG_MAX_CLASSES; c++) {
		const struct tg_tenant_stats *cell = &cells[(size_t)id * TG_MAX_CLASSES + c];

		for (int d = 0; d < TG_DIR_MAX; d++) {
			out->dir[d].packets += cell->dir[d].packets;
			out->dir[d].bytes += cell->dir[d].bytes;
		}
	}
}

int tg_maps_read_unparsed(const struct tg_maps *m, struct tg_counter out[TG_UNPARSED_MAX])
{
	int cpus = ncpus();
	struct tg_counter *v = calloc(cpus, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < TG_UNPARSED_MAX; k++) {
		out[k] = (struct tg_counter){ 0 };
		if (bpf_map_lookup_elem(m->unparsed, &k, v)) {
			int err = -errno;

			free(v);
			return err;
		}
		for (int c = 0; c < cpus; c++) {
			out[k].packets += v[c].packets;
			out[k].bytes += v[c].bytes;
		}
	}
	free(v);
	return 0;
}

int tg_maps_read_class_meta(const struct tg_maps *m, struct tg_class_meta out[TG_MAX_CLASSES])
{
	for (uint32_t k = 0; k < TG_MAX_CLASSES; k++) {
		if (bpf_map_lookup_elem(m->class_meta, &k, &out[k]))
			return -errno;
	}
	return 0;
}

void tg_class_name(const struct tg_class_meta *meta, uint32_t id, char *buf, size_t len)
{
	if (id == TG_CLASS_INTERNET)
		snprintf(buf, len, "internet");
	else if (id < TG_MAX_CLASSES && meta && meta[id].name[0])
		snprintf(buf, len, "%.*s", TG_CLASS_NAME_MAX - 1, meta[id].name);
	else
		snprintf(buf, len, "class-%u", id);
}

int tg_maps_read_stats(const struct tg_maps *m, uint64_t out[TG_STAT_MAX])
{
	int cpus = ncpus();
	uint64_t *v = calloc(cpus, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < TG_STAT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(m->stats, &k, v)) {
			int err = -errno;

			free(v);
			return err;
		}
		for (int c = 0; c < cpus; c++)
			out[k] += v[c];
	}
	free(v);
	return 0;
}

int tg_maps_read_meta(const struct tg_maps *m, struct tg_tenant_meta *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys, count = TG_MAX_TENANTS, batch;
	struct tg_tenant_meta *vals;
	int err = 0;

	keys = calloc(TG_MAX_TENANTS, sizeof(*keys));
	vals = calloc(TG_MAX_TENANTS, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	/* The whole table in one call; ENOENT only says the array ended. */
	if (bpf_map_lookup_batch(m->tenant_meta, NULL, &batch, keys, vals, &count, &opts) == 0 ||
	    errno == ENOENT) {
		for (uint32_t i = 0; i < count; i++) {
			if (keys[i] < TG_MAX_TENANTS)
				out[keys[i]] = vals[i];
		}
		if (count == TG_MAX_TENANTS)
			goto out;
	}
	for (uint32_t id = 0; id < TG_MAX_TENANTS; id++) {
		if (bpf_map_lookup_elem(m->tenant_meta, &id, &out[id])) {
			err = -errno;
			break;
		}
	}
out:
	free(keys);
	free(vals);
	return err;
}

uint32_t tg_meta_find(const struct tg_tenant_meta *meta, const char *name)
{
	for (uint32_t id = 1; id < TG_MAX_TENANTS; id++) {
		if ((meta[id].flags & TG_TENANT_IN_USE) &&
		    !strncmp(meta[id].name, name, TG_NAME_MAX))
			return id;
	}
	return 0;
}

uint32_t tg_meta_top(const struct tg_tenant_meta *meta)
{
	uint32_t top = 1;

	for (uint32_t id = 1; id < TG_MAX_TENANTS; id++) {
		if (meta[id].flags & TG_TENANT_IN_USE)
			top = id + 1;
	}
	return top;
}

int tg_state_read(const struct tg_maps *m, struct tg_state *st)
{
	uint32_t k = 0;

	return bpf_map_lookup_elem(m->state, &k, st) ? -errno : 0;
}

int tg_state_write(const struct tg_maps *m, const struct tg_state *st)
{
	uint32_t k = 0;

	return bpf_map_update_elem(m->state, &k, st, BPF_ANY) ? -errno : 0;
}

int tg_map_count(int fd, uint32_t key_size)
{
	unsigned char key[64], next[64];
	void *prev = NULL;
	int n = 0;

	if (key_size > sizeof(key))
		return -EINVAL;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

/* The pin directory is created 0700 before libbpf pins into it: the counters are billing
 * data and the maps are writable by whoever can open them. */
static int make_pin_dir(const char *pin_path)
{
	struct stat st;

	if (mkdir(pin_path, 0700) && errno != EEXIST)
		return -errno;
	if (stat(pin_path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return chmod(pin_path, 0700) ? -errno : 0;
}

/* A pinned flow table of another capacity cannot be reused; flows are visibility, not
 * billing, so it is replaced rather than refused. */
static void drop_resized_flows(const char *pin_path, uint32_t capacity)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/tg_flows", pin_path);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.max_entries != capacity) {
		fprintf(stderr,
			"tollgate: flow table capacity changes from %u to %u: flows restart "
			"(billing counters are kept)\n",
			info.max_entries, capacity);
		unlink(path);
	}
	close(fd);
}

/* The XDP object declares the same maps; it gets the tenant object's by fd, so both
 * hooks count into one set of counters, pinned or not. */
static int load_uplink(struct tg_datapath *dp)
{
	struct bpf_map *map, *mine;
	int err = 0;

	dp->xdp = uplink_bpf__open();
	if (!dp->xdp)
		return -errno;
	bpf_object__for_each_map (map, dp->xdp->obj) {
		const char *name = bpf_map__name(map);

		if (strncmp(name, "tg_", 3))
			continue; /* its own .bss */
		mine = bpf_object__find_map_by_name(dp->skel->obj, name);
		err = bpf_map__set_pin_path(map, NULL);
		if (!err && mine) /* else its own (stages, scratch): private, never pinned */
			err = bpf_map__reuse_fd(map, bpf_map__fd(mine));
		if (err)
			return err;
	}
	err = uplink_bpf__load(dp->xdp);
	if (!err) {
		uint32_t key = TG_STAGE_SIG;
		int fd = bpf_program__fd(dp->xdp->progs.tg_stage_sig);

		if (bpf_map_update_elem(bpf_map__fd(dp->xdp->maps.tg_stages), &key, &fd, BPF_ANY))
			err = -errno;
	}
	return err;
}

/* Gives obj the tenant object's maps by fd for every tg_* map both declare; its own tg_*
 * maps stay pinned by name under the pin path (private when there is none). */
static int share_maps(struct tg_datapath *dp, struct bpf_object *obj, const char *pin_path)
{
	struct bpf_map *map, *mine;
	int err = 0;

	bpf_object__for_each_map (map, obj) {
		const char *name = bpf_map__name(map);

		if (strncmp(name, "tg_", 3))
			continue; /* its .bss, .rodata */
		mine = bpf_object__find_map_by_name(dp->skel->obj, name);
		if (!mine) {
			if (!pin_path) /* its own map, private like the rest */
				err = bpf_map__set_pin_path(map, NULL);
		} else {
			err = bpf_map__set_pin_path(map, NULL);
			if (!err)
				err = bpf_map__reuse_fd(map, bpf_map__fd(mine));
		}
		if (err)
			return err;
	}
	return 0;
}

/* The cgroup object shares the tenant object's maps by fd as the XDP one does. Its own
 * socket storage (tg_socks) is pinned beside them: the connection slots the programs of
 * one agent took are given back by the programs of the next. */
static int load_cgroup(struct tg_datapath *dp, const char *pin_path)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_path);
	int err;

	dp->cg = cgroup_bpf__open_opts(&opts);
	if (!dp->cg)
		return -errno;
	err = share_maps(dp, dp->cg->obj, pin_path);
	return err ? err : cgroup_bpf__load(dp->cg);
}

/* The runtime object (bpf/runtime.bpf.c), loaded like the cgroup object: tg_* maps of
 * the tenant object by fd, its own maps pinned by name beside them (private without a
 * pin path). Nothing is attached here: src/runtime.c attaches what the configuration
 * asks for. */
static int load_runtime(struct tg_datapath *dp, const char *pin_path)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_path);
	int err;

	dp->rt = runtime_bpf__open_opts(&opts);
	if (!dp->rt)
		return -errno;
	err = share_maps(dp, dp->rt->obj, pin_path);
	return err ? err : runtime_bpf__load(dp->rt);
}

int tg_datapath_load(const char *pin_path, const struct tg_datapath_opts *o,
		     struct tg_datapath **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_path);
	uint32_t capacity = o && o->flow_capacity ? o->flow_capacity : TG_DEFAULT_FLOWS;
	struct tg_datapath *dp;
	struct bpf_map *map;
	char probe[512];
	int err;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	tg_maps_init(&dp->maps);

	if (pin_path) {
		err = make_pin_dir(pin_path);
		if (err) {
			fprintf(stderr, "tollgate: cannot create pin directory %s: %s\n", pin_path,
				strerror(-err));
			goto fail;
		}
		snprintf(probe, sizeof(probe), "%s/tg_tenant_stats", pin_path);
		dp->fresh = access(probe, F_OK) != 0;
		drop_resized_flows(pin_path, capacity);
	} else {
		dp->fresh = true;
	}

	dp->skel = tenant_bpf__open_opts(&opts);
	if (!dp->skel) {
		err = -errno;
		fprintf(stderr, "tollgate: cannot open the BPF object: %s\n", strerror(-err));
		goto fail;
	}
	err = bpf_map__set_max_entries(dp->skel->maps.tg_flows, capacity);
	if (!pin_path) {
		bpf_object__for_each_map (map, dp->skel->obj) {
			if (!err)
				err = bpf_map__set_pin_path(map, NULL);
		}
	}
	if (err) {
		fprintf(stderr, "tollgate: cannot prepare the maps: %s\n", strerror(-err));
		goto fail;
	}
	err = tenant_bpf__load(dp->skel);
	if (err) {
		fprintf(stderr,
			"tollgate: cannot load the datapath: %s\n"
			"  If the pins under %s come from an incompatible build, bill what they\n"
			"  hold with the old agent, then remove them with `tollgate stop "
			"--purge`.\n",
			strerror(-err), pin_path ? pin_path : "(none)");
		goto fail;
	}
	err = load_uplink(dp);
	if (err) {
		fprintf(stderr, "tollgate: cannot load the uplink program: %s\n", strerror(-err));
		goto fail;
	}
	err = load_cgroup(dp, pin_path);
	if (err) {
		fprintf(stderr, "tollgate: cannot load the cgroup programs: %s\n", strerror(-err));
		goto fail;
	}
	/* Runtime security is optional: the datapath runs without it, and the agent says why
	 * when the configuration asks for it (src/runtime.c). */
	err = load_runtime(dp, pin_path);
	if (err) {
		fprintf(stderr, "tollgate: cannot load the runtime programs: %s\n", strerror(-err));
		runtime_bpf__destroy(dp->rt);
		dp->rt = NULL;
		err = 0;
	}
#define X(n) dp->maps.n = dup(bpf_map__fd(dp->skel->maps.tg_##n));
	TG_MAP_NAMES
#undef X
	*out = dp;
	return 0;
fail:
	tg_datapath_close(dp);
	return err;
}

int tg_datapath_prog_fd(const struct tg_datapath *dp, enum tg_prog which)
{
	switch (which) {
	case TG_PROG_TC_INGRESS:
		return bpf_program__fd(dp->skel->progs.tg_meter_ingress);
	case TG_PROG_TC_EGRESS:
		return bpf_program__fd(dp->skel->progs.tg_meter_egress);
	case TG_PROG_XDP:
		return bpf_program__fd(dp->xdp->progs.tg_uplink);
	case TG_PROG_XDP_SIG: /* the signature stage, reached by tail call from tg_uplink */
		return bpf_program__fd(dp->xdp->progs.tg_stage_sig);
	}
	return -EINVAL;
}

int tg_datapath_cgroup_prog(const struct tg_datapath *dp, enum tg_cgroup_prog which,
			    enum bpf_attach_type *type)
{
	const struct bpf_program *prog;

	switch (which) {
	case TG_CG_CONNECT4:
		prog = dp->cg->progs.tg_connect4;
		break;
	case TG_CG_CONNECT6:
		prog = dp->cg->progs.tg_connect6;
		break;
	case TG_CG_SENDMSG4:
		prog = dp->cg->progs.tg_sendmsg4;
		break;
	case TG_CG_SENDMSG6:
		prog = dp->cg->progs.tg_sendmsg6;
		break;
	case TG_CG_SOCKOPS:
		prog = dp->cg->progs.tg_sockops;
		break;
	case TG_CG_SOCK_CREATE:
		prog = dp->cg->progs.tg_sock_create;
		break;
	case TG_CG_SOCK_RELEASE:
		prog = dp->cg->progs.tg_sock_release;
		break;
	case TG_CG_SKB_EGRESS:
		prog = dp->cg->progs.tg_skb_egress;
		break;
	case TG_CG_SKB_INGRESS:
		prog = dp->cg->progs.tg_skb_ingress;
		break;
	default:
		return -EINVAL;
	}
	if (type)
		*type = bpf_program__expected_attach_type(prog);
	return bpf_program__fd(prog);
}

int tg_datapath_set_tap(const struct tg_datapath *dp)
{
	struct tg_iface tap = { .role = TG_ROLE_TAP,
				.flags = TG_IFACE_XDP_METERS,
				.name = "test-run" };
	uint32_t key = 1; /* BPF_PROG_TEST_RUN runs frames on the loopback device */

	return bpf_map_update_elem(dp->maps.ifaces, &key, &tap, BPF_ANY) ? -errno : 0;
}

void tg_datapath_set_clock(struct tg_datapath *dp, uint64_t ns)
{
	dp->skel->bss->tg_clock_ns = ns;
	dp->xdp->bss->tg_clock_ns = ns;
}

void tg_datapath_close(struct tg_datapath *dp)
{
	if (!dp)
		return;
	tg_maps_close(&dp->maps);
	runtime_bpf__destroy(dp->rt);
	cgroup_bpf__destroy(dp->cg);
	uplink_bpf__destroy(dp->xdp);
	tenant_bpf__destroy(dp->skel);
	free(dp);
}

struct runtime_bpf *tg_datapath_runtime(const struct tg_datapath *dp)
{
	return dp->rt;
}

const struct tg_maps *tg_datapath_maps(const struct tg_datapath *dp)
{
	return &dp->maps;
}

bool tg_datapath_fresh(const struct tg_datapath *dp)
{
	return dp->fresh;
}

static int tc_attach_one(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TG_TC_HANDLE, .priority = TG_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

int tg_datapath_attach(struct tg_datapath *dp, int ifindex, const char *name, uint8_t role,
		       uint32_t tenant_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	struct tg_iface old, ifc = { .tenant_id = tenant_id, .role = role };
	uint32_t key = ifindex;
	int err;

	/* Keep the record of who created the qdisc across agent restarts. */
	if (!bpf_map_lookup_elem(dp->maps.ifaces, &key, &old) &&
	    !strncmp(old.name, name, sizeof(old.name)))
		ifc.flags = old.flags & TG_IFACE_CREATED_CLSACT;
	snprintf(ifc.name, sizeof(ifc.name), "%s", name);

	err = bpf_tc_hook_create(&hook);
	if (!err)
		ifc.flags |= TG_IFACE_CREATED_CLSACT;
	else if (err != -EEXIST)
		return err;

	/* Record the interface first: a frame metered before its entry exists would only
	 * be counted as TG_STAT_UNKNOWN_IFACE. */
	if (bpf_map_update_elem(dp->maps.ifaces, &key, &ifc, BPF_ANY))
		return -errno;
	err = tc_attach_one(ifindex, BPF_TC_INGRESS,
			    bpf_program__fd(dp->skel->progs.tg_meter_ingress));
	if (!err)
		err = tc_attach_one(ifindex, BPF_TC_EGRESS,
				    bpf_program__fd(dp->skel->progs.tg_meter_egress));
	return err;
}

/* The XDP program attached to ifindex: its id (0 when none), whether it is Tollgate's
 * guard, and the mode. */
static int xdp_query(int ifindex, uint32_t *prog_id, bool *ours, bool *native)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	int err, fd;

	*prog_id = 0;
	*ours = *native = false;
	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	if (q.attach_mode == XDP_ATTACHED_DRV || q.attach_mode == XDP_ATTACHED_HW) {
		*prog_id = q.attach_mode == XDP_ATTACHED_DRV ? q.drv_prog_id : q.hw_prog_id;
		*native = true;
	} else if (q.attach_mode == XDP_ATTACHED_SKB) {
		*prog_id = q.skb_prog_id;
	} else if (q.attach_mode == XDP_ATTACHED_MULTI) {
		*prog_id = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
		*native = q.drv_prog_id != 0;
	}
	if (!*prog_id)
		return 0;
	fd = bpf_prog_get_fd_by_id(*prog_id);
	if (fd < 0)
		return 0;
	*ours = !bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, "tg_uplink");
	close(fd);
	return 0;
}

static uint32_t fd_prog_id(int fd)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

int tg_xdp_query(int ifindex, uint32_t *prog_id, bool *native)
{
	bool ours;
	int err = xdp_query(ifindex, prog_id, &ours, native);

	if (!err && !ours)
		*prog_id = 0;
	return err;
}

static int set_iface_flags(const struct tg_datapath *dp, uint32_t ifindex, uint8_t set,
			   uint8_t clear)
{
	struct tg_iface ifc;

	if (bpf_map_lookup_elem(dp->maps.ifaces, &ifindex, &ifc))
		return -errno;
	ifc.flags = (ifc.flags & ~clear) | set;
	return bpf_map_update_elem(dp->maps.ifaces, &ifindex, &ifc, BPF_EXIST) ? -errno : 0;
}

int tg_datapath_attach_xdp(struct tg_datapath *dp, int ifindex, int mode, bool *native)
{
	int prog_fd = bpf_program__fd(dp->xdp->progs.tg_uplink), err = -EOPNOTSUPP, old_fd = -1;
	const uint8_t xdp_flags = TG_IFACE_XDP_METERS | TG_IFACE_XDP_NATIVE;
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	uint32_t old_id;
	bool ours, was_native;

	err = xdp_query(ifindex, &old_id, &ours, &was_native);
	if (err)
		return err;
	if (old_id && !ours)
		return -EBUSY; /* somebody else's XDP program: never replaced */
	if (old_id && old_id == fd_prog_id(prog_fd) &&
	    (mode == TG_XDP_AUTO || (mode == TG_XDP_NATIVE) == was_native)) {
		*native = was_native;
		return -EALREADY; /* this very program, in a mode that suits */
	}
	if (old_id) {
		old_fd = bpf_prog_get_fd_by_id(old_id);
		if (old_fd < 0)
			return -errno;
	}
	/* Our program already there in a mode we may not keep: take it off first. */
	if (old_id &&
	    ((was_native && mode == TG_XDP_GENERIC) || (!was_native && mode == TG_XDP_NATIVE))) {
		opts.old_prog_fd = old_fd;
		err = bpf_xdp_detach(ifindex,
				     XDP_FLAGS_REPLACE |
					     (was_native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE),
				     &opts);
		if (err)
			goto out;
		old_id = 0;
	}
	opts.old_prog_fd = old_id ? old_fd : 0;

	/* The meter flag goes on before a native attach and off before a generic one: a
	 * frame is billed by XDP only when XDP marked it (metadata), else by tc ingress, so
	 * none is billed twice or lost while the mode changes. */
	err = -EOPNOTSUPP;
	if (mode != TG_XDP_GENERIC && (!old_id || was_native)) {
		err = set_iface_flags(dp, ifindex, xdp_flags, 0);
		if (!err)
			err = bpf_xdp_attach(
				ifindex, prog_fd,
				XDP_FLAGS_DRV_MODE |
					(old_id ? XDP_FLAGS_REPLACE : XDP_FLAGS_UPDATE_IF_NOEXIST),
				&opts);
		if (!err) {
			*native = true;
			goto out;
		}
		if (mode == TG_XDP_NATIVE)
			goto out;
	}
	set_iface_flags(dp, ifindex, 0, xdp_flags);
	err = bpf_xdp_attach(
		ifindex, prog_fd,
		XDP_FLAGS_SKB_MODE |
			(old_id && !was_native ? XDP_FLAGS_REPLACE : XDP_FLAGS_UPDATE_IF_NOEXIST),
		&opts);
	if (!err)
		*native = false;
out:
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

int tg_xdp_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	uint32_t id;
	bool ours, native;
	int err, fd;

	if (!tg_ifindex_exists(ifindex))
		return -ENODEV;
	err = xdp_query(ifindex, &id, &ours, &native);
	if (err || !id || !ours)
		return err;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	opts.old_prog_fd = fd;
	err = bpf_xdp_detach(ifindex,
			     XDP_FLAGS_REPLACE | (native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE),
			     &opts);
	close(fd);
	return err;
}

/* The prog id of Tollgate's filter at one hook, 0 when there is none. A filter with our
 * handle and priority only counts as ours when its program has our name. */
static uint32_t tc_query_one(int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TG_TC_HANDLE, .priority = TG_TC_PRIO);
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	int fd;

	if (bpf_tc_query(&hook, &opts))
		return 0;
	fd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || strncmp(info.name, "tg_meter_", 9))
		opts.prog_id = 0;
	close(fd);
	return opts.prog_id;
}

int tg_tc_query(int ifindex, uint32_t *ingress_prog, uint32_t *egress_prog)
{
	*ingress_prog = tc_query_one(ifindex, BPF_TC_INGRESS);
	*egress_prog = tc_query_one(ifindex, BPF_TC_EGRESS);
	return 0;
}

int tg_tc_detach(int ifindex, bool created_clsact)
{
	static const enum bpf_tc_attach_point points[] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	int others = 0, n;

	if (!tg_ifindex_exists(ifindex))
		return -ENODEV;
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = points[i]);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TG_TC_HANDLE, .priority = TG_TC_PRIO);

		if (tc_query_one(ifindex, points[i])) {
			int err = bpf_tc_detach(&hook, &opts);

			if (err)
				return err;
		}
		n = tg_nl_count_tc_filters(ifindex, points[i] == BPF_TC_INGRESS);
		if (n < 0)
			return n;
		others += n;
	}
	if (created_clsact && !others) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		return bpf_tc_hook_destroy(&hook);
	}
	return 0;
}

int tg_maps_read_drops(const struct tg_maps *m, struct tg_counter *out, uint32_t tenants)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int cpus = ncpus(), err = 0;
	uint32_t *keys, batch, count, done = 0, n;
	struct tg_counter *vals;

	if (cpus <= 0)
		return cpus ? cpus : -EINVAL;
	if (tenants > TG_MAX_TENANTS)
		tenants = TG_MAX_TENANTS;
	n = tenants * TG_REASON_SLOTS;
	memset(out, 0, (size_t)n * sizeof(*out));
	keys = calloc(n ? n : 1, sizeof(*keys));
	vals = calloc((size_t)(n ? n : 1) * cpus, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (done < n) {
		count = n - done;
		err = bpf_map_lookup_batch(m->drops, done ? &batch : NULL, &batch, keys, vals,
					   &count, &opts);
		if (err && errno != ENOENT) {
			/* no batch ops: one cell at a time */
			err = 0;
			for (uint32_t k = 0; !err && k < n; k++) {
				if (bpf_map_lookup_elem(m->drops, &k, vals)) {
					err = -errno;
					break;
				}
				out[k] = (struct tg_counter){ 0 };
				for (int c = 0; c < cpus; c++) {
					out[k].packets += vals[c].packets;
					out[k].bytes += vals[c].bytes;
				}
			}
			goto out;
		}
		for (uint32_t i = 0; i < count; i++) {
			if (keys[i] >= n)
				continue;
			for (int c = 0; c < cpus; c++) {
				out[keys[i]].packets += vals[(size_t)i * cpus + c].packets;
				out[keys[i]].bytes += vals[(size_t)i * cpus + c].bytes;
			}
		}
		done += count;
		if (err || !count)
			break;
	}
	err = 0;
out:
	free(keys);
	free(vals);
	return err;
}
