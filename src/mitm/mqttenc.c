#include <stdlib.h>
#include <string.h>

#include "mqttls/mqttenc.h"

/* The variable header and payload are built first, then the fixed header is put in front. */
struct body {
	unsigned char *p;
	size_t len, cap;
	bool bad;
};

static void put(struct body *b, const void *data, size_t n)
{
	if (b->bad)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *np = realloc(b->p, cap);
		if (!np) {
			b->bad = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put_u8(struct body *b, unsigned v)
{
	unsigned char c = (unsigned char)v;
	put(b, &c, 1);
}

static void put_u16(struct body *b, unsigned v)
{
	unsigned char c[2] = { (unsigned char)(v >> 8), (unsigned char)v };
	put(b, c, 2);
}

static void put_bin(struct body *b, const void *data, size_t n)
{
	if (n > 65535) {
		b->bad = true;
		return;
	}
	put_u16(b, (unsigned)n);
	put(b, data, n);
}

static void put_str(struct body *b, const char *s)
{
	put_bin(b, s, strlen(s));
}

static int finish(struct mq_str *out, unsigned first, struct body *b)
{
	unsigned char hdr[5];
	size_t h = 0, rl = b->len;

	if (b->bad || rl > MQTT_MAX_REMAINING) {
		free(b->p);
		return -1;
	}
	hdr[h++] = (unsigned char)first;
	do {
		unsigned char d = rl % 128;
		rl /= 128;
		hdr[h++] = (unsigned char)(d | (rl ? 0x80 : 0));
	} while (rl);
	mq_str_append(out, (const char *)hdr, h);
	if (b->len)
		mq_str_append(out, (const char *)b->p, b->len);
	free(b->p);
	return 0;
}

int mqttenc_connect(struct mq_str *out, const struct mqttenc_connect *c)
{
	struct body b = { 0 };
	unsigned flags = 0;

	if (c->clean)
		flags |= 0x02;
	if (c->will_topic)
		flags |= 0x04 | (unsigned)(c->will_qos & 3) << 3 | (c->will_retain ? 0x20 : 0);
	if (c->password)
		flags |= 0x40;
	if (c->username)
		flags |= 0x80;
	put_str(&b, "MQTT");
	put_u8(&b, (unsigned)c->level);
	put_u8(&b, flags);
	put_u16(&b, (unsigned)c->keepalive);
	if (c->level == 5)
		put_u8(&b, 0);          /* no properties */
	put_str(&b, c->client_id ? c->client_id : "");
	if (c->will_topic) {
		if (c->level == 5)
			put_u8(&b, 0);  /* no will properties */
		put_str(&b, c->will_topic);
		put_bin(&b, c->will_payload, c->will_len);
	}
	if (c->username)
		put_str(&b, c->username);
	if (c->password)
		put_bin(&b, c->password, c->password_len);
	return finish(out, MQTT_CONNECT << 4, &b);
}

int mqttenc_connack(struct mq_str *out, int level, bool session_present, int code)
{
	struct body b = { 0 };

	put_u8(&b, session_present ? 1 : 0);
	put_u8(&b, (unsigned)code);
	if (level == 5)
		put_u8(&b, 0);
	return finish(out, MQTT_CONNACK << 4, &b);
}

int mqttenc_publish(struct mq_str *out, int level, const char *topic, const void *payload, size_t len,
		    int qos, bool retain, bool dup, uint16_t packet_id)
{
	struct body b = { 0 };

	if (qos < 0 || qos > 2 || (qos > 0 && packet_id == 0))
		return -1;
	put_str(&b, topic);
	if (qos > 0)
		put_u16(&b, packet_id);
	if (level == 5)
		put_u8(&b, 0);
	if (len)
		put(&b, payload, len);
	return finish(out, MQTT_PUBLISH << 4 | (dup ? 8u : 0) | (unsigned)qos << 1 | (retain ? 1u : 0), &b);
}

int mqttenc_ack(struct mq_str *out, enum mqtt_type type, uint16_t packet_id)
{
	struct body b = { 0 };

	if (type != MQTT_PUBACK && type != MQTT_PUBREC && type != MQTT_PUBREL && type != MQTT_PUBCOMP)
		return -1;
	/* MQTT 5 allows the reason code and properties to be left out when they are "success". */
	put_u16(&b, packet_id);
	return finish(out, (unsigned)type << 4 | (type == MQTT_PUBREL ? 2u : 0), &b);
}

int mqttenc_suback(struct mq_str *out, int level, uint16_t packet_id, const uint8_t *codes, size_t n)
{
	struct body b = { 0 };

	put_u16(&b, packet_id);
	if (level == 5)
		put_u8(&b, 0);
	if (n)
		put(&b, codes, n);
	return finish(out, MQTT_SUBACK << 4, &b);
}

int mqttenc_unsuback(struct mq_str *out, int level, uint16_t packet_id, size_t n)
{
	struct body b = { 0 };

	put_u16(&b, packet_id);
	if (level == 5) {
		put_u8(&b, 0);
		for (size_t i = 0; i < n; i++)
			put_u8(&b, 0);
	}
	return finish(out, MQTT_UNSUBACK << 4, &b);
}

int mqttenc_subscribe(struct mq_str *out, int level, uint16_t packet_id, const char *filter, int qos)
{
	struct body b = { 0 };

	if (packet_id == 0 || qos < 0 || qos > 2)
		return -1;
	put_u16(&b, packet_id);
	if (level == 5)
		put_u8(&b, 0);
	put_str(&b, filter);
	put_u8(&b, (unsigned)qos);
	return finish(out, MQTT_SUBSCRIBE << 4 | 2u, &b);
}

int mqttenc_empty(struct mq_str *out, enum mqtt_type type)
{
	struct body b = { 0 };

	if (type != MQTT_PINGREQ && type != MQTT_PINGRESP && type != MQTT_DISCONNECT)
		return -1;
	return finish(out, (unsigned)type << 4, &b);
}
