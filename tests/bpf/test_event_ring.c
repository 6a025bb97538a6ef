// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The event pipeline end to end below the agent: the kernel's event code (lib/enforce.h,
 * run by tests/bpf/ev_emit.bpf.c through BPF_PROG_TEST_RUN on the datapath's own maps)
 * -> the tg_events ring -> tg_events_drain() -> a JSON-lines file.
 *
 * Oracles: the runs the test asked for (each run is one enforcement or one send), the
 * frames the test built (addresses, ports, lengths), the test's own pid, uid and comm,
 * the clock around each run, and python3's json module for the file's syntax. Checked:
 * every field, rate limiting (one event, the rest carried in the next one's count), the
 * loss accounting with a ring filled past its size (produced = delivered + dropped),
 * user events, rotation by rename and by truncation, and a file that refuses writes
 * (nothing lost: the lines wait and go out once it can be written again).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "datapath.h"
#include "ev_emit.skel.h"
#include "events.h"
#include "tap.h"

#define ACME 5	  /* a tenant id with a name */
#define UNNAMED 9 /* an id with no name in the metadata */
#define FILL_RUNS 50000
#define BLOCK_RUNS 3000 /* lines of about 250 bytes: more than the 256 KiB buffer */

struct env {
	struct tg_datapath *dp;
	const struct tg_maps *m;
	struct ev_emit_bpf *skel;
	struct tg_applied ap;
	char dir[64], path[128];
};

static uint64_t now_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* 2026-01-02T03:04:05.678Z -> unix ns (ms precision); 0 when malformed. */
static uint64_t parse_time(const char *s)
{
	struct tm tm = {};
	unsigned ms;
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

	if (!p || sscanf(p, ".%3uZ", &ms) != 1 || strlen(p) != 5)
		return 0;
	return (uint64_t)timegm(&tm) * 1000000000ull + ms * 1000000ull;
}

/* Reads the file's lines (each must end in a newline) into lines[]; returns the count,
 * or -1 when the file ends inside a line. */
static int read_lines(const char *path, char ***lines)
{
	FILE *f = fopen(path, "r");
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;
	int count = 0;

	*lines = NULL;
	if (!f)
		return 0;
	while ((n = getline(&l, &cap, f)) > 0) {
		if (l[n - 1] != '\n') {
			count = -1;
			break;
		}
		l[n - 1] = '\0';
		*lines = realloc(*lines, (count + 1) * sizeof(char *));
		(*lines)[count++] = strdup(l);
	}
	free(l);
	fclose(f);
	return count;
}

static void free_lines(char **lines, int n)
{
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/* python3 parses every line as a JSON object; prints the count it parsed. */
static long json_lines_valid(const char *path)
{
	char cmd[512], out[32] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys\n"
		 "n=0\n"
		 "for l in open(sys.argv[1], encoding=\"utf-8\"):\n"
		 "    assert isinstance(json.loads(l), dict)\n"
		 "    n+=1\n"
		 "print(n)' %s",
		 path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(out, sizeof(out), p))
		out[0] = '\0';
	if (pclose(p) != 0)
		return -1;
	return strtol(out, NULL, 10);
}

static const char *get(const struct tg_evline *l, const char *key)
{
	const char *v = tg_evline_get(l, key);

	return v ? v : "(absent)";
}

static size_t frame4(uint8_t *b)
{
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00 };
	uint8_t ip[20] = { 0x45, 0, 0, 60, 0, 0, 0, 0, 64, 6 };
	uint8_t tcp[20] = { 0x30, 0x39, 0x00, 0x50 }; /* 12345 -> 80 */

	tcp[12] = 5 << 4;
	tcp[13] = 0x02;
	inet_pton(AF_INET, "10.1.0.2", ip + 12);
	inet_pton(AF_INET, "169.254.169.254", ip + 16);
	memcpy(b, eth, 14);
	memcpy(b + 14, ip, 20);
	memcpy(b + 34, tcp, 20);
	memset(b + 54, 'x', 20);
	return 74;
}

