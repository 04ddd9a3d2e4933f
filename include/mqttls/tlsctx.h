/*
 * tlsctx — the client SSL_CTX a diagnosis uses, and a recorder of what it saw.
 *
 * One builder for every TLS client mqttls opens towards a broker, so the probe and the
 * libmosquitto connection (MOSQ_OPT_SSL_CTX) offer exactly the same versions, suites,
 * CA and client certificate as the user's TARGET. The recorder is filled by OpenSSL's
 * verify and message callbacks: every verification error with its depth (the probe lets
 * the handshake go on, so the whole chain is always seen), every alert sent or received,
 * and which handshake messages crossed (ServerHello, Certificate, CertificateRequest,
 * NewSessionTicket).
 */
#ifndef MQTTLS_TLSCTX_H
#define MQTTLS_TLSCTX_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "attrib.h"
#include "err.h"
#include "target.h"

#define TLSCTX_MAX_VERRS 16
#define TLSCTX_MAX_ALERTS 8

struct tlsctx_verr {
	int depth;
	int err;                 /* X509_V_ERR_* */
};

struct tlsctx_alert {
	bool sent;               /* false: received from the broker */
	bool fatal;
	int desc;                /* RFC 8446 AlertDescription */
};

struct tlsctx_record {
	struct tlsctx_verr verrs[TLSCTX_MAX_VERRS];
	size_t n_verrs;
	bool verify_called;
	double verify_first_ms, verify_last_ms;  /* mq_now_ms() of the first / last verify callback */
	struct tlsctx_alert alerts[TLSCTX_MAX_ALERTS];
	size_t n_alerts;
	bool server_hello, cert_seen, cert_request, ticket_seen, finished_seen;
	bool client_cert_sent;   /* our Certificate message carried a certificate */
	bool enforce;            /* verify callback returns OpenSSL's verdict (a real client), else 1 */
	/* The SNI to send, applied when the handshake starts — for SSLs that libmosquitto makes
	 * with an address as host, so that the broker still sees the user's name. */
	bool override_sni;
	char sni[256];           /* "" with override_sni: send none */
};

enum tlsctx_mode {
	TLSCTX_PROBE,            /* the TARGET's settings; verification recorded, never stops the handshake */
	TLSCTX_CLIENT,           /* the TARGET's settings; verification enforced (what libmosquitto gets) */
	TLSCTX_OLD_VERSIONS,     /* TLS 1.0/1.1 only, security level 0: does the broker still accept them? */
	TLSCTX_NO_FS,            /* TLS 1.2 with static-RSA (no forward secrecy) suites only, level 0 */
	TLSCTX_ONLY_12,          /* TLS 1.2 only, nothing verified: which versions does the broker accept? */
	TLSCTX_ONLY_13,          /* TLS 1.3 only, nothing verified */
};

/* A client certificate the user gave, already loaded and checked by the caller (may all be NULL). */
struct tlsctx_creds {
	X509 *cert;
	STACK_OF(X509) *extra;   /* intermediates that followed the certificate in its file */
	EVP_PKEY *key;
};

/*
 * A new client SSL_CTX for t in the given mode. creds may be NULL; a key that does not
 * match its certificate is left out (the diagnosis reports it). Returns NULL with err set.
 * The recorder, when attached, must outlive every SSL made from the context.
 */
SSL_CTX *tlsctx_new(const struct target *t, const struct tlsctx_creds *creds, enum tlsctx_mode mode,
		    struct mq_err *err) MQ_WUR;

/* Record into rec for every SSL made from ctx (for SSLs created by libmosquitto). */
void tlsctx_attach(SSL_CTX *ctx, struct tlsctx_record *rec);
/* Record into rec for this SSL only (takes precedence over the context's recorder). */
void tlsctx_attach_ssl(SSL *ssl, struct tlsctx_record *rec);

/* The server name to send as SNI: --sni, else the host unless it is an IP address; NULL: none. */
const char *tlsctx_sni(const struct target *t);

/* True when s is an IPv4 or IPv6 address literal. */
bool tlsctx_is_ip(const char *s);

/* "TLSv1.3" for TLS1_3_VERSION and friends. */
const char *tlsctx_version_name(int v);

/* The last fatal alert received (desc), or -1. */
int tlsctx_alert_received(const struct tlsctx_record *rec);
/* The last fatal alert sent (desc), or -1. */
int tlsctx_alert_sent(const struct tlsctx_record *rec);

#endif
