// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A test vehicle for the runtime rule matcher (lib/rt_match.h): a raw_tp program run by
 * BPF_PROG_TEST_RUN puts rt_subject into a scratch slot as the exec and open programs
 * put a path there, and leaves tg_rt_judge()'s verdict in rt_rule. Only alert rules may
 * be loaded: a kill rule would kill the test.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/rt_match.h"

char rt_subject[TG_RT_PATH];
__u32 rt_gen, rt_tenant, rt_type, rt_oflags;
__u32 rt_rule;	 /* the verdict: rule id, 0 = none */
__u32 rt_status; /* 1 = judged, 2 = no scratch slot */

SEC("raw_tp")
int rt_judge(void *ctx)
{
	struct tg_rt_verdict v = {};
	struct tg_rt_ctx x = {};

	if (!tg_rt_scratch_get(&x)) {
		rt_status = 2;
		return 0;
	}
	__builtin_memcpy(x.sc->path, rt_subject, TG_RT_PATH);
	x.sc->path[TG_RT_PATH - 1] = '\0';
	x.gen = rt_gen & 1;
	x.tenant = rt_tenant;
	x.type = rt_type;
	x.rules = true;
	tg_rt_judge(&x, rt_oflags, &v);
	rt_rule = v.rule;
	rt_status = 1;
	tg_rt_scratch_put(&x);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
