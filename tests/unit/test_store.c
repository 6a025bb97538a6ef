/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The billing store: deltas from cumulative counters, idempotent replays, counter wrap,
 * epochs, all-or-nothing harvests, traffic classes, the migration from schema version 1,
 * a SIGKILL at a random instant, output formats, `tollgate bill` and time parsing.
 * Cursors are inspected with plain SQLite, as a user would.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tap.h"
#include "cli.h"
#include "store.h"

#define T0 INT64_C(1795226400) /* 2026-11-21T02:00:00Z */
#define IN TG_DIR_INGRESS
#define OUT TG_DIR_EGRESS

static char tmpdir[] = "/tmp/tg_store.XXXXXX";
static char dbpath[PATH_MAX];

/* A sample of one class of a tenant. */
static struct tg_sample sample_c(uint32_t id, const char *name, uint32_t class_id,
				 const char *class_name, int dir, uint64_t bytes, uint64_t packets)
{
	struct tg_sample s = { .tenant_id = id,
			       .class_id = class_id,
			       .dir = dir,
			       .bytes = bytes,
			       .packets = packets };

	snprintf(s.tenant, sizeof(s.tenant), "%s", name);
	snprintf(s.class_name, sizeof(s.class_name), "%s", class_name);
	return s;
}

/* A sample of a tenant's default class (0, `internet`). */
static struct tg_sample sample(uint32_t id, const char *name, int dir, uint64_t bytes,
			       uint64_t packets)
{
	return sample_c(id, name, 0, "internet", dir, bytes, packets);
}

static struct tg_harvest harvest(uint64_t e0, int64_t start, const struct tg_sample *smp, size_t n)
{
	struct tg_harvest h = {
		.node = "edge-1",
		.epoch = { e0, e0 + 1 },
		.interval_start = start,
		.interval = 60,
		.samples = smp,
		.n_samples = n,
	};

	return h;
}

struct sums {
	uint64_t bytes, packets;
	size_t rows;
};

/* Everything billed to a tenant (NULL: anyone) in a direction (-1: both). */
static struct sums billed(struct tg_store *s, const char *tenant, int dir)
{
	struct tg_bill_query q = { .tenant = tenant, .from = INT64_MIN, .to = INT64_MAX };
	struct sums r = { 0 };
	struct tg_bill_row *rows = NULL;
	size_t n = 0, i;

	if (tg_store_query(s, &q, &rows, &n))
		tap_diag("query failed");
	for (i = 0; i < n; i++) {
		if (dir >= 0 && rows[i].dir != dir)
			continue;
		r.bytes += rows[i].bytes;
		r.packets += rows[i].packets;
		r.rows++;
	}
	free(rows);
	return r;
}

/* One integer through a separate SQLite connection; dflt when there is no row. */
static int64_t sql_int(const char *path, const char *sql, int64_t dflt)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	int64_t v = dflt;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static int sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int64_t cursor_bytes_c(const char *path, uint64_t e0, uint32_t id, uint32_t class_id,
			      const char *dir)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT bytes FROM cursor WHERE node = 'edge-1' AND epoch = '%016" PRIx64
		 "%016" PRIx64 "' AND tenant_id = %" PRIu32 " AND class_id = %" PRIu32
		 " AND direction = '%s'",
		 e0, e0 + 1, id, class_id, dir);
	return sql_int(path, sql, -1);
}

static int64_t cursor_bytes(const char *path, uint64_t e0, uint32_t id, const char *dir)
{
	return cursor_bytes_c(path, e0, id, 0, dir);
}

static void test_open(struct tg_store **s)
{
	char dir[PATH_MAX];
	struct stat st;
	char sql[64];

	snprintf(dir, sizeof(dir), "%s/var/lib/tollgate", tmpdir);
	snprintf(dbpath, sizeof(dbpath), "%s/var/lib/tollgate/tollgate.db", tmpdir);
	tap_check(tg_store_open(dbpath, 0, s) == 0, "open creates the store and its directories");
	tap_check(!stat(dir, &st) && (st.st_mode & 0777) == 0750, "new directory is 0750");
	tap_check(sql_int(dbpath, "PRAGMA user_version", -1) == 2, "schema version is 2");
	snprintf(sql, sizeof(sql), "SELECT journal_mode = 'wal' FROM pragma_journal_mode");
	tap_check(sql_int(dbpath, sql, 0) == 1, "the file is in WAL mode");
}

static bool row_is(const struct tg_bill_row *r, const char *tenant, int dir, int64_t start,
		   uint64_t bytes, uint64_t packets)
{
	return !strcmp(r->node, "edge-1") && !strcmp(r->tenant, tenant) &&
	       !strcmp(r->class_name, "internet") && r->dir == dir && r->start == start &&
	       r->end == start + 60 && r->bytes == bytes && r->packets == packets;
}

static void check_two_intervals(struct tg_store *s)
{
	struct tg_bill_query q = { .from = INT64_MIN, .to = INT64_MAX };
	struct tg_bill_row *rows = NULL;
	size_t n = 0;
	int rc = tg_store_query(s, &q, &rows, &n);

	tap_check(rc == 0 && n == 5, "5 usage rows (rc=%d n=%zu)", rc, n);
	if (n == 5) {
		tap_check(row_is(&rows[0], "acme", IN, T0, 1000, 10) &&
				  row_is(&rows[1], "acme", OUT, T0, 2000, 20) &&
				  row_is(&rows[2], "globex", IN, T0, 500, 5),
			  "first interval holds the first deltas, ingress before egress");
		tap_check(row_is(&rows[3], "acme", IN, T0 + 60, 500, 5) &&
				  row_is(&rows[4], "globex", OUT, T0 + 60, 300, 3),
			  "second interval holds only the non-zero deltas");
	}
	free(rows);
}

