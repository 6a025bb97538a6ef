// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Events from the kernel's ring buffer to a JSON-lines file (docs/events.md).
 *
 * Lines are formatted into one buffer and written together, so a line is never split
 * between two write() calls unless the file system writes short (disk full), and then
 * the rest follows with the next drain. The buffer is bounded: when the file takes
 * nothing, the drain stops reading the ring, and what the kernel cannot put there any
 * more is counted as dropped. Nothing is lost without being counted.
 *
 * Rotation needs no signal: the file is opened O_APPEND, so `copytruncate` works, and
 * a drain that finds the path gone or replaced by another file reopens it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "config.h"
#include "audit.h"
#include "events.h"
#include "guard.h"
#include "flows.h"
#include "json.h"

#define BUF_CAP (256 * 1024)
#define FLUSH_AT (192 * 1024) /* write once this much waits */
#define LINE_MAX_LEN 4096     /* room kept for one more line; lines are under 1 KiB */
#define MAX_LINES (BUF_CAP / 64)
/* Records a drain reads at most: more than a full ring holds (each record has an 8-byte
 * header besides), so a drain empties the ring unless a producer keeps refilling it; then
 * the rest waits for the next drain (the ring's descriptor stays readable). */
#define DRAIN_BATCH (TG_EVENTS_RING / sizeof(struct tg_event))

struct line_end {
	uint32_t end;	/* offset in buf just past the newline */
	uint8_t kernel; /* counts as delivered once written */
};

struct tg_events {
	struct ring_buffer *rb;
	int efd;       /* what the agent polls: holds the ring's epoll fd while reading it */
	bool watching; /* the ring is in efd (not while the file refuses lines) */
	const struct tg_maps *m;
	char *path;
	char *audit_path; /* security events also go to the audit log (NULL: not) */
	int fd;
	/* the drain in progress */
	const struct tg_applied *ap;
	int64_t clock_offset;
	uint64_t written; /* kernel lines written, not yet added to tg_state */
	uint64_t short_records;
	size_t batch;  /* records read by the drain in progress */
	int audit_err; /* last audit write error, reported once */
	/* lines formatted, not yet written */
	char *buf;
	size_t len;
	struct line_end *lines;
	size_t n_lines;
	int write_err; /* last write error, reported once until it clears */
};

static const char *const reason_names[TG_REASON_MAX] = {
	[TG_REASON_NONE] = "none",
	[TG_REASON_RATE] = "rate",
	[TG_REASON_PPS] = "pps",
	[TG_REASON_DENY] = "deny",
	[TG_REASON_SEGMENT] = "segment",
	[TG_REASON_CONN_CAP] = "conn_cap",
	[TG_REASON_RAW_SOCKET] = "raw_socket",
	[TG_REASON_QUOTA_BLOCK] = "quota_block",
	[TG_REASON_QUOTA_THROTTLE] = "quota_throttle",
	[TG_REASON_GUARD_DENY] = "guard_deny",
	[TG_REASON_BAN] = "ban",
	[TG_REASON_SRC_RATE] = "source_rate",
	[TG_REASON_SYN_FLOOD] = "syn_flood",
	[TG_REASON_SQLI] = "sqli",
	[TG_REASON_TRAVERSAL] = "traversal",
	[TG_REASON_HONEYPOT] = "honeypot",
};

static const char *const action_names[] = {
	[TG_GA_NONE] = "none",	       [TG_GA_ALLOW] = "allow", [TG_GA_DROP] = "drop",
	[TG_GA_HONEYPOT] = "redirect", [TG_GA_ALERT] = "alert", [TG_GA_COOKIE] = "cookie",
};

const char *tg_reason_name(enum tg_reason r)
{
	return (unsigned)r < TG_REASON_MAX ? reason_names[r] : NULL;
}

const char *tg_reason_label(uint32_t r, char *buf, size_t len)
{
	const char *s = tg_reason_name((enum tg_reason)r);

	if (s)
		return s;
	snprintf(buf, len, "reason-%u", r);
	return buf;
}

