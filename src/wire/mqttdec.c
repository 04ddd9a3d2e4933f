/*
 * mqttdec — MQTT 3.1 / 3.1.1 / 5 framing and packet decoding (see mqttdec.h).
 *
 * Every read goes through the checked cursor; every rule the specifications call
 * "malformed" (or that would make a later read meaningless) fails the packet with a
 * sentence naming the rule. Per-type layouts and property and reason-code names are
 * table rows.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/mqttdec.h"

/* ---- small helpers ----------------------------------------------------------------------- */

static int bad(struct mqtt_pkt *o, const char *fmt, ...) MQ_PRINTF(2, 3);
static int bad(struct mqtt_pkt *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->err[0]) {
		va_start(ap, fmt);
		vsnprintf(o->err, sizeof(o->err), fmt, ap);
		va_end(ap);
	}
	return MQTTDEC_BAD;
}

/* A Variable Byte Integer: at most 4 bytes (MQTT-1.5.5). */
static bool get_varint(struct cursor *c, uint32_t *v)
{
	uint32_t val = 0;
	struct cursor save = *c;

	for (int i = 0; i < 4; i++) {
		uint8_t b;

		if (!cur_get_u8(c, &b)) {
			*c = save;
			return false;
		}
		val |= (uint32_t)(b & 0x7F) << (7 * i);
		if (!(b & 0x80)) {
			*v = val;
			return true;
		}
	}
	*c = save;
	return false;
}

/* Binary Data: two-byte length, then the bytes. */
static bool get_binary(struct cursor *c, struct mqtt_bytes *out)
{
	struct cursor s;

	if (!cur_sub16(c, &s))
		return false;
	out->p = s.p ? s.p : (const uint8_t *)"";
	out->len = s.n;
	return true;
}

/* A UTF-8 Encoded String; fails with a reason in o->err. */
static int get_string(struct cursor *c, struct mqtt_pkt *o, const char *what, struct mqtt_bytes *out)
{
	if (!get_binary(c, out))
		return bad(o, "%s: string length runs past the end of the packet", what);
	if (!mq_utf8_valid(out->p, out->len))
		return bad(o, "%s: not well-formed UTF-8 (or contains U+0000)", what);
	return MQTTDEC_OK;
}

static int get_packet_id(struct cursor *c, struct mqtt_pkt *o)
{
	if (!cur_get_be16(c, &o->packet_id))
		return bad(o, "%s: packet identifier missing", mqttdec_type_name(o->type));
	if (o->packet_id == 0)
		return bad(o, "%s: packet identifier 0 is not allowed", mqttdec_type_name(o->type));
	o->has_packet_id = true;
	return MQTTDEC_OK;
}

/* ---- v5 properties ----------------------------------------------------------------------- */

/* Where a property may appear: a bit per packet type, and one for the will properties. */
#define IN(t) (1u << (t))
#define IN_WILL (1u << 16)
#define ACKS (IN(MQTT_PUBACK) | IN(MQTT_PUBREC) | IN(MQTT_PUBREL) | IN(MQTT_PUBCOMP))

enum { P_MULTI = 1, P_BOOL = 2, P_NONZERO = 4 };

struct prop_def {
	uint8_t id;
	enum mqtt_prop_kind kind;
	uint32_t where;
	unsigned rules;
	const char *name;
};

