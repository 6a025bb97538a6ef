/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The billing store: usage rows and cursors in one SQLite file (docs/billing.md).
 *
 * Integers: SQLite INTEGER is signed 64-bit. The cumulative counters kept in the cursor
 * table are uint64 and are stored as their int64 bit pattern (a plain cast both ways), so
 * a counter above 2^63 survives the round trip exactly even though SQLite shows it as a
 * negative number. Usage rows hold deltas, which are refused above INT64_MAX (see
 * bill_sample()), so usage.bytes and usage.packets are always ordinary non-negative
 * integers that SUM() and other tools read correctly.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "json.h"
#include "store.h"
#include "store_pg.h"

#define TG_STORE_VERSION 2
#define TG_BUSY_TIMEOUT_MS 5000

#define STR_(x) #x
#define STR(x) STR_(x)

/* The class every byte of a version 1 file belongs to: it had no other (class 0). */
#define V1_CLASS_NAME "internet"

enum store_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_GET_CURSOR,
	ST_PUT_CURSOR,
	ST_ADD_USAGE,
	ST_QUERY,
	ST_MAX,
};

struct tg_store {
	struct tg_pg *pg; /* a PostgreSQL store (store_pg.c): nothing below is used */
	sqlite3 *db;
	char *path;
	bool readonly;
	int version; /* of the file's schema: older only when opened read-only */
	sqlite3_stmt *st[ST_MAX];
};

static const char *const dir_names[TG_DIR_MAX] = {
	[TG_DIR_INGRESS] = "ingress",
	[TG_DIR_EGRESS] = "egress",
};

/*
 * The tables of the current schema, without its version: what a new file gets, and what
 * the migration from an older version moves the rows into.
 *
 * interval_end and the typeof() checks guard against SQLite's silent conversions: an
 * integer overflow in "bytes + excluded.bytes" turns into a REAL, and the CHECK turns
 * that into a failed (rolled back) harvest instead of a rounded bill.
 *
 * Usage rows carry the class name (usage is billed under the name the class has at
 * harvest time); cursors carry the class id, because an id keeps its cumulative counter
 * when the configuration renames it, and a cursor keyed by name would bill that whole
 * counter again under the new name.
 */
static const char tables_sql[] =
	"CREATE TABLE usage (\n"
	"\tnode TEXT NOT NULL,\n"
	"\ttenant TEXT NOT NULL,\n"
	"\tclass TEXT NOT NULL CHECK (length(class) > 0),\n"
	"\tdirection TEXT NOT NULL CHECK (direction IN ('ingress', 'egress')),\n"
	"\tinterval_start INTEGER NOT NULL,\n"
	"\tinterval_end INTEGER NOT NULL CHECK (interval_end > interval_start),\n"
	"\tbytes INTEGER NOT NULL CHECK (typeof(bytes) = 'integer' AND bytes >= 0),\n"
	"\tpackets INTEGER NOT NULL CHECK (typeof(packets) = 'integer' AND packets >= 0),\n"
	"\tPRIMARY KEY (node, tenant, class, direction, interval_start)\n"
	");\n"
	"CREATE INDEX usage_by_start ON usage (interval_start);\n"
	"CREATE TABLE cursor (\n"
	"\tnode TEXT NOT NULL,\n"
	"\tepoch TEXT NOT NULL CHECK (length(epoch) = 32),\n"
	"\ttenant_id INTEGER NOT NULL,\n"
	"\tclass_id INTEGER NOT NULL CHECK (class_id >= 0),\n"
	"\tdirection TEXT NOT NULL CHECK (direction IN ('ingress', 'egress')),\n"
	"\tbytes INTEGER NOT NULL,\n"
	"\tpackets INTEGER NOT NULL,\n"
	"\tupdated INTEGER NOT NULL,\n"
	"\tPRIMARY KEY (node, epoch, tenant_id, class_id, direction)\n"
	");\n";

/*
 * Version 1 had no class dimension: its usage is all `internet` and its cursors are
 * those of class 0. SQLite cannot change a primary key in place, so the version 1
 * tables are renamed out of the way, the current ones created (tables_sql between the
 * two halves), the rows copied and the old tables dropped. The caller runs all of it in
 * one transaction: a crash leaves either the version 1 file or the version 2 one.
 */
static const char migrate_v1_before_sql[] = "DROP INDEX usage_by_start;\n"
					    "ALTER TABLE usage RENAME TO usage_v1;\n"
					    "ALTER TABLE cursor RENAME TO cursor_v1;\n";

static const char migrate_v1_after_sql[] =
	"INSERT INTO usage (node, tenant, class, direction, interval_start, interval_end,"
	" bytes, packets) SELECT node, tenant, '" V1_CLASS_NAME "', direction, interval_start,"
	" interval_end, bytes, packets FROM usage_v1;\n"
	"INSERT INTO cursor (node, epoch, tenant_id, class_id, direction, bytes, packets,"
	" updated) SELECT node, epoch, tenant_id, 0, direction, bytes, packets, updated"
	" FROM cursor_v1;\n"
	"DROP TABLE usage_v1;\n"
	"DROP TABLE cursor_v1;\n";

