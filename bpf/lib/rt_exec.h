/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * exec and file opens (docs/runtime.md): rules with kill, monitoring, and the inventory's
 * first sights (binaries executed, shared libraries opened read-only), deduplicated here
 * per tenant so that each crosses to user space once while it stays in tg_rt_seen.
 */
#ifndef TG_RT_EXEC_H
#define TG_RT_EXEC_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/rt.h"
#include "lib/rt_match.h"

#define TG_O_WRONLY 01
#define TG_O_RDWR 02
#define TG_O_ACCMODE 03
#define TG_O_CREAT 0100
#define TG_O_TRUNC 01000
#define TG_O_TMPFILE 020000000 /* __O_TMPFILE */
#define TG_AT_FDCWD -100

struct tg_rt_seen_key {
	__u32 tenant;
	__u32 kind; /* TG_RT_EXEC or TG_RT_OPEN */
	__u64 hash; /* FNV-1a of the path */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_MAX_INVENTORY);
	__type(key, struct tg_rt_seen_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rt_seen SEC(".maps");

static __always_inline __u32 tg_rt_open_class(__u64 flags)
{
	__u32 acc = flags & TG_O_ACCMODE, o = 0;

	if (acc == 0 || acc == TG_O_RDWR)
		o |= TG_RT_O_READ;
	if (acc == TG_O_WRONLY || acc == TG_O_RDWR || (flags & TG_O_TRUNC))
		o |= TG_RT_O_WRITE;
	if ((flags & TG_O_CREAT) || (flags & TG_O_TMPFILE) == TG_O_TMPFILE)
		o |= TG_RT_O_CREATE;
	return o;
}

static long tg_path_scan_step(__u32 i, void *arg)
{
	struct tg_rt_loop *l = arg;
	struct tg_rt_scratch *sc = bpf_map_lookup_elem(&tg_rt_scratch, &l->slot);
	struct tg_path_scan *p;
	__u8 ch;

	if (!sc)
		return 1;
	p = &sc->p;
	ch = sc->path[i & (TG_RT_PATH - 1)];
	if (!ch) {
		if ((p->last4 & 0xffffff) == ('.' << 16 | 's' << 8 | 'o'))
			p->so = 1;
		return 1;
	}
	p->last4 = p->last4 << 8 | ch;
	if (p->last4 == ((__u32)'.' << 24 | 's' << 16 | 'o' << 8 | '.'))
		p->so = 1;
	p->hash = (p->hash ^ ch) * 0x100000001b3ull;
	return 0;
}

/* Whether this (tenant, path) is new to the inventory; *key for tg_rt_seen_mark. */
static __always_inline bool tg_rt_seen_new(struct tg_rt_ctx *x, __u32 kind, bool need_lib,
					   struct tg_rt_seen_key *key)
{
	struct tg_rt_loop l = { .slot = x->slot };
	struct tg_rt_scratch *sc = x->sc;

	if (!sc || !sc->path_len || !sc->path[0])
		return false;
	sc->p.last4 = 0;
	sc->p.so = 0;
	sc->p.hash = 0xcbf29ce484222325ull;
	bpf_loop(TG_RT_PATH, tg_path_scan_step, &l, 0);
	if (need_lib && !sc->p.so)
		return false;
	key->tenant = x->tenant;
	key->kind = kind;
	key->hash = sc->p.hash;
	return !bpf_map_lookup_elem(&tg_rt_seen, key);
}

static __always_inline void tg_rt_seen_mark(const struct tg_rt_seen_key *key)
{
	__u8 one = 1;

	bpf_map_update_elem(&tg_rt_seen, key, &one, BPF_ANY);
}

/* sched_process_exec: the new image, before its first instruction in user space. */
static __always_inline int tg_rt_on_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct tg_rt_seen_key skey = {};
	struct tg_rt_verdict v;
	struct tg_rt_event *e;
	struct tg_rt_ctx x;
	struct task_struct *task;
	unsigned long as, ae;
	bool inv, inv_new = false;
	long n;

	if (!tg_rt_begin(&x, TG_RT_EXEC, false))
		return 0;
	inv = x.conf->flags & TG_RT_CONF_INVENTORY;
	if (!x.rules && !x.monitor && !inv)
		return 0;
	if (!tg_rt_scratch_get(&x))
		return 0;
	n = bpf_probe_read_kernel_str(x.sc->path, TG_RT_PATH,
				      (void *)ctx + (ctx->__data_loc_filename & 0xffff));
	x.sc->path_len = n > 0 ? n : 0;
	if (n <= 0)
		x.sc->path[0] = '\0';
	tg_rt_judge(&x, 0, &v);
	if (inv)
		inv_new = tg_rt_seen_new(&x, TG_RT_EXEC, false, &skey);
	if (!v.rule && !x.monitor && !inv_new)
		goto out;
	e = tg_rt_reserve(x.tenant, TG_RT_EXEC);
	if (!e)
		goto out;
	tg_rt_mark(e, &v, &x);
	tg_rt_copy_path(e, &x);
	if (inv_new) {
		e->flags |= TG_RT_F_INVENTORY;
		tg_rt_seen_mark(&skey);
	}
	e->arg[0] = ctx->old_pid;
	task = (struct task_struct *)bpf_get_current_task();
	as = BPF_CORE_READ(task, mm, arg_start);
	ae = BPF_CORE_READ(task, mm, arg_end);
	n = ae > as ? (long)(ae - as) : 0;
	if (n > TG_RT_ARGS) {
		n = TG_RT_ARGS;
		e->flags |= TG_RT_F_TRUNC;
	}
	if (n > 0 && n <= TG_RT_ARGS && !bpf_probe_read_user(e->args, n, (void *)as)) {
		e->args_len = n;
		e->args[TG_RT_ARGS - 1] = '\0';
	}
	bpf_ringbuf_submit(e, 0);
out:
	tg_rt_scratch_put(&x);
	return 0;
}