static const struct prop_def props_table[] = {
	{ 0x01, MQTT_PROP_BYTE, IN(MQTT_PUBLISH) | IN_WILL, P_BOOL, "Payload Format Indicator" },
	{ 0x02, MQTT_PROP_U32, IN(MQTT_PUBLISH) | IN_WILL, 0, "Message Expiry Interval" },
	{ 0x03, MQTT_PROP_UTF8, IN(MQTT_PUBLISH) | IN_WILL, 0, "Content Type" },
	{ 0x08, MQTT_PROP_UTF8, IN(MQTT_PUBLISH) | IN_WILL, 0, "Response Topic" },
	{ 0x09, MQTT_PROP_BINARY, IN(MQTT_PUBLISH) | IN_WILL, 0, "Correlation Data" },
	{ 0x0B, MQTT_PROP_VARINT, IN(MQTT_PUBLISH) | IN(MQTT_SUBSCRIBE), P_NONZERO, "Subscription Identifier" },
	{ 0x11, MQTT_PROP_U32, IN(MQTT_CONNECT) | IN(MQTT_CONNACK) | IN(MQTT_DISCONNECT), 0, "Session Expiry Interval" },
	{ 0x12, MQTT_PROP_UTF8, IN(MQTT_CONNACK), 0, "Assigned Client Identifier" },
	{ 0x13, MQTT_PROP_U16, IN(MQTT_CONNACK), 0, "Server Keep Alive" },
	{ 0x15, MQTT_PROP_UTF8, IN(MQTT_CONNECT) | IN(MQTT_CONNACK) | IN(MQTT_AUTH), 0, "Authentication Method" },
	{ 0x16, MQTT_PROP_BINARY, IN(MQTT_CONNECT) | IN(MQTT_CONNACK) | IN(MQTT_AUTH), 0, "Authentication Data" },
	{ 0x17, MQTT_PROP_BYTE, IN(MQTT_CONNECT), P_BOOL, "Request Problem Information" },
	{ 0x18, MQTT_PROP_U32, IN_WILL, 0, "Will Delay Interval" },
	{ 0x19, MQTT_PROP_BYTE, IN(MQTT_CONNECT), P_BOOL, "Request Response Information" },
	{ 0x1A, MQTT_PROP_UTF8, IN(MQTT_CONNACK), 0, "Response Information" },
	{ 0x1C, MQTT_PROP_UTF8, IN(MQTT_CONNACK) | IN(MQTT_DISCONNECT), 0, "Server Reference" },
	{ 0x1F, MQTT_PROP_UTF8, IN(MQTT_CONNACK) | ACKS | IN(MQTT_SUBACK) | IN(MQTT_UNSUBACK) |
		IN(MQTT_DISCONNECT) | IN(MQTT_AUTH), 0, "Reason String" },
	{ 0x21, MQTT_PROP_U16, IN(MQTT_CONNECT) | IN(MQTT_CONNACK), P_NONZERO, "Receive Maximum" },
	{ 0x22, MQTT_PROP_U16, IN(MQTT_CONNECT) | IN(MQTT_CONNACK), 0, "Topic Alias Maximum" },
	{ 0x23, MQTT_PROP_U16, IN(MQTT_PUBLISH), P_NONZERO, "Topic Alias" },
	{ 0x24, MQTT_PROP_BYTE, IN(MQTT_CONNACK), P_BOOL, "Maximum QoS" },
	{ 0x25, MQTT_PROP_BYTE, IN(MQTT_CONNACK), P_BOOL, "Retain Available" },
	{ 0x26, MQTT_PROP_PAIR, 0xFFFFFFFFu, P_MULTI, "User Property" },
	{ 0x27, MQTT_PROP_U32, IN(MQTT_CONNECT) | IN(MQTT_CONNACK), P_NONZERO, "Maximum Packet Size" },
	{ 0x28, MQTT_PROP_BYTE, IN(MQTT_CONNACK), P_BOOL, "Wildcard Subscription Available" },
	{ 0x29, MQTT_PROP_BYTE, IN(MQTT_CONNACK), P_BOOL, "Subscription Identifier Available" },
	{ 0x2A, MQTT_PROP_BYTE, IN(MQTT_CONNACK), P_BOOL, "Shared Subscription Available" },
};

static const struct prop_def *prop_def(uint32_t id)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(props_table); i++)
		if (props_table[i].id == id)
			return &props_table[i];
	return NULL;
}

const char *mqttdec_prop_name(uint8_t id)
{
	const struct prop_def *d = prop_def(id);

	return d ? d->name : NULL;
}

/* Read one property's value per its kind; false on short input. */
static bool prop_read(struct cursor *c, const struct prop_def *d, struct mqtt_prop *out)
{
	uint8_t b;
	uint16_t w;

	memset(out, 0, sizeof(*out));
	out->id = d->id;
	out->kind = d->kind;
	out->name = d->name;
	switch (d->kind) {
	case MQTT_PROP_BYTE:
		if (!cur_get_u8(c, &b))
			return false;
		out->num = b;
		return true;
	case MQTT_PROP_U16:
		if (!cur_get_be16(c, &w))
			return false;
		out->num = w;
		return true;
	case MQTT_PROP_U32:
		return cur_get_be32(c, &out->num);
	case MQTT_PROP_VARINT:
		return get_varint(c, &out->num);
	case MQTT_PROP_UTF8:
	case MQTT_PROP_BINARY:
		return get_binary(c, &out->str);
	case MQTT_PROP_PAIR:
		return get_binary(c, &out->str) && get_binary(c, &out->value);
	}
	return false;
}

