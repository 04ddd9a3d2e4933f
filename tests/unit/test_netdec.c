/*
 * netdec: every link type, VLAN stacks, IPv6 extension headers, fragments, padding, and the
 * hostile headers (TCP data offset below 5, lengths past the frame, truncation by snaplen).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pcap/dlt.h>
#include <sys/socket.h>

#include "mqttls/netdec.h"

/* A TCP header (20 bytes, or more with options) then payload. */
static size_t put_tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags, size_t optlen,
		      const char *payload)
{
	size_t hl = 20 + optlen, n = strlen(payload);

	memset(p, 0, hl);
	p[0] = (uint8_t)(sport >> 8), p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8), p[3] = (uint8_t)dport;
	p[4] = (uint8_t)(seq >> 24), p[5] = (uint8_t)(seq >> 16), p[6] = (uint8_t)(seq >> 8), p[7] = (uint8_t)seq;
	p[12] = (uint8_t)((hl / 4) << 4);
	p[13] = flags;
	memcpy(p + hl, payload, n);
	return hl + n;
}

static size_t put_ipv4(uint8_t *p, uint8_t proto, uint16_t frag, size_t l4len)
{
	size_t total = 20 + l4len;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8), p[3] = (uint8_t)total;
	p[6] = (uint8_t)(frag >> 8), p[7] = (uint8_t)frag;
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, (uint8_t[]){ 192, 0, 2, 1 }, 4);
	memcpy(p + 16, (uint8_t[]){ 192, 0, 2, 2 }, 4);
	return 20;
}

/* IPv4 + TCP "hello" from 192.0.2.1:40000 to 192.0.2.2:8883 at p; returns its length. */
static size_t ipv4_tcp(uint8_t *p)
{
	uint8_t tcp[64];
	size_t tl = put_tcp(tcp, 40000, 8883, 1000, 0x18, 0, "hello");

	put_ipv4(p, 6, 0x4000, tl);
	memcpy(p + 20, tcp, tl);
	return 20 + tl;
}

static void expect_hello(int rc, const struct net_seg *s, int af)
{
	assert_int_equal(rc, NETDEC_TCP);
	assert_int_equal(s->af, af);
	assert_int_equal(s->sport, 40000);
	assert_int_equal(s->dport, 8883);
	assert_int_equal(s->seq, 1000);
	assert_int_equal(s->flags, 0x18);
	assert_int_equal(s->len, 5);
	assert_int_equal(s->caplen, 5);
	assert_memory_equal(s->payload, "hello", 5);
}

static void ethernet_vlan_qinq(void **state)
{
	uint8_t f[256];
	struct net_seg s;
	const char *why;
	size_t n;
	(void)state;

	memset(f, 0xaa, 12);
	f[12] = 0x08, f[13] = 0x00;
	n = 14 + ipv4_tcp(f + 14);
	expect_hello(netdec_frame(DLT_EN10MB, f, n, n, &s, &why), &s, AF_INET);
	assert_memory_equal(s.src, ((uint8_t[]){ 192, 0, 2, 1 }), 4);

	/* Ethernet pads short frames: the IP length, not the frame, bounds the payload. */
	memset(f + n, 0, 20);
	expect_hello(netdec_frame(DLT_EN10MB, f, n + 20, n + 20, &s, &why), &s, AF_INET);

	/* 802.1ad outer tag, 802.1Q inner tag. */
	f[12] = 0x88, f[13] = 0xa8, f[14] = 0, f[15] = 10, f[16] = 0x81, f[17] = 0x00, f[18] = 0, f[19] = 20;
	f[20] = 0x08, f[21] = 0x00;
	n = 22 + ipv4_tcp(f + 22);
	expect_hello(netdec_frame(DLT_EN10MB, f, n, n, &s, &why), &s, AF_INET);
	assert_int_equal(s.vlans, 2);

	/* ARP is skipped, not malformed. */
	f[12] = 0x08, f[13] = 0x06;
	assert_int_equal(netdec_frame(DLT_EN10MB, f, 60, 60, &s, &why), NETDEC_SKIP);
	/* Five stacked tags are refused. */
	for (int i = 0; i < 6; i++)
		f[12 + 4 * i] = 0x81, f[13 + 4 * i] = 0x00;
	assert_int_equal(netdec_frame(DLT_EN10MB, f, 60, 60, &s, &why), NETDEC_MALFORMED);
	assert_string_equal(why, "too many VLAN tags");
}

