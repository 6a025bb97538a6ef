/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtime security: the sensitive syscalls of tenants' processes (docs/runtime.md,
 * "Exits and sensitive syscalls"): ptrace, the setuid and setgid family, module loads,
 * mount, unshare and setns. Each is a tp/syscalls/sys_enter_* program that returns at
 * once for host processes (tenant 0); a tenant's call is reported when its type is in
 * runtime.monitor or a rule of that type matches, and a kill rule sends SIGKILL before
 * the event is reserved (a kill never waits for the ring).
 */
#ifndef TG_RT_SYS_H
#define TG_RT_SYS_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/rt.h"
#include "lib/rt_match.h"

/* ptrace requests worth an event: the ones that start tracing. The rest (PEEK, POKE,
 * GETREGS, SYSCALL, CONT...) only ever follow one of these from the same tracer, and a
 * strace would turn each traced syscall into several events. */
#define TG_PTRACE_TRACEME 0
#define TG_PTRACE_ATTACH 16
#define TG_PTRACE_SEIZE 0x4206

/* The first step of every program here (lib/rt_match.h): whether the call of type is
 * wanted, a rule's verdict in v (and its kill, sent before anything else). host: also
 * for host processes (tenant 0), when the type is monitored or a rule for every tenant
 * matches. path, when not NULL, is the kernel string rules of the type match on (read
 * into the scratch slot, and into the event by tg_rt_sys_reserve). Whatever it returns,
 * the caller ends with tg_rt_scratch_put(x). */
static __always_inline bool tg_rt_sys_begin(struct tg_rt_ctx *x, __u32 type, bool host,
					    struct tg_rt_verdict *v)
{
	v->rule = 0;
	v->action = 0;
	v->gen = 0;
	x->sc = NULL;
	if (!tg_rt_begin(x, type, host))
		return false;
	if (!x->tenant)
		x->monitor = x->conf->monitor & (1u << type);
	return x->rules || x->monitor;
}

/* Judges the rules once the path (if any) is in the scratch slot; true when an event is
 * due. Without a free scratch slot only the monitor decides. */
static __always_inline bool tg_rt_sys_judge(struct tg_rt_ctx *x, struct tg_rt_verdict *v)
{
	if (x->rules && x->sc)
		tg_rt_judge(x, 0, v);
	return v->rule || x->monitor;
}

/* A scratch slot with the user string at src as the path rules match on. */
static __always_inline void tg_rt_sys_user_path(struct tg_rt_ctx *x, const void *src)
{
	long n;

	if (!x->sc || !src)
		return;
	n = bpf_probe_read_user_str(x->sc->path, TG_RT_PATH, src);
	x->sc->path_len = n > 0 ? n : 0;
	if (n <= 0)
		x->sc->path[0] = '\0';
}

static __always_inline struct tg_rt_event *tg_rt_sys_reserve(struct tg_rt_ctx *x, __u32 type,
							     const struct tg_rt_verdict *v)
{
	struct tg_rt_event *e = tg_rt_reserve(x->tenant, type);

	if (!e)
		return NULL;
	tg_rt_mark(e, v, x);
	tg_rt_copy_path(e, x);
	return e;
}

/* Copies a user string into dst (size bytes) and returns the bytes used, NUL included;
 * 0 when it cannot be read (a NULL pointer, a fault). Sets TG_RT_F_TRUNC when cut. */
static __always_inline __u16 tg_rt_user_str(char *dst, __u32 size, const void *src,
					    struct tg_rt_event *e)
{
	long n;

	if (!src)
		return 0;
	n = bpf_probe_read_user_str(dst, size, src);
	if (n <= 0) {
		dst[0] = 0;
		return 0;
	}
	if ((__u32)n == size)
		e->flags |= TG_RT_F_TRUNC;
	return (__u16)n;
}

/* ptrace: arg[0] request, arg[1] the target pid as given (ignored by PTRACE_TRACEME,
 * whose tracer is the parent: ppid). */
