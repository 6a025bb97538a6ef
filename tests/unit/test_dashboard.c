// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The dashboard's compiled-in assets (src/dashboard.c, tools/embed_assets.sh): unknown and
 * odd paths first, then every file of assets/dashboard/ served at /ui/NAME byte for byte
 * with its content type, and the page fetching nothing from outside the agent: no
 * http:// or https:// anywhere, only /ui/ references in the page, only /api/v1/ paths in
 * the script, no CSS imports or url()s.
 *
 * usage: test_dashboard [ASSET_DIR]   (default assets/dashboard)
 */
#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dashboard.h"
#include "tap.h"

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* The asset's bytes as a NUL-terminated string (assets are text). */
static char *text_of(const struct tg_asset *a)
{
	char *s = malloc(a->len + 1);

	if (!s)
		abort();
	memcpy(s, a->data, a->len);
	s[a->len] = '\0';
	return s;
}

static const char *want_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (!dot)
		return NULL;
	if (!strcmp(dot, ".html"))
		return "text/html; charset=utf-8";
	if (!strcmp(dot, ".js"))
		return "text/javascript; charset=utf-8";
	if (!strcmp(dot, ".css"))
		return "text/css; charset=utf-8";
	return NULL;
}

/* Every value of attr="..." in html starts with one of the allowed prefixes. */
static bool attrs_local(const char *html, const char *attr, int *count)
{
	char pat[16];
	const char *p = html;

	snprintf(pat, sizeof(pat), " %s=", attr);
	while ((p = strcasestr(p, pat))) {
		p += strlen(pat);
		if (*p == '"' || *p == '\'')
			p++;
		(*count)++;
		if (strncmp(p, "/ui/", 4) && strncmp(p, "data:,", 6)) {
			tap_diag("  %s=%.40s", attr, p);
			return false;
		}
		if (!strncmp(p, "/ui/", 4) && (strstr(p, "..") == p + 4 || p[4] == '/'))
			return false;
	}
	return true;
}

/* Every string literal of app.js that starts with '/' is an API path. */
static bool js_paths_api(const char *js, int *count)
{
	for (const char *p = js; (p = strpbrk(p, "'\"`")); p++) {
		if (p[1] != '/')
			continue;
		if (p > js && p[-1] == '/') /* a '//' comment's neighbour, not a literal */
			continue;
		(*count)++;
		if (strncmp(p + 1, "/api/v1/", 8)) {
			tap_diag("  literal %.40s", p);
			return false;
		}
	}
	return true;
}

