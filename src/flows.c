// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reading the flow table. A batch call copies many entries (every CPU's value of each)
 * per system call; the per-key walk costs two calls per entry. Both see each entry at
 * some instant of the read: counters only grow, so nothing read is ever too large.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flows.h"
#include "json.h"
#include "store.h"

#define BATCH 8192

void tg_flow_sum(const struct tg_flow *vals, int cpus, struct tg_flow *out)
{
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < cpus; c++) {
		const struct tg_flow *v = &vals[c];

		out->packets += v->packets;
		out->bytes += v->bytes;
		if (v->first_ns && (!out->first_ns || v->first_ns < out->first_ns))
			out->first_ns = v->first_ns;
		if (v->last_ns > out->last_ns) {
			out->last_ns = v->last_ns;
			out->class_id = v->class_id; /* the latest CPU's view of the class */
		}
		out->tcp_flags |= v->tcp_flags;
	}
}

static int cmp_key(const void *x, const void *y)
{
	return memcmp(&((const struct tg_flow_entry *)x)->key,
		      &((const struct tg_flow_entry *)y)->key, sizeof(struct tg_flow_key));
}

void tg_flows_sort_by_key(struct tg_flow_entry *e, size_t n)
{
	if (n)
		qsort(e, n, sizeof(*e), cmp_key);
}

void tg_flow_delta(const struct tg_flow_entry *now, const struct tg_flow_entry *prev, size_t n,
		   uint64_t *bytes, uint64_t *packets)
{
	const struct tg_flow_entry *old = n ? bsearch(now, prev, n, sizeof(*prev), cmp_key) : NULL;

	*bytes = now->val.bytes;
	*packets = now->val.packets;
	/* a flow evicted and recreated in the window starts again from zero */
	if (old && now->val.bytes >= old->val.bytes) {
		*bytes -= old->val.bytes;
		*packets -= old->val.packets;
	}
}

static int grow(struct tg_flow_entry **out, size_t *cap, size_t need)
{
	struct tg_flow_entry *p;
	size_t ncap = *cap ? *cap : BATCH;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*out, ncap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	*out = p;
	*cap = ncap;
	return 0;
}

static int read_per_key(int fd, int cpus, struct tg_flow *vals, struct tg_flow_entry **out,
			size_t *n, size_t *cap)
{
	struct tg_flow_key key, next, *prev = NULL;
	int err;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue; /* evicted between the two calls */
		err = grow(out, cap, *n + 1);
		if (err)
			return err;
		(*out)[*n].key = key;
		tg_flow_sum(vals, cpus, &(*out)[*n].val);
		(*n)++;
	}
	return 0;
}

static int read_batch(int fd, int cpus, struct tg_flow *vals, struct tg_flow_entry **out, size_t *n,
		      size_t *cap)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct tg_flow_key *keys = calloc(BATCH, sizeof(*keys));
	uint32_t batch = 0, count;
	bool first = true;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (;;) {
		count = BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &count,
					   &opts);
		if (err)
			err = -errno;
		if (err && err != -ENOENT)
			break;
		first = false;
		if (!out) {
			*n += count; /* counting only */
		} else if (grow(out, cap, *n + count)) {
			err = -ENOMEM;
			break;
		}
		for (uint32_t i = 0; out && i < count; i++) {
			(*out)[*n].key = keys[i];
			tg_flow_sum(&vals[(size_t)i * cpus], cpus, &(*out)[*n].val);
			(*n)++;
		}
		if (err == -ENOENT) {
			err = 0; /* the table ended */
			break;
		}
	}
	free(keys);
	return err;
}