/*
 * The usage query, over a class column expression: the column itself, or for a version
 * 1 file (read-only opens do not migrate) the one class such a file knows. node sorts
 * before direction so that one node's ingress and egress rows of a tenant, class and
 * interval are adjacent, which is what the table format merges into one line.
 */
/* clang-format off */
#define QUERY_SQL(class)								\
	"SELECT node, tenant, " class ", direction, interval_start, interval_end,"	\
	" bytes, packets FROM usage"							\
	" WHERE (?1 IS NULL OR tenant = ?1) AND (?4 IS NULL OR " class " = ?4)"		\
	" AND (?5 IS NULL OR node = ?5)"						\
	" AND interval_start >= ?2 AND interval_start < ?3"				\
	" ORDER BY interval_start, tenant, " class ", node,"				\
	" CASE direction WHEN 'ingress' THEN 0 ELSE 1 END"
/* clang-format on */

static const char query_v1_sql[] = QUERY_SQL("'" V1_CLASS_NAME "'");

static const char *const stmt_sql[ST_MAX] = {
	/* IMMEDIATE takes the write lock up front: a harvest never fails half-way with
	 * SQLITE_BUSY when upgrading a read lock. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_GET_CURSOR] = "SELECT bytes, packets FROM cursor WHERE node = ?1 AND epoch = ?2"
			  " AND tenant_id = ?3 AND class_id = ?4 AND direction = ?5",
	[ST_PUT_CURSOR] = "INSERT INTO cursor (node, epoch, tenant_id, class_id, direction, bytes,"
			  " packets, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
			  " ON CONFLICT (node, epoch, tenant_id, class_id, direction) DO UPDATE SET"
			  " bytes = excluded.bytes, packets = excluded.packets,"
			  " updated = excluded.updated",
	[ST_ADD_USAGE] =
		"INSERT INTO usage (node, tenant, class, direction, interval_start,"
		" interval_end, bytes, packets) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (node, tenant, class, direction, interval_start) DO UPDATE SET"
		" bytes = bytes + excluded.bytes, packets = packets + excluded.packets,"
		" interval_end = max(interval_end, excluded.interval_end)",
	[ST_QUERY] = QUERY_SQL("class"),
};

/* Maps an SQLite result code to the errno the rest of Tollgate speaks. */
static int sql_errno(sqlite3 *db, int rc)
{
	int sys = db ? sqlite3_system_errno(db) : 0;

	switch (rc & 0xff) {
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		return sys > 0 ? -sys : -EIO;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	case SQLITE_TOOBIG:
		return -E2BIG;
	default:
		return -EIO;
	}
}

/* The one place SQLite errors are reported: names the file, says what failed. */
static int store_fail(const struct tg_store *s, const char *what, int rc)
{
	fprintf(stderr, "tollgate: billing store %s: %s: %s\n", s->path, what,
		s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	return sql_errno(s->db, rc);
}

/* Ends one use of a cached statement. rc is the last bind or step result. */
static int stmt_finish(struct tg_store *s, sqlite3_stmt *st, int rc, const char *what)
{
	int err = 0;

	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = store_fail(s, what, rc); /* before reset, which may clear the message */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

static int stmt_run(struct tg_store *s, enum store_stmt id, const char *what)
{
	sqlite3_stmt *st = s->st[id];

	return stmt_finish(s, st, sqlite3_step(st), what);
}

static int exec_sql(struct tg_store *s, const char *sql, const char *what)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_fail(s, what, rc);
}

/* mkdir -p of the directory holding path; 0750 because usage is customer data. */
static int make_parent_dirs(const char *path)
{
	char *dir = strdup(path);
	char *slash, *p;
	int err = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		for (p = dir + 1; !err; p++) {
			bool last = *p == '\0';

			if (*p != '/' && !last)
				continue;
			*p = '\0';
			if (mkdir(dir, 0750) && errno != EEXIST)
				err = -errno;
			if (last)
				break;
			*p = '/';
		}
		if (err)
			fprintf(stderr,
				"tollgate: billing store %s: cannot create directory %s: %s\n",
				path, dir, strerror(-err));
	}
	free(dir);
	return err;
}

static int read_user_version(struct tg_store *s, int *version)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, "cannot read the schema version", rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	rc = rc == SQLITE_ROW ? 0 : store_fail(s, "cannot read the schema version", rc);
	sqlite3_finalize(st);
	return rc;
}

static int check_version(const struct tg_store *s, int version)
{
	if (version >= 0 && version <= TG_STORE_VERSION)
		return 0;
	fprintf(stderr,
		"tollgate: billing store %s: schema version %d is not one this tollgate "
		"supports (up to %d); upgrade tollgate\n",
		s->path, version, TG_STORE_VERSION);
	return -EPROTO;
}

