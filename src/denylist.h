/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Deny lists and segmentation exceptions as the kernel reads them: tg_deny4/6 (LPM on
 * tenant id and destination prefix; tenant 0 = the default list) and tg_peers.
 */
#ifndef TG_DENYLIST_H
#define TG_DENYLIST_H

#include "apply.h"
#include "config.h"
#include "datapath.h"

/* Brings tg_deny4, tg_deny6 and tg_peers to the configuration: every prefix carries the
 * rules of the shorter prefixes that cover it (so the longest match is enough), stale
 * entries are removed after the new ones are in. Returns 0 or a negative errno. */
int tg_denylist_apply(const struct tg_maps *m, const struct tg_config *cfg,
		      const struct tg_applied *ap);

#endif /* TG_DENYLIST_H */
