/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * OCI seccomp profiles (docs/seccomp.md): the JSON runc and Docker read
 * (linux.seccomp of the OCI runtime spec). Written from a learned set
 * (`tollgate seccomp-profile`), read and turned into a libseccomp filter
 * (`tollgate exec --seccomp`). A profile is honoured exactly or refused with the reason.
 */
#ifndef TG_SECCOMP_PROFILE_H
#define TG_SECCOMP_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <seccomp.h>

#include "tollgate.h"

#define TG_SC_MAX_ARCHES 16
#define TG_SC_MAX_ARGS 6 /* syscall arguments 0..5 */

struct tg_sc_arg {
	unsigned index;
	uint64_t value, value_two;
	enum scmp_compare op;
};

struct tg_sc_rule {
	char **names;
	size_t n_names;
	uint32_t action; /* SCMP_ACT_*, errno included */
	struct tg_sc_arg args[TG_SC_MAX_ARGS];
	size_t n_args;
};

struct tg_sc_profile {
	uint32_t default_action;	   /* SCMP_ACT_*, defaultErrnoRet included */
	uint32_t arches[TG_SC_MAX_ARCHES]; /* SCMP_ARCH_* tokens */
	size_t n_arches;
	bool flag_log, flag_spec_allow, flag_tsync; /* SECCOMP_FILTER_FLAG_* */
	struct tg_sc_rule *rules;
	size_t n_rules;
};

/* Parses an OCI profile. On error, -EINVAL with the reason in err (every unknown
 * syscall name listed) and *p left empty. */
int tg_sc_profile_parse(const char *json, size_t len, struct tg_sc_profile *p, char *err,
			size_t errlen);
int tg_sc_profile_read(const char *path, struct tg_sc_profile *p, char *err, size_t errlen);
void tg_sc_profile_free(struct tg_sc_profile *p);

/* The libseccomp filter the profile says (not loaded): rules whose action is the default
 * are left out, an architecture not listed gets the default action as well. */
int tg_sc_profile_filter(const struct tg_sc_profile *p, scmp_filter_ctx *out, char *err,
			 size_t errlen);

/* The allow-list profile of a learned set: default SCMP_ACT_ERRNO (EPERM), the names of
 * the native numbers, and of the 32-bit ones with SCMP_ARCH_X86 when there are any, in
 * one sorted rule. Numbers libseccomp has no name for are counted in *unnamed (and
 * written to warn when not NULL): a profile can only name syscalls. */
int tg_sc_profile_from_set(const struct tg_sc_set *set, struct tg_sc_profile *p, size_t *unnamed,
			   FILE *warn);
/* Writes the profile as JSON (names sorted as they are in the rule). */
void tg_sc_profile_print(FILE *out, const struct tg_sc_profile *p);

/* "SCMP_ACT_ERRNO" and the like, NULL for an unknown action. */
const char *tg_sc_action_name(uint32_t action);

#endif /* TG_SECCOMP_PROFILE_H */
