// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What seccomp learning costs per syscall (docs/seccomp.md): getpid(2) in a loop, ns per
 * call, with the learning program detached; attached, from a task of no tenant (every
 * other process of the host while some tenant learns); and attached, from a task of a
 * learning tenant (every number already learned: the steady state). A private datapath
 * and learner (nothing pinned), a cgroup of its own under the cgroup2 mount recorded as
 * tenant 1's. Rounds alternate between the cases and medians are compared.
 *
 *   seccomp_learn [CALLS]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "datapath.h"
#include "empty_rawtp.skel.h"
#include "mounts.h"
#include "result.h"
#include "seccomp_learn.h"

#define ROUNDS 11
#define TENANT 1

enum { OFF, EMPTY, HOST, HOST_DEEP, TENANT_TASK, CASES };
static const char *const names[CASES] = {
	"nothing attached",
	"an empty raw_tp/sys_enter program",
	"learning, task of no tenant (its cgroup)",
	"learning, task of no tenant, 3 levels deeper",
	"learning, task of a learning tenant",
};

static char cg_path[600], deep_path[700], home_procs[1100];

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double ns_per_call(long calls)
{
	double t0 = now_ns();

	for (long i = 0; i < calls; i++)
		syscall(SYS_getpid);
	return (now_ns() - t0) / calls;
}

static int move_to(const char *procs)
{
	char pid[32];
	int fd = open(procs, O_WRONLY | O_CLOEXEC), len, err = 0;

	if (fd < 0)
		return -errno;
	len = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (write(fd, pid, (size_t)len) != len)
		err = -errno;
	close(fd);
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* This task's cgroup v2 path, from /proc/self/cgroup ("0::/path"). */
static int home_cgroup(const char *mnt)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(home_procs, sizeof(home_procs), "%s%s/cgroup.procs", mnt,
			 strcmp(line + 3, "/") ? line + 3 : "");
		err = 0;
	}
	fclose(f);
	return err;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 2000000;
	double res[CASES][ROUNDS];
	struct tg_datapath *dp = NULL;
	struct tg_sc_learner *l = NULL;
	struct tg_cgroup_val v = { .tenant_id = TENANT, .level = 1 };
	struct empty_rawtp_bpf *empty = NULL;
	struct bpf_link *empty_link = NULL;
	char mnt[512], procs[700], deep_procs[800];
	struct stat st;
	uint64_t cgid;
	int err, depth = 0;

	tg_libbpf_quiet();
	if (calls <= 0) {
		fprintf(stderr, "usage: seccomp_learn [CALLS]\n");
		return 2;
	}
	err = tg_cgroup2_mount(mnt, sizeof(mnt));
	if (!err)
		err = home_cgroup(mnt);
	if (err) {
		fprintf(stderr, "seccomp_learn: no cgroup2 mount or no cgroup v2 path: %s\n",
			strerror(-err));
		return 1;
	}
	for (const char *c = home_procs + strlen(mnt); *c; c++)
		depth += *c == '/';
	depth--; /* the /cgroup.procs */
	snprintf(cg_path, sizeof(cg_path), "%s/tg-bench-seccomp-%d", mnt, getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg_path);
	snprintf(deep_path, sizeof(deep_path), "%s-host", cg_path);
	snprintf(deep_procs, sizeof(deep_procs), "%s/a/b/cgroup.procs", deep_path);
	if (mkdir(deep_path, 0755) || mkdir(strcat(deep_path, "/a"), 0755) ||
	    mkdir(strcat(deep_path, "/b"), 0755) || mkdir(cg_path, 0755) || stat(cg_path, &st)) {
		fprintf(stderr, "seccomp_learn: cannot create %s: %s\n", cg_path, strerror(errno));
		return 1;
	}
	cgid = st.st_ino;
	err = tg_datapath_load(NULL, NULL, &dp);
	if (!err)
		err = tg_sc_load(tg_datapath_maps(dp), NULL, &l);
	if (!err && bpf_map_update_elem(tg_datapath_maps(dp)->cgroups, &cgid, &v, BPF_ANY))
		err = -errno;
	if (!err)
		err = tg_sc_set_learning(tg_sc_learn_fd(l), tg_sc_sets_fd(l), TENANT, true);
	if (!err) {
		empty = empty_rawtp_bpf__open_and_load();
		err = empty ? 0 : -errno;
	}
	if (err) {
		fprintf(stderr, "seccomp_learn: cannot set up: %s\n", strerror(-err));
		goto out;
	}
	for (int r = 0; r < ROUNDS && !err; r++) {
		for (int c = 0; c < CASES && !err; c++) {
			tg_sc_detach(l);
			bpf_link__destroy(empty_link);
			empty_link = NULL;
			if (c == EMPTY) {
				empty_link = bpf_program__attach(empty->progs.empty_sys_enter);
				err = empty_link ? 0 : -errno;
			} else if (c != OFF) {
				err = tg_sc_attach(l);
			}
			if (!err)
				err = move_to(c == TENANT_TASK ? procs
					      : c == HOST_DEEP ? deep_procs
							       : home_procs);
			if (!err) {
				ns_per_call(calls / 10); /* warm up, and learn */
				res[c][r] = ns_per_call(calls);
			}
		}
	}
	move_to(home_procs);
	tg_sc_detach(l);
	bpf_link__destroy(empty_link);
	empty_link = NULL;
	if (err) {
		fprintf(stderr, "seccomp_learn: %s\n", strerror(-err));
		goto out;
	}
	{
		struct tg_sc_set set;
		bool on;

		/* The learner must have seen getpid in the tenant's case, or the case measured
		 * nothing. */
		err = tg_sc_read(tg_sc_learn_fd(l), tg_sc_sets_fd(l), TENANT, &on, &set);
		if (!err && !(set.native[SYS_getpid / 64] & (1ULL << (SYS_getpid % 64)))) {
			fprintf(stderr, "seccomp_learn: the tenant's set lacks getpid\n");
			err = -EIO;
			goto out;
		}
	}
	printf("getpid(2) cost, ns per call: %ld calls, %d interleaved rounds, medians; the "
	       "task of no tenant is at cgroup depth %d, then %d\n",
	       calls, ROUNDS, depth, depth + 3);
	printf("%-48s %10s %8s\n", "case", "ns/call", "ratio");
	for (int c = 0; c < CASES; c++)
		qsort(res[c], ROUNDS, sizeof(double), cmp_double);
	for (int c = 0; c < CASES; c++)
		printf("%-48s %10.1f %8.2f\n", names[c], res[c][ROUNDS / 2],
		       res[c][ROUNDS / 2] / res[OFF][ROUNDS / 2]);
	for (int c = EMPTY; c < CASES; c++) {
		char name[96];

		snprintf(name, sizeof(name), "getpid: %s", names[c]);
		bench_result(name, "nothing attached", "ns/call", res[OFF][ROUNDS / 2],
			     res[c][ROUNDS / 2]);
	}
out:
	move_to(home_procs);
	bpf_link__destroy(empty_link);
	empty_rawtp_bpf__destroy(empty);
	tg_sc_close(l);
	tg_datapath_close(dp);
	rmdir(cg_path);
	rmdir(deep_path); /* .../a/b */
	*strrchr(deep_path, '/') = '\0';
	rmdir(deep_path);
	*strrchr(deep_path, '/') = '\0';
	rmdir(deep_path);
	return err ? 1 : 0;
}