static void bad_paths(void)
{
	static const char *const bad[] = { "",
					   "/ui",
					   "/ui/missing.js",
					   "/ui/../ui/app.js",
					   "/ui/app.js/",
					   "/ui//app.js",
					   "//",
					   "/UI/app.js",
					   "/ui/app.jsx",
					   "/ui/app.j",
					   "/index.html",
					   "/app.js",
					   "ui/app.js",
					   "/api/v1/status",
					   "/metrics",
					   "/ui/app.js\n" };
	size_t bad_n = sizeof(bad) / sizeof(bad[0]);
	int wrong = 0;

	tap_check(tg_dashboard_asset(NULL) == NULL, "no asset for a NULL path");
	for (size_t i = 0; i < bad_n; i++)
		if (tg_dashboard_asset(bad[i])) {
			tap_diag("  an asset at '%s'", bad[i]);
			wrong++;
		}
	tap_check(!wrong, "no asset at %zu unknown or odd paths (.., //, case, suffixes)", bad_n);
	tap_check(tg_dashboard_asset("/ui/app.js?v=2") == tg_dashboard_asset("/ui/app.js") &&
			  tg_dashboard_asset("/?x#y") == tg_dashboard_asset("/"),
		  "a query or a fragment does not change the asset");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "assets/dashboard";
	const struct tg_asset *root = tg_dashboard_asset("/");
	const struct tg_asset *idx = tg_dashboard_asset("/ui/index.html");
	const struct tg_asset *ui = tg_dashboard_asset("/ui/");
	const struct tg_asset *js = tg_dashboard_asset("/ui/app.js");
	const struct tg_asset *css = tg_dashboard_asset("/ui/style.css");
	int files = 0, same = 0, typed = 0, clean = 0;
	struct dirent *de;
	DIR *d;

	bad_paths();

	tap_check(root && idx && ui && js && css,
		  "/, /ui/, /ui/index.html, /ui/app.js and /ui/style.css are served");
	if (!(root && idx && ui && js && css))
		return tap_done();
	tap_check(root->data == idx->data && ui->data == idx->data && root->len == idx->len,
		  "/ and /ui/ are the page itself");
	tap_check(!strcmp(root->content_type, "text/html; charset=utf-8") &&
			  !strcmp(js->content_type, "text/javascript; charset=utf-8") &&
			  !strcmp(css->content_type, "text/css; charset=utf-8"),
		  "content types: %s, %s, %s", root->content_type, js->content_type,
		  css->content_type);

	d = opendir(dir);
	if (!tap_check(d != NULL, "the asset directory %s is readable", dir))
		return tap_done();
	while ((de = readdir(d))) {
		char path[512], url[300];
		const struct tg_asset *a;
		unsigned char *buf;
		size_t len = 0;
		char *s;

		if (de->d_name[0] == '.')
			continue;
		files++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(url, sizeof(url), "/ui/%s", de->d_name);
		a = tg_dashboard_asset(url);
		buf = slurp(path, &len);
		if (a && buf && a->len == len && !memcmp(a->data, buf, len))
			same++;
		else
			tap_diag("  %s: %s", url, a ? "differs from the file" : "not served");
		if (a && want_type(de->d_name) && !strcmp(a->content_type, want_type(de->d_name)))
			typed++;
		else
			tap_diag("  %s: content type %s", url, a ? a->content_type : "-");
		if (a) {
			s = text_of(a);
			if (!strcasestr(s, "http://") && !strcasestr(s, "https://") &&
			    !strstr(s, "@import") && !strcasestr(s, "url("))
				clean++;
			else
				tap_diag("  %s names an outside address, an import or a url()",
					 url);
			free(s);
		}
		free(buf);
	}
	closedir(d);
	tap_check(files >= 3 && same == files,
		  "every file of %s is served at /ui/NAME, byte for byte (%d of %d)", dir, same,
		  files);
	tap_check(files && typed == files, "every asset has its content type (%d of %d)", typed,
		  files);
	tap_check(files && clean == files,
		  "no asset holds http://, https://, @import or url() (%d of %d)", clean, files);

	{
		char *html = text_of(idx), *script = text_of(js);
		int srcs = 0, hrefs = 0, lits = 0;
		bool local = attrs_local(html, "src", &srcs) & attrs_local(html, "href", &hrefs);
		bool api = js_paths_api(script, &lits);
		bool ids = true;
		static const char *const need[] = {
			"id=\"chart-in\"",   "id=\"chart-out\"", "id=\"legend-in\"",
			"id=\"legend-out\"", "id=\"flow-rows\"", "id=\"event-rows\"",
			"id=\"ban-rows\"",   "id=\"errors\"",	 "<title>Tollgate dashboard</title>"
		};

		tap_check(local && srcs >= 1 && hrefs >= 1,
			  "the page's src= and href= are /ui/ paths or data:, (%d src, %d href)",
			  srcs, hrefs);
		tap_check(strstr(html, "src=\"/ui/app.js\"") &&
				  strstr(html, "href=\"/ui/style.css\""),
			  "the page loads /ui/app.js and /ui/style.css");
		for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
			if (!strstr(html, need[i])) {
				tap_diag("  missing %s", need[i]);
				ids = false;
			}
		tap_check(ids, "the page has the elements the script and the tests read");
		tap_check(api && lits >= 5, "every path literal in app.js is an /api/v1/ path (%d)",
			  lits);
		tap_check(
			!strstr(script, "innerHTML") && !strstr(script, "eval(") &&
				!strstr(script, "document.write"),
			"app.js puts data into the page as text only (no innerHTML, eval, write)");
		free(html);
		free(script);
	}
	return tap_done();
}
