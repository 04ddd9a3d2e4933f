/*
 * explain — what a device, a client or a broker printed, in plain words.
 *
 * Pure and table-driven: the input is text a user pasted (an ESP32 serial line, a
 * mosquitto_pub error, a broker log line, a bare code), the output is a list of
 * explanations, one per code or pattern recognised in it. Families: PubSubClient
 * state(), mbedTLS errors (-9984, -0x2700, 0x2700) and X.509 verify flags, esp-tls
 * (ESP-IDF 4.x and 5.x numberings), OpenSSL error:XXXXXXXX codes (1.1.1 and 3.x
 * packing, alerts as 1000+N), X509 verify results, TLS alerts, CONNACK (3.1.1) and
 * MQTT 5 reason codes, libmosquitto MOSQ_ERR values, mosquitto broker and client
 * messages, Node.js / Python TLS error names.
 *
 * Nothing is printed here; the input is untrusted and only read, never executed.
 */
#ifndef MQTTLS_EXPLAIN_H
#define MQTTLS_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "attrib.h"

/* Family names as they appear in JSON ("family") — stable strings. */
#define EXPLAIN_PUBSUBCLIENT  "pubsubclient"
#define EXPLAIN_MBEDTLS       "mbedtls"
#define EXPLAIN_MBEDTLS_FLAGS "mbedtls-verify-flags"
#define EXPLAIN_ESPTLS        "esp-tls"
#define EXPLAIN_OPENSSL       "openssl"
#define EXPLAIN_X509          "x509-verify"
#define EXPLAIN_ALERT         "tls-alert"
#define EXPLAIN_CONNACK       "connack-3.1.1"
#define EXPLAIN_MQTT5         "mqtt5-reason"
#define EXPLAIN_MOSQ_ERR      "libmosquitto"
#define EXPLAIN_MOSQ_LOG      "mosquitto-log"
#define EXPLAIN_MOSQ_CLIENT   "mosquitto-client"
#define EXPLAIN_NODE          "nodejs"
#define EXPLAIN_PYTHON        "python"
#define EXPLAIN_ERRNO         "errno"

#define EXPLAIN_MAX_FINDINGS 4

struct explain_item {
	const char *family;       /* one of the EXPLAIN_* names */
	char *code;               /* normalised code: "-0x2700", "error:0A000412", "alert 42", "rc=-2" */
	char *name;               /* symbolic name ("MBEDTLS_ERR_X509_CERT_VERIFY_FAILED"), or NULL */
	char *meaning;            /* what it means, in one or two sentences */
	char *detail;             /* versions that disagree, what to check next; may be NULL */
	char *matched;            /* the part of the input it came from (untrusted: escape it) */
	const char *findings[EXPLAIN_MAX_FINDINGS + 1]; /* related contract finding ids, NULL-ended */
	bool guess;               /* a bare number read as one of several possible codes */
};

struct explain_result {
	struct explain_item *v;
	size_t n, cap;
};

/* Inputs longer than this are truncated before they are read (a pasted log, not a file). */
#define EXPLAIN_MAX_INPUT (256 * 1024)

/*
 * Explain every code and known message in text[0..len). Returns the number of
 * explanations (0: nothing recognised). out must be zero-initialised; free it with
 * explain_result_free().
 */
size_t explain_text(const char *text, size_t len, struct explain_result *out) MQ_NONNULL(1, 3);

void explain_result_free(struct explain_result *r);

/* {"input": ..., "recognised": bool, "explanations": [{family, code, name, meaning, detail, findings, guess}]} */
cJSON *explain_result_to_json(const struct explain_result *r, const char *input, size_t len);

/* RFC 8446 name of a TLS alert description ("bad_certificate"), or NULL when unknown. */
const char *explain_alert_name(int desc);

/* Symbolic name of an X509 verify result ("X509_V_ERR_HOSTNAME_MISMATCH"), or NULL. */
const char *explain_x509_name(int code);

/*
 * The alert an mbedTLS client (ESP32) sends when it rejects a certificate with these
 * verify flags — the order mbedTLS 2.28 and 3.x pick in ssl_parse_certificate_verify().
 */
int explain_mbedtls_alert_for_flags(unsigned flags);

/* Text of an mbedTLS error code in ESP32 forms: "-0x2700 (-9984) MBEDTLS_ERR_..."; buf >= 96. */
char *explain_mbedtls_format(int code, char *buf, size_t size);

/*
 * ESP-IDF esp-tls code names for the same failure in both numberings, e.g. for
 * "handshake failed": 5.x 0x801A, 4.x 0x8010. which: see enum below.
 */
enum explain_esptls_what {
	EXPLAIN_ESPTLS_RESOLVE,
	EXPLAIN_ESPTLS_CONNECT,
	EXPLAIN_ESPTLS_TIMEOUT,
	EXPLAIN_ESPTLS_HANDSHAKE,
	EXPLAIN_ESPTLS_X509_PARSE,
	EXPLAIN_ESPTLS_KEY_PARSE,
};
/* "ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED (0x801A on ESP-IDF 5.x, 0x8010 on 4.x)"; buf >= 128. */
char *explain_esptls_format(enum explain_esptls_what what, char *buf, size_t size);

#endif
