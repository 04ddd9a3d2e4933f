/*
 * capture — see the TLS handshake and plaintext MQTT on the wire, and say who rejected whom.
 *
 * A capture session reads frames from libpcap (a live interface, non-blocking on the caller's
 * libevent loop, or a pcap/pcapng file read in slices on the same loop), follows TCP flows on
 * the MQTT ports, reassembles each direction, decodes TLS (tlsdec) or MQTT (mqttdec), and
 * reports what it saw through an observer: one struct capture_event per decoded thing, then a
 * verdict per flow. It never prints; capture_event_describe() and capture_event_json() turn an
 * event into the ladder line or the contract's JSON object for whichever face shows it.
 *
 * Everything from the wire is untrusted and bounded: flows (oldest evicted first), held
 * out-of-order bytes and segments per direction, TLS records and handshake messages, MQTT
 * packets. A malformed frame, record or packet is counted and skipped.
 */
#ifndef MQTTLS_CAPTURE_H
#define MQTTLS_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "attrib.h"
#include "chain.h"
#include "err.h"
#include "mqttdec.h"
#include "tlsdec.h"
#include "util.h"

struct event_base;
struct capture;

#define CAPTURE_MAX_PORTS 32

struct capture_opts {
	const char *iface;         /* live capture on this interface, or ... */
	const char *file;          /* ... a pcap / pcapng file ("-" is standard input), or ... */
	FILE *fp;                  /* ... an open capture file (tests, fuzzing); the session owns it from capture_start on */
	const char *write_path;    /* also write every frame read to this pcap file */
	bool write_force;          /* replace write_path when it exists */
	uint16_t ports[CAPTURE_MAX_PORTS];
	size_t n_ports;            /* 0: 1883 and 8883 */
	uint64_t count;            /* stop after this many frames (0: no limit) */
	double duration;           /* stop after this many seconds (0: no limit) */
	size_t max_flows;          /* flows tracked at once (0: 65536); the oldest is evicted */
	size_t held_bytes;         /* out-of-order bytes held per direction (0: 256 KiB) */
	size_t held_segs;          /* out-of-order segments held per direction (0: 256) */
	size_t max_mqtt_packet;    /* largest MQTT packet decoded (0: 4 MiB) */
	int snaplen;               /* live capture (0: 262144) */
	size_t batch;              /* frames per loop turn when reading a file (0: 2048) */
};

enum capture_dir { CAPTURE_C2S = 0, CAPTURE_S2C = 1 };

enum capture_proto {
	CAPTURE_PROTO_UNKNOWN,     /* no payload yet */
	CAPTURE_PROTO_TLS,
	CAPTURE_PROTO_MQTT,        /* plaintext MQTT */
	CAPTURE_PROTO_OTHER,       /* neither: not decoded */
};

enum capture_outcome {
	CAPTURE_TLS_OK,
	CAPTURE_TLS_FAILED,
	CAPTURE_PLAINTEXT_MQTT,
	CAPTURE_INCOMPLETE,
};

struct capture_verdict {
	enum capture_outcome outcome;
	char *reason;              /* plain words; untrusted names in it are escaped (owned by the flow) */
	const char *finding;       /* a contract finding id, or NULL */
	bool inferred;             /* the reason rests on inference (TLS 1.3 record sizes, timing) */
};

#define CAPTURE_MAX_ALERTS 4
#define CAPTURE_MAX_ENC 8

struct capture_alert {
	double ts;
	enum capture_dir from;
	uint8_t level, desc;
};

/*
 * A TCP flow as observed so far. The engine owns it; observers read it during callbacks.
 * "client" is the side that sent the SYN (without one: the side not on an MQTT port).
 */
struct capture_flow {
	unsigned id;               /* 1, 2, ... in order of first packet */
	char name[120];            /* the contract's flow: "SRC:PORT->DST:PORT", client first */
	char client[56], server[56];
	uint16_t client_port, server_port;
	double first_ts, last_ts;
	enum capture_proto proto;
	uint64_t packets[2], bytes[2];   /* per direction; bytes of TCP payload */
	bool syn, synack;
	bool fin[2], rst[2];
	double fin_ts[2], rst_ts[2];
	bool closed;               /* both FINs, or an RST */
	uint64_t gap_bytes[2];     /* bytes that were never captured */
	unsigned malformed;        /* records / packets skipped */
	char *malformed_what;      /* the first one's reason, or NULL */

