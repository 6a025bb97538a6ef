// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * udp_blast: pushes small UDP frames into interfaces as fast as one CPU can, for
 * bench/rule_scaling.sh. The frames go out through AF_PACKET sockets with the qdisc
 * bypassed (sendmmsg, one batch at a time), so the sender's own cost is small and the
 * same for every target. On a veth the receiving side runs in this thread's softirq (at
 * the local_bh_enable() after each transmit), so the thread's CPU time covers the whole
 * receive path, the filter under test included. Without CONFIG_IRQ_TIME_ACCOUNTING that
 * softirq time is charged to the thread, and the time other tasks take the CPU away is
 * not. Softirq work the kernel defers to ksoftirqd is not the thread's: with -k PID, the
 * run time of that ksoftirqd (its /proc/PID/schedstat) over each sample is reported
 * beside.
 *
 * Targets are interfaces in network namespaces, NETNS:IFACE (NETNS as `ip netns` names
 * it, "." for this one); -i IFACE is .:IFACE. Each target gets its own socket, opened in
 * its namespace, so one process alternates between configurations that live side by side
 * in separate namespaces. In each of -r rounds, in an order shuffled anew each round (so
 * no target always follows the same one; -S seeds it), every target gets a warm-up of -w
 * seconds, then a sample of -t seconds:
 *
 *   udp_blast -m DSTMAC -s SRC -d DST [-p PORT] [-l LEN] [-b BATCH] [-C CPU] [-k PID]
 *             [-r ROUNDS] [-t SECS] [-w SECS] [-S SEED] (-i IFACE | NETNS:IFACE...)
 *   -> one line per sample:
 *      round=R target=NETNS:IFACE packets=N cpu_ns=C ksoftirqd_ns=K wall_ns=W
 *      and one per target at the end: total target=NETNS:IFACE frames=F (warm-ups too)
 *
 *   udp_blast -m DSTMAC -s SRC -d DST -n COUNT (-i IFACE | NETNS:IFACE...)
 *   -> sends exactly COUNT frames to each target, and prints nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 256
#define MAX_TARGETS 64
#define FRAME_MAX 1514

struct target {
	const char *name; /* NETNS:IFACE as given */
	int fd;
	uint8_t frame[FRAME_MAX];
	struct sockaddr_ll sll;
	struct iovec iov;
	struct mmsghdr msgs[MAX_BATCH];
	uint64_t frames; /* everything sent, warm-ups included */
};

static struct target targets[MAX_TARGETS];
static int ntargets;

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: udp_blast -m DSTMAC -s SRC -d DST [-p PORT] [-l LEN] [-b BATCH] [-C CPU]\n"
		"                 [-k PID] [-r ROUNDS] [-t SECS] [-w SECS] [-S SEED] [-n COUNT]\n"
		"                 (-i IFACE | NETNS:IFACE...)\n"
		"  LEN: frame length without FCS, 60..1514 (default 60: 64 on a wire)\n");
	return 2;
}

static void fail(const char *what, const char *arg)
{
	fprintf(stderr, "udp_blast: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "",
		strerror(errno));
	exit(1);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static double parse_secs(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= 0 && v <= 3600)) {
		fprintf(stderr, "udp_blast: %s: not a number of seconds in [0, 3600]: %s\n", what,
			s);
		exit(2);
	}
	return v;
}

static long parse_long(const char *s, const char *what, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi) {
		fprintf(stderr, "udp_blast: %s: not an integer in [%ld, %ld]: %s\n", what, lo, hi,
			s);
		exit(2);
	}
	return v;
}

