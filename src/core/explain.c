/*
 * explain — tables of the codes people paste, and scanners that find them in text.
 *
 * Sources checked for every table (see docs/explain.md): OpenSSL 3.0 sslerr.h,
 * x509_vfy.h, ssl.h (SSL_AD_REASON_OFFSET); mbedTLS 2.28 and 3.x ssl.h, x509.h,
 * pk.h, pem.h, net_sockets.h and ssl_tls.c (alert choice on a failed verify);
 * esp-idf esp_tls_errors.h of 4.x and 5.x; PubSubClient.h; mosquitto 2.0 loop.c and
 * mosquitto.h; the MQTT 3.1.1 and 5.0 specifications; RFC 8446 §6.2. The library
 * strings (mosquitto_strerror, X509_verify_cert_error_string) are used to recognise
 * pasted text, since they are exactly what the tools print on this machine.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "mqttls/explain.h"
#include "mqttls/util.h"

#define F(...) { __VA_ARGS__, NULL }

/* ---------------------------------------------------------------- result list */

static bool has_item(const struct explain_result *r, const char *family, const char *code)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].family, family) && !strcmp(r->v[i].code, code))
			return true;
	return false;
}

static struct explain_item *add_item(struct explain_result *r, const char *family, const char *code,
				     const char *name, const char *meaning, const char *detail,
				     const char *matched, size_t mlen, const char *const *findings)
{
	struct explain_item *it;

	if (has_item(r, family, code))
		return NULL;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct explain_item *v = realloc(r->v, cap * sizeof *v);
		if (!v)
			abort();
		r->v = v;
		r->cap = cap;
	}
	it = &r->v[r->n++];
	memset(it, 0, sizeof *it);
	it->family = family;
	it->code = strdup(code);
	it->name = name ? strdup(name) : NULL;
	it->meaning = strdup(meaning);
	it->detail = detail && *detail ? strdup(detail) : NULL;
	it->matched = matched ? strndup(matched, mlen > 200 ? 200 : mlen) : NULL;
	for (size_t i = 0; findings && findings[i] && i < EXPLAIN_MAX_FINDINGS; i++)
		it->findings[i] = findings[i];
	return it;
}

void explain_result_free(struct explain_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].code);
		free(r->v[i].name);
		free(r->v[i].meaning);
		free(r->v[i].detail);
		free(r->v[i].matched);
	}
	free(r->v);
	memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- scanning helpers */

struct scan {
	const char *text;   /* the input as given */
	char *low;          /* lower-cased copy, same offsets */
	size_t len;
	struct explain_result *r;
	bool alert_done[256]; /* alerts already explained through an OpenSSL code */
	bool x509_done[128];
};

/* Case-insensitive search from offset from; returns offset or (size_t)-1. */
static size_t find_ci(const struct scan *s, const char *needle, size_t from)
{
	size_t n = strlen(needle);
	char buf[128];

	if (n == 0 || n >= sizeof buf)
		return (size_t)-1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)needle[i]);
	buf[n] = '\0';
	for (size_t i = from; i + n <= s->len; i++)
		if (s->low[i] == buf[0] && !memcmp(s->low + i, buf, n))
			return i;
	return (size_t)-1;
}

/* Exact (case-sensitive) search: tool messages are matched as the tools print them. */
static size_t find_cs(const struct scan *s, const char *needle, size_t from)
{
	size_t n = strlen(needle);

	for (size_t i = from; n && i + n <= s->len; i++)
		if (s->text[i] == needle[0] && !memcmp(s->text + i, needle, n))
			return i;
	return (size_t)-1;
}

static bool contains_ci(const struct scan *s, const char *needle)
{
	return find_ci(s, needle, 0) != (size_t)-1;
}

static bool is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* The end of the line holding offset i, for "matched". */
static size_t line_end(const struct scan *s, size_t i)
{
	while (i < s->len && s->text[i] != '\n' && s->text[i] != '\r')
		i++;
	return i;
}

static size_t line_start(const struct scan *s, size_t i)
{
	while (i > 0 && s->text[i - 1] != '\n' && s->text[i - 1] != '\r')
		i--;
	return i;
}

/* ---------------------------------------------------------------- TLS alerts (RFC 8446 §6.2) */

struct alert_row {
	int num;
	const char *name;
	const char *meaning;
	const char *from_mbedtls; /* what it says when an mbedTLS (ESP32) client sent it, or NULL */
	const char *findings[EXPLAIN_MAX_FINDINGS + 1];
};

static const struct alert_row alerts[] = {
	{ 0, "close_notify", "the sender is closing the connection normally", NULL, F(NULL) },
	{ 10, "unexpected_message", "a handshake message arrived out of order", NULL, F(NULL) },
	{ 20, "bad_record_mac", "a record failed its integrity check (corruption, or keys that do not match)", NULL, F(NULL) },
	{ 22, "record_overflow", "a record was longer than allowed — on an ESP32, often a TLS buffer configured too small for the peer's records", NULL, F(NULL) },
	{ 40, "handshake_failure", "the sender could not agree on parameters: no common cipher suite, curve or signature algorithm — or, from a TLS 1.2 server, a client certificate that is required was not sent",
	  NULL, F("NO_SHARED_CIPHER", "CLIENT_CERT_REQUIRED") },
	{ 42, "bad_certificate", "the sender rejected the certificate it received",
	  "an mbedTLS client (ESP32) sends 42 when the name it connected to is not in the certificate (MBEDTLS_X509_BADCERT_CN_MISMATCH): the host or IP in the sketch is missing from the broker certificate's SAN",
	  F("HOSTNAME_MISMATCH", "IP_NOT_IN_SAN", "CLIENT_CERT_REJECTED") },
	{ 43, "unsupported_certificate", "the certificate's type or usage is not acceptable to the sender",
	  "an mbedTLS client sends 43 when key usage / extended key usage do not allow TLS server use, or the key type or size is refused (BADCERT_KEY_USAGE, EXT_KEY_USAGE, BAD_PK, BAD_KEY)",
	  F("SERVER_CERT_WRONG_PURPOSE") },
	{ 44, "certificate_revoked", "the certificate was revoked by its issuer", NULL, F(NULL) },
	{ 45, "certificate_expired", "the sender found the certificate expired (or its own clock is wrong)",
	  "an mbedTLS client sends 45 when the broker certificate is past notAfter by the device's clock (only when MBEDTLS_HAVE_TIME_DATE is on and the clock was set by NTP)",
	  F("CERT_EXPIRED", "CLIENT_CERT_EXPIRED") },
	{ 46, "certificate_unknown", "the sender rejected the certificate for another reason",
	  "an mbedTLS client sends 46 for the remaining verify failures, such as a certificate not valid yet (BADCERT_FUTURE) or a weak signature hash (BAD_MD)",
	  F("CERT_NOT_YET_VALID") },
	{ 47, "illegal_parameter", "a handshake field had a value the sender does not accept", NULL, F(NULL) },
	{ 48, "unknown_ca", "the sender does not trust the CA that issued the certificate it received",
	  "an mbedTLS client sends 48 when the broker's chain does not lead to the CA given to setCACert() (BADCERT_NOT_TRUSTED): wrong CA in the sketch, a self-signed broker certificate, or a missing intermediate",
	  F("WRONG_CA", "SELF_SIGNED_SERVER", "INCOMPLETE_CHAIN", "CLIENT_CERT_REJECTED") },
	{ 49, "access_denied", "the sender refused access after a valid handshake",
	  "an mbedTLS client sends 49 when its own verify callback rejected the certificate (BADCERT_OTHER) — e.g. a pinning check in the sketch",
	  F(NULL) },
	{ 50, "decode_error", "a message could not be decoded", NULL, F(NULL) },
	{ 51, "decrypt_error", "a signature or Finished check failed — e.g. a private key that does not belong to the certificate", NULL, F("CLIENT_KEY_MISMATCH") },
	{ 70, "protocol_version", "the sender supports none of the TLS versions offered (e.g. broker 'tls_version tlsv1.3' against a device on TLS 1.2)", NULL, F("TLS_VERSION_MISMATCH") },
	{ 71, "insufficient_security", "the offered cipher suites are all too weak for the sender", NULL, F("NO_SHARED_CIPHER") },
	{ 80, "internal_error", "the sender hit an error unrelated to the protocol",
	  NULL, F(NULL) },
	{ 86, "inappropriate_fallback", "a version fallback was detected and refused", NULL, F(NULL) },
	{ 90, "user_canceled", "the sender cancelled the handshake", NULL, F(NULL) },
	{ 109, "missing_extension", "a required TLS extension was missing", NULL, F(NULL) },
	{ 110, "unsupported_extension", "an extension arrived that the sender never offered", NULL, F(NULL) },
	{ 112, "unrecognized_name", "the server knows no host by the SNI name sent", NULL, F("HOSTNAME_MISMATCH") },
	{ 113, "bad_certificate_status_response", "the OCSP status response was invalid", NULL, F(NULL) },
	{ 115, "unknown_psk_identity", "the PSK identity is unknown to the server", NULL, F(NULL) },
	{ 116, "certificate_required", "the server requires a client certificate and none was sent (TLS 1.3; 'require_certificate true' in mosquitto)",
	  NULL, F("CLIENT_CERT_REQUIRED") },
	{ 120, "no_application_protocol", "no ALPN protocol in common", NULL, F(NULL) },
};

static const struct alert_row *alert_row(int num)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(alerts); i++)
		if (alerts[i].num == num)
			return &alerts[i];
	return NULL;
}

const char *explain_alert_name(int desc)
{
	const struct alert_row *a = alert_row(desc);
	return a ? a->name : NULL;
}

int explain_mbedtls_alert_for_flags(unsigned flags)
{
	/* The order of mbedTLS's choice: the first matching test wins. */
	if (flags & 0x0100)
		return 49;
	if (flags & 0x04)
		return 42;
	if (flags & (0x0800 | 0x1000 | 0x2000 | 0x8000 | 0x10000))
		return 43;
	if (flags & 0x01)
		return 45;
	if (flags & 0x02)
		return 44;
	if (flags & 0x08)
		return 48;
	return 46;
}

static void alert_text(const struct alert_row *a, bool received_by_broker, struct mq_str *detail)
{
	if (received_by_broker && a->from_mbedtls)
		mq_str_printf(detail, "If the broker logged it, the device sent it: %s.", a->from_mbedtls);
	else if (a->from_mbedtls)
		mq_str_printf(detail, "When a broker logs this alert it came from the device; %s.", a->from_mbedtls);
	if (a->num == 80)
		mq_str_printf(detail, "%sOpenSSL clients such as mosquitto_pub 2.0 send internal_error when the host name does not match the broker certificate; "
			      "otherwise look in the sender's own log.", detail->len ? " " : "");
}

static void add_alert(struct scan *s, int num, const char *how, size_t at, size_t end, bool broker_log)
{
	const struct alert_row *a = alert_row(num);
	char code[32], meaning[512];
	struct mq_str detail = { 0 };

	if (num < 0 || num > 255 || s->alert_done[num])
		return;
	snprintf(code, sizeof code, "alert %d", num);
	if (!a) {
		snprintf(meaning, sizeof meaning, "TLS alert %d is not one RFC 8446 defines; it may be a private or obsolete value", num);
		add_item(s->r, EXPLAIN_ALERT, code, NULL, meaning, NULL, s->text + at, end - at, NULL);
		return;
	}
	snprintf(meaning, sizeof meaning, "TLS alert %d %s%s: %s.", num, a->name, how ? how : "", a->meaning);
	alert_text(a, broker_log, &detail);
	add_item(s->r, EXPLAIN_ALERT, code, a->name, meaning, detail.s, s->text + at, end - at, a->findings);
	mq_str_free(&detail);
	s->alert_done[num] = true;
}

/* ---------------------------------------------------------------- X509 verify results */

struct x509_row {
	int code;
	const char *name;
	const char *meaning;
	const char *findings[EXPLAIN_MAX_FINDINGS + 1];
};