	struct {
		bool client_hello, server_hello, hello_retry;
		char *sni;             /* escaped; NULL when none was sent */
		uint16_t offered[TLS_MAX_VERSIONS];
		size_t n_offered;
		uint16_t version, cipher, group;
		unsigned n_certs;      /* server certificates (TLS <= 1.2) */
		char *leaf_subject, *leaf_issuer;
		char *chain_root;      /* the CA the broker's chain leads to: the last certificate's issuer */
		bool leaf_self_signed, leaf_expired, leaf_not_yet_valid;
		int leaf_matches_sni;  /* 1 yes, 0 no, -1 unknown (no SNI or no chain) */
		bool cert_request;     /* CertificateRequest seen (TLS <= 1.2) */
		int client_certs;      /* certificates in the client's Certificate (TLS <= 1.2); -1 none seen */
		bool client_cert_verify;
		bool ccs[2];
		bool finished[2];      /* seen (<= 1.2: encrypted after CCS) or inferred (1.3) */
		uint64_t app_records[2], app_bytes[2];
		struct capture_alert alerts[CAPTURE_MAX_ALERTS];
		size_t n_alerts;
		unsigned enc_alerts[2];      /* encrypted alert records (<= 1.2, after CCS) */
		/* TLS 1.3: content lengths of the encrypted records that followed the ServerHello. */
		uint32_t enc13[2][CAPTURE_MAX_ENC];
		size_t n_enc13[2];
		int client_cert13;     /* inferred from record sizes: -1 unknown, 0 empty, 1 sent one */
		bool client_alert13;   /* the client's first encrypted record was an alert */
		bool server_alert13;   /* the server answered the client's Finished with an alert */
		double server_alert13_ts;
		bool dead[2];          /* a direction stopped being TLS (error in malformed_what) */
	} tls;

	struct {
		int version;           /* from CONNECT; MQTT_V_UNKNOWN before */
		bool connect, connack;
		bool username, password;  /* present in the CONNECT */
		uint8_t connack_code;
		unsigned publishes[2];
		bool dead[2];
	} mqtt;

	struct capture_verdict verdict;
	bool summarized;
	void *user;                /* the observer's own pointer; the engine never touches it. The flow is
	                              freed after its CAPTURE_EV_FLOW_SUMMARY: release it there. */
	struct capture_flow_priv *priv;  /* decoding state; NULL once the flow is closed */
};

enum capture_ev_type {
	CAPTURE_EV_FLOW_OPEN,      /* first packet of a flow */
	CAPTURE_EV_CLIENT_HELLO,   /* u.ch */
	CAPTURE_EV_SERVER_HELLO,   /* u.sh */
	CAPTURE_EV_CERTIFICATE,    /* u.chain: a TLS <= 1.2 Certificate, from either side */
	CAPTURE_EV_CERT_REQUEST,   /* u.cr */
	CAPTURE_EV_HANDSHAKE,      /* u.hs: another readable handshake message */
	CAPTURE_EV_CCS,
	CAPTURE_EV_ENCRYPTED,      /* u.enc: an encrypted record during the handshake, with what it most likely is */
	CAPTURE_EV_APPDATA,        /* u.enc: the first application data record in a direction */
	CAPTURE_EV_ALERT,          /* u.alert: a readable alert */
	CAPTURE_EV_ENCRYPTED_ALERT,/* u.enc: an alert whose description is encrypted (seen or inferred) */
	CAPTURE_EV_MQTT,           /* u.mqtt: a plaintext MQTT packet */
	CAPTURE_EV_MALFORMED,      /* u.text: a record, packet or frame skipped, and why */
	CAPTURE_EV_GAP,            /* u.gap: bytes missing from the capture */
	CAPTURE_EV_FLOW_CLOSE,     /* FIN or RST (flow->rst[dir]) from dir */
	CAPTURE_EV_FLOW_END,       /* both FINs or an RST: flow->verdict is known (the summary follows at the end) */
	CAPTURE_EV_FLOW_SUMMARY,   /* flow->verdict is final */
	CAPTURE_EV_DONE,           /* the capture ended: no more events; flow is NULL */
};

struct capture_event {
	enum capture_ev_type type;
	double ts;                 /* seconds since the epoch, from the capture */
	const struct capture_flow *flow;
	enum capture_dir dir;      /* who sent it */
	union {
		const struct tls_client_hello *ch;
		const struct tls_server_hello *sh;
		struct {
			const struct cert_info *v;  /* depth 0 = leaf; NULL when none parsed */
			size_t n;                   /* parsed */
			size_t n_total;             /* in the message (0: an empty Certificate) */
			const char *error;          /* why a certificate could not be parsed, or NULL */
			const char *const *json;    /* v[i] as the contract's chain element (JSON text),
			                               cached by the engine; NULL entries allowed */
		} chain;
		const struct tls_cert_request *cr;
		struct {
			uint8_t type;
			size_t len;
		} hs;
		struct {
			uint8_t level, desc;
		} alert;
		struct {
			uint8_t content_type;       /* the record's outer type */
			size_t len;                 /* the record's length */
			const char *meaning;        /* "Finished", "alert", "empty Certificate", ... or NULL */
			bool inferred;              /* meaning comes from the record's size */
		} enc;
		const struct mqtt_pkt *mqtt;
		const char *text;
		struct {
			size_t bytes;
		} gap;
	} u;
};

