// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The pure parts of `tollgate top` (see top_view.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top_view.h"

/* clang-format off */
static const struct top_col tenant_cols[] = {
	{ "TENANT",    TOP_STR,   TT_NAME,      8, 24, 0 },
	{ "IN bps",    TOP_RATE,  TT_IN_BPS,    8, 8,  1 },
	{ "IN pps",    TOP_RATE,  TT_IN_PPS,    8, 8,  2 },
	{ "OUT bps",   TOP_RATE,  TT_OUT_BPS,   8, 8,  1 },
	{ "OUT pps",   TOP_RATE,  TT_OUT_PPS,   8, 8,  2 },
	{ "DROPS",     TOP_COUNT, TT_DROPS,     7, 7,  3 },
	{ "QUOTA",     TOP_PCT,   TT_QUOTA,     6, 6,  4 },
	{ "IN BYTES",  TOP_COUNT, TT_IN_BYTES,  9, 9,  5 },
	{ "OUT BYTES", TOP_COUNT, TT_OUT_BYTES, 10, 10, 5 },
};

static const struct top_col flow_cols[] = {
	{ "TENANT", TOP_STR,   TF_TENANT, 6, 16, 3 },
	{ "DIR",    TOP_STR,   TF_DIR,    4, 4,  3 },
	{ "PROTO",  TOP_STR,   TF_PROTO,  6, 6,  2 },
	{ "SRC",    TOP_STR,   TF_SRC,    15, 39, 0 },
	{ "SPORT",  TOP_PORT,  TF_SPORT,  6, 6,  2 },
	{ "DST",    TOP_STR,   TF_DST,    15, 39, 0 },
	{ "DPORT",  TOP_PORT,  TF_DPORT,  6, 6,  2 },
	{ "bps",    TOP_RATE,  TF_BPS,    8, 8,  1 },
	{ "pps",    TOP_RATE,  TF_PPS,    8, 8,  4 },
	{ "BYTES",  TOP_COUNT, TF_BYTES,  10, 10, 5 },
};
/* clang-format on */

#define N_TENANT_COLS ((int)(sizeof(tenant_cols) / sizeof(tenant_cols[0])))
#define N_FLOW_COLS ((int)(sizeof(flow_cols) / sizeof(flow_cols[0])))

const struct top_col *tg_top_cols(enum top_pane pane, int *n)
{
	*n = pane == TOP_TENANTS ? N_TENANT_COLS : N_FLOW_COLS;
	return pane == TOP_TENANTS ? tenant_cols : flow_cols;
}

int tg_top_default_sort(enum top_pane pane)
{
	return pane == TOP_TENANTS ? 1 /* IN bps */ : 7 /* bps */;
}

double tg_top_rate(uint64_t now, uint64_t then, double secs)
{
	if (secs <= 0)
		return 0;
	return (double)(now >= then ? now - then : now) / secs;
}

void tg_top_human(double v, char *buf, size_t len)
{
	static const char units[] = " kMGTPE";

	if (v < 0)
		v = 0;
	if (v < 999.5) {
		snprintf(buf, len, v > 0 && v < 9.95 && v != (int)v ? "%.1f" : "%.0f", v);
		return;
	}
	for (int u = 1; u < (int)sizeof(units) - 1; u++) {
		v /= 1000;
		if (v < 9.995)
			snprintf(buf, len, "%.2f%c", v, units[u]);
		else if (v < 99.95)
			snprintf(buf, len, "%.1f%c", v, units[u]);
		else if (v < 999.5 || u == (int)sizeof(units) - 2)
			snprintf(buf, len, "%.0f%c", v, units[u]);
		else
			continue;
		return;
	}
}

static void col_widths(const struct top_col *c, bool raw, int *min, int *max)
{
	*min = c->min;
	*max = c->max;
	if (raw && c->type == TOP_RATE)
		*min = *max = 14;
	else if (raw && c->type == TOP_COUNT)
		*min = *max = 20;
}

int tg_top_layout(enum top_pane pane, int width, bool raw, int *widths)
{
	int n, used = 0, maxprio = 0;
	const struct top_col *cols = tg_top_cols(pane, &n);

	for (int i = 0; i < n; i++) {
		widths[i] = 0;
		if (cols[i].prio > maxprio)
			maxprio = cols[i].prio;
	}
	for (int p = 0; p <= maxprio; p++) {
		for (int i = 0; i < n; i++) {
			int min, max, need;

			if (cols[i].prio != p)
				continue;
			col_widths(&cols[i], raw, &min, &max);
			need = min + (used ? 1 : 0);
			if (used + need > width)
				continue;
			widths[i] = min;
			used += need;
		}
	}
	for (int i = 0; i < n && used < width; i++) {
		int min, max, grow;

		col_widths(&cols[i], raw, &min, &max);
		if (!widths[i] || max <= widths[i])
			continue;
		grow = max - widths[i];
		if (grow > width - used)
			grow = width - used;
		widths[i] += grow;
		used += grow;
	}
	return used;
}

