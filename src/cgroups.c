// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Tenant cgroups: attach the cgroup programs, fill tg_cgroups (docs/isolation.md,
 * "Cgroup tenants").
 *
 * A cgroup's id is its directory's inode number in the cgroup2 filesystem (the kernfs
 * node id, what bpf_get_current_cgroup_id() returns), and its level is its depth below
 * the cgroup2 root (what bpf_get_current_ancestor_cgroup_id() walks).
 *
 * Programs are attached with BPF_F_ALLOW_MULTI, which stays in place after the agent
 * exits (like the tc filters) and is inherited by every descendant cgroup. So they are
 * attached only to the outermost configured cgroups: a configured cgroup inside another
 * one already runs them, and running them twice would take two tokens for one packet.
 * The programs find the tenant by the deepest configured ancestor, so an inner cgroup
 * still belongs to its own tenant. A new program is attached before the old one (any
 * program named tg_* of the same attach type) is detached, so no socket call goes
 * unchecked across a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroups.h"
#include "mounts.h"

#define TG_CGROUP2_MAGIC 0x63677270 /* CGROUP2_SUPER_MAGIC */
#define TG_FILEID_KERNFS 0xfe	    /* file handle type of kernfs: the 64-bit node id */
#define TG_MAX_ATTACHED 64	    /* programs listed per cgroup and attach type */

/* Every attach type the cgroup programs use: what purge and stale cleanup look at. */
static const enum bpf_attach_type cg_types[] = {
	BPF_CGROUP_INET4_CONNECT,     /* tg_connect4 */
	BPF_CGROUP_INET6_CONNECT,     /* tg_connect6 */
	BPF_CGROUP_UDP4_SENDMSG,      /* tg_sendmsg4 */
	BPF_CGROUP_UDP6_SENDMSG,      /* tg_sendmsg6 */
	BPF_CGROUP_SOCK_OPS,	      /* tg_sockops */
	BPF_CGROUP_INET_SOCK_CREATE,  /* tg_sock_create */
	BPF_CGROUP_INET_SOCK_RELEASE, /* tg_sock_release */
	BPF_CGROUP_INET_EGRESS,	      /* tg_skb_egress */
	BPF_CGROUP_INET_INGRESS,      /* tg_skb_ingress */
};
#define N_CG_TYPES (sizeof(cg_types) / sizeof(cg_types[0]))

struct cg_want {
	char path[512]; /* normalised: "/a/b" */
	uint64_t id;
	uint32_t tenant, level;
	const char *tenant_name;
	int fd;
	bool top; /* no configured ancestor: the programs are attached here */
};

/* "/a//b/" -> "/a/b" and its depth; the root, "." and ".." are refused. */
static int normalise(const char *in, char *out, size_t len, uint32_t *level)
{
	size_t o = 0;

	*level = 0;
	if (in[0] != '/')
		return -EINVAL;
	while (*in) {
		size_t n;

		while (*in == '/')
			in++;
		n = strcspn(in, "/");
		if (!n)
			break;
		if ((n == 1 && in[0] == '.') || (n == 2 && in[0] == '.' && in[1] == '.'))
			return -EINVAL;
		if (o + n + 2 > len)
			return -ENAMETOOLONG;
		out[o++] = '/';
		memcpy(out + o, in, n);
		o += n;
		in += n;
		(*level)++;
	}
	out[o] = '\0';
	if (!*level)
		return -EINVAL; /* the root cgroup: every process on the host */
	return *level > TG_MAX_CGROUP_LEVEL ? -ERANGE : 0;
}

/* Is a an ancestor of b (both normalised)? */
static bool is_ancestor(const char *a, const char *b)
{
	size_t n = strlen(a);

	return !strncmp(a, b, n) && b[n] == '/';
}

static int prog_id(int fd, uint32_t *id, char name[BPF_OBJ_NAME_LEN])
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*id = info.id;
	if (name)
		memcpy(name, info.name, BPF_OBJ_NAME_LEN);
	return 0;
}