/* openat, openat2, open at syscall entry: the attempt, as the process wrote the path. */
static __always_inline int tg_rt_on_open(long dfd, const char *upath, __u64 flags)
{
	struct tg_rt_seen_key skey = {};
	struct tg_rt_verdict v;
	struct tg_rt_event *e;
	struct tg_rt_ctx x;
	bool inv, inv_new = false;
	__u32 o;
	long n;

	if (!tg_rt_begin(&x, TG_RT_OPEN, false))
		return 0;
	o = tg_rt_open_class(flags);
	inv = (x.conf->flags & TG_RT_CONF_INVENTORY) && o == TG_RT_O_READ;
	if (!x.rules && !x.monitor && !inv)
		return 0;
	if (!tg_rt_scratch_get(&x))
		return 0;
	n = bpf_probe_read_user_str(x.sc->path, TG_RT_PATH, upath);
	x.sc->path_len = n > 0 ? n : 0;
	if (n <= 0)
		x.sc->path[0] = '\0';
	tg_rt_judge(&x, o, &v);
	if (inv)
		inv_new = tg_rt_seen_new(&x, TG_RT_OPEN, true, &skey);
	if (!v.rule && !x.monitor && !inv_new)
		goto out;
	e = tg_rt_reserve(x.tenant, TG_RT_OPEN);
	if (!e)
		goto out;
	tg_rt_mark(e, &v, &x);
	tg_rt_copy_path(e, &x);
	if (inv_new) {
		e->flags |= TG_RT_F_INVENTORY;
		tg_rt_seen_mark(&skey);
	}
	e->arg[0] = dfd;
	e->arg[1] = (__s64)flags;
	e->arg[2] = o;
	bpf_ringbuf_submit(e, 0);
out:
	tg_rt_scratch_put(&x);
	return 0;
}

static __always_inline int tg_rt_on_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	if (bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]))
		how.flags = 0;
	return tg_rt_on_open((long)ctx->args[0], (const char *)ctx->args[1], how.flags);
}

#endif /* TG_RT_EXEC_H */
