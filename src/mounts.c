// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A fresh machine may have neither bpffs nor tracefs mounted (see
 * ../shared/ENVIRONMENT.md). Like Cilium, the agent mounts them itself, and it keeps a
 * record so that `tollgate stop --purge` takes away what Tollgate added and nothing else.
 */
#include <dirent.h>
#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "mounts.h"

#define TG_BPF_FS_MAGIC 0xcafe4a11
#define TG_TRACEFS_MAGIC 0x74726163

struct fs_kind {
	const char *type, *path;
	long magic;
	const char *opts;
};

static const struct fs_kind kinds[] = {
	{ "bpf", TG_BPFFS_PATH, TG_BPF_FS_MAGIC, "mode=0700" },
	{ "tracefs", TG_TRACEFS_PATH, TG_TRACEFS_MAGIC, NULL },
};

int tg_mkdir_p(const char *path, unsigned mode)
{
	char buf[512];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static int is_mounted(const struct fs_kind *k)
{
	struct statfs sf;

	if (statfs(k->path, &sf))
		return 0;
	return (long)sf.f_type == k->magic;
}

int tg_mounts_ensure(const char *run_dir)
{
	char record[512];
	FILE *f = NULL;
	int err;

	err = tg_mkdir_p(run_dir, 0700);
	if (err) {
		fprintf(stderr, "tollgate: cannot create %s: %s\n", run_dir, strerror(-err));
		return err;
	}
	snprintf(record, sizeof(record), "%s/mounts", run_dir);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct fs_kind *k = &kinds[i];

		if (is_mounted(k))
			continue;
		if (mount(k->type, k->path, k->type, 0, k->opts)) {
			err = -errno;
			fprintf(stderr, "tollgate: cannot mount %s on %s: %s\n", k->type, k->path,
				strerror(-err));
			break;
		}
		if (!f)
			f = fopen(record, "a");
		if (f)
			fprintf(f, "%s %s\n", k->type, k->path);
		fprintf(stderr, "tollgate: mounted %s on %s\n", k->type, k->path);
	}
	if (f && fclose(f) && !err)
		err = -errno;
	return err;
}

static int dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		/* maps.debug and progs.debug come with every bpffs (bpf_preload). */
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "maps.debug") && strcmp(e->d_name, "progs.debug")) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

int tg_mounts_undo(const char *run_dir)
{
	char record[512], type[32], path[256];
	int err = 0;
	FILE *f;

	snprintf(record, sizeof(record), "%s/mounts", run_dir);
	f = fopen(record, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fscanf(f, "%31s %255s", type, path) == 2) {
		if (!strcmp(type, "bpf") && !dir_empty(path)) {
			fprintf(stderr,
				"tollgate: leaving bpffs on %s mounted: others pinned there\n",
				path);
			continue;
		}
		if (umount(path) && errno != EINVAL) {
			fprintf(stderr, "tollgate: cannot unmount %s: %s\n", path, strerror(errno));
			err = -errno;
		}
	}
	fclose(f);
	if (!err)
		remove(record);
	return err;
}

int tg_cgroup2_mount(char *buf, size_t len)
{
	struct mntent ent, *m;
	char line[4096];
	int err = -ENOENT;
	FILE *f;

	f = setmntent("/proc/self/mounts", "re");
	if (!f)
		return -errno;
	while ((m = getmntent_r(f, &ent, line, sizeof(line)))) {
		if (strcmp(m->mnt_type, "cgroup2"))
			continue;
		err = (size_t)snprintf(buf, len, "%s", m->mnt_dir) < len ? 0 : -ENAMETOOLONG;
		break;
	}
	endmntent(f);
	return err;
}
