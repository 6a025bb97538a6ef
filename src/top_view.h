/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The pure parts of `tollgate top`: rates, rows, sorting and laying columns out in a
 * given width. No curses and no maps here, so the unit tests can drive them.
 */
#ifndef TG_TOP_VIEW_H
#define TG_TOP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum top_pane { TOP_TENANTS, TOP_FLOWS, TOP_PANES };

enum top_type {
	TOP_STR,   /* text, sorted ascending */
	TOP_RATE,  /* a rate (double), sorted descending */
	TOP_COUNT, /* a counter (uint64), sorted descending */
	TOP_PORT,  /* a port number (uint64), sorted ascending */
	TOP_PCT,   /* a share in percent (double, < 0: none), sorted descending */
};

#define TOP_MAX_COLS 10
#define TOP_STRS 5
#define TOP_STR_MAX 48

struct top_col {
	const char *label;
	enum top_type type;
	int idx;      /* into top_row.s (TOP_STR) or top_row.v / top_row.u (numbers) */
	int min, max; /* widths in human mode; min == max: fixed */
	int prio;     /* 0 = shown first; the highest are left out when space runs short */
};

struct top_row {
	char s[TOP_STRS][TOP_STR_MAX];
	double v[TOP_MAX_COLS];
	uint64_t u[TOP_MAX_COLS];
	bool flag[TOP_MAX_COLS]; /* TOP_PCT: the limit is exceeded (a '!' after the value) */
	uint32_t order;		 /* the final tie-break: stable across refreshes */
};

/* The columns of a pane, in display order. */
const struct top_col *tg_top_cols(enum top_pane pane, int *n);
/* The column a pane sorts by when it starts. */
int tg_top_default_sort(enum top_pane pane);

/* Indices into top_row for the tenants pane... */
enum { TT_NAME = 0 };
enum { TT_IN_BPS, TT_IN_PPS, TT_OUT_BPS, TT_OUT_PPS, TT_QUOTA };
enum { TT_IN_BYTES, TT_OUT_BYTES, TT_DROPS };
/* ...and the flows pane. */
enum { TF_TENANT = 0, TF_DIR, TF_PROTO, TF_SRC, TF_DST };
enum { TF_BPS, TF_PPS };
enum { TF_SPORT, TF_DPORT, TF_BYTES };

/* Per second, from two readings of a monotonic counter secs apart. A counter lower than
 * before was reset (recreated): what it holds now is what came since. 0 when secs <= 0. */
double tg_top_rate(uint64_t now, uint64_t then, double secs);

/* A number in at most 6 characters with an SI suffix: "0", "999", "1.23k", "45.6M". */
void tg_top_human(double v, char *buf, size_t len);

/* Widths of the columns that fit in width (0 = left out): columns are taken by priority
 * while their minimum widths and one space between them fit, then flexible columns grow
 * to their maximum, left to right. raw: exact numbers (wider numeric columns). Returns the
 * width of the line. */
int tg_top_layout(enum top_pane pane, int width, bool raw, int *widths);

/* Widths for plain text (--once): every column, as wide as its label with the sort mark
 * or its widest exact (raw) value. */
void tg_top_layout_fit(enum top_pane pane, const struct top_row *rows, size_t n, int *widths);

/* The header line: each shown column's label; the sort column's label ends in 'v'
 * (descending) or '^' (ascending). */
void tg_top_format_header(enum top_pane pane, const int *widths, int sort, bool reverse, char *buf,
			  size_t len);
/* One row in the same columns. */
void tg_top_format_row(enum top_pane pane, const int *widths, bool raw, const struct top_row *r,
		       char *buf, size_t len);

/* Is the sort by column col descending (numbers by default) after `reverse`? */
bool tg_top_descending(enum top_pane pane, int col, bool reverse);
void tg_top_sort(enum top_pane pane, struct top_row *rows, size_t n, int col, bool reverse);
/* The next (step 1) or previous (step -1) shown column after cur, wrapping around. */
int tg_top_sort_step(enum top_pane pane, const int *widths, int cur, int step);

#endif /* TG_TOP_VIEW_H */
