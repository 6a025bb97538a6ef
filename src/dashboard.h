/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The live dashboard's assets (assets/dashboard/), compiled into the binary so that the
 * agent serves them itself and the page fetches nothing from outside (docs/api.md).
 */
#ifndef TG_DASHBOARD_H
#define TG_DASHBOARD_H

#include <stddef.h>

struct tg_asset {
	const char *path;	  /* as requested: "/", "/ui/app.js", ... */
	const char *content_type; /* "text/html; charset=utf-8", ... */
	const unsigned char *data;
	size_t len;
};

/* The asset served at path, or NULL when there is none. */
const struct tg_asset *tg_dashboard_asset(const char *path);

#endif /* TG_DASHBOARD_H */