int tg_flows_read(int fd, enum tg_flow_read_mode mode, struct tg_flow_entry **out, size_t *n)
{
	int cpus = libbpf_num_possible_cpus();
	struct tg_flow *vals;
	size_t cap = 0;
	int err;

	*out = NULL;
	*n = 0;
	if (cpus <= 0)
		return cpus ? cpus : -EINVAL;
	vals = calloc((size_t)BATCH * cpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	{
		/* Room for a full table up front: growing a large result by realloc copies
		 * it over and over, which costs more than the reads themselves. */
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.max_entries &&
		    grow(out, &cap, info.max_entries)) {
			free(vals);
			return -ENOMEM;
		}
	}
	if (mode == TG_FLOW_READ_PER_KEY) {
		err = read_per_key(fd, cpus, vals, out, n, &cap);
	} else {
		err = read_batch(fd, cpus, vals, out, n, &cap);
		if ((err == -EINVAL || err == -524 /* ENOTSUPP */ || err == -EOPNOTSUPP) && !*n &&
		    mode == TG_FLOW_READ_AUTO)
			err = read_per_key(fd, cpus, vals, out, n, &cap);
	}
	free(vals);
	if (err) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

int tg_flows_count(int fd, size_t *n)
{
	int cpus = libbpf_num_possible_cpus();
	struct tg_flow *vals;
	int err;

	*n = 0;
	if (cpus <= 0)
		return cpus ? cpus : -EINVAL;
	vals = calloc((size_t)BATCH * cpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	size_t unused = 0;

	err = read_batch(fd, cpus, vals, NULL, n, &unused);
	free(vals);
	if ((err == -EINVAL || err == -524 /* ENOTSUPP */ || err == -EOPNOTSUPP) && !*n) {
		int c = tg_map_count(fd, sizeof(struct tg_flow_key));

		if (c < 0)
			return c;
		*n = c;
		err = 0;
	}
	return err;
}

const char *tg_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

void tg_flow_addr(const struct tg_flow_key *k, bool dst, char *buf, size_t len)
{
	const uint8_t *a = dst ? k->dst : k->src;

	if (!inet_ntop(k->family == 4 ? AF_INET : AF_INET6, a, buf, len))
		snprintf(buf, len, "?");
}

void tg_format_time_ns(uint64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000ull);
	unsigned ms = (unsigned)(ns / 1000000ull % 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

int64_t tg_monotonic_offset_ns(void)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000ll + (rt.tv_nsec - mono.tv_nsec);
}

void tg_flow_json(FILE *out, const struct tg_flow_entry *e, const struct tg_flow_names *nm,
		  const char *extra)
{
	const struct tg_flow_key *k = &e->key;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pbuf[8], cls[TG_CLASS_NAME_MAX];
	char start[40], end[40];

	tg_flow_addr(k, false, src, sizeof(src));
	tg_flow_addr(k, true, dst, sizeof(dst));
	tg_class_name(nm->classes, e->val.class_id, cls, sizeof(cls));
	tg_format_time_ns(e->val.first_ns + nm->clock_offset_ns, start, sizeof(start));
	tg_format_time_ns(e->val.last_ns + nm->clock_offset_ns, end, sizeof(end));

	fputs("{\"tenant\": ", out);
	if (k->tenant_id && k->tenant_id < TG_MAX_TENANTS && nm->tenants &&
	    nm->tenants[k->tenant_id].name[0])
		tg_json_string(out, nm->tenants[k->tenant_id].name);
	else if (k->tenant_id)
		fprintf(out, "\"tenant-%u\"", k->tenant_id);
	else
		fputs("null", out);
	fputs(", \"class\": ", out);
	tg_json_string(out, cls);
	fprintf(out, ", \"direction\": \"%s\", \"family\": %u", tg_dir_name(k->dir), k->family);
	fprintf(out, ", \"src\": \"%s\", \"dst\": \"%s\", \"sport\": %u, \"dport\": %u", src, dst,
		ntohs(k->sport), ntohs(k->dport));
	if (k->proto == 6 || k->proto == 17 || k->proto == 1 || k->proto == 58)
		fprintf(out, ", \"proto\": \"%s\"", tg_proto_name(k->proto, pbuf, sizeof(pbuf)));
	else
		fprintf(out, ", \"proto\": %u", k->proto);
	fputs(", \"vlan\": [", out);
	for (int i = 0; i < k->vlans && i < 2; i++)
		fprintf(out, "%s%u", i ? ", " : "", k->vlan_id[i]);
	fprintf(out,
		"], \"orphan_fragments\": %s, \"packets\": %" PRIu64 ", \"bytes\": %" PRIu64
		", \"tcp_flags\": %u, \"start\": \"%s\", \"end\": \"%s\"",
		k->flags & TG_FLOW_ORPHAN_FRAGS ? "true" : "false", (uint64_t)e->val.packets,
		(uint64_t)e->val.bytes, e->val.tcp_flags, start, end);
	if (extra)
		fprintf(out, ", %s", extra);
	fputc('}', out);
}
