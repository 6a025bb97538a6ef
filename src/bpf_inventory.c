/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The BPF inventory and the agent's watch over program loads (src/bpf_inventory.h,
 * docs/bpf-inventory.md).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "audit.h"
#include "bpf_inventory.h"
#include "config.h"
#include "events.h"
#include "json.h"
#include "store.h"

#include "cgroup.skel.h"
#include "runtime.skel.h"
#include "tenant.skel.h"
#include "uplink.skel.h"

/* --- small things ----------------------------------------------------------------- */

static void tag_hex(const uint8_t tag[8], char out[TG_BPF_TAG_HEX])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", tag[i]);
}

bool tg_bpf_tag_valid(const char *s)
{
	size_t i;

	for (i = 0; s && s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == 16;
}

const char *tg_bpf_status_name(enum tg_bpf_status s)
{
	return s == TG_BPF_KNOWN ? "known" : s == TG_BPF_ALLOWLISTED ? "allowlisted" : "unknown";
}

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *prog_type_name(uint32_t t, char *buf, size_t len)
{
	const char *s = libbpf_bpf_prog_type_str(t);

	if (s)
		return s;
	snprintf(buf, len, "type-%u", t);
	return buf;
}

static const char *map_type_name(uint32_t t, char *buf, size_t len)
{
	const char *s = libbpf_bpf_map_type_str(t);

	if (s)
		return s;
	snprintf(buf, len, "type-%u", t);
	return buf;
}

static const char *link_type_name(uint32_t t, char *buf, size_t len)
{
	const char *s = libbpf_bpf_link_type_str(t);

	if (s)
		return s;
	snprintf(buf, len, "link-%u", t);
	return buf;
}

static const char *attach_type_name(uint32_t t, char *buf, size_t len)
{
	const char *s = libbpf_bpf_attach_type_str(t);

	if (s)
		return s;
	snprintf(buf, len, "attach-%u", t);
	return buf;
}

/* --- Tollgate's own programs ------------------------------------------------------ */

static int ref_add(struct tg_bpf_ref *ref, const char *name, const char *tag)
{
	void *np;

	for (size_t i = 0; i < ref->n; i++)
		if (!strcmp(ref->p[i].name, name) && !strcmp(ref->p[i].tag, tag))
			return 0;
	np = realloc(ref->p, (ref->n + 1) * sizeof(*ref->p));
	if (!np)
		return -ENOMEM;
	ref->p = np;
	snprintf(ref->p[ref->n].name, sizeof(ref->p[ref->n].name), "%s", name);
	snprintf(ref->p[ref->n].tag, sizeof(ref->p[ref->n].tag), "%s", tag);
	ref->n++;
	return 0;
}

/* Maps are sized down before the load (nothing in a program's instructions depends on
 * max_entries, so the tags are those of the full-size load), and never pinned. */
static void shrink_maps(struct bpf_object *obj)
{
	long page = sysconf(_SC_PAGESIZE);
	struct bpf_map *map;

	bpf_object__for_each_map (map, obj) {
		bpf_map__set_pin_path(map, NULL);
		if (strchr(bpf_map__name(map), '.'))
			continue; /* .rodata, .bss: their size is the data's */
		switch (bpf_map__type(map)) {
		case BPF_MAP_TYPE_HASH:
		case BPF_MAP_TYPE_ARRAY:
		case BPF_MAP_TYPE_PERCPU_HASH:
		case BPF_MAP_TYPE_PERCPU_ARRAY:
		case BPF_MAP_TYPE_LRU_HASH:
		case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		case BPF_MAP_TYPE_LPM_TRIE:
		case BPF_MAP_TYPE_PROG_ARRAY:
			if (bpf_map__max_entries(map) > 1)
				bpf_map__set_max_entries(map, 1);
			break;
		case BPF_MAP_TYPE_RINGBUF:
			bpf_map__set_max_entries(map, page > 0 ? (uint32_t)page : 4096);
			break;
		default:
			break;
		}
	}
}

static int ref_object(struct tg_bpf_ref *ref, const char *name, const void *elf, size_t sz,
		      bool shrink)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name);
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_map *map;
	int err;

	obj = bpf_object__open_mem(elf, sz, &opts);
	if (!obj)
		return -errno;
	if (shrink)
		shrink_maps(obj);
	else
		bpf_object__for_each_map (map, obj)
			bpf_map__set_pin_path(map, NULL);
	err = bpf_object__load(obj);
	bpf_object__for_each_program (prog, obj) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		char tag[TG_BPF_TAG_HEX];
		int fd = bpf_program__fd(prog);

		if (err || fd < 0)
			break;
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			err = -errno;
			break;
		}
		tag_hex(info.tag, tag);
		err = ref_add(ref, info.name, tag);
	}
	bpf_object__close(obj);
	return err;
}

