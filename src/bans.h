/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Bans: source prefixes the uplink guard drops (tg_bans4/6). `tollgate block` adds them,
 * the SYN-flood guard adds its own in the kernel; a ban with a TTL stops matching by
 * itself when it expires (the kernel compares), and the agent sweeps expired entries out
 * and records each in the audit log.
 */
#ifndef TG_BANS_H
#define TG_BANS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "datapath.h"

struct tg_ban_entry {
	struct tg_cidr cidr;
	struct tg_ban ban;
};

/* CLOCK_MONOTONIC in ns: the clock of tg_ban.expires_ns. */
uint64_t tg_mono_ns(void);

/* Bans c (host bits must be zero) for ttl_ms (0 = until unblocked), replacing a ban of
 * the same prefix. *expires_ns gets the expiry written (0 = none). */
int tg_ban_add(const struct tg_maps *m, const struct tg_cidr *c, uint64_t ttl_ms, uint8_t origin,
	       uint32_t rule, uint64_t *expires_ns);
/* Lifts the ban of exactly c: 0, or -ENOENT when there is none. */
int tg_ban_del(const struct tg_maps *m, const struct tg_cidr *c);
/* Every ban, expired ones included (*n entries, freed by the caller). */
int tg_bans_list(const struct tg_maps *m, struct tg_ban_entry **out, size_t *n);
/* Removes the bans expired at now_ns; cb (may be NULL) sees each removed one. Returns
 * how many were removed, or a negative errno. */
int tg_bans_sweep(const struct tg_maps *m, uint64_t now_ns,
		  void (*cb)(const struct tg_ban_entry *e, void *ctx), void *ctx);
/* "block", "syn_flood", "signature", "rate_limit" or "unknown". */
const char *tg_ban_origin_name(uint8_t origin);

#endif /* TG_BANS_H */
