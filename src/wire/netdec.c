/*
 * netdec — link, IP and TCP headers of captured frames (see netdec.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <pcap/dlt.h>

#include "mqttls/cursor.h"
#include "mqttls/netdec.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88A8
#define ETH_QINQ_OLD 0x9100
#define MAX_VLANS 4
#define MAX_IPV6_EXT 8
#define LINKTYPE_RAW 101   /* some files carry the LINKTYPE number itself */

static int bad(const char **why, const char *what)
{
	*why = what;
	return NETDEC_MALFORMED;
}

static int skip(const char **why, const char *what)
{
	*why = what;
	return NETDEC_SKIP;
}

static int tcp(struct cursor *c, size_t ip_payload_len, struct net_seg *out, const char **why)
{
	uint8_t off_byte, flags;
	size_t hlen;

	if (!cur_get_be16(c, &out->sport) || !cur_get_be16(c, &out->dport) || !cur_get_be32(c, &out->seq) ||
	    !cur_get_be32(c, &out->ack) || !cur_get_u8(c, &off_byte) || !cur_get_u8(c, &flags))
		return bad(why, "TCP header truncated");
	hlen = (size_t)(off_byte >> 4) * 4;
	if (hlen < 20)
		return bad(why, "TCP data offset below 5");
	if (hlen > ip_payload_len)
		return bad(why, "TCP header longer than the IP payload");
	/* The rest of the fixed header (window, checksum, urgent) and the options are not needed. */
	if (!cur_skip(c, hlen - 14)) {
		/* Options cut by the snaplen: the payload is entirely missing. */
		out->flags = flags;
		out->payload = c->p;
		out->caplen = 0;
		out->len = ip_payload_len - hlen;
		return NETDEC_TCP;
	}
	out->flags = flags;
	out->len = ip_payload_len - hlen;
	out->payload = c->p;
	out->caplen = cur_left(c) < out->len ? cur_left(c) : out->len;
	return NETDEC_TCP;
}

static int ipv4(struct cursor *c, struct net_seg *out, const char **why)
{
	uint8_t vihl, proto, ttl, tos;
	uint16_t total, frag, id;
	const uint8_t *a;
	size_t ihl;

	if (!cur_get_u8(c, &vihl) || !cur_get_u8(c, &tos) || !cur_get_be16(c, &total) || !cur_get_be16(c, &id) ||
	    !cur_get_be16(c, &frag) || !cur_get_u8(c, &ttl) || !cur_get_u8(c, &proto) || !cur_skip(c, 2))
		return bad(why, "IPv4 header truncated");
	if (vihl >> 4 != 4)
		return bad(why, "IPv4 header with another version");
	ihl = (size_t)(vihl & 0x0F) * 4;
	if (ihl < 20 || total < ihl)
		return bad(why, "IPv4 header length invalid");
	if (!cur_get_bytes(c, 4, &a))
		return bad(why, "IPv4 header truncated");
	memcpy(out->src, a, 4);
	if (!cur_get_bytes(c, 4, &a) || !cur_skip(c, ihl - 20))
		return bad(why, "IPv4 header truncated");
	memcpy(out->dst, a, 4);
	out->af = AF_INET;
	if (proto != 6)
		return skip(why, "not TCP");
	if ((frag & 0x1FFF) || (frag & 0x2000))
		return skip(why, "IPv4 fragment");
	/* The IP length, not the frame, bounds the segment: Ethernet pads short frames. */
	if (cur_left(c) > (size_t)total - ihl)
		c->n = (size_t)total - ihl;
	return tcp(c, (size_t)total - ihl, out, why);
}

static int ipv6(struct cursor *c, struct net_seg *out, const char **why)
{
	uint32_t vtf;
	uint16_t plen;
	uint8_t next, hop;
	const uint8_t *a;
	size_t left;

	if (!cur_get_be32(c, &vtf) || !cur_get_be16(c, &plen) || !cur_get_u8(c, &next) || !cur_get_u8(c, &hop))
		return bad(why, "IPv6 header truncated");
	if (vtf >> 28 != 6)
		return bad(why, "IPv6 header with another version");
	if (!cur_get_bytes(c, 16, &a))
		return bad(why, "IPv6 header truncated");
	memcpy(out->src, a, 16);
	if (!cur_get_bytes(c, 16, &a))
		return bad(why, "IPv6 header truncated");
	memcpy(out->dst, a, 16);
	out->af = AF_INET6;
	if (plen == 0)
		return skip(why, "IPv6 jumbogram or no payload");
	left = plen;
	if (cur_left(c) > left)
		c->n = left;
	for (int i = 0; i <= MAX_IPV6_EXT; i++) {
		uint8_t nh, hlen;
		size_t ext;

		switch (next) {
		case 6:
			return tcp(c, left, out, why);
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
		case 51:  /* AH: length in 4-byte units, minus 2 */
			if (!cur_get_u8(c, &nh) || !cur_get_u8(c, &hlen))
				return bad(why, "IPv6 extension header truncated");
			ext = next == 51 ? ((size_t)hlen + 2) * 4 : ((size_t)hlen + 1) * 8;
			break;
		case 44: { /* fragment: only a whole (atomic) datagram can be read */
			uint16_t offm;

			if (!cur_get_u8(c, &nh) || !cur_skip(c, 1) || !cur_get_be16(c, &offm))
				return bad(why, "IPv6 fragment header truncated");
			if (offm & 0xFFF9)
				return skip(why, "IPv6 fragment");
			ext = 8;
			break;
		}
		case 59:
			return skip(why, "IPv6 without a next header");
		default:
			return skip(why, "not TCP");
		}
		if (ext > left)
			return bad(why, "IPv6 extension header longer than the payload");
		if (!cur_skip(c, ext - 2 - (next == 44 ? 2 : 0)))
			return bad(why, "IPv6 extension header truncated");
		left -= ext;
		next = nh;
	}
	return bad(why, "too many IPv6 extension headers");
}

