/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The JSON fields of the runtime events about exits and sensitive syscalls
 * (docs/runtime.md, "Exits and sensitive syscalls"): exit, ptrace, setuid, module, mount,
 * unshare and setns. The event formatter writes the common part (time, type, tenant,
 * process) and calls tg_rt_fields_write for these types.
 */
#ifndef TG_RT_FIELDS_H
#define TG_RT_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tollgate.h"

/* Writes `, "key": value` pairs of e's type to out. False (nothing written) when the type
 * is not one of the seven above. */
bool tg_rt_fields_write(FILE *out, const struct tg_rt_event *e);

/* "normal", "crash", "killed", "oom"; NULL for another value. */
const char *tg_rt_exit_class_name(unsigned cls);
/* "SIGSEGV" ..., "SIGRTMIN+3"; NULL for 0 and out of range. */
const char *tg_signal_name(int sig, char *buf, size_t len);
/* "PTRACE_ATTACH" ...; NULL for a request without a name here. */
const char *tg_ptrace_request_name(long req);
/* "setuid" ... "setfsgid"; NULL for another value. */
const char *tg_rt_id_op_name(unsigned op);
/* Writes a JSON array of the names of the bits set in flags (CLONE_* for namespaces,
 * MS_* for mounts); a bit without a name is written as its hex value. */
void tg_rt_clone_flags_json(FILE *out, unsigned long flags);
void tg_rt_mount_flags_json(FILE *out, unsigned long flags);

/* Exits by class (enum tg_rt_exit_class) of tenant ids [0, top), summed over the CPUs of
 * the pinned tg_rt_counts under pin_path into out[id * TG_EXIT_CLASSES + class].
 * -ENOENT when the map is not pinned (runtime security was never on). */
int tg_rt_exits_read(const char *pin_path, uint32_t top, uint64_t *out);
/* Writes one tenant's exits as a JSON object: {"crash": N, "killed": N, "oom": N,
 * "normal": N}. */
void tg_rt_exits_json(FILE *out, const uint64_t *exits /* TG_EXIT_CLASSES */);

#endif /* TG_RT_FIELDS_H */
