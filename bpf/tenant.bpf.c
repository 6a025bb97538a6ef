// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tc clsact meter for tenants' host-side interfaces and for uplinks.
 * Thin entry points; the logic is in lib/meter.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/meter.h"

SEC("tc")
int tg_meter_ingress(struct __sk_buff *skb)
{
	return tg_meter(skb, TG_HOOK_INGRESS);
}

SEC("tc")
int tg_meter_egress(struct __sk_buff *skb)
{
	return tg_meter(skb, TG_HOOK_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