/* Brings a version 1 file to the current version; see migrate_v1_before_sql. */
static int migrate_v1(struct tg_store *s)
{
	int err = exec_sql(s, migrate_v1_before_sql, "cannot migrate the schema from version 1");

	if (!err)
		err = exec_sql(s, tables_sql, "cannot migrate the schema from version 1");
	if (!err)
		err = exec_sql(s, migrate_v1_after_sql, "cannot migrate the schema from version 1");
	return err;
}

/*
 * Creates the schema in a new file or migrates an older one, in one transaction. The
 * version is read again under the write lock: two agents (or an agent and `tollgate
 * bill`) opening the file at once must not both create or migrate the schema.
 */
static int upgrade_schema(struct tg_store *s)
{
	int version = 0;
	int err;

	err = exec_sql(s, "BEGIN IMMEDIATE", "cannot start the schema transaction");
	if (err)
		return err;
	err = read_user_version(s, &version);
	if (!err)
		err = check_version(s, version);
	if (!err && version == 0)
		err = exec_sql(s, tables_sql, "cannot create the schema");
	else if (!err && version == 1)
		err = migrate_v1(s);
	if (!err && version < TG_STORE_VERSION)
		err = exec_sql(s, "PRAGMA user_version = " STR(TG_STORE_VERSION),
			       "cannot set the schema version");
	if (!err)
		err = exec_sql(s, "COMMIT", "cannot commit the schema");
	if (err && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (!err && version && version < TG_STORE_VERSION)
		fprintf(stderr,
			"tollgate: billing store %s: migrated the schema from version %d to %d\n",
			s->path, version, TG_STORE_VERSION);
	if (!err)
		s->version = TG_STORE_VERSION;
	return err;
}

/* A read-only open does not migrate: it reads an older file as it is (prepare_all). */
static int setup_schema(struct tg_store *s)
{
	int version = 0;
	int err;

	err = read_user_version(s, &version);
	if (!err)
		err = check_version(s, version);
	if (err)
		return err;
	s->version = version;
	if (version == TG_STORE_VERSION)
		return 0;
	if (s->readonly && version == 0) {
		fprintf(stderr, "tollgate: billing store %s: has no Tollgate schema\n", s->path);
		return -ENODATA;
	}
	if (s->readonly)
		return 0;
	return upgrade_schema(s);
}

/*
 * WAL lets `tollgate bill` read while the agent writes. synchronous=FULL syncs the WAL at
 * every commit: with NORMAL a committed harvest could vanish on power loss, and the
 * cursor with it, while the kernel counters it covered are already considered billed.
 */
static int configure(struct tg_store *s)
{
	sqlite3_stmt *st;
	bool wal;
	int rc;

	sqlite3_busy_timeout(s->db, TG_BUSY_TIMEOUT_MS);
	if (s->readonly)
		return exec_sql(s, "PRAGMA foreign_keys = ON", "cannot configure");
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	wal = rc == SQLITE_ROW && !sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal");
	if (rc != SQLITE_ROW) {
		rc = store_fail(s, "cannot enable WAL", rc);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	if (!wal) {
		fprintf(stderr,
			"tollgate: billing store %s: the filesystem does not support "
			"SQLite WAL mode\n",
			s->path);
		return -EOPNOTSUPP;
	}
	return exec_sql(s, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
			"cannot configure");
}

/* An older file (read-only) gets only the query, in its version's form: the harvest
 * statements name columns it does not have, and a read-only store never harvests. */
static int prepare_all(struct tg_store *s)
{
	const char *sql;
	int i, rc;

	for (i = 0; i < ST_MAX; i++) {
		sql = stmt_sql[i];
		if (s->version < TG_STORE_VERSION && i != ST_QUERY)
			continue;
		if (s->version == 1 && i == ST_QUERY)
			sql = query_v1_sql;
		rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK)
			return store_fail(s, "cannot prepare statements", rc);
	}
	return 0;
}

static int check_exists(const char *path)
{
	struct stat st;
	int err;

	if (!stat(path, &st))
		return 0;
	err = -errno;
	fprintf(stderr, "tollgate: billing store %s: %s\n", path, strerror(-err));
	return err;
}

bool tg_store_is_pg(const char *path)
{
	return path && (!strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11));
}

void tg_store_display(const char *path, char *buf, size_t len)
{
	if (tg_store_is_pg(path))
		tg_pg_url_redact(path, buf, len);
	else if (buf && len)
		snprintf(buf, len, "%s", path ? path : "");
}

