// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IPFIX export over UDP with libfixbuf.
 *
 * The buffer runs in manual mode: libfixbuf reports the end of a message instead of
 * sending it behind our back, so every message leaves through emit() below and the count
 * of data records that reached the socket is exact (it is what libfixbuf adds to the
 * message sequence number of the observation domain).
 *
 * Over UDP a collector learns templates only from the messages it receives, so they are
 * sent before the first data record and then again whenever TMPL_REFRESH_SEC seconds or
 * TMPL_REFRESH_MSGS data messages have gone by since the last time. libfixbuf puts a
 * template set in a message of its own.
 */
#include <errno.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <fixbuf/public.h>

#include "ipfix.h"

#define TG_PEN 32473 /* IANA documentation PEN (RFC 5612) */
#define TG_IE_TENANT_ID 1
#define TG_IE_TENANT_NAME 2
#define TG_IE_CLASS_NAME 3

#define TID_V4 256 /* external template ids: fixed, so collectors see stable ids */
#define TID_V6 257

#define TMPL_REFRESH_SEC 60
#define TMPL_REFRESH_MSGS 100
#define RESOLVE_TIMEOUT_MS 5000
#define DEFAULT_PORT "4739"

/* Spec flags: common elements have none, family-specific ones one of these. */
#define F_V4 0x1
#define F_V6 0x2

/*
 * The in-memory record the internal templates describe, field by field with no implicit
 * padding: libfixbuf computes internal offsets by adding element lengths. The address
 * pair comes last so that one struct serves both families (the IPv4 internal record
 * ends after 8 bytes of addresses).
 */
struct rec {
	uint64_t octets;
	uint64_t packets;
	uint64_t l2_octets;
	uint64_t start_ms;
	uint64_t end_ms;
	fbVarfield_t tenant;
	fbVarfield_t class_name;
	uint32_t tenant_id;
	uint16_t sport, dport;
	uint16_t vlan_id;
	uint16_t icmp_type_code;
	uint16_t tcp_flags;
	uint8_t proto;
	uint8_t dir;
	union {
		struct {
			uint32_t src, dst; /* host order: the transcoder swaps */
		} v4;
		struct {
			uint8_t src[16], dst[16];
		} v6;
	} addr;
};

#define REC_FIXED_LEN (5 * 8 + 2 * sizeof(fbVarfield_t) + 4 + 5 * 2 + 2)
_Static_assert(offsetof(struct rec, addr) == REC_FIXED_LEN, "struct rec has padding");
_Static_assert(sizeof(struct rec) == REC_FIXED_LEN + 32, "struct rec has tail padding");
#define REC_LEN_V4 (REC_FIXED_LEN + 8)
#define REC_LEN_V6 (REC_FIXED_LEN + 32)

static fbInfoElement_t tg_elements[] = {
	FB_IE_INIT_FULL("tollgateTenantId", TG_PEN, TG_IE_TENANT_ID, 4,
			FB_IE_F_ENDIAN | FB_IE_IDENTIFIER, 0, 0, FB_UINT_32,
			"Tollgate tenant id; 0 when the traffic is not attributed to a tenant"),
	FB_IE_INIT_FULL("tollgateTenantName", TG_PEN, TG_IE_TENANT_NAME, FB_IE_VARLEN,
			FB_IE_DEFAULT, 0, 0, FB_STRING,
			"Tollgate tenant name; empty when unattributed"),
	FB_IE_INIT_FULL("tollgateClassName", TG_PEN, TG_IE_CLASS_NAME, FB_IE_VARLEN, FB_IE_DEFAULT,
			0, 0, FB_STRING, "Tollgate traffic class of the remote address"),
	FB_IE_NULL,
};

