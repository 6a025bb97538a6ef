// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The agent's HTTP server (docs/api.md): libmicrohttpd, a thread per connection, on TCP
 * (api.listen) and on the unix socket RUN_DIR/api.sock (mode 0600: root only).
 *
 * Handlers read the pins themselves (their own file descriptors), as the commands do;
 * what they share with the agent's loop is the rates ring (under its lock) and the
 * `stopping` flag that ends long polls and event streams. Limits: request line and
 * headers within TG_HTTP_POOL, bodies within TG_HTTP_BODY_MAX (413), at most
 * TG_HTTP_*_CONNS connections, each closed after TG_HTTP_TIMEOUT idle seconds.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "bans.h"
#include "cli.h"
#include "config.h"
#include "dashboard.h"
#include "http.h"
#include "json.h"
#include "metrics.h"
#include "store.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

struct rates_sample {
	uint64_t mono_ns;
	int64_t wall;
};

struct tg_rates {
	pthread_mutex_t lock;
	uint32_t ids; /* tenant ids per sample: [0, ids) */
	unsigned head, count;
	struct rates_sample hdr[TG_RATES_SAMPLES];
	struct tg_counter *vals;    /* TG_RATES_SAMPLES * ids * TG_DIR_MAX */
	char (*names)[TG_NAME_MAX]; /* latest names, "" = not in use */
};

struct listener {
	struct tg_http *h;
	bool unix_sock;
};

struct tg_http {
	struct tg_http_conf conf; /* its strings are the server's own copies (a reload frees
				   * the configuration they came from) */
	char token[256];	  /* "" = none */
	int tcp_fd, unix_fd;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct MHD_Daemon *tcp, *unix_d;
	struct listener l_tcp, l_unix;
	atomic_bool stopping;
	pthread_mutex_t ban_lock; /* block and unblock, one at a time */
	struct tg_rates *rates;
	struct tg_tenant_stats *totals; /* the sampler's buffers (agent thread only) */
	struct tg_tenant_stats *cells;
	struct tg_tenant_meta *meta;
	int64_t started;
	/* POST /api/v1/reload: asked here, done by the agent's loop (tg_http_reload_fd) */
	pthread_mutex_t reload_lock;
	pthread_cond_t reload_cond;
	int reload_efd;
	uint64_t reload_asked, reload_done; /* sequence numbers, under reload_lock */
	unsigned reload_status;		    /* of the last reload done: 200 or 422 */
	char *reload_answer;		    /* its JSON */
	struct tg_reload_stats reload_stats;
};

/*
 * The rates ring.
 */

struct tg_rates *tg_rates_new(void)
{
	struct tg_rates *r = calloc(1, sizeof(*r));

	if (r)
		pthread_mutex_init(&r->lock, NULL);
	return r;
}

void tg_rates_free(struct tg_rates *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->vals);
	free(r->names);
	free(r);
}

void tg_rates_push(struct tg_rates *r, uint64_t mono_ns, int64_t wall,
		   const struct tg_tenant_meta *meta, const struct tg_tenant_stats *totals,
		   uint32_t top)
{
	struct tg_counter *row;

	if (top > TG_RATES_TENANTS)
		top = TG_RATES_TENANTS;
	pthread_mutex_lock(&r->lock);
	if (top > r->ids) { /* more tenants: a wider ring, started again */
		struct tg_counter *v =
			calloc((size_t)TG_RATES_SAMPLES * top * TG_DIR_MAX, sizeof(*v));
		char(*n)[TG_NAME_MAX] = calloc(top, TG_NAME_MAX);

		if (!v || !n) {
			free(v);
			free(n);
			pthread_mutex_unlock(&r->lock);
			return;
		}
		free(r->vals);
		free(r->names);
		r->vals = v;
		r->names = n;
		r->ids = top;
		r->head = r->count = 0;
	}
	r->hdr[r->head] = (struct rates_sample){ mono_ns, wall };
	row = &r->vals[(size_t)r->head * r->ids * TG_DIR_MAX];
	memset(row, 0, (size_t)r->ids * TG_DIR_MAX * sizeof(*row));
	for (uint32_t id = 1; id < r->ids; id++) {
		bool used = id < top && (meta[id].flags & TG_TENANT_IN_USE);

		if (used)
			memcpy(&row[id * TG_DIR_MAX], totals[id].dir, sizeof(totals[id].dir));
		snprintf(r->names[id], TG_NAME_MAX, "%.*s", used ? TG_NAME_MAX - 1 : 0,
			 used ? meta[id].name : "");
	}
	r->head = (r->head + 1) % TG_RATES_SAMPLES;
	if (r->count < TG_RATES_SAMPLES)
		r->count++;
	pthread_mutex_unlock(&r->lock);
}

static double rate(uint64_t now, uint64_t then, double dt, double scale)
{
	return now >= then && dt > 0 ? (now - then) * scale / dt : 0.0;
}

