// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The PostgreSQL billing store (store_pg.h, docs/billing.md).
 *
 * Exactly-once: a harvest carries cumulative counters. In one transaction the store reads
 * the cursors of (node, boot epoch), bills each delta to its interval row and moves the
 * cursors, as the SQLite store does. Spooled harvests are replayed oldest first, all in
 * one transaction, and the spool is cleared only after COMMIT. A crash between COMMIT and
 * the clear replays records whose counters are at or behind the cursors: their deltas are
 * zero or "behind", and a sample behind its cursor is recognised as already billed and
 * skipped (within one boot epoch the kernel's counters only grow, so behind means
 * replayed). Nothing is billed twice and nothing is lost.
 *
 * Counters: cumulative values are uint64 and kept as numeric(20,0) in the cursor table,
 * exactly; deltas above INT64_MAX are "behind" (a counter never grows by 2^63 in one
 * harvest), so usage.bytes and usage.packets are ordinary bigints.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "spool.h"
#include "store_pg.h"

#define PG_SCHEMA_VERSION 1
#define PG_SCHEMA_LOCK 0x746f6c6c /* "toll": the advisory lock of schema creation */
#define RETRY_MIN_S 1
#define RETRY_MAX_S 10

struct tg_pg {
	PGconn *conn;
	char *url;
	char shown[512]; /* the URL without its password */
	bool readonly;
	bool schema_ok; /* checked or created on this connection */
	struct tg_spool *spool;
	int64_t next_try; /* monotonic seconds; 0 = now */
	int backoff;
	bool down; /* the outage has been reported */
	uint64_t billed;
	size_t stale; /* samples found behind their cursor in the last drain */
};

static const char *const dir_names[TG_DIR_MAX] = {
	[TG_DIR_INGRESS] = "ingress",
	[TG_DIR_EGRESS] = "egress",
};

/* CREATE ... IF NOT EXISTS under an advisory lock: agents starting together against an
 * empty database create the schema once. Later versions add migrations here. */
static const char *const schema_sql[] = {
	"CREATE TABLE IF NOT EXISTS tollgate_schema (version integer NOT NULL)",
	"CREATE TABLE IF NOT EXISTS tollgate_usage (\n"
	"\tnode text NOT NULL CHECK (length(node) BETWEEN 1 AND 63),\n"
	"\tboot_epoch text NOT NULL CHECK (length(boot_epoch) = 32),\n"
	"\ttenant text NOT NULL CHECK (length(tenant) > 0),\n"
	"\tclass text NOT NULL CHECK (length(class) > 0),\n"
	"\tdirection text NOT NULL CHECK (direction IN ('ingress', 'egress')),\n"
	"\tinterval_start bigint NOT NULL,\n"
	"\tinterval_end bigint NOT NULL CHECK (interval_end > interval_start),\n"
	"\tbytes bigint NOT NULL CHECK (bytes >= 0),\n"
	"\tpackets bigint NOT NULL CHECK (packets >= 0),\n"
	"\tPRIMARY KEY (node, boot_epoch, tenant, class, direction, interval_start)\n"
	")",
	"CREATE INDEX IF NOT EXISTS tollgate_usage_by_start ON tollgate_usage (interval_start)",
	"CREATE TABLE IF NOT EXISTS tollgate_cursor (\n"
	"\tnode text NOT NULL,\n"
	"\tboot_epoch text NOT NULL CHECK (length(boot_epoch) = 32),\n"
	"\ttenant_id integer NOT NULL CHECK (tenant_id >= 0),\n"
	"\tclass_id integer NOT NULL CHECK (class_id >= 0),\n"
	"\tdirection text NOT NULL CHECK (direction IN ('ingress', 'egress')),\n"
	"\tbytes numeric(20, 0) NOT NULL CHECK (bytes >= 0),\n"
	"\tpackets numeric(20, 0) NOT NULL CHECK (packets >= 0),\n"
	"\tupdated bigint NOT NULL,\n"
	"\tPRIMARY KEY (node, boot_epoch, tenant_id, class_id, direction)\n"
	")",
};

