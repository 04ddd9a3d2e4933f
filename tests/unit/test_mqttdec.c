/*
 * mqttdec on real packets: every byte array below was recorded on loopback from Debian's
 * mosquitto 2.0.11 and its mosquitto_pub / mosquitto_sub (tcpdump, then tshark -e tcp.payload),
 * plus hand-broken variants for the malformed cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mqttls/mqttdec.h"

/* mosquitto_pub -V mqttv311 -i esp32-kitchen -u alice -P s3cret --will-topic dev/status
 * --will-payload offline --will-qos 1 --will-retain */
static const uint8_t connect311[] = {
	0x10, 0x3d, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0xee, 0x00, 0x3c, 0x00, 0x0d,
	'e', 's', 'p', '3', '2', '-', 'k', 'i', 't', 'c', 'h', 'e', 'n', 0x00, 0x0a,
	'd', 'e', 'v', '/', 's', 't', 'a', 't', 'u', 's', 0x00, 0x07, 'o', 'f', 'f', 'l', 'i', 'n', 'e',
	0x00, 0x05, 'a', 'l', 'i', 'c', 'e', 0x00, 0x06, 's', '3', 'c', 'r', 'e', 't',
};
static const uint8_t connack311_ok[] = { 0x20, 0x02, 0x00, 0x00 };
static const uint8_t connack311_notauth[] = { 0x20, 0x02, 0x00, 0x05 };
/* PUBLISH QoS 1, id 1, sensors/kitchen/temp = 21.5 */
static const uint8_t publish311[] = {
	0x32, 0x1c, 0x00, 0x14, 's', 'e', 'n', 's', 'o', 'r', 's', '/', 'k', 'i', 't', 'c', 'h', 'e', 'n',
	'/', 't', 'e', 'm', 'p', 0x00, 0x01, '2', '1', '.', '5',
};
static const uint8_t puback311[] = { 0x40, 0x02, 0x00, 0x01 };
static const uint8_t disconnect311[] = { 0xe0, 0x00 };
/* mosquitto_pub -V mqttv5 -i v5dev -D connect session-expiry-interval 3600 */
static const uint8_t connect5[] = {
	0x10, 0x1a, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02, 0x00, 0x3c, 0x08, 0x11, 0x00, 0x00,
	0x0e, 0x10, 0x21, 0x00, 0x14, 0x00, 0x05, 'v', '5', 'd', 'e', 'v',
};
static const uint8_t connack5[] = { 0x20, 0x09, 0x00, 0x00, 0x06, 0x22, 0x00, 0x0a, 0x21, 0x00, 0x14 };
/* CONNACK with an Assigned Client Identifier (mosquitto_sub without -i) */
static const uint8_t connack5_assigned[] = {
	0x20, 0x35, 0x00, 0x00, 0x32, 0x22, 0x00, 0x0a, 0x12, 0x00, 0x29, 'a', 'u', 't', 'o', '-', '8',
	'5', '1', '5', '2', '3', '5', 'C', '-', '6', '7', 'E', 'F', '-', '5', 'A', '9', '1', '-', '7',
	'3', 'F', '0', '-', '3', '8', '0', '0', 'B', '8', '6', 'B', '2', '3', 'E', '0', 0x21, 0x00, 0x14,
};
/* PUBLISH QoS 2 id 1 a/b = hello, user property k=v, content type text/plain */
static const uint8_t publish5[] = {
	0x34, 0x21, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x01, 0x14, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',
	0x03, 0x00, 0x0a, 't', 'e', 'x', 't', '/', 'p', 'l', 'a', 'i', 'n', 'h', 'e', 'l', 'l', 'o',
};
static const uint8_t pubrec5[] = { 0x50, 0x02, 0x00, 0x01 };
static const uint8_t pubrel5[] = { 0x62, 0x02, 0x00, 0x01 };
static const uint8_t pubcomp5[] = { 0x70, 0x02, 0x00, 0x01 };
/* mosquitto_sub -V mqttv5 -t 'a/#' -t 'x/+/y' -q 1 */
static const uint8_t subscribe5[] = {
	0x82, 0x11, 0x00, 0x01, 0x00, 0x00, 0x03, 'a', '/', '#', 0x01, 0x00, 0x05, 'x', '/', '+', '/', 'y', 0x01,
};
static const uint8_t suback5[] = { 0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x01 };
static const uint8_t disconnect5_will[] = { 0xe0, 0x01, 0x04 };
static const uint8_t subscribe311[] = { 0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 'a', '/', '#', 0x02 };
static const uint8_t suback311[] = { 0x90, 0x03, 0x00, 0x01, 0x02 };
/* anonymous v5 client refused by a broker without allow_anonymous: 0x87 Not authorized */
static const uint8_t connack5_notauth[] = { 0x20, 0x03, 0x00, 0x87, 0x00 };
/* v5 with -u bob -P pw */
static const uint8_t connect5_creds[] = {
	0x10, 0x19, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0xc2, 0x00, 0x3c, 0x03, 0x21, 0x00, 0x14,
	0x00, 0x00, 0x00, 0x03, 'b', 'o', 'b', 0x00, 0x02, 'p', 'w',
};

