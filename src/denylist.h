/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Deny lists and segmentation exceptions as the kernel reads them: tg_deny4/6 (LPM on
 * tenant id and destination prefix; tenant 0 = the default list) and tg_peers.
 */
#ifndef TG_DENYLIST_H
#define TG_DENYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "config.h"
#include "datapath.h"

/* One entry of tg_deny4 or tg_deny6: key and the rules it carries. */
struct tg_deny_entry {
	unsigned char key[sizeof(struct tg_deny6_key)]; /* first: the entries sort by key;
							 * zero-padded for IPv4 */
	int family; /* AF_INET (key is a struct tg_deny4_key) or AF_INET6 (tg_deny6_key) */
	struct tg_deny_rules rules;
};

/* Compiles one deny list (list = tenant id, 0 for the default list) into one entry per
 * distinct prefix, into out (room for n entries: never more are needed). Each entry
 * carries its own rules and those of every shorter prefix of the list that covers it, so
 * the longest match alone decides; rules another rule of the entry already covers are
 * left out. who names the list in messages. Returns the number of entries, or -E2BIG
 * when an entry would need more than TG_DENY_RULES rules (msg says which prefix). */
int tg_deny_compile(uint32_t list, const char *who, const struct tg_deny_conf *rules, size_t n,
		    struct tg_deny_entry *out, char *msg, size_t msg_len);

/* The same check without the result, for configuration validation: 0, or -E2BIG with
 * the reason in msg, or -ENOMEM. */
int tg_deny_check(const char *who, const struct tg_deny_conf *rules, size_t n, char *msg,
		  size_t msg_len);

/* Brings tg_deny4, tg_deny6 and tg_peers to the configuration: every prefix carries the
 * rules of the shorter prefixes that cover it (so the longest match is enough), stale
 * entries are removed after the new ones are in. Nothing is written when a list does not
 * compile. Returns 0 or a negative errno (after a message on stderr). */
int tg_denylist_apply(const struct tg_maps *m, const struct tg_config *cfg,
		      const struct tg_applied *ap);

#endif /* TG_DENYLIST_H */