/* Internal: the layout of struct rec, in its order, with explicit lengths. */
static fbInfoElementSpec_t int_spec[] = {
	{ "octetDeltaCount", 8, 0 },
	{ "packetDeltaCount", 8, 0 },
	{ "layer2OctetDeltaCount", 8, 0 },
	{ "flowStartMilliseconds", 8, 0 },
	{ "flowEndMilliseconds", 8, 0 },
	{ "tollgateTenantName", FB_IE_VARLEN, 0 },
	{ "tollgateClassName", FB_IE_VARLEN, 0 },
	{ "tollgateTenantId", 4, 0 },
	{ "sourceTransportPort", 2, 0 },
	{ "destinationTransportPort", 2, 0 },
	{ "vlanId", 2, 0 },
	{ "icmpTypeCodeIPv4", 2, F_V4 },
	{ "icmpTypeCodeIPv6", 2, F_V6 },
	{ "tcpControlBits", 2, 0 },
	{ "protocolIdentifier", 1, 0 },
	{ "flowDirection", 1, 0 },
	{ "sourceIPv4Address", 4, F_V4 },
	{ "destinationIPv4Address", 4, F_V4 },
	{ "sourceIPv6Address", 16, F_V6 },
	{ "destinationIPv6Address", 16, F_V6 },
	FB_IESPEC_NULL,
};

/* External: what goes on the wire, lengths from the information model. */
static fbInfoElementSpec_t ext_spec[] = {
	{ "sourceIPv4Address", 0, F_V4 },
	{ "destinationIPv4Address", 0, F_V4 },
	{ "sourceIPv6Address", 0, F_V6 },
	{ "destinationIPv6Address", 0, F_V6 },
	{ "sourceTransportPort", 0, 0 },
	{ "destinationTransportPort", 0, 0 },
	{ "protocolIdentifier", 0, 0 },
	{ "tcpControlBits", 0, 0 },
	{ "icmpTypeCodeIPv4", 0, F_V4 },
	{ "icmpTypeCodeIPv6", 0, F_V6 },
	{ "flowDirection", 0, 0 },
	{ "vlanId", 0, 0 },
	{ "octetDeltaCount", 0, 0 },
	{ "packetDeltaCount", 0, 0 },
	{ "layer2OctetDeltaCount", 0, 0 },
	{ "flowStartMilliseconds", 0, 0 },
	{ "flowEndMilliseconds", 0, 0 },
	{ "tollgateTenantId", 0, 0 },
	{ "tollgateTenantName", 0, 0 },
	{ "tollgateClassName", 0, 0 },
	FB_IESPEC_NULL,
};

struct tg_ipfix {
	fbInfoModel_t *model;
	fBuf_t *fbuf; /* owns the session and the exporter */
	fbSession_t *session;
	uint16_t int_tid[2]; /* [0] IPv4, [1] IPv6 */
	char *name;	     /* HOST:PORT as configured, for messages */
	bool dirty;	     /* the buffer holds an unsent message */
	uint64_t pending;    /* data records in that message */
	uint64_t sent;	     /* data records emitted */
	bool tmpl_sent;
	struct timespec tmpl_at; /* CLOCK_MONOTONIC of the last template export */
	uint64_t msgs_since_tmpl;
	guint log_handler;
	char last_err[256]; /* the last error printed; repeats are not printed again */
};

/* libfixbuf reports some conditions (e.g. a UDP send refused by the peer) with
 * g_warning() and carries on; they go to stderr with our prefix. */
static void log_handler(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	(void)domain;
	(void)level;
	(void)data;
	fprintf(stderr, "tollgate: ipfix: libfixbuf: %s\n", msg);
}

static int fail(struct tg_ipfix *x, GError *e, const char *what)
{
	char msg[sizeof(x->last_err)];

	if (e)
		snprintf(msg, sizeof(msg), "%s: %s", what, e->message);
	else
		snprintf(msg, sizeof(msg), "%s", what);
	if (strcmp(msg, x->last_err)) {
		fprintf(stderr, "tollgate: ipfix: %s\n", msg);
		snprintf(x->last_err, sizeof(x->last_err), "%s", msg);
	}
	if (e)
		g_error_free(e);
	return -EIO;
}

static bool is_eom(const GError *e)
{
	return g_error_matches(e, FB_ERROR_DOMAIN, FB_ERROR_EOM);
}

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}

static bool templates_due(const struct tg_ipfix *x)
{
	return !x->tmpl_sent || x->msgs_since_tmpl >= TMPL_REFRESH_MSGS ||
	       since(&x->tmpl_at) >= TMPL_REFRESH_SEC;
}

/* Sends the message in the buffer, if any. On failure the message stays in the buffer
 * (libfixbuf neither advances the sequence number nor rewinds) and goes with the next
 * emit. */