void tg_rates_json(struct tg_rates *r, FILE *f, unsigned seconds)
{
	static const char *const keys[4] = { "in_bps", "out_bps", "in_pps", "out_pps" };
	unsigned n, first;
	char t[32] = "";
	bool first_t = true;

	pthread_mutex_lock(&r->lock);
	n = r->count > 1 ? r->count - 1 : 0; /* values: differences of neighbours */
	if (n > seconds)
		n = seconds;
	/* the oldest sample used, then n more */
	first = (r->head + TG_RATES_SAMPLES - n - 1) % TG_RATES_SAMPLES;
	if (r->count)
		tg_format_time(r->hdr[(r->head + TG_RATES_SAMPLES - 1) % TG_RATES_SAMPLES].wall, t,
			       sizeof(t));
	fprintf(f, "{\"interval\": 1, \"end\": ");
	if (r->count)
		tg_json_string(f, t);
	else
		fputs("null", f);
	fprintf(f, ", \"tenants\": {");
	for (uint32_t id = 1; id < r->ids; id++) {
		if (!r->names[id][0])
			continue;
		fprintf(f, "%s", first_t ? "" : ", ");
		first_t = false;
		tg_json_string(f, r->names[id]);
		fprintf(f, ": {");
		for (int k = 0; k < 4; k++) {
			int dir = k % 2 ? TG_DIR_EGRESS : TG_DIR_INGRESS;

			fprintf(f, "%s\"%s\": [", k ? ", " : "", keys[k]);
			for (unsigned i = 0; i < n; i++) {
				unsigned a = (first + i) % TG_RATES_SAMPLES;
				unsigned b = (a + 1) % TG_RATES_SAMPLES;
				const struct tg_counter *ca =
					&r->vals[((size_t)a * r->ids + id) * TG_DIR_MAX + dir];
				const struct tg_counter *cb =
					&r->vals[((size_t)b * r->ids + id) * TG_DIR_MAX + dir];
				double dt = (r->hdr[b].mono_ns - r->hdr[a].mono_ns) / 1e9;

				if (k < 2)
					fprintf(f, "%s%.0f", i ? ", " : "",
						rate(cb->bytes, ca->bytes, dt, 8.0));
				else
					fprintf(f, "%s%.1f", i ? ", " : "",
						rate(cb->packets, ca->packets, dt, 1.0));
			}
			fprintf(f, "]");
		}
		fprintf(f, "}");
	}
	fprintf(f, "}}\n");
	pthread_mutex_unlock(&r->lock);
}

void tg_http_sample(struct tg_http *h, const struct tg_maps *m)
{
	uint32_t top;

	if (!h || tg_maps_read_meta(m, h->meta))
		return;
	top = tg_meta_top(h->meta);
	if (top > TG_RATES_TENANTS)
		top = TG_RATES_TENANTS;
	if (tg_maps_read_cells(m, h->cells, top))
		return;
	for (uint32_t id = 0; id < top; id++)
		tg_cells_tenant_total(h->cells, id, &h->totals[id]);
	tg_rates_push(h->rates, tg_mono_ns(), time(NULL), h->meta, h->totals, top);
}

/*
 * Answers.
 */

static MHD_Result_t answer(struct MHD_Connection *c, unsigned status, const char *type, char *buf,
			   size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	MHD_Result_t ret;

	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"tollgate\"");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static MHD_Result_t error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return MHD_NO;
	fputs("{\"error\": ", f);
	tg_json_string(f, msg);
	fputs("}\n", f);
	if (fclose(f)) {
		free(buf);
		return MHD_NO;
	}
	return answer(c, status, "application/json", buf, len);
}

static MHD_Result_t not_allowed(struct MHD_Connection *c, const char *allow)
{
	struct MHD_Response *r;
	static const char body[] = "{\"error\": \"method not allowed\"}\n";
	MHD_Result_t ret;

	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	MHD_destroy_response(r);
	return ret;
}

/* A writer into memory, answered 200 with type; err from the writer: 503 (no datapath)
 * or 500. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static int capture_open(struct capture *cap)
{
	cap->buf = NULL;
	cap->len = 0;
	cap->f = open_memstream(&cap->buf, &cap->len);
	return cap->f ? 0 : -ENOMEM;
}

static MHD_Result_t capture_answer(struct MHD_Connection *c, struct capture *cap, int err,
				   const char *type)
{
	char msg[160];

	if (fclose(cap->f) && !err)
		err = -ENOMEM;
	if (!err)
		return answer(c, MHD_HTTP_OK, type, cap->buf, cap->len);
	free(cap->buf);
	if (err == -ENOENT || err == -ENODEV)
		return error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no datapath loaded");
	snprintf(msg, sizeof(msg), "cannot read the datapath: %s", strerror(-err));
	return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
}

int tg_http_parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long def,
		       unsigned long *out)
{
	char *end;

	*out = def;
	if (!s)
		return 0;
	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out < lo || *out > hi)
		return -EINVAL;
	return 0;
}

/* A query argument as an unsigned integer within [lo, hi]; def when absent. */
static int arg_uint(struct MHD_Connection *c, const char *name, unsigned long lo, unsigned long hi,
		    unsigned long def, unsigned long *out)
{
	return tg_http_parse_uint(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name), lo,
				  hi, def, out);
}

static MHD_Result_t bad_arg(struct MHD_Connection *c, const char *name, unsigned long lo,
			    unsigned long hi)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "bad '%s': an integer from %lu to %lu", name, lo, hi);
	return error(c, MHD_HTTP_BAD_REQUEST, msg);
}