static size_t frame6(uint8_t *b)
{
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd };
	uint8_t ip[40] = { 0x60, 0, 0, 0, 0, 16, 17, 64 };
	uint8_t udp[8] = { 0x13, 0x88, 0x00, 0x35, 0, 16 }; /* 5000 -> 53 */

	inet_pton(AF_INET6, "fd00:2::7", ip + 8);
	inet_pton(AF_INET6, "fd00:1::2", ip + 24);
	memcpy(b, eth, 14);
	memcpy(b + 14, ip, 40);
	memcpy(b + 54, udp, 8);
	memset(b + 62, 'u', 8);
	return 70;
}

static int run(int prog_fd, const uint8_t *f, size_t len, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = len, .repeat = repeat);

	return bpf_prog_test_run_opts(prog_fd, &opts);
}

static uint64_t stat_of(const struct env *e, enum tg_stat s)
{
	uint64_t v[TG_STAT_MAX] = {};

	tg_maps_read_stats(e->m, v);
	return v[s];
}

static uint64_t delivered(const struct env *e)
{
	struct tg_state st = {};

	tg_state_read(e->m, &st);
	return st.events_delivered;
}

static struct tg_counter drops_of(const struct env *e, uint32_t tenant, uint32_t reason)
{
	struct tg_counter *c = calloc((size_t)(tenant + 1) * TG_REASON_SLOTS, sizeof(*c)), r = {};

	if (c && tg_maps_read_drops(e->m, c, tenant + 1) == 0)
		r = c[tenant * TG_REASON_SLOTS + reason];
	free(c);
	return r;
}

