/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The pure parts of `tollgate top` (src/top_view.c): rates from two counter readings,
 * human numbers, sorting with the indicator, and laying columns out in a given width.
 * Expected values are worked out by hand from the definitions in src/top_view.h and
 * docs/top.md (column widths and priorities).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "top_view.h"

static void check_str(const char *got, const char *want, const char *what)
{
	if (!tap_check(!strcmp(got, want), "%s: '%s'", what, want))
		tap_diag("  got '%s'", got);
}

static void rates(void)
{
	/* bad input first: no interval, a counter that went backwards */
	tap_check(tg_top_rate(100, 0, 0) == 0, "rate: no interval gives 0");
	tap_check(tg_top_rate(100, 0, -1) == 0, "rate: a negative interval gives 0");
	tap_check(tg_top_rate(50, 1000, 2) == 25,
		  "rate: a counter lower than before was recreated: what it holds came since");
	tap_check(tg_top_rate(1000, 1000, 1) == 0, "rate: no change, 0");
	tap_check(tg_top_rate(3000, 1000, 2) == 1000, "rate: 2000 over 2 s is 1000/s");
	tap_check(tg_top_rate(UINT64_MAX, UINT64_MAX - 500, 0.5) == 1000,
		  "rate: near the top of the counter");
}

static void human(void)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ -5, "0" },	     { 0, "0" },	  { 0.25, "0.2" },    { 1, "1" },
		{ 2.5, "2.5" },	     { 10, "10" },	  { 999, "999" },     { 999.4, "999" },
		{ 999.5, "1.00k" },  { 1000, "1.00k" },	  { 1234, "1.23k" },  { 9994, "9.99k" },
		{ 9996, "10.0k" },   { 99949, "99.9k" },  { 99960, "100k" },  { 999499, "999k" },
		{ 999500, "1.00M" }, { 20.7e6, "20.7M" }, { 1.5e9, "1.50G" }, { 3e12, "3.00T" },
		{ 1e21, "1000E" },
	};
	char buf[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[64];

		tg_top_human(cases[i].v, buf, sizeof(buf));
		snprintf(what, sizeof(what), "human: %g", cases[i].v);
		check_str(buf, cases[i].want, what);
		tap_check(strlen(buf) <= 6, "human: %g fits 6 characters", cases[i].v);
	}
	tg_top_human(123456, buf, 4);
	tap_check(strlen(buf) == 3, "human: a short buffer is cut, terminated ('%s')", buf);
}

static void layout(void)
{
	int w[TOP_MAX_COLS], n, used;
	const struct top_col *cols = tg_top_cols(TOP_TENANTS, &n);

	tap_equal_u64(n, 9, "layout: the tenants pane has 9 columns");
	/* 80 columns: every tenant column fits at its minimum: 8+8*4+7+6+9+10 + 8 spaces */
	used = tg_top_layout(TOP_TENANTS, 80, false, w);
	tap_equal_u64(used, 80, "layout: tenants at 80 use the whole width");
	tap_equal_u64(w[0], 8, "layout: tenants at 80: the name column at its minimum");
	tap_check(w[7] == 9 && w[8] == 10, "layout: tenants at 80: both byte totals shown");
	/* 60: the byte totals (priority 5) go, then quota (4) stays: 8+32+7+6 + 6 = 59 */
	used = tg_top_layout(TOP_TENANTS, 60, false, w);
	tap_check(!w[7] && !w[8] && w[6] == 6 && w[5] == 7,
		  "layout: tenants at 60: totals left out, drops and quota kept");
	tap_equal_u64(used, 60, "layout: tenants at 60: the name takes the spare column");
	/* 20: the name and IN bps (8 + 9 = 17); OUT bps would need 9 more */
	used = tg_top_layout(TOP_TENANTS, 20, false, w);
	tap_check(w[0] && w[1] && !w[3] && !w[2], "layout: tenants at 20: name and IN bps only");
	tap_check(used <= 20, "layout: tenants at 20 fits (%d)", used);
	used = tg_top_layout(TOP_TENANTS, 3, false, w);
	tap_check(used == 0 && !w[0], "layout: 3 columns: nothing fits, nothing shown");
	/* a wide terminal: the name stops at its maximum */
	used = tg_top_layout(TOP_TENANTS, 200, false, w);
	tap_equal_u64(w[0], cols[0].max, "layout: tenants at 200: the name at its maximum");
	tap_equal_u64(used, 80 - 8 + cols[0].max, "layout: tenants at 200: no more than needed");

	/* flows at 80: SRC DST, bps, PROTO SPORT DPORT, TENANT DIR = 73; pps would make 82 */
	cols = tg_top_cols(TOP_FLOWS, &n);
	used = tg_top_layout(TOP_FLOWS, 80, false, w);
	tap_check(w[3] == 15 && w[5] == 15 && w[7] == 8 && w[2] && w[4] && w[6] && w[1],
		  "layout: flows at 80: addresses, ports, proto, dir, bps shown");
	tap_check(!w[8] && !w[9], "layout: flows at 80: pps and bytes left out");
	tap_equal_u64(w[0], 6 + 7, "layout: flows at 80: the tenant column takes the spare 7");
	tap_equal_u64(used, 80, "layout: flows at 80 use the whole width");
	for (int width = 0; width <= 300; width++) {
		int u1 = tg_top_layout(TOP_FLOWS, width, false, w);
		int u2 = tg_top_layout(TOP_TENANTS, width, true, w);

		if (u1 > width || u2 > width) {
			tap_check(0, "layout: width %d overflowed (%d, %d)", width, u1, u2);
			return;
		}
	}
	tap_check(1, "layout: no width from 0 to 300 is overflowed, human or raw");
}

