/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Vulnerability relevance (docs/relevance.md): which vulnerabilities of a scanner's
 * report (Grype or Trivy JSON) are in packages whose files the tenants' processes really
 * executed or opened as libraries (the runtime inventory, src/inventory.h). Files map to
 * Debian packages through dpkg's file lists (/var/lib/dpkg/info/PKG[:ARCH].list); both
 * sides are canonicalised the same way (realpath, else the usrmerge aliases).
 */
#ifndef TG_RELEVANCE_H
#define TG_RELEVANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "inventory.h"

#define TG_DPKG_INFO_DIR "/var/lib/dpkg/info"

enum tg_report_format {
	TG_REPORT_GRYPE = 1,
	TG_REPORT_TRIVY = 2,
};

enum tg_vuln_status {
	TG_VULN_NOT_LOADED = 0, /* a Debian package installed here; none of its files seen */
	TG_VULN_LOADED,		/* at least one of its files was executed or opened */
	TG_VULN_NOT_INSTALLED,	/* a Debian package with no dpkg file list on this host */
	TG_VULN_NOT_DEB,	/* not a Debian package (a language package, ...): not mapped */
};

/* One file of the package that the inventory holds: per tenant and kind. */
struct tg_vuln_file {
	char *path; /* canonical */
	char *tenant;
	enum tg_inv_kind kind;
	int64_t first_s, last_s;
};

struct tg_vuln {
	char *id;	/* CVE-..., GHSA-..., DSA-... */
	char *package;	/* the binary package */
	char *version;	/* as the report has it */
	char *severity; /* lower case: critical, high, medium, low, negligible, unknown */
	char *arch;	/* from the package URL's arch= qualifier, NULL when absent */
	bool deb;
	enum tg_vuln_status status;
	struct tg_vuln_file *files;
	size_t n_files;
};

struct tg_report {
	enum tg_report_format format;
	struct tg_vuln *v;
	size_t n;
};

/* Reads a Grype or Trivy JSON report (told apart by their top-level keys: "matches" or
 * "Results"). A vulnerability reported twice for one package and version (Grype lists
 * each matcher) is kept once. Errors (unreadable, not JSON, neither format, a match
 * without the fields it needs) are written to err. Returns 0 or a negative errno
 * (-EINVAL for the content, -EPROTONOSUPPORT for an unknown format). */
int tg_report_load(const char *path, struct tg_report *out, char *err, size_t err_len);
/* The same from memory; name is used in messages. */
int tg_report_parse(const char *name, const char *buf, size_t len, struct tg_report *out, char *err,
		    size_t err_len);
void tg_report_free(struct tg_report *r);

/* Marks every vulnerability of r against the inventory of tenant (NULL: every tenant),
 * with the dpkg file lists under info_dir (NULL: TG_DPKG_INFO_DIR). Returns 0 or a
 * negative errno. */
int tg_relevance_eval(struct tg_report *r, struct tg_inventory *inv, const char *tenant,
		      const char *info_dir);

/* Canonical form of a path for comparisons: realpath when the file exists, otherwise the
 * path with the usrmerge aliases (/bin, /sbin, /lib, /lib32, /lib64, /libx32 -> /usr/...)
 * replaced. Returns 0 or -EINVAL (not absolute) / -ENAMETOOLONG. */
int tg_canonical_path(const char *path, char *out, size_t len);

const char *tg_vuln_status_name(enum tg_vuln_status s);
const char *tg_report_format_name(enum tg_report_format f);

/* The table, or (json) one JSON object with "vulnerabilities" and a "summary". */
void tg_relevance_print(FILE *out, const struct tg_report *r, const char *tenant, bool json);

#endif /* TG_RELEVANCE_H */