static const char get_cursors_sql[] =
	"SELECT tenant_id, class_id, direction, bytes::text, packets::text FROM tollgate_cursor"
	" WHERE node = $1 AND boot_epoch = $2";

static const char put_cursor_sql[] =
	"INSERT INTO tollgate_cursor (node, boot_epoch, tenant_id, class_id, direction, bytes,"
	" packets, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
	" ON CONFLICT (node, boot_epoch, tenant_id, class_id, direction) DO UPDATE SET"
	" bytes = EXCLUDED.bytes, packets = EXCLUDED.packets, updated = EXCLUDED.updated";

static const char add_usage_sql[] =
	"INSERT INTO tollgate_usage (node, boot_epoch, tenant, class, direction, interval_start,"
	" interval_end, bytes, packets) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
	" ON CONFLICT (node, boot_epoch, tenant, class, direction, interval_start) DO UPDATE"
	" SET bytes = tollgate_usage.bytes + EXCLUDED.bytes,"
	" packets = tollgate_usage.packets + EXCLUDED.packets,"
	" interval_end = GREATEST(tollgate_usage.interval_end, EXCLUDED.interval_end)";

/* Summed over boot epochs (an epoch is how the node's counters restarted, not part of
 * the bill). Ordered as the SQLite store orders, bytewise as SQLite compares text. */
static const char query_sql[] =
	"SELECT node, tenant, class, direction, interval_start, max(interval_end),"
	" sum(bytes)::text, sum(packets)::text FROM tollgate_usage"
	" WHERE ($1::text IS NULL OR tenant = $1) AND ($4::text IS NULL OR class = $4)"
	" AND ($5::text IS NULL OR node = $5)"
	" AND interval_start >= $2::bigint AND interval_start < $3::bigint"
	" GROUP BY node, tenant, class, direction, interval_start"
	" ORDER BY interval_start, tenant COLLATE \"C\", class COLLATE \"C\", node COLLATE \"C\","
	" CASE direction WHEN 'ingress' THEN 0 ELSE 1 END";

static int64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* libpq's messages end with a newline; one line is what a log wants. */
static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

static void conn_msg(const struct tg_pg *pg, char *buf, size_t len)
{
	snprintf(buf, len, "%s", pg->conn ? PQerrorMessage(pg->conn) : "not connected");
	trim(buf);
}

static int pg_fail(const struct tg_pg *pg, const char *what, const PGresult *res)
{
	char msg[512];

	if (res && PQresultErrorMessage(res)[0])
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
	else
		conn_msg(pg, msg, sizeof(msg));
	trim(msg);
	fprintf(stderr, "tollgate: billing store %s: %s: %s\n", pg->shown, what, msg);
	if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK)
		return -ENOTCONN;
	return -EIO;
}

/* Runs one statement; 0 when it returned rows or completed. *out (optional) keeps the
 * result for the caller to PQclear. */