static int ip_by_version(struct cursor *c, struct net_seg *out, const char **why)
{
	uint8_t v;

	if (!cur_peek_u8(c, &v))
		return bad(why, "no IP header");
	if (v >> 4 == 4)
		return ipv4(c, out, why);
	if (v >> 4 == 6)
		return ipv6(c, out, why);
	return skip(why, "not IP");
}

static int by_ethertype(uint16_t type, struct cursor *c, struct net_seg *out, const char **why)
{
	if (type == ETH_IPV4)
		return ipv4(c, out, why);
	if (type == ETH_IPV6)
		return ipv6(c, out, why);
	return skip(why, "not IP");
}

static int ethernet(struct cursor *c, struct net_seg *out, const char **why)
{
	uint16_t type;

	if (!cur_skip(c, 12) || !cur_get_be16(c, &type))
		return bad(why, "Ethernet header truncated");
	while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
		if (++out->vlans > MAX_VLANS)
			return bad(why, "too many VLAN tags");
		if (!cur_skip(c, 2) || !cur_get_be16(c, &type))
			return bad(why, "VLAN tag truncated");
	}
	return by_ethertype(type, c, out, why);
}

/* BSD loopback: the address family, host order for DLT_NULL, network order for DLT_LOOP. */
static int bsd_loop(struct cursor *c, bool net_order, struct net_seg *out, const char **why)
{
	const uint8_t *f;
	uint32_t fam;

	if (!cur_get_bytes(c, 4, &f))
		return bad(why, "loopback header truncated");
	fam = net_order ? (uint32_t)f[0] << 24 | (uint32_t)f[1] << 16 | (uint32_t)f[2] << 8 | f[3]
			: (uint32_t)f[3] << 24 | (uint32_t)f[2] << 16 | (uint32_t)f[1] << 8 | f[0];
	/* A capture written on a host of the other byte order: accept the swapped value too. */
	if (fam > 0xFFFF)
		fam = (fam >> 24) | ((fam >> 8) & 0xFF00);
	switch (fam) {
	case 2:
		return ipv4(c, out, why);
	case 10: case 24: case 28: case 30: /* AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS */
		return ipv6(c, out, why);
	default:
		return skip(why, "not IP");
	}
}

bool netdec_dlt_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_NULL: case DLT_LOOP:
	case DLT_RAW: case LINKTYPE_RAW: case DLT_IPV4: case DLT_IPV6:
		return true;
	default:
		return false;
	}
}

int netdec_frame(int dlt, const uint8_t *data, size_t caplen, size_t wirelen, struct net_seg *out, const char **why)
{
	struct cursor c;
	uint16_t type;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	/* A record claiming more captured bytes than the frame had is cut to the frame. */
	cur_init(&c, data, caplen < wirelen || !wirelen ? caplen : wirelen);
	switch (dlt) {
	case DLT_EN10MB:
		return ethernet(&c, out, why);
	case DLT_LINUX_SLL:
		if (!cur_skip(&c, 14) || !cur_get_be16(&c, &type))
			return bad(why, "Linux cooked header truncated");
		return by_ethertype(type, &c, out, why);
	case DLT_LINUX_SLL2:
		if (!cur_get_be16(&c, &type) || !cur_skip(&c, 18))
			return bad(why, "Linux cooked v2 header truncated");
		return by_ethertype(type, &c, out, why);
	case DLT_NULL:
		return bsd_loop(&c, false, out, why);
	case DLT_LOOP:
		return bsd_loop(&c, true, out, why);
	case DLT_RAW:
	case LINKTYPE_RAW:
		return ip_by_version(&c, out, why);
	case DLT_IPV4:
		return ipv4(&c, out, why);
	case DLT_IPV6:
		return ipv6(&c, out, why);
	default:
		return skip(why, "unsupported link type");
	}
}

char *netdec_endpoint(int af, const uint8_t *addr, uint16_t port, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(af, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (af == AF_INET6)
		snprintf(buf, size, "[%s]:%u", a, port);
	else
		snprintf(buf, size, "%s:%u", a, port);
	return buf;
}