static __always_inline int tg_rt_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	struct tg_rt_verdict v;
	struct tg_rt_event *e;
	struct tg_rt_ctx x = {};
	long req = (long)ctx->args[0];

	if (req != TG_PTRACE_TRACEME && req != TG_PTRACE_ATTACH && req != TG_PTRACE_SEIZE)
		return 0;
	if (!tg_rt_sys_begin(&x, TG_RT_PTRACE, false, &v))
		return 0;
	tg_rt_scratch_get(&x);
	if (tg_rt_sys_judge(&x, &v) && (e = tg_rt_sys_reserve(&x, TG_RT_PTRACE, &v))) {
		e->arg[0] = req;
		e->arg[1] = (__s32)ctx->args[1];
		bpf_ringbuf_submit(e, 0);
	}
	tg_rt_scratch_put(&x);
	return 0;
}

/* A user or group id argument: uid_t, so -1 ("unchanged") is 0xffffffff in the register. */
static __always_inline __s64 tg_rt_id(unsigned long v)
{
	__u32 id = (__u32)v;

	return id == 0xffffffffu ? -1 : (__s64)id;
}

/* The setuid and setgid family: arg[0] enum tg_rt_id_op, arg[1..3] the ids in the
 * syscall's order (real, effective, saved; one id for setuid, setgid, setfs*), -1 for
 * "unchanged" and for ids the call does not take. */
static __always_inline int tg_rt_setid(struct trace_event_raw_sys_enter *ctx, __u32 op, int nids)
{
	struct tg_rt_verdict v;
	struct tg_rt_event *e;
	struct tg_rt_ctx x = {};

	if (!tg_rt_sys_begin(&x, TG_RT_SETUID, false, &v))
		return 0;
	tg_rt_scratch_get(&x);
	if (tg_rt_sys_judge(&x, &v) && (e = tg_rt_sys_reserve(&x, TG_RT_SETUID, &v))) {
		e->arg[0] = op;
		e->arg[1] = tg_rt_id(ctx->args[0]);
		e->arg[2] = nids > 1 ? tg_rt_id(ctx->args[1]) : -1;
		e->arg[3] = nids > 2 ? tg_rt_id(ctx->args[2]) : -1;
		bpf_ringbuf_submit(e, 0);
	}
	tg_rt_scratch_put(&x);
	return 0;
}

/* Module loads. The syscalls: arg[0] enum tg_rt_module_how, arg[1] finit_module's fd
 * (-1 for init_module), arg[2] init_module's image length or finit_module's flags; the
 * file behind the fd has no name a tracepoint can read. tp/module/module_load then
 * names the module (path) once the kernel has loaded it: arg[0] TG_RT_MOD_LOADED.
 * Module loads are reported for host processes too (tenant 0): a module is the host's. */
enum tg_rt_module_how {
	TG_RT_MOD_INIT = 1,   /* init_module(2): an image from memory */
	TG_RT_MOD_FINIT = 2,  /* finit_module(2): from a file descriptor */
	TG_RT_MOD_LOADED = 3, /* module_load: the kernel loaded it; path = its name */
};

static __always_inline int tg_rt_module_call(struct trace_event_raw_sys_enter *ctx, __u32 how)
{
	struct tg_rt_verdict v;
	struct tg_rt_event *e;
	struct tg_rt_ctx x = {};

	if (!tg_rt_sys_begin(&x, TG_RT_MODULE, true, &v))
		return 0;
	tg_rt_scratch_get(&x);
	if (tg_rt_sys_judge(&x, &v) && (e = tg_rt_sys_reserve(&x, TG_RT_MODULE, &v))) {
		e->arg[0] = how;
		e->arg[1] = how == TG_RT_MOD_FINIT ? (__s32)ctx->args[0] : -1;
		e->arg[2] = how == TG_RT_MOD_FINIT ? (__s64)ctx->args[2] : (__s64)ctx->args[1];
		bpf_ringbuf_submit(e, 0);
	}
	tg_rt_scratch_put(&x);
	return 0;
}

/* tp/module/module_load's record (not in every kernel's BTF: the kernel has it only with
 * CONFIG_MODULES, so no CO-RE on it; the layout is the tracepoint's format file). */
struct tg_tp_module_load {
	__u64 common;
	__u32 taints;
	__u32 data_loc_name; /* offset << 0 | length << 16 */
};

