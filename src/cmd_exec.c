// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate exec --tenant T [--seccomp FILE] -- COMMAND...`: runs COMMAND in tenant T's
 * first cgroup, under the OCI seccomp profile FILE when given (docs/seccomp.md). The
 * profile is read and compiled before anything changes; then this process joins the
 * cgroup, sets no_new_privs, loads the filter and becomes COMMAND, so COMMAND's exit
 * status is the command's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "mounts.h"
#include "seccomp_profile.h"

static const char usage_text[] =
	"usage: tollgate exec --tenant T [--seccomp FILE] [-c FILE] -- COMMAND [ARG...]\n"
	"  -t, --tenant T    run COMMAND in the first cgroup of tenant T\n"
	"  -s, --seccomp F   under the OCI seccomp profile F (tollgate seccomp-profile)\n"
	"  -c, --config F    the configuration naming the tenant (default " TG_DEFAULT_CONFIG ")\n";

static const struct tg_tenant_conf *find_tenant(const struct tg_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		if (!strcmp(cfg->tenants[i].name, name))
			return &cfg->tenants[i];
	}
	return NULL;
}

/* Moves this process into the tenant's first cgroup. */
static int join_cgroup(const struct tg_tenant_conf *t)
{
	char mnt[512], path[1024], pid[32];
	int fd, err, len;

	err = tg_cgroup2_mount(mnt, sizeof(mnt));
	if (err) {
		fprintf(stderr, "tollgate: no cgroup2 mount in /proc/self/mounts\n");
		return err;
	}
	snprintf(path, sizeof(path), "%s%s/cgroup.procs", mnt, t->cgroups[0]);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "tollgate: tenant %s: cannot open %s: %s\n", t->name, path,
			strerror(-err));
		return err;
	}
	len = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (write(fd, pid, (size_t)len) != len) {
		err = -errno;
		fprintf(stderr, "tollgate: tenant %s: cannot join %s: %s\n", t->name, path,
			strerror(-err));
	}
	close(fd);
	return err;
}

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = { { "tenant", required_argument, NULL, 't' },
					      { "seccomp", required_argument, NULL, 's' },
					      { "config", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *file = TG_DEFAULT_CONFIG, *tenant = NULL, *profile = NULL;
	const struct tg_tenant_conf *t;
	scmp_filter_ctx filter = NULL;
	struct tg_config cfg = {};
	struct tg_diags d = {};
	char err_msg[2048];
	int c, err;

	/* '+': options end at COMMAND, whose own options are its own. */
	while ((c = getopt_long(argc, argv, "+t:s:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tenant = optarg;
			break;
		case 's':
			profile = optarg;
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
	if (!tenant || optind >= argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	err = tg_config_load(file, &cfg, &d);
	if (err) {
		if (err == -EINVAL)
			tg_diags_print(&d, file, stderr);
		else
			fprintf(stderr, "tollgate: cannot read %s: %s\n", file, strerror(-err));
		tg_diags_free(&d);
		return 1;
	}
	tg_diags_free(&d);
	t = find_tenant(&cfg, tenant);
	if (!t) {
		fprintf(stderr, "tollgate: unknown tenant '%s' (not in %s)\n", tenant, file);
		goto fail;
	}
	if (!t->n_cgroups) {
		fprintf(stderr, "tollgate: tenant %s has no cgroups in %s\n", tenant, file);
		goto fail;
	}
	if (profile) {
		struct tg_sc_profile prof;

		err = tg_sc_profile_read(profile, &prof, err_msg, sizeof(err_msg));
		if (!err) {
			err = tg_sc_profile_filter(&prof, &filter, err_msg, sizeof(err_msg));
			tg_sc_profile_free(&prof);
		}
		if (err) {
			fprintf(stderr, "tollgate: %s: %s\n", profile, err_msg);
			goto fail;
		}
	}
	if (join_cgroup(t))
		goto fail;
	if (filter) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
			fprintf(stderr, "tollgate: cannot set no_new_privs: %s\n", strerror(errno));
			goto fail;
		}
		err = seccomp_load(filter);
		if (err) {
			fprintf(stderr, "tollgate: cannot load the seccomp filter: %s\n",
				strerror(-err));
			goto fail;
		}
	}
	tg_config_free(&cfg);
	execvp(argv[optind], &argv[optind]);
	err = errno;
	fprintf(stderr, "tollgate: cannot run %s: %s%s\n", argv[optind], strerror(err),
		err == EPERM && filter ? " (does the profile allow execve?)" : "");
	seccomp_release(filter);
	return err == ENOENT ? 127 : 126;
fail:
	seccomp_release(filter);
	tg_config_free(&cfg);
	return 1;
}