static const struct x509_row x509_rows[] = {
	{ 2, "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT", "the issuer of a certificate in the chain is not available: an intermediate is missing from what the broker sends and from the CA file", F("INCOMPLETE_CHAIN", "WRONG_CA") },
	{ 7, "X509_V_ERR_CERT_SIGNATURE_FAILURE", "a certificate's signature does not verify with its issuer's key: a CA of the same name but a different key (re-generated CA)", F("WRONG_CA") },
	{ 9, "X509_V_ERR_CERT_NOT_YET_VALID", "a certificate's notBefore is in the future — the certificate is new and a clock is behind (often the device's, before NTP)", F("CERT_NOT_YET_VALID", "CLIENT_CERT_EXPIRED") },
	{ 10, "X509_V_ERR_CERT_HAS_EXPIRED", "a certificate in the chain is past its notAfter date", F("CERT_EXPIRED", "CLIENT_CERT_EXPIRED") },
	{ 18, "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT", "the peer presented a self-signed certificate that is not in the trusted CA file", F("SELF_SIGNED_SERVER") },
	{ 19, "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN", "the chain ends in a self-signed root that is not the trusted CA: the CA file holds a different CA", F("WRONG_CA") },
	{ 20, "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "the issuer of the peer's certificate is not in the trusted CA file: a wrong CA file, or an intermediate the broker does not send", F("WRONG_CA", "INCOMPLETE_CHAIN") },
	{ 21, "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE", "only the leaf was sent and its issuer is not trusted: usually the intermediate is missing from the broker's certfile", F("INCOMPLETE_CHAIN", "WRONG_CA") },
	{ 22, "X509_V_ERR_CERT_CHAIN_TOO_LONG", "the chain is longer than the verifier allows", F(NULL) },
	{ 23, "X509_V_ERR_CERT_REVOKED", "a certificate in the chain is revoked", F(NULL) },
	{ 24, "X509_V_ERR_NO_ISSUER_PUBLIC_KEY", "the issuer certificate has no usable public key", F(NULL) },
	{ 25, "X509_V_ERR_PATH_LENGTH_EXCEEDED", "a CA's pathlen constraint forbids this many intermediates", F(NULL) },
	{ 26, "X509_V_ERR_INVALID_PURPOSE", "a certificate's extended key usage does not allow this use (a client certificate used as a server certificate, or the reverse)", F("SERVER_CERT_WRONG_PURPOSE") },
	{ 27, "X509_V_ERR_CERT_UNTRUSTED", "the root is not marked trusted for this purpose", F("WRONG_CA") },
	{ 28, "X509_V_ERR_CERT_REJECTED", "the root is marked to reject this purpose", F(NULL) },
	{ 32, "X509_V_ERR_KEYUSAGE_NO_CERTSIGN", "a certificate used as a CA lacks keyCertSign in its key usage", F("CAFILE_NOT_CA") },
	{ 34, "X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION", "a certificate has a critical extension the verifier does not understand", F(NULL) },
	{ 37, "X509_V_ERR_INVALID_NON_CA", "a non-CA certificate was used as an issuer (the CA file holds a leaf certificate, or the chain is out of order)", F("CAFILE_NOT_CA") },
	{ 39, "X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE", "the certificate's key usage lacks digitalSignature, which TLS needs", F("SERVER_CERT_WRONG_PURPOSE") },
	{ 62, "X509_V_ERR_HOSTNAME_MISMATCH", "the host name connected to is not in the certificate's subjectAltName (nor its CN when there is no SAN)", F("HOSTNAME_MISMATCH") },
	{ 64, "X509_V_ERR_IP_ADDRESS_MISMATCH", "the client connected by IP address and the certificate has no matching IP: SAN", F("IP_NOT_IN_SAN") },
	{ 66, "X509_V_ERR_EE_KEY_TOO_SMALL", "the certificate's key is too small for the security level (e.g. RSA under 2048 bits)", F("WEAK_TLS") },
	{ 67, "X509_V_ERR_CA_KEY_TOO_SMALL", "the CA's key is too small for the security level", F("WEAK_TLS") },
	{ 68, "X509_V_ERR_CA_MD_TOO_WEAK", "a certificate is signed with a digest too weak for the security level (MD5, SHA-1)", F("WEAK_TLS") },
	{ 79, "X509_V_ERR_INVALID_CA", "strict mode (e.g. Python 3.13): a CA certificate is not a proper CA (basicConstraints / keyUsage)", F("CAFILE_NOT_CA") },
	{ 85, "X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER", "strict mode (e.g. Python 3.13): a certificate lacks the authorityKeyIdentifier extension — re-issue it with one", F(NULL) },
	{ 86, "X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER", "strict mode: a CA certificate lacks subjectKeyIdentifier", F(NULL) },
	{ 87, "X509_V_ERR_EMPTY_SUBJECT_ALT_NAME", "strict mode: the subjectAltName extension is present but empty", F("NO_SAN") },
	{ 89, "X509_V_ERR_CA_BCONS_NOT_CRITICAL", "strict mode (e.g. Python 3.13): a CA's basicConstraints is not marked critical — re-issue the CA with 'critical,CA:TRUE'", F(NULL) },
	{ 92, "X509_V_ERR_CA_CERT_MISSING_KEY_USAGE", "strict mode: a CA certificate has no keyUsage extension", F(NULL) },
};

static const struct x509_row *x509_row(int code)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(x509_rows); i++)
		if (x509_rows[i].code == code)
			return &x509_rows[i];
	return NULL;
}

const char *explain_x509_name(int code)
{
	const struct x509_row *x = x509_row(code);
	return x ? x->name : NULL;
}

static void add_x509(struct scan *s, int code, const char *family, const char *alias, size_t at, size_t end, bool guess)
{
	const struct x509_row *x = x509_row(code);
	char c[32], meaning[512];
	const char *libtext = X509_verify_cert_error_string(code);
	struct explain_item *it;

	if (code <= 0 || code >= 128 || (!guess && s->x509_done[code]))
		return;
	snprintf(c, sizeof c, "%d", code);
	if (x)
		snprintf(meaning, sizeof meaning, "X509 verify result %d (%s): %s.", code, libtext, x->meaning);
	else if (libtext && strcmp(libtext, "unknown certificate verification error"))
		snprintf(meaning, sizeof meaning, "X509 verify result %d: %s (OpenSSL's words; mqttls has no more to say about it).", code, libtext);
	else
		return;
	it = add_item(s->r, family, c, x ? x->name : NULL, meaning,
		      alias ? alias : NULL, s->text + at, end - at, x ? x->findings : NULL);
	if (it)
		it->guess = guess;
	if (!guess)
		s->x509_done[code] = true;
}

/* ---------------------------------------------------------------- OpenSSL error:XXXXXXXX */

struct ossl_row {
	int lib;                /* ERR_LIB_* */
	int reason;
	const char *macro;      /* without the LIB_R_ prefix, as Python/Node print it */
	const char *meaning;
	const char *findings[EXPLAIN_MAX_FINDINGS + 1];
};

static const struct ossl_row ossl_rows[] = {
	{ 20, 134, "CERTIFICATE_VERIFY_FAILED", "this side rejected the peer's certificate; the X509 verify result (in parentheses, or 'verify error:num=N') says why", F("WRONG_CA", "HOSTNAME_MISMATCH", "CLIENT_CERT_REJECTED") },
	{ 20, 267, "WRONG_VERSION_NUMBER", "what arrived is not TLS: plain MQTT was sent to a TLS port, or TLS to a plain port (the broker log of a TLS listener shows it when a client speaks plain MQTT)", F("PLAINTEXT_PORT", "NOT_TLS") },
	{ 20, 193, "NO_SHARED_CIPHER", "client and server have no cipher suite in common (a broker 'ciphers' line, or a key type the client's suites cannot use)", F("NO_SHARED_CIPHER") },
	{ 20, 199, "PEER_DID_NOT_RETURN_A_CERTIFICATE", "the broker requires a client certificate ('require_certificate true') and the client sent none — this is the broker's side of the failure", F("CLIENT_CERT_REQUIRED") },
	{ 20, 294, "UNEXPECTED_EOF_WHILE_READING", "the peer closed the TCP connection in the middle of the handshake without an alert — the peer rejected something it did not name (look at its log), or it is not a TLS server", F("NOT_TLS") },
	{ 20, 258, "UNSUPPORTED_PROTOCOL", "the peer offered only TLS versions this side refuses (e.g. TLS 1.0/1.1, which OpenSSL 3 refuses at its default security level)", F("TLS_VERSION_MISMATCH") },
	{ 20, 191, "NO_PROTOCOLS_AVAILABLE", "no TLS version is left enabled (minimum above maximum in the configuration)", F("TLS_VERSION_MISMATCH") },
	{ 20, 396, "VERSION_TOO_LOW", "the peer's TLS version is below this side's minimum", F("TLS_VERSION_MISMATCH") },
	{ 20, 166, "VERSION_TOO_HIGH", "the peer's TLS version is above this side's maximum", F("TLS_VERSION_MISMATCH") },
	{ 20, 156, "HTTP_REQUEST", "an HTTP request arrived on a TLS port", F("NOT_TLS") },
	{ 20, 198, "PACKET_LENGTH_TOO_LONG", "a record header announced an impossible length: the peer is not speaking TLS", F("NOT_TLS") },
	{ 20, 118, "NO_SUITABLE_SIGNATURE_ALGORITHM", "no signature algorithm in common for the certificate's key", F("NO_SHARED_CIPHER") },
	{ 20, 295, "NO_SUITABLE_GROUPS", "no key-exchange group (curve) in common", F("NO_SHARED_CIPHER") },
	{ 20, 101, "NO_SUITABLE_KEY_SHARE", "no usable key share for TLS 1.3", F("NO_SHARED_CIPHER") },
	{ 20, 181, "NO_CIPHERS_AVAILABLE", "the configured cipher list leaves nothing usable", F("NO_SHARED_CIPHER") },
	{ 20, 229, "SSL_HANDSHAKE_FAILURE", "the handshake failed; an earlier line usually names the cause", F(NULL) },
	{ 20, 394, "DH_KEY_TOO_SMALL", "the peer's Diffie-Hellman parameters are too small for this side's security level", F("WEAK_TLS") },
	{ 20, 397, "CA_KEY_TOO_SMALL", "a CA key is too small for the security level", F("WEAK_TLS") },
	{ 20, 398, "CA_MD_TOO_WEAK", "a CA signature uses a digest too weak for the security level (SHA-1, MD5)", F("WEAK_TLS") },
	{ 20, 399, "EE_KEY_TOO_SMALL", "the certificate key is too small for the security level (RSA under 2048)", F("WEAK_TLS") },
	{ 20, 281, "DECRYPTION_FAILED_OR_BAD_RECORD_MAC", "a record could not be decrypted", F(NULL) },
	{ 20, 123, "BAD_SIGNATURE", "a handshake signature did not verify — a key that does not belong to its certificate", F("CLIENT_KEY_MISMATCH") },
	{ 20, 190, "NO_PRIVATE_KEY_ASSIGNED", "a certificate was configured without its private key", F("CLIENT_CERT_INVALID") },
	{ 9, 108, "NO_START_LINE", "a file expected to be PEM has no '-----BEGIN ...' line: it is DER, empty, or not a certificate/key at all", F("CAFILE_INVALID", "CLIENT_CERT_INVALID") },
	{ 9, 100, "BAD_BASE64_DECODE", "a PEM file's base64 body is damaged (edited, truncated, or pasted with extra characters)", F("CAFILE_INVALID", "CLIENT_CERT_INVALID") },
	{ 9, 102, "BAD_END_LINE", "a PEM file's END line is damaged or missing", F("CAFILE_INVALID", "CLIENT_CERT_INVALID") },
	{ 11, 116, "KEY_VALUES_MISMATCH", "the private key does not belong to the certificate (keyfile and certfile are from different pairs)", F("CLIENT_KEY_MISMATCH", "CONF_KEY_CERT_MISMATCH") },
	{ 11, 115, "KEY_TYPE_MISMATCH", "the private key's type differs from the certificate's (an RSA key with an EC certificate)", F("CLIENT_KEY_MISMATCH", "CONF_KEY_CERT_MISMATCH") },
};

static const struct ossl_row *ossl_row(int lib, int reason)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(ossl_rows); i++)
		if (ossl_rows[i].lib == lib && ossl_rows[i].reason == reason)
			return &ossl_rows[i];
	return NULL;
}

static const char *lib_name(int lib)
{
	switch (lib) {
	case 2: return "system library";
	case 9: return "PEM routines";
	case 11: return "x509 certificate routines";
	case 13: return "asn1 encoding routines";
	case 20: return "SSL routines";
	default: return "OpenSSL";
	}
}

/* Explain one packed OpenSSL error code. */
static void add_openssl_code(struct scan *s, unsigned long code, size_t at, size_t end)
{
	int lib, reason;
	bool v111 = false;
	char c[32], meaning[640];
	struct mq_str detail = { 0 };
	const struct ossl_row *row;
	bool broker_log = contains_ci(s, "OpenSSL Error[");

	/* OpenSSL 3: system errors carry bit 31; others lib<<23 | reason. 1.1.1: lib<<24 | func<<12 | reason. */
	if (code & 0x80000000UL) {
		lib = 2;
		reason = (int)(code & 0x7FFFFFFF);
	} else if ((code >> 24) == 0x14 || (code >> 24) == 0x09 || (code >> 24) == 0x0B || (code >> 24) == 0x02) {
		v111 = true;
		lib = (int)(code >> 24);
		reason = (int)(code & 0xFFF);
	} else {
		lib = (int)((code >> 23) & 0xFF);
		reason = (int)(code & 0x7FFFFF);
	}
	snprintf(c, sizeof c, "error:%08lX", code);
	if (lib == 2) {
		snprintf(meaning, sizeof meaning, "OpenSSL passes on a system error: errno %d, %s — a file it was told to load could not be opened.",
			 reason, strerror(reason));
		mq_str_printf(&detail, "With mosquitto's 'Unable to load server key file' or 'Unable to load CA certificates' it names the broker's own files: "
			      "check the path, and that the user mosquitto can read it (mqttls lint-conf checks both).");
		const char *fs[] = { "BROKER_CANNOT_READ_FILE", "CAFILE_INVALID", NULL };
		add_item(s->r, EXPLAIN_OPENSSL, c, reason == 2 ? "ENOENT" : reason == 13 ? "EACCES" : NULL,
			 meaning, detail.s, s->text + at, end - at, fs);
		mq_str_free(&detail);
		return;
	}
	if (lib == 20 && reason > 1000 && reason < 1256) {
		int a = reason - 1000;
		const struct alert_row *ar = alert_row(a);
		snprintf(meaning, sizeof meaning, "OpenSSL received TLS alert %d %s from the peer: %s.", a,
			 ar ? ar->name : "(unknown)", ar ? ar->meaning : "an alert RFC 8446 does not define");
		if (ar)
			alert_text(ar, broker_log, &detail);
		mq_str_printf(&detail, "%sThe same code reads 'sslv3 alert …' or 'tlsv1 alert …' in OpenSSL 3.0/3.1 and 'ssl/tls alert …' from 3.2%s.",
			      detail.len ? " " : "", v111 ? "; this one is in OpenSSL 1.1.1's packing" : "");
		char nm[48];
		snprintf(nm, sizeof nm, "SSL_AD_REASON_OFFSET+%d", a);
		add_item(s->r, EXPLAIN_OPENSSL, c, nm, meaning, detail.s, s->text + at, end - at, ar ? ar->findings : NULL);
		mq_str_free(&detail);
		s->alert_done[a] = true;
		return;
	}
	row = ossl_row(lib, reason);
	if (row) {
		snprintf(meaning, sizeof meaning, "%s %s: %s.", lib_name(lib), row->macro, row->meaning);
		if (v111)
			mq_str_printf(&detail, "This is OpenSSL 1.1.1's packing of the code; OpenSSL 3 prints it as error:%08X.",
				      (unsigned)((lib << 23) | reason));
		if (lib == 20 && reason == 134)
			mq_str_printf(&detail, "%sIn a broker log it means the broker rejected the device's client certificate (CLIENT_CERT_REJECTED); "
				      "in a client it means the client rejected the broker.", detail.len ? " " : "");
		add_item(s->r, EXPLAIN_OPENSSL, c, row->macro, meaning, detail.s, s->text + at, end - at, row->findings);
		mq_str_free(&detail);
		return;
	}
	/* Not in the table: say what this OpenSSL calls it, honestly. */
	{
		unsigned long packed = (unsigned long)(((unsigned long)(lib & 0xFF) << 23) | (unsigned long)reason);
		const char *rs = ERR_reason_error_string(packed);
		if (rs)
			snprintf(meaning, sizeof meaning, "%s: %s (OpenSSL's words; mqttls has no more to say about this code).", lib_name(lib), rs);
		else
			snprintf(meaning, sizeof meaning, "an OpenSSL error code from library %d, reason %d that this OpenSSL does not name.", lib, reason);
		add_item(s->r, EXPLAIN_OPENSSL, c, NULL, meaning, NULL, s->text + at, end - at, NULL);
	}
}

