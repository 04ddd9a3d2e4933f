/*
 * Inside the MITM engine: the engine (mitm.c: options, listener, log, events), one victim's
 * session (victim.c: TLS accept, framing, the relay and the rogue broker) and the upstream
 * side (upstream.c: verified TLS to the real broker, and fetching its certificate to clone).
 */
#ifndef MQTTLS_MITM_INT_H
#define MQTTLS_MITM_INT_H

#include <stdio.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "mqttls/forge.h"
#include "mqttls/gate.h"
#include "mqttls/mitm.h"
#include "mqttls/mqttdec.h"

#define MITM_HANDSHAKE_TIMEOUT 15      /* seconds a victim or the upstream may take for TLS */
#define MITM_CLOSE_GRACE 5             /* seconds to flush one side after the other closed */
#define MITM_HIGH_WATER (4u << 20)     /* stop reading a side while the other has this much queued */
#define MITM_MAX_SUBS 64               /* filters remembered per victim */
#define MITM_MAX_RETAINED 1000
#define MITM_LOG_PAYLOAD_MAX 65536     /* bytes of one payload written to the JSON log */
#define MITM_LOG_CHUNK (256u << 10)    /* log bytes written at once, without waiting for the loop */

/*
 * The relay's framer: packets framed one after another where they lie in an evbuffer, without
 * removing them, then moved on together. A packet wholly inside one piece of the buffer is given
 * in place; one that straddles two is copied into the framer's scratch buffer. *pkt is valid until
 * the next call or until the buffer changes. mitm_framer_forward() then moves every packet framed
 * so far to out (or drops them when out is NULL) in one copy, and starts again at the new head.
 * The framer must be forwarded or reset before the buffer changes in any other way.
 */
struct mitm_framer {
	size_t off;                     /* bytes framed, still at the head of the buffer */
	const uint8_t *p;               /* where the piece holding offset off continues ... */
	size_t left;                    /* ... and how much of it there is (0: look it up) */
	uint8_t *scratch;
	size_t cap;
};

struct mitm_sub {
	char *filter;
	size_t len;
};

struct mitm_victim {
	struct mitm *m;
	unsigned id;
	char addr[INET6_ADDRSTRLEN + 16];
	struct bufferevent *bv;         /* the victim, TLS server side */
	struct bufferevent *bu;         /* the real broker, TLS client side (relay) */
	int alert_in, alert_out;        /* alerts the victim sent / we sent during the handshake, -1 none */
	bool handshaken, upstream_up, closing, counted, said_closed;
	int version;                    /* MQTT level from the victim's CONNECT */
	int keepalive;
	struct mitm_sub subs[MITM_MAX_SUBS];
	size_t n_subs;
	uint16_t inject_after[8];       /* relay: SUBSCRIBE ids whose SUBACK triggers --inject */
	size_t n_inject_after;
	/* rogue: the will, published if the victim vanishes without DISCONNECT */
	char *will_topic;
	uint8_t *will_payload;
	size_t will_topic_len, will_len;
	int will_qos;
	bool will_retain, has_will;
	uint64_t packets[2], bytes[2];
	const char *close_reason;
	struct mitm_framer framer[2];   /* indexed by enum mitm_dir */
	bool pumping;                   /* pump() holds framed bytes it has not moved on yet */
	struct event *grace;
	struct mitm_victim *prev, *next;
};

struct mitm_kept {
	char *topic;
	uint8_t *payload;
	size_t topic_len, len;
	int qos;
	bool retain;
	unsigned victim;
};

struct mitm_fetch;

struct mitm {
	struct event_base *base;
	mitm_observer obs;
	void *obs_arg;
	struct gate gate;

	/* options, copied */
	char *upstream_host;            /* NULL: rogue */
	int upstream_port;
	struct sockaddr_storage up_addr[GATE_MAX_ADDRS];
	socklen_t up_len[GATE_MAX_ADDRS];
	size_t n_up;
	char *clone_file, *clone_host;
	int clone_port;
	struct sockaddr_storage clone_addr[GATE_MAX_ADDRS];
	socklen_t clone_len[GATE_MAX_ADDRS];
	size_t n_clone;
	struct forge_opts fopts;
	char *ca_cert, *ca_key;
	char **names;
	struct mitm_inject *inject;
	size_t n_inject;
	int max_conns;
	double duration;
	size_t max_packet, keep_max;

	int log_fd;                     /* the JSON log, -1: none */
	char *log_path;                 /* set when this run created the log: removed if it never started */
	struct event *log_flush;        /* writes the log out once the loop has handled what is ready */
	struct mq_str log_buf;          /* log lines not written yet */
	SSL_CTX *srv_ctx, *up_ctx, *fetch_ctx;
	struct forge forged;
	struct evconnlistener *lst;
	char listen_str[INET6_ADDRSTRLEN + 16];
	struct mitm_fetch *fetch;

