/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The runtime rule matcher in the kernel (bpf/lib/rt_match.h) against fnmatch(3): random
 * rule sets compiled by src/runtime.c's compiler (LPM prefixes closed over shorter ones,
 * predicates, glob tokens) are written into the maps, random paths are judged by
 * BPF_PROG_TEST_RUN, and the verdict must be the lowest-id rule whose conditions hold
 * with fnmatch(pattern, path, FNM_NOESCAPE) as the oracle for globs (literal paths: the
 * path itself or below it). Both generations are used, as the agent flips them.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "rt_glob.h"
#include "rt_rules.skel.h"
#include "runtime.h"
#include "tap.h"

#define RULES_PER_SET 40
#define SETS 60
#define PATHS_PER_SET 400

static struct rt_rules_bpf *skel;
static const char alpha[] = "ab/.";

static void random_pattern(char *pat, size_t cap)
{
	size_t pl = 1 + (size_t)(random() % 10), k = 0;

	/* most rules start with a literal, as paths do: the LPM trie is exercised */
	if (random() % 4) {
		pat[k++] = '/';
		pat[k++] = alpha[random() % 2];
	}
	while (k < pl && k + 6 < cap) {
		long r = random() % 10;

		if (r < 5) {
			pat[k++] = alpha[random() % 4];
		} else if (r < 7) {
			pat[k++] = '*';
		} else if (r < 8) {
			pat[k++] = '?';
		} else {
			pat[k++] = '[';
			if (random() % 3 == 0)
				pat[k++] = '!';
			pat[k++] = alpha[random() % 4];
			pat[k++] = ']';
		}
	}
	pat[k] = '\0';
}

static bool oracle_path(const char *pat, const char *s)
{
	size_t n = strlen(pat);

	if (tg_glob_is_pattern(pat))
		return !fnmatch(pat, s, FNM_NOESCAPE);
	return !strncmp(s, pat, n) && (!s[n] || s[n] == '/' || pat[n - 1] == '/');
}

static int write_set(const struct tg_rt_compiled *c, uint8_t gen, const struct tg_rt_compiled *old)
{
	int rfd = bpf_map__fd(skel->maps.tg_rt_rules), pfd = bpf_map__fd(skel->maps.tg_rt_prefixes);

	for (size_t i = 0; old && i < old->n_prefixes; i++)
		if (bpf_map_delete_elem(pfd, &old->keys[i]))
			return -errno;
	for (uint32_t id = 0; id < TG_MAX_RT_RULES; id++) {
		uint32_t key = gen * TG_MAX_RT_RULES + id;

		if (bpf_map_update_elem(rfd, &key, &c->rules[id], BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < c->n_prefixes; i++)
		if (bpf_map_update_elem(pfd, &c->keys[i], &c->vals[i], BPF_ANY))
			return -errno;
	return 0;
}

static int judge(const char *path, uint32_t gen, uint32_t tenant, uint32_t oflags)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	memset(skel->bss->rt_subject, 0, sizeof(skel->bss->rt_subject));
	snprintf(skel->bss->rt_subject, sizeof(skel->bss->rt_subject), "%s", path);
	skel->bss->rt_gen = gen;
	skel->bss->rt_tenant = tenant;
	skel->bss->rt_type = TG_RT_OPEN;
	skel->bss->rt_oflags = oflags;
	skel->bss->rt_status = 0;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rt_judge), &opts) ||
	    skel->bss->rt_status != 1)
		return -1;
	return (int)skel->bss->rt_rule;
}

