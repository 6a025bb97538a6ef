/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The runtime section (bad inputs are fixtures in tests/unit/config/bad/runtime-*.yaml,
 * run by test_config): here the values of a good file, the defaults, and the glob
 * compiler and reference matcher against fnmatch(3) as the oracle, on hand-written
 * cases and on many generated ones. The kernel's matcher is the reference matcher's
 * twin (tests/bpf/test_rt_rules.c runs it against the same oracle).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rt_glob.h"
#include "tap.h"

static int parse(const char *text, struct tg_config *cfg)
{
	struct tg_diags d = { 0 };
	int r = tg_config_parse("t.yaml", text, strlen(text), cfg, &d);

	if (r)
		tg_diags_print(&d, "t.yaml", stdout);
	tg_diags_free(&d);
	return r;
}

static void test_values(void)
{
	struct tg_config cfg;
	struct tg_diags d = { 0 };
	const struct tg_runtime_config *rt = &cfg.runtime;
	int r = tg_config_load("tests/unit/config/good/runtime.yaml", &cfg, &d);

	tg_diags_free(&d);
	if (!tap_check(r == 0, "good/runtime.yaml loads (r=%d)", r))
		return;
	tap_check(rt->enabled, "runtime enabled");
	tap_equal_u64(rt->n_rules, 5, "five rules");
	tap_check(!strcmp(rt->rules[0].name, "no-tmp-exec") && rt->rules[0].type == TG_RT_EXEC &&
			  !strcmp(rt->rules[0].path, "/tmp/*") &&
			  !strcmp(rt->rules[0].tenant, "acme") &&
			  rt->rules[0].action == TG_RA_KILL && rt->rules[0].uid == -1,
		  "rule 0: exec /tmp/* acme kill, any uid");
	tap_check(rt->rules[1].type == TG_RT_OPEN &&
			  rt->rules[1].open_flags == (TG_RT_O_WRITE | TG_RT_O_CREATE) &&
			  !rt->rules[1].tenant[0] && rt->rules[1].action == TG_RA_ALERT,
		  "rule 1: open, write|create, every tenant, alert by default");
	tap_check(!strcmp(rt->rules[2].comm, "[bd]ash") && rt->rules[2].uid == 0,
		  "rule 2: comm glob and uid 0");
	tap_check(rt->rules[3].type == TG_RT_PTRACE && rt->rules[3].action == TG_RA_KILL,
		  "rule 3: ptrace kill");
	tap_check(rt->rules[4].type == TG_RT_EXIT && rt->rules[4].line == 11,
		  "rule 4: exit, line 11");
	tap_equal_u64(rt->monitor, 1u << TG_RT_EXEC | 1u << TG_RT_EXIT | 1u << TG_RT_PTRACE,
		      "monitor: exec, exit, ptrace");
	tap_equal_u64(rt->events_per_sec, 200, "events_per_second 200");
	tap_equal_u64(rt->events_burst, 400, "events_burst defaults to twice the rate");
	tap_check(rt->inventory && rt->inventory_path &&
			  !strcmp(rt->inventory_path, TG_DEFAULT_INVENTORY),
		  "inventory on by default, at the default path");
	tap_check(rt->n_bpf_allowlist == 1 && !strcmp(rt->bpf_allowlist[0], "0123456789abcdef"),
		  "bpf_allowlist tag in lower case");
	tap_check(rt->seccomp_learn_all && !rt->n_seccomp_learn, "seccomp_learn: true");
	tg_config_free(&cfg);
}

