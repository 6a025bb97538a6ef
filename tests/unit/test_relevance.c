/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Vulnerability relevance (src/relevance.c, src/cmd_relevance.c): bad reports first, then
 * Grype and Trivy reports against an inventory built with tg_inventory_add.
 *
 * The oracles are this machine's: the kernel says which libz and libyaml files this very
 * process has mapped (/proc/self/maps: the test links both), and `dpkg -S` says which
 * package owns each. The inventory then gets libz for tenant acme (as the kernel reports
 * it) and libyaml for tenant beta under an alias (/lib and the soname symlink, as ld.so
 * opens it), and a report naming both packages must mark exactly the tenant's one loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <yaml.h>

#include "tap.h"
#include "cli.h"
#include "inventory.h"
#include "relevance.h"

static char tmpdir[] = "/tmp/tg_rel.XXXXXX";
static char inv_path[PATH_MAX];

/* What the oracles said. */
static char z_path[PATH_MAX], z_pkg[128], z_ver[128]; /* libz, as mapped */
static char y_path[PATH_MAX], y_pkg[128], y_ver[128]; /* libyaml, as mapped */
static char y_alias[PATH_MAX + 32];		      /* libyaml under /lib and its soname */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* The first line of a command's output, without its newline; "" when none. */
static void run_line(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	if (!p)
		return;
	if (!fgets(out, (int)len, p))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

/* The file of a library this process has mapped, from the kernel's /proc/self/maps. */
static bool mapped(const char *needle, char *out, size_t len)
{
	char line[PATH_MAX + 128];
	FILE *f = fopen("/proc/self/maps", "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		line[strcspn(line, "\n")] = '\0';
		if (p && strstr(p, needle)) {
			snprintf(out, len, "%s", p);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* `dpkg -S FILE` prints "pkg[:arch]: FILE"; the package without its arch. */
static bool owner(const char *file, char *pkg, size_t len)
{
	char cmd[PATH_MAX + 64], line[PATH_MAX + 128];
	char *colon;

	snprintf(cmd, sizeof(cmd), "dpkg -S '%s' 2>/dev/null", file);
	run_line(cmd, line, sizeof(line));
	colon = strchr(line, ':');
	if (!colon)
		return false;
	*colon = '\0';
	snprintf(pkg, len, "%s", line);
	return pkg[0] != '\0';
}

static bool oracles(void)
{
	char cmd[256], base[PATH_MAX], *slash;

	/* both libraries are really used, so that the loader keeps them mapped */
	(void)zlibVersion();
	(void)yaml_get_version_string();
	if (!mapped("/libz.so", z_path, sizeof(z_path)) ||
	    !mapped("/libyaml-0.so", y_path, sizeof(y_path))) {
		tap_diag("libz or libyaml is not in /proc/self/maps");
		return false;
	}
	/* dpkg knows the files under the names its packages gave them (/lib/... for zlib1g
	 * on a merged /usr): ask about the mapped file's name in both trees */
	if (!owner(z_path, z_pkg, sizeof(z_pkg)) &&
	    !(strncmp(z_path, "/usr/", 5) == 0 && owner(z_path + 4, z_pkg, sizeof(z_pkg)))) {
		tap_diag("dpkg -S does not know %s", z_path);
		return false;
	}
	if (!owner(y_path, y_pkg, sizeof(y_pkg)) &&
	    !(strncmp(y_path, "/usr/", 5) == 0 && owner(y_path + 4, y_pkg, sizeof(y_pkg)))) {
		tap_diag("dpkg -S does not know %s", y_path);
		return false;
	}
	snprintf(cmd, sizeof(cmd), "dpkg-query -W -f='${Version}' %s", z_pkg);
	run_line(cmd, z_ver, sizeof(z_ver));
	snprintf(cmd, sizeof(cmd), "dpkg-query -W -f='${Version}' %s", y_pkg);
	run_line(cmd, y_ver, sizeof(y_ver));
	/* libyaml as ld.so names it: the soname link, under /lib rather than /usr/lib */
	snprintf(base, sizeof(base), "%s", y_path);
	slash = strrchr(base, '/');
	if (!slash || strncmp(base, "/usr/lib/", 9))
		return false;
	*slash = '\0';
	snprintf(y_alias, sizeof(y_alias), "%s/libyaml-0.so.2", base + 4);
	tap_diag("oracle: %s is %s %s; %s is %s %s; alias %s", z_path, z_pkg, z_ver, y_path, y_pkg,
		 y_ver, y_alias);
	return z_pkg[0] && y_pkg[0] && z_ver[0] && y_ver[0] && strcmp(z_pkg, y_pkg);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

static const struct tg_vuln *find(const struct tg_report *r, const char *id, const char *pkg)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].id, id) && !strcmp(r->v[i].package, pkg))
			return &r->v[i];
	return NULL;
}

static int parse_str(const char *s, struct tg_report *r, char *err, size_t len)
{
	return tg_report_parse("inline", s, strlen(s), r, err, len);
}

static void test_bad_reports(void)
{
	struct tg_report r;
	char err[512], p[PATH_MAX + 32];
	int rc;

	snprintf(p, sizeof(p), "%s/missing.json", tmpdir);
	rc = tg_report_load(p, &r, err, sizeof(err));
	tap_check(rc == -ENOENT && strstr(err, "cannot read the report") && strstr(err, p),
		  "load: a missing report: ENOENT, named (%s)", err);
	rc = tg_report_load(tmpdir, &r, err, sizeof(err));
	tap_check(rc == -EISDIR, "load: a directory: EISDIR (%s)", err);
	snprintf(p, sizeof(p), "%s/empty.json", tmpdir);
	write_file(p, "");
	rc = tg_report_load(p, &r, err, sizeof(err));
	tap_check(rc == -EINVAL && strstr(err, "empty"), "load: an empty file (%s)", err);
	rc = parse_str("{\"matches\": [", &r, err, sizeof(err));
	tap_check(rc == -EINVAL && strstr(err, "not valid JSON"), "parse: truncated JSON (%s)",
		  err);
	rc = parse_str("[1, 2]", &r, err, sizeof(err));
	tap_check(rc == -EPROTONOSUPPORT, "parse: a JSON array is no report (%s)", err);
	rc = parse_str("{\"bomFormat\": \"CycloneDX\", \"components\": []}", &r, err, sizeof(err));
	tap_check(rc == -EPROTONOSUPPORT && strstr(err, "unknown report format"),
		  "parse: an SBOM is neither format (%s)", err);
	rc = parse_str("{\"matches\": {}}", &r, err, sizeof(err));
	tap_check(rc == -EINVAL && strstr(err, "\"matches\" is not an array"),
		  "parse: Grype matches not an array (%s)", err);
	rc = parse_str("{\"matches\": [{\"vulnerability\": {\"id\": \"CVE-1\"}, \"artifact\": "
		       "{\"name\": \"zlib1g\", \"version\": \"1\", \"type\": \"deb\"}},"
		       "{\"vulnerability\": {\"severity\": \"High\"}, \"artifact\": "
		       "{\"name\": \"zlib1g\", \"version\": \"1\", \"type\": \"deb\"}}]}",
		       &r, err, sizeof(err));
	tap_check(rc == -EINVAL && strstr(err, "matches[1]"),
		  "parse: a Grype match without an id, its index named (%s)", err);
	rc = parse_str("{\"matches\": [{\"vulnerability\": {\"id\": 7}, \"artifact\": "
		       "{\"name\": \"zlib1g\", \"version\": \"1\"}}]}",
		       &r, err, sizeof(err));
	tap_check(rc == -EINVAL, "parse: a Grype id that is not a string (%s)", err);
	rc = parse_str("{\"SchemaVersion\": 2, \"Results\": [{\"Type\": \"debian\", "
		       "\"Vulnerabilities\": {}}]}",
		       &r, err, sizeof(err));
	tap_check(rc == -EINVAL && strstr(err, "Results[0].Vulnerabilities"),
		  "parse: Trivy Vulnerabilities not an array (%s)", err);
	rc = parse_str("{\"Results\": [{\"Type\": \"debian\", \"Vulnerabilities\": "
		       "[{\"VulnerabilityID\": \"CVE-1\", \"PkgName\": \"zlib1g\"}]}]}",
		       &r, err, sizeof(err));
	tap_check(rc == -EINVAL && strstr(err, "Results[0].Vulnerabilities[0]"),
		  "parse: a Trivy vulnerability without InstalledVersion (%s)", err);
	rc = parse_str("{\"SchemaVersion\": 2, \"ArtifactName\": \"img\"}", &r, err, sizeof(err));
	tap_check(rc == 0 && r.format == TG_REPORT_TRIVY && r.n == 0,
		  "parse: a Trivy report of a clean target (no Results) is empty, not an error");
	tg_report_free(&r);
	rc = parse_str("{\"matches\": []}", &r, err, sizeof(err));
	tap_check(rc == 0 && r.format == TG_REPORT_GRYPE && r.n == 0,
		  "parse: a Grype report with no matches is empty");
	tg_report_free(&r);
}

static void test_canonical(void)
{
	char out[PATH_MAX], want[PATH_MAX];

	tap_check(tg_canonical_path("lib/x", out, sizeof(out)) == -EINVAL,
		  "canonical: a relative path is refused");
	tap_check(realpath(y_alias, want) && !tg_canonical_path(y_alias, out, sizeof(out)) &&
			  !strcmp(out, want) && !strcmp(out, y_path),
		  "canonical: %s -> %s (realpath, and the file the kernel mapped)", y_alias, out);
	tap_check(!tg_canonical_path("/lib/tg-gone/libgone.so.1", out, sizeof(out)) &&
			  !strcmp(out, "/usr/lib/tg-gone/libgone.so.1"),
		  "canonical: a missing /lib file gets the usrmerge alias (%s)", out);
	tap_check(!tg_canonical_path("/sbin/tg-gone", out, sizeof(out)) &&
			  !strcmp(out, "/usr/sbin/tg-gone"),
		  "canonical: /sbin too");
	tap_check(!tg_canonical_path("/libfoo/tg-gone", out, sizeof(out)) &&
			  !strcmp(out, "/libfoo/tg-gone"),
		  "canonical: /libfoo is not /lib");
	tap_check(tg_canonical_path("/x", out, 2) == -ENAMETOOLONG,
		  "canonical: a short buffer is refused");
}

static void build_inventory(void)
{
	struct tg_inventory *inv = NULL;

	snprintf(inv_path, sizeof(inv_path), "%s/inv/inventory.db", tmpdir);
	tap_check(tg_inventory_open(inv_path, &inv) == 0, "inventory opened");
	if (!inv)
		return;
	tap_check(
		!tg_inventory_add(inv, "acme", z_path, TG_INV_LIB, 1700000000) &&
			!tg_inventory_add(inv, "acme", z_path, TG_INV_LIB, 1700000500) &&
			!tg_inventory_add(inv, "acme", "/usr/bin/true", TG_INV_EXEC, 1700000000) &&
			!tg_inventory_add(inv, "beta", y_alias, TG_INV_LIB, 1700001000) &&
			!tg_inventory_add(inv, "beta", "/usr/bin/true", TG_INV_EXEC, 1700001000),
		"inventory: acme loaded libz, beta libyaml (under an alias)");
	tg_inventory_close(inv);
}

/* A Grype report: both packages; zlib1g's vulnerability twice (two matchers), a Python
 * package, a Debian package not installed here, and a name that tries to leave
 * /var/lib/dpkg/info. */
static void grype_report(const char *path)
{
	char buf[8192];

	snprintf(
		buf, sizeof(buf),
		"{\"matches\": [\n"
		" {\"vulnerability\": {\"id\": \"CVE-2023-45853\", \"severity\": \"Critical\"},\n"
		"  \"matchDetails\": [{\"matcher\": \"dpkg-matcher\"}],\n"
		"  \"artifact\": {\"name\": \"%s\", \"version\": \"%s\", \"type\": \"deb\",\n"
		"   \"purl\": \"pkg:deb/debian/%s@%s?arch=amd64&distro=debian-12\"}},\n"
		" {\"vulnerability\": {\"id\": \"CVE-2023-45853\", \"severity\": \"Critical\"},\n"
		"  \"matchDetails\": [{\"matcher\": \"stock-matcher\"}],\n"
		"  \"artifact\": {\"name\": \"%s\", \"version\": \"%s\", \"type\": \"deb\",\n"
		"   \"purl\": \"pkg:deb/debian/%s@%s?arch=amd64&distro=debian-12\"}},\n"
		" {\"vulnerability\": {\"id\": \"CVE-2024-35325\", \"severity\": \"Medium\"},\n"
		"  \"artifact\": {\"name\": \"%s\", \"version\": \"%s\", \"type\": \"deb\"}},\n"
		" {\"vulnerability\": {\"id\": \"GHSA-xxxx-yyyy-zzzz\", \"severity\": \"High\"},\n"
		"  \"artifact\": {\"name\": \"%s\", \"version\": \"1.0\", \"type\": \"python\"}},\n"
		" {\"vulnerability\": {\"id\": \"CVE-2000-0001\", \"severity\": \"Low\"},\n"
		"  \"artifact\": {\"name\": \"tg-no-such-package\", \"version\": \"1\", "
		"\"type\": \"deb\"}},\n"
		" {\"vulnerability\": {\"id\": \"CVE-2000-0002\", \"severity\": \"Low\"},\n"
		"  \"artifact\": {\"name\": \"../../../etc/passwd\", \"version\": \"1\", "
		"\"type\": \"deb\"}}\n"
		"]}\n",
		z_pkg, z_ver, z_pkg, z_ver, z_pkg, z_ver, z_pkg, z_ver, y_pkg, y_ver, z_pkg);
	write_file(path, buf);
}

static void trivy_report(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"SchemaVersion\": 2, \"ArtifactName\": \"host\", \"Results\": [\n"
		 " {\"Target\": \"host (debian 12.5)\", \"Class\": \"os-pkgs\", \"Type\": "
		 "\"debian\",\n"
		 "  \"Vulnerabilities\": [\n"
		 "   {\"VulnerabilityID\": \"CVE-2023-45853\", \"PkgName\": \"%s\",\n"
		 "    \"PkgIdentifier\": {\"PURL\": \"pkg:deb/debian/%s@%s?arch=amd64\"},\n"
		 "    \"InstalledVersion\": \"%s\", \"Severity\": \"CRITICAL\"},\n"
		 "   {\"VulnerabilityID\": \"CVE-2024-35325\", \"PkgName\": \"%s\",\n"
		 "    \"InstalledVersion\": \"%s\", \"Severity\": \"MEDIUM\"}]},\n"
		 " {\"Target\": \"app/requirements.txt\", \"Class\": \"lang-pkgs\", \"Type\": "
		 "\"pip\",\n"
		 "  \"Vulnerabilities\": [{\"VulnerabilityID\": \"CVE-2024-0001\", \"PkgName\": "
		 "\"%s\", \"InstalledVersion\": \"1.0\", \"Severity\": \"HIGH\"}]},\n"
		 " {\"Target\": \"clean\", \"Class\": \"os-pkgs\", \"Type\": \"debian\"}\n"
		 "]}\n",
		 z_pkg, z_pkg, z_ver, z_ver, y_pkg, y_ver, z_pkg);
	write_file(path, buf);
}

