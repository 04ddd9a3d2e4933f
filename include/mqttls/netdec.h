/*
 * netdec — from a captured frame to a TCP segment: link layer (Ethernet with 802.1Q/QinQ tags,
 * Linux cooked v1/v2, BSD NULL/loopback, raw IP), IPv4, IPv6 with its extension headers, TCP.
 *
 * Frames are untrusted: every header is read through the checked cursor, the IP length
 * bounds the payload (Ethernet padding is not data), and a snaplen-truncated payload is
 * reported as such so reassembly marks the missing bytes as a gap.
 */
#ifndef MQTTLS_NETDEC_H
#define MQTTLS_NETDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrib.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

struct net_seg {
	int af;                   /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;            /* TCP_* */
	const uint8_t *payload;   /* captured payload bytes (inside the frame) */
	size_t caplen;            /* of them captured */
	size_t len;               /* on the wire (from the IP length); > caplen when snaplen cut it */
	unsigned vlans;           /* 802.1Q/802.1ad tags crossed */
};

enum netdec_rc {
	NETDEC_TCP = 0,           /* *out is a TCP segment */
	NETDEC_SKIP = 1,          /* well-formed but not TCP over IP (ARP, UDP, ICMP, a later IP fragment) */
	NETDEC_MALFORMED = -1,    /* *why says what */
};

/* Decode one frame of the given pcap link type. caplen bytes are at data; wirelen is the
 * frame's original length. *why (static text) is set for SKIP and MALFORMED. */
int netdec_frame(int dlt, const uint8_t *data, size_t caplen, size_t wirelen, struct net_seg *out,
		 const char **why) MQ_WUR;

/* True when netdec_frame() understands this link type. */
bool netdec_dlt_supported(int dlt);

/* "192.0.2.1:1883" or "[2001:db8::1]:8883" into buf. */
char *netdec_endpoint(int af, const uint8_t *addr, uint16_t port, char *buf, size_t size);

#endif
