// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate events [--follow] [--type T] [--tenant T] [--json] [-c FILE] [--file PATH]`:
 * the events file the agent writes (outputs.events), as a table or as its raw JSON
 * lines, optionally filtered; --follow keeps reading what is appended, across
 * truncation (copytruncate) and rotation by rename. Only whole lines are shown: a line
 * the agent is still writing waits until its newline is there.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "events.h"

#define CHUNK 65536
#define LINE_LIMIT (1 << 20) /* longer "lines" are not events: skipped */
#define FOLLOW_SLEEP_NS 200000000L

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct reader {
	const char *path;
	int fd;
	dev_t dev;
	ino_t ino;
	off_t offset; /* bytes read from fd */
	char *buf;    /* a line not yet complete */
	size_t len, cap;
	bool skipping; /* inside an over-long line: dropped up to its newline */
	/* output */
	const char *type, *tenant;
	bool json;
	unsigned long shown, malformed;
};

static bool keep(const struct reader *r, const struct tg_evline *l)
{
	const char *v;

	if (r->type) {
		v = tg_evline_get(l, "type");
		if (!v || strcmp(v, r->type)) {
			v = tg_evline_get(l, "reason");
			if (!v || strcmp(v, r->type))
				return false;
		}
	}
	if (r->tenant) {
		v = tg_evline_get(l, "tenant");
		if (!v || strcmp(v, r->tenant))
			return false;
	}
	return true;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* address:port, IPv6 in brackets */
static void endpoint(char *out, size_t len, const char *addr, const char *port)
{
	if (!addr)
		snprintf(out, len, "?");
	else if (strchr(addr, ':'))
		snprintf(out, len, "[%s]:%s", addr, port ? port : "?");
	else
		snprintf(out, len, "%s:%s", addr, port ? port : "?");
}

static bool is_shown_key(const char *k)
{
	static const char *const keys[] = { "time",   "type",	   "tenant", "reason", "count",
					    "action", "direction", "src",    "dst",    "sport",
					    "dport",  "proto",	   "pid",    "uid",    "comm" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strcmp(k, keys[i]))
			return true;
	}
	return false;
}

static void print_row(const struct tg_evline *l)
{
	const char *src = tg_evline_get(l, "src"), *pid = tg_evline_get(l, "pid");
	const char *proto = tg_evline_get(l, "proto");
	char details[1024] = "", a[128], b[128];
	size_t o = 0;

#define ADD(...)                                                                      \
	do {                                                                          \
		if (o < sizeof(details))                                              \
			o += snprintf(details + o, sizeof(details) - o, __VA_ARGS__); \
	} while (0)
	if (tg_evline_get(l, "action"))
		ADD("%s ", tg_evline_get(l, "action"));
	if (tg_evline_get(l, "direction"))
		ADD("%s ", tg_evline_get(l, "direction"));
	if (src && proto && (!strcmp(proto, "icmp") || !strcmp(proto, "icmpv6"))) {
		/* ICMP: the ports are the message's type and code */
		ADD("%s -> %s %s type %s code %s ", src, or_dash(tg_evline_get(l, "dst")), proto,
		    or_dash(tg_evline_get(l, "sport")), or_dash(tg_evline_get(l, "dport")));
	} else if (src) {
		endpoint(a, sizeof(a), src, tg_evline_get(l, "sport"));
		endpoint(b, sizeof(b), tg_evline_get(l, "dst"), tg_evline_get(l, "dport"));
		ADD("%s -> %s %s ", a, b, or_dash(proto));
	}
	if (pid)
		ADD("pid %s (%s) uid %s ", pid, or_dash(tg_evline_get(l, "comm")),
		    or_dash(tg_evline_get(l, "uid")));
	for (size_t i = 0; i < l->n; i++) {
		if (!is_shown_key(l->f[i].key))
			ADD("%s=%s ", l->f[i].key, l->f[i].val);
	}
#undef ADD
	o = strlen(details);
	while (o && details[o - 1] == ' ')
		details[--o] = '\0';
	printf("%-24s %-14s %-16s %-14s %6s  %s\n", or_dash(tg_evline_get(l, "time")),
	       or_dash(tg_evline_get(l, "type")), or_dash(tg_evline_get(l, "tenant")),
	       or_dash(tg_evline_get(l, "reason")), or_dash(tg_evline_get(l, "count")),
	       or_dash(details));
}

