// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Runtime security in user space (src/runtime.h, docs/runtime.md).
 *
 * Rules go into two generations of kernel maps. tg_runtime_apply writes the generation
 * not in use (its LPM entries cleared first, then rules, prefixes and the rule set), and
 * only then flips tg_rt_active: a program reads the generation once per event, so it
 * judges by the old set or the new one, never by half of one.
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "bpf_inventory.h"
#include "flows.h"
#include "inventory.h"
#include "rt_events.h"
#include "rt_glob.h"
#include "runtime.h"
#include "runtime.skel.h"

/* Every runtime program and the type it reports; attached when that type is wanted.
 * The other tracepoints (exits, sensitive syscalls, bpf()) add their lines here. */
static const struct {
	const char *prog;
	uint32_t type;
} rt_progs[] = {
	{ "tg_rt_exec", TG_RT_EXEC },
	{ "tg_rt_openat", TG_RT_OPEN },
	{ "tg_rt_openat2", TG_RT_OPEN },
	{ "tg_rt_open", TG_RT_OPEN }, /* no open(2) on arm64: may be missing */
	/* exits: always on with the runtime (abnormal exits and the counters) */
	{ "tg_rt_sched_exit", TG_RT_EXIT },
	{ "tg_rt_signal", TG_RT_EXIT },
	{ "tg_rt_oom", TG_RT_EXIT },
	{ "tg_rt_ptrace_enter", TG_RT_PTRACE },
	{ "tg_rt_setuid_enter", TG_RT_SETUID },
	{ "tg_rt_setgid_enter", TG_RT_SETUID },
	{ "tg_rt_setreuid_enter", TG_RT_SETUID },
	{ "tg_rt_setregid_enter", TG_RT_SETUID },
	{ "tg_rt_setresuid_enter", TG_RT_SETUID },
	{ "tg_rt_setresgid_enter", TG_RT_SETUID },
	{ "tg_rt_setfsuid_enter", TG_RT_SETUID },
	{ "tg_rt_setfsgid_enter", TG_RT_SETUID },
	/* missing on kernels without CONFIG_MODULES (nothing can be loaded there) */
	{ "tg_rt_init_module_enter", TG_RT_MODULE },
	{ "tg_rt_finit_module_enter", TG_RT_MODULE },
	{ "tg_rt_module_load", TG_RT_MODULE },
	{ "tg_rt_mount_enter", TG_RT_MOUNT },
	{ "tg_rt_unshare_enter", TG_RT_UNSHARE },
	{ "tg_rt_setns_enter", TG_RT_SETNS },
	{ "tg_rt_bpf_enter_tp", TG_RT_BPF }, /* lib/rt_bpf.h: both or the watch gets none */
	{ "tg_rt_bpf_exit_tp", TG_RT_BPF },
};
#define RT_NPROGS (sizeof(rt_progs) / sizeof(rt_progs[0]))

struct tg_runtime {
	struct runtime_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[RT_NPROGS];
	int attach_err[RT_NPROGS]; /* 0 = attached or not wanted */
	bool wanted[RT_NPROGS];
	struct tg_events *ev;
	char *audit_path;
	struct tg_inventory *inv;
	char *inv_path;
	const struct tg_applied *ap;
	char names[2][TG_MAX_RT_RULES][64];
	uint8_t gen;
	bool on;
	int64_t clock_offset;
	uint64_t *delivered; /* TG_RT_CELLS, mirrors tg_rt_delivered */
	uint32_t *dirty;     /* cells changed since the last write */
	size_t n_dirty;
	uint8_t *is_dirty;
	uint64_t unwritten; /* lines the events output refused */
	size_t batch;	    /* records read by the drain in progress */
	struct tg_bpf_watch *bpf_watch;
};

/*
 * Compiling
 */

static uint32_t tenant_id_of(const struct tg_config *cfg, const struct tg_applied *ap,
			     const char *name)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (!strcmp(cfg->tenants[i].name, name))
			return ap && ap->tenant_ids ? ap->tenant_ids[i] : (uint32_t)(i + 1);
	return 0;
}

