/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The flow table as user space sees it: entries summed over CPUs, read in batches (with
 * a per-key fallback), and printed. Shared by `tollgate flows`, replay, the IPFIX
 * exporter and the benchmarks.
 */
#ifndef TG_FLOWS_H
#define TG_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "datapath.h"
#include "tollgate.h"

struct tg_flow_entry {
	struct tg_flow_key key;
	struct tg_flow val; /* summed over CPUs: first_ns the earliest, last_ns the latest */
};

enum tg_flow_read_mode {
	TG_FLOW_READ_AUTO,    /* batch, per-key when the kernel has no batch ops */
	TG_FLOW_READ_BATCH,   /* batch only */
	TG_FLOW_READ_PER_KEY, /* get_next_key + lookup: the fallback, and the bench baseline */
};

/* Reads every entry. *out is allocated (free it); entries changing while they are read
 * are read at some instant of the call. Returns 0 or a negative errno. */
int tg_flows_read(int fd, enum tg_flow_read_mode mode, struct tg_flow_entry **out, size_t *n);
/* Entries in the table, counted with batch reads (per-key when batch is missing). */
int tg_flows_count(int fd, size_t *n);
/* Sorts entries by key, for tg_flow_delta. */
void tg_flows_sort_by_key(struct tg_flow_entry *e, size_t n);
/* What a flow carried since an earlier read of the table (prev, sorted by key, n entries):
 * its whole count when it is new, or was evicted and recreated in between. */
void tg_flow_delta(const struct tg_flow_entry *now, const struct tg_flow_entry *prev, size_t n,
		   uint64_t *bytes, uint64_t *packets);
/* Sums one entry's per-CPU values (cpus copies at vals) into *out. */
void tg_flow_sum(const struct tg_flow *vals, int cpus, struct tg_flow *out);

/* "tcp", "udp", "icmp", "icmpv6", or the number. */
const char *tg_proto_name(uint8_t proto, char *buf, size_t len);
/* The source (dst false) or destination address of a key, as text. */
void tg_flow_addr(const struct tg_flow_key *k, bool dst, char *buf, size_t len);
/* RFC 3339 UTC with milliseconds, from unix nanoseconds. */
void tg_format_time_ns(uint64_t ns, char *buf, size_t len);

/* Names for the JSON output. */
struct tg_flow_names {
	const struct tg_tenant_meta *tenants; /* TG_MAX_TENANTS, or NULL */
	const struct tg_class_meta *classes;  /* TG_MAX_CLASSES, or NULL */
	int64_t clock_offset_ns;	      /* added to first/last_ns to get unix time */
};

/* One flow as a JSON object (DESIGN.md names); extra, when not NULL, is printed inside
 * the object after the standard keys (e.g. rates). */
void tg_flow_json(FILE *out, const struct tg_flow_entry *e, const struct tg_flow_names *nm,
		  const char *extra);
/* The flow-table accounting: created by the kernel, live now, removed by the agent. */
struct tg_flow_table_stats {
	uint64_t capacity, created, live, removed, evictions;
};
/* unix time minus CLOCK_MONOTONIC, now: turns bpf_ktime_get_ns stamps into unix time. */
int64_t tg_monotonic_offset_ns(void);

#endif /* TG_FLOWS_H */
