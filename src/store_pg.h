/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The PostgreSQL billing store (libpq), behind the tg_store interface of store.h: many
 * nodes share one database; rows are keyed by node, boot epoch, tenant, class, direction
 * and interval start; cursors live in the same transaction as the usage they bill, as in
 * the SQLite store. With a spool (the agent), every harvest is first appended to the local
 * spool file and the spool is then drained into the database; while the database is down
 * the spool keeps growing and tg_pg_tick() retries. docs/billing.md has the schema.
 */
#ifndef TG_STORE_PG_H
#define TG_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct tg_pg;

/* url: postgresql://... or postgres://... Read-only opens (`tollgate bill`) need the
 * database now and a schema in it (-ENODATA without one). Writers without a spool need
 * the database too; with spool (a path) the open succeeds while the database is down. */
int tg_pg_open(const char *url, int readonly, const char *spool, struct tg_pg **out);
void tg_pg_close(struct tg_pg *pg);
int tg_pg_harvest(struct tg_pg *pg, const struct tg_harvest *h, uint64_t *billed_bytes);
int tg_pg_query(struct tg_pg *pg, const struct tg_bill_query *q, struct tg_bill_row **rows,
		size_t *n);
/* Drains the spool when it holds records and a retry is due; 0, -EAGAIN (not yet, or the
 * database is still unavailable) or a negative errno. */
int tg_pg_tick(struct tg_pg *pg);
/* Records waiting in the spool. */
size_t tg_pg_spooled(const struct tg_pg *pg);

/* Checks a URL's syntax with libpq (no connection); 0 or -EINVAL with why (a message). */
int tg_pg_url_check(const char *url, char *why, size_t len);
/* The URL with any password replaced by "***", for messages. */
void tg_pg_url_redact(const char *url, char *buf, size_t len);

#endif /* TG_STORE_PG_H */