static int open_pg(const char *url, int readonly, const char *spool, struct tg_store **out)
{
	struct tg_store *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	err = tg_pg_open(url, readonly, spool, &s->pg);
	if (err) {
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

int tg_store_open_spooled(const char *path, const char *spool, struct tg_store **out)
{
	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	if (tg_store_is_pg(path))
		return open_pg(path, 0, spool, out);
	return tg_store_open(path, 0, out);
}

int tg_store_tick(struct tg_store *s)
{
	return s && s->pg ? tg_pg_tick(s->pg) : 0;
}

size_t tg_store_spooled(const struct tg_store *s)
{
	return s && s->pg ? tg_pg_spooled(s->pg) : 0;
}

int tg_store_open(const char *path, int readonly, struct tg_store **out)
{
	struct tg_store *s;
	int flags, err, rc;

	if (!path || !*path || !out)
		return -EINVAL;
	*out = NULL;
	if (tg_store_is_pg(path))
		return open_pg(path, readonly, NULL, out);
	err = readonly ? check_exists(path) : make_parent_dirs(path);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return -ENOMEM;
	}
	s->readonly = readonly;
	flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	err = rc == SQLITE_OK ? 0 : store_fail(s, "cannot open", rc);
	if (!err)
		err = configure(s);
	if (!err)
		err = setup_schema(s);
	if (!err)
		err = prepare_all(s);
	if (err) {
		tg_store_close(s);
		return err;
	}
	*out = s;
	return 0;
}

void tg_store_close(struct tg_store *s)
{
	int i;

	if (!s)
		return;
	if (s->pg) {
		tg_pg_close(s->pg);
		free(s);
		return;
	}
	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* What one harvest shares across its samples. */
struct harvest_ctx {
	const struct tg_harvest *h;
	char epoch[33];
	int64_t end;
	int64_t now;
	uint64_t billed;
};

struct cumulative {
	uint64_t bytes, packets;
};

static int bind_cursor_key(sqlite3_stmt *st, const struct harvest_ctx *c,
			   const struct tg_sample *smp)
{
	int rc = sqlite3_bind_text(st, 1, c->h->node, -1, SQLITE_STATIC);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, c->epoch, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, smp->tenant_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, smp->class_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 5, dir_names[smp->dir], -1, SQLITE_STATIC);
	return rc;
}

/* No cursor means the epoch is new to this store: its counters started from zero. */
static int get_cursor(struct tg_store *s, const struct harvest_ctx *c, const struct tg_sample *smp,
		      struct cumulative *prev)
{
	sqlite3_stmt *st = s->st[ST_GET_CURSOR];
	int rc = bind_cursor_key(st, c, smp);

	prev->bytes = 0;
	prev->packets = 0;
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		/* int64 bit pattern back to the uint64 it was stored from */
		prev->bytes = (uint64_t)sqlite3_column_int64(st, 0);
		prev->packets = (uint64_t)sqlite3_column_int64(st, 1);
	}
	return stmt_finish(s, st, rc, "cannot read a cursor");
}

static int put_cursor(struct tg_store *s, const struct harvest_ctx *c, const struct tg_sample *smp)
{
	sqlite3_stmt *st = s->st[ST_PUT_CURSOR];
	int rc = bind_cursor_key(st, c, smp);

	/* uint64 stored as its int64 bit pattern (see the top of this file) */
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 6, (int64_t)smp->bytes);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 7, (int64_t)smp->packets);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 8, c->now);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	return stmt_finish(s, st, rc, "cannot write a cursor");
}

static int add_usage(struct tg_store *s, const struct harvest_ctx *c, const struct tg_sample *smp,
		     const struct cumulative *delta)
{
	sqlite3_stmt *st = s->st[ST_ADD_USAGE];
	int rc = sqlite3_bind_text(st, 1, c->h->node, -1, SQLITE_STATIC);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, smp->tenant, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, smp->class_name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, dir_names[smp->dir], -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, c->h->interval_start);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 6, c->end);
	/* deltas are at most INT64_MAX here, so the casts keep their values */
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 7, (int64_t)delta->bytes);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 8, (int64_t)delta->packets);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	return stmt_finish(s, st, rc, "cannot add usage");
}

static int check_sample(const struct tg_store *s, const struct tg_sample *smp)
{
	size_t len = strnlen(smp->tenant, sizeof(smp->tenant));
	size_t class_len = strnlen(smp->class_name, sizeof(smp->class_name));
	const char *why = NULL;

	if (smp->dir < 0 || smp->dir >= TG_DIR_MAX)
		why = "an invalid direction";
	else if (len == 0 || len == sizeof(smp->tenant))
		why = "an empty or unterminated name";
	else if (smp->class_id >= TG_MAX_CLASSES)
		why = "a class id out of range (0 to " STR(TG_MAX_CLASSES) " exclusive)";
	else if (class_len == 0 || class_len == sizeof(smp->class_name))
		why = "an empty or unterminated class name";
	if (!why)
		return 0;
	fprintf(stderr,
		"tollgate: billing store %s: harvest refused: the sample of tenant id %" PRIu32
		" class id %" PRIu32 " has %s\n",
		s->path, smp->tenant_id, smp->class_id, why);
	return -EINVAL;
}