static int compile_rule(const struct tg_rt_rule_conf *rc, uint32_t tenant, struct tg_rt_rule *r,
			char *err, size_t errlen)
{
	uint8_t(*cls)[32] = r->cls;
	unsigned ncls = 0;
	struct tg_glob g = { .cls = cls, .ncls = &ncls, .max_cls = TG_RT_GLOB_CLASSES };

	memset(r, 0, sizeof(*r));
	r->type = rc->type;
	r->tenant = tenant;
	r->open_flags = rc->open_flags;
	r->has_uid = rc->uid >= 0;
	r->uid = rc->uid >= 0 ? (uint32_t)rc->uid : 0;
	r->action = rc->action ? rc->action : TG_RA_ALERT;
	if (rc->path[0]) {
		if (tg_glob_compile(rc->path, TG_RT_PATH - 1, &g, err, errlen))
			return -EINVAL;
		memcpy(r->path_tok, g.tok, g.ntok * sizeof(g.tok[0]));
		r->path_ntok = (uint16_t)g.ntok;
		r->path_mode = g.literal ? TG_RT_PATH_LITERAL : TG_RT_PATH_GLOB;
		r->path_start = (uint16_t)(g.literal_len < TG_RT_PFX_BYTES ? g.literal_len
									   : TG_RT_PFX_BYTES);
	}
	if (rc->comm[0]) {
		if (tg_glob_compile(rc->comm, TG_RT_COMM_TOKENS - 1, &g, err, errlen))
			return -EINVAL;
		memcpy(r->comm_tok, g.tok, g.ntok * sizeof(g.tok[0]));
		r->comm_ntok = (uint16_t)g.ntok;
	}
	return 0;
}

/* The literal prefix bytes of rule r (what its LPM key holds). */
static size_t prefix_of(const struct tg_rt_rule *r, uint8_t *out)
{
	for (size_t i = 0; i < r->path_start; i++)
		out[i] = (uint8_t)r->path_tok[i];
	return r->path_start;
}

int tg_rt_compile(const struct tg_config *cfg, const struct tg_applied *ap, uint8_t gen,
		  struct tg_rt_compiled *out, char *err, size_t errlen)
{
	const struct tg_runtime_config *rc = &cfg->runtime;
	uint8_t pa[TG_RT_PFX_BYTES], pb[TG_RT_PFX_BYTES];
	uint32_t id = 0;

	memset(out, 0, sizeof(*out));
	if (rc->n_rules > TG_MAX_RT_RULES - 1) {
		snprintf(err, errlen, "too many runtime rules");
		return -E2BIG;
	}
	/* kill rules get the lowest ids: the kernel stops at the first match */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < rc->n_rules; i++) {
			const struct tg_rt_rule_conf *c = &rc->rules[i];
			uint32_t tenant = 0;

			if ((c->action == TG_RA_KILL) != (pass == 0))
				continue;
			if (c->tenant[0]) {
				tenant = tenant_id_of(cfg, ap, c->tenant);
				if (!tenant) {
					snprintf(err, errlen, "rule '%s': tenant '%s' has no id",
						 c->name, c->tenant);
					return -EINVAL;
				}
			}
			id++;
			if (compile_rule(c, tenant, &out->rules[id], err, errlen))
				return -EINVAL;
			snprintf(out->names[id], sizeof(out->names[id]), "%s", c->name);
			out->types |= 1u << c->type;
		}
	}
	out->n_rules = id;
	if (!id)
		return 0;
	/* one LPM entry per distinct (type, prefix), plus the empty prefix of each type;
	 * each holds every rule of its type whose prefix is a prefix of the entry's */
	out->keys = calloc(2 * id, sizeof(*out->keys));
	out->vals = calloc(2 * id, sizeof(*out->vals));
	if (!out->keys || !out->vals)
		return -ENOMEM;
	for (uint32_t i = 1; i <= 2 * id; i++) {
		const struct tg_rt_rule *r = &out->rules[i <= id ? i : i - id];
		size_t la = i <= id ? prefix_of(r, pa) : 0, k;
		struct tg_rt_pfx_key key = { .prefixlen = 16 + 8 * (uint32_t)la,
					     .gen = gen,
					     .type = (uint8_t)r->type };

		memcpy(key.path, pa, la);
		for (k = 0; k < out->n_prefixes; k++)
			if (!memcmp(&out->keys[k], &key, sizeof(key)))
				break;
		if (k < out->n_prefixes)
			continue;
		out->keys[k] = key;
		for (uint32_t j = 1; j <= id; j++) {
			size_t lb = prefix_of(&out->rules[j], pb);

			if (out->rules[j].type == r->type && lb <= la && !memcmp(pa, pb, lb))
				out->vals[k].rules[j / 64] |= 1ull << (j % 64);
		}
		out->n_prefixes++;
	}
	return 0;
}