/* The programs attached directly to cg_fd at type (not inherited ones). */
static int query(int cg_fd, enum bpf_attach_type type, uint32_t *ids, uint32_t *n)
{
	LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = *n);

	if (bpf_prog_query_opts(cg_fd, type, &q))
		return -errno;
	*n = q.prog_cnt;
	return 0;
}

/* Detaches every program named tg_* at type from cg_fd, except keep (0: none).
 * Returns how many went, or a negative errno. */
static int detach_ours(int cg_fd, enum bpf_attach_type type, uint32_t keep)
{
	uint32_t ids[TG_MAX_ATTACHED], n = TG_MAX_ATTACHED;
	int err, gone = 0;

	err = query(cg_fd, type, ids, &n);
	if (err)
		return err;
	for (uint32_t i = 0; i < n && i < TG_MAX_ATTACHED; i++) {
		char name[BPF_OBJ_NAME_LEN];
		uint32_t id;
		int fd;

		if (ids[i] == keep)
			continue;
		fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue; /* gone meanwhile */
		if (!prog_id(fd, &id, name) && !strncmp(name, "tg_", 3)) {
			if (bpf_prog_detach2(fd, cg_fd, type) && errno != ENOENT) {
				err = -errno;
				close(fd);
				return err;
			}
			gone++;
		}
		close(fd);
	}
	return gone;
}

static int detach_all_types(int cg_fd)
{
	int err, gone = 0;

	for (size_t t = 0; t < N_CG_TYPES; t++) {
		err = detach_ours(cg_fd, cg_types[t], 0);
		if (err < 0)
			return err;
		gone += err;
	}
	return gone;
}

/* Attaches every cgroup program to cg_fd (once), then detaches older ones. When one
 * cannot be attached (another program holds that hook exclusively), the ones this call
 * attached are taken off again, and the cgroup stays as it was. */
static int attach_all(struct tg_datapath *dp, int cg_fd)
{
	struct {
		int fd;
		enum bpf_attach_type type;
		uint32_t id;
		bool added;
	} p[TG_CG_PROG_MAX] = {};
	int w, err = 0;

	for (w = 0; w < TG_CG_PROG_MAX && !err; w++) {
		uint32_t ids[TG_MAX_ATTACHED], n = TG_MAX_ATTACHED;
		bool present = false;

		p[w].fd = tg_datapath_cgroup_prog(dp, w, &p[w].type);
		err = p[w].fd < 0 ? p[w].fd : prog_id(p[w].fd, &p[w].id, NULL);
		if (!err)
			err = query(cg_fd, p[w].type, ids, &n);
		for (uint32_t i = 0; !err && i < n && i < TG_MAX_ATTACHED; i++)
			present |= ids[i] == p[w].id;
		if (!err && !present) {
			if (bpf_prog_attach(p[w].fd, cg_fd, p[w].type, BPF_F_ALLOW_MULTI))
				err = -errno;
			else
				p[w].added = true;
		}
	}
	if (err) {
		for (w = 0; w < TG_CG_PROG_MAX; w++) {
			if (p[w].added)
				bpf_prog_detach2(p[w].fd, cg_fd, p[w].type);
		}
		return err;
	}
	for (w = 0; w < TG_CG_PROG_MAX; w++) {
		err = detach_ours(cg_fd, p[w].type, p[w].id);
		if (err < 0)
			return err;
	}
	return 0;
}

