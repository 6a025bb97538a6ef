/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The billing spool: a local, append-only file of harvests (cumulative counters) that a
 * remote store (PostgreSQL) has not committed yet. One record per harvest, each written
 * with one write() and made durable with fdatasync() before the append returns. A record
 * carries its length and a CRC-32 of its length and payload, so a record torn by a crash
 * or a full disk is recognised and cut off when the file is opened; the records before it
 * are intact. Records are replayed in the order they were appended, and the file is
 * cleared only after the caller says they were committed (docs/billing.md).
 */
#ifndef TG_SPOOL_H
#define TG_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct tg_spool;

/* Opens (creating it mode 0600, and its directory 0750, when missing) and checks every
 * record; a torn or corrupt tail is cut off (reported on stderr with the bytes dropped).
 * Returns 0 or a negative errno. */
int tg_spool_open(const char *path, struct tg_spool **out);
void tg_spool_close(struct tg_spool *sp);
const char *tg_spool_path(const struct tg_spool *sp);

/* Appends one harvest durably. On failure the file is cut back to what it was. */
int tg_spool_append(struct tg_spool *sp, const struct tg_harvest *h);

/* Number of valid records in the file. */
size_t tg_spool_records(const struct tg_spool *sp);

/* Calls fn on every record, oldest first; stops at the first non-zero return, which is
 * returned. The harvest passed to fn is valid only during the call. */
typedef int (*tg_spool_fn)(void *ctx, const struct tg_harvest *h);
int tg_spool_replay(struct tg_spool *sp, tg_spool_fn fn, void *ctx);

/* Empties the file durably: call only once every record is committed elsewhere. */
int tg_spool_clear(struct tg_spool *sp);

#endif /* TG_SPOOL_H */
