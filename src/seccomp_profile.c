// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * OCI seccomp profiles (docs/seccomp.md), read with json-c and turned into libseccomp
 * filters. Exactly what the profile says, or a refusal naming what cannot be honoured:
 * an unknown key, action, architecture, flag or syscall name, an argument condition
 * libseccomp cannot express, a number JSON cannot carry exactly.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "json.h"
#include "seccomp_profile.h"

#define TG_ERRNO_MAX 4095 /* the kernel caps SECCOMP_RET_ERRNO data at MAX_ERRNO */

static const struct {
	const char *name;
	uint32_t action; /* errno or trace data 0 */
	bool has_ret;	 /* takes errnoRet */
} actions[] = {
	{ "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false },
	{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false },
	{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false },
	{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP, false },
	{ "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true },
	{ "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true },
	{ "SCMP_ACT_LOG", SCMP_ACT_LOG, false },
	{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false },
};

static const struct {
	const char *name;
	enum scmp_compare op;
} ops[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE },
	{ "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE },
	{ "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *tg_sc_action_name(uint32_t action)
{
	if ((action & 0xffff0000U) == SCMP_ACT_ERRNO(0))
		return "SCMP_ACT_ERRNO";
	if ((action & 0xffff0000U) == SCMP_ACT_TRACE(0))
		return "SCMP_ACT_TRACE";
	for (size_t i = 1; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (!actions[i].has_ret && actions[i].action == action)
			return actions[i].name;
	}
	return NULL;
}

/* A non-negative integer that JSON carried exactly (no fraction, no exponent). */
static int get_u64(json_object *o, const char *what, uint64_t *v, char *err, size_t len)
{
	if (!json_object_is_type(o, json_type_int))
		return fail(err, len, "%s: an integer is needed, not %s", what,
			    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	if (json_object_get_int64(o) < 0)
		return fail(err, len, "%s: %" PRId64 " is negative", what,
			    json_object_get_int64(o));
	errno = 0;
	*v = json_object_get_uint64(o);
	if (errno)
		return fail(err, len, "%s: out of range", what);
	return 0;
}

/* An action and its errnoRet (absent: EPERM, as runc does). */
static int get_action(json_object *name, json_object *ret, const char *what, uint32_t *out,
		      char *err, size_t len)
{
	const char *s;
	uint64_t r = EPERM;

	if (!name || !json_object_is_type(name, json_type_string))
		return fail(err, len, "%s: an action (a string such as SCMP_ACT_ERRNO) is needed",
			    what);
	s = json_object_get_string(name);
	if (!strcmp(s, "SCMP_ACT_NOTIFY"))
		return fail(err, len,
			    "%s: SCMP_ACT_NOTIFY needs a seccomp agent (listenerPath): not "
			    "supported",
			    what);
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(s, actions[i].name))
			continue;
		if (ret && !actions[i].has_ret)
			return fail(err, len, "%s: %s takes no errnoRet", what, s);
		if (ret && get_u64(ret, what, &r, err, len))
			return -EINVAL;
		if (actions[i].has_ret &&
		    r > (actions[i].action == SCMP_ACT_ERRNO(0) ? TG_ERRNO_MAX : 0xffffU))
			return fail(err, len, "%s: errnoRet %" PRIu64 " is out of range", what, r);
		*out = actions[i].has_ret ? actions[i].action | (uint32_t)r : actions[i].action;
		return 0;
	}
	return fail(err, len, "%s: unknown action '%s'", what, s);
}

/* libseccomp's architecture names; the profile's are SCMP_ARCH_ and these in capitals. */
static const char *const arch_names[] = {
	"x86",	     "x86_64", "x32",	   "arm",	  "aarch64", "mips",  "mips64",
	"mips64n32", "mipsel", "mipsel64", "mipsel64n32", "ppc",     "ppc64", "ppc64le",
	"s390",	     "s390x",  "parisc",   "parisc64",	  "riscv64",
};

static int get_arch(json_object *o, uint32_t *arch, char *err, size_t len)
{
	const char *s;

	if (!json_object_is_type(o, json_type_string))
		return fail(err, len, "architectures: strings such as SCMP_ARCH_X86_64 are needed");
	s = json_object_get_string(o);
	for (size_t i = 0; i < sizeof(arch_names) / sizeof(arch_names[0]); i++) {
		if (strncmp(s, "SCMP_ARCH_", 10) || strcasecmp(s + 10, arch_names[i]))
			continue;
		*arch = seccomp_arch_resolve_name(arch_names[i]);
		if (*arch)
			return 0;
	}
	return fail(err, len, "architectures: unknown architecture '%s'", s);
}

static int parse_flags(json_object *o, struct tg_sc_profile *p, char *err, size_t len)
{
	if (!json_object_is_type(o, json_type_array))
		return fail(err, len, "flags: a list is needed");
	for (size_t i = 0; i < json_object_array_length(o); i++) {
		json_object *f = json_object_array_get_idx(o, i);
		const char *s = json_object_get_string(f);

		if (!json_object_is_type(f, json_type_string))
			return fail(err, len, "flags: strings are needed");
		if (!strcmp(s, "SECCOMP_FILTER_FLAG_LOG"))
			p->flag_log = true;
		else if (!strcmp(s, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
			p->flag_spec_allow = true;
		else if (!strcmp(s, "SECCOMP_FILTER_FLAG_TSYNC"))
			p->flag_tsync = true;
		else
			return fail(err, len, "flags: unsupported flag '%s'", s);
	}
	return 0;
}

static int parse_args(json_object *o, struct tg_sc_rule *r, const char *what, char *err, size_t len)
{
	if (!json_object_is_type(o, json_type_array))
		return fail(err, len, "%s: args: a list is needed", what);
	if (json_object_array_length(o) > TG_SC_MAX_ARGS)
		return fail(err, len, "%s: args: at most %d conditions", what, TG_SC_MAX_ARGS);
	for (size_t i = 0; i < json_object_array_length(o); i++) {
		json_object *a = json_object_array_get_idx(o, i), *v;
		struct tg_sc_arg *c = &r->args[r->n_args];
		uint64_t idx;
		bool op_ok = false;

		if (!json_object_is_type(a, json_type_object))
			return fail(err, len, "%s: args: objects are needed", what);
		json_object_object_foreach(a, key, val)
		{
			if (strcmp(key, "index") && strcmp(key, "value") &&
			    strcmp(key, "valueTwo") && strcmp(key, "op"))
				return fail(err, len, "%s: args: unknown key '%s'", what, key);
			(void)val;
		}
		if (!json_object_object_get_ex(a, "index", &v) || get_u64(v, what, &idx, err, len))
			return fail(err, len, "%s: args: an index (0..5) is needed", what);
		if (idx >= TG_SC_MAX_ARGS)
			return fail(err, len, "%s: args: index %" PRIu64 " is not 0..5", what, idx);
		for (size_t k = 0; k < r->n_args; k++) {
			if (r->args[k].index == idx)
				return fail(err, len,
					    "%s: args: two conditions on argument %" PRIu64
					    " (runc reads them as alternatives; write one "
					    "rule each)",
					    what, idx);
		}
		c->index = (unsigned)idx;
		if (!json_object_object_get_ex(a, "value", &v) ||
		    get_u64(v, what, &c->value, err, len))
			return fail(err, len, "%s: args: a value (an integer) is needed", what);
		c->value_two = 0;
		if (json_object_object_get_ex(a, "valueTwo", &v) &&
		    get_u64(v, what, &c->value_two, err, len))
			return -EINVAL;
		if (!json_object_object_get_ex(a, "op", &v) ||
		    !json_object_is_type(v, json_type_string))
			return fail(err, len, "%s: args: an op (SCMP_CMP_*) is needed", what);
		for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
			if (!strcmp(ops[k].name, json_object_get_string(v))) {
				c->op = ops[k].op;
				op_ok = true;
			}
		}
		if (!op_ok)
			return fail(err, len, "%s: args: unknown op '%s'", what,
				    json_object_get_string(v));
		r->n_args++;
	}
	return 0;
}

static bool empty_object(json_object *o)
{
	return json_object_is_type(o, json_type_object) && json_object_object_length(o) == 0;
}

/* Appends name to the list of unknown ones (for one message naming them all). */
static void note_unknown(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
}

static int parse_rule(json_object *o, size_t i, struct tg_sc_rule *r, char *unknown, size_t ulen,
		      char *err, size_t len)
{
	json_object *names = NULL, *name = NULL, *action = NULL, *ret = NULL, *args = NULL;
	char what[64];

	snprintf(what, sizeof(what), "syscalls[%zu]", i);
	if (!json_object_is_type(o, json_type_object))
		return fail(err, len, "%s: an object is needed", what);
	json_object_object_foreach(o, key, val)
	{
		if (!strcmp(key, "names"))
			names = val;
		else if (!strcmp(key, "name"))
			name = val;
		else if (!strcmp(key, "action"))
			action = val;
		else if (!strcmp(key, "errnoRet"))
			ret = val;
		else if (!strcmp(key, "args"))
			args = val;
		else if (!strcmp(key, "comment"))
			continue;
		else if ((!strcmp(key, "includes") || !strcmp(key, "excludes")) &&
			 empty_object(val))
			continue;
		else if (!strcmp(key, "includes") || !strcmp(key, "excludes"))
			return fail(err, len,
				    "%s: %s: Docker's conditions on capabilities and kernels are "
				    "not supported (resolve them into the profile first)",
				    what, key);
		else
			return fail(err, len, "%s: unknown key '%s'", what, key);
	}
	if (get_action(action, ret, what, &r->action, err, len))
		return -EINVAL;
	if (args && !json_object_is_type(args, json_type_null) &&
	    parse_args(args, r, what, err, len))
		return -EINVAL;
	if (names && !json_object_is_type(names, json_type_array))
		return fail(err, len, "%s: names: a list is needed", what);
	if (name && !json_object_is_type(name, json_type_string))
		return fail(err, len, "%s: name: a string is needed", what);
	r->n_names = (names ? json_object_array_length(names) : 0) + (name ? 1 : 0);
	if (!r->n_names)
		return fail(err, len, "%s: names: at least one syscall is needed", what);
	r->names = calloc(r->n_names, sizeof(*r->names));
	if (!r->names)
		return -ENOMEM;
	for (size_t k = 0; k < r->n_names; k++) {
		json_object *n =
			name && k == r->n_names - 1 ? name : json_object_array_get_idx(names, k);
		const char *s = json_object_get_string(n);

		if (!json_object_is_type(n, json_type_string) || !*s)
			return fail(err, len, "%s: names: syscall names are needed", what);
		r->names[k] = strdup(s);
		if (!r->names[k])
			return -ENOMEM;
		if (seccomp_syscall_resolve_name(s) == __NR_SCMP_ERROR)
			note_unknown(unknown, ulen, s);
	}
	return 0;
}

static int parse_root(json_object *root, struct tg_sc_profile *p, char *err, size_t len)
{
	json_object *def = NULL, *def_ret = NULL, *arches = NULL, *flags = NULL, *sys = NULL;
	char unknown[1024] = "";
	int e;

	if (!json_object_is_type(root, json_type_object))
		return fail(err, len, "a profile is a JSON object");
	json_object_object_foreach(root, key, val)
	{
		if (!strcmp(key, "defaultAction"))
			def = val;
		else if (!strcmp(key, "defaultErrnoRet"))
			def_ret = val;
		else if (!strcmp(key, "architectures"))
			arches = val;
		else if (!strcmp(key, "flags"))
			flags = val;
		else if (!strcmp(key, "syscalls"))
			sys = val;
		else if (!strcmp(key, "listenerPath") || !strcmp(key, "listenerMetadata"))
			return fail(err, len, "%s: a seccomp agent is not supported", key);
		else
			return fail(err, len, "unknown key '%s'", key);
	}
	if (!def)
		return fail(err, len, "defaultAction is missing");
	if (get_action(def, def_ret, "defaultAction", &p->default_action, err, len))
		return -EINVAL;
	if (arches && !json_object_is_type(arches, json_type_null)) {
		if (!json_object_is_type(arches, json_type_array))
			return fail(err, len, "architectures: a list is needed");
		if (json_object_array_length(arches) > TG_SC_MAX_ARCHES)
			return fail(err, len, "architectures: at most %d", TG_SC_MAX_ARCHES);
		for (size_t i = 0; i < json_object_array_length(arches); i++) {
			if (get_arch(json_object_array_get_idx(arches, i), &p->arches[i], err, len))
				return -EINVAL;
			p->n_arches++;
		}
	}
	if (flags && !json_object_is_type(flags, json_type_null) && parse_flags(flags, p, err, len))
		return -EINVAL;
	if (!sys || json_object_is_type(sys, json_type_null))
		return 0;
	if (!json_object_is_type(sys, json_type_array))
		return fail(err, len, "syscalls: a list is needed");
	p->n_rules = json_object_array_length(sys);
	p->rules = calloc(p->n_rules ? p->n_rules : 1, sizeof(*p->rules));
	if (!p->rules)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		e = parse_rule(json_object_array_get_idx(sys, i), i, &p->rules[i], unknown,
			       sizeof(unknown), err, len);
		if (e)
			return e;
	}
	if (unknown[0])
		return fail(err, len,
			    "unknown syscall names (libseccomp %u.%u.%u knows none of "
			    "them): %s",
			    seccomp_version()->major, seccomp_version()->minor,
			    seccomp_version()->micro, unknown);
	return 0;
}

int tg_sc_profile_parse(const char *json, size_t len, struct tg_sc_profile *p, char *err,
			size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *root;
	size_t end;
	int e;

	memset(p, 0, sizeof(*p));
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		e = fail(err, errlen, "not JSON: %s at byte %zu",
			 json_tokener_error_desc(json_tokener_get_error(tok)),
			 json_tokener_get_parse_end(tok));
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++) {
		if (!strchr(" \t\r\n", json[end])) {
			e = fail(err, errlen, "not JSON: data after the profile at byte %zu", end);
			goto out;
		}
	}
	e = parse_root(root, p, err, errlen);
out:
	if (e)
		tg_sc_profile_free(p);
	json_object_put(root);
	json_tokener_free(tok);
	return e;
}

int tg_sc_profile_read(const char *path, struct tg_sc_profile *p, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f = fopen(path, "re");
	int e;

	memset(p, 0, sizeof(*p));
	if (!f) {
		e = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-e));
		return e;
	}
	do {
		if (len == cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	e = ferror(f) ? -EIO : 0;
	fclose(f);
	if (e)
		snprintf(err, errlen, "cannot read %s", path);
	else
		e = tg_sc_profile_parse(buf, len, p, err, errlen);
	free(buf);
	return e;
}

void tg_sc_profile_free(struct tg_sc_profile *p)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		for (size_t k = 0; p->rules[i].names && k < p->rules[i].n_names; k++)
			free(p->rules[i].names[k]);
		free(p->rules[i].names);
	}
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

int tg_sc_profile_filter(const struct tg_sc_profile *p, scmp_filter_ctx *out, char *err,
			 size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(p->default_action);
	int e = 0;

	if (!ctx)
		return fail(err, errlen, "libseccomp refuses the default action");
	e = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, p->default_action);
	if (!e && p->flag_log)
		e = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (!e && p->flag_spec_allow)
		e = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
	if (!e && p->flag_tsync)
		e = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (e) {
		snprintf(err, errlen, "libseccomp refuses the filter's attributes: %s",
			 strerror(-e));
		goto fail;
	}
	for (size_t i = 0; i < p->n_arches; i++) {
		if (p->arches[i] == seccomp_arch_native())
			continue;
		e = seccomp_arch_add(ctx, p->arches[i]);
		if (e == -EEXIST) {
			e = 0;
			continue;
		}
		if (e) {
			snprintf(err, errlen, "libseccomp cannot add architecture %#x: %s",
				 p->arches[i], strerror(-e));
			goto fail;
		}
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct tg_sc_rule *r = &p->rules[i];
		struct scmp_arg_cmp cmp[TG_SC_MAX_ARGS];

		if (r->action == p->default_action)
			continue; /* what the filter does anyway */
		for (size_t k = 0; k < r->n_args; k++)
			cmp[k] = (struct scmp_arg_cmp){ .arg = r->args[k].index,
							.op = r->args[k].op,
							.datum_a = r->args[k].value,
							.datum_b = r->args[k].value_two };
		for (size_t k = 0; k < r->n_names; k++) {
			int nr = seccomp_syscall_resolve_name(r->names[k]);

			e = nr == __NR_SCMP_ERROR
				    ? -ENOENT
				    : seccomp_rule_add_array(ctx, r->action, nr,
							     (unsigned)r->n_args, cmp);
			if (e) {
				snprintf(err, errlen,
					 "syscalls[%zu]: %s: libseccomp refuses the "
					 "rule: %s",
					 i, r->names[k], strerror(-e));
				goto fail;
			}
		}
	}
	*out = ctx;
	return 0;
fail:
	seccomp_release(ctx);
	return e ? -abs(e) : -EINVAL;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_names(const __u64 *words, uint32_t arch, const char *abi, char ***names, size_t *n,
		     size_t *cap, size_t *unnamed, FILE *warn)
{
	for (int nr = 0; nr < TG_SC_NR_MAX; nr++) {
		char *s;

		if (!(words[nr / 64] & (1ULL << (nr % 64))))
			continue;
		s = seccomp_syscall_resolve_num_arch(arch, nr);
		if (!s) {
			(*unnamed)++;
			if (warn)
				fprintf(warn,
					"tollgate: warning: %s syscall %d has no name in "
					"libseccomp: it is not in the profile\n",
					abi, nr);
			continue;
		}
		if (*n == *cap) {
			char **nv =
				realloc(*names, (*cap = *cap ? *cap * 2 : 64) * sizeof(**names));

			if (!nv) {
				free(s);
				return -ENOMEM;
			}
			*names = nv;
		}
		(*names)[(*n)++] = s;
	}
	return 0;
}

int tg_sc_profile_from_set(const struct tg_sc_set *set, struct tg_sc_profile *p, size_t *unnamed,
			   FILE *warn)
{
	char **names = NULL;
	size_t n = 0, cap = 0, n_compat;
	int e;

	memset(p, 0, sizeof(*p));
	*unnamed = 0;
	e = add_names(set->native, SCMP_ARCH_X86_64, "x86_64", &names, &n, &cap, unnamed, warn);
	n_compat = n;
	if (!e)
		e = add_names(set->compat, SCMP_ARCH_X86, "32-bit (ia32)", &names, &n, &cap,
			      unnamed, warn);
	n_compat = n - n_compat;
	if (e)
		goto fail;
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 1; i < n;) { /* a name both ABIs used, once */
		if (!strcmp(names[i], names[i - 1])) {
			free(names[i]);
			memmove(&names[i], &names[i + 1], (n - i - 1) * sizeof(*names));
			n--;
		} else {
			i++;
		}
	}
	p->default_action = SCMP_ACT_ERRNO(EPERM);
	p->arches[p->n_arches++] = SCMP_ARCH_X86_64;
	if (n_compat)
		p->arches[p->n_arches++] = SCMP_ARCH_X86;
	if (n) {
		p->rules = calloc(1, sizeof(*p->rules));
		if (!p->rules) {
			e = -ENOMEM;
			goto fail;
		}
		p->n_rules = 1;
		p->rules[0] = (struct tg_sc_rule){ .names = names,
						   .n_names = n,
						   .action = SCMP_ACT_ALLOW };
	} else {
		free(names);
	}
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return e;
}

static void print_arch(FILE *out, uint32_t arch)
{
	for (size_t i = 0; i < sizeof(arch_names) / sizeof(arch_names[0]); i++) {
		if (seccomp_arch_resolve_name(arch_names[i]) != arch)
			continue;
		fputs("\"SCMP_ARCH_", out);
		for (const char *c = arch_names[i]; *c; c++)
			fputc(*c >= 'a' && *c <= 'z' ? *c - 32 : *c, out);
		fputc('"', out);
		return;
	}
}

static const char *op_name(enum scmp_compare op)
{
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		if (ops[k].op == op)
			return ops[k].name;
	}
	return "SCMP_CMP_EQ";
}