static void line(struct reader *r, const char *s, size_t len)
{
	struct tg_evline l;

	if (!len)
		return;
	if (tg_evline_parse(s, len, &l)) {
		r->malformed++;
		return;
	}
	if (!keep(r, &l))
		return;
	if (r->json)
		printf("%.*s\n", (int)len, s);
	else
		print_row(&l);
	r->shown++;
}

/* Splits data into lines; the unfinished end waits in r->buf. */
static int feed(struct reader *r, const char *data, size_t n)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;

		if (r->skipping) {
			r->skipping = !nl;
		} else if (r->len + take > LINE_LIMIT) {
			r->malformed++;
			r->len = 0;
			r->skipping = !nl;
		} else if (nl && !r->len) {
			line(r, data, take); /* the common case: no copy */
		} else {
			if (r->len + take > r->cap) {
				size_t cap = r->cap ? r->cap : CHUNK;
				char *p;

				while (cap < r->len + take)
					cap *= 2;
				p = realloc(r->buf, cap);
				if (!p)
					return -ENOMEM;
				r->buf = p;
				r->cap = cap;
			}
			memcpy(r->buf + r->len, data, take);
			r->len += take;
			if (nl) {
				line(r, r->buf, r->len);
				r->len = 0;
			}
		}
		if (!nl)
			break;
		data = nl + 1;
		n -= take + 1;
	}
	return 0;
}

