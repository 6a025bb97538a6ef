/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What every subcommand shares: its entry point type and where things live. */
#ifndef TG_CLI_H
#define TG_CLI_H

#include <stdbool.h>
#include <stdint.h>

struct tg_paths {
	char config[512];
	char pin_path[256];
	char run_dir[256];
	char store[512];
	char audit[512]; /* outputs.audit */
	uint32_t interval;
};

/* Resolves the paths from FILE, or from the default configuration when it exists, or
 * the built-in defaults. A configuration with errors is reported and fails. */
int tg_cli_paths(const char *file, struct tg_paths *p);

extern bool tg_verbose;
void tg_libbpf_quiet(void); /* libbpf's messages only with -v */

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_tenants(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_bill(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_block(int argc, char **argv);
int cmd_unblock(int argc, char **argv);
int cmd_bpf_inventory(int argc, char **argv);
int cmd_relevance(int argc, char **argv);
int cmd_seccomp_profile(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_whois(int argc, char **argv);

#endif /* TG_CLI_H */
