// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Configuration -> maps. Nothing here deletes a counter: ids only ever grow or are
 * reused as documented in apply.h, and the tries are synced entry by entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "apply.h"

static int assign_tenant_ids(const struct tg_maps *m, const struct tg_config *cfg,
			     struct tg_applied *a)
{
	struct tg_tenant_meta *meta = a->meta;
	uint32_t next = 1;
	int err;

	err = tg_maps_read_meta(m, meta);
	if (err)
		return err;
	for (uint32_t id = 1; id < TG_MAX_TENANTS; id++)
		meta[id].flags &= ~TG_TENANT_CONFIGURED;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const char *name = cfg->tenants[i].name;
		uint32_t id = tg_meta_find(meta, name);

		while (!id && next < TG_MAX_TENANTS && (meta[next].flags & TG_TENANT_IN_USE))
			next++;
		if (!id && next >= TG_MAX_TENANTS) {
			fprintf(stderr, "tollgate: no free tenant id for '%s' (%d in use)\n", name,
				TG_MAX_TENANTS - 1);
			return -ENOSPC;
		}
		if (!id) {
			id = next++;
			snprintf(meta[id].name, TG_NAME_MAX, "%s", name);
		}
		meta[id].flags |= TG_TENANT_IN_USE | TG_TENANT_CONFIGURED;
		a->tenant_ids[i] = id;
	}
	for (uint32_t id = 1; id < TG_MAX_TENANTS; id++) {
		if (!(meta[id].flags & TG_TENANT_IN_USE))
			continue;
		if (bpf_map_update_elem(m->tenant_meta, &id, &meta[id], BPF_ANY))
			return -errno;
	}
	return 0;
}

static int assign_class_ids(const struct tg_maps *m, const struct tg_config *cfg,
			    struct tg_applied *a)
{
	struct tg_class_meta *cm = a->classes;
	int err;