/*
 * Samples are checked as they are billed rather than all up front: a bad one makes the
 * caller roll back the samples already applied, which keeps exactly one path (the
 * rollback) responsible for "nothing half-applied".
 */
static int bill_sample(struct tg_store *s, struct harvest_ctx *c, const struct tg_sample *smp)
{
	struct cumulative prev, delta;
	int err;

	err = check_sample(s, smp);
	if (!err)
		err = get_cursor(s, c, smp, &prev);
	if (err)
		return err;
	/* Unsigned subtraction is modulo 2^64: a counter that wrapped past 2^64 since the
	 * cursor still yields the exact number of bytes counted in between. */
	delta.bytes = smp->bytes - prev.bytes;
	delta.packets = smp->packets - prev.packets;
	/* More than 2^63 in one harvest is not traffic (that is 9 EB); it is a counter that
	 * went backwards within an epoch. Billing it would invoice exabytes. */
	if (delta.bytes > INT64_MAX || delta.packets > INT64_MAX) {
		fprintf(stderr,
			"tollgate: billing store %s: harvest refused: tenant %s class %s %s went "
			"backwards (%" PRIu64 " bytes after %" PRIu64 ") in epoch %s\n",
			s->path, smp->tenant, smp->class_name, dir_names[smp->dir], smp->bytes,
			prev.bytes, c->epoch);
		return -ERANGE;
	}
	if (delta.bytes || delta.packets)
		err = add_usage(s, c, smp, &delta);
	if (!err)
		err = put_cursor(s, c, smp);
	if (!err)
		c->billed += delta.bytes;
	return err;
}

static int check_harvest(const struct tg_store *s, const struct tg_harvest *h)
{
	size_t node_max = sizeof(((struct tg_bill_row *)NULL)->node);
	const char *why = NULL;

	if (s->readonly) {
		fprintf(stderr, "tollgate: billing store %s: opened read-only\n", s->path);
		return -EROFS;
	}
	if (!h->node || !*h->node || strlen(h->node) >= node_max)
		why = "the node name is empty or longer than 63 bytes";
	else if (h->interval == 0 || h->interval_start > INT64_MAX - (int64_t)h->interval)
		why = "the interval is zero or its end overflows";
	else if (h->n_samples && !h->samples)
		why = "samples are missing";
	if (!why)
		return 0;
	fprintf(stderr, "tollgate: billing store %s: harvest refused: %s\n", s->path, why);
	return -EINVAL;
}

int tg_store_harvest(struct tg_store *s, const struct tg_harvest *h, uint64_t *billed_bytes)
{
	struct harvest_ctx c = { .h = h };
	size_t i;
	int err;

	if (billed_bytes)
		*billed_bytes = 0;
	if (!s || !h)
		return -EINVAL;
	if (s->pg)
		return tg_pg_harvest(s->pg, h, billed_bytes);
	err = check_harvest(s, h);
	if (err)
		return err;
	snprintf(c.epoch, sizeof(c.epoch), "%016" PRIx64 "%016" PRIx64, h->epoch[0], h->epoch[1]);
	c.end = h->interval_start + h->interval;
	c.now = time(NULL);

	err = stmt_run(s, ST_BEGIN, "cannot start the harvest transaction");
	if (err)
		return err;
	for (i = 0; i < h->n_samples && !err; i++)
		err = bill_sample(s, &c, &h->samples[i]);
	if (!err)
		err = stmt_run(s, ST_COMMIT, "cannot commit the harvest");
	/* A failed COMMIT can leave the transaction open; ROLLBACK closes it either way. */
	if (err && !sqlite3_get_autocommit(s->db))
		stmt_run(s, ST_ROLLBACK, "cannot roll back the harvest");
	if (!err && billed_bytes)
		*billed_bytes = c.billed;
	return err;
}

static int dir_from_name(const char *name)
{
	int d;

	for (d = 0; d < TG_DIR_MAX; d++)
		if (name && !strcmp(name, dir_names[d]))
			return d;
	return -1;
}

static int copy_text(char *dst, size_t len, const unsigned char *src)
{
	if (!src || strlen((const char *)src) >= len)
		return -EPROTO;
	strcpy(dst, (const char *)src);
	return 0;
}

static int read_row(const struct tg_store *s, sqlite3_stmt *st, struct tg_bill_row *r)
{
	int err = copy_text(r->node, sizeof(r->node), sqlite3_column_text(st, 0));

	if (!err)
		err = copy_text(r->tenant, sizeof(r->tenant), sqlite3_column_text(st, 1));
	if (!err)
		err = copy_text(r->class_name, sizeof(r->class_name), sqlite3_column_text(st, 2));
	r->dir = dir_from_name((const char *)sqlite3_column_text(st, 3));
	if (err || r->dir < 0) {
		fprintf(stderr,
			"tollgate: billing store %s: a usage row has an over-long name "
			"or a bad direction\n",
			s->path);
		return -EPROTO;
	}
	r->start = sqlite3_column_int64(st, 4);
	r->end = sqlite3_column_int64(st, 5);
	r->bytes = (uint64_t)sqlite3_column_int64(st, 6);
	r->packets = (uint64_t)sqlite3_column_int64(st, 7);
	return 0;
}

