// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A test vehicle for the event pipeline: it calls the real event code of lib/enforce.h
 * (tg_enforced: counted, rate-limited; tg_event_send: unconditional) on every
 * BPF_PROG_TEST_RUN, with what the test wrote into its globals. The test gives it the
 * datapath's own maps, so the ring, the counters and the limits are the agent's.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/meter.h"

enum ev_mode {
	EV_ENFORCED = 0, /* tg_enforced(): drop counter, rate limit, event */
	EV_SEND = 1,	 /* tg_event_send(): one event per run, no limit */
};

__u32 ev_mode;
__u32 ev_tenant;
__u32 ev_reason;
__u32 ev_type; /* 0: TG_EV_ENFORCE */
__u32 ev_dir;
__u64 ev_value;

static __always_inline void emit(const struct tg_ev_ctx *x, __u64 bytes)
{
	if (ev_mode == EV_SEND)
		tg_event_send(ev_type ? ev_type : TG_EV_ENFORCE, ev_tenant, ev_reason, 1, ev_value,
			      x);
	else
		tg_enforced(ev_tenant, ev_reason, 1, bytes, x);
}

/* A packet: the frame is parsed by the datapath's parser and described by the event. */
SEC("tc")
int ev_emit_pkt(struct __sk_buff *skb)
{
	struct tg_pkt p = {};
	struct tg_ev_ctx x = { .dir = ev_dir };
	int err = tg_parse_skb(skb, &p);

	x.p = err ? NULL : &p;
	emit(&x, skb->len);
	return TG_TC_ACT_SHOT;
}

/* A process: no packet, the caller's pid, uid and comm (test runs execute in the
 * calling task, so the test knows what to expect). */
SEC("cgroup_skb/egress")
int ev_emit_task(struct __sk_buff *skb)
{
	struct tg_ev_ctx x = { .task = true };

	emit(&x, 0);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