static void check_filters(struct tg_store *s)
{
	struct tg_bill_query q = { .tenant = "acme", .from = INT64_MIN, .to = INT64_MAX };
	struct tg_bill_row *rows = NULL;
	size_t n = 0, i, acme = 0;

	tap_check(tg_store_query(s, &q, &rows, &n) == 0 && n == 3, "tenant filter: 3 rows");
	for (i = 0; i < n; i++)
		acme += !strcmp(rows[i].tenant, "acme");
	tap_check(acme == n, "tenant filter returns only that tenant");
	free(rows);

	q = (struct tg_bill_query){ .from = T0 + 60, .to = INT64_MAX };
	tap_check(!tg_store_query(s, &q, &rows, &n) && n == 2 && rows[0].start == T0 + 60,
		  "from is inclusive");
	free(rows);
	q = (struct tg_bill_query){ .from = INT64_MIN, .to = T0 + 60 };
	tap_check(!tg_store_query(s, &q, &rows, &n) && n == 3 && rows[2].start == T0,
		  "to is exclusive");
	free(rows);
	q = (struct tg_bill_query){ .from = T0, .to = T0 };
	tap_check(!tg_store_query(s, &q, &rows, &n) && n == 0, "empty range: no rows");
	free(rows);
	q = (struct tg_bill_query){ .tenant = "nobody", .from = INT64_MIN, .to = INT64_MAX };
	tap_check(!tg_store_query(s, &q, &rows, &n) && n == 0, "unknown tenant: no rows");
	free(rows);
	tap_check(!tg_store_query(s, NULL, &rows, &n) && n == 5, "NULL query: everything");
	free(rows);
}

static void test_harvest(struct tg_store *s)
{
	const struct tg_sample h1s[] = {
		sample(1, "acme", IN, 1000, 10),
		sample(1, "acme", OUT, 2000, 20),
		sample(2, "globex", IN, 500, 5),
	};
	const struct tg_sample h2s[] = {
		sample(1, "acme", IN, 1500, 15),
		sample(1, "acme", OUT, 2000, 20),
		sample(2, "globex", IN, 500, 5),
		sample(2, "globex", OUT, 300, 3),
	};
	struct tg_harvest h1 = harvest(1, T0, h1s, 3), h2 = harvest(1, T0 + 60, h2s, 4);
	uint64_t b = 99;
	struct sums all;

	tap_check(tg_store_harvest(s, &h1, &b) == 0 && b == 3500, "first harvest bills 3500");
	all = billed(s, NULL, -1);
	tap_check(all.bytes == 3500 && all.packets == 35 && all.rows == 3,
		  "query returns exactly the deltas");
	tap_check(tg_store_harvest(s, &h1, &b) == 0 && b == 0, "replayed harvest bills 0");
	all = billed(s, NULL, -1);
	tap_check(all.bytes == 3500 && all.packets == 35 && all.rows == 3,
		  "replay changed no usage row");
	tap_check(tg_store_harvest(s, &h2, &b) == 0 && b == 800, "second harvest bills 800");
	tap_check(tg_store_harvest(s, &h2, &b) == 0 && b == 0, "second replay bills 0");
	tap_check(cursor_bytes(dbpath, 1, 1, "ingress") == 1500, "cursor holds the cumulative");
	check_two_intervals(s);
	check_filters(s);
}

static void test_epoch(struct tg_store *s)
{
	const struct tg_sample smp = sample(1, "acme", IN, 100, 1);
	struct tg_harvest h = harvest(3, T0 + 120, &smp, 1);
	uint64_t b = 0;

	tap_check(tg_store_harvest(s, &h, &b) == 0 && b == 100, "a new epoch starts from zero");
	tap_check(cursor_bytes(dbpath, 1, 1, "ingress") == 1500 &&
			  cursor_bytes(dbpath, 3, 1, "ingress") == 100,
		  "each epoch keeps its own cursor");
}

static void test_wrap(struct tg_store *s)
{
	struct tg_sample smp = sample(9, "wrap", IN, 50, 0);
	struct tg_harvest h = harvest(5, T0, &smp, 1);
	uint64_t b = 0;
	struct sums w;

	/* cursor at UINT64_MAX - 100 bytes and UINT64_MAX packets, as int64 bit patterns */
	tap_check(sql_exec(dbpath,
			   "INSERT INTO cursor VALUES ('edge-1', "
			   "'00000000000000050000000000000006', 9, 0, 'ingress', -101, -1, 0)") ==
			  SQLITE_OK,
		  "seed a cursor just below 2^64");
	tap_check(tg_store_harvest(s, &h, &b) == 0 && b == 151, "wrap past 2^64 bills exactly 151");
	w = billed(s, "wrap", IN);
	tap_check(w.bytes == 151 && w.packets == 1, "wrapped usage: 151 bytes, 1 packet");
	tap_check(cursor_bytes(dbpath, 5, 9, "ingress") == 50, "cursor moved to 50");

	smp.bytes = 40;
	tap_check(tg_store_harvest(s, &h, &b) == -ERANGE, "counter going backwards is refused");
	tap_check(billed(s, "wrap", IN).bytes == 151 && cursor_bytes(dbpath, 5, 9, "ingress") == 50,
		  "refused harvest changed nothing");
}

/* Cumulative values above 2^63 round-trip through the int64 cursor column. */
static void test_high_cursor(struct tg_store *s)
{
	struct tg_sample smp = sample(10, "big", OUT, INT64_MAX, 1);
	struct tg_harvest h = harvest(7, T0, &smp, 1);
	uint64_t b = 0;

	tap_check(tg_store_harvest(s, &h, &b) == 0 && b == INT64_MAX, "INT64_MAX delta accepted");
	smp.bytes = (uint64_t)INT64_MAX + 6;
	h.interval_start = T0 + 60;
	tap_check(tg_store_harvest(s, &h, &b) == 0 && b == 6, "crossing 2^63 bills 6");
	tap_check(cursor_bytes(dbpath, 7, 10, "egress") == INT64_MIN + 5,
		  "cursor above 2^63 stored as its int64 bit pattern");
	tap_check(tg_store_harvest(s, &h, &b) == 0 && b == 0, "replay above 2^63 bills 0");
}

static void test_rollback(struct tg_store *s)
{
	const struct tg_sample smp[] = {
		sample(1, "acme", IN, 1500 + 777, 16),
		sample(2, "globex", OUT, 310, 4),
		sample(2, "globex", 7, 1, 1),
	};
	struct tg_harvest h = harvest(1, T0 + 180, smp, 3);
	struct sums before = billed(s, NULL, -1), after;
	uint64_t b = 1;

	tap_check(tg_store_harvest(s, &h, &b) == -EINVAL && b == 0,
		  "a sample with direction 7 fails the harvest");
	after = billed(s, NULL, -1);
	tap_check(after.bytes == before.bytes && after.rows == before.rows,
		  "no usage from the failed harvest");
	tap_check(cursor_bytes(dbpath, 1, 1, "ingress") == 1500 &&
			  cursor_bytes(dbpath, 1, 2, "egress") == 300,
		  "no cursor moved in the failed harvest");
	h.n_samples = 2;
	tap_check(tg_store_harvest(s, &h, &b) == 0 && b == 787, "the good samples then bill 787");
}