static void test_grype(void)
{
	struct tg_inventory *inv = NULL;
	struct tg_report r;
	const struct tg_vuln *z, *y, *py, *none, *evil;
	char path[PATH_MAX + 32], err[512];
	int rc;

	snprintf(path, sizeof(path), "%s/grype.json", tmpdir);
	grype_report(path);
	rc = tg_report_load(path, &r, err, sizeof(err));
	tap_check(rc == 0 && r.format == TG_REPORT_GRYPE, "grype: loaded, told apart (%s)",
		  rc ? err : "grype");
	if (rc)
		return;
	tap_equal_u64(r.n, 5, "grype: 6 matches, one a second matcher's: 5 vulnerabilities");
	if (tg_inventory_open(inv_path, &inv))
		return;
	rc = tg_relevance_eval(&r, inv, "acme", NULL);
	tap_check(rc == 0, "grype: evaluated for tenant acme");
	z = find(&r, "CVE-2023-45853", z_pkg);
	y = find(&r, "CVE-2024-35325", y_pkg);
	py = find(&r, "GHSA-xxxx-yyyy-zzzz", z_pkg);
	none = find(&r, "CVE-2000-0001", "tg-no-such-package");
	evil = find(&r, "CVE-2000-0002", "../../../etc/passwd");
	tap_check(z && z->status == TG_VULN_LOADED, "acme: %s (libz) is loaded", z_pkg);
	tap_check(z && z->n_files == 1 && !strcmp(z->files[0].path, z_path) &&
			  !strcmp(z->files[0].tenant, "acme") && z->files[0].kind == TG_INV_LIB &&
			  z->files[0].first_s == 1700000000 && z->files[0].last_s == 1700000500,
		  "acme: %s's one file seen is %s, lib, first and last sight", z_pkg, z_path);
	tap_check(z && !strcmp(z->severity, "critical") && z->arch && !strcmp(z->arch, "amd64") &&
			  !strcmp(z->version, z_ver),
		  "acme: severity lower-cased, arch from the purl, version kept");
	tap_check(y && y->status == TG_VULN_NOT_LOADED && y->n_files == 0,
		  "acme: %s (libyaml) is installed and not loaded", y_pkg);
	tap_check(py && py->status == TG_VULN_NOT_DEB, "acme: the Python package is not mapped");
	tap_check(none && none->status == TG_VULN_NOT_INSTALLED,
		  "acme: a Debian package without a file list is not installed");
	tap_check(evil && evil->status == TG_VULN_NOT_INSTALLED,
		  "acme: a package name with a path in it is never looked up");
	{
		size_t loaded = 0;

		for (size_t i = 0; i < r.n; i++)
			loaded += r.v[i].status == TG_VULN_LOADED;
		tap_equal_u64(loaded, 1, "acme: exactly one vulnerability loaded");
	}
	tg_report_free(&r);

	/* beta loaded libyaml through /lib and its soname link; not libz */
	tg_report_load(path, &r, err, sizeof(err));
	tap_check(tg_relevance_eval(&r, inv, "beta", NULL) == 0, "grype: evaluated for beta");
	z = find(&r, "CVE-2023-45853", z_pkg);
	y = find(&r, "CVE-2024-35325", y_pkg);
	tap_check(z && z->status == TG_VULN_NOT_LOADED, "beta: %s not loaded", z_pkg);
	tap_check(y && y->status == TG_VULN_LOADED && y->n_files == 1 &&
			  !strcmp(y->files[0].path, y_path),
		  "beta: %s loaded, its file canonicalised to %s", y_pkg, y_path);
	tg_report_free(&r);

	/* every tenant: both */
	tg_report_load(path, &r, err, sizeof(err));
	tap_check(tg_relevance_eval(&r, inv, NULL, NULL) == 0, "grype: evaluated for all");
	z = find(&r, "CVE-2023-45853", z_pkg);
	y = find(&r, "CVE-2024-35325", y_pkg);
	tap_check(z && z->status == TG_VULN_LOADED && y && y->status == TG_VULN_LOADED,
		  "all tenants: both loaded");
	tg_report_free(&r);

	/* a dpkg info directory with no lists: nothing is installed */
	tg_report_load(path, &r, err, sizeof(err));
	tap_check(tg_relevance_eval(&r, inv, "acme", tmpdir) == 0 &&
			  find(&r, "CVE-2023-45853", z_pkg)->status == TG_VULN_NOT_INSTALLED,
		  "an empty dpkg info directory: not installed");
	tg_report_free(&r);
	tg_inventory_close(inv);
}

