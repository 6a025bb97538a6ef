// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Events from the kernel's ring buffer to a JSON-lines file (docs/events.md).
 */
#include <errno.h>

#include "events.h"

int tg_events_open(const struct tg_maps *m, const char *path, struct tg_events **out)
{
	(void)m;
	(void)path;
	*out = NULL;
	return 0; /* TODO(isolation) */
}

int tg_events_fd(const struct tg_events *ev)
{
	(void)ev;
	return -1;
}

int tg_events_drain(struct tg_events *ev, const struct tg_applied *ap)
{
	(void)ev;
	(void)ap;
	return 0;
}

int tg_events_user(struct tg_events *ev, const char *type, const char *tenant,
		   const char *extra_json)
{
	(void)ev;
	(void)type;
	(void)tenant;
	(void)extra_json;
	return 0;
}

void tg_events_close(struct tg_events *ev)
{
	(void)ev;
}

void tg_event_json(FILE *out, const struct tg_event *e, const struct tg_applied *ap,
		   int64_t clock_offset_ns)
{
	(void)out;
	(void)e;
	(void)ap;
	(void)clock_offset_ns;
}
