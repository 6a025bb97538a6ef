/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtime rules in the kernel (docs/runtime.md, "The matcher"). Every tracepoint of the
 * runtime uses the same steps:
 *
 *	struct tg_rt_ctx x;
 *	if (!tg_rt_begin(&x, TYPE, allow_host) || !tg_rt_scratch_get(&x))
 *		return 0;
 *	... fill x.sc->path (or leave it empty), then
 *	tg_rt_judge(&x, open_flags, &v);      a rule, and the kill before anything else
 *	if (v.rule || x.monitor) { e = tg_rt_reserve(...); tg_rt_mark(e, &v, &x); ... }
 *	tg_rt_scratch_put(&x);
 *
 * Rules live in two generations (tg_rt_active says which is live) so that user space
 * builds a new set beside the one in use. The LPM trie tg_rt_prefixes, keyed by
 * (generation, type, literal path prefix), gives the candidate rules whose literal
 * prefix is a prefix of the path (user space closes every entry over the shorter
 * prefixes, so the longest match holds them all); each candidate's predicates are then
 * checked in rule id order (kill rules have the lowest ids) and the remainder of its path
 * glob, and its comm glob, run in a bpf_loop matcher: '*' with one backtrack point, '?',
 * and byte classes as 256-bit maps. At most TG_RT_GLOB_STEPS steps a glob: enough for
 * any 255-byte path against any 255-token pattern.
 */
#ifndef TG_RT_MATCH_H
#define TG_RT_MATCH_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/rt.h"

#define TG_RT_GLOB_STEPS (1u << 17)
#define TG_RT_SLOTS 4 /* scratch slots per CPU: a preempted program keeps its own */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * TG_MAX_RT_RULES);
	__type(key, __u32); /* generation * TG_MAX_RT_RULES + rule id */
	__type(value, struct tg_rt_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rt_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 2 * TG_MAX_RT_PREFIXES);
	__type(key, struct tg_rt_pfx_key);
	__type(value, struct tg_rt_pfx_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rt_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct tg_rt_ruleset);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rt_rulesets SEC(".maps");

/* Events user space delivered, per cell of tg_rt_counts: written by the agent after each
 * drain, so `tollgate status` can show produced = delivered + dropped (+ in the ring). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_RT_CELLS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rt_delivered SEC(".maps");

/* The live generation (0 or 1). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rt_active SEC(".maps");

/* The matcher's state lives in the scratch slot, not on the stack: the verifier does not
 * follow map memory, so a bpf_loop callback converges after one pass instead of being
 * explored step by step. */
struct tg_glob_state {
	__u32 rkey;
	__u16 pi, si, star_pi, star_si, ntok;
	__u8 star, comm, literal, result; /* result: 0 running, 1 match, 2 no match */
};

struct tg_cand_state {
	__u64 bits[TG_MAX_RT_RULES / 64];
	__u32 base, tenant, type, oflags, uid;
	__u32 rule;
	__u8 action;
};

struct tg_path_scan {
	__u32 last4; /* the last four bytes, the newest lowest */
	__u32 so;    /* contains ".so." or ends in ".so" */
	__u64 hash;
};

struct tg_rt_scratch {
	__u32 busy;
	__u32 path_len; /* bytes read into path, NUL included; 0 = none */
	struct tg_rt_pfx_key key;
	char path[TG_RT_PATH];
	char comm[16];
	struct tg_glob_state g;
	struct tg_cand_state c;
	struct tg_path_scan p;
};

/* What a bpf_loop callback gets: the slot to look up. */
struct tg_rt_loop {
	__u32 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_RT_SLOTS);
	__type(key, __u32);
	__type(value, struct tg_rt_scratch);
} tg_rt_scratch SEC(".maps");

struct tg_rt_ctx {
	const struct tg_rt_conf *conf;
	struct tg_rt_scratch *sc;
	__u32 tenant, type, gen, slot;
	bool rules;   /* the live set has rules of this type */
	bool monitor; /* the type is monitored */
};

struct tg_rt_verdict {
	__u32 rule; /* 0 = none */
	__u8 action;
	__u8 gen;
};

/* Which tenant, and whether anything wants events of TYPE from it. Host processes
 * (tenant 0) only with allow_host. */
static __always_inline bool tg_rt_begin(struct tg_rt_ctx *x, __u32 type, bool allow_host)
{
	const struct tg_rt_ruleset *rs;
	__u32 key = 0, *gen;

	x->conf = tg_rt_config();
	if (!x->conf || !(x->conf->flags & TG_RT_CONF_ON))
		return false;
	x->tenant = tg_cgroup_tenant_current();
	if (!x->tenant && !allow_host)
		return false;
	x->type = type;
	gen = bpf_map_lookup_elem(&tg_rt_active, &key);
	x->gen = gen ? *gen & 1 : 0;
	key = x->gen;
	rs = bpf_map_lookup_elem(&tg_rt_rulesets, &key);
	x->rules = rs && (rs->types & (1u << type));
	x->monitor = x->tenant && (x->conf->monitor & (1u << type));
	x->sc = NULL;
	return true;
}