static void test_bad_args(struct tg_store *s)
{
	const struct tg_sample bad_name = sample(1, "", IN, 1, 1);
	struct tg_harvest h = harvest(1, T0, NULL, 0);

	h.interval = 0;
	tap_check(tg_store_harvest(s, &h, NULL) == -EINVAL, "interval 0 refused");
	h = harvest(1, T0, NULL, 0);
	h.node = "a-node-name-that-is-far-too-long-to-fit-the-sixty-four-byte-field-of-rows";
	tap_check(tg_store_harvest(s, &h, NULL) == -EINVAL, "over-long node refused");
	h = harvest(1, INT64_MAX - 10, NULL, 0);
	tap_check(tg_store_harvest(s, &h, NULL) == -EINVAL, "interval end overflow refused");
	h = harvest(1, T0, &bad_name, 1);
	tap_check(tg_store_harvest(s, &h, NULL) == -EINVAL, "empty tenant name refused");
	tap_check(tg_store_harvest(s, NULL, NULL) == -EINVAL, "NULL harvest refused");
	h = harvest(1, T0, NULL, 0);
	tap_check(tg_store_harvest(s, &h, NULL) == 0, "empty harvest is fine");
}

/* The rows of query q; *n of them, NULL and 0 when the query fails. */
static struct tg_bill_row *query(struct tg_store *s, const char *tenant, const char *class_name,
				 size_t *n)
{
	struct tg_bill_query q = {
		.tenant = tenant, .class_name = class_name, .from = INT64_MIN, .to = INT64_MAX
	};
	struct tg_bill_row *rows = NULL;

	*n = 0;
	if (tg_store_query(s, &q, &rows, n)) {
		tap_diag("query failed");
		*n = 0;
	}
	return rows;
}

static bool cell_row_is(const struct tg_bill_row *r, const char *tenant, const char *class_name,
			int dir, int64_t start, uint64_t bytes, uint64_t packets)
{
	return !strcmp(r->tenant, tenant) && !strcmp(r->class_name, class_name) && r->dir == dir &&
	       r->start == start && r->bytes == bytes && r->packets == packets;
}

/* The classes of one tenant are billed apart; a renamed class id keeps its cursor. */
static void test_classes_billed_apart(struct tg_store *s, const char *path)
{
	const struct tg_sample h1s[] = {
		sample(1, "acme", IN, 1000, 10),
		sample_c(1, "acme", 2, "peering", IN, 300, 3),
		sample(1, "acme", OUT, 2000, 20),
		sample_c(1, "acme", 2, "peering", OUT, 100, 1),
	};
	/* class id 2 renamed from peering to transit; its counter carries on */
	const struct tg_sample h2s[] = {
		sample(1, "acme", IN, 1000, 10),
		sample_c(1, "acme", 2, "transit", IN, 500, 5),
		sample_c(1, "acme", 2, "transit", OUT, 100, 1),
	};
	struct tg_harvest h1 = harvest(13, T0, h1s, 4), h2 = harvest(13, T0 + 60, h2s, 3);
	struct tg_bill_row *rows;
	uint64_t b = 0;
	size_t n;

	tap_check(tg_store_harvest(s, &h1, &b) == 0 && b == 3400,
		  "two classes of one tenant: the harvest bills both");
	rows = query(s, NULL, NULL, &n);
	tap_check(n == 4 && cell_row_is(&rows[0], "acme", "internet", IN, T0, 1000, 10) &&
			  cell_row_is(&rows[1], "acme", "internet", OUT, T0, 2000, 20) &&
			  cell_row_is(&rows[2], "acme", "peering", IN, T0, 300, 3) &&
			  cell_row_is(&rows[3], "acme", "peering", OUT, T0, 100, 1),
		  "each class has its own rows, ordered by class, then direction");
	free(rows);
	tap_check(cursor_bytes_c(path, 13, 1, 0, "ingress") == 1000 &&
			  cursor_bytes_c(path, 13, 1, 2, "ingress") == 300,
		  "each class keeps its own cursor, keyed by the class id");
	tap_check(tg_store_harvest(s, &h1, &b) == 0 && b == 0, "replay with classes bills 0");

	tap_check(tg_store_harvest(s, &h2, &b) == 0 && b == 200,
		  "a class renamed between harvests bills only the delta");
	rows = query(s, NULL, "transit", &n);
	tap_check(n == 1 && cell_row_is(&rows[0], "acme", "transit", IN, T0 + 60, 200, 2),
		  "... under its new name");
	free(rows);
	rows = query(s, NULL, "peering", &n);
	tap_check(n == 2 && rows[0].bytes == 300 && rows[1].bytes == 100,
		  "... and the old name keeps what it billed before");
	free(rows);
	tap_check(cursor_bytes_c(path, 13, 1, 2, "ingress") == 500, "... with one cursor per id");
}

static void test_class_filter(struct tg_store *s)
{
	struct tg_bill_row *rows;
	size_t n, i, ok = 0;

	rows = query(s, NULL, "internet", &n);
	for (i = 0; i < n; i++)
		ok += !strcmp(rows[i].class_name, "internet");
	tap_check(n == 2 && ok == n, "class filter returns only that class");
	free(rows);
	rows = query(s, "acme", "peering", &n);
	tap_check(n == 2, "class and tenant filters together");
	free(rows);
	rows = query(s, "globex", "peering", &n);
	tap_check(n == 0, "class filter of another tenant: no rows");
	free(rows);
	rows = query(s, NULL, "nobody", &n);
	tap_check(n == 0, "unknown class: no rows");
	free(rows);
	rows = query(s, NULL, NULL, &n);
	tap_check(n == 5, "no class filter: every class");
	free(rows);
}