struct capture_observer {
	void (*event)(void *ctx, const struct capture_event *ev);
	void *ctx;
};

struct capture_stats {
	uint64_t frames;           /* frames read */
	uint64_t bytes;            /* captured bytes of them */
	uint64_t tcp;              /* TCP segments on the ports */
	uint64_t skipped;          /* frames not TCP/IP or not on the ports, IP fragments */
	uint64_t malformed;        /* frames, records or packets that broke their format */
	uint64_t truncated;        /* frames cut by the snaplen */
	uint64_t flows;            /* flows seen */
	uint64_t flows_evicted;    /* flows dropped to stay under max_flows */
	uint64_t gap_bytes;        /* bytes missing from flows */
	uint64_t dup_bytes;        /* retransmitted bytes dropped */
	uint64_t ooo_segs;         /* segments that arrived out of order */
	uint64_t tls_flows, mqtt_flows;
	uint64_t events;
	/* libpcap's counters (live capture only; valid when pcap_stats_ok) */
	bool pcap_stats_ok;
	unsigned pcap_recv, pcap_drop, pcap_ifdrop;
	double elapsed;            /* seconds from start to end */
	double last_ts;            /* capture time of the last frame read */
	bool file_truncated;       /* the file ended inside a frame */
	char file_error[256];
};

/* Defaults filled in, ports 1883/8883 when none given. */
void capture_opts_init(struct capture_opts *o) MQ_NONNULL(1);

/* A session; nothing is opened yet. NULL with err on a bad option. */
struct capture *capture_new(const struct capture_opts *o, const struct capture_observer *obs,
			    struct mq_err *err) MQ_WUR;

/*
 * Open the source (and -w file) and start reading on base. Returns 0, or -1 with err saying
 * exactly what failed (no such interface, permission, not a capture file, unsupported link
 * type). The session ends by itself at end of file, --count or --duration: it then emits the
 * flow summaries and CAPTURE_EV_DONE.
 */
int capture_start(struct capture *c, struct event_base *base, struct mq_err *err) MQ_WUR;

/* End now (Ctrl-C, the TUI leaving the view): summaries, then CAPTURE_EV_DONE. Idempotent. */
void capture_stop(struct capture *c);

bool capture_done(const struct capture *c);

/* Counters so far (a live capture refreshes libpcap's once a second). */
const struct capture_stats *capture_get_stats(const struct capture *c);

/* The data link type of the open source, and its name ("EN10MB"). */
int capture_datalink(const struct capture *c);

void capture_free(struct capture *c);

/* Without a source: feed one frame of link type dlt (tests, fuzzing), then finish. */
void capture_frame(struct capture *c, int dlt, double ts, const uint8_t *data, size_t caplen, size_t wirelen);
void capture_finish(struct capture *c);

/* ---- turning events into text (capevent.c) ---- */

/* The contract's outcome word: "tls_ok", "tls_failed", "plaintext_mqtt", "incomplete". */
const char *capture_outcome_name(enum capture_outcome o);

/*
 * The ladder line of an event, without time or flow: "device → broker  ClientHello (SNI ...)".
 * utf8: arrows and marks, else ASCII. Appends to out; nothing for events without a line.
 * Returns true when a line was written.
 */
bool capture_event_describe(const struct capture_event *ev, bool utf8, struct mq_str *out);

/* ---- JSON Lines (capjson.c) ---- */

/*
 * Append the contract's JSON Lines object for the event (ts, flow, type, ...), without a
 * newline. Returns false (nothing appended) when the event is not part of the JSON output.
 * This is the fast path mqttls capture --json prints with.
 */
bool capture_event_json_write(const struct capture_event *ev, struct mq_str *out);

/* The same object as a cJSON tree (for the TUI and tests), or NULL. Free with cJSON_Delete. */
cJSON *capture_event_json(const struct capture_event *ev);

/* The --stats counters as JSON (type "stats"). */
cJSON *capture_stats_json(const struct capture_stats *s);

/* ---- the verdict rules (verdict.c) ---- */

/* Decide a flow's outcome and reason from what it showed. v is zeroed or holds an earlier
 * verdict (its reason is freed and replaced); free v->reason with free(). */
void verdict_compute(const struct capture_flow *f, struct capture_verdict *v) MQ_NONNULL(1, 2);

#endif