static int run(struct tg_pg *pg, const char *what, const char *sql, int n, const char *const *vals,
	       PGresult **out)
{
	PGresult *res = PQexecParams(pg->conn, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int err = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		err = pg_fail(pg, what, res);
	if (!err && out)
		*out = res;
	else
		PQclear(res);
	return err;
}

static void rollback(struct tg_pg *pg)
{
	if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK &&
	    PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
		PQclear(PQexec(pg->conn, "ROLLBACK"));
}

static int check_version(struct tg_pg *pg, int create)
{
	PGresult *res = NULL;
	int err, version = 0;

	err = run(pg, "cannot read the schema version", "SELECT max(version) FROM tollgate_schema",
		  0, NULL, &res);
	if (err)
		return err;
	if (!PQgetisnull(res, 0, 0))
		version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (version > PG_SCHEMA_VERSION) {
		fprintf(stderr,
			"tollgate: billing store %s: schema version %d is not one this tollgate "
			"supports (up to %d); upgrade tollgate\n",
			pg->shown, version, PG_SCHEMA_VERSION);
		return -EPROTO;
	}
	if (!version && create)
		err = run(pg, "cannot set the schema version",
			  "INSERT INTO tollgate_schema (version) VALUES (1)", 0, NULL, NULL);
	return err;
}

static int create_schema(struct tg_pg *pg)
{
	char lock[64];
	const char *v[1] = { lock };
	int err;

	snprintf(lock, sizeof(lock), "%d", PG_SCHEMA_LOCK);
	err = run(pg, "cannot start the schema transaction", "BEGIN", 0, NULL, NULL);
	if (!err)
		err = run(pg, "cannot lock the schema", "SELECT pg_advisory_xact_lock($1::bigint)",
			  1, v, NULL);
	for (size_t i = 0; !err && i < sizeof(schema_sql) / sizeof(schema_sql[0]); i++)
		err = run(pg, "cannot create the schema", schema_sql[i], 0, NULL, NULL);
	if (!err)
		err = check_version(pg, 1);
	if (!err)
		err = run(pg, "cannot commit the schema", "COMMIT", 0, NULL, NULL);
	if (err)
		rollback(pg);
	return err;
}

/* A reader never creates: a database without the tables has nothing billed. */
static int find_schema(struct tg_pg *pg)
{
	PGresult *res = NULL;
	bool found;
	int err;

	err = run(pg, "cannot look for the schema",
		  "SELECT to_regclass('tollgate_schema') IS NOT NULL"
		  " AND to_regclass('tollgate_usage') IS NOT NULL",
		  0, NULL, &res);
	if (err)
		return err;
	found = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	if (!found) {
		fprintf(stderr, "tollgate: billing store %s: has no Tollgate schema\n", pg->shown);
		return -ENODATA;
	}
	return check_version(pg, 0);
}

/* (Re)connects and makes sure of the schema. quiet: the caller reports failures. */
static int connect_db(struct tg_pg *pg, bool quiet)
{
	/* tcp_user_timeout: a write to a vanished server fails instead of hanging the agent */
	static const char *const keys[] = { "connect_timeout", "tcp_user_timeout",
					    "application_name", "dbname", NULL };
	const char *vals[] = { "5", "10000", "tollgate", pg->url, NULL };
	char msg[512];
	int err;

	if (pg->conn)
		PQfinish(pg->conn);
	pg->schema_ok = false;
	/* dbname last, expanded: what the URL says wins over the defaults before it */
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (!pg->conn)
		return -ENOMEM;
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		if (!quiet) {
			conn_msg(pg, msg, sizeof(msg));
			fprintf(stderr, "tollgate: billing store %s: cannot connect: %s\n",
				pg->shown, msg);
		}
		return -ENOTCONN;
	}
	PQclear(PQexec(pg->conn, "SET client_min_messages = warning"));
	err = pg->readonly ? find_schema(pg) : create_schema(pg);
	if (!err)
		pg->schema_ok = true;
	return err;
}

static bool connected(const struct tg_pg *pg)
{
	return pg->conn && PQstatus(pg->conn) == CONNECTION_OK && pg->schema_ok;
}

/* The cursors of one (node, epoch), sorted for bsearch. */
struct cursor {
	uint32_t tenant_id, class_id;
	int dir;
	uint64_t bytes, packets;
};

static int cmp_cursor(const void *a, const void *b)
{
	const struct cursor *x = a, *y = b;

	if (x->tenant_id != y->tenant_id)
		return x->tenant_id < y->tenant_id ? -1 : 1;
	if (x->class_id != y->class_id)
		return x->class_id < y->class_id ? -1 : 1;
	return x->dir - y->dir;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || end == s || *end || *s == '-' ? -EPROTO : 0;
}