static int emit(struct tg_ipfix *x)
{
	GError *e = NULL;

	if (!x->dirty)
		return 0;
	if (!fBufEmit(x->fbuf, &e))
		return fail(x, e, "send");
	x->dirty = false;
	x->sent += x->pending;
	if (x->pending)
		x->msgs_since_tmpl++;
	x->pending = 0;
	return 0;
}

static int export_templates(struct tg_ipfix *x)
{
	GError *e = NULL;
	int rc, i;

	/* libfixbuf first answers "end of message" to start a message for the template
	 * set; the next attempt goes in. */
	for (i = 0; i < 3; i++) {
		if (fbSessionExportTemplates(x->session, &e)) {
			x->dirty = true;
			x->tmpl_sent = true;
			x->msgs_since_tmpl = 0;
			clock_gettime(CLOCK_MONOTONIC, &x->tmpl_at);
			return 0;
		}
		if (!is_eom(e))
			return fail(x, e, "templates");
		g_clear_error(&e);
		rc = emit(x);
		if (rc)
			return rc;
	}
	return fail(x, NULL, "templates do not fit in a message");
}

static int append(struct tg_ipfix *x, struct rec *r, size_t len)
{
	GError *e = NULL;
	int rc, i;

	for (i = 0; i < 4; i++) {
		if (fBufAppend(x->fbuf, (uint8_t *)r, len, &e)) {
			x->dirty = true;
			x->pending++;
			return 0;
		}
		if (!is_eom(e))
			return fail(x, e, "append");
		/* The message is full, or holds templates: send it and start another. */
		g_clear_error(&e);
		rc = emit(x);
		if (rc)
			return rc;
		if (templates_due(x)) {
			rc = export_templates(x);
			if (rc)
				return rc;
		}
	}
	return fail(x, NULL, "a record does not fit in a message");
}

static void fill(struct rec *r, const struct tg_flow_record *f)
{
	bool icmp = (f->family == 4 && f->proto == IPPROTO_ICMP) ||
		    (f->family == 6 && f->proto == IPPROTO_ICMPV6);

	memset(r, 0, sizeof(*r));
	r->octets = f->octets;
	r->packets = f->packets;
	r->l2_octets = f->l2_octets;
	r->start_ms = f->start_ms;
	r->end_ms = f->end_ms;
	r->tenant.buf = (uint8_t *)f->tenant;
	r->tenant.len = strnlen(f->tenant, sizeof(f->tenant));
	r->class_name.buf = (uint8_t *)f->class_name;
	r->class_name.len = strnlen(f->class_name, sizeof(f->class_name));
	r->tenant_id = f->tenant_id;
	if (icmp) {
		r->icmp_type_code = (uint16_t)((f->sport & 0xff) << 8 | (f->dport & 0xff));
	} else {
		r->sport = f->sport;
		r->dport = f->dport;
	}
	r->vlan_id = f->vlan_id;
	r->tcp_flags = f->tcp_flags;
	r->proto = f->proto;
	r->dir = f->dir;
	if (f->family == 4) {
		uint32_t a;

		memcpy(&a, f->src, 4);
		r->addr.v4.src = ntohl(a);
		memcpy(&a, f->dst, 4);
		r->addr.v4.dst = ntohl(a);
	} else {
		memcpy(r->addr.v6.src, f->src, 16);
		memcpy(r->addr.v6.dst, f->dst, 16);
	}
}

static int send_family(struct tg_ipfix *x, const struct tg_flow_record *recs, size_t n, int family)
{
	int fi = family == 4 ? 0 : 1;
	GError *e = NULL;
	struct rec r;
	bool set = false;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (recs[i].family != family)
			continue;
		/* Only for a family that has records: a template switch opens a set. */
		if (!set) {
			if (!fBufSetInternalTemplate(x->fbuf, x->int_tid[fi], &e) ||
			    !fBufSetExportTemplate(x->fbuf, fi ? TID_V6 : TID_V4, &e))
				return fail(x, e, "template");
			set = true;
		}
		fill(&r, &recs[i]);
		rc = append(x, &r, fi ? REC_LEN_V6 : REC_LEN_V4);
		if (rc)
			return rc;
	}
	return 0;
}