static void fill(struct top_row *r, const char *name, double in_bps, uint64_t drops, uint32_t order)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->s[TT_NAME], sizeof(r->s[TT_NAME]), "%s", name);
	r->v[TT_IN_BPS] = in_bps;
	r->v[TT_QUOTA] = -1;
	r->u[TT_DROPS] = drops;
	r->order = order;
}

static void format_and_sort(void)
{
	struct top_row rows[4];
	char line[256];
	int w[TOP_MAX_COLS];

	fill(&rows[0], "acme", 20.7e6, 3, 1);
	fill(&rows[1], "globex", 0, 0, 2);
	fill(&rows[2], "a-very-long-tenant-name-indeed", 1500, 12, 3);
	fill(&rows[3], "beta", 1500, 0, 4);
	rows[1].v[TT_QUOTA] = 87.4;
	rows[3].v[TT_QUOTA] = 100;
	rows[3].flag[TT_QUOTA] = true;

	tg_top_layout(TOP_TENANTS, 80, false, w);
	tg_top_format_header(TOP_TENANTS, w, 1, false, line, sizeof(line));
	check_str(line,
		  "TENANT    IN bpsv   IN pps  OUT bps  OUT pps   DROPS  QUOTA  IN BYTES  OUT "
		  "BYTES",
		  "header at 80, sort IN bps descending");
	tap_check(strlen(line) <= 80, "header fits 80");
	tg_top_format_header(TOP_TENANTS, w, 1, true, line, sizeof(line));
	tap_check(strstr(line, "IN bps^") != NULL, "header: reversed, the mark is '^'");
	tg_top_format_header(TOP_TENANTS, w, 0, false, line, sizeof(line));
	tap_check(strstr(line, "TENANT^") == line, "header: names sort ascending: '^'");

	tg_top_format_row(TOP_TENANTS, w, false, &rows[0], line, sizeof(line));
	check_str(
		line,
		"acme        20.7M        0        0        0       3      -         0          0",
		"row at 80, human numbers");
	tg_top_format_row(TOP_TENANTS, w, false, &rows[2], line, sizeof(line));
	tap_check(!strncmp(line, "a-very-l ", 9), "row: a long name is cut to its column");
	tg_top_format_row(TOP_TENANTS, w, false, &rows[3], line, sizeof(line));
	tap_check(strstr(line, " 100%!") != NULL, "row: an exceeded quota ends in '!'");
	tg_top_format_row(TOP_TENANTS, w, true, &rows[0], line, sizeof(line));
	tap_check(strstr(line, " 20700000 ") != NULL, "row: raw numbers are exact (%s)", line);

	/* sorting: IN bps descending, ties by name, then by order */
	tg_top_sort(TOP_TENANTS, rows, 4, 1, false);
	check_str(rows[0].s[0], "acme", "sort IN bps desc: first");
	check_str(rows[1].s[0], "a-very-long-tenant-name-indeed", "sort IN bps desc: tie by name");
	check_str(rows[2].s[0], "beta", "sort IN bps desc: third");
	check_str(rows[3].s[0], "globex", "sort IN bps desc: last");
	tg_top_sort(TOP_TENANTS, rows, 4, 1, true);
	check_str(rows[0].s[0], "globex", "sort IN bps reversed: first");
	tg_top_sort(TOP_TENANTS, rows, 4, 0, false);
	check_str(rows[0].s[0], "a-very-long-tenant-name-indeed", "sort by name ascending: first");
	check_str(rows[3].s[0], "globex", "sort by name ascending: last");
	tg_top_sort(TOP_TENANTS, rows, 4, 6, false);
	check_str(rows[0].s[0], "beta", "sort by quota descending: the fullest first");
	check_str(rows[3].s[0], "acme", "sort by quota: no quota (-1) last; ties by name");
	tg_top_sort(TOP_TENANTS, rows, 4, 5, false);
	check_str(rows[0].s[0], "a-very-long-tenant-name-indeed", "sort by drops descending");
	tg_top_sort(TOP_TENANTS, rows, 4, 99, false); /* bad column: nothing changes */
	check_str(rows[0].s[0], "a-very-long-tenant-name-indeed", "sort: a bad column is ignored");

	/* --once widths: as wide as label + mark or the widest exact value */
	tg_top_layout_fit(TOP_TENANTS, rows, 4, w);
	tap_equal_u64(w[0], strlen("a-very-long-tenant-name-indeed"), "fit: the longest name");
	tap_equal_u64(w[1], strlen("20700000"), "fit: the widest exact rate");
	tap_equal_u64(w[5], strlen("DROPS") + 1, "fit: a label with room for the mark");

	/* the sort column steps over columns that are not shown, wrapping around */
	tg_top_layout(TOP_TENANTS, 60, false, w);
	tap_equal_u64(tg_top_sort_step(TOP_TENANTS, w, 1, 1), 2, "step: IN bps -> IN pps");
	tap_equal_u64(tg_top_sort_step(TOP_TENANTS, w, 6, 1), 0,
		      "step: QUOTA -> TENANT (the totals are not shown at 60)");
	tap_equal_u64(tg_top_sort_step(TOP_TENANTS, w, 0, -1), 6,
		      "step back: TENANT -> QUOTA (wraps, skips hidden)");
	memset(w, 0, sizeof(w));
	tap_equal_u64(tg_top_sort_step(TOP_TENANTS, w, 3, 1), 3, "step: nothing shown: stays");
	tap_check(tg_top_descending(TOP_FLOWS, 4, false) == false,
		  "ports sort ascending by default");
	tap_check(tg_top_descending(TOP_FLOWS, 7, false), "flow bps sorts descending by default");
}

int main(void)
{
	rates();
	human();
	layout();
	format_and_sort();
	return tap_done();
}