static int load_cursors(struct tg_pg *pg, const char *node, const char *epoch, struct cursor **out,
			size_t *n)
{
	const char *v[2] = { node, epoch };
	PGresult *res = NULL;
	struct cursor *c;
	int err, rows;

	err = run(pg, "cannot read the cursors", get_cursors_sql, 2, v, &res);
	if (err)
		return err;
	rows = PQntuples(res);
	c = calloc(rows ? (size_t)rows : 1, sizeof(*c));
	if (!c) {
		PQclear(res);
		return -ENOMEM;
	}
	for (int i = 0; i < rows && !err; i++) {
		const char *d = PQgetvalue(res, i, 2);

		c[i].tenant_id = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		c[i].class_id = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
		c[i].dir = !strcmp(d, dir_names[TG_DIR_INGRESS]) ? TG_DIR_INGRESS : TG_DIR_EGRESS;
		err = parse_u64(PQgetvalue(res, i, 3), &c[i].bytes);
		if (!err)
			err = parse_u64(PQgetvalue(res, i, 4), &c[i].packets);
	}
	PQclear(res);
	if (err) {
		fprintf(stderr, "tollgate: billing store %s: a cursor is not a counter\n",
			pg->shown);
		free(c);
		return err;
	}
	qsort(c, (size_t)rows, sizeof(*c), cmp_cursor);
	*out = c;
	*n = (size_t)rows;
	return 0;
}

/* Bills one sample against its cursor; counts what it billed or skipped. */
static int bill_sample(struct tg_pg *pg, const struct tg_harvest *h, const char *epoch,
		       const struct cursor *cur, size_t ncur, const struct tg_sample *s)
{
	struct cursor key = { .tenant_id = s->tenant_id, .class_id = s->class_id, .dir = s->dir };
	const struct cursor *prev = bsearch(&key, cur, ncur, sizeof(*cur), cmp_cursor);
	char tid[16], cid[16], start[24], end[24], db[24], dp[24], cb[24], cp[24], now[24];
	uint64_t dbytes = s->bytes - (prev ? prev->bytes : 0);
	uint64_t dpkts = s->packets - (prev ? prev->packets : 0);
	const char *dir = dir_names[s->dir];
	int err;

	/* behind the cursor: this harvest (a replayed spool record) is billed already */
	if (dbytes > INT64_MAX || dpkts > INT64_MAX) {
		pg->stale++;
		return 0;
	}
	if (!dbytes && !dpkts)
		return 0;
	snprintf(tid, sizeof(tid), "%" PRIu32, s->tenant_id);
	snprintf(cid, sizeof(cid), "%" PRIu32, s->class_id);
	snprintf(start, sizeof(start), "%" PRId64, h->interval_start);
	snprintf(end, sizeof(end), "%" PRId64, h->interval_start + (int64_t)h->interval);
	snprintf(db, sizeof(db), "%" PRIu64, dbytes);
	snprintf(dp, sizeof(dp), "%" PRIu64, dpkts);
	snprintf(cb, sizeof(cb), "%" PRIu64, s->bytes);
	snprintf(cp, sizeof(cp), "%" PRIu64, s->packets);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	{
		const char *u[9] = { h->node, epoch, s->tenant, s->class_name, dir, start,
				     end,     db,    dp };
		const char *c[8] = { h->node, epoch, tid, cid, dir, cb, cp, now };

		err = run(pg, "cannot add usage", add_usage_sql, 9, u, NULL);
		if (!err)
			err = run(pg, "cannot write a cursor", put_cursor_sql, 8, c, NULL);
	}
	if (!err)
		pg->billed += dbytes;
	return err;
}

static int check_harvest(const struct tg_pg *pg, const struct tg_harvest *h)
{
	const char *why = NULL;

	if (!h->node || !*h->node || strlen(h->node) >= sizeof(((struct tg_bill_row *)0)->node))
		why = "the node name is empty or longer than 63 bytes";
	else if (h->interval == 0 || h->interval_start > INT64_MAX - (int64_t)h->interval)
		why = "the interval is zero or its end overflows";
	else if (h->n_samples && !h->samples)
		why = "samples are missing";
	for (size_t i = 0; !why && i < h->n_samples; i++) {
		const struct tg_sample *s = &h->samples[i];
		size_t tl = strnlen(s->tenant, sizeof(s->tenant));
		size_t cl = strnlen(s->class_name, sizeof(s->class_name));

		if (s->dir < 0 || s->dir >= TG_DIR_MAX)
			why = "a sample has an invalid direction";
		else if (!tl || tl == sizeof(s->tenant) || !cl || cl == sizeof(s->class_name))
			why = "a sample has an empty or unterminated name";
		else if (s->class_id >= TG_MAX_CLASSES)
			why = "a sample's class id is out of range";
	}
	if (!why)
		return 0;
	fprintf(stderr, "tollgate: billing store %s: harvest refused: %s\n", pg->shown, why);
	return -EINVAL;
}

