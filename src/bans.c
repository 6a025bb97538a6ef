// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Bans on the uplink. See bans.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <bpf/bpf.h>

#include "bans.h"

uint64_t tg_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *tg_ban_origin_name(uint8_t origin)
{
	switch (origin) {
	case TG_BAN_MANUAL:
		return "block";
	case TG_BAN_SYN_FLOOD:
		return "syn_flood";
	case TG_BAN_SIGNATURE:
		return "signature";
	case TG_BAN_RATE:
		return "rate_limit";
	default:
		return "unknown";
	}
}

/* The map and key of c. */
static int ban_key(const struct tg_maps *m, const struct tg_cidr *c, int *fd, struct tg_lpm6_key *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = c->prefixlen;
	if (c->family == AF_INET) {
		struct tg_lpm4_key *k4 = (struct tg_lpm4_key *)k;

		if (c->prefixlen > 32)
			return -EINVAL;
		memcpy(k4->addr, c->addr, 4);
		*fd = m->bans4;
	} else if (c->family == AF_INET6) {
		if (c->prefixlen > 128)
			return -EINVAL;
		memcpy(k->addr, c->addr, 16);
		*fd = m->bans6;
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

/* tg_bans_any (include/tollgate.h): raised after every insert, lowered by the sweep. */
static int bans_any_set(const struct tg_maps *m, uint32_t v)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(m->bans_any, &zero, &v, BPF_ANY) ? -errno : 0;
}

static bool trie_empty(int fd)
{
	struct tg_lpm6_key k;

	return bpf_map_get_next_key(fd, NULL, &k) && errno == ENOENT;
}

int tg_ban_add(const struct tg_maps *m, const struct tg_cidr *c, uint64_t ttl_ms, uint8_t origin,
	       uint32_t rule, uint64_t *expires_ns)
{
	struct tg_ban b = {
		.created_ns = tg_mono_ns(), .origin = origin, .action = TG_GA_DROP, .rule = rule
	};
	struct tg_lpm6_key k;
	int fd, err;

	err = ban_key(m, c, &fd, &k);
	if (err)
		return err;
	if (ttl_ms)
		b.expires_ns = b.created_ns + ttl_ms * 1000000ull;
	if (bpf_map_update_elem(fd, &k, &b, BPF_ANY))
		return -errno;
	err = bans_any_set(m, 1);
	if (err)
		return err;
	if (expires_ns)
		*expires_ns = b.expires_ns;
	return 0;
}

int tg_ban_del(const struct tg_maps *m, const struct tg_cidr *c)
{
	struct tg_lpm6_key k;
	int fd, err;

	err = ban_key(m, c, &fd, &k);
	if (err)
		return err;
	return bpf_map_delete_elem(fd, &k) ? -errno : 0;
}

static int list_one(int fd, int family, struct tg_ban_entry **v, size_t *n, size_t *cap)
{
	struct tg_lpm6_key key, next, *prev = NULL;
	size_t klen = family == AF_INET ? sizeof(struct tg_lpm4_key) : sizeof(struct tg_lpm6_key);

	memset(&key, 0, sizeof(key));
	memset(&next, 0, sizeof(next));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct tg_ban_entry *e;

		memcpy(&key, &next, klen);
		prev = &key;
		if (*n == *cap) {
			size_t c = *cap ? 2 * *cap : 64;

			e = realloc(*v, c * sizeof(**v));
			if (!e)
				return -ENOMEM;
			*v = e;
			*cap = c;
		}
		e = &(*v)[*n];
		memset(e, 0, sizeof(*e));
		if (bpf_map_lookup_elem(fd, &key, &e->ban))
			continue; /* removed meanwhile */
		e->cidr.family = family;
		e->cidr.prefixlen = key.prefixlen;
		memcpy(e->cidr.addr,
		       family == AF_INET ? ((struct tg_lpm4_key *)&key)->addr : key.addr,
		       family == AF_INET ? 4 : 16);
		(*n)++;
	}
	return errno == ENOENT ? 0 : -errno;
}

int tg_bans_list(const struct tg_maps *m, struct tg_ban_entry **out, size_t *n)
{
	size_t cap = 0;
	int err;

	*out = NULL;
	*n = 0;
	err = list_one(m->bans4, AF_INET, out, n, &cap);
	if (!err)
		err = list_one(m->bans6, AF_INET6, out, n, &cap);
	if (err) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

int tg_bans_sweep(const struct tg_maps *m, uint64_t now_ns,
		  void (*cb)(const struct tg_ban_entry *e, void *ctx), void *ctx)
{
	struct tg_ban_entry *v;
	size_t n;
	int err, removed = 0;

	err = tg_bans_list(m, &v, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct tg_ban cur;
		struct tg_lpm6_key k;
		int fd;

		if (!v[i].ban.expires_ns || v[i].ban.expires_ns > now_ns)
			continue;
		if (ban_key(m, &v[i].cidr, &fd, &k))
			continue;
		/* Renewed since we listed it: leave it. */
		if (bpf_map_lookup_elem(fd, &k, &cur) || cur.expires_ns != v[i].ban.expires_ns)
			continue;
		if (bpf_map_delete_elem(fd, &k))
			continue;
		removed++;
		if (cb)
			cb(&v[i], ctx);
	}
	free(v);
	/* Bans left: the packet path must look (a ban pinned by an older agent, too).
	 * None: lower the flag, then look again, and raise it if one came meanwhile. */
	if ((size_t)removed < n)
		err = bans_any_set(m, 1);
	else if (!(err = bans_any_set(m, 0)) && (!trie_empty(m->bans4) || !trie_empty(m->bans6)))
		err = bans_any_set(m, 1);
	return err ? err : removed;
}