int tg_bpf_ref_embedded(struct tg_bpf_ref *ref)
{
	static const struct {
		const char *name;
		const void *(*elf)(size_t *sz);
	} objs[] = {
		{ "tenant", tenant_bpf__elf_bytes },
		{ "uplink", uplink_bpf__elf_bytes },
		{ "cgroup", cgroup_bpf__elf_bytes },
		{ "runtime", runtime_bpf__elf_bytes },
	};
	int err = 0;

	memset(ref, 0, sizeof(*ref));
	ref->source = "embedded";
	for (size_t i = 0; !err && i < sizeof(objs) / sizeof(objs[0]); i++) {
		size_t sz = 0;
		const void *elf = objs[i].elf(&sz);

		err = ref_object(ref, objs[i].name, elf, sz, true);
		if (err && err != -ENOMEM) /* the full-size maps, as the agent has them */
			err = ref_object(ref, objs[i].name, elf, sz, false);
		if (err)
			fprintf(stderr,
				"tollgate: cannot load Tollgate's own %s programs to learn their "
				"tags: %s\n",
				objs[i].name, strerror(-err));
	}
	if (err)
		tg_bpf_ref_free(ref);
	return err;
}

void tg_bpf_ref_free(struct tg_bpf_ref *ref)
{
	if (!ref)
		return;
	free(ref->p);
	ref->p = NULL;
	ref->n = 0;
}

static bool agent_running(const char *run_dir)
{
	char path[512];
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/tollgate.pid", run_dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int tg_bpf_ref_read(const char *run_dir, struct tg_bpf_ref *ref)
{
	char path[512], line[128], tag[TG_BPF_TAG_HEX], name[16];
	FILE *f;
	int err = 0;

	memset(ref, 0, sizeof(*ref));
	ref->source = "agent";
	if (!run_dir || !agent_running(run_dir))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", run_dir, TG_BPF_KNOWN_FILE);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!err && fgets(line, sizeof(line), f)) {
		name[0] = '\0';
		if (sscanf(line, "%16s %15s", tag, name) < 1 || !tg_bpf_tag_valid(tag)) {
			err = -EINVAL;
			break;
		}
		err = ref_add(ref, name, tag);
	}
	fclose(f);
	if (!err && !ref->n)
		err = -ENODATA;
	if (err)
		tg_bpf_ref_free(ref);
	return err;
}

int tg_bpf_ref_write(const char *run_dir, const struct tg_bpf_ref *ref)
{
	char path[512], tmp[520];
	FILE *f;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", run_dir, TG_BPF_KNOWN_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	for (size_t i = 0; i < ref->n; i++)
		fprintf(f, "%s %s\n", ref->p[i].tag, ref->p[i].name);
	if (fflush(f) || fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

enum tg_bpf_status tg_bpf_classify(const struct tg_bpf_ref *ref, char *const *allow, size_t n_allow,
				   const char *name, const char *tag)
{
	for (size_t i = 0; ref && i < ref->n; i++)
		if (!strcmp(ref->p[i].tag, tag) && !strcmp(ref->p[i].name, name))
			return TG_BPF_KNOWN;
	for (size_t i = 0; i < n_allow; i++)
		if (allow[i] && !strcasecmp(allow[i], tag))
			return TG_BPF_ALLOWLISTED;
	return TG_BPF_UNKNOWN;
}

/* --- reading the kernel's objects ------------------------------------------------- */

int tg_bpf_prog_read(int fd, struct tg_bpf_prog *p)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info), n;

	memset(p, 0, sizeof(*p));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	n = info.nr_map_ids;
	if (n) {
		struct bpf_prog_info info2 = {};

		p->map_ids = calloc(n, sizeof(*p->map_ids));
		if (!p->map_ids)
			return -ENOMEM;
		info2.nr_map_ids = n;
		info2.map_ids = (uint64_t)(uintptr_t)p->map_ids;
		len = sizeof(info2);
		if (bpf_obj_get_info_by_fd(fd, &info2, &len)) {
			free(p->map_ids);
			p->map_ids = NULL;
			return -errno;
		}
		p->n_map_ids = info2.nr_map_ids < n ? info2.nr_map_ids : n;
	}
	p->id = info.id;
	p->type = info.type;
	snprintf(p->name, sizeof(p->name), "%s", info.name);
	tag_hex(info.tag, p->tag);
	p->uid = info.created_by_uid;
	p->load_time_ns = info.load_time;
	p->run_time_ns = info.run_time_ns;
	p->run_cnt = info.run_cnt;
	return 0;
}

