/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* HTTP signatures: placeholder until the matcher lands (finds nothing). */
#ifndef TG_SIG_H
#define TG_SIG_H

static __always_inline int tg_sig_match(const __u8 *buf, __u32 len)
{
	(void)buf;
	(void)len;
	return 0;
}

#endif /* TG_SIG_H */