static int bind_query(sqlite3_stmt *st, const struct tg_bill_query *q)
{
	int rc;

	if (q && q->tenant)
		rc = sqlite3_bind_text(st, 1, q->tenant, -1, SQLITE_STATIC);
	else
		rc = sqlite3_bind_null(st, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, q ? q->from : INT64_MIN);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, q ? q->to : INT64_MAX);
	if (rc == SQLITE_OK && q && q->class_name)
		rc = sqlite3_bind_text(st, 4, q->class_name, -1, SQLITE_STATIC);
	else if (rc == SQLITE_OK)
		rc = sqlite3_bind_null(st, 4);
	if (rc == SQLITE_OK && q && q->node)
		rc = sqlite3_bind_text(st, 5, q->node, -1, SQLITE_STATIC);
	else if (rc == SQLITE_OK)
		rc = sqlite3_bind_null(st, 5);
	return rc;
}

static int grow_rows(struct tg_bill_row **rows, size_t *cap, size_t n)
{
	struct tg_bill_row *r;
	size_t want;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : 64;
	r = reallocarray(*rows, want, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*rows = r;
	*cap = want;
	return 0;
}

int tg_store_query(struct tg_store *s, const struct tg_bill_query *q, struct tg_bill_row **rows,
		   size_t *n)
{
	struct tg_bill_row *out = NULL;
	size_t cap = 0, cnt = 0;
	sqlite3_stmt *st;
	int err = 0, rc;

	if (!s || !rows || !n)
		return -EINVAL;
	if (s->pg)
		return tg_pg_query(s->pg, q, rows, n);
	st = s->st[ST_QUERY];
	rc = bind_query(st, q);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		err = grow_rows(&out, &cap, cnt);
		if (!err)
			err = read_row(s, st, &out[cnt++]);
		if (err)
			break;
	}
	rc = stmt_finish(s, st, err ? SQLITE_OK : rc, "cannot query usage");
	if (!err)
		err = rc;
	if (err) {
		free(out);
		return err;
	}
	*rows = out;
	*n = cnt;
	return 0;
}

const char *tg_dir_name(int dir)
{
	return dir >= 0 && dir < TG_DIR_MAX ? dir_names[dir] : "unknown";
}