static void scan_openssl(struct scan *s)
{
	size_t i = 0;

	while ((i = find_ci(s, "error:", i)) != (size_t)-1) {
		size_t p = i + 6, q = p;
		char hex[9];
		unsigned long code;

		while (q < s->len && q - p < 9 && isxdigit((unsigned char)s->text[q]))
			q++;
		if (q - p == 8 && (q == s->len || !isxdigit((unsigned char)s->text[q]))) {
			memcpy(hex, s->text + p, 8);
			hex[8] = '\0';
			code = strtoul(hex, NULL, 16);
			add_openssl_code(s, code, line_start(s, i), line_end(s, i));
		}
		i = p;
	}
	/* Python "[SSL: NAME]" and Node "ERR_SSL_NAME" carry the reason macro instead of the number. */
	for (size_t k = 0; k < MQ_ARRAY_LEN(ossl_rows); k++) {
		char pat[96];
		size_t at;
		const char *fam = EXPLAIN_PYTHON;
		bool node = false;

		snprintf(pat, sizeof pat, "[SSL: %s]", ossl_rows[k].macro);
		at = find_ci(s, pat, 0);
		if (at == (size_t)-1) {
			snprintf(pat, sizeof pat, "ERR_SSL_%s", ossl_rows[k].macro);
			at = find_ci(s, pat, 0);
			fam = EXPLAIN_NODE;
			node = true;
		}
		if (at == (size_t)-1)
			continue;
		char meaning[512];
		snprintf(meaning, sizeof meaning, "OpenSSL's %s, as %s reports it: %s.", ossl_rows[k].macro,
			 node ? "Node.js" : "Python's ssl module", ossl_rows[k].meaning);
		add_item(s->r, fam, ossl_rows[k].macro, ossl_rows[k].macro, meaning, NULL,
			 s->text + at, strlen(pat), ossl_rows[k].findings);
	}
	/* The alert forms: "[SSL: TLSV1_ALERT_UNKNOWN_CA]", "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE". */
	for (size_t k = 0; k < MQ_ARRAY_LEN(alerts); k++) {
		char up[64], pat[96];
		const char *pre[] = { "SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV13_ALERT_" };
		size_t n = strlen(alerts[k].name);

		if (n >= sizeof up)
			continue;
		for (size_t j = 0; j <= n; j++)
			up[j] = (char)toupper((unsigned char)alerts[k].name[j]);
		for (size_t j = 0; j < MQ_ARRAY_LEN(pre); j++) {
			size_t at;
			snprintf(pat, sizeof pat, "%s%s", pre[j], up);
			at = find_ci(s, pat, 0);
			/* "bad_certificate" is BAD_CERTIFICATE; OpenSSL spells a few differently (UNKNOWN_CA, DECRYPT_ERROR) — same. */
			if (at != (size_t)-1)
				add_alert(s, alerts[k].num, " (received)", line_start(s, at), line_end(s, at), contains_ci(s, "OpenSSL Error["));
		}
	}
}

/* ---------------------------------------------------------------- mbedTLS */

struct mbed_row {
	unsigned mag;           /* -code */
	const char *name2, *mean2;   /* mbedTLS 2.28 (ESP-IDF 4.x, Arduino-ESP32 2.x) */
	const char *name3, *mean3;   /* mbedTLS 3.x (ESP-IDF 5.x, Arduino-ESP32 3.x); NULL name: same as 2.x */
	const char *findings[EXPLAIN_MAX_FINDINGS + 1];
};

#define SAME NULL, NULL
static const struct mbed_row mbed_rows[] = {
	/* SSL */
	{ 0x7000, "MBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS", "a cryptographic operation is still running (not an error; call again)", SAME, F(NULL) },
	{ 0x7080, "MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE", "the handshake needs a feature this mbedTLS build lacks (e.g. the broker insists on TLS 1.3 and the build has no TLS 1.3)", SAME, F("TLS_VERSION_MISMATCH") },
	{ 0x7100, "MBEDTLS_ERR_SSL_BAD_INPUT_DATA", "bad parameters given to mbedTLS (a NULL or empty CA/certificate in the sketch)", SAME, F(NULL) },
	{ 0x7180, "MBEDTLS_ERR_SSL_INVALID_MAC", "a record failed its integrity check", SAME, F(NULL) },
	{ 0x7200, "MBEDTLS_ERR_SSL_INVALID_RECORD", "a record that is not valid TLS arrived — the port answers plain MQTT/other data, or the device's TLS input buffer is smaller than the broker's records (large certificate chains)", SAME, F("PLAINTEXT_PORT", "NOT_TLS") },
	{ 0x7280, "MBEDTLS_ERR_SSL_CONN_EOF", "the broker closed the connection during the handshake — the broker rejected the device (look at the broker log: no client certificate, untrusted client certificate) or is not a TLS server", SAME, F("CLIENT_CERT_REQUIRED", "CLIENT_CERT_REJECTED", "NOT_TLS") },
	{ 0x7300, "MBEDTLS_ERR_SSL_UNKNOWN_CIPHER", "the server chose a cipher suite the client never offered", "MBEDTLS_ERR_SSL_DECODE_ERROR", "a handshake message could not be parsed", F(NULL) },
	{ 0x7380, "MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN", "no cipher suite in common with the broker", NULL, "unused in mbedTLS 3.x", F("NO_SHARED_CIPHER") },
	{ 0x7400, "MBEDTLS_ERR_SSL_NO_RNG", "no random generator configured", SAME, F(NULL) },
	{ 0x7480, "MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE", "(server side) the client sent no certificate though one is required", SAME, F("CLIENT_CERT_REQUIRED") },
	{ 0x7500, "MBEDTLS_ERR_SSL_CERTIFICATE_TOO_LARGE", "the device's own certificate is too large for a TLS message", "MBEDTLS_ERR_SSL_UNSUPPORTED_EXTENSION", "the server answered with an extension the client never offered", F(NULL) },
	{ 0x7580, "MBEDTLS_ERR_SSL_CERTIFICATE_REQUIRED", "the broker asked for a client certificate and the sketch set none (setCertificate/setPrivateKey)", "MBEDTLS_ERR_SSL_NO_APPLICATION_PROTOCOL", "no ALPN protocol in common", F("CLIENT_CERT_REQUIRED") },
	{ 0x7600, "MBEDTLS_ERR_SSL_PRIVATE_KEY_REQUIRED", "a certificate was set without its private key", SAME, F("CLIENT_CERT_INVALID") },
	{ 0x7680, "MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED", "verification is required but no CA was set — the sketch did not call setCACert()", SAME, F("CAFILE_INVALID") },
	{ 0x7700, "MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE", "a handshake message arrived out of order", SAME, F(NULL) },
	{ 0x7780, "MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE", "the broker sent a fatal alert and the device gave up — the broker's log names the cause (a TLS 1.3 broker also rejects a missing or untrusted client certificate this way)", SAME, F("CLIENT_CERT_REQUIRED", "CLIENT_CERT_REJECTED", "TLS_VERSION_MISMATCH") },
	{ 0x7800, "MBEDTLS_ERR_SSL_PEER_VERIFY_FAILED", "verification of the peer failed", "MBEDTLS_ERR_SSL_UNRECOGNIZED_NAME", "the server knows no host by the SNI name sent", F(NULL) },
	{ 0x7880, "MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY", "the peer closed the connection cleanly", SAME, F(NULL) },
	{ 0x7900, "MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO", "the ClientHello could not be processed (server side)", NULL, "unused in mbedTLS 3.x", F(NULL) },
	{ 0x7980, "MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO", "the ServerHello could not be processed — often the broker picked a TLS version or parameter this build does not support", NULL, "unused in mbedTLS 3.x", F("TLS_VERSION_MISMATCH") },
	{ 0x7A00, "MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE", "the broker's Certificate message could not be processed (a certificate that cannot be parsed, or too large for the buffer)", "MBEDTLS_ERR_SSL_BAD_CERTIFICATE", "processing the Certificate message failed", F(NULL) },
	{ 0x7A80, "MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE_REQUEST", "the CertificateRequest could not be processed", NULL, "unused in mbedTLS 3.x", F(NULL) },
	{ 0x7B00, "MBEDTLS_ERR_SSL_BAD_HS_SERVER_KEY_EXCHANGE", "the ServerKeyExchange could not be processed (unsupported curve or signature)", "MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET", "a TLS 1.3 session ticket arrived (informational, not a failure)", F(NULL) },
	{ 0x7B80, "MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO_DONE", "the ServerHelloDone could not be processed", NULL, "unused in mbedTLS 3.x", F(NULL) },
	{ 0x7C00, "MBEDTLS_ERR_SSL_BAD_HS_CLIENT_KEY_EXCHANGE", "the ClientKeyExchange could not be processed", NULL, "unused in mbedTLS 3.x", F(NULL) },
	{ 0x7D80, "MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE_VERIFY", "the CertificateVerify could not be processed — a client key that does not match its certificate", NULL, "unused in mbedTLS 3.x", F("CLIENT_KEY_MISMATCH") },
	{ 0x7E00, "MBEDTLS_ERR_SSL_BAD_HS_CHANGE_CIPHER_SPEC", "the ChangeCipherSpec could not be processed", NULL, "unused in mbedTLS 3.x", F(NULL) },
	{ 0x7E80, "MBEDTLS_ERR_SSL_BAD_HS_FINISHED", "the Finished message did not verify", NULL, "unused in mbedTLS 3.x", F(NULL) },
	{ 0x7F00, "MBEDTLS_ERR_SSL_ALLOC_FAILED", "out of memory — a TLS connection needs roughly 40 KB of free heap on an ESP32", SAME, F(NULL) },
	{ 0x7F80, "MBEDTLS_ERR_SSL_HW_ACCEL_FAILED", "the hardware crypto accelerator failed", SAME, F(NULL) },
	{ 0x6F00, "MBEDTLS_ERR_SSL_COMPRESSION_FAILED", "compression failed", NULL, "unused in mbedTLS 3.x", F(NULL) },
	{ 0x6E80, "MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION", "no TLS version in common with the broker (e.g. broker 'tls_version tlsv1.3' and a device limited to TLS 1.2)", "MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION", "no TLS version in common with the broker", F("TLS_VERSION_MISMATCH") },
	{ 0x6E00, "MBEDTLS_ERR_SSL_BAD_HS_NEW_SESSION_TICKET", "a NewSessionTicket could not be processed", "MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE", "the handshake negotiation failed: no cipher suite, curve or signature algorithm in common", F("NO_SHARED_CIPHER") },
	{ 0x6D80, "MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED", "a session ticket expired", SAME, F(NULL) },
	{ 0x6D00, "MBEDTLS_ERR_SSL_PK_TYPE_MISMATCH", "the key type does not fit the cipher suite (e.g. RSA suites with an EC certificate)", SAME, F("NO_SHARED_CIPHER") },
	{ 0x6C80, "MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY", "unknown PSK identity", SAME, F(NULL) },
	{ 0x6C00, "MBEDTLS_ERR_SSL_INTERNAL_ERROR", "an internal error in mbedTLS", SAME, F(NULL) },
	{ 0x6A00, "MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL", "a TLS buffer is too small for a message (raise the TLS buffer sizes)", SAME, F(NULL) },
	{ 0x6980, "MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE", "none of the common cipher suites is usable with the certificates configured", NULL, "unused in mbedTLS 3.x", F("NO_SHARED_CIPHER") },
	{ 0x6900, "MBEDTLS_ERR_SSL_WANT_READ", "not an error: the socket has no data yet", SAME, F(NULL) },
	{ 0x6880, "MBEDTLS_ERR_SSL_WANT_WRITE", "not an error: the socket cannot take data yet", SAME, F(NULL) },
	{ 0x6800, "MBEDTLS_ERR_SSL_TIMEOUT", "the handshake timed out: the broker stopped answering", SAME, F("TCP_TIMEOUT") },
	{ 0x6700, "MBEDTLS_ERR_SSL_UNEXPECTED_RECORD", "a record arrived that was not expected", SAME, F(NULL) },
	{ 0x6680, "MBEDTLS_ERR_SSL_NON_FATAL", "a warning-level alert arrived", SAME, F(NULL) },
	{ 0x6600, "MBEDTLS_ERR_SSL_INVALID_VERIFY_HASH", "the hash for CertificateVerify could not be set", "MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER", "a handshake field had an illegal value", F(NULL) },
	{ 0x5F00, "MBEDTLS_ERR_SSL_VERSION_MISMATCH", "an operation failed because of an unexpected version or configuration", SAME, F(NULL) },
	{ 0x5E80, "MBEDTLS_ERR_SSL_BAD_CONFIG", "an invalid value in the SSL configuration (e.g. min version above max)", SAME, F(NULL) },
	/* X509 */
	{ 0x2080, "MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE", "a certificate uses a feature this build does not support", SAME, F(NULL) },
	{ 0x2100, "MBEDTLS_ERR_X509_UNKNOWN_OID", "an unknown OID in a certificate", SAME, F(NULL) },
	{ 0x2180, "MBEDTLS_ERR_X509_INVALID_FORMAT", "a certificate could not be parsed — a broken PEM string in the sketch: lines without \\n, a missing BEGIN/END line, or a certificate pasted incompletely", SAME, F("CAFILE_INVALID", "CLIENT_CERT_INVALID") },
	{ 0x2200, "MBEDTLS_ERR_X509_INVALID_VERSION", "a certificate has an invalid version field", SAME, F(NULL) },
	{ 0x2280, "MBEDTLS_ERR_X509_INVALID_SERIAL", "a certificate has an invalid serial number", SAME, F(NULL) },
	{ 0x2300, "MBEDTLS_ERR_X509_INVALID_ALG", "a certificate's algorithm identifier is invalid", SAME, F(NULL) },
	{ 0x2380, "MBEDTLS_ERR_X509_INVALID_NAME", "a certificate's name is invalid", SAME, F(NULL) },
	{ 0x2400, "MBEDTLS_ERR_X509_INVALID_DATE", "a certificate's validity dates cannot be parsed", SAME, F(NULL) },
	{ 0x2480, "MBEDTLS_ERR_X509_INVALID_SIGNATURE", "a certificate's signature field is invalid", SAME, F(NULL) },
	{ 0x2500, "MBEDTLS_ERR_X509_INVALID_EXTENSIONS", "a certificate's extensions cannot be parsed", SAME, F(NULL) },
	{ 0x2580, "MBEDTLS_ERR_X509_UNKNOWN_VERSION", "a certificate has an unsupported version", SAME, F(NULL) },
	{ 0x2600, "MBEDTLS_ERR_X509_UNKNOWN_SIG_ALG", "a certificate's signature algorithm is not supported by this build", SAME, F(NULL) },
	{ 0x2680, "MBEDTLS_ERR_X509_SIG_MISMATCH", "a certificate's two signature algorithm fields differ", SAME, F(NULL) },
	{ 0x2700, "MBEDTLS_ERR_X509_CERT_VERIFY_FAILED", "the device rejected the broker's certificate; the verify flags (or the alert the broker logged) say why: 0x04 name not in the SAN, 0x08 CA not trusted, 0x01 expired",
	  SAME, F("WRONG_CA", "HOSTNAME_MISMATCH", "IP_NOT_IN_SAN", "CERT_EXPIRED") },
	{ 0x2780, "MBEDTLS_ERR_X509_CERT_UNKNOWN_FORMAT", "a certificate is neither DER nor PEM", SAME, F("CAFILE_INVALID", "CLIENT_CERT_INVALID") },
	{ 0x2800, "MBEDTLS_ERR_X509_BAD_INPUT_DATA", "invalid input to the X.509 parser (an empty or NULL certificate string)", SAME, F("CAFILE_INVALID") },
	{ 0x2880, "MBEDTLS_ERR_X509_ALLOC_FAILED", "out of memory while parsing a certificate", SAME, F(NULL) },
	{ 0x2900, "MBEDTLS_ERR_X509_FILE_IO_ERROR", "a certificate file could not be read", SAME, F("CAFILE_INVALID") },
	{ 0x2980, "MBEDTLS_ERR_X509_BUFFER_TOO_SMALL", "a buffer is too small", SAME, F(NULL) },
	{ 0x3000, "MBEDTLS_ERR_X509_FATAL_ERROR", "a fatal verification error, e.g. a chain longer than MBEDTLS_X509_MAX_INTERMEDIATE_CA", SAME, F(NULL) },
	/* PK */
	{ 0x3F80, "MBEDTLS_ERR_PK_ALLOC_FAILED", "out of memory while loading a key", SAME, F(NULL) },
	{ 0x3F00, "MBEDTLS_ERR_PK_TYPE_MISMATCH", "the key type does not fit its use (e.g. an RSA key with an EC certificate)", SAME, F("CLIENT_KEY_MISMATCH") },
	{ 0x3E80, "MBEDTLS_ERR_PK_BAD_INPUT_DATA", "invalid input to the key parser", SAME, F("CLIENT_CERT_INVALID") },
	{ 0x3E00, "MBEDTLS_ERR_PK_FILE_IO_ERROR", "a key file could not be read", SAME, F("CLIENT_CERT_INVALID") },
	{ 0x3D80, "MBEDTLS_ERR_PK_KEY_INVALID_VERSION", "the key has an unsupported version", SAME, F("CLIENT_CERT_INVALID") },
	{ 0x3D00, "MBEDTLS_ERR_PK_KEY_INVALID_FORMAT", "the private key could not be parsed: a broken PEM string, a certificate pasted where the key belongs, or an encrypted key", SAME, F("CLIENT_CERT_INVALID") },
	{ 0x3C80, "MBEDTLS_ERR_PK_UNKNOWN_PK_ALG", "the key algorithm is not supported (only RSA and EC)", SAME, F("CLIENT_CERT_INVALID") },
	{ 0x3C00, "MBEDTLS_ERR_PK_PASSWORD_REQUIRED", "the key is encrypted and no password was given — use an unencrypted key (openssl ... -nodes / -noenc)", SAME, F("CLIENT_CERT_INVALID") },
	{ 0x3B80, "MBEDTLS_ERR_PK_PASSWORD_MISMATCH", "the key's password is wrong", SAME, F("CLIENT_CERT_INVALID") },
	{ 0x3B00, "MBEDTLS_ERR_PK_INVALID_PUBKEY", "the public key is invalid", SAME, F(NULL) },
	{ 0x3A80, "MBEDTLS_ERR_PK_INVALID_ALG", "the key's algorithm identifier is invalid", SAME, F(NULL) },
	{ 0x3A00, "MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE", "the key's elliptic curve is not supported by this build", SAME, F(NULL) },
	{ 0x3980, "MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE", "the key type is disabled in this build", SAME, F(NULL) },
	{ 0x3900, "MBEDTLS_ERR_PK_SIG_LEN_MISMATCH", "a signature has trailing data", SAME, F(NULL) },
	/* PEM */
	{ 0x1080, "MBEDTLS_ERR_PEM_NO_HEADER_FOOTER_PRESENT", "no '-----BEGIN' / '-----END' lines found: the string in the sketch is not PEM (DER bytes, or the header was cut off)", SAME, F("CAFILE_INVALID", "CLIENT_CERT_INVALID") },
	{ 0x1100, "MBEDTLS_ERR_PEM_INVALID_DATA", "the PEM body is damaged (stray characters, missing line breaks)", SAME, F("CAFILE_INVALID", "CLIENT_CERT_INVALID") },
	{ 0x1180, "MBEDTLS_ERR_PEM_ALLOC_FAILED", "out of memory while decoding PEM", SAME, F(NULL) },
	{ 0x1200, "MBEDTLS_ERR_PEM_INVALID_ENC_IV", "the encrypted PEM key has a bad IV", SAME, F(NULL) },
	{ 0x1280, "MBEDTLS_ERR_PEM_UNKNOWN_ENC_ALG", "the PEM key is encrypted with an unknown algorithm", SAME, F(NULL) },
	{ 0x1300, "MBEDTLS_ERR_PEM_PASSWORD_REQUIRED", "the PEM key is encrypted and needs a password", SAME, F("CLIENT_CERT_INVALID") },
	{ 0x1380, "MBEDTLS_ERR_PEM_PASSWORD_MISMATCH", "the PEM key's password is wrong", SAME, F("CLIENT_CERT_INVALID") },
	{ 0x1400, "MBEDTLS_ERR_PEM_FEATURE_UNAVAILABLE", "PEM decoding is disabled in this build", SAME, F(NULL) },
	{ 0x1480, "MBEDTLS_ERR_PEM_BAD_INPUT_DATA", "invalid input to the PEM decoder", SAME, F(NULL) },
};

