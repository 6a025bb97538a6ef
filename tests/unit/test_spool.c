/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The billing spool: records come back in order and intact; a torn or corrupt last
 * record (cut at every byte of it, a flipped byte, trailing garbage) is cut off and the
 * records before it are kept; appends after a torn tail are readable; clear empties the
 * file; the file is mode 0600; a SIGKILL at a random instant while appending leaves only
 * whole records. Sizes and modes are checked with stat(2), as a user would.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "spool.h"

static char tmpdir[] = "/tmp/tg_spool.XXXXXX";
static char path[PATH_MAX];

/* Harvest number k: its fields are all derived from k, so a replay can check them. */
static void make(int k, struct tg_harvest *h, struct tg_sample *smp, size_t nsmp)
{
	memset(h, 0, sizeof(*h));
	memset(smp, 0, nsmp * sizeof(*smp));
	h->node = k % 2 ? "node-a" : "node-bb";
	h->epoch[0] = 0x1111000000000000ull + (uint64_t)k;
	h->epoch[1] = ~(uint64_t)k;
	h->interval_start = INT64_C(1795226400) + 10 * k;
	h->interval = 10;
	for (size_t i = 0; i < nsmp; i++) {
		smp[i].tenant_id = (uint32_t)(i + 1);
		snprintf(smp[i].tenant, sizeof(smp[i].tenant), "tenant-%zu-%d", i, k);
		smp[i].class_id = (uint32_t)(i % 8);
		snprintf(smp[i].class_name, sizeof(smp[i].class_name), "class%zu", i % 8);
		smp[i].dir = (int)(i % 2);
		smp[i].bytes = UINT64_MAX - (uint64_t)k * 1000 - i; /* full 64 bits */
		smp[i].packets = (uint64_t)k * 7 + i;
	}
	h->samples = smp;
	h->n_samples = nsmp;
}

static size_t nsamples_of(int k)
{
	return (size_t)((k + 3) % 4); /* 0 to 3 samples: an empty harvest is a record too */
}

static int append_k(struct tg_spool *sp, int k)
{
	struct tg_sample smp[4];
	struct tg_harvest h;

	make(k, &h, smp, nsamples_of(k));
	return tg_spool_append(sp, &h);
}

struct seen {
	int next;	/* the k expected next */
	int bad;	/* records that differ from make(k) */
	int stop_after; /* return -ECANCELED after this many (0 = never) */
	int calls;
};

static bool same(const struct tg_harvest *a, const struct tg_harvest *b)
{
	if (strcmp(a->node, b->node) || a->epoch[0] != b->epoch[0] || a->epoch[1] != b->epoch[1] ||
	    a->interval_start != b->interval_start || a->interval != b->interval ||
	    a->n_samples != b->n_samples)
		return false;
	for (size_t i = 0; i < a->n_samples; i++) {
		const struct tg_sample *x = &a->samples[i], *y = &b->samples[i];

		if (x->tenant_id != y->tenant_id || x->class_id != y->class_id ||
		    x->dir != y->dir || x->bytes != y->bytes || x->packets != y->packets ||
		    strcmp(x->tenant, y->tenant) || strcmp(x->class_name, y->class_name))
			return false;
	}
	return true;
}

static int check_cb(void *ctx, const struct tg_harvest *h)
{
	struct seen *s = ctx;
	struct tg_sample smp[4];
	struct tg_harvest want;

	make(s->next, &want, smp, nsamples_of(s->next));
	if (!same(h, &want))
		s->bad++;
	s->next++;
	s->calls++;
	if (s->stop_after && s->calls >= s->stop_after)
		return -ECANCELED;
	return 0;
}

/* Replays and checks that records 0..n-1 come back, in order, equal. */
static void expect_records(struct tg_spool *sp, int n, const char *what)
{
	struct seen s = { 0 };
	int err = tg_spool_replay(sp, check_cb, &s);

	tap_check(err == 0 && s.calls == n && s.bad == 0 && (int)tg_spool_records(sp) == n,
		  "%s: %d records replayed in order and equal (err %d, got %d, %d differ, "
		  "count %zu)",
		  what, n, err, s.calls, s.bad, tg_spool_records(sp));
}

static off_t file_size(void)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