static void cooked_null_loop_raw(void **state)
{
	uint8_t f[256];
	struct net_seg s;
	const char *why;
	size_t n;
	(void)state;

	memset(f, 0, sizeof(f));
	f[14] = 0x08, f[15] = 0x00;  /* SLL: protocol at 14 */
	n = 16 + ipv4_tcp(f + 16);
	expect_hello(netdec_frame(DLT_LINUX_SLL, f, n, n, &s, &why), &s, AF_INET);

	memset(f, 0, sizeof(f));
	f[0] = 0x08, f[1] = 0x00;  /* SLL2: protocol first */
	n = 20 + ipv4_tcp(f + 20);
	expect_hello(netdec_frame(DLT_LINUX_SLL2, f, n, n, &s, &why), &s, AF_INET);

	memset(f, 0, sizeof(f));
	f[0] = 2;  /* DLT_NULL: AF_INET in host (little-endian) order */
	n = 4 + ipv4_tcp(f + 4);
	expect_hello(netdec_frame(DLT_NULL, f, n, n, &s, &why), &s, AF_INET);
	f[0] = 0, f[3] = 2;  /* written on a big-endian host */
	expect_hello(netdec_frame(DLT_NULL, f, n, n, &s, &why), &s, AF_INET);
	expect_hello(netdec_frame(DLT_LOOP, f, n, n, &s, &why), &s, AF_INET);

	n = ipv4_tcp(f);
	expect_hello(netdec_frame(DLT_RAW, f, n, n, &s, &why), &s, AF_INET);
	expect_hello(netdec_frame(DLT_IPV4, f, n, n, &s, &why), &s, AF_INET);
	expect_hello(netdec_frame(101, f, n, n, &s, &why), &s, AF_INET);
	assert_false(netdec_dlt_supported(DLT_IEEE802_11));
	assert_int_equal(netdec_frame(DLT_IEEE802_11, f, n, n, &s, &why), NETDEC_SKIP);
}

static void ipv6_extension_headers(void **state)
{
	uint8_t f[256], tcp[64];
	struct net_seg s;
	const char *why;
	size_t tl = put_tcp(tcp, 40000, 8883, 1000, 0x18, 0, "hello"), n;
	char ep[64];
	(void)state;

	memset(f, 0, sizeof(f));
	f[0] = 0x60;
	f[4] = 0, f[5] = (uint8_t)(8 + 16 + 8 + tl);
	f[6] = 0;   /* hop-by-hop */
	f[7] = 64;
	f[8 + 15] = 1;    /* src ::1 */
	f[24 + 15] = 2;   /* dst ::2 */
	/* hop-by-hop (8 bytes) -> routing (16 bytes) -> fragment, atomic (8 bytes) -> TCP */
	f[40] = 43, f[41] = 0;
	f[48] = 44, f[49] = 1;
	f[64] = 6, f[65] = 0, f[66] = 0, f[67] = 0;
	memcpy(f + 72, tcp, tl);
	n = 72 + tl;
	expect_hello(netdec_frame(DLT_RAW, f, n, n, &s, &why), &s, AF_INET6);
	assert_string_equal(netdec_endpoint(AF_INET6, s.src, s.sport, ep, sizeof(ep)), "[::1]:40000");

	/* A real fragment (offset 1) is skipped. */
	f[66] = 0, f[67] = 8;
	assert_int_equal(netdec_frame(DLT_RAW, f, n, n, &s, &why), NETDEC_SKIP);
	/* An extension header longer than the payload is malformed. */
	f[67] = 0;
	f[49] = 200;
	assert_int_equal(netdec_frame(DLT_RAW, f, n, n, &s, &why), NETDEC_MALFORMED);
}

