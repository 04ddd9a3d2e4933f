/*
 * tlsdec — TLS as a passive observer sees it: records from a byte stream cut anywhere,
 * handshake messages across records, and the messages that say who offered what
 * (ClientHello, ServerHello, Certificate, CertificateRequest, ServerKeyExchange's group).
 *
 * Everything read is untrusted: checked cursor reads, every inner length must fit its
 * parent, every list and buffer is capped. Application data is never buffered: a record
 * that cannot be read (application data, or anything after ChangeCipherSpec in TLS 1.2)
 * is reported by its type and length the moment its header is complete, then skipped.
 *
 * Message parsers fill caller-owned structs; pointers in them (tls_bytes) point into the
 * message body given, which lives only as long as the callback that received it.
 */
#ifndef MQTTLS_TLSDEC_H
#define MQTTLS_TLSDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrib.h"

#define TLSDEC_MAX_RECORD (16384 + 2048)   /* TLSCiphertext.length may not exceed 2^14 + 2048 */
#define TLSDEC_MAX_HANDSHAKE (256 * 1024)  /* one handshake message (a certificate chain fits) */
#define TLSDEC_ERR_SIZE 128

enum tls_content {
	TLS_CT_CCS = 20,
	TLS_CT_ALERT = 21,
	TLS_CT_HANDSHAKE = 22,
	TLS_CT_APPDATA = 23,
	TLS_CT_HEARTBEAT = 24,
};

enum tls_hs_type {
	TLS_HS_HELLO_REQUEST = 0,
	TLS_HS_CLIENT_HELLO = 1,
	TLS_HS_SERVER_HELLO = 2,
	TLS_HS_NEW_SESSION_TICKET = 4,
	TLS_HS_ENCRYPTED_EXTENSIONS = 8,
	TLS_HS_CERTIFICATE = 11,
	TLS_HS_SERVER_KEY_EXCHANGE = 12,
	TLS_HS_CERTIFICATE_REQUEST = 13,
	TLS_HS_SERVER_HELLO_DONE = 14,
	TLS_HS_CERTIFICATE_VERIFY = 15,
	TLS_HS_CLIENT_KEY_EXCHANGE = 16,
	TLS_HS_FINISHED = 20,
	TLS_HS_CERTIFICATE_STATUS = 22,
};

enum {
	TLS_V_SSL3 = 0x0300,
	TLS_V_10 = 0x0301,
	TLS_V_11 = 0x0302,
	TLS_V_12 = 0x0303,
	TLS_V_13 = 0x0304,
};

struct tls_bytes {
	const uint8_t *p;
	size_t len;
};

/* Caps on what one hello keeps (counts beyond them are still counted in n_*_total). */
#define TLS_MAX_CIPHERS 128
#define TLS_MAX_GROUPS 32
#define TLS_MAX_SIGALGS 48
#define TLS_MAX_VERSIONS 16
#define TLS_MAX_ALPN 8
#define TLS_MAX_CERTS 10
#define TLS_MAX_CAS 8

struct tls_client_hello {
	uint16_t legacy_version;
	struct tls_bytes sni;                 /* first host_name, raw bytes; p NULL when absent */
	uint16_t versions[TLS_MAX_VERSIONS];  /* supported_versions, or the legacy version alone; no GREASE */
	size_t n_versions;
	bool has_supported_versions;
	uint16_t ciphers[TLS_MAX_CIPHERS];    /* no GREASE, no signalling suites */
	size_t n_ciphers, n_ciphers_total;
	uint16_t groups[TLS_MAX_GROUPS];
	size_t n_groups;
	uint16_t key_shares[TLS_MAX_GROUPS];  /* groups with a key share (TLS 1.3) */
	size_t n_key_shares;
	uint16_t sigalgs[TLS_MAX_SIGALGS];
	size_t n_sigalgs;
	struct tls_bytes alpn[TLS_MAX_ALPN];
	size_t n_alpn;
	unsigned max_fragment_length;         /* 512..4096 when requested (mbedTLS devices), else 0 */
	bool has_session_ticket, has_psk, has_early_data, has_status_request;
	bool renegotiation_scsv, fallback_scsv;
	size_t n_extensions;
};

struct tls_server_hello {
	uint16_t legacy_version;
	uint16_t version;                     /* negotiated: supported_versions, else legacy */
	uint16_t cipher;
	uint16_t group;                       /* TLS 1.3 key_share (HRR: the group asked for); 0 else */
	bool hello_retry;                     /* a HelloRetryRequest */
	struct tls_bytes alpn;
	unsigned max_fragment_length;
	bool extended_master_secret;
	size_t n_extensions;
};