static void test_trivy(void)
{
	struct tg_inventory *inv = NULL;
	struct tg_report r;
	const struct tg_vuln *z, *y, *pip;
	char path[PATH_MAX + 32], err[512];
	int rc;

	snprintf(path, sizeof(path), "%s/trivy.json", tmpdir);
	trivy_report(path);
	rc = tg_report_load(path, &r, err, sizeof(err));
	tap_check(rc == 0 && r.format == TG_REPORT_TRIVY && r.n == 3,
		  "trivy: loaded, told apart, 3 vulnerabilities (%s)", rc ? err : "");
	if (rc || tg_inventory_open(inv_path, &inv)) {
		tg_report_free(&r);
		return;
	}
	tap_check(tg_relevance_eval(&r, inv, "acme", NULL) == 0, "trivy: evaluated for acme");
	z = find(&r, "CVE-2023-45853", z_pkg);
	y = find(&r, "CVE-2024-35325", y_pkg);
	pip = find(&r, "CVE-2024-0001", z_pkg);
	tap_check(z && z->status == TG_VULN_LOADED && z->n_files == 1, "trivy acme: %s loaded",
		  z_pkg);
	tap_check(y && y->status == TG_VULN_NOT_LOADED, "trivy acme: %s not loaded", y_pkg);
	tap_check(pip && pip->status == TG_VULN_NOT_DEB,
		  "trivy: a pip package of the same name is not the Debian one");
	tap_check(z && !strcmp(z->severity, "critical"), "trivy: severity lower-cased");
	tg_report_free(&r);
	tg_inventory_close(inv);
}

