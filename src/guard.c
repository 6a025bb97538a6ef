// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The uplink guard's configuration as the kernel reads it. See guard.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

const char *tg_rule_name(uint32_t id, char *buf, size_t len)
{
	static const char *const names[TG_RULE_RULES] = {
		[TG_RULE_NONE] = "",
		[TG_RULE_BLOCKLIST] = "blocklist",
		[TG_RULE_ALLOWLIST] = "allowlist",
		[TG_RULE_SYN_FLOOD] = "syn_flood",
		[TG_RULE_RATE_LIMIT] = "rate_limit",
		[TG_RULE_SQLI] = "signatures.sqli",
		[TG_RULE_TRAVERSAL] = "signatures.traversal",
		[TG_RULE_HONEYPOT] = "honeypot.sources",
		[TG_RULE_MANUAL] = "block",
	};

	if (id < TG_RULE_RULES && names[id])
		return names[id];
	if (id >= TG_RULE_RULES)
		snprintf(buf, len, "rules[%u]", id - TG_RULE_RULES);
	else
		snprintf(buf, len, "rule-%u", id);
	return buf;
}

/* TODO(guard helper): compile and apply. Until then the guard is never configured. */
int tg_guard_compile(const struct tg_config *cfg, const struct tg_applied *ap,
		     struct tg_guard_compiled *out, char *msg, size_t msg_len)
{
	(void)cfg;
	(void)ap;
	(void)msg;
	(void)msg_len;
	memset(out, 0, sizeof(*out));
	return 0;
}

void tg_guard_compiled_free(struct tg_guard_compiled *c)
{
	free(c->entries);
	free(c->groups);
	memset(c, 0, sizeof(*c));
}

int tg_guard_apply(const struct tg_maps *m, const struct tg_config *cfg,
		   const struct tg_applied *ap, bool honeypot_optional)
{
	(void)m;
	(void)cfg;
	(void)ap;
	(void)honeypot_optional;
	return 0;
}
