/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Vulnerability relevance (src/relevance.h, docs/relevance.md).
 *
 * What "loaded" means: one of the package's own files (a regular file of its dpkg file
 * list, not a directory and not a symlink, whose target belongs to whichever package
 * ships it) is, canonicalised, a file the inventory saw a tenant's process execute or open
 * as a library. A package none of whose files were seen is "not loaded": at runtime
 * nothing of it ran in that tenant since the inventory began.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "json.h"
#include "relevance.h"
#include "store.h"

#define REPORT_MAX_BYTES (256u << 20) /* a report larger than this is refused */

const char *tg_vuln_status_name(enum tg_vuln_status s)
{
	switch (s) {
	case TG_VULN_LOADED:
		return "loaded";
	case TG_VULN_NOT_LOADED:
		return "not_loaded";
	case TG_VULN_NOT_INSTALLED:
		return "not_installed";
	case TG_VULN_NOT_DEB:
		return "not_deb";
	}
	return "unknown";
}

const char *tg_report_format_name(enum tg_report_format f)
{
	return f == TG_REPORT_GRYPE ? "grype" : f == TG_REPORT_TRIVY ? "trivy" : "unknown";
}

/* --- paths ------------------------------------------------------------------------ */

int tg_canonical_path(const char *path, char *out, size_t len)
{
	static const char *const merged[] = {
		"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"
	};
	char buf[PATH_MAX];
	int n;

	if (!path || path[0] != '/' || !out || !len)
		return -EINVAL;
	if (realpath(path, buf)) {
		n = snprintf(out, len, "%s", buf);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	/* gone (an upgrade replaced it) or unreachable: the aliases of a merged /usr */
	for (size_t i = 0; i < sizeof(merged) / sizeof(merged[0]); i++) {
		size_t l = strlen(merged[i]);

		if (!strncmp(path, merged[i], l) && (path[l] == '/' || path[l] == '\0')) {
			n = snprintf(out, len, "/usr%s", path);
			return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
		}
	}
	n = snprintf(out, len, "%s", path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* --- reports ---------------------------------------------------------------------- */

static char *dup_lower(const char *s)
{
	char *d = strdup(s);

	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* The member key of object o when it is a string, else NULL. */
static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_is_type(o, json_type_object) &&
			       json_object_object_get_ex(o, key, &v)
		       ? v
		       : NULL;
}

static const char *str_member(json_object *o, const char *key)
{
	json_object *v = member(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool is_type(json_object *o, enum json_type t)
{
	return o && json_object_is_type(o, t);
}

/* The arch= qualifier of a package URL (pkg:deb/debian/zlib1g@1.2?arch=amd64&distro=..). */
static char *purl_arch(const char *purl)
{
	const char *q, *a, *end;

	if (!purl || !(q = strchr(purl, '?')))
		return NULL;
	for (a = q + 1; *a; a = end + (*end != '\0')) {
		end = a + strcspn(a, "&#");
		if (!strncmp(a, "arch=", 5) && end > a + 5)
			return strndup(a + 5, (size_t)(end - a - 5));
		if (*end == '#')
			break;
	}
	return NULL;
}

static void vuln_free(struct tg_vuln *v)
{
	for (size_t i = 0; i < v->n_files; i++) {
		free(v->files[i].path);
		free(v->files[i].tenant);
	}
	free(v->files);
	free(v->id);
	free(v->package);
	free(v->version);
	free(v->severity);
	free(v->arch);
	memset(v, 0, sizeof(*v));
}

void tg_report_free(struct tg_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		vuln_free(&r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Adds one vulnerability unless (id, package, version, arch) is already there. */
static int report_add(struct tg_report *r, const char *id, const char *pkg, const char *version,
		      const char *severity, const char *purl, bool deb)
{
	struct tg_vuln v = { 0 }, *nv;

	v.arch = purl_arch(purl);
	for (size_t i = 0; i < r->n; i++) {
		const struct tg_vuln *o = &r->v[i];

		if (!strcmp(o->id, id) && !strcmp(o->package, pkg) &&
		    !strcmp(o->version, version) &&
		    ((!o->arch && !v.arch) || (o->arch && v.arch && !strcmp(o->arch, v.arch)))) {
			free(v.arch);
			return 0;
		}
	}
	v.id = strdup(id);
	v.package = strdup(pkg);
	v.version = strdup(version);
	v.severity = dup_lower(severity && *severity ? severity : "unknown");
	v.deb = deb;
	if (!v.id || !v.package || !v.version || !v.severity ||
	    !(nv = realloc(r->v, (r->n + 1) * sizeof(*r->v)))) {
		vuln_free(&v);
		return -ENOMEM;
	}
	r->v = nv;
	r->v[r->n++] = v;
	return 0;
}

/* Grype: matches[] of {vulnerability: {id, severity}, artifact: {name, version, type,
 * purl}}. */
static int parse_grype(const char *name, json_object *root, struct tg_report *r, char *err,
		       size_t err_len)
{
	json_object *matches = member(root, "matches");
	size_t i, n;
	int rc;

	if (!is_type(matches, json_type_array)) {
		snprintf(err, err_len, "%s: Grype report: \"matches\" is not an array", name);
		return -EINVAL;
	}
	n = json_object_array_length(matches);
	for (i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(matches, i);
		json_object *vul = member(m, "vulnerability"), *art = member(m, "artifact");
		const char *id = str_member(vul, "id"), *pkg = str_member(art, "name");
		const char *ver = str_member(art, "version"), *type = str_member(art, "type");

		if (!is_type(vul, json_type_object) || !is_type(art, json_type_object) || !id ||
		    !*id || !pkg || !*pkg || !ver) {
			snprintf(err, err_len,
				 "%s: Grype report: matches[%zu] lacks vulnerability.id, "
				 "artifact.name or artifact.version",
				 name, i);
			return -EINVAL;
		}
		rc = report_add(r, id, pkg, ver, str_member(vul, "severity"),
				str_member(art, "purl"), type && !strcmp(type, "deb"));
		if (rc)
			return rc;
	}
	return 0;
}

/* Trivy: Results[] of {Class, Type, Vulnerabilities: [{VulnerabilityID, PkgName,
 * InstalledVersion, Severity, PkgIdentifier: {PURL}}]}; Debian packages are the os-pkgs
 * of Type debian (or ubuntu, which uses dpkg too). */
static int parse_trivy(const char *name, json_object *root, struct tg_report *r, char *err,
		       size_t err_len)
{
	json_object *results = member(root, "Results");
	size_t i, j, n, nv;
	int rc;

	if (!is_type(results, json_type_array)) {
		snprintf(err, err_len, "%s: Trivy report: \"Results\" is not an array", name);
		return -EINVAL;
	}
	n = json_object_array_length(results);
	for (i = 0; i < n; i++) {
		json_object *res = json_object_array_get_idx(results, i);
		json_object *vuls = member(res, "Vulnerabilities");
		const char *type = str_member(res, "Type");
		bool deb = type && (!strcmp(type, "debian") || !strcmp(type, "ubuntu"));

		/* absent or null: a target without findings */
		if (vuls && !is_type(vuls, json_type_array)) {
			snprintf(err, err_len,
				 "%s: Trivy report: Results[%zu].Vulnerabilities is not an array",
				 name, i);
			return -EINVAL;
		}
		nv = vuls ? json_object_array_length(vuls) : 0;
		for (j = 0; j < nv; j++) {
			json_object *v = json_object_array_get_idx(vuls, j);
			const char *id = str_member(v, "VulnerabilityID");
			const char *pkg = str_member(v, "PkgName");
			const char *ver = str_member(v, "InstalledVersion");

			if (!id || !*id || !pkg || !*pkg || !ver) {
				snprintf(
					err, err_len,
					"%s: Trivy report: Results[%zu].Vulnerabilities[%zu] lacks "
					"VulnerabilityID, PkgName or InstalledVersion",
					name, i, j);
				return -EINVAL;
			}
			rc = report_add(r, id, pkg, ver, str_member(v, "Severity"),
					str_member(member(v, "PkgIdentifier"), "PURL"), deb);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int tg_report_parse(const char *name, const char *buf, size_t len, struct tg_report *out, char *err,
		    size_t err_len)
{
	struct tg_report r = { 0 };
	struct json_tokener *tok;
	json_object *root;
	int rc;

	if (!name || !buf || !out || !err || !err_len)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (len > INT32_MAX) {
		snprintf(err, err_len, "%s: report too large", name);
		return -EFBIG;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, err_len, "%s: out of memory", name);
		return -ENOMEM;
	}
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len) {
		/* trailing bytes after the value are allowed only as whitespace */
		size_t end = json_tokener_get_parse_end(tok);
		bool trailing_ok = root && json_tokener_get_error(tok) == json_tokener_success;

		for (size_t k = end; trailing_ok && k < len; k++)
			trailing_ok =
				buf[k] == ' ' || buf[k] == '\n' || buf[k] == '\r' || buf[k] == '\t';
		if (!trailing_ok) {
			snprintf(err, err_len, "%s: not valid JSON (at byte %zu)", name, end);
			json_object_put(root);
			json_tokener_free(tok);
			return -EINVAL;
		}
	}
	json_tokener_free(tok);
	if (!is_type(root, json_type_object)) {
		snprintf(err, err_len, "%s: not a Grype or Trivy report (not a JSON object)", name);
		rc = -EPROTONOSUPPORT;
	} else if (member(root, "matches")) {
		r.format = TG_REPORT_GRYPE;
		rc = parse_grype(name, root, &r, err, err_len);
	} else if (member(root, "Results") ||
		   (member(root, "SchemaVersion") && member(root, "ArtifactName"))) {
		/* a Trivy report of a clean target may have no Results at all */
		r.format = TG_REPORT_TRIVY;
		rc = member(root, "Results") ? parse_trivy(name, root, &r, err, err_len) : 0;
	} else {
		snprintf(err, err_len,
			 "%s: unknown report format: neither Grype (\"matches\") nor Trivy "
			 "(\"Results\")",
			 name);
		rc = -EPROTONOSUPPORT;
	}
	json_object_put(root);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, err_len, "%s: out of memory", name);
		tg_report_free(&r);
		return rc;
	}
	*out = r;
	return 0;
}

int tg_report_load(const char *path, struct tg_report *out, char *err, size_t err_len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc;

	if (!path || !out || !err || !err_len)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "cannot read the report %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > REPORT_MAX_BYTES) {
		rc = S_ISDIR(st.st_mode)		       ? -EISDIR
		     : (uint64_t)st.st_size > REPORT_MAX_BYTES ? -EFBIG
							       : -EINVAL;
		snprintf(err, err_len, "cannot read the report %s: %s", path,
			 rc == -EFBIG	 ? "larger than 256 MiB"
			 : rc == -EINVAL ? "not a regular file"
					 : strerror(-rc));
		close(fd);
		return rc;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		snprintf(err, err_len, "%s: out of memory", path);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, err_len, "cannot read the report %s: %s", path,
				 strerror(-rc));
			free(buf);
			close(fd);
			return rc;
		}
		got += (size_t)n;
	}
	close(fd);
	if (!got) {
		free(buf);
		snprintf(err, err_len, "%s: the report is empty", path);
		return -EINVAL;
	}
	buf[got] = '\0';
	rc = tg_report_parse(path, buf, got, out, err, err_len);
	free(buf);
	return rc;
}

/* --- the inventory, canonicalised ------------------------------------------------- */

struct inv_entry {
	char *canon;
	char *tenant;
	enum tg_inv_kind kind;
	int64_t first_s, last_s;
};

struct inv_set {
	struct inv_entry *e;
	size_t n, cap;
};

static int inv_collect(const char *tenant, const char *path, enum tg_inv_kind kind, int64_t first_s,
		       int64_t last_s, void *arg)
{
	struct inv_set *s = arg;
	char canon[PATH_MAX];
	struct inv_entry *ne;

	if (tg_canonical_path(path, canon, sizeof(canon)))
		return 0; /* not a path this can compare; the inventory refuses those anyway */
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;

		ne = realloc(s->e, cap * sizeof(*s->e));
		if (!ne)
			return -ENOMEM;
		s->e = ne;
		s->cap = cap;
	}
	ne = &s->e[s->n];
	ne->canon = strdup(canon);
	ne->tenant = strdup(tenant);
	ne->kind = kind;
	ne->first_s = first_s;
	ne->last_s = last_s;
	if (!ne->canon || !ne->tenant) {
		free(ne->canon);
		free(ne->tenant);
		return -ENOMEM;
	}
	s->n++;
	return 0;
}

static int inv_cmp(const void *a, const void *b)
{
	const struct inv_entry *x = a, *y = b;
	int c = strcmp(x->canon, y->canon);

	if (!c)
		c = strcmp(x->tenant, y->tenant);
	if (!c)
		c = (int)x->kind - (int)y->kind;
	return c;
}

static void inv_set_free(struct inv_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].canon);
		free(s->e[i].tenant);
	}
	free(s->e);
}