static void decode_ok(const uint8_t *p, size_t n, int version, struct mqtt_pkt *out)
{
	int rc = mqttdec_decode(p, n, version, out);

	if (rc != MQTTDEC_OK)
		fail_msg("decode failed: %s", out->err);
}

static void decode_bad(const uint8_t *p, size_t n, int version, const char *why)
{
	struct mqtt_pkt pkt;

	assert_int_equal(mqttdec_decode(p, n, version, &pkt), MQTTDEC_BAD);
	if (!strstr(pkt.err, why))
		fail_msg("error \"%s\" does not say \"%s\"", pkt.err, why);
}

static bool bytes_eq(struct mqtt_bytes b, const char *s)
{
	return b.p && b.len == strlen(s) && !memcmp(b.p, s, b.len);
}

static void connect_311_with_will_and_credentials(void **state)
{
	struct mqtt_pkt p;
	(void)state;

	decode_ok(connect311, sizeof(connect311), MQTT_V_UNKNOWN, &p);
	assert_int_equal(p.type, MQTT_CONNECT);
	assert_int_equal(p.version, MQTT_V311);
	assert_true(bytes_eq(p.proto_name, "MQTT"));
	assert_true(bytes_eq(p.client_id, "esp32-kitchen"));
	assert_true(bytes_eq(p.username, "alice"));
	assert_true(bytes_eq(p.password, "s3cret"));
	assert_true(p.will);
	assert_int_equal(p.will_qos, 1);
	assert_true(p.will_retain);
	assert_true(bytes_eq(p.will_topic, "dev/status"));
	assert_true(bytes_eq(p.will_payload, "offline"));
	assert_int_equal(p.keepalive, 60);
	assert_true(p.clean_start);
	assert_int_equal(p.header_len, 2);
	assert_int_equal(p.remaining, 0x3d);
}

static void connack_codes_and_findings(void **state)
{
	struct mqtt_pkt p;
	(void)state;

	decode_ok(connack311_ok, sizeof(connack311_ok), MQTT_V311, &p);
	assert_int_equal(p.reason, 0);
	assert_false(p.session_present);
	assert_false(mqttdec_reason_is_error(MQTT_V311, MQTT_CONNACK, p.reason));
	assert_null(mqttdec_connack_finding(MQTT_V311, 0, false));

	decode_ok(connack311_notauth, sizeof(connack311_notauth), MQTT_V311, &p);
	assert_int_equal(p.reason, 5);
	assert_string_equal(mqttdec_reason_name(MQTT_V311, MQTT_CONNACK, 5), "not authorised");
	assert_true(mqttdec_reason_is_error(MQTT_V311, MQTT_CONNACK, 5));
	assert_string_equal(mqttdec_connack_finding(MQTT_V311, 5, false), "ANONYMOUS_NOT_ALLOWED");
	assert_string_equal(mqttdec_connack_finding(MQTT_V311, 5, true), "NOT_AUTHORIZED");
	assert_string_equal(mqttdec_connack_finding(MQTT_V311, 4, true), "BAD_CREDENTIALS");
	assert_string_equal(mqttdec_connack_finding(MQTT_V311, 2, false), "CLIENT_ID_REJECTED");

	decode_ok(connack5_notauth, sizeof(connack5_notauth), MQTT_V5, &p);
	assert_int_equal(p.reason, 0x87);
	assert_int_equal(p.props.count, 0);
	assert_string_equal(mqttdec_reason_name(MQTT_V5, MQTT_CONNACK, 0x87), "Not authorized");
	assert_string_equal(mqttdec_connack_finding(MQTT_V5, 0x87, false), "ANONYMOUS_NOT_ALLOWED");
	assert_string_equal(mqttdec_connack_finding(MQTT_V5, 0x86, true), "BAD_CREDENTIALS");
	/* The same 2-byte 3.1.1 refusal a 3.1.1-only broker sends a v5 client. */
	decode_ok(connack311_notauth, sizeof(connack311_notauth), MQTT_V5, &p);
}

