// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTTP server's pieces (src/http.c, src/metrics.c, docs/api.md): label escaping of
 * the Prometheus text format, the rates ring against hand-computed rates, the listen
 * address and token rules, and a live server (no datapath behind it) against raw
 * requests at and over its limits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "http.h"
#include "metrics.h"
#include "tap.h"

static char *mem_of(void (*fn)(FILE *, const char *), const char *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, arg);
	fclose(f);
	return buf;
}

static void help_of(FILE *f, const char *help)
{
	tg_prom_family(f, "tollgate_x_total", "counter", help);
}

static void test_escaping(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "acme", "acme" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "line\nfeed", "line\\nfeed" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "tab\there", "tab\there" }, /* only the three the format names */
		{ "", "" },
		{ "ünï", "ünï" },
	};
	char *s;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s = mem_of(tg_prom_label_value, t[i].in);
		tap_check(!strcmp(s, t[i].want),
			  "label value %zu escaped as the text format says: %s", i, s);
		free(s);
	}
	s = mem_of(help_of, "a \"quoted\" \\ and\nnewline");
	tap_check(!strcmp(s, "# HELP tollgate_x_total a \"quoted\" \\\\ and\\nnewline\n"
			     "# TYPE tollgate_x_total counter\n"),
		  "HELP escapes backslash and newline, not quotes");
	free(s);
}

/* The rates of tenant name, key k, from the JSON of the ring. */
static struct json_object *series(struct json_object *o, const char *name, const char *k)
{
	struct json_object *t, *v;

	if (!json_object_object_get_ex(o, "tenants", &t) ||
	    !json_object_object_get_ex(t, name, &v) || !json_object_object_get_ex(v, k, &v))
		return NULL;
	return v;
}

static struct json_object *rates_json(struct tg_rates *r, unsigned seconds)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json_object *o;

	tg_rates_json(r, f, seconds);
	fclose(f);
	o = json_tokener_parse(buf);
	free(buf);
	return o;
}