/* One harvest inside the caller's transaction. */
static int apply(void *ctx, const struct tg_harvest *h)
{
	struct tg_pg *pg = ctx;
	char epoch[33];
	struct cursor *cur = NULL;
	size_t ncur = 0;
	int err;

	snprintf(epoch, sizeof(epoch), "%016" PRIx64 "%016" PRIx64, h->epoch[0], h->epoch[1]);
	{
		/* one writer per node at a time, whatever else shares the database */
		const char *v[1] = { h->node };

		err = run(pg, "cannot lock the node",
			  "SELECT pg_advisory_xact_lock(hashtext('tollgate:' || $1))", 1, v, NULL);
	}
	if (!err)
		err = load_cursors(pg, h->node, epoch, &cur, &ncur);
	for (size_t i = 0; !err && i < h->n_samples; i++)
		err = bill_sample(pg, h, epoch, cur, ncur, &h->samples[i]);
	free(cur);
	return err;
}

/* Applies fn's harvests (one, or the whole spool) in one transaction. */
static int transact(struct tg_pg *pg, int (*body)(struct tg_pg *pg, void *arg), void *arg)
{
	int err;

	pg->billed = 0;
	pg->stale = 0;
	err = run(pg, "cannot start the harvest transaction", "BEGIN", 0, NULL, NULL);
	if (!err)
		err = body(pg, arg);
	if (!err)
		err = run(pg, "cannot commit the harvest", "COMMIT", 0, NULL, NULL);
	if (err)
		rollback(pg);
	return err;
}

static int body_one(struct tg_pg *pg, void *arg)
{
	return apply(pg, arg);
}

static int body_spool(struct tg_pg *pg, void *arg)
{
	(void)arg;
	return tg_spool_replay(pg->spool, apply, pg);
}

/* Drains the spool if a try is due: reconnects when needed, replays, clears. */
static int drain(struct tg_pg *pg, bool force)
{
	size_t n = tg_spool_records(pg->spool);
	int64_t now = mono_s();
	char msg[512];
	int err;

	if (!n)
		return 0;
	if (!force && now < pg->next_try)
		return -EAGAIN;
	err = connected(pg) ? 0 : connect_db(pg, pg->down);
	if (!err)
		err = transact(pg, body_spool, NULL);
	if (!err) {
		err = tg_spool_clear(pg->spool);
		if (pg->down)
			fprintf(stderr,
				"tollgate: billing store %s: available again, %zu spooled "
				"harvests committed\n",
				pg->shown, n);
		if (pg->stale)
			fprintf(stderr,
				"tollgate: billing store %s: %zu samples were committed before "
				"(a replay after a restart), skipped\n",
				pg->shown, pg->stale);
		pg->down = false;
		pg->backoff = 0;
		pg->next_try = 0;
		return err;
	}
	if (!pg->down) {
		conn_msg(pg, msg, sizeof(msg));
		fprintf(stderr,
			"tollgate: billing store %s: unavailable, harvests are spooled to %s and "
			"retried: %s\n",
			pg->shown, tg_spool_path(pg->spool), msg);
	}
	pg->down = true;
	pg->backoff = pg->backoff ? pg->backoff * 2 : RETRY_MIN_S;
	if (pg->backoff > RETRY_MAX_S)
		pg->backoff = RETRY_MAX_S;
	pg->next_try = now + pg->backoff;
	return -EAGAIN;
}

