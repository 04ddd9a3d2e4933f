/*
 * mqttdec — MQTT 3.1, 3.1.1 and 5 packets: framing a byte stream and decoding packets.
 *
 * Three layers, usable separately, none of them copying a packet the caller already holds:
 *
 *   mqttdec_frame()    how long is the packet at the start of this buffer? (needs only its
 *                      first 2..5 bytes) — for callers that keep their own buffer, such as a
 *                      libevent evbuffer: pull up the header, ask, pull up the packet, decode,
 *                      then move the same bytes on with evbuffer_remove_buffer().
 *   mqttdec_decode()   one whole packet -> struct mqtt_pkt, whose strings and payload point
 *                      into the packet bytes (valid while they are). Malformed packets are
 *                      reported with the rule they break, never trusted.
 *   mqtt_stream_feed() a byte stream cut anywhere (TCP segments, socket reads): calls back
 *                      once per complete packet. A packet wholly inside one chunk is passed
 *                      straight from the chunk; only a packet that spans chunks is gathered
 *                      in the stream's buffer, which grows with the bytes that actually
 *                      arrived (never with what a header announces) up to the caller's cap.
 *
 * The protocol version changes how every packet after CONNECT is read (v5 adds properties
 * and reason codes). The decoder is told the version; callers take it from the CONNECT they
 * decoded (struct mqtt_pkt.version) and use it for both directions of that connection.
 *
 * Nothing here prints or allocates per packet; text for humans comes from mqttdec_describe()
 * with untrusted strings escaped.
 */
#ifndef MQTTLS_MQTTDEC_H
#define MQTTLS_MQTTDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrib.h"
#include "cursor.h"
#include "util.h"

/* Protocol levels as CONNECT carries them. 0 = not known yet (decoded as 3.1.1). */
enum {
	MQTT_V_UNKNOWN = 0,
	MQTT_V31 = 3,   /* "MQIsdp" */
	MQTT_V311 = 4,
	MQTT_V5 = 5,
};

enum mqtt_type {
	MQTT_RESERVED0 = 0,
	MQTT_CONNECT = 1,
	MQTT_CONNACK = 2,
	MQTT_PUBLISH = 3,
	MQTT_PUBACK = 4,
	MQTT_PUBREC = 5,
	MQTT_PUBREL = 6,
	MQTT_PUBCOMP = 7,
	MQTT_SUBSCRIBE = 8,
	MQTT_SUBACK = 9,
	MQTT_UNSUBSCRIBE = 10,
	MQTT_UNSUBACK = 11,
	MQTT_PINGREQ = 12,
	MQTT_PINGRESP = 13,
	MQTT_DISCONNECT = 14,
	MQTT_AUTH = 15,   /* MQTT 5 only */
};

/* The largest remaining length the 4-byte encoding can carry (268,435,455). */
#define MQTT_MAX_REMAINING 268435455u
/* Fixed header: one type/flags byte and 1..4 remaining-length bytes. */
#define MQTT_MAX_FIXED_HEADER 5

/* Return codes of mqttdec_frame(), mqttdec_decode() and mqtt_stream_feed(). */
enum {
	MQTTDEC_OK = 0,
	MQTTDEC_MORE = 1,     /* mqttdec_frame: the buffer holds only part of the packet */
	MQTTDEC_STOPPED = 2,  /* mqtt_stream_feed: the callback asked to stop */
	MQTTDEC_BAD = -1,     /* malformed; the reason is in the packet's / stream's err */
};

/* Bytes inside a packet: p == NULL means "absent" (e.g. no username), len may be 0 when present. */
struct mqtt_bytes {
	const uint8_t *p;
	size_t len;
};

/* An MQTT 5 property list, validated at decode time; walk it with mqttdec_prop_next(). */
struct mqtt_props {
	const uint8_t *p;  /* the properties after their length; NULL when the packet has none */
	size_t len;
	unsigned count;
};

enum mqtt_prop_kind {
	MQTT_PROP_BYTE, MQTT_PROP_U16, MQTT_PROP_U32, MQTT_PROP_VARINT,
	MQTT_PROP_UTF8, MQTT_PROP_BINARY, MQTT_PROP_PAIR,
};

