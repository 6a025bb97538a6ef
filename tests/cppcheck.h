/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What cppcheck needs to know of libbpf's macros (it does not read system headers). */
#define LIBBPF_OPTS(TYPE, NAME, ...) struct TYPE NAME = { __VA_ARGS__ }
#define bpf_object__for_each_map(pos, obj)                     \
	for ((pos) = bpf_object__next_map((obj), NULL); (pos); \
	     (pos) = bpf_object__next_map((obj), (pos)))
