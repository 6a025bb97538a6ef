/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the compilers of the kernel's prefix tries share (denylist.c, guard.c): prefix
 * arithmetic, the containment of protocol/port rules, and bringing a map to a wanted set
 * of entries without a moment that holds neither the old nor the new rules.
 */
#ifndef TG_LPM_H
#define TG_LPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define TG_PORT_ANY_HI 65535

/* 32 for AF_INET, 128 for AF_INET6. */
int tg_family_bits(int family);
/* dst (16 bytes, zero-padded) = addr with the bits past prefixlen cleared. */
void tg_mask_addr(uint8_t *dst, const uint8_t *addr, int family, unsigned prefixlen);
/* Does prefix outer (shorter or equal, same family) contain prefix inner? */
bool tg_prefix_covers(const struct tg_cidr *outer, const struct tg_cidr *inner);
bool tg_prefix_same(const struct tg_cidr *x, const struct tg_cidr *y);

/* A protocol/port rule as the kernel matches it (bpf/lib/deny.h): proto 0 = any;
 * ports 0-65535 = any port, which also matches packets without a known port, while a
 * narrower range matches only packets with one. Does rule a match everything rule b
 * matches? */
bool tg_l4_subsumes(uint8_t a_proto, uint16_t a_lo, uint16_t a_hi, uint8_t b_proto, uint16_t b_lo,
		    uint16_t b_hi);

/* Brings the map fd (hash or LPM, key_sz-byte keys) to exactly want: n elements of
 * elem_sz bytes each, the key first (zero-padded past key_sz) and the value at val_off.
 * want is sorted by cmp (which compares keys) here. The stale keys are listed first,
 * then the new entries go in and the stale ones out, so no moment runs without the rules
 * both sets agree on; when the map is too full to hold old and new together, the stale
 * ones go first and the insert is retried. Returns 0 or a negative errno. */
int tg_map_sync(int fd, size_t key_sz, void *want, size_t n, size_t elem_sz, size_t val_off,
		int (*cmp)(const void *, const void *));
/* Deletes every key of fd that is not in want (sorted by cmp, layout as above). */
int tg_map_remove_stale(int fd, size_t key_sz, const void *want, size_t n, size_t elem_sz,
			int (*cmp)(const void *, const void *));

/* tg_gset4_hint (include/tollgate.h): sets in words (TG_GSET4_HINT_WORDS of them) the
 * bits of every /24 that the IPv4 prefix addr/prefixlen overlaps. */
void tg_hint4_mark(uint64_t *words, const uint8_t *addr, unsigned prefixlen);
/* The hint map of fd, mapped shared (it is BPF_F_MMAPABLE); NULL with errno set. */
uint64_t *tg_hint4_map(int fd);
void tg_hint4_unmap(uint64_t *words);

#endif /* TG_LPM_H */