/* The first entry of path in the sorted set, or s->n. */
static size_t inv_lower_bound(const struct inv_set *s, const char *path)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->e[mid].canon, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* --- packages --------------------------------------------------------------------- */

/* Debian policy 5.6.7: lower case letters, digits, + - . ; starting alphanumeric. Also
 * what keeps a hostile report's name from walking out of the info directory. */
static bool deb_name_valid(const char *s)
{
	if (!s || !isalnum((unsigned char)s[0]) || isupper((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '+' ||
		      *s == '-' || *s == '.'))
			return false;
	return true;
}

static int add_file(struct tg_vuln *v, const struct inv_entry *e)
{
	struct tg_vuln_file *nf;

	for (size_t i = 0; i < v->n_files; i++)
		if (!strcmp(v->files[i].path, e->canon) && !strcmp(v->files[i].tenant, e->tenant) &&
		    v->files[i].kind == e->kind)
			return 0; /* two list entries resolving to one file */
	nf = realloc(v->files, (v->n_files + 1) * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	v->files = nf;
	nf = &v->files[v->n_files];
	nf->path = strdup(e->canon);
	nf->tenant = strdup(e->tenant);
	nf->kind = e->kind;
	nf->first_s = e->first_s;
	nf->last_s = e->last_s;
	if (!nf->path || !nf->tenant) {
		free(nf->path);
		free(nf->tenant);
		return -ENOMEM;
	}
	v->n_files++;
	return 0;
}

/* One dpkg file list against the inventory. */
static int match_list(struct tg_vuln *v, const char *list, const struct inv_set *s)
{
	char line[PATH_MAX + 2], canon[PATH_MAX];
	struct stat st;
	FILE *f;
	int err = 0;

	f = fopen(list, "re");
	if (!f)
		return -errno;
	while (!err && fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, "\n");

		line[l] = '\0';
		if (line[0] != '/')
			continue;
		if (!lstat(line, &st) && (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)))
			continue; /* a directory, or a link to what its target's package ships */
		if (tg_canonical_path(line, canon, sizeof(canon)))
			continue;
		for (size_t i = inv_lower_bound(s, canon); !err && i < s->n; i++) {
			if (strcmp(s->e[i].canon, canon))
				break;
			err = add_file(v, &s->e[i]);
		}
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	return err;
}

/* The file lists of the package: PKG:ARCH.list for the report's architecture, else
 * PKG.list and every PKG:*.list (a Multi-Arch: same package installed for several). */
static int match_package(struct tg_vuln *v, const char *info_dir, const struct inv_set *s)
{
	char pat[PATH_MAX];
	glob_t g = { 0 };
	int found = 0, err = 0, n;

	if (!deb_name_valid(v->package) || (v->arch && !deb_name_valid(v->arch))) {
		v->status = TG_VULN_NOT_INSTALLED;
		return 0;
	}
	if (v->arch) {
		n = snprintf(pat, sizeof(pat), "%s/%s:%s.list", info_dir, v->package, v->arch);
		if (n > 0 && (size_t)n < sizeof(pat) && !access(pat, R_OK)) {
			found = 1;
			err = match_list(v, pat, s);
		}
	}
	if (!found) {
		n = snprintf(pat, sizeof(pat), "%s/%s.list", info_dir, v->package);
		if (n > 0 && (size_t)n < sizeof(pat) && !access(pat, R_OK)) {
			found = 1;
			err = match_list(v, pat, s);
		}
	}
	if (!found && !v->arch) {
		n = snprintf(pat, sizeof(pat), "%s/%s:*.list", info_dir, v->package);
		if (n > 0 && (size_t)n < sizeof(pat) && !glob(pat, GLOB_NOSORT, NULL, &g)) {
			for (size_t i = 0; !err && i < g.gl_pathc; i++) {
				found = 1;
				err = match_list(v, g.gl_pathv[i], s);
			}
		}
		globfree(&g);
	}
	if (err)
		return err;
	v->status = !found	 ? TG_VULN_NOT_INSTALLED
		    : v->n_files ? TG_VULN_LOADED
				 : TG_VULN_NOT_LOADED;
	return 0;
}

static int copy_files(struct tg_vuln *dst, const struct tg_vuln *src)
{
	struct inv_entry e;
	int err = 0;

	dst->status = src->status;
	for (size_t i = 0; !err && i < src->n_files; i++) {
		e.canon = src->files[i].path;
		e.tenant = src->files[i].tenant;
		e.kind = src->files[i].kind;
		e.first_s = src->files[i].first_s;
		e.last_s = src->files[i].last_s;
		err = add_file(dst, &e);
	}
	return err;
}

static bool same_package(const struct tg_vuln *a, const struct tg_vuln *b)
{
	return a->deb && b->deb && !strcmp(a->package, b->package) &&
	       ((!a->arch && !b->arch) || (a->arch && b->arch && !strcmp(a->arch, b->arch)));
}

int tg_relevance_eval(struct tg_report *r, struct tg_inventory *inv, const char *tenant,
		      const char *info_dir)
{
	struct inv_set s = { 0 };
	int err;

	if (!r || !inv)
		return -EINVAL;
	err = tg_inventory_each(inv, tenant, inv_collect, &s);
	if (err) {
		inv_set_free(&s);
		return err;
	}
	qsort(s.e, s.n, sizeof(*s.e), inv_cmp);
	for (size_t i = 0; !err && i < r->n; i++) {
		struct tg_vuln *v = &r->v[i];
		size_t j;

		if (!v->deb) {
			v->status = TG_VULN_NOT_DEB;
			continue;
		}
		for (j = 0; j < i && !same_package(&r->v[j], v); j++)
			;
		err = j < i ? copy_files(v, &r->v[j])
			    : match_package(v, info_dir ? info_dir : TG_DPKG_INFO_DIR, &s);
	}
	inv_set_free(&s);
	return err;
}

/* --- output ----------------------------------------------------------------------- */

static const char *kind_name(enum tg_inv_kind k)
{
	return k == TG_INV_EXEC ? "exec" : "lib";
}

static const char *status_label(enum tg_vuln_status s)
{
	switch (s) {
	case TG_VULN_LOADED:
		return "yes";
	case TG_VULN_NOT_LOADED:
		return "no";
	case TG_VULN_NOT_INSTALLED:
		return "no (not installed)";
	case TG_VULN_NOT_DEB:
		return "no (not a deb)";
	}
	return "?";
}

static void print_json(FILE *out, const struct tg_report *r, const char *tenant)
{
	size_t count[4] = { 0 };
	char t1[40], t2[40];

	fprintf(out, "{\"format\":\"%s\",\"tenant\":", tg_report_format_name(r->format));
	if (tenant)
		tg_json_string(out, tenant);
	else
		fputs("null", out);
	fputs(",\"vulnerabilities\":[", out);
	for (size_t i = 0; i < r->n; i++) {
		const struct tg_vuln *v = &r->v[i];

		count[v->status]++;
		fputs(i ? ",{\"id\":" : "{\"id\":", out);
		tg_json_string(out, v->id);
		fputs(",\"package\":", out);
		tg_json_string(out, v->package);
		fputs(",\"version\":", out);
		tg_json_string(out, v->version);
		fputs(",\"severity\":", out);
		tg_json_string(out, v->severity);
		if (v->arch) {
			fputs(",\"arch\":", out);
			tg_json_string(out, v->arch);
		}
		fprintf(out, ",\"loaded\":%s,\"status\":\"%s\",\"files\":[",
			v->status == TG_VULN_LOADED ? "true" : "false",
			tg_vuln_status_name(v->status));
		for (size_t j = 0; j < v->n_files; j++) {
			const struct tg_vuln_file *f = &v->files[j];

			tg_format_time(f->first_s, t1, sizeof(t1));
			tg_format_time(f->last_s, t2, sizeof(t2));
			fputs(j ? ",{\"path\":" : "{\"path\":", out);
			tg_json_string(out, f->path);
			fputs(",\"tenant\":", out);
			tg_json_string(out, f->tenant);
			fprintf(out, ",\"kind\":\"%s\",\"first_seen\":\"%s\",\"last_seen\":\"%s\"}",
				kind_name(f->kind), t1, t2);
		}
		fputs("]}", out);
	}
	fprintf(out,
		"],\"summary\":{\"vulnerabilities\":%zu,\"loaded\":%zu,\"not_loaded\":%zu,"
		"\"not_installed\":%zu,\"not_deb\":%zu}}\n",
		r->n, count[TG_VULN_LOADED], count[TG_VULN_NOT_LOADED],
		count[TG_VULN_NOT_INSTALLED], count[TG_VULN_NOT_DEB]);
}

static void print_table(FILE *out, const struct tg_report *r)
{
	int wid = 13, wpkg = 7, wver = 7;
	size_t count[4] = { 0 };
	char t1[40], t2[40];

	for (size_t i = 0; i < r->n; i++) {
		int l;

		l = (int)strlen(r->v[i].id);
		wid = l > wid ? l : wid;
		l = (int)strlen(r->v[i].package);
		wpkg = l > wpkg ? l : wpkg;
		l = (int)strlen(r->v[i].version);
		wver = l > wver ? l : wver;
	}
	fprintf(out, "%-*s  %-*s  %-*s  %-10s  %s\n", wid, "VULNERABILITY", wpkg, "PACKAGE", wver,
		"VERSION", "SEVERITY", "LOADED");
	for (size_t i = 0; i < r->n; i++) {
		const struct tg_vuln *v = &r->v[i];

		count[v->status]++;
		fprintf(out, "%-*s  %-*s  %-*s  %-10s  %s\n", wid, v->id, wpkg, v->package, wver,
			v->version, v->severity, status_label(v->status));
		for (size_t j = 0; j < v->n_files; j++) {
			const struct tg_vuln_file *f = &v->files[j];

			tg_format_time(f->first_s, t1, sizeof(t1));
			tg_format_time(f->last_s, t2, sizeof(t2));
			fprintf(out, "    %s %s  tenant %s  first %s  last %s\n",
				kind_name(f->kind), f->path, f->tenant, t1, t2);
		}
	}
	fprintf(out,
		"%zu vulnerabilities (%s report): %zu loaded, %zu not loaded, %zu in packages "
		"not installed here, %zu not in Debian packages\n",
		r->n, tg_report_format_name(r->format), count[TG_VULN_LOADED],
		count[TG_VULN_NOT_LOADED], count[TG_VULN_NOT_INSTALLED], count[TG_VULN_NOT_DEB]);
}

void tg_relevance_print(FILE *out, const struct tg_report *r, const char *tenant, bool json)
{
	if (json)
		print_json(out, r, tenant);
	else
		print_table(out, r);
}
