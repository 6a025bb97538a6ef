// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Just enough rtnetlink for the agent: link add/remove events, a link dump, and a tc
 * filter dump. The uapi macros (NLMSG_*, RTA_*) do the framing.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "netlink.h"
#include "tollgate.h"

#define NL_BUF 32768

bool tg_ifindex_exists(int ifindex)
{
	char name[IF_NAMESIZE];

	return if_indextoname(ifindex, name) != NULL;
}

int tg_nl_link_events_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd, rcvbuf = 1 << 20;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void parse_link(const struct nlmsghdr *nh, tg_link_cb cb, void *ctx)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	const struct rtattr *rta = IFLA_RTA(ifi);
	char name[IF_NAMESIZE] = "";

	if (len < 0)
		return;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFLA_IFNAME && RTA_PAYLOAD(rta) > 0) {
			size_t n =
				RTA_PAYLOAD(rta) < sizeof(name) ? RTA_PAYLOAD(rta) : sizeof(name);

			memcpy(name, RTA_DATA(rta), n);
			name[sizeof(name) - 1] = '\0';
		}
	}
	if (name[0])
		cb(ifi->ifi_index, name, nh->nlmsg_type == RTM_NEWLINK, ctx);
}

/* Walks one datagram. Returns 1 at NLMSG_DONE, 0 to go on, negative on error. */
static int walk(const char *buf, int len, tg_link_cb cb, void *ctx, int *count)
{
	const struct nlmsghdr *nh;

	for (nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)len);
	     nh = NLMSG_NEXT(nh, len)) {
		if (nh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			return e->error;
		}
		if (cb && (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK))
			parse_link(nh, cb, ctx);
		if (count && nh->nlmsg_type == RTM_NEWTFILTER) {
			const struct tcmsg *tc = NLMSG_DATA(nh);

			/* A filter message with handle 0 describes the chain, not a filter. */
			if (tc->tcm_handle && tc->tcm_handle != TG_TC_HANDLE)
				(*count)++;
		}
	}
	return 0;
}

int tg_nl_link_events_read(int fd, tg_link_cb cb, void *ctx)
{
	char buf[NL_BUF] __attribute__((aligned(4)));
	int n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		if (n == 0)
			return 0;
		n = walk(buf, n, cb, ctx, NULL);
		if (n < 0)
			return n;
	}
}

static int dump(struct nlmsghdr *req, tg_link_cb cb, void *ctx, int *count)
{
	char buf[NL_BUF] __attribute__((aligned(4)));
	int fd, n, err = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, req, req->nlmsg_len, 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			err = -errno;
			break;
		}
		err = walk(buf, n, cb, ctx, count);
		if (err)
			break;
	}
	if (err > 0)
		err = 0;
out:
	close(fd);
	return err;
}

int tg_nl_dump_links(tg_link_cb cb, void *ctx)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC },
	};

	return dump(&req.nh, cb, ctx, NULL);
}

int tg_nl_count_tc_filters(int ifindex, bool ingress)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETTFILTER,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1 },
		.tc = { .tcm_family = AF_UNSPEC,
			.tcm_ifindex = ifindex,
			.tcm_parent = TC_H_MAKE(TC_H_CLSACT,
						ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS) },
	};
	int count = 0, err;

	err = dump(&req.nh, NULL, NULL, &count);
	return err ? err : count;
}

static void parse_addr(const struct nlmsghdr *nh, tg_addr_cb cb, void *ctx)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa));
	const struct rtattr *rta = IFA_RTA(ifa);
	const uint8_t *addr = NULL, *local = NULL;
	size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;

	if (len < 0 || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (RTA_PAYLOAD(rta) != alen)
			continue;
		if (rta->rta_type == IFA_ADDRESS)
			addr = RTA_DATA(rta);
		else if (rta->rta_type == IFA_LOCAL)
			local = RTA_DATA(rta);
	}
	if (!addr)
		addr = local;
	if (addr)
		cb(ifa->ifa_index, ifa->ifa_family, addr, ifa->ifa_prefixlen, ifa->ifa_scope, ctx);
}

int tg_nl_dump_addrs(tg_addr_cb cb, void *ctx)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETADDR,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1 },
		.ifa = { .ifa_family = AF_UNSPEC },
	};
	char buf[NL_BUF] __attribute__((aligned(4)));
	const struct nlmsghdr *nh;
	int fd, n, err = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			err = -errno;
			goto out;
		}
		for (nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				err = ((const struct nlmsgerr *)NLMSG_DATA(nh))->error;
				goto out;
			}
			if (nh->nlmsg_type == RTM_NEWADDR)
				parse_addr(nh, cb, ctx);
		}
	}
out:
	close(fd);
	return err;
}
