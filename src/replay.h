/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The capture reader of `tollgate replay` (src/cmd_replay.c): every record of a pcap or
 * pcapng file as the test run gets it. Apart from the BPF run so that the fuzzer
 * (tests/fuzz/fuzz_capture.c) drives the same reading path without loading anything.
 */
#ifndef TG_REPLAY_H
#define TG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define TG_REPLAY_MIN_RUN 14	/* the kernel refuses shorter test-run frames */
#define TG_REPLAY_MAX_RUN 65535 /* and frames longer than a frags program can take */

/* One record of a capture. */
struct tg_replay_frame {
	const uint8_t *data; /* len bytes: the record's, or padded to wire_len (padded) */
	uint32_t len;
	uint32_t caplen;   /* bytes the capture kept */
	uint32_t wire_len; /* bytes the frame had on the wire */
	uint64_t ts_ns;	   /* its timestamp */
	bool padded;	   /* cut by the snap length: zeros from caplen on, up to wire_len */
	bool run;	   /* len is one a test run takes (TG_REPLAY_MIN_RUN..MAX_RUN) */
};

/* Called for every record in order; a non-zero return stops the reading and is returned. */
typedef int (*tg_replay_frame_fn)(void *ctx, const struct tg_replay_frame *f);

/* Counts the records of file. 0, or -EINVAL after a message on stderr. */
int tg_replay_count(const char *file, uint64_t *n);
/* Reads file, an Ethernet capture, calling fn for every record. 0, fn's non-zero return,
 * or -EINVAL (-ENOMEM) after a message on stderr when the file cannot be opened, is not
 * Ethernet, or is damaged after some records. */
int tg_replay_read(const char *file, tg_replay_frame_fn fn, void *ctx);

#endif /* TG_REPLAY_H */
