/*
 * libFuzzer: the MITM relay's framing. The relay does not copy a stream into a framer of its
 * own: it frames packets where libevent put the bytes (mitm_framer_next on an evbuffer, in place,
 * or gathered when a packet straddles two pieces of the buffer), decodes them, turns them into
 * events (mitm_event_to_json, what the JSON log writes) and moves every framed byte on together
 * (mitm_framer_forward). This harness feeds one direction of a stream to that path in random
 * chunks, the way TLS records arrive (each chunk a piece of its own in the evbuffer), and checks
 * it against mqttdec's own stream framer (mqtt_stream_feed) on the same bytes: the same packets,
 * in the same order, and the same verdict on a bad stream.
 *
 * Input: byte 0 picks the protocol version and the packet cap, byte 1 seeds the chunk sizes, the
 * rest is the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "mitm/mitm-int.h"
#include "mqttls/util.h"

struct seen {
	uint8_t *buf;      /* the packets mqtt_stream_feed delivered, back to back */
	size_t len, cap;
	size_t count;
};

static int collect(void *ctx, const uint8_t *pkt, size_t len)
{
	struct seen *s = ctx;

	if (s->len + len > s->cap) {
		size_t cap = (s->len + len) * 2;
		uint8_t *nb = realloc(s->buf, cap);
		if (!nb)
			abort();
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, pkt, len);
	s->len += len;
	s->count++;
	return 0;
}

static void to_events(const uint8_t *raw, size_t len, int *version)
{
	struct mqtt_pkt p;
	struct mitm_event ev;
	cJSON *j;

	if (mqttdec_decode(raw, len, *version, &p) != MQTTDEC_OK)
		return;
	if (p.type == MQTT_CONNECT)
		*version = p.version;
	mitm_event_init(&ev, MITM_EV_PACKET, NULL);
	ev.protocol = *version;
	mitm_event_from_packet(&ev, &p);
	ev.client = "127.0.0.1:1";
	ev.victim = 1;
	j = mitm_event_to_json(&ev);
	if (!j)
		abort();   /* the log writer made text that is not JSON */
	if (ev.type == MITM_EV_PUBLISH) {
		/* What the log says is exactly what was sent: as text, or as base64. */
		const cJSON *pl = cJSON_GetObjectItemCaseSensitive(j, "payload");
		const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(j, "payload_base64");
		if (!cJSON_IsString(pl))
			abort();
		if (!b64 && ev.payload_len <= MITM_LOG_PAYLOAD_MAX &&
		    (strlen(pl->valuestring) != ev.payload_len ||
		     (ev.payload_len && memcmp(pl->valuestring, ev.payload, ev.payload_len))))
			abort();
		/* Text exactly when the (kept part of the) payload is what mq_utf8_valid accepts. */
		size_t kept = ev.payload_len < MITM_LOG_PAYLOAD_MAX ? ev.payload_len : MITM_LOG_PAYLOAD_MAX;
		if ((b64 != NULL) == mq_utf8_valid(ev.payload, kept))
			abort();
	}
	char *s = cJSON_PrintUnformatted(j);
	/* Whatever the bytes, the log line is valid JSON that parses back. */
	cJSON *back = s ? cJSON_Parse(s) : NULL;
	if (s && !back)
		abort();
	cJSON_Delete(back);
	free(s);
	cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int versions[4] = { MQTT_V_UNKNOWN, MQTT_V31, MQTT_V311, MQTT_V5 };
	struct evbuffer *in, *out;
	struct mitm_framer fr = { 0 };
	struct mqtt_stream st;
	struct seen ref = { 0 };
	size_t max_packet, off = 0, delivered = 0, n_pkts = 0;
	unsigned seed;
	int version, ref_rc, rc = MQTTDEC_MORE;
	bool bad = false;

	if (size < 2)
		return 0;
	version = versions[data[0] & 3];
	max_packet = (data[0] & 4) ? 64 : 0;
	seed = data[1];
	data += 2;
	size -= 2;

	mqtt_stream_init(&st, max_packet);
	ref_rc = mqtt_stream_feed(&st, data, size, collect, &ref, NULL);

	in = evbuffer_new();
	out = evbuffer_new();
	if (!in || !out)
		abort();
	while (off < size && !bad) {
		size_t chunk = 1 + (seed = seed * 1103515245u + 12345u) % 97;
		if (chunk > size - off)
			chunk = size - off;
		if (seed & 0x10000) {
			/* a piece of its own (packets straddle pieces and are gathered) */
			struct evbuffer *piece = evbuffer_new();
			if (!piece || evbuffer_add(piece, data + off, chunk) < 0 || evbuffer_add_buffer(in, piece) < 0)
				abort();
			evbuffer_free(piece);
		} else {
			/* appended where there is room (packets framed in place) */
			evbuffer_add(in, data + off, chunk);
		}
		off += chunk;
		for (;;) {
			const uint8_t *pkt;
			size_t len;
			char err[MQTTDEC_ERR_SIZE];
			rc = mitm_framer_next(&fr, in, max_packet, &pkt, &len, err);
			if (rc != MQTTDEC_OK) {
				bad = rc == MQTTDEC_BAD;
				break;
			}
			to_events(pkt, len, &version);
			delivered += len;
			n_pkts++;
		}
		/* The relay forwards exactly the framed bytes, all of them at once. */
		mitm_framer_forward(&fr, in, out);
	}
	/* Same packets, same bytes, same order as mqttdec's own stream framer. */
	if (n_pkts != ref.count || delivered != ref.len)
		abort();
	if ((ref_rc == MQTTDEC_BAD) != bad)
		abort();
	if (delivered) {
		const uint8_t *fwd = evbuffer_pullup(out, -1);
		if (memcmp(fwd, ref.buf, delivered) || memcmp(fwd, data, delivered))
			abort();
	}
	evbuffer_free(in);
	evbuffer_free(out);
	mitm_framer_free(&fr);
	mqtt_stream_free(&st);
	free(ref.buf);
	return 0;
}