int tg_pg_open(const char *url, int readonly, const char *spool, struct tg_pg **out)
{
	char why[256];
	struct tg_pg *pg;
	int err;

	if (!url || !out)
		return -EINVAL;
	if (tg_pg_url_check(url, why, sizeof(why))) {
		char shown[512];

		tg_pg_url_redact(url, shown, sizeof(shown));
		fprintf(stderr, "tollgate: billing store %s: %s\n", shown, why);
		return -EINVAL;
	}
	pg = calloc(1, sizeof(*pg));
	if (!pg || !(pg->url = strdup(url))) {
		free(pg);
		return -ENOMEM;
	}
	tg_pg_url_redact(url, pg->shown, sizeof(pg->shown));
	pg->readonly = readonly;
	if (spool && !readonly) {
		err = tg_spool_open(spool, &pg->spool);
		if (err) {
			tg_pg_close(pg);
			return err;
		}
		/* the database may be down: billing goes on into the spool */
		if (connect_db(pg, false) == 0) {
			drain(pg, true);
		} else {
			fprintf(stderr,
				"tollgate: billing store %s: harvests are spooled to %s until "
				"it is available\n",
				pg->shown, spool);
			pg->down = true;
			pg->backoff = RETRY_MIN_S;
			pg->next_try = mono_s() + RETRY_MIN_S;
		}
		*out = pg;
		return 0;
	}
	err = connect_db(pg, false);
	if (err) {
		tg_pg_close(pg);
		return err;
	}
	*out = pg;
	return 0;
}

void tg_pg_close(struct tg_pg *pg)
{
	if (!pg)
		return;
	if (pg->conn)
		PQfinish(pg->conn);
	tg_spool_close(pg->spool);
	free(pg->url);
	free(pg);
}

int tg_pg_harvest(struct tg_pg *pg, const struct tg_harvest *h, uint64_t *billed_bytes)
{
	int err;

	if (billed_bytes)
		*billed_bytes = 0;
	if (!pg || !h)
		return -EINVAL;
	if (pg->readonly) {
		fprintf(stderr, "tollgate: billing store %s: opened read-only\n", pg->shown);
		return -EROFS;
	}
	err = check_harvest(pg, h);
	if (err)
		return err;
	if (!pg->spool) {
		if (!connected(pg)) {
			err = connect_db(pg, false);
			if (err)
				return err;
		}
		err = transact(pg, body_one, (void *)h);
		if (!err && billed_bytes)
			*billed_bytes = pg->billed;
		return err;
	}
	/* durable locally first: from here on the harvest is billed, whatever the database */
	err = tg_spool_append(pg->spool, h);
	if (err)
		return err;
	if (drain(pg, !pg->down) == 0 && billed_bytes)
		*billed_bytes = pg->billed;
	return 0;
}

int tg_pg_tick(struct tg_pg *pg)
{
	if (!pg || !pg->spool)
		return 0;
	return drain(pg, false);
}

size_t tg_pg_spooled(const struct tg_pg *pg)
{
	return pg ? tg_spool_records(pg->spool) : 0;
}

static int read_row(const PGresult *res, int i, struct tg_bill_row *r)
{
	const char *dir = PQgetvalue(res, i, 3);
	int err = 0;

	memset(r, 0, sizeof(*r));
	if (strlen(PQgetvalue(res, i, 0)) >= sizeof(r->node) ||
	    strlen(PQgetvalue(res, i, 1)) >= sizeof(r->tenant) ||
	    strlen(PQgetvalue(res, i, 2)) >= sizeof(r->class_name))
		return -EPROTO;
	strcpy(r->node, PQgetvalue(res, i, 0));
	strcpy(r->tenant, PQgetvalue(res, i, 1));
	strcpy(r->class_name, PQgetvalue(res, i, 2));
	r->dir = -1;
	for (int d = 0; d < TG_DIR_MAX; d++)
		if (!strcmp(dir, dir_names[d]))
			r->dir = d;
	r->start = strtoll(PQgetvalue(res, i, 4), NULL, 10);
	r->end = strtoll(PQgetvalue(res, i, 5), NULL, 10);
	err = parse_u64(PQgetvalue(res, i, 6), &r->bytes);
	if (!err)
		err = parse_u64(PQgetvalue(res, i, 7), &r->packets);
	return err || r->dir < 0 ? -EPROTO : 0;
}

