/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef TG_JSON_H
#define TG_JSON_H

#include <stdio.h>

/* Writes s as a JSON string literal, quotes included, escaping what RFC 8259 requires. */
void tg_json_string(FILE *out, const char *s);

#endif /* TG_JSON_H */