const char *tg_event_type_name(uint32_t type)
{
	switch (type) {
	case TG_EV_ENFORCE:
		return "enforce";
	case TG_EV_QUOTA_EXCEEDED:
		return "quota_exceeded";
	case TG_EV_GUARD:
		return "guard";
	case TG_EV_SYN_FLOOD:
		return "syn_flood";
	case TG_EV_BAN:
		return "ban";
	default:
		return NULL;
	}
}

static bool is_guard(const struct tg_event *e)
{
	return e->type == TG_EV_GUARD || e->type == TG_EV_SYN_FLOOD || e->type == TG_EV_BAN;
}

/* Refusals of a socket (connect, socket creation) rather than drops of a packet: the
 * socket reasons, and anything reported from a process's context. */
static bool is_refusal(const struct tg_event *e)
{
	return e->reason == TG_REASON_CONN_CAP || e->reason == TG_REASON_RAW_SOCKET || e->pid;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range, or a surrogate */
	return len;
}

/* A JSON string from a fixed-size field that may lack its NUL and may hold any bytes
 * (a process name is whatever the process set): invalid UTF-8 becomes U+FFFD. */
static void json_field(FILE *out, const char *s, size_t max)
{
	char buf[TG_NAME_MAX * 3 + 1];
	size_t n = strnlen(s, max), o = 0;

	for (size_t i = 0; i < n && o + 5 <= sizeof(buf);) {
		size_t l = utf8_seq((const unsigned char *)s + i, n - i);

		if (l) {
			memcpy(buf + o, s + i, l);
			o += l;
			i += l;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	buf[o] = '\0';
	tg_json_string(out, buf);
}

static void json_tenant(FILE *out, uint32_t id, const struct tg_applied *ap)
{
	if (id == TG_TENANT_UNATTRIBUTED)
		fputs("\"unattributed\"", out);
	else if (id < TG_MAX_TENANTS && ap && ap->meta && ap->meta[id].name[0])
		json_field(out, ap->meta[id].name, sizeof(ap->meta[id].name));
	else
		fprintf(out, "\"tenant-%" PRIu32 "\"", id);
}

void tg_event_json(FILE *out, const struct tg_event *e, const struct tg_applied *ap,
		   int64_t clock_offset_ns)
{
	char t[40], a[INET6_ADDRSTRLEN], pbuf[8];
	const char *type = tg_event_type_name(e->type);
	const char *reason = tg_reason_name((enum tg_reason)e->reason);
	bool refusal = is_refusal(e);

	tg_format_time_ns(e->time_ns + clock_offset_ns, t, sizeof(t));
	fprintf(out, "{\"time\": \"%s\", \"type\": ", t);
	if (type)
		fprintf(out, "\"%s\"", type);
	else
		fprintf(out, "\"type-%" PRIu32 "\"", e->type);
	fputs(", \"tenant\": ", out);
	json_tenant(out, e->tenant_id, ap);
	if (e->reason != TG_REASON_NONE) {
		if (reason)
			fprintf(out, ", \"reason\": \"%s\"", reason);
		else
			fprintf(out, ", \"reason\": \"reason-%" PRIu32 "\"", e->reason);
		if (is_guard(e))
			fprintf(out, ", \"action\": \"%s\"",
				e->action < sizeof(action_names) / sizeof(action_names[0])
					? action_names[e->action]
					: "unknown");
		else
			fprintf(out, ", \"action\": \"%s\"", refusal ? "refuse" : "drop");
	}
	if (is_guard(e) && e->rule) {
		char rb[32];

		fputs(", \"rule\": ", out);
		tg_json_string(out, tg_rule_name(e->rule, rb, sizeof(rb)));
	}
	if (e->type == TG_EV_ENFORCE && !refusal)
		fprintf(out, ", \"direction\": \"%s\"",
			e->dir == TG_DIR_EGRESS ? "egress" : "ingress");
	if (e->family == 4 || e->family == 6) {
		int af = e->family == 4 ? AF_INET : AF_INET6;

		inet_ntop(af, e->src, a, sizeof(a));
		fprintf(out, ", \"src\": \"%s\"", a);
		inet_ntop(af, e->dst, a, sizeof(a));
		fprintf(out, ", \"dst\": \"%s\", \"sport\": %u, \"dport\": %u", a, ntohs(e->sport),
			ntohs(e->dport));
		if (e->proto == 6 || e->proto == 17 || e->proto == 1 || e->proto == 58)
			fprintf(out, ", \"proto\": \"%s\"",
				tg_proto_name(e->proto, pbuf, sizeof(pbuf)));
		else
			fprintf(out, ", \"proto\": %u", e->proto);
	}
	fprintf(out, ", \"count\": %" PRIu32, e->count);
	if (e->type == TG_EV_QUOTA_EXCEEDED)
		fprintf(out, ", \"used\": %" PRIu64, (uint64_t)e->value);
	else if (e->type == TG_EV_SYN_FLOOD)
		fprintf(out, ", \"syn_per_second\": %" PRIu64, (uint64_t)e->value);
	else if (e->type == TG_EV_BAN)
		fprintf(out, ", \"ttl_s\": %" PRIu64, (uint64_t)(e->value / 1000000000ull));
	else if (e->value)
		fprintf(out, ", \"value\": %" PRIu64, (uint64_t)e->value);
	if (e->pid) {
		fprintf(out, ", \"pid\": %" PRIu32 ", \"uid\": %" PRIu32 ", \"comm\": ", e->pid,
			e->uid);
		json_field(out, e->comm, sizeof(e->comm));
	}
	fputc('}', out);
}

/* mkdir -p of path's directory, new directories 0700. */
static int make_parent(const char *path)
{
	char dir[512];
	size_t n;

	n = snprintf(dir, sizeof(dir), "%s", path);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	while (n > 0 && dir[n - 1] != '/')
		n--;
	while (n > 1 && dir[n - 1] == '/')
		n--;
	dir[n] = '\0';
	if (!n || !access(dir, F_OK))
		return 0;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_output(struct tg_events *ev)
{
	int fd, err;

	err = make_parent(ev->path);
	if (err)
		return err;
	fd = open(ev->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ev->fd >= 0)
		close(ev->fd);
	ev->fd = fd;
	return 0;
}

/* Rotation by rename: the path gone, or another file now (one stat per drain). */
static void check_rotation(struct tg_events *ev)
{
	struct stat a, b;

	if (ev->fd >= 0 && !fstat(ev->fd, &a) && !stat(ev->path, &b) && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return;
	open_output(ev); /* on failure the old file (if any) is kept; flush() reports */
}

static void report_write(struct tg_events *ev, int err)
{
	if (err && err != ev->write_err)
		fprintf(stderr,
			"tollgate: cannot write events to %s: %s (they wait and are retried)\n",
			ev->path, strerror(err));
	else if (!err && ev->write_err)
		fprintf(stderr, "tollgate: events are written to %s again\n", ev->path);
	ev->write_err = err;
}

/* Writes what is buffered; whole lines out are dropped from the buffer, a short write's
 * remainder stays. Returns 0 when the buffer is empty afterwards. */
static int flush(struct tg_events *ev)
{
	size_t done = 0, k = 0;
	ssize_t n;

	if (!ev->len)
		return 0;
	if (ev->fd < 0) {
		int err = open_output(ev);

		if (err) {
			report_write(ev, -err);
			return err;
		}
	}
	while (done < ev->len) {
		n = write(ev->fd, ev->buf + done, ev->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			report_write(ev, n < 0 ? errno : ENOSPC);
			break;
		}
		done += n;
	}
	if (done == ev->len)
		report_write(ev, 0);
	while (k < ev->n_lines && ev->lines[k].end <= done)
		ev->written += ev->lines[k++].kernel;
	/* A short write leaves part of a line in the file; its rest goes first next time. */
	memmove(ev->buf, ev->buf + done, ev->len - done);
	ev->len -= done;
	memmove(ev->lines, ev->lines + k, (ev->n_lines - k) * sizeof(*ev->lines));
	ev->n_lines -= k;
	for (size_t i = 0; i < ev->n_lines; i++)
		ev->lines[i].end -= done;
	return ev->len ? -ev->write_err : 0;
}

static bool has_room(const struct tg_events *ev)
{
	return BUF_CAP - ev->len >= LINE_MAX_LEN && ev->n_lines < MAX_LINES;
}

/* Formats one line into the buffer (room is there: has_room()). */
static int append(struct tg_events *ev, const struct tg_event *e, const char *type,
		  const char *tenant, const char *extra)
{
	size_t room = BUF_CAP - ev->len;
	FILE *f = fmemopen(ev->buf + ev->len, room, "w");
	long n;

	if (!f)
		return -errno;
	if (e) {
		tg_event_json(f, e, ev->ap, ev->clock_offset);
	} else {
		struct timespec ts;
		char t[40];

		clock_gettime(CLOCK_REALTIME, &ts);
		tg_format_time_ns((uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec, t, sizeof(t));
		fprintf(f, "{\"time\": \"%s\", \"type\": ", t);
		tg_json_string(f, type);
		if (tenant) {
			fputs(", \"tenant\": ", f);
			json_field(f, tenant, TG_NAME_MAX);
		}
		if (extra && *extra)
			fprintf(f, ", %s", extra);
		fputc('}', f);
	}
	fputc('\n', f);
	fflush(f);
	n = ftell(f);
	fclose(f);
	/* fmemopen keeps a NUL after the data, so a full buffer shows as room - 1 */
	if (n <= 0 || (size_t)n >= room - 1 || ev->buf[ev->len + n - 1] != '\n')
		return -EOVERFLOW;
	ev->len += n;
	ev->lines[ev->n_lines].end = ev->len;
	ev->lines[ev->n_lines].kernel = !!e;
	ev->n_lines++;
	return 0;
}

/* The uplink guard's decisions of lasting weight go to the audit log too: a flood, a
 * ban, a signature match. Per-packet drops stay in the events file only. */
static bool audited(const struct tg_event *e)
{
	return e->type == TG_EV_SYN_FLOOD || e->type == TG_EV_BAN ||
	       (e->type == TG_EV_GUARD &&
		(e->reason == TG_REASON_SQLI || e->reason == TG_REASON_TRAVERSAL));
}

static void audit_event(struct tg_events *ev, const struct tg_event *e)
{
	char *buf = NULL, *members = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err = -ENOMEM;

	if (f) {
		tg_event_json(f, e, ev->ap, ev->clock_offset);
		fclose(f);
	}
	if (buf && asprintf(&members, "\"event\":%s", buf) > 0)
		err = tg_audit_append(ev->audit_path, "security_event", members);
	if (err && !ev->audit_err)
		fprintf(stderr, "tollgate: cannot write the audit log %s: %s\n", ev->audit_path,
			strerror(-err));
	ev->audit_err = err;
	free(members);
	free(buf);
}

void tg_events_set_audit(struct tg_events *ev, const char *path)
{
	free(ev->audit_path);
	ev->audit_path = path ? strdup(path) : NULL;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tg_events *ev = ctx;

	if (ev->audit_path && size >= sizeof(struct tg_event) && audited(data))
		audit_event(ev, data);

	/* A record of another build's size cannot be read; it is reported, not written. */
	if (size < sizeof(struct tg_event) || append(ev, data, NULL, NULL, NULL))
		ev->short_records++;
	if (ev->len >= FLUSH_AT)
		flush(ev);
	if (!has_room(ev))
		return -ENOBUFS; /* stop reading the ring; the rest waits there */
	/* a bounded drain, as src/runtime.c's: the agent's loop is not held while a flood lasts */
	return ++ev->batch >= DRAIN_BATCH ? -EAGAIN : 0;
}

/* While the file refuses lines and the buffer is full, the ring is left unread; it must
 * not wake the agent then (it would poll readable in a loop): it leaves efd until a
 * drain (the agent's tick, every second) finds room again. */
static int watch(struct tg_events *ev, bool on)
{
	struct epoll_event e = { .events = EPOLLIN };

	if (on == ev->watching)
		return 0;
	if (epoll_ctl(ev->efd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, ring_buffer__epoll_fd(ev->rb),
		      &e))
		return -errno;
	ev->watching = on;
	return 0;
}

int tg_events_open(const struct tg_maps *m, const char *path, struct tg_events **out)
{
	struct tg_events *ev;
	int err;

	*out = NULL;
	if (!m || m->events < 0)
		return -EBADF;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->fd = -1;
	ev->efd = -1;
	ev->m = m;
	ev->path = strdup(path ? path : TG_DEFAULT_EVENTS);
	ev->buf = malloc(BUF_CAP);
	ev->lines = calloc(MAX_LINES, sizeof(*ev->lines));
	if (!ev->path || !ev->buf || !ev->lines) {
		err = -ENOMEM;
		goto fail;
	}
	err = open_output(ev);
	if (err)
		goto fail;
	ev->rb = ring_buffer__new(m->events, on_record, ev, NULL);
	if (!ev->rb) {
		err = -errno;
		goto fail;
	}
	ev->efd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->efd < 0) {
		err = -errno;
		goto fail;
	}
	err = watch(ev, true);
	if (err)
		goto fail;
	*out = ev;
	return 0;
fail:
	tg_events_close(ev);
	return err;
}

int tg_events_fd(const struct tg_events *ev)
{
	return ev ? ev->efd : -1;
}

/* The kernel events written so far become delivered (tg_state.events_delivered). */
static uint64_t commit(struct tg_events *ev)
{
	uint64_t n = ev->written;
	struct tg_state st;

	if (n && !tg_state_read(ev->m, &st)) {
		st.events_delivered += n;
		if (!tg_state_write(ev->m, &st))
			ev->written = 0;
	}
	return n;
}

int tg_events_drain(struct tg_events *ev, const struct tg_applied *ap)
{
	uint64_t written;
	int err = 0, n;

	if (!ev)
		return 0;
	ev->ap = ap;
	ev->clock_offset = tg_monotonic_offset_ns();
	check_rotation(ev);
	flush(ev); /* what an earlier drain could not write goes first */
	if (has_room(ev)) {
		ev->batch = 0;
		n = ring_buffer__consume(ev->rb);
		if (n < 0 && n != -ENOBUFS && n != -EAGAIN)
			err = n;
	}
	if (flush(ev) && !err)
		err = -ev->write_err;
	if (ev->short_records) {
		fprintf(stderr,
			"tollgate: %" PRIu64 " event records could not be read (size or format)\n",
			ev->short_records);
		ev->short_records = 0;
	}
	watch(ev, has_room(ev));
	written = commit(ev);
	ev->ap = NULL;
	return err ? err : (int)(written > INT32_MAX ? INT32_MAX : written);
}

int tg_events_user(struct tg_events *ev, const char *type, const char *tenant,
		   const char *extra_json)
{
	int err;

	if (!ev)
		return 0;
	if (!type || (extra_json && strpbrk(extra_json, "\r\n")))
		return -EINVAL;
	check_rotation(ev);
	if (!has_room(ev))
		flush(ev);
	if (!has_room(ev))
		return -ENOBUFS;
	err = append(ev, NULL, type, tenant, extra_json);
	if (!err)
		err = flush(ev); /* stays buffered when it fails: written with the next drain */
	return err;
}

/* A line formatted elsewhere (src/runtime.c: runtime events), one JSON object without
 * its newline; buffered, written by tg_events_flush or the next drain. */
int tg_events_raw(struct tg_events *ev, const char *json)
{
	size_t n = strlen(json);

	if (!ev)
		return 0;
	if (strpbrk(json, "\r\n") || n + 1 >= LINE_MAX_LEN)
		return -EINVAL;
	if (!has_room(ev))
		flush(ev);
	if (!has_room(ev))
		return -ENOBUFS;
	memcpy(ev->buf + ev->len, json, n);
	ev->buf[ev->len + n] = '\n';
	ev->len += n + 1;
	ev->lines[ev->n_lines].end = ev->len;
	ev->lines[ev->n_lines].kernel = 0;
	ev->n_lines++;
	if (ev->len >= FLUSH_AT)
		flush(ev);
	return 0;
}

int tg_events_flush(struct tg_events *ev)
{
	if (!ev)
		return 0;
	check_rotation(ev);
	return flush(ev);
}

void tg_events_close(struct tg_events *ev)
{
	if (!ev)
		return;
	if (ev->fd >= 0)
		flush(ev);
	if (ev->m)
		commit(ev);
	ring_buffer__free(ev->rb);
	if (ev->efd >= 0)
		close(ev->efd);
	if (ev->fd >= 0)
		close(ev->fd);
	free(ev->lines);
	free(ev->buf);
	free(ev->audit_path);
	free(ev->path);
	free(ev);
}

/*
 * Reading lines back: a flat JSON object, values kept as text.
 */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static void put_utf8(char *out, size_t cap, size_t *o, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*o + n < cap) {
		memcpy(out + *o, b, n);
		*o += n;
	}
}

static int hex4(const char *p, const char *end, uint32_t *v)
{
	*v = 0;
	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return -1;
	}
	return 0;
}

/* A string at p (on its opening quote), unescaped into out (truncated to cap). Returns
 * the position after the closing quote, NULL when malformed. */
static const char *parse_string(const char *p, const char *end, char *out, size_t cap)
{
	size_t o = 0;
	uint32_t cp, lo;

	for (p++; p < end && *p != '"'; p++) {
		unsigned char c = *p;

		if (c < 0x20)
			return NULL;
		if (c != '\\') {
			if (o + 1 < cap)
				out[o++] = (char)c;
			continue;
		}
		if (++p >= end)
			return NULL;
		switch (*p) {
		case '"':
		case '\\':
		case '/':
			cp = (unsigned char)*p;
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			if (hex4(p + 1, end, &cp))
				return NULL;
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && end - p > 6 && p[1] == '\\' &&
			    p[2] == 'u' && !hex4(p + 3, end, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd;
			}
			break;
		default:
			return NULL;
		}
		put_utf8(out, cap, &o, cp);
	}
	if (p >= end)
		return NULL;
	out[o] = '\0';
	return p + 1;
}

/* A nested object or array, skipped whole (strings respected). */
static const char *skip_nested(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\')
					p++;
			}
			if (p >= end)
				return NULL;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (--depth == 0)
				return p + 1;
		}
	}
	return NULL;
}