	err = tg_maps_read_class_meta(m, cm);
	if (err)
		return err;
	for (uint32_t id = 1; id < TG_MAX_CLASSES; id++)
		cm[id].flags &= ~TG_TENANT_CONFIGURED;
	/* Known names keep their ids; then new names take free ids, then unconfigured. */
	for (size_t i = 0; i < cfg->n_classes; i++) {
		a->class_ids[i] = 0;
		for (uint32_t id = 1; id < TG_MAX_CLASSES; id++) {
			if ((cm[id].flags & TG_TENANT_IN_USE) &&
			    !strncmp(cm[id].name, cfg->classes[i].name, TG_CLASS_NAME_MAX)) {
				a->class_ids[i] = id;
				cm[id].flags |= TG_TENANT_CONFIGURED;
			}
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < cfg->n_classes; i++) {
			uint32_t id;

			if (a->class_ids[i])
				continue;
			for (id = 1; id < TG_MAX_CLASSES; id++) {
				if (pass == 0 ? !(cm[id].flags & TG_TENANT_IN_USE)
					      : !(cm[id].flags & TG_TENANT_CONFIGURED))
					break;
			}
			if (id == TG_MAX_CLASSES)
				continue;
			if (pass == 1)
				fprintf(stderr,
					"tollgate: class id %u passes from '%s' to '%s' (all %d "
					"ids taken)\n",
					id, cm[id].name, cfg->classes[i].name, TG_MAX_CLASSES - 1);
			snprintf(cm[id].name, TG_CLASS_NAME_MAX, "%s", cfg->classes[i].name);
			cm[id].flags = TG_TENANT_IN_USE | TG_TENANT_CONFIGURED;
			a->class_ids[i] = id;
		}
	}
	for (uint32_t id = 1; id < TG_MAX_CLASSES; id++) {
		if (bpf_map_update_elem(m->class_meta, &id, &cm[id], BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < cfg->n_classes; i++) {
		if (!a->class_ids[i]) {
			fprintf(stderr, "tollgate: no class id left for '%s'\n",
				cfg->classes[i].name);
			return -ENOSPC;
		}
	}
	return 0;
}

/* TG_CLASSES_PRESENT in tg_class_meta[0] (class internet's entry). */
static int set_classes_present(const struct tg_maps *m, bool on)
{
	uint32_t zero = 0;
	struct tg_class_meta cm;

	if (bpf_map_lookup_elem(m->class_meta, &zero, &cm))
		return -errno;
	if (!!(cm.flags & TG_CLASSES_PRESENT) == on)
		return 0;
	cm.flags = on ? cm.flags | TG_CLASSES_PRESENT : cm.flags & ~(uint32_t)TG_CLASSES_PRESENT;
	return bpf_map_update_elem(m->class_meta, &zero, &cm, BPF_ANY) ? -errno : 0;
}

static void cidr_key(const struct tg_cidr *c, void *key)
{
	if (c->family == AF_INET) {
		struct tg_lpm4_key *k = key;

		k->prefixlen = c->prefixlen;
		memcpy(k->addr, c->addr, 4);
	} else {
		struct tg_lpm6_key *k = key;

		k->prefixlen = c->prefixlen;
		memcpy(k->addr, c->addr, 16);
	}
}

struct lpm_entry {
	unsigned char key[sizeof(struct tg_lpm6_key)]; /* zero-padded for IPv4 keys */
	uint32_t id;
};

static int lpm_entry_cmp(const void *x, const void *y)
{
	return memcmp(((const struct lpm_entry *)x)->key, ((const struct lpm_entry *)y)->key,
		      sizeof(((const struct lpm_entry *)x)->key));
}

static size_t add_wanted(struct lpm_entry *want, size_t n, const struct tg_cidr *cidrs,
			 size_t n_cidrs, int family, uint32_t id)
{
	for (size_t i = 0; i < n_cidrs; i++) {
		if (cidrs[i].family != family)
			continue;
		cidr_key(&cidrs[i], want[n].key);
		want[n++].id = id;
	}
	return n;
}

/* Brings one LPM map to the wanted prefixes: stale ones out, current ones in. */
static int sync_lpm(int fd, size_t key_size, struct lpm_entry *want, size_t n_want)
{
	struct lpm_entry *stale, cur = {};
	unsigned char walk[sizeof(cur.key)];
	size_t n_stale = 0;
	void *prev = NULL;
	int err = 0;

	stale = calloc(TG_MAX_CIDRS, sizeof(*stale));
	if (!stale)
		return -ENOMEM;
	qsort(want, n_want, sizeof(*want), lpm_entry_cmp);
	/* Collect first, delete after: deleting during the walk would restart it. */
	while (n_stale < TG_MAX_CIDRS && bpf_map_get_next_key(fd, prev, cur.key) == 0) {
		if (!bsearch(&cur, want, n_want, sizeof(*want), lpm_entry_cmp))
			stale[n_stale++] = cur;
		memcpy(walk, cur.key, key_size);
		prev = walk;
	}
	for (size_t i = 0; i < n_stale; i++)
		bpf_map_delete_elem(fd, stale[i].key);
	for (size_t i = 0; i < n_want; i++) {
		if (bpf_map_update_elem(fd, want[i].key, &want[i].id, BPF_ANY)) {
			err = -errno;
			break;
		}
	}
	free(stale);
	return err;
}

static int sync_tries(const struct tg_maps *m, const struct tg_config *cfg,
		      const struct tg_applied *a)
{
	static const int families[] = { AF_INET, AF_INET6 };
	size_t cap = 0;
	struct lpm_entry *want;
	int err = 0;

	for (size_t t = 0; t < cfg->n_tenants; t++)
		cap += cfg->tenants[t].n_cidrs;
	for (size_t c = 0; c < cfg->n_classes; c++)
		cap += cfg->classes[c].n_cidrs;
	want = calloc(cap ? cap : 1, sizeof(*want));
	if (!want)
		return -ENOMEM;
	/* The meters look at the class tries only while the flag says they may hold
	 * entries: raised before any goes in, lowered after the last is out. */
	if (cfg->n_classes)
		err = set_classes_present(m, true);
	for (int f = 0; !err && f < 2; f++) {
		int family = families[f];
		size_t ksz =
			family == AF_INET ? sizeof(struct tg_lpm4_key) : sizeof(struct tg_lpm6_key);
		size_t n = 0;

		for (size_t t = 0; t < cfg->n_tenants; t++)
			n = add_wanted(want, n, cfg->tenants[t].cidrs, cfg->tenants[t].n_cidrs,
				       family, a->tenant_ids[t]);
		err = sync_lpm(family == AF_INET ? m->lpm4 : m->lpm6, ksz, want, n);
		if (err)
			break;
		n = 0;
		for (size_t c = 0; c < cfg->n_classes; c++)
			n = add_wanted(want, n, cfg->classes[c].cidrs, cfg->classes[c].n_cidrs,
				       family, a->class_ids[c]);
		err = sync_lpm(family == AF_INET ? m->class4 : m->class6, ksz, want, n);
	}
	if (!err && cfg->n_classes == 0)
		err = set_classes_present(m, false);
	free(want);
	return err;
}

int tg_apply(const struct tg_maps *m, const struct tg_config *cfg, struct tg_applied *a)
{
	int err;

	memset(a, 0, sizeof(*a));
	a->meta = calloc(TG_MAX_TENANTS, sizeof(*a->meta));
	a->tenant_ids = calloc(cfg->n_tenants ? cfg->n_tenants : 1, sizeof(*a->tenant_ids));
	if (!a->meta || !a->tenant_ids) {
		tg_applied_free(a);
		return -ENOMEM;
	}
	err = assign_tenant_ids(m, cfg, a);
	if (!err)
		err = assign_class_ids(m, cfg, a);
	if (!err)
		err = sync_tries(m, cfg, a);
	return err;
}

void tg_applied_free(struct tg_applied *a)
{
	free(a->meta);
	free(a->tenant_ids);
	a->meta = NULL;
	a->tenant_ids = NULL;
}
