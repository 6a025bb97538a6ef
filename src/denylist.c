// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Deny lists and segmentation exceptions into the kernel's tries (docs/isolation.md).
 */
#include <errno.h>

#include "denylist.h"

int tg_denylist_apply(const struct tg_maps *m, const struct tg_config *cfg,
		      const struct tg_applied *ap)
{
	(void)m;
	(void)cfg;
	(void)ap;
	return 0; /* TODO(isolation) */
}