static void test_class_refusals(struct tg_store *s, const char *path)
{
	struct tg_sample smp[2] = {
		sample(1, "acme", IN, 1100, 11),
		sample_c(1, "acme", 2, "transit", IN, 400, 4),
	};
	struct tg_harvest h = harvest(13, T0 + 120, smp, 2);
	size_t before, after;
	uint64_t b = 1;

	free(query(s, NULL, NULL, &before));
	tap_check(tg_store_harvest(s, &h, &b) == -ERANGE && b == 0,
		  "a class whose counter went backwards is refused, though its tenant's other "
		  "class grew");
	smp[1] = sample_c(1, "acme", TG_MAX_CLASSES, "lab", IN, 1, 1);
	tap_check(tg_store_harvest(s, &h, NULL) == -EINVAL, "class id TG_MAX_CLASSES refused");
	smp[1] = sample_c(1, "acme", 3, "", IN, 1, 1);
	tap_check(tg_store_harvest(s, &h, NULL) == -EINVAL, "empty class name refused");
	memset(smp[1].class_name, 'x', sizeof(smp[1].class_name));
	tap_check(tg_store_harvest(s, &h, NULL) == -EINVAL, "unterminated class name refused");
	free(query(s, NULL, NULL, &after));
	tap_check(after == before && cursor_bytes_c(path, 13, 1, 0, "ingress") == 1000,
		  "refused harvests with classes changed nothing");
	smp[1] = sample_c(1, "acme", TG_MAX_CLASSES - 1, "lab", IN, 5, 1);
	tap_check(tg_store_harvest(s, &h, &b) == 0 && b == 105, "the highest class id is accepted");
}

static void test_classes(void)
{
	char path[PATH_MAX + 32];
	struct tg_store *s = NULL;

	snprintf(path, sizeof(path), "%s/classes.db", tmpdir);
	if (!tap_check(tg_store_open(path, 0, &s) == 0, "open a store for the class tests"))
		return;
	test_classes_billed_apart(s, path);
	test_class_filter(s);
	test_class_refusals(s, path);
	tg_store_close(s);
}

/* The version 1 schema exactly as Tollgate wrote it (src/store.c before the classes). */
static const char v1_schema[] =
	"CREATE TABLE usage (\n"
	"\tnode TEXT NOT NULL,\n"
	"\ttenant TEXT NOT NULL,\n"
	"\tdirection TEXT NOT NULL CHECK (direction IN ('ingress', 'egress')),\n"
	"\tinterval_start INTEGER NOT NULL,\n"
	"\tinterval_end INTEGER NOT NULL CHECK (interval_end > interval_start),\n"
	"\tbytes INTEGER NOT NULL CHECK (typeof(bytes) = 'integer' AND bytes >= 0),\n"
	"\tpackets INTEGER NOT NULL CHECK (typeof(packets) = 'integer' AND packets >= 0),\n"
	"\tPRIMARY KEY (node, tenant, direction, interval_start)\n"
	");\n"
	"CREATE INDEX usage_by_start ON usage (interval_start);\n"
	"CREATE TABLE cursor (\n"
	"\tnode TEXT NOT NULL,\n"
	"\tepoch TEXT NOT NULL CHECK (length(epoch) = 32),\n"
	"\ttenant_id INTEGER NOT NULL,\n"
	"\tdirection TEXT NOT NULL CHECK (direction IN ('ingress', 'egress')),\n"
	"\tbytes INTEGER NOT NULL,\n"
	"\tpackets INTEGER NOT NULL,\n"
	"\tupdated INTEGER NOT NULL,\n"
	"\tPRIMARY KEY (node, epoch, tenant_id, direction)\n"
	");\n"
	"PRAGMA user_version = 1;\n";

/* Epoch 0x15/0x16 (harvest(21, ...)); tenant 3's ingress cursor is 2^64 - 101. */
static const char v1_rows[] =
	"PRAGMA journal_mode = WAL;\n"
	"INSERT INTO usage VALUES\n"
	"\t('edge-1', 'acme', 'ingress', 1795226400, 1795226460, 1000, 10),\n"
	"\t('edge-1', 'acme', 'egress', 1795226400, 1795226460, 2000, 20),\n"
	"\t('edge-2', 'globex', 'ingress', 1795226460, 1795226520, 5, 1);\n"
	"INSERT INTO cursor VALUES\n"
	"\t('edge-1', '00000000000000150000000000000016', 1, 'ingress', 1000, 10, 1),\n"
	"\t('edge-1', '00000000000000150000000000000016', 1, 'egress', 2000, 20, 1),\n"
	"\t('edge-1', '00000000000000150000000000000016', 3, 'ingress', -101, -1, 1);\n";

static bool make_v1(const char *path, const char *extra)
{
	return sql_exec(path, v1_schema) == SQLITE_OK && sql_exec(path, v1_rows) == SQLITE_OK &&
	       (!extra || sql_exec(path, extra) == SQLITE_OK) &&
	       sql_int(path, "PRAGMA user_version", -1) == 1;
}

static void test_v1_readonly(const char *path)
{
	const struct tg_sample smp = sample(1, "acme", IN, 1500, 15);
	struct tg_harvest h = harvest(21, T0 + 120, &smp, 1);
	struct tg_store *ro = NULL;
	struct tg_bill_row *rows;
	size_t n;

	if (!tap_check(tg_store_open(path, 1, &ro) == 0, "read-only open of a version 1 file"))
		return;
	rows = query(ro, NULL, NULL, &n);
	tap_check(n == 3 && cell_row_is(&rows[0], "acme", "internet", IN, T0, 1000, 10) &&
			  cell_row_is(&rows[1], "acme", "internet", OUT, T0, 2000, 20) &&
			  cell_row_is(&rows[2], "globex", "internet", IN, T0 + 60, 5, 1) &&
			  !strcmp(rows[2].node, "edge-2"),
		  "... reads every row, in class internet");
	free(rows);
	rows = query(ro, NULL, "internet", &n);
	tap_check(n == 3, "... class filter internet: every row");
	free(rows);
	rows = query(ro, NULL, "peering", &n);
	tap_check(n == 0, "... class filter of another class: no rows");
	free(rows);
	rows = query(ro, "globex", NULL, &n);
	tap_check(n == 1, "... tenant filter");
	free(rows);
	tap_check(tg_store_harvest(ro, &h, NULL) == -EROFS, "... harvest: -EROFS");
	tg_store_close(ro);
	tap_check(sql_int(path, "PRAGMA user_version", -1) == 1, "... and does not migrate");
}