void tg_rt_compiled_free(struct tg_rt_compiled *c)
{
	free(c->keys);
	free(c->vals);
	c->keys = NULL;
	c->vals = NULL;
}

/*
 * Applying
 */

int tg_runtime_open(struct tg_datapath *dp, struct tg_runtime **out)
{
	struct runtime_bpf *skel = tg_datapath_runtime(dp);
	struct tg_runtime *rt;
	uint32_t key = 0;
	int fd;

	*out = NULL;
	if (!skel)
		return -ENOTSUP;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->skel = skel;
	rt->delivered = calloc(TG_RT_CELLS, sizeof(*rt->delivered));
	rt->dirty = calloc(TG_RT_CELLS, sizeof(*rt->dirty));
	rt->is_dirty = calloc(TG_RT_CELLS, 1);
	if (!rt->delivered || !rt->dirty || !rt->is_dirty) {
		tg_runtime_close(rt);
		return -ENOMEM;
	}
	/* what earlier agents delivered stays counted (the counters are pinned too) */
	fd = bpf_map__fd(skel->maps.tg_rt_delivered);
	for (uint32_t i = 0; i < TG_RT_CELLS; i++)
		bpf_map_lookup_elem(fd, &i, &rt->delivered[i]);
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.tg_rt_active), &key, &key))
		rt->gen = key & 1;
	*out = rt;
	return 0;
}

static bool type_wanted(const struct tg_config *cfg, const struct tg_rt_compiled *c, uint32_t type)
{
	const struct tg_runtime_config *rc = &cfg->runtime;

	if (!rc->enabled)
		return false;
	if (type == TG_RT_EXIT)
		return true; /* abnormal exits are reported and every exit counted */
	if ((rc->monitor | c->types) & (1u << type))
		return true;
	return rc->inventory && (type == TG_RT_EXEC || type == TG_RT_OPEN);
}

/* Clears generation gen's LPM entries. */
static int clear_prefixes(int fd, uint8_t gen)
{
	struct tg_rt_pfx_key key, next, *dead = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (next.gen == gen) {
			if (n == cap) {
				struct tg_rt_pfx_key *d =
					realloc(dead, (cap = cap ? 2 * cap : 64) * sizeof(*d));

				if (!d) {
					free(dead);
					return -ENOMEM;
				}
				dead = d;
			}
			dead[n++] = next;
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, &dead[i]) && errno != ENOENT)
			err = -errno;
	free(dead);
	return err;
}

static void attach_wanted(struct tg_runtime *rt)
{
	for (size_t i = 0; i < RT_NPROGS; i++) {
		struct bpf_program *p;
		long e;

		if (!rt->wanted[i] || rt->links[i])
			continue;
		p = bpf_object__find_program_by_name(rt->skel->obj, rt_progs[i].prog);
		if (!p) {
			rt->attach_err[i] = -ENOENT;
			continue;
		}
		rt->links[i] = bpf_program__attach(p);
		e = libbpf_get_error(rt->links[i]);
		if (e) {
			rt->links[i] = NULL;
			rt->attach_err[i] = (int)e;
			if (e == -ENOENT && rt_progs[i].type == TG_RT_MODULE)
				fprintf(stderr,
					"tollgate: runtime: module loads are not watched: %s does "
					"not exist, this kernel has no loadable modules "
					"(CONFIG_MODULES unset)\n",
					bpf_program__section_name(p));
			else
				fprintf(stderr, "tollgate: runtime: cannot attach %s (%s): %s\n",
					rt_progs[i].prog, bpf_program__section_name(p),
					strerror((int)-e));
		} else {
			rt->attach_err[i] = 0;
		}
	}
}