int tg_pg_query(struct tg_pg *pg, const struct tg_bill_query *q, struct tg_bill_row **rows,
		size_t *n)
{
	char from[24], to[24];
	const char *v[5];
	PGresult *res = NULL;
	struct tg_bill_row *out;
	int err, cnt;

	if (!pg || !rows || !n)
		return -EINVAL;
	if (!connected(pg)) {
		err = connect_db(pg, false);
		if (err)
			return err;
	}
	snprintf(from, sizeof(from), "%" PRId64, q ? q->from : INT64_MIN);
	snprintf(to, sizeof(to), "%" PRId64, q ? q->to : INT64_MAX);
	v[0] = q ? q->tenant : NULL;
	v[1] = from;
	v[2] = to;
	v[3] = q ? q->class_name : NULL;
	v[4] = q ? q->node : NULL;
	err = run(pg, "cannot query usage", query_sql, 5, v, &res);
	if (err)
		return err;
	cnt = PQntuples(res);
	out = calloc(cnt ? (size_t)cnt : 1, sizeof(*out));
	if (!out) {
		PQclear(res);
		return -ENOMEM;
	}
	for (int i = 0; i < cnt && !err; i++)
		err = read_row(res, i, &out[i]);
	PQclear(res);
	if (err) {
		fprintf(stderr,
			"tollgate: billing store %s: a usage row has an over-long name, a bad "
			"direction or a bad count\n",
			pg->shown);
		free(out);
		return err;
	}
	*rows = out;
	*n = (size_t)cnt;
	return 0;
}

int tg_pg_url_check(const char *url, char *why, size_t len)
{
	PQconninfoOption *opts;
	char *msg = NULL;

	if (!url || (strncmp(url, "postgresql://", 13) && strncmp(url, "postgres://", 11))) {
		snprintf(why, len, "expected a postgresql:// or postgres:// URL");
		return -EINVAL;
	}
	opts = PQconninfoParse(url, &msg);
	if (!opts) {
		snprintf(why, len, "invalid PostgreSQL URL: %s", msg ? msg : "out of memory");
		trim(why);
		PQfreemem(msg);
		return -EINVAL;
	}
	PQconninfoFree(opts);
	return 0;
}

/* Replaces [start, end) of src with "***" in buf. */
static void splice(char *buf, size_t len, const char *src, size_t start, size_t end)
{
	snprintf(buf, len, "%.*s***%s", (int)start, src, src + end);
}

void tg_pg_url_redact(const char *url, char *buf, size_t len)
{
	char tmp[1024];
	const char *auth, *at, *colon, *stop, *p;

	if (!buf || !len)
		return;
	snprintf(tmp, sizeof(tmp), "%s", url ? url : "");
	auth = strstr(tmp, "://");
	if (auth) {
		auth += 3;
		stop = auth + strcspn(auth, "/?");
		at = NULL;
		for (p = auth; p < stop; p++)
			if (*p == '@')
				at = p;
		colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			char t2[1024];

			splice(t2, sizeof(t2), tmp, (size_t)(colon + 1 - tmp), (size_t)(at - tmp));
			snprintf(tmp, sizeof(tmp), "%s", t2);
		}
	}
	/* ?password=... or &password=... in the query string */
	p = strchr(tmp, '?');
	while (p) {
		const char *key = p + 1, *from = key;

		if (!strncmp(key, "password=", 9)) {
			char t2[1024];
			size_t s = (size_t)(key + 9 - tmp);
			size_t e = s + strcspn(tmp + s, "&");

			splice(t2, sizeof(t2), tmp, s, e);
			snprintf(tmp, sizeof(tmp), "%s", t2);
			from = tmp + s + 3;
		}
		p = strchr(from, '&');
	}
	snprintf(buf, len, "%s", tmp);
}
