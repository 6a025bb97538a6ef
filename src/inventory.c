/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The runtime inventory (src/inventory.h, docs/relevance.md): one SQLite file with one
 * row per (tenant, path, kind), first and last sight in Unix seconds.
 *
 * Crash safety: WAL with synchronous=NORMAL. Every add is its own transaction; a crash of
 * the agent (or SIGKILL) at any instant leaves the file consistent with every committed
 * add in it; a power loss can lose the last adds (not fsynced per event, which at event
 * rates would cost an fsync each), never corrupt the file. A lost first sight is reported
 * again: the kernel forgets its "already reported" set when the agent restarts.
 *
 * The file is created 0600 (it names what tenants run) before SQLite opens it; SQLite
 * gives the -wal and -shm files the mode of the database file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "inventory.h"

#define INV_VERSION 1
#define INV_BUSY_TIMEOUT_MS 5000

struct tg_inventory {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *add;
	sqlite3_stmt *each;
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS inventory (\n"
	"\ttenant TEXT NOT NULL CHECK (length(tenant) > 0),\n"
	"\tpath TEXT NOT NULL CHECK (substr(path, 1, 1) = '/'),\n"
	"\tkind INTEGER NOT NULL CHECK (kind IN (1, 2)),\n"
	"\tfirst_seen INTEGER NOT NULL CHECK (typeof(first_seen) = 'integer'),\n"
	"\tlast_seen INTEGER NOT NULL CHECK (last_seen >= first_seen),\n"
	"\tPRIMARY KEY (tenant, path, kind)\n"
	") WITHOUT ROWID;\n"
	/* relevance looks files up by path across tenants */
	"CREATE INDEX IF NOT EXISTS inventory_by_path ON inventory (path);\n"
	"PRAGMA user_version = 1;\n";

/* A known (tenant, path, kind) keeps its first sight and only moves its last; an add
 * that arrives late (an older time) moves the first sight back instead. */
static const char add_sql[] = "INSERT INTO inventory (tenant, path, kind, first_seen, last_seen)"
			      " VALUES (?1, ?2, ?3, ?4, ?4)"
			      " ON CONFLICT (tenant, path, kind) DO UPDATE SET"
			      " first_seen = min(first_seen, excluded.first_seen),"
			      " last_seen = max(last_seen, excluded.last_seen)";

static const char each_sql[] = "SELECT tenant, path, kind, first_seen, last_seen FROM inventory"
			       " WHERE ?1 IS NULL OR tenant = ?1"
			       " ORDER BY tenant, path, kind";

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
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int inv_fail(const struct tg_inventory *inv, const char *what, int rc)
{
	fprintf(stderr, "tollgate: inventory %s: %s: %s\n", inv->path, what,
		inv->db ? sqlite3_errmsg(inv->db) : sqlite3_errstr(rc));
	return sql_errno(inv->db, rc);
}

/* mkdir -p of the directory holding path, new directories 0700. */
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
			if (mkdir(dir, 0700) && errno != EEXIST)
				err = -errno;
			if (last)
				break;
			*p = '/';
		}
		if (err)
			fprintf(stderr, "tollgate: inventory %s: cannot create directory %s: %s\n",
				path, dir, strerror(-err));
	}
	free(dir);
	return err;
}

/* Creates the file 0600 when missing (whatever the umask: fchmod), and refuses anything
 * that is not a regular file. An existing file's mode is fixed only once it has opened as
 * an inventory (tighten_mode): a file that is not one is left as it was. */
static int create_file(const char *path)
{
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "tollgate: inventory %s: %s\n", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
	}
	if (err)
		fprintf(stderr, "tollgate: inventory %s: %s\n", path,
			err == -EINVAL ? "not a regular file" : strerror(-err));
	else if (st.st_size == 0 && (st.st_mode & 0777) != 0600 && fchmod(fd, 0600))
		err = -errno;
	close(fd);
	return err;
}

