// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate seccomp-profile --tenant T [--json]`: the OCI seccomp profile (the JSON runc
 * and Docker read) of the syscalls tenant T issued while it learned
 * (runtime.seccomp_learn, docs/seccomp.md), read from the pins tg_sc_learn and tg_sc_sets.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "datapath.h"
#include "seccomp_learn.h"
#include "seccomp_profile.h"

static const char usage_text[] =
	"usage: tollgate seccomp-profile --tenant T [--json] [-c FILE]\n"
	"  -t, --tenant T   the tenant whose learned syscalls make the profile\n"
	"  -j, --json       the profile is JSON in any case (an OCI seccomp profile)\n"
	"  -c, --config F   where the datapath is (default " TG_DEFAULT_CONFIG ")\n";

static int tenant_id(const struct tg_paths *p, const char *name, uint32_t *id, bool *running)
{
	struct tg_tenant_meta *meta = calloc(TG_MAX_TENANTS, sizeof(*meta));
	struct tg_state st = {};
	struct tg_maps m;
	int err;

	if (!meta)
		return -ENOMEM;
	err = tg_maps_open_pinned(p->pin_path, &m);
	if (err) {
		fprintf(stderr, "tollgate: no datapath under %s (%s): start the agent first\n",
			p->pin_path, strerror(-err));
		free(meta);
		return err;
	}
	err = tg_maps_read_meta(&m, meta);
	if (!err)
		err = tg_state_read(&m, &st);
	if (err) {
		fprintf(stderr, "tollgate: cannot read the tenants: %s\n", strerror(-err));
	} else {
		*id = tg_meta_find(meta, name);
		*running = st.agent_pid && !kill((pid_t)st.agent_pid, 0);
		if (!*id) {
			fprintf(stderr, "tollgate: unknown tenant '%s'\n", name);
			err = -ENOENT;
		}
	}
	tg_maps_close(&m);
	free(meta);
	return err;
}

static int print_profile(const char *name, const struct tg_sc_set *set)
{
	struct tg_sc_profile prof;
	size_t unnamed;
	int err;

	err = tg_sc_profile_from_set(set, &prof, &unnamed, stderr);
	if (err) {
		fprintf(stderr, "tollgate: cannot build the profile: %s\n", strerror(-err));
		return err;
	}
	if (!prof.n_rules) {
		fprintf(stderr, "tollgate: tenant %s: no learned syscall has a name\n", name);
		tg_sc_profile_free(&prof);
		return -ENOENT;
	}
	tg_sc_profile_print(stdout, &prof);
	tg_sc_profile_free(&prof);
	return fflush(stdout) ? -errno : 0;
}

static bool set_empty(const struct tg_sc_set *s)
{
	for (int i = 0; i < TG_SC_WORDS; i++) {
		if (s->native[i] || s->compat[i])
			return false;
	}
	return true;
}

int cmd_seccomp_profile(int argc, char **argv)
{
	static const struct option opts[] = { { "tenant", required_argument, NULL, 't' },
					      { "json", no_argument, NULL, 'j' },
					      { "config", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *file = NULL, *tenant = NULL;
	int c, err, learn_fd = -1, sets_fd = -1;
	bool learning = false, running = false;
	struct tg_sc_set set;
	struct tg_paths p;
	uint32_t id = 0;

	while ((c = getopt_long(argc, argv, "t:jc:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tenant = optarg;
			break;
		case 'j':
			break;
		case 'c':
			file = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind != argc || !tenant) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (tg_cli_paths(file, &p))
		return 1;
	if (tenant_id(&p, tenant, &id, &running))
		return 1;
	err = tg_sc_open_pinned(p.pin_path, &learn_fd, &sets_fd);
	if (err) {
		fprintf(stderr,
			"tollgate: no seccomp learning under %s (%s): list the tenant in "
			"runtime.seccomp_learn and start the agent\n",
			p.pin_path, strerror(-err));
		return 1;
	}
	err = tg_sc_read(learn_fd, sets_fd, id, &learning, &set);
	close(learn_fd);
	close(sets_fd);
	if (err) {
		fprintf(stderr, "tollgate: cannot read what tenant %s learned: %s\n", tenant,
			strerror(-err));
		return 1;
	}
	if (set_empty(&set)) {
		if (learning)
			fprintf(stderr,
				"tollgate: tenant %s learns, but nothing was learned yet: run its "
				"workload in its cgroup (tollgate exec --tenant %s -- ...)%s\n",
				tenant, tenant, running ? "" : "; and the agent is not running");
		else
			fprintf(stderr,
				"tollgate: tenant %s is not learning and learned nothing: list it "
				"in runtime.seccomp_learn\n",
				tenant);
		return 1;
	}
	if (!learning)
		fprintf(stderr,
			"tollgate: note: tenant %s is not learning now: this is what it learned "
			"before\n",
			tenant);
	else if (!running)
		fprintf(stderr, "tollgate: note: the agent is not running: nothing is learned "
				"now\n");
	if (set.flags & (TG_SC_F_NATIVE_BIG | TG_SC_F_COMPAT_BIG))
		fprintf(stderr,
			"tollgate: warning: tenant %s issued syscall numbers beyond %d "
			"(x32 or invalid ones): they are not in the profile\n",
			tenant, TG_SC_NR_MAX - 1);
	return print_profile(tenant, &set) ? 1 : 0;
}
