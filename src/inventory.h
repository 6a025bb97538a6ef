/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The runtime inventory (docs/runtime.md): per tenant, the binaries its processes
 * executed and the shared libraries they opened, with first and last sight. The agent
 * records what the kernel reports (TG_RT_F_INVENTORY events); `tollgate relevance` reads
 * it. Stored in SQLite at runtime.inventory_path (TG_DEFAULT_INVENTORY).
 */
#ifndef TG_INVENTORY_H
#define TG_INVENTORY_H

#include <stdint.h>

enum tg_inv_kind {
	TG_INV_EXEC = 1, /* a binary executed */
	TG_INV_LIB = 2,	 /* a shared library opened */
};

struct tg_inventory;

/* Opens (creating it, mode 0600, and its directory 0700) the inventory at path. */
int tg_inventory_open(const char *path, struct tg_inventory **out);
/* Records that tenant's processes used path (absolute; resolved by the caller where it
 * can be) at time_s (Unix seconds). Idempotent: a known pair only moves last sight. */
int tg_inventory_add(struct tg_inventory *inv, const char *tenant, const char *path,
		     enum tg_inv_kind kind, int64_t time_s);
/* Calls fn for every entry (of tenant, or all when tenant is NULL), in tenant and path
 * order; a non-zero return from fn stops the walk and is returned. */
typedef int (*tg_inventory_fn)(const char *tenant, const char *path, enum tg_inv_kind kind,
			       int64_t first_s, int64_t last_s, void *arg);
int tg_inventory_each(struct tg_inventory *inv, const char *tenant, tg_inventory_fn fn, void *arg);
void tg_inventory_close(struct tg_inventory *inv);

#endif /* TG_INVENTORY_H */