/* A migration that fails half-way (a table in the way of the rename) changes nothing. */
static void test_v1_failed_migration(void)
{
	char path[PATH_MAX + 32];
	struct tg_store *s = NULL;

	snprintf(path, sizeof(path), "%s/v1-blocked.db", tmpdir);
	if (!tap_check(make_v1(path, "CREATE TABLE cursor_v1 (x)"), "a version 1 fixture"))
		return;
	tap_check(tg_store_open(path, 0, &s) < 0 && !s, "a migration that fails fails the open");
	tap_check(
		sql_int(path, "PRAGMA user_version", -1) == 1 &&
			sql_int(path, "SELECT count(*) FROM usage", -1) == 3 &&
			sql_int(path, "SELECT count(*) FROM cursor", -1) == 3 &&
			sql_int(path,
				"SELECT count(*) FROM sqlite_master WHERE name = 'usage_by_start'",
				-1) == 1 &&
			sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'usage_v1'",
				-1) == 0,
		"... and leaves the version 1 file as it was");
}

static void test_migration(void)
{
	const struct tg_sample smp[] = {
		sample(1, "acme", IN, 1500, 15),
		sample(1, "acme", OUT, 2000, 20),
		sample(3, "wrap", IN, 50, 0),
		sample_c(1, "acme", 1, "peering", IN, 70, 1),
	};
	struct tg_harvest h = harvest(21, T0 + 120, smp, 4);
	char path[PATH_MAX + 32];
	struct tg_store *s = NULL;
	struct tg_bill_row *rows;
	uint64_t b = 0;
	size_t n;

	snprintf(path, sizeof(path), "%s/v1.db", tmpdir);
	if (!tap_check(make_v1(path, NULL), "a version 1 fixture"))
		return;
	test_v1_readonly(path);
	test_v1_failed_migration();

	if (!tap_check(tg_store_open(path, 0, &s) == 0, "read-write open migrates version 1"))
		return;
	tap_check(sql_int(path, "PRAGMA user_version", -1) == 2, "... to version 2");
	tap_check(sql_int(path, "SELECT count(*) FROM usage WHERE class = 'internet'", -1) == 3 &&
			  sql_int(path, "SELECT sum(bytes) FROM usage", -1) == 3005 &&
			  sql_int(path, "SELECT sum(packets) FROM usage", -1) == 31,
		  "... every usage row kept, in class internet");
	tap_check(sql_int(path, "SELECT count(*) FROM cursor WHERE class_id = 0", -1) == 3 &&
			  cursor_bytes(path, 21, 1, "ingress") == 1000 &&
			  cursor_bytes(path, 21, 1, "egress") == 2000 &&
			  cursor_bytes(path, 21, 3, "ingress") == -101,
		  "... every cursor kept, as class id 0, bit patterns intact");
	tap_check(sql_int(path,
			  "SELECT count(*) FROM sqlite_master WHERE name = 'usage_by_start'"
			  " AND tbl_name = 'usage'",
			  -1) == 1 &&
			  sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v1'",
				  -1) == 0 &&
			  sql_int(path, "SELECT integrity_check = 'ok' FROM pragma_integrity_check",
				  0) == 1,
		  "... the index rebuilt, the old tables gone, integrity ok");
	tap_check(tg_store_harvest(s, &h, &b) == 0 && b == 721,
		  "a harvest after the migration bills only the deltas");
	rows = query(s, "acme", "internet", &n);
	tap_check(n == 3 && cell_row_is(&rows[2], "acme", "internet", IN, T0 + 120, 500, 5),
		  "... 500 bytes of acme since the version 1 cursor");
	free(rows);
	tg_store_close(s);
	s = NULL;
	tap_check(tg_store_open(path, 0, &s) == 0 &&
			  sql_int(path, "SELECT count(*) FROM usage", -1) == 6,
		  "reopening the migrated file keeps it");
	tg_store_close(s);
}