static int tighten_mode(const struct tg_inventory *inv)
{
	struct stat st;

	if (stat(inv->path, &st) || ((st.st_mode & 0777) != 0600 && chmod(inv->path, 0600))) {
		fprintf(stderr, "tollgate: inventory %s: cannot make it 0600: %s\n", inv->path,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int exec_sql(struct tg_inventory *inv, const char *sql, const char *what)
{
	int rc = sqlite3_exec(inv->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : inv_fail(inv, what, rc);
}

static int configure(struct tg_inventory *inv)
{
	sqlite3_stmt *st;
	int rc, version = -1;
	bool wal;

	sqlite3_busy_timeout(inv->db, INV_BUSY_TIMEOUT_MS);
	rc = sqlite3_prepare_v2(inv->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = inv_fail(inv, "cannot enable WAL", rc);
		sqlite3_finalize(st);
		return rc;
	}
	wal = !sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	if (!wal) {
		fprintf(stderr,
			"tollgate: inventory %s: the filesystem does not support "
			"SQLite WAL mode\n",
			inv->path);
		return -EOPNOTSUPP;
	}
	rc = exec_sql(inv, "PRAGMA synchronous = NORMAL", "cannot configure");
	if (rc)
		return rc;

	rc = sqlite3_prepare_v2(inv->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version < 0)
		return inv_fail(inv, "cannot read the schema version", SQLITE_ERROR);
	if (version > INV_VERSION) {
		fprintf(stderr,
			"tollgate: inventory %s: schema version %d is newer than this tollgate "
			"supports (%d)\n",
			inv->path, version, INV_VERSION);
		return -EPROTO;
	}
	if (version == INV_VERSION)
		return 0;
	/* One transaction, so two openers racing both end with the same schema. */
	rc = exec_sql(inv, "BEGIN IMMEDIATE", "cannot create the schema");
	if (!rc)
		rc = exec_sql(inv, schema_sql, "cannot create the schema");
	if (!rc)
		rc = exec_sql(inv, "COMMIT", "cannot create the schema");
	if (rc && !sqlite3_get_autocommit(inv->db))
		sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int tg_inventory_open(const char *path, struct tg_inventory **out)
{
	struct tg_inventory *inv;
	int err, rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path || path[0] != '/') {
		fprintf(stderr, "tollgate: inventory '%s': the path must be absolute\n",
			path ? path : "");
		return -EINVAL;
	}
	err = make_parent_dirs(path);
	if (!err)
		err = create_file(path);
	if (err)
		return err;
	inv = calloc(1, sizeof(*inv));
	if (!inv || !(inv->path = strdup(path))) {
		free(inv);
		return -ENOMEM;
	}
	rc = sqlite3_open_v2(path, &inv->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	err = rc == SQLITE_OK ? 0 : inv_fail(inv, "cannot open", rc);
	if (!err)
		err = configure(inv);
	if (!err)
		err = tighten_mode(inv);
	if (!err) {
		rc = sqlite3_prepare_v3(inv->db, add_sql, -1, SQLITE_PREPARE_PERSISTENT, &inv->add,
					NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_prepare_v3(inv->db, each_sql, -1, SQLITE_PREPARE_PERSISTENT,
						&inv->each, NULL);
		if (rc != SQLITE_OK)
			err = inv_fail(inv, "cannot prepare statements", rc);
	}
	if (err) {
		tg_inventory_close(inv);
		return err;
	}
	*out = inv;
	return 0;
}

int tg_inventory_add(struct tg_inventory *inv, const char *tenant, const char *path,
		     enum tg_inv_kind kind, int64_t time_s)
{
	sqlite3_stmt *st;
	int rc, err = 0;

	if (!inv || !tenant || !*tenant || !path || path[0] != '/' ||
	    (kind != TG_INV_EXEC && kind != TG_INV_LIB) || time_s < 0)
		return -EINVAL;
	st = inv->add;
	rc = sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, kind);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, time_s);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		err = inv_fail(inv, "cannot record", rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

int tg_inventory_each(struct tg_inventory *inv, const char *tenant, tg_inventory_fn fn, void *arg)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (!inv || !fn)
		return -EINVAL;
	st = inv->each;
	rc = tenant ? sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC)
		    : sqlite3_bind_null(st, 1);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		ret = fn((const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1),
			 (enum tg_inv_kind)sqlite3_column_int(st, 2), sqlite3_column_int64(st, 3),
			 sqlite3_column_int64(st, 4), arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = inv_fail(inv, "cannot read", rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

void tg_inventory_close(struct tg_inventory *inv)
{
	if (!inv)
		return;
	sqlite3_finalize(inv->add);
	sqlite3_finalize(inv->each);
	sqlite3_close(inv->db);
	free(inv->path);
	free(inv);
}
