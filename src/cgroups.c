// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Tenant cgroups: attach the cgroup programs, fill tg_cgroups (docs/isolation.md).
 */
#include <errno.h>

#include "cgroups.h"

int tg_cgroups_apply(struct tg_datapath *dp, const struct tg_config *cfg,
		     const struct tg_applied *ap)
{
	(void)dp;
	(void)cfg;
	(void)ap;
	return 0; /* TODO(isolation) */
}

int tg_cgroups_detach_all(const struct tg_maps *m)
{
	(void)m;
	return 0; /* TODO(isolation) */
}
