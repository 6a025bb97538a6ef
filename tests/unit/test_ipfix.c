/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * IPFIX export: a UDP socket on 127.0.0.1 plays the collector, and the datagrams are
 * decoded here from RFC 7011 alone (message header, template sets, data sets with
 * variable-length strings), independently of libfixbuf; tshark, when installed, decodes
 * the same datagrams a second time. Checked: headers, templates before data,
 * sequence-number continuity, every element of every record, template refresh, and errors
 * (unresolvable host, bad arguments, a collector that is not listening, a failing send).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tap.h"
#include "ipfix.h"

#define PEN 32473
#define DOMAIN 4242
#define REFRESH_MSGS 100 /* TMPL_REFRESH_MSGS in src/ipfix.c */
#define VARLEN 65535
#define N_ELEMENTS 17 /* per template: 2 addresses, 12 common standard ones, 3 enterprise */

struct field {
	uint16_t id, len;
	uint32_t pen;
};

struct tmpl {
	uint16_t id;
	unsigned n;
	struct field f[32];
};

/* One decoded data record. */
struct drec {
	uint16_t tid;
	uint8_t src[16], dst[16];
	uint16_t sport, dport, icmp, vlan, tcp;
	uint8_t proto, dir;
	uint64_t octets, packets, l2, start, end;
	uint32_t tenant_id;
	char tenant[256], cls[256];
	unsigned fields; /* elements decoded */
};

struct msg {
	size_t size;
	uint16_t version, len;
	uint32_t export_time, seq, domain;
	unsigned n_data, n_tmpl, empty_sets;
	bool bad;		/* malformed */
	bool data_without_tmpl; /* a data set whose template was not seen before */
};

struct coll {
	int fd;
	uint16_t port;
	struct tmpl tmpls[8];
	size_t n_tmpls;
	struct msg msgs[1024];
	size_t n_msgs;
	struct drec *recs;
	size_t n_recs, cap;
	uint8_t *raw[16]; /* the first datagrams as received, for tshark */
	size_t raw_len[16], n_raw;
};

static uint64_t be(const uint8_t *p, unsigned len)
{
	uint64_t v = 0;

	while (len--)
		v = v << 8 | *p++;
	return v;
}

static struct tmpl *tmpl_find(struct coll *c, uint16_t id)
{
	size_t i;

	for (i = 0; i < c->n_tmpls; i++)
		if (c->tmpls[i].id == id)
			return &c->tmpls[i];
	return NULL;
}

static const struct field *tmpl_field(const struct tmpl *t, uint32_t pen, uint16_t id)
{
	unsigned i;

	for (i = 0; t && i < t->n; i++)
		if (t->f[i].pen == pen && t->f[i].id == id)
			return &t->f[i];
	return NULL;
}

/* A template set: records of (id, count, count specifiers). Returns false if malformed. */
static bool parse_templates(struct coll *c, struct msg *m, const uint8_t *p, size_t n)
{
	while (n >= 4) {
		uint16_t id = be(p, 2), cnt = be(p + 2, 2);
		struct tmpl *t;
		unsigned i;

		p += 4;
		n -= 4;
		if (id < 256 || cnt > 32)
			return false;
		t = tmpl_find(c, id);
		if (!t) {
			if (c->n_tmpls == 8)
				return false;
			t = &c->tmpls[c->n_tmpls++];
		}
		t->id = id;
		t->n = cnt;
		for (i = 0; i < cnt; i++) {
			if (n < 4)
				return false;
			t->f[i].id = be(p, 2) & 0x7fff;
			t->f[i].len = be(p + 2, 2);
			t->f[i].pen = 0;
			if (p[0] & 0x80) {
				if (n < 8)
					return false;
				t->f[i].pen = be(p + 4, 4);
				p += 4;
				n -= 4;
			}
			p += 4;
			n -= 4;
		}
		m->n_tmpl++;
	}
	return n == 0;
}