/* A scratch slot of this CPU that no preempted program holds. */
static __always_inline bool tg_rt_scratch_get(struct tg_rt_ctx *x)
{
#pragma unroll
	for (__u32 i = 0; i < TG_RT_SLOTS; i++) {
		__u32 k = i;
		struct tg_rt_scratch *sc = bpf_map_lookup_elem(&tg_rt_scratch, &k);

		if (sc && __sync_val_compare_and_swap(&sc->busy, 0, 1) == 0) {
			x->sc = sc;
			x->slot = i;
			sc->path_len = 0;
			sc->path[0] = '\0';
			bpf_get_current_comm(sc->comm, sizeof(sc->comm));
			return true;
		}
	}
	return false;
}

static __always_inline void tg_rt_scratch_put(struct tg_rt_ctx *x)
{
	if (x->sc)
		*(volatile __u32 *)&x->sc->busy = 0;
	x->sc = NULL;
}

static __always_inline bool tg_glob_tok(const struct tg_rt_rule *r, __u16 t, __u8 ch)
{
	__u32 k;

	if (t < 0x100)
		return t == ch;
	if (t == TG_GLOB_ANY)
		return true;
	k = (t - TG_GLOB_CLASS) & (TG_RT_GLOB_CLASSES - 1);
	return (r->cls[k][(ch >> 3) & 31] >> (ch & 7)) & 1;
}

static long tg_glob_step(__u32 i, void *arg)
{
	struct tg_rt_loop *l = arg;
	struct tg_rt_scratch *sc = bpf_map_lookup_elem(&tg_rt_scratch, &l->slot);
	const struct tg_rt_rule *r;
	struct tg_glob_state *g;
	__u8 ch, last;
	__u16 t;

	if (!sc)
		return 1;
	g = &sc->g;
	r = bpf_map_lookup_elem(&tg_rt_rules, &g->rkey);
	if (!r) {
		g->result = 2;
		return 1;
	}
	ch = g->comm ? sc->comm[g->si & 15] : sc->path[g->si & (TG_RT_PATH - 1)];
	if (g->pi < g->ntok) {
		t = g->comm ? r->comm_tok[g->pi & (TG_RT_COMM_TOKENS - 1)]
			    : r->path_tok[g->pi & (TG_RT_PATH - 1)];
		if (t == TG_GLOB_STAR) {
			g->star = 1;
			g->star_pi = g->pi++;
			g->star_si = g->si;
			return 0;
		}
		if (ch && tg_glob_tok(r, t, ch)) {
			g->pi++;
			g->si++;
			return 0;
		}
	} else if (g->literal) {
		last = g->ntok ? r->path_tok[(g->ntok - 1) & (TG_RT_PATH - 1)] : 0;
		g->result = !ch || ch == '/' || last == '/' ? 1 : 2;
		return 1;
	} else if (!ch) {
		g->result = 1;
		return 1;
	}
	if (!g->star) {
		g->result = 2;
		return 1;
	}
	ch = g->comm ? sc->comm[g->star_si & 15] : sc->path[g->star_si & (TG_RT_PATH - 1)];
	if (!ch) {
		g->result = 2;
		return 1;
	}
	g->si = ++g->star_si;
	g->pi = g->star_pi + 1;
	return 0;
}

/* Runs the glob set up in sc->g. */
static __always_inline bool tg_glob_run(struct tg_rt_scratch *sc, struct tg_rt_loop *l)
{
	sc->g.result = 0;
	bpf_loop(TG_RT_GLOB_STEPS, tg_glob_step, l, 0);
	return sc->g.result == 1;
}

/* Index of the lowest set bit of b (b != 0). */
static __always_inline __u32 tg_ctz64(__u64 b)
{
	__u32 n = 0;

	if (!(b & 0xffffffffull)) {
		n += 32;
		b >>= 32;
	}
	if (!(b & 0xffff)) {
		n += 16;
		b >>= 16;
	}
	if (!(b & 0xff)) {
		n += 8;
		b >>= 8;
	}
	if (!(b & 0xf)) {
		n += 4;
		b >>= 4;
	}
	if (!(b & 0x3)) {
		n += 2;
		b >>= 2;
	}
	if (!(b & 0x1))
		n += 1;
	return n;
}