static void test_defaults(void)
{
	struct tg_config cfg;

	tap_check(parse("tenants: [{name: a, cidrs: [10.0.0.0/8]}]\n", &cfg) == 0 &&
			  !cfg.runtime.enabled && !cfg.runtime.n_rules &&
			  !cfg.runtime.inventory_path,
		  "no runtime section: runtime security off");
	tg_config_free(&cfg);
	tap_check(parse("tenants: [{name: a, cidrs: [10.0.0.0/8]}]\nruntime:\n", &cfg) == 0 &&
			  cfg.runtime.enabled && cfg.runtime.monitor == TG_RT_MONITOR_DEFAULT &&
			  !(cfg.runtime.monitor & 1u << TG_RT_OPEN) &&
			  (cfg.runtime.monitor & 1u << TG_RT_SETNS) &&
			  cfg.runtime.events_per_sec == TG_DEFAULT_RT_EVENTS_PER_SEC &&
			  cfg.runtime.events_burst == 2 * TG_DEFAULT_RT_EVENTS_PER_SEC &&
			  cfg.runtime.inventory,
		  "empty runtime section: every default (monitor all but open)");
	tg_config_free(&cfg);
	tap_check(parse("tenants: [{name: a, cidrs: [10.0.0.0/8]}]\n"
			"runtime: {monitor: [], events_burst: 7, inventory: false,\n"
			"  inventory_path: /x/inv.db, seccomp_learn: [a]}\n",
			&cfg) == 0 &&
			  cfg.runtime.monitor == 0 && cfg.runtime.events_burst == 7 &&
			  !cfg.runtime.inventory &&
			  !strcmp(cfg.runtime.inventory_path, "/x/inv.db") &&
			  cfg.runtime.n_seccomp_learn == 1 && !cfg.runtime.seccomp_learn_all,
		  "explicit values: empty monitor, burst, inventory off, learn list");
	tg_config_free(&cfg);
}

/* Compile and match with the reference matcher as the kernel would: start after the
 * literal prefix (what the LPM trie matched) when the subject has it. */
static int ref_match(const char *pat, const char *s, bool *ok)
{
	uint8_t cls[TG_RT_GLOB_CLASSES][32] = { { 0 } };
	unsigned ncls = 0;
	struct tg_glob g = { .cls = cls, .ncls = &ncls, .max_cls = TG_RT_GLOB_CLASSES };
	char err[160];
	size_t start;

	*ok = !tg_glob_compile(pat, TG_RT_PATH - 1, &g, err, sizeof(err));
	if (!*ok)
		return -1;
	start = strncmp(s, pat, g.literal_len) ? 0 : g.literal_len;
	if (g.literal)
		return tg_glob_match(g.tok, g.ntok, (const uint8_t(*)[32])cls, s, start, true);
	return tg_glob_match(g.tok, g.ntok, (const uint8_t(*)[32])cls, s, start, false);
}