static void put(struct drec *r, const struct field *f, const uint8_t *v, unsigned len)
{
	char *s = NULL;

	r->fields++;
	if (f->pen == PEN) {
		switch (f->id) {
		case 1:
			r->tenant_id = be(v, len);
			return;
		case 2:
			s = r->tenant;
			break;
		case 3:
			s = r->cls;
			break;
		default:
			r->fields--;
			return;
		}
		memcpy(s, v, len < 255 ? len : 255);
		s[len < 255 ? len : 255] = '\0';
		return;
	}
	if (f->pen)
		return;
	switch (f->id) {
	case 8:
		memcpy(r->src, v, len < 4 ? len : 4);
		break;
	case 12:
		memcpy(r->dst, v, len < 4 ? len : 4);
		break;
	case 27:
		memcpy(r->src, v, len < 16 ? len : 16);
		break;
	case 28:
		memcpy(r->dst, v, len < 16 ? len : 16);
		break;
	case 7:
		r->sport = be(v, len);
		break;
	case 11:
		r->dport = be(v, len);
		break;
	case 4:
		r->proto = be(v, len);
		break;
	case 6:
		r->tcp = be(v, len);
		break;
	case 61:
		r->dir = be(v, len);
		break;
	case 58:
		r->vlan = be(v, len);
		break;
	case 1:
		r->octets = be(v, len);
		break;
	case 2:
		r->packets = be(v, len);
		break;
	case 352:
		r->l2 = be(v, len);
		break;
	case 152:
		r->start = be(v, len);
		break;
	case 153:
		r->end = be(v, len);
		break;
	case 32:
	case 139:
		r->icmp = be(v, len);
		break;
	default:
		r->fields--;
	}
}

/* A data set: records laid out by the template, until what is left cannot hold one
 * (RFC 7011 allows padding there). Variable-length fields: 1 length octet, or 255 and
 * 2 length octets. */
static bool parse_data(struct coll *c, struct msg *m, const struct tmpl *t, const uint8_t *p,
		       size_t n)
{
	size_t min = 0;
	unsigned i;

	for (i = 0; i < t->n; i++)
		min += t->f[i].len == VARLEN ? 1 : t->f[i].len;
	if (!min)
		return false;
	while (n >= min) {
		struct drec r = { .tid = t->id };

		for (i = 0; i < t->n; i++) {
			size_t len = t->f[i].len;

			if (len == VARLEN) {
				if (n < 1)
					return false;
				len = *p++;
				n--;
				if (len == 255) {
					if (n < 2)
						return false;
					len = be(p, 2);
					p += 2;
					n -= 2;
				}
			}
			if (n < len)
				return false;
			put(&r, &t->f[i], p, len);
			p += len;
			n -= len;
		}
		if (c->n_recs == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 64;
			c->recs = realloc(c->recs, c->cap * sizeof(*c->recs));
			if (!c->recs)
				abort();
		}
		c->recs[c->n_recs++] = r;
		m->n_data++;
	}
	return true;
}

static void parse(struct coll *c, const uint8_t *p, size_t n)
{
	struct msg *m = &c->msgs[c->n_msgs++];
	size_t off;

	memset(m, 0, sizeof(*m));
	m->size = n;
	if (n < 16) {
		m->bad = true;
		return;
	}
	m->version = be(p, 2);
	m->len = be(p + 2, 2);
	m->export_time = be(p + 4, 4);
	m->seq = be(p + 8, 4);
	m->domain = be(p + 12, 4);
	if (m->len != n) {
		m->bad = true;
		return;
	}
	for (off = 16; off < n;) {
		uint16_t id, len;
		const struct tmpl *t;

		if (n - off < 4) {
			m->bad = true;
			return;
		}
		id = be(p + off, 2);
		len = be(p + off + 2, 2);
		if (len < 4 || len > n - off) {
			m->bad = true;
			return;
		}
		if (len == 4)
			m->empty_sets++;
		if (id == 2) {
			if (!parse_templates(c, m, p + off + 4, len - 4))
				m->bad = true;
		} else if (id >= 256) {
			t = tmpl_find(c, id);
			if (!t)
				m->data_without_tmpl = true;
			else if (!parse_data(c, m, t, p + off + 4, len - 4))
				m->bad = true;
		} else if (id != 3) {
			m->bad = true;
		}
		off += len;
	}
}