/* Low-level modules: these are added to a high-level code (e.g. -0x2180 - 0x62 = -0x21E2). */
static const struct mbed_row mbed_low[] = {
	{ 0x01, "MBEDTLS_ERR_ERROR_GENERIC_ERROR", "a generic error", SAME, F(NULL) },
	{ 0x2A, "MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL", "base64 output buffer too small", SAME, F(NULL) },
	{ 0x2C, "MBEDTLS_ERR_BASE64_INVALID_CHARACTER", "a character that is not base64 in the PEM body (a stray quote, space or missing \\n in the sketch's string)", SAME, F("CAFILE_INVALID", "CLIENT_CERT_INVALID") },
	{ 0x42, "MBEDTLS_ERR_NET_SOCKET_FAILED", "a socket could not be opened", SAME, F(NULL) },
	{ 0x44, "MBEDTLS_ERR_NET_CONNECT_FAILED", "the TCP connection to the broker failed (refused, or no route)", SAME, F("TCP_REFUSED", "TCP_TIMEOUT") },
	{ 0x4C, "MBEDTLS_ERR_NET_RECV_FAILED", "reading from the socket failed", SAME, F(NULL) },
	{ 0x4E, "MBEDTLS_ERR_NET_SEND_FAILED", "writing to the socket failed", SAME, F(NULL) },
	{ 0x50, "MBEDTLS_ERR_NET_CONN_RESET", "the broker reset the connection — during the handshake, the broker rejected the device (its log says why) or the port is not TLS", SAME, F("CLIENT_CERT_REJECTED", "NOT_TLS") },
	{ 0x52, "MBEDTLS_ERR_NET_UNKNOWN_HOST", "the broker's host name did not resolve", SAME, F("DNS_FAILED") },
	{ 0x60, "MBEDTLS_ERR_ASN1_OUT_OF_DATA", "the DER data ended too early (a truncated certificate or key)", SAME, F(NULL) },
	{ 0x62, "MBEDTLS_ERR_ASN1_UNEXPECTED_TAG", "the DER data has an unexpected tag (not a certificate, or the wrong kind of object)", SAME, F(NULL) },
	{ 0x64, "MBEDTLS_ERR_ASN1_INVALID_LENGTH", "a DER length is invalid (truncated or corrupt)", SAME, F(NULL) },
	{ 0x66, "MBEDTLS_ERR_ASN1_LENGTH_MISMATCH", "DER lengths do not match", SAME, F(NULL) },
	{ 0x68, "MBEDTLS_ERR_ASN1_INVALID_DATA", "DER data is invalid", SAME, F(NULL) },
	{ 0x6A, "MBEDTLS_ERR_ASN1_ALLOC_FAILED", "out of memory while parsing DER", SAME, F(NULL) },
	{ 0x6E, "MBEDTLS_ERR_ERROR_CORRUPTION_DETECTED", "an internal consistency check failed", SAME, F(NULL) },
};
#undef SAME

static const struct mbed_row *mbed_find(const struct mbed_row *tab, size_t n, unsigned mag)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i].mag == mag)
			return &tab[i];
	return NULL;
}

char *explain_mbedtls_format(int code, char *buf, size_t size)
{
	unsigned mag = code < 0 ? (unsigned)-code : (unsigned)code;
	const struct mbed_row *r = mbed_find(mbed_rows, MQ_ARRAY_LEN(mbed_rows), mag);

	if (!r)
		r = mbed_find(mbed_low, MQ_ARRAY_LEN(mbed_low), mag);
	snprintf(buf, size, "-0x%04X (%d)%s%s", mag, -(int)mag, r ? " " : "", r ? r->name2 ? r->name2 : r->name3 : "");
	return buf;
}

static void mbed_describe(const struct mbed_row *r, struct mq_str *meaning, struct mq_str *detail, const char **name)
{
	if (r->name2 && !r->name3 && !r->mean3) {
		mq_str_printf(meaning, "%s", r->mean2);
		*name = r->name2;
	} else if (r->name2 && r->name3) {
		mq_str_printf(meaning, "mbedTLS 3.x (ESP-IDF 5.x, Arduino-ESP32 3.x): %s. mbedTLS 2.x (ESP-IDF 4.x, Arduino-ESP32 2.x): %s",
			      r->mean3, r->mean2);
		mq_str_printf(detail, "The two mbedTLS generations give this number different meanings (%s in 3.x, %s in 2.x): "
			      "check which ESP-IDF or Arduino-ESP32 version the device runs.", r->name3, r->name2);
		*name = r->name3;
	} else if (r->name2) {
		mq_str_printf(meaning, "mbedTLS 2.x (ESP-IDF 4.x, Arduino-ESP32 2.x): %s. mbedTLS 3.x does not use this number", r->mean2);
		*name = r->name2;
	} else {
		mq_str_printf(meaning, "%s", r->mean3);
		*name = r->name3;
	}
}

static bool add_mbedtls(struct scan *s, long long v, bool guess, size_t at, size_t end)
{
	unsigned mag = v < 0 ? (unsigned)(-v) : (unsigned)v;
	unsigned high = mag & 0xFF80, low = mag & 0x7F;
	const struct mbed_row *hr = high ? mbed_find(mbed_rows, MQ_ARRAY_LEN(mbed_rows), high) : NULL;
	const struct mbed_row *lr = low ? mbed_find(mbed_low, MQ_ARRAY_LEN(mbed_low), low) : NULL;
	struct mq_str meaning = { 0 }, detail = { 0 };
	const char *name = NULL;
	char code[48];
	struct explain_item *it;
	const char *const *fs = NULL;

	if (mag == 0 || mag > 0x7FFF || (high && !hr) || (low && !lr))
		return false;
	snprintf(code, sizeof code, "-0x%04X", mag);
	if (hr) {
		mbed_describe(hr, &meaning, &detail, &name);
		fs = hr->findings;
	}
	if (lr) {
		const char *lname = lr->name2;
		if (hr)
			mq_str_printf(&meaning, ", caused by %s (-0x%04X): %s", lname, low, lr->mean2);
		else
			mq_str_printf(&meaning, "%s", lr->mean2);
		if (!hr) {
			name = lname;
			fs = lr->findings;
		}
	}
	mq_str_printf(&meaning, ".");
	mq_str_printf(&detail, "%sAn ESP32 prints the same code as %d (Arduino's decimal), -0x%04X (esp-tls) or 0x%04X (esp-mqtt's 'tls stack error').",
		      detail.len ? " " : "", -(int)mag, mag, mag);
	if (hr && hr->mag == 0x2700)
		mq_str_printf(&detail, " The broker's log shows the alert the device sent: 42 bad_certificate = name mismatch, 48 unknown_ca = untrusted CA, 45 certificate_expired, 43 unsupported_certificate = wrong key usage.");
	it = add_item(s->r, EXPLAIN_MBEDTLS, code, name, meaning.s, detail.s, s->text + at, end - at, fs);
	if (it)
		it->guess = guess;
	mq_str_free(&meaning);
	mq_str_free(&detail);
	return true;
}

/* mbedTLS verify flags (x509.h MBEDTLS_X509_BADCERT_*) */
struct flag_row {
	unsigned bit;
	const char *name;
	const char *meaning;
	const char *info;      /* the sentence mbedtls_x509_crt_verify_info() prints, to recognise it */
	const char *finding;
};