/* Read and validate a property list for packet type t (or the will when will is set). */
static int get_props(struct cursor *c, struct mqtt_pkt *o, bool will, struct mqtt_props *out)
{
	const char *where = will ? "CONNECT will properties" : mqttdec_type_name(o->type);
	uint32_t mask = will ? IN_WILL : IN(o->type);
	uint64_t seen = 0;
	uint32_t len;
	struct cursor pc;

	if (!get_varint(c, &len))
		return bad(o, "%s: property length missing or longer than 4 bytes", where);
	if (!cur_sub(c, len, &pc))
		return bad(o, "%s: property length %u runs past the end of the packet", where, len);
	out->p = pc.p ? pc.p : (const uint8_t *)"";
	out->len = pc.n;
	out->count = 0;
	while (!cur_empty(&pc)) {
		const struct prop_def *d;
		struct mqtt_prop p;
		uint32_t id;

		if (!get_varint(&pc, &id))
			return bad(o, "%s: property identifier truncated", where);
		d = prop_def(id);
		if (!d)
			return bad(o, "%s: unknown property 0x%02x", where, id);
		if (!(d->where & mask))
			return bad(o, "%s: property %s is not allowed here", where, d->name);
		if ((seen & (1ull << d->id)) && !(d->rules & P_MULTI) &&
		    !(d->id == 0x0B && o->type == MQTT_PUBLISH && !will))
			return bad(o, "%s: property %s appears twice", where, d->name);
		seen |= 1ull << d->id;
		if (!prop_read(&pc, d, &p))
			return bad(o, "%s: property %s runs past the end of the property list", where, d->name);
		if ((d->rules & P_BOOL) && p.num > 1)
			return bad(o, "%s: property %s must be 0 or 1, not %u", where, d->name, p.num);
		if ((d->rules & P_NONZERO) && p.num == 0)
			return bad(o, "%s: property %s must not be 0", where, d->name);
		if (d->kind == MQTT_PROP_UTF8 && !mq_utf8_valid(p.str.p, p.str.len))
			return bad(o, "%s: property %s is not well-formed UTF-8", where, d->name);
		if (d->kind == MQTT_PROP_PAIR && (!mq_utf8_valid(p.str.p, p.str.len) || !mq_utf8_valid(p.value.p, p.value.len)))
			return bad(o, "%s: user property is not well-formed UTF-8", where);
		out->count++;
	}
	return MQTTDEC_OK;
}

bool mqttdec_prop_next(struct cursor *it, struct mqtt_prop *out)
{
	const struct prop_def *d;
	uint32_t id;
	struct cursor save = *it;

	if (cur_empty(it) || !get_varint(it, &id) || !(d = prop_def(id)) || !prop_read(it, d, out)) {
		*it = save;
		return false;
	}
	return true;
}

bool mqttdec_prop_find(const struct mqtt_props *props, uint8_t id, struct mqtt_prop *out)
{
	struct cursor it;

	cur_init(&it, props->p, props->len);
	while (mqttdec_prop_next(&it, out))
		if (out->id == id)
			return true;
	return false;
}

/* ---- per-type bodies --------------------------------------------------------------------- */

static int dec_connect(struct cursor *c, struct mqtt_pkt *o)
{
	uint8_t level, f;
	int rc;

	if ((rc = get_string(c, o, "CONNECT protocol name", &o->proto_name)))
		return rc;
	if (!cur_get_u8(c, &level))
		return bad(o, "CONNECT: protocol level missing");
	if (o->proto_name.len == 4 && !memcmp(o->proto_name.p, "MQTT", 4)) {
		if (level != MQTT_V311 && level != MQTT_V5)
			return bad(o, "CONNECT: unsupported protocol level %u for \"MQTT\"", level);
	} else if (o->proto_name.len == 6 && !memcmp(o->proto_name.p, "MQIsdp", 6)) {
		if (level != MQTT_V31)
			return bad(o, "CONNECT: unsupported protocol level %u for \"MQIsdp\"", level);
	} else {
		return bad(o, "CONNECT: protocol name is neither \"MQTT\" nor \"MQIsdp\"");
	}
	o->version = level;
	if (!cur_get_u8(c, &f) || !cur_get_be16(c, &o->keepalive))
		return bad(o, "CONNECT: flags or keep alive missing");
	o->connect_flags = f;
	if (f & 0x01)
		return bad(o, "CONNECT: reserved flag bit 0 is set");
	o->clean_start = f & 0x02;
	o->will = f & 0x04;
	o->will_qos = (f >> 3) & 3;
	o->will_retain = f & 0x20;
	if (o->will_qos == 3)
		return bad(o, "CONNECT: will QoS 3 is not a QoS");
	if (!o->will && (o->will_qos || o->will_retain))
		return bad(o, "CONNECT: will QoS or retain set without the will flag");
	if (level != MQTT_V5 && (f & 0x40) && !(f & 0x80))
		return bad(o, "CONNECT: password flag set without the user name flag");
	if (level == MQTT_V5 && (rc = get_props(c, o, false, &o->props)))
		return rc;
	if ((rc = get_string(c, o, "CONNECT client identifier", &o->client_id)))
		return rc;
	if (o->will) {
		if (level == MQTT_V5 && (rc = get_props(c, o, true, &o->will_props)))
			return rc;
		if ((rc = get_string(c, o, "CONNECT will topic", &o->will_topic)))
			return rc;
		if (!get_binary(c, &o->will_payload))
			return bad(o, "CONNECT: will payload length runs past the end of the packet");
	}
	if ((f & 0x80) && (rc = get_string(c, o, "CONNECT user name", &o->username)))
		return rc;
	if ((f & 0x40) && !get_binary(c, &o->password))
		return bad(o, "CONNECT: password length runs past the end of the packet");
	return MQTTDEC_OK;
}