int tg_ipfix_send(struct tg_ipfix *x, const struct tg_flow_record *recs, size_t n)
{
	size_t i;
	int rc;

	if (!x || (n && !recs))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (recs[i].family != 4 && recs[i].family != 6)
			return -EINVAL;

	/* A message left over from a failed send goes first, alone. */
	rc = emit(x);
	if (rc)
		return rc;
	if (templates_due(x)) {
		rc = export_templates(x);
		if (rc)
			return rc;
	}
	rc = send_family(x, recs, n, 4);
	if (!rc)
		rc = send_family(x, recs, n, 6);
	if (!rc)
		rc = emit(x);
	if (!rc)
		x->last_err[0] = '\0';
	return rc;
}

uint64_t tg_ipfix_records_sent(const struct tg_ipfix *x)
{
	return x ? x->sent : 0;
}

/*
 * Name resolution with a deadline: getaddrinfo_a() in glibc's resolver threads, and a
 * completion notification that frees the request if the caller gave up on it. The
 * caller and the notification each hold a reference; the last to let go frees.
 */
struct resolve {
	atomic_int refs;
	struct gaicb cb;
	struct addrinfo hints;
	char *host, *port;
};

static void resolve_put(struct resolve *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	if (r->cb.ar_result)
		freeaddrinfo(r->cb.ar_result);
	free(r->host);
	free(r->port);
	free(r);
}

static void resolve_done(union sigval v)
{
	resolve_put(v.sival_ptr);
}

static void hints_init(struct addrinfo *h)
{
	/* The same hints libfixbuf uses when it opens the socket. */
	memset(h, 0, sizeof(*h));
	h->ai_flags = AI_ADDRCONFIG;
	h->ai_family = AF_UNSPEC;
	h->ai_socktype = SOCK_DGRAM;
	h->ai_protocol = IPPROTO_UDP;
}

/* Resolves HOST:PORT to numeric strings. Returns 0 or an EAI_* code; *timed_out tells a
 * deadline from a resolver answer. */
static int resolve(const char *host, const char *port, char *nhost, size_t nhostlen, char *nport,
		   size_t nportlen, bool *timed_out)
{
	struct addrinfo hints, *ai = NULL;
	struct gaicb *list[1];
	struct sigevent sev;
	struct timespec t0, ts;
	struct resolve *r;
	int rc, left;

	*timed_out = false;
	/* Literal addresses never wait. */
	hints_init(&hints);
	hints.ai_flags |= AI_NUMERICHOST;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != EAI_NONAME) {
		if (!rc) {
			rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, nhost, nhostlen, nport,
					 nportlen, NI_NUMERICHOST | NI_NUMERICSERV);
			freeaddrinfo(ai);
		}
		return rc;
	}

	r = calloc(1, sizeof(*r));
	if (!r)
		return EAI_MEMORY;
	r->host = strdup(host);
	r->port = strdup(port);
	if (!r->host || !r->port) {
		free(r->host);
		free(r->port);
		free(r);
		return EAI_MEMORY;
	}
	hints_init(&r->hints);
	r->cb.ar_name = r->host;
	r->cb.ar_service = r->port;
	r->cb.ar_request = &r->hints;
	atomic_init(&r->refs, 2);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = resolve_done;
	sev.sigev_value.sival_ptr = r;
	list[0] = &r->cb;
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
	if (rc) { /* not queued: no notification will come */
		atomic_store(&r->refs, 1);
		resolve_put(r);
		return rc;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((rc = gai_error(&r->cb)) == EAI_INPROGRESS) {
		left = RESOLVE_TIMEOUT_MS - (int)(since(&t0) * 1000);
		if (left <= 0)
			break;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		gai_suspend((const struct gaicb *const *)list, 1, &ts);
	}
	if (rc == EAI_INPROGRESS) {
		*timed_out = true;
		if (gai_cancel(&r->cb) == EAI_CANCELED) /* dequeued: no notification */
			resolve_put(r);
		resolve_put(r);
		return EAI_AGAIN;
	}
	if (!rc)
		rc = getnameinfo(r->cb.ar_result->ai_addr, r->cb.ar_result->ai_addrlen, nhost,
				 nhostlen, nport, nportlen, NI_NUMERICHOST | NI_NUMERICSERV);
	resolve_put(r);
	return rc;
}

static fbTemplate_t *make_template(fbInfoModel_t *model, fbInfoElementSpec_t *spec, uint32_t flags,
				   GError **e)
{
	fbTemplate_t *t = fbTemplateAlloc(model);

	if (!fbTemplateAppendSpecArray(t, spec, flags, e)) {
		fbTemplateFreeUnused(t);
		return NULL;
	}
	return t;
}