/* Runs `tollgate bill ARGS...` in this process; its exit code, its stdout in *out. */
static int run_bill(char **out, const char *const *args)
{
	char *argv[16] = { "bill" };
	char path[PATH_MAX + 32];
	int argc = 1, fd, saved, rc;
	FILE *f;
	long len;

	*out = NULL;
	while (*args && argc < 15)
		argv[argc++] = (char *)*args++;
	snprintf(path, sizeof(path), "%s/bill.out", tmpdir);
	fflush(stdout);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(STDOUT_FILENO);
	if (fd < 0 || saved < 0 || dup2(fd, STDOUT_FILENO) < 0)
		return -1;
	optind = 0; /* glibc: start getopt afresh */
	rc = cmd_bill(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	*out = calloc(1, (size_t)len + 1);
	if (*out && fread(*out, 1, (size_t)len, f) != (size_t)len)
		(*out)[0] = '\0';
	fclose(f);
	return rc;
}

static void check_bill(const char *const *args, int want_rc, const char *want, const char *name)
{
	char *got = NULL;
	int rc = run_bill(&got, args);

	if (!tap_check(rc == want_rc && got && (!want || !strcmp(got, want)), "%s", name))
		tap_diag("exit %d, got:\n%s", rc, got ? got : "(nothing)");
	free(got);
}

/* Three intervals: internet at 80, 80 and 240 bit/s, peering at 8 bit/s each. */
static bool fill_p95_store(const char *path)
{
	struct tg_sample smp[2];
	struct tg_harvest h;
	struct tg_store *s = NULL;
	const uint64_t internet[] = { 600, 1200, 3000 };
	bool ok = !tg_store_open(path, 0, &s);
	uint64_t k;

	for (k = 0; ok && k < 3; k++) {
		smp[0] = sample(1, "acme", IN, internet[k], k + 1);
		smp[1] = sample_c(1, "acme", 1, "peering", IN, 60 * (k + 1), k + 1);
		h = harvest(17, T0 + (int64_t)k * 60, smp, 2);
		ok = !tg_store_harvest(s, &h, NULL);
	}
	tg_store_close(s);
	return ok;
}

static void test_cli(void)
{
	char path[PATH_MAX + 32], v1[PATH_MAX + 32];
	char long_class[TG_CLASS_NAME_MAX + 1];

	snprintf(path, sizeof(path), "%s/cli.db", tmpdir);
	snprintf(v1, sizeof(v1), "%s/v1-cli.db", tmpdir);
	memset(long_class, 'c', TG_CLASS_NAME_MAX);
	long_class[TG_CLASS_NAME_MAX] = '\0';
	if (!tap_check(fill_p95_store(path), "a store for `tollgate bill`"))
		return;
	check_bill((const char *const[]){ "--store", path, "--p95", "--format", "csv", NULL }, 0,
		   "tenant,class,direction,intervals,bits_per_second\n"
		   "acme,internet,ingress,3,240\n"
		   "acme,peering,ingress,3,8\n",
		   "bill --p95: one percentile per tenant, class and direction");
	check_bill(
		(const char *const[]){ "--store", path, "--p95", "--format", "json", "--class",
				       "peering", NULL },
		0,
		"[\n  {\"tenant\": \"acme\", \"class\": \"peering\", \"direction\": \"ingress\", "
		"\"intervals\": 3, \"bits_per_second\": 8}\n]\n",
		"bill --p95 --class: JSON with the class after the tenant");
	check_bill((const char *const[]){ "--store", path, "--p95", "--class", "internet", NULL },
		   0,
		   "TENANT               CLASS            DIRECTION INTERVALS        P95 BIT/S\n"
		   "acme                 internet         ingress           3              240\n",
		   "bill --p95 table has a class column");
	check_bill((const char *const[]){ "--store", path, "--class", "peering", "--format", "csv",
					  "--from", "@1795226460", NULL },
		   0,
		   "node,tenant,class,direction,start,end,bytes,packets\n"
		   "edge-1,acme,peering,ingress,2026-11-21T02:01:00Z,2026-11-21T02:02:00Z,60,1\n"
		   "edge-1,acme,peering,ingress,2026-11-21T02:02:00Z,2026-11-21T02:03:00Z,60,1\n",
		   "bill --class peering --format csv");
	check_bill((const char *const[]){ "--store", path, "--class", "", NULL }, 2, "",
		   "bill --class '': exit 2");
	check_bill((const char *const[]){ "--store", path, "--class", long_class, NULL }, 2, "",
		   "bill --class with an over-long name: exit 2");
	check_bill((const char *const[]){ "--store", path, "--class", NULL }, 2, "",
		   "bill --class without a name: exit 2");

	if (!tap_check(make_v1(v1, NULL), "a version 1 fixture for `tollgate bill`"))
		return;
	check_bill((const char *const[]){ "--store", v1, "--format", "json", "--tenant", "globex",
					  NULL },
		   0,
		   "[\n{\"node\":\"edge-2\",\"tenant\":\"globex\",\"class\":\"internet\","
		   "\"direction\":\"ingress\",\"start\":\"2026-11-21T02:01:00Z\","
		   "\"end\":\"2026-11-21T02:02:00Z\",\"bytes\":5,\"packets\":1}\n]\n",
		   "bill of a version 1 file (read-only, not migrated): class internet");
	tap_check(sql_int(v1, "PRAGMA user_version", -1) == 1, "... and the file stays version 1");
}

static void test_open_errors(void)
{
	char path[PATH_MAX + 32];
	struct tg_store *s = (struct tg_store *)1;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/missing/none.db", tmpdir);
	tap_check(tg_store_open(path, 1, &s) == -ENOENT && !s, "read-only open of a missing file");
	tap_check(stat(path, &st) && errno == ENOENT, "... does not create it");

	snprintf(path, sizeof(path), "%s/future.db", tmpdir);
	sql_exec(path, "PRAGMA user_version = 3");
	tap_check(tg_store_open(path, 0, &s) == -EPROTO, "newer schema refused (read-write)");
	tap_check(tg_store_open(path, 1, &s) == -EPROTO, "newer schema refused (read-only)");

	snprintf(path, sizeof(path), "%s/garbage.db", tmpdir);
	f = fopen(path, "w");
	if (f) {
		fputs("this is not an SQLite database, just some text long enough to be read\n", f);
		fclose(f);
	}
	tap_check(tg_store_open(path, 0, &s) < 0, "a file that is not SQLite is refused");

	snprintf(path, sizeof(path), "%s/garbage.db/sub/x.db", tmpdir);
	tap_check(tg_store_open(path, 0, &s) == -ENOTDIR, "parent that is a file: -ENOTDIR");
}

static void test_readonly(void)
{
	const struct tg_sample smp = sample(1, "acme", IN, 99999, 999);
	struct tg_harvest h = harvest(1, T0, &smp, 1);
	struct tg_store *ro = NULL;

	tap_check(tg_store_open(dbpath, 1, &ro) == 0, "read-only open of an existing store");
	if (!ro)
		return;
	tap_check(billed(ro, "acme", -1).rows == 5, "read-only query sees the rows");
	tap_check(tg_store_harvest(ro, &h, NULL) == -EROFS, "read-only harvest: -EROFS");
	tg_store_close(ro);
}

static void test_reopen(struct tg_store **s)
{
	const struct tg_sample smp = sample(1, "acme", IN, 2277, 16);
	struct tg_harvest h = harvest(1, T0 + 180, &smp, 1);
	struct sums before = billed(*s, NULL, -1), after;
	uint64_t b = 1;

	tg_store_close(*s);
	*s = NULL;
	tap_check(tg_store_open(dbpath, 0, s) == 0, "reopen");
	if (!*s)
		return;
	after = billed(*s, NULL, -1);
	tap_check(after.bytes == before.bytes && after.rows == before.rows, "reopen keeps usage");
	tap_check(tg_store_harvest(*s, &h, &b) == 0 && b == 0, "reopen keeps cursors");
}

/* Prints into a memory buffer and compares with the expected text. */
static void check_print(const struct tg_bill_row *rows, size_t n, enum tg_format fmt,
			const char *want, const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		tap_check(0, "%s: open_memstream", name);
		return;
	}
	tg_bill_print(f, rows, n, fmt);
	fclose(f);
	if (!tap_check(!strcmp(buf, want), "%s", name))
		tap_diag("got:\n%s", buf);
	free(buf);
}

static const struct tg_bill_row out_rows[] = {
	{ "edge-1", "acme", "internet", IN, T0, T0 + 60, 1000, 10 },
	{ "edge-1", "acme", "internet", OUT, T0, T0 + 60, 2000, 20 },
	{ "edge-1", "glo,bex", "peer,ing", IN, T0 + 60, T0 + 120, 5, 1 },
	{ "edge-1", "acme", "internet", IN, T0 + 60, T0 + 120, 123456789012, 7 },
};