static void link_target(const struct bpf_link_info *li, const char *name, char *out, size_t len)
{
	char ifname[IF_NAMESIZE];

	switch (li->type) {
	case BPF_LINK_TYPE_RAW_TRACEPOINT:
		snprintf(out, len, "raw_tp %s", name);
		break;
	case BPF_LINK_TYPE_TRACING:
		snprintf(out, len, "btf object %u type %u", li->tracing.target_obj_id,
			 li->tracing.target_btf_id);
		break;
	case BPF_LINK_TYPE_CGROUP:
		snprintf(out, len, "cgroup %" PRIu64, (uint64_t)li->cgroup.cgroup_id);
		break;
	case BPF_LINK_TYPE_ITER:
		snprintf(out, len, "iter %s", name);
		break;
	case BPF_LINK_TYPE_NETNS:
		snprintf(out, len, "netns %u", li->netns.netns_ino);
		break;
	case BPF_LINK_TYPE_XDP:
		if (if_indextoname(li->xdp.ifindex, ifname))
			snprintf(out, len, "ifindex %u (%s)", li->xdp.ifindex, ifname);
		else
			snprintf(out, len, "ifindex %u", li->xdp.ifindex);
		break;
	default:
		out[0] = '\0'; /* perf_event and newer kinds: libbpf 1.1's uapi has no details */
		break;
	}
}

static uint32_t link_attach_type(const struct bpf_link_info *li)
{
	switch (li->type) {
	case BPF_LINK_TYPE_TRACING:
		return li->tracing.attach_type;
	case BPF_LINK_TYPE_CGROUP:
		return li->cgroup.attach_type;
	case BPF_LINK_TYPE_NETNS:
		return li->netns.attach_type;
	case BPF_LINK_TYPE_XDP:
		return BPF_XDP;
	default:
		return UINT32_MAX;
	}
}

static int link_read(int fd, struct tg_bpf_link *l)
{
	struct bpf_link_info li = {};
	uint32_t len = sizeof(li);
	char name[64] = "";

	if (bpf_obj_get_info_by_fd(fd, &li, &len))
		return -errno;
	if (li.type == BPF_LINK_TYPE_RAW_TRACEPOINT || li.type == BPF_LINK_TYPE_ITER) {
		struct bpf_link_info l2 = {};

		if (li.type == BPF_LINK_TYPE_RAW_TRACEPOINT) {
			l2.raw_tracepoint.tp_name = (uint64_t)(uintptr_t)name;
			l2.raw_tracepoint.tp_name_len = sizeof(name);
		} else {
			l2.iter.target_name = (uint64_t)(uintptr_t)name;
			l2.iter.target_name_len = sizeof(name);
		}
		len = sizeof(l2);
		if (bpf_obj_get_info_by_fd(fd, &l2, &len))
			name[0] = '\0';
		name[sizeof(name) - 1] = '\0';
	}
	l->id = li.id;
	l->type = li.type;
	l->prog_id = li.prog_id;
	l->attach_type = link_attach_type(&li);
	link_target(&li, name, l->target, sizeof(l->target));
	return 0;
}

void tg_bpf_snapshot_free(struct tg_bpf_snapshot *s)
{
	for (size_t i = 0; i < s->n_progs; i++) {
		free(s->progs[i].map_ids);
		free(s->progs[i].attach);
	}
	free(s->progs);
	free(s->maps);
	free(s->links);
	memset(s, 0, sizeof(*s));
}

static int grow(void **arr, size_t n, size_t size)
{
	void *np;

	if (n & (n - 1) && n) /* grow at powers of two */
		return 0;
	np = realloc(*arr, (n ? 2 * n : 16) * size);
	if (!np)
		return -ENOMEM;
	*arr = np;
	return 0;
}

int tg_bpf_snapshot_take(struct tg_bpf_snapshot *s)
{
	uint32_t id;
	int fd, err = 0;

	for (id = 0; !err && !bpf_prog_get_next_id(id, &id);) {
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue; /* gone meanwhile */
		err = grow((void **)&s->progs, s->n_progs, sizeof(*s->progs));
		if (!err && !tg_bpf_prog_read(fd, &s->progs[s->n_progs]))
			s->n_progs++;
		close(fd);
	}
	if (!err && errno != ENOENT)
		err = -errno;
	for (id = 0; !err && !bpf_map_get_next_id(id, &id);) {
		struct bpf_map_info mi = {};
		uint32_t len = sizeof(mi);
		struct tg_bpf_map_info *m;

		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		err = grow((void **)&s->maps, s->n_maps, sizeof(*s->maps));
		if (!err && !bpf_obj_get_info_by_fd(fd, &mi, &len)) {
			m = &s->maps[s->n_maps++];
			m->id = mi.id;
			m->type = mi.type;
			m->key_size = mi.key_size;
			m->value_size = mi.value_size;
			m->max_entries = mi.max_entries;
			m->flags = mi.map_flags;
			snprintf(m->name, sizeof(m->name), "%s", mi.name);
		}
		close(fd);
	}
	if (!err && errno != ENOENT)
		err = -errno;
	for (id = 0; !err && !bpf_link_get_next_id(id, &id);) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		err = grow((void **)&s->links, s->n_links, sizeof(*s->links));
		if (!err && !link_read(fd, &s->links[s->n_links]))
			s->n_links++;
		close(fd);
	}
	if (!err && errno != ENOENT)
		err = -errno;
	/* each program's attach points, from the links */
	for (size_t i = 0; !err && i < s->n_links; i++) {
		const struct tg_bpf_link *l = &s->links[i];

		for (size_t j = 0; j < s->n_progs; j++) {
			struct tg_bpf_prog *p = &s->progs[j];
			struct tg_bpf_attach *a;

			if (p->id != l->prog_id)
				continue;
			a = realloc(p->attach, (p->n_attach + 1) * sizeof(*a));
			if (!a) {
				err = -ENOMEM;
				break;
			}
			p->attach = a;
			a = &a[p->n_attach++];
			a->link_id = l->id;
			a->link_type = l->type;
			a->attach_type = l->attach_type;
			snprintf(a->target, sizeof(a->target), "%s", l->target);
		}
	}
	if (err)
		tg_bpf_snapshot_free(s);
	return err;
}

