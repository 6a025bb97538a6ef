/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What every subcommand shares: its entry point type and where things live. */
#ifndef TG_CLI_H
#define TG_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct tg_paths {
	char config[512];
	char pin_path[256];
	char run_dir[256];
	char store[512];
	char audit[512]; /* outputs.audit */
	uint32_t interval;
	char node[64]; /* node.name, else the host name: the agent's billing node */
};

/* Resolves the paths from FILE, or from the default configuration when it exists, or
 * the built-in defaults. A configuration with errors is reported and fails. */
int tg_cli_paths(const char *file, struct tg_paths *p);

extern bool tg_verbose;
void tg_libbpf_quiet(void); /* libbpf's messages only with -v */

/* What commands print, into any FILE (the API serves the same, docs/api.md). */
int tg_status_write(FILE *f, const char *pin_path, bool json);
int tg_tenants_write(FILE *f, const char *pin_path, double secs, bool json);
int tg_flows_write(FILE *f, const char *pin_path, const char *tenant, unsigned long top,
		   double secs, bool json);
int tg_bans_write(FILE *f, const char *pin_path, bool json);
struct tg_cidr;
int tg_block_apply(const char *pin_path, const char *audit_path, bool unblock,
		   const struct tg_cidr *c, uint64_t ttl_ms, const char *actor, bool *guard);

/* The running agent's API over RUN_DIR/api.sock (src/api_client.c). -ENOTCONN when no
 * agent answers there: the caller falls back to the pins. */
int tg_api_request(const char *run_dir, const char *method, const char *path, const char *body,
		   int *status, char **answer, size_t *len);
int tg_api_status(const char *run_dir, bool json);
int tg_api_block(const char *run_dir, bool unblock, const char *cidr, const char *ttl, bool *guard,
		 char *msg, size_t msg_len);

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_reload(int argc, char **argv);
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