static int on_record(void *ctx, void *data, size_t size);

int tg_runtime_apply(struct tg_runtime *rt, const struct tg_config *cfg,
		     const struct tg_applied *ap)
{
	const struct tg_runtime_config *rc = &cfg->runtime;
	struct tg_rt_compiled *c = calloc(1, sizeof(*c));
	struct tg_rt_ruleset rs = { 0 };
	struct tg_rt_conf conf = { 0 };
	uint8_t gen = rt->gen ^ 1;
	uint32_t key, g32 = gen;
	char err[256] = "";
	int r, fd;

	if (!c)
		return -ENOMEM;
	rt->ap = ap;
	r = tg_rt_compile(cfg, ap, gen, c, err, sizeof(err));
	if (r) {
		fprintf(stderr, "tollgate: runtime rules: %s\n", err[0] ? err : strerror(-r));
		goto out;
	}
	/* the new generation beside the live one */
	r = clear_prefixes(bpf_map__fd(rt->skel->maps.tg_rt_prefixes), gen);
	fd = bpf_map__fd(rt->skel->maps.tg_rt_rules);
	for (uint32_t id = 0; !r && id < TG_MAX_RT_RULES; id++) {
		key = gen * TG_MAX_RT_RULES + id;
		if (bpf_map_update_elem(fd, &key, &c->rules[id], BPF_ANY))
			r = -errno;
	}
	fd = bpf_map__fd(rt->skel->maps.tg_rt_prefixes);
	for (size_t i = 0; !r && i < c->n_prefixes; i++)
		if (bpf_map_update_elem(fd, &c->keys[i], &c->vals[i], BPF_ANY))
			r = -errno;
	rs.types = c->types;
	rs.n_rules = c->n_rules;
	key = gen;
	if (!r &&
	    bpf_map_update_elem(bpf_map__fd(rt->skel->maps.tg_rt_rulesets), &key, &rs, BPF_ANY))
		r = -errno;
	if (rc->enabled) {
		conf.monitor = rc->monitor;
		conf.flags = TG_RT_CONF_ON | (rc->inventory ? TG_RT_CONF_INVENTORY : 0);
		conf.budget_ns = 1000000000ull / (rc->events_per_sec ? rc->events_per_sec : 1);
		conf.burst_ns = (rc->events_burst > 1 ? rc->events_burst - 1 : 0) * conf.budget_ns;
	}
	key = 0;
	if (!r && bpf_map_update_elem(bpf_map__fd(rt->skel->maps.tg_rt_conf), &key, &conf, BPF_ANY))
		r = -errno;
	/* the flip: from here on events are judged by the new set */
	if (!r &&
	    bpf_map_update_elem(bpf_map__fd(rt->skel->maps.tg_rt_active), &key, &g32, BPF_ANY))
		r = -errno;
	if (r) {
		fprintf(stderr, "tollgate: runtime: cannot write the rules: %s\n", strerror(-r));
		goto out;
	}
	rt->gen = gen;
	memcpy(rt->names[gen], c->names, sizeof(c->names));
	rt->on = rc->enabled;
	for (size_t i = 0; i < RT_NPROGS; i++)
		rt->wanted[i] = type_wanted(cfg, c, rt_progs[i].type);
	attach_wanted(rt);
	/* the open tracepoints: at least one of openat and openat2 must be there */
	if (rc->enabled && rt->wanted[1] && !rt->links[1] && !rt->links[2]) {
		fprintf(stderr, "tollgate: runtime: no open tracepoint could be attached\n");
		r = rt->attach_err[1] ? rt->attach_err[1] : -ENOENT;
	}
	if (rc->enabled && rt->wanted[0] && !rt->links[0])
		r = rt->attach_err[0] ? rt->attach_err[0] : -ENOENT;
	if (rc->enabled && !rt->rb) {
		rt->rb = ring_buffer__new(bpf_map__fd(rt->skel->maps.tg_rt_events), on_record, rt,
					  NULL);
		if (!rt->rb && !r)
			r = -errno;
	}
	if (rc->enabled && rc->inventory && !rt->inv) {
		int e = tg_inventory_open(rc->inventory_path, &rt->inv);

		if (e)
			fprintf(stderr, "tollgate: runtime: cannot open the inventory %s: %s\n",
				rc->inventory_path, strerror(-e));
	}
out:
	tg_rt_compiled_free(c);
	free(c);
	return r;
}

