/*
 * probe — one connection to the broker, non-blocking on a libevent loop: TCP to each
 * address in turn, then either a TLS handshake with OpenSSL (through memory BIOs, so
 * every byte the broker sent is seen and the first ones kept), or a plain MQTT CONNECT.
 *
 * The TLS probe never stops on a verification error (see tlsctx.h): it completes the
 * handshake whenever the broker lets it, so the whole presented chain is always known.
 * In TLS 1.3 a broker that rejects the client certificate says so only after the
 * handshake; with first_read the probe sends an MQTT CONNECT and waits for the broker's
 * verdict: a session ticket or a CONNACK (accepted) or an alert (rejected).
 *
 * The probe only observes; it never decides what is wrong (diag-rules does).
 */
#ifndef MQTTLS_PROBE_H
#define MQTTLS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "attrib.h"
#include "tlsctx.h"

struct probe_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64];               /* "127.0.0.1", "::1" */
};

enum probe_kind { PROBE_TLS, PROBE_PLAIN_MQTT };

enum probe_tcp {
	PROBE_TCP_NONE,              /* not tried */
	PROBE_TCP_OK,
	PROBE_TCP_REFUSED,           /* every address refused */
	PROBE_TCP_TIMEOUT,           /* no answer within the timeout */
	PROBE_TCP_UNREACHABLE,       /* no route / network unreachable (errno says which) */
	PROBE_TCP_ERROR,
};

/* How the TLS (or plain) exchange ended. */
enum probe_end {
	PROBE_END_NONE,
	PROBE_END_OK,                /* handshake done (and the verdict read, when asked) */
	PROBE_END_SSL_ERROR,         /* OpenSSL gave up: ssl_error says why (an alert received is an ssl_error too) */
	PROBE_END_EOF,               /* the broker closed the connection */
	PROBE_END_RESET,             /* the broker reset the connection */
	PROBE_END_TIMEOUT,           /* the broker went silent */
	PROBE_END_SOCKET,            /* another socket error (errno) */
};

#define PROBE_FIRST_BYTES 64

struct probe_result {
	/* TCP */
	enum probe_tcp tcp;
	int tcp_errno;
	char address[64];            /* the address connected to, or the last one tried */
	size_t addrs_tried;
	double tcp_ms;
	/* TLS / plain exchange */
	enum probe_end end;
	int sys_errno;
	unsigned long ssl_error;     /* the first (deepest) OpenSSL error code, 0 when none */
	char ssl_error_text[200];
	bool handshake_done;
	bool rejected_after;         /* TLS 1.3: the broker refused us after the handshake */
	bool verdict_read;           /* first_read: a ticket or CONNACK showed the broker accepted us */
	bool verdict_timeout;        /* first_read: the broker said nothing either way */
	int version;                 /* TLS1_2_VERSION, ... */
	char version_name[16];
	char cipher[96];             /* IANA name: "TLS_AES_256_GCM_SHA384" */
	char group[32];              /* "x25519" */
	char sni[256];               /* what was sent, "" for none */
	long verify_result;          /* SSL_get_verify_result() */
	struct tlsctx_record rec;    /* alerts, verify errors, messages seen */
	STACK_OF(X509) *chain;       /* presented by the broker, leaf first (owned) */
	double tls_ms;
	size_t bytes_in;
	unsigned char first[PROBE_FIRST_BYTES];   /* the first bytes the broker sent */
	size_t n_first;
	/* MQTT seen on this connection (plain probe, or first_read) */
	bool connack;
	int connack_rc;
	bool mqtt_other;             /* bytes arrived that are not a CONNACK */
};

struct probe_opts {
	enum probe_kind kind;
	const struct probe_addr *addrs;  /* tried in order until one accepts */
	size_t n_addrs;
	SSL_CTX *ctx;                /* PROBE_TLS: from tlsctx_new(); the probe takes a reference */
	const char *sni;             /* NULL: none */
	double timeout;              /* seconds each silent wait may last */
	bool first_read;             /* PROBE_TLS: read the broker's verdict after a TLS 1.3 handshake that asked for a certificate */
	const char *client_id;       /* the CONNECT the probe may send; NULL: "mqttls-probe" */
	int mqtt_version;            /* 4 (3.1.1) or 5 */
};

struct probe;

enum probe_phase {
	PROBE_PHASE_TCP,             /* TCP finished (connected or not) */
	PROBE_PHASE_DONE,            /* everything finished; the result is complete */
};

typedef void (*probe_cb)(struct probe *p, enum probe_phase phase, void *ctx);

/* Start a probe on base; cb is called from the loop, never from probe_start. NULL with err set. */
struct probe *probe_start(struct event_base *base, const struct probe_opts *o, probe_cb cb, void *ctx,
			  struct mq_err *err) MQ_WUR;

const struct probe_result *probe_result(const struct probe *p);

/* Take the presented chain out of the result (the caller frees it with sk_X509_pop_free). */
STACK_OF(X509) *probe_take_chain(struct probe *p);

/* Stop (if running) and free. Safe from inside the callback only for PROBE_PHASE_DONE. */
void probe_free(struct probe *p);

/* An MQTT CONNECT packet (clean session, no credentials) into buf; returns its length or 0. */
size_t probe_connect_packet(unsigned char *buf, size_t size, const char *client_id, int mqtt_version);

#endif