/* Everything that arrived: the sender is synchronous on loopback, so what was sent is
 * queued by the time tg_ipfix_send() returns. */
static size_t drain(struct coll *c)
{
	static uint8_t buf[65536];
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	/* A short wait for the first, in case delivery lags; none for the rest. */
	if (poll(&pfd, 1, 500) != 1)
		return 0;
	while (c->n_msgs < sizeof(c->msgs) / sizeof(c->msgs[0])) {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			break;
		parse(c, buf, n);
		if (c->n_raw < 16 && (c->raw[c->n_raw] = malloc(n))) {
			memcpy(c->raw[c->n_raw], buf, n);
			c->raw_len[c->n_raw++] = n;
		}
		got++;
	}
	return got;
}

static int coll_open(struct coll *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int sz = 4 << 20;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	/* Room for every datagram of a batch; FORCE works as root, the plain one caps. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(c->fd, (struct sockaddr *)&sa, &sl)) {
		close(c->fd);
		return -1;
	}
	c->port = ntohs(sa.sin_port);
	return 0;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

/* The datagrams as a pcap of raw IPv4/UDP packets from 127.0.0.1 to 127.0.0.1:PORT. */
static int write_pcap(const char *path, const struct coll *c)
{
	uint32_t gh[6] = { 0xa1b2c3d4, 2 | 4 << 16, 0, 0, 65535, 101 /* LINKTYPE_RAW */ };
	FILE *f = fopen(path, "w");
	size_t i;
	int j;

	if (!f)
		return -1;
	fwrite(gh, sizeof(gh), 1, f);
	for (i = 0; i < c->n_raw; i++) {
		uint8_t h[28] = { 0x45, 0, 0,	0, 0, 0, 0x40, 0, 64, IPPROTO_UDP,
				  0,	0, 127, 0, 0, 1, 127,  0, 0,  1 };
		uint32_t ph[4] = { 1795226400 + i, 0, 28 + c->raw_len[i], 28 + c->raw_len[i] };
		uint32_t sum = 0;

		wr16(h + 2, 28 + c->raw_len[i]);
		wr16(h + 4, i + 1);
		for (j = 0; j < 20; j += 2)
			sum += h[j] << 8 | h[j + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		wr16(h + 10, ~sum);
		wr16(h + 20, 50000);
		wr16(h + 22, c->port);
		wr16(h + 24, 8 + c->raw_len[i]); /* UDP checksum 0: none */
		fwrite(ph, sizeof(ph), 1, f);
		fwrite(h, sizeof(h), 1, f);
		fwrite(c->raw[i], c->raw_len[i], 1, f);
	}
	return fclose(f);
}

static struct tg_flow_record rec4(const char *src, const char *dst, uint8_t proto, uint16_t sport,
				  uint16_t dport, uint64_t octets)
{
	struct tg_flow_record r = {
		.family = 4,
		.proto = proto,
		.tcp_flags = proto == IPPROTO_TCP ? 0x1b : 0,
		.dir = TG_DIR_EGRESS,
		.sport = sport,
		.dport = dport,
		.vlan_id = 100,
		.octets = octets,
		.l2_octets = octets + 14 * (octets / 100),
		.packets = octets / 100,
		.start_ms = UINT64_C(1795226400000) + octets,
		.end_ms = UINT64_C(1795226460000) + octets,
		.tenant_id = 7,
		.tenant = "acme",
		.class_name = "internet",
	};

	inet_pton(AF_INET, src, r.src);
	inet_pton(AF_INET, dst, r.dst);
	return r;
}

static struct tg_flow_record rec6(const char *src, const char *dst, uint8_t proto, uint16_t sport,
				  uint16_t dport, uint64_t octets)
{
	struct tg_flow_record r = {
		.family = 6,
		.proto = proto,
		.tcp_flags = 0,
		.dir = TG_DIR_INGRESS,
		.sport = sport,
		.dport = dport,
		.vlan_id = 0,
		.octets = octets,
		.l2_octets = octets + 18,
		.packets = 1,
		.start_ms = UINT64_C(1795226400123),
		.end_ms = UINT64_C(1795226400123),
		.tenant_id = 0x12345678,
		.tenant = "tenant-with-a-rather-long-name-of-47-characters",
		.class_name = "",
	};

	inet_pton(AF_INET6, src, r.src);
	inet_pton(AF_INET6, dst, r.dst);
	return r;
}

static bool icmp_rec(const struct tg_flow_record *s)
{
	return (s->family == 4 && s->proto == IPPROTO_ICMP) ||
	       (s->family == 6 && s->proto == IPPROTO_ICMPV6);
}

/* Every element, as sent; ICMP type and code in icmpTypeCode, ports zero. */
static bool rec_matches(const struct drec *d, const struct tg_flow_record *s)
{
	bool icmp = icmp_rec(s);
	uint16_t sport = icmp ? 0 : s->sport, dport = icmp ? 0 : s->dport;
	uint16_t itc = icmp ? (uint16_t)(s->sport << 8 | s->dport) : 0;

	return d->tid == (s->family == 4 ? 256 : 257) && d->fields == N_ELEMENTS &&
	       !memcmp(d->src, s->src, 16) && !memcmp(d->dst, s->dst, 16) && d->sport == sport &&
	       d->dport == dport && d->icmp == itc && d->proto == s->proto &&
	       d->tcp == s->tcp_flags && d->dir == s->dir && d->vlan == s->vlan_id &&
	       d->octets == s->octets && d->packets == s->packets && d->l2 == s->l2_octets &&
	       d->start == s->start_ms && d->end == s->end_ms && d->tenant_id == s->tenant_id &&
	       !strcmp(d->tenant, s->tenant) && !strcmp(d->cls, s->class_name);
}

static void drec_diag(const struct drec *d)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int af = d->tid == 256 ? AF_INET : AF_INET6;

	inet_ntop(af, d->src, src, sizeof(src));
	inet_ntop(af, d->dst, dst, sizeof(dst));
	tap_diag("decoded: template %u, %u elements, %s %u -> %s %u icmp %#x proto %u tcp %#x "
		 "dir %u vlan %u octets %" PRIu64 " packets %" PRIu64 " l2 %" PRIu64
		 " start %" PRIu64 " end %" PRIu64 " tenant %" PRIu32 " '%s' class '%s'",
		 d->tid, d->fields, src, d->sport, dst, d->dport, d->icmp, d->proto, d->tcp, d->dir,
		 d->vlan, d->octets, d->packets, d->l2, d->start, d->end, d->tenant_id, d->tenant,
		 d->cls);
}

/* The decoded record with these octets (unique per sent record), or NULL. */
static const struct drec *by_octets(const struct coll *c, size_t from, uint64_t octets)
{
	size_t i;

	for (i = from; i < c->n_recs; i++)
		if (c->recs[i].octets == octets)
			return &c->recs[i];
	return NULL;
}

/* Each message's sequence number is the count of data records in the earlier ones. */
static bool seq_continuous(const struct coll *c, uint64_t *total)
{
	uint64_t n = 0;
	size_t i;
	bool ok = true;

	for (i = 0; i < c->n_msgs; i++) {
		if (c->msgs[i].seq != (uint32_t)n) {
			tap_diag("message %zu: sequence %" PRIu32 ", expected %" PRIu64, i,
				 c->msgs[i].seq, n);
			ok = false;
		}
		n += c->msgs[i].n_data;
	}
	*total = n;
	return ok;
}

static bool all_well_formed(const struct coll *c, uint32_t t0, uint32_t t1)
{
	size_t i;

	for (i = 0; i < c->n_msgs; i++) {
		const struct msg *m = &c->msgs[i];

		if (m->bad || m->version != 10 || m->domain != DOMAIN || m->empty_sets ||
		    m->data_without_tmpl || m->export_time < t0 || m->export_time > t1 ||
		    m->size > 1500) {
			tap_diag("message %zu: bad=%d version=%u domain=%" PRIu32
				 " empty_sets=%u data_without_tmpl=%d time=%" PRIu32 " size=%zu",
				 i, m->bad, m->version, m->domain, m->empty_sets,
				 m->data_without_tmpl, m->export_time, m->size);
			return false;
		}
	}
	return true;
}

static bool tmpl_has(const struct tmpl *t, const uint16_t *ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!tmpl_field(t, 0, ids[i]))
			return false;
	return true;
}

