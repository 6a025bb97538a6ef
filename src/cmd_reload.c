// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate reload [-c FILE] [--json]`: asks the running agent to reload the file it was
 * started with (POST /api/v1/reload on RUN_DIR/api.sock; docs/lifecycle.md). FILE only
 * says where the agent runs (agent.run_dir), and is checked first: a file with errors is
 * reported here and never sent.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: tollgate reload [-c FILE] [--json]\n"
		     "  -c, --config FILE  the agent's configuration (where it runs; checked "
		     "first)\n"
		     "      --json         print the agent's answer as it is\n");
}

/* The answer in words: "reloaded: generation N, T tenants (X ms)" or the error and the
 * diagnostics, one per line. */
static void print_text(const char *answer)
{
	struct json_object *o = json_tokener_parse(answer), *v, *d;

	if (!o) {
		fputs(answer, stdout);
		return;
	}
	if (json_object_object_get_ex(o, "reloaded", &v) && json_object_get_boolean(v)) {
		json_object_object_get_ex(o, "generation", &v);
		printf("reloaded: generation %lld", (long long)json_object_get_int64(v));
		if (json_object_object_get_ex(o, "tenants", &v))
			printf(", %lld tenants", (long long)json_object_get_int64(v));
		if (json_object_object_get_ex(o, "duration_ms", &v))
			printf(" (%.1f ms)", json_object_get_double(v));
		putchar('\n');
	} else {
		if (json_object_object_get_ex(o, "error", &v))
			fprintf(stderr, "tollgate: reload refused: %s\n",
				json_object_get_string(v));
		if (json_object_object_get_ex(o, "diagnostics", &d) &&
		    json_object_is_type(d, json_type_array))
			for (size_t i = 0; i < json_object_array_length(d); i++)
				fprintf(stderr, "%s\n",
					json_object_get_string(json_object_array_get_idx(d, i)));
	}
	json_object_put(o);
}

int cmd_reload(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *file = NULL;
	struct tg_paths p;
	bool json = false;
	char *answer = NULL;
	size_t len;
	int c, err, status = 0;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (tg_cli_paths(file, &p)) {
		fprintf(stderr, "tollgate: not reloaded: the configuration has errors (`tollgate "
				"check` shows them); the agent keeps the one it has\n");
		return 1;
	}
	err = tg_api_request(p.run_dir, "POST", "/api/v1/reload", "{}", &status, &answer, &len);
	if (err == -ENOTCONN) {
		fprintf(stderr, "tollgate: no agent answers on %s/api.sock: is it running?\n",
			p.run_dir);
		return 1;
	}
	if (err) {
		fprintf(stderr, "tollgate: cannot ask the agent to reload: %s\n", strerror(-err));
		return 1;
	}
	if (json)
		fwrite(answer, 1, len, stdout);
	else if (status == 200 || status == 422)
		print_text(answer);
	else
		fprintf(stderr, "tollgate: the agent answered %d: %.*s", status, (int)len, answer);
	free(answer);
	return status == 200 ? 0 : 1;
}