int main(void)
{
	struct tg_tenant_conf tenants[2] = { { .name = "t1" }, { .name = "t2" } };
	struct tg_rt_rule_conf rules[RULES_PER_SET];
	struct tg_config cfg = { .tenants = tenants, .n_tenants = 2 };
	struct tg_rt_compiled *c = calloc(2, sizeof(*c));
	unsigned mismatches = 0, matched = 0, judged = 0, failed = 0;
	struct bpf_map *map;
	char err[256];

	skel = rt_rules_bpf__open();
	if (!tap_check(skel && c, "the test object opens")) {
		free(c);
		rt_rules_bpf__destroy(skel);
		return tap_done();
	}
	bpf_object__for_each_map (map, skel->obj)
		bpf_map__set_pin_path(map, NULL); /* nothing pinned on the host */
	if (!tap_check(!rt_rules_bpf__load(skel), "the matcher loads (verifier)")) {
		free(c);
		rt_rules_bpf__destroy(skel);
		return tap_done();
	}
	cfg.runtime.enabled = true;
	cfg.runtime.rules = rules;
	srandom(66);
	for (unsigned set = 0; set < SETS; set++) {
		uint8_t gen = set & 1;
		struct tg_rt_compiled *cur = &c[gen], prev = c[gen];

		memset(rules, 0, sizeof(rules));
		cfg.runtime.n_rules = 1 + (size_t)(random() % RULES_PER_SET);
		for (size_t i = 0; i < cfg.runtime.n_rules; i++) {
			struct tg_rt_rule_conf *r = &rules[i];

			snprintf(r->name, sizeof(r->name), "r%zu", i);
			r->type = TG_RT_OPEN;
			r->action = TG_RA_ALERT;
			r->uid = -1;
			if (random() % 8)
				random_pattern(r->path, sizeof(r->path));
			if (random() % 4 == 0)
				snprintf(r->tenant, sizeof(r->tenant), "%s",
					 random() % 2 ? "t1" : "t2");
			if (random() % 4 == 0)
				r->open_flags = 1u << (random() % 3);
			if (random() % 10 == 0)
				snprintf(r->comm, sizeof(r->comm), "%s",
					 random() % 2 ? "test_rt_*" : "other*");
		}
		if (tg_rt_compile(&cfg, NULL, gen, cur, err, sizeof(err))) {
			tap_check(0, "set %u compiles: %s", set, err);
			failed++;
			break;
		}
		if (write_set(cur, gen, set >= 2 ? &prev : NULL)) {
			tap_check(0, "set %u written into the maps", set);
			failed++;
			break;
		}
		if (set >= 2)
			tg_rt_compiled_free(&prev);
		for (unsigned p = 0; p < PATHS_PER_SET; p++) {
			char path[24];
			size_t n = (size_t)(random() % 14), k = 0;
			uint32_t tenant = 1 + (uint32_t)(random() % 2),
				 oflags = 1u << (random() % 3);
			int want = 0, got;

			if (random() % 3) {
				path[k++] = '/';
				path[k++] = alpha[random() % 2];
			}
			for (; k < n; k++)
				path[k] = alpha[random() % 4];
			path[k] = '\0';
			/* the oracle: the lowest id whose conditions hold; ids follow the file
			 * order (all rules alert) */
			for (size_t i = 0; i < cfg.runtime.n_rules && !want; i++) {
				const struct tg_rt_rule_conf *r = &rules[i];

				if (r->tenant[0] && (uint32_t)(r->tenant[1] - '0') != tenant)
					continue;
				if (r->open_flags && !(r->open_flags & oflags))
					continue;
				if (r->path[0] && !oracle_path(r->path, path))
					continue;
				if (r->comm[0] && fnmatch(r->comm, "test_rt_rules", 0))
					continue;
				want = (int)i + 1;
			}
			got = judge(path, gen, tenant, oflags);
			judged++;
			matched += want > 0;
			if (got != want && mismatches++ < 10)
				tap_diag("set %u: '%s' tenant %u flags %u: want rule %d (%s), got "
					 "%d",
					 set, path, tenant, oflags, want,
					 want ? rules[want - 1].path : "-", got);
		}
	}
	tap_check(!failed && !mismatches,
		  "%u paths judged in the kernel agree with fnmatch(3) over %u rule sets "
		  "(%u mismatches)",
		  judged, SETS, mismatches);
	tap_check(matched > judged / 10 && matched < judged - judged / 10,
		  "both verdicts are frequent (%u of %u matched a rule)", matched, judged);
	tg_rt_compiled_free(&c[0]);
	tg_rt_compiled_free(&c[1]);
	free(c);
	rt_rules_bpf__destroy(skel);
	return tap_done();
}
