// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tollgate check -c FILE`: the whole file validated, every error reported, nothing applied. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *file = NULL;
	struct tg_config cfg = {};
	struct tg_diags d = {};
	int c, err;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'h':
			printf("usage: tollgate check -c FILE\n");
			return 0;
		default:
			fprintf(stderr, "usage: tollgate check -c FILE\n");
			return 2;
		}
	}
	if (!file || optind != argc) {
		fprintf(stderr, "usage: tollgate check -c FILE\n");
		return 2;
	}
	err = tg_config_load(file, &cfg, &d);
	tg_diags_print(&d, file, stderr);
	if (err && err != -EINVAL)
		fprintf(stderr, "%s: cannot read: %s\n", file, strerror(-err));
	else if (!err)
		printf("%s: ok: %zu tenants, %zu classes\n", file, cfg.n_tenants, cfg.n_classes);
	tg_diags_free(&d);
	tg_config_free(&cfg);
	return err ? 1 : 0;
}