static void test_csv_json(void)
{
	const struct tg_bill_row quote = { "edge-1", "a\"b\\c\n", "x\"y", OUT, T0, T0 + 60, 1, 2 };

	check_print(
		out_rows, 3, TG_FMT_CSV,
		"node,tenant,class,direction,start,end,bytes,packets\n"
		"edge-1,acme,internet,ingress,2026-11-21T02:00:00Z,2026-11-21T02:01:00Z,1000,10\n"
		"edge-1,acme,internet,egress,2026-11-21T02:00:00Z,2026-11-21T02:01:00Z,2000,20\n"
		"edge-1,\"glo,bex\",\"peer,ing\",ingress,2026-11-21T02:01:00Z,"
		"2026-11-21T02:02:00Z,5,1\n",
		"CSV rows with the class, a comma in a name is quoted");
	check_print(NULL, 0, TG_FMT_CSV, "node,tenant,class,direction,start,end,bytes,packets\n",
		    "CSV with no rows: header only");
	check_print(out_rows, 2, TG_FMT_JSON,
		    "[\n"
		    "{\"node\":\"edge-1\",\"tenant\":\"acme\",\"class\":\"internet\","
		    "\"direction\":\"ingress\","
		    "\"start\":\"2026-11-21T02:00:00Z\",\"end\":\"2026-11-21T02:01:00Z\","
		    "\"bytes\":1000,\"packets\":10},\n"
		    "{\"node\":\"edge-1\",\"tenant\":\"acme\",\"class\":\"internet\","
		    "\"direction\":\"egress\","
		    "\"start\":\"2026-11-21T02:00:00Z\",\"end\":\"2026-11-21T02:01:00Z\","
		    "\"bytes\":2000,\"packets\":20}\n"
		    "]\n",
		    "JSON rows carry the class after the tenant");
	check_print(&quote, 1, TG_FMT_JSON,
		    "[\n{\"node\":\"edge-1\",\"tenant\":\"a\\\"b\\\\c\\n\",\"class\":\"x\\\"y\","
		    "\"direction\":\"egress\","
		    "\"start\":\"2026-11-21T02:00:00Z\",\"end\":\"2026-11-21T02:01:00Z\","
		    "\"bytes\":1,\"packets\":2}\n]\n",
		    "JSON escapes quote, backslash and newline");
	check_print(NULL, 0, TG_FMT_JSON, "[]\n", "JSON with no rows: []");
}

static void test_table(void)
{
	const struct tg_bill_row two_nodes[] = {
		{ "edge-1", "acme", "internet", IN, T0, T0 + 60, 1, 1 },
		{ "edge-2", "acme", "internet", OUT, T0, T0 + 60, 2, 1 },
	};
	const struct tg_bill_row two_classes[] = {
		{ "edge-1", "acme", "internet", IN, T0, T0 + 60, 1000, 10 },
		{ "edge-1", "acme", "internet", OUT, T0, T0 + 60, 2000, 20 },
		{ "edge-1", "acme", "peering", IN, T0, T0 + 60, 30, 3 },
		{ "edge-1", "acme", "peering", OUT, T0, T0 + 60, 40, 4 },
		{ "edge-1", "acme", "peering", IN, T0 + 60, T0 + 120, 5, 1 },
	};

	check_print(out_rows, 4, TG_FMT_TABLE,
		    "START                 END                   "
		    "TENANT   CLASS         IN BYTES  IN PKTS  OUT BYTES  OUT PKTS\n"
		    "2026-11-21T02:00:00Z  2026-11-21T02:01:00Z  "
		    "acme     internet          1000       10       2000        20\n"
		    "2026-11-21T02:01:00Z  2026-11-21T02:02:00Z  "
		    "glo,bex  peer,ing             5        1          0         0\n"
		    "2026-11-21T02:01:00Z  2026-11-21T02:02:00Z  "
		    "acme     internet  123456789012        7          0         0\n"
		    "\n"
		    "TOTAL\n"
		    "2026-11-21T02:00:00Z  2026-11-21T02:02:00Z  "
		    "acme     internet  123456790012       17       2000        20\n"
		    "2026-11-21T02:01:00Z  2026-11-21T02:02:00Z  "
		    "glo,bex  peer,ing             5        1          0         0\n",
		    "table merges directions and totals per tenant and class");
	check_print(two_nodes, 2, TG_FMT_TABLE,
		    "NODE    START                 END                   "
		    "TENANT  CLASS     IN BYTES  IN PKTS  OUT BYTES  OUT PKTS\n"
		    "edge-1  2026-11-21T02:00:00Z  2026-11-21T02:01:00Z  "
		    "acme    internet         1        1          0         0\n"
		    "edge-2  2026-11-21T02:00:00Z  2026-11-21T02:01:00Z  "
		    "acme    internet         0        0          2         1\n"
		    "\n"
		    "TOTAL\n"
		    "        2026-11-21T02:00:00Z  2026-11-21T02:01:00Z  "
		    "acme    internet         1        1          2         1\n",
		    "table shows a node column when rows span nodes");
	check_print(two_classes, 5, TG_FMT_TABLE,
		    "START                 END                   "
		    "TENANT  CLASS     IN BYTES  IN PKTS  OUT BYTES  OUT PKTS\n"
		    "2026-11-21T02:00:00Z  2026-11-21T02:01:00Z  "
		    "acme    internet      1000       10       2000        20\n"
		    "2026-11-21T02:00:00Z  2026-11-21T02:01:00Z  "
		    "acme    peering         30        3         40         4\n"
		    "2026-11-21T02:01:00Z  2026-11-21T02:02:00Z  "
		    "acme    peering          5        1          0         0\n"
		    "\n"
		    "TOTAL\n"
		    "2026-11-21T02:00:00Z  2026-11-21T02:01:00Z  "
		    "acme    internet      1000       10       2000        20\n"
		    "2026-11-21T02:00:00Z  2026-11-21T02:02:00Z  "
		    "acme    peering         35        4         40         4\n",
		    "table: two classes of a tenant get their own lines and totals");
	check_print(NULL, 0, TG_FMT_TABLE, "no billing rows in the selected range\n",
		    "empty table says so");
}