static uint16_t ip_csum(const void *hdr, size_t len)
{
	const uint8_t *p = hdr;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* The run time of task `pid` in ns (the first field of /proc/PID/schedstat); 0 for none. */
static uint64_t task_ns(long pid)
{
	unsigned long long ns = 0;
	char path[64];
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
	f = fopen(path, "r");
	if (!f)
		fail("cannot open", path);
	if (fscanf(f, "%llu", &ns) != 1) {
		fprintf(stderr, "udp_blast: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	return ns;
}

/*
 * Opens the target's socket in its namespace and builds its frame: from the interface's
 * MAC and SRC to DSTMAC and DST, UDP port 40000 to PORT, no UDP checksum (allowed over
 * IPv4).
 */
static void target_open(struct target *t, const uint8_t dmac[6], uint32_t src, uint32_t dst,
			int port, int len, int batch, int home)
{
	struct ether_header *eth = (struct ether_header *)t->frame;
	struct iphdr *ip = (struct iphdr *)(t->frame + sizeof(*eth));
	struct udphdr *udp = (struct udphdr *)(t->frame + sizeof(*eth) + sizeof(*ip));
	const char *colon = strchr(t->name, ':');
	struct ifreq ifr = { 0 };
	char ns[256];
	int one = 1;

	if (!colon || colon == t->name || !colon[1] || colon - t->name >= (long)sizeof(ns) ||
	    strlen(colon + 1) >= sizeof(ifr.ifr_name)) {
		fprintf(stderr, "udp_blast: not NETNS:IFACE: %s\n", t->name);
		exit(2);
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(colon - t->name), t->name);
	if (strcmp(ns, ".")) {
		char path[300];
		int nsfd;

		if (strchr(ns, '/') || !strcmp(ns, "..")) {
			fprintf(stderr, "udp_blast: not a namespace name: %s\n", ns);
			exit(2);
		}
		snprintf(path, sizeof(path), "/run/netns/%s", ns);
		nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0)
			fail("cannot open", path);
		if (setns(nsfd, CLONE_NEWNET))
			fail("cannot enter", path);
		close(nsfd);
	}
	t->fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: sends only, receives nothing */
	if (t->fd < 0)
		fail("socket(AF_PACKET) for", t->name);
	memcpy(ifr.ifr_name, colon + 1, strlen(colon + 1));
	if (ioctl(t->fd, SIOCGIFHWADDR, &ifr))
		fail("no interface", t->name);
	memcpy(eth->ether_shost, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(t->fd, SIOCGIFINDEX, &ifr))
		fail("no interface", t->name);
	if (setsockopt(t->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		fail("PACKET_QDISC_BYPASS on", t->name);
	if (strcmp(ns, ".") && setns(home, CLONE_NEWNET))
		fail("cannot go back to the first namespace from", t->name);

	t->sll.sll_family = AF_PACKET;
	t->sll.sll_ifindex = ifr.ifr_ifindex;
	t->sll.sll_protocol = htons(ETH_P_IP);
	t->sll.sll_halen = 6;
	memcpy(t->sll.sll_addr, dmac, 6);

	memcpy(eth->ether_dhost, dmac, 6);
	eth->ether_type = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = src;
	ip->daddr = dst;
	ip->tot_len = htons((uint16_t)(len - sizeof(*eth)));
	ip->check = ip_csum(ip, sizeof(*ip));
	udp->source = htons(40000);
	udp->dest = htons((uint16_t)port);
	udp->len = htons((uint16_t)(len - sizeof(*eth) - sizeof(*ip)));

	t->iov.iov_base = t->frame;
	t->iov.iov_len = (size_t)len;
	for (int i = 0; i < batch; i++) {
		t->msgs[i].msg_hdr.msg_name = &t->sll;
		t->msgs[i].msg_hdr.msg_namelen = sizeof(t->sll);
		t->msgs[i].msg_hdr.msg_iov = &t->iov;
		t->msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

/* Sends one batch of at most `n` frames; returns how many went, or exits on an error. */
static uint64_t send_batch(struct target *t, long n)
{
	int sent = sendmmsg(t->fd, t->msgs, (unsigned int)n, 0);

	if (sent < 0) {
		if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
			return 0;
		fail("sendmmsg to", t->name);
	}
	t->frames += (uint64_t)sent;
	return (uint64_t)sent;
}

/* Sends batches until `secs` have passed (one batch at least); returns the frames sent. */
static uint64_t blast(struct target *t, int batch, double secs)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9), sent = 0;

	do
		sent += send_batch(t, batch);
	while (now_ns(CLOCK_MONOTONIC) < end);
	return sent;
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *src = NULL, *dst = NULL, *dmac = NULL;
	double secs = 1.0, warm = 0.1;
	long port = 9, len = 60, batch = 32, cpu = -1, kpid = 0, count = 0, rounds = 1, seed = 1;
	int order[MAX_TARGETS];
	uint32_t saddr, daddr;
	uint8_t mac[6];
	int opt, home;

	while ((opt = getopt(argc, argv, "i:m:s:d:p:l:t:w:b:C:k:n:r:S:h")) != -1) {
		switch (opt) {
		case 'i':
			ifname = optarg;
			break;
		case 'm':
			dmac = optarg;
			break;
		case 's':
			src = optarg;
			break;
		case 'd':
			dst = optarg;
			break;
		case 'p':
			port = parse_long(optarg, "-p", 1, 65535);
			break;
		case 'l':
			len = parse_long(optarg, "-l", 60, FRAME_MAX);
			break;
		case 't':
			secs = parse_secs(optarg, "-t");
			break;
		case 'w':
			warm = parse_secs(optarg, "-w");
			break;
		case 'b':
			batch = parse_long(optarg, "-b", 1, MAX_BATCH);
			break;
		case 'C':
			cpu = parse_long(optarg, "-C", 0, CPU_SETSIZE - 1);
			break;
		case 'k':
			kpid = parse_long(optarg, "-k", 1, 1 << 22);
			break;
		case 'n':
			count = parse_long(optarg, "-n", 1, 1L << 40);
			break;
		case 'r':
			rounds = parse_long(optarg, "-r", 1, 1000000);
			break;
		case 'S':
			seed = parse_long(optarg, "-S", 0, 1L << 31);
			break;
		default:
			return usage();
		}
	}
	if (!src || !dst || !dmac || (ifname != NULL) == (optind < argc) ||
	    argc - optind > MAX_TARGETS)
		return usage();
	if (parse_mac(dmac, mac)) {
		fprintf(stderr, "udp_blast: -m: not a MAC address: %s\n", dmac);
		return 2;
	}
	if (inet_pton(AF_INET, src, &saddr) != 1 || inet_pton(AF_INET, dst, &daddr) != 1) {
		fprintf(stderr, "udp_blast: -s/-d: not IPv4 addresses: %s, %s\n", src, dst);
		return 2;
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET((int)cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			fail("sched_setaffinity", NULL);
	}

	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		fail("cannot open", "/proc/self/ns/net");
	if (ifname) {
		static char name[64];

		snprintf(name, sizeof(name), ".:%s", ifname);
		targets[ntargets++].name = name;
	}
	while (optind < argc)
		targets[ntargets++].name = argv[optind++];
	for (int i = 0; i < ntargets; i++)
		target_open(&targets[i], mac, saddr, daddr, (int)port, (int)len, (int)batch, home);

	if (count) {
		for (int i = 0; i < ntargets; i++)
			for (long left = count; left > 0;)
				left -= (long)send_batch(&targets[i], left < batch ? left : batch);
		return 0;
	}
	srandom((unsigned int)seed);
	for (int i = 0; i < ntargets; i++)
		order[i] = i;
	for (long r = 0; r < rounds; r++) {
		for (int i = ntargets - 1; i > 0; i--) { /* Fisher-Yates */
			int j = (int)(random() % (i + 1)), x = order[i];

			order[i] = order[j];
			order[j] = x;
		}
		for (int j = 0; j < ntargets; j++) {
			struct target *t = &targets[order[j]];
			uint64_t c0, w0, k0, n;

			if (warm > 0)
				blast(t, (int)batch, warm);
			k0 = task_ns(kpid);
			c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
			w0 = now_ns(CLOCK_MONOTONIC);
			n = blast(t, (int)batch, secs);
			c0 = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
			w0 = now_ns(CLOCK_MONOTONIC) - w0;
			k0 = task_ns(kpid) - k0;
			printf("round=%ld target=%s packets=%llu cpu_ns=%llu ksoftirqd_ns=%llu "
			       "wall_ns=%llu\n",
			       r + 1, t->name, (unsigned long long)n, (unsigned long long)c0,
			       (unsigned long long)k0, (unsigned long long)w0);
		}
	}
	for (int i = 0; i < ntargets; i++)
		printf("total target=%s frames=%llu\n", targets[i].name,
		       (unsigned long long)targets[i].frames);
	return 0;
}
