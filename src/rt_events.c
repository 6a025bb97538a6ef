// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Runtime events as JSON lines. Common fields first (time, type, tenant, pid, ppid, uid,
 * comm, rule, action, killed, flags), then the type's own in tg_rt_event_json's switch.
 */
#include <inttypes.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "flows.h"
#include "json.h"
#include "rt_events.h"
#include "rt_fields.h"

static const char *const type_names[TG_RT_TYPES] = {
	[TG_RT_EXEC] = "exec",	   [TG_RT_EXIT] = "exit",     [TG_RT_OPEN] = "open",
	[TG_RT_PTRACE] = "ptrace", [TG_RT_SETUID] = "setuid", [TG_RT_MODULE] = "module",
	[TG_RT_BPF] = "bpf",	   [TG_RT_MOUNT] = "mount",   [TG_RT_UNSHARE] = "unshare",
	[TG_RT_SETNS] = "setns",
};

const char *tg_rt_type_name(uint32_t type)
{
	return type < TG_RT_TYPES ? type_names[type] : NULL;
}

/* A bounded, NUL-terminated copy of a field of the record. */
static void field_string(FILE *out, const char *s, size_t cap)
{
	char buf[TG_RT_PATH + 1];
	size_t n = strnlen(s, cap < sizeof(buf) - 1 ? cap : sizeof(buf) - 1);

	memcpy(buf, s, n);
	buf[n] = '\0';
	tg_json_string(out, buf);
}

static void words(FILE *out, const char *key, uint32_t bits, const char *const *names, unsigned n)
{
	bool first = true;

	fprintf(out, ", \"%s\": [", key);
	for (unsigned i = 0; i < n; i++) {
		if (!(bits & (1u << i)) || !names[i])
			continue;
		fprintf(out, "%s\"%s\"", first ? "" : ", ", names[i]);
		first = false;
	}
	fputc(']', out);
}

static void args_array(FILE *out, const struct tg_rt_event *e)
{
	size_t len = e->args_len < TG_RT_ARGS ? e->args_len : TG_RT_ARGS;
	size_t i = 0;
	bool first = true;

	fputs(", \"args\": [", out);
	while (i < len) {
		size_t n = strnlen(e->args + i, len - i);

		if (!first)
			fputs(", ", out);
		field_string(out, e->args + i, n);
		first = false;
		i += n + 1;
	}
	fputc(']', out);
}

void tg_rt_event_json(FILE *out, const struct tg_rt_event *e, const struct tg_rt_names *names,
		      int64_t clock_offset_ns)
{
	static const char *const flag_names[] = { "rule",   "monitor", "inventory",
						  "killed", "core",    "truncated" };
	static const char *const mode_names[] = { "read", "write", "create" };
	const char *type = tg_rt_type_name(e->type);
	const char *rule = NULL;
	char t[40];

	tg_format_time_ns(e->time_ns + clock_offset_ns, t, sizeof(t));
	fprintf(out, "{\"time\": \"%s\", \"type\": ", t);
	if (type)
		fprintf(out, "\"%s\"", type);
	else
		fprintf(out, "\"runtime-%u\"", e->type);
	fputs(", \"tenant\": ", out);
	if (!e->tenant_id)
		fputs("null", out);
	else if (names && names->meta && e->tenant_id < TG_MAX_TENANTS &&
		 names->meta[e->tenant_id].name[0])
		field_string(out, names->meta[e->tenant_id].name, TG_NAME_MAX);
	else
		fprintf(out, "\"tenant-%u\"", e->tenant_id);
	fprintf(out, ", \"pid\": %u, \"tid\": %u, \"ppid\": %u, \"uid\": %u, \"gid\": %u", e->tgid,
		e->pid, e->ppid, e->uid, e->gid);
	fputs(", \"comm\": ", out);
	field_string(out, e->comm, sizeof(e->comm));
	fprintf(out, ", \"cgroup_id\": %" PRIu64, (uint64_t)e->cgroup_id);
	if (e->rule) {
		if (names && names->rules && e->rule < TG_MAX_RT_RULES &&
		    names->rules[e->rule_gen & 1][e->rule][0])
			rule = names->rules[e->rule_gen & 1][e->rule];
		fputs(", \"rule\": ", out);
		if (rule)
			tg_json_string(out, rule);
		else
			fprintf(out, "\"rule-%u\"", e->rule);
		fprintf(out, ", \"action\": \"%s\"", e->action == TG_RA_KILL ? "kill" : "alert");
	}
	fprintf(out, ", \"killed\": %s", e->flags & TG_RT_F_KILLED ? "true" : "false");
	words(out, "flags", e->flags, flag_names, 6);

	switch (e->type) {
	case TG_RT_EXEC:
		fputs(", \"path\": ", out);
		field_string(out, e->path, sizeof(e->path));
		args_array(out, e);
		fprintf(out, ", \"old_pid\": %" PRId64, (int64_t)e->arg[0]);
		break;
	case TG_RT_OPEN:
		fputs(", \"path\": ", out);
		field_string(out, e->path, sizeof(e->path));
		words(out, "mode", (uint32_t)e->arg[2], mode_names, 3);
		fprintf(out, ", \"open_flags\": %" PRId64 ", \"dfd\": %" PRId64, (int64_t)e->arg[1],
			(int64_t)e->arg[0]);
		break;
	case TG_RT_EXIT:
	case TG_RT_PTRACE:
	case TG_RT_SETUID:
	case TG_RT_MODULE:
	case TG_RT_MOUNT:
	case TG_RT_UNSHARE:
	case TG_RT_SETNS:
		/* lib/rt_exit.h's and lib/rt_sys.h's fields: src/rt_fields.c */
		tg_rt_fields_write(out, e);
		break;
	case TG_RT_BPF: { /* lib/rt_bpf.h: a bpf(BPF_PROG_LOAD) and its result */
		const char *pt = libbpf_bpf_prog_type_str((enum bpf_prog_type)e->arg[0]);

		fputs(", \"prog_name\": ", out);
		field_string(out, e->path, 16);
		if (pt)
			fprintf(out, ", \"prog_type\": \"%s\"", pt);
		else
			fprintf(out, ", \"prog_type\": \"type-%" PRId64 "\"", (int64_t)e->arg[0]);
		if (e->arg[1] >= 0)
			fprintf(out, ", \"fd\": %" PRId64 ", \"error\": null", (int64_t)e->arg[1]);
		else
			fprintf(out, ", \"fd\": null, \"error\": \"%s\"",
				strerrorname_np((int)-e->arg[1]) ?: "unknown");
		break;
	}
	default:
		break;
	}
	fputc('}', out);
}