void tg_runtime_set_applied(struct tg_runtime *rt, const struct tg_applied *ap)
{
	if (rt)
		rt->ap = ap;
}

/*
 * Draining
 */

/* At most this many records a drain: more than a full ring holds (each record has an 8-byte
 * header besides), so a drain still empties the ring. libbpf's ring_buffer__consume
 * returns only once the ring is empty: a producer faster than the agent (a host with many
 * CPUs, an agent under a CPU limit, a high events_per_second) kept the agent's loop inside
 * it, with no harvest, tick or signal handled until the flood stopped (seen: SIGTERM
 * answered after 9.4 s, under a 10% CPU limit, while two processes opened files at 90,000
 * a second). A bounded drain returns to the loop, whose poll finds the ring readable. */
#define TG_RT_DRAIN_BATCH (TG_RT_EVENTS_RING / sizeof(struct tg_rt_event))

static void count_delivered(struct tg_runtime *rt, const struct tg_rt_event *e)
{
	uint32_t cell = (e->tenant_id < TG_MAX_TENANTS ? e->tenant_id : 0) * TG_RT_TYPES +
			(e->type < TG_RT_TYPES ? e->type : 0);

	rt->delivered[cell]++;
	if (!rt->is_dirty[cell]) {
		rt->is_dirty[cell] = 1;
		rt->dirty[rt->n_dirty++] = cell;
	}
}

static void write_delivered(struct tg_runtime *rt)
{
	int fd = bpf_map__fd(rt->skel->maps.tg_rt_delivered);

	for (size_t i = 0; i < rt->n_dirty; i++) {
		uint32_t cell = rt->dirty[i];

		bpf_map_update_elem(fd, &cell, &rt->delivered[cell], BPF_ANY);
		rt->is_dirty[cell] = 0;
	}
	rt->n_dirty = 0;
}

static const char *tenant_name(const struct tg_runtime *rt, uint32_t id)
{
	if (id && id < TG_MAX_TENANTS && rt->ap && rt->ap->meta && rt->ap->meta[id].name[0])
		return rt->ap->meta[id].name;
	return NULL;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tg_runtime *rt = ctx;
	const struct tg_rt_event *e = data;
	struct tg_rt_names names = { .meta = rt->ap ? rt->ap->meta : NULL, .rules = rt->names };
	char *line = NULL;
	size_t len = 0;
	FILE *f;

	if (size < sizeof(*e))
		return 0;
	f = open_memstream(&line, &len);
	if (!f)
		return 0;
	tg_rt_event_json(f, e, &names, rt->clock_offset);
	fclose(f);
	/* delivered = read from the ring and handed to the events output */
	count_delivered(rt, e);
	if (rt->ev && tg_events_raw(rt->ev, line))
		rt->unwritten++;
	if (rt->audit_path && (e->flags & TG_RT_F_KILLED)) {
		char *members = NULL;

		if (asprintf(&members, "\"event\":%s", line) > 0)
			tg_audit_append(rt->audit_path, "security_event", members);
		free(members);
	}
	if (e->type == TG_RT_BPF)
		tg_bpf_watch_event(rt->bpf_watch, e, tenant_name(rt, e->tenant_id));
	if (rt->inv && (e->flags & TG_RT_F_INVENTORY) && tenant_name(rt, e->tenant_id)) {
		char path[TG_RT_PATH + 1];

		memcpy(path, e->path, TG_RT_PATH);
		path[TG_RT_PATH] = '\0';
		/* opens are attempts: a library the loader looked for and did not find is
		 * not in the inventory */
		if (path[0] == '/' && (e->type == TG_RT_EXEC || !access(path, F_OK)))
			tg_inventory_add(
				rt->inv, tenant_name(rt, e->tenant_id), path,
				e->type == TG_RT_EXEC ? TG_INV_EXEC : TG_INV_LIB,
				(int64_t)((e->time_ns + rt->clock_offset) / 1000000000ull));
	}
	free(line);
	/* this record is consumed either way; past the batch the rest waits for the next drain */
	return ++rt->batch >= TG_RT_DRAIN_BATCH ? -EAGAIN : 0;
}