/* RFC 4180: quote only when needed, so ordinary names stay readable. */
static void put_csv_field(FILE *out, const char *v)
{
	const char *p;

	if (!strpbrk(v, ",\"\r\n")) {
		fputs(v, out);
		return;
	}
	fputc('"', out);
	for (p = v; *p; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

static void print_csv(FILE *out, const struct tg_bill_row *rows, size_t n)
{
	char start[32], end[32];
	size_t i;

	fputs("node,tenant,class,direction,start,end,bytes,packets\n", out);
	for (i = 0; i < n; i++) {
		tg_format_time(rows[i].start, start, sizeof(start));
		tg_format_time(rows[i].end, end, sizeof(end));
		put_csv_field(out, rows[i].node);
		fputc(',', out);
		put_csv_field(out, rows[i].tenant);
		fputc(',', out);
		put_csv_field(out, rows[i].class_name);
		fprintf(out, ",%s,%s,%s,%" PRIu64 ",%" PRIu64 "\n", tg_dir_name(rows[i].dir), start,
			end, rows[i].bytes, rows[i].packets);
	}
}

/* One object per line: a valid JSON array that grep and diff still handle. */
static void print_json(FILE *out, const struct tg_bill_row *rows, size_t n)
{
	char start[32], end[32];
	size_t i;

	fputc('[', out);
	for (i = 0; i < n; i++) {
		tg_format_time(rows[i].start, start, sizeof(start));
		tg_format_time(rows[i].end, end, sizeof(end));
		fputs(i ? ",\n" : "\n", out);
		fputs("{\"node\":", out);
		tg_json_string(out, rows[i].node);
		fputs(",\"tenant\":", out);
		tg_json_string(out, rows[i].tenant);
		fputs(",\"class\":", out);
		tg_json_string(out, rows[i].class_name);
		fprintf(out,
			",\"direction\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"bytes\":%" PRIu64
			",\"packets\":%" PRIu64 "}",
			tg_dir_name(rows[i].dir), start, end, rows[i].bytes, rows[i].packets);
	}
	fputs(n ? "\n]\n" : "]\n", out);
}

/* A table line: one node's ingress and egress of one tenant, class and interval, or a
 * total. */
struct bill_line {
	const char *node;
	const char *tenant;
	const char *class_name;
	int64_t start, end;
	uint64_t num[4]; /* in bytes, in packets, out bytes, out packets */
};

struct table_widths {
	bool show_node;
	int node, tenant, class_name, num[4];
};

static const char *const num_heads[4] = { "IN BYTES", "IN PKTS", "OUT BYTES", "OUT PKTS" };

static void line_add(struct bill_line *l, const struct tg_bill_row *r)
{
	int col = r->dir == TG_DIR_INGRESS ? 0 : 2;

	l->num[col] += r->bytes;
	l->num[col + 1] += r->packets;
	if (r->start < l->start)
		l->start = r->start;
	if (r->end > l->end)
		l->end = r->end;
}

static void line_init(struct bill_line *l, const struct tg_bill_row *r, bool with_node)
{
	memset(l, 0, sizeof(*l));
	l->node = with_node ? r->node : NULL;
	l->tenant = r->tenant;
	l->class_name = r->class_name;
	l->start = r->start;
	l->end = r->end;
}

/* Merges rows[i..] sharing node, tenant, class and start into *l; returns the next
 * index. Only adjacent rows merge, which tg_store_query()'s order guarantees. */
static size_t next_line(const struct tg_bill_row *rows, size_t n, size_t i, struct bill_line *l)
{
	size_t j;

	line_init(l, &rows[i], true);
	for (j = i; j < n; j++) {
		if (rows[j].start != rows[i].start || strcmp(rows[j].tenant, rows[i].tenant) ||
		    strcmp(rows[j].class_name, rows[i].class_name) ||
		    strcmp(rows[j].node, rows[i].node))
			break;
		line_add(l, &rows[j]);
	}
	return j;
}

static int cmp_row_cell(const void *a, const void *b)
{
	const struct tg_bill_row *const *x = a;
	const struct tg_bill_row *const *y = b;
	int c = strcmp((*x)->tenant, (*y)->tenant);

	return c ? c : strcmp((*x)->class_name, (*y)->class_name);
}

/* Per tenant and class sums over the whole selection, sorted by tenant, then class. */
static struct bill_line *cell_totals(const struct tg_bill_row *rows, size_t n, size_t *nt)
{
	const struct tg_bill_row **idx = calloc(n, sizeof(*idx));
	struct bill_line *tot = calloc(n, sizeof(*tot));
	size_t i, k = 0;

	if (!idx || !tot) {
		free(idx);
		free(tot);
		return NULL;
	}
	for (i = 0; i < n; i++)
		idx[i] = &rows[i];
	qsort(idx, n, sizeof(*idx), cmp_row_cell);
	for (i = 0; i < n; i++) {
		if (!k || cmp_row_cell(&idx[i], &idx[i - 1]))
			line_init(&tot[k++], idx[i], false);
		line_add(&tot[k - 1], idx[i]);
	}
	free(idx);
	*nt = k;
	return tot;
}

static int num_width(uint64_t v)
{
	int w = 1;

	for (; v >= 10; v /= 10)
		w++;
	return w;
}

static void fit_line(struct table_widths *w, const struct bill_line *l)
{
	int i, len;

	len = l->node ? (int)strlen(l->node) : 0;
	if (len > w->node)
		w->node = len;
	len = (int)strlen(l->tenant);
	if (len > w->tenant)
		w->tenant = len;
	len = (int)strlen(l->class_name);
	if (len > w->class_name)
		w->class_name = len;
	for (i = 0; i < 4; i++)
		if (num_width(l->num[i]) > w->num[i])
			w->num[i] = num_width(l->num[i]);
}

static void print_line(FILE *out, const struct table_widths *w, const struct bill_line *l)
{
	char start[32], end[32];
	int i;

	tg_format_time(l->start, start, sizeof(start));
	tg_format_time(l->end, end, sizeof(end));
	if (w->show_node)
		fprintf(out, "%-*s  ", w->node, l->node ? l->node : "");
	fprintf(out, "%-20s  %-20s  %-*s  %-*s", start, end, w->tenant, l->tenant, w->class_name,
		l->class_name);
	for (i = 0; i < 4; i++)
		fprintf(out, "  %*" PRIu64, w->num[i], l->num[i]);
	fputc('\n', out);
}

static void print_head(FILE *out, const struct table_widths *w)
{
	int i;

	if (w->show_node)
		fprintf(out, "%-*s  ", w->node, "NODE");
	fprintf(out, "%-20s  %-20s  %-*s  %-*s", "START", "END", w->tenant, "TENANT", w->class_name,
		"CLASS");
	for (i = 0; i < 4; i++)
		fprintf(out, "  %*s", w->num[i], num_heads[i]);
	fputc('\n', out);
}

static void table_widths_init(struct table_widths *w, const struct tg_bill_row *rows, size_t n)
{
	size_t i;
	int c;

	memset(w, 0, sizeof(*w));
	w->node = (int)strlen("NODE");
	w->tenant = (int)strlen("TENANT");
	w->class_name = (int)strlen("CLASS");
	for (c = 0; c < 4; c++)
		w->num[c] = (int)strlen(num_heads[c]);
	/* The node column only earns its width when the selection spans several nodes. */
	for (i = 1; i < n; i++)
		if (strcmp(rows[i].node, rows[0].node))
			w->show_node = true;
}

static void print_table(FILE *out, const struct tg_bill_row *rows, size_t n)
{
	struct table_widths w;
	struct bill_line l, *tot;
	size_t i, nt = 0;

	if (!n) {
		fputs("no billing rows in the selected range\n", out);
		return;
	}
	tot = cell_totals(rows, n, &nt);
	if (!tot) {
		fputs("tollgate: out of memory while printing the bill\n", stderr);
		return;
	}
	table_widths_init(&w, rows, n);
	for (i = 0; i < n;) {
		i = next_line(rows, n, i, &l);
		fit_line(&w, &l);
	}
	for (i = 0; i < nt; i++)
		fit_line(&w, &tot[i]);
	print_head(out, &w);
	for (i = 0; i < n;) {
		i = next_line(rows, n, i, &l);
		print_line(out, &w, &l);
	}
	fputs("\nTOTAL\n", out);
	for (i = 0; i < nt; i++)
		print_line(out, &w, &tot[i]);
	free(tot);
}

void tg_bill_print(FILE *out, const struct tg_bill_row *rows, size_t n, enum tg_format fmt)
{
	if (!rows)
		n = 0;
	switch (fmt) {
	case TG_FMT_CSV:
		print_csv(out, rows, n);
		break;
	case TG_FMT_JSON:
		print_json(out, rows, n);
		break;
	case TG_FMT_TABLE:
	default:
		print_table(out, rows, n);
		break;
	}
}

/* Reads exactly n decimal digits; isdigit() would depend on the locale. */
static bool take_digits(const char **p, int n, int *val)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*val = v;
	return true;
}

static bool take_char(const char **p, const char *set)
{
	if (!**p || !strchr(set, **p))
		return false;
	(*p)++;
	return true;
}

static int days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* YYYY-MM-DD; timegm() would quietly turn Feb 30 into Mar 2, so ranges are checked. */
static bool take_date(const char **p, struct tm *tm)
{
	int y, m, d;

	if (!take_digits(p, 4, &y) || !take_char(p, "-") || !take_digits(p, 2, &m) ||
	    !take_char(p, "-") || !take_digits(p, 2, &d))
		return false;
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return false;
	tm->tm_year = y - 1900;
	tm->tm_mon = m - 1;
	tm->tm_mday = d;
	return true;
}

/* HH:MM:SS[.fraction]; the fraction is dropped because bills are in whole seconds. */
static bool take_clock(const char **p, struct tm *tm)
{
	int h, m, sec;

	if (!take_digits(p, 2, &h) || !take_char(p, ":") || !take_digits(p, 2, &m) ||
	    !take_char(p, ":") || !take_digits(p, 2, &sec))
		return false;
	if (h > 23 || m > 59 || sec > 59)
		return false;
	if (take_char(p, ".")) {
		if (!take_char(p, "0123456789"))
			return false;
		while (take_char(p, "0123456789"))
			;
	}
	tm->tm_hour = h;
	tm->tm_min = m;
	tm->tm_sec = sec;
	return true;
}

/* Z or +HH:MM / -HH:MM, as seconds east of UTC. */
static bool take_offset(const char **p, int *off)
{
	int sign, h, m;

	if (take_char(p, "Zz")) {
		*off = 0;
		return true;
	}
	if (!**p || !strchr("+-", **p))
		return false;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!take_digits(p, 2, &h) || !take_char(p, ":") || !take_digits(p, 2, &m) || h > 23 ||
	    m > 59)
		return false;
	*off = sign * (h * 3600 + m * 60);
	return true;
}

static int parse_unix(const char *s, int64_t *out)
{
	const char *digits = *s == '-' ? s + 1 : s;
	const char *p;
	long long v;
	char *end;

	for (p = digits; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	if (p == digits)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int tg_parse_time(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *p = s;
	int off = 0;

	if (!s || !out)
		return -EINVAL;
	if (*s == '@')
		return parse_unix(s + 1, out);
	if (!take_date(&p, &tm))
		return -EINVAL;
	if (*p && (!take_char(&p, "Tt") || !take_clock(&p, &tm) || !take_offset(&p, &off)))
		return -EINVAL;
	if (*p)
		return -EINVAL;
	*out = (int64_t)timegm(&tm) - off;
	return 0;
}

void tg_format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!buf || !len)
		return;
	/* Outside what struct tm can hold: fall back to a form tg_parse_time() reads. */
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "@%" PRId64, t);
}