/* One candidate rule per step, lowest id first; stops at the first that matches. */
static long tg_cand_step(__u32 i, void *arg)
{
	struct tg_rt_loop *l = arg;
	struct tg_rt_scratch *sc = bpf_map_lookup_elem(&tg_rt_scratch, &l->slot);
	const struct tg_rt_rule *r;
	struct tg_cand_state *c;
	__u32 w, id, rkey;
	__u64 b;

	if (!sc)
		return 1;
	c = &sc->c;
	if (c->bits[0])
		w = 0;
	else if (c->bits[1])
		w = 1;
	else if (c->bits[2])
		w = 2;
	else if (c->bits[3])
		w = 3;
	else
		return 1;
	b = c->bits[w];
	c->bits[w] = b & (b - 1);
	id = w * 64 + tg_ctz64(b & -b);
	if (!id || id >= TG_MAX_RT_RULES)
		return 0;
	rkey = c->base + id;
	r = bpf_map_lookup_elem(&tg_rt_rules, &rkey);
	if (!r || r->type != c->type)
		return 0;
	if (r->tenant && r->tenant != c->tenant)
		return 0;
	if (r->has_uid && r->uid != c->uid)
		return 0;
	if (r->open_flags && !(r->open_flags & c->oflags))
		return 0;
	__builtin_memset(&sc->g, 0, sizeof(sc->g));
	sc->g.rkey = rkey;
	if (r->path_mode != TG_RT_PATH_ANY) {
		sc->g.pi = sc->g.si = r->path_start;
		sc->g.ntok = r->path_ntok;
		sc->g.literal = r->path_mode == TG_RT_PATH_LITERAL;
		if (!tg_glob_run(sc, l))
			return 0;
	}
	if (r->comm_ntok) {
		__builtin_memset(&sc->g, 0, sizeof(sc->g));
		sc->g.rkey = rkey;
		sc->g.comm = 1;
		sc->g.ntok = r->comm_ntok;
		if (!tg_glob_run(sc, l))
			return 0;
	}
	c->rule = id;
	c->action = r->action;
	return 1;
}

/* The first rule of x->type that matches the current task and x->sc->path, and its kill,
 * sent here before the event exists so that nothing (budget, ring) can hold it back. */
static __always_inline void tg_rt_judge(struct tg_rt_ctx *x, __u32 oflags, struct tg_rt_verdict *v)
{
	struct tg_rt_scratch *sc = x->sc;
	const struct tg_rt_pfx_val *pv;
	struct tg_rt_loop l = { .slot = x->slot };
	struct tg_cand_state *c;

	v->rule = 0;
	v->action = 0;
	v->gen = x->gen;
	if (!x->rules || !sc)
		return;
	sc->key.gen = x->gen;
	sc->key.type = x->type;
	__builtin_memcpy(sc->key.path, sc->path, TG_RT_PFX_BYTES);
	sc->key.prefixlen = 16 + 8 * TG_RT_PFX_BYTES;
	pv = bpf_map_lookup_elem(&tg_rt_prefixes, &sc->key);
	if (!pv)
		return;
	c = &sc->c;
	__builtin_memcpy(c->bits, pv->rules, sizeof(c->bits));
	c->base = x->gen * TG_MAX_RT_RULES;
	c->tenant = x->tenant;
	c->type = x->type;
	c->oflags = oflags;
	c->uid = (__u32)bpf_get_current_uid_gid();
	c->rule = 0;
	c->action = 0;
	bpf_loop(TG_MAX_RT_RULES, tg_cand_step, &l, 0);
	if (!c->rule)
		return;
	v->rule = c->rule;
	v->action = c->action;
	if (c->action == TG_RA_KILL)
		bpf_send_signal(9 /* SIGKILL */);
}

/* The verdict's part of an event. */
static __always_inline void tg_rt_mark(struct tg_rt_event *e, const struct tg_rt_verdict *v,
				       const struct tg_rt_ctx *x)
{
	e->rule = v->rule;
	e->rule_gen = v->gen;
	e->action = v->action;
	if (v->rule)
		e->flags |= TG_RT_F_RULE;
	if (v->action == TG_RA_KILL)
		e->flags |= TG_RT_F_KILLED;
	if (x->monitor)
		e->flags |= TG_RT_F_MONITOR;
}

/* The scratch path into the event (path_len and the truncation flag). */
static __always_inline void tg_rt_copy_path(struct tg_rt_event *e, const struct tg_rt_ctx *x)
{
	if (!x->sc)
		return;
	__builtin_memcpy(e->path, x->sc->path, TG_RT_PATH);
	e->path[TG_RT_PATH - 1] = '\0';
	e->path_len = x->sc->path_len;
	if (x->sc->path_len >= TG_RT_PATH)
		e->flags |= TG_RT_F_TRUNC;
}

#endif /* TG_RT_MATCH_H */