/*
 * Events: the events file, read from a cursor "INODE:OFFSET" (hex).
 */

struct ev_cursor {
	unsigned long long ino, off;
};

#define EV_READ_MAX (4u << 20) /* bytes read per answer at most */

/* Complete lines of the events file into f, sep between them (", ": JSON array members;
 * "\n": lines), their count in *n; cur is where to start (valid) or NULL for the last limit lines; *next where the
 * next read starts. */
static int ev_read(const char *path, const struct ev_cursor *cur, unsigned limit, FILE *f,
		   const char *sep, unsigned *n, struct ev_cursor *next)
{
	struct stat st;
	unsigned long long off;
	size_t len, i, start, nl = 0;
	char *buf;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*n = 0;
	if (fd < 0) {
		next->ino = 0;
		next->off = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	if (cur && cur->ino == (unsigned long long)st.st_ino &&
	    cur->off <= (unsigned long long)st.st_size)
		off = cur->off;
	else if (cur)
		off = 0; /* rotated or truncated: the new file from its start */
	else
		off = st.st_size > EV_READ_MAX ? (unsigned long long)st.st_size - EV_READ_MAX : 0;
	len = (size_t)((unsigned long long)st.st_size - off);
	if (len > EV_READ_MAX)
		len = EV_READ_MAX;
	buf = malloc(len + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	got = len ? pread(fd, buf, len, (off_t)off) : 0;
	close(fd);
	if (got < 0) {
		free(buf);
		return -errno;
	}
	len = (size_t)got;
	start = 0;
	if (!cur && off > 0) { /* the tail starts inside a line: skip it */
		while (start < len && buf[start] != '\n')
			start++;
		start = start < len ? start + 1 : len;
	}
	if (!cur) { /* the last `limit` complete lines */
		size_t end = len;

		while (end > start && buf[end - 1] != '\n')
			end--;
		for (i = end; i > start; i--) {
			if (buf[i - 1] == '\n' && i != end && ++nl == limit) {
				break;
			}
		}
		start = i;
		len = end;
	}
	next->ino = st.st_ino;
	next->off = off + start;
	for (i = start; i < len && *n < limit;) {
		char *eol = memchr(buf + i, '\n', len - i);

		if (!eol)
			break;
		if (buf[i] == '{') {
			fprintf(f, "%s%.*s", *n ? sep : "", (int)(eol - buf - i), buf + i);
			(*n)++;
		}
		i = (size_t)(eol - buf) + 1;
		next->off = off + i;
	}
	free(buf);
	return 0;
}

static int ev_cursor_parse(const char *s, struct ev_cursor *c)
{
	char *end;

	/* a hex digit first on both sides: strtoull() alone would also take an empty number
	 * (":0"), leading white space and a sign */
	if (!s || !isxdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	c->ino = strtoull(s, &end, 16);
	if (errno || *end != ':' || !isxdigit((unsigned char)end[1]))
		return -EINVAL;
	c->off = strtoull(end + 1, &end, 16);
	return errno || *end ? -EINVAL : 0;
}

int tg_http_parse_cursor(const char *s, unsigned long long *ino, unsigned long long *off)
{
	struct ev_cursor c;
	int err = ev_cursor_parse(s, &c);

	*ino = err ? 0 : c.ino;
	*off = err ? 0 : c.off;
	return err;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static MHD_Result_t get_events(struct tg_http *h, struct MHD_Connection *c)
{
	const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
	struct ev_cursor cur, next;
	unsigned long limit, wait;
	struct capture cap;
	unsigned n = 0;
	int err;

	if (arg_uint(c, "limit", 1, TG_EVENTS_LIMIT, 100, &limit))
		return bad_arg(c, "limit", 1, TG_EVENTS_LIMIT);
	if (arg_uint(c, "wait", 0, 30, 0, &wait))
		return bad_arg(c, "wait", 0, 30);
	if (after && ev_cursor_parse(after, &cur))
		return error(c, MHD_HTTP_BAD_REQUEST,
			     "bad 'after': a cursor from an earlier answer");
	if (capture_open(&cap))
		return MHD_NO;
	for (unsigned waited = 0;; waited += 200) {
		fputs("{\"events\": [", cap.f);
		err = ev_read(h->conf.events_path, after ? &cur : NULL, limit, cap.f, ", ", &n,
			      &next);
		if (err || n || !after || waited >= wait * 1000 || atomic_load(&h->stopping))
			break;
		/* nothing yet: wait (long poll) from the same cursor */
		rewind(cap.f);
		sleep_ms(200);
	}
	if (!err)
		fprintf(cap.f, "], \"cursor\": \"%llx:%llx\"}\n", next.ino, next.off);
	return capture_answer(c, &cap, err, "application/json");
}

/* Server-sent events: from the end of the file on, a line "data: EVENT" each; a comment
 * every second without events keeps the connection busy (and finds a closed peer). */
struct sse {
	struct tg_http *h;
	struct ev_cursor cur;
	char *buf;
	size_t len, pos;
};

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse *s = cls;
	(void)pos;

	while (s->pos == s->len) {
		free(s->buf);
		s->buf = NULL;
		s->len = s->pos = 0;
		if (atomic_load(&s->h->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		for (int i = 0; i < 5 && !s->len; i++) {
			char *evs = NULL;
			size_t evlen = 0;
			FILE *f = open_memstream(&evs, &evlen);
			unsigned n = 0;
			struct ev_cursor next;

			if (!f)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			if (ev_read(s->h->conf.events_path, &s->cur, 100, f, "\n", &n, &next)) {
				fclose(f);
				free(evs);
				return MHD_CONTENT_READER_END_WITH_ERROR;
			}
			fclose(f);
			s->cur = next;
			if (n) {
				/* one event a line: one data line each */
				FILE *o = open_memstream(&s->buf, &s->len);
				char *save = NULL;

				if (!o) {
					free(evs);
					return MHD_CONTENT_READER_END_WITH_ERROR;
				}
				for (char *ln = strtok_r(evs, "\n", &save); ln;
				     ln = strtok_r(NULL, "\n", &save))
					fprintf(o, "data: %s\n\n", ln);
				fclose(o);
			}
			free(evs);
			if (!s->len && !atomic_load(&s->h->stopping))
				sleep_ms(200);
		}
		if (!s->len) {
			s->buf = strdup(": keepalive\n\n");
			if (!s->buf)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			s->len = strlen(s->buf);
		}
	}
	if (max > s->len - s->pos)
		max = s->len - s->pos;
	memcpy(out, s->buf + s->pos, max);
	s->pos += max;
	return (ssize_t)max;
}

static void sse_free(void *cls)
{
	struct sse *s = cls;

	free(s->buf);
	free(s);
}

static MHD_Result_t get_stream(struct tg_http *h, struct MHD_Connection *c)
{
	struct sse *s = calloc(1, sizeof(*s));
	struct MHD_Response *r;
	struct stat st;
	MHD_Result_t ret;

	if (!s)
		return MHD_NO;
	s->h = h;
	if (!stat(h->conf.events_path, &st)) { /* from now on */
		s->cur.ino = st.st_ino;
		s->cur.off = st.st_size;
	}
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
	if (!r) {
		sse_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "text/event-stream");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * Block and unblock.
 */

/* JSON white space (not strchr(" \t\r\n", ch): that also finds the NUL ending the set) */
static bool json_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

int tg_http_parse_block(bool unblock, const char *body, size_t len, struct tg_cidr *cidr,
			uint64_t *ttl_ms, char *msg, size_t msg_len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL;
	const char *cidr_in = NULL, *ttl = NULL;
	size_t end;
	int err;

	*ttl_ms = 0;
	if (!tok)
		return -ENOMEM;
	/* JSON has no raw NUL byte anywhere; json-c would skip one inside a // comment */
	if (memchr(body, '\0', len)) {
		json_tokener_free(tok);
		snprintf(msg, msg_len, "a NUL byte in the body: not JSON");
		return -EINVAL;
	}
	o = json_tokener_parse_ex(tok, body, (int)len);
	end = json_tokener_get_parse_end(tok);
	err = json_tokener_get_error(tok) != json_tokener_success;
	json_tokener_free(tok);
	while (!err && end < len && json_ws(body[end]))
		end++;
	if (err || end != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(msg, msg_len, "%s",
			 unblock ? "expected a JSON object {\"cidr\": PREFIX}"
				 : "expected a JSON object {\"cidr\": PREFIX, \"ttl\": "
				   "DURATION}");
		return -EINVAL;
	}
	json_object_object_foreach(o, key, val)
	{
		if (!strcmp(key, "cidr") && json_object_is_type(val, json_type_string))
			cidr_in = json_object_get_string(val);
		else if (!unblock && !strcmp(key, "ttl") &&
			 (json_object_is_type(val, json_type_string) || !val))
			ttl = val ? json_object_get_string(val) : NULL;
		else {
			snprintf(msg, msg_len, "unexpected member '%.40s' (or of the wrong type)",
				 key);
			json_object_put(o);
			return -EINVAL;
		}
	}
	if (!cidr_in || tg_parse_cidr(cidr_in, cidr)) {
		snprintf(msg, msg_len,
			 "'%.64s' is not an address or prefix (e.g. 203.0.113.7, 203.0.113.0/24, "
			 "2001:db8::/32; host bits must be zero)",
			 cidr_in ? cidr_in : "");
		json_object_put(o);
		return -EINVAL;
	}
	if (ttl && (tg_parse_duration(ttl, ttl_ms) || !*ttl_ms)) {
		snprintf(msg, msg_len, "ttl '%.64s' is not a duration (e.g. 90s, 10m, 2h)", ttl);
		json_object_put(o);
		return -EINVAL;
	}
	json_object_put(o);
	return 0;
}

static MHD_Result_t post_block(struct tg_http *h, struct MHD_Connection *c, bool unblock,
			       const char *body, size_t len, bool via_unix)
{
	char cidr_s[64], actor[128], msg[256];
	uint64_t ttl_ms = 0;
	struct tg_cidr cidr;
	struct capture cap;
	bool guard = false;
	int err;

	err = tg_http_parse_block(unblock, body, len, &cidr, &ttl_ms, msg, sizeof(msg));
	if (err == -ENOMEM)
		return MHD_NO;
	if (err)
		return error(c, MHD_HTTP_BAD_REQUEST, msg);
	tg_format_cidr(&cidr, cidr_s, sizeof(cidr_s));
	/* who asked: the peer's uid on the unix socket, its address on TCP */
	{
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		char addr[64] = "";

		if (via_unix && ci &&
		    !getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl))
			snprintf(actor, sizeof(actor), "\"uid\":%u,\"via\":\"api\"",
				 (unsigned)cred.uid);
		else {
			ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
			if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
				inet_ntop(AF_INET,
					  &((struct sockaddr_in *)ci->client_addr)->sin_addr, addr,
					  sizeof(addr));
			else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6)
				inet_ntop(AF_INET6,
					  &((struct sockaddr_in6 *)ci->client_addr)->sin6_addr,
					  addr, sizeof(addr));
			snprintf(actor, sizeof(actor),
				 "\"uid\":null,\"via\":\"api\",\"remote\":\"%s\"", addr);
		}
	}
	pthread_mutex_lock(&h->ban_lock);
	err = tg_block_apply(h->conf.pin_path, h->conf.audit_path, unblock, &cidr, ttl_ms, actor,
			     &guard);
	pthread_mutex_unlock(&h->ban_lock);
	if (err == -ENODEV)
		return error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no datapath loaded");
	if (err == -ENOENT && unblock) {
		snprintf(msg, sizeof(msg),
			 "%s is not banned (`tollgate block --list` shows the bans; a ban is "
			 "lifted by its exact prefix)",
			 cidr_s);
		return error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	if (err) {
		snprintf(msg, sizeof(msg),
			 unblock ? "cannot lift the ban of %s: %s" : "cannot ban %s: %s", cidr_s,
			 strerror(-err));
		return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
	}
	if (capture_open(&cap))
		return MHD_NO;
	if (unblock)
		fprintf(cap.f, "{\"cidr\": \"%s\", \"unblocked\": true}\n", cidr_s);
	else if (ttl_ms)
		fprintf(cap.f,
			"{\"cidr\": \"%s\", \"ttl_ms\": %" PRIu64 ", \"guard_attached\": %s}\n",
			cidr_s, ttl_ms, guard ? "true" : "false");
	else
		fprintf(cap.f, "{\"cidr\": \"%s\", \"ttl_ms\": null, \"guard_attached\": %s}\n",
			cidr_s, guard ? "true" : "false");
	return capture_answer(c, &cap, 0, "application/json");
}

/*
 * Reload: the request waits for the agent's loop, which alone changes the datapath.
 */

static bool body_empty_object(const char *b, size_t len)
{
	size_t i = 0;

	while (i < len && json_ws(b[i]))
		i++;
	if (i == len)
		return true;
	if (b[i++] != '{')
		return false;
	while (i < len && json_ws(b[i]))
		i++;
	if (i == len || b[i++] != '}')
		return false;
	while (i < len && json_ws(b[i]))
		i++;
	return i == len;
}

static MHD_Result_t post_reload(struct tg_http *h, struct MHD_Connection *c, const char *body,
				size_t len)
{
	struct timespec deadline;
	const uint64_t one = 1;
	unsigned status = 0;
	char *buf = NULL;
	uint64_t mine;

	if (!body_empty_object(body, len))
		return error(c, MHD_HTTP_BAD_REQUEST,
			     "expected no body or {}: the agent reloads the file it was started "
			     "with");
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += TG_HTTP_RELOAD_WAIT;
	pthread_mutex_lock(&h->reload_lock);
	mine = ++h->reload_asked;
	if (write(h->reload_efd, &one, sizeof(one)) != sizeof(one)) {
		pthread_mutex_unlock(&h->reload_lock);
		return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot reach the agent's loop");
	}
	while (h->reload_done < mine && !atomic_load(&h->stopping))
		if (pthread_cond_timedwait(&h->reload_cond, &h->reload_lock, &deadline) ==
		    ETIMEDOUT)
			break;
	if (h->reload_done >= mine && h->reload_answer) {
		status = h->reload_status;
		buf = strdup(h->reload_answer);
	}
	pthread_mutex_unlock(&h->reload_lock);
	if (!status)
		return error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			     atomic_load(&h->stopping) ? "the agent is stopping"
						       : "the agent did not finish the reload in "
							 "time; see its log");
	if (!buf)
		return MHD_NO;
	return answer(c, status, "application/json", buf, strlen(buf));
}

int tg_http_reload_fd(const struct tg_http *h)
{
	return h ? h->reload_efd : -1;
}

uint64_t tg_http_reload_begin(struct tg_http *h)
{
	uint64_t n, asked;

	if (read(h->reload_efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return 0;
	pthread_mutex_lock(&h->reload_lock);
	asked = h->reload_asked;
	pthread_mutex_unlock(&h->reload_lock);
	return asked;
}

void tg_http_reload_end(struct tg_http *h, uint64_t seq, bool ok, const char *json)
{
	char *copy = strdup(json);

	pthread_mutex_lock(&h->reload_lock);
	if (copy) {
		free(h->reload_answer);
		h->reload_answer = copy;
		h->reload_status = ok ? MHD_HTTP_OK : 422;
	}
	if (seq > h->reload_done)
		h->reload_done = seq;
	pthread_cond_broadcast(&h->reload_cond);
	pthread_mutex_unlock(&h->reload_lock);
}

void tg_http_reload_stats(struct tg_http *h, const struct tg_reload_stats *st)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->reload_lock);
	h->reload_stats = *st;
	pthread_mutex_unlock(&h->reload_lock);
}

/*
 * Routing.
 */

enum route {
	R_NONE,
	R_METRICS,
	R_STATUS,
	R_TENANTS,
	R_RATES,
	R_FLOWS,
	R_EVENTS,
	R_STREAM,
	R_BANS,
	R_BLOCK,
	R_UNBLOCK,
	R_RELOAD,
	R_UI,
};

static enum route route_of(const char *url, bool *post)
{
	static const struct {
		const char *path;
		enum route r;
		bool post;
	} t[] = {
		{ "/metrics", R_METRICS, false },
		{ "/api/v1/status", R_STATUS, false },
		{ "/api/v1/tenants", R_TENANTS, false },
		{ "/api/v1/rates", R_RATES, false },
		{ "/api/v1/flows", R_FLOWS, false },
		{ "/api/v1/events", R_EVENTS, false },
		{ "/api/v1/events/stream", R_STREAM, false },
		{ "/api/v1/bans", R_BANS, false },
		{ "/api/v1/block", R_BLOCK, true },
		{ "/api/v1/unblock", R_UNBLOCK, true },
		{ "/api/v1/reload", R_RELOAD, true },
	};

	*post = false;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(url, t[i].path)) {
			*post = t[i].post;
			return t[i].r;
		}
	if (!strcmp(url, "/") || !strncmp(url, "/ui/", 4))
		return R_UI;
	return R_NONE;
}

bool tg_http_token_match(const char *token, const char *a)
{
	size_t tl = strlen(token), al;
	unsigned char diff = 0;

	if (!a || strncmp(a, "Bearer ", 7))
		return false;
	a += 7;
	al = strlen(a);
	for (size_t i = 0; i < tl; i++) /* the token's length, not the guess's */
		diff |= (unsigned char)(token[i] ^ (i < al ? a[i] : 0));
	return !diff && al == tl;
}

static bool token_ok(const struct tg_http *h, struct MHD_Connection *c)
{
	return tg_http_token_match(
		h->token, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
}

static MHD_Result_t get(struct tg_http *h, struct MHD_Connection *c, enum route r, const char *url)
{
	struct capture cap;
	unsigned long n, top, secs;
	int err = 0;

	switch (r) {
	case R_UI: {
		const struct tg_asset *a = tg_dashboard_asset(url);
		struct MHD_Response *resp;
		MHD_Result_t ret;

		if (!a)
			return error(c, MHD_HTTP_NOT_FOUND, "no such page");
		resp = MHD_create_response_from_buffer(a->len, (void *)a->data,
						       MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Content-Type", a->content_type);
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'self'; img-src 'self' data:");
		ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	case R_EVENTS:
		return get_events(h, c);
	case R_STREAM:
		return get_stream(h, c);
	case R_RATES:
		if (arg_uint(c, "seconds", 1, TG_RATES_SAMPLES, 60, &n))
			return bad_arg(c, "seconds", 1, TG_RATES_SAMPLES);
		if (capture_open(&cap))
			return MHD_NO;
		tg_rates_json(h->rates, cap.f, (unsigned)n);
		return capture_answer(c, &cap, 0, "application/json");
	case R_TENANTS:
		if (arg_uint(c, "interval", 0, 5, 0, &secs))
			return bad_arg(c, "interval", 0, 5);
		break;
	case R_FLOWS:
		if (arg_uint(c, "top", 0, 100000, 50, &top))
			return bad_arg(c, "top", 0, 100000);
		if (arg_uint(c, "interval", 0, 5, 0, &secs))
			return bad_arg(c, "interval", 0, 5);
		break;
	case R_STATUS: {
		const char *fmt = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");

		if (fmt && strcmp(fmt, "json") && strcmp(fmt, "text"))
			return error(c, MHD_HTTP_BAD_REQUEST, "bad 'format': json or text");
		break;
	}
	default:
		break;
	}
	if (capture_open(&cap))
		return MHD_NO;
	switch (r) {
	case R_METRICS: {
		struct tg_metrics_agent ag = { .start_time = h->started };

		pthread_mutex_lock(&h->reload_lock);
		ag.reload = h->reload_stats;
		pthread_mutex_unlock(&h->reload_lock);

		err = tg_metrics_write(cap.f, h->conf.pin_path, &ag);
		return capture_answer(c, &cap, err, "text/plain; version=0.0.4; charset=utf-8");
	}
	case R_STATUS: {
		const char *fmt = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
		bool text = fmt && !strcmp(fmt, "text");

		err = tg_status_write(cap.f, h->conf.pin_path, !text);
		return capture_answer(c, &cap, err < 0 ? err : 0,
				      text ? "text/plain; charset=utf-8" : "application/json");
	}
	case R_TENANTS:
		err = tg_tenants_write(cap.f, h->conf.pin_path, (double)secs, true);
		break;
	case R_FLOWS: {
		const char *tenant =
			MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tenant");

		err = tg_flows_write(cap.f, h->conf.pin_path, tenant, top, (double)secs, true);
		if (err == -ENOENT) {
			fclose(cap.f);
			free(cap.buf);
			return error(c, MHD_HTTP_NOT_FOUND, "no such tenant");
		}
		break;
	}
	case R_BANS:
		err = tg_bans_write(cap.f, h->conf.pin_path, true);
		break;
	default:
		err = -EINVAL;
		break;
	}
	return capture_answer(c, &cap, err, "application/json");
}

struct req {
	char *body;
	size_t len, seen;
	bool too_big, done;
};

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct listener *l = cls;
	struct tg_http *h = l->h;
	struct req *rq = *con_cls;
	enum route r;
	bool post;
	(void)version;

	if (!rq) { /* the headers are in: decide what can be decided now */
		const char *cl;

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		if (!l->unix_sock && h->token[0] && !token_ok(h, c)) {
			rq->done = true;
			return error(c, MHD_HTTP_UNAUTHORIZED,
				     "a token is required: Authorization: Bearer TOKEN");
		}
		r = route_of(url, &post);
		if (r == R_NONE) {
			rq->done = true;
			return error(c, MHD_HTTP_NOT_FOUND, "no such endpoint (docs/api.md)");
		}
		if (post ? strcmp(method, "POST")
			 : strcmp(method, "GET") && strcmp(method, "HEAD")) {
			rq->done = true;
			return not_allowed(c, post ? "POST" : "GET, HEAD");
		}
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > TG_HTTP_BODY_MAX) {
			rq->done = true;
			return error(c, 413, "request body over 64 KiB");
		}
		if (!post) {
			rq->done = true;
			return get(h, c, r, url);
		}
		return MHD_YES; /* the body follows */
	}
	if (rq->done) { /* answered already: what still comes is dropped */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		rq->seen += *upload_size;
		if (rq->seen > 16 * TG_HTTP_BODY_MAX)
			return MHD_NO; /* a body without end: closed, not read on */
		if (!rq->too_big && rq->len + *upload_size <= TG_HTTP_BODY_MAX) {
			char *b = realloc(rq->body, rq->len + *upload_size + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + rq->len, upload, *upload_size);
			rq->body = b;
			rq->len += *upload_size;
			rq->body[rq->len] = '\0';
		} else {
			rq->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	rq->done = true;
	if (rq->too_big)
		return error(c, 413, "request body over 64 KiB");
	r = route_of(url, &post);
	if (r == R_RELOAD)
		return post_reload(h, c, rq->body ? rq->body : "", rq->len);
	return post_block(h, c, r == R_UNBLOCK, rq->body ? rq->body : "", rq->len, l->unix_sock);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;

	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/* The routing table for the fuzzer (tests/fuzz/fuzz_api.c); 0 is no route. */
int tg_http_route(const char *url, bool *post)
{
	return (int)route_of(url, post);
}

bool tg_http_reload_body_ok(const char *body, size_t len)
{
	return body_empty_object(body, len);
}

/*
 * Start and stop.
 */

int tg_http_token_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	ssize_t n;
	size_t l;

	if (fd < 0) {
		fprintf(stderr, "tollgate: cannot read api.token_file %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		fprintf(stderr,
			"tollgate: api.token_file %s must be a regular file only its owner can "
			"read (chmod 600 %s)\n",
			path, path);
		close(fd);
		return -EPERM;
	}
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	l = strcspn(buf, "\r\n");
	buf[l] = '\0';
	for (size_t i = 0; i < l; i++)
		if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f)
			l = 0;
	if (l < 16 || l >= 256 || (size_t)n == len - 1) {
		fprintf(stderr,
			"tollgate: api.token_file %s: its first line must be the token, 16 to 255 "
			"printable characters without spaces\n",
			path);
		explicit_bzero(buf, len);
		return -EINVAL;
	}
	return 0;
}

static int bind_tcp(struct tg_http *h)
{
	struct sockaddr_storage ss;
	unsigned len;
	int one = 1;

	if (tg_api_listen_parse(h->conf.listen, &ss, &len))
		return -EINVAL;
	h->tcp_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->tcp_fd < 0)
		return -errno;
	setsockopt(h->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(h->tcp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(h->tcp_fd, (struct sockaddr *)&ss, len) || listen(h->tcp_fd, 64)) {
		int err = -errno;

		fprintf(stderr, "tollgate: cannot listen on %s (api.listen): %s\n", h->conf.listen,
			strerror(-err));
		return err;
	}
	return 0;
}

static int bind_unix(struct tg_http *h)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int n, err = 0;

	n = snprintf(h->sock_path, sizeof(h->sock_path), "%s/%s", h->conf.run_dir, TG_API_SOCK);
	if (n < 0 || (size_t)n >= sizeof(h->sock_path)) {
		fprintf(stderr, "tollgate: the socket path under %s is too long\n",
			h->conf.run_dir);
		h->sock_path[0] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, h->sock_path, (size_t)n + 1);
	h->unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->unix_fd < 0)
		return -errno;
	unlink(h->sock_path); /* a dead agent's: we hold the lock */
	old = umask(0177);
	if (bind(h->unix_fd, (struct sockaddr *)&sun, sizeof(sun)))
		err = -errno;
	umask(old);
	if (!err && (chmod(h->sock_path, 0600) || listen(h->unix_fd, 64)))
		err = -errno;
	if (err) {
		fprintf(stderr, "tollgate: cannot listen on %s: %s\n", h->sock_path,
			strerror(-err));
		if (err != -EADDRINUSE)
			unlink(h->sock_path);
		h->sock_path[0] = '\0';
	}
	return err;
}

int tg_http_bind(const struct tg_http_conf *conf, struct tg_http **out)
{
	struct tg_http *h = calloc(1, sizeof(*h));
	bool tcp = conf->listen && strcmp(conf->listen, "off");
	struct sockaddr_storage ss;
	unsigned len;
	int err = 0;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->conf = *conf;
	{
		const char **own[] = {
			&h->conf.listen,   &h->conf.token_file,	 &h->conf.run_dir,
			&h->conf.pin_path, &h->conf.events_path, &h->conf.audit_path
		};

		for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
			if (*own[i] && !(*own[i] = strdup(*own[i])))
				err = -ENOMEM;
	}
	h->tcp_fd = h->unix_fd = -1;
	pthread_mutex_init(&h->ban_lock, NULL);
	pthread_mutex_init(&h->reload_lock, NULL);
	pthread_cond_init(&h->reload_cond, NULL);
	h->reload_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->reload_efd < 0)
		err = -errno;
	if (!err && tcp && tg_api_listen_parse(conf->listen, &ss, &len)) {
		fprintf(stderr, "tollgate: bad api.listen '%s'\n", conf->listen);
		err = -EINVAL;
	}
	if (!err && conf->token_file)
		err = tg_http_token_read(conf->token_file, h->token, sizeof(h->token));
	if (!err && tcp && !tg_api_listen_loopback(&ss) && !h->token[0]) {
		fprintf(stderr,
			"tollgate: refusing to serve the API on %s, beyond loopback, without a "
			"token: set api.token_file\n",
			conf->listen);
		err = -EPERM;
	}
	h->rates = tg_rates_new();
	h->meta = calloc(TG_MAX_TENANTS, sizeof(*h->meta));
	h->cells = calloc((size_t)TG_RATES_TENANTS * TG_MAX_CLASSES, sizeof(*h->cells));
	h->totals = calloc(TG_RATES_TENANTS, sizeof(*h->totals));
	if (!err && (!h->rates || !h->meta || !h->cells || !h->totals))
		err = -ENOMEM;
	if (!err && tcp)
		err = bind_tcp(h);
	if (!err)
		err = bind_unix(h);
	if (err) {
		tg_http_stop(h);
		return err;
	}
	h->started = time(NULL);
	*out = h;
	return 0;
}

static struct MHD_Daemon *serve(struct tg_http *h, int fd, struct listener *l, unsigned conns)
{
	return MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0,
		NULL, NULL, on_request, l, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)TG_HTTP_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)TG_HTTP_POOL,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, h, MHD_OPTION_END);
}