static void test_templates(struct coll *c)
{
	static const uint16_t common[] = { 7, 11, 4, 6, 61, 58, 1, 2, 352, 152, 153 };
	static const uint16_t v4[] = { 8, 12, 32 }, v6[] = { 27, 28, 139 };
	const struct tmpl *t4 = tmpl_find(c, 256), *t6 = tmpl_find(c, 257);
	const struct field *f;
	int i;

	tap_check(c->n_msgs > 0 && c->msgs[0].n_tmpl == 2,
		  "the first message carries both templates (%u)",
		  c->n_msgs ? c->msgs[0].n_tmpl : 0);
	tap_check(t4 && t4->n == N_ELEMENTS && tmpl_has(t4, common, 11) && tmpl_has(t4, v4, 3) &&
			  !tmpl_field(t4, 0, 27),
		  "template 256: the IPv4 elements and no IPv6 address");
	tap_check(t6 && t6->n == N_ELEMENTS && tmpl_has(t6, common, 11) && tmpl_has(t6, v6, 3) &&
			  !tmpl_field(t6, 0, 8),
		  "template 257: the IPv6 elements and no IPv4 address");
	f = tmpl_field(t4, 0, 6);
	tap_check(f && f->len == 2, "tcpControlBits is 2 octets (RFC 7125)");
	for (i = 0; i < 2; i++) {
		const struct tmpl *t = i ? t6 : t4;
		const struct field *id = tmpl_field(t, PEN, 1), *name = tmpl_field(t, PEN, 2),
				   *cls = tmpl_field(t, PEN, 3);

		tap_check(id && id->len == 4 && name && name->len == VARLEN && cls &&
				  cls->len == VARLEN,
			  "template %d: tollgateTenantId/4, Name and ClassName variable, PEN %d",
			  i ? 257 : 256, PEN);
	}
}