static void test_rates(void)
{
	struct tg_tenant_meta meta[3] = {};
	struct tg_tenant_stats tot[3] = {};
	struct tg_rates *r = tg_rates_new();
	struct json_object *o, *s;
	uint64_t t0 = 1000000000ull;
	bool ok = true;

	snprintf(meta[1].name, sizeof(meta[1].name), "acme");
	meta[1].flags = TG_TENANT_IN_USE;
	snprintf(meta[2].name, sizeof(meta[2].name), "gone"); /* not in use: not listed */
	o = rates_json(r, 60);
	tap_check(o && json_object_object_length(json_object_object_get(o, "tenants")) == 0 &&
			  json_object_get_type(json_object_object_get(o, "end")) == json_type_null,
		  "an empty ring: no tenants, end null");
	json_object_put(o);
	/* bytes in: 0, 1000, 3000 at 1 s steps; then 2 s later 3500; out packets 0, 10, 10, 4 */
	const uint64_t in_b[] = { 0, 1000, 3000, 3500 }, out_p[] = { 0, 10, 10, 4 };
	const uint64_t at[] = { 0, 1, 2, 4 };

	for (int i = 0; i < 4; i++) {
		tot[1].dir[TG_DIR_INGRESS].bytes = in_b[i];
		tot[1].dir[TG_DIR_EGRESS].packets = out_p[i];
		tg_rates_push(r, t0 + at[i] * 1000000000ull, 1700000000 + (int64_t)at[i], meta, tot,
			      3);
	}
	o = rates_json(r, 60);
	s = series(o, "acme", "in_bps");
	tap_check(s && json_object_array_length(s) == 3 &&
			  json_object_get_double(json_object_array_get_idx(s, 0)) == 8000 &&
			  json_object_get_double(json_object_array_get_idx(s, 1)) == 16000 &&
			  json_object_get_double(json_object_array_get_idx(s, 2)) == 2000,
		  "in_bps: byte differences * 8 over the time between samples, oldest first");
	s = series(o, "acme", "out_pps");
	tap_check(s && json_object_get_double(json_object_array_get_idx(s, 0)) == 10 &&
			  json_object_get_double(json_object_array_get_idx(s, 1)) == 0 &&
			  json_object_get_double(json_object_array_get_idx(s, 2)) == 0,
		  "out_pps: a counter that went down (new datapath) is 0, not negative");
	tap_check(!series(o, "gone", "in_bps"), "a tenant not in use is not listed");
	tap_check(!strcmp(json_object_get_string(json_object_object_get(o, "end")),
			  "2023-11-14T22:13:24Z"),
		  "end: the newest sample's time (%s)",
		  json_object_get_string(json_object_object_get(o, "end")));
	json_object_put(o);
	o = rates_json(r, 2);
	s = series(o, "acme", "in_bps");
	tap_check(s && json_object_array_length(s) == 2 &&
			  json_object_get_double(json_object_array_get_idx(s, 1)) == 2000,
		  "seconds=2: the last two values");
	json_object_put(o);
	/* around the ring: 700 more samples, 100 bytes a second */
	for (int i = 0; i < 700; i++) {
		tot[1].dir[TG_DIR_INGRESS].bytes = 3500 + 100ull * (i + 1);
		tg_rates_push(r, t0 + (5 + i) * 1000000000ull, 1700000005 + i, meta, tot, 3);
	}
	o = rates_json(r, 600);
	s = series(o, "acme", "in_bps");
	for (size_t i = 0; s && i < json_object_array_length(s); i++)
		ok &= json_object_get_double(json_object_array_get_idx(s, i)) == 800;
	tap_check(s && json_object_array_length(s) == TG_RATES_SAMPLES - 1 && ok,
		  "after wrapping: 599 values (600 samples), all 800 bit/s");
	json_object_put(o);
	/* more tenants: a wider ring, started again */
	snprintf(meta[2].name, sizeof(meta[2].name), "globex");
	meta[2].flags = TG_TENANT_IN_USE;
	tg_rates_push(r, t0 + 800 * 1000000000ull, 1700000800, meta, tot, 3);
	o = rates_json(r, 600);
	s = series(o, "globex", "in_bps");
	tap_check(s && json_object_array_length(s) == TG_RATES_SAMPLES - 1 &&
			  json_object_get_double(json_object_array_get_idx(s, 598)) == 0,
		  "a tenant that comes into use is listed at once (its earlier seconds 0)");
	json_object_put(o);
	/* more tenant ids: a wider ring, started again */
	snprintf(meta[0].name, sizeof(meta[0].name), "x");
	tg_rates_push(r, t0 + 801 * 1000000000ull, 1700000801, meta, tot, 3);
	{
		struct tg_tenant_meta m4[5] = { meta[0], meta[1], meta[2] };
		struct tg_tenant_stats t4[5] = { tot[0], tot[1], tot[2] };

		snprintf(m4[4].name, sizeof(m4[4].name), "initech");
		m4[4].flags = TG_TENANT_IN_USE;
		tg_rates_push(r, t0 + 802 * 1000000000ull, 1700000802, m4, t4, 5);
	}
	o = rates_json(r, 600);
	s = series(o, "initech", "in_bps");
	tap_check(s && json_object_array_length(s) == 0 && series(o, "acme", "in_bps") &&
			  json_object_array_length(series(o, "acme", "in_bps")) == 0,
		  "a higher tenant id: the ring starts again (one sample, no values yet)");
	json_object_put(o);
	tg_rates_free(r);
}

static void test_listen(void)
{
	static const struct {
		const char *s;
		int ok, loopback;
	} t[] = {
		{ "127.0.0.1:9477", 1, 1 },
		{ "127.1.2.3:1", 1, 1 },
		{ "[::1]:9477", 1, 1 },
		{ "0.0.0.0:9477", 1, 0 },
		{ "192.0.2.1:65535", 1, 0 },
		{ "[::]:9477", 1, 0 },
		{ "127.0.0.1:0", 0, 0 },
		{ "127.0.0.1:65536", 0, 0 },
		{ "127.0.0.1", 0, 0 },
		{ "localhost:9477", 0, 0 },
		{ "::1:9477", 0, 0 },
		{ "[::1]9477", 0, 0 },
		{ "127.0.0.1:+80", 0, 0 },
		{ "127.0.0.1:-1", 0, 0 },
		{ ":9477", 0, 0 },
		{ "127.0.0.1:80x", 0, 0 },
		{ "[::ffff:127.0.0.1]:1", 1, 0 },
	};
	struct sockaddr_storage ss;
	unsigned len;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int ok = !tg_api_listen_parse(t[i].s, &ss, &len);

		tap_check(ok == t[i].ok && (!ok || tg_api_listen_loopback(&ss) == t[i].loopback),
			  "listen '%s': %s%s", t[i].s, t[i].ok ? "valid" : "refused",
			  t[i].ok ? (t[i].loopback ? ", loopback" : ", beyond loopback") : "");
	}
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		tap_diag("cannot write %s", path);
	if (fd >= 0) {
		fchmod(fd, mode);
		close(fd);
	}
}