static int dec_connack(struct cursor *c, struct mqtt_pkt *o)
{
	uint8_t f;

	if (!cur_get_u8(c, &f) || !cur_get_u8(c, &o->reason))
		return bad(o, "CONNACK: shorter than 2 bytes");
	o->has_reason = true;
	if (o->version == MQTT_V31) {
		return MQTTDEC_OK;  /* 3.1: the first byte is reserved and unused */
	}
	if (f & 0xFE)
		return bad(o, "CONNACK: reserved acknowledge flag bits are set");
	o->session_present = f & 1;
	/* A v5 client talking to a 3.1.1 broker gets a 2-byte refusal: no properties then. */
	if (o->version == MQTT_V5 && !cur_empty(c))
		return get_props(c, o, false, &o->props);
	return MQTTDEC_OK;
}

static int dec_publish(struct cursor *c, struct mqtt_pkt *o)
{
	struct mqtt_prop alias;
	int rc;

	o->qos = (o->flags >> 1) & 3;
	o->dup = o->flags & 8;
	o->retain = o->flags & 1;
	if (o->qos == 3)
		return bad(o, "PUBLISH: QoS 3 is not a QoS");
	if (o->qos == 0 && o->dup)
		return bad(o, "PUBLISH: DUP set on a QoS 0 message");
	if ((rc = get_string(c, o, "PUBLISH topic", &o->topic)))
		return rc;
	if (memchr(o->topic.p, '+', o->topic.len) || memchr(o->topic.p, '#', o->topic.len))
		return bad(o, "PUBLISH: topic name contains a wildcard");
	if (o->qos && (rc = get_packet_id(c, o)))
		return rc;
	if (o->version == MQTT_V5 && (rc = get_props(c, o, false, &o->props)))
		return rc;
	if (o->topic.len == 0 && !(o->version == MQTT_V5 && mqttdec_prop_find(&o->props, 0x23, &alias)))
		return bad(o, "PUBLISH: empty topic name without a topic alias");
	o->payload.p = cur_rest(c, &o->payload.len);
	if (!o->payload.p)
		o->payload.p = (const uint8_t *)"";
	return MQTTDEC_OK;
}

/* DISCONNECT and AUTH in v5 (and the acks after their id): optional reason code, then optional
 * properties. */