/* Sums the comma-separated numbers of one tshark field. */
static void sum_list(char *s, uint64_t *sum, unsigned *n)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		*sum += strtoull(tok, NULL, 0);
		(*n)++;
	}
}

/* A second opinion on the same datagrams: Wireshark's IPFIX dissector. */
static void test_tshark(const struct coll *c, uint64_t octets_sum, unsigned n_records)
{
	char path[] = "/tmp/tg_ipfix.XXXXXX", cmd[512], line[4096];
	unsigned frames = 0, n_oct = 0, bad = 0, seq_ok = 0, v4 = 0, v6 = 0;
	uint64_t sum = 0;
	FILE *p;
	int fd;

	if (access("/usr/bin/tshark", X_OK)) {
		tap_diag("tshark not installed: no second decoder");
		return;
	}
	fd = mkstemp(path);
	if (fd < 0 || (close(fd), write_pcap(path, c))) {
		tap_check(0, "pcap for tshark");
		return;
	}
	/* One line per frame: version, domain, sequence, octets, IPv4 and IPv6 sources,
	 * malformed and expert flags (empty when none). */
	snprintf(cmd, sizeof(cmd),
		 "tshark -r %s -d udp.port==%u,cflow -T fields -E occurrence=a -e cflow.version "
		 "-e cflow.od_id -e cflow.sequence -e cflow.octets -e cflow.srcaddr "
		 "-e cflow.srcaddrv6 -e _ws.malformed -e _ws.expert.message 2>/dev/null",
		 path, c->port);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		char *col[8] = { 0 }, *s = line, *save = NULL;
		int i;

		line[strcspn(line, "\n")] = '\0';
		for (i = 0; i < 8; i++)
			col[i] = strsep(&s, "\t");
		if (!col[7]) {
			bad++;
			continue;
		}
		if (strcmp(col[0], "10") || strtoul(col[1], NULL, 0) != DOMAIN || col[6][0] ||
		    col[7][0])
			bad++;
		if (frames < c->n_msgs && strtoul(col[2], NULL, 0) == c->msgs[frames].seq)
			seq_ok++;
		sum_list(col[3], &sum, &n_oct);
		for (s = strtok_r(col[4], ",", &save); s; s = strtok_r(NULL, ",", &save))
			v4++;
		for (s = strtok_r(col[5], ",", &save); s; s = strtok_r(NULL, ",", &save))
			v6++;
		frames++;
	}
	if (p)
		pclose(p);
	unlink(path);
	tap_check(frames == c->n_raw && !bad && seq_ok == frames,
		  "tshark: %u messages, version 10, domain %d, same sequence numbers, nothing "
		  "malformed (bad=%u)",
		  frames, DOMAIN, bad);
	tap_check(n_oct == n_records && sum == octets_sum && v4 + v6 == n_records,
		  "tshark: %u records (%u IPv4, %u IPv6), octetDeltaCount sums to %" PRIu64, n_oct,
		  v4, v6, sum);
}