/* Appends text in a cell of width w (left or right aligned, cut to w) at *pos. */
static void put_cell(char *buf, size_t len, size_t *pos, const char *text, int w, bool right)
{
	int tl = (int)strlen(text);

	if (tl > w)
		tl = w;
	if (*pos && *pos + 1 < len)
		buf[(*pos)++] = ' ';
	for (int i = 0; i < w && *pos + 1 < len; i++) {
		int pad = right ? w - tl : 0;

		buf[(*pos)++] = i < pad || i >= pad + tl ? ' ' : text[i - pad];
	}
	buf[*pos] = '\0';
}

static void trim(char *buf, size_t pos)
{
	while (pos && buf[pos - 1] == ' ')
		buf[--pos] = '\0';
}

void tg_top_format_header(enum top_pane pane, const int *widths, int sort, bool reverse, char *buf,
			  size_t len)
{
	int n;
	const struct top_col *cols = tg_top_cols(pane, &n);
	size_t pos = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		char label[32];

		if (!widths[i])
			continue;
		snprintf(label, sizeof(label), "%s%s", cols[i].label,
			 i != sort			       ? ""
			 : tg_top_descending(pane, i, reverse) ? "v"
							       : "^");
		put_cell(buf, len, &pos, label, widths[i], cols[i].type != TOP_STR);
	}
	trim(buf, pos);
}

static void format_cell(const struct top_col *c, bool raw, const struct top_row *r, char *cell,
			size_t len)
{
	switch (c->type) {
	case TOP_STR:
		snprintf(cell, len, "%s", r->s[c->idx]);
		break;
	case TOP_RATE:
		if (raw)
			snprintf(cell, len, "%.0f", r->v[c->idx]);
		else
			tg_top_human(r->v[c->idx], cell, len);
		break;
	case TOP_COUNT:
		if (raw)
			snprintf(cell, len, "%llu", (unsigned long long)r->u[c->idx]);
		else
			tg_top_human((double)r->u[c->idx], cell, len);
		break;
	case TOP_PORT:
		snprintf(cell, len, "%llu", (unsigned long long)r->u[c->idx]);
		break;
	case TOP_PCT:
		if (r->v[c->idx] < 0)
			snprintf(cell, len, "-");
		else
			snprintf(cell, len, "%.0f%%%s", r->v[c->idx], r->flag[c->idx] ? "!" : "");
		break;
	}
}

void tg_top_layout_fit(enum top_pane pane, const struct top_row *rows, size_t n, int *widths)
{
	int ncols;
	const struct top_col *cols = tg_top_cols(pane, &ncols);

	for (int i = 0; i < ncols; i++) {
		widths[i] = (int)strlen(cols[i].label) + 1;
		for (size_t k = 0; k < n; k++) {
			char cell[64];
			int w;

			format_cell(&cols[i], true, &rows[k], cell, sizeof(cell));
			w = (int)strlen(cell);
			if (w > widths[i])
				widths[i] = w;
		}
	}
}

void tg_top_format_row(enum top_pane pane, const int *widths, bool raw, const struct top_row *r,
		       char *buf, size_t len)
{
	int n;
	const struct top_col *cols = tg_top_cols(pane, &n);
	size_t pos = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		char cell[64];

		if (!widths[i])
			continue;
		format_cell(&cols[i], raw, r, cell, sizeof(cell));
		put_cell(buf, len, &pos, cell, widths[i], cols[i].type != TOP_STR);
	}
	trim(buf, pos);
}

bool tg_top_descending(enum top_pane pane, int col, bool reverse)
{
	int n;
	const struct top_col *cols = tg_top_cols(pane, &n);
	bool desc = col >= 0 && col < n && cols[col].type != TOP_STR && cols[col].type != TOP_PORT;

	return reverse ? !desc : desc;
}

struct sort_ctx {
	const struct top_col *col;
	bool desc;
};

static int cmp_num(double a, double b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_row(const void *x, const void *y, void *arg)
{
	const struct top_row *a = x, *b = y;
	const struct sort_ctx *ctx = arg;
	int idx = ctx->col->idx, r;

	switch (ctx->col->type) {
	case TOP_STR:
		r = strcmp(a->s[idx], b->s[idx]);
		break;
	case TOP_RATE:
	case TOP_PCT:
		r = cmp_num(a->v[idx], b->v[idx]);
		break;
	default:
		r = a->u[idx] < b->u[idx] ? -1 : a->u[idx] > b->u[idx];
		break;
	}
	if (ctx->desc)
		r = -r;
	if (!r)
		r = strcmp(a->s[0], b->s[0]);
	if (!r)
		r = a->order < b->order ? -1 : a->order > b->order;
	return r;
}

void tg_top_sort(enum top_pane pane, struct top_row *rows, size_t n, int col, bool reverse)
{
	int ncols;
	const struct top_col *cols = tg_top_cols(pane, &ncols);
	struct sort_ctx ctx;

	if (col < 0 || col >= ncols || n < 2)
		return;
	ctx.col = &cols[col];
	ctx.desc = tg_top_descending(pane, col, reverse);
	qsort_r(rows, n, sizeof(*rows), cmp_row, &ctx);
}

int tg_top_sort_step(enum top_pane pane, const int *widths, int cur, int step)
{
	int n;

	tg_top_cols(pane, &n);
	for (int k = 1; k <= n; k++) {
		int i = ((cur + step * k) % n + n) % n;

		if (widths[i])
			return i;
	}
	return cur;
}
