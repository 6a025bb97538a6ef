/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tenant cgroups: the cgroup programs (bpf/cgroup.bpf.c) attached to each tenant's cgroup
 * v2 directories, and tg_cgroups (cgroup id -> tenant) for them.
 */
#ifndef TG_CGROUPS_H
#define TG_CGROUPS_H

#include <stdbool.h>

#include "apply.h"
#include "config.h"
#include "datapath.h"

/* Resolves every tenant's cgroups under the cgroup2 mount, records them in tg_cgroups
 * and attaches the cgroup programs (replacing Tollgate's older ones). A cgroup that does
 * not exist yet is reported and skipped. Returns 0 or a negative errno. */
int tg_cgroups_apply(struct tg_datapath *dp, const struct tg_config *cfg,
		     const struct tg_applied *ap);
/* Detaches Tollgate's programs from every cgroup listed in tg_cgroups (stop --purge). */
int tg_cgroups_detach_all(const struct tg_maps *m);

#endif /* TG_CGROUPS_H */
