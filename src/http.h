/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The agent's HTTP server (libmicrohttpd): Prometheus metrics, the JSON API and the
 * dashboard (docs/api.md), on TCP (api.listen) and on the unix socket RUN_DIR/api.sock.
 */
#ifndef TG_HTTP_H
#define TG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "datapath.h"
#include "metrics.h"

#define TG_API_SOCK "api.sock"
#define TG_HTTP_BODY_MAX (64 * 1024) /* request bodies; larger: 413 */
#define TG_HTTP_POOL (32 * 1024)     /* per connection: request line and headers */
#define TG_HTTP_TCP_CONNS 64	     /* concurrent connections on TCP */
#define TG_HTTP_UNIX_CONNS 16	     /* and on the unix socket */
#define TG_HTTP_TIMEOUT 5	     /* seconds a connection may stay idle (partial requests) */
#define TG_RATES_SAMPLES 600	     /* /api/v1/rates: ten minutes, one sample a second */
#define TG_RATES_TENANTS 1024	     /* tenant ids sampled for rates: 1..1023 */
#define TG_EVENTS_LIMIT 1000	     /* events per answer at most */
#define TG_HTTP_RELOAD_WAIT 60	     /* seconds POST /api/v1/reload waits for the agent */

struct tg_http_conf {
	const char *listen;	/* api.listen, or "off" */
	const char *token_file; /* NULL: no token (loopback only) */
	const char *run_dir;	/* the unix socket goes there */
	const char *pin_path;
	const char *events_path;
	const char *audit_path;
};

struct tg_http;

/* Reads the token and binds both sockets (nothing served yet): a refusal here changes
 * nothing. Says why on stderr. */
int tg_http_bind(const struct tg_http_conf *conf, struct tg_http **out);
/* Serves (a thread per connection). */
int tg_http_start(struct tg_http *h);
/* Once a second, from the agent's loop: a sample of every tenant's counters for
 * /api/v1/rates. */
void tg_http_sample(struct tg_http *h, const struct tg_maps *m);
/* POST /api/v1/reload (docs/lifecycle.md): the handler wakes tg_http_reload_fd (an
 * eventfd, polled by the agent's loop) and waits. The loop calls tg_http_reload_begin,
 * which consumes the wake-up and returns the sequence number the reload answers, reloads,
 * then tg_http_reload_end with the outcome's JSON: every request up to that number gets
 * it (200 when ok, 422 when refused). */
int tg_http_reload_fd(const struct tg_http *h);
uint64_t tg_http_reload_begin(struct tg_http *h);
void tg_http_reload_end(struct tg_http *h, uint64_t seq, bool ok, const char *json);
/* The reload counters /metrics shows. */
void tg_http_reload_stats(struct tg_http *h, const struct tg_reload_stats *st);
/* Stops serving and removes the unix socket. NULL is fine. */
void tg_http_stop(struct tg_http *h);

/* The token in path: its first line, which must be 16..255 printable characters; the
 * file must be a regular file no one but its owner can read (mode 0600 or 0400).
 * 0 or -errno; why on stderr. */
int tg_http_token_read(const char *path, char *buf, size_t len);

/* Rates ring (exposed for tests): push a sample of top tenant ids; write the JSON of the
 * last `seconds`. */
struct tg_rates;
struct tg_rates *tg_rates_new(void);
void tg_rates_free(struct tg_rates *r);
void tg_rates_push(struct tg_rates *r, uint64_t mono_ns, int64_t wall,
		   const struct tg_tenant_meta *meta, const struct tg_tenant_stats *totals,
		   uint32_t top);
void tg_rates_json(struct tg_rates *r, FILE *f, unsigned seconds);

#endif /* TG_HTTP_H */
