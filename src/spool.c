// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The billing spool (spool.h). A record on disk:
 *
 *   u32 magic "TGS1"   u32 payload length   u32 CRC-32 of (the length field, payload)
 *   payload: u64 epoch[2], i64 interval_start, u32 interval, u32 n_samples,
 *            u16 node length, node; then per sample: u32 tenant_id, u32 class_id,
 *            u8 direction, u64 packets, u64 bytes, u16 + tenant name, u16 + class name
 *
 * All integers little-endian. The CRC is zlib's crc32(). The file holds cumulative
 * counters, not deltas: replaying a record the store has already committed changes
 * nothing there (the store's cursor is at or past it), which is what makes "clear only
 * after commit" enough for exactly-once billing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "spool.h"

#define SPOOL_MAGIC 0x31534754u /* "TGS1" read as little-endian */
#define HDR_LEN 12
#define PAYLOAD_MAX (64u << 20) /* far above the largest harvest (~28 MiB) */
#define NODE_MAX 64

struct tg_spool {
	int fd;
	char *path;
	off_t size; /* of the valid records */
	size_t records;
};

/* A growing byte buffer for encoding. */
struct buf {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const void *src, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t want = b->cap ? b->cap : 256;
		unsigned char *p;

		while (want < b->len + n)
			want *= 2;
		p = realloc(b->p, want);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = want;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_le(struct buf *b, uint64_t v, int bytes)
{
	unsigned char t[8];

	for (int i = 0; i < bytes; i++)
		t[i] = (unsigned char)(v >> (8 * i));
	put(b, t, (size_t)bytes);
}

static void put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	put_le(b, n, 2);
	put(b, s, n);
}

/* A cursor over a decoded payload; any read past the end sets bad. */
struct rd {
	const unsigned char *p;
	size_t len, off;
	bool bad;
};

static uint64_t get_le(struct rd *r, int bytes)
{
	uint64_t v = 0;

	if (r->bad || r->len - r->off < (size_t)bytes) {
		r->bad = true;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += (size_t)bytes;
	return v;
}

/* A length-prefixed string into dst (size cap, NUL added); empty or too long is bad. */
static void get_str(struct rd *r, char *dst, size_t cap)
{
	size_t n = (size_t)get_le(r, 2);

	if (r->bad || n == 0 || n >= cap || r->len - r->off < n || memchr(r->p + r->off, 0, n)) {
		r->bad = true;
		return;
	}
	memcpy(dst, r->p + r->off, n);
	dst[n] = '\0';
	r->off += n;
}

static int check_harvest(const struct tg_harvest *h)
{
	if (!h->node || !*h->node || strlen(h->node) >= NODE_MAX || !h->interval ||
	    (h->n_samples && !h->samples))
		return -EINVAL;
	for (size_t i = 0; i < h->n_samples; i++) {
		const struct tg_sample *s = &h->samples[i];
		size_t tl = strnlen(s->tenant, sizeof(s->tenant));
		size_t cl = strnlen(s->class_name, sizeof(s->class_name));

		if (s->dir < 0 || s->dir >= TG_DIR_MAX || !tl || tl == sizeof(s->tenant) || !cl ||
		    cl == sizeof(s->class_name))
			return -EINVAL;
	}
	return 0;
}

static void encode(struct buf *b, const struct tg_harvest *h)
{
	uint32_t crc;

	put_le(b, SPOOL_MAGIC, 4);
	put_le(b, 0, 4); /* length and CRC, filled in below */
	put_le(b, 0, 4);
	put_le(b, h->epoch[0], 8);
	put_le(b, h->epoch[1], 8);
	put_le(b, (uint64_t)h->interval_start, 8);
	put_le(b, h->interval, 4);
	put_le(b, h->n_samples, 4);
	put_str(b, h->node);
	for (size_t i = 0; i < h->n_samples; i++) {
		const struct tg_sample *s = &h->samples[i];

		put_le(b, s->tenant_id, 4);
		put_le(b, s->class_id, 4);
		put_le(b, (uint64_t)s->dir, 1);
		put_le(b, s->packets, 8);
		put_le(b, s->bytes, 8);
		put_str(b, s->tenant);
		put_str(b, s->class_name);
	}
	if (b->oom || b->len - HDR_LEN > PAYLOAD_MAX)
		return;
	for (int i = 0; i < 4; i++)
		b->p[4 + i] = (unsigned char)((b->len - HDR_LEN) >> (8 * i));
	crc = (uint32_t)crc32(0L, b->p + 4, 4);
	crc = (uint32_t)crc32(crc, b->p + HDR_LEN, (uInt)(b->len - HDR_LEN));
	for (int i = 0; i < 4; i++)
		b->p[8 + i] = (unsigned char)(crc >> (8 * i));
}

/* A decoded record: the harvest and the storage it points into. */
struct record {
	struct tg_harvest h;
	char node[NODE_MAX];
	struct tg_sample *samples;
};

static int decode(const unsigned char *payload, size_t len, struct record *rec)
{
	struct rd r = { .p = payload, .len = len };
	uint64_t n;

	memset(rec, 0, sizeof(*rec));
	rec->h.epoch[0] = get_le(&r, 8);
	rec->h.epoch[1] = get_le(&r, 8);
	rec->h.interval_start = (int64_t)get_le(&r, 8);
	rec->h.interval = (uint32_t)get_le(&r, 4);
	n = get_le(&r, 4);
	get_str(&r, rec->node, sizeof(rec->node));
	/* each sample takes at least 31 bytes: a count beyond that is a lie */
	if (r.bad || n > (len - r.off) / 31 || !rec->h.interval)
		return -EBADMSG;
	rec->samples = calloc(n ? n : 1, sizeof(*rec->samples));
	if (!rec->samples)
		return -ENOMEM;
	for (uint64_t i = 0; i < n && !r.bad; i++) {
		struct tg_sample *s = &rec->samples[i];

		s->tenant_id = (uint32_t)get_le(&r, 4);
		s->class_id = (uint32_t)get_le(&r, 4);
		s->dir = (int)get_le(&r, 1);
		s->packets = get_le(&r, 8);
		s->bytes = get_le(&r, 8);
		get_str(&r, s->tenant, sizeof(s->tenant));
		get_str(&r, s->class_name, sizeof(s->class_name));
		if (s->dir >= TG_DIR_MAX)
			r.bad = true;
	}
	if (r.bad || r.off != len) {
		free(rec->samples);
		rec->samples = NULL;
		return -EBADMSG;
	}
	rec->h.node = rec->node;
	rec->h.samples = rec->samples;
	rec->h.n_samples = (size_t)n;
	return 0;
}

static int read_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ENODATA; /* short: the file ends inside the record */
		done += (size_t)r;
	}
	return 0;
}