static const struct flag_row flag_rows[] = {
	{ 0x01, "MBEDTLS_X509_BADCERT_EXPIRED", "the certificate has expired (by the device's clock)", "The certificate validity has expired", "CERT_EXPIRED" },
	{ 0x02, "MBEDTLS_X509_BADCERT_REVOKED", "the certificate is revoked (on a CRL)", "The certificate has been revoked", NULL },
	{ 0x04, "MBEDTLS_X509_BADCERT_CN_MISMATCH", "the name the device connected to is not in the certificate (mbedTLS before 3.5 matches only DNS SANs — IP SANs are ignored — and looks at the CN only when there is no SAN)", "The certificate Common Name (CN) does not match with the expected CN", "HOSTNAME_MISMATCH" },
	{ 0x08, "MBEDTLS_X509_BADCERT_NOT_TRUSTED", "the chain does not lead to the CA given to setCACert() (wrong CA, self-signed broker, or missing intermediate)", "The certificate is not correctly signed by the trusted CA", "WRONG_CA" },
	{ 0x10, "MBEDTLS_X509_BADCRL_NOT_TRUSTED", "the CRL is not signed by the trusted CA", "The CRL is not correctly signed by the trusted CA", NULL },
	{ 0x20, "MBEDTLS_X509_BADCRL_EXPIRED", "the CRL has expired", "The CRL is expired", NULL },
	{ 0x40, "MBEDTLS_X509_BADCERT_MISSING", "the broker sent no certificate", "Certificate was missing", NULL },
	{ 0x80, "MBEDTLS_X509_BADCERT_SKIP_VERIFY", "verification was skipped (setInsecure())", "Certificate verification was skipped", "INSECURE_VERIFY_OFF" },
	{ 0x100, "MBEDTLS_X509_BADCERT_OTHER", "rejected by the application's own verify callback (e.g. pinning)", "Other reason (can be used by verify callback)", NULL },
	{ 0x200, "MBEDTLS_X509_BADCERT_FUTURE", "the certificate is not valid yet by the device's clock (clock not set, or a brand-new certificate)", "The certificate validity starts in the future", "CERT_NOT_YET_VALID" },
	{ 0x400, "MBEDTLS_X509_BADCRL_FUTURE", "the CRL is not valid yet", "The CRL validity starts in the future", NULL },
	{ 0x800, "MBEDTLS_X509_BADCERT_KEY_USAGE", "the key usage does not allow this use", "Usage does not match the keyUsage extension", "SERVER_CERT_WRONG_PURPOSE" },
	{ 0x1000, "MBEDTLS_X509_BADCERT_EXT_KEY_USAGE", "the extended key usage does not allow TLS server use", "Usage does not match the extendedKeyUsage extension", "SERVER_CERT_WRONG_PURPOSE" },
	{ 0x2000, "MBEDTLS_X509_BADCERT_NS_CERT_TYPE", "the Netscape cert type does not allow this use", "Usage does not match the nsCertType extension", NULL },
	{ 0x4000, "MBEDTLS_X509_BADCERT_BAD_MD", "signed with a hash the device refuses (e.g. SHA-1)", "The certificate is signed with an unacceptable hash", "WEAK_TLS" },
	{ 0x8000, "MBEDTLS_X509_BADCERT_BAD_PK", "signed with a key type the device refuses", "The certificate is signed with an unacceptable PK alg", NULL },
	{ 0x10000, "MBEDTLS_X509_BADCERT_BAD_KEY", "signed with a key the device refuses (bad curve, RSA too short)", "The certificate is signed with an unacceptable key", "WEAK_TLS" },
};

static void add_flags(struct scan *s, unsigned long flags, size_t at, size_t end)
{
	struct mq_str meaning = { 0 }, detail = { 0 };
	const char *fs[EXPLAIN_MAX_FINDINGS + 1] = { 0 };
	size_t nf = 0;
	char code[32];
	int alert;

	if (flags == 0 || flags > 0x7FFFF)
		return;
	snprintf(code, sizeof code, "flags 0x%lX", flags);
	mq_str_printf(&meaning, "mbedTLS verify flags 0x%lX:", flags);
	for (size_t i = 0; i < MQ_ARRAY_LEN(flag_rows); i++) {
		if (!(flags & flag_rows[i].bit))
			continue;
		mq_str_printf(&meaning, " %s (0x%X) — %s;", flag_rows[i].name, flag_rows[i].bit, flag_rows[i].meaning);
		if (flag_rows[i].finding && nf < EXPLAIN_MAX_FINDINGS)
			fs[nf++] = flag_rows[i].finding;
	}
	meaning.s[meaning.len - 1] = '.';
	alert = explain_mbedtls_alert_for_flags((unsigned)flags);
	mq_str_printf(&detail, "An mbedTLS device rejecting the broker with these flags sends alert %d %s, which the broker logs as "
		      "'OpenSSL Error[0]: error:0A%06X'.", alert, explain_alert_name(alert), 1000 + alert);
	add_item(s->r, EXPLAIN_MBEDTLS_FLAGS, code, NULL, meaning.s, detail.s, s->text + at, end - at, fs);
	mq_str_free(&meaning);
	mq_str_free(&detail);
}

static void scan_verify_info(struct scan *s)
{
	unsigned long flags = 0;
	size_t first = (size_t)-1;

	for (size_t i = 0; i < MQ_ARRAY_LEN(flag_rows); i++) {
		size_t at = find_ci(s, flag_rows[i].info, 0);
		if (at != (size_t)-1) {
			flags |= flag_rows[i].bit;
			if (at < first)
				first = at;
		}
	}
	if (flags)
		add_flags(s, flags, line_start(s, first), line_end(s, first));
}

/* ---------------------------------------------------------------- esp-tls */

struct esp_row {
	const char *name;
	unsigned v4, v5;          /* 0: not in that generation */
	const char *meaning;
	const char *findings[EXPLAIN_MAX_FINDINGS + 1];
};

/* Numbers from esp_tls_errors.h: ESP-IDF 4.3/4.4 and 5.x (the 5.x list was renumbered). */
static const struct esp_row esp_rows[] = {
	{ "ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME", 0x8001, 0x8001, "the broker's host name did not resolve (DNS)", F("DNS_FAILED") },
	{ "ESP_ERR_ESP_TLS_CANNOT_CREATE_SOCKET", 0x8002, 0x8002, "no socket could be created (too many open connections?)", F(NULL) },
	{ "ESP_ERR_ESP_TLS_UNSUPPORTED_PROTOCOL_FAMILY", 0x8003, 0x8003, "unsupported address family", F(NULL) },
	{ "ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST", 0x8004, 0x8004, "the TCP connection failed: nothing listens on that port (refused) or the host is unreachable", F("TCP_REFUSED", "TCP_TIMEOUT") },
	{ "ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED", 0x8005, 0x8005, "a socket option could not be set", F(NULL) },
	{ "ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT", 0x8012, 0x8006, "the connection timed out: no answer from the broker (wrong IP, firewall drop, other subnet)", F("TCP_TIMEOUT") },
	{ "ESP_ERR_ESP_TLS_SE_FAILED", 0x801B, 0x8007, "the secure element (ATECC608) failed", F(NULL) },
	{ "ESP_ERR_ESP_TLS_TCP_CLOSED_FIN", 0x801C, 0x8008, "the broker closed the TCP connection", F(NULL) },
	{ "ESP_ERR_ESP_TLS_SERVER_HANDSHAKE_TIMEOUT", 0, 0x8009, "(server mode, later 5.x) the client did not finish the handshake in time", F(NULL) },
	{ "ESP_ERR_MBEDTLS_CERT_PARTLY_OK", 0x8006, 0x8010, "some certificates in the CA bundle/string could not be parsed", F("CAFILE_INVALID") },
	{ "ESP_ERR_MBEDTLS_CTR_DRBG_SEED_FAILED", 0x8007, 0x8011, "the random generator could not be seeded", F(NULL) },
	{ "ESP_ERR_MBEDTLS_SSL_SET_HOSTNAME_FAILED", 0x8008, 0x8012, "the host name for SNI/verification could not be set", F(NULL) },
	{ "ESP_ERR_MBEDTLS_SSL_CONFIG_DEFAULTS_FAILED", 0x8009, 0x8013, "the TLS configuration defaults could not be loaded", F(NULL) },
	{ "ESP_ERR_MBEDTLS_SSL_CONF_ALPN_PROTOCOLS_FAILED", 0x800A, 0x8014, "ALPN could not be configured", F(NULL) },
	{ "ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED", 0x800B, 0x8015, "a certificate (CA or client) given to esp-tls could not be parsed — a broken PEM string, or a missing terminating NUL (PEM length must include it)", F("CAFILE_INVALID", "CLIENT_CERT_INVALID") },
	{ "ESP_ERR_MBEDTLS_SSL_CONF_OWN_CERT_FAILED", 0x800C, 0x8016, "the client certificate and key could not be set together (key does not match the certificate?)", F("CLIENT_KEY_MISMATCH") },
	{ "ESP_ERR_MBEDTLS_SSL_SETUP_FAILED", 0x800D, 0x8017, "the TLS session could not be set up (often out of memory)", F(NULL) },
	{ "ESP_ERR_MBEDTLS_SSL_WRITE_FAILED", 0x800E, 0x8018, "writing to the TLS connection failed", F(NULL) },
	{ "ESP_ERR_MBEDTLS_PK_PARSE_KEY_FAILED", 0x800F, 0x8019, "the client private key could not be parsed", F("CLIENT_CERT_INVALID") },
	{ "ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED", 0x8010, 0x801A, "the TLS handshake failed — the mbedTLS code logged with it (e.g. -0x2700) and the verify flags say why", F("WRONG_CA", "HOSTNAME_MISMATCH", "CLIENT_CERT_REQUIRED", "TLS_VERSION_MISMATCH") },
	{ "ESP_ERR_MBEDTLS_SSL_CONF_PSK_FAILED", 0x8011, 0x801B, "the PSK could not be configured", F(NULL) },
	{ "ESP_ERR_MBEDTLS_SSL_TICKET_SETUP_FAILED", 0, 0x801C, "session tickets could not be set up", F(NULL) },
	{ "ESP_ERR_WOLFSSL_SSL_SET_HOSTNAME_FAILED", 0x8013, 0x8031, "(wolfSSL builds) the host name could not be set", F(NULL) },
	{ "ESP_ERR_WOLFSSL_SSL_CONF_ALPN_PROTOCOLS_FAILED", 0x8014, 0x8032, "(wolfSSL builds) ALPN could not be configured", F(NULL) },
	{ "ESP_ERR_WOLFSSL_CERT_VERIFY_SETUP_FAILED", 0x8015, 0x8033, "(wolfSSL builds) certificate verification could not be set up", F(NULL) },
	{ "ESP_ERR_WOLFSSL_KEY_VERIFY_SETUP_FAILED", 0x8016, 0x8034, "(wolfSSL builds) the key could not be set up", F(NULL) },
	{ "ESP_ERR_WOLFSSL_SSL_HANDSHAKE_FAILED", 0x8017, 0x8035, "(wolfSSL builds) the TLS handshake failed", F(NULL) },
	{ "ESP_ERR_WOLFSSL_CTX_SETUP_FAILED", 0x8018, 0x8036, "(wolfSSL builds) the TLS context could not be set up", F(NULL) },
	{ "ESP_ERR_WOLFSSL_SSL_SETUP_FAILED", 0x8019, 0x8037, "(wolfSSL builds) the TLS session could not be set up", F(NULL) },
	{ "ESP_ERR_WOLFSSL_SSL_WRITE_FAILED", 0x801A, 0x8038, "(wolfSSL builds) writing failed", F(NULL) },
};

char *explain_esptls_format(enum explain_esptls_what what, char *buf, size_t size)
{
	static const char *const names[] = {
		[EXPLAIN_ESPTLS_RESOLVE] = "ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME",
		[EXPLAIN_ESPTLS_CONNECT] = "ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST",
		[EXPLAIN_ESPTLS_TIMEOUT] = "ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT",
		[EXPLAIN_ESPTLS_HANDSHAKE] = "ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED",
		[EXPLAIN_ESPTLS_X509_PARSE] = "ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED",
		[EXPLAIN_ESPTLS_KEY_PARSE] = "ESP_ERR_MBEDTLS_PK_PARSE_KEY_FAILED",
	};
	for (size_t i = 0; i < MQ_ARRAY_LEN(esp_rows); i++) {
		const struct esp_row *e = &esp_rows[i];
		if (strcmp(e->name, names[what]))
			continue;
		if (e->v4 == e->v5)
			snprintf(buf, size, "%s (0x%X)", e->name, e->v5);
		else
			snprintf(buf, size, "%s (0x%X on ESP-IDF 5.x, 0x%X on 4.x)", e->name, e->v5, e->v4);
		return buf;
	}
	snprintf(buf, size, "%s", names[what]);
	return buf;
}

static bool add_esptls(struct scan *s, unsigned v, bool guess, size_t at, size_t end)
{
	const struct esp_row *r5 = NULL, *r4 = NULL;
	struct mq_str meaning = { 0 }, detail = { 0 };
	const char *fs[EXPLAIN_MAX_FINDINGS + 1] = { 0 };
	char code[16];
	struct explain_item *it;

	for (size_t i = 0; i < MQ_ARRAY_LEN(esp_rows); i++) {
		if (esp_rows[i].v5 == v)
			r5 = &esp_rows[i];
		if (esp_rows[i].v4 == v)
			r4 = &esp_rows[i];
	}
	if (!r5 && !r4)
		return false;
	snprintf(code, sizeof code, "0x%X", v);
	if (r5 && r4 == r5) {
		mq_str_printf(&meaning, "%s: %s (the same number on ESP-IDF 4.x and 5.x).", r5->name, r5->meaning);
	} else {
		if (r5)
			mq_str_printf(&meaning, "On ESP-IDF 5.x: %s — %s.", r5->name, r5->meaning);
		if (r4)
			mq_str_printf(&meaning, "%sOn ESP-IDF 4.x: %s — %s.", meaning.len ? " " : "", r4->name, r4->meaning);
		else
			mq_str_printf(&meaning, " ESP-IDF 4.x has no code 0x%X.", v);
		if (!r5)
			mq_str_printf(&meaning, " ESP-IDF 5.x has no code 0x%X.", v);
		mq_str_printf(&detail, "esp-tls was renumbered in ESP-IDF 5.0: check which version the firmware was built with "
			      "(Arduino-ESP32 2.x is ESP-IDF 4.4, 3.x is ESP-IDF 5.x).");
	}
	const struct esp_row *pick = r5 ? r5 : r4;
	for (size_t i = 0; pick->findings[i] && i < EXPLAIN_MAX_FINDINGS; i++)
		fs[i] = pick->findings[i];
	it = add_item(s->r, EXPLAIN_ESPTLS, code, pick->name, meaning.s, detail.s, s->text + at, end - at, fs);
	if (it)
		it->guess = guess;
	mq_str_free(&meaning);
	mq_str_free(&detail);
	return true;
}

static void scan_esp_names(struct scan *s)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(esp_rows); i++) {
		size_t at = find_ci(s, esp_rows[i].name, 0);
		char meaning[512], code[48];
		struct mq_str nums = { 0 };
		if (at == (size_t)-1)
			continue;
		if (esp_rows[i].v5)
			mq_str_printf(&nums, "0x%X on ESP-IDF 5.x", esp_rows[i].v5);
		if (esp_rows[i].v4)
			mq_str_printf(&nums, "%s0x%X on 4.x", nums.len ? ", " : "", esp_rows[i].v4);
		snprintf(meaning, sizeof meaning, "%s: %s (%s).", esp_rows[i].name, esp_rows[i].meaning, nums.s ? nums.s : "");
		snprintf(code, sizeof code, "0x%X", esp_rows[i].v5 ? esp_rows[i].v5 : esp_rows[i].v4);
		add_item(s->r, EXPLAIN_ESPTLS, code, esp_rows[i].name, meaning, NULL, s->text + at,
			 strlen(esp_rows[i].name), esp_rows[i].findings);
		mq_str_free(&nums);
	}
}

