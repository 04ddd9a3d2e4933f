/*
 * mitm — the rogue-broker / man-in-the-middle lab engine.
 *
 * One struct mitm runs on the caller's libevent loop: a TLS listener presenting a forged broker
 * certificate (forge.h), and per victim either a rogue broker (no upstream: CONNACK 0 to every
 * CONNECT, every message kept, SUBSCRIBE answered, injections delivered) or a relay to the real
 * broker over verified TLS, every MQTT packet framed and decoded on the way (mqttdec.h) and
 * forwarded byte for byte. Every address goes through the gate (gate.h) first.
 *
 * The engine never prints. It reports struct mitm_event to the observer — the CLI prints text,
 * the TUI fills its model — and, when asked, writes the contract's JSON log (mode 0600) itself,
 * its first line the INSECURE LAB MITM banner.
 */
#ifndef MQTTLS_MITM_H
#define MQTTLS_MITM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "attrib.h"
#include "err.h"
#include "forge.h"
#include "util.h"

#define MITM_BANNER "INSECURE LAB MITM"

#define MITM_DEFAULT_DURATION 3600.0   /* seconds: a lab MITM is never left running by accident */
#define MITM_DEFAULT_MAX_CONNS 256
#define MITM_DEFAULT_MAX_PACKET (16u << 20)

struct mitm_inject {
	const char *topic;
	const char *payload;
};

struct mitm_opts {
	const char *listen;                /* "ADDR:PORT" (required) */
	const char *const *lab_bind;       /* --lab-bind CIDRs */
	size_t n_lab_bind;
	const char *upstream;              /* "HOST:PORT"; NULL: rogue broker */
	const char *upstream_cafile;       /* required with upstream */
	const char *upstream_cert, *upstream_key;  /* mTLS towards the real broker */
	struct forge_opts forge;           /* forge.tmpl is filled by the engine */
	const char *clone;                 /* certificate file to clone, or HOST:PORT to fetch it from;
	                                      NULL: the upstream's (relay) or forge.names (rogue) */
	const struct mitm_inject *inject;
	size_t n_inject;
	int max_conns;                     /* 0: MITM_DEFAULT_MAX_CONNS */
	double duration;                   /* seconds; 0: MITM_DEFAULT_DURATION */
	size_t max_packet;                 /* 0: MITM_DEFAULT_MAX_PACKET */
	size_t keep_max;                   /* messages kept in memory (rogue); 0: 10000 */
	const char *json_log;              /* NULL: none */
	bool force;                        /* replace an existing json_log */
};

enum mitm_ev_type {
	MITM_EV_LISTENING,   /* ready: listen, upstream, mode, forged (certificate summary) */
	MITM_EV_HANDSHAKE,   /* result accepted/rejected, alert, reason, tls_version, cipher, sni */
	MITM_EV_CONNECT,     /* client_id, username, password, protocol, keepalive, will */
	MITM_EV_CONNACK,     /* code, meaning (the real broker's, or the rogue's own 0) */
	MITM_EV_PUBLISH,     /* dir, topic, payload, qos, retain, dup, packet_id */
	MITM_EV_SUBSCRIBE,   /* topic = the filter, qos = requested */
	MITM_EV_INJECT,      /* topic, payload */
	MITM_EV_UPSTREAM,    /* result connected/failed, reason */
	MITM_EV_PACKET,      /* any other packet: dir, packet (type name), packet_id, code */
	MITM_EV_MALFORMED,   /* dir, reason */
	MITM_EV_REFUSED,     /* a victim turned away before TLS: reason (gate, --max-conns) */
	MITM_EV_CLOSED,      /* a victim is gone: reason, packets/bytes both ways */
	MITM_EV_STOPPED,     /* the engine stopped: reason. Sent once; the loop may exit */
};

enum mitm_dir { MITM_D2B, MITM_B2D };   /* device_to_broker, broker_to_device */

struct mitm_event {
	enum mitm_ev_type type;
	double ts;                       /* UNIX seconds */
	unsigned victim;                 /* 1, 2, ... (0: not about one victim) */
	const char *client;              /* "127.0.0.1:40000" */
	enum mitm_dir dir;
	const char *result;              /* handshake, upstream */
	const char *alert;               /* handshake: the alert the victim sent ("unknown_ca"), or NULL */
	const char *reason;              /* human words */
	const char *tls_version, *cipher, *sni;
	/* MQTT; bytes are untrusted and not NUL-terminated: escape before printing */
	int protocol;                    /* 3, 4, 5 */
	const uint8_t *client_id; size_t client_id_len;
	const uint8_t *username; size_t username_len;  bool has_username;
	const uint8_t *password; size_t password_len;  bool has_password;
	int keepalive;
	bool clean;
	const uint8_t *topic; size_t topic_len;
	const uint8_t *payload; size_t payload_len;
	bool has_will;
	int qos;
	bool retain, dup;
	int packet_id;                   /* -1: none */
	int code;                        /* CONNACK / reason code, -1: none */
	const char *meaning;             /* of code */
	const char *packet;              /* "PINGREQ", ... */
	/* LISTENING */
	const char *listen, *upstream, *mode;
	const char *forged_subject, *forged_issuer, *forged_sans, *forged_sha256;
	double duration;                 /* the maximum run time in force, seconds */
	int max_conns;
	/* CLOSED */
	uint64_t packets[2], bytes[2];   /* indexed by enum mitm_dir */
};

typedef void (*mitm_observer)(const struct mitm_event *ev, void *arg);

struct mitm;

/*
 * Check every option and every address through the gate (no socket is created before the gate
 * passed), open the JSON log, and start on base: fetch the certificate to clone when needed,
 * forge, listen. Returns NULL with err set for anything wrong that can be known at once; later
 * failures (the upstream cannot be reached to clone its certificate) arrive as MITM_EV_STOPPED
 * with the reason.
 */
struct mitm *mitm_new(struct event_base *base, const struct mitm_opts *o, mitm_observer obs, void *arg,
		      struct mq_err *err) MQ_WUR;

/* Close the listener and every victim (flushing what is in flight), then report MITM_EV_STOPPED. */
void mitm_stop(struct mitm *m, const char *reason);

/* Publish TOPIC/PAYLOAD (QoS 0) to every connected victim subscribed to a matching filter.
 * Returns the number of victims it went to. */
int mitm_inject_now(struct mitm *m, const char *topic, const void *payload, size_t len);

/* Counters for status lines and the benchmark. */
struct mitm_stats {
	unsigned accepted, rejected, refused, active, connects;
	uint64_t packets[2], bytes[2], publishes[2];
	size_t kept;                     /* messages held in memory (rogue) */
	unsigned long gate_checked, gate_refused;
};
void mitm_get_stats(const struct mitm *m, struct mitm_stats *st) MQ_NONNULL(1, 2);

/* The address the listener is bound to ("127.0.0.1:8883"), or "" before it is. */
const char *mitm_listen_addr(const struct mitm *m);

void mitm_free(struct mitm *m);

/* The JSON object for an event as the log writes it (the contract's shapes plus extra fields). */
cJSON *mitm_event_to_json(const struct mitm_event *ev);

/* The same as one line of JSON text (no newline), appended to out. */
void mitm_event_to_jsonl(const struct mitm_event *ev, struct mq_str *out);

/* "handshake", "connect", ... */
const char *mitm_event_name(enum mitm_ev_type t);

/* MQTT topic filter match with + and # (the $-topic rule included). */
bool mitm_topic_match(const char *filter, size_t flen, const char *topic, size_t tlen);

#endif