/* A cgroup directory by its id, through the kernfs file handle. */
static int open_by_id(int mnt_fd, uint64_t id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	int fd;

	h.fh.handle_bytes = sizeof(uint64_t);
	h.fh.handle_type = TG_FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mnt_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The ids tg_cgroups holds now. */
static int read_ids(int map_fd, uint64_t **out, size_t *n)
{
	uint64_t key, next, *prev = NULL, *ids;
	size_t cap = 64;

	*n = 0;
	ids = malloc(cap * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		if (*n == cap) {
			uint64_t *bigger = realloc(ids, 2 * cap * sizeof(*ids));

			if (!bigger) {
				free(ids);
				return -ENOMEM;
			}
			ids = bigger;
			cap *= 2;
		}
		ids[(*n)++] = next;
		key = next;
		prev = &key;
	}
	*out = ids;
	return 0;
}

/* Resolves one configured path; 1 when it is usable, 0 when skipped (reported). */
static int resolve(int mnt_fd, const char *tenant, const char *path, struct cg_want *w)
{
	struct statfs sf;
	struct stat st;
	int err;

	err = normalise(path, w->path, sizeof(w->path), &w->level);
	if (err) {
		fprintf(stderr, "tollgate: warning: tenant %s: cgroup %s: %s: skipped\n", tenant,
			path,
			err == -ERANGE ? "nested too deep" : "not a usable path below the root");
		return 0;
	}
	w->fd = openat(mnt_fd, w->path + 1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->fd < 0) {
		fprintf(stderr, "tollgate: warning: tenant %s: cgroup %s: %s: skipped\n", tenant,
			w->path, errno == ENOENT ? "does not exist (yet)" : strerror(errno));
		return 0;
	}
	if (fstatfs(w->fd, &sf) || sf.f_type != TG_CGROUP2_MAGIC || fstat(w->fd, &st)) {
		fprintf(stderr,
			"tollgate: warning: tenant %s: cgroup %s: not a cgroup v2 directory: "
			"skipped\n",
			tenant, w->path);
		close(w->fd);
		w->fd = -1;
		return 0;
	}
	w->id = st.st_ino;
	return 1;
}

int tg_cgroups_apply(struct tg_datapath *dp, const struct tg_config *cfg,
		     const struct tg_applied *ap)
{
	const struct tg_maps *m = tg_datapath_maps(dp);
	struct cg_want *want = NULL;
	size_t n_paths = 0, n = 0, n_old = 0, attached = 0;
	uint64_t *old = NULL;
	char mnt[512];
	int mnt_fd = -1, err;

	for (size_t i = 0; i < cfg->n_tenants; i++)
		n_paths += cfg->tenants[i].n_cgroups;
	err = read_ids(m->cgroups, &old, &n_old);
	if (err)
		return err;
	if (!n_paths && !n_old)
		goto out;
	err = tg_cgroup2_mount(mnt, sizeof(mnt));
	if (!err) {
		mnt_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mnt_fd < 0)
			err = -errno;
	}
	if (err && !n_paths) {
		fprintf(stderr, "tollgate: warning: no cgroup2 mount: the cgroups of an older "
				"configuration keep Tollgate's programs\n");
		err = 0;
		goto out;
	}
	if (err) {
		fprintf(stderr, "tollgate: tenant cgroups need cgroup v2, and no cgroup2 mount "
				"was found in /proc/self/mounts\n");
		goto out;
	}

	want = calloc(n_paths ? n_paths : 1, sizeof(*want));
	if (!want) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct tg_tenant_conf *t = &cfg->tenants[i];

		for (size_t j = 0; j < t->n_cgroups; j++) {
			struct cg_want *w = &want[n];
			bool dup = false;

			if (!resolve(mnt_fd, t->name, t->cgroups[j], w))
				continue;
			for (size_t k = 0; k < n; k++)
				dup |= want[k].id == w->id;
			if (dup) {
				fprintf(stderr,
					"tollgate: warning: tenant %s: cgroup %s is listed "
					"already: skipped\n",
					t->name, w->path);
				close(w->fd);
				continue;
			}
			w->tenant = ap->tenant_ids[i];
			w->tenant_name = t->name;
			n++;
		}
	}
	if (n > TG_MAX_CGROUPS) {
		fprintf(stderr, "tollgate: %zu tenant cgroups, at most %d are supported\n", n,
			TG_MAX_CGROUPS);
		err = -E2BIG;
		goto out;
	}

	/* The map first, so that a program finds its tenant from the moment it runs. */
	for (size_t i = 0; i < n; i++) {
		struct tg_cgroup_val v = { .tenant_id = want[i].tenant, .level = want[i].level };

		want[i].top = true;
		for (size_t k = 0; k < n; k++) {
			if (k != i && is_ancestor(want[k].path, want[i].path))
				want[i].top = false;
		}
		if (bpf_map_update_elem(m->cgroups, &want[i].id, &v, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		err = want[i].top ? attach_all(dp, want[i].fd) : detach_all_types(want[i].fd);
		if (err < 0) {
			fprintf(stderr, "tollgate: tenant %s: cannot %s cgroup %s: %s%s\n",
				want[i].tenant_name, want[i].top ? "attach to" : "detach from",
				want[i].path, strerror(-err),
				err == -EPERM && want[i].top
					? " (another program holds one of its hooks exclusively, "
					  "without BPF_F_ALLOW_MULTI)"
					: "");
			goto out;
		}
		attached += want[i].top;
	}
	err = 0;

	/* Cgroups no longer configured: programs off, entries out. */
	for (size_t i = 0; i < n_old; i++) {
		bool keep = false;
		int fd;

		for (size_t k = 0; k < n && !keep; k++)
			keep = want[k].id == old[i];
		if (keep)
			continue;
		fd = open_by_id(mnt_fd, old[i]);
		if (fd < 0 && fd != -ESTALE && fd != -ENOENT) {
			fprintf(stderr,
				"tollgate: cannot open cgroup id %llu, no longer configured: %s\n",
				(unsigned long long)old[i], strerror(-fd));
			err = fd;
			continue;
		}
		if (fd >= 0) {
			int e = detach_all_types(fd);

			close(fd);
			if (e < 0) {
				fprintf(stderr,
					"tollgate: cannot detach from cgroup id %llu, no longer "
					"configured: %s\n",
					(unsigned long long)old[i], strerror(-e));
				err = e;
				continue; /* its entry stays: it says where the programs are */
			}
		}
		bpf_map_delete_elem(m->cgroups, &old[i]);
	}
	if (n_paths)
		fprintf(stderr,
			"tollgate: tenant cgroups: %zu of %zu found, programs attached to %zu\n", n,
			n_paths, attached);
out:
	for (size_t i = 0; i < n; i++)
		close(want[i].fd);
	free(want);
	free(old);
	if (mnt_fd >= 0)
		close(mnt_fd);
	return err;
}

int tg_cgroups_detach_all(const struct tg_maps *m)
{
	size_t n_ids = 0, done = 0;
	uint64_t *ids = NULL;
	char mnt[512];
	int mnt_fd, err;

	err = read_ids(m->cgroups, &ids, &n_ids);
	if (err || !n_ids) {
		free(ids);
		return err;
	}
	err = tg_cgroup2_mount(mnt, sizeof(mnt));
	if (err) {
		free(ids);
		fprintf(stderr,
			"tollgate: no cgroup2 mount: cannot detach from the tenant cgroups\n");
		return err;
	}
	mnt_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mnt_fd < 0) {
		err = -errno;
		free(ids);
		return err;
	}
	for (size_t i = 0; i < n_ids; i++) {
		int fd = open_by_id(mnt_fd, ids[i]), e;

		if (fd == -ESTALE || fd == -ENOENT)
			continue; /* the cgroup is gone, and its programs with it */
		if (fd < 0) {
			fprintf(stderr, "tollgate: cannot open cgroup id %llu: %s\n",
				(unsigned long long)ids[i], strerror(-fd));
			err = fd;
			continue;
		}
		e = detach_all_types(fd);
		close(fd);
		if (e < 0) {
			fprintf(stderr, "tollgate: cannot detach from cgroup id %llu: %s\n",
				(unsigned long long)ids[i], strerror(-e));
			err = e;
		} else if (e > 0) {
			done++;
		}
	}
	printf("tollgate: detached from %zu cgroups\n", done);
	close(mnt_fd);
	free(ids);
	return err;
}
