// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tollgate bpf-inventory [--json] (docs/bpf-inventory.md) */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_inventory.h"
#include "cli.h"
#include "config.h"

static void usage_bpf_inventory(FILE *out)
{
	fprintf(out,
		"usage: tollgate bpf-inventory [--json] [-c FILE] [--sample MS]\n"
		"  -j, --json         one JSON object: programs, maps, links\n"
		"  -c, --config FILE  configuration (runtime.bpf_allowlist, agent.run_dir)\n"
		"      --sample MS    when BPF run statistics are off, turn them on for MS\n"
		"                     milliseconds before reading (default 1000; 0: do not)\n"
		"Every BPF program, map and link on the host; each program known (Tollgate's\n"
		"own: name and tag), allowlisted (tag in runtime.bpf_allowlist) or unknown.\n");
}

static bool stats_sysctl_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v == 1;
}

int cmd_bpf_inventory(int argc, char **argv)
{
	enum { OPT_SAMPLE = 256 };
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "config", required_argument, NULL, 'c' },
					      { "sample", required_argument, NULL, OPT_SAMPLE },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	struct tg_config cfg = {};
	struct tg_diags d = {};
	struct tg_bpf_snapshot s = {};
	struct tg_bpf_ref ref = {};
	const char *config = NULL, *run_dir = TG_DEFAULT_RUN_DIR;
	unsigned long sample_ms = 1000;
	bool json = false, have_cfg = false;
	int c, err, stats_fd = -1;
	char *end;

	while ((c = getopt_long(argc, argv, "jc:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'c':
			config = optarg;
			break;
		case OPT_SAMPLE:
			errno = 0;
			sample_ms = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || sample_ms > 60000) {
				fprintf(stderr,
					"tollgate: bad --sample '%s': milliseconds, 0 to 60000\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage_bpf_inventory(stdout);
			return 0;
		default:
			usage_bpf_inventory(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage_bpf_inventory(stderr);
		return 2;
	}
	if (!config && !access(TG_DEFAULT_CONFIG, F_OK))
		config = TG_DEFAULT_CONFIG;
	if (config) {
		err = tg_config_load(config, &cfg, &d);
		if (err) {
			if (err == -EINVAL)
				tg_diags_print(&d, config, stderr);
			else
				fprintf(stderr, "tollgate: cannot read %s: %s\n", config,
					strerror(-err));
			tg_diags_free(&d);
			return 1;
		}
		have_cfg = true;
		if (cfg.run_dir)
			run_dir = cfg.run_dir;
		for (size_t i = 0; i < cfg.runtime.n_bpf_allowlist; i++)
			if (!tg_bpf_tag_valid(cfg.runtime.bpf_allowlist[i]))
				fprintf(stderr,
					"tollgate: runtime.bpf_allowlist: '%s' is not a tag (16 "
					"hex "
					"digits); it matches nothing\n",
					cfg.runtime.bpf_allowlist[i]);
	}
	tg_libbpf_quiet();

	if (stats_sysctl_on()) {
		s.stats_on = true;
		s.stats_by = "sysctl";
	} else if (sample_ms) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0) {
			fprintf(stderr, "tollgate: cannot turn BPF run statistics on: %s\n",
				strerror(errno));
			s.stats_by = "off";
		} else {
			struct timespec ts = { .tv_sec = (time_t)(sample_ms / 1000),
					       .tv_nsec = (long)(sample_ms % 1000) * 1000000 };

			s.stats_on = true;
			s.stats_by = "command";
			s.stats_window_ms = sample_ms;
			while (nanosleep(&ts, &ts) && errno == EINTR)
				;
		}
	} else {
		s.stats_by = "off";
	}
	err = tg_bpf_snapshot_take(&s);
	if (stats_fd >= 0)
		close(stats_fd);
	if (err) {
		fprintf(stderr, "tollgate: cannot list the BPF objects: %s\n", strerror(-err));
		goto out;
	}
	/* Tollgate's own tags: the running agent's list, else learnt here (which loads and
	 * unloads Tollgate's objects: a running agent would see those loads). After the
	 * snapshot, so that the maps of those loads, freed a little later, are not in it. */
	err = tg_bpf_ref_read(run_dir, &ref);
	if (err)
		err = tg_bpf_ref_embedded(&ref);
	if (err) {
		fprintf(stderr, "tollgate: cannot tell Tollgate's own programs: %s\n",
			strerror(-err));
		tg_bpf_snapshot_free(&s);
		goto out;
	}

	tg_bpf_snapshot_classify(&s, &ref, have_cfg ? cfg.runtime.bpf_allowlist : NULL,
				 have_cfg ? cfg.runtime.n_bpf_allowlist : 0, run_dir);
	tg_bpf_snapshot_print(stdout, &s, json);
	tg_bpf_snapshot_free(&s);
out:
	tg_bpf_ref_free(&ref);
	if (have_cfg)
		tg_config_free(&cfg);
	tg_diags_free(&d);
	return err ? 1 : 0;
}
