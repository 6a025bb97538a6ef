/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Events: the agent drains the kernel's ring buffer (tg_events) into a file of JSON lines
 * (outputs.events); `tollgate events` reads that file. produced = delivered + dropped.
 */
#ifndef TG_EVENTS_H
#define TG_EVENTS_H

#include <stdint.h>
#include <stdio.h>

#include "apply.h"
#include "datapath.h"

struct tg_events;

/* Opens the ring buffer of m and the output file path (created 0600, appended to). */
int tg_events_open(const struct tg_maps *m, const char *path, struct tg_events **out);
/* A descriptor that polls readable when events wait. */
int tg_events_fd(const struct tg_events *ev);
/* Writes every waiting event; names come from ap. Returns the number written or a
 * negative errno. */
int tg_events_drain(struct tg_events *ev, const struct tg_applied *ap);
/* An event made in user space (e.g. "quota_reset"), same format; extra_json, when not
 * NULL, is inserted as further members (e.g. "\"used\":123"). */
int tg_events_user(struct tg_events *ev, const char *type, const char *tenant,
		   const char *extra_json);
void tg_events_close(struct tg_events *ev);

/* One kernel event as a JSON object on one line, without the newline (the file format,
 * docs/events.md). */
void tg_event_json(FILE *out, const struct tg_event *e, const struct tg_applied *ap,
		   int64_t clock_offset_ns);

#endif /* TG_EVENTS_H */
