// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate top [-c FILE] [-i SECONDS] [-n FLOWS] [--once]`: a live terminal view of the
 * tenants and the busiest flows, read straight from the pinned maps as `tollgate tenants`
 * and `tollgate flows` read them. Rates are measured over the time between two reads.
 * Works in a plain 80x24 terminal over ssh; colours only when the terminal has them.
 * Quits on q, SIGINT, SIGTERM and SIGHUP, always giving the terminal back (endwin).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>

#include "cli.h"
#include "datapath.h"
#include "flows.h"
#include "tenant_state.h"
#include "top_view.h"

#define LINE_MAX_W 1024

struct sampler {
	struct tg_maps m;
	const char *pin_path;
	struct tg_tenant_meta *meta;
	struct tg_tenant_stats *prev, *cur;
	struct tg_tenant_iso *iso;
	struct tg_flow_entry *fprev;
	size_t nfprev;
	uint32_t prev_top;
	struct timespec tprev;
	bool have_prev;
	size_t max_flows;
	/* the last sample */
	double secs; /* 0: no rates yet */
	struct top_row *rows[TOP_PANES];
	size_t nrows[TOP_PANES];
	size_t flows_live;
};

struct flow_rate {
	size_t i;
	double bps, pps;
};

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

static int cmp_flow_rate(const void *x, const void *y)
{
	const struct flow_rate *a = x, *b = y;

	if (a->bps != b->bps)
		return a->bps < b->bps ? 1 : -1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static int sampler_open(struct sampler *s, const char *pin_path, size_t max_flows)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->pin_path = pin_path;
	s->max_flows = max_flows;
	err = tg_maps_open_pinned(pin_path, &s->m);
	if (err)
		return err;
	s->meta = calloc(TG_MAX_TENANTS, sizeof(*s->meta));
	s->prev = calloc(TG_MAX_TENANTS, sizeof(*s->prev));
	s->cur = calloc(TG_MAX_TENANTS, sizeof(*s->cur));
	s->iso = calloc(TG_MAX_TENANTS, sizeof(*s->iso));
	s->rows[TOP_TENANTS] = calloc(TG_MAX_TENANTS, sizeof(struct top_row));
	s->rows[TOP_FLOWS] = calloc(max_flows ? max_flows : 1, sizeof(struct top_row));
	if (!s->meta || !s->prev || !s->cur || !s->iso || !s->rows[0] || !s->rows[1])
		return -ENOMEM;
	return 0;
}

static void sampler_close(struct sampler *s)
{
	free(s->meta);
	free(s->prev);
	free(s->cur);
	free(s->iso);
	free(s->fprev);
	free(s->rows[0]);
	free(s->rows[1]);
	tg_maps_close(&s->m);
}

static void tenant_rows(struct sampler *s, uint32_t top)
{
	size_t n = 0;

	for (uint32_t id = 1; id < top; id++) {
		const struct tg_counter *in = &s->cur[id].dir[TG_DIR_INGRESS];
		const struct tg_counter *out = &s->cur[id].dir[TG_DIR_EGRESS];
		const struct tg_counter *pin = &s->prev[id].dir[TG_DIR_INGRESS];
		const struct tg_counter *pout = &s->prev[id].dir[TG_DIR_EGRESS];
		const struct tg_tenant_iso *iso = &s->iso[id];
		/* a tenant that appeared since the last read has no rate yet */
		double secs = id < s->prev_top ? s->secs : 0;
		struct top_row *r = &s->rows[TOP_TENANTS][n];
		uint64_t drops = 0;

		if (!(s->meta[id].flags & TG_TENANT_IN_USE))
			continue;
		memset(r, 0, sizeof(*r));
		snprintf(r->s[TT_NAME], sizeof(r->s[TT_NAME]), "%s", s->meta[id].name);
		r->v[TT_IN_BPS] = tg_top_rate(in->bytes, pin->bytes, secs) * 8;
		r->v[TT_IN_PPS] = tg_top_rate(in->packets, pin->packets, secs);
		r->v[TT_OUT_BPS] = tg_top_rate(out->bytes, pout->bytes, secs) * 8;
		r->v[TT_OUT_PPS] = tg_top_rate(out->packets, pout->packets, secs);
		r->u[TT_IN_BYTES] = in->bytes;
		r->u[TT_OUT_BYTES] = out->bytes;
		for (int k = 1; k < TG_REASON_SLOTS; k++)
			drops += iso->drops[k].packets;
		r->u[TT_DROPS] = drops;
		r->v[TT_QUOTA] = -1;
		if (iso->pol.quota_bytes) {
			r->v[TT_QUOTA] = 100.0 * iso->quota.used / iso->pol.quota_bytes;
			r->flag[TT_QUOTA] = iso->quota.exceeded;
		}
		r->order = id;
		n++;
	}
	s->nrows[TOP_TENANTS] = n;
}

