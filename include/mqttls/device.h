/*
 * device — a simulated ESP32 client (WiFiClientSecure + PubSubClient, or esp-mqtt) that
 * verifies the broker the way the real one does, for the MITM lab and for testing brokers.
 *
 *   DEVICE_VERIFY_FULL     setCACert(): the chain must lead to the CA and the name must match
 *   DEVICE_VERIFY_CA_ONLY  esp-mqtt's skip_cert_common_name_check: the CA is checked, the name not
 *   DEVICE_VERIFY_NONE     setInsecure(): nothing is checked
 * and independently a pin: the SHA-256 of the broker's certificate or of its public key (which
 * one matched is reported). With a pin and no CA, only the pin is checked.
 *
 * A non-blocking session on the caller's libevent loop. It never prints: it reports events
 * whose rc values are PubSubClient's state() codes (-4 timeout, -3 lost, -2 connect failed,
 * 0 connected, 1..5 CONNACK), and the mbedTLS error the ESP32 would have logged.
 */
#ifndef MQTTLS_DEVICE_H
#define MQTTLS_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "attrib.h"
#include "err.h"
#include "target.h"

enum device_verify { DEVICE_VERIFY_FULL, DEVICE_VERIFY_CA_ONLY, DEVICE_VERIFY_NONE };

/* PubSubClient state() values */
enum {
	DEVICE_RC_TIMEOUT = -4,
	DEVICE_RC_LOST = -3,
	DEVICE_RC_CONNECT_FAILED = -2,
	DEVICE_RC_DISCONNECTED = -1,
	DEVICE_RC_CONNECTED = 0,
};

struct device_opts {
	const char *host;
	int port;
	bool tls;                       /* false: plain MQTT (mqtt://) */
	enum device_verify verify;
	const char *cafile;
	const char *capath;             /* a directory of hashed CA certificates, as --capath */
	const char *ciphers;            /* TLS 1.2 cipher list (OpenSSL syntax); NULL: the default */
	const char *pin;                /* SHA-256, hex (colons allowed) or base64; NULL: none */
	const char *cert, *key;         /* the device's own certificate (mTLS) */
	const char *sni;                /* NULL: the host when it is a name */
	int tls_min, tls_max;           /* TLS1_2_VERSION...; 0: library default */
	const char *client_id, *username, *password;
	int mqtt_version;               /* 4 (3.1.1) or 5 */
	int keepalive;                  /* seconds; PubSubClient's default is 15 */
	const char *topic;
	const char *message;            /* NULL: a JSON reading that changes with each message */
	int count;                      /* messages to publish; 0: until stopped */
	double interval;                /* seconds between messages */
	int qos;                        /* 0 (PubSubClient) or 1 (wait for PUBACK) */
	const char *subscribe;          /* a command topic to subscribe to, or NULL */
	bool watch;                     /* publish nothing: only print what arrives on subscribe
	                                   (a dashboard); done is "ok" once it has connected */
	double retry;                   /* seconds before reconnecting after a failure; 0: give up */
	double timeout;                 /* connect/handshake/CONNACK timeout; 0: 15 (MQTT_SOCKET_TIMEOUT) */
	enum target_clock clock;        /* the device's clock for certificate dates (--clock) */
	long long clock_at;             /* TARGET_CLOCK_AT: UNIX seconds (0: never set, 1970) */
};

enum device_ev_type {
	DEVICE_EV_ATTEMPT,      /* attempt, address */
	DEVICE_EV_TLS,          /* handshake done: tls_version, cipher, verified (words), pin_matched */
	DEVICE_EV_FAILED,       /* rc, reason; TLS: mbedtls_code, mbedtls_text, verify_flags, flags_text */
	DEVICE_EV_CONNECTED,    /* CONNACK 0 */
	DEVICE_EV_PUBLISHED,    /* n, topic, payload */
	DEVICE_EV_MESSAGE,      /* a message arrived on the subscribed topic */
	DEVICE_EV_SUBSCRIBED,   /* topic, granted qos */
	DEVICE_EV_DONE,         /* finished: ok, published, wanted */
};

struct device_event {
	enum device_ev_type type;
	int attempt;
	const char *address;            /* "127.0.0.1:8883" */
	int rc;
	const char *reason;
	int mbedtls_code;               /* e.g. -0x2700; 0: none */
	const char *mbedtls_text;
	unsigned verify_flags;          /* mbedTLS MBEDTLS_X509_BADCERT_* bits; 0: none */
	const char *flags_text;
	const char *finding;            /* FAILED: the contract's finding id the verify result means, or NULL */
	const char *alert;              /* the alert the broker sent, if any */
	const char *tls_version, *cipher, *verified;
	int n;
	const char *topic;
	const char *payload;            /* untrusted for MESSAGE: escape before printing */
	size_t payload_len;
	int qos;
	bool ok;
	int published, wanted;
};

typedef void (*device_observer)(const struct device_event *ev, void *arg);

struct device;

struct device *device_new(struct event_base *base, const struct device_opts *o, device_observer obs,
			  void *arg, struct mq_err *err) MQ_WUR;
/* Stop (DISCONNECT when connected); DEVICE_EV_DONE follows. */
void device_stop(struct device *d);
void device_free(struct device *d);

/* Parse a SHA-256 pin (64 hex digits, colons allowed, or 44 characters of base64). 0 or -1. */
int device_parse_pin(const char *s, unsigned char out[32]) MQ_WUR;

#endif