	struct mitm_victim *victims;
	unsigned next_id;
	struct event *deadline, *stop_ev;
	bool stopping, stopped, started;
	const char *stop_reason;
	char stop_buf[512];

	double stamp;                   /* set while pump() reports what one read brought: its time */
	struct mitm_stats st;
	struct mitm_kept *kept;
	size_t n_kept, kept_bytes;
	struct mitm_kept *retained;
	size_t n_retained;
};

/* mitm.c */
double mitm_wall_now(void);     /* UNIX seconds, to the microsecond */
void mitm_emit(struct mitm *m, struct mitm_event *ev);
void mitm_event_init(struct mitm_event *ev, enum mitm_ev_type type, const struct mitm_victim *vi);
void mitm_victim_gone(struct mitm *m, struct mitm_victim *vi);
void mitm_fail_start(struct mitm *m, const char *fmt, ...) MQ_PRINTF(2, 3);
void mitm_forged_and_ready(struct mitm *m, X509 *tmpl);
void mitm_keep(struct mitm *m, const struct mitm_victim *vi, const struct mqtt_pkt *p);
void mitm_route(struct mitm *m, struct mitm_victim *from, const uint8_t *topic, size_t tlen,
		const uint8_t *payload, size_t len, bool retain, bool from_will);
void mitm_deliver_retained(struct mitm *m, struct mitm_victim *vi, const char *filter, size_t flen);

/* frame.c: the next whole MQTT packet at the head of an evbuffer, made contiguous (valid until the
 * buffer changes; the device's reader). MQTTDEC_OK, MQTTDEC_MORE (not all here yet), or
 * MQTTDEC_BAD (err, when not NULL, MQTTDEC_ERR_SIZE bytes, says why; the stream cannot be
 * resynchronised). The relay's framer below returns the same codes. */
int mitm_frame_next(struct evbuffer *in, size_t max_packet, const uint8_t **pkt, size_t *len, char *err);

/* frame.c: the relay's framer (struct mitm_framer above) */
int mitm_framer_next(struct mitm_framer *f, struct evbuffer *in, size_t max_packet, const uint8_t **pkt,
		     size_t *len, char *err);
void mitm_framer_forward(struct mitm_framer *f, struct evbuffer *in, struct evbuffer *out);
void mitm_framer_reset(struct mitm_framer *f);
void mitm_framer_free(struct mitm_framer *f);

/* victim.c */
/* The event a decoded packet makes (CONNECT, PUBLISH, or any other as MITM_EV_CONNACK/PACKET);
 * ev was set up with mitm_event_init, whose protocol decides how reason codes read. */
void mitm_event_from_packet(struct mitm_event *ev, const struct mqtt_pkt *p);
void victim_accept(struct mitm *m, evutil_socket_t fd, const struct sockaddr *sa, int salen);
void victim_close(struct mitm_victim *vi, const char *reason);
/* Free at once, without events (the engine is being freed). */
void victim_destroy(struct mitm_victim *vi);
/* Send a QoS 0 PUBLISH to the victim (injection or rogue routing). 0 or -1. */
int victim_publish(struct mitm_victim *vi, const uint8_t *topic, size_t tlen, const uint8_t *payload,
		   size_t len, bool retain);
bool victim_subscribed(const struct mitm_victim *vi, const uint8_t *topic, size_t tlen);
void victim_info_cb(const SSL *ssl, int where, int ret);

/* upstream.c */
/* Acknowledge what the real broker sent without the kernel's delay. */
void upstream_ack_now(evutil_socket_t fd);
SSL_CTX *upstream_ctx_new(const char *cafile, const char *cert, const char *key, struct mq_err *err);
/* A TLS bufferevent connecting to the first upstream address that passes the gate again. */
struct bufferevent *upstream_connect(struct mitm *m, SSL_CTX *ctx, const char *host,
				     const struct sockaddr_storage *addrs, const socklen_t *lens, size_t n,
				     struct mq_err *err);
/* After BEV_EVENT_CONNECTED: the peer the socket reached passes the gate. */
int upstream_check_peer(struct mitm *m, struct bufferevent *bev, struct mq_err *err);
/* Why an upstream TLS connection failed, in words. */
void upstream_failure(struct bufferevent *bev, short what, char *buf, size_t size);
/* Start fetching the certificate to clone from host/addrs (verify: with m->up_ctx). */
int upstream_fetch_start(struct mitm *m, bool verify, struct mq_err *err);
void upstream_fetch_free(struct mitm_fetch *f);

#endif