static void test_basic(void)
{
	struct tg_spool *sp = NULL;
	struct stat st;
	off_t sizes[6];
	int err;

	err = tg_spool_open(path, &sp);
	tap_check(err == 0 && sp && tg_spool_records(sp) == 0, "a new spool opens empty");
	tap_check(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
		  "the spool file is mode 0600 (got %o)", st.st_mode & 0777);
	sizes[0] = file_size();
	for (int k = 0; k < 5; k++) {
		err = append_k(sp, k);
		sizes[k + 1] = file_size();
		if (err)
			break;
	}
	tap_check(err == 0 && sizes[5] > sizes[4] && sizes[0] == 0, "5 appends grow the file");
	expect_records(sp, 5, "after appends");
	tg_spool_close(sp);

	sp = NULL;
	err = tg_spool_open(path, &sp);
	tap_check(err == 0, "reopens");
	expect_records(sp, 5, "after a reopen");
	{
		struct seen s = { .stop_after = 2 };

		err = tg_spool_replay(sp, check_cb, &s);
		tap_check(err == -ECANCELED && s.calls == 2,
			  "replay stops at the callback's error and returns it");
	}
	{
		struct tg_harvest h = { .node = "", .interval = 10 };

		err = tg_spool_append(sp, &h);
		tap_check(err == -EINVAL && file_size() == sizes[5] && tg_spool_records(sp) == 5,
			  "a harvest without a node is refused, the file unchanged");
	}
	tg_spool_close(sp);

	/* Cut the last record at every length: 4 whole records survive, always. */
	{
		int ok = 0, total = 0;
		off_t rec = sizes[5] - sizes[4];

		for (off_t cut = 1; cut < rec; cut++) {
			total++;
			if (truncate(path, sizes[5] - cut))
				break;
			sp = NULL;
			err = tg_spool_open(path, &sp);
			if (!err && tg_spool_records(sp) == 4 && file_size() == sizes[4])
				ok++;
			/* put record 4 back for the next cut */
			if (!err)
				append_k(sp, 4);
			tg_spool_close(sp);
		}
		tap_check(ok == total && total > 20,
			  "a last record torn at any of its %d lengths is cut off, 4 kept (%d ok)",
			  total, ok);
	}

	/* A flipped byte in the last record's payload: its CRC fails. */
	{
		int fd = open(path, O_RDWR);
		unsigned char b = 0;

		if (fd >= 0 && pread(fd, &b, 1, sizes[4] + 20) == 1) {
			b ^= 0x40;
			if (pwrite(fd, &b, 1, sizes[4] + 20) != 1)
				b = 0;
		}
		if (fd >= 0)
			close(fd);
		sp = NULL;
		err = tg_spool_open(path, &sp);
		tap_check(err == 0 && tg_spool_records(sp) == 4 && file_size() == sizes[4],
			  "a corrupt last record (one flipped byte) is cut off");
		err = append_k(sp, 4);
		expect_records(sp, 5, "an append after a cut tail");
		tg_spool_close(sp);
	}

	/* Garbage after the last record (a torn next header) */
	{
		FILE *f = fopen(path, "ab");

		if (f) {
			fwrite("TGS1\xff\xff", 1, 6, f);
			fclose(f);
		}
		sp = NULL;
		err = tg_spool_open(path, &sp);
		tap_check(err == 0 && file_size() == sizes[5], "trailing garbage is cut off");
		expect_records(sp, 5, "after trailing garbage");
	}

	err = tg_spool_clear(sp);
	tap_check(err == 0 && tg_spool_records(sp) == 0 && file_size() == 0,
		  "clear empties the file");
	expect_records(sp, 0, "after clear");
	err = append_k(sp, 0);
	expect_records(sp, 1, "an append after clear");
	tg_spool_close(sp);
}

static void test_mode_fixed(void)
{
	struct tg_spool *sp = NULL;
	struct stat st;
	int err;

	if (chmod(path, 0644))
		tap_diag("chmod: %s", strerror(errno));
	err = tg_spool_open(path, &sp);
	if (stat(path, &st))
		st.st_mode = 0;
	tap_check(err == 0 && (st.st_mode & 0777) == 0600,
		  "an existing spool readable by others is made 0600 (got %o)", st.st_mode & 0777);
	tg_spool_close(sp);
}

/* A child appends as fast as it can; a SIGKILL at a random instant. */
static void test_sigkill(void)
{
	char p2[PATH_MAX + 16];
	int rounds = 10, ok = 0;

	snprintf(p2, sizeof(p2), "%s/kill/spool.log", tmpdir);
	srand((unsigned)time(NULL));
	for (int r = 0; r < rounds; r++) {
		struct tg_spool *sp = NULL;
		struct seen s = { 0 };
		pid_t pid;
		int n, err;

		unlink(p2);
		pid = fork();
		if (pid == 0) {
			if (tg_spool_open(p2, &sp))
				_exit(1);
			for (int k = 0;; k++)
				if (append_k(sp, k))
					_exit(2);
		}
		usleep(20000 + (useconds_t)(rand() % 80000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		err = tg_spool_open(p2, &sp);
		n = err ? -1 : (int)tg_spool_records(sp);
		if (!err)
			err = tg_spool_replay(sp, check_cb, &s);
		if (!err && n > 0 && s.calls == n && s.bad == 0 && s.next == n)
			ok++;
		else
			tap_diag("round %d: err %d, %d records, %d replayed, %d bad", r, err, n,
				 s.calls, s.bad);
		tg_spool_close(sp);
	}
	tap_check(ok == rounds,
		  "SIGKILL while appending: %d/%d rounds keep only whole records, "
		  "in order",
		  ok, rounds);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/sub/dir/spool-x.log", tmpdir);
	test_basic();
	test_mode_fixed();
	test_sigkill();
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd))
			tap_diag("cannot remove %s", tmpdir);
	}
	return tap_done();
}
