/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* rtnetlink: link events (interfaces created after start) and tc filter dumps. */
#ifndef TG_NETLINK_H
#define TG_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

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

/* One address of the namespace: ADDR/PREFIXLEN as the kernel reports it (IFA_ADDRESS:
 * the peer's on a point-to-point link, else the local address), its scope (RT_SCOPE_*). */
typedef void (*tg_addr_cb)(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen,
			   uint8_t scope, void *ctx);
/* Calls cb for every IPv4 and IPv6 address in the namespace (RTM_GETADDR dump). */
int tg_nl_dump_addrs(tg_addr_cb cb, void *ctx);

#endif /* TG_NETLINK_H */