static void test_export(void)
{
	struct tg_flow_record first[] = {
		rec4("10.0.0.1", "192.0.2.10", IPPROTO_TCP, 40000, 443, 1000),
		rec6("2001:db8::1", "2001:db8:ffff::2", IPPROTO_UDP, 5353, 53, 2000),
		rec4("10.0.0.2", "198.51.100.7", IPPROTO_ICMP, 8, 0, 3000),
	};
	struct tg_flow_record second[] = {
		rec6("2001:db8::1", "ff02::1", IPPROTO_ICMPV6, 128, 0, 4000),
		rec4("10.0.0.3", "203.0.113.9", IPPROTO_UDP, 123, 123, 5000),
	};
	struct tg_flow_record *all[] = { &first[0], &first[1], &first[2], &second[0], &second[1] };
	struct tg_ipfix_conf conf = { .host = "127.0.0.1", .domain = DOMAIN };
	struct tg_ipfix *x = NULL;
	char port[16], err[256] = "";
	struct coll *c = calloc(1, sizeof(*c));
	uint64_t total;
	uint32_t t0, t1;
	size_t i, before, data_msgs, max_gap, refreshes;
	int rc1, rc2, rc, ok, n4;

	if (!c || coll_open(c)) {
		tap_check(0, "collector socket");
		free(c);
		return;
	}
	snprintf(port, sizeof(port), "%u", c->port);
	conf.port = port;
	rc = tg_ipfix_open(&conf, &x, err, sizeof(err));
	tap_check(rc == 0 && x, "open 127.0.0.1:%s (rc=%d %s)", port, rc, err);
	if (!x)
		goto out;
	tap_check(tg_ipfix_records_sent(x) == 0, "nothing sent yet");

	t0 = time(NULL);
	rc1 = tg_ipfix_send(x, first, 3);
	tap_check(rc1 == 0 && tg_ipfix_records_sent(x) == 3, "first send: 3 records (rc=%d)", rc1);
	rc2 = tg_ipfix_send(x, second, 2);
	tap_check(rc2 == 0 && tg_ipfix_records_sent(x) == 5, "second send: 5 in all (rc=%d)", rc2);
	t1 = time(NULL);
	drain(c);
	tap_check(c->n_msgs >= 3, "datagrams received (%zu)", c->n_msgs);
	tap_check(all_well_formed(c, t0, t1 + 1),
		  "every message: version 10, length, domain %d, export time, no empty set",
		  DOMAIN);
	ok = seq_continuous(c, &total);
	tap_check(ok && total == 5,
		  "sequence numbers count the data records before each message (%" PRIu64 ")",
		  total);
	test_templates(c);
	tap_check(c->n_recs == 5, "5 data records decoded (%zu)", c->n_recs);
	for (i = 0, n4 = 0; i < c->n_recs; i++)
		n4 += c->recs[i].tid == 256;
	tap_check(n4 == 3 && c->n_recs == 5, "3 through template 256, 2 through 257");
	for (i = 0; i < 5; i++) {
		const struct drec *d = by_octets(c, 0, all[i]->octets);

		if (!tap_check(
			    d && rec_matches(d, all[i]),
			    "record %zu (IPv%u proto %u): every element decodes to what was sent",
			    i, all[i]->family, all[i]->proto) &&
		    d)
			drec_diag(d);
	}
	{
		const struct drec *d = by_octets(c, 0, 3000);

		tap_check(d && d->sport == 0 && d->dport == 0 && d->icmp == 0x0800,
			  "ICMP echo request: icmpTypeCodeIPv4 0x0800, ports 0");
		d = by_octets(c, 0, 1000);
		tap_check(d && d->icmp == 0 && d->sport == 40000 && d->dport == 443,
			  "TCP: ports, icmpTypeCode 0");
		d = by_octets(c, 0, 4000);
		tap_check(d && d->sport == 0 && d->dport == 0 && d->icmp == 0x8000,
			  "ICMPv6 echo request: icmpTypeCodeIPv6 0x8000, ports 0");
	}

	test_tshark(c, 15000, 5);

	/* Many messages: templates again at least every REFRESH_MSGS data messages. */
	before = c->n_msgs;
	{
		struct tg_flow_record batch[60];
		size_t b, j, sent = 0, lost = 0, start = c->n_recs;
		uint64_t o = 100000;
		bool all_ok = true;

		for (b = 0; b < 40; b++) {
			for (j = 0; j < 60; j++) {
				batch[j] = j % 3 ? rec4("10.1.0.1", "192.0.2.1", IPPROTO_TCP,
							1000 + j, 80, o++)
						 : rec6("2001:db8::5", "2001:db8::6", IPPROTO_UDP,
							1000 + j, 53, o++);
			}
			all_ok &= tg_ipfix_send(x, batch, 60) == 0;
			sent += 60;
			drain(c);
		}
		tap_check(all_ok && tg_ipfix_records_sent(x) == 5 + sent,
			  "40 batches of 60: every send succeeds, %zu records counted", 5 + sent);
		for (o = 100000; o < 100000 + sent; o++)
			lost += !by_octets(c, start, o);
		tap_check(lost == 0 && c->n_recs == 5 + sent,
			  "all %zu records arrive (%zu missing)", sent, lost);
	}
	data_msgs = max_gap = refreshes = 0;
	for (i = before; i < c->n_msgs; i++) {
		if (c->msgs[i].n_tmpl) {
			refreshes++;
			data_msgs = 0;
		} else if (c->msgs[i].n_data && ++data_msgs > max_gap) {
			max_gap = data_msgs;
		}
	}
	tap_check(c->n_msgs - before > REFRESH_MSGS && refreshes >= 1 && max_gap <= REFRESH_MSGS,
		  "%zu messages: templates re-sent %zu times, at most %zu data messages apart",
		  c->n_msgs - before, refreshes, max_gap);
	ok = all_well_formed(c, t0, time(NULL) + 1) && seq_continuous(c, &total);
	tap_check(ok && total == tg_ipfix_records_sent(x),
		  "still continuous: sequence reaches records_sent (%" PRIu64 ")", total);

	/* Empty send: nothing on the wire, no error. */
	before = c->n_msgs;
	rc = tg_ipfix_send(x, NULL, 0);
	drain(c);
	tap_check(rc == 0 && c->n_msgs == before, "an empty send sends nothing");
	tg_ipfix_close(x);
out:
	close(c->fd);
	for (i = 0; i < c->n_raw; i++)
		free(c->raw[i]);
	free(c->recs);
	free(c);
}