struct mqtt_prop {
	uint8_t id;                /* 0x11 session expiry, 0x26 user property, ... */
	enum mqtt_prop_kind kind;
	const char *name;          /* "Session Expiry Interval" */
	uint32_t num;              /* BYTE, U16, U32, VARINT */
	struct mqtt_bytes str;     /* UTF8, BINARY, and PAIR's name */
	struct mqtt_bytes value;   /* PAIR's value */
};

#define MQTTDEC_ERR_SIZE 128

/*
 * One decoded packet. Which fields mean something depends on type (see each comment);
 * the rest are zero. Every mqtt_bytes points into the packet given to mqttdec_decode().
 */
struct mqtt_pkt {
	enum mqtt_type type;
	uint8_t flags;               /* low nibble of the first byte */
	int version;                 /* the version it was decoded as (CONNECT: its own level) */
	const uint8_t *raw;          /* the whole packet, fixed header included */
	size_t raw_len;
	size_t header_len;           /* fixed header: 2..5 */
	size_t remaining;            /* remaining length = raw_len - header_len */

	uint16_t packet_id;          /* PUBLISH QoS>0, PUBACK..PUBCOMP, (UN)SUBSCRIBE, (UN)SUBACK */
	bool has_packet_id;
	uint8_t reason;              /* CONNACK code (3.1.1 return code or v5 reason); v5 PUBACK..PUBCOMP,
	                                DISCONNECT, AUTH reason (0 when absent, as the spec says) */
	bool has_reason;             /* the reason byte was present on the wire */
	struct mqtt_props props;     /* v5 only */

	/* CONNECT */
	struct mqtt_bytes proto_name;  /* "MQTT" / "MQIsdp" */
	uint8_t connect_flags;
	bool clean_start;
	uint16_t keepalive;
	struct mqtt_bytes client_id;
	bool will;
	uint8_t will_qos;
	bool will_retain;
	struct mqtt_props will_props;  /* v5 */
	struct mqtt_bytes will_topic, will_payload;
	struct mqtt_bytes username, password;  /* p == NULL when the flag is not set */

	/* CONNACK */
	bool session_present;

	/* PUBLISH */
	uint8_t qos;
	bool dup, retain;
	struct mqtt_bytes topic;      /* may be empty in v5 with a Topic Alias */
	struct mqtt_bytes payload;

	/* SUBSCRIBE / UNSUBSCRIBE: topic filters, walk with mqttdec_filter_next().
	 * SUBACK / UNSUBACK: reason codes, one byte each (3.1.1 UNSUBACK has none). */
	struct mqtt_bytes list;
	unsigned list_count;

	char err[MQTTDEC_ERR_SIZE];  /* why it is malformed, when mqttdec_decode() failed */
};

/*
 * Frame the packet at the start of buf[0..len). max_packet caps the whole packet's size
 * (0: the protocol maximum). Returns:
 *   MQTTDEC_OK    *total = the packet's length (<= len), *hdr = its fixed header length
 *   MQTTDEC_MORE  not all of it is here yet; *total is its length when the header is
 *                 complete, else 0
 *   MQTTDEC_BAD   a remaining length over 4 bytes, or a packet over max_packet; err (may be
 *                 NULL, else MQTTDEC_ERR_SIZE bytes) says which. A stream cannot resynchronise
 *                 after this: close it.
 * Any of hdr, total, err may be NULL.
 */
int mqttdec_frame(const uint8_t *buf, size_t len, size_t max_packet, size_t *hdr, size_t *total,
		  char *err) MQ_WUR;

/*
 * Decode one whole packet (exactly raw_len bytes, as framed by mqttdec_frame) read with the
 * given protocol version (CONNECT ignores it and reports its own). Returns MQTTDEC_OK, or
 * MQTTDEC_BAD with out->err naming the violated rule; out->type, flags, raw and lengths are
 * set whenever the fixed header itself was readable, so a malformed packet can still be logged
 * by type and forwarded or dropped as the caller decides.
 */
int mqttdec_decode(const uint8_t *raw, size_t raw_len, int version, struct mqtt_pkt *out) MQ_WUR;

/* Walk a property list: start with it = {props->p, props->len}; true while one was read. */
bool mqttdec_prop_next(struct cursor *it, struct mqtt_prop *out);

/* The first property with this id, or false. */
bool mqttdec_prop_find(const struct mqtt_props *props, uint8_t id, struct mqtt_prop *out);