/* Adds the internal and external templates of one family; the session owns them. */
static bool add_templates(struct tg_ipfix *x, int fi, GError **e)
{
	uint32_t flags = fi ? F_V6 : F_V4;
	fbTemplate_t *t;

	t = make_template(x->model, int_spec, flags, e);
	if (!t)
		return false;
	x->int_tid[fi] = fbSessionAddTemplate(x->session, TRUE, FB_TID_AUTO, t, e);
	if (!x->int_tid[fi]) {
		fbTemplateFreeUnused(t);
		return false;
	}
	t = make_template(x->model, ext_spec, flags, e);
	if (!t)
		return false;
	if (!fbSessionAddTemplate(x->session, FALSE, fi ? TID_V6 : TID_V4, t, e)) {
		fbTemplateFreeUnused(t);
		return false;
	}
	return true;
}

int tg_ipfix_open(const struct tg_ipfix_conf *conf, struct tg_ipfix **out, char *err, size_t errlen)
{
	char nhost[NI_MAXHOST], nport[NI_MAXSERV];
	const char *port;
	fbConnSpec_t spec;
	fbExporter_t *exporter;
	struct tg_ipfix *x;
	bool timed_out;
	GError *e = NULL;
	int rc;

	*out = NULL;
	if (!conf || !conf->host || !conf->host[0]) {
		snprintf(err, errlen, "no collector configured (outputs.ipfix.host)");
		return -EINVAL;
	}
	port = conf->port && conf->port[0] ? conf->port : DEFAULT_PORT;

	x = calloc(1, sizeof(*x));
	if (!x)
		goto nomem;
	rc = asprintf(&x->name, strchr(conf->host, ':') ? "[%s]:%s" : "%s:%s", conf->host, port);
	if (rc < 0) {
		x->name = NULL;
		goto nomem;
	}

	rc = resolve(conf->host, port, nhost, sizeof(nhost), nport, sizeof(nport), &timed_out);
	if (rc) {
		snprintf(err, errlen, "cannot resolve collector %s: %s", x->name,
			 timed_out	    ? "timed out"
			 : rc == EAI_SYSTEM ? strerror(errno)
					    : gai_strerror(rc));
		tg_ipfix_close(x);
		return rc == EAI_MEMORY ? -ENOMEM : timed_out ? -ETIMEDOUT : -EHOSTUNREACH;
	}

	x->model = fbInfoModelAlloc();
	fbInfoModelAddElementArray(x->model, tg_elements);
	x->session = fbSessionAlloc(x->model);
	/* External templates and sequence numbers live in the current domain. */
	fbSessionSetDomain(x->session, conf->domain);
	if (!add_templates(x, 0, &e) || !add_templates(x, 1, &e)) {
		snprintf(err, errlen, "templates: %s", e ? e->message : "unknown error");
		g_clear_error(&e);
		fbSessionFree(x->session);
		x->session = NULL;
		tg_ipfix_close(x);
		return -EINVAL;
	}

	/* A literal address: libfixbuf's own lookup, when it opens the socket on the first
	 * message, cannot wait on DNS. It copies the spec. */
	memset(&spec, 0, sizeof(spec));
	spec.transport = FB_UDP;
	spec.host = nhost;
	spec.svc = nport;
	exporter = fbExporterAllocNet(&spec);
	x->fbuf = fBufAllocForExport(x->session, exporter);
	fBufSetAutomaticMode(x->fbuf, FALSE);
	x->log_handler = g_log_set_handler(
		NULL, G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_MESSAGE, log_handler,
		NULL);
	*out = x;
	return 0;

nomem:
	snprintf(err, errlen, "out of memory");
	tg_ipfix_close(x);
	return -ENOMEM;
}

void tg_ipfix_close(struct tg_ipfix *x)
{
	if (!x)
		return;
	if (x->fbuf) {
		emit(x);
		fBufFree(x->fbuf); /* and the session and the exporter */
	}
	if (x->log_handler)
		g_log_remove_handler(NULL, x->log_handler);
	if (x->model)
		fbInfoModelFree(x->model);
	free(x->name);
	free(x);
}