static int flow_rows(struct sampler *s, struct tg_flow_entry *f, size_t nf)
{
	struct flow_rate *fr = calloc(nf ? nf : 1, sizeof(*fr));
	size_t n;

	if (!fr)
		return -ENOMEM;
	for (size_t i = 0; i < nf; i++) {
		uint64_t db = 0, dp = 0;

		fr[i].i = i;
		if (s->secs > 0) {
			tg_flow_delta(&f[i], s->fprev, s->nfprev, &db, &dp);
			fr[i].bps = db * 8.0 / s->secs;
			fr[i].pps = dp / s->secs;
		} else {
			fr[i].bps = 0; /* no rate yet: the busiest by bytes below */
		}
	}
	qsort(fr, nf, sizeof(*fr), cmp_flow_rate);
	if (s->secs <= 0) { /* order by bytes instead */
		for (size_t i = 0; i < nf; i++)
			fr[i].bps = (double)f[fr[i].i].val.bytes;
		qsort(fr, nf, sizeof(*fr), cmp_flow_rate);
		for (size_t i = 0; i < nf; i++)
			fr[i].bps = 0;
	}
	n = nf < s->max_flows ? nf : s->max_flows;
	for (size_t j = 0; j < n; j++) {
		const struct tg_flow_entry *e = &f[fr[j].i];
		const struct tg_flow_key *k = &e->key;
		struct top_row *r = &s->rows[TOP_FLOWS][j];
		uint32_t t = k->tenant_id < TG_MAX_TENANTS ? k->tenant_id : 0;
		char pb[8];

		memset(r, 0, sizeof(*r));
		snprintf(r->s[TF_TENANT], sizeof(r->s[TF_TENANT]), "%s",
			 t && s->meta[t].name[0] ? s->meta[t].name : "-");
		snprintf(r->s[TF_DIR], sizeof(r->s[TF_DIR]), "%s",
			 k->dir == TG_DIR_INGRESS ? "in" : "out");
		snprintf(r->s[TF_PROTO], sizeof(r->s[TF_PROTO]), "%s",
			 tg_proto_name(k->proto, pb, sizeof(pb)));
		tg_flow_addr(k, false, r->s[TF_SRC], sizeof(r->s[TF_SRC]));
		tg_flow_addr(k, true, r->s[TF_DST], sizeof(r->s[TF_DST]));
		r->u[TF_SPORT] = ntohs(k->sport);
		r->u[TF_DPORT] = ntohs(k->dport);
		r->u[TF_BYTES] = e->val.bytes;
		r->v[TF_BPS] = fr[j].bps;
		r->v[TF_PPS] = fr[j].pps;
		r->order = (uint32_t)j;
	}
	s->nrows[TOP_FLOWS] = n;
	s->flows_live = nf;
	free(fr);
	return 0;
}

/* One read of the maps; rates against the read before. */
static int sample(struct sampler *s)
{
	struct tg_flow_entry *f = NULL;
	struct tg_tenant_stats *t;
	struct timespec now;
	uint32_t top;
	size_t nf = 0;
	int err;

	err = tg_maps_read_meta(&s->m, s->meta);
	if (err)
		return err;
	top = tg_meta_top(s->meta);
	err = tg_tenant_totals_read(&s->m, s->cur, top);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!err)
		err = tg_tenant_iso_read(&s->m, s->meta, s->iso, top);
	if (!err)
		err = tg_flows_read(s->m.flows, TG_FLOW_READ_AUTO, &f, &nf);
	if (err) {
		free(f);
		return err;
	}
	s->secs = s->have_prev ? elapsed(&s->tprev, &now) : 0;
	tenant_rows(s, top);
	err = flow_rows(s, f, nf);
	if (err) {
		free(f);
		return err;
	}
	/* this read becomes the base of the next rates */
	t = s->prev;
	s->prev = s->cur;
	s->cur = t;
	s->prev_top = top;
	free(s->fprev);
	tg_flows_sort_by_key(f, nf);
	s->fprev = f;
	s->nfprev = nf;
	s->tprev = now;
	s->have_prev = true;
	return 0;
}