static void test_glob_cases(void)
{
	static const struct {
		const char *pat, *s;
		int want; /* -1: refused */
	} t[] = {
		{ "/tmp/*", "/tmp/x", 1 },
		{ "/tmp/*", "/tmp/a/b/c", 1 },
		{ "/tmp/*", "/tmp/", 1 },
		{ "/tmp/*", "/tmp", 0 },
		{ "/tmp/*", "/tmpx/y", 0 },
		{ "*.so", "/usr/lib/libc.so", 1 },
		{ "*.so.*", "/lib/x86_64-linux-gnu/libc.so.6", 1 },
		{ "/usr/bin/?ash", "/usr/bin/bash", 1 },
		{ "/usr/bin/?ash", "/usr/bin/ash", 0 },
		{ "[bd]ash", "dash", 1 },
		{ "[!bd]ash", "dash", 0 },
		{ "[^bd]ash", "zash", 1 },
		{ "[]]x", "]x", 1 },
		{ "[!]]x", "]x", 0 },
		{ "[a-c-]", "-", 1 },
		{ "*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
		{ "*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 1 },
		{ "a\\*", "a\\xyz", 1 }, /* backslash is an ordinary byte */
		{ "/tmp/[", "/tmp/[", -1 },
		{ "[[:digit:]]", "1", -1 },
		{ "[b-a]", "a", -1 },
		/* literal paths: the path itself and what is under it */
		{ "/etc", "/etc", 1 },
		{ "/etc", "/etc/passwd", 1 },
		{ "/etc", "/etcetera", 0 },
		{ "/etc/", "/etc/passwd", 1 },
		{ "/etc/", "/etc", 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool ok;
		int got = ref_match(t[i].pat, t[i].s, &ok);

		tap_check(got == t[i].want, "glob '%s' on '%s': %d (got %d)", t[i].pat, t[i].s,
			  t[i].want, got);
	}
}

/* Random patterns and subjects over a small alphabet, so matches are frequent; the
 * oracle is glibc's fnmatch(3) with FNM_NOESCAPE. */
static void test_glob_oracle(unsigned n)
{
	static const char alpha[] = "ab/.";
	unsigned mismatches = 0, matched = 0, refused = 0;

	srandom(6);
	for (unsigned i = 0; i < n; i++) {
		char pat[40], s[40];
		size_t pl = (size_t)(random() % 12), sl = (size_t)(random() % 16), k = 0;
		bool ok;
		int got, want;

		while (k < pl) {
			long r = random() % 10;

			if (r < 5)
				pat[k++] = alpha[random() % 4];
			else if (r < 7)
				pat[k++] = '*';
			else if (r < 8)
				pat[k++] = '?';
			else if (k + 5 < sizeof(pat)) {
				pat[k++] = '[';
				if (random() % 3 == 0)
					pat[k++] = random() % 2 ? '!' : '^';
				pat[k++] = alpha[random() % 4];
				if (random() % 2) {
					pat[k++] = '-';
					pat[k++] = 'b';
				}
				pat[k++] = ']';
			}
		}
		pat[k] = '\0';
		for (k = 0; k < sl; k++)
			s[k] = alpha[random() % 4];
		s[sl] = '\0';
		got = ref_match(pat, s, &ok);
		if (!ok) {
			refused++; /* a reversed range like [b-a]: refused by the compiler */
			continue;
		}
		if (!tg_glob_is_pattern(pat)) /* literals are a prefix rule, not fnmatch */
			want = !strcmp(s, pat) ||
			       (!strncmp(s, pat, strlen(pat)) &&
				(s[strlen(pat)] == '/' || (*pat && pat[strlen(pat) - 1] == '/')));
		else
			want = !fnmatch(pat, s, FNM_NOESCAPE);
		matched += want;
		if (got != want && mismatches++ < 10)
			tap_diag("mismatch: '%s' on '%s': fnmatch %d, ours %d", pat, s, want, got);
	}
	tap_check(!mismatches, "%u random globs agree with fnmatch(3) (%u matches, %u refused)", n,
		  matched, refused);
	tap_check(matched > n / 20, "the cases are not trivially all non-matching (%u)", matched);
}

/* The example's commented runtime section, uncommented, is a valid configuration. */
static void test_example(void)
{
	FILE *f = fopen("docs/tollgate.example.yaml", "r");
	char line[512], *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	bool in = false;
	struct tg_config cfg;
	int r;

	if (!tap_check(f && out, "docs/tollgate.example.yaml readable"))
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "# runtime:", 10))
			in = true;
		else if (in && strncmp(line, "#   ", 4))
			in = false;
		fputs(in ? line + 2 : line, out);
	}
	fclose(f);
	fclose(out);
	r = parse(buf, &cfg);
	tap_check(r == 0 && cfg.runtime.enabled && cfg.runtime.n_rules == 3 &&
			  cfg.runtime.rules[0].action == TG_RA_KILL,
		  "the example's runtime section, uncommented, loads (r=%d)", r);
	tg_config_free(&cfg);
	free(buf);
}

int main(void)
{
	test_example();
	test_defaults();
	test_values();
	test_glob_cases();
	test_glob_oracle(200000);
	return tap_done();
}
