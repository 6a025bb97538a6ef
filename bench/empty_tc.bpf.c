// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The baseline of the meter's cost: a tc program that does nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tc")
int empty_tc(struct __sk_buff *skb)
{
	return -1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
