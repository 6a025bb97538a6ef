// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Identity history (identity.h). The table lives beside the billing tables in the same
 * SQLite file but is its own: it has no foreign key into them, and the billing schema's
 * version (PRAGMA user_version) is not touched by it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <sqlite3.h>

#include "identity.h"
#include "mounts.h"
#include "netlink.h"

#define BUSY_TIMEOUT_MS 5000

struct tg_identity {
	sqlite3 *db;
	char *path;
	bool readonly;
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS identity_history ("
	" id INTEGER PRIMARY KEY,"
	" family INTEGER NOT NULL CHECK (family IN (4, 6)),"
	" addr BLOB NOT NULL," /* 4 or 16 bytes, network order, host bits zero */
	" prefixlen INTEGER NOT NULL,"
	" prefix TEXT NOT NULL," /* addr/prefixlen for people */
	" tenant TEXT NOT NULL,"
	" source TEXT NOT NULL CHECK (source IN ('config', 'interface')),"
	" interface TEXT," /* source interface: the interface's name */
	" valid_from INTEGER NOT NULL,"
	" valid_to INTEGER," /* NULL while current */
	" CHECK (valid_to IS NULL OR valid_to >= valid_from));"
	"CREATE INDEX IF NOT EXISTS identity_history_current"
	" ON identity_history (source) WHERE valid_to IS NULL;"
	"CREATE INDEX IF NOT EXISTS identity_history_from"
	" ON identity_history (family, valid_from);";

const char *tg_id_source_name(int source)
{
	return source == TG_ID_INTERFACE ? "interface" : "config";
}

const char *tg_identity_path(const char *store_path)
{
	return store_path && store_path[0] == '/' ? store_path : TG_DEFAULT_IDENTITY;
}

static int db_fail(const struct tg_identity *id, const char *what)
{
	fprintf(stderr, "tollgate: identity history %s: %s: %s\n", id->path, what,
		sqlite3_errmsg(id->db));
	return -EIO;
}

/* The directory holding path, and its missing parents, 0755 (tg_mkdir_p). */
static int make_parent_dir(const char *path)
{
	char dir[PATH_MAX], *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return tg_mkdir_p(dir, 0755);
}

static bool has_table(struct tg_identity *id)
{
	sqlite3_stmt *st;
	bool found = false;

	if (sqlite3_prepare_v2(id->db,
			       "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
			       "name = 'identity_history'",
			       -1, &st, NULL) != SQLITE_OK)
		return false;
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

int tg_identity_open(const char *path, bool readonly, struct tg_identity **out)
{
	struct tg_identity *id;
	struct stat sb;
	int err = 0;

	if (!path || !*path || !out)
		return -EINVAL;
	*out = NULL;
	if (readonly && stat(path, &sb))
		return -errno;
	if (!readonly) {
		err = make_parent_dir(path);
		if (err) {
			fprintf(stderr,
				"tollgate: identity history %s: cannot create its directory: %s\n",
				path, strerror(-err));
			return err;
		}
	}
	id = calloc(1, sizeof(*id));
	if (!id || !(id->path = strdup(path))) {
		free(id);
		return -ENOMEM;
	}
	id->readonly = readonly;
	if (sqlite3_open_v2(path, &id->db,
			    readonly ? SQLITE_OPEN_READONLY
				     : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		err = db_fail(id, "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(id->db, BUSY_TIMEOUT_MS);
	if (readonly) {
		if (!has_table(id)) {
			err = -ENODATA;
			goto fail;
		}
	} else if (sqlite3_exec(id->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
				NULL, NULL, NULL) != SQLITE_OK ||
		   sqlite3_exec(id->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
		err = db_fail(id, "cannot create the table");
		goto fail;
	}
	*out = id;
	return 0;
fail:
	tg_identity_close(id);
	return err;
}

void tg_identity_close(struct tg_identity *id)
{
	if (!id)
		return;
	sqlite3_close(id->db);
	free(id->path);
	free(id);
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool row_family_ok(const struct tg_cidr *c)
{
	return (c->family == AF_INET && c->prefixlen <= 32) ||
	       (c->family == AF_INET6 && c->prefixlen <= 128);
}

static bool same_assignment(const struct tg_id_row *a, const struct tg_id_row *b)
{
	return a->cidr.family == b->cidr.family && a->cidr.prefixlen == b->cidr.prefixlen &&
	       !memcmp(a->cidr.addr, b->cidr.addr, addr_len(a->cidr.family)) &&
	       !strcmp(a->tenant, b->tenant) && !strcmp(a->iface, b->iface);
}

/* Reads the common columns (family, addr, prefixlen, tenant, interface) from column C. */
static int read_row(sqlite3_stmt *st, int c, struct tg_id_row *r)
{
	int fam = sqlite3_column_int(st, c);
	const void *blob = sqlite3_column_blob(st, c + 1);
	int blen = sqlite3_column_bytes(st, c + 1);
	const unsigned char *tenant = sqlite3_column_text(st, c + 3);
	const unsigned char *iface = sqlite3_column_text(st, c + 4);

	memset(r, 0, sizeof(*r));
	r->cidr.family = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : 0;
	if (!r->cidr.family || !blob || (size_t)blen != addr_len(r->cidr.family))
		return -EINVAL;
	memcpy(r->cidr.addr, blob, blen);
	r->cidr.prefixlen = (uint8_t)sqlite3_column_int(st, c + 2);
	if (!row_family_ok(&r->cidr))
		return -EINVAL;
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant ? (const char *)tenant : "");
	snprintf(r->iface, sizeof(r->iface), "%s", iface ? (const char *)iface : "");
	return 0;
}

static int close_row(struct tg_identity *id, int64_t rowid, int64_t now)
{
	sqlite3_stmt *st;
	int rc;

	/* A clock that went back never makes an interval end before it began. */
	rc = sqlite3_prepare_v2(id->db,
				"UPDATE identity_history SET valid_to = MAX(?1, valid_from) "
				"WHERE id = ?2 AND valid_to IS NULL",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(id, "cannot close an assignment");
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, rowid);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(id, "cannot close an assignment");
}

static int open_row(struct tg_identity *id, int source, const struct tg_id_row *r, int64_t now)
{
	char prefix[64];
	sqlite3_stmt *st;
	int rc;

	if (tg_format_cidr(&r->cidr, prefix, sizeof(prefix)))
		return -EINVAL;
	rc = sqlite3_prepare_v2(id->db,
				"INSERT INTO identity_history (family, addr, prefixlen, prefix, "
				"tenant, source, interface, valid_from) "
				"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(id, "cannot open an assignment");
	sqlite3_bind_int(st, 1, r->cidr.family == AF_INET ? 4 : 6);
	sqlite3_bind_blob(st, 2, r->cidr.addr, addr_len(r->cidr.family), SQLITE_STATIC);
	sqlite3_bind_int(st, 3, r->cidr.prefixlen);
	sqlite3_bind_text(st, 4, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, tg_id_source_name(source), -1, SQLITE_STATIC);
	if (r->iface[0])
		sqlite3_bind_text(st, 7, r->iface, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_int64(st, 8, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(id, "cannot open an assignment");
}

static int sync_in_tx(struct tg_identity *id, int source, const struct tg_id_row *want, size_t n,
		      bool *present, int64_t now, struct tg_id_changes *ch)
{
	struct tg_id_row cur;
	sqlite3_stmt *st;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(id->db,
				"SELECT id, family, addr, prefixlen, tenant, interface "
				"FROM identity_history WHERE source = ?1 AND valid_to IS NULL",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(id, "cannot read the current assignments");
	sqlite3_bind_text(st, 1, tg_id_source_name(source), -1, SQLITE_STATIC);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rowid = sqlite3_column_int64(st, 0);
		bool keep = false;

		if (read_row(st, 1, &cur) == 0) {
			for (size_t i = 0; i < n && !keep; i++) {
				if (!present[i] && same_assignment(&cur, &want[i]))
					keep = present[i] = true;
			}
		}
		if (keep) {
			ch->kept++;
		} else {
			err = close_row(id, rowid, now);
			ch->closed++;
		}
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = db_fail(id, "cannot read the current assignments");
	sqlite3_finalize(st);
	for (size_t i = 0; i < n && !err; i++) {
		if (present[i])
			continue;
		err = open_row(id, source, &want[i], now);
		ch->opened++;
	}
	return err;
}

int tg_identity_sync(struct tg_identity *id, int source, const struct tg_id_row *want, size_t n,
		     int64_t now, struct tg_id_changes *ch)
{
	struct tg_id_changes dummy;
	bool *present;
	int err;

	if (!id || (n && !want) || (source != TG_ID_CONFIG && source != TG_ID_INTERFACE))
		return -EINVAL;
	if (id->readonly)
		return -EROFS;
	for (size_t i = 0; i < n; i++) {
		if (!row_family_ok(&want[i].cidr) || !want[i].tenant[0])
			return -EINVAL;
	}
	if (!ch)
		ch = &dummy;
	memset(ch, 0, sizeof(*ch));
	present = calloc(n ? n : 1, sizeof(*present));
	if (!present)
		return -ENOMEM;
	if (sqlite3_exec(id->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		free(present);
		return db_fail(id, "cannot start a transaction");
	}
	err = sync_in_tx(id, source, want, n, present, now, ch);
	if (!err && sqlite3_exec(id->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		err = db_fail(id, "cannot commit");
	if (err) {
		sqlite3_exec(id->db, "ROLLBACK", NULL, NULL, NULL);
		memset(ch, 0, sizeof(*ch));
	}
	free(present);
	return err;
}

int tg_identity_sync_config(struct tg_identity *id, const struct tg_config *cfg, int64_t now,
			    struct tg_id_changes *ch)
{
	struct tg_id_row *want;
	size_t n = 0, k = 0;
	int err;

	for (size_t t = 0; t < cfg->n_tenants; t++)
		n += cfg->tenants[t].n_cidrs;
	want = calloc(n ? n : 1, sizeof(*want));
	if (!want)
		return -ENOMEM;
	for (size_t t = 0; t < cfg->n_tenants; t++) {
		const struct tg_tenant_conf *tc = &cfg->tenants[t];

		for (size_t i = 0; i < tc->n_cidrs; i++, k++) {
			want[k].cidr = tc->cidrs[i];
			snprintf(want[k].tenant, sizeof(want[k].tenant), "%s", tc->name);
			want[k].source = TG_ID_CONFIG;
		}
	}
	err = tg_identity_sync(id, TG_ID_CONFIG, want, n, now, ch);
	free(want);
	return err;
}

struct scan_ctx {
	const struct tg_config *cfg;
	struct tg_id_row *rows;
	size_t n, cap;
	int err;
};

static void mask(uint8_t *addr, unsigned prefixlen, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned bits = prefixlen > i * 8 ? prefixlen - i * 8 : 0;

		if (bits < 8)
			addr[i] &= (uint8_t)(0xff00u >> bits);
	}
}

static void on_addr(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen, uint8_t scope,
		    void *ctx)
{
	struct scan_ctx *c = ctx;
	const struct tg_tenant_conf *tc;
	char name[IF_NAMESIZE];
	struct tg_id_row *r;

	/* Link-local and host addresses (fe80::/64 on every veth, 127/8) say nothing about
	 * a tenant: only global-scope addresses are recorded. */
	if (scope != RT_SCOPE_UNIVERSE || c->err || !if_indextoname(ifindex, name))
		return;
	tc = tg_config_tenant_for_iface(c->cfg, name);
	if (!tc)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct tg_id_row *v = realloc(c->rows, cap * sizeof(*v));

		if (!v) {
			c->err = -ENOMEM;
			return;
		}
		c->rows = v;
		c->cap = cap;
	}
	r = &c->rows[c->n];
	memset(r, 0, sizeof(*r));
	r->cidr.family = family;
	r->cidr.prefixlen = prefixlen;
	memcpy(r->cidr.addr, addr, addr_len(family));
	mask(r->cidr.addr, prefixlen, addr_len(family));
	if (!row_family_ok(&r->cidr))
		return;
	snprintf(r->tenant, sizeof(r->tenant), "%s", tc->name);
	snprintf(r->iface, sizeof(r->iface), "%s", name);
	r->source = TG_ID_INTERFACE;
	/* One address can be listed twice (two addresses of one prefix): once is enough. */
	for (size_t i = 0; i < c->n; i++) {
		if (same_assignment(&c->rows[i], r))
			return;
	}
	c->n++;
}

int tg_identity_scan_interfaces(struct tg_identity *id, const struct tg_config *cfg, int64_t now,
				struct tg_id_changes *ch)
{
	struct scan_ctx c = { .cfg = cfg };
	int err;

	err = tg_nl_dump_addrs(on_addr, &c);
	if (!err)
		err = c.err;
	/* A failed dump closes nothing: the history must not say an address left when it
	 * was only not read. */
	if (!err)
		err = tg_identity_sync(id, TG_ID_INTERFACE, c.rows, c.n, now, ch);
	free(c.rows);
	return err;
}

static bool contains(const struct tg_cidr *p, const struct tg_cidr *a)
{
	unsigned full = p->prefixlen / 8, rest = p->prefixlen % 8;

	if (p->family != a->family)
		return false;
	if (memcmp(p->addr, a->addr, full))
		return false;
	return !rest || ((p->addr[full] ^ a->addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/* Does candidate c beat the best so far b? */
static bool better(const struct tg_id_row *c, const struct tg_id_row *b)
{
	if (c->cidr.prefixlen != b->cidr.prefixlen)
		return c->cidr.prefixlen > b->cidr.prefixlen;
	if (c->source != b->source)
		return c->source == TG_ID_CONFIG;
	return c->valid_from > b->valid_from;
}

int tg_identity_lookup(struct tg_identity *id, const struct tg_cidr *addr, int64_t at,
		       struct tg_id_row *out)
{
	struct tg_id_row cur, best;
	bool found = false;
	sqlite3_stmt *st;
	int rc, err = 0;

	if (!id || !addr || !out || !row_family_ok(addr) ||
	    addr->prefixlen != (addr->family == AF_INET ? 32 : 128))
		return -EINVAL;
	rc = sqlite3_prepare_v2(id->db,
				"SELECT family, addr, prefixlen, tenant, interface, source, "
				"valid_from, valid_to FROM identity_history WHERE family = ?1 "
				"AND valid_from <= ?2 AND (valid_to IS NULL OR valid_to > ?2)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(id, "cannot query");
	sqlite3_bind_int(st, 1, addr->family == AF_INET ? 4 : 6);
	sqlite3_bind_int64(st, 2, at);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *src = sqlite3_column_text(st, 5);

		if (read_row(st, 0, &cur) || !contains(&cur.cidr, addr))
			continue;
		cur.source = src && !strcmp((const char *)src, "interface") ? TG_ID_INTERFACE
									    : TG_ID_CONFIG;
		cur.valid_from = sqlite3_column_int64(st, 6);
		cur.valid_to = sqlite3_column_type(st, 7) == SQLITE_NULL
				       ? INT64_MAX
				       : sqlite3_column_int64(st, 7);
		if (!found || better(&cur, &best)) {
			best = cur;
			found = true;
		}
	}
	if (rc != SQLITE_DONE)
		err = db_fail(id, "cannot query");
	sqlite3_finalize(st);
	if (err)
		return err;
	if (!found)
		return -ENOENT;
	*out = best;
	return 0;
}

int tg_identity_parse_addr(const char *s, struct tg_cidr *out)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!s || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->addr) == 1) {
		out->family = AF_INET;
		out->prefixlen = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefixlen = 128;
		if (!memcmp(out->addr, v4mapped, sizeof(v4mapped))) {
			memmove(out->addr, out->addr + 12, 4);
			memset(out->addr + 4, 0, 12);
			out->family = AF_INET;
			out->prefixlen = 32;
		}
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}