/* --- the loaders' cache ----------------------------------------------------------- */

struct loader {
	uint32_t id;
	uint64_t load_time_ns; /* with id: the program (ids restart at boot) */
	int32_t pid;
	uint32_t uid;
	char tenant[64];
	char comm[16];
};

/* "ID LOAD_TIME PID UID TENANT COMM" (TENANT "-" for none; COMM last, may hold spaces). */
static bool loader_parse(const char *line, struct loader *l)
{
	int n = 0;

	memset(l, 0, sizeof(*l));
	if (sscanf(line, "%" SCNu32 " %" SCNu64 " %" SCNd32 " %" SCNu32 " %63s %n", &l->id,
		   &l->load_time_ns, &l->pid, &l->uid, l->tenant, &n) < 5 ||
	    !n)
		return false;
	snprintf(l->comm, sizeof(l->comm), "%.*s", (int)strcspn(line + n, "\n"), line + n);
	if (!strcmp(l->tenant, "-"))
		l->tenant[0] = '\0';
	return true;
}

static void loader_line(FILE *f, const struct loader *l)
{
	char comm[16];

	snprintf(comm, sizeof(comm), "%s", l->comm);
	for (char *c = comm; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = '?';
	fprintf(f, "%" PRIu32 " %" PRIu64 " %" PRId32 " %" PRIu32 " %s %s\n", l->id,
		l->load_time_ns, l->pid, l->uid, l->tenant[0] ? l->tenant : "-", comm);
}

void tg_bpf_snapshot_classify(struct tg_bpf_snapshot *s, const struct tg_bpf_ref *ref,
			      char *const *allow, size_t n_allow, const char *run_dir)
{
	char path[512], line[256];
	struct loader l;
	FILE *f = NULL;

	for (size_t i = 0; i < s->n_progs; i++)
		s->progs[i].status =
			tg_bpf_classify(ref, allow, n_allow, s->progs[i].name, s->progs[i].tag);
	s->ref_source = ref ? ref->source : NULL;
	if (run_dir) {
		snprintf(path, sizeof(path), "%s/%s", run_dir, TG_BPF_LOADERS_FILE);
		f = fopen(path, "re");
	}
	while (f && fgets(line, sizeof(line), f)) {
		if (!loader_parse(line, &l))
			continue;
		for (size_t i = 0; i < s->n_progs; i++) {
			struct tg_bpf_prog *p = &s->progs[i];

			if (p->id != l.id || p->load_time_ns != l.load_time_ns)
				continue;
			p->has_loader = true;
			p->loader_pid = l.pid;
			snprintf(p->loader_comm, sizeof(p->loader_comm), "%s", l.comm);
			snprintf(p->loader_tenant, sizeof(p->loader_tenant), "%s", l.tenant);
		}
	}
	if (f)
		fclose(f);
}

/* --- output ----------------------------------------------------------------------- */

static void wall_time(uint64_t boot_ns, char *buf, size_t len)
{
	int64_t now_real = clock_ns(CLOCK_REALTIME), now_boot = clock_ns(CLOCK_BOOTTIME);

	tg_format_time((now_real - (now_boot - (int64_t)boot_ns)) / 1000000000, buf, len);
}

static void print_json(FILE *out, const struct tg_bpf_snapshot *s)
{
	char b1[32], b2[32], t[40];

	fprintf(out,
		"{\"stats\":{\"enabled\":%s,\"by\":\"%s\",\"window_ms\":%" PRIu64 "},"
		"\"reference\":\"%s\",\"programs\":[",
		s->stats_on ? "true" : "false", s->stats_by ? s->stats_by : "off",
		s->stats_window_ms, s->ref_source ? s->ref_source : "none");
	for (size_t i = 0; i < s->n_progs; i++) {
		const struct tg_bpf_prog *p = &s->progs[i];

		wall_time(p->load_time_ns, t, sizeof(t));
		fprintf(out, "%s{\"id\":%u,\"type\":\"%s\",\"name\":", i ? "," : "", p->id,
			prog_type_name(p->type, b1, sizeof(b1)));
		tg_json_string(out, p->name);
		fprintf(out, ",\"tag\":\"%s\",\"status\":\"%s\",\"known\":%s,\"loader_uid\":%u",
			p->tag, tg_bpf_status_name(p->status),
			p->status == TG_BPF_KNOWN ? "true" : "false", p->uid);
		if (p->has_loader) {
			fprintf(out, ",\"loader_pid\":%d,\"loader_comm\":", p->loader_pid);
			tg_json_string(out, p->loader_comm);
			if (p->loader_tenant[0]) {
				fputs(",\"tenant\":", out);
				tg_json_string(out, p->loader_tenant);
			}
		}
		fprintf(out,
			",\"load_time\":\"%s\",\"run_time_ns\":%" PRIu64 ",\"run_cnt\":%" PRIu64
			",\"map_ids\":[",
			t, p->run_time_ns, p->run_cnt);
		for (uint32_t j = 0; j < p->n_map_ids; j++)
			fprintf(out, "%s%u", j ? "," : "", p->map_ids[j]);
		fputs("],\"attach\":[", out);
		for (size_t j = 0; j < p->n_attach; j++) {
			const struct tg_bpf_attach *a = &p->attach[j];

			fprintf(out, "%s{\"link_id\":%u,\"link_type\":\"%s\"", j ? "," : "",
				a->link_id, link_type_name(a->link_type, b1, sizeof(b1)));
			if (a->attach_type != UINT32_MAX)
				fprintf(out, ",\"attach_type\":\"%s\"",
					attach_type_name(a->attach_type, b2, sizeof(b2)));
			if (a->target[0]) {
				fputs(",\"target\":", out);
				tg_json_string(out, a->target);
			}
			fputc('}', out);
		}
		fputs("]}", out);
	}
	fputs("],\"maps\":[", out);
	for (size_t i = 0; i < s->n_maps; i++) {
		const struct tg_bpf_map_info *m = &s->maps[i];

		fprintf(out, "%s{\"id\":%u,\"type\":\"%s\",\"name\":", i ? "," : "", m->id,
			map_type_name(m->type, b1, sizeof(b1)));
		tg_json_string(out, m->name);
		fprintf(out, ",\"key_size\":%u,\"value_size\":%u,\"max_entries\":%u,\"flags\":%u}",
			m->key_size, m->value_size, m->max_entries, m->flags);
	}
	fputs("],\"links\":[", out);
	for (size_t i = 0; i < s->n_links; i++) {
		const struct tg_bpf_link *l = &s->links[i];

		fprintf(out, "%s{\"id\":%u,\"type\":\"%s\",\"prog_id\":%u", i ? "," : "", l->id,
			link_type_name(l->type, b1, sizeof(b1)), l->prog_id);
		if (l->attach_type != UINT32_MAX)
			fprintf(out, ",\"attach_type\":\"%s\"",
				attach_type_name(l->attach_type, b2, sizeof(b2)));
		if (l->target[0]) {
			fputs(",\"target\":", out);
			tg_json_string(out, l->target);
		}
		fputc('}', out);
	}
	fputs("]}\n", out);
}

static void print_table(FILE *out, const struct tg_bpf_snapshot *s)
{
	size_t counts[3] = { 0 };
	char b1[32], b2[32], loader[48];

	fprintf(out, "PROGRAMS (tags of Tollgate's own: %s; run statistics %s)\n",
		s->ref_source ? s->ref_source : "none",
		!s->stats_on			  ? "off: run_time and run_cnt are not counted"
		: !strcmp(s->stats_by, "command") ? "on for this command only"
						  : "on");
	fprintf(out, "%6s  %-16s  %-15s  %-16s  %-11s  %-22s  %10s  %12s  %s\n", "ID", "TYPE",
		"NAME", "TAG", "STATUS", "LOADER (UID PID COMM)", "RUN_CNT", "RUN_TIME_NS",
		"MAPS / ATTACH");
	for (size_t i = 0; i < s->n_progs; i++) {
		const struct tg_bpf_prog *p = &s->progs[i];

		counts[p->status]++;
		if (p->has_loader)
			snprintf(loader, sizeof(loader), "%u %d %s", p->uid, p->loader_pid,
				 p->loader_comm);
		else
			snprintf(loader, sizeof(loader), "%u", p->uid);
		fprintf(out,
			"%6u  %-16s  %-15s  %-16s  %-11s  %-22s  %10" PRIu64 "  %12" PRIu64 "  ",
			p->id, prog_type_name(p->type, b1, sizeof(b1)), p->name, p->tag,
			tg_bpf_status_name(p->status), loader, p->run_cnt, p->run_time_ns);
		for (uint32_t j = 0; j < p->n_map_ids; j++)
			fprintf(out, "%s%u", j ? "," : "maps ", p->map_ids[j]);
		for (size_t j = 0; j < p->n_attach; j++)
			fprintf(out, "%s%s %s%s%s", j || p->n_map_ids ? "; " : "",
				link_type_name(p->attach[j].link_type, b1, sizeof(b1)),
				p->attach[j].attach_type != UINT32_MAX
					? attach_type_name(p->attach[j].attach_type, b2, sizeof(b2))
					: "",
				p->attach[j].target[0] ? " " : "", p->attach[j].target);
		fputc('\n', out);
	}
	fprintf(out, "\nMAPS\n%6s  %-22s  %-15s  %8s  %8s  %11s\n", "ID", "TYPE", "NAME", "KEY",
		"VALUE", "MAX_ENTRIES");
	for (size_t i = 0; i < s->n_maps; i++) {
		const struct tg_bpf_map_info *m = &s->maps[i];

		fprintf(out, "%6u  %-22s  %-15s  %8u  %8u  %11u\n", m->id,
			map_type_name(m->type, b1, sizeof(b1)), m->name, m->key_size, m->value_size,
			m->max_entries);
	}
	fprintf(out, "\nLINKS\n%6s  %-14s  %7s  %-22s  %s\n", "ID", "TYPE", "PROG", "ATTACH_TYPE",
		"TARGET");
	for (size_t i = 0; i < s->n_links; i++) {
		const struct tg_bpf_link *l = &s->links[i];

		fprintf(out, "%6u  %-14s  %7u  %-22s  %s\n", l->id,
			link_type_name(l->type, b1, sizeof(b1)), l->prog_id,
			l->attach_type != UINT32_MAX
				? attach_type_name(l->attach_type, b2, sizeof(b2))
				: "-",
			l->target);
	}
	fprintf(out,
		"\n%zu programs (%zu known, %zu allowlisted, %zu unknown), %zu maps, %zu links\n",
		s->n_progs, counts[TG_BPF_KNOWN], counts[TG_BPF_ALLOWLISTED],
		counts[TG_BPF_UNKNOWN], s->n_maps, s->n_links);
}

void tg_bpf_snapshot_print(FILE *out, const struct tg_bpf_snapshot *s, bool json)
{
	if (json)
		print_json(out, s);
	else
		print_table(out, s);
}

/* --- the agent's watch ------------------------------------------------------------ */

#define WATCH_GRACE_NS (3 * 1000000000LL) /* an event and its program meet within this */
#define WATCH_MAX 1024			  /* pending events, or programs awaiting one */

struct pending_load {
	uint32_t tgid, pid, ppid, uid, type;
	char comm[16], name[16], tenant[64];
	int64_t ev_boot_ns; /* the event's time on CLOCK_BOOTTIME */
	int64_t seen_ns;    /* CLOCK_MONOTONIC, when it arrived */
};

struct new_prog {
	struct tg_bpf_prog p; /* no map ids */
	int64_t seen_ns;
};

struct tg_bpf_watch {
	struct tg_events *ev;
	struct tg_bpf_ref ref;
	char **allow;
	size_t n_allow;
	char *audit_path;
	char loaders_path[512];
	uint32_t last_id;
	pid_t self;
	struct pending_load *pend;
	size_t n_pend;
	struct new_prog *progs;
	size_t n_progs;
	int warned;
};

static void watch_record_loader(struct tg_bpf_watch *w, const struct tg_bpf_prog *p,
				const struct pending_load *l)
{
	struct loader lo = { .id = p->id, .load_time_ns = p->load_time_ns };
	int fd =
		open(w->loaders_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	FILE *f;

	if (fd < 0)
		return;
	f = fdopen(fd, "a");
	if (!f) {
		close(fd);
		return;
	}
	lo.pid = (int32_t)l->tgid;
	lo.uid = l->uid;
	snprintf(lo.tenant, sizeof(lo.tenant), "%s", l->tenant);
	snprintf(lo.comm, sizeof(lo.comm), "%s", l->comm);
	loader_line(f, &lo);
	fclose(f);
}

/* One bpf_load event: in the events file, and in the audit log as a security_event. */
static void watch_emit(struct tg_bpf_watch *w, const struct tg_bpf_prog *p,
		       const struct pending_load *l)
{
	char *members = NULL, *audit = NULL, t[40], b[32];
	size_t len = 0;
	FILE *f = open_memstream(&members, &len);
	int err;

	if (!f)
		return;
	fprintf(f, "\"known\": false, \"status\": \"%s\", \"gone\": %s, \"loader\": {",
		p ? tg_bpf_status_name(p->status) : "unknown", p ? "false" : "true");
	if (l) {
		fprintf(f, "\"pid\": %u, \"tid\": %u, \"ppid\": %u, \"comm\": ", l->tgid, l->pid,
			l->ppid);
		tg_json_string(f, l->comm);
		fprintf(f, ", \"uid\": %u, \"tenant\": ", l->uid);
		if (l->tenant[0])
			tg_json_string(f, l->tenant);
		else
			fputs("null", f);
	} else {
		fprintf(f, "\"uid\": %u", p->uid); /* created_by_uid: the kernel's word */
	}
	fputs("}, \"prog\": {", f);
	if (p) {
		fprintf(f, "\"id\": %u, \"name\": ", p->id);
		tg_json_string(f, p->name);
		fprintf(f, ", \"type\": \"%s\", \"tag\": \"%s\"}",
			prog_type_name(p->type, b, sizeof(b)), p->tag);
	} else {
		fputs("\"id\": null, \"name\": ", f);
		tg_json_string(f, l->name);
		fprintf(f, ", \"type\": \"%s\", \"tag\": null}",
			prog_type_name(l->type, b, sizeof(b)));
	}
	fclose(f);
	if (!members)
		return;
	tg_events_user(w->ev, "bpf_load", l && l->tenant[0] ? l->tenant : NULL, members);
	if (w->audit_path) {
		tg_format_time(time(NULL), t, sizeof(t));
		if (asprintf(&audit, "\"event\":{\"time\": \"%s\", \"type\": \"bpf_load\", %s}", t,
			     members) > 0) {
			err = tg_audit_append(w->audit_path, "security_event", audit);
			if (err && !w->warned)
				fprintf(stderr, "tollgate: cannot write the audit log %s: %s\n",
					w->audit_path, strerror(-err));
			w->warned = !!err;
		}
		free(audit);
	}
	free(members);
}

static void watch_resolve(struct tg_bpf_watch *w, const struct tg_bpf_prog *p,
			  const struct pending_load *l)
{
	if (l)
		watch_record_loader(w, p, l);
	if (p->status == TG_BPF_UNKNOWN)
		watch_emit(w, p, l);
}

/* New programs since the last scan join the ones awaiting their event. */
static void watch_scan(struct tg_bpf_watch *w)
{
	uint32_t id = w->last_id;
	int64_t now = clock_ns(CLOCK_MONOTONIC);

	while (!bpf_prog_get_next_id(id, &id)) {
		struct new_prog *np;
		int fd;

		w->last_id = id;
		if (w->n_progs >= WATCH_MAX)
			break; /* resolved at the next tick */
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;
		np = &w->progs[w->n_progs];
		if (!tg_bpf_prog_read(fd, &np->p)) {
			free(np->p.map_ids);
			np->p.map_ids = NULL;
			np->p.n_map_ids = 0;
			np->p.status = tg_bpf_classify(&w->ref, w->allow, w->n_allow, np->p.name,
						       np->p.tag);
			np->seen_ns = now;
			w->n_progs++;
		}
		close(fd);
	}
}

/* Pairs events with programs: same name and type, the program's load time nearest before
 * the event (the event is the syscall's return). */
static void watch_match(struct tg_bpf_watch *w)
{
	for (size_t i = 0; i < w->n_pend;) {
		struct pending_load *l = &w->pend[i];
		size_t best = SIZE_MAX;
		int64_t best_d = INT64_MAX;

		for (size_t j = 0; j < w->n_progs; j++) {
			const struct tg_bpf_prog *p = &w->progs[j].p;
			int64_t d = l->ev_boot_ns - (int64_t)p->load_time_ns;

			if (p->type != l->type || strncmp(p->name, l->name, sizeof(p->name)))
				continue;
			if (d < -1000000)
				continue; /* loaded after the event's syscall returned */
			if (d < 0)
				d = -d;
			if (d < best_d) {
				best_d = d;
				best = j;
			}
		}
		if (best == SIZE_MAX) {
			i++;
			continue;
		}
		watch_resolve(w, &w->progs[best].p, l);
		w->progs[best] = w->progs[--w->n_progs];
		w->pend[i] = w->pend[--w->n_pend];
	}
}

void tg_bpf_watch_event(struct tg_bpf_watch *w, const struct tg_rt_event *e, const char *tenant)
{
	struct pending_load *l;
	int64_t off;

	if (!w || !e || e->type != TG_RT_BPF)
		return;
	if (e->tgid == (uint32_t)w->self || e->arg[1] < 0)
		return; /* the agent's own loads; a load that failed made no program */
	if (w->n_pend >= WATCH_MAX) {
		tg_bpf_watch_tick(w);
		if (w->n_pend >= WATCH_MAX)
			return;
	}
	off = clock_ns(CLOCK_BOOTTIME) - clock_ns(CLOCK_MONOTONIC);
	l = &w->pend[w->n_pend++];
	memset(l, 0, sizeof(*l));
	l->tgid = e->tgid;
	l->pid = e->pid;
	l->ppid = e->ppid;
	l->uid = e->uid;
	l->type = (uint32_t)e->arg[0];
	snprintf(l->comm, sizeof(l->comm), "%.*s", (int)sizeof(e->comm), e->comm);
	snprintf(l->name, sizeof(l->name), "%.*s", (int)sizeof(l->name) - 1, e->path);
	if (tenant)
		snprintf(l->tenant, sizeof(l->tenant), "%s", tenant);
	l->ev_boot_ns = (int64_t)e->time_ns + off;
	l->seen_ns = clock_ns(CLOCK_MONOTONIC);
	watch_scan(w);
	watch_match(w);
}

void tg_bpf_watch_tick(struct tg_bpf_watch *w)
{
	int64_t now;

	if (!w)
		return;
	watch_scan(w);
	watch_match(w);
	now = clock_ns(CLOCK_MONOTONIC);
	/* programs no event explained: the agent's own, or events lost or not monitored */
	for (size_t j = 0; j < w->n_progs;) {
		if (now - w->progs[j].seen_ns < WATCH_GRACE_NS) {
			j++;
			continue;
		}
		watch_resolve(w, &w->progs[j].p, NULL);
		w->progs[j] = w->progs[--w->n_progs];
	}
	/* loads whose program was gone before it could be read */
	for (size_t i = 0; i < w->n_pend;) {
		if (now - w->pend[i].seen_ns < WATCH_GRACE_NS) {
			i++;
			continue;
		}
		watch_emit(w, NULL, &w->pend[i]);
		w->pend[i] = w->pend[--w->n_pend];
	}
}

/* Keeps the cached loaders of the programs still loaded (same id and load time). */
static void prune_loaders(const char *path)
{
	char line[256], tmp[600];
	struct loader l;
	FILE *in, *out;
	int fd;

	in = fopen(path, "re");
	if (!in)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!out) {
		if (fd >= 0)
			close(fd);
		fclose(in);
		return;
	}
	while (fgets(line, sizeof(line), in)) {
		struct tg_bpf_prog p;
		int pfd;

		if (!loader_parse(line, &l))
			continue;
		pfd = bpf_prog_get_fd_by_id(l.id);
		if (pfd < 0)
			continue;
		if (!tg_bpf_prog_read(pfd, &p) && p.load_time_ns == l.load_time_ns)
			loader_line(out, &l);
		free(p.map_ids);
		close(pfd);
	}
	fclose(in);
	if (fclose(out) || rename(tmp, path))
		unlink(tmp);
}

void tg_bpf_watch_set_allowlist(struct tg_bpf_watch *w, const struct tg_config *cfg)
{
	if (!w)
		return;
	w->allow = cfg->runtime.bpf_allowlist;
	w->n_allow = cfg->runtime.n_bpf_allowlist;
}

int tg_bpf_watch_open(const struct tg_config *cfg, struct tg_events *ev, struct tg_bpf_watch **out)
{
	struct tg_bpf_watch *w;
	uint32_t id = 0;
	int err;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->pend = calloc(WATCH_MAX, sizeof(*w->pend));
	w->progs = calloc(WATCH_MAX, sizeof(*w->progs));
	w->audit_path = strdup(cfg->audit_path ? cfg->audit_path : TG_DEFAULT_AUDIT);
	if (!w->pend || !w->progs || !w->audit_path) {
		tg_bpf_watch_close(w);
		return -ENOMEM;
	}
	w->ev = ev;
	w->self = getpid();
	tg_bpf_watch_set_allowlist(w, cfg);
	/* before the scan starts: these loads are the agent's own */
	err = tg_bpf_ref_embedded(&w->ref);
	if (!err) {
		err = tg_bpf_ref_write(cfg->run_dir, &w->ref);
		if (err)
			fprintf(stderr, "tollgate: cannot write %s/%s: %s\n", cfg->run_dir,
				TG_BPF_KNOWN_FILE, strerror(-err));
	}
	if (err) {
		tg_bpf_watch_close(w);
		return err;
	}
	snprintf(w->loaders_path, sizeof(w->loaders_path), "%s/%s", cfg->run_dir,
		 TG_BPF_LOADERS_FILE);
	prune_loaders(w->loaders_path);
	/* programs loaded before the agent are listed by bpf-inventory, not reported */
	while (!bpf_prog_get_next_id(id, &id))
		w->last_id = id;
	*out = w;
	return 0;
}

void tg_bpf_watch_close(struct tg_bpf_watch *w)
{
	if (!w)
		return;
	tg_bpf_ref_free(&w->ref);
	free(w->pend);
	free(w->progs);
	free(w->audit_path);
	free(w);
}
