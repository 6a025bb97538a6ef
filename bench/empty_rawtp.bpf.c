// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* An empty program on raw_tp/sys_enter: what any sys_enter tracer costs per syscall. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("raw_tp/sys_enter")
int empty_sys_enter(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