static void publish_311_qos1(void **state)
{
	struct mqtt_pkt p;
	(void)state;

	decode_ok(publish311, sizeof(publish311), MQTT_V311, &p);
	assert_int_equal(p.type, MQTT_PUBLISH);
	assert_int_equal(p.qos, 1);
	assert_false(p.retain);
	assert_false(p.dup);
	assert_true(p.has_packet_id);
	assert_int_equal(p.packet_id, 1);
	assert_true(bytes_eq(p.topic, "sensors/kitchen/temp"));
	assert_true(bytes_eq(p.payload, "21.5"));

	decode_ok(puback311, sizeof(puback311), MQTT_V311, &p);
	assert_int_equal(p.type, MQTT_PUBACK);
	assert_int_equal(p.packet_id, 1);
	assert_false(p.has_reason);
	decode_ok(disconnect311, sizeof(disconnect311), MQTT_V311, &p);
	assert_int_equal(p.type, MQTT_DISCONNECT);
}

static void connect_5_properties(void **state)
{
	struct mqtt_pkt p;
	struct mqtt_prop prop;
	(void)state;

	decode_ok(connect5, sizeof(connect5), MQTT_V_UNKNOWN, &p);
	assert_int_equal(p.version, MQTT_V5);
	assert_true(bytes_eq(p.client_id, "v5dev"));
	assert_null(p.username.p);
	assert_null(p.password.p);
	assert_int_equal(p.props.count, 2);
	assert_true(mqttdec_prop_find(&p.props, 0x11, &prop));
	assert_int_equal(prop.num, 3600);
	assert_string_equal(prop.name, "Session Expiry Interval");
	assert_true(mqttdec_prop_find(&p.props, 0x21, &prop));
	assert_int_equal(prop.num, 20);
	assert_false(mqttdec_prop_find(&p.props, 0x27, &prop));

	decode_ok(connect5_creds, sizeof(connect5_creds), MQTT_V_UNKNOWN, &p);
	assert_true(bytes_eq(p.username, "bob"));
	assert_true(bytes_eq(p.password, "pw"));
	assert_true(bytes_eq(p.client_id, ""));
}

static void connack_5_properties(void **state)
{
	struct mqtt_pkt p;
	struct mqtt_prop prop;
	(void)state;

	decode_ok(connack5, sizeof(connack5), MQTT_V5, &p);
	assert_int_equal(p.reason, 0);
	assert_string_equal(mqttdec_reason_name(MQTT_V5, MQTT_CONNACK, 0), "Success");
	assert_int_equal(p.props.count, 2);
	assert_true(mqttdec_prop_find(&p.props, 0x22, &prop));
	assert_int_equal(prop.num, 10);

	decode_ok(connack5_assigned, sizeof(connack5_assigned), MQTT_V5, &p);
	assert_true(mqttdec_prop_find(&p.props, 0x12, &prop));
	assert_int_equal(prop.kind, MQTT_PROP_UTF8);
	assert_int_equal(prop.str.len, 41);
	assert_memory_equal(prop.str.p, "auto-", 5);
}

