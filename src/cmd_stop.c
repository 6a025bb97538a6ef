// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate stop [--purge]`: stop the agent (the datapath stays and keeps metering), and
 * with --purge remove every filter, qdisc, cgroup program, pin and mount Tollgate
 * created. Purge removes nothing from the billing store (billed data is not part of the
 * datapath); it bills there, once the hooks are gone, what the counters hold beyond the
 * last harvest, which a killed or crashed agent never did.
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
#include "harvest.h"
#include "mounts.h"
#include "runtime.h"
#include "seccomp_learn.h"
#include "store.h"

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

/*
 * The last harvest, made by purge once nothing counts any more (the hooks detached): an
 * agent that was stopped harvested at its stop, but one that was killed, or crashed, left
 * what the kernel counted since its last harvest in the counters, and the counters are
 * about to go. The store's cursors make it exact either way: only the difference is
 * billed, into the current interval. The node is the agent's (node.name, else the host
 * name), so the cursors are found.
 */
static int bill_rest(const struct tg_paths *p, const struct tg_maps *m)
{
	struct tg_tenant_meta *meta = calloc(TG_MAX_TENANTS, sizeof(*meta));
	struct tg_store *s = NULL;
	char node[64], shown[512];
	uint64_t billed = 0;
	struct timespec ts;
	int64_t now;
	int err;

	if (!meta)
		return -ENOMEM;
	snprintf(node, sizeof(node), "%s", p->node);
	if (!node[0] && gethostname(node, sizeof(node) - 1)) {
		free(meta);
		return -errno;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec;
	err = tg_maps_read_meta(m, meta);
	if (!err)
		err = tg_store_open(p->store, 0, &s);
	if (!err)
		err = tg_harvest(m, meta, s, node, now - now % p->interval, p->interval, &billed);
	tg_store_close(s);
	free(meta);
	tg_store_display(p->store, shown, sizeof(shown)); /* no password */
	if (err)
		fprintf(stderr,
			"tollgate: cannot bill what the counters hold beyond the last harvest into "
			"%s: %s; the pins are kept (start the agent once to bill it, then purge)\n",
			shown, strerror(-err));
	else
		printf("tollgate: billed %llu bytes counted since the last harvest into %s\n",
		       (unsigned long long)billed, shown);
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
		if (!err)
			err = bill_rest(p, &m);
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
