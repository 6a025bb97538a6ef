/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Identity history: which tenant held which address (a prefix) when. Every assignment is
 * a row (prefix, tenant, source, valid_from, valid_to) of the table identity_history in a
 * SQLite file: the billing store's file when the store is SQLite, TG_DEFAULT_IDENTITY
 * otherwise. An assignment is valid over [valid_from, valid_to); valid_to is NULL while it
 * is current. Times are unix seconds. `tollgate whois` reads it (docs/identity.md).
 */
#ifndef TG_IDENTITY_H
#define TG_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tollgate.h"

#define TG_DEFAULT_IDENTITY "/var/lib/tollgate/identity.db"
/* How often the agent scans the addresses of tenant interfaces, seconds. */
#define TG_IDENTITY_SCAN_PERIOD 10

enum tg_id_source {
	TG_ID_CONFIG = 0,    /* tenants[].cidrs of the applied configuration */
	TG_ID_INTERFACE = 1, /* a prefix on a tenant's interface (the host's namespace) */
};

struct tg_identity;

/* One assignment wished for (sync) or found (lookup). */
struct tg_id_row {
	struct tg_cidr cidr;
	char tenant[TG_NAME_MAX];
	char iface[TG_IFNAME_MAX]; /* TG_ID_INTERFACE: where it was seen; "" otherwise */
	int source;		   /* enum tg_id_source */
	int64_t valid_from;
	int64_t valid_to; /* INT64_MAX while current */
};

struct tg_id_changes {
	size_t opened, closed, kept;
};

/* The history's file for a billing store path: the store itself when it is a SQLite file
 * (an absolute path), TG_DEFAULT_IDENTITY for any other store (a URL). */
const char *tg_identity_path(const char *store_path);

/* Opens the file (creating it, its directory and the table unless readonly). A read-only
 * open of a file without the table fails with -ENODATA, of a missing file with -ENOENT. */
int tg_identity_open(const char *path, bool readonly, struct tg_identity **out);
void tg_identity_close(struct tg_identity *id);

/* Makes the current rows of SOURCE be exactly want[0..n): current rows not wanted (or
 * wanted for another tenant or interface) are closed at now, wanted rows not current are
 * opened at now, the others are left untouched. One transaction. ch is optional. */
int tg_identity_sync(struct tg_identity *id, int source, const struct tg_id_row *want, size_t n,
		     int64_t now, struct tg_id_changes *ch);
/* sync(TG_ID_CONFIG) with every tenant's configured CIDRs. */
int tg_identity_sync_config(struct tg_identity *id, const struct tg_config *cfg, int64_t now,
			    struct tg_id_changes *ch);
/* sync(TG_ID_INTERFACE) with the global-scope prefixes on the host's interfaces that
 * belong to a tenant (by cfg's interface selectors). */
int tg_identity_scan_interfaces(struct tg_identity *id, const struct tg_config *cfg, int64_t now,
				struct tg_id_changes *ch);

/* The assignment that held ADDR (a full-length prefix) at AT: the longest matching prefix
 * valid at AT; on a tie, config before interface, then the latest valid_from. Returns 0,
 * -ENOENT when none did, or another negative errno. */
int tg_identity_lookup(struct tg_identity *id, const struct tg_cidr *addr, int64_t at,
		       struct tg_id_row *out);

/* An IPv4 or IPv6 address (no prefix length); IPv4-mapped IPv6 reads as IPv4. Returns 0
 * or -EINVAL. */
int tg_identity_parse_addr(const char *s, struct tg_cidr *out);
const char *tg_id_source_name(int source); /* "config", "interface" */

#endif /* TG_IDENTITY_H */