static void publish_5_qos2_flow(void **state)
{
	struct mqtt_pkt p;
	struct mqtt_prop prop;
	struct cursor it;
	unsigned n = 0;
	(void)state;

	decode_ok(publish5, sizeof(publish5), MQTT_V5, &p);
	assert_int_equal(p.qos, 2);
	assert_int_equal(p.packet_id, 1);
	assert_true(bytes_eq(p.topic, "a/b"));
	assert_true(bytes_eq(p.payload, "hello"));
	assert_int_equal(p.props.count, 2);
	cur_init(&it, p.props.p, p.props.len);
	while (mqttdec_prop_next(&it, &prop)) {
		if (n == 0) {
			assert_int_equal(prop.id, 0x26);
			assert_int_equal(prop.kind, MQTT_PROP_PAIR);
			assert_true(bytes_eq(prop.str, "k"));
			assert_true(bytes_eq(prop.value, "v"));
		} else {
			assert_int_equal(prop.id, 0x03);
			assert_true(bytes_eq(prop.str, "text/plain"));
		}
		n++;
	}
	assert_int_equal(n, 2);
	/* The same bytes read as 3.1.1 put the properties into the payload: version matters. */
	decode_ok(publish5, sizeof(publish5), MQTT_V311, &p);
	assert_int_equal(p.payload.len, 5 + 21);

	decode_ok(pubrec5, sizeof(pubrec5), MQTT_V5, &p);
	assert_int_equal(p.type, MQTT_PUBREC);
	assert_false(p.has_reason);
	decode_ok(pubrel5, sizeof(pubrel5), MQTT_V5, &p);
	assert_int_equal(p.type, MQTT_PUBREL);
	decode_ok(pubcomp5, sizeof(pubcomp5), MQTT_V5, &p);
	assert_int_equal(p.type, MQTT_PUBCOMP);
	assert_int_equal(p.packet_id, 1);
}

static void subscribe_and_suback(void **state)
{
	struct mqtt_pkt p;
	struct mqtt_bytes f;
	struct cursor it;
	uint8_t opt;
	(void)state;

	decode_ok(subscribe5, sizeof(subscribe5), MQTT_V5, &p);
	assert_int_equal(p.type, MQTT_SUBSCRIBE);
	assert_int_equal(p.list_count, 2);
	cur_init(&it, p.list.p, p.list.len);
	assert_true(mqttdec_filter_next(&it, &p, &f, &opt));
	assert_true(bytes_eq(f, "a/#"));
	assert_int_equal(opt, 1);
	assert_true(mqttdec_filter_next(&it, &p, &f, &opt));
	assert_true(bytes_eq(f, "x/+/y"));
	assert_false(mqttdec_filter_next(&it, &p, &f, &opt));

	decode_ok(suback5, sizeof(suback5), MQTT_V5, &p);
	assert_int_equal(p.list_count, 2);
	assert_string_equal(mqttdec_reason_name(MQTT_V5, MQTT_SUBACK, p.list.p[0]), "Granted QoS 1");
	decode_ok(subscribe311, sizeof(subscribe311), MQTT_V311, &p);
	assert_int_equal(p.list_count, 1);
	decode_ok(suback311, sizeof(suback311), MQTT_V311, &p);
	assert_string_equal(mqttdec_reason_name(MQTT_V311, MQTT_SUBACK, p.list.p[0]), "granted QoS 2");

	decode_ok(disconnect5_will, sizeof(disconnect5_will), MQTT_V5, &p);
	assert_true(p.has_reason);
	assert_int_equal(p.reason, 4);
	assert_string_equal(mqttdec_reason_name(MQTT_V5, MQTT_DISCONNECT, 4), "Disconnect with Will Message");
	assert_string_equal(mqttdec_reason_name(MQTT_V5, MQTT_DISCONNECT, 0), "Normal disconnection");
	assert_string_equal(mqttdec_reason_name(MQTT_V5, MQTT_PUBACK, 0xee), "unknown (0xee)");
}

/* A copy of a real packet with some bytes changed. */
static uint8_t *mutate(const uint8_t *p, size_t n, size_t at, uint8_t v)
{
	static uint8_t buf[256];

	assert_true(n <= sizeof(buf));
	memcpy(buf, p, n);
	buf[at] = v;
	return buf;
}

