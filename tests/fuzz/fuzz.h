/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the libFuzzer harnesses share (docs/fuzzing.md). A broken property is a crash:
 * FUZZ_CHECK says which on file descriptor 2 (whatever stderr points at meanwhile) and
 * aborts, so libFuzzer keeps the input.
 */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond, ...)                                                                \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			dprintf(2, "fuzz: %s:%d: property broken: %s: ", __FILE__, __LINE__, \
				#cond);                                                      \
			dprintf(2, __VA_ARGS__);                                             \
			dprintf(2, "\n");                                                    \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* The harness's own checking code: no coverage feedback (it would guide the fuzzer
 * towards the oracle's branches, and costs time), sanitizers still on. */
#define FUZZ_NOCOV __attribute__((no_sanitize("coverage")))

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* TG_FUZZ_H */
