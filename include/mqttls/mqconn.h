/*
 * mqconn — the MQTT stages of a diagnosis with libmosquitto, as the user's own client
 * would connect: CONNECT / CONNACK (MQTT 3.1.1 return codes, MQTT 5 reason codes), then a
 * QoS 1 publish/subscribe round trip on a unique topic, bounded by the timeout.
 *
 * libmosquitto gets the SSL_CTX of tlsctx_new(TLSCTX_CLIENT) through MOSQ_OPT_SSL_CTX, so it
 * offers the same TLS as the probe and its verification is recorded. It runs on the
 * caller's libevent loop (mosquitto_loop_read/write on socket events), never on a thread.
 * Its log lines are kept: they are what mosquitto_pub would have printed.
 */
#ifndef MQTTLS_MQCONN_H
#define MQTTLS_MQCONN_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "attrib.h"
#include "err.h"
#include "target.h"
#include "tlsctx.h"

enum mqconn_end {
	MQCONN_END_NONE,
	MQCONN_END_CONNACK_REFUSED,  /* the broker answered CONNACK with a refusal */
	MQCONN_END_CONNECT_FAILED,   /* no CONNACK: libmosquitto failed (mosq_err) or the connection dropped */
	MQCONN_END_CONNECT_TIMEOUT,  /* no CONNACK within the timeout */
	MQCONN_END_CONNECTED,        /* CONNACK accepted, no round trip asked */
	MQCONN_END_ROUNDTRIP_OK,     /* the message came back */
	MQCONN_END_SUB_DENIED,       /* SUBACK refused the subscription */
	MQCONN_END_PUB_DENIED,       /* MQTT 5 PUBACK refused the publish */
	MQCONN_END_ROUNDTRIP_TIMEOUT,/* subscribed and published, the message never came back */
	MQCONN_END_LOST,             /* the connection dropped during the round trip */
};

#define MQCONN_MAX_LOG 64

struct mqconn_result {
	enum mqconn_end end;
	int mqtt_version;            /* 3 (3.1), 4 (3.1.1) or 5 */
	bool connack;
	int connack_rc;              /* 3.1.1 return code, or MQTT 5 reason code */
	int mosq_err;                /* the libmosquitto error that ended the connection, 0 if none */
	char mosq_err_text[128];
	char client_id[96];
	bool had_username;
	char topic[512];             /* the round-trip topic */
	bool subscribed;
	int granted_qos;             /* SUBACK: 0..2, 0x80 (3.1.1 refusal) or an MQTT 5 reason >= 0x80 */
	bool published;              /* PUBACK (QoS 1/2) or sent (QoS 0) */
	int puback_rc;               /* MQTT 5 PUBACK reason, 0 otherwise */
	bool received;
	double connack_ms;           /* from start to CONNACK */
	double roundtrip_ms;         /* from CONNACK to the message back */
	struct tlsctx_record rec;    /* what libmosquitto's TLS saw (alerts, verify errors) */
	char *log[MQCONN_MAX_LOG];   /* libmosquitto's log lines, oldest first */
	size_t n_log;
};

struct mqconn_opts {
	const char *connect_host;    /* host name or address handed to libmosquitto */
	SSL_CTX *ctx;                /* NULL: plain MQTT; the connection takes a reference */
	double timeout;              /* seconds each silent wait may last */
	bool roundtrip;              /* after CONNACK, the publish/subscribe round trip */
};

struct mqconn;

enum mqconn_phase {
	MQCONN_PHASE_CONNACK,        /* connected or refused (or failed before any CONNACK) */
	MQCONN_PHASE_DONE,           /* everything finished */
};

typedef void (*mqconn_cb)(struct mqconn *c, enum mqconn_phase phase, void *ctx);

/* Start on base; callbacks come from the loop only. NULL with err set. */
struct mqconn *mqconn_start(struct event_base *base, const struct target *t, const struct mqconn_opts *o,
			    mqconn_cb cb, void *ctx, struct mq_err *err) MQ_WUR;

const struct mqconn_result *mqconn_result(const struct mqconn *c);

/* Disconnect (if connected) and free. Safe from the callback only for MQCONN_PHASE_DONE. */
void mqconn_free(struct mqconn *c);

/* The unique round-trip topic for a TARGET: "<-t>/mqttls-<random>" or "mqttls/diag/<random>". */
void mqconn_topic(const struct target *t, char *buf, size_t size);

#endif
