// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The live dashboard's assets, compiled in: the Makefile turns the files of assets/dashboard/ into
 * build/dashboard_assets.h (tools/embed_assets.sh), a table of paths, content types and
 * bytes. The page at / loads /ui/app.js and /ui/style.css and reads the JSON API.
 */
#include <string.h>

#include "dashboard.h"
#include "dashboard_assets.h"

const struct tg_asset *tg_dashboard_asset(const char *path)
{
	size_t n;

	if (!path)
		return NULL;
	n = strcspn(path, "?#"); /* a query or fragment does not name another asset */
	for (size_t i = 0; i < sizeof(tg_assets) / sizeof(tg_assets[0]); i++)
		if (strlen(tg_assets[i].path) == n && !strncmp(tg_assets[i].path, path, n))
			return &tg_assets[i];
	return NULL;
}
