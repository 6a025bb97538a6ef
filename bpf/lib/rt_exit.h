/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtime security: how tenants' processes end (docs/runtime.md, "Exits and sensitive
 * syscalls"). tp/sched/sched_process_exit with group_dead (the last thread of a process;
 * its exit code is the process's) classifies the exit:
 *	crash	SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS (core dumped or not)
 *	oom	SIGKILL, and the process was chosen by the OOM killer
 *	killed	any other signal; arg[3] names the sender where one is known
 *	normal	exit(2) with any status
 * Every exit is counted in tg_rt_counts (exits[class] of the tenant's TG_RT_EXIT cell);
 * abnormal ones always raise an event, normal ones only when exit is monitored or a rule
 * of type exit matches.
 *
 * Two small LRU hashes carry what the exit itself cannot tell:
 *	tg_rt_oom_victims	tp/oom/mark_victim: the pids the OOM killer chose. Also the
 *				process's signal->oom_mm (set by mark_oom_victim for the whole
 *				thread group) when the victim was another thread.
 *	tg_rt_killers		tp/signal/signal_generate: for a fatal signal sent by a
 *				process (si_code <= 0: kill, tgkill, sigqueue), the sender's
 *				tgid and the signal, by target pid. The sender is the current
 *				task there; the target's cgroup is not at hand, so every such
 *				signal on the host is recorded (the LRU bounds it). A signal the
 *				kernel raises (a fault, the OOM killer: si_code > 0) records
 *				nothing, and the exit says killer 0.
 */
#ifndef TG_RT_EXIT_H
#define TG_RT_EXIT_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/rt.h"
#include "lib/rt_sys.h"

#define TG_RT_EXIT_LRU 4096

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_RT_EXIT_LRU);
	__type(key, __u32);   /* pid the OOM killer chose */
	__type(value, __u64); /* when, ns */
} tg_rt_oom_victims SEC(".maps");

struct tg_rt_killer {
	__u32 sender; /* tgid of the sending process */
	__u32 sig;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_RT_EXIT_LRU);
	__type(key, __u32); /* target pid */
	__type(value, struct tg_rt_killer);
} tg_rt_killers SEC(".maps");

/* Signals whose default action ends the process: the others (SIGCHLD, SIGCONT, SIGSTOP,
 * SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH) are never an exit's cause. */
static __always_inline bool tg_rt_sig_fatal(int sig)
{
	switch (sig) {
	case 17: /* SIGCHLD */
	case 18: /* SIGCONT */
	case 19: /* SIGSTOP */
	case 20: /* SIGTSTP */
	case 21: /* SIGTTIN */
	case 22: /* SIGTTOU */
	case 23: /* SIGURG */
	case 28: /* SIGWINCH */
		return false;
	}
	return sig > 0 && sig < 65;
}

static __always_inline __u32 tg_rt_exit_class(int sig, bool oom)
{
	switch (sig) {
	case 0:
		return TG_EXIT_NORMAL;
	case 4:	 /* SIGILL */
	case 5:	 /* SIGTRAP */
	case 6:	 /* SIGABRT */
	case 7:	 /* SIGBUS */
	case 8:	 /* SIGFPE */
	case 11: /* SIGSEGV */
	case 31: /* SIGSYS */
		return TG_EXIT_CRASH;
	case 9: /* SIGKILL */
		return oom ? TG_EXIT_OOM : TG_EXIT_KILLED;
	}
	return TG_EXIT_KILLED;
}

static __always_inline int tg_rt_signal_generate(struct trace_event_raw_signal_generate *ctx)
{
	struct tg_rt_killer k;
	__u32 target = ctx->pid;

	/* result 0: TRACE_SIGNAL_DELIVERED (queued or already pending: the target will see
	 * it); code <= 0: a process sent it (SI_USER, SI_QUEUE, SI_TKILL, ...). */
	if (ctx->result != 0 || ctx->code > 0 || !tg_rt_sig_fatal(ctx->sig))
		return 0;
	k.sender = bpf_get_current_pid_tgid() >> 32;
	k.sig = ctx->sig;
	if (k.sender == target)
		return 0; /* raise(3), abort(3): no other process did it */
	bpf_map_update_elem(&tg_rt_killers, &target, &k, BPF_ANY);
	return 0;
}

