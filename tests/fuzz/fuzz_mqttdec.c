/*
 * libFuzzer: the MQTT decoder on whole packets and the stream framer on the same bytes cut
 * into random chunks (the MITM relay's and capture's path).
 *
 * Input: byte 0 picks the protocol version, byte 1 seeds the chunk sizes, the rest is a byte
 * stream of one direction. Invariants checked: the packets the framer delivers are exactly the
 * consumed bytes, in order, whatever the chunking; every decoded field points inside its packet.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/mqttdec.h"

static const int versions[4] = { MQTT_V_UNKNOWN, MQTT_V31, MQTT_V311, MQTT_V5 };

static void inside(const struct mqtt_pkt *p, struct mqtt_bytes b)
{
	if (!b.p || !b.len)
		return;
	if (b.p < p->raw || b.p + b.len > p->raw + p->raw_len)
		abort();
}

static void check_packet(const uint8_t *raw, size_t len, int version)
{
	struct mqtt_pkt p;
	struct mq_str out = { 0 };
	struct cursor it;
	struct mqtt_prop prop;
	struct mqtt_bytes f;
	uint8_t opt;
	unsigned n = 0;

	if (mqttdec_decode(raw, len, version, &p) != MQTTDEC_OK) {
		if (!p.err[0])
			abort();  /* a refusal always says why */
		return;
	}
	inside(&p, p.client_id);
	inside(&p, p.username);
	inside(&p, p.password);
	inside(&p, p.will_topic);
	inside(&p, p.will_payload);
	inside(&p, p.topic);
	inside(&p, p.payload);
	inside(&p, p.list);
	cur_init(&it, p.props.p, p.props.len);
	while (mqttdec_prop_next(&it, &prop)) {
		inside(&p, prop.str);
		inside(&p, prop.value);
		n++;
	}
	if (n != p.props.count || !cur_empty(&it))
		abort();  /* a validated list walks completely */
	if (p.type == MQTT_SUBSCRIBE || p.type == MQTT_UNSUBSCRIBE) {
		n = 0;
		cur_init(&it, p.list.p, p.list.len);
		while (mqttdec_filter_next(&it, &p, &f, &opt))
			n++;
		if (n != p.list_count)
			abort();
	}
	mqttdec_describe(&p, 0, &out);
	mq_str_free(&out);
}

struct acc {
	uint8_t *buf;
	size_t len;
	int version;
};

static int on_packet(void *ctx, const uint8_t *pkt, size_t len)
{
	struct acc *a = ctx;
	size_t hdr, total;

	if (mqttdec_frame(pkt, len, 0, &hdr, &total, NULL) != MQTTDEC_OK || total != len)
		abort();
	memcpy(a->buf + a->len, pkt, len);
	a->len += len;
	check_packet(pkt, len, a->version);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mqtt_stream whole, chunked;
	struct acc a1, a2;
	uint32_t seed;
	int version;
	size_t off = 0;

	if (size < 2)
		return 0;
	version = versions[data[0] & 3];
	seed = data[1] * 2654435761u + 1;
	data += 2;
	size -= 2;

	check_packet(data, size, version);

	a1 = (struct acc){ malloc(size + 1), 0, version };
	a2 = (struct acc){ malloc(size + 1), 0, version };
	mqtt_stream_init(&whole, 1 << 16);
	mqtt_stream_init(&chunked, 1 << 16);
	(void)mqtt_stream_feed(&whole, data, size, on_packet, &a1, NULL);
	while (off < size && !chunked.dead) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 17;
		if (n > size - off)
			n = size - off;
		(void)mqtt_stream_feed(&chunked, data + off, n, on_packet, &a2, NULL);
		off += n;
	}
	/* Same packets whatever the cuts, and they are the input's own bytes. */
	if (a1.len != a2.len || memcmp(a1.buf, a2.buf, a1.len) || memcmp(a1.buf, data, a1.len))
		abort();
	if (whole.dead != chunked.dead)
		abort();
	mqtt_stream_free(&whole);
	mqtt_stream_free(&chunked);
	free(a1.buf);
	free(a2.buf);
	return 0;
}