/* ---------------------------------------------------------------- PubSubClient, CONNACK, MQTT 5 */

struct small_row {
	int code;
	const char *name;
	const char *meaning;
	const char *findings[EXPLAIN_MAX_FINDINGS + 1];
};

static const struct small_row pubsub_rows[] = {
	{ -5, "MQTT_TLS_BAD_SERVER_CREDENTIALS", "only in old PubSubClient versions on ESP8266: the TLS fingerprint check failed (2.8 does not define it)", F("WRONG_CA") },
	{ -4, "MQTT_CONNECTION_TIMEOUT", "the broker did not answer in time (no CONNACK within the socket timeout, 15 s by default, or keepalive pings unanswered) — TLS worked but MQTT did not, or the connection stalled", F("TCP_TIMEOUT") },
	{ -3, "MQTT_CONNECTION_LOST", "the connection was up and then dropped (broker restart, network loss, a second device with the same client id kicking this one off)", F("CLIENT_ID_REJECTED") },
	{ -2, "MQTT_CONNECT_FAILED", "the network connection failed before MQTT started: DNS, TCP refused/unreachable, or any TLS failure (untrusted CA, name not in the SAN, expired, client certificate required) — PubSubClient cannot tell them apart. Print the WiFiClientSecure error (lastError()) or read the broker log for the real cause, or run mqttls diagnose against the broker",
	  F("TCP_REFUSED", "WRONG_CA", "IP_NOT_IN_SAN", "CLIENT_CERT_REQUIRED") },
	{ -1, "MQTT_DISCONNECTED", "not connected (disconnected cleanly, or connect() never called)", F(NULL) },
	{ 0, "MQTT_CONNECTED", "connected", F(NULL) },
	{ 1, "MQTT_CONNECT_BAD_PROTOCOL", "the broker refused the MQTT protocol version (CONNACK 1)", F(NULL) },
	{ 2, "MQTT_CONNECT_BAD_CLIENT_ID", "the broker refused the client id (CONNACK 2): empty, too long, or not allowed", F("CLIENT_ID_REJECTED") },
	{ 3, "MQTT_CONNECT_UNAVAILABLE", "the broker is unavailable (CONNACK 3)", F(NULL) },
	{ 4, "MQTT_CONNECT_BAD_CREDENTIALS", "the broker refused the username or password (CONNACK 4)", F("BAD_CREDENTIALS") },
	{ 5, "MQTT_CONNECT_UNAUTHORIZED", "the broker refused the client as not authorised (CONNACK 5): on Mosquitto 2.x usually no allow_anonymous and no credentials sent, or a certificate identity not allowed", F("ANONYMOUS_NOT_ALLOWED", "NOT_AUTHORIZED") },
};

static const struct small_row connack_rows[] = {
	{ 0, "Connection Accepted", "the broker accepted the connection", F(NULL) },
	{ 1, "unacceptable protocol version", "the broker does not speak the requested MQTT version", F(NULL) },
	{ 2, "identifier rejected", "the client id was refused (empty with clean session off, too long, or not allowed)", F("CLIENT_ID_REJECTED") },
	{ 3, "server unavailable", "the MQTT service is unavailable", F(NULL) },
	{ 4, "bad user name or password", "the username or password was refused (password_file)", F("BAD_CREDENTIALS") },
	{ 5, "not authorised", "the client is not authorised: on Mosquitto 2.x a listener without 'allow_anonymous true' refuses clients that send no username, and 'use_identity_as_username' refuses certificates it cannot map", F("ANONYMOUS_NOT_ALLOWED", "NOT_AUTHORIZED") },
};

static const struct small_row mqtt5_rows[] = {
	{ 0x00, "Success", "accepted", F(NULL) },
	{ 0x80, "Unspecified error", "refused without a specific reason", F(NULL) },
	{ 0x81, "Malformed Packet", "the CONNECT could not be parsed", F(NULL) },
	{ 0x82, "Protocol Error", "the CONNECT broke the protocol", F(NULL) },
	{ 0x83, "Implementation specific error", "refused for a broker-specific reason", F(NULL) },
	{ 0x84, "Unsupported Protocol Version", "the broker does not speak this MQTT version", F(NULL) },
	{ 0x85, "Client Identifier not valid", "the client id was refused", F("CLIENT_ID_REJECTED") },
	{ 0x86, "Bad User Name or Password", "the username or password was refused", F("BAD_CREDENTIALS") },
	{ 0x87, "Not authorized", "the client is not authorised (Mosquitto 2.x: no allow_anonymous and no credentials, or identity not allowed)", F("ANONYMOUS_NOT_ALLOWED", "NOT_AUTHORIZED") },
	{ 0x88, "Server unavailable", "the server is unavailable", F(NULL) },
	{ 0x89, "Server busy", "the server is busy; try later", F(NULL) },
	{ 0x8A, "Banned", "this client is banned", F("NOT_AUTHORIZED") },
	{ 0x8C, "Bad authentication method", "the authentication method is not supported", F("NOT_AUTHORIZED") },
	{ 0x8E, "Session taken over", "another connection with the same client id replaced this one", F("CLIENT_ID_REJECTED") },
	{ 0x8F, "Topic Filter invalid", "the topic filter is invalid", F(NULL) },
	{ 0x90, "Topic Name invalid", "the topic name is invalid", F(NULL) },
	{ 0x95, "Packet too large", "a packet exceeded the maximum size", F(NULL) },
	{ 0x97, "Quota exceeded", "a quota was exceeded", F(NULL) },
	{ 0x99, "Payload format invalid", "the payload does not match its format indicator", F(NULL) },
	{ 0x9A, "Retain not supported", "the broker does not support retained messages", F(NULL) },
	{ 0x9B, "QoS not supported", "the broker does not support this QoS", F(NULL) },
	{ 0x9C, "Use another server", "the client should use another server", F(NULL) },
	{ 0x9D, "Server moved", "the server has moved", F(NULL) },
	{ 0x9F, "Connection rate exceeded", "too many connection attempts", F(NULL) },
};

static const struct small_row *small_find(const struct small_row *t, size_t n, int code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return &t[i];
	return NULL;
}

static bool add_pubsub(struct scan *s, int v, bool guess, size_t at, size_t end)
{
	const struct small_row *r = small_find(pubsub_rows, MQ_ARRAY_LEN(pubsub_rows), v);
	char code[16], meaning[800];
	struct explain_item *it;

	if (!r)
		return false;
	snprintf(code, sizeof code, "rc=%d", v);
	snprintf(meaning, sizeof meaning, "PubSubClient state() %d (%s): %s.", v, r->name, r->meaning);
	it = add_item(s->r, EXPLAIN_PUBSUBCLIENT, code, r->name, meaning,
		      v == -2 ? "On an ESP32 the serial log from WiFiClientSecure (ssl_client) just before it names the mbedTLS code, e.g. '(-9984) X509 - Certificate verification failed'." : NULL,
		      s->text + at, end - at, r->findings);
	if (it)
		it->guess = guess;
	return true;
}

static bool add_connack(struct scan *s, int v, bool guess, size_t at, size_t end)
{
	char code[24], meaning[600];
	struct explain_item *it;

	if (v >= 0x80 || (v == 0 && !guess)) {
		const struct small_row *r = small_find(mqtt5_rows, MQ_ARRAY_LEN(mqtt5_rows), v);
		if (!r)
			return false;
		snprintf(code, sizeof code, "0x%02X", v);
		snprintf(meaning, sizeof meaning, "MQTT 5 reason code 0x%02X (%d) %s: %s.", v, v, r->name, r->meaning);
		it = add_item(s->r, EXPLAIN_MQTT5, code, r->name, meaning, NULL, s->text + at, end - at, r->findings);
	} else {
		const struct small_row *r = small_find(connack_rows, MQ_ARRAY_LEN(connack_rows), v);
		if (!r)
			return false;
		snprintf(code, sizeof code, "%d", v);
		snprintf(meaning, sizeof meaning, "MQTT 3.1.1 CONNACK return code %d (%s): %s.", v, r->name, r->meaning);
		it = add_item(s->r, EXPLAIN_CONNACK, code, r->name, meaning,
			      v ? "PubSubClient shows the same code as state() / rc=" : NULL, s->text + at, end - at, r->findings);
	}
	if (it)
		it->guess = guess;
	return true;
}

/* CONNACK 0 in a log or client line ("Sending CONNACK to X (0, 0)", "received CONNACK (0)"):
 * the MQTT connection itself worked. */
static void add_connack_accepted(struct scan *s, size_t at, size_t end)
{
	add_item(s->r, EXPLAIN_CONNACK, "0", "Connection Accepted",
		 "MQTT CONNACK return code 0 (Connection Accepted): the broker accepted this client: TLS, its certificate and the credentials all passed.",
		 "If the device still misbehaves, the trouble comes after the CONNACK: a publish the ACL drops ('Denied PUBLISH' in the broker log), "
		 "a keepalive the loop misses ('has exceeded timeout'), or two devices sharing one client id.",
		 s->text + at, end - at, (const char *const[]){ NULL });
}

/* ---------------------------------------------------------------- libmosquitto */

struct mosq_row {
	int code;
	const char *name;
	const char *meaning;
	const char *findings[EXPLAIN_MAX_FINDINGS + 1];
};

static const struct mosq_row mosq_rows[] = {
	{ 1, "MOSQ_ERR_NOMEM", "out of memory", F(NULL) },
	{ 2, "MOSQ_ERR_PROTOCOL", "the broker sent something that breaks the MQTT protocol — or a TLS client talked to a plain port and got garbage back", F("PLAINTEXT_PORT") },
	{ 3, "MOSQ_ERR_INVAL", "invalid arguments (a bad option value)", F(NULL) },
	{ 4, "MOSQ_ERR_NO_CONN", "not connected", F(NULL) },
	{ 5, "MOSQ_ERR_CONN_REFUSED", "the broker refused the connection in its CONNACK (the CONNACK code says why: not authorised, bad credentials, ...)", F("ANONYMOUS_NOT_ALLOWED", "BAD_CREDENTIALS", "NOT_AUTHORIZED") },
	{ 6, "MOSQ_ERR_NOT_FOUND", "internal: message not found", F(NULL) },
	{ 7, "MOSQ_ERR_CONN_LOST", "the broker closed the connection — e.g. plain MQTT sent to a TLS port (the broker logs 'wrong version number'), or the broker rejected the client", F("NOT_TLS") },
	{ 8, "MOSQ_ERR_TLS", "the TLS handshake failed; libmosquitto does not say why — the broker log (OpenSSL Error line) or mqttls diagnose does", F("WRONG_CA", "HOSTNAME_MISMATCH", "PLAINTEXT_PORT") },
	{ 9, "MOSQ_ERR_PAYLOAD_SIZE", "the payload is too large", F(NULL) },
	{ 10, "MOSQ_ERR_NOT_SUPPORTED", "the feature is not supported", F(NULL) },
	{ 11, "MOSQ_ERR_AUTH", "authentication failed", F("BAD_CREDENTIALS") },
	{ 12, "MOSQ_ERR_ACL_DENIED", "the ACL denies this publish or subscribe", F("ACL_DENIED") },
	{ 13, "MOSQ_ERR_UNKNOWN", "an unknown error", F(NULL) },
	{ 14, "MOSQ_ERR_ERRNO", "a system call failed; the text after it is the errno message (e.g. 'Connection refused' = nothing listens on that port)", F("TCP_REFUSED") },
	{ 15, "MOSQ_ERR_EAI", "the host name did not resolve ('Lookup error.')", F("DNS_FAILED") },
	{ 16, "MOSQ_ERR_PROXY", "a SOCKS proxy error", F(NULL) },
	{ 18, "MOSQ_ERR_MALFORMED_UTF8", "a topic or string is not valid UTF-8", F(NULL) },
	{ 19, "MOSQ_ERR_KEEPALIVE", "keepalive timeout", F(NULL) },
	{ 21, "MOSQ_ERR_MALFORMED_PACKET", "a malformed packet", F(NULL) },
	{ 22, "MOSQ_ERR_DUPLICATE_PROPERTY", "a property appears twice", F(NULL) },
	{ 23, "MOSQ_ERR_TLS_HANDSHAKE", "the TLS handshake failed (defined since 2.0; mosquitto_pub 2.0 usually reports the generic MOSQ_ERR_TLS instead)", F(NULL) },
	{ 24, "MOSQ_ERR_QOS_NOT_SUPPORTED", "the broker does not support the requested QoS", F(NULL) },
	{ 25, "MOSQ_ERR_OVERSIZE_PACKET", "a packet is larger than the broker accepts", F(NULL) },
	{ 26, "MOSQ_ERR_OCSP", "OCSP stapling check failed", F(NULL) },
	{ 27, "MOSQ_ERR_TIMEOUT", "timed out", F("TCP_TIMEOUT") },
};

static const struct mosq_row *mosq_find(int code)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(mosq_rows); i++)
		if (mosq_rows[i].code == code)
			return &mosq_rows[i];
	return NULL;
}

static bool add_mosq(struct scan *s, int v, bool guess, size_t at, size_t end)
{
	const struct mosq_row *r = mosq_find(v);
	char code[16], meaning[600];
	struct explain_item *it;

	if (!r)
		return false;
	snprintf(code, sizeof code, "%d", v);
	snprintf(meaning, sizeof meaning, "libmosquitto %s (%d, \"%s\"): %s.", r->name, v, mosquitto_strerror(v), r->meaning);
	it = add_item(s->r, EXPLAIN_MOSQ_ERR, code, r->name, meaning, NULL, s->text + at, end - at, r->findings);
	if (it)
		it->guess = guess;
	return true;
}

/* ---------------------------------------------------------------- mosquitto messages */

struct msg_row {
	const char *pattern;    /* case-insensitive substring */
	const char *family;
	const char *code;       /* a short stable label */
	const char *meaning;
	const char *detail;
	const char *findings[EXPLAIN_MAX_FINDINGS + 1];
};