static __always_inline int tg_rt_mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	__u32 pid = ctx->pid;
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&tg_rt_oom_victims, &pid, &now, BPF_ANY);
	return 0;
}

/* Whether the exiting task is the last of its thread group. */
static __always_inline bool tg_rt_group_dead(struct trace_event_raw_sched_process_exit *ctx,
					     __u32 pid, __u32 tgid)
{
	if (bpf_core_field_exists(ctx->group_dead))
		return BPF_CORE_READ(ctx, group_dead);
	return pid == tgid; /* kernels before 6.16: the leader stands for the process */
}

static __always_inline int tg_rt_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct tg_rt_verdict v;
	struct tg_rt_killer *k;
	struct tg_rt_count *cnt;
	struct tg_rt_event *e;
	struct tg_rt_ctx x = {};
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 pid = (__u32)pt, tgid = pt >> 32, cls, killer = 0;
	int code, sig;
	bool oom;

	if (!tg_rt_group_dead(ctx, pid, tgid)) {
		/* A thread the OOM killer chose ends before the rest: the mark moves to the
		 * process's own pid. */
		if (pid != tgid && bpf_map_lookup_elem(&tg_rt_oom_victims, &pid)) {
			__u64 now = bpf_ktime_get_ns();

			bpf_map_update_elem(&tg_rt_oom_victims, &tgid, &now, BPF_ANY);
			bpf_map_delete_elem(&tg_rt_oom_victims, &pid);
		}
		return 0;
	}
	code = BPF_CORE_READ(task, exit_code);
	sig = code & 0x7f;
	oom = bpf_map_lookup_elem(&tg_rt_oom_victims, &tgid) ||
	      bpf_map_lookup_elem(&tg_rt_oom_victims, &pid) || BPF_CORE_READ(task, signal, oom_mm);
	if (oom) {
		bpf_map_delete_elem(&tg_rt_oom_victims, &tgid);
		bpf_map_delete_elem(&tg_rt_oom_victims, &pid);
	}
	k = bpf_map_lookup_elem(&tg_rt_killers, &tgid);
	if (!k)
		k = bpf_map_lookup_elem(&tg_rt_killers, &pid);
	if (k) {
		if ((int)k->sig == sig)
			killer = k->sender;
		bpf_map_delete_elem(&tg_rt_killers, &tgid);
		bpf_map_delete_elem(&tg_rt_killers, &pid);
	}
	if (!tg_rt_sys_begin(&x, TG_RT_EXIT, false, &v))
		x.monitor = false; /* counted all the same, unless off or a host process */
	if (!x.conf || !(x.conf->flags & TG_RT_CONF_ON) || !x.tenant)
		return 0;
	cls = tg_rt_exit_class(sig, oom);
	cnt = tg_rt_count_cell(x.tenant, TG_RT_EXIT);
	if (cnt && cls < TG_EXIT_CLASSES)
		__sync_fetch_and_add(&cnt->exits[cls], 1);
	if (x.rules)
		tg_rt_scratch_get(&x); /* rules of type exit: tenant, comm, uid */
	tg_rt_sys_judge(&x, &v);
	if (v.rule)
		v.action = TG_RA_ALERT; /* an exit can only be reported (config refuses kill) */
	if (cls == TG_EXIT_NORMAL && !v.rule && !x.monitor)
		goto out;
	e = tg_rt_sys_reserve(&x, TG_RT_EXIT, &v);
	if (!e)
		goto out;
	if (code & 0x80)
		e->flags |= TG_RT_F_CORE;
	e->arg[0] = cls;
	e->arg[1] = sig ? 0 : (code >> 8) & 0xff;
	e->arg[2] = sig;
	e->arg[3] = killer;
	bpf_ringbuf_submit(e, 0);
out:
	tg_rt_scratch_put(&x);
	return 0;
}

#endif /* TG_RT_EXIT_H */