static void test_errors(void)
{
	struct tg_ipfix_conf conf = { .host = "no-such-host.invalid", .port = "4739", .domain = 1 };
	struct tg_flow_record r = rec4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1, 2, 100);
	struct tg_ipfix *x = (struct tg_ipfix *)&conf;
	char err[256] = "";
	struct coll c;
	char port[16];
	int rc, rc2;

	rc = tg_ipfix_open(&conf, &x, err, sizeof(err));
	tap_check(rc < 0 && !x &&
			  strstr(err, "cannot resolve collector no-such-host.invalid:4739: "),
		  "unresolvable host: rc=%d, \"%s\"", rc, err);

	/* A name (not a literal) goes through the resolver threads. */
	conf.host = "localhost";
	rc = tg_ipfix_open(&conf, &x, err, sizeof(err));
	tap_check(rc == 0 && x, "a name that resolves: localhost (%s)", rc ? err : "ok");
	tg_ipfix_close(x);

	conf.host = NULL;
	err[0] = '\0';
	rc = tg_ipfix_open(&conf, &x, err, sizeof(err));
	tap_check(rc == -EINVAL && !x && err[0], "no host: -EINVAL, \"%s\"", err);

	conf.host = "127.0.0.1";
	conf.port = "no-such-service";
	rc = tg_ipfix_open(&conf, &x, err, sizeof(err));
	tap_check(rc < 0 && !x && strstr(err, "cannot resolve collector 127.0.0.1:no-such-service"),
		  "unknown service: \"%s\"", err);

	/* A collector that is not listening: UDP is fire and forget, the agent carries on. */
	if (coll_open(&c)) {
		tap_check(0, "collector socket");
		return;
	}
	close(c.fd);
	snprintf(port, sizeof(port), "%u", c.port);
	conf.port = port;
	err[0] = '\0';
	rc = tg_ipfix_open(&conf, &x, err, sizeof(err));
	tap_check(rc == 0, "open towards a closed port (%s)", err);
	if (rc)
		return;
	tap_check(tg_ipfix_send(x, &r, 1) == 0 && tg_ipfix_send(x, &r, 1) == 0 &&
			  tg_ipfix_records_sent(x) == 2,
		  "sends to a closed port succeed (refusals are not errors over UDP)");
	r.family = 5;
	rc = tg_ipfix_send(x, &r, 1);
	rc2 = tg_ipfix_send(x, NULL, 1);
	tap_check(rc == -EINVAL && rc2 == -EINVAL && tg_ipfix_records_sent(x) == 2,
		  "bad family or NULL records: -EINVAL, nothing counted");
	tg_ipfix_close(x);
	tg_ipfix_close(NULL);
}