/*
 * Reads the record at off: 0 with *payload (malloc'd) and *len, -ENODATA at the end of
 * the file, -EBADMSG for a torn or corrupt record, another negative errno for I/O.
 */
static int read_record(int fd, off_t off, off_t end, unsigned char **payload, size_t *len)
{
	unsigned char hdr[HDR_LEN], *p;
	uint32_t magic = 0, plen = 0, crc = 0, want;
	int err;

	*payload = NULL;
	if (off >= end)
		return -ENODATA;
	if (end - off < HDR_LEN)
		return -EBADMSG;
	err = read_full(fd, hdr, HDR_LEN, off);
	if (err)
		return err == -ENODATA ? -EBADMSG : err;
	for (int i = 0; i < 4; i++) {
		magic |= (uint32_t)hdr[i] << (8 * i);
		plen |= (uint32_t)hdr[4 + i] << (8 * i);
		crc |= (uint32_t)hdr[8 + i] << (8 * i);
	}
	if (magic != SPOOL_MAGIC || plen > PAYLOAD_MAX || end - off - HDR_LEN < (off_t)plen)
		return -EBADMSG;
	p = malloc(plen ? plen : 1);
	if (!p)
		return -ENOMEM;
	err = read_full(fd, p, plen, off + HDR_LEN);
	if (err) {
		free(p);
		return err == -ENODATA ? -EBADMSG : err;
	}
	want = (uint32_t)crc32(0L, hdr + 4, 4);
	want = (uint32_t)crc32(want, p, plen);
	if (want != crc) {
		free(p);
		return -EBADMSG;
	}
	*payload = p;
	*len = plen;
	return 0;
}

static int sync_dir_of(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, err = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

static int make_dir_of(const char *path)
{
	char *dir = strdup(path);
	int err = 0;

	if (!dir)
		return -ENOMEM;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) && errno != EEXIST)
			err = -errno;
		*p = '/';
		if (err)
			break;
	}
	free(dir);
	return err;
}