void tg_runtime_set_output(struct tg_runtime *rt, struct tg_events *ev, const char *audit_path)
{
	if (!rt)
		return;
	rt->ev = ev;
	free(rt->audit_path);
	rt->audit_path = audit_path ? strdup(audit_path) : NULL;
}

void tg_runtime_set_bpf_watch(struct tg_runtime *rt, struct tg_bpf_watch *w)
{
	if (rt)
		rt->bpf_watch = w;
}

int tg_runtime_fd(const struct tg_runtime *rt)
{
	return rt && rt->rb ? ring_buffer__epoll_fd(rt->rb) : -1;
}

int tg_runtime_drain(struct tg_runtime *rt)
{
	int n;

	if (!rt || !rt->rb)
		return 0;
	rt->clock_offset = tg_monotonic_offset_ns();
	rt->batch = 0;
	n = ring_buffer__consume(rt->rb);
	if (n == -EAGAIN)
		n = (int)rt->batch; /* more waits: the ring's fd stays readable */
	write_delivered(rt);
	tg_events_flush(rt->ev);
	if (rt->unwritten) {
		fprintf(stderr, "tollgate: runtime: %" PRIu64 " events could not be written\n",
			rt->unwritten);
		rt->unwritten = 0;
	}
	return n;
}

void tg_runtime_describe(const struct tg_runtime *rt, FILE *out)
{
	for (size_t i = 0; rt && i < RT_NPROGS; i++) {
		if (!rt->wanted[i])
			continue;
		if (rt->links[i])
			fprintf(out, "%s: attached\n", rt_progs[i].prog);
		else
			fprintf(out, "%s: not attached: %s\n", rt_progs[i].prog,
				strerror(-rt->attach_err[i]));
	}
}

void tg_runtime_close(struct tg_runtime *rt)
{
	if (!rt)
		return;
	if (rt->rb) {
		tg_runtime_drain(rt);
		ring_buffer__free(rt->rb);
	}
	for (size_t i = 0; i < RT_NPROGS; i++)
		bpf_link__destroy(rt->links[i]);
	if (rt->inv)
		tg_inventory_close(rt->inv);
	free(rt->audit_path);
	free(rt->delivered);
	free(rt->dirty);
	free(rt->is_dirty);
	free(rt);
}

/*
 * Reading the pins (tollgate status)
 */

/* What one bpf(BPF_MAP_LOOKUP_BATCH) call may copy out: a chunk of cells, every CPU's copy. */
#define RT_BATCH_BYTES (1u << 20)

typedef void (*rt_cell_cb)(uint32_t cell, const void *val, void *ctx);

static int rt_read_each(int fd, uint32_t n, void *val, rt_cell_cb cb, void *ctx)
{
	for (uint32_t cell = 0; cell < n; cell++) {
		if (bpf_map_lookup_elem(fd, &cell, val))
			return -errno;
		cb(cell, val, ctx);
	}
	return 0;
}

/*
 * Reads cells [0, n) of an array map, vsize bytes a cell (every CPU's copy for a per-CPU
 * array), a chunk at a time with batch lookups, and calls cb for each; kernels without
 * batch operations on arrays are read one cell at a time. (Both maps have TG_RT_CELLS =
 * 163,840 cells: read whole and one by one, they took half a second of every `tollgate
 * status` and /metrics request, over a second while events flood the machine.)
 */
