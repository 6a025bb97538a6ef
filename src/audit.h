/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The audit log (docs/audit.md): one JSON object per line, each carrying the SHA-256 of
 * the line before it, so that editing, deleting, inserting or swapping a record breaks
 * the chain at that record. A head file beside the log (FILE.head) holds the count and
 * the hash of the last record, so that cutting records off the end is seen too.
 */
#ifndef TG_AUDIT_H
#define TG_AUDIT_H

#include <stddef.h>
#include <stdint.h>

/* Appends one record. type: "ban", "unban", "block", "unblock", "syn_flood", "guard",
 * "agent_start", "config_applied", ...; members: further JSON members without braces
 * (e.g. "\"src\":\"192.0.2.1/32\",\"ttl_s\":60"), may be NULL. The record gets "seq",
 * "time" (RFC 3339 UTC) and "prev" (hex SHA-256 of the previous line, 64 zeros for the
 * first). Safe between processes (the agent and `tollgate block` both append): the file
 * is locked while the last record is read and the new one written. Missing directories
 * are created 0700, the file 0600. Returns 0 or a negative errno. */
int tg_audit_append(const char *path, const char *type, const char *members);

/* Checks the chain of path (and its head file when present). Returns 0 when intact;
 * otherwise 1 with the 1-based line number of the first bad record in *bad_line and the
 * reason in msg; a negative errno when the file cannot be read. */
int tg_audit_verify(const char *path, uint64_t *records, uint64_t *bad_line, char *msg,
		    size_t msg_len);

#endif /* TG_AUDIT_H */