static int setup(struct env *e)
{
	struct bpf_map *map;

	if (tg_datapath_load(NULL, NULL, &e->dp))
		return -1;
	e->m = tg_datapath_maps(e->dp);
	e->skel = ev_emit_bpf__open();
	if (!e->skel)
		return -1;
		/* Every tg_ map of the vehicle is the datapath's own, by fd. */
#define X(n)                                                                             \
	map = bpf_object__find_map_by_name(e->skel->obj, "tg_" #n);                      \
	if (!map || bpf_map__set_pin_path(map, NULL) || bpf_map__reuse_fd(map, e->m->n)) \
		return -1;
	TG_MAP_NAMES
#undef X
	if (ev_emit_bpf__load(e->skel))
		return -1;
	e->ap.meta = calloc(TG_MAX_TENANTS, sizeof(*e->ap.meta));
	if (!e->ap.meta)
		return -1;
	snprintf(e->ap.meta[ACME].name, TG_NAME_MAX, "acme");
	e->ap.meta[ACME].flags = TG_TENANT_IN_USE | TG_TENANT_CONFIGURED;
	snprintf(e->dir, sizeof(e->dir), "/tmp/tg-evring.XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->path, sizeof(e->path), "%s/log/tollgate/events.json", e->dir);
	return 0;
}

/* Lets the next tg_enforced() of a cell speak, keeping what it suppressed: as if the
 * interval had passed (the test does not sleep through it). */
static uint64_t age_limit(const struct env *e, uint32_t tenant, uint32_t reason)
{
	uint32_t cell = tenant * TG_REASON_SLOTS + reason;
	struct tg_event_limit l = {};

	if (bpf_map_lookup_elem(e->m->event_limit, &cell, &l))
		return UINT64_MAX;
	l.last_ns = 1;
	bpf_map_update_elem(e->m->event_limit, &cell, &l, BPF_ANY);
	return l.suppressed;
}

int main(void)
{
	struct env e = {};
	struct tg_events *ev = NULL;
	struct tg_evline l;
	struct stat st;
	char **lines = NULL, sub[160], comm[32] = "", rotated[160];
	uint8_t f4[128], f6[128];
	size_t len4 = frame4(f4), len6 = frame6(f6);
	int pkt_fd, task_fd, n, r;
	uint64_t t0, t1, p0, d0, dl0, s0;

	tg_libbpf_quiet();
	if (!tap_check(setup(&e) == 0, "private datapath and the event vehicle load on its maps"))
		return tap_done();
	pkt_fd = bpf_program__fd(e.skel->progs.ev_emit_pkt);
	task_fd = bpf_program__fd(e.skel->progs.ev_emit_task);

	/* Opening: the directories are made 0700, the file 0600. */
	tap_check(tg_events_open(e.m, e.path, &ev) == 0,
		  "tg_events_open on a path whose directories are missing");
	if (!ev)
		return tap_done();
	snprintf(sub, sizeof(sub), "%s/log", e.dir);
	tap_check(!stat(sub, &st) && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
		  "a missing directory is created 0700");
	tap_check(!stat(e.path, &st) && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600,
		  "the file is created 0600");
	{
		struct pollfd p = { .fd = tg_events_fd(ev), .events = POLLIN };

		tap_check(p.fd >= 0 && poll(&p, 1, 0) == 0,
			  "the ring's descriptor is quiet while nothing waits");
	}

	/* 1. 100 drops of one tenant and reason within the interval: one event. */
	e.skel->bss->ev_mode = 0;
	e.skel->bss->ev_tenant = ACME;
	e.skel->bss->ev_reason = TG_REASON_DENY;
	e.skel->bss->ev_dir = TG_DIR_EGRESS;
	t0 = now_unix_ns();
	tap_check(run(pkt_fd, f4, len4, 100) == 0, "100 denied IPv4 frames run");
	t1 = now_unix_ns();
	{
		struct pollfd p = { .fd = tg_events_fd(ev), .events = POLLIN };

		tap_check(poll(&p, 1, 1000) == 1,
			  "the ring's descriptor polls readable once an event waits");
	}
	tap_equal_u64(tg_events_drain(ev, &e.ap), 1, "drain writes one event for 100 drops");
	tap_equal_u64(stat_of(&e, TG_STAT_EVENTS_PRODUCED), 1, "produced counts the one event");
	tap_equal_u64(stat_of(&e, TG_STAT_EVENTS_SUPPRESSED), 99, "suppressed counts the other 99");
	tap_equal_u64(drops_of(&e, ACME, TG_REASON_DENY).packets, 100,
		      "tg_drops (read by tg_maps_read_drops) counts all 100 frames");
	tap_equal_u64(drops_of(&e, ACME, TG_REASON_DENY).bytes, 100 * len4, "and their bytes");
	tap_equal_u64(delivered(&e), 1, "tg_state.events_delivered counts the written event");
	n = read_lines(e.path, &lines);
	tap_equal_u64(n, 1, "the file holds one whole line");
	if (n == 1 && !tg_evline_parse(lines[0], strlen(lines[0]), &l)) {
		uint64_t t = parse_time(tg_evline_get(&l, "time"));

		tap_check(t + 1000000 >= t0 - t0 % 1000000 && t <= t1,
			  "time is the moment of the drop, RFC 3339 UTC ms (%s)", get(&l, "time"));
		tap_check(!strcmp(get(&l, "type"), "enforce"), "type enforce");
		tap_check(!strcmp(get(&l, "tenant"), "acme"), "tenant by name");
		tap_check(!strcmp(get(&l, "reason"), "deny"), "reason deny");
		tap_check(!strcmp(get(&l, "action"), "drop"), "action drop");
		tap_check(!strcmp(get(&l, "direction"), "egress"), "direction egress");
		tap_check(!strcmp(get(&l, "src"), "10.1.0.2") &&
				  !strcmp(get(&l, "dst"), "169.254.169.254"),
			  "addresses of the frame");
		tap_check(!strcmp(get(&l, "sport"), "12345") && !strcmp(get(&l, "dport"), "80"),
			  "ports in host order");
		tap_check(!strcmp(get(&l, "proto"), "tcp"), "proto tcp");
		tap_check(!strcmp(get(&l, "count"), "1"), "count 1 for the first event");
		tap_check(!tg_evline_get(&l, "pid"), "no pid for a packet");
	} else {
		tap_check(0, "the line parses");
	}
	free_lines(lines, n);

	/* 2. The interval passes: the next drop's event carries the 99 suppressed. */
	tap_equal_u64(age_limit(&e, ACME, TG_REASON_DENY), 99,
		      "the limit cell holds the 99 suppressed");
	tap_check(run(pkt_fd, f4, len4, 1) == 0, "one more denied frame after the interval");
	tap_equal_u64(tg_events_drain(ev, &e.ap), 1, "one event");
	n = read_lines(e.path, &lines);
	r = n == 2 && !tg_evline_parse(lines[1], strlen(lines[1]), &l);
	tap_check(r && !strcmp(get(&l, "count"), "100"), "its count is 1 + the 99 suppressed (%s)",
		  r ? get(&l, "count") : "?");
	tap_equal_u64(drops_of(&e, ACME, TG_REASON_DENY).packets, 1 + 100,
		      "counts of the events add up to the drops (1 + 100 = 101)");
	free_lines(lines, n);

	/* 3. IPv6, an id without a name, ingress, segment. */
	e.skel->bss->ev_tenant = UNNAMED;
	e.skel->bss->ev_reason = TG_REASON_SEGMENT;
	e.skel->bss->ev_dir = TG_DIR_INGRESS;
	tap_check(run(pkt_fd, f6, len6, 1) == 0, "an IPv6 UDP frame runs");
	tap_equal_u64(tg_events_drain(ev, &e.ap), 1, "one event");
	n = read_lines(e.path, &lines);
	r = n == 3 && !tg_evline_parse(lines[2], strlen(lines[2]), &l);
	tap_check(r && !strcmp(get(&l, "tenant"), "tenant-9"), "an id with no name is tenant-N");
	tap_check(r && !strcmp(get(&l, "reason"), "segment") &&
			  !strcmp(get(&l, "direction"), "ingress"),
		  "reason segment, direction ingress");
	tap_check(r && !strcmp(get(&l, "src"), "fd00:2::7") &&
			  !strcmp(get(&l, "dst"), "fd00:1::2") &&
			  !strcmp(get(&l, "sport"), "5000") && !strcmp(get(&l, "dport"), "53") &&
			  !strcmp(get(&l, "proto"), "udp"),
		  "IPv6 addresses, ports, proto udp");
	free_lines(lines, n);

	/* 4. A refusal in a process's context: no packet, the caller's identity. */
	e.skel->bss->ev_tenant = TG_TENANT_UNATTRIBUTED;
	e.skel->bss->ev_reason = TG_REASON_CONN_CAP;
	{
		FILE *c = fopen("/proc/thread-self/comm", "r");

		if (c) {
			if (fgets(comm, sizeof(comm), c))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(c);
		}
	}
	tap_check(run(task_fd, f4, len4, 1) == 0, "a connection refusal runs in this process");
	tap_equal_u64(tg_events_drain(ev, &e.ap), 1, "one event");
	n = read_lines(e.path, &lines);
	r = n == 4 && !tg_evline_parse(lines[3], strlen(lines[3]), &l);
	{
		char pid[16], uid[16];

		snprintf(pid, sizeof(pid), "%d", getpid());
		snprintf(uid, sizeof(uid), "%u", getuid());
		tap_check(r && !strcmp(get(&l, "pid"), pid) && !strcmp(get(&l, "uid"), uid) &&
				  !strcmp(get(&l, "comm"), comm),
			  "pid, uid and comm are this process's (%s %s %s)", pid, uid, comm);
	}
	tap_check(r && !strcmp(get(&l, "tenant"), "unattributed") &&
			  !strcmp(get(&l, "reason"), "conn_cap") &&
			  !strcmp(get(&l, "action"), "refuse"),
		  "tenant unattributed, reason conn_cap, action refuse");
	tap_check(r && !tg_evline_get(&l, "direction") && !tg_evline_get(&l, "src") &&
			  !tg_evline_get(&l, "proto"),
		  "no direction, addresses or proto without a packet");
	free_lines(lines, n);

	/* 5. A quota event: no reason, the bytes used. */
	e.skel->bss->ev_mode = 1;
	e.skel->bss->ev_type = TG_EV_QUOTA_EXCEEDED;
	e.skel->bss->ev_tenant = ACME;
	e.skel->bss->ev_reason = TG_REASON_NONE;
	e.skel->bss->ev_value = 5000123;
	tap_check(run(task_fd, f4, len4, 1) == 0 && tg_events_drain(ev, &e.ap) == 1,
		  "a quota_exceeded event is drained");
	n = read_lines(e.path, &lines);
	r = n == 5 && !tg_evline_parse(lines[4], strlen(lines[4]), &l);
	tap_check(r && !strcmp(get(&l, "type"), "quota_exceeded") &&
			  !strcmp(get(&l, "used"), "5000123") && !tg_evline_get(&l, "reason") &&
			  !tg_evline_get(&l, "action"),
		  "type quota_exceeded, used = the bytes, no reason or action");
	free_lines(lines, n);

	/* 6. A user-space event: same file, not counted as delivered. */
	dl0 = delivered(&e);
	tap_check(tg_events_user(ev, "quota_reset", "acme", "\"used\":123,\"quota\":456") == 0,
		  "tg_events_user writes");
	tap_check(tg_events_user(ev, "x", "acme", "\"a\":1\n{") == -EINVAL,
		  "an extra with a newline is refused (one event, one line)");
	n = read_lines(e.path, &lines);
	r = n == 6 && !tg_evline_parse(lines[5], strlen(lines[5]), &l);
	tap_check(r && !strcmp(get(&l, "type"), "quota_reset") &&
			  !strcmp(get(&l, "tenant"), "acme") && !strcmp(get(&l, "used"), "123") &&
			  !strcmp(get(&l, "quota"), "456") && parse_time(tg_evline_get(&l, "time")),
		  "the user event has time, type, tenant and the extra members");
	tap_equal_u64(delivered(&e), dl0, "user events do not count as delivered");
	free_lines(lines, n);

	/* 7. Overflow: more sends than the ring holds. */
	e.skel->bss->ev_type = TG_EV_ENFORCE;
	e.skel->bss->ev_reason = TG_REASON_RATE;
	p0 = stat_of(&e, TG_STAT_EVENTS_PRODUCED);
	d0 = stat_of(&e, TG_STAT_EVENTS_DROPPED);
	s0 = stat_of(&e, TG_STAT_EVENTS_SUPPRESSED);
	dl0 = delivered(&e);
	tap_check(run(pkt_fd, f4, len4, FILL_RUNS) == 0, "%d sends run without draining",
		  FILL_RUNS);
	tap_equal_u64(stat_of(&e, TG_STAT_EVENTS_PRODUCED) - p0, FILL_RUNS,
		      "produced counts every send");
	tap_check(stat_of(&e, TG_STAT_EVENTS_DROPPED) > d0, "the ring filled: %llu dropped",
		  (unsigned long long)(stat_of(&e, TG_STAT_EVENTS_DROPPED) - d0));
	r = tg_events_drain(ev, &e.ap);
	tap_equal_u64(r, FILL_RUNS - (stat_of(&e, TG_STAT_EVENTS_DROPPED) - d0),
		      "drain writes every event the ring took (produced - dropped)");
	tap_equal_u64(tg_events_drain(ev, &e.ap), 0, "nothing left in the ring");
	tap_equal_u64(stat_of(&e, TG_STAT_EVENTS_PRODUCED),
		      delivered(&e) + stat_of(&e, TG_STAT_EVENTS_DROPPED),
		      "produced = delivered + dropped");
	tap_equal_u64(stat_of(&e, TG_STAT_EVENTS_SUPPRESSED), s0,
		      "unlimited sends suppress nothing");
	n = read_lines(e.path, &lines);
	free_lines(lines, n > 0 ? n : 0);
	tap_equal_u64(n, 6 + delivered(&e) - dl0,
		      "the file holds whole lines only, one per delivered event (+1 user)");
	tap_equal_u64(json_lines_valid(e.path), n, "python3 json.loads accepts every line");

	/* 8. Rotation by rename: the next drain writes to a new file at the path. */
	snprintf(rotated, sizeof(rotated), "%s.1", e.path);
	tap_check(rename(e.path, rotated) == 0, "the file is renamed away");
	tap_check(run(pkt_fd, f4, len4, 1) == 0 && tg_events_drain(ev, &e.ap) == 1,
		  "an event after the rename");
	n = read_lines(e.path, &lines);
	free_lines(lines, n > 0 ? n : 0);
	tap_equal_u64(n, 1, "it is in a new file at the path");
	tap_check(!stat(e.path, &st) && (st.st_mode & 0777) == 0600, "the new file is 0600");
	/* and by truncation (copytruncate): O_APPEND writes at the new end */
	tap_check(truncate(e.path, 0) == 0, "the file is truncated");
	tap_check(run(pkt_fd, f4, len4, 1) == 0 && tg_events_drain(ev, &e.ap) == 1,
		  "an event after the truncation");
	n = read_lines(e.path, &lines);
	tap_check(n == 1 && !stat(e.path, &st) && (size_t)st.st_size == strlen(lines[0]) + 1,
		  "the file holds only that line, from offset 0");
	free_lines(lines, n > 0 ? n : 0);
	tg_events_close(ev);

	/* 9. A file that refuses writes (/dev/full): nothing is lost, nothing is counted as
	 * delivered; once the path is writable again the waiting lines go out. */
	snprintf(sub, sizeof(sub), "%s/full.json", e.dir);
	tap_check(symlink("/dev/full", sub) == 0 && tg_events_open(e.m, sub, &ev) == 0,
		  "events opened on a path that is /dev/full");
	dl0 = delivered(&e);
	p0 = stat_of(&e, TG_STAT_EVENTS_PRODUCED);
	d0 = stat_of(&e, TG_STAT_EVENTS_DROPPED);
	tap_check(run(pkt_fd, f4, len4, 3) == 0, "three events");
	tap_equal_u64(tg_events_drain(ev, &e.ap), (uint64_t)-ENOSPC, "drain reports ENOSPC");
	tap_equal_u64(delivered(&e), dl0, "nothing counted as delivered");
	tap_equal_u64(stat_of(&e, TG_STAT_EVENTS_PRODUCED) - p0 -
			      (stat_of(&e, TG_STAT_EVENTS_DROPPED) - d0),
		      3, "the three are pending (produced - dropped - delivered)");
	/* more than the agent's buffer holds: the rest stays in the ring, which must not
	 * wake the agent while nothing can be written */
	tap_check(run(pkt_fd, f4, len4, BLOCK_RUNS) == 0, "%d more events", BLOCK_RUNS);
	tap_equal_u64(tg_events_drain(ev, &e.ap), (uint64_t)-ENOSPC, "drain reports ENOSPC again");
	{
		struct pollfd p = { .fd = tg_events_fd(ev), .events = POLLIN };

		tap_check(poll(&p, 1, 0) == 0,
			  "the descriptor stays quiet while the file refuses lines (no busy loop)");
	}
	tap_equal_u64(delivered(&e), dl0, "still nothing counted as delivered");
	tap_check(unlink(sub) == 0, "the path becomes writable (the link is removed)");
	tap_equal_u64(tg_events_drain(ev, &e.ap), 3 + BLOCK_RUNS,
		      "the next drain writes every waiting line, buffered or in the ring");
	tap_equal_u64(delivered(&e), dl0 + 3 + BLOCK_RUNS, "and counts them delivered");
	n = read_lines(sub, &lines);
	free_lines(lines, n > 0 ? n : 0);
	tap_equal_u64(n, 3 + BLOCK_RUNS, "as whole lines in the new file");
	tap_equal_u64(stat_of(&e, TG_STAT_EVENTS_PRODUCED),
		      delivered(&e) + stat_of(&e, TG_STAT_EVENTS_DROPPED),
		      "produced = delivered + dropped at the end");
	{
		struct pollfd p = { .fd = tg_events_fd(ev), .events = POLLIN };

		tap_check(poll(&p, 1, 0) == 0 && run(pkt_fd, f4, len4, 1) == 0 &&
				  poll(&p, 1, 1000) == 1,
			  "the descriptor wakes again for the next event");
	}
	tg_events_close(ev);

	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", e.dir);
		if (system(cmd))
			tap_diag("could not remove %s", e.dir);
	}
	ev_emit_bpf__destroy(e.skel);
	tg_datapath_close(e.dp);
	free(e.ap.meta);
	return tap_done();
}