/* Walk SUBSCRIBE / UNSUBSCRIBE filters: start with it = {pkt->list.p, pkt->list.len}.
 * *options is the SUBSCRIBE options byte (requested QoS in bits 0-1), 0 for UNSUBSCRIBE. */
bool mqttdec_filter_next(struct cursor *it, const struct mqtt_pkt *pkt, struct mqtt_bytes *filter,
			 uint8_t *options);

/* "CONNECT", "PUBLISH", ... ("RESERVED" for 0, "AUTH" for 15). */
const char *mqttdec_type_name(enum mqtt_type t);

/* "3.1", "3.1.1", "5", or "unknown". */
const char *mqttdec_version_name(int version);

/*
 * The meaning of a CONNACK code / reason code in context: a 3.1.1 CONNACK return code
 * ("not authorised"), a SUBACK grant ("granted QoS 1"), a v5 reason code ("Bad User Name or
 * Password"). Unknown codes give "unknown (0x%02x)" in a static buffer of this thread.
 */
const char *mqttdec_reason_name(int version, enum mqtt_type t, uint8_t code);

/* True when the code means failure (3.1.1 CONNACK != 0, SUBACK 0x80, v5 >= 0x80). */
bool mqttdec_reason_is_error(int version, enum mqtt_type t, uint8_t code);

/*
 * The contract's finding id for a refused CONNACK, or NULL when the code is success or has
 * none: not authorised -> ANONYMOUS_NOT_ALLOWED when the CONNECT had no username, else
 * NOT_AUTHORIZED; bad user name or password -> BAD_CREDENTIALS; identifier rejected ->
 * CLIENT_ID_REJECTED.
 */
const char *mqttdec_connack_finding(int version, uint8_t code, bool had_username);

/* The v5 property's name ("Session Expiry Interval"), or NULL when the id is not defined. */
const char *mqttdec_prop_name(uint8_t id);

/*
 * Append a one-line human description of the packet to out, every untrusted string escaped
 * and long payloads cut at max_payload bytes (0: 64), e.g.
 *   CONNECT v3.1.1 client_id "esp32-1" username "alice" password "s3cret" keepalive 60 clean
 *   PUBLISH qos 1 id 7 topic "sensors/t" payload "21.5" (4 bytes)
 */
void mqttdec_describe(const struct mqtt_pkt *pkt, size_t max_payload, struct mq_str *out);

/* ---- stream framing ---------------------------------------------------------------------- */

/* Called once per complete packet; pkt/len are valid only during the call. Return 0 to go on,
 * non-zero to stop (mqtt_stream_feed then returns MQTTDEC_STOPPED, keeping the unread rest). */
typedef int (*mqtt_stream_cb)(void *ctx, const uint8_t *pkt, size_t len);

struct mqtt_stream {
	uint8_t *buf;          /* a packet gathered across chunks */
	size_t len, cap;
	size_t max_packet;     /* cap on one packet, fixed header included */
	size_t want;           /* the gathered packet's full length once its header is known, else 0 */
	bool dead;             /* framing failed: nothing more is accepted */
	char err[MQTTDEC_ERR_SIZE];
	uint64_t packets;      /* packets delivered */
	uint64_t bytes;        /* bytes consumed */
};

/* max_packet 0: the protocol maximum (268,435,460 bytes). */
void mqtt_stream_init(struct mqtt_stream *s, size_t max_packet) MQ_NONNULL(1);

/*
 * Feed the next bytes of one direction. Calls cb for each packet completed. Returns
 * MQTTDEC_OK when all of data was consumed; MQTTDEC_STOPPED when cb returned non-zero (*used
 * then says how many bytes of data were consumed, up to the end of that packet: re-feed the
 * rest when ready); MQTTDEC_BAD when framing failed (s->err says why; the stream is dead
 * until mqtt_stream_reset).
 * used may be NULL.
 */
int mqtt_stream_feed(struct mqtt_stream *s, const uint8_t *data, size_t len, mqtt_stream_cb cb,
		     void *ctx, size_t *used) MQ_NONNULL(1);

/* Bytes of an incomplete packet held in the stream. */
static inline size_t mqtt_stream_pending(const struct mqtt_stream *s)
{
	return s->len;
}

/* Forget any partial packet (a gap in a capture) and accept bytes again. */
void mqtt_stream_reset(struct mqtt_stream *s) MQ_NONNULL(1);

void mqtt_stream_free(struct mqtt_stream *s);

#endif
