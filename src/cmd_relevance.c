// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tollgate relevance --report FILE [--tenant T] [--json] (docs/relevance.md) */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "inventory.h"
#include "relevance.h"

static void usage_relevance(FILE *out)
{
	fprintf(out,
		"usage: tollgate relevance --report FILE [--tenant T] [--json] [-c FILE] "
		"[--inventory PATH]\n"
		"  -r, --report FILE    a Grype or Trivy JSON report (grype -o json, trivy -f "
		"json)\n"
		"  -t, --tenant T       only what tenant T's processes loaded (default: any "
		"tenant)\n"
		"  -j, --json           one JSON object\n"
		"  -c, --config FILE    configuration naming the inventory "
		"(runtime.inventory_path)\n"
		"      --inventory PATH read this inventory instead\n"
		"Marks each vulnerability loaded when a file of its Debian package was executed\n"
		"or opened as a library by a tenant's process (the runtime inventory).\n");
}

/* The inventory path of the configuration (or the default one). */
static int inventory_path(const char *config, char *out, size_t len)
{
	struct tg_config cfg = {};
	struct tg_diags d = {};
	int err;

	snprintf(out, len, "%s", TG_DEFAULT_INVENTORY);
	if (!config) {
		if (access(TG_DEFAULT_CONFIG, F_OK))
			return 0;
		config = TG_DEFAULT_CONFIG;
	}
	err = tg_config_load(config, &cfg, &d);
	if (err) {
		if (err == -EINVAL)
			tg_diags_print(&d, config, stderr);
		else
			fprintf(stderr, "tollgate: cannot read %s: %s\n", config, strerror(-err));
		tg_diags_free(&d);
		return err;
	}
	if (cfg.runtime.inventory_path)
		snprintf(out, len, "%s", cfg.runtime.inventory_path);
	tg_config_free(&cfg);
	tg_diags_free(&d);
	return 0;
}

static int count_entry(const char *tenant, const char *path, enum tg_inv_kind kind, int64_t first_s,
		       int64_t last_s, void *arg)
{
	(void)tenant;
	(void)path;
	(void)kind;
	(void)first_s;
	(void)last_s;
	++*(size_t *)arg;
	return 0;
}

int cmd_relevance(int argc, char **argv)
{
	enum { OPT_INVENTORY = 256 };
	static const struct option opts[] = { { "report", required_argument, NULL, 'r' },
					      { "tenant", required_argument, NULL, 't' },
					      { "json", no_argument, NULL, 'j' },
					      { "config", required_argument, NULL, 'c' },
					      { "inventory", required_argument, NULL,
						OPT_INVENTORY },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *report = NULL, *tenant = NULL, *config = NULL, *inv_opt = NULL;
	struct tg_inventory *inv = NULL;
	struct tg_report r = { 0 };
	char inv_path[512], err_msg[512];
	struct stat st;
	bool json = false;
	size_t entries = 0;
	int c, err;

	while ((c = getopt_long(argc, argv, "r:t:jc:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			report = optarg;
			break;
		case 't':
			if (!tg_tenant_name_valid(optarg)) {
				fprintf(stderr,
					"tollgate: bad --tenant '%s': a tenant name (a-z, 0-9, "
					"'.', "
					"'_', '-')\n",
					optarg);
				return 2;
			}
			tenant = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			config = optarg;
			break;
		case OPT_INVENTORY:
			inv_opt = optarg;
			break;
		case 'h':
			usage_relevance(stdout);
			return 0;
		default:
			usage_relevance(stderr);
			return 2;
		}
	}
	if (optind != argc || !report) {
		if (!report)
			fprintf(stderr, "tollgate: relevance: --report FILE is required\n");
		usage_relevance(stderr);
		return 2;
	}

	/* the report first: a bad report is the likelier mistake, and costs nothing */
	err = tg_report_load(report, &r, err_msg, sizeof(err_msg));
	if (err) {
		fprintf(stderr, "tollgate: %s\n", err_msg);
		return 1;
	}

	if (inv_opt)
		snprintf(inv_path, sizeof(inv_path), "%s", inv_opt);
	else if (inventory_path(config, inv_path, sizeof(inv_path))) {
		tg_report_free(&r);
		return 1;
	}
	/* opening would create it: a missing inventory is an error, not an empty one */
	errno = 0;
	if (stat(inv_path, &st) || !S_ISREG(st.st_mode)) {
		fprintf(stderr,
			"tollgate: no inventory at %s (%s): the agent records one while "
			"runtime.inventory is on\n",
			inv_path, errno ? strerror(errno) : "not a regular file");
		tg_report_free(&r);
		return 1;
	}
	err = tg_inventory_open(inv_path, &inv); /* says why when it fails */
	if (!err) {
		err = tg_inventory_each(inv, tenant, count_entry, &entries);
		if (!err && !entries) {
			fprintf(stderr, "tollgate: the inventory %s has no entries%s%s%s\n",
				inv_path, tenant ? " for tenant '" : "", tenant ? tenant : "",
				tenant ? "'" : "");
			err = -ENOENT;
		} else if (!err) {
			err = tg_relevance_eval(&r, inv, tenant, NULL);
			if (err)
				fprintf(stderr, "tollgate: relevance: %s\n", strerror(-err));
		}
	}
	if (!err)
		tg_relevance_print(stdout, &r, tenant, json);
	tg_inventory_close(inv);
	tg_report_free(&r);
	return err ? 1 : 0;
}