static void malformed_packets(void **state)
{
	static const uint8_t rl5[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t str_past_end[] = { 0x30, 0x05, 0x00, 0x09, 'a', '/', 'b' };
	static const uint8_t connect_pw_no_user[] = {
		0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x42, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x02, 'p', 'w',
	};
	static const uint8_t trailing[] = { 0xc0, 0x01, 0x00 };
	static const uint8_t zero_id[] = { 0x40, 0x02, 0x00, 0x00 };
	static const uint8_t auth311[] = { 0xf0, 0x00 };
	static const uint8_t type0[] = { 0x00, 0x00 };
	static const uint8_t dup_prop[] = {
		0x10, 0x17, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02, 0x00, 0x3c, 0x0a, 0x11, 0x00, 0x00,
		0x0e, 0x10, 0x11, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x00,
	};
	static const uint8_t prop_len_overflow[] = { 0x20, 0x05, 0x00, 0x00, 0x7f, 0x22, 0x00 };
	static const uint8_t empty_sub[] = { 0x82, 0x02, 0x00, 0x01 };
	(void)state;

	decode_bad(rl5, sizeof(rl5), MQTT_V311, "longer than 4 bytes");
	decode_bad(str_past_end, sizeof(str_past_end), MQTT_V311, "runs past the end");
	decode_bad(connect_pw_no_user, sizeof(connect_pw_no_user), 0, "password flag set without the user name");
	decode_bad(trailing, sizeof(trailing), MQTT_V311, "unexpected bytes");
	decode_bad(zero_id, sizeof(zero_id), MQTT_V311, "packet identifier 0");
	decode_bad(auth311, sizeof(auth311), MQTT_V311, "outside MQTT 5");
	decode_bad(type0, sizeof(type0), MQTT_V311, "reserved packet type");
	decode_bad(dup_prop, sizeof(dup_prop), 0, "appears twice");
	decode_bad(prop_len_overflow, sizeof(prop_len_overflow), MQTT_V5, "runs past the end");
	decode_bad(empty_sub, sizeof(empty_sub), MQTT_V311, "no topic filter");
	/* PUBLISH QoS 3, DUP on QoS 0, a wildcard in a topic name. */
	decode_bad(mutate(publish311, sizeof(publish311), 0, 0x36), sizeof(publish311), MQTT_V311, "QoS 3");
	decode_bad(mutate(disconnect311, 2, 0, 0xe1), 2, MQTT_V311, "flags 0x1");
	decode_bad(mutate(publish311, sizeof(publish311), 11, '#'), sizeof(publish311), MQTT_V311, "wildcard");
	/* SUBSCRIBE must carry flags 0x2. */
	decode_bad(mutate(subscribe5, sizeof(subscribe5), 0, 0x80), sizeof(subscribe5), MQTT_V5, "requires 0x2");
	/* CONNECT reserved bit, bad protocol name and level, invalid UTF-8 in the client id. */
	decode_bad(mutate(connect311, sizeof(connect311), 9, 0xef), sizeof(connect311), 0, "reserved flag");
	decode_bad(mutate(connect311, sizeof(connect311), 4, 'X'), sizeof(connect311), 0, "protocol name");
	decode_bad(mutate(connect311, sizeof(connect311), 8, 0x07), sizeof(connect311), 0, "protocol level 7");
	decode_bad(mutate(connect311, sizeof(connect311), 14, 0xc0), sizeof(connect311), 0, "UTF-8");
	/* A property that does not belong in CONNACK (Topic Alias 0x23). */
	decode_bad(mutate(connack5, sizeof(connack5), 5, 0x23), sizeof(connack5), MQTT_V5, "not allowed here");
	/* SUBACK with an undefined code. */
	decode_bad(mutate(suback311, sizeof(suback311), 4, 0x03), sizeof(suback311), MQTT_V311, "not defined");
	/* Fewer bytes than the remaining length says. */
	decode_bad(publish311, sizeof(publish311) - 1, MQTT_V311, "runs past");
	decode_bad(publish311, 1, MQTT_V311, "shorter than");
	decode_bad(NULL, 0, MQTT_V311, "shorter than");
}

static void framing(void **state)
{
	static const uint8_t big[] = { 0x30, 0x80, 0x80, 0x80, 0x08 }; /* 16 MB announced */
	size_t hdr, total;
	char err[MQTTDEC_ERR_SIZE];
	(void)state;

	assert_int_equal(mqttdec_frame(publish311, 1, 0, &hdr, &total, err), MQTTDEC_MORE);
	assert_int_equal(total, 0);
	assert_int_equal(mqttdec_frame(publish311, 5, 0, &hdr, &total, err), MQTTDEC_MORE);
	assert_int_equal(total, sizeof(publish311));
	assert_int_equal(hdr, 2);
	assert_int_equal(mqttdec_frame(publish311, sizeof(publish311), 0, &hdr, &total, err), MQTTDEC_OK);
	assert_int_equal(mqttdec_frame(big, sizeof(big), 0, &hdr, &total, err), MQTTDEC_MORE);
	assert_int_equal(total, 5 + (8u << 21));
	assert_int_equal(mqttdec_frame(big, sizeof(big), 65536, &hdr, &total, err), MQTTDEC_BAD);
	assert_non_null(strstr(err, "over the 65536-byte limit"));
	assert_int_equal(mqttdec_frame((const uint8_t[]){ 0x30, 0xff, 0xff, 0xff, 0x7f }, 5, 0, &hdr, &total, NULL),
			 MQTTDEC_MORE);
	assert_int_equal(total, 5 + MQTT_MAX_REMAINING);
}

/* ---- the stream framer ---- */

struct seen {
	uint8_t bytes[1024];
	size_t len;
	unsigned packets;
	unsigned stop_after;
};

static int collect(void *ctx, const uint8_t *pkt, size_t len)
{
	struct seen *s = ctx;
	struct mqtt_pkt p;

	assert_true(s->len + len <= sizeof(s->bytes));
	memcpy(s->bytes + s->len, pkt, len);
	s->len += len;
	s->packets++;
	assert_int_equal(mqttdec_decode(pkt, len, MQTT_V5, &p), MQTTDEC_OK);
	return s->stop_after && s->packets == s->stop_after;
}

static size_t client_stream(uint8_t *out)
{
	size_t n = 0;

	memcpy(out + n, connect5, sizeof(connect5)), n += sizeof(connect5);
	memcpy(out + n, publish5, sizeof(publish5)), n += sizeof(publish5);
	memcpy(out + n, pubrel5, sizeof(pubrel5)), n += sizeof(pubrel5);
	memcpy(out + n, subscribe5, sizeof(subscribe5)), n += sizeof(subscribe5);
	memcpy(out + n, disconnect5_will, sizeof(disconnect5_will)), n += sizeof(disconnect5_will);
	return n;
}

static void stream_every_split(void **state)
{
	uint8_t all[512];
	size_t n = client_stream(all);
	(void)state;

	/* Two chunks, cut at every position; then three chunks at every pair of positions. */
	for (size_t a = 0; a <= n; a++) {
		for (size_t b = a; b <= n; b++) {
			struct mqtt_stream s;
			struct seen seen = { .len = 0 };

			mqtt_stream_init(&s, 4096);
			assert_int_equal(mqtt_stream_feed(&s, all, a, collect, &seen, NULL), MQTTDEC_OK);
			assert_int_equal(mqtt_stream_feed(&s, all + a, b - a, collect, &seen, NULL), MQTTDEC_OK);
			assert_int_equal(mqtt_stream_feed(&s, all + b, n - b, collect, &seen, NULL), MQTTDEC_OK);
			assert_int_equal(seen.packets, 5);
			assert_int_equal(seen.len, n);
			assert_memory_equal(seen.bytes, all, n);
			assert_int_equal(mqtt_stream_pending(&s), 0);
			assert_int_equal(s.packets, 5);
			assert_int_equal(s.bytes, n);
			mqtt_stream_free(&s);
		}
	}
}

static void stream_one_byte_at_a_time(void **state)
{
	uint8_t all[512];
	size_t n = client_stream(all);
	struct mqtt_stream s;
	struct seen seen = { .len = 0 };
	(void)state;

	mqtt_stream_init(&s, 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mqtt_stream_feed(&s, all + i, 1, collect, &seen, NULL), MQTTDEC_OK);
	assert_int_equal(seen.packets, 5);
	assert_memory_equal(seen.bytes, all, n);
	mqtt_stream_free(&s);
}

static void stream_stop_and_resume(void **state)
{
	uint8_t all[512];
	size_t n = client_stream(all), used;
	struct mqtt_stream s;
	struct seen seen = { .stop_after = 2 };
	(void)state;

	mqtt_stream_init(&s, 0);
	assert_int_equal(mqtt_stream_feed(&s, all, n, collect, &seen, &used), MQTTDEC_STOPPED);
	assert_int_equal(used, sizeof(connect5) + sizeof(publish5));
	seen.stop_after = 0;
	assert_int_equal(mqtt_stream_feed(&s, all + used, n - used, collect, &seen, &used), MQTTDEC_OK);
	assert_int_equal(seen.packets, 5);
	assert_memory_equal(seen.bytes, all, n);
	mqtt_stream_free(&s);
}

static void stream_hostile(void **state)
{
	static const uint8_t rl5[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t big[] = { 0x30, 0x80, 0x80, 0x80, 0x08 };
	struct mqtt_stream s;
	struct seen seen = { .len = 0 };
	uint8_t zero[64] = { 0x30, 0x7f };
	(void)state;

	/* Remaining length of 5 bytes, fed a byte at a time: dead at the fifth, no packet. */
	mqtt_stream_init(&s, 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(mqtt_stream_feed(&s, rl5 + i, 1, collect, &seen, NULL), MQTTDEC_OK);
	assert_int_equal(mqtt_stream_feed(&s, rl5 + 4, 1, collect, &seen, NULL), MQTTDEC_BAD);
	assert_non_null(strstr(s.err, "longer than 4 bytes"));
	assert_true(s.dead);
	assert_int_equal(mqtt_stream_feed(&s, connack5, sizeof(connack5), collect, &seen, NULL), MQTTDEC_BAD);
	mqtt_stream_reset(&s);
	assert_int_equal(mqtt_stream_feed(&s, connack5, sizeof(connack5), collect, &seen, NULL), MQTTDEC_OK);
	assert_int_equal(seen.packets, 1);
	mqtt_stream_free(&s);

	/* A 16 MB announcement over a 1 MB cap is refused at its header. */
	mqtt_stream_init(&s, 1 << 20);
	assert_int_equal(mqtt_stream_feed(&s, big, 2, collect, &seen, NULL), MQTTDEC_OK);
	assert_int_equal(mqtt_stream_feed(&s, big + 2, 3, collect, &seen, NULL), MQTTDEC_BAD);
	assert_non_null(strstr(s.err, "limit"));
	mqtt_stream_free(&s);

	/* Without a cap, 1-byte pieces of it grow the buffer with what arrived, not what was announced. */
	mqtt_stream_init(&s, 0);
	assert_int_equal(mqtt_stream_feed(&s, big, sizeof(big), collect, &seen, NULL), MQTTDEC_OK);
	for (int i = 0; i < 100; i++)
		assert_int_equal(mqtt_stream_feed(&s, zero, 1, collect, &seen, NULL), MQTTDEC_OK);
	assert_int_equal(mqtt_stream_pending(&s), 105);
	assert_true(s.cap <= 256);
	mqtt_stream_free(&s);
}

static void describe_escapes(void **state)
{
	static const uint8_t evil[] = { 0x30, 0x0b, 0x00, 0x03, 'a', '/', 'b', 'x', 0x1b, '[', '2', 'J', 0x07 };
	struct mqtt_pkt p;
	struct mq_str out = { 0 };
	(void)state;

	decode_ok(connect311, sizeof(connect311), 0, &p);
	mqttdec_describe(&p, 0, &out);
	assert_string_equal(out.s, "CONNECT v3.1.1 client_id \"esp32-kitchen\" username \"alice\" password \"s3cret\" "
				   "keepalive 60 clean will \"dev/status\" qos 1 retain");
	mq_str_free(&out);
	decode_ok(publish311, sizeof(publish311), MQTT_V311, &p);
	mqttdec_describe(&p, 0, &out);
	assert_string_equal(out.s, "PUBLISH qos 1 id 1 topic \"sensors/kitchen/temp\" payload \"21.5\" (4 bytes)");
	mq_str_free(&out);
	decode_ok(evil, sizeof(evil), MQTT_V311, &p);
	mqttdec_describe(&p, 3, &out);
	assert_string_equal(out.s, "PUBLISH qos 0 topic \"a/b\" payload \"x\\x1B[...\" (6 bytes)");
	mq_str_free(&out);
	decode_ok(connack311_notauth, sizeof(connack311_notauth), MQTT_V311, &p);
	mqttdec_describe(&p, 0, &out);
	assert_string_equal(out.s, "CONNACK 5 (not authorised)");
	mq_str_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(connect_311_with_will_and_credentials),
		cmocka_unit_test(connack_codes_and_findings),
		cmocka_unit_test(publish_311_qos1),
		cmocka_unit_test(connect_5_properties),
		cmocka_unit_test(connack_5_properties),
		cmocka_unit_test(publish_5_qos2_flow),
		cmocka_unit_test(subscribe_and_suback),
		cmocka_unit_test(malformed_packets),
		cmocka_unit_test(framing),
		cmocka_unit_test(stream_every_split),
		cmocka_unit_test(stream_one_byte_at_a_time),
		cmocka_unit_test(stream_stop_and_resume),
		cmocka_unit_test(stream_hostile),
		cmocka_unit_test(describe_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