int tg_evline_parse(const char *line, size_t len, struct tg_evline *out)
{
	const char *p = line, *end = line + len, *v;
	char key[sizeof(out->f[0].key)];

	out->n = 0;
	p = skip_ws(p, end);
	if (p >= end || *p++ != '{')
		return -EINVAL;
	p = skip_ws(p, end);
	if (p < end && *p == '}')
		return skip_ws(p + 1, end) == end ? 0 : -EINVAL;
	for (;;) {
		size_t i = out->n < TG_EVLINE_MAX_FIELDS ? out->n : TG_EVLINE_MAX_FIELDS - 1;
		char *val = out->f[i].val;
		size_t cap = sizeof(out->f[i].val);

		p = skip_ws(p, end);
		if (p >= end || *p != '"')
			return -EINVAL;
		p = parse_string(p, end, key, sizeof(key));
		if (!p)
			return -EINVAL;
		p = skip_ws(p, end);
		if (p >= end || *p++ != ':')
			return -EINVAL;
		p = skip_ws(p, end);
		if (p >= end)
			return -EINVAL;
		out->f[i].is_string = *p == '"';
		if (*p == '"') {
			p = parse_string(p, end, val, cap);
			if (!p)
				return -EINVAL;
		} else {
			v = p;
			if (*p == '{' || *p == '[')
				p = skip_nested(p, end);
			else
				while (p < end && *p != ',' && *p != '}' && *p != ' ' && *p != '\t')
					p++;
			if (!p || p == v)
				return -EINVAL;
			snprintf(val, cap, "%.*s", (int)(p - v), v);
		}
		snprintf(out->f[i].key, sizeof(out->f[i].key), "%s", key);
		if (out->n < TG_EVLINE_MAX_FIELDS)
			out->n++;
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			return skip_ws(p + 1, end) == end ? 0 : -EINVAL;
		return -EINVAL;
	}
}

const char *tg_evline_get(const struct tg_evline *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->f[i].key, key))
			return l->f[i].val;
	}
	return NULL;
}