static __always_inline int tg_rt_module_loaded(struct tg_tp_module_load *ctx)
{
	struct tg_rt_verdict v;
	struct tg_rt_event *e;
	struct tg_rt_ctx x = {};
	__u32 loc = ctx->data_loc_name;
	long n;

	if (!tg_rt_sys_begin(&x, TG_RT_MODULE, true, &v))
		return 0;
	if (tg_rt_scratch_get(&x)) {
		n = bpf_probe_read_kernel_str(x.sc->path, TG_RT_PATH, (char *)ctx + (loc & 0xffff));
		x.sc->path_len = n > 0 ? n : 0;
		if (n <= 0)
			x.sc->path[0] = '\0';
	}
	if (tg_rt_sys_judge(&x, &v) && (e = tg_rt_sys_reserve(&x, TG_RT_MODULE, &v))) {
		e->arg[0] = TG_RT_MOD_LOADED;
		e->arg[1] = -1;
		e->arg[2] = ctx->taints;
		bpf_ringbuf_submit(e, 0);
	}
	tg_rt_scratch_put(&x);
	return 0;
}

/* mount(2): path = the target, args = the source NUL the file system type (NUL-separated,
 * either may be empty), arg[0] the mount flags (MS_*). */
static __always_inline int tg_rt_mount(struct trace_event_raw_sys_enter *ctx)
{
	struct tg_rt_verdict v;
	struct tg_rt_event *e;
	struct tg_rt_ctx x = {};
	__u16 n;

	if (!tg_rt_sys_begin(&x, TG_RT_MOUNT, false, &v))
		return 0;
	if (tg_rt_scratch_get(&x))
		tg_rt_sys_user_path(&x, (void *)ctx->args[1]);
	if (!tg_rt_sys_judge(&x, &v))
		goto out;
	e = tg_rt_sys_reserve(&x, TG_RT_MOUNT, &v);
	if (!e)
		goto out;
	if (!x.sc) /* no scratch slot: the target straight into the event */
		e->path_len = tg_rt_user_str(e->path, sizeof(e->path), (void *)ctx->args[1], e);
	/* The source in the first half at most, the type right after its NUL. */
	n = tg_rt_user_str(e->args, TG_RT_ARGS / 2, (void *)ctx->args[0], e);
	if (!n)
		n = 1; /* an empty source keeps its NUL */
	asm volatile("" : "+r"(n));
	if (n > TG_RT_ARGS / 2)
		n = TG_RT_ARGS / 2;
	e->args_len = n + tg_rt_user_str(e->args + n, TG_RT_ARGS / 2, (void *)ctx->args[2], e);
	e->arg[0] = (__s64)ctx->args[3];
	bpf_ringbuf_submit(e, 0);
out:
	tg_rt_scratch_put(&x);
	return 0;
}

/* unshare(2): arg[0] the CLONE_* flags. */
static __always_inline int tg_rt_unshare(struct trace_event_raw_sys_enter *ctx)
{
	struct tg_rt_verdict v;
	struct tg_rt_event *e;
	struct tg_rt_ctx x = {};

	if (!tg_rt_sys_begin(&x, TG_RT_UNSHARE, false, &v))
		return 0;
	tg_rt_scratch_get(&x);
	if (tg_rt_sys_judge(&x, &v) && (e = tg_rt_sys_reserve(&x, TG_RT_UNSHARE, &v))) {
		e->arg[0] = (__s64)ctx->args[0];
		bpf_ringbuf_submit(e, 0);
	}
	tg_rt_scratch_put(&x);
	return 0;
}

/* setns(2): arg[0] nstype (CLONE_NEW*, 0 = any), arg[1] the fd. */
static __always_inline int tg_rt_setns(struct trace_event_raw_sys_enter *ctx)
{
	struct tg_rt_verdict v;
	struct tg_rt_event *e;
	struct tg_rt_ctx x = {};

	if (!tg_rt_sys_begin(&x, TG_RT_SETNS, false, &v))
		return 0;
	tg_rt_scratch_get(&x);
	if (tg_rt_sys_judge(&x, &v) && (e = tg_rt_sys_reserve(&x, TG_RT_SETNS, &v))) {
		e->arg[0] = (__s32)ctx->args[1];
		e->arg[1] = (__s32)ctx->args[0];
		bpf_ringbuf_submit(e, 0);
	}
	tg_rt_scratch_put(&x);
	return 0;
}

#endif /* TG_RT_SYS_H */
