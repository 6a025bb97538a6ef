// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tollgate: one binary, one table of subcommands (as wg(8) does it). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "run", cmd_run, "run the agent" },
	{ "check", cmd_check, "validate a configuration file" },
	{ "reload", cmd_reload, "reload the agent's configuration, live (as SIGHUP)" },
	{ "stop", cmd_stop, "stop the agent; --purge also removes what Tollgate created" },
	{ "status", cmd_status, "agent and datapath health" },
	{ "tenants", cmd_tenants, "live per-tenant counters and rates" },
	{ "top", cmd_top, "live terminal view of tenants and top flows" },
	{ "bill", cmd_bill, "billed usage per tenant, class, direction and interval" },
	{ "flows", cmd_flows, "active flows with rates" },
	{ "events", cmd_events, "enforcement and quota events (the events file)" },
	{ "replay", cmd_replay, "run a capture through the BPF programs, offline" },
	{ "block", cmd_block, "ban a source prefix on the uplink guard, live (--ttl)" },
	{ "unblock", cmd_unblock, "lift a ban" },
	{ "audit", cmd_audit, "verify the hash chain of an audit log" },
	{ "bpf-inventory", cmd_bpf_inventory, "every BPF program, map and link; known or not" },
	{ "relevance", cmd_relevance, "which vulnerabilities of a report are loaded at runtime" },
	{ "seccomp-profile", cmd_seccomp_profile, "OCI seccomp profile a tenant's syscalls made" },
	{ "exec", cmd_exec, "run a command in a tenant's cgroup (--seccomp: under a profile)" },
	{ "whois", cmd_whois, "which tenant held an address at a time (--at)" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: tollgate COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-15s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\n`tollgate COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "tollgate: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