/* Walks the records, counting the valid ones; cuts a torn or corrupt tail off. */
static int scan(struct tg_spool *sp)
{
	struct stat st;
	off_t off = 0;
	int err;

	if (fstat(sp->fd, &st))
		return -errno;
	for (;;) {
		unsigned char *payload;
		struct record rec;
		size_t len = 0;

		err = read_record(sp->fd, off, st.st_size, &payload, &len);
		if (err == -ENODATA)
			break;
		if (!err) {
			err = decode(payload, len, &rec);
			free(payload);
			free(rec.samples);
		}
		if (err == -EBADMSG) {
			fprintf(stderr,
				"tollgate: spool %s: a torn or corrupt record at byte %lld: "
				"dropping the last %lld bytes (%zu records kept)\n",
				sp->path, (long long)off, (long long)(st.st_size - off),
				sp->records);
			if (ftruncate(sp->fd, off) || fdatasync(sp->fd))
				return -errno;
			break;
		}
		if (err)
			return err;
		off += HDR_LEN + (off_t)len;
		sp->records++;
	}
	sp->size = off;
	return 0;
}

int tg_spool_open(const char *path, struct tg_spool **out)
{
	struct tg_spool *sp;
	struct stat st;
	int err;

	if (!path || path[0] != '/' || !out)
		return -EINVAL;
	sp = calloc(1, sizeof(*sp));
	if (!sp || !(sp->path = strdup(path))) {
		free(sp);
		return -ENOMEM;
	}
	err = make_dir_of(path);
	sp->fd = err ? -1 : open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (!err && sp->fd < 0)
		err = -errno;
	/* usage is customer data: never readable by others, whatever the umask was */
	if (!err && (fstat(sp->fd, &st) || ((st.st_mode & 0077) && fchmod(sp->fd, 0600))))
		err = -errno;
	if (!err && !S_ISREG(st.st_mode))
		err = -EINVAL;
	if (!err)
		err = sync_dir_of(path);
	if (!err)
		err = scan(sp);
	if (err) {
		fprintf(stderr, "tollgate: spool %s: cannot open: %s\n", path, strerror(-err));
		tg_spool_close(sp);
		return err;
	}
	*out = sp;
	return 0;
}

void tg_spool_close(struct tg_spool *sp)
{
	if (!sp)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->path);
	free(sp);
}

const char *tg_spool_path(const struct tg_spool *sp)
{
	return sp ? sp->path : NULL;
}

size_t tg_spool_records(const struct tg_spool *sp)
{
	return sp ? sp->records : 0;
}

int tg_spool_append(struct tg_spool *sp, const struct tg_harvest *h)
{
	struct buf b = { 0 };
	size_t done = 0;
	int err;

	if (!sp || !h)
		return -EINVAL;
	err = check_harvest(h);
	if (err)
		return err;
	encode(&b, h);
	if (b.oom || b.len - HDR_LEN > PAYLOAD_MAX) {
		free(b.p);
		return b.oom ? -ENOMEM : -E2BIG;
	}
	while (done < b.len) {
		ssize_t w = write(sp->fd, b.p + done, b.len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)w;
	}
	if (!err && fdatasync(sp->fd))
		err = -errno;
	free(b.p);
	if (err) {
		/* a partial record must not sit in front of the next append */
		if (ftruncate(sp->fd, sp->size) == 0)
			fdatasync(sp->fd);
		fprintf(stderr, "tollgate: spool %s: cannot append: %s\n", sp->path,
			strerror(-err));
		return err;
	}
	sp->size += (off_t)done;
	sp->records++;
	return 0;
}

int tg_spool_replay(struct tg_spool *sp, tg_spool_fn fn, void *ctx)
{
	off_t off = 0;
	int err = 0;

	if (!sp || !fn)
		return -EINVAL;
	while (!err) {
		unsigned char *payload;
		struct record rec;
		size_t len = 0;

		err = read_record(sp->fd, off, sp->size, &payload, &len);
		if (err == -ENODATA)
			return 0;
		if (err)
			break;
		err = decode(payload, len, &rec);
		free(payload);
		if (!err)
			err = fn(ctx, &rec.h);
		free(rec.samples);
		off += HDR_LEN + (off_t)len;
	}
	return err;
}

int tg_spool_clear(struct tg_spool *sp)
{
	if (!sp)
		return -EINVAL;
	if (ftruncate(sp->fd, 0) || fdatasync(sp->fd)) {
		int err = -errno;

		fprintf(stderr, "tollgate: spool %s: cannot clear: %s\n", sp->path, strerror(-err));
		return err;
	}
	sp->size = 0;
	sp->records = 0;
	return 0;
}