static const struct {
	const char *in;
	int64_t want;
} good_times[] = {
	{ "2026-11-21T02:00:00Z", T0 },
	{ "2026-11-21t02:00:00z", T0 },
	{ "2026-11-21T02:00:00.123456789Z", T0 },
	{ "2026-11-21T03:00:00+01:00", T0 },
	{ "2026-11-20T21:30:00-04:30", T0 },
	{ "2026-11-21T02:00:00+00:00", T0 },
	{ "2026-11-21", T0 - 7200 },
	{ "@1700000000", 1700000000 },
	{ "@0", 0 },
	{ "2024-02-29", 1709164800 },
	{ "2000-02-29", 951782400 },
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2026-12-31T23:59:59Z", 1798761599 },
};

static const char *const bad_times[] = {
	"",
	"2026-13-01",
	"2026-00-10",
	"2026-11-00",
	"2026-02-30",
	"2026-04-31",
	"2025-02-29",
	"1900-02-29",
	"2026-11-21T24:00:00Z",
	"2026-11-21T02:60:00Z",
	"2026-11-21T02:00:60Z",
	"2026-11-21T02:00:00",
	"2026-11-21T02:00Z",
	"2026-11-21 02:00:00Z",
	"2026-11-21T02:00:00+0100",
	"2026-11-21T02:00:00+24:00",
	"2026-11-21T02:00:00+01",
	"2026-11-21T02:00:00.Z",
	"2026-11-21T02:00:00Zjunk",
	"2026-11-21T",
	"2026-11-21X",
	"2026-1-21",
	"26-11-21",
	" 2026-11-21",
	"@",
	"@12a",
	"@+5",
	"@99999999999999999999",
	"yesterday",
};

static void test_time(void)
{
	const int64_t trips[] = { 0, T0, 1709164800, 4102444799, -86400 };
	char buf[64];
	int64_t t;
	size_t i;

	for (i = 0; i < sizeof(good_times) / sizeof(good_times[0]); i++) {
		int rc;

		t = 0;
		rc = tg_parse_time(good_times[i].in, &t);
		if (!tap_check(rc == 0 && t == good_times[i].want, "parse %s -> %" PRId64,
			       good_times[i].in, good_times[i].want))
			tap_diag("rc %d, got %" PRId64, rc, t);
	}
	for (i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++)
		tap_check(tg_parse_time(bad_times[i], &t) == -EINVAL, "reject \"%s\"",
			  bad_times[i]);
	tap_check(tg_parse_time(NULL, &t) == -EINVAL, "reject NULL");

	tg_format_time(T0, buf, sizeof(buf));
	tap_check(!strcmp(buf, "2026-11-21T02:00:00Z"), "format T0: %s", buf);
	for (i = 0; i < sizeof(trips) / sizeof(trips[0]); i++) {
		tg_format_time(trips[i], buf, sizeof(buf));
		tap_check(tg_parse_time(buf, &t) == 0 && t == trips[i], "round trip %s", buf);
	}
}

#define CRASH_TENANTS 24

static struct tg_harvest crash_harvest(struct tg_sample *smp, uint64_t k)
{
	char name[16];
	int i;

	for (i = 0; i < CRASH_TENANTS; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		smp[i] = sample(i + 1, name, IN, k * 1000, k);
	}
	return harvest(11, T0 + (int64_t)k * 60, smp, CRASH_TENANTS);
}

/* Harvest k carries cumulative k * 1000 bytes for every tenant. */
static void __attribute__((noreturn)) crash_child(const char *path)
{
	struct tg_sample smp[CRASH_TENANTS];
	struct tg_harvest h;
	struct tg_store *s;
	uint64_t k;

	if (tg_store_open(path, 0, &s))
		_exit(2);
	for (k = 1; k < 1000; k++) {
		h = crash_harvest(smp, k);
		if (tg_store_harvest(s, &h, NULL))
			_exit(3);
	}
	for (;;)
		pause();
}

static void check_after_crash(const char *path, int round)
{
	struct tg_sample smp[CRASH_TENANTS];
	struct tg_harvest h;
	uint64_t b = 0, want = 0;
	struct tg_store *s = NULL;
	int i, consistent = 1;
	char name[16];
	int64_t cur;

	if (!tap_check(tg_store_open(path, 0, &s) == 0, "round %d: reopen after SIGKILL", round))
		return;
	tap_check(sql_int(path, "SELECT integrity_check = 'ok' FROM pragma_integrity_check", 0),
		  "round %d: integrity check", round);
	for (i = 0; i < CRASH_TENANTS; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		cur = cursor_bytes(path, 11, i + 1, "ingress");
		cur = cur < 0 ? 0 : cur;
		consistent &= billed(s, name, IN).bytes == (uint64_t)cur && cur % 1000 == 0;
		want += 1000000 - (uint64_t)cur;
	}
	tap_diag("round %d: killed after %" PRId64 " harvests", round,
		 cursor_bytes(path, 11, 1, "ingress") / 1000);
	tap_check(consistent, "round %d: every tenant's usage equals its cursor", round);
	h = crash_harvest(smp, 1000);
	tap_check(tg_store_harvest(s, &h, &b) == 0 && b == want, "round %d: catch-up harvest",
		  round);
	for (i = 0; i < CRASH_TENANTS; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		consistent &= billed(s, name, IN).bytes == 1000000;
	}
	tap_check(consistent, "round %d: every tenant billed exactly 1,000,000", round);
	tg_store_close(s);
}

static void test_crash(void)
{
	char path[PATH_MAX + 32];
	int round, status = 0;
	pid_t pid;

	srand((unsigned int)getpid() ^ (unsigned int)time(NULL));
	for (round = 1; round <= 3; round++) {
		snprintf(path, sizeof(path), "%s/crash%d/tollgate.db", tmpdir, round);
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			crash_child(path);
		if (!tap_check(pid > 0, "round %d: fork", round))
			return;
		usleep(20000 + rand() % 60000);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		tap_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			  "round %d: child killed by SIGKILL", round);
		check_after_crash(path, round);
	}
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	struct tg_store *s = NULL;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_open(&s);
	if (s) {
		test_harvest(s);
		test_epoch(s);
		test_wrap(s);
		test_high_cursor(s);
		test_rollback(s);
		test_bad_args(s);
		test_readonly();
		test_reopen(&s);
		tg_store_close(s);
	}
	test_classes();
	test_migration();
	test_cli();
	test_open_errors();
	test_csv_json();
	test_table();
	test_time();
	test_crash();
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