static void sleep_secs(double secs)
{
	struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void print_pane(const struct sampler *s, enum top_pane pane, int sort)
{
	static char line[LINE_MAX_W];
	int widths[TOP_MAX_COLS];

	tg_top_layout_fit(pane, s->rows[pane], s->nrows[pane], widths);
	tg_top_format_header(pane, widths, sort, false, line, sizeof(line));
	printf("%s\n", line);
	for (size_t i = 0; i < s->nrows[pane]; i++) {
		tg_top_format_row(pane, widths, true, &s->rows[pane][i], line, sizeof(line));
		printf("%s\n", line);
	}
}

static int run_once(struct sampler *s, double secs)
{
	int err = sample(s);

	if (!err && secs > 0) {
		sleep_secs(secs);
		err = sample(s);
	}
	if (err)
		return err;
	for (int p = 0; p < TOP_PANES; p++)
		tg_top_sort((enum top_pane)p, s->rows[p], s->nrows[p], tg_top_default_sort(p),
			    false);
	printf("tenants: %zu, rates over %.3f s\n", s->nrows[TOP_TENANTS], s->secs);
	print_pane(s, TOP_TENANTS, tg_top_default_sort(TOP_TENANTS));
	printf("\nflows: %zu busiest of %zu\n", s->nrows[TOP_FLOWS], s->flows_live);
	print_pane(s, TOP_FLOWS, tg_top_default_sort(TOP_FLOWS));
	return 0;
}

/* The interactive view. */

static volatile sig_atomic_t quit_signal;

static void on_signal(int sig)
{
	quit_signal = sig;
}

struct view {
	struct sampler *s;
	double interval;
	int sort[TOP_PANES];
	bool reverse[TOP_PANES];
	int scroll[TOP_PANES];
	int widths[TOP_PANES][TOP_MAX_COLS];
	enum top_pane focus;
	bool paused, help, colors;
	int page; /* rows of the focused pane on screen */
	char clock[16];
};

static void end_curses(void)
{
	if (!isendwin())
		endwin();
}

static void put_line(int y, const char *text, attr_t attr)
{
	attron(attr);
	mvaddnstr(y, 0, text, COLS);
	clrtoeol();
	attroff(attr);
}

static int draw_pane(struct view *v, enum top_pane pane, int y, int rows)
{
	static char line[LINE_MAX_W];
	struct sampler *s = v->s;
	int n = (int)s->nrows[pane];
	int width = COLS < LINE_MAX_W ? COLS : LINE_MAX_W - 1;
	attr_t head = v->colors ? COLOR_PAIR(1) : A_REVERSE;

	if (pane == TOP_TENANTS)
		snprintf(line, sizeof(line), "%s TENANTS  %d", v->focus == pane ? ">" : " ", n);
	else
		snprintf(line, sizeof(line), "%s TOP FLOWS  %d busiest of %zu",
			 v->focus == pane ? ">" : " ", n, s->flows_live);
	put_line(y++, line, v->focus == pane ? A_BOLD : A_NORMAL);
	tg_top_layout(pane, width, false, v->widths[pane]);
	tg_top_format_header(pane, v->widths[pane], v->sort[pane], v->reverse[pane], line,
			     sizeof(line));
	attron(head);
	mvaddnstr(y, 0, line, COLS);
	for (int x = (int)strlen(line); x < COLS; x++)
		addch(' ');
	attroff(head);
	y++;
	if (v->scroll[pane] > n - rows)
		v->scroll[pane] = n - rows;
	if (v->scroll[pane] < 0)
		v->scroll[pane] = 0;
	for (int i = 0; i < rows; i++) {
		int k = v->scroll[pane] + i;

		if (k < n)
			tg_top_format_row(pane, v->widths[pane], false, &s->rows[pane][k], line,
					  sizeof(line));
		else
			line[0] = '\0';
		put_line(y++, line, A_NORMAL);
	}
	if (v->focus == pane)
		v->page = rows;
	return y;
}

static void draw_help(void)
{
	static const char *const lines[] = {
		"tollgate top: keys",
		"",
		"  q          quit",
		"  s  >       sort by the next column",
		"  <          sort by the previous column",
		"  r          reverse the sort",
		"  t  Tab     switch pane (tenants, flows)",
		"  p  space   pause / resume",
		"  Up Down    scroll; PgUp PgDn Home",
		"  Ctrl-L     redraw",
		"  ?  h       this help (any key closes it)",
		"",
		"bps: bits/s, pps: packets/s, over the refresh interval",
		"v / ^ after a label: the sort column, descending / ascending",
	};
	int n = (int)(sizeof(lines) / sizeof(lines[0])), w = 58;
	int y0 = (LINES - n - 2) / 2, x0 = (COLS - w) / 2;

	if (y0 < 0)
		y0 = 0;
	if (x0 < 0)
		x0 = 0;
	for (int i = -1; i <= n; i++) {
		move(y0 + 1 + i, x0);
		for (int x = 0; x < w && x0 + x < COLS; x++)
			addch(i < 0 || i == n ? '-' : ' ');
		if (i >= 0 && i < n)
			mvaddnstr(y0 + 1 + i, x0 + 2, lines[i],
				  COLS - x0 - 2 > 0 ? COLS - x0 - 2 : 0);
	}
}

static void draw(struct view *v)
{
	static char line[LINE_MAX_W];
	int n, avail, tn, fn, y;
	const struct top_col *cols;

	erase();
	if (LINES < 10 || COLS < 40) {
		mvaddnstr(0, 0, "tollgate top: the terminal is too small (40x10 at least)", COLS);
		refresh();
		return;
	}
	snprintf(line, sizeof(line), "tollgate top  %s  every %gs  %s%s", v->s->pin_path,
		 v->interval, v->clock, v->paused ? "  [paused]" : "");
	put_line(0, line, A_BOLD);
	/* title, 2 pane titles, 2 headers, a blank line, the status line */
	avail = LINES - 7;
	n = (int)v->s->nrows[TOP_TENANTS];
	tn = avail -
	     ((int)v->s->nrows[TOP_FLOWS] < avail / 2 ? (int)v->s->nrows[TOP_FLOWS] : avail / 2);
	if (tn > n)
		tn = n;
	if (tn < 1)
		tn = 1;
	fn = avail - tn;
	y = draw_pane(v, TOP_TENANTS, 1, tn);
	y = draw_pane(v, TOP_FLOWS, y + 1, fn);
	cols = tg_top_cols(v->focus, &n);
	snprintf(line, sizeof(line),
		 "sort: %s %s | q quit  s<> sort  r rev  t pane  p pause  ? help",
		 cols[v->sort[v->focus]].label,
		 tg_top_descending(v->focus, v->sort[v->focus], v->reverse[v->focus])
			 ? "(descending)"
			 : "(ascending)");
	put_line(LINES - 1, line, A_NORMAL);
	if (v->help)
		draw_help();
	refresh();
}

static void resort(struct view *v)
{
	for (int p = 0; p < TOP_PANES; p++)
		tg_top_sort((enum top_pane)p, v->s->rows[p], v->s->nrows[p], v->sort[p],
			    v->reverse[p]);
}

/* Returns false to quit. */
static bool key(struct view *v, int ch)
{
	enum top_pane f = v->focus;

	if (v->help && ch != KEY_RESIZE) {
		v->help = false;
		return ch != 'q' && ch != 'Q';
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case 's':
	case '>':
	case '.':
		v->sort[f] = tg_top_sort_step(f, v->widths[f], v->sort[f], 1);
		resort(v);
		break;
	case '<':
	case ',':
		v->sort[f] = tg_top_sort_step(f, v->widths[f], v->sort[f], -1);
		resort(v);
		break;
	case 'r':
		v->reverse[f] = !v->reverse[f];
		resort(v);
		break;
	case 't':
	case '\t':
		v->focus = f == TOP_TENANTS ? TOP_FLOWS : TOP_TENANTS;
		break;
	case 'p':
	case ' ':
		v->paused = !v->paused;
		break;
	case '?':
	case 'h':
		v->help = true;
		break;
	case KEY_UP:
		v->scroll[f]--;
		break;
	case KEY_DOWN:
		v->scroll[f]++;
		break;
	case KEY_PPAGE:
		v->scroll[f] -= v->page > 1 ? v->page - 1 : 1;
		break;
	case KEY_NPAGE:
		v->scroll[f] += v->page > 1 ? v->page - 1 : 1;
		break;
	case KEY_HOME:
		v->scroll[f] = 0;
		break;
	case 12: /* Ctrl-L */
		clearok(curscr, TRUE);
		break;
	default:
		break;
	}
	return true;
}

static void stamp_clock(struct view *v)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(v->clock, sizeof(v->clock), "%H:%M:%S", &tm);
}

