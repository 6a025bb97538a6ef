// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cgroup v2 hooks on tenants' cgroups: connection caps, deny lists and segmentation at
 * connect() and sendmsg(), raw sockets at socket(), caps and address checks on every
 * packet. Thin entry points; the logic is in lib/cgroup.h. Program names start with tg_:
 * that is how the agent recognises its own attachments.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/cgroup.h"

SEC("cgroup/connect4")
int tg_connect4(struct bpf_sock_addr *ctx)
{
	return tg_cgroup_connect(ctx, TG_AF_INET);
}

SEC("cgroup/connect6")
int tg_connect6(struct bpf_sock_addr *ctx)
{
	return tg_cgroup_connect(ctx, TG_AF_INET6);
}

SEC("cgroup/sendmsg4")
int tg_sendmsg4(struct bpf_sock_addr *ctx)
{
	return tg_cgroup_sendmsg(ctx, TG_AF_INET);
}

SEC("cgroup/sendmsg6")
int tg_sendmsg6(struct bpf_sock_addr *ctx)
{
	return tg_cgroup_sendmsg(ctx, TG_AF_INET6);
}

SEC("sockops")
int tg_sockops(struct bpf_sock_ops *skops)
{
	return tg_cgroup_sockops(skops);
}

SEC("cgroup/sock_create")
int tg_sock_create(struct bpf_sock *sk)
{
	return tg_cgroup_sock_create(sk);
}

SEC("cgroup/sock_release")
int tg_sock_release(struct bpf_sock *sk)
{
	return tg_cgroup_sock_release(sk);
}

SEC("cgroup_skb/egress")
int tg_skb_egress(struct __sk_buff *skb)
{
	return tg_cgroup_skb(skb, TG_DIR_EGRESS);
}

SEC("cgroup_skb/ingress")
int tg_skb_ingress(struct __sk_buff *skb)
{
	return tg_cgroup_skb(skb, TG_DIR_INGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