static void test_token(const char *dir)
{
	char path[512], buf[256];

	snprintf(path, sizeof(path), "%s/token", dir);
	write_file(path, "0123456789abcdef0123\nsecond line\n", 0600);
	tap_check(!tg_http_token_read(path, buf, sizeof(buf)) &&
			  !strcmp(buf, "0123456789abcdef0123"),
		  "token: the first line of a 0600 file");
	write_file(path, "0123456789abcdef0123\n", 0640);
	tap_check(tg_http_token_read(path, buf, sizeof(buf)) == -EPERM,
		  "token: a file its group can read is refused");
	write_file(path, "short\n", 0600);
	tap_check(tg_http_token_read(path, buf, sizeof(buf)) == -EINVAL,
		  "token: fewer than 16 characters are refused");
	write_file(path, "0123456789 abcdef0123\n", 0600);
	tap_check(tg_http_token_read(path, buf, sizeof(buf)) == -EINVAL,
		  "token: a space in it is refused");
	snprintf(path, sizeof(path), "%s/none", dir);
	tap_check(tg_http_token_read(path, buf, sizeof(buf)) == -ENOENT,
		  "token: a missing file is refused");
}

/* One request on its own connection: the status of the answer, 0 when the server closed
 * it without one, -1 on a local error; *secs how long it took. */
static int exchange(int port, const void *req, size_t len, bool shut, double *secs)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 20 };
	struct timespec t0, t1;
	char buf[64] = "";
	ssize_t n, got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (size_t off = 0; off < len;) {
		n = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* answered and closed before the rest */
		off += (size_t)n;
	}
	if (shut)
		shutdown(fd, SHUT_WR);
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += n;
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	buf[got] = '\0';
	if (got >= 12 && !strncmp(buf, "HTTP/1.", 7))
		return atoi(buf + 9);
	return got ? -1 : 0;
}

static int request(int port, const char *method, const char *path, const char *extra,
		   size_t body_len, char fill)
{
	char *req = NULL, *body = malloc(body_len + 1);
	double secs;
	int len, st;

	memset(body, fill, body_len);
	body[body_len] = '\0';
	len = asprintf(
		&req,
		"%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
		method, path, extra ? extra : "", body_len, body);
	st = len < 0 ? -1 : exchange(port, req, (size_t)len, false, &secs);
	free(req);
	free(body);
	return st;
}