struct tls_cert_list {
	struct tls_bytes der[TLS_MAX_CERTS];  /* as sent: [0] is the leaf */
	size_t n;                             /* kept */
	size_t n_total;                       /* in the message */
};

struct tls_cert_request {
	uint16_t sigalgs[TLS_MAX_SIGALGS];
	size_t n_sigalgs;
	struct tls_bytes cas[TLS_MAX_CAS];    /* DER DistinguishedNames of acceptable CAs */
	size_t n_cas, n_cas_total;
};

/*
 * Message parsers: body is the handshake message without its 4-byte header. Return 0, or -1
 * with err (TLSDEC_ERR_SIZE bytes) saying what is malformed.
 */
int tlsdec_client_hello(const uint8_t *body, size_t len, struct tls_client_hello *out, char *err) MQ_WUR;
int tlsdec_server_hello(const uint8_t *body, size_t len, struct tls_server_hello *out, char *err) MQ_WUR;
/* tls13: the TLS 1.3 layout (request context, per-certificate extensions). */
int tlsdec_certificate(const uint8_t *body, size_t len, bool tls13, struct tls_cert_list *out, char *err) MQ_WUR;
int tlsdec_cert_request(const uint8_t *body, size_t len, bool tls13, struct tls_cert_request *out,
			char *err) MQ_WUR;
/* The named group of an ECDHE ServerKeyExchange, or 0 when it is not one (DHE, RSA-PSK, ...). */
uint16_t tlsdec_ske_group(const uint8_t *body, size_t len);

/* Names. IANA spellings; NULL when unknown (callers print the number). */
const char *tlsdec_cipher_name(uint16_t id);
const char *tlsdec_group_name(uint16_t id);
const char *tlsdec_sigalg_name(uint16_t id);
const char *tlsdec_alert_name(uint8_t desc);
const char *tlsdec_handshake_name(uint8_t type);
/* "TLSv1.2", "TLSv1.3", "SSLv3", ... NULL when unknown. */
const char *tlsdec_version_name(uint16_t v);
enum tls_name_kind { TLSN_CIPHER, TLSN_GROUP, TLSN_SIGALG, TLSN_VERSION, TLSN_ALERT, TLSN_HANDSHAKE };

/* The name, or a fallback written into buf (at least 24 bytes): "0x%04X" for cipher suites
 * (as IANA writes them), "0x%04x" for other numbers, "unknown (N)" for alerts and messages. */
const char *tlsdec_name(enum tls_name_kind kind, uint16_t v, char *buf, size_t size);

/* RFC 8701 reserved values (0x0A0A, 0x1A1A, ...) that clients sprinkle into lists. */
bool tlsdec_is_grease(uint16_t v);

/*
 * Does this look like the start of a TLS stream (a handshake or alert record header)?
 * Needs 5 bytes; used to tell TLS from MQTT on an unknown port.
 */
bool tlsdec_looks_like_tls(const uint8_t *p, size_t n);

/* ---- the record layer over one direction of a stream ---------------------------------- */

struct tlsdec_events {
	/* A complete plaintext handshake message (body without its 4-byte header). */
	void (*handshake)(void *ctx, uint8_t type, const uint8_t *body, size_t len);
	/* A plaintext alert. */
	void (*alert)(void *ctx, uint8_t level, uint8_t desc);
	void (*ccs)(void *ctx);
	/* A record whose content cannot be read (ciphertext): its outer type and length. */
	void (*opaque)(void *ctx, uint8_t content_type, size_t len);
};

struct tlsdec_stream {
	uint8_t hdr[5];
	size_t hdr_len;
	uint8_t type;             /* the current record's content type */
	size_t rec_len, rec_got;  /* its length, and how much of it has been seen */
	bool rec_opaque;          /* the current record is skipped, not gathered */
	uint8_t *rec;             /* a readable record gathered across chunks */
	size_t rec_cap;
	uint8_t *hs;              /* handshake bytes not yet forming a whole message */
	size_t hs_len, hs_cap;
	bool tls13;               /* set by the caller once the ServerHello says TLS 1.3 */
	bool ciphered;            /* TLS <= 1.2 after ChangeCipherSpec: records are ciphertext */
	bool dead;
	char err[TLSDEC_ERR_SIZE];
	uint64_t records;
	uint16_t record_version;  /* of the first record */
};

void tlsdec_stream_init(struct tlsdec_stream *s) MQ_NONNULL(1);

/* Feed the next bytes. Returns 0, or -1 once the stream is not TLS or breaks a cap (s->err says
 * which); after that nothing more is decoded. */
int tlsdec_stream_feed(struct tlsdec_stream *s, const uint8_t *data, size_t len, const struct tlsdec_events *ev,
		       void *ctx) MQ_NONNULL(1, 4);

void tlsdec_stream_free(struct tlsdec_stream *s);

#endif
