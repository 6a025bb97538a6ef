/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bpffs and tracefs: mounted when missing, recorded, and undone by `stop --purge`. */
#ifndef TG_MOUNTS_H
#define TG_MOUNTS_H

#define TG_BPFFS_PATH "/sys/fs/bpf"
#define TG_TRACEFS_PATH "/sys/kernel/tracing"

/* Creates run_dir (0700) and mounts what is missing; each mount Tollgate makes is
 * appended to run_dir/mounts so that purge removes exactly those. */
int tg_mounts_ensure(const char *run_dir);
/* Unmounts what run_dir/mounts lists; a bpffs only when it is empty. */
int tg_mounts_undo(const char *run_dir);
int tg_mkdir_p(const char *path, unsigned mode);

#endif /* TG_MOUNTS_H */
