/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The BPF inventory (docs/bpf-inventory.md): every BPF program, map and link on the host,
 * each program classified as Tollgate's own (known), allowlisted (its tag is in
 * runtime.bpf_allowlist) or unknown; and the agent's watch that raises a `bpf_load` event
 * when an unknown program is loaded.
 *
 * Known means: the program's name AND its tag (the kernel's hash of its instructions)
 * equal those of a program of Tollgate's own BPF objects, as the kernel computes them
 * when those objects (embedded in this binary) are loaded on this kernel. A name alone
 * proves nothing: anyone can call a program tg_uplink.
 */
#ifndef TG_BPF_INVENTORY_H
#define TG_BPF_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tollgate.h"

#define TG_BPF_TAG_HEX 17 /* 16 hex digits and the NUL */

enum tg_bpf_status {
	TG_BPF_UNKNOWN = 0,
	TG_BPF_KNOWN,	    /* Tollgate's own: name and tag match */
	TG_BPF_ALLOWLISTED, /* the tag is in runtime.bpf_allowlist */
};

/* Tollgate's own programs: (name, tag) pairs. */
struct tg_bpf_ref {
	struct {
		char name[16];
		char tag[TG_BPF_TAG_HEX];
	} * p;
	size_t n;
	const char *source; /* "embedded" (loaded here) or "agent" (the agent's file) */
};

/* Loads Tollgate's BPF objects (the skeletons' ELF, maps private and shrunk, nothing
 * pinned or attached), records each program's name and kernel tag, and unloads them. */
int tg_bpf_ref_embedded(struct tg_bpf_ref *ref);
/* The reference the running agent wrote to run_dir (TG_BPF_KNOWN_FILE); -ENOENT when there
 * is none or no agent runs (the pid file's process is gone). */
int tg_bpf_ref_read(const char *run_dir, struct tg_bpf_ref *ref);
int tg_bpf_ref_write(const char *run_dir, const struct tg_bpf_ref *ref);
void tg_bpf_ref_free(struct tg_bpf_ref *ref);
enum tg_bpf_status tg_bpf_classify(const struct tg_bpf_ref *ref, char *const *allow, size_t n_allow,
				   const char *name, const char *tag);
/* A tag as runtime.bpf_allowlist writes it: 16 hex digits. */
bool tg_bpf_tag_valid(const char *s);

#define TG_BPF_KNOWN_FILE "bpf-known"	  /* run_dir/: "TAG NAME" lines */
#define TG_BPF_LOADERS_FILE "bpf-loaders" /* run_dir/: who loaded which program */

struct tg_bpf_attach {
	uint32_t link_id;
	uint32_t link_type;   /* enum bpf_link_type */
	uint32_t attach_type; /* enum bpf_attach_type, where the link says */
	char target[96];      /* "ifindex 3", "cgroup 1234", "tracepoint sys_enter_bpf", ... */
};

struct tg_bpf_prog {
	uint32_t id, type;
	char name[16];
	char tag[TG_BPF_TAG_HEX];
	uint32_t uid;	       /* created_by_uid */
	uint64_t load_time_ns; /* CLOCK_BOOTTIME */
	uint64_t run_time_ns, run_cnt;
	uint32_t *map_ids;
	uint32_t n_map_ids;
	struct tg_bpf_attach *attach;
	size_t n_attach;
	enum tg_bpf_status status;
	/* from the agent's cache of the kernel's bpf() events, when known */
	bool has_loader;
	int32_t loader_pid;
	char loader_comm[16];
	char loader_tenant[64];
};

struct tg_bpf_map_info {
	uint32_t id, type, key_size, value_size, max_entries, flags;
	char name[16];
};

struct tg_bpf_link {
	uint32_t id, type, prog_id, attach_type;
	char target[96];
};

struct tg_bpf_snapshot {
	struct tg_bpf_prog *progs;
	size_t n_progs;
	struct tg_bpf_map_info *maps;
	size_t n_maps;
	struct tg_bpf_link *links;
	size_t n_links;
	bool stats_on;	      /* run_time_ns and run_cnt were being counted */
	const char *stats_by; /* "sysctl" (kernel.bpf_stats_enabled), "command", or "off" */
	uint64_t stats_window_ms;
	const char *ref_source;
};

/* Every program, map and link, in id order; a program or map that goes away while being
 * read is left out. Returns 0 or a negative errno. */
int tg_bpf_snapshot_take(struct tg_bpf_snapshot *s);
/* Classifies every program, and adds the loaders run_dir's cache knows (run_dir NULL:
 * none). */
void tg_bpf_snapshot_classify(struct tg_bpf_snapshot *s, const struct tg_bpf_ref *ref,
			      char *const *allow, size_t n_allow, const char *run_dir);
void tg_bpf_snapshot_print(FILE *out, const struct tg_bpf_snapshot *s, bool json);
void tg_bpf_snapshot_free(struct tg_bpf_snapshot *s);

/* The one program info read everything here uses (map ids included). */
int tg_bpf_prog_read(int fd, struct tg_bpf_prog *p);
const char *tg_bpf_status_name(enum tg_bpf_status s);

/*
 * The agent's watch. The runtime drain hands it every TG_RT_BPF event
 * (tg_bpf_watch_event); the agent's tick calls tg_bpf_watch_tick. A successful load is
 * matched to the new program (ids above the last one seen, same name and type, load time
 * nearest the event's), which is classified; an unknown one raises `bpf_load` (known:
 * false, the loader and the program) in the events file and a security_event in the audit
 * log. A new program no event explains within a grace period is reported with the
 * loader's uid only; a load whose program is gone before it could be read, with
 * "gone": true. The agent's own loads (its pid) are never reported.
 */
struct tg_events;
struct tg_config;
struct tg_bpf_watch;

int tg_bpf_watch_open(const struct tg_config *cfg, struct tg_events *ev, struct tg_bpf_watch **out);
/* tenant: the event's tenant name, NULL for a host process. */
/* The allowlist of cfg (runtime.bpf_allowlist), borrowed: cfg outlives its use. A
 * reload calls it with the new configuration before the old one is freed. */
void tg_bpf_watch_set_allowlist(struct tg_bpf_watch *w, const struct tg_config *cfg);
void tg_bpf_watch_event(struct tg_bpf_watch *w, const struct tg_rt_event *e, const char *tenant);
void tg_bpf_watch_tick(struct tg_bpf_watch *w);
void tg_bpf_watch_close(struct tg_bpf_watch *w);

#endif /* TG_BPF_INVENTORY_H */
