// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A test vehicle for the signature matcher (lib/sig.h): the "packet" of a
 * BPF_PROG_TEST_RUN is SIG_TEST_PAD bytes of padding (test runs of XDP need a frame of at
 * least an Ethernet header) followed by the bytes of a TCP payload. The program copies up
 * to TG_SIG_SCAN of them into a per-CPU scratch buffer, as the uplink's signature stage
 * does, and leaves tg_sig_match()'s result and the length it scanned in its globals.
 * sig_entry reaches it by tail call, as the uplink program reaches its signature stage.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/sig.h"

#define SIG_TEST_PAD 14

struct sig_buf {
	__u8 b[TG_SIG_SCAN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sig_buf);
} sig_scratch SEC(".maps");

__u32 sig_verdict; /* tg_sig_match()'s result */
__u32 sig_len;	   /* payload bytes handed to it */
__u32 sig_runs;	   /* runs that reached the matcher */

SEC("xdp")
int sig_scan(struct xdp_md *ctx)
{
	__u32 k = 0, n, total = bpf_xdp_get_buff_len(ctx);
	struct sig_buf *sb = bpf_map_lookup_elem(&sig_scratch, &k);

	sig_verdict = 0;
	sig_len = 0;
	if (!sb || total < SIG_TEST_PAD)
		return XDP_ABORTED;
	n = total - SIG_TEST_PAD;
	if (n > TG_SIG_SCAN)
		n = TG_SIG_SCAN;
	if (n && bpf_xdp_load_bytes(ctx, SIG_TEST_PAD, sb->b, n))
		return XDP_ABORTED;
	sig_len = n;
	sig_verdict = tg_sig_match(sb->b, n);
	__sync_fetch_and_add(&sig_runs, 1);
	return XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sig_stages SEC(".maps");

SEC("xdp")
int sig_entry(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &sig_stages, 0);
	return XDP_DROP; /* no stage in the array */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