static void print_action(FILE *out, const char *key, const char *ret_key, uint32_t action)
{
	const char *name = tg_sc_action_name(action);

	fprintf(out, "\"%s\": \"%s\"", key, name ? name : "SCMP_ACT_KILL_PROCESS");
	if ((action & 0xffff0000U) == SCMP_ACT_ERRNO(0) ||
	    (action & 0xffff0000U) == SCMP_ACT_TRACE(0))
		fprintf(out, ",\n  \"%s\": %u", ret_key, action & 0xffffU);
}

void tg_sc_profile_print(FILE *out, const struct tg_sc_profile *p)
{
	fprintf(out, "{\n  ");
	print_action(out, "defaultAction", "defaultErrnoRet", p->default_action);
	fprintf(out, ",\n  \"architectures\": [");
	for (size_t i = 0; i < p->n_arches; i++) {
		fputs(i ? ", " : "", out);
		print_arch(out, p->arches[i]);
	}
	fprintf(out, "],\n");
	if (p->flag_log || p->flag_spec_allow || p->flag_tsync)
		fprintf(out, "  \"flags\": [%s%s%s%s%s],\n",
			p->flag_log ? "\"SECCOMP_FILTER_FLAG_LOG\"" : "",
			p->flag_log && (p->flag_spec_allow || p->flag_tsync) ? ", " : "",
			p->flag_spec_allow ? "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"" : "",
			p->flag_spec_allow && p->flag_tsync ? ", " : "",
			p->flag_tsync ? "\"SECCOMP_FILTER_FLAG_TSYNC\"" : "");
	fprintf(out, "  \"syscalls\": [");
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct tg_sc_rule *r = &p->rules[i];

		fprintf(out, "%s\n    {\n      \"names\": [", i ? "," : "");
		for (size_t k = 0; k < r->n_names; k++) {
			fprintf(out, "%s\n        ", k ? "," : "");
			tg_json_string(out, r->names[k]);
		}
		fprintf(out, "\n      ],\n      ");
		print_action(out, "action", "errnoRet", r->action);
		if (r->n_args) {
			fprintf(out, ",\n      \"args\": [");
			for (size_t k = 0; k < r->n_args; k++)
				fprintf(out,
					"%s{\"index\": %u, \"value\": %" PRIu64
					", \"valueTwo\": %" PRIu64 ", \"op\": \"%s\"}",
					k ? ", " : "", r->args[k].index, r->args[k].value,
					r->args[k].value_two, op_name(r->args[k].op));
			fprintf(out, "]");
		}
		fprintf(out, "\n    }");
	}
	fprintf(out, "%s]\n}\n", p->n_rules ? "\n  " : "");
}