int tg_http_start(struct tg_http *h)
{
	signal(SIGPIPE, SIG_IGN); /* a peer gone mid-answer is no reason to stop */
	h->l_tcp = (struct listener){ h, false };
	h->l_unix = (struct listener){ h, true };
	if (h->tcp_fd >= 0) {
		h->tcp = serve(h, h->tcp_fd, &h->l_tcp, TG_HTTP_TCP_CONNS);
		if (!h->tcp) {
			fprintf(stderr, "tollgate: cannot start the HTTP server on %s\n",
				h->conf.listen);
			return -EIO;
		}
		h->tcp_fd = -1; /* the daemon's now: it closes it */
	}
	h->unix_d = serve(h, h->unix_fd, &h->l_unix, TG_HTTP_UNIX_CONNS);
	if (!h->unix_d) {
		fprintf(stderr, "tollgate: cannot start the HTTP server on %s\n", h->sock_path);
		return -EIO;
	}
	h->unix_fd = -1;
	return 0;
}

void tg_http_stop(struct tg_http *h)
{
	if (!h)
		return;
	atomic_store(&h->stopping, true);
	pthread_mutex_lock(&h->reload_lock); /* a reload request waiting: answered now */
	pthread_cond_broadcast(&h->reload_cond);
	pthread_mutex_unlock(&h->reload_lock);
	if (h->tcp)
		MHD_stop_daemon(h->tcp);
	if (h->unix_d)
		MHD_stop_daemon(h->unix_d);
	if (h->tcp_fd >= 0)
		close(h->tcp_fd);
	if (h->unix_fd >= 0)
		close(h->unix_fd);
	if (h->sock_path[0])
		unlink(h->sock_path);
	pthread_mutex_destroy(&h->ban_lock);
	pthread_cond_destroy(&h->reload_cond);
	pthread_mutex_destroy(&h->reload_lock);
	if (h->reload_efd >= 0)
		close(h->reload_efd);
	free(h->reload_answer);
	tg_rates_free(h->rates);
	free(h->meta);
	free(h->cells);
	free(h->totals);
	explicit_bzero(h->token, sizeof(h->token));
	free((char *)h->conf.listen);
	free((char *)h->conf.token_file);
	free((char *)h->conf.run_dir);
	free((char *)h->conf.pin_path);
	free((char *)h->conf.events_path);
	free((char *)h->conf.audit_path);
	free(h);
}
