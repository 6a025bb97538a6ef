/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * IPFIX export (RFC 7011) of flow records to one collector over UDP, with libfixbuf.
 * Standard information elements (RFC 7012 / IANA registry) plus the tenant, carried in
 * enterprise-specific elements.
 */
#ifndef TG_IPFIX_H
#define TG_IPFIX_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tollgate.h"

/* One flow's report: the counts since the previous report of the same flow. */
struct tg_flow_record {
	uint8_t family;	   /* 4 or 6 */
	uint8_t proto;	   /* protocolIdentifier */
	uint8_t tcp_flags; /* tcpControlBits */
	uint8_t dir;	   /* enum tg_dir; flowDirection 0 = ingress, 1 = egress */
	uint8_t src[16], dst[16];
	uint16_t sport,
		dport;	    /* host order; ICMP: type and code (icmpTypeCode is sport<<8|dport) */
	uint16_t vlan_id;   /* outer tag, 0 = none (vlanId) */
	uint64_t octets;    /* octetDeltaCount: IP header and payload octets */
	uint64_t l2_octets; /* layer2OctetDeltaCount: Ethernet frame octets (the byte rule) */
	uint64_t packets;   /* packetDeltaCount */
	uint64_t start_ms;  /* flowStartMilliseconds, unix epoch */
	uint64_t end_ms;    /* flowEndMilliseconds */
	uint32_t tenant_id;
	char tenant[TG_NAME_MAX]; /* "" when unattributed */
	char class_name[TG_CLASS_NAME_MAX];
};

struct tg_ipfix;

/* Resolves the collector and prepares the session and templates. On failure returns a
 * negative errno and writes a one-line reason into err. */
int tg_ipfix_open(const struct tg_ipfix_conf *conf, struct tg_ipfix **out, char *err,
		  size_t errlen);
/* Sends the records (IPv4 and IPv6 ones through their own templates) and flushes; one or
 * more IPFIX messages. Returns 0 or a negative errno. */
int tg_ipfix_send(struct tg_ipfix *x, const struct tg_flow_record *recs, size_t n);
/* Data records sent so far (what the collector's sequence numbers should reach). */
uint64_t tg_ipfix_records_sent(const struct tg_ipfix *x);
void tg_ipfix_close(struct tg_ipfix *x);

#endif /* TG_IPFIX_H */