/* A send that fails: UDP connect() to the broadcast address without SO_BROADCAST is
 * refused with EACCES, deterministically, when libfixbuf opens its socket. */
static void test_send_error(void)
{
	struct tg_ipfix_conf conf = { .host = "255.255.255.255", .port = "4739", .domain = 1 };
	struct tg_flow_record r = rec4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1, 2, 100);
	char path[] = "/tmp/tg_ipfix_err.XXXXXX", log[4096] = "", err[256] = "";
	struct tg_ipfix *x = NULL;
	int fd, saved, rc1, rc2, lines = 0;
	const char *p;
	ssize_t n;

	if (tg_ipfix_open(&conf, &x, err, sizeof(err))) {
		tap_check(0, "open towards the broadcast address (%s)", err);
		return;
	}
	fd = mkstemp(path);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	rc1 = tg_ipfix_send(x, &r, 1);
	rc2 = tg_ipfix_send(x, &r, 1);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, log, sizeof(log) - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	for (p = log; (p = strstr(p, "tollgate: ipfix: ")); p++)
		lines++;
	tap_check(rc1 == -EIO && rc2 == -EIO && tg_ipfix_records_sent(x) == 0,
		  "a failing send: -EIO twice, nothing counted (rc %d, %d)", rc1, rc2);
	tap_check(lines == 1 && !strncmp(log, "tollgate: ipfix: ", 17),
		  "the error is printed once, prefixed: %.*s", (int)strcspn(log, "\n"), log);
	tg_ipfix_close(x);
}

int main(void)
{
	test_export();
	test_errors();
	test_send_error();
	return tap_done();
}
