/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Events: the agent drains the kernel's ring buffer (tg_events) into a file of JSON lines
 * (outputs.events); `tollgate events` reads that file. produced = delivered + dropped
 * (+ pending: still in the ring). docs/events.md describes the format.
 */
#ifndef TG_EVENTS_H
#define TG_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "apply.h"
#include "datapath.h"

struct tg_events;

/* Opens the ring buffer of m and the output file path (its missing directories created
 * 0700, the file created 0600 and appended to). path NULL: TG_DEFAULT_EVENTS. */
int tg_events_open(const struct tg_maps *m, const char *path, struct tg_events **out);
/* A descriptor that polls readable when events wait; stable for the life of ev. While
 * the file refuses lines and the agent's buffer is full it stays quiet (no busy loop):
 * the next drain, e.g. the agent's once-a-second tick, retries. */
int tg_events_fd(const struct tg_events *ev);
/* Writes every waiting event; names come from ap. Every line is written whole (lines are
 * buffered and written together), and the kernel events written are added to
 * tg_state.events_delivered. Events the file cannot take (disk full) stay buffered or in
 * the ring and go out with a later drain. Returns the number written or a negative
 * errno. */
int tg_events_drain(struct tg_events *ev, const struct tg_applied *ap);
/* An event made in user space (e.g. "quota_reset"), same format; extra_json, when not
 * NULL, is inserted as further members (e.g. "\"used\":123"). Not counted as delivered:
 * the counters account for the kernel's events. */
int tg_events_user(struct tg_events *ev, const char *type, const char *tenant,
		   const char *extra_json);
/* A preformatted JSON object as one line (runtime events); buffered until
 * tg_events_flush or the next drain. -ENOBUFS when the file refuses lines and the buffer
 * is full. */
int tg_events_raw(struct tg_events *ev, const char *json);
int tg_events_flush(struct tg_events *ev);
void tg_events_close(struct tg_events *ev);
/* Also writes the uplink guard's floods, bans and signature matches to the audit log at
 * path (docs/audit.md), as "security_event" records; NULL stops it. */
void tg_events_set_audit(struct tg_events *ev, const char *path);

/* One kernel event as a JSON object on one line, without the newline (the file format,
 * docs/events.md). ap may be NULL (tenants then named tenant-N). */
void tg_event_json(FILE *out, const struct tg_event *e, const struct tg_applied *ap,
		   int64_t clock_offset_ns);

/* "rate", "pps", "deny", "segment", "conn_cap", "raw_socket", "quota_block",
 * "quota_throttle"; "none" for TG_REASON_NONE; NULL for a code this build does not know. */
const char *tg_reason_name(enum tg_reason r);
/* The same, with "reason-N" in buf for an unknown code. */
const char *tg_reason_label(uint32_t r, char *buf, size_t len);
/* "enforce", "quota_exceeded"; NULL for an unknown type. */
const char *tg_event_type_name(uint32_t type);

/* One line of the events file, as `tollgate events` reads it: a flat JSON object. Values
 * are kept as text (strings unescaped, numbers as written, nested values raw). */
#define TG_EVLINE_MAX_FIELDS 32
struct tg_evline {
	size_t n;
	struct {
		char key[32];
		char val[256];
		bool is_string;
	} f[TG_EVLINE_MAX_FIELDS];
};

/* Parses one line (without its newline). Returns 0, or -EINVAL when it is not a JSON
 * object. */
int tg_evline_parse(const char *line, size_t len, struct tg_evline *out);
/* The value of key, or NULL when absent. */
const char *tg_evline_get(const struct tg_evline *l, const char *key);

#endif /* TG_EVENTS_H */