static const struct msg_row msg_rows[] = {
	{ "disconnected: Protocol error", EXPLAIN_MOSQ_LOG, "log:tls-failed",
	  "Mosquitto 2.0.x writes this for every failed TLS handshake: it is strerror(EPROTO), not an MQTT protocol error. The 'OpenSSL Error[0]: error:…' line just before it names the real cause",
	  "Common pairs: 0A000418 unknown ca = the device does not trust the broker's CA; 0A000412 bad certificate = (from an ESP32) the host/IP is not in the certificate; 0A0000C7 = require_certificate and the device sent none; 0A000086 = the broker does not trust the device's certificate; 0A00010B wrong version number = the device sent plain MQTT to the TLS port.",
	  F("WRONG_CA", "IP_NOT_IN_SAN", "CLIENT_CERT_REQUIRED", "PLAINTEXT_PORT") },
	{ "disconnected due to protocol error", EXPLAIN_MOSQ_LOG, "log:mqtt-protocol-error",
	  "a real MQTT protocol violation: the bytes after the connection opened were not valid MQTT. On a plain (non-TLS) listener this is exactly what a TLS ClientHello looks like — a device using TLS against port 1883",
	  "Point the device at the TLS listener (8883), or give this listener certfile/keyfile.", F("PLAINTEXT_PORT") },
	{ "disconnected, not authorised", EXPLAIN_MOSQ_LOG, "log:not-authorised",
	  "the broker refused the client in its CONNACK (return code 5, or 135 in MQTT 5)",
	  "On Mosquitto 2.x a listener without 'allow_anonymous true' and without a password_file refuses every client that sends no username.",
	  F("ANONYMOUS_NOT_ALLOWED", "NOT_AUTHORIZED") },
	{ "Unable to load server key file", EXPLAIN_MOSQ_LOG, "log:key-load",
	  "the broker could not load its keyfile: the user mosquitto cannot read it (permissions, or a parent directory without x), the path is wrong, or the key does not match the certfile",
	  "The broker does not start, so every device sees 'connection refused' (PubSubClient rc=-2). mqttls lint-conf names the blocking path and the chmod/chown.", F("BROKER_CANNOT_READ_FILE", "CONF_KEY_CERT_MISMATCH") },
	{ "Unable to load server certificate", EXPLAIN_MOSQ_LOG, "log:cert-load",
	  "the broker could not load its certfile (unreadable by the user mosquitto, wrong path, or not PEM)", NULL, F("BROKER_CANNOT_READ_FILE") },
	{ "Unable to load CA certificates", EXPLAIN_MOSQ_LOG, "log:ca-load",
	  "the broker could not load its cafile/capath (unreadable by the user mosquitto, wrong path, or not PEM)", NULL, F("BROKER_CANNOT_READ_FILE") },
	{ "Starting in local only mode", EXPLAIN_MOSQ_LOG, "log:local-only",
	  "Mosquitto 2.x found no listener in its configuration and listens only on localhost: devices on the network are refused (PubSubClient rc=-2)",
	  "Add a 'listener 8883' block (with certfile/keyfile) to the configuration the broker actually loads.", F("TCP_REFUSED") },
	{ "Address already in use", EXPLAIN_MOSQ_LOG, "log:port-in-use",
	  "another process (often the packaged mosquitto service) already listens on that port; this broker did not start", NULL, F(NULL) },
	{ "has exceeded timeout, disconnecting", EXPLAIN_MOSQ_LOG, "log:keepalive",
	  "the client stopped sending within 1.5x its keepalive (the device's loop() is not called often enough, or the network dropped)", NULL, F(NULL) },
	{ "already connected, closing old connection", EXPLAIN_MOSQ_LOG, "log:duplicate-id",
	  "two clients use the same client id and keep kicking each other off (PubSubClient shows rc=-3 / connection lost)", "Give every device its own client id.", F("CLIENT_ID_REJECTED") },
	{ "Denied PUBLISH from", EXPLAIN_MOSQ_LOG, "log:acl-publish",
	  "the ACL does not allow this client to publish on that topic; MQTT 3.1.1 clients are not told, the message is silently dropped", NULL, F("ACL_DENIED") },
	{ "Unsupported tls_version", EXPLAIN_MOSQ_LOG, "log:tls-version",
	  "mosquitto 2.0 does not know this tls_version and exits: it takes one word, tlsv1.1, tlsv1.2 or tlsv1.3, the lowest version allowed — 'tls_version tlsv1.2 tlsv1.3' on one line is refused",
	  "Write 'tls_version tlsv1.2' (TLS 1.2 and 1.3 both stay allowed) and restart; until then every client sees 'connection refused' (PubSubClient rc=-2).",
	  F("CONF_INCONSISTENT", "TCP_REFUSED") },
	{ "Unable to open pwfile", EXPLAIN_MOSQ_LOG, "log:pwfile",
	  "mosquitto could not open its password_file (the user mosquitto cannot read it, or the path is wrong) and does not start",
	  "Every client sees 'connection refused' (PubSubClient rc=-2). chgrp mosquitto FILE; chmod 0640 FILE — mqttls lint-conf names the blocking path.",
	  F("BROKER_CANNOT_READ_FILE", "TCP_REFUSED") },
	{ "Unknown configuration variable", EXPLAIN_MOSQ_LOG, "log:conf-unknown",
	  "mosquitto stopped at an option it does not know (a typo, an option of another version, a comment that does not start the line) and does not start",
	  "The 'Error found at FILE:LINE.' line after it names the place; mqttls lint-conf FILE lists every such line at once.", F("CONF_INCONSISTENT") },
	{ "Error found at ", EXPLAIN_MOSQ_LOG, "log:conf-error-at",
	  "mosquitto stopped reading its configuration at this file and line and does not start: every client sees 'connection refused'",
	  "The log line before it says what is wrong there; mqttls lint-conf FILE checks the whole configuration.", F("CONF_INCONSISTENT", "TCP_REFUSED") },
	{ "Bad socket read/write on client", EXPLAIN_MOSQ_LOG, "log:socket",
	  "the connection failed at the socket level (the client vanished or reset the connection)", NULL, F(NULL) },
	{ "Failed to verify peer certificate", EXPLAIN_ESPTLS, "esp:verify-failed",
	  "esp-tls (ESP-IDF) rejected the broker's certificate; the 'verification info' line after it names the verify flag (CN mismatch, not trusted, expired)",
	  NULL, F("WRONG_CA", "HOSTNAME_MISMATCH", "CERT_EXPIRED") },
	{ "Failed to open new connection", EXPLAIN_ESPTLS, "esp:open-failed",
	  "esp-tls could not set up the connection to the broker; the esp-tls code and mbedTLS code logged with it say at which step", NULL, F(NULL) },
	{ "Error transport connect", EXPLAIN_ESPTLS, "esp-mqtt:transport",
	  "esp-mqtt could not connect its transport (TCP or TLS) to the broker; the esp-tls lines before it name the cause", NULL, F(NULL) },
	{ "host name verification failed", EXPLAIN_MOSQ_CLIENT, "client:hostname",
	  "the broker certificate does not name the host given with -h", "Connect with a name in the certificate's SAN, or re-issue the certificate with that name/IP.", F("HOSTNAME_MISMATCH", "IP_NOT_IN_SAN") },
	{ "Problem setting TLS options", EXPLAIN_MOSQ_CLIENT, "client:tls-options",
	  "mosquitto_pub/sub could not use a TLS option: a --cafile, --cert or --key file is missing or unreadable ('File not found.'), or --cert was given without --key", NULL, F("CAFILE_INVALID", "CLIENT_CERT_INVALID") },
	{ "Error: Protocol error", EXPLAIN_MOSQ_CLIENT, "client:eproto",
	  "mosquitto_pub/sub 2.0 print strerror(EPROTO) when the TLS connection fails after the handshake — with TLS 1.3 a broker that requires a client certificate (or does not trust it) says so only then",
	  "The broker log has the reason: 'peer did not return a certificate' (none sent) or 'certificate verify failed' (not trusted).", F("CLIENT_CERT_REQUIRED", "CLIENT_CERT_REJECTED") },
	{ "Unable to connect (", EXPLAIN_MOSQ_CLIENT, "client:unable",
	  "mosquitto_pub/sub failed while connecting; the text in parentheses is libmosquitto's error", NULL, F(NULL) },
};

static void scan_messages(struct scan *s)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(msg_rows); i++) {
		size_t at = find_cs(s, msg_rows[i].pattern, 0);
		char meaning[900];
		if (at == (size_t)-1)
			continue;
		snprintf(meaning, sizeof meaning, "%s.", msg_rows[i].meaning);
		add_item(s->r, msg_rows[i].family, msg_rows[i].code, NULL, meaning, msg_rows[i].detail,
			 s->text + line_start(s, at), line_end(s, at) - line_start(s, at), msg_rows[i].findings);
	}
	/* mosquitto_strerror() text: exactly what libmosquitto clients print. */
	for (int c = 1; c <= 31; c++) {
		const char *t = mosquitto_strerror(c);
		size_t at;
		if (!t || strlen(t) < 12 || !strncmp(t, "Unknown", 7) || !mosq_find(c))
			continue;
		if ((at = find_ci(s, t, 0)) != (size_t)-1)
			add_mosq(s, c, false, line_start(s, at), line_end(s, at));
	}
	/* CONNACK strings of mosquitto_pub: "Connection error: Connection Refused: not authorised." */
	for (int c = 1; c <= 5; c++) {
		size_t at = find_ci(s, mosquitto_connack_string(c), 0);
		if (at != (size_t)-1)
			add_connack(s, c, false, line_start(s, at), line_end(s, at));
	}
	for (size_t i = 0; i < MQ_ARRAY_LEN(mqtt5_rows); i++) {
		char pat[80];
		size_t at;
		if (mqtt5_rows[i].code < 0x80)
			continue;
		snprintf(pat, sizeof pat, "Connection error: %s", mosquitto_reason_string(mqtt5_rows[i].code));
		if ((at = find_ci(s, pat, 0)) != (size_t)-1)
			add_connack(s, mqtt5_rows[i].code, false, line_start(s, at), line_end(s, at));
	}
	/* MOSQ_ERR_* names. */
	for (size_t i = 0; i < MQ_ARRAY_LEN(mosq_rows); i++) {
		size_t at = find_ci(s, mosq_rows[i].name, 0);
		if (at != (size_t)-1 && (at + strlen(mosq_rows[i].name) == s->len || !is_word(s->text[at + strlen(mosq_rows[i].name)])))
			add_mosq(s, mosq_rows[i].code, false, at, at + strlen(mosq_rows[i].name));
	}
	/* "Sending CONNACK to X (session, code)". */
	for (size_t i = 0; (i = find_ci(s, "CONNACK to ", i)) != (size_t)-1; i++) {
		size_t p = i, e = line_end(s, i);
		const char *open = memchr(s->text + p, '(', e - p);
		int sp, rc;
		if (open && sscanf(open, "(%d, %d)", &sp, &rc) == 2 && rc > 0 && rc <= 255)
			add_connack(s, rc, false, line_start(s, i), e);
		else if (open && sscanf(open, "(%d, %d)", &sp, &rc) == 2 && rc == 0)
			add_connack_accepted(s, line_start(s, i), e);
	}
}

/* strerror() texts that every tool passes on (mosquitto_pub, esp-tls, Python, Node.js). */
static const struct msg_row errno_rows[] = {
	{ "Connection refused", EXPLAIN_ERRNO, "ECONNREFUSED",
	  "nothing accepts TCP connections on that host and port: the broker is not running, listens on another port or only on localhost ('Starting in local only mode'), or a firewall rejects",
	  "mosquitto_pub prints 'Error: Connection refused'; an ESP32 shows PubSubClient rc=-2 and esp-tls ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST.", F("TCP_REFUSED") },
	{ "Connection timed out", EXPLAIN_ERRNO, "ETIMEDOUT",
	  "no answer at all from that address: a wrong IP, a firewall that drops, or a host on another network", NULL, F("TCP_TIMEOUT") },
	{ "No route to host", EXPLAIN_ERRNO, "EHOSTUNREACH",
	  "the address cannot be reached: wrong IP, the host is down, or a firewall rejects with an ICMP error", NULL, F("TCP_TIMEOUT") },
	{ "Network is unreachable", EXPLAIN_ERRNO, "ENETUNREACH",
	  "no route to that network from here (wrong subnet, no default route)", NULL, F("TCP_TIMEOUT") },
	{ "Connection reset by peer", EXPLAIN_ERRNO, "ECONNRESET",
	  "the other side reset the connection — during TLS the broker rejected the client, or the port is not TLS", NULL, F("NOT_TLS", "CLIENT_CERT_REJECTED") },
	{ "Name or service not known", EXPLAIN_ERRNO, "EAI_NONAME",
	  "the host name does not resolve", "mosquitto_pub prints 'Lookup error.'; an ESP32 shows ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME.", F("DNS_FAILED") },
	{ "Temporary failure in name resolution", EXPLAIN_ERRNO, "EAI_AGAIN",
	  "the DNS server could not be reached to resolve the host name", NULL, F("DNS_FAILED") },
};

static void scan_errno(struct scan *s)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(errno_rows); i++) {
		size_t at = find_cs(s, errno_rows[i].pattern, 0);
		char meaning[600];
		if (at == (size_t)-1)
			continue;
		snprintf(meaning, sizeof meaning, "%s (%s): %s.", errno_rows[i].pattern, errno_rows[i].code, errno_rows[i].meaning);
		add_item(s->r, errno_rows[i].family, errno_rows[i].code, errno_rows[i].code, meaning, errno_rows[i].detail,
			 s->text + line_start(s, at), line_end(s, at) - line_start(s, at), errno_rows[i].findings);
	}
}

/* ---------------------------------------------------------------- names: X509, Node.js */