static int dec_reason_props(struct cursor *c, struct mqtt_pkt *o)
{
	if (o->version != MQTT_V5 || cur_empty(c))
		return MQTTDEC_OK;
	if (!cur_get_u8(c, &o->reason))
		return MQTTDEC_BAD;
	o->has_reason = true;
	if (cur_empty(c))
		return MQTTDEC_OK;
	return get_props(c, o, false, &o->props);
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP: id, then in v5 an optional reason and optional properties. */
static int dec_ack(struct cursor *c, struct mqtt_pkt *o)
{
	int rc;

	if ((rc = get_packet_id(c, o)))
		return rc;
	return dec_reason_props(c, o);
}

static int dec_subscribe(struct cursor *c, struct mqtt_pkt *o)
{
	bool sub = o->type == MQTT_SUBSCRIBE;
	const char *what = sub ? "SUBSCRIBE topic filter" : "UNSUBSCRIBE topic filter";
	int rc;

	if ((rc = get_packet_id(c, o)))
		return rc;
	if (o->version == MQTT_V5 && (rc = get_props(c, o, false, &o->props)))
		return rc;
	o->list.p = c->p;
	o->list.len = cur_left(c);
	while (!cur_empty(c)) {
		struct mqtt_bytes f;
		uint8_t opt;

		if ((rc = get_string(c, o, what, &f)))
			return rc;
		if (f.len == 0)
			return bad(o, "%s: empty topic filter", mqttdec_type_name(o->type));
		if (sub) {
			if (!cur_get_u8(c, &opt))
				return bad(o, "SUBSCRIBE: options byte missing after a topic filter");
			if ((opt & 3) == 3)
				return bad(o, "SUBSCRIBE: requested QoS 3 is not a QoS");
			if (o->version == MQTT_V5 ? ((opt & 0xC0) || ((opt >> 4) & 3) == 3) : (opt & 0xFC))
				return bad(o, "SUBSCRIBE: reserved subscription option bits are set");
		}
		o->list_count++;
	}
	if (o->list_count == 0)
		return bad(o, "%s: no topic filter", mqttdec_type_name(o->type));
	return MQTTDEC_OK;
}

static int dec_suback(struct cursor *c, struct mqtt_pkt *o)
{
	bool suback = o->type == MQTT_SUBACK;
	int rc;

	if ((rc = get_packet_id(c, o)))
		return rc;
	if (!suback && o->version != MQTT_V5)
		return MQTTDEC_OK;  /* 3.1.1 UNSUBACK: the id alone */
	if (o->version == MQTT_V5 && (rc = get_props(c, o, false, &o->props)))
		return rc;
	o->list.p = cur_rest(c, &o->list.len);
	o->list_count = (unsigned)o->list.len;
	if (o->list_count == 0)
		return bad(o, "%s: no reason codes", mqttdec_type_name(o->type));
	for (size_t i = 0; i < o->list.len; i++) {
		uint8_t rcode = o->list.p[i];

		if (o->version != MQTT_V5 ? !(rcode <= 2 || rcode == 0x80)
					  : !strncmp(mqttdec_reason_name(o->version, o->type, rcode), "unknown", 7))
			return bad(o, "%s: return code 0x%02x is not defined", mqttdec_type_name(o->type), rcode);
	}
	return MQTTDEC_OK;
}

static int dec_empty(struct cursor *c, struct mqtt_pkt *o)
{
	(void)c;
	(void)o;
	return MQTTDEC_OK;
}

struct type_def {
	const char *name;
	int flags;          /* required low nibble, or -1 when the flags carry data (PUBLISH) */
	bool v5_only;
	int (*decode)(struct cursor *c, struct mqtt_pkt *o);
};

static const struct type_def types[16] = {
	[MQTT_RESERVED0] = { "RESERVED", 0, false, NULL },
	[MQTT_CONNECT] = { "CONNECT", 0, false, dec_connect },
	[MQTT_CONNACK] = { "CONNACK", 0, false, dec_connack },
	[MQTT_PUBLISH] = { "PUBLISH", -1, false, dec_publish },
	[MQTT_PUBACK] = { "PUBACK", 0, false, dec_ack },
	[MQTT_PUBREC] = { "PUBREC", 0, false, dec_ack },
	[MQTT_PUBREL] = { "PUBREL", 2, false, dec_ack },
	[MQTT_PUBCOMP] = { "PUBCOMP", 0, false, dec_ack },
	[MQTT_SUBSCRIBE] = { "SUBSCRIBE", 2, false, dec_subscribe },
	[MQTT_SUBACK] = { "SUBACK", 0, false, dec_suback },
	[MQTT_UNSUBSCRIBE] = { "UNSUBSCRIBE", 2, false, dec_subscribe },
	[MQTT_UNSUBACK] = { "UNSUBACK", 0, false, dec_suback },
	[MQTT_PINGREQ] = { "PINGREQ", 0, false, dec_empty },
	[MQTT_PINGRESP] = { "PINGRESP", 0, false, dec_empty },
	[MQTT_DISCONNECT] = { "DISCONNECT", 0, false, dec_reason_props },
	[MQTT_AUTH] = { "AUTH", 0, true, dec_reason_props },
};

const char *mqttdec_type_name(enum mqtt_type t)
{
	return (unsigned)t < 16 ? types[t].name : "?";
}

const char *mqttdec_version_name(int version)
{
	switch (version) {
	case MQTT_V31: return "3.1";
	case MQTT_V311: return "3.1.1";
	case MQTT_V5: return "5";
	default: return "unknown";
	}
}

/* ---- framing and decoding ---------------------------------------------------------------- */

int mqttdec_frame(const uint8_t *buf, size_t len, size_t max_packet, size_t *hdr, size_t *total, char *err)
{
	uint32_t rem = 0;
	size_t i;

	if (hdr)
		*hdr = 0;
	if (total)
		*total = 0;
	if (max_packet == 0 || max_packet > MQTT_MAX_REMAINING + MQTT_MAX_FIXED_HEADER)
		max_packet = MQTT_MAX_REMAINING + MQTT_MAX_FIXED_HEADER;
	for (i = 1; i < MQTT_MAX_FIXED_HEADER; i++) {
		if (i >= len)
			return MQTTDEC_MORE;
		rem |= (uint32_t)(buf[i] & 0x7F) << (7 * (i - 1));
		if (!(buf[i] & 0x80))
			break;
	}
	if (i == MQTT_MAX_FIXED_HEADER) {
		if (err)
			snprintf(err, MQTTDEC_ERR_SIZE, "remaining length longer than 4 bytes");
		return MQTTDEC_BAD;
	}
	if ((size_t)rem + i + 1 > max_packet) {
		if (err)
			snprintf(err, MQTTDEC_ERR_SIZE, "%s packet of %zu bytes is over the %zu-byte limit",
				 mqttdec_type_name(buf[0] >> 4), (size_t)rem + i + 1, max_packet);
		return MQTTDEC_BAD;
	}
	if (hdr)
		*hdr = i + 1;
	if (total)
		*total = (size_t)rem + i + 1;
	return (size_t)rem + i + 1 <= len ? MQTTDEC_OK : MQTTDEC_MORE;
}

int mqttdec_decode(const uint8_t *raw, size_t raw_len, int version, struct mqtt_pkt *o)
{
	const struct type_def *d;
	size_t hdr, total;
	struct cursor c;
	char ferr[MQTTDEC_ERR_SIZE];
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = raw;
	o->raw_len = raw_len;
	o->version = version == MQTT_V31 || version == MQTT_V5 ? version : MQTT_V311;
	if (!raw || raw_len < 2)
		return bad(o, "packet shorter than its 2-byte fixed header");
	o->type = raw[0] >> 4;
	o->flags = raw[0] & 0x0F;
	switch (mqttdec_frame(raw, raw_len, 0, &hdr, &total, ferr)) {
	case MQTTDEC_OK:
		break;
	case MQTTDEC_MORE:
		if (total)
			return bad(o, "%s: remaining length %zu runs past the %zu bytes given",
				   mqttdec_type_name(o->type), total - hdr, raw_len - hdr);
		return bad(o, "%s: fixed header truncated", mqttdec_type_name(o->type));
	default:
		return bad(o, "%s", ferr);
	}
	o->header_len = hdr;
	o->remaining = total - hdr;
	if (total != raw_len)
		return bad(o, "%s: remaining length %zu but %zu bytes follow the fixed header",
			   mqttdec_type_name(o->type), o->remaining, raw_len - hdr);
	d = &types[o->type];
	if (!d->decode)
		return bad(o, "reserved packet type 0");
	if (d->v5_only && o->version != MQTT_V5)
		return bad(o, "%s packet outside MQTT 5", d->name);
	if (d->flags >= 0 && o->flags != d->flags)
		return bad(o, "%s: fixed header flags 0x%x, the specification requires 0x%x", d->name,
			   o->flags, (unsigned)d->flags);
	cur_init(&c, raw + hdr, o->remaining);
	rc = d->decode(&c, o);
	if (rc == MQTTDEC_BAD)
		return bad(o, "%s: truncated", d->name);
	if (!cur_empty(&c))
		return bad(o, "%s: %zu unexpected bytes at the end", d->name, cur_left(&c));
	return MQTTDEC_OK;
}

bool mqttdec_filter_next(struct cursor *it, const struct mqtt_pkt *pkt, struct mqtt_bytes *filter,
			 uint8_t *options)
{
	struct cursor save = *it;

	*options = 0;
	if (cur_empty(it) || !get_binary(it, filter) ||
	    (pkt->type == MQTT_SUBSCRIBE && !cur_get_u8(it, options))) {
		*it = save;
		return false;
	}
	return true;
}

/* ---- reason codes ------------------------------------------------------------------------ */

struct code_name {
	uint8_t code;
	const char *name;
};

/* MQTT 3.1 / 3.1.1 CONNACK return codes. */
static const struct code_name connack3[] = {
	{ 0, "connection accepted" },
	{ 1, "unacceptable protocol version" },
	{ 2, "identifier rejected" },
	{ 3, "server unavailable" },
	{ 4, "bad user name or password" },
	{ 5, "not authorised" },
};

static const struct code_name suback3[] = {
	{ 0x00, "granted QoS 0" },
	{ 0x01, "granted QoS 1" },
	{ 0x02, "granted QoS 2" },
	{ 0x80, "failure" },
};

/* MQTT 5 reason codes (section 2.4); 0x00 depends on the packet and is handled apart. */
static const struct code_name reason5[] = {
	{ 0x01, "Granted QoS 1" },
	{ 0x02, "Granted QoS 2" },
	{ 0x04, "Disconnect with Will Message" },
	{ 0x10, "No matching subscribers" },
	{ 0x11, "No subscription existed" },
	{ 0x18, "Continue authentication" },
	{ 0x19, "Re-authenticate" },
	{ 0x80, "Unspecified error" },
	{ 0x81, "Malformed Packet" },
	{ 0x82, "Protocol Error" },
	{ 0x83, "Implementation specific error" },
	{ 0x84, "Unsupported Protocol Version" },
	{ 0x85, "Client Identifier not valid" },
	{ 0x86, "Bad User Name or Password" },
	{ 0x87, "Not authorized" },
	{ 0x88, "Server unavailable" },
	{ 0x89, "Server busy" },
	{ 0x8A, "Banned" },
	{ 0x8B, "Server shutting down" },
	{ 0x8C, "Bad authentication method" },
	{ 0x8D, "Keep Alive timeout" },
	{ 0x8E, "Session taken over" },
	{ 0x8F, "Topic Filter invalid" },
	{ 0x90, "Topic Name invalid" },
	{ 0x91, "Packet Identifier in use" },
	{ 0x92, "Packet Identifier not found" },
	{ 0x93, "Receive Maximum exceeded" },
	{ 0x94, "Topic Alias invalid" },
	{ 0x95, "Packet too large" },
	{ 0x96, "Message rate too high" },
	{ 0x97, "Quota exceeded" },
	{ 0x98, "Administrative action" },
	{ 0x99, "Payload format invalid" },
	{ 0x9A, "Retain not supported" },
	{ 0x9B, "QoS not supported" },
	{ 0x9C, "Use another server" },
	{ 0x9D, "Server moved" },
	{ 0x9E, "Shared Subscriptions not supported" },
	{ 0x9F, "Connection rate exceeded" },
	{ 0xA0, "Maximum connect time" },
	{ 0xA1, "Subscription Identifiers not supported" },
	{ 0xA2, "Wildcard Subscriptions not supported" },
};

static const char *code_lookup(const struct code_name *t, size_t n, uint8_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

const char *mqttdec_reason_name(int version, enum mqtt_type t, uint8_t code)
{
	static __thread char unknown[32];
	const char *s;

	if (version != MQTT_V5) {
		if (t == MQTT_CONNACK)
			s = code_lookup(connack3, MQ_ARRAY_LEN(connack3), code);
		else if (t == MQTT_SUBACK)
			s = code_lookup(suback3, MQ_ARRAY_LEN(suback3), code);
		else
			s = NULL;
	} else if (code == 0x00) {
		s = t == MQTT_DISCONNECT ? "Normal disconnection" : t == MQTT_SUBACK ? "Granted QoS 0" : "Success";
	} else {
		s = code_lookup(reason5, MQ_ARRAY_LEN(reason5), code);
	}
	if (s)
		return s;
	snprintf(unknown, sizeof(unknown), "unknown (0x%02x)", code);
	return unknown;
}

bool mqttdec_reason_is_error(int version, enum mqtt_type t, uint8_t code)
{
	if (version != MQTT_V5 && t == MQTT_CONNACK)
		return code != 0;
	return code >= 0x80;
}

const char *mqttdec_connack_finding(int version, uint8_t code, bool had_username)
{
	if (version != MQTT_V5) {
		switch (code) {
		case 2: return "CLIENT_ID_REJECTED";
		case 4: return "BAD_CREDENTIALS";
		case 5: return had_username ? "NOT_AUTHORIZED" : "ANONYMOUS_NOT_ALLOWED";
		default: return NULL;
		}
	}
	switch (code) {
	case 0x85: return "CLIENT_ID_REJECTED";
	case 0x86: return "BAD_CREDENTIALS";
	case 0x87: return had_username ? "NOT_AUTHORIZED" : "ANONYMOUS_NOT_ALLOWED";
	case 0x8A: return "NOT_AUTHORIZED";
	default: return NULL;
	}
}

/* ---- human description ------------------------------------------------------------------- */

static void put_str(struct mq_str *out, const char *label, const struct mqtt_bytes *b, size_t cut)
{
	char buf[4 * 256 + 1];
	size_t n = b->len < cut ? b->len : cut;

	if (n > 256)
		n = 256;
	mq_escape(b->p, n, buf, sizeof(buf));
	mq_str_printf(out, "%s%s \"%s%s\"", label[0] ? " " : "", label, buf, n < b->len ? "..." : "");
}

void mqttdec_describe(const struct mqtt_pkt *p, size_t max_payload, struct mq_str *out)
{
	if (!max_payload)
		max_payload = 64;
	mq_str_printf(out, "%s", mqttdec_type_name(p->type));
	switch (p->type) {
	case MQTT_CONNECT:
		mq_str_printf(out, " v%s", mqttdec_version_name(p->version));
		put_str(out, "client_id", &p->client_id, 128);
		if (p->username.p)
			put_str(out, "username", &p->username, 128);
		if (p->password.p)
			put_str(out, "password", &p->password, 128);
		mq_str_printf(out, " keepalive %u%s", p->keepalive, p->clean_start ? " clean" : "");
		if (p->will) {
			put_str(out, "will", &p->will_topic, 128);
			mq_str_printf(out, " qos %u%s", p->will_qos, p->will_retain ? " retain" : "");
		}
		break;
	case MQTT_CONNACK:
		mq_str_printf(out, " %u (%s)%s", p->reason, mqttdec_reason_name(p->version, p->type, p->reason),
			      p->session_present ? " session present" : "");
		break;
	case MQTT_PUBLISH:
		mq_str_printf(out, " qos %u", p->qos);
		if (p->has_packet_id)
			mq_str_printf(out, " id %u", p->packet_id);
		if (p->retain)
			mq_str_printf(out, " retain");
		if (p->dup)
			mq_str_printf(out, " dup");
		put_str(out, "topic", &p->topic, 256);
		put_str(out, "payload", &p->payload, max_payload);
		mq_str_printf(out, " (%zu bytes)", p->payload.len);
		break;
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE: {
		struct cursor it;
		struct mqtt_bytes f;
		uint8_t opt;
		unsigned shown = 0;

		mq_str_printf(out, " id %u", p->packet_id);
		cur_init(&it, p->list.p, p->list.len);
		while (shown < 8 && mqttdec_filter_next(&it, p, &f, &opt)) {
			if (shown)
				mq_str_printf(out, ",");
			put_str(out, shown ? "" : "filter", &f, 128);
			if (p->type == MQTT_SUBSCRIBE)
				mq_str_printf(out, " qos %u", opt & 3);
			shown++;
		}
		if (p->list_count > shown)
			mq_str_printf(out, " (+%u more)", p->list_count - shown);
		break;
	}
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		mq_str_printf(out, " id %u", p->packet_id);
		for (size_t i = 0; i < p->list.len && i < 8; i++)
			mq_str_printf(out, "%s%s", i ? ", " : " ", mqttdec_reason_name(p->version, p->type, p->list.p[i]));
		if (p->list.len > 8)
			mq_str_printf(out, " (+%zu more)", p->list.len - 8);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		mq_str_printf(out, " id %u", p->packet_id);
		if (p->has_reason)
			mq_str_printf(out, " %s", mqttdec_reason_name(p->version, p->type, p->reason));
		break;
	case MQTT_DISCONNECT:
	case MQTT_AUTH:
		if (p->has_reason)
			mq_str_printf(out, " %s", mqttdec_reason_name(p->version, p->type, p->reason));
		break;
	default:
		break;
	}
	if (p->props.count)
		mq_str_printf(out, " [%u propert%s]", p->props.count, p->props.count == 1 ? "y" : "ies");
}

/* ---- stream framing ---------------------------------------------------------------------- */

void mqtt_stream_init(struct mqtt_stream *s, size_t max_packet)
{
	memset(s, 0, sizeof(*s));
	if (max_packet == 0 || max_packet > MQTT_MAX_REMAINING + MQTT_MAX_FIXED_HEADER)
		max_packet = MQTT_MAX_REMAINING + MQTT_MAX_FIXED_HEADER;
	/* Room for a whole fixed header, so framing can always tell what comes. */
	if (max_packet < MQTT_MAX_FIXED_HEADER)
		max_packet = MQTT_MAX_FIXED_HEADER;
	s->max_packet = max_packet;
}

void mqtt_stream_reset(struct mqtt_stream *s)
{
	s->len = 0;
	s->want = 0;
	s->dead = false;
	s->err[0] = '\0';
}

void mqtt_stream_free(struct mqtt_stream *s)
{
	if (!s)
		return;
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

/* Append to the gathering buffer, growing with what arrived (never with what was announced). */
static int stream_take(struct mqtt_stream *s, const uint8_t *data, size_t n)
{
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		uint8_t *nb;

		while (cap < s->len + n)
			cap *= 2;
		if (cap > s->max_packet)
			cap = s->max_packet;
		if (cap < s->len + n) {
			snprintf(s->err, sizeof(s->err), "packet over the %zu-byte limit", s->max_packet);
			return MQTTDEC_BAD;
		}
		nb = realloc(s->buf, cap);
		if (!nb) {
			snprintf(s->err, sizeof(s->err), "out of memory gathering a packet");
			s->dead = true;
			return MQTTDEC_BAD;
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return MQTTDEC_OK;
}

/* Hand a complete packet to the callback and account for it. */
static int stream_deliver(struct mqtt_stream *s, const uint8_t *pkt, size_t n, mqtt_stream_cb cb, void *ctx)
{
	s->packets++;
	return cb && cb(ctx, pkt, n) ? MQTTDEC_STOPPED : MQTTDEC_OK;
}

int mqtt_stream_feed(struct mqtt_stream *s, const uint8_t *data, size_t len, mqtt_stream_cb cb, void *ctx,
		     size_t *used)
{
	size_t off = 0;
	int rc = MQTTDEC_OK;

	if (used)
		*used = 0;
	if (s->dead)
		return MQTTDEC_BAD;
	while (off < len && rc == MQTTDEC_OK) {
		size_t hdr, total, take;
		int fr;

		if (s->len == 0) {
			/* Nothing gathered: a packet wholly in this chunk goes to the callback in place. */
			fr = mqttdec_frame(data + off, len - off, s->max_packet, &hdr, &total, s->err);
			if (fr == MQTTDEC_BAD)
				goto dead;
			if (fr == MQTTDEC_OK) {
				off += total;
				rc = stream_deliver(s, data + off - total, total, cb, ctx);
				continue;
			}
			/* The rest of the chunk is the start of one packet (or of its header). */
			if (stream_take(s, data + off, len - off))
				goto dead;
			s->want = total;
			off = len;
			continue;
		}
		if (!s->want) {
			/* Header still incomplete: add a byte at a time so none of the body is taken early. */
			if (stream_take(s, data + off, 1))
				goto dead;
			off++;
			fr = mqttdec_frame(s->buf, s->len, s->max_packet, &hdr, &total, s->err);
			if (fr == MQTTDEC_BAD)
				goto dead;
			s->want = total;
		} else {
			take = s->want - s->len;
			if (take > len - off)
				take = len - off;
			if (stream_take(s, data + off, take))
				goto dead;
			off += take;
		}
		if (s->want && s->len == s->want) {
			size_t n = s->len;

			s->len = 0;
			s->want = 0;
			rc = stream_deliver(s, s->buf, n, cb, ctx);
		}
	}
	s->bytes += off;
	if (used)
		*used = off;
	return rc;
dead:
	s->bytes += off;
	if (used)
		*used = off;
	s->dead = true;
	return MQTTDEC_BAD;
}