/* The command: its output and exit codes, and that a missing inventory is not created. */
static int run_cmd(char *out_path, size_t len, const char *name, int argc, char **argv)
{
	int fd, saved, rc;

	snprintf(out_path, len, "%s/%s.out", tmpdir, name);
	fflush(stdout);
	saved = dup(1);
	fd = open(out_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	dup2(fd, 1);
	close(fd);
	optind = 0; /* getopt_long again from the start */
	rc = cmd_relevance(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc;
}

static bool file_has(const char *path, const char *needle)
{
	char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void test_command(void)
{
	char out[PATH_MAX + 32], report[PATH_MAX + 32], missing[PATH_MAX + 32];
	char want[2 * PATH_MAX + 1024];
	int rc;

	snprintf(report, sizeof(report), "%s/grype.json", tmpdir);
	snprintf(missing, sizeof(missing), "%s/nothing/inventory.db", tmpdir);
	{
		char *argv[] = { "relevance", "--report",    report,   "--tenant", "acme",
				 "--json",    "--inventory", inv_path, NULL };

		rc = run_cmd(out, sizeof(out), "json", 8, argv);
		tap_check(rc == 0, "command: --json for acme exits 0");
		snprintf(want, sizeof(want),
			 "{\"id\":\"CVE-2023-45853\",\"package\":\"%s\",\"version\":\"%s\","
			 "\"severity\":\"critical\",\"arch\":\"amd64\",\"loaded\":true,"
			 "\"status\":\"loaded\",\"files\":[{\"path\":\"%s\",\"tenant\":\"acme\","
			 "\"kind\":\"lib\",\"first_seen\":\"2023-11-14T22:13:20Z\","
			 "\"last_seen\":\"2023-11-14T22:21:40Z\"}]}",
			 z_pkg, z_ver, z_path);
		tap_check(file_has(out, want), "command: the loaded vulnerability, its file and "
					       "sightings in RFC 3339");
		snprintf(want, sizeof(want),
			 "\"package\":\"%s\",\"version\":\"%s\",\"severity\":\"medium\","
			 "\"loaded\":false,\"status\":\"not_loaded\",\"files\":[]",
			 y_pkg, y_ver);
		tap_check(file_has(out, want), "command: the other package not loaded");
		tap_check(file_has(out, "\"summary\":{\"vulnerabilities\":5,\"loaded\":1,"
					"\"not_loaded\":1,\"not_installed\":2,\"not_deb\":1}"),
			  "command: the summary counts");
	}
	{
		char *argv[] = { "relevance", "-r", report, "--inventory", inv_path, NULL };

		rc = run_cmd(out, sizeof(out), "table", 5, argv);
		snprintf(want, sizeof(want), "    lib %s  tenant acme", z_path);
		tap_check(rc == 0 && file_has(out, "VULNERABILITY") && file_has(out, want) &&
				  file_has(out, "5 vulnerabilities (grype report): 2 loaded"),
			  "command: the table for every tenant");
	}
	{
		char *argv[] = { "relevance", "--report", report, "--inventory", missing, NULL };
		struct stat st;

		rc = run_cmd(out, sizeof(out), "noinv", 5, argv);
		tap_check(rc == 1 && stat(missing, &st) != 0,
			  "command: no inventory: exit 1, and none created");
	}
	{
		char *argv[] = { "relevance", "--report",    report,   "--tenant",
				 "gamma",     "--inventory", inv_path, NULL };

		rc = run_cmd(out, sizeof(out), "notenant", 7, argv);
		tap_check(rc == 1, "command: a tenant with no inventory entries: exit 1");
	}
	{
		char *argv[] = { "relevance", "--report", missing, "--inventory", inv_path, NULL };

		rc = run_cmd(out, sizeof(out), "noreport", 5, argv);
		tap_check(rc == 1, "command: an unreadable report: exit 1");
	}
	{
		char *argv[] = { "relevance", "--tenant", "acme", NULL };

		rc = run_cmd(out, sizeof(out), "usage", 3, argv);
		tap_check(rc == 2, "command: without --report: usage, exit 2");
	}
	{
		char *argv[] = { "relevance", "--report", report, "--tenant", "Bad/Name", NULL };

		rc = run_cmd(out, sizeof(out), "badtenant", 5, argv);
		tap_check(rc == 2, "command: a bad tenant name: exit 2");
	}
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_bad_reports();
	if (!tap_check(oracles(),
		       "oracles: libz and libyaml mapped here, two packages by dpkg -S")) {
		tap_diag("cannot run the relevance checks without the oracle (dpkg, "
			 "/proc/self/maps)");
	} else {
		test_canonical();
		build_inventory();
		test_grype();
		test_trivy();
		test_command();
	}
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
