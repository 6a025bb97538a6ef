// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Prefix arithmetic and map synchronisation for the compilers of the kernel's tries.
 * See lpm.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "lpm.h"

#define KEY_MAX 64 /* the largest key any synced map has, with room to spare */

int tg_family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

void tg_mask_addr(uint8_t *dst, const uint8_t *addr, int family, unsigned prefixlen)
{
	size_t len = family == AF_INET ? 4 : 16;

	memset(dst, 0, 16);
	for (size_t i = 0; i < len; i++) {
		unsigned bits = prefixlen >= (i + 1) * 8 ? 8
				: prefixlen > i * 8	 ? prefixlen - i * 8
							 : 0;

		dst[i] = addr[i] & (uint8_t)(0xff00 >> bits);
	}
}

bool tg_prefix_covers(const struct tg_cidr *outer, const struct tg_cidr *inner)
{
	uint8_t a[16], b[16];

	if (outer->family != inner->family || outer->prefixlen > inner->prefixlen)
		return false;
	tg_mask_addr(a, outer->addr, outer->family, outer->prefixlen);
	tg_mask_addr(b, inner->addr, inner->family, outer->prefixlen);
	return !memcmp(a, b, 16);
}

bool tg_prefix_same(const struct tg_cidr *x, const struct tg_cidr *y)
{
	return x->prefixlen == y->prefixlen && tg_prefix_covers(x, y);
}

/* An any-port rule also matches packets without a known port; a port range matches only
 * packets with one, so a range contains another exactly when its interval does. */
bool tg_l4_subsumes(uint8_t a_proto, uint16_t a_lo, uint16_t a_hi, uint8_t b_proto, uint16_t b_lo,
		    uint16_t b_hi)
{
	return (!a_proto || a_proto == b_proto) && a_lo <= b_lo && a_hi >= b_hi;
}

/* Every key of fd that is not in want, into *stale (elements of elem_sz bytes, key
 * first). Collected first, deleted by the caller: deleting during the walk would restart
 * it. */
static int collect_stale(int fd, size_t key_sz, const void *want, size_t n_want, size_t elem_sz,
			 int (*cmp)(const void *, const void *), unsigned char **stale,
			 size_t *n_stale)
{
	unsigned char cur[KEY_MAX] = { 0 }, prev[KEY_MAX] = { 0 };
	size_t cap = 64, n = 0;
	unsigned char *v = malloc(cap * elem_sz);
	const void *walk = NULL;

	if (!v)
		return -ENOMEM;
	while (bpf_map_get_next_key(fd, walk, cur) == 0) {
		memcpy(prev, cur, key_sz);
		walk = prev;
		if (n_want && bsearch(cur, want, n_want, elem_sz, cmp))
			continue;
		if (n == cap) {
			unsigned char *nv = realloc(v, 2 * cap * elem_sz);

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		memset(v + n * elem_sz, 0, elem_sz);
		memcpy(v + n * elem_sz, cur, key_sz);
		n++;
	}
	*stale = v;
	*n_stale = n;
	return 0;
}

static int delete_all(int fd, const unsigned char *keys, size_t n, size_t elem_sz)
{
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * elem_sz) && errno != ENOENT)
			return -errno;
	return 0;
}

int tg_map_remove_stale(int fd, size_t key_sz, const void *want, size_t n, size_t elem_sz,
			int (*cmp)(const void *, const void *))
{
	unsigned char *stale;
	size_t n_stale;
	int err;

	if (key_sz > KEY_MAX || elem_sz < key_sz)
		return -EINVAL;
	err = collect_stale(fd, key_sz, want, n, elem_sz, cmp, &stale, &n_stale);
	if (!err)
		err = delete_all(fd, stale, n_stale, elem_sz);
	free(stale);
	return err;
}

/* The stale keys are found before anything is inserted: the walk then covers the old
 * entries only, not old and new together (walking an LPM trie costs about as much per
 * key as inserting one). */
int tg_map_sync(int fd, size_t key_sz, void *want, size_t n, size_t elem_sz, size_t val_off,
		int (*cmp)(const void *, const void *))
{
	unsigned char *v = want, *stale = NULL;
	bool stale_gone = false;
	size_t n_stale = 0;
	int err;

	if (key_sz > KEY_MAX || elem_sz < key_sz)
		return -EINVAL;
	if (n > 1)
		qsort(want, n, elem_sz, cmp);
	err = collect_stale(fd, key_sz, want, n, elem_sz, cmp, &stale, &n_stale);
	for (size_t i = 0; !err && i < n; i++) {
		if (bpf_map_update_elem(fd, v + i * elem_sz, v + i * elem_sz + val_off, BPF_ANY) ==
		    0)
			continue;
		err = -errno;
		if ((err != -ENOSPC && err != -E2BIG) || stale_gone)
			break;
		/* too full for old and new together: the stale ones go first */
		stale_gone = true;
		err = delete_all(fd, stale, n_stale, elem_sz);
		i--; /* once more, now that there is room */
	}
	if (!err && !stale_gone)
		err = delete_all(fd, stale, n_stale, elem_sz);
	free(stale);
	return err;
}

void tg_hint4_mark(uint64_t *words, const uint8_t *addr, unsigned prefixlen)
{
	uint32_t count = prefixlen >= 24 ? 1 : 1u << (24 - prefixlen);
	uint32_t b = ((uint32_t)addr[0] << 16 | (uint32_t)addr[1] << 8 | addr[2]) & ~(count - 1);
	uint32_t end = b + count;

	for (; b < end && (b & 63); b++)
		words[b / 64] |= 1ull << (b % 64);
	for (; b + 64 <= end; b += 64)
		words[b / 64] = ~0ull;
	for (; b < end; b++)
		words[b / 64] |= 1ull << (b % 64);
}

uint64_t *tg_hint4_map(int fd)
{
	void *p = mmap(NULL, (size_t)TG_GSET4_HINT_WORDS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

void tg_hint4_unmap(uint64_t *words)
{
	if (words)
		munmap(words, (size_t)TG_GSET4_HINT_WORDS * sizeof(uint64_t));
}