static int rt_read_cells(int fd, uint32_t n, size_t vsize, rt_cell_cb cb, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t chunk = RT_BATCH_BYTES / vsize, done = 0, batch = 0, count, *keys;
	char *vals;
	int err = 0;

	if (!chunk)
		chunk = 1;
	if (chunk > n)
		chunk = n ? n : 1;
	keys = calloc(chunk, sizeof(*keys));
	vals = calloc(chunk, vsize);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (done < n) {
		count = n - done < chunk ? n - done : chunk;
		err = bpf_map_lookup_batch(fd, done ? &batch : NULL, &batch, keys, vals, &count,
					   &opts);
		if (err && errno != ENOENT) {
			err = -errno;
			if (!done) /* no batch operations: one cell at a time */
				err = rt_read_each(fd, n, vals, cb, ctx);
			goto out;
		}
		for (uint32_t i = 0; i < count; i++)
			if (keys[i] < n)
				cb(keys[i], vals + (size_t)i * vsize, ctx);
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

struct rt_totals_ctx {
	int ncpu;
	uint64_t *delivered; /* the cells read */
	struct tg_rt_totals *out;
	tg_rt_cell_fn cell_fn;
	void *arg;
};

static void rt_delivered_cell(uint32_t cell, const void *val, void *ctx)
{
	struct rt_totals_ctx *x = ctx;

	memcpy(&x->delivered[cell], val, sizeof(uint64_t));
}

static void rt_count_cell(uint32_t cell, const void *val, void *ctx)
{
	const struct tg_rt_count *v = val;
	struct rt_totals_ctx *x = ctx;
	struct tg_rt_totals t = { .delivered = x->delivered[cell] };
	struct tg_rt_totals *o = &x->out[cell % TG_RT_TYPES];

	for (int c = 0; c < x->ncpu; c++) {
		t.produced += v[c].produced;
		t.dropped_budget += v[c].dropped_budget;
		t.dropped_ring += v[c].dropped_ring;
	}
	if (!t.produced && !t.delivered)
		return;
	o->produced += t.produced;
	o->delivered += t.delivered;
	o->dropped_budget += t.dropped_budget;
	o->dropped_ring += t.dropped_ring;
	if (x->cell_fn)
		x->cell_fn(cell / TG_RT_TYPES, cell % TG_RT_TYPES, &t, x->arg);
}

int tg_rt_read_totals(const char *pin_path, uint32_t tenants, struct tg_rt_totals out[TG_RT_TYPES],
		      tg_rt_cell_fn cell_fn, void *arg)
{
	uint32_t n = tenants && tenants < TG_MAX_TENANTS ? tenants * TG_RT_TYPES : TG_RT_CELLS;
	struct rt_totals_ctx x = {
		.ncpu = libbpf_num_possible_cpus(), .out = out, .cell_fn = cell_fn, .arg = arg
	};
	int cfd, dfd, err;
	char path[512];

	memset(out, 0, TG_RT_TYPES * sizeof(*out));
	if (x.ncpu <= 0)
		return x.ncpu ? x.ncpu : -EINVAL;
	snprintf(path, sizeof(path), "%s/tg_rt_counts", pin_path);
	cfd = bpf_obj_get(path);
	if (cfd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/tg_rt_delivered", pin_path);
	dfd = bpf_obj_get(path);
	if (dfd < 0) {
		err = -errno;
		close(cfd);
		return err;
	}
	x.delivered = calloc(n, sizeof(*x.delivered));
	/* delivered first: it only grows, and never past produced - dropped, so a count read
	 * after it shows pending = produced - delivered - dropped >= 0 even while events flow */
	err = x.delivered ? rt_read_cells(dfd, n, sizeof(uint64_t), rt_delivered_cell, &x)
			  : -ENOMEM;
	if (!err)
		err = rt_read_cells(cfd, n, (size_t)x.ncpu * sizeof(struct tg_rt_count),
				    rt_count_cell, &x);
	free(x.delivered);
	close(cfd);
	close(dfd);
	return err;
}

int tg_rt_purge_pins(const char *pin_path)
{
	DIR *d = opendir(pin_path);
	struct dirent *de;
	char path[512];
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "tg_rt_", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_path, de->d_name);
		if (unlink(path) && errno != ENOENT && !err) {
			err = -errno;
			fprintf(stderr, "tollgate: cannot remove %s: %s\n", path, strerror(errno));
		}
	}
	closedir(d);
	return err;
}
