/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* rtnetlink: link events (interfaces created after start) and tc filter dumps. */
#ifndef TG_NETLINK_H
#define TG_NETLINK_H

#include <stdbool.h>

typedef void (*tg_link_cb)(int ifindex, const char *name, bool added, void *ctx);

/* A non-blocking socket subscribed to link events. */
int tg_nl_link_events_open(void);
/* Reads every pending event; -ENOBUFS means events were lost: dump the links again. */
int tg_nl_link_events_read(int fd, tg_link_cb cb, void *ctx);
/* Calls cb(added = true) for every link in the namespace. */
int tg_nl_dump_links(tg_link_cb cb, void *ctx);
/* Filters at clsact ingress (or egress) of ifindex that are not Tollgate's meter. */
int tg_nl_count_tc_filters(int ifindex, bool ingress);
bool tg_ifindex_exists(int ifindex);

#endif /* TG_NETLINK_H */
