// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cli.h"
#include "config.h"

bool tg_verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !tg_verbose)
		return 0;
	if (level == LIBBPF_INFO && !tg_verbose)
		return 0;
	/* bpf_tc_hook_create on a link that has its clsact already: expected, and answered
	 * (EEXIST) where it is called */
	if (!tg_verbose && strstr(fmt, "Kernel error message: %s")) {
		va_list cp;
		const char *msg;

		va_copy(cp, ap);
		msg = va_arg(cp, const char *);
		va_end(cp);
		if (msg && !strcmp(msg, "Exclusivity flag on, cannot modify"))
			return 0;
	}
	return vfprintf(stderr, fmt, ap);
}

void tg_libbpf_quiet(void)
{
	libbpf_set_print(print_libbpf);
}

int tg_cli_paths(const char *file, struct tg_paths *p)
{
	struct tg_config cfg = {};
	struct tg_diags d = {};
	int err;

	snprintf(p->pin_path, sizeof(p->pin_path), "%s", TG_DEFAULT_PIN_PATH);
	snprintf(p->run_dir, sizeof(p->run_dir), "%s", TG_DEFAULT_RUN_DIR);
	snprintf(p->store, sizeof(p->store), "%s", TG_DEFAULT_STORE);
	snprintf(p->audit, sizeof(p->audit), "%s", TG_DEFAULT_AUDIT);
	p->interval = TG_DEFAULT_INTERVAL;
	p->config[0] = '\0';
	p->node[0] = '\0';
	if (!file) {
		if (access(TG_DEFAULT_CONFIG, F_OK))
			return 0;
		file = TG_DEFAULT_CONFIG;
	}
	snprintf(p->config, sizeof(p->config), "%s", file);
	err = tg_config_load(file, &cfg, &d);
	if (err) {
		if (err == -EINVAL)
			tg_diags_print(&d, file, stderr);
		else
			fprintf(stderr, "tollgate: cannot read %s: %s\n", file, strerror(-err));
		tg_diags_free(&d);
		return err;
	}
	snprintf(p->pin_path, sizeof(p->pin_path), "%s", cfg.pin_path);
	snprintf(p->run_dir, sizeof(p->run_dir), "%s", cfg.run_dir);
	snprintf(p->store, sizeof(p->store), "%s", cfg.store_path);
	if (cfg.audit_path)
		snprintf(p->audit, sizeof(p->audit), "%s", cfg.audit_path);
	p->interval = cfg.interval;
	snprintf(p->node, sizeof(p->node), "%s", cfg.node);
	tg_config_free(&cfg);
	tg_diags_free(&d);
	return 0;
}
