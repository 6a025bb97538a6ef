/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which tenant a task belongs to: tg_cgroups maps cgroup ids to tenants, and a task
 * belongs to the tenant of its deepest ancestor cgroup found there. Shared by the cgroup
 * hooks (lib/cgroup.h) and the runtime tracepoints (lib/rt.h).
 */
#ifndef TG_CGTENANT_H
#define TG_CGTENANT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tollgate.h"
#include "lib/maps.h"

static __always_inline __u32 tg_cgroup_tenant_of(__u64 cgid)
{
	struct tg_cgroup_val *v;

	v = bpf_map_lookup_elem(&tg_cgroups, &cgid);
	return v && v->tenant_id < TG_MAX_TENANTS ? v->tenant_id : TG_TENANT_UNATTRIBUTED;
}

/* The tenant of the current task: its deepest ancestor cgroup in tg_cgroups (a tenant
 * cgroup inside another tenant's belongs to the inner tenant). The walk goes down from
 * the root and stops below the task's own cgroup, where the helper returns 0: a task
 * directly in a tenant cgroup at depth d costs d + 1 helper calls and d lookups. */
static __always_inline __u32 tg_cgroup_tenant_current(void)
{
	__u32 tenant = TG_TENANT_UNATTRIBUTED, t;
	__u64 id;

	for (int level = 1; level <= TG_MAX_CGROUP_LEVEL; level++) {
		id = bpf_get_current_ancestor_cgroup_id(level);
		if (!id)
			break;
		t = tg_cgroup_tenant_of(id);
		if (t)
			tenant = t;
	}
	return tenant;
}

#endif /* TG_CGTENANT_H */
