// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate audit verify FILE [--json]`: checks the hash chain of an audit log and, when
 * FILE.head is there, that nothing was cut off its end (docs/audit.md). Exit 0 when the
 * chain is intact, 1 when a record is bad (named by its line), 2 for a usage error or a
 * file that cannot be read.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "json.h"

static void usage_audit(FILE *out)
{
	fprintf(out, "usage: tollgate audit verify FILE [--json]\n"
		     "  verify FILE   check the audit log's hash chain, and its head file\n"
		     "                FILE.head when present (records cut off the end)\n"
		     "  -j, --json    the result as one JSON object\n"
		     "exit status: 0 intact, 1 a bad record (named by its line), 2 usage or "
		     "read error\n");
}

static void print_json(const char *file, int rc, uint64_t records, uint64_t bad_line,
		       const char *msg)
{
	printf("{\"file\":");
	tg_json_string(stdout, file);
	printf(",\"records\":%" PRIu64 ",\"intact\":%s", records, rc ? "false" : "true");
	if (rc) {
		printf(",\"bad_line\":%" PRIu64 ",\"reason\":", bad_line);
		tg_json_string(stdout, msg);
		printf(",\"warning\":null}\n");
	} else {
		printf(",\"bad_line\":null,\"reason\":null,\"warning\":");
		if (*msg)
			tg_json_string(stdout, msg);
		else
			printf("null");
		printf("}\n");
	}
}

static int audit_verify(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	uint64_t records = 0, bad_line = 0;
	bool json = false;
	char msg[1024];
	const char *file;
	int c, rc;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage_audit(stdout);
			return 0;
		default:
			usage_audit(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "tollgate: audit verify takes one FILE, the audit log "
				"(outputs.audit, by default /var/log/tollgate/audit.log)\n");
		usage_audit(stderr);
		return 2;
	}
	file = argv[optind];
	rc = tg_audit_verify(file, &records, &bad_line, msg, sizeof(msg));
	if (rc < 0) {
		fprintf(stderr, "tollgate: cannot read the audit log %s: %s\n", file,
			strerror(-rc));
		return 2;
	}
	if (json)
		print_json(file, rc, records, bad_line, msg);
	else if (rc)
		printf("%s: record at line %" PRIu64 " is bad: %s\n", file, bad_line, msg);
	else
		printf("%s: %" PRIu64 " records, chain intact\n", file, records);
	if (!rc && *msg)
		fprintf(stderr, "tollgate: %s: %s\n", file, msg);
	return rc ? 1 : 0;
}

int cmd_audit(int argc, char **argv)
{
	if (argc < 2) {
		usage_audit(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage_audit(stdout);
		return 0;
	}
	if (strcmp(argv[1], "verify")) {
		fprintf(stderr, "tollgate: unknown audit command '%s'\n", argv[1]);
		usage_audit(stderr);
		return 2;
	}
	return audit_verify(argc - 1, argv + 1);
}
