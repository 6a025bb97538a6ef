/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The runtime inventory (src/inventory.c): bad paths and arguments first, then
 * idempotent adds, first and last sight, the walk's order and filter, reopening, the
 * file's mode, and a SIGKILL in the middle of a stream of adds. Rows are also checked
 * with plain SQLite, as a user would read them.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tap.h"
#include "inventory.h"

static char tmpdir[] = "/tmp/tg_inv.XXXXXX";

struct row {
	char tenant[32];
	char path[128];
	int kind;
	int64_t first, last;
};

struct rows {
	struct row r[64];
	size_t n;
	size_t stop_at; /* 0 = never */
};

static int collect(const char *tenant, const char *path, enum tg_inv_kind kind, int64_t first_s,
		   int64_t last_s, void *arg)
{
	struct rows *rs = arg;
	struct row *r;

	if (rs->n >= sizeof(rs->r) / sizeof(rs->r[0]))
		return -E2BIG;
	r = &rs->r[rs->n++];
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->kind = kind;
	r->first = first_s;
	r->last = last_s;
	if (rs->stop_at && rs->n == rs->stop_at)
		return 42;
	return 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* The number of rows as sqlite3 itself counts them. */
static long long sql_count(const char *db, const char *where)
{
	char sql[256];
	sqlite3 *h;
	sqlite3_stmt *st;
	long long n = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM inventory%s%s", where ? " WHERE " : "",
		 where ? where : "");
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void test_bad_paths(void)
{
	struct tg_inventory *inv = (struct tg_inventory *)1;
	char p[PATH_MAX];
	int fd;

	tap_check(tg_inventory_open(NULL, &inv) == -EINVAL && inv == NULL,
		  "open: NULL path refused");
	tap_check(tg_inventory_open("", &inv) == -EINVAL, "open: empty path refused");
	tap_check(tg_inventory_open("relative/inv.db", &inv) == -EINVAL,
		  "open: a relative path is refused");
	tap_check(access("relative", F_OK) != 0, "open: the relative path created nothing");
	tap_check(tg_inventory_open(tmpdir, &inv) < 0 && inv == NULL,
		  "open: a directory is refused");

	/* a regular file where a directory should be */
	snprintf(p, sizeof(p), "%s/afile", tmpdir);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	close(fd);
	snprintf(p, sizeof(p), "%s/afile/inv.db", tmpdir);
	tap_check(tg_inventory_open(p, &inv) == -ENOTDIR, "open: a file as parent directory fails "
							  "with ENOTDIR");

	/* not an SQLite file: refused, and left as it was */
	snprintf(p, sizeof(p), "%s/garbage.db", tmpdir);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	tap_check(fd >= 0 && write(fd, "this is not a database, not at all. ", 36) == 36,
		  "garbage file written");
	close(fd);
	{
		int err = tg_inventory_open(p, &inv);
		char buf[64] = "";

		tap_check(err == -EBADMSG,
			  "open: a file that is not SQLite fails with EBADMSG "
			  "(got %d)",
			  err);
		fd = open(p, O_RDONLY);
		tap_check(read(fd, buf, sizeof(buf) - 1) == 36 && !strncmp(buf, "this is not", 11),
			  "open: the foreign file's content is unchanged");
		close(fd);
		{
			struct stat gst;

			tap_check(stat(p, &gst) == 0 && (gst.st_mode & 0777) == 0644,
				  "open: and its mode too (%o)", gst.st_mode & 0777);
		}
	}

	/* a symlink is not followed */
	snprintf(p, sizeof(p), "%s/link.db", tmpdir);
	tap_check(symlink("/etc/passwd", p) == 0, "symlink made");
	tap_check(tg_inventory_open(p, &inv) == -ELOOP, "open: a symlink is refused (ELOOP)");
}

static void test_adds(void)
{
	struct tg_inventory *inv = NULL;
	struct rows rs = { 0 };
	char db[PATH_MAX + 16], dir[PATH_MAX];
	struct stat st;
	mode_t old;
	int err;

	snprintf(dir, sizeof(dir), "%s/new/sub", tmpdir);
	snprintf(db, sizeof(db), "%s/inv.db", dir);
	old = umask(0);
	err = tg_inventory_open(db, &inv);
	umask(old);
	tap_check(err == 0 && inv, "open: a new file in new directories (err %d)", err);
	if (!inv)
		return;
	memset(&st, 0, sizeof(st));
	stat(db, &st);
	tap_check((st.st_mode & 0777) == 0600, "the file is 0600 (%o) under umask 0",
		  st.st_mode & 0777);
	memset(&st, 0, sizeof(st));
	stat(dir, &st);
	tap_check((st.st_mode & 0777) == 0700, "a new directory is 0700 (%o)", st.st_mode & 0777);

	/* bad arguments change nothing */
	tap_check(tg_inventory_add(inv, NULL, "/usr/bin/ls", TG_INV_EXEC, 1) == -EINVAL,
		  "add: NULL tenant refused");
	tap_check(tg_inventory_add(inv, "", "/usr/bin/ls", TG_INV_EXEC, 1) == -EINVAL,
		  "add: empty tenant refused");
	tap_check(tg_inventory_add(inv, "acme", "usr/bin/ls", TG_INV_EXEC, 1) == -EINVAL,
		  "add: a relative path refused");
	tap_check(tg_inventory_add(inv, "acme", "", TG_INV_EXEC, 1) == -EINVAL,
		  "add: empty path refused");
	tap_check(tg_inventory_add(inv, "acme", "/usr/bin/ls", 3, 1) == -EINVAL,
		  "add: an unknown kind refused");
	tap_check(tg_inventory_add(inv, "acme", "/usr/bin/ls", TG_INV_EXEC, -5) == -EINVAL,
		  "add: a negative time refused");
	tap_check(tg_inventory_add(NULL, "acme", "/usr/bin/ls", TG_INV_EXEC, 1) == -EINVAL,
		  "add: NULL inventory refused");
	tap_check(sql_count(db, NULL) == 0, "no row after the refused adds");

	/* out of order on purpose: the walk sorts */
	tap_check(
		!tg_inventory_add(inv, "zeta", "/usr/bin/true", TG_INV_EXEC, 1000) &&
			!tg_inventory_add(inv, "acme", "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
					  TG_INV_LIB, 1100) &&
			!tg_inventory_add(inv, "acme", "/usr/bin/python3.11", TG_INV_EXEC, 1050) &&
			!tg_inventory_add(inv, "acme", "/usr/bin/bash", TG_INV_EXEC, 1200),
		"four adds");
	/* idempotence: the same again, later and earlier */
	for (int i = 0; i < 10; i++)
		tg_inventory_add(inv, "acme", "/usr/bin/bash", TG_INV_EXEC, 1200);
	tap_check(!tg_inventory_add(inv, "acme", "/usr/bin/bash", TG_INV_EXEC, 1300),
		  "a known entry seen later");
	tap_check(!tg_inventory_add(inv, "acme", "/usr/bin/bash", TG_INV_EXEC, 1150),
		  "a known entry reported late (older time)");
	tap_equal_u64(sql_count(db, NULL), 4, "sqlite3 counts 4 rows after 16 adds");
	tap_equal_u64(sql_count(db, "tenant = 'acme' AND path = '/usr/bin/bash' AND "
				    "first_seen = 1150 AND last_seen = 1300"),
		      1, "bash: first sight 1150 (the earliest), last 1300 (the latest)");

	/* the same path as another kind and for another tenant are other entries */
	tap_check(!tg_inventory_add(inv, "acme", "/usr/bin/bash", TG_INV_LIB, 1400) &&
			  !tg_inventory_add(inv, "beta", "/usr/bin/bash", TG_INV_EXEC, 1400),
		  "same path: other kind, other tenant");
	tap_equal_u64(sql_count(db, NULL), 6, "6 rows");

	err = tg_inventory_each(inv, NULL, collect, &rs);
	tap_check(err == 0 && rs.n == 6, "each: all 6 entries (err %d, n %zu)", err, rs.n);
	if (rs.n == 6) {
		static const char *const want[6][2] = {
			{ "acme", "/usr/bin/bash" },
			{ "acme", "/usr/bin/bash" },
			{ "acme", "/usr/bin/python3.11" },
			{ "acme", "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13" },
			{ "beta", "/usr/bin/bash" },
			{ "zeta", "/usr/bin/true" },
		};
		int ok = 1;

		for (int i = 0; i < 6; i++)
			ok &= !strcmp(rs.r[i].tenant, want[i][0]) &&
			      !strcmp(rs.r[i].path, want[i][1]);
		tap_check(ok, "each: in tenant, then path order");
		tap_check(rs.r[0].kind == TG_INV_EXEC && rs.r[1].kind == TG_INV_LIB,
			  "each: the two kinds of one path, exec first");
		tap_check(rs.r[3].kind == TG_INV_LIB && rs.r[3].first == 1100 &&
				  rs.r[3].last == 1100,
			  "each: libz as a library, first = last = 1100");
	}
	memset(&rs, 0, sizeof(rs));
	err = tg_inventory_each(inv, "acme", collect, &rs);
	tap_check(err == 0 && rs.n == 4, "each: tenant acme only, 4 entries (n %zu)", rs.n);
	memset(&rs, 0, sizeof(rs));
	err = tg_inventory_each(inv, "nobody", collect, &rs);
	tap_check(err == 0 && rs.n == 0, "each: an unknown tenant has no entries");
	memset(&rs, 0, sizeof(rs));
	rs.stop_at = 2;
	err = tg_inventory_each(inv, NULL, collect, &rs);
	tap_check(err == 42 && rs.n == 2,
		  "each: a callback's non-zero return stops the walk and "
		  "is returned (err %d, n %zu)",
		  err, rs.n);
	/* the statement is reusable after a stopped walk */
	memset(&rs, 0, sizeof(rs));
	tap_check(tg_inventory_each(inv, NULL, collect, &rs) == 0 && rs.n == 6,
		  "each: a full walk after a stopped one");
	tap_check(tg_inventory_each(inv, NULL, NULL, NULL) == -EINVAL,
		  "each: NULL callback refused");
	tg_inventory_close(inv);
	inv = NULL;

	/* reopen: everything is there, nothing is doubled */
	err = tg_inventory_open(db, &inv);
	tap_check(err == 0 && inv, "reopen");
	if (!inv)
		return;
	memset(&rs, 0, sizeof(rs));
	err = tg_inventory_each(inv, NULL, collect, &rs);
	tap_check(err == 0 && rs.n == 6, "reopen: the 6 entries (n %zu)", rs.n);
	tap_check(!tg_inventory_add(inv, "zeta", "/usr/bin/true", TG_INV_EXEC, 2000),
		  "reopen: add a known entry");
	tap_equal_u64(sql_count(db, "tenant = 'zeta' AND first_seen = 1000 AND last_seen = 2000"),
		      1, "reopen: zeta's first sight kept, last moved");
	tap_equal_u64(sql_count(db, NULL), 6, "reopen: still 6 rows");
	/* a second handle at once (the agent and `tollgate relevance`) */
	{
		struct tg_inventory *inv2 = NULL;

		err = tg_inventory_open(db, &inv2);
		memset(&rs, 0, sizeof(rs));
		tap_check(err == 0 && tg_inventory_each(inv2, "zeta", collect, &rs) == 0 &&
				  rs.n == 1 && rs.r[0].last == 2000,
			  "a second handle reads what the first wrote");
		tg_inventory_close(inv2);
	}
	tg_inventory_close(inv);
	tap_check(stat(db, &st) == 0 && (st.st_mode & 0777) == 0600, "still 0600 after reopen");
	/* an existing inventory someone made world-readable is tightened on open */
	chmod(db, 0644);
	inv = NULL;
	tap_check(tg_inventory_open(db, &inv) == 0, "open of a 0644 inventory");
	tg_inventory_close(inv);
	tap_check(stat(db, &st) == 0 && (st.st_mode & 0777) == 0600, "made 0600 again");
}

/* A child adds entries 1..N one by one and is SIGKILLed in the middle: the file opens, and
 * holds a prefix 1..k of them with nothing torn. */
static void test_kill(void)
{
	struct tg_inventory *inv = NULL;
	struct rows rs = { 0 };
	char db[PATH_MAX];
	int pipefd[2], status = 0;
	pid_t pid;
	long long n;

	snprintf(db, sizeof(db), "%s/kill.db", tmpdir);
	if (pipe(pipefd))
		return;
	pid = fork();
	if (pid == 0) {
		char p[64];

		close(pipefd[0]);
		if (tg_inventory_open(db, &inv))
			_exit(1);
		for (int i = 1; i < 1000000; i++) {
			snprintf(p, sizeof(p), "/bin/p%07d", i);
			if (tg_inventory_add(inv, "acme", p, TG_INV_EXEC, i))
				_exit(2);
			if (i == 200 && write(pipefd[1], "x", 1) != 1)
				_exit(3);
		}
		_exit(0);
	}
	close(pipefd[1]);
	{
		char c;

		tap_check(read(pipefd[0], &c, 1) == 1, "kill: the child added 200 entries");
	}
	usleep(20000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(pipefd[0]);
	tap_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "kill: the child was killed");
	tap_check(tg_inventory_open(db, &inv) == 0, "kill: the file opens after the kill");
	if (!inv)
		return;
	n = sql_count(db, NULL);
	tap_check(n >= 200, "kill: at least the 200 acknowledged entries survived (%lld)", n);
	tap_equal_u64(sql_count(db, "CAST(substr(path, 8) AS INTEGER) = first_seen"), (uint64_t)n,
		      "kill: every row whole (path number = its time)");
	tap_equal_u64(sql_count(db, "first_seen > (SELECT count(*) FROM inventory)"), 0,
		      "kill: the rows are a prefix 1..k of the adds");
	rs.stop_at = 1;
	tap_check(tg_inventory_each(inv, "acme", collect, &rs) == 42 &&
			  !strcmp(rs.r[0].path, "/bin/p0000001"),
		  "kill: the walk reads the survivors");
	tg_inventory_close(inv);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_bad_paths();
	test_adds();
	test_kill();
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
