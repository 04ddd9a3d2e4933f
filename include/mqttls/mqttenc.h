/*
 * mqttenc — build the few MQTT 3.1.1 / 5 packets mqttls itself sends: the rogue broker's
 * answers (CONNACK, SUBACK, PUBACK...), injected PUBLISHes, and the simulated device's
 * CONNECT/PUBLISH/SUBSCRIBE. Decoding what peers send is mqttdec's job.
 *
 * Every function appends one whole packet to out (a binary-safe struct mq_str) and returns 0,
 * or -1 when a field does not fit the protocol (a string over 65535 bytes, a packet over the
 * 256 MB remaining-length limit); out is then unchanged.
 */
#ifndef MQTTLS_MQTTENC_H
#define MQTTLS_MQTTENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrib.h"
#include "mqttdec.h"   /* enum mqtt_type */
#include "util.h"

/* protocol level: 4 = MQTT 3.1.1, 5 = MQTT 5 */
struct mqttenc_connect {
	int level;
	const char *client_id;
	const char *username;           /* NULL: none */
	const void *password;           /* NULL: none */
	size_t password_len;
	int keepalive;
	bool clean;
	const char *will_topic;         /* NULL: no will */
	const void *will_payload;
	size_t will_len;
	int will_qos;
	bool will_retain;
};

int mqttenc_connect(struct mq_str *out, const struct mqttenc_connect *c) MQ_WUR MQ_NONNULL(1, 2);
int mqttenc_connack(struct mq_str *out, int level, bool session_present, int code) MQ_WUR MQ_NONNULL(1);
int mqttenc_publish(struct mq_str *out, int level, const char *topic, const void *payload, size_t len,
		    int qos, bool retain, bool dup, uint16_t packet_id) MQ_WUR MQ_NONNULL(1, 3);
/* PUBACK, PUBREC, PUBREL, PUBCOMP (reason "success" in MQTT 5). */
int mqttenc_ack(struct mq_str *out, enum mqtt_type type, uint16_t packet_id) MQ_WUR MQ_NONNULL(1);
/* SUBACK with one return code per filter (0-2 granted QoS, 0x80 failure). */
int mqttenc_suback(struct mq_str *out, int level, uint16_t packet_id, const uint8_t *codes, size_t n)
	MQ_WUR MQ_NONNULL(1);
int mqttenc_unsuback(struct mq_str *out, int level, uint16_t packet_id, size_t n) MQ_WUR MQ_NONNULL(1);
int mqttenc_subscribe(struct mq_str *out, int level, uint16_t packet_id, const char *filter, int qos)
	MQ_WUR MQ_NONNULL(1, 4);
/* PINGREQ, PINGRESP, DISCONNECT (normal disconnection). */
int mqttenc_empty(struct mq_str *out, enum mqtt_type type) MQ_WUR MQ_NONNULL(1);

#endif