static void hostile_headers(void **state)
{
	uint8_t f[256], *tcp;
	struct net_seg s;
	const char *why;
	size_t n;
	(void)state;

	n = ipv4_tcp(f);
	tcp = f + 20;
	tcp[12] = 0x40;  /* data offset 4 */
	assert_int_equal(netdec_frame(DLT_RAW, f, n, n, &s, &why), NETDEC_MALFORMED);
	assert_string_equal(why, "TCP data offset below 5");
	tcp[12] = 0xF0;  /* 60-byte header in a 25-byte segment */
	assert_int_equal(netdec_frame(DLT_RAW, f, n, n, &s, &why), NETDEC_MALFORMED);
	tcp[12] = 0x50;

	/* Snaplen cut the payload: the wire length stays, caplen says what is here. */
	expect_hello(netdec_frame(DLT_RAW, f, n, n, &s, &why), &s, AF_INET);
	assert_int_equal(netdec_frame(DLT_RAW, f, n - 3, n, &s, &why), NETDEC_TCP);
	assert_int_equal(s.len, 5);
	assert_int_equal(s.caplen, 2);
	/* A record claiming more captured bytes than the frame had. */
	assert_int_equal(netdec_frame(DLT_RAW, f, n, n - 3, &s, &why), NETDEC_TCP);
	assert_int_equal(s.caplen, 2);
	/* Every truncation before the TCP flags fails cleanly; a cut inside the rest of the TCP
	 * header still gives the segment, with all of its payload missing. */
	for (size_t cut = 0; cut < 40; cut++) {
		int rc = netdec_frame(DLT_RAW, f, cut, cut, &s, &why);

		if (cut < 34) {
			assert_int_equal(rc, NETDEC_MALFORMED);
		} else {
			assert_int_equal(rc, NETDEC_TCP);
			assert_int_equal(s.caplen, 0);
			assert_int_equal(s.len, 5);
		}
	}
	/* IHL below 5, total length below the header. */
	f[0] = 0x44;
	assert_int_equal(netdec_frame(DLT_RAW, f, n, n, &s, &why), NETDEC_MALFORMED);
	f[0] = 0x45, f[2] = 0, f[3] = 10;
	assert_int_equal(netdec_frame(DLT_RAW, f, n, n, &s, &why), NETDEC_MALFORMED);
	/* A later IPv4 fragment is skipped; UDP is skipped. */
	n = ipv4_tcp(f);
	f[6] = 0x00, f[7] = 0x10;
	assert_int_equal(netdec_frame(DLT_RAW, f, n, n, &s, &why), NETDEC_SKIP);
	f[6] = 0x40, f[7] = 0, f[9] = 17;
	assert_int_equal(netdec_frame(DLT_RAW, f, n, n, &s, &why), NETDEC_SKIP);
}

static void tcp_option_length_zero_is_harmless(void **state)
{
	uint8_t f[256], tcp[64];
	struct net_seg s;
	const char *why;
	size_t tl, n;
	(void)state;

	/* Options: MSS with a length of 0 (a parser that walks options by length would loop). */
	tl = put_tcp(tcp, 40000, 8883, 1000, 0x18, 4, "hello");
	tcp[20] = 2, tcp[21] = 0;
	put_ipv4(f, 6, 0x4000, tl);
	memcpy(f + 20, tcp, tl);
	n = 20 + tl;
	expect_hello(netdec_frame(DLT_RAW, f, n, n, &s, &why), &s, AF_INET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ethernet_vlan_qinq),
		cmocka_unit_test(cooked_null_loop_raw),
		cmocka_unit_test(ipv6_extension_headers),
		cmocka_unit_test(hostile_headers),
		cmocka_unit_test(tcp_option_length_zero_is_harmless),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