/* 0 on q, 128 + the signal on a signal, -errno when the maps cannot be read. */
static int run_live(struct sampler *s, double interval)
{
	struct view v = { .s = s, .interval = interval };
	struct timespec next, now;
	char pin[512];
	int err = 0;

	for (int p = 0; p < TOP_PANES; p++)
		v.sort[p] = tg_top_default_sort((enum top_pane)p);
	snprintf(pin, sizeof(pin), "%s/tg_tenant_meta", s->pin_path);
	err = sample(s);
	if (err)
		return err;
	if (!initscr()) {
		fprintf(stderr, "tollgate: cannot start the terminal view (TERM=%s)\n",
			getenv("TERM") ? getenv("TERM") : "");
		return -ENOTTY;
	}
	atexit(end_curses);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(100);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_BLACK, COLOR_CYAN);
		v.colors = true;
	}
	stamp_clock(&v);
	resort(&v);
	draw(&v);
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!quit_signal) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		int ch = getch();
		bool dirty = false;

		/* the terminal hung up without a SIGHUP reaching us (ignored by a parent,
		 * another process group): end as if it had, rather than spin on EIO */
		if (ch == ERR && poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR))) {
			quit_signal = SIGHUP;
			break;
		}
		if (ch != ERR) {
			if (!key(&v, ch))
				break;
			dirty = true;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (elapsed(&next, &now) >= interval) {
			next = now;
			if (access(pin, F_OK)) {
				err = -ENOENT; /* the datapath was removed under us */
				break;
			}
			if (!v.paused) {
				err = sample(s);
				if (err)
					break;
				stamp_clock(&v);
				resort(&v);
				dirty = true;
			}
		}
		if (dirty && !quit_signal)
			draw(&v);
	}
	end_curses();
	if (err)
		return err;
	return quit_signal ? 128 + quit_signal : 0;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "interval", required_argument, NULL, 'i' },
					      { "flows", required_argument, NULL, 'n' },
					      { "once", no_argument, NULL, 'o' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *usage =
		"usage: tollgate top [-c FILE] [-i SECONDS] [-n FLOWS] [--once]\n"
		"  -i, --interval SECONDS  refresh and rate interval (default 1, 0.1..3600)\n"
		"  -n, --flows N           busiest flows kept (default 100, 1..10000)\n"
		"  --once                  print one snapshot as plain text and exit\n"
		"keys: q quit, s < > sort column, r reverse, t pane, p pause, ? help\n";
	const char *file = NULL;
	unsigned long max_flows = 100;
	double interval = 1;
	bool once = false;
	struct sigaction sa = { .sa_handler = on_signal };
	struct sampler s;
	struct tg_paths p;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:i:n:h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || !*optarg || !(interval >= 0.1 && interval <= 3600)) {
				fprintf(stderr,
					"tollgate: bad --interval '%s': seconds, 0.1..3600\n",
					optarg);
				return 2;
			}
			break;
		case 'n':
			errno = 0;
			max_flows = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-' || max_flows < 1 ||
			    max_flows > 10000) {
				fprintf(stderr, "tollgate: bad --flows '%s': a count, 1..10000\n",
					optarg);
				return 2;
			}
			break;
		case 'o':
			once = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (!once && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "tollgate: top needs a terminal on stdin and stdout; "
				"for a plain-text snapshot use `tollgate top --once`\n");
		return 1;
	}
	if (tg_cli_paths(file, &p))
		return 1;
	tg_libbpf_quiet();
	err = sampler_open(&s, p.pin_path, max_flows);
	if (err == -EACCES || err == -EPERM) {
		fprintf(stderr,
			"tollgate: cannot open the datapath under %s (%s): "
			"tollgate top reads the BPF maps and needs root\n",
			p.pin_path, strerror(-err));
		sampler_close(&s);
		return 1;
	} else if (err == -ENOENT) {
		fprintf(stderr, "tollgate: no datapath under %s: is the agent started?\n",
			p.pin_path);
		sampler_close(&s);
		return 1;
	} else if (err) {
		fprintf(stderr, "tollgate: cannot open the datapath under %s: %s\n", p.pin_path,
			strerror(-err));
		sampler_close(&s);
		return 1;
	}
	if (once) {
		err = run_once(&s, interval);
	} else {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		err = run_live(&s, interval);
	}
	sampler_close(&s);
	if (err == -ENOENT) {
		fprintf(stderr, "tollgate: the datapath under %s is gone (was the agent purged?)\n",
			p.pin_path);
		return 1;
	}
	if (err == -ENOTTY)
		return 1;
	if (err < 0) {
		fprintf(stderr, "tollgate: cannot read the maps: %s\n", strerror(-err));
		return 1;
	}
	return err;
}
