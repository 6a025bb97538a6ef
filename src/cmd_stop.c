// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate stop [--purge]`: stop the agent (the datapath stays and keeps metering), and
 * with --purge remove every filter, qdisc, cgroup program, pin and mount Tollgate
 * created. Purge never touches the billing store: billed data is not part of the
 * datapath.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroups.h"
#include "cli.h"
#include "datapath.h"
#include "mounts.h"
#include "runtime.h"
#include "seccomp_learn.h"

static pid_t agent_pid(const struct tg_paths *p)
{
	char path[512];
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tollgate.pid", p->run_dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 && kill(pid, 0) == 0 ? (pid_t)pid : 0;
}

static int stop_agent(const struct tg_paths *p)
{
	pid_t pid = agent_pid(p);

	if (!pid) {
		printf("tollgate: no agent running\n");
		return 0;
	}
	if (kill(pid, SIGTERM))
		return -errno;
	/* The agent harvests once more before it exits: give it time to commit. */
	for (int i = 0; i < 300; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		if (kill(pid, 0) && errno == ESRCH) {
			printf("tollgate: agent %d stopped\n", pid);
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "tollgate: agent %d did not stop within 30s\n", pid);
	return -ETIMEDOUT;
}

static int purge_ifaces(const struct tg_maps *m)
{
	uint32_t key, next, *prev = NULL;
	struct tg_iface ifc;
	int err = 0, n = 0;

	while (bpf_map_get_next_key(m->ifaces, prev, &next) == 0) {
		int e;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->ifaces, &key, &ifc))
			continue;
		e = ifc.role == TG_ROLE_UPLINK ? tg_xdp_detach(key) : 0;
		if (!e)
			e = tg_tc_detach(key, ifc.flags & TG_IFACE_CREATED_CLSACT);
		if (e && e != -ENODEV) {
			fprintf(stderr, "tollgate: cannot detach from %s: %s\n", ifc.name,
				strerror(-e));
			err = e;
		} else if (!e) {
			n++;
		}
	}
	printf("tollgate: detached from %d interfaces\n", n);
	return err;
}

static int purge(const struct tg_paths *p)
{
	static const char *const pins[] = {
#define X(n) "tg_" #n,
		TG_MAP_NAMES
#undef X
	};
	struct tg_maps m;
	char path[512];
	int err;

	err = tg_maps_open_pinned(p->pin_path, &m);
	if (!err) {
		err = purge_ifaces(&m);
		if (!err)
			err = tg_cgroups_detach_all(&m);
		tg_maps_close(&m);
		if (err)
			return err; /* keep the pins: they say where the filters are */
	} else if (err != -ENOENT) {
		fprintf(stderr, "tollgate: cannot open pins under %s: %s\n", p->pin_path,
			strerror(-err));
		return err;
	}
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", p->pin_path, pins[i]);
		if (unlink(path) && errno != ENOENT) {
			fprintf(stderr, "tollgate: cannot remove %s: %s\n", path, strerror(errno));
			return -errno;
		}
	}
	err = tg_rt_purge_pins(p->pin_path); /* the runtime's own maps */
	if (!err)
		err = tg_sc_purge(p->pin_path);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s", p->pin_path, TG_SOCKS_PIN);
	if (unlink(path) && errno != ENOENT) {
		fprintf(stderr, "tollgate: cannot remove %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (rmdir(p->pin_path) && errno != ENOENT) {
		fprintf(stderr, "tollgate: cannot remove %s: %s\n", p->pin_path, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/api.sock", p->run_dir); /* a killed agent's */
	if (unlink(path) && errno != ENOENT) {
		fprintf(stderr, "tollgate: cannot remove %s: %s\n", path, strerror(errno));
		return -errno;
	}
	err = tg_mounts_undo(p->run_dir);
	if (!err && rmdir(p->run_dir) && errno != ENOENT && errno != ENOTEMPTY)
		err = -errno;
	printf("tollgate: purged %s\n", p->pin_path);
	return err;
}

int cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "purge", no_argument, NULL, 'p' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *usage = "usage: tollgate stop [-c FILE] [--purge]\n";
	const char *file = NULL;
	bool do_purge = false;
	struct tg_paths p;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'p':
			do_purge = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (tg_cli_paths(file, &p))
		return 1;
	err = stop_agent(&p);
	if (!err && do_purge)
		err = purge(&p);
	if (err && err != -ETIMEDOUT)
		fprintf(stderr, "tollgate: stop failed: %s\n", strerror(-err));
	return err ? 1 : 0;
}
