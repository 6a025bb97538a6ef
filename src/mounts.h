/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bpffs and tracefs: mounted when missing, recorded, and undone by `stop --purge`. */
#ifndef TG_MOUNTS_H
#define TG_MOUNTS_H

#include <stddef.h>

#define TG_BPFFS_PATH "/sys/fs/bpf"
#define TG_TRACEFS_PATH "/sys/kernel/tracing"

/* Creates run_dir (0700) and mounts what is missing; each mount Tollgate makes is
 * appended to run_dir/mounts so that purge removes exactly those. */
int tg_mounts_ensure(const char *run_dir);
/* Unmounts what run_dir/mounts lists; a bpffs only when it is empty. */
int tg_mounts_undo(const char *run_dir);
int tg_mkdir_p(const char *path, unsigned mode);
/* The first cgroup v2 mount in /proc/self/mounts (getmntent decodes its escapes), into
 * buf; -ENOENT when there is none. Never assumed: a hybrid host has it at
 * /sys/fs/cgroup/unified, a unified one at /sys/fs/cgroup. */
int tg_cgroup2_mount(char *buf, size_t len);

#endif /* TG_MOUNTS_H */
