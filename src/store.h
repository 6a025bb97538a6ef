/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The billing store (SQLite, WAL). Harvests carry cumulative counters; the store keeps
 * the last cumulative value it billed (the cursor) in the same transaction as the usage
 * rows, so a harvest that is replayed, or a crash at any instant, never bills twice and
 * never loses a byte.
 */
#ifndef TG_STORE_H
#define TG_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tollgate.h"

struct tg_store;

/* One billing cell (tenant, class) and direction, cumulative since the counters' epoch
 * began. Cursors are keyed by the ids (the cell); usage rows by the names. */
struct tg_sample {
	uint32_t tenant_id;
	char tenant[TG_NAME_MAX];
	uint32_t class_id;
	char class_name[TG_CLASS_NAME_MAX]; /* "internet" for class 0 */
	int dir;			    /* enum tg_dir */
	uint64_t packets;
	uint64_t bytes;
};

struct tg_harvest {
	const char *node;
	uint64_t epoch[2];	/* tg_state.epoch: cursors belong to one epoch */
	int64_t interval_start; /* unix seconds; the interval the deltas are billed to */
	uint32_t interval;	/* seconds */
	const struct tg_sample *samples;
	size_t n_samples;
};

/* Opens (creating the file, its directory and the schema when missing; migrating an
 * older schema in one transaction). Read-only opens fail with -ENOENT when the file
 * does not exist and never migrate. A schema newer than this code: -EPROTO. */
int tg_store_open(const char *path, int readonly, struct tg_store **out);
void tg_store_close(struct tg_store *s);

/*
 * PostgreSQL: a path of postgresql://... or postgres://... opens the PostgreSQL store
 * (store_pg.h) with the same calls. tg_store_open_spooled() is the agent's open: with a
 * PostgreSQL store, harvests go through the local spool file SPOOL (spool.h) and the open
 * succeeds while the database is down; for SQLite it is tg_store_open(path, 0, out).
 * tg_store_tick() retries a spool that could not be drained (call it every second or so;
 * it backs off by itself); a no-op for SQLite.
 */
bool tg_store_is_pg(const char *path);
int tg_store_open_spooled(const char *path, const char *spool, struct tg_store **out);
int tg_store_tick(struct tg_store *s);
size_t tg_store_spooled(const struct tg_store *s); /* harvests waiting in the spool */
/* The path, or the URL without its password, for messages. */
void tg_store_display(const char *path, char *buf, size_t len);
/* Bills the deltas of h in one transaction. Returns 0 or a negative errno;
 * *billed_bytes (optional) receives the sum of byte deltas billed. */
int tg_store_harvest(struct tg_store *s, const struct tg_harvest *h, uint64_t *billed_bytes);

struct tg_bill_row {
	char node[64];
	char tenant[TG_NAME_MAX];
	char class_name[TG_CLASS_NAME_MAX];
	int dir;
	int64_t start, end; /* unix seconds */
	uint64_t bytes, packets;
};

struct tg_bill_query {
	const char *tenant;	/* NULL = all */
	int64_t from, to;	/* interval start >= from and < to; INT64_MIN/MAX for open ends */
	const char *class_name; /* NULL = all */
	const char *node;	/* NULL = all */
};

/* Rows ordered by start, tenant, class, node, direction. Caller frees *rows. A version 1
 * file opened read-only (not migrated) reads as class "internet". */
int tg_store_query(struct tg_store *s, const struct tg_bill_query *q, struct tg_bill_row **rows,
		   size_t *n);

enum tg_format { TG_FMT_TABLE, TG_FMT_CSV, TG_FMT_JSON };
const char *tg_dir_name(int dir); /* "ingress", "egress" */
void tg_bill_print(FILE *out, const struct tg_bill_row *rows, size_t n, enum tg_format fmt);

/* RFC 3339 (2026-11-21T02:00:00Z, offsets allowed), a date (2026-11-21, UTC midnight),
 * or @UNIXSECONDS. Returns 0 or -EINVAL. */
int tg_parse_time(const char *s, int64_t *out);
void tg_format_time(int64_t t, char *buf, size_t len); /* RFC 3339 UTC, Z suffix */

#endif /* TG_STORE_H */