static void test_server(const char *dir)
{
	struct tg_http_conf conf = {
		.run_dir = dir,
		.pin_path = "/sys/fs/bpf/tollgate-test-http-none", /* no datapath: 503 */
		.events_path = "/nonexistent/events.json",
		.audit_path = "/nonexistent/audit.log",
	};
	char listen[32], sock[512], *big;
	int port = 20000 + getpid() % 20000;
	struct tg_http *h;
	struct stat st;
	double secs;
	int err;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	conf.listen = listen;
	err = tg_http_bind(&conf, &h);
	if (!err)
		err = tg_http_start(h);
	tap_check(!err, "a server on %s and %s/api.sock", listen, dir);
	if (err)
		return;
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	memset(&st, 0, sizeof(st));
	err = stat(sock, &st);
	tap_check(!err && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600,
		  "the unix socket is there, mode 0600 (%o)", (unsigned)(st.st_mode & 0777));
	tap_equal_u64(request(port, "GET", "/metrics", NULL, 0, 0), 503,
		      "no datapath: /metrics is 503");
	tap_equal_u64(request(port, "GET", "/api/v1/rates?seconds=5", NULL, 0, 0), 200,
		      "the rates need no datapath");
	tap_equal_u64(request(port, "GET", "/api/v1/rates?seconds=601", NULL, 0, 0), 400,
		      "seconds over 600: 400");
	tap_equal_u64(request(port, "GET", "/api/v1/events?limit=5", NULL, 0, 0), 200,
		      "events with no events file: 200 (none)");
	tap_equal_u64(request(port, "GET", "/api/v1/events?after=1:", NULL, 0, 0), 400,
		      "a broken cursor: 400");
	tap_equal_u64(request(port, "GET", "/nowhere", NULL, 0, 0), 404, "unknown path: 404");
	tap_equal_u64(request(port, "GET", "/", NULL, 0, 0), 200, "the dashboard's page: 200");
	tap_equal_u64(request(port, "GET", "/ui/nothing.js", NULL, 0, 0), 404,
		      "an asset the dashboard does not have: 404");
	tap_equal_u64(request(port, "PUT", "/metrics", NULL, 0, 0), 405, "PUT /metrics: 405");
	tap_equal_u64(request(port, "GET", "/api/v1/block", NULL, 0, 0), 405, "GET on block: 405");
	tap_equal_u64(request(port, "POST", "/api/v1/block", NULL, TG_HTTP_BODY_MAX, ' '), 400,
		      "a body of exactly 64 KiB is read (and is no JSON object: 400)");
	tap_equal_u64(request(port, "POST", "/api/v1/block", NULL, TG_HTTP_BODY_MAX + 1, ' '), 413,
		      "a body of 64 KiB + 1: 413");
	tap_equal_u64(request(port, "POST", "/api/v1/block", NULL, 2, '{'), 400, "bad JSON: 400");
	tap_equal_u64(request(port, "POST", "/api/v1/block", NULL, 0, 0), 400, "no body: 400");
	big = malloc(TG_HTTP_POOL + 100);
	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'b', TG_HTTP_POOL);
	memcpy(big + 7 + TG_HTTP_POOL, "\r\n", 3);
	err = request(port, "GET", "/metrics", big, 0, 0);
	tap_check(err == 431 || err == 413, "headers over the pool: 431 (%d)", err);
	free(big);
	{
		static const char partial[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
		int rc = exchange(port, partial, sizeof(partial) - 1, false, &secs);

		tap_check(rc == 0 && secs >= TG_HTTP_TIMEOUT - 1 && secs < TG_HTTP_TIMEOUT + 3,
			  "a partial request held open is closed after ~%d s (%.1f s, status %d)",
			  TG_HTTP_TIMEOUT, secs, rc);
	}
	{
		static const char junk[] =
			"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n";
		int rc = exchange(port, junk, sizeof(junk) - 1, true, &secs);

		tap_check(rc == 0 || (rc >= 400 && rc < 500), "random bytes: 4xx or closed (%d)",
			  rc);
	}
	{
		/* a chunked body that goes on: 2 MiB in 64 KiB chunks */
		size_t chunk = 65536, n = 32, len = 0;
		char *req = malloc(256 + n * (chunk + 16));
		int rc;

		len = (size_t)sprintf(req, "POST /api/v1/block HTTP/1.1\r\nHost: x\r\n"
					   "Transfer-Encoding: chunked\r\n\r\n");
		for (size_t i = 0; i < n; i++) {
			len += (size_t)sprintf(req + len, "%zx\r\n", chunk);
			memset(req + len, 'a', chunk);
			len += chunk;
			len += (size_t)sprintf(req + len, "\r\n");
		}
		len += (size_t)sprintf(req + len, "0\r\n\r\n");
		rc = exchange(port, req, len, true, &secs);
		tap_check(rc == 0 || rc == 413, "2 MiB of chunked body: 413 or closed (%d, %.1f s)",
			  rc, secs);
		free(req);
	}
	tap_equal_u64(request(port, "GET", "/api/v1/rates", NULL, 0, 0), 200,
		      "still serving after all that");
	tg_http_stop(h);
	tap_check(stat(sock, &st) && errno == ENOENT, "stopped: the socket is removed");
}

int main(void)
{
	char dir[] = "/tmp/tg-test-http.XXXXXX";

	if (!mkdtemp(dir)) {
		tap_check(0, "cannot create a temporary directory");
		return tap_done();
	}
	test_escaping();
	test_rates();
	test_listen();
	test_token(dir);
	test_server(dir);
	{
		char path[600];

		snprintf(path, sizeof(path), "%s/token", dir);
		unlink(path);
		rmdir(dir);
	}
	return tap_done();
}