static void scan_names(struct scan *s)
{
	/* X509_V_ERR_NAME, and Node.js codes, which are the same names without the prefix. */
	for (size_t i = 0; i < MQ_ARRAY_LEN(x509_rows); i++) {
		const char *full = x509_rows[i].name, *shortn = full + strlen("X509_V_ERR_");
		size_t at = find_ci(s, full, 0);
		if (at != (size_t)-1) {
			add_x509(s, x509_rows[i].code, EXPLAIN_X509, NULL, at, at + strlen(full), false);
			continue;
		}
		for (size_t p = 0; (at = find_ci(s, shortn, p)) != (size_t)-1; p = at + 1) {
			size_t end = at + strlen(shortn);
			if ((at == 0 || !is_word(s->text[at - 1])) && (end == s->len || !is_word(s->text[end])) &&
			    isupper((unsigned char)s->text[at])) {
				char alias[160];
				snprintf(alias, sizeof alias, "Node.js (MQTTX, MQTT Explorer, Node-RED) reports this as %s.", shortn);
				add_x509(s, x509_rows[i].code, EXPLAIN_NODE, alias, at, end, false);
				break;
			}
		}
	}
	static const struct {
		const char *name, *meaning;
		const char *findings[EXPLAIN_MAX_FINDINGS + 1];
	} node[] = {
		{ "ERR_TLS_CERT_ALTNAME_INVALID", "Node.js: the host or IP connected to is not in the broker certificate's subjectAltName ('Hostname/IP does not match certificate's altnames')", F("HOSTNAME_MISMATCH", "IP_NOT_IN_SAN") },
		{ "ECONNREFUSED", "nothing accepts TCP connections on that host and port (broker not running, wrong port, firewall reject)", F("TCP_REFUSED") },
		{ "ETIMEDOUT", "no answer at all from that address (wrong IP, firewall drop, other subnet)", F("TCP_TIMEOUT") },
		{ "ENOTFOUND", "the host name does not resolve", F("DNS_FAILED") },
		{ "EAI_AGAIN", "the host name could not be resolved right now (DNS unreachable)", F("DNS_FAILED") },
		{ "ECONNRESET", "the broker reset the connection — during TLS it rejected the client, or the port is not TLS", F("NOT_TLS", "CLIENT_CERT_REJECTED") },
		{ "EPROTO", "a protocol error, usually TLS against a non-TLS port or a failed handshake", F("PLAINTEXT_PORT") },
	};
	for (size_t i = 0; i < MQ_ARRAY_LEN(node); i++) {
		size_t at = find_ci(s, node[i].name, 0), end;
		if (at == (size_t)-1)
			continue;
		end = at + strlen(node[i].name);
		if ((at > 0 && is_word(s->text[at - 1])) || (end < s->len && is_word(s->text[end])))
			continue;
		char meaning[400];
		snprintf(meaning, sizeof meaning, "%s: %s.", node[i].name, node[i].meaning);
		add_item(s->r, EXPLAIN_NODE, node[i].name, node[i].name, meaning, NULL, s->text + at, end - at, node[i].findings);
	}
	/* OpenSSL's X509 verify texts, as the installed library writes them, and 1.1.1's spellings. */
	static const struct { const char *text; int code; } legacy[] = {
		{ "self signed certificate in certificate chain", 19 },
		{ "self signed certificate", 18 },
	};
	for (int c = 2; c < 95; c++) {
		const char *t = X509_verify_cert_error_string(c);
		size_t at;
		if (!t || strlen(t) < 14 || !x509_row(c))
			continue;
		if ((at = find_ci(s, t, 0)) != (size_t)-1)
			add_x509(s, c, EXPLAIN_X509, NULL, line_start(s, at), line_end(s, at), false);
	}
	for (size_t i = 0; i < MQ_ARRAY_LEN(legacy); i++) {
		size_t at = find_ci(s, legacy[i].text, 0);
		if (at != (size_t)-1)
			add_x509(s, legacy[i].code, EXPLAIN_X509, "OpenSSL 1.1.1 and Python/Node builds on it spell it without the hyphen.",
				 line_start(s, at), line_end(s, at), false);
	}
	/* TLS alert names: "alert unknown ca", "unknown_ca", "alert number 48" is handled with numbers. */
	for (size_t i = 0; i < MQ_ARRAY_LEN(alerts); i++) {
		char spaced[64], pat[80];
		size_t at;
		snprintf(spaced, sizeof spaced, "%s", alerts[i].name);
		for (char *p = spaced; *p; p++)
			if (*p == '_')
				*p = ' ';
		snprintf(pat, sizeof pat, "alert %s", spaced);
		at = find_ci(s, pat, 0);
		if (at == (size_t)-1 && strchr(alerts[i].name, '_')) {
			at = find_ci(s, alerts[i].name, 0);
			if (at != (size_t)-1) {
				size_t end = at + strlen(alerts[i].name);
				if ((at > 0 && is_word(s->text[at - 1])) || (end < s->len && is_word(s->text[end])))
					at = (size_t)-1;
			}
		}
		if (at == (size_t)-1 && s->len == strlen(spaced) && !strncasecmp(s->text, spaced, s->len))
			at = 0;
		if (at != (size_t)-1)
			add_alert(s, alerts[i].num, NULL, line_start(s, at), line_end(s, at), contains_ci(s, "OpenSSL Error["));
	}
}

/* ---------------------------------------------------------------- numbers */

struct num {
	long long v;
	bool neg, hex;
	size_t at, end;
	char ctx[48];   /* lower-cased text just before the number, trailing separators removed */
};

static bool ctx_ends(const struct num *n, const char *word)
{
	size_t a = strlen(n->ctx), b = strlen(word);
	return a >= b && !strcmp(n->ctx + a - b, word) && (a == b || !isalnum((unsigned char)n->ctx[a - b - 1]));
}

static bool ctx_has(const struct num *n, const char *word)
{
	return strstr(n->ctx, word) != NULL;
}

/* Parse the number starting at i; returns false when it is not a free-standing number. */
static bool parse_num(const struct scan *s, size_t i, struct num *n)
{
	size_t p = i, start;
	unsigned long long v = 0;
	size_t c0;

	memset(n, 0, sizeof *n);
	if (i > 0 && (is_word(s->text[i - 1]) || s->text[i - 1] == '.'))
		return false;
	if (s->text[p] == '-' || s->text[p] == '+') {
		n->neg = s->text[p] == '-';
		p++;
	}
	if (p + 1 < s->len && s->text[p] == '0' && (s->text[p + 1] == 'x' || s->text[p + 1] == 'X')) {
		n->hex = true;
		p += 2;
		start = p;
		while (p < s->len && isxdigit((unsigned char)s->text[p]) && p - start < 17)
			v = v * 16 + (unsigned)(isdigit((unsigned char)s->text[p]) ? s->text[p] - '0' : tolower((unsigned char)s->text[p]) - 'a' + 10), p++;
	} else {
		start = p;
		while (p < s->len && isdigit((unsigned char)s->text[p]) && p - start < 12)
			v = v * 10 + (unsigned)(s->text[p] - '0'), p++;
	}
	if (p == start || (p < s->len && (is_word(s->text[p]) || (s->text[p] == '.' && p + 1 < s->len && isdigit((unsigned char)s->text[p + 1])))))
		return false;
	if (n->hex && !n->neg && v >= 0x80000000ULL && v <= 0xFFFFFFFFULL) {
		/* ESP-IDF logs print a negative int with %x: 0xffffd900 is -0x2700. */
		n->v = (long long)(int32_t)(uint32_t)v;
		n->neg = n->v < 0;
	} else if (v > 0x7FFFFFFFULL) {
		return false;
	} else {
		n->v = n->neg ? -(long long)v : (long long)v;
	}
	n->at = i;
	n->end = p;
	/* Context: up to 40 characters before, lower case, with trailing "=:( " dropped. */
	c0 = i > 40 ? i - 40 : 0;
	size_t k = 0;
	for (size_t j = c0; j < i && k + 1 < sizeof n->ctx; j++)
		n->ctx[k++] = s->low[j];
	n->ctx[k] = '\0';
	while (k > 0 && strchr(" =:(\t#[,", n->ctx[k - 1]))
		n->ctx[--k] = '\0';
	return true;
}

static void classify(struct scan *s, const struct num *n, bool alone)
{
	long long v = n->v;
	size_t ls = line_start(s, n->at), le = line_end(s, n->at);
	bool any = false;

	/* Whole-input bare numbers: say every family it could belong to. */
	if (alone) {
		if (v >= -5 && v <= 5)
			any |= add_pubsub(s, (int)v, true, ls, le);
		if (v >= 1 && v <= 5)
			any |= add_connack(s, (int)v, true, ls, le);
		if (v >= 0x80 && v <= 0xA2)
			any |= add_connack(s, (int)v, true, ls, le);
		if (v < -5 || (n->hex && v >= 0x1000 && v <= 0x7FFF))
			any |= add_mbedtls(s, v, true, ls, le);
		if (v >= 0x8001 && v <= 0x80FF)
			any |= add_esptls(s, (unsigned)v, true, ls, le);
		if (v >= 1 && v <= 27 && !n->hex)
			any |= add_mosq(s, (int)v, true, ls, le);
		if (v > 0 && v < 128 && !n->hex) {
			if (alert_row((int)v))
				add_alert(s, (int)v, NULL, ls, le, false), any = true;
			if (x509_row((int)v)) {
				add_x509(s, (int)v, EXPLAIN_X509, NULL, ls, le, true);
				any = true;
			}
		}
		for (size_t i = 0; i < s->r->n; i++)
			s->r->v[i].guess = true;
		(void)any;
		return;
	}
	if (ctx_ends(n, "rc") || ctx_ends(n, "state") || ctx_ends(n, "state()") || ctx_ends(n, "client.state()") ||
	    ctx_ends(n, "failed, rc") || (ctx_ends(n, "return code") && ctx_has(n, "pubsub"))) {
		if (v >= -5 && v <= 5) {
			add_pubsub(s, (int)v, false, ls, le);
			return;
		}
	}
	if (ctx_ends(n, "alert") || ctx_ends(n, "alert number") || ctx_ends(n, "alert desc") || ctx_ends(n, "description")) {
		if (v >= 0 && v < 256)
			add_alert(s, (int)v, NULL, ls, le, contains_ci(s, "OpenSSL Error["));
		return;
	}
	if (ctx_ends(n, "num") || ctx_ends(n, "verify return code") || ctx_ends(n, "verify error") || ctx_ends(n, "verify_result") ||
	    ctx_ends(n, "x509_v_err")) {
		if (v > 0 && v < 128)
			add_x509(s, (int)v, EXPLAIN_X509, NULL, ls, le, false);
		return;
	}
	if (ctx_has(n, "flags")) {
		if (v > 0)
			add_flags(s, (unsigned long)v, ls, le);
		return;
	}
	if (ctx_has(n, "connack") || ctx_has(n, "reason code") || ctx_ends(n, "reason")) {
		if (v > 0 && v <= 255)
			add_connack(s, (int)v, false, ls, le);
		else if (v == 0 && ctx_ends(n, "received connack"))
			add_connack_accepted(s, ls, le);
		return;
	}
	if (ctx_ends(n, "exit") || ctx_ends(n, "exit code") || ctx_ends(n, "exit status") || ctx_ends(n, "$?") ||
	    (ctx_ends(n, "status") && ctx_has(n, "exit")) ||
	    (ctx_ends(n, "returned") && ctx_has(n, "mosquitto"))) {
		/* mosquitto_pub/sub exit with the libmosquitto error, or the CONNACK/reason code. */
		if (v >= 128 && v <= 255)
			add_connack(s, (int)v, false, ls, le);
		else if (v > 0)
			add_mosq(s, (int)v, false, ls, le);
		return;
	}
	/* ESP-IDF's transport layer logs the esp-tls code in decimal: "Failed to open a new connection: 32774". */
	if (v >= 0x8001 && v <= 0x80FF && (n->hex || ctx_has(n, "esp") || ctx_has(n, "tls") || ctx_has(n, "transport") || ctx_has(n, "open a new connection"))) {
		add_esptls(s, (unsigned)v, false, ls, le);
		return;
	}
	if (n->neg && -v >= 0x8001 && -v <= 0x80FF && (n->hex || ctx_has(n, "esp"))) {
		add_esptls(s, (unsigned)-v, false, ls, le);
		return;
	}
	if (n->neg && v <= -0x40 && v >= -0x7FFF) {
		add_mbedtls(s, v, false, ls, le);
		return;
	}
	if (n->neg && v < 0 && v > -0x40 && (n->hex || ctx_has(n, "mbedtls") || ctx_has(n, "ssl"))) {
		add_mbedtls(s, v, false, ls, le);
		return;
	}
	if (n->hex && v >= 0x1000 && v <= 0x7FFF && (ctx_has(n, "tls") || ctx_has(n, "ssl") || ctx_has(n, "mbedtls") || ctx_has(n, "error"))) {
		add_mbedtls(s, v, false, ls, le);
		return;
	}
}

static void scan_numbers(struct scan *s)
{
	/* Is the whole input one number (maybe with rc=/state prefix handled by context)? */
	size_t a = 0, b = s->len;
	while (a < b && isspace((unsigned char)s->text[a]))
		a++;
	while (b > a && (isspace((unsigned char)s->text[b - 1]) || s->text[b - 1] == '.'))
		b--;

	for (size_t i = 0; i < s->len; i++) {
		struct num n;
		char c = s->text[i];
		if (!(isdigit((unsigned char)c) || ((c == '-' || c == '+') && i + 1 < s->len && isdigit((unsigned char)s->text[i + 1]))))
			continue;
		if (!parse_num(s, i, &n))
			continue;
		classify(s, &n, n.at == a && n.end == b);
		i = n.end;
	}
}

/* ---------------------------------------------------------------- entry points */

size_t explain_text(const char *text, size_t len, struct explain_result *out)
{
	struct scan s = { 0 };

	if (len > EXPLAIN_MAX_INPUT)
		len = EXPLAIN_MAX_INPUT;
	s.text = text;
	s.len = len;
	s.r = out;
	s.low = malloc(len + 1);
	if (!s.low)
		abort();
	for (size_t i = 0; i < len; i++)
		s.low[i] = text[i] == '\0' ? ' ' : (char)tolower((unsigned char)text[i]);
	s.low[len] = '\0';

	/* Most specific first: message patterns and codes with their own syntax, then bare numbers. */
	scan_messages(&s);
	scan_errno(&s);
	scan_openssl(&s);
	scan_esp_names(&s);
	scan_verify_info(&s);
	scan_names(&s);
	scan_numbers(&s);
	free(s.low);
	return out->n;
}

cJSON *explain_result_to_json(const struct explain_result *r, const char *input, size_t len)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	char *esc = mq_escape_dup(input, len > 4096 ? 4096 : len);

	cJSON_AddStringToObject(o, "input", esc ? esc : "");
	free(esc);
	cJSON_AddBoolToObject(o, "recognised", r->n > 0);
	for (size_t i = 0; i < r->n; i++) {
		const struct explain_item *it = &r->v[i];
		cJSON *e = cJSON_CreateObject(), *fs = cJSON_CreateArray();
		cJSON_AddStringToObject(e, "family", it->family);
		cJSON_AddStringToObject(e, "code", it->code);
		if (it->name)
			cJSON_AddStringToObject(e, "name", it->name);
		else
			cJSON_AddNullToObject(e, "name");
		cJSON_AddStringToObject(e, "meaning", it->meaning);
		if (it->detail)
			cJSON_AddStringToObject(e, "detail", it->detail);
		for (size_t k = 0; it->findings[k]; k++)
			cJSON_AddItemToArray(fs, cJSON_CreateString(it->findings[k]));
		cJSON_AddItemToObject(e, "findings", fs);
		cJSON_AddBoolToObject(e, "guess", it->guess);
		if (it->matched) {
			char *m = mq_escape_dup(it->matched, strlen(it->matched));
			cJSON_AddStringToObject(e, "matched", m ? m : "");
			free(m);
		}
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_AddItemToObject(o, "explanations", arr);
	return o;
}