static int open_file(struct reader *r)
{
	struct stat st;
	int fd = open(r->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->offset = 0;
	r->len = 0;
	r->skipping = false;
	return 0;
}

/* Reads what is there now. Returns 0 at the end of the data, or a negative errno. */
static int read_all(struct reader *r)
{
	char chunk[CHUNK];
	ssize_t n;
	int err;

	for (;;) {
		n = read(r->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR) {
			if (stop)
				return 0;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r->offset += n;
		err = feed(r, chunk, n);
		if (err)
			return err;
	}
}

/* --follow: keeps reading; a truncated file is read again from its start, a file
 * renamed away is finished and the new one at the path opened. */
static int follow(struct reader *r)
{
	struct timespec ts = { 0, FOLLOW_SLEEP_NS };
	struct stat st;
	int err;

	while (!stop) {
		fflush(stdout);
		nanosleep(&ts, NULL);
		if (stop)
			break;
		if (!fstat(r->fd, &st) && st.st_size < r->offset) {
			/* truncated (copytruncate): what it holds now is new */
			if (lseek(r->fd, 0, SEEK_SET) < 0)
				return -errno;
			r->offset = 0;
			r->len = 0;
			r->skipping = false;
		}
		err = read_all(r);
		if (err)
			return err;
		if (!stat(r->path, &st) && (st.st_dev != r->dev || st.st_ino != r->ino)) {
			/* rotated: the old file is read to its end; the new one from its start */
			if (r->len)
				r->malformed++; /* an unfinished last line in the old file */
			err = open_file(r);
			if (err && err != -ENOENT)
				return err;
			if (!err)
				err = read_all(r);
			if (err && err != -ENOENT)
				return err;
		}
	}
	return 0;
}

/* The events path: --file, else outputs.events of the configuration (-c FILE, or the
 * default configuration when it exists), else the default. */
static int events_path(const char *file, char *out, size_t len)
{
	struct tg_config cfg = {};
	struct tg_diags d = {};
	int err;

	if (!file) {
		if (access(TG_DEFAULT_CONFIG, F_OK)) {
			snprintf(out, len, "%s", TG_DEFAULT_EVENTS);
			return 0;
		}
		file = TG_DEFAULT_CONFIG;
	}
	err = tg_config_load(file, &cfg, &d);
	if (err) {
		if (err == -EINVAL)
			tg_diags_print(&d, file, stderr);
		else
			fprintf(stderr, "tollgate: cannot read %s: %s\n", file, strerror(-err));
		tg_diags_free(&d);
		return err;
	}
	snprintf(out, len, "%s", cfg.events_path ? cfg.events_path : TG_DEFAULT_EVENTS);
	tg_config_free(&cfg);
	tg_diags_free(&d);
	return 0;
}

/* A --type value: a type or reason name (docs/events.md), [a-z0-9_-]. */
static bool word_valid(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-'))
			return false;
	}
	return true;
}

static void usage_events(FILE *out)
{
	fprintf(out, "usage: tollgate events [-c FILE] [--file PATH] [-f] [--type T] [--tenant T] "
		     "[--json]\n"
		     "  -c, --config FILE  configuration naming the events file (outputs.events)\n"
		     "      --file PATH    read this events file instead (e.g. a rotated one)\n"
		     "  -f, --follow       keep printing events as they are appended\n"
		     "      --type T       only events of type T (enforce, quota_exceeded, "
		     "quota_reset, ...)\n"
		     "                     or reason T (rate, pps, deny, segment, conn_cap, "
		     "raw_socket,\n"
		     "                     quota_block, quota_throttle)\n"
		     "      --tenant T     only events of tenant T\n"
		     "  -j, --json         the raw JSON lines (docs/events.md)\n");
}

int cmd_events(int argc, char **argv)
{
	enum { OPT_TYPE = 256, OPT_TENANT, OPT_FILE };
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "file", required_argument, NULL, OPT_FILE },
					      { "follow", no_argument, NULL, 'f' },
					      { "type", required_argument, NULL, OPT_TYPE },
					      { "tenant", required_argument, NULL, OPT_TENANT },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	struct reader r = { .fd = -1 };
	const char *config = NULL, *file = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	char path[512];
	bool follow_mode = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:fjh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case OPT_FILE:
			file = optarg;
			break;
		case 'f':
			follow_mode = true;
			break;
		case OPT_TYPE:
			if (!word_valid(optarg)) {
				fprintf(stderr,
					"tollgate: bad --type '%s': an event type or reason, e.g. "
					"enforce, quota_exceeded, deny, rate\n",
					optarg);
				return 2;
			}
			r.type = optarg;
			break;
		case OPT_TENANT:
			if (!tg_tenant_name_valid(optarg)) {
				fprintf(stderr,
					"tollgate: bad --tenant '%s': a tenant name (a-z, 0-9, "
					"'.', "
					"'_', '-')\n",
					optarg);
				return 2;
			}
			r.tenant = optarg;
			break;
		case 'j':
			r.json = true;
			break;
		case 'h':
			usage_events(stdout);
			return 0;
		default:
			usage_events(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage_events(stderr);
		return 2;
	}
	if (file && config) {
		fprintf(stderr, "tollgate: --file and -c both name the events file: give one\n");
		return 2;
	}
	if (file)
		snprintf(path, sizeof(path), "%s", file);
	else if (events_path(config, path, sizeof(path)))
		return 1;
	r.path = path;
	err = open_file(&r);
	if (err) {
		if (err == -ENOENT)
			fprintf(stderr,
				"tollgate: no events file at %s: the agent creates it when it "
				"starts (outputs.events in the configuration)\n",
				path);
		else
			fprintf(stderr, "tollgate: cannot read the events file %s: %s\n", path,
				err == -EINVAL ? "not a regular file" : strerror(-err));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!r.json)
		printf("%-24s %-14s %-16s %-14s %6s  %s\n", "TIME", "TYPE", "TENANT", "REASON",
		       "COUNT", "DETAILS");
	err = read_all(&r);
	if (!err && follow_mode)
		err = follow(&r);
	fflush(stdout);
	if (err)
		fprintf(stderr, "tollgate: reading %s: %s\n", path, strerror(-err));
	if (r.malformed)
		fprintf(stderr, "tollgate: %lu lines of %s are not events (skipped)\n", r.malformed,
			path);
	if (r.fd >= 0)
		close(r.fd);
	free(r.buf);
	return err ? 1 : 0;
}
